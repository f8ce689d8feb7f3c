/*
 * vpdq.c - vPDQ: one PDQ hash per sampled video frame, bit for bit as
 * facebook/ThreatExchange's vpdq-hash-video computes it, and the vPDQ
 * comparison rule.
 *
 * What the reference does, and so what this file does:
 *  - frames are numbered in decoder output order from 0 (video.c);
 *  - frame n is hashed when n % max(1, (int)(every * fps)) == 0, with fps
 *    the stream's avg_frame_rate (else r_frame_rate) as a double;
 *  - a hashed frame is converted by libswscale to RGB24 at the stream's
 *    size (or size x size with -s), flags SWS_AREA, into a buffer allocated
 *    as av_frame_get_buffer(frame, 0) does (swscale's SIMD paths depend on
 *    alignment, so the destination is allocated the same way);
 *  - luma is 0.299 R + 0.587 G + 0.114 B in float for every pixel (no grey
 *    rule: that is ImageMagick's, not swscale's), then PDQ on the full
 *    plane (the same filter, DCT and quality as the image hasher);
 *  - the timestamp is (float)n / (float)fps.
 *
 * Pipeline. The calling thread demuxes and drives the decoder; hashed
 * frames are copied (see vpdq_frame for why not referenced) and handed to
 * `threads` workers through a bounded ring, so memory stays at a few
 * frames whatever the video's length. Each worker
 * owns its swscale context, RGB buffer and PDQ stream. Results are sorted
 * by frame number at the end, as the reference sorts them.
 *
 * Budgets: max_frames and max_seconds stop decoding early; the result is
 * then marked partial with the reason, never silently truncated.
 */
#include "video_internal.h"
#include "vpdq_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

void veto_video_options_init(veto_video_options *o)
{
	memset(o, 0, sizeof *o);
	o->every = 1.0;
	o->digests = 1;
}

void veto_vpdq_free(veto_vpdq *v)
{
	if (!v)
		return;
	free(v->frames);
	free(v);
}

/* ------------------------------------------------------------ one frame */

typedef struct worker {
	struct SwsContext *sws;
	int sw, sh, sfmt;        /* what sws was made for */
	AVFrame *rgb;
	pdq_stream *ps;
	float *row;
	int dw, dh;
} worker;

static void worker_free(worker *w)
{
	sws_freeContext(w->sws);
	av_frame_free(&w->rgb);
	pdq_stream_free(w->ps);
	free(w->row);
	memset(w, 0, sizeof *w);
}

static int worker_init(worker *w, int dw, int dh)
{
	memset(w, 0, sizeof *w);
	w->dw = dw;
	w->dh = dh;
	w->rgb = av_frame_alloc();
	if (!w->rgb)
		return VETO_ERR_NOMEM;
	w->rgb->format = AV_PIX_FMT_RGB24;
	w->rgb->width = dw;
	w->rgb->height = dh;
	if (av_frame_get_buffer(w->rgb, 0) < 0)
		return VETO_ERR_NOMEM;
	w->row = (float *)malloc((size_t)dw * sizeof(float));
	if (!w->row || pdq_stream_new(&w->ps, dw, dh) != VETO_OK)
		return VETO_ERR_NOMEM;
	return VETO_OK;
}

static int hash_frame(worker *w, const AVFrame *f, veto_pdq_hash *h, int *quality)
{
	if (!w->sws || w->sw != f->width || w->sh != f->height || w->sfmt != f->format) {
		sws_freeContext(w->sws);
		w->sws = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format,
		                        w->dw, w->dh, AV_PIX_FMT_RGB24, SWS_AREA,
		                        NULL, NULL, NULL);
		if (!w->sws)
			return VETO_ERR_UNSUPPORTED;
		w->sw = f->width;
		w->sh = f->height;
		w->sfmt = f->format;
	}
	sws_scale(w->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height,
	          w->rgb->data, w->rgb->linesize);
	const uint8_t *p = w->rgb->data[0];
	for (int y = 0; y < w->dh; y++, p += w->rgb->linesize[0]) {
		sink_luma_rgb(pdq_stream_row(w->ps), p, w->dw);
		pdq_stream_commit(w->ps);
	}
	float a[64 * 64];
	int rc = pdq_stream_finish(w->ps, a, NULL);
	pdq_stream_reset(w->ps);
	if (rc)
		return rc;
	return pdq_hash_from_64x64(a, h, quality, NULL);
}

/* ------------------------------------------------------------ the pool */

typedef struct job {
	AVFrame *f;
	int64_t number;
} job;

#define MAX_SPARE 256

typedef struct pool {
	pthread_mutex_t mu;
	/* Copies of decoded frames, recycled: workers never hold the
	 * decoder's own buffers (see vpdq_frame). */
	AVFrame *spare[MAX_SPARE];
	int nspare;
	pthread_cond_t can_take, can_put;
	job *ring;
	int cap, head, count, closing;
	/* results */
	veto_vpdq_frame *res;
	size_t nres, capres;
	int failed;              /* first worker error code, 0 if none */
	int64_t failed_frame;
	float fps;
	int dw, dh;
} pool;

static int push_result(pool *p, const veto_vpdq_frame *r)
{
	if (p->nres == p->capres) {
		size_t nc = p->capres ? p->capres * 2 : 256;
		veto_vpdq_frame *n = (veto_vpdq_frame *)realloc(p->res, nc * sizeof *n);
		if (!n)
			return VETO_ERR_NOMEM;
		p->res = n;
		p->capres = nc;
	}
	p->res[p->nres++] = *r;
	return VETO_OK;
}

typedef struct worker_arg {
	pool *p;
	int rc;
} worker_arg;

static void *worker_main(void *arg)
{
	worker_arg *wa = (worker_arg *)arg;
	pool *p = wa->p;
	worker w;
	int rc = worker_init(&w, p->dw, p->dh);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->count == 0 && !p->closing)
			pthread_cond_wait(&p->can_take, &p->mu);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		job j = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		pthread_cond_signal(&p->can_put);
		pthread_mutex_unlock(&p->mu);

		veto_vpdq_frame r;
		memset(&r, 0, sizeof r);
		int jrc = rc ? rc : hash_frame(&w, j.f, &r.pdq, &r.quality);
		r.frame = j.number;
		r.timestamp = (float)j.number / p->fps;
		pthread_mutex_lock(&p->mu);
		if (p->nspare < MAX_SPARE)
			p->spare[p->nspare++] = j.f;
		else
			av_frame_free(&j.f);
		if (!jrc)
			jrc = push_result(p, &r);
		if (jrc && !p->failed) {
			p->failed = jrc;
			p->failed_frame = j.number;
		}
		pthread_mutex_unlock(&p->mu);
	}
	worker_free(&w);
	wa->rc = rc;
	return NULL;
}

static int cmp_frame(const void *a, const void *b)
{
	const veto_vpdq_frame *x = (const veto_vpdq_frame *)a, *y = (const veto_vpdq_frame *)b;
	return (x->frame > y->frame) - (x->frame < y->frame);
}

static int ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

#define MAX_WORKERS 64

/* One video being hashed: the pool, or the calling thread's worker. */
struct vpdq_run {
	video *v;
	const veto_video_options *o;
	int mod;
	pool p;
	int use_pool, started;
	pthread_t tid[MAX_WORKERS];
	worker_arg wa[MAX_WORKERS];
	worker inline_w;
	int inline_ready;
	int rc;                  /* first error of the calling thread */
	veto_error err;
};

int vpdq_begin(vpdq_run **out, video *v, const veto_video_options *o, veto_error *err)
{
	*out = NULL;
	const int dw = o->size > 0 ? o->size : v->width;
	const int dh = o->size > 0 ? o->size : v->height;
	if (dw < 5 || dh < 5)
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: frames of %dx%d are too small "
		                 "to hash (PDQ needs 5 px on a side; try --vpdq-size)",
		                 v->name, dw, dh);
	vpdq_run *r = (vpdq_run *)calloc(1, sizeof *r);
	if (!r)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
	r->v = v;
	r->o = o;
	/* The reference's rule, including its int truncation. */
	r->mod = (int)(o->every * v->frame_rate);
	if (r->mod <= 0)
		r->mod = 1;
	pool *p = &r->p;
	p->fps = (float)v->frame_rate;
	p->dw = dw;
	p->dh = dh;
	int nthreads = o->threads > 0 ? o->threads : ncpu();
	if (nthreads > MAX_WORKERS)
		nthreads = MAX_WORKERS;
	r->use_pool = nthreads > 1;
	if (r->use_pool) {
		p->cap = 2 * nthreads;
		p->ring = (job *)calloc((size_t)p->cap, sizeof(job));
		if (!p->ring) {
			free(r);
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", v->name);
		}
		pthread_mutex_init(&p->mu, NULL);
		pthread_cond_init(&p->can_take, NULL);
		pthread_cond_init(&p->can_put, NULL);
		for (; r->started < nthreads; r->started++) {
			r->wa[r->started].p = p;
			if (pthread_create(&r->tid[r->started], NULL, worker_main, &r->wa[r->started]))
				break;
		}
		if (r->started == 0)
			r->use_pool = 0;
	}
	if (!r->use_pool) {
		if (worker_init(&r->inline_w, dw, dh) != VETO_OK) {
			worker_free(&r->inline_w);
			vpdq_abort(r);
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory for %dx%d frames",
			                 v->name, dw, dh);
		}
		r->inline_ready = 1;
	}
	*out = r;
	return VETO_OK;
}

/* A decoded frame: hash it if the sampling rule picks it. Returns nonzero
 * once hashing has failed (decoding should stop). */
int vpdq_frame(vpdq_run *r, const AVFrame *f, int64_t n)
{
	pool *p = &r->p;
	if (r->rc || n % r->mod != 0)
		return r->rc;
	if (r->v->ref_no_flush && r->v->draining)
		return 0; /* the reference never sees these (video_internal.h) */
	if (r->use_pool) {
		/* A copy, not a reference: holding the decoder's buffers would
		 * change which pooled buffer it decodes into next, and a damaged
		 * frame that the decoder only partly writes would then show
		 * different stale pixels from run to run. With copies the decoder
		 * recycles its buffers exactly as in the reference. */
		pthread_mutex_lock(&p->mu);
		AVFrame *c = p->nspare ? p->spare[--p->nspare] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (c && (c->width != f->width || c->height != f->height || c->format != f->format))
			av_frame_free(&c);
		if (!c) {
			c = av_frame_alloc();
			if (c) {
				c->format = f->format;
				c->width = f->width;
				c->height = f->height;
				if (av_frame_get_buffer(c, 0) < 0)
					av_frame_free(&c);
			}
		}
		if (!c || av_frame_copy(c, f) < 0) {
			av_frame_free(&c);
			return r->rc = veto_fail(&r->err, VETO_ERR_NOMEM, "%s: out of memory", r->v->name);
		}
		pthread_mutex_lock(&p->mu);
		while (p->count == p->cap)
			pthread_cond_wait(&p->can_put, &p->mu);
		p->ring[(p->head + p->count) % p->cap] = (job){ c, n };
		p->count++;
		pthread_cond_signal(&p->can_take);
		int failed = p->failed;
		pthread_mutex_unlock(&p->mu);
		return failed;
	}
	veto_vpdq_frame fr;
	memset(&fr, 0, sizeof fr);
	int hr = hash_frame(&r->inline_w, f, &fr.pdq, &fr.quality);
	fr.frame = n;
	fr.timestamp = (float)n / p->fps;
	if (!hr)
		hr = push_result(p, &fr);
	if (hr) {
		p->failed = hr;
		p->failed_frame = n;
	}
	return hr;
}

static void stop_pool(vpdq_run *r)
{
	pool *p = &r->p;
	if (r->use_pool) {
		pthread_mutex_lock(&p->mu);
		p->closing = 1;
		pthread_cond_broadcast(&p->can_take);
		pthread_mutex_unlock(&p->mu);
		for (int i = 0; i < r->started; i++)
			pthread_join(r->tid[i], NULL);
		for (int i = 0; i < p->count; i++)
			av_frame_free(&p->ring[(p->head + i) % p->cap].f);
		while (p->nspare)
			av_frame_free(&p->spare[--p->nspare]);
		free(p->ring);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->can_take);
		pthread_cond_destroy(&p->can_put);
		r->use_pool = 0;
	}
	if (r->inline_ready) {
		worker_free(&r->inline_w);
		r->inline_ready = 0;
	}
}

void vpdq_abort(vpdq_run *r)
{
	if (!r)
		return;
	stop_pool(r);
	free(r->p.res);
	free(r);
}

static void set_partial(veto_video_info *info, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_partial(veto_video_info *info, const char *fmt, ...)
{
	if (info->partial)
		return;
	info->partial = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(info->partial_reason, sizeof info->partial_reason, fmt, ap);
	va_end(ap);
}

int vpdq_end(vpdq_run *r, veto_vpdq *out, int budget_hit, veto_error *err)
{
	stop_pool(r);
	video *v = r->v;
	pool *p = &r->p;
	int rc = r->rc;
	if (rc)
		*err = r->err;
	else if (p->failed)
		rc = veto_fail(err, p->failed, "%s: cannot hash frame %lld (%s)", v->name,
		               (long long)p->failed_frame,
		               p->failed == VETO_ERR_NOMEM ? "out of memory" :
		               "swscale cannot convert its pixel format");
	if (rc) {
		vpdq_abort(r);
		return rc;
	}
	veto_video_info *info = &out->info;
	info->frames_decoded = video_frames_total(v);
	info->frames_skipped = info->frames_decoded - v->frames_out;
	if (budget_hit)
		set_partial(info, "stopped at the frame budget (%llu frames)",
		            (unsigned long long)r->o->max_frames);
	if (v->corrupt) {
		set_partial(info, "damaged stream: %.150s", v->corrupt_msg);
		info->damaged = 1;
	}
	if (v->timed_out)
		set_partial(info, "stopped at the time budget (%g s)", r->o->max_seconds);
	if (v->nb_frames > 0 && video_frames_total(v) < v->nb_frames && !v->timed_out &&
	    !budget_hit) {
		/* e.g. a file cut short: the index lists frames whose data is gone */
		info->damaged = 1;
		set_partial(info, "the stream ended after %lld of the %lld frames its container "
		            "lists", (long long)video_frames_total(v), (long long)v->nb_frames);
	}
	if (p->nres > 1)
		qsort(p->res, p->nres, sizeof *p->res, cmp_frame);
	out->frames = p->res;
	out->count = p->nres;
	p->res = NULL;
	vpdq_abort(r);
	if (video_frames_total(v) == 0 && !info->partial)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: the video stream has no frames "
		                 "that decode", v->name);
	return VETO_OK;
}

int veto_video_sniff(const uint8_t *data, size_t size)
{
	return video_probe(data, size);
}

/* ------------------------------------------------------------ matching */

typedef struct keyed {
	veto_pdq_hash h;
	size_t at;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
	const keyed *x = (const keyed *)a, *y = (const keyed *)b;
	int c = memcmp(&x->h, &y->h, sizeof x->h);
	return c ? c : (x->at > y->at) - (x->at < y->at);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

size_t veto_vpdq_unique(const veto_vpdq_frame *f, size_t n, int quality, veto_vpdq_frame *out)
{
	if (n == 0)
		return 0;
	keyed *k = (keyed *)malloc(n * sizeof *k);
	size_t *keep = (size_t *)malloc(n * sizeof *keep);
	if (!k || !keep) {
		free(k);
		free(keep);
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].h = f[i].pdq;
		k[i].at = i;
	}
	qsort(k, n, sizeof *k, cmp_keyed);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) /* the first occurrence of each hash */
		if (i == 0 || memcmp(&k[i].h, &k[i - 1].h, sizeof k[i].h))
			keep[m++] = k[i].at;
	qsort(keep, m, sizeof *keep, cmp_size);
	size_t o = 0;
	for (size_t i = 0; i < m; i++)
		if (f[keep[i]].quality >= quality)
			out[o++] = f[keep[i]];
	free(k);
	free(keep);
	return o;
}

static size_t count_in(const veto_pdq_hash *a, size_t na, const veto_pdq_hash *b, size_t nb,
                       int distance)
{
	size_t c = 0;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (veto_pdq_distance(&a[i], &b[j]) <= distance) {
				c++;
				break;
			}
	return c;
}

int veto_vpdq_compare(const veto_vpdq_frame *q, size_t nq,
                      const veto_vpdq_frame *t, size_t nt,
                      int quality, int distance, veto_vpdq_match *out,
                      veto_error *err)
{
	memset(out, 0, sizeof *out);
	if ((!q && nq) || (!t && nt))
		return veto_fail(err, VETO_ERR_INVALID, "veto_vpdq_compare: no frames");
	veto_vpdq_frame *fa = (veto_vpdq_frame *)malloc((nq ? nq : 1) * sizeof *fa);
	veto_vpdq_frame *fb = (veto_vpdq_frame *)malloc((nt ? nt : 1) * sizeof *fb);
	veto_pdq_hash *a = (veto_pdq_hash *)malloc((nq ? nq : 1) * sizeof *a);
	veto_pdq_hash *b = (veto_pdq_hash *)malloc((nt ? nt : 1) * sizeof *b);
	size_t ma = fa ? veto_vpdq_unique(q, nq, quality, fa) : (size_t)-1;
	size_t mb = fb ? veto_vpdq_unique(t, nt, quality, fb) : (size_t)-1;
	if (!a || !b || ma == (size_t)-1 || mb == (size_t)-1) {
		free(a);
		free(b);
		free(fa);
		free(fb);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < ma; i++)
		a[i] = fa[i].pdq;
	for (size_t i = 0; i < mb; i++)
		b[i] = fb[i].pdq;
	free(fa);
	free(fb);
	out->query_frames = ma;
	out->target_frames = mb;
	if (ma && mb) {
		out->query_percent = (double)count_in(a, ma, b, mb, distance) * 100.0 / (double)ma;
		out->target_percent = (double)count_in(b, mb, a, ma, distance) * 100.0 / (double)mb;
	}
	free(a);
	free(b);
	return VETO_OK;
}
