/*
 * img_gif.c - the first image of a GIF, as ImageMagick 6 decodes it.
 *
 * `convert 'x.gif[0]' pnm:-` gives the first image descriptor's pixels at
 * the descriptor's own size: the frame is NOT placed on the logical screen
 * (its offset is only a page attribute that PNM drops). Transparency is
 * dropped without compositing, so a transparent pixel keeps its palette
 * colour.
 *
 * This is a small parser of its own rather than giflib because ImageMagick
 * has its own GIF reader and the pixels must match it on odd files too:
 *   - bytes between blocks that are not '!', ',' or ';' are skipped;
 *   - the palette is the local or global table (a zero-filled 256-entry
 *     table if the file has none); an index at or past the table's size is
 *     read as index 0, except that a transparent index equal to the table
 *     size is allowed and is black;
 *   - the LZW decoder follows ImageMagick's: up to 12-bit codes, a code
 *     beyond the next free slot is treated like the KwKwK case, codes keep
 *     decoding after the table fills, and a stream that ends before the
 *     image is full is an error (ImageMagick refuses it as corrupt).
 * Files that declare gamma 1.0 in an "ImageMagick" application extension
 * (ImageMagick writes one for linear-light images) make ImageMagick take a
 * colour palette as linear RGB: if any pixel is colour, every pixel is
 * re-encoded to sRGB on output (its EncodePixelGamma, reproduced here);
 * otherwise the grey values pass as they are.
 *
 * Memory: one row for a progressive (non-interlaced) image, the index
 * plane (one byte a pixel) for an interlaced one, whose rows arrive out of
 * order, or for a gamma-1.0 one; both only after the pixel limit is
 * checked. GIF sides are 16-bit.
 */
#include "img_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LZW_BITS 12
#define LZW_CODES (1u << LZW_BITS)

typedef struct gif_in {
	const uint8_t *d;
	size_t n, pos;
} gif_in;

static int gin_byte(gif_in *g)
{
	return g->pos < g->n ? g->d[g->pos++] : -1;
}

/* One data sub-block into buf (<= 255 bytes); returns its length, or 0 for
 * the terminator or for data that ends early (as ImageMagick does). */
static size_t gin_block(gif_in *g, uint8_t *buf)
{
	int c = gin_byte(g);
	if (c <= 0)
		return 0;
	if ((size_t)c > g->n - g->pos) {
		g->pos = g->n;
		return 0;
	}
	memcpy(buf, g->d + g->pos, (size_t)c);
	g->pos += (size_t)c;
	return (size_t)c;
}

typedef struct lzw {
	gif_in *in;
	unsigned data_size, max_value, clear_code, end_code;
	unsigned bits, max_code, slot, first_code, last_code;
	int genesis;
	/* bit reader: the last two bytes of the previous block plus one block */
	uint8_t buf[2 + 255];
	size_t count, bit;
	int eof;
	uint16_t prefix[LZW_CODES], suffix[LZW_CODES];
	uint16_t stack[2 * LZW_CODES];
	unsigned sp;
} lzw;

static void lzw_reset(lzw *z)
{
	z->bits = z->data_size + 1;
	z->max_code = 1u << z->bits;
	z->slot = z->max_value + 3;
	z->genesis = 1;
}

static void lzw_init(lzw *z, gif_in *in, unsigned data_size)
{
	memset(z, 0, sizeof *z);
	z->in = in;
	z->data_size = data_size;
	z->max_value = (1u << data_size) - 1;
	z->clear_code = z->max_value + 1;
	z->end_code = z->max_value + 2;
	for (unsigned i = 0; i <= z->max_value; i++)
		z->suffix[i] = (uint16_t)i;
	lzw_reset(z);
	z->count = 2;
	z->bit = 16;
}

static int lzw_code(lzw *z)
{
	while (z->bit + z->bits > 8 * z->count && !z->eof) {
		z->buf[0] = z->buf[z->count - 2];
		z->buf[1] = z->buf[z->count - 1];
		z->bit -= 8 * (z->count - 2);
		z->count = 2;
		size_t n = gin_block(z->in, z->buf + 2);
		if (n > 0)
			z->count += n;
		else
			z->eof = 1;
	}
	if (z->bit + z->bits > 8 * z->count)
		return -1;
	unsigned code = 0;
	for (unsigned i = 0; i < z->bits; i++, z->bit++)
		code |= (unsigned)((z->buf[z->bit / 8] >> (z->bit % 8)) & 1) << i;
	return (int)code;
}

static void lzw_push(lzw *z, unsigned v)
{
	if (z->sp < 2 * LZW_CODES)
		z->stack[z->sp++] = (uint16_t)v;
}

/* Next decoded value (a palette index, possibly out of range), or -1 at the
 * end of the data. Mirrors ImageMagick's ReadBlobLZWByte. */
static int lzw_next(lzw *z)
{
	for (;;) {
		if (z->sp > 0)
			return z->stack[--z->sp];
		if (z->genesis) {
			int c;
			z->genesis = 0;
			do
				c = lzw_code(z);
			while (c >= 0 && (unsigned)c == z->clear_code);
			if (c < 0)
				return -1;
			z->first_code = z->last_code = (unsigned)c;
			return c;
		}
		int code = lzw_code(z);
		if (code < 0)
			return -1;
		if ((unsigned)code == z->clear_code) {
			lzw_reset(z);
			continue;
		}
		if ((unsigned)code == z->end_code)
			return -1;
		unsigned value;
		if ((unsigned)code < z->slot) {
			value = (unsigned)code;
		} else {
			lzw_push(z, z->first_code);
			value = z->last_code;
		}
		unsigned guard = 0;
		while (value > z->max_value) {
			if (guard++ > LZW_CODES)
				return -1;
			lzw_push(z, z->suffix[value]);
			value = z->prefix[value];
		}
		z->first_code = z->suffix[value];
		lzw_push(z, z->first_code);
		if (z->slot < LZW_CODES) {
			z->prefix[z->slot] = (uint16_t)z->last_code;
			z->suffix[z->slot] = (uint16_t)z->first_code;
			z->slot++;
			if (z->slot >= z->max_code && z->bits < LZW_BITS) {
				z->bits++;
				z->max_code = 1u << z->bits;
			}
		}
		z->last_code = (unsigned)code;
		return z->stack[--z->sp];
	}
}

/* Skip data sub-blocks up to the terminator (or the end of the data). */
static void skip_blocks(gif_in *g, uint8_t *buf)
{
	while (gin_block(g, buf) != 0)
		;
}

/* ImageMagick's EncodeGamma: x^(1/2.4) by a Chebyshev polynomial. */
static double encode_gamma(double x)
{
	static const double coefficient[] = {
		1.1758200232996901923, 0.16665763094889061230, -0.0083154894939042125035,
		0.00075187976780420279038, -0.000083240178519391795367, 0.000010229209410070008679,
		-1.3400466409860246e-06, 1.8333422241635376682e-07, -2.5878596761348859722e-08};
	static const double powers_of_two[] = {
		1.0, 1.3348398541700343678, 1.7817974362806785482, 2.3784142300054420538,
		3.1748021039363991669, 4.2378523774371812394, 5.6568542494923805819,
		7.5509945014535482244, 1.0079368399158985525e1, 1.3454342644059433809e1,
		1.7959392772949968275e1, 2.3972913230026907883e1};
	double term[9];
	int exponent;
	term[0] = 1.0;
	term[1] = 4.0 * frexp(x, &exponent) - 3.0;
	for (int i = 2; i < 9; i++)
		term[i] = 2.0 * term[1] * term[i - 1] - term[i - 2];
	double p = coefficient[0] * term[0];
	for (int i = 1; i < 9; i++)
		p = p + coefficient[i] * term[i];
	div_t q = div(exponent - 1, 12);
	if (q.rem < 0) {
		q.quot -= 1;
		q.rem += 12;
	}
	return ldexp(powers_of_two[q.rem] * p, 5 * q.quot);
}

/* ImageMagick's linear-to-sRGB step on one 8-bit palette channel. */
static uint8_t encode_pixel_gamma8(uint8_t v8)
{
	const double pixel = (double)(v8 * 257u);
	double r;
	if (pixel <= 0.0031306684425005883 * IM_QR)
		r = 12.92f * pixel;
	else
		r = IM_QR * (1.055 * encode_gamma((1.0 / IM_QR) * pixel) - 0.055);
	return scale16to8(im_clamp(r));
}

static void expand_row(const uint8_t *idx, int w, const uint8_t *pal, uint8_t *rgb)
{
	for (int x = 0; x < w; x++)
		memcpy(rgb + 3 * x, pal + 3 * idx[x], 3);
}

int veto_decode_gif(const uint8_t *data, size_t size, const decode_params *p,
                    luma_sink *out, decode_info *info, veto_error *err)
{
	gif_in g = {data, size, 0};
	uint8_t block[256];
	uint8_t global[3 * 256], pal[3 * 256];
	uint8_t *plane = NULL, *row = NULL;
	lzw *z = NULL;
	int sink_ready = 0, rc = VETO_OK;

	info->format = "gif";
	info->orientation = 1;
	if (size < 13 || (memcmp(data, "GIF87", 5) != 0 && memcmp(data, "GIF89", 5) != 0))
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt GIF: bad header", p->name);
	const unsigned sflags = data[10];
	g.pos = 13;
	const unsigned global_colors = 1u << ((sflags & 7) + 1);
	memset(global, 0, sizeof global);
	if (sflags & 0x80) {
		if (g.n - g.pos < 3 * (size_t)global_colors)
			return veto_fail(err, VETO_ERR_CORRUPT,
			                 "%s: truncated GIF (global colour table)", p->name);
		memcpy(global, data + g.pos, 3 * (size_t)global_colors);
		g.pos += 3 * (size_t)global_colors;
	}

	/* Find the first image descriptor, noting the transparent index. */
	int transparent = -1, found = 0;
	double gamma = 1.0 / 2.2; /* ImageMagick's default image gamma */
	for (;;) {
		int c = gin_byte(&g);
		if (c < 0 || c == ';')
			break;
		if (c == '!') {
			c = gin_byte(&g);
			if (c < 0) {
				rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated GIF (extension)", p->name);
				goto done;
			}
			memset(block, 0, sizeof block);
			if (c == 0xf9) {
				/* ImageMagick keeps the last sub-block it read. */
				while (gin_block(&g, block) != 0)
					;
				if (block[0] & 1)
					transparent = block[3];
			} else if (c == 0xff) {
				size_t n = gin_block(&g, block);
				int magick = n > 0 && memcmp(block, "ImageMagick", 11) == 0;
				if (n > 0 && memcmp(block, "NETSCAPE2.0", 11) == 0)
					magick = 0;
				/* The rest is "gamma=<value>" for ImageMagick's own. */
				char text[64];
				size_t len = 0;
				while ((n = gin_block(&g, block)) != 0)
					for (size_t i = 0; i < n && len < sizeof text - 1; i++)
						text[len++] = (char)block[i];
				text[len] = '\0';
				if (magick)
					gamma = len > 6 ? strtod(text + 6, NULL) : 0.0;
			} else {
				skip_blocks(&g, block);
			}
			/* ImageMagick tests the label byte for ',' next: an
			 * extension labelled 0x2C is followed by a descriptor. */
		}
		if (c == ',') {
			found = 1;
			break;
		}
	}
	if (!found) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: GIF has no image", p->name);
		goto done;
	}
	if (g.n - g.pos < 9) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated GIF (image descriptor)", p->name);
		goto done;
	}
	const int w = (int)rd_le16(data + g.pos + 4), h = (int)rd_le16(data + g.pos + 6);
	const unsigned iflags = data[g.pos + 8];
	g.pos += 9;
	info->width = (uint32_t)w;
	info->height = (uint32_t)h;
	if (w == 0 || h == 0) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: GIF image has no pixels (%dx%d)", p->name, w, h);
		goto done;
	}
	rc = check_pixels(p, (uint64_t)w, (uint64_t)h, err);
	if (rc != VETO_OK)
		goto done;
	const int interlaced = (iflags & 0x40) != 0;
	unsigned colors = (iflags & 0x80) ? 1u << ((iflags & 7) + 1) : global_colors;
	if (transparent == (int)colors)
		colors++; /* the extra entry is black */
	memset(pal, 0, sizeof pal);
	if (iflags & 0x80) {
		size_t n = 3 * (size_t)(1u << ((iflags & 7) + 1));
		if (g.n - g.pos < n) {
			rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated GIF (local colour table)", p->name);
			goto done;
		}
		memcpy(pal, data + g.pos, n);
		g.pos += n;
	} else {
		memcpy(pal, global, sizeof pal);
	}
	int data_size = gin_byte(&g);
	/* Codes start one bit wider than data_size and may not pass 12 bits,
	 * so 11 is the largest size whose codes fit the 4096-entry table. */
	if (data_size < 0 || data_size >= LZW_BITS) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt GIF: LZW code size %d",
		               p->name, data_size);
		goto done;
	}

	/* Gamma 1.0 with a colour palette: whether pixels are re-encoded
	 * depends on whether any pixel is colour, so look at them all first. */
	int linear = 0;
	if (gamma == 1.0)
		for (unsigned i = 0; i < colors; i++)
			if (pal[3 * i] != pal[3 * i + 1] || pal[3 * i + 1] != pal[3 * i + 2])
				linear = 1;
	const int whole = interlaced || linear;
	z = (lzw *)malloc(sizeof *z);
	row = (uint8_t *)malloc((size_t)w * 4);
	if (whole)
		plane = (uint8_t *)malloc((size_t)w * (size_t)h);
	if (!z || !row || (whole && !plane)) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	lzw_init(z, &g, (unsigned)data_size);
	if (!whole) {
		rc = sink_init(out, w, h, p->max_pixels, p->name, err);
		if (rc != VETO_OK)
			goto done;
		sink_ready = 1;
	}

	/* Rows in file order; interlaced files visit rows in four passes. */
	uint8_t *idx = row + (size_t)w * 3;
	int pass = 0, y = 0;
	for (int n = 0; n < h && y < h; n++) {
		uint8_t *dst = whole ? plane + (size_t)y * (size_t)w : idx;
		for (int x = 0; x < w; x++) {
			int v = lzw_next(z);
			if (v < 0) {
				rc = veto_fail(err, VETO_ERR_CORRUPT,
				               "%s: truncated or corrupt GIF (image data ends at row %d of %d)",
				               p->name, n, h);
				goto done;
			}
			dst[x] = (uint8_t)((unsigned)v < colors ? (unsigned)v : 0u);
		}
		if (!interlaced) {
			if (!whole) {
				expand_row(idx, w, pal, row);
				sink_row(out, y, row, 3);
			}
			y++;
			continue;
		}
		static const int step[4] = {8, 8, 4, 2}, start[4] = {0, 4, 2, 1};
		y += step[pass];
		while (pass < 3 && y >= h) {
			pass++;
			y = start[pass];
		}
	}
	if (whole) {
		int colour = 0;
		for (size_t i = 0; linear && !colour && i < (size_t)w * (size_t)h; i++) {
			const uint8_t *c = pal + 3 * plane[i];
			colour = c[0] != c[1] || c[1] != c[2];
		}
		if (colour)
			for (size_t i = 0; i < sizeof pal; i++)
				pal[i] = encode_pixel_gamma8(pal[i]);
		rc = sink_init(out, w, h, p->max_pixels, p->name, err);
		if (rc != VETO_OK)
			goto done;
		sink_ready = 1;
		if (colour)
			sink_force_colour(out);
	}
	if (whole)
		for (int r = 0; r < h; r++) {
			expand_row(plane + (size_t)r * (size_t)w, w, pal, row);
			sink_row(out, r, row, 3);
		}
	sink_finish(out);
done:
	free(z);
	free(row);
	free(plane);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
