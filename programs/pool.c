/*
 * pool.c - hash a list of jobs in parallel and hand the results to the
 * command strictly in input order: the engine of `veto hash` and
 * `veto match`, plus the setup both share (-j, PATH arguments, workers).
 *
 * Design: walk.c first turns the PATH arguments into an array of jobs. A
 * pool of pthread workers claims jobs in index order and writes each result
 * into a ring of `window` slots (slot = index % window); the calling thread
 * alone emits, taking results strictly in index order as soon as the next
 * one is done, so output streams in input order whatever the timing. A
 * worker may not run more than `window` jobs ahead of the emitter, which
 * bounds memory however many files there are. Each slot carries the
 * command's own scratch (`extra`), filled by its `work` callback on the
 * worker (e.g. an index search, so searches run in parallel too) and read
 * by its `emit` callback; it is reused from job to job, so buffers kept
 * there are allocated once per slot. The calling thread also owns the
 * progress bar: it wakes for results or, when the bar is shown, every
 * 100 ms to redraw it. Workers never print.
 */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- setup --- */

size_t cli_default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > CLI_MAX_JOBS ? CLI_MAX_JOBS : (size_t)n;
}

int cli_parse_jobs(const char *cmd, const char *arg, size_t *out)
{
	uint64_t v;
	if (cli_parse_u64(arg, SUFFIX_NONE, &v) != 0 || v < 1 || v > CLI_MAX_JOBS) {
		cli_usage(cmd, "-j: '%s' is not a number from 1 to %d", arg, CLI_MAX_JOBS);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

int cli_walk_args(const char *cmd, const char *const *paths, size_t n, job_list *jobs)
{
	int stdin_seen = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(paths[i], "-") && stdin_seen++)
			return cli_usage(cmd, "'-' (read paths from standard input) can be given only once");
	for (size_t i = 0; i < n; i++) {
		int rc = !strcmp(paths[i], "-") ? walk_list(jobs, stdin) : walk_path(jobs, paths[i]);
		if (rc != 0) {
			if (!strcmp(paths[i], "-") && ferror(stdin))
				out_message(NULL, "-: cannot read the list of paths: %s", strerror(errno));
			else
				out_message(NULL, "out of memory");
			return CLI_FAIL;
		}
	}
	return 0;
}

void cli_fit_workers(const job_list *jobs, size_t *nworkers, veto_hash_options *opts)
{
	size_t nfiles = 0;
	for (size_t i = 0; i < jobs->n; i++)
		nfiles += jobs->v[i].kind == JOB_FILE || jobs->v[i].kind == JOB_FOUND;
	/* Fewer files than workers: give each image a second thread (the PDQ
	 * filter beside the decoder) instead of leaving cores idle. */
	if (nfiles && *nworkers >= 2 * nfiles)
		opts->threads = 2;
	if (*nworkers > nfiles)
		*nworkers = nfiles ? nfiles : 1;
}

/* ------------------------------------------------------------ the pool --- */

typedef struct slot {
	int done;   /* set by the worker, cleared by the emitter */
	pool_result r;
} slot;

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t posted;  /* a slot was filled: the emitter waits on it */
	pthread_cond_t space;   /* the emitter moved on: workers wait on it */
	const pool_spec *spec;
	slot *slots;
	size_t window;
	size_t next_claim;      /* next job a worker takes */
	size_t next_emit;       /* next job the emitter hands over */
	size_t completed;       /* jobs finished, for the progress bar */
	int stop;               /* the emitter gave up (output error) */
} pool;

static void *worker(void *arg)
{
	pool *p = arg;
	const pool_spec *spec = p->spec;
	const size_t n = spec->jobs->n;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next_claim < n && p->next_claim >= p->next_emit + p->window)
			pthread_cond_wait(&p->space, &p->mu);
		if (p->stop || p->next_claim >= n)
			break;
		size_t i = p->next_claim++;
		/* The slot is this worker's alone until it sets done. */
		slot *s = &p->slots[i % p->window];
		const job *j = &spec->jobs->v[i];
		pthread_mutex_unlock(&p->mu);

		s->r.rc = VETO_OK;
		if (j->kind == JOB_FILE || j->kind == JOB_FOUND) {
			memset(&s->r.err, 0, sizeof s->r.err);
			s->r.kind = KIND_IMAGE;
			if (spec->vopts) {
				int kind;
				veto_error e;
				if (cli_sniff_file(j->path, &kind, &e) == VETO_OK &&
				    (kind == KIND_VIDEO || (kind == KIND_VPDQ && spec->vpdq_text)))
					s->r.kind = kind;
			}
			if (s->r.kind == KIND_VPDQ) {
				/* a video hashed earlier: its frames stand for it */
				s->r.kind = KIND_VIDEO;
				s->r.rc = cli_vpdq_read_text(j->path, &s->r.video.vpdq, &s->r.err);
			} else if (s->r.kind == KIND_VIDEO)
				s->r.rc = cli_video_hash(j->path, spec->vflags, spec->vopts, &s->r.video,
				                         &s->r.err);
			else
				s->r.rc = veto_hash_image_file(j->path, spec->opts, &s->r.h, &s->r.err);
			if (spec->work)
				spec->work(spec->ctx, j, &s->r);
		}

		pthread_mutex_lock(&p->mu);
		s->done = 1;
		p->completed++;
		pthread_cond_signal(&p->posted);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int pool_report(progress *bar, int quiet, const job *j, const pool_result *r,
                size_t *failures, size_t *skipped)
{
	switch (j->kind) {
	case JOB_ERROR:
		out_message(bar, "%s", j->msg);
		(*failures)++;
		return 0;
	case JOB_WARNING:
		if (!quiet)
			out_message(bar, "warning: %s", j->msg);
		return 0;
	}
	if (r->rc == VETO_ERR_FORMAT && j->kind == JOB_FOUND) {
		/* A README or CSV beside the photos in a directory: not an error. */
		(*skipped)++;
		return 0;
	}
	if (r->rc != VETO_OK) {
		if (r->err.message[0])
			out_message(bar, "%s", r->err.message);
		else
			out_message(bar, "%s: %s", j->path, veto_status_name(r->rc));
		(*failures)++;
		return 0;
	}
	return 1;
}

void pool_report_skipped(size_t skipped, int quiet)
{
	if (skipped && !quiet)
		out_message(NULL, "skipped %zu file%s in directories that %s not images or videos",
		            skipped, skipped == 1 ? "" : "s", skipped == 1 ? "is" : "are");
}

static void deadline_after(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Emit results in order as they complete. Returns 0, or -1 if writing to
 * stdout failed (then the workers are told to stop). */
static int emit_in_order(pool *p)
{
	const pool_spec *spec = p->spec;
	const size_t n = spec->jobs->n;
	long due = progress_update(spec->bar, 0, 1);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t start = p->next_emit;
		while (start < n && !p->slots[start % p->window].done) {
			if (due < 0) {
				pthread_cond_wait(&p->posted, &p->mu);
			} else {
				struct timespec t;
				deadline_after(&t, due);
				if (pthread_cond_timedwait(&p->posted, &p->mu, &t) == ETIMEDOUT)
					break; /* time to redraw the bar */
			}
		}
		size_t end = start;
		while (end < n && end < start + p->window && p->slots[end % p->window].done)
			end++;
		size_t completed = p->completed;
		pthread_mutex_unlock(&p->mu);

		/* Slots [start, end) are done and no worker touches them now. */
		for (size_t i = start; i < end; i++) {
			pool_result *r = &p->slots[i % p->window].r;
			spec->emit(spec->ctx, &spec->jobs->v[i], r);
			cli_video_free(&r->video);
		}
		int write_error = 0;
		if (end > start)
			write_error = fflush(stdout) != 0 || ferror(stdout);

		pthread_mutex_lock(&p->mu);
		for (size_t i = start; i < end; i++)
			p->slots[i % p->window].done = 0;
		p->next_emit = end;
		if (write_error)
			p->stop = 1;
		pthread_cond_broadcast(&p->space);
		pthread_mutex_unlock(&p->mu);

		if (write_error)
			return -1;
		if (end >= n)
			return 0;
		due = progress_update(spec->bar, completed, 0);
	}
}

int pool_run(const pool_spec *spec)
{
	pool p;
	memset(&p, 0, sizeof p);
	p.spec = spec;
	p.window = 4 * spec->nworkers + 16;
	p.slots = calloc(p.window, sizeof *p.slots);
	/* Each extra starts on a boundary fit for any type. */
	const size_t align = _Alignof(max_align_t);
	const size_t stride = (spec->extra_size + align - 1) / align * align;
	char *extras = stride ? calloc(p.window, stride) : NULL;
	pthread_t *threads = calloc(spec->nworkers, sizeof *threads);
	if (!p.slots || !threads || (stride && !extras)) {
		free(p.slots);
		free(extras);
		free(threads);
		out_message(NULL, "out of memory");
		return -1;
	}
	for (size_t i = 0; extras && i < p.window; i++)
		p.slots[i].r.extra = extras + i * stride;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* Redraw deadlines are on the monotonic clock, immune to clock changes. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.posted, &ca);
	pthread_cond_init(&p.space, NULL);
	pthread_condattr_destroy(&ca);

	size_t started = 0;
	while (started < spec->nworkers &&
	       pthread_create(&threads[started], NULL, worker, &p) == 0)
		started++;
	int status = 0;
	if (started == 0) {
		out_message(NULL, "cannot start a worker thread: %s", strerror(errno));
		status = -1;
	} else {
		if (emit_in_order(&p) != 0) {
			out_message(spec->bar, "error writing the output: %s", strerror(errno));
			status = -1;
		}
		for (size_t i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
	}
	progress_clear(spec->bar);
	pthread_cond_destroy(&p.space);
	pthread_cond_destroy(&p.posted);
	pthread_mutex_destroy(&p.mu);
	if (spec->extra_free)
		for (size_t i = 0; extras && i < p.window; i++)
			spec->extra_free(p.slots[i].r.extra);
	free(threads);
	free(extras);
	free(p.slots);
	return status;
}
