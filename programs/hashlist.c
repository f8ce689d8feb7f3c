/*
 * hashlist.c - the reader of hash lists: the files `veto index build/add`
 * load into a bank and `veto match --hashes` takes as queries.
 *
 * Design: a list is text, one hash per line, in one of three shapes:
 *   ids      HASH[,ID[,ANYTHING]]   (ThreatExchange's reg-test-input files
 *                                    are this with no ID)
 *   pdq-csv  HASH,QUALITY,PATH      (`veto hash` and pdq-photo-hasher)
 *   json     {"pdq":HASH,...}       (`veto hash --json`; also "quality",
 *                                    "id", "path" if present)
 * With --format auto (the default) each line picks its own shape: a line
 * starting with '{' is JSON; a line with 3 or more comma-separated fields
 * whose third is not a whole number is pdq-csv; anything else is ids. So a
 * list whose third field is a number (e.g. an image named "7") needs
 * --format pdq-csv. Blank lines and lines starting with '#' are skipped,
 * "\r\n" endings and a UTF-8 byte-order mark are accepted, and spaces and
 * tabs around HASH, ID and QUALITY are ignored (PATH is kept byte for byte:
 * it is everything after the second comma, commas included).
 *
 * Strictness is the point: a bank built from a half-understood file matches
 * the wrong things. HASH must be exactly 64 hex digits (16 digits is called
 * out as a 64-bit hash, which is not PDQ); ID a whole number from 0 to
 * 2^63-1 (the largest every JSON reader keeps exactly); QUALITY 0..100.
 * Anything else is a bad line whose message names NAME:LINE and the
 * problem; the caller decides whether that stops everything (index build)
 * or only that query (match). The reader streams: one line in memory at a
 * time, so `veto hash --json DIR | veto match --hashes -` never buffers.
 * This file depends on libveto and jansson only, not on the rest of the
 * CLI, so tests/test_hashlist.c compiles it on its own.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {"auto", "ids", "pdq-csv", "json"};

int hashlist_format_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof format_names / sizeof *format_names); i++)
		if (!strcmp(s, format_names[i]))
			return i;
	return -1;
}

const char *hashlist_format_name(int format)
{
	if (format < 0 || format >= (int)(sizeof format_names / sizeof *format_names))
		return "?";
	return format_names[format];
}

/* ----------------------------------------------------------- fields --- */

typedef struct field {
	const char *p;
	size_t n;
} field;

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static field trim(const char *p, size_t n)
{
	while (n && is_blank(*p))
		p++, n--;
	while (n && is_blank(p[n - 1]))
		n--;
	return (field){p, n};
}

/* A field for a message: quoted, at most 40 bytes, nonprintables as '?'. */
static void quote(char *out, size_t cap, field f)
{
	size_t o = 0, max = f.n > 40 ? 37 : f.n;
	if (cap < 48)
		return;
	out[o++] = '\'';
	for (size_t i = 0; i < max; i++)
		out[o++] = isprint((unsigned char)f.p[i]) ? f.p[i] : '?';
	if (max < f.n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

static void whyf(char *why, size_t cap, const char *fmt, ...) CLI_PRINTF(3, 4);
static void whyf(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* A whole decimal number <= max: digits only, no sign, no overflow. */
static int parse_uint(field f, uint64_t max, uint64_t *out)
{
	if (f.n == 0)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < f.n; i++) {
		if (f.p[i] < '0' || f.p[i] > '9')
			return -1;
		unsigned d = (unsigned)(f.p[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_hash(field f, veto_pdq_hash *h, char *why, size_t cap)
{
	char q[64];
	size_t hex = 0;
	while (hex < f.n && isxdigit((unsigned char)f.p[hex]))
		hex++;
	if (f.n == 0) {
		whyf(why, cap, "no hash (a line is HASH[,ID] or HASH,QUALITY,PATH)");
		return -1;
	}
	quote(q, sizeof q, f);
	if (hex < f.n) {
		whyf(why, cap, "bad hash %s: not hexadecimal", q);
		return -1;
	}
	if (f.n == 16) {
		whyf(why, cap, "%s is a 64-bit hash (16 hex digits), not a 256-bit PDQ "
		     "hash (64 hex digits)", q);
		return -1;
	}
	if (f.n != VETO_PDQ_HEX_LEN) {
		whyf(why, cap, "bad hash %s: %zu hex digits, a PDQ hash has %d", q, f.n,
		     VETO_PDQ_HEX_LEN);
		return -1;
	}
	veto_error err;
	if (veto_pdq_from_hex(h, f.p, f.n, &err) != VETO_OK) {
		whyf(why, cap, "bad hash %s: %s", q, err.message);
		return -1;
	}
	return 0;
}

static int parse_id(field f, hashlist_item *it, char *why, size_t cap)
{
	char q[64];
	if (parse_uint(f, HASHLIST_MAX_ID, &it->id) != 0) {
		quote(q, sizeof q, f);
		whyf(why, cap, "bad id %s: not a whole number from 0 to %llu", q,
		     (unsigned long long)HASHLIST_MAX_ID);
		return -1;
	}
	it->has_id = 1;
	return 0;
}

static int parse_quality(field f, hashlist_item *it, char *why, size_t cap)
{
	char q[64];
	uint64_t v;
	if (parse_uint(f, 100, &v) != 0) {
		quote(q, sizeof q, f);
		whyf(why, cap, "bad quality %s: not a whole number from 0 to 100", q);
		return -1;
	}
	it->quality = (int)v;
	return 0;
}

/* ------------------------------------------------------------- JSON --- */

static int parse_json(char *line, size_t len, hashlist_item *it, char *why, size_t cap)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		whyf(why, cap, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
		return HASHLIST_BAD;
	}
	int rc = HASHLIST_BAD;
	if (!json_is_object(o)) {
		whyf(why, cap, "a JSON line must be an object with a \"pdq\" hash");
		goto done;
	}
	json_t *pdq = json_object_get(o, "pdq");
	if (!json_is_string(pdq)) {
		whyf(why, cap, "JSON object without a \"pdq\" string");
		goto done;
	}
	if (parse_hash((field){json_string_value(pdq), json_string_length(pdq)}, &it->hash,
	               why, cap) != 0)
		goto done;
	json_t *q = json_object_get(o, "quality");
	if (q) {
		if (!json_is_integer(q) || json_integer_value(q) < 0 || json_integer_value(q) > 100) {
			whyf(why, cap, "\"quality\" is not a whole number from 0 to 100");
			goto done;
		}
		it->quality = (int)json_integer_value(q);
	}
	json_t *id = json_object_get(o, "id");
	if (id) {
		if (!json_is_integer(id) || json_integer_value(id) < 0) {
			whyf(why, cap, "\"id\" is not a whole number from 0 to %llu",
			     (unsigned long long)HASHLIST_MAX_ID);
			goto done;
		}
		it->has_id = 1;
		it->id = (uint64_t)json_integer_value(id);
	}
	json_t *path = json_object_get(o, "path");
	if (path) {
		if (!json_is_string(path)) {
			whyf(why, cap, "\"path\" is not a string");
			goto done;
		}
		/* The unescaped string is never longer than its JSON text, so it
		 * fits in the line buffer, which nothing reads any more. A NUL
		 * inside it (\u0000) was refused by json_loadb. */
		size_t n = json_string_length(path);
		memcpy(line, json_string_value(path), n);
		line[n] = '\0';
		it->path = line;
	}
	it->format = HASHLIST_JSON;
	rc = HASHLIST_ITEM;
done:
	json_decref(o);
	return rc;
}

/* ------------------------------------------------------------- lines --- */

int hashlist_parse_line(char *line, size_t len, int format, hashlist_item *it, char *why,
                        size_t cap)
{
	memset(it, 0, sizeof *it);
	it->quality = -1;
	why[0] = '\0';
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (memchr(line, '\0', len)) {
		whyf(why, cap, "a NUL byte in the line (a binary file, not a hash list?)");
		return HASHLIST_BAD;
	}
	field whole = trim(line, len);
	if (whole.n == 0 || whole.p[0] == '#')
		return HASHLIST_SKIP;

	if (format == HASHLIST_JSON || (format == HASHLIST_AUTO && whole.p[0] == '{'))
		return parse_json(line, len, it, why, cap);

	/* Up to three fields; the third runs to the end of the line. */
	field f[3];
	size_t nf = 0;
	const char *p = line, *end = line + len;
	while (nf < 3) {
		const char *comma = nf < 2 ? memchr(p, ',', (size_t)(end - p)) : NULL;
		f[nf++] = (field){p, (size_t)((comma ? comma : end) - p)};
		if (!comma)
			break;
		p = comma + 1;
	}
	if (format == HASHLIST_AUTO) {
		format = HASHLIST_IDS;
		if (nf == 3) {
			/* "The third field": up to a further comma, if any. */
			const char *c = memchr(f[2].p, ',', f[2].n);
			field third = trim(f[2].p, c ? (size_t)(c - f[2].p) : f[2].n);
			uint64_t v;
			if (parse_uint(third, UINT64_MAX, &v) != 0)
				format = HASHLIST_PDQ_CSV;
		}
	}
	it->format = format;
	if (parse_hash(trim(f[0].p, f[0].n), &it->hash, why, cap) != 0)
		return HASHLIST_BAD;
	if (format == HASHLIST_IDS) {
		if (nf >= 2 && parse_id(trim(f[1].p, f[1].n), it, why, cap) != 0)
			return HASHLIST_BAD;
		return HASHLIST_ITEM;
	}
	/* pdq-csv */
	if (nf < 2) {
		whyf(why, cap, "no quality (a pdq-csv line is HASH,QUALITY,PATH)");
		return HASHLIST_BAD;
	}
	if (parse_quality(trim(f[1].p, f[1].n), it, why, cap) != 0)
		return HASHLIST_BAD;
	if (nf == 3)
		it->path = f[2].p; /* NUL-terminated with the line */
	return HASHLIST_ITEM;
}

/* ------------------------------------------------------------ reader --- */

void hashlist_open(hashlist_reader *r, FILE *in, const char *name, int format)
{
	memset(r, 0, sizeof *r);
	r->in = in;
	r->name = name;
	r->format = format;
}

int hashlist_next(hashlist_reader *r, hashlist_item *it, char *msg, size_t cap)
{
	char why[400];
	for (;;) {
		errno = 0;
		ssize_t len = getline(&r->buf, &r->cap, r->in);
		if (len < 0) {
			if (ferror(r->in)) {
				int e = errno ? errno : EIO;
				snprintf(msg, cap, "%s: cannot read: %s", r->name,
				         e == ENOMEM ? "out of memory" : strerror(e));
				errno = e;
				return HASHLIST_ERROR;
			}
			return HASHLIST_END;
		}
		r->line++;
		char *line = r->buf;
		if (r->line == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
			line += 3; /* a byte-order mark, as some Windows tools write */
			len -= 3;
		}
		int rc = hashlist_parse_line(line, (size_t)len, r->format, it, why, sizeof why);
		if (rc == HASHLIST_SKIP)
			continue;
		if (rc == HASHLIST_BAD)
			snprintf(msg, cap, "%s:%llu: %s", r->name, (unsigned long long)r->line, why);
		return rc;
	}
}

void hashlist_close(hashlist_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}
