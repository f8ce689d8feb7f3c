/*
 * img_bmp.c - Windows and OS/2 bitmaps, read the way ImageMagick 6 reads
 * them (ImageMagick has its own BMP reader; this follows its rules).
 *
 * Headers: OS/2 core (12 bytes) and Windows info headers (40, 52, 56, 64,
 * 108 = V4, 124 = V5), fields read in ImageMagick's order; bit masks after
 * a 40-byte header when the compression is BI_BITFIELDS. Pixels: 1, 4 and
 * 8-bit palettes (BGR quads, or triples for 12- and 64-byte headers), RLE8
 * and RLE4, 16-bit (555 by default, or bitfields), 24-bit, and 32-bit
 * (BGRX by default, or bitfields); bottom-up and top-down (negative height).
 *
 * ImageMagick's quirks that change pixels, reproduced here:
 *   - a palette index at or past the palette's size reads as index 0;
 *   - bitfield samples are widened by its bit-replication rules (5 and 6
 *     bits; any field of 8 bits or fewer in 16-bit images; exactly 8 bits
 *     in 32-bit ones) and then taken as 16-bit quanta;
 *   - 1- and 4-bit images (RLE4 included) keep that bit depth, so the PNM
 *     ImageMagick writes reduces their palette colours to 1 or 4 bits a
 *     channel; veto reduces them the same way;
 *   - RLE: an end-of-bitmap code ends the image early (the rest is index 0),
 *     a delta may move anywhere inside the image, runs are clipped at its
 *     end, and data that ends before the last row without an end code is
 *     an error, as are runs that jump outside the image before its end.
 * Alpha (bitfield alpha masks, 32-bit BI_RGB's fourth byte) is dropped.
 * JPEG- and PNG-compressed BMPs are refused as ImageMagick refuses them.
 *
 * Memory: uncompressed rows are read in place from the input buffer; RLE
 * decodes into one byte a pixel, after the pixel limit is checked.
 */
#include "img_util.h"

#include <string.h>

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_JPEG = 4, BI_PNG = 5 };

typedef struct bmp_rd {
	const uint8_t *d;
	size_t n, pos;
} bmp_rd;

/* ImageMagick's ReadBlobLSB* return 0 for bytes past the end. */
static uint32_t rd32(bmp_rd *r)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++, r->pos++)
		if (r->pos < r->n)
			v |= (uint32_t)r->d[r->pos] << (8 * i);
	return v;
}

static unsigned rd16(bmp_rd *r)
{
	unsigned v = 0;
	for (int i = 0; i < 2; i++, r->pos++)
		if (r->pos < r->n)
			v |= (unsigned)r->d[r->pos] << (8 * i);
	return v;
}

typedef struct field {
	uint32_t mask;
	unsigned shift, bits;
} field;

static field make_field(uint32_t mask)
{
	field f = {mask, 0, 0};
	if (mask != 0)
		while (f.shift < 32 && ((mask << f.shift) & 0x80000000u) == 0)
			f.shift++;
	unsigned s = f.shift;
	while (s < 32 && ((mask << s) & 0x80000000u) != 0)
		s++;
	f.bits = s - f.shift;
	return f;
}

/* The field's value as a 16-bit quantum, ImageMagick's widening. */
static uint16_t field16(const field *f, uint32_t pixel, int green)
{
	if (f->mask == 0)
		return 0;
	uint32_t v = ((pixel & f->mask) << f->shift) >> 16;
	if (f->bits == 5)
		v |= (v & 0xe000u) >> 5;
	if (green && f->bits == 6)
		v |= (v & 0xc000u) >> 6;
	if (f->bits <= 8)
		v |= (v & 0xff00u) >> 8;
	return (uint16_t)v;
}

static uint16_t field32(const field *f, uint32_t pixel)
{
	if (f->mask == 0)
		return 0;
	uint32_t v = ((pixel & f->mask) << f->shift) >> 16;
	if (f->bits == 8)
		v |= v >> 8;
	return (uint16_t)v;
}

/* RLE8/RLE4 into idx (w*h bytes, file row order), ImageMagick's way.
 * Returns 1 if it ended well, 0 if the data ended before the image did. */
static int rle_decode(const uint8_t *d, size_t n, int rle4, uint8_t *idx, uint64_t w, uint64_t h)
{
	const uint64_t total = w * h;
	uint64_t p = 0, y = 0, x = 0; /* p: position in idx */
	size_t i = 0;
#define NEXT() (i < n ? (int)d[i++] : -1)
	memset(idx, 0, (size_t)total);
	while (y < h) {
		if (p > total)
			break;
		int count = NEXT();
		if (count < 0)
			break;
		if (count > 0) {
			uint64_t c = (uint64_t)count < total - p ? (uint64_t)count : total - p;
			int byte = NEXT();
			if (byte < 0)
				break;
			for (uint64_t k = 0; k < c; k++)
				idx[p++] = (uint8_t)(!rle4 ? byte : (k & 1) ? (byte & 15) : (byte >> 4));
			x += c;
			continue;
		}
		int esc = NEXT();
		if (esc < 0)
			break;
		if (esc == 1)
			return 1; /* end of bitmap */
		if (esc == 0) {
			x = 0;
			y++;
			p = y * w;
			continue;
		}
		if (esc == 2) {
			/* ImageMagick adds EOF (-1) if the file ends here. */
			int dx = NEXT(), dy = NEXT();
			x = (uint64_t)((int64_t)x + dx);
			y = (uint64_t)((int64_t)y + dy);
			p = y * w + x;
			if ((int64_t)y < 0 || (int64_t)p < 0)
				return 0;
			continue;
		}
		uint64_t c = (uint64_t)esc < total - p ? (uint64_t)esc : total - p;
		int byte = 0, eof = 0;
		for (uint64_t k = 0; k < c; k++) {
			if (!rle4 || (k & 1) == 0) {
				byte = NEXT();
				if (byte < 0) {
					eof = 1;
					break;
				}
			}
			idx[p++] = (uint8_t)(!rle4 ? byte : (k & 1) ? (byte & 15) : (byte >> 4));
		}
		x += c;
		if (eof)
			continue; /* ImageMagick: the next read hits EOF and stops */
		if (!rle4 ? (c & 1) : ((c & 3) == 1 || (c & 3) == 2))
			(void)NEXT(); /* pad to a 16-bit boundary */
	}
#undef NEXT
	return y >= h;
}

/* Does any pixel use a palette entry whose 16-bit channels differ? */
static int bmp_uses_colour(const uint16_t *pal, uint32_t colors, const uint8_t *src, int rle,
                           unsigned bpp, uint64_t bpl, uint64_t w, uint64_t h)
{
	for (uint64_t y = 0; y < h; y++) {
		const uint8_t *s = rle ? src + y * w : src + y * bpl;
		for (uint64_t x = 0; x < w; x++) {
			unsigned v = (rle || bpp == 8) ? s[x] :
			             bpp == 4 ? (s[x / 2] >> ((x & 1) ? 0 : 4)) & 15u :
			                        (s[x / 8] >> (7 - (x & 7))) & 1u;
			if (v >= colors)
				v = 0;
			const uint16_t *c = pal + 3 * v;
			if (c[0] != c[1] || c[1] != c[2])
				return 1;
		}
	}
	return 0;
}

int veto_decode_bmp(const uint8_t *data, size_t size, const decode_params *p,
                    luma_sink *out, decode_info *info, veto_error *err)
{
	bmp_rd r = {data, size, 0};
	uint8_t *idx = NULL, *row = NULL;
	uint16_t pal[3 * 256];
	int rc = VETO_OK, sink_ready = 0, force_colour = 0;

	info->format = "bmp";
	info->orientation = 1;
	if (size < 26 || data[0] != 'B' || data[1] != 'M')
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: bad header", p->name);
	r.pos = 10;
	const uint32_t offset_bits = rd32(&r);
	const uint32_t hsize = rd32(&r);
	int64_t width, height;
	unsigned planes, bpp;
	uint32_t compression = BI_RGB, ncolors = 0;
	uint32_t mr = 0, mg = 0, mb = 0;
	if (hsize == 12) {
		width = (int16_t)rd16(&r);
		height = (int16_t)rd16(&r);
		planes = rd16(&r);
		bpp = rd16(&r);
	} else {
		width = (int32_t)rd32(&r);
		height = (int32_t)rd32(&r);
		planes = rd16(&r);
		bpp = rd16(&r);
		compression = rd32(&r);
		if (hsize > 16) {
			(void)rd32(&r); /* image size */
			(void)rd32(&r); /* x, y resolution */
			(void)rd32(&r);
			ncolors = rd32(&r);
			if (ncolors > size)
				return veto_fail(err, VETO_ERR_CORRUPT,
				                 "%s: truncated BMP (%u palette entries)", p->name, ncolors);
			(void)rd32(&r); /* important colours */
		}
		if (hsize > 40 || compression == BI_BITFIELDS) {
			mr = rd32(&r);
			mg = rd32(&r);
			mb = rd32(&r);
		}
	}
	if (width <= 0 || height == 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: BMP has no pixels (%lldx%lld)", p->name,
		                 (long long)width, (long long)height);
	const uint64_t w = (uint64_t)width, h = (uint64_t)(height < 0 ? -height : height);
	info->width = (uint32_t)w;
	info->height = (uint32_t)h;
	if (planes != 1)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: %u planes", p->name, planes);
	if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: %u bits per pixel", p->name, bpp);
	if (bpp < 16 && ncolors > (1u << bpp))
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: %u colours at %u bits",
		                 p->name, ncolors, bpp);
	if ((compression == BI_RLE8 && bpp != 8) || (compression == BI_RLE4 && bpp != 4) ||
	    (compression == BI_BITFIELDS && bpp < 16))
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: compression %u at %u bits",
		                 p->name, compression, bpp);
	if (compression == BI_JPEG || compression == BI_PNG)
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: %s-compressed BMP is not supported",
		                 p->name, compression == BI_JPEG ? "JPEG" : "PNG");
	if (compression > BI_BITFIELDS)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: compression %u", p->name,
		                 compression);
	rc = check_pixels(p, w, h, err);
	if (rc != VETO_OK)
		return rc;

	/* Palette: ImageMagick's grey ramp, overwritten by the file's entries. */
	const unsigned depth = bpp <= 8 ? bpp : 8; /* ImageMagick's image depth */
	uint32_t colors = 0;
	if (bpp < 16) {
		colors = ncolors ? ncolors : 1u << bpp;
		for (uint32_t i = 0; i < colors; i++)
			pal[3 * i] = pal[3 * i + 1] = pal[3 * i + 2] =
				(uint16_t)(i * (65535u / (colors > 1 ? colors - 1 : 1)));
		const size_t packet = (hsize == 12 || hsize == 64) ? 3 : 4;
		const uint64_t at = 14 + (uint64_t)hsize;
		if (at > size || (size - at) / packet < colors)
			return veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated BMP (palette)", p->name);
		for (uint32_t i = 0; i < colors; i++) {
			const uint8_t *c = data + at + i * packet;
			pal[3 * i] = (uint16_t)(c[2] * 257u);
			pal[3 * i + 1] = (uint16_t)(c[1] * 257u);
			pal[3 * i + 2] = (uint16_t)(c[0] * 257u);
		}
	}
	if (offset_bits == 0 || offset_bits > size)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt BMP: pixel data offset %u",
		                 p->name, offset_bits);
	const unsigned ebpp = compression == BI_RLE4 ? 8 : bpp; /* RLE4 unpacks to bytes */
	const uint64_t bpl = 4 * ((w * ebpp + 31) / 32);
	const uint64_t length = bpl * h;
	if (length / 256 > size)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated BMP (pixel data)", p->name);
	const uint8_t *pix = data + offset_bits;
	const size_t avail = size - offset_bits;
	const int rle = compression == BI_RLE8 || compression == BI_RLE4;
	if (!rle && length > avail)
		return veto_fail(err, VETO_ERR_CORRUPT,
		                 "%s: truncated BMP (%zu of %llu bytes of pixel data)", p->name, avail,
		                 (unsigned long long)length);

	/* Bit fields for 16- and 32-bit images. */
	if (compression == BI_RGB) {
		mr = bpp == 16 ? 0x7c00u : 0x00ff0000u;
		mg = bpp == 16 ? 0x03e0u : 0x0000ff00u;
		mb = bpp == 16 ? 0x001fu : 0x000000ffu;
	}
	const field fr = make_field(mr), fg = make_field(mg), fb = make_field(mb);

	if (rle) {
		idx = (uint8_t *)malloc((size_t)(w * h));
		if (!idx) {
			rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
			goto done;
		}
		if (!rle_decode(pix, avail, compression == BI_RLE4, idx, w, h)) {
			rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated or corrupt BMP run-length data",
			               p->name);
			goto done;
		}
	}
	/* ImageMagick writes a colour PNM if any pixel differs in its 16-bit
	 * channels, even if the reduction to 1 or 4 bits makes it grey: then
	 * the sink must not take the image as grey. Only such "ambiguous"
	 * palette entries need the (cheap) look at every index. */
	if (bpp <= 8) {
		int ambiguous = 0;
		for (uint32_t i = 0; i < colors; i++) {
			const uint16_t *c = pal + 3 * i;
			uint8_t r8 = im_to_depth8(c[0], depth), g8 = im_to_depth8(c[1], depth),
			        b8 = im_to_depth8(c[2], depth);
			if ((c[0] != c[1] || c[1] != c[2]) && r8 == g8 && g8 == b8)
				ambiguous = 1;
		}
		if (ambiguous && bmp_uses_colour(pal, colors, rle ? idx : pix, rle, bpp, bpl, w, h))
			force_colour = 1;
	}
	row = (uint8_t *)malloc((size_t)w * 3);
	if (!row) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	rc = sink_init(out, (int)w, (int)h, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	if (force_colour)
		sink_force_colour(out);
	for (uint64_t y = 0; y < h; y++) {
		/* File rows run bottom-up unless the height is negative. */
		const uint64_t fy = height < 0 ? y : h - 1 - y;
		uint8_t *o = row;
		if (rle || bpp <= 8) {
			const uint8_t *s = rle ? idx + fy * w : pix + fy * bpl;
			for (uint64_t x = 0; x < w; x++) {
				unsigned v;
				if (rle || bpp == 8)
					v = s[x];
				else if (bpp == 4)
					v = (s[x / 2] >> ((x & 1) ? 0 : 4)) & 15u;
				else
					v = (s[x / 8] >> (7 - (x & 7))) & 1u;
				if (v >= colors)
					v = 0;
				o[3 * x] = im_to_depth8(pal[3 * v], depth);
				o[3 * x + 1] = im_to_depth8(pal[3 * v + 1], depth);
				o[3 * x + 2] = im_to_depth8(pal[3 * v + 2], depth);
			}
		} else if (bpp == 24) {
			const uint8_t *s = pix + fy * bpl;
			for (uint64_t x = 0; x < w; x++) {
				o[3 * x] = s[3 * x + 2];
				o[3 * x + 1] = s[3 * x + 1];
				o[3 * x + 2] = s[3 * x];
			}
		} else if (bpp == 16) {
			const uint8_t *s = pix + fy * bpl;
			for (uint64_t x = 0; x < w; x++) {
				uint32_t px = rd_le16(s + 2 * x);
				o[3 * x] = scale16to8(field16(&fr, px, 0));
				o[3 * x + 1] = scale16to8(field16(&fg, px, 1));
				o[3 * x + 2] = scale16to8(field16(&fb, px, 0));
			}
		} else {
			const uint8_t *s = pix + fy * bpl;
			for (uint64_t x = 0; x < w; x++) {
				uint32_t px = rd_le32(s + 4 * x);
				o[3 * x] = scale16to8(field32(&fr, px));
				o[3 * x + 1] = scale16to8(field32(&fg, px));
				o[3 * x + 2] = scale16to8(field32(&fb, px));
			}
		}
		sink_row(out, (int)y, row, 3);
	}
	sink_finish(out);
done:
	free(idx);
	free(row);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
