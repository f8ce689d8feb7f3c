/*
 * multipart.c - see multipart.h. One pass over the body with memmem:
 * find the first delimiter ("--" boundary), then for each part read its
 * header lines up to the blank line, and its data up to the next
 * CRLF + delimiter. Only Content-Disposition (name, filename) and
 * Content-Type are kept; other headers are skipped. A body that ends
 * before the closing delimiter ("--boundary--") is refused: a truncated
 * upload must not be hashed as if it were whole.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "multipart.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* Value of parameter `name` in a header value like `form-data; name="x"`.
 * Copies at most cap-1 bytes; returns 1 if found. */
static int header_param(const char *v, size_t vl, const char *name, char *out, size_t cap,
                        int *found)
{
	size_t nl = strlen(name);
	size_t i = 0;
	*found = 0;
	while (i < vl) {
		/* next parameter after ';' (not one inside a quoted value, as in
		 * filename="a; name=b") */
		while (i < vl && v[i] != ';') {
			if (v[i] == '"') {
				for (i++; i < vl && v[i] != '"'; i++)
					if (v[i] == '\\')
						i++;
			}
			i++;
		}
		if (i >= vl)
			break;
		i++;
		while (i < vl && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (vl - i > nl && !strncasecmp(v + i, name, nl) && v[i + nl] == '=') {
			i += nl + 1;
			size_t o = 0;
			if (i < vl && v[i] == '"') {
				i++;
				while (i < vl && v[i] != '"') {
					if (v[i] == '\\' && i + 1 < vl)
						i++;
					if (o + 1 >= cap)
						return -1;
					out[o++] = v[i++];
				}
				if (i >= vl)
					return -1; /* unterminated quote */
			} else {
				while (i < vl && v[i] != ';' && v[i] != ' ') {
					if (o + 1 >= cap)
						return -1;
					out[o++] = v[i++];
				}
			}
			out[o] = 0;
			*found = 1;
			return 0;
		}
	}
	return 0;
}

int va_multipart_parse(const char *content_type, const uint8_t *body, size_t len,
                       va_part *parts, size_t max, size_t *n, char *msg, size_t msgcap)
{
	*n = 0;
	if (!content_type)
		return fail(msg, msgcap, "no Content-Type");
	char boundary[80];
	int found;
	size_t ctl = strlen(content_type);
	if (header_param(content_type, ctl, "boundary", boundary, sizeof boundary, &found) ||
	    !found || !boundary[0])
		return fail(msg, msgcap, "no usable boundary in Content-Type (1 to 70 characters)");
	if (strlen(boundary) > 70)
		return fail(msg, msgcap, "boundary longer than 70 characters");
	char delim[84];
	int dl = snprintf(delim, sizeof delim, "--%s", boundary);
	const uint8_t *end = body + len;
	const uint8_t *p = memmem(body, len, delim, (size_t)dl);
	if (!p)
		return fail(msg, msgcap, "the boundary never appears in the body");
	p += dl;
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0; /* closing delimiter */
		/* transport padding, then CRLF */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return fail(msg, msgcap, "expected CRLF after a boundary at byte %zu",
			            (size_t)(p - body));
		p += 2;
		if (*n >= max)
			return fail(msg, msgcap, "more than %zu parts", max);
		va_part *part = &parts[*n];
		memset(part, 0, sizeof *part);
		int have_disp = 0;
		/* header lines */
		for (;;) {
			const uint8_t *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
			if (!eol)
				return fail(msg, msgcap, "part %zu: headers never end", *n + 1);
			size_t ll = (size_t)(eol - p);
			if (ll == 0) {
				p = eol + 2;
				break;
			}
			if (ll > 1024)
				return fail(msg, msgcap, "part %zu: header line over 1024 bytes", *n + 1);
			const char *line = (const char *)p;
			const char *colon = memchr(line, ':', ll);
			if (!colon)
				return fail(msg, msgcap, "part %zu: header line without ':'", *n + 1);
			size_t nl = (size_t)(colon - line);
			const char *v = colon + 1;
			size_t vl = ll - nl - 1;
			while (vl && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			if (nl == 19 && !strncasecmp(line, "Content-Disposition", 19)) {
				if (have_disp) /* which name would count? */
					return fail(msg, msgcap, "part %zu: two Content-Disposition headers",
					            *n + 1);
				if (vl < 9 || strncasecmp(v, "form-data", 9))
					return fail(msg, msgcap, "part %zu: Content-Disposition is not form-data",
					            *n + 1);
				if (header_param(v, vl, "name", part->name, sizeof part->name, &found) ||
				    !found)
					return fail(msg, msgcap, "part %zu: no usable name= in Content-Disposition",
					            *n + 1);
				if (header_param(v, vl, "filename", part->filename, sizeof part->filename,
				                 &found))
					return fail(msg, msgcap, "part %zu: filename too long or unterminated",
					            *n + 1);
				part->is_file = found;
				have_disp = 1;
			} else if (nl == 12 && !strncasecmp(line, "Content-Type", 12)) {
				size_t cl = vl < sizeof part->content_type - 1 ? vl
				                                               : sizeof part->content_type - 1;
				memcpy(part->content_type, v, cl);
				part->content_type[cl] = 0;
			}
			p = eol + 2;
		}
		if (!have_disp)
			return fail(msg, msgcap, "part %zu has no Content-Disposition", *n + 1);
		/* data up to CRLF + delimiter */
		const uint8_t *q = p;
		const uint8_t *next = NULL;
		while (q < end) {
			const uint8_t *cand = memmem(q, (size_t)(end - q), delim, (size_t)dl);
			if (!cand)
				break;
			if (cand - p >= 2 && cand[-2] == '\r' && cand[-1] == '\n') {
				next = cand;
				break;
			}
			if (cand == p) { /* empty data right after the blank line is "\r\n--" */
				next = NULL;
			}
			q = cand + 1;
		}
		if (!next)
			return fail(msg, msgcap, "part %zu ('%s') is not closed by a boundary: "
			            "the body is truncated", *n + 1, part->name);
		part->data = p;
		part->len = (size_t)(next - 2 - p);
		(*n)++;
		p = next + dl;
	}
}
