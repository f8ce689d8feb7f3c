/*
 * store_internal.h - what server/store.c shares with the two backends
 * (server/store_sqlite.c, server/store_pg.c). Nothing outside server/store*
 * includes it.
 *
 * store.c owns the public entry points: it checks arguments, zeroes the
 * outputs (so a caller may always free them, even after an error), refuses
 * writes on a read-only store, and then calls the backend through the small
 * table of functions below. A backend therefore sees only valid input:
 * non-NULL store and output pointers, a non-empty name, statuses in range,
 * signals with a type and a value, ratios in 0..1 (or < 0 for "keep" in
 * bank_update), and never a write when the store is read-only.
 *
 * Error messages are one line and begin with the database's name (the
 * SQLite path, or "postgres USER@HOST:PORT/DBNAME": never a password);
 * vs_fail() enforces the one line.
 */
#ifndef VETO_SERVER_STORE_INTERNAL_H
#define VETO_SERVER_STORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The schema version this binary writes and reads (store_sqlite.c and
 * store_pg.c each hold their migration steps up to it). */
#define VS_SCHEMA_VERSION 1

typedef struct vs_ops {
	const char *name; /* "sqlite" or "postgres" */
	void (*close)(vs_store *s);
	int (*check)(vs_store *s, veto_error *err);

	int (*bank_list)(vs_store *s, vs_bank **out, size_t *n, veto_error *err);
	/* by name if name != NULL, else by id; live banks only */
	int (*bank_get)(vs_store *s, const char *name, int64_t id, vs_bank *out,
	                veto_error *err);
	int (*bank_create)(vs_store *s, const char *name, double ratio, vs_bank *out,
	                   veto_error *err);
	int (*bank_update)(vs_store *s, const char *name, const char *new_name,
	                   double ratio, vs_bank *out, veto_error *err);
	int (*bank_delete)(vs_store *s, const char *name, veto_error *err);

	/* n >= 1; vs_content_add is add_many with n = 1 */
	int (*content_add_many)(vs_store *s, int64_t bank_id, const vs_content *in,
	                        size_t n, int64_t *first_id, int64_t *last_seq,
	                        veto_error *err);
	int (*content_get)(vs_store *s, int64_t id, vs_content *out, veto_error *err);
	int (*content_update)(vs_store *s, int64_t bank_id, int64_t id, unsigned what,
	                      const vs_content *in, vs_content *out, int64_t *seq,
	                      veto_error *err);
	int (*content_delete)(vs_store *s, int64_t bank_id, int64_t id, int *deleted,
	                      int64_t *seq, veto_error *err);
	/* limit >= 1 */
	int (*content_list)(vs_store *s, int64_t bank_id, int64_t after_id, size_t limit,
	                    vs_content **out, size_t *n, veto_error *err);
	int (*signal_stats)(vs_store *s, const char *type, int64_t *count,
	                    int64_t *newest, veto_error *err);

	/* limit >= 1 */
	int (*changes_since)(vs_store *s, int64_t since, int64_t bank_id, size_t limit,
	                     vs_change **out, size_t *n, veto_error *err);
	int (*max_seq)(vs_store *s, int64_t *seq, veto_error *err);

	int (*key_create)(vs_store *s, const vs_key *k, veto_error *err);
	int (*key_list)(vs_store *s, vs_key **out, size_t *n, veto_error *err);
	int (*key_revoke)(vs_store *s, const char *key_id, veto_error *err);

	int (*setting_get)(vs_store *s, const char *key, char **value, veto_error *err);
	int (*setting_set)(vs_store *s, const char *key, const char *value,
	                   veto_error *err);
} vs_ops;

/* Every backend's store begins with this. */
struct vs_store {
	const vs_ops *ops;
	int readonly;
	char where[256]; /* names the database in messages */
};

/* The backends' openers: `target` is the SQLite path or the libpq
 * connection string / URL (store.c has stripped "sqlite:"). */
int vs_sqlite_open(vs_store **out, const char *path, int readonly, veto_error *err);
int vs_pg_open(vs_store **out, const char *conninfo, int readonly, veto_error *err);

/* URL -> backend. Returns 0 and sets *backend (VS_BACKEND_*) and *target
 * (points into url), or VETO_ERR_INVALID with a message. */
enum { VS_BACKEND_SQLITE = 1, VS_BACKEND_POSTGRES = 2 };
int vs_url_parse(const char *url, int *backend, const char **target, veto_error *err);

/* Sets *err (if not NULL) to code and the formatted message, folded onto
 * one line (newlines and tabs become spaces, trailing blanks go); returns
 * code. */
int vs_fail(veto_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Helpers for the backends. */
char *vs_strdup(const char *s);                /* NULL -> NULL */
char *vs_strndup(const char *s, size_t n);
/* Ensure room for `need` elements of `size` bytes in *v (capacity *cap),
 * growing geometrically and zeroing new elements. 0 or VETO_ERR_NOMEM. */
int vs_reserve(void *v, size_t *cap, size_t need, size_t size);
/* Append a signal (copies of type and value). 0 or VETO_ERR_NOMEM. */
int vs_content_push_signal(vs_content *c, const char *type, const char *value);
/* Deep copy of src into dst (dst is overwritten, not freed). */
int vs_content_copy(vs_content *dst, const vs_content *src);
int vs_bank_copy(vs_bank *dst, const vs_bank *src);
/* Make v a tombstone: status VS_DELETED, no signals, note, metadata or
 * original media URI (source and case_ref, the provenance, stay). */
void vs_content_tombstone(vs_content *v);
/* Apply vs_content_update's `what` fields of in to cur (a tombstone if the
 * status becomes VS_DELETED). 0 or VETO_ERR_NOMEM. */
int vs_content_merge(vs_content *cur, unsigned what, const vs_content *in);
/* Binary search in contents sorted by ascending id; NULL if absent. */
vs_content *vs_content_find(vs_content *v, size_t n, int64_t id);
/* Fill changes[i].bank / .content from the entities read for one page
 * (contents sorted by id, banks by id): deep copies. A change whose entity
 * is missing gets a bare record: the id, and deleted / VS_DELETED. */
int vs_changes_fill(vs_change *ch, size_t n, vs_content *contents, size_t ncontents,
                    vs_bank *banks, size_t nbanks);

/* Parse hex into bytes: 0 if exactly 2*n hex digits. */
int vs_hex_decode(const char *hex, uint8_t *out, size_t n);
void vs_hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);

#endif
