/*
 * index_base.c - the immutable base: building it and searching it by
 * multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming
 * Space with Multi-Index Hashing", CVPR 2012) over flat arrays.
 *
 * The 256 bits are cut into m contiguous slices (of equal width; the few
 * bits left over belong to none). If dist(q, h) <= r then,
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
 * Memory (10M hashes, 12 slices of 21 bits): 32 B hash + 8 id + 1 quality +
 * 2 bank, 44 B of postings and 10 B of offsets per hash: 97 B.
 */
#include "index_internal.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIN_MIH_ENTRIES 20000      /* below this a scan is always cheaper */
#define MAX_SLICE_BITS 26
#define MIN_SLICE_BITS 8
#define TABLE_BYTES_PER_HASH 64.0  /* cap on postings + offsets */
#define NS_PROBE 40.0              /* a bucket lookup: about one cache miss */
#define NS_CANDIDATE 10.0          /* a candidate check, misses overlapped */
#define NS_SCAN 1.2                /* one hash of a SIMD scan */

/* Equal slices of floor(256/m) bits; the few bits left over belong to no
 * slice. The pigeonhole bound still holds over the bits the slices cover
 * (their distance is at most the whole distance), and equal slices keep
 * the bucket tables to 2^floor(256/m) entries each: at 10M hashes this is
 * what brings the index under 100 bytes per hash. */
static void slice_lens(int m, int lens[])
{
	for (int i = 0; i < m; i++)
		lens[i] = 256 / m;
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

typedef struct build_job {
	vidx_base *b;
	uint8_t *mem;
	const vidx_layout *l;
	int next;                  /* next slice to build */
	int failed;
	pthread_mutex_t mu;
} build_job;

/*
 * One slice's postings and offsets: a two-pass radix sort of base positions
 * by slice key. The direct counting sort scatters into a table of up to
 * 2^26 buckets, one cache miss per entry; splitting the key in two (high
 * part first, then the low part within each high bucket) keeps every pass's
 * working set in cache, which makes building about twice as fast at 10M.
 */
typedef struct slice_scratch {
	uint32_t *keys, *tk, *tp; /* n each, reused across one thread's slices:
	                           * fresh pages cost as much as the sort */
} slice_scratch;

static int build_one_slice(build_job *job, int s, slice_scratch *sc)
{
	vidx_base *b = job->b;
	const vidx_slice *sl = &b->slices[s];
	const uint64_t n = b->n;
	uint32_t *off = (uint32_t *)(void *)(job->mem + job->l->off[VIDX_SEC_FIXED + 2 * s]);
	uint32_t *post = (uint32_t *)(void *)(job->mem + job->l->off[VIDX_SEC_FIXED + 2 * s + 1]);
	const int hb = sl->len / 2, lb = sl->len - hb;
	const uint64_t nh = 1ull << hb, nl = 1ull << lb;
	uint32_t *keys = sc->keys, *tk = sc->tk, *tp = sc->tp;
	uint32_t *hcount = (uint32_t *)calloc(nh + 1, 4), *lcount = (uint32_t *)malloc((nl + 1) * 4);
	if (!hcount || !lcount) {
		free(hcount); free(lcount);
		return VETO_ERR_NOMEM;
	}
	for (uint64_t p = 0; p < n; p++) {
		keys[p] = vidx_key(&b->hashes[p], sl->start, sl->len);
		hcount[(keys[p] >> lb) + 1]++;
	}
	for (uint64_t h = 0; h < nh; h++)
		hcount[h + 1] += hcount[h];
	/* pass 1: by the high part (stable), keys and positions side by side */
	{
		uint32_t *fill = (uint32_t *)malloc(nh * 4);
		if (!fill) {
			free(hcount); free(lcount);
			return VETO_ERR_NOMEM;
		}
		memcpy(fill, hcount, nh * 4);
		for (uint64_t p = 0; p < n; p++) {
			const uint32_t d = fill[keys[p] >> lb]++;
			tk[d] = keys[p];
			tp[d] = (uint32_t)p;
		}
		free(fill);
	}
	/* pass 2: within each high bucket, by the low part; offsets fall out */
	const uint32_t lmask = (uint32_t)(nl - 1);
	for (uint64_t h = 0; h < nh; h++) {
		const uint32_t lo = hcount[h], hi = hcount[h + 1];
		memset(lcount, 0, (nl + 1) * 4);
		for (uint32_t i = lo; i < hi; i++)
			lcount[(tk[i] & lmask) + 1]++;
		uint32_t acc = lo;
		for (uint64_t l = 0; l < nl; l++) {
			off[(h << lb) | l] = acc;
			const uint32_t c = lcount[l + 1];
			lcount[l + 1] = acc; /* becomes the fill pointer */
			acc += c;
		}
		for (uint32_t i = lo; i < hi; i++)
			post[lcount[(tk[i] & lmask) + 1]++] = tp[i];
	}
	off[1ull << sl->len] = (uint32_t)n;
	free(hcount); free(lcount);
	return VETO_OK;
}

static void *build_slices(void *arg)
{
	build_job *job = (build_job *)arg;
	const uint64_t n = job->b->n;
	slice_scratch sc;
	sc.keys = (uint32_t *)malloc(n * 4 + 4);
	sc.tk = (uint32_t *)malloc(n * 4 + 4);
	sc.tp = (uint32_t *)malloc(n * 4 + 4);
	int ok = sc.keys && sc.tk && sc.tp;
	for (;;) {
		pthread_mutex_lock(&job->mu);
		if (!ok)
			job->failed = 1;
		int s = job->next < job->b->nslices && !job->failed ? job->next++ : -1;
		pthread_mutex_unlock(&job->mu);
		if (s < 0)
			break;
		if (build_one_slice(job, s, &sc) != VETO_OK)
			ok = 0;
	}
	free(sc.keys);
	free(sc.tk);
	free(sc.tp);
	return NULL;
}

static inline vidx_hash src_hash(const vidx_src *s, uint64_t i)
{
	vidx_hash h;
	memcpy(h.w, s->hash + i * s->hash_stride, 32);
	return h;
}

static inline void src_copy(const vidx_src *s, uint64_t i, vidx_hash *H, uint64_t *I, uint8_t *Q,
                            uint16_t *B, uint64_t p)
{
	memcpy(&H[p], s->hash + i * s->hash_stride, 32);
	memcpy(&I[p], s->id + i * s->id_stride, 8);
	Q[p] = s->q[i * s->q_stride];
	memcpy(&B[p], s->bank + i * s->bank_stride, 2);
}

int vidx_base_build(vidx_base **out, uint64_t n, const vidx_src *src)
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
	/* 2 MB alignment so the kernel can back it with huge pages: the search
	 * is random access over the whole block, and TLB misses cost as much
	 * as cache misses without them. */
	const size_t huge = 2u << 20;
	const size_t total = l.total >= huge ? (l.total + huge - 1) / huge * huge : l.total;
	uint8_t *mem = (uint8_t *)aligned_alloc(total >= huge ? huge : 64, total);
	if (!mem) {
		free(b);
		return VETO_ERR_NOMEM;
	}
	if (total >= huge)
		madvise(mem, total, MADV_HUGEPAGE);
	b->n = n;
	b->mem = mem;
	b->memlen = l.total;
	vidx_base_attach(b, mem, &l);
	vidx_hash *H = (vidx_hash *)(void *)(mem + l.off[0]);
	uint64_t *I = (uint64_t *)(void *)(mem + l.off[1]);
	uint8_t *Q = mem + l.off[2];
	uint16_t *B = (uint16_t *)(void *)(mem + l.off[3]);

	if (b->nslices == 0) {
		for (uint64_t i = 0; i < n; i++)
			src_copy(src, i, H, I, Q, B, i);
		*out = b;
		return VETO_OK;
	}
	/* Slice 0: a stable counting sort of the entries themselves. */
	vidx_slice *s0 = &b->slices[0];
	uint32_t *off0 = (uint32_t *)(void *)(mem + l.off[VIDX_SEC_FIXED]);
	const uint64_t nk0 = 1ull << s0->len;
	memset(off0, 0, (nk0 + 1) * 4);
	for (uint64_t i = 0; i < n; i++) {
		const vidx_hash h = src_hash(src, i);
		off0[vidx_key(&h, s0->start, s0->len) + 1]++;
	}
	for (uint64_t k = 0; k < nk0; k++)
		off0[k + 1] += off0[k];
	uint32_t *fill = (uint32_t *)malloc((nk0 + 1) * 4);
	if (!fill) {
		vidx_base_free(b);
		return VETO_ERR_NOMEM;
	}
	memcpy(fill, off0, (nk0 + 1) * 4);
	for (uint64_t i = 0; i < n; i++) {
		const vidx_hash h = src_hash(src, i);
		src_copy(src, i, H, I, Q, B, fill[vidx_key(&h, s0->start, s0->len)]++);
	}
	free(fill);
	/* Other slices: postings of base positions, counting-sorted by key.
	 * Slices are independent, so they are built on all cores. */
	build_job job;
	memset(&job, 0, sizeof job);
	job.b = b;
	job.mem = mem;
	job.l = &l;
	job.next = 1; /* slice 0 is the base order, done above */
	pthread_mutex_init(&job.mu, NULL);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = ncpu > 1 ? (int)(ncpu < 8 ? ncpu : 8) : 1;
	pthread_t th[8];
	int started = 0;
	for (int t = 1; t < nthreads; t++)
		if (pthread_create(&th[started], NULL, build_slices, &job) == 0)
			started++;
	build_slices(&job);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&job.mu);
	if (job.failed) {
		vidx_base_free(b);
		return VETO_ERR_NOMEM;
	}
	*out = b;
	return VETO_OK;
}

/* ------------------------------------------------------------- search --- */

/*
 * Probing is memory-bound: each bucket costs a miss on its offsets, one on
 * its postings and one per candidate hash, and done one after another those
 * misses serialise. So each slice is probed in three passes over arrays of
 * keys and candidates, prefetching one pass ahead: the offsets of every key
 * first, then the postings of every bucket, then every candidate's hash.
 * The CPU then has many misses in flight at once.
 */
typedef struct mih_query {
	const vidx_base *b;
	vidx_hash q;
	int r;
	int t[VIDX_MAX_SLICES];    /* per-slice radii */
	vidx_hit_fn hit;
	void *ctx;
	uint32_t *keys;            /* probe keys of the current slice */
	size_t nkeys, capkeys;
	uint32_t *cand;            /* candidate base positions */
	size_t ncand, capcand;
	int nomem;
} mih_query;

static inline int slice_dist(const vidx_hash *x, const uint64_t m[4])
{
	return __builtin_popcountll(x->w[0] & m[0]) + __builtin_popcountll(x->w[1] & m[1]) +
	       __builtin_popcountll(x->w[2] & m[2]) + __builtin_popcountll(x->w[3] & m[3]);
}

static int grow32(uint32_t **v, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 1;
	size_t c = *cap ? *cap : 1024;
	while (c < need) c *= 2;
	uint32_t *n = (uint32_t *)realloc(*v, c * sizeof **v);
	if (!n)
		return 0;
	*v = n;
	*cap = c;
	return 1;
}

/* Every key within `left` more flipped bits of `key`, flipping bits at
 * positions >= from (each subset once). */
static void gen_keys(mih_query *mq, uint32_t key, int from, int len, int left)
{
	if (!grow32(&mq->keys, &mq->capkeys, mq->nkeys + 1)) {
		mq->nomem = 1;
		return;
	}
	mq->keys[mq->nkeys++] = key;
	if (!left)
		return;
	for (int bit = from; bit < len; bit++)
		gen_keys(mq, key ^ (1u << bit), bit + 1, len, left - 1);
}

static inline __attribute__((always_inline)) void verify(mih_query *mq, int slice, uint64_t pos)
{
	const vidx_base *b = mq->b;
	const vidx_hash *h = &b->hashes[pos];
	const int d = vidx_dist(&mq->q, h);
	if (d > mq->r)
		return;
	/* Report it only from the first slice that can see it. */
	vidx_hash x;
	for (int k = 0; k < 4; k++)
		x.w[k] = h->w[k] ^ mq->q.w[k];
	for (int j = 0; j < slice; j++)
		if (mq->t[j] >= 0 && slice_dist(&x, b->slices[j].mask) <= mq->t[j])
			return;
	mq->hit(mq->ctx, pos, d);
}

#define AHEAD 16

/* Built for POPCNT (every x86-64 CPU since 2008) and for the baseline,
 * picked at load time: without it each popcount is a libgcc call. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("popcnt", "default")))
#endif
static void probe_slice(mih_query *mq, int s)
{
	const vidx_base *b = mq->b;
	const vidx_slice *sl = &b->slices[s];
	mq->nkeys = 0;
	gen_keys(mq, vidx_key(&mq->q, sl->start, sl->len), 0, sl->len, mq->t[s]);
	if (mq->nomem)
		return;
	const uint32_t *off = sl->offsets;
	const size_t nk = mq->nkeys;
	for (size_t i = 0; i < nk && i < AHEAD; i++)
		__builtin_prefetch(&off[mq->keys[i]]);
	if (!sl->postings) {
		/* slice 0: buckets are runs of the base itself */
		for (size_t i = 0; i < nk; i++) {
			if (i + AHEAD < nk)
				__builtin_prefetch(&off[mq->keys[i + AHEAD]]);
			const uint32_t lo = off[mq->keys[i]], hi = off[mq->keys[i] + 1];
			for (uint32_t p = lo; p < hi; p++)
				verify(mq, s, p);
		}
		return;
	}
	/* pass 1: bucket ranges -> candidate list (prefetching postings) */
	mq->ncand = 0;
	for (size_t i = 0; i < nk; i++) {
		if (i + AHEAD < nk)
			__builtin_prefetch(&off[mq->keys[i + AHEAD]]);
		const uint32_t lo = off[mq->keys[i]], hi = off[mq->keys[i] + 1];
		if (lo == hi)
			continue;
		__builtin_prefetch(&sl->postings[lo]);
		/* store the range; expand after all prefetches are issued */
		if (!grow32(&mq->cand, &mq->capcand, mq->ncand + 2)) {
			mq->nomem = 1;
			return;
		}
		mq->cand[mq->ncand++] = lo;
		mq->cand[mq->ncand++] = hi;
	}
	if (!mq->ncand)
		return; /* every probed bucket was empty */
	/* pass 2: expand ranges into positions in place (from the back: the
	 * expanded list can be longer than the list of ranges) */
	size_t total = 0;
	for (size_t i = 0; i < mq->ncand; i += 2)
		total += mq->cand[i + 1] - mq->cand[i];
	const size_t nranges = mq->ncand / 2;
	if (!grow32(&mq->cand, &mq->capcand, mq->ncand + total)) {
		mq->nomem = 1;
		return;
	}
	uint32_t *pos = mq->cand + mq->ncand; /* after the ranges */
	size_t np = 0;
	for (size_t r = 0; r < nranges; r++) {
		const uint32_t lo = mq->cand[2 * r], hi = mq->cand[2 * r + 1];
		for (uint32_t p = lo; p < hi; p++) {
			const uint32_t e = sl->postings[p];
			__builtin_prefetch(&b->hashes[e]);
			pos[np++] = e;
		}
	}
	/* pass 3: verify (hashes were prefetched in order) */
	for (size_t i = 0; i < np; i++) {
		if (i + AHEAD < np)
			__builtin_prefetch(&b->hashes[pos[i + AHEAD]]);
		verify(mq, s, pos[i]);
	}
}

int vidx_base_search(const vidx_base *b, const vidx_hash *q, int radius, vidx_hit_fn hit,
                     void *ctx)
{
	if (!b->n)
		return VETO_OK;
	int lens[VIDX_MAX_SLICES];
	for (int s = 0; s < b->nslices; s++)
		lens[s] = b->slices[s].len;
	if (b->nslices == 0 || radius >= 256 ||
	    mih_cost(b->n, b->nslices, lens, radius) >= NS_SCAN * (double)b->n) {
		vidx_scan(b->hashes, b->n, q, radius, hit, ctx, 0);
		return VETO_OK;
	}
	mih_query mq;
	memset(&mq, 0, sizeof mq);
	mq.b = b;
	mq.q = *q;
	mq.r = radius;
	mq.hit = hit;
	mq.ctx = ctx;
	slice_radii(b->nslices, radius, mq.t);
	for (int s = 0; s < b->nslices && !mq.nomem; s++)
		if (mq.t[s] >= 0)
			probe_slice(&mq, s);
	free(mq.keys);
	free(mq.cand);
	return mq.nomem ? VETO_ERR_NOMEM : VETO_OK;
}
