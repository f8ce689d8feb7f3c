/*
 * prov_cbor.c - the guard in front of libcbor and small typed readers
 * (see prov_cbor.h for why the guard exists).
 *
 * The checker is iterative over a fixed stack of "items still owed" per
 * nesting level, so hostile nesting costs neither recursion nor memory.
 * Indefinite-length items are accepted (libcbor reads them) but bounded
 * like the rest: each chunk must fit in what is left.
 */
#include "prov.h"
#include "prov_cbor.h"

#include <stdio.h>
#include <string.h>

static int rd_arg(const uint8_t *p, size_t len, size_t *pos, unsigned ai, uint64_t *v)
{
	size_t n = ai < 24 ? 0 : ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 99;
	if (n == 99)
		return -1;
	if (n == 0) {
		*v = ai;
		return 0;
	}
	if (len - *pos < n)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | p[*pos + i];
	*pos += n;
	*v = x;
	return 0;
}

int prov_cbor_check(const uint8_t *p, size_t len, size_t *used, char *why, size_t whylen)
{
	/* owed[d]: items still to read at depth d; UINT64_MAX = indefinite
	 * (until a break). Maps owe two items per entry. */
	uint64_t owed[PROV_MAX_DEPTH + 2];
	int d = 0;
	owed[0] = 1;
	size_t pos = 0;
	while (d >= 0) {
		if (owed[d] == 0) {
			d--;
			continue;
		}
		if (pos >= len) {
			snprintf(why, whylen, "CBOR ends early at byte %zu", pos);
			return -1;
		}
		uint8_t ib = p[pos++];
		unsigned mt = ib >> 5, ai = ib & 31;
		if (ib == 0xff) {
			if (owed[d] != UINT64_MAX) {
				snprintf(why, whylen, "stray CBOR break at byte %zu", pos - 1);
				return -1;
			}
			d--;
			continue;
		}
		if (owed[d] != UINT64_MAX)
			owed[d]--;
		uint64_t v = 0;
		if (ai == 31) {
			if (mt == 0 || mt == 1 || mt == 6 || mt == 7) {
				snprintf(why, whylen, "bad CBOR indefinite marker at byte %zu", pos - 1);
				return -1;
			}
			if (d >= PROV_MAX_DEPTH) {
				snprintf(why, whylen, "CBOR nested deeper than %d", PROV_MAX_DEPTH);
				return -1;
			}
			owed[++d] = UINT64_MAX;
			/* Indefinite strings hold definite chunks of their own type;
			 * the checker treats them like an indefinite array. */
			continue;
		}
		if (rd_arg(p, len, &pos, ai, &v) < 0) {
			snprintf(why, whylen, "bad CBOR header at byte %zu", pos - 1);
			return -1;
		}
		switch (mt) {
		case 0: case 1:
			break;
		case 2: case 3:
			if (v > len - pos) {
				snprintf(why, whylen, "CBOR string of %llu bytes at byte %zu runs past the end",
				         (unsigned long long)v, pos);
				return -1;
			}
			pos += (size_t)v;
			break;
		case 4: case 5: {
			uint64_t items = mt == 5 ? v * 2 : v;
			if (v > len - pos || (mt == 5 && v > (len - pos) / 2)) {
				snprintf(why, whylen, "CBOR %s of %llu entries at byte %zu cannot fit",
				         mt == 4 ? "array" : "map", (unsigned long long)v, pos);
				return -1;
			}
			if (items == 0)
				break;
			if (d >= PROV_MAX_DEPTH) {
				snprintf(why, whylen, "CBOR nested deeper than %d", PROV_MAX_DEPTH);
				return -1;
			}
			owed[++d] = items;
			break;
		}
		case 6:
			if (d >= PROV_MAX_DEPTH) {
				snprintf(why, whylen, "CBOR nested deeper than %d", PROV_MAX_DEPTH);
				return -1;
			}
			owed[++d] = 1;
			break;
		case 7:
			if (ai >= 28) {
				snprintf(why, whylen, "reserved CBOR simple value at byte %zu", pos - 1);
				return -1;
			}
			break;
		}
	}
	*used = pos;
	return 0;
}

cbor_item_t *prov_cbor_load(const uint8_t *data, size_t len, char *why, size_t whylen)
{
	size_t used = 0;
	if (!data || len == 0) {
		snprintf(why, whylen, "empty CBOR");
		return NULL;
	}
	if (prov_cbor_check(data, len, &used, why, whylen) < 0)
		return NULL;
	if (used != len) {
		snprintf(why, whylen, "%zu bytes after the CBOR item", len - used);
		return NULL;
	}
	struct cbor_load_result r;
	cbor_item_t *it = cbor_load(data, len, &r);
	if (!it || r.error.code != CBOR_ERR_NONE) {
		snprintf(why, whylen, "CBOR rejected by libcbor at byte %zu (error %d)",
		         r.error.position, (int)r.error.code);
		if (it)
			cbor_decref(&it);
		return NULL;
	}
	return it;
}

cbor_item_t *prov_cbor_untag(const cbor_item_t *it)
{
	int n = 0;
	while (it && cbor_isa_tag(it) && n++ < PROV_MAX_DEPTH)
		it = cbor_move(cbor_tag_item(it)); /* cbor_tag_item increfs; move drops it */
	return (cbor_item_t *)it;
}

int prov_cbor_text_is(const cbor_item_t *it, const char *s)
{
	if (!it || !cbor_isa_string(it) || !cbor_string_is_definite(it))
		return 0;
	size_t n = strlen(s);
	return cbor_string_length(it) == n && !memcmp(cbor_string_handle(it), s, n);
}

cbor_item_t *prov_cbor_get(const cbor_item_t *m, const char *key)
{
	m = prov_cbor_untag(m);
	if (!m || !cbor_isa_map(m))
		return NULL;
	struct cbor_pair *pr = cbor_map_handle(m);
	size_t n = cbor_map_size(m);
	for (size_t i = 0; i < n; i++)
		if (prov_cbor_text_is(pr[i].key, key))
			return pr[i].value;
	return NULL;
}

cbor_item_t *prov_cbor_get_int(const cbor_item_t *m, int64_t key)
{
	m = prov_cbor_untag(m);
	if (!m || !cbor_isa_map(m))
		return NULL;
	struct cbor_pair *pr = cbor_map_handle(m);
	size_t n = cbor_map_size(m);
	for (size_t i = 0; i < n; i++) {
		int64_t k;
		if (prov_cbor_int(pr[i].key, &k) == 0 && k == key)
			return pr[i].value;
	}
	return NULL;
}

char *prov_cbor_strdup(const cbor_item_t *it)
{
	it = prov_cbor_untag(it);
	if (!it || !cbor_isa_string(it) || !cbor_string_is_definite(it))
		return NULL;
	size_t n = cbor_string_length(it);
	const unsigned char *s = cbor_string_handle(it);
	if (n && memchr(s, 0, n))
		return NULL;
	char *o = malloc(n + 1);
	if (!o)
		return NULL;
	if (n)
		memcpy(o, s, n);
	o[n] = 0;
	return o;
}

const uint8_t *prov_cbor_bytes(const cbor_item_t *it, size_t *len)
{
	it = prov_cbor_untag(it);
	if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return NULL;
	*len = cbor_bytestring_length(it);
	const uint8_t *p = cbor_bytestring_handle(it);
	return p ? p : (const uint8_t *)"";
}

int prov_cbor_int(const cbor_item_t *it, int64_t *v)
{
	it = prov_cbor_untag(it);
	if (!it)
		return -1;
	if (cbor_isa_uint(it)) {
		uint64_t x = cbor_get_int(it);
		if (x > INT64_MAX)
			return -1;
		*v = (int64_t)x;
		return 0;
	}
	if (cbor_isa_negint(it)) {
		uint64_t x = cbor_get_int(it);
		if (x > INT64_MAX)
			return -1;
		*v = -1 - (int64_t)x;
		return 0;
	}
	return -1;
}
