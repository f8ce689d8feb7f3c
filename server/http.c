/*
 * http.c - see http.h. libmicrohttpd calls access() several times per
 * request: once with the headers, then once per chunk of body, then once
 * with nothing left; the body is appended to a per-request buffer (never
 * to disk) and the request is handled on the last call. Limits:
 *   - Content-Length over --max-body: 413 at once, the body is not read;
 *     a chunked body that grows past it is dropped and answered 413;
 *   - bodies held by all requests together stay under max_inflight (503);
 *   - MHD's connection limit, per-address limit and idle timeout bound
 *     slow or hostile clients (a slowloris holds at most per_ip_limit
 *     connections, each for at most idle_timeout between bytes).
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_internal.h"

struct vh_daemon {
	struct MHD_Daemon *mhd;
	va_server *s;
	FILE *log;
	uint64_t max_body;
	uint64_t max_inflight;
	atomic_ullong inflight;
};

typedef struct vh_conn {
	uint8_t *body;
	size_t len, cap;
	int too_large;
	int over_budget;
	int early_reply;         /* a response was queued before the body */
	double t0;
	va_request req;
	char *qstore;            /* copies of query keys/values */
	size_t qlen, qcap;
} vh_conn;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	vh_conn *c = cls;
	if (c->req.nquery >= VA_MAX_QUERY) {
		c->req.query_overflow = 1;
		return MHD_YES;
	}
	c->req.query[c->req.nquery].key = key;
	c->req.query[c->req.nquery].value = value ? value : "";
	c->req.nquery++;
	return MHD_YES;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, va_response *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		r->len, r->body ? r->body : (void *)"", r->body ? MHD_RESPMEM_MUST_FREE
		                                                 : MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->body = NULL; /* MHD frees it */
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->retry_after > 0) {
		char ra[24];
		snprintf(ra, sizeof ra, "%d", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void client_addr(struct MHD_Connection *conn, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	buf[0] = 0;
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		          (socklen_t)cap);
}

static void log_request(vh_daemon *d, const char *method, const va_response *r,
                        size_t bytes_in, size_t bytes_out, double secs, const char *client)
{
	if (!d->log)
		return;
	char m[16];
	size_t i = 0;
	for (; method[i] && i < sizeof m - 1; i++)
		m[i] = (method[i] >= 'A' && method[i] <= 'Z') ? method[i] : '?';
	m[i] = 0;
	method = m;
	vlog(d->log, r->status >= 500 ? "error" : "info", "request",
	     "\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"ms\":%.3f,\"bytes_in\":%zu,"
	     "\"bytes_out\":%zu,\"key\":\"%s\",\"client\":\"%s\"",
	     method, r->route[0] ? strchr(r->route, ' ') ? strchr(r->route, ' ') + 1 : r->route
	                         : "?",
	     r->status, secs * 1e3, bytes_in, bytes_out, r->key_id, client);
}

static enum MHD_Result early(struct MHD_Connection *conn, vh_daemon *d, vh_conn *c,
                             const char *method, int status, const char *msg)
{
	va_response r;
	memset(&r, 0, sizeof r);
	r.status = status;
	r.content_type = "application/json";
	json_t *j = json_pack("{s:s}", "message", msg);
	r.body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	r.len = r.body ? strlen(r.body) : 0;
	snprintf(r.route, sizeof r.route, "%s (body refused)", method);
	if (status == 503)
		r.retry_after = 1;
	char client[64];
	client_addr(conn, client, sizeof client);
	size_t out = r.len;
	va_metrics_observe(d->s, &r, now_s() - c->t0);
	log_request(d, method, &r, c->len, out, now_s() - c->t0, client);
	c->early_reply = 1;
	return send_response(conn, &r);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
	(void)version;
	vh_daemon *d = cls;
	vh_conn *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return MHD_NO;
		c->t0 = now_s();
		*con_cls = c;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long v = strtoull(cl, &end, 10);
			if (*end || end == cl)
				return early(conn, d, c, method, 400, "malformed Content-Length");
			if (v > d->max_body) {
				char msg[160];
				snprintf(msg, sizeof msg,
				         "request body of %llu bytes is over the limit of %llu (--max-body)",
				         v, (unsigned long long)d->max_body);
				return early(conn, d, c, method, 413, msg);
			}
		}
		return MHD_YES;
	}
	if (c->early_reply) {
		*upload_data_size = 0; /* discard the rest */
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (c->too_large || c->over_budget)
			return MHD_YES;
		if (c->len + n > d->max_body) {
			c->too_large = 1;
			return MHD_YES;
		}
		if (c->len + n > c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 16384;
			while (nc < c->len + n)
				nc *= 2;
			if (nc > d->max_body)
				nc = d->max_body;
			unsigned long long grow = nc - c->cap;
			if (atomic_fetch_add(&d->inflight, grow) + grow > d->max_inflight) {
				atomic_fetch_sub(&d->inflight, grow);
				c->over_budget = 1;
				return MHD_YES;
			}
			uint8_t *t = realloc(c->body, nc);
			if (!t) {
				atomic_fetch_sub(&d->inflight, grow);
				c->over_budget = 1;
				return MHD_YES;
			}
			c->body = t;
			c->cap = nc;
		}
		memcpy(c->body + c->len, upload_data, n);
		c->len += n;
		return MHD_YES;
	}
	/* the whole request is here */
	va_response r;
	if (c->too_large) {
		char msg[128];
		snprintf(msg, sizeof msg, "request body over the limit of %llu bytes (--max-body)",
		         (unsigned long long)d->max_body);
		return early(conn, d, c, method, 413, msg);
	}
	if (c->over_budget)
		return early(conn, d, c, method, 503, "server busy: too many large requests at once");
	c->req.method = method;
	c->req.path = url;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, c);
	c->req.authorization =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	c->req.content_type =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	char client[64];
	client_addr(conn, client, sizeof client);
	c->req.client = client;
	c->req.body = c->body;
	c->req.body_len = c->len;
	va_handle(d->s, &c->req, &r);
	double secs = now_s() - c->t0;
	va_metrics_observe(d->s, &r, secs);
	log_request(d, method, &r, c->len, r.len, secs, client);
	c->early_reply = 1;
	enum MHD_Result ret = send_response(conn, &r);
	va_response_clear(&r);
	return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	vh_daemon *d = cls;
	vh_conn *c = *con_cls;
	if (!c)
		return;
	if (c->cap)
		atomic_fetch_sub(&d->inflight, c->cap);
	free(c->body);
	free(c->qstore);
	free(c);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fm, va_list ap)
{
	vh_daemon *d = cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fm, ap);
	size_t l = strlen(msg);
	while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
		msg[--l] = 0;
	if (d->log) {
		json_t *m = json_string(msg);
		char *s = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
		vlog(d->log, "warn", "http", "\"detail\":%s", s ? s : "\"?\"");
		free(s);
		json_decref(m);
	}
}

/* Percent-decoding of the path and query: MHD's own, except that a "%00"
 * would end the C string early ("/content/1%00x" would read as
 * "/content/1"), so a decoded NUL becomes \x01, which no route, bank name
 * or hash accepts. */
static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	size_t n = MHD_http_unescape(s);
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			s[i] = '\x01';
	return n;
}

int vh_start(vh_daemon **out, va_server *s, const vserve_options *o, int *port,
             veto_error *err)
{
	char host[256];
	const char *colon = strrchr(o->listen, ':');
	if (!colon || (size_t)(colon - o->listen) >= sizeof host) {
		err->code = VETO_ERR_INVALID;
		snprintf(err->message, sizeof err->message,
		         "--listen '%s': expected HOST:PORT (e.g. 127.0.0.1:8080)", o->listen);
		return err->code;
	}
	memcpy(host, o->listen, (size_t)(colon - o->listen));
	host[colon - o->listen] = 0;
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535 || end == colon + 1) {
		err->code = VETO_ERR_INVALID;
		snprintf(err->message, sizeof err->message, "--listen '%s': bad port", o->listen);
		return err->code;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	char *h = host;
	size_t hl = strlen(h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h[hl - 1] = 0;
		h++;
	}
	if (!strcmp(h, "localhost"))
		h = "127.0.0.1";
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		flags |= MHD_USE_IPv6;
	} else {
		err->code = VETO_ERR_INVALID;
		snprintf(err->message, sizeof err->message,
		         "--listen '%s': the host must be an IP address", o->listen);
		return err->code;
	}
	vh_daemon *d = calloc(1, sizeof *d);
	if (!d) {
		err->code = VETO_ERR_NOMEM;
		snprintf(err->message, sizeof err->message, "out of memory");
		return err->code;
	}
	d->s = s;
	d->log = o->log;
	d->max_body = o->api.max_body;
	d->max_inflight = o->max_inflight;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = o->threads > 0 ? (unsigned)o->threads : (unsigned)(ncpu > 0 ? ncpu * 2 : 4);
	d->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, access_cb, d, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, d,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, o->conn_limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_limit, MHD_OPTION_CONNECTION_TIMEOUT,
		o->idle_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, d, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
	if (!d->mhd) {
		free(d);
		err->code = VETO_ERR_IO;
		snprintf(err->message, sizeof err->message,
		         "cannot listen on %s (address in use, or not this machine's?)", o->listen);
		return err->code;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	*port = di ? di->port : (int)p;
	*out = d;
	return 0;
}

void vh_stop(vh_daemon *d)
{
	if (!d)
		return;
	MHD_stop_daemon(d->mhd);
	free(d);
}
