/*
 * index_base.c - the immutable base: building it and searching it by
 * multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming
 * Space with Multi-Index Hashing", CVPR 2012) over flat arrays.
 *
 * The 256 bits are cut into m contiguous slices. If dist(q, h) <= r then,
 * writing r = m*s + a (0 <= a < m), at least one of a+1 chosen slices is
 * within s of the query's, or one of the other m-a-1 is within s-1 (else
 * the slice distances would sum past r). So each slice is probed with its
 * own small radius t_i: every key within t_i of the query's slice key is
 * looked up in a direct-address table (CSR: offsets[key]..offsets[key+1]
 * into a postings array of base positions), and each candidate is checked
 * at full length. A hit is reported by the first slice that can see it
 * (its slice distance <= t_j for no earlier j), so each entry is reported
 * once, with no bitmap to clear per query.
 *
 * The base is stored ordered by slice 0's key, so slice 0 needs no postings
 * and its candidates are read sequentially. Slice count is chosen by a cost
 * model (probes x miss cost + candidates x check cost) under a memory cap
 * of 64 bytes per hash for the tables (or 64 MB, for small indexes whose
 * bucket tables would otherwise outweigh their entries); a query whose radius makes
 * multi-index hashing dearer than a scan (large radii, small bases) scans.
 *
 * Memory (10M hashes, 12 slices): 32 B hash + 8 id + 1 quality + 2 bank,
 * 44 B of postings and ~12 B of offsets per hash.
 */
#include "index_internal.h"

#include <stdlib.h>

#define MIN_MIH_ENTRIES 20000      /* below this a scan is always cheaper */
#define MAX_SLICE_BITS 26
#define MIN_SLICE_BITS 8
#define TABLE_BYTES_PER_HASH 64.0  /* cap on postings + offsets */
#define NS_PROBE 40.0              /* a bucket lookup: about one cache miss */
#define NS_CANDIDATE 10.0          /* a candidate check, misses overlapped */
#define NS_SCAN 1.2                /* one hash of a SIMD scan */

static void slice_lens(int m, int lens[])
{
	const int base = 256 / m, extra = 256 % m;
	for (int i = 0; i < m; i++)
		lens[i] = base + (i < extra);
}

/* Number of keys within t of a len-bit key: sum_{k<=t} C(len, k). */
static double probes(int len, int t)
{
	double sum = 0, c = 1;
	for (int k = 0; k <= t && k <= len; k++) {
		sum += c;
		c = c * (len - k) / (k + 1);
	}
	return t < 0 ? 0 : sum;
}

/* Per-slice radii for radius r: a+1 slices get s, the rest s-1. The
 * larger radius goes to the shorter slices (the last ones), which have
 * fewer keys to probe. */
static void slice_radii(int m, int r, int t[])
{
	const int s = r / m, a = r % m;
	for (int i = 0; i < m; i++)
		t[i] = (i >= m - (a + 1)) ? s : s - 1;
}

static double mih_cost(uint64_t n, int m, const int lens[], int r)
{
	int t[VIDX_MAX_SLICES];
	slice_radii(m, r, t);
	double cost = 0;
	for (int i = 0; i < m; i++) {
		double p = probes(lens[i], t[i]);
		cost += p * NS_PROBE + p * ((double)n / (double)(1ull << lens[i])) * NS_CANDIDATE;
	}
	return cost;
}

int vidx_plan(uint64_t n, int *nslices, int lens[VIDX_MAX_SLICES])
{
	*nslices = 0;
	if (n < MIN_MIH_ENTRIES)
		return 0;
	double best = NS_SCAN * (double)n;
	for (int m = 256 / MAX_SLICE_BITS + 1; m <= VIDX_MAX_SLICES; m++) {
		int l[VIDX_MAX_SLICES];
		slice_lens(m, l);
		if (l[m - 1] < MIN_SLICE_BITS)
			break;
		double table = 4.0 * (m - 1) * (double)n;
		for (int i = 0; i < m; i++)
			table += 4.0 * (double)((1ull << l[i]) + 1);
		/* the cap is per hash, but small indexes may always use 64 MB */
		if (table > TABLE_BYTES_PER_HASH * (double)n && table > 64.0 * 1024 * 1024)
			continue;
		double c = mih_cost(n, m, l, VETO_PDQ_MATCH_THRESHOLD);
		if (c < best) {
			best = c;
			*nslices = m;
			memcpy(lens, l, sizeof(int) * (size_t)m);
		}
	}
	return *nslices;
}

static uint64_t align64(uint64_t x)
{
	return (x + 63) & ~(uint64_t)63;
}

void vidx_layout_compute(vidx_layout *l, uint64_t n, int nslices, const int lens[])
{
	memset(l, 0, sizeof *l);
	l->nsec = VIDX_SEC_FIXED + 2 * nslices;
	l->len[0] = n * 32;
	l->len[1] = n * 8;
	l->len[2] = n;
	l->len[3] = n * 2;
	for (int s = 0; s < nslices; s++) {
		l->len[VIDX_SEC_FIXED + 2 * s] = ((1ull << lens[s]) + 1) * 4;
		l->len[VIDX_SEC_FIXED + 2 * s + 1] = s == 0 ? 0 : n * 4;
	}
	uint64_t off = 0;
	for (int i = 0; i < l->nsec; i++) {
		l->off[i] = off;
		off = align64(off + l->len[i]);
	}
	l->total = off ? off : 64;
}

void vidx_base_finish_slices(vidx_base *b)
{
	int start = 0;
	for (int s = 0; s < b->nslices; s++) {
		vidx_slice *sl = &b->slices[s];
		sl->start = start;
		memset(sl->mask, 0, sizeof sl->mask);
		for (int k = start; k < start + sl->len; k++)
			sl->mask[k >> 6] |= 1ull << (k & 63);
		start += sl->len;
	}
}

void vidx_base_attach(vidx_base *b, uint8_t *mem, const vidx_layout *l)
{
	b->hashes = (const vidx_hash *)(void *)(mem + l->off[0]);
	b->ids = (const uint64_t *)(void *)(mem + l->off[1]);
	b->quality = mem + l->off[2];
	b->banks = (const uint16_t *)(void *)(mem + l->off[3]);
	for (int s = 0; s < b->nslices; s++) {
		b->slices[s].offsets = (const uint32_t *)(void *)(mem + l->off[VIDX_SEC_FIXED + 2 * s]);
		b->slices[s].postings = s == 0 ? NULL :
			(const uint32_t *)(void *)(mem + l->off[VIDX_SEC_FIXED + 2 * s + 1]);
	}
	vidx_base_finish_slices(b);
}

void vidx_base_free(vidx_base *b)
{
	if (!b)
		return;
	if (b->mapped)
		vidx_unmap(b->mem, b->memlen);
	else
		free(b->mem);
	free(b);
}

int vidx_base_build(vidx_base **out, uint64_t n, const vidx_hash *hashes, const uint64_t *ids,
                    const uint8_t *quality, const uint16_t *banks)
{
	*out = NULL;
	if (n >= UINT32_MAX)
		return VETO_ERR_TOO_LARGE;
	vidx_base *b = (vidx_base *)calloc(1, sizeof *b);
	if (!b)
		return VETO_ERR_NOMEM;
	int lens[VIDX_MAX_SLICES];
	vidx_plan(n, &b->nslices, lens);
	for (int s = 0; s < b->nslices; s++)
		b->slices[s].len = lens[s];
	vidx_layout l;
	vidx_layout_compute(&l, n, b->nslices, lens);
	uint8_t *mem = (uint8_t *)aligned_alloc(64, l.total);
	if (!mem) {
		free(b);
		return VETO_ERR_NOMEM;
	}
	b->n = n;
	b->mem = mem;
	b->memlen = l.total;
	vidx_base_attach(b, mem, &l);
	vidx_hash *H = (vidx_hash *)(void *)(mem + l.off[0]);
	uint64_t *I = (uint64_t *)(void *)(mem + l.off[1]);
	uint8_t *Q = mem + l.off[2];
	uint16_t *B = (uint16_t *)(void *)(mem + l.off[3]);

	if (b->nslices == 0) {
		if (n) {
			memcpy(H, hashes, n * 32);
			memcpy(I, ids, n * 8);
			memcpy(Q, quality, n);
			memcpy(B, banks, n * 2);
		}
		*out = b;
		return VETO_OK;
	}
	/* Slice 0: a stable counting sort of the entries themselves. */
	vidx_slice *s0 = &b->slices[0];
	uint32_t *off0 = (uint32_t *)(void *)(mem + l.off[VIDX_SEC_FIXED]);
	const uint64_t nk0 = 1ull << s0->len;
	memset(off0, 0, (nk0 + 1) * 4);
	for (uint64_t i = 0; i < n; i++)
		off0[vidx_key(&hashes[i], s0->start, s0->len) + 1]++;
	for (uint64_t k = 0; k < nk0; k++)
		off0[k + 1] += off0[k];
	uint32_t *fill = (uint32_t *)malloc((nk0 + 1) * 4);
	if (!fill) {
		vidx_base_free(b);
		return VETO_ERR_NOMEM;
	}
	memcpy(fill, off0, (nk0 + 1) * 4);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t p = fill[vidx_key(&hashes[i], s0->start, s0->len)]++;
		H[p] = hashes[i];
		I[p] = ids[i];
		Q[p] = quality[i];
		B[p] = banks[i];
	}
	free(fill);
	/* Other slices: postings of base positions, counting-sorted by key. */
	for (int s = 1; s < b->nslices; s++) {
		vidx_slice *sl = &b->slices[s];
		uint32_t *off = (uint32_t *)(void *)(mem + l.off[VIDX_SEC_FIXED + 2 * s]);
		uint32_t *post = (uint32_t *)(void *)(mem + l.off[VIDX_SEC_FIXED + 2 * s + 1]);
		const uint64_t nk = 1ull << sl->len;
		memset(off, 0, (nk + 1) * 4);
		for (uint64_t p = 0; p < n; p++)
			off[vidx_key(&H[p], sl->start, sl->len) + 1]++;
		for (uint64_t k = 0; k < nk; k++)
			off[k + 1] += off[k];
		uint32_t *f = (uint32_t *)malloc((nk + 1) * 4);
		if (!f) {
			vidx_base_free(b);
			return VETO_ERR_NOMEM;
		}
		memcpy(f, off, (nk + 1) * 4);
		for (uint64_t p = 0; p < n; p++)
			post[f[vidx_key(&H[p], sl->start, sl->len)]++] = (uint32_t)p;
		free(f);
	}
	*out = b;
	return VETO_OK;
}

/* ------------------------------------------------------------- search --- */

typedef struct mih_query {
	const vidx_base *b;
	vidx_hash q;
	int r;
	int slice;                 /* the slice being probed */
	int t[VIDX_MAX_SLICES];    /* per-slice radii */
	vidx_hit_fn hit;
	void *ctx;
} mih_query;

static inline int slice_dist(const vidx_hash *x, const uint64_t m[4])
{
	return __builtin_popcountll(x->w[0] & m[0]) + __builtin_popcountll(x->w[1] & m[1]) +
	       __builtin_popcountll(x->w[2] & m[2]) + __builtin_popcountll(x->w[3] & m[3]);
}

static void check_bucket(mih_query *mq, uint32_t key)
{
	const vidx_base *b = mq->b;
	const vidx_slice *sl = &b->slices[mq->slice];
	const uint32_t lo = sl->offsets[key], hi = sl->offsets[key + 1];
	for (uint32_t p = lo; p < hi; p++) {
		const uint64_t pos = sl->postings ? sl->postings[p] : p;
		if (sl->postings && p + 8 < hi)
			__builtin_prefetch(&b->hashes[sl->postings[p + 8]]);
		const vidx_hash *h = &b->hashes[pos];
		const int d = vidx_dist(&mq->q, h);
		if (d > mq->r)
			continue;
		/* Report it only from the first slice that can see it. */
		vidx_hash x;
		for (int k = 0; k < 4; k++)
			x.w[k] = h->w[k] ^ mq->q.w[k];
		int seen = 0;
		for (int j = 0; j < mq->slice && !seen; j++)
			seen = mq->t[j] >= 0 && slice_dist(&x, b->slices[j].mask) <= mq->t[j];
		if (!seen)
			mq->hit(mq->ctx, pos, d);
	}
}

/* Every key within `left` more flipped bits of `key`, flipping bits at
 * positions >= from (each subset once). */
static void probe_keys(mih_query *mq, uint32_t key, int from, int len, int left)
{
	check_bucket(mq, key);
	if (!left)
		return;
	for (int bit = from; bit < len; bit++)
		probe_keys(mq, key ^ (1u << bit), bit + 1, len, left - 1);
}

void vidx_base_search(const vidx_base *b, const vidx_hash *q, int radius, vidx_hit_fn hit,
                      void *ctx)
{
	if (!b->n)
		return;
	int lens[VIDX_MAX_SLICES];
	for (int s = 0; s < b->nslices; s++)
		lens[s] = b->slices[s].len;
	if (b->nslices == 0 || radius >= 256 ||
	    mih_cost(b->n, b->nslices, lens, radius) >= NS_SCAN * (double)b->n) {
		vidx_scan(b->hashes, b->n, q, radius, hit, ctx, 0);
		return;
	}
	mih_query mq;
	mq.b = b;
	mq.q = *q;
	mq.r = radius;
	mq.hit = hit;
	mq.ctx = ctx;
	slice_radii(b->nslices, radius, mq.t);
	for (int s = 0; s < b->nslices; s++) {
		if (mq.t[s] < 0)
			continue;
		mq.slice = s;
		const vidx_slice *sl = &b->slices[s];
		probe_keys(&mq, vidx_key(q, sl->start, sl->len), 0, sl->len, mq.t[s]);
	}
}
