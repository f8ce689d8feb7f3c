/*
 * fuzz_container.c - one container scanner of lib/prov_container*.c on
 * arbitrary bytes. Built once per format with VETO_FUZZ_SCANNER naming the
 * prov_scan_<fmt> function (fuzz_jpegseg, fuzz_pngchunk, fuzz_riff,
 * fuzz_gifext, fuzz_tiffifd, fuzz_bmff), so each fuzzer spends its time in
 * one walker. An input that does not start with the format's signature
 * gets one put in front (VETO_FUZZ_MAGIC), so mutations are not wasted on
 * the sniffing; inputs that do are scanned as they are.
 *
 * Checked besides "no crash, no leak": the scan succeeds (the signature is
 * always there), and the result keeps its promises - sizes within the
 * caps, XMP and text values NUL-terminated, every problem one line.
 */
#include "prov_container.h"

#include <stdlib.h>
#include <string.h>

#ifndef VETO_FUZZ_SCANNER
#error "define VETO_FUZZ_SCANNER=prov_scan_<format>"
#endif

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The signature to put in front of an input that lacks it, or NULL. The
 * RIFF size field is patched to the result's length. */
static const char *magic(const uint8_t *d, size_t n, size_t *mlen)
{
	const char *m = NULL;
	size_t at = 0, ml = 0;
	int (*fn)(const uint8_t *, size_t, const char *, prov_assets *, veto_error *) =
		VETO_FUZZ_SCANNER;
	if (fn == prov_scan_jpeg) { m = "\xff\xd8\xff"; ml = 3; }
	else if (fn == prov_scan_png) { m = "\x89PNG\r\n\x1a\n"; ml = 8; }
	else if (fn == prov_scan_riff) { m = "RIFF\0\0\0\0WEBP"; ml = 12; }
	else if (fn == prov_scan_gif) { m = "GIF89a"; ml = 6; }
	else if (fn == prov_scan_tiff) { m = "II*\0\x08\0\0\0"; ml = 8; }
	else if (fn == prov_scan_bmff) { m = "\0\0\0\x10" "ftypisom\0\0\0\0"; ml = 16; at = 0; }
	if (!m)
		return NULL;
	/* already there? (RIFF: the size bytes may be anything; BMFF: ftyp at 4) */
	if (fn == prov_scan_riff) {
		if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
			return NULL;
	} else if (fn == prov_scan_bmff) {
		if (n >= 8 && !memcmp(d + 4, "ftyp", 4))
			return NULL;
	} else if (fn == prov_scan_tiff) {
		if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4) ||
		               !memcmp(d, "II+\0", 4) || !memcmp(d, "MM\0+", 4)))
			return NULL;
	} else if (n >= ml && !memcmp(d + at, m, ml)) {
		return NULL;
	}
	*mlen = ml;
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ml = 0;
	const char *m = magic(data, size, &ml);
	uint8_t *buf = malloc(size + ml + 1);
	if (!buf)
		return 0;
	if (m)
		memcpy(buf, m, ml);
	if (size)
		memcpy(buf + ml, data, size);
	size_t n = size + ml;
	if (m && !memcmp(m, "RIFF", 4)) {
		uint32_t v = (uint32_t)(n - 8);
		for (int k = 0; k < 4; k++)
			buf[4 + k] = (uint8_t)(v >> (8 * k));
	}
	/* exactly n bytes: anything read past them is an ASan report */
	uint8_t *in = malloc(n ? n : 1);
	if (!in) {
		free(buf);
		return 0;
	}
	memcpy(in, buf, n);
	free(buf);

	prov_assets o;
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = VETO_FUZZ_SCANNER(in, n, "<fuzz-input>", &o, &err);
	ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
	if (rc != VETO_OK) {
		ENSURE(err.code == rc && strstr(err.message, "<fuzz-input>"));
		ENSURE(!o.jumbf && !o.xmp && !o.exif && !o.texts && !o.problems);
		free(in);
		return 0;
	}
	ENSURE(o.format != NULL);
	ENSURE(o.jumbf_len <= PROV_MAX_STORE);
	ENSURE(!o.jumbf_len || o.jumbf);
	ENSURE(o.jumbf_stores >= (o.jumbf ? 1 : 0));
	ENSURE(!o.jumbf || o.jumbf_offset <= n);
	ENSURE(!o.xmp || (o.xmp_len <= PROV_MAX_TEXT && o.xmp[o.xmp_len] == 0));
	ENSURE(!o.exif || (o.exif_len >= 8 && o.exif_len <= PROV_MAX_TEXT));
	ENSURE(o.ntexts <= PC_MAX_TEXTS);
	for (size_t i = 0; i < o.ntexts; i++) {
		const prov_text *t = &o.texts[i];
		ENSURE(t->key && t->value && t->where && t->value[t->len] == 0);
		ENSURE(t->len <= 2 * (size_t)PROV_MAX_TEXT);
	}
	ENSURE(o.nproblems <= PC_MAX_PROBLEMS);
	for (size_t i = 0; i < o.nproblems; i++)
		ENSURE(o.problems[i] && o.problems[i][0] && !strchr(o.problems[i], '\n'));
	prov_assets_free(&o);
	free(in);
	return 0;
}
