/*
 * api_v1.c - veto's own API under /v1, for what HMA 1.1.x lacks: entries
 * with provenance, a change feed per bank, import/export of hash lists and
 * batch lookups. docs/api-v1.md is the reference (every route, with
 * examples); this comment records the design decisions.
 *
 * Routes (roles: curator unless said; bank routes are scoped by the key
 * through va_load_bank, so a bank outside a key's scope is a plain 404):
 *   GET    /v1/banks                          banks with id and timestamps
 *   POST   /v1/banks/{bank}/entries           one entry, or {"entries":[...]}
 *   GET    /v1/banks/{bank}/entries           ?after=ID&limit=N (100, max 10,000)
 *   GET    /v1/banks/{bank}/entries/{id}
 *   PATCH  /v1/banks/{bank}/entries/{id}      status/note/source/case_ref/
 *                                             disable_until_ts/metadata
 *   DELETE /v1/banks/{bank}/entries/{id}      = PATCH {"status":"deleted"}
 *   GET    /v1/banks/{bank}/changes           ?since=SEQ&limit=N (1000, max 10,000)
 *   POST   /v1/banks/{bank}/import            ?format=pdq|vpdq|json|threatexchange|stopncii
 *   GET    /v1/banks/{bank}/export            ?format=pdq|json|threatexchange|stopncii
 *   POST   /v1/lookup                         (matcher) up to 1,000 signals
 *   POST   /v1/signals                        (hasher) provenance report of an
 *                                             uploaded file (docs/signals.md)
 *
 * Entries. An entry is banked content: {"signals": {type: signal}} plus
 * provenance (source <= 1024 bytes, case_ref <= 255 bytes, note <= 255
 * characters, metadata: any JSON object <= 64 KiB as compact text,
 * original_media_uri <= 2048 bytes), status active|withdrawn (withdrawn:
 * kept but never matched) and HMA's disable_until_ts (1 enabled, 0
 * disabled, else a unix time; < 5 years ahead). Signals go through
 * vsig_parse and are stored in canonical form; a signal type whose
 * enabled_ratio is 0 is refused, as HMA's /c routes do. The read-only
 * fields of an entry as GET shows it (id, bank, created, updated, seq) are
 * accepted and ignored on input, so an export can be posted back; any other
 * unknown field is a 400. Validation of a whole request happens before
 * anything is written and the write is ONE vs_content_add_many: a batch
 * or an import is stored whole or not at all. A bad item is a 400 whose
 * message names it ("entries[3].signals.pdq: invalid PDQ hash", "line 12:
 * ...") and whose body also carries "index"/"line" and "field".
 * Status "deleted" (PATCH or DELETE) erases the hashes, note and metadata
 * (the store keeps a tombstone so followers learn of it); a deleted entry
 * is then 404 everywhere except the change feed. Signals cannot be
 * changed: add a new entry and delete the old one.
 *
 * Change feed. vs_changes_since for the bank: each change carries the
 * entity's state at READ time (an entry changed twice shows its latest
 * state in both changes), which makes applying it idempotent. seq is
 * global and strictly increasing, so a bank's feed has gaps where other
 * banks changed. A follower keeps next_since and asks again (like
 * StopNCII's checkpointed FetchHashes); "more" is true when the page was
 * full. A deleted bank's feed is 404 (that is the deletion); a renamed
 * bank's feed continues under the new name (same bank id, see /v1/banks).
 *
 * Import. The body (raw, or the one file of a multipart/form-data upload)
 * is parsed whole, then stored in one transaction; at most 1,000,000
 * entries (the body is already bounded by --max-body). Formats:
 *   pdq     lines HASH[,QUALITY[,NAME]] (pdq-photo-hasher prints
 *           hash,quality,filename); '#' lines and blank lines skipped;
 *           NAME becomes the source. Lines whose QUALITY is below
 *           ?min_quality= (default 50, the reference's threshold for a
 *           usable hash) are skipped and counted in "skipped".
 *   vpdq    ONE video: vpdq-hash-video's lines frame,quality,hash,timestamp
 *           (the order it really writes; frame,hash,quality,timestamp is
 *           accepted too, told apart by which field is 64 hex digits),
 *           turned into python-threatexchange's vpdq signal string and
 *           canonicalised by vsig_parse. Not exportable (400).
 *   json    {"entries":[...]} exactly as POST .../entries.
 *   threatexchange  a JSON array, a Graph API page {"data":[...]}, or JSON
 *           lines, of {"indicator","type","id","tags"}: HASH_PDQ -> pdq,
 *           HASH_VIDEO_MD5 and HASH_MD5 -> video_md5 (python-threatexchange
 *           maps HASH_MD5 to VideoMD5Signal when tagged media_type_video;
 *           veto takes untagged HASH_MD5 too but refuses one tagged only
 *           media_type_photo); source "threatexchange:<id>"; tags kept in
 *           metadata {"tags":[...]}; records with should_delete: true
 *           (threat_updates tombstones) are skipped.
 *   stopncii  {"hashes":[{"hashValue","signalType":PDQ|MD5|VPDQ,
 *           "caseNumber","hashId"}],"checkpoint":...}: caseNumber ->
 *           case_ref, hashId -> source "stopncii:<id>". Also taken: a
 *           FetchHashes response as python-threatexchange's StopNCII client
 *           models it ({"hashRecords":[{"signalType":"ImagePDQ"|"VideoMD5",
 *           "hashValue","hashStatus","caseNumbers":{...}}]}), whose other
 *           signal types and Withdrawn/Deleted records are skipped.
 *           StopNCII's exchange API is not public: this mirrors its concepts,
 *           it is not a verified wire format.
 * ?source= and ?case_ref= give entries that have none their provenance.
 * Hex PDQ hashes are lowercased in these list formats (pdq, threatexchange,
 * stopncii); "json" takes signal strings by HMA's exact rules.
 *
 * Export pages through vs_content_list and writes text as it goes (one
 * entry's JSON at a time), at most 1,000,000 entries (else 400: page with
 * GET .../entries). "json" writes every live entry (active and withdrawn)
 * plus "seq"; pdq, threatexchange and stopncii cannot say "withdrawn" and
 * write active entries only. "seq"/"checkpoint" is vs_max_seq read BEFORE
 * the first page: following /changes?since= from it misses nothing.
 *
 * Batch lookup: every signal is validated first (a bad one: 400 naming its
 * index), then each is looked up with va_lookup_by_bank (only_enabled =
 * !include_disabled, coin flip bypassed: banks' enabled_ratio does not
 * apply, as HMA's bypass_coinflip=true).
 *
 * Robustness: every loop is bounded by a count checked up front or by the
 * body's length; bodies are never assumed NUL-terminated; messages name
 * the item and field, not the data (signal parse messages are cut to 200
 * characters). These handlers are fuzzed through va_handle.
 */
#include "api_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V1_MAX_BATCH 10000          /* entries per POST .../entries */
#define V1_MAX_IMPORT 1000000       /* entries per import / export */
#define V1_MAX_PAGE 10000           /* list and changes pages */
#define V1_LIST_DEFAULT 100
#define V1_CHANGES_DEFAULT 1000
#define V1_EXPORT_PAGE 1000
#define V1_MAX_LOOKUP 1000          /* signals per batch lookup */
#define V1_MAX_LOOKUP_BANKS 1000
#define V1_NOTE_CHARS 255
#define V1_CASE_REF_BYTES 255
#define V1_SOURCE_BYTES 1024
#define V1_URI_BYTES 2048
#define V1_METADATA_BYTES 65536
#define V1_ID_BYTES 200             /* ThreatExchange id / StopNCII hashId */
#define V1_FIVE_YEARS (365LL * 5 * 86400)

/* ------------------------------------------------------------ buffers */

/* Append j as compact JSON (steals j). */
static void buf_json(va_buf *b, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s) {
		b->nomem = 1;
		return;
	}
	va_buf_str(b, s);
	free(s);
}

/* Reply with the buffer as the body (takes it). */
static int reply_buf(va_ctx *c, int status, const char *ctype, va_buf *b)
{
	if (b->nomem) {
		free(b->p);
		memset(b, 0, sizeof *b);
		return va_error(c, 500, "out of memory");
	}
	char *body = b->p ? b->p : strdup("");
	size_t len = b->p ? b->n : 0;
	memset(b, 0, sizeof *b);
	if (!body)
		return va_error(c, 500, "out of memory");
	free(c->resp->body);
	c->resp->status = status;
	c->resp->content_type = ctype;
	c->resp->body = body;
	c->resp->len = len;
	return 0;
}

/* ------------------------------------------------------------- errors */

/* Where a bad item is: in a JSON list (list[index]), on a line of a text
 * body, or neither. */
typedef struct v1_loc {
	const char *list;             /* "entries", "signals", ...; NULL: none */
	long long index;              /* -1: none */
	long long line;               /* 0: none */
} v1_loc;

static const v1_loc NOWHERE = {NULL, -1, 0};

/* Messages quote bits of the request cut to a length, which may split a
 * UTF-8 sequence (or the path was not UTF-8 at all): jansson would then
 * refuse the string. Such text gets every non-ASCII byte replaced by '?'. */
static json_t *safe_string(char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(s);
}

/* va_error for messages that quote the request. */
static int v1_error(va_ctx *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int v1_error(va_ctx *c, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	json_object_set_new(o, "message", safe_string(msg));
	return va_reply(c, status, o);
}

/* 400 {"message": "WHERE: DETAIL", "index"?, "line"?, "field"?}. */
static int v1_fail(va_ctx *c, const v1_loc *l, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int v1_fail(va_ctx *c, const v1_loc *l, const char *field, const char *fmt, ...)
{
	char detail[512], path[256] = "", msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (!l)
		l = &NOWHERE;
	int item = l->list && l->index >= 0;
	if (item)
		snprintf(path, sizeof path, "%s[%lld]%s%.100s", l->list, l->index, field ? "." : "",
		         field ? field : "");
	else if (field)
		snprintf(path, sizeof path, "%.100s", field);
	if (l->line > 0)
		snprintf(msg, sizeof msg, "line %lld%s%s: %s", l->line, path[0] ? ": " : "", path,
		         detail);
	else if (path[0])
		snprintf(msg, sizeof msg, "%s: %s", path, detail);
	else
		snprintf(msg, sizeof msg, "%s", detail);
	json_t *o = json_object();
	json_object_set_new(o, "message", safe_string(msg));
	if (item)
		json_object_set_new(o, "index", json_integer(l->index));
	if (l->line > 0)
		json_object_set_new(o, "line", json_integer(l->line));
	if (path[0])
		json_object_set_new(o, "field", safe_string(path));
	return va_reply(c, 400, o);
}

static int v1_nomem(va_ctx *c) { return va_error(c, 500, "out of memory"); }

/* ----------------------------------------------------------- small parts */

static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

static int utf8_ok(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	json_decref(j);
	return j != NULL;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Whole number of 1..maxdig digits (no sign, no spaces). */
static int parse_uint(const char *s, size_t n, size_t maxdig, long long *out)
{
	if (!n || n > maxdig)
		return -1;
	long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) || v > (LLONG_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* A PDQ hash from a hash list: spaces trimmed, hex lowercased (vsig_parse
 * then applies HMA's rule to the result). Points into s or into buf. */
static const char *pdq_normal(const char *s, size_t *n, char buf[65])
{
	trim(&s, n);
	if (*n != 64 || !all_hex(s, 64))
		return s;
	for (size_t i = 0; i < 64; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[64] = 0;
	return buf;
}

/* ?name=: a whole number in lo..hi (default def); -1 after replying 400. */
static int q_int(va_ctx *c, const char *name, long long def, long long lo, long long hi,
                 long long *out)
{
	const char *v = va_qarg(c->req, name);
	*out = def;
	if (!v)
		return 0;
	long long x;
	if (parse_uint(v, strlen(v), 19, &x) || x < lo || x > hi) {
		va_error(c, 400, "%s must be a whole number from %lld to %lld", name, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* An entry id from the path: 404 unless a positive whole number. */
static int entry_id_arg(va_ctx *c, const char *s, int64_t *id)
{
	long long v;
	if (parse_uint(s, strlen(s), 19, &v) || v <= 0 || v > INT64_MAX - 1) {
		v1_error(c, 404, "no such entry: '%.40s' is not an entry id", s);
		return -1;
	}
	*id = v;
	return 0;
}

/* ------------------------------------------------------------ JSON out */

static json_t *bank_out(const vs_bank *b, int with_deleted)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(b->id));
	json_object_set_new(o, "name", jstr(b->name));
	json_object_set_new(o, "enabled_ratio", json_real(b->enabled_ratio));
	json_object_set_new(o, "created", json_integer(b->created));
	json_object_set_new(o, "updated", json_integer(b->updated));
	if (with_deleted)
		json_object_set_new(o, "deleted", json_boolean(b->deleted));
	return o;
}

static json_t *entry_out(const vs_content *ct, const char *bank)
{
	json_t *sig = json_object();
	for (size_t i = 0; i < ct->nsignals; i++)
		if (ct->signals[i].type && ct->signals[i].value)
			json_object_set_new(sig, ct->signals[i].type, jstr(ct->signals[i].value));
	json_t *meta = va_metadata_json(ct);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(ct->id));
	json_object_set_new(o, "bank", jstr(bank ? bank : ct->bank_name));
	json_object_set_new(o, "status", jstr(vs_status_name(ct->status)));
	json_object_set_new(o, "signals", sig);
	json_object_set_new(o, "source", jstr(ct->source));
	json_object_set_new(o, "case_ref", jstr(ct->case_ref));
	json_object_set_new(o, "note", jstr(ct->note));
	json_object_set_new(o, "metadata", meta ? meta : json_null());
	json_object_set_new(o, "original_media_uri", jstr(ct->original_media_uri));
	json_object_set_new(o, "disable_until_ts", json_integer(ct->disable_until_ts));
	json_object_set_new(o, "created", json_integer(ct->created));
	json_object_set_new(o, "updated", json_integer(ct->updated));
	json_object_set_new(o, "seq", json_integer(ct->seq));
	return o;
}

/* ------------------------------------------------------- entries (input) */

/* Entries being built for one write. signals[].type points to vsig_name()
 * (static); every other string is ours. */
typedef struct v1_batch {
	vs_content *v;
	size_t n, cap;
	size_t skipped;               /* import: items left out on purpose */
} v1_batch;

static void entry_fields_free(vs_content *e)
{
	va_signals_free(e);
	free(e->note);
	free(e->metadata_json);
	free(e->source);
	free(e->case_ref);
	free(e->original_media_uri);
	memset(e, 0, sizeof *e);
}

static void batch_free(v1_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		entry_fields_free(&b->v[i]);
	free(b->v);
	memset(b, 0, sizeof *b);
}

/* A new entry with the defaults (active, enabled); NULL after replying. */
static vs_content *batch_new(va_ctx *c, v1_batch *b, size_t max)
{
	if (b->n >= max) {
		va_error(c, 413, "too many entries: at most %zu per request", max);
		return NULL;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		if (cap > max)
			cap = max;
		vs_content *v = realloc(b->v, cap * sizeof *v);
		if (!v) {
			v1_nomem(c);
			return NULL;
		}
		b->v = v;
		b->cap = cap;
	}
	vs_content *e = &b->v[b->n++];
	memset(e, 0, sizeof *e);
	e->status = VS_ACTIVE;
	e->disable_until_ts = 1;
	return e;
}

/* Validate a signal of type t and append its canonical form to e. */
static int entry_add_signal(va_ctx *c, const v1_loc *l, const char *field, vs_content *e,
                            int t, const char *value, size_t len)
{
	if (c->s->st_ratio[t] <= 0)
		return v1_fail(c, l, field, "signal type %s is not enabled", vsig_name(t)), -1;
	for (size_t i = 0; i < e->nsignals; i++)
		if (!strcmp(e->signals[i].type, vsig_name(t)))
			return v1_fail(c, l, field, "a second %s signal for one entry", vsig_name(t)), -1;
	veto_error err;
	if (va_signal_append(e, t, value, len, &err)) {
		if (err.code == VETO_ERR_NOMEM)
			return v1_nomem(c), -1;
		return v1_fail(c, l, field, "%.200s", err.message), -1;
	}
	return 0;
}

/* A copy of n bytes as a C string; NULL after replying 500. */
static char *dupn(va_ctx *c, const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p) {
		v1_nomem(c);
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* An optional text field: null or "" -> none; else a string within the
 * limits. Replaces *out (freeing the old value). */
static int text_field(va_ctx *c, const v1_loc *l, const char *name, json_t *v,
                      size_t max_bytes, size_t max_chars, char **out)
{
	const char *s;
	size_t n;
	free(*out);
	*out = NULL;
	switch (va_text_value(v, max_bytes, max_chars, &s, &n)) {
	case VA_TEXT_NOT_STRING: return v1_fail(c, l, name, "must be a string"), -1;
	case VA_TEXT_TOO_MANY_BYTES:
		return v1_fail(c, l, name, "must be at most %zu bytes", max_bytes), -1;
	case VA_TEXT_TOO_MANY_CHARS:
		return v1_fail(c, l, name, "must be at most %zu characters", max_chars), -1;
	default: break;
	}
	return s && !(*out = dupn(c, s, n)) ? -1 : 0;
}

/* A text value from outside JSON (a query argument, a list's NAME field). */
static int raw_text(va_ctx *c, const v1_loc *l, const char *name, const char *s, size_t n,
                    size_t max_bytes, char **out)
{
	free(*out);
	*out = NULL;
	if (!n)
		return 0;
	if (n > max_bytes)
		return v1_fail(c, l, name, "must be at most %zu bytes", max_bytes), -1;
	if (memchr(s, 0, n) || !utf8_ok(s, n))
		return v1_fail(c, l, name, "must be UTF-8 text"), -1;
	return (*out = dupn(c, s, n)) ? 0 : -1;
}

static int metadata_field(va_ctx *c, const v1_loc *l, json_t *v, char **out)
{
	free(*out);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return v1_fail(c, l, "metadata", "must be a JSON object"), -1;
	if (!json_object_size(v))
		return 0;
	char *s = va_metadata_text(v);
	if (!s)
		return v1_nomem(c), -1;
	if (strlen(s) > V1_METADATA_BYTES) {
		free(s);
		return v1_fail(c, l, "metadata", "must be at most %d bytes as JSON",
		               V1_METADATA_BYTES), -1;
	}
	*out = s;
	return 0;
}

static int ts_field(va_ctx *c, const v1_loc *l, json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return v1_fail(c, l, "disable_until_ts", "must be a whole number (1: enabled, 0: "
		               "disabled, else a unix time until which it is disabled)"), -1;
	long long x = json_integer_value(v);
	if (x < 0)
		return v1_fail(c, l, "disable_until_ts", "must not be negative"), -1;
	if (x > c->now + V1_FIVE_YEARS)
		return v1_fail(c, l, "disable_until_ts",
		               "must be less than 5 years in the future"), -1;
	*out = x;
	return 0;
}

static const char *const ENTRY_FIELDS[] = {"signals", "status", "source", "case_ref", "note",
                                           "disable_until_ts", "metadata",
                                           "original_media_uri", NULL};
/* shown by GET; accepted and ignored on input */
static const char *const ENTRY_READONLY[] = {"id", "bank", "created", "updated", "seq", NULL};

static int in_list(const char *const *list, const char *k)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], k))
			return 1;
	return 0;
}

/* One entry object -> e (already holding the defaults). */
static int entry_from_json(va_ctx *c, const v1_loc *l, json_t *j, vs_content *e)
{
	if (!json_is_object(j))
		return v1_fail(c, l, NULL, "an entry must be a JSON object"), -1;
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		if (!in_list(ENTRY_FIELDS, k) && !in_list(ENTRY_READONLY, k))
			return v1_fail(c, l, k, "unknown field"), -1;
	}
	json_t *sigs = json_object_get(j, "signals");
	if (!sigs || json_is_null(sigs))
		return v1_fail(c, l, "signals", "required: an object of signal_type: signal"), -1;
	if (!json_is_object(sigs))
		return v1_fail(c, l, "signals", "must be an object of signal_type: signal"), -1;
	if (!json_object_size(sigs))
		return v1_fail(c, l, "signals", "no signals given"), -1;
	json_object_foreach(sigs, k, v) {
		char field[96];
		snprintf(field, sizeof field, "signals.%.64s", k);
		int t = vsig_from_name(k);
		if (t < 0)
			return v1_fail(c, l, field, "no such signal type"), -1;
		if (!json_is_string(v))
			return v1_fail(c, l, field, "must be a string"), -1;
		if (entry_add_signal(c, l, field, e, t, json_string_value(v), json_string_length(v)))
			return -1;
	}
	json_t *st = json_object_get(j, "status");
	if (st && !json_is_null(st)) {
		int s = json_is_string(st) ? vs_status_parse(json_string_value(st)) : -1;
		if (s == VS_DELETED)
			return v1_fail(c, l, "status", "a new entry cannot be deleted"), -1;
		if (s != VS_ACTIVE && s != VS_WITHDRAWN)
			return v1_fail(c, l, "status", "must be \"active\" or \"withdrawn\""), -1;
		e->status = s;
	}
	json_t *ts = json_object_get(j, "disable_until_ts");
	if (ts && !json_is_null(ts) && ts_field(c, l, ts, &e->disable_until_ts))
		return -1;
	if (text_field(c, l, "note", json_object_get(j, "note"), 0, V1_NOTE_CHARS, &e->note) ||
	    text_field(c, l, "source", json_object_get(j, "source"), V1_SOURCE_BYTES, 0,
	               &e->source) ||
	    text_field(c, l, "case_ref", json_object_get(j, "case_ref"), V1_CASE_REF_BYTES, 0,
	               &e->case_ref) ||
	    text_field(c, l, "original_media_uri", json_object_get(j, "original_media_uri"),
	               V1_URI_BYTES, 0, &e->original_media_uri) ||
	    metadata_field(c, l, json_object_get(j, "metadata"), &e->metadata_json))
		return -1;
	return 0;
}

/* {"entries": [...]} (plus an ignored "seq", as export writes) -> bt. */
static int entries_from_list(va_ctx *c, json_t *body, size_t max, v1_batch *bt)
{
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "entries") && strcmp(k, "seq"))
			return v1_fail(c, NULL, k, "unknown field (a batch is {\"entries\": [...]})"), -1;
	}
	json_t *list = json_object_get(body, "entries");
	if (!json_is_array(list))
		return v1_fail(c, NULL, "entries", "must be a list of entries"), -1;
	size_t n = json_array_size(list);
	if (!n)
		return v1_fail(c, NULL, "entries", "the list is empty"), -1;
	if (n > max)
		return va_error(c, 413, "too many entries: %zu (at most %zu per request)", n, max), -1;
	for (size_t i = 0; i < n; i++) {
		v1_loc l = {"entries", (long long)i, 0};
		vs_content *e = batch_new(c, bt, max);
		if (!e || entry_from_json(c, &l, json_array_get(list, i), e))
			return -1;
	}
	return 0;
}

/* Store bt in ONE transaction; *first / *seq out. -1 after replying. */
static int batch_store(va_ctx *c, const vs_bank *b, v1_batch *bt, int64_t *first,
                       int64_t *seq)
{
	veto_error e;
	int rc = vs_content_add_many(c->s->store, b->id, bt->v, bt->n, first, seq, &e);
	if (rc == VS_ERR_NOTFOUND) {
		v1_error(c, 404, "bank '%s' not found", b->name);
		return -1;
	}
	if (rc) {
		va_store_error(c, &e);
		return -1;
	}
	va_after_write(c);
	return 0;
}

/* ------------------------------------------------------------ /v1/banks */

static int h_banks(va_ctx *c)
{
	vs_bank *b = NULL;
	size_t n = 0;
	if (va_list_banks(c, &b, &n))
		return 0;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, bank_out(&b[i], 0));
	vs_banks_free(b, n);
	return va_reply(c, 200, json_pack("{s:o}", "banks", a));
}

/* -------------------------------------------------------------- entries */

static int h_entries_add(va_ctx *c)
{
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b))
		return 0;
	json_t *body = va_json_body(c, 0);
	v1_batch bt;
	memset(&bt, 0, sizeof bt);
	int ok = 0;
	if (!body) {
		/* replied */
	} else if (!json_is_object(body)) {
		va_error(c, 400, "expected a JSON object: an entry, or {\"entries\": [...]}");
	} else if (json_object_get(body, "entries")) {
		ok = entries_from_list(c, body, V1_MAX_BATCH, &bt) == 0;
	} else {
		vs_content *e = batch_new(c, &bt, 1);
		ok = e && entry_from_json(c, &NOWHERE, body, e) == 0;
	}
	json_decref(body);
	int64_t first = 0, seq = 0;
	if (ok && batch_store(c, &b, &bt, &first, &seq) == 0) {
		json_t *ids = json_array();
		for (size_t i = 0; i < bt.n; i++)
			json_array_append_new(ids, json_integer(first + (int64_t)i));
		va_reply(c, 201, json_pack("{s:o,s:I}", "ids", ids, "seq", (json_int_t)seq));
	}
	batch_free(&bt);
	vs_bank_clear(&b);
	return 0;
}

/* The bank of a paged route and its ?<from>=N&limit=N (limit: def when
 * absent); 0 after replying. */
static int load_page(va_ctx *c, vs_bank *b, const char *from, long long *start, long long def,
                     long long *limit)
{
	if (!va_load_bank(c, c->p[0], b))
		return 0;
	if (q_int(c, from, 0, 0, INT64_MAX, start) ||
	    q_int(c, "limit", def, 1, V1_MAX_PAGE, limit)) {
		vs_bank_clear(b);
		return 0;
	}
	return 1;
}

static int h_entries_list(va_ctx *c)
{
	vs_bank b;
	long long after, limit;
	if (!load_page(c, &b, "after", &after, V1_LIST_DEFAULT, &limit))
		return 0;
	vs_content *v = NULL;
	size_t n = 0;
	veto_error e;
	if (vs_content_list(c->s->store, b.id, after, (size_t)limit, &v, &n, &e)) {
		vs_bank_clear(&b);
		return va_store_error(c, &e);
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, entry_out(&v[i], b.name));
	json_t *next = n && n == (size_t)limit ? json_integer(v[n - 1].id) : json_null();
	vs_contents_free(v, n);
	vs_bank_clear(&b);
	return va_reply(c, 200, json_pack("{s:o,s:o}", "entries", a, "next_after", next));
}

/* The entry, only if it is live and in bank b; else replied 404. */
static int load_entry(va_ctx *c, const vs_bank *b, int64_t id, vs_content *ct)
{
	int rc = va_live_content(c, b, id, ct);
	if (rc == 0)
		v1_error(c, 404, "entry %lld not found in bank '%s'", (long long)id, b->name);
	return rc > 0;
}

static int h_entry_get(va_ctx *c)
{
	vs_bank b;
	vs_content ct;
	int64_t id;
	if (!va_load_bank_item(c, &b, entry_id_arg, &id))
		return 0;
	if (load_entry(c, &b, id, &ct)) {
		va_reply(c, 200, entry_out(&ct, b.name));
		vs_content_clear(&ct);
	}
	vs_bank_clear(&b);
	return 0;
}

static const char *const PATCH_FIELDS[] = {"status", "note", "source", "case_ref",
                                           "disable_until_ts", "metadata", NULL};

/* PATCH body -> in/what; -1 after replying. in's strings are ours. */
static int patch_from_json(va_ctx *c, json_t *body, vs_content *in, unsigned *what)
{
	const char *k;
	json_t *v;
	*what = 0;
	if (!json_is_object(body))
		return va_error(c, 400, "expected a JSON object of the fields to change"), -1;
	json_object_foreach(body, k, v) {
		if (in_list(PATCH_FIELDS, k))
			continue;
		if (!strcmp(k, "signals"))
			return v1_fail(c, NULL, k, "cannot be changed: add a new entry and delete "
			               "this one"), -1;
		if (in_list(ENTRY_READONLY, k) || !strcmp(k, "original_media_uri"))
			return v1_fail(c, NULL, k, "cannot be changed"), -1;
		return v1_fail(c, NULL, k, "unknown field"), -1;
	}
	if ((v = json_object_get(body, "status"))) {
		int s = json_is_string(v) ? vs_status_parse(json_string_value(v)) : -1;
		if (s < 0)
			return v1_fail(c, NULL, "status", "must be \"active\", \"withdrawn\" or "
			               "\"deleted\""), -1;
		in->status = s;
		*what |= VS_SET_STATUS;
	}
	if ((v = json_object_get(body, "disable_until_ts"))) {
		if (ts_field(c, NULL, v, &in->disable_until_ts))
			return -1;
		*what |= VS_SET_DISABLE_UNTIL;
	}
	if ((v = json_object_get(body, "note"))) {
		if (text_field(c, NULL, "note", v, 0, V1_NOTE_CHARS, &in->note))
			return -1;
		*what |= VS_SET_NOTE;
	}
	if ((v = json_object_get(body, "source"))) {
		if (text_field(c, NULL, "source", v, V1_SOURCE_BYTES, 0, &in->source))
			return -1;
		*what |= VS_SET_SOURCE;
	}
	if ((v = json_object_get(body, "case_ref"))) {
		if (text_field(c, NULL, "case_ref", v, V1_CASE_REF_BYTES, 0, &in->case_ref))
			return -1;
		*what |= VS_SET_CASE_REF;
	}
	if ((v = json_object_get(body, "metadata"))) {
		if (metadata_field(c, NULL, v, &in->metadata_json))
			return -1;
		*what |= VS_SET_METADATA;
	}
	return 0;
}

static int h_entry_patch(va_ctx *c)
{
	vs_bank b;
	int64_t id;
	if (!va_load_bank_item(c, &b, entry_id_arg, &id))
		return 0;
	json_t *body = va_json_body(c, 0);
	vs_content in, out;
	memset(&in, 0, sizeof in);
	memset(&out, 0, sizeof out);
	unsigned what = 0;
	if (body && patch_from_json(c, body, &in, &what) == 0) {
		if (!what) {
			/* nothing to change: the entry as it is */
			if (load_entry(c, &b, id, &out)) {
				va_reply(c, 200, entry_out(&out, b.name));
				vs_content_clear(&out);
			}
		} else {
			veto_error e;
			int rc = vs_content_update(c->s->store, b.id, id, what, &in, &out, NULL, &e);
			if (rc == VS_ERR_NOTFOUND) {
				v1_error(c, 404, "entry %lld not found in bank '%s'", (long long)id, b.name);
			} else if (rc) {
				va_store_error(c, &e);
			} else {
				va_after_write(c);
				va_reply(c, 200, entry_out(&out, b.name));
			}
			vs_content_clear(&out);
		}
	}
	entry_fields_free(&in);
	json_decref(body);
	vs_bank_clear(&b);
	return 0;
}

static int h_entry_delete(va_ctx *c)
{
	vs_bank b;
	int64_t id;
	if (!va_load_bank_item(c, &b, entry_id_arg, &id))
		return 0;
	int deleted = 0;
	int64_t seq = 0;
	veto_error e;
	if (vs_content_delete(c->s->store, b.id, id, &deleted, &seq, &e)) {
		va_store_error(c, &e);
	} else if (!deleted) {
		v1_error(c, 404, "entry %lld not found in bank '%s'", (long long)id, b.name);
	} else {
		va_after_write(c);
		va_reply(c, 200, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "status", "deleted",
		                           "seq", (json_int_t)seq));
	}
	vs_bank_clear(&b);
	return 0;
}

/* -------------------------------------------------------------- changes */

static int h_changes(va_ctx *c)
{
	vs_bank b;
	long long since, limit;
	if (!load_page(c, &b, "since", &since, V1_CHANGES_DEFAULT, &limit))
		return 0;
	vs_change *ch = NULL;
	size_t n = 0;
	veto_error e;
	if (vs_changes_since(c->s->store, since, b.id, (size_t)limit, &ch, &n, &e)) {
		vs_bank_clear(&b);
		return va_store_error(c, &e);
	}
	json_t *a = json_array();
	int64_t next = since;
	for (size_t i = 0; i < n; i++) {
		const vs_change *x = &ch[i];
		json_t *o = json_pack("{s:I,s:I}", "seq", (json_int_t)x->seq, "ts", (json_int_t)x->ts);
		if (x->seq > next)
			next = x->seq;
		if (x->kind == VS_CHANGE_BANK) {
			vs_bank bk = x->bank;
			if (!bk.id)
				bk.id = x->bank_id;
			json_object_set_new(o, "op", json_string("bank"));
			json_object_set_new(o, "bank", bank_out(&bk, 1));
		} else if (x->content.status == VS_DELETED || !x->content.id) {
			json_object_set_new(o, "op", json_string("delete"));
			json_object_set_new(o, "entry",
			                    json_pack("{s:I,s:s}", "id", (json_int_t)x->content_id,
			                              "status", "deleted"));
		} else {
			json_object_set_new(o, "op", json_string("upsert"));
			json_object_set_new(o, "entry", entry_out(&x->content, b.name));
		}
		json_array_append_new(a, o);
	}
	vs_changes_free(ch, n);
	json_t *r = json_pack("{s:s,s:I,s:o,s:I,s:b}", "bank", b.name, "bank_id", (json_int_t)b.id,
	                      "changes", a, "next_since", (json_int_t)next, "more",
	                      n == (size_t)limit);
	vs_bank_clear(&b);
	return va_reply(c, 200, r);
}

/* --------------------------------------------------------------- import */

typedef struct v1_lines {
	const char *p;
	size_t len, off;
	long long lineno;
} v1_lines;

/* Blank or '#' comment (after leading blanks). */
static int skip_line(const char *s, size_t n)
{
	trim(&s, &n);
	return !n || s[0] == '#';
}

/* The next line that is not skipped (skip_line), without its "\n" or
 * "\r\n"; 0 at the end. it->lineno is its number. */
static int next_line(v1_lines *it, const char **s, size_t *n)
{
	do {
		if (it->off >= it->len)
			return 0;
		const char *start = it->p + it->off;
		size_t rest = it->len - it->off;
		const char *nl = memchr(start, '\n', rest);
		size_t l = nl ? (size_t)(nl - start) : rest;
		it->off += l + (nl ? 1 : 0);
		it->lineno++;
		if (l && start[l - 1] == '\r')
			l--;
		*s = start;
		*n = l;
	} while (skip_line(*s, *n));
	return 1;
}

/* Split s on ',' into at most max fields; returns the count (max + 1 if
 * there are more). */
static size_t split_commas(const char *s, size_t n, const char **f, size_t *fl, size_t max)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		if (k == max)
			return max + 1;
		f[k] = s + start;
		fl[k] = i - start;
		k++;
		start = i + 1;
	}
	return k;
}

static int import_pdq(va_ctx *c, const char *data, size_t len, long long min_quality,
                      v1_batch *bt)
{
	v1_lines it = {data, len, 0, 0};
	const char *s;
	size_t n;
	while (next_line(&it, &s, &n)) {
		v1_loc l = {NULL, -1, it.lineno};
		if (memchr(s, 0, n))
			return v1_fail(c, &l, NULL, "contains a NUL byte"), -1;
		/* HASH[,QUALITY[,NAME]]: NAME is the rest of the line, commas and all */
		const char *comma = memchr(s, ',', n);
		const char *h = s, *q = NULL, *name = NULL;
		size_t hl = comma ? (size_t)(comma - s) : n, ql = 0, nl = 0;
		if (comma) {
			q = comma + 1;
			size_t rest = n - hl - 1;
			const char *c2 = memchr(q, ',', rest);
			ql = c2 ? (size_t)(c2 - q) : rest;
			if (c2) {
				name = c2 + 1;
				nl = rest - ql - 1;
			}
		}
		char hb[65];
		h = pdq_normal(h, &hl, hb);
		if (hl != 64 || !all_hex(h, hl))
			return v1_fail(c, &l, NULL, "not a PDQ hash: expected 64 hex digits%s, then "
			               "optionally ,QUALITY and ,NAME",
			               hl == 16 && all_hex(h, hl) ? " (this is a 64-bit hash)" : ""), -1;
		long long quality = -1;
		if (q) {
			trim(&q, &ql);
			if (parse_uint(q, ql, 3, &quality) || quality > 100)
				return v1_fail(c, &l, NULL, "QUALITY must be a whole number from 0 to 100"),
				       -1;
		}
		if (quality >= 0 && quality < min_quality) {
			bt->skipped++;
			continue;
		}
		vs_content *e = batch_new(c, bt, V1_MAX_IMPORT);
		if (!e || entry_add_signal(c, &l, NULL, e, VSIG_PDQ, h, hl))
			return -1;
		if (name && raw_text(c, &l, "NAME", name, nl, V1_SOURCE_BYTES, &e->source))
			return -1;
	}
	return 0;
}

/* One video: lines frame,quality,hash,timestamp -> one vpdq entry. */
static int import_vpdq(va_ctx *c, const char *data, size_t len, v1_batch *bt)
{
	v1_lines it = {data, len, 0, 0};
	va_buf js;
	memset(&js, 0, sizeof js);
	va_buf_put(&js, "[", 1);
	size_t frames = 0;
	const char *s;
	size_t n;
	int rc = 0;
	while (rc == 0 && next_line(&it, &s, &n)) {
		v1_loc l = {NULL, -1, it.lineno};
		const char *f[4];
		size_t fl[4];
		if (split_commas(s, n, f, fl, 4) != 4) {
			rc = v1_fail(c, &l, NULL, "not a vPDQ line: expected frame,quality,hash,timestamp "
			             "(what vpdq-hash-video writes)") - 1;
			break;
		}
		for (int i = 0; i < 4; i++)
			trim(&f[i], &fl[i]);
		long long frame, quality;
		const char *hash, *qs;
		size_t ql;
		if (fl[2] == 64 && all_hex(f[2], 64)) { /* frame,quality,hash,ts */
			hash = f[2];
			qs = f[1];
			ql = fl[1];
		} else if (fl[1] == 64 && all_hex(f[1], 64)) { /* frame,hash,quality,ts */
			hash = f[1];
			qs = f[2];
			ql = fl[2];
		} else {
			rc = v1_fail(c, &l, NULL, "not a vPDQ line: no 64-hex-digit PDQ hash in the "
			             "second or third field (frame,quality,hash,timestamp)") - 1;
			break;
		}
		if (parse_uint(f[0], fl[0], 18, &frame)) {
			rc = v1_fail(c, &l, NULL, "the frame number must be a whole number") - 1;
			break;
		}
		if (parse_uint(qs, ql, 3, &quality) || quality > 100) {
			rc = v1_fail(c, &l, NULL, "the quality must be a whole number from 0 to 100") - 1;
			break;
		}
		/* seconds as the reference prints them: digits[.digits] */
		size_t dots = 0, okts = fl[3] > 0 && fl[3] <= 32 && f[3][0] != '.';
		for (size_t i = 0; okts && i < fl[3]; i++) {
			if (f[3][i] == '.')
				okts = ++dots == 1 && i + 1 < fl[3];
			else
				okts = isdigit((unsigned char)f[3][i]);
		}
		if (!okts) {
			rc = v1_fail(c, &l, NULL, "the timestamp must be seconds like 1.234") - 1;
			break;
		}
		if (frames >= V1_MAX_IMPORT) {
			rc = va_error(c, 413, "too many frames: at most %d", V1_MAX_IMPORT) - 1;
			break;
		}
		/* as given: vsig_parse's canonical form lowercases the hex */
		va_buf_str(&js, frames ? ",\"" : "\"");
		va_buf_put(&js, hash, 64);
		va_buf_printf(&js, ",%lld,", quality);
		va_buf_put(&js, f[3], fl[3]);
		va_buf_put(&js, "\"", 1);
		frames++;
	}
	va_buf_put(&js, "]", 1);
	if (rc == 0 && js.nomem)
		rc = v1_nomem(c) - 1;
	if (rc == 0 && !frames)
		rc = v1_fail(c, NULL, NULL, "no frames: expected lines of "
		             "frame,quality,hash,timestamp") - 1;
	if (rc == 0) {
		vs_content *e = batch_new(c, bt, 1);
		if (!e || entry_add_signal(c, NULL, NULL, e, VSIG_VPDQ, js.p, js.n))
			rc = -1;
	}
	free(js.p);
	return rc;
}

/* Parse a JSON document of an import body; NULL after replying. */
static json_t *load_json_doc(va_ctx *c, const char *data, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		v1_loc l = {NULL, -1, je.line > 0 ? je.line : 0};
		v1_fail(c, &l, NULL, "malformed JSON: %s (column %d)", je.text, je.column);
	}
	return j;
}

static int import_json(va_ctx *c, const char *data, size_t len, v1_batch *bt)
{
	json_t *j = load_json_doc(c, data, len);
	if (!j)
		return -1;
	int rc;
	if (!json_is_object(j))
		rc = va_error(c, 400, "expected {\"entries\": [...]}") - 1;
	else
		rc = entries_from_list(c, j, V1_MAX_IMPORT, bt);
	json_decref(j);
	return rc;
}

/* An id (string or whole number) as text: "" if absent; -1 if bad. */
static int id_text(va_ctx *c, const v1_loc *l, const char *name, json_t *v, char *buf,
                   size_t cap)
{
	buf[0] = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (!json_is_string(v))
		return v1_fail(c, l, name, "must be a string or a whole number"), -1;
	size_t n = json_string_length(v);
	if (n >= cap || n > V1_ID_BYTES)
		return v1_fail(c, l, name, "must be at most %d bytes", V1_ID_BYTES), -1;
	memcpy(buf, json_string_value(v), n);
	buf[n] = 0;
	return 0;
}

/* tags: a list of strings, or the Graph API's {"data":[{"text":...}]}.
 * Returns a new list (maybe empty) or NULL after replying. */
static json_t *te_tags(va_ctx *c, const v1_loc *l, json_t *v)
{
	json_t *out = json_array();
	if (!v || json_is_null(v))
		return out;
	json_t *list = v;
	int graph = 0;
	if (json_is_object(v)) {
		list = json_object_get(v, "data");
		graph = 1;
	}
	if (!json_is_array(list) || json_array_size(list) > 10000) {
		json_decref(out);
		v1_fail(c, l, "tags", "must be a list of strings (at most 10,000)");
		return NULL;
	}
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t) {
		json_t *s = graph && json_is_object(t) ? json_object_get(t, "text") : t;
		if (!json_is_string(s) || json_string_length(s) > 1024) {
			json_decref(out);
			v1_fail(c, l, "tags", "tag %zu is not a string of at most 1024 bytes", i);
			return NULL;
		}
		json_array_append(out, s);
	}
	return out;
}

static int has_tag(json_t *tags, const char *tag)
{
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t) if (!strcmp(json_string_value(t), tag)) return 1;
	return 0;
}

/* One ThreatExchange record -> an entry (or skipped). */
static int te_record(va_ctx *c, const v1_loc *l, json_t *r, v1_batch *bt)
{
	if (!json_is_object(r))
		return v1_fail(c, l, NULL, "a record must be a JSON object"), -1;
	if (json_is_true(json_object_get(r, "should_delete"))) {
		bt->skipped++;
		return 0;
	}
	json_t *ind = json_object_get(r, "indicator"), *ty = json_object_get(r, "type");
	if (!json_is_string(ind))
		return v1_fail(c, l, "indicator", "required: the hash, a string"), -1;
	if (!json_is_string(ty))
		return v1_fail(c, l, "type", "required: HASH_PDQ, HASH_VIDEO_MD5 or HASH_MD5"), -1;
	char id[V1_ID_BYTES + 1];
	if (id_text(c, l, "id", json_object_get(r, "id"), id, sizeof id))
		return -1;
	json_t *tags = te_tags(c, l, json_object_get(r, "tags"));
	if (!tags)
		return -1;
	const char *type = json_string_value(ty);
	int t = -1;
	if (!strcmp(type, "HASH_PDQ"))
		t = VSIG_PDQ;
	else if (!strcmp(type, "HASH_VIDEO_MD5"))
		t = VSIG_VIDEO_MD5;
	else if (!strcmp(type, "HASH_MD5")) {
		if (has_tag(tags, "media_type_photo") && !has_tag(tags, "media_type_video")) {
			json_decref(tags);
			return v1_fail(c, l, "type", "HASH_MD5 tagged media_type_photo is a photo MD5; "
			               "veto banks video MD5s only"), -1;
		}
		t = VSIG_VIDEO_MD5;
	}
	if (t < 0) {
		json_decref(tags);
		return v1_fail(c, l, "type", "unsupported type '%.40s' (veto takes HASH_PDQ, "
		               "HASH_VIDEO_MD5 and HASH_MD5)", type), -1;
	}
	vs_content *e = batch_new(c, bt, V1_MAX_IMPORT);
	int rc = e ? 0 : -1;
	if (rc == 0) {
		size_t n = json_string_length(ind);
		char hb[65];
		const char *h = json_string_value(ind);
		if (t == VSIG_PDQ)
			h = pdq_normal(h, &n, hb);
		rc = entry_add_signal(c, l, "indicator", e, t, h, n);
	}
	if (rc == 0) {
		char src[V1_ID_BYTES + 32];
		snprintf(src, sizeof src, "threatexchange%s%s", id[0] ? ":" : "", id);
		rc = (e->source = dupn(c, src, strlen(src))) ? 0 : -1;
	}
	if (rc == 0 && json_array_size(tags)) {
		json_t *m = json_pack("{s:O}", "tags", tags);
		rc = metadata_field(c, l, m, &e->metadata_json);
		json_decref(m);
	}
	json_decref(tags);
	return rc;
}

static int import_threatexchange(va_ctx *c, const char *data, size_t len, v1_batch *bt)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)data[i]))
		i++;
	if (i == len || (data[i] != '[' && data[i] != '{'))
		return v1_fail(c, NULL, NULL, "expected a JSON array of records, {\"data\": [...]}, "
		               "or JSON lines"), -1;
	/* one document, or JSON lines? Read the first value and look past it. */
	json_error_t je;
	json_t *first = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
	if (!first) {
		v1_loc l = {NULL, -1, je.line > 0 ? je.line : 0};
		return v1_fail(c, &l, NULL, "malformed JSON: %s (column %d)", je.text, je.column), -1;
	}
	size_t end = je.position > 0 ? (size_t)je.position : 0;
	while (end < len && isspace((unsigned char)data[end]))
		end++;
	if (end >= len) {
		json_t *list = first;
		const char *name = "records";
		if (json_is_object(first) && json_is_array(json_object_get(first, "data"))) {
			list = json_object_get(first, "data");
			name = "data";
		}
		int rc = 0;
		if (json_is_array(list)) {
			size_t n = json_array_size(list);
			if (n > V1_MAX_IMPORT)
				rc = va_error(c, 413, "too many records: at most %d", V1_MAX_IMPORT) - 1;
			for (size_t k = 0; rc == 0 && k < n; k++) {
				v1_loc l = {name, (long long)k, 0};
				rc = te_record(c, &l, json_array_get(list, k), bt);
			}
		} else {
			v1_loc l = {NULL, -1, 1};
			rc = te_record(c, &l, first, bt);
		}
		json_decref(first);
		return rc;
	}
	json_decref(first);
	/* JSON lines: one record per non-blank line */
	v1_lines it = {data, len, 0, 0};
	const char *s;
	size_t n;
	while (next_line(&it, &s, &n)) {
		v1_loc l = {NULL, -1, it.lineno};
		json_t *r = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
		if (!r)
			return v1_fail(c, &l, NULL, "malformed JSON: %s (column %d)", je.text, je.column),
			       -1;
		int rc = te_record(c, &l, r, bt);
		json_decref(r);
		if (rc)
			return -1;
	}
	return 0;
}

/* caseNumber / hashId: string or number -> text (copied into *out). */
static int stopncii_text(va_ctx *c, const v1_loc *l, const char *name, json_t *v,
                         size_t max, char **out)
{
	char buf[V1_ID_BYTES + 1];
	if (json_is_string(v))
		return text_field(c, l, name, v, max, 0, out);
	if (id_text(c, l, name, v, buf, sizeof buf))
		return -1;
	free(*out);
	*out = NULL;
	return buf[0] && !(*out = dupn(c, buf, strlen(buf))) ? -1 : 0;
}

static int stopncii_add(va_ctx *c, const v1_loc *l, v1_batch *bt, int t, json_t *hv,
                        vs_content **out)
{
	if (!json_is_string(hv))
		return v1_fail(c, l, "hashValue", "required: the hash, a string"), -1;
	vs_content *e = batch_new(c, bt, V1_MAX_IMPORT);
	if (!e)
		return -1;
	size_t n = json_string_length(hv);
	char hb[65];
	const char *h = json_string_value(hv);
	if (t == VSIG_PDQ)
		h = pdq_normal(h, &n, hb);
	*out = e;
	return entry_add_signal(c, l, "hashValue", e, t, h, n);
}

static int import_stopncii(va_ctx *c, const char *data, size_t len, v1_batch *bt)
{
	json_t *j = load_json_doc(c, data, len);
	if (!j)
		return -1;
	json_t *hashes = json_is_object(j) ? json_object_get(j, "hashes") : NULL;
	json_t *records = json_is_object(j) ? json_object_get(j, "hashRecords") : NULL;
	int rc = 0;
	json_t *list = hashes ? hashes : records;
	if (!json_is_array(list))
		rc = va_error(c, 400, "expected {\"hashes\": [...]} (or a FetchHashes response with "
		              "\"hashRecords\": [...])") - 1;
	else if (json_array_size(list) > V1_MAX_IMPORT)
		rc = va_error(c, 413, "too many hashes: at most %d", V1_MAX_IMPORT) - 1;
	size_t n = rc ? 0 : json_array_size(list);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *h = json_array_get(list, i);
		v1_loc l = {hashes ? "hashes" : "hashRecords", (long long)i, 0};
		if (!json_is_object(h)) {
			rc = v1_fail(c, &l, NULL, "must be a JSON object") - 1;
			break;
		}
		json_t *st = json_object_get(h, "signalType");
		const char *sts = json_is_string(st) ? json_string_value(st) : "";
		vs_content *e = NULL;
		if (hashes) {
			int t = !strcmp(sts, "PDQ") || !strcmp(sts, "ImagePDQ")   ? VSIG_PDQ
			        : !strcmp(sts, "MD5") || !strcmp(sts, "VideoMD5") ? VSIG_VIDEO_MD5
			        : !strcmp(sts, "VPDQ")                           ? VSIG_VPDQ
			                                                         : -1;
			if (t < 0) {
				rc = v1_fail(c, &l, "signalType", "must be \"PDQ\", \"MD5\" or \"VPDQ\"") - 1;
				break;
			}
			char *hid = NULL;
			rc = stopncii_add(c, &l, bt, t, json_object_get(h, "hashValue"), &e);
			if (rc == 0)
				rc = stopncii_text(c, &l, "caseNumber", json_object_get(h, "caseNumber"),
				                   V1_CASE_REF_BYTES, &e->case_ref);
			if (rc == 0)
				rc = stopncii_text(c, &l, "hashId", json_object_get(h, "hashId"), V1_ID_BYTES,
				                   &hid);
			if (rc == 0) {
				char src[V1_ID_BYTES + 16];
				snprintf(src, sizeof src, "stopncii%s%s", hid ? ":" : "", hid ? hid : "");
				rc = (e->source = dupn(c, src, strlen(src))) ? 0 : -1;
			}
			free(hid);
		} else {
			/* FetchHashes as python-threatexchange models it */
			int t = !strcmp(sts, "ImagePDQ") ? VSIG_PDQ
			        : !strcmp(sts, "VideoMD5") ? VSIG_VIDEO_MD5
			                                   : -1;
			json_t *hs = json_object_get(h, "hashStatus");
			const char *hss = json_is_string(hs) ? json_string_value(hs) : "";
			if (t < 0 || !strcmp(hss, "Withdrawn") || !strcmp(hss, "Deleted")) {
				bt->skipped++;
				continue;
			}
			rc = stopncii_add(c, &l, bt, t, json_object_get(h, "hashValue"), &e);
			json_t *cases = json_object_get(h, "caseNumbers");
			if (rc == 0 && json_is_object(cases) && json_object_size(cases)) {
				va_buf cb;
				memset(&cb, 0, sizeof cb);
				const char *k;
				json_t *v;
				json_object_foreach(cases, k, v) {
					if (cb.n)
						va_buf_put(&cb, ",", 1);
					va_buf_str(&cb, k);
					if (cb.n > V1_CASE_REF_BYTES)
						break;
				}
				if (cb.nomem)
					rc = v1_nomem(c) - 1;
				else if (cb.n > V1_CASE_REF_BYTES)
					rc = v1_fail(c, &l, "caseNumbers", "more than %d bytes of case numbers",
					             V1_CASE_REF_BYTES) - 1;
				else
					e->case_ref = cb.p, cb.p = NULL;
				free(cb.p);
			}
			if (rc == 0)
				rc = (e->source = dupn(c, "stopncii", 8)) ? 0 : -1;
		}
	}
	json_decref(j);
	return rc;
}

enum { F_PDQ, F_VPDQ, F_JSON, F_TE, F_STOPNCII, F_COUNT };
static const char *const FORMAT_NAMES[F_COUNT] = {"pdq", "vpdq", "json", "threatexchange",
                                                  "stopncii"};

static int format_arg(va_ctx *c)
{
	const char *f = va_qarg(c->req, "format");
	if (f)
		for (int i = 0; i < F_COUNT; i++)
			if (!strcmp(f, FORMAT_NAMES[i]))
				return i;
	va_error(c, 400, "format must be one of pdq, vpdq, json, threatexchange, stopncii");
	return -1;
}

/* The body to import: the raw body, or the one file of a multipart upload. */
static int import_body(va_ctx *c, const char **data, size_t *len)
{
	va_request *r = c->req;
	*data = (const char *)r->body;
	*len = r->body_len;
	if (r->nparts) {
		const va_part *file = NULL;
		size_t nfiles = 0;
		for (size_t i = 0; i < r->nparts; i++)
			if (r->parts[i].is_file) {
				file = &r->parts[i];
				nfiles++;
			}
		if (nfiles != 1)
			return va_error(c, 400, "a multipart upload must hold exactly one file"), -1;
		*data = (const char *)file->data;
		*len = file->len;
	}
	if (!*data || !*len)
		return va_error(c, 400, "the body is empty: send the list to import"), -1;
	if (*len >= 3 && !memcmp(*data, "\xEF\xBB\xBF", 3)) { /* UTF-8 byte-order mark */
		*data += 3;
		*len -= 3;
	}
	return 0;
}

static int h_import(va_ctx *c)
{
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b))
		return 0;
	v1_batch bt;
	memset(&bt, 0, sizeof bt);
	char *def_source = NULL, *def_case = NULL;
	const char *data;
	size_t len;
	long long minq;
	int fmt = format_arg(c);
	int rc = fmt < 0 ? -1 : 0;
	if (rc == 0)
		rc = q_int(c, "min_quality", 50, 0, 100, &minq);
	const char *qs = rc ? NULL : va_qarg(c->req, "source");
	const char *qc = rc ? NULL : va_qarg(c->req, "case_ref");
	if (rc == 0 && qs)
		rc = raw_text(c, NULL, "source", qs, strlen(qs), V1_SOURCE_BYTES, &def_source);
	if (rc == 0 && qc)
		rc = raw_text(c, NULL, "case_ref", qc, strlen(qc), V1_CASE_REF_BYTES, &def_case);
	if (rc == 0)
		rc = import_body(c, &data, &len);
	if (rc == 0) {
		switch (fmt) {
		case F_PDQ: rc = import_pdq(c, data, len, minq, &bt); break;
		case F_VPDQ: rc = import_vpdq(c, data, len, &bt); break;
		case F_JSON: rc = import_json(c, data, len, &bt); break;
		case F_TE: rc = import_threatexchange(c, data, len, &bt); break;
		default: rc = import_stopncii(c, data, len, &bt); break;
		}
	}
	for (size_t i = 0; rc == 0 && i < bt.n; i++) {
		vs_content *e = &bt.v[i];
		if (!e->source && def_source && !(e->source = strdup(def_source)))
			rc = v1_nomem(c) - 1;
		if (!e->case_ref && def_case && !(e->case_ref = strdup(def_case)))
			rc = v1_nomem(c) - 1;
	}
	if (rc == 0 && !bt.n) {
		if (bt.skipped)
			va_reply(c, 200, json_pack("{s:i,s:[],s:n,s:I}", "imported", 0, "ids", "seq",
			                           "skipped", (json_int_t)bt.skipped));
		else
			va_error(c, 400, "nothing to import: the body holds no entries");
		rc = -1;
	}
	int64_t first = 0, seq = 0;
	if (rc == 0 && batch_store(c, &b, &bt, &first, &seq) == 0)
		va_reply(c, 201, json_pack("{s:I,s:[I,I],s:I,s:I}", "imported", (json_int_t)bt.n, "ids",
		                           (json_int_t)first, (json_int_t)(first + (int64_t)bt.n - 1),
		                           "seq", (json_int_t)seq, "skipped", (json_int_t)bt.skipped));
	batch_free(&bt);
	free(def_source);
	free(def_case);
	vs_bank_clear(&b);
	return 0;
}

/* --------------------------------------------------------------- export */

static const char *signal_of(const vs_content *ct, int t)
{
	for (size_t i = 0; i < ct->nsignals; i++)
		if (ct->signals[i].type && ct->signals[i].value &&
		    !strcmp(ct->signals[i].type, vsig_name(t)))
			return ct->signals[i].value;
	return NULL;
}

/* The id to write back: source "PREFIX:ID" -> ID, else veto's entry id. */
static json_t *external_id(const vs_content *ct, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (ct->source && !strncmp(ct->source, prefix, pl) && ct->source[pl])
		return jstr(ct->source + pl);
	char buf[24];
	snprintf(buf, sizeof buf, "%lld", (long long)ct->id);
	return json_string(buf);
}

static void export_te(va_buf *out, const vs_content *ct, size_t *items)
{
	static const int types[2] = {VSIG_PDQ, VSIG_VIDEO_MD5};
	json_t *meta = va_metadata_json(ct);
	json_t *tags = json_array();
	json_t *mt = json_object_get(meta, "tags");
	size_t i;
	json_t *t;
	if (json_is_array(mt))
		json_array_foreach(mt, i, t) if (json_is_string(t)) json_array_append(tags, t);
	json_decref(meta);
	for (int k = 0; k < 2; k++) {
		const char *v = signal_of(ct, types[k]);
		if (!v)
			continue;
		va_buf_str(out, (*items)++ ? ",\n" : "\n");
		buf_json(out, json_pack("{s:o,s:s,s:o,s:O}", "indicator", jstr(v), "type",
		                        types[k] == VSIG_PDQ ? "HASH_PDQ" : "HASH_VIDEO_MD5", "id",
		                        external_id(ct, "threatexchange:"), "tags", tags));
	}
	json_decref(tags);
}

static void export_stopncii(va_buf *out, const vs_content *ct, size_t *items)
{
	static const int types[3] = {VSIG_PDQ, VSIG_VIDEO_MD5, VSIG_VPDQ};
	static const char *const names[3] = {"PDQ", "MD5", "VPDQ"};
	for (int k = 0; k < 3; k++) {
		const char *v = signal_of(ct, types[k]);
		if (!v)
			continue;
		json_t *o = json_pack("{s:o,s:s}", "hashValue", jstr(v), "signalType", names[k]);
		if (ct->case_ref)
			json_object_set_new(o, "caseNumber", jstr(ct->case_ref));
		json_object_set_new(o, "hashId", external_id(ct, "stopncii:"));
		va_buf_str(out, (*items)++ ? ",\n" : "\n");
		buf_json(out, o);
	}
}

static int h_export(va_ctx *c)
{
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b))
		return 0;
	int fmt = format_arg(c);
	if (fmt == F_VPDQ) {
		va_error(c, 400, "format vpdq cannot be exported (a vpdq file describes one video): "
		         "use format=json");
		fmt = -1;
	}
	if (fmt < 0) {
		vs_bank_clear(&b);
		return 0;
	}
	veto_error e;
	int64_t seq = 0;
	if (vs_max_seq(c->s->store, &seq, &e)) {
		vs_bank_clear(&b);
		return va_store_error(c, &e);
	}
	va_buf out;
	memset(&out, 0, sizeof out);
	if (fmt == F_JSON)
		va_buf_str(&out, "{\"entries\":[");
	else if (fmt == F_TE)
		va_buf_str(&out, "[");
	else if (fmt == F_STOPNCII)
		va_buf_str(&out, "{\"hashes\":[");
	int64_t after = 0;
	size_t total = 0, items = 0;
	int rc = 0;
	/* at most V1_MAX_IMPORT / V1_EXPORT_PAGE + 1 pages */
	for (;;) {
		vs_content *v = NULL;
		size_t n = 0;
		if (vs_content_list(c->s->store, b.id, after, V1_EXPORT_PAGE, &v, &n, &e)) {
			rc = va_store_error(c, &e) - 1;
			break;
		}
		total += n;
		if (total > V1_MAX_IMPORT) {
			vs_contents_free(v, n);
			rc = va_error(c, 400, "bank '%s' holds more than %d entries: page through "
			              "GET /v1/banks/%s/entries instead", b.name, V1_MAX_IMPORT,
			              b.name) - 1;
			break;
		}
		for (size_t i = 0; i < n && !out.nomem; i++) {
			const vs_content *ct = &v[i];
			if (fmt == F_JSON) {
				va_buf_str(&out, items++ ? ",\n" : "\n");
				buf_json(&out, entry_out(ct, b.name));
				continue;
			}
			if (ct->status != VS_ACTIVE)
				continue;
			if (fmt == F_PDQ) {
				const char *h = signal_of(ct, VSIG_PDQ);
				if (h) {
					va_buf_str(&out, h);
					va_buf_put(&out, "\n", 1);
				}
			} else if (fmt == F_TE) {
				export_te(&out, ct, &items);
			} else {
				export_stopncii(&out, ct, &items);
			}
		}
		int last = n < V1_EXPORT_PAGE;
		if (n)
			after = v[n - 1].id;
		vs_contents_free(v, n);
		if (last || out.nomem)
			break;
	}
	if (rc == 0) {
		const char *ctype = "application/json";
		if (fmt == F_JSON)
			va_buf_printf(&out, "\n],\"seq\":%lld}\n", (long long)seq);
		else if (fmt == F_TE)
			va_buf_str(&out, "\n]\n");
		else if (fmt == F_STOPNCII)
			va_buf_printf(&out, "\n],\"checkpoint\":%lld}\n", (long long)seq);
		else
			ctype = "text/plain; charset=utf-8";
		reply_buf(c, 200, ctype, &out);
	}
	free(out.p);
	vs_bank_clear(&b);
	return 0;
}

/* --------------------------------------------------------------- lookup */

static int h_lookup(va_ctx *c)
{
	json_t *body = va_json_body(c, 0);
	if (!body)
		return 0;
	int *types = NULL;
	char *csv = NULL;
	json_t *results = NULL;
	int incl = 0;
	const char *k;
	json_t *v, *sigs = json_object_get(body, "signals"), *banks, *inc;
	if (!json_is_object(body)) {
		va_error(c, 400, "expected a JSON object {\"signals\": [...]}");
		goto done;
	}
	json_object_foreach(body, k, v) {
		if (strcmp(k, "signals") && strcmp(k, "banks") && strcmp(k, "include_disabled")) {
			v1_fail(c, NULL, k, "unknown field");
			goto done;
		}
	}
	if (!json_is_array(sigs) || !json_array_size(sigs)) {
		v1_fail(c, NULL, "signals", "required: a non-empty list of "
		        "{\"signal_type\", \"signal\"}");
		goto done;
	}
	size_t n = json_array_size(sigs);
	if (n > V1_MAX_LOOKUP) {
		va_error(c, 413, "too many signals: %zu (at most %d per request)", n, V1_MAX_LOOKUP);
		goto done;
	}
	inc = json_object_get(body, "include_disabled");
	if (inc && !json_is_null(inc)) {
		if (!json_is_boolean(inc)) {
			v1_fail(c, NULL, "include_disabled", "must be true or false");
			goto done;
		}
		incl = json_is_true(inc);
	}
	banks = json_object_get(body, "banks");
	if (banks && !json_is_null(banks)) {
		if (!json_is_array(banks) || !json_array_size(banks) ||
		    json_array_size(banks) > V1_MAX_LOOKUP_BANKS) {
			v1_fail(c, NULL, "banks", "must be a list of 1 to %d bank names (leave it out "
			        "for every bank)", V1_MAX_LOOKUP_BANKS);
			goto done;
		}
		va_buf cb;
		memset(&cb, 0, sizeof cb);
		size_t i;
		json_array_foreach(banks, i, v) {
			if (!json_is_string(v) || !va_bank_name_ok(json_string_value(v))) {
				v1_loc l = {"banks", (long long)i, 0};
				free(cb.p);
				v1_fail(c, &l, NULL, "not a bank name");
				goto done;
			}
			if (i)
				va_buf_put(&cb, ",", 1);
			va_buf_str(&cb, json_string_value(v));
		}
		if (cb.nomem) {
			free(cb.p);
			v1_nomem(c);
			goto done;
		}
		csv = cb.p;
	}
	types = calloc(n, sizeof *types);
	if (!types) {
		v1_nomem(c);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		v1_loc l = {"signals", (long long)i, 0};
		json_t *s = json_array_get(sigs, i);
		if (!json_is_object(s)) {
			v1_fail(c, &l, NULL, "must be {\"signal_type\", \"signal\"}");
			goto done;
		}
		json_object_foreach(s, k, v) {
			if (strcmp(k, "signal_type") && strcmp(k, "signal")) {
				v1_fail(c, &l, k, "unknown field");
				goto done;
			}
		}
		json_t *st = json_object_get(s, "signal_type"), *sv = json_object_get(s, "signal");
		int t = json_is_string(st) ? vsig_from_name(json_string_value(st)) : -1;
		if (t < 0) {
			v1_fail(c, &l, "signal_type", "no such signal type");
			goto done;
		}
		if (c->s->st_ratio[t] <= 0) {
			v1_fail(c, &l, "signal_type", "signal type %s is not enabled", vsig_name(t));
			goto done;
		}
		if (!json_is_string(sv)) {
			v1_fail(c, &l, "signal", "required: a string");
			goto done;
		}
		veto_error e;
		if (vsig_parse(t, json_string_value(sv), json_string_length(sv), NULL, NULL, &e)) {
			if (e.code == VETO_ERR_NOMEM)
				v1_nomem(c);
			else
				v1_fail(c, &l, "signal", "%.200s", e.message);
			goto done;
		}
		types[i] = t;
	}
	results = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *sv = json_object_get(json_array_get(sigs, i), "signal");
		json_t *r = va_lookup_by_bank(c, types[i], json_string_value(sv), !incl, 1, csv, NULL);
		if (!r)
			goto done; /* replied (e.g. 503: index not ready) */
		json_array_append_new(results, r);
	}
	va_reply(c, 200, json_pack("{s:o}", "results", results));
	results = NULL;
done:
	json_decref(results);
	json_decref(body);
	free(types);
	free(csv);
	return 0;
}

/* ------------------------------------------------------------- signals */

/* POST /v1/signals (hasher): the `veto signals` report of one uploaded
 * file (multipart: the file in any part, plus optionally a part named
 * "manifest" holding a sidecar .c2pa store for it), for a reviewer to
 * attach to a case. Read in memory like every upload; nothing is kept.
 * Remote manifests are reported, never fetched by the service (that would
 * let any caller make the server contact any host). */
static int h_signals(va_ctx *c)
{
	va_request *r = c->req;
	const va_part *file = NULL, *manifest = NULL;
	size_t nfiles = 0;
	for (size_t i = 0; i < r->nparts; i++) {
		if (!r->parts[i].is_file && strcmp(r->parts[i].name, "manifest"))
			continue;
		if (!strcmp(r->parts[i].name, "manifest")) {
			manifest = &r->parts[i];
		} else {
			file = &r->parts[i];
			nfiles++;
		}
	}
	if (!nfiles)
		return va_error(c, 400, "Missing multipart/form-data file upload");
	if (nfiles > 1)
		return va_error(c, 400, "Only one file allowed per request (and an optional `manifest`)");
	veto_signals_options o;
	veto_signals_options_init(&o);
	o.trust = c->s->trust;
	o.max_pixels = c->s->cfg.max_pixels;
	veto_signals *rep = NULL;
	veto_error e = {0};
	atomic_fetch_add(&c->s->upload_bytes, file->len);
	const char *label = file->filename[0] ? file->filename : file->name;
	if (veto_signals_buffer(file->data, file->len, label, manifest ? manifest->data : NULL,
	                        manifest ? manifest->len : 0, &o, &rep, &e) != VETO_OK)
		return va_error(c, e.code == VETO_ERR_NOMEM ? 500 : e.code == VETO_ERR_FORMAT ? 415 : 400,
		                "cannot read the upload: %s", e.message);
	json_error_t je;
	json_t *j = json_loads(veto_signals_json(rep), 0, &je);
	veto_signals_free(rep);
	if (!j)
		return va_error(c, 500, "signals report is not JSON: %s", je.text);
	return va_reply(c, 200, j);
}

/* --------------------------------------------------------------- routes */

const va_route va_v1_routes[] = {
	{"GET", "/v1/banks", h_banks, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/v1/banks/{}/entries", h_entries_list, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"POST", "/v1/banks/{}/entries", h_entries_add, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/v1/banks/{}/entries/{}", h_entry_get, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"PATCH", "/v1/banks/{}/entries/{}", h_entry_patch, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"DELETE", "/v1/banks/{}/entries/{}", h_entry_delete, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/v1/banks/{}/changes", h_changes, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"POST", "/v1/banks/{}/import", h_import, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/v1/banks/{}/export", h_export, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"POST", "/v1/lookup", h_lookup, VA_ROLE_MATCHER, VA_SERVE_MATCHER},
	{"POST", "/v1/signals", h_signals, VA_ROLE_HASHER, VA_SERVE_HASHER},
	{NULL, NULL, NULL, 0, 0},
};
