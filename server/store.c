/*
 * store.c - the store's public face: URL parsing, argument checks and
 * dispatch to a backend, the _clear/_free functions, status names.
 *
 * Why a dispatch layer: the two backends (store_sqlite.c, store_pg.c) must
 * behave identically, and most of what "identically" means is at the edges:
 * which argument is invalid, what an output holds after an error (always
 * something the caller can free: outputs are zeroed before the backend
 * runs), that a read-only store refuses writes before touching the
 * database. Doing that once here keeps the backends about SQL only. The
 * cost is one indirect call per operation, which is nothing next to a
 * database round trip.
 *
 * It also holds what the backends would otherwise each write
 * (store_internal.h lists it): the row -> struct conversions, the schema
 * and consistency checks, the messages they share, and the logic of
 * vs_bank_update, vs_bank_delete, vs_content_update and vs_content_delete,
 * which runs here inside a backend's write transaction (vs_ops.write) on
 * its primitives, so that both backends change banks and content by the
 * same steps.
 *
 * URLs (store.h):
 *   "sqlite:PATH", "sqlite://PATH" (so "sqlite:///abs/path" is /abs/path),
 *   or a plain PATH                           -> SQLite
 *   "postgres://...", "postgresql://..."       -> PostgreSQL (libpq URI)
 *   "KEY=VALUE ..." (libpq's keyword form, recognised by a leading
 *   identifier followed by '=')                -> PostgreSQL
 * Any other "scheme://" is refused rather than taken as a file name, and so
 * is "postgres:" without "//". A plain path that starts like "word=" must be
 * written "sqlite:word=...".
 */
#include "store_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------- errors */

int vs_fail(veto_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
		/* one line: libpq and SQLite messages may hold newlines/tabs */
		char *m = err->message;
		for (char *p = m; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		size_t len = strlen(m);
		while (len && m[len - 1] == ' ')
			m[--len] = '\0';
	}
	return code;
}

int vs_no_bank(const vs_store *s, const char *name, int64_t id, veto_error *err)
{
	if (name)
		return vs_fail(err, VS_ERR_NOTFOUND, "%s: no bank named %.128s", s->where, name);
	return vs_fail(err, VS_ERR_NOTFOUND, "%s: no bank with id %lld", s->where, (long long)id);
}

int vs_no_content(const vs_store *s, int64_t id, veto_error *err)
{
	return vs_fail(err, VS_ERR_NOTFOUND, "%s: no content with id %lld", s->where, (long long)id);
}

int vs_name_taken(const vs_store *s, const char *name, veto_error *err)
{
	return vs_fail(err, VS_ERR_CONFLICT, "%s: a bank named %.128s already exists", s->where,
	               name);
}

int vs_nomem(const vs_store *s, veto_error *err)
{
	return vs_fail(err, VETO_ERR_NOMEM, "%s: out of memory", s->where);
}

/* ------------------------------------------------------------ helpers */

char *vs_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *vs_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int vs_reserve(void *v, size_t *cap, size_t need, size_t size)
{
	void **pv = (void **)v;
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / size)
			return VETO_ERR_NOMEM;
		ncap *= 2;
	}
	void *p = realloc(*pv, ncap * size);
	if (!p)
		return VETO_ERR_NOMEM;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*pv = p;
	*cap = ncap;
	return 0;
}

int vs_content_push_signal(vs_content *c, const char *type, const char *value)
{
	/* capacity is not stored: grow to the next power of two on demand */
	size_t n = c->nsignals;
	if ((n & (n - 1)) == 0) { /* n is 0 or a power of two: full */
		size_t ncap = n ? n * 2 : 1;
		vs_signal *p = realloc(c->signals, ncap * sizeof *p);
		if (!p)
			return VETO_ERR_NOMEM;
		c->signals = p;
	}
	vs_signal *sg = &c->signals[n];
	sg->type = strdup(type ? type : "");
	sg->value = strdup(value ? value : "");
	if (!sg->type || !sg->value) {
		free(sg->type);
		free(sg->value);
		return VETO_ERR_NOMEM;
	}
	c->nsignals = n + 1;
	return 0;
}

static int dup_field(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return VETO_ERR_NOMEM;
	return 0;
}

static void free_signals(vs_content *c)
{
	if (c->signals) {
		for (size_t i = 0; i < c->nsignals; i++) {
			free(c->signals[i].type);
			free(c->signals[i].value);
		}
		free(c->signals);
	}
	c->signals = NULL;
	c->nsignals = 0;
}

/* Deep copy of src into dst (dst is overwritten, not freed). */
static int content_copy(vs_content *dst, const vs_content *src)
{
	*dst = *src;
	dst->bank_name = dst->note = dst->metadata_json = NULL;
	dst->source = dst->case_ref = dst->original_media_uri = NULL;
	dst->signals = NULL;
	dst->nsignals = 0;
	if (dup_field(&dst->bank_name, src->bank_name) || dup_field(&dst->note, src->note) ||
	    dup_field(&dst->metadata_json, src->metadata_json) ||
	    dup_field(&dst->source, src->source) || dup_field(&dst->case_ref, src->case_ref) ||
	    dup_field(&dst->original_media_uri, src->original_media_uri))
		goto nomem;
	for (size_t i = 0; i < src->nsignals; i++)
		if (vs_content_push_signal(dst, src->signals[i].type, src->signals[i].value))
			goto nomem;
	return 0;
nomem:
	vs_content_clear(dst);
	return VETO_ERR_NOMEM;
}

/* Make v a tombstone: status VS_DELETED, no signals, note, metadata or
 * original media URI (source and case_ref, the provenance, stay). */
static void content_tombstone(vs_content *v)
{
	v->status = VS_DELETED;
	free(v->note);
	free(v->metadata_json);
	free(v->original_media_uri);
	v->note = v->metadata_json = v->original_media_uri = NULL;
	free_signals(v);
}

/* Replace *dst by a copy of src: 0 or VETO_ERR_NOMEM. */
static int set_str(char **dst, const char *src)
{
	char *p = NULL;
	if (src && !(p = strdup(src)))
		return VETO_ERR_NOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

/* Apply vs_content_update's `what` fields of in to cur (a tombstone if the
 * status becomes VS_DELETED). 0 or VETO_ERR_NOMEM. */
static int content_merge(vs_content *cur, unsigned what, const vs_content *in)
{
	if (what & VS_SET_DISABLE_UNTIL)
		cur->disable_until_ts = in->disable_until_ts;
	if (what & VS_SET_STATUS)
		cur->status = in->status;
	if (((what & VS_SET_NOTE) && set_str(&cur->note, in->note)) ||
	    ((what & VS_SET_METADATA) && set_str(&cur->metadata_json, in->metadata_json)) ||
	    ((what & VS_SET_SOURCE) && set_str(&cur->source, in->source)) ||
	    ((what & VS_SET_CASE_REF) && set_str(&cur->case_ref, in->case_ref)))
		return VETO_ERR_NOMEM;
	if (cur->status == VS_DELETED)
		content_tombstone(cur);
	return 0;
}

static int bank_copy(vs_bank *dst, const vs_bank *src)
{
	*dst = *src;
	dst->name = NULL;
	return dup_field(&dst->name, src->name);
}

/* Binary search by id in n elements of `size` bytes sorted by ascending
 * id, which each begins with (vs_content, vs_bank). */
_Static_assert(offsetof(vs_content, id) == 0 && offsetof(vs_bank, id) == 0,
               "find_by_id reads the id at the start of the element");
static void *find_by_id(void *v, size_t n, size_t size, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		char *e = (char *)v + mid * size;
		int64_t eid = *(const int64_t *)(const void *)e;
		if (eid < id)
			lo = mid + 1;
		else if (eid > id)
			hi = mid;
		else
			return e;
	}
	return NULL;
}

vs_content *vs_content_find(vs_content *v, size_t n, int64_t id)
{
	return find_by_id(v, n, sizeof *v, id);
}

/* Fill p->ch[i].bank / .content from the entities read for the page (deep
 * copies). A change whose entity is missing gets a bare record: the id,
 * and deleted / VS_DELETED. */
static int changes_fill(vs_page *p)
{
	for (size_t i = 0; i < p->nch; i++) {
		vs_change *c = &p->ch[i];
		if (c->kind == VS_CHANGE_BANK) {
			vs_bank *b = find_by_id(p->banks, p->nbanks, sizeof *b, c->bank_id);
			if (b) {
				if (bank_copy(&c->bank, b))
					return VETO_ERR_NOMEM;
			} else {
				c->bank.id = c->bank_id;
				c->bank.deleted = 1;
			}
		} else {
			vs_content *v = vs_content_find(p->v, p->n, c->content_id);
			if (v) {
				if (content_copy(&c->content, v))
					return VETO_ERR_NOMEM;
			} else {
				c->content.id = c->content_id;
				c->content.bank_id = c->bank_id;
				c->content.status = VS_DELETED;
			}
		}
	}
	return 0;
}

void vs_page_clear(vs_page *p)
{
	vs_changes_free(p->ch, p->nch);
	vs_contents_free(p->v, p->n);
	vs_banks_free(p->banks, p->nbanks);
	memset(p, 0, sizeof *p);
}

int vs_first_bank(const vs_store *s, vs_bank *v, size_t n, const char *name, int64_t id,
                  vs_bank *out, veto_error *err)
{
	if (n == 0) {
		free(v);
		return vs_no_bank(s, name, id, err);
	}
	*out = v[0];
	for (size_t i = 1; i < n; i++)
		vs_bank_clear(&v[i]);
	free(v);
	return 0;
}

int vs_first_content(const vs_store *s, vs_content *v, size_t n, int64_t id,
                     vs_content *out, veto_error *err)
{
	if (n == 0) {
		free(v);
		return vs_no_content(s, id, err);
	}
	*out = v[0];
	for (size_t i = 1; i < n; i++)
		vs_content_clear(&v[i]);
	free(v);
	return 0;
}

int vs_bank_name_free(vs_store *s, void *conn, const char *name, veto_error *err)
{
	vs_bank b = {0};
	int rc = s->ops->get_bank(s, conn, name, 0, &b, err);
	if (rc == 0) {
		vs_bank_clear(&b);
		return vs_name_taken(s, name, err);
	}
	return rc == VS_ERR_NOTFOUND ? 0 : rc;
}

/* --------------------------------------------------------- row reading */

#define I64(col) r->ops->i64(r, (col))

int vs_bank_from_row(const vs_row *r, void *dst)
{
	vs_bank *b = dst;
	memset(b, 0, sizeof *b);
	b->id = I64(0);
	b->enabled_ratio = r->ops->dbl(r, 2);
	b->created = I64(3);
	b->updated = I64(4);
	b->deleted = I64(5) != 0;
	return r->ops->str(r, 1, 1, &b->name);
}

int vs_content_from_row(const vs_row *r, void *dst)
{
	vs_content *c = dst;
	memset(c, 0, sizeof *c);
	c->id = I64(0);
	c->bank_id = I64(1);
	c->disable_until_ts = I64(2);
	c->status = (int)I64(3);
	c->created = I64(9);
	c->updated = I64(10);
	c->seq = I64(11);
	c->bank_ratio = r->ops->dbl(r, 13);
	if (r->ops->str(r, 4, 0, &c->note) || r->ops->str(r, 5, 0, &c->metadata_json) ||
	    r->ops->str(r, 6, 0, &c->source) || r->ops->str(r, 7, 0, &c->case_ref) ||
	    r->ops->str(r, 8, 0, &c->original_media_uri) ||
	    r->ops->str(r, 12, 0, &c->bank_name)) {
		vs_content_clear(c);
		return VETO_ERR_NOMEM;
	}
	return 0;
}

int vs_change_from_row(const vs_row *r, void *dst)
{
	vs_change *ch = dst;
	memset(ch, 0, sizeof *ch);
	ch->seq = I64(0);
	ch->kind = (int)I64(1);
	ch->ts = I64(2);
	ch->bank_id = I64(3);
	ch->content_id = I64(4);
	return 0;
}

int vs_key_from_row(const vs_row *r, void *dst)
{
	vs_key *k = dst;
	memset(k, 0, sizeof *k);
	k->rate = r->ops->dbl(r, 4);
	k->created = I64(6);
	k->revoked = I64(7);
	if (r->ops->str(r, 0, 1, &k->key_id) || r->ops->str(r, 2, 1, &k->role) ||
	    r->ops->str(r, 3, 0, &k->banks) || r->ops->str(r, 5, 0, &k->name)) {
		vs_key_clear(k);
		return VETO_ERR_NOMEM;
	}
	return 0;
}

#undef I64

/* -------------------------------------------------------------- checks */

int vs_check_version(const vs_store *s, int64_t v, int readonly, veto_error *err)
{
	if (v < 0)
		return vs_fail(err, VETO_ERR_CORRUPT, "%s: damaged: veto_schema holds no version",
		               s->where);
	if (v > VS_SCHEMA_VERSION)
		return vs_fail(err, VETO_ERR_UNSUPPORTED,
		               "%s: schema version %lld is newer than this veto knows (%d): upgrade veto",
		               s->where, (long long)v, VS_SCHEMA_VERSION);
	if (readonly && v == 0)
		return vs_fail(err, VETO_ERR_UNSUPPORTED,
		               "%s: not initialised: no veto schema yet (open it read-write once to create it)",
		               s->where);
	if (readonly && v != VS_SCHEMA_VERSION)
		return vs_fail(err, VETO_ERR_UNSUPPORTED,
		               "%s: schema version %lld, this veto needs %d (open it read-write once to migrate)",
		               s->where, (long long)v, VS_SCHEMA_VERSION);
	return 0;
}

/* Consistency of the change sequence: every content row's seq is a change
 * row about that content, every change names an existing entity, and
 * deleted content holds no signals. */
static const char *const consistency[][2] = {
	{"SELECT count(*) FROM veto_content c WHERE NOT EXISTS (SELECT 1 FROM veto_changes h"
	 " WHERE h.seq = c.seq AND h.kind = 1 AND h.content_id = c.id)",
	 "content rows whose seq is not a change of theirs"},
	{"SELECT count(*) FROM veto_changes h WHERE h.kind = 1 AND NOT EXISTS"
	 " (SELECT 1 FROM veto_content c WHERE c.id = h.content_id)",
	 "content changes naming no content"},
	{"SELECT count(*) FROM veto_changes h WHERE h.kind = 2 AND NOT EXISTS"
	 " (SELECT 1 FROM veto_banks b WHERE b.id = h.bank_id)",
	 "bank changes naming no bank"},
	{"SELECT count(*) FROM veto_changes WHERE kind NOT IN (1, 2)", "changes of unknown kind"},
	{"SELECT count(*) FROM veto_signals s JOIN veto_content c ON c.id = s.content_id"
	 " WHERE c.status = 2",
	 "signals of deleted content"},
};

int vs_check_consistency(vs_store *s, void *conn, int64_t version,
                         int (*count)(vs_store *s, void *conn, const char *sql, int64_t *n,
                                      veto_error *err),
                         veto_error *err)
{
	if (version != VS_SCHEMA_VERSION)
		return vs_fail(err, VETO_ERR_CORRUPT, "%s: schema version is %lld, expected %d",
		               s->where, (long long)version, VS_SCHEMA_VERSION);
	for (size_t i = 0; i < sizeof consistency / sizeof consistency[0]; i++) {
		int64_t bad = 0;
		int rc = count(s, conn, consistency[i][0], &bad, err);
		if (rc)
			return rc;
		if (bad)
			return vs_fail(err, VETO_ERR_CORRUPT, "%s: inconsistent: %lld %s", s->where,
			               (long long)bad, consistency[i][1]);
	}
	return 0;
}

/* ------------------------------------------------------------- hex */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vs_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (!hex || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void vs_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ------------------------------------------------------- names, frees */

const char *vs_status_name(int status)
{
	switch (status) {
	case VS_ACTIVE: return "active";
	case VS_WITHDRAWN: return "withdrawn";
	case VS_DELETED: return "deleted";
	default: return "unknown";
	}
}

int vs_status_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "active"))
		return VS_ACTIVE;
	if (!strcmp(s, "withdrawn"))
		return VS_WITHDRAWN;
	if (!strcmp(s, "deleted"))
		return VS_DELETED;
	return -1;
}

void vs_bank_clear(vs_bank *b)
{
	if (!b)
		return;
	free(b->name);
	memset(b, 0, sizeof *b);
}

void vs_banks_free(vs_bank *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		vs_bank_clear(&v[i]);
	free(v);
}

void vs_content_clear(vs_content *c)
{
	if (!c)
		return;
	free(c->bank_name);
	free(c->note);
	free(c->metadata_json);
	free(c->source);
	free(c->case_ref);
	free(c->original_media_uri);
	free_signals(c);
	memset(c, 0, sizeof *c);
}

void vs_contents_free(vs_content *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		vs_content_clear(&v[i]);
	free(v);
}

void vs_changes_free(vs_change *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		vs_bank_clear(&v[i].bank);
		vs_content_clear(&v[i].content);
	}
	free(v);
}

void vs_key_clear(vs_key *k)
{
	if (!k)
		return;
	free(k->key_id);
	free(k->role);
	free(k->banks);
	free(k->name);
	memset(k, 0, sizeof *k);
}

void vs_keys_free(vs_key *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		vs_key_clear(&v[i]);
	free(v);
}

/* ------------------------------------------------------------- opening */

int vs_url_parse(const char *url, int *backend, const char **target, veto_error *err)
{
	if (!url || !*url)
		return vs_fail(err, VETO_ERR_INVALID, "store: no database URL given");
	if (!strncmp(url, "sqlite:", 7)) {
		const char *p = url + 7;
		if (p[0] == '/' && p[1] == '/')
			p += 2;
		if (!*p)
			return vs_fail(err, VETO_ERR_INVALID, "store: \"%s\" names no file", url);
		*backend = VS_BACKEND_SQLITE;
		*target = p;
		return 0;
	}
	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)) {
		*backend = VS_BACKEND_POSTGRES;
		*target = url;
		return 0;
	}
	if (!strncmp(url, "postgres:", 9) || !strncmp(url, "postgresql:", 11))
		return vs_fail(err, VETO_ERR_INVALID,
		               "store: \"%.100s\" is not a PostgreSQL URL (postgresql://...)", url);
	/* another scheme:// is a mistake, not a file name */
	const char *p = url;
	if (isalpha((unsigned char)*p)) {
		while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
			p++;
		if (!strncmp(p, "://", 3))
			return vs_fail(err, VETO_ERR_INVALID,
			               "store: unknown database URL scheme in \"%.*s\" (use sqlite:PATH or postgresql://...)",
			               (int)(p - url), url);
	}
	/* libpq keyword form: "host=... dbname=..." */
	p = url;
	while (isspace((unsigned char)*p))
		p++;
	const char *q = p;
	while (isalpha((unsigned char)*q) || *q == '_')
		q++;
	if (q > p) {
		while (isspace((unsigned char)*q))
			q++;
		if (*q == '=') {
			*backend = VS_BACKEND_POSTGRES;
			*target = url;
			return 0;
		}
	}
	*backend = VS_BACKEND_SQLITE;
	*target = url;
	return 0;
}

int vs_open(vs_store **out, const char *url, int readonly, veto_error *err)
{
	if (!out)
		return vs_fail(err, VETO_ERR_INVALID, "store: no output pointer");
	*out = NULL;
	int backend = 0;
	const char *target = NULL;
	int rc = vs_url_parse(url, &backend, &target, err);
	if (rc)
		return rc;
	if (backend == VS_BACKEND_SQLITE)
		return vs_sqlite_open(out, target, readonly ? 1 : 0, err);
	return vs_pg_open(out, target, readonly ? 1 : 0, err);
}

void vs_close(vs_store *s)
{
	if (s)
		s->ops->close(s);
}

const char *vs_backend(const vs_store *s)
{
	return s ? s->ops->name : NULL;
}

#define NEED_STORE()                                                         \
	do {                                                                 \
		if (!s)                                                      \
			return vs_fail(err, VETO_ERR_INVALID, "store: no store (NULL)"); \
	} while (0)

#define NEED(cond, ...)                                                      \
	do {                                                                 \
		if (!(cond))                                                 \
			return vs_fail(err, VETO_ERR_INVALID, __VA_ARGS__);  \
	} while (0)

#define NEED_WRITABLE()                                                      \
	NEED(!s->readonly, "%s: the store is open read-only", s->where)

int vs_check(vs_store *s, veto_error *err)
{
	NEED_STORE();
	return s->ops->check(s, err);
}

/* --------------------------------------------------------------- banks */

static int valid_ratio(double r)
{
	return r >= 0.0 && r <= 1.0; /* false for NaN */
}

int vs_bank_list(vs_store *s, vs_bank **out, size_t *n, veto_error *err)
{
	NEED_STORE();
	NEED(out && n, "%s: vs_bank_list: no output", s->where);
	*out = NULL;
	*n = 0;
	return s->ops->bank_list(s, out, n, err);
}

int vs_bank_get(vs_store *s, const char *name, vs_bank *out, veto_error *err)
{
	NEED_STORE();
	NEED(out, "%s: vs_bank_get: no output", s->where);
	memset(out, 0, sizeof *out);
	NEED(name && *name, "%s: no bank name given", s->where);
	return s->ops->bank_get(s, name, 0, out, err);
}

int vs_bank_get_by_id(vs_store *s, int64_t id, vs_bank *out, veto_error *err)
{
	NEED_STORE();
	NEED(out, "%s: vs_bank_get_by_id: no output", s->where);
	memset(out, 0, sizeof *out);
	if (id <= 0)
		return vs_no_bank(s, NULL, id, err);
	return s->ops->bank_get(s, NULL, id, out, err);
}

int vs_bank_create(vs_store *s, const char *name, double ratio, vs_bank *out,
                   veto_error *err)
{
	NEED_STORE();
	if (out)
		memset(out, 0, sizeof *out);
	NEED_WRITABLE();
	NEED(name && *name, "%s: no bank name given", s->where);
	NEED(valid_ratio(ratio), "%s: bank %.128s: enabled ratio %g is not in 0..1", s->where,
	     name, ratio);
	return s->ops->bank_create(s, name, ratio, out, err);
}

/* The seq and time of the next change, inside a write. */
static int next_change(vs_store *s, void *conn, int64_t *seq, int64_t *now, veto_error *err)
{
	*now = (int64_t)time(NULL);
	return s->ops->next_seq(s, conn, seq, err);
}

/* The shared steps of bank writes, inside the backend's write transaction
 * (vs_txn_fn). */
struct bank_write {
	const char *name, *new_name;
	double ratio;
	vs_bank *out;
};

static int bank_update_fn(vs_store *s, void *conn, void *arg, veto_error *err)
{
	struct bank_write *a = arg;
	vs_bank b = {0};
	int rc = s->ops->get_bank(s, conn, a->name, 0, &b, err);
	if (rc)
		return rc;
	int64_t seq = 0, now = 0;
	if (a->new_name && strcmp(a->new_name, b.name) != 0)
		rc = vs_bank_name_free(s, conn, a->new_name, err);
	if (rc == 0 && (rc = next_change(s, conn, &seq, &now, err)) == 0) /* NULL, < 0: keep */
		rc = s->ops->put_bank(s, conn, seq, now, b.id, a->new_name ? a->new_name : b.name,
		                      a->ratio >= 0 ? a->ratio : b.enabled_ratio, err);
	int64_t id = b.id;
	vs_bank_clear(&b);
	if (rc == 0 && a->out)
		rc = s->ops->get_bank(s, conn, NULL, id, a->out, err);
	return rc;
}

static int bank_delete_fn(vs_store *s, void *conn, void *arg, veto_error *err)
{
	struct bank_write *a = arg;
	vs_bank b = {0};
	int rc = s->ops->get_bank(s, conn, a->name, 0, &b, err);
	if (rc)
		return rc;
	int64_t id = b.id, seq = 0, now = 0;
	vs_bank_clear(&b);
	if ((rc = next_change(s, conn, &seq, &now, err)))
		return rc;
	return s->ops->erase_bank(s, conn, seq, now, id, a->name, err);
}

int vs_bank_update(vs_store *s, const char *name, const char *new_name, double ratio,
                   vs_bank *out, veto_error *err)
{
	NEED_STORE();
	if (out)
		memset(out, 0, sizeof *out);
	NEED_WRITABLE();
	NEED(name && *name, "%s: no bank name given", s->where);
	NEED(!new_name || *new_name, "%s: bank %.128s: the new name is empty", s->where, name);
	NEED(ratio < 0 || valid_ratio(ratio), "%s: bank %.128s: enabled ratio %g is not in 0..1",
	     s->where, name, ratio);
	struct bank_write a = {.name = name, .new_name = new_name, .ratio = ratio, .out = out};
	int rc = s->ops->write(s, bank_update_fn, &a, err);
	if (rc && out)
		vs_bank_clear(out);
	return rc;
}

int vs_bank_delete(vs_store *s, const char *name, veto_error *err)
{
	NEED_STORE();
	NEED_WRITABLE();
	NEED(name && *name, "%s: no bank name given", s->where);
	struct bank_write a = {.name = name};
	return s->ops->write(s, bank_delete_fn, &a, err);
}

/* ------------------------------------------------------------- content */

static int check_content_in(vs_store *s, const vs_content *c, size_t i, veto_error *err)
{
	NEED(c->status == VS_ACTIVE || c->status == VS_WITHDRAWN,
	     "%s: content #%zu: status %d is not active or withdrawn", s->where, i, c->status);
	NEED(c->nsignals == 0 || c->signals, "%s: content #%zu: %zu signals but no array",
	     s->where, i, c->nsignals);
	for (size_t k = 0; k < c->nsignals; k++)
		NEED(c->signals[k].type && *c->signals[k].type && c->signals[k].value,
		     "%s: content #%zu: signal %zu has no type or value", s->where, i, k);
	return 0;
}

int vs_content_add(vs_store *s, int64_t bank_id, const vs_content *in, int64_t *id,
                   int64_t *seq, veto_error *err)
{
	if (id)
		*id = 0;
	if (seq)
		*seq = 0;
	NEED_STORE();
	NEED_WRITABLE();
	NEED(in, "%s: vs_content_add: no content", s->where);
	return vs_content_add_many(s, bank_id, in, 1, id, seq, err);
}

int vs_content_add_many(vs_store *s, int64_t bank_id, const vs_content *in, size_t n,
                        int64_t *first_id, int64_t *last_seq, veto_error *err)
{
	if (first_id)
		*first_id = 0;
	if (last_seq)
		*last_seq = 0;
	NEED_STORE();
	NEED_WRITABLE();
	NEED(in || n == 0, "%s: vs_content_add_many: no content", s->where);
	for (size_t i = 0; i < n; i++) {
		int rc = check_content_in(s, &in[i], i, err);
		if (rc)
			return rc;
	}
	if (bank_id <= 0)
		return vs_no_bank(s, NULL, bank_id, err);
	if (n == 0)
		return 0; /* nothing written: no ids, no seq */
	int64_t first = 0, last = 0;
	int rc = s->ops->content_add_many(s, bank_id, in, n, &first, &last, err);
	if (rc == 0) {
		if (first_id)
			*first_id = first;
		if (last_seq)
			*last_seq = last;
	}
	return rc;
}

int vs_content_get(vs_store *s, int64_t id, vs_content *out, veto_error *err)
{
	NEED_STORE();
	NEED(out, "%s: vs_content_get: no output", s->where);
	memset(out, 0, sizeof *out);
	if (id <= 0)
		return vs_no_content(s, id, err);
	return s->ops->content_get(s, id, out, err);
}

/* The shared steps of an update and a delete, inside the backend's write
 * transaction (vs_txn_fn). */
struct content_write {
	int64_t bank_id, id;
	unsigned what;
	const vs_content *in;
	vs_content *out;
	int64_t seq;
	int deleted;
};

/* The live content id of bank_id into *cur, else NOTFOUND. */
static int get_live(vs_store *s, void *conn, int64_t bank_id, int64_t id, vs_content *cur,
                    veto_error *err)
{
	int rc = s->ops->get_content(s, conn, id, cur, err);
	if (rc)
		return rc;
	if (cur->bank_id != bank_id || cur->status == VS_DELETED) {
		vs_content_clear(cur);
		return vs_fail(err, VS_ERR_NOTFOUND, "%s: no live content %lld in bank %lld", s->where,
		               (long long)id, (long long)bank_id);
	}
	return 0;
}

static int update_fn(vs_store *s, void *conn, void *arg, veto_error *err)
{
	struct content_write *a = arg;
	vs_content cur = {0};
	int rc = get_live(s, conn, a->bank_id, a->id, &cur, err);
	if (rc)
		return rc;
	if (content_merge(&cur, a->what, a->in)) {
		vs_content_clear(&cur);
		return vs_nomem(s, err);
	}
	int64_t now = 0;
	if ((rc = next_change(s, conn, &a->seq, &now, err)) == 0)
		rc = s->ops->put_content(s, conn, a->seq, now, &cur, err);
	vs_content_clear(&cur);
	if (rc == 0 && a->out)
		rc = s->ops->get_content(s, conn, a->id, a->out, err);
	return rc;
}

static int delete_fn(vs_store *s, void *conn, void *arg, veto_error *err)
{
	struct content_write *a = arg;
	vs_content cur = {0};
	int rc = get_live(s, conn, a->bank_id, a->id, &cur, err);
	if (rc == VS_ERR_NOTFOUND)
		return 0; /* nothing to delete: not an error */
	if (rc)
		return rc;
	content_tombstone(&cur);
	int64_t now = 0;
	if ((rc = next_change(s, conn, &a->seq, &now, err)) == 0)
		rc = s->ops->put_content(s, conn, a->seq, now, &cur, err);
	vs_content_clear(&cur);
	if (rc == 0)
		a->deleted = 1;
	return rc;
}

int vs_content_update(vs_store *s, int64_t bank_id, int64_t id, unsigned what,
                      const vs_content *in, vs_content *out, int64_t *seq,
                      veto_error *err)
{
	if (out)
		memset(out, 0, sizeof *out);
	if (seq)
		*seq = 0;
	NEED_STORE();
	NEED_WRITABLE();
	const unsigned known = VS_SET_DISABLE_UNTIL | VS_SET_NOTE | VS_SET_STATUS |
	                       VS_SET_METADATA | VS_SET_SOURCE | VS_SET_CASE_REF;
	NEED(!(what & ~known), "%s: content %lld: unknown update fields 0x%x", s->where,
	     (long long)id, what & ~known);
	NEED(in || !what, "%s: content %lld: no new values given", s->where, (long long)id);
	if (what & VS_SET_STATUS)
		NEED(in->status == VS_ACTIVE || in->status == VS_WITHDRAWN ||
		             in->status == VS_DELETED,
		     "%s: content %lld: status %d is unknown", s->where, (long long)id,
		     in->status);
	if (id <= 0 || bank_id <= 0)
		return vs_fail(err, VS_ERR_NOTFOUND, "%s: no content %lld in bank %lld", s->where,
		               (long long)id, (long long)bank_id);
	vs_content zero;
	memset(&zero, 0, sizeof zero);
	struct content_write a = {.bank_id = bank_id, .id = id, .what = what,
	                          .in = in ? in : &zero, .out = out};
	int rc = s->ops->write(s, update_fn, &a, err);
	if (rc) {
		if (out)
			vs_content_clear(out);
		return rc;
	}
	if (seq)
		*seq = a.seq;
	return 0;
}

int vs_content_delete(vs_store *s, int64_t bank_id, int64_t id, int *deleted,
                      int64_t *seq, veto_error *err)
{
	if (deleted)
		*deleted = 0;
	if (seq)
		*seq = 0;
	NEED_STORE();
	NEED_WRITABLE();
	if (id <= 0 || bank_id <= 0)
		return 0; /* no such live content: not an error */
	struct content_write a = {.bank_id = bank_id, .id = id};
	int rc = s->ops->write(s, delete_fn, &a, err);
	if (rc == 0) {
		if (deleted)
			*deleted = a.deleted;
		if (seq)
			*seq = a.seq;
	}
	return rc;
}

int vs_content_list(vs_store *s, int64_t bank_id, int64_t after_id, size_t limit,
                    vs_content **out, size_t *n, veto_error *err)
{
	NEED_STORE();
	NEED(out && n, "%s: vs_content_list: no output", s->where);
	*out = NULL;
	*n = 0;
	if (limit == 0 || bank_id <= 0)
		return 0;
	if (after_id < 0)
		after_id = 0;
	return s->ops->content_list(s, bank_id, after_id, limit, out, n, err);
}

int vs_signal_stats(vs_store *s, const char *type, int64_t *count, int64_t *newest,
                    veto_error *err)
{
	if (count)
		*count = 0;
	if (newest)
		*newest = 0;
	NEED_STORE();
	NEED(type && *type, "%s: vs_signal_stats: no signal type", s->where);
	int64_t c = 0, t = 0;
	int rc = s->ops->signal_stats(s, type, &c, &t, err);
	if (rc == 0) {
		if (count)
			*count = c;
		if (newest)
			*newest = t;
	}
	return rc;
}

/* ------------------------------------------------------------- changes */

int vs_changes_since(vs_store *s, int64_t since, int64_t bank_id, size_t limit,
                     vs_change **out, size_t *n, veto_error *err)
{
	NEED_STORE();
	NEED(out && n, "%s: vs_changes_since: no output", s->where);
	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	if (since < 0)
		since = 0;
	if (bank_id < 0)
		bank_id = 0;
	vs_page p = {.since = since, .bank_id = bank_id, .limit = limit};
	int rc = s->ops->changes_since(s, &p, err);
	if (rc == 0 && changes_fill(&p))
		rc = vs_nomem(s, err);
	if (rc == 0) {
		*out = p.ch;
		*n = p.nch;
		p.ch = NULL;
		p.nch = 0;
	}
	vs_page_clear(&p);
	return rc;
}

int vs_max_seq(vs_store *s, int64_t *seq, veto_error *err)
{
	NEED_STORE();
	NEED(seq, "%s: vs_max_seq: no output", s->where);
	*seq = 0;
	return s->ops->max_seq(s, seq, err);
}

/* ---------------------------------------------------------------- keys */

int vs_key_create(vs_store *s, const vs_key *k, veto_error *err)
{
	NEED_STORE();
	NEED_WRITABLE();
	NEED(k && k->key_id && *k->key_id, "%s: vs_key_create: no key id", s->where);
	NEED(k->role && *k->role, "%s: key %.64s: no role", s->where, k->key_id);
	NEED(k->rate >= 0, "%s: key %.64s: negative rate", s->where, k->key_id);
	return s->ops->key_create(s, k, err);
}

int vs_key_list(vs_store *s, vs_key **out, size_t *n, veto_error *err)
{
	NEED_STORE();
	NEED(out && n, "%s: vs_key_list: no output", s->where);
	*out = NULL;
	*n = 0;
	return s->ops->key_list(s, out, n, err);
}

int vs_key_revoke(vs_store *s, const char *key_id, veto_error *err)
{
	NEED_STORE();
	NEED_WRITABLE();
	NEED(key_id && *key_id, "%s: vs_key_revoke: no key id", s->where);
	return s->ops->key_revoke(s, key_id, err);
}

/* ------------------------------------------------------------ settings */

int vs_setting_get(vs_store *s, const char *key, char **value, veto_error *err)
{
	NEED_STORE();
	NEED(value, "%s: vs_setting_get: no output", s->where);
	*value = NULL;
	NEED(key && *key, "%s: vs_setting_get: no key", s->where);
	return s->ops->setting_get(s, key, value, err);
}

int vs_setting_set(vs_store *s, const char *key, const char *value, veto_error *err)
{
	NEED_STORE();
	NEED_WRITABLE();
	NEED(key && *key, "%s: vs_setting_set: no key", s->where);
	NEED(value, "%s: setting %.128s: no value", s->where, key);
	return s->ops->setting_set(s, key, value, err);
}
