/*
 * test_tmk.c - TMK+PDQF against the reference, byte for byte.
 *
 * 1. Every shared sample video hashes to exactly the bytes of the
 *    reference's expected-tmk/NAME.tmk (tmk-hash-video on Debian 12 with
 *    ffmpeg 5.1 writes those very bytes), from a file and from memory. No
 *    tolerance: the frame stream, the float features and the file are all
 *    reproduced exactly, so any difference is a bug.
 * 2. Level-1 and level-2 scores for every pair of the expected files equal
 *    the reference's float values exactly (tests/data/tmk-scores.txt, made
 *    by the reference's own code; the file says how), and so do the
 *    match verdicts at the default 0.7 / 0.7 thresholds.
 * 3. The reader refuses damaged files with the right code: truncated
 *    anywhere, trailing bytes, wrong magic, a foreign algorithm, negative
 *    or oversized counts, and every single-byte change to the header either
 *    parses or fails cleanly. Files round-trip through save and load.
 *
 * `test_tmk --hash VIDEO OUT.tmk` writes veto's .tmk for one video (used by
 * scripts/check-tmk-against-reference.sh).
 */
#include "check.h"
#include "veto.h"

#include <math.h>

static const char *const names[] = {
	"chair-19-sd-bar", "chair-20-sd-bar", "chair-22-sd-grey-bar",
	"chair-22-sd-sepia-bar", "chair-22-with-large-logo-bar",
	"chair-22-with-small-logo-bar", "chair-orig-22-sd-bar", "doorknob-hd-no-bar",
	"pattern-hd-no-bar", "pattern-longer-no-bar", "pattern-sd-grey-bar",
	"pattern-sd-with-large-logo-bar", "pattern-sd-with-small-logo-bar",
};
#define NNAMES (int)(sizeof names / sizeof names[0])

static char *video_path(const char *data, const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "video/samples/%s.mp4", name);
	return path_join(data, rel);
}

static char *tmk_path(const char *data, const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "video/expected-tmk/%s.tmk", name);
	return path_join(data, rel);
}

static int hash_one(const char *video, const char *out)
{
	veto_error err = { 0 };
	veto_tmk *t;
	if (veto_tmk_hash_file(video, NULL, &t, &err) != 0) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	const veto_video_info *info = veto_tmk_video_info(t);
	if (info && info->partial)
		fprintf(stderr, "%s: partial: %s\n", video, info->partial_reason);
	int rc = veto_tmk_save(t, out, &err);
	if (rc)
		fprintf(stderr, "%s\n", err.message);
	veto_tmk_free(t);
	return rc ? 1 : 0;
}

/* ------------------------------------------------------------ hashing --- */

static void check_bytes(const veto_tmk *t, const uint8_t *want, size_t nwant,
                        const char *what)
{
	uint8_t *got = NULL;
	size_t n = 0;
	veto_error err = { 0 };
	CHECK_INT(veto_tmk_to_bytes(t, &got, &n, &err), 0, "%s: %s", what, err.message);
	CHECK_INT(n, nwant, "%s: size", what);
	if (got && n == nwant) {
		size_t i = 0;
		while (i < n && got[i] == want[i])
			i++;
		CHECK(i == n, "%s: first differing byte at %zu of %zu", what, i, n);
	}
	free(got);
}

static void test_hash_samples(const char *data)
{
	veto_video_options o;
	veto_video_options_init(&o);
	o.digests = 0;
	for (int i = 0; i < NNAMES; i++) {
		char *vp = video_path(data, names[i]), *tp = tmk_path(data, names[i]);
		size_t nwant;
		uint8_t *want = slurp(tp, &nwant);
		CHECK_INT(nwant, VETO_TMK_FILE_BYTES, "%s", tp);
		veto_error err = { 0 };
		veto_tmk *t = NULL;
		int rc = veto_tmk_hash_file(vp, &o, &t, &err);
		CHECK_INT(rc, 0, "%s: %s", vp, err.message);
		if (t) {
			check_bytes(t, want, nwant, names[i]);
			const veto_video_info *info = veto_tmk_video_info(t);
			CHECK(info && !info->partial, "%s: partial", names[i]);
			CHECK(info && info->frames_decoded > 0, "%s: frames decoded", names[i]);
			CHECK_INT(veto_tmk_frames_per_second(t), 15, "%s", names[i]);
			CHECK_INT(veto_tmk_feature_dimension(t), 256, "%s", names[i]);
			CHECK(veto_tmk_frame_count(t) > 0, "%s", names[i]);
		}
		veto_tmk_free(t);
		free(want);
		free(vp);
		free(tp);
	}

	/* From memory, with digests: the same bytes. */
	char *vp = video_path(data, names[0]), *tp = tmk_path(data, names[0]);
	size_t nv, nwant;
	uint8_t *video = slurp(vp, &nv), *want = slurp(tp, &nwant);
	veto_video_options_init(&o);
	veto_error err = { 0 };
	veto_tmk *t = NULL;
	CHECK_INT(veto_tmk_hash_buffer(video, nv, "upload.mp4", &o, &t, &err), 0, "%s",
	          err.message);
	if (t) {
		check_bytes(t, want, nwant, "from memory");
		const veto_video_info *info = veto_tmk_video_info(t);
		CHECK(info && info->has_digests && info->file_bytes == nv, "digests");
	}
	veto_tmk_free(t);

	/* A frame budget: a partial result, still a valid signature. */
	veto_video_options_init(&o);
	o.max_frames = 10;
	t = NULL;
	CHECK_INT(veto_tmk_hash_buffer(video, nv, "upload.mp4", &o, &t, &err), 0, "%s",
	          err.message);
	if (t) {
		const veto_video_info *info = veto_tmk_video_info(t);
		CHECK(info && info->partial, "max_frames: partial");
		CHECK(info && info->frames_decoded == 10, "max_frames: %lld decoded",
		      info ? (long long)info->frames_decoded : -1LL);
		/* 10 frames at 30 fps: 7 at 15 fps, as the CLI gives for a
		 * 10-frame file (its end-of-stream repeats included). */
		CHECK(veto_tmk_frame_count(t) == 7,
		      "max_frames: %d frames at 15 fps", veto_tmk_frame_count(t));
	}
	veto_tmk_free(t);

	/* Not a video. */
	t = NULL;
	static const uint8_t junk[64] = "this is not a video at all, just some words";
	int rc = veto_tmk_hash_buffer(junk, sizeof junk, "junk.bin", NULL, &t, &err);
	CHECK(rc < 0 && t == NULL, "junk: rc %d", rc);
	CHECK(strstr(err.message, "junk.bin") != NULL, "message names the input: %s",
	      err.message);
	free(video);
	free(want);
	free(vp);
	free(tp);

	/* The padded-dimensions sample has no expected .tmk: it must hash. */
	vp = video_path(data, "test-padded-dimensions");
	t = NULL;
	CHECK_INT(veto_tmk_hash_file(vp, NULL, &t, &err), 0, "%s", err.message);
	if (t) {
		double l1, l2;
		CHECK_INT(veto_tmk_compare(t, t, &l1, &l2, &err), 0, "%s", err.message);
		CHECK(fabs(l1 - 1) < 1e-5 && fabs(l2 - 1) < 1e-5, "self scores %g %g", l1, l2);
	}
	veto_tmk_free(t);
	free(vp);
}

/* ------------------------------------------------------------- scores --- */

static int name_index(const char *file)
{
	for (int i = 0; i < NNAMES; i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(file, names[i], n) && !strcmp(file + n, ".tmk"))
			return i;
	}
	return -1;
}

static void test_scores(const char *data, const char *scores_file)
{
	veto_tmk *t[NNAMES];
	for (int i = 0; i < NNAMES; i++) {
		char *tp = tmk_path(data, names[i]);
		veto_error err = { 0 };
		t[i] = NULL;
		CHECK_INT(veto_tmk_load(tp, &t[i], &err), 0, "%s", err.message);
		REQUIRE(t[i], "cannot load %s", tp);
		/* Loading and writing back gives the same bytes. */
		size_t n;
		uint8_t *want = slurp(tp, &n);
		check_bytes(t[i], want, n, tp);
		CHECK(veto_tmk_video_info(t[i]) == NULL, "loaded files have no video info");
		free(want);
		free(tp);
	}
	FILE *f = fopen(scores_file, "r");
	REQUIRE(f, "cannot open %s: %s", scores_file, strerror(errno));
	char line[1024];
	int pairs = 0, matches = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char a[256], b[256], h1[64], h2[64], d1[64], d2[64];
		REQUIRE(sscanf(line, "%255s %255s %63s %63s %63s %63s", a, b, h1, h2, d1, d2) == 6,
		        "bad line in %s: %s", scores_file, line);
		int ia = name_index(a), ib = name_index(b);
		REQUIRE(ia >= 0 && ib >= 0, "unknown file in %s: %s", scores_file, line);
		const float w1 = (float)strtod(h1, NULL), w2 = (float)strtod(h2, NULL);
		double l1 = -9, l2 = -9;
		veto_error err = { 0 };
		CHECK_INT(veto_tmk_compare(t[ia], t[ib], &l1, &l2, &err), 0, "%s", err.message);
		CHECK((float)l1 == w1 && (double)(float)l1 == l1, "%s %s: level 1 %a, want %s",
		      a, b, l1, h1);
		CHECK((float)l2 == w2 && (double)(float)l2 == l2, "%s %s: level 2 %a, want %s",
		      a, b, l2, h2);
		char g1[64], g2[64];
		snprintf(g1, sizeof g1, "%.6f", l1);
		snprintf(g2, sizeof g2, "%.6f", l2);
		CHECK_STR(g1, d1, "%s %s: level 1 as printed", a, b);
		CHECK_STR(g2, d2, "%s %s: level 2 as printed", a, b);
		const int want_match = w1 >= 0.7f && w2 >= 0.7f;
		CHECK_INT(veto_tmk_is_match(l1, l2), want_match, "%s %s: verdict", a, b);
		matches += want_match;
		pairs++;
	}
	fclose(f);
	CHECK_INT(pairs, NNAMES * (NNAMES + 1) / 2, "pairs in %s", scores_file);
	CHECK(matches > NNAMES && matches < pairs, "some pairs match, some do not (%d)", matches);
	CHECK(!veto_tmk_is_match(NAN, 1.0) && !veto_tmk_is_match(1.0, NAN), "NaN never matches");

	/* Signatures with other parameters are not comparable. */
	size_t n;
	uint8_t *bytes;
	veto_error err = { 0 };
	REQUIRE(veto_tmk_to_bytes(t[0], &bytes, &n, &err) == 0, "%s", err.message);
	bytes[12] = 25; /* frames per second */
	veto_tmk *other = NULL;
	CHECK_INT(veto_tmk_from_bytes(bytes, n, "fps25.tmk", &other, &err), 0, "%s",
	          err.message);
	double l1, l2;
	CHECK_INT(veto_tmk_compare(t[0], other, &l1, &l2, &err), VETO_ERR_INVALID, "fps 25");
	CHECK(strstr(err.message, "frames per second") != NULL, "%s", err.message);
	veto_tmk_free(other);
	free(bytes);
	for (int i = 0; i < NNAMES; i++)
		veto_tmk_free(t[i]);
}

/* ------------------------------------------------------ hostile files --- */

static void expect_refused(const uint8_t *d, size_t n, int code, const char *what)
{
	veto_tmk *t = (veto_tmk *)(uintptr_t)1; /* must be reset to NULL */
	veto_error err = { 0 };
	int rc = veto_tmk_from_bytes(d, n, "hostile.tmk", &t, &err);
	CHECK_INT(rc, code, "%s: %s", what, err.message);
	CHECK(rc == 0 ? t != NULL : t == NULL, "%s: output after rc %d", what, rc);
	CHECK(rc == 0 || strstr(err.message, "hostile.tmk") != NULL, "%s: message %s", what,
	      err.message);
	if (rc == 0)
		veto_tmk_free(t);
}

static void put_i32(uint8_t *p, int32_t v)
{
	uint32_t u = (uint32_t)v;
	p[0] = (uint8_t)u;
	p[1] = (uint8_t)(u >> 8);
	p[2] = (uint8_t)(u >> 16);
	p[3] = (uint8_t)(u >> 24);
}

static void test_hostile(const char *data)
{
	char *tp = tmk_path(data, names[0]);
	size_t n;
	uint8_t *good = slurp(tp, &n);
	uint8_t *b = (uint8_t *)malloc(n + 16);
	REQUIRE(b, "out of memory");
	char what[64];

	CHECK(veto_tmk_sniff(good, n), "sniff a .tmk");
	CHECK(!veto_tmk_sniff(good, 7) && !veto_tmk_sniff((const uint8_t *)"RIFF....", 8),
	      "sniff others");
	expect_refused(good, 0, VETO_ERR_FORMAT, "empty");
	static const size_t cuts[] = { 1, 4, 7, 8, 11, 12, 20, 31, 32, 33, 47, 48, 176,
	                               1200, 100000, VETO_TMK_FILE_BYTES - 4,
	                               VETO_TMK_FILE_BYTES - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		snprintf(what, sizeof what, "truncated to %zu", cuts[i]);
		expect_refused(good, cuts[i], VETO_ERR_CORRUPT, what);
	}
	memcpy(b, good, n);
	b[n] = 0;
	expect_refused(b, n + 1, VETO_ERR_CORRUPT, "a trailing byte");

#define MUTATE(stmt, code, label)                                               \
	do {                                                                    \
		memcpy(b, good, n);                                             \
		stmt;                                                           \
		expect_refused(b, n, code, label);                              \
	} while (0)
	MUTATE(b[0] ^= 0x20, VETO_ERR_FORMAT, "project magic");
	MUTATE(b[5] ^= 0x01, VETO_ERR_FORMAT, "file-type magic");
	MUTATE(memcpy(b + 8, "PDQX", 4), VETO_ERR_UNSUPPORTED, "algorithm magic");
	MUTATE(put_i32(b + 12, 0), VETO_ERR_CORRUPT, "zero fps");
	MUTATE(put_i32(b + 16, 1000000), VETO_ERR_TOO_LARGE, "oversized period count");
	MUTATE(put_i32(b + 16, -4), VETO_ERR_CORRUPT, "negative period count");
	MUTATE(put_i32(b + 16, 5), VETO_ERR_CORRUPT, "period count beyond the data");
	MUTATE(put_i32(b + 16, 3), VETO_ERR_CORRUPT, "period count short of the data");
	MUTATE(put_i32(b + 20, INT32_MAX), VETO_ERR_TOO_LARGE, "oversized coefficient count");
	MUTATE(put_i32(b + 20, INT32_MIN), VETO_ERR_CORRUPT, "negative coefficient count");
	MUTATE(put_i32(b + 24, 1 << 30), VETO_ERR_TOO_LARGE, "oversized dimension");
	MUTATE(put_i32(b + 24, 255), VETO_ERR_CORRUPT, "wrong dimension");
	MUTATE(put_i32(b + 28, -1), VETO_ERR_CORRUPT, "negative frame count");
	MUTATE(put_i32(b + 32, 0), VETO_ERR_CORRUPT, "zero period");
	MUTATE(put_i32(b + 36, -7), VETO_ERR_CORRUPT, "negative period");
	MUTATE(put_i32(b + 40, 1 << 28), VETO_ERR_TOO_LARGE, "oversized period");
	MUTATE(b[28] ^= 0x01, 0, "a different frame count still parses");

	/* Every value of every header byte: parses or fails cleanly. */
	int refused = 0;
	for (int pos = 0; pos < 48; pos++)
		for (int v = 0; v < 256; v++) {
			memcpy(b, good, n);
			b[pos] = (uint8_t)v;
			veto_tmk *t = NULL;
			veto_error err = { 0 };
			int rc = veto_tmk_from_bytes(b, n, "fuzz.tmk", &t, &err);
			if (rc == 0 && (v & 63) == 0) { /* a score costs ~3 ms */
				double l1, l2;
				rc = veto_tmk_compare(t, t, &l1, &l2, &err);
				CHECK(rc == 0 || rc == VETO_ERR_INVALID, "byte %d = %d: compare %d",
				      pos, v, rc);
				veto_tmk_free(t);
			} else if (rc == 0) {
				veto_tmk_free(t);
			} else {
				refused++;
				if (!(rc == VETO_ERR_CORRUPT || rc == VETO_ERR_FORMAT ||
				      rc == VETO_ERR_UNSUPPORTED || rc == VETO_ERR_TOO_LARGE))
					CHECK(0, "byte %d = %d: code %d", pos, v, rc);
			}
		}
	CHECK(refused > 0, "header damage is noticed");

	/* Save (crash-safe, private) and load. */
	const char *dir = tmpdir_make("tmk");
	char *out = path_join(dir, "saved.tmk");
	veto_tmk *t = NULL;
	veto_error err = { 0 };
	REQUIRE(veto_tmk_from_bytes(good, n, tp, &t, &err) == 0, "%s", err.message);
	CHECK_INT(veto_tmk_save(t, out, &err), 0, "%s", err.message);
	struct stat st;
	CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0600, "saved mode %o",
	      (unsigned)st.st_mode & 0777);
	size_t ns;
	uint8_t *saved = slurp(out, &ns);
	CHECK(ns == n && memcmp(saved, good, n) == 0, "saved bytes");
	free(saved);
	veto_tmk *back = NULL;
	CHECK_INT(veto_tmk_load(out, &back, &err), 0, "%s", err.message);
	veto_tmk_free(back);
	char *missing = path_join(dir, "missing.tmk");
	CHECK_INT(veto_tmk_load(missing, &back, &err), VETO_ERR_IO, "missing file");
	CHECK(strstr(err.message, "missing.tmk") != NULL, "%s", err.message);
	char *nodir = path_join(dir, "no/such/dir.tmk");
	CHECK_INT(veto_tmk_save(t, nodir, &err), VETO_ERR_IO, "unwritable path");
	veto_tmk_free(t);
	tmpdir_remove();
	free(nodir);
	free(missing);
	free(out);
	free(b);
	free(good);
	free(tp);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--hash"))
		return hash_one(argv[2], argv[3]);
	const char *data = testdata_dir(argc, argv);
	REQUIRE(argc > 2, "usage: %s TESTDATA_DIR SCORES_FILE", argv[0]);
	test_hostile(data);
	test_scores(data, argv[2]);
	test_hash_samples(data);
	return check_exit("test_tmk");
}
