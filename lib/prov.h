/*
 * prov.h - what the provenance modules (lib/prov_*.c, `veto signals`) share.
 *
 * `veto signals` gathers evidence about where a file came from: a C2PA
 * manifest store (signed; prov_c2pa.c over prov_jumbf.c and prov_cose.c),
 * unsigned metadata (XMP, EXIF, the generator records of Stable Diffusion
 * front ends: prov_meta.c), and statistical watermarks (prov_watermark.c).
 * Each module reads hostile bytes: every length is checked against what is
 * left, every count and depth is capped, and a failure is a status or a
 * veto_error, never a crash. None of them prints, exits or touches files;
 * prov_report.c assembles their findings into the JSON report that
 * veto_signals_* return.
 *
 * This header holds the one structure they all write to: the list of
 * validation statuses, named exactly as c2pa-rs names them
 * ("claimSignature.validated", "assertion.dataHash.mismatch", ...), so a
 * report can be compared code for code with c2pa-rs's own output.
 */
#ifndef VETO_PROV_H
#define VETO_PROV_H

#include "internal.h"

#include <openssl/evp.h>

#include <stddef.h>
#include <stdint.h>

/* Caps shared by the parsers (hostile input). */
#define PROV_MAX_STORE     (64u << 20)  /* reassembled JUMBF manifest store */
#define PROV_MAX_BOXES     100000       /* boxes in one store */
#define PROV_MAX_DEPTH     32           /* JUMBF / CBOR / XML nesting */
#define PROV_MAX_TEXT      (16u << 20)  /* one inflated text chunk / XMP */

enum prov_status_kind {
	PROV_SUCCESS = 0,      /* c2pa-rs "success" */
	PROV_INFORMATIONAL = 1,/* c2pa-rs "informational" */
	PROV_FAILURE = 2       /* c2pa-rs "failure" */
};

typedef struct prov_status {
	int kind;              /* enum prov_status_kind */
	char *code;            /* "claimSignature.validated" */
	char *url;             /* "self#jumbf=/c2pa/<manifest>/c2pa.signature"; may be NULL */
	char *explanation;     /* human text; may be NULL */
} prov_status;

typedef struct prov_status_list {
	prov_status *v;
	size_t n, cap;
	int oom;               /* an add failed for lack of memory */
} prov_status_list;

/* Appends a status (strings are copied; url may be NULL; fmt may be NULL).
 * On allocation failure sets l->oom and drops the status. */
void prov_status_add(prov_status_list *l, int kind, const char *code, const char *url,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Nonzero when l holds a status with this code (and kind, unless kind < 0). */
int prov_status_has(const prov_status_list *l, const char *code, int kind);
size_t prov_status_count(const prov_status_list *l, int kind);
void prov_status_free(prov_status_list *l);

/* ------------------------------------------------ what a container holds */

/* One text record found in the container: PNG tEXt/zTXt/iTXt (inflated,
 * converted to UTF-8 from Latin-1 for tEXt/zTXt), a JPEG COM segment.
 * `where` is a static string: "png:tEXt", "png:zTXt", "png:iTXt", "jpeg:COM",
 * "jpeg:xmp-extension" (key = the GUID, value = the reassembled Extended
 * XMP), "gif:comment" (prov_container.h lists them). */
typedef struct prov_text {
	char *key;             /* NUL-terminated; "" for COM */
	char *value;           /* NUL-terminated UTF-8 (may hold NULs; use len) */
	size_t len;
	const char *where;
} prov_text;

/* prov_scan's result (prov_container.c). Every pointer is owned by the
 * struct (copies, never pointers into the input) and freed by
 * prov_assets_free. */
typedef struct prov_assets {
	const char *format;    /* static: "jpeg", "png", "webp", "gif", "tiff",
	                        * "bmff", "c2pa" (a raw JUMBF store / sidecar),
	                        * "unknown" */
	uint8_t *jumbf;        /* the C2PA manifest store, reassembled; NULL if none */
	size_t jumbf_len;
	uint64_t jumbf_offset; /* where its first byte sits in the file (for reports) */
	int jumbf_stores;      /* C2PA stores seen (> 1 is itself a problem) */
	uint64_t store_range_start; /* the file bytes the store occupies with its
	                        * container framing (JPEG: first APP11 marker to
	                        * the end of the last C2PA APP11 segment; PNG:
	                        * the whole caBX chunk); 0/0 if not known. Update
	                        * manifests need it (prov_c2pa.c). */
	uint64_t store_range_len;
	uint8_t *xmp;          /* first XMP packet, NUL-terminated; NULL if none */
	size_t xmp_len;
	uint8_t *exif;         /* TIFF-structured EXIF ("II*\0" / "MM\0*"); NULL if none */
	size_t exif_len;
	prov_text *texts;
	size_t ntexts;
	char **problems;       /* structural problems met while scanning, each one
	                        * line naming the offset ("APP11 segment at 1234
	                        * runs past the end of the file"); the scan keeps
	                        * what it read before them */
	size_t nproblems;
} prov_assets;

/* Length (1..4) of the valid UTF-8 sequence at p, n bytes left; 0 if it is
 * invalid (overlong, surrogate, past U+10FFFF, cut short). */
size_t prov_utf8_seq(const uint8_t *p, size_t n);
/* Nonzero when p[0..n) is all valid UTF-8. */
int prov_utf8_valid(const uint8_t *p, size_t n);

/* The digest a C2PA "alg" names: sha256, sha384, sha512; NULL for any
 * other name (c2pa-rs accepts no others). */
const EVP_MD *prov_md(const char *alg);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void prov_hex(const uint8_t *p, size_t n, char *out);

#endif
