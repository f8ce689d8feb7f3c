/*
 * bench_hash.c - what hashing an image costs, next to what decoding it costs.
 *
 * For each JPEG given, in one process and one run, interleaving the
 * contenders round by round so machine noise hits them alike:
 *   decode   libjpeg-turbo decoding the whole image to RGB with the same
 *            settings veto's exact mode uses (the floor any exact hasher
 *            on this decoder pays)
 *   exact    veto_hash_image_buffer, exact mode, PDQ only
 *   exact-2T exact with threads = 2 (the filter beside the decoder): the
 *            latency of one image on an otherwise idle machine
 *   exact+d  exact plus MD5 and SHA-256 of the bytes
 *   fast     fast mode (reduced-scale DCT decode), PDQ only
 *   huff     libjpeg-turbo decoding at 1/8 scale: the entropy-decoding floor
 *            that no DCT-scaling fast mode can go below
 * and, if VETO_REF_PDQ is set to the path of the reference
 * pdq-photo-hasher binary, that binary run on the file (process start and
 * ImageMagick decode included: that is what its users pay).
 *
 * Prints medians over rounds and the ratios the project tracks. Everything
 * is single-threaded: -j scales all contenders alike.
 *
 * Usage: bench_hash [--rounds N] FILE.jpg...
 */
#include "veto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int decode_only(const uint8_t *d, size_t n, int denom)
{
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr je;
	c.err = jpeg_std_error(&je);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, d, (unsigned long)n);
	jpeg_read_header(&c, TRUE);
	c.out_color_space = c.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	c.dct_method = JDCT_ISLOW;
	c.scale_num = 1;
	c.scale_denom = (unsigned)denom;
	jpeg_start_decompress(&c);
	JSAMPROW row = malloc((size_t)c.output_width * c.output_components);
	while (c.output_scanline < c.output_height)
		jpeg_read_scanlines(&c, &row, 1);
	jpeg_finish_decompress(&c);
	int w = (int)c.output_width;
	jpeg_destroy_decompress(&c);
	free(row);
	return w;
}

static double run_ref(const char *ref, const char *path)
{
	fflush(stdout); /* the child must not inherit unflushed output */
	double t = now();
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(ref, ref, path, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? now() - t : -1;
}

enum { DEC, EXACT, EXACT2, EXACTD, FAST, HUFF, REF, NC };
static const char *names[NC] = {"decode", "exact", "exact-2T", "exact+d", "fast", "huff", "ref"};

int main(int argc, char **argv)
{
	int rounds = 7, first = 1;
	if (argc > 2 && !strcmp(argv[1], "--rounds")) {
		rounds = atoi(argv[2]);
		first = 3;
	}
	if (first >= argc || rounds < 1) {
		fprintf(stderr, "usage: bench_hash [--rounds N] FILE.jpg...\n");
		return 2;
	}
	const char *ref = getenv("VETO_REF_PDQ");
	int nfiles = argc - first;
	double (*t)[NC] = calloc((size_t)nfiles, sizeof *t);
	printf("%-28s", "median ms");
	for (int c = 0; c < NC; c++)
		printf(" %9s", c == REF && !ref ? "" : names[c]);
	printf("  size\n");
	for (int f = 0; f < nfiles; f++) {
		const char *path = argv[first + f];
		uint8_t *d;
		size_t n;
		veto_error e;
		if (veto_read_file(path, 0, &d, &n, &e)) {
			fprintf(stderr, "%s\n", e.message);
			return 1;
		}
		veto_hash_options ox, ox2, oxd, of;
		veto_hash_options_init(&ox);
		ox.digests = 0;
		oxd = ox;
		oxd.digests = 1;
		ox2 = ox;
		ox2.threads = 2;
		of = ox;
		of.mode = VETO_MODE_FAST;
		double *s[NC];
		for (int c = 0; c < NC; c++)
			s[c] = calloc((size_t)rounds, sizeof(double));
		veto_image_hashes h;
		int w = 0, hh = 0;
		for (int r = 0; r < rounds; r++) {
			double t0 = now(); decode_only(d, n, 1); s[DEC][r] = now() - t0;
			t0 = now();
			if (veto_hash_image_buffer(d, n, &ox, &h, &e)) { fprintf(stderr, "%s\n", e.message); return 1; }
			s[EXACT][r] = now() - t0;
			w = (int)h.width; hh = (int)h.height;
			t0 = now(); veto_hash_image_buffer(d, n, &ox2, &h, &e); s[EXACT2][r] = now() - t0;
			t0 = now(); veto_hash_image_buffer(d, n, &oxd, &h, &e); s[EXACTD][r] = now() - t0;
			t0 = now(); veto_hash_image_buffer(d, n, &of, &h, &e); s[FAST][r] = now() - t0;
			t0 = now(); decode_only(d, n, 8); s[HUFF][r] = now() - t0;
			if (ref && r < 3)
				s[REF][r] = run_ref(ref, path);
		}
		for (int c = 0; c < NC; c++)
			t[f][c] = (c == REF) ? (ref ? median(s[c], rounds < 3 ? rounds : 3) : 0) : median(s[c], rounds);
		const char *base = strrchr(path, '/');
		printf("%-28s", base ? base + 1 : path);
		for (int c = 0; c < NC; c++)
			if (c != REF || ref) printf(" %9.2f", t[f][c] * 1e3);
			else printf(" %9s", "");
		printf("  %dx%d\n", w, hh);
		for (int c = 0; c < NC; c++)
			free(s[c]);
		free(d);
	}
	printf("\nratios                exact/decode exact-2T/decode exact+d/decode exact/fast fast/huff%s\n",
	       ref ? " ref/exact ref/exact-2T" : "");
	for (int f = 0; f < nfiles; f++) {
		const char *path = argv[first + f], *base = strrchr(path, '/');
		printf("%-21s %12.2f %15.2f %14.2f %10.2f %9.2f", base ? base + 1 : path,
		       t[f][EXACT] / t[f][DEC], t[f][EXACT2] / t[f][DEC], t[f][EXACTD] / t[f][DEC],
		       t[f][EXACT] / t[f][FAST], t[f][FAST] / t[f][HUFF]);
		if (ref) printf(" %9.1f %12.1f", t[f][REF] / t[f][EXACT], t[f][REF] / t[f][EXACT2]);
		printf("\n");
	}
	printf("\ntargets: exact/decode <= 1.5; exact/fast >= 5 on 12 MP; ref/exact >= 8\n"
	       "(huff = 1/8-scale decode, the entropy-decoding floor under any fast mode)\n");
	free(t);
	return 0;
}
