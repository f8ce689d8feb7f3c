/*
 * prov_genmeta.c - generation records of Stable Diffusion front ends, and
 * the prov_meta list itself (see prov_meta.h).
 *
 * The records are plain text a tool writes next to the pixels: A1111's
 * "infotext" (prompt, "Negative prompt:", then a "Key: value, ..." line),
 * JSON from ComfyUI, Fooocus, InvokeAI and NovelAI, and A1111's "stealth"
 * copy of the infotext hidden in the least significant bits of the pixels.
 * Everything read is hostile: JSON is size-capped before parsing (jansson
 * caps nesting itself), graph walks are bounded in hops, every field is
 * cut at PROV_META_MAX_VALUE, and nothing found is trusted beyond its
 * shape. A record that plainly names a tool but does not parse still
 * counts (its tool wrote it) and adds a problem line.
 */
#include "prov_meta.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ the list */

void prov_meta_free(prov_meta *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
		free(m->v[i].source);
		free(m->v[i].detail_json);
	}
	free(m->v);
	for (size_t i = 0; i < m->nproblems; i++)
		free(m->problems[i]);
	free(m->problems);
	memset(m, 0, sizeof *m);
}

char *prov_meta_text(const uint8_t *s, size_t len, size_t cap, int latin1, int *truncated)
{
	if (truncated)
		*truncated = 0;
	if (!s)
		len = 0;
	if (latin1 && prov_utf8_valid(s, len))
		latin1 = 0;
	/* each input byte makes at most 3 output bytes (U+FFFD) */
	size_t room = len > cap ? cap : (len * 3 < cap ? len * 3 : cap);
	char *o = malloc(room + 1);
	if (!o)
		return NULL;
	size_t w = 0;
	for (size_t i = 0; i < len;) {
		uint8_t b[4];
		size_t in, outn;
		if (latin1) {
			in = 1;
			if (s[i] == 0) {
				b[0] = 0xEF, b[1] = 0xBF, b[2] = 0xBD, outn = 3;
			} else if (s[i] < 0x80) {
				b[0] = s[i], outn = 1;
			} else {
				b[0] = (uint8_t)(0xC0 | s[i] >> 6), b[1] = (uint8_t)(0x80 | (s[i] & 0x3F));
				outn = 2;
			}
		} else {
			in = prov_utf8_seq(s + i, len - i);
			if (in && s[i] != 0) {
				memcpy(b, s + i, in);
				outn = in;
			} else {
				in = in ? in : 1;
				b[0] = 0xEF, b[1] = 0xBF, b[2] = 0xBD, outn = 3;
			}
		}
		if (w + outn > room) {
			if (truncated)
				*truncated = 1;
			break;
		}
		memcpy(o + w, b, outn);
		w += outn;
		i += in;
	}
	o[w] = 0;
	return o;
}

static const char too_many_items[] = "more findings than the cap; the rest are not listed";

int prov_meta_problem(prov_meta *m, const char *fmt, ...)
{
	if (m->nproblems >= PROV_META_MAX_PROBLEMS)
		return 0;
	char buf[600];
	if (m->nproblems == PROV_META_MAX_PROBLEMS - 1) {
		snprintf(buf, sizeof buf, "more problems than the cap (%d); the rest are not listed",
		         PROV_META_MAX_PROBLEMS);
	} else {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
	}
	char *line = prov_meta_text((const uint8_t *)buf, strlen(buf), 1024, 1, NULL);
	if (!line)
		return -1;
	char **p = realloc(m->problems, (m->nproblems + 1) * sizeof *p);
	if (!p) {
		free(line);
		return -1;
	}
	m->problems = p;
	m->problems[m->nproblems++] = line;
	return 0;
}

int prov_meta_push(prov_meta *m, const char *kind, const char *name, const uint8_t *value,
                   size_t len, const char *source, int ai, char *detail_json,
                   prov_meta_item **added)
{
	if (added)
		*added = NULL;
	if (m->n >= PROV_META_MAX_ITEMS) {
		free(detail_json);
		for (size_t i = 0; i < m->nproblems; i++)
			if (!strcmp(m->problems[i], too_many_items))
				return 0;
		return prov_meta_problem(m, "%s", too_many_items);
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		prov_meta_item *v = realloc(m->v, cap * sizeof *v);
		if (!v) {
			free(detail_json);
			return -1;
		}
		m->v = v;
		m->cap = cap;
	}
	prov_meta_item *it = &m->v[m->n];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->ai = ai;
	it->detail_json = detail_json;
	it->name = prov_meta_text((const uint8_t *)name, strlen(name), 256, 1, NULL);
	it->source = prov_meta_text((const uint8_t *)source, strlen(source), 512, 1, NULL);
	it->value = prov_meta_text(value, len, PROV_META_MAX_VALUE, 0, &it->truncated);
	if (!it->name || !it->source || !it->value) {
		free(it->name);
		free(it->source);
		free(it->value);
		free(it->detail_json);
		memset(it, 0, sizeof *it);
		return -1;
	}
	m->n++;
	if (added)
		*added = it;
	return 0;
}

/* ---------------------------------------------------------- small text */

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Trims spaces (and, with extra, the characters in extra) at both ends. */
static void trim(const uint8_t **s, size_t *n, const char *extra)
{
	while (*n && (is_space((*s)[0]) || (extra && (*s)[0] && strchr(extra, (*s)[0]))))
		(*s)++, (*n)--;
	while (*n && (is_space((*s)[*n - 1]) || (extra && (*s)[*n - 1] && strchr(extra, (*s)[*n - 1]))))
		(*n)--;
}

/* First occurrence of needle in s[0..n), or NULL. */
static const uint8_t *find_bytes(const uint8_t *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	if (k == 0 || n < k)
		return NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (s[i] == (uint8_t)needle[0] && !memcmp(s + i, needle, k))
			return s + i;
	return NULL;
}

static int eq_ci(const uint8_t *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	if (n != k)
		return 0;
	for (size_t i = 0; i < k; i++) {
		uint8_t a = s[i], b = (uint8_t)lit[i];
		if (a >= 'A' && a <= 'Z') a = (uint8_t)(a + 32);
		if (b >= 'A' && b <= 'Z') b = (uint8_t)(b + 32);
		if (a != b)
			return 0;
	}
	return 1;
}

/* "where:key" for an item's source. */
static void text_source(char *out, size_t cap, const prov_text *t)
{
	snprintf(out, cap, "%s:%s", t->where ? t->where : "text", t->key ? t->key : "");
}

/* ---------------------------------------------------------------- JSON */

/*
 * A copy of a JSON text that jansson will take: Python's json module (which
 * ComfyUI and others use) writes NaN, Infinity and -Infinity, and seeds
 * can exceed 64 bits, both of which jansson rejects. Bare NaN/Infinity
 * become null and integers of more than 18 digits become strings (every
 * detail value is reported as a string anyway). Strings are copied as is.
 */
static char *json_relax(const uint8_t *s, size_t n, size_t *outn)
{
	char *o = malloc(2 * n + 16);
	if (!o)
		return NULL;
	size_t w = 0;
	int instr = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (instr) {
			o[w++] = (char)c;
			i++;
			if (c == '\\' && i < n)
				o[w++] = (char)s[i++];
			else if (c == '"')
				instr = 0;
			continue;
		}
		if (c == '"') {
			instr = 1;
			o[w++] = (char)c;
			i++;
			continue;
		}
		if (c == '-' && i + 1 < n && s[i + 1] == 'I') {
			i++;
			continue; /* "-Infinity": the sign goes, the word below becomes null */
		}
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
			size_t j = i;
			while (j < n && ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z')))
				j++;
			if ((j - i == 3 && !memcmp(s + i, "NaN", 3)) ||
			    (j - i == 8 && !memcmp(s + i, "Infinity", 8))) {
				memcpy(o + w, "null", 4);
				w += 4;
			} else {
				memcpy(o + w, s + i, j - i);
				w += j - i;
			}
			i = j;
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i + (c == '-');
			size_t d0 = j;
			while (j < n && s[j] >= '0' && s[j] <= '9')
				j++;
			size_t digits = j - d0;
			int frac = j < n && (s[j] == '.' || s[j] == 'e' || s[j] == 'E');
			if (!frac && digits > 18) {
				o[w++] = '"';
				memcpy(o + w, s + i, j - i);
				w += j - i;
				o[w++] = '"';
			} else {
				memcpy(o + w, s + i, j - i);
				w += j - i;
			}
			if (j == i)
				o[w++] = (char)s[j++]; /* cannot happen; keeps progress */
			i = j;
			continue;
		}
		o[w++] = (char)c;
		i++;
	}
	o[w] = 0;
	*outn = w;
	return o;
}

/* Parses a JSON text record. NULL with *oom = 0 if it is not JSON (a
 * problem line naming `what` is added when complain is set), NULL with
 * *oom = 1 for lack of memory. */
static json_t *json_load_text(prov_meta *m, const uint8_t *s, size_t n, const char *what,
                              int complain, int *oom)
{
	*oom = 0;
	if (n > PROV_META_MAX_JSON) {
		if (complain && prov_meta_problem(m, "%s: %zu bytes of JSON is over the %u-byte cap; "
		                                  "not parsed", what, n, PROV_META_MAX_JSON) < 0)
			*oom = 1;
		return NULL;
	}
	size_t rn;
	char *r = json_relax(s, n, &rn);
	if (!r) {
		*oom = 1;
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(r, rn, 0, &je);
	free(r);
	if (!j) {
		if (json_error_code(&je) == json_error_out_of_memory)
			*oom = 1;
		else if (complain && prov_meta_problem(m, "%s: not valid JSON (%s at line %d column %d)",
		                                       what, je.text, je.line, je.column) < 0)
			*oom = 1;
	}
	return j;
}

/* A scalar as malloc'd text (strings as found, numbers in shortest form),
 * NULL if v is not a scalar (or no memory: *oom set). */
static char *json_scalar_text(const json_t *v, size_t cap, int *trunc, int *oom)
{
	char buf[64];
	*trunc = 0;
	if (json_is_string(v)) {
		char *t = prov_meta_text((const uint8_t *)json_string_value(v), json_string_length(v),
		                         cap, 0, trunc);
		if (!t)
			*oom = 1;
		return t;
	}
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == (double)(long long)d && d > -1e15 && d < 1e15)
			snprintf(buf, sizeof buf, "%.0f", d);
		else
			for (int p = 1; p <= 17; p++) {
				snprintf(buf, sizeof buf, "%.*g", p, d);
				if (strtod(buf, NULL) == d)
					break;
			}
	} else if (json_is_true(v)) {
		strcpy(buf, "true");
	} else if (json_is_false(v)) {
		strcpy(buf, "false");
	} else {
		return NULL;
	}
	char *t = strdup(buf);
	if (!t)
		*oom = 1;
	return t;
}

/* ---------------------------------------------------- detail builder */

typedef struct det {
	json_t *o;
	int oom;
	int trunc;
} det;

static void det_init(det *d)
{
	d->o = json_object();
	d->oom = !d->o;
	d->trunc = 0;
}

/* Sets key to the text s[0..n) (trimmed; empty values are skipped). */
static void det_put(det *d, const char *key, const uint8_t *s, size_t n)
{
	if (!d->o || !s)
		return;
	trim(&s, &n, NULL);
	if (!n)
		return;
	int tr;
	char *t = prov_meta_text(s, n, PROV_META_MAX_VALUE, 0, &tr);
	if (!t) {
		d->oom = 1;
		return;
	}
	d->trunc |= tr;
	json_t *js = json_string(t);
	free(t);
	if (!js || json_object_set_new(d->o, key, js) < 0)
		d->oom = 1;
}

static void det_puts(det *d, const char *key, const char *s)
{
	if (s)
		det_put(d, key, (const uint8_t *)s, strlen(s));
}

/* Sets key to the scalar v as text (ignored if v is not a scalar). */
static void det_putj(det *d, const char *key, const json_t *v)
{
	if (!v || !d->o)
		return;
	int tr, oom = 0;
	char *t = json_scalar_text(v, PROV_META_MAX_VALUE, &tr, &oom);
	if (oom)
		d->oom = 1;
	if (!t)
		return;
	det_puts(d, key, t);
	d->trunc |= tr;
	free(t);
}

struct jmap {
	const char *from, *to;
};

/* For each pair, obj[from] (a scalar) into key `to`; the first `from`
 * present wins when several map to one key. */
static void det_map(det *d, const json_t *obj, const struct jmap *map)
{
	for (; map->from; map++)
		if (!json_object_get(d->o, map->to))
			det_putj(d, map->to, json_object_get(obj, map->from));
}

/* The compact JSON text (malloc'd) or NULL (also when empty). */
static char *det_finish(det *d)
{
	char *s = NULL;
	if (d->o && !d->oom && json_object_size(d->o)) {
		s = json_dumps(d->o, JSON_COMPACT);
		if (!s)
			d->oom = 1;
	}
	json_decref(d->o);
	d->o = NULL;
	return s;
}

/* Pushes a generator item with d's details; -1 for no memory. */
static int push_generator(prov_meta *m, const char *tool, const uint8_t *value, size_t len,
                          const char *source, det *d)
{
	char *dj = det_finish(d);
	if (d->oom) {
		free(dj);
		return -1;
	}
	prov_meta_item *it;
	if (prov_meta_push(m, "generator", tool, value, len, source, 1, dj, &it) < 0)
		return -1;
	if (it)
		it->truncated |= d->trunc;
	return 0;
}

/* ------------------------------------------------ AUTOMATIC1111 infotext */

typedef struct kv {
	const uint8_t *k, *v;
	size_t kn, vn;
} kv;

#define INFOTEXT_MAX_KV 64

static const char *const infotext_keys[] = {"Steps", "Sampler", "CFG scale", "Seed",
                                            "Schedule type", "ENSD"};

/*
 * One "Key: value, Key: value" line. Values may be "quoted" (commas
 * inside, backslash escapes) or a {...} object (A1111's "Hashes"). Stores
 * up to max pairs in out (may be NULL) and returns how many distinct keys
 * of infotext_keys it saw.
 */
static int infotext_params(const uint8_t *s, size_t n, kv *out, size_t max, size_t *nout)
{
	unsigned seen = 0;
	size_t cnt = 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && (s[i] == ',' || is_space(s[i])))
			i++;
		size_t k0 = i;
		while (i < n && s[i] != ':' && s[i] != ',')
			i++;
		if (i >= n)
			break;
		if (s[i] == ',')
			continue; /* no key here */
		const uint8_t *k = s + k0;
		size_t kn = i - k0;
		trim(&k, &kn, NULL);
		i++; /* ':' */
		while (i < n && s[i] == ' ')
			i++;
		const uint8_t *v = s + i;
		size_t vn;
		if (i < n && s[i] == '"') {
			size_t j = i + 1;
			while (j < n && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (j > n)
				j = n;
			v = s + i + 1;
			vn = j - i - 1;
			i = j < n ? j + 1 : n;
			while (i < n && s[i] != ',')
				i++;
		} else if (i < n && s[i] == '{') {
			size_t j = i;
			int depth = 0, instr = 0;
			for (; j < n; j++) {
				if (instr) {
					if (s[j] == '\\')
						j++;
					else if (s[j] == '"')
						instr = 0;
				} else if (s[j] == '"') {
					instr = 1;
				} else if (s[j] == '{') {
					depth++;
				} else if (s[j] == '}' && --depth == 0) {
					j++;
					break;
				}
			}
			if (j > n)
				j = n;
			vn = j - i;
			i = j;
			while (i < n && s[i] != ',')
				i++;
		} else {
			size_t j = i;
			while (j < n && s[j] != ',')
				j++;
			vn = j - i;
			i = j;
		}
		trim(&v, &vn, NULL);
		if (kn == 0 || kn > 64)
			continue;
		for (size_t q = 0; q < sizeof infotext_keys / sizeof *infotext_keys; q++)
			if (kn == strlen(infotext_keys[q]) && !memcmp(k, infotext_keys[q], kn))
				seen |= 1u << q;
		if (out && cnt < max)
			out[cnt++] = (kv){k, v, kn, vn};
	}
	if (nout)
		*nout = cnt;
	int c = 0;
	for (; seen; seen >>= 1)
		c += seen & 1;
	return c;
}

/* Is this value of a kv the literal key? */
static int kv_is(const kv *p, const char *key)
{
	return p->kn == strlen(key) && !memcmp(p->k, key, p->kn);
}

int prov_genmeta_infotext(prov_meta *m, const uint8_t *text, size_t len, const char *source,
                          const char *tool)
{
	if (!text || !len)
		return 0;
	/* the parameter line: the last line with >= 3 known keys */
	size_t end = len, pstart = 0, pend = 0;
	int found = 0;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		if (infotext_params(text + start, end - start, NULL, 0, NULL) >= 3) {
			pstart = start, pend = end, found = 1;
			break;
		}
		if (start == 0)
			break;
		end = start - 1;
	}
	if (!found)
		return 0;

	det d;
	det_init(&d);
	/* prompt and negative prompt: everything before the parameter line */
	const uint8_t *pr = text;
	size_t prn = pstart;
	const uint8_t *neg = NULL;
	size_t negn = 0;
	static const char np[] = "Negative prompt:";
	for (size_t i = 0; i + sizeof np - 1 <= prn; i++) {
		if ((i == 0 || pr[i - 1] == '\n') && !memcmp(pr + i, np, sizeof np - 1)) {
			neg = pr + i + sizeof np - 1;
			negn = prn - i - (sizeof np - 1);
			prn = i;
			break;
		}
	}
	det_put(&d, "prompt", pr, prn);
	det_put(&d, "negative_prompt", neg, negn);

	kv p[INFOTEXT_MAX_KV];
	size_t np_ = 0;
	infotext_params(text + pstart, pend - pstart, p, INFOTEXT_MAX_KV, &np_);
	static const struct {
		const char *from, *to;
	} canon[] = {{"Model", "model"}, {"Model hash", "model_hash"}, {"Seed", "seed"},
	             {"Steps", "steps"}, {"Sampler", "sampler"}, {"Schedule type", "scheduler"},
	             {"CFG scale", "cfg_scale"}, {"Size", "size"}, {"Version", "version"},
	             {"Denoising strength", "denoising_strength"}};
	for (size_t c = 0; c < sizeof canon / sizeof *canon; c++)
		for (size_t i = 0; i < np_; i++)
			if (kv_is(&p[i], canon[c].from)) {
				det_put(&d, canon[c].to, p[i].v, p[i].vn);
				break;
			}
	json_t *all = json_object();
	if (!all)
		d.oom = 1;
	for (size_t i = 0; all && i < np_; i++) {
		int tk, tv;
		char *k = prov_meta_text(p[i].k, p[i].kn, 256, 0, &tk);
		char *v = prov_meta_text(p[i].v, p[i].vn, PROV_META_MAX_VALUE, 0, &tv);
		json_t *js = v ? json_string(v) : NULL;
		if (!k || !js || json_object_set_new(all, k, js) < 0)
			d.oom = 1;
		d.trunc |= tv;
		free(k);
		free(v);
	}
	if (all && d.o && json_object_size(all)) {
		if (json_object_set_new(d.o, "parameters", all) < 0) /* steals all */
			d.oom = 1;
	} else {
		json_decref(all);
	}
	return push_generator(m, tool ? tool : "AUTOMATIC1111", text, len, source, &d) < 0 ? -1 : 1;
}

/* -------------------------------------------------------------- Fooocus */

static const struct jmap fooocus_map[] = {
	{"prompt", "prompt"}, {"negative_prompt", "negative_prompt"},
	{"base_model", "model"}, {"base_model_hash", "model_hash"},
	{"seed", "seed"}, {"steps", "steps"}, {"sampler", "sampler"},
	{"scheduler", "scheduler"}, {"guidance_scale", "cfg_scale"},
	{"resolution", "size"}, {"performance", "performance"},
	{"styles", "styles"}, {"version", "version"}, {NULL, NULL}};

static int fooocus_shape(const json_t *j)
{
	const char *scheme = json_string_value(json_object_get(j, "metadata_scheme"));
	const char *ver = json_string_value(json_object_get(j, "version"));
	return (scheme && !strcmp(scheme, "fooocus")) || (ver && !strncmp(ver, "Fooocus", 7));
}

int prov_genmeta_fooocus_json(prov_meta *m, const uint8_t *text, size_t len, const char *source)
{
	int oom;
	json_t *j = json_load_text(m, text, len, source, 1, &oom);
	if (oom)
		return -1;
	det d;
	det_init(&d);
	if (json_is_object(j))
		det_map(&d, j, fooocus_map);
	json_decref(j);
	return push_generator(m, "Fooocus", text, len, source, &d) < 0 ? -1 : 1;
}

/* -------------------------------------------------------------- SwarmUI */

static const struct jmap swarm_map[] = {
	{"prompt", "prompt"}, {"negativeprompt", "negative_prompt"}, {"model", "model"},
	{"seed", "seed"}, {"steps", "steps"}, {"sampler", "sampler"},
	{"scheduler", "scheduler"}, {"cfgscale", "cfg_scale"}, {"swarm_version", "version"},
	{NULL, NULL}};

/* ------------------------------------------------------------- ComfyUI */

#define COMFY_MAX_HOPS 32

/* The node a link input ["id", slot] points at, or NULL. */
static json_t *comfy_link(json_t *graph, const json_t *in)
{
	if (!json_is_array(in) || json_array_size(in) != 2)
		return NULL;
	const json_t *id = json_array_get(in, 0);
	char buf[32];
	const char *key = json_string_value(id);
	if (!key && json_is_integer(id)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		key = buf;
	}
	json_t *node = key ? json_object_get(graph, key) : NULL;
	return json_is_object(node) ? node : NULL;
}

/* Follows links back from `in` to the first node with a text input among
 * keys (a string), through at most COMFY_MAX_HOPS nodes. */
static const json_t *comfy_find_text(json_t *graph, const json_t *in, const char *const *keys)
{
	for (int hop = 0; hop < COMFY_MAX_HOPS; hop++) {
		json_t *node = comfy_link(graph, in);
		json_t *inputs = node ? json_object_get(node, "inputs") : NULL;
		if (!json_is_object(inputs))
			return NULL;
		const json_t *next = NULL;
		for (const char *const *k = keys; *k; k++) {
			json_t *v = json_object_get(inputs, *k);
			if (json_is_string(v))
				return v;
			if (!next && json_is_array(v))
				next = v;
		}
		if (!next) {
			/* a combining / conditioning node: follow its first link
			 * that is not the text encoder's clip */
			const char *key;
			json_t *v;
			json_object_foreach(inputs, key, v) {
				if (strcmp(key, "clip") && comfy_link(graph, v)) {
					next = v;
					break;
				}
			}
		}
		if (!next)
			return NULL;
		in = next;
	}
	return NULL;
}

static int comfy_is_graph(const json_t *j)
{
	if (!json_is_object(j))
		return 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		(void)key;
		if (json_is_object(v) && json_is_string(json_object_get(v, "class_type")))
			return 1;
	}
	return 0;
}

static void comfy_details(det *d, json_t *graph)
{
	static const char *const text_keys[] = {"text", "text_g", "prompt", "string", "value", NULL};
	static const char *const model_keys[] = {"ckpt_name", "unet_name", "model_name", "model_path",
	                                         "model", NULL};
	char nb[32];
	snprintf(nb, sizeof nb, "%zu", json_object_size(graph));
	det_puts(d, "nodes", nb);
	const char *key;
	json_t *node;
	json_t *sampler = NULL;
	json_object_foreach(graph, key, node) {
		(void)key;
		json_t *in = json_object_get(node, "inputs");
		const char *ct = json_string_value(json_object_get(node, "class_type"));
		if (!json_is_object(in))
			continue;
		if ((json_object_get(in, "steps") &&
		     (json_object_get(in, "sampler_name") || json_object_get(in, "cfg"))) ||
		    (ct && strstr(ct, "Sampler") && json_object_get(in, "positive"))) {
			sampler = node;
			break;
		}
	}
	if (!sampler)
		return;
	json_t *in = json_object_get(sampler, "inputs");
	det_puts(d, "sampler_node", json_string_value(json_object_get(sampler, "class_type")));
	static const struct jmap smap[] = {
		{"seed", "seed"}, {"noise_seed", "seed"}, {"steps", "steps"},
		{"sampler_name", "sampler"}, {"scheduler", "scheduler"}, {"cfg", "cfg_scale"},
		{"denoise", "denoise"}, {NULL, NULL}};
	det_map(d, in, smap);
	const json_t *t = comfy_find_text(graph, json_object_get(in, "positive"), text_keys);
	if (t)
		det_putj(d, "prompt", t);
	t = comfy_find_text(graph, json_object_get(in, "negative"), text_keys);
	if (t)
		det_putj(d, "negative_prompt", t);
	t = comfy_find_text(graph, json_object_get(in, "model"), model_keys);
	if (t)
		det_putj(d, "model", t);
}

/* ------------------------------------------------------------- InvokeAI */

/* A legacy prompt "positive [negative] more": the bracketed parts are the
 * negative prompt (joined with ", "), the rest the positive one. */
static void invoke_split_prompt(det *d, const uint8_t *s, size_t n)
{
	uint8_t *pos = malloc(n + 4), *neg = malloc(n + 4);
	if (!pos || !neg) {
		free(pos);
		free(neg);
		d->oom = 1;
		return;
	}
	size_t pn = 0, nn = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '[') {
			size_t j = i + 1;
			while (j < n && s[j] != ']')
				j++;
			const uint8_t *b = s + i + 1;
			size_t bn = j - i - 1;
			trim(&b, &bn, ",");
			/* "[x]" gives at most its length minus 2 bytes plus ", ",
			 * so neg never outgrows n */
			if (bn) {
				if (nn) {
					memcpy(neg + nn, ", ", 2);
					nn += 2;
				}
				memcpy(neg + nn, b, bn);
				nn += bn;
			}
			i = j < n ? j + 1 : n;
		} else {
			pos[pn++] = s[i++];
		}
	}
	const uint8_t *p = pos;
	trim(&p, &pn, ",");
	det_put(d, "prompt", p, pn);
	det_put(d, "negative_prompt", neg, nn);
	free(pos);
	free(neg);
}

/* "\"prompt\" -s 50 -S 2980747362 -W 512 -H 768 -C 5 -A k_lms ..." */
static void invoke_dream(det *d, const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_space(s[i]))
		i++;
	if (i < n && s[i] == '"') {
		size_t j = i + 1;
		while (j < n && s[j] != '"')
			j++;
		invoke_split_prompt(d, s + i + 1, (j < n ? j : n) - i - 1);
		i = j < n ? j + 1 : n;
	}
	const uint8_t *w = NULL, *h = NULL;
	size_t wn = 0, hn = 0;
	while (i < n) {
		while (i < n && is_space(s[i]))
			i++;
		size_t t0 = i;
		while (i < n && !is_space(s[i]))
			i++;
		if (i - t0 != 2 || s[t0] != '-')
			continue;
		uint8_t opt = s[t0 + 1];
		size_t v0 = i;
		while (v0 < n && is_space(s[v0]))
			v0++;
		size_t v1 = v0;
		while (v1 < n && !is_space(s[v1]))
			v1++;
		if (v1 == v0 || s[v0] == '-')
			continue;
		const char *key = opt == 's' ? "steps" : opt == 'S' ? "seed" : opt == 'C' ? "cfg_scale"
		                : opt == 'A' ? "sampler" : opt == 'm' ? "model" : NULL;
		if (key && !json_object_get(d->o, key))
			det_put(d, key, s + v0, v1 - v0);
		if (opt == 'W')
			w = s + v0, wn = v1 - v0;
		if (opt == 'H')
			h = s + v0, hn = v1 - v0;
		i = v1;
	}
	if (w && h && wn < 16 && hn < 16) {
		char sz[40];
		snprintf(sz, sizeof sz, "%.*sx%.*s", (int)wn, (const char *)w, (int)hn, (const char *)h);
		det_puts(d, "size", sz);
	}
}

static void det_size(det *d, const json_t *obj)
{
	json_t *w = json_object_get(obj, "width"), *h = json_object_get(obj, "height");
	if (json_is_integer(w) && json_is_integer(h)) {
		char sz[64];
		snprintf(sz, sizeof sz, "%" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT,
		         json_integer_value(w), json_integer_value(h));
		det_puts(d, "size", sz);
	}
}

static void invoke_meta(det *d, const json_t *j)
{
	static const struct jmap map[] = {
		{"positive_prompt", "prompt"}, {"negative_prompt", "negative_prompt"},
		{"seed", "seed"}, {"steps", "steps"}, {"scheduler", "sampler"},
		{"cfg_scale", "cfg_scale"}, {"generation_mode", "generation_mode"},
		{"app_version", "version"}, {"model", "model"}, {NULL, NULL}};
	det_map(d, j, map);
	const json_t *model = json_object_get(j, "model");
	if (json_is_object(model)) {
		const json_t *name = json_object_get(model, "model_name");
		det_putj(d, "model", name ? name : json_object_get(model, "name"));
		det_putj(d, "base_model", json_object_get(model, "base_model"));
		det_putj(d, "model_hash", json_object_get(model, "hash"));
	}
	det_size(d, j);
}

static void invoke_sdmeta(det *d, const json_t *j)
{
	static const struct jmap top[] = {
		{"model_weights", "model"}, {"model_hash", "model_hash"}, {"app_id", "app_id"},
		{"app_version", "version"}, {NULL, NULL}};
	static const struct jmap img[] = {
		{"seed", "seed"}, {"steps", "steps"}, {"sampler", "sampler"},
		{"cfg_scale", "cfg_scale"}, {"type", "generation_mode"}, {NULL, NULL}};
	const json_t *image = json_object_get(j, "image");
	if (json_is_object(image)) {
		const json_t *p = json_object_get(image, "prompt");
		if (json_is_array(p) && json_array_size(p) > 0)
			p = json_object_get(json_array_get(p, 0), "prompt");
		if (json_is_string(p))
			invoke_split_prompt(d, (const uint8_t *)json_string_value(p), json_string_length(p));
		det_map(d, image, img);
		det_size(d, image);
	}
	det_map(d, j, top);
}

/* ------------------------------------------------------------- NovelAI */

static void novelai_details(det *d, const prov_text *desc, const prov_text *src, const json_t *c)
{
	if (desc)
		det_put(d, "prompt", (const uint8_t *)desc->value, desc->len);
	if (json_is_object(c)) {
		static const struct jmap map[] = {
			{"prompt", "prompt"}, {"uc", "negative_prompt"}, {"seed", "seed"},
			{"steps", "steps"}, {"sampler", "sampler"}, {"scale", "cfg_scale"},
			{"strength", "strength"}, {"noise", "noise"}, {NULL, NULL}};
		det_map(d, c, map);
		det_size(d, c);
	}
	if (src) {
		/* "Stable Diffusion 1D44365E": a model name and a hash */
		const uint8_t *s = (const uint8_t *)src->value;
		size_t n = src->len;
		trim(&s, &n, NULL);
		size_t sp = n;
		while (sp > 0 && !is_space(s[sp - 1]))
			sp--;
		int hash = sp > 0 && n - sp >= 4;
		for (size_t i = sp; hash && i < n; i++)
			hash = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z');
		if (hash) {
			det_put(d, "model", s, sp);
			det_put(d, "model_hash", s + sp, n - sp);
		} else {
			det_put(d, "model", s, n);
		}
	}
}

/* -------------------------------------------------------- the dispatcher */

static const prov_text *find_key(const prov_text *t, size_t n, const char *key, size_t *idx)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].key && t[i].value && !strcmp(t[i].key, key)) {
			if (idx)
				*idx = i;
			return &t[i];
		}
	return NULL;
}

#define TV(t) ((const uint8_t *)(t)->value), ((t)->len)

/* Does the whole record set; used records are marked in used[] (n bytes). */
static int generators(prov_meta *m, const prov_text *t, size_t n, uint8_t *used)
{
	char src[600];
	size_t i;
	int r, oom;

	/* ComfyUI: the API graph ("prompt") and/or the UI graph ("workflow") */
	size_t ip = 0, iw = 0;
	const prov_text *cp = find_key(t, n, "prompt", &ip);
	const prov_text *cw = find_key(t, n, "workflow", &iw);
	if (cp || cw) {
		json_t *g = NULL, *w = NULL;
		int is_comfy = 0;
		if (cp) {
			g = json_load_text(m, TV(cp), "ComfyUI prompt", 0, &oom);
			if (oom)
				return -1;
			is_comfy = comfy_is_graph(g);
		}
		if (!is_comfy && cw) {
			w = json_load_text(m, TV(cw), "ComfyUI workflow", 0, &oom);
			if (oom) {
				json_decref(g);
				return -1;
			}
			is_comfy = json_is_object(w) && json_is_array(json_object_get(w, "nodes"));
		}
		const prov_text *rec = is_comfy && comfy_is_graph(g) ? cp : cw;
		if (!is_comfy && cp && !g && cp->len && cp->value[0] == '{' &&
		    find_bytes(TV(cp), "\"class_type\"")) {
			/* plainly a ComfyUI graph, but broken */
			is_comfy = 1;
			rec = cp;
			text_source(src, sizeof src, cp);
			if (prov_meta_problem(m, "%s: ComfyUI graph is not valid JSON", src) < 0) {
				json_decref(g);
				json_decref(w);
				return -1;
			}
		}
		if (is_comfy) {
			det d;
			det_init(&d);
			if (comfy_is_graph(g))
				comfy_details(&d, g);
			text_source(src, sizeof src, rec);
			r = push_generator(m, "ComfyUI", TV(rec), src, &d);
			if (cp)
				used[ip] = 1;
			if (cw)
				used[iw] = 1;
		} else {
			r = 0;
		}
		json_decref(g);
		json_decref(w);
		if (r < 0)
			return -1;
	}

	/* InvokeAI: one item for the image, from its richest record */
	static const char *const invoke_keys[] = {"invokeai_metadata", "sd-metadata", "Dream",
	                                          "invokeai_graph"};
	for (size_t k = 0; k < 4; k++) {
		const prov_text *it = find_key(t, n, invoke_keys[k], &i);
		if (!it)
			continue;
		text_source(src, sizeof src, it);
		det d;
		det_init(&d);
		if (k == 2) {
			invoke_dream(&d, TV(it));
		} else {
			json_t *j = json_load_text(m, TV(it), src, 1, &oom);
			if (oom) {
				json_decref(d.o);
				return -1;
			}
			if (k == 0 && json_is_object(j))
				invoke_meta(&d, j);
			else if (k == 1 && json_is_object(j))
				invoke_sdmeta(&d, j);
			json_decref(j);
		}
		if (push_generator(m, "InvokeAI", TV(it), src, &d) < 0)
			return -1;
		for (size_t q = 0; q < 4; q++)
			if (find_key(t, n, invoke_keys[q], &i))
				used[i] = 1;
		break;
	}

	/* NovelAI: Software "NovelAI", or its Comment JSON shape with a Source */
	size_t is_ = 0, ic = 0;
	const prov_text *sw = find_key(t, n, "Software", &is_);
	const prov_text *cm = find_key(t, n, "Comment", &ic);
	const prov_text *desc = find_key(t, n, "Description", NULL);
	const prov_text *so = find_key(t, n, "Source", NULL);
	int nai = 0;
	if (sw) {
		const uint8_t *s = (const uint8_t *)sw->value;
		size_t sn = sw->len;
		trim(&s, &sn, NULL);
		nai = sn >= 7 && eq_ci(s, 7, "NovelAI");
	}
	json_t *cj = NULL;
	if (cm && cm->len && cm->value[0] == '{') {
		text_source(src, sizeof src, cm);
		cj = json_load_text(m, TV(cm), src, nai, &oom);
		if (oom)
			return -1;
		if (!nai && so && json_is_object(cj) && json_object_get(cj, "uc") &&
		    json_object_get(cj, "sampler") && json_object_get(cj, "steps"))
			nai = 1;
	}
	if (nai) {
		det d;
		det_init(&d);
		novelai_details(&d, desc, so, cj);
		const prov_text *rec = cm ? cm : sw;
		text_source(src, sizeof src, rec);
		if (push_generator(m, "NovelAI", TV(rec), src, &d) < 0) {
			json_decref(cj);
			return -1;
		}
		if (sw)
			used[is_] = 1;
		if (cm)
			used[ic] = 1;
	}
	json_decref(cj);

	/* "parameters": Fooocus (JSON or infotext), SwarmUI (JSON), A1111 */
	size_t ipa = 0;
	const prov_text *pa = find_key(t, n, "parameters", &ipa);
	const prov_text *fs = find_key(t, n, "fooocus_scheme", NULL);
	if (pa && !used[ipa]) {
		text_source(src, sizeof src, pa);
		const uint8_t *s = (const uint8_t *)pa->value;
		size_t sn = pa->len;
		trim(&s, &sn, NULL);
		if (sn && s[0] == '{') {
			json_t *j = json_load_text(m, TV(pa), src, fs != NULL, &oom);
			if (oom)
				return -1;
			json_t *sui = json_object_get(j, "sui_image_params");
			if (fs || (json_is_object(j) && fooocus_shape(j))) {
				det d;
				det_init(&d);
				if (json_is_object(j))
					det_map(&d, j, fooocus_map);
				r = push_generator(m, "Fooocus", TV(pa), src, &d);
			} else if (json_is_object(sui)) {
				det d;
				det_init(&d);
				det_map(&d, sui, swarm_map);
				r = push_generator(m, "SwarmUI", TV(pa), src, &d);
			} else {
				r = prov_meta_problem(m, "%s: JSON of no known generator", src);
			}
			json_decref(j);
			if (r < 0)
				return -1;
		} else {
			r = prov_genmeta_infotext(m, TV(pa), src, fs ? "Fooocus" : NULL);
			if (r < 0)
				return -1;
			if (r == 0 && prov_meta_problem(m, "%s: not AUTOMATIC1111 infotext", src) < 0)
				return -1;
		}
		used[ipa] = 1;
	}

	/* anything else that reads as infotext (COM, Comment, Description...) */
	for (i = 0; i < n; i++) {
		if (used[i] || !t[i].value || !t[i].key)
			continue;
		if (!strcmp(t[i].key, "XML:com.adobe.xmp"))
			continue;
		text_source(src, sizeof src, &t[i]);
		r = prov_genmeta_infotext(m, TV(&t[i]), src, NULL);
		if (r < 0)
			return -1;
	}
	return 0;
}

int prov_meta_generators(const prov_text *texts, size_t n, prov_meta *out, veto_error *err)
{
	if (!texts || !n)
		return VETO_OK;
	uint8_t *used = calloc(n, 1);
	if (!used || generators(out, texts, n, used) < 0) {
		free(used);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory reading generator metadata");
	}
	free(used);
	return VETO_OK;
}

/* -------------------------------------------------------------- stealth */

typedef struct lsb {
	const uint8_t *px;
	uint64_t w, h;
	int rgb;          /* 0: alpha LSB; 1: R, G, B LSBs */
	uint64_t bit;     /* next bit index */
	uint64_t nbits;   /* bits the image holds */
} lsb;

static int lsb_byte(lsb *l, uint8_t *out)
{
	if (l->nbits - l->bit < 8)
		return -1;
	unsigned v = 0;
	for (int k = 0; k < 8; k++, l->bit++) {
		uint64_t p = l->rgb ? l->bit / 3 : l->bit;
		unsigned ch = l->rgb ? (unsigned)(l->bit % 3) : 3;
		uint64_t x = p / l->h, y = p % l->h; /* column-major */
		v = v << 1 | (l->px[(y * l->w + x) * 4 + ch] & 1u);
	}
	*out = (uint8_t)v;
	return 0;
}

/* Inflates gzip (or zlib) data to at most cap bytes. *trunc set if cut.
 * NULL for corrupt data (why filled) or no memory (*oom). */
static uint8_t *inflate_capped(const uint8_t *in, size_t n, size_t cap, size_t *outn,
                               int *trunc, int *oom, char *why, size_t whyn)
{
	*trunc = 0;
	*oom = 0;
	uint8_t *o = malloc(cap + 1);
	if (!o) {
		*oom = 1;
		return NULL;
	}
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		free(o);
		*oom = 1;
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = o;
	z.avail_out = (uInt)cap;
	int rc = inflate(&z, Z_FINISH);
	size_t got = cap - z.avail_out;
	if (rc == Z_STREAM_END) {
		/* done */
	} else if (z.avail_out == 0 && (rc == Z_OK || rc == Z_BUF_ERROR)) {
		*trunc = 1;
	} else if (rc == Z_MEM_ERROR) {
		*oom = 1;
	} else {
		snprintf(why, whyn, "%s", z.msg ? z.msg : rc == Z_BUF_ERROR ? "data ends early"
		                                                           : "corrupt data");
		if (got == 0 || rc != Z_BUF_ERROR) {
			inflateEnd(&z);
			free(o);
			return NULL;
		}
		*trunc = 1; /* keep what a truncated stream gave */
	}
	inflateEnd(&z);
	if (*oom) {
		free(o);
		return NULL;
	}
	o[got] = 0;
	*outn = got;
	return o;
}

/* The payload text of a stealth record: infotext, or a JSON object of text
 * records (NovelAI), or neither. */
static int stealth_text(prov_meta *m, const uint8_t *s, size_t n, const char *where,
                        int trunc)
{
	char src[64];
	snprintf(src, sizeof src, "%s", where);
	const uint8_t *b = s;
	size_t bn = n;
	trim(&b, &bn, NULL);
	if (bn && b[0] == '{') {
		int oom;
		json_t *j = json_load_text(m, s, n, where, 0, &oom);
		if (oom)
			return -1;
		if (json_is_object(j)) {
			size_t cnt = json_object_size(j), k = 0;
			if (cnt > 256)
				cnt = 256;
			prov_text *t = calloc(cnt ? cnt : 1, sizeof *t);
			char **vals = calloc(cnt ? cnt : 1, sizeof *vals);
			int r = 0;
			if (!t || !vals) {
				r = -1;
			} else {
				const char *key;
				json_t *v;
				json_object_foreach(j, key, v) {
					if (k == cnt)
						break;
					int tr, o2 = 0;
					char *txt = json_is_string(v) ? json_scalar_text(v, PROV_MAX_TEXT, &tr, &o2)
					                              : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
					if (o2) {
						r = -1;
						break;
					}
					if (!txt)
						continue;
					vals[k] = txt;
					t[k].key = (char *)key;
					t[k].value = txt;
					t[k].len = strlen(txt);
					t[k].where = where;
					k++;
				}
				size_t before = m->n;
				uint8_t *used = calloc(k ? k : 1, 1);
				if (r == 0 && (!used || generators(m, t, k, used) < 0))
					r = -1;
				free(used);
				if (r == 0 && m->n == before)
					r = prov_meta_push(m, "generator", "unknown", s, n, src, 1, NULL, NULL);
				for (size_t q = before; r == 0 && q < m->n; q++)
					m->v[q].truncated |= trunc;
			}
			for (size_t q = 0; vals && q < k; q++)
				free(vals[q]);
			free(vals);
			free(t);
			json_decref(j);
			return r;
		}
		json_decref(j);
	}
	size_t before = m->n;
	int r = prov_genmeta_infotext(m, s, n, src, NULL);
	if (r < 0)
		return -1;
	if (r == 0 && prov_meta_push(m, "generator", "unknown", s, n, src, 1, NULL, NULL) < 0)
		return -1;
	for (size_t q = before; q < m->n; q++)
		m->v[q].truncated |= trunc;
	return 0;
}

static int stealth(prov_meta *m, const uint8_t *rgba, uint32_t width, uint32_t height)
{
	static const char *const sigs[2][2] = {{"stealth_pnginfo", "stealth_pngcomp"},
	                                       {"stealth_rgbinfo", "stealth_rgbcomp"}};
	for (int mode = 0; mode < 2; mode++) {
		lsb l = {rgba, width, height, mode, 0, (uint64_t)width * height * (mode ? 3u : 1u)};
		uint8_t sig[16];
		int ok = 1;
		for (int k = 0; k < 15 && ok; k++)
			ok = lsb_byte(&l, &sig[k]) == 0;
		if (!ok)
			return 0; /* too small to hold a signature */
		sig[15] = 0;
		int comp;
		if (!memcmp(sig, sigs[mode][0], 15))
			comp = 0;
		else if (!memcmp(sig, sigs[mode][1], 15))
			comp = 1;
		else
			continue;
		char where[48];
		snprintf(where, sizeof where, "%s:%s", mode ? "rgb-stealth" : "alpha-stealth",
		         sigs[mode][comp]);
		uint8_t lb[4];
		for (int k = 0; k < 4 && ok; k++)
			ok = lsb_byte(&l, &lb[k]) == 0;
		if (!ok)
			return prov_meta_problem(m, "%s: image ends before the payload length", where);
		uint64_t bits = (uint64_t)lb[0] << 24 | (uint64_t)lb[1] << 16 | (uint64_t)lb[2] << 8 | lb[3];
		uint64_t bytes = bits / 8;
		if (bytes == 0)
			return prov_meta_problem(m, "%s: empty payload", where);
		if (bytes > (l.nbits - l.bit) / 8)
			return prov_meta_problem(m, "%s: payload of %llu bits is larger than the %llu "
			                         "bits the image has left", where,
			                         (unsigned long long)bits,
			                         (unsigned long long)(l.nbits - l.bit));
		size_t cap = comp ? PROV_MAX_TEXT : PROV_META_MAX_STEALTH;
		int cut = 0;
		if (bytes > cap) {
			if (comp)
				return prov_meta_problem(m, "%s: compressed payload of %llu bytes is over "
				                         "the cap", where, (unsigned long long)bytes);
			bytes = cap;
			cut = 1;
		}
		uint8_t *raw = malloc((size_t)bytes + 1);
		if (!raw)
			return -1;
		for (uint64_t k = 0; k < bytes; k++)
			lsb_byte(&l, &raw[k]);
		int r;
		if (comp) {
			size_t outn = 0;
			int trunc, oom;
			char why[128] = "";
			uint8_t *txt = inflate_capped(raw, (size_t)bytes, PROV_META_MAX_STEALTH, &outn,
			                              &trunc, &oom, why, sizeof why);
			free(raw);
			if (oom)
				return -1;
			if (!txt)
				return prov_meta_problem(m, "%s: payload does not inflate: %s", where, why);
			r = 0;
			if (why[0])
				r = prov_meta_problem(m, "%s: payload inflates only in part: %s", where, why);
			else if (trunc)
				r = prov_meta_problem(m, "%s: payload inflates to more than %u bytes; cut",
				                      where, PROV_META_MAX_STEALTH);
			if (r == 0)
				r = stealth_text(m, txt, outn, where, trunc);
			free(txt);
		} else {
			r = 0;
			if (cut)
				r = prov_meta_problem(m, "%s: payload over %u bytes; cut", where,
				                      PROV_META_MAX_STEALTH);
			if (r == 0)
				r = stealth_text(m, raw, (size_t)bytes, where, cut);
			free(raw);
		}
		return r;
	}
	return 0;
}

int prov_meta_stealth(const uint8_t *rgba, uint32_t width, uint32_t height, prov_meta *out,
                      veto_error *err)
{
	if (!rgba || !width || !height)
		return VETO_OK;
	if (stealth(out, rgba, width, height) < 0)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory reading stealth metadata");
	return VETO_OK;
}
