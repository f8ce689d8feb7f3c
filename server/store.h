/*
 * store.h - veto serve's durable state: banks, banked content with its
 * signals and provenance, the change sequence, API keys, settings.
 *
 * One interface, two backends chosen by URL:
 *   "sqlite:PATH" or a plain PATH  -> server/store_sqlite.c (embedded
 *                                     default: WAL, synchronous=FULL)
 *   "postgres://..." / "postgresql://..." / "host=... dbname=..."
 *                                  -> server/store_pg.c (libpq; fleets)
 * server/store.c dispatches. Opening runs the schema migrations (a table
 * `veto_schema` holds the version); a database whose schema is newer than
 * this binary, or that is not veto's, or is damaged, is refused with a
 * message naming it. (SQLite files over 128 MB get only the cheap damage
 * checks at open, a full PRAGMA quick_check taking ~9 s per GB; vs_check
 * runs the full one: see store_sqlite.c.) Nothing here prints or exits.
 *
 * Durability: every write function commits (SQLite: WAL + synchronous=FULL;
 * PostgreSQL: synchronous commit) before it returns 0. A write either
 * happens whole, with its change row, or not at all.
 *
 * The change sequence: every write to a bank or to content appends a row
 * to `veto_changes` in the same transaction, numbered by a global,
 * strictly increasing `seq`. Writers are serialised (SQLite: one writer;
 * PostgreSQL: a transaction-level advisory lock taken before the seq is
 * drawn), so rows become visible in seq order and a follower that has
 * read everything up to S never later sees a row <= S appear. A change row
 * says only WHAT changed (a content id or a bank id); readers get the
 * entity's state as it is NOW (vs_changes_since joins it), which makes
 * applying changes idempotent: re-reading an old change is harmless.
 *
 * Deleting content keeps a tombstone row (status VS_DELETED) with no
 * signals, note or metadata: the hashes themselves are erased, and
 * followers learn the id is gone. Deleting a bank deletes its content the
 * same way (one change per content, then one for the bank).
 *
 * Threads: a vs_store may be used from any number of threads at once
 * (SQLite: one connection per thread, created on first use; PostgreSQL: a
 * small connection pool). Strings returned inside structs are malloc'd
 * and belong to the struct: free them with the matching _clear/_free.
 */
#ifndef VETO_SERVER_STORE_H
#define VETO_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "veto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Extra status codes (veto_status uses -1..-7). */
#define VS_ERR_NOTFOUND  (-20)   /* no such bank / content / key */
#define VS_ERR_CONFLICT  (-21)   /* name already taken */
#define VS_ERR_DB        (-22)   /* the database failed (message says how) */

typedef struct vs_store vs_store;

enum vs_content_status { VS_ACTIVE = 0, VS_WITHDRAWN = 1, VS_DELETED = 2 };
const char *vs_status_name(int status);          /* "active", ... */
int vs_status_parse(const char *s);              /* -1 if unknown */

typedef struct vs_bank {
	int64_t id;              /* stable; never reused */
	char *name;              /* UPPER_WITH_UNDERSCORES, <= 128 chars */
	double enabled_ratio;    /* 0..1: HMA's matching_enabled_ratio */
	int64_t created, updated;/* unix seconds */
	int deleted;             /* only in change records: the bank is gone */
} vs_bank;
void vs_bank_clear(vs_bank *b);
void vs_banks_free(vs_bank *v, size_t n);

typedef struct vs_signal {
	char *type;              /* "pdq", "video_md5", "vpdq", "tmk" */
	char *value;             /* the canonical signal string */
} vs_signal;

typedef struct vs_content {
	int64_t id;              /* global across banks, from 1 (HMA's ids) */
	int64_t bank_id;
	char *bank_name;         /* filled by reads */
	double bank_ratio;       /* filled by reads */
	int64_t disable_until_ts;/* HMA: 1 enabled, 0 disabled, else unix time */
	int status;              /* enum vs_content_status */
	char *note;              /* <= 255 chars or NULL */
	char *metadata_json;     /* HMA's user metadata object, as JSON text, or NULL */
	char *source;            /* provenance: who reported/imported it, or NULL */
	char *case_ref;          /* provenance: case reference, or NULL */
	char *original_media_uri;/* or NULL */
	int64_t created, updated;/* unix seconds */
	int64_t seq;             /* the last change that touched it */
	vs_signal *signals;      /* empty for deleted content */
	size_t nsignals;
} vs_content;
void vs_content_clear(vs_content *c);
void vs_contents_free(vs_content *v, size_t n);

enum vs_change_kind { VS_CHANGE_CONTENT = 1, VS_CHANGE_BANK = 2 };

typedef struct vs_change {
	int64_t seq;
	int kind;                /* enum vs_change_kind */
	int64_t ts;              /* unix seconds of the change */
	int64_t bank_id;
	int64_t content_id;      /* 0 for bank changes */
	/* The entity as it is now. For a bank change: bank (bank.deleted set if
	 * the bank is gone). For a content change: content (status VS_DELETED
	 * with no signals if it was deleted; bank_name may be NULL if the bank
	 * is gone too). */
	vs_bank bank;
	vs_content content;
} vs_change;
void vs_changes_free(vs_change *v, size_t n);

/* ------------------------------------------------------------- opening */

/** Open (creating and migrating as needed) the store at `url`.
 * readonly: never write, never migrate (a follower on a replica); a
 * schema older or newer than this binary's is then an error. */
int vs_open(vs_store **out, const char *url, int readonly, veto_error *err);
void vs_close(vs_store *s);
const char *vs_backend(const vs_store *s);       /* "sqlite" or "postgres" */
/** Check the database end to end (SQLite: PRAGMA quick_check; both: the
 * schema version and the seq's consistency). */
int vs_check(vs_store *s, veto_error *err);

/* --------------------------------------------------------------- banks */

int vs_bank_list(vs_store *s, vs_bank **out, size_t *n, veto_error *err); /* by id */
int vs_bank_get(vs_store *s, const char *name, vs_bank *out, veto_error *err);
int vs_bank_get_by_id(vs_store *s, int64_t id, vs_bank *out, veto_error *err);
/** VS_ERR_CONFLICT if the name exists. Name validity is the caller's job. */
int vs_bank_create(vs_store *s, const char *name, double ratio, vs_bank *out,
                   veto_error *err);
/** new_name NULL: keep; ratio < 0: keep. VS_ERR_NOTFOUND / VS_ERR_CONFLICT. */
int vs_bank_update(vs_store *s, const char *name, const char *new_name, double ratio,
                   vs_bank *out, veto_error *err);
/** Deletes the bank and all its content (tombstones). VS_ERR_NOTFOUND. */
int vs_bank_delete(vs_store *s, const char *name, veto_error *err);

/* ------------------------------------------------------------- content */

/** Add content to bank_id: in's signals, disable_until_ts, status, note,
 * metadata_json, source, case_ref, original_media_uri are stored (id,
 * timestamps, seq are assigned). *id and *seq (either may be NULL) get the
 * new id and its change's seq. VS_ERR_NOTFOUND if the bank is gone. */
int vs_content_add(vs_store *s, int64_t bank_id, const vs_content *in, int64_t *id,
                   int64_t *seq, veto_error *err);
/** The same for n items in ONE transaction (imports, benchmarks): ids are
 * consecutive from *first_id. */
int vs_content_add_many(vs_store *s, int64_t bank_id, const vs_content *in, size_t n,
                        int64_t *first_id, int64_t *last_seq, veto_error *err);
/** Content by id (any bank, any status; signals included). NOTFOUND if no row. */
int vs_content_get(vs_store *s, int64_t id, vs_content *out, veto_error *err);

/* Which fields vs_content_update changes. */
#define VS_SET_DISABLE_UNTIL 1
#define VS_SET_NOTE          2
#define VS_SET_STATUS        4
#define VS_SET_METADATA      8
#define VS_SET_SOURCE       16
#define VS_SET_CASE_REF     32
/** Update the `what` fields of content `id` from `in` (setting status to
 * VS_DELETED erases signals, note and metadata). NOTFOUND if the id is not
 * in bank_id or is already deleted. *out (may be NULL) gets the new state. */
int vs_content_update(vs_store *s, int64_t bank_id, int64_t id, unsigned what,
                      const vs_content *in, vs_content *out, int64_t *seq,
                      veto_error *err);
/** Delete content id of bank_id (tombstone). *deleted = 1, or 0 if there
 * was no such live content in that bank (not an error). */
int vs_content_delete(vs_store *s, int64_t bank_id, int64_t id, int *deleted,
                      int64_t *seq, veto_error *err);
/** Live (not deleted) content of a bank with id > after_id, by id, at most
 * limit items (signals included): for listing and export. */
int vs_content_list(vs_store *s, int64_t bank_id, int64_t after_id, size_t limit,
                    vs_content **out, size_t *n, veto_error *err);
/** Number of live signals of a type and the newest one's created time
 * (HMA's /c/signal_type/index "db_size" and "newest_db_item"). */
int vs_signal_stats(vs_store *s, const char *type, int64_t *count, int64_t *newest,
                    veto_error *err);

/* ------------------------------------------------------------- changes */

/** Changes with seq > since (of bank_id only, if bank_id > 0), ascending,
 * at most limit, each with its entity's current state. */
int vs_changes_since(vs_store *s, int64_t since, int64_t bank_id, size_t limit,
                     vs_change **out, size_t *n, veto_error *err);
/** The highest seq committed (0 if none). */
int vs_max_seq(vs_store *s, int64_t *seq, veto_error *err);

/* ---------------------------------------------------------------- keys */

typedef struct vs_key {
	char *key_id;            /* public part of the token, unique */
	uint8_t secret_hash[32]; /* SHA-256 of the secret part */
	char *role;              /* "hasher", "matcher", "curator", "admin" */
	char *banks;             /* comma-separated bank names, or NULL: all */
	double rate;             /* requests per second; 0: unlimited */
	char *name;              /* a human label, or NULL */
	int64_t created;
	int64_t revoked;         /* 0 if live, else unix seconds */
} vs_key;
void vs_key_clear(vs_key *k);
void vs_keys_free(vs_key *v, size_t n);

int vs_key_create(vs_store *s, const vs_key *k, veto_error *err); /* CONFLICT */
int vs_key_list(vs_store *s, vs_key **out, size_t *n, veto_error *err);
int vs_key_revoke(vs_store *s, const char *key_id, veto_error *err); /* NOTFOUND */

/* ------------------------------------------------------------ settings */

/** A small key/value table (e.g. "signal_type.pdq.enabled_ratio").
 * vs_setting_get: NOTFOUND if unset; *value malloc'd. */
int vs_setting_get(vs_store *s, const char *key, char **value, veto_error *err);
int vs_setting_set(vs_store *s, const char *key, const char *value, veto_error *err);

#ifdef __cplusplus
}
#endif
#endif
