/*
 * prov_container_bmff.c - ISO BMFF (MP4, MOV, HEIC, AVIF, ...; "ftyp"
 * first): the C2PA store in a top-level uuid box
 * d8fec3d6-1b0e-483c-9297-5828877ec481, XMP in the uuid box
 * be7acfcb-97a9-42e8-9c71-999491e3afac.
 *
 * The C2PA box (c2pa-rs bmff_io.rs, write_c2pa_box) is a FullBox: after
 * the UUID come version and flags (4 bytes), a NUL-terminated purpose, and
 * for "manifest" (also "original" and "update") an 8-byte offset to the
 * first merkle box, then the store up to the end of the box. "merkle"
 * boxes hold BMFF hash trees, not stores. An "original" store is read like
 * "manifest"; c2pa-rs merges an "update" store into it, which is not done
 * here (a problem says so). Only top-level boxes are walked.
 */
#include "prov_container.h"

#include <stdio.h>
#include <string.h>

static const uint8_t c2pa_uuid[16] = {
	0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c,
	0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81
};
static const uint8_t xmp_uuid[16] = {
	0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8,
	0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac
};

static void c2pa_box(pc_scan *s, const uint8_t *d, size_t at, size_t body, size_t end)
{
	/* body: first byte after the UUID; end: the box's end */
	if (end - body < 4) {
		pc_problem(s, "C2PA uuid box at %zu is too small for its version and flags", at);
		return;
	}
	size_t p = body + 4;
	const uint8_t *z = memchr(d + p, 0, end - p);
	if (!z) {
		pc_problem(s, "C2PA uuid box at %zu has no NUL-terminated purpose", at);
		return;
	}
	size_t plen = (size_t)(z - (d + p));
	char purpose[33];
	size_t k;
	for (k = 0; k < plen && k < sizeof purpose - 1; k++)
		purpose[k] = d[p + k] >= 0x20 && d[p + k] < 0x7f ? (char)d[p + k] : '?';
	purpose[k] = '\0';
	int manifest = plen == 8 && !memcmp(d + p, "manifest", 8);
	int original = plen == 8 && !memcmp(d + p, "original", 8);
	int update = plen == 6 && !memcmp(d + p, "update", 6);
	int merkle = plen == 6 && !memcmp(d + p, "merkle", 6);
	p += plen + 1;
	if (merkle)
		return;
	if (!manifest && !original && !update) {
		pc_problem(s, "C2PA uuid box at %zu has the unknown purpose \"%s\"", at, purpose);
		return;
	}
	if (end - p < 8) {
		pc_problem(s, "C2PA uuid box at %zu is too small for its merkle offset", at);
		return;
	}
	p += 8;
	if (update) {
		pc_problem(s, "C2PA uuid box at %zu holds an update manifest store, which is not "
		           "merged into the original one", at);
		return;
	}
	pc_store(s, d + p, end - p, p, "BMFF C2PA uuid box");
}

int prov_scan_bmff(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                   veto_error *err)
{
	if (n < 8 || memcmp(d + 4, "ftyp", 4) != 0)
		return pc_not_mine(name, out, err);
	pc_scan s;
	pc_begin(&s, out, name, "bmff");
	size_t i = 0, nboxes = 0;
	while (i < n && !s.oom) {
		if (++nboxes > PC_MAX_BOXES) {
			pc_problem(&s, "more than %d top-level boxes: stopped at %zu", PC_MAX_BOXES, i);
			break;
		}
		if (n - i < 8) {
			pc_problem(&s, "box header at %zu runs past the end of the file", i);
			break;
		}
		char type[5];
		pc_fourcc(d + i + 4, type);
		uint64_t size = pc_be32(d + i);
		size_t h = 8;
		if (size == 1) {
			if (n - i < 16) {
				pc_problem(&s, "\"%s\" box header at %zu runs past the end of the file",
				           type, i);
				break;
			}
			size = pc_be64(d + i + 8);
			h = 16;
		} else if (size == 0) {
			size = n - i; /* to the end of the file */
		}
		if (size < h) {
			pc_problem(&s, "\"%s\" box at %zu has the impossible size %llu", type, i,
			           (unsigned long long)size);
			break;
		}
		if (size > n - i) {
			pc_problem(&s, "\"%s\" box at %zu runs past the end of the file (%llu bytes "
			           "declared, %zu left)", type, i, (unsigned long long)size, n - i);
			break;
		}
		size_t end = i + (size_t)size;
		if (!memcmp(d + i + 4, "uuid", 4)) {
			if (size - h < 16) {
				pc_problem(&s, "uuid box at %zu is too small for its UUID", i);
			} else if (!memcmp(d + i + h, c2pa_uuid, 16)) {
				c2pa_box(&s, d, i, i + h + 16, end);
			} else if (!memcmp(d + i + h, xmp_uuid, 16)) {
				pc_xmp(&s, d + i + h + 16, end - i - h - 16, i + h + 16, "BMFF XMP uuid box");
			}
		}
		i = end;
	}
	return pc_end(&s, err);
}
