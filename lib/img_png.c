/*
 * img_png.c - PNG through libpng, giving the pixels ImageMagick gives.
 *
 * Palette and low-bit-depth grey are expanded to 8 bits (1-bit grey becomes
 * 0/255, as ImageMagick's monochrome PNM does); tRNS and alpha are dropped
 * (the reference drops alpha); no gamma or ICC transform is applied, since
 * ImageMagick does not apply one when it reads a PNG either.
 *
 * 16-bit samples are scaled to 8 bits with ImageMagick's quantum-to-char
 * rounding. (The reference CLI instead receives a 16-bit PNM that CImg
 * truncates to the low byte, which turns 16-bit images into noise; veto
 * deliberately does not reproduce that bug: see docs/compatibility.md.)
 *
 * libpng reports errors by longjmp; warnings are swallowed. CRC errors in
 * critical chunks are errors; in ancillary chunks they are ignored, as
 * libpng does by default.
 */
#include "internal.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

typedef struct mem_reader {
	const uint8_t *data;
	size_t size, pos;
} mem_reader;

typedef struct png_err {
	char msg[200];
} png_err;

static void on_read(png_structp png, png_bytep out, png_size_t n)
{
	mem_reader *r = (mem_reader *)png_get_io_ptr(png);
	if (n > r->size - r->pos)
		png_error(png, "truncated PNG (data ends early)");
	memcpy(out, r->data + r->pos, n);
	r->pos += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
	png_err *e = (png_err *)png_get_error_ptr(png);
	snprintf(e->msg, sizeof e->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

int veto_decode_png(const uint8_t *data, size_t size, const decode_params *p,
                    luma_sink *out, decode_info *info, veto_error *err)
{
	mem_reader rd = {data, size, 0};
	png_err perr = {{0}};
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &perr, on_error, on_warning);
	png_infop pinfo = png ? png_create_info_struct(png) : NULL;
	uint8_t *volatile buf = NULL;
	uint8_t **volatile rows = NULL;
	volatile int sink_ready = 0;
	volatile int rc = VETO_OK;
	info->format = "png";
	if (!png || !pinfo) {
		png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
	}
	if (setjmp(png_jmpbuf(png))) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt PNG: %s", p->name,
		               perr.msg[0] ? perr.msg : "decoder error");
		goto done;
	}
	png_set_read_fn(png, &rd, on_read);
	/* Bound libpng's own allocations (zTXt/iCCP bombs): 64 MiB per chunk. */
	png_set_chunk_malloc_max(png, 64u << 20);
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_read_info(png, pinfo);
	png_uint_32 w = png_get_image_width(png, pinfo), h = png_get_image_height(png, pinfo);
	int depth = png_get_bit_depth(png, pinfo), ctype = png_get_color_type(png, pinfo);
	info->width = w;
	info->height = h;
	info->orientation = 1;
	uint64_t max_px = p->max_pixels ? p->max_pixels : VETO_DEFAULT_MAX_PIXELS;
	if ((uint64_t)w * h > max_px) {
		rc = veto_fail(err, VETO_ERR_TOO_LARGE,
		               "%s: %ux%u is %llu pixels, over the limit of %llu (see --max-pixels)",
		               p->name, (unsigned)w, (unsigned)h, (unsigned long long)w * h,
		               (unsigned long long)max_px);
		goto done;
	}
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	/* Alpha is dropped for hashing; RGBA decodes (veto_decode_rgba, for
	 * the A1111 stealth reader) keep it, tRNS included. */
	if (out->keep_rgba) {
		if (png_get_valid(png, pinfo, PNG_INFO_tRNS))
			png_set_tRNS_to_alpha(png);
	} else {
		png_set_strip_alpha(png);
	}
	if (depth == 16)
		png_set_swap(png); /* host order on little-endian */
	int passes = png_set_interlace_handling(png);
	png_read_update_info(png, pinfo);
	const int ch = png_get_channels(png, pinfo);
	const int bd = png_get_bit_depth(png, pinfo);
	const size_t rowbytes = png_get_rowbytes(png, pinfo);
	if ((ch != 1 && ch != 3 && !(out->keep_rgba && (ch == 2 || ch == 4))) ||
	    (bd != 8 && bd != 16)) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: PNG layout %d channels x %d bits",
		               p->name, ch, bd);
		goto done;
	}
	rc = sink_init(out, (int)w, (int)h, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	uint8_t *row8 = NULL;
	if (passes > 1) {
		/* Interlaced: libpng needs the whole image to combine passes. */
		buf = (uint8_t *)malloc(rowbytes * h + (size_t)w * ch);
		rows = (uint8_t **)malloc(sizeof(uint8_t *) * h);
		if (!buf || !rows) {
			rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
			goto done;
		}
		for (png_uint_32 y = 0; y < h; y++)
			rows[y] = buf + rowbytes * y;
		png_read_image(png, rows);
		row8 = buf + rowbytes * h;
		for (png_uint_32 y = 0; y < h; y++) {
			const uint8_t *r = rows[y];
			if (bd == 16) {
				for (size_t i = 0; i < (size_t)w * ch; i++)
					row8[i] = scale16to8((unsigned)((const uint16_t *)(const void *)r)[i]);
				r = row8;
			}
			sink_row(out, (int)y, r, ch);
		}
	} else {
		buf = (uint8_t *)malloc(rowbytes + (size_t)w * ch + 16);
		if (!buf) {
			rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
			goto done;
		}
		row8 = buf + rowbytes;
		for (png_uint_32 y = 0; y < h; y++) {
			png_read_row(png, buf, NULL);
			const uint8_t *r = buf;
			if (bd == 16) {
				for (size_t i = 0; i < (size_t)w * ch; i++) {
					uint16_t v;
					memcpy(&v, buf + 2 * i, 2);
					row8[i] = scale16to8(v);
				}
				r = row8;
			}
			sink_row(out, (int)y, r, ch);
		}
	}
	sink_finish(out);
done:
	png_destroy_read_struct(&png, &pinfo, NULL);
	free(buf);
	free(rows);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
