/*
 * prov_xmp.c - the few XMP properties that speak to where an image came
 * from, and the IPTC digital source type vocabulary (see prov_meta.h).
 *
 * XMP is RDF/XML, so one property can be written three ways: as an
 * attribute of rdf:Description, as an element holding text (or an
 * rdf:Bag/Seq/Alt of rdf:li items), or as an element with rdf:resource.
 * Prefixes are arbitrary: only the namespace URI names a property, so expat
 * runs in namespace mode and every name arrives as "URI<sep>local" (the
 * separator is \x01, which no XML text can contain).
 *
 * XMP never needs a DTD, so a DOCTYPE stops the parse before any entity is
 * declared: no internal entity expansion (billion laughs), no external
 * entity (expat loads none anyway; parameter entities are off too).
 * Nesting, element count and size are capped; breaking a cap or malformed
 * XML ends the parse with a problem line, keeping what was found before.
 */
#include "prov_meta.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>

#define NS_SEP '\x01'

#define NS_IPTC_EXT "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
#define NS_DCTERMS  "http://purl.org/dc/terms/"
#define NS_XMP      "http://ns.adobe.com/xap/1.0/"
#define NS_PS       "http://ns.adobe.com/photoshop/1.0/"
#define NS_DC       "http://purl.org/dc/elements/1.1/"
#define NS_RDF      "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

enum { P_PLAIN = 0, P_DST = 1, P_AI = 2 };

static const struct prop {
	const char *ns, *local, *name;
	int how; /* P_DST: a digital source type; P_AI: non-empty means AI */
} props[] = {
	{NS_IPTC_EXT, "DigitalSourceType", "Iptc4xmpExt:DigitalSourceType", P_DST},
	/* its retired predecessor, which some writers (Google) still add */
	{NS_IPTC_EXT, "DigitalSourceFileType", "Iptc4xmpExt:DigitalSourceFileType", P_DST},
	{NS_IPTC_EXT, "AISystemUsed", "Iptc4xmpExt:AISystemUsed", P_AI},
	{NS_IPTC_EXT, "AISystemVersionUsed", "Iptc4xmpExt:AISystemVersionUsed", P_PLAIN},
	{NS_IPTC_EXT, "AIPromptInformation", "Iptc4xmpExt:AIPromptInformation", P_AI},
	{NS_IPTC_EXT, "AIPromptWriterName", "Iptc4xmpExt:AIPromptWriterName", P_PLAIN},
	{NS_DCTERMS, "provenance", "dcterms:provenance", P_PLAIN},
	{NS_XMP, "CreatorTool", "xmp:CreatorTool", P_PLAIN},
	{NS_PS, "Credit", "photoshop:Credit", P_PLAIN},
	{NS_DC, "creator", "dc:creator", P_PLAIN},
};
#define NPROPS (sizeof props / sizeof *props)

/* ------------------------------------------------ digital source types */

static const struct dst {
	const char *term;
	int cls;
} dst_terms[] = {
	{"trainedAlgorithmicMedia", PROV_DST_AI},
	{"compositeWithTrainedAlgorithmicMedia", PROV_DST_AI},
	{"compositeSynthetic", PROV_DST_AI},
	{"trainedAlgorithmicData", PROV_DST_AI}, /* C2PA's own term */
	{"algorithmicMedia", PROV_DST_ALGORITHMIC},
	{"digitalCapture", PROV_DST_NOT_AI},
	{"computationalCapture", PROV_DST_NOT_AI},
	{"negativeFilm", PROV_DST_NOT_AI},
	{"positiveFilm", PROV_DST_NOT_AI},
	{"print", PROV_DST_NOT_AI},
	{"minorHumanEdits", PROV_DST_NOT_AI},
	{"humanEdits", PROV_DST_NOT_AI},
	{"algorithmicallyEnhanced", PROV_DST_NOT_AI},
	{"softwareImage", PROV_DST_NOT_AI},
	{"digitalArt", PROV_DST_NOT_AI},
	{"digitalCreation", PROV_DST_NOT_AI},
	{"dataDrivenMedia", PROV_DST_NOT_AI},
	{"screenCapture", PROV_DST_NOT_AI},
	{"virtualRecording", PROV_DST_NOT_AI},
	{"composite", PROV_DST_NOT_AI},
	{"compositeCapture", PROV_DST_NOT_AI},
	{"empty", PROV_DST_NOT_AI}, /* C2PA: no content */
};

static int prefix_ci(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++) {
		char a = s[i], b = pre[i];
		if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
		if (b >= 'A' && b <= 'Z') b = (char)(b + 32);
		if (a != b)
			return 0;
	}
	return 1;
}

int prov_dst_classify(const char *s, const char **term)
{
	if (term)
		*term = NULL;
	if (!s)
		return PROV_DST_UNKNOWN;
	size_t n = strlen(s);
	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	static const char *const prefixes[] = {
		"http://cv.iptc.org/newscodes/digitalsourcetype/",
		"https://cv.iptc.org/newscodes/digitalsourcetype/",
		"http://c2pa.org/digitalsourcetype/",
		"https://c2pa.org/digitalsourcetype/",
		"digsrctype:",
	};
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		if (prefix_ci(s, n, prefixes[i])) {
			size_t k = strlen(prefixes[i]);
			s += k, n -= k;
			break;
		}
	}
	for (size_t i = 0; i < sizeof dst_terms / sizeof *dst_terms; i++) {
		if (strlen(dst_terms[i].term) == n && prefix_ci(s, n, dst_terms[i].term)) {
			if (term)
				*term = dst_terms[i].term;
			return dst_terms[i].cls;
		}
	}
	return PROV_DST_UNKNOWN;
}

int prov_dst_is_ai(const char *uri_or_term, const char **term)
{
	return prov_dst_classify(uri_or_term, term) == PROV_DST_AI;
}

const char *prov_dst_class_name(int cls)
{
	switch (cls) {
	case PROV_DST_AI: return "generative AI (trained model)";
	case PROV_DST_ALGORITHMIC: return "algorithmic (not trained)";
	case PROV_DST_NOT_AI: return "not AI";
	default: return "unknown";
	}
}

/* ---------------------------------------------------------------- parse */

typedef struct sbuf {
	char *p;
	size_t n, cap;
	int trunc;
} sbuf;

/* Appends up to the value cap; -1 for no memory. */
static int sbuf_add(sbuf *b, const char *s, size_t n)
{
	if (b->n + n > PROV_META_MAX_VALUE) {
		b->trunc = 1;
		n = PROV_META_MAX_VALUE - b->n;
	}
	if (!n)
		return 0;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
	return 0;
}

typedef struct xctx {
	XML_Parser p;
	prov_meta *m;
	int oom;
	const char *stop_why; /* set when a handler stopped the parse */
	unsigned depth;
	size_t nodes;
	int cap_prop;         /* property being captured (index in props) or -1 */
	unsigned cap_depth;
	sbuf val, cur;        /* the value so far; the text since the last tag */
} xctx;

static void stop(xctx *x, const char *why)
{
	if (!x->stop_why)
		x->stop_why = why;
	XML_StopParser(x->p, XML_FALSE);
}

/* Which property a namespaced name "URI\x01local" is, or -1. */
static int match(const char *name)
{
	const char *sep = strchr(name, NS_SEP);
	if (!sep)
		return -1;
	size_t nsn = (size_t)(sep - name);
	for (size_t i = 0; i < NPROPS; i++)
		if (strlen(props[i].ns) == nsn && !memcmp(name, props[i].ns, nsn) &&
		    !strcmp(sep + 1, props[i].local))
			return (int)i;
	return -1;
}

static int is_rdf(const char *name, const char *local)
{
	size_t k = strlen(NS_RDF);
	return !strncmp(name, NS_RDF, k) && name[k] == NS_SEP && !strcmp(name + k + 1, local);
}

static void emit(xctx *x, int prop, const char *v, size_t n, int trunc)
{
	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (!n || x->oom)
		return;
	const struct prop *pr = &props[prop];
	int ai = pr->how == P_AI;
	int cls = PROV_DST_UNKNOWN;
	char *dj = NULL;
	if (pr->how == P_DST) {
		char tmp[512];
		const char *term = NULL;
		if (n < sizeof tmp) {
			memcpy(tmp, v, n);
			tmp[n] = 0;
			cls = prov_dst_classify(tmp, &term);
		}
		ai = cls == PROV_DST_AI;
		char buf[256];
		snprintf(buf, sizeof buf, "{\"term\":%s%s%s,\"class\":\"%s\"}", term ? "\"" : "",
		         term ? term : "null", term ? "\"" : "", prov_dst_class_name(cls));
		dj = strdup(buf);
		if (!dj) {
			x->oom = 1;
			XML_StopParser(x->p, XML_FALSE);
			return;
		}
	}
	prov_meta_item *it;
	if (prov_meta_push(x->m, "xmp", pr->name, (const uint8_t *)v, n, "xmp", ai, dj, &it) < 0) {
		x->oom = 1;
		XML_StopParser(x->p, XML_FALSE);
		return;
	}
	if (it) {
		it->dst = cls;
		it->truncated |= trunc;
	}
}

/* Moves the pending text (if any besides spaces) into the value. */
static void flush_cur(xctx *x)
{
	const char *s = x->cur.p;
	size_t n = x->cur.n;
	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, n--;
	if (n) {
		if ((x->val.n && sbuf_add(&x->val, "; ", 2) < 0) || sbuf_add(&x->val, s, n) < 0) {
			x->oom = 1;
			XML_StopParser(x->p, XML_FALSE);
		}
		x->val.trunc |= x->cur.trunc;
	}
	x->cur.n = 0;
	x->cur.trunc = 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xctx *x = ud;
	x->depth++;
	if (x->depth > PROV_MAX_DEPTH) {
		stop(x, "nesting deeper than the cap");
		return;
	}
	if (++x->nodes > PROV_META_MAX_XML_NODES) {
		stop(x, "more elements than the cap");
		return;
	}
	const char *resource = NULL;
	for (size_t i = 0; atts[i] && atts[i + 1]; i += 2) {
		if (is_rdf(atts[i], "resource"))
			resource = atts[i + 1];
		int pi = match(atts[i]);
		if (pi >= 0)
			emit(x, pi, atts[i + 1], strlen(atts[i + 1]), 0);
		if (x->oom)
			return;
	}
	if (x->cap_prop >= 0) {
		x->cur.n = 0; /* indentation between child elements */
		x->cur.trunc = 0;
	} else {
		int pi = match(name);
		if (pi < 0)
			return;
		x->cap_prop = pi;
		x->cap_depth = x->depth;
		x->val.n = x->cur.n = 0;
		x->val.trunc = x->cur.trunc = 0;
	}
	if (resource) {
		if ((x->val.n && sbuf_add(&x->val, "; ", 2) < 0) ||
		    sbuf_add(&x->val, resource, strlen(resource)) < 0) {
			x->oom = 1;
			XML_StopParser(x->p, XML_FALSE);
		}
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	xctx *x = ud;
	(void)name;
	if (x->cap_prop >= 0 && x->depth >= x->cap_depth) {
		flush_cur(x);
		if (x->depth == x->cap_depth) {
			emit(x, x->cap_prop, x->val.p ? x->val.p : "", x->val.n, x->val.trunc);
			x->cap_prop = -1;
		}
	}
	if (x->depth)
		x->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	xctx *x = ud;
	if (x->cap_prop < 0 || len <= 0)
		return;
	if (sbuf_add(&x->cur, s, (size_t)len) < 0) {
		x->oom = 1;
		XML_StopParser(x->p, XML_FALSE);
	}
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	stop(ud, "a DOCTYPE (XMP has none; entities are refused)");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
	(void)pubid, (void)notation;
	stop(ud, "an entity declaration (refused)");
}

int prov_meta_xmp(const char *xmp, size_t len, prov_meta *out, veto_error *err)
{
	if (!xmp)
		return VETO_OK;
	/* packets are often padded with NULs or spaces after the trailer */
	while (len && (xmp[len - 1] == 0 || xmp[len - 1] == ' ' || xmp[len - 1] == '\n' ||
	               xmp[len - 1] == '\r' || xmp[len - 1] == '\t'))
		len--;
	if (!len)
		return VETO_OK;
	if (len > PROV_MAX_TEXT) {
		if (prov_meta_problem(out, "xmp: packet of %zu bytes is over the %u-byte cap; not read",
		                      len, PROV_MAX_TEXT) < 0)
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory reading XMP");
		return VETO_OK;
	}
	xctx x;
	memset(&x, 0, sizeof x);
	x.m = out;
	x.cap_prop = -1;
	x.p = XML_ParserCreateNS(NULL, NS_SEP);
	if (!x.p)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory reading XMP");
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, on_start, on_end);
	XML_SetCharacterDataHandler(x.p, on_text);
	XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
	XML_SetEntityDeclHandler(x.p, on_entity);
	XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_NEVER);
	enum XML_Status st = XML_Parse(x.p, xmp, (int)len, XML_TRUE);
	int rc = VETO_OK;
	if (x.oom) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory reading XMP");
	} else if (st != XML_STATUS_OK) {
		int r;
		if (x.stop_why)
			r = prov_meta_problem(out, "xmp: parse stopped at line %lu: %s",
			                      (unsigned long)XML_GetCurrentLineNumber(x.p), x.stop_why);
		else
			r = prov_meta_problem(out, "xmp: not well-formed XML: %s at line %lu column %lu",
			                      XML_ErrorString(XML_GetErrorCode(x.p)),
			                      (unsigned long)XML_GetCurrentLineNumber(x.p),
			                      (unsigned long)XML_GetCurrentColumnNumber(x.p));
		if (r < 0)
			rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory reading XMP");
	}
	XML_ParserFree(x.p);
	free(x.val.p);
	free(x.cur.p);
	return rc;
}
