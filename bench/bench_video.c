/*
 * bench_video.c - video hashing speed against a bare decode, in one run.
 *
 * For a set of videos, each round times, over the whole set:
 *   decode    FFmpeg decoding every frame and nothing else, configured as
 *             veto configures it (frame threads, one per core): the floor
 *             any hasher that must see every frame pays;
 *   vpdq-all  veto's vPDQ of every frame at native size (every = 0);
 *   vpdq-1s   veto's vPDQ at the default one frame per second;
 *   tmk       veto's TMK+PDQF (15 fps, 64x64 frames);
 *   reference (optional, VETO_REF_VPDQ=path to vpdq-hash-video): the
 *             reference hashing every frame, one thread as in its docs.
 * and prints medians over the rounds, videos per minute, per-frame costs
 * and the ratios the issue sets targets for (vpdq-all / decode <= 1.5;
 * vpdq-all / vpdq-1s >= 5). Rounds alternate the order of the passes so
 * that drift on a noisy machine does not favour one of them.
 *
 * Usage: bench_video [--rounds N] VIDEO...
 */
#include "veto.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Decode every frame of the first video stream; returns frames or -1. */
static long decode_only(const char *path)
{
	AVFormatContext *fmt = NULL;
	if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
		return -1;
	long frames = -1;
	AVCodecContext *dec = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	if (avformat_find_stream_info(fmt, NULL) < 0)
		goto out;
	int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (si < 0)
		goto out;
	const AVCodec *codec = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
	dec = avcodec_alloc_context3(codec);
	avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar);
	dec->thread_count = 0;
	dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
	if (avcodec_open2(dec, codec, NULL) < 0)
		goto out;
	frames = 0;
	int eof = 0;
	while (!eof) {
		if (av_read_frame(fmt, pkt) < 0) {
			avcodec_send_packet(dec, NULL);
			eof = 1;
		} else {
			if (pkt->stream_index == si)
				avcodec_send_packet(dec, pkt);
			av_packet_unref(pkt);
		}
		while (avcodec_receive_frame(dec, f) == 0)
			frames++;
	}
out:
	av_frame_free(&f);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	return frames;
}

static int run_ref(const char *ref, const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		char out[64];
		snprintf(out, sizeof out, "/tmp/bench-video-ref-%d.txt", (int)getpid());
		int null = open("/dev/null", 1);
		dup2(null, 1);
		dup2(null, 2);
		execl(ref, ref, "-r", "0", "-t", "1", "-i", path, "-o", out, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	char out[64];
	snprintf(out, sizeof out, "/tmp/bench-video-ref-%d.txt", (int)pid);
	unlink(out);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { PASS_DECODE, PASS_ALL, PASS_1S, PASS_TMK, PASS_REF, NP };
static const char *NAMES[NP] = {"decode", "vpdq-all", "vpdq-1s", "tmk", "reference"};

int main(int argc, char **argv)
{
	int rounds = 5, first = 1;
	if (argc > 2 && !strcmp(argv[1], "--rounds")) {
		rounds = atoi(argv[2]);
		first = 3;
	}
	if (first >= argc || rounds < 1) {
		fprintf(stderr, "usage: bench_video [--rounds N] VIDEO...\n");
		return 2;
	}
	av_log_set_level(AV_LOG_QUIET);
	const char *ref = getenv("VETO_REF_VPDQ");
	int nv = argc - first;
	long total_frames = 0;
	for (int i = first; i < argc; i++) {
		long n = decode_only(argv[i]);
		if (n < 0) {
			fprintf(stderr, "bench_video: cannot decode %s\n", argv[i]);
			return 1;
		}
		total_frames += n;
	}
	double *t[NP];
	for (int p = 0; p < NP; p++)
		t[p] = calloc((size_t)rounds, sizeof(double));
	long hashed_1s = 0;
	printf("bench_video: %d videos, %ld frames, %d rounds, %ld cores%s\n", nv, total_frames,
	       rounds, sysconf(_SC_NPROCESSORS_ONLN), ref ? ", with the reference" : "");
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < NP; k++) {
			int p = r % 2 ? NP - 1 - k : k; /* alternate the order */
			if (p == PASS_REF && !ref)
				continue;
			double t0 = now();
			for (int i = first; i < argc; i++) {
				veto_video_options o;
				veto_video_options_init(&o);
				o.digests = 0;
				veto_error err;
				int rc = 0;
				if (p == PASS_DECODE) {
					rc = decode_only(argv[i]) < 0;
				} else if (p == PASS_ALL || p == PASS_1S) {
					o.every = p == PASS_ALL ? 0 : 1;
					veto_vpdq *v = NULL;
					rc = veto_vpdq_hash_file(argv[i], &o, &v, &err);
					if (!rc && p == PASS_1S && r == 0)
						hashed_1s += (long)v->count;
					veto_vpdq_free(v);
				} else if (p == PASS_TMK) {
					veto_tmk *tk = NULL;
					rc = veto_tmk_hash_file(argv[i], &o, &tk, &err);
					veto_tmk_free(tk);
				} else {
					rc = run_ref(ref, argv[i]);
				}
				if (rc) {
					fprintf(stderr, "bench_video: %s failed on %s\n", NAMES[p], argv[i]);
					return 1;
				}
			}
			t[p][r] = now() - t0;
		}
	}
	double m[NP];
	printf("%-10s %10s %12s %12s\n", "pass", "median s", "videos/min", "ms/frame");
	for (int p = 0; p < NP; p++) {
		if (p == PASS_REF && !ref)
			continue;
		m[p] = median(t[p], rounds);
		printf("%-10s %10.3f %12.1f %12.3f\n", NAMES[p], m[p], 60.0 * nv / m[p],
		       1000.0 * m[p] / (double)total_frames);
	}
	printf("vpdq-1s hashed %ld of %ld frames\n", hashed_1s, total_frames);
	printf("ratio vpdq-all / decode   = %.2f  (target <= 1.5)\n", m[PASS_ALL] / m[PASS_DECODE]);
	printf("ratio vpdq-all / vpdq-1s  = %.2f  (target >= 5)\n", m[PASS_ALL] / m[PASS_1S]);
	printf("ratio vpdq-1s / decode    = %.2f\n", m[PASS_1S] / m[PASS_DECODE]);
	printf("ratio tmk / decode        = %.2f\n", m[PASS_TMK] / m[PASS_DECODE]);
	if (ref)
		printf("ratio reference / vpdq-all = %.2f  (veto's speed-up, every frame)\n",
		       m[PASS_REF] / m[PASS_ALL]);
	for (int p = 0; p < NP; p++)
		free(t[p]);
	return 0;
}
