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
 * The filter and decimation live in pdq_stream.c, which runs them as a
 * pipeline over decoded rows; this file holds what follows the 64x64
 * decimated plane: the quality metric, the DCT, the median threshold and
 * the dihedral variants.
 *
 * This file may touch: its arguments. It allocates nothing itself.
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
void pdq_dct_matrix(float d[16 * 64])
{
	const double pi = 3.14159265358979323846;
	const float scale = (float)sqrt(2.0 / 64.0);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++)
			d[i * 64 + j] = (float)(scale * cos((pi / 2.0 / 64.0) *
			                (double)(i + 1) * (double)(2 * j + 1)));
}

void pdq_dct64_to_16(const float d[16 * 64], const float a[64 * 64], float b[16 * 16])
{
	float t[16 * 64];
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

/* ------------------------------------------------------------ entry --- */

int pdq_hash_from_64x64(const float a[64 * 64], veto_pdq_hash *hash, int *quality,
                        veto_pdq_hash dihedral[VETO_DIH_COUNT])
{
	float b[256];
	*quality = quality_metric(a);
	float d[16 * 64];
	pdq_dct_matrix(d);
	pdq_dct64_to_16(d, a, b);
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

int veto_pdq_from_luma(const float *luma, int rows, int cols,
                       veto_pdq_hash *hash, int *quality,
                       veto_pdq_hash dihedral[VETO_DIH_COUNT], veto_error *err)
{
	if (!luma || !hash || !quality || rows < 0 || cols < 0)
		return veto_fail(err, VETO_ERR_INVALID, "veto_pdq_from_luma: bad arguments");
	if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) {
		memset(hash, 0, sizeof *hash);
		*quality = 0;
		if (dihedral)
			memset(dihedral, 0, sizeof(veto_pdq_hash) * VETO_DIH_COUNT);
		return VETO_OK;
	}
	pdq_stream *s;
	if (pdq_stream_new(&s, cols, rows) != VETO_OK)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory filtering a %dx%d image", cols, rows);
	for (int y = 0; y < rows; y++)
		pdq_stream_push(s, luma + (size_t)y * cols);
	float a[64 * 64], a_dih[64 * 64];
	int rc = pdq_stream_finish(s, a, a_dih);
	pdq_stream_free(s);
	if (rc != VETO_OK)
		return veto_fail(err, rc, "internal error in the PDQ filter");
	pdq_hash_from_64x64(a, hash, quality, NULL);
	if (dihedral) {
		int dq;
		pdq_hash_from_64x64(a_dih, &dihedral[0], &dq, dihedral);
	}
	return VETO_OK;
}
