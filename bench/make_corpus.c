/*
 * make_corpus.c - a corpus of real PDQ hashes for bench_index.
 *
 * Real PDQ hashes are not uniform random bits: some bits lean one way
 * across natural images and neighbouring DCT bits are correlated, so the
 * slices an index keys on are unevenly filled. This tool makes hashes that
 * carry that skew by hashing many edited copies of real images:
 *
 *   photos  each file (any format ImageMagick's `convert` reads) is decoded
 *           once to RGB, turned into PDQ luma (0.299 R + 0.587 G + 0.114 B)
 *           and box-shrunk to at most 1024 px on the long side. Files of
 *           the same scene (full-image hashes within distance 63 under any
 *           of the 8 dihedral variants: the bridge photo and its edits, one
 *           photo in 14 colour modes...) share one budget of --per-scene
 *           variants, so no scene dominates because it was saved often.
 *   videos  (*.mp4 *.mov *.mkv *.webm *.avi) decoded by ffmpeg to grey
 *           frames (at most 320 px on the long side); every frame is hashed
 *           as is, plus --per-frame - 1 edited copies of it.
 *
 * An edited copy: a random crop (a rectangle >= 20% of each side, 15% of
 * the time the whole picture), subsampled (nearest neighbour) to a random
 * long side of 64..320 px, contrast x0.75..1.25, brightness -25..+25,
 * gamma 0.75..1.33, mirrored left-right 30% and upside-down 5% of the
 * time; then veto_pdq_from_luma. Hashes with quality < 50 are dropped (a
 * bank would refuse them). Each copy's random choices come from (seed,
 * source, copy number) alone, so the output is the same whatever the
 * thread count.
 *
 * Output (little-endian): "VETOCRP1", u64 count, then count records of
 * 36 bytes: the 32 hash bytes (veto_pdq_hash order), u16 scene number,
 * u8 quality, u8 kind (0 photo, 1 video frame).
 *
 * Usage: make_corpus [--per-scene N] [--per-frame N] [--seed S]
 *                    [--threads T] OUT FILE...
 */
#include "veto.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct plane {
	uint8_t *px;
	int w, h;
} plane;

typedef struct source {
	const char *path;
	int video;
	int scene;
	int nvar;       /* edited copies to make of each frame / the photo */
	int nframes;    /* 1 for photos */
	plane *frames;  /* nframes planes */
} source;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* splitmix64: seeds and the per-copy generator */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unif(uint64_t *s, double a, double b)
{
	return a + (b - a) * (double)(mix(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Run argv, return its whole stdout (malloc'd) or NULL. */
static uint8_t *run_capture(char *const argv[], size_t *len)
{
	int fd[2];
	if (pipe(fd))
		return NULL;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t r = read(fd[0], buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int ppm_int(const uint8_t *d, size_t n, size_t *p)
{
	while (*p < n && (d[*p] == ' ' || d[*p] == '\n' || d[*p] == '\r' || d[*p] == '\t' || d[*p] == '#')) {
		if (d[*p] == '#')
			while (*p < n && d[*p] != '\n')
				(*p)++;
		else
			(*p)++;
	}
	int v = 0;
	while (*p < n && d[*p] >= '0' && d[*p] <= '9')
		v = v * 10 + (d[(*p)++] - '0');
	return v;
}

/* Shrink a float plane by an integer box factor into uint8. */
static plane box_shrink(const float *src, int w, int h, int maxside)
{
	int f = 1;
	while ((w > h ? w : h) / f > maxside)
		f++;
	plane p = {NULL, w / f, h / f};
	p.px = malloc((size_t)p.w * (size_t)p.h);
	for (int y = 0; y < p.h; y++)
		for (int x = 0; x < p.w; x++) {
			double s = 0;
			for (int j = 0; j < f; j++)
				for (int i = 0; i < f; i++)
					s += src[(size_t)(y * f + j) * (size_t)w + (size_t)(x * f + i)];
			p.px[(size_t)y * (size_t)p.w + (size_t)x] = (uint8_t)lrint(s / (f * f));
		}
	return p;
}

static int load_photo(source *s)
{
	char arg[4096];
	snprintf(arg, sizeof arg, "%s[0]", s->path);
	char *argv[] = {"convert", arg, "-colorspace", "sRGB", "-depth", "8", "ppm:-", NULL};
	size_t n;
	uint8_t *d = run_capture(argv, &n);
	if (!d)
		return -1;
	size_t p = 2;
	if (n < 2 || d[0] != 'P' || d[1] != '6') {
		free(d);
		return -1;
	}
	int w = ppm_int(d, n, &p), h = ppm_int(d, n, &p), maxv = ppm_int(d, n, &p);
	p++;
	if (w < 8 || h < 8 || maxv != 255 || n - p < (size_t)w * (size_t)h * 3) {
		free(d);
		return -1;
	}
	float *l = malloc(sizeof(float) * (size_t)w * (size_t)h);
	for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
		const uint8_t *c = d + p + 3 * i;
		l[i] = 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2];
	}
	free(d);
	s->frames = malloc(sizeof(plane));
	s->frames[0] = box_shrink(l, w, h, 1024);
	s->nframes = 1;
	free(l);
	return 0;
}

static int load_video(source *s)
{
	char *pv[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
	              "stream=width,height", "-of", "csv=p=0:s=x", (char *)s->path, NULL};
	size_t n;
	uint8_t *d = run_capture(pv, &n);
	int w = 0, h = 0;
	if (!d || sscanf((char *)d, "%dx%d", &w, &h) != 2 || w < 8 || h < 8) {
		free(d);
		return -1;
	}
	free(d);
	double sc = 320.0 / (w > h ? w : h);
	if (sc > 1)
		sc = 1;
	int sw = ((int)lrint(w * sc)) & ~1, sh = ((int)lrint(h * sc)) & ~1;
	char vf[64];
	snprintf(vf, sizeof vf, "scale=%d:%d", sw, sh);
	char *fv[] = {"ffmpeg", "-nostdin", "-v", "error", "-noautorotate", "-i", (char *)s->path,
	              "-vf", vf, "-f", "rawvideo", "-pix_fmt", "gray", "-", NULL};
	d = run_capture(fv, &n);
	size_t fsz = (size_t)sw * (size_t)sh;
	if (!d || n < fsz)
		return free(d), -1;
	s->nframes = (int)(n / fsz);
	s->frames = malloc(sizeof(plane) * (size_t)s->nframes);
	for (int i = 0; i < s->nframes; i++) {
		s->frames[i].w = sw;
		s->frames[i].h = sh;
		s->frames[i].px = malloc(fsz);
		memcpy(s->frames[i].px, d + (size_t)i * fsz, fsz);
	}
	free(d);
	return 0;
}

/* One edited copy of p (copy 0 of a video frame: the frame as is). */
static int variant(const plane *p, uint64_t rng, int as_is, veto_pdq_hash *out, int *quality)
{
	int x0 = 0, y0 = 0, cw = p->w, ch = p->h;
	double a = 1, b = 0, g = 1;
	int fx = 0, fy = 0, L = 320;
	if (!as_is) {
		if (unif(&rng, 0, 1) >= 0.15) {
			double sx = unif(&rng, 0.2, 1), sy = unif(&rng, 0, 1) < 0.5 ? sx : unif(&rng, 0.2, 1);
			cw = (int)(p->w * sx);
			ch = (int)(p->h * sy);
			if (cw < 8)
				cw = 8 < p->w ? 8 : p->w;
			if (ch < 8)
				ch = 8 < p->h ? 8 : p->h;
			x0 = (int)unif(&rng, 0, p->w - cw + 1);
			y0 = (int)unif(&rng, 0, p->h - ch + 1);
		}
		L = (int)unif(&rng, 64, 321);
		a = unif(&rng, 0.75, 1.25);
		b = unif(&rng, -25, 25);
		g = exp(unif(&rng, -0.2877, 0.2877));
		fx = unif(&rng, 0, 1) < 0.3;
		fy = unif(&rng, 0, 1) < 0.05;
	}
	int cl = cw > ch ? cw : ch;
	double sc = cl > L ? (double)L / cl : 1.0;
	int ow = (int)(cw * sc), oh = (int)(ch * sc);
	if (ow < 5)
		ow = 5;
	if (oh < 5)
		oh = 5;
	float lut[256];
	for (int v = 0; v < 256; v++) {
		double t = a * (255.0 * pow(v / 255.0, g)) + b;
		lut[v] = (float)(t < 0 ? 0 : t > 255 ? 255 : t);
	}
	float *f = malloc(sizeof(float) * (size_t)ow * (size_t)oh);
	for (int y = 0; y < oh; y++) {
		int sy = y0 + (int)((y + 0.5) * ch / oh);
		if (fy)
			sy = y0 + ch - 1 - (sy - y0);
		const uint8_t *row = p->px + (size_t)sy * (size_t)p->w;
		for (int x = 0; x < ow; x++) {
			int sx = x0 + (int)((x + 0.5) * cw / ow);
			if (fx)
				sx = x0 + cw - 1 - (sx - x0);
			f[(size_t)y * (size_t)ow + (size_t)x] = lut[row[sx]];
		}
	}
	veto_error e;
	int rc = veto_pdq_from_luma(f, oh, ow, out, quality, NULL, &e);
	free(f);
	return rc;
}

typedef struct task {
	int src, frame, copy;
} task;

typedef struct job {
	source *srcs;
	task *tasks;
	size_t ntasks;
	uint64_t seed;
	veto_pdq_hash *hashes;
	int *quality;
	size_t next;
	pthread_mutex_t mu;
} job;

static void *worker(void *arg)
{
	job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		size_t i0 = j->next, i1 = i0 + 256 < j->ntasks ? i0 + 256 : j->ntasks;
		j->next = i1;
		pthread_mutex_unlock(&j->mu);
		if (i0 >= j->ntasks)
			return NULL;
		for (size_t i = i0; i < i1; i++) {
			const task *t = &j->tasks[i];
			const source *s = &j->srcs[t->src];
			uint64_t r = j->seed ^ ((uint64_t)t->src << 40) ^ ((uint64_t)t->frame << 20) ^ (uint64_t)t->copy;
			uint64_t rng = mix(&r);
			int as_is = s->video && t->copy == 0;
			if (variant(&s->frames[t->frame], rng, as_is, &j->hashes[i], &j->quality[i]))
				j->quality[i] = -1;
		}
	}
}

static int is_video(const char *p)
{
	const char *e = strrchr(p, '.');
	if (!e)
		return 0;
	return !strcasecmp(e, ".mp4") || !strcasecmp(e, ".mov") || !strcasecmp(e, ".mkv") ||
	       !strcasecmp(e, ".webm") || !strcasecmp(e, ".avi");
}

int main(int argc, char **argv)
{
	int per_scene = 16000, per_frame = 8, threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t seed = 1;
	int a = 1;
	for (; a + 1 < argc && argv[a][0] == '-' && argv[a][1] == '-'; a += 2) {
		if (!strcmp(argv[a], "--per-scene"))
			per_scene = atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--per-frame"))
			per_frame = atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--seed"))
			seed = strtoull(argv[a + 1], NULL, 0);
		else if (!strcmp(argv[a], "--threads"))
			threads = atoi(argv[a + 1]);
		else
			break;
	}
	if (argc - a < 2 || per_scene < 1 || per_frame < 1 || threads < 1) {
		fprintf(stderr, "usage: make_corpus [--per-scene N] [--per-frame N] [--seed S] "
		                "[--threads T] OUT FILE...\n");
		return 2;
	}
	const char *out = argv[a++];
	double t0 = now();
	int nsrc = 0;
	source *srcs = calloc((size_t)(argc - a), sizeof *srcs);
	for (; a < argc; a++) {
		source *s = &srcs[nsrc];
		s->path = argv[a];
		s->video = is_video(s->path);
		if ((s->video ? load_video(s) : load_photo(s))) {
			fprintf(stderr, "make_corpus: cannot decode %s or it is under 8 px (skipped)\n", s->path);
			continue;
		}
		nsrc++;
	}
	/* scenes: photos grouped by their full-image hashes (dihedral-aware);
	 * each video is its own scene */
	veto_pdq_hash (*dih)[VETO_DIH_COUNT] = calloc((size_t)nsrc + 1, sizeof *dih);
	int nscenes = 0, nphoto_scenes;
	for (int i = 0; i < nsrc; i++) {
		source *s = &srcs[i];
		if (s->video)
			continue;
		const plane *p = &s->frames[0];
		float *f = malloc(sizeof(float) * (size_t)p->w * (size_t)p->h);
		for (size_t k = 0; k < (size_t)p->w * (size_t)p->h; k++)
			f[k] = p->px[k];
		veto_pdq_hash h;
		int q;
		veto_pdq_from_luma(f, p->h, p->w, &h, &q, dih[i], NULL);
		free(f);
		s->scene = -1;
		for (int j = 0; j < i && s->scene < 0; j++) {
			if (srcs[j].video)
				continue;
			for (int v = 0; v < VETO_DIH_COUNT; v++)
				if (veto_pdq_distance(&dih[i][0], &dih[j][v]) <= 63) {
					s->scene = srcs[j].scene;
					break;
				}
		}
		if (s->scene < 0)
			s->scene = nscenes++;
	}
	nphoto_scenes = nscenes;
	for (int i = 0; i < nsrc; i++)
		if (srcs[i].video)
			srcs[i].scene = nscenes++;
	free(dih);
	int *members = calloc((size_t)nscenes + 1, sizeof(int));
	for (int i = 0; i < nsrc; i++)
		members[srcs[i].scene]++;
	size_t ntasks = 0, nframes = 0;
	for (int i = 0; i < nsrc; i++) {
		source *s = &srcs[i];
		s->nvar = s->video ? per_frame : (per_scene + members[s->scene] - 1) / members[s->scene];
		ntasks += (size_t)s->nframes * (size_t)s->nvar;
		nframes += s->video ? (size_t)s->nframes : 0;
	}
	free(members);
	fprintf(stderr, "make_corpus: %d sources (%d photo scenes, %d videos, %zu frames) decoded in %.1f s; hashing %zu copies on %d threads\n",
	        nsrc, nphoto_scenes, nscenes - nphoto_scenes, nframes, now() - t0, ntasks, threads);
	job j = {srcs, malloc(sizeof(task) * ntasks), ntasks, seed, malloc(sizeof(veto_pdq_hash) * ntasks),
	         malloc(sizeof(int) * ntasks), 0, PTHREAD_MUTEX_INITIALIZER};
	size_t k = 0;
	for (int i = 0; i < nsrc; i++)
		for (int f = 0; f < srcs[i].nframes; f++)
			for (int c = 0; c < srcs[i].nvar; c++)
				j.tasks[k++] = (task){i, f, c};
	double t1 = now();
	pthread_t *th = malloc(sizeof(pthread_t) * (size_t)threads);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, &j);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	double th_s = now() - t1;
	FILE *fo = fopen(out, "wb");
	if (!fo) {
		fprintf(stderr, "make_corpus: cannot write %s: %s\n", out, strerror(errno));
		return 1;
	}
	uint64_t kept = 0;
	for (size_t i = 0; i < ntasks; i++)
		kept += j.quality[i] >= 50;
	fwrite("VETOCRP1", 1, 8, fo);
	fwrite(&kept, 8, 1, fo);
	for (size_t i = 0; i < ntasks; i++) {
		if (j.quality[i] < 50)
			continue;
		const source *s = &srcs[j.tasks[i].src];
		uint8_t rec[36];
		memcpy(rec, j.hashes[i].bytes, 32);
		uint16_t sc = (uint16_t)s->scene;
		memcpy(rec + 32, &sc, 2);
		rec[34] = (uint8_t)j.quality[i];
		rec[35] = (uint8_t)s->video;
		fwrite(rec, 1, 36, fo);
	}
	if (fclose(fo)) {
		fprintf(stderr, "make_corpus: cannot write %s\n", out);
		return 1;
	}
	fprintf(stderr, "make_corpus: %llu hashes kept (%zu had quality < 50) in %.1f s (%.3f ms per hash per thread) -> %s\n",
	        (unsigned long long)kept, ntasks - (size_t)kept, th_s, th_s * 1e3 * threads / (double)ntasks, out);
	for (int i = 0; i < nsrc; i++) {
		for (int f = 0; f < srcs[i].nframes; f++)
			free(srcs[i].frames[f].px);
		free(srcs[i].frames);
	}
	free(srcs);
	free(j.tasks);
	free(j.hashes);
	free(j.quality);
	free(th);
	return 0;
}
