/*
 * test_prov_meta.c - unsigned metadata evidence (lib/prov_meta.h): XMP,
 * EXIF and the generator records of Stable Diffusion front ends.
 *
 * argv[1] is the shared test data directory. The genmeta fixtures come
 * from sd-parsers' test resources; the values checked here were read off
 * the fixture bytes themselves (tEXt chunks, the UTF-16 UserComment, the
 * decoded stealth payload). Until the container scanner exists the test
 * pulls PNG text chunks, JPEG APP1 segments and pixels out of the files
 * with the small helpers below (libpng decodes the stealth image).
 *
 * The hostile half feeds truncations, bit flips and hand-made traps (IFD
 * loops, huge counts, entity bombs, deep nesting, oversized stealth
 * lengths) and checks that each gives a problem line, not a crash.
 */
#include "check.h"
#include "prov_meta.h"

#include <jansson.h>
#include <png.h>
#include <zlib.h>

static const char *td;

/* --------------------------------------------------------------- helpers */

static uint8_t *load(const char *rel, size_t *n)
{
	char *p = path_join(td, rel);
	uint8_t *b = slurp(p, n);
	free(p);
	return b;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PNG text chunks as prov_text records (tEXt, zTXt, iTXt). */
typedef struct texts {
	prov_text v[64];
	size_t n;
} texts;

static void texts_free(texts *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	t->n = 0;
}

static char *inflate_all(const uint8_t *p, size_t n, size_t *outn)
{
	size_t cap = n * 8 + 1024;
	char *o = malloc(cap + 1);
	REQUIRE(o, "oom");
	uLongf got = cap;
	REQUIRE(uncompress((Bytef *)o, &got, p, n) == Z_OK, "bad compressed text chunk");
	o[got] = 0;
	*outn = got;
	return o;
}

static void png_texts(const uint8_t *b, size_t n, texts *t)
{
	t->n = 0;
	REQUIRE(n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8), "not a PNG");
	size_t p = 8;
	while (p + 12 <= n) {
		uint32_t len = be32(b + p);
		REQUIRE(len <= n - p - 12, "PNG chunk runs past the end");
		const uint8_t *d = b + p + 8;
		int text = !memcmp(b + p + 4, "tEXt", 4), z = !memcmp(b + p + 4, "zTXt", 4),
		    it = !memcmp(b + p + 4, "iTXt", 4);
		if ((text || z || it) && t->n < 64) {
			const uint8_t *nul = memchr(d, 0, len);
			REQUIRE(nul, "text chunk without key");
			prov_text *r = &t->v[t->n++];
			size_t kl = (size_t)(nul - d);
			r->key = strndup((const char *)d, kl);
			const uint8_t *v = nul + 1;
			size_t vl = len - kl - 1;
			if (text) {
				r->where = "png:tEXt";
				r->value = strndup((const char *)v, vl);
				r->len = vl;
			} else if (z) {
				r->where = "png:zTXt";
				r->value = inflate_all(v + 1, vl - 1, &r->len);
			} else {
				r->where = "png:iTXt";
				int comp = v[0];
				const uint8_t *q = v + 2, *end = d + len;
				q = memchr(q, 0, (size_t)(end - q)) + 1; /* language */
				q = memchr(q, 0, (size_t)(end - q)) + 1; /* translated key */
				if (comp) {
					r->value = inflate_all(q, (size_t)(end - q), &r->len);
				} else {
					r->len = (size_t)(end - q);
					r->value = strndup((const char *)q, r->len);
				}
			}
		}
		p += 12 + len;
	}
}

/* First APP1 segment whose payload starts with sig (payload after sig). */
static const uint8_t *jpeg_app1(const uint8_t *b, size_t n, const char *sig, size_t siglen,
                                size_t *outn)
{
	size_t p = 2;
	while (p + 4 <= n && b[p] == 0xFF) {
		unsigned m = b[p + 1];
		if (m == 0xDA || m == 0xD9)
			break;
		size_t len = (size_t)b[p + 2] << 8 | b[p + 3];
		if (m == 0xE1 && len >= 2 + siglen && p + 2 + len <= n && !memcmp(b + p + 4, sig, siglen)) {
			*outn = len - 2 - siglen;
			return b + p + 4 + siglen;
		}
		p += 2 + len;
	}
	return NULL;
}

static uint8_t *png_rgba(const uint8_t *b, size_t n, uint32_t *w, uint32_t *h)
{
	png_image img;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	REQUIRE(png_image_begin_read_from_memory(&img, b, n), "libpng: %s", img.message);
	img.format = PNG_FORMAT_RGBA;
	uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
	REQUIRE(px, "oom");
	REQUIRE(png_image_finish_read(&img, NULL, px, 0, NULL), "libpng: %s", img.message);
	*w = img.width;
	*h = img.height;
	return px;
}

static const prov_meta_item *find(const prov_meta *m, const char *kind, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].kind, kind) && !strcmp(m->v[i].name, name))
			return &m->v[i];
	return NULL;
}

static size_t count_kind(const prov_meta *m, const char *kind)
{
	size_t c = 0;
	for (size_t i = 0; i < m->n; i++)
		c += !strcmp(m->v[i].kind, kind);
	return c;
}

static int has_problem(const prov_meta *m, const char *needle)
{
	for (size_t i = 0; i < m->nproblems; i++)
		if (strstr(m->problems[i], needle))
			return 1;
	return 0;
}

static void dump_problems(const prov_meta *m, const char *ctx)
{
	for (size_t i = 0; i < m->nproblems; i++)
		fprintf(stderr, "  [%s] problem: %s\n", ctx, m->problems[i]);
}

/* detail_json[key] as a string ("" if absent; static buffer). */
static const char *det(const prov_meta_item *it, const char *key)
{
	static char buf[70000];
	buf[0] = 0;
	if (!it || !it->detail_json)
		return buf;
	json_error_t e;
	json_t *j = json_loads(it->detail_json, 0, &e);
	if (!j) {
		fprintf(stderr, "detail_json does not parse: %s\n", it->detail_json);
		return buf;
	}
	const char *s = json_string_value(json_object_get(j, key));
	if (s)
		snprintf(buf, sizeof buf, "%s", s);
	json_decref(j);
	return buf;
}

static int starts(const char *s, const char *pre)
{
	return s && !strncmp(s, pre, strlen(pre));
}

/* Every string handed out must be valid UTF-8 with no NUL. */
static int utf8_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		int k = *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC2 ? 1 : -1;
		if (k < 0 || *p > 0xF4)
			return 0;
		for (int i = 1; i <= k; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += k + 1;
	}
	return 1;
}

static void check_wellformed(const prov_meta *m, const char *ctx)
{
	for (size_t i = 0; i < m->n; i++) {
		const prov_meta_item *it = &m->v[i];
		CHECK(it->kind && it->name && it->value && it->source, "%s: item %zu has NULL", ctx, i);
		if (!it->name || !it->value || !it->source)
			continue;
		CHECK(utf8_ok(it->name) && utf8_ok(it->value) && utf8_ok(it->source),
		      "%s: item %zu not UTF-8", ctx, i);
		CHECK(strlen(it->value) <= PROV_META_MAX_VALUE, "%s: value over cap", ctx);
		if (it->detail_json) {
			json_error_t e;
			json_t *j = json_loads(it->detail_json, 0, &e);
			CHECK(json_is_object(j), "%s: detail_json not an object: %s", ctx, it->detail_json);
			json_decref(j);
		}
	}
	CHECK(m->nproblems <= PROV_META_MAX_PROBLEMS, "%s: too many problems", ctx);
	for (size_t i = 0; i < m->nproblems; i++)
		CHECK(utf8_ok(m->problems[i]), "%s: problem not UTF-8", ctx);
}

/* Runs the generators over a PNG fixture's text chunks. */
static void gen_png(const char *file, prov_meta *m)
{
	char rel[256];
	snprintf(rel, sizeof rel, "provenance/genmeta/%s", file);
	size_t n;
	uint8_t *b = load(rel, &n);
	texts t;
	png_texts(b, n, &t);
	veto_error err = {0};
	CHECK_INT(prov_meta_generators(t.v, t.n, m, &err), VETO_OK, "%s: %s", file, err.message);
	check_wellformed(m, file);
	texts_free(&t);
	free(b);
}

/* The one generator item, checked to be `tool`, ai, from `source`. */
static const prov_meta_item *one_generator(const prov_meta *m, const char *file, const char *tool,
                                           const char *source)
{
	CHECK_INT(count_kind(m, "generator"), 1, "%s: generator items", file);
	const prov_meta_item *it = find(m, "generator", tool);
	CHECK(it != NULL, "%s: no %s item", file, tool);
	if (!it)
		return NULL;
	CHECK_INT(it->ai, 1, "%s: ai", file);
	CHECK_STR(it->source, source, "%s: source", file);
	CHECK_INT(m->nproblems, 0, "%s: problems", file);
	dump_problems(m, file);
	return it;
}

#define DET(it, key, want) CHECK_STR(det(it, key), want, "detail %s", key)
#define DET_PREFIX(it, key, want) \
	CHECK(starts(det(it, key), want), "detail %s = \"%s\", want prefix \"%s\"", key, det(it, key), want)

/* ------------------------------------------------------ genmeta fixtures */

static void test_a1111_png(void)
{
	prov_meta m = {0};
	gen_png("automatic1111_cropped.png", &m);
	const prov_meta_item *it = one_generator(&m, "a1111 png", "AUTOMATIC1111", "png:tEXt:parameters");
	CHECK(starts(it ? it->value : NULL, "photo of a duck\nNegative prompt: monochrome\nSteps: 15"),
	      "value");
	DET(it, "prompt", "photo of a duck");
	DET(it, "negative_prompt", "monochrome");
	DET(it, "steps", "15");
	DET(it, "sampler", "UniPC");
	DET(it, "cfg_scale", "5");
	DET(it, "seed", "235284042");
	DET(it, "size", "512x400");
	DET(it, "model", "realistic_realisticVisionV20_v20");
	DET(it, "model_hash", "c0d1994c73");
	prov_meta_free(&m);
	CHECK(m.n == 0 && m.v == NULL && m.problems == NULL, "free zeroes");
}

static void test_a1111_jpeg(void)
{
	size_t n, tn;
	uint8_t *b = load("provenance/genmeta/automatic1111_cropped.jpg", &n);
	const uint8_t *tiff = jpeg_app1(b, n, "Exif\0\0", 6, &tn);
	REQUIRE(tiff, "no EXIF in the A1111 JPEG");
	CHECK(!memcmp(tiff, "MM\0*", 4), "A1111 JPEG EXIF is big-endian");
	prov_meta m = {0};
	veto_error err = {0};
	CHECK_INT(prov_meta_exif(tiff, tn, &m, &err), VETO_OK, "%s", err.message);
	check_wellformed(&m, "a1111 jpeg");
	const prov_meta_item *uc = find(&m, "exif", "exif:UserComment");
	CHECK(uc != NULL, "no UserComment item");
	if (uc) {
		CHECK_STR(uc->source, "exif:0x9286", "UserComment source");
		CHECK(starts(uc->value, "photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC"),
		      "UserComment value \"%s\"", uc->value);
		CHECK(strstr(uc->value, "Model: realistic_realisticVisionV20_v20") != NULL,
		      "UserComment ends with the model");
		CHECK_INT(uc->ai, 0, "the EXIF item itself");
	}
	const prov_meta_item *it = one_generator(&m, "a1111 jpeg", "AUTOMATIC1111", "exif:0x9286");
	DET(it, "prompt", "photo of a duck");
	DET(it, "negative_prompt", "monochrome");
	DET(it, "seed", "235284042");
	DET(it, "steps", "15");
	DET(it, "model", "realistic_realisticVisionV20_v20");
	prov_meta_free(&m);

	/* the same block with its TIFF header flipped to II but the text still
	 * UTF-16BE (what a careless re-writer might do): the bytes win */
	uint8_t *c = malloc(tn);
	REQUIRE(c, "oom");
	memcpy(c, tiff, tn);
	/* rewrite every multi-byte field little-endian: header, IFD0 (1 entry),
	 * Exif IFD (1 entry) - the layout read off the fixture */
	c[0] = c[1] = 'I';
	c[2] = 42, c[3] = 0;
	c[4] = 8, c[5] = c[6] = c[7] = 0;
	uint8_t ifd0[] = {1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 0x1a, 0, 0, 0, 0, 0, 0, 0};
	memcpy(c + 8, ifd0, sizeof ifd0);
	uint32_t cnt = be32(tiff + 0x1a + 2 + 4);
	uint8_t ifd1[] = {1, 0, 0x86, 0x92, 7, 0, (uint8_t)cnt, (uint8_t)(cnt >> 8), 0, 0, 0x28, 0, 0, 0};
	memcpy(c + 0x1a, ifd1, sizeof ifd1);
	CHECK_INT(prov_meta_exif(c, tn, &m, &err), VETO_OK, "II copy");
	uc = find(&m, "exif", "exif:UserComment");
	CHECK(uc && starts(uc->value, "photo of a duck"), "II header, BE text: \"%s\"",
	      uc ? uc->value : "(none)");
	CHECK(find(&m, "generator", "AUTOMATIC1111") != NULL, "II copy still infotext");
	prov_meta_free(&m);
	free(c);
	free(b);
}

static void test_stealth(void)
{
	size_t n;
	uint8_t *b = load("provenance/genmeta/automatic1111_stealth.png", &n);
	texts t;
	png_texts(b, n, &t);
	CHECK_INT(t.n, 0, "the stealth fixture has no text chunks");
	uint32_t w, h;
	uint8_t *px = png_rgba(b, n, &w, &h);
	CHECK(w == 64 && h == 64, "stealth fixture is 64x64");
	prov_meta m = {0};
	veto_error err = {0};
	CHECK_INT(prov_meta_stealth(px, w, h, &m, &err), VETO_OK, "%s", err.message);
	check_wellformed(&m, "stealth");
	const prov_meta_item *it = one_generator(&m, "stealth", "AUTOMATIC1111",
	                                         "alpha-stealth:stealth_pngcomp");
	CHECK(starts(it ? it->value : NULL, "a circle\nNegative prompt: a square\nSteps: 20"),
	      "stealth value");
	DET(it, "prompt", "a circle");
	DET(it, "negative_prompt", "a square");
	DET(it, "steps", "20");
	DET(it, "sampler", "Euler");
	DET(it, "scheduler", "Automatic");
	DET(it, "cfg_scale", "7");
	DET(it, "seed", "2015833630");
	DET(it, "model", "realisticVisionV51_v51VAE");
	DET(it, "model_hash", "15012c538f");
	DET(it, "version", "v1.9.4-169-ga30b19dd");
	prov_meta_free(&m);

	/* a plain image says nothing: no item, no problem */
	size_t n2;
	uint8_t *b2 = load("provenance/genmeta/automatic1111_cropped.png", &n2);
	uint32_t w2, h2;
	uint8_t *px2 = png_rgba(b2, n2, &w2, &h2);
	CHECK_INT(prov_meta_stealth(px2, w2, h2, &m, &err), VETO_OK, "plain");
	CHECK(m.n == 0 && m.nproblems == 0, "plain image: nothing");
	prov_meta_free(&m);
	free(px2);
	free(b2);

	/* every crop of the fixture's pixels (column-major: narrower images
	 * lose the payload's tail): never a crash; the full height is needed
	 * for the bit order to survive, so crop widths only */
	for (uint32_t cw = 1; cw <= w; cw++) {
		uint8_t *crop = malloc((size_t)cw * h * 4);
		REQUIRE(crop, "oom");
		for (uint32_t y = 0; y < h; y++)
			memcpy(crop + (size_t)y * cw * 4, px + (size_t)y * w * 4, (size_t)cw * 4);
		CHECK_INT(prov_meta_stealth(crop, cw, h, &m, &err), VETO_OK, "crop %u", cw);
		check_wellformed(&m, "stealth crop");
		/* 15 signature bytes, 4 length bytes, 208 payload bytes */
		if (cw * h < 15 * 8)
			CHECK(m.n == 0 && m.nproblems == 0, "crop %u: no room for a signature", cw);
		else if (cw * h < (15 + 4 + 208) * 8)
			CHECK(m.n == 0 && m.nproblems == 1, "crop %u: payload cut, one problem (%zu items)",
			      cw, m.n);
		else
			CHECK(m.n == 1 && m.nproblems == 0, "crop %u: whole payload", cw);
		prov_meta_free(&m);
		free(crop);
	}
	free(px);
	free(b);
	texts_free(&t);
}

static void test_comfyui(void)
{
	prov_meta m = {0};
	gen_png("img2img_cropped.png", &m);
	const prov_meta_item *it = one_generator(&m, "comfyui", "ComfyUI", "png:tEXt:prompt");
	CHECK(starts(it ? it->value : NULL, "{\"3\": {\"inputs\": {\"seed\": 280823642470253"), "value");
	DET(it, "prompt", "photograph of victorian woman with wings, sky clouds, meadow grass");
	DET(it, "negative_prompt", "watermark, text");
	DET(it, "seed", "280823642470253");
	DET(it, "steps", "20");
	DET(it, "sampler", "sample_dpmpp_2m");
	DET(it, "scheduler", "normal");
	DET(it, "cfg_scale", "8");
	DET(it, "model", "v1-5-pruned-emaonly.ckpt");
	prov_meta_free(&m);
}

static void test_fooocus(void)
{
	prov_meta m = {0};
	gen_png("fooocus1_cropped.png", &m);
	const prov_meta_item *it = one_generator(&m, "fooocus", "Fooocus", "png:tEXt:parameters");
	DET(it, "prompt", "a smiling goldfish");
	DET(it, "model", "juggernautXL_v8Rundiffusion");
	DET(it, "model_hash", "aeb7e9e689");
	DET(it, "seed", "6952411511246973023");
	DET(it, "steps", "30");
	DET(it, "sampler", "dpmpp_2m_sde_gpu");
	DET(it, "scheduler", "karras");
	DET(it, "cfg_scale", "4");
	DET(it, "version", "Fooocus v2.4.3");
	prov_meta_free(&m);
}

static void test_invokeai(void)
{
	prov_meta m = {0};
	gen_png("invokeai_dream1.png", &m);
	const prov_meta_item *it = one_generator(&m, "dream", "InvokeAI", "png:tEXt:Dream");
	DET_PREFIX(it, "prompt", "professional full body photo of young woman, hyper long brunette hair");
	CHECK(strstr(det(it, "prompt"), "low contrast") && !strstr(det(it, "prompt"), "["),
	      "dream prompt without the negative part: %s", det(it, "prompt"));
	DET(it, "negative_prompt", "rendering, glowing eyes, skinny");
	DET(it, "steps", "50");
	DET(it, "seed", "2980747362");
	DET(it, "cfg_scale", "5");
	DET(it, "sampler", "k_lms");
	DET(it, "size", "512x768");
	prov_meta_free(&m);

	gen_png("invokeai_imeta1.png", &m);
	it = one_generator(&m, "imeta", "InvokeAI", "png:tEXt:invokeai_metadata");
	DET(it, "prompt", "digital artwork, oil painting. painterly brushstrokes, holidays,");
	DET_PREFIX(it, "negative_prompt", "grainy+, photo, oversaturated");
	DET(it, "seed", "3293022630");
	DET(it, "steps", "35");
	DET(it, "sampler", "euler");
	DET(it, "cfg_scale", "8");
	DET(it, "model", "juggernautXL");
	DET(it, "generation_mode", "sdxl_txt2img");
	DET(it, "size", "1024x1024");
	prov_meta_free(&m);

	/* Dream + sd-metadata: one item, from the richer record */
	gen_png("invokeai_sdmeta1.png", &m);
	it = one_generator(&m, "sdmeta", "InvokeAI", "png:tEXt:sd-metadata");
	DET_PREFIX(it, "prompt", "professional full body photo of young woman");
	DET(it, "negative_prompt", "rendering, glowing eyes, skinny");
	DET(it, "model", "deliberateForInvoke_v08");
	DET_PREFIX(it, "model_hash", "56d1442a0feefd64");
	DET(it, "seed", "2980747362");
	DET(it, "steps", "50");
	DET(it, "sampler", "k_lms");
	DET(it, "version", "2.3.0");
	DET(it, "app_id", "invoke-ai/InvokeAI");
	prov_meta_free(&m);
}

static void test_novelai(void)
{
	prov_meta m = {0};
	gen_png("novelai1_cropped.png", &m);
	const prov_meta_item *it = one_generator(&m, "novelai", "NovelAI", "png:tEXt:Comment");
	DET(it, "prompt", "masterpiece, best quality,  cat, space, icon");
	DET_PREFIX(it, "negative_prompt", "lowres, bad anatomy, bad hands");
	DET(it, "seed", "2253955223");
	DET(it, "steps", "50");
	DET(it, "sampler", "k_euler_ancestral");
	DET(it, "cfg_scale", "10");
	DET(it, "strength", "0.4");
	DET(it, "model", "Stable Diffusion");
	DET(it, "model_hash", "1D44365E");
	prov_meta_free(&m);
}

/* ------------------------------------------------------- generator traps */

static void gen_one(prov_meta *m, const char *where, const char *key, const char *value)
{
	prov_text t = {(char *)key, (char *)value, strlen(value), where};
	veto_error err = {0};
	CHECK_INT(prov_meta_generators(&t, 1, m, &err), VETO_OK, "%s", key);
	check_wellformed(m, key);
}

static void test_generator_traps(void)
{
	prov_meta m = {0};
	/* Python's JSON: NaN, Infinity and a 64-bit seed jansson cannot hold */
	gen_one(&m, "png:tEXt", "prompt",
	        "{\"1\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 18446744073709551615,"
	        " \"steps\": 4, \"cfg\": NaN, \"denoise\": -Infinity, \"sampler_name\": \"euler\","
	        " \"positive\": [\"2\", 0], \"negative\": [\"3\", 0], \"model\": [\"1\", 0]}},"
	        " \"2\": {\"class_type\": \"Combine\", \"inputs\": {\"conditioning\": [\"3\", 0]}},"
	        " \"3\": {\"class_type\": \"Loop\", \"inputs\": {\"conditioning\": [\"2\", 0]}}}");
	const prov_meta_item *it = find(&m, "generator", "ComfyUI");
	CHECK(it != NULL, "ComfyUI graph with NaN parses");
	DET(it, "seed", "18446744073709551615");
	DET(it, "steps", "4");
	DET(it, "prompt", ""); /* the link cycle ends the walk */
	prov_meta_free(&m);

	/* a broken graph that is plainly ComfyUI's: item and problem */
	gen_one(&m, "png:tEXt", "prompt", "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {");
	CHECK(find(&m, "generator", "ComfyUI") != NULL, "broken ComfyUI graph still counts");
	CHECK(has_problem(&m, "not valid JSON"), "broken ComfyUI graph: problem");
	prov_meta_free(&m);

	/* "prompt" that is just text: nothing */
	gen_one(&m, "png:tEXt", "prompt", "a cat on a mat");
	CHECK(m.n == 0 && m.nproblems == 0, "plain prompt text is no finding");
	prov_meta_free(&m);

	/* "parameters" that is not infotext: a problem, no item */
	gen_one(&m, "png:tEXt", "parameters", "hello: world, just: text");
	CHECK(m.n == 0 && has_problem(&m, "not AUTOMATIC1111 infotext"), "bad parameters");
	prov_meta_free(&m);

	/* infotext in a JPEG comment, quoted values with commas and a Hashes
	 * object in the parameter line, and trailing lines after it */
	gen_one(&m, "jpeg:COM", "",
	        "a dog, \"quoted\"\nNegative prompt: blur\n"
	        "Steps: 7, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 3.5, Seed: 42, "
	        "Lora hashes: \"a: 1, b: 2\", Hashes: {\"vae\": \"x, y\", \"model\": \"z\"}, "
	        "Model: m1, Version: f2.0\nTemplate: foo");
	it = find(&m, "generator", "AUTOMATIC1111");
	CHECK(it != NULL, "COM infotext");
	CHECK_STR(it ? it->source : NULL, "jpeg:COM:", "COM source");
	DET(it, "prompt", "a dog, \"quoted\"");
	DET(it, "negative_prompt", "blur");
	DET(it, "steps", "7");
	DET(it, "sampler", "DPM++ 2M");
	DET(it, "scheduler", "Karras");
	DET(it, "seed", "42");
	DET(it, "model", "m1");
	DET(it, "version", "f2.0");
	if (it && it->detail_json)
		CHECK(strstr(it->detail_json, "\"Lora hashes\":\"a: 1, b: 2\"") != NULL,
		      "quoted value kept whole: %s", it->detail_json);
	prov_meta_free(&m);

	/* invalid UTF-8, NULs and a value over the cap */
	size_t big = PROV_META_MAX_VALUE * 2 + 5;
	char *s = malloc(big + 1);
	REQUIRE(s, "oom");
	memset(s, 'a', big);
	memcpy(s, "x\xff\xfe\xc3", 4);
	s[10] = 0;
	const char tail[] = "\nSteps: 1, Sampler: e, Seed: 2";
	memcpy(s + big - sizeof tail + 1, tail, sizeof tail - 1);
	s[big] = 0;
	prov_text t = {"parameters", s, big, "png:iTXt"};
	veto_error err = {0};
	CHECK_INT(prov_meta_generators(&t, 1, &m, &err), VETO_OK, "big");
	check_wellformed(&m, "big");
	it = find(&m, "generator", "AUTOMATIC1111");
	CHECK(it && it->truncated, "big value is cut and flagged");
	DET(it, "seed", "2");
	prov_meta_free(&m);
	free(s);

	/* SwarmUI's JSON parameters */
	gen_one(&m, "png:tEXt", "parameters",
	        "{\"sui_image_params\": {\"prompt\": \"p\", \"seed\": 5, \"model\": \"mm\"}}");
	it = find(&m, "generator", "SwarmUI");
	DET(it, "prompt", "p");
	DET(it, "seed", "5");
	prov_meta_free(&m);

	/* many records: items capped, problems capped, no crash */
	prov_text many[600];
	for (int i = 0; i < 600; i++)
		many[i] = (prov_text){"Comment", "Steps: 1, Sampler: a, Seed: 3", 29, "png:tEXt"};
	CHECK_INT(prov_meta_generators(many, 600, &m, &err), VETO_OK, "many");
	CHECK_INT(m.n, PROV_META_MAX_ITEMS, "items capped");
	CHECK(has_problem(&m, "cap"), "cap problem");
	prov_meta_free(&m);
}

/* --------------------------------------------------------------- stealth */

/* Writes bytes into the alpha (rgb = 0) or RGB LSBs, column-major. */
static void stealth_put(uint8_t *px, uint32_t w, uint32_t h, int rgb, const uint8_t *d, size_t n)
{
	for (size_t bit = 0; bit < n * 8; bit++) {
		int v = d[bit / 8] >> (7 - bit % 8) & 1;
		size_t p = rgb ? bit / 3 : bit;
		unsigned ch = rgb ? (unsigned)(bit % 3) : 3;
		size_t x = p / h, y = p % h;
		REQUIRE(x < w, "stealth test payload too big");
		uint8_t *c = &px[(y * w + x) * 4 + ch];
		*c = (uint8_t)((*c & ~1u) | (unsigned)v);
	}
}

static size_t stealth_record(uint8_t *out, const char *sig, const uint8_t *payload, size_t n,
                             uint32_t bits_override)
{
	memcpy(out, sig, 15);
	uint32_t bits = bits_override ? bits_override : (uint32_t)(n * 8);
	out[15] = (uint8_t)(bits >> 24), out[16] = (uint8_t)(bits >> 16);
	out[17] = (uint8_t)(bits >> 8), out[18] = (uint8_t)bits;
	memcpy(out + 19, payload, n);
	return 19 + n;
}

static void test_stealth_traps(void)
{
	const uint32_t w = 64, h = 53;
	uint8_t *px = malloc((size_t)w * h * 4);
	REQUIRE(px, "oom");
	uint8_t rec[4096];
	prov_meta m = {0};
	veto_error err = {0};

	/* RGB, uncompressed infotext */
	memset(px, 0x80, (size_t)w * h * 4);
	const char *info = "cat\nSteps: 3, Sampler: Euler a, Seed: 9";
	size_t rn = stealth_record(rec, "stealth_rgbinfo", (const uint8_t *)info, strlen(info), 0);
	stealth_put(px, w, h, 1, rec, rn);
	CHECK_INT(prov_meta_stealth(px, w, h, &m, &err), VETO_OK, "rgbinfo");
	const prov_meta_item *it = find(&m, "generator", "AUTOMATIC1111");
	CHECK_STR(it ? it->source : NULL, "rgb-stealth:stealth_rgbinfo", "rgbinfo source");
	DET(it, "prompt", "cat");
	DET(it, "seed", "9");
	prov_meta_free(&m);

	/* alpha, uncompressed NovelAI JSON */
	memset(px, 0xFF, (size_t)w * h * 4);
	const char *nai = "{\"Software\": \"NovelAI\", \"Description\": \"a fox\", \"Source\": "
	                  "\"NovelAI Diffusion V4 ABCD1234\", \"Comment\": \"{\\\"steps\\\": 28, "
	                  "\\\"sampler\\\": \\\"k_euler\\\", \\\"seed\\\": 77, \\\"uc\\\": \\\"bad\\\"}\"}";
	rn = stealth_record(rec, "stealth_pnginfo", (const uint8_t *)nai, strlen(nai), 0);
	stealth_put(px, w, h, 0, rec, rn);
	CHECK_INT(prov_meta_stealth(px, w, h, &m, &err), VETO_OK, "nai");
	it = find(&m, "generator", "NovelAI");
	CHECK(it != NULL, "NovelAI stealth JSON");
	DET(it, "prompt", "a fox");
	DET(it, "seed", "77");
	DET(it, "negative_prompt", "bad");
	DET(it, "model", "NovelAI Diffusion V4");
	DET(it, "model_hash", "ABCD1234");
	prov_meta_free(&m);

	/* a length past the image */
	memset(px, 0xFF, (size_t)w * h * 4);
	rn = stealth_record(rec, "stealth_pngcomp", (const uint8_t *)"xx", 2, 0xFFFFFFF8u);
	stealth_put(px, w, h, 0, rec, rn);
	CHECK_INT(prov_meta_stealth(px, w, h, &m, &err), VETO_OK, "huge length");
	CHECK(m.n == 0 && has_problem(&m, "larger than"), "huge stealth length: problem");
	prov_meta_free(&m);

	/* corrupt gzip */
	memset(px, 0xFF, (size_t)w * h * 4);
	rn = stealth_record(rec, "stealth_pngcomp", (const uint8_t *)"\x1f\x8b\x08\x00garbage!", 12, 0);
	stealth_put(px, w, h, 0, rec, rn);
	CHECK_INT(prov_meta_stealth(px, w, h, &m, &err), VETO_OK, "corrupt gzip");
	CHECK(m.n == 0 && has_problem(&m, "inflate"), "corrupt gzip: problem");
	prov_meta_free(&m);

	/* a gzip bomb: capped, flagged */
	{
		size_t zn = PROV_META_MAX_STEALTH * 2;
		uint8_t *zeros = calloc(zn, 1);
		REQUIRE(zeros, "oom");
		memset(zeros, 'a', zn);
		memcpy(zeros, "Steps: 1, Sampler: s, Seed: 4\n", 30);
		uLongf cn = compressBound(zn);
		uint8_t *cz = malloc(cn);
		REQUIRE(cz && compress(cz, &cn, zeros, zn) == Z_OK, "compress");
		uint32_t bw = 64, bh = (uint32_t)((19 + cn) * 8 / 64 + 2);
		uint8_t *bpx = malloc((size_t)bw * bh * 4);
		uint8_t *brec = malloc(19 + cn);
		REQUIRE(bpx && brec, "oom");
		memset(bpx, 0xFF, (size_t)bw * bh * 4);
		size_t bn = stealth_record(brec, "stealth_pngcomp", cz, cn, 0);
		stealth_put(bpx, bw, bh, 0, brec, bn);
		CHECK_INT(prov_meta_stealth(bpx, bw, bh, &m, &err), VETO_OK, "bomb");
		check_wellformed(&m, "bomb");
		CHECK(has_problem(&m, "more than"), "bomb: cut with a problem");
		it = find(&m, "generator", "AUTOMATIC1111");
		CHECK(it && it->truncated, "bomb: item flagged truncated");
		prov_meta_free(&m);
		free(zeros), free(cz), free(bpx), free(brec);
	}

	/* tiny images */
	for (uint32_t s = 1; s < 12; s++) {
		CHECK_INT(prov_meta_stealth(px, s, 1, &m, &err), VETO_OK, "tiny");
		CHECK_INT(prov_meta_stealth(px, 1, s, &m, &err), VETO_OK, "tiny");
	}
	prov_meta_free(&m);
	CHECK_INT(prov_meta_stealth(NULL, 0, 0, &m, &err), VETO_OK, "null");
	free(px);
}

/* ------------------------------------------------------------------ XMP */

static void xmp(prov_meta *m, const char *s)
{
	veto_error err = {0};
	CHECK_INT(prov_meta_xmp(s, strlen(s), m, &err), VETO_OK, "xmp: %s", err.message);
	check_wellformed(m, "xmp");
}

#define RDF_OPEN                                                                    \
	"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                            \
	"xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
#define RDF_CLOSE "</rdf:RDF></x:xmpmeta>"
#define DST_URI "http://cv.iptc.org/newscodes/digitalsourcetype/"

static void test_xmp(void)
{
	prov_meta m = {0};
	const prov_meta_item *it;

	/* attribute form under an unusual prefix */
	xmp(&m, "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>" RDF_OPEN
	        "<rdf:Description rdf:about=\"\" xmlns:foo=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\""
	        " foo:DigitalSourceType=\"" DST_URI "trainedAlgorithmicMedia\"/>" RDF_CLOSE
	        "<?xpacket end=\"w\"?>\0\0\0");
	it = find(&m, "xmp", "Iptc4xmpExt:DigitalSourceType");
	CHECK(it != NULL, "DST under prefix foo");
	if (it) {
		CHECK_INT(it->ai, 1, "trained is AI");
		CHECK_INT(it->dst, PROV_DST_AI, "dst class");
		CHECK_STR(it->value, DST_URI "trainedAlgorithmicMedia", "value as found");
		CHECK_STR(it->source, "xmp", "source");
		DET(it, "term", "trainedAlgorithmicMedia");
		DET(it, "class", "generative AI (trained model)");
	}
	CHECK_INT(m.nproblems, 0, "clean packet");
	prov_meta_free(&m);

	/* the usual prefix bound to the wrong namespace: not it */
	xmp(&m, RDF_OPEN "<rdf:Description xmlns:Iptc4xmpExt=\"http://example.com/not-iptc/\""
	             " Iptc4xmpExt:DigitalSourceType=\"" DST_URI "trainedAlgorithmicMedia\">"
	             "<Iptc4xmpExt:DigitalSourceType>" DST_URI "trainedAlgorithmicMedia"
	             "</Iptc4xmpExt:DigitalSourceType></rdf:Description>" RDF_CLOSE);
	CHECK_INT(m.n, 0, "wrong namespace is not DigitalSourceType");
	prov_meta_free(&m);

	/* element form, rdf:resource form, default namespace, algorithmic */
	xmp(&m, RDF_OPEN "<rdf:Description><DigitalSourceType "
	             "xmlns=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\">\n  " DST_URI
	             "algorithmicMedia  \n</DigitalSourceType></rdf:Description>" RDF_CLOSE);
	it = find(&m, "xmp", "Iptc4xmpExt:DigitalSourceType");
	CHECK(it && it->ai == 0 && it->dst == PROV_DST_ALGORITHMIC, "algorithmicMedia: not AI, own class");
	CHECK_STR(it ? it->value : NULL, DST_URI "algorithmicMedia", "trimmed value");
	DET(it, "class", "algorithmic (not trained)");
	prov_meta_free(&m);

	xmp(&m, RDF_OPEN "<rdf:Description xmlns:I=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\">"
	             "<I:DigitalSourceType rdf:resource=\"https://cv.iptc.org/newscodes/digitalsourcetype/"
	             "compositeWithTrainedAlgorithmicMedia\"/>"
	             "<I:AISystemUsed>Imagen 3</I:AISystemUsed></rdf:Description>" RDF_CLOSE);
	it = find(&m, "xmp", "Iptc4xmpExt:DigitalSourceType");
	CHECK(it && it->ai == 1, "rdf:resource form, https URI");
	it = find(&m, "xmp", "Iptc4xmpExt:AISystemUsed");
	CHECK(it && it->ai == 1 && !strcmp(it->value, "Imagen 3"), "AISystemUsed");
	prov_meta_free(&m);

	/* digitalCapture is recognised but not AI */
	xmp(&m, RDF_OPEN "<rdf:Description xmlns:I=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\""
	             " I:DigitalSourceType=\"" DST_URI "digitalCapture\"/>" RDF_CLOSE);
	it = find(&m, "xmp", "Iptc4xmpExt:DigitalSourceType");
	CHECK(it && it->ai == 0 && it->dst == PROV_DST_NOT_AI, "digitalCapture");
	prov_meta_free(&m);

	/* dc:creator as a Seq; photoshop:Credit; CreatorTool */
	xmp(&m, RDF_OPEN "<rdf:Description xmlns:dc=\"http://purl.org/dc/elements/1.1/\""
	             " xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\""
	             " xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:CreatorTool=\"Tool 1\">"
	             "<dc:creator>\n <rdf:Seq>\n  <rdf:li>Ann</rdf:li>\n  <rdf:li>Bob</rdf:li>\n"
	             " </rdf:Seq>\n</dc:creator><photoshop:Credit>Made with Google AI</photoshop:Credit>"
	             "</rdf:Description>" RDF_CLOSE);
	it = find(&m, "xmp", "dc:creator");
	CHECK_STR(it ? it->value : NULL, "Ann; Bob", "dc:creator Seq");
	it = find(&m, "xmp", "photoshop:Credit");
	CHECK_STR(it ? it->value : NULL, "Made with Google AI", "Credit");
	it = find(&m, "xmp", "xmp:CreatorTool");
	CHECK_STR(it ? it->value : NULL, "Tool 1", "CreatorTool");
	prov_meta_free(&m);

	/* cloud.jpg: the remote manifest URL */
	size_t n, xn;
	uint8_t *b = load("provenance/c2pa/cloud.jpg", &n);
	const uint8_t *x = jpeg_app1(b, n, "http://ns.adobe.com/xap/1.0/\0", 29, &xn);
	REQUIRE(x, "no XMP in cloud.jpg");
	veto_error err = {0};
	CHECK_INT(prov_meta_xmp((const char *)x, xn, &m, &err), VETO_OK, "cloud.jpg");
	it = find(&m, "xmp", "dcterms:provenance");
	CHECK_STR(it ? it->value : NULL,
	          "https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391",
	          "cloud.jpg dcterms:provenance");
	CHECK_INT(it ? it->ai : -1, 0, "provenance URL is not itself AI");
	it = find(&m, "xmp", "xmp:CreatorTool");
	CHECK_STR(it ? it->value : NULL, "Adobe Photoshop 21.1 (Macintosh)", "cloud.jpg CreatorTool");
	CHECK_INT(m.nproblems, 0, "cloud.jpg XMP is clean");
	dump_problems(&m, "cloud.jpg");
	prov_meta_free(&m);

	/* every truncation of it: problems, never a crash */
	for (size_t k = 0; k < xn; k += 7) {
		CHECK_INT(prov_meta_xmp((const char *)x, k, &m, &err), VETO_OK, "cut");
		check_wellformed(&m, "xmp cut");
		prov_meta_free(&m);
	}
	free(b);

	/* the PNG with XMP in iTXt */
	b = load("provenance/c2pa/libpng-test_with_url.png", &n);
	texts t;
	png_texts(b, n, &t);
	const prov_text *xt = NULL;
	for (size_t i = 0; i < t.n; i++)
		if (!strcmp(t.v[i].key, "XML:com.adobe.xmp"))
			xt = &t.v[i];
	REQUIRE(xt, "no XMP iTXt");
	CHECK_INT(prov_meta_xmp(xt->value, xt->len, &m, &err), VETO_OK, "png xmp");
	it = find(&m, "xmp", "dcterms:provenance");
	CHECK_STR(it ? it->value : NULL, "http://localhost:5000/libpng-test.c2pa", "png provenance");
	prov_meta_free(&m);
	/* and the generators skip it */
	CHECK_INT(prov_meta_generators(t.v, t.n, &m, &err), VETO_OK, "png gen");
	CHECK(m.n == 0 && m.nproblems == 0, "XMP record is not a generator record");
	prov_meta_free(&m);
	texts_free(&t);
	free(b);

	/* Google's XMP in firefly_thirdparty_gemini.png: the DST (and its
	 * retired twin DigitalSourceFileType) and the credit line */
	b = load("provenance/c2pa/firefly_thirdparty_gemini.png", &n);
	png_texts(b, n, &t);
	xt = NULL;
	for (size_t i = 0; i < t.n; i++)
		if (!strcmp(t.v[i].key, "XML:com.adobe.xmp"))
			xt = &t.v[i];
	REQUIRE(xt, "no XMP iTXt in the Gemini PNG");
	CHECK_INT(prov_meta_xmp(xt->value, xt->len, &m, &err), VETO_OK, "gemini xmp");
	it = find(&m, "xmp", "Iptc4xmpExt:DigitalSourceType");
	CHECK(it && it->ai == 1 && it->dst == PROV_DST_AI, "gemini DST is AI");
	it = find(&m, "xmp", "Iptc4xmpExt:DigitalSourceFileType");
	CHECK(it && it->ai == 1, "gemini DigitalSourceFileType is AI");
	it = find(&m, "xmp", "photoshop:Credit");
	CHECK_STR(it ? it->value : NULL, "Made with Google AI", "gemini credit");
	CHECK_INT(m.nproblems, 0, "gemini XMP is clean");
	prov_meta_free(&m);
	texts_free(&t);
	free(b);
}

static void test_xmp_hostile(void)
{
	prov_meta m = {0};

	/* malformed: a problem, and what came before stays */
	xmp(&m, RDF_OPEN "<rdf:Description xmlns:d=\"http://purl.org/dc/terms/\" d:provenance=\"u\">"
	             "<oops></rdf:Description>");
	CHECK(find(&m, "xmp", "dcterms:provenance") != NULL, "found before the error");
	CHECK(has_problem(&m, "not well-formed"), "malformed: problem");
	prov_meta_free(&m);

	xmp(&m, "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF");
	CHECK(m.n == 0 && m.nproblems == 1, "truncated: one problem");
	prov_meta_free(&m);

	xmp(&m, "not xml at all");
	CHECK(m.nproblems == 1, "garbage: problem");
	prov_meta_free(&m);

	xmp(&m, "<a xmlns:b=\"x\"><b:c/></a><trailing/>");
	CHECK(m.nproblems == 1, "two roots: problem");
	prov_meta_free(&m);

	/* billion laughs */
	xmp(&m, "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
	        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	        "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
	        "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
	        "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
	        "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
	        "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
	        "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
	        "]><lolz xmlns:d=\"http://purl.org/dc/terms/\"><d:provenance>&lol9;</d:provenance></lolz>");
	CHECK(m.n == 0 && has_problem(&m, "DOCTYPE"), "billion laughs refused");
	prov_meta_free(&m);

	/* external entity */
	xmp(&m, "<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	        "<a xmlns:d=\"http://purl.org/dc/terms/\"><d:provenance>&e;</d:provenance></a>");
	CHECK(m.n == 0 && has_problem(&m, "DOCTYPE"), "external entity refused");
	prov_meta_free(&m);

	/* an undeclared entity */
	xmp(&m, "<a xmlns:d=\"http://purl.org/dc/terms/\"><d:provenance>&e;</d:provenance></a>");
	CHECK(m.n == 0 && m.nproblems == 1, "undeclared entity: problem");
	prov_meta_free(&m);

	/* deep nesting */
	size_t depth = 100000;
	char *deep = malloc(depth * 7 + 64);
	REQUIRE(deep, "oom");
	size_t w = 0;
	for (size_t i = 0; i < depth; i++)
		w += (size_t)sprintf(deep + w, "<a>");
	for (size_t i = 0; i < depth; i++)
		w += (size_t)sprintf(deep + w, "</a>");
	deep[w] = 0;
	xmp(&m, deep);
	CHECK(has_problem(&m, "nesting"), "deep nesting: problem");
	prov_meta_free(&m);
	free(deep);

	/* many elements */
	size_t many = PROV_META_MAX_XML_NODES + 10;
	char *wide = malloc(many * 4 + 64);
	REQUIRE(wide, "oom");
	w = (size_t)sprintf(wide, "<r>");
	for (size_t i = 0; i < many; i++)
		w += (size_t)sprintf(wide + w, "<a/>");
	w += (size_t)sprintf(wide + w, "</r>");
	xmp(&m, wide);
	CHECK(has_problem(&m, "elements"), "element cap: problem");
	prov_meta_free(&m);
	free(wide);

	/* many matching properties: items capped */
	size_t props = 1000;
	char *lots = malloc(props * 80 + 256);
	REQUIRE(lots, "oom");
	w = (size_t)sprintf(lots, "<r xmlns:d=\"http://purl.org/dc/terms/\">");
	for (size_t i = 0; i < props; i++)
		w += (size_t)sprintf(lots + w, "<d:provenance>u%zu</d:provenance>", i);
	sprintf(lots + w, "</r>");
	xmp(&m, lots);
	CHECK_INT(m.n, PROV_META_MAX_ITEMS, "xmp items capped");
	prov_meta_free(&m);
	free(lots);

	/* a huge value: cut and flagged */
	size_t vn = PROV_META_MAX_VALUE * 3;
	char *hv = malloc(vn + 128);
	REQUIRE(hv, "oom");
	w = (size_t)sprintf(hv, "<d:provenance xmlns:d=\"http://purl.org/dc/terms/\">");
	memset(hv + w, 'u', vn);
	w += vn;
	sprintf(hv + w, "</d:provenance>");
	xmp(&m, hv);
	const prov_meta_item *it = find(&m, "xmp", "dcterms:provenance");
	CHECK(it && it->truncated && strlen(it->value) == PROV_META_MAX_VALUE, "huge XMP value cut");
	prov_meta_free(&m);
	free(hv);

	veto_error err = {0};
	CHECK_INT(prov_meta_xmp(NULL, 0, &m, &err), VETO_OK, "NULL");
	CHECK_INT(prov_meta_xmp("", 0, &m, &err), VETO_OK, "empty");
	CHECK(m.n == 0 && m.nproblems == 0, "nothing from nothing");
}

static void test_dst(void)
{
	const char *term = NULL;
	CHECK_INT(prov_dst_is_ai(DST_URI "trainedAlgorithmicMedia", &term), 1, "http URI");
	CHECK_STR(term, "trainedAlgorithmicMedia", "term");
	CHECK_INT(prov_dst_is_ai("https://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic", &term),
	          1, "https URI");
	CHECK_STR(term, "compositeSynthetic", "term");
	CHECK_INT(prov_dst_is_ai("compositeWithTrainedAlgorithmicMedia", NULL), 1, "bare term");
	CHECK_INT(prov_dst_is_ai("  digsrctype:TrainedAlgorithmicMedia \n", &term), 1, "qcode, case");
	CHECK_INT(prov_dst_is_ai("http://c2pa.org/digitalsourcetype/trainedAlgorithmicData", NULL), 1,
	          "C2PA term");
	CHECK_INT(prov_dst_is_ai(DST_URI "algorithmicMedia", &term), 0, "algorithmicMedia is not AI");
	CHECK_INT(prov_dst_classify(DST_URI "algorithmicMedia", &term), PROV_DST_ALGORITHMIC, "own class");
	CHECK_STR(term, "algorithmicMedia", "term");
	CHECK_STR(prov_dst_class_name(PROV_DST_ALGORITHMIC), "algorithmic (not trained)", "label");
	CHECK_INT(prov_dst_classify("digitalCapture", NULL), PROV_DST_NOT_AI, "digitalCapture");
	CHECK_INT(prov_dst_classify(DST_URI "negativeFilm", NULL), PROV_DST_NOT_AI, "negativeFilm");
	CHECK_INT(prov_dst_classify(DST_URI "algorithmicallyEnhanced", NULL), PROV_DST_NOT_AI, "enhanced");
	CHECK_INT(prov_dst_classify("http://example.com/trainedAlgorithmicMedia", &term), PROV_DST_UNKNOWN,
	          "other vocabulary");
	CHECK(term == NULL, "no term for unknown");
	CHECK_INT(prov_dst_classify(DST_URI "trainedAlgorithmicMediaX", NULL), PROV_DST_UNKNOWN, "suffix");
	CHECK_INT(prov_dst_classify("", NULL), PROV_DST_UNKNOWN, "empty");
	CHECK_INT(prov_dst_classify(NULL, NULL), PROV_DST_UNKNOWN, "NULL");
}

/* ----------------------------------------------------------------- EXIF */

/* A tiny TIFF writer for hand-made blocks. */
typedef struct tw {
	uint8_t b[4096];
	size_t n;
	int le;
} tw;

static void w16(tw *t, size_t o, unsigned v)
{
	if (t->le)
		t->b[o] = (uint8_t)v, t->b[o + 1] = (uint8_t)(v >> 8);
	else
		t->b[o] = (uint8_t)(v >> 8), t->b[o + 1] = (uint8_t)v;
}

static void w32(tw *t, size_t o, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		t->b[o + (size_t)i] = (uint8_t)(t->le ? v >> (8 * i) : v >> (8 * (3 - i)));
}

static void tw_header(tw *t, int le, uint32_t ifd0)
{
	memset(t, 0, sizeof *t);
	t->le = le;
	t->b[0] = t->b[1] = le ? 'I' : 'M';
	w16(t, 2, 42);
	w32(t, 4, ifd0);
	t->n = 8;
}

static void tw_entry(tw *t, size_t ifd, unsigned i, unsigned tag, unsigned type, uint32_t cnt,
                     uint32_t val)
{
	size_t e = ifd + 2 + (size_t)i * 12;
	w16(t, e, tag);
	w16(t, e + 2, type);
	w32(t, e + 4, cnt);
	w32(t, e + 8, val);
}

static void exif_run(prov_meta *m, const uint8_t *b, size_t n, const char *ctx)
{
	veto_error err = {0};
	CHECK_INT(prov_meta_exif(b, n, m, &err), VETO_OK, "%s: %s", ctx, err.message);
	check_wellformed(m, ctx);
}

static void test_exif(void)
{
	prov_meta m = {0};
	tw t;

	/* the usual fields, II, with a LE UNICODE UserComment and an ASCII one */
	tw_header(&t, 1, 8);
	w16(&t, 8, 5);
	tw_entry(&t, 8, 0, 0x010F, 2, 6, 100);        /* Make "Canon" */
	tw_entry(&t, 8, 1, 0x0110, 2, 4, 0);          /* Model "EOS" inline */
	memcpy(t.b + 8 + 2 + 12 + 8, "EOS", 4);
	tw_entry(&t, 8, 2, 0x0131, 2, 12, 120);       /* Software, Latin-1 */
	tw_entry(&t, 8, 3, 0x8769, 4, 1, 200);        /* Exif IFD */
	tw_entry(&t, 8, 4, 0x013B, 2, 1, 0);          /* Artist "" */
	memcpy(t.b + 100, "Canon\0", 6);
	memcpy(t.b + 120, "Caf\xe9 1.0\0  ", 12);
	w16(&t, 200, 2);
	const char *msg = "Hi \xf0\x9f\x98\x80!";  /* with a surrogate pair */
	uint8_t uc[64];
	memcpy(uc, "UNICODE\0", 8);
	uint16_t units[] = {'H', 'i', ' ', 0xD83D, 0xDE00, '!'};
	for (int i = 0; i < 6; i++)
		uc[8 + 2 * i] = (uint8_t)units[i], uc[9 + 2 * i] = (uint8_t)(units[i] >> 8);
	memcpy(t.b + 300, uc, 20);
	tw_entry(&t, 200, 0, 0x9286, 7, 20, 300);
	tw_entry(&t, 200, 1, 0x9003, 2, 20, 340);
	memcpy(t.b + 340, "2024:01:02 03:04:05\0", 20);
	t.n = 400;
	exif_run(&m, t.b, t.n, "usual");
	const prov_meta_item *it = find(&m, "exif", "exif:Make");
	CHECK_STR(it ? it->value : NULL, "Canon", "Make");
	CHECK_STR(it ? it->source : NULL, "exif:0x010f", "Make source");
	it = find(&m, "exif", "exif:Model");
	CHECK_STR(it ? it->value : NULL, "EOS", "inline Model");
	it = find(&m, "exif", "exif:Software");
	CHECK_STR(it ? it->value : NULL, "Caf\xc3\xa9 1.0", "Latin-1 Software");
	CHECK(find(&m, "exif", "exif:Artist") == NULL, "empty Artist skipped");
	it = find(&m, "exif", "exif:UserComment");
	CHECK_STR(it ? it->value : NULL, msg, "LE UNICODE UserComment");
	it = find(&m, "exif", "exif:DateTimeOriginal");
	CHECK_STR(it ? it->value : NULL, "2024:01:02 03:04:05", "DateTimeOriginal");
	CHECK_INT(m.nproblems, 0, "usual block is clean");
	dump_problems(&m, "usual");
	CHECK_INT(count_kind(&m, "generator"), 0, "no generator");
	prov_meta_free(&m);

	/* every prefix of that block, and bit flips: never a crash */
	for (size_t k = 0; k <= t.n; k++) {
		exif_run(&m, t.b, k, "prefix");
		prov_meta_free(&m);
	}
	uint32_t rng = 12345;
	for (int r = 0; r < 20000; r++) {
		tw c = t;
		for (int f = 0; f < 4; f++) {
			rng = rng * 1103515245u + 12345u;
			size_t pos = (rng >> 8) % 400;
			rng = rng * 1103515245u + 12345u;
			c.b[pos] ^= (uint8_t)(1u << ((rng >> 16) & 7));
		}
		exif_run(&m, c.b, c.n, "flip");
		prov_meta_free(&m);
	}

	/* IFD0 past the end */
	tw_header(&t, 0, 0xFFFFFFF0u);
	t.n = 16;
	exif_run(&m, t.b, t.n, "ifd0 past end");
	CHECK(has_problem(&m, "past the end"), "IFD0 past end: problem");
	prov_meta_free(&m);

	/* an entry count far past the block */
	tw_header(&t, 0, 8);
	w16(&t, 8, 0xFFFF);
	t.n = 40;
	exif_run(&m, t.b, t.n, "huge count");
	CHECK(has_problem(&m, "entries"), "huge entry count: problem");
	prov_meta_free(&m);

	/* the Exif IFD pointing back at IFD0 */
	tw_header(&t, 1, 8);
	w16(&t, 8, 1);
	tw_entry(&t, 8, 0, 0x8769, 4, 1, 8);
	t.n = 32;
	exif_run(&m, t.b, t.n, "loop");
	CHECK(has_problem(&m, "loops"), "IFD loop: problem");
	prov_meta_free(&m);

	/* the Exif IFD pointing into itself (the sub-IFD's own pointer is not
	 * followed) and a string offset / huge count past the end */
	tw_header(&t, 1, 8);
	w16(&t, 8, 3);
	tw_entry(&t, 8, 0, 0x8769, 4, 1, 50);
	tw_entry(&t, 8, 1, 0x0131, 2, 10, 0xFFFFFFF0u);
	tw_entry(&t, 8, 2, 0x010F, 2, 0xFFFFFFFFu, 60);
	w16(&t, 50, 1);
	tw_entry(&t, 50, 0, 0x8769, 4, 1, 50);
	t.n = 80;
	exif_run(&m, t.b, t.n, "offsets");
	CHECK(has_problem(&m, "0x0131"), "Software offset past end: problem");
	CHECK(has_problem(&m, "0x010f"), "Make count huge: problem");
	CHECK_INT(m.n, 0, "nothing read");
	prov_meta_free(&m);

	/* UserComment encodings: ASCII, BOM'd UTF-16, JIS, undefined, none */
	static const struct {
		const char *bytes;
		size_t n;
		const char *want; /* NULL: no item */
	} ucs[] = {
		{"ASCII\0\0\0hello   ", 16, "hello"},
		{"UNICODE\0\xff\xfeh\0i\0", 14, "hi"},
		{"UNICODE\0\xfe\xff\0h\0i", 14, "hi"},
		{"UNICODE\0\0h\0i\0", 13, "hi"}, /* odd length */
		{"UNICODE\0\xd8\x3d", 10, "\xef\xbf\xbd"}, /* lone surrogate (BE block) */
		{"JIS\0\0\0\0\0\x30\x21", 10, NULL},
		{"\0\0\0\0\0\0\0\0caf\xc3\xa9", 13, "caf\xc3\xa9"},
		{"\0\0\0\0\0\0\0\0        ", 16, NULL},
		{"plain text", 10, "plain text"},
	};
	for (size_t i = 0; i < sizeof ucs / sizeof *ucs; i++) {
		tw_header(&t, 0, 8);
		w16(&t, 8, 1);
		tw_entry(&t, 8, 0, 0x8769, 4, 1, 26);
		w16(&t, 26, 1);
		tw_entry(&t, 26, 0, 0x9286, 7, (uint32_t)ucs[i].n, 64);
		memcpy(t.b + 64, ucs[i].bytes, ucs[i].n);
		t.n = 64 + ucs[i].n;
		exif_run(&m, t.b, t.n, "usercomment");
		it = find(&m, "exif", "exif:UserComment");
		if (ucs[i].want)
			CHECK_STR(it ? it->value : NULL, ucs[i].want, "UserComment case %zu", i);
		else
			CHECK(it == NULL, "UserComment case %zu: no item", i);
		if (i == 5)
			CHECK(has_problem(&m, "JIS"), "JIS: problem");
		prov_meta_free(&m);
	}

	/* wrong type for a text tag */
	tw_header(&t, 0, 8);
	w16(&t, 8, 1);
	tw_entry(&t, 8, 0, 0x0131, 3, 1, 0);
	t.n = 26;
	exif_run(&m, t.b, t.n, "type");
	CHECK(has_problem(&m, "type 3"), "Software as SHORT: problem");
	prov_meta_free(&m);

	/* Fooocus JPEG: JSON in UserComment, Software says Fooocus */
	tw_header(&t, 0, 8);
	w16(&t, 8, 2);
	tw_entry(&t, 8, 0, 0x0131, 2, 15, 60);
	tw_entry(&t, 8, 1, 0x8769, 4, 1, 80);
	memcpy(t.b + 60, "Fooocus v2.5.0", 15);
	w16(&t, 80, 1);
	const char *fj = "{\"prompt\": \"a koi\", \"seed\": \"1\", \"base_model\": \"x\"}";
	tw_entry(&t, 80, 0, 0x9286, 7, (uint32_t)(8 + strlen(fj)), 120);
	memcpy(t.b + 120, "ASCII\0\0\0", 8);
	memcpy(t.b + 128, fj, strlen(fj));
	t.n = 128 + strlen(fj);
	exif_run(&m, t.b, t.n, "fooocus");
	it = find(&m, "generator", "Fooocus");
	CHECK(it != NULL && it->ai == 1, "Fooocus from EXIF");
	DET(it, "prompt", "a koi");
	prov_meta_free(&m);

	/* not TIFF */
	exif_run(&m, (const uint8_t *)"JUNKJUNKJUNK", 12, "junk");
	CHECK_INT(m.nproblems, 1, "junk: problem");
	prov_meta_free(&m);
	exif_run(&m, (const uint8_t *)"MM\0\x2b\0\0\0\x08", 8, "bigtiff");
	CHECK_INT(m.nproblems, 1, "magic 43: problem");
	prov_meta_free(&m);
	exif_run(&m, NULL, 0, "null");
	CHECK(m.n == 0 && m.nproblems == 0, "NULL: nothing");
}

/* Bit flips over every genmeta fixture's text records and the A1111 EXIF. */
static void test_fixture_flips(void)
{
	static const char *files[] = {"automatic1111_cropped.png", "img2img_cropped.png",
	                              "fooocus1_cropped.png", "invokeai_dream1.png",
	                              "invokeai_imeta1.png", "invokeai_sdmeta1.png",
	                              "novelai1_cropped.png"};
	uint32_t rng = 99;
	prov_meta m = {0};
	veto_error err = {0};
	for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
		char rel[256];
		snprintf(rel, sizeof rel, "provenance/genmeta/%s", files[f]);
		size_t n;
		uint8_t *b = load(rel, &n);
		texts t;
		png_texts(b, n, &t);
		for (int r = 0; r < 300; r++) {
			prov_text c[64];
			for (size_t i = 0; i < t.n; i++) {
				c[i] = t.v[i];
				c[i].value = malloc(t.v[i].len + 1);
				REQUIRE(c[i].value, "oom");
				memcpy(c[i].value, t.v[i].value, t.v[i].len + 1);
				for (int k = 0; k < 3 && t.v[i].len; k++) {
					rng = rng * 1103515245u + 12345u;
					size_t pos = (rng >> 4) % t.v[i].len;
					rng = rng * 1103515245u + 12345u;
					c[i].value[pos] = (char)(rng >> 16);
				}
				/* and a cut */
				rng = rng * 1103515245u + 12345u;
				if (rng & 1)
					c[i].len = (rng >> 8) % (t.v[i].len + 1);
			}
			CHECK_INT(prov_meta_generators(c, t.n, &m, &err), VETO_OK, "flip %s", files[f]);
			check_wellformed(&m, files[f]);
			prov_meta_free(&m);
			for (size_t i = 0; i < t.n; i++)
				free(c[i].value);
		}
		texts_free(&t);
		free(b);
	}
}

int main(int argc, char **argv)
{
	td = testdata_dir(argc, argv);
	test_a1111_png();
	test_a1111_jpeg();
	test_stealth();
	test_comfyui();
	test_fooocus();
	test_invokeai();
	test_novelai();
	test_generator_traps();
	test_stealth_traps();
	test_dst();
	test_xmp();
	test_xmp_hostile();
	test_exif();
	test_fixture_flips();
	return check_exit("test_prov_meta");
}
