/*
 * prov_container_png.c - PNG: the C2PA store in caBX, EXIF in eXIf, XMP in
 * iTXt "XML:com.adobe.xmp", and every tEXt / zTXt / iTXt as a text record.
 *
 * Every chunk's CRC is checked. A mismatch is a problem naming the chunk
 * and its offset, and the chunk is then skipped, as libpng discards an
 * ancillary chunk with a bad CRC - except caBX, which is still read: c2pa-rs
 * never checks CRCs, and the store's own hashes and signature decide
 * whether it was altered. More than one caBX is a problem (c2pa-rs refuses
 * the file); the first is read.
 */
#include "prov_container.h"

#include <string.h>
#include <zlib.h>

#define XMP_KEY "XML:com.adobe.xmp"

/* Length of the NUL-terminated string at p within n bytes, or n if none. */
static size_t field(const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);
	return z ? (size_t)(z - p) : n;
}

static void text_chunk(pc_scan *s, const char *type, const uint8_t *c, size_t cl,
                       uint64_t off)
{
	size_t kl = field(c, cl);
	if (kl == cl || kl == 0 || kl > 79) {
		pc_problem(s, "%s chunk at %llu has no valid keyword", type, (unsigned long long)off);
		return;
	}
	const uint8_t *p = c + kl + 1;
	size_t left = cl - kl - 1;
	if (!strcmp(type, "tEXt")) {
		pc_text(s, "png:tEXt", c, kl, p, left, PC_LATIN1, off);
		return;
	}
	if (!strcmp(type, "zTXt")) {
		if (left < 1 || p[0] != 0) {
			pc_problem(s, "zTXt chunk at %llu has no or an unknown compression method",
			           (unsigned long long)off);
			return;
		}
		uint8_t *v;
		size_t vl;
		int r = pc_inflate(s, p + 1, left - 1, PROV_MAX_TEXT, &v, &vl);
		if (r == 0) {
			pc_text(s, "png:zTXt", c, kl, v, vl, PC_LATIN1, off);
			free(v);
		} else if (r == 1) {
			pc_problem(s, "zTXt chunk at %llu inflates past the %u-byte cap: not read",
			           (unsigned long long)off, (unsigned)PROV_MAX_TEXT);
		} else if (r == -1) {
			pc_problem(s, "zTXt chunk at %llu does not inflate", (unsigned long long)off);
		}
		return;
	}
	/* iTXt: compression flag, method, language tag, translated keyword, text */
	if (left < 2) {
		pc_problem(s, "iTXt chunk at %llu is cut short", (unsigned long long)off);
		return;
	}
	int compressed = p[0];
	int method = p[1];
	p += 2;
	left -= 2;
	size_t ll = field(p, left);
	if (ll == left) {
		pc_problem(s, "iTXt chunk at %llu is cut short", (unsigned long long)off);
		return;
	}
	p += ll + 1;
	left -= ll + 1;
	size_t tl = field(p, left);
	if (tl == left) {
		pc_problem(s, "iTXt chunk at %llu is cut short", (unsigned long long)off);
		return;
	}
	p += tl + 1;
	left -= tl + 1;
	int is_xmp = kl == strlen(XMP_KEY) && memcmp(c, XMP_KEY, kl) == 0;
	uint8_t *v = NULL;
	size_t vl = left;
	if (compressed) {
		if (compressed != 1 || method != 0) {
			pc_problem(s, "iTXt chunk at %llu has an unknown compression flag or method",
			           (unsigned long long)off);
			return;
		}
		int r = pc_inflate(s, p, left, PROV_MAX_TEXT, &v, &vl);
		if (r == 1)
			pc_problem(s, "iTXt chunk at %llu inflates past the %u-byte cap: not read",
			           (unsigned long long)off, (unsigned)PROV_MAX_TEXT);
		else if (r == -1)
			pc_problem(s, "iTXt chunk at %llu does not inflate", (unsigned long long)off);
		if (r != 0)
			return;
		p = v;
	}
	if (is_xmp)
		pc_xmp(s, p, vl, off, "iTXt chunk"); /* the first packet counts */
	else
		pc_text(s, "png:iTXt", c, kl, p, vl, PC_UTF8, off);
	free(v);
}

int prov_scan_png(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                  veto_error *err)
{
	if (n < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
		return pc_not_mine(name, out, err);
	pc_scan s;
	pc_begin(&s, out, name, "png");
	size_t i = 8;
	while (!s.oom) {
		if (n - i < 12) {
			if (i == n)
				pc_problem(&s, "no IEND chunk: the file ends at %zu", n);
			else
				pc_problem(&s, "chunk at %zu runs past the end of the file", i);
			break;
		}
		uint32_t len = pc_be32(d + i);
		char type[5];
		pc_fourcc(d + i + 4, type);
		if (len > 0x7fffffffu) {
			pc_problem(&s, "%s chunk at %zu has the impossible length %u", type, i, len);
			break;
		}
		if (len > n - i - 12) {
			pc_problem(&s, "%s chunk at %zu runs past the end of the file (%u bytes "
			           "declared, %zu left)", type, i, len, n - i - 12);
			break;
		}
		const uint8_t *c = d + i + 8;
		uint32_t want = pc_be32(c + len);
		uint32_t got = (uint32_t)crc32(crc32(0L, Z_NULL, 0), d + i + 4, len + 4);
		int crc_ok = want == got;
		int is_store = memcmp(d + i + 4, "caBX", 4) == 0;
		if (!crc_ok)
			pc_problem(&s, "%s chunk at %zu has a bad CRC%s", type, i,
			           is_store ? " (read anyway)" : ": skipped");
		if (is_store) {
			if (!s.store_seen) {
				s.a->store_range_start = i;
				s.a->store_range_len = (uint64_t)len + 12;
			}
			pc_store(&s, c, len, i + 8, "caBX chunk");
		} else if (crc_ok) {
			if (!memcmp(d + i + 4, "eXIf", 4))
				pc_exif(&s, c, len, i + 8, "eXIf chunk");
			else if (!memcmp(d + i + 4, "tEXt", 4) || !memcmp(d + i + 4, "zTXt", 4) ||
			         !memcmp(d + i + 4, "iTXt", 4))
				text_chunk(&s, type, c, len, i);
		}
		int is_end = !memcmp(d + i + 4, "IEND", 4);
		i += 12 + (size_t)len;
		if (is_end)
			break;
	}
	return pc_end(&s, err);
}
