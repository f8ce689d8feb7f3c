/*
 * pdq_oracle.h - a slow, literal PDQ used as the test oracle.
 *
 * lib/pdq.c is written for speed (pruned passes, vectorised column sums,
 * qsort for the median). This is the opposite: one straightforward function
 * per step of the published algorithm, in the reference's operation order
 * (pdqhashing.cpp + downscaling.cpp of facebook/ThreatExchange):
 *   two passes of {box filter along rows, box filter along columns} with the
 *   Jarosz window ceil(n / 128); decimation at pixel centres to 64x64; the
 *   image-domain quality metric; the 16x16 corner of the DCT (as D A D^T,
 *   sums in k order); bits set where a coefficient exceeds Torben's median.
 * A 64x64 plane skips filtering in the plain hash but not in the dihedral
 * one, exactly as the reference's two entry points differ.
 * test_pdq_core first proves this oracle against the reference's CSV (via
 * libjpeg decodes of the shared JPEGs) and then holds lib/pdq.c to it on
 * planes no reference output exists for.
 */
#ifndef VETO_TEST_PDQ_ORACLE_H
#define VETO_TEST_PDQ_ORACLE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The oracle is not what a fuzzer should explore: keep libFuzzer's
 * comparison tracing out of it (it made fuzz_pdq ~3x slower). */
#if defined(__clang__) && __clang_major__ >= 13
#define ORACLE_FN static inline __attribute__((no_sanitize("coverage")))
#else
#define ORACLE_FN static inline
#endif

/* One box pass over `len` samples `stride` apart; four phases: fill half
 * a window, grow to the full window while writing, slide, shrink. */
ORACLE_FN void oracle_box(const float *in, float *out, int len, int stride, int window)
{
	const int half = (window + 2) / 2;
	const int ph1 = half - 1, ph2 = window - half + 1, ph3 = len - window, ph4 = half - 1;
	int left = 0, right = 0, o = 0, count = 0;
	float sum = 0.0f;
	for (int i = 0; i < ph1; i++, right += stride) {
		sum += in[right];
		count++;
	}
	for (int i = 0; i < ph2; i++, right += stride, o += stride) {
		sum += in[right];
		count++;
		out[o] = sum / count;
	}
	for (int i = 0; i < ph3; i++, right += stride, left += stride, o += stride) {
		sum += in[right];
		sum -= in[left];
		out[o] = sum / count;
	}
	for (int i = 0; i < ph4; i++, left += stride, o += stride) {
		sum -= in[left];
		count--;
		out[o] = sum / count;
	}
}

ORACLE_FN void oracle_filter_decimate(float *plane, float *tmp, int rows, int cols,
                                          float a[64][64])
{
	const int wrow = (cols + 2 * 64 - 1) / (2 * 64); /* window along a row */
	const int wcol = (rows + 2 * 64 - 1) / (2 * 64);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < rows; i++)
			oracle_box(plane + (size_t)i * cols, tmp + (size_t)i * cols, cols, 1, wrow);
		for (int j = 0; j < cols; j++)
			oracle_box(tmp + j, plane + j, rows, cols, wcol);
	}
	for (int i = 0; i < 64; i++) {
		int si = (int)(((i + 0.5) * rows) / 64);
		for (int j = 0; j < 64; j++) {
			int sj = (int)(((j + 0.5) * cols) / 64);
			a[i][j] = plane[(size_t)si * cols + sj];
		}
	}
}

ORACLE_FN int oracle_quality(float a[64][64])
{
	int total = 0;
	for (int i = 0; i < 63; i++)
		for (int j = 0; j < 64; j++) {
			int d = (int)(((a[i][j] - a[i + 1][j]) * 100) / 255);
			total += abs(d);
		}
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 63; j++) {
			int d = (int)(((a[i][j] - a[i][j + 1]) * 100) / 255);
			total += abs(d);
		}
	int q = total / 90;
	return q > 100 ? 100 : q;
}

ORACLE_FN void oracle_dct(float a[64][64], float b[16][16])
{
	static float d[16][64];
	const float scale = (float)sqrt(2.0 / 64.0);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++)
			d[i][j] = (float)(scale * cos((3.14159265358979323846 / 2.0 / 64.0) *
			                              (i + 1) * (2 * j + 1)));
	static float t[16][64];
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++) {
			float s = 0.0f;
			for (int k = 0; k < 64; k++)
				s += d[i][k] * a[k][j];
			t[i][j] = s;
		}
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			float s = 0.0f;
			for (int k = 0; k < 64; k++)
				s += t[i][k] * d[j][k];
			b[i][j] = s;
		}
}

/* Torben Mogensen's median (public domain algorithm): bisect on value
 * until at most half the samples lie strictly on either side. */
ORACLE_FN float oracle_median(const float *m, int n)
{
	float lo = m[0], hi = m[0];
	for (int i = 1; i < n; i++) {
		if (m[i] < lo) lo = m[i];
		if (m[i] > hi) hi = m[i];
	}
	const int half = (n + 1) / 2;
	int less, greater, equal;
	float guess, below, above;
	for (;;) {
		guess = (lo + hi) / 2;
		less = greater = equal = 0;
		below = lo;
		above = hi;
		for (int i = 0; i < n; i++) {
			if (m[i] < guess) {
				less++;
				if (m[i] > below) below = m[i];
			} else if (m[i] > guess) {
				greater++;
				if (m[i] < above) above = m[i];
			} else {
				equal++;
			}
		}
		if (less <= half && greater <= half)
			break;
		if (less > greater)
			hi = below;
		else
			lo = above;
	}
	if (less >= half)
		return below;
	if (less + equal >= half)
		return guess;
	return above;
}

/* Bits to the reference's hex: bit k in 16-bit word k/16; words printed
 * from 15 down to 0 as four hex digits each. */
ORACLE_FN void oracle_bits_hex(float b[16][16], char hex[65])
{
	uint16_t w[16] = {0};
	float med = oracle_median(&b[0][0], 256);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			if (b[i][j] > med)
				w[(i * 16 + j) >> 4] |= (uint16_t)(1u << ((i * 16 + j) & 15));
	for (int k = 0; k < 16; k++)
		snprintf(hex + 4 * k, 5, "%04x", (unsigned)w[15 - k]);
}

/* The dihedral transforms of the 16x16 DCT, one sign/transpose table each. */
ORACLE_FN void oracle_dihedral(int v, float a[16][16], float b[16][16])
{
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			float x = a[i][j];
			switch (v) {
			case 1: b[j][i] = (j & 1) ? x : -x; break;        /* rotate 90 */
			case 2: b[i][j] = ((i + j) & 1) ? -x : x; break;  /* rotate 180 */
			case 3: b[j][i] = (i & 1) ? x : -x; break;        /* rotate 270 */
			case 4: b[i][j] = (i & 1) ? x : -x; break;        /* flip x */
			case 5: b[i][j] = (j & 1) ? x : -x; break;        /* flip y */
			case 6: b[j][i] = x; break;                       /* flip +1 */
			case 7: b[j][i] = ((i + j) & 1) ? -x : x; break;  /* flip -1 */
			default: b[i][j] = x; break;
			}
		}
}

/*
 * PDQ of a copy of `luma` (rows x cols). hex[0] gets the plain hash
 * (pdqHash256FromFloatLuma); if dih is non-NULL, dih[0..7] get the eight
 * hashes of pdqDihedralHash256esFromFloatLuma and *dquality its quality.
 */
ORACLE_FN void oracle_pdq(const float *luma, int rows, int cols, char hex[65], int *quality,
                              char dih[8][65], int *dquality)
{
	static float a[64][64], b[16][16], t[16][16];
	if (rows < 5 || cols < 5) {
		memset(hex, '0', 64);
		hex[64] = '\0';
		*quality = 0;
		for (int v = 0; dih && v < 8; v++) {
			memset(dih[v], '0', 64);
			dih[v][64] = '\0';
		}
		if (dquality)
			*dquality = 0;
		return;
	}
	size_t n = (size_t)rows * cols;
	float *p = (float *)malloc(n * sizeof(float)), *tmp = (float *)malloc(n * sizeof(float));
	if (!p || !tmp) {
		fprintf(stderr, "oracle: out of memory\n");
		exit(2);
	}
	/* plain */
	memcpy(p, luma, n * sizeof(float));
	if (rows == 64 && cols == 64)
		memcpy(a, p, sizeof a);
	else
		oracle_filter_decimate(p, tmp, rows, cols, a);
	*quality = oracle_quality(a);
	oracle_dct(a, b);
	oracle_bits_hex(b, hex);
	/* dihedral: always filtered */
	if (dih) {
		memcpy(p, luma, n * sizeof(float));
		oracle_filter_decimate(p, tmp, rows, cols, a);
		*dquality = oracle_quality(a);
		oracle_dct(a, b);
		for (int v = 0; v < 8; v++) {
			oracle_dihedral(v, b, t);
			oracle_bits_hex(t, dih[v]);
		}
	}
	free(p);
	free(tmp);
}

#endif
