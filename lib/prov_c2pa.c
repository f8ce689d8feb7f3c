/*
 * prov_c2pa.c - C2PA manifest store validation (see prov_c2pa.h).
 *
 * The walk follows c2pa-rs's order and rules, because a report is only
 * useful to a trust and safety team if it agrees with the reference
 * implementation code for code:
 *   - the active manifest is the last one in the store;
 *   - for each manifest reached (the active one, then every manifest an
 *     ingredient assertion points to, depth first, each once): the claim
 *     (c2pa.claim or c2pa.claim.v2, CBOR), its signature (prov_cose.c),
 *     every hashed URI in the claim against the assertion box it names
 *     (the hash covers the assertion superbox's payload: its description
 *     box and content boxes, not its own 8-byte header), assertions in the
 *     store the claim does not list (assertion.undeclared);
 *   - the hard binding only for the manifest that binds the asset: the
 *     active one, or for an update manifest (c2um) its parentOf
 *     ingredient's manifest, with the exclusion that starts where the store
 *     starts widened to the whole store, as c2pa-rs does;
 *   - ingredient manifests: the c2pa_manifest hashed URI against the
 *     manifest superbox (C2PA 1.3+) or, failing that, the claim bytes
 *     (older writers); then the ingredient manifest itself is validated.
 * Statuses found while validating an ingredient go to that ingredient's
 * "ingredientDeltas" group; those the ingredient assertion already recorded
 * when it was made (validationStatus / validationResults) are known history,
 * not news, and are dropped, as c2pa-rs drops them. The state is c2pa-rs's
 * rule: Invalid unless the active claim signature validated inside its
 * validity and nothing failed (signingCredential.untrusted tolerated);
 * Trusted when the signer chained to the trust list. veto calls these
 * "invalid", "untrusted-but-intact" and "valid".
 *
 * BMFF hard bindings (c2pa.hash.bmff, .v2, .v3) are checked by
 * prov_bmffhash.c for whole files; merkle trees of fragmented media are not.
 * Not validated (reported as such in "not_validated"): merkle / initHash
 * bindings of fragmented BMFF, c2pa.hash.boxes, c2pa.hash.collection.data,
 * redactions, CAWG identity assertions, action/ingredient cross-checks.
 */
#include "prov_c2pa.h"
#include "prov_bmffhash.h"
#include "prov_cbor.h"
#include "prov_jumbf.h"
#include "prov_meta.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define MAX_MANIFESTS 1024
#define MAX_ASSERTIONS 10000
#define MAX_GROUPS 1024
#define MAX_JSON_DEPTH 24

typedef struct manifest {
	const prov_jbox *box;
	const char *label;
	int update;                  /* c2um */
	int visited;
	int claim_version;
	const char *claim_label;
	const uint8_t *claim;        /* claim CBOR bytes */
	size_t claim_len;
	cbor_item_t *cl;             /* parsed claim, NULL if unreadable */
	const prov_jbox *astore;     /* c2pa.assertions */
	prov_sig_info sig;
	int have_sig;
	json_t *json;                /* its entry in "manifests" */
} manifest;

typedef struct group {
	char *uri;                   /* ingredient assertion URI */
	prov_status_list st;
	json_t *recorded;            /* statuses the ingredient recorded, absolute */
} group;

typedef struct ctx {
	const prov_c2pa_input *in;
	prov_jbox *root;
	manifest *m;
	size_t nm;
	prov_status_list active;
	group *g;
	size_t ng;
	json_t *ai;                  /* AI declarations found in actions */
	json_t *not_validated;
	json_t *history;             /* ingredient failures recorded at ingest */
	int oom;
} ctx;

/* ---------------------------------------------------------------- helpers */

static prov_status_list *cur(ctx *c, int grp)
{
	return grp < 0 ? &c->active : &c->g[grp].st;
}

static int digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out, unsigned *olen)
{
	return EVP_Digest(p, n, out, olen, md, NULL) == 1 ? 0 : -1;
}

static json_t *b64(const uint8_t *p, size_t n)
{
	if (n > (1u << 20))
		return json_sprintf("<%zu bytes>", n);
	size_t cap = 4 * ((n + 2) / 3) + 1;
	char *o = malloc(cap);
	if (!o)
		return NULL;
	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	json_t *j = json_string(o);
	free(o);
	return j;
}

/* CBOR to JSON for the report: byte strings become base64 (or a size when
 * large), tags are looked through, non-text map keys are stringified. */
static json_t *cbor_json(const cbor_item_t *it, int depth)
{
	if (!it || depth > MAX_JSON_DEPTH)
		return json_null();
	it = prov_cbor_untag(it);
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT: {
		int64_t v;
		if (prov_cbor_int(it, &v) == 0)
			return json_integer(v);
		return json_string("<integer out of range>");
	}
	case CBOR_TYPE_BYTESTRING: {
		size_t n;
		const uint8_t *p = prov_cbor_bytes(it, &n);
		if (!p)
			return json_string("<chunked bytes>");
		if (n > 256)
			return json_sprintf("<%zu bytes>", n);
		return b64(p, n);
	}
	case CBOR_TYPE_STRING: {
		if (!cbor_string_is_definite(it))
			return json_string("<chunked text>");
		return json_stringn_nocheck((const char *)cbor_string_handle(it), cbor_string_length(it));
	}
	case CBOR_TYPE_ARRAY: {
		json_t *a = json_array();
		size_t n = cbor_array_size(it);
		cbor_item_t **h = cbor_array_handle(it);
		for (size_t i = 0; a && i < n; i++)
			json_array_append_new(a, cbor_json(h[i], depth + 1));
		return a;
	}
	case CBOR_TYPE_MAP: {
		json_t *o = json_object();
		size_t n = cbor_map_size(it);
		struct cbor_pair *pr = cbor_map_handle(it);
		for (size_t i = 0; o && i < n; i++) {
			char key[64];
			const cbor_item_t *k = prov_cbor_untag(pr[i].key);
			char *ks = prov_cbor_strdup(k);
			if (!ks) {
				int64_t v;
				if (prov_cbor_int(k, &v) == 0)
					snprintf(key, sizeof key, "%lld", (long long)v);
				else
					snprintf(key, sizeof key, "<key %zu>", i);
			}
			json_object_set_new(o, ks ? ks : key, cbor_json(pr[i].value, depth + 1));
			free(ks);
		}
		return o;
	}
	case CBOR_TYPE_FLOAT_CTRL:
		if (cbor_float_ctrl_is_ctrl(it)) {
			uint8_t v = cbor_ctrl_value(it);
			if (v == CBOR_CTRL_TRUE) return json_true();
			if (v == CBOR_CTRL_FALSE) return json_false();
			return json_null();
		}
		return json_real(cbor_float_get_float(it));
	default:
		return json_null();
	}
}

static json_t *status_json(const prov_status *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "code", json_string(s->code));
	if (s->url)
		json_object_set_new(o, "url", json_string(s->url));
	if (s->explanation)
		json_object_set_new(o, "explanation", json_string(s->explanation));
	return o;
}

static json_t *codes_json(const prov_status_list *l)
{
	static const char *names[] = {"success", "informational", "failure"};
	json_t *o = json_object();
	for (int k = 0; o && k < 3; k++) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < l->n; i++)
			if (l->v[i].kind == k)
				json_array_append_new(a, status_json(&l->v[i]));
		json_object_set_new(o, names[k], a);
	}
	return o;
}

static manifest *find_manifest(ctx *c, const char *label)
{
	for (size_t i = 0; i < c->nm; i++)
		if (!strcmp(c->m[i].label, label))
			return &c->m[i];
	return NULL;
}

/* "self#jumbf=/c2pa/<m>/c2pa.assertions/<a>" or "self#jumbf=c2pa.assertions/<a>":
 * the manifest label (empty when relative) and the assertion label. */
static int split_uri(const char *url, char *man, size_t mlen, char *as, size_t alen)
{
	const char *p = url;
	if (!strncmp(p, "self#jumbf=", 11))
		p += 11;
	man[0] = 0;
	/* Some writers drop the leading slash ("self#jumbf=c2pa/<m>/..."); c2pa-rs reads both. */
	if (!strncmp(p, "/c2pa/", 6) || !strncmp(p, "c2pa/", 5)) {
		p += *p == '/' ? 6 : 5;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n >= mlen)
			return -1;
		memcpy(man, p, n);
		man[n] = 0;
		p = e ? e + 1 : p + n;
	} else if (*p == '/') {
		return -1;
	}
	if (!strncmp(p, "c2pa.assertions/", 16)) {
		p += 16;
	} else {
		if (alen)
			as[0] = 0;
		return *p ? -1 : 0;
	}
	if (strlen(p) >= alen || strchr(p, '/'))
		return -1;
	strcpy(as, p);
	return 0;
}

/* The manifest label of "self#jumbf=/c2pa/<m>[/...]" (-1 if none). */
static int manifest_of_uri(const char *url, char *man, size_t mlen)
{
	const char *p = url;
	if (!strncmp(p, "self#jumbf=", 11))
		p += 11;
	if (strncmp(p, "/c2pa/", 6) && strncmp(p, "c2pa/", 5))
		return -1;
	p += *p == '/' ? 6 : 5;
	const char *e = strchr(p, '/');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	if (n == 0 || n >= mlen)
		return -1;
	memcpy(man, p, n);
	man[n] = 0;
	return 0;
}

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The assertion label without the "__N" instance suffix. */
static void base_label(const char *l, char *out, size_t n)
{
	snprintf(out, n, "%s", l);
	char *u = strstr(out, "__");
	if (u && u[2] >= '0' && u[2] <= '9')
		*u = 0;
}

static const cbor_item_t *assertion_cbor(const prov_jbox *a, cbor_item_t **own)
{
	*own = NULL;
	const prov_jbox *cb = prov_jumbf_content(a, PROV_FOURCC('c', 'b', 'o', 'r'));
	if (!cb)
		return NULL;
	char why[160];
	*own = prov_cbor_load(cb->payload, cb->payload_len, why, sizeof why);
	return *own;
}

/* ------------------------------------------------------------ validation */

static void validate_manifest(ctx *c, manifest *m, int binding, int grp, int depth);

static int group_for(ctx *c, const char *uri)
{
	for (size_t i = 0; i < c->ng; i++)
		if (!strcmp(c->g[i].uri, uri))
			return (int)i;
	if (c->ng >= MAX_GROUPS)
		return -1;
	group *g = realloc(c->g, (c->ng + 1) * sizeof *g);
	if (!g) {
		c->oom = 1;
		return -1;
	}
	c->g = g;
	memset(&g[c->ng], 0, sizeof *g);
	g[c->ng].uri = strdup(uri);
	g[c->ng].recorded = json_array();
	return (int)c->ng++;
}

/* Adds the statuses an ingredient recorded at ingest, made absolute to
 * the ingredient manifest's label, to the group's "already known" list. */
static void record_known(ctx *c, int grp, const cbor_item_t *list, const char *mlabel)
{
	list = prov_cbor_untag(list);
	if (grp < 0 || !list || !cbor_isa_array(list))
		return;
	size_t n = cbor_array_size(list);
	cbor_item_t **h = cbor_array_handle(list);
	for (size_t i = 0; i < n && i < 10000; i++) {
		char *code = prov_cbor_strdup(prov_cbor_get(h[i], "code"));
		char *url = prov_cbor_strdup(prov_cbor_get(h[i], "url"));
		if (code) {
			char abs[1024];
			if (url && mlabel && starts(url, "self#jumbf=") && url[11] != '/')
				snprintf(abs, sizeof abs, "self#jumbf=/c2pa/%s/%s", mlabel, url + 11);
			else
				snprintf(abs, sizeof abs, "%s", url ? url : "");
			json_array_append_new(c->g[grp].recorded, json_pack("{s:s,s:s}", "code", code, "url", abs));
		}
		free(code);
		free(url);
	}
}

static void record_known_results(ctx *c, int grp, const cbor_item_t *vr, const char *mlabel)
{
	const cbor_item_t *am = prov_cbor_get(vr, "activeManifest");
	static const char *k[] = {"success", "informational", "failure"};
	for (int i = 0; am && i < 3; i++)
		record_known(c, grp, prov_cbor_get(am, k[i]), mlabel);
	const cbor_item_t *d = prov_cbor_untag(prov_cbor_get(vr, "ingredientDeltas"));
	if (d && cbor_isa_array(d)) {
		size_t n = cbor_array_size(d);
		for (size_t j = 0; j < n && j < 1000; j++) {
			const cbor_item_t *vd = prov_cbor_get(cbor_array_handle(d)[j], "validationDeltas");
			for (int i = 0; vd && i < 3; i++)
				record_known(c, grp, prov_cbor_get(vd, k[i]), mlabel);
		}
	}
}

static void check_ingredient(ctx *c, manifest *m, const prov_jbox *a, int grp_in, int depth,
                             json_t *ingredients)
{
	char uri[1024];
	snprintf(uri, sizeof uri, "self#jumbf=/c2pa/%s/c2pa.assertions/%s", m->label, a->label);
	int grp = grp_in < 0 ? group_for(c, uri) : grp_in;
	prov_status_list *st = cur(c, grp);
	cbor_item_t *own;
	const cbor_item_t *ing = assertion_cbor(a, &own);
	json_t *ij = json_object();
	json_object_set_new(ij, "label", json_string(a->label));
	if (!ing) {
		prov_status_add(st, PROV_FAILURE, "assertion.ingredient.malformed", uri,
		                "ingredient assertion could not be parsed");
		json_array_append_new(ingredients, ij);
		return;
	}
	char *title = prov_cbor_strdup(prov_cbor_get(ing, "dc:title"));
	if (!title)
		title = prov_cbor_strdup(prov_cbor_get(ing, "title"));
	char *fmt = prov_cbor_strdup(prov_cbor_get(ing, "dc:format"));
	char *rel = prov_cbor_strdup(prov_cbor_get(ing, "relationship"));
	if (title) json_object_set_new(ij, "title", json_string(title));
	if (fmt) json_object_set_new(ij, "format", json_string(fmt));
	json_object_set_new(ij, "relationship", json_string(rel ? rel : "componentOf"));
	const cbor_item_t *ref = prov_cbor_get(ing, "activeManifest");
	if (!ref)
		ref = prov_cbor_get(ing, "c2pa_manifest");
	char *rurl = ref ? prov_cbor_strdup(prov_cbor_get(ref, "url")) : NULL;
	if (!rurl) {
		prov_status_add(st, PROV_INFORMATIONAL, "ingredient.unknownProvenance", uri,
		                "%s: ingredient does not have provenance", title ? title : "ingredient");
	} else {
		char ml[512] = "";
		manifest *im = NULL;
		if (manifest_of_uri(rurl, ml, sizeof ml) == 0)
			im = find_manifest(c, ml);
		json_object_set_new(ij, "active_manifest", json_string(ml));
		const cbor_item_t *vs = prov_cbor_get(ing, "validationStatus");
		if (vs)
			record_known(c, grp, vs, im ? im->label : NULL);
		const cbor_item_t *vr = prov_cbor_get(ing, "validationResults");
		if (vr)
			record_known_results(c, grp, vr, im ? im->label : NULL);
		if (vs || vr)
			json_object_set_new(ij, "recorded_validation", cbor_json(vs ? vs : vr, 0));
		if (!im) {
			prov_status_add(st, PROV_FAILURE, "ingredient.manifest.missing", rurl,
			                "ingredient manifest not found in the store");
		} else {
			size_t hl = 0;
			const uint8_t *h = prov_cbor_bytes(prov_cbor_get(ref, "hash"), &hl);
			char *alg = prov_cbor_strdup(prov_cbor_get(ref, "alg"));
			char *malg = m->cl ? prov_cbor_strdup(prov_cbor_get(m->cl, "alg")) : NULL;
			const EVP_MD *md = prov_md(alg ? alg : malg ? malg : "sha256");
			uint8_t d[64];
			unsigned dl = 0;
			int ok = 0;
			if (h && md && digest(md, im->box->payload, im->box->payload_len, d, &dl) == 0 &&
			    dl == hl && !memcmp(d, h, hl)) {
				prov_status_add(st, PROV_SUCCESS, "ingredient.manifest.validated", rurl,
				                "ingredient hash matched");
				ok = 1;
			} else if (h && md && im->claim &&
			           digest(md, im->claim, im->claim_len, d, &dl) == 0 && dl == hl &&
			           !memcmp(d, h, hl)) {
				ok = 1; /* pre-1.3 hash over the claim: c2pa-rs logs no success */
			}
			if (!ok)
				prov_status_add(st, PROV_FAILURE, "ingredient.manifest.mismatch", rurl,
				                "ingredient hash does not match found ingredient");
			free(alg);
			free(malg);
			validate_manifest(c, im, 0, grp, depth + 1);
		}
	}
	json_array_append_new(ingredients, ij);
	free(title);
	free(fmt);
	free(rel);
	free(rurl);
	if (own)
		cbor_decref(&own);
}

/* digitalSourceType in c2pa.actions[.v2]: the action's own field and
 * vendor parameters whose key ends in "digitalSourceType". */
static void note_dst(ctx *c, manifest *m, const char *alabel, const char *action,
                     const char *value, const char *field, const char *agent)
{
	const char *term = NULL;
	int ai = prov_dst_is_ai(value, &term);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "manifest", m->label, "assertion", alabel,
	                      "action", action ? action : "", "field", field, "digitalSourceType", value,
	                      "ai", ai > 0);
	if (!o)
		return;
	if (term)
		json_object_set_new(o, "term", json_string(term));
	if (agent)
		json_object_set_new(o, "softwareAgent", json_string(agent));
	json_array_append_new(c->ai, o);
}

static char *agent_name(const cbor_item_t *sa)
{
	char *s = prov_cbor_strdup(sa);
	if (!s && sa)
		s = prov_cbor_strdup(prov_cbor_get(sa, "name"));
	return s;
}

static void scan_actions(ctx *c, manifest *m, const prov_jbox *a)
{
	cbor_item_t *own;
	const cbor_item_t *ac = assertion_cbor(a, &own);
	const cbor_item_t *list = prov_cbor_untag(prov_cbor_get(ac, "actions"));
	if (list && cbor_isa_array(list)) {
		size_t n = cbor_array_size(list);
		for (size_t i = 0; i < n && i < MAX_ASSERTIONS; i++) {
			const cbor_item_t *x = cbor_array_handle(list)[i];
			char *action = prov_cbor_strdup(prov_cbor_get(x, "action"));
			char *agent = agent_name(prov_cbor_get(x, "softwareAgent"));
			char *dst = prov_cbor_strdup(prov_cbor_get(x, "digitalSourceType"));
			if (dst)
				note_dst(c, m, a->label, action, dst, "digitalSourceType", agent);
			const cbor_item_t *pm = prov_cbor_untag(prov_cbor_get(x, "parameters"));
			if (pm && cbor_isa_map(pm)) {
				size_t np = cbor_map_size(pm);
				for (size_t j = 0; j < np; j++) {
					char *k = prov_cbor_strdup(cbor_map_handle(pm)[j].key);
					size_t kl = k ? strlen(k) : 0;
					if (k && kl > 17 && !strcmp(k + kl - 17, "digitalSourceType")) {
						char *v = prov_cbor_strdup(cbor_map_handle(pm)[j].value);
						char field[300];
						snprintf(field, sizeof field, "parameters.%s", k);
						if (v)
							note_dst(c, m, a->label, action, v, field, agent);
						free(v);
					}
					free(k);
				}
			}
			free(action);
			free(agent);
			free(dst);
		}
	}
	if (own)
		cbor_decref(&own);
}

/* Exclusion ranges out of a c2pa.hash.data assertion, sorted by start. */
typedef struct range { uint64_t start, len; } range;

static int cmp_range(const void *a, const void *b)
{
	const range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void check_data_hash(ctx *c, manifest *m, const prov_jbox *a, int grp, int update_adjust)
{
	char uri[1024];
	snprintf(uri, sizeof uri, "self#jumbf=/c2pa/%s/c2pa.assertions/%s", m->label, a->label);
	prov_status_list *st = cur(c, grp);
	cbor_item_t *own;
	const cbor_item_t *dh = assertion_cbor(a, &own);
	if (!dh) {
		prov_status_add(st, PROV_FAILURE, "assertion.dataHash.malformed", uri,
		                "c2pa.hash.data is not readable CBOR");
		return;
	}
	if (!c->in->asset) {
		json_array_append_new(c->not_validated, json_pack("{s:s,s:s}", "what", uri, "why",
		                      "no asset bytes were given with this manifest store"));
		if (own)
			cbor_decref(&own);
		return;
	}
	size_t hl = 0;
	const uint8_t *h = prov_cbor_bytes(prov_cbor_get(dh, "hash"), &hl);
	char *alg = prov_cbor_strdup(prov_cbor_get(dh, "alg"));
	char *calg = m->cl ? prov_cbor_strdup(prov_cbor_get(m->cl, "alg")) : NULL;
	const EVP_MD *md = prov_md(alg ? alg : calg ? calg : "sha256");
	range *r = NULL;
	size_t nr = 0;
	const cbor_item_t *ex = prov_cbor_untag(prov_cbor_get(dh, "exclusions"));
	int bad = !h || !md;
	if (ex && cbor_isa_array(ex)) {
		size_t n = cbor_array_size(ex);
		r = calloc(n ? n : 1, sizeof *r);
		if (!r) {
			c->oom = 1;
			bad = 1;
			n = 0;
		}
		for (size_t i = 0; i < n; i++) {
			int64_t s, l;
			const cbor_item_t *e = cbor_array_handle(ex)[i];
			if (prov_cbor_int(prov_cbor_get(e, "start"), &s) || prov_cbor_int(prov_cbor_get(e, "length"), &l) ||
			    s < 0 || l < 0) {
				bad = 1;
				break;
			}
			r[nr].start = (uint64_t)s;
			r[nr].len = (uint64_t)l;
			nr++;
		}
	}
	if (!md) {
		prov_status_add(st, PROV_FAILURE, "algorithm.unsupported", uri,
		                "data hash algorithm %s is not supported", alg ? alg : calg ? calg : "(none)");
		goto out;
	}
	if (bad) {
		prov_status_add(st, PROV_FAILURE, "assertion.dataHash.malformed", uri,
		                "c2pa.hash.data lacks a hash or has a malformed exclusion");
		goto out;
	}
	if (nr)
		qsort(r, nr, sizeof *r, cmp_range);
	if (update_adjust && c->in->store_range_len) {
		/* An update manifest grew the store: the exclusion that started at
		 * the store now covers all of it; later ones shift by the growth. */
		uint64_t s0 = c->in->store_range_start, adj = 0;
		for (size_t i = 0; i < nr; i++)
			if (r[i].start == s0) {
				adj = c->in->store_range_len > r[i].len ? c->in->store_range_len - r[i].len : 0;
				r[i].len = c->in->store_range_len;
			}
		for (size_t i = 0; adj && i < nr; i++)
			if (r[i].start > s0)
				r[i].start += adj;
	}
	if (nr > 1)
		prov_status_add(st, PROV_INFORMATIONAL, "assertion.dataHash.additionalExclusionsPresent", uri,
		                "extra data hash exclusions found");
	uint64_t alen = c->in->asset_len;
	for (size_t i = 0; i < nr; i++)
		if (r[i].start > alen || r[i].len > alen - r[i].start) {
			prov_status_add(st, PROV_FAILURE, "assertion.dataHash.mismatch", uri,
			                "asset hash error: exclusion %llu+%llu runs past the end of the %llu-byte file",
			                (unsigned long long)r[i].start, (unsigned long long)r[i].len,
			                (unsigned long long)alen);
			goto out;
		}
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	uint8_t d[64];
	unsigned dl = 0;
	uint64_t pos = 0;
	int ok = x && EVP_DigestInit_ex(x, md, NULL) == 1;
	for (size_t i = 0; ok && i <= nr; i++) {
		uint64_t end = i < nr ? r[i].start : alen;
		if (end > pos)
			ok = EVP_DigestUpdate(x, c->in->asset + pos, (size_t)(end - pos)) == 1;
		if (i < nr && r[i].start + r[i].len > pos)
			pos = r[i].start + r[i].len;
	}
	ok = ok && EVP_DigestFinal_ex(x, d, &dl) == 1;
	EVP_MD_CTX_free(x);
	if (!ok) {
		c->oom = 1;
		goto out;
	}
	if (dl == hl && !memcmp(d, h, hl))
		prov_status_add(st, PROV_SUCCESS, "assertion.dataHash.match", uri, "data hash valid");
	else
		prov_status_add(st, PROV_FAILURE, "assertion.dataHash.mismatch", uri,
		                "asset hash error, name: %s, error: hash verification( Hashes do not match )",
		                "jumbf manifest");
out:
	free(r);
	free(alg);
	free(calg);
	if (own)
		cbor_decref(&own);
}

/* c2pa.hash.bmff, .v2, .v3 (prov_bmffhash.c). Fragmented media whose init
 * segment carries only an initHash / merkle binding cannot be checked
 * without its fragments: that is "not validated", not a mismatch (c2pa-rs,
 * given the init segment alone, reports a mismatch). */
static void check_bmff_hash(ctx *c, manifest *m, const prov_jbox *a, int grp)
{
	char uri[1024], why[512];
	snprintf(uri, sizeof uri, "self#jumbf=/c2pa/%s/c2pa.assertions/%s", m->label, a->label);
	prov_status_list *st = cur(c, grp);
	if (!c->in->asset) {
		json_array_append_new(c->not_validated, json_pack("{s:s,s:s}", "what", uri, "why",
		                      "no asset bytes were given with this manifest store"));
		return;
	}
	cbor_item_t *own;
	const cbor_item_t *bh = assertion_cbor(a, &own);
	if (!bh) {
		prov_status_add(st, PROV_FAILURE, "assertion.bmffHash.malformed", uri,
		                "%s is not readable CBOR", a->label);
		return;
	}
	char *calg = m->cl ? prov_cbor_strdup(prov_cbor_get(m->cl, "alg")) : NULL;
	why[0] = 0;
	int r = prov_bmff_hash_check(c->in->asset, c->in->asset_len, bh, a->label, calg, why, sizeof why);
	if (r == PROV_BMFF_MATCH) {
		prov_status_add(st, PROV_SUCCESS, "assertion.bmffHash.match", uri, "BMFF hash valid");
	} else if (r == PROV_BMFF_MISMATCH && !strncmp(why, "BMFF inithash must not be present", 33)) {
		json_array_append_new(c->not_validated, json_pack("{s:s,s:s}", "what", uri, "why",
		    "fragmented media: this init segment's binding (initHash / merkle) can only be "
		    "checked together with its media fragments, which veto does not take yet"));
	} else if (r == PROV_BMFF_MISMATCH) {
		prov_status_add(st, PROV_FAILURE, "assertion.bmffHash.mismatch", uri, "%s", why);
	} else if (r == PROV_BMFF_MALFORMED) {
		prov_status_add(st, PROV_FAILURE, "assertion.bmffHash.malformed", uri, "%s", why);
	} else {
		json_array_append_new(c->not_validated, json_pack("{s:s,s:s}", "what", uri, "why", why));
	}
	free(calg);
	if (own)
		cbor_decref(&own);
}

static json_t *assertion_json(const prov_jbox *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "label", json_string(a->label));
	char base[256];
	base_label(a->label, base, sizeof base);
	const prov_jbox *cb = prov_jumbf_content(a, PROV_FOURCC('c', 'b', 'o', 'r'));
	const prov_jbox *js = prov_jumbf_content(a, PROV_FOURCC('j', 's', 'o', 'n'));
	if (starts(base, "c2pa.thumbnail") || (!cb && !js)) {
		const prov_jbox *bf = prov_jumbf_content(a, PROV_FOURCC('b', 'f', 'd', 'b'));
		const prov_jbox *bd = prov_jumbf_content(a, PROV_FOURCC('b', 'i', 'd', 'b'));
		if (bf && bf->payload_len > 1) {
			const char *mt = (const char *)bf->payload + 1;
			if (memchr(mt, 0, bf->payload_len - 1))
				json_object_set_new(o, "format", json_string(mt));
		}
		if (bd)
			json_object_set_new(o, "bytes", json_integer((json_int_t)bd->payload_len));
		json_object_set_new(o, "kind", json_string("Binary"));
		return o;
	}
	if (cb) {
		char why[160];
		cbor_item_t *it = prov_cbor_load(cb->payload, cb->payload_len, why, sizeof why);
		if (it) {
			json_object_set_new(o, "data", cbor_json(it, 0));
			cbor_decref(&it);
		} else {
			json_object_set_new(o, "error", json_string(why));
		}
	} else {
		json_error_t je;
		json_t *d = json_loadb((const char *)js->payload, js->payload_len, JSON_DECODE_ANY, &je);
		json_object_set_new(o, "data", d ? d : json_string("<invalid JSON>"));
		json_object_set_new(o, "kind", json_string("Json"));
	}
	return o;
}

static void sig_json(manifest *m)
{
	json_t *s = json_object();
	if (m->sig.alg[0]) json_object_set_new(s, "alg", json_string(m->sig.alg));
	if (m->sig.issuer[0]) json_object_set_new(s, "issuer", json_string(m->sig.issuer));
	if (m->sig.common_name[0]) json_object_set_new(s, "common_name", json_string(m->sig.common_name));
	if (m->sig.cert_serial[0]) json_object_set_new(s, "cert_serial_number", json_string(m->sig.cert_serial));
	if (m->sig.time[0]) json_object_set_new(s, "time", json_string(m->sig.time));
	if (m->sig.tsa[0]) json_object_set_new(s, "time_stamp_authority", json_string(m->sig.tsa));
	json_object_set_new(s, "chain_length", json_integer(m->sig.chain_len));
	json_object_set_new(s, "signature_verified", json_boolean(m->sig.signature_ok));
	json_object_set_new(s, "trusted", json_boolean(m->sig.trusted));
	if (m->sig.ocsp[0]) json_object_set_new(s, "ocsp", json_string(m->sig.ocsp));
	json_object_set_new(m->json, "signature_info", s);
}

static void validate_manifest(ctx *c, manifest *m, int binding, int grp, int depth)
{
	if (m->visited || depth > PROV_MAX_DEPTH)
		return;
	m->visited = 1;
	prov_status_list *st = cur(c, grp);
	char url[1024];
	json_t *mj = m->json;

	if (!m->claim) {
		snprintf(url, sizeof url, "self#jumbf=/c2pa/%s", m->label);
		prov_status_add(st, PROV_FAILURE, "claim.missing", url, "manifest has no claim box");
		return;
	}
	snprintf(url, sizeof url, "self#jumbf=/c2pa/%s/%s", m->label, m->claim_label);
	if (!m->cl) {
		prov_status_add(st, PROV_FAILURE, "claim.cbor.invalid", url, "the claim is not readable CBOR");
		return;
	}
	json_object_set_new(mj, "claim_version", json_integer(m->claim_version));
	const cbor_item_t *g = prov_cbor_get(m->cl, "claim_generator");
	if (g)
		json_object_set_new(mj, "claim_generator", cbor_json(g, 0));
	const cbor_item_t *gi = prov_cbor_get(m->cl, "claim_generator_info");
	if (gi) {
		json_t *gj = cbor_json(gi, 0);
		if (json_is_object(gj)) { /* v2: one map; c2pa-rs prints a list */
			json_t *a = json_array();
			json_array_append_new(a, gj);
			gj = a;
		}
		json_object_set_new(mj, "claim_generator_info", gj);
	}
	static const char *plain[][2] = {{"dc:title", "title"}, {"dc:format", "format"},
	                                 {"instanceID", "instance_id"}};
	for (size_t i = 0; i < 3; i++) {
		const cbor_item_t *v = prov_cbor_get(m->cl, plain[i][0]);
		if (v)
			json_object_set_new(mj, plain[i][1], cbor_json(v, 0));
	}
	char *calg = prov_cbor_strdup(prov_cbor_get(m->cl, "alg"));
	if (calg)
		json_object_set_new(mj, "alg", json_string(calg));
	if (!calg && m->claim_version >= 2)
		prov_status_add(st, PROV_FAILURE, "algorithm.unsupported", url,
		                "the claim names no hash algorithm (alg is required in claim v2)");
	const char *halg = calg ? calg : m->claim_version >= 2 ? NULL : "sha256";

	/* The signature. */
	char surl[1024];
	snprintf(surl, sizeof surl, "self#jumbf=/c2pa/%s/c2pa.signature", m->label);
	const prov_jbox *sb = prov_jumbf_child(m->box, "c2pa.signature");
	const prov_jbox *sc = sb ? prov_jumbf_content(sb, PROV_FOURCC('c', 'b', 'o', 'r')) : NULL;
	if (!sc) {
		prov_status_add(st, PROV_FAILURE, "claimSignature.missing", surl, "no c2pa.signature box");
	} else {
		veto_error e = {0};
		if (prov_cose_verify(sc->payload, sc->payload_len, m->claim, m->claim_len, m->claim_version,
		                     c->in->trust, surl, st, &m->sig, &e) != VETO_OK)
			c->oom = 1;
		m->have_sig = 1;
		sig_json(m);
	}

	/* Hashed URIs. */
	static const char *lists[] = {"assertions", "created_assertions", "gathered_assertions"};
	size_t na = m->astore ? m->astore->nchild : 0;
	char *seen = calloc(na ? na : 1, 1);
	if (!seen) {
		c->oom = 1;
		free(calg);
		return;
	}
	for (int li = 0; li < 3; li++) {
		const cbor_item_t *l = prov_cbor_untag(prov_cbor_get(m->cl, lists[li]));
		if (!l || !cbor_isa_array(l))
			continue;
		size_t n = cbor_array_size(l);
		for (size_t i = 0; i < n && i < MAX_ASSERTIONS; i++) {
			const cbor_item_t *hu = cbor_array_handle(l)[i];
			char *u = prov_cbor_strdup(prov_cbor_get(hu, "url"));
			char *ualg = prov_cbor_strdup(prov_cbor_get(hu, "alg"));
			size_t hl = 0;
			const uint8_t *h = prov_cbor_bytes(prov_cbor_get(hu, "hash"), &hl);
			char ml[512], al[512], abs[1200];
			if (!u || split_uri(u, ml, sizeof ml, al, sizeof al) < 0 || !al[0]) {
				prov_status_add(st, PROV_FAILURE, "assertion.hashedURI.mismatch", u ? u : url,
				                "assertion URI malformed: %s", u ? u : "(none)");
				goto next;
			}
			snprintf(abs, sizeof abs, "self#jumbf=/c2pa/%s/c2pa.assertions/%s", m->label, al);
			if (ml[0] && strcmp(ml, m->label)) {
				prov_status_add(st, PROV_FAILURE, "assertion.outsideManifest", u,
				                "assertion reference to external assertion store: %s", u);
				goto next;
			}
			const prov_jbox *ab = NULL;
			for (size_t k = 0; k < na; k++)
				if (m->astore->child[k].super && !strcmp(m->astore->child[k].label, al)) {
					ab = &m->astore->child[k];
					seen[k] = 1;
					break;
				}
			if (!ab) {
				prov_status_add(st, PROV_FAILURE, "assertion.missing", abs,
				                "cannot find matching assertion: %s", u);
				goto next;
			}
			const EVP_MD *md = prov_md(ualg ? ualg : halg);
			if (!md || !h) {
				if (!md && (ualg || halg))
					prov_status_add(st, PROV_FAILURE, "algorithm.unsupported", abs,
					                "hash algorithm %s is not supported", ualg ? ualg : halg);
				else
					json_array_append_new(c->not_validated, json_pack("{s:s,s:s}", "what", abs,
					                      "why", "no hash algorithm to check this hashed URI with"));
				goto next;
			}
			uint8_t d[64];
			unsigned dl = 0;
			if (digest(md, ab->payload, ab->payload_len, d, &dl) == 0 && dl == hl && !memcmp(d, h, hl))
				prov_status_add(st, PROV_SUCCESS, "assertion.hashedURI.match", abs,
				                "hashed uri matched: %s", u);
			else
				prov_status_add(st, PROV_FAILURE, "assertion.hashedURI.mismatch", abs,
				                "hash does not match assertion data: %s", u);
		next:
			free(u);
			free(ualg);
		}
	}
	for (size_t k = 0; k < na; k++)
		if (!seen[k] && m->astore->child[k].super) {
			char abs[1200];
			snprintf(abs, sizeof abs, "self#jumbf=/c2pa/%s/c2pa.assertions/%s", m->label,
			         m->astore->child[k].label);
			prov_status_add(st, PROV_FAILURE, "assertion.undeclared", abs,
			                "assertion not referenced by the claim: %s", m->astore->child[k].label);
		}
	free(seen);

	/* Assertions: report, actions, hard bindings, ingredients. */
	json_t *aj = json_array(), *ij = json_array();
	size_t nbind = 0;
	const prov_jbox *parent_ing = NULL;
	for (size_t k = 0; k < na; k++) {
		const prov_jbox *a = &m->astore->child[k];
		if (!a->super)
			continue;
		char base[256];
		base_label(a->label, base, sizeof base);
		if (!starts(base, "c2pa.ingredient"))
			json_array_append_new(aj, assertion_json(a));
		if (starts(base, "c2pa.actions"))
			scan_actions(c, m, a);
		if (starts(base, "c2pa.hash.")) {
			nbind++;
			if (binding && (!strcmp(base, "c2pa.hash.data")))
				check_data_hash(c, m, a, grp, binding == 2);
			else if (binding && starts(base, "c2pa.hash.bmff"))
				check_bmff_hash(c, m, a, grp);
			else if (binding) {
				char abs[1200];
				snprintf(abs, sizeof abs, "self#jumbf=/c2pa/%s/c2pa.assertions/%s", m->label, a->label);
				json_array_append_new(c->not_validated, json_pack("{s:s,s:s}", "what", abs, "why",
				    "this hard binding type is not validated by veto yet: the claim and its "
				    "signature are checked, the link to the content bytes is not"));
			}
		}
	}
	if (binding && !m->update && nbind == 0)
		prov_status_add(st, PROV_FAILURE, "claim.hardBindings.missing", url, "claim missing data binding");
	if (binding && !m->update && nbind > 1)
		prov_status_add(st, PROV_FAILURE, "assertion.multipleHardBindings", url,
		                "claim has multiple data bindings");
	if (binding && m->update && nbind)
		prov_status_add(st, PROV_FAILURE, "manifest.update.invalid", url,
		                "update manifests cannot contain data hash assertions");
	for (size_t k = 0; k < na; k++) {
		const prov_jbox *a = &m->astore->child[k];
		char base[256];
		base_label(a->label, base, sizeof base);
		if (!a->super || !starts(base, "c2pa.ingredient"))
			continue;
		if (m->update && !parent_ing)
			parent_ing = a;
		check_ingredient(c, m, a, grp, depth, ij);
	}
	json_object_set_new(mj, "assertions", aj);
	json_object_set_new(mj, "ingredients", ij);

	/* An update manifest binds nothing itself: its parent does. */
	if (binding && m->update && parent_ing) {
		cbor_item_t *own;
		const cbor_item_t *ing = assertion_cbor(parent_ing, &own);
		const cbor_item_t *ref = prov_cbor_get(ing, "activeManifest");
		if (!ref)
			ref = prov_cbor_get(ing, "c2pa_manifest");
		char *ru = ref ? prov_cbor_strdup(prov_cbor_get(ref, "url")) : NULL;
		char ml[512];
		manifest *pm = ru && manifest_of_uri(ru, ml, sizeof ml) == 0 ? find_manifest(c, ml) : NULL;
		if (pm && pm->astore) {
			for (size_t k = 0; k < pm->astore->nchild; k++) {
				const prov_jbox *a = &pm->astore->child[k];
				char base[256];
				base_label(a->label, base, sizeof base);
				if (a->super && !strcmp(base, "c2pa.hash.data"))
					check_data_hash(c, pm, a, grp, 2);
			}
		}
		free(ru);
		if (own)
			cbor_decref(&own);
	}
	free(calg);
}

/* ------------------------------------------------------------- the store */

static void load_manifests(ctx *c)
{
	prov_jbox *r = c->root;
	size_t n = 0;
	for (size_t i = 0; i < r->nchild; i++)
		if (r->child[i].super)
			n++;
	if (n > MAX_MANIFESTS)
		n = MAX_MANIFESTS;
	c->m = calloc(n ? n : 1, sizeof *c->m);
	if (!c->m) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < r->nchild && c->nm < n; i++) {
		const prov_jbox *b = &r->child[i];
		if (!b->super)
			continue;
		manifest *m = &c->m[c->nm++];
		m->box = b;
		m->label = b->label;
		m->update = prov_jumbf_is(b, "c2um");
		m->json = json_object();
		json_object_set_new(m->json, "label", json_string(b->label));
		m->astore = prov_jumbf_child(b, "c2pa.assertions");
		const prov_jbox *cl = prov_jumbf_child(b, "c2pa.claim.v2");
		m->claim_version = 2;
		m->claim_label = "c2pa.claim.v2";
		if (!cl) {
			cl = prov_jumbf_child(b, "c2pa.claim");
			m->claim_version = 1;
			m->claim_label = "c2pa.claim";
		}
		const prov_jbox *cb = cl ? prov_jumbf_content(cl, PROV_FOURCC('c', 'b', 'o', 'r')) : NULL;
		if (cb) {
			char why[160];
			m->claim = cb->payload;
			m->claim_len = cb->payload_len;
			m->cl = prov_cbor_load(cb->payload, cb->payload_len, why, sizeof why);
		}
	}
}

static const char *state_of(const prov_status_list *a, group *g, size_t ng, int *c2pa_rs_trusted)
{
	int ok = prov_status_has(a, "claimSignature.validated", PROV_SUCCESS) &&
	         prov_status_has(a, "claimSignature.insideValidity", PROV_SUCCESS);
	int strict = 1;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].kind == PROV_FAILURE) {
			strict = 0;
			if (strcmp(a->v[i].code, "signingCredential.untrusted"))
				ok = 0;
		}
	for (size_t j = 0; j < ng; j++)
		for (size_t i = 0; i < g[j].st.n; i++)
			if (g[j].st.v[i].kind == PROV_FAILURE) {
				strict = 0;
				if (strcmp(g[j].st.v[i].code, "signingCredential.untrusted"))
					ok = 0;
			}
	*c2pa_rs_trusted = ok && strict && prov_status_has(a, "signingCredential.trusted", PROV_SUCCESS);
	return !ok ? "invalid" : *c2pa_rs_trusted ? "valid" : "untrusted-but-intact";
}

/* How strong each AI declaration is, judged by the statuses of the
 * manifest that carries it (before known ingredient history is dropped:
 * a declaration in an ingredient whose signature failed at ingest is still
 * a declaration under a failed signature). */
static int manifest_failed(ctx *c, const char *label, int *sig_ok, int *trusted)
{
	char prefix[600];
	snprintf(prefix, sizeof prefix, "self#jumbf=/c2pa/%s/", label);
	size_t pl = strlen(prefix);
	int failed = 0;
	*sig_ok = *trusted = 0;
	for (size_t j = 0; j <= c->ng; j++) {
		prov_status_list *l = j < c->ng ? &c->g[j].st : &c->active;
		for (size_t i = 0; i < l->n; i++) {
			prov_status *s = &l->v[i];
			if (!s->url || strncmp(s->url, prefix, pl))
				continue;
			if (s->kind == PROV_FAILURE && strcmp(s->code, "signingCredential.untrusted"))
				failed = 1;
			if (!strcmp(s->code, "claimSignature.validated"))
				*sig_ok = 1;
			if (!strcmp(s->code, "signingCredential.trusted"))
				*trusted = 1;
		}
	}
	return failed;
}

static void grade_declarations(ctx *c, const char *active_label)
{
	size_t i;
	json_t *d;
	json_array_foreach(c->ai, i, d) {
		const char *ml = json_string_value(json_object_get(d, "manifest"));
		int sig_ok, trusted;
		int failed = manifest_failed(c, ml ? ml : "", &sig_ok, &trusted);
		const char *ev = failed || !sig_ok ? "c2pa-signed-invalid"
		               : trusted ? "c2pa-signed-verified" : "c2pa-signed-untrusted";
		json_object_set_new(d, "evidence", json_string(ev));
		json_object_set_new(d, "in_active_manifest", json_boolean(ml && !strcmp(ml, active_label)));
	}
}

/* Drops ingredient statuses the ingredient recorded when it was made and
 * whose URL is outside the active manifest (c2pa-rs's rule). */
static void drop_known(ctx *c, const char *active_label)
{
	char prefix[600];
	snprintf(prefix, sizeof prefix, "self#jumbf=/c2pa/%s/", active_label);
	size_t pl = strlen(prefix);
	for (size_t j = 0; j < c->ng; j++) {
		prov_status_list *l = &c->g[j].st;
		size_t w = 0;
		for (size_t i = 0; i < l->n; i++) {
			prov_status *s = &l->v[i];
			int drop = 0;
			if (!s->url || strncmp(s->url, prefix, pl)) {
				size_t k;
				json_t *r;
				json_array_foreach(c->g[j].recorded, k, r) {
					const char *rc = json_string_value(json_object_get(r, "code"));
					const char *ru = json_string_value(json_object_get(r, "url"));
					if (rc && !strcmp(rc, s->code) && ru && !strcmp(ru, s->url ? s->url : "")) {
						drop = 1;
						break;
					}
				}
			}
			if (drop && s->kind == PROV_FAILURE) {
				json_t *h = status_json(s);
				if (h)
					json_object_set_new(h, "ingredientAssertionURI", json_string(c->g[j].uri));
				json_array_append_new(c->history, h);
			}
			if (drop) {
				free(s->code);
				free(s->url);
				free(s->explanation);
			} else {
				l->v[w++] = *s;
			}
		}
		l->n = w;
	}
}

json_t *prov_c2pa_validate(const prov_c2pa_input *in, veto_error *err)
{
	ctx c = {0};
	c.in = in;
	json_t *out = json_object();
	c.ai = json_array();
	c.not_validated = json_array();
	c.history = json_array();
	if (!out || !c.ai || !c.not_validated || !c.history)
		goto oom;
	json_object_set_new(out, "source", json_string(in->source ? in->source : "embedded"));
	json_object_set_new(out, "store_bytes", json_integer((json_int_t)in->store_len));
	char why[256];
	if (prov_jumbf_parse(in->store, in->store_len, &c.root, why, sizeof why) < 0 ||
	    !(prov_jumbf_is(c.root, "c2pa") || !strcmp(c.root->label, "c2pa"))) {
		if (c.root)
			snprintf(why, sizeof why, "the JUMBF superbox is not a C2PA manifest store");
		prov_status_add(&c.active, PROV_FAILURE, "claim.malformed", "self#jumbf=/c2pa",
		                "manifest store unreadable: %s", why);
		goto finish;
	}
	load_manifests(&c);
	if (c.oom)
		goto oom;
	if (c.nm == 0) {
		prov_status_add(&c.active, PROV_FAILURE, "claim.missing", "self#jumbf=/c2pa",
		                "the manifest store holds no manifest");
		goto finish;
	}
	manifest *act = &c.m[c.nm - 1];
	json_object_set_new(out, "active_manifest", json_string(act->label));
	validate_manifest(&c, act, act->update ? 2 : 1, -1, 0);
	grade_declarations(&c, act->label);
	drop_known(&c, act->label);
	/* Manifests no ingredient reaches are listed but were not validated. */
	for (size_t i = 0; i < c.nm; i++)
		if (!c.m[i].visited) {
			char u[700];
			snprintf(u, sizeof u, "self#jumbf=/c2pa/%s", c.m[i].label);
			json_array_append_new(c.not_validated, json_pack("{s:s,s:s}", "what", u, "why",
			                      "no ingredient of the active manifest refers to this manifest"));
		}
finish:;
	json_t *mans = json_object();
	for (size_t i = 0; i < c.nm; i++) {
		json_object_set(mans, c.m[i].label, c.m[i].json);
	}
	json_object_set_new(out, "manifests", mans);
	json_t *vr = json_object();
	json_object_set_new(vr, "activeManifest", codes_json(&c.active));
	json_t *deltas = json_array();
	json_t *vs = json_array();
	for (size_t i = 0; i < c.active.n; i++)
		if (c.active.v[i].kind == PROV_FAILURE)
			json_array_append_new(vs, status_json(&c.active.v[i]));
	for (size_t j = 0; j < c.ng; j++) {
		if (c.g[j].st.n == 0)
			continue;
		json_array_append_new(deltas, json_pack("{s:s,s:o}", "ingredientAssertionURI", c.g[j].uri,
		                                        "validationDeltas", codes_json(&c.g[j].st)));
		for (size_t i = 0; i < c.g[j].st.n; i++)
			if (c.g[j].st.v[i].kind == PROV_FAILURE)
				json_array_append_new(vs, status_json(&c.g[j].st.v[i]));
	}
	if (json_array_size(deltas))
		json_object_set_new(vr, "ingredientDeltas", deltas);
	else
		json_decref(deltas);
	json_object_set_new(out, "validation_status", vs);
	json_object_set_new(out, "validation_results", vr);
	int trusted = 0;
	const char *state = state_of(&c.active, c.g, c.ng, &trusted);
	json_object_set_new(out, "state", json_string(state));
	json_object_set_new(out, "c2pa_rs_state", json_string(!strcmp(state, "invalid") ? "Invalid"
	                                                      : trusted ? "Trusted" : "Valid"));
	json_object_set_new(out, "ai_declarations", c.ai);
	c.ai = NULL;
	json_object_set_new(out, "not_validated", c.not_validated);
	c.not_validated = NULL;
	/* What ingredients already failed when they were brought in: c2pa-rs
	 * leaves these out of the results (old news); veto lists them here so
	 * a reviewer still sees them. */
	json_object_set_new(out, "ingredient_history", c.history);
	c.history = NULL;
	if (c.active.oom)
		c.oom = 1;
	for (size_t j = 0; j < c.ng; j++)
		c.oom |= c.g[j].st.oom;
	if (c.oom)
		goto oom;
	goto done;
oom:
	json_decref(out);
	out = NULL;
	veto_fail(err, VETO_ERR_NOMEM, "out of memory validating the C2PA manifest store");
done:
	for (size_t i = 0; i < c.nm; i++) {
		if (c.m[i].cl)
			cbor_decref(&c.m[i].cl);
		json_decref(c.m[i].json);
	}
	free(c.m);
	for (size_t j = 0; j < c.ng; j++) {
		free(c.g[j].uri);
		prov_status_free(&c.g[j].st);
		json_decref(c.g[j].recorded);
	}
	free(c.g);
	prov_status_free(&c.active);
	json_decref(c.ai);
	json_decref(c.not_validated);
	json_decref(c.history);
	prov_jumbf_free(c.root);
	return out;
}
