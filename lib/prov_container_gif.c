/*
 * prov_container_gif.c - GIF: the C2PA store in the application extension
 * "C2PA_GIF" (authentication code 01 00 00), XMP in "XMP Data" ("XMP"),
 * comment extensions as text records.
 *
 * As in c2pa-rs (gif_io.rs), the store is the data sub-blocks of its
 * extension joined without their length bytes. XMP comes two ways: Adobe's
 * writes the packet raw (its bytes double as sub-block lengths) and ends it
 * with the 258-byte "magic trailer" (01 FF FE ... 01 00) that sends any
 * sub-block walk to the terminator; c2pa-rs cuts the packet plus the
 * 257-byte trailer (01 FF ... 00) into ordinary sub-blocks. Both are read:
 * the packet is what comes before the trailer.
 */
#include "prov_container.h"

#include <stdio.h>
#include <string.h>

#define TRAILER 257 /* 01 FF FE ... 01 00 */

/* Walks the sub-blocks starting at i: *term gets the terminator's offset,
 * *total the data bytes. -1 when they run past the end. */
static int sub_blocks(const uint8_t *d, size_t n, size_t i, size_t *term, size_t *total)
{
	size_t t = 0;
	while (i < n) {
		size_t sz = d[i];
		if (sz == 0) {
			*term = i;
			*total = t;
			return 0;
		}
		t += sz;
		i += 1 + sz;
	}
	return -1;
}

/* The data of the sub-blocks from i (their walk already checked). */
static void join(const uint8_t *d, size_t i, uint8_t *out)
{
	size_t sz;
	while ((sz = d[i]) != 0) {
		memcpy(out, d + i + 1, sz);
		out += sz;
		i += 1 + sz;
	}
}

static int ends_with_trailer(const uint8_t *p, size_t n)
{
	if (n < TRAILER || p[n - TRAILER] != 1)
		return 0;
	for (size_t k = 0; k < 256; k++)
		if (p[n - 256 + k] != (uint8_t)(255 - k))
			return 0;
	return 1;
}

/* The application extension whose 11-byte header block starts at h (the
 * size byte); data sub-blocks start at h + 12 and end at term. */
static void app_ext(pc_scan *s, const uint8_t *d, size_t h, size_t term, size_t total,
                    size_t extoff)
{
	const uint8_t *id = d + h + 1;
	size_t k = h + 12;
	if (!memcmp(id, "C2PA_GIF\x01\x00\x00", 11)) {
		if (total > PROV_MAX_STORE) {
			char why[160];
			snprintf(why, sizeof why, "the C2PA store in the GIF application extension at %zu "
			         "is %zu bytes, over the %u-byte cap: not read", extoff, total,
			         (unsigned)PROV_MAX_STORE);
			pc_store_unread(s, why);
			return;
		}
		uint8_t *b = malloc(total ? total : 1);
		if (!b) {
			s->oom = 1;
			return;
		}
		join(d, k, b);
		/* the store's first byte follows the first sub-block's length */
		pc_take_store(s, b, total, k + 1, "GIF C2PA_GIF application extension");
	} else if (!memcmp(id, "XMP DataXMP", 11)) {
		if (s->a->xmp)
			return;
		if (total > PROV_MAX_TEXT + TRAILER) {
			pc_problem(s, "the XMP in the GIF application extension at %zu is over the "
			           "%u-byte cap: not read", extoff, (unsigned)PROV_MAX_TEXT);
			return;
		}
		/* Adobe's raw form: everything up to the terminator */
		if (ends_with_trailer(d + k, term - k)) {
			pc_xmp(s, d + k, term - k - TRAILER, k, "GIF XMP application extension");
			return;
		}
		uint8_t *b = malloc(total + 1);
		if (!b) {
			s->oom = 1;
			return;
		}
		join(d, k, b);
		if (ends_with_trailer(b, total))
			pc_take_xmp(s, b, total - TRAILER);
		else {
			free(b);
			pc_problem(s, "the XMP application extension at %zu has no magic trailer: "
			           "not read", extoff);
		}
	}
}

int prov_scan_gif(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                  veto_error *err)
{
	if (n < 6 || (memcmp(d, "GIF87a", 6) != 0 && memcmp(d, "GIF89a", 6) != 0))
		return pc_not_mine(name, out, err);
	pc_scan s;
	pc_begin(&s, out, name, "gif");
	size_t i = 13;
	if (n < 13) {
		pc_problem(&s, "the logical screen descriptor runs past the end of the file");
		return pc_end(&s, err);
	}
	if (d[10] & 0x80)
		i += (size_t)3 << ((d[10] & 7) + 1);
	while (!s.oom) {
		if (i >= n) {
			pc_problem(&s, "no trailer: the file ends at %zu", n);
			break;
		}
		size_t blk = i, term, total;
		if (d[i] == 0x3b)
			break;
		if (d[i] == 0x21) {
			if (n - i < 2) {
				pc_problem(&s, "extension at %zu runs past the end of the file", blk);
				break;
			}
			uint8_t label = d[i + 1];
			i += 2;
			if (sub_blocks(d, n, i, &term, &total) < 0) {
				pc_problem(&s, "extension 0x%02X at %zu runs past the end of the file",
				           label, blk);
				break;
			}
			if (label == 0xff && d[i] == 11)
				app_ext(&s, d, i, term, total - 11, blk);
			else if (label == 0xfe && total <= PROV_MAX_TEXT) {
				uint8_t *b = malloc(total ? total : 1);
				if (!b) {
					s.oom = 1;
					break;
				}
				join(d, i, b);
				pc_text(&s, "gif:comment", (const uint8_t *)"", 0, b, total, PC_GUESS, blk);
				free(b);
			} else if (label == 0xfe) {
				pc_problem(&s, "the comment at %zu is over the %u-byte cap: not read", blk,
				           (unsigned)PROV_MAX_TEXT);
			}
			i = term + 1;
		} else if (d[i] == 0x2c) {
			if (n - i < 11) {
				pc_problem(&s, "image descriptor at %zu runs past the end of the file", blk);
				break;
			}
			uint8_t packed = d[i + 9];
			i += 10;
			if (packed & 0x80)
				i += (size_t)3 << ((packed & 7) + 1);
			i++; /* LZW minimum code size */
			if (i > n || sub_blocks(d, n, i, &term, &total) < 0) {
				pc_problem(&s, "image data of the image at %zu runs past the end of the file",
				           blk);
				break;
			}
			i = term + 1;
		} else {
			pc_problem(&s, "byte 0x%02X at %zu is not a GIF block", d[i], i);
			break;
		}
	}
	return pc_end(&s, err);
}
