/*
 * img_webp.c - WebP through libwebp, giving the pixels ImageMagick gives.
 *
 * ImageMagick 6 decodes a still WebP with WebPDecode and the library's
 * default options (fancy upsampling, no dithering) to RGBA and keeps the
 * colour samples as they are; the reference then drops alpha without
 * compositing. Decoding to MODE_RGB gives the same colour samples (libwebp
 * only premultiplies in the MODE_rgbA family) in 3/4 of the memory.
 *
 * Animated WebP: ImageMagick's first image is the first frame alone (no
 * blending, no disposal) placed at its offset on a canvas of the animation's
 * size, with every canvas pixel outside the frame black (and transparent).
 * We do the same with libwebpdemux.
 *
 * Orientation comes from the EXIF chunk if the file has one (ImageMagick
 * keeps it as a profile but does not rotate). No gamma or ICC transform is
 * applied, as ImageMagick applies none when reading. Fast mode changes
 * nothing here: libwebp has no cheap reduced-scale decode.
 *
 * All parsing is libwebp's: a truncated file fails (libwebp refuses a RIFF
 * size beyond the data and a VP8 partition that ends early), and the canvas
 * and frame sizes are checked against the pixel limit before decoding.
 */
#include "img_util.h"

#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

static const char *webp_status_text(VP8StatusCode s)
{
	switch (s) {
	case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
	case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
	case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
	case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
	case VP8_STATUS_SUSPENDED: return "truncated (decoder needs more data)";
	case VP8_STATUS_USER_ABORT: return "aborted";
	case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated (not enough data)";
	default: return "decoder error";
	}
}

static int webp_fail(const decode_params *p, VP8StatusCode s, veto_error *err)
{
	int code = s == VP8_STATUS_OUT_OF_MEMORY ? VETO_ERR_NOMEM :
	           s == VP8_STATUS_UNSUPPORTED_FEATURE ? VETO_ERR_UNSUPPORTED : VETO_ERR_CORRUPT;
	return veto_fail(err, code, "%s: corrupt WebP: %s", p->name, webp_status_text(s));
}

/* EXIF orientation from a VP8X file's EXIF chunk; 1 if none. */
static int webp_orientation(WebPDemuxer *dmx)
{
	int o = 1;
	if (!(WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG))
		return 1;
	WebPChunkIterator ci;
	if (WebPDemuxGetChunk(dmx, "EXIF", 1, &ci)) {
		const uint8_t *e = ci.chunk.bytes;
		size_t n = ci.chunk.size;
		/* Some writers keep the JPEG APP1 prefix. */
		if (n >= 6 && memcmp(e, "Exif\0\0", 6) == 0) {
			e += 6;
			n -= 6;
		}
		o = veto_exif_orientation(e, n);
	}
	WebPDemuxReleaseChunkIterator(&ci);
	return o;
}

/* Decode one WebP bitstream (a whole file or an animation frame's
 * fragment) to RGB; the caller frees config->output. */
static int decode_rgb(const uint8_t *data, size_t size, const decode_params *p,
                      WebPDecoderConfig *config, veto_error *err)
{
	VP8StatusCode s = WebPGetFeatures(data, size, &config->input);
	if (s != VP8_STATUS_OK)
		return webp_fail(p, s, err);
	int rc = check_pixels(p, (uint64_t)config->input.width, (uint64_t)config->input.height, err);
	if (rc != VETO_OK)
		return rc;
	config->output.colorspace = MODE_RGB;
	s = WebPDecode(data, size, config);
	if (s != VP8_STATUS_OK)
		return webp_fail(p, s, err);
	return VETO_OK;
}

int veto_decode_webp(const uint8_t *data, size_t size, const decode_params *p,
                     luma_sink *out, decode_info *info, veto_error *err)
{
	WebPDecoderConfig config;
	WebPDemuxer *dmx = NULL;
	WebPIterator it;
	int have_iter = 0, sink_ready = 0, rc = VETO_OK;
	uint8_t *row = NULL;

	info->format = "webp";
	info->orientation = 1;
	if (!WebPInitDecoderConfig(&config))
		return veto_fail(err, VETO_ERR_INVALID, "%s: libwebp version mismatch", p->name);
	VP8StatusCode s = WebPGetFeatures(data, size, &config.input);
	if (s != VP8_STATUS_OK)
		return webp_fail(p, s, err);
	const int animated = config.input.has_animation;
	/* Extended (VP8X) files may carry EXIF and animations: demux them. */
	if (size >= 16 && memcmp(data + 12, "VP8X", 4) == 0) {
		WebPData wd = {data, size};
		dmx = WebPDemux(&wd); /* NULL if its checks fail: then no EXIF */
		if (dmx)
			info->orientation = webp_orientation(dmx);
	}

	if (!animated) {
		info->width = (uint32_t)config.input.width;
		info->height = (uint32_t)config.input.height;
		rc = decode_rgb(data, size, p, &config, err);
		if (rc != VETO_OK)
			goto done;
		const WebPRGBABuffer *b = &config.output.u.RGBA;
		rc = sink_init(out, config.output.width, config.output.height, p->max_pixels, p->name, err);
		if (rc != VETO_OK)
			goto done;
		sink_ready = 1;
		for (int y = 0; y < out->height; y++)
			sink_row(out, y, b->rgba + (size_t)y * (size_t)b->stride, 3);
		sink_finish(out);
		goto done;
	}

	/* Animated: first frame on a black canvas, as ImageMagick does. */
	if (!dmx) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt WebP: unreadable animation", p->name);
		goto done;
	}
	const uint32_t cw = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH);
	const uint32_t ch = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT);
	info->width = cw;
	info->height = ch;
	rc = check_pixels(p, cw, ch, err);
	if (rc != VETO_OK)
		goto done;
	if (!WebPDemuxGetFrame(dmx, 1, &it)) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt WebP: animation has no frame", p->name);
		goto done;
	}
	have_iter = 1;
	rc = decode_rgb(it.fragment.bytes, it.fragment.size, p, &config, err);
	if (rc != VETO_OK)
		goto done;
	rc = sink_init(out, (int)cw, (int)ch, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	row = (uint8_t *)calloc((size_t)cw, 3);
	if (!row) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	{
		const WebPRGBABuffer *b = &config.output.u.RGBA;
		/* The demuxer guarantees frames lie inside the canvas; clip anyway. */
		const int64_t fx = it.x_offset, fy = it.y_offset;
		const int64_t fw = config.output.width, fh = config.output.height;
		for (int64_t y = 0; y < (int64_t)ch; y++) {
			memset(row, 0, (size_t)cw * 3);
			if (y >= fy && y < fy + fh && fx < (int64_t)cw) {
				int64_t n = fw < (int64_t)cw - fx ? fw : (int64_t)cw - fx;
				if (n > 0)
					memcpy(row + fx * 3, b->rgba + (size_t)(y - fy) * (size_t)b->stride,
					       (size_t)n * 3);
			}
			sink_row(out, (int)y, row, 3);
		}
	}
	sink_finish(out);
done:
	WebPFreeDecBuffer(&config.output);
	if (have_iter)
		WebPDemuxReleaseIterator(&it);
	WebPDemuxDelete(dmx);
	free(row);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
