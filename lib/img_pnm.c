/*
 * img_pnm.c - PBM, PGM and PPM (P1-P6), read the way ImageMagick 6 reads
 * them, so the pixels are those `convert x.pnm pnm:-` passes on.
 *
 * Header: whitespace is space, tab, CR and LF; '#' starts a comment that
 * runs to the end of the line, anywhere a number may start or right after
 * one; numbers saturate near INT_MAX; exactly one byte after the last
 * header number is consumed before raw data. Maxval 1..65535 (and up to
 * INT_MAX, as ImageMagick allows).
 *
 * Samples, ImageMagick's way: the image depth is the smallest bit count
 * that holds maxval. Raw (P5/P6) samples at depth 8 or 16 are taken as they
 * are, whatever maxval says (so maxval 200 is not stretched); at other
 * depths, and always in the ASCII formats, they are scaled by maxval
 * (ScaleAnyToQuantum, values above maxval clamp). The result is reduced to
 * the image depth, as ImageMagick writes it back out, then brought to 8
 * bits (16-bit samples: scale16to8). P1: '0' is white and any other
 * character black. P4 bits: 1 is black.
 *
 * Errors: data that ends before the last pixel (an ASCII number cut by the
 * end of the file included) fails, as it makes ImageMagick fail; a file
 * whose pixel count exceeds eight times its size is refused before any
 * allocation. Only the first image of a multi-image file is read. Memory:
 * one output row; raw rows are read in place.
 */
#include "img_util.h"

#include <limits.h>
#include <string.h>

typedef struct pnm_in {
	const uint8_t *d;
	size_t n, pos;
	int eof; /* a read went past the end (ImageMagick's EOFBlob) */
} pnm_in;

static int pin_byte(pnm_in *r)
{
	if (r->pos >= r->n) {
		r->eof = 1;
		return -1;
	}
	return r->d[r->pos++];
}

/* Skip to the end of a comment; returns the byte that ended it. */
static int pin_comment(pnm_in *r)
{
	int c;
	do
		c = pin_byte(r);
	while (c >= 0 && c != '\n' && c != '\r');
	return c;
}

/* ImageMagick's PNMInteger. base 2 reads one character (P1). */
static unsigned pin_int(pnm_in *r, int base2)
{
	int c;
	do {
		c = pin_byte(r);
		if (c < 0)
			return 0;
		if (c == '#')
			c = pin_comment(r);
	} while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
	if (base2)
		return (unsigned)(c - '0');
	unsigned v = 0;
	while (c >= '0' && c <= '9') {
		if (v <= (unsigned)(INT_MAX / 10)) {
			v *= 10;
			if (v <= (unsigned)(INT_MAX - (c - '0')))
				v += (unsigned)(c - '0');
		}
		c = pin_byte(r);
		if (c < 0)
			return 0;
	}
	if (c == '#')
		(void)pin_comment(r);
	return v;
}

/* ScaleAnyToQuantum for any maxval (ImageMagick's double expression). */
static uint16_t scale_any(unsigned v, unsigned maxval)
{
	if (v > maxval)
		return 65535;
	return (uint16_t)(IM_QR * ((double)v * (1.0 / (double)maxval)) + 0.5);
}

int veto_decode_pnm(const uint8_t *data, size_t size, const decode_params *p,
                    luma_sink *out, decode_info *info, veto_error *err)
{
	pnm_in r = {data, size, 0, 0};
	uint8_t *row = NULL;
	int rc = VETO_OK, sink_ready = 0;

	info->format = "pnm";
	info->orientation = 1;
	if (size < 2 || data[0] != 'P' || data[1] < '1' || data[1] > '6')
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt PNM: bad header", p->name);
	const int fmt = data[1] - '0';
	r.pos = 2;
	const unsigned w = pin_int(&r, 0), h = pin_int(&r, 0);
	const unsigned maxval = (fmt == 1 || fmt == 4) ? 1 : pin_int(&r, 0);
	info->width = w;
	info->height = h;
	if (w == 0 || h == 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: PNM has no pixels (%ux%u)", p->name, w, h);
	if (maxval == 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt PNM: maxval 0", p->name);
	rc = check_pixels(p, w, h, err);
	if (rc != VETO_OK)
		return rc;
	if ((uint64_t)w * h / 8 > size)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated PNM (%ux%u pixels in %zu bytes)",
		                 p->name, w, h, size);
	unsigned depth = 1;
	while (depth < 32 && ((1ull << depth) - 1) < maxval)
		depth++;
	const int grey = fmt == 1 || fmt == 2 || fmt == 4 || fmt == 5;
	const unsigned ch = grey ? 1 : 3;
	const unsigned bps = depth <= 8 ? 1 : depth <= 16 ? 2 : 4;
	const uint64_t raw_row = fmt == 4 ? ((uint64_t)w + 7) / 8 : (uint64_t)w * ch * bps;

	row = (uint8_t *)malloc((size_t)w * ch);
	if (!row) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	rc = sink_init(out, (int)w, (int)h, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	for (unsigned y = 0; y < h; y++) {
		if (fmt >= 4) {
			if (r.n - r.pos < raw_row) {
				rc = veto_fail(err, VETO_ERR_CORRUPT,
				               "%s: truncated PNM (data ends at row %u of %u)", p->name, y, h);
				goto done;
			}
			const uint8_t *s = r.d + r.pos;
			r.pos += (size_t)raw_row;
			if (fmt == 4) {
				for (unsigned x = 0; x < w; x++)
					row[x] = (s[x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
			} else {
				for (size_t i = 0; i < (size_t)w * ch; i++) {
					uint16_t q;
					if (bps == 1) {
						q = depth == 8 ? (uint16_t)(s[i] * 257u) : scale_any(s[i], maxval);
					} else if (bps == 2) {
						unsigned v = rd_be16(s + 2 * (size_t)i);
						q = depth == 16 ? (uint16_t)v : scale_any(v, maxval);
					} else {
						q = scale_any(rd_be32(s + 4 * (size_t)i), maxval);
					}
					row[i] = im_to_depth8(q, depth);
				}
			}
		} else {
			for (size_t i = 0; i < (size_t)w * ch; i++) {
				unsigned v = pin_int(&r, fmt == 1);
				if (r.eof) {
					rc = veto_fail(err, VETO_ERR_CORRUPT,
					               "%s: truncated PNM (data ends at row %u of %u)", p->name, y, h);
					goto done;
				}
				if (fmt == 1)
					row[i] = v == 0 ? 255 : 0;
				else
					row[i] = im_to_depth8(scale_any(v, maxval), depth);
			}
		}
		sink_row(out, (int)y, row, (int)ch);
	}
	sink_finish(out);
done:
	free(row);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
