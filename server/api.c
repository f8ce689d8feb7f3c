/*
 * api.c - routing, authentication, roles, rate limits and the helpers the
 * route files share.
 *
 * A request is matched against the route tables (api_hma.c, api_v1.c):
 * method + a pattern whose "{}" segments become path parameters. Then:
 *   1. the process must serve that part (--role: hasher/matcher/curator);
 *   2. unless --no-auth, "Authorization: Bearer veto_<id>_<secret>" must
 *      name a live key whose SHA-256(secret) equals the stored hash
 *      (CRYPTO_memcmp: constant time), else 401;
 *   3. the key's role must reach the route's (hasher < matcher < curator <
 *      admin), else 403; a key scoped to banks reaches only those banks
 *      (bank routes answer 404 for others, lookups drop their matches);
 *   4. a token bucket per key (its rate, else --rate) answers 429 with
 *      Retry-After when empty.
 * Keys live in the store; this process keeps a copy refreshed by the
 * follower (va_server_refresh_keys) so a request never waits on the
 * database to authenticate; a revoked key stops working within one poll.
 *
 * Every failure is a JSON {"message": ...} with the right 4xx/5xx, as HMA's
 * api_error_handler does; /status keeps HMA's plain-text answers.
 */
#include "api_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "multipart.h"
#include "serve.h"

void va_config_init(va_config *c)
{
	memset(c, 0, sizeof *c);
	c->serve = VA_SERVE_ALL;
	c->max_body = 64ull << 20;
	c->max_fetch = 100ull << 20;     /* HMA's DEFAULT_MAX_REMOTE_FILE_SIZE */
	c->video_seconds = 120;
	c->index_stale_seconds = 65;     /* HMA's INDEX_CACHE_MAX_STALE_SEC */
	c->default_rate = 0;
}

static const char *ROLE_NAMES[] = {"none", "hasher", "matcher", "curator", "admin"};

const char *va_role_name(int role)
{
	return role >= 0 && role <= VA_ROLE_ADMIN ? ROLE_NAMES[role] : "none";
}

int va_role_parse(const char *s)
{
	for (int i = 1; i <= VA_ROLE_ADMIN; i++)
		if (s && !strcmp(s, ROLE_NAMES[i]))
			return i;
	return VA_ROLE_NONE;
}

void va_response_clear(va_response *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- server */

static void keys_free(va_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < k[i].nbanks; j++)
			free(k[i].banks[j]);
		free(k[i].banks);
	}
	free(k);
}

static void load_signal_ratios(va_server *s)
{
	for (int t = 0; t < VSIG_COUNT; t++) {
		char key[64], *v = NULL;
		veto_error e;
		s->st_ratio[t] = 1.0;
		snprintf(key, sizeof key, "signal_type.%s.enabled_ratio", vsig_name(t));
		if (vs_setting_get(s->store, key, &v, &e) == 0 && v) {
			char *end;
			double d = strtod(v, &end);
			if (end != v && d >= 0 && d <= 1)
				s->st_ratio[t] = d;
		}
		free(v);
	}
}

int va_server_new(va_server **out, const va_config *cfg, vs_store *store, vm_matcher *m,
                  veto_error *err)
{
	va_server *s = calloc(1, sizeof *s);
	if (!s) {
		vm_free(m);
		err->code = VETO_ERR_NOMEM;
		snprintf(err->message, sizeof err->message, "out of memory");
		return VETO_ERR_NOMEM;
	}
	s->cfg = *cfg;
	s->store = store;
	s->m = m;
	pthread_mutex_init(&s->sync_lock, NULL);
	pthread_rwlock_init(&s->keys_lock, NULL);
	pthread_mutex_init(&s->rate_lock, NULL);
	load_signal_ratios(s);
	if (cfg->trust_path) {
		int rc = veto_trust_load(cfg->trust_path, &s->trust, err);
		if (rc) {
			va_server_free(s);
			return rc;
		}
	}
	if (!cfg->no_auth) {
		int rc = va_server_refresh_keys(s, err);
		if (rc) {
			va_server_free(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

void va_server_free(va_server *s)
{
	if (!s)
		return;
	vm_free(s->m);
	veto_trust_free(s->trust);
	keys_free(s->keys, s->nkeys);
	pthread_mutex_destroy(&s->sync_lock);
	pthread_rwlock_destroy(&s->keys_lock);
	pthread_mutex_destroy(&s->rate_lock);
	free(s);
}

vm_matcher *va_server_matcher(va_server *s) { return s->m; }

void va_server_set_ready(va_server *s, int ready) { atomic_store(&s->ready, ready); }

int va_server_sync(va_server *s, size_t *applied, veto_error *err)
{
	return va_server_sync_page(s, 10000, applied, err);
}

int va_server_sync_page(va_server *s, size_t page, size_t *applied, veto_error *err)
{
	size_t total = 0;
	int rc = 0;
	pthread_mutex_lock(&s->sync_lock);
	for (;;) {
		vs_change *ch = NULL;
		size_t n = 0;
		rc = vs_changes_since(s->store, vm_seq(s->m), 0, page, &ch, &n, err);
		if (rc)
			break;
		if (n)
			rc = vm_apply(s->m, ch, n, err);
		vs_changes_free(ch, n);
		if (rc)
			break;
		total += n;
		if (n < page)
			break;
	}
	pthread_mutex_unlock(&s->sync_lock);
	if (rc == 0) {
		atomic_store(&s->last_sync, (long long)time(NULL));
		atomic_fetch_add(&s->sync_applied, total);
	} else {
		atomic_store(&s->last_sync_err, (long long)time(NULL));
	}
	if (applied)
		*applied = total;
	return rc;
}

int va_server_refresh_keys(va_server *s, veto_error *err)
{
	vs_key *k = NULL;
	size_t n = 0;
	int rc = vs_key_list(s->store, &k, &n, err);
	if (rc)
		return rc;
	va_key *nk = calloc(n ? n : 1, sizeof *nk);
	size_t m = 0;
	if (!nk) {
		vs_keys_free(k, n);
		err->code = VETO_ERR_NOMEM;
		snprintf(err->message, sizeof err->message, "out of memory");
		return VETO_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (k[i].revoked || !k[i].key_id)
			continue;
		va_key *v = &nk[m++];
		snprintf(v->key_id, sizeof v->key_id, "%s", k[i].key_id);
		memcpy(v->secret_hash, k[i].secret_hash, 32);
		v->role = va_role_parse(k[i].role);
		v->rate = k[i].rate;
		if (k[i].banks && *k[i].banks) {
			size_t cnt = 1;
			for (const char *p = k[i].banks; *p; p++)
				cnt += *p == ',';
			v->banks = calloc(cnt, sizeof *v->banks);
			char *dup = strdup(k[i].banks), *save = NULL;
			for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t && v->banks;
			     t = strtok_r(NULL, ",", &save))
				v->banks[v->nbanks++] = strdup(t);
			free(dup);
		}
	}
	vs_keys_free(k, n);
	pthread_rwlock_wrlock(&s->keys_lock);
	/* keep the buckets of keys that stay */
	for (size_t i = 0; i < m; i++) {
		nk[i].tokens = -1;
		for (size_t j = 0; j < s->nkeys; j++)
			if (!strcmp(nk[i].key_id, s->keys[j].key_id)) {
				nk[i].tokens = s->keys[j].tokens;
				nk[i].last = s->keys[j].last;
			}
	}
	va_key *old = s->keys;
	size_t oldn = s->nkeys;
	s->keys = nk;
	s->nkeys = m;
	pthread_rwlock_unlock(&s->keys_lock);
	keys_free(old, oldn);
	return 0;
}

/* ------------------------------------------------------------ replies */

static int set_body(va_ctx *c, int status, const char *ctype, char *body)
{
	free(c->resp->body);
	c->resp->status = status;
	c->resp->content_type = ctype;
	c->resp->body = body;
	c->resp->len = body ? strlen(body) : 0;
	return 0;
}

int va_reply(va_ctx *c, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s) {
		set_body(c, 500, "application/json", strdup("{\"message\":\"out of memory\"}"));
		return 0;
	}
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (t) {
		t[n] = '\n';
		t[n + 1] = 0;
		s = t;
	}
	return set_body(c, status, "application/json", s);
}

int va_reply_text(va_ctx *c, int status, const char *text)
{
	return set_body(c, status, "text/html; charset=utf-8", strdup(text));
}

int va_error(va_ctx *c, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *m = json_string(msg);
	if (!m) { /* not UTF-8 (bytes from the path or query): keep it ASCII */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		m = json_string(msg);
	}
	return va_reply(c, status, json_pack("{s:o}", "message", m));
}

int va_store_error(va_ctx *c, const veto_error *e)
{
	switch (e->code) {
	case VS_ERR_NOTFOUND: return va_error(c, 404, "%s", e->message);
	case VS_ERR_CONFLICT: return va_error(c, 403, "%s", e->message);
	case VETO_ERR_INVALID: return va_error(c, 400, "%s", e->message);
	case VS_ERR_DB: {
		/* the detail names hosts and databases: the log gets it, not the client */
		json_t *m = json_string(e->message);
		char *q = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
		vlog(c->s->cfg.log, "error", "storage error", "\"route\":\"%s\",\"detail\":%s",
		     c->resp->route, q ? q : "\"?\"");
		free(q);
		json_decref(m);
		c->resp->retry_after = 1;
		return va_error(c, 503, "storage unavailable; see the server's log");
	}
	default: return va_error(c, 500, "%s", e->message);
	}
}

/* ------------------------------------------------------------ helpers */

const char *va_qarg(const va_request *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (!strcmp(r->query[i].key, name))
			return r->query[i].value ? r->query[i].value : "";
	return NULL;
}

int va_arg_bool(va_ctx *c, const char *name, int def, int *out)
{
	const char *v = va_qarg(c->req, name);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = 0;
		return 0;
	}
	va_error(c, 400, "invalid boolean parameter '%s' - prefer true/false", name);
	return -1;
}

json_t *va_json_body(va_ctx *c, int allow_empty)
{
	const va_request *r = c->req;
	if (!r->body_len) {
		if (allow_empty)
			return json_object();
		va_error(c, 400, "a JSON body is required");
		return NULL;
	}
	if (r->content_type && strncasecmp(r->content_type, "application/json", 16) &&
	    !allow_empty) {
		va_error(c, 415, "expected Content-Type: application/json, got '%.100s'",
		         r->content_type);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb((const char *)r->body, r->body_len,
	                       JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		va_error(c, 400, "malformed JSON body: %s (line %d, column %d)", je.text,
		         je.line, je.column);
		return NULL;
	}
	return j;
}

int va_bank_name_ok(const char *name)
{
	/* HMA's rule: [A-Z_][A-Z0-9_]*; veto also bounds the length */
	size_t n = strlen(name);
	if (!n || n > 128 || isdigit((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isupper((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
		      name[i] == '_'))
			return 0;
	return 1;
}

int va_key_allows_bank(const va_key *k, const char *bank)
{
	if (!k || !k->banks)
		return 1;
	for (size_t i = 0; i < k->nbanks; i++)
		if (!strcmp(k->banks[i], bank))
			return 1;
	return 0;
}

int va_bank_reachable(const va_ctx *c, const char *name)
{
	return va_key_allows_bank(c->key, name) && va_bank_name_ok(name);
}

int va_load_bank(va_ctx *c, const char *name, vs_bank *out)
{
	veto_error e;
	memset(out, 0, sizeof *out);
	if (!va_bank_reachable(c, name)) {
		va_error(c, 404, "bank '%s' not found", name);
		return 0;
	}
	int rc = vs_bank_get(c->s->store, name, out, &e);
	if (rc == VS_ERR_NOTFOUND) {
		va_error(c, 404, "bank '%s' not found", name);
		return 0;
	}
	if (rc) {
		va_store_error(c, &e);
		return 0;
	}
	return 1;
}

int va_load_bank_item(va_ctx *c, vs_bank *b, int (*id_arg)(va_ctx *c, const char *s, int64_t *id),
                      int64_t *id)
{
	if (!va_load_bank(c, c->p[0], b))
		return 0;
	if (id_arg(c, c->p[1], id)) {
		vs_bank_clear(b);
		return 0;
	}
	return 1;
}

int va_list_banks(va_ctx *c, vs_bank **out, size_t *n)
{
	veto_error e;
	if (vs_bank_list(c->s->store, out, n, &e))
		return va_store_error(c, &e) - 1;
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if ((*out)[i].name && va_key_allows_bank(c->key, (*out)[i].name))
			(*out)[k++] = (*out)[i];
		else
			vs_bank_clear(&(*out)[i]);
	}
	*n = k;
	return 0;
}

int va_live_content(va_ctx *c, const vs_bank *b, int64_t id, vs_content *ct)
{
	veto_error e;
	memset(ct, 0, sizeof *ct);
	int rc = vs_content_get(c->s->store, id, ct, &e);
	if (rc == 0 && (ct->bank_id != b->id || ct->status == VS_DELETED)) {
		vs_content_clear(ct);
		rc = VS_ERR_NOTFOUND;
	}
	if (rc == VS_ERR_NOTFOUND)
		return 0;
	if (rc)
		return va_store_error(c, &e) - 1;
	return 1;
}

int va_signal_append(vs_content *e, int t, const char *value, size_t len, veto_error *err)
{
	char *canon = NULL;
	int rc = vsig_parse(t, value, len, NULL, &canon, err);
	if (rc)
		return rc;
	vs_signal *sv = realloc(e->signals, (e->nsignals + 1) * sizeof *sv);
	if (!sv) {
		free(canon);
		err->code = VETO_ERR_NOMEM;
		snprintf(err->message, sizeof err->message, "out of memory");
		return VETO_ERR_NOMEM;
	}
	e->signals = sv;
	sv[e->nsignals].type = (char *)vsig_name(t);
	sv[e->nsignals].value = canon;
	e->nsignals++;
	return 0;
}

void va_signals_free(vs_content *e)
{
	for (size_t i = 0; i < e->nsignals; i++)
		free(e->signals[i].value);
	free(e->signals);
	e->signals = NULL;
	e->nsignals = 0;
}

static size_t utf8_chars(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xC0) != 0x80;
	return k;
}

int va_text_value(json_t *v, size_t max_bytes, size_t max_chars, const char **s, size_t *n)
{
	*s = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return VA_TEXT_OK;
	if (!json_is_string(v))
		return VA_TEXT_NOT_STRING;
	size_t len = json_string_length(v);
	if (!len)
		return VA_TEXT_OK;
	if (max_bytes && len > max_bytes)
		return VA_TEXT_TOO_MANY_BYTES;
	if (max_chars && utf8_chars(json_string_value(v), len) > max_chars)
		return VA_TEXT_TOO_MANY_CHARS;
	*s = json_string_value(v);
	*n = len;
	return VA_TEXT_OK;
}

char *va_metadata_text(const json_t *m)
{
	return json_object_size(m) ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

json_t *va_metadata_json(const vs_content *ct)
{
	return ct->metadata_json ? json_loads(ct->metadata_json, 0, NULL) : NULL;
}

void va_after_write(va_ctx *c)
{
	veto_error e;
	atomic_fetch_add(&c->s->writes, 1);
	va_server_sync(c->s, NULL, &e);
}

int va_signal_type(va_ctx *c, const char *name)
{
	int t = name ? vsig_from_name(name) : -1;
	if (t < 0) {
		va_error(c, 400, "No such SignalType '%s'", name ? name : "");
		return -1;
	}
	if (c->s->st_ratio[t] <= 0) {
		va_error(c, 400, "SignalType '%s' is not enabled", name);
		return -1;
	}
	return t;
}

int va_types_mask(va_ctx *c, int content, const char *types, unsigned *mask)
{
	*mask = 0;
	for (int t = 0; t < VSIG_COUNT; t++)
		if (vsig_content_of(t) == content && c->s->st_ratio[t] > 0)
			*mask |= 1u << t;
	if (!*mask) {
		va_error(c, 500, "No signal types configured!");
		return -1;
	}
	if (!types)
		return 0;
	unsigned want = 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", types);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t l = strlen(t);
		while (l && t[l - 1] == ' ')
			t[--l] = 0;
		if (!*t)
			continue;
		int ty = vsig_from_name(t);
		if (ty < 0 || !(*mask & (1u << ty))) {
			va_error(c, 400, "signal type '%s' doesn't exist or is disabled", t);
			return -1;
		}
		want |= 1u << ty;
	}
	if (!want) {
		va_error(c, 400, "empty signal type selection");
		return -1;
	}
	*mask = want;
	return 0;
}

static int content_enabled(va_ctx *c, const char *name, int *content)
{
	int ct = vsig_content_from_name(name);
	if (ct < 0) {
		va_error(c, 400, "no such content_type: '%s'", name);
		return -1;
	}
	*content = ct;
	return 0;
}

int va_hash_upload(va_ctx *c, unsigned mask, vsig_hashes *out, int *content)
{
	va_request *r = c->req;
	memset(out, 0, sizeof *out);
	const va_part *file = NULL;
	size_t nfiles = 0;
	for (size_t i = 0; i < r->nparts; i++)
		if (r->parts[i].is_file) {
			nfiles++;
			file = &r->parts[i];
		}
	if (!nfiles) {
		va_error(c, 400, "Missing multipart/form-data file upload");
		return -1;
	}
	if (nfiles > 1) {
		va_error(c, 400, "Only one file allowed per request");
		return -1;
	}
	int ct;
	if (content_enabled(c, file->name, &ct))
		return -1;
	if (mask == 0 && va_types_mask(c, ct, va_qarg(r, "types"), &mask))
		return -1;
	vsig_hash_limits lim = {c->s->cfg.max_pixels, c->s->cfg.video_seconds, 1};
	veto_error e;
	atomic_fetch_add(&c->s->hashes, 1);
	atomic_fetch_add(&c->s->upload_bytes, file->len);
	const char *label = file->filename[0] ? file->filename : file->name;
	if (vsig_hash_bytes(ct, file->data, file->len, label, mask, &lim, out, &e)) {
		vsig_hashes_clear(out);
		va_error(c, e.code == VETO_ERR_NOMEM ? 500 : 400, "cannot hash the upload: %s",
		         e.message);
		return -1;
	}
	if (content)
		*content = ct;
	return 0;
}

/* ------------------------------------------------------------- lookups */

static double coinflip_value(const char *seed)
{
	if (!seed) {
		/* a per-thread xorshift: rand() would serialise every lookup on
		 * glibc's lock */
		static _Thread_local uint64_t x;
		if (!x) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&x ^ 0x9E3779B97F4A7C15ull;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		return (double)(x >> 11) / 9007199254740992.0;
	}
	unsigned char d[32];
	SHA256((const unsigned char *)seed, strlen(seed), d);
	uint64_t x = 0;
	for (int i = 0; i < 7; i++)
		x = x << 8 | d[i];
	return (double)x / (double)(1ull << 56);
}

json_t *va_lookup_by_bank(va_ctx *c, int type, const char *signal, int only_enabled,
                          int bypass_coinflip, const char *banks_csv, const char *seed)
{
	vsig_value q;
	veto_error e;
	if (vsig_parse(type, signal, strlen(signal), &q, NULL, &e)) {
		va_error(c, 400, "invalid signal: %s", e.message);
		return NULL;
	}
	if (!atomic_load(&c->s->ready)) {
		vsig_value_clear(&q);
		c->resp->retry_after = 1;
		va_error(c, 503, "index not yet ready");
		return NULL;
	}
	vm_hit *hits = NULL;
	size_t n = 0;
	int rc = vm_query(c->s->m, &q, NULL, 0, c->now, &hits, &n, &e);
	vsig_value_clear(&q);
	atomic_fetch_add(&c->s->lookups, 1);
	if (rc) {
		va_error(c, 500, "lookup failed: %s", e.message);
		return NULL;
	}
	double flip = bypass_coinflip ? 0 : coinflip_value(seed);
	json_t *res = json_object();
	for (size_t i = 0; i < n; i++) {
		vm_bank_info b;
		if (only_enabled && !hits[i].enabled)
			continue;
		if (vm_bank(c->s->m, hits[i].bank_id, &b))
			continue;
		if (!va_key_allows_bank(c->key, b.name))
			continue;
		if (only_enabled && !(b.ratio >= flip))
			continue;
		if (banks_csv) {
			/* exact membership in the comma-separated list */
			int found = 0;
			size_t bl = strlen(b.name);
			for (const char *p = banks_csv; *p;) {
				const char *q2 = strchr(p, ',');
				size_t l = q2 ? (size_t)(q2 - p) : strlen(p);
				if (l == bl && !strncmp(p, b.name, l))
					found = 1;
				p += l + (q2 ? 1 : 0);
				if (!q2)
					break;
			}
			if (!found)
				continue;
		}
		char dist[64];
		vsig_distance_str(type, &hits[i].score, dist, sizeof dist);
		json_t *arr = json_object_get(res, b.name);
		if (!arr) {
			arr = json_array();
			json_object_set_new(res, b.name, arr);
		}
		json_array_append_new(arr, json_pack("{s:I,s:s}", "bank_content_id",
		                                     (json_int_t)hits[i].content_id, "distance",
		                                     dist));
	}
	free(hits);
	return res;
}

/* ------------------------------------------------------------- metrics */

static const double LAT_BOUNDS[VA_LAT_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,   0.25,  0.5,   1,    5};

void va_metrics_observe(va_server *s, const va_response *r, double seconds)
{
	int cls = r->status / 100;
	if (cls < 1 || cls > 5)
		cls = 0;
	atomic_fetch_add(&s->req_by_class[cls], 1);
	int b = 0;
	while (b < VA_LAT_BUCKETS && seconds > LAT_BOUNDS[b])
		b++;
	atomic_fetch_add(&s->lat_count[b], 1);
	atomic_fetch_add(&s->lat_sum_us, (unsigned long long)(seconds * 1e6));
}

void va_buf_put(va_buf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n + 1) {
			if (cap > SIZE_MAX / 2) {
				b->nomem = 1;
				return;
			}
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->nomem = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void va_buf_str(va_buf *b, const char *s) { va_buf_put(b, s, strlen(s)); }

void va_buf_printf(va_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->nomem = 1;
	} else if ((size_t)n < sizeof tmp) {
		va_buf_put(b, tmp, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);
		if (!big) {
			b->nomem = 1;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		va_buf_put(b, big, (size_t)n);
		free(big);
	}
}

char *va_metrics_text(va_server *s)
{
	va_buf b = {0};
	vm_stats st;
	vm_stats_get(s->m, &st);
	va_buf_printf(&b, "# HELP veto_http_requests_total HTTP requests by status class.\n"
	                        "# TYPE veto_http_requests_total counter\n");
	const char *cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
	for (int i = 0; i < 6; i++)
		va_buf_printf(&b, "veto_http_requests_total{code=\"%s\"} %llu\n", cls[i],
		        (unsigned long long)atomic_load(&s->req_by_class[i]));
	va_buf_printf(&b, "# HELP veto_http_request_seconds Request latency.\n"
	                        "# TYPE veto_http_request_seconds histogram\n");
	unsigned long long cum = 0;
	for (int i = 0; i <= VA_LAT_BUCKETS; i++) {
		cum += atomic_load(&s->lat_count[i]);
		if (i < VA_LAT_BUCKETS)
			va_buf_printf(&b, "veto_http_request_seconds_bucket{le=\"%g\"} %llu\n",
			        LAT_BOUNDS[i], cum);
		else
			va_buf_printf(&b, "veto_http_request_seconds_bucket{le=\"+Inf\"} %llu\n",
			        cum);
	}
	va_buf_printf(&b, "veto_http_request_seconds_sum %.6f\n",
	        atomic_load(&s->lat_sum_us) / 1e6);
	va_buf_printf(&b, "veto_http_request_seconds_count %llu\n", cum);
	va_buf_printf(&b,
	        "# TYPE veto_lookups_total counter\nveto_lookups_total %llu\n"
	        "# TYPE veto_uploads_hashed_total counter\nveto_uploads_hashed_total %llu\n"
	        "# TYPE veto_upload_bytes_total counter\nveto_upload_bytes_total %llu\n"
	        "# TYPE veto_writes_total counter\nveto_writes_total %llu\n"
	        "# TYPE veto_auth_rejected_total counter\nveto_auth_rejected_total %llu\n"
	        "# TYPE veto_rate_limited_total counter\nveto_rate_limited_total %llu\n"
	        "# TYPE veto_changes_applied_total counter\nveto_changes_applied_total %llu\n",
	        (unsigned long long)atomic_load(&s->lookups),
	        (unsigned long long)atomic_load(&s->hashes),
	        (unsigned long long)atomic_load(&s->upload_bytes),
	        (unsigned long long)atomic_load(&s->writes),
	        (unsigned long long)atomic_load(&s->rejected_auth),
	        (unsigned long long)atomic_load(&s->rate_limited),
	        (unsigned long long)atomic_load(&s->sync_applied));
	va_buf_printf(&b, "# TYPE veto_index_signals gauge\n");
	for (int t = 0; t < VSIG_COUNT; t++)
		va_buf_printf(&b, "veto_index_signals{signal_type=\"%s\"} %llu\n",
		        vsig_name(t), (unsigned long long)st.signals[t]);
	va_buf_printf(&b,
	        "# TYPE veto_index_contents gauge\nveto_index_contents %llu\n"
	        "# TYPE veto_index_banks gauge\nveto_index_banks %llu\n"
	        "# TYPE veto_index_bytes gauge\nveto_index_bytes %llu\n"
	        "# TYPE veto_index_seq gauge\nveto_index_seq %lld\n"
	        "# TYPE veto_index_ready gauge\nveto_index_ready %d\n"
	        "# TYPE veto_index_last_sync_seconds gauge\nveto_index_last_sync_seconds %lld\n",
	        (unsigned long long)st.contents, (unsigned long long)st.banks,
	        (unsigned long long)st.bytes, (long long)vm_seq(s->m),
	        atomic_load(&s->ready), (long long)atomic_load(&s->last_sync));
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ------------------------------------------------------------ routing */

static int h_status(va_ctx *c)
{
	if (!atomic_load(&c->s->ready))
		return va_reply_text(c, 503, "INDEX-NOT-LOADED");
	int lim = c->s->cfg.index_stale_seconds;
	if (lim > 0 && c->now - atomic_load(&c->s->last_sync) > lim)
		return va_reply_text(c, 503, "INDEX-STALE");
	return va_reply_text(c, 200, "I-AM-ALIVE");
}

static int h_status_live(va_ctx *c) { return va_reply_text(c, 200, "I-AM-ALIVE"); }

static int h_metrics(va_ctx *c)
{
	return set_body(c, 200, "text/plain; version=0.0.4", va_metrics_text(c->s));
}

static const va_route BASE_ROUTES[] = {
	{"GET", "/status", h_status, VA_ROLE_NONE, 0},
	{"GET", "/status/live", h_status_live, VA_ROLE_NONE, 0},
	{"GET", "/metrics", h_metrics, VA_ROLE_ADMIN, 0},
	{NULL, NULL, NULL, 0, 0},
};

/* Match path against pattern; "{}" takes one non-empty segment. */
static int match_pattern(const char *pat, const char *path, va_ctx *c)
{
	int np = 0;
	while (*pat && *path) {
		if (pat[0] == '{' && pat[1] == '}') {
			const char *end = strchr(path, '/');
			size_t l = end ? (size_t)(end - path) : strlen(path);
			if (!l || l >= sizeof c->pbuf[0] || np >= 3)
				return 0;
			memcpy(c->pbuf[np], path, l);
			c->pbuf[np][l] = 0;
			c->p[np] = c->pbuf[np];
			np++;
			path += l;
			pat += 2;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	return !*pat && !*path;
}

static const va_route *find_route(va_ctx *c, const char *method, const char *path,
                                  int *path_known)
{
	const va_route *tables[] = {BASE_ROUTES, va_hma_routes, va_v1_routes};
	*path_known = 0;
	for (size_t t = 0; t < 3; t++)
		for (const va_route *r = tables[t]; r->pattern; r++)
			if (match_pattern(r->pattern, path, c)) {
				*path_known = 1;
				if (!strcmp(r->method, method) ||
				    (!strcmp(method, "HEAD") && !strcmp(r->method, "GET")))
					return r;
			}
	return NULL;
}

/* "Bearer veto_<id>_<secret>" -> the key (copied out under the lock). */
static int authenticate(va_ctx *c, va_key *copy)
{
	const char *h = c->req->authorization;
	if (!h || strncasecmp(h, "Bearer ", 7))
		return -1;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	if (strncmp(tok, "veto_", 5))
		return -1;
	const char *id = tok + 5, *us = strchr(id, '_');
	if (!us || us == id || (size_t)(us - id) >= sizeof copy->key_id)
		return -1;
	char key_id[40];
	memcpy(key_id, id, (size_t)(us - id));
	key_id[us - id] = 0;
	const char *secret = us + 1;
	unsigned char d[32];
	SHA256((const unsigned char *)secret, strlen(secret), d);
	int found = -1;
	pthread_rwlock_rdlock(&c->s->keys_lock);
	for (size_t i = 0; i < c->s->nkeys; i++) {
		va_key *k = &c->s->keys[i];
		if (strcmp(k->key_id, key_id))
			continue;
		if (CRYPTO_memcmp(k->secret_hash, d, 32) == 0) {
			*copy = *k;
			copy->banks = NULL;
			copy->nbanks = 0;
			if (k->banks) {
				/* a private copy: the cache may be swapped meanwhile */
				copy->banks = calloc(k->nbanks ? k->nbanks : 1, sizeof *copy->banks);
				for (size_t j = 0; copy->banks && j < k->nbanks; j++)
					if ((copy->banks[j] = strdup(k->banks[j])))
						copy->nbanks++;
				if (!copy->banks)
					break; /* out of memory: treat as unknown */
			}
			found = (int)i;
		}
		break;
	}
	pthread_rwlock_unlock(&c->s->keys_lock);
	return found;
}

static void key_copy_free(va_key *k)
{
	for (size_t j = 0; j < k->nbanks; j++)
		free(k->banks[j]);
	free(k->banks);
}

static int rate_ok(va_server *s, const char *key_id, double *retry)
{
	int ok = 1;
	pthread_rwlock_rdlock(&s->keys_lock);
	pthread_mutex_lock(&s->rate_lock);
	va_key *k = NULL;
	for (size_t i = 0; i < s->nkeys && !k; i++)
		if (!strcmp(s->keys[i].key_id, key_id))
			k = &s->keys[i];
	if (!k) { /* revoked meanwhile: let the request through once */
		pthread_mutex_unlock(&s->rate_lock);
		pthread_rwlock_unlock(&s->keys_lock);
		return 1;
	}
	double rate = k->rate > 0 ? k->rate : s->cfg.default_rate;
	if (rate > 0) {
		double t = now_mono(), burst = rate < 1 ? 1 : rate;
		if (k->tokens < 0) {
			k->tokens = burst;
			k->last = t;
		}
		k->tokens += (t - k->last) * rate;
		if (k->tokens > burst)
			k->tokens = burst;
		k->last = t;
		if (k->tokens >= 1) {
			k->tokens -= 1;
		} else {
			ok = 0;
			*retry = (1 - k->tokens) / rate;
		}
	}
	pthread_mutex_unlock(&s->rate_lock);
	pthread_rwlock_unlock(&s->keys_lock);
	return ok;
}

void va_handle(va_server *s, va_request *req, va_response *resp)
{
	memset(resp, 0, sizeof *resp);
	va_ctx c;
	memset(&c, 0, sizeof c);
	c.s = s;
	c.req = req;
	c.resp = resp;
	c.now = (int64_t)time(NULL);
	int known;
	const char *path = req->path ? req->path : "";
	const va_route *r = find_route(&c, req->method ? req->method : "", path, &known);
	snprintf(resp->route, sizeof resp->route, "%s %s", req->method ? req->method : "?",
	         r ? r->pattern : "?");
	if (!r) {
		if (known)
			va_error(&c, 405, "method %s not allowed on %s", req->method, path);
		else
			va_error(&c, 404, "no such endpoint: %s", path);
		return;
	}
	if (req->query_overflow) {
		va_error(&c, 400, "too many query arguments (at most %d)", VA_MAX_QUERY);
		return;
	}
	if (r->serve && !(s->cfg.serve & r->serve)) {
		va_error(&c, 403, "%s is not served by this process (its --role)", path);
		return;
	}
	int held = 0;
	va_key key;
	if (r->role != VA_ROLE_NONE && !s->cfg.no_auth) {
		int idx = authenticate(&c, &key);
		if (idx < 0) {
			atomic_fetch_add(&s->rejected_auth, 1);
			va_error(&c, 401, "%s", req->authorization
			                         ? "invalid or revoked API key"
			                         : "missing API key: send Authorization: Bearer <key>");
			return;
		}
		held = 1; /* key.banks is ours to free */
		snprintf(resp->key_id, sizeof resp->key_id, "%s", key.key_id);
		c.key = &key;
		c.role = key.role;
		if (c.role < r->role) {
			key_copy_free(&key);
			atomic_fetch_add(&s->rejected_auth, 1);
			va_error(&c, 403, "this key's role (%s) may not use %s %s (needs %s)",
			         va_role_name(c.role), req->method, r->pattern,
			         va_role_name(r->role));
			return;
		}
		double retry = 0;
		if (!rate_ok(s, key.key_id, &retry)) {
			key_copy_free(&key);
			atomic_fetch_add(&s->rate_limited, 1);
			resp->retry_after = (int)ceil(retry);
			if (resp->retry_after < 1)
				resp->retry_after = 1;
			va_error(&c, 429, "rate limit exceeded for key %s", key.key_id);
			return;
		}
	} else {
		c.role = VA_ROLE_ADMIN;
	}
	/* multipart bodies are parsed before any handler sees them */
	if (req->body_len && req->content_type &&
	    !strncasecmp(req->content_type, "multipart/form-data", 19)) {
		char msg[256];
		if (va_multipart_parse(req->content_type, req->body, req->body_len, req->parts,
		                       VA_MAX_PARTS, &req->nparts, msg, sizeof msg)) {
			if (held)
				key_copy_free(&key);
			va_error(&c, 400, "malformed multipart/form-data body: %s", msg);
			return;
		}
	}
	r->fn(&c);
	if (held)
		key_copy_free(&key);
	if (!resp->body)
		va_error(&c, 500, "internal error: no response");
}
