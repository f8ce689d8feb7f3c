/*
 * video_internal.h - the demux/decode layer the video hashers share.
 *
 * lib/video.c opens a file (or a memory buffer) with libavformat through
 * veto's own I/O callbacks, so a hostile container can never make FFmpeg
 * open another file or a URL (nested opens are refused), picks the first
 * video stream as the references do, and hands out decoded frames in
 * presentation order, numbered as the references number them: the n-th
 * frame the decoder returns is frame n - 1 (AVCodecContext.frame_number - 1
 * in vpdq's ffmpegwrapper). What a frame *is* (its pixels, its pts) is
 * FFmpeg's; what the hashers do with it (swscale to RGB24, PDQ, TMK) lives
 * in vpdq.c and tmk*.c.
 *
 * Decoding uses slice threads only, as the reference does (video.c says
 * why); the hashers are where the parallelism is.
 */
#ifndef VETO_VIDEO_INTERNAL_H
#define VETO_VIDEO_INTERNAL_H

#include "internal.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>

typedef struct video_open_params {
	const char *name;       /* for messages; the path or "<buffer>" */
	uint64_t max_pixels;    /* per frame; 0 = VETO_DEFAULT_MAX_PIXELS */
	int threads;            /* decoder threads; 0 = one per core */
	double deadline;        /* CLOCK_MONOTONIC seconds; 0 = none. Past it,
	                         * I/O fails and video_next ends (timed_out) */
} video_open_params;

typedef struct video {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVStream *st;
	int stream_index;
	AVIOContext *io;
	/* Source of bytes: a file descriptor or a memory range. */
	int fd;
	const uint8_t *mem;
	size_t mem_size;
	int64_t pos;
	int64_t size;
	char name[256];
	/* What the references read off the stream. */
	int width, height;      /* codec parameters' size */
	double frame_rate;      /* avg_frame_rate, else r_frame_rate */
	AVRational time_base;
	double duration;        /* seconds, from the container; -1 unknown */
	int64_t nb_frames;      /* from the container; 0 unknown */
	int rotation;           /* display-matrix rotation in degrees, 0 none */
	/* Decoding state. */
	AVPacket *pkt;
	AVFrame *frame;
	int64_t frames_out;     /* frames returned so far */
	int draining;           /* sent the flush packet */
	int ref_no_flush;       /* the video is not stream 0: vpdq-hash-video
	                         * never flushes its decoder then (its flush
	                         * packet is an empty one with stream index 0,
	                         * which it filters out as "not video"), so the
	                         * frames a decoder returns only when flushed
	                         * are not in its output; vPDQ leaves them out
	                         * too (TMK's reference, the ffmpeg CLI, keeps
	                         * them). */
	int ended;
	int corrupt;            /* a packet failed to decode (results partial) */
	int timed_out;          /* the deadline passed (results partial) */
	/* Called with every frame video_next returns, before the caller sees
	 * it: how one decoding pass feeds vPDQ while TMK drives the loop. A
	 * nonzero return ends decoding. */
	int (*tap)(void *ctx, const AVFrame *f, int64_t number);
	void *tap_ctx;
	AVPacket *pending;      /* a packet the decoder refused with EAGAIN */
	int64_t pkt_index;      /* packets of our stream read so far */
	/* Sampling plan (video_plan.c): per packet, decode / skippable / drop. */
	int planned;
	int replan;             /* the plan turned out wrong: decode again */
	int64_t *plan_pts;      /* every packet's pts, sorted: frame n's pts */
	uint8_t *plan_action;   /* by packet index */
	size_t plan_n;
	int64_t plan_last;
	/* The ffmpeg CLI's timestamp bookkeeping (video.c, cli_*), replayed for
	 * TMK when `cli_ts` is set: it overwrites every packet's dts with its
	 * own running estimate and stamps frames the decoder returns at the
	 * end without a timestamp with the dts it had buffered then. */
	int cli_ts;
	int64_t cli_shift;      /* the CLI's ts_offset, stream time base */
	int cli_started;
	int64_t cli_next_dts;   /* AV_TIME_BASE units, shifted */
	int64_t cli_duration;   /* of the packet last sent, AV_TIME_BASE */
	int cli_frames;         /* frames received since that packet */
	int64_t *cli_buf;       /* the CLI's dts_buffer (stream time base) */
	size_t cli_nbuf, cli_capbuf;
	double deadline;
	uint64_t max_pixels;
	char corrupt_msg[200];
} video;

/* Open `p->name` (fd >= 0: that descriptor, which the caller keeps) or the
 * memory range [mem, mem+size) (which must outlive the video). */
int video_open_fd(video **out, int fd, const video_open_params *p, veto_error *err);
int video_open_memory(video **out, const uint8_t *mem, size_t size,
                      const video_open_params *p, veto_error *err);
/* Next decoded frame: 1 and *frame (owned by v, valid until the next call)
 * with *number its reference frame number; 0 at the end; < 0 on an error
 * that stops decoding (the message names the file). A damaged packet the
 * decoder rejects ends decoding as the reference does, but is reported as
 * v->corrupt (results so far stay valid, marked partial), not as an error. */
int video_next(video *v, AVFrame **frame, int64_t *number, veto_error *err);
void video_close(video *v);

/* Plan to decode only what hashing frame n for n % mod == 0 needs (see
 * video_plan.c). Call before the first video_next. Returns 1 if a plan is
 * in force (frame numbers then come from the container), 0 if the file or
 * codec does not allow one (everything is decoded, as without a plan).
 * If decoding contradicts the plan, video_next ends with v->replan set and
 * the caller must decode the file again without one. */
enum { PLAN_DECODE = 0, PLAN_NONREF = 1, PLAN_DROP = 2 };

/* Frames the stream had up to where decoding stopped: what the decoder
 * returned, or with a plan (which skips frames) what the container lists. */
static inline int64_t video_frames_total(const video *v)
{
	if (!v->planned)
		return v->frames_out;
	return (v->corrupt || v->timed_out) ? v->plan_last + 1 : (int64_t)v->plan_n;
}
int video_plan_sampling(video *v, int mod);
int video_plan_number(video *v, const AVFrame *f, int64_t *number);
void video_plan_free(video *v);

/* 1 if `data` looks like a container FFmpeg can demux as video. Used only
 * after the image sniffer said no. */
int video_probe(const uint8_t *data, size_t size);

#endif
