/*
 * prov_cbor.h - CBOR for the provenance modules: libcbor behind a guard.
 *
 * libcbor decodes well but trusts the counts it reads: an array header
 * claiming 2^32 items makes it try to allocate 32 GB before it finds the
 * input is short. prov_cbor_load therefore walks the bytes first with a
 * small non-allocating checker (every count must fit in what is left, a
 * depth cap, no reserved encodings) and only then hands them to libcbor.
 * The helpers below read items without ever assuming a type.
 */
#ifndef VETO_PROV_CBOR_H
#define VETO_PROV_CBOR_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

/* Checks that data[0..len) starts with one well-formed CBOR item within the
 * caps (depth PROV_MAX_DEPTH, every declared count <= bytes left); *used =
 * its length. 0 if well formed, -1 otherwise with a reason in why. */
int prov_cbor_check(const uint8_t *data, size_t len, size_t *used, char *why, size_t whylen);

/* One CBOR item that must fill data[0..len) exactly (trailing bytes are an
 * error). NULL with a reason in why. Free with cbor_decref. */
cbor_item_t *prov_cbor_load(const uint8_t *data, size_t len, char *why, size_t whylen);

/* Value of text key `key` in map m (NULL if m is not a map or has no such
 * key). Tags around m are looked through. */
cbor_item_t *prov_cbor_get(const cbor_item_t *m, const char *key);
/* The same for an integer key (COSE headers). */
cbor_item_t *prov_cbor_get_int(const cbor_item_t *m, int64_t key);
/* Item with tags removed. */
cbor_item_t *prov_cbor_untag(const cbor_item_t *it);
/* Definite text string as a fresh NUL-terminated copy (NULL if not text,
 * indefinite, or holding a NUL byte). Caller frees. */
char *prov_cbor_strdup(const cbor_item_t *it);
/* Definite byte string: pointer and length (NULL if not one). */
const uint8_t *prov_cbor_bytes(const cbor_item_t *it, size_t *len);
/* Integer value (uint or negint) into *v; -1 if not an integer that fits. */
int prov_cbor_int(const cbor_item_t *it, int64_t *v);
/* Text equality without allocating. */
int prov_cbor_text_is(const cbor_item_t *it, const char *s);

#endif
