/*
 * vpdq_internal.h - vPDQ as a consumer of decoded frames, so that one
 * decoding pass can feed vPDQ and TMK+PDQF together (lib/video_hash.c).
 *
 * vpdq_begin starts the hashing workers for a video; vpdq_frame is given
 * every decoded frame in order and hashes those the sampling rule picks;
 * vpdq_end waits for the workers, sorts the frames and fills the result
 * (partial flags from the video's state); vpdq_abort drops everything.
 */
#ifndef VETO_VPDQ_INTERNAL_H
#define VETO_VPDQ_INTERNAL_H

#include "video_internal.h"

typedef struct vpdq_run vpdq_run;

int vpdq_begin(vpdq_run **out, video *v, const veto_video_options *o, veto_error *err);
/* Nonzero once hashing has failed: the caller should stop decoding. */
int vpdq_frame(vpdq_run *r, const AVFrame *f, int64_t number);
/* budget_hit: decoding stopped at o->max_frames. Frees r. */
int vpdq_end(vpdq_run *r, veto_vpdq *out, int budget_hit, veto_error *err);
void vpdq_abort(vpdq_run *r);

#endif
