/*
 * prov_jumbf.c - a bounded JUMBF box-tree parser (see prov_jumbf.h).
 *
 * Recursion is capped at PROV_MAX_DEPTH and the whole tree at
 * PROV_MAX_BOXES, counted across levels, so neither deep nor wide hostile
 * input can exhaust the stack or memory. Every length is checked against
 * what is left of its parent before it is used.
 */
#include "prov.h"
#include "prov_jumbf.h"

#include <stdio.h>
#include <string.h>

typedef struct jctx {
	const uint8_t *base;
	size_t boxes;
	char *why;
	size_t whylen;
} jctx;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the box header at p[0..left): fills type/box/payload. */
static int box_header(jctx *c, const uint8_t *p, size_t left, prov_jbox *b)
{
	if (left < 8) {
		snprintf(c->why, c->whylen, "JUMBF box header at byte %zu is cut short",
		         (size_t)(p - c->base));
		return -1;
	}
	uint64_t lbox = be32(p);
	size_t hdr = 8;
	if (lbox == 1) {
		if (left < 16) {
			snprintf(c->why, c->whylen, "JUMBF XLBox at byte %zu is cut short",
			         (size_t)(p - c->base));
			return -1;
		}
		lbox = (uint64_t)be32(p + 8) << 32 | be32(p + 12);
		hdr = 16;
	} else if (lbox == 0) {
		lbox = left;
	}
	if (lbox < hdr || lbox > left) {
		snprintf(c->why, c->whylen, "JUMBF box at byte %zu claims %llu bytes, %zu are left",
		         (size_t)(p - c->base), (unsigned long long)lbox, left);
		return -1;
	}
	if (++c->boxes > PROV_MAX_BOXES) {
		snprintf(c->why, c->whylen, "more than %d JUMBF boxes", PROV_MAX_BOXES);
		return -1;
	}
	memset(b, 0, sizeof *b);
	b->type = be32(p + 4);
	b->box = p;
	b->box_len = (size_t)lbox;
	b->payload = p + hdr;
	b->payload_len = (size_t)lbox - hdr;
	b->label = "";
	return 0;
}

static void free_children(prov_jbox *b)
{
	for (size_t i = 0; i < b->nchild; i++)
		free_children(&b->child[i]);
	free(b->child);
	b->child = NULL;
	b->nchild = 0;
}

static int parse_super(jctx *c, prov_jbox *b, int depth)
{
	if (depth > PROV_MAX_DEPTH) {
		snprintf(c->why, c->whylen, "JUMBF nested deeper than %d", PROV_MAX_DEPTH);
		return -1;
	}
	b->super = 1;
	const uint8_t *p = b->payload;
	size_t left = b->payload_len;
	prov_jbox d;
	if (box_header(c, p, left, &d) < 0)
		return -1;
	if (d.type != PROV_FOURCC('j', 'u', 'm', 'd') || d.payload_len < 17) {
		snprintf(c->why, c->whylen, "JUMBF superbox at byte %zu does not start with a description box",
		         (size_t)(b->box - c->base));
		return -1;
	}
	memcpy(b->uuid, d.payload, 16);
	b->toggles = d.payload[16];
	if (b->toggles & 0x02) {
		const uint8_t *l = d.payload + 17;
		size_t ln = d.payload_len - 17;
		const uint8_t *z = memchr(l, 0, ln);
		if (!z) {
			snprintf(c->why, c->whylen, "JUMBF label at byte %zu is not terminated",
			         (size_t)(l - c->base));
			return -1;
		}
		b->label = (const char *)l;
	}
	p += d.box_len;
	left -= d.box_len;
	/* Count children first so the array is allocated once. */
	size_t n = 0;
	for (size_t off = 0; off < left;) {
		prov_jbox t;
		if (box_header(c, p + off, left - off, &t) < 0)
			return -1;
		off += t.box_len;
		n++;
		c->boxes--; /* counted again below */
	}
	if (n) {
		b->child = calloc(n, sizeof *b->child);
		if (!b->child) {
			snprintf(c->why, c->whylen, "out of memory");
			return -1;
		}
	}
	for (size_t off = 0; off < left;) {
		prov_jbox *t = &b->child[b->nchild];
		if (box_header(c, p + off, left - off, t) < 0)
			return -1;
		b->nchild++;
		off += t->box_len;
		if (t->type == PROV_FOURCC('j', 'u', 'm', 'b') && parse_super(c, t, depth + 1) < 0)
			return -1;
	}
	return 0;
}

int prov_jumbf_parse(const uint8_t *buf, size_t len, prov_jbox **root, char *why, size_t whylen)
{
	*root = NULL;
	jctx c = {buf, 0, why, whylen};
	prov_jbox *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (box_header(&c, buf, len, r) < 0)
		goto fail;
	if (r->type != PROV_FOURCC('j', 'u', 'm', 'b')) {
		snprintf(why, whylen, "not a JUMBF superbox (box type is not 'jumb')");
		goto fail;
	}
	if (r->box_len != len) {
		snprintf(why, whylen, "%zu bytes after the JUMBF superbox", len - r->box_len);
		goto fail;
	}
	if (parse_super(&c, r, 0) < 0)
		goto fail;
	*root = r;
	return 0;
fail:
	prov_jumbf_free(r);
	return -1;
}

void prov_jumbf_free(prov_jbox *root)
{
	if (!root)
		return;
	free_children(root);
	free(root);
}

const prov_jbox *prov_jumbf_child(const prov_jbox *s, const char *label)
{
	for (size_t i = 0; s && i < s->nchild; i++)
		if (s->child[i].super && !strcmp(s->child[i].label, label))
			return &s->child[i];
	return NULL;
}

const prov_jbox *prov_jumbf_content(const prov_jbox *s, uint32_t type)
{
	for (size_t i = 0; s && i < s->nchild; i++)
		if (s->child[i].type == type)
			return &s->child[i];
	return NULL;
}

int prov_jumbf_is(const prov_jbox *s, const char tag4[4])
{
	return s && s->super && !memcmp(s->uuid, tag4, 4);
}
