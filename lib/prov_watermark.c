/*
 * prov_watermark.c - the "dwtDct" invisible watermark of Stable Diffusion
 * pipelines, decoded bit for bit as the reference decodes it
 * (ShieldMnt/invisible-watermark, imwatermark 0.2.x, EmbedMaxDct.decode
 * with scales [0, 36, 36] and block 4).
 *
 * The method. The reference reads the file with cv2.imread (BGR, alpha
 * dropped) and converts it with cv2.cvtColor(BGR2YUV), OpenCV's 8-bit
 * fixed-point path: Y = (1868 B + 9617 G + 4899 R + 2^13) >> 14 and
 * U = ((B - Y) 8061 + 128 * 2^14 + 2^13) >> 14, saturated to 0..255. Only
 * channel 1 (U) is read: the loop runs over channels 0 and 1 and the scale
 * of channel 0 is 0. The U plane, cropped to a multiple of 4 on each side,
 * goes through pywt.dwt2(..., 'haar') in float64; only the approximation
 * band cA is used. pywt filters axis 0 first, then axis 1, each output
 * being (0 + h x[2k+1]) + h x[2k] with h = 0.7071067811865476. cA is cut
 * into 4x4 blocks in row-major order. Each block's score comes from
 * EmbedMaxDct.infer_dct_matrix which, despite its name, takes no DCT (only
 * the unused "dwtDctSvd" variants call cv2.dct): the cA coefficient of
 * largest magnitude other than the block's first (numpy.argmax: the first
 * of equals) gives 1 if |c| mod 36 > 18. Block number n votes for bit
 * n mod L of an L-bit payload; a bit is 1 when (mean of its votes) * 255
 * > 127, and 0 when it has no votes (NaN in the reference).
 *
 * Exactness. A cA coefficient is mathematically half the sum of four
 * 8-bit samples, so a half-integer, and ties and exact multiples of 18
 * are everywhere: 270 = 7.5 * 36 scores 0, while the 270.00000000000006
 * that rounding can make of it scores 1, and two equal coefficients must
 * stay equal for the first one to win. So the filter is computed with the
 * very double operations pywt performs, in its order (the build uses
 * -ffp-contract=off): h * v for each sample, the two products added
 * across rows, then h times each of those added across columns. The
 * counts on the shared fixtures are the reference's, all 18 of them
 * (tests/test_prov_watermark.c); computing cA exactly, as (a+b+c+d)/2,
 * changes 12 of the 18 (SD1 on its own sample reads 123 of 136, not the
 * reference's 112), and h * (t1 + t0) for the second pass changes one.
 *
 * Payloads (MSB first in each byte, as numpy.unpackbits): SD1 is the bytes
 * "StableDiffusionV1" (136 bits, CompVis/stable-diffusion scripts), SD2 is
 * "SDV2" (32 bits, Stability-AI/stablediffusion), SDXL is the 48-bit
 * message 0xB3EC907BB19E (Stability-AI/generative-models).
 *
 * Verdicts. pvalue is the one-sided binomial tail P(X >= matched) for
 * X ~ Binomial(bits, 1/2): the chance that coin flips match as well.
 *  - SDXL uses the tiers of Stability's own detector (generative-models
 *    scripts/demo/detect.py, measured on 10,000 real images):
 *      matched >= 36 of 48  "very likely"  (p <= 3.6e-4; no real image of
 *                                           theirs reached it)
 *      34..35               "likely"       (p <= 2.8e-3; 0.02% of theirs)
 *      28..33               "partial"      ("cannot determine with
 *                                           certainty": p up to 0.156, so
 *                                           this is NOT evidence)
 *      <= 27                "not detected"
 *  - SD1 and SD2 have no published tiers, so they are set from the
 *    binomial tail, stricter than the SDXL tiers (which have an empirical
 *    false-positive rate behind them):
 *      p < 1e-5  "very likely"   SD1 >= 94 of 136 (p(94) = 4.8e-6,
 *                                p(93) = 1.1e-5); SD2 >= 28 of 32
 *                                (p(28) = 9.7e-6, p(27) = 5.7e-5)
 *      p < 1e-3  "likely"        SD1 >= 87 (p(87) = 7.1e-4, p(86) = 1.3e-3);
 *                                SD2 >= 26 (p(26) = 2.7e-4, p(25) = 1.05e-3)
 *      otherwise "not detected"
 *    No "partial" tier: the payloads talk to each other. Block n carries
 *    SD2 bit n mod 32 and is read as SD1 bit n mod 136 (gcd 8), so a
 *    perfect SD2 watermark reads as 78..83 of 136 against SD1 (p ~ 0.01)
 *    by construction, on any image from 512 to 1024 px (the shared SD2
 *    sample reads 81); a tier that low would call every SD2
 *    image "possibly SD1". 87 leaves a margin above that. (The reverse
 *    directions are harmless: SD1 reads as 17/32 for SD2, SDXL as 13/32
 *    and 49..54/136, SD1 and SD2 as 19..24/48 for SDXL.)
 *    A 32-bit payload is weak evidence at best: 32 of 32 is p = 2.3e-10,
 *    and the shared SD2 sample reads 29 of 32 (p = 1.3e-6).
 *
 * What differs from cv2.imread (the pixels come from veto_decode_rgba):
 * EXIF orientation is not applied (cv2 applies it to JPEGs by default);
 * 16-bit PNGs are scaled to 8 bits with rounding (cv2 truncates); CMYK
 * JPEGs, TIFF, GIF and HEIF follow ImageMagick, which veto's decoders
 * reproduce for PDQ. 8-bit PNG and YCbCr or grey JPEG give cv2's pixels
 * exactly (libjpeg-turbo, accurate integer IDCT, fancy upsampling).
 *
 * Cost: one pass over the image, 8 pixel rows (one row of 4x4 blocks of
 * cA) at a time; memory is a few rows, never a plane of doubles.
 */
#include "prov_watermark.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- payloads */

static const uint8_t SD1_BYTES[] = "StableDiffusionV1";
static const uint8_t SD2_BYTES[] = "SDV2";
static const uint8_t SDXL_BYTES[] = {0xB3, 0xEC, 0x90, 0x7B, 0xB1, 0x9E};

#define SD1_BITS 136
#define SD2_BITS 32
#define SDXL_BITS 48
#define MAX_BITS SD1_BITS

typedef struct payload {
	const char *name;
	const uint8_t *bytes;
	int bits;
} payload;

static const payload PAYLOADS[PROV_WM_PAYLOADS] = {
	{"SD1", SD1_BYTES, SD1_BITS},
	{"SD2", SD2_BYTES, SD2_BITS},
	{"SDXL", SDXL_BYTES, SDXL_BITS},
};

static int payload_bit(const payload *p, int i)
{
	return (p->bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

/* ------------------------------------------------------------ colour */

/* cv2.cvtColor(BGR2YUV) on 8 bits, channel 1 (U): OpenCV's RGB2YCrCb_i. */
enum { YUV_SHIFT = 14, R2Y = 4899, G2Y = 9617, B2Y = 1868, B2UI = 8061 };

static inline unsigned u_of(const uint8_t *px)
{
	const int r = px[0], g = px[1], b = px[2];
	const int half = 1 << (YUV_SHIFT - 1);
	const int y = (b * B2Y + g * G2Y + r * R2Y + half) >> YUV_SHIFT;
	int u = ((b - y) * B2UI + (128 << YUV_SHIFT) + half) >> YUV_SHIFT;
	if (u < 0) u = 0;   /* saturate_cast<uchar>; never taken for 8-bit input */
	if (u > 255) u = 255;
	return (unsigned)u;
}

/* --------------------------------------------------------- haar (pywt) */

/* pywt's haar decomposition low-pass taps (both equal 1/sqrt 2). */
static const double HAAR = 0.70710678118654752440;

/* EmbedMaxDct.infer_dct_matrix with scale 36, on a 4x4 block of cA taken
 * as it is: despite its name it applies no DCT. */
static inline int block_score(const double b[16])
{
	int pos = 1;
	double best = fabs(b[1]);
	for (int i = 2; i < 16; i++) {
		const double v = fabs(b[i]);
		if (v > best) { /* numpy.argmax: the first maximum */
			best = v;
			pos = i;
		}
	}
	/* Python's float % for a positive operand is fmod. */
	return fmod(fabs(b[pos]), 36.0) > 0.5 * 36.0;
}

/* ------------------------------------------------------------ verdicts */

/* P(X >= m) for X ~ Binomial(n, 1/2); n <= 136 keeps every term finite. */
static double binom_tail(int n, int m)
{
	if (m <= 0)
		return 1.0;
	if (m > n)
		return 0.0;
	double c = 1.0, sum = 0.0; /* c = C(n, k) */
	for (int k = 0; k <= n; k++) {
		if (k >= m)
			sum += c;
		c = c * (double)(n - k) / (double)(k + 1);
	}
	return ldexp(sum, -n);
}

static const char *verdict_of(const payload *p, int matched, double pvalue)
{
	if (p->bits == SDXL_BITS) {
		/* generative-models scripts/demo/detect.py MATCH_VALUES */
		if (matched > 35) return "very likely";
		if (matched > 33) return "likely";
		if (matched > 27) return "partial";
		return "not detected";
	}
	if (pvalue < 1e-5) return "very likely";
	if (pvalue < 1e-3) return "likely";
	return "not detected";
}

/* ------------------------------------------------------------- decode */

int prov_watermark_dwtdct(const uint8_t *rgba, uint32_t width, uint32_t height,
                          prov_wm_result out[PROV_WM_PAYLOADS], veto_error *err)
{
	if (!out || (!rgba && width && height))
		return veto_fail(err, VETO_ERR_INVALID, "watermark: bad arguments");
	memset(out, 0, sizeof(prov_wm_result) * PROV_WM_PAYLOADS);
	for (int p = 0; p < PROV_WM_PAYLOADS; p++) {
		out[p].payload = PAYLOADS[p].name;
		out[p].bits = PAYLOADS[p].bits;
		out[p].pvalue = 1.0;
		out[p].verdict = "not detected";
	}
	if ((uint64_t)width * height < PROV_WM_MIN_PIXELS)
		return veto_fail(err, VETO_ERR_INVALID,
		                 "watermark: %ux%u is too small (the dwtDct decoder needs at "
		                 "least 256*256 pixels)", (unsigned)width, (unsigned)height);
	/* The U plane is cropped to multiples of 4; cA is half of that, cut
	 * into 4x4 blocks: whole blocks cover 8x8 pixels each. */
	const size_t nbr = (height / 4 * 4) / 2 / 4, nbc = (width / 4 * 4) / 2 / 4;
	if (nbr == 0 || nbc == 0)
		return veto_fail(err, VETO_ERR_INVALID,
		                 "watermark: %ux%u has no 8x8 block to decode", (unsigned)width,
		                 (unsigned)height);

	const size_t pw = nbc * 8;          /* pixels used per row */
	const size_t cw = nbc * 4;          /* cA columns used */
	/* one pair of U rows, one row of the axis-0 pass, 4 rows of cA */
	uint8_t *u = (uint8_t *)malloc(2 * pw);
	double *buf = (double *)malloc(sizeof(double) * (pw + 4 * cw));
	if (!u || !buf) {
		free(u);
		free(buf);
		return veto_fail(err, VETO_ERR_NOMEM, "watermark: out of memory for %ux%u",
		                 (unsigned)width, (unsigned)height);
	}
	double *tmp = buf, *ca = buf + pw;

	double hu[256]; /* h * v, the product pywt forms for sample v */
	for (int v = 0; v < 256; v++)
		hu[v] = HAAR * (double)v;

	uint64_t ones[PROV_WM_PAYLOADS][MAX_BITS], votes[PROV_WM_PAYLOADS][MAX_BITS];
	int slot[PROV_WM_PAYLOADS] = {0};
	memset(ones, 0, sizeof ones);
	memset(votes, 0, sizeof votes);

	const size_t stride = (size_t)width * 4;
	for (size_t bi = 0; bi < nbr; bi++) {
		/* cA rows 4 bi .. 4 bi + 3 from pixel rows 8 bi .. 8 bi + 7 */
		for (int k = 0; k < 4; k++) {
			const size_t y0 = bi * 8 + (size_t)k * 2;
			const uint8_t *r0 = rgba + y0 * stride, *r1 = r0 + stride;
			uint8_t *u0 = u, *u1 = u + pw;
			for (size_t x = 0; x < pw; x++) {
				u0[x] = (uint8_t)u_of(r0 + 4 * x);
				u1[x] = (uint8_t)u_of(r1 + 4 * x);
			}
			/* axis 0: (0 + h x[2k+1]) + h x[2k]; 0 + a is a */
			for (size_t x = 0; x < pw; x++)
				tmp[x] = hu[u1[x]] + hu[u0[x]];
			/* axis 1, the same filter along the row */
			double *row = ca + (size_t)k * cw;
			for (size_t l = 0; l < cw; l++)
				row[l] = HAAR * tmp[2 * l + 1] + HAAR * tmp[2 * l];
		}
		for (size_t bj = 0; bj < nbc; bj++) {
			double b[16];
			for (int r = 0; r < 4; r++)
				memcpy(b + 4 * r, ca + (size_t)r * cw + bj * 4, 4 * sizeof(double));
			const unsigned score = (unsigned)block_score(b);
			for (int p = 0; p < PROV_WM_PAYLOADS; p++) {
				ones[p][slot[p]] += score;
				votes[p][slot[p]]++;
				if (++slot[p] == PAYLOADS[p].bits)
					slot[p] = 0;
			}
		}
	}
	free(u);
	free(buf);

	for (int p = 0; p < PROV_WM_PAYLOADS; p++) {
		const payload *pl = &PAYLOADS[p];
		int matched = 0;
		for (int i = 0; i < pl->bits; i++) {
			/* numpy: mean (sum / count in double) * 255 > 127; no votes
			 * gives NaN, which compares false */
			int bit = 0;
			if (votes[p][i] > 0)
				bit = (double)ones[p][i] / (double)votes[p][i] * 255.0 > 127.0;
			matched += bit == payload_bit(pl, i);
		}
		out[p].matched = matched;
		out[p].pvalue = binom_tail(pl->bits, matched);
		out[p].verdict = verdict_of(pl, matched, out[p].pvalue);
	}
	return VETO_OK;
}
