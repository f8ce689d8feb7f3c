/*
 * pdq_pipe.c - the PDQ stream on a second thread, for one-image latency.
 *
 * Decoding a JPEG is serial (entropy decoding), and the PDQ filter costs
 * about a third of it. When a caller hashes one image at a time on a
 * machine with idle cores (an upload path), running the filter on its own
 * thread hides that third. For batches, parallelising across images is
 * better and this is not used (veto_hash_options.threads = 1).
 *
 * The decoder thread fills blocks of 8 luma rows; the worker feeds them to
 * a pdq_stream. Four blocks circulate between the two under one mutex, so
 * memory stays at 4 x 8 rows and the decoder waits only if the filter falls
 * four blocks behind. A reset (the sink's grey-to-colour replay) travels in
 * order with the rows as a flag on the block that follows it.
 *
 * The result is bit-identical to the single-threaded stream: the same rows
 * reach the same stream in the same order.
 */
#include "internal.h"

#include <pthread.h>
#include <string.h>

#define NBLOCKS 4
#define BLOCK_ROWS 8

typedef struct block {
	float *rows;      /* BLOCK_ROWS x width */
	int n;            /* rows filled */
	int reset;        /* reset the stream before these rows */
	int end;          /* last block: finish the stream after it */
} block;

struct pdq_pipe {
	int w, h;
	pdq_stream *stream;
	block blk[NBLOCKS];
	int head, count;  /* consumer's next block, blocks handed over */
	int cur;          /* producer's block (index), -1 if none held */
	int abort, done, rc;
	float a[64 * 64], a_dih[64 * 64];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started;
};

static void *worker(void *arg)
{
	pdq_pipe *p = (pdq_pipe *)arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->count && !p->abort)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->abort)
			break;
		block *b = &p->blk[p->head];
		pthread_mutex_unlock(&p->mu);
		if (b->reset)
			pdq_stream_reset(p->stream);
		for (int r = 0; r < b->n; r++)
			pdq_stream_push(p->stream, b->rows + (size_t)r * p->w);
		int end = b->end, rc = VETO_OK;
		if (end)
			rc = pdq_stream_finish(p->stream, p->a, p->a_dih);
		pthread_mutex_lock(&p->mu);
		b->n = b->reset = b->end = 0;
		p->head = (p->head + 1) % NBLOCKS;
		p->count--;
		if (end) {
			p->rc = rc;
			p->done = 1;
		}
		pthread_cond_broadcast(&p->cv);
		if (end)
			break;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

void pdq_pipe_free(pdq_pipe *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->abort = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	for (int i = 0; i < NBLOCKS; i++)
		free(p->blk[i].rows);
	pdq_stream_free(p->stream);
	free(p);
}

int pdq_pipe_new(pdq_pipe **out, int w, int h)
{
	*out = NULL;
	pdq_pipe *p = (pdq_pipe *)calloc(1, sizeof *p);
	if (!p)
		return VETO_ERR_NOMEM;
	p->w = w;
	p->h = h;
	p->cur = -1;
	int rc = pdq_stream_new(&p->stream, w, h);
	for (int i = 0; rc == VETO_OK && i < NBLOCKS; i++) {
		p->blk[i].rows = (float *)malloc((size_t)BLOCK_ROWS * w * sizeof(float));
		if (!p->blk[i].rows)
			rc = VETO_ERR_NOMEM;
	}
	if (rc == VETO_OK) {
		pthread_mutex_init(&p->mu, NULL);
		pthread_cond_init(&p->cv, NULL);
		if (pthread_create(&p->thread, NULL, worker, p) != 0) {
			pthread_mutex_destroy(&p->mu);
			pthread_cond_destroy(&p->cv);
			rc = VETO_ERR_NOMEM;
		} else {
			p->started = 1;
		}
	}
	if (rc != VETO_OK) {
		pdq_pipe_free(p);
		return rc;
	}
	*out = p;
	return VETO_OK;
}

/* Take the next free block for the producer (waits while all are queued). */
static block *acquire(pdq_pipe *p)
{
	if (p->cur < 0) {
		pthread_mutex_lock(&p->mu);
		while (p->count == NBLOCKS)
			pthread_cond_wait(&p->cv, &p->mu);
		p->cur = (p->head + p->count) % NBLOCKS;
		pthread_mutex_unlock(&p->mu);
	}
	return &p->blk[p->cur];
}

static void submit(pdq_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->count++;
	p->cur = -1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

float *pdq_pipe_row(pdq_pipe *p)
{
	block *b = acquire(p);
	return b->rows + (size_t)b->n * p->w;
}

void pdq_pipe_commit(pdq_pipe *p)
{
	block *b = acquire(p);
	if (++b->n == BLOCK_ROWS)
		submit(p);
}

void pdq_pipe_push(pdq_pipe *p, const float *row)
{
	memcpy(pdq_pipe_row(p), row, (size_t)p->w * sizeof(float));
	pdq_pipe_commit(p);
}

void pdq_pipe_reset(pdq_pipe *p)
{
	block *b = acquire(p);
	b->n = 0;       /* rows not yet handed over are simply dropped */
	b->reset = 1;   /* and the worker resets before the next ones */
}

int pdq_pipe_finish(pdq_pipe *p, float a[64 * 64], float a_dih[64 * 64])
{
	block *b = acquire(p);
	b->end = 1;
	submit(p);
	pthread_mutex_lock(&p->mu);
	while (!p->done)
		pthread_cond_wait(&p->cv, &p->mu);
	int rc = p->rc;
	pthread_mutex_unlock(&p->mu);
	if (rc == VETO_OK) {
		memcpy(a, p->a, sizeof p->a);
		if (a_dih)
			memcpy(a_dih, p->a_dih, sizeof p->a_dih);
	}
	return rc;
}
