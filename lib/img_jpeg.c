/*
 * img_jpeg.c - JPEG through libjpeg-turbo, with the reference's settings.
 *
 * The reference hashes what ImageMagick 6.9.11 (Debian 12) decodes. Its
 * pixels are, byte for byte, libjpeg-turbo's defaults: the accurate integer
 * inverse DCT (JDCT_ISLOW; newer ImageMagick asks for JDCT_FLOAT, 6.9.11 as
 * built by Debian does not: checked with `djpeg -dct int` against `convert`
 * on every shared JPEG) and fancy upsampling. veto makes the same request
 * to the same library and so gets the same pixels. CMYK/YCCK JPEGs are taken as Adobe-inverted CMYK
 * and converted to RGB with ImageMagick's formula (see cmyk_to_rgb).
 *
 * Errors: libjpeg reports fatal errors through error_exit, which we turn
 * into a longjmp back here. Warnings are ignored as ImageMagick ignores them
 * (real camera files often carry stray bytes) except a premature end of
 * data or a marker in the middle of the scan data: a truncated file is
 * refused rather than hashed half grey. Scan
 * counts are bounded to stop progressive-JPEG CPU bombs.
 *
 * Fast mode asks libjpeg to decode at 1/2, 1/4 or 1/8 scale (the IDCT
 * then does a fraction of the work) while the short side stays >= 512 px:
 * measured on the shared images, mean 0.3 and max 6 bits from exact.
 */
#include "internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define MAX_SCANS 1000
#define FAST_MIN_SIDE 512

typedef struct jerr_mgr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int truncated;
} jerr_mgr;

typedef struct jprogress {
	struct jpeg_progress_mgr pub;
	int too_many_scans;
} jprogress;

static void on_error_exit(j_common_ptr cinfo)
{
	jerr_mgr *e = (jerr_mgr *)cinfo->err;
	longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
	jerr_mgr *e = (jerr_mgr *)cinfo->err;
	/* Data that ends early (JWRN_JPEG_EOF) or hits a marker before the
	 * image is complete (JWRN_HIT_MARKER, e.g. EOI in a file cut short or
	 * whose header claims more rows than it has): libjpeg would go on and
	 * fill the rest grey. */
	if (level < 0 && (e->pub.msg_code == JWRN_JPEG_EOF || e->pub.msg_code == JWRN_HIT_MARKER))
		e->truncated = 1;
	/* never print: the library owns no output */
}

static void on_progress(j_common_ptr cinfo)
{
	jprogress *p = (jprogress *)cinfo->progress;
	if (cinfo->is_decompressor) {
		j_decompress_ptr d = (j_decompress_ptr)cinfo;
		if (d->input_scan_number > MAX_SCANS) {
			p->too_many_scans = 1;
			cinfo->err->msg_code = JERR_NOT_COMPILED; /* any fatal code */
			on_error_exit(cinfo);
		}
	}
}

/* ImageMagick: C' = QuantumRange - 257 c (Adobe-inverted samples), then
 * red = QR - (C'/QR * (QR - K') + K'), rounded to a 16-bit quantum and
 * scaled to 8 bits. Kept in double as ImageMagick does. */
static uint8_t cmyk_channel(unsigned c8, unsigned k8)
{
	const double qr = 65535.0;
	double c = qr - 257.0 * c8, k = qr - 257.0 * k8;
	double v = qr - ((1.0 / qr) * c * (qr - k) + k);
	if (v < 0) v = 0;
	if (v > qr) v = qr;
	return scale16to8((unsigned)(v + 0.5));
}

int veto_decode_jpeg(const uint8_t *data, size_t size, const decode_params *p,
                     luma_sink *out, decode_info *info, veto_error *err)
{
	struct jpeg_decompress_struct cinfo;
	jerr_mgr jerr;
	jprogress prog;
	uint8_t *volatile row = NULL;
	uint8_t *volatile rgb = NULL;
	volatile int sink_ready = 0;
	volatile int rc = VETO_OK;

	memset(&cinfo, 0, sizeof cinfo);
	memset(&prog, 0, sizeof prog);
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = on_error_exit;
	jerr.pub.emit_message = on_message;
	jerr.truncated = 0;
	info->format = "jpeg";
	if (setjmp(jerr.jump)) {
		char msg[JMSG_LENGTH_MAX];
		jerr.pub.format_message((j_common_ptr)&cinfo, msg);
		if (prog.too_many_scans)
			rc = veto_fail(err, VETO_ERR_CORRUPT,
			               "%s: JPEG has more than %d scans (refused as hostile)",
			               p->name, MAX_SCANS);
		else
			rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt JPEG: %s", p->name, msg);
		goto done;
	}
	jpeg_create_decompress(&cinfo);
	prog.pub.progress_monitor = on_progress;
	cinfo.progress = &prog.pub;
	jpeg_mem_src(&cinfo, data, (unsigned long)size);
	jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&cinfo, TRUE);

	info->width = cinfo.image_width;
	info->height = cinfo.image_height;
	info->orientation = 1;
	for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 &&
		    memcmp(m->data, "Exif\0\0", 6) == 0) {
			info->orientation = veto_exif_orientation(m->data + 6, m->data_length - 6);
			break;
		}

	uint64_t max_px = p->max_pixels ? p->max_pixels : VETO_DEFAULT_MAX_PIXELS;
	if ((uint64_t)cinfo.image_width * cinfo.image_height > max_px) {
		rc = veto_fail(err, VETO_ERR_TOO_LARGE,
		               "%s: %ux%u is %llu pixels, over the limit of %llu (see --max-pixels)",
		               p->name, cinfo.image_width, cinfo.image_height,
		               (unsigned long long)cinfo.image_width * cinfo.image_height,
		               (unsigned long long)max_px);
		goto done;
	}

	cinfo.dct_method = JDCT_ISLOW;
	const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
	if (cmyk)
		cinfo.out_color_space = JCS_CMYK;
	else if (cinfo.num_components == 1)
		cinfo.out_color_space = JCS_GRAYSCALE;
	else
		cinfo.out_color_space = JCS_RGB;

	if (p->fast) {
		unsigned short_side = cinfo.image_width < cinfo.image_height ?
		                      cinfo.image_width : cinfo.image_height;
		unsigned denom = 1;
		while (denom < 8 && short_side / (denom * 2) >= FAST_MIN_SIDE)
			denom *= 2;
		cinfo.scale_num = 1;
		cinfo.scale_denom = denom;
	}

	jpeg_start_decompress(&cinfo);
	const int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
	const int nc = cinfo.output_components;
	if (nc != 1 && nc != 3 && nc != 4) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: JPEG with %d components", p->name, nc);
		goto done;
	}
	rc = sink_init(out, w, h, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	row = (uint8_t *)malloc((size_t)w * (size_t)nc + 16);
	rgb = cmyk ? (uint8_t *)malloc((size_t)w * 3 + 16) : NULL;
	if (!row || (cmyk && !rgb)) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		int y = (int)cinfo.output_scanline;
		JSAMPROW rows[1] = {row};
		if (jpeg_read_scanlines(&cinfo, rows, 1) != 1)
			break;
		if (jerr.truncated)
			break;
		if (cmyk) {
			for (int x = 0; x < w; x++) {
				const uint8_t *q = row + 4 * x;
				rgb[3 * x] = cmyk_channel(q[0], q[3]);
				rgb[3 * x + 1] = cmyk_channel(q[1], q[3]);
				rgb[3 * x + 2] = cmyk_channel(q[2], q[3]);
			}
			sink_row(out, y, rgb, 3);
		} else {
			sink_row(out, y, row, nc);
		}
	}
	if (jerr.truncated || cinfo.output_scanline < cinfo.output_height) {
		rc = veto_fail(err, VETO_ERR_CORRUPT,
		               "%s: truncated JPEG (data ends at row %u of %u)",
		               p->name, cinfo.output_scanline, cinfo.output_height);
		goto done;
	}
	sink_finish(out);
	jpeg_abort_decompress(&cinfo); /* skip trailing data; nothing left to read */
done:
	jpeg_destroy_decompress(&cinfo);
	free(row);
	free(rgb);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
