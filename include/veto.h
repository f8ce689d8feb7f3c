/*
 * veto.h - the public API of libveto.
 *
 * libveto computes perceptual (PDQ) and exact (MD5, SHA-256) signals for
 * media so that platforms can match uploads against banks of hashes of
 * non-consensual intimate imagery. This header is the whole public surface:
 * the CLI (programs/) and the server are thin shells over it.
 *
 * Conventions (after libgit2):
 *  - Functions return 0 (VETO_OK) on success or a negative veto_status code.
 *  - Every function that can fail takes a `veto_error *err` (may be NULL);
 *    on failure it receives the code and a readable one-line message that
 *    names the offending input. There is no global or thread-local state, so
 *    every function is safe to call from any number of threads at once.
 *  - The library never prints, never exits and keeps no pixels after a call
 *    returns: decoded images live only inside the call that hashes them.
 *  - Objects that the library allocates have a matching *_free function.
 */
#ifndef VETO_H
#define VETO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VETO_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

typedef enum veto_status {
	VETO_OK = 0,
	VETO_ERR_IO = -1,          /* cannot open or read the file */
	VETO_ERR_FORMAT = -2,      /* not an image format veto reads */
	VETO_ERR_CORRUPT = -3,     /* truncated or damaged data */
	VETO_ERR_TOO_LARGE = -4,   /* exceeds the pixel or byte limit */
	VETO_ERR_NOMEM = -5,       /* out of memory */
	VETO_ERR_INVALID = -6,     /* bad argument (e.g. malformed hex) */
	VETO_ERR_UNSUPPORTED = -7  /* recognised but not supported */
} veto_status;

typedef struct veto_error {
	int code;            /* a veto_status */
	char message[512];   /* NUL-terminated, one line, names the input */
} veto_error;

/** A short stable name for a status code ("corrupt", "too-large", ...). */
const char *veto_status_name(int code);

/* ------------------------------------------------------------ PDQ hashes */

/*
 * A 256-bit PDQ hash. bytes[] holds the hash in the order of its canonical
 * hex form (the reference's): bytes[0] is the first two hex digits. In the
 * reference's terms, bit k = 16*i + j (i = DCT row, j = DCT column) lives in
 * 16-bit word k/16, and words are printed from 15 down to 0, big-endian.
 */
typedef struct veto_pdq_hash {
	uint8_t bytes[32];
} veto_pdq_hash;

#define VETO_PDQ_HEX_LEN 64
#define VETO_PDQ_MATCH_THRESHOLD 31   /* reference: a match is distance <= 31 */
#define VETO_PDQ_MIN_QUALITY 50       /* reference: below this, don't match */

/** The eight dihedral variants, in the reference's output order. */
typedef enum veto_dihedral {
	VETO_DIH_ORIGINAL = 0,
	VETO_DIH_ROTATE90,
	VETO_DIH_ROTATE180,
	VETO_DIH_ROTATE270,
	VETO_DIH_FLIPX,
	VETO_DIH_FLIPY,
	VETO_DIH_FLIP_PLUS1,
	VETO_DIH_FLIP_MINUS1,
	VETO_DIH_COUNT
} veto_dihedral;

/** Name of a dihedral variant ("original", "rotate90", ...). */
const char *veto_dihedral_name(int variant);

/** Write the 64 hex digits and a NUL to out[65]. */
void veto_pdq_to_hex(const veto_pdq_hash *h, char out[VETO_PDQ_HEX_LEN + 1]);

/** Parse exactly 64 hex digits (either case). */
int veto_pdq_from_hex(veto_pdq_hash *h, const char *hex, size_t len, veto_error *err);

/** Hamming distance between two hashes (0..256). */
int veto_pdq_distance(const veto_pdq_hash *a, const veto_pdq_hash *b);

/*
 * PDQ of a luma plane: rows x cols floats, row-major, values 0..255 (the
 * reference's 0.299 R + 0.587 G + 0.114 B in float, or grey values).
 * Images under 5 px on a side get an all-zero hash and quality 0, as in the
 * reference. If `dihedral` is not NULL it receives all eight variants.
 * Bit-exact with the reference's pdqHash256FromFloatLuma (hash, quality)
 * and pdqDihedralHash256esFromFloatLuma (dihedral). dihedral[0] equals
 * *hash except for a plane of exactly 64x64, which the reference's plain
 * hash takes unfiltered and its dihedral function filters.
 */
int veto_pdq_from_luma(const float *luma, int rows, int cols,
                       veto_pdq_hash *hash, int *quality,
                       veto_pdq_hash dihedral[VETO_DIH_COUNT], veto_error *err);

/* ------------------------------------------------------ hashing an image */

typedef enum veto_pdq_mode {
	/* PDQ on the full decoded image: the reference library functions,
	 * HMA's pdqhash binding and the Java port. The default. */
	VETO_MODE_EXACT = 0,
	/* The reference CLI as shipped: images wider or taller than 512 px are
	 * first squashed to 512x512 by nearest-neighbour sampling. */
	VETO_MODE_CLI512 = 1,
	/* Faster approximation for upload paths: JPEGs are decoded at a reduced
	 * DCT scale (never below 512 px on the short side) before the same
	 * pipeline. Not bit-exact; see docs/fast-mode.md for measured error. */
	VETO_MODE_FAST = 2
} veto_pdq_mode;

/** "exact", "cli512" or "fast" ("?" for anything else). */
const char *veto_mode_name(int mode);

#define VETO_DEFAULT_MAX_PIXELS 200000000ULL   /* 200 MP: any real camera */
#define VETO_DEFAULT_MAX_BYTES (1ULL << 30)   /* 1 GiB file */

typedef struct veto_hash_options {
	int mode;              /* a veto_pdq_mode */
	int dihedral;          /* nonzero: also compute the 8 dihedral hashes */
	int auto_orient;       /* nonzero: apply EXIF orientation first */
	int digests;           /* nonzero: compute MD5 and SHA-256 of the bytes */
	uint64_t max_pixels;   /* refuse larger images; 0 = default */
	uint64_t max_bytes;    /* refuse larger files; 0 = default */
	int threads;           /* threads for ONE image: 0 or 1 = the calling
	                        * thread only; 2 = the PDQ filter runs on a second
	                        * thread beside the decoder (same bits, lower
	                        * latency for images >= 1 MP). For batches, run
	                        * images in parallel instead and leave this at 1. */
} veto_hash_options;

/** Fill *opts with the defaults (exact mode, digests on, limits default). */
void veto_hash_options_init(veto_hash_options *opts);

typedef struct veto_image_hashes {
	veto_pdq_hash pdq;
	int quality;                            /* 0..100 */
	int has_dihedral;
	veto_pdq_hash dihedral[VETO_DIH_COUNT]; /* valid if has_dihedral */
	int dihedral_quality;   /* the quality the reference's dihedral function
	                         * reports; differs from `quality` only for
	                         * images of exactly 64x64 pixels */
	int has_digests;
	uint8_t md5[16];
	uint8_t sha256[32];
	uint64_t file_bytes;
	const char *format;     /* static string: "jpeg", "png", "webp", ... */
	uint32_t width, height; /* as stored in the file (before orientation) */
	uint32_t hashed_width, hashed_height; /* the plane PDQ saw */
	int orientation;        /* EXIF orientation 1..8 (1 if absent) */
	int oriented;           /* nonzero if orientation was applied */
} veto_image_hashes;

/** Hash an image held in memory. Error messages call it "<buffer>". */
int veto_hash_image_buffer(const uint8_t *data, size_t size,
                           const veto_hash_options *opts,
                           veto_image_hashes *out, veto_error *err);

/** The same, with `name` (e.g. an upload's file name) in error messages. */
int veto_hash_image_buffer_named(const uint8_t *data, size_t size, const char *name,
                                 const veto_hash_options *opts,
                                 veto_image_hashes *out, veto_error *err);

/** Read a file (whole, bounded by max_bytes) and hash it. */
int veto_hash_image_file(const char *path, const veto_hash_options *opts,
                         veto_image_hashes *out, veto_error *err);

/** Read a whole file into a malloc'd buffer (free() it), refusing files
 * over max_bytes (0 = default). Works on pipes too. */
int veto_read_file(const char *path, uint64_t max_bytes, uint8_t **data,
                   size_t *size, veto_error *err);

/** Which image format the bytes are (by content), or NULL if unknown. */
const char *veto_image_sniff(const uint8_t *data, size_t size);

/* ------------------------------------------------------- exact digests */

/** MD5 and SHA-256 of a buffer (either output may be NULL). */
int veto_digest(const uint8_t *data, size_t size, uint8_t md5[16],
                uint8_t sha256[32], veto_error *err);

#ifdef __cplusplus
}
#endif
#endif /* VETO_H */
