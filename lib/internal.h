/*
 * internal.h - what the pieces of libveto share and nobody else sees.
 *
 * The decoders (img_*.c) all feed one kind of sink, a float luma plane,
 * because PDQ needs nothing else; this keeps peak memory to the two float
 * planes PDQ needs and never holds a full RGB copy of the image. The sink
 * reproduces what the reference sees after ImageMagick writes a PNM and
 * CImg reads it back: if *every* pixel of an image is grey (R = G = B),
 * ImageMagick writes a greyscale PNM and the reference uses the grey value
 * itself as luma; otherwise it uses 0.299 R + 0.587 G + 0.114 B in float.
 * The two differ in the last bit for grey pixels, so the sink keeps grey
 * values verbatim until the first colour pixel and then converts the rows
 * it already wrote (exact, since a grey pixel's luma depends on v alone).
 */
#ifndef VETO_INTERNAL_H
#define VETO_INTERNAL_H

#include "veto.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

int veto_fail(veto_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ----------------------------------------------------------- PDQ stream */

/* The Jarosz filter + 64x64 decimation fed one luma row at a time
 * (pdq_stream.c). Width and height must be >= 1. */
typedef struct pdq_stream pdq_stream;
int pdq_stream_new(pdq_stream **s, int width, int height);
/* Either fill the slot pdq_stream_row() gives with the next row's width
 * floats and call pdq_stream_commit(), or hand a row to pdq_stream_push. */
float *pdq_stream_row(pdq_stream *s);
void pdq_stream_commit(pdq_stream *s);
void pdq_stream_push(pdq_stream *s, const float *row);
void pdq_stream_reset(pdq_stream *s);
/* a: the plane the reference's plain hash uses; a_dih (may be NULL): the one
 * its dihedral function uses. They differ only for exactly 64x64 images,
 * which the plain hash takes unfiltered and the dihedral hashes filtered. */
int pdq_stream_finish(pdq_stream *s, float a[64 * 64], float a_dih[64 * 64]);
void pdq_stream_free(pdq_stream *s);
/* The same stream run on a worker thread (pdq_pipe.c): same calls, same
 * results, the filter overlapping the decoder. */
typedef struct pdq_pipe pdq_pipe;
int pdq_pipe_new(pdq_pipe **p, int width, int height);
float *pdq_pipe_row(pdq_pipe *p);
void pdq_pipe_commit(pdq_pipe *p);
void pdq_pipe_push(pdq_pipe *p, const float *row);
void pdq_pipe_reset(pdq_pipe *p);
int pdq_pipe_finish(pdq_pipe *p, float a[64 * 64], float a_dih[64 * 64]);
void pdq_pipe_free(pdq_pipe *p);

/* PDQ's 16x64 DCT-II basis (rows 1..16) and the 16x16 corner D A D^T of a
 * 64x64 plane, in the reference's float operations (pdq.c; TMK's PDQF
 * features are this corner, unthresholded). */
void pdq_dct_matrix(float d[16 * 64]);
void pdq_dct64_to_16(const float d[16 * 64], const float a[64 * 64], float b[16 * 16]);

/* Quality, DCT and threshold from the 64x64 plane; with `dihedral`, all
 * eight variants (dihedral[0] is the plain hash of that plane). */
int pdq_hash_from_64x64(const float a[64 * 64], veto_pdq_hash *hash, int *quality,
                        veto_pdq_hash dihedral[VETO_DIH_COUNT]);

/* ------------------------------------------------------------ luma sink */

/*
 * Where decoders put rows. The caller (image.c) zeroes the sink and sets
 * `keep_plane` before decoding; the decoder calls sink_init (which keeps
 * that setting), sink_row for rows 0..height-1 in order, and sink_finish.
 * With keep_plane the luma plane is stored whole (needed to rotate or
 * squash it); otherwise rows stream straight into PDQ and the full plane
 * never exists. Images under 5 px on a side always keep the plane (PDQ
 * gives them the zero hash; the stream needs no special case).
 */
typedef struct luma_sink {
	int keep_plane;     /* set by the caller before decoding */
	int threads;        /* set by the caller: > 1 runs the filter on a
	                     * second thread (large streamed images only) */
	int width, height;
	float *luma;        /* keep_plane: width*height, row-major */
	pdq_stream *stream; /* otherwise, one of these two */
	pdq_pipe *pipe;
	float *row;         /* one converted row */
	uint8_t *grey;      /* stream mode, while all grey: the raw values */
	int all_grey;       /* so far every pixel had R = G = B */
	int rows_done;
	float grey_to_luma[256]; /* luma of the RGB pixel (v,v,v) */
	/* RGBA rows for veto_decode_rgba (see "RGBA decoding" at the end). */
	int keep_rgba;      /* set by the caller: 0, SINK_RGBA_ALSO or SINK_RGBA_ONLY */
	uint8_t *rgba;      /* keep_rgba: width*height*4 bytes, row-major */
} luma_sink;

/* Allocates; checks width*height against max_pixels first. */
int sink_init(luma_sink *s, int width, int height, uint64_t max_pixels,
              const char *what, veto_error *err);
void sink_free(luma_sink *s);
/* Row y of interleaved 8-bit samples: `channels` is 1 (grey), 2 (grey +
 * alpha), 3 (RGB) or 4 (RGBA); alpha is ignored, as the reference drops it. */
void sink_row(luma_sink *s, int y, const uint8_t *px, int channels);
/* After the last row. */
void sink_finish(luma_sink *s);
/* One row of packed RGB24 to luma, always 0.299 R + 0.587 G + 0.114 B (no
 * grey rule: vPDQ's frames come from swscale, not ImageMagick). */
void sink_luma_rgb(float *o, const uint8_t *px, int w);
/* Streamed sinks: the decimated 64x64 plane (after sink_finish). */
int sink_result(luma_sink *s, float a[64 * 64], float a_dih[64 * 64]);

/* ------------------------------------------------------------- decoders */

typedef struct decode_params {
	uint64_t max_pixels;
	int fast;            /* allowed to decode at reduced scale */
	const char *name;    /* for messages: the file name or "<buffer>" */
} decode_params;

typedef struct decode_info {
	const char *format;
	uint32_t width, height;  /* stored size */
	int orientation;         /* EXIF 1..8, 1 if none */
} decode_info;

typedef int (*decode_fn)(const uint8_t *data, size_t size,
                         const decode_params *p, luma_sink *out,
                         decode_info *info, veto_error *err);

int veto_decode_jpeg(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_png(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_webp(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_gif(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_tiff(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_bmp(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_pnm(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);
int veto_decode_heif(const uint8_t *, size_t, const decode_params *, luma_sink *, decode_info *, veto_error *);

/* Decode any supported format, chosen by content (not by name). */
int veto_decode_image(const uint8_t *data, size_t size, const decode_params *p,
                      luma_sink *out, decode_info *info, veto_error *err);

/* MD5 and SHA-256 of everything readable from fd (from offset 0, by
 * pread, so the descriptor's position is untouched); either may be NULL.
 * *bytes receives the length hashed. */
int veto_digest_fd(int fd, const char *name, uint8_t md5[16], uint8_t sha256[32],
                   uint64_t *bytes, veto_error *err);

/* Crash-safe file writing (safe_write.c): body(fd, ctx) writes the
 * contents (returning nonzero on failure, errno set); the file appears at
 * `path` whole or not at all. `what` names it in messages ("index"). */
int veto_write_all(int fd, const void *p, size_t n);
int veto_write_file_safely(const char *path, const char *what,
                           int (*body)(int fd, void *ctx), void *ctx, veto_error *err);

/* EXIF orientation from a TIFF-structured EXIF block ("II*\0"/"MM\0*"),
 * 1 if absent or unreadable. Bounds-checked; never reads past size. */
int veto_exif_orientation(const uint8_t *tiff, size_t size);

/* 8-bit value of a 16-bit sample, as ImageMagick's Q16 build scales a
 * quantum to a char (ScaleQuantumToChar) when it writes 8-bit output. */
static inline uint8_t scale16to8(unsigned v)
{
	return (uint8_t)(((v + 128u) - ((v + 128u) >> 8)) >> 8);
}

/* ---------------------------------------------------- RGBA decoding ---
 * A second use of the decoders: the whole image as interleaved 8-bit RGBA,
 * for the pixel-domain signals (prov_watermark.c) that need colour, not
 * luma. The caller zeroes the sink and sets keep_rgba before decoding:
 *   SINK_RGBA_ALSO  sink_row stores each row as RGBA in s->rgba and then
 *                   does its usual luma work (PDQ unchanged);
 *   SINK_RGBA_ONLY  sink_row stores RGBA and nothing else: no luma plane,
 *                   no PDQ stream (sink_result must not be called).
 * Grey rows become R = G = B; rows without alpha get A = 255. Decoders
 * that drop alpha themselves (PNG) deliver A = 255 too. With keep_rgba
 * off (every existing caller) the sink does exactly what it did before. */
enum { SINK_RGBA_ALSO = 1, SINK_RGBA_ONLY = 2 };

/* Decode any supported image (chosen by content) to RGBA at its stored
 * size: *rgba receives width*height*4 bytes (the caller frees it). EXIF
 * orientation is NOT applied, although cv2.imread applies it to JPEGs by
 * default: callers that need the upright image must rotate it themselves.
 * The pixels are those veto's decoders give (libjpeg-turbo's accurate
 * integer IDCT with fancy upsampling, libpng without gamma, ...), which
 * for 8-bit PNG and YCbCr/grey JPEG are the pixels cv2.imread gives; see
 * lib/prov_watermark.c for the known differences elsewhere. name (may be
 * NULL) is used in messages; max_pixels 0 means the default limit. */
int veto_decode_rgba(const uint8_t *data, size_t size, const char *name, uint64_t max_pixels,
                     uint8_t **rgba, uint32_t *width, uint32_t *height, veto_error *err);

#endif
