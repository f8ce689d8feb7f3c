/*
 * serve.c - see serve.h. The order of things at start matters:
 *   1. open the store (a matcher-only process opens it read-only, so it
 *      can follow a streaming replica; it never migrates);
 *   2. load <data>/matcher.snap if present (a damaged one is refused:
 *      start with --rebuild-index to discard it and replay the changes);
 *   3. catch up with the change sequence from the snapshot's seq, then
 *      report ready (/status says INDEX-NOT-LOADED until then);
 *   4. start the follower and the HTTP daemon.
 * At SIGINT/SIGTERM: stop the daemon (in-flight requests finish), stop the
 * follower, save the snapshot. After kill -9 nothing is lost: the store
 * holds every acknowledged write and the next start replays the changes
 * after the last snapshot.
 */
#include "serve.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void vlog(FILE *f, const char *level, const char *msg, const char *fmt, ...)
{
	if (!f)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	char extra[2048] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(extra, sizeof extra, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_lock(&log_lock);
	fprintf(f, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"%s\"%s%s}\n", when,
	        ts.tv_nsec / 1000000, level, msg, extra[0] ? "," : "", extra);
	/* Request lines ("info") are flushed by the follower every poll, not one
	 * by one (at 20k requests/s a flush per line costs a syscall each under
	 * this lock); anything else goes out at once. */
	if (strcmp(level, "info") || strcmp(msg, "request"))
		fflush(f);
	pthread_mutex_unlock(&log_lock);
}

/* a message for the log: one JSON string */
static char *jstr(const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *r = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	return r ? r : strdup("\"?\"");
}

void vserve_options_init(vserve_options *o)
{
	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:8080";
	o->data_dir = "veto-data";
	o->conn_limit = 1024;
	o->per_ip_limit = 256;
	o->idle_timeout = 10;
	o->max_inflight = 1ull << 30;
	o->poll_ms = 100;
	o->snapshot_seconds = 60;
	o->log = stderr;
	va_config_init(&o->api);
}

typedef struct follower {
	va_server *s;
	const vserve_options *o;
	char snap[4096];
	atomic_int stop;
	int64_t saved_seq;
} follower;

static void save_snapshot(follower *f, const char *why)
{
	veto_error e;
	vm_matcher *m = va_server_matcher(f->s);
	int64_t seq = vm_seq(m);
	if (seq == f->saved_seq)
		return;
	if (vm_save(m, f->snap, &e)) {
		char *q = jstr(e.message);
		vlog(f->o->log, "error", "snapshot failed", "\"detail\":%s", q);
		free(q);
		return;
	}
	f->saved_seq = seq;
	vlog(f->o->log, "info", "snapshot saved", "\"seq\":%lld,\"why\":\"%s\"", (long long)seq,
	     why);
}

static void *follow(void *arg)
{
	follower *f = arg;
	double last_keys = 0, last_snap = (double)time(NULL);
	int failing = 0;
	while (!atomic_load(&f->stop)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		double t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
		veto_error e;
		size_t applied = 0;
		if (va_server_sync(f->s, &applied, &e)) {
			if (!failing) {
				char *q = jstr(e.message);
				vlog(f->o->log, "error", "cannot follow the store", "\"detail\":%s", q);
				free(q);
			}
			failing = 1;
		} else {
			if (failing)
				vlog(f->o->log, "info", "following the store again", NULL);
			failing = 0;
			if (applied)
				vlog(f->o->log, "debug", "changes applied",
				     "\"count\":%zu,\"seq\":%lld", applied,
				     (long long)vm_seq(va_server_matcher(f->s)));
		}
		if (!f->o->api.no_auth && t - last_keys >= 1.0) {
			if (va_server_refresh_keys(f->s, &e) == 0)
				last_keys = t;
		}
		if (f->o->snapshot_seconds > 0 &&
		    (double)time(NULL) - last_snap >= f->o->snapshot_seconds) {
			save_snapshot(f, "periodic");
			last_snap = (double)time(NULL);
		}
		if (f->o->log) {
			pthread_mutex_lock(&log_lock);
			fflush(f->o->log);
			pthread_mutex_unlock(&log_lock);
		}
		struct timespec nap = {f->o->poll_ms / 1000, (long)(f->o->poll_ms % 1000) * 1000000L};
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static int is_loopback(const char *listen)
{
	return !strncmp(listen, "127.", 4) || !strncmp(listen, "[::1]:", 6) ||
	       !strncmp(listen, "localhost:", 10);
}

static int fail(veto_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(veto_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

int vserve_run(const vserve_options *o, veto_error *err)
{
	if (o->api.no_auth && !is_loopback(o->listen))
		return fail(err, VETO_ERR_INVALID,
		            "--no-auth serves without API keys, so it only binds to loopback "
		            "(127.0.0.1 or [::1]); '%s' is not",
		            o->listen);
	if (mkdir(o->data_dir, 0700) && errno != EEXIST)
		return fail(err, VETO_ERR_IO, "cannot create the data folder %s: %s", o->data_dir,
		            strerror(errno));
	char dburl[4096], snap[4096];
	if (o->db_url)
		snprintf(dburl, sizeof dburl, "%s", o->db_url);
	else
		snprintf(dburl, sizeof dburl, "sqlite:%s/veto.db", o->data_dir);
	snprintf(snap, sizeof snap, "%s/matcher.snap", o->data_dir);
	/* kill -9 while a snapshot was being written leaves its temporary file
	 * (matcher.snap.tmp.XXXXXX, see lib/safe_write.c): remove it */
	DIR *dd = opendir(o->data_dir);
	for (struct dirent *de; dd && (de = readdir(dd));) {
		char stale[4400];
		snprintf(stale, sizeof stale, "%s/%s", o->data_dir, de->d_name);
		if (!strncmp(de->d_name, "matcher.snap.tmp.", 17) && unlink(stale) == 0)
			vlog(o->log, "info", "removed a half-written snapshot", "\"file\":\"%s\"",
			     de->d_name);
	}
	if (dd)
		closedir(dd);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits this */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	int readonly = !(o->api.serve & (VA_SERVE_CURATOR)) ;
	vs_store *store = NULL;
	int rc = vs_open(&store, dburl, readonly, err);
	if (rc)
		return rc;
	vlog(o->log, "info", "store open", "\"backend\":\"%s\",\"readonly\":%s",
	     vs_backend(store), readonly ? "true" : "false");

	vm_matcher *m = NULL;
	if (!o->rebuild) {
		rc = vm_load(&m, snap, err);
		if (rc == VS_ERR_NOTFOUND) {
			m = NULL;
		} else if (rc) {
			vs_close(store);
			size_t l = strlen(err->message);
			snprintf(err->message + l, sizeof err->message - l,
			         " (start with --rebuild-index to discard it and rebuild from the store)");
			return rc;
		} else {
			vlog(o->log, "info", "snapshot loaded", "\"seq\":%lld", (long long)vm_seq(m));
		}
	}
	if (!m && (rc = vm_new(&m, err))) {
		vs_close(store);
		return rc;
	}
	va_server *s = NULL;
	va_config cfg = o->api;
	cfg.log = o->log;
	if ((rc = va_server_new(&s, &cfg, store, m, err))) {
		vs_close(store);
		return rc;
	}
	/* catch up before taking lookups */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t from = vm_seq(m);
	size_t applied = 0;
	if ((rc = va_server_sync_page(s, 250000, &applied, err)) || (rc = vm_merge(m, err))) {
		va_server_free(s);
		vs_close(store);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vlog(o->log, "info", "caught up",
	     "\"from_seq\":%lld,\"seq\":%lld,\"changes\":%zu,\"seconds\":%.3f", (long long)from,
	     (long long)vm_seq(m), applied,
	     (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	va_server_set_ready(s, 1);

	follower f;
	memset(&f, 0, sizeof f);
	f.s = s;
	f.o = o;
	f.saved_seq = o->rebuild ? -1 : from;
	snprintf(f.snap, sizeof f.snap, "%s", snap);
	pthread_t ft;
	if (pthread_create(&ft, NULL, follow, &f)) {
		va_server_free(s);
		vs_close(store);
		return fail(err, VETO_ERR_NOMEM, "cannot start the follower thread");
	}
	vh_daemon *d = NULL;
	int port = 0;
	if ((rc = vh_start(&d, s, o, &port, err))) {
		atomic_store(&f.stop, 1);
		pthread_join(ft, NULL);
		va_server_free(s);
		vs_close(store);
		return rc;
	}
	vlog(o->log, "info", "listening",
	     "\"listen\":\"%s\",\"port\":%d,\"auth\":%s,\"roles\":\"%s%s%s\"", o->listen, port,
	     o->api.no_auth ? "false" : "true", o->api.serve & VA_SERVE_HASHER ? "h" : "",
	     o->api.serve & VA_SERVE_MATCHER ? "m" : "", o->api.serve & VA_SERVE_CURATOR ? "c" : "");
	if (o->ready_file) {
		char tmp[4200];
		snprintf(tmp, sizeof tmp, "%s.tmp", o->ready_file);
		FILE *rf = fopen(tmp, "w");
		if (rf) {
			fprintf(rf, "%d\n", port);
			fclose(rf);
			rename(tmp, o->ready_file);
		}
	}
	int sig = 0;
	sigwait(&sigs, &sig);
	vlog(o->log, "info", "stopping", "\"signal\":%d", sig);
	vh_stop(d);
	atomic_store(&f.stop, 1);
	pthread_join(ft, NULL);
	save_snapshot(&f, "exit");
	va_server_free(s);
	vs_close(store);
	curl_global_cleanup();
	vlog(o->log, "info", "stopped", NULL);
	return 0;
}
