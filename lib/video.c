/*
 * video.c - open a video and decode its first video stream (FFmpeg).
 *
 * Safety. libavformat is given veto's own I/O callbacks over one file
 * descriptor or one memory range, and its io_open hook refuses every
 * nested open: an HLS playlist, a concat list or a reference movie cannot
 * make FFmpeg read another local file or a URL. An interrupt callback and
 * the read callback enforce the caller's wall-clock deadline, so a file
 * that makes a demuxer spin cannot hold a worker forever. FFmpeg's own
 * logging is silenced once per process (the library never prints; errors
 * come back as veto_error messages naming the file).
 *
 * Compatibility. The references (vpdq's ffmpegwrapper, and the ffmpeg CLI
 * the TMK reference pipes from) pick the *first* stream whose codec type is
 * video, call avformat_find_stream_info (which settles avg_frame_rate and
 * r_frame_rate), and number frames by decoder output. The same here, so
 * frame numbers, timestamps and the fps-based sampling rule agree.
 *
 * Threads. Like the reference, the decoder gets slice threads only (an
 * ordinary x264 stream, one slice per frame, decodes on one thread): frame
 * threads conceal damaged data differently from run to run. The hashers
 * run beside the decoder on the other cores (vpdq.c).
 */
#include "video_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/display.h>
#include <libavutil/log.h>

#define IO_BUFFER 65536

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_log(void *avcl, int level, const char *fmt, va_list vl)
{
	(void)avcl; (void)level; (void)fmt; (void)vl;
}

static void make_quiet(void)
{
	av_log_set_callback(quiet_log);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int past_deadline(const video *v)
{
	return v->deadline > 0 && now_seconds() > v->deadline;
}

static int io_read(void *opaque, uint8_t *buf, int n)
{
	video *v = (video *)opaque;
	if (past_deadline(v))
		return AVERROR_EXIT;
	if (v->pos >= v->size)
		return AVERROR_EOF;
	int64_t left = v->size - v->pos;
	if ((int64_t)n > left)
		n = (int)left;
	if (v->mem) {
		memcpy(buf, v->mem + v->pos, (size_t)n);
	} else {
		ssize_t r;
		do
			r = pread(v->fd, buf, (size_t)n, (off_t)v->pos);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return AVERROR(errno);
		if (r == 0)
			return AVERROR_EOF;
		n = (int)r;
	}
	v->pos += n;
	return n;
}

static int64_t io_seek(void *opaque, int64_t off, int whence)
{
	video *v = (video *)opaque;
	int64_t to;
	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE: return v->size;
	case SEEK_SET: to = off; break;
	case SEEK_CUR: to = v->pos + off; break;
	case SEEK_END: to = v->size + off; break;
	default: return AVERROR(EINVAL);
	}
	if (to < 0)
		return AVERROR(EINVAL);
	v->pos = to;
	return to;
}

/* Nested opens (playlists, references to other files) are never allowed. */
static int io_open_refuse(struct AVFormatContext *s, AVIOContext **pb, const char *url,
                          int flags, AVDictionary **options)
{
	(void)s; (void)pb; (void)url; (void)flags; (void)options;
	return AVERROR(EPERM);
}

static int interrupt_cb(void *opaque)
{
	return past_deadline((const video *)opaque);
}

static void av_message(int e, char *buf, size_t n)
{
	if (av_strerror(e, buf, n) < 0)
		snprintf(buf, n, "error %d", e);
}

static int rotation_of(const AVStream *st)
{
	size_t sz = 0;
	const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &sz);
	if (!m || sz < 9 * sizeof(int32_t))
		return 0;
	double a = -av_display_rotation_get((const int32_t *)m);
	if (a != a) /* NaN: a degenerate matrix */
		return 0;
	long r = lround(a) % 360;
	if (r < 0)
		r += 360;
	return (int)r;
}

static int open_common(video *v, const video_open_params *p, veto_error *err)
{
	pthread_once(&quiet_once, make_quiet);
	char msg[128];
	uint8_t *iobuf = (uint8_t *)av_malloc(IO_BUFFER);
	if (!iobuf)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
	v->io = avio_alloc_context(iobuf, IO_BUFFER, 0, v, io_read, NULL, io_seek);
	if (!v->io) {
		av_free(iobuf);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
	}
	v->fmt = avformat_alloc_context();
	if (!v->fmt)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
	v->fmt->pb = v->io;
	v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	v->fmt->io_open = io_open_refuse;
	v->fmt->interrupt_callback.callback = interrupt_cb;
	v->fmt->interrupt_callback.opaque = v;
	/* An empty URL: the format is chosen by content, never by name. */
	int e = avformat_open_input(&v->fmt, "", NULL, NULL);
	if (e < 0) {
		/* avformat_open_input freed the context on failure. */
		v->fmt = NULL;
		if (e == AVERROR_EXIT)
			return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: time budget ran out while "
			                 "opening the video", v->name);
		av_message(e, msg, sizeof msg);
		return veto_fail(err, VETO_ERR_FORMAT, "%s: not a video veto can read (%s)",
		                 v->name, msg);
	}
	e = avformat_find_stream_info(v->fmt, NULL);
	if (e < 0) {
		av_message(e, msg, sizeof msg);
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: cannot read the stream "
		                 "information (%s)", v->name, msg);
	}
	v->stream_index = -1;
	for (unsigned i = 0; i < v->fmt->nb_streams; i++)
		if (v->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
			v->stream_index = (int)i;
			break;
		}
	if (v->stream_index < 0)
		return veto_fail(err, VETO_ERR_FORMAT, "%s: has no video stream (%s)",
		                 v->name, v->fmt->iformat->name);
	v->st = v->fmt->streams[v->stream_index];
	const AVCodecParameters *cp = v->st->codecpar;
	v->width = cp->width;
	v->height = cp->height;
	if (v->width <= 0 || v->height <= 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: video stream has no size (%dx%d)",
		                 v->name, v->width, v->height);
	uint64_t maxpx = p->max_pixels ? p->max_pixels : VETO_DEFAULT_MAX_PIXELS;
	if ((uint64_t)v->width * (uint64_t)v->height > maxpx)
		return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: frames of %dx%d are over the "
		                 "limit of %llu pixels (see --max-pixels)", v->name, v->width,
		                 v->height, (unsigned long long)maxpx);
	AVRational fr = v->st->avg_frame_rate;
	if (fr.num == 0 || fr.den == 0)
		fr = v->st->r_frame_rate;
	v->frame_rate = (fr.num && fr.den) ? (double)fr.num / (double)fr.den : 0.0;
	if (!(v->frame_rate > 0))
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: video has no frame rate", v->name);
	v->time_base = v->st->time_base;
	v->duration = -1;
	if (v->fmt->duration != AV_NOPTS_VALUE && v->fmt->duration > 0)
		v->duration = (double)v->fmt->duration / AV_TIME_BASE;
	else if (v->st->duration != AV_NOPTS_VALUE && v->st->duration > 0)
		v->duration = (double)v->st->duration * av_q2d(v->st->time_base);
	v->nb_frames = v->st->nb_frames;
	v->rotation = rotation_of(v->st);

	const AVCodec *codec = avcodec_find_decoder(cp->codec_id);
	if (!codec)
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: no decoder for the video "
		                 "codec \"%s\"", v->name, avcodec_get_name(cp->codec_id));
	v->dec = avcodec_alloc_context3(codec);
	if (!v->dec)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
	if (avcodec_parameters_to_context(v->dec, cp) < 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: bad codec parameters", v->name);
	/* The reference's threading: slice threads only. Frame threads would
	 * decode valid streams to the same bits, but conceal damage in a
	 * racy way (the same truncated file gave different last frames from
	 * run to run), and a hash must not depend on the run. Parallelism
	 * comes from hashing beside the decoder instead. */
	v->dec->thread_count = p->threads > 0 ? p->threads : 0;
	v->dec->thread_type = FF_THREAD_SLICE;
	v->ref_no_flush = v->stream_index != 0;
	v->dec->pkt_timebase = v->st->time_base;
	/* As the ffmpeg CLI does (TMK's timestamps depend on it; pixels do not). */
	v->dec->framerate = v->st->avg_frame_rate;
	e = avcodec_open2(v->dec, codec, NULL);
	if (e < 0) {
		av_message(e, msg, sizeof msg);
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: cannot open the %s decoder (%s)",
		                 v->name, codec->name, msg);
	}
	v->pkt = av_packet_alloc();
	v->frame = av_frame_alloc();
	if (!v->pkt || !v->frame)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
	v->max_pixels = maxpx;
	return VETO_OK;
}

static video *video_alloc(const video_open_params *p)
{
	video *v = (video *)calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->fd = -1;
	snprintf(v->name, sizeof v->name, "%s", p->name ? p->name : "<buffer>");
	v->deadline = p->deadline;
	return v;
}

int video_open_fd(video **out, int fd, const video_open_params *p, veto_error *err)
{
	*out = NULL;
	video *v = video_alloc(p);
	if (!v)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	v->fd = fd;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		int e = errno;
		video_close(v);
		return veto_fail(err, VETO_ERR_IO, "%s: cannot seek (%s); videos must be "
		                 "regular files", p->name ? p->name : "<fd>", strerror(e));
	}
	v->size = end;
	int rc = open_common(v, p, err);
	if (rc) {
		video_close(v);
		return rc;
	}
	*out = v;
	return VETO_OK;
}

int video_open_memory(video **out, const uint8_t *mem, size_t size,
                      const video_open_params *p, veto_error *err)
{
	*out = NULL;
	video *v = video_alloc(p);
	if (!v)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	v->mem = mem;
	v->size = (int64_t)size;
	int rc = open_common(v, p, err);
	if (rc) {
		video_close(v);
		return rc;
	}
	*out = v;
	return VETO_OK;
}

static void mark_corrupt(video *v, const char *what, int e)
{
	if (v->corrupt)
		return;
	char msg[128];
	av_message(e, msg, sizeof msg);
	v->corrupt = 1;
	snprintf(v->corrupt_msg, sizeof v->corrupt_msg, "%s after frame %lld (%s)", what,
	         (long long)v->frames_out, msg);
}

/* ------------------------------------------- the ffmpeg CLI's timestamps
 * (fftools/ffmpeg.c 5.1: process_input_packet and decode_video), for TMK,
 * whose reference reads frames from that CLI. Only frames without a pts of
 * their own (containers such as AVI with B frames) are affected. */

static int64_t cli_frame_duration(const video *v)
{
	const AVRational fr = v->dec->framerate;
	if (!fr.num || !fr.den || v->dec->ticks_per_frame <= 0)
		return 0;
	const AVCodecParserContext *pc = av_stream_get_parser(v->st);
	const int ticks = pc ? pc->repeat_pict + 1 : v->dec->ticks_per_frame;
	return ((int64_t)AV_TIME_BASE * fr.den * ticks) / fr.num / v->dec->ticks_per_frame;
}

static void cli_advance(video *v, int64_t duration)
{
	if (v->cli_next_dts != AV_NOPTS_VALUE && duration)
		v->cli_next_dts += duration;
	else
		v->cli_next_dts = AV_NOPTS_VALUE;
}

/* A packet about to be sent: the CLI's dts replaces its own. */
static void cli_packet(video *v, AVPacket *pkt)
{
	const AVRational tb = v->st->time_base;
	if (!v->cli_started) {
		const AVRational afr = v->st->avg_frame_rate;
		v->cli_next_dts = afr.num ? (int64_t)(-v->dec->has_b_frames * AV_TIME_BASE / av_q2d(afr)) : 0;
		v->cli_started = 1;
	}
	if (pkt->dts != AV_NOPTS_VALUE)
		v->cli_next_dts = av_rescale_q(pkt->dts + v->cli_shift, tb, AV_TIME_BASE_Q);
	const int64_t dts = v->cli_next_dts;
	pkt->dts = dts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(dts, AV_TIME_BASE_Q, tb) - v->cli_shift;
	v->cli_duration = pkt->duration ? av_rescale_q(pkt->duration, tb, AV_TIME_BASE_Q)
	                                : cli_frame_duration(v);
	cli_advance(v, v->cli_duration); /* the first decode call always advances */
	v->cli_frames = 0;
}

/* Draining: each receive is one decode_video(NULL) call of the CLI, which
 * first buffers its current dts. */
static void cli_drain_call(video *v)
{
	if (v->cli_nbuf == v->cli_capbuf) {
		size_t cap = v->cli_capbuf ? 2 * v->cli_capbuf : 16;
		int64_t *n = (int64_t *)realloc(v->cli_buf, cap * sizeof *n);
		if (!n)
			return; /* only the stamps of pts-less final frames suffer */
		v->cli_buf = n;
		v->cli_capbuf = cap;
	}
	const int64_t d = v->cli_next_dts;
	v->cli_buf[v->cli_nbuf++] = d == AV_NOPTS_VALUE ? AV_NOPTS_VALUE
	                                                 : av_rescale_q(d, AV_TIME_BASE_Q, v->st->time_base);
}

static void cli_frame(video *v, AVFrame *f)
{
	if (!v->draining) {
		/* each frame after the first from one packet is another call */
		if (v->cli_frames++ > 0)
			cli_advance(v, v->cli_duration);
		return;
	}
	if (f->best_effort_timestamp == AV_NOPTS_VALUE && v->cli_nbuf > 0) {
		const int64_t t = v->cli_buf[0];
		memmove(v->cli_buf, v->cli_buf + 1, (v->cli_nbuf - 1) * sizeof *v->cli_buf);
		v->cli_nbuf--;
		f->best_effort_timestamp = t == AV_NOPTS_VALUE ? t : t - v->cli_shift;
	}
}

/* Read the next packet of our stream into v->pkt: 1, or 0 at the end of
 * the container (the decoder has then been sent the flush). Packets the
 * sampling plan drops are skipped here. */
static int read_packet(video *v)
{
	for (;;) {
		int e = av_read_frame(v->fmt, v->pkt);
		if (e < 0) {
			if (e == AVERROR_EXIT)
				v->timed_out = 1;
			else if (e != AVERROR_EOF)
				mark_corrupt(v, "reading the container failed", e);
			/* Like the reference: end of packets, then flush. */
			avcodec_send_packet(v->dec, NULL);
			v->draining = 1;
			return 0;
		}
		if (v->pkt->stream_index != v->stream_index) {
			av_packet_unref(v->pkt);
			continue;
		}
		const int64_t idx = v->pkt_index++;
		if (v->planned) {
			if ((size_t)idx >= v->plan_n) {
				v->replan = 1; /* more packets than the pre-pass saw */
				av_packet_unref(v->pkt);
				return -1;
			}
			const int act = v->plan_action[idx];
			if (act == PLAN_DROP) {
				av_packet_unref(v->pkt);
				continue;
			}
			v->dec->skip_frame = act == PLAN_NONREF ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
		}
		return 1;
	}
}

int video_next(video *v, AVFrame **frame, int64_t *number, veto_error *err)
{
	int stalls = 0;
	while (!v->ended) {
		if (v->cli_ts && v->draining)
			cli_drain_call(v);
		int e = avcodec_receive_frame(v->dec, v->frame);
		if (v->cli_ts && v->draining)
			cli_advance(v, cli_frame_duration(v));
		if (e >= 0) {
			if (v->cli_ts)
				cli_frame(v, v->frame);
			if (v->frame->width <= 0 || v->frame->height <= 0 ||
			    (uint64_t)v->frame->width * (uint64_t)v->frame->height > v->max_pixels) {
				v->ended = 1;
				return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: frame %lld is %dx%d, "
				                 "over the pixel limit", v->name,
				                 (long long)v->frames_out, v->frame->width,
				                 v->frame->height);
			}
			*frame = v->frame;
			if (v->planned && video_plan_number(v, v->frame, number) != 0) {
				v->replan = 1;
				v->ended = 1;
				return 0;
			}
			if (!v->planned)
				*number = v->frames_out;
			v->frames_out++;
			if (v->tap && v->tap(v->tap_ctx, v->frame, *number)) {
				v->ended = 1;
				return 0;
			}
			return 1;
		}
		if (e == AVERROR_EOF)
			break;
		if (e != AVERROR(EAGAIN)) {
			/* The reference stops at the first frame the decoder fails on. */
			mark_corrupt(v, "the decoder failed", e);
			break;
		}
		if (v->draining) /* EAGAIN while draining: nothing more will come */
			break;
		/* The decoder wants input: the next packet of our stream (or the
		 * one it refused last time, which is never dropped). */
		if (!v->pending) {
			int r = read_packet(v);
			if (r < 0)
				break;
			if (r == 0)
				continue;
			v->pending = v->pkt;
			if (v->cli_ts)
				cli_packet(v, v->pending);
		}
		e = avcodec_send_packet(v->dec, v->pending);
		if (e == AVERROR(EAGAIN)) {
			/* Receive first, then send again; never both refusing. */
			if (++stalls > 2) {
				mark_corrupt(v, "the decoder stalled", e);
				break;
			}
			continue;
		}
		stalls = 0;
		av_packet_unref(v->pending);
		v->pending = NULL;
		if (e < 0) {
			mark_corrupt(v, "a packet failed to decode", e);
			break;
		}
	}
	v->ended = 1;
	return 0;
}

void video_close(video *v)
{
	if (!v)
		return;
	video_plan_free(v);
	free(v->cli_buf);
	av_frame_free(&v->frame);
	av_packet_free(&v->pkt);
	avcodec_free_context(&v->dec);
	if (v->fmt)
		avformat_close_input(&v->fmt); /* does not free a custom pb */
	if (v->io) {
		av_freep(&v->io->buffer);
		avio_context_free(&v->io);
	}
	free(v);
}

int video_probe(const uint8_t *data, size_t size)
{
	if (!data || size < 12)
		return 0;
	pthread_once(&quiet_once, make_quiet);
	/* libavformat wants AVPROBE_PADDING_SIZE zero bytes after the data. */
	size_t n = size < 4096 ? size : 4096;
	uint8_t *buf = (uint8_t *)calloc(1, n + AVPROBE_PADDING_SIZE);
	if (!buf)
		return 0;
	memcpy(buf, data, n);
	AVProbeData pd = { .filename = "", .buf = buf, .buf_size = (int)n, .mime_type = NULL };
	int score = 0;
	const AVInputFormat *f = av_probe_input_format3(&pd, 1, &score);
	free(buf);
	/* Weak guesses (raw streams matched on a few bytes, text formats) are
	 * not enough to call a file a video; real containers score high. */
	return f != NULL && score >= AVPROBE_SCORE_EXTENSION;
}
