/*
 * prov_status.c - what every provenance module shares (see prov.h): the
 * list of validation statuses (a plain growable array; a failed allocation
 * marks the list instead of failing the caller, so validation code stays
 * linear and the report says the list is incomplete), hex, the one
 * UTF-8 validator the text readers use, and C2PA's hash names.
 */
#include "prov.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void prov_status_add(prov_status_list *l, int kind, const char *code, const char *url,
                     const char *fmt, ...)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		prov_status *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			l->oom = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	prov_status *s = &l->v[l->n];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->code = strdup(code);
	s->url = url ? strdup(url) : NULL;
	if (fmt) {
		char buf[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
		s->explanation = strdup(buf);
		if (!s->explanation)
			l->oom = 1;
	}
	if (!s->code || (url && !s->url)) {
		free(s->code);
		free(s->url);
		free(s->explanation);
		l->oom = 1;
		return;
	}
	l->n++;
}

int prov_status_has(const prov_status_list *l, const char *code, int kind)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].code, code) && (kind < 0 || l->v[i].kind == kind))
			return 1;
	return 0;
}

size_t prov_status_count(const prov_status_list *l, int kind)
{
	size_t c = 0;
	for (size_t i = 0; i < l->n; i++)
		c += l->v[i].kind == kind;
	return c;
}

void prov_status_free(prov_status_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].code);
		free(l->v[i].url);
		free(l->v[i].explanation);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

void prov_hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
size_t prov_utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t min, cp;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; cp = c & 0x1f; }
	else if ((c & 0xf0) == 0xe0) { len = 3; min = 0x800; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; cp = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int prov_utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = prov_utf8_seq(p + i, n - i);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}

const EVP_MD *prov_md(const char *alg)
{
	if (!alg)
		return NULL;
	if (!strcmp(alg, "sha256")) return EVP_sha256();
	if (!strcmp(alg, "sha384")) return EVP_sha384();
	if (!strcmp(alg, "sha512")) return EVP_sha512();
	return NULL;
}
