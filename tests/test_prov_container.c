/*
 * test_prov_container.c - prov_scan (lib/prov_container*.c): where the C2PA
 * manifest store, XMP, EXIF and text records sit in each container.
 *
 * 1. Every provenance fixture: format, store length, offset and SHA-256,
 *    that the store is a jumb superbox whose jumd is the C2PA one, XMP /
 *    EXIF / text records where the files have them, and no problems. The
 *    JPEG stores are also put together here from the APP11 segments by a
 *    separate, simpler walk and compared byte for byte.
 * 2. Containers built here around C.jpg's store (WebP, GIF in both XMP
 *    forms, classic and BigTIFF in both byte orders, multi-page TIFF, a
 *    JPEG with many APP11 segments, XLBox, extended XMP, a PNG with every
 *    text chunk kind, BMFF with a 64-bit box size): the store, XMP and EXIF
 *    come back exactly; damaged variants give the expected problems.
 * 3. Truncated copies of everything at several lengths give an error or at
 *    least one problem; single-byte changes never break the invariants of
 *    the result (run this program under ASan + UBSan to see the rest).
 */
#include "check.h"
#include "prov_container.h"

#include <zlib.h>

static const uint8_t c2pa_uuid[16] = {
	0x63, 0x32, 0x70, 0x61, 0x00, 0x11, 0x00, 0x10,
	0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
};

/* ------------------------------------------------------------ helpers */

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t nc = b->cap ? b->cap : 1024;
		while (nc < b->n + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		REQUIRE(b->p, "out of memory");
		b->cap = nc;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put8(buf *b, unsigned v) { uint8_t c = (uint8_t)v; put(b, &c, 1); }
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }
static void be16(buf *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
static void be32(buf *b, uint32_t v) { be16(b, v >> 16); be16(b, v & 0xffff); }
static void be64(buf *b, uint64_t v) { be32(b, (uint32_t)(v >> 32)); be32(b, (uint32_t)v); }
static void le32(buf *b, uint32_t v) { for (int k = 0; k < 4; k++) put8(b, v >> (8 * k)); }

static void set_at(buf *b, size_t at, uint64_t v, int bytes, int le)
{
	for (int k = 0; k < bytes; k++)
		b->p[at + (le ? k : bytes - 1 - k)] = (uint8_t)(v >> (8 * k));
}

static int mem_has(const uint8_t *h, size_t hn, const void *needle, size_t nn)
{
	if (!h || nn > hn)
		return 0;
	for (size_t i = 0; i + nn <= hn; i++)
		if (!memcmp(h + i, needle, nn))
			return 1;
	return 0;
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t d[32];
	REQUIRE(veto_digest(p, n, NULL, d, NULL) == VETO_OK, "digest");
	prov_hex(d, 32, out);
}

/* The store starts with a jumb superbox whose first child is the jumd of a
 * C2PA manifest store (type UUID and label "c2pa"), and its length says n. */
static int is_c2pa_store(const uint8_t *s, size_t n)
{
	if (!s || n < 8 + 8 + 16 + 1 + 5 || memcmp(s + 4, "jumb", 4) != 0)
		return 0;
	size_t h = 8;
	uint64_t len = (uint64_t)s[0] << 24 | s[1] << 16 | s[2] << 8 | s[3];
	if (len == 1) {
		len = 0;
		for (int k = 0; k < 8; k++)
			len = len << 8 | s[8 + k];
		h = 16;
	}
	return len == n && !memcmp(s + h + 4, "jumd", 4) && !memcmp(s + h + 8, c2pa_uuid, 16) &&
	       (s[h + 24] & 2) && !memcmp(s + h + 25, "c2pa", 5);
}

static int has_problem(const prov_assets *o, const char *sub)
{
	for (size_t i = 0; i < o->nproblems; i++)
		if (strstr(o->problems[i], sub))
			return 1;
	return 0;
}

static void dump_problems(const prov_assets *o, const char *what)
{
	for (size_t i = 0; i < o->nproblems; i++)
		fprintf(stderr, "  %s: problem: %s\n", what, o->problems[i]);
}

static const prov_text *find_text(const prov_assets *o, const char *where, const char *key)
{
	for (size_t i = 0; i < o->ntexts; i++)
		if (!strcmp(o->texts[i].where, where) && !strcmp(o->texts[i].key, key))
			return &o->texts[i];
	return NULL;
}

/* What every result must satisfy, whatever the input. */
static void check_invariants(int rc, const prov_assets *o, const veto_error *err,
                             const char *what)
{
	CHECK(rc == VETO_OK || rc == VETO_ERR_FORMAT, "%s: status %d", what, rc);
	if (rc != VETO_OK) {
		CHECK(err->code == rc && strstr(err->message, what) && !strchr(err->message, '\n'),
		      "%s: message \"%s\"", what, err->message);
		CHECK(!o->jumbf && !o->xmp && !o->exif && !o->texts && !o->problems,
		      "%s: error left results", what);
		return;
	}
	CHECK(o->format != NULL, "%s: no format", what);
	CHECK(o->jumbf_len <= PROV_MAX_STORE, "%s: store of %zu bytes", what, o->jumbf_len);
	CHECK(!o->jumbf_len || o->jumbf, "%s: store length without store", what);
	CHECK(o->jumbf_stores >= (o->jumbf ? 1 : 0), "%s: store not counted", what);
	CHECK(!o->jumbf || o->jumbf_offset < (uint64_t)1 << 40, "%s: offset", what);
	CHECK(!o->xmp || (o->xmp[o->xmp_len] == 0 && o->xmp_len <= PROV_MAX_TEXT),
	      "%s: xmp not terminated", what);
	CHECK(!o->exif || o->exif_len >= 8, "%s: exif of %zu bytes", what, o->exif_len);
	CHECK(o->ntexts <= PC_MAX_TEXTS, "%s: %zu texts", what, o->ntexts);
	for (size_t i = 0; i < o->ntexts; i++) {
		const prov_text *t = &o->texts[i];
		CHECK(t->key && t->value && t->where && t->value[t->len] == 0 &&
		      t->len <= 2 * (size_t)PROV_MAX_TEXT, "%s: text %zu", what, i);
	}
	CHECK(o->nproblems <= PC_MAX_PROBLEMS, "%s: %zu problems", what, o->nproblems);
	for (size_t i = 0; i < o->nproblems; i++)
		CHECK(o->problems[i] && o->problems[i][0] && !strchr(o->problems[i], '\n'),
		      "%s: problem %zu is not one line", what, i);
}

static int scan(const uint8_t *d, size_t n, const char *what, prov_assets *o)
{
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = prov_scan(d, n, what, o, &err);
	check_invariants(rc, o, &err, what);
	return rc;
}

/* ------------------------------------------------- 1. the fixtures */

typedef struct fixture {
	const char *path;
	const char *format;
	size_t store_len;      /* 0: no store */
	uint64_t store_off;
	const char *store_sha; /* SHA-256 of the store */
	int xmp, exif;         /* expected present */
	const char *xmp_has;   /* a string the XMP holds */
	size_t ntexts;
} fixture;

/*
 * Lengths, offsets and SHA-256 computed once with a separate Python script
 * that walks each container the way c2pa-rs's asset handlers do (JPEG:
 * APP11 segments with the same En, the first from byte 8 of its payload,
 * the others from byte 16; PNG: the caBX chunk data; BMFF: the uuid box
 * after version/flags, the purpose and the 8-byte merkle offset; .c2pa:
 * the whole file) and hashing the bytes with hashlib.sha256.
 */
static const fixture fixtures[] = {
	{ "provenance/c2pa/C.jpg", "jpeg", 45872, 32,
	  "6734dd6053ccc69b74beb590ba4dcdc1e807ad5fe3be3c534628ac00325ddfcd", 0, 0, NULL, 0 },
	{ "provenance/c2pa/CA.jpg", "jpeg", 117241, 32,
	  "d92a7c6e3ba9a7a41b0b96e7517edbc4b06da4ff60dc4845808fe45389d0bab9", 0, 0, NULL, 0 },
	{ "provenance/c2pa/XCA.jpg", "jpeg", 117241, 32,
	  "d92a7c6e3ba9a7a41b0b96e7517edbc4b06da4ff60dc4845808fe45389d0bab9", 0, 0, NULL, 0 },
	{ "provenance/c2pa/E-sig-CA.jpg", "jpeg", 117241, 32,
	  "4c5469bdc9352fee136eed392d63e1b142fdf852cda000f0fc03da93e36f067c", 0, 0, NULL, 0 },
	{ "provenance/c2pa/CIE-sig-CA.jpg", "jpeg", 231253, 32,
	  "d8b0fc077fc4805c0e52608cb8fe73101a7f839d9e10b394dfaad7af06bb2b09", 0, 0, NULL, 0 },
	{ "provenance/c2pa/CACAE-uri-CA.jpg", "jpeg", 281189, 32,
	  "acee94ab81ac08695bce4eda6adcfe50ce396be08361223499f2741cdcbc12d1", 0, 0, NULL, 0 },
	{ "provenance/c2pa/ocsp.jpg", "jpeg", 256453, 94,
	  "6d52d9858cb6fdb70a6f8ae0109c649d164e57e559e03e8c7350b9d40f9c7798", 0, 1, NULL, 0 },
	{ "provenance/c2pa/C_with_CAWG_data.jpg", "jpeg", 53098, 32,
	  "ffbd385e55f2a5e63a28c3a22141ce474d472ef5fd5a4d1315401992d32333c6", 0, 0, NULL, 0 },
	{ "provenance/c2pa/no_alg.jpg", "jpeg", 7705, 14,
	  "d847341daeb2e238b846e51631fc04da0574e9412a41f61ef77b7728f5703d1a", 0, 1, NULL, 0 },
	{ "provenance/c2pa/update_manifest.jpg", "jpeg", 43595, 9976,
	  "9859569bbf76a632ae95a83e7a266d51252eb8a8bf0a6ab34251d74c75887d92", 1, 1, NULL, 0 },
	{ "provenance/c2pa/cloud.jpg", "jpeg", 0, 0, NULL, 1, 1,
	  "https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182", 0 },
	{ "provenance/c2pa/cloudx.jpg", "jpeg", 0, 0, NULL, 1, 1, "dcterms:provenance", 0 },
	{ "provenance/c2pa/no_manifest.jpg", "jpeg", 0, 0, NULL, 1, 1, NULL, 0 },
	{ "provenance/c2pa/cloud_manifest.c2pa", "c2pa", 156281, 0,
	  "1e826fb3f7bbeb3ebfbac19edd34923c463d69914bee048d040a555b7023e4f4", 0, 0, NULL, 0 },
	{ "provenance/c2pa/amazon-titan-g1.png", "png", 26510, 41,
	  "a1fb5176fea4a92d9e449303544b391bd70169fd23b70e1bf3c819f9bcc38e8f", 0, 0, NULL, 0 },
	{ "provenance/c2pa/firefly_thirdparty_gemini.png", "png", 244210, 41,
	  "39258594ee6ac060c71328945b289e9cfdc57b216011b410fb8119628941c5e2", 1, 0,
	  "<?xpacket begin=", 1 },
	{ "provenance/c2pa/libpng-test.png", "png", 0, 0, NULL, 0, 0, NULL, 0 },
	{ "provenance/c2pa/libpng-test_with_url.png", "png", 0, 0, NULL, 1, 0,
	  "http://localhost:5000/libpng-test.c2pa", 0 },
	{ "provenance/c2pa/sample1.webp", "webp", 0, 0, NULL, 0, 0, NULL, 0 },
	{ "provenance/c2pa/sample1.avif", "bmff", 0, 0, NULL, 0, 0, NULL, 0 },
	{ "provenance/c2pa/dashinit.mp4", "bmff", 3546, 452,
	  "19c21b1b42b0dce46439bf7d4cb282072e77758ca56c61205ed8afe79cc098b7", 0, 0, NULL, 0 },
	{ "provenance/c2pa/video1.mp4", "bmff", 30617, 69,
	  "3cb037fb5d5a33d7cf0996f26b0697f3bffb16374b29a255b2b1f4f980454aee", 1, 0,
	  "<?xpacket begin=", 0 },
	{ "provenance/c2pa/trustnxt-icon-signed-v2-bmff.heic", "bmff", 31576, 73,
	  "9f6e10b39ea110794d19842971b8ab1c7dc01c90fabb146d351fb4287cfe7cb4", 0, 0, NULL, 0 },
	{ "provenance/genmeta/automatic1111_cropped.jpg", "jpeg", 0, 0, NULL, 0, 1, NULL, 0 },
	{ "provenance/genmeta/automatic1111_cropped.png", "png", 0, 0, NULL, 0, 0, NULL, 1 },
	{ "provenance/genmeta/automatic1111_stealth.png", "png", 0, 0, NULL, 0, 0, NULL, 0 },
	{ "provenance/genmeta/fooocus1_cropped.png", "png", 0, 0, NULL, 0, 0, NULL, 2 },
	{ "provenance/genmeta/img2img_cropped.png", "png", 0, 0, NULL, 0, 0, NULL, 2 },
	{ "provenance/genmeta/invokeai_dream1.png", "png", 0, 0, NULL, 0, 0, NULL, 1 },
	{ "provenance/genmeta/invokeai_imeta1.png", "png", 0, 0, NULL, 0, 0, NULL, 1 },
	{ "provenance/genmeta/invokeai_sdmeta1.png", "png", 0, 0, NULL, 0, 0, NULL, 2 },
	{ "provenance/genmeta/novelai1_cropped.png", "png", 0, 0, NULL, 0, 0, NULL, 5 },
};
#define NFIX (sizeof fixtures / sizeof fixtures[0])

/* The C2PA store of a JPEG by c2pa-rs's rule, written separately from the
 * library: APP11 payloads in file order up to SOS; the first whose bytes
 * 24..27 are "c2pa" starts the store (from byte 8), the following ones with
 * its En continue it (from byte 16). */
static uint8_t *jpeg_store_by_hand(const uint8_t *d, size_t n, size_t *len)
{
	buf b = { 0 };
	int started = 0;
	uint8_t en[2] = { 0, 0 };
	size_t i = 2;
	while (i + 4 <= n && d[i] == 0xff && d[i + 1] != 0xda) {
		size_t L = (size_t)d[i + 2] << 8 | d[i + 3];
		if (i + 2 + L > n)
			break;
		const uint8_t *c = d + i + 4;
		size_t cl = L - 2;
		if (d[i + 1] == 0xeb && cl > 16) {
			if (started && !memcmp(c + 2, en, 2))
				put(&b, c + 16, cl - 16);
			else if (!started && cl > 28 && !memcmp(c + 24, "c2pa", 4)) {
				started = 1;
				memcpy(en, c + 2, 2);
				put(&b, c + 8, cl - 8);
			}
		}
		i += 2 + L;
	}
	*len = b.n;
	return b.p;
}

static void test_fixture(const char *dir, const fixture *f)
{
	char *path = path_join(dir, f->path);
	size_t n;
	uint8_t *d = slurp(path, &n);
	prov_assets o;
	int rc = scan(d, n, f->path, &o);
	CHECK_INT(rc, VETO_OK, "%s", f->path);
	if (rc != VETO_OK) {
		free(d);
		free(path);
		return;
	}
	CHECK_STR(o.format, f->format, "%s", f->path);
	CHECK_INT(o.jumbf_len, f->store_len, "%s: store length", f->path);
	CHECK_INT(o.jumbf_stores, f->store_len ? 1 : 0, "%s: stores", f->path);
	CHECK_INT(o.nproblems, 0, "%s: problems", f->path);
	dump_problems(&o, f->path);
	if (f->store_len && o.jumbf) {
		CHECK_INT(o.jumbf_offset, f->store_off, "%s: store offset", f->path);
		CHECK(is_c2pa_store(o.jumbf, o.jumbf_len), "%s: not a C2PA superbox", f->path);
		char hex[65];
		sha256_hex(o.jumbf, o.jumbf_len, hex);
		CHECK_STR(hex, f->store_sha, "%s: store SHA-256", f->path);
		/* where the store is contiguous in the file, it is those bytes */
		if (strcmp(f->format, "jpeg"))
			CHECK(o.jumbf_offset + o.jumbf_len <= n &&
			      !memcmp(d + o.jumbf_offset, o.jumbf, o.jumbf_len),
			      "%s: store is not the file's bytes at its offset", f->path);
	}
	if (!strcmp(f->format, "jpeg")) {
		size_t hl;
		uint8_t *h = jpeg_store_by_hand(d, n, &hl);
		CHECK(hl == o.jumbf_len && (!hl || !memcmp(h, o.jumbf, hl)),
		      "%s: store differs from the hand-made reassembly (%zu vs %zu bytes)", f->path,
		      o.jumbf_len, hl);
		if (o.jumbf)
			CHECK(!memcmp(d + o.jumbf_offset, o.jumbf, 64),
			      "%s: offset is not where the store begins", f->path);
		free(h);
	}
	CHECK(!!o.xmp == f->xmp, "%s: xmp %s", f->path, o.xmp ? "found" : "missing");
	if (f->xmp_has)
		CHECK(o.xmp && strstr((char *)o.xmp, f->xmp_has), "%s: xmp lacks %s", f->path, f->xmp_has);
	if (o.xmp)
		CHECK(strstr((char *)o.xmp, "x:xmpmeta") != NULL, "%s: xmp without x:xmpmeta", f->path);
	CHECK(!!o.exif == f->exif, "%s: exif %s", f->path, o.exif ? "found" : "missing");
	if (o.exif) {
		CHECK(!memcmp(o.exif, "MM\0*", 4) || !memcmp(o.exif, "II*\0", 4), "%s: exif header",
		      f->path);
		int or = veto_exif_orientation(o.exif, o.exif_len);
		CHECK(or >= 1 && or <= 8, "%s: orientation %d", f->path, or);
	}
	CHECK_INT(o.ntexts, f->ntexts, "%s: texts", f->path);
	prov_assets_free(&o);
	free(d);
	free(path);
}

/* The text records of the generator fixtures, key by key. */
static void test_fixture_texts(const char *dir)
{
	static const struct {
		const char *file, *where, *key, *prefix;
		size_t len;
	} want[] = {
		{ "automatic1111_cropped.png", "png:tEXt", "parameters", "photo of a duck\nNegative prompt: monochrome", 180 },
		{ "fooocus1_cropped.png", "png:tEXt", "parameters", "{\"adm_guidance\": \"(1.5, 0.8, 0.3)\"", 2455 },
		{ "fooocus1_cropped.png", "png:tEXt", "fooocus_scheme", "fooocus", 7 },
		{ "img2img_cropped.png", "png:tEXt", "prompt", "{\"3\": {\"inputs\": {\"seed\": 280823642470253", 1106 },
		{ "img2img_cropped.png", "png:tEXt", "workflow", "{\"last_node_id\": 13", 3421 },
		{ "invokeai_dream1.png", "png:tEXt", "Dream", "\"professional full body photo", 445 },
		{ "invokeai_imeta1.png", "png:tEXt", "invokeai_metadata", "{\"generation_mode\":\"sdxl_txt2img\"", 796 },
		{ "invokeai_sdmeta1.png", "png:tEXt", "Dream", "\"professional full body photo", 445 },
		{ "invokeai_sdmeta1.png", "png:tEXt", "sd-metadata", "{\"model\": \"stable diffusion\"", 966 },
		{ "novelai1_cropped.png", "png:tEXt", "Title", "AI generated image", 18 },
		{ "novelai1_cropped.png", "png:tEXt", "Description", "masterpiece, best quality,", 44 },
		{ "novelai1_cropped.png", "png:tEXt", "Software", "NovelAI", 7 },
		{ "novelai1_cropped.png", "png:tEXt", "Source", "Stable Diffusion 1D44365E", 25 },
		{ "novelai1_cropped.png", "png:tEXt", "Comment", "{\"steps\": 50, \"sampler\": \"k_euler_ancestral\"", 515 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char rel[256];
		snprintf(rel, sizeof rel, "provenance/genmeta/%s", want[i].file);
		char *path = path_join(dir, rel);
		size_t n;
		uint8_t *d = slurp(path, &n);
		prov_assets o;
		if (scan(d, n, rel, &o) == VETO_OK) {
			const prov_text *t = find_text(&o, want[i].where, want[i].key);
			CHECK(t != NULL, "%s: no %s %s", rel, want[i].where, want[i].key);
			if (t) {
				CHECK_INT(t->len, want[i].len, "%s: %s length", rel, want[i].key);
				CHECK(!strncmp(t->value, want[i].prefix, strlen(want[i].prefix)),
				      "%s: %s = \"%.40s\"", rel, want[i].key, t->value);
				CHECK_INT(strlen(t->value), t->len, "%s: %s has a NUL", rel, want[i].key);
			}
		}
		prov_assets_free(&o);
		free(d);
		free(path);
	}
	/* the novelai file's records come in file order */
	char *path = path_join(dir, "provenance/genmeta/novelai1_cropped.png");
	size_t n;
	uint8_t *d = slurp(path, &n);
	prov_assets o;
	if (scan(d, n, "novelai", &o) == VETO_OK && o.ntexts == 5) {
		const char *order[] = { "Title", "Description", "Software", "Source", "Comment" };
		for (int k = 0; k < 5; k++)
			CHECK_STR(o.texts[k].key, order[k], "novelai order %d", k);
	}
	prov_assets_free(&o);
	free(d);
	free(path);
	/* zTXt (inflated) in the Firefly PNG */
	path = path_join(dir, "provenance/c2pa/firefly_thirdparty_gemini.png");
	d = slurp(path, &n);
	if (scan(d, n, "firefly", &o) == VETO_OK) {
		const prov_text *t = find_text(&o, "png:zTXt", "Raw profile type iptc");
		CHECK(t && t->len == 152 && !strncmp(t->value, "\nIPTC profile\n", 14),
		      "firefly: zTXt IPTC profile");
	}
	prov_assets_free(&o);
	free(d);
	free(path);
	/* the A1111 JPEG's generator text is an EXIF UserComment (0x9286) */
	path = path_join(dir, "provenance/genmeta/automatic1111_cropped.jpg");
	d = slurp(path, &n);
	if (scan(d, n, "a1111.jpg", &o) == VETO_OK) {
		CHECK(o.exif && o.exif_len == 408 && !memcmp(o.exif, "MM\0*", 4), "a1111.jpg exif");
		CHECK(mem_has(o.exif, o.exif_len, "\x92\x86", 2), "a1111.jpg: no UserComment tag");
		CHECK(mem_has(o.exif, o.exif_len, "UNICODE\0", 8), "a1111.jpg: no UNICODE comment");
	}
	prov_assets_free(&o);
	free(d);
	free(path);
}

/* ----------------------------------------- 2. containers built here */

/* A sample: bytes, and whether any truncation of it must show. */
typedef struct sample {
	char name[64];
	uint8_t *d;
	size_t n;
	int trunc_shows;
} sample;

static sample samples[64];
static int nsamples;

static void keep_sample(const char *name, const buf *b, int trunc_shows)
{
	REQUIRE(nsamples < 64, "too many samples");
	sample *s = &samples[nsamples++];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->d = malloc(b->n);
	REQUIRE(s->d, "out of memory");
	memcpy(s->d, b->p, b->n);
	s->n = b->n;
	s->trunc_shows = trunc_shows;
}

static const char *XMP_PACKET =
	"<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"
	"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf="
	"\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
	"xmlns:dcterms=\"http://purl.org/dc/terms/\" dcterms:provenance="
	"\"https://example.com/m.c2pa\"/></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";

/* A little TIFF (big-endian): IFD0 with Orientation = 3. */
static const uint8_t small_tiff[] = {
	'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0
};

static void check_roundtrip(const buf *b, const char *what, const char *format,
                            const uint8_t *store, size_t slen, uint64_t soff, int nproblems,
                            prov_assets *o)
{
	int rc = scan(b->p, b->n, what, o);
	CHECK_INT(rc, VETO_OK, "%s", what);
	if (rc)
		return;
	CHECK_STR(o->format, format, "%s", what);
	CHECK(o->jumbf_len == slen && o->jumbf && !memcmp(o->jumbf, store, slen),
	      "%s: store differs (%zu bytes, want %zu)", what, o->jumbf_len, slen);
	CHECK_INT(o->jumbf_offset, soff, "%s: store offset", what);
	if (nproblems >= 0) {
		CHECK_INT(o->nproblems, nproblems, "%s: problems", what);
		if ((int)o->nproblems != nproblems)
			dump_problems(o, what);
	}
}

static void webp_chunk(buf *b, const char *id, const void *p, size_t n)
{
	puts_(b, id);
	le32(b, (uint32_t)n);
	put(b, p, n);
	if (n & 1)
		put8(b, 0);
}

static void test_webp(const uint8_t *store, size_t slen)
{
	buf b = { 0 };
	puts_(&b, "RIFF");
	le32(&b, 0);
	puts_(&b, "WEBP");
	uint8_t vp8x[10] = { 0x0c };
	webp_chunk(&b, "VP8X", vp8x, 10);
	buf ex = { 0 };
	put(&ex, "Exif\0\0", 6);
	put(&ex, small_tiff, sizeof small_tiff);
	webp_chunk(&b, "EXIF", ex.p, ex.n);
	size_t xl = strlen(XMP_PACKET) | 1; /* odd: a pad byte follows */
	webp_chunk(&b, "XMP ", XMP_PACKET, xl);
	size_t soff = b.n + 8;
	webp_chunk(&b, "C2PA", store, slen);
	webp_chunk(&b, "VP8L", "\x2f\0\0\0\0", 5);
	set_at(&b, 4, b.n - 8, 4, 1);
	prov_assets o;
	check_roundtrip(&b, "built.webp", "webp", store, slen, soff, 0, &o);
	CHECK(o.xmp && o.xmp_len == xl && !memcmp(o.xmp, XMP_PACKET, xl), "webp: xmp");
	CHECK(o.exif && o.exif_len == sizeof small_tiff && !memcmp(o.exif, small_tiff, o.exif_len),
	      "webp: exif without its Exif\\0\\0 prefix");
	CHECK_INT(veto_exif_orientation(o.exif, o.exif_len), 3, "webp: orientation");
	prov_assets_free(&o);
	keep_sample("built.webp", &b, 1);

	/* the RIFF size says more than there is */
	set_at(&b, 4, b.n, 4, 1);
	scan(b.p, b.n, "long.webp", &o);
	CHECK(has_problem(&o, "the RIFF header says"), "long.webp: no problem");
	CHECK(o.jumbf_len == slen, "long.webp: store lost");
	prov_assets_free(&o);
	/* a second C2PA chunk */
	set_at(&b, 4, b.n - 8, 4, 1);
	buf b2 = { 0 };
	put(&b2, b.p, b.n);
	webp_chunk(&b2, "C2PA", store, slen);
	set_at(&b2, 4, b2.n - 8, 4, 1);
	scan(b2.p, b2.n, "two.webp", &o);
	CHECK(o.jumbf_stores == 2 && has_problem(&o, "another C2PA manifest store"),
	      "two.webp: %d stores", o.jumbf_stores);
	CHECK(o.jumbf_offset == soff, "two.webp: not the first store");
	prov_assets_free(&o);
	free(b2.p);
	free(ex.p);
	free(b.p);
}

/* Data sub-blocks of at most 255 bytes, then the terminator. */
static void gif_subblocks(buf *b, const uint8_t *p, size_t n)
{
	while (n) {
		size_t k = n > 255 ? 255 : n;
		put8(b, (unsigned)k);
		put(b, p, k);
		p += k;
		n -= k;
	}
	put8(b, 0);
}

static void xmp_trailer(buf *b)
{
	put8(b, 1);
	for (int v = 255; v >= 0; v--)
		put8(b, (unsigned)v);
}

static void test_gif(const uint8_t *store, size_t slen)
{
	for (int form = 0; form < 2; form++) {
		buf b = { 0 };
		puts_(&b, "GIF89a");
		uint8_t lsd[7] = { 1, 0, 1, 0, 0x80, 0, 0 }; /* 1x1, 2-entry global table */
		put(&b, lsd, 7);
		put(&b, "\0\0\0\xff\xff\xff", 6);
		/* NETSCAPE loop extension, a comment, the XMP, the store */
		put(&b, "\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0", 19);
		put(&b, "\x21\xfe", 2);
		gif_subblocks(&b, (const uint8_t *)"made by \xe9t\xe9", 12);
		put(&b, "\x21\xff\x0bXMP DataXMP", 14);
		size_t xl = strlen(XMP_PACKET);
		if (form == 0) { /* Adobe: raw packet, then the magic trailer, then 0 */
			put(&b, XMP_PACKET, xl);
			xmp_trailer(&b);
			put8(&b, 0);
		} else { /* c2pa-rs: packet + trailer cut into sub-blocks */
			buf x = { 0 };
			put(&x, XMP_PACKET, xl);
			xmp_trailer(&x);
			gif_subblocks(&b, x.p, x.n);
			free(x.p);
		}
		put(&b, "\x21\xff\x0b" "C2PA_GIF\x01\0\0", 14);
		size_t soff = b.n + 1;
		gif_subblocks(&b, store, slen);
		/* graphic control, a 1x1 image, the trailer */
		put(&b, "\x21\xf9\x04\0\0\0\0\0", 8);
		put(&b, "\x2c\0\0\0\0\1\0\1\0\0", 10);
		put(&b, "\x02\x02\x44\x01\x00", 5);
		put8(&b, 0x3b);
		const char *what = form ? "built-c2pars.gif" : "built-adobe.gif";
		prov_assets o;
		check_roundtrip(&b, what, "gif", store, slen, soff, 0, &o);
		CHECK(o.xmp && o.xmp_len == xl && !memcmp(o.xmp, XMP_PACKET, xl), "%s: xmp", what);
		const prov_text *t = find_text(&o, "gif:comment", "");
		CHECK(t && !strcmp(t->value, "made by \xc3\xa9t\xc3\xa9"), "%s: comment", what);
		prov_assets_free(&o);
		keep_sample(what, &b, 1);
		free(b.p);
	}
}

/* ------------------------------------------------------------- TIFF */

typedef struct tw {
	buf b;
	int le, big;
} tw;

static void tw_n(tw *t, uint64_t v, int bytes)
{
	size_t at = t->b.n;
	for (int k = 0; k < bytes; k++)
		put8(&t->b, 0);
	set_at(&t->b, at, v, bytes, t->le);
}

/* Reserves an IFD of n entries; returns its offset. */
static size_t tw_ifd(tw *t, int n)
{
	size_t at = t->b.n;
	tw_n(t, (uint64_t)n, t->big ? 8 : 2);
	for (int k = 0; k < n * (t->big ? 20 : 12); k++)
		put8(&t->b, 0);
	tw_n(t, 0, t->big ? 8 : 4);
	return at;
}

/* Entry k of the IFD at ifd: value is inline (count * size fits) or an offset. */
static void tw_entry(tw *t, size_t ifd, int k, unsigned tag, unsigned type, uint64_t count,
                     uint64_t value, int vbytes)
{
	size_t e = ifd + (t->big ? 8 : 2) + (size_t)k * (t->big ? 20 : 12);
	set_at(&t->b, e, tag, 2, t->le);
	set_at(&t->b, e + 2, type, 2, t->le);
	set_at(&t->b, e + 4, count, t->big ? 8 : 4, t->le);
	set_at(&t->b, e + (t->big ? 12 : 8), value, vbytes, t->le);
}

static void tw_next(tw *t, size_t ifd, int n, uint64_t next)
{
	size_t e = ifd + (t->big ? 8 : 2) + (size_t)n * (t->big ? 20 : 12);
	set_at(&t->b, e, next, t->big ? 8 : 4, t->le);
}

static size_t tw_data(tw *t, const void *p, size_t n)
{
	if (t->b.n & 1)
		put8(&t->b, 0);
	size_t at = t->b.n;
	put(&t->b, p, n);
	return at;
}

/*
 * A TIFF: IFD0 (size, strip, orientation 6, XMP, EXIF IFD with
 * DateTimeOriginal, C2PA tag if store_pages & 1), IFD1 (C2PA tag if
 * store_pages & 2); `loop` points IFD1 back to IFD0. The strip's pixels
 * are the file's last bytes. *soff0 / *soff1: where each store copy is.
 */
static void build_tiff(tw *t, int le, int big, const uint8_t *store, size_t slen,
                       int store_pages, int loop, size_t *soff0, size_t *soff1)
{
	memset(t, 0, sizeof *t);
	t->le = le;
	t->big = big;
	put(&t->b, le ? "II" : "MM", 2);
	tw_n(t, big ? 43 : 42, 2);
	if (big) {
		tw_n(t, 8, 2);
		tw_n(t, 0, 2);
	}
	size_t first_at = t->b.n;
	tw_n(t, 0, big ? 8 : 4);
	int n0 = 9 + (store_pages & 1);
	size_t ifd0 = tw_ifd(t, n0);
	set_at(&t->b, first_at, ifd0, big ? 8 : 4, le);
	size_t exififd = tw_ifd(t, 1);
	size_t ifd1 = tw_ifd(t, 3 + (store_pages & 2 ? 1 : 0));
	size_t xmp = tw_data(t, XMP_PACKET, strlen(XMP_PACKET));
	size_t dto = tw_data(t, "2024:01:02 03:04:05", 20);
	*soff0 = *soff1 = 0;
	if (store_pages & 1)
		*soff0 = tw_data(t, store, slen);
	if (store_pages & 2)
		*soff1 = tw_data(t, store, slen);
	size_t strip = tw_data(t, "\x80\x80\x80\x80", 4);
	int vb = big ? 8 : 4;
	int k = 0;
	tw_entry(t, ifd0, k++, 256, 3, 1, 2, 2);             /* ImageWidth */
	tw_entry(t, ifd0, k++, 257, 3, 1, 2, 2);             /* ImageLength */
	tw_entry(t, ifd0, k++, 258, 3, 1, 8, 2);             /* BitsPerSample */
	tw_entry(t, ifd0, k++, 262, 3, 1, 1, 2);             /* Photometric */
	tw_entry(t, ifd0, k++, 273, 4, 1, strip, 4);         /* StripOffsets */
	tw_entry(t, ifd0, k++, 274, 3, 1, 6, 2);             /* Orientation */
	tw_entry(t, ifd0, k++, 279, 4, 1, 4, 4);             /* StripByteCounts */
	tw_entry(t, ifd0, k++, 700, 1, strlen(XMP_PACKET), xmp, vb);
	tw_entry(t, ifd0, k++, 0x8769, 4, 1, exififd, 4);
	if (store_pages & 1)
		tw_entry(t, ifd0, k++, 0xcd41, 7, slen, *soff0, vb);
	tw_next(t, ifd0, n0, ifd1);
	tw_entry(t, exififd, 0, 0x9003, 2, 20, dto, vb);     /* DateTimeOriginal */
	k = 0;
	tw_entry(t, ifd1, k++, 256, 3, 1, 2, 2);
	tw_entry(t, ifd1, k++, 257, 3, 1, 2, 2);
	tw_entry(t, ifd1, k++, 273, 4, 1, strip, 4);
	if (store_pages & 2)
		tw_entry(t, ifd1, k++, 0xcd41, 7, slen, *soff1, vb);
	tw_next(t, ifd1, k, loop ? ifd0 : 0);
}

static void test_tiff(const uint8_t *store, size_t slen)
{
	for (int v = 0; v < 4; v++) {
		int le = v & 1, big = v >> 1;
		char what[64];
		snprintf(what, sizeof what, "built-%s%s.tif", le ? "II" : "MM", big ? "-big" : "");
		tw t;
		size_t s0, s1;
		build_tiff(&t, le, big, store, slen, 1, 0, &s0, &s1);
		prov_assets o;
		check_roundtrip(&t.b, what, "tiff", store, slen, s0, 0, &o);
		size_t xl = strlen(XMP_PACKET);
		CHECK(o.xmp && o.xmp_len == xl && !memcmp(o.xmp, XMP_PACKET, xl), "%s: xmp", what);
		CHECK(o.exif && !memcmp(o.exif, le ? "II*\0" : "MM\0*", 4), "%s: exif header", what);
		CHECK_INT(veto_exif_orientation(o.exif, o.exif_len), 6, "%s: orientation", what);
		CHECK(mem_has(o.exif, o.exif_len, "2024:01:02 03:04:05", 20),
		      "%s: EXIF IFD not copied", what);
		CHECK(o.exif_len < 1024, "%s: exif of %zu bytes holds more than IFD0", what,
		      o.exif_len);
		prov_assets_free(&o);
		keep_sample(what, &t.b, 1);
		free(t.b.p);
	}
	/* two pages: the store in the last page's IFD is read */
	tw t;
	size_t s0, s1;
	prov_assets o;
	build_tiff(&t, 1, 0, store, slen, 2, 0, &s0, &s1);
	check_roundtrip(&t.b, "lastpage.tif", "tiff", store, slen, s1, 0, &o);
	prov_assets_free(&o);
	free(t.b.p);
	/* stores in both: the last page's wins, the other is counted */
	build_tiff(&t, 0, 0, store, slen, 3, 0, &s0, &s1);
	check_roundtrip(&t.b, "bothpages.tif", "tiff", store, slen, s1, 1, &o);
	CHECK_INT(o.jumbf_stores, 2, "bothpages.tif: stores");
	prov_assets_free(&o);
	free(t.b.p);
	/* IFD1 points back to IFD0 */
	build_tiff(&t, 1, 1, store, slen, 1, 1, &s0, &s1);
	check_roundtrip(&t.b, "loop.tif", "tiff", store, slen, s0, 1, &o);
	CHECK(has_problem(&o, "loops back"), "loop.tif: loop not reported");
	prov_assets_free(&o);
	keep_sample("loop.tif", &t.b, 1);
	free(t.b.p);
}

/* ------------------------------------------------------------- JPEG */

static void jseg(buf *b, unsigned marker, const void *p, size_t n)
{
	put8(b, 0xff);
	put8(b, marker);
	be16(b, (unsigned)(n + 2));
	put(b, p, n);
}

/* The store as APP11 segments of at most `piece` box bytes, instance en;
 * `swap`: exchange the 2nd and 3rd segments. Returns the first box byte's
 * offset. hdr: 8, or 16 when the store has an XLBox. */
static size_t app11_store(buf *b, const uint8_t *store, size_t slen, size_t piece, unsigned en,
                          int swap, size_t hdr, const buf *between)
{
	size_t first = 0;
	size_t nseg = (slen + piece - 1) / piece;
	for (size_t k = 0; k < nseg; k++) {
		size_t idx = k;
		if (swap && k == 1)
			idx = 2;
		else if (swap && k == 2)
			idx = 1;
		size_t off = idx * piece, len = slen - off < piece ? slen - off : piece;
		buf s = { 0 };
		put(&s, "JP", 2);
		be16(&s, en);
		be32(&s, (uint32_t)(idx + 1));
		if (idx > 0)
			put(&s, store, hdr);
		put(&s, store + off, len);
		if (k == 0)
			first = b->n + 4 + 8;
		jseg(b, 0xeb, s.p, s.n);
		free(s.p);
		if (k == 0 && between)
			put(b, between->p, between->n);
	}
	return first;
}

static void jpeg_head(buf *b)
{
	put(b, "\xff\xd8", 2);
	jseg(b, 0xe0, "JFIF\0\1\1\0\0\1\0\1\0\0", 14);
}

static void jpeg_tail(buf *b)
{
	/* SOS, entropy data with a stuffed zero, RST0 and fill bytes, EOI */
	jseg(b, 0xda, "\1\1\0\0\x3f\0", 6);
	put(b, "\x12\x34\xff\x00\x56\xff\xd0\x78\xff\xff\xff\xd9", 12);
}

static void test_jpeg(const uint8_t *store, size_t slen)
{
	size_t xl = strlen(XMP_PACKET);
	/* the extended XMP: 3000 bytes in two segments, the second first */
	uint8_t ext[3000];
	for (size_t i = 0; i < sizeof ext; i++)
		ext[i] = (uint8_t)('a' + i % 26);
	const char *guid = "0123456789ABCDEF0123456789ABCDEF";
	buf b = { 0 };
	jpeg_head(&b);
	buf ex = { 0 };
	put(&ex, "Exif\0\0", 6);
	put(&ex, small_tiff, sizeof small_tiff);
	jseg(&b, 0xe1, ex.p, ex.n);
	buf xs = { 0 };
	put(&xs, "http://ns.adobe.com/xap/1.0/\0", 29);
	put(&xs, XMP_PACKET, xl);
	jseg(&b, 0xe1, xs.p, xs.n);
	for (int half = 1; half >= 0; half--) {
		buf e = { 0 };
		put(&e, "http://ns.adobe.com/xmp/extension/\0", 35);
		put(&e, guid, 32);
		be32(&e, sizeof ext);
		be32(&e, half ? 1500 : 0);
		put(&e, ext + (half ? 1500 : 0), 1500);
		jseg(&b, 0xe1, e.p, e.n);
		free(e.p);
	}
	/* some other JUMBF box (not a C2PA store) between the store's segments */
	buf other = { 0 };
	{
		buf s = { 0 };
		put(&s, "JP\0\x05\0\0\0\1", 8);
		be32(&s, 8 + 8 + 17 + 4);
		puts_(&s, "jumb");
		be32(&s, 8 + 17);
		puts_(&s, "jumd");
		put(&s, "json\0\x11\0\x10\x80\0\0\xaa\0\x38\x9b\x71\0", 17);
		put(&s, "{}  ", 4);
		jseg(&other, 0xeb, s.p, s.n);
		free(s.p);
	}
	size_t soff = app11_store(&b, store, slen, 1000, 0x0007, 0, 8, &other);
	jseg(&b, 0xfe, "made by \xe9t\xe9", 12);
	jpeg_tail(&b);
	prov_assets o;
	check_roundtrip(&b, "built.jpg", "jpeg", store, slen, soff, 0, &o);
	CHECK(o.xmp && o.xmp_len == xl && !memcmp(o.xmp, XMP_PACKET, xl), "built.jpg: xmp");
	CHECK_INT(veto_exif_orientation(o.exif, o.exif_len), 3, "built.jpg: orientation");
	const prov_text *t = find_text(&o, "jpeg:COM", "");
	CHECK(t && !strcmp(t->value, "made by \xc3\xa9t\xc3\xa9"), "built.jpg: COM");
	t = find_text(&o, "jpeg:xmp-extension", guid);
	CHECK(t && t->len == sizeof ext && !memcmp(t->value, ext, sizeof ext),
	      "built.jpg: extended XMP");
	prov_assets_free(&o);
	keep_sample("built.jpg", &b, 1);
	/* bytes after EOI are not looked at */
	put(&b, "\xff\xeb\xff\xff trailing", 13);
	check_roundtrip(&b, "trailing.jpg", "jpeg", store, slen, soff, 0, &o);
	prov_assets_free(&o);
	free(b.p);

	/* a second store (another instance) after the first */
	b = (buf){ 0 };
	jpeg_head(&b);
	soff = app11_store(&b, store, slen, 30000, 0x0211, 0, 8, NULL);
	app11_store(&b, store, slen, 30000, 0x0212, 0, 8, NULL);
	jpeg_tail(&b);
	check_roundtrip(&b, "twostores.jpg", "jpeg", store, slen, soff, 1, &o);
	CHECK(o.jumbf_stores == 2 && has_problem(&o, "another C2PA manifest store"),
	      "twostores.jpg: %d stores", o.jumbf_stores);
	prov_assets_free(&o);
	free(b.p);

	/* packets 2 and 3 swapped: the store ends where the order breaks */
	b = (buf){ 0 };
	jpeg_head(&b);
	app11_store(&b, store, slen, 10000, 0x0211, 1, 8, NULL);
	jpeg_tail(&b);
	scan(b.p, b.n, "swapped.jpg", &o);
	CHECK(has_problem(&o, "packet 3 of the C2PA store, packet 2 was expected") &&
	      has_problem(&o, "repeats packet 2"), "swapped.jpg: order not reported");
	CHECK(o.jumbf_len != slen, "swapped.jpg: store looks whole");
	prov_assets_free(&o);
	free(b.p);

	/* the store with an XLBox: every segment repeats 16 header bytes */
	buf xb = { 0 };
	be32(&xb, 1);
	puts_(&xb, "jumb");
	be64(&xb, slen + 8);
	put(&xb, store + 8, slen - 8);
	b = (buf){ 0 };
	jpeg_head(&b);
	soff = app11_store(&b, xb.p, xb.n, 20000, 0x0211, 0, 16, NULL);
	jpeg_tail(&b);
	check_roundtrip(&b, "xlbox.jpg", "jpeg", xb.p, xb.n, soff, 0, &o);
	prov_assets_free(&o);
	keep_sample("xlbox.jpg", &b, 1);
	free(b.p);
	free(xb.p);
	free(other.p);
	free(ex.p);
	free(xs.p);
}

/* -------------------------------------------------------------- PNG */

static void png_chunk(buf *b, const char *type, const void *p, size_t n)
{
	be32(b, (uint32_t)n);
	size_t at = b->n;
	puts_(b, type);
	put(b, p, n);
	be32(b, (uint32_t)crc32(0, b->p + at, (uInt)(n + 4)));
}

static void zput(buf *b, const void *p, size_t n)
{
	uLongf zl = compressBound((uLong)n);
	uint8_t *z = malloc(zl);
	REQUIRE(z && compress(z, &zl, p, (uLong)n) == Z_OK, "compress");
	put(b, z, zl);
	free(z);
}

static size_t png_start(buf *b)
{
	put(b, "\x89PNG\r\n\x1a\n", 8);
	png_chunk(b, "IHDR", "\0\0\0\1\0\0\0\1\x08\0\0\0\0", 13);
	return b->n;
}

static void png_end(buf *b)
{
	buf z = { 0 };
	zput(&z, "\0\0", 2);
	png_chunk(b, "IDAT", z.p, z.n);
	png_chunk(b, "IEND", "", 0);
	free(z.p);
}

static void test_png(const uint8_t *store, size_t slen)
{
	size_t xl = strlen(XMP_PACKET);
	buf b = { 0 };
	png_start(&b);
	size_t soff = b.n + 8;
	png_chunk(&b, "caBX", store, slen);
	size_t text_at = b.n;
	png_chunk(&b, "tEXt", "Comment\0caf\xe9", 12);
	buf c = { 0 };
	put(&c, "parameters\0\0", 12);
	zput(&c, "steps: 20", 9);
	png_chunk(&b, "zTXt", c.p, c.n);
	c.n = 0;
	put(&c, "XML:com.adobe.xmp\0\1\0\0\0", 22);
	zput(&c, XMP_PACKET, xl);
	png_chunk(&b, "iTXt", c.p, c.n);
	c.n = 0;
	put(&c, "Title\0\0\0en\0Titel\0gr\xc3\xb6\xc3\x9f" "e", 24);
	png_chunk(&b, "iTXt", c.p, c.n);
	png_chunk(&b, "eXIf", small_tiff, sizeof small_tiff);
	png_end(&b);
	prov_assets o;
	check_roundtrip(&b, "built.png", "png", store, slen, soff, 0, &o);
	CHECK(o.xmp && o.xmp_len == xl && !memcmp(o.xmp, XMP_PACKET, xl), "built.png: xmp");
	CHECK(o.exif && o.exif_len == sizeof small_tiff, "built.png: exif");
	const prov_text *t = find_text(&o, "png:tEXt", "Comment");
	CHECK(t && !strcmp(t->value, "caf\xc3\xa9") && t->len == 5, "built.png: tEXt Latin-1");
	t = find_text(&o, "png:zTXt", "parameters");
	CHECK(t && !strcmp(t->value, "steps: 20"), "built.png: zTXt");
	t = find_text(&o, "png:iTXt", "Title");
	CHECK(t && !strcmp(t->value, "gr\xc3\xb6\xc3\x9f" "e"), "built.png: iTXt");
	CHECK_INT(o.ntexts, 3, "built.png: texts");
	prov_assets_free(&o);
	keep_sample("built.png", &b, 1);

	/* a bad CRC on tEXt: reported, the chunk skipped; on caBX: reported, read */
	buf bad = { 0 };
	put(&bad, b.p, b.n);
	bad.p[text_at + 8 + 12] ^= 1;
	bad.p[soff + slen] ^= 1;
	scan(bad.p, bad.n, "badcrc.png", &o);
	CHECK(has_problem(&o, "tEXt chunk at") && has_problem(&o, "caBX chunk at") &&
	      o.nproblems == 2, "badcrc.png: %zu problems", o.nproblems);
	CHECK(!find_text(&o, "png:tEXt", "Comment"), "badcrc.png: bad tEXt used");
	CHECK(o.jumbf_len == slen, "badcrc.png: caBX not read");
	prov_assets_free(&o);
	free(bad.p);

	/* a zTXt that inflates past the text cap */
	bad = (buf){ 0 };
	png_start(&bad);
	size_t big = PROV_MAX_TEXT + 4096;
	uint8_t *zeros = calloc(1, big);
	REQUIRE(zeros, "out of memory");
	c.n = 0;
	put(&c, "bomb\0\0", 6);
	zput(&c, zeros, big);
	free(zeros);
	png_chunk(&bad, "zTXt", c.p, c.n);
	png_end(&bad);
	scan(bad.p, bad.n, "bomb.png", &o);
	CHECK(o.ntexts == 0 && has_problem(&o, "inflates past"), "bomb.png: cap not applied");
	prov_assets_free(&o);
	free(bad.p);

	/* two caBX chunks */
	bad = (buf){ 0 };
	png_start(&bad);
	png_chunk(&bad, "caBX", store, slen);
	png_chunk(&bad, "caBX", store, slen);
	png_end(&bad);
	scan(bad.p, bad.n, "two.png", &o);
	CHECK(o.jumbf_stores == 2 && o.jumbf_offset == 41 && o.nproblems == 1,
	      "two.png: %d stores", o.jumbf_stores);
	prov_assets_free(&o);
	free(bad.p);
	free(c.p);
	free(b.p);
}

/* ------------------------------------------------------------- BMFF */

static void test_bmff(const uint8_t *store, size_t slen)
{
	static const uint8_t c2pa_box_uuid[16] = {
		0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c,
		0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81 };
	static const uint8_t xmp_box_uuid[16] = {
		0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8,
		0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac };
	size_t xl = strlen(XMP_PACKET);
	for (int update = 0; update < 2; update++) {
		buf b = { 0 };
		be32(&b, 20);
		put(&b, "ftypheic\0\0\0\0mif1", 16);
		/* a merkle box first: not a store */
		be32(&b, 8 + 16 + 4 + 7 + 3);
		puts_(&b, "uuid");
		put(&b, c2pa_box_uuid, 16);
		put(&b, "\0\0\0\0merkle\0\xa0\xa0\xa0", 14);
		/* the store, with a 64-bit size */
		be32(&b, 1);
		puts_(&b, "uuid");
		be64(&b, 16 + 16 + 4 + 9 + 8 + slen);
		put(&b, c2pa_box_uuid, 16);
		put(&b, "\0\0\0\0manifest\0", 13);
		be64(&b, 0);
		size_t soff = b.n;
		put(&b, store, slen);
		if (update) {
			be32(&b, 8 + 16 + 4 + 7 + 8 + 4);
			puts_(&b, "uuid");
			put(&b, c2pa_box_uuid, 16);
			put(&b, "\0\0\0\0update\0", 11);
			be64(&b, 0);
			put(&b, "abcd", 4);
		}
		be32(&b, (uint32_t)(8 + 16 + xl));
		puts_(&b, "uuid");
		put(&b, xmp_box_uuid, 16);
		put(&b, XMP_PACKET, xl);
		be32(&b, 0); /* mdat to the end of the file */
		puts_(&b, "mdat");
		put(&b, "pixels", 6);
		const char *what = update ? "update.heic" : "built.heic";
		prov_assets o;
		check_roundtrip(&b, what, "bmff", store, slen, soff, update, &o);
		CHECK(o.xmp && o.xmp_len == xl && !memcmp(o.xmp, XMP_PACKET, xl), "%s: xmp", what);
		if (update)
			CHECK(has_problem(&o, "update manifest store"), "%s: update not reported", what);
		prov_assets_free(&o);
		if (!update)
			keep_sample(what, &b, 0); /* the mdat runs to the end: cuts do not show */
		free(b.p);
	}
}

static void test_unknown(void)
{
	prov_assets o;
	veto_error err;
	const char *inputs[] = { "", "hello world, not an image", "\xff\xd8", "RIFF\0\0\0\0WAVE" };
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		memset(&err, 0, sizeof err);
		int rc = prov_scan((const uint8_t *)inputs[i], strlen(inputs[i]), "upload.bin", &o, &err);
		CHECK_INT(rc, VETO_ERR_FORMAT, "input %zu", i);
		CHECK_STR(err.message, "upload.bin: not a JPEG, PNG, WebP, GIF, TIFF, ISO BMFF file or "
		          "C2PA manifest store", "input %zu", i);
		CHECK(!o.jumbf && !o.problems, "input %zu", i);
		prov_assets_free(&o);
	}
	memset(&err, 0, sizeof err);
	CHECK_INT(prov_scan(NULL, 0, NULL, &o, &err), VETO_ERR_FORMAT, "NULL input");
	CHECK(strstr(err.message, "<buffer>") != NULL, "NULL name: %s", err.message);
	prov_assets_free(&o);
	/* each scanner refuses the others' formats */
	static const uint8_t png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	CHECK_INT(prov_scan_jpeg(png, 8, "x", &o, &err), VETO_ERR_FORMAT, "jpeg scanner on PNG");
	CHECK_INT(prov_scan_gif(png, 8, "x", &o, &err), VETO_ERR_FORMAT, "gif scanner on PNG");
	CHECK_INT(prov_scan_tiff(png, 8, "x", &o, &err), VETO_ERR_FORMAT, "tiff scanner on PNG");
	CHECK_INT(prov_scan_bmff(png, 8, "x", &o, &err), VETO_ERR_FORMAT, "bmff scanner on PNG");
	CHECK_INT(prov_scan_riff(png, 8, "x", &o, &err), VETO_ERR_FORMAT, "riff scanner on PNG");
	CHECK_INT(prov_scan_raw(png, 8, "x", &o, &err), VETO_ERR_FORMAT, "raw scanner on PNG");
	CHECK_INT(prov_scan_png((const uint8_t *)"GIF89a", 6, "x", &o, &err), VETO_ERR_FORMAT,
	          "png scanner on GIF");
}

/* ------------------------------------------------ 3. damaged copies */

static void test_damage(const sample *s)
{
	prov_assets o;
	int rc = scan(s->d, s->n, s->name, &o);
	uint64_t soff = rc == VETO_OK && o.jumbf ? o.jumbf_offset : s->n / 2;
	size_t slen = rc == VETO_OK ? o.jumbf_len : 0;
	prov_assets_free(&o);

	size_t cuts[] = { 1, 2, 3, 4, 7, 8, 12, 13, 16, 20, 33, 64, s->n / 4, s->n / 3, s->n / 2,
	                  2 * s->n / 3, s->n - 13, s->n - 2, s->n - 1, (size_t)soff + 1,
	                  (size_t)soff + slen / 2 };
	uint8_t *copy = malloc(s->n);
	REQUIRE(copy, "out of memory");
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		size_t n = cuts[k];
		if (n == 0 || n >= s->n)
			continue;
		uint8_t *t = malloc(n); /* exactly n bytes: ASan sees any read past them */
		REQUIRE(t, "out of memory");
		memcpy(t, s->d, n);
		char what[128];
		snprintf(what, sizeof what, "%s[:%zu]", s->name, n);
		rc = scan(t, n, what, &o);
		if (s->trunc_shows)
			CHECK(rc != VETO_OK || o.nproblems > 0, "%s: truncation not reported", what);
		prov_assets_free(&o);
		free(t);
	}
	/* single bytes changed: the first 48, some spread out, around the store */
	size_t pos[160];
	int np = 0;
	for (size_t i = 0; i < 48 && i < s->n; i++)
		pos[np++] = i;
	for (int i = 1; i <= 64; i++)
		pos[np++] = (size_t)((double)s->n * i / 65.0);
	for (int i = -16; i < 16; i++)
		if ((int64_t)soff + i >= 0 && soff + (uint64_t)(int64_t)i < s->n)
			pos[np++] = (size_t)((int64_t)soff + i);
	int is_png = s->n > 8 && !memcmp(s->d, "\x89PNG", 4);
	memcpy(copy, s->d, s->n);
	for (int k = 0; k < np; k++) {
		size_t p = pos[k];
		if (p >= s->n)
			continue;
		uint8_t orig = copy[p];
		const uint8_t vals[4] = { 0x00, 0xff, (uint8_t)(orig ^ 0x01), (uint8_t)(orig ^ 0x80) };
		for (int v = 0; v < 4; v++) {
			if (vals[v] == orig)
				continue;
			copy[p] = vals[v];
			char what[128];
			snprintf(what, sizeof what, "%s@%zu=%02x", s->name, p, vals[v]);
			rc = scan(copy, s->n, what, &o);
			/* in a PNG every byte after the signature is under a CRC or a length */
			if (is_png && p >= 8)
				CHECK(rc != VETO_OK || o.nproblems > 0, "%s: change not reported", what);
			prov_assets_free(&o);
		}
		copy[p] = orig;
	}
	free(copy);
}

int main(int argc, char **argv)
{
	const char *dir = testdata_dir(argc, argv);
	for (size_t i = 0; i < NFIX; i++)
		test_fixture(dir, &fixtures[i]);
	test_fixture_texts(dir);

	/* C.jpg's store, taken by hand (one APP11 segment at offset 20) */
	char *path = path_join(dir, "provenance/c2pa/C.jpg");
	size_t n, slen;
	uint8_t *cjpg = slurp(path, &n);
	uint8_t *store = jpeg_store_by_hand(cjpg, n, &slen);
	REQUIRE(store && slen == 45872 && is_c2pa_store(store, slen), "C.jpg's store");
	test_webp(store, slen);
	test_gif(store, slen);
	test_tiff(store, slen);
	test_jpeg(store, slen);
	test_png(store, slen);
	test_bmff(store, slen);
	test_unknown();

	for (size_t i = 0; i < NFIX; i++) {
		char *p = path_join(dir, fixtures[i].path);
		sample s;
		snprintf(s.name, sizeof s.name, "%s", strrchr(fixtures[i].path, '/') + 1);
		s.d = slurp(p, &s.n);
		/* none of the cuts falls on a top-level box boundary of the BMFF
		 * fixtures, where a cut file would be a valid file */
		s.trunc_shows = 1;
		test_damage(&s);
		free(s.d);
		free(p);
	}
	/* VETO_PROV_SAMPLES=dir: also write the built containers there (seeds
	 * for the fuzz_<container> targets) */
	const char *sd = getenv("VETO_PROV_SAMPLES");
	for (int i = 0; sd && *sd && i < nsamples; i++) {
		char *p = path_join(sd, samples[i].name);
		spit(p, samples[i].d, samples[i].n);
		free(p);
	}
	for (int i = 0; i < nsamples; i++) {
		test_damage(&samples[i]);
		free(samples[i].d);
	}
	free(store);
	free(cjpg);
	free(path);
	return check_exit("test_prov_container");
}
