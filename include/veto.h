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


/* ---------------------------------------------------------------- video */

/*
 * Video signals (lib/video.c, lib/vpdq.c, lib/tmk*.c): vPDQ (one PDQ hash
 * per sampled frame, as facebook/ThreatExchange's vpdq-hash-video computes
 * it) and TMK+PDQF (tmk-hash-video's temporal-match-kernel features). Both
 * are bit-compatible with the references built against Debian 12's FFmpeg
 * 5.1. Decoding uses FFmpeg's libraries through veto's own I/O: a
 * container can never make FFmpeg open another file or a URL.
 */

typedef struct veto_video_options {
	double every;          /* vPDQ: seconds between hashed frames; 0 = every
	                        * frame. Frame n is hashed when
	                        * n % max(1, (int)(every * fps)) == 0, the
	                        * reference's rule. Default 1.0. */
	int size;              /* vPDQ: scale frames to size x size first (the
	                        * reference's -s); 0 = native size. Default 0. */
	int threads;           /* 0 = one per core */
	uint64_t max_bytes;    /* refuse larger files; 0 = no limit for files,
	                        * VETO_DEFAULT_MAX_BYTES for buffers */
	uint64_t max_pixels;   /* per frame; 0 = VETO_DEFAULT_MAX_PIXELS */
	uint64_t max_frames;   /* stop after decoding this many frames (result
	                        * marked partial); 0 = no limit */
	double max_seconds;    /* wall-clock budget; 0 = none; past it the
	                        * result so far is returned marked partial */
	int digests;           /* nonzero: MD5 and SHA-256 of the file too */
} veto_video_options;

/** Fill *opts with the defaults (every 1 s, native size, all cores). */
void veto_video_options_init(veto_video_options *opts);

typedef struct veto_vpdq_frame {
	veto_pdq_hash pdq;
	int quality;
	int64_t frame;         /* reference frame number (decoder output order) */
	float timestamp;       /* frame / fps in float, as the reference */
} veto_vpdq_frame;

typedef struct veto_video_info {
	const char *container;  /* libavformat's short name, e.g. "mov,mp4,..." */
	const char *codec;      /* e.g. "h264" */
	int width, height;      /* stream size */
	double frame_rate;      /* as the references read it */
	double duration;        /* seconds; -1 if unknown */
	int64_t frames_decoded; /* frames in the stream, up to where it stopped */
	int64_t frames_skipped; /* of those, never decoded: sampling did not need
	                         * them (non-reference frames, closed-GOP tails,
	                         * intra-only streams; see lib/video_plan.c) */
	int rotation;           /* display-matrix rotation, degrees; not applied
	                         * (the references ignore it) */
	int partial;            /* 1: stopped early (damaged data, budget) */
	int damaged;            /* 1: partial because the data is damaged or cut
	                         * short (the references refuse such files or
	                         * stop there); 0 for a budget the caller set */
	char partial_reason[200];
	int has_digests;
	uint8_t md5[16];
	uint8_t sha256[32];
	uint64_t file_bytes;
} veto_video_info;

typedef struct veto_vpdq {
	veto_video_info info;
	size_t count;
	veto_vpdq_frame *frames; /* sorted by frame number */
} veto_vpdq;

/** vPDQ of a video file. On success *out is set (free with veto_vpdq_free);
 * a stream that breaks off midway still succeeds with info.partial set. */
int veto_vpdq_hash_file(const char *path, const veto_video_options *opts,
                        veto_vpdq **out, veto_error *err);
/** The same from memory (`name` is used in messages). */
int veto_vpdq_hash_buffer(const uint8_t *data, size_t size, const char *name,
                          const veto_video_options *opts, veto_vpdq **out,
                          veto_error *err);
void veto_vpdq_free(veto_vpdq *v);

/** Every video signal from ONE decoding pass: vPDQ into *vpdq and TMK+PDQF
 * into *tmk (either pointer may be NULL to skip that signal; TMK is
 * declared below). Cheaper than calling both functions, which decode the
 * file twice. On error neither output is set. */
struct veto_tmk;
int veto_video_hash_file(const char *path, const veto_video_options *opts,
                         veto_vpdq **vpdq, struct veto_tmk **tmk, veto_error *err);
int veto_video_hash_buffer(const uint8_t *data, size_t size, const char *name,
                           const veto_video_options *opts, veto_vpdq **vpdq,
                           struct veto_tmk **tmk, veto_error *err);

/** 1 if the bytes look like a video container FFmpeg can read. */
int veto_video_sniff(const uint8_t *data, size_t size);

/* vPDQ matching, python-threatexchange's rule (what HMA runs): each side is
 * de-duplicated by exact hash, then frames below `quality` dropped; a frame
 * matches when some frame of the other side is within `distance` (<=).
 * Percentages are of the filtered frames; 0 when a side has none left. */
#define VETO_VPDQ_QUALITY 50
#define VETO_VPDQ_DISTANCE 31
#define VETO_VPDQ_MATCH_PERCENT 80.0

typedef struct veto_vpdq_match {
	double query_percent;    /* query frames with a match in the target */
	double target_percent;   /* target frames with a match in the query */
	size_t query_frames;     /* after de-duplication and quality filter */
	size_t target_frames;
} veto_vpdq_match;

/** The frames the rule counts, in order: the first frame of each distinct
 * hash (python-threatexchange's dedupe), then those with quality >=
 * `quality`. out must hold n frames. Returns the count, or (size_t)-1 when
 * out of memory. */
size_t veto_vpdq_unique(const veto_vpdq_frame *f, size_t n, int quality, veto_vpdq_frame *out);

int veto_vpdq_compare(const veto_vpdq_frame *q, size_t nq,
                      const veto_vpdq_frame *t, size_t nt,
                      int quality, int distance, veto_vpdq_match *out,
                      veto_error *err);

/* ---- TMK+PDQF (lib/tmk*.c) ---- */

/*
 * TMK+PDQF: one fixed-size signature per video (263,344 bytes as a .tmk
 * file), byte-identical with facebook/ThreatExchange's tmk-hash-video run
 * with Debian 12's ffmpeg 5.1. The video is resampled to 15 frames per
 * second at 64x64 RGB exactly as that ffmpeg command does (display
 * rotation applied, frames duplicated or dropped for a constant rate);
 * each frame gives a float PDQ DCT feature; the signature holds their
 * mean ("level 1") and temporal-match-kernel Fourier sums ("level 2").
 * Two videos match when both scores are >= 0.7 (the reference's defaults).
 * A veto_tmk is immutable once made; any number of threads may compare it.
 */
typedef struct veto_tmk veto_tmk;

#define VETO_TMK_FILE_BYTES 263344        /* a .tmk file of the reference */
#define VETO_TMK_LEVEL1_THRESHOLD 0.7     /* cosine of the mean features */
#define VETO_TMK_LEVEL2_THRESHOLD 0.7     /* normalised TMK score */

/** TMK+PDQF of a video file. opts (NULL: defaults) honours max_bytes,
 * max_pixels, threads (decoder), max_frames (decoded frames) and
 * max_seconds; `every` and `size` are vPDQ's and are ignored. A stream
 * that stops early (damage, budget) still succeeds, with the video info's
 * `partial` set (veto_tmk_video_info). Free *out with veto_tmk_free. */
int veto_tmk_hash_file(const char *path, const veto_video_options *opts,
                       veto_tmk **out, veto_error *err);
/** The same from memory (`name` is used in messages). */
int veto_tmk_hash_buffer(const uint8_t *data, size_t size, const char *name,
                         const veto_video_options *opts, veto_tmk **out,
                         veto_error *err);
void veto_tmk_free(veto_tmk *t);

/** The .tmk bytes (the reference's format) in a malloc'd buffer: free() it. */
int veto_tmk_to_bytes(const veto_tmk *t, uint8_t **buf, size_t *len, veto_error *err);
/** Write a .tmk file crash-safely (temporary file beside it, fsync,
 * rename); created readable by its owner only (0600). */
int veto_tmk_save(const veto_tmk *t, const char *path, veto_error *err);
/** Parse .tmk bytes. Every count, size and magic is checked; a damaged,
 * truncated or foreign file is refused (corrupt, unknown-format,
 * unsupported or too-large), never half-read. */
int veto_tmk_from_bytes(const uint8_t *data, size_t size, const char *name,
                        veto_tmk **out, veto_error *err);
int veto_tmk_load(const char *path, veto_tmk **out, veto_error *err);
/** 1 if the bytes start like a .tmk file. */
int veto_tmk_sniff(const uint8_t *data, size_t size);

/** The reference's two scores (tmk-two-level-score): level 1 in [-1, 1],
 * level 2 in about [0, 1] (1 for a video against itself). Both are float
 * values as the reference computes them, widened to double; level 1 is NaN
 * when exactly one of the videos has an all-zero mean (e.g. all black), as
 * in the reference. Signatures with other parameters are refused
 * (VETO_ERR_INVALID). Either output may be NULL. */
int veto_tmk_compare(const veto_tmk *a, const veto_tmk *b, double *level1,
                     double *level2, veto_error *err);
/** 1 if both scores reach the default thresholds, compared in float as
 * the reference's tools do (0 for NaN). */
int veto_tmk_is_match(double level1, double level2);

int veto_tmk_frame_count(const veto_tmk *t);        /* frames at 15 fps */
int veto_tmk_frames_per_second(const veto_tmk *t);  /* 15 */
int veto_tmk_feature_dimension(const veto_tmk *t);  /* 256 */
/** The mean PDQF feature (feature_dimension floats): the level-1 vector,
 * e.g. for a cosine index. Owned by t. */
const float *veto_tmk_mean_feature(const veto_tmk *t);
/** What was decoded (frames, partial, digests...); NULL for a signature
 * loaded from a file. Owned by t. */
const veto_video_info *veto_tmk_video_info(const veto_tmk *t);


/* ------------------------------------------------------- the hash index */

/*
 * An exact Hamming-radius index over PDQ hashes (lib/index*.c). Every
 * search returns exactly what a brute-force scan would: multi-index
 * hashing (the hash cut into slices, each slice a direct-address table;
 * by the pigeonhole principle a hash within distance r of the query agrees
 * closely with it on at least one slice) when that is cheaper, a SIMD
 * scan when it is not (large radii, small indexes). Adds and deletes are
 * visible to the next search: the index is an immutable base plus a small
 * delta and tombstones, folded together by veto_index_merge (which may run
 * on another thread while searches go on). All functions are thread-safe:
 * any number of searches may run concurrently with one writer.
 */
typedef struct veto_index veto_index;

#define VETO_BANK_NONE 0xffff   /* entry belongs to no particular bank */

typedef struct veto_index_entry {
	veto_pdq_hash hash;
	uint64_t id;          /* the caller's id; need not be unique */
	uint8_t quality;      /* PDQ quality 0..100 (100 if unknown) */
	uint16_t bank;        /* bank number, or VETO_BANK_NONE */
} veto_index_entry;

typedef struct veto_match {
	uint64_t id;
	int distance;         /* Hamming distance 0..256 */
	int variant;          /* dihedral variant of the query that matched */
	uint8_t quality;      /* the entry's quality */
	uint16_t bank;
	veto_pdq_hash hash;   /* the entry's hash */
} veto_match;

/* A growable result list, reusable across searches (saves allocations). */
typedef struct veto_match_list {
	veto_match *v;
	size_t n, cap;
} veto_match_list;

void veto_match_list_free(veto_match_list *l);

#define VETO_DEFAULT_MIN_QUALITY 50

typedef struct veto_search_options {
	int radius;              /* report entries at distance <= radius; 0..256 */
	int min_quality;         /* skip entries whose quality is below this */
	const uint16_t *banks;   /* only entries of these banks (NULL: all) */
	size_t nbanks;
	size_t limit;            /* at most this many results, nearest first
	                          * (0: all of them) */
} veto_search_options;

/** Defaults: radius 31, min_quality 50, all banks, no limit. */
void veto_search_options_init(veto_search_options *o);

int veto_index_new(veto_index **out, veto_error *err);
void veto_index_free(veto_index *idx);

/** Add entries (copied). Visible to the next search. */
int veto_index_add(veto_index *idx, const veto_index_entry *e, size_t n, veto_error *err);

/** Delete every entry with one of these ids; *deleted (may be NULL) gets
 * how many entries went. Visible to the next search. */
int veto_index_delete(veto_index *idx, const uint64_t *ids, size_t n, size_t *deleted,
                      veto_error *err);

/**
 * Every live entry within opts->radius of `q` (after the quality and bank
 * filters), sorted by distance then id, into *out (cleared first). A query
 * whose own quality is below opts->min_quality gets no matches: the
 * reference deems such hashes unusable; pass query_quality = 100 to skip
 * that check (e.g. for hashes of unknown quality).
 */
int veto_index_search(veto_index *idx, const veto_pdq_hash *q, int query_quality,
                      const veto_search_options *opts, veto_match_list *out, veto_error *err);

/** The same for the eight dihedral variants of one image in one call:
 * each entry at most once, with the variant that came nearest. */
int veto_index_search_dihedral(veto_index *idx, const veto_pdq_hash q[VETO_DIH_COUNT],
                               int query_quality, const veto_search_options *opts,
                               veto_match_list *out, veto_error *err);

/** The k nearest live entries (ties broken by id), whatever their
 * distance; opts->radius is ignored, filters apply. */
int veto_index_knn(veto_index *idx, const veto_pdq_hash *q, size_t k,
                   const veto_search_options *opts, veto_match_list *out, veto_error *err);

/** Call fn for every live entry (base then delta, under the read lock:
 * writers wait, so keep fn short). Stops early and returns fn's value
 * when fn returns nonzero; 0 after visiting everything. */
int veto_index_foreach(veto_index *idx, int (*fn)(void *ctx, const veto_index_entry *e),
                       void *ctx);

/** Fold the delta and tombstones into a new base. Safe to call from a
 * background thread: searches and writes continue meanwhile. */
int veto_index_merge(veto_index *idx, veto_error *err);

typedef struct veto_index_stats {
	uint64_t entries;        /* live entries */
	uint64_t base_entries;   /* in the immutable base (incl. tombstoned) */
	uint64_t delta_entries;  /* added since the last merge */
	uint64_t tombstones;     /* ids deleted since the last merge */
	int slices;              /* multi-index slices of the base (0: scan only) */
	uint64_t bytes;          /* memory held (or mapped) by the index */
	int mapped;              /* base is an mmap of a file */
} veto_index_stats;

void veto_index_stats_get(veto_index *idx, veto_index_stats *st);

/** Write the whole index (merged) to `path` crash-safely: a temporary
 * file in the same directory, fsync, rename, fsync of the directory. */
int veto_index_save(veto_index *idx, const char *path, veto_error *err);

/** Load an index file by mmap. Every section's checksum is verified; a
 * damaged, truncated or foreign file is refused, never half-loaded. */
int veto_index_load(veto_index **out, const char *path, veto_error *err);


/* ------------------------------------------------------- provenance signals */

/*
 * Evidence about where a file came from and whether it declares itself
 * AI-generated: a C2PA manifest store (signed; validated like c2pa-rs and
 * reported with its status codes), unsigned metadata (XMP / IPTC
 * DigitalSourceType, EXIF, the generator records of Stable Diffusion front
 * ends) and the invisible-watermark dwtDct payloads Stable Diffusion
 * embeds. Evidence for a human, never a verdict: metadata can be stripped
 * or forged, and the report says for every signal what kind of evidence
 * it is and what was not validated. docs/signals.md describes the report.
 */

/** A set of trust anchors for C2PA signers (a PEM bundle). */
typedef struct prov_trust veto_trust;

/** Load a PEM bundle of trust anchors. Fails, naming the file, when it
 * cannot be read or holds no certificate. */
int veto_trust_load(const char *pem_path, veto_trust **out, veto_error *err);
void veto_trust_free(veto_trust *t);

typedef struct veto_signals_options {
	const veto_trust *trust; /* NULL: no trust list; valid C2PA signatures
	                          * are then "untrusted-but-intact" */
	int watermark;           /* run the watermark decoder (default 1) */
	int stealth;             /* look for A1111 "stealth" pixels (default 1) */
	uint64_t max_bytes;      /* largest file read (default 1 GiB) */
	uint64_t max_pixels;     /* largest image decoded for pixel signals */
	const char *sidecar_source; /* where a sidecar store came from, for the
	                          * report: "sidecar" (default) or "remote" */
	const char *sidecar_url; /* the URL it was fetched from, if remote */
} veto_signals_options;

void veto_signals_options_init(veto_signals_options *o);

/** One file's report. */
typedef struct veto_signals veto_signals;

/**
 * Gather every signal from data[0..size). `name` names the file in
 * messages and the report. `sidecar` (may be NULL) is a C2PA manifest
 * store (.c2pa) for this asset, used when the file embeds none (a remote
 * or sidecar manifest). Fails only when the bytes are no format veto
 * reads (VETO_ERR_FORMAT) or memory runs out; damaged structures are
 * described in the report.
 */
int veto_signals_buffer(const uint8_t *data, size_t size, const char *name,
                        const uint8_t *sidecar, size_t sidecar_len,
                        const veto_signals_options *o, veto_signals **out, veto_error *err);

/** The same for a file; with no sidecar given, "<path minus extension>.c2pa"
 * is used when it exists and the file embeds no store. A path ending in
 * .c2pa is read as a manifest store on its own. */
int veto_signals_file(const char *path, const char *sidecar_path,
                      const veto_signals_options *o, veto_signals **out, veto_error *err);

/** The whole report as JSON text (owned by the report). */
const char *veto_signals_json(const veto_signals *r);

/** The headline facts, for short summaries. Strings are owned by the report. */
typedef struct veto_signals_summary {
	int ai_declared;          /* some signal declares generative AI */
	const char *ai_strongest; /* the strongest such evidence: "c2pa-signed-verified",
	                           * "c2pa-signed-untrusted", "c2pa-signed-invalid",
	                           * "unsigned-metadata", "statistical-watermark"; NULL if none */
	const char *c2pa_state;   /* "valid", "untrusted-but-intact", "invalid",
	                           * "remote-only", "absent" */
	const char *headline;     /* one line for people */
} veto_signals_summary;

void veto_signals_summary_get(const veto_signals *r, veto_signals_summary *s);
void veto_signals_free(veto_signals *r);

#ifdef __cplusplus
}
#endif
#endif /* VETO_H */
