/*
 * test_store.c - server/store.h against a real database.
 *
 *   test_store sqlite            a fresh SQLite file in a private temp dir
 *   test_store postgres          a fresh database in the server named by
 *                                $VETO_TEST_PG_URL (tests/with_pg.sh starts
 *                                a throwaway one); fails loudly if unset
 *   test_store BACKEND --bench N load N single-PDQ contents with
 *                                vs_content_add_many (batches of 100k),
 *                                print the rate, reopen and time vs_open
 *
 * The same scenario runs on both backends: bank CRUD with conflicts and
 * not-found cases; content add/get/update/delete (tombstones erase
 * signals, note, metadata); content ids global across banks from 1; a
 * 100k vs_content_add_many; listing and change paging (bank filter,
 * limits, entities in their current state); bank deletion cascading
 * tombstones; keys; settings; text with tabs, newlines, backslashes and
 * UTF-8 surviving both write paths; 4 threads adding 500 contents each
 * while a follower reads the change sequence (it must see every seq, in
 * order, no gaps); reopening; read-only mode. Then what only one backend
 * has: file modes, damaged, foreign, truncated and newer-schema SQLite
 * files; PostgreSQL databases of other programs, broken connections,
 * passwords kept out of messages.
 */
#include "check.h"
#include "store.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int is_pg;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A PDQ-shaped value for item i (64 lowercase hex digits). */
static void pdq_of(uint64_t i, char out[65])
{
	uint64_t x = i * 0x9E3779B97F4A7C15ull + 0x1234567;
	for (int k = 0; k < 4; k++) {
		x ^= x >> 31;
		x *= 0xBF58476D1CE4E5B9ull;
		snprintf(out + 16 * k, 17, "%016llx", (unsigned long long)x);
	}
}

static vs_store *open_ok(const char *url, int ro)
{
	vs_store *s = NULL;
	veto_error err = {0};
	int rc = vs_open(&s, url, ro, &err);
	REQUIRE(rc == 0 && s, "vs_open(%s): %d %s", url, rc, err.message);
	return s;
}

/* ----------------------------------------------------- raw db access */

/* Runs SQL outside the store (white-box steps). */
static void raw_sqlite(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	REQUIRE(sqlite3_open(path, &db) == SQLITE_OK, "sqlite3_open %s", path);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	REQUIRE(rc == SQLITE_OK, "%s: %s: %s", path, sql, msg ? msg : "?");
	sqlite3_close(db);
}

static void raw_pg(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	REQUIRE(PQstatus(c) == CONNECTION_OK, "connect %s: %s", conninfo, PQerrorMessage(c));
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	REQUIRE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* ------------------------------------------------ PostgreSQL databases */

static const char *pg_base_url;
static char pg_dbs[16][64];
static int pg_ndbs;

static void append_kv(char *out, size_t size, const char *k, const char *v)
{
	size_t len = strlen(out);
	len += (size_t)snprintf(out + len, size - len, "%s%s='", len ? " " : "", k);
	for (const char *p = v; *p && len + 3 < size; p++) {
		if (*p == '\'' || *p == '\\')
			out[len++] = '\\';
		out[len++] = *p;
	}
	out[len] = '\0';
	snprintf(out + len, size - len, "'");
}

/* A new empty database on the test server; its keyword=value conninfo. */
static void pg_new_db(char *conninfo, size_t size)
{
	REQUIRE(pg_ndbs < 16, "too many databases");
	char *name = pg_dbs[pg_ndbs++];
	snprintf(name, 64, "veto_t_%ld_%d", (long)getpid(), pg_ndbs);
	char sql[128];
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	raw_pg(pg_base_url, sql);
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(pg_base_url, &perr);
	REQUIRE(opts, "cannot parse %s: %s", pg_base_url, perr ? perr : "?");
	conninfo[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && *o->val && strcmp(o->keyword, "dbname") != 0)
			append_kv(conninfo, size, o->keyword, o->val);
	append_kv(conninfo, size, "dbname", name);
	PQconninfoFree(opts);
}

static void pg_drop_dbs(void)
{
	for (int i = 0; i < pg_ndbs; i++) {
		char sql[1200];
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbs[i]);
		raw_pg(pg_base_url, sql);
	}
	pg_ndbs = 0;
}

/* ------------------------------------------------------------- pieces */

static void test_names(void)
{
	CHECK_STR(vs_status_name(VS_ACTIVE), "active", "-");
	CHECK_STR(vs_status_name(VS_WITHDRAWN), "withdrawn", "-");
	CHECK_STR(vs_status_name(VS_DELETED), "deleted", "-");
	CHECK_INT(vs_status_parse("active"), VS_ACTIVE, "-");
	CHECK_INT(vs_status_parse("withdrawn"), VS_WITHDRAWN, "-");
	CHECK_INT(vs_status_parse("deleted"), VS_DELETED, "-");
	CHECK_INT(vs_status_parse("Active "), -1, "-");
	CHECK_INT(vs_status_parse(NULL), -1, "-");

	/* free functions take NULL and zeroed structs */
	vs_bank b = {0};
	vs_content c = {0};
	vs_key k = {0};
	vs_bank_clear(NULL);
	vs_bank_clear(&b);
	vs_banks_free(NULL, 3);
	vs_content_clear(NULL);
	vs_content_clear(&c);
	vs_contents_free(NULL, 2);
	vs_changes_free(NULL, 5);
	vs_key_clear(NULL);
	vs_key_clear(&k);
	vs_keys_free(NULL, 1);
	vs_close(NULL);

	vs_store *s = (vs_store *)1;
	veto_error err = {0};
	CHECK_INT(vs_open(&s, "ftp://example.org/x", 0, &err), VETO_ERR_INVALID, "%s", err.message);
	CHECK(s == NULL, "output cleared on error");
	CHECK_INT(vs_open(&s, "", 0, &err), VETO_ERR_INVALID, "%s", err.message);
	CHECK_INT(vs_open(&s, NULL, 0, &err), VETO_ERR_INVALID, "%s", err.message);
	CHECK_INT(vs_open(&s, "postgres:nodb", 0, &err), VETO_ERR_INVALID, "%s", err.message);
	CHECK_INT(vs_open(&s, "sqlite:", 0, &err), VETO_ERR_INVALID, "%s", err.message);
}

static void fill_content(vs_content *c, vs_signal *sig, const char *pdq)
{
	memset(c, 0, sizeof *c);
	sig->type = (char *)"pdq";
	sig->value = (char *)pdq;
	c->signals = sig;
	c->nsignals = 1;
	c->disable_until_ts = 1;
	c->status = VS_ACTIVE;
}

/* The scenario's expectations are exact: ids and seqs are dense. */
static void test_scenario(vs_store *s)
{
	veto_error err = {0};
	int64_t seq = -1;
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "%s", err.message);
	CHECK_INT(seq, 0, "empty store");
	vs_bank *banks = NULL;
	size_t nb = 9;
	CHECK_INT(vs_bank_list(s, &banks, &nb, &err), 0, "%s", err.message);
	CHECK_INT(nb, 0, "no banks yet");
	vs_banks_free(banks, nb);

	/* --- banks */
	vs_bank b = {0};
	CHECK_INT(vs_bank_create(s, "ALPHA", 1.0, &b, &err), 0, "%s", err.message);
	CHECK_INT(b.id, 1, "first bank id");
	CHECK_STR(b.name, "ALPHA", "-");
	CHECK(b.enabled_ratio == 1.0, "ratio %g", b.enabled_ratio);
	CHECK(b.created > 1600000000 && b.updated == b.created, "created %lld", (long long)b.created);
	CHECK_INT(b.deleted, 0, "-");
	vs_bank_clear(&b);
	CHECK_INT(vs_bank_create(s, "BETA", 0.5, NULL, &err), 0, "%s", err.message);
	CHECK_INT(vs_bank_create(s, "ALPHA", 0.5, &b, &err), VS_ERR_CONFLICT, "%s", err.message);
	CHECK(strstr(err.message, "ALPHA") != NULL, "message names the bank: %s", err.message);
	CHECK(b.name == NULL, "output stays empty on error");
	CHECK_INT(vs_bank_create(s, "BAD", 1.5, NULL, &err), VETO_ERR_INVALID, "%s", err.message);
	CHECK_INT(vs_bank_create(s, "", 1.0, NULL, &err), VETO_ERR_INVALID, "%s", err.message);

	CHECK_INT(vs_bank_get(s, "ALPHA", &b, &err), 0, "%s", err.message);
	CHECK_INT(b.id, 1, "-");
	vs_bank_clear(&b);
	CHECK_INT(vs_bank_get_by_id(s, 2, &b, &err), 0, "%s", err.message);
	CHECK_STR(b.name, "BETA", "-");
	CHECK(b.enabled_ratio == 0.5, "ratio %g", b.enabled_ratio);
	vs_bank_clear(&b);
	CHECK_INT(vs_bank_get(s, "NOPE", &b, &err), VS_ERR_NOTFOUND, "%s", err.message);
	CHECK_INT(vs_bank_get_by_id(s, 99, &b, &err), VS_ERR_NOTFOUND, "%s", err.message);

	CHECK_INT(vs_bank_update(s, "BETA", "GAMMA", -1, &b, &err), 0, "%s", err.message);
	CHECK_INT(b.id, 2, "rename keeps the id");
	CHECK_STR(b.name, "GAMMA", "-");
	CHECK(b.enabled_ratio == 0.5, "ratio kept: %g", b.enabled_ratio);
	vs_bank_clear(&b);
	CHECK_INT(vs_bank_update(s, "GAMMA", "ALPHA", -1, &b, &err), VS_ERR_CONFLICT, "%s",
	          err.message);
	CHECK_INT(vs_bank_update(s, "NOPE", NULL, 0.1, NULL, &err), VS_ERR_NOTFOUND, "%s",
	          err.message);
	CHECK_INT(vs_bank_update(s, "GAMMA", NULL, 0.25, &b, &err), 0, "%s", err.message);
	CHECK_STR(b.name, "GAMMA", "name kept");
	CHECK(b.enabled_ratio == 0.25, "ratio %g", b.enabled_ratio);
	vs_bank_clear(&b);
	CHECK_INT(vs_bank_get(s, "BETA", &b, &err), VS_ERR_NOTFOUND, "old name gone");
	CHECK_INT(vs_bank_list(s, &banks, &nb, &err), 0, "%s", err.message);
	CHECK_INT(nb, 2, "-");
	if (nb == 2) {
		CHECK_STR(banks[0].name, "ALPHA", "by id");
		CHECK_STR(banks[1].name, "GAMMA", "by id");
	}
	vs_banks_free(banks, nb);
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "%s", err.message);
	CHECK_INT(seq, 4, "two creates, two updates");

	/* --- content */
	char h1[65], h2[65];
	pdq_of(1, h1);
	pdq_of(2, h2);
	vs_signal sg1[1] = {{(char *)"pdq", h1}};
	vs_content c1 = {0};
	c1.signals = sg1;
	c1.nsignals = 1;
	c1.disable_until_ts = 1;
	c1.status = VS_ACTIVE;
	c1.note = (char *)"n1";
	c1.metadata_json = (char *)"{\"a\":1}";
	c1.source = (char *)"src";
	c1.case_ref = (char *)"case-1";
	c1.original_media_uri = (char *)"https://example.org/1.jpg";
	int64_t id = 0;
	CHECK_INT(vs_content_add(s, 1, &c1, &id, &seq, &err), 0, "%s", err.message);
	CHECK_INT(id, 1, "HMA: the first content is id 1");
	CHECK_INT(seq, 5, "-");
	vs_signal sg2[2] = {{(char *)"video_md5", (char *)"0123456789abcdef0123456789abcdef"},
	                    {(char *)"pdq", h2}};
	vs_content c2 = {0};
	c2.signals = sg2;
	c2.nsignals = 2;
	c2.disable_until_ts = 0;
	c2.note = (char *)"n2";
	c2.metadata_json = (char *)"{}";
	c2.source = (char *)"importer";
	c2.original_media_uri = (char *)"https://example.org/2.mp4";
	CHECK_INT(vs_content_add(s, 2, &c2, &id, NULL, &err), 0, "%s", err.message);
	CHECK_INT(id, 2, "content ids are global across banks");
	CHECK_INT(vs_content_add(s, 99, &c2, &id, &seq, &err), VS_ERR_NOTFOUND, "%s", err.message);
	CHECK_INT(id, 0, "no id on error");
	vs_content bad = c2;
	bad.status = VS_DELETED;
	CHECK_INT(vs_content_add(s, 2, &bad, &id, &seq, &err), VETO_ERR_INVALID, "%s", err.message);

	vs_content g = {0};
	CHECK_INT(vs_content_get(s, 1, &g, &err), 0, "%s", err.message);
	CHECK_INT(g.id, 1, "-");
	CHECK_INT(g.bank_id, 1, "-");
	CHECK_STR(g.bank_name, "ALPHA", "-");
	CHECK(g.bank_ratio == 1.0, "%g", g.bank_ratio);
	CHECK_INT(g.disable_until_ts, 1, "-");
	CHECK_INT(g.status, VS_ACTIVE, "-");
	CHECK_STR(g.note, "n1", "-");
	CHECK_STR(g.metadata_json, "{\"a\":1}", "-");
	CHECK_STR(g.source, "src", "-");
	CHECK_STR(g.case_ref, "case-1", "-");
	CHECK_STR(g.original_media_uri, "https://example.org/1.jpg", "-");
	CHECK_INT(g.seq, 5, "-");
	CHECK(g.created > 1600000000 && g.updated == g.created, "-");
	CHECK_INT(g.nsignals, 1, "-");
	if (g.nsignals == 1) {
		CHECK_STR(g.signals[0].type, "pdq", "-");
		CHECK_STR(g.signals[0].value, h1, "-");
	}
	vs_content_clear(&g);
	CHECK_INT(vs_content_get(s, 2, &g, &err), 0, "%s", err.message);
	CHECK(g.case_ref == NULL, "NULL stays NULL");
	CHECK_STR(g.bank_name, "GAMMA", "-");
	CHECK(g.bank_ratio == 0.25, "%g", g.bank_ratio);
	CHECK_INT(g.disable_until_ts, 0, "-");
	CHECK_INT(g.nsignals, 2, "-");
	if (g.nsignals == 2) {
		CHECK_STR(g.signals[0].type, "pdq", "signals ordered by type");
		CHECK_STR(g.signals[1].type, "video_md5", "-");
		CHECK_STR(g.signals[1].value, "0123456789abcdef0123456789abcdef", "-");
	}
	vs_content_clear(&g);
	CHECK_INT(vs_content_get(s, 3, &g, &err), VS_ERR_NOTFOUND, "%s", err.message);
	CHECK_INT(vs_content_get(s, 0, &g, &err), VS_ERR_NOTFOUND, "%s", err.message);

	vs_content up = {0};
	up.note = (char *)"n1b";
	up.metadata_json = NULL;
	up.disable_until_ts = 0;
	up.source = (char *)"ignored: not in what";
	CHECK_INT(vs_content_update(s, 1, 1, VS_SET_NOTE | VS_SET_METADATA | VS_SET_DISABLE_UNTIL,
	                            &up, &g, &seq, &err),
	          0, "%s", err.message);
	CHECK_INT(seq, 7, "-");
	CHECK_STR(g.note, "n1b", "-");
	CHECK(g.metadata_json == NULL, "metadata cleared");
	CHECK_INT(g.disable_until_ts, 0, "-");
	CHECK_STR(g.source, "src", "source untouched");
	CHECK_INT(g.seq, 7, "-");
	CHECK_INT(g.nsignals, 1, "signals untouched");
	vs_content_clear(&g);
	CHECK_INT(vs_content_update(s, 2, 1, VS_SET_NOTE, &up, &g, &seq, &err), VS_ERR_NOTFOUND,
	          "wrong bank: %s", err.message);
	up.status = VS_WITHDRAWN;
	up.case_ref = (char *)"case-1b";
	CHECK_INT(vs_content_update(s, 1, 1, VS_SET_STATUS | VS_SET_CASE_REF, &up, NULL, &seq, &err),
	          0, "%s", err.message);
	CHECK_INT(seq, 8, "-");
	up.status = 7;
	CHECK_INT(vs_content_update(s, 1, 1, VS_SET_STATUS, &up, NULL, NULL, &err), VETO_ERR_INVALID,
	          "%s", err.message);

	int deleted = -1;
	CHECK_INT(vs_content_delete(s, 1, 2, &deleted, &seq, &err), 0, "%s", err.message);
	CHECK_INT(deleted, 0, "content 2 is not in bank 1");
	CHECK_INT(vs_content_delete(s, 2, 2, &deleted, &seq, &err), 0, "%s", err.message);
	CHECK_INT(deleted, 1, "-");
	CHECK_INT(seq, 9, "-");
	CHECK_INT(vs_content_get(s, 2, &g, &err), 0, "the tombstone stays: %s", err.message);
	CHECK_INT(g.status, VS_DELETED, "-");
	CHECK_INT(g.nsignals, 0, "signals erased");
	CHECK(g.signals == NULL, "-");
	CHECK(g.note == NULL && g.metadata_json == NULL && g.original_media_uri == NULL,
	      "note, metadata, media uri erased");
	CHECK_STR(g.source, "importer", "provenance kept");
	CHECK_INT(g.seq, 9, "-");
	vs_content_clear(&g);
	CHECK_INT(vs_content_delete(s, 2, 2, &deleted, &seq, &err), 0, "%s", err.message);
	CHECK_INT(deleted, 0, "already deleted");
	CHECK_INT(seq, 0, "-");
	CHECK_INT(vs_content_update(s, 2, 2, VS_SET_NOTE, &up, NULL, NULL, &err), VS_ERR_NOTFOUND,
	          "deleted content cannot be updated: %s", err.message);

	/* deleting by update erases too */
	vs_content c3 = c1;
	CHECK_INT(vs_content_add(s, 1, &c3, &id, &seq, &err), 0, "%s", err.message);
	CHECK_INT(id, 3, "-");
	CHECK_INT(seq, 10, "-");
	up.status = VS_DELETED;
	CHECK_INT(vs_content_update(s, 1, 3, VS_SET_STATUS, &up, &g, &seq, &err), 0, "%s",
	          err.message);
	CHECK_INT(g.status, VS_DELETED, "-");
	CHECK_INT(g.nsignals, 0, "-");
	CHECK(g.note == NULL && g.metadata_json == NULL, "-");
	CHECK_INT(seq, 11, "-");
	vs_content_clear(&g);

	/* --- changes: current state, filters, paging */
	vs_change *ch = NULL;
	size_t nch = 0;
	CHECK_INT(vs_changes_since(s, 0, 0, 1000, &ch, &nch, &err), 0, "%s", err.message);
	CHECK_INT(nch, 11, "-");
	for (size_t i = 0; i < nch; i++)
		CHECK_INT(ch[i].seq, (int64_t)i + 1, "dense, ascending");
	if (nch == 11) {
		CHECK_INT(ch[0].kind, VS_CHANGE_BANK, "-");
		CHECK_INT(ch[0].bank.id, 1, "-");
		CHECK_STR(ch[0].bank.name, "ALPHA", "-");
		CHECK_INT(ch[1].kind, VS_CHANGE_BANK, "-");
		CHECK_STR(ch[1].bank.name, "GAMMA", "the bank as it is now");
		CHECK(ch[1].bank.enabled_ratio == 0.25, "-");
		CHECK_INT(ch[1].content_id, 0, "-");
		CHECK_INT(ch[4].kind, VS_CHANGE_CONTENT, "-");
		CHECK_INT(ch[4].content_id, 1, "-");
		CHECK_INT(ch[4].bank_id, 1, "-");
		CHECK_INT(ch[4].content.id, 1, "-");
		CHECK_INT(ch[4].content.status, VS_WITHDRAWN, "current state, not the add's");
		CHECK_STR(ch[4].content.note, "n1b", "-");
		CHECK_STR(ch[4].content.case_ref, "case-1b", "-");
		CHECK_INT(ch[4].content.nsignals, 1, "-");
		CHECK_INT(ch[4].content.seq, 8, "-");
		CHECK(ch[4].ts > 1600000000, "-");
		CHECK_INT(ch[5].content_id, 2, "-");
		CHECK_INT(ch[5].content.status, VS_DELETED, "-");
		CHECK_INT(ch[5].content.nsignals, 0, "-");
		CHECK_INT(ch[8].content_id, 2, "-");
		CHECK_INT(ch[10].content_id, 3, "-");
	}
	vs_changes_free(ch, nch);
	CHECK_INT(vs_changes_since(s, 0, 2, 1000, &ch, &nch, &err), 0, "%s", err.message);
	int64_t want2[] = {2, 3, 4, 6, 9};
	CHECK_INT(nch, 5, "bank 2's changes");
	for (size_t i = 0; i < nch && i < 5; i++) {
		CHECK_INT(ch[i].seq, want2[i], "-");
		CHECK_INT(ch[i].bank_id, 2, "-");
	}
	vs_changes_free(ch, nch);
	CHECK_INT(vs_changes_since(s, 3, 2, 2, &ch, &nch, &err), 0, "%s", err.message);
	CHECK_INT(nch, 2, "limit");
	if (nch == 2) {
		CHECK_INT(ch[0].seq, 4, "-");
		CHECK_INT(ch[1].seq, 6, "-");
		CHECK_INT(ch[1].content.id, 2, "-");
		CHECK_INT(ch[0].bank.id, 2, "-");
		CHECK_STR(ch[0].bank.name, "GAMMA", "-");
	}
	vs_changes_free(ch, nch);
	int64_t since = 0, pages = 0, total = 0;
	for (;;) {
		CHECK_INT(vs_changes_since(s, since, 0, 4, &ch, &nch, &err), 0, "%s", err.message);
		if (nch == 0)
			break;
		CHECK(nch <= 4, "-");
		for (size_t i = 0; i < nch; i++)
			CHECK_INT(ch[i].seq, since + (int64_t)i + 1, "paging continues where it stopped");
		since = ch[nch - 1].seq;
		total += (int64_t)nch;
		pages++;
		vs_changes_free(ch, nch);
		if (pages > 10)
			break;
	}
	CHECK_INT(total, 11, "-");
	CHECK_INT(pages, 3, "4 + 4 + 3");
	CHECK_INT(vs_changes_since(s, 11, 0, 0, &ch, &nch, &err), 0, "-");
	CHECK_INT(nch, 0, "limit 0");
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "%s", err.message);
	CHECK_INT(seq, 11, "-");

	/* --- keys */
	vs_key k1 = {0};
	k1.key_id = (char *)"k1";
	for (int i = 0; i < 32; i++)
		k1.secret_hash[i] = (uint8_t)(i * 7 + 1);
	k1.role = (char *)"admin";
	k1.name = (char *)"ops team";
	CHECK_INT(vs_key_create(s, &k1, &err), 0, "%s", err.message);
	vs_key k2 = {0};
	k2.key_id = (char *)"k2";
	k2.secret_hash[31] = 0xff;
	k2.role = (char *)"matcher";
	k2.banks = (char *)"ALPHA,GAMMA";
	k2.rate = 5.5;
	k2.created = 1700000000;
	CHECK_INT(vs_key_create(s, &k2, &err), 0, "%s", err.message);
	CHECK_INT(vs_key_create(s, &k1, &err), VS_ERR_CONFLICT, "%s", err.message);
	vs_key *keys = NULL;
	size_t nk = 0;
	CHECK_INT(vs_key_list(s, &keys, &nk, &err), 0, "%s", err.message);
	CHECK_INT(nk, 2, "-");
	if (nk == 2) {
		/* by created: k2 (given, 2023) before k1 (now) */
		CHECK_STR(keys[0].key_id, "k2", "-");
		CHECK_STR(keys[0].banks, "ALPHA,GAMMA", "-");
		CHECK(keys[0].rate == 5.5, "-");
		CHECK_INT(keys[0].created, 1700000000, "-");
		CHECK(keys[0].name == NULL, "-");
		CHECK_INT(keys[0].secret_hash[31], 0xff, "-");
		CHECK_STR(keys[1].key_id, "k1", "-");
		CHECK_STR(keys[1].role, "admin", "-");
		CHECK_STR(keys[1].name, "ops team", "-");
		CHECK(keys[1].banks == NULL, "-");
		CHECK(memcmp(keys[1].secret_hash, k1.secret_hash, 32) == 0, "hash round trip");
		CHECK(keys[1].created > 1600000000, "-");
		CHECK_INT(keys[1].revoked, 0, "-");
	}
	vs_keys_free(keys, nk);
	CHECK_INT(vs_key_revoke(s, "k1", &err), 0, "%s", err.message);
	CHECK_INT(vs_key_revoke(s, "k1", &err), 0, "revoking twice is fine: %s", err.message);
	CHECK_INT(vs_key_revoke(s, "zz", &err), VS_ERR_NOTFOUND, "%s", err.message);
	CHECK_INT(vs_key_list(s, &keys, &nk, &err), 0, "%s", err.message);
	if (nk == 2) {
		CHECK(keys[1].revoked > 1600000000, "revoked");
		CHECK_INT(keys[0].revoked, 0, "-");
	}
	vs_keys_free(keys, nk);

	/* --- settings */
	char *val = (char *)"junk";
	CHECK_INT(vs_setting_get(s, "signal_type.pdq.enabled_ratio", &val, &err), VS_ERR_NOTFOUND,
	          "%s", err.message);
	CHECK(val == NULL, "-");
	CHECK_INT(vs_setting_set(s, "signal_type.pdq.enabled_ratio", "0.5", &err), 0, "%s",
	          err.message);
	CHECK_INT(vs_setting_get(s, "signal_type.pdq.enabled_ratio", &val, &err), 0, "%s",
	          err.message);
	CHECK_STR(val, "0.5", "-");
	free(val);
	const char *odd = "two\nlines\ttab\\back'quote\"dq é";
	CHECK_INT(vs_setting_set(s, "signal_type.pdq.enabled_ratio", odd, &err), 0, "%s",
	          err.message);
	CHECK_INT(vs_setting_get(s, "signal_type.pdq.enabled_ratio", &val, &err), 0, "%s",
	          err.message);
	CHECK_STR(val, odd, "overwritten, byte for byte");
	free(val);
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "-");
	CHECK_INT(seq, 11, "keys and settings are not changes");
}

/* Text with every character COPY and SQL care about, through both add
 * paths (PostgreSQL: INSERT for one, COPY for many). */
static void test_odd_text(vs_store *s)
{
	veto_error err = {0};
	const char *note = "tab\there\nnewline\r\\back\\\\slash \\N 'quote' \"dq\" é ✓ ; DROP TABLE";
	const char *meta = "{\"k\":\"v\\n\\t\",\"u\":\"\\u00e9\"}";
	vs_content v[6];
	vs_signal sig[6];
	char vals[6][80];
	for (int i = 0; i < 6; i++) {
		snprintf(vals[i], sizeof vals[i], "[\"%d\\t\",\"a\\\\b\"]", i);
		memset(&v[i], 0, sizeof v[i]);
		sig[i].type = (char *)"vpdq";
		sig[i].value = vals[i];
		v[i].signals = &sig[i];
		v[i].nsignals = 1;
		v[i].note = (char *)note;
		v[i].metadata_json = (char *)meta;
		v[i].case_ref = i % 2 ? NULL : (char *)"\\N";
		v[i].disable_until_ts = 1700000000 + i;
		v[i].status = i == 5 ? VS_WITHDRAWN : VS_ACTIVE;
	}
	int64_t one, first, last;
	CHECK_INT(vs_content_add(s, 1, &v[0], &one, NULL, &err), 0, "%s", err.message);
	CHECK_INT(vs_content_add_many(s, 1, &v[1], 5, &first, &last, &err), 0, "%s", err.message);
	CHECK_INT(first, one + 1, "-");
	int64_t ids[6] = {one, first, first + 1, first + 2, first + 3, first + 4};
	for (int i = 0; i < 6; i++) {
		vs_content g;
		CHECK_INT(vs_content_get(s, ids[i], &g, &err), 0, "%s", err.message);
		CHECK_STR(g.note, note, "item %d", i);
		CHECK_STR(g.metadata_json, meta, "item %d", i);
		if (i % 2)
			CHECK(g.case_ref == NULL, "item %d: NULL, not the text \\N", i);
		else
			CHECK_STR(g.case_ref, "\\N", "item %d: the text \\N, not NULL", i);
		CHECK(g.source == NULL, "-");
		CHECK_INT(g.disable_until_ts, 1700000000 + i, "-");
		CHECK_INT(g.status, i == 5 ? VS_WITHDRAWN : VS_ACTIVE, "-");
		CHECK_INT(g.nsignals, 1, "-");
		if (g.nsignals == 1) {
			CHECK_STR(g.signals[0].type, "vpdq", "-");
			CHECK_STR(g.signals[0].value, vals[i], "item %d", i);
		}
		vs_content_clear(&g);
	}
	/* these stay as test content of bank 1: delete them so that later
	 * counts are simple */
	for (int i = 0; i < 6; i++) {
		int d = 0;
		CHECK_INT(vs_content_delete(s, 1, ids[i], &d, NULL, &err), 0, "%s", err.message);
		CHECK_INT(d, 1, "-");
	}
}

static void test_bulk(vs_store *s, int64_t bank, size_t n)
{
	veto_error err = {0};
	vs_content *v = calloc(n, sizeof *v);
	vs_signal *sig = calloc(n, sizeof *sig);
	char (*hex)[65] = malloc(n * sizeof *hex);
	REQUIRE(v && sig && hex, "out of memory");
	for (size_t i = 0; i < n; i++) {
		pdq_of(1000 + i, hex[i]);
		fill_content(&v[i], &sig[i], hex[i]);
	}
	int64_t before, first = 0, last = 0;
	CHECK_INT(vs_max_seq(s, &before, &err), 0, "%s", err.message);
	int64_t cnt0 = 0, newest = 0;
	CHECK_INT(vs_signal_stats(s, "pdq", &cnt0, &newest, &err), 0, "%s", err.message);
	double t0 = now_s();
	CHECK_INT(vs_content_add_many(s, bank, v, n, &first, &last, &err), 0, "%s", err.message);
	double dt = now_s() - t0;
	printf("%s: vs_content_add_many: %zu contents in %.2f s (%.0f/s)\n", vs_backend(s), n, dt,
	       (double)n / dt);
	CHECK_INT(last, before + (int64_t)n, "one change per content");
	int64_t nothing = -1;
	CHECK_INT(vs_content_add_many(s, bank, v, 0, &nothing, NULL, &err), 0, "%s", err.message);
	CHECK_INT(nothing, 0, "n = 0 adds nothing");

	/* listing: every item, in id order, with its signal */
	int64_t after = first - 1;
	size_t seen = 0;
	int bad = 0;
	for (;;) {
		vs_content *l = NULL;
		size_t nl = 0;
		CHECK_INT(vs_content_list(s, bank, after, 7000, &l, &nl, &err), 0, "%s", err.message);
		if (nl == 0)
			break;
		for (size_t i = 0; i < nl; i++) {
			size_t k = seen + i;
			if (l[i].id != first + (int64_t)k || l[i].nsignals != 1 ||
			    strcmp(l[i].signals[0].value, hex[k]) != 0 || l[i].bank_id != bank ||
			    !l[i].bank_name || l[i].seq != before + 1 + (int64_t)k)
				bad++;
		}
		seen += nl;
		after = l[nl - 1].id;
		vs_contents_free(l, nl);
	}
	CHECK_INT(seen, n, "content_list pages through everything");
	CHECK_INT(bad, 0, "listed items match what was added");

	/* changes of that bank, paged */
	int64_t since = before;
	seen = 0;
	bad = 0;
	for (;;) {
		vs_change *ch = NULL;
		size_t nch = 0;
		CHECK_INT(vs_changes_since(s, since, bank, 5000, &ch, &nch, &err), 0, "%s",
		          err.message);
		if (nch == 0)
			break;
		for (size_t i = 0; i < nch; i++) {
			size_t k = seen + i;
			if (ch[i].seq != before + 1 + (int64_t)k || ch[i].kind != VS_CHANGE_CONTENT ||
			    ch[i].content_id != first + (int64_t)k || ch[i].content.nsignals != 1 ||
			    strcmp(ch[i].content.signals[0].value, hex[k]) != 0)
				bad++;
		}
		seen += nch;
		since = ch[nch - 1].seq;
		vs_changes_free(ch, nch);
	}
	CHECK_INT(seen, n, "changes_since pages through everything");
	CHECK_INT(bad, 0, "changes match what was added");

	int64_t cnt = 0;
	CHECK_INT(vs_signal_stats(s, "pdq", &cnt, &newest, &err), 0, "%s", err.message);
	CHECK_INT(cnt, cnt0 + (int64_t)n, "-");
	CHECK(newest > 1600000000, "newest %lld", (long long)newest);
	CHECK_INT(vs_signal_stats(s, "tmk", &cnt, &newest, &err), 0, "%s", err.message);
	CHECK_INT(cnt, 0, "-");
	CHECK_INT(newest, 0, "-");
	free(v);
	free(sig);
	free(hex);
}

static void test_bank_delete(vs_store *s)
{
	veto_error err = {0};
	vs_bank b = {0};
	CHECK_INT(vs_bank_create(s, "DOOMED", 1.0, &b, &err), 0, "%s", err.message);
	int64_t bid = b.id;
	vs_bank_clear(&b);
	char h[4][65];
	vs_signal sig[4];
	vs_content v[4];
	int64_t ids[4];
	for (int i = 0; i < 4; i++) {
		pdq_of(500 + (uint64_t)i, h[i]);
		fill_content(&v[i], &sig[i], h[i]);
		v[i].note = (char *)"doomed";
		CHECK_INT(vs_content_add(s, bid, &v[i], &ids[i], NULL, &err), 0, "%s", err.message);
	}
	int d;
	CHECK_INT(vs_content_delete(s, bid, ids[1], &d, NULL, &err), 0, "%s", err.message);
	int64_t cnt0, cnt1, newest, before;
	CHECK_INT(vs_signal_stats(s, "pdq", &cnt0, &newest, &err), 0, "-");
	CHECK_INT(vs_max_seq(s, &before, &err), 0, "-");
	CHECK_INT(vs_bank_delete(s, "DOOMED", &err), 0, "%s", err.message);
	CHECK_INT(vs_bank_delete(s, "DOOMED", &err), VS_ERR_NOTFOUND, "%s", err.message);
	CHECK_INT(vs_signal_stats(s, "pdq", &cnt1, &newest, &err), 0, "-");
	CHECK_INT(cnt1, cnt0 - 3, "the three live contents' hashes are gone");
	CHECK_INT(vs_bank_get(s, "DOOMED", &b, &err), VS_ERR_NOTFOUND, "%s", err.message);
	CHECK_INT(vs_bank_get_by_id(s, bid, &b, &err), VS_ERR_NOTFOUND, "%s", err.message);
	for (int i = 0; i < 4; i++) {
		vs_content g;
		CHECK_INT(vs_content_get(s, ids[i], &g, &err), 0, "%s", err.message);
		CHECK_INT(g.status, VS_DELETED, "-");
		CHECK_INT(g.nsignals, 0, "-");
		CHECK(g.note == NULL, "-");
		CHECK(g.bank_name == NULL, "the bank is gone");
		vs_content_clear(&g);
	}
	vs_content *l = NULL;
	size_t nl = 5;
	CHECK_INT(vs_content_list(s, bid, 0, 100, &l, &nl, &err), 0, "%s", err.message);
	CHECK_INT(nl, 0, "-");
	vs_contents_free(l, nl);
	int64_t id;
	CHECK_INT(vs_content_add(s, bid, &v[0], &id, NULL, &err), VS_ERR_NOTFOUND, "%s",
	          err.message);
	CHECK_INT(vs_bank_create(s, "DOOMED", 0.5, &b, &err), 0, "the name is free again: %s",
	          err.message);
	CHECK(b.id > bid, "bank ids are not reused: %lld after %lld", (long long)b.id,
	      (long long)bid);
	int64_t newbid = b.id;
	vs_bank_clear(&b);

	vs_change *ch = NULL;
	size_t nch = 0;
	CHECK_INT(vs_changes_since(s, before, 0, 100, &ch, &nch, &err), 0, "%s", err.message);
	CHECK_INT(nch, 5, "3 tombstones, the bank, the new bank");
	if (nch == 5) {
		int64_t live[3] = {ids[0], ids[2], ids[3]};
		for (int i = 0; i < 3; i++) {
			CHECK_INT(ch[i].seq, before + 1 + i, "-");
			CHECK_INT(ch[i].kind, VS_CHANGE_CONTENT, "-");
			CHECK_INT(ch[i].content_id, live[i], "tombstones in id order");
			CHECK_INT(ch[i].bank_id, bid, "-");
			CHECK_INT(ch[i].content.status, VS_DELETED, "-");
			CHECK_INT(ch[i].content.seq, before + 1 + i, "-");
		}
		CHECK_INT(ch[3].kind, VS_CHANGE_BANK, "the bank's change comes last");
		CHECK_INT(ch[3].bank_id, bid, "-");
		CHECK_INT(ch[3].bank.id, bid, "-");
		CHECK_INT(ch[3].bank.deleted, 1, "-");
		CHECK_INT(ch[4].bank.id, newbid, "-");
		CHECK_INT(ch[4].bank.deleted, 0, "-");
		CHECK_STR(ch[4].bank.name, "DOOMED", "-");
	}
	vs_changes_free(ch, nch);
	CHECK_INT(vs_bank_delete(s, "DOOMED", &err), 0, "an empty bank: %s", err.message);
	CHECK_INT(vs_bank_delete(s, "NOPE", &err), VS_ERR_NOTFOUND, "%s", err.message);
}

/* ------------------------------------------------------- concurrency */

#define NTHREADS 4
#define PER_THREAD 500

typedef struct worker {
	vs_store *s;
	int64_t bank;
	int t;
	int64_t ids[PER_THREAD], seqs[PER_THREAD];
	int failures;
	char msg[512];
} worker;

static void *worker_main(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char hex[65];
		pdq_of(100000000u + (uint64_t)w->t * PER_THREAD + (uint64_t)i, hex);
		vs_signal sig;
		vs_content c;
		fill_content(&c, &sig, hex);
		veto_error err = {0};
		if (vs_content_add(w->s, w->bank, &c, &w->ids[i], &w->seqs[i], &err) != 0) {
			w->failures++;
			snprintf(w->msg, sizeof w->msg, "%s", err.message);
		}
	}
	return NULL;
}

typedef struct follower {
	vs_store *s;
	int64_t since, target;
	int64_t seen, gaps, errors;
	char msg[512];
} follower;

/* Reads the change sequence while the writers write: every seq it sees
 * must be the one right after the last (dense, in order). */
static void *follower_main(void *arg)
{
	follower *f = arg;
	double deadline = now_s() + 120;
	while (f->seen < f->target && now_s() < deadline) {
		vs_change *ch = NULL;
		size_t n = 0;
		veto_error err = {0};
		if (vs_changes_since(f->s, f->since, 0, 97, &ch, &n, &err) != 0) {
			f->errors++;
			snprintf(f->msg, sizeof f->msg, "%s", err.message);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (ch[i].seq != f->since + 1)
				f->gaps++;
			f->since = ch[i].seq;
			f->seen++;
		}
		vs_changes_free(ch, n);
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_concurrency(vs_store *s)
{
	veto_error err = {0};
	vs_bank b = {0};
	REQUIRE(vs_bank_create(s, "CONCURRENT", 1.0, &b, &err) == 0, "%s", err.message);
	int64_t before;
	CHECK_INT(vs_max_seq(s, &before, &err), 0, "-");
	static worker w[NTHREADS];
	pthread_t th[NTHREADS], fth;
	follower f = {.s = s, .since = before, .target = NTHREADS * PER_THREAD};
	double t0 = now_s();
	REQUIRE(pthread_create(&fth, NULL, follower_main, &f) == 0, "pthread_create");
	for (int t = 0; t < NTHREADS; t++) {
		memset(&w[t], 0, sizeof w[t]);
		w[t].s = s;
		w[t].bank = b.id;
		w[t].t = t;
		REQUIRE(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0, "pthread_create");
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_join(fth, NULL);
	printf("%s: %d threads x %d vs_content_add: %.2f s\n", vs_backend(s), NTHREADS, PER_THREAD,
	       now_s() - t0);
	vs_bank_clear(&b);
	int64_t ids[NTHREADS * PER_THREAD], seqs[NTHREADS * PER_THREAD];
	for (int t = 0; t < NTHREADS; t++) {
		CHECK_INT(w[t].failures, 0, "thread %d: %s", t, w[t].msg);
		for (int i = 0; i < PER_THREAD; i++) {
			ids[t * PER_THREAD + i] = w[t].ids[i];
			seqs[t * PER_THREAD + i] = w[t].seqs[i];
			if (i)
				CHECK(w[t].seqs[i] > w[t].seqs[i - 1], "a thread's seqs increase");
		}
	}
	const int N = NTHREADS * PER_THREAD;
	qsort(ids, N, sizeof ids[0], cmp_i64);
	qsort(seqs, N, sizeof seqs[0], cmp_i64);
	int dup_ids = 0, dup_seqs = 0;
	for (int i = 1; i < N; i++) {
		dup_ids += ids[i] == ids[i - 1];
		dup_seqs += seqs[i] == seqs[i - 1];
	}
	CHECK_INT(dup_ids, 0, "2000 distinct ids");
	CHECK_INT(dup_seqs, 0, "2000 distinct seqs");
	CHECK_INT(seqs[0], before + 1, "-");
	CHECK_INT(seqs[N - 1], before + N, "no gaps");
	CHECK_INT(f.errors, 0, "follower: %s", f.msg);
	CHECK_INT(f.seen, N, "the follower saw every change");
	CHECK_INT(f.gaps, 0, "the follower never saw a gap (seq order == commit order)");

	/* and read afterwards: in order, each content once, ids matching */
	vs_change *ch = NULL;
	size_t n = 0;
	CHECK_INT(vs_changes_since(s, before, 0, 100000, &ch, &n, &err), 0, "%s", err.message);
	CHECK_INT(n, N, "-");
	int bad = 0;
	int64_t cids[NTHREADS * PER_THREAD];
	for (size_t i = 0; i < n && i < (size_t)N; i++) {
		bad += ch[i].seq != before + 1 + (int64_t)i;
		bad += ch[i].content.seq != ch[i].seq;
		cids[i] = ch[i].content_id;
	}
	CHECK_INT(bad, 0, "changes dense and each content's seq is its change");
	if (n == (size_t)N) {
		qsort(cids, N, sizeof cids[0], cmp_i64);
		CHECK(memcmp(cids, ids, sizeof ids) == 0, "the changes name exactly the added ids");
	}
	vs_changes_free(ch, n);
}

/* ------------------------------------------------- reopen, read-only */

typedef struct snapshot {
	int64_t max_seq;
	size_t nbanks, nkeys;
	int64_t pdq_count;
	char *setting;
} snapshot;

static void take(vs_store *s, snapshot *sn)
{
	veto_error err = {0};
	memset(sn, 0, sizeof *sn);
	CHECK_INT(vs_max_seq(s, &sn->max_seq, &err), 0, "%s", err.message);
	vs_bank *b = NULL;
	CHECK_INT(vs_bank_list(s, &b, &sn->nbanks, &err), 0, "%s", err.message);
	vs_banks_free(b, sn->nbanks);
	vs_key *k = NULL;
	CHECK_INT(vs_key_list(s, &k, &sn->nkeys, &err), 0, "%s", err.message);
	vs_keys_free(k, sn->nkeys);
	int64_t newest;
	CHECK_INT(vs_signal_stats(s, "pdq", &sn->pdq_count, &newest, &err), 0, "%s", err.message);
	CHECK_INT(vs_setting_get(s, "signal_type.pdq.enabled_ratio", &sn->setting, &err), 0, "%s",
	          err.message);
}

static void test_reopen(const char *url, vs_store **sp)
{
	veto_error err = {0};
	snapshot a, b;
	take(*sp, &a);
	vs_content before;
	CHECK_INT(vs_content_get(*sp, 1, &before, &err), 0, "%s", err.message);
	vs_close(*sp);
	*sp = open_ok(url, 0);
	take(*sp, &b);
	CHECK_INT(b.max_seq, a.max_seq, "reopened");
	CHECK_INT(b.nbanks, a.nbanks, "-");
	CHECK_INT(b.nkeys, a.nkeys, "-");
	CHECK_INT(b.pdq_count, a.pdq_count, "-");
	CHECK(a.setting && b.setting && !strcmp(a.setting, b.setting), "setting kept");
	free(a.setting);
	free(b.setting);
	vs_content after;
	CHECK_INT(vs_content_get(*sp, 1, &after, &err), 0, "%s", err.message);
	CHECK_STR(after.note, before.note, "-");
	CHECK_INT(after.seq, before.seq, "-");
	CHECK_INT(after.status, before.status, "-");
	vs_content_clear(&before);
	vs_content_clear(&after);
	CHECK_INT(vs_check(*sp, &err), 0, "%s", err.message);

	/* ids continue after the highest */
	char h[65];
	pdq_of(42, h);
	vs_signal sig;
	vs_content c;
	fill_content(&c, &sig, h);
	int64_t id, seq;
	vs_content last;
	CHECK_INT(vs_content_add(*sp, 1, &c, &id, &seq, &err), 0, "%s", err.message);
	CHECK_INT(seq, a.max_seq + 1, "seq continues");
	CHECK_INT(vs_content_get(*sp, id - 1, &last, &err), 0, "ids are dense: %s", err.message);
	vs_content_clear(&last);
}

static void test_readonly(const char *url, vs_store *rw)
{
	veto_error err = {0};
	vs_store *ro = open_ok(url, 1);
	int64_t a, b;
	CHECK_INT(vs_max_seq(ro, &a, &err), 0, "%s", err.message);
	CHECK_INT(vs_max_seq(rw, &b, &err), 0, "%s", err.message);
	CHECK_INT(a, b, "-");
	CHECK_INT(vs_bank_create(ro, "NEVER", 1.0, NULL, &err), VETO_ERR_INVALID, "%s", err.message);
	CHECK(strstr(err.message, "read-only") != NULL, "%s", err.message);
	CHECK_INT(vs_setting_set(ro, "x", "y", &err), VETO_ERR_INVALID, "-");
	int d = 5;
	CHECK_INT(vs_content_delete(ro, 1, 1, &d, NULL, &err), VETO_ERR_INVALID, "-");
	CHECK_INT(d, 0, "-");
	/* a write through the other handle shows up */
	CHECK_INT(vs_setting_set(rw, "ro.visible", "yes", &err), 0, "%s", err.message);
	CHECK_INT(vs_bank_create(rw, "LATER", 1.0, NULL, &err), 0, "%s", err.message);
	char *v = NULL;
	CHECK_INT(vs_setting_get(ro, "ro.visible", &v, &err), 0, "%s", err.message);
	CHECK_STR(v, "yes", "-");
	free(v);
	CHECK_INT(vs_max_seq(ro, &a, &err), 0, "%s", err.message);
	CHECK_INT(a, b + 1, "-");
	CHECK_INT(vs_check(ro, &err), 0, "%s", err.message);
	vs_close(ro);
}

/* The whole common scenario on a fresh database at url. */
static void run_common(const char *url)
{
	vs_store *s = open_ok(url, 0);
	CHECK_STR(vs_backend(s), is_pg ? "postgres" : "sqlite", "-");
	test_scenario(s);
	test_odd_text(s);
	test_bulk(s, 1, 100000);
	test_bank_delete(s);
	test_concurrency(s);
	veto_error err = {0};
	CHECK_INT(vs_check(s, &err), 0, "%s", err.message);
	test_reopen(url, &s);
	test_readonly(url, s);
	vs_close(s);
}

/* ------------------------------------------------------------- SQLite */

static void copy_file(const char *from, const char *to)
{
	size_t n;
	uint8_t *d = slurp(from, &n);
	spit(to, d, n);
	free(d);
}

/* Overwrite len bytes at off with garbage. */
static void scribble(const char *path, long off, size_t len)
{
	FILE *f = fopen(path, "r+b");
	REQUIRE(f, "open %s", path);
	REQUIRE(fseek(f, off, SEEK_SET) == 0, "seek");
	uint64_t x = 0x243F6A8885A308D3ull;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		fputc((int)(x & 0xff), f);
	}
	REQUIRE(fclose(f) == 0, "close");
}

static void expect_refused(const char *url, const char *path, int code, const char *why)
{
	vs_store *s = NULL;
	veto_error err = {0};
	int rc = vs_open(&s, url, 0, &err);
	CHECK(rc != 0 && s == NULL, "%s: opened anyway", why);
	if (code)
		CHECK_INT(rc, code, "%s: %s", why, err.message);
	CHECK(strstr(err.message, path) != NULL, "%s: the message names the file: %s", why,
	      err.message);
	CHECK(strchr(err.message, '\n') == NULL, "one line");
	if (s)
		vs_close(s);
}

static void test_sqlite_files(const char *dir, const char *db)
{
	veto_error err = {0};
	char url[4200];
	struct stat st;
	/* mode 0600, including the WAL while open */
	vs_store *s = open_ok(db, 0);
	CHECK_INT(vs_setting_set(s, "mode.test", "1", &err), 0, "%s", err.message);
	CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600, "%s mode %o", db,
	      (unsigned)(st.st_mode & 0777));
	char *wal = malloc(strlen(db) + 8);
	sprintf(wal, "%s-wal", db);
	CHECK(stat(wal, &st) == 0 && (st.st_mode & 0777) == 0600, "%s mode %o", wal,
	      (unsigned)(st.st_mode & 0777));
	free(wal);
	vs_close(s); /* the last connection checkpoints: the file is whole */

	/* URL forms */
	snprintf(url, sizeof url, "sqlite:%s", db);
	s = open_ok(url, 1);
	vs_close(s);
	snprintf(url, sizeof url, "sqlite://%s", db); /* db is absolute: sqlite:///tmp/... */
	s = open_ok(url, 1);
	vs_close(s);

	/* a missing directory */
	char *missing = path_join(dir, "no/such/dir/veto.db");
	vs_store *x = NULL;
	CHECK_INT(vs_open(&x, missing, 0, &err), VETO_ERR_IO, "%s", err.message);
	CHECK(strstr(err.message, missing) && strstr(err.message, "directory"), "%s", err.message);
	free(missing);
	char *absent = path_join(dir, "absent.db");
	CHECK_INT(vs_open(&x, absent, 1, &err), VETO_ERR_IO, "read-only never creates: %s",
	          err.message);
	CHECK(access(absent, F_OK) != 0, "not created");
	free(absent);

	/* garbage over the header */
	char *d1 = path_join(dir, "damaged-head.db");
	copy_file(db, d1);
	scribble(d1, 0, 4096);
	expect_refused(d1, d1, VETO_ERR_FORMAT, "garbage over the header");
	/* garbage in the middle, header intact: quick_check */
	char *d2 = path_join(dir, "damaged-middle.db");
	copy_file(db, d2);
	CHECK(stat(d2, &st) == 0 && st.st_size > 1 << 20, "a big enough file");
	scribble(d2, (long)(st.st_size / 2 / 4096 * 4096), 64 * 1024);
	expect_refused(d2, d2, VETO_ERR_CORRUPT, "garbage in the middle");
	/* truncated */
	char *d3 = path_join(dir, "truncated.db");
	copy_file(db, d3);
	CHECK(truncate(d3, st.st_size / 3) == 0, "truncate");
	expect_refused(d3, d3, VETO_ERR_CORRUPT, "truncated");
	/* files too big for the full check at open (here: all of them) get
	 * the cheap checks at open and the full one in vs_check */
	setenv("VETO_STORE_QUICK_CHECK_MAX_MB", "0", 1);
	expect_refused(d3, d3, VETO_ERR_CORRUPT, "truncated, without the full check");
	expect_refused(d1, d1, VETO_ERR_FORMAT, "garbage over the header, without the full check");
	s = NULL;
	int rc = vs_open(&s, d2, 0, &err);
	if (rc == 0) {
		/* the damage missed the pages the cheap checks read */
		CHECK_INT(vs_check(s, &err), VETO_ERR_CORRUPT, "vs_check finds it: %s", err.message);
		CHECK(strstr(err.message, d2) != NULL, "%s", err.message);
		vs_close(s);
	} else {
		CHECK_INT(rc, VETO_ERR_CORRUPT, "%s", err.message);
	}
	char *d4 = path_join(dir, "damaged-banks.db");
	copy_file(db, d4);
	/* the banks table's root page, wherever it is, gets garbage */
	{
		sqlite3 *raw = NULL;
		sqlite3_stmt *q = NULL;
		REQUIRE(sqlite3_open(d4, &raw) == SQLITE_OK, "open %s", d4);
		REQUIRE(sqlite3_prepare_v2(raw, "SELECT rootpage FROM sqlite_schema WHERE name = 'veto_banks'",
		                           -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW,
		        "rootpage");
		long root = (long)sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		sqlite3_close(raw);
		scribble(d4, (root - 1) * 4096 + 8, 4000);
	}
	expect_refused(d4, d4, VETO_ERR_CORRUPT, "damaged banks table, without the full check");
	unsetenv("VETO_STORE_QUICK_CHECK_MAX_MB");
	free(d1);
	free(d2);
	free(d3);
	free(d4);
	/* not SQLite at all */
	char *t = path_join(dir, "notes.txt");
	spit(t, "hello, this is not a database\n", 30);
	expect_refused(t, t, VETO_ERR_FORMAT, "a text file");
	free(t);
	/* another program's SQLite database: refused, and left alone */
	char *o = path_join(dir, "other.db");
	raw_sqlite(o, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
	              "INSERT INTO users(name) VALUES ('x');");
	size_t n0, n1;
	uint8_t *b0 = slurp(o, &n0);
	expect_refused(o, o, VETO_ERR_FORMAT, "another program's database");
	uint8_t *b1 = slurp(o, &n1);
	CHECK(n0 == n1 && memcmp(b0, b1, n0) == 0, "the foreign file is untouched");
	free(b0);
	free(b1);
	free(o);
	char *o2 = path_join(dir, "other-app.db");
	raw_sqlite(o2, "PRAGMA application_id = 12345;");
	expect_refused(o2, o2, VETO_ERR_FORMAT, "another application_id");
	free(o2);
	/* a newer schema */
	char *nw = path_join(dir, "newer.db");
	copy_file(db, nw);
	raw_sqlite(nw, "UPDATE veto_schema SET version = 99");
	expect_refused(nw, nw, VETO_ERR_UNSUPPORTED, "a newer schema");
	free(nw);
	/* the damage vs_check finds beyond quick_check */
	char *inc = path_join(dir, "inconsistent.db");
	copy_file(db, inc);
	raw_sqlite(inc, "UPDATE veto_content SET seq = seq + 1000000 WHERE id = 1");
	s = open_ok(inc, 0);
	CHECK_INT(vs_check(s, &err), VETO_ERR_CORRUPT, "%s", err.message);
	CHECK(strstr(err.message, inc) != NULL, "%s", err.message);
	vs_close(s);
	free(inc);
	/* an empty existing file is a new store */
	char *e = path_join(dir, "empty.db");
	spit(e, "", 0);
	s = open_ok(e, 0);
	int64_t seq = 7;
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "%s", err.message);
	CHECK_INT(seq, 0, "-");
	vs_close(s);
	free(e);
}

/* Two processes write the same file at once (busy_timeout, BEGIN
 * IMMEDIATE): no failure, no duplicate seq. */
static void test_sqlite_processes(const char *db)
{
	veto_error err = {0};
	vs_store *s = open_ok(db, 0);
	int64_t before;
	CHECK_INT(vs_max_seq(s, &before, &err), 0, "-");
	vs_bank b = {0};
	REQUIRE(vs_bank_get(s, "ALPHA", &b, &err) == 0, "%s", err.message);
	int64_t bank = b.id;
	vs_bank_clear(&b);
	vs_close(s);
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		REQUIRE(kids[k] >= 0, "fork");
		if (kids[k] == 0) {
			vs_store *cs = NULL;
			veto_error e = {0};
			if (vs_open(&cs, db, 0, &e) != 0)
				_exit(3);
			int fails = 0;
			for (int i = 0; i < 200; i++) {
				char h[65];
				pdq_of(7000000u + (uint64_t)k * 1000 + (uint64_t)i, h);
				vs_signal sig;
				vs_content c;
				fill_content(&c, &sig, h);
				if (vs_content_add(cs, bank, &c, NULL, NULL, &e) != 0)
					fails++;
			}
			vs_close(cs);
			_exit(fails ? 1 : 0);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status = 0;
		waitpid(kids[k], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", k, status);
	}
	s = open_ok(db, 0);
	int64_t after;
	CHECK_INT(vs_max_seq(s, &after, &err), 0, "-");
	CHECK_INT(after, before + 400, "two processes, 200 adds each");
	vs_change *ch = NULL;
	size_t n = 0;
	CHECK_INT(vs_changes_since(s, before, 0, 1000, &ch, &n, &err), 0, "%s", err.message);
	CHECK_INT(n, 400, "-");
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += ch[i].seq != before + 1 + (int64_t)i;
	CHECK_INT(bad, 0, "dense");
	vs_changes_free(ch, n);
	CHECK_INT(vs_check(s, &err), 0, "%s", err.message);
	vs_close(s);
}

static int run_sqlite(void)
{
	const char *dir = tmpdir_make("store");
	char *db = path_join(dir, "veto.db");
	run_common(db);
	test_sqlite_processes(db);
	test_sqlite_files(dir, db);
	free(db);
	tmpdir_remove();
	return check_exit("test_store sqlite");
}

/* --------------------------------------------------------- PostgreSQL */

static void pg_kill_sessions(const char *conninfo)
{
	raw_pg(conninfo, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	                 " WHERE datname = current_database() AND pid <> pg_backend_pid()");
	usleep(100 * 1000);
}

static void test_pg_specific(const char *conninfo)
{
	veto_error err = {0};
	vs_store *s = open_ok(conninfo, 0);
	CHECK(strncmp(vs_backend(s), "postgres", 8) == 0, "-");

	/* broken connections: reads are retried, writes start afresh */
	int64_t seq0, seq;
	CHECK_INT(vs_max_seq(s, &seq0, &err), 0, "%s", err.message);
	pg_kill_sessions(conninfo);
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "read after the connection broke: %s", err.message);
	CHECK_INT(seq, seq0, "-");
	vs_change *ch = NULL;
	size_t n = 0;
	pg_kill_sessions(conninfo);
	CHECK_INT(vs_changes_since(s, 0, 0, 10, &ch, &n, &err), 0, "%s", err.message);
	CHECK_INT(n, 10, "-");
	vs_changes_free(ch, n);
	pg_kill_sessions(conninfo);
	CHECK_INT(vs_bank_create(s, "AFTER_KILL", 1.0, NULL, &err), 0,
	          "write after the connection broke: %s", err.message);
	CHECK_INT(vs_max_seq(s, &seq, &err), 0, "%s", err.message);
	CHECK_INT(seq, seq0 + 1, "-");

	/* a server restart, if with_pg.sh told us how */
	const char *ctl = getenv("VETO_TEST_PG_CTL");
	if (ctl && *ctl) {
		char cmd[1024];
		snprintf(cmd, sizeof cmd, "'%s' restart -m fast >/dev/null 2>&1", ctl);
		CHECK_INT(system(cmd), 0, "restarting the server");
		CHECK_INT(vs_max_seq(s, &seq, &err), 0, "read after a restart: %s", err.message);
		CHECK_INT(seq, seq0 + 1, "-");
		CHECK_INT(vs_setting_set(s, "after.restart", "1", &err), 0, "%s", err.message);
	}
	vs_close(s);

	/* no server there; the password stays out of the message */
	vs_store *x = NULL;
	CHECK_INT(vs_open(&x, "postgresql://veto:sekrit-pw@/nodb?host=/nonexistent-dir&port=1", 0,
	                  &err),
	          VS_ERR_DB, "%s", err.message);
	CHECK(strstr(err.message, "sekrit") == NULL, "no password in: %s", err.message);
	CHECK(strstr(err.message, "nodb") != NULL, "names the database: %s", err.message);
	CHECK(strchr(err.message, '\n') == NULL, "one line");
	CHECK_INT(vs_open(&x, "postgresql://veto:sekrit-pw@/nodb?bogus_option=1", 0, &err),
	          VETO_ERR_INVALID, "%s", err.message);
	CHECK(strstr(err.message, "sekrit") == NULL, "no password in: %s", err.message);

	/* the URL form; an empty database is refused read-only */
	CHECK(vs_open(&x, pg_base_url, 1, &err) != 0, "read-only on an uninitialised database");
	CHECK(strstr(err.message, "postgres") != NULL, "%s", err.message);

	/* someone else's tables named like ours */
	char other[1024];
	pg_new_db(other, sizeof other);
	raw_pg(other, "CREATE TABLE veto_banks(x int)");
	CHECK_INT(vs_open(&x, other, 0, &err), VETO_ERR_FORMAT, "%s", err.message);
	/* unrelated tables are fine: a database may be shared */
	char shared[1024];
	pg_new_db(shared, sizeof shared);
	raw_pg(shared, "CREATE TABLE users(id int)");
	s = open_ok(shared, 0);
	CHECK_INT(vs_bank_create(s, "SHARED", 1.0, NULL, &err), 0, "%s", err.message);
	vs_close(s);
	/* a newer schema */
	raw_pg(shared, "UPDATE veto_schema SET version = 99");
	CHECK_INT(vs_open(&x, shared, 0, &err), VETO_ERR_UNSUPPORTED, "%s", err.message);
	CHECK_INT(vs_open(&x, shared, 1, &err), VETO_ERR_UNSUPPORTED, "%s", err.message);
	raw_pg(shared, "UPDATE veto_schema SET version = 1");
	/* vs_check finds inconsistent seqs */
	raw_pg(shared, "INSERT INTO veto_changes VALUES (1000, 9, 0, 0, 0)");
	s = open_ok(shared, 0);
	CHECK_INT(vs_check(s, &err), VETO_ERR_CORRUPT, "%s", err.message);
	vs_close(s);
}

static int run_pg(void)
{
	pg_base_url = getenv("VETO_TEST_PG_URL");
	if (!pg_base_url || !*pg_base_url) {
		fprintf(stderr, "test_store postgres: VETO_TEST_PG_URL is not set; run it as"
		                " tests/with_pg.sh test_store postgres\n");
		return 2;
	}
	char conninfo[1024];
	pg_new_db(conninfo, sizeof conninfo);
	run_common(conninfo);
	test_pg_specific(conninfo);
	pg_drop_dbs();
	return check_exit("test_store postgres");
}

/* -------------------------------------------------------------- bench */

static int bench(const char *url, size_t total)
{
	veto_error err = {0};
	vs_store *s = open_ok(url, 0);
	vs_bank b = {0};
	if (vs_bank_get(s, "BENCH", &b, &err) != 0)
		REQUIRE(vs_bank_create(s, "BENCH", 1.0, &b, &err) == 0, "%s", err.message);
	const size_t batch = 100000;
	vs_content *v = calloc(batch, sizeof *v);
	vs_signal *sig = calloc(batch, sizeof *sig);
	char (*hex)[65] = malloc(batch * sizeof *hex);
	REQUIRE(v && sig && hex, "out of memory");
	double t0 = now_s(), gen = 0;
	for (size_t done = 0; done < total;) {
		size_t n = total - done < batch ? total - done : batch;
		double g0 = now_s();
		for (size_t i = 0; i < n; i++) {
			pdq_of(done + i, hex[i]);
			fill_content(&v[i], &sig[i], hex[i]);
		}
		gen += now_s() - g0;
		int64_t first, last;
		REQUIRE(vs_content_add_many(s, b.id, v, n, &first, &last, &err) == 0, "%s",
		        err.message);
		done += n;
		if (done % 1000000 == 0 || done == total)
			fprintf(stderr, "  %zu loaded, %.0f/s\n", done,
			        (double)done / (now_s() - t0 - gen));
	}
	double dt = now_s() - t0 - gen;
	printf("%s: loaded %zu single-pdq contents in %.1f s: %.0f contents/s\n", vs_backend(s),
	       total, dt, (double)total / dt);
	vs_bank_clear(&b);
	free(v);
	free(sig);
	free(hex);
	vs_close(s);
	t0 = now_s();
	s = open_ok(url, 0);
	printf("%s: reopening (with its checks) took %.2f s\n", vs_backend(s), now_s() - t0);
	t0 = now_s();
	CHECK_INT(vs_check(s, &err), 0, "%s", err.message);
	printf("%s: vs_check took %.2f s\n", vs_backend(s), now_s() - t0);
	vs_close(s);
	return check_exit("test_store bench");
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "sqlite") && strcmp(argv[1], "postgres"))) {
		fprintf(stderr, "usage: test_store sqlite|postgres [--bench N [URL]]\n");
		return 2;
	}
	is_pg = !strcmp(argv[1], "postgres");
	if (argc >= 4 && !strcmp(argv[2], "--bench")) {
		size_t n = (size_t)strtoull(argv[3], NULL, 10);
		if (argc >= 5)
			return bench(argv[4], n);
		if (is_pg) {
			pg_base_url = getenv("VETO_TEST_PG_URL");
			REQUIRE(pg_base_url, "VETO_TEST_PG_URL is not set");
			char conninfo[1024];
			pg_new_db(conninfo, sizeof conninfo);
			int rc = bench(conninfo, n);
			pg_drop_dbs();
			return rc;
		}
		const char *dir = tmpdir_make("store-bench");
		char *db = path_join(dir, "bench.db");
		int rc = bench(db, n);
		char *side = malloc(strlen(db) + 8);
		sprintf(side, "%s-wal", db);
		unlink(side);
		sprintf(side, "%s-shm", db);
		unlink(side);
		free(side);
		free(db);
		tmpdir_remove();
		return rc;
	}
	test_names();
	return is_pg ? run_pg() : run_sqlite();
}
