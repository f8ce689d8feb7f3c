/*
 * load_bank.c - fill a veto serve store with N random PDQ hashes, fast,
 * for the load benchmark (bench/serve/run.sh).
 *
 *   serve_load_bank --db URL [--n N] [--bank NAME] [--seed S] [--batch B]
 *                   [--sample FILE] [--sample-n K]
 *
 * Opens the store (vs_open: "sqlite:PATH" or postgresql://...), creates
 * the bank (or appends to it if it exists) and adds the hashes with
 * vs_content_add_many in transactions of --batch items (default 100,000).
 * The hashes come from splitmix64 seeded with --seed (default 1), so two
 * runs with the same seed load the same hashes. --sample FILE gets K
 * (default 10,000) of them, evenly spread, one hex hash per line: the
 * client (serve_load --hashes) turns them into near-duplicate queries.
 * Prints progress and a final line with the rate, then a JSON line.
 */
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fputs("usage: serve_load_bank --db URL [--n N] [--bank NAME] [--seed S] [--batch B]\n"
	      "                       [--sample FILE] [--sample-n K]\n",
	      f);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *bank = "BENCH", *sample_path = NULL;
	uint64_t n = 10000000, seed = 1, batch = 100000, sample_n = 10000;
	static const struct option lo[] = {
		{"db", required_argument, 0, 'd'},     {"n", required_argument, 0, 'n'},
		{"bank", required_argument, 0, 'b'},   {"seed", required_argument, 0, 's'},
		{"batch", required_argument, 0, 'B'},  {"sample", required_argument, 0, 'o'},
		{"sample-n", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'd': db = optarg; break;
		case 'b': bank = optarg; break;
		case 'o': sample_path = optarg; break;
		case 'n': bad = parse_u64(optarg, &n); break;
		case 's': bad = parse_u64(optarg, &seed); break;
		case 'B': bad = parse_u64(optarg, &batch) || !batch; break;
		case 'k': bad = parse_u64(optarg, &sample_n); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "serve_load_bank: bad value '%s'\n", optarg);
			return 2;
		}
	}
	if (!db || optind < argc) {
		usage(stderr);
		return 2;
	}
	veto_error e;
	vs_store *st = NULL;
	double t0 = now_s();
	if (vs_open(&st, db, 0, &e)) {
		fprintf(stderr, "serve_load_bank: %s\n", e.message);
		return 1;
	}
	double t_open = now_s() - t0;
	vs_bank b;
	int rc = vs_bank_create(st, bank, 1.0, &b, &e);
	if (rc == VS_ERR_CONFLICT)
		rc = vs_bank_get(st, bank, &b, &e);
	if (rc) {
		fprintf(stderr, "serve_load_bank: bank %s: %s\n", bank, e.message);
		vs_close(st);
		return 1;
	}
	FILE *sf = NULL;
	if (sample_path && !(sf = fopen(sample_path, "w"))) {
		fprintf(stderr, "serve_load_bank: cannot write %s: %s\n", sample_path, strerror(errno));
		vs_bank_clear(&b);
		vs_close(st);
		return 1;
	}
	uint64_t stride = sample_n ? (n / sample_n ? n / sample_n : 1) : 0;

	size_t cap = (size_t)(batch < n ? batch : n);
	vs_content *items = calloc(cap ? cap : 1, sizeof *items);
	vs_signal *sigs = calloc(cap ? cap : 1, sizeof *sigs);
	char *hex = malloc((cap ? cap : 1) * 65);
	if (!items || !sigs || !hex) {
		fprintf(stderr, "serve_load_bank: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < cap; i++) {
		sigs[i].type = (char *)"pdq";
		sigs[i].value = hex + i * 65;
		items[i].disable_until_ts = 1;
		items[i].status = VS_ACTIVE;
		items[i].signals = &sigs[i];
		items[i].nsignals = 1;
	}
	static const char HX[] = "0123456789abcdef";
	uint64_t rng = seed, done = 0, sampled = 0;
	int64_t first = 0, last_seq = 0;
	double t_load = now_s(), t_report = t_load;
	while (done < n) {
		size_t m = (size_t)(n - done < cap ? n - done : cap);
		for (size_t i = 0; i < m; i++) {
			char *h = hex + i * 65;
			for (int w = 0; w < 4; w++) {
				uint64_t x = splitmix64(&rng);
				for (int k = 0; k < 16; k++)
					h[w * 16 + k] = HX[(x >> (60 - 4 * k)) & 15];
			}
			h[64] = 0;
			if (sf && sampled < sample_n && (done + i) % stride == 0) {
				fprintf(sf, "%s\n", h);
				sampled++;
			}
		}
		int64_t f = 0;
		if (vs_content_add_many(st, b.id, items, m, &f, &last_seq, &e)) {
			fprintf(stderr, "serve_load_bank: after %llu hashes: %s\n",
			        (unsigned long long)done, e.message);
			return 1;
		}
		if (!first)
			first = f;
		done += m;
		double t = now_s();
		if (t - t_report >= 10 || done == n) {
			fprintf(stderr, "serve_load_bank: %llu / %llu hashes, %.0f/s\n",
			        (unsigned long long)done, (unsigned long long)n, done / (t - t_load));
			t_report = t;
		}
	}
	double load_s = now_s() - t_load;
	if (sf && fclose(sf)) {
		fprintf(stderr, "serve_load_bank: writing %s failed\n", sample_path);
		return 1;
	}
	vs_close(st);
	printf("loaded %llu PDQ hashes into bank %s (ids %lld..) in %.1f s: %.0f hashes/s "
	       "(open %.2f s); %llu sampled\n",
	       (unsigned long long)n, b.name, (long long)first, load_s, n / (load_s > 0 ? load_s : 1),
	       t_open, (unsigned long long)sampled);
	printf("{\"n\":%llu,\"bank\":\"%s\",\"seed\":%llu,\"batch\":%llu,\"load_seconds\":%.3f,"
	       "\"hashes_per_second\":%.0f,\"open_seconds\":%.3f,\"last_seq\":%lld,"
	       "\"sampled\":%llu}\n",
	       (unsigned long long)n, b.name, (unsigned long long)seed, (unsigned long long)batch,
	       load_s, n / (load_s > 0 ? load_s : 1), t_open, (long long)last_seq,
	       (unsigned long long)sampled);
	vs_bank_clear(&b);
	free(items);
	free(sigs);
	free(hex);
	return 0;
}
