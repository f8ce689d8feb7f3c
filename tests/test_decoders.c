/*
 * test_decoders.c - veto's decoders against ImageMagick on files neither
 * side has seen before.
 *
 * The reference hashes what ImageMagick decodes, so that is the oracle:
 * this test has ImageMagick's `convert` write the bridge photo in many
 * formats and layouts (PNG grey/palette/RGBA/16-bit/interlaced/1-bit, WebP,
 * GIF, TIFF, BMP, PNM, JPEG progressive/grey/CMYK, HEIF/AVIF, tiny sizes),
 * then asks `convert FILE pnm:-` for the pixels it sees and builds the
 * reference luma plane from them:
 *   P5 grey: the value;  P6: 0.299f*R + 0.587f*G + 0.114f*B in float;
 *   P4: set bit = 0, clear = 255;  16-bit samples first scaled to 8 bits
 *   with ((v+128) - ((v+128) >> 8)) >> 8 (ImageMagick's ScaleQuantumToChar,
 *   veto's documented rule).
 * veto's hash of the file must equal veto_pdq_from_luma of that plane
 * exactly (the decoder is right) and the oracle PDQ of it (the whole
 * pipeline is right), with the same size and format name.
 */
#include "check.h"
#include "pdq_oracle.h"
#include "veto.h"

#include <ctype.h>

static const char *convert_bin;
static const char *tmp;

typedef struct plane {
	float *luma;
	int w, h;
} plane;

/* ------------------------------------------------------------ PNM */

static int pnm_token(FILE *f, char *buf, size_t n)
{
	int c;
	for (;;) {
		c = fgetc(f);
		if (c == '#') {
			while (c != EOF && c != '\n')
				c = fgetc(f);
			continue;
		}
		if (c == EOF)
			return 0;
		if (!isspace(c))
			break;
	}
	size_t i = 0;
	while (c != EOF && !isspace(c) && i + 1 < n) {
		buf[i++] = (char)c;
		c = fgetc(f);
	}
	buf[i] = '\0';
	return 1; /* the single whitespace after the token is consumed */
}

static unsigned to8(unsigned v)
{
	return (((v + 128u) - ((v + 128u) >> 8)) >> 8) & 0xFFu;
}

/* Read one binary PNM (P4, P5, P6; maxval 255 or 65535) into a plane. */
static int read_pnm(FILE *f, plane *out, char *why, size_t whyn)
{
	char tok[32];
	if (!pnm_token(f, tok, sizeof tok) || tok[0] != 'P' || !strchr("456", tok[1]) || tok[2]) {
		snprintf(why, whyn, "not a binary PNM (magic \"%s\")", tok);
		return 0;
	}
	const int kind = tok[1] - '0';
	char ws[32], hs[32], ms[32] = "1";
	if (!pnm_token(f, ws, sizeof ws) || !pnm_token(f, hs, sizeof hs) ||
	    (kind != 4 && !pnm_token(f, ms, sizeof ms))) {
		snprintf(why, whyn, "short PNM header");
		return 0;
	}
	const int w = atoi(ws), h = atoi(hs), maxval = atoi(ms);
	if (w <= 0 || h <= 0 || (kind != 4 && maxval != 255 && maxval != 65535)) {
		snprintf(why, whyn, "PNM header %dx%d maxval %d", w, h, maxval);
		return 0;
	}
	const int ch = kind == 6 ? 3 : 1, bps = maxval == 65535 ? 2 : 1;
	const size_t rowbytes = kind == 4 ? (size_t)(w + 7) / 8 : (size_t)w * ch * bps;
	uint8_t *row = (uint8_t *)malloc(rowbytes);
	float *luma = (float *)malloc((size_t)w * h * sizeof(float));
	REQUIRE(row && luma, "out of memory");
	for (int y = 0; y < h; y++) {
		if (fread(row, 1, rowbytes, f) != rowbytes) {
			snprintf(why, whyn, "PNM data ends at row %d of %d", y, h);
			free(row);
			free(luma);
			return 0;
		}
		for (int x = 0; x < w; x++) {
			float v;
			if (kind == 4) {
				v = (row[x / 8] >> (7 - x % 8)) & 1 ? 0.0f : 255.0f;
			} else {
				unsigned s[3];
				for (int c = 0; c < ch; c++) {
					const uint8_t *p = row + ((size_t)x * ch + c) * bps;
					s[c] = bps == 2 ? to8((unsigned)p[0] << 8 | p[1]) : p[0];
				}
				if (ch == 1)
					v = (float)s[0];
				else
					v = 0.299f * (float)s[0] + 0.587f * (float)s[1] + 0.114f * (float)s[2];
			}
			luma[(size_t)y * w + x] = v;
		}
	}
	free(row);
	out->luma = luma;
	out->w = w;
	out->h = h;
	return 1;
}

/* ----------------------------------------------------- ImageMagick */

static int run_convert(const char *args, const char *outfile)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "'%s' %s '%s' 2>&1", convert_bin, args, outfile);
	FILE *p = popen(cmd, "r");
	REQUIRE(p, "popen: %s", strerror(errno));
	char line[512];
	while (fgets(line, sizeof line, p))
		fprintf(stderr, "  convert: %s", line);
	int st = pclose(p);
	return st == 0;
}

static int reference_plane(const char *file, plane *out)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "'%s' '%s' pnm:-", convert_bin, file);
	FILE *p = popen(cmd, "r");
	REQUIRE(p, "popen: %s", strerror(errno));
	char why[256] = "";
	int ok = read_pnm(p, out, why, sizeof why);
	int st = pclose(p);
	if (!ok || st != 0) {
		CHECK(0, "convert %s pnm:- failed (exit status %d): %s", file, st, why);
		if (ok)
			free(out->luma);
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ cases */

typedef struct gen_case {
	const char *name;    /* output file name: the extension tells convert */
	const char *args;    /* between the source and the output */
	const char *format;  /* veto's format name */
} gen_case;

static const gen_case cases[] = {
	{"rgb.png", "png24:", "png"},
	{"grey.png", "-colorspace Gray -type Grayscale png:", "png"},
	{"rgb-but-grey.png", "-colorspace Gray -type TrueColor png24:", "png"},
	{"palette.png", "-colors 200 png8:", "png"},
	{"rgba.png", "-alpha set -channel A -evaluate set 50% +channel png32:", "png"},
	{"rgb16.png", "-evaluate multiply 0.9 -depth 16 png48:", "png"},
	{"grey16.png", "-colorspace Gray -evaluate multiply 0.9 -depth 16 png:", "png"},
	{"interlaced.png", "-interlace PNG png24:", "png"},
	{"mono.png", "-monochrome png:", "png"},
	{"lossless.webp", "-define webp:lossless=true webp:", "webp"},
	{"lossy.webp", "-quality 80 webp:", "webp"},
	{"alpha.webp", "-alpha set -channel A -evaluate set 70% +channel -define webp:lossless=true webp:", "webp"},
	{"image.gif", "gif:", "gif"},
	{"grey.gif", "-colorspace Gray gif:", "gif"},
	{"none.tiff", "-compress none tiff:", "tiff"},
	{"lzw.tiff", "-compress lzw tiff:", "tiff"},
	{"zip-grey.tiff", "-colorspace Gray -compress zip tiff:", "tiff"},
	{"rgb16.tiff", "-evaluate multiply 0.9 -depth 16 -compress lzw tiff:", "tiff"},
	{"rgba.tiff", "-alpha set -channel A -evaluate set 50% +channel -compress lzw tiff:", "tiff"},
	{"rgb24.bmp", "-type TrueColor bmp3:", "bmp"},
	{"palette8.bmp", "-colors 200 -type Palette bmp3:", "bmp"},
	{"rgba32.bmp", "-alpha set -channel A -evaluate set 50% +channel bmp:", "bmp"},
	{"image.ppm", "ppm:", "pnm"},
	{"image.pgm", "-colorspace Gray pgm:", "pnm"},
	{"image.pbm", "-monochrome pbm:", "pnm"},
	{"image16.ppm", "-evaluate multiply 0.9 -depth 16 ppm:", "pnm"},
	{"image16.pgm", "-colorspace Gray -evaluate multiply 0.9 -depth 16 pgm:", "pnm"},
	{"ascii.ppm", "-resize 300x -compress none ppm:", "pnm"},
	{"ascii.pgm", "-resize 300x -colorspace Gray -compress none pgm:", "pnm"},
	{"progressive.jpg", "-interlace JPEG -quality 90 jpg:", "jpeg"},
	{"grey.jpg", "-colorspace Gray jpg:", "jpeg"},
	{"cmyk.jpg", "-colorspace CMYK jpg:", "jpeg"},
	{"s444.jpg", "-sampling-factor 1x1 -quality 95 jpg:", "jpeg"},
	{"image.heic", "-resize 50% heic:", "heif"},
	{"image.avif", "-resize 50% avif:", "heif"},
	/* sizes at PDQ's edges: the unfiltered 64x64 path, the 5 px minimum,
	 * below it (zero hash), odd sizes */
	{"64x64.png", "-resize 64x64! png24:", "png"},
	{"65x63.png", "-resize 65x63! png24:", "png"},
	{"5x5.png", "-resize 5x5! png24:", "png"},
	{"4x9.png", "-resize 4x9! png24:", "png"},
	{"1x1.gif", "-resize 1x1! gif:", "gif"},
	{"64x64.bmp", "-resize 64x64! -type TrueColor bmp3:", "bmp"},
	{"64x64.jpg", "-resize 64x64! jpg:", "jpeg"},
	{"tall-7x3000.png", "-resize 7x3000! png24:", "png"},
	/* Grey rows first, then colour: the sink's grey-to-colour replay, on an
	 * image large enough (>= 1 MP) for the two-thread pipe as well. */
	{"grey-then-colour.png", "-resize 1600x1004! \\( +clone -colorspace Gray -type TrueColor "
	 "-crop 1600x600+0+0 \\) -gravity north -compose over -composite png24:", "png"},
	{"grey-then-colour-444.jpg", "-resize 1600x1004! \\( +clone -colorspace Gray -type TrueColor "
	 "-crop 1600x600+0+0 \\) -gravity north -compose over -composite -sampling-factor 1x1 "
	 "-quality 100 jpg:", "jpeg"},
};

static int run_case(const char *src, const gen_case *c)
{
	char *file = path_join(tmp, c->name);
	char args[1024];
	snprintf(args, sizeof args, "'%s' %s", src, c->args);
	/* the output spec is "fmt:path"; convert takes the prefix from args */
	char *colon = strrchr(args, ' ');
	char outspec[4096];
	snprintf(outspec, sizeof outspec, "%s%s", colon + 1, file);
	*colon = '\0';
	int good = 0;
	if (!run_convert(args, outspec)) {
		CHECK(0, "%s: convert could not make it (%s)", c->name, c->args);
		free(file);
		return 0;
	}
	plane ref;
	if (!reference_plane(file, &ref)) {
		free(file);
		return 0;
	}
	veto_image_hashes h;
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = veto_hash_image_file(file, NULL, &h, &err);
	if (rc != VETO_OK) {
		CHECK(rc == VETO_OK, "%s: veto cannot hash it: %s (%s)", c->name, err.message,
		      veto_status_name(rc));
		free(ref.luma);
		free(file);
		return 0;
	}
	veto_pdq_hash want;
	int wq;
	rc = veto_pdq_from_luma(ref.luma, ref.h, ref.w, &want, &wq, NULL, &err);
	REQUIRE(rc == VETO_OK, "veto_pdq_from_luma: %s", err.message);
	char got_hex[65], want_hex[65], oracle_hex[65];
	int oq;
	veto_pdq_to_hex(&h.pdq, got_hex);
	veto_pdq_to_hex(&want, want_hex);
	oracle_pdq(ref.luma, ref.h, ref.w, oracle_hex, &oq, NULL, NULL);

	CHECK_STR(h.format, c->format, "%s: format", c->name);
	CHECK(h.hashed_width == (uint32_t)ref.w && h.hashed_height == (uint32_t)ref.h,
	      "%s: veto hashed %ux%u, ImageMagick gives %dx%d", c->name, h.hashed_width,
	      h.hashed_height, ref.w, ref.h);
	int d = veto_pdq_distance(&h.pdq, &want);
	CHECK(d == 0 && h.quality == wq,
	      "%s: veto's decoder differs from ImageMagick (%d bits)\n    file  %s q=%d\n    "
	      "magick %s q=%d", c->name, d, got_hex, h.quality, want_hex, wq);
	CHECK(strcmp(want_hex, oracle_hex) == 0 && wq == oq,
	      "%s: veto_pdq_from_luma differs from the oracle on ImageMagick's plane\n    veto   "
	      "%s q=%d\n    oracle %s q=%d", c->name, want_hex, wq, oracle_hex, oq);
	good = d == 0 && h.quality == wq && !strcmp(h.format ? h.format : "", c->format);

	/* The other routes through the library must give the same bits: the
	 * filter on a second thread, and the whole-plane path (--auto-orient
	 * keeps the plane even when there is nothing to rotate). */
	veto_hash_options o;
	veto_hash_options_init(&o);
	o.threads = 2;
	veto_image_hashes h2;
	rc = veto_hash_image_file(file, &o, &h2, &err);
	CHECK(rc == VETO_OK && !memcmp(&h2.pdq, &h.pdq, sizeof h.pdq) && h2.quality == h.quality,
	      "%s: threads = 2 gives a different hash", c->name);
	veto_hash_options_init(&o);
	o.auto_orient = 1;
	rc = veto_hash_image_file(file, &o, &h2, &err);
	if (rc == VETO_OK && h2.oriented == 0)
		CHECK(!memcmp(&h2.pdq, &h.pdq, sizeof h.pdq) && h2.quality == h.quality,
		      "%s: the whole-plane path gives a different hash", c->name);
	free(ref.luma);
	unlink(file);
	free(file);
	return good;
}

int main(int argc, char **argv)
{
	const char *td = testdata_dir(argc, argv);
	convert_bin = argc > 2 ? argv[2] : "convert";
	char *src = path_join(td, "pdq/bridge-mods/aaa-orig.jpg");
	tmp = tmpdir_make("decoders");
	/* the tool itself works (else every case below would say so) */
	char probe[256];
	snprintf(probe, sizeof probe, "'%s' -version > /dev/null 2>&1", convert_bin);
	REQUIRE(system(probe) == 0, "ImageMagick's %s does not run: scripts/setup.sh installs it",
	        convert_bin);
	int ok = 0, n = (int)(sizeof cases / sizeof *cases);
	for (int i = 0; i < n; i++) {
		int r = run_case(src, &cases[i]);
		printf("%-18s %s\n", cases[i].name, r ? "ok" : "FAILED");
		fflush(stdout);
		ok += r;
	}
	printf("%d of %d generated files hash as ImageMagick decodes them\n", ok, n);
	tmpdir_remove();
	free(src);
	return check_exit("test_decoders");
}
