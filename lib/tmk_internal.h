/*
 * tmk_internal.h - what the two halves of TMK+PDQF share.
 *
 * tmk.c is the algorithm and the file format: PDQF frame features, the
 * temporal-match-kernel accumulators, the .tmk reader and writer, and the
 * scores. tmk_frames.c is the video side: it reproduces, with FFmpeg's
 * libraries, the 15 fps stream of 64x64 RGB24 frames the reference reads
 * from the ffmpeg CLI, and drives tmk.c over it. The split keeps everything
 * that needs libavfilter out of tmk.c, so the format and the scores (and
 * their fuzzer) stand on their own.
 */
#ifndef VETO_TMK_INTERNAL_H
#define VETO_TMK_INTERNAL_H

#include "internal.h"
#include "video_internal.h"

#define TMK_SIDE 64                           /* frames are 64x64 ... */
#define TMK_FRAME_BYTES (TMK_SIDE * TMK_SIDE * 3) /* ... packed RGB24 */
#define TMK_FPS 15                            /* the reference's -r 15 */
#define TMK_DIM 256                           /* PDQF: a 16x16 DCT corner */

/*
 * One TMK+PDQF signature, in the reference's layout. cos and sin hold
 * nperiods x ncoeffs x dim floats, period-major then coefficient, as the
 * file stores them. Hashing fills every field; loading a file fills what
 * the file holds (has_info = 0).
 */
struct veto_tmk {
	int32_t fps;
	int32_t nperiods;
	int32_t ncoeffs;
	int32_t dim;
	int32_t frame_count;  /* frames ingested (after resampling to 15 fps) */
	int32_t *periods;
	float *coeffs;
	float *mean;          /* the pure-average feature (level 1) */
	float *cos;
	float *sin;
	int has_info;         /* info is filled (hashed here, not loaded) */
	veto_video_info info;
};

/* PDQF of one packed 64x64 RGB24 frame: the reference's float luma, then
 * the float 16x16 DCT corner PDQ would threshold, row-major. `dct` is the
 * 16x64 basis from pdq_dct_matrix (computed once per video). */
void tmk_pdqf(const float dct[16 * 64], const uint8_t *rgb, float feature[TMK_DIM]);

/* An empty signature with the reference's parameters (4 Poullot periods,
 * 32 Fourier coefficients, 256-float PDQF features, 15 fps). */
int tmk_new_standard(veto_tmk **out, veto_error *err);
/* Add the next frame's feature (frame number = frames so far). */
void tmk_ingest(veto_tmk *t, const float feature[TMK_DIM]);
/* After the last frame: the mean, and the normalised, weighted features. */
void tmk_finish(veto_tmk *t);

/*
 * The reference's frame stream (tmk_frames.c) over an open video:
 * tmk_frames_next gives 1 and a packed 64x64 RGB24 frame (owned by f,
 * valid until the next call) with *same = 1 when its pixels are those of
 * the previous frame given (a duplicate of the constant-rate logic); 0 at
 * the end; < 0 on an error.
 */
typedef struct tmk_frames tmk_frames;
int tmk_frames_new(tmk_frames **out, video *v, veto_error *err);
int tmk_frames_next(tmk_frames *f, const uint8_t **rgb, int *same, veto_error *err);
void tmk_frames_free(tmk_frames *f);

/* TMK+PDQF over an opened video (tmk_frames.c): fills t, frame by frame
 * through video_next (and so through the video's tap, which is how
 * lib/video_hash.c feeds vPDQ from the same decoding pass). */
int tmk_run(video *v, const veto_video_options *o, double deadline, veto_tmk *t,
            veto_error *err);

#endif
