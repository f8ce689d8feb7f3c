/*
 * test_prov_bmffhash.c - the C2PA BMFF hard binding (lib/prov_bmffhash.c).
 *
 * 1. Fixtures c2pa-rs reports valid (provenance/c2pa/): dashinit.mp4,
 *    video1.mp4, trustnxt-icon-signed-v2-bmff.heic. Each one's
 *    c2pa.hash.bmff* assertion, taken from its active manifest through
 *    prov_scan and prov_jumbf_parse, must match the file; a copy with a
 *    byte flipped in a hashed box (mdat, moov, meta) must not; a copy with
 *    a byte flipped inside an excluded box (ftyp, the C2PA store) still
 *    must.
 * 2. Synthetic files and assertions, digests worked out here by hand: v1
 *    against v2 offsets, subsets (including an offset whose byte is
 *    excluded), data/length/version/flags matching, indexed xpaths,
 *    malformed assertions, assets that are not BMFF, hostile nesting.
 */
#include "check.h"
#include "prov.h"
#include "prov_bmffhash.h"
#include "prov_cbor.h"
#include "prov_container.h"
#include "prov_jumbf.h"

#include <openssl/evp.h>

/* ------------------------------------------------- fixture assertions */

typedef struct found {
	cbor_item_t *assertion;
	char label[128];
	char *claim_alg;
} found;

/* The active manifest's c2pa.hash.bmff* assertion; 0 on success. */
static int find_assertion(const uint8_t *d, size_t n, const char *name, found *f)
{
	memset(f, 0, sizeof *f);
	prov_assets a;
	veto_error err = {0};
	if (prov_scan(d, n, name, &a, &err) != VETO_OK || !a.jumbf) {
		fprintf(stderr, "%s: no manifest store (%s)\n", name, err.message);
		prov_assets_free(&a);
		return -1;
	}
	prov_jbox *root = NULL;
	char why[200];
	int rc = -1;
	if (prov_jumbf_parse(a.jumbf, a.jumbf_len, &root, why, sizeof why)) {
		fprintf(stderr, "%s: %s\n", name, why);
		goto out;
	}
	const prov_jbox *m = NULL;
	for (size_t i = 0; i < root->nchild; i++)
		if (root->child[i].super)
			m = &root->child[i];
	if (!m)
		goto out;
	const prov_jbox *as = prov_jumbf_child(m, "c2pa.assertions");
	if (!as)
		goto out;
	for (size_t i = 0; i < as->nchild; i++) {
		const prov_jbox *b = &as->child[i];
		if (!b->super || strncmp(b->label, "c2pa.hash.bmff", 14))
			continue;
		const prov_jbox *cb = prov_jumbf_content(b, PROV_FOURCC('c', 'b', 'o', 'r'));
		if (!cb)
			continue;
		f->assertion = prov_cbor_load(cb->payload, cb->payload_len, why, sizeof why);
		snprintf(f->label, sizeof f->label, "%s", b->label);
		break;
	}
	for (size_t i = 0; i < m->nchild; i++) {
		const prov_jbox *b = &m->child[i];
		if (!b->super || strncmp(b->label, "c2pa.claim", 10))
			continue;
		const prov_jbox *cb = prov_jumbf_content(b, PROV_FOURCC('c', 'b', 'o', 'r'));
		cbor_item_t *cl = cb ? prov_cbor_load(cb->payload, cb->payload_len, why, sizeof why) : NULL;
		if (cl) {
			f->claim_alg = prov_cbor_strdup(prov_cbor_get(cl, "alg"));
			cbor_decref(&cl);
		}
	}
	rc = f->assertion ? 0 : -1;
out:
	prov_jumbf_free(root);
	prov_assets_free(&a);
	return rc;
}

/* Offset of the first top-level box of this type (SIZE_MAX if none). */
static size_t top_box(const uint8_t *d, size_t n, const char *type, size_t *len)
{
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t s = (uint64_t)d[i] << 24 | (uint64_t)d[i + 1] << 16 | (uint64_t)d[i + 2] << 8 | d[i + 3];
		if (s == 0)
			s = n - i;
		if (s < 8)
			break;
		if (!memcmp(d + i + 4, type, 4)) {
			*len = (size_t)s;
			return i;
		}
		i += (size_t)s;
	}
	return SIZE_MAX;
}

static int run(const uint8_t *d, size_t n, const found *f, char *why, size_t wl)
{
	return prov_bmff_hash_check(d, n, f->assertion, f->label, f->claim_alg, why, wl);
}

/* Flips the byte at box(type) + at and expects `want`. */
static void flip_case(const char *file, const uint8_t *d, size_t n, const found *f, const char *type,
                      size_t at, int want)
{
	size_t bl = 0, bo = top_box(d, n, type, &bl);
	CHECK(bo != SIZE_MAX && at < bl, "%s: no top-level %s box with %zu bytes", file, type, at + 1);
	if (bo == SIZE_MAX || at >= bl)
		return;
	uint8_t *c = malloc(n);
	REQUIRE(c, "out of memory");
	memcpy(c, d, n);
	c[bo + at] ^= 0x5a;
	char why[256];
	int r = run(c, n, f, why, sizeof why);
	CHECK_INT(r, want, "%s with byte %zu of its %s box (at %zu) flipped: %s", file, at, type, bo + at, why);
	free(c);
}

static void fixture(const char *dir, const char *file, int want)
{
	char *rel = path_join("provenance/c2pa", file);
	char *path = path_join(dir, rel);
	size_t n = 0;
	uint8_t *d = slurp(path, &n);
	CHECK(d != NULL, "%s: unreadable", path);
	if (!d)
		goto out;
	found f;
	int rc = find_assertion(d, n, path, &f);
	CHECK(rc == 0, "%s: no c2pa.hash.bmff assertion", path);
	if (rc) {
		free(d);
		goto out;
	}
	char why[256];
	int r = run(d, n, &f, why, sizeof why);
	CHECK_INT(r, want, "%s (%s): %s", file, f.label, why);
	printf("%s (%s, claim alg %s): %d, %s\n", file, f.label, f.claim_alg ? f.claim_alg : "-", r, why);
	CHECK(why[0] != '\0', "%s: no reason given", file);
	if (want == PROV_BMFF_MISMATCH)
		CHECK(strstr(why, "inithash") != NULL, "%s: %s", file, why);
	if (getenv("BMFFHASH_DUMP"))
		cbor_describe(f.assertion, stdout);

	if (want == PROV_BMFF_MATCH) {
		size_t bl;
		/* hashed boxes: any byte changed breaks the binding */
		if (top_box(d, n, "mdat", &bl) != SIZE_MAX) {
			flip_case(file, d, n, &f, "mdat", bl - 1, PROV_BMFF_MISMATCH);
			flip_case(file, d, n, &f, "mdat", bl / 2, PROV_BMFF_MISMATCH);
		}
		if (top_box(d, n, "moov", &bl) != SIZE_MAX)
			flip_case(file, d, n, &f, "moov", bl / 2, PROV_BMFF_MISMATCH);
		if (top_box(d, n, "meta", &bl) != SIZE_MAX)
			flip_case(file, d, n, &f, "meta", bl - 1, PROV_BMFF_MISMATCH);
		/* excluded boxes: the C2PA store (its JUMBF bytes, past the
		 * uuid, version, purpose and merkle offset) and ftyp's
		 * compatible brands */
		if (top_box(d, n, "uuid", &bl) != SIZE_MAX)
			flip_case(file, d, n, &f, "uuid", bl - 5, PROV_BMFF_MATCH);
		if (top_box(d, n, "ftyp", &bl) != SIZE_MAX)
			flip_case(file, d, n, &f, "ftyp", bl - 1, PROV_BMFF_MATCH);
		/* the same file cut short: no longer the hashed bytes */
		r = run(d, n - 1, &f, why, sizeof why);
		CHECK(r != PROV_BMFF_MATCH, "%s cut by one byte still matches", file);
	}
	cbor_decref(&f.assertion);
	free(f.claim_alg);
	free(d);
out:
	free(path);
	free(rel);
}

/* ------------------------------------------------------ synthetic cases */

typedef struct buf { uint8_t *p; size_t n, cap; } buf;

static void put(buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		REQUIRE(b->p, "out of memory");
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put32(buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(b, x, 4);
}

static void put64(buf *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

/* A box of `size` bytes: header, then filler bytes (i * 7 + seed). */
static void box(buf *b, const char *type, uint32_t size, uint8_t seed)
{
	put32(b, size);
	put(b, type, 4);
	for (uint32_t i = 8; i < size; i++) {
		uint8_t c = (uint8_t)(i * 7 + seed);
		put(b, &c, 1);
	}
}

/* The test file: ftyp (24) at 0, free (16) at 24, mdat (40) at 40. */
static buf sample(void)
{
	buf b = {0};
	put32(&b, 24);
	put(&b, "ftypisom", 8);
	put32(&b, 0);
	put(&b, "isommp41", 8);
	box(&b, "free", 16, 1);
	box(&b, "mdat", 40, 2);
	return b;
}

typedef struct sha { EVP_MD_CTX *x; } sha;

static void sha_begin(sha *s)
{
	s->x = EVP_MD_CTX_new();
	REQUIRE(s->x && EVP_DigestInit_ex(s->x, EVP_sha256(), NULL) == 1, "sha256");
}

static void sha_bytes(sha *s, const uint8_t *p, size_t n)
{
	EVP_DigestUpdate(s->x, p, n);
}

static void sha_off(sha *s, uint64_t off)
{
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(off >> (56 - 8 * i));
	EVP_DigestUpdate(s->x, be, 8);
}

static void sha_end(sha *s, uint8_t out[32])
{
	unsigned l = 0;
	EVP_DigestFinal_ex(s->x, out, &l);
	EVP_MD_CTX_free(s->x);
}

/* Exclusion map builder. */
static cbor_item_t *ex_map(const char *xpath)
{
	cbor_item_t *m = cbor_new_definite_map(8);
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("xpath")), cbor_move(cbor_build_string(xpath))});
	return m;
}

static void ex_uint(cbor_item_t *m, const char *key, uint64_t v)
{
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string(key)), cbor_move(cbor_build_uint64(v))});
}

static void ex_subset(cbor_item_t *m, const uint64_t *pairs, size_t n)
{
	cbor_item_t *a = cbor_new_definite_array(n);
	for (size_t i = 0; i < n; i++) {
		cbor_item_t *s = cbor_new_definite_map(2);
		cbor_map_add(s, (struct cbor_pair){cbor_move(cbor_build_string("offset")), cbor_move(cbor_build_uint64(pairs[2 * i]))});
		cbor_map_add(s, (struct cbor_pair){cbor_move(cbor_build_string("length")), cbor_move(cbor_build_uint64(pairs[2 * i + 1]))});
		cbor_array_push(a, cbor_move(s));
	}
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("subset")), cbor_move(a)});
}

static void ex_data(cbor_item_t *m, uint64_t offset, const void *value, size_t n)
{
	cbor_item_t *a = cbor_new_definite_array(1);
	cbor_item_t *s = cbor_new_definite_map(2);
	cbor_map_add(s, (struct cbor_pair){cbor_move(cbor_build_string("offset")), cbor_move(cbor_build_uint64(offset))});
	cbor_map_add(s, (struct cbor_pair){cbor_move(cbor_build_string("value")), cbor_move(cbor_build_bytestring(value, n))});
	cbor_array_push(a, cbor_move(s));
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("data")), cbor_move(a)});
}

/* {exclusions: [given maps], alg: sha256, hash: h} (hash omitted if NULL). */
static cbor_item_t *assertion(cbor_item_t **ex, size_t n, const uint8_t *h)
{
	cbor_item_t *m = cbor_new_definite_map(4);
	cbor_item_t *a = cbor_new_definite_array(n);
	for (size_t i = 0; i < n; i++)
		cbor_array_push(a, cbor_move(ex[i]));
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("exclusions")), cbor_move(a)});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("alg")), cbor_move(cbor_build_string("sha256"))});
	if (h)
		cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("hash")), cbor_move(cbor_build_bytestring(h, 32))});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("name")), cbor_move(cbor_build_string("test"))});
	return m;
}

static int check_one(const buf *b, cbor_item_t *a, const char *label, int want, const char *what)
{
	char why[256];
	int r = prov_bmff_hash_check(b->p, b->n, a, label, NULL, why, sizeof why);
	CHECK_INT(r, want, "%s (%s): %s", what, label, why);
	cbor_decref(&a);
	return r;
}

static void synthetic(void)
{
	buf b = sample();
	const uint8_t *d = b.p;
	uint8_t h[32];
	sha s;

	/* v1: /ftyp excluded, no offsets */
	sha_begin(&s);
	sha_bytes(&s, d + 24, 56);
	sha_end(&s, h);
	cbor_item_t *e[4];
	e[0] = ex_map("/ftyp");
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff", PROV_BMFF_MATCH, "v1 /ftyp");
	e[0] = ex_map("/ftyp");
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MISMATCH, "v1 digest under a v2 label");

	/* v2: the offsets of free and mdat in front of their bytes */
	sha_begin(&s);
	sha_off(&s, 24);
	sha_bytes(&s, d + 24, 16);
	sha_off(&s, 40);
	sha_bytes(&s, d + 40, 40);
	sha_end(&s, h);
	e[0] = ex_map("/ftyp");
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "v2 /ftyp");
	e[0] = ex_map("/ftyp");
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v3__2", PROV_BMFF_MATCH, "v3 with an instance");
	e[0] = ex_map("/ftyp");
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff", PROV_BMFF_MISMATCH, "v2 digest under a v1 label");
	/* an exclusion naming a box that is not there changes nothing */
	e[0] = ex_map("/ftyp");
	e[1] = ex_map("/mfra");
	e[2] = ex_map("/moov/trak");
	e[3] = ex_map("/uu");   /* malformed xpath: ignored, as c2pa-rs does */
	check_one(&b, assertion(e, 4, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "absent boxes");

	/* length / data / version matching: a mismatching filter keeps the
	 * box hashed */
	e[0] = ex_map("/ftyp");
	ex_uint(e[0], "length", 24);
	e[1] = ex_map("/free");
	ex_uint(e[1], "length", 17);
	check_one(&b, assertion(e, 2, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "length filter");
	e[0] = ex_map("/ftyp");
	ex_data(e[0], 8, "isom", 4);
	e[1] = ex_map("/free");
	ex_data(e[1], 4, "fre!", 4);
	check_one(&b, assertion(e, 2, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "data filter");
	e[0] = ex_map("/ftyp");
	ex_data(e[0], 8, "isom", 4);
	e[1] = ex_map("/free");
	ex_data(e[1], 10, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 70);
	check_one(&b, assertion(e, 2, h), "c2pa.hash.bmff.v2", PROV_BMFF_MISMATCH, "data match past the end of the file");
	e[0] = ex_map("/ftyp");
	ex_uint(e[0], "version", 3);   /* ftyp is no FullBox: version ignored */
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "version on a plain box");
	e[0] = ex_map("/ftyp[1]");
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "indexed xpath");

	/* subsets: mdat's first 16 bytes hashed (with its offset), rest not */
	sha_begin(&s);
	sha_off(&s, 24);
	sha_bytes(&s, d + 24, 16);
	sha_off(&s, 40);
	sha_bytes(&s, d + 40, 16);
	sha_end(&s, h);
	e[0] = ex_map("/ftyp");
	e[1] = ex_map("/mdat");
	ex_subset(e[1], (const uint64_t[]){16, 0}, 1);
	check_one(&b, assertion(e, 2, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "mdat subset 16+");

	/* a subset covering free's first bytes: its offset is not hashed
	 * (c2pa-rs adds such offsets only strictly inside the hashed span) */
	sha_begin(&s);
	sha_bytes(&s, d + 28, 12);
	sha_off(&s, 40);
	sha_bytes(&s, d + 40, 40);
	sha_end(&s, h);
	e[0] = ex_map("/ftyp");
	e[1] = ex_map("/free");
	ex_subset(e[1], (const uint64_t[]){0, 4}, 1);
	check_one(&b, assertion(e, 2, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "offset at an excluded byte, before the span");
	/* ... and one strictly inside the span is hashed between the ranges */
	sha_begin(&s);
	sha_off(&s, 0);
	sha_bytes(&s, d + 0, 24);
	sha_off(&s, 24);
	sha_bytes(&s, d + 28, 12);
	sha_off(&s, 40);
	sha_bytes(&s, d + 40, 40);
	sha_end(&s, h);
	e[0] = ex_map("/free");
	ex_subset(e[0], (const uint64_t[]){0, 4}, 1);
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "offset at an excluded byte, inside the span");
	/* two subsets, and a subset past the box's end (skipped) */
	sha_begin(&s);
	sha_off(&s, 0);
	sha_bytes(&s, d + 0, 4);
	sha_bytes(&s, d + 8, 4);
	sha_bytes(&s, d + 16, 8);
	sha_off(&s, 24);
	sha_bytes(&s, d + 24, 16);
	sha_off(&s, 40);
	sha_bytes(&s, d + 40, 40);
	sha_end(&s, h);
	e[0] = ex_map("/ftyp");
	ex_subset(e[0], (const uint64_t[]){4, 4, 12, 4, 100, 0}, 3);
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "two subsets");

	/* malformed assertions */
	check_one(&b, assertion(NULL, 0, h), "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "no exclusions");
	e[0] = ex_map("/ftyp");
	ex_subset(e[0], (const uint64_t[]){12, 4, 4, 4}, 2);
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "unordered subsets");
	e[0] = ex_map("/ftyp");
	ex_subset(e[0], (const uint64_t[]){4, 10, 12, 4}, 2);
	check_one(&b, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "overlapping subsets");
	{
		cbor_item_t *m = cbor_new_definite_map(1);
		cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("exclusions")), cbor_move(cbor_build_uint8(3))});
		check_one(&b, m, "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "exclusions not an array");
		check_one(&b, cbor_build_string("x"), "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "not a map");
	}
	/* no hash, no merkle: c2pa-rs passes it */
	e[0] = ex_map("/ftyp");
	check_one(&b, assertion(e, 1, NULL), "c2pa.hash.bmff.v2", PROV_BMFF_MATCH, "no hash");

	/* assets that are not BMFF, or are damaged */
	{
		buf t = {0};
		put(&t, "abc", 3);
		e[0] = ex_map("/ftyp");
		check_one(&t, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "3-byte file");
		free(t.p);
		t = (buf){0};
		put32(&t, 12);
		put(&t, "ftypisom", 8);
		e[0] = ex_map("/ftyp");
		check_one(&t, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MALFORMED, "12-byte ftyp");
		free(t.p);
		/* a moov claiming more than the file holds */
		t = sample();
		put32(&t, 1000);
		put(&t, "moov", 4);
		e[0] = ex_map("/ftyp");
		check_one(&t, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MISMATCH, "moov past the end");
		free(t.p);
		/* moov nested 40 deep */
		t = sample();
		for (int i = 0; i < 40; i++) {
			put32(&t, (uint32_t)(8 * (40 - i)));
			put(&t, "moov", 4);
		}
		e[0] = ex_map("/ftyp");
		check_one(&t, assertion(e, 1, h), "c2pa.hash.bmff.v2", PROV_BMFF_MISMATCH, "deep nesting");
		free(t.p);
		/* largesize mdat running past the end is cut to the file */
		t = sample();
		put32(&t, 1);
		put(&t, "mdat", 4);
		put64(&t, 1000);
		uint8_t z[5] = {1, 2, 3, 4, 5};
		put(&t, z, 5);
		sha_begin(&s);
		sha_bytes(&s, t.p + 24, t.n - 24);
		sha_end(&s, h);
		e[0] = ex_map("/ftyp");
		check_one(&t, assertion(e, 1, h), "c2pa.hash.bmff", PROV_BMFF_MATCH, "largesize mdat to the end");
		free(t.p);
	}

	/* merkle initHash: with a moof, the file minus the exclusions and
	 * minus everything from the moof on; without, always a mismatch */
	{
		buf t = sample();
		put32(&t, 24);
		put(&t, "moof", 4);
		put32(&t, 16);
		put(&t, "mfhd", 4);
		put32(&t, 0);
		put32(&t, 1);
		box(&t, "mdat", 24, 4);
		sha_begin(&s);
		sha_off(&s, 24);
		sha_bytes(&s, t.p + 24, 16);
		sha_off(&s, 40);
		sha_bytes(&s, t.p + 40, 40);
		/* moof (80) and the mdat after it: excluded, and past the last
		 * hashed byte, so their offsets are not hashed either */
		sha_end(&s, h);
		for (int k = 0; k < 3; k++) {
			e[0] = ex_map("/ftyp");
			cbor_item_t *a = assertion(e, 1, NULL);
			cbor_item_t *mm = cbor_new_definite_map(5);
			cbor_map_add(mm, (struct cbor_pair){cbor_move(cbor_build_string("uniqueId")), cbor_move(cbor_build_uint8(1))});
			cbor_map_add(mm, (struct cbor_pair){cbor_move(cbor_build_string("localId")), cbor_move(cbor_build_uint8(1))});
			cbor_map_add(mm, (struct cbor_pair){cbor_move(cbor_build_string("count")), cbor_move(cbor_build_uint8(1))});
			cbor_item_t *hs = cbor_new_definite_array(1);
			cbor_array_push(hs, cbor_move(cbor_build_bytestring(h, 32)));
			cbor_map_add(mm, (struct cbor_pair){cbor_move(cbor_build_string("hashes")), cbor_move(hs)});
			uint8_t ih[32];
			memcpy(ih, h, 32);
			if (k == 1)
				ih[0] ^= 1;
			cbor_map_add(mm, (struct cbor_pair){cbor_move(cbor_build_string("initHash")), cbor_move(cbor_build_bytestring(ih, 32))});
			cbor_item_t *ml = cbor_new_definite_array(1);
			cbor_array_push(ml, cbor_move(mm));
			cbor_map_add(a, (struct cbor_pair){cbor_move(cbor_build_string("merkle")), cbor_move(ml)});
			if (k == 2)
				check_one(&b, a, "c2pa.hash.bmff.v2", PROV_BMFF_MISMATCH, "initHash without moof");
			else
				check_one(&t, a, "c2pa.hash.bmff.v2", k == 0 ? PROV_BMFF_UNSUPPORTED : PROV_BMFF_MISMATCH,
				          k == 0 ? "initHash right, merkle not validated" : "initHash wrong");
		}
		free(t.p);
	}
	free(b.p);
}

int main(int argc, char **argv)
{
	const char *dir = testdata_dir(argc, argv);
	fixture(dir, "video1.mp4", PROV_BMFF_MATCH);
	fixture(dir, "trustnxt-icon-signed-v2-bmff.heic", PROV_BMFF_MATCH);
	/* dashinit.mp4 is an fMP4 init segment: no whole-file hash, one merkle
	 * map with an initHash, no moof. c2pa-rs (verify_stream_hash) fails
	 * such a file on its own: "BMFF inithash must not be present for
	 * non-fragmented media"; it validates only together with its
	 * fragments (Store::load_fragment_from_stream), which veto does not
	 * do. */
	fixture(dir, "dashinit.mp4", PROV_BMFF_MISMATCH);
	synthetic();
	return check_exit("test_prov_bmffhash");
}
