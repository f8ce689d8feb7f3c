/*
 * tmk.c - TMK+PDQF: frame features, the temporal match kernel, the .tmk
 * file format and the two scores, bit for bit with facebook/ThreatExchange
 * tmk/cpp (tmk-hash-video, tmk-two-level-score, tmk-compare-two-tmks).
 *
 * The algorithm. Each 64x64 RGB frame of the 15 fps stream becomes a PDQF
 * feature: PDQ's float luma and the 16x16 corner of its 2-D DCT, without
 * the threshold (the frames are already 64x64, so PDQ's blur is skipped,
 * as in the reference). The video's signature is
 *  - the plain mean of the features ("level 1": matched by cosine);
 *  - for each of 4 periods T and 32 Fourier coefficients j, the sums over
 *    frames t of the L2-normalised feature times cos and sin of
 *    2 pi j t / T, then each sum L2-normalised and scaled by sqrt(a_j)
 *    ("level 2": the best circular alignment of two videos, per period).
 *
 * Exactness. Banks only interoperate if every implementation writes the
 * same bytes, so every operation keeps the reference's type and order:
 * the feature sums are float; the Fourier terms are double products added
 * to a float (C's `float += float * double` rounds once per frame, as C++
 * does); norms are float sums of squares in index order; the scores use
 * the reference's incremental sine/cosine recurrence in float. The build
 * compiles with -ffp-contract=off so no multiply-add is fused; cos, sin
 * and sqrtf come from the same libm the reference links. The reference's
 * Fourier coefficients are float literals rounded from its decimal table.
 *
 * The format (little-endian, as the reference writes it on every machine
 * it runs on): a 32-byte header "TMK1" "FVEC" "PDQF", then five int32
 * (frames per second, periods P, coefficients C, feature dimension D,
 * frame count), then P int32 periods, C float coefficients, D floats of
 * the mean, P*C*D cosine floats and P*C*D sine floats: 263,344 bytes for
 * the standard parameters. The reader trusts nothing: every count is
 * range-checked before any size is computed, sizes are computed in 64
 * bits, and the file must be exactly as long as its header says. Its
 * limits (P <= 64, C <= 256, periods <= 2^20, and the scoring work they
 * imply) are far above what any reference tool writes, and keep memory
 * and comparison time bounded on hostile files.
 *
 * Ownership. A veto_tmk owns five arrays (veto_tmk_free frees them);
 * veto_tmk_to_bytes hands the caller a malloc'd buffer to free().
 */
#include "tmk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_BYTES 32
#define MAX_PERIODS 64
#define MAX_COEFFS 256
#define MAX_PERIOD (1 << 20)
#define MAX_SCORE_WORK (1LL << 24)  /* sum(periods) * C: the offset search */
#define MAX_FILE_BYTES (64u << 20)  /* veto_tmk_load: far above 263,344 */

static const double tmk_pi = 3.14159265358979323846;

/* Poullot et al.'s periods and Fourier coefficients (beta = 32, m = 32), as
 * the reference tabulates them; the float conversion of each literal is
 * part of the format. */
static const int32_t poullot_periods[4] = { 2731, 4391, 9767, 14653 };
static const float poullot_coeffs[32] = {
	0.0708041893112f, 0.13937789309f, 0.132897260304f, 0.122765735552f,
	0.109878684888f, 0.09529606433f, 0.0800986647852f, 0.0652590650356f,
	0.0515478238322f, 0.0394851531195f, 0.0293374252025f, 0.0211492623679f,
	0.0147973073245f, 0.0100512818746f, 0.0066306408014f, 0.00424947117334f,
	0.0026467615764f, 0.00160270959695f, 0.000943882629639f, 0.000540841638603f,
	0.000301633183798f, 0.000163800158855f, 8.66454753015e-05f, 4.46626303151e-05f,
	2.24429442235e-05f, 1.09982139799e-05f, 5.25823487999e-06f, 2.45358229988e-06f,
	1.11781474895e-06f, 4.97406489221e-07f, 2.16265487234e-07f, 9.19087006565e-08f
};

/* ------------------------------------------------------------- PDQF --- */

void tmk_pdqf(const float d[16 * 64], const uint8_t *rgb, float feature[TMK_DIM])
{
	/* The reference's float luma, then PDQ's DCT corner, unthresholded. */
	float a[64 * 64];
	sink_luma_rgb(a, rgb, 64 * 64);
	pdq_dct64_to_16(d, a, feature);
}

/* ------------------------------------------------------ vector helpers --- */

static float norm_of(const float *v, int n)
{
	float s = 0.0f;
	for (int i = 0; i < n; i++)
		s += v[i] * v[i];
	return sqrtf(s);
}

static float dot_of(const float *u, const float *v, int n)
{
	float s = 0.0f;
	for (int i = 0; i < n; i++)
		s += u[i] * v[i];
	return s;
}

static void l2_normalize(float *v, int n)
{
	float norm = norm_of(v, n);
	if (norm > 0.0f)
		for (int i = 0; i < n; i++)
			v[i] /= norm;
}

/* --------------------------------------------------------- the signature --- */

static size_t feat_count(const veto_tmk *t)
{
	return (size_t)t->nperiods * (size_t)t->ncoeffs * (size_t)t->dim;
}

void veto_tmk_free(veto_tmk *t)
{
	if (!t)
		return;
	free(t->periods);
	free(t->coeffs);
	free(t->mean);
	free(t->cos);
	free(t->sin);
	free(t);
}

/* Allocates the arrays for the counts already in *t (zeroed). */
static int alloc_arrays(veto_tmk *t)
{
	size_t nf = feat_count(t);
	t->periods = (int32_t *)calloc((size_t)t->nperiods + 1, sizeof *t->periods);
	t->coeffs = (float *)calloc((size_t)t->ncoeffs + 1, sizeof *t->coeffs);
	t->mean = (float *)calloc((size_t)t->dim + 1, sizeof *t->mean);
	t->cos = (float *)calloc(nf + 1, sizeof *t->cos);
	t->sin = (float *)calloc(nf + 1, sizeof *t->sin);
	return t->periods && t->coeffs && t->mean && t->cos && t->sin ? 0 : -1;
}

int tmk_new_standard(veto_tmk **out, veto_error *err)
{
	*out = NULL;
	veto_tmk *t = (veto_tmk *)calloc(1, sizeof *t);
	if (!t)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	t->fps = TMK_FPS;
	t->nperiods = 4;
	t->ncoeffs = 32;
	t->dim = TMK_DIM;
	if (alloc_arrays(t) != 0) {
		veto_tmk_free(t);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	memcpy(t->periods, poullot_periods, sizeof poullot_periods);
	memcpy(t->coeffs, poullot_coeffs, sizeof poullot_coeffs);
	*out = t;
	return VETO_OK;
}

void tmk_ingest(veto_tmk *t, const float feature[TMK_DIM])
{
	const int d = t->dim;
	const double frame = (double)t->frame_count;
	float nf[TMK_DIM];
	for (int k = 0; k < d; k++)
		t->mean[k] += feature[k];
	memcpy(nf, feature, sizeof nf);
	l2_normalize(nf, d);
	for (int i = 0; i < t->nperiods; i++) {
		const double period = (double)t->periods[i];
		float *c0 = &t->cos[((size_t)i * (size_t)t->ncoeffs) * (size_t)d];
		for (int k = 0; k < d; k++)
			c0[k] += nf[k];
		for (int j = 1; j < t->ncoeffs; j++) {
			/* The reference's order: ((2 pi) j) t / T, all double. */
			const double arg = 2.0 * tmk_pi * (double)j * frame / period;
			const double ca = cos(arg), sa = sin(arg);
			const size_t off = ((size_t)i * (size_t)t->ncoeffs + (size_t)j) * (size_t)d;
			float *cv = &t->cos[off], *sv = &t->sin[off];
			for (int k = 0; k < d; k++) {
				/* float += float * double: one double product and sum,
				 * rounded to float once, as in C++. */
				cv[k] = (float)((double)cv[k] + (double)nf[k] * ca);
				sv[k] = (float)((double)sv[k] + (double)nf[k] * sa);
			}
		}
	}
	t->frame_count++;
}

void tmk_finish(veto_tmk *t)
{
	if (t->frame_count <= 0)
		return;
	const float n = (float)t->frame_count;
	for (int k = 0; k < t->dim; k++)
		t->mean[k] /= n;
	for (int i = 0; i < t->nperiods; i++)
		for (int j = 0; j < t->ncoeffs; j++) {
			const size_t off = ((size_t)i * (size_t)t->ncoeffs + (size_t)j) * (size_t)t->dim;
			const float w = sqrtf(t->coeffs[j]);
			l2_normalize(&t->cos[off], t->dim);
			l2_normalize(&t->sin[off], t->dim);
			for (int k = 0; k < t->dim; k++)
				t->cos[off + (size_t)k] *= w;
			for (int k = 0; k < t->dim; k++)
				t->sin[off + (size_t)k] *= w;
		}
}

/* ---------------------------------------------------------- accessors --- */

int veto_tmk_frame_count(const veto_tmk *t) { return t ? t->frame_count : 0; }
int veto_tmk_frames_per_second(const veto_tmk *t) { return t ? t->fps : 0; }
int veto_tmk_feature_dimension(const veto_tmk *t) { return t ? t->dim : 0; }

const float *veto_tmk_mean_feature(const veto_tmk *t)
{
	return t ? t->mean : NULL;
}

const veto_video_info *veto_tmk_video_info(const veto_tmk *t)
{
	return t && t->has_info ? &t->info : NULL;
}

/* ----------------------------------------------------------- the format --- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint8_t *put_floats(uint8_t *p, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++, p += 4) {
		uint32_t u;
		memcpy(&u, &v[i], 4);
		put32(p, u);
	}
	return p;
}

static const uint8_t *get_floats(const uint8_t *p, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++, p += 4) {
		uint32_t u = get32(p);
		memcpy(&v[i], &u, 4);
	}
	return p;
}

static uint64_t file_size_for(int64_t p, int64_t c, int64_t d)
{
	return (uint64_t)HEADER_BYTES + 4u * (uint64_t)(p + c + d + 2 * p * c * d);
}

int veto_tmk_to_bytes(const veto_tmk *t, uint8_t **buf, size_t *len, veto_error *err)
{
	*buf = NULL;
	*len = 0;
	if (!t)
		return veto_fail(err, VETO_ERR_INVALID, "no TMK signature to write");
	const size_t nf = feat_count(t);
	const size_t n = (size_t)file_size_for(t->nperiods, t->ncoeffs, t->dim);
	uint8_t *b = (uint8_t *)malloc(n);
	if (!b)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	memcpy(b, "TMK1FVECPDQF", 12);
	put32(b + 12, (uint32_t)t->fps);
	put32(b + 16, (uint32_t)t->nperiods);
	put32(b + 20, (uint32_t)t->ncoeffs);
	put32(b + 24, (uint32_t)t->dim);
	put32(b + 28, (uint32_t)t->frame_count);
	uint8_t *p = b + HEADER_BYTES;
	for (int i = 0; i < t->nperiods; i++, p += 4)
		put32(p, (uint32_t)t->periods[i]);
	p = put_floats(p, t->coeffs, (size_t)t->ncoeffs);
	p = put_floats(p, t->mean, (size_t)t->dim);
	p = put_floats(p, t->cos, nf);
	p = put_floats(p, t->sin, nf);
	*buf = b;
	*len = n;
	return VETO_OK;
}

int veto_tmk_sniff(const uint8_t *data, size_t size)
{
	return data && size >= 8 && memcmp(data, "TMK1FVEC", 8) == 0;
}

static int bad(veto_error *err, int code, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(veto_error *err, int code, const char *name, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return veto_fail(err, code, "%s: not a valid .tmk file: %s", name, why);
}

/* A header count: negative is damage, over the limit is refused. */
static int check_count(int32_t v, int32_t max, const char *field, const char *name,
                       veto_error *err)
{
	if (v < 0)
		return bad(err, VETO_ERR_CORRUPT, name, "%s is %d", field, (int)v);
	if (v > max)
		return bad(err, VETO_ERR_TOO_LARGE, name, "%s is %d, over the limit of %d",
		           field, (int)v, (int)max);
	return VETO_OK;
}

int veto_tmk_from_bytes(const uint8_t *data, size_t size, const char *name,
                        veto_tmk **out, veto_error *err)
{
	if (out)
		*out = NULL;
	if (!name)
		name = "<buffer>";
	if (!out || (!data && size))
		return veto_fail(err, VETO_ERR_INVALID, "%s: no output or no data", name);
	if (size == 0)
		return bad(err, VETO_ERR_FORMAT, name, "the file is empty");
	/* The magic first (a short prefix of it is a truncated file), then
	 * the algorithm, then the rest of the header. */
	const size_t nmagic = size < 8 ? size : 8;
	if (memcmp(data, "TMK1FVEC", nmagic) != 0)
		return bad(err, VETO_ERR_FORMAT, name, "no TMK1/FVEC magic at the start");
	if (size < 12)
		return bad(err, VETO_ERR_CORRUPT, name, "truncated in the header (%zu bytes, "
		           "need %d)", size, HEADER_BYTES);
	if (memcmp(data + 8, "PDQF", 4) != 0) {
		char m[5];
		for (int i = 0; i < 4; i++)
			m[i] = data[8 + i] >= 0x20 && data[8 + i] < 0x7f ? (char)data[8 + i] : '?';
		m[4] = 0;
		return bad(err, VETO_ERR_UNSUPPORTED, name, "frame-feature algorithm \"%s\" is "
		           "not PDQF, the only one TMK defines", m);
	}
	if (size < HEADER_BYTES)
		return bad(err, VETO_ERR_CORRUPT, name, "truncated in the header (%zu bytes, "
		           "need %d)", size, HEADER_BYTES);
	const int32_t fps = (int32_t)get32(data + 12);
	const int32_t np = (int32_t)get32(data + 16);
	const int32_t nc = (int32_t)get32(data + 20);
	const int32_t dim = (int32_t)get32(data + 24);
	const int32_t count = (int32_t)get32(data + 28);
	int rc;
	if (fps <= 0)
		return bad(err, VETO_ERR_CORRUPT, name, "frames per second is %d", (int)fps);
	if ((rc = check_count(np, MAX_PERIODS, "the period count", name, err)) != 0 ||
	    (rc = check_count(nc, MAX_COEFFS, "the Fourier-coefficient count", name, err)) != 0)
		return rc;
	if (dim != TMK_DIM)
		return bad(err, dim > TMK_DIM ? VETO_ERR_TOO_LARGE : VETO_ERR_CORRUPT, name,
		           "the feature dimension is %d; PDQF features have %d floats",
		           (int)dim, TMK_DIM);
	if (count < 0)
		return bad(err, VETO_ERR_CORRUPT, name, "the frame count is %d", (int)count);
	const uint64_t want = file_size_for(np, nc, dim);
	if ((uint64_t)size < want)
		return bad(err, VETO_ERR_CORRUPT, name, "truncated: %zu bytes, the header "
		           "promises %llu", size, (unsigned long long)want);
	if ((uint64_t)size > want)
		return bad(err, VETO_ERR_CORRUPT, name, "%llu bytes of trailing data after "
		           "the %llu the header promises",
		           (unsigned long long)((uint64_t)size - want), (unsigned long long)want);
	const uint8_t *p = data + HEADER_BYTES;
	int64_t work = 0;
	for (int i = 0; i < np; i++) {
		const int32_t per = (int32_t)get32(p + 4 * i);
		if (per <= 0)
			return bad(err, VETO_ERR_CORRUPT, name, "period %d is %d", i, (int)per);
		if (per > MAX_PERIOD)
			return bad(err, VETO_ERR_TOO_LARGE, name, "period %d is %d, over the "
			           "limit of %d", i, (int)per, MAX_PERIOD);
		work += (int64_t)per;
	}
	if (work * (nc > 0 ? nc : 1) > MAX_SCORE_WORK)
		return bad(err, VETO_ERR_TOO_LARGE, name, "periods summing to %lld with %d "
		           "coefficients are over the scoring limit", (long long)work, (int)nc);

	veto_tmk *t = (veto_tmk *)calloc(1, sizeof *t);
	if (!t)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	t->fps = fps;
	t->nperiods = np;
	t->ncoeffs = nc;
	t->dim = dim;
	t->frame_count = count;
	if (alloc_arrays(t) != 0) {
		veto_tmk_free(t);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < np; i++, p += 4)
		t->periods[i] = (int32_t)get32(p);
	p = get_floats(p, t->coeffs, (size_t)nc);
	p = get_floats(p, t->mean, (size_t)dim);
	p = get_floats(p, t->cos, feat_count(t));
	p = get_floats(p, t->sin, feat_count(t));
	*out = t;
	return VETO_OK;
}

int veto_tmk_load(const char *path, veto_tmk **out, veto_error *err)
{
	if (out)
		*out = NULL;
	if (!path || !out)
		return veto_fail(err, VETO_ERR_INVALID, "no path or no output");
	uint8_t *data = NULL;
	size_t size = 0;
	int rc = veto_read_file(path, MAX_FILE_BYTES, &data, &size, err);
	if (rc == VETO_ERR_TOO_LARGE)
		return veto_fail(err, rc, "%s: not a valid .tmk file: over %u bytes", path,
		                 MAX_FILE_BYTES);
	if (rc)
		return rc;
	rc = veto_tmk_from_bytes(data, size, path, out, err);
	free(data);
	return rc;
}

typedef struct bytes {
	const uint8_t *p;
	size_t n;
} bytes;

static int write_bytes(int fd, void *ctx)
{
	const bytes *b = (const bytes *)ctx;
	return veto_write_all(fd, b->p, b->n);
}

int veto_tmk_save(const veto_tmk *t, const char *path, veto_error *err)
{
	if (!path)
		return veto_fail(err, VETO_ERR_INVALID, "no path to write the .tmk file to");
	uint8_t *buf;
	size_t len;
	int rc = veto_tmk_to_bytes(t, &buf, &len, err);
	if (rc)
		return rc;
	bytes b = {buf, len};
	rc = veto_write_file_safely(path, ".tmk file", write_bytes, &b, err);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------- scores --- */

/* The reference's compatibility rule (TMKFeatureVectors::areCompatible). */
static int compatible(const veto_tmk *a, const veto_tmk *b, veto_error *err)
{
	if (a->fps != b->fps)
		return veto_fail(err, VETO_ERR_INVALID, "TMK signatures not comparable: "
		                 "frames per second %d != %d", (int)a->fps, (int)b->fps);
	if (a->nperiods != b->nperiods)
		return veto_fail(err, VETO_ERR_INVALID, "TMK signatures not comparable: "
		                 "period count %d != %d", (int)a->nperiods, (int)b->nperiods);
	for (int i = 0; i < a->nperiods; i++)
		if (a->periods[i] != b->periods[i])
			return veto_fail(err, VETO_ERR_INVALID, "TMK signatures not comparable: "
			                 "period %d is %d != %d", i, (int)a->periods[i],
			                 (int)b->periods[i]);
	if (a->ncoeffs != b->ncoeffs)
		return veto_fail(err, VETO_ERR_INVALID, "TMK signatures not comparable: "
		                 "Fourier-coefficient count %d != %d", (int)a->ncoeffs,
		                 (int)b->ncoeffs);
	for (int i = 0; i < a->ncoeffs; i++) {
		const float ca = a->coeffs[i], cb = b->coeffs[i];
		const float m = fmaxf(fabsf(ca), fabsf(cb));
		if (m > 0 && fabsf((ca - cb) / m) > 1e-6)
			return veto_fail(err, VETO_ERR_INVALID, "TMK signatures not comparable: "
			                 "Fourier coefficient %d %.7e != %.7e", i, (double)ca,
			                 (double)cb);
	}
	if (a->dim != b->dim)
		return veto_fail(err, VETO_ERR_INVALID, "TMK signatures not comparable: "
		                 "feature dimension %d != %d", (int)a->dim, (int)b->dim);
	return VETO_OK;
}

/* Cosine similarity of the means; 0 when both are zero (NaN when one is). */
static float level1(const veto_tmk *a, const veto_tmk *b)
{
	const float na = norm_of(a->mean, a->dim), nb = norm_of(b->mean, b->dim);
	if (na == 0.0f && nb == 0.0f)
		return 0.0f;
	return dot_of(a->mean, b->mean, a->dim) / (na * nb);
}

/* The best alignment per period, the max over periods, over a's
 * normaliser a_0 + 2 sum a_j (the self-score), all as the reference. */
static int level2(const veto_tmk *a, const veto_tmk *b, float *out, veto_error *err)
{
	const int np = a->nperiods, nc = a->ncoeffs, d = a->dim;
	float norm = 1.0f;
	if (nc > 0) {
		norm = a->coeffs[0];
		for (int j = 1; j < nc; j++)
			norm = (float)((double)norm + 2.0 * (double)a->coeffs[j]);
	}
	*out = 0.0f;
	if (np == 0 || nc == 0)
		return VETO_OK;
	float *dots = (float *)malloc(sizeof(float) * 2 * (size_t)nc);
	if (!dots)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	float best = 0.0f;
	for (int i = 0; i < np; i++) {
		/* sum_cc_ss[j] = cc + ss, diff_sc_cs[j] = sc - cs, as float. */
		float *sum = dots, *dif = dots + nc;
		for (int j = 0; j < nc; j++) {
			const size_t off = ((size_t)i * (size_t)nc + (size_t)j) * (size_t)d;
			const float cc = dot_of(&a->cos[off], &b->cos[off], d);
			const float ss = dot_of(&a->sin[off], &b->sin[off], d);
			const float sc = dot_of(&a->sin[off], &b->cos[off], d);
			const float cs = dot_of(&a->cos[off], &b->sin[off], d);
			sum[j] = j == 0 ? cc : cc + ss;
			dif[j] = sc - cs;
		}
		const int period = a->periods[i];
		float max_k = 0.0f;
		for (int offset = 0; offset < period; offset++) {
			const float delta = (float)(2.0 * tmk_pi * (double)(float)offset /
			                            (double)(float)period);
			float k = sum[0];
			/* Numerical Recipes' recurrence for cos/sin(j delta), in float. */
			float cos_jd = 1.0f, sin_jd = 0.0f;
			const float beta = (float)sin((double)delta);
			float alpha = (float)sin((double)(delta / 2.0f));
			alpha = 2.0f * alpha * alpha;
			for (int j = 1; j < nc; j++) {
				const float ncos = alpha * cos_jd + beta * sin_jd;
				const float nsin = alpha * sin_jd - beta * cos_jd;
				cos_jd -= ncos;
				sin_jd -= nsin;
				k += cos_jd * sum[j];
				k += sin_jd * dif[j];
			}
			if (offset == 0 || k > max_k)
				max_k = k;
		}
		if (i == 0 || best < max_k)
			best = max_k;
	}
	free(dots);
	*out = best / norm;
	return VETO_OK;
}

int veto_tmk_compare(const veto_tmk *a, const veto_tmk *b, double *l1, double *l2,
                     veto_error *err)
{
	if (l1)
		*l1 = 0;
	if (l2)
		*l2 = 0;
	if (!a || !b)
		return veto_fail(err, VETO_ERR_INVALID, "no TMK signature to compare");
	int rc = compatible(a, b, err);
	if (rc)
		return rc;
	float s2;
	if ((rc = level2(a, b, &s2, err)) != 0)
		return rc;
	if (l1)
		*l1 = (double)level1(a, b);
	if (l2)
		*l2 = (double)s2;
	return VETO_OK;
}

int veto_tmk_is_match(double l1, double l2)
{
	/* The reference compares float scores with float thresholds. */
	return (float)l1 >= (float)VETO_TMK_LEVEL1_THRESHOLD &&
	       (float)l2 >= (float)VETO_TMK_LEVEL2_THRESHOLD;
}
