/*
 * fuzz_meta_check.h - the invariants every prov_meta result must keep,
 * shared by fuzz_xmp.c, fuzz_exiftags.c and fuzz_genmeta.c: within the
 * caps, every string present and valid UTF-8, values no longer than the
 * value cap, ai 0 or 1 (always 1 for generator records), detail_json an
 * object when present.
 */
#ifndef VETO_FUZZ_META_CHECK_H
#define VETO_FUZZ_META_CHECK_H

#include "prov_meta.h"

#include <jansson.h>
#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

static int utf8_ok(const char *s)
{
	return prov_utf8_valid((const uint8_t *)s, strlen(s));
}

static void meta_check(const prov_meta *m, int generators_only)
{
	ENSURE(m->n <= PROV_META_MAX_ITEMS && m->nproblems <= PROV_META_MAX_PROBLEMS);
	for (size_t i = 0; i < m->n; i++) {
		const prov_meta_item *it = &m->v[i];
		ENSURE(it->kind && it->name && it->value && it->source);
		ENSURE(utf8_ok(it->name) && utf8_ok(it->value) && utf8_ok(it->source));
		ENSURE(strlen(it->value) <= PROV_META_MAX_VALUE);
		ENSURE(it->ai == 0 || it->ai == 1);
		if (generators_only)
			ENSURE(!strcmp(it->kind, "generator") && it->ai == 1);
		if (it->detail_json) {
			json_t *j = json_loads(it->detail_json, 0, NULL);
			ENSURE(json_is_object(j));
			json_decref(j);
		}
	}
	for (size_t i = 0; i < m->nproblems; i++)
		ENSURE(m->problems[i] && utf8_ok(m->problems[i]));
}

#endif
