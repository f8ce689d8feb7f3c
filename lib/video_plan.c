/*
 * video_plan.c - decode only the frames that sampling needs, where the
 * codec allows it, without changing which frames are hashed or their
 * numbers.
 *
 * The reference numbers frames by decoder output and hashes frame n when
 * n % mod == 0; it decodes everything. With mod > 1 most frames are never
 * hashed, and many need not be decoded at all:
 *  - a frame that no later frame references (an H.264/HEVC/MPEG non-
 *    reference B frame) can be skipped by the decoder (skip_frame =
 *    AVDISCARD_NONREF, set per packet, which FFmpeg copies to its frame
 *    threads);
 *  - in an intra-only stream (every packet a keyframe: MJPEG, FFV1,
 *    ProRes, all-intra H.264) no frame references another: packets not
 *    sampled are not even sent;
 *  - in H.264 and HEVC, the packets of a GOP after its last sampled one
 *    (in decoding order) are not sent when the next keyframe is an IDR
 *    (a closed GOP: nothing after it looks back).
 * The decoder then returns fewer frames, so numbers come from the
 * container instead: a frame's number is the rank of its pts among the
 * pts of all the stream's packets, read by a demux-only pre-pass (cheap:
 * no decoding). That equals the decoder-output number exactly when every
 * packet yields one frame in pts order, so the plan is used only when the
 * pre-pass shows it: MP4/MOV or Matroska/WebM, every packet with a
 * distinct pts, none flagged discard (edit lists), the first a keyframe.
 * While decoding, every frame's pts must be one of those ranks and
 * increase; if not, video_next ends with v->replan set and the caller
 * decodes again in full, so a surprise costs time, never correctness.
 * tests/test_vpdq.c compares sampled output with the every-frame
 * reference filtered by the rule; scripts/check-vpdq-against-reference.sh
 * does the same on unseen videos with the reference binary.
 */
#include "video_internal.h"

#include <string.h>
#include <unistd.h>

#define PLAN_MAX_PACKETS (1u << 26)   /* 64M frames: 15 days at 50 fps */

typedef struct scan_io {
	const video *v;
	int64_t pos;
} scan_io;

static int scan_read(void *opaque, uint8_t *buf, int n)
{
	scan_io *s = (scan_io *)opaque;
	const video *v = s->v;
	if (s->pos >= v->size)
		return AVERROR_EOF;
	if ((int64_t)n > v->size - s->pos)
		n = (int)(v->size - s->pos);
	if (v->mem) {
		memcpy(buf, v->mem + s->pos, (size_t)n);
	} else {
		ssize_t r = pread(v->fd, buf, (size_t)n, (off_t)s->pos);
		if (r <= 0)
			return r == 0 ? AVERROR_EOF : AVERROR(EIO);
		n = (int)r;
	}
	s->pos += n;
	return n;
}

static int64_t scan_seek(void *opaque, int64_t off, int whence)
{
	scan_io *s = (scan_io *)opaque;
	int64_t to;
	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE: return s->v->size;
	case SEEK_SET: to = off; break;
	case SEEK_CUR: to = s->pos + off; break;
	case SEEK_END: to = s->v->size + off; break;
	default: return AVERROR(EINVAL);
	}
	if (to < 0)
		return AVERROR(EINVAL);
	return s->pos = to;
}

static int refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                       AVDictionary **options)
{
	(void)s; (void)pb; (void)url; (void)flags; (void)options;
	return AVERROR(EPERM);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Is this keyframe packet an IDR (H.264 NAL 5; HEVC NAL 19/20)? Handles
 * length-prefixed (MP4/Matroska) payloads, the only ones planned. */
static int is_idr(const uint8_t *p, size_t n, int nal_len, int hevc)
{
	size_t i = 0;
	while (nal_len > 0 && i + (size_t)nal_len < n) {
		size_t len = 0;
		for (int k = 0; k < nal_len; k++)
			len = len << 8 | p[i + (size_t)k];
		i += (size_t)nal_len;
		if (len == 0 || len > n - i)
			return 0;
		int type = hevc ? (p[i] >> 1) & 0x3f : p[i] & 0x1f;
		if (hevc ? (type == 19 || type == 20) : type == 5)
			return 1;
		i += len;
	}
	return 0;
}

/* NAL length size from avcC / hvcC extradata; 0 if not length-prefixed. */
static int nal_length_size(const AVCodecParameters *cp, int hevc)
{
	const uint8_t *x = cp->extradata;
	if (!x)
		return 0;
	if (!hevc)
		return cp->extradata_size >= 7 && x[0] == 1 ? (x[4] & 3) + 1 : 0;
	return cp->extradata_size >= 23 && x[0] == 1 ? (x[21] & 3) + 1 : 0;
}

typedef struct pinfo {
	int64_t pts;
	int key, idr;
} pinfo;

void video_plan_free(video *v)
{
	free(v->plan_pts);
	free(v->plan_action);
	v->plan_pts = NULL;
	v->plan_action = NULL;
	v->plan_n = 0;
	v->planned = 0;
}

int video_plan_sampling(video *v, int mod)
{
	if (mod <= 1 || v->frames_out || v->pkt_index || v->ref_no_flush)
		return 0;
	const char *fmt = v->fmt->iformat->name;
	if (strcmp(fmt, "mov,mp4,m4a,3gp,3g2,mj2") && strcmp(fmt, "matroska,webm"))
		return 0;
	const enum AVCodecID id = v->st->codecpar->codec_id;
	const int h264 = id == AV_CODEC_ID_H264, hevc = id == AV_CODEC_ID_HEVC;
	const int nal_len = (h264 || hevc) ? nal_length_size(v->st->codecpar, hevc) : 0;

	/* The demux-only pre-pass, on its own I/O position. */
	scan_io sio = {v, 0};
	uint8_t *buf = (uint8_t *)av_malloc(65536);
	AVIOContext *io = buf ? avio_alloc_context(buf, 65536, 0, &sio, scan_read, NULL, scan_seek) : NULL;
	AVFormatContext *fc = io ? avformat_alloc_context() : NULL;
	AVPacket *pkt = av_packet_alloc();
	pinfo *pi = NULL;
	size_t n = 0, cap = 0;
	int ok = 0;
	if (!fc || !pkt) {
		if (!io)
			av_free(buf);
		goto out;
	}
	fc->pb = io;
	fc->flags |= AVFMT_FLAG_CUSTOM_IO;
	fc->io_open = refuse_open;
	if (avformat_open_input(&fc, "", v->fmt->iformat, NULL) < 0) {
		fc = NULL;
		goto out;
	}
	if ((int)fc->nb_streams <= v->stream_index ||
	    fc->streams[v->stream_index]->codecpar->codec_id != id)
		goto out;
	ok = 1;
	while (ok && av_read_frame(fc, pkt) >= 0) {
		if (pkt->stream_index == v->stream_index) {
			if (pkt->pts == AV_NOPTS_VALUE || (pkt->flags & AV_PKT_FLAG_DISCARD) ||
			    n >= PLAN_MAX_PACKETS || (n == 0 && !(pkt->flags & AV_PKT_FLAG_KEY))) {
				ok = 0;
			} else {
				if (n == cap) {
					cap = cap ? 2 * cap : 1024;
					pinfo *np = (pinfo *)realloc(pi, cap * sizeof *np);
					if (!np)
						ok = 0;
					else
						pi = np;
				}
				if (ok) {
					pi[n].pts = pkt->pts;
					pi[n].key = !!(pkt->flags & AV_PKT_FLAG_KEY);
					pi[n].idr = pi[n].key && nal_len &&
					            is_idr(pkt->data, (size_t)pkt->size, nal_len, hevc);
					n++;
				}
			}
		}
		av_packet_unref(pkt);
	}
	if (!ok || n < 2)
		goto fail;
	int64_t *sorted = (int64_t *)malloc(n * sizeof *sorted);
	uint8_t *action = (uint8_t *)calloc(n, 1);
	if (!sorted || !action) {
		free(sorted);
		free(action);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = pi[i].pts;
	qsort(sorted, n, sizeof *sorted, cmp_i64);
	for (size_t i = 1; i < n; i++)
		if (sorted[i] == sorted[i - 1]) {
			free(sorted);
			free(action);
			goto fail;
		}
	int intra = 1;
	for (size_t i = 0; i < n; i++)
		intra &= pi[i].key;
	/* Default: a sampled packet is decoded; any other is offered to the
	 * decoder as skippable if nothing references it. */
	for (size_t i = 0; i < n; i++) {
		const int64_t *at = (const int64_t *)bsearch(&pi[i].pts, sorted, n, sizeof *sorted, cmp_i64);
		const int64_t rank = at - sorted;
		const int wanted = rank % mod == 0;
		action[i] = wanted ? PLAN_DECODE : intra ? PLAN_DROP :
		            (h264 || hevc || id == AV_CODEC_ID_MPEG2VIDEO || id == AV_CODEC_ID_MPEG4)
		                ? PLAN_NONREF : PLAN_DECODE;
	}
	/* Closed-GOP tails (H.264/HEVC): after the last sampled packet of a
	 * GOP, up to a next keyframe that is an IDR, nothing is needed. */
	if (!intra && (h264 || hevc)) {
		size_t start = 0;
		while (start < n) {
			size_t end = start + 1;
			while (end < n && !pi[end].key)
				end++;
			if (end < n && pi[end].idr) {
				size_t last = start;
				int any = 0;
				for (size_t i = start; i < end; i++)
					if (action[i] == PLAN_DECODE) {
						last = i;
						any = 1;
					}
				for (size_t i = any ? last + 1 : start; i < end; i++)
					action[i] = PLAN_DROP;
			}
			start = end;
		}
	}
	v->plan_pts = sorted;
	v->plan_action = action;
	v->plan_n = n;
	v->planned = 1;
	v->plan_last = -1;
	free(pi);
	pi = NULL;
	goto out;
fail:
	ok = 0;
out:
	free(pi);
	av_packet_free(&pkt);
	if (fc)
		avformat_close_input(&fc);
	if (io) {
		av_freep(&io->buffer);
		avio_context_free(&io);
	}
	return v->planned;
}

int video_plan_number(video *v, const AVFrame *f, int64_t *number)
{
	int64_t pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
	if (pts == AV_NOPTS_VALUE)
		return -1;
	const int64_t *at = (const int64_t *)bsearch(&pts, v->plan_pts, v->plan_n,
	                                             sizeof *v->plan_pts, cmp_i64);
	if (!at || at - v->plan_pts <= v->plan_last)
		return -1;
	v->plan_last = at - v->plan_pts;
	*number = v->plan_last;
	return 0;
}
