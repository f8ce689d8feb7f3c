/*
 * store_pg.c - the store in a PostgreSQL database (libpq), for fleets of
 * veto serve processes sharing one database.
 *
 * What and why:
 *   - A small pool of connections (at most VS_PG_POOL = 8), opened lazily,
 *     handed out under a mutex, waited for on a condition variable when
 *     all are busy. An operation holds one connection from start to end
 *     and never two, so the pool cannot deadlock.
 *   - Every query is parameterised (PQexecParams, text parameters): no SQL
 *     is ever built from user data. Bulk loads use COPY ... FROM STDIN,
 *     whose text format is escaped here (backslash, tab, newline, CR).
 *   - The change sequence. Every write transaction first takes
 *     pg_advisory_xact_lock(VS_PG_LOCK) and only then draws its ids and seq
 *     as max + 1 (in READ COMMITTED, each statement sees everything
 *     committed before it started, so after the lock it sees the previous
 *     writer's rows). Why the lock: with concurrent transactions, a
 *     sequence (bigserial) hands out numbers in the order transactions
 *     ASK, but they become visible in the order they COMMIT: seq 41 may
 *     commit after seq 42, and a follower that has already read up to 42
 *     would never see 41. Under the lock one writer runs at a time, the
 *     lock is released only after the commit is visible, so seq order is
 *     commit order. It also makes ids and seqs dense (no holes from rolled
 *     back transactions), and content ids start at 1 like HMA's. The cost:
 *     writes to one database are serialised, fleet-wide; reads are not.
 *   - Reads that run several statements (content with its signals, a page
 *     of changes with its entities) run in one REPEATABLE READ READ ONLY
 *     transaction: one snapshot. Single-statement reads need none.
 *   - Broken connections (the server restarted, a network blip): a read
 *     that fails because the connection is gone is retried once after
 *     PQreset. A write whose BEGIN fails that way is retried too (nothing
 *     was sent yet); a write that breaks later is reported as VS_ERR_DB,
 *     and if the connection broke during COMMIT the message says the write
 *     may or may not have happened. The connection is reset either way, so
 *     the next operation has a working one.
 *   - Durability: sessions run with synchronous_commit = on, whatever the
 *     server's default. Read-only stores (followers, replicas) set
 *     default_transaction_read_only and never migrate; they check that the
 *     schema version is exactly this binary's.
 *   - The tables live in the connection's current schema (the first of
 *     search_path; pass options=-csearch_path=NAME in the URL to give veto
 *     its own). Other tables in that schema are allowed (a PostgreSQL
 *     database is often shared, which is why every table is prefixed
 *     veto_); veto_ tables without veto_schema are refused as someone
 *     else's or damaged, and so is a schema version newer than this binary.
 *   - Messages name the database as "postgres USER@HOST:PORT/DBNAME" from
 *     the parsed connection string, never with the password.
 *   - libpq's notices are silenced (the store prints nothing).
 *
 * Trade-offs: bulk loads (vs_content_add_many of 5 or more) COPY the
 * content, signal and change rows in one transaction; `test_store postgres
 * --bench 1000000` measured 20k contents/s on this 2-core VM (a local
 * server, fsync off), CPU-bound in the server. About 40% of that is the
 * foreign keys' per-row checks (signals -> content -> banks); they are kept
 * because integrity matters more here than load speed. Smaller adds use
 * INSERTs: fewer round trips than three COPYs.
 */
#include "store_internal.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VS_PG_POOL 8
/* The advisory lock every writer takes: "veto" "seq" in ASCII. */
#define VS_PG_LOCK "8531247648347693425"
/* add_many: up to this many items with INSERTs, more with COPY */
#define VS_PG_COPY_MIN 5

/* ------------------------------------------------------------- schema */

static const char *const pg_steps[] = {
	/* 1 */
	"CREATE TABLE veto_schema(version integer NOT NULL);"
	"CREATE TABLE veto_banks("
	"  id bigint PRIMARY KEY,"
	"  name text NOT NULL,"
	"  enabled_ratio double precision NOT NULL,"
	"  created bigint NOT NULL,"
	"  updated bigint NOT NULL,"
	"  deleted integer NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX veto_banks_name ON veto_banks(name) WHERE deleted = 0;"
	"CREATE TABLE veto_content("
	"  id bigint PRIMARY KEY,"
	"  bank_id bigint NOT NULL REFERENCES veto_banks(id),"
	"  disable_until_ts bigint NOT NULL,"
	"  status integer NOT NULL,"
	"  note text,"
	"  metadata_json text,"
	"  source text,"
	"  case_ref text,"
	"  original_media_uri text,"
	"  created bigint NOT NULL,"
	"  updated bigint NOT NULL,"
	"  seq bigint NOT NULL);"
	"CREATE INDEX veto_content_bank ON veto_content(bank_id, id);"
	"CREATE TABLE veto_signals("
	"  content_id bigint NOT NULL REFERENCES veto_content(id),"
	"  type text NOT NULL,"
	"  value text NOT NULL);"
	"CREATE INDEX veto_signals_content ON veto_signals(content_id);"
	"CREATE INDEX veto_signals_type ON veto_signals(type, content_id);"
	"CREATE TABLE veto_changes("
	"  seq bigint PRIMARY KEY,"
	"  kind integer NOT NULL,"
	"  ts bigint NOT NULL,"
	"  bank_id bigint NOT NULL,"
	"  content_id bigint NOT NULL);"
	"CREATE INDEX veto_changes_bank ON veto_changes(bank_id, seq);"
	"CREATE TABLE veto_keys("
	"  key_id text NOT NULL UNIQUE,"
	"  secret_hash bytea NOT NULL,"
	"  role text NOT NULL,"
	"  banks text,"
	"  rate double precision NOT NULL,"
	"  name text,"
	"  created bigint NOT NULL,"
	"  revoked bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE veto_settings(key text PRIMARY KEY, value text NOT NULL);"
	"INSERT INTO veto_schema(version) VALUES (0);",
};
#define PG_NSTEPS ((int)(sizeof pg_steps / sizeof pg_steps[0]))
_Static_assert(PG_NSTEPS == VS_SCHEMA_VERSION, "one migration step per schema version");

/* ------------------------------------------------------------ queries */

#define BANK_COLS VS_BANK_COLS
#define CONTENT_COLS VS_CONTENT_COLS
#define KEY_COLS "key_id, encode(secret_hash, 'hex'), role, banks, rate, name, created, revoked"

static const char SQL_BANK_LIST[] =
	"SELECT " BANK_COLS " FROM veto_banks WHERE deleted = 0 ORDER BY id";
static const char SQL_BANK_BY_NAME[] =
	"SELECT " BANK_COLS " FROM veto_banks WHERE name = $1 AND deleted = 0";
static const char SQL_BANK_BY_ID[] =
	"SELECT " BANK_COLS " FROM veto_banks WHERE id = $1 AND deleted = 0";
static const char SQL_NEXT_BANK[] =
	"SELECT (SELECT COALESCE(MAX(id), 0) + 1 FROM veto_banks),"
	" (SELECT COALESCE(MAX(seq), 0) + 1 FROM veto_changes)";
static const char SQL_BANK_INSERT[] =
	"INSERT INTO veto_banks(id, name, enabled_ratio, created, updated, deleted)"
	" VALUES ($1, $2, $3, $4, $4, 0)";
static const char SQL_BANK_UPDATE[] =
	"UPDATE veto_banks SET name = $2, enabled_ratio = $3, updated = $4 WHERE id = $1";
static const char SQL_BANK_MARK_DELETED[] =
	"UPDATE veto_banks SET deleted = 1, updated = $2 WHERE id = $1";
static const char SQL_BANK_DEL_SIGNALS[] =
	"DELETE FROM veto_signals WHERE content_id IN"
	" (SELECT id FROM veto_content WHERE bank_id = $1 AND status <> 2)";
static const char SQL_BANK_DEL_CONTENT[] =
	"UPDATE veto_content AS c SET status = 2, note = NULL, metadata_json = NULL,"
	" original_media_uri = NULL, updated = $2, seq = $3 + l.rn - 1"
	" FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM veto_content"
	"       WHERE bank_id = $1 AND status <> 2) AS l"
	" WHERE c.id = l.id";
static const char SQL_BANK_DEL_CHANGES[] =
	"INSERT INTO veto_changes(seq, kind, ts, bank_id, content_id)"
	" SELECT seq, 1, $2, bank_id, id FROM veto_content"
	" WHERE bank_id = $1 AND seq >= $3 ORDER BY seq";
static const char SQL_NEXT_SEQ[] = "SELECT COALESCE(MAX(seq), 0) + 1 FROM veto_changes";
static const char SQL_NEXT_CONTENT[] =
	"SELECT (SELECT deleted FROM veto_banks WHERE id = $1),"
	" (SELECT COALESCE(MAX(id), 0) + 1 FROM veto_content),"
	" (SELECT COALESCE(MAX(seq), 0) + 1 FROM veto_changes)";
static const char SQL_CHANGE_INSERT[] =
	"INSERT INTO veto_changes(seq, kind, ts, bank_id, content_id) VALUES ($1, $2, $3, $4, $5)";
static const char SQL_CONTENT_INSERT[] =
	"INSERT INTO veto_content(id, bank_id, disable_until_ts, status, note, metadata_json,"
	" source, case_ref, original_media_uri, created, updated, seq)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)";
static const char SQL_SIGNAL_INSERT[] =
	"INSERT INTO veto_signals(content_id, type, value) VALUES ($1, $2, $3)";
static const char SQL_CONTENT_GET[] =
	"SELECT " CONTENT_COLS " FROM veto_content c LEFT JOIN veto_banks b ON b.id = c.bank_id"
	" WHERE c.id = $1";
static const char SQL_SIGNALS_OF[] =
	"SELECT content_id, type, value FROM veto_signals WHERE content_id = $1"
	" ORDER BY type, value";
static const char SQL_CONTENT_UPDATE[] =
	"UPDATE veto_content SET disable_until_ts = $2, status = $3, note = $4,"
	" metadata_json = $5, source = $6, case_ref = $7, original_media_uri = $8,"
	" updated = $9, seq = $10 WHERE id = $1";
static const char SQL_SIGNALS_DELETE[] = "DELETE FROM veto_signals WHERE content_id = $1";
static const char SQL_CONTENT_LIST[] =
	"SELECT " CONTENT_COLS " FROM veto_content c JOIN veto_banks b ON b.id = c.bank_id"
	" WHERE c.bank_id = $1 AND c.id > $2 AND c.status <> 2 ORDER BY c.id LIMIT $3";
static const char SQL_CONTENT_LIST_SIGNALS[] =
	"SELECT content_id, type, value FROM veto_signals WHERE content_id IN"
	" (SELECT id FROM veto_content WHERE bank_id = $1 AND id > $2 AND status <> 2"
	"  ORDER BY id LIMIT $3) ORDER BY content_id, type, value";
static const char SQL_SIGNAL_STATS[] =
	"SELECT (SELECT count(*) FROM veto_signals WHERE type = $1),"
	" (SELECT c.created FROM veto_signals s JOIN veto_content c ON c.id = s.content_id"
	"  WHERE s.type = $1 ORDER BY s.content_id DESC LIMIT 1)";
static const char SQL_CHANGES[] =
	"SELECT " VS_CHANGE_COLS " FROM veto_changes"
	" WHERE seq > $1 ORDER BY seq LIMIT $2";
static const char SQL_CHANGES_BANK[] =
	"SELECT " VS_CHANGE_COLS " FROM veto_changes"
	" WHERE bank_id = $3 AND seq > $1 ORDER BY seq LIMIT $2";
static const char SQL_CHANGES_CONTENT[] =
	"SELECT " CONTENT_COLS " FROM veto_content c LEFT JOIN veto_banks b ON b.id = c.bank_id"
	" WHERE c.id IN (SELECT content_id FROM veto_changes"
	"  WHERE seq > $1 AND seq <= $2 AND kind = 1) ORDER BY c.id";
static const char SQL_CHANGES_CONTENT_BANK[] =
	"SELECT " CONTENT_COLS " FROM veto_content c LEFT JOIN veto_banks b ON b.id = c.bank_id"
	" WHERE c.id IN (SELECT content_id FROM veto_changes"
	"  WHERE bank_id = $3 AND seq > $1 AND seq <= $2 AND kind = 1) ORDER BY c.id";
static const char SQL_CHANGES_SIGNALS[] =
	"SELECT content_id, type, value FROM veto_signals WHERE content_id IN"
	" (SELECT content_id FROM veto_changes WHERE seq > $1 AND seq <= $2 AND kind = 1)"
	" ORDER BY content_id, type, value";
static const char SQL_CHANGES_SIGNALS_BANK[] =
	"SELECT content_id, type, value FROM veto_signals WHERE content_id IN"
	" (SELECT content_id FROM veto_changes"
	"  WHERE bank_id = $3 AND seq > $1 AND seq <= $2 AND kind = 1)"
	" ORDER BY content_id, type, value";
static const char SQL_CHANGES_BANKS[] =
	"SELECT " BANK_COLS " FROM veto_banks WHERE id IN"
	" (SELECT bank_id FROM veto_changes WHERE seq > $1 AND seq <= $2 AND kind = 2)"
	" ORDER BY id";
static const char SQL_CHANGES_BANKS_BANK[] = "SELECT " BANK_COLS " FROM veto_banks WHERE id = $1";
static const char SQL_MAX_SEQ[] = "SELECT COALESCE(MAX(seq), 0) FROM veto_changes";
static const char SQL_KEY_INSERT[] =
	"INSERT INTO veto_keys(key_id, secret_hash, role, banks, rate, name, created, revoked)"
	" VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6, $7, $8)";
static const char SQL_KEY_LIST[] = "SELECT " KEY_COLS " FROM veto_keys ORDER BY created, key_id";
static const char SQL_KEY_REVOKE[] =
	"UPDATE veto_keys SET revoked = $2 WHERE key_id = $1 AND revoked = 0";
static const char SQL_KEY_EXISTS[] = "SELECT 1 FROM veto_keys WHERE key_id = $1";
static const char SQL_SETTING_GET[] = "SELECT value FROM veto_settings WHERE key = $1";
static const char SQL_SETTING_SET[] =
	"INSERT INTO veto_settings(key, value) VALUES ($1, $2)"
	" ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

/* ------------------------------------------------------- store, pool */

typedef struct pg_conn {
	PGconn *pc;
	struct pg_conn *next; /* in the idle list */
} pg_conn;

typedef struct pg_store {
	vs_store base;
	char *conninfo;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pg_conn *idle;
	int total; /* open or being opened */
} pg_store;

#define W(s) ((s)->base.where)
#define NOMEM(s) vs_nomem(&(s)->base, err)

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Per-session settings; run after every connect and reset. */
static int session_setup(pg_store *s, PGconn *pc, veto_error *err)
{
	PGresult *r = PQexec(pc, s->base.readonly
	                                 ? "SET synchronous_commit = on;"
	                                   " SET default_transaction_read_only = on"
	                                 : "SET synchronous_commit = on");
	int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return vs_fail(err, VS_ERR_DB, "%s: setting up the session: %s", W(s),
		               PQerrorMessage(pc));
	return 0;
}

static int pg_connect(pg_store *s, pg_conn **out, veto_error *err)
{
	*out = NULL;
	/* Defaults first: the caller's connection string (expanded from
	 * "dbname") overrides them; client_encoding comes after, so it is
	 * always UTF8. */
	const char *keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
	                      NULL};
	const char *vals[] = {"10", "veto", s->conninfo, "UTF8", NULL};
	PGconn *pc = PQconnectdbParams(keys, vals, 1);
	if (!pc)
		return NOMEM(s);
	PQsetNoticeProcessor(pc, quiet_notices, NULL);
	if (PQstatus(pc) != CONNECTION_OK) {
		int rc = vs_fail(err, VS_ERR_DB, "%s: cannot connect: %s", W(s), PQerrorMessage(pc));
		PQfinish(pc);
		return rc;
	}
	int rc = session_setup(s, pc, err);
	if (rc) {
		PQfinish(pc);
		return rc;
	}
	pg_conn *c = calloc(1, sizeof *c);
	if (!c) {
		PQfinish(pc);
		return NOMEM(s);
	}
	c->pc = pc;
	*out = c;
	return 0;
}

static int acquire(pg_store *s, pg_conn **out, veto_error *err)
{
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->idle) {
			pg_conn *c = s->idle;
			s->idle = c->next;
			c->next = NULL;
			pthread_mutex_unlock(&s->lock);
			*out = c;
			return 0;
		}
		if (s->total < VS_PG_POOL) {
			s->total++;
			pthread_mutex_unlock(&s->lock);
			int rc = pg_connect(s, out, err);
			if (rc) {
				pthread_mutex_lock(&s->lock);
				s->total--;
				pthread_cond_signal(&s->cond);
				pthread_mutex_unlock(&s->lock);
			}
			return rc;
		}
		pthread_cond_wait(&s->cond, &s->lock);
	}
}

static void release(pg_store *s, pg_conn *c)
{
	if (PQstatus(c->pc) != CONNECTION_OK ||
	    PQtransactionStatus(c->pc) != PQTRANS_IDLE) {
		/* broken, or (should not happen) left inside a transaction:
		 * drop it; the next user opens a fresh one */
		PQfinish(c->pc);
		free(c);
		pthread_mutex_lock(&s->lock);
		s->total--;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->idle;
	s->idle = c;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Try to bring a broken connection back. 1 if it works again. */
static int revive(pg_store *s, pg_conn *c)
{
	if (PQstatus(c->pc) == CONNECTION_OK)
		return 1;
	PQreset(c->pc);
	return PQstatus(c->pc) == CONNECTION_OK && session_setup(s, c->pc, NULL) == 0;
}

/* ------------------------------------------------------------ queries */

typedef struct pg_params {
	int n;
	const char *v[16];
	char buf[16][32];
} pg_params;

static void p_i64(pg_params *p, int64_t x)
{
	snprintf(p->buf[p->n], sizeof p->buf[p->n], "%lld", (long long)x);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

static void p_dbl(pg_params *p, double x)
{
	snprintf(p->buf[p->n], sizeof p->buf[p->n], "%.17g", x);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

static void p_str(pg_params *p, const char *x)
{
	p->v[p->n++] = x; /* NULL is SQL NULL */
}

static int res_fail(pg_store *s, pg_conn *c, const PGresult *r, const char *what,
                    veto_error *err)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!msg || !*msg)
		msg = PQerrorMessage(c->pc);
	if (PQstatus(c->pc) != CONNECTION_OK)
		return vs_fail(err, VS_ERR_DB, "%s: %s: connection lost: %s", W(s), what, msg);
	int code = state && !strcmp(state, "23505") ? VS_ERR_CONFLICT : VS_ERR_DB;
	if (state && !strcmp(state, "53200"))
		code = VETO_ERR_NOMEM;
	return vs_fail(err, code, "%s: %s: %s", W(s), what, msg);
}

/* Run sql with p; *out (if not NULL) gets the rows. */
static int run(pg_store *s, pg_conn *c, const char *sql, const pg_params *p, PGresult **out,
               const char *what, veto_error *err)
{
	if (out)
		*out = NULL;
	PGresult *r = PQexecParams(c->pc, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int rc = res_fail(s, c, r, what, err);
		PQclear(r);
		return rc;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* A script without parameters (BEGIN, DDL, ...). */
static int run_script(pg_store *s, pg_conn *c, const char *sql, const char *what,
                      veto_error *err)
{
	PGresult *r = PQexec(c->pc, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	int rc = 0;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		rc = res_fail(s, c, r, what, err);
	PQclear(r);
	return rc;
}

static int64_t g_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double g_dbl(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

static int g_str(const PGresult *r, int row, int col, int notnull, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col) && !notnull)
		return 0;
	*out = vs_strndup(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
	return *out ? 0 : VETO_ERR_NOMEM;
}

/* One integer from the first row (0 if none or NULL). */
static int run_int(pg_store *s, pg_conn *c, const char *sql, const pg_params *p, int64_t *v,
                   int *found, const char *what, veto_error *err)
{
	PGresult *r = NULL;
	int rc = run(s, c, sql, p, &r, what, err);
	*v = 0;
	if (found)
		*found = 0;
	if (rc)
		return rc;
	if (PQntuples(r) > 0) {
		*v = g_i64(r, 0, 0);
		if (found)
			*found = 1;
	}
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------- transactions */

typedef int (*pg_fn)(pg_store *s, pg_conn *c, void *arg, veto_error *err);

static void rollback(pg_conn *c)
{
	if (PQstatus(c->pc) == CONNECTION_OK && PQtransactionStatus(c->pc) != PQTRANS_IDLE) {
		PGresult *r = PQexec(c->pc, "ROLLBACK");
		PQclear(r);
	}
}

/* A read: fn runs once, and once more on a reset connection if the first
 * try lost its connection (undo(arg) first drops partial results). multi:
 * fn runs several statements, so wrap them in one snapshot. */
static int pg_read(pg_store *s, int multi, pg_fn fn, void *arg, void (*undo)(void *),
                   veto_error *err)
{
	pg_conn *c = NULL;
	int rc = acquire(s, &c, err);
	if (rc)
		return rc;
	for (int attempt = 0;; attempt++) {
		rc = 0;
		if (multi)
			rc = run_script(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			                "starting a read", err);
		if (rc == 0)
			rc = fn(s, c, arg, err);
		if (rc == 0 && multi)
			rc = run_script(s, c, "COMMIT", "ending a read", err);
		if (rc == 0)
			break;
		rollback(c);
		if (attempt > 0 || PQstatus(c->pc) == CONNECTION_OK || !revive(s, c))
			break;
		if (undo)
			undo(arg);
	}
	release(s, c);
	return rc;
}

static int pg_write(pg_store *s, pg_fn fn, void *arg, veto_error *err)
{
	pg_conn *c = NULL;
	int rc = acquire(s, &c, err);
	if (rc)
		return rc;
	static const char begin[] = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;"
	                            " SELECT pg_advisory_xact_lock(" VS_PG_LOCK ")";
	rc = run_script(s, c, begin, "starting a write", err);
	if (rc && PQstatus(c->pc) != CONNECTION_OK && revive(s, c))
		rc = run_script(s, c, begin, "starting a write", err); /* nothing was sent yet */
	if (rc == 0)
		rc = fn(s, c, arg, err);
	if (rc == 0) {
		PGresult *r = PQexec(c->pc, "COMMIT");
		int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK &&
		         !strcmp(PQcmdStatus(r), "COMMIT");
		if (!ok) {
			if (PQstatus(c->pc) != CONNECTION_OK)
				rc = vs_fail(err, VS_ERR_DB,
				             "%s: connection lost while committing: the write may or may not have happened: %s",
				             W(s), PQerrorMessage(c->pc));
			else
				rc = res_fail(s, c, r, "committing", err);
			if (rc == 0) /* COMMIT answered ROLLBACK */
				rc = vs_fail(err, VS_ERR_DB, "%s: the transaction was rolled back", W(s));
		}
		PQclear(r);
	}
	if (rc) {
		rollback(c);
		revive(s, c); /* so the next operation finds a working connection */
	}
	release(s, c);
	return rc;
}

/* vs_ops.write: store.c's shared write logic in one of our write
 * transactions. */
static int pg_call(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	vs_call *k = arg;
	return k->fn(&s->base, c, k->arg, err);
}

static int pg_shared_write(vs_store *vs, vs_txn_fn fn, void *arg, veto_error *err)
{
	vs_call k = {fn, arg};
	return pg_write((pg_store *)vs, pg_call, &k, err);
}

/* --------------------------------------------------------- row reading */

static int64_t row_i64(const vs_row *r, int col)
{
	return g_i64(r->res, r->row, col);
}

static double row_dbl(const vs_row *r, int col)
{
	return g_dbl(r->res, r->row, col);
}

static int row_str(const vs_row *r, int col, int notnull, char **out)
{
	return g_str(r->res, r->row, col, notnull, out);
}

static const vs_row_ops pg_cols = {row_i64, row_dbl, row_str};

/* Run sql with p, converting each row with conv into the array *out of
 * `size`-byte elements; *n counts the rows converted (the caller frees
 * them, also after an error). */
static int read_rows(pg_store *s, pg_conn *c, const char *sql, const pg_params *p, void *out,
                     size_t *n, size_t size, vs_row_fn conv, const char *what, veto_error *err)
{
	void **v = out;
	PGresult *r = NULL;
	*v = NULL;
	*n = 0;
	int rc = run(s, c, sql, p, &r, what, err);
	if (rc)
		return rc;
	int rows = PQntuples(r);
	if (rows > 0 && !(*v = calloc((size_t)rows, size)))
		rc = NOMEM(s);
	vs_row row = {&pg_cols, r, 0};
	for (; rc == 0 && row.row < rows; row.row++) {
		if (conv(&row, (char *)*v + *n * size))
			rc = NOMEM(s);
		else
			(*n)++;
	}
	PQclear(r);
	return rc;
}

static int read_banks(pg_store *s, pg_conn *c, const char *sql, const pg_params *p,
                      vs_bank **out, size_t *n, veto_error *err)
{
	return read_rows(s, c, sql, p, out, n, sizeof **out, vs_bank_from_row, "reading banks",
	                 err);
}

static int read_contents(pg_store *s, pg_conn *c, const char *sql, const pg_params *p,
                         vs_content **out, size_t *n, veto_error *err)
{
	return read_rows(s, c, sql, p, out, n, sizeof **out, vs_content_from_row,
	                 "reading content", err);
}

/* Attach rows (content_id, type, value) to the contents (sorted by id). */
static int read_signals(pg_store *s, pg_conn *c, const char *sql, const pg_params *p,
                        vs_content *v, size_t n, veto_error *err)
{
	PGresult *r = NULL;
	int rc = run(s, c, sql, p, &r, "reading signals", err);
	if (rc)
		return rc;
	int rows = PQntuples(r);
	for (int i = 0; i < rows; i++) {
		vs_content *ct = vs_content_find(v, n, g_i64(r, i, 0));
		if (ct && vs_content_push_signal(ct, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2))) {
			PQclear(r);
			return NOMEM(s);
		}
	}
	PQclear(r);
	return 0;
}

/* Content id with its signals; VS_ERR_NOTFOUND if no row (vs_ops.get_content). */
static int read_content(vs_store *vs, void *conn, int64_t id, vs_content *out, veto_error *err)
{
	pg_store *s = (pg_store *)vs;
	pg_conn *c = conn;
	memset(out, 0, sizeof *out);
	pg_params p = {0};
	p_i64(&p, id);
	vs_content *v = NULL;
	size_t n = 0;
	int rc = read_contents(s, c, SQL_CONTENT_GET, &p, &v, &n, err);
	if (rc == 0 && n)
		rc = read_signals(s, c, SQL_SIGNALS_OF, &p, v, n, err);
	if (rc) {
		vs_contents_free(v, n);
		return rc;
	}
	return vs_first_content(vs, v, n, id, out, err);
}

/* The content columns from disable_until_ts to original_media_uri (as
 * SQL_CONTENT_INSERT and SQL_CONTENT_UPDATE take them, in a row). */
static void p_content(pg_params *p, const vs_content *v)
{
	p_i64(p, v->disable_until_ts);
	p_i64(p, v->status);
	p_str(p, v->note);
	p_str(p, v->metadata_json);
	p_str(p, v->source);
	p_str(p, v->case_ref);
	p_str(p, v->original_media_uri);
}

static int add_change(pg_store *s, pg_conn *c, int64_t seq, int kind, int64_t ts,
                      int64_t bank_id, int64_t content_id, veto_error *err)
{
	pg_params p = {0};
	p_i64(&p, seq);
	p_i64(&p, kind);
	p_i64(&p, ts);
	p_i64(&p, bank_id);
	p_i64(&p, content_id);
	return run(s, c, SQL_CHANGE_INSERT, &p, NULL, "recording a change", err);
}

/* The next change's seq (vs_ops.next_seq). */
static int next_seq(vs_store *vs, void *conn, int64_t *seq, veto_error *err)
{
	return run_int((pg_store *)vs, conn, SQL_NEXT_SEQ, NULL, seq, NULL, "drawing a seq", err);
}

/* --------------------------------------------------------------- banks */

struct bank_args {
	const char *name;
	int64_t id;
	double ratio;
	vs_bank *out;
	vs_bank *v;
	size_t n;
};

static void bank_undo(void *arg)
{
	struct bank_args *a = arg;
	vs_banks_free(a->v, a->n);
	a->v = NULL;
	a->n = 0;
	if (a->out)
		vs_bank_clear(a->out);
}

static int pg_bank_list_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct bank_args *a = arg;
	return read_banks(s, c, SQL_BANK_LIST, NULL, &a->v, &a->n, err);
}

static int pg_bank_list(vs_store *vs, vs_bank **out, size_t *n, veto_error *err)
{
	struct bank_args a = {0};
	int rc = pg_read((pg_store *)vs, 0, pg_bank_list_fn, &a, bank_undo, err);
	if (rc) {
		vs_banks_free(a.v, a.n);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

/* The live bank by name (or by id if name is NULL) into *out
 * (vs_ops.get_bank). */
static int get_bank(vs_store *vs, void *conn, const char *name, int64_t id, vs_bank *out,
                    veto_error *err)
{
	pg_store *s = (pg_store *)vs;
	pg_conn *c = conn;
	pg_params p = {0};
	if (name)
		p_str(&p, name);
	else
		p_i64(&p, id);
	vs_bank *v = NULL;
	size_t n = 0;
	int rc = read_banks(s, c, name ? SQL_BANK_BY_NAME : SQL_BANK_BY_ID, &p, &v, &n, err);
	if (rc) {
		vs_banks_free(v, n);
		return rc;
	}
	return vs_first_bank(vs, v, n, name, id, out, err);
}

static int pg_bank_get_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct bank_args *a = arg;
	return get_bank(&s->base, c, a->name, a->id, a->out, err);
}

static int pg_bank_get(vs_store *vs, const char *name, int64_t id, vs_bank *out,
                       veto_error *err)
{
	struct bank_args a = {.name = name, .id = id, .out = out};
	return pg_read((pg_store *)vs, 0, pg_bank_get_fn, &a, bank_undo, err);
}

static int pg_bank_create_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct bank_args *a = arg;
	int rc = vs_bank_name_free(&s->base, c, a->name, err);
	if (rc)
		return rc;
	PGresult *r = NULL;
	if ((rc = run(s, c, SQL_NEXT_BANK, NULL, &r, "drawing a bank id", err)))
		return rc;
	int64_t id = g_i64(r, 0, 0), seq = g_i64(r, 0, 1);
	PQclear(r);
	int64_t now = (int64_t)time(NULL);
	pg_params p = {0};
	p_i64(&p, id);
	p_str(&p, a->name);
	p_dbl(&p, a->ratio);
	p_i64(&p, now);
	if ((rc = run(s, c, SQL_BANK_INSERT, &p, NULL, "creating a bank", err)))
		return rc == VS_ERR_CONFLICT ? vs_name_taken(&s->base, a->name, err) : rc;
	if ((rc = add_change(s, c, seq, VS_CHANGE_BANK, now, id, 0, err)))
		return rc;
	if (a->out)
		return get_bank(&s->base, c, NULL, id, a->out, err);
	return 0;
}

static int pg_bank_create(vs_store *vs, const char *name, double ratio, vs_bank *out,
                          veto_error *err)
{
	struct bank_args a = {.name = name, .ratio = ratio, .out = out};
	int rc = pg_write((pg_store *)vs, pg_bank_create_fn, &a, err);
	if (rc && out)
		vs_bank_clear(out);
	return rc;
}

/* vs_ops.put_bank: bank id's name and ratio, and its change. */
static int write_bank(vs_store *vs, void *conn, int64_t seq, int64_t now, int64_t id,
                      const char *name, double ratio, veto_error *err)
{
	pg_store *s = (pg_store *)vs;
	pg_conn *c = conn;
	pg_params p = {0};
	p_i64(&p, id);
	p_str(&p, name);
	p_dbl(&p, ratio);
	p_i64(&p, now);
	int rc = run(s, c, SQL_BANK_UPDATE, &p, NULL, "updating a bank", err);
	return rc ? rc : add_change(s, c, seq, VS_CHANGE_BANK, now, id, 0, err);
}

/* vs_ops.erase_bank: tombstones for the bank's live content (changes
 * base, base + 1, ...), then the bank itself. */
static int erase_bank(vs_store *vs, void *conn, int64_t base, int64_t now, int64_t id,
                      const char *name, veto_error *err)
{
	pg_store *s = (pg_store *)vs;
	pg_conn *c = conn;
	int rc;
	pg_params p1 = {0};
	p_i64(&p1, id);
	if ((rc = run(s, c, SQL_BANK_DEL_SIGNALS, &p1, NULL, "erasing the bank's signals", err)))
		return rc;
	pg_params p = {0};
	p_i64(&p, id);
	p_i64(&p, now);
	p_i64(&p, base);
	PGresult *r = NULL;
	if ((rc = run(s, c, SQL_BANK_DEL_CONTENT, &p, &r, "erasing the bank's content", err)))
		return rc;
	int64_t ntomb = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if ((rc = run(s, c, SQL_BANK_DEL_CHANGES, &p, &r, "recording the content's deletion", err)))
		return rc;
	int64_t nchg = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if (nchg != ntomb)
		return vs_fail(err, VS_ERR_DB, "%s: deleting bank %.128s: %lld tombstones but %lld changes",
		               W(s), name, (long long)ntomb, (long long)nchg);
	pg_params p2 = {0};
	p_i64(&p2, id);
	p_i64(&p2, now);
	if ((rc = run(s, c, SQL_BANK_MARK_DELETED, &p2, NULL, "deleting the bank", err)))
		return rc;
	return add_change(s, c, base + ntomb, VS_CHANGE_BANK, now, id, 0, err);
}

/* ------------------------------------------------------------- content */

/* A growing buffer of COPY text, flushed to the server every megabyte. */
typedef struct copy_buf {
	char *p;
	size_t len, cap;
} copy_buf;

static int cb_put(copy_buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 1 << 20;
		while (ncap < b->len + n)
			ncap *= 2;
		char *q = realloc(b->p, ncap);
		if (!q)
			return VETO_ERR_NOMEM;
		b->p = q;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int cb_i64(copy_buf *b, int64_t v, char sep)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%lld%c", (long long)v, sep);
	return cb_put(b, tmp, (size_t)n);
}

/* COPY text format: \N is NULL; backslash, tab, newline, CR escaped. */
static int cb_text(copy_buf *b, const char *v, char sep)
{
	if (!v)
		return cb_put(b, "\\N", 2) || cb_put(b, &sep, 1) ? VETO_ERR_NOMEM : 0;
	const char *run = v;
	for (const char *q = v;; q++) {
		const char *esc = NULL;
		switch (*q) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: break;
		}
		if (esc || !*q) {
			if (cb_put(b, run, (size_t)(q - run)))
				return VETO_ERR_NOMEM;
			if (!*q)
				break;
			if (cb_put(b, esc, 2))
				return VETO_ERR_NOMEM;
			run = q + 1;
		}
	}
	return cb_put(b, &sep, 1);
}

static int copy_flush(pg_store *s, pg_conn *c, copy_buf *b, const char *what, veto_error *err)
{
	if (b->len && PQputCopyData(c->pc, b->p, (int)b->len) != 1)
		return vs_fail(err, VS_ERR_DB, "%s: %s: %s", W(s), what, PQerrorMessage(c->pc));
	b->len = 0;
	return 0;
}

struct add_args {
	int64_t bank_id;
	const vs_content *in;
	size_t n;
	int64_t first, last;
	int64_t now;
	copy_buf buf;
};

/* COPY one table: rows produced by emit(a, i, buf) for i < a->n. */
static int copy_table(pg_store *s, pg_conn *c, const char *sql, struct add_args *a,
                      int (*emit)(struct add_args *, size_t, copy_buf *), const char *what,
                      veto_error *err)
{
	PGresult *r = PQexec(c->pc, sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
		int rc = res_fail(s, c, r, what, err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	int rc = 0;
	a->buf.len = 0;
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		if (emit(a, i, &a->buf))
			rc = NOMEM(s);
		else if (a->buf.len >= (1u << 20))
			rc = copy_flush(s, c, &a->buf, what, err);
	}
	if (rc == 0)
		rc = copy_flush(s, c, &a->buf, what, err);
	/* end the COPY either way (an error message aborts it) */
	if (PQputCopyEnd(c->pc, rc ? "veto: aborted" : NULL) != 1 && rc == 0)
		rc = vs_fail(err, VS_ERR_DB, "%s: %s: %s", W(s), what, PQerrorMessage(c->pc));
	while ((r = PQgetResult(c->pc)) != NULL) {
		if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = res_fail(s, c, r, what, err);
		PQclear(r);
	}
	return rc;
}

static int emit_content(struct add_args *a, size_t i, copy_buf *b)
{
	const vs_content *in = &a->in[i];
	int64_t now = a->now;
	return cb_i64(b, a->first + (int64_t)i, '\t') || cb_i64(b, a->bank_id, '\t') ||
	       cb_i64(b, in->disable_until_ts, '\t') || cb_i64(b, in->status, '\t') ||
	       cb_text(b, in->note, '\t') || cb_text(b, in->metadata_json, '\t') ||
	       cb_text(b, in->source, '\t') || cb_text(b, in->case_ref, '\t') ||
	       cb_text(b, in->original_media_uri, '\t') || cb_i64(b, now, '\t') ||
	       cb_i64(b, now, '\t') || cb_i64(b, a->last + (int64_t)i, '\n');
}

static int emit_signals(struct add_args *a, size_t i, copy_buf *b)
{
	const vs_content *in = &a->in[i];
	for (size_t k = 0; k < in->nsignals; k++)
		if (cb_i64(b, a->first + (int64_t)i, '\t') || cb_text(b, in->signals[k].type, '\t') ||
		    cb_text(b, in->signals[k].value, '\n'))
			return VETO_ERR_NOMEM;
	return 0;
}

static int emit_change(struct add_args *a, size_t i, copy_buf *b)
{
	return cb_i64(b, a->last + (int64_t)i, '\t') || cb_i64(b, VS_CHANGE_CONTENT, '\t') ||
	       cb_i64(b, a->now, '\t') || cb_i64(b, a->bank_id, '\t') ||
	       cb_i64(b, a->first + (int64_t)i, '\n');
}

static int pg_add_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct add_args *a = arg;
	pg_params p = {0};
	p_i64(&p, a->bank_id);
	PGresult *r = NULL;
	int rc = run(s, c, SQL_NEXT_CONTENT, &p, &r, "drawing content ids", err);
	if (rc)
		return rc;
	int gone = PQgetisnull(r, 0, 0) || g_i64(r, 0, 0) != 0;
	int64_t id = g_i64(r, 0, 1), seq = g_i64(r, 0, 2);
	PQclear(r);
	if (gone)
		return vs_no_bank(&s->base, NULL, a->bank_id, err);
	int64_t now = (int64_t)time(NULL);
	a->first = id;
	if (a->n >= VS_PG_COPY_MIN) {
		/* a->last holds the first seq while copying */
		a->last = seq;
		a->now = now;
		if ((rc = copy_table(s, c,
		                     "COPY veto_content(id, bank_id, disable_until_ts, status, note,"
		                     " metadata_json, source, case_ref, original_media_uri, created,"
		                     " updated, seq) FROM STDIN",
		                     a, emit_content, "adding content", err)) ||
		    (rc = copy_table(s, c, "COPY veto_signals(content_id, type, value) FROM STDIN", a,
		                     emit_signals, "adding signals", err)) ||
		    (rc = copy_table(s, c,
		                     "COPY veto_changes(seq, kind, ts, bank_id, content_id) FROM STDIN",
		                     a, emit_change, "recording changes", err)))
			return rc;
		a->last = seq + (int64_t)a->n - 1;
		return 0;
	}
	for (size_t i = 0; i < a->n; i++, id++, seq++) {
		const vs_content *in = &a->in[i];
		pg_params q = {0};
		p_i64(&q, id);
		p_i64(&q, a->bank_id);
		p_content(&q, in);
		p_i64(&q, now);
		p_i64(&q, seq);
		if ((rc = run(s, c, SQL_CONTENT_INSERT, &q, NULL, "adding content", err)))
			return rc;
		for (size_t k = 0; k < in->nsignals; k++) {
			pg_params g = {0};
			p_i64(&g, id);
			p_str(&g, in->signals[k].type);
			p_str(&g, in->signals[k].value);
			if ((rc = run(s, c, SQL_SIGNAL_INSERT, &g, NULL, "adding a signal", err)))
				return rc;
		}
		if ((rc = add_change(s, c, seq, VS_CHANGE_CONTENT, now, a->bank_id, id, err)))
			return rc;
	}
	a->last = seq - 1;
	return 0;
}

static int pg_content_add_many(vs_store *vs, int64_t bank_id, const vs_content *in, size_t n,
                               int64_t *first_id, int64_t *last_seq, veto_error *err)
{
	struct add_args a = {.bank_id = bank_id, .in = in, .n = n};
	int rc = pg_write((pg_store *)vs, pg_add_fn, &a, err);
	free(a.buf.p);
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

static void content_undo(void *arg)
{
	struct content_args *a = arg;
	if (a->out)
		vs_content_clear(a->out);
}

static int pg_content_get_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct content_args *a = arg;
	return read_content(&s->base, c, a->id, a->out, err);
}

static int pg_content_get(vs_store *vs, int64_t id, vs_content *out, veto_error *err)
{
	struct content_args a = {.id = id, .out = out};
	return pg_read((pg_store *)vs, 1, pg_content_get_fn, &a, content_undo, err);
}

/* vs_ops.put_content: content state v (id v->id), erasing its signals if
 * it is deleted, and its change. */
static int write_content(vs_store *vs, void *conn, int64_t seq, int64_t now,
                         const vs_content *v, veto_error *err)
{
	pg_store *s = (pg_store *)vs;
	pg_conn *c = conn;
	int rc;
	pg_params p = {0};
	p_i64(&p, v->id);
	if (v->status == VS_DELETED &&
	    (rc = run(s, c, SQL_SIGNALS_DELETE, &p, NULL, "erasing signals", err)))
		return rc;
	p_content(&p, v);
	p_i64(&p, now);
	p_i64(&p, seq);
	if ((rc = run(s, c, SQL_CONTENT_UPDATE, &p, NULL, "updating content", err)))
		return rc;
	return add_change(s, c, seq, VS_CHANGE_CONTENT, now, v->bank_id, v->id, err);
}

struct list_args {
	int64_t bank_id, after;
	size_t limit;
	vs_content *v;
	size_t n;
};

static void list_undo(void *arg)
{
	struct list_args *a = arg;
	vs_contents_free(a->v, a->n);
	a->v = NULL;
	a->n = 0;
}

static int pg_content_list_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct list_args *a = arg;
	pg_params p = {0};
	p_i64(&p, a->bank_id);
	p_i64(&p, a->after);
	p_i64(&p, a->limit > INT64_MAX ? INT64_MAX : (int64_t)a->limit);
	int rc = read_contents(s, c, SQL_CONTENT_LIST, &p, &a->v, &a->n, err);
	if (rc || a->n == 0)
		return rc;
	return read_signals(s, c, SQL_CONTENT_LIST_SIGNALS, &p, a->v, a->n, err);
}

static int pg_content_list(vs_store *vs, int64_t bank_id, int64_t after_id, size_t limit,
                           vs_content **out, size_t *n, veto_error *err)
{
	struct list_args a = {.bank_id = bank_id, .after = after_id, .limit = limit};
	int rc = pg_read((pg_store *)vs, 1, pg_content_list_fn, &a, list_undo, err);
	if (rc) {
		list_undo(&a);
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

static int pg_signal_stats_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct stats_args *a = arg;
	pg_params p = {0};
	p_str(&p, a->type);
	PGresult *r = NULL;
	int rc = run(s, c, SQL_SIGNAL_STATS, &p, &r, "counting signals", err);
	if (rc)
		return rc;
	a->count = g_i64(r, 0, 0);
	a->newest = g_i64(r, 0, 1);
	PQclear(r);
	return 0;
}

static int pg_signal_stats(vs_store *vs, const char *type, int64_t *count, int64_t *newest,
                           veto_error *err)
{
	struct stats_args a = {.type = type};
	int rc = pg_read((pg_store *)vs, 0, pg_signal_stats_fn, &a, NULL, err);
	if (rc == 0) {
		*count = a.count;
		*newest = a.newest;
	}
	return rc;
}

/* ------------------------------------------------------------- changes */

/* Four statements per page in one snapshot: the change rows, then the
 * contents, signals and banks they name (by the page's seq range). */
static int pg_changes_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	vs_page *a = arg;
	int bank = a->bank_id > 0;
	pg_params p = {0};
	p_i64(&p, a->since);
	p_i64(&p, a->limit > INT64_MAX ? INT64_MAX : (int64_t)a->limit);
	if (bank)
		p_i64(&p, a->bank_id);
	int rc = read_rows(s, c, bank ? SQL_CHANGES_BANK : SQL_CHANGES, &p, &a->ch, &a->nch,
	                   sizeof *a->ch, vs_change_from_row, "reading changes", err);
	if (rc || a->nch == 0)
		return rc;

	pg_params q = {0};
	p_i64(&q, a->since);
	p_i64(&q, a->ch[a->nch - 1].seq);
	if (bank)
		p_i64(&q, a->bank_id);
	if ((rc = read_contents(s, c, bank ? SQL_CHANGES_CONTENT_BANK : SQL_CHANGES_CONTENT, &q,
	                        &a->v, &a->n, err)))
		return rc;
	if (a->n && (rc = read_signals(s, c, bank ? SQL_CHANGES_SIGNALS_BANK : SQL_CHANGES_SIGNALS,
	                               &q, a->v, a->n, err)))
		return rc;
	pg_params b = {0};
	p_i64(&b, a->bank_id);
	return read_banks(s, c, bank ? SQL_CHANGES_BANKS_BANK : SQL_CHANGES_BANKS, bank ? &b : &q,
	                  &a->banks, &a->nbanks, err);
}

static void page_undo(void *arg)
{
	vs_page *p = arg;
	vs_page q = {.since = p->since, .bank_id = p->bank_id, .limit = p->limit};
	vs_page_clear(p);
	*p = q;
}

static int pg_changes_since(vs_store *vs, vs_page *p, veto_error *err)
{
	return pg_read((pg_store *)vs, 1, pg_changes_fn, p, page_undo, err);
}

static int pg_max_seq_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	return run_int(s, c, SQL_MAX_SEQ, NULL, (int64_t *)arg, NULL, "reading the last seq", err);
}

static int pg_max_seq(vs_store *vs, int64_t *seq, veto_error *err)
{
	return pg_read((pg_store *)vs, 0, pg_max_seq_fn, seq, NULL, err);
}

/* ---------------------------------------------------------------- keys */

struct key_args {
	const vs_key *k;
	const char *key_id;
	vs_key *v;
	size_t n;
};

static int pg_key_create_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct key_args *a = arg;
	const vs_key *k = a->k;
	pg_params p = {0};
	p_str(&p, k->key_id);
	int64_t one = 0;
	int found = 0;
	int rc = run_int(s, c, SQL_KEY_EXISTS, &p, &one, &found, "looking up a key", err);
	if (rc)
		return rc;
	if (found)
		return vs_fail(err, VS_ERR_CONFLICT, "%s: key %.64s already exists", W(s), k->key_id);
	char hex[2 * sizeof k->secret_hash + 1];
	vs_hex_encode(k->secret_hash, sizeof k->secret_hash, hex);
	p_str(&p, hex);
	p_str(&p, k->role);
	p_str(&p, k->banks);
	p_dbl(&p, k->rate);
	p_str(&p, k->name);
	p_i64(&p, k->created > 0 ? k->created : (int64_t)time(NULL));
	p_i64(&p, k->revoked);
	rc = run(s, c, SQL_KEY_INSERT, &p, NULL, "creating a key", err);
	if (rc == VS_ERR_CONFLICT)
		return vs_fail(err, VS_ERR_CONFLICT, "%s: key %.64s already exists", W(s), k->key_id);
	return rc;
}

static int pg_key_create(vs_store *vs, const vs_key *k, veto_error *err)
{
	struct key_args a = {.k = k};
	return pg_write((pg_store *)vs, pg_key_create_fn, &a, err);
}

static void key_undo(void *arg)
{
	struct key_args *a = arg;
	vs_keys_free(a->v, a->n);
	a->v = NULL;
	a->n = 0;
}

/* A key row: the secret hash comes as hex (KEY_COLS encodes it). */
static int key_row(const vs_row *r, void *dst)
{
	vs_key *k = dst;
	if (vs_key_from_row(r, k))
		return VETO_ERR_NOMEM;
	vs_hex_decode(PQgetvalue(r->res, r->row, 1), k->secret_hash, sizeof k->secret_hash);
	return 0;
}

static int pg_key_list_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct key_args *a = arg;
	return read_rows(s, c, SQL_KEY_LIST, NULL, &a->v, &a->n, sizeof *a->v, key_row,
	                 "reading keys", err);
}

static int pg_key_list(vs_store *vs, vs_key **out, size_t *n, veto_error *err)
{
	struct key_args a = {0};
	int rc = pg_read((pg_store *)vs, 0, pg_key_list_fn, &a, key_undo, err);
	if (rc) {
		key_undo(&a);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static int pg_key_revoke_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct key_args *a = arg;
	pg_params p = {0};
	p_str(&p, a->key_id);
	int64_t one = 0;
	int found = 0;
	int rc = run_int(s, c, SQL_KEY_EXISTS, &p, &one, &found, "looking up a key", err);
	if (rc)
		return rc;
	if (!found)
		return vs_fail(err, VS_ERR_NOTFOUND, "%s: no key %.64s", W(s), a->key_id);
	p_i64(&p, (int64_t)time(NULL));
	return run(s, c, SQL_KEY_REVOKE, &p, NULL, "revoking a key", err);
}

static int pg_key_revoke(vs_store *vs, const char *key_id, veto_error *err)
{
	struct key_args a = {.key_id = key_id};
	return pg_write((pg_store *)vs, pg_key_revoke_fn, &a, err);
}

/* ------------------------------------------------------------ settings */

struct setting_args {
	const char *key, *value;
	char *out;
};

static void setting_undo(void *arg)
{
	struct setting_args *a = arg;
	free(a->out);
	a->out = NULL;
}

static int pg_setting_get_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct setting_args *a = arg;
	pg_params p = {0};
	p_str(&p, a->key);
	PGresult *r = NULL;
	int rc = run(s, c, SQL_SETTING_GET, &p, &r, "reading a setting", err);
	if (rc)
		return rc;
	if (PQntuples(r) == 0)
		rc = vs_fail(err, VS_ERR_NOTFOUND, "%s: setting %.128s is not set", W(s), a->key);
	else if (g_str(r, 0, 0, 1, &a->out))
		rc = NOMEM(s);
	PQclear(r);
	return rc;
}

static int pg_setting_get(vs_store *vs, const char *key, char **value, veto_error *err)
{
	struct setting_args a = {.key = key};
	int rc = pg_read((pg_store *)vs, 0, pg_setting_get_fn, &a, setting_undo, err);
	if (rc) {
		free(a.out);
		return rc;
	}
	*value = a.out;
	return 0;
}

static int pg_setting_set_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	struct setting_args *a = arg;
	pg_params p = {0};
	p_str(&p, a->key);
	p_str(&p, a->value);
	return run(s, c, SQL_SETTING_SET, &p, NULL, "writing a setting", err);
}

static int pg_setting_set(vs_store *vs, const char *key, const char *value, veto_error *err)
{
	struct setting_args a = {.key = key, .value = value};
	return pg_write((pg_store *)vs, pg_setting_set_fn, &a, err);
}

/* --------------------------------------------------------------- check */

/* The schema version (0 if there is no veto_schema) and whether other
 * veto_ tables exist. */
static int inspect(pg_store *s, pg_conn *c, int64_t *version, int *stray, veto_error *err)
{
	*version = 0;
	*stray = 0;
	PGresult *r = NULL;
	int rc = run(s, c,
	             "SELECT c.relname FROM pg_catalog.pg_class c"
	             " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
	             " AND c.relname LIKE 'veto\\_%'",
	             NULL, &r, "reading the schema", err);
	if (rc)
		return rc;
	int has = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		if (!strcmp(PQgetvalue(r, i, 0), "veto_schema"))
			has = 1;
		else
			*stray = 1;
	}
	PQclear(r);
	if (!has)
		return 0;
	if ((rc = run(s, c, "SELECT version FROM veto_schema", NULL, &r, "reading the schema version",
	              err)))
		return rc;
	int rows = PQntuples(r);
	*version = rows == 1 ? g_i64(r, 0, 0) : -1;
	PQclear(r);
	if (rows != 1)
		return vs_fail(err, VETO_ERR_CORRUPT, "%s: damaged: veto_schema holds %d rows", W(s),
		               rows);
	if (*version <= 0)
		*version = -1;
	return 0;
}

static int check_version(pg_store *s, int64_t v, int stray, int readonly, veto_error *err)
{
	if (v == 0 && stray)
		return vs_fail(err, VETO_ERR_FORMAT,
		               "%s: not a veto database: it has veto_ tables but no veto_schema", W(s));
	return vs_check_version(&s->base, v, readonly, err);
}

/* One count for vs_check_consistency. */
static int pg_count(vs_store *vs, void *conn, const char *sql, int64_t *n, veto_error *err)
{
	return run_int((pg_store *)vs, conn, sql, NULL, n, NULL, "checking consistency", err);
}

static int pg_check_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	(void)arg;
	int64_t v = 0;
	int stray = 0;
	int rc = inspect(s, c, &v, &stray, err);
	if (rc)
		return rc;
	return vs_check_consistency(&s->base, c, v, pg_count, err);
}

static int pg_check(vs_store *vs, veto_error *err)
{
	return pg_read((pg_store *)vs, 1, pg_check_fn, NULL, NULL, err);
}

/* ---------------------------------------------------------- open/close */

static void pg_close(vs_store *vs)
{
	pg_store *s = (pg_store *)vs;
	if (!s)
		return;
	pg_conn *c = s->idle;
	while (c) {
		pg_conn *next = c->next;
		PQfinish(c->pc);
		free(c);
		c = next;
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->conninfo);
	free(s);
}

static const vs_ops pg_ops = {
	.name = "postgres",
	.close = pg_close,
	.check = pg_check,
	.bank_list = pg_bank_list,
	.bank_get = pg_bank_get,
	.bank_create = pg_bank_create,
	.content_add_many = pg_content_add_many,
	.content_get = pg_content_get,
	.content_list = pg_content_list,
	.signal_stats = pg_signal_stats,
	.changes_since = pg_changes_since,
	.max_seq = pg_max_seq,
	.key_create = pg_key_create,
	.key_list = pg_key_list,
	.key_revoke = pg_key_revoke,
	.setting_get = pg_setting_get,
	.setting_set = pg_setting_set,
	.write = pg_shared_write,
	.next_seq = next_seq,
	.get_bank = get_bank,
	.put_bank = write_bank,
	.erase_bank = erase_bank,
	.get_content = read_content,
	.put_content = write_content,
};

/* "postgres USER@HOST:PORT/DBNAME" (no password) into s->base.where. */
static int describe(pg_store *s, const char *conninfo, veto_error *err)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
	if (!opts) {
		/* libpq quotes the offending part, which could be a password:
		 * keep the message, drop what is quoted */
		char msg[256] = "";
		if (perr) {
			size_t j = 0;
			int quoted = 0;
			for (const char *p = perr; *p && j + 4 < sizeof msg; p++) {
				if (*p == '"') {
					if (!quoted) {
						memcpy(msg + j, "\"...", 4);
						j += 4;
					} else {
						msg[j++] = '"';
					}
					quoted = !quoted;
				} else if (!quoted) {
					msg[j++] = *p;
				}
			}
			msg[j] = '\0';
		}
		PQfreemem(perr);
		return vs_fail(err, VETO_ERR_INVALID, "postgres: cannot parse the connection string: %s",
		               perr ? msg : "out of memory");
	}
	const char *user = NULL, *host = NULL, *hostaddr = NULL, *port = NULL, *db = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "user"))
			user = o->val;
		else if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "hostaddr"))
			hostaddr = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
	}
	if (!host)
		host = hostaddr ? hostaddr : "localhost";
	snprintf(s->base.where, sizeof s->base.where, "postgres %s%s%s%s%s/%s", user ? user : "",
	         user ? "@" : "", host, port ? ":" : "", port ? port : "",
	         db ? db : (user ? user : ""));
	PQconninfoFree(opts);
	return 0;
}

static int migrate_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	(void)arg;
	int64_t v = 0;
	int stray = 0;
	/* again under the lock: another process may have migrated meanwhile */
	int rc = inspect(s, c, &v, &stray, err);
	if (rc || (rc = check_version(s, v, stray, 0, err)))
		return rc;
	for (int64_t step = v + 1; step <= VS_SCHEMA_VERSION; step++) {
		if ((rc = run_script(s, c, pg_steps[step - 1], "creating the schema", err)))
			return rc;
		pg_params p = {0};
		p_i64(&p, step);
		if ((rc = run(s, c, "UPDATE veto_schema SET version = $1", &p, NULL,
		              "recording the schema version", err)))
			return rc;
	}
	return 0;
}

static int open_fn(pg_store *s, pg_conn *c, void *arg, veto_error *err)
{
	int64_t *v = arg;
	int stray = 0;
	int rc = inspect(s, c, v, &stray, err);
	if (rc)
		return rc;
	PGresult *r = NULL;
	if ((rc = run(s, c, "SELECT current_schema()", NULL, &r, "reading the schema", err)))
		return rc;
	int none = PQntuples(r) != 1 || PQgetisnull(r, 0, 0);
	PQclear(r);
	if (none)
		return vs_fail(err, VS_ERR_DB,
		               "%s: no schema to hold veto's tables (search_path names none that exists)",
		               W(s));
	return check_version(s, *v, stray, s->base.readonly, err);
}

int vs_pg_open(vs_store **out, const char *conninfo, int readonly, veto_error *err)
{
	*out = NULL;
	pg_store *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(err, VETO_ERR_NOMEM, "postgres: out of memory");
	s->base.ops = &pg_ops;
	s->base.readonly = readonly;
	int rc = describe(s, conninfo, err);
	if (rc) {
		free(s);
		return rc;
	}
	if (!(s->conninfo = strdup(conninfo))) {
		free(s);
		return vs_fail(err, VETO_ERR_NOMEM, "postgres: out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	int64_t v = 0;
	rc = pg_read(s, 1, open_fn, &v, NULL, err);
	if (rc == 0 && v < VS_SCHEMA_VERSION && !readonly)
		rc = pg_write(s, migrate_fn, NULL, err);
	if (rc) {
		pg_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}
