/*
 * tmk_frames.c - the reference's 15 fps 64x64 RGB24 frame stream, rebuilt
 * from FFmpeg's libraries, and the TMK+PDQF hashing driver over it.
 *
 * The reference (tmk-hash-video) reads frames from
 *   ffmpeg -nostdin -i FILE -s 64:64 -an -f rawvideo -c:v rawvideo
 *          -pix_fmt rgb24 -r 15 pipe:1
 * so the bytes it hashes are whatever that command's code path produces.
 * What the FFmpeg 5.1 CLI does there (fftools/ sources of 5.1.9, the
 * version Debian 12 ships; line numbers from that tree):
 *  - Timestamps: the input file's offset is minus the container's start
 *    time (ffmpeg_opt.c:1325-1368, ts_offset), added to every packet
 *    (ffmpeg.c process_input); the decoded frame's pts is its
 *    best_effort_timestamp (ffmpeg.c:2235-2253), in the stream time base.
 *    For formats with timestamp discontinuities (MPEG-TS) the offset is
 *    the start of the enabled streams only, i.e. of the video stream
 *    (ffmpeg.c process_input, wrap_correction_done block).
 *  - Filters (ffmpeg_filter.c): buffer (stream time base, the frame's
 *    size, format and aspect, av_guess_frame_rate) -> the autorotate
 *    filters for the display matrix, frame side data first, else the
 *    stream's (transpose / hflip / vflip / rotate, :773-808) -> scale
 *    with args "64:64" and no sws flags (so swscale's default, bicubic;
 *    :443-468) -> format "rgb24" (:471-485) -> buffersink. `-r` adds no
 *    fps filter (its branch is `if (ost->frame_rate.num && 0)`, :487);
 *    the graph runs with libavfilter's default threads and is
 *    rebuilt when the frame size, format or display matrix changes
 *    (ffmpeg.c:1951-2009).
 *  - Rate: the encoder time base is 1/15 (ffmpeg.c:3020), and the
 *    constant rate comes from do_video_out (ffmpeg.c:1079-1296): frames
 *    are dropped or repeated by comparing each frame's exact timestamp in
 *    1/15 s units (adjust_frame_pts_to_encoder_tb, :765-807) with the
 *    output clock; the method is CFR, or VSCFR (no repeats before the
 *    first frame) when the input file has a single stream (ffmpeg_opt.c:
 *    2000-2022; rawvideo is AVFMT_NOTIMESTAMPS, so never VFR); at the end
 *    the last frame is repeated the median of the last three "previous
 *    frame repeat" counts.
 * This file builds the same filter graph with the same arguments (so
 * swscale runs the same code on the same pixels) and re-implements
 * do_video_out's arithmetic in the same double/float operations.
 *
 * The CLI's own timestamp bookkeeping (it overwrites each packet's dts
 * with its running estimate, and stamps the frames the decoder returns at
 * the end without a pts with the dts it buffered then: ffmpeg.c
 * process_input_packet / decode_video, dts_buffer) is replayed by video.c
 * (cli_*) while TMK runs; it decides the last frames of pts-less
 * containers such as AVI with B frames.
 *
 * Known differences, all on damaged or unusual files: veto decodes the
 * first video stream (the CLI picks the largest, ffmpeg_opt.c
 * open_output_file), stops at the first packet the decoder rejects (the
 * CLI logs and goes on), and decodes with slice threads where the CLI
 * uses frame threads (the same bits on valid data; on damaged data the
 * CLI's own output varies from run to run).
 */
#include "tmk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/display.h>
#include <libavutil/mathematics.h>

/* ffmpeg.c: a frame repeated more than dts_error_threshold * 30 times is
 * skipped instead (dts_error_threshold defaults to 3600 * 30). */
#define DUP_LIMIT (3600.0f * 30 * 30)

struct tmk_frames {
	video *v;
	/* The graph, and the input parameters it was built for. */
	AVFilterGraph *graph;
	AVFilterContext *src, *sink;
	int in_w, in_h, in_fmt;
	int has_matrix;
	int32_t matrix[9];
	int64_t pts_shift;      /* the CLI's ts_offset in the stream time base */
	int vscfr;              /* single-stream input: VSCFR, else CFR */
	AVFrame *in;            /* our reference to the decoded frame */
	AVFrame *filtered;
	/* do_video_out's state. */
	int64_t sync_opts;      /* next output frame number */
	int64_t frame_number;   /* frames output */
	int64_t last_nb0[3];
	int last_dropped;
	AVFrame *last;          /* the previous filtered frame */
	int64_t last_id;
	int64_t next_id;
	/* Output pending: `a` n_a times, then `b` n_b times. */
	AVFrame *qa, *qb;
	int64_t na, nb, ida, idb;
	int64_t shown_id;       /* which frame rgb[] holds */
	int eof;                /* no more input: flushed */
	int done;
	uint8_t rgb[TMK_FRAME_BYTES];
};

static void av_message(int e, char *buf, size_t n)
{
	if (av_strerror(e, buf, n) < 0)
		snprintf(buf, n, "error %d", e);
}

static int av_fail(veto_error *err, const tmk_frames *f, const char *what, int e)
{
	char msg[128];
	av_message(e, msg, sizeof msg);
	return veto_fail(err, e == AVERROR(ENOMEM) ? VETO_ERR_NOMEM : VETO_ERR_CORRUPT,
	                 "%s: %s (%s)", f->v->name, what, msg);
}

/* ------------------------------------------------------ the filter graph --- */

/* cmdutils.c get_rotation: degrees clockwise, rounded, in [0, 360). */
static double rotation_of(const int32_t *m)
{
	double theta = 0;
	if (m)
		theta = -round(av_display_rotation_get(m));
	theta -= 360 * floor(theta / 360 + 0.9 / 360);
	return theta;
}

static int add_filter(tmk_frames *f, AVFilterContext **last, const char *name,
                      const char *args, veto_error *err)
{
	AVFilterContext *c;
	int e = avfilter_graph_create_filter(&c, avfilter_get_by_name(name), name, args,
	                                     NULL, f->graph);
	if (e < 0)
		return av_fail(err, f, "cannot set up the frame scaler", e);
	if ((e = avfilter_link(*last, 0, c, 0)) < 0)
		return av_fail(err, f, "cannot set up the frame scaler", e);
	*last = c;
	return VETO_OK;
}

static int build_graph(tmk_frames *f, const AVFrame *fr, veto_error *err)
{
	avfilter_graph_free(&f->graph);
	f->src = f->sink = NULL;
	f->graph = avfilter_graph_alloc();
	if (!f->graph)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	const AVStream *st = f->v->st;
	AVRational tb = st->time_base;
	AVRational fps = av_guess_frame_rate(f->v->fmt, (AVStream *)st, NULL);
	AVRational sar = fr->sample_aspect_ratio;
	if (!sar.den)
		sar = (AVRational){ 0, 1 };
	char args[256];
	int n = snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:"
	                 "pixel_aspect=%d/%d", fr->width, fr->height, fr->format, tb.num,
	                 tb.den, sar.num, sar.den);
	if (fps.num && fps.den)
		snprintf(args + n, sizeof args - (size_t)n, ":frame_rate=%d/%d", fps.num, fps.den);
	int e = avfilter_graph_create_filter(&f->src, avfilter_get_by_name("buffer"), "in",
	                                     args, NULL, f->graph);
	if (e < 0)
		return av_fail(err, f, "cannot set up the frame scaler", e);
	AVFilterContext *last = f->src;
	int rc = VETO_OK;

	/* Autorotate, as the CLI: the frame's display matrix, else the
	 * stream's. */
	const int32_t *m = f->has_matrix ? f->matrix : NULL;
	size_t msize = 0;
	if (!m) {
		m = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &msize);
		if (m && msize < 9 * sizeof(int32_t))
			m = NULL;
	}
	const double theta = rotation_of(m);
	if (fabs(theta - 90) < 1.0) {
		rc = add_filter(f, &last, "transpose", m[3] > 0 ? "cclock_flip" : "clock", err);
	} else if (fabs(theta - 180) < 1.0) {
		if (m[0] < 0)
			rc = add_filter(f, &last, "hflip", NULL, err);
		if (!rc && m[4] < 0)
			rc = add_filter(f, &last, "vflip", NULL, err);
	} else if (fabs(theta - 270) < 1.0) {
		rc = add_filter(f, &last, "transpose", m[3] < 0 ? "clock_flip" : "cclock", err);
	} else if (fabs(theta) > 1.0) {
		char rot[64];
		snprintf(rot, sizeof rot, "%f*PI/180", theta);
		rc = add_filter(f, &last, "rotate", rot, err);
	} else if (m && m[4] < 0) {
		rc = add_filter(f, &last, "vflip", NULL, err);
	}
	if (!rc)
		rc = add_filter(f, &last, "scale", "64:64", err);
	if (!rc)
		rc = add_filter(f, &last, "format", "rgb24", err);
	if (rc)
		return rc;
	e = avfilter_graph_create_filter(&f->sink, avfilter_get_by_name("buffersink"), "out",
	                                 NULL, NULL, f->graph);
	if (e >= 0)
		e = avfilter_link(last, 0, f->sink, 0);
	if (e >= 0)
		e = avfilter_graph_config(f->graph, NULL);
	if (e < 0)
		return av_fail(err, f, "cannot set up the frame scaler", e);
	f->in_w = fr->width;
	f->in_h = fr->height;
	f->in_fmt = fr->format;
	return VETO_OK;
}

/* ffmpeg.c ifilter_send_frame: rebuild when size, format or the frame's
 * display matrix change. */
static int needs_rebuild(tmk_frames *f, const AVFrame *fr)
{
	const AVFrameSideData *sd = av_frame_get_side_data(fr, AV_FRAME_DATA_DISPLAYMATRIX);
	int change = !f->graph || fr->width != f->in_w || fr->height != f->in_h ||
	             fr->format != f->in_fmt;
	if (sd && sd->size >= sizeof f->matrix) {
		if (!f->has_matrix || memcmp(sd->data, f->matrix, sizeof f->matrix) != 0)
			change = 1;
	} else if (f->has_matrix) {
		change = 1;
	}
	if (change) {
		f->has_matrix = sd && sd->size >= sizeof f->matrix;
		if (f->has_matrix)
			memcpy(f->matrix, sd->data, sizeof f->matrix);
	}
	return change;
}

/* ------------------------------------------------- the constant frame rate --- */

static int64_t mid3(int64_t a, int64_t b, int64_t c)
{
	if (a > b) {
		if (c > b)
			b = c > a ? a : c;
	} else if (b > c) {
		b = c > a ? c : a;
	}
	return b;
}

/* do_video_out for one filtered frame (NULL: the end of the stream). Sets
 * up the pending output: the previous frame na times, this one nb times. */
static void video_out(tmk_frames *f, AVFrame *pic)
{
	const AVRational enc_tb = { 1, TMK_FPS };
	const AVStream *st = f->v->st;
	double sync_ipts = (double)AV_NOPTS_VALUE;
	int64_t nb_frames, nb0_frames;

	if (pic && pic->pts != AV_NOPTS_VALUE) {
		/* The frame's time in output frames, with 26 extra bits, nudged
		 * off exact midpoints (FFSIGN(0) is -1, as in FFmpeg). */
		const AVRational filter_tb = av_buffersink_get_time_base(f->sink);
		AVRational tb = enc_tb;
		const int extra_bits = av_clip(29 - av_log2((unsigned)tb.den), 0, 16);
		tb.den <<= extra_bits;
		double fpts = (double)av_rescale_q(pic->pts, filter_tb, tb);
		fpts /= 1 << extra_bits;
		fpts += (fpts > 0 ? 1 : -1) * 1.0 / (1 << 17);
		sync_ipts = fpts;
		pic->pts = av_rescale_q(pic->pts, filter_tb, enc_tb);
	}

	if (!pic) {
		nb0_frames = nb_frames = mid3(f->last_nb0[0], f->last_nb0[1], f->last_nb0[2]);
	} else {
		/* How long the frame lasts, in output frames. */
		double duration = 0;
		const AVRational fr = av_buffersink_get_frame_rate(f->sink);
		if (fr.num > 0 && fr.den > 0)
			duration = 1 / (av_q2d(fr) * av_q2d(enc_tb));
		if (st->start_time != AV_NOPTS_VALUE)
			duration = FFMIN(duration, 1 / (av_q2d((AVRational){ TMK_FPS, 1 }) *
			                                av_q2d(enc_tb)));
		/* lrintf: the CLI rounds this double through float. */
		if (lrintf(pic->pkt_duration * av_q2d(st->time_base) / av_q2d(enc_tb)) > 0)
			duration = lrintf(pic->pkt_duration * av_q2d(st->time_base) /
			                  av_q2d(enc_tb));
		double delta0 = sync_ipts - (double)f->sync_opts;
		double delta = delta0 + duration;
		nb0_frames = 0;
		nb_frames = 1;
		if (delta0 < 0 && delta > 0) {
			sync_ipts = (double)f->sync_opts;
			duration += delta0;
			delta0 = 0;
		}
		if (f->vscfr && f->frame_number == 0 && delta0 >= 0.5) {
			/* VSCFR: no repeats of the first frame for a late start. */
			delta = duration;
			delta0 = 0;
			f->sync_opts = llrint(sync_ipts);
		}
		if (delta < -1.1) {
			nb_frames = 0;
		} else if (delta > 1.1) {
			nb_frames = llrintf((float)delta);
			if (delta0 > 1.1)
				nb0_frames = llrintf((float)(delta0 - 0.6));
		}
	}
	nb0_frames = FFMIN(nb0_frames, nb_frames);
	f->last_nb0[2] = f->last_nb0[1];
	f->last_nb0[1] = f->last_nb0[0];
	f->last_nb0[0] = nb0_frames;

	f->na = f->nb = 0;
	if ((float)nb_frames > DUP_LIMIT &&
	    nb_frames > (nb0_frames && f->last_dropped) + (nb_frames > nb0_frames))
		return; /* the CLI skips the frame, keeping its state otherwise */
	f->last_dropped = nb_frames == nb0_frames && pic;

	/* Output frames 0..nb0-1 are the previous frame, the rest this one
	 * (this one throughout if there is no previous frame; at the end,
	 * the previous frame or nothing). Counts below zero (llrintf out of
	 * range) output nothing, as the CLI's loop. */
	const int64_t total = nb_frames > 0 ? nb_frames : 0;
	int64_t nprev = f->last->buf[0] && nb0_frames > 0 ? nb0_frames : 0;
	if (nprev > total)
		nprev = total;
	const int64_t ncur = pic ? total - nprev : 0;
	if (nprev > 0) {
		av_frame_unref(f->qa);
		av_frame_ref(f->qa, f->last);
		f->ida = f->last_id;
		f->na = nprev;
	}
	if (ncur > 0) {
		av_frame_unref(f->qb);
		av_frame_ref(f->qb, pic);
		f->idb = f->next_id;
		f->nb = ncur;
	}
	/* Wrapping, never overflowing, on absurd timestamps. */
	f->sync_opts = (int64_t)((uint64_t)f->sync_opts + (uint64_t)(nprev + ncur));
	f->frame_number += nprev + ncur;

	av_frame_unref(f->last);
	f->last_id = -1;
	if (pic) {
		av_frame_move_ref(f->last, pic);
		f->last_id = f->next_id;
	}
}

/* --------------------------------------------------------------- stream --- */

void tmk_frames_free(tmk_frames *f)
{
	if (!f)
		return;
	avfilter_graph_free(&f->graph);
	av_frame_free(&f->in);
	av_frame_free(&f->filtered);
	av_frame_free(&f->last);
	av_frame_free(&f->qa);
	av_frame_free(&f->qb);
	free(f);
}

int tmk_frames_new(tmk_frames **out, video *v, veto_error *err)
{
	*out = NULL;
	tmk_frames *f = (tmk_frames *)calloc(1, sizeof *f);
	if (!f)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	f->v = v;
	f->in = av_frame_alloc();
	f->filtered = av_frame_alloc();
	f->last = av_frame_alloc();
	f->qa = av_frame_alloc();
	f->qb = av_frame_alloc();
	if (!f->in || !f->filtered || !f->last || !f->qa || !f->qb) {
		tmk_frames_free(f);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	f->last_id = f->shown_id = -1;
	/* The CLI shifts timestamps so the file starts at 0. */
	const AVFormatContext *fmt = v->fmt;
	int64_t start = fmt->start_time;
	if (start != AV_NOPTS_VALUE && (fmt->iformat->flags & AVFMT_TS_DISCONT) &&
	    v->st->start_time != AV_NOPTS_VALUE) {
		/* Only the decoded stream counts there (the others are discarded). */
		int64_t s = av_rescale_q(v->st->start_time, v->st->time_base, AV_TIME_BASE_Q);
		if (s > start)
			start = s;
	}
	if (start != AV_NOPTS_VALUE)
		f->pts_shift = av_rescale_q(-start, AV_TIME_BASE_Q, v->st->time_base);
	/* Replay the CLI's dts bookkeeping in the decoding layer. */
	v->cli_ts = 1;
	v->cli_shift = f->pts_shift;
	f->vscfr = fmt->nb_streams == 1;
	*out = f;
	return VETO_OK;
}

static void pack(tmk_frames *f, const AVFrame *fr)
{
	for (int y = 0; y < TMK_SIDE; y++)
		memcpy(&f->rgb[y * TMK_SIDE * 3], fr->data[0] + (ptrdiff_t)y * fr->linesize[0],
		       TMK_SIDE * 3);
}

/* Pull what the graph has ready through do_video_out, one frame at a time. */
static int drain_one(tmk_frames *f, veto_error *err)
{
	if (!f->graph)
		return 0;
	int e = av_buffersink_get_frame_flags(f->sink, f->filtered, AV_BUFFERSINK_FLAG_NO_REQUEST);
	if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
		return 0;
	if (e < 0)
		return av_fail(err, f, "scaling a frame failed", e);
	if (f->filtered->width != TMK_SIDE || f->filtered->height != TMK_SIDE ||
	    f->filtered->format != AV_PIX_FMT_RGB24) {
		av_frame_unref(f->filtered);
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: the scaler gave a frame of the "
		                 "wrong shape", f->v->name);
	}
	f->next_id++;
	video_out(f, f->filtered);
	av_frame_unref(f->filtered);
	return 1;
}

int tmk_frames_next(tmk_frames *f, const uint8_t **rgb, int *same, veto_error *err)
{
	for (;;) {
		if (f->na > 0 || f->nb > 0) {
			AVFrame *src = f->na > 0 ? f->qa : f->qb;
			int64_t id = f->na > 0 ? f->ida : f->idb;
			if (f->na > 0)
				f->na--;
			else
				f->nb--;
			*same = id == f->shown_id;
			if (!*same)
				pack(f, src);
			f->shown_id = id;
			*rgb = f->rgb;
			return 1;
		}
		av_frame_unref(f->qa);
		av_frame_unref(f->qb);
		if (f->done)
			return 0;
		int rc = drain_one(f, err);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		if (f->eof) {
			/* End of stream: the CLI's final do_video_out(NULL). */
			if (f->graph)
				video_out(f, NULL);
			f->done = 1;
			continue;
		}
		AVFrame *dec;
		int64_t number;
		rc = video_next(f->v, &dec, &number, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (f->graph) {
				int e = av_buffersrc_add_frame_flags(f->src, NULL, AV_BUFFERSRC_FLAG_PUSH);
				if (e < 0 && e != AVERROR_EOF)
					return av_fail(err, f, "flushing the scaler failed", e);
			}
			f->eof = 1;
			continue;
		}
		/* The frame as the CLI hands it to its filters. */
		av_frame_unref(f->in);
		int e = av_frame_ref(f->in, dec);
		if (e < 0)
			return av_fail(err, f, "cannot keep a frame", e);
		int64_t ts = f->in->best_effort_timestamp;
		if (ts == AV_NOPTS_VALUE)
			ts = f->in->pts;
		f->in->pts = ts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : ts + f->pts_shift;
		if (f->v->st->sample_aspect_ratio.num)
			f->in->sample_aspect_ratio = f->v->st->sample_aspect_ratio;
		if (needs_rebuild(f, f->in)) {
			/* Frames of the old graph were all drained above. */
			if ((rc = build_graph(f, f->in, err)) != 0)
				return rc;
		}
		e = av_buffersrc_add_frame_flags(f->src, f->in, AV_BUFFERSRC_FLAG_PUSH);
		if (e < 0)
			return av_fail(err, f, "scaling a frame failed", e);
	}
}

/* -------------------------------------------------------------- hashing --- */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void mark_partial(veto_tmk *t, const char *why)
{
	if (t->info.partial)
		return;
	t->info.partial = 1;
	snprintf(t->info.partial_reason, sizeof t->info.partial_reason, "%s", why);
}

int tmk_run(video *v, const veto_video_options *o, double deadline, veto_tmk *t,
               veto_error *err)
{
	veto_video_info *info = &t->info;
	info->container = v->fmt->iformat->name;
	info->codec = v->dec->codec->name;
	info->width = v->width;
	info->height = v->height;
	info->frame_rate = v->frame_rate;
	info->duration = v->duration;
	info->rotation = v->rotation;
	t->has_info = 1;

	tmk_frames *f;
	int rc = tmk_frames_new(&f, v, err);
	if (rc)
		return rc;
	float dct[16 * 64];
	float feature[TMK_DIM];
	pdq_dct_matrix(dct);
	for (;;) {
		/* max_frames counts decoded frames: stop feeding the stream. */
		if (o->max_frames && (uint64_t)v->frames_out >= o->max_frames && !f->eof) {
			if (!v->ended)
				mark_partial(t, "stopped at the frame limit");
			v->ended = 1;
		}
		if (deadline > 0 && mono_now() > deadline) {
			mark_partial(t, "stopped at the time limit");
			break;
		}
		if (t->frame_count == INT32_MAX) {
			mark_partial(t, "stopped at 2^31 - 1 frames, the format's limit");
			break;
		}
		const uint8_t *rgb;
		int same;
		rc = tmk_frames_next(f, &rgb, &same, err);
		if (rc <= 0)
			break;
		if (!same)
			tmk_pdqf(dct, rgb, feature);
		tmk_ingest(t, feature);
	}
	tmk_frames_free(f);
	if (rc < 0)
		return rc;
	info->frames_decoded = v->frames_out;
	if (v->corrupt) {
		mark_partial(t, v->corrupt_msg);
		info->damaged = 1;
	}
	if (v->timed_out)
		mark_partial(t, "stopped at the time limit");
	if (t->frame_count == 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: the video stream has no frames "
		                 "that decode", v->name);
	tmk_finish(t);
	return VETO_OK;
}
