/*
 * match_video.c - a video query against a bank of video frame hashes.
 *
 * A banked video is every entry sharing its id ('veto index build --videos'
 * stores each video's de-duplicated vPDQ frames under one id). For a query
 * video the answer per banked video is what veto_vpdq_compare would say
 * about the pair, computed with the index instead of brute force:
 *   query_percent  = query frames with an entry of that video within the
 *                    radius / the query's frames,
 *   target_percent = that video's entries within the radius of some query
 *                    frame / that video's entries,
 * where both sides are de-duplicated and below-quality frames dropped. The
 * radius search is symmetric (distance is), so the entries hit by all the
 * query frames' searches are exactly the target frames that match, and the
 * percentages equal the brute-force ones (tests/test_video_cli.sh checks
 * this against 'veto compare' for every pair of the shared samples).
 *
 * Per-video entry counts come from one pass over the bank
 * (veto_index_foreach), done the first time a video query needs them.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int bank_ok(const veto_search_options *o, uint16_t bank)
{
	if (!o->banks)
		return 1;
	for (size_t i = 0; i < o->nbanks; i++)
		if (o->banks[i] == bank)
			return 1;
	return 0;
}

typedef struct count_ctx {
	const veto_search_options *so;
	video_counts *c;
	int nomem;
} count_ctx;

static int grow_pairs(video_counts *c)
{
	size_t cap = c->cap ? 2 * c->cap : 1024;
	uint64_t *ids = realloc(c->ids, cap * sizeof *ids);
	if (!ids)
		return -1;
	c->ids = ids;
	c->cap = cap;
	return 0;
}

static int count_one(void *ctx, const veto_index_entry *e)
{
	count_ctx *k = ctx;
	if (e->quality < k->so->min_quality || !bank_ok(k->so, e->bank))
		return 0;
	if (k->c->n == k->c->cap && grow_pairs(k->c) != 0) {
		k->nomem = 1;
		return 1;
	}
	k->c->ids[k->c->n++] = e->id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int video_counts_build(veto_index *idx, const veto_search_options *so, video_counts *c)
{
	memset(c, 0, sizeof *c);
	count_ctx k = {so, c, 0};
	veto_index_foreach(idx, count_one, &k);
	if (k.nomem)
		return -1;
	/* Sorted ids; the count of an id is the length of its run. */
	if (c->n > 1)
		qsort(c->ids, c->n, sizeof *c->ids, cmp_u64);
	return 0;
}

static size_t count_of(const video_counts *c, uint64_t id)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) { /* first position with ids[pos] >= id */
		size_t mid = lo + (hi - lo) / 2;
		if (c->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < c->n && c->ids[end] == id)
		end++;
	return end - lo;
}

void video_counts_free(video_counts *c)
{
	free(c->ids);
	memset(c, 0, sizeof *c);
}

typedef struct pair {
	uint64_t id;
	veto_pdq_hash h;   /* the entry (target side) */
} pair;

static int cmp_pair(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return memcmp(&x->h, &y->h, sizeof x->h);
}

static int cmp_result(const void *a, const void *b)
{
	const video_hit *x = a, *y = b;
	if (x->query_percent != y->query_percent)
		return x->query_percent < y->query_percent ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

void video_result_free(video_result *r)
{
	free(r->hits);
	veto_match_list_free(&r->m);
	memset(r, 0, sizeof *r);
}

int video_match(veto_index *idx, const veto_search_options *so0, const video_counts *counts,
                const veto_vpdq *q, double match_percent, video_result *r, veto_error *err)
{
	veto_search_options so = *so0;
	so.limit = 0; /* percentages need every hit */
	r->nhits = 0;
	r->query_frames = 0;
	/* The query's frames: quality-filtered, de-duplicated. */
	veto_vpdq_frame *qf = malloc((q->count ? q->count : 1) * sizeof *qf);
	veto_pdq_hash *qh = malloc((q->count ? q->count : 1) * sizeof *qh);
	pair *pairs = NULL;
	uint64_t *qids = NULL;
	size_t np = 0, capp = 0, nq = 0, capq = 0, m = 0;
	int rc = VETO_ERR_NOMEM;
	if (!qh || !qf)
		goto out;
	m = veto_vpdq_unique(q->frames, q->count, so.min_quality, qf);
	if (m == (size_t)-1)
		goto out;
	for (size_t i = 0; i < m; i++)
		qh[i] = qf[i].pdq;
	r->query_frames = m;
	for (size_t i = 0; i < m; i++) {
		rc = veto_index_search(idx, &qh[i], 100, &so, &r->m, err);
		if (rc)
			goto out;
		/* ids this query frame matched (each once) and the entries hit */
		size_t first_q = nq;
		for (size_t k = 0; k < r->m.n; k++) {
			const veto_match *mm = &r->m.v[k];
			if (np == capp) {
				capp = capp ? 2 * capp : 256;
				pair *n = realloc(pairs, capp * sizeof *n);
				if (!n) { rc = VETO_ERR_NOMEM; goto out; }
				pairs = n;
			}
			pairs[np].id = mm->id;
			pairs[np].h = mm->hash;
			np++;
			int seen = 0;
			for (size_t t = first_q; t < nq && !seen; t++)
				seen = qids[t] == mm->id;
			if (!seen) {
				if (nq == capq) {
					capq = capq ? 2 * capq : 256;
					uint64_t *n = realloc(qids, capq * sizeof *n);
					if (!n) { rc = VETO_ERR_NOMEM; goto out; }
					qids = n;
				}
				qids[nq++] = mm->id;
			}
		}
	}
	if (np > 1)
		qsort(pairs, np, sizeof *pairs, cmp_pair);
	if (nq > 1)
		qsort(qids, nq, sizeof *qids, cmp_u64);
	/* One hit per banked video: walk both sorted lists together. */
	size_t ip = 0, iq = 0;
	while (iq < nq) {
		uint64_t id = qids[iq];
		size_t qn = 0;
		while (iq < nq && qids[iq] == id)
			iq++, qn++;
		while (ip < np && pairs[ip].id < id)
			ip++;
		size_t tn = 0;
		for (; ip < np && pairs[ip].id == id; ip++)
			if (ip == 0 || pairs[ip - 1].id != id ||
			    memcmp(&pairs[ip].h, &pairs[ip - 1].h, sizeof pairs[ip].h))
				tn++;
		size_t total = count_of(counts, id);
		double qp = m ? 100.0 * (double)qn / (double)m : 0;
		double tp = total ? 100.0 * (double)tn / (double)total : 0;
		if (qp < match_percent)
			continue;
		if (r->nhits == r->cap) {
			size_t cap = r->cap ? 2 * r->cap : 16;
			video_hit *n = realloc(r->hits, cap * sizeof *n);
			if (!n) { rc = VETO_ERR_NOMEM; goto out; }
			r->hits = n;
			r->cap = cap;
		}
		r->hits[r->nhits++] = (video_hit){id, qp, tp, qn, tn, total};
	}
	if (r->nhits > 1)
		qsort(r->hits, r->nhits, sizeof *r->hits, cmp_result);
	rc = VETO_OK;
out:
	if (rc == VETO_ERR_NOMEM && err) {
		err->code = rc;
		snprintf(err->message, sizeof err->message, "out of memory matching a video");
	}
	free(qf);
	free(qh);
	free(pairs);
	free(qids);
	return rc;
}
