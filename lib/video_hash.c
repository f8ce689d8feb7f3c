/*
 * video_hash.c - hashing a video: one decoding pass for every signal.
 *
 * vPDQ and TMK+PDQF look at the same decoded frames (before either
 * scales them), so when both are wanted the file is decoded once: TMK
 * drives the decoding loop (its resampler must see every frame in order)
 * and vPDQ taps each frame on the way (video.c's tap), handing the
 * sampled ones to its workers. MD5 and SHA-256 are read from the file in
 * a separate sequential pass (the demuxer seeks; the digests cannot ride
 * on its reads). Limits are checked before anything is decoded.
 *
 * The public entry points for a single signal (veto_vpdq_hash_*,
 * veto_tmk_hash_*) are this driver with one output left out.
 */
#include "tmk_internal.h"
#include "vpdq_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fill_info(veto_video_info *info, const video *v)
{
	info->container = v->fmt->iformat->name;
	info->codec = v->dec->codec->name;
	info->width = v->width;
	info->height = v->height;
	info->frame_rate = v->frame_rate;
	info->duration = v->duration;
	info->rotation = v->rotation;
}

static int tap_vpdq(void *ctx, const AVFrame *f, int64_t n)
{
	return vpdq_frame((vpdq_run *)ctx, f, n);
}

#define REPLAN 1 /* internal: the sampling plan failed, decode in full */

/* Both signals (either output may be NULL) from an opened video. With
 * `plan`, vPDQ alone with sampling decodes only what it needs (see
 * video_plan.c); returns REPLAN if that turned out not to be safe. */
static int hash_video(video *v, const veto_video_options *o, double deadline,
                      const veto_video_info *file, veto_vpdq **vq, veto_tmk **tk,
                      int plan, veto_error *err)
{
	veto_vpdq *res = NULL;
	veto_tmk *t = NULL;
	vpdq_run *run = NULL;
	int rc = VETO_OK;
	if (vq) {
		res = (veto_vpdq *)calloc(1, sizeof *res);
		if (!res)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
		res->info = *file;
		fill_info(&res->info, v);
		rc = vpdq_begin(&run, v, o, err);
		if (!rc && plan && !tk && !o->max_frames) {
			int mod = (int)(o->every * v->frame_rate);
			video_plan_sampling(v, mod);
		}
	}
	if (!rc && tk)
		rc = tmk_new_standard(&t, err);
	if (!rc && t) {
		t->info = *file;
		if (run) {
			v->tap = tap_vpdq;
			v->tap_ctx = run;
		}
		rc = tmk_run(v, o, deadline, t, err);
		v->tap = NULL;
	} else if (!rc) {
		AVFrame *f;
		int64_t n;
		for (;;) {
			if (o->max_frames && (uint64_t)v->frames_out >= o->max_frames)
				break;
			int r = video_next(v, &f, &n, err);
			if (r < 0)
				rc = r;
			if (r <= 0 || vpdq_frame(run, f, n))
				break;
		}
	}
	if (run && v->replan) {
		vpdq_abort(run);
		veto_vpdq_free(res);
		veto_tmk_free(t);
		return REPLAN;
	}
	if (run) {
		const int budget = o->max_frames && (uint64_t)v->frames_out >= o->max_frames &&
		                   !v->corrupt;
		if (rc) {
			vpdq_abort(run);
		} else {
			veto_error e2;
			/* With TMK driving, TMK's own error wins; vPDQ's comes next. */
			rc = vpdq_end(run, res, budget, &e2);
			if (rc && err)
				*err = e2;
		}
	}
	if (rc) {
		veto_vpdq_free(res);
		veto_tmk_free(t);
		return rc;
	}
	if (vq)
		*vq = res;
	if (tk)
		*tk = t;
	return VETO_OK;
}

static void params_from(video_open_params *vp, const veto_video_options *o,
                        const char *name, double deadline)
{
	memset(vp, 0, sizeof *vp);
	vp->name = name;
	vp->max_pixels = o->max_pixels;
	vp->threads = o->threads;
	vp->deadline = deadline;
}

/* Open the file descriptor (fd >= 0) or the memory range and hash:
 * planned first, in full if the plan turns out wrong. */
static int hash_source(int fd, const uint8_t *data, size_t size, const char *name,
                       const veto_video_options *opts, double deadline,
                       const veto_video_info *file, veto_vpdq **vq, veto_tmk **tk,
                       veto_error *err)
{
	int rc = VETO_OK;
	for (int plan = 1;; plan = 0) {
		video *v = NULL;
		video_open_params vp;
		params_from(&vp, opts, name, deadline);
		rc = fd >= 0 ? video_open_fd(&v, fd, &vp, err)
		             : video_open_memory(&v, data, size, &vp, err);
		if (!rc)
			rc = hash_video(v, opts, deadline, file, vq, tk, plan, err);
		video_close(v);
		if (rc != REPLAN || !plan)
			return rc;
	}
}

static int check_args(veto_vpdq **vq, veto_tmk **tk, const veto_video_options **opts,
                      veto_video_options *def, veto_error *err)
{
	if (vq)
		*vq = NULL;
	if (tk)
		*tk = NULL;
	if (!vq && !tk)
		return veto_fail(err, VETO_ERR_INVALID, "no output asked for");
	if (!*opts) {
		veto_video_options_init(def);
		*opts = def;
	}
	if (!((*opts)->every >= 0))
		return veto_fail(err, VETO_ERR_INVALID, "seconds per hash must be >= 0");
	return VETO_OK;
}

int veto_video_hash_file(const char *path, const veto_video_options *opts,
                         veto_vpdq **vq, veto_tmk **tk, veto_error *err)
{
	veto_video_options def;
	int rc = check_args(vq, tk, &opts, &def, err);
	if (rc)
		return rc;
	if (!path)
		return veto_fail(err, VETO_ERR_INVALID, "no path");
	const double deadline = opts->max_seconds > 0 ? mono_now() + opts->max_seconds : 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return veto_fail(err, VETO_ERR_IO, "%s: %s", path, strerror(errno));
	veto_video_info file;
	memset(&file, 0, sizeof file);
	off_t size = lseek(fd, 0, SEEK_END);
	if (size >= 0)
		file.file_bytes = (uint64_t)size;
	if (size >= 0 && opts->max_bytes && (uint64_t)size > opts->max_bytes)
		rc = veto_fail(err, VETO_ERR_TOO_LARGE, "%s: %lld bytes, over the limit of %llu "
		               "(see --max-bytes)", path, (long long)size,
		               (unsigned long long)opts->max_bytes);
	if (!rc && opts->digests) {
		rc = veto_digest_fd(fd, path, file.md5, file.sha256, &file.file_bytes, err);
		file.has_digests = rc == VETO_OK;
	}
	if (!rc)
		rc = hash_source(fd, NULL, 0, path, opts, deadline, &file, vq, tk, err);
	close(fd);
	return rc;
}

int veto_video_hash_buffer(const uint8_t *data, size_t size, const char *name,
                           const veto_video_options *opts, veto_vpdq **vq, veto_tmk **tk,
                           veto_error *err)
{
	veto_video_options def;
	int rc = check_args(vq, tk, &opts, &def, err);
	if (rc)
		return rc;
	if (!name)
		name = "<buffer>";
	if (!data && size)
		return veto_fail(err, VETO_ERR_INVALID, "%s: no data", name);
	const double deadline = opts->max_seconds > 0 ? mono_now() + opts->max_seconds : 0;
	const uint64_t maxb = opts->max_bytes ? opts->max_bytes : VETO_DEFAULT_MAX_BYTES;
	if (size > maxb)
		return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: %zu bytes, over the limit of %llu",
		                 name, size, (unsigned long long)maxb);
	veto_video_info file;
	memset(&file, 0, sizeof file);
	file.file_bytes = size;
	if (opts->digests) {
		rc = veto_digest(data, size, file.md5, file.sha256, err);
		file.has_digests = rc == VETO_OK;
		if (rc)
			return rc;
	}
	return hash_source(-1, data, size, name, opts, deadline, &file, vq, tk, err);
}

int veto_vpdq_hash_file(const char *path, const veto_video_options *opts, veto_vpdq **out,
                        veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "no output");
	return veto_video_hash_file(path, opts, out, NULL, err);
}

int veto_vpdq_hash_buffer(const uint8_t *data, size_t size, const char *name,
                          const veto_video_options *opts, veto_vpdq **out, veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "no output");
	return veto_video_hash_buffer(data, size, name, opts, out, NULL, err);
}

int veto_tmk_hash_file(const char *path, const veto_video_options *opts, veto_tmk **out,
                       veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "no output");
	return veto_video_hash_file(path, opts, NULL, out, err);
}

int veto_tmk_hash_buffer(const uint8_t *data, size_t size, const char *name,
                         const veto_video_options *opts, veto_tmk **out, veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "no output");
	return veto_video_hash_buffer(data, size, name, opts, NULL, out, err);
}
