/*
 * prov_report.c - veto_signals_*: one report from every provenance module.
 *
 * The order is cheap first: the container walk (prov_container.c) finds
 * the C2PA store, XMP, EXIF and text records in one pass; the store is
 * validated (prov_c2pa.c); the metadata is read (prov_meta.c); then, for
 * images only, the pixels are decoded once for the watermark decoder and
 * the A1111 "stealth" reader. The report is JSON (docs/signals.md). Every
 * signal in it carries an "evidence" kind, strongest first:
 *   c2pa-signed-verified   signed, intact, signer chained to the trust list
 *   c2pa-signed-untrusted  signed and intact, signer not on the trust list
 *   c2pa-signed-invalid    signed, but the signature, a hash or the
 *                          binding to the content failed
 *   unsigned-metadata      XMP / EXIF / generator text anyone can write
 *   statistical-watermark  a payload found in the pixels with a chance
 *                          probability (pvalue)
 * The library decides nothing on the reader's behalf: "ai_declared" means
 * some signal declares generative AI, never that the file is AI-made.
 */
#include "prov.h"
#include "prov_c2pa.h"
#include "prov_container.h"
#include "prov_cose.h"
#include "prov_meta.h"
#include "prov_watermark.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct veto_signals {
	char *json;
	char *headline;
	char *state;
	const char *strongest;
	int ai;
};

static const char *EVIDENCE[] = {"c2pa-signed-verified", "c2pa-signed-untrusted",
                                 "c2pa-signed-invalid", "unsigned-metadata",
                                 "statistical-watermark"};

static int evidence_rank(const char *e)
{
	for (int i = 0; i < 5; i++)
		if (e && !strcmp(e, EVIDENCE[i]))
			return i;
	return 99;
}

void veto_signals_options_init(veto_signals_options *o)
{
	memset(o, 0, sizeof *o);
	o->watermark = 1;
	o->stealth = 1;
	o->max_bytes = 1ull << 30;
	o->max_pixels = 200000000ull;
}

int veto_trust_load(const char *pem_path, veto_trust **out, veto_error *err)
{
	return prov_trust_load(pem_path, out, err);
}

void veto_trust_free(veto_trust *t)
{
	prov_trust_free(t);
}

static json_t *strlist(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *meta_items(const prov_meta *m)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < m->n; i++) {
		const prov_meta_item *it = &m->v[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "kind", it->kind, "name", it->name,
		                      "value", it->value ? it->value : "", "source", it->source ? it->source : "",
		                      "ai", it->ai);
		if (!o)
			continue;
		if (it->truncated)
			json_object_set_new(o, "truncated", json_true());
		if (it->dst)
			json_object_set_new(o, "digital_source_class", json_string(prov_dst_class_name(it->dst)));
		if (it->detail_json) {
			json_t *d = json_loads(it->detail_json, 0, NULL);
			if (d)
				json_object_set_new(o, "detail", d);
		}
		json_array_append_new(a, o);
	}
	return a;
}

static void add_signal(json_t *signals, const char *evidence, const char *what, const char *value,
                       const char *source, int ai)
{
	json_array_append_new(signals, json_pack("{s:s,s:s,s:s,s:s,s:b}", "evidence", evidence,
	                                         "what", what, "value", value ? value : "",
	                                         "source", source ? source : "", "ai", ai));
}

/* C2PA signals: one per AI declaration in a validated manifest, plus the
 * claim generator of the active manifest. */
static void c2pa_signals(json_t *c2pa, json_t *signals)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(c2pa, "ai_declarations"), i, d) {
		const char *term = json_string_value(json_object_get(d, "term"));
		const char *dst = json_string_value(json_object_get(d, "digitalSourceType"));
		const char *ev = json_string_value(json_object_get(d, "evidence"));
		char src[1024];
		snprintf(src, sizeof src, "c2pa:%s/%s %s%s",
		         json_string_value(json_object_get(d, "manifest")),
		         json_string_value(json_object_get(d, "assertion")),
		         json_string_value(json_object_get(d, "field")),
		         json_is_true(json_object_get(d, "in_active_manifest")) ? "" : " (ingredient)");
		add_signal(signals, ev ? ev : "c2pa-signed-invalid", "digitalSourceType",
		           term ? term : dst, src, json_is_true(json_object_get(d, "ai")));
	}
}

static char *headline(json_t *r, int ai, const char *strongest)
{
	char buf[1024];
	size_t n = 0;
	json_t *c2pa = json_object_get(r, "c2pa");
	const char *remote = json_string_value(json_object_get(r, "remote_manifest"));
	if (ai)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "AI declared (strongest evidence: %s)", strongest);
	else
		n += (size_t)snprintf(buf + n, sizeof buf - n, "no AI declaration found");
	if (json_is_object(c2pa)) {
		const char *st = json_string_value(json_object_get(c2pa, "state"));
		const char *act = json_string_value(json_object_get(c2pa, "active_manifest"));
		json_t *m = act ? json_object_get(json_object_get(c2pa, "manifests"), act) : NULL;
		json_t *si = json_object_get(m, "signature_info");
		const char *cn = json_string_value(json_object_get(si, "common_name"));
		const char *iss = json_string_value(json_object_get(si, "issuer"));
		n += (size_t)snprintf(buf + n, sizeof buf - n, "; C2PA %s", st ? st : "?");
		if (n < sizeof buf && (cn || iss))
			n += (size_t)snprintf(buf + n, sizeof buf - n, ", signed by %s%s%s%s", cn ? cn : "",
			                      iss ? " (" : "", iss ? iss : "", iss ? ")" : "");
		if (n < sizeof buf && json_array_size(json_object_get(c2pa, "not_validated")))
			n += (size_t)snprintf(buf + n, sizeof buf - n, "; %zu part(s) not validated",
			                      json_array_size(json_object_get(c2pa, "not_validated")));
	} else if (remote) {
		n += (size_t)snprintf(buf + n, sizeof buf - n, "; C2PA manifest is remote (%s), not fetched", remote);
	} else if (json_is_object(json_object_get(r, "missing_manifest"))) {
		n += (size_t)snprintf(buf + n, sizeof buf - n,
		                      "; no C2PA manifest, though the XMP says one was embedded (stripped)");
	} else if (n < sizeof buf) {
		n += (size_t)snprintf(buf + n, sizeof buf - n, "; no C2PA manifest");
	}
	(void)n;
	return strdup(buf);
}

static int is_image_format(const char *f)
{
	return !strcmp(f, "jpeg") || !strcmp(f, "png") || !strcmp(f, "webp") || !strcmp(f, "gif") ||
	       !strcmp(f, "tiff") || !strcmp(f, "bmff");
}

int veto_signals_buffer(const uint8_t *data, size_t size, const char *name,
                        const uint8_t *sidecar, size_t sidecar_len,
                        const veto_signals_options *opt, veto_signals **out, veto_error *err)
{
	veto_signals_options defo;
	if (!opt) {
		veto_signals_options_init(&defo);
		opt = &defo;
	}
	*out = NULL;
	if (!name)
		name = "<buffer>";
	prov_assets as;
	memset(&as, 0, sizeof as);
	int rc = prov_scan(data, size, name, &as, err);
	if (rc != VETO_OK)
		return rc;
	json_t *r = json_object();
	json_t *signals = json_array();
	json_t *problems = strlist(as.problems, as.nproblems);
	prov_meta meta;
	memset(&meta, 0, sizeof meta);
	if (!r || !signals || !problems)
		goto oom;
	json_object_set_new(r, "file", json_string(name));
	json_object_set_new(r, "format", json_string(as.format));
	json_object_set_new(r, "bytes", json_integer((json_int_t)size));
	{
		uint8_t d[32];
		char hex[65];
		veto_error de = {0};
		if (veto_digest(data, size, NULL, d, &de) == VETO_OK) {
			prov_hex(d, 32, hex);
			json_object_set_new(r, "sha256", json_string(hex));
		}
	}

	/* C2PA. */
	prov_c2pa_input ci;
	memset(&ci, 0, sizeof ci);
	ci.trust = opt->trust;
	if (as.jumbf) {
		ci.store = as.jumbf;
		ci.store_len = as.jumbf_len;
		ci.source = strcmp(as.format, "c2pa") ? "embedded" : "manifest-store-file";
		if (strcmp(as.format, "c2pa")) {
			ci.asset = data;
			ci.asset_len = size;
			ci.store_range_start = as.store_range_start;
			ci.store_range_len = as.store_range_len;
		}
	} else if (sidecar) {
		ci.store = sidecar;
		ci.store_len = sidecar_len;
		ci.source = opt->sidecar_source ? opt->sidecar_source : "sidecar";
		ci.asset = data;
		ci.asset_len = size;
	}
	json_t *c2pa = NULL;
	if (ci.store) {
		c2pa = prov_c2pa_validate(&ci, err);
		if (!c2pa)
			goto fail;
		if (!as.jumbf && opt->sidecar_url)
			json_object_set_new(c2pa, "fetched_from", json_string(opt->sidecar_url));
		json_object_set(r, "c2pa", c2pa);
		c2pa_signals(c2pa, signals);
		json_decref(c2pa);
	} else {
		json_object_set_new(r, "c2pa", json_null());
	}

	/* Unsigned metadata. */
	if (as.xmp && prov_meta_xmp((const char *)as.xmp, as.xmp_len, &meta, err) != VETO_OK)
		goto fail;
	if (as.exif && prov_meta_exif(as.exif, as.exif_len, &meta, err) != VETO_OK)
		goto fail;
	if (as.ntexts && prov_meta_generators(as.texts, as.ntexts, &meta, err) != VETO_OK)
		goto fail;

	/* Pixels: watermark and stealth, for images only. */
	json_t *wm = json_null();
	if (is_image_format(as.format) && (opt->watermark || opt->stealth)) {
		uint8_t *rgba = NULL;
		uint32_t w = 0, h = 0;
		veto_error de = {0};
		if (veto_decode_rgba(data, size, name, opt->max_pixels, &rgba, &w, &h, &de) == VETO_OK) {
			if (opt->stealth && prov_meta_stealth(rgba, w, h, &meta, err) != VETO_OK) {
				free(rgba);
				goto fail;
			}
			if (opt->watermark) {
				prov_wm_result res[PROV_WM_PAYLOADS];
				veto_error we = {0};
				if (prov_watermark_dwtdct(rgba, w, h, res, &we) == VETO_OK) {
					json_t *a = json_array();
					for (int i = 0; i < PROV_WM_PAYLOADS; i++) {
						json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:f,s:s}", "payload",
						                      res[i].payload, "bits", res[i].bits, "matched",
						                      res[i].matched, "pvalue", res[i].pvalue, "verdict",
						                      res[i].verdict));
						if (strcmp(res[i].verdict, "not detected")) {
							char v[128];
							snprintf(v, sizeof v, "%s payload: %d of %d bits (%s, chance p=%.2g)",
							         res[i].payload, res[i].matched, res[i].bits, res[i].verdict,
							         res[i].pvalue);
							add_signal(signals, "statistical-watermark", "invisible-watermark dwtDct",
							           v, "pixels", 1);
						}
					}
					json_decref(wm);
					wm = json_pack("{s:s,s:o}", "scheme", "invisible-watermark dwtDct (scales 0,36,36; block 4)",
					               "results", a);
				} else if (we.code == VETO_ERR_NOMEM) {
					free(rgba);
					json_decref(wm);
					*err = we;
					goto fail;
				} else {
					json_decref(wm);
					wm = json_pack("{s:s,s:s}", "scheme", "invisible-watermark dwtDct", "skipped", we.message);
				}
			}
			free(rgba);
		} else if (de.code == VETO_ERR_NOMEM) {
			*err = de;
			json_decref(wm);
			goto fail;
		} else {
			json_decref(wm);
			wm = json_pack("{s:s}", "skipped", de.message);
		}
	}
	json_object_set_new(r, "watermark", wm);

	/* Metadata signals. */
	/* dcterms:provenance is either a URL where the store is published, or
	 * a "self#jumbf=" reference to an embedded store: with no store in the
	 * file, that one is a manifest someone removed. */
	const char *remote = NULL, *dangling = NULL;
	for (size_t i = 0; i < meta.n; i++) {
		prov_meta_item *it = &meta.v[i];
		if (!strcmp(it->name, "dcterms:provenance") && it->value) {
			if (!strncmp(it->value, "self#jumbf=", 11))
				dangling = it->value;
			else
				remote = it->value;
		}
		if (it->ai || it->dst)
			add_signal(signals, "unsigned-metadata", it->name, it->value, it->source, it->ai);
	}
	json_object_set_new(r, "metadata", meta_items(&meta));
	json_object_set_new(r, "remote_manifest", remote ? json_string(remote) : json_null());
	if (remote && !c2pa)
		json_object_set_new(r, "remote_manifest_note", json_string(
		    "the manifest store is published at this URL and was not fetched; download it and pass "
		    "it with --manifest to validate it against this file"));
	if (dangling && !c2pa)
		json_object_set_new(r, "missing_manifest", json_pack("{s:s,s:s}", "reference", dangling, "note",
		    "the XMP names an embedded C2PA manifest that the file no longer holds: it was "
		    "stripped, e.g. by an editor or a platform re-encoding the file"));
	for (size_t i = 0; i < meta.nproblems; i++)
		json_array_append_new(problems, json_string(meta.problems[i]));

	/* Summary. */
	int ai = 0;
	const char *strongest = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(signals, i, s) {
		if (!json_is_true(json_object_get(s, "ai")))
			continue;
		const char *ev = json_string_value(json_object_get(s, "evidence"));
		ai = 1;
		if (!strongest || evidence_rank(ev) < evidence_rank(strongest))
			strongest = EVIDENCE[evidence_rank(ev) < 5 ? evidence_rank(ev) : 3];
	}
	const char *state = c2pa ? json_string_value(json_object_get(json_object_get(r, "c2pa"), "state"))
	                  : remote ? "remote-only" : "absent";
	json_object_set_new(r, "signals", signals);
	signals = NULL;
	json_object_set_new(r, "problems", problems);
	problems = NULL;
	veto_signals *o = calloc(1, sizeof *o);
	if (!o)
		goto oom;
	o->ai = ai;
	o->strongest = strongest;
	o->state = strdup(state ? state : "absent");
	o->headline = headline(r, ai, strongest);
	json_object_set_new(r, "summary", json_pack("{s:b,s:s?,s:s,s:s}", "ai_declared", ai,
	                                            "ai_strongest_evidence", strongest, "c2pa", o->state,
	                                            "headline", o->headline ? o->headline : ""));
	o->json = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!o->json || !o->state || !o->headline) {
		veto_signals_free(o);
		goto oom;
	}
	json_decref(r);
	prov_meta_free(&meta);
	prov_assets_free(&as);
	*out = o;
	return VETO_OK;
oom:
	veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory building the signals report", name);
fail:
	json_decref(r);
	json_decref(signals);
	json_decref(problems);
	prov_meta_free(&meta);
	prov_assets_free(&as);
	return err->code ? err->code : VETO_ERR_NOMEM;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcasecmp(s + a - b, suf);
}

int veto_signals_file(const char *path, const char *sidecar_path, const veto_signals_options *opt,
                      veto_signals **out, veto_error *err)
{
	veto_signals_options defo;
	if (!opt) {
		veto_signals_options_init(&defo);
		opt = &defo;
	}
	uint8_t *data = NULL, *side = NULL;
	size_t size = 0, side_len = 0;
	int rc = veto_read_file(path, opt->max_bytes, &data, &size, err);
	if (rc != VETO_OK)
		return rc;
	char guess[4096];
	if (!sidecar_path && !ends_with(path, ".c2pa")) {
		snprintf(guess, sizeof guess, "%s", path);
		char *dot = strrchr(guess, '.'), *slash = strrchr(guess, '/');
		if (dot && (!slash || dot > slash) && (size_t)(dot - guess) + 6 < sizeof guess) {
			strcpy(dot, ".c2pa");
			struct stat st;
			if (stat(guess, &st) == 0 && S_ISREG(st.st_mode))
				sidecar_path = guess;
		}
	}
	if (sidecar_path) {
		rc = veto_read_file(sidecar_path, PROV_MAX_STORE, &side, &side_len, err);
		if (rc != VETO_OK) {
			free(data);
			return rc;
		}
	}
	rc = veto_signals_buffer(data, size, path, side, side_len, opt, out, err);
	free(data);
	free(side);
	return rc;
}

const char *veto_signals_json(const veto_signals *r)
{
	return r ? r->json : NULL;
}

void veto_signals_summary_get(const veto_signals *r, veto_signals_summary *s)
{
	memset(s, 0, sizeof *s);
	if (!r)
		return;
	s->ai_declared = r->ai;
	s->ai_strongest = r->strongest;
	s->c2pa_state = r->state;
	s->headline = r->headline;
}

void veto_signals_free(veto_signals *r)
{
	if (!r)
		return;
	free(r->json);
	free(r->headline);
	free(r->state);
	free(r);
}
