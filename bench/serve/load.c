/*
 * load.c - an HTTP/1.1 load generator for veto serve (bench/serve/run.sh).
 *
 *   serve_load [--host H] [--port P] [--mode raw|lookup|upload]
 *              [-c CONNECTIONS] [-t THREADS] [-d SECONDS] [--rounds R]
 *              [--warmup SECONDS] [--hashes FILE] [--near FRACTION]
 *              [--max-flip BITS] [--seed S] [--images DIR]
 *              [--hash-threads N] [--token TOKEN] [--server-pid PID]
 *              [--label TEXT]
 *
 * Modes:
 *   raw     GET /m/raw_lookup?signal_type=pdq&signal=HASH
 *   lookup  GET /m/lookup?signal_type=pdq&signal=HASH
 *   upload  POST /m/lookup, multipart/form-data with a JPEG (field "photo"),
 *           cycling through every *.jpg under --images (those whose PDQ
 *           quality is below 50 are left out: the server answers them 400
 *           "invalid PDQ hash"). After each round, as the baseline, the
 *           same bytes are hashed in this process for as long, with
 *           veto_hash_image_buffer, --hash-threads threads (default: the
 *           number of cores) and the server's options (server/signals.c
 *           hash_photo), in whole cycles. The ratio compares the upload rate
 *           with the in-process rate on exactly the images that round's
 *           uploads got (each image's mean cost times how often it was
 *           uploaded): the images' costs differ a hundredfold and a round
 *           ends part-way through a cycle. Taking the two in turn, round by
 *           round, keeps a changing load from other processes from
 *           favouring one side.
 * For raw/lookup, a --near fraction (default 0.5) of the queries are hashes
 * from --hashes (a sample of the banked ones, one hex hash per line, as
 * serve_load_bank --sample writes) with 0..--max-flip (default 16) random
 * bits flipped, so each must match; the rest are uniformly random 256-bit
 * hashes, which match nothing (a random hash is within distance 31 of a
 * given one with probability about 2^-120). Every response is checked:
 * non-2xx statuses count as errors, and near queries that found nothing
 * (or random ones that found something) are reported.
 *
 * Each of THREADS threads (default: the number of cores) runs an epoll
 * loop over its share of CONNECTIONS (default 64) keep-alive connections,
 * one request in flight per connection. Every request's latency (from the
 * first byte written to the last byte of the response read) is kept; each
 * round's are sorted for p50/p90/p99/p99.9. After a warm-up (default 2 s,
 * not counted) come ROUNDS rounds of SECONDS each; the summary is the
 * median of the rounds' figures. With --server-pid the server's CPU time
 * (from /proc) is reported per round too, and the client's own, since on a
 * small machine the two share the cores, and the whole machine's (from
 * /proc/stat), which shows when something else was running meanwhile;
 * CPU time per request (server, client) is printed too: it says more than
 * req/s on a machine that is not idle.
 *
 * Output: one line per round, a summary line, then one JSON line (prefix
 * "JSON ") with the same figures.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "veto.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { MODE_RAW, MODE_LOOKUP, MODE_UPLOAD };

typedef struct opts {
	const char *host;
	int port;
	int mode;
	int conns, threads, rounds;
	double duration, warmup;
	const char *hashes;
	double near;
	int max_flip;
	uint64_t seed;
	const char *images;
	int hash_threads;
	const char *token;
	int server_pid;
	const char *label;
} opts;

static opts O;
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;

/* the banked sample (raw, lookup) */
static veto_pdq_hash *g_sample;
static size_t g_nsample;

/* the uploads: one whole request per image */
typedef struct image {
	char *path;
	uint8_t *data;
	size_t size;
	char *req;
	size_t req_len;
	int quality;
	double cost1;                     /* seconds to hash, one thread, alone */
	double cost;                      /* mean seconds in the baseline run */
} image;
static image *g_img;
static size_t g_nimg, g_capimg, g_skipped;
static atomic_size_t g_next_img;
static uint64_t *g_img_done;          /* uploads answered 2xx, per image */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("serve_load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ----------------------------------------------------------- inputs */

static void load_hashes(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot read --hashes %s: %s", path, strerror(errno));
	char line[256];
	size_t cap = 0;
	while (fgets(line, sizeof line, f)) {
		size_t l = strcspn(line, "\r\n");
		if (!l)
			continue;
		if (g_nsample == cap) {
			cap = cap ? cap * 2 : 1024;
			g_sample = realloc(g_sample, cap * sizeof *g_sample);
			if (!g_sample)
				die("out of memory");
		}
		veto_error e;
		if (veto_pdq_from_hex(&g_sample[g_nsample], line, l, &e))
			die("%s: %s", path, e.message);
		g_nsample++;
	}
	fclose(f);
	if (!g_nsample)
		die("no hashes in %s", path);
}

static int add_image(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	size_t l = strlen(path);
	if (!(l > 4 && !strcasecmp(path + l - 4, ".jpg")) &&
	    !(l > 5 && !strcasecmp(path + l - 5, ".jpeg")))
		return 0;
	if (g_nimg == g_capimg) {
		g_capimg = g_capimg ? g_capimg * 2 : 64;
		g_img = realloc(g_img, g_capimg * sizeof *g_img);
		if (!g_img)
			die("out of memory");
	}
	image *im = &g_img[g_nimg];
	memset(im, 0, sizeof *im);
	veto_error e;
	if (veto_read_file(path, 0, &im->data, &im->size, &e))
		die("%s", e.message);
	im->path = strdup(path);
	g_nimg++;
	return 0;
}

static int cmp_image(const void *a, const void *b)
{
	return strcmp(((const image *)a)->path, ((const image *)b)->path);
}

static void build_uploads(void)
{
	static const char B[] = "vetobenchboundary7f3a";
	for (size_t i = 0; i < g_nimg; i++) {
		image *im = &g_img[i];
		char head[512], auth[512] = "";
		int hl = snprintf(head, sizeof head,
		                  "--%s\r\nContent-Disposition: form-data; name=\"photo\"; "
		                  "filename=\"upload.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n", B);
		char tail[64];
		int tl = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", B);
		size_t body = (size_t)hl + im->size + (size_t)tl;
		if (O.token)
			snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", O.token);
		char rh[1024];
		int rl = snprintf(rh, sizeof rh,
		                  "POST /m/lookup HTTP/1.1\r\nHost: %s:%d\r\n%s"
		                  "Content-Type: multipart/form-data; boundary=%s\r\n"
		                  "Content-Length: %zu\r\n\r\n",
		                  O.host, O.port, auth, B, body);
		im->req_len = (size_t)rl + body;
		im->req = malloc(im->req_len);
		if (!im->req)
			die("out of memory");
		char *p = im->req;
		memcpy(p, rh, (size_t)rl);
		p += rl;
		memcpy(p, head, (size_t)hl);
		p += hl;
		memcpy(p, im->data, im->size);
		p += im->size;
		memcpy(p, tail, (size_t)tl);
	}
}

/* -------------------------------------------------------------- HTTP */

typedef struct lat_vec {
	uint64_t *v;
	size_t n, cap;
} lat_vec;

static void lat_push(lat_vec *l, uint64_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			die("out of memory");
	}
	l->v[l->n++] = x;
}

typedef struct counts {
	uint64_t ok, http_err, io_err, connects;
	uint64_t near_total, near_matched, rand_total, rand_matched;
	uint64_t status[6];               /* by status / 100 */
	uint64_t bytes_out, bytes_in;
} counts;

typedef struct conn {
	int fd;
	int writing;                      /* EPOLLOUT armed */
	const char *w;                    /* what is left to write */
	size_t wleft;
	char req[1024];
	char *r;                          /* response bytes so far */
	size_t rlen, rcap;
	uint64_t t0;
	int expect;                       /* 1: near (must match), 0: random */
	size_t img;                       /* upload mode: which image */
} conn;

typedef struct worker {
	int id;
	int nconns;
	uint64_t start, deadline;
	int record;
	uint64_t rng;
	lat_vec lat;
	counts k;
	uint64_t *img_done;               /* per image (upload mode) */
	pthread_t th;
} worker;

static int connect_one(void)
{
	int fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&g_addr, g_addrlen)) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void make_query(worker *w, conn *c)
{
	veto_pdq_hash h;
	if (g_nsample && (double)(xorshift(&w->rng) % 1000000) / 1e6 < O.near) {
		h = g_sample[xorshift(&w->rng) % g_nsample];
		int flips = (int)(xorshift(&w->rng) % (uint64_t)(O.max_flip + 1));
		uint8_t used[256] = {0};
		for (int f = 0; f < flips;) {
			int bit = (int)(xorshift(&w->rng) % 256);
			if (used[bit])
				continue;
			used[bit] = 1;
			h.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			f++;
		}
		c->expect = 1;
	} else {
		for (int i = 0; i < 4; i++) {
			uint64_t x = xorshift(&w->rng);
			memcpy(h.bytes + 8 * i, &x, 8);
		}
		c->expect = 0;
	}
	char hex[VETO_PDQ_HEX_LEN + 1];
	veto_pdq_to_hex(&h, hex);
	char auth[512] = "";
	if (O.token)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", O.token);
	int n = snprintf(c->req, sizeof c->req,
	                 "GET /m/%s?signal_type=pdq&signal=%s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n",
	                 O.mode == MODE_RAW ? "raw_lookup" : "lookup", hex, O.host, O.port, auth);
	c->w = c->req;
	c->wleft = (size_t)n;
}

static void arm(int ep, conn *c, int want_out)
{
	if (c->writing == want_out)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->writing = want_out;
}

/* write what is left; 0 ok (maybe partial), -1 error */
static int pump_write(worker *w, int ep, conn *c)
{
	while (c->wleft) {
		ssize_t n = send(c->fd, c->w, c->wleft, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				arm(ep, c, 1);
				return 0;
			}
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->w += n;
		c->wleft -= (size_t)n;
		w->k.bytes_out += (uint64_t)n;
	}
	arm(ep, c, 0);
	return 0;
}

static int start_request(worker *w, int ep, conn *c)
{
	if (O.mode == MODE_UPLOAD) {
		size_t i = atomic_fetch_add(&g_next_img, 1) % g_nimg;
		c->img = i;
		c->w = g_img[i].req;
		c->wleft = g_img[i].req_len;
		c->expect = -1;
	} else {
		make_query(w, c);
	}
	c->rlen = 0;
	c->t0 = now_ns();
	return pump_write(w, ep, c);
}

static int reconnect(worker *w, int ep, conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = connect_one();
	if (c->fd < 0)
		return -1;
	w->k.connects++;
	c->writing = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

/* A whole response in c->r? Returns its length (and status, body, close),
 * 0 if more bytes are needed, -1 if malformed. */
static ssize_t parse_response(conn *c, int *status, const char **body, size_t *blen,
                              int *close_after)
{
	char *hend = memmem(c->r, c->rlen, "\r\n\r\n", 4);
	if (!hend)
		return c->rlen > 65536 ? -1 : 0;
	size_t hl = (size_t)(hend - c->r) + 4;
	if (c->rlen < 12 || strncmp(c->r, "HTTP/1.", 7))
		return -1;
	*status = atoi(c->r + 9);
	long long cl = -1;
	int chunked = 0;
	*close_after = !strncmp(c->r, "HTTP/1.0", 8);
	for (char *l = memchr(c->r, '\n', hl); l && l < hend; l = memchr(l, '\n', (size_t)(hend - l))) {
		l++;
		if (!strncasecmp(l, "content-length:", 15))
			cl = atoll(l + 15);
		else if (!strncasecmp(l, "transfer-encoding:", 18)) {
			const char *v = l + 18;
			while (*v == ' ')
				v++;
			chunked = !strncasecmp(v, "chunked", 7);
		} else if (!strncasecmp(l, "connection:", 11)) {
			const char *v = l + 11;
			while (*v == ' ')
				v++;
			if (!strncasecmp(v, "close", 5))
				*close_after = 1;
		}
	}
	if (chunked) {
		/* decode in place is not needed: only the end is */
		size_t p = hl;
		for (;;) {
			char *eol = memmem(c->r + p, c->rlen - p, "\r\n", 2);
			if (!eol)
				return 0;
			unsigned long sz = strtoul(c->r + p, NULL, 16);
			p = (size_t)(eol - c->r) + 2;
			if (sz == 0) {
				char *end = memmem(c->r + p, c->rlen - p, "\r\n", 2);
				if (!end)
					return 0;
				*body = c->r + hl;
				*blen = p - hl;
				return (ssize_t)((size_t)(end - c->r) + 2);
			}
			if (c->rlen - p < sz + 2)
				return 0;
			p += sz + 2;
		}
	}
	if (cl < 0) {
		if (*status == 204 || *status == 304 || *status / 100 == 1) {
			cl = 0;
		} else {
			return -1; /* read-until-close bodies are not used by veto */
		}
	}
	if (c->rlen < hl + (size_t)cl)
		return 0;
	*body = c->r + hl;
	*blen = (size_t)cl;
	return (ssize_t)(hl + (size_t)cl);
}

static int found_match(const char *b, size_t n)
{
	/* raw: {"matches":[]} when nothing; lookup: {} when nothing */
	if (O.mode == MODE_RAW)
		return !memmem(b, n, "\"matches\":[]", 12);
	for (size_t i = 0; i < n; i++)
		if (b[i] == '"')
			return 1;
	return 0;
}

/* bytes came in: 1 a response finished, 0 not yet, -1 error */
static int on_readable(worker *w, conn *c, int *close_after)
{
	for (;;) {
		if (c->rcap - c->rlen < 16384) {
			c->rcap = c->rcap ? c->rcap * 2 : 65536;
			c->r = realloc(c->r, c->rcap);
			if (!c->r)
				die("out of memory");
		}
		ssize_t n = recv(c->fd, c->r + c->rlen, c->rcap - c->rlen - 1, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			w->k.bytes_in += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return -1;
	}
	int status = 0;
	const char *body = NULL;
	size_t blen = 0;
	ssize_t got = parse_response(c, &status, &body, &blen, close_after);
	if (got < 0)
		return -1;
	if (got == 0)
		return 0;
	uint64_t t1 = now_ns();
	int cls = status / 100;
	if (w->record && c->t0 >= w->start && t1 <= w->deadline) {
		lat_push(&w->lat, t1 - c->t0);
		w->k.status[cls >= 1 && cls <= 5 ? cls : 0]++;
		if (cls == 2) {
			w->k.ok++;
			if (w->img_done)
				w->img_done[c->img]++;
			if (c->expect >= 0) {
				int m = found_match(body, blen);
				if (c->expect) {
					w->k.near_total++;
					w->k.near_matched += (uint64_t)m;
				} else {
					w->k.rand_total++;
					w->k.rand_matched += (uint64_t)m;
				}
			}
		} else {
			w->k.http_err++;
		}
	}
	c->rlen = 0; /* one request in flight: nothing follows */
	return 1;
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	conn *cs = calloc((size_t)w->nconns, sizeof *cs);
	if (ep < 0 || !cs)
		die("epoll/alloc failed");
	for (int i = 0; i < w->nconns; i++) {
		cs[i].fd = -1;
		if (reconnect(w, ep, &cs[i]))
			die("cannot connect to %s:%d: %s", O.host, O.port, strerror(errno));
	}
	while (now_ns() < w->start) {
		struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	for (int i = 0; i < w->nconns; i++)
		if (start_request(w, ep, &cs[i]))
			w->k.io_err++;
	struct epoll_event evs[256];
	while (now_ns() < w->deadline) {
		int n = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			conn *c = evs[i].data.ptr;
			int rc = 0, close_after = 0;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN))
				rc = -1;
			if (!rc && (evs[i].events & EPOLLOUT))
				rc = pump_write(w, ep, c);
			if (!rc && (evs[i].events & EPOLLIN))
				rc = on_readable(w, c, &close_after);
			if (rc < 0) {
				if (w->record && now_ns() <= w->deadline)
					w->k.io_err++;
				close_after = 1;
			}
			if (rc != 0) {
				if (close_after && reconnect(w, ep, c)) {
					w->k.io_err++;
					struct timespec t = {0, 10000000};
					nanosleep(&t, NULL);
					continue;
				}
				if (now_ns() < w->deadline && start_request(w, ep, c))
					w->k.io_err++;
			}
		}
	}
	for (int i = 0; i < w->nconns; i++) {
		if (cs[i].fd >= 0)
			close(cs[i].fd);
		free(cs[i].r);
	}
	free(cs);
	close(ep);
	return NULL;
}

/* -------------------------------------------------------------- rounds */

typedef struct round_result {
	double seconds, rps;
	double p50, p90, p99, p999, max, mean; /* ms */
	counts k;
	double client_cpu, server_cpu;          /* cores busy on average */
	double machine_cpu;                     /* all processes and the kernel */
} round_result;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)ceil(p * (double)n);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1e6;
}

static double cpu_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double cpu_pid(int pid)
{
	if (pid <= 0)
		return 0;
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* fields after the command: state(3) ... utime(14) stime(15) */
	unsigned long long ut = 0, st = 0;
	int field = 2;
	for (char *t = p + 1; *t && field < 15;) {
		while (*t == ' ')
			t++;
		field++;
		if (field == 14)
			ut = strtoull(t, NULL, 10);
		if (field == 15)
			st = strtoull(t, NULL, 10);
		while (*t && *t != ' ')
			t++;
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds the whole machine spent busy (/proc/stat: everything but
 * idle and iowait), to see what else ran during a round */
static double cpu_machine(void)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	unsigned long long v[8] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	               &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return 0;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static void run_round(double seconds, int record, round_result *out)
{
	worker *ws = calloc((size_t)O.threads, sizeof *ws);
	if (!ws)
		die("out of memory");
	uint64_t start = now_ns() + 200000000ull; /* connections are made first */
	uint64_t deadline = start + (uint64_t)(seconds * 1e9);
	for (int i = 0; i < O.threads; i++) {
		ws[i].id = i;
		ws[i].nconns = O.conns / O.threads + (i < O.conns % O.threads);
		ws[i].start = start;
		ws[i].deadline = deadline;
		ws[i].record = record;
		ws[i].rng = O.seed * 0x9e3779b97f4a7c15ull + (uint64_t)i * 7919 + now_ns() + 1;
		if (record && g_nimg && !(ws[i].img_done = calloc(g_nimg, sizeof(uint64_t))))
			die("out of memory");
	}
	for (int i = 0; i < O.threads; i++)
		if (ws[i].nconns && pthread_create(&ws[i].th, NULL, run_worker, &ws[i]))
			die("cannot start a thread");
	while (now_ns() < start) {
		struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	double c0 = cpu_self(), s0 = cpu_pid(O.server_pid), m0 = cpu_machine();
	while (now_ns() < deadline) {
		struct timespec t = {0, 5000000};
		nanosleep(&t, NULL);
	}
	double c1 = cpu_self(), s1 = cpu_pid(O.server_pid), m1 = cpu_machine();
	lat_vec all = {0};
	memset(out, 0, sizeof *out);
	for (int i = 0; i < O.threads; i++) {
		if (ws[i].nconns)
			pthread_join(ws[i].th, NULL);
		for (size_t j = 0; j < ws[i].lat.n; j++)
			lat_push(&all, ws[i].lat.v[j]);
		free(ws[i].lat.v);
		for (size_t j = 0; ws[i].img_done && j < g_nimg; j++)
			g_img_done[j] += ws[i].img_done[j];
		free(ws[i].img_done);
		counts *a = &out->k, *b = &ws[i].k;
		a->ok += b->ok;
		a->http_err += b->http_err;
		a->io_err += b->io_err;
		a->connects += b->connects;
		a->near_total += b->near_total;
		a->near_matched += b->near_matched;
		a->rand_total += b->rand_total;
		a->rand_matched += b->rand_matched;
		a->bytes_in += b->bytes_in;
		a->bytes_out += b->bytes_out;
		for (int s = 0; s < 6; s++)
			a->status[s] += b->status[s];
	}
	free(ws);
	qsort(all.v, all.n, sizeof *all.v, cmp_u64);
	out->seconds = seconds;
	out->rps = (double)all.n / seconds;
	out->p50 = pct(all.v, all.n, 0.50);
	out->p90 = pct(all.v, all.n, 0.90);
	out->p99 = pct(all.v, all.n, 0.99);
	out->p999 = pct(all.v, all.n, 0.999);
	out->max = all.n ? (double)all.v[all.n - 1] / 1e6 : 0;
	double sum = 0;
	for (size_t i = 0; i < all.n; i++)
		sum += (double)all.v[i];
	out->mean = all.n ? sum / (double)all.n / 1e6 : 0;
	out->client_cpu = (c1 - c0) / seconds;
	out->server_cpu = O.server_pid > 0 ? (s1 - s0) / seconds : -1;
	out->machine_cpu = (m1 - m0) / seconds;
	free(all.v);
}

/* ------------------------------------------------- in-process baseline */

/* the server's options (server/signals.c hash_photo) */
static void photo_options(veto_hash_options *o)
{
	veto_hash_options_init(o);
	o->mode = VETO_MODE_EXACT;
	o->dihedral = 0;
	o->auto_orient = 0;
	o->digests = 0;
	o->threads = 1;
}

/* Hash every image once, alone: its quality (the server refuses to look
 * up a PDQ hash of quality < 50, answering 400 "invalid PDQ hash", so
 * those images are left out) and its single-thread cost. */
static void probe_images(void)
{
	veto_hash_options o;
	photo_options(&o);
	size_t w = 0;
	for (size_t i = 0; i < g_nimg; i++) {
		veto_image_hashes h;
		veto_error e;
		uint64_t t0 = now_ns();
		if (veto_hash_image_buffer(g_img[i].data, g_img[i].size, &o, &h, &e))
			die("%s: %s", g_img[i].path, e.message);
		g_img[i].cost1 = (double)(now_ns() - t0) / 1e9;
		g_img[i].quality = h.quality;
		if (h.quality < VETO_PDQ_MIN_QUALITY) {
			g_skipped++;
			free(g_img[i].data);
			free(g_img[i].path);
			continue;
		}
		g_img[w++] = g_img[i];
	}
	g_nimg = w;
}

typedef struct hasher {
	atomic_size_t *next;
	size_t total;
	double *busy;                     /* per image: seconds spent (this thread) */
	uint64_t *n;                      /* per image: hashes done */
	uint64_t fail;
	pthread_t th;
} hasher;

static void *run_hasher(void *arg)
{
	hasher *h = arg;
	veto_hash_options o;
	photo_options(&o);
	for (;;) {
		size_t k = atomic_fetch_add(h->next, 1);
		if (k >= h->total)
			break;
		size_t i = k % g_nimg;
		veto_image_hashes out;
		veto_error e;
		uint64_t t0 = now_ns();
		if (veto_hash_image_buffer(g_img[i].data, g_img[i].size, &o, &out, &e))
			h->fail++;
		h->busy[i] += (double)(now_ns() - t0) / 1e9;
		h->n[i]++;
	}
	return NULL;
}

/* `threads` threads hash whole cycles over the images (about `seconds`
 * long) from a shared counter, like server workers taking uploads; returns
 * images/s and sets each image's mean cost under that concurrency. */
static double baseline(double seconds, int threads, uint64_t *fails)
{
	double cycle1 = 0;
	for (size_t i = 0; i < g_nimg; i++)
		cycle1 += g_img[i].cost1;
	size_t cycles = (size_t)ceil(seconds * threads / (cycle1 > 0 ? cycle1 : 1));
	if (cycles < 1)
		cycles = 1;
	atomic_size_t next = 0;
	hasher *hs = calloc((size_t)threads, sizeof *hs);
	if (!hs)
		die("out of memory");
	uint64_t t0 = now_ns();
	for (int i = 0; i < threads; i++) {
		hs[i].next = &next;
		hs[i].total = cycles * g_nimg;
		hs[i].busy = calloc(g_nimg, sizeof(double));
		hs[i].n = calloc(g_nimg, sizeof(uint64_t));
		if (!hs[i].busy || !hs[i].n || pthread_create(&hs[i].th, NULL, run_hasher, &hs[i]))
			die("cannot start a thread");
	}
	for (int i = 0; i < threads; i++)
		pthread_join(hs[i].th, NULL);
	double el = (double)(now_ns() - t0) / 1e9;
	*fails = 0;
	for (size_t j = 0; j < g_nimg; j++) {
		double busy = 0;
		uint64_t n = 0;
		for (int i = 0; i < threads; i++) {
			busy += hs[i].busy[j];
			n += hs[i].n[j];
		}
		g_img[j].cost = n ? busy / (double)n : g_img[j].cost1;
	}
	for (int i = 0; i < threads; i++) {
		*fails += hs[i].fail;
		free(hs[i].busy);
		free(hs[i].n);
	}
	free(hs);
	return (double)(cycles * g_nimg) / el;
}

/* ---------------------------------------------------------------- main */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double *t = malloc((size_t)n * sizeof *t);
	if (!t)
		die("out of memory");
	memcpy(t, v, (size_t)n * sizeof *t);
	qsort(t, (size_t)n, sizeof *t, cmp_d);
	double m = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	free(t);
	return m;
}

static void usage(FILE *f)
{
	fputs("usage: serve_load [--host H] [--port P] [--mode raw|lookup|upload]\n"
	      "                  [-c CONNECTIONS] [-t THREADS] [-d SECONDS] [--rounds R]\n"
	      "                  [--warmup SECONDS] [--hashes FILE] [--near FRACTION]\n"
	      "                  [--max-flip BITS] [--seed S] [--images DIR]\n"
	      "                  [--hash-threads N] [--token TOKEN] [--server-pid PID]\n"
	      "                  [--label TEXT]\n",
	      f);
}

static const char *MODE_NAMES[] = {"raw", "lookup", "upload"};

int main(int argc, char **argv)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	O.host = "127.0.0.1";
	O.port = 8080;
	O.mode = MODE_RAW;
	O.conns = 64;
	O.threads = ncpu > 0 ? (int)ncpu : 2;
	O.rounds = 3;
	O.duration = 20;
	O.warmup = 2;
	O.near = 0.5;
	O.max_flip = 16;
	O.seed = 1;
	O.hash_threads = 0;
	O.label = "";
	static const struct option lo[] = {
		{"host", required_argument, 0, 'H'},     {"port", required_argument, 0, 'p'},
		{"mode", required_argument, 0, 'm'},     {"connections", required_argument, 0, 'c'},
		{"threads", required_argument, 0, 't'},  {"duration", required_argument, 0, 'd'},
		{"rounds", required_argument, 0, 'r'},   {"warmup", required_argument, 0, 'w'},
		{"hashes", required_argument, 0, 'x'},   {"near", required_argument, 0, 'n'},
		{"max-flip", required_argument, 0, 'f'}, {"seed", required_argument, 0, 's'},
		{"images", required_argument, 0, 'i'},   {"hash-threads", required_argument, 0, 'T'},
		{"token", required_argument, 0, 'k'},    {"server-pid", required_argument, 0, 'P'},
		{"label", required_argument, 0, 'l'},    {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:t:d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'H': O.host = optarg; break;
		case 'p': O.port = atoi(optarg); break;
		case 'm':
			if (!strcmp(optarg, "raw")) O.mode = MODE_RAW;
			else if (!strcmp(optarg, "lookup")) O.mode = MODE_LOOKUP;
			else if (!strcmp(optarg, "upload")) O.mode = MODE_UPLOAD;
			else die("--mode: raw, lookup or upload");
			break;
		case 'c': O.conns = atoi(optarg); break;
		case 't': O.threads = atoi(optarg); break;
		case 'd': O.duration = atof(optarg); break;
		case 'r': O.rounds = atoi(optarg); break;
		case 'w': O.warmup = atof(optarg); break;
		case 'x': O.hashes = optarg; break;
		case 'n': O.near = atof(optarg); break;
		case 'f': O.max_flip = atoi(optarg); break;
		case 's': O.seed = strtoull(optarg, NULL, 10); break;
		case 'i': O.images = optarg; break;
		case 'T': O.hash_threads = atoi(optarg); break;
		case 'k': O.token = optarg; break;
		case 'P': O.server_pid = atoi(optarg); break;
		case 'l': O.label = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || O.conns < 1 || O.threads < 1 || O.rounds < 1 || O.rounds > 100 ||
	    !(O.duration > 0) || O.port <= 0 || O.port > 65535 || O.max_flip < 0 ||
	    O.max_flip > 256) {
		usage(stderr);
		return 2;
	}
	if (O.threads > O.conns)
		O.threads = O.conns;
	if (O.hash_threads <= 0)
		O.hash_threads = ncpu > 0 ? (int)ncpu : 2;

	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	char port[16];
	snprintf(port, sizeof port, "%d", O.port);
	int gai = getaddrinfo(O.host, port, &hints, &ai);
	if (gai)
		die("%s: %s", O.host, gai_strerror(gai));
	memcpy(&g_addr, ai->ai_addr, ai->ai_addrlen);
	g_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);

	if (O.mode == MODE_UPLOAD) {
		if (!O.images)
			die("--mode upload needs --images DIR");
		if (nftw(O.images, add_image, 16, FTW_PHYS))
			die("cannot walk %s", O.images);
		if (!g_nimg)
			die("no *.jpg under %s", O.images);
		qsort(g_img, g_nimg, sizeof *g_img, cmp_image);
		probe_images();
		if (!g_nimg)
			die("no image under %s has a usable PDQ hash (quality >= 50)", O.images);
		build_uploads();
		if (!(g_img_done = calloc(g_nimg, sizeof(uint64_t))))
			die("out of memory");
	} else if (O.hashes) {
		load_hashes(O.hashes);
	} else {
		O.near = 0;
	}
	size_t img_bytes = 0;
	for (size_t i = 0; i < g_nimg; i++)
		img_bytes += g_img[i].size;

	const char *mode = MODE_NAMES[O.mode];
	printf("serve_load: %s%s%s, %d connections, %d client threads, %d cores, %d x %.0f s "
	       "(+%.0f s warm-up)",
	       mode, O.label[0] ? " " : "", O.label, O.conns, O.threads, (int)ncpu, O.rounds,
	       O.duration, O.warmup);
	if (O.mode == MODE_UPLOAD)
		printf(", %zu JPEGs (%.1f MB, mean %.0f KB; %zu more left out: PDQ quality < 50, "
		       "which the server answers 400)\n",
		       g_nimg, img_bytes / 1e6, img_bytes / 1e3 / (double)g_nimg, g_skipped);
	else
		printf(", %.0f%% near-duplicates of %zu banked hashes (0..%d bits flipped)\n",
		       O.near * 100, g_nsample, O.max_flip);
	fflush(stdout);

	round_result warm;
	if (O.warmup > 0)
		run_round(O.warmup, 0, &warm);
	round_result *rr = calloc((size_t)O.rounds, sizeof *rr);
	double *rps = calloc((size_t)O.rounds, sizeof(double)), *p50 = calloc((size_t)O.rounds, 8),
	       *p90 = calloc((size_t)O.rounds, 8), *p99 = calloc((size_t)O.rounds, 8),
	       *p999 = calloc((size_t)O.rounds, 8), *scpu = calloc((size_t)O.rounds, 8),
	       *ccpu = calloc((size_t)O.rounds, 8), *mcpu = calloc((size_t)O.rounds, 8),
	       *sus = calloc((size_t)O.rounds, 8), *cus = calloc((size_t)O.rounds, 8),
	       *hrate = calloc((size_t)O.rounds, 8), *mrate = calloc((size_t)O.rounds, 8),
	       *ratio = calloc((size_t)O.rounds, 8);
	if (!rr || !rps || !p50 || !p90 || !p99 || !p999 || !scpu || !ccpu || !mcpu || !sus || !cus ||
	    !hrate || !mrate || !ratio)
		die("out of memory");
	counts tot = {0};
	for (int r = 0; r < O.rounds; r++) {
		round_result *x = &rr[r];
		if (g_img_done)
			memset(g_img_done, 0, g_nimg * sizeof *g_img_done);
		run_round(O.duration, 1, x);
		rps[r] = x->rps;
		p50[r] = x->p50;
		p90[r] = x->p90;
		p99[r] = x->p99;
		p999[r] = x->p999;
		scpu[r] = x->server_cpu;
		ccpu[r] = x->client_cpu;
		mcpu[r] = x->machine_cpu;
		sus[r] = x->rps > 0 && x->server_cpu >= 0 ? x->server_cpu / x->rps * 1e6 : 0;
		cus[r] = x->rps > 0 ? x->client_cpu / x->rps * 1e6 : 0;
		tot.ok += x->k.ok;
		tot.http_err += x->k.http_err;
		tot.io_err += x->k.io_err;
		tot.near_total += x->k.near_total;
		tot.near_matched += x->k.near_matched;
		tot.rand_total += x->k.rand_total;
		tot.rand_matched += x->k.rand_matched;
		for (int s = 0; s < 6; s++)
			tot.status[s] += x->k.status[s];
		printf("  round %d: %9.0f req/s  p50 %7.3f  p90 %7.3f  p99 %7.3f  p99.9 %7.3f  "
		       "max %8.3f ms  errors %llu http + %llu io",
		       r + 1, x->rps, x->p50, x->p90, x->p99, x->p999, x->max,
		       (unsigned long long)x->k.http_err, (unsigned long long)x->k.io_err);
		if (x->server_cpu >= 0)
			printf("  cpu: server %.2f, client %.2f, machine %.2f cores", x->server_cpu,
			       x->client_cpu, x->machine_cpu);
		else
			printf("  cpu: client %.2f, machine %.2f cores", x->client_cpu, x->machine_cpu);
		printf("\n");
		if (O.mode == MODE_UPLOAD) {
			/* the baseline right after each round, so that both see the
			 * same load from anything else running on the machine */
			uint64_t hf = 0;
			hrate[r] = baseline(O.duration, O.hash_threads, &hf);
			double work = 0;
			uint64_t nup = 0;
			for (size_t i = 0; i < g_nimg; i++) {
				work += (double)g_img_done[i] * g_img[i].cost;
				nup += g_img_done[i];
			}
			mrate[r] = work > 0 ? (double)O.hash_threads * (double)nup / work : 0;
			ratio[r] = mrate[r] > 0 ? x->rps / mrate[r] : 0;
			printf("           in-process hashing (%d threads): %.2f images/s, %.2f/s on this "
			       "round's uploads%s; uploads / in-process = %.2f\n",
			       O.hash_threads, hrate[r], mrate[r], hf ? " (some failed)" : "", ratio[r]);
		}
		fflush(stdout);
	}
	double m_rps = median(rps, O.rounds), m50 = median(p50, O.rounds),
	       m90 = median(p90, O.rounds), m99 = median(p99, O.rounds),
	       m999 = median(p999, O.rounds), mscpu = median(scpu, O.rounds),
	       mccpu = median(ccpu, O.rounds), mmcpu = median(mcpu, O.rounds),
	       msus = median(sus, O.rounds), mcus = median(cus, O.rounds);
	unsigned long long errors = tot.http_err + tot.io_err;
	unsigned long long missed = tot.near_total - tot.near_matched;
	printf("  median of %d: %.0f req/s  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f ms; "
	       "errors %llu (http 4xx %llu, 5xx %llu, io %llu)\n",
	       O.rounds, m_rps, m50, m90, m99, m999, errors, (unsigned long long)tot.status[4],
	       (unsigned long long)tot.status[5], (unsigned long long)tot.io_err);
	if (msus > 0)
		printf("  CPU per request: server %.0f us, client %.0f us (so %ld dedicated cores would "
		       "serve at most ~%.0f req/s at this cost)\n",
		       msus, mcus, ncpu, (double)ncpu * 1e6 / (msus + mcus));
	if (O.mode != MODE_UPLOAD)
		printf("  checks: near-duplicates matched %llu / %llu%s, random hashes matched %llu / "
		       "%llu\n",
		       (unsigned long long)tot.near_matched, (unsigned long long)tot.near_total,
		       missed ? " (MISSED SOME)" : "", (unsigned long long)tot.rand_matched,
		       (unsigned long long)tot.rand_total);
	double hash_rate = 0, mix_rate = 0, m_ratio = 0;
	if (O.mode == MODE_UPLOAD) {
		hash_rate = median(hrate, O.rounds);
		mix_rate = median(mrate, O.rounds);
		m_ratio = median(ratio, O.rounds);
		printf("  in-process hashing of the same JPEGs (veto_hash_image_buffer, %d threads, "
		       "after each round): %.2f images/s, %.2f/s on the uploads' mix; "
		       "uploads / in-process = %.2f (medians)\n",
		       O.hash_threads, hash_rate, mix_rate, m_ratio);
	}
	printf("JSON {\"mode\":\"%s\",\"label\":\"%s\",\"connections\":%d,\"threads\":%d,"
	       "\"cores\":%ld,\"rounds\":%d,\"seconds\":%.1f,\"rps\":%.1f,\"p50_ms\":%.3f,"
	       "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"errors\":%llu,"
	       "\"http_4xx\":%llu,\"http_5xx\":%llu,\"io_errors\":%llu,\"ok\":%llu,"
	       "\"near_total\":%llu,\"near_matched\":%llu,\"random_total\":%llu,"
	       "\"random_matched\":%llu,\"server_cpu_cores\":%.2f,\"client_cpu_cores\":%.2f,"
	       "\"machine_cpu_cores\":%.2f,\"server_us_per_request\":%.1f,"
	       "\"client_us_per_request\":%.1f,\"rounds_rps\":[",
	       mode, O.label, O.conns, O.threads, ncpu, O.rounds, O.duration, m_rps, m50, m90, m99,
	       m999, errors, (unsigned long long)tot.status[4], (unsigned long long)tot.status[5],
	       (unsigned long long)tot.io_err, (unsigned long long)tot.ok,
	       (unsigned long long)tot.near_total, (unsigned long long)tot.near_matched,
	       (unsigned long long)tot.rand_total, (unsigned long long)tot.rand_matched, mscpu,
	       mccpu, mmcpu, msus, mcus);
	for (int r = 0; r < O.rounds; r++)
		printf("%s%.1f", r ? "," : "", rps[r]);
	printf("],\"rounds_p99_ms\":[");
	for (int r = 0; r < O.rounds; r++)
		printf("%s%.3f", r ? "," : "", p99[r]);
	printf("]");
	if (O.mode == MODE_UPLOAD)
		printf(",\"images\":%zu,\"images_skipped\":%zu,\"image_bytes\":%zu,"
		       "\"hash_threads\":%d,\"inprocess_hashes_per_second\":%.2f,"
		       "\"inprocess_mix_hashes_per_second\":%.2f,\"upload_to_hashing_ratio\":%.3f",
		       g_nimg, g_skipped, img_bytes, O.hash_threads, hash_rate, mix_rate, m_ratio);
	printf("}\n");
	free(rr);
	free(rps);
	free(p50);
	free(p90);
	free(p99);
	free(p999);
	free(scpu);
	free(ccpu);
	free(mcpu);
	free(sus);
	free(cus);
	free(hrate);
	free(mrate);
	free(ratio);
	return 0;
}
