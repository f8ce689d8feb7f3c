/*
 * test_prov_watermark.c - the dwtDct watermark decoder against the
 * reference (imwatermark 0.2.x run on the shared fixtures).
 *
 * 1. provenance/watermark/imwatermark_reference_decode.json holds, for six
 *    files, the bits the reference matched for each payload ("112/136"):
 *    veto must give every count exactly, from the file's bytes through
 *    veto_decode_rgba to prov_watermark_dwtdct.
 * 2. Verdicts: each watermarked PNG is "very likely" for its own payload
 *    and not detected for the others; the clean PNG and the JPEG (q90)
 *    re-encodes are not detected for any payload.
 * 3. Refusals and edge sizes: an image under 256*256 pixels (a shared
 *    tiny JPEG, and synthetic ones) is refused with VETO_ERR_INVALID, as
 *    the reference refuses it; odd sizes, 1xN and Nx1 strips never read
 *    out of bounds (the sanitizer build runs this too).
 * 4. veto_decode_rgba: grey and RGB rows, and the luma path untouched
 *    (the same PNG hashes the same before and after an RGBA decode).
 */
#include "check.h"
#include "internal.h"
#include "prov_watermark.h"

#include <jansson.h>

static const char *FILES[] = {
	"clean_512.png", "sd1_dwtdct_512.png", "sd1_dwtdct_512_q90.jpg",
	"sd2_dwtdct_512.png", "sdxl_dwtdct_512.png", "sdxl_dwtdct_512_q90.jpg",
};
#define NFILES (sizeof FILES / sizeof *FILES)
static const char *KEYS[PROV_WM_PAYLOADS] = {"sd1_matched", "sd2_matched", "sdxl_matched"};
static const char *NAMES[PROV_WM_PAYLOADS] = {"SD1", "SD2", "SDXL"};
static const int BITS[PROV_WM_PAYLOADS] = {136, 32, 48};

/* Which payload a fixture carries (-1: none that survives). */
static int own_payload(const char *file)
{
	if (strstr(file, "_q90") || !strncmp(file, "clean", 5))
		return -1;
	if (!strncmp(file, "sd1_", 4)) return 0;
	if (!strncmp(file, "sd2_", 4)) return 1;
	if (!strncmp(file, "sdxl_", 5)) return 2;
	return -1;
}

static int decode_file(const char *dir, const char *file, prov_wm_result res[3])
{
	char *path = path_join(dir, file);
	size_t size;
	uint8_t *data = slurp(path, &size);
	uint8_t *rgba = NULL;
	uint32_t w = 0, h = 0;
	veto_error err = {0};
	int rc = veto_decode_rgba(data, size, path, 0, &rgba, &w, &h, &err);
	CHECK(rc == VETO_OK, "%s: %s", path, err.message);
	if (rc == VETO_OK) {
		CHECK(w == 512 && h == 512, "%s: %ux%u", path, (unsigned)w, (unsigned)h);
		rc = prov_watermark_dwtdct(rgba, w, h, res, &err);
		CHECK(rc == VETO_OK, "%s: %s", path, err.message);
	}
	free(rgba);
	free(data);
	free(path);
	return rc;
}

static void test_reference(const char *dir)
{
	char *json = path_join(dir, "provenance/watermark/imwatermark_reference_decode.json");
	json_error_t jerr;
	json_t *root = json_load_file(json, 0, &jerr);
	REQUIRE(root, "%s: %s (line %d)", json, jerr.text, jerr.line);
	json_t *results = json_object_get(root, "results");
	REQUIRE(json_is_object(results), "%s: no \"results\" object", json);
	char *wdir = path_join(dir, "provenance/watermark");
	size_t compared = 0;
	for (size_t f = 0; f < NFILES; f++) {
		json_t *want = json_object_get(results, FILES[f]);
		REQUIRE(json_is_object(want), "%s: no entry for %s", json, FILES[f]);
		prov_wm_result res[3];
		if (decode_file(wdir, FILES[f], res) != VETO_OK)
			continue;
		for (int p = 0; p < PROV_WM_PAYLOADS; p++) {
			const char *s = json_string_value(json_object_get(want, KEYS[p]));
			int m = -1, n = -1;
			REQUIRE(s && sscanf(s, "%d/%d", &m, &n) == 2, "%s: %s.%s is not \"m/n\"", json,
			        FILES[f], KEYS[p]);
			CHECK_STR(res[p].payload, NAMES[p], "%s", FILES[f]);
			CHECK_INT(res[p].bits, n, "%s %s", FILES[f], NAMES[p]);
			CHECK_INT(res[p].bits, BITS[p], "%s %s", FILES[f], NAMES[p]);
			CHECK_INT(res[p].matched, m, "%s %s (reference %s)", FILES[f], NAMES[p], s);
			CHECK(res[p].pvalue > 0 && res[p].pvalue <= 1, "%s %s: p = %g", FILES[f],
			      NAMES[p], res[p].pvalue);
			compared++;
			const int own = own_payload(FILES[f]);
			if (p == own)
				CHECK_STR(res[p].verdict, "very likely", "%s %s %d/%d p=%g", FILES[f],
				          NAMES[p], res[p].matched, res[p].bits, res[p].pvalue);
			else
				CHECK_STR(res[p].verdict, "not detected", "%s %s %d/%d p=%g", FILES[f],
				          NAMES[p], res[p].matched, res[p].bits, res[p].pvalue);
			printf("%-24s %-4s %3d/%-3d p=%.3g %s\n", FILES[f], res[p].payload,
			       res[p].matched, res[p].bits, res[p].pvalue, res[p].verdict);
		}
	}
	CHECK_INT(compared, NFILES * PROV_WM_PAYLOADS, "counts compared");
	free(wdir);
	free(json);
	json_decref(root);
}

/* A deterministic noisy RGBA image. */
static uint8_t *noise(uint32_t w, uint32_t h, uint32_t seed)
{
	size_t n = (size_t)w * h * 4;
	uint8_t *p = malloc(n ? n : 1);
	REQUIRE(p, "out of memory");
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

static void test_sizes(const char *dir)
{
	prov_wm_result res[3];
	veto_error err;

	/* A small file of the shared data: refused as the reference refuses it. */
	char *path = path_join(dir, "pdq/misc-images/wee.jpg");
	size_t size;
	uint8_t *data = slurp(path, &size);
	uint8_t *rgba = NULL;
	uint32_t w = 0, h = 0;
	int rc = veto_decode_rgba(data, size, path, 0, &rgba, &w, &h, &err);
	CHECK(rc == VETO_OK, "%s: %s", path, err.message);
	if (rc == VETO_OK) {
		CHECK((uint64_t)w * h < 256 * 256, "%s is %ux%u, not small", path, (unsigned)w,
		      (unsigned)h);
		memset(&err, 0, sizeof err);
		CHECK_INT(prov_watermark_dwtdct(rgba, w, h, res, &err), VETO_ERR_INVALID, "%s", path);
		CHECK_INT(err.code, VETO_ERR_INVALID, "%s", path);
		CHECK(strstr(err.message, "too small") != NULL, "message: %s", err.message);
		CHECK_STR(res[0].payload, "SD1", "results named even when refused");
	}
	free(rgba);
	free(data);
	free(path);

	/* Synthetic sizes around the limits; each buffer is exactly w*h*4
	 * bytes, so ASan catches any read past it. */
	static const uint32_t sizes[][2] = {
		{1, 1}, {255, 256}, {256, 255}, {1, 65535},          /* too small */
		{1, 65536}, {65536, 1}, {4, 16384}, {7, 9363},        /* no 8x8 block */
		{256, 256}, {8, 8192}, {8192, 8}, {257, 257}, {263, 259}, {300, 511}, {511, 300},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		const uint32_t sw = sizes[i][0], sh = sizes[i][1];
		uint8_t *img = noise(sw, sh, (uint32_t)i + 1);
		memset(&err, 0, sizeof err);
		rc = prov_watermark_dwtdct(img, sw, sh, res, &err);
		const int small = (uint64_t)sw * sh < 256 * 256;
		const int blockless = sw < 8 || sh < 8;
		if (small || blockless) {
			CHECK_INT(rc, VETO_ERR_INVALID, "%ux%u", (unsigned)sw, (unsigned)sh);
			CHECK(err.message[0] != '\0', "%ux%u: no message", (unsigned)sw, (unsigned)sh);
		} else {
			CHECK_INT(rc, VETO_OK, "%ux%u: %s", (unsigned)sw, (unsigned)sh, err.message);
			for (int p = 0; p < PROV_WM_PAYLOADS; p++)
				CHECK(res[p].matched >= 0 && res[p].matched <= res[p].bits &&
				      res[p].verdict != NULL, "%ux%u %s", (unsigned)sw, (unsigned)sh,
				      NAMES[p]);
		}
		free(img);
	}

	/* 256x256 of noise: nothing "very likely". */
	uint8_t *img = noise(256, 256, 99);
	rc = prov_watermark_dwtdct(img, 256, 256, res, &err);
	CHECK_INT(rc, VETO_OK, "256x256 noise: %s", err.message);
	for (int p = 0; p < PROV_WM_PAYLOADS && rc == VETO_OK; p++)
		CHECK(strcmp(res[p].verdict, "very likely") != 0, "noise %s: %d/%d", NAMES[p],
		      res[p].matched, res[p].bits);
	free(img);

	/* A flat grey image: U = 128 everywhere, every block scores 0, every
	 * bit decodes to 0: matched = the payload's zero bits. */
	img = malloc(320 * 320 * 4);
	REQUIRE(img, "out of memory");
	memset(img, 77, 320 * 320 * 4);
	rc = prov_watermark_dwtdct(img, 320, 320, res, &err);
	CHECK_INT(rc, VETO_OK, "grey: %s", err.message);
	CHECK_INT(res[0].matched, 136 - 68, "SD1 zero bits");      /* "StableDiffusionV1" has 68 ones */
	CHECK_INT(res[1].matched, 32 - 13, "SD2 zero bits");       /* "SDV2" has 13 ones */
	CHECK_INT(res[2].matched, 48 - 27, "SDXL zero bits");      /* 0xB3EC907BB19E has 27 ones */
	free(img);
}

/* veto_decode_rgba keeps the image's colours; PDQ of the same bytes is the
 * same before and after (the luma path is untouched). */
static void test_rgba(const char *dir)
{
	char *path = path_join(dir, "provenance/watermark/sd1_dwtdct_512.png");
	size_t size;
	uint8_t *data = slurp(path, &size);
	veto_image_hashes a, b;
	veto_error err;
	CHECK_INT(veto_hash_image_buffer(data, size, NULL, &a, &err), VETO_OK, "%s", err.message);
	uint8_t *rgba = NULL;
	uint32_t w, h;
	CHECK_INT(veto_decode_rgba(data, size, "x.png", 0, &rgba, &w, &h, &err), VETO_OK, "%s",
	          err.message);
	CHECK_INT(veto_hash_image_buffer(data, size, NULL, &b, &err), VETO_OK, "%s", err.message);
	CHECK(memcmp(&a.pdq, &b.pdq, sizeof a.pdq) == 0 && a.quality == b.quality, "PDQ changed");
	int alpha_ok = 1, colour = 0;
	for (size_t i = 0; rgba && i < (size_t)w * h; i++) {
		alpha_ok &= rgba[4 * i + 3] == 255;
		colour |= rgba[4 * i] != rgba[4 * i + 1] || rgba[4 * i + 1] != rgba[4 * i + 2];
	}
	CHECK(alpha_ok, "alpha is 255 for an RGB PNG");
	CHECK(colour, "colour survives");
	free(rgba);
	free(data);
	free(path);

	/* Every colour mode of the shared samples (PNG, JPEG incl. CMYK, WebP
	 * incl. alpha and palette): decodes at the size PDQ reports; the grey
	 * modes come out grey. */
	char *modes = path_join(dir, "pdq/misc-images/modes");
	DIR *dd = opendir(modes);
	REQUIRE(dd, "cannot open %s", modes);
	struct dirent *de;
	int nmodes = 0;
	while ((de = readdir(dd)) != NULL) {
		const char *n = de->d_name;
		if (n[0] == '.' || strstr(n, ".md"))
			continue;
		char *mp = path_join(modes, n);
		data = slurp(mp, &size);
		CHECK_INT(veto_hash_image_buffer(data, size, NULL, &a, &err), VETO_OK, "%s: %s", mp,
		          err.message);
		rgba = NULL;
		CHECK_INT(veto_decode_rgba(data, size, mp, 0, &rgba, &w, &h, &err), VETO_OK, "%s: %s",
		          mp, err.message);
		CHECK(w == a.width && h == a.height, "%s: %ux%u, PDQ saw %ux%u", mp, (unsigned)w,
		      (unsigned)h, (unsigned)a.width, (unsigned)a.height);
		if (rgba && (!strcmp(n, "L.png") || !strcmp(n, "LA.png"))) {
			int grey = 1;
			for (size_t i = 0; i < (size_t)w * h; i++)
				grey &= rgba[4 * i] == rgba[4 * i + 1] && rgba[4 * i + 1] == rgba[4 * i + 2];
			CHECK(grey, "%s: grey image decoded with colour", mp);
		}
		nmodes++;
		free(rgba);
		free(data);
		free(mp);
	}
	closedir(dd);
	free(modes);
	CHECK(nmodes >= 10, "only %d colour-mode samples", nmodes);

	/* Garbage and empty input fail with the decoders' codes. */
	rgba = (uint8_t *)1;
	CHECK_INT(veto_decode_rgba((const uint8_t *)"nope", 4, NULL, 0, &rgba, &w, &h, &err),
	          VETO_ERR_FORMAT, "garbage");
	CHECK(rgba == NULL, "no pixels on failure");
	CHECK_INT(veto_decode_rgba(NULL, 0, NULL, 0, &rgba, &w, &h, &err), VETO_ERR_FORMAT, "empty");
	CHECK_INT(veto_decode_rgba(NULL, 0, NULL, 0, NULL, &w, &h, &err), VETO_ERR_INVALID, "NULL out");

	/* A grey PGM: R = G = B, A = 255; and the pixel limit holds. */
	static const uint8_t pgm[] = "P5 3 2 255\n\x01\x02\x03\x04\x05\x06";
	CHECK_INT(veto_decode_rgba(pgm, sizeof pgm - 1, "g.pgm", 0, &rgba, &w, &h, &err), VETO_OK,
	          "%s", err.message);
	if (rgba) {
		CHECK(w == 3 && h == 2, "%ux%u", (unsigned)w, (unsigned)h);
		for (int i = 0; i < 6; i++)
			CHECK(rgba[4 * i] == i + 1 && rgba[4 * i + 1] == i + 1 && rgba[4 * i + 2] == i + 1 &&
			      rgba[4 * i + 3] == 255, "pixel %d", i);
		free(rgba);
	}
	CHECK_INT(veto_decode_rgba(pgm, sizeof pgm - 1, "g.pgm", 5, &rgba, &w, &h, &err),
	          VETO_ERR_TOO_LARGE, "max_pixels");
}

int main(int argc, char **argv)
{
	const char *dir = testdata_dir(argc, argv);
	test_reference(dir);
	test_sizes(dir);
	test_rgba(dir);
	return check_exit("test_prov_watermark");
}
