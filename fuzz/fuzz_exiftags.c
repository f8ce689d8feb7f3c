/*
 * fuzz_exiftags.c - prov_meta_exif (lib/prov_exiftags.c) on arbitrary bytes.
 *
 * The EXIF block of an upload is attacker-controlled: every IFD offset,
 * entry count and byte count in it is hostile. Besides "no
 * crash, no leak, no hang": the call succeeds (only lack of memory may
 * fail it), and every finding is well formed: valid UTF-8 strings within
 * the caps, detail JSON that parses, item and problem counts within their
 * caps. libFuzzer's buffer is exactly `size` bytes and not NUL-terminated,
 * so ASan catches any read past the block.
 */
#include "prov_meta.h"

#include <jansson.h>
#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int utf8_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		int k;
		if (*p < 0x80) k = 0;
		else if (*p < 0xC2) return 0;
		else if (*p < 0xE0) k = 1;
		else if (*p < 0xF0) k = 2;
		else if (*p <= 0xF4) k = 3;
		else return 0;
		for (int i = 1; i <= k; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += k + 1;
	}
	return 1;
}

static void check(const prov_meta *m)
{
	ENSURE(m->n <= PROV_META_MAX_ITEMS && m->nproblems <= PROV_META_MAX_PROBLEMS);
	for (size_t i = 0; i < m->n; i++) {
		const prov_meta_item *it = &m->v[i];
		ENSURE(it->kind && it->name && it->value && it->source);
		ENSURE(utf8_ok(it->name) && utf8_ok(it->value) && utf8_ok(it->source));
		ENSURE(strlen(it->value) <= PROV_META_MAX_VALUE);
		ENSURE(it->ai == 0 || it->ai == 1);
		if (it->detail_json) {
			json_t *j = json_loads(it->detail_json, 0, NULL);
			ENSURE(json_is_object(j));
			json_decref(j);
		}
	}
	for (size_t i = 0; i < m->nproblems; i++)
		ENSURE(m->problems[i] && utf8_ok(m->problems[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	prov_meta m = {0};
	veto_error err = {0};
	int rc = prov_meta_exif(size ? data : NULL, size, &m, &err);
	ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
	check(&m);
	for (size_t i = 0; i < m.n; i++)
		ENSURE(!strcmp(m.v[i].kind, "generator") || m.v[i].ai == 0);
	prov_meta_free(&m);
	return 0;
}
