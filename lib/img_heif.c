/*
 * img_heif.c - HEIC and AVIF (the primary image) through libheif, giving
 * the pixels ImageMagick 6.9.11 gives.
 *
 * ImageMagick does not ask libheif for RGB. It asks for YCbCr 4:2:0 (HDR
 * reduced to 8 bits), takes the chroma of pixel (x, y) from sample
 * (x/2, y/2) - nearest neighbour, no interpolation - keeps the image in its
 * YCbCr colourspace, and converts to RGB only when it writes the PNM, with
 * its own full-range BT.601 matrix in double precision (im_ycbcr_to_rgb),
 * ignoring the file's colour description (nclx matrix and range) and any
 * ICC profile. veto does exactly that, so it matches ImageMagick and not
 * libheif's own RGB conversion. As an image held in YCbCr, it is always
 * written (and hashed) as colour, even if it is grey. Samples are reduced
 * to the luma bit depth the file declares (10-bit files: 10 bits) as the
 * PNM would carry them, then brought to 8 bits.
 *
 * Geometry: ImageMagick lets libheif apply the file's transformations
 * (clean aperture crop, irot rotation, imir mirror) and sets the EXIF
 * orientation to 1, so the pixels are already upright: veto does the same
 * and reports orientation 1. (Passing ignore_transformations would give
 * the stored, unrotated pixels, which the reference never sees.)
 *
 * Limits: the primary image's size is checked against the pixel limit
 * before anything is decoded (libheif's own limit of 32768 a side stays,
 * lowered if the pixel limit is smaller). Alpha and depth images are
 * ignored. Fast mode changes nothing. libheif itself prints nothing, but
 * on malformed streams its codecs may: libde265 and dav1d write a line to
 * stderr, and libheif 1.15 has no way to silence them.
 */
#include "img_util.h"

#include <string.h>

#include <libheif/heif.h>

static int heif_fail(const decode_params *p, struct heif_error e, veto_error *err)
{
	int code = e.code == heif_error_Memory_allocation_error ? VETO_ERR_NOMEM :
	           e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype ?
	           VETO_ERR_UNSUPPORTED : VETO_ERR_CORRUPT;
	return veto_fail(err, code, "%s: %s HEIF: %s", p->name,
	                 code == VETO_ERR_UNSUPPORTED ? "unsupported" : "corrupt",
	                 e.message ? e.message : "decoder error");
}

/* libheif 1.15 (Debian 12) aborts the process, by a failed assert in
 * decode_image_planar, on an 'iden' (identity-derived) item whose source is
 * missing: found by fuzz_heif. An aborting library cannot be called with
 * hostile input, so files declaring an 'iden' item are refused up front.
 * Cameras do not write 'iden' items; the cost is derived images only. The
 * scan reads only whole 'infe' entries inside the buffer. */
static int has_iden_item(const uint8_t *d, size_t n)
{
	for (size_t i = 4; i + 4 <= n; i++) {
		if (memcmp(d + i, "infe", 4) != 0)
			continue;
		const size_t v = i + 4;            /* version byte */
		if (v >= n)
			break;
		const size_t t = d[v] == 2 ? v + 8 : d[v] == 3 ? v + 10 : 0;
		if (t && t + 4 <= n && memcmp(d + t, "iden", 4) == 0)
			return 1;
	}
	return 0;
}

int veto_decode_heif(const uint8_t *data, size_t size, const decode_params *p,
                     luma_sink *out, decode_info *info, veto_error *err)
{
	struct heif_context *ctx = NULL;
	struct heif_image_handle *handle = NULL;
	struct heif_image *img = NULL;
	struct heif_decoding_options *opts = NULL;
	uint8_t *row = NULL;
	int rc = VETO_OK, sink_ready = 0;

	info->format = "heif";
	info->orientation = 1;
	if (has_iden_item(data, size))
		return veto_fail(err, VETO_ERR_UNSUPPORTED,
		                 "%s: HEIF with an identity-derived ('iden') item is not supported "
		                 "(the system libheif 1.15 can abort on damaged ones)", p->name);
	ctx = heif_context_alloc();
	if (!ctx)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
	uint64_t max_px = p->max_pixels ? p->max_pixels : VETO_DEFAULT_MAX_PIXELS;
	/* libheif limits each side (32768 by default); no side can exceed the
	 * pixel budget either. */
	if (max_px < 32768)
		heif_context_set_maximum_image_size_limit(ctx, (int)max_px);
	struct heif_error e = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
	if (e.code != heif_error_Ok) {
		rc = heif_fail(p, e, err);
		goto done;
	}
	e = heif_context_get_primary_image_handle(ctx, &handle);
	if (e.code != heif_error_Ok) {
		rc = heif_fail(p, e, err);
		goto done;
	}
	const int hw = heif_image_handle_get_width(handle), hh = heif_image_handle_get_height(handle);
	info->width = hw > 0 ? (uint32_t)hw : 0;
	info->height = hh > 0 ? (uint32_t)hh : 0;
	rc = check_pixels(p, (uint64_t)(hw > 0 ? hw : 0), (uint64_t)(hh > 0 ? hh : 0), err);
	if (rc != VETO_OK)
		goto done;
	int depth = heif_image_handle_get_luma_bits_per_pixel(handle);
	if (depth <= 0 || depth > 16)
		depth = 8;

	opts = heif_decoding_options_alloc();
	if (!opts) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	opts->convert_hdr_to_8bit = 1;
	opts->ignore_transformations = 0; /* as ImageMagick: pixels come out upright */
	e = heif_decode_image(handle, &img, heif_colorspace_YCbCr, heif_chroma_420, opts);
	if (e.code != heif_error_Ok) {
		rc = heif_fail(p, e, err);
		goto done;
	}
	const int w = heif_image_get_width(img, heif_channel_Y);
	const int h = heif_image_get_height(img, heif_channel_Y);
	const int cw = heif_image_get_width(img, heif_channel_Cb);
	const int ch = heif_image_get_height(img, heif_channel_Cb);
	int sy = 0, scb = 0, scr = 0;
	const uint8_t *py = heif_image_get_plane_readonly(img, heif_channel_Y, &sy);
	const uint8_t *pcb = heif_image_get_plane_readonly(img, heif_channel_Cb, &scb);
	const uint8_t *pcr = heif_image_get_plane_readonly(img, heif_channel_Cr, &scr);
	if (!py || !pcb || !pcr || w <= 0 || h <= 0 || cw < (w + 1) / 2 || ch < (h + 1) / 2 ||
	    heif_image_get_width(img, heif_channel_Cr) < cw || heif_image_get_height(img, heif_channel_Cr) < ch ||
	    heif_image_get_bits_per_pixel_range(img, heif_channel_Y) != 8 ||
	    heif_image_get_bits_per_pixel_range(img, heif_channel_Cb) != 8 ||
	    heif_image_get_bits_per_pixel_range(img, heif_channel_Cr) != 8) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: unsupported HEIF: unexpected decoded layout",
		               p->name);
		goto done;
	}
	rc = check_pixels(p, (uint64_t)w, (uint64_t)h, err);
	if (rc != VETO_OK)
		goto done;
	row = (uint8_t *)malloc((size_t)w * 3);
	if (!row) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	rc = sink_init(out, w, h, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	sink_force_colour(out); /* a YCbCr image: ImageMagick writes colour */
	for (int y = 0; y < h; y++) {
		const uint8_t *ry = py + (size_t)y * (size_t)sy;
		const uint8_t *rcb = pcb + (size_t)(y / 2) * (size_t)scb;
		const uint8_t *rcr = pcr + (size_t)(y / 2) * (size_t)scr;
		for (int x = 0; x < w; x++) {
			uint16_t rgb[3];
			im_ycbcr_to_rgb((uint16_t)(ry[x] * 257u), (uint16_t)(rcb[x / 2] * 257u),
			                (uint16_t)(rcr[x / 2] * 257u), rgb);
			row[3 * x] = im_to_depth8(rgb[0], (unsigned)depth);
			row[3 * x + 1] = im_to_depth8(rgb[1], (unsigned)depth);
			row[3 * x + 2] = im_to_depth8(rgb[2], (unsigned)depth);
		}
		sink_row(out, y, row, 3);
	}
	sink_finish(out);
done:
	free(row);
	heif_decoding_options_free(opts);
	heif_image_release(img);
	heif_image_handle_release(handle);
	heif_context_free(ctx);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
