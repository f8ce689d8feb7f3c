/*
 * sink.c - decoded rows to the float luma plane PDQ reads.
 *
 * See internal.h for why grey images are special. Alpha is dropped without
 * compositing, as ImageMagick's PNM writer (and so the reference) does.
 */
#include "internal.h"

#include <string.h>

static const float LUMA_R = 0.299f, LUMA_G = 0.587f, LUMA_B = 0.114f;

static inline float luma_rgb(unsigned r, unsigned g, unsigned b)
{
	/* Same expression and order as the reference: float products, summed
	 * left to right (this file is built with -ffp-contract=off). */
	return LUMA_R * (float)r + LUMA_G * (float)g + LUMA_B * (float)b;
}

int sink_init(luma_sink *s, int width, int height, uint64_t max_pixels,
              const char *what, veto_error *err)
{
	memset(s, 0, sizeof *s);
	if (width <= 0 || height <= 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: image has no pixels (%dx%d)",
		                 what, width, height);
	if (max_pixels == 0)
		max_pixels = VETO_DEFAULT_MAX_PIXELS;
	uint64_t n = (uint64_t)width * (uint64_t)height;
	if (n > max_pixels)
		return veto_fail(err, VETO_ERR_TOO_LARGE,
		                 "%s: %dx%d is %llu pixels, over the limit of %llu "
		                 "(see --max-pixels)", what, width, height,
		                 (unsigned long long)n, (unsigned long long)max_pixels);
	if (n > SIZE_MAX / sizeof(float) / 2)
		return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: image too large", what);
	s->luma = (float *)malloc((size_t)n * sizeof(float));
	if (!s->luma)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory for %dx%d pixels",
		                 what, width, height);
	s->width = width;
	s->height = height;
	s->all_grey = 1;
	for (unsigned v = 0; v < 256; v++)
		s->grey_to_luma[v] = luma_rgb(v, v, v);
	return VETO_OK;
}

void sink_free(luma_sink *s)
{
	free(s->luma);
	s->luma = NULL;
}

/* Leave the grey regime: rows written so far become RGB luma. */
static void leave_grey(luma_sink *s, int upto_row, int upto_col)
{
	for (int y = 0; y < upto_row; y++) {
		float *o = s->luma + (size_t)y * s->width;
		for (int x = 0; x < s->width; x++)
			o[x] = s->grey_to_luma[(unsigned)o[x]];
	}
	float *o = s->luma + (size_t)upto_row * s->width;
	for (int x = 0; x < upto_col; x++)
		o[x] = s->grey_to_luma[(unsigned)o[x]];
	s->all_grey = 0;
}

void sink_row(luma_sink *s, int y, const uint8_t *px, int channels)
{
	float *o = s->luma + (size_t)y * s->width;
	const int w = s->width;
	if (channels <= 2) {
		/* A grey source image: ImageMagick writes a grey PNM. Within one
		 * image all rows have the same channel count, so grey stays grey. */
		for (int x = 0; x < w; x++)
			o[x] = (float)px[x * channels];
		return;
	}
	int x = 0;
	if (s->all_grey) {
		for (; x < w; x++) {
			const uint8_t *p = px + x * channels;
			if (p[0] != p[1] || p[1] != p[2])
				break;
			o[x] = (float)p[0];
		}
		if (x == w)
			return;
		leave_grey(s, y, x);
	}
	if (channels == 3) {
		for (; x < w; x++)
			o[x] = luma_rgb(px[3 * x], px[3 * x + 1], px[3 * x + 2]);
	} else {
		for (; x < w; x++)
			o[x] = luma_rgb(px[4 * x], px[4 * x + 1], px[4 * x + 2]);
	}
}

void sink_finish(luma_sink *s)
{
	(void)s; /* grey rows are already final: an all-grey image is grey */
}
