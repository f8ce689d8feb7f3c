/*
 * check.h - the tests' whole assertion kit: a failure counter and macros
 * that print what was expected and what was got, then keep going, so one
 * run shows every mismatch instead of the first. A test program returns
 * check_exit() (1 if anything failed), which is what ctest reads.
 *
 * Also the helpers every test needs: where the shared test data is (the
 * first argument, as tests/CMakeLists.txt passes VETO_TESTDATA), reading
 * and writing whole files, and a private temp directory removed at exit.
 */
#ifndef VETO_TEST_CHECK_H
#define VETO_TEST_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_failed;
static int check_passed;

/* CHECK(cond, "context %s", x): on failure prints the condition and context. */
#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			check_passed++;                                      \
		} else {                                                     \
			fprintf(stderr, "FAIL %s:%d: (%s) ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			check_failed++;                                      \
		}                                                            \
	} while (0)

#define CHECK_INT(got, want, ...)                                            \
	do {                                                                 \
		long long g_ = (long long)(got), w_ = (long long)(want);     \
		if (g_ == w_) {                                              \
			check_passed++;                                      \
		} else {                                                     \
			fprintf(stderr, "FAIL %s:%d: %s = %lld, want %lld: ",  \
			        __FILE__, __LINE__, #got, g_, w_);           \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			check_failed++;                                      \
		}                                                            \
	} while (0)

#define CHECK_STR(got, want, ...)                                            \
	do {                                                                 \
		const char *g_ = (got), *w_ = (want);                        \
		if (g_ && w_ && strcmp(g_, w_) == 0) {                       \
			check_passed++;                                      \
		} else {                                                     \
			fprintf(stderr, "FAIL %s:%d: %s = \"%s\", want \"%s\": ", \
			        __FILE__, __LINE__, #got, g_ ? g_ : "(null)", \
			        w_ ? w_ : "(null)");                         \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			check_failed++;                                      \
		}                                                            \
	} while (0)

/* Fatal: the test cannot go on (missing data, no memory). */
#define REQUIRE(cond, ...)                                                   \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "FATAL %s:%d: (%s) ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			exit(2);                                             \
		}                                                            \
	} while (0)

static inline int check_exit(const char *name)
{
	printf("%s: %d checks passed, %d failed\n", name, check_passed, check_failed);
	if (check_passed == 0 && check_failed == 0) {
		fprintf(stderr, "%s: no checks ran\n", name);
		return 1;
	}
	return check_failed ? 1 : 0;
}

/* --------------------------------------------------------------- files */

/* The shared test data directory: argv[1], else $VETO_TESTDATA. */
static inline const char *testdata_dir(int argc, char **argv)
{
	const char *d = argc > 1 ? argv[1] : getenv("VETO_TESTDATA");
	REQUIRE(d && *d, "usage: %s TESTDATA_DIR (or set VETO_TESTDATA)", argv[0]);
	struct stat st;
	REQUIRE(stat(d, &st) == 0 && S_ISDIR(st.st_mode),
	        "test data directory %s is missing: %s", d, strerror(errno));
	return d;
}

/* malloc'd "a/b" */
static inline char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = (char *)malloc(n);
	REQUIRE(p, "out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static inline uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f, "cannot open %s: %s", path, strerror(errno));
	REQUIRE(fseek(f, 0, SEEK_END) == 0, "cannot seek %s", path);
	long n = ftell(f);
	REQUIRE(n >= 0, "cannot tell %s", path);
	rewind(f);
	uint8_t *buf = (uint8_t *)malloc((size_t)n + 1);
	REQUIRE(buf, "out of memory for %s", path);
	REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n, "short read on %s", path);
	fclose(f);
	buf[n] = 0; /* text files can be used as strings */
	*size = (size_t)n;
	return buf;
}

static inline void spit(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	REQUIRE(f, "cannot create %s: %s", path, strerror(errno));
	REQUIRE(size == 0 || fwrite(data, 1, size, f) == size, "short write on %s", path);
	REQUIRE(fclose(f) == 0, "cannot close %s", path);
}

/* A fresh directory under $TMPDIR (or /tmp); tmpdir_remove() empties it.
 * Tests create only plain files in it. */
static char tmpdir_path[4096];

static inline const char *tmpdir_make(const char *tag)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(tmpdir_path, sizeof tmpdir_path, "%s/veto-%s-XXXXXX", base, tag);
	REQUIRE(mkdtemp(tmpdir_path), "mkdtemp %s: %s", tmpdir_path, strerror(errno));
	return tmpdir_path;
}

static inline void tmpdir_remove(void)
{
	if (!tmpdir_path[0])
		return;
	DIR *d = opendir(tmpdir_path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *p = path_join(tmpdir_path, e->d_name);
			if (unlink(p) != 0)
				rmdir(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(tmpdir_path);
	tmpdir_path[0] = '\0';
}

/* --------------------------------------------------------- CSV of hashes */

/* One line of expected-pdq*.csv: nhash hashes, quality, path. */
typedef struct expected_row {
	char hash[8][65];
	int nhash;
	int quality;
	char path[1024];
} expected_row;

/* Reads every line; returns a malloc'd array and its length in *n. Any line
 * that is not nhash hashes + quality + path is fatal: the data is wrong. */
static inline expected_row *read_expected(const char *csv, int nhash, int *n)
{
	FILE *f = fopen(csv, "r");
	REQUIRE(f, "cannot open %s: %s", csv, strerror(errno));
	int cap = 64, len = 0;
	expected_row *rows = (expected_row *)malloc(sizeof *rows * (size_t)cap);
	REQUIRE(rows, "out of memory");
	char line[4096];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (len == cap) {
			cap *= 2;
			rows = (expected_row *)realloc(rows, sizeof *rows * (size_t)cap);
			REQUIRE(rows, "out of memory");
		}
		expected_row *r = &rows[len];
		memset(r, 0, sizeof *r);
		char *p = line;
		for (int k = 0; k < nhash; k++) {
			char *c = strchr(p, ',');
			REQUIRE(c && c - p == 64, "%s:%d: hash %d is not 64 hex digits", csv, lineno, k);
			memcpy(r->hash[k], p, 64);
			r->hash[k][64] = '\0';
			p = c + 1;
		}
		r->nhash = nhash;
		char *c = strchr(p, ',');
		REQUIRE(c, "%s:%d: no quality field", csv, lineno);
		*c = '\0';
		char *end;
		r->quality = (int)strtol(p, &end, 10);
		REQUIRE(*p && !*end, "%s:%d: bad quality \"%s\"", csv, lineno, p);
		REQUIRE(strlen(c + 1) > 0 && strlen(c + 1) < sizeof r->path, "%s:%d: bad path", csv, lineno);
		strcpy(r->path, c + 1);
		len++;
	}
	fclose(f);
	REQUIRE(len > 0, "%s has no rows", csv);
	*n = len;
	return rows;
}

#endif
