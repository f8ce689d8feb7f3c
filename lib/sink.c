/*
 * sink.c - decoded rows to the luma PDQ reads.
 *
 * Alpha is dropped without compositing, as ImageMagick's PNM writer (and so
 * the reference) does.
 *
 * The grey rule. ImageMagick writes a greyscale PNM when *every* pixel of
 * the image is grey (R = G = B), and the reference then uses the grey value
 * itself as luma; otherwise it uses 0.299 R + 0.587 G + 0.114 B in float,
 * which differs from v in the last bit for a grey pixel (v, v, v). Whether
 * an image is all grey is only known at its last pixel, so the sink
 * speculates: it treats rows as grey while they are, keeping their raw
 * values; at the first colour pixel it restarts the PDQ stream and replays
 * those rows as RGB luma (a grey pixel's RGB luma depends on v alone, so
 * the replay is exact). Colour photos turn colour in their first row, so
 * the replay costs nothing in practice; grey images never replay.
 */
#include "internal.h"

#include <string.h>

static const float LUMA_R = 0.299f, LUMA_G = 0.587f, LUMA_B = 0.114f;

static inline float luma_rgb(unsigned r, unsigned g, unsigned b)
{
	/* Same expression and order as the reference: float products, summed
	 * left to right (built with -ffp-contract=off). */
	return LUMA_R * (float)r + LUMA_G * (float)g + LUMA_B * (float)b;
}

/* The hottest loop after the JPEG decoder. The portable version is plain
 * C; on x86-64 an AVX2 version converts 8 pixels per step with exactly the
 * same per-pixel expression ((R r + G g) + B b, no fused multiply-add). */
static void luma_row_c(float *restrict o, const uint8_t *restrict px, int w, int channels)
{
	for (int x = 0; x < w; x++) {
		const uint8_t *p = px + x * channels;
		o[x] = luma_rgb(p[0], p[1], p[2]);
	}
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2")))
static void luma_row_avx2(float *restrict o, const uint8_t *restrict px, int w, int channels)
{
	int x = 0;
	if (channels == 3) {
		const __m128i shr_lo = _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
		const __m128i shr_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, -1, -1, -1, -1, -1, -1, -1, -1);
		const __m128i shg_lo = _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
		const __m128i shg_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 3, 6, -1, -1, -1, -1, -1, -1, -1, -1);
		const __m128i shb_lo = _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
		const __m128i shb_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, 1, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1);
		const __m256 cr = _mm256_set1_ps(LUMA_R), cg = _mm256_set1_ps(LUMA_G), cb = _mm256_set1_ps(LUMA_B);
		for (; x + 8 <= w; x += 8) {
			const uint8_t *p = px + 3 * x;
			__m128i lo = _mm_loadu_si128((const __m128i *)p);
			__m128i hi = _mm_loadl_epi64((const __m128i *)(p + 16));
			__m128i r = _mm_or_si128(_mm_shuffle_epi8(lo, shr_lo), _mm_shuffle_epi8(hi, shr_hi));
			__m128i g = _mm_or_si128(_mm_shuffle_epi8(lo, shg_lo), _mm_shuffle_epi8(hi, shg_hi));
			__m128i b = _mm_or_si128(_mm_shuffle_epi8(lo, shb_lo), _mm_shuffle_epi8(hi, shb_hi));
			__m256 rf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(r));
			__m256 gf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(g));
			__m256 bf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
			__m256 y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(cr, rf), _mm256_mul_ps(cg, gf)),
			                         _mm256_mul_ps(cb, bf));
			_mm256_storeu_ps(o + x, y);
		}
	}
	luma_row_c(o + x, px + (size_t)x * channels, w - x, channels);
}
#endif

static void luma_row(float *restrict o, const uint8_t *restrict px, int w, int channels)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2")) {
		luma_row_avx2(o, px, w, channels);
		return;
	}
#endif
	luma_row_c(o, px, w, channels);
}

void sink_luma_rgb(float *restrict o, const uint8_t *restrict px, int w)
{
	luma_row(o, px, w, 3);
}

int sink_init(luma_sink *s, int width, int height, uint64_t max_pixels,
              const char *what, veto_error *err)
{
	const int keep = s->keep_plane, threads = s->threads, keep_rgba = s->keep_rgba;
	memset(s, 0, sizeof *s);
	s->keep_plane = keep;
	s->threads = threads;
	s->keep_rgba = keep_rgba;
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
	if (keep_rgba) {
		s->width = width;
		s->height = height;
		s->rgba = (uint8_t *)malloc((size_t)n * 4);
		if (!s->rgba)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory for %dx%d RGBA pixels",
			                 what, width, height);
		if (keep_rgba == SINK_RGBA_ONLY)
			return VETO_OK; /* no luma work at all */
	}
	if (width < 5 || height < 5)
		s->keep_plane = 1;
	s->width = width;
	s->height = height;
	s->all_grey = 1;
	for (unsigned v = 0; v < 256; v++)
		s->grey_to_luma[v] = luma_rgb(v, v, v);
	int ok;
	if (s->keep_plane) {
		s->luma = (float *)malloc((size_t)n * sizeof(float));
		ok = s->luma != NULL;
	} else {
		s->row = (float *)malloc((size_t)width * sizeof(float));
		s->grey = (uint8_t *)malloc((size_t)n);
		ok = s->row && s->grey;
		/* A thread pays off only when the filter work dwarfs starting one. */
		if (ok && threads > 1 && n >= (1u << 20))
			ok = pdq_pipe_new(&s->pipe, width, height) == VETO_OK;
		else if (ok)
			ok = pdq_stream_new(&s->stream, width, height) == VETO_OK;
	}
	if (!ok) {
		sink_free(s);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory for %dx%d pixels",
		                 what, width, height);
	}
	return VETO_OK;
}

void sink_free(luma_sink *s)
{
	free(s->rgba);
	s->rgba = NULL;
	free(s->luma);
	free(s->row);
	free(s->grey);
	pdq_stream_free(s->stream);
	pdq_pipe_free(s->pipe);
	s->luma = s->row = NULL;
	s->grey = NULL;
	s->stream = NULL;
	s->pipe = NULL;
}

/* The row target: the stream on this thread, or the pipe to a worker. */
static float *t_row(luma_sink *s)
{
	return s->pipe ? pdq_pipe_row(s->pipe) : pdq_stream_row(s->stream);
}

static void t_commit(luma_sink *s)
{
	if (s->pipe) pdq_pipe_commit(s->pipe);
	else pdq_stream_commit(s->stream);
}

int sink_result(luma_sink *s, float a[64 * 64], float a_dih[64 * 64])
{
	return s->pipe ? pdq_pipe_finish(s->pipe, a, a_dih) : pdq_stream_finish(s->stream, a, a_dih);
}

/* The first colour pixel is in row y: earlier rows become RGB luma. */
static void leave_grey(luma_sink *s, int y)
{
	const int w = s->width;
	s->all_grey = 0;
	if (s->keep_plane) {
		float *o = s->luma;
		for (size_t i = 0; i < (size_t)y * w; i++)
			o[i] = s->grey_to_luma[(unsigned)o[i]];
		return;
	}
	if (s->pipe)
		pdq_pipe_reset(s->pipe);
	else
		pdq_stream_reset(s->stream);
	for (int r = 0; r < y; r++) {
		const uint8_t *g = s->grey + (size_t)r * w;
		float *o = t_row(s);
		for (int x = 0; x < w; x++)
			o[x] = s->grey_to_luma[g[x]];
		t_commit(s);
	}
	free(s->grey);
	s->grey = NULL;
}

static int row_is_grey(const uint8_t *px, int w, int channels)
{
	for (int x = 0; x < w; x++) {
		const uint8_t *p = px + x * channels;
		if (p[0] != p[1] || p[1] != p[2])
			return 0;
	}
	return 1;
}

/* Row y as RGBA (keep_rgba): grey to R = G = B, no alpha to 255. */
static void rgba_row(luma_sink *s, int y, const uint8_t *restrict px, int channels)
{
	const int w = s->width;
	uint8_t *restrict o = s->rgba + (size_t)y * (size_t)w * 4;
	switch (channels) {
	case 1:
		for (int x = 0; x < w; x++, o += 4)
			o[0] = o[1] = o[2] = px[x], o[3] = 255;
		break;
	case 2:
		for (int x = 0; x < w; x++, o += 4)
			o[0] = o[1] = o[2] = px[2 * x], o[3] = px[2 * x + 1];
		break;
	case 3:
		for (int x = 0; x < w; x++, o += 4, px += 3)
			o[0] = px[0], o[1] = px[1], o[2] = px[2], o[3] = 255;
		break;
	default:
		memcpy(o, px, (size_t)w * 4);
		break;
	}
}

void sink_row(luma_sink *s, int y, const uint8_t *px, int channels)
{
	if (s->keep_rgba) {
		rgba_row(s, y, px, channels);
		if (s->keep_rgba == SINK_RGBA_ONLY) {
			s->rows_done = y + 1;
			return;
		}
	}
	const int w = s->width;
	float *o = s->keep_plane ? s->luma + (size_t)y * w : t_row(s);
	if (channels <= 2) {
		/* A grey source: ImageMagick writes a grey PNM; stays grey. */
		for (int x = 0; x < w; x++)
			o[x] = (float)px[x * channels];
	} else if (s->all_grey && row_is_grey(px, w, channels)) {
		for (int x = 0; x < w; x++)
			o[x] = (float)px[x * channels];
		if (s->grey)
			for (int x = 0; x < w; x++)
				s->grey[(size_t)y * w + x] = px[x * channels];
	} else {
		if (s->all_grey) {
			leave_grey(s, y); /* restarts the stream: fetch the slot again */
			if (!s->keep_plane)
				o = t_row(s);
		}
		luma_row(o, px, w, channels);
	}
	if (!s->keep_plane)
		t_commit(s);
	s->rows_done = y + 1;
}

void sink_finish(luma_sink *s)
{
	free(s->grey); /* an all-grey image needs no replay */
	s->grey = NULL;
}
