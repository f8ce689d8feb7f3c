/*
 * test_pdq_core.c - the PDQ core on its own: hex form, distance, tiny and
 * 64x64 planes, bit exactness against an independent oracle, dihedrals.
 *
 * Why each part:
 *  - hex/distance are what banks exchange and compare; a wrong digit order
 *    or popcount silently breaks every match.
 *  - tests/pdq_oracle.h is a slow literal PDQ. It is first proved against
 *    the reference's CSV (decoding the shared JPEGs with libjpeg here, not
 *    through veto), then lib/pdq.c + lib/pdq_stream.c must agree with it
 *    bit for bit on planes of awkward sizes (5 px, 63/64/65, odd, large),
 *    integer and fractional values, flat planes, and all eight dihedrals.
 *  - images under 5 px hash to zero with quality 0, as in the reference.
 *  - a dihedral hash k of the bridge photo must be near the plain hash of
 *    the photo actually rotated/flipped (reg-test-input/dih/).
 *  - documented distances: the bridge edits match the original, unrelated
 *    photos do not.
 */
#include "check.h"
#include "pdq_oracle.h"
#include "veto.h"

#include <jpeglib.h>
#include <setjmp.h>


static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void hex_of(const veto_pdq_hash *h, char out[65])
{
	veto_pdq_to_hex(h, out);
}

/* Hamming distance of two hex strings, digit by digit (independent of
 * veto_pdq_distance). */
static int hex_distance(const char *a, const char *b)
{
	int d = 0;
	for (int i = 0; i < 64; i++) {
		int x = (int)strtol((char[]){a[i], 0}, NULL, 16) ^ (int)strtol((char[]){b[i], 0}, NULL, 16);
		d += __builtin_popcount((unsigned)x);
	}
	return d;
}

static veto_pdq_hash parse(const char *hex)
{
	veto_pdq_hash h;
	veto_error err = {0, ""};
	int rc = veto_pdq_from_hex(&h, hex, strlen(hex), &err);
	REQUIRE(rc == VETO_OK, "cannot parse %s: %s", hex, err.message);
	return h;
}

/* ---------------------------------------------------------------- hex */

static void test_hex(const expected_row *rows, int n)
{
	char out[65];
	for (int i = 0; i < n; i++) {
		veto_pdq_hash h = parse(rows[i].hash[0]);
		hex_of(&h, out);
		CHECK_STR(out, rows[i].hash[0], "round trip of %s", rows[i].path);
		char upper[65];
		for (int k = 0; k < 65; k++)
			upper[k] = (char)(rows[i].hash[0][k] >= 'a' ? rows[i].hash[0][k] - 32 : rows[i].hash[0][k]);
		veto_pdq_hash hu = parse(upper);
		CHECK(memcmp(&h, &hu, sizeof h) == 0, "upper-case hex %s parses differently", upper);
	}
	/* random bytes -> hex -> bytes */
	for (int t = 0; t < 200; t++) {
		veto_pdq_hash h, back;
		for (int k = 0; k < 32; k++)
			h.bytes[k] = (uint8_t)rng();
		hex_of(&h, out);
		CHECK_INT(strlen(out), 64, "hex length");
		veto_error err;
		CHECK_INT(veto_pdq_from_hex(&back, out, 64, &err), VETO_OK, "parse %s", out);
		CHECK(memcmp(&h, &back, sizeof h) == 0, "round trip of random hash %s", out);
	}
	/* byte order is the reference's: bytes[0] is the first two digits */
	veto_pdq_hash h = parse("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	CHECK_INT(h.bytes[0], 0x01, "first byte");
	CHECK_INT(h.bytes[1], 0x23, "second byte");
	CHECK_INT(h.bytes[31], 0xef, "last byte");

	/* errors */
	const char *good = rows[0].hash[0];
	struct {
		const char *hex;
		size_t len;
		const char *why;
	} bad[] = {
		{good, 63, "63 digits"},
		{good, 0, "empty"},
		{"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22a", 65, "65 digits"},
		{"g8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", 64, "g at 0"},
		{"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2z", 64, "z at 63"},
		{"f8f8f0cee0f4a84f06370a22 38f63f0b36e2ed596621e1d33e6b39c4e9c9b22", 64, "space"},
		{"0x f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", 64, "0x prefix"},
		{"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2-", 64, "minus"},
		{"f8f8f0cee0f4a84f06370a22038f63f0\0" "36e2ed596621e1d33e6b39c4e9c9b22", 64, "NUL inside"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		veto_pdq_hash x;
		veto_error err = {0, ""};
		int rc = veto_pdq_from_hex(&x, bad[i].hex, bad[i].len, &err);
		CHECK_INT(rc, VETO_ERR_INVALID, "from_hex(%s)", bad[i].why);
		CHECK_INT(err.code, VETO_ERR_INVALID, "err.code for %s", bad[i].why);
		CHECK(err.message[0] != '\0', "empty message for %s", bad[i].why);
	}
	veto_pdq_hash x;
	CHECK_INT(veto_pdq_from_hex(&x, NULL, 64, NULL), VETO_ERR_INVALID, "NULL hex, NULL err");
}

/* ----------------------------------------------------------- distance */

static int row_index(const expected_row *rows, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].path, path))
			return i;
	REQUIRE(0, "expected-pdq.csv has no row for %s", path);
	return -1;
}

static void test_distance(const expected_row *rows, int n)
{
	veto_pdq_hash zero, ones, a;
	memset(&zero, 0, sizeof zero);
	memset(&ones, 0xff, sizeof ones);
	CHECK_INT(veto_pdq_distance(&zero, &zero), 0, "zero vs zero");
	CHECK_INT(veto_pdq_distance(&zero, &ones), 256, "zero vs ones");
	for (int bit = 0; bit < 256; bit++) {
		a = zero;
		a.bytes[bit / 8] = (uint8_t)(1u << (bit % 8));
		CHECK_INT(veto_pdq_distance(&zero, &a), 1, "single bit %d", bit);
		CHECK_INT(veto_pdq_distance(&ones, &a), 255, "single bit %d vs ones", bit);
	}
	/* every pair of reference hashes: veto agrees with a digit-wise count,
	 * is symmetric, and 0 on the diagonal */
	for (int i = 0; i < n; i++) {
		veto_pdq_hash hi = parse(rows[i].hash[0]);
		CHECK_INT(veto_pdq_distance(&hi, &hi), 0, "%s vs itself", rows[i].path);
		for (int j = i + 1; j < n; j++) {
			veto_pdq_hash hj = parse(rows[j].hash[0]);
			int d = veto_pdq_distance(&hi, &hj);
			CHECK_INT(d, hex_distance(rows[i].hash[0], rows[j].hash[0]), "%s vs %s",
			          rows[i].path, rows[j].path);
			CHECK_INT(veto_pdq_distance(&hj, &hi), d, "symmetry %s %s", rows[i].path, rows[j].path);
		}
	}
	/* bridge edits match the original (the reference's own test set) */
	static const char *edits[] = {
		"bridge-mods/blur-a-little.jpg", "bridge-mods/blur-a-lot.jpg",
		"bridge-mods/high-contrast.jpg", "bridge-mods/high-saturation.jpg",
		"bridge-mods/sharpen-a-little.jpg", "bridge-mods/sharpen-a-lot.jpg",
		"bridge-mods/shrink-a-little.jpg", "bridge-mods/shrink-a-lot.jpg",
		"bridge-mods/square-128x128.jpg", "bridge-mods/square-256x256.jpg",
		"bridge-mods/square-512x512.jpg", "reg-test-input/dih/bridge-1-original.jpg",
	};
	veto_pdq_hash orig = parse(rows[row_index(rows, n, "bridge-mods/aaa-orig.jpg")].hash[0]);
	for (size_t e = 0; e < sizeof edits / sizeof *edits; e++) {
		veto_pdq_hash h = parse(rows[row_index(rows, n, edits[e])].hash[0]);
		int d = veto_pdq_distance(&orig, &h);
		CHECK(d <= VETO_PDQ_MATCH_THRESHOLD, "aaa-orig vs %s: distance %d > 31", edits[e], d);
	}
	/* unrelated photos do not match the bridge or each other */
	static const char *others[] = {
		"reg-test-input/labelme-subset/q0003.jpg", "reg-test-input/labelme-subset/q0004.jpg",
		"reg-test-input/labelme-subset/q0122.jpg", "reg-test-input/labelme-subset/q0291.jpg",
		"reg-test-input/labelme-subset/q0746.jpg", "reg-test-input/labelme-subset/q1050.jpg",
		"reg-test-input/labelme-subset/q2821.jpg", "reg-test-input/pen-and-coaster.png",
		"reg-test-input/exif-rotn/exif-rotn-1.jpg", "misc-images/c.png",
	};
	const int nothers = (int)(sizeof others / sizeof *others);
	for (int i = 0; i < nothers; i++) {
		veto_pdq_hash hi = parse(rows[row_index(rows, n, others[i])].hash[0]);
		int d = veto_pdq_distance(&orig, &hi);
		CHECK(d > VETO_PDQ_MATCH_THRESHOLD, "aaa-orig vs %s: distance %d <= 31", others[i], d);
		for (int j = i + 1; j < nothers; j++) {
			veto_pdq_hash hj = parse(rows[row_index(rows, n, others[j])].hash[0]);
			d = veto_pdq_distance(&hi, &hj);
			CHECK(d > VETO_PDQ_MATCH_THRESHOLD, "%s vs %s: distance %d <= 31", others[i],
			      others[j], d);
		}
	}
}

/* ------------------------------------------------------ veto vs oracle */

/* Hash `plane` with veto (plain and dihedral) and with the oracle; they
 * must agree on every bit and on quality. */
static void against_oracle(const float *plane, int rows, int cols, const char *what)
{
	char ohex[65], odih[8][65], vhex[65];
	int oq, odq;
	oracle_pdq(plane, rows, cols, ohex, &oq, odih, &odq);

	veto_pdq_hash h, dih[VETO_DIH_COUNT], h2;
	int q = -1, q2 = -1;
	veto_error err = {0, ""};
	int rc = veto_pdq_from_luma(plane, rows, cols, &h, &q, NULL, &err);
	CHECK_INT(rc, VETO_OK, "%s %dx%d: %s", what, cols, rows, err.message);
	if (rc != VETO_OK)
		return;
	hex_of(&h, vhex);
	CHECK_STR(vhex, ohex, "%s %dx%d (rows x cols %d x %d): plain hash", what, cols, rows, rows, cols);
	CHECK_INT(q, oq, "%s %dx%d: quality", what, cols, rows);

	rc = veto_pdq_from_luma(plane, rows, cols, &h2, &q2, dih, &err);
	CHECK_INT(rc, VETO_OK, "%s %dx%d dihedral: %s", what, cols, rows, err.message);
	if (rc != VETO_OK)
		return;
	/* The reference's plain hash takes a 64x64 plane unfiltered, its
	 * dihedral function filters it: only there may the two differ. */
	if (rows != 64 || cols != 64)
		CHECK(memcmp(&dih[0], &h2, sizeof h2) == 0, "%s %dx%d: dihedral[0] != *hash", what, cols, rows);
	for (int v = 0; v < 8; v++) {
		hex_of(&dih[v], vhex);
		CHECK_STR(vhex, odih[v], "%s %dx%d: dihedral %s", what, cols, rows, veto_dihedral_name(v));
	}
	/* veto_pdq_from_luma reports the plain hash's quality either way */
	CHECK_INT(q2, oq, "%s %dx%d: quality with dihedral", what, cols, rows);
	(void)odq;
}

typedef enum { FILL_INT, FILL_LUMA, FILL_SMOOTH, FILL_PERIODIC, FILL_FLAT } fill_kind;

static float *make_plane(int rows, int cols, fill_kind k)
{
	float *p = (float *)malloc((size_t)rows * cols * sizeof(float) + 1);
	REQUIRE(p, "out of memory");
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++) {
			float v;
			switch (k) {
			case FILL_INT: v = (float)(rng() % 256); break;
			case FILL_LUMA: /* what an RGB decoder produces */
				v = 0.299f * (float)(rng() % 256) + 0.587f * (float)(rng() % 256) +
				    0.114f * (float)(rng() % 256);
				break;
			case FILL_SMOOTH: /* photo-like: gradients plus a little noise */
				v = (float)((i * 7 + j * 3) % 200) + 0.299f * (float)(rng() % 40);
				break;
			case FILL_PERIODIC: { /* fractional values repeating every 128
				 * pixels: many DCT terms are ~0, so the last bit of every
				 * filter sum shows in the hash (found by fuzz_pdq) */
				uint32_t x = (uint32_t)(((size_t)i * cols + j) % 128) * 2654435761u;
				v = (float)((x >> 16) & 0xFFFF) / 257.0f;
				break;
			}
			default: v = 117.0f; break;
			}
			p[(size_t)i * cols + j] = v;
		}
	return p;
}

static void test_oracle_planes(void)
{
	static const int sizes[][2] = { /* rows, cols */
		{5, 5}, {5, 64}, {64, 5}, {7, 13}, {63, 64}, {64, 63}, {64, 64}, {64, 65},
		{65, 64}, {100, 37}, {127, 129}, {128, 128}, {129, 130}, {200, 300},
		{257, 513}, {512, 512}, {1004, 1600}, {3, 1000}, {1000, 3},
	};
	static const char *const names[] = {"integer", "luma", "smooth", "periodic", "flat"};
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
		for (int k = FILL_INT; k <= FILL_FLAT; k++) {
			const int r = sizes[s][0], c = sizes[s][1];
			if (r * c > 300000 && k != FILL_SMOOTH)
				continue; /* one big case is enough */
			float *p = make_plane(r, c, (fill_kind)k);
			against_oracle(p, r, c, names[k]);
			free(p);
		}
}

/* --------------------------------------------------- tiny and invalid */

static void test_tiny(void)
{
	veto_pdq_hash zero;
	memset(&zero, 0, sizeof zero);
	for (int r = 1; r <= 6; r++)
		for (int c = 1; c <= 6; c++) {
			float *p = make_plane(r, c, FILL_SMOOTH);
			veto_pdq_hash h, dih[VETO_DIH_COUNT];
			memset(&h, 0xAB, sizeof h);
			memset(dih, 0xAB, sizeof dih);
			int q = -1;
			veto_error err = {0, ""};
			int rc = veto_pdq_from_luma(p, r, c, &h, &q, dih, &err);
			CHECK_INT(rc, VETO_OK, "%dx%d: %s", c, r, err.message);
			if (r < 5 || c < 5) {
				CHECK(memcmp(&h, &zero, sizeof h) == 0, "%dx%d: hash not zero", c, r);
				CHECK_INT(q, 0, "%dx%d: quality", c, r);
				for (int v = 0; v < 8; v++)
					CHECK(memcmp(&dih[v], &zero, sizeof zero) == 0, "%dx%d: dihedral %d not zero", c, r, v);
			} else {
				CHECK(memcmp(&h, &zero, sizeof h) != 0, "%dx%d: a textured plane hashed to zero", c, r);
			}
			free(p);
		}
	/* bad arguments */
	float p[25] = {0};
	veto_pdq_hash h;
	int q;
	veto_error err = {0, ""};
	CHECK_INT(veto_pdq_from_luma(NULL, 5, 5, &h, &q, NULL, &err), VETO_ERR_INVALID, "NULL luma");
	CHECK(err.message[0] != '\0', "no message for NULL luma");
	CHECK_INT(veto_pdq_from_luma(p, 5, 5, NULL, &q, NULL, NULL), VETO_ERR_INVALID, "NULL hash");
	CHECK_INT(veto_pdq_from_luma(p, 5, 5, &h, NULL, NULL, NULL), VETO_ERR_INVALID, "NULL quality");
	CHECK_INT(veto_pdq_from_luma(p, -1, 5, &h, &q, NULL, NULL), VETO_ERR_INVALID, "negative rows");
}

/* A 64x64 plane is hashed without filtering (the reference's video path):
 * the result depends on every single pixel, not on box averages. */
static void test_64x64(void)
{
	float *p = make_plane(64, 64, FILL_LUMA);
	veto_pdq_hash h1, h2;
	int q1, q2;
	REQUIRE(veto_pdq_from_luma(p, 64, 64, &h1, &q1, NULL, NULL) == VETO_OK, "64x64");
	/* swapping two neighbouring pixels changes a 64x64 hash's input
	 * directly; a 65x64 plane would blur it away. Check the input is used
	 * verbatim: a plane and its transpose give hashes related by flip+1. */
	float *t = (float *)malloc(64 * 64 * sizeof(float));
	REQUIRE(t, "out of memory");
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 64; j++)
			t[j * 64 + i] = p[i * 64 + j];
	veto_pdq_hash dih[VETO_DIH_COUNT];
	REQUIRE(veto_pdq_from_luma(p, 64, 64, &h2, &q2, dih, NULL) == VETO_OK, "64x64 dihedral");
	veto_pdq_hash ht;
	int qt;
	REQUIRE(veto_pdq_from_luma(t, 64, 64, &ht, &qt, NULL, NULL) == VETO_OK, "64x64 transposed");
	CHECK_INT(qt, q1, "quality of the transposed 64x64 plane");
	/* Unfiltered, the plain hash of the transpose is exactly the original's
	 * DCT transposed; the dihedral hashes (filtered, as the reference's
	 * dihedral function does even at 64x64) are checked against the oracle
	 * in test_oracle_planes. */
	CHECK(memcmp(&h1, &h2, sizeof h1) == 0, "64x64 plain hash with and without dihedral");
	CHECK_INT(q2, q1, "64x64 quality with and without dihedral");
	free(t);
	free(p);
}

/* ------------------------------------- the oracle vs the reference CSV */

typedef struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c)
{
	longjmp(((jerr *)c->err)->jb, 1);
}

/* Decode with libjpeg's defaults (what ImageMagick 6.9.11 asks for) to the
 * reference's luma: grey samples verbatim, RGB by the float formula, and an
 * RGB image whose every pixel is grey as grey (ImageMagick writes a grey
 * PNM for it). NULL for CMYK, which needs ImageMagick's conversion. */
static float *jpeg_luma(const char *path, int *rows, int *cols)
{
	size_t size;
	uint8_t *data = slurp(path, &size);
	struct jpeg_decompress_struct ci;
	jerr je;
	float *volatile plane = NULL;
	uint8_t *volatile row = NULL;
	ci.err = jpeg_std_error(&je.pub);
	je.pub.error_exit = jerr_exit;
	if (setjmp(je.jb)) {
		jpeg_destroy_decompress(&ci);
		free(plane);
		free(row);
		free(data);
		REQUIRE(0, "libjpeg cannot decode %s", path);
	}
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, data, (unsigned long)size);
	jpeg_read_header(&ci, TRUE);
	if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
		jpeg_destroy_decompress(&ci);
		free(data);
		return NULL;
	}
	ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&ci);
	const int w = (int)ci.output_width, h = (int)ci.output_height, nc = ci.output_components;
	plane = (float *)malloc((size_t)w * h * sizeof(float));
	row = (uint8_t *)malloc((size_t)w * nc);
	uint8_t *grey = (uint8_t *)malloc((size_t)w * h);
	REQUIRE(plane && row && grey, "out of memory");
	int all_grey = 1;
	while (ci.output_scanline < ci.output_height) {
		int y = (int)ci.output_scanline;
		JSAMPROW rp = row;
		jpeg_read_scanlines(&ci, &rp, 1);
		for (int x = 0; x < w; x++) {
			const uint8_t *px = row + (size_t)x * nc;
			if (nc == 1) {
				plane[(size_t)y * w + x] = (float)px[0];
				continue;
			}
			if (px[0] != px[1] || px[1] != px[2])
				all_grey = 0;
			grey[(size_t)y * w + x] = px[0];
			plane[(size_t)y * w + x] = 0.299f * (float)px[0] + 0.587f * (float)px[1] +
			                           0.114f * (float)px[2];
		}
	}
	if (nc == 3 && all_grey)
		for (size_t i = 0; i < (size_t)w * h; i++)
			plane[i] = (float)grey[i];
	jpeg_finish_decompress(&ci);
	jpeg_destroy_decompress(&ci);
	free(grey);
	free(row);
	free(data);
	*rows = h;
	*cols = w;
	return plane;
}

static void test_oracle_vs_reference(const char *pdqdir, const expected_row *rows, int n)
{
	int checked = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(rows[i].path);
		if (len < 4 || strcmp(rows[i].path + len - 4, ".jpg") != 0)
			continue;
		char *file = path_join(pdqdir, rows[i].path);
		int r, c;
		float *plane = jpeg_luma(file, &r, &c);
		free(file);
		if (!plane)
			continue; /* CMYK */
		char ohex[65];
		int oq;
		oracle_pdq(plane, r, c, ohex, &oq, NULL, NULL);
		CHECK_STR(ohex, rows[i].hash[0], "oracle on %s", rows[i].path);
		CHECK_INT(oq, rows[i].quality, "oracle quality on %s", rows[i].path);
		/* and lib/pdq on the very same plane */
		veto_pdq_hash h;
		int q;
		char vhex[65];
		veto_error err = {0, ""};
		CHECK_INT(veto_pdq_from_luma(plane, r, c, &h, &q, NULL, &err), VETO_OK, "%s", err.message);
		hex_of(&h, vhex);
		CHECK_STR(vhex, rows[i].hash[0], "veto_pdq_from_luma on libjpeg's plane of %s", rows[i].path);
		CHECK_INT(q, rows[i].quality, "veto_pdq_from_luma quality on %s", rows[i].path);
		free(plane);
		checked++;
	}
	CHECK(checked >= 30, "only %d JPEGs checked against the reference", checked);
	printf("oracle and veto_pdq_from_luma agree with the reference on %d JPEGs\n", checked);
}

/* --------------------------------------------------------- dihedrals */

static void test_dihedral_files(const char *pdqdir)
{
	static const char *files[8] = {
		"reg-test-input/dih/bridge-1-original.jpg", "reg-test-input/dih/bridge-2-rotate-90.jpg",
		"reg-test-input/dih/bridge-3-rotate-180.jpg", "reg-test-input/dih/bridge-4-rotate-270.jpg",
		"reg-test-input/dih/bridge-5-flipx.jpg", "reg-test-input/dih/bridge-6-flipy.jpg",
		"reg-test-input/dih/bridge-7-flip-plus-1.jpg", "reg-test-input/dih/bridge-8-flip-minus-1.jpg",
	};
	/* The files are re-encoded JPEGs, so a few bits differ: observed
	 * distances are 0, 2, 8, 8, 8, 2, 0, 8 in this order. A wrong sign or
	 * transpose in a dihedral transform lands near 128. */
	static const int bound[8] = {0, 10, 10, 10, 10, 10, 10, 10};
	veto_hash_options o;
	veto_hash_options_init(&o);
	o.dihedral = 1;
	veto_image_hashes orig;
	veto_error err = {0, ""};
	char *f0 = path_join(pdqdir, files[0]);
	int rc = veto_hash_image_file(f0, &o, &orig, &err);
	free(f0);
	CHECK_INT(rc, VETO_OK, "%s", err.message);
	if (rc != VETO_OK)
		return;
	CHECK(orig.has_dihedral, "has_dihedral");
	o.dihedral = 0;
	for (int k = 0; k < 8; k++) {
		veto_image_hashes h;
		char *f = path_join(pdqdir, files[k]);
		rc = veto_hash_image_file(f, &o, &h, &err);
		free(f);
		CHECK_INT(rc, VETO_OK, "%s", err.message);
		if (rc != VETO_OK)
			continue;
		int d = veto_pdq_distance(&orig.dihedral[k], &h.pdq);
		printf("dihedral %-11s of bridge-1 vs %s: distance %d\n", veto_dihedral_name(k), files[k], d);
		CHECK(d <= bound[k], "dihedral %s vs %s: distance %d > %d", veto_dihedral_name(k),
		      files[k], d, bound[k]);
		/* and no other variant is as close */
		for (int j = 0; j < 8; j++)
			if (j != k) {
				int dj = veto_pdq_distance(&orig.dihedral[j], &h.pdq);
				CHECK(dj > VETO_PDQ_MATCH_THRESHOLD, "%s also matches dihedral %s (%d)",
				      files[k], veto_dihedral_name(j), dj);
			}
	}
}

int main(int argc, char **argv)
{
	const char *td = testdata_dir(argc, argv);
	char *pdqdir = path_join(td, "pdq");
	char *csv = path_join(pdqdir, "expected-pdq.csv");
	int n;
	expected_row *rows = read_expected(csv, 1, &n);

	test_hex(rows, n);
	test_distance(rows, n);
	test_tiny();
	test_64x64();
	test_oracle_vs_reference(pdqdir, rows, n);
	test_oracle_planes();
	test_dihedral_files(pdqdir);

	free(rows);
	free(csv);
	free(pdqdir);
	return check_exit("test_pdq_core");
}
