/*
 * test_matcher.c - server/signals.c and server/matcher.c against
 * python-threatexchange's behaviour and real data.
 *
 *   1. Parsing accepts and refuses exactly what pytx's validate_signal_str
 *      does (the expected canonical vPDQ strings below were printed by
 *      python3 running pytx's own expressions), and error messages read
 *      like HMA's.
 *   2. Comparisons on the shared data: PDQ pairs of expected-pdq.csv, vPDQ
 *      and TMK of the sample videos (chair-19 vs chair-20 match by both,
 *      100.00 / 92.28 %; the large-logo edit defeats both).
 *   3. vsig_hash_bytes on a real JPEG gives the reference PDQ; on a video,
 *      what libveto computes from the file; on garbage, an error.
 *   4. The matcher, fed hand-built change records: adds, updates, deletes,
 *      withdrawals, bank renames and deletes, bank filters, `enabled` by
 *      disable_until_ts, ordering, seq skipping, idempotent re-apply, a
 *      brute-force cross-check of 20,000 random PDQ hashes, vPDQ percentages
 *      against veto_vpdq_compare, and the snapshot: a round trip answers
 *      the same, a damaged file (truncated, any byte flipped, foreign) is
 *      refused with VETO_ERR_CORRUPT and the file's name, and so is a
 *      re-signed one whose counts or references are wrong.
 *   5. Readers, a writer and a saver at once (also run under TSan): stable
 *      content is always found, a snapshot taken mid-churn loads whole.
 *
 * Usage: test_matcher TESTDATA_DIR
 */
#include "check.h"
#include "matcher.h"
#include "signals.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <xxhash.h>

static const char *TD;

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static veto_pdq_hash random_hash(void)
{
	veto_pdq_hash h;
	for (int i = 0; i < 4; i++) {
		uint64_t r = rnd();
		memcpy(h.bytes + 8 * i, &r, 8);
	}
	return h;
}

static veto_pdq_hash flip_bits(veto_pdq_hash h, int nbits)
{
	int done = 0;
	uint8_t used[256] = {0};
	while (done < nbits) {
		int b = (int)(rnd() % 256);
		if (used[b])
			continue;
		used[b] = 1;
		h.bytes[b / 8] ^= (uint8_t)(1u << (b % 8));
		done++;
	}
	return h;
}

static char *hexdup(const veto_pdq_hash *h)
{
	char *s = (char *)malloc(VETO_PDQ_HEX_LEN + 1);
	REQUIRE(s, "out of memory");
	veto_pdq_to_hex(h, s);
	return s;
}

static int parse_ok(int type, const char *s, char **canon)
{
	vsig_value v;
	veto_error e;
	int rc = vsig_parse(type, s, strlen(s), &v, canon, &e);
	vsig_value_clear(&v);
	return rc == VETO_OK;
}

static int parse_err(int type, const char *s, size_t len, char *msg, size_t cap)
{
	vsig_value v;
	veto_error e;
	memset(&e, 0, sizeof e);
	int rc = vsig_parse(type, s, len, &v, NULL, &e);
	vsig_value_clear(&v);
	if (msg)
		snprintf(msg, cap, "%s", e.message);
	return rc;
}

static char *b64(const uint8_t *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = (char *)malloc((n + 2) / 3 * 4 + 1);
	REQUIRE(o, "out of memory");
	size_t k = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t w = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		o[k++] = a[w >> 18]; o[k++] = a[(w >> 12) & 63]; o[k++] = a[(w >> 6) & 63]; o[k++] = a[w & 63];
	}
	if (i < n) {
		uint32_t w = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		o[k++] = a[w >> 18]; o[k++] = a[(w >> 12) & 63];
		o[k++] = i + 1 < n ? a[(w >> 6) & 63] : '=';
		o[k++] = '=';
	}
	o[k] = '\0';
	return o;
}

/* vPDQ signal string (pytx's form) of hashed frames. */
static char *vpdq_string(const veto_vpdq_frame *f, size_t n)
{
	size_t cap = 16 + n * 100, k = 0;
	char *s = (char *)malloc(cap);
	REQUIRE(s, "out of memory");
	k += (size_t)snprintf(s + k, cap - k, "[");
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		veto_pdq_to_hex(&f[i].pdq, hex);
		k += (size_t)snprintf(s + k, cap - k, "%s\"%s,%d,%.6f\"", i ? ", " : "", hex,
		                      f[i].quality, (double)f[i].timestamp);
	}
	snprintf(s + k, cap - k, "]");
	return s;
}

typedef struct video {
	veto_vpdq *vq;     /* every frame */
	veto_tmk *tmk;
	char *vpdq_str;
	char *tmk_str;
} video;

static void video_load(video *v, const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "video/samples/%s.mp4", name);
	char *p = path_join(TD, rel);
	veto_video_options o;
	veto_video_options_init(&o);
	o.every = 0; /* every frame: docs/video.md's table */
	veto_error e;
	memset(v, 0, sizeof *v);
	REQUIRE(veto_video_hash_file(p, &o, &v->vq, &v->tmk, &e) == VETO_OK, "%s: %s", p, e.message);
	free(p);
	v->vpdq_str = vpdq_string(v->vq->frames, v->vq->count);
	uint8_t *tb;
	size_t tn;
	REQUIRE(veto_tmk_to_bytes(v->tmk, &tb, &tn, &e) == VETO_OK, "tmk bytes: %s", e.message);
	v->tmk_str = b64(tb, tn);
	free(tb);
}

static void video_free(video *v)
{
	veto_vpdq_free(v->vq);
	veto_tmk_free(v->tmk);
	free(v->vpdq_str);
	free(v->tmk_str);
}

/* ------------------------------------------------------- change records */

typedef struct sig { const char *type; const char *value; } sig;

static vs_change bank_change(int64_t seq, int64_t id, const char *name, double ratio, int deleted)
{
	vs_change c;
	memset(&c, 0, sizeof c);
	c.seq = seq;
	c.kind = VS_CHANGE_BANK;
	c.ts = 1000 + seq;
	c.bank_id = id;
	c.bank.id = id;
	c.bank.name = name ? strdup(name) : NULL;
	c.bank.enabled_ratio = ratio;
	c.bank.deleted = deleted;
	return c;
}

static vs_change content_change(int64_t seq, int64_t id, int64_t bank, int status,
                                int64_t disable_until, const sig *sigs, size_t nsigs)
{
	vs_change c;
	memset(&c, 0, sizeof c);
	c.seq = seq;
	c.kind = VS_CHANGE_CONTENT;
	c.ts = 1000 + seq;
	c.bank_id = bank;
	c.content_id = id;
	c.content.id = id;
	c.content.bank_id = bank;
	c.content.status = status;
	c.content.disable_until_ts = disable_until;
	if (status == VS_ACTIVE && nsigs) {
		c.content.signals = (vs_signal *)calloc(nsigs, sizeof *c.content.signals);
		REQUIRE(c.content.signals, "out of memory");
		for (size_t i = 0; i < nsigs; i++) {
			c.content.signals[i].type = strdup(sigs[i].type);
			c.content.signals[i].value = strdup(sigs[i].value);
		}
		c.content.nsignals = nsigs;
	}
	return c;
}

static void changes_free(vs_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].bank.name);
		for (size_t k = 0; k < c[i].content.nsignals; k++) {
			free(c[i].content.signals[k].type);
			free(c[i].content.signals[k].value);
		}
		free(c[i].content.signals);
	}
}

static void apply(vm_matcher *m, vs_change *c, size_t n)
{
	veto_error e;
	int rc = vm_apply(m, c, n, &e);
	CHECK(rc == VETO_OK, "vm_apply: %s", e.message);
	changes_free(c, n);
}

static void apply1(vm_matcher *m, vs_change c)
{
	apply(m, &c, 1);
}

/* Query with a signal string; returns the hits (free()) and their count. */
static vm_hit *query(vm_matcher *m, int type, const char *s, const int64_t *banks, size_t nb,
                     int64_t now, size_t *n)
{
	vsig_value v;
	veto_error e;
	REQUIRE(vsig_parse(type, s, strlen(s), &v, NULL, &e) == VETO_OK, "query parse: %s", e.message);
	vm_hit *h = NULL;
	int rc = vm_query(m, &v, banks, nb, now, &h, n, &e);
	CHECK(rc == VETO_OK, "vm_query: %s", e.message);
	vsig_value_clear(&v);
	return h;
}

/* "id:bank:distance:enabled ..." for compact comparisons */
static void hits_str(const vm_hit *h, size_t n, char *buf, size_t cap)
{
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(buf + k, cap - k, "%s%lld:%lld:%d:%d", i ? " " : "",
		                      (long long)h[i].content_id, (long long)h[i].bank_id,
		                      h[i].score.distance, h[i].enabled);
}

/* ------------------------------------------------------------ 1. parse */

#define H0 "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
#define H1 "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064"
#define H2 "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"
#define H3 "c186f9619659658c4b6916daf934496985f4259c72c39676ab9edb631c3c349c"

static void test_names(void)
{
	CHECK_STR(vsig_name(VSIG_PDQ), "pdq", "name");
	CHECK_STR(vsig_name(VSIG_VIDEO_MD5), "video_md5", "name");
	CHECK_STR(vsig_name(VSIG_VPDQ), "vpdq", "name");
	CHECK_STR(vsig_name(VSIG_TMK), "tmk", "name");
	CHECK_INT(vsig_from_name("vpdq"), VSIG_VPDQ, "from name");
	CHECK_INT(vsig_from_name("PDQ"), -1, "names are case-sensitive");
	CHECK_INT(vsig_from_name("md5"), -1, "unknown");
	CHECK_INT(vsig_content_from_name("video"), VSIG_VIDEO, "content");
	CHECK_INT(vsig_content_from_name("photos"), -1, "content");
	CHECK_STR(vsig_content_name(VSIG_PHOTO), "photo", "content name");
	CHECK_INT(vsig_content_of(VSIG_PDQ), VSIG_PHOTO, "pdq is photo");
	CHECK_INT(vsig_content_of(VSIG_TMK), VSIG_VIDEO, "tmk is video");
	CHECK_INT(vsig_content_of(9), -1, "bad type");
}

static void test_parse_pdq(void)
{
	char *c = NULL, msg[512];
	CHECK(parse_ok(VSIG_PDQ, H0, &c), "valid pdq");
	CHECK_STR(c, H0, "canonical pdq is the same string");
	free(c);
	char up[65];
	strcpy(up, H0);
	for (int i = 0; up[i]; i++)
		if (up[i] >= 'a' && up[i] <= 'f')
			up[i] = (char)(up[i] - 32);
	CHECK_INT(parse_err(VSIG_PDQ, up, 64, msg, sizeof msg), VETO_ERR_INVALID, "uppercase pdq");
	CHECK_STR(msg, "invalid PDQ hash", "HMA's message");
	CHECK_INT(parse_err(VSIG_PDQ, H0, 63, NULL, 0), VETO_ERR_INVALID, "63 digits");
	CHECK_INT(parse_err(VSIG_PDQ, H0 "0", 65, NULL, 0), VETO_ERR_INVALID, "65 digits");
	CHECK_INT(parse_err(VSIG_PDQ, H0 " ", 65, NULL, 0), VETO_ERR_INVALID, "trailing space");
	CHECK_INT(parse_err(VSIG_PDQ, "\n" H0, 65, NULL, 0), VETO_ERR_INVALID, "leading newline");
	CHECK_INT(parse_err(VSIG_PDQ, "", 0, NULL, 0), VETO_ERR_INVALID, "empty");
	CHECK_INT(parse_err(VSIG_PDQ, H0 "\n\n", 66, NULL, 0), VETO_ERR_INVALID, "two newlines");
	char ng[65];
	memcpy(ng, H0, 65);
	ng[5] = 'g';
	CHECK_INT(parse_err(VSIG_PDQ, ng, 64, NULL, 0), VETO_ERR_INVALID, "non-hex");
	/* Python's "$" matches before one final newline: pytx accepts it */
	CHECK(parse_ok(VSIG_PDQ, H0 "\n", &c), "64 hex + newline passes re.match");
	CHECK_STR(c, H0, "canonical drops the newline");
	free(c);
	char withnul[65];
	memcpy(withnul, H0, 64);
	withnul[10] = '\0';
	CHECK_INT(parse_err(VSIG_PDQ, withnul, 64, NULL, 0), VETO_ERR_INVALID, "NUL inside");
}

static void test_parse_md5(void)
{
	char *c = NULL, msg[512];
	CHECK(parse_ok(VSIG_VIDEO_MD5, "  D41D8CD98F00B204E9800998ECF8427E\n", &c), "md5 trimmed");
	CHECK_STR(c, "d41d8cd98f00b204e9800998ecf8427e", "md5 normalised");
	free(c);
	/* str.strip() knows Unicode whitespace and U+001C..1F */
	CHECK(parse_ok(VSIG_VIDEO_MD5, "\xe3\x80\x80" "d41d8cd98f00b204e9800998ecf8427e\x1c", &c),
	      "U+3000 and U+001C stripped");
	CHECK_STR(c, "d41d8cd98f00b204e9800998ecf8427e", "md5 normalised");
	free(c);
	const char *bad = "d41d8cd98f00b204e9800998ecf8427";
	CHECK_INT(parse_err(VSIG_VIDEO_MD5, bad, strlen(bad), msg, sizeof msg), VETO_ERR_INVALID, "31");
	CHECK_STR(msg, "'d41d8cd98f00b204e9800998ecf8427' is not a valid MD5 hash", "pytx message");
	bad = "d41d8cd98f00b204 e9800998ecf8427e";
	CHECK_INT(parse_err(VSIG_VIDEO_MD5, bad, strlen(bad), NULL, 0), VETO_ERR_INVALID, "inner space");
	bad = "d41d8cd98f00b204e9800998ecf8427e0";
	CHECK_INT(parse_err(VSIG_VIDEO_MD5, bad, strlen(bad), NULL, 0), VETO_ERR_INVALID, "33");
	bad = "it's\tbad";
	CHECK_INT(parse_err(VSIG_VIDEO_MD5, bad, strlen(bad), msg, sizeof msg), VETO_ERR_INVALID, "q");
	CHECK_STR(msg, "\"it's\\tbad\" is not a valid MD5 hash", "repr quoting");
	CHECK_INT(parse_err(VSIG_VIDEO_MD5, "", 0, NULL, 0), VETO_ERR_INVALID, "empty");
}

static void test_parse_vpdq(void)
{
	/* Input and the canonical form python3 printed for it (pytx's own
	 * expressions: int(), float(), f"{t:.3}", json.dumps). */
	static const char *in =
		"[\"" H0 ",100,0\", \"" H1 ", 49 ,1.0\", \"" H2 ",+7,12.5\", \"" H3 ",1_00,123.4\", "
		"\"" H0 ",0,0.033333333\", \"" H1 ",50,1_0.5\", \"" H2 ",100,1e-5\", \"" H3 ",100,NaN\", "
		"\"" H0 ",100,inf\", \"" H1 ",100,99.95\", \"" H2 ",100,-0.0\", \"" H3 ",100, 2.675 \", "
		"\"" H0 ",100,1000.0\", \"" H1 ",100,0.0005\", \"" H2 ",007,9.995\"]";
	static const char *want =
		"[\"" H0 ",100,0.0\", \"" H1 ",49,1.0\", \"" H2 ",7,12.5\", \"" H3 ",100,1.23e+02\", "
		"\"" H0 ",0,0.0333\", \"" H1 ",50,10.5\", \"" H2 ",100,1e-05\", \"" H3 ",100,nan\", "
		"\"" H0 ",100,inf\", \"" H1 ",100,1e+02\", \"" H2 ",100,-0.0\", \"" H3 ",100,2.67\", "
		"\"" H0 ",100,1e+03\", \"" H1 ",100,0.0005\", \"" H2 ",7,9.99\"]";
	char *c = NULL;
	vsig_value v;
	veto_error e;
	CHECK_INT(vsig_parse(VSIG_VPDQ, in, strlen(in), &v, &c, &e), VETO_OK, "vpdq: %s", e.message);
	CHECK_STR(c, want, "canonical vPDQ string as python prints it");
	CHECK_INT(v.nframes, 15, "frames");
	CHECK_INT(v.frames[1].quality, 49, "quality");
	CHECK_INT(v.frames[3].quality, 100, "1_00");
	CHECK(fabs(v.frames[5].timestamp - 10.5f) < 1e-6, "1_0.5");
	free(c);
	vsig_value_clear(&v);
	/* the canonical form parses to itself */
	CHECK(parse_ok(VSIG_VPDQ, want, &c), "canonical reparses");
	CHECK_STR(c, want, "canonical is a fixed point");
	free(c);
	/* an object: pytx iterates its keys */
	const char *obj = "{\"" H0 ",100,1.5\": 1, \"" H1 ",60,2\": null}";
	CHECK(parse_ok(VSIG_VPDQ, obj, &c), "dict of features");
	CHECK_STR(c, "[\"" H0 ",100,1.5\", \"" H1 ",60,2.0\"]", "dict keys in order");
	free(c);
	/* json.loads(s or "[]"): empties */
	const char *empties[] = {"", "[]", "{}", "\"\"", " [ ] "};
	for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
		CHECK(parse_ok(VSIG_VPDQ, empties[i], &c), "empty form '%s'", empties[i]);
		CHECK_STR(c, "[]", "empty canonical");
		free(c);
	}
	/* upper-case hex works in pytx (int(h, 16), unhexlify); lowercased */
	CHECK(parse_ok(VSIG_VPDQ, "[\"F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22,100,1\"]", &c),
	      "upper-case frame hash");
	CHECK_STR(c, "[\"" H0 ",100,1.0\"]", "lowercased");
	free(c);
	struct { const char *s; const char *why; } bad[] = {
		{"\"x\"", "a non-empty JSON string"},
		{"5", "a number"},
		{"null", "null"},
		{"[5]", "a non-string element"},
		{"[", "malformed JSON"},
		{"[\"" H0 ",100,1\"] x", "trailing garbage"},
		{"[\"" H0 ",100\"]", "two fields"},
		{"[\"" H0 ",100,1,2\"]", "four fields"},
		{"[\"" H0 ",101,1\"]", "quality 101"},
		{"[\"" H0 ",-1,1\"]", "quality -1"},
		{"[\"" H0 ",1.5,1\"]", "fractional quality"},
		{"[\"" H0 ",100,-1\"]", "negative timestamp"},
		{"[\"" H0 ",100,-inf\"]", "-inf timestamp"},
		{"[\"" H0 ",100,1e\"]", "bad float"},
		{"[\"" H0 ",100,1__0\"]", "double underscore"},
		{"[\"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2,100,1\"]", "63 digits"},
		{"[\"" H0 ",,1\"]", "empty quality"},
		{"[\"" H0 ",100,\"]", "empty timestamp"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_INT(parse_err(VSIG_VPDQ, bad[i].s, strlen(bad[i].s), NULL, 0), VETO_ERR_INVALID,
		          "vpdq %s must be refused", bad[i].why);
	char msg[512];
	const char *two = "[\"" H0 ",100\"]";
	parse_err(VSIG_VPDQ, two, strlen(two), msg, sizeof msg);
	CHECK_STR(msg, "invalid VpdqCompactFeature serialization: " H0 ",100", "pytx message");
	/* deliberate narrowing (see signals.c): int(h, 16) would take "0x" */
	const char *ox = "[\"0xf8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,1\"]";
	CHECK_INT(parse_err(VSIG_VPDQ, ox, strlen(ox), NULL, 0), VETO_ERR_INVALID, "0x prefix");
}

static void test_parse_tmk(const video *v)
{
	char *c = NULL;
	CHECK(parse_ok(VSIG_TMK, v->tmk_str, &c), "tmk base64");
	CHECK_STR(c, v->tmk_str, "tmk canonical");
	free(c);
	size_t n = strlen(v->tmk_str);
	char *s = (char *)malloc(n + 2);
	REQUIRE(s, "oom");
	/* a newline inside */
	memcpy(s, v->tmk_str, 76);
	s[76] = '\n';
	memcpy(s + 77, v->tmk_str + 76, n - 76 + 1);
	CHECK_INT(parse_err(VSIG_TMK, s, n + 1, NULL, 0), VETO_ERR_INVALID, "newline in base64");
	/* a character outside the alphabet (URL-safe '-') */
	memcpy(s, v->tmk_str, n + 1);
	s[100] = '-';
	CHECK_INT(parse_err(VSIG_TMK, s, n, NULL, 0), VETO_ERR_INVALID, "url-safe alphabet");
	/* missing padding */
	memcpy(s, v->tmk_str, n + 1);
	size_t k = n;
	while (k && s[k - 1] == '=')
		s[--k] = '\0';
	if (k != n)
		CHECK_INT(parse_err(VSIG_TMK, s, k, NULL, 0), VETO_ERR_INVALID, "no padding");
	/* truncated by 4 characters: valid base64, a cut .tmk */
	CHECK_INT(parse_err(VSIG_TMK, v->tmk_str, n - 4, NULL, 0), VETO_ERR_INVALID, "cut tmk");
	free(s);
	char msg[512];
	CHECK_INT(parse_err(VSIG_TMK, "QQ==", 4, msg, sizeof msg), VETO_ERR_INVALID, "one byte");
	CHECK(strstr(msg, "invalid TMK signal") != NULL, "message: %s", msg);
	CHECK_INT(parse_err(VSIG_TMK, "QR==", 4, msg, sizeof msg), VETO_ERR_INVALID, "pad bits");
	CHECK(strstr(msg, "padding") != NULL, "message: %s", msg);
	CHECK_INT(parse_err(VSIG_TMK, "", 0, NULL, 0), VETO_ERR_INVALID, "empty");
	CHECK_INT(parse_err(VSIG_TMK, "A=BC", 4, NULL, 0), VETO_ERR_INVALID, "pad inside");
}

/* ---------------------------------------------------------- 2. compare */

static void test_compare_pdq(void)
{
	char *csv = path_join(TD, "pdq/expected-pdq.csv");
	int n;
	expected_row *rows = read_expected(csv, 1, &n);
	free(csv);
	int pairs = 0, matches = 0, nonmatches = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			vsig_value a, b;
			veto_error e;
			if (vsig_parse(VSIG_PDQ, rows[i].hash[0], 64, &a, NULL, &e) != VETO_OK ||
			    vsig_parse(VSIG_PDQ, rows[j].hash[0], 64, &b, NULL, &e) != VETO_OK) {
				CHECK(0, "csv hash refused: %s", e.message);
				continue;
			}
			vsig_score s;
			CHECK_INT(vsig_compare(&a, &b, &s, &e), VETO_OK, "compare");
			const int d = veto_pdq_distance(&a.pdq, &b.pdq);
			if (s.distance != d || s.match != (d <= 31))
				CHECK(0, "%s vs %s: distance %d match %d, want %d", rows[i].path,
				      rows[j].path, s.distance, s.match, d);
			matches += s.match;
			nonmatches += !s.match;
			pairs++;
			vsig_value_clear(&a);
			vsig_value_clear(&b);
		}
	CHECK(matches > n && nonmatches > n, "csv pairs: %d match, %d do not", matches, nonmatches);
	/* two known pairs: a bridge edit matches the original; another photo does not */
	vsig_value a, b;
	vsig_score s;
	char buf[64];
	vsig_parse(VSIG_PDQ, H0, 64, &a, NULL, NULL);
	vsig_parse(VSIG_PDQ, "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22", 64, &b,
	           NULL, NULL);
	vsig_compare(&a, &b, &s, NULL);
	CHECK(s.match && s.distance == 2, "blur-a-little: %d", s.distance);
	vsig_distance_str(VSIG_PDQ, &s, buf, sizeof buf);
	CHECK_STR(buf, "2", "pdq distance string");
	vsig_value_clear(&b);
	vsig_parse(VSIG_PDQ, H1, 64, &b, NULL, NULL);
	vsig_compare(&a, &b, &s, NULL);
	CHECK(!s.match && s.distance > 31, "other photo: %d", s.distance);
	vsig_value_clear(&a);
	vsig_value_clear(&b);
	/* md5 */
	vsig_parse(VSIG_VIDEO_MD5, "d41d8cd98f00b204e9800998ecf8427e", 32, &a, NULL, NULL);
	vsig_parse(VSIG_VIDEO_MD5, " D41D8CD98F00B204E9800998ECF8427E ", 34, &b, NULL, NULL);
	CHECK(vsig_compare(&a, &b, &s, NULL) == VETO_OK && s.match, "md5 equal after normalising");
	vsig_distance_str(VSIG_VIDEO_MD5, &s, buf, sizeof buf);
	CHECK_STR(buf, "-", "md5 distance string");
	vsig_value_clear(&b);
	vsig_parse(VSIG_VIDEO_MD5, "cab08b36195edb1a1231d2d09fa450e0", 32, &b, NULL, NULL);
	CHECK(vsig_compare(&a, &b, &s, NULL) == VETO_OK && !s.match, "md5 differ");
	CHECK(vsig_compare(&a, &a, &s, NULL) == VETO_OK && s.match, "md5 self");
	vsig_value c;
	vsig_parse(VSIG_PDQ, H0, 64, &c, NULL, NULL);
	CHECK_INT(vsig_compare(&a, &c, &s, NULL), VETO_ERR_INVALID, "types differ");
	vsig_value_clear(&a);
	vsig_value_clear(&b);
	vsig_value_clear(&c);
	free(rows);
	(void)pairs;
}

static void test_compare_video(const video *c19, const video *c20, const video *logo,
                               const video *orig)
{
	vsig_value a, b, x, y;
	veto_error e;
	vsig_score s;
	char buf[64];
	REQUIRE(vsig_parse(VSIG_VPDQ, c19->vpdq_str, strlen(c19->vpdq_str), &a, NULL, &e) == 0, "%s", e.message);
	REQUIRE(vsig_parse(VSIG_VPDQ, c20->vpdq_str, strlen(c20->vpdq_str), &b, NULL, &e) == 0, "%s", e.message);
	CHECK_INT(vsig_compare(&a, &b, &s, &e), VETO_OK, "%s", e.message);
	CHECK(s.match, "chair-19 vs chair-20 must match by vPDQ");
	CHECK(fabs(s.query_percent - 100.00) < 0.005 && fabs(s.target_percent - 92.28) < 0.005,
	      "chair-19 vs chair-20: %.2f / %.2f, docs/video.md says 100.00 / 92.28",
	      s.query_percent, s.target_percent);
	vsig_distance_str(VSIG_VPDQ, &s, buf, sizeof buf);
	CHECK_STR(buf, "100%[92%]", "VPDQSimilarityInfo.pretty_str");
	/* the same as libveto's rule on the frames themselves */
	veto_vpdq_match vm;
	veto_vpdq_compare(c19->vq->frames, c19->vq->count, c20->vq->frames, c20->vq->count,
	                  VETO_VPDQ_QUALITY, VETO_VPDQ_DISTANCE, &vm, NULL);
	CHECK(vm.query_percent == s.query_percent && vm.target_percent == s.target_percent,
	      "string round trip keeps the percentages");
	REQUIRE(vsig_parse(VSIG_VPDQ, logo->vpdq_str, strlen(logo->vpdq_str), &x, NULL, &e) == 0, "%s", e.message);
	REQUIRE(vsig_parse(VSIG_VPDQ, orig->vpdq_str, strlen(orig->vpdq_str), &y, NULL, &e) == 0, "%s", e.message);
	CHECK_INT(vsig_compare(&x, &y, &s, &e), VETO_OK, "%s", e.message);
	CHECK(!s.match, "large logo vs original must not match by vPDQ");
	CHECK(fabs(s.query_percent - 11.06) < 0.005 && fabs(s.target_percent - 9.74) < 0.005,
	      "large logo vs original: %.2f / %.2f, want 11.06 / 9.74", s.query_percent,
	      s.target_percent);
	vsig_distance_str(VSIG_VPDQ, &s, buf, sizeof buf);
	CHECK_STR(buf, "11%[10%]", "pretty_str rounding");
	/* pytx divides by the filtered count: no usable frame is an error */
	vsig_value lowq;
	const char *lq = "[\"" H0 ",49,0.0\"]";
	vsig_parse(VSIG_VPDQ, lq, strlen(lq), &lowq, NULL, NULL);
	CHECK_INT(vsig_compare(&a, &lowq, &s, &e), VETO_ERR_INVALID, "no frame >= 50");
	CHECK_STR(e.message, "division by zero", "pytx's ZeroDivisionError");
	vsig_value_clear(&lowq);
	vsig_value_clear(&a);
	vsig_value_clear(&b);
	vsig_value_clear(&x);
	vsig_value_clear(&y);
	/* TMK */
	REQUIRE(vsig_parse(VSIG_TMK, c19->tmk_str, strlen(c19->tmk_str), &a, NULL, &e) == 0, "%s", e.message);
	REQUIRE(vsig_parse(VSIG_TMK, c20->tmk_str, strlen(c20->tmk_str), &b, NULL, &e) == 0, "%s", e.message);
	CHECK_INT(vsig_compare(&a, &b, &s, &e), VETO_OK, "%s", e.message);
	CHECK(s.match && fabs(s.level1 - 0.989) < 0.0005 && fabs(s.level2 - 0.991) < 0.0005,
	      "chair-19 vs chair-20 TMK: %f %f", s.level1, s.level2);
	vsig_distance_str(VSIG_TMK, &s, buf, sizeof buf);
	char want[64];
	snprintf(want, sizeof want, "%.6f,%.6f", s.level1, s.level2);
	CHECK_STR(buf, want, "tmk distance string");
	CHECK(strlen(buf) == 17 && buf[8] == ',', "6 decimals each: %s", buf);
	REQUIRE(vsig_parse(VSIG_TMK, logo->tmk_str, strlen(logo->tmk_str), &x, NULL, &e) == 0, "%s", e.message);
	REQUIRE(vsig_parse(VSIG_TMK, orig->tmk_str, strlen(orig->tmk_str), &y, NULL, &e) == 0, "%s", e.message);
	CHECK_INT(vsig_compare(&x, &y, &s, &e), VETO_OK, "%s", e.message);
	CHECK(!s.match && fabs(s.level1 - 0.463) < 0.0005 && fabs(s.level2 - 0.654) < 0.0005,
	      "large logo TMK: %f %f", s.level1, s.level2);
	vsig_value_clear(&a);
	vsig_value_clear(&b);
	vsig_value_clear(&x);
	vsig_value_clear(&y);
	/* the reference .tmk file of chair-19 equals the computed one */
	char *p = path_join(TD, "video/expected-tmk/chair-19-sd-bar.tmk");
	size_t n;
	uint8_t *d = slurp(p, &n);
	char *s64 = b64(d, n);
	CHECK_STR(s64, c19->tmk_str, "computed .tmk == reference .tmk (base64)");
	free(s64);
	free(d);
	free(p);
}

/* ------------------------------------------------------------- 3. hash */

static void test_hash_bytes(const video *c19)
{
	size_t n;
	char *p = path_join(TD, "pdq/bridge-mods/aaa-orig.jpg");
	uint8_t *d = slurp(p, &n);
	vsig_hashes h;
	veto_error e;
	CHECK_INT(vsig_hash_bytes(VSIG_PHOTO, d, n, "aaa-orig.jpg", 0, NULL, &h, &e), VETO_OK, "%s", e.message);
	CHECK(h.have[VSIG_PDQ] && !h.have[VSIG_VPDQ], "photo gives pdq only");
	CHECK_STR(h.value[VSIG_PDQ], H0, "reference PDQ of aaa-orig.jpg");
	CHECK_INT(h.pdq_quality, 100, "quality");
	vsig_hashes_clear(&h);
	free(d);
	free(p);
	/* below quality 50: "" as pytx's hash_from_bytes */
	p = path_join(TD, "pdq/reg-test-input/labelme-subset/q0003.jpg");
	d = slurp(p, &n);
	CHECK_INT(vsig_hash_bytes(VSIG_PHOTO, d, n, "q0003.jpg", 1u << VSIG_PDQ, NULL, &h, &e), VETO_OK, "%s", e.message);
	CHECK_STR(h.value[VSIG_PDQ], "", "quality 3 gives an empty pdq");
	CHECK_INT(h.pdq_quality, 3, "quality");
	vsig_hashes_clear(&h);
	/* garbage: an error naming the upload, never a crash */
	uint8_t junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)rnd();
	CHECK(vsig_hash_bytes(VSIG_PHOTO, junk, sizeof junk, "junk.bin", 0, NULL, &h, &e) != VETO_OK,
	      "garbage photo");
	CHECK(strstr(e.message, "junk.bin") != NULL, "message names it: %s", e.message);
	CHECK(vsig_hash_bytes(VSIG_VIDEO, junk, sizeof junk, "junk.mp4", 1u << VSIG_VPDQ, NULL, &h, &e) != VETO_OK,
	      "garbage video");
	/* a JPEG header cut short */
	CHECK(vsig_hash_bytes(VSIG_PHOTO, d, 200, "cut.jpg", 0, NULL, &h, &e) != VETO_OK, "cut jpeg");
	CHECK(vsig_hash_bytes(VSIG_PHOTO, NULL, 0, "empty", 0, NULL, &h, &e) != VETO_OK, "empty");
	free(d);
	free(p);
	/* a video: md5 of the bytes, vPDQ at 1 s, TMK */
	p = path_join(TD, "video/samples/chair-19-sd-bar.mp4");
	d = slurp(p, &n);
	CHECK_INT(vsig_hash_bytes(VSIG_VIDEO, d, n, "chair-19.mp4", 0, NULL, &h, &e), VETO_OK, "%s", e.message);
	CHECK(h.have[VSIG_VIDEO_MD5] && h.have[VSIG_VPDQ] && h.have[VSIG_TMK] && !h.have[VSIG_PDQ],
	      "video gives md5, vpdq, tmk");
	uint8_t md5[16];
	veto_digest(d, n, md5, NULL, NULL);
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md5[i]);
	CHECK_STR(h.value[VSIG_VIDEO_MD5], hex, "md5 of the bytes");
	CHECK_STR(h.value[VSIG_TMK], c19->tmk_str, "tmk base64 of the same video");
	CHECK(!h.partial, "complete");
	/* vPDQ: what veto_video_hash_file gives at 1 s, in pytx's form */
	veto_video_options o;
	veto_video_options_init(&o);
	o.every = 1.0;
	veto_vpdq *vq;
	REQUIRE(veto_vpdq_hash_file(p, &o, &vq, &e) == VETO_OK, "%s", e.message);
	vsig_value v;
	char *canon = NULL;
	CHECK_INT(vsig_parse(VSIG_VPDQ, h.value[VSIG_VPDQ], strlen(h.value[VSIG_VPDQ]), &v, &canon, &e),
	          VETO_OK, "hashed vpdq parses: %s", e.message);
	CHECK_STR(canon, h.value[VSIG_VPDQ], "hashed vpdq is canonical");
	CHECK_INT(v.nframes, vq->count, "frame count at 1 s");
	int same = v.nframes == vq->count;
	for (size_t i = 0; same && i < v.nframes; i++)
		same = !memcmp(&v.frames[i].pdq, &vq->frames[i].pdq, 32) &&
		       v.frames[i].quality == vq->frames[i].quality;
	CHECK(same, "vpdq frames equal the library's");
	/* first frame's text: "<hex>,<q>,0.0" */
	char first[VETO_PDQ_HEX_LEN + 1];
	veto_pdq_to_hex(&vq->frames[0].pdq, first);
	char want[100];
	snprintf(want, sizeof want, "[\"%.64s,%d,0.0\"", first, vq->frames[0].quality);
	CHECK(!strncmp(h.value[VSIG_VPDQ], want, strlen(want)), "first frame text: %.80s", h.value[VSIG_VPDQ]);
	free(canon);
	vsig_value_clear(&v);
	veto_vpdq_free(vq);
	vsig_hashes_clear(&h);
	/* only what the mask asks for */
	CHECK_INT(vsig_hash_bytes(VSIG_VIDEO, d, n, "c19", 1u << VSIG_VIDEO_MD5, NULL, &h, &e), VETO_OK, "%s", e.message);
	CHECK(h.have[VSIG_VIDEO_MD5] && !h.have[VSIG_VPDQ] && !h.have[VSIG_TMK], "md5 only");
	vsig_hashes_clear(&h);
	/* a cut video: an error or a partial result, never a crash */
	int rc = vsig_hash_bytes(VSIG_VIDEO, d, n / 3, "cut.mp4", 0, NULL, &h, &e);
	CHECK(rc != VETO_OK || h.partial, "cut video: rc %d partial %d", rc, h.partial);
	vsig_hashes_clear(&h);
	free(d);
	free(p);
}

/* ---------------------------------------------------------- 4. matcher */

static void test_matcher_basics(void)
{
	vm_matcher *m;
	veto_error e;
	REQUIRE(vm_new(&m, &e) == VETO_OK, "%s", e.message);
	CHECK_INT(vm_seq(m), 0, "fresh seq");
	veto_pdq_hash base = random_hash();
	veto_pdq_hash near5 = flip_bits(base, 5), near20 = flip_bits(base, 20),
	              far = flip_bits(base, 32), near31 = flip_bits(base, 31);
	char *hb = hexdup(&base), *h5 = hexdup(&near5), *h20 = hexdup(&near20),
	     *hf = hexdup(&far), *h31 = hexdup(&near31);
	const int64_t BIG = 70000; /* a bank id beyond 16 bits: slots are mapped */
	vs_change c[16];
	size_t k = 0;
	c[k++] = bank_change(1, 1, "BANK_A", 1.0, 0);
	c[k++] = bank_change(2, 2, "BANK_B", 0.5, 0);
	c[k++] = bank_change(3, BIG, "BANK_BIG", 0.25, 0);
	c[k++] = content_change(4, 10, 1, VS_ACTIVE, 1, (sig[]){{"pdq", hb}}, 1);
	c[k++] = content_change(5, 11, 2, VS_ACTIVE, 0, (sig[]){{"pdq", h5}}, 1);       /* disabled */
	c[k++] = content_change(6, 12, BIG, VS_ACTIVE, 4000000000LL, (sig[]){{"pdq", h20}}, 1); /* future */
	c[k++] = content_change(7, 13, 1, VS_ACTIVE, 1500, (sig[]){{"pdq", h31}}, 1);   /* past */
	c[k++] = content_change(8, 14, 1, VS_ACTIVE, 1, (sig[]){{"pdq", hf}}, 1);      /* 32 away */
	c[k++] = content_change(9, 15, 2, VS_ACTIVE, 1,
	                        (sig[]){{"pdq", "NOT A HASH"}, {"nosuch", "x"}, {"video_md5",
	                                "d41d8cd98f00b204e9800998ecf8427e"}}, 3);
	apply(m, c, k);
	CHECK_INT(vm_seq(m), 9, "seq after apply");
	CHECK_INT(vm_seq_ts(m), 1009, "seq ts");
	vm_stats st;
	vm_stats_get(m, &st);
	CHECK_INT(st.signals[VSIG_PDQ], 5, "pdq signals");
	CHECK_INT(st.signals[VSIG_VIDEO_MD5], 1, "md5 signals");
	CHECK_INT(st.contents, 6, "contents");
	CHECK_INT(st.banks, 3, "banks");
	CHECK_INT(st.bad_signals, 2, "bad signals skipped and counted");
	vm_bank_info bi;
	CHECK(vm_bank(m, BIG, &bi) == VETO_OK && !strcmp(bi.name, "BANK_BIG") && bi.ratio == 0.25,
	      "bank by id");
	CHECK(vm_bank_by_name(m, "BANK_B", &bi) == VETO_OK && bi.id == 2, "bank by name");
	CHECK_INT(vm_bank(m, 3, &bi), VS_ERR_NOTFOUND, "no bank 3");
	size_t n;
	char buf[512];
	vm_hit *h = query(m, VSIG_PDQ, hb, NULL, 0, 2000, &n);
	hits_str(h, n, buf, sizeof buf);
	/* distance then id; enabled: 1 yes, 0 no, future no, past (1500 <= 2000) yes */
	CHECK_STR(buf, "10:1:0:1 11:2:5:0 12:70000:20:0 13:1:31:1", "pdq hits");
	free(h);
	h = query(m, VSIG_PDQ, hb, NULL, 0, 1499, &n);
	hits_str(h, n, buf, sizeof buf);
	CHECK_STR(buf, "10:1:0:1 11:2:5:0 12:70000:20:0 13:1:31:0", "before 1500 content 13 is off");
	free(h);
	h = query(m, VSIG_PDQ, hb, NULL, 0, 4000000000LL, &n);
	CHECK(n == 4 && h[2].enabled == 1, "at the future time content 12 is on");
	free(h);
	int64_t only[] = {BIG, 2};
	h = query(m, VSIG_PDQ, hb, only, 2, 2000, &n);
	hits_str(h, n, buf, sizeof buf);
	CHECK_STR(buf, "11:2:5:0 12:70000:20:0", "bank filter");
	free(h);
	int64_t none[] = {99};
	h = query(m, VSIG_PDQ, hb, none, 1, 2000, &n);
	CHECK_INT(n, 0, "unknown bank filter finds nothing");
	free(h);
	h = query(m, VSIG_VIDEO_MD5, "D41D8CD98F00B204E9800998ECF8427E", NULL, 0, 2000, &n);
	CHECK(n == 1 && h[0].content_id == 15 && h[0].bank_id == 2, "md5 hit");
	free(h);
	/* seq skipping: an old change is ignored */
	apply1(m, content_change(3, 10, 1, VS_DELETED, 1, NULL, 0));
	h = query(m, VSIG_PDQ, hb, NULL, 0, 2000, &n);
	CHECK(n == 4 && h[0].content_id == 10, "change with old seq skipped");
	free(h);
	CHECK_INT(vm_seq(m), 9, "seq unchanged");
	/* update: content 10 gets another hash; 11 withdrawn; 14 deleted */
	k = 0;
	c[k++] = content_change(10, 10, 1, VS_ACTIVE, 1, (sig[]){{"pdq", hf}}, 1);
	c[k++] = content_change(11, 11, 2, VS_WITHDRAWN, 0, NULL, 0);
	c[k++] = content_change(12, 14, 1, VS_DELETED, 1, NULL, 0);
	c[k++] = bank_change(13, 1, "BANK_A2", 0.75, 0);
	apply(m, c, k);
	h = query(m, VSIG_PDQ, hb, NULL, 0, 2000, &n);
	hits_str(h, n, buf, sizeof buf);
	CHECK_STR(buf, "12:70000:20:0 13:1:31:1", "after update/withdraw/delete");
	free(h);
	h = query(m, VSIG_PDQ, hf, NULL, 0, 2000, &n);
	hits_str(h, n, buf, sizeof buf);
	CHECK_STR(buf, "10:1:0:1", "10 now has the far hash (14 deleted)");
	free(h);
	CHECK(vm_bank_by_name(m, "BANK_A2", &bi) == VETO_OK && bi.id == 1 && bi.ratio == 0.75, "renamed");
	CHECK_INT(vm_bank_by_name(m, "BANK_A", &bi), VS_ERR_NOTFOUND, "old name gone");
	/* deleting a bank drops its content even without tombstones */
	apply1(m, bank_change(14, BIG, NULL, 0, 1));
	CHECK_INT(vm_bank(m, BIG, &bi), VS_ERR_NOTFOUND, "bank deleted");
	h = query(m, VSIG_PDQ, hb, NULL, 0, 2000, &n);
	hits_str(h, n, buf, sizeof buf);
	CHECK_STR(buf, "13:1:31:1", "bank's content gone");
	free(h);
	/* content for a deleted bank is ignored */
	apply1(m, content_change(15, 16, BIG, VS_ACTIVE, 1, (sig[]){{"pdq", hb}}, 1));
	h = query(m, VSIG_PDQ, hb, NULL, 0, 2000, &n);
	CHECK_INT(n, 1, "no content in a deleted bank");
	free(h);
	/* same id added, removed, re-added within one batch */
	k = 0;
	c[k++] = content_change(16, 20, 2, VS_ACTIVE, 1, (sig[]){{"pdq", hb}}, 1);
	c[k++] = content_change(17, 20, 2, VS_DELETED, 1, NULL, 0);
	c[k++] = content_change(18, 21, 2, VS_ACTIVE, 1, (sig[]){{"pdq", hb}}, 1);
	c[k++] = content_change(19, 21, 2, VS_ACTIVE, 1, (sig[]){{"pdq", h5}}, 1);
	c[k++] = content_change(20, 22, 2, VS_ACTIVE, 1, (sig[]){{"pdq", h5}}, 1);
	c[k++] = content_change(21, 22, 2, VS_WITHDRAWN, 1, NULL, 0);
	c[k++] = content_change(22, 22, 2, VS_ACTIVE, 1, (sig[]){{"pdq", hb}}, 1);
	apply(m, c, k);
	h = query(m, VSIG_PDQ, hb, NULL, 0, 2000, &n);
	hits_str(h, n, buf, sizeof buf);
	CHECK_STR(buf, "22:2:0:1 21:2:5:1 13:1:31:1", "in-batch add/remove/re-add");
	free(h);
	vm_stats_get(m, &st);
	CHECK_INT(st.signals[VSIG_PDQ], 4, "pdq signals after all that");
	CHECK_INT(st.contents, 5, "contents after all that");
	/* errors */
	vm_hit *hh;
	CHECK_INT(vm_query(m, NULL, NULL, 0, 0, &hh, &n, &e), VETO_ERR_INVALID, "no query");
	free(hb); free(h5); free(h20); free(hf); free(h31);
	vm_free(m);
}

/* Re-applying the whole change list (with a fresh seq view) is harmless,
 * and applying in pieces equals applying at once. */
static void test_idempotent(void)
{
	enum { N = 3000 };
	veto_pdq_hash hs[N];
	char *hx[N];
	for (int i = 0; i < N; i++) {
		hs[i] = i % 3 ? flip_bits(hs[i - i % 3], 6) : random_hash();
		hx[i] = hexdup(&hs[i]);
	}
	vm_matcher *a, *b;
	vm_new(&a, NULL);
	vm_new(&b, NULL);
	static vs_change c[N + 100];
	for (int pass = 0; pass < 2; pass++) {
		vm_matcher *m = pass == 0 ? a : b;
		size_t k = 0;
		c[k++] = bank_change(1, 1, "A", 1, 0);
		c[k++] = bank_change(2, 2, "B", 1, 0);
		for (int i = 0; i < N; i++)
			c[k++] = content_change(3 + i, 100 + i, 1 + i % 2, i % 7 == 0 ? VS_WITHDRAWN : VS_ACTIVE,
			                        i % 5 == 0 ? 0 : 1, (sig[]){{"pdq", hx[i]}}, 1);
		if (pass == 0) {
			apply(a, c, k);
		} else {
			/* in small pieces, with overlaps (old seqs are skipped) */
			for (size_t i = 0; i < k; i += 250) {
				size_t lo = i >= 100 ? i - 100 : 0, hi = i + 250 < k ? i + 250 : k;
				veto_error e;
				CHECK(vm_apply(m, c + lo, hi - lo, &e) == VETO_OK, "%s", e.message);
			}
			changes_free(c, k);
		}
	}
	CHECK_INT(vm_seq(a), N + 2, "seq a");
	CHECK_INT(vm_seq(b), N + 2, "seq b");
	/* the same state changes re-sent with new seqs (a follower re-reading) */
	size_t k = 0;
	for (int i = 0; i < N; i += 3)
		c[k++] = content_change(N + 10 + i, 100 + i, 1 + i % 2, i % 7 == 0 ? VS_WITHDRAWN : VS_ACTIVE,
		                        i % 5 == 0 ? 0 : 1, (sig[]){{"pdq", hx[i]}}, 1);
	apply(b, c, k);
	int same = 1;
	for (int i = 0; i < N && same; i += 7) {
		size_t na, nb;
		vm_hit *ha = query(a, VSIG_PDQ, hx[i], NULL, 0, 0, &na);
		vm_hit *hb = query(b, VSIG_PDQ, hx[i], NULL, 0, 0, &nb);
		same = na == nb && (!na || !memcmp(ha, hb, na * sizeof *ha));
		free(ha);
		free(hb);
	}
	CHECK(same, "re-applied and piecewise states answer alike");
	vm_stats sa, sb;
	vm_stats_get(a, &sa);
	vm_stats_get(b, &sb);
	CHECK(sa.signals[VSIG_PDQ] == sb.signals[VSIG_PDQ] && sa.contents == sb.contents,
	      "same counts: %llu/%llu", (unsigned long long)sa.signals[VSIG_PDQ],
	      (unsigned long long)sb.signals[VSIG_PDQ]);
	for (int i = 0; i < N; i++)
		free(hx[i]);
	vm_free(a);
	vm_free(b);
}

typedef struct ref { int64_t id; int64_t bank; veto_pdq_hash h; int live; int64_t dis; } ref;

static int cmp_ref_hit(const void *a, const void *b)
{
	const vm_hit *x = (const vm_hit *)a, *y = (const vm_hit *)b;
	if (x->score.distance != y->score.distance)
		return x->score.distance - y->score.distance;
	return (x->content_id > y->content_id) - (x->content_id < y->content_id);
}

/* 20,000 random hashes (with near-duplicate clusters), some deleted and
 * updated, against a brute-force scan. */
static void test_bruteforce(void)
{
	enum { N = 20000, Q = 300 };
	static ref r[N];
	vm_matcher *m;
	vm_new(&m, NULL);
	static vs_change c[N + 10];
	size_t k = 0;
	for (int b = 1; b <= 4; b++) {
		char name[16];
		snprintf(name, sizeof name, "B%d", b);
		c[k++] = bank_change(b, b * 1000, name, 1, 0);
	}
	int64_t seq = 10;
	for (int i = 0; i < N; i++) {
		r[i].id = 1 + i * 3; /* sparse ids */
		r[i].bank = 1000 * (1 + (int64_t)(rnd() % 4));
		r[i].h = (i > 10 && rnd() % 2) ? flip_bits(r[rnd() % (uint64_t)i].h, (int)(rnd() % 40))
		                             : random_hash();
		r[i].live = 1;
		r[i].dis = (int64_t)(rnd() % 3); /* 0 disabled, 1 enabled, 2: since 2 */
		char *hx = hexdup(&r[i].h);
		c[k++] = content_change(seq++, r[i].id, r[i].bank, VS_ACTIVE, r[i].dis, (sig[]){{"pdq", hx}}, 1);
		free(hx);
	}
	apply(m, c, k);
	/* delete 10%, re-hash 10% */
	k = 0;
	for (int i = 0; i < N; i++) {
		const uint64_t x = rnd() % 10;
		if (x == 0) {
			r[i].live = 0;
			c[k++] = content_change(seq++, r[i].id, r[i].bank, VS_DELETED, 1, NULL, 0);
		} else if (x == 1) {
			r[i].h = flip_bits(r[i].h, 3);
			char *hx = hexdup(&r[i].h);
			c[k++] = content_change(seq++, r[i].id, r[i].bank, VS_ACTIVE, r[i].dis, (sig[]){{"pdq", hx}}, 1);
			free(hx);
		}
	}
	apply(m, c, k);
	int bad = 0, total = 0;
	for (int q = 0; q < Q; q++) {
		veto_pdq_hash qh = flip_bits(r[rnd() % N].h, (int)(rnd() % 24));
		int64_t fb[2] = {1000 * (1 + (int64_t)(rnd() % 4)), 1000 * (1 + (int64_t)(rnd() % 4))};
		const int filt = q % 3 == 0;
		vm_hit *want = (vm_hit *)malloc(N * sizeof *want);
		size_t nw = 0;
		for (int i = 0; i < N; i++) {
			if (!r[i].live)
				continue;
			int d = veto_pdq_distance(&qh, &r[i].h);
			if (d > 31 || (filt && r[i].bank != fb[0] && r[i].bank != fb[1]))
				continue;
			memset(&want[nw], 0, sizeof want[nw]);
			want[nw].content_id = r[i].id;
			want[nw].bank_id = r[i].bank;
			want[nw].enabled = r[i].dis == 1 || (r[i].dis == 2 && 2 <= 5);
			want[nw].score.match = 1;
			want[nw].score.distance = d;
			nw++;
		}
		qsort(want, nw, sizeof *want, cmp_ref_hit);
		char *hx = hexdup(&qh);
		size_t n;
		vm_hit *got = query(m, VSIG_PDQ, hx, filt ? fb : NULL, filt ? 2 : 0, 5, &n);
		free(hx);
		int ok = n == nw;
		for (size_t i = 0; ok && i < n; i++)
			ok = got[i].content_id == want[i].content_id && got[i].bank_id == want[i].bank_id &&
			     got[i].score.distance == want[i].score.distance &&
			     got[i].enabled == want[i].enabled && got[i].score.match;
		if (!ok && bad++ < 3)
			fprintf(stderr, "query %d: got %zu hits, brute force %zu\n", q, n, nw);
		total += (int)nw;
		free(got);
		free(want);
	}
	CHECK(bad == 0, "%d of %d queries differ from brute force", bad, Q);
	CHECK(total > Q, "the queries found something (%d hits)", total);
	vm_free(m);
}

/* vPDQ, md5 and TMK in the matcher, on the sample videos. */
static const char *const VNAMES[] = {"chair-19-sd-bar", "chair-20-sd-bar", "chair-22-sd-grey-bar",
	"chair-22-with-large-logo-bar", "chair-orig-22-sd-bar", "pattern-hd-no-bar",
	"pattern-sd-grey-bar", "doorknob-hd-no-bar"};
#define NV (sizeof VNAMES / sizeof *VNAMES)

/* pytx VPDQIndex: quality filter, then dedupe (both sides). */
static size_t prep(const veto_vpdq_frame *f, size_t n, veto_vpdq_frame *out)
{
	veto_vpdq_frame *t = (veto_vpdq_frame *)malloc((n + 1) * sizeof *t);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].quality >= 50)
			t[k++] = f[i];
	size_t u = veto_vpdq_unique(t, k, 0, out);
	free(t);
	return u;
}

static void md5hex(const video *v, int i, char out[33])
{
	/* a made-up md5 per video */
	snprintf(out, 33, "%032x", i == 7 ? 1u : (unsigned)(i + 1) * 0x1111u);
	(void)v;
}

static vm_matcher *video_matcher(video *vids, int with_tmk, int64_t *seq)
{
	vm_matcher *m;
	vm_new(&m, NULL);
	vs_change c[NV + 2];
	size_t k = 0;
	c[k++] = bank_change(1, 5, "VIDEOS", 1, 0);
	c[k++] = bank_change(2, 6, "OTHER", 1, 0);
	for (size_t i = 0; i < NV; i++) {
		char md5[33];
		md5hex(&vids[i], (int)i, md5);
		sig s[3] = {{"vpdq", vids[i].vpdq_str}, {"video_md5", md5}, {"tmk", vids[i].tmk_str}};
		c[k++] = content_change(3 + (int64_t)i, 500 + (int64_t)i, i % 2 ? 6 : 5, VS_ACTIVE, 1, s,
		                        with_tmk || i < 2 ? 3 : 2);
	}
	apply(m, c, k);
	*seq = 3 + NV;
	return m;
}

static void test_matcher_video(video *vids, const char *tmp)
{
	int64_t seq;
	vm_matcher *m = video_matcher(vids, 1, &seq);
	vm_stats st;
	vm_stats_get(m, &st);
	CHECK_INT(st.signals[VSIG_VPDQ], NV, "vpdq indexed");
	CHECK_INT(st.signals[VSIG_TMK], NV, "tmk indexed");
	CHECK_INT(st.signals[VSIG_VIDEO_MD5], NV, "md5 indexed");
	/* every query against every banked video: percentages as pytx's index */
	int bad = 0, hits = 0;
	for (size_t a = 0; a < NV; a++) {
		size_t n;
		vm_hit *h = query(m, VSIG_VPDQ, vids[a].vpdq_str, NULL, 0, 0, &n);
		veto_vpdq_frame *qa = (veto_vpdq_frame *)malloc(vids[a].vq->count * sizeof *qa);
		size_t nqa = prep(vids[a].vq->frames, vids[a].vq->count, qa);
		size_t want = 0;
		for (size_t b = 0; b < NV; b++) {
			veto_vpdq_frame *tb = (veto_vpdq_frame *)malloc(vids[b].vq->count * sizeof *tb);
			size_t ntb = prep(vids[b].vq->frames, vids[b].vq->count, tb);
			veto_vpdq_match r;
			veto_vpdq_compare(qa, nqa, tb, ntb, 0, 31, &r, NULL);
			free(tb);
			if (r.query_percent < 80)
				continue;
			want++;
			size_t k = 0;
			while (k < n && h[k].content_id != 500 + (int64_t)b)
				k++;
			if (k == n || h[k].score.query_percent != r.query_percent ||
			    h[k].score.target_percent != r.target_percent ||
			    h[k].bank_id != (b % 2 ? 6 : 5)) {
				if (bad++ < 5)
					fprintf(stderr, "%s vs %s: want %.4f/%.4f\n", VNAMES[a], VNAMES[b],
					        r.query_percent, r.target_percent);
			}
		}
		if (n != want && bad++ < 5)
			fprintf(stderr, "%s: %zu hits, want %zu\n", VNAMES[a], n, want);
		for (size_t i = 1; i < n; i++)
			if (h[i - 1].score.query_percent < h[i].score.query_percent)
				bad++;
		hits += (int)n;
		free(qa);
		free(h);
	}
	CHECK(bad == 0, "vPDQ matcher percentages differ from veto_vpdq_compare (%d)", bad);
	CHECK(hits >= (int)NV + 2, "self matches plus chair-19/20 (%d)", hits);
	size_t n;
	vm_hit *h = query(m, VSIG_VPDQ, vids[0].vpdq_str, NULL, 0, 0, &n);
	CHECK(n >= 2 && h[0].content_id == 500 && h[0].score.query_percent == 100.0 &&
	      h[0].score.target_percent == 100.0, "chair-19 finds itself first");
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 501;
	CHECK(found, "chair-19 finds chair-20");
	free(h);
	h = query(m, VSIG_VPDQ, vids[3].vpdq_str, NULL, 0, 0, &n);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 504;
	CHECK(!found, "large logo does not find the original by vPDQ");
	free(h);
	int64_t b6[] = {6};
	h = query(m, VSIG_VPDQ, vids[0].vpdq_str, b6, 1, 0, &n);
	CHECK(n == 1 && h[0].content_id == 501 && h[0].bank_id == 6, "vpdq bank filter");
	free(h);
	/* md5 */
	char md5[33];
	md5hex(NULL, 0, md5);
	h = query(m, VSIG_VIDEO_MD5, md5, NULL, 0, 0, &n);
	CHECK(n == 1 && h[0].content_id == 500, "md5 lookup");
	free(h);
	/* TMK */
	h = query(m, VSIG_TMK, vids[0].tmk_str, NULL, 0, 0, &n);
	CHECK(n >= 2 && h[0].content_id == 500 && h[0].score.level2 >= h[1].score.level2,
	      "tmk: itself first");
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 501;
	CHECK(found, "tmk: chair-19 finds chair-20");
	free(h);
	h = query(m, VSIG_TMK, vids[3].tmk_str, NULL, 0, 0, &n);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 504;
	CHECK(!found, "tmk: large logo does not find the original");
	free(h);
	/* pattern HD vs SD match by TMK only */
	h = query(m, VSIG_TMK, vids[5].tmk_str, NULL, 0, 0, &n);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 506;
	CHECK(found, "tmk: pattern HD finds pattern SD");
	free(h);
	/* TMK results equal brute vsig_compare over all banked */
	for (size_t a = 0; a < NV; a++) {
		h = query(m, VSIG_TMK, vids[a].tmk_str, NULL, 0, 0, &n);
		vsig_value qa;
		vsig_parse(VSIG_TMK, vids[a].tmk_str, strlen(vids[a].tmk_str), &qa, NULL, NULL);
		size_t want = 0;
		for (size_t b = 0; b < NV; b++) {
			vsig_value tb;
			vsig_score s;
			vsig_parse(VSIG_TMK, vids[b].tmk_str, strlen(vids[b].tmk_str), &tb, NULL, NULL);
			vsig_compare(&qa, &tb, &s, NULL);
			vsig_value_clear(&tb);
			if (!s.match)
				continue;
			want++;
			size_t k = 0;
			while (k < n && h[k].content_id != 500 + (int64_t)b)
				k++;
			CHECK(k < n && h[k].score.level1 == s.level1 && h[k].score.level2 == s.level2,
			      "tmk %s vs %s", VNAMES[a], VNAMES[b]);
		}
		CHECK_INT(n, want, "tmk hits of %s", VNAMES[a]);
		vsig_value_clear(&qa);
		free(h);
	}
	/* a video update replaces its signals; a delete drops them */
	char md5b[33];
	md5hex(NULL, 1, md5b);
	sig s1[1] = {{"video_md5", md5b}};
	apply1(m, content_change(seq++, 500, 5, VS_ACTIVE, 1, s1, 1)); /* now md5 only, chair-20's */
	h = query(m, VSIG_VIDEO_MD5, md5b, NULL, 0, 0, &n);
	CHECK(n == 2 && h[0].content_id == 500 && h[1].content_id == 501, "md5 multimap, by id");
	free(h);
	md5hex(NULL, 0, md5);
	h = query(m, VSIG_VIDEO_MD5, md5, NULL, 0, 0, &n);
	CHECK_INT(n, 0, "500's old md5 is gone");
	free(h);
	h = query(m, VSIG_VPDQ, vids[0].vpdq_str, NULL, 0, 0, &n);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 500;
	CHECK(!found, "500 no longer has vpdq");
	free(h);
	h = query(m, VSIG_TMK, vids[0].tmk_str, NULL, 0, 0, &n);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= h[i].content_id == 500;
	CHECK(!found, "500 no longer has tmk");
	free(h);
	apply1(m, content_change(seq++, 501, 6, VS_DELETED, 1, NULL, 0));
	h = query(m, VSIG_VIDEO_MD5, md5b, NULL, 0, 0, &n);
	CHECK(n == 1 && h[0].content_id == 500, "md5 of deleted gone");
	free(h);
	/* snapshot round trip of a video matcher */
	char *snap = path_join(tmp, "video.snap");
	veto_error e;
	CHECK_INT(vm_save(m, snap, &e), VETO_OK, "save: %s", e.message);
	vm_matcher *l;
	CHECK_INT(vm_load(&l, snap, &e), VETO_OK, "load: %s", e.message);
	if (l) {
		vm_stats s0, s2;
		vm_stats_get(m, &s0);
		vm_stats_get(l, &s2);
		CHECK(!memcmp(s0.signals, s2.signals, sizeof s0.signals) && s0.contents == s2.contents &&
		      s0.banks == s2.banks, "video snapshot counts");
		for (size_t a = 0; a < NV; a++)
			for (int t = 0; t < 3; t++) {
				const int type = t == 0 ? VSIG_VPDQ : t == 1 ? VSIG_TMK : VSIG_VIDEO_MD5;
				char mh[33];
				md5hex(NULL, (int)a, mh);
				const char *qs = t == 0 ? vids[a].vpdq_str : t == 1 ? vids[a].tmk_str : mh;
				size_t n1, n2;
				vm_hit *h1 = query(m, type, qs, NULL, 0, 0, &n1);
				vm_hit *h2 = query(l, type, qs, NULL, 0, 0, &n2);
				CHECK(n1 == n2 && (!n1 || !memcmp(h1, h2, n1 * sizeof *h1)),
				      "video snapshot answers %s type %d", VNAMES[a], type);
				free(h1);
				free(h2);
			}
		vm_free(l);
	}
	free(snap);
	vm_free(m);
}

/* Hand-made vPDQ frames around pytx's thresholds and filters. */
static char *frames_str(const veto_pdq_hash *h, const int *q, size_t n)
{
	veto_vpdq_frame f[32];
	for (size_t i = 0; i < n; i++) {
		f[i].pdq = h[i];
		f[i].quality = q[i];
		f[i].frame = (int64_t)i;
		f[i].timestamp = (float)i;
	}
	return vpdq_string(f, n);
}

static void test_vpdq_thresholds(void)
{
	/* target: 10 good frames, 2 of quality 30 */
	veto_pdq_hash t[12], q[12];
	int tq[12];
	for (int i = 0; i < 12; i++) {
		t[i] = random_hash();
		tq[i] = i < 10 ? 100 : 30;
	}
	char *ts = frames_str(t, tq, 12);
	vm_matcher *m;
	vm_new(&m, NULL);
	apply1(m, bank_change(1, 1, "V", 1, 0));
	apply1(m, content_change(2, 7, 1, VS_ACTIVE, 1, (sig[]){{"vpdq", ts}}, 1));
	int qq[12];
	for (int i = 0; i < 12; i++)
		qq[i] = 90;
	struct { int near, rand; double qp, tp; int match; const char *what; } cases[] = {
		{8, 2, 80.0, 80.0, 1, "8 of 10: exactly 80%"},
		{7, 3, 70.0, 70.0, 0, "7 of 10: 70%"},
		{5, 0, 100.0, 50.0, 1, "5 frames, all found: the target side needs only 0%"},
		{1, 0, 100.0, 10.0, 1, "a single frame"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		int k = 0;
		for (int i = 0; i < cases[c].near; i++)
			q[k++] = flip_bits(t[i], 10);
		for (int i = 0; i < cases[c].rand; i++)
			q[k++] = random_hash();
		char *qs = frames_str(q, qq, (size_t)k);
		size_t n;
		vm_hit *h = query(m, VSIG_VPDQ, qs, NULL, 0, 0, &n);
		CHECK(n == (size_t)cases[c].match, "%s: %zu hits", cases[c].what, n);
		if (n)
			CHECK(h[0].score.query_percent == cases[c].qp && h[0].score.target_percent == cases[c].tp,
			      "%s: %f %f", cases[c].what, h[0].score.query_percent, h[0].score.target_percent);
		/* vsig_compare (pytx's compare_hash) agrees here */
		vsig_value a, b;
		vsig_score sc;
		vsig_parse(VSIG_VPDQ, qs, strlen(qs), &a, NULL, NULL);
		vsig_parse(VSIG_VPDQ, ts, strlen(ts), &b, NULL, NULL);
		CHECK(vsig_compare(&a, &b, &sc, NULL) == VETO_OK && sc.match == cases[c].match &&
		      sc.query_percent == cases[c].qp && sc.target_percent == cases[c].tp,
		      "compare %s: %d %f %f", cases[c].what, sc.match, sc.query_percent, sc.target_percent);
		vsig_value_clear(&a);
		vsig_value_clear(&b);
		free(h);
		free(qs);
	}
	/* banked frames below quality 50 are not matchable: 4 good + the 2
	 * low-quality ones (and 2 random) find 4 of 8 */
	int k = 0;
	for (int i = 0; i < 4; i++)
		q[k++] = t[i];
	q[k++] = t[10];
	q[k++] = t[11];
	q[k++] = random_hash();
	q[k++] = random_hash();
	char *qs = frames_str(q, qq, (size_t)k);
	size_t n;
	vm_hit *h = query(m, VSIG_VPDQ, qs, NULL, 0, 0, &n);
	CHECK_INT(n, 0, "low-quality banked frames do not count");
	free(h);
	free(qs);
	/* duplicates in the query count once */
	k = 0;
	for (int i = 0; i < 8; i++)
		q[k++] = t[i];
	q[k++] = t[0];
	q[k++] = t[1];
	q[k++] = random_hash();
	q[k++] = random_hash();
	qs = frames_str(q, qq, (size_t)k);
	h = query(m, VSIG_VPDQ, qs, NULL, 0, 0, &n);
	CHECK(n == 1 && h[0].score.query_percent == 80.0, "duplicates once: %zu", n);
	free(h);
	free(qs);
	/* The index filters by quality before de-duplicating (pytx's
	 * VPDQIndex); compare_hash de-duplicates first. A hash seen first at
	 * quality 30, then at 90: the index counts it, compare does not. */
	veto_pdq_hash r = random_hash();
	veto_pdq_hash q6[6] = {t[0], t[0], t[1], t[2], t[3], r};
	int q6q[6] = {30, 90, 90, 90, 90, 90};
	qs = frames_str(q6, q6q, 6);
	h = query(m, VSIG_VPDQ, qs, NULL, 0, 0, &n);
	CHECK(n == 1 && h[0].score.query_percent == 80.0, "index: 4 of 5 (%zu)", n);
	free(h);
	vsig_value a, b;
	vsig_score sc;
	vsig_parse(VSIG_VPDQ, qs, strlen(qs), &a, NULL, NULL);
	vsig_parse(VSIG_VPDQ, ts, strlen(ts), &b, NULL, NULL);
	CHECK(vsig_compare(&a, &b, &sc, NULL) == VETO_OK && !sc.match && sc.query_percent == 75.0,
	      "compare_hash: 3 of 4 (%f)", sc.query_percent);
	vsig_value_clear(&a);
	vsig_value_clear(&b);
	free(qs);
	/* a query with no usable frame finds nothing (pytx returns []) */
	int low[2] = {10, 20};
	qs = frames_str(t, low, 2);
	h = query(m, VSIG_VPDQ, qs, NULL, 0, 0, &n);
	CHECK_INT(n, 0, "no usable query frame");
	free(h);
	free(qs);
	/* a banked video with no usable frame is not indexed (pytx refuses) */
	vm_stats st;
	vm_stats_get(m, &st);
	const uint64_t bad0 = st.bad_signals;
	qs = frames_str(t, low, 2);
	apply1(m, content_change(3, 8, 1, VS_ACTIVE, 1, (sig[]){{"vpdq", qs}}, 1));
	vm_stats_get(m, &st);
	CHECK(st.signals[VSIG_VPDQ] == 1 && st.bad_signals == bad0 + 1, "unusable video skipped");
	free(qs);
	free(ts);
	vm_free(m);
}

/* Readers query while a writer churns (enough adds and deletes for the
 * matcher's merge thread to fold the index several times): content that
 * never changes must be found, whole, by every query. */
enum { STABLE = 64, READERS = 3 };
typedef struct reader_ctx {
	vm_matcher *m;
	char *hex[STABLE];
	atomic_int *stop;
	long queries, wrong;
} reader_ctx;

static void *reader(void *arg)
{
	reader_ctx *r = (reader_ctx *)arg;
	for (long i = 0; !atomic_load(r->stop) || i < 200; i++) {
		const int k = (int)(i % STABLE);
		vsig_value v;
		vsig_parse(VSIG_PDQ, r->hex[k], 64, &v, NULL, NULL);
		vm_hit *h = NULL;
		size_t n = 0;
		int64_t banks[1] = {1};
		const int filt = i % 2;
		if (vm_query(r->m, &v, filt ? banks : NULL, filt, 0, &h, &n, NULL) != VETO_OK ||
		    n < 1 || h[0].content_id != 1 + k || h[0].bank_id != 1 || h[0].score.distance != 0)
			r->wrong++;
		free(h);
		r->queries++;
	}
	return NULL;
}

typedef struct saver_ctx {
	vm_matcher *m;
	const char *path;
	atomic_int *stop;
	int saves, failed;
} saver_ctx;

static void *saver(void *arg)
{
	saver_ctx *s = (saver_ctx *)arg;
	while (!atomic_load(s->stop) || s->saves < 2) {
		veto_error e;
		if (vm_save(s->m, s->path, &e) != VETO_OK) {
			fprintf(stderr, "concurrent save: %s\n", e.message);
			s->failed++;
		}
		s->saves++;
	}
	return NULL;
}

static void test_concurrency(const char *tmp)
{
	vm_matcher *m;
	vm_new(&m, NULL);
	static vs_change c[20000];
	reader_ctx rc[READERS];
	char *stable[STABLE];
	size_t k = 0;
	int64_t seq = 1;
	c[k++] = bank_change(seq++, 1, "STABLE", 1, 0);
	c[k++] = bank_change(seq++, 2, "CHURN", 1, 0);
	for (int i = 0; i < STABLE; i++) {
		veto_pdq_hash h = random_hash();
		stable[i] = hexdup(&h);
		c[k++] = content_change(seq++, 1 + i, 1, VS_ACTIVE, 1, (sig[]){{"pdq", stable[i]}}, 1);
	}
	apply(m, c, k);
	atomic_int stop = 0;
	pthread_t th[READERS];
	for (int t = 0; t < READERS; t++) {
		rc[t].m = m;
		memcpy(rc[t].hex, stable, sizeof stable);
		rc[t].stop = &stop;
		rc[t].queries = rc[t].wrong = 0;
		REQUIRE(pthread_create(&th[t], NULL, reader, &rc[t]) == 0, "pthread_create");
	}
	char *snap = path_join(tmp, "concurrent.snap");
	saver_ctx sv = {m, snap, &stop, 0, 0};
	pthread_t sth;
	REQUIRE(pthread_create(&sth, NULL, saver, &sv) == 0, "pthread_create");
	/* 12 rounds of 20,000 churn changes: adds, then deletes of half */
	int64_t next_id = 1000;
	for (int round = 0; round < 12; round++) {
		k = 0;
		const int64_t first = next_id;
		for (int i = 0; i < 20000; i++) {
			if (round % 2 == 1 && i % 2 == 0) {
				c[k++] = content_change(seq++, first - 20000 + i, 2, VS_DELETED, 1, NULL, 0);
				continue;
			}
			veto_pdq_hash h = random_hash();
			char *hx = hexdup(&h);
			c[k++] = content_change(seq++, next_id++, 2, VS_ACTIVE, 1, (sig[]){{"pdq", hx}}, 1);
			free(hx);
		}
		veto_error e;
		CHECK(vm_apply(m, c, k, &e) == VETO_OK, "churn: %s", e.message);
		changes_free(c, k);
	}
	atomic_store(&stop, 1);
	long q = 0, wrong = 0;
	for (int t = 0; t < READERS; t++) {
		pthread_join(th[t], NULL);
		q += rc[t].queries;
		wrong += rc[t].wrong;
	}
	pthread_join(sth, NULL);
	CHECK(wrong == 0, "%ld of %ld concurrent queries missed stable content", wrong, q);
	CHECK(sv.failed == 0 && sv.saves >= 2, "saves during the churn: %d (%d failed)", sv.saves,
	      sv.failed);
	/* the last snapshot is whole: it loads and finds the stable content */
	vm_matcher *l = NULL;
	veto_error le;
	CHECK_INT(vm_load(&l, snap, &le), VETO_OK, "load a snapshot saved under churn: %s", le.message);
	if (l) {
		size_t n;
		vm_hit *h = query(l, VSIG_PDQ, stable[5], NULL, 0, 0, &n);
		CHECK(n >= 1 && h[0].content_id == 6, "stable content in the snapshot");
		free(h);
		CHECK(vm_seq(l) >= 2 + STABLE && vm_seq(l) <= seq - 1, "its seq is one the writer passed");
		vm_free(l);
	}
	free(snap);
	CHECK(q >= READERS * 200, "readers ran (%ld queries)", q);
	vm_stats st;
	vm_stats_get(m, &st);
	CHECK_INT(vm_seq(m), seq - 1, "all applied");
	CHECK(st.signals[VSIG_PDQ] > 100000, "churned: %llu", (unsigned long long)st.signals[VSIG_PDQ]);
	for (int i = 0; i < STABLE; i++)
		free(stable[i]);
	vm_free(m);
}

/* ----------------------------------------------------------- snapshots */

/* Rewrite a snapshot's checksum after editing it, so that the checks
 * behind the checksum are reached (the format is in server/matcher.c). */
static void resign(uint8_t *d, size_t n)
{
	uint64_t body = XXH3_64bits(d + 96, n - 8 - 96);
	uint8_t tail[104];
	memcpy(tail, d, 96);
	for (int i = 0; i < 8; i++)
		tail[96 + i] = (uint8_t)(body >> (8 * i));
	uint64_t sum = XXH3_64bits(tail, sizeof tail);
	for (int i = 0; i < 8; i++)
		d[n - 8 + (size_t)i] = (uint8_t)(sum >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int forged_refused(const char *bad, const uint8_t *d, size_t n, const char *expect)
{
	uint8_t *c = (uint8_t *)malloc(n);
	memcpy(c, d, n);
	resign(c, n);
	spit(bad, c, n);
	free(c);
	vm_matcher *x = NULL;
	veto_error e;
	memset(&e, 0, sizeof e);
	int rc = vm_load(&x, bad, &e);
	vm_free(x);
	if (rc == VETO_ERR_CORRUPT && !x && (!expect || strstr(e.message, expect)))
		return 1;
	fprintf(stderr, "forged snapshot: rc %d: %s (wanted \"%s\")\n", rc, e.message,
	        expect ? expect : "");
	return 0;
}

static void test_forged(const char *tmp, const char *small)
{
	size_t n;
	uint8_t *d = slurp(small, &n);
	char *bad = path_join(tmp, "forged.snap");
	/* as saved: re-signing changes nothing */
	uint8_t *c = (uint8_t *)malloc(n + 64);
	memcpy(c, d, n);
	resign(c, n);
	CHECK(!memcmp(c, d, n), "resign reproduces the checksum");
	const uint64_t nb = get_u64(d + 40), nc = get_u64(d + 48), np = get_u64(d + 56);
	CHECK(nb == 1 && nc == 301 && np == 300, "small snapshot counts %llu %llu %llu",
	      (unsigned long long)nb, (unsigned long long)nc, (unsigned long long)np);
	const size_t contents_at = 96 + 18 + 5; /* one bank named "SMALL" */
	memcpy(c, d, n);
	put_u64(c + 48, 1ull << 60);
	CHECK(forged_refused(bad, c, n, "content count exceeds"), "huge content count");
	memcpy(c, d, n);
	put_u64(c + 40, 1ull << 62);
	CHECK(forged_refused(bad, c, n, "bank count exceeds"), "huge bank count");
	memcpy(c, d, n);
	put_u64(c + 56, np - 1);
	CHECK(forged_refused(bad, c, n, "disagree"), "pdq count off by one");
	memcpy(c, d, n);
	put_u64(c + contents_at + 8, 12345);
	CHECK(forged_refused(bad, c, n, "bad content record"), "content in an unknown bank");
	memcpy(c, d, n);
	memcpy(c + contents_at + 17, c + contents_at, 8);
	CHECK(forged_refused(bad, c, n, "bad content record"), "duplicate content id");
	memcpy(c, d, n);
	c[contents_at + 16] = 0x30;
	CHECK(forged_refused(bad, c, n, "bad content record"), "unknown signal bit");
	/* five extra bytes before the trailer, file size updated */
	memcpy(c, d, n - 8);
	memset(c + n - 8, 0, 5);
	put_u64(c + 32, n + 5);
	CHECK(forged_refused(bad, c, n + 5, "trailing bytes"), "bytes after the last record");
	/* a pdq record naming a content without pdq */
	memcpy(c, d, n);
	const size_t pdq_at = contents_at + 17 * (size_t)nc + 16 * (size_t)get_u64(d + 72);
	put_u64(c + pdq_at, 1000); /* the video content */
	CHECK(forged_refused(bad, c, n, "bad pdq record"), "pdq record of a video");
	memcpy(c, d, n);
	put_u64(c + pdq_at, (uint64_t)-5);
	CHECK(forged_refused(bad, c, n, "bad pdq record"), "pdq record of no content");
	/* the video record: its frame count */
	memcpy(c, d, n);
	const size_t vid_at = pdq_at + 40 * (size_t)np;
	CHECK(get_u64(c + vid_at) == 1000, "video record found at %zu", vid_at);
	c[vid_at + 9 + 16 + 3] = 0x7f; /* u32 frame count: huge */
	CHECK(forged_refused(bad, c, n, "frame count"), "huge frame count");
	memcpy(c, d, n);
	c[vid_at + 8] = 0x02; /* mask: md5 only, content says md5+vpdq */
	CHECK(forged_refused(bad, c, n, "bad video record"), "video mask mismatch");
	free(c);
	free(bad);
	free(d);
}

/* ----------------------------------------------------------- snapshots */

static void same_answers(vm_matcher *a, vm_matcher *b, char **hx, size_t n, const char *what)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		size_t na, nb;
		vm_hit *ha = query(a, VSIG_PDQ, hx[i], NULL, 0, 100, &na);
		vm_hit *hb = query(b, VSIG_PDQ, hx[i], NULL, 0, 100, &nb);
		bad += !(na == nb && (!na || !memcmp(ha, hb, na * sizeof *ha)));
		free(ha);
		free(hb);
	}
	CHECK(bad == 0, "%s: %d queries answered differently", what, bad);
}

static void test_snapshot(const char *tmp, video *vids)
{
	enum { N = 5000 };
	char *hx[N];
	vm_matcher *m;
	vm_new(&m, NULL);
	static vs_change c[N + 10];
	size_t k = 0;
	c[k++] = bank_change(1, 1, "SNAP_A", 0.5, 0);
	c[k++] = bank_change(2, 2, "SNAP_B", 1, 0);
	c[k++] = bank_change(3, 3, "GONE", 1, 0);
	c[k++] = bank_change(4, 3, NULL, 0, 1);
	for (int i = 0; i < N; i++) {
		veto_pdq_hash h = i % 2 && i ? flip_bits(random_hash(), 1) : random_hash();
		hx[i] = hexdup(&h);
		c[k++] = content_change(5 + i, 1 + i, 1 + i % 2, VS_ACTIVE, i % 4 == 0 ? 50 + i : 1,
		                        (sig[]){{"pdq", hx[i]}}, 1);
	}
	apply(m, c, k);
	sig vs[3] = {{"vpdq", vids[0].vpdq_str}, {"video_md5", "0123456789abcdef0123456789abcdef"},
	             {"tmk", vids[0].tmk_str}};
	apply1(m, content_change(N + 10, 99999, 2, VS_ACTIVE, 0, vs, 3));
	char *path = path_join(tmp, "m.snap");
	veto_error e;
	CHECK_INT(vm_save(m, path, &e), VETO_OK, "save: %s", e.message);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "snapshot mode 0600: %o",
	      (unsigned)(st.st_mode & 0777));
	vm_matcher *l = NULL;
	CHECK_INT(vm_load(&l, path, &e), VETO_OK, "load: %s", e.message);
	REQUIRE(l, "no loaded matcher");
	CHECK_INT(vm_seq(l), N + 10, "seq survives");
	CHECK_INT(vm_seq_ts(l), 1000 + N + 10, "seq ts survives");
	vm_stats s0, s1;
	vm_stats_get(m, &s0);
	vm_stats_get(l, &s1);
	CHECK(!memcmp(s0.signals, s1.signals, sizeof s0.signals) && s0.contents == s1.contents &&
	      s0.banks == s1.banks && s0.bad_signals == s1.bad_signals, "stats survive");
	vm_bank_info bi;
	CHECK(vm_bank_by_name(l, "SNAP_A", &bi) == VETO_OK && bi.ratio == 0.5 && bi.id == 1, "banks survive");
	CHECK_INT(vm_bank(l, 3, &bi), VS_ERR_NOTFOUND, "deleted bank stays deleted");
	same_answers(m, l, hx, N, "snapshot round trip");
	/* the loaded matcher keeps following */
	apply1(l, content_change(N + 11, 1, 1, VS_DELETED, 1, NULL, 0));
	apply1(m, content_change(N + 11, 1, 1, VS_DELETED, 1, NULL, 0));
	same_answers(m, l, hx, 200, "after one more change");
	/* a save of the loaded one is the same file */
	char *path2 = path_join(tmp, "m2.snap");
	CHECK_INT(vm_save(l, path2, &e), VETO_OK, "save 2: %s", e.message);
	vm_matcher *l2 = NULL;
	CHECK_INT(vm_load(&l2, path2, &e), VETO_OK, "load 2: %s", e.message);
	if (l2)
		same_answers(m, l2, hx, 500, "second generation");
	vm_free(l2);
	free(path2);
	vm_free(l);
	vm_free(m);

	/* damage: a small snapshot, so every 97th byte can be flipped */
	vm_new(&m, NULL);
	k = 0;
	c[k++] = bank_change(1, 1, "SMALL", 1, 0);
	for (int i = 0; i < 300; i++)
		c[k++] = content_change(2 + i, 1 + i, 1, VS_ACTIVE, i % 3 ? 1 : 7, (sig[]){{"pdq", hx[i]}}, 1);
	sig v2[2] = {{"vpdq", vids[1].vpdq_str}, {"video_md5", "0123456789abcdef0123456789abcdef"}};
	c[k++] = content_change(400, 1000, 1, VS_ACTIVE, 1, v2, 2);
	apply(m, c, k);
	char *small = path_join(tmp, "small.snap");
	CHECK_INT(vm_save(m, small, &e), VETO_OK, "save small: %s", e.message);
	size_t n;
	uint8_t *d = slurp(small, &n);
	char *bad = path_join(tmp, "bad.snap");
	const size_t cuts[] = {0, 1, 8, 95, 96, 100, n / 2, n - 9, n - 8, n - 1};
	int refused = 0, named = 0, ntests = 0;
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		spit(bad, d, cuts[i]);
		vm_matcher *x = NULL;
		int rc = vm_load(&x, bad, &e);
		refused += rc == VETO_ERR_CORRUPT && !x;
		named += strstr(e.message, "bad.snap") != NULL;
		ntests++;
		vm_free(x);
	}
	for (size_t pos = 0; pos < n; pos += 97) {
		d[pos] ^= 0x5a;
		spit(bad, d, n);
		d[pos] ^= 0x5a;
		vm_matcher *x = NULL;
		int rc = vm_load(&x, bad, &e);
		refused += rc == VETO_ERR_CORRUPT && !x;
		named += strstr(e.message, "bad.snap") != NULL;
		ntests++;
		vm_free(x);
	}
	CHECK(refused == ntests, "damaged snapshots refused: %d of %d", refused, ntests);
	CHECK(named == ntests, "messages name the file: %d of %d", named, ntests);
	/* appended bytes */
	uint8_t *d2 = (uint8_t *)malloc(n + 3);
	memcpy(d2, d, n);
	memset(d2 + n, 0, 3);
	spit(bad, d2, n + 3);
	free(d2);
	vm_matcher *x = NULL;
	CHECK_INT(vm_load(&x, bad, &e), VETO_ERR_CORRUPT, "appended bytes");
	/* wrong magic */
	memcpy(d, "VETOIDX\0", 8);
	spit(bad, d, n);
	CHECK_INT(vm_load(&x, bad, &e), VETO_ERR_CORRUPT, "foreign magic");
	CHECK(strstr(e.message, "bad.snap") && strstr(e.message, "magic"), "message: %s", e.message);
	/* a newer version */
	memcpy(d, "VETOSNAP", 8);
	d[8] = 2;
	spit(bad, d, n);
	CHECK_INT(vm_load(&x, bad, &e), VETO_ERR_CORRUPT, "version 2");
	CHECK(strstr(e.message, "version") != NULL, "message: %s", e.message);
	d[8] = 1;
	spit(bad, d, n);
	CHECK_INT(vm_load(&x, bad, &e), VETO_OK, "restored copy loads: %s", e.message);
	vm_free(x);
	x = NULL;
	/* missing file */
	char *none = path_join(tmp, "none.snap");
	CHECK_INT(vm_load(&x, none, &e), VS_ERR_NOTFOUND, "no file");
	CHECK(x == NULL, "no matcher");
	free(none);
	/* a file of random bytes of plausible size */
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)rnd();
	spit(bad, d, n);
	CHECK_INT(vm_load(&x, bad, &e), VETO_ERR_CORRUPT, "random bytes");
	free(d);
	free(bad);
	test_forged(tmp, small);
	free(small);
	free(path);
	vm_free(m);
	for (int i = 0; i < N; i++)
		free(hx[i]);
}

int main(int argc, char **argv)
{
	TD = testdata_dir(argc, argv);
	const char *tmp = tmpdir_make("matcher");
	test_names();
	test_parse_pdq();
	test_parse_md5();
	test_parse_vpdq();
	static video vids[NV];
	for (size_t i = 0; i < NV; i++)
		video_load(&vids[i], VNAMES[i]);
	test_parse_tmk(&vids[0]);
	test_compare_pdq();
	test_compare_video(&vids[0], &vids[1], &vids[3], &vids[4]);
	test_hash_bytes(&vids[0]);
	test_matcher_basics();
	test_idempotent();
	test_vpdq_thresholds();
	test_bruteforce();
	test_concurrency(tmp);
	test_matcher_video(vids, tmp);
	test_snapshot(tmp, vids);
	for (size_t i = 0; i < NV; i++)
		video_free(&vids[i]);
	tmpdir_remove();
	return check_exit("test_matcher");
}
