/*
 * pdq_stream.c - PDQ's Jarosz filter and 64x64 decimation as a row stream.
 *
 * The reference filters a full float plane four times (rows, columns, rows,
 * columns) and then samples 64x64 points. Every one of those passes is a
 * running-sum box filter, so each output depends only on a window of inputs
 * that arrive in order. This file runs the four passes as a pipeline fed one
 * decoded row at a time:
 *
 *   A  row pass 1      8 rows at a time, one row per vector lane
 *   B  column pass 1   one running sum per column, a ring of window+1 rows
 *   C  row pass 2      8 rows at a time; only the 64 sampled columns kept
 *   D  column pass 2   64 running sums; only the 64 sampled rows kept
 *
 * Memory is O(width x window) instead of two full float planes, and the
 * data stays in cache. Bit exactness: every running sum sees exactly the
 * reference's sequence of float adds, subtracts and divisions; batching
 * independent rows or columns into vector lanes changes no result. The
 * build uses -ffp-contract=off, and there are no multiplies here to fuse.
 *
 * This file may touch: its own allocations. No I/O.
 */
#include "internal.h"

#include <string.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

/* This file is compiled twice: as itself (portable, SSE2 on x86-64) and
 * from pdq_stream_avx2.c with -mavx2. Both define the same functions under
 * different suffixes; the portable build also holds the dispatch that
 * picks one per stream at run time. The results are identical: only how
 * many lanes run per instruction differs. */
#ifdef VETO_STREAM_AVX2
#define SFX(name) name##_avx2
#define STREAM_API           /* exported to the dispatcher */
#else
#define SFX(name) name##_generic
#define STREAM_API static
#endif

typedef float v8f __attribute__((vector_size(32)));
#define LANES 8

#if defined(__AVX__)
static inline void transpose8(__m256 *r0, __m256 *r1, __m256 *r2, __m256 *r3,
                              __m256 *r4, __m256 *r5, __m256 *r6, __m256 *r7)
{
	__m256 t0 = _mm256_unpacklo_ps(*r0, *r1), t1 = _mm256_unpackhi_ps(*r0, *r1);
	__m256 t2 = _mm256_unpacklo_ps(*r2, *r3), t3 = _mm256_unpackhi_ps(*r2, *r3);
	__m256 t4 = _mm256_unpacklo_ps(*r4, *r5), t5 = _mm256_unpackhi_ps(*r4, *r5);
	__m256 t6 = _mm256_unpacklo_ps(*r6, *r7), t7 = _mm256_unpackhi_ps(*r6, *r7);
	__m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
	__m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
	__m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
	__m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
	*r0 = _mm256_permute2f128_ps(u0, u4, 0x20); *r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
	*r2 = _mm256_permute2f128_ps(u2, u6, 0x20); *r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
	*r4 = _mm256_permute2f128_ps(u0, u4, 0x31); *r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
	*r6 = _mm256_permute2f128_ps(u2, u6, 0x31); *r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif

typedef struct box_plan {
	int window, p1, p2, p3, p4;
} box_plan;

static box_plan plan_box(int len, int window)
{
	box_plan p;
	int half = (window + 2) / 2;
	p.window = window;
	p.p1 = half - 1;
	p.p2 = window - half + 1;
	p.p3 = len - window;
	p.p4 = half - 1;
	return p;
}

/* A streaming column pass over `width` columns. Inputs are written by the
 * caller straight into ring slots (colpass_slot), up to LANES ahead, so the
 * ring holds window + 1 rows still needed plus LANES being filled. */
typedef struct colpass {
	box_plan p;
	int width;
	int ring_rows;     /* window + 1 + LANES */
	float *sums;       /* width */
	float *ring;       /* ring_rows x width: recent inputs, for subtraction */
	float *out;        /* width: scratch output row for draining */
	int in, li, n;     /* inputs seen, next input to subtract, window count */
} colpass;

struct pdq_stream {
	int w, h;
	int is64;              /* exactly 64x64: the reference's plain hash skips
	                        * filtering (raw[] keeps the rows), but its
	                        * dihedral hashes filter all the same */
	int avx2;              /* which build of this file runs the stream */
	box_plan pr;           /* the row passes' plan */
	int ri[64], ci[64];    /* decimation rows and columns */
	int rows_in;
	/* A: rows_a holds up to 8 input rows, row-major */
	float *rows_a; v8f *blk_a, *blk_a_out; int n_a;
	/* B */
	colpass b;
	/* C: rows_c holds up to 8 rows from B */
	float *rows_c; v8f *blk_c; int n_c;
	/* D */
	colpass d;
	int d_out;             /* rows emitted by D */
	int next_k;            /* next decimation row index k to fill */
	float *rowtmp;         /* w */
	float a[64 * 64];
	float raw[64 * 64];
};

static int decim_index(int k, int n)
{
	return (int)(((k + 0.5) * n) / 64);
}

static int colpass_init(colpass *c, int len, int width)
{
	c->p = plan_box(len, (len + 127) / 128);
	c->width = width;
	c->ring_rows = c->p.window + 1 + LANES;
	c->sums = (float *)calloc((size_t)width, sizeof(float));
	c->ring = (float *)malloc((size_t)c->ring_rows * width * sizeof(float));
	c->out = (float *)malloc((size_t)width * sizeof(float));
	c->in = c->li = c->n = 0;
	return c->sums && c->ring && c->out ? VETO_OK : VETO_ERR_NOMEM;
}

static void colpass_free(colpass *c)
{
	free(c->sums);
	free(c->ring);
	free(c->out);
}

static void colpass_reset(colpass *c)
{
	memset(c->sums, 0, (size_t)c->width * sizeof(float));
	c->in = c->li = c->n = 0;
}

static float *colpass_slot(colpass *c, int ahead)
{
	return c->ring + (size_t)((c->in + ahead) % c->ring_rows) * c->width;
}

/* Consume the next input row, already stored in colpass_slot(c, 0).
 * Returns 1 if an output row was written to `out`. */
static int colpass_step(colpass *c, float *restrict out)
{
	const int W = c->width;
	const int idx = c->in;
	const float *restrict x = colpass_slot(c, 0);
	float *restrict s = c->sums;
	c->in++;
	if (idx < c->p.p1) {
		c->n++;
		for (int j = 0; j < W; j++) s[j] += x[j];
		return 0;
	}
	if (idx < c->p.p1 + c->p.p2) {
		c->n++;
		const float fn = (float)c->n;
		for (int j = 0; j < W; j++) { s[j] += x[j]; out[j] = s[j] / fn; }
		return 1;
	}
	const float *restrict l = c->ring + (size_t)(c->li++ % c->ring_rows) * W;
	const float fn = (float)c->n;
	for (int j = 0; j < W; j++) { s[j] += x[j]; s[j] -= l[j]; out[j] = s[j] / fn; }
	return 1;
}

/* 8 rows (row-major, stride w) <-> w vectors of 8 lanes. */
static void rows_to_lanes(const float *restrict rows, int w, v8f *restrict blk)
{
	int c = 0;
#if defined(__AVX__)
	for (; c + 8 <= w; c += 8) {
		__m256 r0 = _mm256_loadu_ps(rows + 0 * (size_t)w + c), r1 = _mm256_loadu_ps(rows + 1 * (size_t)w + c);
		__m256 r2 = _mm256_loadu_ps(rows + 2 * (size_t)w + c), r3 = _mm256_loadu_ps(rows + 3 * (size_t)w + c);
		__m256 r4 = _mm256_loadu_ps(rows + 4 * (size_t)w + c), r5 = _mm256_loadu_ps(rows + 5 * (size_t)w + c);
		__m256 r6 = _mm256_loadu_ps(rows + 6 * (size_t)w + c), r7 = _mm256_loadu_ps(rows + 7 * (size_t)w + c);
		transpose8(&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7);
		_mm256_store_ps((float *)&blk[c + 0], r0); _mm256_store_ps((float *)&blk[c + 1], r1);
		_mm256_store_ps((float *)&blk[c + 2], r2); _mm256_store_ps((float *)&blk[c + 3], r3);
		_mm256_store_ps((float *)&blk[c + 4], r4); _mm256_store_ps((float *)&blk[c + 5], r5);
		_mm256_store_ps((float *)&blk[c + 6], r6); _mm256_store_ps((float *)&blk[c + 7], r7);
	}
#endif
	for (; c < w; c++)
		for (int r = 0; r < LANES; r++)
			blk[c][r] = rows[(size_t)r * w + c];
}

static void lanes_to_rows(const v8f *restrict blk, int w, float *const dst[LANES])
{
	int c = 0;
#if defined(__AVX__)
	for (; c + 8 <= w; c += 8) {
		__m256 r0 = _mm256_load_ps((const float *)&blk[c + 0]), r1 = _mm256_load_ps((const float *)&blk[c + 1]);
		__m256 r2 = _mm256_load_ps((const float *)&blk[c + 2]), r3 = _mm256_load_ps((const float *)&blk[c + 3]);
		__m256 r4 = _mm256_load_ps((const float *)&blk[c + 4]), r5 = _mm256_load_ps((const float *)&blk[c + 5]);
		__m256 r6 = _mm256_load_ps((const float *)&blk[c + 6]), r7 = _mm256_load_ps((const float *)&blk[c + 7]);
		transpose8(&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7);
		_mm256_storeu_ps(dst[0] + c, r0); _mm256_storeu_ps(dst[1] + c, r1);
		_mm256_storeu_ps(dst[2] + c, r2); _mm256_storeu_ps(dst[3] + c, r3);
		_mm256_storeu_ps(dst[4] + c, r4); _mm256_storeu_ps(dst[5] + c, r5);
		_mm256_storeu_ps(dst[6] + c, r6); _mm256_storeu_ps(dst[7] + c, r7);
	}
#endif
	for (; c < w; c++)
		for (int r = 0; r < LANES; r++)
			dst[r][c] = blk[c][r];
}

/* After the last input: emit one of the p4 trailing rows into `out`. */
static void colpass_drain_one(colpass *c, float *restrict out)
{
	const int W = c->width;
	const float *restrict l = c->ring + (size_t)(c->li++ % c->ring_rows) * W;
	c->n--;
	const float fn = (float)c->n;
	for (int j = 0; j < W; j++) { c->sums[j] -= l[j]; out[j] = c->sums[j] / fn; }
}

/* Row pass on a block of 8 rows stored transposed: in[c] holds column c of
 * the 8 rows, one per lane. The reference's four phases, lane-parallel. */
static void rowpass_block(const v8f *restrict in, v8f *restrict out, const box_plan *p)
{
	int li = 0, ri = 0, oi = 0, n = 0;
	v8f sum = {0, 0, 0, 0, 0, 0, 0, 0};
	for (int i = 0; i < p->p1; i++) { sum += in[ri++]; n++; }
	for (int i = 0; i < p->p2; i++) {
		sum += in[ri++]; n++;
		const float fn = (float)n;
		out[oi++] = sum / fn;
	}
	{
		const float fn = (float)n;
		for (int i = 0; i < p->p3; i++) {
			sum += in[ri++];
			sum -= in[li++];
			out[oi++] = sum / fn;
		}
	}
	for (int i = 0; i < p->p4; i++) {
		sum -= in[li++]; n--;
		const float fn = (float)n;
		out[oi++] = sum / fn;
	}
}

/* The same pass for the second row filter, of which decimation reads only
 * the 64 columns ci[] (non-decreasing): every sum is still accumulated, in
 * the same order, but only those 64 outputs are divided and kept. */
static void rowpass_block_pick(const v8f *restrict in, const box_plan *p,
                               const int ci[64], v8f pick[64])
{
	int li = 0, ri = 0, oi = 0, n = 0, k = 0;
	v8f sum = {0, 0, 0, 0, 0, 0, 0, 0};
#define PICK_OUT() do { \
		if (k < 64 && ci[k] == oi) { \
			const v8f v = sum / (float)n; \
			while (k < 64 && ci[k] == oi) pick[k++] = v; \
		} \
		oi++; \
	} while (0)
	for (int i = 0; i < p->p1; i++) { sum += in[ri++]; n++; }
	for (int i = 0; i < p->p2; i++) { sum += in[ri++]; n++; PICK_OUT(); }
	for (int i = 0; i < p->p3; i++) { sum += in[ri++]; sum -= in[li++]; PICK_OUT(); }
	for (int i = 0; i < p->p4; i++) { sum -= in[li++]; n--; PICK_OUT(); }
#undef PICK_OUT
}

static void emit_d(pdq_stream *s, const float *row64)
{
	const int o = s->d_out++;
	while (s->next_k < 64 && s->ri[s->next_k] == o) {
		memcpy(&s->a[s->next_k * 64], row64, 64 * sizeof(float));
		s->next_k++;
	}
}

static void stage_c_flush(pdq_stream *s)
{
	if (!s->n_c)
		return;
	rows_to_lanes(s->rows_c, s->w, s->blk_c);
	v8f pick[64];
	rowpass_block_pick(s->blk_c, &s->pr, s->ci, pick);
	float out64[64];
	for (int r = 0; r < s->n_c; r++) {
		float *slot = colpass_slot(&s->d, 0);
		for (int k = 0; k < 64; k++)
			slot[k] = pick[k][r];
		if (colpass_step(&s->d, out64))
			emit_d(s, out64);
	}
	s->n_c = 0;
}

static void stage_c_commit(pdq_stream *s)
{
	if (++s->n_c == LANES)
		stage_c_flush(s);
}

static void stage_a_flush(pdq_stream *s)
{
	if (!s->n_a)
		return;
	rows_to_lanes(s->rows_a, s->w, s->blk_a);
	rowpass_block(s->blk_a, s->blk_a_out, &s->pr);
	float *dst[LANES];
	for (int r = 0; r < LANES; r++)
		dst[r] = colpass_slot(&s->b, r); /* the ring keeps LANES spare rows */
	lanes_to_rows(s->blk_a_out, s->w, dst);
	for (int r = 0; r < s->n_a; r++)
		if (colpass_step(&s->b, s->rows_c + (size_t)s->n_c * s->w))
			stage_c_commit(s);
	s->n_a = 0;
}

STREAM_API void SFX(stream_free)(pdq_stream *s)
{
	free(s->rows_a);
	free(s->blk_a);
	free(s->blk_a_out);
	free(s->rows_c);
	free(s->blk_c);
	colpass_free(&s->b);
	colpass_free(&s->d);
	free(s);
}

STREAM_API int SFX(stream_new)(pdq_stream **out, int w, int h)
{
	pdq_stream *s = (pdq_stream *)calloc(1, sizeof *s);
	if (!s)
		return VETO_ERR_NOMEM;
	s->w = w;
	s->h = h;
	s->is64 = (w == 64 && h == 64);
	s->pr = plan_box(w, (w + 127) / 128);
	for (int k = 0; k < 64; k++) {
		s->ri[k] = decim_index(k, h);
		s->ci[k] = decim_index(k, w);
	}
	const size_t blk = (size_t)w * sizeof(v8f);
	s->blk_a = (v8f *)aligned_alloc(32, blk);
	s->blk_a_out = (v8f *)aligned_alloc(32, blk);
	s->blk_c = (v8f *)aligned_alloc(32, blk);
	/* Zeroed: lanes past the last row of a partial block stay defined. */
	s->rows_a = (float *)calloc((size_t)LANES * w, sizeof(float));
	s->rows_c = (float *)calloc((size_t)LANES * w, sizeof(float));
	int rc = VETO_OK;
	if (!s->blk_a || !s->blk_a_out || !s->blk_c || !s->rows_a || !s->rows_c)
		rc = VETO_ERR_NOMEM;
	if (rc == VETO_OK) rc = colpass_init(&s->b, h, w);
	if (rc == VETO_OK) rc = colpass_init(&s->d, h, 64);
	if (rc != VETO_OK) {
		SFX(stream_free)(s);
		return rc;
	}
	*out = s;
	return VETO_OK;
}

STREAM_API float *SFX(stream_row)(pdq_stream *s)
{
	return s->rows_a + (size_t)s->n_a * s->w;
}

STREAM_API void SFX(stream_commit)(pdq_stream *s)
{
	if (s->is64)
		memcpy(&s->raw[s->rows_in * 64], s->rows_a + (size_t)s->n_a * 64, 64 * sizeof(float));
	s->rows_in++;
	if (++s->n_a == LANES)
		stage_a_flush(s);
}

STREAM_API int SFX(stream_finish)(pdq_stream *s, float a[64 * 64], float a_dih[64 * 64])
{
	if (s->rows_in != s->h)
		return VETO_ERR_INVALID;
	{
		stage_a_flush(s);
		for (int i = 0; i < s->b.p.p4; i++) {
			colpass_drain_one(&s->b, s->rows_c + (size_t)s->n_c * s->w);
			stage_c_commit(s);
		}
		stage_c_flush(s);
		float out64[64];
		for (int i = 0; i < s->d.p.p4; i++) {
			colpass_drain_one(&s->d, out64);
			emit_d(s, out64);
		}
		if (s->next_k != 64)
			return VETO_ERR_INVALID; /* cannot happen: every row is emitted */
	}
	memcpy(a, s->is64 ? s->raw : s->a, sizeof s->a);
	if (a_dih)
		memcpy(a_dih, s->a, sizeof s->a);
	return VETO_OK;
}

STREAM_API void SFX(stream_reset)(pdq_stream *s)
{
	s->rows_in = s->n_a = s->n_c = s->d_out = s->next_k = 0;
	colpass_reset(&s->b);
	colpass_reset(&s->d);
}

#ifndef VETO_STREAM_AVX2
/* ------------------------------------------------- run-time dispatch --- */

#if defined(__x86_64__) && defined(VETO_HAVE_AVX2_STREAM)
void stream_free_avx2(pdq_stream *);
int stream_new_avx2(pdq_stream **, int, int);
float *stream_row_avx2(pdq_stream *);
void stream_commit_avx2(pdq_stream *);
int stream_finish_avx2(pdq_stream *, float *, float *);
void stream_reset_avx2(pdq_stream *);
#define USE_AVX2(s) ((s)->avx2)
#define PICK(s, fn) (USE_AVX2(s) ? fn##_avx2 : fn##_generic)
#else
#define PICK(s, fn) fn##_generic
#endif

int pdq_stream_new(pdq_stream **out, int w, int h)
{
	*out = NULL;
	if (w < 1 || h < 1)
		return VETO_ERR_INVALID;
#if defined(__x86_64__) && defined(VETO_HAVE_AVX2_STREAM)
	if (__builtin_cpu_supports("avx2")) {
		int rc = stream_new_avx2(out, w, h);
		if (rc == VETO_OK)
			(*out)->avx2 = 1;
		return rc;
	}
#endif
	return stream_new_generic(out, w, h);
}

void pdq_stream_free(pdq_stream *s)
{
	if (s)
		PICK(s, stream_free)(s);
}

float *pdq_stream_row(pdq_stream *s) { return PICK(s, stream_row)(s); }
void pdq_stream_commit(pdq_stream *s) { PICK(s, stream_commit)(s); }
void pdq_stream_reset(pdq_stream *s) { PICK(s, stream_reset)(s); }
int pdq_stream_finish(pdq_stream *s, float a[64 * 64], float a_dih[64 * 64])
{
	return PICK(s, stream_finish)(s, a, a_dih);
}

void pdq_stream_push(pdq_stream *s, const float *row)
{
	memcpy(pdq_stream_row(s), row, (size_t)s->w * sizeof(float));
	pdq_stream_commit(s);
}
#endif /* !VETO_STREAM_AVX2 */
