/*
 * signals.h - the signal types veto serve banks and matches, with
 * python-threatexchange's names, string forms and comparison rules, so
 * that an HMA client sees the same strings and answers:
 *
 *   pdq        64 lowercase hex digits ("^[0-9a-f]{64}$", no normalising);
 *              match: Hamming distance <= 31; HMA's distance string "N".
 *   video_md5  32 hex digits, trimmed and lowercased first; exact match;
 *              distance string "-" (HMA's NO_DISTANCE_STR).
 *   vpdq       python-threatexchange's VPDQSignal string: a JSON list of
 *              "pdqhex,quality,timestamp" strings; match: pytx's vPDQ
 *              rule (dedupe, quality >= 50, frame distance <= 31; the
 *              query's matched percentage >= 80, the banked side's >= 0,
 *              pytx's VPDQ_INDEX_MATCH_THRESHOLD_PERCENT), computed with
 *              veto_vpdq_compare.
 *   tmk        veto's own: the reference .tmk file in standard base64;
 *              match: level 1 and level 2 >= 0.7 (veto_tmk_is_match).
 *
 * Content types (HMA's): "photo" -> pdq; "video" -> video_md5, vpdq, tmk.
 * Nothing here touches the store or the network; hashing works on bytes in
 * memory only (uploads never touch disk).
 */
#ifndef VETO_SERVER_SIGNALS_H
#define VETO_SERVER_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#include "veto.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vsig_type { VSIG_PDQ = 0, VSIG_VIDEO_MD5, VSIG_VPDQ, VSIG_TMK, VSIG_COUNT };
enum vsig_content { VSIG_PHOTO = 0, VSIG_VIDEO, VSIG_CONTENT_COUNT };

const char *vsig_name(int type);                 /* "pdq", ... */
int vsig_from_name(const char *name);            /* -1 if unknown */
const char *vsig_content_name(int content);      /* "photo", "video" */
int vsig_content_from_name(const char *name);    /* -1 if unknown */
int vsig_content_of(int type);                   /* pdq -> VSIG_PHOTO ... */

/* A parsed signal, ready to compare or index. */
typedef struct vsig_value {
	int type;
	veto_pdq_hash pdq;             /* VSIG_PDQ */
	uint8_t md5[16];               /* VSIG_VIDEO_MD5 */
	veto_vpdq_frame *frames;       /* VSIG_VPDQ (malloc'd) */
	size_t nframes;
	veto_tmk *tmk;                 /* VSIG_TMK (owned) */
} vsig_value;
void vsig_value_clear(vsig_value *v);

/** Parse and validate a signal string exactly as python-threatexchange's
 * validate_signal_str would accept it. On success *out is filled and, if
 * canonical is not NULL, *canonical gets the normalised string (malloc'd).
 * VETO_ERR_INVALID with a message like HMA's ("invalid PDQ hash") if not. */
int vsig_parse(int type, const char *s, size_t len, vsig_value *out, char **canonical,
               veto_error *err);

/* The outcome of comparing two signals of one type. */
typedef struct vsig_score {
	int match;                     /* by the type's rule */
	int distance;                  /* pdq: Hamming distance */
	double query_percent;          /* vpdq: query frames matched */
	double target_percent;         /* vpdq: target frames matched */
	double level1, level2;         /* tmk */
} vsig_score;

int vsig_compare(const vsig_value *a, const vsig_value *b, vsig_score *out,
                 veto_error *err);
/** HMA's distance string for a match (SignalSimilarityInfo.pretty_str):
 * pdq "9", video_md5 "-", vpdq as python-threatexchange prints it, tmk
 * "level1,level2" with 6 decimals. */
void vsig_distance_str(int type, const vsig_score *s, char *buf, size_t cap);

/* Hashing uploaded bytes (in memory). */
typedef struct vsig_hashes {
	int have[VSIG_COUNT];          /* 1 if computed */
	char *value[VSIG_COUNT];       /* canonical strings (malloc'd); for pdq an
	                                * empty string when quality < 50, as HMA */
	int pdq_quality;
	int partial;                   /* a video stopped early (damaged/budget) */
} vsig_hashes;
void vsig_hashes_clear(vsig_hashes *h);

typedef struct vsig_hash_limits {
	uint64_t max_pixels;           /* 0: library default */
	double max_seconds;            /* video wall-clock budget; 0: none */
	int threads;                   /* video decode threads; 0: default */
} vsig_hash_limits;

/** Hash `data` as content type `content`, computing the types whose bit
 * (1 << type) is set in `mask` (0: every type of that content). name is
 * used in error messages (e.g. the upload's field or file name). */
int vsig_hash_bytes(int content, const uint8_t *data, size_t size, const char *name,
                    unsigned mask, const vsig_hash_limits *lim, vsig_hashes *out,
                    veto_error *err);

#ifdef __cplusplus
}
#endif
#endif
