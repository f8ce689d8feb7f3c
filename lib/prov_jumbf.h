/*
 * prov_jumbf.h - JUMBF (ISO/IEC 19566-5) box trees, as C2PA stores them.
 *
 * A superbox ('jumb') holds one description box ('jumd': a 16-byte type
 * UUID, a toggles byte, an optional NUL-terminated label, id, signature
 * and private box) followed by content boxes ('cbor', 'json', 'bidb',
 * 'bfdb', 'uuid', ...) and nested superboxes. The tree points into the
 * caller's buffer (which must outlive it); nothing is copied.
 */
#ifndef VETO_PROV_JUMBF_H
#define VETO_PROV_JUMBF_H

#include <stddef.h>
#include <stdint.h>

#define PROV_FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

typedef struct prov_jbox {
	uint32_t type;            /* 'jumb', 'cbor', ... */
	const uint8_t *box;       /* the whole box, header included */
	size_t box_len;
	const uint8_t *payload;   /* after the header (LBox/TBox[/XLBox]) */
	size_t payload_len;
	/* superboxes only: */
	int super;
	uint8_t uuid[16];         /* jumd type */
	uint8_t toggles;
	const char *label;        /* points into the buffer, NUL-terminated; "" if none */
	struct prov_jbox *child;  /* content boxes after jumd, in order */
	size_t nchild;
} prov_jbox;

/* Parses one superbox filling buf[0..len) (trailing bytes are an error).
 * *root is allocated; free with prov_jumbf_free. -1 with a reason (naming
 * the offset) in why. Caps: PROV_MAX_BOXES boxes, PROV_MAX_DEPTH levels. */
int prov_jumbf_parse(const uint8_t *buf, size_t len, prov_jbox **root, char *why, size_t whylen);
void prov_jumbf_free(prov_jbox *root);

/* Direct child superbox with this label (NULL if none). */
const prov_jbox *prov_jumbf_child(const prov_jbox *super, const char *label);
/* First direct content box of this type (NULL if none). */
const prov_jbox *prov_jumbf_content(const prov_jbox *super, uint32_t type);
/* Nonzero when the superbox's jumd type begins with these four bytes
 * (C2PA types are "c2pa", "c2ma", "c2um", "c2as", "c2cl", "c2cs", "cbor",
 * "json", ... followed by 0011-0010-8000-00AA00389B71). */
int prov_jumbf_is(const prov_jbox *super, const char tag4[4]);

#endif
