/*
 * api.h - veto serve's request handling, independent of the HTTP library.
 *
 * server/http.c turns each HTTP request into a va_request (method, path,
 * decoded query arguments, the few headers that matter, the body in
 * memory) and sends back the va_response that va_handle fills. Everything
 * between - routing, authentication, roles, rate limits, JSON, hashing of
 * uploads, lookups, writes to the store - happens in va_handle and the
 * files it calls (api.c: routing, auth and shared helpers; api_hma.c: the
 * HMA 1.1.x routes; api_v1.c: veto's own /v1). Because nothing here knows
 * about sockets, the fuzzer (fuzz/fuzz_api.c) drives va_handle directly.
 *
 * Uploads: the body is held in memory only; multipart/form-data is parsed
 * in place (server/multipart.c) and hashed from that buffer; the bytes are
 * never written anywhere, logged or stored.
 */
#ifndef VETO_SERVER_API_H
#define VETO_SERVER_API_H

#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "matcher.h"
#include "signals.h"
#include "store.h"
#include "veto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ requests */

typedef struct va_kv {
	const char *key;
	const char *value;
} va_kv;

typedef struct va_part {          /* one multipart/form-data part */
	char name[128];               /* the form field name */
	char filename[256];           /* "" if not a file */
	char content_type[128];
	int is_file;
	const uint8_t *data;          /* points into the request body */
	size_t len;
} va_part;

#define VA_MAX_QUERY 64
#define VA_MAX_PARTS 16

typedef struct va_request {
	const char *method;           /* "GET", "POST", ... */
	const char *path;             /* decoded, without the query */
	va_kv query[VA_MAX_QUERY];
	size_t nquery;
	int query_overflow;           /* more arguments than VA_MAX_QUERY */
	const char *authorization;    /* the header, or NULL */
	const char *content_type;     /* the header, or NULL */
	const char *client;           /* peer address, for logs and limits */
	const uint8_t *body;
	size_t body_len;
	/* filled by va_handle (multipart bodies): */
	va_part parts[VA_MAX_PARTS];
	size_t nparts;
} va_request;

typedef struct va_response {
	int status;
	const char *content_type;     /* static string */
	char *body;                   /* malloc'd */
	size_t len;
	int retry_after;              /* seconds, for 429/503; 0: none */
	/* for the access log (never the body or the query: they hold hashes) */
	char key_id[40];
	char route[48];               /* e.g. "GET /m/lookup" */
} va_response;
void va_response_clear(va_response *r);

/* ------------------------------------------------------------- servers */

enum va_role { VA_ROLE_NONE = 0, VA_ROLE_HASHER = 1, VA_ROLE_MATCHER = 2,
               VA_ROLE_CURATOR = 3, VA_ROLE_ADMIN = 4 };
const char *va_role_name(int role);
int va_role_parse(const char *s);          /* VA_ROLE_NONE if unknown */

/* What this process serves (HMA's ROLE_HASHER/MATCHER/CURATOR). */
#define VA_SERVE_HASHER  1
#define VA_SERVE_MATCHER 2
#define VA_SERVE_CURATOR 4
#define VA_SERVE_ALL     7

typedef struct va_config {
	unsigned serve;               /* VA_SERVE_* bits */
	int no_auth;                  /* every request acts as admin */
	uint64_t max_body;            /* bytes; larger bodies get 413 */
	uint64_t max_fetch;           /* bytes fetched by URL (/h/hash?url=) */
	double video_seconds;         /* wall-clock budget to hash one video */
	uint64_t max_pixels;          /* per image / frame */
	const char *allow_hosts;      /* comma-separated hosts for ?url=, or NULL:
	                               * fetching by URL is refused */
	const char *trust_path;       /* PEM bundle of C2PA trust anchors for
	                               * /v1/signals, or NULL: no signer trusted */
	int index_stale_seconds;      /* /status says INDEX-STALE past this (0: never) */
	double default_rate;          /* requests/s for keys without their own */
	FILE *log;                    /* JSON log for errors clients don't see */
} va_config;

void va_config_init(va_config *c);

typedef struct va_server va_server;

/** A server over an open store (not owned) and matcher (owned from now on).
 * Nothing is started: serve.c runs the follower and the HTTP daemon. */
int va_server_new(va_server **out, const va_config *cfg, vs_store *store, vm_matcher *m,
                  veto_error *err);
void va_server_free(va_server *s);
vm_matcher *va_server_matcher(va_server *s);

/** Bring the matcher up to date with the store (one page or more of
 * changes) and refresh the key cache. Called by the follower thread every
 * poll interval, and by write routes right after they commit so that a
 * change is visible to the very next lookup. *applied (may be NULL) gets
 * how many changes were applied. */
int va_server_sync(va_server *s, size_t *applied, veto_error *err);
/** The same with pages of `page` changes (the initial catch-up uses large
 * pages: fewer, bigger batches for the index). */
int va_server_sync_page(va_server *s, size_t page, size_t *applied, veto_error *err);
int va_server_refresh_keys(va_server *s, veto_error *err);
/** Mark the index as ready (initial catch-up done) / record a sync time. */
void va_server_set_ready(va_server *s, int ready);

/** Handle one request. Always fills *resp (JSON errors for every failure). */
void va_handle(va_server *s, va_request *req, va_response *resp);

/** Prometheus text for /metrics (also used by tests). */
char *va_metrics_text(va_server *s);

/** Record a finished response in the metrics (http.c calls it). */
void va_metrics_observe(va_server *s, const va_response *r, double seconds);

#ifdef __cplusplus
}
#endif
#endif
