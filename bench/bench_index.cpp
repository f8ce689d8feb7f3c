/*
 * bench_index.cpp - veto's hash index against FAISS and a plain scan.
 *
 * For each size N and each distribution, in one process:
 *   veto        veto_index_* (lib/index*.c): add in chunks of 1M, then
 *               veto_index_merge; search with radius r, min_quality 0,
 *               query quality 100 (FAISS has no quality filter)
 *   faiss-mh    faiss::IndexBinaryMultiHash(256, 16, 16) with
 *               nflip = r / 16, as HMA's PDQMultiHashIndex configures it
 *               (HMA also wraps it in an IndexBinaryIDMap2, left out here:
 *               that only adds memory)
 *   faiss-flat  faiss::IndexBinaryFlat(256)
 *   scan        a plain C popcount scan over the hash array (4 x popcnt per
 *               hash, no SIMD beyond that): the brute force that every
 *               other result is checked against
 * FAISS's binary range_search returns distances < radius (strictly: see
 * faiss/IndexBinary.h), so it is called with radius r + 1, as HMA does.
 * Debian's libfaiss.a is built for baseline x86-64: its Hamming code calls
 * libgcc's software popcount (no popcnt instruction), which is why
 * faiss-flat is several times slower than the plain scan here; FAISS builds
 * for AVX2 would close that gap for faiss-flat and speed up faiss-mh's
 * candidate checks, not its hash-map lookups.
 *
 * Memory: before building veto or faiss-mh at a given N, the peak bytes per
 * hash measured for it last in the run (until then 175 B for veto, 300 B
 * for faiss-mh: what they took at 10M) times N is compared with MemAvailable; if it would not
 * fit, that method is skipped at that N with the reason printed, rather
 * than risking the OOM killer. At N = 100M both are skipped today:
 * faiss-mh holds ~250 B/hash, and veto, while it holds ~95 B/hash once
 * built, peaks at ~255 B/hash while add + merge build it (the delta keeps
 * each hash twice, then merge copies everything once more beside the new
 * base), so ~25 GB, plus this program's 3.2 GB copy of the hashes.
 *
 * Figures per method: build time (veto: add + merge; FAISS: add), memory
 * (veto: veto_index_stats.bytes, and for everyone the growth of the resident
 * set, /proc/self/statm, across the build; plus the peak resident set
 * during the build), p50/p99 latency of single queries on one thread,
 * throughput on two threads (veto and scan: two threads taking queries one
 * by one; FAISS: one batch call with 2 OpenMP threads, the way HMA calls
 * it), and recall against the scan: every entry within r must come back,
 * and nothing else (a method that returns an entry outside r, or a wrong
 * distance, is flagged). The scans (scan, faiss-flat) are timed on the
 * first --scan-queries queries only (their latency hardly varies); the
 * scan's 2-thread pass is the ground truth for all queries.
 *
 * Distributions:
 *   uniform  uniform random 256-bit hashes.
 *   real     skewed like real PDQ hashes. bench/make_corpus (run by
 *            bench/run_index.sh, cached in build-bench/corpus.bin) hashes
 *            edited copies (crops >= 20% of a side, rescales,
 *            brightness/contrast/gamma, mirrors) of the shared photos
 *            (testdata pdq/ and provenance/: 31 scenes, 16000 copies each)
 *            and of every frame of the 14 shared videos (5872 frames, the
 *            frame plus 7 copies each): ~436k hashes of quality >= 50,
 *            about 2 minutes on 2 cores. Hashing 10M copies instead would
 *            take ~30 minutes, hence the expansion below. That corpus is
 *            shuffled; 90% are donors for the indexed hashes, 10% donors
 *            for the unrelated queries. N hashes are then made from it:
 *            - an "image" is a mosaic of 4 real hashes: the 256 bits are
 *              cut at 3 random points (in the byte order of veto_pdq_hash)
 *              and each of the 4 segments is copied from a different random
 *              real hash. Each segment keeps the real joint distribution of
 *              its bits (so the bit-marginal skew, and the skew of any
 *              slice an index keys on that falls inside one segment, are
 *              the real ones), while two mosaics are as far apart as two
 *              real hashes of different pictures usually are;
 *            - near-copies: each image has, with probability 1/2 each time
 *              (geometric, mean family size 2), further members: the image
 *              with a run of f * 256 consecutive bits, f ~ U(0.1, 0.4),
 *              replaced by the same bits of another random real hash (so
 *              marginals and within-run structure still hold), i.e. some
 *              13..51 bits away: the clusters a bank holds (frames of one
 *              video, re-encodes, crops).
 *            --stats prints, for the real corpus, uniform hashes and the
 *            expanded corpus: per-bit bias, how much fuller than uniform the
 *            16-bit and 32-bit slices' buckets are, and distances of random
 *            pairs, so the claim "skew preserved" can be checked. Measured:
 *            real corpus 10.2x (16-bit) and 2.2e5x (32-bit) fuller than
 *            uniform, expanded 10M 7.5x and 0.96e5x; per-bit bias the same
 *            (mean |p - 0.5| 0.009, max 0.05). Differences from real PDQ:
 *            a mosaic's weight is not exactly 128 (sd 6 bits), and with
 *            only ~45 source scenes the skew is probably harsher than a
 *            bank of millions of distinct pictures (at 100M the unrelated
 *            queries already find 7.9 entries within 31 on average).
 *
 * Queries (--queries, default 1000): half planted near-duplicates (a random
 * indexed hash with exactly d random bits flipped, d = 0..r cycling), half
 * unrelated (uniform: fresh random hashes; real: mosaics of the held-out
 * donors, made as above). Medians and 99th percentiles are over the
 * queries; this machine is shared and noisy, so compare within one run.
 *
 * Usage: bench_index [--n N[,N...]] [--dist uniform,real] [--corpus FILE]
 *                    [--queries Q] [--scan-queries Q] [--radius R]
 *                    [--seed S] [--no-faiss] [--no-mh] [--stats] [--quick]
 */
#include "veto.h"

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

double now()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t below(uint64_t *s, uint64_t n) { return (uint64_t)(((unsigned __int128)mix(s) * n) >> 64); }
double unif01(uint64_t *s) { return (double)(mix(s) >> 11) * (1.0 / 9007199254740992.0); }

/* ------------------------------------------------------------ memory */

double rss_bytes()
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (double)res * (double)sysconf(_SC_PAGESIZE);
}

double status_kb(const char *key, const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return 0;
	char line[256];
	double v = 0;
	size_t kl = strlen(key);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl)) {
			v = atof(line + kl);
			break;
		}
	fclose(f);
	return v * 1024.0;
}

void reset_peak()
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

double peak_bytes() { return status_kb("VmHWM:", "/proc/self/status"); }
double mem_available() { return status_kb("MemAvailable:", "/proc/meminfo"); }

/* ------------------------------------------------------------- hashes */

struct Hashes {
	veto_pdq_hash *h = nullptr; /* n, plus 64 bytes of padding (FAISS's
	                             * multi-hash reads 8 bytes at a time) */
	size_t n = 0;
	void alloc(size_t count)
	{
		free(h);
		n = count;
		h = (veto_pdq_hash *)malloc(count * 32 + 64);
		if (!h) {
			fprintf(stderr, "bench_index: out of memory for %zu hashes\n", count);
			exit(1);
		}
		memset((uint8_t *)h + count * 32, 0, 64);
	}
	~Hashes() { free(h); }
};

inline void load4(const veto_pdq_hash *h, uint64_t w[4]) { memcpy(w, h->bytes, 32); }

int dist(const veto_pdq_hash *a, const veto_pdq_hash *b) { return veto_pdq_distance(a, b); }

void random_hash(uint64_t *s, veto_pdq_hash *h)
{
	for (int k = 0; k < 4; k++) {
		uint64_t v = mix(s);
		memcpy(h->bytes + 8 * k, &v, 8);
	}
}

struct RealCorpus {
	std::vector<veto_pdq_hash> donors, held;
};

bool load_corpus(const char *path, uint64_t seed, RealCorpus *rc)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	char magic[8];
	uint64_t n = 0;
	if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "VETOCRP1", 8) || fread(&n, 8, 1, f) != 1 || n < 100) {
		fclose(f);
		return false;
	}
	std::vector<veto_pdq_hash> all(n);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t rec[36];
		if (fread(rec, 1, 36, f) != 36) {
			fclose(f);
			return false;
		}
		memcpy(all[i].bytes, rec, 32);
	}
	fclose(f);
	uint64_t s = seed ^ 0x5eed;
	for (uint64_t i = n - 1; i > 0; i--)
		std::swap(all[i], all[below(&s, i + 1)]);
	size_t nh = n / 10;
	rc->held.assign(all.begin(), all.begin() + (long)nh);
	rc->donors.assign(all.begin() + (long)nh, all.end());
	return true;
}

/* bits [lo, hi) of w (256-bit, word order) taken from dw */
void copy_bits(uint64_t w[4], const uint64_t dw[4], int lo, int hi)
{
	for (int b = lo; b < hi;) {
		int wi = b >> 6, l = b & 63, h = std::min(hi - (wi << 6), 64);
		uint64_t m = (h == 64 ? ~0ull : ((1ull << h) - 1)) & ~((1ull << l) - 1);
		w[wi] = (w[wi] & ~m) | (dw[wi] & m);
		b = (wi << 6) + h;
	}
}

/* A mosaic of 4 random donors (see the header comment). */
void mosaic(uint64_t *s, const std::vector<veto_pdq_hash> &d, veto_pdq_hash *out)
{
	int cut[5] = {0, 0, 0, 0, 256};
	for (int k = 1; k <= 3; k++)
		cut[k] = 1 + (int)below(s, 255);
	std::sort(cut + 1, cut + 4);
	uint64_t w[4] = {0, 0, 0, 0};
	for (int k = 0; k < 4; k++) {
		uint64_t dw[4];
		load4(&d[below(s, d.size())], dw);
		copy_bits(w, dw, cut[k], cut[k + 1]);
	}
	memcpy(out->bytes, w, 32);
}

/* base with a run of f * 256 bits (from a random start, wrapping round)
 * replaced by the same bits of a random donor */
void near_copy(uint64_t *s, const std::vector<veto_pdq_hash> &d, const veto_pdq_hash *base, double f,
               veto_pdq_hash *out)
{
	uint64_t bw[4], dw[4];
	load4(base, bw);
	load4(&d[below(s, d.size())], dw);
	int len = (int)lrint(f * 256), start = (int)below(s, 256);
	copy_bits(bw, dw, start, std::min(256, start + len));
	if (start + len > 256)
		copy_bits(bw, dw, 0, start + len - 256);
	memcpy(out->bytes, bw, 32);
}

void expand_real(const std::vector<veto_pdq_hash> &d, size_t n, uint64_t seed, veto_pdq_hash *out)
{
	/* two threads, each filling its half from its own seed */
	auto fill = [&](size_t lo, size_t hi, uint64_t sd) {
		uint64_t s = sd;
		size_t i = lo;
		while (i < hi) {
			mosaic(&s, d, &out[i]);
			size_t base = i++;
			while (i < hi && (mix(&s) & 1))
				near_copy(&s, d, &out[base], 0.1 + 0.3 * unif01(&s), &out[i++]);
		}
	};
	std::thread t(fill, 0, n / 2, seed * 7 + 1);
	fill(n / 2, n, seed * 7 + 2);
	t.join();
}

/* ------------------------------------------------------------- stats */

void print_stats(const char *name, const veto_pdq_hash *h, size_t n)
{
	const size_t S = std::min<size_t>(n, 1000000);
	uint64_t s = 99;
	std::vector<size_t> pick(S);
	for (size_t i = 0; i < S; i++)
		pick[i] = (size_t)((unsigned __int128)i * n / S); /* evenly spaced, no repeats */
	double ones[256] = {0};
	double wsum = 0, wsq = 0;
	for (size_t i = 0; i < S; i++) {
		const uint8_t *b = h[pick[i]].bytes;
		int wt = 0;
		for (int k = 0; k < 256; k++) {
			int bit = (b[k >> 3] >> (k & 7)) & 1;
			ones[k] += bit;
			wt += bit;
		}
		wsum += wt;
		wsq += (double)wt * wt;
	}
	double bias = 0, maxb = 0;
	for (int k = 0; k < 256; k++) {
		double p = ones[k] / (double)S, b = fabs(p - 0.5);
		bias += b / 256;
		maxb = std::max(maxb, b);
	}
	/* bucket fullness: sum over buckets of c(c-1) / (S(S-1)) times the
	 * bucket count; 1 for uniform hashes */
	auto fullness = [&](int bits, double *mean, double *mx) {
		std::vector<uint32_t> keys(S);
		int ns = 256 / bits;
		double sum = 0;
		*mx = 0;
		for (int sl = 0; sl < ns; sl++) {
			for (size_t i = 0; i < S; i++) {
				uint32_t k = 0;
				memcpy(&k, h[pick[i]].bytes + sl * bits / 8, (size_t)bits / 8);
				keys[i] = k;
			}
			std::sort(keys.begin(), keys.end());
			double c2 = 0;
			for (size_t i = 0; i < S;) {
				size_t j = i;
				while (j < S && keys[j] == keys[i])
					j++;
				c2 += (double)(j - i) * (double)(j - i - 1);
				i = j;
			}
			double v = c2 / ((double)S * (double)(S - 1)) * std::ldexp(1.0, bits);
			sum += v;
			*mx = std::max(*mx, v);
		}
		*mean = sum / ns;
	};
	double f16, m16, f32, m32;
	fullness(16, &f16, &m16);
	fullness(32, &f32, &m32);
	double dsum = 0, dsq = 0;
	size_t le31 = 0, le63 = 0, np = 200000;
	for (size_t i = 0; i < np; i++) {
		size_t x = below(&s, n), y = below(&s, n - 1);
		int dd = dist(&h[x], &h[y + (y >= x)]);
		dsum += dd;
		dsq += (double)dd * dd;
		le31 += dd <= 31;
		le63 += dd <= 63;
	}
	double dm = dsum / (double)np, wm = wsum / (double)S;
	printf("  stats %-10s n=%-10zu bit bias mean %.3f max %.3f | weight %.1f sd %.1f | bucket fullness vs uniform: 16-bit %.1fx (max %.0fx), 32-bit %.0fx (max %.0fx) | random pairs: dist %.1f sd %.1f, <=31 %.4f%%, <=63 %.3f%%\n",
	       name, n, bias, maxb, wm, sqrt(wsq / (double)S - wm * wm), f16, m16, f32, m32, dm,
	       sqrt(dsq / (double)np - dm * dm), 100.0 * (double)le31 / (double)np, 100.0 * (double)le63 / (double)np);
}

/* -------------------------------------------------- results and checks */

/* a result: id << 9 | distance, sorted */
using Res = std::vector<uint64_t>;

struct Check {
	uint64_t expected = 0, found = 0, extra = 0, wrongdist = 0;
	void add(const Res &truth, Res &got)
	{
		std::sort(got.begin(), got.end());
		expected += truth.size();
		size_t i = 0, j = 0;
		while (i < truth.size() || j < got.size()) {
			if (j == got.size() || (i < truth.size() && (truth[i] >> 9) < (got[j] >> 9))) {
				i++;
			} else if (i == truth.size() || (got[j] >> 9) < (truth[i] >> 9)) {
				extra++;
				j++;
			} else {
				if (truth[i] == got[j])
					found++;
				else
					wrongdist++;
				i++;
				j++;
			}
		}
	}
	std::string str() const
	{
		char b[128];
		if (!expected && !extra && !wrongdist)
			return "n/a";
		snprintf(b, sizeof b, "%.4f%%", expected ? 100.0 * (double)found / (double)expected : 100.0);
		std::string s = b;
		if (extra || wrongdist) {
			snprintf(b, sizeof b, " (+%llu outside r, %llu wrong dist)", (unsigned long long)extra,
			         (unsigned long long)wrongdist);
			s += b;
		}
		return s;
	}
};

__attribute__((target("popcnt"))) void scan_query(const veto_pdq_hash *h, size_t n, const veto_pdq_hash *q,
                                                  int r, Res *out)
{
	uint64_t qw[4];
	load4(q, qw);
	out->clear();
	const uint64_t *p = (const uint64_t *)(const void *)h;
	for (size_t i = 0; i < n; i++, p += 4) {
		int d = __builtin_popcountll(p[0] ^ qw[0]) + __builtin_popcountll(p[1] ^ qw[1]) +
		        __builtin_popcountll(p[2] ^ qw[2]) + __builtin_popcountll(p[3] ^ qw[3]);
		if (d <= r)
			out->push_back((uint64_t)i << 9 | (uint64_t)d);
	}
}

/* Run fn(query index, thread number) over nq queries on nt threads,
 * queries handed out one by one; return the wall time. */
template <class F> double run_threads(int nt, size_t nq, F fn)
{
	std::atomic<size_t> next{0};
	double t0 = now();
	std::vector<std::thread> th;
	for (int t = 0; t < nt; t++)
		th.emplace_back([&, t] {
			for (size_t i; (i = next++) < nq;)
				fn(i, t);
		});
	for (auto &x : th)
		x.join();
	return now() - t0;
}

struct Row {
	std::string name;
	double build_s = -1, bytes = -1, rss = -1, peak = -1, p50 = -1, p99 = -1, qps = -1;
	size_t nlat = 0;
	std::string recall, note;
};

/* v: per-query seconds in query order (even: planted, odd: unrelated) */
void latency(std::vector<double> &v, Row *r)
{
	r->nlat = v.size();
	if (v.empty())
		return;
	auto pct = [](std::vector<double> x, double p) {
		std::sort(x.begin(), x.end());
		size_t k = (size_t)std::ceil(p * (double)x.size());
		return x[k ? k - 1 : 0] * 1e3;
	};
	std::vector<double> pl, un;
	for (size_t i = 0; i < v.size(); i++)
		(i % 2 ? un : pl).push_back(v[i]);
	r->p50 = pct(v, 0.5);
	r->p99 = pct(v, 0.99);
	if (!pl.empty() && !un.empty()) {
		char b[96];
		snprintf(b, sizeof b, "p50 planted %.3f, unrelated %.3f ms", pct(pl, 0.5), pct(un, 0.5));
		r->note = r->note.empty() ? std::string(b) : b + ("; " + r->note);
	}
}

struct Config {
	std::vector<size_t> ns{1000000, 10000000};
	std::vector<std::string> dists{"uniform", "real"};
	std::string corpus = "build-bench/corpus.bin";
	size_t queries = 1000, scan_queries = 100;
	int radius = 31;
	uint64_t seed = 42;
	bool faiss = true, mh = true, stats = false;
	double mh_bytes_per_hash = 300;   /* peak during build; updated from */
	double veto_bytes_per_hash = 175; /* bulk load: entries, base, sort scratch; then as measured in the run */
};

/* ------------------------------------------------------------ one run */

void run_one(Config &c, size_t n, const std::string &distname, const RealCorpus *rc)
{
	const int r = c.radius;
	printf("\n=== N = %zu, %s hashes, r = %d, %zu queries (%zu planted at d = 0..%d, %zu unrelated) ===\n", n,
	       distname.c_str(), r, c.queries, c.queries / 2, r, c.queries - c.queries / 2);
	fflush(stdout);
	Hashes H;
	double t0 = now();
	H.alloc(n);
	const bool real = distname == "real";
	uint64_t seed = c.seed * 1000003 + n;
	if (real) {
		expand_real(rc->donors, n, seed, H.h);
	} else {
		auto fill = [&](size_t lo, size_t hi, uint64_t sd) {
			uint64_t s = sd;
			for (size_t i = lo; i < hi; i++)
				random_hash(&s, &H.h[i]);
		};
		std::thread t(fill, 0, n / 2, seed + 1);
		fill(n / 2, n, seed + 2);
		t.join();
	}
	printf("  made %zu hashes in %.1f s\n", n, now() - t0);
	if (c.stats) {
		if (real) {
			print_stats("real", rc->donors.data(), rc->donors.size());
			print_stats("expanded", H.h, n);
		} else {
			print_stats("uniform", H.h, n);
		}
	}

	/* queries */
	const size_t nq = c.queries;
	std::vector<veto_pdq_hash> Q(nq + 2); /* +2: FAISS reads past the end */
	uint64_t s = seed ^ 0xabcdef;
	for (size_t i = 0; i < nq; i++) {
		if (i % 2 == 0) { /* planted: d = (i/2) mod (r+1) bits off an indexed hash */
			Q[i] = H.h[below(&s, n)];
			int d = (int)((i / 2) % (size_t)(r + 1)), pos[256];
			for (int k = 0; k < 256; k++)
				pos[k] = k;
			for (int k = 0; k < d; k++) { /* d distinct bits */
				std::swap(pos[k], pos[k + (int)below(&s, (uint64_t)(256 - k))]);
				Q[i].bytes[pos[k] >> 3] ^= (uint8_t)(1u << (pos[k] & 7));
			}
		} else if (real) {
			mosaic(&s, rc->held, &Q[i]);
		} else {
			random_hash(&s, &Q[i]);
		}
	}
	memset(&Q[nq], 0, 2 * sizeof(veto_pdq_hash));

	/* ground truth: the plain scan on 2 threads, all queries */
	std::vector<Res> truth(nq);
	std::vector<Row> rows;
	Row scan;
	scan.name = "scan";
	scan.bytes = 32;
	double wall = run_threads(2, nq, [&](size_t i, int) { scan_query(H.h, n, &Q[i], r, &truth[i]); });
	scan.qps = (double)nq / wall;
	/* the scans' single-thread timing: at most ~1e9 hashes compared */
	size_t nsq = std::min({c.scan_queries, nq, std::max<size_t>(10, (size_t)(1e9 / (double)n))});
	{
		std::vector<double> lat;
		Res tmp;
		for (size_t i = 0; i < nsq; i++) {
			double a = now();
			scan_query(H.h, n, &Q[i], r, &tmp);
			lat.push_back(now() - a);
		}
		latency(lat, &scan);
		scan.recall = "(truth)";
	}
	/* planted queries must find their own hash... at distance d exactly or
	 * nearer: check the truth has something at <= d */
	uint64_t tp = 0, tu = 0;
	for (size_t i = 0; i < nq; i++)
		(i % 2 ? tu : tp) += truth[i].size();
	{
		size_t bad = 0;
		for (size_t i = 0; i < nq; i += 2) {
			int d = (int)((i / 2) % (size_t)(r + 1));
			bool ok = false;
			for (uint64_t x : truth[i])
				ok |= (int)(x & 511) <= d;
			bad += !ok;
		}
		if (bad)
			printf("  WARNING: %zu planted queries have nothing at their planted distance\n", bad);
	}
	printf("  results within r per query: planted %.1f, unrelated %.2f (mean)\n", (double)tp / (double)(nq / 2),
	       (double)tu / (double)(nq - nq / 2));
	fflush(stdout);

	/* ------------------------------------------------------------ veto */
	double vneed = c.veto_bytes_per_hash * (double)n * 1.15, vavail = mem_available();
	if (vneed > vavail) {
		printf("  veto skipped: would need ~%.1f GB (%.0f B/hash at peak as measured), %.1f GB available\n",
		       vneed / 1e9, c.veto_bytes_per_hash, vavail / 1e9);
	} else {
		Row row;
		row.name = "veto";
		malloc_trim(0);
		double rss0 = rss_bytes();
		reset_peak();
		veto_error err;
		veto_index *idx = nullptr;
		double b0 = now();
		if (veto_index_new(&idx, &err)) {
			fprintf(stderr, "veto_index_new: %s\n", err.message);
			exit(1);
		}
		{
			/* One add of everything: adding to an empty index builds the
			 * base in place (no delta, no merge), the bulk-load path. */
			const size_t CH = n;
			std::vector<veto_index_entry> e(std::min(CH, n));
			for (size_t off = 0; off < n; off += CH) {
				size_t m = std::min(CH, n - off);
				for (size_t i = 0; i < m; i++) {
					e[i].hash = H.h[off + i];
					e[i].id = off + i;
					e[i].quality = 100;
					e[i].bank = VETO_BANK_NONE;
				}
				if (veto_index_add(idx, e.data(), m, &err)) {
					fprintf(stderr, "veto_index_add: %s\n", err.message);
					exit(1);
				}
			}
		}
		double b1 = now();
		if (veto_index_merge(idx, &err)) {
			fprintf(stderr, "veto_index_merge: %s\n", err.message);
			exit(1);
		}
		row.build_s = now() - b0;
		row.peak = peak_bytes() - rss0;
		c.veto_bytes_per_hash = row.peak / (double)n;
		malloc_trim(0);
		row.rss = (rss_bytes() - rss0) / (double)n;
		veto_index_stats st;
		veto_index_stats_get(idx, &st);
		row.bytes = (double)st.bytes / (double)n;
		char note[160];
		snprintf(note, sizeof note, "add %.2f s + merge %.2f s; %d slices", b1 - b0, row.build_s - (b1 - b0),
		         st.slices);
		row.note = note;
		veto_search_options o;
		veto_search_options_init(&o);
		o.radius = r;
		o.min_quality = 0;
		veto_match_list ml[2] = {{nullptr, 0, 0}, {nullptr, 0, 0}};
		auto search = [&](size_t i, int t) {
			veto_error e2;
			if (veto_index_search(idx, &Q[i], 100, &o, &ml[t], &e2)) {
				fprintf(stderr, "veto_index_search: %s\n", e2.message);
				exit(1);
			}
		};
		for (size_t i = 0; i < std::min<size_t>(nq, 50); i++) /* warm up */
			search(i, 0);
		std::vector<double> lat;
		Check ck;
		Res got;
		for (size_t i = 0; i < nq; i++) {
			double a = now();
			search(i, 0);
			lat.push_back(now() - a);
			got.clear();
			for (size_t k = 0; k < ml[0].n; k++)
				got.push_back(ml[0].v[k].id << 9 | (uint64_t)ml[0].v[k].distance);
			ck.add(truth[i], got);
		}
		latency(lat, &row);
		row.recall = ck.str();
		double w = 0;
		size_t done = 0;
		while (w < 1.0) { /* at least a second of 2-thread work */
			w += run_threads(2, nq, search);
			done += nq;
		}
		row.qps = (double)done / w;
		veto_match_list_free(&ml[0]);
		veto_match_list_free(&ml[1]);
		veto_index_free(idx);
		rows.push_back(row);
		printf("  veto done: build %.2f s, p50 %.3f ms\n", row.build_s, row.p50);
		fflush(stdout);
	}

	/* ----------------------------------------------------------- FAISS */
	if (c.faiss) {
		/* flat */
		try {
			Row row;
			row.name = "faiss-flat";
			malloc_trim(0);
			double rss0 = rss_bytes();
			reset_peak();
			double b0 = now();
			faiss::IndexBinaryFlat flat(256);
			flat.add((faiss::Index::idx_t)n, (const uint8_t *)H.h);
			row.build_s = now() - b0;
			row.peak = peak_bytes() - rss0;
			row.rss = (rss_bytes() - rss0) / (double)n;
			row.bytes = row.rss;
			omp_set_num_threads(1);
			std::vector<double> lat;
			Check ck;
			Res got;
			for (size_t i = 0; i < nsq; i++) {
				faiss::RangeSearchResult res(1);
				double a = now();
				flat.range_search(1, Q[i].bytes, r + 1, &res);
				lat.push_back(now() - a);
				got.clear();
				for (size_t k = res.lims[0]; k < res.lims[1]; k++)
					got.push_back((uint64_t)res.labels[k] << 9 | (uint64_t)lrint(res.distances[k]));
				ck.add(truth[i], got);
			}
			latency(lat, &row);
			omp_set_num_threads(2);
			{
				faiss::RangeSearchResult res((faiss::Index::idx_t)nsq);
				double a = now();
				flat.range_search((faiss::Index::idx_t)nsq, Q[0].bytes, r + 1, &res);
				row.qps = (double)nsq / (now() - a);
			}
			row.recall = ck.str() + " (first " + std::to_string(nsq) + " q)";
			rows.push_back(row);
			printf("  faiss-flat done: p50 %.3f ms\n", row.p50);
			fflush(stdout);
		} catch (const std::exception &e) {
			printf("  faiss-flat failed: %s\n", e.what());
		}
		/* multi-hash */
		double need = c.mh_bytes_per_hash * (double)n * 1.15, avail = mem_available();
		if (!c.mh) {
			printf("  faiss-mh skipped (--no-mh)\n");
		} else if (need > avail) {
			printf("  faiss-mh skipped: would need ~%.1f GB (%.0f B/hash as measured), %.1f GB available\n",
			       need / 1e9, c.mh_bytes_per_hash, avail / 1e9);
		} else {
			try {
				Row row;
				row.name = "faiss-mh";
				malloc_trim(0);
				double rss0 = rss_bytes();
				reset_peak();
				double b0 = now();
				faiss::IndexBinaryMultiHash mh(256, 16, 16);
				mh.nflip = r / 16;
				mh.add((faiss::Index::idx_t)n, (const uint8_t *)H.h);
				row.build_s = now() - b0;
				row.peak = peak_bytes() - rss0;
				row.rss = (rss_bytes() - rss0) / (double)n;
				row.bytes = row.rss;
				c.mh_bytes_per_hash = std::max(row.rss, row.peak / (double)n);
				omp_set_num_threads(1);
				for (size_t i = 0; i < std::min<size_t>(nq, 50); i++) { /* warm up */
					faiss::RangeSearchResult res(1);
					mh.range_search(1, Q[i].bytes, r + 1, &res);
				}
				std::vector<double> lat;
				Check ck;
				Res got;
				for (size_t i = 0; i < nq; i++) {
					faiss::RangeSearchResult res(1);
					double a = now();
					mh.range_search(1, Q[i].bytes, r + 1, &res);
					lat.push_back(now() - a);
					got.clear();
					for (size_t k = res.lims[0]; k < res.lims[1]; k++)
						got.push_back((uint64_t)res.labels[k] << 9 | (uint64_t)lrint(res.distances[k]));
					ck.add(truth[i], got);
				}
				latency(lat, &row);
				row.recall = ck.str();
				omp_set_num_threads(2);
				{
					faiss::RangeSearchResult res((faiss::Index::idx_t)nq);
					double a = now();
					mh.range_search((faiss::Index::idx_t)nq, Q[0].bytes, r + 1, &res);
					row.qps = (double)nq / (now() - a);
				}
				char note[96];
				snprintf(note, sizeof note, "nflip %d", mh.nflip);
				row.note += std::string("; ") + note;
				rows.push_back(row);
				printf("  faiss-mh done: build %.2f s, p50 %.3f ms\n", row.build_s, row.p50);
				fflush(stdout);
			} catch (const std::exception &e) {
				printf("  faiss-mh failed: %s\n", e.what());
			}
		}
		malloc_trim(0);
	}
	scan.note += "; ground truth; latency over first " + std::to_string(nsq) + " q";
	rows.push_back(scan);

	/* ----------------------------------------------------------- table */
	printf("\n  %-10s %9s %10s %10s %10s %9s %9s %11s  %-24s %s\n", "method", "build s", "B/hash", "RSS B/h",
	       "peak GB", "p50 ms", "p99 ms", "q/s (2T)", "recall", "notes");
	for (const Row &w : rows) {
		auto f = [](double v, const char *fmt) {
			char b[32];
			if (v < 0)
				return std::string("-");
			snprintf(b, sizeof b, fmt, v);
			return std::string(b);
		};
		printf("  %-10s %9s %10s %10s %10s %9s %9s %11s  %-24s %s\n", w.name.c_str(), f(w.build_s, "%.2f").c_str(),
		       f(w.bytes, "%.1f").c_str(), f(w.rss, "%.1f").c_str(), f(w.peak / 1e9, "%.2f").c_str(),
		       f(w.p50, "%.3f").c_str(), f(w.p99, "%.3f").c_str(), f(w.qps, "%.0f").c_str(), w.recall.c_str(),
		       w.note.c_str());
	}
	const Row *v = nullptr, *m = nullptr, *fl = nullptr;
	for (const Row &w : rows) {
		if (w.name == "veto")
			v = &w;
		if (w.name == "faiss-mh")
			m = &w;
		if (w.name == "faiss-flat")
			fl = &w;
	}
	if (v && m)
		printf("  veto vs faiss-mh: p50 %.1fx faster, p99 %.1fx, 2T throughput %.1fx, memory %.1fx smaller, build %.1fx faster\n",
		       m->p50 / v->p50, m->p99 / v->p99, v->qps / m->qps, m->rss / v->bytes, m->build_s / v->build_s);
	if (v && fl)
		printf("  veto vs faiss-flat: p50 %.1fx faster\n", fl->p50 / v->p50);
	fflush(stdout);
}

std::vector<size_t> parse_ns(const char *s)
{
	std::vector<size_t> v;
	while (*s) {
		char *e;
		double x = strtod(s, &e);
		if (e == s)
			break;
		if (*e == 'k' || *e == 'K')
			x *= 1e3, e++;
		else if (*e == 'M' || *e == 'm')
			x *= 1e6, e++;
		v.push_back((size_t)x);
		s = *e == ',' ? e + 1 : e;
	}
	return v;
}

} // namespace

int main(int argc, char **argv)
{
	Config c;
	for (int a = 1; a < argc; a++) {
		std::string o = argv[a];
		auto val = [&]() -> const char * {
			if (a + 1 >= argc) {
				fprintf(stderr, "bench_index: %s needs a value\n", o.c_str());
				exit(2);
			}
			return argv[++a];
		};
		if (o == "--n")
			c.ns = parse_ns(val());
		else if (o == "--dist") {
			c.dists.clear();
			std::string d = val();
			for (size_t p = 0; p <= d.size();) {
				size_t q = d.find(',', p);
				if (q == std::string::npos)
					q = d.size();
				if (q > p)
					c.dists.push_back(d.substr(p, q - p));
				p = q + 1;
			}
		} else if (o == "--corpus")
			c.corpus = val();
		else if (o == "--queries")
			c.queries = (size_t)atol(val());
		else if (o == "--scan-queries")
			c.scan_queries = (size_t)atol(val());
		else if (o == "--radius")
			c.radius = atoi(val());
		else if (o == "--seed")
			c.seed = strtoull(val(), nullptr, 0);
		else if (o == "--no-faiss")
			c.faiss = false;
		else if (o == "--no-mh")
			c.mh = false;
		else if (o == "--stats")
			c.stats = true;
		else if (o == "--quick") {
			c.ns = {100000};
			c.queries = 200;
			c.scan_queries = 50;
		} else {
			fprintf(stderr, "usage: bench_index [--n N[,N...]] [--dist uniform,real] [--corpus FILE] "
			                "[--queries Q] [--scan-queries Q] [--radius R] [--seed S] [--no-faiss] "
			                "[--no-mh] [--stats] [--quick]\n");
			return 2;
		}
	}
	if (c.ns.empty() || c.queries < 2 || c.radius < 0 || c.radius > 255) {
		fprintf(stderr, "bench_index: bad arguments\n");
		return 2;
	}
	for (auto &d : c.dists)
		if (d != "uniform" && d != "real") {
			fprintf(stderr, "bench_index: unknown distribution %s\n", d.c_str());
			return 2;
		}
	RealCorpus rc;
	if (std::find(c.dists.begin(), c.dists.end(), "real") != c.dists.end()) {
		if (!load_corpus(c.corpus.c_str(), c.seed, &rc)) {
			fprintf(stderr, "bench_index: cannot read the corpus %s (make it with bench/make_corpus; bench/run_index.sh does)\n",
			        c.corpus.c_str());
			return 1;
		}
		printf("corpus %s: %zu real hashes (%zu donors for the index, %zu for unrelated queries)\n",
		       c.corpus.c_str(), rc.donors.size() + rc.held.size(), rc.donors.size(), rc.held.size());
	}
	printf("bench_index: %ld cores, %.1f GB available; r = %d; times are wall clock on a shared, noisy machine\n",
	       sysconf(_SC_NPROCESSORS_ONLN), mem_available() / 1e9, c.radius);
	for (size_t n : c.ns)
		for (auto &d : c.dists)
			run_one(c, n, d, &rc);
	return 0;
}
