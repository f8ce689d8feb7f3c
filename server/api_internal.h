/*
 * api_internal.h - what api.c, api_hma.c and api_v1.c share: the server
 * object, the per-request context, JSON replies and argument helpers, and
 * the rules both APIs apply to what they store and read back (bank names
 * and scopes, live content, signals, text fields, metadata), so that HMA's
 * routes and /v1 cannot drift apart. Each API words its own messages.
 * Nobody outside server/api*.c includes this.
 */
#ifndef VETO_SERVER_API_INTERNAL_H
#define VETO_SERVER_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api.h"

typedef struct va_key {
	char key_id[40];
	uint8_t secret_hash[32];
	int role;
	char **banks;                 /* NULL: every bank */
	size_t nbanks;
	double rate;                  /* 0: unlimited */
	/* token bucket (guarded by the server's rate_lock) */
	double tokens;
	double last;
} va_key;

#define VA_LAT_BUCKETS 12

struct va_server {
	va_config cfg;
	vs_store *store;
	vm_matcher *m;
	veto_trust *trust;             /* cfg.trust_path, loaded once */
	pthread_mutex_t sync_lock;     /* one va_server_sync at a time */
	pthread_rwlock_t keys_lock;
	va_key *keys;
	size_t nkeys;
	pthread_mutex_t rate_lock;
	double st_ratio[VSIG_COUNT];   /* signal type enabled ratios */
	atomic_int ready;
	atomic_llong last_sync;        /* unix seconds of the last good sync */
	atomic_llong last_sync_err;    /* of the last failed sync, 0 if none */
	/* metrics */
	atomic_ullong req_by_class[6]; /* 1xx..5xx by status/100, [0] other */
	atomic_ullong lookups, hashes, upload_bytes, writes, rejected_auth,
	              rate_limited;
	atomic_ullong lat_count[VA_LAT_BUCKETS + 1];
	atomic_ullong lat_sum_us;
	atomic_ullong sync_applied;
};

typedef struct va_ctx {
	va_server *s;
	va_request *req;
	va_response *resp;
	const va_key *key;            /* NULL with --no-auth */
	int role;
	int64_t now;
	const char *p[3];             /* path parameters, e.g. bank name, id */
	char pbuf[3][256];
} va_ctx;

/* A growable text buffer (JSON and text bodies, /metrics). On allocation
 * failure `nomem` is set and later appends do nothing; p is always
 * NUL-terminated once anything was appended. */
typedef struct va_buf {
	char *p;
	size_t n, cap;
	int nomem;
} va_buf;
void va_buf_put(va_buf *b, const char *s, size_t n);
void va_buf_str(va_buf *b, const char *s);
void va_buf_printf(va_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* replies (all return 0 so handlers can `return va_reply...`) */
int va_reply(va_ctx *c, int status, json_t *j);             /* steals j */
int va_reply_text(va_ctx *c, int status, const char *text);
int va_error(va_ctx *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int va_store_error(va_ctx *c, const veto_error *e);          /* 404/409/503/500 */

const char *va_qarg(const va_request *r, const char *name);
int va_arg_bool(va_ctx *c, const char *name, int def, int *out); /* -1: replied 400 */
/* The JSON body as an object/array; replies 400 and returns NULL if it is
 * missing or malformed (unless allow_empty and the body is empty: then an
 * empty object). */
json_t *va_json_body(va_ctx *c, int allow_empty);

int va_bank_name_ok(const char *name);
/** Does the key reach this bank? (no key or no scope: yes) */
int va_key_allows_bank(const va_key *k, const char *bank);
/** Could the bank named `name` be one this request's key reaches? (a valid
 * name within the key's scope; bank routes answer others with 404) */
int va_bank_reachable(const va_ctx *c, const char *name);
/** 1 if ok; else replied 404 (not found, or out of the key's scope: the
 * two look the same so a scoped key learns nothing of other banks). */
int va_load_bank(va_ctx *c, const char *name, vs_bank *out);
/** The bank (path parameter 1, by va_load_bank) and item id (parameter 2,
 * by id_arg, which replies when it refuses) of a route under a bank: 1, or
 * 0 after replying. */
int va_load_bank_item(va_ctx *c, vs_bank *b, int (*id_arg)(va_ctx *c, const char *s, int64_t *id),
                      int64_t *id);
/** The live banks this request's key reaches, by id; -1 after replying. */
int va_list_banks(va_ctx *c, vs_bank **out, size_t *n);
/** Content id, only if it is live and in bank b (veto's fix to HMA, which
 * reads any id under any bank name): 1; 0 if there is none such (nothing
 * replied: each API words its own 404); -1 after replying. */
int va_live_content(va_ctx *c, const vs_bank *b, int64_t id, vs_content *ct);

/* Signals of a vs_content being built from a request: type points to
 * vsig_name() (static), value is malloc'd. va_signal_append parses value
 * as a signal of type t and appends its canonical string: 0, or
 * VETO_ERR_INVALID (vsig_parse's message) / VETO_ERR_NOMEM. */
int va_signal_append(vs_content *e, int t, const char *value, size_t len, veto_error *err);
void va_signals_free(vs_content *e);   /* the values, the array */

/* An optional text field of a JSON body: absent, null or "" is none (*s
 * NULL); a string of at most max_bytes bytes and max_chars characters (0:
 * no limit) is *s, *n (pointing into v); else why not: */
enum { VA_TEXT_OK = 0, VA_TEXT_NOT_STRING, VA_TEXT_TOO_MANY_BYTES, VA_TEXT_TOO_MANY_CHARS };
int va_text_value(json_t *v, size_t max_bytes, size_t max_chars, const char **s, size_t *n);

/* User metadata (a JSON object) as the store keeps it: compact text with
 * sorted keys, malloc'd; NULL if the object is empty (or out of memory).
 * va_metadata_json reads it back: the object, or NULL if none. */
char *va_metadata_text(const json_t *m);
json_t *va_metadata_json(const vs_content *ct);

/* Sync the matcher right after a committed write (errors are logged in
 * metrics; the follower thread will retry). */
void va_after_write(va_ctx *c);

/* Hashing an upload: finds the single file part, maps its field name to a
 * content type; on failure replies and returns -1. */
int va_hash_upload(va_ctx *c, unsigned mask, vsig_hashes *out, int *content);
/* Fetching ?url= (only with an allow-list) and hashing it. */
int va_hash_url(va_ctx *c, const char *url, const char *content_type_hint,
                const char *types, vsig_hashes *out);
/* ?types=a,b restricted to one content type: the mask, or -1 (replied). */
int va_types_mask(va_ctx *c, int content, const char *types, unsigned *mask);
/* signal type by name, enabled; else replies 400 and returns -1. */
int va_signal_type(va_ctx *c, const char *name);

/* Route tables. */
typedef int (*va_handler)(va_ctx *c);
typedef struct va_route {
	const char *method;
	const char *pattern;           /* "/c/bank/{}/content/{}" */
	va_handler fn;
	int role;                      /* minimum role */
	unsigned serve;                /* VA_SERVE_* needed (0: always) */
} va_route;

extern const va_route va_hma_routes[];
extern const va_route va_v1_routes[];

/* lookups shared by HMA and /v1: matches of one signal as HMA's
 * {bank: [{bank_content_id, distance}]} object; NULL after replying. */
json_t *va_lookup_by_bank(va_ctx *c, int type, const char *signal, int only_enabled,
                          int bypass_coinflip, const char *banks_csv, const char *seed);

#endif
