/*
 * fuzz_genmeta.c - the generator-record readers (lib/prov_genmeta.c) on
 * arbitrary bytes.
 *
 * Input layout: byte 0 picks the entry point.
 *   even: prov_meta_generators. The rest is split into text records at
 *         each "\x00\x01"; a record's first byte picks its key from the
 *         list below (the keys the readers look for, so the fuzzer reaches
 *         every reader) and where it came from, the remaining bytes are
 *         its value (NULs allowed).
 *   odd:  prov_meta_stealth. Bytes 1 and 2 are width-1 and height-1 (so up
 *         to 256x256); the rest are RGBA pixels, row-major, zero-padded.
 * Checked as in fuzz_xmp.c: success, well-formed findings within the caps,
 * and every generator item has ai = 1.
 */
#include "fuzz_meta_check.h"
#define MAX_RECORDS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
	"parameters", "prompt", "workflow", "Dream", "sd-metadata", "invokeai_metadata",
	"invokeai_graph", "Software", "Comment", "Description", "Source", "fooocus_scheme",
	"Title", "", "XML:com.adobe.xmp", "other"};
static const char *const wheres[] = {"png:tEXt", "png:zTXt", "png:iTXt", "jpeg:COM"};

static void run_generators(const uint8_t *d, size_t n)
{
	prov_text t[MAX_RECORDS];
	size_t nt = 0;
	size_t start = 0;
	for (size_t i = 0; i <= n && nt < MAX_RECORDS; i++) {
		int end = i == n || (i + 1 < n && d[i] == 0 && d[i + 1] == 1);
		if (!end)
			continue;
		if (i > start) {
			uint8_t sel = d[start];
			size_t vlen = i - start - 1;
			/* a private NUL-terminated copy, as prov_container.c hands them */
			char *v = malloc(vlen + 1);
			if (!v)
				break;
			memcpy(v, d + start + 1, vlen);
			v[vlen] = 0;
			t[nt].key = (char *)keys[sel & 15];
			t[nt].value = v;
			t[nt].len = vlen;
			t[nt].where = wheres[(sel >> 4) & 3];
			nt++;
		}
		start = i + 2;
		i++;
	}
	prov_meta m = {0};
	veto_error err = {0};
	int rc = prov_meta_generators(t, nt, &m, &err);
	ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
	meta_check(&m, 1);
	prov_meta_free(&m);
	for (size_t i = 0; i < nt; i++)
		free(t[i].value);
}

static void run_stealth(const uint8_t *d, size_t n)
{
	if (n < 2)
		return;
	uint32_t w = (uint32_t)d[0] + 1, h = (uint32_t)d[1] + 1;
	size_t px = (size_t)w * h * 4;
	uint8_t *rgba = calloc(px, 1);
	if (!rgba)
		return;
	memcpy(rgba, d + 2, n - 2 < px ? n - 2 : px);
	prov_meta m = {0};
	veto_error err = {0};
	int rc = prov_meta_stealth(rgba, w, h, &m, &err);
	ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
	meta_check(&m, 1);
	prov_meta_free(&m);
	free(rgba);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		run_stealth(data + 1, size - 1);
	else
		run_generators(data + 1, size - 1);
	return 0;
}
