/*
 * store_sqlite.c - the store in one SQLite file (veto serve's default).
 *
 * What and why:
 *   - WAL journal, synchronous=FULL: a commit is on disk when the call
 *     returns (the WAL is fsynced at every commit), readers never block
 *     the writer nor each other, and a crash loses nothing committed.
 *   - One connection per thread (a pthread key, created on first use and
 *     closed when the thread exits; vs_close closes them all). SQLite
 *     connections are not meant to be shared between threads at once, and
 *     a pool would need its own locking; per-thread connections need none.
 *     Each connection keeps its prepared statements (one per query below).
 *   - Writes run in BEGIN IMMEDIATE transactions, so the write lock is
 *     taken before anything is read and two writers can never deadlock
 *     upgrading read locks. Writers of THIS process first queue on a mutex
 *     (a fair, sleeping wait); writers in OTHER processes (a second veto
 *     serve, the CLI) wait through busy_timeout (10 s), SQLite's polling
 *     lock wait. Without the mutex, 4 threads writing flat out would poll
 *     for the lock and one could starve past the timeout.
 *   - Ids (banks, content) and change seqs are max+1, drawn inside the write
 *     transaction: with one writer at a time they are dense, start at 1
 *     (HMA's first content is id 1), and seq order is commit order, so a
 *     follower reading changes in seq order never sees an older seq appear
 *     later. Rows of veto_banks, veto_content and veto_changes are never
 *     deleted (banks and content get flags / tombstones), so max+1 never
 *     reuses an id.
 *   - Bank names are unique among live banks (a partial unique index):
 *     deleting a bank keeps its row, flagged, so change records can still
 *     name it, and the name may be used again by a new bank (new id).
 *   - Files are created mode 0600 before SQLite opens them (bank contents
 *     are secrets); SQLite creates the -wal and -shm files with the main
 *     file's permissions.
 *   - Opening refuses, with a message naming the file: a missing directory,
 *     a file that is not SQLite (header), a damaged file (PRAGMA
 *     quick_check, see below), another program's database (application_id
 *     set to something else, or tables but no veto_schema), a schema newer
 *     than this binary. Then it migrates (versioned steps in one
 *     transaction; version 1 is the schema below) and stamps the file with
 *     application_id 'veto'.
 *   - Damage checks at open. PRAGMA quick_check reads every page: measured
 *     here on a 1 GB store (5.5M contents) it takes 9 s with the file in
 *     the page cache and 36 s from a cold disk, far too slow for every
 *     start of a server. So vs_open runs the full quick_check only on files
 *     up to VETO_STORE_QUICK_CHECK_MAX_MB (environment; default 128 MB, a
 *     second or so; 0 = never, a large value = always). Every file gets
 *     the cheap checks: the header's magic, the page count the header
 *     claims against the file's size (a truncated copy), quick_check of
 *     the small tables (schema, banks, keys, settings) and a read of the
 *     newest rows of the big ones (the 1 GB store then opens in 0.01 s,
 *     cold or warm). The full check of a big file is vs_check, which also
 *     checks the change sequence's consistency.
 *
 * Trade-offs: one writer at a time is SQLite's model; a single write is a
 * few hundred microseconds plus one fsync, and bulk loads go through
 * vs_content_add_many (one transaction, prepared statements reused). On the
 * 2-core VM this was written on (slow: ~5x under a desktop), `test_store
 * sqlite --bench 1000000` loads 48-65k single-PDQ contents/s (each is a
 * content row, a signal row and a change row, 7 b-tree inserts, ~195 bytes
 * on disk), CPU-bound in SQLite itself: 10M contents in about 3 minutes.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SQ_APP_ID 0x7665746f /* "veto" */
#define SQ_BUSY_TIMEOUT_MS 10000

/* ------------------------------------------------------------- schema */

/* Migration steps: steps[v - 1] takes the schema from v - 1 to v. */
static const char *const sq_steps[] = {
	/* 1 */
	"CREATE TABLE veto_schema(version INTEGER NOT NULL);"
	"CREATE TABLE veto_banks("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  enabled_ratio REAL NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX veto_banks_name ON veto_banks(name) WHERE deleted = 0;"
	"CREATE TABLE veto_content("
	"  id INTEGER PRIMARY KEY,"
	"  bank_id INTEGER NOT NULL REFERENCES veto_banks(id),"
	"  disable_until_ts INTEGER NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  note TEXT,"
	"  metadata_json TEXT,"
	"  source TEXT,"
	"  case_ref TEXT,"
	"  original_media_uri TEXT,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL);"
	"CREATE INDEX veto_content_bank ON veto_content(bank_id, id);"
	"CREATE TABLE veto_signals("
	"  content_id INTEGER NOT NULL REFERENCES veto_content(id),"
	"  type TEXT NOT NULL,"
	"  value TEXT NOT NULL);"
	"CREATE INDEX veto_signals_content ON veto_signals(content_id);"
	"CREATE INDEX veto_signals_type ON veto_signals(type, content_id);"
	"CREATE TABLE veto_changes("
	"  seq INTEGER PRIMARY KEY,"
	"  kind INTEGER NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  bank_id INTEGER NOT NULL,"
	"  content_id INTEGER NOT NULL);"
	"CREATE INDEX veto_changes_bank ON veto_changes(bank_id, seq);"
	"CREATE TABLE veto_keys("
	"  key_id TEXT NOT NULL UNIQUE,"
	"  secret_hash BLOB NOT NULL,"
	"  role TEXT NOT NULL,"
	"  banks TEXT,"
	"  rate REAL NOT NULL,"
	"  name TEXT,"
	"  created INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE veto_settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO veto_schema(version) VALUES (0);",
};
#define SQ_NSTEPS ((int)(sizeof sq_steps / sizeof sq_steps[0]))
_Static_assert(SQ_NSTEPS == VS_SCHEMA_VERSION, "one migration step per schema version");

/* ------------------------------------------------------------ queries */

#define BANK_COLS VS_BANK_COLS
#define CONTENT_COLS VS_CONTENT_COLS
#define KEY_COLS "key_id, secret_hash, role, banks, rate, name, created, revoked"

enum {
	Q_BANK_LIST,
	Q_BANK_BY_NAME,
	Q_BANK_BY_ID,
	Q_BANK_NEXT_ID,
	Q_BANK_INSERT,
	Q_BANK_UPDATE,
	Q_BANK_MARK_DELETED,
	Q_BANK_DEL_SIGNALS,
	Q_BANK_DEL_CONTENT,
	Q_BANK_DEL_CHANGES,
	Q_NEXT_SEQ,
	Q_NEXT_CONTENT_ID,
	Q_CHANGE_INSERT,
	Q_CONTENT_INSERT,
	Q_SIGNAL_INSERT,
	Q_CONTENT_GET,
	Q_SIGNALS_OF,
	Q_CONTENT_UPDATE,
	Q_SIGNALS_DELETE,
	Q_CONTENT_LIST,
	Q_CONTENT_LIST_SIGNALS,
	Q_SIGNAL_COUNT,
	Q_SIGNAL_NEWEST,
	Q_CHANGES,
	Q_CHANGES_BANK,
	Q_CHANGES_CONTENT,
	Q_CHANGES_CONTENT_BANK,
	Q_CHANGES_SIGNALS,
	Q_CHANGES_SIGNALS_BANK,
	Q_CHANGES_BANKS,
	Q_CHANGES_BANKS_BANK,
	Q_MAX_SEQ,
	Q_KEY_INSERT,
	Q_KEY_LIST,
	Q_KEY_REVOKE,
	Q_KEY_EXISTS,
	Q_SETTING_GET,
	Q_SETTING_SET,
	Q_COUNT
};

static const char *const sq_sql[Q_COUNT] = {
	[Q_BANK_LIST] = "SELECT " BANK_COLS " FROM veto_banks WHERE deleted = 0 ORDER BY id",
	[Q_BANK_BY_NAME] = "SELECT " BANK_COLS " FROM veto_banks WHERE name = ?1 AND deleted = 0",
	[Q_BANK_BY_ID] = "SELECT " BANK_COLS " FROM veto_banks WHERE id = ?1 AND deleted = 0",
	[Q_BANK_NEXT_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM veto_banks",
	[Q_BANK_INSERT] = "INSERT INTO veto_banks(id, name, enabled_ratio, created, updated, deleted)"
	                  " VALUES (?1, ?2, ?3, ?4, ?4, 0)",
	[Q_BANK_UPDATE] = "UPDATE veto_banks SET name = ?2, enabled_ratio = ?3, updated = ?4"
	                  " WHERE id = ?1",
	[Q_BANK_MARK_DELETED] = "UPDATE veto_banks SET deleted = 1, updated = ?2 WHERE id = ?1",
	[Q_BANK_DEL_SIGNALS] = "DELETE FROM veto_signals WHERE content_id IN"
	                       " (SELECT id FROM veto_content WHERE bank_id = ?1 AND status <> 2)",
	/* every live content of the bank becomes a tombstone with its own seq,
	 * base + 0, base + 1, ... in id order */
	[Q_BANK_DEL_CONTENT] =
		"UPDATE veto_content AS c SET status = 2, note = NULL, metadata_json = NULL,"
		" original_media_uri = NULL, updated = ?2, seq = ?3 + l.rn - 1"
		" FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM veto_content"
		"       WHERE bank_id = ?1 AND status <> 2) AS l"
		" WHERE c.id = l.id",
	[Q_BANK_DEL_CHANGES] = "INSERT INTO veto_changes(seq, kind, ts, bank_id, content_id)"
	                       " SELECT seq, 1, ?2, bank_id, id FROM veto_content"
	                       " WHERE bank_id = ?1 AND seq >= ?3 ORDER BY seq",
	[Q_NEXT_SEQ] = "SELECT COALESCE(MAX(seq), 0) + 1 FROM veto_changes",
	[Q_NEXT_CONTENT_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM veto_content",
	[Q_CHANGE_INSERT] = "INSERT INTO veto_changes(seq, kind, ts, bank_id, content_id)"
	                    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_CONTENT_INSERT] = "INSERT INTO veto_content(id, bank_id, disable_until_ts, status, note,"
	                     " metadata_json, source, case_ref, original_media_uri, created, updated,"
	                     " seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
	[Q_SIGNAL_INSERT] = "INSERT INTO veto_signals(content_id, type, value) VALUES (?1, ?2, ?3)",
	[Q_CONTENT_GET] = "SELECT " CONTENT_COLS " FROM veto_content c"
	                  " LEFT JOIN veto_banks b ON b.id = c.bank_id WHERE c.id = ?1",
	[Q_SIGNALS_OF] = "SELECT content_id, type, value FROM veto_signals WHERE content_id = ?1"
	                 " ORDER BY type, rowid",
	[Q_CONTENT_UPDATE] = "UPDATE veto_content SET disable_until_ts = ?2, status = ?3, note = ?4,"
	                     " metadata_json = ?5, source = ?6, case_ref = ?7,"
	                     " original_media_uri = ?8, updated = ?9, seq = ?10 WHERE id = ?1",
	[Q_SIGNALS_DELETE] = "DELETE FROM veto_signals WHERE content_id = ?1",
	[Q_CONTENT_LIST] = "SELECT " CONTENT_COLS " FROM veto_content c"
	                   " JOIN veto_banks b ON b.id = c.bank_id"
	                   " WHERE c.bank_id = ?1 AND c.id > ?2 AND c.status <> 2"
	                   " ORDER BY c.id LIMIT ?3",
	[Q_CONTENT_LIST_SIGNALS] =
		"SELECT content_id, type, value FROM veto_signals WHERE content_id IN"
		" (SELECT id FROM veto_content WHERE bank_id = ?1 AND id > ?2 AND status <> 2"
		"  ORDER BY id LIMIT ?3) ORDER BY content_id, type, rowid",
	[Q_SIGNAL_COUNT] = "SELECT count(*) FROM veto_signals WHERE type = ?1",
	[Q_SIGNAL_NEWEST] = "SELECT c.created FROM veto_signals s JOIN veto_content c"
	                    " ON c.id = s.content_id WHERE s.type = ?1"
	                    " ORDER BY s.content_id DESC LIMIT 1",
	[Q_CHANGES] = "SELECT " VS_CHANGE_COLS " FROM veto_changes"
	              " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[Q_CHANGES_BANK] = "SELECT " VS_CHANGE_COLS " FROM veto_changes"
	                   " WHERE bank_id = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2",
	/* the entities of one page: changes with since < seq <= last */
	[Q_CHANGES_CONTENT] = "SELECT " CONTENT_COLS " FROM veto_content c"
	                      " LEFT JOIN veto_banks b ON b.id = c.bank_id WHERE c.id IN"
	                      " (SELECT content_id FROM veto_changes"
	                      "  WHERE seq > ?1 AND seq <= ?2 AND kind = 1) ORDER BY c.id",
	[Q_CHANGES_CONTENT_BANK] = "SELECT " CONTENT_COLS " FROM veto_content c"
	                           " LEFT JOIN veto_banks b ON b.id = c.bank_id WHERE c.id IN"
	                           " (SELECT content_id FROM veto_changes WHERE bank_id = ?3"
	                           "  AND seq > ?1 AND seq <= ?2 AND kind = 1) ORDER BY c.id",
	[Q_CHANGES_SIGNALS] = "SELECT content_id, type, value FROM veto_signals WHERE content_id IN"
	                      " (SELECT content_id FROM veto_changes"
	                      "  WHERE seq > ?1 AND seq <= ?2 AND kind = 1)"
	                      " ORDER BY content_id, type, rowid",
	[Q_CHANGES_SIGNALS_BANK] = "SELECT content_id, type, value FROM veto_signals"
	                           " WHERE content_id IN (SELECT content_id FROM veto_changes"
	                           "  WHERE bank_id = ?3 AND seq > ?1 AND seq <= ?2 AND kind = 1)"
	                           " ORDER BY content_id, type, rowid",
	[Q_CHANGES_BANKS] = "SELECT " BANK_COLS " FROM veto_banks WHERE id IN"
	                    " (SELECT bank_id FROM veto_changes"
	                    "  WHERE seq > ?1 AND seq <= ?2 AND kind = 2) ORDER BY id",
	[Q_CHANGES_BANKS_BANK] = "SELECT " BANK_COLS " FROM veto_banks WHERE id = ?3",
	[Q_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM veto_changes",
	[Q_KEY_INSERT] = "INSERT INTO veto_keys(" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_KEY_LIST] = "SELECT " KEY_COLS " FROM veto_keys ORDER BY created, key_id",
	[Q_KEY_REVOKE] = "UPDATE veto_keys SET revoked = ?2 WHERE key_id = ?1 AND revoked = 0",
	[Q_KEY_EXISTS] = "SELECT 1 FROM veto_keys WHERE key_id = ?1",
	[Q_SETTING_GET] = "SELECT value FROM veto_settings WHERE key = ?1",
	[Q_SETTING_SET] = "INSERT INTO veto_settings(key, value) VALUES (?1, ?2)"
	                  " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

/* ------------------------------------------------------ store, conns */

typedef struct sq_store sq_store;

typedef struct sq_conn {
	sqlite3 *db;
	sq_store *owner;
	struct sq_conn *prev, *next;
	sqlite3_stmt *st[Q_COUNT];
} sq_conn;

struct sq_store {
	vs_store base;
	char *path;
	pthread_key_t key;
	pthread_mutex_t lock;       /* guards conns */
	pthread_mutex_t write_lock; /* this process's writers queue here */
	sq_conn *conns;
};

#define W(s) ((s)->base.where)

static int sq_fail_db(sq_store *s, sqlite3 *db, veto_error *err, const char *what)
{
	int rc = sqlite3_errcode(db);
	int code = rc == SQLITE_NOMEM ? VETO_ERR_NOMEM : VS_ERR_DB;
	return vs_fail(err, code, "%s: %s: %s", W(s), what, sqlite3_errmsg(db));
}

static void conn_close(sq_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* Runs when a thread that used the store exits. */
static void conn_destructor(void *p)
{
	sq_conn *c = p;
	sq_store *s = c->owner;
	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->lock);
	conn_close(c);
}

static int exec_sql(sq_store *s, sqlite3 *db, const char *sql, veto_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int code = rc == SQLITE_NOMEM ? VETO_ERR_NOMEM : VS_ERR_DB;
		if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
			code = VETO_ERR_CORRUPT;
		vs_fail(err, code, "%s: %.60s: %s", W(s), sql,
		        msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return code;
	}
	return 0;
}

/* A new connection to the file, configured. */
static int db_open(sq_store *s, sqlite3 **out, veto_error *err)
{
	*out = NULL;
	sqlite3 *db = NULL;
	int flags = (s->base.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
	            SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(s->path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		int code = rc == SQLITE_NOMEM ? VETO_ERR_NOMEM : VETO_ERR_IO;
		vs_fail(err, code, "%s: cannot open: %s", W(s),
		        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return code;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
	/* Connection settings (not persistent): FK checks, durable commits,
	 * a page cache big enough for bulk loads (64 MB, allocated only as
	 * used), temp tables in memory. */
	rc = exec_sql(s, db,
	              s->base.readonly
	                      ? "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
	                        " PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;"
	                        " PRAGMA query_only = 1;"
	                      : "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
	                        " PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;"
	                        " PRAGMA journal_size_limit = 67108864;",
	              err);
	if (rc) {
		sqlite3_close_v2(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* This thread's connection. */
static int conn_get(sq_store *s, sq_conn **out, veto_error *err)
{
	sq_conn *c = pthread_getspecific(s->key);
	if (c) {
		*out = c;
		return 0;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return vs_fail(err, VETO_ERR_NOMEM, "%s: out of memory", W(s));
	int rc = db_open(s, &c->db, err);
	if (rc) {
		free(c);
		return rc;
	}
	c->owner = s;
	if (pthread_setspecific(s->key, c) != 0) {
		conn_close(c);
		return vs_fail(err, VETO_ERR_NOMEM, "%s: cannot keep a per-thread connection", W(s));
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	*out = c;
	return 0;
}

/* The prepared statement q of this connection, reset and unbound. */
static sqlite3_stmt *prep(sq_store *s, sq_conn *c, int q, veto_error *err)
{
	if (!c->st[q]) {
		int rc = sqlite3_prepare_v3(c->db, sq_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
		                            &c->st[q], NULL);
		if (rc != SQLITE_OK) {
			sq_fail_db(s, c->db, err, "preparing a query");
			c->st[q] = NULL;
			return NULL;
		}
	}
	return c->st[q];
}

static void done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* Step a statement that returns no rows (or whose rows are ignored). */
static int step_done(sq_store *s, sq_conn *c, sqlite3_stmt *st, const char *what,
                     veto_error *err)
{
	int rc = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = sq_fail_db(s, c->db, err, what);
	done(st);
	return ret;
}

/* One integer from a query's first row (0 if no row). */
static int step_int(sq_store *s, sq_conn *c, sqlite3_stmt *st, int64_t *v, int *found,
                    const char *what, veto_error *err)
{
	*v = 0;
	if (found)
		*found = 0;
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		if (found)
			*found = 1;
	} else if (rc != SQLITE_DONE) {
		ret = sq_fail_db(s, c->db, err, what);
	}
	done(st);
	return ret;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* A text column, copied (NULL stays NULL unless notnull). */
static int col_str(sqlite3_stmt *st, int i, int notnull, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	*out = NULL;
	if (!t) {
		if (sqlite3_column_type(st, i) != SQLITE_NULL)
			return VETO_ERR_NOMEM; /* conversion failed */
		if (!notnull)
			return 0;
		t = (const unsigned char *)"";
	}
	*out = vs_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
	return *out ? 0 : VETO_ERR_NOMEM;
}

/* ------------------------------------------------------- transactions */

typedef int (*sq_fn)(sq_store *s, sq_conn *c, void *arg, veto_error *err);

static void rollback(sq_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static int in_txn(sq_store *s, int write, sq_fn fn, void *arg, veto_error *err)
{
	sq_conn *c = NULL;
	int rc = conn_get(s, &c, err);
	if (rc)
		return rc;
	if (write)
		pthread_mutex_lock(&s->write_lock);
	rc = exec_sql(s, c->db, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
	if (rc == 0) {
		rc = fn(s, c, arg, err);
		if (rc == 0) {
			int src = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
			if (src != SQLITE_OK)
				rc = sq_fail_db(s, c->db, err, write ? "committing" : "ending a read");
		}
		if (rc != 0)
			rollback(c);
	}
	if (write)
		pthread_mutex_unlock(&s->write_lock);
	return rc;
}

/* vs_ops.write: store.c's shared write logic in one of our write
 * transactions. */
static int sq_call(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	vs_call *k = arg;
	return k->fn(&s->base, c, k->arg, err);
}

static int sq_write(vs_store *vs, vs_txn_fn fn, void *arg, veto_error *err)
{
	vs_call k = {fn, arg};
	return in_txn((sq_store *)vs, 1, sq_call, &k, err);
}

#define NOMEM(s) vs_nomem(&(s)->base, err)

/* --------------------------------------------------------- row reading */

static int64_t row_i64(const vs_row *r, int col)
{
	return sqlite3_column_int64(r->res, col);
}

static double row_dbl(const vs_row *r, int col)
{
	return sqlite3_column_double(r->res, col);
}

static int row_str(const vs_row *r, int col, int notnull, char **out)
{
	return col_str(r->res, col, notnull, out);
}

static const vs_row_ops sq_cols = {row_i64, row_dbl, row_str};

/* Step a bound query, converting each row with conv into the growing array
 * *out of `size`-byte elements; *n counts the rows converted (the caller
 * frees them, also after an error). */
static int read_rows(sq_store *s, sq_conn *c, sqlite3_stmt *st, void *out, size_t *n,
                     size_t size, vs_row_fn conv, const char *what, veto_error *err)
{
	void **v = out;
	vs_row row = {&sq_cols, st, 0};
	size_t cap = 0;
	int rc = 0;
	*v = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (vs_reserve(v, &cap, *n + 1, size) || conv(&row, (char *)*v + *n * size)) {
			done(st);
			return NOMEM(s);
		}
		(*n)++;
	}
	int ret = rc == SQLITE_DONE ? 0 : sq_fail_db(s, c->db, err, what);
	done(st);
	return ret;
}

static int read_banks(sq_store *s, sq_conn *c, sqlite3_stmt *st, vs_bank **out, size_t *n,
                      veto_error *err)
{
	return read_rows(s, c, st, out, n, sizeof **out, vs_bank_from_row, "reading banks", err);
}

static int read_contents(sq_store *s, sq_conn *c, sqlite3_stmt *st, vs_content **out,
                         size_t *n, veto_error *err)
{
	return read_rows(s, c, st, out, n, sizeof **out, vs_content_from_row, "reading content",
	                 err);
}

/* Attach the rows (content_id, type, value) of a bound signal query to the
 * contents (sorted by id) they belong to. */
static int read_signals(sq_store *s, sq_conn *c, sqlite3_stmt *st, vs_content *v, size_t n,
                        veto_error *err)
{
	int rc = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		vs_content *ct = vs_content_find(v, n, sqlite3_column_int64(st, 0));
		if (!ct)
			continue;
		if (vs_content_push_signal(ct, (const char *)sqlite3_column_text(st, 1),
		                           (const char *)sqlite3_column_text(st, 2))) {
			done(st);
			return NOMEM(s);
		}
	}
	int ret = rc == SQLITE_DONE ? 0 : sq_fail_db(s, c->db, err, "reading signals");
	done(st);
	return ret;
}

#define PREP(var, q)                                                         \
	sqlite3_stmt *var = prep(s, c, (q), err);                            \
	if (!var)                                                            \
		return err ? err->code : VS_ERR_DB

/* Content id with its signals; VS_ERR_NOTFOUND if no row (vs_ops.get_content). */
static int read_content(vs_store *vs, void *conn, int64_t id, vs_content *out, veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = conn;
	memset(out, 0, sizeof *out);
	PREP(st, Q_CONTENT_GET);
	sqlite3_bind_int64(st, 1, id);
	vs_content *v = NULL;
	size_t n = 0;
	int rc = read_contents(s, c, st, &v, &n, err);
	if (rc == 0 && n) {
		sqlite3_stmt *sg = prep(s, c, Q_SIGNALS_OF, err);
		if (!sg) {
			rc = err ? err->code : VS_ERR_DB;
		} else {
			sqlite3_bind_int64(sg, 1, id);
			rc = read_signals(s, c, sg, v, n, err);
		}
	}
	if (rc) {
		vs_contents_free(v, n);
		return rc;
	}
	return vs_first_content(vs, v, n, id, out, err);
}

/* The content columns from disable_until_ts to original_media_uri, bound
 * to parameters first.. (as Q_CONTENT_INSERT and Q_CONTENT_UPDATE take them). */
static void bind_content(sqlite3_stmt *st, int first, const vs_content *v)
{
	sqlite3_bind_int64(st, first, v->disable_until_ts);
	sqlite3_bind_int(st, first + 1, v->status);
	bind_text(st, first + 2, v->note);
	bind_text(st, first + 3, v->metadata_json);
	bind_text(st, first + 4, v->source);
	bind_text(st, first + 5, v->case_ref);
	bind_text(st, first + 6, v->original_media_uri);
}

/* The next change's seq (vs_ops.next_seq). */
static int next_seq(vs_store *vs, void *conn, int64_t *seq, veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = conn;
	PREP(st, Q_NEXT_SEQ);
	return step_int(s, c, st, seq, NULL, "drawing a seq", err);
}

static int add_change(sq_store *s, sq_conn *c, int64_t seq, int kind, int64_t ts,
                      int64_t bank_id, int64_t content_id, veto_error *err)
{
	PREP(st, Q_CHANGE_INSERT);
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_int64(st, 3, ts);
	sqlite3_bind_int64(st, 4, bank_id);
	sqlite3_bind_int64(st, 5, content_id);
	return step_done(s, c, st, "recording a change", err);
}

/* --------------------------------------------------------------- banks */

static int sq_bank_list_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	void **a = arg;
	PREP(st, Q_BANK_LIST);
	return read_banks(s, c, st, (vs_bank **)a[0], (size_t *)a[1], err);
}

static int sq_bank_list(vs_store *vs, vs_bank **out, size_t *n, veto_error *err)
{
	void *a[2] = {out, n};
	int rc = in_txn((sq_store *)vs, 0, sq_bank_list_fn, a, err);
	if (rc) {
		vs_banks_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* The live bank by name (or by id if name is NULL) into *out
 * (vs_ops.get_bank). */
static int get_bank(vs_store *vs, void *conn, const char *name, int64_t id, vs_bank *out,
                    veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = conn;
	PREP(st, name ? Q_BANK_BY_NAME : Q_BANK_BY_ID);
	if (name)
		bind_text(st, 1, name);
	else
		sqlite3_bind_int64(st, 1, id);
	vs_bank *v = NULL;
	size_t n = 0;
	int rc = read_banks(s, c, st, &v, &n, err);
	if (rc) {
		vs_banks_free(v, n);
		return rc;
	}
	return vs_first_bank(vs, v, n, name, id, out, err);
}

struct bank_args {
	const char *name;
	int64_t id;
	double ratio;
	vs_bank *out;
};

static int sq_bank_get_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct bank_args *a = arg;
	return get_bank(&s->base, c, a->name, a->id, a->out, err);
}

static int sq_bank_get(vs_store *vs, const char *name, int64_t id, vs_bank *out,
                       veto_error *err)
{
	struct bank_args a = {.name = name, .id = id, .out = out};
	return in_txn((sq_store *)vs, 0, sq_bank_get_fn, &a, err);
}

static int sq_bank_create_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct bank_args *a = arg;
	int rc = vs_bank_name_free(&s->base, c, a->name, err);
	if (rc)
		return rc;
	int64_t id = 0, seq = 0;
	PREP(st, Q_BANK_NEXT_ID);
	if ((rc = step_int(s, c, st, &id, NULL, "drawing a bank id", err)) ||
	    (rc = next_seq(&s->base, c, &seq, err)))
		return rc;
	int64_t now = (int64_t)time(NULL);
	PREP(ins, Q_BANK_INSERT);
	sqlite3_bind_int64(ins, 1, id);
	bind_text(ins, 2, a->name);
	sqlite3_bind_double(ins, 3, a->ratio);
	sqlite3_bind_int64(ins, 4, now);
	if ((rc = step_done(s, c, ins, "creating a bank", err)))
		return rc;
	if ((rc = add_change(s, c, seq, VS_CHANGE_BANK, now, id, 0, err)))
		return rc;
	if (a->out)
		return get_bank(&s->base, c, NULL, id, a->out, err);
	return 0;
}

static int sq_bank_create(vs_store *vs, const char *name, double ratio, vs_bank *out,
                          veto_error *err)
{
	struct bank_args a = {.name = name, .ratio = ratio, .out = out};
	return in_txn((sq_store *)vs, 1, sq_bank_create_fn, &a, err);
}

/* vs_ops.put_bank: bank id's name and ratio, and its change. */
static int write_bank(vs_store *vs, void *conn, int64_t seq, int64_t now, int64_t id,
                      const char *name, double ratio, veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = conn;
	PREP(st, Q_BANK_UPDATE);
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, name);
	sqlite3_bind_double(st, 3, ratio);
	sqlite3_bind_int64(st, 4, now);
	int rc = step_done(s, c, st, "updating a bank", err);
	return rc ? rc : add_change(s, c, seq, VS_CHANGE_BANK, now, id, 0, err);
}

/* vs_ops.erase_bank: tombstones for the bank's live content (changes
 * base, base + 1, ...), then the bank itself. */
static int erase_bank(vs_store *vs, void *conn, int64_t base, int64_t now, int64_t id,
                      const char *name, veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = conn;
	int rc;
	PREP(sig, Q_BANK_DEL_SIGNALS);
	sqlite3_bind_int64(sig, 1, id);
	if ((rc = step_done(s, c, sig, "erasing the bank's signals", err)))
		return rc;
	PREP(con, Q_BANK_DEL_CONTENT);
	sqlite3_bind_int64(con, 1, id);
	sqlite3_bind_int64(con, 2, now);
	sqlite3_bind_int64(con, 3, base);
	if ((rc = step_done(s, c, con, "erasing the bank's content", err)))
		return rc;
	int64_t ntomb = sqlite3_changes64(c->db);
	PREP(chg, Q_BANK_DEL_CHANGES);
	sqlite3_bind_int64(chg, 1, id);
	sqlite3_bind_int64(chg, 2, now);
	sqlite3_bind_int64(chg, 3, base);
	if ((rc = step_done(s, c, chg, "recording the content's deletion", err)))
		return rc;
	if (sqlite3_changes64(c->db) != ntomb)
		return vs_fail(err, VS_ERR_DB, "%s: deleting bank %.128s: %lld tombstones but %lld changes",
		               W(s), name, (long long)ntomb, (long long)sqlite3_changes64(c->db));
	PREP(mark, Q_BANK_MARK_DELETED);
	sqlite3_bind_int64(mark, 1, id);
	sqlite3_bind_int64(mark, 2, now);
	if ((rc = step_done(s, c, mark, "deleting the bank", err)))
		return rc;
	return add_change(s, c, base + ntomb, VS_CHANGE_BANK, now, id, 0, err);
}

/* ------------------------------------------------------------- content */

struct add_args {
	int64_t bank_id;
	const vs_content *in;
	size_t n;
	int64_t first, last;
};

static int bank_live(sq_store *s, sq_conn *c, int64_t bank_id, veto_error *err)
{
	vs_bank b = {0};
	int rc = get_bank(&s->base, c, NULL, bank_id, &b, err);
	if (rc == 0)
		vs_bank_clear(&b);
	return rc;
}

static int sq_add_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct add_args *a = arg;
	int rc = bank_live(s, c, a->bank_id, err);
	if (rc)
		return rc;
	int64_t id = 0, seq = 0;
	PREP(nid, Q_NEXT_CONTENT_ID);
	if ((rc = step_int(s, c, nid, &id, NULL, "drawing a content id", err)) ||
	    (rc = next_seq(&s->base, c, &seq, err)))
		return rc;
	PREP(ins, Q_CONTENT_INSERT);
	PREP(sig, Q_SIGNAL_INSERT);
	int64_t now = (int64_t)time(NULL);
	a->first = id;
	for (size_t i = 0; i < a->n; i++, id++, seq++) {
		const vs_content *in = &a->in[i];
		sqlite3_bind_int64(ins, 1, id);
		sqlite3_bind_int64(ins, 2, a->bank_id);
		bind_content(ins, 3, in);
		sqlite3_bind_int64(ins, 10, now);
		sqlite3_bind_int64(ins, 11, seq);
		if ((rc = step_done(s, c, ins, "adding content", err)))
			return rc;
		for (size_t k = 0; k < in->nsignals; k++) {
			sqlite3_bind_int64(sig, 1, id);
			bind_text(sig, 2, in->signals[k].type);
			bind_text(sig, 3, in->signals[k].value);
			if ((rc = step_done(s, c, sig, "adding a signal", err)))
				return rc;
		}
		if ((rc = add_change(s, c, seq, VS_CHANGE_CONTENT, now, a->bank_id, id, err)))
			return rc;
	}
	a->last = seq - 1;
	return 0;
}

static int sq_content_add_many(vs_store *vs, int64_t bank_id, const vs_content *in, size_t n,
                               int64_t *first_id, int64_t *last_seq, veto_error *err)
{
	struct add_args a = {.bank_id = bank_id, .in = in, .n = n};
	int rc = in_txn((sq_store *)vs, 1, sq_add_fn, &a, err);
	if (rc == 0) {
		*first_id = a.first;
		*last_seq = a.last;
	}
	return rc;
}

struct content_args {
	int64_t id;
	vs_content *out;
};

static int sq_content_get_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct content_args *a = arg;
	return read_content(&s->base, c, a->id, a->out, err);
}

static int sq_content_get(vs_store *vs, int64_t id, vs_content *out, veto_error *err)
{
	struct content_args a = {.id = id, .out = out};
	return in_txn((sq_store *)vs, 0, sq_content_get_fn, &a, err);
}

/* vs_ops.put_content: content state v (id v->id), erasing its signals if
 * it is deleted, and its change. */
static int write_content(vs_store *vs, void *conn, int64_t seq, int64_t now,
                         const vs_content *v, veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = conn;
	int rc;
	if (v->status == VS_DELETED) {
		PREP(del, Q_SIGNALS_DELETE);
		sqlite3_bind_int64(del, 1, v->id);
		if ((rc = step_done(s, c, del, "erasing signals", err)))
			return rc;
	}
	PREP(st, Q_CONTENT_UPDATE);
	sqlite3_bind_int64(st, 1, v->id);
	bind_content(st, 2, v);
	sqlite3_bind_int64(st, 9, now);
	sqlite3_bind_int64(st, 10, seq);
	if ((rc = step_done(s, c, st, "updating content", err)))
		return rc;
	return add_change(s, c, seq, VS_CHANGE_CONTENT, now, v->bank_id, v->id, err);
}

struct list_args {
	int64_t bank_id, after;
	size_t limit;
	vs_content *v;
	size_t n;
};

static int sq_content_list_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct list_args *a = arg;
	int64_t lim = a->limit > INT64_MAX ? INT64_MAX : (int64_t)a->limit;
	PREP(st, Q_CONTENT_LIST);
	sqlite3_bind_int64(st, 1, a->bank_id);
	sqlite3_bind_int64(st, 2, a->after);
	sqlite3_bind_int64(st, 3, lim);
	int rc = read_contents(s, c, st, &a->v, &a->n, err);
	if (rc || a->n == 0)
		return rc;
	PREP(sg, Q_CONTENT_LIST_SIGNALS);
	sqlite3_bind_int64(sg, 1, a->bank_id);
	sqlite3_bind_int64(sg, 2, a->after);
	sqlite3_bind_int64(sg, 3, lim);
	return read_signals(s, c, sg, a->v, a->n, err);
}

static int sq_content_list(vs_store *vs, int64_t bank_id, int64_t after_id, size_t limit,
                           vs_content **out, size_t *n, veto_error *err)
{
	struct list_args a = {.bank_id = bank_id, .after = after_id, .limit = limit};
	int rc = in_txn((sq_store *)vs, 0, sq_content_list_fn, &a, err);
	if (rc) {
		vs_contents_free(a.v, a.n);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

struct stats_args {
	const char *type;
	int64_t count, newest;
};

static int sq_signal_stats_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct stats_args *a = arg;
	PREP(cnt, Q_SIGNAL_COUNT);
	bind_text(cnt, 1, a->type);
	int rc = step_int(s, c, cnt, &a->count, NULL, "counting signals", err);
	if (rc)
		return rc;
	PREP(nw, Q_SIGNAL_NEWEST);
	bind_text(nw, 1, a->type);
	return step_int(s, c, nw, &a->newest, NULL, "finding the newest signal", err);
}

static int sq_signal_stats(vs_store *vs, const char *type, int64_t *count, int64_t *newest,
                           veto_error *err)
{
	struct stats_args a = {.type = type};
	int rc = in_txn((sq_store *)vs, 0, sq_signal_stats_fn, &a, err);
	if (rc == 0) {
		*count = a.count;
		*newest = a.newest;
	}
	return rc;
}

/* ------------------------------------------------------------- changes */

/* Four queries per page, whatever its size: the change rows, then the
 * contents, their signals and the banks those rows name (by the page's
 * seq range), all in one read transaction (one snapshot). */
static int sq_changes_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	vs_page *a = arg;
	int64_t lim = a->limit > INT64_MAX ? INT64_MAX : (int64_t)a->limit;
	int bank = a->bank_id > 0;
	PREP(st, bank ? Q_CHANGES_BANK : Q_CHANGES);
	sqlite3_bind_int64(st, 1, a->since);
	sqlite3_bind_int64(st, 2, lim);
	if (bank)
		sqlite3_bind_int64(st, 3, a->bank_id);
	int rc = read_rows(s, c, st, &a->ch, &a->nch, sizeof *a->ch, vs_change_from_row,
	                   "reading changes", err);
	if (rc || a->nch == 0)
		return rc;
	int64_t last = a->ch[a->nch - 1].seq;

	PREP(cs, bank ? Q_CHANGES_CONTENT_BANK : Q_CHANGES_CONTENT);
	sqlite3_bind_int64(cs, 1, a->since);
	sqlite3_bind_int64(cs, 2, last);
	if (bank)
		sqlite3_bind_int64(cs, 3, a->bank_id);
	if ((rc = read_contents(s, c, cs, &a->v, &a->n, err)))
		return rc;
	if (a->n) {
		PREP(sg, bank ? Q_CHANGES_SIGNALS_BANK : Q_CHANGES_SIGNALS);
		sqlite3_bind_int64(sg, 1, a->since);
		sqlite3_bind_int64(sg, 2, last);
		if (bank)
			sqlite3_bind_int64(sg, 3, a->bank_id);
		if ((rc = read_signals(s, c, sg, a->v, a->n, err)))
			return rc;
	}
	PREP(bs, bank ? Q_CHANGES_BANKS_BANK : Q_CHANGES_BANKS);
	sqlite3_bind_int64(bs, 1, a->since);
	sqlite3_bind_int64(bs, 2, last);
	if (bank)
		sqlite3_bind_int64(bs, 3, a->bank_id);
	return read_banks(s, c, bs, &a->banks, &a->nbanks, err);
}

static int sq_changes_since(vs_store *vs, vs_page *p, veto_error *err)
{
	return in_txn((sq_store *)vs, 0, sq_changes_fn, p, err);
}

static int sq_max_seq_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	PREP(st, Q_MAX_SEQ);
	return step_int(s, c, st, (int64_t *)arg, NULL, "reading the last seq", err);
}

static int sq_max_seq(vs_store *vs, int64_t *seq, veto_error *err)
{
	return in_txn((sq_store *)vs, 0, sq_max_seq_fn, seq, err);
}

/* ---------------------------------------------------------------- keys */

struct key_args {
	const vs_key *k;
	const char *key_id;
	vs_key *v;
	size_t n;
};

static int sq_key_create_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct key_args *a = arg;
	const vs_key *k = a->k;
	PREP(ex, Q_KEY_EXISTS);
	bind_text(ex, 1, k->key_id);
	int64_t one = 0;
	int found = 0;
	int rc = step_int(s, c, ex, &one, &found, "looking up a key", err);
	if (rc)
		return rc;
	if (found)
		return vs_fail(err, VS_ERR_CONFLICT, "%s: key %.64s already exists", W(s), k->key_id);
	PREP(st, Q_KEY_INSERT);
	bind_text(st, 1, k->key_id);
	sqlite3_bind_blob(st, 2, k->secret_hash, sizeof k->secret_hash, SQLITE_STATIC);
	bind_text(st, 3, k->role);
	bind_text(st, 4, k->banks);
	sqlite3_bind_double(st, 5, k->rate);
	bind_text(st, 6, k->name);
	sqlite3_bind_int64(st, 7, k->created > 0 ? k->created : (int64_t)time(NULL));
	sqlite3_bind_int64(st, 8, k->revoked);
	return step_done(s, c, st, "creating a key", err);
}

static int sq_key_create(vs_store *vs, const vs_key *k, veto_error *err)
{
	struct key_args a = {.k = k};
	return in_txn((sq_store *)vs, 1, sq_key_create_fn, &a, err);
}

/* A key row: the secret hash is a 32-byte blob. */
static int key_row(const vs_row *r, void *dst)
{
	vs_key *k = dst;
	if (vs_key_from_row(r, k))
		return VETO_ERR_NOMEM;
	const void *h = sqlite3_column_blob(r->res, 1);
	if (h && sqlite3_column_bytes(r->res, 1) == (int)sizeof k->secret_hash)
		memcpy(k->secret_hash, h, sizeof k->secret_hash);
	return 0;
}

static int sq_key_list_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct key_args *a = arg;
	PREP(st, Q_KEY_LIST);
	return read_rows(s, c, st, &a->v, &a->n, sizeof *a->v, key_row, "reading keys", err);
}

static int sq_key_list(vs_store *vs, vs_key **out, size_t *n, veto_error *err)
{
	struct key_args a = {0};
	int rc = in_txn((sq_store *)vs, 0, sq_key_list_fn, &a, err);
	if (rc) {
		vs_keys_free(a.v, a.n);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static int sq_key_revoke_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct key_args *a = arg;
	PREP(ex, Q_KEY_EXISTS);
	bind_text(ex, 1, a->key_id);
	int64_t one = 0;
	int found = 0;
	int rc = step_int(s, c, ex, &one, &found, "looking up a key", err);
	if (rc)
		return rc;
	if (!found)
		return vs_fail(err, VS_ERR_NOTFOUND, "%s: no key %.64s", W(s), a->key_id);
	PREP(st, Q_KEY_REVOKE);
	bind_text(st, 1, a->key_id);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	return step_done(s, c, st, "revoking a key", err); /* already revoked: kept */
}

static int sq_key_revoke(vs_store *vs, const char *key_id, veto_error *err)
{
	struct key_args a = {.key_id = key_id};
	return in_txn((sq_store *)vs, 1, sq_key_revoke_fn, &a, err);
}

/* ------------------------------------------------------------ settings */

struct setting_args {
	const char *key, *value;
	char *out;
};

static int sq_setting_get_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct setting_args *a = arg;
	PREP(st, Q_SETTING_GET);
	bind_text(st, 1, a->key);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		if (col_str(st, 0, 1, &a->out))
			ret = NOMEM(s);
	} else if (rc == SQLITE_DONE) {
		ret = vs_fail(err, VS_ERR_NOTFOUND, "%s: setting %.128s is not set", W(s), a->key);
	} else {
		ret = sq_fail_db(s, c->db, err, "reading a setting");
	}
	done(st);
	return ret;
}

static int sq_setting_get(vs_store *vs, const char *key, char **value, veto_error *err)
{
	struct setting_args a = {.key = key};
	int rc = in_txn((sq_store *)vs, 0, sq_setting_get_fn, &a, err);
	if (rc) {
		free(a.out);
		return rc;
	}
	*value = a.out;
	return 0;
}

static int sq_setting_set_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	struct setting_args *a = arg;
	PREP(st, Q_SETTING_SET);
	bind_text(st, 1, a->key);
	bind_text(st, 2, a->value);
	return step_done(s, c, st, "writing a setting", err);
}

static int sq_setting_set(vs_store *vs, const char *key, const char *value, veto_error *err)
{
	struct setting_args a = {.key = key, .value = value};
	return in_txn((sq_store *)vs, 1, sq_setting_set_fn, &a, err);
}

/* --------------------------------------------------------------- check */

/* "ok" from PRAGMA quick_check (of one table and its indexes if table is
 * not NULL), else the first problem it reports. */
static int quick_check(sq_store *s, sqlite3 *db, const char *table, veto_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[96];
	snprintf(sql, sizeof sql, "PRAGMA quick_check(%s)", table ? table : "1");
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		if (!r || strcmp(r, "ok") != 0)
			ret = vs_fail(err, VETO_ERR_CORRUPT, "%s: the database is damaged: %.200s", W(s),
			              r ? r : "(no answer)");
	} else {
		int x = sqlite3_errcode(db) & 0xff;
		ret = vs_fail(err, x == SQLITE_NOMEM ? VETO_ERR_NOMEM : VETO_ERR_CORRUPT,
		              "%s: the database is damaged: %s", W(s), sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return ret;
}

/* One count for vs_check_consistency. */
static int sq_count(vs_store *vs, void *conn, const char *sql, int64_t *n, veto_error *err)
{
	sq_conn *c = conn;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return sq_fail_db((sq_store *)vs, c->db, err, "checking consistency");
	return 0;
}

static int sq_check_fn(sq_store *s, sq_conn *c, void *arg, veto_error *err)
{
	(void)arg;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, "SELECT version FROM veto_schema", -1, &st, NULL);
	int64_t v = -1;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return vs_check_consistency(&s->base, c, v, sq_count, err);
}

static int sq_check(vs_store *vs, veto_error *err)
{
	sq_store *s = (sq_store *)vs;
	sq_conn *c = NULL;
	int rc = conn_get(s, &c, err);
	if (rc || (rc = quick_check(s, c->db, NULL, err)))
		return rc;
	return in_txn(s, 0, sq_check_fn, NULL, err);
}

/* ---------------------------------------------------------- open/close */

static void sq_close(vs_store *vs)
{
	sq_store *s = (sq_store *)vs;
	if (!s)
		return;
	pthread_key_delete(s->key);
	pthread_mutex_lock(&s->lock);
	sq_conn *c = s->conns;
	s->conns = NULL;
	pthread_mutex_unlock(&s->lock);
	while (c) {
		sq_conn *next = c->next;
		conn_close(c);
		c = next;
	}
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->write_lock);
	free(s->path);
	free(s);
}

static const vs_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.check = sq_check,
	.bank_list = sq_bank_list,
	.bank_get = sq_bank_get,
	.bank_create = sq_bank_create,
	.content_add_many = sq_content_add_many,
	.content_get = sq_content_get,
	.content_list = sq_content_list,
	.signal_stats = sq_signal_stats,
	.changes_since = sq_changes_since,
	.max_seq = sq_max_seq,
	.key_create = sq_key_create,
	.key_list = sq_key_list,
	.key_revoke = sq_key_revoke,
	.setting_get = sq_setting_get,
	.setting_set = sq_setting_set,
	.write = sq_write,
	.next_seq = next_seq,
	.get_bank = get_bank,
	.put_bank = write_bank,
	.erase_bank = erase_bank,
	.get_content = read_content,
	.put_content = write_content,
};

/* Create the file (0600) if it is missing; refuse what is not a regular
 * file or does not start like SQLite. *size gets the file's size. */
static int prepare_file(sq_store *s, int readonly, off_t *size, veto_error *err)
{
	struct stat st;
	*size = 0;
	if (stat(s->path, &st) != 0) {
		if (errno != ENOENT)
			return vs_fail(err, VETO_ERR_IO, "%s: %s", W(s), strerror(errno));
		if (readonly)
			return vs_fail(err, VETO_ERR_IO, "%s: no such database file", W(s));
		int fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			return prepare_file(s, readonly, size, err); /* created meanwhile */
		if (fd < 0) {
			int e = errno;
			if (e == ENOENT)
				return vs_fail(err, VETO_ERR_IO,
				               "%s: cannot create the database: its directory does not exist",
				               W(s));
			return vs_fail(err, VETO_ERR_IO, "%s: cannot create the database: %s", W(s),
			               strerror(e));
		}
		close(fd);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return vs_fail(err, VETO_ERR_IO, "%s: is a directory, not a database file", W(s));
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, VETO_ERR_IO, "%s: not a regular file", W(s));
	*size = st.st_size;
	if (st.st_size == 0)
		return 0; /* new (possibly with its first pages still in the WAL) */
	char head[16] = {0};
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, VETO_ERR_IO, "%s: %s", W(s), strerror(errno));
	ssize_t got = read(fd, head, sizeof head);
	close(fd);
	if (got != (ssize_t)sizeof head || memcmp(head, "SQLite format 3", 16) != 0)
		return vs_fail(err, VETO_ERR_FORMAT,
		               "%s: not an SQLite database (damaged, or another kind of file)", W(s));
	return 0;
}

static int open_error(sq_store *s, sqlite3 *db, veto_error *err, const char *what)
{
	int x = sqlite3_errcode(db) & 0xff;
	if (x == SQLITE_CORRUPT || x == SQLITE_NOTADB)
		return vs_fail(err, VETO_ERR_CORRUPT, "%s: damaged or not a database: %s: %s", W(s),
		               what, sqlite3_errmsg(db));
	return vs_fail(err, x == SQLITE_NOMEM ? VETO_ERR_NOMEM : VS_ERR_DB, "%s: %s: %s", W(s), what,
	               sqlite3_errmsg(db));
}

/* What the file holds: its veto schema version (0 if no veto_schema) and
 * whether it has other tables. */
static int inspect(sq_store *s, sqlite3 *db, int64_t *version, int *foreign, char *other,
                   size_t other_size, veto_error *err)
{
	*version = 0;
	*foreign = 0;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL);
	int64_t app = 0;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		app = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return open_error(s, db, err, "reading the header");
	if (app != 0 && app != SQ_APP_ID)
		return vs_fail(err, VETO_ERR_FORMAT,
		               "%s: not a veto database (it belongs to another program: application_id 0x%08llx)",
		               W(s), (unsigned long long)app);
	rc = sqlite3_prepare_v2(db,
	                        "SELECT name FROM sqlite_schema WHERE type = 'table'"
	                        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
	                        -1, &st, NULL);
	int has_schema = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			if (name && !strcmp(name, "veto_schema")) {
				has_schema = 1;
			} else if (!*foreign) {
				*foreign = 1;
				snprintf(other, other_size, "%s", name ? name : "?");
			}
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return open_error(s, db, err, "reading the schema");
	if (!has_schema)
		return 0;
	rc = sqlite3_prepare_v2(db, "SELECT version FROM veto_schema", -1, &st, NULL);
	int rows = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			*version = sqlite3_column_int64(st, 0);
			rows++;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return open_error(s, db, err, "reading the schema version");
	if (rows != 1 || *version < 0)
		return vs_fail(err, VETO_ERR_CORRUPT, "%s: damaged: veto_schema holds %d rows", W(s),
		               rows);
	if (*version == 0)
		*version = -1; /* a table but no version: treated as damaged below */
	return 0;
}

static int check_version(sq_store *s, int64_t v, int foreign, const char *other, int readonly,
                         veto_error *err)
{
	if (v == 0 && foreign)
		return vs_fail(err, VETO_ERR_FORMAT,
		               "%s: not a veto database (it has other tables, e.g. %.64s, and no veto_schema)",
		               W(s), other);
	return vs_check_version(&s->base, v, readonly, err);
}

/* Apply the migration steps after version v, in one transaction. */
static int migrate(sq_store *s, sqlite3 *db, veto_error *err)
{
	int rc = exec_sql(s, db, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	/* again under the write lock: another process may have migrated */
	int64_t v = 0;
	int foreign = 0;
	char other[80] = "";
	if ((rc = inspect(s, db, &v, &foreign, other, sizeof other, err)) ||
	    (rc = check_version(s, v, foreign, other, 0, err)))
		goto fail;
	for (int64_t step = v + 1; step <= VS_SCHEMA_VERSION; step++) {
		if ((rc = exec_sql(s, db, sq_steps[step - 1], err)))
			goto fail;
		char sql[96];
		snprintf(sql, sizeof sql, "UPDATE veto_schema SET version = %lld", (long long)step);
		if ((rc = exec_sql(s, db, sql, err)))
			goto fail;
	}
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d", SQ_APP_ID);
	if ((rc = exec_sql(s, db, sql, err)) || (rc = exec_sql(s, db, "COMMIT", err)))
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static long long quick_check_limit_mb(void)
{
	const char *e = getenv("VETO_STORE_QUICK_CHECK_MAX_MB");
	if (e && *e) {
		char *end;
		long long v = strtoll(e, &end, 10);
		if (!*end && v >= 0)
			return v;
	}
	return 128;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* A file shorter than its header says (a truncated copy). Only when no WAL
 * holds frames: those may legitimately extend the file. */
static int check_length(sq_store *s, sqlite3 *db, off_t size, veto_error *err)
{
	char *wal = malloc(strlen(s->path) + 5);
	if (!wal)
		return NOMEM(s);
	sprintf(wal, "%s-wal", s->path);
	struct stat st;
	int has_wal = stat(wal, &st) == 0 && st.st_size > 0;
	free(wal);
	if (has_wal || size == 0)
		return 0;
	int64_t pages = 0, page_size = 0;
	if (pragma_int(db, "PRAGMA page_count", &pages) != SQLITE_OK ||
	    pragma_int(db, "PRAGMA page_size", &page_size) != SQLITE_OK)
		return open_error(s, db, err, "reading the header");
	if (pages * page_size > (int64_t)size)
		return vs_fail(err, VETO_ERR_CORRUPT,
		               "%s: damaged: truncated (the header says %lld bytes, the file has %lld)",
		               W(s), (long long)(pages * page_size), (long long)size);
	return 0;
}

/* The cheap checks every open gets (the full one may be skipped): the
 * small tables whole, the newest rows of the big ones. */
static int light_check(sq_store *s, sqlite3 *db, veto_error *err)
{
	static const char *const small[] = {"veto_schema", "veto_banks", "veto_keys",
	                                    "veto_settings"};
	for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
		int rc = quick_check(s, db, small[i], err);
		if (rc)
			return rc;
	}
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
	                            "SELECT (SELECT max(seq) FROM veto_changes),"
	                            " (SELECT max(id) FROM veto_content),"
	                            " (SELECT max(rowid) FROM veto_signals),"
	                            " (SELECT max(content_id) FROM veto_signals),"
	                            " (SELECT max(content_id) FROM veto_signals WHERE type = 'pdq'),"
	                            " (SELECT max(seq) FROM veto_changes WHERE bank_id = 1),"
	                            " (SELECT max(id) FROM veto_content WHERE bank_id = 1)",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return open_error(s, db, err, "reading the newest rows");
	return 0;
}

int vs_sqlite_open(vs_store **out, const char *path, int readonly, veto_error *err)
{
	*out = NULL;
	if (!path || !*path)
		return vs_fail(err, VETO_ERR_INVALID, "store: no SQLite file name given");
	sq_store *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(err, VETO_ERR_NOMEM, "%s: out of memory", path);
	s->base.ops = &sq_ops;
	s->base.readonly = readonly;
	snprintf(s->base.where, sizeof s->base.where, "%s", path);
	s->path = strdup(path);
	if (!s->path || pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s->path);
		free(s);
		return vs_fail(err, VETO_ERR_NOMEM, "%s: out of memory", path);
	}
	pthread_mutex_init(&s->write_lock, NULL);
	if (pthread_key_create(&s->key, conn_destructor) != 0) {
		pthread_mutex_destroy(&s->lock);
		pthread_mutex_destroy(&s->write_lock);
		free(s->path);
		free(s);
		return vs_fail(err, VETO_ERR_NOMEM, "%s: out of thread-specific keys", path);
	}

	off_t size = 0;
	sqlite3 *db = NULL;
	int rc = prepare_file(s, readonly, &size, err);
	if (rc || (rc = db_open(s, &db, err)))
		goto fail;
	int full = size > 0 && (long long)(size / (1024 * 1024)) <= quick_check_limit_mb();
	if ((rc = check_length(s, db, size, err)) || (full && (rc = quick_check(s, db, NULL, err))))
		goto fail;
	int64_t v = 0;
	int foreign = 0;
	char other[80] = "";
	if ((rc = inspect(s, db, &v, &foreign, other, sizeof other, err)) ||
	    (rc = check_version(s, v, foreign, other, readonly, err)))
		goto fail;
	/* only now that the file is known to be veto's (or new): switching to
	 * WAL writes its header */
	if (!readonly) {
		sqlite3_stmt *st = NULL;
		const char *mode = NULL;
		int x = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (x == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || strcmp(mode, "wal") != 0) {
			rc = mode ? vs_fail(err, VS_ERR_DB,
			                    "%s: cannot use a write-ahead log (journal mode stays %s)",
			                    W(s), mode)
			          : open_error(s, db, err, "setting WAL mode");
			sqlite3_finalize(st);
			goto fail;
		}
		sqlite3_finalize(st);
	}
	if (v < VS_SCHEMA_VERSION && (rc = migrate(s, db, err)))
		goto fail;
	if (!full && (rc = light_check(s, db, err)))
		goto fail;
	sqlite3_close_v2(db);
	*out = &s->base;
	return 0;
fail:
	sqlite3_close_v2(db);
	sq_close(&s->base);
	return rc;
}
