/*
 * prov_status.c - the list of validation statuses the provenance modules
 * write (see prov.h). Plain growable array; a failed allocation marks the
 * list instead of failing the caller, so validation code stays linear and
 * the report says the list is incomplete.
 */
#include "prov.h"

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
