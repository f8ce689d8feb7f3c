/*
 * http.h - the HTTP side of veto serve, over libmicrohttpd: a pool of
 * worker threads with epoll, keep-alive, limits on connections (total and
 * per address), idle time (slow clients are cut off) and request bodies
 * (--max-body per request, max_inflight in all; larger bodies get 413
 * before they are read, when Content-Length announces them). Each request
 * becomes a va_request for va_handle; the response goes back with
 * Cache-Control: no-store. One JSON log line per request: method, route
 * pattern, status, time, sizes, key id - never the query string or the
 * body (they carry hashes and media).
 */
#ifndef VETO_SERVER_HTTP_H
#define VETO_SERVER_HTTP_H

#include "serve.h"

typedef struct vh_daemon vh_daemon;

/** Start serving s on o->listen. *port gets the bound port (useful with
 * port 0). */
int vh_start(vh_daemon **out, va_server *s, const vserve_options *o, int *port,
             veto_error *err);
void vh_stop(vh_daemon *d);

#endif
