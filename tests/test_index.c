/*
 * test_index.c - the hash index finds exactly what brute force finds.
 *
 * Every search below is checked against an independent brute-force scan
 * written here (a plain popcount loop over the entries the test itself
 * keeps), over uniform random hashes and over skewed, clustered ones (the
 * shape of real PDQ banks: near-duplicates and biased bits), at sizes
 * below and above the point where the index switches from scanning to
 * multi-index hashing, for radii 0..256. Then: dihedral queries, k-nearest,
 * quality and bank filters, adds and deletes visible at once, merges
 * (including one running on another thread while searches and writes go
 * on), and save/load with damaged files refused.
 */
#include "check.h"
#include "veto.h"
#include "index_internal.h" /* white-box: the slice plan, for worst cases */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next64(void)
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return rng;
}

typedef struct ref_entry {
	veto_pdq_hash h;
	uint64_t id;
	uint8_t q;
	uint16_t bank;
	int live;
} ref_entry;

typedef struct ref_set {
	ref_entry *v;
	size_t n, cap;
} ref_set;

static void ref_add(ref_set *r, const veto_index_entry *e)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->v = realloc(r->v, r->cap * sizeof *r->v);
		REQUIRE(r->v, "out of memory");
	}
	r->v[r->n++] = (ref_entry){e->hash, e->id, e->quality, e->bank, 1};
}

static void random_hash(veto_pdq_hash *h)
{
	for (int i = 0; i < 32; i += 8) {
		uint64_t x = next64();
		memcpy(h->bytes + i, &x, 8);
	}
}

/* Flip exactly d distinct bits. */
static void flip_bits(veto_pdq_hash *h, int d)
{
	int done[256] = {0};
	for (int k = 0; k < d;) {
		int b = (int)(next64() % 256);
		if (done[b]) continue;
		done[b] = 1;
		h->bytes[b / 8] ^= (uint8_t)(1u << (b % 8));
		k++;
	}
}

/* Skewed: bits biased (some nearly always 1 or 0) and clusters of
 * near-duplicates, like hashes of edited copies of the same photos. */
static void skewed_hash(veto_pdq_hash *h, const veto_pdq_hash *centres, int ncentres)
{
	*h = centres[next64() % (uint64_t)ncentres];
	flip_bits(h, (int)(next64() % 40));
}

/* Flip d bits spread evenly over the 256 (random phase): the worst case
 * for multi-index hashing, where every slice carries about the same share
 * of the distance and the pigeonhole bound is met exactly. */
static void flip_spread(veto_pdq_hash *h, int d)
{
	const double step = 256.0 / d, phase = (double)(next64() % 1000) / 1000.0 * step;
	for (int k = 0; k < d; k++) {
		int b = (int)(phase + k * step) % 256;
		h->bytes[b / 8] ^= (uint8_t)(1u << (b % 8));
	}
}

static int brute(const ref_set *r, const veto_pdq_hash *q, int radius, int minq,
                 const uint16_t *banks, size_t nbanks, veto_match *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++) {
		const ref_entry *e = &r->v[i];
		if (!e->live || e->q < minq) continue;
		if (banks) {
			int ok = 0;
			for (size_t b = 0; b < nbanks; b++) ok |= banks[b] == e->bank;
			if (!ok) continue;
		}
		int d = veto_pdq_distance(q, &e->h);
		if (d > radius) continue;
		REQUIRE(n < cap, "brute-force buffer too small");
		out[n].id = e->id;
		out[n].distance = d;
		out[n].hash = e->h;
		n++;
	}
	return (int)n;
}

static int cmp_m(const void *a, const void *b)
{
	const veto_match *x = a, *y = b;
	if (x->distance != y->distance) return x->distance - y->distance;
	if (x->id != y->id) return x->id < y->id ? -1 : 1;
	return memcmp(x->hash.bytes, y->hash.bytes, 32);
}

static veto_match *scratch;
#define SCRATCH_CAP 400000

/* The index's answer must equal brute force: same (id, hash, distance) set. */
static void same_as_brute(veto_index *idx, const ref_set *r, const veto_pdq_hash *q, int radius,
                          int minq, const uint16_t *banks, size_t nbanks, const char *what)
{
	veto_search_options o;
	veto_search_options_init(&o);
	o.radius = radius;
	o.min_quality = minq;
	o.banks = banks;
	o.nbanks = nbanks;
	veto_match_list got = {0};
	veto_error err;
	CHECK_INT(veto_index_search(idx, q, 100, &o, &got, &err), VETO_OK, "%s: search", what);
	int n = brute(r, q, radius, minq, banks, nbanks, scratch, SCRATCH_CAP);
	qsort(scratch, (size_t)n, sizeof *scratch, cmp_m);
	CHECK_INT((int)got.n, n, "%s r=%d: number of matches", what, radius);
	if ((int)got.n == n)
		for (int i = 0; i < n; i++)
			if (got.v[i].id != scratch[i].id || got.v[i].distance != scratch[i].distance ||
			    memcmp(got.v[i].hash.bytes, scratch[i].hash.bytes, 32)) {
				CHECK(0, "%s r=%d: match %d differs (id %llu d %d vs id %llu d %d)", what, radius,
				      i, (unsigned long long)got.v[i].id, got.v[i].distance,
				      (unsigned long long)scratch[i].id, scratch[i].distance);
				break;
			}
	veto_match_list_free(&got);
}

static veto_index *build(ref_set *r, size_t n, int skewed, const veto_pdq_hash *centres,
                         int ncentres, uint64_t id0)
{
	veto_index *idx;
	veto_error err;
	REQUIRE(veto_index_new(&idx, &err) == VETO_OK, "new: %s", err.message);
	veto_index_entry *e = calloc(n, sizeof *e);
	REQUIRE(e, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (skewed) skewed_hash(&e[i].hash, centres, ncentres);
		else random_hash(&e[i].hash);
		e[i].id = id0 + i;
		e[i].quality = (uint8_t)(40 + next64() % 61);
		e[i].bank = (uint16_t)(next64() % 4);
		ref_add(r, &e[i]);
	}
	REQUIRE(veto_index_add(idx, e, n, &err) == VETO_OK, "add: %s", err.message);
	REQUIRE(veto_index_merge(idx, &err) == VETO_OK, "merge: %s", err.message);
	free(e);
	return idx;
}

static void queries(veto_index *idx, const ref_set *r, int nq, const char *what)
{
	static const int radii[] = {0, 1, 7, 15, 31, 32, 40, 63, 64, 100, 128, 256};
	const int nr = (int)(sizeof radii / sizeof *radii);
	for (int i = 0; i < nq; i++) {
		const int radius = radii[i % nr], kind = (i / nr + i) % 3;
		veto_pdq_hash q;
		if (kind == 1 && r->n) { /* near an entry, at a random distance */
			q = r->v[next64() % r->n].h;
			flip_bits(&q, (int)(next64() % 48));
		} else if (kind == 2 && r->n) { /* at the radius, spread evenly */
			q = r->v[next64() % r->n].h;
			flip_spread(&q, radius < 1 ? 1 : radius > 120 ? 120 : radius - (int)(next64() % 2));
		} else {
			random_hash(&q);
		}
		/* big radii on big sets mean huge answers: keep them to a few */
		if (radius > 64 && r->n > 50000 && i > 36) continue;
		same_as_brute(idx, r, &q, radius, 0, NULL, 0, what);
		if (i % 5 == 0)
			same_as_brute(idx, r, &q, 31, 50, NULL, 0, what);
		if (i % 7 == 0) {
			static const uint16_t banks[] = {1, 3};
			same_as_brute(idx, r, &q, 31, 0, banks, 2, what);
		}
	}
}

static void test_sizes(void)
{
	static const size_t sizes[] = {0, 1, 100, 5000, 30000, 200000};
	veto_pdq_hash centres[64];
	for (int c = 0; c < 64; c++) {
		random_hash(&centres[c]);
		/* bias: force some bytes towards a value */
		centres[c].bytes[c % 32] = 0xff;
	}
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
		for (int skew = 0; skew < 2; skew++) {
			ref_set r = {0};
			veto_index *idx = build(&r, sizes[s], skew, centres, 64, 1000);
			veto_index_stats st;
			veto_index_stats_get(idx, &st);
			CHECK_INT((int)st.entries, (int)sizes[s], "entries after build");
			char what[64];
			snprintf(what, sizeof what, "%s n=%zu slices=%d", skew ? "skewed" : "uniform", sizes[s],
			         st.slices);
			queries(idx, &r, sizes[s] > 50000 ? 120 : 60, what);
			veto_index_free(idx);
			free(r.v);
		}
}

/* The pigeonhole bound, exactly at its edge: a query at distance r whose
 * bits are shared out between the slices as evenly as possible (each slice
 * gets r/m or r/m + 1), over every way of choosing which slices get the
 * extra bit. Random queries almost never land here. */
static void test_pigeonhole_edges(void)
{
	static const size_t sizes[] = {30000, 200000};
	for (size_t si = 0; si < 2; si++) {
		int m, lens[VIDX_MAX_SLICES];
		vidx_plan(sizes[si], &m, lens);
		CHECK(m > 0, "n=%zu uses multi-index hashing", sizes[si]);
		if (!m) continue;
		ref_set r = {0};
		veto_index *idx = build(&r, sizes[si], 0, NULL, 0, 0);
		const int radii[] = {m - 1, 20, 31, 45};
		for (int ri = 0; ri < 4; ri++) {
			const int radius = radii[ri], s0 = radius / m, extra = radius - s0 * m;
			int checked = 0;
			/* all subsets of `extra` slices when few, else a random sample */
			for (uint64_t mask = 0; mask < (1ull << m) && checked < 3000; mask++) {
				if (__builtin_popcountll(mask) != extra) continue;
				if (m > 14 && next64() % 8) continue;
				const ref_entry *e = &r.v[next64() % r.n];
				veto_pdq_hash q = e->h;
				int start = 0;
				for (int i = 0; i < m; i++) {
					int d = s0 + (int)((mask >> i) & 1), done[32] = {0};
					for (int k = 0; k < d;) {
						int b = (int)(next64() % (uint64_t)lens[i]);
						if (done[b]) continue;
						done[b] = 1;
						int bit = start + b;
						q.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
						k++;
					}
					start += lens[i];
				}
				REQUIRE(veto_pdq_distance(&q, &e->h) == radius, "built a query at the radius");
				same_as_brute(idx, &r, &q, radius, 0, NULL, 0, "pigeonhole edge");
				checked++;
			}
		}
		veto_index_free(idx);
		free(r.v);
	}
}

/* Dihedral: one call over 8 variants = the union of 8 searches, each entry
 * once at its nearest variant. */
static void test_dihedral_knn(void)
{
	ref_set r = {0};
	veto_index *idx = build(&r, 60000, 0, NULL, 0, 0);
	veto_error err;
	for (int t = 0; t < 20; t++) {
		veto_pdq_hash q[VETO_DIH_COUNT];
		for (int v = 0; v < VETO_DIH_COUNT; v++) {
			q[v] = r.v[next64() % r.n].h;
			flip_bits(&q[v], (int)(next64() % 36));
		}
		veto_search_options o;
		veto_search_options_init(&o);
		o.min_quality = 0;
		veto_match_list got = {0};
		CHECK_INT(veto_index_search_dihedral(idx, q, 100, &o, &got, &err), VETO_OK, "dihedral");
		/* expected: for each entry the min distance over variants if <= 31 */
		size_t want = 0;
		for (size_t i = 0; i < r.n; i++) {
			int best = 999, bv = -1;
			for (int v = 0; v < VETO_DIH_COUNT; v++) {
				int d = veto_pdq_distance(&q[v], &r.v[i].h);
				if (d < best) { best = d; bv = v; }
			}
			if (best > 31) continue;
			want++;
			int found = 0;
			for (size_t k = 0; k < got.n; k++)
				if (got.v[k].id == r.v[i].id) {
					found = 1;
					CHECK_INT(got.v[k].distance, best, "dihedral distance of id %llu",
					          (unsigned long long)r.v[i].id);
					CHECK_INT(veto_pdq_distance(&q[got.v[k].variant], &r.v[i].h), best,
					          "reported variant achieves the distance");
					(void)bv;
				}
			CHECK(found, "dihedral: id %llu missing", (unsigned long long)r.v[i].id);
		}
		CHECK_INT((int)got.n, (int)want, "dihedral: number of matches");
		/* k nearest of q[0] */
		veto_match_list kn = {0};
		CHECK_INT(veto_index_knn(idx, &q[0], 10, &o, &kn, &err), VETO_OK, "knn");
		int n = brute(&r, &q[0], 256, 0, NULL, 0, scratch, SCRATCH_CAP);
		qsort(scratch, (size_t)n, sizeof *scratch, cmp_m);
		CHECK_INT((int)kn.n, 10, "knn returns k");
		for (size_t k = 0; k < kn.n && k < 10; k++)
			CHECK(kn.v[k].id == scratch[k].id && kn.v[k].distance == scratch[k].distance,
			      "knn #%zu: id %llu d %d, brute force id %llu d %d", k,
			      (unsigned long long)kn.v[k].id, kn.v[k].distance,
			      (unsigned long long)scratch[k].id, scratch[k].distance);
		veto_match_list_free(&kn);
		veto_match_list_free(&got);
	}
	/* a query below the quality floor gets nothing */
	veto_search_options o;
	veto_search_options_init(&o);
	veto_match_list got = {0};
	CHECK_INT(veto_index_search(idx, &r.v[0].h, 49, &o, &got, &err), VETO_OK, "low-quality query");
	CHECK_INT((int)got.n, 0, "a query of quality 49 matches nothing at the default floor");
	o.radius = 257;
	CHECK_INT(veto_index_search(idx, &r.v[0].h, 100, &o, &got, &err), VETO_ERR_INVALID, "radius 257");
	veto_match_list_free(&got);
	veto_index_free(idx);
	free(r.v);
}

static void mark_dead(ref_set *r, uint64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].id == id) r->v[i].live = 0;
}

/* Adds and deletes are visible to the next query, before and after merges. */
static void test_changes(void)
{
	ref_set r = {0};
	veto_index *idx = build(&r, 50000, 0, NULL, 0, 0);
	veto_error err;
	veto_search_options o;
	veto_search_options_init(&o);
	o.min_quality = 0;
	veto_match_list got = {0};
	for (int round = 0; round < 6; round++) {
		/* delete 50 random ids (some twice, some absent) */
		uint64_t del[60];
		for (int i = 0; i < 60; i++)
			del[i] = i < 50 ? r.v[next64() % r.n].id : 10000000 + (uint64_t)i;
		size_t deleted = 0;
		CHECK_INT(veto_index_delete(idx, del, 60, &deleted, &err), VETO_OK, "delete");
		size_t want = 0;
		for (int i = 0; i < 60; i++)
			for (size_t k = 0; k < r.n; k++)
				if (r.v[k].id == del[i] && r.v[k].live) { r.v[k].live = 0; want++; }
		CHECK_INT((int)deleted, (int)want, "deleted count, round %d", round);
		/* a deleted entry no longer matches itself */
		for (int i = 0; i < 50; i++)
			for (size_t k = 0; k < r.n; k++)
				if (r.v[k].id == del[i]) {
					CHECK_INT(veto_index_search(idx, &r.v[k].h, 100, &o, &got, &err), VETO_OK, "s");
					for (size_t m = 0; m < got.n; m++)
						CHECK(got.v[m].id != del[i], "deleted id %llu still matches",
						      (unsigned long long)del[i]);
				}
		/* add 500 new, and re-add one deleted id with a new hash */
		veto_index_entry e[501];
		for (int i = 0; i < 500; i++) {
			random_hash(&e[i].hash);
			e[i].id = 2000000 + (uint64_t)round * 1000 + (uint64_t)i;
			e[i].quality = 90;
			e[i].bank = VETO_BANK_NONE;
		}
		random_hash(&e[500].hash);
		e[500].id = del[0];
		e[500].quality = 90;
		e[500].bank = 7;
		CHECK_INT(veto_index_add(idx, e, 501, &err), VETO_OK, "add");
		for (int i = 0; i < 501; i++)
			ref_add(&r, &e[i]);
		for (int i = 0; i < 501; i += 50) {
			CHECK_INT(veto_index_search(idx, &e[i].hash, 100, &o, &got, &err), VETO_OK, "s");
			int found = 0;
			for (size_t m = 0; m < got.n; m++) found |= got.v[m].id == e[i].id && !got.v[m].distance;
			CHECK(found, "an entry added a moment ago is found (round %d, #%d)", round, i);
		}
		queries(idx, &r, 30, "after changes");
		if (round % 2)
			CHECK_INT(veto_index_merge(idx, &err), VETO_OK, "merge");
		queries(idx, &r, 30, round % 2 ? "after merge" : "before merge");
		veto_index_stats st;
		veto_index_stats_get(idx, &st);
		size_t live = 0;
		for (size_t k = 0; k < r.n; k++) live += r.v[k].live;
		CHECK_INT((int)st.entries, (int)live, "live entry count, round %d", round);
	}
	(void)mark_dead;
	veto_match_list_free(&got);
	veto_index_free(idx);
	free(r.v);
}

/* A merge on another thread while this one searches and writes. */
typedef struct merger { veto_index *idx; int rc; } merger;
static void *do_merge(void *p)
{
	merger *m = p;
	veto_error err;
	m->rc = veto_index_merge(m->idx, &err);
	return NULL;
}

static void test_concurrent_merge(void)
{
	ref_set r = {0};
	veto_index *idx = build(&r, 40000, 0, NULL, 0, 0);
	veto_error err;
	veto_index_entry e[2000];
	for (int i = 0; i < 2000; i++) {
		random_hash(&e[i].hash);
		e[i].id = 5000000 + (uint64_t)i;
		e[i].quality = 100;
		e[i].bank = 0;
		ref_add(&r, &e[i]);
	}
	CHECK_INT(veto_index_add(idx, e, 1000, &err), VETO_OK, "add");
	merger m = {idx, -1};
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, do_merge, &m) == 0, "thread");
	/* meanwhile: add the second half, delete some of the first */
	CHECK_INT(veto_index_add(idx, e + 1000, 1000, &err), VETO_OK, "add during merge");
	uint64_t del[100];
	for (int i = 0; i < 100; i++) {
		del[i] = e[i * 7].id;
		mark_dead(&r, del[i]);
	}
	CHECK_INT(veto_index_delete(idx, del, 100, NULL, &err), VETO_OK, "delete during merge");
	queries(idx, &r, 20, "during merge");
	pthread_join(t, NULL);
	CHECK_INT(m.rc, VETO_OK, "merge on a thread");
	queries(idx, &r, 40, "after concurrent merge");
	veto_index_free(idx);
	free(r.v);
}

static void flip_file_byte(const char *path, long off)
{
	FILE *f = fopen(path, "r+b");
	REQUIRE(f, "open %s", path);
	fseek(f, off, SEEK_SET);
	int c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
}

static void copy_file(const char *from, const char *to, long len)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	REQUIRE(a && b, "copy");
	int c;
	long n = 0;
	while ((len < 0 || n < len) && (c = fgetc(a)) != EOF) { fputc(c, b); n++; }
	fclose(a);
	fclose(b);
}

static void test_files(void)
{
	char dir[] = "/tmp/veto-index-test-XXXXXX";
	REQUIRE(mkdtemp(dir), "mkdtemp");
	char path[256], bad[256];
	snprintf(path, sizeof path, "%s/bank.vidx", dir);
	snprintf(bad, sizeof bad, "%s/bad.vidx", dir);
	veto_error err;
	for (int big = 0; big < 2; big++) {
		ref_set r = {0};
		veto_index *idx = build(&r, big ? 40000 : 300, 0, NULL, 0, 77);
		uint64_t del = r.v[3].id;
		mark_dead(&r, del);
		CHECK_INT(veto_index_delete(idx, &del, 1, NULL, &err), VETO_OK, "delete");
		CHECK_INT(veto_index_save(idx, path, &err), VETO_OK, "save: %s", err.message);
		veto_index_free(idx);
		veto_index *ld;
		CHECK_INT(veto_index_load(&ld, path, &err), VETO_OK, "load: %s", err.message);
		veto_index_stats st;
		veto_index_stats_get(ld, &st);
		CHECK(st.mapped, "a loaded index is mapped");
		CHECK_INT((int)st.entries, (int)r.n - 1, "entries after load");
		queries(ld, &r, 40, big ? "loaded (big)" : "loaded (small)");
		/* a loaded index takes changes too */
		veto_index_entry e = {r.v[0].h, 999999, 100, 1};
		CHECK_INT(veto_index_add(ld, &e, 1, &err), VETO_OK, "add to a loaded index");
		ref_add(&r, &e);
		queries(ld, &r, 10, "loaded + delta");
		veto_index_free(ld);
		free(r.v);

		/* damaged copies are refused */
		FILE *f = fopen(path, "rb");
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		fclose(f);
		const long cuts[] = {0, 10, 4095, 4096, 4200, size / 2, size - 1};
		for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
			copy_file(path, bad, cuts[i]);
			memset(&err, 0, sizeof err);
			CHECK_INT(veto_index_load(&ld, bad, &err), VETO_ERR_CORRUPT, "truncated to %ld", cuts[i]);
			CHECK(strstr(err.message, "bad.vidx") != NULL, "message names the file: %s", err.message);
		}
		const long flips[] = {0, 20, 100, 4090, 4096, 4096 + 33, size / 3, size - 1};
		for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
			copy_file(path, bad, -1);
			flip_file_byte(bad, flips[i]);
			memset(&err, 0, sizeof err);
			int rc = veto_index_load(&ld, bad, &err);
			CHECK(rc == VETO_ERR_CORRUPT || rc == VETO_ERR_UNSUPPORTED,
			      "byte %ld flipped: refused (rc %d, %s)", flips[i], rc, err.message);
			if (rc == VETO_OK) veto_index_free(ld);
		}
	}
	CHECK_INT(veto_index_load(&(veto_index *){0}, "/nonexistent/x.vidx", &err), VETO_ERR_IO, "missing file");
	/* saving over an existing file replaces it whole; no temp files left */
	unlink(bad);
	unlink(path);
	CHECK(rmdir(dir) == 0, "no stray temporary files left in %s", dir);
}

int main(void)
{
	scratch = malloc(SCRATCH_CAP * sizeof *scratch);
	REQUIRE(scratch, "out of memory");
	test_sizes();
	test_pigeonhole_edges();
	test_dihedral_knn();
	test_changes();
	test_concurrent_merge();
	test_files();
	free(scratch);
	return check_exit("test_index");
}
