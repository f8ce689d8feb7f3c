/*
 * index_internal.h - the parts of the hash index (index*.c) and their data.
 *
 * An index is an immutable *base* (built once, searched by multi-index
 * hashing or by scan, possibly an mmap of a file) plus a *delta* of entries
 * added since (scanned) and *tombstones* (ids deleted since, which hide
 * base entries). veto_index_merge folds the three into a new base.
 *
 * Bit layout: a hash is viewed as four little-endian 64-bit words loaded
 * from its 32 bytes (memcpy); slice s covers bits [start, start + len) of
 * that 256-bit string. Hamming distance does not care how bits are
 * numbered, so any fixed numbering works; this one makes keys cheap.
 */
#ifndef VETO_INDEX_INTERNAL_H
#define VETO_INDEX_INTERNAL_H

#include "internal.h"

#include <pthread.h>
#include <string.h>

#define VIDX_MAX_SLICES 32

typedef struct vidx_hash {
	uint64_t w[4];
} vidx_hash;

static inline vidx_hash vidx_load(const veto_pdq_hash *h)
{
	vidx_hash x;
	memcpy(x.w, h->bytes, 32);
	return x;
}

static inline int vidx_dist(const vidx_hash *a, const vidx_hash *b)
{
	return __builtin_popcountll(a->w[0] ^ b->w[0]) + __builtin_popcountll(a->w[1] ^ b->w[1]) +
	       __builtin_popcountll(a->w[2] ^ b->w[2]) + __builtin_popcountll(a->w[3] ^ b->w[3]);
}

/* Bits [start, start+len) of h, len <= 32. */
static inline uint32_t vidx_key(const vidx_hash *h, int start, int len)
{
	const int w = start >> 6, o = start & 63;
	uint64_t v = h->w[w] >> o;
	if (o + len > 64)
		v |= h->w[w + 1] << (64 - o);
	return (uint32_t)(v & ((1ull << len) - 1));
}

typedef struct vidx_slice {
	int start, len;          /* bit range */
	const uint32_t *offsets; /* (1 << len) + 1 bucket starts */
	const uint32_t *postings;/* n base positions (NULL for slice 0: the base
	                          * itself is ordered by slice 0) */
	uint64_t mask[4];        /* the slice's bits, for per-slice distances */
} vidx_slice;

/* The immutable base. Arrays point into `mem` (malloc'd) or a mapping. */
typedef struct vidx_base {
	uint64_t n;
	const vidx_hash *hashes; /* n, ordered by slice 0's key */
	const uint64_t *ids;     /* n */
	const uint8_t *quality;  /* n */
	const uint16_t *banks;   /* n */
	int nslices;             /* 0: scan only */
	vidx_slice slices[VIDX_MAX_SLICES];
	void *mem;               /* what to free or unmap */
	size_t memlen;
	int mapped;
	int refs;                /* guarded by the index lock */
} vidx_base;

/* A delta entry: an added entry with the sequence number of its add (its
 * hash lives in a parallel array of hashes, which is what gets scanned). */
typedef struct vidx_dentry {
	uint64_t id;
	uint64_t seq;
	uint8_t quality;
	uint16_t bank;
} vidx_dentry;

typedef struct vidx_tomb {
	uint64_t id;
	uint64_t seq;
} vidx_tomb;

/* Where each array of a base lives in its one block of memory, which is
 * also the body of an index file (index_file.c maps it as is). Sections:
 * 0 hashes, 1 ids, 2 quality, 3 banks, then per slice s: 4 + 2s offsets,
 * 5 + 2s postings (empty for slice 0). Each starts 64-byte aligned. */
#define VIDX_SEC_FIXED 4
#define VIDX_MAX_SECTIONS (VIDX_SEC_FIXED + 2 * VIDX_MAX_SLICES)
typedef struct vidx_layout {
	int nsec;
	uint64_t off[VIDX_MAX_SECTIONS], len[VIDX_MAX_SECTIONS];
	uint64_t total;
} vidx_layout;
void vidx_layout_compute(vidx_layout *l, uint64_t n, int nslices, const int lens[]);
/* Point a base's arrays into `mem` laid out as `l` (n, nslices, slice
 * lens/starts must be set). */
void vidx_base_attach(vidx_base *b, uint8_t *mem, const vidx_layout *l);

/* Slice plan and base building (index_base.c). */
int vidx_plan(uint64_t n, int *nslices, int lens[VIDX_MAX_SLICES]);
/* Where a build reads its entries: four strided arrays, so it can read the
 * caller's veto_index_entry array in place or packed snapshot arrays. */
typedef struct vidx_src {
	const uint8_t *hash, *id, *q, *bank;
	size_t hash_stride, id_stride, q_stride, bank_stride;
} vidx_src;
/* Build a base from n entries read through `src` (may be NULL if n = 0). */
int vidx_base_build(vidx_base **out, uint64_t n, const vidx_src *src);
void vidx_base_free(vidx_base *b);
/* Fill masks and derived fields once arrays are in place. */
void vidx_base_finish_slices(vidx_base *b);

/* Search the base: calls `hit` for each base position within radius
 * (exactly once per position). Strategy chosen by estimated cost. */
typedef void (*vidx_hit_fn)(void *ctx, uint64_t pos, int dist);
int vidx_base_search(const vidx_base *b, const vidx_hash *q, int radius, vidx_hit_fn hit,
                     void *ctx);

/* Scan kernels (index_scan.c): distances of q to n hashes, calling hit for
 * those <= radius. Picks AVX-512 VPOPCNTDQ, AVX2 or scalar at run time. */
void vidx_scan(const vidx_hash *h, uint64_t n, const vidx_hash *q, int radius,
               vidx_hit_fn hit, void *ctx, uint64_t pos0);
const char *vidx_scan_kernel_name(void);

/* The file format (index_file.c). */
void vidx_unmap(void *mem, size_t len);
int vidx_file_write(const vidx_base *b, const char *path, veto_error *err);
int vidx_file_map(vidx_base **out, const char *path, veto_error *err);

#endif
