/*
 * output.c - how veto prints: hash lines (text or JSON) and the progress
 * bar on stderr.
 *
 * Design: text output is the reference pdq-photo-hasher's, byte for byte
 * (`hash,quality,path`, or with --dihedral its --pdqdih-across form), so
 * existing scripts and banks take it unchanged. JSON is one compact object
 * per line, built with jansson. The progress bar is a one-line overlay on
 * stderr: whoever prints anything to the terminal clears it first
 * (progress_clear / out_message) and the next update draws it again, at
 * most ten times a second.
 */
#include "cli.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void out_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	if (p[0] >= 0xC2 && p[0] <= 0xDF) n = 2;
	else if (p[0] == 0xE0) { n = 3; lo = 0xA0; }
	else if (p[0] == 0xED) { n = 3; hi = 0x9F; }
	else if (p[0] >= 0xE1 && p[0] <= 0xEF) n = 3;
	else if (p[0] == 0xF0) { n = 4; lo = 0x90; }
	else if (p[0] == 0xF4) { n = 4; hi = 0x8F; }
	else if (p[0] >= 0xF1 && p[0] <= 0xF3) n = 4;
	else return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) /* a NUL stops here too: it is < 0x80 */
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_len(p);
		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

json_t *out_json_string(const char *s)
{
	if (utf8_valid(s))
		return json_string(s);
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	char *buf = malloc(3 * len + 1); /* each bad byte becomes 3 bytes */
	if (!buf)
		return NULL;
	size_t o = 0;
	while (*p) {
		size_t n = utf8_len(p);
		if (n) {
			memcpy(buf + o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3;
			p++;
		}
	}
	buf[o] = '\0';
	json_t *j = json_string(buf);
	free(buf);
	return j;
}

/* Set key to value, taking ownership of value; a NULL value (out of memory)
 * makes the whole object fail. */
static int set(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new(obj, key, value) : -1;
}

static int print_json(FILE *f, const out_format *fmt, const char *path,
                      const veto_image_hashes *h)
{
	char hex[2 * 32 + 1];
	json_t *o = json_object();
	if (!o)
		return -1;
	int bad = set(o, "path", out_json_string(path));
	if (!utf8_valid(path)) {
		/* JSON strings are Unicode: keep the exact bytes of the name too. */
		size_t n = strlen(path);
		char *raw = malloc(2 * n + 1);
		if (raw) {
			out_hex((const uint8_t *)path, n, raw);
			bad |= set(o, "path_hex", json_string(raw));
			free(raw);
		} else {
			bad = -1;
		}
	}
	bad |= set(o, "format", json_string(h->format ? h->format : "unknown"));
	bad |= set(o, "width", json_integer(h->width));
	bad |= set(o, "height", json_integer(h->height));
	bad |= set(o, "hashed_width", json_integer(h->hashed_width));
	bad |= set(o, "hashed_height", json_integer(h->hashed_height));
	bad |= set(o, "orientation", json_integer(h->orientation));
	bad |= set(o, "oriented", json_boolean(h->oriented));
	bad |= set(o, "mode", json_string(veto_mode_name(fmt->mode)));
	veto_pdq_to_hex(&h->pdq, hex);
	bad |= set(o, "pdq", json_string(hex));
	bad |= set(o, "quality", json_integer(h->quality));
	if (fmt->dihedral && h->has_dihedral) {
		json_t *d = json_object();
		for (int i = 0; d && i < VETO_DIH_COUNT; i++) {
			veto_pdq_to_hex(&h->dihedral[i], hex);
			bad |= set(d, veto_dihedral_name(i), json_string(hex));
		}
		bad |= set(o, "dihedral", d);
		if (h->dihedral_quality != h->quality) /* only at exactly 64x64 */
			bad |= set(o, "dihedral_quality", json_integer(h->dihedral_quality));
	}
	if (h->has_digests) {
		out_hex(h->md5, sizeof h->md5, hex);
		bad |= set(o, "md5", json_string(hex));
		char sha[2 * 32 + 1];
		out_hex(h->sha256, sizeof h->sha256, sha);
		bad |= set(o, "sha256", json_string(sha));
	}
	bad |= set(o, "bytes", json_integer((json_int_t)h->file_bytes));
	if (!bad)
		bad = json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!bad)
		fputc('\n', f);
	json_decref(o);
	return bad ? -1 : 0;
}

int out_hash(FILE *f, const out_format *fmt, const char *path, const veto_image_hashes *h)
{
	if (fmt->json)
		return print_json(f, fmt, path, h);
	char hex[VETO_PDQ_HEX_LEN + 1];
	if (fmt->dihedral && h->has_dihedral) {
		/* pdq-photo-hasher --pdqdih-across: all eight, then quality, path */
		for (int i = 0; i < VETO_DIH_COUNT; i++) {
			veto_pdq_to_hex(&h->dihedral[i], hex);
			fputs(hex, f);
			fputc(',', f);
		}
	} else {
		veto_pdq_to_hex(&h->pdq, hex);
		fputs(hex, f);
		fputc(',', f);
	}
	fprintf(f, "%d,%s\n", fmt->dihedral && h->has_dihedral ? h->dihedral_quality : h->quality, path);
	return 0;
}

/* ------------------------------------------------------------ progress --- */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void progress_init(progress *p, int enabled, size_t total)
{
	memset(p, 0, sizeof *p);
	p->enabled = enabled;
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last_draw = p->start;
	p->last_draw.tv_sec -= 1; /* so the first update draws */
}

static int terminal_columns(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void format_eta(char *out, size_t n, double secs)
{
	if (secs < 0 || secs > 99 * 3600.0) {
		snprintf(out, n, "-:--");
		return;
	}
	long s = (long)(secs + 0.5);
	if (s >= 3600)
		snprintf(out, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, n, "%ld:%02ld", s / 60, s % 60);
}

long progress_update(progress *p, size_t done, int force)
{
	if (!p->enabled)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double since = seconds_between(&p->last_draw, &now);
	if (!force && since < 0.1)
		return (long)((0.1 - since) * 1000) + 1;
	p->last_draw = now;

	double elapsed = seconds_between(&p->start, &now);
	double rate = elapsed > 0.05 ? (double)done / elapsed : 0;
	char eta[32], tail[128];
	format_eta(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : -1);
	snprintf(tail, sizeof tail, " %zu/%zu files  %.1f/s  ETA %s", done, p->total, rate, eta);

	/* Never reach the last column: a wrapped line could not be cleared. */
	int cols = terminal_columns() - 1;
	int width = cols - (int)strlen(tail) - 2;
	if (width > 40)
		width = 40;
	char line[512];
	size_t o = 0;
	line[o++] = '\r';
	if (width >= 5) {
		int filled = p->total ? (int)((double)width * (double)done / (double)p->total) : 0;
		line[o++] = '[';
		for (int i = 0; i < width; i++)
			line[o++] = i < filled - 1 || (i == filled - 1 && filled == width) ? '='
			            : i == filled - 1 ? '>' : ' ';
		line[o++] = ']';
		memcpy(line + o, tail, strlen(tail));
		o += strlen(tail);
	} else {
		/* Too narrow for a bar: as much of the counts as fits. */
		size_t n = strlen(tail + 1);
		if (cols > 0 && n > (size_t)cols)
			n = (size_t)cols;
		memcpy(line + o, tail + 1, n);
		o += n;
	}
	memcpy(line + o, "\033[K", 3);
	o += 3;
	fwrite(line, 1, o, stderr);
	p->shown = 1;
	return 100;
}

void progress_clear(progress *p)
{
	if (p && p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = 0;
	}
}

void out_message(progress *p, const char *fmt, ...)
{
	progress_clear(p);
	/* Keep stdout and stderr in order when both go to one file (2>&1). */
	fflush(stdout);
	va_list ap;
	fputs("veto: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
