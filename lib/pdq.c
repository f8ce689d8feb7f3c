/*
 * pdq.c - the PDQ perceptual hash, bit for bit with the reference.
 *
 * Design. PDQ (facebook/ThreatExchange pdq/cpp) turns a float luma plane
 * into 256 bits: two passes of a Jarosz box filter along rows then columns,
 * decimation to 64x64, a 16x16 corner of the 2-D DCT, and a threshold at the
 * median. Banks only interoperate if every PDQ user gets the same bits, so
 * every float operation here happens in the same order, in the same
 * precision, as in the reference: the running sums of the box filter are
 * accumulated one add and one subtract at a time, divisions are real
 * divisions, the DCT sums go k = 0..63 in order. The build compiles this
 * file with -ffp-contract=off so no multiply-add is ever fused.
 *
 * Speed comes only from reordering work *between* independent sums, never
 * within one:
 *  - the column passes walk the plane row by row and keep one running sum
 *    per column, so the inner loop is a vector loop over columns;
 *  - the row passes process eight rows at once (each lane of a vector is
 *    one row's running sum) after an 8x8 transpose;
 *  - the last row pass and column pass compute every running sum (each is a
 *    function of all earlier values) but only divide and store at the 64
 *    rows and columns that decimation will read.
 *
 * This file may touch: its arguments. It allocates nothing.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_HASHABLE_DIM 5

/* ----------------------------------------------------------- the DCT --- */

/* The 16x64 DCT-II basis, rows 1..16 (the DC row 0 is skipped). The
 * reference computes it in double and stores float; the scale factor is a
 * float first, which matters for the last bit. Computed once per call: it
 * costs ~1k cos() calls, negligible next to decoding, and keeps the library
 * free of global state. */
static void dct_matrix(float d[16 * 64])
{
	const double pi = 3.14159265358979323846;
	const float scale = (float)sqrt(2.0 / 64.0);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++)
			d[i * 64 + j] = (float)(scale * cos((pi / 2.0 / 64.0) *
			                (double)(i + 1) * (double)(2 * j + 1)));
}

static void dct64_to_16(const float a[64 * 64], float b[16 * 16])
{
	float d[16 * 64];
	float t[16 * 64];
	dct_matrix(d);
	/* T = D A, sums over k in order; vectorised across j. */
	for (int i = 0; i < 16; i++) {
		float acc[64];
		for (int j = 0; j < 64; j++)
			acc[j] = 0.0f;
		for (int k = 0; k < 64; k++) {
			const float dk = d[i * 64 + k];
			const float *ak = &a[k * 64];
			for (int j = 0; j < 64; j++)
				acc[j] += dk * ak[j];
		}
		memcpy(&t[i * 64], acc, sizeof acc);
	}
	/* B = T D^T */
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			float s = 0.0f;
			for (int k = 0; k < 64; k++)
				s += t[i * 64 + k] * d[j * 64 + k];
			b[i * 16 + j] = s;
		}
}

/* ------------------------------------------------------ quality metric --- */

static int quality_metric(const float a[64 * 64])
{
	int sum = 0;
	for (int i = 0; i < 63; i++)
		for (int j = 0; j < 64; j++) {
			int d = (int)(((a[i * 64 + j] - a[(i + 1) * 64 + j]) * 100) / 255);
			sum += d < 0 ? -d : d;
		}
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 63; j++) {
			int d = (int)(((a[i * 64 + j] - a[i * 64 + j + 1]) * 100) / 255);
			sum += d < 0 ? -d : d;
		}
	int q = sum / 90;
	return q > 100 ? 100 : q;
}

/* --------------------------------------------------- median and bits --- */

static int cmp_float(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;
	return (a > b) - (a < b);
}

/* The reference's Torben median of 256 values returns the 128th smallest
 * (rank (n+1)/2); any method that returns that order statistic agrees. */
static void bits_from_dct(const float b[256], veto_pdq_hash *h)
{
	float s[256];
	memcpy(s, b, sizeof s);
	qsort(s, 256, sizeof(float), cmp_float);
	const float median = s[127];
	uint16_t w[16];
	memset(w, 0, sizeof w);
	for (int k = 0; k < 256; k++)
		if (b[k] > median)
			w[k >> 4] |= (uint16_t)(1u << (k & 15));
	for (int k = 0; k < 16; k++) {
		h->bytes[2 * k] = (uint8_t)(w[15 - k] >> 8);
		h->bytes[2 * k + 1] = (uint8_t)(w[15 - k] & 0xff);
	}
}

/* Dihedral variants computed from the DCT: transposes and sign flips of
 * odd-index coefficients (the reference's dct16OriginalTo* functions). */
static void dihedral_dct(int v, const float a[256], float b[256])
{
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			float x = a[i * 16 + j];
			switch (v) {
			case VETO_DIH_ROTATE90: b[j * 16 + i] = (j & 1) ? x : -x; break;
			case VETO_DIH_ROTATE180: b[i * 16 + j] = ((i + j) & 1) ? -x : x; break;
			case VETO_DIH_ROTATE270: b[j * 16 + i] = (i & 1) ? x : -x; break;
			case VETO_DIH_FLIPX: b[i * 16 + j] = (i & 1) ? x : -x; break;
			case VETO_DIH_FLIPY: b[i * 16 + j] = (j & 1) ? x : -x; break;
			case VETO_DIH_FLIP_PLUS1: b[j * 16 + i] = x; break;
			case VETO_DIH_FLIP_MINUS1: b[j * 16 + i] = ((i + j) & 1) ? -x : x; break;
			default: b[i * 16 + j] = x; break;
			}
		}
}

/* ------------------------------------------------------ box filtering --- */

/* Window geometry of one 1-D box pass, as the reference derives it. */
typedef struct box_plan {
	int window;   /* full window size */
	int p1, p2, p3, p4; /* repetitions of the four phases */
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

static int jarosz_window(int old_dim, int new_dim)
{
	return (old_dim + 2 * new_dim - 1) / (2 * new_dim);
}

/*
 * One 1-D box pass along a row (contiguous). The reference's four phases:
 * fill the left half-window, grow to the full window while writing, slide,
 * shrink. If `keep` is non-NULL only outputs at indices with keep[o] != 0
 * are stored (the sums are still all computed).
 */
static void box_row(const float *in, float *out, const box_plan *p)
{
	int li = 0, ri = 0, oi = 0, n = 0;
	float sum = 0.0f;
	for (int i = 0; i < p->p1; i++) { sum += in[ri++]; n++; }
	for (int i = 0; i < p->p2; i++) { sum += in[ri++]; n++; out[oi++] = sum / (float)n; }
	for (int i = 0; i < p->p3; i++) { sum += in[ri++]; sum -= in[li++]; out[oi++] = sum / (float)n; }
	for (int i = 0; i < p->p4; i++) { sum -= in[li++]; n--; out[oi++] = sum / (float)n; }
}

/*
 * The same pass down all columns at once: `in` and `out` are rows x cols
 * planes; sums[] holds one running sum per column. Each column sees exactly
 * the reference's sequence of operations. `rowkeep` (may be NULL) limits
 * which output rows are stored; `c0,c1` limit the columns processed.
 */
static void box_cols(const float *in, float *out, int rows, int cols,
                     const box_plan *p, float *sums, const unsigned char *rowkeep,
                     const int *colsel, int ncolsel)
{
	int li = 0, ri = 0, oi = 0, n = 0;
	(void)rows;
	if (colsel) {
		for (int c = 0; c < ncolsel; c++) sums[c] = 0.0f;
#define COLSEL_LOOP(body) for (int c = 0; c < ncolsel; c++) { const int j = colsel[c]; body; }
		for (int i = 0; i < p->p1; i++, ri++) { COLSEL_LOOP(sums[c] += in[(size_t)ri * cols + j]) n++; }
		for (int i = 0; i < p->p2; i++, ri++, oi++) {
			n++;
			COLSEL_LOOP(sums[c] += in[(size_t)ri * cols + j])
			if (!rowkeep || rowkeep[oi]) { const float fn = (float)n; COLSEL_LOOP(out[(size_t)oi * cols + j] = sums[c] / fn) }
		}
		for (int i = 0; i < p->p3; i++, ri++, li++, oi++) {
			COLSEL_LOOP(sums[c] += in[(size_t)ri * cols + j]; sums[c] -= in[(size_t)li * cols + j])
			if (!rowkeep || rowkeep[oi]) { const float fn = (float)n; COLSEL_LOOP(out[(size_t)oi * cols + j] = sums[c] / fn) }
		}
		for (int i = 0; i < p->p4; i++, li++, oi++) {
			n--;
			COLSEL_LOOP(sums[c] -= in[(size_t)li * cols + j])
			if (!rowkeep || rowkeep[oi]) { const float fn = (float)n; COLSEL_LOOP(out[(size_t)oi * cols + j] = sums[c] / fn) }
		}
#undef COLSEL_LOOP
		return;
	}
	for (int j = 0; j < cols; j++) sums[j] = 0.0f;
	for (int i = 0; i < p->p1; i++, ri++) {
		const float *r = in + (size_t)ri * cols;
		for (int j = 0; j < cols; j++) sums[j] += r[j];
		n++;
	}
	for (int i = 0; i < p->p2; i++, ri++, oi++) {
		const float *r = in + (size_t)ri * cols;
		float *o = out + (size_t)oi * cols;
		n++;
		const float fn = (float)n;
		for (int j = 0; j < cols; j++) { sums[j] += r[j]; o[j] = sums[j] / fn; }
	}
	for (int i = 0; i < p->p3; i++, ri++, li++, oi++) {
		const float *r = in + (size_t)ri * cols;
		const float *l = in + (size_t)li * cols;
		float *o = out + (size_t)oi * cols;
		const float fn = (float)n;
		for (int j = 0; j < cols; j++) { sums[j] += r[j]; sums[j] -= l[j]; o[j] = sums[j] / fn; }
	}
	for (int i = 0; i < p->p4; i++, li++, oi++) {
		const float *l = in + (size_t)li * cols;
		float *o = out + (size_t)oi * cols;
		n--;
		const float fn = (float)n;
		for (int j = 0; j < cols; j++) { sums[j] -= l[j]; o[j] = sums[j] / fn; }
	}
}

static void box_rows(const float *in, float *out, int rows, int cols, const box_plan *p)
{
	for (int i = 0; i < rows; i++)
		box_row(in + (size_t)i * cols, out + (size_t)i * cols, p);
}

static int decim_index(int k, int n)
{
	return (int)(((k + 0.5) * n) / 64);
}

/*
 * The whole filter + decimation: luma (rows x cols) -> a[64x64]. `scratch`
 * holds rows*cols floats. Both planes are overwritten. The reference runs
 * rows, cols, rows, cols over the full plane; the last two passes here do
 * the same sums but store only what decimation reads.
 */
static int filter_and_decimate(float *luma, float *scratch, int rows, int cols,
                               float a[64 * 64])
{
	if (rows == 64 && cols == 64) { /* the reference skips filtering here */
		memcpy(a, luma, 64 * 64 * sizeof(float));
		return VETO_OK;
	}
	const box_plan pr = plan_box(cols, jarosz_window(cols, 64));
	const box_plan pc = plan_box(rows, jarosz_window(rows, 64));
	int ri[64], ci[64];
	for (int k = 0; k < 64; k++) {
		ri[k] = decim_index(k, rows);
		ci[k] = decim_index(k, cols);
	}
	float *sums = (float *)malloc((size_t)cols * sizeof(float));
	unsigned char *keep = (unsigned char *)calloc((size_t)rows, 1);
	if (!sums || !keep) {
		free(sums);
		free(keep);
		return VETO_ERR_NOMEM;
	}
	for (int k = 0; k < 64; k++)
		keep[ri[k]] = 1;
	float colsums[64];
	/* NUM_JAROSZ_PASSES == 2: pass one in full, pass two pruned. */
	box_rows(luma, scratch, rows, cols, &pr);
	box_cols(scratch, luma, rows, cols, &pc, sums, NULL, NULL, 0);
	box_rows(luma, scratch, rows, cols, &pr);
	box_cols(scratch, luma, rows, cols, &pc, colsums, keep, ci, 64);
	free(keep);
	free(sums);
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 64; j++)
			a[i * 64 + j] = luma[(size_t)ri[i] * cols + ci[j]];
	return VETO_OK;
}

int veto_pdq_from_luma(float *luma, float *scratch, int rows, int cols,
                       veto_pdq_hash *hash, int *quality,
                       veto_pdq_hash dihedral[VETO_DIH_COUNT], veto_error *err)
{
	if (!luma || !scratch || !hash || !quality || rows < 0 || cols < 0)
		return veto_fail(err, VETO_ERR_INVALID, "veto_pdq_from_luma: bad arguments");
	if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) {
		memset(hash, 0, sizeof *hash);
		*quality = 0;
		if (dihedral)
			memset(dihedral, 0, sizeof(veto_pdq_hash) * VETO_DIH_COUNT);
		return VETO_OK;
	}
	float a[64 * 64];
	float b[256];
	if (filter_and_decimate(luma, scratch, rows, cols, a) != VETO_OK)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory filtering a %dx%d image", cols, rows);
	*quality = quality_metric(a);
	dct64_to_16(a, b);
	bits_from_dct(b, hash);
	if (dihedral) {
		dihedral[0] = *hash;
		for (int v = 1; v < VETO_DIH_COUNT; v++) {
			float t[256];
			dihedral_dct(v, b, t);
			bits_from_dct(t, &dihedral[v]);
		}
	}
	return VETO_OK;
}
