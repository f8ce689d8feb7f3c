/*
 * fuzz_api.c - veto serve's request handler (va_handle, server/api*.c) on
 * arbitrary requests, with a real store and matcher behind it.
 *
 * LLVMFuzzerInitialize makes a private temporary folder (under $TMPDIR,
 * else /dev/shm when there is one - SQLite's fsyncs are free on tmpfs -,
 * else /tmp; named after the pid, so the next run removes the folders of
 * runs that died), and setup() opens a SQLite store there, adds API keys of
 * every role (one scoped to a bank, one rate-limited, one revoked), banks
 * FUZZ (a few PDQ hashes, an MD5, a disabled item), OTHER (ratio 0) and
 * SPARE (empty: the seeds rename and delete it), and builds a va_server
 * with authentication on. Writes in the inputs really reach SQLite;
 * every RUNS_PER_DB runs the whole store is thrown away and made again,
 * so it cannot grow without bound (and a crash depends on at most that
 * many earlier inputs).
 *
 * An input is a request:
 *   byte 0          method: GET POST PUT DELETE PATCH HEAD (mod 6)
 *   byte 1          bits 0-2 Authorization: 0 none, 1 admin, 2 admin with a
 *                   wrong secret, 3 curator scoped to FUZZ, 4 hasher,
 *                   5 matcher (rate-limited), 6 a revoked key, 7 the
 *                   header's text from the input;
 *                   bits 3-4 Content-Type: 0 none, 1 application/json,
 *                   2 multipart/form-data; boundary=fuzzb, 3 from the input;
 *                   bit 5: the index is "not ready" for this request
 *   path NUL        the decoded path
 *   query NUL       "k=v&k2=v2" (already decoded, as libmicrohttpd gives them)
 *   [auth NUL]      when bits 0-2 are 7
 *   [type NUL]      when bits 3-4 are 3
 *   body            the rest
 * scripts/fuzz-corpus.sh writes seeds in this form for every route.
 *
 * VETO_FUZZ_API_TRACE=1 prints each request's status and the start of its
 * answer (to check that the seeds reach their handlers).
 *
 * Checked on every response: a status 100..599, a content type, a body;
 * a JSON content type means the body parses as JSON (jansson), except for
 * 204 (no body). Fetching by URL is off (no --allow-hosts), so nothing
 * leaves the machine.
 */
#include "api.h"
#include "matcher.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNS_PER_DB 500

static char dir[512];
static char dburl[600];
static vs_store *store;
static va_server *srv;
static unsigned long runs;
static int trace;                  /* VETO_FUZZ_API_TRACE=1: one line per request */

typedef struct fkey {
	const char *id, *secret, *role, *banks;
	double rate;
	int revoke;
} fkey;

/* key ids must not contain '_' (the token is veto_<id>_<secret>) */
static const fkey KEYS[] = {
	{"fzadmin", "adminsecret", "admin", NULL, 0, 0},
	{"fzcurator", "cursecret", "curator", "FUZZ", 0, 0},
	{"fzhasher", "hashsecret", "hasher", NULL, 0, 0},
	{"fzmatcher", "matchsecret", "matcher", NULL, 50, 0},
	{"fzrevoked", "revsecret", "admin", NULL, 0, 1},
};

/* also in scripts/fuzz-corpus.sh (the seeds look these up) */
static const char *const PDQ[] = {
	"a4c123b1612dd272d1371c17149d439536b3216fdaeeb975729fae923d5a4fd1",
	"2aabfe228f219e9cb0eb53f16947ccf25ec84d8dbc74254770f58904dba41ecc",
	"cc3fc1626e53a13043b026c48bbf33feff9243a8f506b40928b5b7a767c76fb0",
	"08f86bebb2737f6a6f0fb23c6f5da2cec255404e4fb440034d6608697a8d41be",
};
static const char *const OTHER_PDQ =
	"d440e50454f31af3176813e02ea68ef786e4d3cea27d26934b484e73cf575dca";
static const char *const MD5 = "d6ba2b0aee0ca923732881584d8c4fa2";

static void die(const char *what, const veto_error *e)
{
	fprintf(stderr, "fuzz_api: %s: %s\n", what, e ? e->message : "");
	abort();
}

static void rm_db(void)
{
	const char *sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[700];
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		snprintf(p, sizeof p, "%s/f.db%s", dir, sfx[i]);
		unlink(p);
	}
}

static void add_content(int64_t bank, const char *type, const char *value, int64_t disable)
{
	vs_signal sig = {(char *)type, (char *)value};
	vs_content c;
	memset(&c, 0, sizeof c);
	c.disable_until_ts = disable;
	c.status = VS_ACTIVE;
	c.signals = &sig;
	c.nsignals = 1;
	veto_error e;
	if (vs_content_add(store, bank, &c, NULL, NULL, &e))
		die("vs_content_add", &e);
}

static void setup(void)
{
	veto_error e;
	rm_db();
	if (vs_open(&store, dburl, 0, &e))
		die("vs_open", &e);
	for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
		vs_key k;
		memset(&k, 0, sizeof k);
		k.key_id = (char *)KEYS[i].id;
		SHA256((const unsigned char *)KEYS[i].secret, strlen(KEYS[i].secret), k.secret_hash);
		k.role = (char *)KEYS[i].role;
		k.banks = (char *)KEYS[i].banks;
		k.rate = KEYS[i].rate;
		k.name = (char *)"fuzz";
		if (vs_key_create(store, &k, &e))
			die("vs_key_create", &e);
		if (KEYS[i].revoke && vs_key_revoke(store, KEYS[i].id, &e))
			die("vs_key_revoke", &e);
	}
	vs_bank b, o, sp;
	if (vs_bank_create(store, "FUZZ", 1.0, &b, &e))
		die("vs_bank_create", &e);
	if (vs_bank_create(store, "OTHER", 0.0, &o, &e))
		die("vs_bank_create", &e);
	/* for the seeds that rename or delete a bank, so FUZZ stays */
	if (vs_bank_create(store, "SPARE", 0.5, &sp, &e))
		die("vs_bank_create", &e);
	vs_bank_clear(&sp);
	/* ids 1..4: PDQ; 5: an MD5; 6: disabled PDQ; 7: in OTHER */
	for (size_t i = 0; i < sizeof PDQ / sizeof *PDQ; i++)
		add_content(b.id, "pdq", PDQ[i], 1);
	add_content(b.id, "video_md5", MD5, 1);
	add_content(b.id, "pdq", OTHER_PDQ, 0);
	add_content(o.id, "pdq", OTHER_PDQ, 1);
	vs_bank_clear(&b);
	vs_bank_clear(&o);

	vm_matcher *m = NULL;
	if (vm_new(&m, &e))
		die("vm_new", &e);
	va_config cfg;
	va_config_init(&cfg);
	cfg.no_auth = 0;
	cfg.allow_hosts = NULL;        /* ?url= is refused: nothing is fetched */
	cfg.max_body = 1 << 20;
	cfg.max_pixels = 1 << 20;      /* keep decoding of big headers fast */
	cfg.video_seconds = 2;
	if (va_server_new(&srv, &cfg, store, m, &e))
		die("va_server_new", &e);
	if (va_server_sync(srv, NULL, &e))
		die("va_server_sync", &e);
	va_server_set_ready(srv, 1);
}

static void teardown(void)
{
	va_server_free(srv);
	srv = NULL;
	vs_close(store);
	store = NULL;
	rm_db();
}

static void cleanup(void)
{
	if (srv)
		teardown();
	if (dir[0])
		rmdir(dir);
}

/* Folders of earlier runs that died (a crash or a leak report exits
 * without atexit): veto-fuzz-api-<pid>-XXXXXX whose pid is gone. */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		long pid;
		char tail[16];
		if (sscanf(e->d_name, "veto-fuzz-api-%ld-%15s", &pid, tail) != 2 || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char sub[700];
		snprintf(sub, sizeof sub, "%s/%s", base, e->d_name);
		DIR *sd = opendir(sub);
		struct dirent *f;
		while (sd && (f = readdir(sd))) {
			char fp[1000];
			if (strcmp(f->d_name, ".") && strcmp(f->d_name, "..")) {
				snprintf(fp, sizeof fp, "%s/%s", sub, f->d_name);
				unlink(fp);
			}
		}
		if (sd)
			closedir(sd);
		rmdir(sub);
	}
	closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *base = getenv("TMPDIR");
	struct stat st;
	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
		           ? "/dev/shm"
		           : "/tmp";
	remove_stale(base);
	snprintf(dir, sizeof dir, "%s/veto-fuzz-api-%d-XXXXXX", base, (int)getpid());
	if (!mkdtemp(dir)) {
		perror("fuzz_api: mkdtemp");
		abort();
	}
	snprintf(dburl, sizeof dburl, "sqlite:%s/f.db", dir);
	atexit(cleanup);
	trace = getenv("VETO_FUZZ_API_TRACE") && *getenv("VETO_FUZZ_API_TRACE") == '1';
	setup();
	return 0;
}

/* the next NUL-terminated string of the input, copied (exact size) */
static char *take(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
	size_t l = z ? (size_t)(z - *p) : (size_t)(end - *p);
	char *s = malloc(l + 1);
	if (!s)
		abort();
	memcpy(s, *p, l);
	s[l] = 0;
	*p += l + (z ? 1 : 0);
	return s;
}

static const char *const METHODS[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (++runs % RUNS_PER_DB == 0) {
		teardown();
		setup();
	}
	const uint8_t *p = data + 2, *end = data + size;
	const char *method = METHODS[data[0] % 6];
	unsigned flags = data[1];
	char *path = take(&p, end);
	char *query = take(&p, end);
	char *auth_in = (flags & 7) == 7 ? take(&p, end) : NULL;
	char *ctype_in = ((flags >> 3) & 3) == 3 ? take(&p, end) : NULL;
	size_t blen = (size_t)(end - p);
	uint8_t *body = blen ? malloc(blen) : NULL;
	if (blen) {
		if (!body)
			abort();
		memcpy(body, p, blen);
	}

	va_request req;
	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	/* the query, split as libmicrohttpd would hand it over */
	for (char *save = NULL, *kv = strtok_r(query, "&", &save); kv;
	     kv = strtok_r(NULL, "&", &save)) {
		if (req.nquery >= VA_MAX_QUERY) {
			req.query_overflow = 1;
			break;
		}
		char *eq = strchr(kv, '=');
		if (eq)
			*eq = 0;
		req.query[req.nquery].key = kv;
		req.query[req.nquery].value = eq ? eq + 1 : "";
		req.nquery++;
	}
	char authbuf[128];
	switch (flags & 7) {
	case 0: req.authorization = NULL; break;
	case 7: req.authorization = auth_in; break;
	default: {
		static const int which[8] = {0, 0, 0, 1, 2, 3, 4, 0};
		const fkey *k = &KEYS[which[flags & 7]];
		snprintf(authbuf, sizeof authbuf, "Bearer veto_%s_%s%s", k->id, k->secret,
		         (flags & 7) == 2 ? "x" : "");
		req.authorization = authbuf;
	}
	}
	switch ((flags >> 3) & 3) {
	case 0: req.content_type = NULL; break;
	case 1: req.content_type = "application/json"; break;
	case 2: req.content_type = "multipart/form-data; boundary=fuzzb"; break;
	default: req.content_type = ctype_in; break;
	}
	req.client = "127.0.0.1";
	req.body = body;
	req.body_len = blen;
	if (flags & 32)
		va_server_set_ready(srv, 0);

	va_response resp;
	va_handle(srv, &req, &resp);

	if (flags & 32)
		va_server_set_ready(srv, 1);
	if (resp.status < 100 || resp.status > 599) {
		fprintf(stderr, "fuzz_api: status %d from %s\n", resp.status, resp.route);
		abort();
	}
	if (!resp.content_type || !resp.body || resp.retry_after < 0 ||
	    !memchr(resp.route, 0, sizeof resp.route) || !memchr(resp.key_id, 0, sizeof resp.key_id)) {
		fprintf(stderr, "fuzz_api: incomplete response from %s\n", resp.route);
		abort();
	}
	/* every byte of the body is readable (ASan checks) */
	unsigned sum = 0;
	for (size_t i = 0; i < resp.len; i++)
		sum += (unsigned char)resp.body[i];
	(void)sum;
	if (!strncmp(resp.content_type, "application/json", 16) && resp.status != 204) {
		json_error_t je;
		json_t *j = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &je);
		if (!j) {
			fprintf(stderr, "fuzz_api: %s answered %d with invalid JSON (%s): %.*s\n",
			        resp.route, resp.status, je.text, (int)(resp.len > 500 ? 500 : resp.len),
			        resp.body);
			abort();
		}
		/* errors are {"message": "..."} */
		if (resp.status >= 400 && !json_is_string(json_object_get(j, "message"))) {
			fprintf(stderr, "fuzz_api: %s answered %d without a message: %.*s\n", resp.route,
			        resp.status, (int)(resp.len > 500 ? 500 : resp.len), resp.body);
			abort();
		}
		json_decref(j);
	}
	if (trace)
		fprintf(stderr, "fuzz_api: %s %s -> %d %.*s\n", method, path, resp.status,
		        (int)(resp.len > 160 ? 160 : resp.len), resp.body);
	va_metrics_observe(srv, &resp, 0.0001);
	va_response_clear(&resp);
	if (runs % 100 == 0) {
		veto_error e;
		va_server_refresh_keys(srv, &e);
	}
	free(body);
	free(ctype_in);
	free(auth_in);
	free(query);
	free(path);
	return 0;
}
