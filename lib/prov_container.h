/*
 * prov_container.h - finding the provenance payloads inside a media file:
 * the C2PA manifest store (JUMBF), XMP, EXIF and text records (prov.h's
 * prov_assets), in JPEG, PNG, WebP, GIF, TIFF, ISO BMFF or a bare store.
 *
 * The embeddings follow c2pa-rs's asset handlers (JPEG XT APP11 segments,
 * PNG caBX, RIFF "C2PA", GIF "C2PA_GIF" application extension, TIFF tag
 * 0xCD41, BMFF uuid box d8fec3d6-...), so a store found here is the byte
 * string c2pa-rs would hand to its JUMBF parser. Everything returned is a
 * copy; structural damage is listed in prov_assets.problems (one line, with
 * the offset) and the scan keeps what it read before the damage.
 *
 * jumbf_offset is the file offset of the store's first byte: for JPEG that
 * of the box in the first APP11 segment, for GIF (whose store is cut into
 * sub-blocks) the first data byte of the first sub-block.
 *
 * Text records (prov_text.where): "jpeg:COM", "jpeg:xmp-extension" (an
 * Extended XMP put back together: key = its GUID, value = the serialized
 * extension), "png:tEXt", "png:zTXt", "png:iTXt", "gif:comment".
 *
 * The first half is the API; the second the pieces the per-format files
 * (prov_container_*.c) and the fuzzers share. Nothing else should use it.
 */
#ifndef VETO_PROV_CONTAINER_H
#define VETO_PROV_CONTAINER_H

#include "prov.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Recognises the container by content (never by name) and walks it.
 * `name` only appears in error messages (NULL: "<buffer>"). *out is
 * overwritten (not freed first). Returns:
 *   VETO_OK          the container was recognised and walked; damage, caps
 *                    and anything odd are in out->problems;
 *   VETO_ERR_FORMAT  "<name>: not a JPEG, PNG, WebP, GIF, TIFF, ISO BMFF
 *                    file or C2PA manifest store";
 *   VETO_ERR_NOMEM   out of memory.
 * On an error *out is left empty (all pointers NULL); prov_assets_free is
 * safe either way.
 */
int prov_scan(const uint8_t *data, size_t size, const char *name, prov_assets *out,
              veto_error *err);
void prov_assets_free(prov_assets *a);

/* ------------------------------------------- internal to prov_container*.c */

/* One scanner per container, same contract as prov_scan except that each
 * one accepts only its own format (VETO_ERR_FORMAT otherwise). The fuzzers
 * call them directly. */
int prov_scan_jpeg(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);
int prov_scan_png(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);
int prov_scan_riff(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);
int prov_scan_gif(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);
int prov_scan_tiff(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);
int prov_scan_bmff(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);
int prov_scan_raw(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err);

/* Caps of our own, besides prov.h's. */
#define PC_MAX_PROBLEMS 64     /* then one "... more" line */
#define PC_MAX_TEXTS    1024   /* text records kept */
#define PC_MAX_BOXES    100000 /* top-level BMFF boxes, GIF blocks, JPEG segments */
#define PC_MAX_IFDS     1024   /* TIFF IFDs in one chain */

/* The state a scanner writes through. */
typedef struct pc_scan {
	prov_assets *a;
	const char *name;
	int oom;               /* an allocation failed: the scan returns NOMEM */
	size_t problems_dropped;
	size_t texts_dropped;
	int store_seen;        /* a store was handed to pc_store / pc_take_store */
} pc_scan;

/* Starts a scan: zeroes *out, sets the format. */
void pc_begin(pc_scan *s, prov_assets *out, const char *name, const char *format);
/* Ends it (the last problem line counts the dropped ones, if any):
 * VETO_OK, or VETO_ERR_NOMEM after freeing *out. */
int pc_end(pc_scan *s, veto_error *err);
/* VETO_ERR_FORMAT with the standard message. */
int pc_not_mine(const char *name, prov_assets *out, veto_error *err);

/* One problem line (printf format). */
void pc_problem(pc_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A C2PA store was found (`what` names its carrier: "PNG caBX chunk").
 * Counts it; keeps a copy of the first (capped at PROV_MAX_STORE, a
 * problem beyond); a second one is a problem. Checks it starts with a C2PA
 * superbox (a problem if not; it is kept anyway, as c2pa-rs would read it).
 * pc_take_store does the same with a malloc'd buffer it takes over. */
void pc_store(pc_scan *s, const uint8_t *p, size_t n, uint64_t off, const char *what);
void pc_take_store(pc_scan *s, uint8_t *buf, size_t n, uint64_t off, const char *what);
/* A store that cannot be read (too large, out of range, wrong type): it is
 * counted in jumbf_stores and `why` becomes a problem line. */
void pc_store_unread(pc_scan *s, const char *why);

/* The first XMP packet / EXIF block wins; later ones are ignored. Both are
 * capped at PROV_MAX_TEXT. EXIF must be TIFF-structured ("II*\0"/"MM\0*",
 * or BigTIFF), else it is a problem and dropped. */
void pc_xmp(pc_scan *s, const uint8_t *p, size_t n, uint64_t off, const char *what);
void pc_exif(pc_scan *s, const uint8_t *p, size_t n, uint64_t off, const char *what);
/* Takes over a malloc'd XMP buffer (n bytes plus room for a NUL). */
void pc_take_xmp(pc_scan *s, uint8_t *buf, size_t n);

enum pc_charset {
	PC_LATIN1,     /* ISO 8859-1 (PNG tEXt, zTXt): converted to UTF-8 */
	PC_UTF8,       /* must be UTF-8 (PNG iTXt): a problem and Latin-1 if not */
	PC_GUESS       /* UTF-8 if it is valid UTF-8, else Latin-1 (comments) */
};
/* Adds a text record; key and value are converted to UTF-8 per cs. */
void pc_text(pc_scan *s, const char *where, const uint8_t *key, size_t klen,
             const uint8_t *val, size_t vlen, int cs, uint64_t off);

/* zlib-inflates src into a malloc'd buffer (NUL-terminated, *outlen bytes
 * before the NUL), at most `limit` bytes. Returns 0, or -1 for a damaged
 * stream, 1 for output over the limit, -2 for no memory (s->oom set). */
int pc_inflate(pc_scan *s, const uint8_t *src, size_t n, size_t limit, uint8_t **out,
               size_t *outlen);

/* A 4-character code made printable ('?' for anything else), for messages. */
void pc_fourcc(const uint8_t *p, char out[5]);

/* Whether p[0..n) starts a C2PA manifest store superbox: "jumb" whose first
 * child is a "jumd" with a type UUID starting with "c2pa" (c2pa-rs's own
 * test). *full is set when the whole UUID and the label "c2pa" match too. */
int pc_is_c2pa_superbox(const uint8_t *p, size_t n, int *full);

static inline uint16_t pc_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t pc_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t pc_be64(const uint8_t *p) { return (uint64_t)pc_be32(p) << 32 | pc_be32(p + 4); }
static inline uint16_t pc_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t pc_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pc_le64(const uint8_t *p) { return (uint64_t)pc_le32(p + 4) << 32 | pc_le32(p); }

#endif
