/*
 * api_hma.c - the routes of Meta's HMA 1.1.x (OpenMediaMatch blueprints
 * hashing.py, matching.py, curation.py): same paths, parameters, status
 * codes and JSON shapes, so an HMA client can switch by changing its URL.
 *
 * Where HMA is wrong, veto is right and docs/serve.md lists the
 * differences:
 *   - content routes check that the content belongs to the bank in the
 *     path (HMA reads/updates/deletes any id under any bank name);
 *   - DELETE /c/bank/<name> of a missing bank is 404 (HMA: 200 "Done");
 *   - fetching media by URL needs an allow-list (--allow-hosts); without
 *     one it is refused (HMA fetches any URL when its list is empty);
 *   - PUT /c/signal_type/<name> of an unknown type is 404.
 * Lookups never touch the store: the matcher (server/matcher.c) answers
 * from memory, kept current by the change sequence.
 */
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------- JSON shapes */

static json_t *bank_json(const char *name, double ratio)
{
	return json_pack("{s:s,s:f}", "name", name, "matching_enabled_ratio", ratio);
}

static json_t *signals_json(const vs_content *ct)
{
	json_t *o = json_object();
	for (size_t i = 0; i < ct->nsignals; i++)
		json_object_set_new(o, ct->signals[i].type, json_string(ct->signals[i].value));
	return o;
}

/* ----------------------------------------------------------------- /c */

static int h_banks_index(va_ctx *c)
{
	vs_bank *b = NULL;
	size_t n = 0;
	if (va_list_banks(c, &b, &n))
		return 0;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, bank_json(b[i].name, b[i].enabled_ratio));
	vs_banks_free(b, n);
	return va_reply(c, 200, a);
}

static int ratio_from(va_ctx *c, json_t *body, double *ratio, int *given)
{
	json_t *r = json_object_get(body, "enabled_ratio");
	json_t *en = json_object_get(body, "enabled");
	*given = 0;
	if (r && !json_is_null(r)) {
		if (!json_is_number(r))
			return va_error(c, 400, "enabled_ratio must be a number"), -1;
		double v = json_number_value(r);
		if (!(v >= 0 && v <= 1))
			return va_error(c, 400, "enabled_ratio must be between 0.0 and 1.0"), -1;
		*ratio = v;
		*given = 1;
	} else if (en && !json_is_null(en)) {
		if (!json_is_boolean(en))
			return va_error(c, 400, "enabled must be a boolean"), -1;
		*ratio = json_is_true(en) ? 1.0 : 0.0;
		*given = 1;
	}
	return 0;
}

/* A bank name from a body: valid, and in the key's scope (verb: what the
 * key would do with it). 0, or -1 after replying. */
static int new_bank_name(va_ctx *c, const char *name, const char *verb)
{
	if (!va_bank_name_ok(name))
		return va_error(c, 400, "Bank names must be UPPER_WITH_UNDERSCORE"), -1;
	if (!va_key_allows_bank(c->key, name))
		return va_error(c, 403, "this key may not %s '%s'", verb, name), -1;
	return 0;
}

static int h_bank_create(va_ctx *c)
{
	json_t *body = va_json_body(c, 0);
	if (!body)
		return 0;
	json_t *jn = json_object_get(body, "name");
	double ratio = 1.0;
	int given;
	if (!json_is_object(body) || !json_is_string(jn)) {
		json_decref(body);
		return va_error(c, 422, "name is required (a string)");
	}
	if (ratio_from(c, body, &ratio, &given)) {
		json_decref(body);
		return 0;
	}
	const char *name = json_string_value(jn);
	if (new_bank_name(c, name, "create bank")) {
		json_decref(body); /* after the reply: name is in body */
		return 0;
	}
	vs_bank b;
	veto_error e;
	int rc = vs_bank_create(c->s->store, name, ratio, &b, &e);
	json_decref(body);
	if (rc == VS_ERR_CONFLICT)
		return va_error(c, 403, "Bank already exists");
	if (rc)
		return va_store_error(c, &e);
	va_after_write(c);
	va_reply(c, 201, bank_json(b.name, b.enabled_ratio));
	vs_bank_clear(&b);
	return 0;
}

static int h_bank_show(va_ctx *c)
{
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b))
		return 0;
	va_reply(c, 200, bank_json(b.name, b.enabled_ratio));
	vs_bank_clear(&b);
	return 0;
}

static int h_bank_update(va_ctx *c)
{
	json_t *body = va_json_body(c, 0);
	if (!body)
		return 0;
	if (!json_is_object(body)) {
		json_decref(body);
		return va_error(c, 400, "expected a JSON object");
	}
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b)) {
		json_decref(body);
		/* HMA's message for this route */
		if (c->resp->status == 404)
			va_error(c, 404, "Bank not found");
		return 0;
	}
	vs_bank_clear(&b);
	json_t *jn = json_object_get(body, "name");
	const char *new_name = NULL;
	double ratio = -1;
	int given;
	if (jn && !json_is_null(jn)) {
		if (!json_is_string(jn)) {
			json_decref(body);
			return va_error(c, 400, "name must be a string");
		}
		new_name = json_string_value(jn);
		if (new_bank_name(c, new_name, "name a bank")) {
			json_decref(body);
			return 0;
		}
	}
	/* HMA applies "enabled" then "enabled_ratio": the ratio wins */
	json_t *en = json_object_get(body, "enabled");
	if (en && !json_is_null(en)) {
		if (!json_is_boolean(en)) {
			json_decref(body);
			return va_error(c, 400, "enabled must be a boolean");
		}
		ratio = json_is_true(en) ? 1 : 0;
	}
	json_t *r = json_object_get(body, "enabled_ratio");
	if (r && !json_is_null(r)) {
		double tmp;
		json_t *only = json_pack("{s:O}", "enabled_ratio", r);
		int bad = ratio_from(c, only, &tmp, &given);
		json_decref(only);
		if (bad) {
			json_decref(body);
			return 0;
		}
		ratio = tmp;
	}
	veto_error e;
	int rc = vs_bank_update(c->s->store, c->p[0], new_name, ratio, &b, &e);
	json_decref(body);
	if (rc == VS_ERR_CONFLICT)
		return va_error(c, 403, "Bank name already exists");
	if (rc == VS_ERR_NOTFOUND)
		return va_error(c, 404, "Bank not found");
	if (rc)
		return va_store_error(c, &e);
	va_after_write(c);
	va_reply(c, 200, bank_json(b.name, b.enabled_ratio));
	vs_bank_clear(&b);
	return 0;
}

static int h_bank_delete(va_ctx *c)
{
	veto_error e;
	if (!va_bank_reachable(c, c->p[0]))
		return va_error(c, 404, "bank '%s' not found", c->p[0]);
	int rc = vs_bank_delete(c->s->store, c->p[0], &e);
	if (rc == VS_ERR_NOTFOUND)
		return va_error(c, 404, "bank '%s' not found", c->p[0]);
	if (rc)
		return va_store_error(c, &e);
	va_after_write(c);
	return va_reply(c, 200, json_pack("{s:s}", "message", "Done"));
}

/* content id from the path: digits only (HMA's <int:content_id>) */
static int content_id_arg(va_ctx *c, const char *s, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < 0) { /* digits only */
		va_error(c, 404, "no such endpoint: content id '%s' is not a number", s);
		return -1;
	}
	*id = v;
	return 0;
}

/* The content, only if it is live and in bank b (veto's fix to HMA). */
static int load_content(va_ctx *c, const vs_bank *b, int64_t id, vs_content *ct)
{
	int rc = va_live_content(c, b, id, ct);
	if (rc == 0)
		va_error(c, 404, "content '%lld' not found", (long long)id);
	return rc > 0;
}

static json_t *metadata_out(const vs_content *ct)
{
	json_t *m = va_metadata_json(ct);
	if (!json_is_object(m)) {
		json_decref(m);
		return NULL;
	}
	json_t *o = json_object();
	const char *keys[] = {"content_id", "content_uri", "json"};
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(m, keys[i]);
		json_object_set(o, keys[i], v ? v : json_null());
	}
	json_object_set_new(o, "collab", json_null());
	json_decref(m);
	return o;
}

static int h_content_get(va_ctx *c)
{
	vs_bank b;
	vs_content ct;
	int64_t id;
	if (!va_load_bank_item(c, &b, content_id_arg, &id))
		return 0;
	int inc_sig, inc_meta;
	if (va_arg_bool(c, "include_signals", 0, &inc_sig) ||
	    va_arg_bool(c, "include_metadata", 1, &inc_meta) || !load_content(c, &b, id, &ct)) {
		vs_bank_clear(&b);
		return 0;
	}
	json_t *o = json_pack("{s:I,s:I,s:o,s:o}", "id", (json_int_t)ct.id, "disable_until_ts",
	                      (json_int_t)ct.disable_until_ts, "original_media_uri",
	                      ct.original_media_uri ? json_string(ct.original_media_uri)
	                                            : json_null(),
	                      "bank", bank_json(b.name, b.enabled_ratio));
	if (inc_sig && ct.nsignals)
		json_object_set_new(o, "signals", signals_json(&ct));
	json_t *meta = inc_meta ? metadata_out(&ct) : NULL;
	if (meta)
		json_object_set_new(o, "metadata", meta);
	if (ct.note)
		json_object_set_new(o, "note", json_string(ct.note));
	vs_content_clear(&ct);
	vs_bank_clear(&b);
	return va_reply(c, 200, o);
}

/* HMA's _validate_note: falsy -> none; else a string of <= 255 chars
 * (counted in bytes here). */
static int note_from(va_ctx *c, json_t *v, const char **note)
{
	size_t n;
	*note = NULL;
	if (json_is_false(v))
		return 0;
	switch (va_text_value(v, 255, 0, note, &n)) {
	case VA_TEXT_OK: return 0;
	case VA_TEXT_NOT_STRING: return va_error(c, 400, "note should be a string"), -1;
	default: return va_error(c, 400, "note must be at most 255 characters"), -1;
	}
}

/* HMA's BankedContentMetadata: content_id, content_uri (strings), json
 * (object); extra keys forbidden; "collab" dropped. *out: JSON text or NULL. */
static int metadata_from(va_ctx *c, json_t *m, char **out)
{
	*out = NULL;
	if (!m || json_is_null(m))
		return 0;
	if (!json_is_object(m))
		return va_error(c, 400, "metadata should be a json object"), -1;
	json_t *keep = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) {
		if (!strcmp(k, "collab"))
			continue;
		int ok = 0;
		if (!strcmp(k, "content_id") || !strcmp(k, "content_uri"))
			ok = json_is_string(v) || json_is_null(v);
		else if (!strcmp(k, "json"))
			ok = json_is_object(v) || json_is_null(v);
		else {
			json_decref(keep);
			return va_error(c, 400, "Invalid metadata: %s: extra inputs are not permitted",
			                k), -1;
		}
		if (!ok) {
			json_decref(keep);
			return va_error(c, 400, "Invalid metadata: %s has the wrong type", k), -1;
		}
		if (!json_is_null(v))
			json_object_set(keep, k, v);
	}
	*out = va_metadata_text(keep);
	json_decref(keep);
	return 0;
}

/* Validate type->value pairs and store them as one new content. */
static int add_signals(va_ctx *c, const vs_bank *b, json_t *sigs, const char *note,
                       const char *metadata)
{
	if (!json_object_size(sigs))
		return va_error(c, 400, "No signals given");
	vs_content in;
	memset(&in, 0, sizeof in);
	const char *name;
	json_t *val;
	veto_error e;
	int bad = 0;
	json_object_foreach(sigs, name, val) {
		int t = vsig_from_name(name);
		if (t < 0 || c->s->st_ratio[t] <= 0)
			bad = va_error(c, 400, "No such signal type %s", name) + 1;
		else if (!json_is_string(val))
			bad = va_error(c, 400, "Invalid %s signal: not a string", name) + 1;
		else if (va_signal_append(&in, t, json_string_value(val), json_string_length(val), &e))
			bad = va_error(c, 400, "Invalid %s signal: %s", name, e.message) + 1;
		if (bad)
			break;
	}
	if (!bad) {
		in.disable_until_ts = 1;
		in.status = VS_ACTIVE;
		in.note = (char *)note;
		in.metadata_json = (char *)metadata;
		int64_t id;
		if (vs_content_add(c->s->store, b->id, &in, &id, NULL, &e)) {
			va_store_error(c, &e);
		} else {
			va_after_write(c);
			va_reply(c, 200, json_pack("{s:I,s:o}", "id", (json_int_t)id, "signals",
			                           signals_json(&in)));
		}
	}
	va_signals_free(&in);
	return 0;
}

static int h_bank_signal(va_ctx *c)
{
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b))
		return 0;
	json_t *body = va_json_body(c, 0);
	if (body && !json_is_object(body)) {
		json_decref(body);
		body = NULL;
		va_error(c, 400, "expected a JSON object of signal_type: signal");
	}
	if (body) {
		const char *note;
		json_t *jn = json_incref(json_object_get(body, "note"));
		json_object_del(body, "note");
		if (note_from(c, jn, &note) == 0)
			add_signals(c, &b, body, note, NULL);
		json_decref(jn);
		json_decref(body);
	}
	vs_bank_clear(&b);
	return 0;
}

static json_t *hashes_json(const vsig_hashes *h)
{
	json_t *o = json_object();
	for (int t = 0; t < VSIG_COUNT; t++)
		if (h->have[t])
			json_object_set_new(o, vsig_name(t), json_string(h->value[t] ? h->value[t] : ""));
	return o;
}

static int h_bank_content_add(va_ctx *c)
{
	vs_bank b;
	if (!va_load_bank(c, c->p[0], &b))
		return 0;
	va_request *r = c->req;
	json_t *meta_in = NULL, *note_in = NULL;
	int is_json = r->content_type && !strncasecmp(r->content_type, "application/json", 16);
	if (is_json && r->body_len) {
		json_t *body = va_json_body(c, 0);
		if (!body) {
			vs_bank_clear(&b);
			return 0;
		}
		if (json_is_object(body)) {
			meta_in = json_incref(json_object_get(body, "metadata"));
			note_in = json_incref(json_object_get(body, "note"));
		}
		json_decref(body);
	} else {
		for (size_t i = 0; i < r->nparts; i++) {
			const va_part *p = &r->parts[i];
			if (p->is_file)
				continue;
			if (!strcmp(p->name, "metadata")) {
				json_decref(meta_in); /* a repeated field: the last one counts */
				meta_in = json_loadb((const char *)p->data, p->len, 0, NULL);
				if (!meta_in) {
					json_decref(note_in);
					vs_bank_clear(&b);
					return va_error(c, 400, "metadata form field must be valid JSON");
				}
			} else if (!strcmp(p->name, "note")) {
				json_decref(note_in);
				note_in = json_stringn((const char *)p->data, p->len);
				if (!note_in) {
					json_decref(meta_in);
					vs_bank_clear(&b);
					return va_error(c, 400, "note must be UTF-8 text");
				}
			}
		}
	}
	char *meta = NULL;
	const char *note = NULL;
	vsig_hashes h;
	memset(&h, 0, sizeof h);
	if (metadata_from(c, meta_in, &meta) == 0 && note_from(c, note_in, &note) == 0) {
		const char *url = va_qarg(r, "url");
		int ok;
		if (url && *url)
			ok = va_hash_url(c, url, va_qarg(r, "content_type"), va_qarg(r, "types"), &h) == 0;
		else if (r->nparts)
			ok = va_hash_upload(c, 0, &h, NULL) == 0;
		else
			ok = va_error(c, 400, "Neither `url` nor multipart file upload was received") &&
			     0;
		if (ok) {
			json_t *sigs = hashes_json(&h);
			add_signals(c, &b, sigs, note, meta);
			json_decref(sigs);
		}
	}
	vsig_hashes_clear(&h);
	free(meta);
	json_decref(meta_in);
	json_decref(note_in);
	vs_bank_clear(&b);
	return 0;
}

static long long five_years_from_now(int64_t now) { return now + 365LL * 5 * 86400; }

static json_t *content_config_json(const vs_content *ct, const vs_bank *b)
{
	json_t *um = va_metadata_json(ct);
	return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)ct->id,
	                 "disable_until_ts", (json_int_t)ct->disable_until_ts, "collab_metadata",
	                 json_object(), "original_media_uri",
	                 ct->original_media_uri ? json_string(ct->original_media_uri)
	                                        : json_null(),
	                 "bank", bank_json(b->name, b->enabled_ratio), "user_metadata",
	                 um ? um : json_null(), "note",
	                 ct->note ? json_string(ct->note) : json_null());
}

static int h_content_update(va_ctx *c)
{
	vs_bank b;
	vs_content ct, in, out;
	int64_t id;
	if (!va_load_bank_item(c, &b, content_id_arg, &id))
		return 0;
	if (!load_content(c, &b, id, &ct)) {
		vs_bank_clear(&b);
		return 0;
	}
	vs_content_clear(&ct);
	json_t *body = va_json_body(c, 0);
	unsigned what = 0;
	memset(&in, 0, sizeof in);
	int bad = !body;
	if (body && !json_is_object(body))
		bad = va_error(c, 400, "expected a JSON object") + 1;
	json_t *d = bad ? NULL : json_object_get(body, "disable_until_ts");
	if (d) {
		long long v = 0;
		if (json_is_integer(d)) {
			v = json_integer_value(d);
		} else if (json_is_string(d)) {
			char *end;
			errno = 0;
			v = strtoll(json_string_value(d), &end, 10);
			if (!*json_string_value(d) || *end || errno)
				bad = va_error(c, 400, "Invalid int: '%s'", json_string_value(d)) + 1;
		} else {
			bad = va_error(c, 400, "Invalid int: disable_until_ts must be an integer") + 1;
		}
		if (!bad && v < 0)
			bad = va_error(c, 400, "disable_until_ts must be a non-negative integer") + 1;
		if (!bad && v > five_years_from_now(c->now))
			bad = va_error(c, 400,
			               "disable_until_ts must be less than 5 years in the future") + 1;
		in.disable_until_ts = v;
		what |= VS_SET_DISABLE_UNTIL;
	}
	if (!bad && json_object_get(body, "note")) {
		const char *note;
		if (note_from(c, json_object_get(body, "note"), &note))
			bad = 1;
		in.note = (char *)note;
		what |= VS_SET_NOTE;
	}
	if (!bad) {
		veto_error e;
		int rc = what ? vs_content_update(c->s->store, b.id, id, what, &in, &out, NULL, &e)
		              : vs_content_get(c->s->store, id, &out, &e);
		if (rc) {
			va_store_error(c, &e);
		} else {
			if (what)
				va_after_write(c);
			va_reply(c, 200, content_config_json(&out, &b));
			vs_content_clear(&out);
		}
	}
	json_decref(body);
	vs_bank_clear(&b);
	return 0;
}

static int h_content_delete(va_ctx *c)
{
	vs_bank b;
	int64_t id;
	if (!va_load_bank_item(c, &b, content_id_arg, &id))
		return 0;
	int deleted = 0;
	veto_error e;
	if (vs_content_delete(c->s->store, b.id, id, &deleted, NULL, &e)) {
		va_store_error(c, &e);
	} else {
		if (deleted)
			va_after_write(c);
		va_reply(c, 200, json_pack("{s:i}", "deleted", deleted));
	}
	vs_bank_clear(&b);
	return 0;
}

static int h_signal_types(va_ctx *c)
{
	json_t *a = json_array();
	for (int t = 0; t < VSIG_COUNT; t++)
		json_array_append_new(a, json_pack("{s:s,s:f}", "name", vsig_name(t), "enabled_ratio",
		                                   c->s->st_ratio[t]));
	return va_reply(c, 200, a);
}

static int h_signal_type_update(va_ctx *c)
{
	int t = vsig_from_name(c->p[0]);
	if (t < 0)
		return va_error(c, 404, "No such SignalType '%s'", c->p[0]);
	json_t *body = va_json_body(c, 0);
	if (!body)
		return 0;
	json_t *r = json_object_get(body, "enabled_ratio");
	double v;
	char *end = NULL;
	if (!r || json_is_null(r)) {
		json_decref(body);
		return va_error(c, 400, "enabled_ratio is required");
	}
	if (json_is_number(r))
		v = json_number_value(r);
	else if (json_is_string(r) && (v = strtod(json_string_value(r), &end), *end == 0))
		;
	else {
		json_decref(body);
		return va_error(c, 400, "Invalid float: enabled_ratio");
	}
	json_decref(body);
	if (!(v >= 0 && v <= 1))
		return va_error(c, 400, "enabled_ratio must be between 0.0 and 1.0");
	char key[64], val[64];
	snprintf(key, sizeof key, "signal_type.%s.enabled_ratio", vsig_name(t));
	snprintf(val, sizeof val, "%.17g", v);
	veto_error e;
	if (vs_setting_set(c->s->store, key, val, &e))
		return va_store_error(c, &e);
	c->s->st_ratio[t] = v;
	/* HMA answers 204 (so no body reaches the client) */
	va_reply(c, 204, json_object());
	free(c->resp->body);
	c->resp->body = strdup("");
	c->resp->len = 0;
	return 0;
}

static int h_signal_type_index(va_ctx *c)
{
	const char *only = va_qarg(c->req, "signal_type");
	if (only && vsig_from_name(only) < 0)
		return va_error(c, 400, "No such signal type '%s'", only);
	vm_stats st;
	vm_stats_get(c->s->m, &st);
	json_t *o = json_object();
	for (int t = 0; t < VSIG_COUNT; t++) {
		if (only && strcmp(only, vsig_name(t)))
			continue;
		int64_t count = 0, newest = 0;
		veto_error e;
		if (vs_signal_stats(c->s->store, vsig_name(t), &count, &newest, &e)) {
			json_decref(o);
			return va_store_error(c, &e);
		}
		int64_t built = vm_seq_ts(c->s->m);
		json_object_set_new(o, vsig_name(t),
		                    json_pack("{s:I,s:I,s:b,s:I,s:I}", "db_size", (json_int_t)count,
		                              "index_size", (json_int_t)st.signals[t],
		                              "index_out_of_date",
		                              (uint64_t)count != st.signals[t] || newest > built,
		                              "newest_db_item", (json_int_t)newest, "index_built_to",
		                              (json_int_t)built));
	}
	return va_reply(c, 200, o);
}

static int h_content_types(va_ctx *c)
{
	json_t *a = json_array();
	for (int t = 0; t < VSIG_CONTENT_COUNT; t++)
		json_array_append_new(a, json_pack("{s:s,s:b}", "name", vsig_content_name(t),
		                                   "enabled", 1));
	return va_reply(c, 200, a);
}

/* ----------------------------------------------------------------- /h */

static int h_hash_get(va_ctx *c)
{
	const char *url = va_qarg(c->req, "url");
	if (!url)
		return va_error(c, 422, "url is required");
	vsig_hashes h;
	if (va_hash_url(c, url, va_qarg(c->req, "content_type"), va_qarg(c->req, "types"), &h))
		return 0;
	va_reply(c, 200, hashes_json(&h));
	vsig_hashes_clear(&h);
	return 0;
}

static int h_hash_post(va_ctx *c)
{
	vsig_hashes h;
	if (va_hash_upload(c, 0, &h, NULL))
		return 0;
	va_reply(c, 200, hashes_json(&h));
	vsig_hashes_clear(&h);
	return 0;
}

/* ----------------------------------------------------------------- /m */

static int h_raw_lookup(va_ctx *c)
{
	const char *sig = va_qarg(c->req, "signal"), *st = va_qarg(c->req, "signal_type");
	const char *banks = va_qarg(c->req, "banks");
	int with_dist;
	if (!sig || !st)
		return va_error(c, 422, "signal and signal_type are required");
	if (va_arg_bool(c, "include_distance", 0, &with_dist))
		return 0;
	int t = va_signal_type(c, st);
	if (t < 0)
		return 0;
	json_t *by_bank = va_lookup_by_bank(c, t, sig, 0, 1, banks && *banks ? banks : NULL,
	                                    NULL);
	if (!by_bank)
		return 0;
	/* flatten: bank by bank in the order banks first matched, nearest first
	 * within a bank */
	json_t *all = json_array();
	const char *bk;
	json_t *arr;
	json_object_foreach(by_bank, bk, arr) {
		size_t i;
		json_t *m;
		json_array_foreach(arr, i, m) json_array_append(all, m);
	}
	json_decref(by_bank);
	json_t *out = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(all, i, m) {
		if (with_dist)
			json_array_append(out, m);
		else
			json_array_append(out, json_object_get(m, "bank_content_id"));
	}
	json_decref(all);
	return va_reply(c, 200, json_pack("{s:o}", "matches", out));
}

static json_t *lookup_hashes(va_ctx *c, const vsig_hashes *h, int bypass, const char *banks)
{
	json_t *resp = json_object();
	for (int t = 0; t < VSIG_COUNT; t++) {
		if (!h->have[t])
			continue;
		json_t *m = va_lookup_by_bank(c, t, h->value[t] ? h->value[t] : "", 1, bypass,
		                              banks, va_qarg(c->req, "seed"));
		if (!m) {
			json_decref(resp);
			return NULL;
		}
		json_object_set_new(resp, vsig_name(t), m);
	}
	return resp;
}

static int h_lookup_get(va_ctx *c)
{
	const char *url = va_qarg(c->req, "url"), *banks = va_qarg(c->req, "banks");
	const char *sig = va_qarg(c->req, "signal"), *st = va_qarg(c->req, "signal_type");
	int bypass;
	if (va_arg_bool(c, "bypass_coinflip", 0, &bypass))
		return 0;
	if (banks && !*banks)
		banks = NULL;
	if (url && *url) {
		if (!(c->s->cfg.serve & VA_SERVE_HASHER))
			return va_error(c, 403, "Hashing is disabled, missing role");
		vsig_hashes h;
		if (va_hash_url(c, url, va_qarg(c->req, "content_type"), va_qarg(c->req, "types"), &h))
			return 0;
		json_t *r = lookup_hashes(c, &h, bypass, banks);
		vsig_hashes_clear(&h);
		if (!r)
			return 0;
		if (st) {
			json_t *sel = json_incref(json_object_get(r, st));
			json_decref(r);
			r = sel ? sel : json_object();
		}
		return va_reply(c, 200, r);
	}
	if (!sig || !*sig || !st || !*st)
		return va_error(c, 400, "Either url or both signal and signal_type are required");
	int t = va_signal_type(c, st);
	if (t < 0)
		return 0;
	json_t *r = va_lookup_by_bank(c, t, sig, 1, bypass, banks, va_qarg(c->req, "seed"));
	return r ? va_reply(c, 200, r) : 0;
}

static int h_lookup_post(va_ctx *c)
{
	if (!(c->s->cfg.serve & VA_SERVE_HASHER))
		return va_error(c, 403, "Hashing is disabled, missing role");
	int bypass = 0;
	const char *bp = va_qarg(c->req, "bypass_coinflip");
	bypass = bp && !strcmp(bp, "true"); /* HMA compares with "true" exactly */
	const char *banks = va_qarg(c->req, "banks");
	vsig_hashes h;
	if (va_hash_upload(c, 0, &h, NULL))
		return 0;
	json_t *r = lookup_hashes(c, &h, bypass, banks && *banks ? banks : NULL);
	vsig_hashes_clear(&h);
	return r ? va_reply(c, 200, r) : 0;
}

static json_t *score_json(int type, const vsig_score *s)
{
	json_t *info;
	switch (type) {
	case VSIG_PDQ: info = json_pack("{s:i}", "distance", s->distance); break;
	case VSIG_VPDQ:
		info = json_pack("{s:f,s:f}", "query_match_percent", s->query_percent,
		                 "compared_match_percent", s->target_percent);
		break;
	case VSIG_TMK:
		info = json_pack("{s:f,s:f}", "level1", s->level1, "level2", s->level2);
		break;
	default: info = json_object();
	}
	return json_pack("[b,o]", s->match, info);
}

static int h_compare(va_ctx *c)
{
	json_t *body = va_json_body(c, 0);
	if (!body)
		return 0;
	if (!json_is_object(body)) {
		json_decref(body);
		return va_error(c, 400, "Request input was not a dict");
	}
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v) {
		if (!json_is_array(v)) {
			va_error(c, 400, "Comparison hashes for %s was not a list", k);
			goto done;
		}
		if (json_array_size(v) != 2) {
			va_error(c, 400, "Comparison hash list length must be exactly 2");
			goto done;
		}
		int t = va_signal_type(c, k);
		if (t < 0)
			goto done;
		vsig_value a, b;
		veto_error e;
		json_t *ja = json_array_get(v, 0), *jb = json_array_get(v, 1);
		if (!json_is_string(ja) || !json_is_string(jb)) {
			va_error(c, 400, "Invalid %s hash: not a string", k);
			goto done;
		}
		if (vsig_parse(t, json_string_value(ja), json_string_length(ja), &a, NULL, &e)) {
			va_error(c, 400, "Invalid %s hash: %s", k, e.message);
			goto done;
		}
		if (vsig_parse(t, json_string_value(jb), json_string_length(jb), &b, NULL, &e)) {
			vsig_value_clear(&a);
			va_error(c, 400, "Invalid %s hash: %s", k, e.message);
			goto done;
		}
		vsig_score s;
		int rc = vsig_compare(&a, &b, &s, &e);
		vsig_value_clear(&a);
		vsig_value_clear(&b);
		if (rc) {
			va_error(c, 400, "Invalid %s hash: %s", k, e.message);
			goto done;
		}
		json_object_set_new(out, k, score_json(t, &s));
	}
	json_decref(body);
	return va_reply(c, 200, out);
done:
	json_decref(body);
	json_decref(out);
	return 0;
}

static int h_index_status(va_ctx *c)
{
	const char *only = va_qarg(c->req, "signal_type");
	if (only && vsig_from_name(only) < 0)
		return va_error(c, 400, "No such signal type '%s'", only);
	vm_stats st;
	vm_stats_get(c->s->m, &st);
	int ready = atomic_load(&c->s->ready);
	json_t *o = json_object();
	for (int t = 0; t < VSIG_COUNT; t++) {
		if (only && strcmp(only, vsig_name(t)))
			continue;
		json_object_set_new(o, vsig_name(t),
		                    json_pack("{s:I,s:b,s:I}", "built_to",
		                              (json_int_t)(ready ? vm_seq_ts(c->s->m) : -1), "present",
		                              ready, "size", (json_int_t)st.signals[t]));
	}
	return va_reply(c, 200, o);
}

const va_route va_hma_routes[] = {
	{"GET", "/h/hash", h_hash_get, VA_ROLE_HASHER, VA_SERVE_HASHER},
	{"POST", "/h/hash", h_hash_post, VA_ROLE_HASHER, VA_SERVE_HASHER},
	{"GET", "/m/raw_lookup", h_raw_lookup, VA_ROLE_MATCHER, VA_SERVE_MATCHER},
	{"GET", "/m/lookup", h_lookup_get, VA_ROLE_MATCHER, VA_SERVE_MATCHER},
	{"POST", "/m/lookup", h_lookup_post, VA_ROLE_MATCHER, VA_SERVE_MATCHER},
	{"POST", "/m/compare", h_compare, VA_ROLE_MATCHER, VA_SERVE_MATCHER},
	{"GET", "/m/index/status", h_index_status, VA_ROLE_MATCHER, VA_SERVE_MATCHER},
	{"GET", "/c/banks", h_banks_index, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"POST", "/c/banks", h_bank_create, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/c/bank/{}", h_bank_show, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"PUT", "/c/bank/{}", h_bank_update, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"DELETE", "/c/bank/{}", h_bank_delete, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"POST", "/c/bank/{}/signal", h_bank_signal, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"POST", "/c/bank/{}/content", h_bank_content_add, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/c/bank/{}/content/{}", h_content_get, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"PUT", "/c/bank/{}/content/{}", h_content_update, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"DELETE", "/c/bank/{}/content/{}", h_content_delete, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"GET", "/c/signal_type", h_signal_types, VA_ROLE_HASHER, 0},
	{"GET", "/c/signal_type/index", h_signal_type_index, VA_ROLE_CURATOR, VA_SERVE_CURATOR},
	{"PUT", "/c/signal_type/{}", h_signal_type_update, VA_ROLE_ADMIN, VA_SERVE_CURATOR},
	{"GET", "/c/content_type", h_content_types, VA_ROLE_HASHER, 0},
	{NULL, NULL, NULL, 0, 0},
};
