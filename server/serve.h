/*
 * serve.h - running veto serve: the process around va_handle.
 *
 * vserve_run opens the store, loads the matcher's snapshot (or starts
 * empty), catches up with the change sequence, starts a follower thread
 * (polls the store every poll_ms: new changes, key changes; saves a
 * snapshot every snapshot_seconds when something changed) and the HTTP
 * daemon (server/http.c), then waits for SIGINT/SIGTERM, stops taking
 * requests, saves a last snapshot and returns. It prints nothing itself
 * except through the JSON log (one object per line on `log`).
 */
#ifndef VETO_SERVER_SERVE_H
#define VETO_SERVER_SERVE_H

#include <stdio.h>

#include "api.h"

typedef struct vserve_options {
	const char *listen;          /* "HOST:PORT" (default 127.0.0.1:8080) */
	const char *data_dir;        /* snapshot, and the SQLite db by default */
	const char *db_url;          /* NULL: sqlite:<data_dir>/veto.db */
	int threads;                 /* HTTP worker threads (0: 2 per core) */
	unsigned conn_limit;         /* concurrent connections (default 1024) */
	unsigned per_ip_limit;       /* per client address (default 256) */
	unsigned idle_timeout;       /* seconds a connection may sit idle (10) */
	uint64_t max_inflight;       /* bytes of request bodies held at once */
	int poll_ms;                 /* follower poll interval (default 100) */
	int snapshot_seconds;        /* 0: only at exit (default 60) */
	int rebuild;                 /* ignore (and replace) a snapshot */
	FILE *log;                   /* JSON lines (default stderr) */
	const char *ready_file;      /* written with the bound port once ready */
	va_config api;
} vserve_options;

void vserve_options_init(vserve_options *o);

/** Run until SIGINT/SIGTERM. Returns 0 after a clean stop, else an error
 * (message in err: cannot bind, store refused, snapshot damaged...). */
int vserve_run(const vserve_options *o, veto_error *err);

/* The JSON log: one object per line, with "ts" and "level" first. */
void vlog(FILE *f, const char *level, const char *msg, const char *fmt, ...);

#endif
