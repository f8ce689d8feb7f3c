/*
 * index_scan.c - brute-force Hamming scans, the fallback and the delta's
 * search, in three builds chosen per call from what the CPU has:
 * AVX-512 VPOPCNTDQ (two hashes per instruction), AVX2 (nibble-table
 * popcount, four hashes per step) and scalar POPCNT. A scan is the right
 * strategy for small indexes and large radii, where multi-index hashing
 * would probe more buckets than there are entries.
 */
#include "index_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define SCAN_BODY                                                                      \
	const uint64_t q0 = q->w[0], q1 = q->w[1], q2 = q->w[2], q3 = q->w[3];          \
	for (uint64_t i = 0; i < n; i++) {                                              \
		const int d = __builtin_popcountll(h[i].w[0] ^ q0) +                          \
		              __builtin_popcountll(h[i].w[1] ^ q1) +                          \
		              __builtin_popcountll(h[i].w[2] ^ q2) +                          \
		              __builtin_popcountll(h[i].w[3] ^ q3);                           \
		if (d <= radius)                                                              \
			hit(ctx, pos0 + i, d);                                                    \
	}

/* Portable: the compiler's popcount (a table or bit trick without POPCNT). */
static void scan_scalar(const vidx_hash *h, uint64_t n, const vidx_hash *q, int radius,
                        vidx_hit_fn hit, void *ctx, uint64_t pos0)
{
	SCAN_BODY
}

#if defined(__x86_64__)
__attribute__((target("popcnt")))
static void scan_popcnt(const vidx_hash *h, uint64_t n, const vidx_hash *q, int radius,
                        vidx_hit_fn hit, void *ctx, uint64_t pos0)
{
	SCAN_BODY
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2")))
static inline __m256i popcnt_bytes_avx2(__m256i x, __m256i lut, __m256i low)
{
	__m256i lo = _mm256_and_si256(x, low);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
	return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

__attribute__((target("avx2,popcnt")))
static void scan_avx2(const vidx_hash *h, uint64_t n, const vidx_hash *q, int radius,
                      vidx_hit_fn hit, void *ctx, uint64_t pos0)
{
	const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
	                                     0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i low = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
	const __m256i qv = _mm256_loadu_si256((const __m256i *)q->w);
	const __m256i rv = _mm256_set1_epi64x(radius);
	uint64_t i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256i s0 = _mm256_sad_epu8(popcnt_bytes_avx2(_mm256_xor_si256(
		             _mm256_loadu_si256((const __m256i *)h[i].w), qv), lut, low), zero);
		__m256i s1 = _mm256_sad_epu8(popcnt_bytes_avx2(_mm256_xor_si256(
		             _mm256_loadu_si256((const __m256i *)h[i + 1].w), qv), lut, low), zero);
		__m256i s2 = _mm256_sad_epu8(popcnt_bytes_avx2(_mm256_xor_si256(
		             _mm256_loadu_si256((const __m256i *)h[i + 2].w), qv), lut, low), zero);
		__m256i s3 = _mm256_sad_epu8(popcnt_bytes_avx2(_mm256_xor_si256(
		             _mm256_loadu_si256((const __m256i *)h[i + 3].w), qv), lut, low), zero);
		/* four 4-lane sums -> one vector of four distances */
		__m256i u = _mm256_add_epi64(_mm256_unpacklo_epi64(s0, s1), _mm256_unpackhi_epi64(s0, s1));
		__m256i v = _mm256_add_epi64(_mm256_unpacklo_epi64(s2, s3), _mm256_unpackhi_epi64(s2, s3));
		__m256i d = _mm256_add_epi64(_mm256_permute2x128_si256(u, v, 0x20),
		                             _mm256_permute2x128_si256(u, v, 0x31));
		/* lanes: d0 = hash i, d1 = i+1, d2 = i+2, d3 = i+3 */
		int m = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(d, rv)));
		if (m != 0xf) {
			uint64_t dd[4];
			_mm256_storeu_si256((__m256i *)dd, d);
			for (int k = 0; k < 4; k++)
				if (!(m & (1 << k)))
					hit(ctx, pos0 + i + (uint64_t)k, (int)dd[k]);
		}
	}
	scan_popcnt(h + i, n - i, q, radius, hit, ctx, pos0 + i);
}

__attribute__((target("avx512f,avx512vpopcntdq,popcnt")))
static void scan_avx512(const vidx_hash *h, uint64_t n, const vidx_hash *q, int radius,
                        vidx_hit_fn hit, void *ctx, uint64_t pos0)
{
	const __m256i q256 = _mm256_loadu_si256((const __m256i *)q->w);
	const __m512i qv = _mm512_inserti64x4(_mm512_castsi256_si512(q256), q256, 1);
	uint64_t i = 0;
	for (; i + 2 <= n; i += 2) {
		__m512i p = _mm512_popcnt_epi64(_mm512_xor_si512(
		            _mm512_loadu_si512((const void *)h[i].w), qv));
		int d0 = (int)_mm512_mask_reduce_add_epi64(0x0f, p);
		int d1 = (int)_mm512_mask_reduce_add_epi64(0xf0, p);
		if (d0 <= radius) hit(ctx, pos0 + i, d0);
		if (d1 <= radius) hit(ctx, pos0 + i + 1, d1);
	}
	scan_popcnt(h + i, n - i, q, radius, hit, ctx, pos0 + i);
}
#endif

void vidx_scan(const vidx_hash *h, uint64_t n, const vidx_hash *q, int radius,
               vidx_hit_fn hit, void *ctx, uint64_t pos0)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx512vpopcntdq")) {
		scan_avx512(h, n, q, radius, hit, ctx, pos0);
		return;
	}
	if (__builtin_cpu_supports("avx2")) {
		scan_avx2(h, n, q, radius, hit, ctx, pos0);
		return;
	}
	if (__builtin_cpu_supports("popcnt")) {
		scan_popcnt(h, n, q, radius, hit, ctx, pos0);
		return;
	}
#endif
	scan_scalar(h, n, q, radius, hit, ctx, pos0);
}

const char *vidx_scan_kernel_name(void)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx512vpopcntdq"))
		return "avx512-vpopcntdq";
	if (__builtin_cpu_supports("avx2"))
		return "avx2";
	if (__builtin_cpu_supports("popcnt"))
		return "popcnt";
#endif
	return "scalar";
}
