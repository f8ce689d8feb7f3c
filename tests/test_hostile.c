/*
 * test_hostile.c - what veto does with files that are not good images.
 *
 * veto runs on uploads, so every byte it reads is hostile. Each case here
 * must come back with the right status (IO / FORMAT / CORRUPT / TOO_LARGE),
 * a one-line message that names the file, and no crash, leak or undefined
 * behaviour: the sanitizer build (scripts/test.sh) runs this same program
 * under ASan + UBSan. Cases: empty file, truncated copies of every shared
 * JPEG and PNG, random bytes (bare and behind real magic numbers), text
 * named .jpg, headers patched to claim 65500x65500 (the largest JPEG libjpeg
 * accepts; the fields are 16-bit, so 100000 cannot be written)
 * or 100000x100000 (PNG), a bad IHDR CRC, zero dimensions, pixel and byte
 * limits, a directory and a missing path. Files are made in a mkdtemp
 * directory that is removed at the end.
 */
#include "check.h"
#include "veto.h"

static const char *tmp;
static int ncase;

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint8_t rng8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

/* Hash `path` with `o` (NULL: defaults); require status `want` and, on
 * failure, a one-line message naming the file. Returns the status. */
static int expect_file(const char *path, const veto_hash_options *o, int want, const char *what)
{
	veto_image_hashes h;
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = veto_hash_image_file(path, o, &h, &err);
	CHECK(rc == want, "%s (%s): got %s (%d: %s), want %s", what, path, veto_status_name(rc), rc,
	      rc ? err.message : "", veto_status_name(want));
	if (rc != VETO_OK) {
		CHECK_INT(err.code, rc, "%s: err.code", what);
		CHECK(err.message[0] != '\0', "%s: empty message", what);
		CHECK(strstr(err.message, path) != NULL, "%s: message \"%s\" does not name %s", what,
		      err.message, path);
		CHECK(strchr(err.message, '\n') == NULL, "%s: message has a newline: %s", what, err.message);
		CHECK(strcmp(veto_status_name(rc), "error") != 0, "%s: status %d has no name", what, rc);
	}
	return rc;
}

static char *tmpfile_with(const char *name, const void *data, size_t size)
{
	char *p = path_join(tmp, name);
	spit(p, data, size);
	return p;
}

/* Every .jpg/.png under dir (recursive), appended to list. */
static void find_images(const char *dir, char ***list, int *n)
{
	DIR *d = opendir(dir);
	REQUIRE(d, "cannot list %s", dir);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *p = path_join(dir, e->d_name);
		struct stat st;
		REQUIRE(stat(p, &st) == 0, "stat %s", p);
		size_t len = strlen(e->d_name);
		if (S_ISDIR(st.st_mode)) {
			find_images(p, list, n);
			free(p);
		} else if (len > 4 && (!strcmp(e->d_name + len - 4, ".jpg") ||
		                       !strcmp(e->d_name + len - 4, ".png"))) {
			*list = (char **)realloc(*list, sizeof(char *) * (size_t)(*n + 1));
			REQUIRE(*list, "out of memory");
			(*list)[(*n)++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
}

/* -------------------------------------------------------- truncation */

static void test_truncated(const char *pdqdir)
{
	char **files = NULL;
	int n = 0;
	find_images(pdqdir, &files, &n);
	CHECK(n >= 40, "found only %d JPEG/PNG files under %s", n, pdqdir);
	for (int i = 0; i < n; i++) {
		size_t size;
		uint8_t *data = slurp(files[i], &size);
		const char *ext = files[i] + strlen(files[i]) - 3;
		const int is_png = !strcmp(ext, "png");
		/* the whole file hashes (so truncation is what breaks it) */
		veto_image_hashes full;
		veto_error err;
		const int full_rc = veto_hash_image_file(files[i], NULL, &full, &err);
		CHECK_INT(full_rc, VETO_OK, "untruncated %s: %s", files[i], full_rc ? err.message : "");
		const size_t lens[] = {1, 10, 100, size / 2, size - 1};
		for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
			size_t len = lens[k];
			if (len >= size)
				continue;
			char name[64];
			snprintf(name, sizeof name, "trunc-%d-%zu.%s", i, len, ext);
			char *p = tmpfile_with(name, data, len);
			char what[256];
			snprintf(what, sizeof what, "%s cut to %zu of %zu bytes", files[i], len, size);
			if (len < 3 || (is_png && len < 8)) {
				/* too short to carry the magic number */
				expect_file(p, NULL, VETO_ERR_FORMAT, what);
			} else if (len == size - 1) {
				/* Only the last byte of the end marker (JPEG EOI, PNG
				 * IEND CRC) is gone: every pixel is there. Refusing is
				 * right; so is the exact hash of the whole file (what
				 * ImageMagick, and so the reference, gives). Nothing
				 * else is. */
				veto_image_hashes h;
				veto_error e2;
				memset(&e2, 0, sizeof e2);
				int r2 = veto_hash_image_file(p, NULL, &h, &e2);
				if (r2 == VETO_OK)
					CHECK(full_rc == VETO_OK && memcmp(&h.pdq, &full.pdq, sizeof h.pdq) == 0 &&
					      h.quality == full.quality,
					      "%s: hashed, but not as the whole file", what);
				else
					expect_file(p, NULL, VETO_ERR_CORRUPT, what);
			} else {
				expect_file(p, NULL, VETO_ERR_CORRUPT, what);
				/* the other modes' code paths on the same bytes */
				veto_hash_options o;
				veto_hash_options_init(&o);
				o.mode = VETO_MODE_FAST;
				o.dihedral = 1;
				expect_file(p, &o, VETO_ERR_CORRUPT, what);
				o.mode = VETO_MODE_CLI512;
				o.auto_orient = 1;
				expect_file(p, &o, VETO_ERR_CORRUPT, what);
				veto_image_hashes h;
				memset(&err, 0, sizeof err);
				int rc = veto_hash_image_buffer(data, len, &o, &h, &err);
				CHECK_INT(rc, VETO_ERR_CORRUPT, "%s, from a buffer", what);
				CHECK(strstr(err.message, "<buffer>") != NULL, "buffer message: %s", err.message);
			}
			ncase++;
			unlink(p);
			free(p);
		}
		free(data);
		free(files[i]);
	}
	free(files);
}

/* ------------------------------------------------------ junk contents */

static void test_junk(void)
{
	char *p = tmpfile_with("empty.jpg", "", 0);
	expect_file(p, NULL, VETO_ERR_FORMAT, "zero-byte file");
	free(p);

	uint8_t buf[8192];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = rng8();
	buf[0] = 0x42 ^ 0x0F; /* not the first byte of any magic number */
	REQUIRE(veto_image_sniff(buf, sizeof buf) == NULL, "random bytes look like an image");
	p = tmpfile_with("random.bin", buf, sizeof buf);
	expect_file(p, NULL, VETO_ERR_FORMAT, "random bytes");
	free(p);

	/* random bytes behind each real magic number: the decoders see junk */
	static const struct {
		const char *magic;
		size_t len;
		const char *name;
	} magics[] = {
		{"\xFF\xD8\xFF", 3, "junk.jpg"},
		{"\x89PNG\r\n\x1a\n", 8, "junk.png"},
		{"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16, "junk-ihdr.png"},
	};
	for (size_t m = 0; m < sizeof magics / sizeof *magics; m++) {
		uint8_t junk[4096];
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = rng8();
		memcpy(junk, magics[m].magic, magics[m].len);
		p = tmpfile_with(magics[m].name, junk, sizeof junk);
		expect_file(p, NULL, VETO_ERR_CORRUPT, "random bytes after a magic number");
		free(p);
	}

	const char *text = "This is not a JPEG. It is a short text file with a .jpg name.\n";
	p = tmpfile_with("text.jpg", text, strlen(text));
	expect_file(p, NULL, VETO_ERR_FORMAT, "text named .jpg");
	free(p);
}

/* --------------------------------------------------- patched headers */

static uint32_t crc32_png(const uint8_t *d, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= d[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_png_header(const char *pdqdir)
{
	char *src = path_join(pdqdir, "misc-images/c.png");
	size_t size;
	uint8_t *orig = slurp(src, &size);
	REQUIRE(size > 33 && memcmp(orig + 12, "IHDR", 4) == 0, "%s: no IHDR first", src);
	/* the CRC routine agrees with the file's own IHDR CRC */
	uint32_t stored = (uint32_t)orig[29] << 24 | (uint32_t)orig[30] << 16 |
	                  (uint32_t)orig[31] << 8 | orig[32];
	CHECK_INT(crc32_png(orig + 12, 17), stored, "IHDR CRC of %s", src);

	uint8_t *d = (uint8_t *)malloc(size);
	REQUIRE(d, "out of memory");
	struct {
		uint32_t w, h;
		int fix_crc;
		int want;
		const char *name;
	} cases[] = {
		{100000, 100000, 1, VETO_ERR_TOO_LARGE, "huge-100000x100000.png"},
		{100000, 100000, 0, VETO_ERR_CORRUPT, "huge-bad-crc.png"},
		{0x7FFFFFFF, 0x7FFFFFFF, 1, VETO_ERR_TOO_LARGE, "huge-max.png"},
		{0, 100, 1, VETO_ERR_CORRUPT, "zero-width.png"},
		{0xFFFFFFFF, 1, 1, VETO_ERR_CORRUPT, "width-over-2^31.png"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		memcpy(d, orig, size);
		put_be32(d + 16, cases[c].w);
		put_be32(d + 20, cases[c].h);
		if (cases[c].fix_crc)
			put_be32(d + 29, crc32_png(d + 12, 17));
		char *p = tmpfile_with(cases[c].name, d, size);
		expect_file(p, NULL, cases[c].want, cases[c].name);
		veto_hash_options o;
		veto_hash_options_init(&o);
		o.mode = VETO_MODE_CLI512;
		expect_file(p, &o, cases[c].want, cases[c].name);
		free(p);
	}
	free(d);
	free(orig);
	free(src);
}

/* Offset of the first SOFn marker's segment in a JPEG, or 0. */
static size_t find_sof(const uint8_t *d, size_t n)
{
	size_t i = 2;
	while (i + 4 <= n) {
		if (d[i] != 0xFF)
			return 0;
		uint8_t m = d[i + 1];
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
			return i;
		size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
		i += 2 + len;
	}
	return 0;
}

static void test_jpeg_header(const char *pdqdir)
{
	char *src = path_join(pdqdir, "bridge-mods/square-128x128.jpg");
	size_t size;
	uint8_t *orig = slurp(src, &size);
	size_t sof = find_sof(orig, size);
	REQUIRE(sof > 0, "%s: no SOF marker", src);
	/* SOF: FF Cn, length (2), precision (1), height (2), width (2) */
	CHECK_INT((orig[sof + 5] << 8 | orig[sof + 6]), 128, "height field of %s", src);
	CHECK_INT((orig[sof + 7] << 8 | orig[sof + 8]), 128, "width field of %s", src);
	uint8_t *d = (uint8_t *)malloc(size);
	REQUIRE(d, "out of memory");
	struct {
		unsigned w, h;
		int want;
		const char *name;
	} cases[] = {
		/* 16-bit fields; libjpeg accepts sides up to 65500 */
		{65500, 65500, VETO_ERR_TOO_LARGE, "huge-65500x65500.jpg"},
		{65500, 4000, VETO_ERR_TOO_LARGE, "huge-65500x4000.jpg"},
		{128, 0, VETO_ERR_CORRUPT, "zero-height.jpg"},
		{0, 128, VETO_ERR_CORRUPT, "zero-width.jpg"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		memcpy(d, orig, size);
		d[sof + 5] = (uint8_t)(cases[c].h >> 8);
		d[sof + 6] = (uint8_t)cases[c].h;
		d[sof + 7] = (uint8_t)(cases[c].w >> 8);
		d[sof + 8] = (uint8_t)cases[c].w;
		char *p = tmpfile_with(cases[c].name, d, size);
		expect_file(p, NULL, cases[c].want, cases[c].name);
		veto_hash_options o;
		veto_hash_options_init(&o);
		o.mode = VETO_MODE_FAST;
		expect_file(p, &o, cases[c].want, cases[c].name);
		free(p);
	}
	/* The 128x128 image claiming 4000x3000 (12 MP, under the default
	 * limit): its entropy data ends (at the real EOI marker) long before
	 * the rows do. Like a truncated file, that must be refused rather
	 * than hashed as a mostly grey picture. */
	memcpy(d, orig, size);
	d[sof + 5] = 3000 >> 8;
	d[sof + 6] = 3000 & 0xFF;
	d[sof + 7] = 4000 >> 8;
	d[sof + 8] = 4000 & 0xFF;
	char *p = tmpfile_with("claims-4000x3000.jpg", d, size);
	expect_file(p, NULL, VETO_ERR_CORRUPT, "128x128 JPEG claiming 4000x3000");
	free(p);
	free(d);
	free(orig);
	free(src);
}

/* ------------------------------------------------------------ limits */

static void test_limits(const char *pdqdir)
{
	static const char *files[] = {"bridge-mods/aaa-orig.jpg", "misc-images/c.png",
	                              "reg-test-input/pen-and-coaster.png"};
	for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
		char *p = path_join(pdqdir, files[f]);
		veto_hash_options o;
		veto_hash_options_init(&o);
		expect_file(p, &o, VETO_OK, "default limits");
		o.max_pixels = 1000;
		expect_file(p, &o, VETO_ERR_TOO_LARGE, "max_pixels 1000");
		o.mode = VETO_MODE_FAST;
		expect_file(p, &o, VETO_ERR_TOO_LARGE, "max_pixels 1000, fast mode");
		o.mode = VETO_MODE_CLI512;
		expect_file(p, &o, VETO_ERR_TOO_LARGE, "max_pixels 1000, cli512 mode");

		veto_image_hashes h;
		veto_hash_options_init(&o);
		veto_error err;
		REQUIRE(veto_hash_image_file(p, &o, &h, &err) == VETO_OK, "%s", err.message);
		/* exactly the image's pixel count is allowed, one less is not */
		o.max_pixels = (uint64_t)h.width * h.height;
		expect_file(p, &o, VETO_OK, "max_pixels = width x height");
		o.max_pixels--;
		expect_file(p, &o, VETO_ERR_TOO_LARGE, "max_pixels = width x height - 1");

		veto_hash_options_init(&o);
		o.max_bytes = h.file_bytes;
		expect_file(p, &o, VETO_OK, "max_bytes = file size");
		o.max_bytes = h.file_bytes - 1;
		expect_file(p, &o, VETO_ERR_TOO_LARGE, "max_bytes = file size - 1");
		o.max_bytes = 100;
		expect_file(p, &o, VETO_ERR_TOO_LARGE, "max_bytes 100");

		size_t size;
		uint8_t *data = slurp(p, &size);
		memset(&err, 0, sizeof err);
		int rc = veto_hash_image_buffer(data, size, &o, &h, &err);
		CHECK_INT(rc, VETO_ERR_TOO_LARGE, "buffer of %zu bytes with max_bytes 100", size);
		CHECK(err.message[0] != '\0', "no message for max_bytes on a buffer");
		uint8_t *rd = NULL;
		size_t rsize = 0;
		rc = veto_read_file(p, 100, &rd, &rsize, &err);
		CHECK_INT(rc, VETO_ERR_TOO_LARGE, "veto_read_file with max_bytes 100");
		CHECK(rd == NULL, "veto_read_file left a buffer on failure");
		free(data);
		free(p);
	}
}

/* ----------------------------------------------------- paths and args */

static void test_paths(void)
{
	expect_file(tmp, NULL, VETO_ERR_IO, "a directory");
	char *missing = path_join(tmp, "no-such-file.jpg");
	expect_file(missing, NULL, VETO_ERR_IO, "a nonexistent path");
	free(missing);
	char *deep = path_join(tmp, "no-such-dir/x.png");
	expect_file(deep, NULL, VETO_ERR_IO, "a path through a missing directory");
	free(deep);

	veto_image_hashes h;
	veto_error err;
	memset(&err, 0, sizeof err);
	CHECK_INT(veto_hash_image_file(NULL, NULL, &h, &err), VETO_ERR_INVALID, "NULL path");
	CHECK_INT(veto_hash_image_buffer(NULL, 10, NULL, &h, &err), VETO_ERR_INVALID, "NULL data");
	CHECK_INT(veto_hash_image_buffer((const uint8_t *)"", 0, NULL, &h, NULL), VETO_ERR_FORMAT,
	          "empty buffer");
	CHECK(veto_image_sniff(NULL, 0) == NULL, "sniff(NULL)");
}

int main(int argc, char **argv)
{
	const char *td = testdata_dir(argc, argv);
	char *pdqdir = path_join(td, "pdq");
	tmp = tmpdir_make("hostile");
	test_junk();
	test_png_header(pdqdir);
	test_jpeg_header(pdqdir);
	test_limits(pdqdir);
	test_paths();
	test_truncated(pdqdir);
	printf("%d truncated copies tried\n", ncase);
	tmpdir_remove();
	free(pdqdir);
	return check_exit("test_hostile");
}
