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
 * signals with a type and a value, ratios in 0..1, and never a write when
 * the store is read-only.
 *
 * What the two backends would otherwise each write is declared here too
 * and lives in store.c: the row -> struct conversions (both select the same
 * columns in the same order), the schema and consistency checks, the
 * messages they share, and the logic of bank and content updates and
 * deletes, which store.c runs inside a backend's write transaction on a few
 * primitives (vs_ops.write, next_seq, get_/put_bank, erase_bank,
 * get_/put_content). What stays in a backend is its SQL, its connections
 * and its transactions.
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

/* The shared write logic in store.c runs inside a backend's transaction
 * as fn(s, conn, arg, err), conn being the backend's connection. */
typedef int (*vs_txn_fn)(vs_store *s, void *conn, void *arg, veto_error *err);
/* fn and its arg, as a backend's vs_ops.write passes them through its own
 * transaction runner to call fn(s, conn, arg, err) there. */
typedef struct vs_call {
	vs_txn_fn fn;
	void *arg;
} vs_call;

/* A page of changes as a backend reads it (vs_ops.changes_since), in one
 * snapshot: the change rows with seq > since (of bank_id only, if > 0), at
 * most limit, ascending; then the contents (with their signals) and the
 * banks those rows name, each sorted by id. store.c joins them. */
typedef struct vs_page {
	int64_t since, bank_id;
	size_t limit;                  /* >= 1 */
	vs_change *ch;
	size_t nch;
	vs_content *v;
	size_t n;
	vs_bank *banks;
	size_t nbanks;
} vs_page;
void vs_page_clear(vs_page *p);    /* frees all three arrays */

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

	/* n >= 1; vs_content_add is add_many with n = 1 */
	int (*content_add_many)(vs_store *s, int64_t bank_id, const vs_content *in,
	                        size_t n, int64_t *first_id, int64_t *last_seq,
	                        veto_error *err);
	int (*content_get)(vs_store *s, int64_t id, vs_content *out, veto_error *err);
	/* limit >= 1 */
	int (*content_list)(vs_store *s, int64_t bank_id, int64_t after_id, size_t limit,
	                    vs_content **out, size_t *n, veto_error *err);
	int (*signal_stats)(vs_store *s, const char *type, int64_t *count,
	                    int64_t *newest, veto_error *err);

	/* fills p (the caller frees it, also after an error) */
	int (*changes_since)(vs_store *s, vs_page *p, veto_error *err);
	int (*max_seq)(vs_store *s, int64_t *seq, veto_error *err);

	int (*key_create)(vs_store *s, const vs_key *k, veto_error *err);
	int (*key_list)(vs_store *s, vs_key **out, size_t *n, veto_error *err);
	int (*key_revoke)(vs_store *s, const char *key_id, veto_error *err);

	int (*setting_get)(vs_store *s, const char *key, char **value, veto_error *err);
	int (*setting_set)(vs_store *s, const char *key, const char *value,
	                   veto_error *err);

	/* What store.c's shared write logic (bank update and delete, content
	 * update and delete) stands on. write: run fn in one write transaction,
	 * as the backend runs its own (locking, commit, rollback on error). The
	 * rest work inside such a transaction, on its conn; the put_ and erase_
	 * functions write the change rows too, for the seq drawn by next_seq
	 * and the time now:
	 *   next_seq     the next change's seq (max + 1)
	 *   get_bank     the live bank by name (or by id if name is NULL);
	 *                VS_ERR_NOTFOUND if none
	 *   put_bank     bank id gets name and ratio, and change seq
	 *   erase_bank   bank id is deleted: each of its live contents becomes
	 *                a tombstone with change seq, seq + 1, ... (by id),
	 *                then the bank gets the next (name: for messages)
	 *   get_content  content by id with its signals; VS_ERR_NOTFOUND
	 *   put_content  content v->id gets the state v (its signals erased if
	 *                it is deleted), and change seq */
	int (*write)(vs_store *s, vs_txn_fn fn, void *arg, veto_error *err);
	int (*next_seq)(vs_store *s, void *conn, int64_t *seq, veto_error *err);
	int (*get_bank)(vs_store *s, void *conn, const char *name, int64_t id, vs_bank *out,
	                veto_error *err);
	int (*put_bank)(vs_store *s, void *conn, int64_t seq, int64_t now, int64_t id,
	                const char *name, double ratio, veto_error *err);
	int (*erase_bank)(vs_store *s, void *conn, int64_t seq, int64_t now, int64_t id,
	                  const char *name, veto_error *err);
	int (*get_content)(vs_store *s, void *conn, int64_t id, vs_content *out,
	                   veto_error *err);
	int (*put_content)(vs_store *s, void *conn, int64_t seq, int64_t now,
	                   const vs_content *v, veto_error *err);
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

/* Messages both backends give (each returns its code). */
int vs_no_bank(const vs_store *s, const char *name, int64_t id, veto_error *err);
int vs_no_content(const vs_store *s, int64_t id, veto_error *err);
int vs_name_taken(const vs_store *s, const char *name, veto_error *err); /* CONFLICT */
int vs_nomem(const vs_store *s, veto_error *err);

/* Helpers for the backends. */
char *vs_strdup(const char *s);                /* NULL -> NULL */
char *vs_strndup(const char *s, size_t n);
/* Ensure room for `need` elements of `size` bytes in *v (capacity *cap),
 * growing geometrically and zeroing new elements. 0 or VETO_ERR_NOMEM. */
int vs_reserve(void *v, size_t *cap, size_t need, size_t size);
/* Append a signal (copies of type and value). 0 or VETO_ERR_NOMEM. */
int vs_content_push_signal(vs_content *c, const char *type, const char *value);
/* Binary search in contents sorted by ascending id; NULL if absent. */
vs_content *vs_content_find(vs_content *v, size_t n, int64_t id);
/* The banks (or contents, with their signals already attached) one lookup
 * read, v[0..n): the first goes to *out, the rest and v are freed. n == 0
 * is VS_ERR_NOTFOUND naming the bank (by name, else by id) or content. */
int vs_first_bank(const vs_store *s, vs_bank *v, size_t n, const char *name, int64_t id,
                  vs_bank *out, veto_error *err);
int vs_first_content(const vs_store *s, vs_content *v, size_t n, int64_t id,
                     vs_content *out, veto_error *err);
/* Inside a write (conn as given to a vs_txn_fn): VS_ERR_CONFLICT if a live
 * bank is named `name`, 0 if none is, else the lookup's error. */
int vs_bank_name_free(vs_store *s, void *conn, const char *name, veto_error *err);

/* ------------------------------------------------------------ row reading */

/* The columns the backends select, in the order vs_*_from_row read them
 * (contents from veto_content c LEFT JOIN veto_banks b). Keys: key_id,
 * secret_hash, role, banks, rate, name, created, revoked, in that order;
 * each backend selects and reads secret_hash (column 1) its own way. */
#define VS_BANK_COLS "id, name, enabled_ratio, created, updated, deleted"
#define VS_CONTENT_COLS                                                          \
	"c.id, c.bank_id, c.disable_until_ts, c.status, c.note, c.metadata_json, " \
	"c.source, c.case_ref, c.original_media_uri, c.created, c.updated, c.seq, " \
	"CASE WHEN b.deleted = 0 THEN b.name END, "                                \
	"CASE WHEN b.deleted = 0 THEN b.enabled_ratio ELSE 0 END"
#define VS_CHANGE_COLS "seq, kind, ts, bank_id, content_id"

/* One row of a query's result, read through its backend's getters. */
typedef struct vs_row vs_row;
typedef struct vs_row_ops {
	int64_t (*i64)(const vs_row *r, int col);   /* NULL reads as 0 */
	double (*dbl)(const vs_row *r, int col);
	/* a copy of a text column: NULL stays NULL unless notnull (then "");
	 * 0 or VETO_ERR_NOMEM */
	int (*str)(const vs_row *r, int col, int notnull, char **out);
} vs_row_ops;
struct vs_row {
	const vs_row_ops *ops;
	void *res;                     /* the backend's statement or result */
	int row;                       /* the row's number, where that matters */
};

/* Row -> struct (dst: a vs_bank, vs_content, vs_change or vs_key, which is
 * zeroed first; a key's secret_hash is left to the backend). 0, or
 * VETO_ERR_NOMEM with nothing left to free. */
typedef int (*vs_row_fn)(const vs_row *r, void *dst);
int vs_bank_from_row(const vs_row *r, void *dst);
int vs_content_from_row(const vs_row *r, void *dst);
int vs_change_from_row(const vs_row *r, void *dst);
int vs_key_from_row(const vs_row *r, void *dst);

/* --------------------------------------------------------------- checks */

/* The schema version v found at open (0: none yet, < 0: damaged), after
 * the backend's own test for someone else's tables: refuses a damaged or
 * newer schema, and one a read-only store cannot use. */
int vs_check_version(const vs_store *s, int64_t v, int readonly, veto_error *err);
/* vs_check's common part, inside the backend's read transaction: the
 * schema version (as the backend read it) must be this binary's, and the
 * change sequence consistent. count runs one "SELECT count(*) ..." query
 * (the same SQL on both backends) on conn. */
int vs_check_consistency(vs_store *s, void *conn, int64_t version,
                         int (*count)(vs_store *s, void *conn, const char *sql, int64_t *n,
                                      veto_error *err),
                         veto_error *err);

/* Parse hex into bytes: 0 if exactly 2*n hex digits. */
int vs_hex_decode(const char *hex, uint8_t *out, size_t n);
void vs_hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);

#endif
