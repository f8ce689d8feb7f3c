/*
 * index.c - veto_index: an immutable base + delta + tombstones, locked.
 *
 * Reads (searches) take a shared lock and never wait for each other; add
 * and delete take the exclusive lock for as long as it takes to append to
 * the delta or record a tombstone, so a change is visible to the very next
 * search. The delta (entries added since the last merge) is scanned; the
 * tombstones (ids deleted since) hide base entries; delta entries are
 * removed from the delta at once on delete.
 *
 * Merging builds a new base from a snapshot without holding the lock, then
 * swaps it in under the exclusive lock, keeping whatever changed meanwhile:
 * every add and delete carries a sequence number, and the swap keeps the
 * delta entries and tombstones newer than the snapshot. A worker thread
 * merges in the background once the delta outgrows MERGE_MIN or 1/16 of the
 * base; veto_index_merge does it on the caller's thread.
 */
#include "index_internal.h"

#include <stdlib.h>

#define MERGE_MIN 65536

/* ------------------------------------------------------- tombstone set --- */

typedef struct tomb_set {
	uint64_t *ids;
	uint64_t *seqs;
	uint8_t *used;
	size_t cap, n; /* cap: power of two or 0 */
} tomb_set;

static size_t tomb_slot(const tomb_set *t, uint64_t id)
{
	uint64_t h = id * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 17) & (t->cap - 1);
}

static int tomb_find(const tomb_set *t, uint64_t id, uint64_t *seq)
{
	if (!t->n)
		return 0;
	for (size_t i = tomb_slot(t, id);; i = (i + 1) & (t->cap - 1)) {
		if (!t->used[i])
			return 0;
		if (t->ids[i] == id) {
			if (seq) *seq = t->seqs[i];
			return 1;
		}
	}
}

static int tomb_grow(tomb_set *t)
{
	tomb_set nt = {0};
	nt.cap = t->cap ? t->cap * 2 : 64;
	nt.ids = (uint64_t *)malloc(nt.cap * 8);
	nt.seqs = (uint64_t *)malloc(nt.cap * 8);
	nt.used = (uint8_t *)calloc(nt.cap, 1);
	if (!nt.ids || !nt.seqs || !nt.used) {
		free(nt.ids); free(nt.seqs); free(nt.used);
		return VETO_ERR_NOMEM;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->used[i]) {
			size_t j = tomb_slot(&nt, t->ids[i]);
			while (nt.used[j]) j = (j + 1) & (nt.cap - 1);
			nt.used[j] = 1; nt.ids[j] = t->ids[i]; nt.seqs[j] = t->seqs[i];
			nt.n++;
		}
	free(t->ids); free(t->seqs); free(t->used);
	*t = nt;
	return VETO_OK;
}

static int tomb_put(tomb_set *t, uint64_t id, uint64_t seq)
{
	if ((t->n + 1) * 2 > t->cap && tomb_grow(t) != VETO_OK)
		return VETO_ERR_NOMEM;
	size_t i = tomb_slot(t, id);
	while (t->used[i] && t->ids[i] != id) i = (i + 1) & (t->cap - 1);
	if (!t->used[i]) { t->used[i] = 1; t->ids[i] = id; t->n++; }
	t->seqs[i] = seq;
	return VETO_OK;
}

static void tomb_free(tomb_set *t)
{
	free(t->ids); free(t->seqs); free(t->used);
	memset(t, 0, sizeof *t);
}

/* Keep only tombstones newer than seq (rebuilds the table). */
static int tomb_keep_after(tomb_set *t, uint64_t seq)
{
	tomb_set nt = {0};
	for (size_t i = 0; i < t->cap; i++)
		if (t->used[i] && t->seqs[i] > seq && tomb_put(&nt, t->ids[i], t->seqs[i]) != VETO_OK) {
			tomb_free(&nt);
			return VETO_ERR_NOMEM;
		}
	tomb_free(t);
	*t = nt;
	return VETO_OK;
}

static int tomb_copy(tomb_set *dst, const tomb_set *src)
{
	memset(dst, 0, sizeof *dst);
	for (size_t i = 0; i < src->cap; i++)
		if (src->used[i] && tomb_put(dst, src->ids[i], src->seqs[i]) != VETO_OK) {
			tomb_free(dst);
			return VETO_ERR_NOMEM;
		}
	return VETO_OK;
}

/* --------------------------------------------------------------- index --- */

struct veto_index {
	pthread_rwlock_t lock;
	pthread_mutex_t merge_mu;   /* one merge at a time */
	vidx_base *base;
	uint64_t base_dead;         /* base entries hidden by tombstones */
	vidx_hash *dh;              /* delta hashes (scanned) */
	vidx_dentry *dm;            /* delta entries, same order */
	size_t dn, dcap;
	tomb_set tombs;
	uint64_t seq;               /* last sequence number handed out */
	/* background merging */
	pthread_t worker;
	int worker_started, worker_stop, merge_wanted;
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
};

void veto_match_list_free(veto_match_list *l)
{
	if (!l) return;
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void veto_search_options_init(veto_search_options *o)
{
	memset(o, 0, sizeof *o);
	o->radius = VETO_PDQ_MATCH_THRESHOLD;
	o->min_quality = VETO_DEFAULT_MIN_QUALITY;
}

static int empty_base(vidx_base **b)
{
	return vidx_base_build(b, 0, NULL);
}

static int index_with_base(veto_index **out, vidx_base *base)
{
	veto_index *x = (veto_index *)calloc(1, sizeof *x);
	if (!x)
		return VETO_ERR_NOMEM;
	pthread_rwlock_init(&x->lock, NULL);
	pthread_mutex_init(&x->merge_mu, NULL);
	pthread_mutex_init(&x->wmu, NULL);
	pthread_cond_init(&x->wcv, NULL);
	x->base = base;
	*out = x;
	return VETO_OK;
}

int veto_index_new(veto_index **out, veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_new: no output");
	*out = NULL;
	vidx_base *b;
	if (empty_base(&b) != VETO_OK || index_with_base(out, b) != VETO_OK) {
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory creating an index");
	}
	return VETO_OK;
}

void veto_index_free(veto_index *x)
{
	if (!x)
		return;
	if (x->worker_started) {
		pthread_mutex_lock(&x->wmu);
		x->worker_stop = 1;
		pthread_cond_signal(&x->wcv);
		pthread_mutex_unlock(&x->wmu);
		pthread_join(x->worker, NULL);
	}
	vidx_base_free(x->base);
	free(x->dh);
	free(x->dm);
	tomb_free(&x->tombs);
	pthread_rwlock_destroy(&x->lock);
	pthread_mutex_destroy(&x->merge_mu);
	pthread_mutex_destroy(&x->wmu);
	pthread_cond_destroy(&x->wcv);
	free(x);
}

static int merge_now(veto_index *x, veto_error *err);

static void *merge_worker(void *arg)
{
	veto_index *x = (veto_index *)arg;
	pthread_mutex_lock(&x->wmu);
	for (;;) {
		while (!x->merge_wanted && !x->worker_stop)
			pthread_cond_wait(&x->wcv, &x->wmu);
		if (x->worker_stop)
			break;
		x->merge_wanted = 0;
		pthread_mutex_unlock(&x->wmu);
		merge_now(x, NULL); /* on failure the delta simply stays */
		pthread_mutex_lock(&x->wmu);
	}
	pthread_mutex_unlock(&x->wmu);
	return NULL;
}

/* Called with the write lock held, after an add. */
static void maybe_merge_in_background(veto_index *x)
{
	if (x->dn < MERGE_MIN || x->dn < x->base->n / 16)
		return;
	pthread_mutex_lock(&x->wmu);
	if (!x->worker_started && pthread_create(&x->worker, NULL, merge_worker, x) == 0)
		x->worker_started = 1;
	x->merge_wanted = 1;
	pthread_cond_signal(&x->wcv);
	pthread_mutex_unlock(&x->wmu);
}

int veto_index_add(veto_index *x, const veto_index_entry *e, size_t n, veto_error *err)
{
	if (!x || (!e && n))
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_add: bad arguments");
	pthread_rwlock_wrlock(&x->lock);
	if (n >= MERGE_MIN && x->base->n == 0 && x->dn == 0 && x->tombs.n == 0) {
		/* Bulk load into an empty index: build the base straight from the
		 * caller's array, with no delta and no merge (half the peak
		 * memory). Searches wait meanwhile; there is nothing to find yet. */
		const vidx_src src = {e[0].hash.bytes, (const uint8_t *)&e[0].id, &e[0].quality,
		                      (const uint8_t *)&e[0].bank, sizeof *e, sizeof *e,
		                      sizeof *e, sizeof *e};
		vidx_base *nb;
		int rc = vidx_base_build(&nb, n, &src);
		if (rc == VETO_OK) {
			vidx_base_free(x->base);
			x->base = nb;
			x->seq++;
		}
		pthread_rwlock_unlock(&x->lock);
		return rc == VETO_OK ? VETO_OK :
		       veto_fail(err, rc, "cannot build an index of %zu entries: %s", n,
		                 rc == VETO_ERR_TOO_LARGE ? "too many" : "out of memory");
	}
	if (x->dn + n > x->dcap) {
		size_t cap = x->dcap ? x->dcap : 1024;
		while (cap < x->dn + n) cap *= 2;
		vidx_hash *dh = (vidx_hash *)realloc(x->dh, cap * sizeof *dh);
		if (dh) x->dh = dh;
		vidx_dentry *dm = dh ? (vidx_dentry *)realloc(x->dm, cap * sizeof *dm) : NULL;
		if (!dh || !dm) {
			pthread_rwlock_unlock(&x->lock);
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory adding %zu entries", n);
		}
		x->dm = dm;
		x->dcap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		vidx_dentry *d = &x->dm[x->dn];
		x->dh[x->dn] = vidx_load(&e[i].hash);
		d->id = e[i].id;
		d->seq = ++x->seq;
		d->quality = e[i].quality;
		d->bank = e[i].bank;
		x->dn++;
	}
	maybe_merge_in_background(x);
	pthread_rwlock_unlock(&x->lock);
	return VETO_OK;
}

int veto_index_delete(veto_index *x, const uint64_t *ids, size_t n, size_t *deleted,
                      veto_error *err)
{
	if (deleted) *deleted = 0;
	if (!x || (!ids && n))
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_delete: bad arguments");
	tomb_set batch = {0};
	for (size_t i = 0; i < n; i++)
		if (tomb_put(&batch, ids[i], 0) != VETO_OK) {
			tomb_free(&batch);
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory deleting");
		}
	size_t count = 0;
	int rc = VETO_OK;
	pthread_rwlock_wrlock(&x->lock);
	const uint64_t seq = ++x->seq;
	/* delta: remove in place */
	size_t w = 0;
	for (size_t r = 0; r < x->dn; r++) {
		if (tomb_find(&batch, x->dm[r].id, NULL)) { count++; continue; }
		x->dm[w] = x->dm[r];
		x->dh[w] = x->dh[r];
		w++;
	}
	x->dn = w;
	/* base: count the entries newly hidden */
	const vidx_base *b = x->base;
	for (uint64_t p = 0; p < b->n; p++) {
		const uint64_t id = b->ids[p];
		if (tomb_find(&batch, id, NULL) && !tomb_find(&x->tombs, id, NULL)) {
			count++;
			x->base_dead++;
		}
	}
	/* Every id gets a tombstone, present in the base or not: a merge in
	 * progress may be folding a delta entry with this id into the next
	 * base, and the tombstone (newer than its snapshot) must follow it. */
	for (size_t i = 0; i < batch.cap && rc == VETO_OK; i++)
		if (batch.used[i])
			rc = tomb_put(&x->tombs, batch.ids[i], seq);
	pthread_rwlock_unlock(&x->lock);
	tomb_free(&batch);
	if (rc != VETO_OK)
		return veto_fail(err, rc, "out of memory deleting");
	if (deleted) *deleted = count;
	return VETO_OK;
}

/* ------------------------------------------------------------ searching --- */

typedef struct collect {
	veto_index *x;
	const veto_search_options *o;
	veto_match_list *out;
	int variant;
	int from_delta;
	int nomem;
} collect;

static int bank_ok(const veto_search_options *o, uint16_t bank)
{
	if (!o->banks)
		return 1;
	for (size_t i = 0; i < o->nbanks; i++)
		if (o->banks[i] == bank)
			return 1;
	return 0;
}

static void push_match(collect *c, uint64_t id, int d, uint8_t q, uint16_t bank, const vidx_hash *h)
{
	veto_match_list *l = c->out;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		veto_match *v = (veto_match *)realloc(l->v, cap * sizeof *v);
		if (!v) { c->nomem = 1; return; }
		l->v = v;
		l->cap = cap;
	}
	veto_match *m = &l->v[l->n++];
	m->id = id;
	m->distance = d;
	m->variant = c->variant;
	m->quality = q;
	m->bank = bank;
	memcpy(m->hash.bytes, h->w, 32);
}

static void on_base_hit(void *ctx, uint64_t pos, int d)
{
	collect *c = (collect *)ctx;
	const vidx_base *b = c->x->base;
	const uint64_t id = b->ids[pos];
	if (b->quality[pos] < c->o->min_quality || !bank_ok(c->o, b->banks[pos]))
		return;
	if (c->x->tombs.n && tomb_find(&c->x->tombs, id, NULL))
		return;
	push_match(c, id, d, b->quality[pos], b->banks[pos], &b->hashes[pos]);
}

static void on_delta_hit(void *ctx, uint64_t pos, int d)
{
	collect *c = (collect *)ctx;
	const vidx_dentry *e = &c->x->dm[pos];
	if (e->quality < c->o->min_quality || !bank_ok(c->o, e->bank))
		return;
	push_match(c, e->id, d, e->quality, e->bank, &c->x->dh[pos]);
}

static int cmp_match(const void *a, const void *b)
{
	const veto_match *x = (const veto_match *)a, *y = (const veto_match *)b;
	if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
	if (x->id != y->id) return x->id < y->id ? -1 : 1;
	if (x->variant != y->variant) return x->variant < y->variant ? -1 : 1;
	return memcmp(x->hash.bytes, y->hash.bytes, 32);
}

/* Search with the read lock held; appends to c->out. */
static void search_locked(veto_index *x, const vidx_hash *q, int radius, collect *c)
{
	if (vidx_base_search(x->base, q, radius, on_base_hit, c) != VETO_OK)
		c->nomem = 1;
	if (x->dn) {
		c->from_delta = 1;
		vidx_scan(x->dh, x->dn, q, radius, on_delta_hit, c, 0);
		c->from_delta = 0;
	}
}

static int check_opts(const veto_search_options *o, veto_error *err)
{
	if (o->radius < 0 || o->radius > 256)
		return veto_fail(err, VETO_ERR_INVALID, "radius %d is outside 0..256", o->radius);
	if (o->banks == NULL && o->nbanks)
		return veto_fail(err, VETO_ERR_INVALID, "bank list missing");
	return VETO_OK;
}

static void finish_list(veto_match_list *out, const veto_search_options *o)
{
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_match);
	if (o->limit && out->n > o->limit)
		out->n = o->limit;
}

/* Search each of nq query hashes (as variants 0..nq-1) under one read
 * lock, appending to *out: the common body of the plain and dihedral
 * searches. A query below the quality floor gets an empty list. */
static int search_variants(veto_index *x, const veto_pdq_hash *q, int nq, int query_quality,
                           const veto_search_options *opts, veto_search_options *o,
                           veto_match_list *out, veto_error *err, const char *fn)
{
	if (opts) *o = *opts; else veto_search_options_init(o);
	if (!x || !q || !out)
		return veto_fail(err, VETO_ERR_INVALID, "%s: bad arguments", fn);
	int rc = check_opts(o, err);
	if (rc) return rc;
	out->n = 0;
	if (query_quality < o->min_quality)
		return VETO_OK;
	collect c = {x, o, out, 0, 0, 0};
	pthread_rwlock_rdlock(&x->lock);
	for (int v = 0; v < nq; v++) {
		const vidx_hash qh = vidx_load(&q[v]);
		c.variant = v;
		search_locked(x, &qh, o->radius, &c);
	}
	pthread_rwlock_unlock(&x->lock);
	if (c.nomem)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory collecting matches");
	return VETO_OK;
}

int veto_index_search(veto_index *x, const veto_pdq_hash *q, int query_quality,
                      const veto_search_options *opts, veto_match_list *out, veto_error *err)
{
	veto_search_options o;
	int rc = search_variants(x, q, 1, query_quality, opts, &o, out, err, "veto_index_search");
	if (rc == VETO_OK)
		finish_list(out, &o);
	return rc;
}

static int cmp_id_dist(const void *a, const void *b)
{
	const veto_match *x = (const veto_match *)a, *y = (const veto_match *)b;
	if (x->id != y->id) return x->id < y->id ? -1 : 1;
	int h = memcmp(x->hash.bytes, y->hash.bytes, 32);
	if (h) return h;
	if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
	return x->variant < y->variant ? -1 : x->variant > y->variant;
}

int veto_index_search_dihedral(veto_index *x, const veto_pdq_hash q[VETO_DIH_COUNT],
                               int query_quality, const veto_search_options *opts,
                               veto_match_list *out, veto_error *err)
{
	veto_search_options o;
	int rc = search_variants(x, q, VETO_DIH_COUNT, query_quality, opts, &o, out, err,
	                         "veto_index_search_dihedral");
	if (rc != VETO_OK)
		return rc;
	/* One result per entry (same id and hash): its nearest variant. */
	if (out->n > 1) {
		qsort(out->v, out->n, sizeof *out->v, cmp_id_dist);
		size_t w = 0;
		for (size_t r = 0; r < out->n; r++)
			if (!w || out->v[w - 1].id != out->v[r].id ||
			    memcmp(out->v[w - 1].hash.bytes, out->v[r].hash.bytes, 32))
				out->v[w++] = out->v[r];
		out->n = w;
	}
	finish_list(out, &o);
	return VETO_OK;
}

int veto_index_knn(veto_index *x, const veto_pdq_hash *q, size_t k,
                   const veto_search_options *opts, veto_match_list *out, veto_error *err)
{
	veto_search_options o;
	if (opts) o = *opts; else veto_search_options_init(&o);
	if (!x || !q || !out)
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_knn: bad arguments");
	out->n = 0;
	if (!k)
		return VETO_OK;
	o.limit = k;
	/* Grow the radius until k entries are inside it: each step is an exact
	 * radius search, so the k nearest are exact too. */
	static const int radii[] = {8, 16, 31, 48, 64, 96, 128, 256};
	for (size_t i = 0; i < sizeof radii / sizeof *radii; i++) {
		o.radius = radii[i];
		int rc = veto_index_search(x, q, 100, &o, out, err);
		if (rc) return rc;
		if (out->n >= k)
			return VETO_OK;
	}
	return VETO_OK; /* fewer than k live entries pass the filters */
}

/* -------------------------------------------------------------- merging --- */

typedef struct snap {
	vidx_hash *h;
	uint64_t *ids;
	uint8_t *q;
	uint16_t *banks;
	uint64_t n;
} snap;

static int merge_now(veto_index *x, veto_error *err)
{
	pthread_mutex_lock(&x->merge_mu);
	pthread_rwlock_rdlock(&x->lock);
	const int nothing = x->dn == 0 && x->tombs.n == 0;
	pthread_rwlock_unlock(&x->lock);
	if (nothing) { /* no delta, no tombstones: the base is already it */
		pthread_mutex_unlock(&x->merge_mu);
		return VETO_OK;
	}
	/* 1. snapshot under the read lock: the base can't change (merges are
	 * serialised) and the delta/tombstones are copied. */
	pthread_rwlock_rdlock(&x->lock);
	const uint64_t S = x->seq;
	vidx_base *old = x->base;
	tomb_set tombs;
	int rc = tomb_copy(&tombs, &x->tombs);
	const size_t dn = x->dn;
	snap s = {0};
	const uint64_t cap = old->n + dn;
	if (rc == VETO_OK && cap) {
		s.h = (vidx_hash *)malloc(cap * sizeof *s.h);
		s.ids = (uint64_t *)malloc(cap * 8);
		s.q = (uint8_t *)malloc(cap);
		s.banks = (uint16_t *)malloc(cap * 2);
		if (!s.h || !s.ids || !s.q || !s.banks)
			rc = VETO_ERR_NOMEM;
	}
	if (rc == VETO_OK)
		for (size_t i = 0; i < dn; i++) {
			s.h[s.n] = x->dh[i];
			s.ids[s.n] = x->dm[i].id;
			s.q[s.n] = x->dm[i].quality;
			s.banks[s.n] = x->dm[i].bank;
			s.n++;
		}
	pthread_rwlock_unlock(&x->lock);
	/* 2. the old base's live entries, then build (no lock held). */
	vidx_base *nb = NULL;
	if (rc == VETO_OK) {
		for (uint64_t p = 0; p < old->n; p++) {
			if (tombs.n && tomb_find(&tombs, old->ids[p], NULL))
				continue;
			s.h[s.n] = old->hashes[p];
			s.ids[s.n] = old->ids[p];
			s.q[s.n] = old->quality[p];
			s.banks[s.n] = old->banks[p];
			s.n++;
		}
		const vidx_src src = {(const uint8_t *)s.h, (const uint8_t *)s.ids, s.q,
		                      (const uint8_t *)s.banks, 32, 8, 1, 2};
		rc = vidx_base_build(&nb, s.n, &src);
	}
	free(s.h); free(s.ids); free(s.q); free(s.banks);
	tomb_free(&tombs);
	if (rc != VETO_OK) {
		pthread_mutex_unlock(&x->merge_mu);
		return veto_fail(err, rc, "out of memory merging the index");
	}
	/* 3. swap, keeping what changed since the snapshot. */
	pthread_rwlock_wrlock(&x->lock);
	size_t w = 0;
	for (size_t r = 0; r < x->dn; r++)
		if (x->dm[r].seq > S) {
			x->dm[w] = x->dm[r];
			x->dh[w] = x->dh[r];
			w++;
		}
	x->dn = w;
	if (x->dcap > 4096 && x->dn < x->dcap / 4) {
		/* the delta was folded in: give its memory back */
		size_t cap = x->dn > 1024 ? x->dn : 1024;
		vidx_hash *dh = (vidx_hash *)realloc(x->dh, cap * sizeof *dh);
		if (dh) x->dh = dh;
		vidx_dentry *dm = (vidx_dentry *)realloc(x->dm, cap * sizeof *dm);
		if (dm) x->dm = dm;
		if (dh && dm) x->dcap = cap;
	}
	rc = tomb_keep_after(&x->tombs, S);
	x->base = nb;
	x->base_dead = 0;
	if (x->tombs.n)
		for (uint64_t p = 0; p < nb->n; p++)
			x->base_dead += tomb_find(&x->tombs, nb->ids[p], NULL);
	pthread_rwlock_unlock(&x->lock);
	vidx_base_free(old);
	pthread_mutex_unlock(&x->merge_mu);
	if (rc != VETO_OK)
		return veto_fail(err, rc, "out of memory merging the index");
	return VETO_OK;
}

int veto_index_merge(veto_index *x, veto_error *err)
{
	if (!x)
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_merge: no index");
	return merge_now(x, err);
}

void veto_index_stats_get(veto_index *x, veto_index_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!x)
		return;
	pthread_rwlock_rdlock(&x->lock);
	st->base_entries = x->base->n;
	st->delta_entries = x->dn;
	st->tombstones = x->tombs.n;
	st->entries = x->base->n - x->base_dead + x->dn;
	st->slices = x->base->nslices;
	st->mapped = x->base->mapped;
	st->bytes = x->base->memlen + x->dcap * (sizeof(vidx_hash) + sizeof(vidx_dentry)) +
	            x->tombs.cap * 17 + sizeof *x;
	pthread_rwlock_unlock(&x->lock);
}

int veto_index_save(veto_index *x, const char *path, veto_error *err)
{
	if (!x || !path)
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_save: bad arguments");
	int rc = merge_now(x, err);
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&x->lock);
	/* Changes made after the merge stay in memory only: save what merged. */
	rc = vidx_file_write(x->base, path, err);
	pthread_rwlock_unlock(&x->lock);
	return rc;
}

int veto_index_load(veto_index **out, const char *path, veto_error *err)
{
	if (!out || !path)
		return veto_fail(err, VETO_ERR_INVALID, "veto_index_load: bad arguments");
	*out = NULL;
	vidx_base *b;
	int rc = vidx_file_map(&b, path, err);
	if (rc)
		return rc;
	if (index_with_base(out, b) != VETO_OK) {
		vidx_base_free(b);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	return VETO_OK;
}

int veto_index_foreach(veto_index *x, int (*fn)(void *ctx, const veto_index_entry *e),
                       void *ctx)
{
	int rc = 0;
	veto_index_entry e;
	pthread_rwlock_rdlock(&x->lock);
	const vidx_base *b = x->base;
	for (uint64_t p = 0; p < b->n && !rc; p++) {
		if (x->tombs.n && tomb_find(&x->tombs, b->ids[p], NULL))
			continue;
		memcpy(e.hash.bytes, b->hashes[p].w, 32);
		e.id = b->ids[p];
		e.quality = b->quality[p];
		e.bank = b->banks[p];
		rc = fn(ctx, &e);
	}
	for (size_t p = 0; p < x->dn && !rc; p++) {
		memcpy(e.hash.bytes, x->dh[p].w, 32);
		e.id = x->dm[p].id;
		e.quality = x->dm[p].quality;
		e.bank = x->dm[p].bank;
		rc = fn(ctx, &e);
	}
	pthread_rwlock_unlock(&x->lock);
	return rc;
}
