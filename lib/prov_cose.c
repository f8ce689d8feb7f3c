/*
 * prov_cose.c - a C2PA claim signature (COSE_Sign1): parse it, check it in
 * c2pa-rs's order and with its status codes (see prov_cose.h).
 *
 * The COSE structure is read by a small CBOR reader of its own rather than
 * by libcbor: it must keep the protected header's exact bytes, apply the
 * rules coset applies (tag 18, four items, a protected header that is one
 * map filling its byte string, int/text labels without duplicates, typed
 * core headers, valid UTF-8 text, nothing after the item), never allocate
 * from a count it has not checked against the bytes left, and cap nesting
 * at PROV_MAX_DEPTH. Only the parts the validation needs are kept: the
 * algorithm, the certificate chain, the time-stamp tokens and the first
 * stapled OCSP response; the rest is walked and checked, not stored.
 */
#include "prov_cose.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define COSE_MAX_HEADER_ENTRIES 256   /* labels in one header map */
#define COSE_MAX_CHAIN          32    /* certificates in x5chain */
#define COSE_MAX_TOKENS         64    /* tstTokens entries counted */

/* COSE algorithm identifiers (RFC 9053 / IANA) c2pa-rs accepts. */
enum {
	ALG_ES256 = -7, ALG_ES384 = -35, ALG_ES512 = -36, ALG_EDDSA = -8,
	ALG_PS256 = -37, ALG_PS384 = -38, ALG_PS512 = -39
};

/* ----------------------------------------------------------- CBOR reader */

typedef struct arena_blk {
	struct arena_blk *next;
	uint8_t data[];
} arena_blk;

typedef struct crd {
	const uint8_t *p;
	size_t n, i;
	arena_blk **arena;   /* where copies of indefinite strings go */
	int oom;
	char why[160];
} crd;

typedef struct chd {
	int mt, ai, indef;
	uint64_t v;
} chd;

typedef struct span {
	const uint8_t *p;
	size_t n;
} span;

static int rfail(crd *r, const char *fmt, size_t at)
{
	if (!r->why[0])
		snprintf(r->why, sizeof r->why, fmt, at);
	return -1;
}

static int rfails(crd *r, const char *msg)
{
	if (!r->why[0])
		snprintf(r->why, sizeof r->why, "%s", msg);
	return -1;
}

static int rd_head(crd *r, chd *h)
{
	if (r->i >= r->n)
		return rfail(r, "CBOR truncated at byte %zu", r->i);
	size_t at = r->i;
	uint8_t ib = r->p[r->i++];
	h->mt = ib >> 5;
	h->ai = ib & 31;
	h->indef = 0;
	h->v = 0;
	if (h->ai < 24) {
		h->v = (uint64_t)h->ai;
	} else if (h->ai <= 27) {
		size_t k = (size_t)1 << (h->ai - 24);
		if (r->n - r->i < k)
			return rfail(r, "CBOR truncated at byte %zu", at);
		for (size_t j = 0; j < k; j++)
			h->v = h->v << 8 | r->p[r->i++];
	} else if (h->ai == 31) {
		if (h->mt == 0 || h->mt == 1 || h->mt == 6)
			return rfail(r, "invalid CBOR indefinite length at byte %zu", at);
		if (h->mt == 7)
			return rfail(r, "unexpected CBOR break at byte %zu", at);
		h->indef = 1;
	} else {
		return rfail(r, "reserved CBOR encoding at byte %zu", at);
	}
	return 0;
}

static int at_break(const crd *r)
{
	return r->i < r->n && r->p[r->i] == 0xff;
}

/* Rust's str::from_utf8 rules. */
static int utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* The content of a byte or text string whose head is h. Indefinite strings
 * are concatenated into the arena (or just checked when out is NULL). */
static int rd_string(crd *r, const chd *h, span *out)
{
	if (!h->indef) {
		if (h->v > r->n - r->i)
			return rfail(r, "CBOR string runs past the end (byte %zu)", r->i);
		const uint8_t *s = r->p + r->i;
		if (h->mt == 3 && !utf8_ok(s, (size_t)h->v))
			return rfail(r, "CBOR text is not UTF-8 (byte %zu)", r->i);
		r->i += (size_t)h->v;
		if (out) {
			out->p = s;
			out->n = (size_t)h->v;
		}
		return 0;
	}
	size_t start = r->i, total = 0;
	for (;;) {
		if (r->i >= r->n)
			return rfail(r, "CBOR indefinite string truncated (byte %zu)", r->i);
		if (at_break(r)) {
			r->i++;
			break;
		}
		chd c;
		if (rd_head(r, &c))
			return -1;
		if (c.mt != h->mt || c.indef)
			return rfail(r, "bad chunk in CBOR indefinite string (byte %zu)", r->i);
		if (c.v > r->n - r->i)
			return rfail(r, "CBOR string runs past the end (byte %zu)", r->i);
		if (h->mt == 3 && !utf8_ok(r->p + r->i, (size_t)c.v))
			return rfail(r, "CBOR text is not UTF-8 (byte %zu)", r->i);
		total += (size_t)c.v;
		r->i += (size_t)c.v;
	}
	if (!out)
		return 0;
	arena_blk *b = malloc(sizeof *b + (total ? total : 1));
	if (!b) {
		r->oom = 1;
		return rfails(r, "out of memory");
	}
	b->next = *r->arena;
	*r->arena = b;
	size_t end = r->i, o = 0;
	r->i = start;
	while (r->i < end && !at_break(r)) {
		chd c = { 0 };
		rd_head(r, &c);
		memcpy(b->data + o, r->p + r->i, (size_t)c.v);
		o += (size_t)c.v;
		r->i += (size_t)c.v;
	}
	r->i = end;
	out->p = b->data;
	out->n = total;
	return 0;
}

/* Skips one well-formed item (checking it as it goes). */
static int skip_item(crd *r, int depth)
{
	if (depth > PROV_MAX_DEPTH)
		return rfail(r, "CBOR nested too deeply (byte %zu)", r->i);
	chd h;
	if (rd_head(r, &h))
		return -1;
	switch (h.mt) {
	case 0:
	case 1:
		return 0;
	case 2:
	case 3:
		return rd_string(r, &h, NULL);
	case 4:
	case 5: {
		int per = h.mt == 5 ? 2 : 1;
		if (h.indef) {
			for (;;) {
				if (r->i >= r->n)
					return rfail(r, "CBOR container truncated (byte %zu)", r->i);
				if (at_break(r)) {
					r->i++;
					return 0;
				}
				for (int k = 0; k < per; k++)
					if (skip_item(r, depth + 1))
						return -1;
			}
		}
		if (h.v > r->n - r->i)
			return rfail(r, "CBOR count exceeds the bytes left (byte %zu)", r->i);
		for (uint64_t k = 0; k < h.v * (uint64_t)per; k++)
			if (skip_item(r, depth + 1))
				return -1;
		return 0;
	}
	case 6:
		return skip_item(r, depth + 1);
	default: /* 7 */
		if (h.ai >= 20 && h.ai <= 23)
			return 0; /* false, true, null, undefined */
		if (h.ai >= 25 && h.ai <= 27)
			return 0; /* floats */
		return rfail(r, "CBOR simple value not allowed (byte %zu)", r->i);
	}
}

/* Iterates a definite or indefinite container: call with *left set from
 * the head; returns 1 while there is another element, 0 at the end, -1 on
 * error. */
static int next_elem(crd *r, const chd *h, uint64_t *left)
{
	if (h->indef) {
		if (r->i >= r->n)
			return rfail(r, "CBOR container truncated (byte %zu)", r->i);
		if (at_break(r)) {
			r->i++;
			return 0;
		}
		return 1;
	}
	if (*left == 0)
		return 0;
	(*left)--;
	return 1;
}

static int container_head(crd *r, chd *h, int mt, uint64_t *left)
{
	if (rd_head(r, h))
		return -1;
	if (h->mt != mt)
		return -2;
	if (!h->indef && h->v > r->n - r->i)
		return rfail(r, "CBOR count exceeds the bytes left (byte %zu)", r->i);
	*left = h->v;
	return 0;
}

static int rd_int(const chd *h, int64_t *v)
{
	if (h->mt == 0 && h->v <= (uint64_t)INT64_MAX) {
		*v = (int64_t)h->v;
		return 0;
	}
	if (h->mt == 1 && h->v <= (uint64_t)INT64_MAX) {
		*v = -1 - (int64_t)h->v;
		return 0;
	}
	return -1;
}

static int span_is(span s, const char *lit)
{
	size_t l = strlen(lit);
	return s.n == l && !memcmp(s.p, lit, l);
}

/* ------------------------------------------------------------ the COSE */

typedef struct cert_list {
	int state;            /* 0 absent, 1 read, -1 present but not usable */
	int n;
	int too_many;
	span c[COSE_MAX_CHAIN];
} cert_list;

typedef struct cose {
	span prot;                   /* protected header bytes, exact */
	span sig;
	int has_alg, alg_text;
	int64_t alg;
	cert_list pchain, uchain;    /* protected / unprotected x5chain */
	int tst_kind;                /* 0 none, 1 sigTst, 2 sigTst2 */
	int tst_state;               /* 1 container read, -1 unreadable */
	int ntokens;
	span token;                  /* the first tstTokens[].val */
	int has_ocsp;
	span ocsp;                   /* rVals.ocspVals[0] */
	arena_blk *arena;
} cose;

static void cose_free(cose *c)
{
	while (c->arena) {
		arena_blk *b = c->arena;
		c->arena = b->next;
		free(b);
	}
}

/* x5chain: one bstr, or an array whose bstr elements are the chain (other
 * elements are ignored, as c2pa-rs does). */
static int rd_chain(crd *r, cert_list *cl, int depth)
{
	size_t save = r->i;
	chd h;
	if (rd_head(r, &h))
		return -1;
	cl->state = -1;
	if (h.mt == 2) {
		if (rd_string(r, &h, &cl->c[0]))
			return -1;
		cl->n = 1;
		cl->state = 1;
		return 0;
	}
	if (h.mt != 4) {
		r->i = save;
		return skip_item(r, depth);
	}
	uint64_t left = h.v;
	if (!h.indef && h.v > r->n - r->i)
		return rfail(r, "CBOR count exceeds the bytes left (byte %zu)", r->i);
	int more;
	while ((more = next_elem(r, &h, &left)) == 1) {
		size_t es = r->i;
		chd e;
		if (rd_head(r, &e))
			return -1;
		if (e.mt == 2) {
			span s;
			if (rd_string(r, &e, &s))
				return -1;
			if (cl->n < COSE_MAX_CHAIN)
				cl->c[cl->n++] = s;
			else
				cl->too_many = 1;
		} else {
			r->i = es;
			if (skip_item(r, depth + 1))
				return -1;
		}
	}
	if (more < 0)
		return -1;
	if (cl->n > 0)
		cl->state = 1;
	return 0;
}

/* A map read as a serde struct: calls field() for text keys; other keys
 * and their values are skipped. Returns -2 if not a map. */
typedef int (*field_fn)(crd *r, span key, void *ctx, int depth);

static int rd_struct(crd *r, int depth, field_fn field, void *ctx)
{
	if (depth > PROV_MAX_DEPTH)
		return rfail(r, "CBOR nested too deeply (byte %zu)", r->i);
	size_t save = r->i;
	chd h;
	uint64_t left;
	int rc = container_head(r, &h, 5, &left);
	if (rc == -2) {
		r->i = save;
		if (skip_item(r, depth))
			return -1;
		return -2;
	}
	if (rc)
		return -1;
	int more;
	while ((more = next_elem(r, &h, &left)) == 1) {
		size_t ks = r->i;
		chd k;
		if (rd_head(r, &k))
			return -1;
		if (k.mt == 3) {
			span key;
			if (rd_string(r, &k, &key))
				return -1;
			rc = field(r, key, ctx, depth + 1);
			if (rc == -1)
				return -1;
		} else {
			r->i = ks;
			if (skip_item(r, depth + 1) || skip_item(r, depth + 1))
				return -1;
		}
	}
	return more < 0 ? -1 : 0;
}

/* tstContainer = { "tstTokens": [ { "val": bstr }, ... ] } */
typedef struct tst_ctx {
	cose *c;
	int seen_tokens, bad;
} tst_ctx;

typedef struct val_ctx {
	int seen;
	int bad;
	span val;
} val_ctx;

static int val_field(crd *r, span key, void *vctx, int depth)
{
	val_ctx *v = vctx;
	if (!span_is(key, "val"))
		return skip_item(r, depth);
	if (v->seen)
		v->bad = 1; /* duplicate field */
	v->seen = 1;
	size_t save = r->i;
	chd h;
	if (rd_head(r, &h))
		return -1;
	if (h.mt != 2) {
		v->bad = 1;
		r->i = save;
		return skip_item(r, depth);
	}
	return rd_string(r, &h, &v->val);
}

static int tst_field(crd *r, span key, void *vctx, int depth)
{
	tst_ctx *t = vctx;
	if (!span_is(key, "tstTokens"))
		return skip_item(r, depth);
	if (t->seen_tokens)
		t->bad = 1;
	t->seen_tokens = 1;
	size_t save = r->i;
	chd h;
	uint64_t left;
	int rc = container_head(r, &h, 4, &left);
	if (rc == -2) {
		t->bad = 1;
		r->i = save;
		return skip_item(r, depth);
	}
	if (rc)
		return -1;
	int more;
	t->c->ntokens = 0;
	while ((more = next_elem(r, &h, &left)) == 1) {
		val_ctx v = { 0 };
		rc = rd_struct(r, depth + 1, val_field, &v);
		if (rc == -1)
			return -1;
		if (rc == -2 || !v.seen || v.bad) {
			t->bad = 1;
			continue;
		}
		if (t->c->ntokens == 0)
			t->c->token = v.val;
		if (t->c->ntokens < COSE_MAX_TOKENS)
			t->c->ntokens++;
	}
	return more < 0 ? -1 : 0;
}

/* rVals = { "ocspVals": [ bstr, ... ] }: the first bstr of the first
 * "ocspVals" holding one. */
static int ocsp_field(crd *r, span key, void *vctx, int depth)
{
	cose *c = vctx;
	if (!span_is(key, "ocspVals") || c->has_ocsp)
		return skip_item(r, depth);
	size_t save = r->i;
	chd h;
	uint64_t left;
	int rc = container_head(r, &h, 4, &left);
	if (rc == -2) {
		r->i = save;
		return skip_item(r, depth);
	}
	if (rc)
		return -1;
	int more, first = 1;
	while ((more = next_elem(r, &h, &left)) == 1) {
		size_t es = r->i;
		chd e;
		if (rd_head(r, &e))
			return -1;
		if (first && e.mt == 2) {
			if (rd_string(r, &e, &c->ocsp))
				return -1;
			c->has_ocsp = 1;
		} else {
			r->i = es;
			if (skip_item(r, depth + 1))
				return -1;
		}
		first = 0;
	}
	return more < 0 ? -1 : 0;
}

typedef struct label {
	int text;
	int64_t v;
	span t;
} label;

/* A header map (RFC 9052 3): int/text labels, no duplicates, the core
 * parameters typed as coset requires. `prot` selects which labels carry
 * the chain. */
static int rd_header(crd *r, cose *c, int prot, int depth)
{
	chd h;
	uint64_t left;
	int rc = container_head(r, &h, 5, &left);
	if (rc == -2)
		return rfail(r, "COSE header is not a map (byte %zu)", r->i);
	if (rc)
		return -1;
	label seen[COSE_MAX_HEADER_ENTRIES];
	int nseen = 0, iv = 0, piv = 0, more;
	while ((more = next_elem(r, &h, &left)) == 1) {
		chd k;
		label l = { 0 };
		if (rd_head(r, &k))
			return -1;
		if (k.mt == 0 || k.mt == 1) {
			if (rd_int(&k, &l.v))
				return rfail(r, "COSE label out of range (byte %zu)", r->i);
		} else if (k.mt == 3) {
			l.text = 1;
			if (rd_string(r, &k, &l.t))
				return -1;
		} else {
			return rfail(r, "COSE label is neither int nor text (byte %zu)", r->i);
		}
		if (nseen == COSE_MAX_HEADER_ENTRIES)
			return rfail(r, "COSE header has too many entries (byte %zu)", r->i);
		for (int i = 0; i < nseen; i++)
			if (seen[i].text == l.text &&
			    (l.text ? seen[i].t.n == l.t.n && !memcmp(seen[i].t.p, l.t.p, l.t.n)
			            : seen[i].v == l.v))
				return rfail(r, "COSE header repeats a label (byte %zu)", r->i);
		seen[nseen++] = l;

		size_t vs = r->i;
		chd v;
		if (!l.text && l.v == 1) { /* alg: int or text */
			if (rd_head(r, &v))
				return -1;
			if (v.mt == 0 || v.mt == 1) {
				if (rd_int(&v, &c->alg))
					return rfail(r, "COSE alg out of range (byte %zu)", r->i);
				c->alg_text = 0;
			} else if (v.mt == 3) {
				if (rd_string(r, &v, NULL))
					return -1;
				c->alg_text = 1;
			} else {
				return rfail(r, "COSE alg is neither int nor text (byte %zu)", r->i);
			}
			if (prot)
				c->has_alg = 1;
		} else if (!l.text && l.v == 2) { /* crit: non-empty array of labels */
			uint64_t cl;
			rc = container_head(r, &v, 4, &cl);
			if (rc == -2)
				return rfail(r, "COSE crit is not an array (byte %zu)", r->i);
			if (rc)
				return -1;
			int m, cnt = 0;
			while ((m = next_elem(r, &v, &cl)) == 1) {
				chd e;
				if (rd_head(r, &e))
					return -1;
				int64_t dummy;
				if (e.mt == 3) {
					if (rd_string(r, &e, NULL))
						return -1;
				} else if (rd_int(&e, &dummy)) {
					return rfail(r, "COSE crit entry is not a label (byte %zu)", r->i);
				}
				cnt++;
			}
			if (m < 0)
				return -1;
			if (cnt == 0)
				return rfail(r, "COSE crit is empty (byte %zu)", r->i);
		} else if (!l.text && l.v == 3) { /* content type */
			if (rd_head(r, &v))
				return -1;
			int64_t dummy;
			if (v.mt == 3) {
				span s;
				if (rd_string(r, &v, &s))
					return -1;
				size_t slashes = 0;
				for (size_t i = 0; i < s.n; i++)
					slashes += s.p[i] == '/';
				if (s.n == 0 || strchr(" \t\n\r\v\f", s.p[0]) ||
				    strchr(" \t\n\r\v\f", s.p[s.n - 1]) || slashes != 1)
					return rfail(r, "COSE content type malformed (byte %zu)", r->i);
			} else if (rd_int(&v, &dummy)) {
				return rfail(r, "COSE content type is neither int nor text (byte %zu)",
				             r->i);
			}
		} else if (!l.text && l.v >= 4 && l.v <= 6) { /* kid, IV, partial IV */
			if (rd_head(r, &v))
				return -1;
			span s;
			if (v.mt != 2)
				return rfail(r, "COSE kid/IV is not a byte string (byte %zu)", r->i);
			if (rd_string(r, &v, &s))
				return -1;
			if (s.n == 0)
				return rfail(r, "COSE kid/IV is empty (byte %zu)", r->i);
			iv |= l.v == 5;
			piv |= l.v == 6;
			if (iv && piv)
				return rfail(r, "COSE header has both IV and partial IV (byte %zu)", r->i);
		} else if (!l.text && l.v == 7) { /* counter signature(s) */
			uint64_t cl;
			rc = container_head(r, &v, 4, &cl);
			if (rc == -2)
				return rfail(r, "COSE counter signature is not an array (byte %zu)", r->i);
			if (rc)
				return -1;
			int m, cnt = 0;
			while ((m = next_elem(r, &v, &cl)) == 1) {
				if (skip_item(r, depth + 2))
					return -1;
				cnt++;
			}
			if (m < 0)
				return -1;
			if (cnt == 0)
				return rfail(r, "COSE counter signature is empty (byte %zu)", r->i);
		} else if (prot && ((!l.text && l.v == 33) || (l.text && span_is(l.t, "x5chain")))) {
			if (c->pchain.state == 0) {
				if (rd_chain(r, &c->pchain, depth + 1))
					return -1;
			} else if (skip_item(r, depth + 1)) {
				return -1;
			}
		} else if (!prot && l.text && span_is(l.t, "x5chain")) {
			if (rd_chain(r, &c->uchain, depth + 1))
				return -1;
		} else if (!prot && l.text && c->tst_kind == 0 &&
		           (span_is(l.t, "sigTst") || span_is(l.t, "sigTst2"))) {
			c->tst_kind = span_is(l.t, "sigTst2") ? 2 : 1;
			tst_ctx t = { c, 0, 0 };
			rc = rd_struct(r, depth + 1, tst_field, &t);
			if (rc == -1)
				return -1;
			c->tst_state = (rc == -2 || t.bad || !t.seen_tokens) ? -1 : 1;
		} else if (!prot && l.text && span_is(l.t, "rVals") && !c->has_ocsp) {
			rc = rd_struct(r, depth + 1, ocsp_field, c);
			if (rc == -1)
				return -1;
		} else {
			r->i = vs;
			if (skip_item(r, depth + 1))
				return -1;
		}
	}
	return more < 0 ? -1 : 0;
}

/* COSE_Sign1_Tagged = #6.18([protected: bstr, unprotected: map,
 * payload: bstr / nil, signature: bstr]) filling the input exactly. */
static int parse_cose(const uint8_t *b, size_t n, cose *c, char *why, size_t whylen, int *oom)
{
	crd r = { .p = b, .n = n, .arena = &c->arena };
	chd h;
	uint64_t left;
	int rc = -1;
	if (rd_head(&r, &h))
		goto out;
	if (h.mt != 6 || h.v != 18) {
		rfails(&r, "not a COSE_Sign1 (CBOR tag 18 expected)");
		goto out;
	}
	int hr = container_head(&r, &h, 4, &left);
	if (hr == -2) {
		rfails(&r, "COSE_Sign1 is not an array");
		goto out;
	}
	if (hr)
		goto out;
	if (!h.indef && h.v != 4) {
		rfails(&r, "COSE_Sign1 array does not have 4 items");
		goto out;
	}
	for (int item = 0; item < 4; item++) {
		if (next_elem(&r, &h, &left) != 1) {
			rfails(&r, "COSE_Sign1 array does not have 4 items");
			goto out;
		}
		chd e;
		size_t es = r.i;
		if (item == 1) {
			if (rd_header(&r, c, 0, 1))
				goto out;
			continue;
		}
		if (rd_head(&r, &e))
			goto out;
		if (item == 2) {
			if (e.mt == 7 && e.ai == 22)
				continue; /* nil: detached */
			if (e.mt != 2) {
				r.i = es;
				rfail(&r, "COSE payload is neither bytes nor nil (byte %zu)", r.i);
				goto out;
			}
			if (rd_string(&r, &e, NULL))
				goto out;
			continue;
		}
		if (e.mt != 2) {
			rfail(&r, item == 0 ? "COSE protected header is not a byte string (byte %zu)"
			                    : "COSE signature is not a byte string (byte %zu)", es);
			goto out;
		}
		if (rd_string(&r, &e, item == 0 ? &c->prot : &c->sig))
			goto out;
		if (item == 0 && c->prot.n > 0) {
			crd pr = { .p = c->prot.p, .n = c->prot.n, .arena = &c->arena };
			if (rd_header(&pr, c, 1, 1) || pr.i != pr.n) {
				if (!pr.why[0])
					snprintf(pr.why, sizeof pr.why, "bytes after the protected header");
				snprintf(r.why, sizeof r.why, "protected header: %.120s", pr.why);
				r.oom |= pr.oom;
				goto out;
			}
		}
	}
	if (h.indef) {
		if (!at_break(&r)) {
			rfails(&r, "COSE_Sign1 array does not have 4 items");
			goto out;
		}
		r.i++;
	}
	if (r.i != r.n) {
		rfail(&r, "%zu bytes after the COSE_Sign1", r.n - r.i);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		snprintf(why, whylen, "%s", r.why[0] ? r.why : "malformed");
	*oom = r.oom;
	return rc;
}

/* ------------------------------------------------ Sig_structure, verify */

static uint8_t *put_head(uint8_t *o, int mt, uint64_t v)
{
	uint8_t m = (uint8_t)(mt << 5);
	if (v < 24) {
		*o++ = m | (uint8_t)v;
	} else if (v <= 0xff) {
		*o++ = m | 24;
		*o++ = (uint8_t)v;
	} else if (v <= 0xffff) {
		*o++ = m | 25;
		*o++ = (uint8_t)(v >> 8);
		*o++ = (uint8_t)v;
	} else if (v <= 0xffffffffu) {
		*o++ = m | 26;
		for (int s = 24; s >= 0; s -= 8)
			*o++ = (uint8_t)(v >> s);
	} else {
		*o++ = m | 27;
		for (int s = 56; s >= 0; s -= 8)
			*o++ = (uint8_t)(v >> s);
	}
	return o;
}

/* [context, protected, h'', payload] with definite lengths (RFC 9052 4.4);
 * payload may be given in two parts (prefix + body) so a byte string can be
 * wrapped without copying. */
static uint8_t *sig_structure(const char *context, span prot, const uint8_t *pre, size_t prelen,
                              const uint8_t *body, size_t bodylen, size_t *outlen)
{
	size_t cl = strlen(context);
	size_t plen = prelen + bodylen;
	if (plen < bodylen || plen > SIZE_MAX - prot.n - cl - 64)
		return NULL;
	uint8_t *buf = malloc(plen + prot.n + cl + 64), *o = buf;
	if (!buf)
		return NULL;
	o = put_head(o, 4, 4);
	o = put_head(o, 3, cl);
	memcpy(o, context, cl);
	o += cl;
	o = put_head(o, 2, prot.n);
	if (prot.n)
		memcpy(o, prot.p, prot.n);
	o += prot.n;
	o = put_head(o, 2, 0);
	o = put_head(o, 2, plen);
	if (prelen)
		memcpy(o, pre, prelen);
	o += prelen;
	if (bodylen)
		memcpy(o, body, bodylen);
	o += bodylen;
	*outlen = (size_t)(o - buf);
	return buf;
}

static const char *alg_name(int64_t a)
{
	switch (a) {
	case ALG_PS256: return "Ps256";
	case ALG_PS384: return "Ps384";
	case ALG_PS512: return "Ps512";
	case ALG_ES256: return "Es256";
	case ALG_ES384: return "Es384";
	case ALG_ES512: return "Es512";
	case ALG_EDDSA: return "Ed25519";
	default: return NULL;
	}
}

/* A DER ECDSA-Sig-Value filling the whole signature: what an ES* signature
 * must not be (COSE wants r || s). */
static int is_der_ecdsa(span sig)
{
	const unsigned char *p = sig.p;
	if (sig.n == 0 || sig.n > LONG_MAX)
		return 0;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)sig.n);
	int full = s && (size_t)(p - sig.p) == sig.n;
	ECDSA_SIG_free(s);
	ERR_clear_error();
	return full;
}

static int verify_signature(int64_t alg, EVP_PKEY *pk, const uint8_t *tbs, size_t tbslen,
                            span sig, char *why, size_t whylen)
{
	const EVP_MD *md = NULL;
	int ec_nid = 0, pss = 0;
	switch (alg) {
	case ALG_ES256: md = EVP_sha256(); ec_nid = NID_X9_62_prime256v1; break;
	case ALG_ES384: md = EVP_sha384(); ec_nid = NID_secp384r1; break;
	case ALG_ES512: md = EVP_sha512(); ec_nid = NID_secp521r1; break;
	case ALG_PS256: md = EVP_sha256(); pss = 1; break;
	case ALG_PS384: md = EVP_sha384(); pss = 1; break;
	case ALG_PS512: md = EVP_sha512(); pss = 1; break;
	case ALG_EDDSA: break;
	default:
		snprintf(why, whylen, "unsupported algorithm");
		return 0;
	}
	int kt = EVP_PKEY_get_base_id(pk);
	unsigned char *der = NULL;
	const unsigned char *sp = sig.p;
	size_t sl = sig.n;
	ECDSA_SIG *es = NULL;
	if (ec_nid) {
		char group[64] = "";
		if (kt != EVP_PKEY_EC || !EVP_PKEY_get_group_name(pk, group, sizeof group, NULL) ||
		    OBJ_sn2nid(group) != ec_nid) {
			snprintf(why, whylen, "signing key is not on the algorithm's curve");
			ERR_clear_error();
			return 0;
		}
		size_t half = (size_t)(EVP_PKEY_get_bits(pk) + 7) / 8;
		if (sig.n != 2 * half) {
			snprintf(why, whylen, "ECDSA signature of %zu bytes, %zu expected", sig.n,
			         2 * half);
			return 0;
		}
		BIGNUM *r = BN_bin2bn(sig.p, (int)half, NULL);
		BIGNUM *s = BN_bin2bn(sig.p + half, (int)half, NULL);
		es = ECDSA_SIG_new();
		if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			snprintf(why, whylen, "out of memory");
			return 0;
		}
		int dl = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (dl <= 0) {
			snprintf(why, whylen, "cannot encode the ECDSA signature");
			return 0;
		}
		sp = der;
		sl = (size_t)dl;
	} else if (pss) {
		if (kt != EVP_PKEY_RSA && kt != EVP_PKEY_RSA_PSS) {
			snprintf(why, whylen, "signing key is not RSA");
			return 0;
		}
	} else if (kt != EVP_PKEY_ED25519) {
		snprintf(why, whylen, "signing key is not Ed25519");
		return 0;
	}
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;
	if (m && EVP_DigestVerifyInit(m, &pctx, md, NULL, pk) == 1 &&
	    (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
	              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0)))
		ok = EVP_DigestVerify(m, sp, sl, tbs, tbslen) == 1;
	if (!ok)
		snprintf(why, whylen, "signature does not verify");
	EVP_MD_CTX_free(m);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

/* ------------------------------------------------------------- the whole */

int prov_cose_verify(const uint8_t *cose_bytes, size_t cose_len, const uint8_t *claim,
                     size_t claim_len, int claim_version, const prov_trust *trust,
                     const char *url, prov_status_list *st, prov_sig_info *info,
                     veto_error *err)
{
	memset(info, 0, sizeof *info);
	cose c = { 0 };
	char why[256];
	int oom = 0;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL, *inter = NULL;
	prov_status_list tsl = { 0 };
	uint8_t *tbs = NULL, *cs = NULL;
	size_t tbslen = 0, cslen = 0;
	if (!claim)
		claim_len = 0;

	if (!cose_bytes) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.missing", url,
		                "the claim has no signature");
		goto done;
	}
	/* 1. The COSE_Sign1. */
	if (parse_cose(cose_bytes, cose_len, &c, why, sizeof why, &oom)) {
		if (oom)
			goto nomem;
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "the signature cannot be parsed: %s", why);
		goto done;
	}
	if (c.has_alg && !c.alg_text && alg_name(c.alg))
		snprintf(info->alg, sizeof info->alg, "%s", alg_name(c.alg));

	/* 2. The signer's chain: protected or (legacy) unprotected, not both. */
	const cert_list *cl = NULL;
	if (c.pchain.state != 0) {
		if (c.uchain.state == 1) {
			prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
			                "certificate chains in both the protected and the unprotected "
			                "header");
			goto done;
		}
		cl = &c.pchain;
	} else {
		cl = &c.uchain;
	}
	if (cl->state != 1) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "no signing certificate chain (x5chain)");
		goto done;
	}
	if (cl->too_many) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "x5chain holds more than %d certificates", COSE_MAX_CHAIN);
		goto done;
	}
	info->chain_len = cl->n;
	chain = sk_X509_new_null();
	inter = sk_X509_new_null();
	if (!chain || !inter)
		goto nomem;
	int chain_readable = 1;
	for (int i = 0; i < cl->n; i++) {
		const unsigned char *p = cl->c[i].p;
		X509 *x = cl->c[i].n <= LONG_MAX ? d2i_X509(NULL, &p, (long)cl->c[i].n) : NULL;
		ERR_clear_error();
		if (!x) {
			if (i == 0)
				break;
			chain_readable = 0;
			continue;
		}
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			goto nomem;
		}
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(inter, x))
			goto nomem;
	}
	if (!leaf) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "the signing certificate cannot be parsed");
		goto done;
	}
	prov_x509_subject_attr(leaf, NID_organizationName, 0, info->issuer, sizeof info->issuer);
	prov_x509_subject_attr(leaf, NID_commonName, 0, info->common_name,
	                       sizeof info->common_name);
	prov_x509_serial_dec(leaf, info->cert_serial, sizeof info->cert_serial);

	/* 4 (first, its result is needed by 3). The time-stamp, over the
	 * countersignature structure: v1 (sigTst) over the claim, v2
	 * (sigTst2) over the signature as a CBOR byte string. */
	prov_tst_result tr = { 0 };
	if (c.tst_kind && c.tst_state == 1 && c.ntokens > 1) {
		prov_status_add(&tsl, PROV_INFORMATIONAL, "timeStamp.malformed", url,
		                "more than one time-stamp token");
	} else if (c.tst_kind && c.tst_state == 1 && c.ntokens == 1) {
		if (c.tst_kind == 1) {
			cs = sig_structure("CounterSignature", c.prot, NULL, 0, claim, claim_len, &cslen);
		} else {
			uint8_t hb[9];
			size_t hl = (size_t)(put_head(hb, 2, c.sig.n) - hb);
			cs = sig_structure("CounterSignature", c.prot, hb, hl, c.sig.p, c.sig.n, &cslen);
		}
		if (!cs)
			goto nomem;
		prov_tsa_verify(c.token.p, c.token.n, cs, cslen, trust, url, &tsl, &tr);
	}
	/* When the time-stamp gives the signing time: c2pa-rs needs its
	 * authority trusted, except for 1.x claims (c2pa-rs's grace for
	 * legacy manifests). Otherwise checks happen at the current time. */
	int64_t signed_at = -1;
	if (tr.validated && (claim_version <= 1 || (tr.profile_ok && tr.trusted)))
		signed_at = tr.time;
	if (tr.validated && tr.profile_ok) {
		prov_rfc3339(tr.time, tr.nanos, info->time, sizeof info->time);
		snprintf(info->tsa, sizeof info->tsa, "%s", tr.tsa);
	}

	/* 3. The stapled OCSP response. */
	if (c.has_ocsp)
		prov_ocsp_check(c.ocsp.p, c.ocsp.n, chain, trust, signed_at, url, st, info->ocsp);
	for (size_t i = 0; i < tsl.n; i++)
		prov_status_add(st, tsl.v[i].kind, tsl.v[i].code, tsl.v[i].url, "%s",
		                tsl.v[i].explanation ? tsl.v[i].explanation : "");
	if (tsl.oom)
		goto nomem;

	/* 5. Algorithm, signature format, profile, trust, signature. */
	if (!c.has_alg || c.alg_text || !alg_name(c.alg)) {
		prov_status_add(st, PROV_FAILURE, "algorithm.unsupported", url,
		                "signature algorithm missing or not supported");
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "unsupported signature algorithm");
		goto done;
	}
	span sig = c.sig;
	if ((c.alg == ALG_ES256 || c.alg == ALG_ES384 || c.alg == ALG_ES512) && is_der_ecdsa(sig)) {
		prov_status_add(st, PROV_FAILURE, "signingCredential.invalid", url,
		                "ECDSA signature is DER-encoded (COSE requires r || s)");
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "ECDSA signature in the wrong format");
		goto done;
	}
	int64_t when = signed_at >= 0 ? signed_at : prov_cose_now();
	prov_x509_check_profile(leaf, PROV_EKU_SIGNER, when, url, st, NULL, 0);
	if (!trust || prov_trust_count(trust) == 0) {
		prov_status_add(st, PROV_FAILURE, "signingCredential.untrusted", url,
		                "signing certificate not checked: no trust list");
	} else if (!chain_readable) {
		prov_status_add(st, PROV_FAILURE, "signingCredential.untrusted", url,
		                "signing certificate untrusted: a chain certificate cannot be parsed");
	} else if (prov_x509_verify_chain(trust, leaf, inter, signed_at, why, sizeof why)) {
		info->trusted = 1;
		prov_status_add(st, PROV_SUCCESS, "signingCredential.trusted", url,
		                "signing certificate chains to the trust list");
	} else {
		prov_status_add(st, PROV_FAILURE, "signingCredential.untrusted", url,
		                "signing certificate untrusted: %s", why);
	}

	EVP_PKEY *pk = X509_get0_pubkey(leaf);
	ERR_clear_error();
	tbs = sig_structure("Signature1", c.prot, NULL, 0, claim, claim_len, &tbslen);
	if (!tbs)
		goto nomem;
	if (!pk) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "the signing certificate's key cannot be read");
		goto done;
	}
	if (!verify_signature(c.alg, pk, tbs, tbslen, sig, why, sizeof why)) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "claim signature invalid: %s", why);
		goto done;
	}
	info->signature_ok = 1;
	if (!info->issuer[0]) {
		/* c2pa-rs fails a signature whose certificate names no
		 * organization (it reports the organization as the issuer). */
		prov_status_add(st, PROV_FAILURE, "claimSignature.mismatch", url,
		                "the signature verifies but the signing certificate's subject "
		                "has no organization (O)");
		goto done;
	}
	prov_status_add(st, PROV_SUCCESS, "claimSignature.insideValidity", url,
	                "claim signature valid");
	prov_status_add(st, PROV_SUCCESS, "claimSignature.validated", url,
	                "claim signature valid");
done:
	free(tbs);
	free(cs);
	prov_status_free(&tsl);
	sk_X509_free(inter);
	sk_X509_pop_free(chain, X509_free);
	cose_free(&c);
	ERR_clear_error();
	if (st->oom)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory while checking %s", url);
	return VETO_OK;
nomem:
	st->oom = 1;
	goto done;
}
