/*
 * prov_container.c - prov_scan: which container the bytes are, and what
 * the per-format scanners (prov_container_<fmt>.c) share: the problem
 * list, keeping the store / XMP / EXIF / text records (always copies,
 * always capped), text conversion to UTF-8 and bounded inflate.
 *
 * A bare manifest store (a ".c2pa" sidecar, what c2pa-rs's c2pa_io reads)
 * is handled here too: it is the whole input.
 */
#include "prov_container.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* JUMBF type UUID of a C2PA manifest store: 63327061-0011-0010-8000-00AA00389B71 */
static const uint8_t c2pa_store_uuid[16] = {
	0x63, 0x32, 0x70, 0x61, 0x00, 0x11, 0x00, 0x10,
	0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
};

static const char *nm(const char *name)
{
	return name ? name : "<buffer>";
}

void pc_begin(pc_scan *s, prov_assets *out, const char *name, const char *format)
{
	memset(out, 0, sizeof *out);
	memset(s, 0, sizeof *s);
	out->format = format;
	s->a = out;
	s->name = nm(name);
}

static void finish_problems(pc_scan *s);

int pc_end(pc_scan *s, veto_error *err)
{
	finish_problems(s);
	if (s->oom) {
		prov_assets_free(s->a);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory while scanning the container",
		                 s->name);
	}
	return VETO_OK;
}

int pc_not_mine(const char *name, prov_assets *out, veto_error *err)
{
	memset(out, 0, sizeof *out);
	out->format = "unknown";
	return veto_fail(err, VETO_ERR_FORMAT,
	                 "%s: not a JPEG, PNG, WebP, GIF, TIFF, ISO BMFF file or C2PA manifest store",
	                 nm(name));
}

void prov_assets_free(prov_assets *a)
{
	if (!a)
		return;
	free(a->jumbf);
	free(a->xmp);
	free(a->exif);
	for (size_t i = 0; i < a->ntexts; i++) {
		free(a->texts[i].key);
		free(a->texts[i].value);
	}
	free(a->texts);
	for (size_t i = 0; i < a->nproblems; i++)
		free(a->problems[i]);
	free(a->problems);
	const char *f = a->format;
	memset(a, 0, sizeof *a);
	a->format = f;
}

/* ------------------------------------------------------------ problems */

static void add_problem_line(pc_scan *s, const char *line)
{
	prov_assets *a = s->a;
	/* the array doubles whenever n reaches a power of two (or is zero) */
	if ((a->nproblems & (a->nproblems - 1)) == 0) {
		size_t cap = a->nproblems ? a->nproblems * 2 : 1;
		char **v = realloc(a->problems, cap * sizeof *v);
		if (!v) {
			s->oom = 1;
			return;
		}
		a->problems = v;
	}
	char *c = strdup(line);
	if (!c) {
		s->oom = 1;
		return;
	}
	a->problems[a->nproblems++] = c;
}

void pc_problem(pc_scan *s, const char *fmt, ...)
{
	if (s->a->nproblems >= PC_MAX_PROBLEMS) {
		s->problems_dropped++;
		return;
	}
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++) /* one line, whatever went in */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	add_problem_line(s, buf);
}

/* When problems were dropped, the last line becomes their count. */
static void finish_problems(pc_scan *s)
{
	prov_assets *a = s->a;
	if (!s->problems_dropped || !a->nproblems)
		return;
	char buf[128];
	snprintf(buf, sizeof buf, "... and %zu more problems not listed",
	         s->problems_dropped + 1);
	char *c = strdup(buf);
	if (!c) {
		s->oom = 1;
		return;
	}
	free(a->problems[a->nproblems - 1]);
	a->problems[a->nproblems - 1] = c;
}

void pc_fourcc(const uint8_t *p, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"') ? (char)p[i] : '?';
	out[4] = '\0';
}

/* --------------------------------------------------------------- store */

int pc_is_c2pa_superbox(const uint8_t *p, size_t n, int *full)
{
	if (full)
		*full = 0;
	if (n < 8 || memcmp(p + 4, "jumb", 4) != 0)
		return 0;
	size_t h = 8;
	if (pc_be32(p) == 1)
		h = 16;
	/* c2pa-rs looks at the UUID's first 4 bytes only */
	if (n < h + 8 + 4 || memcmp(p + h + 4, "jumd", 4) != 0)
		return 0;
	const uint8_t *uuid = p + h + 8;
	if (memcmp(uuid, "c2pa", 4) != 0)
		return 0;
	if (full && n >= h + 24 + 1 + 5 && memcmp(uuid, c2pa_store_uuid, 16) == 0 &&
	    (p[h + 24] & 0x02) && memcmp(p + h + 25, "c2pa", 5) == 0)
		*full = 1;
	return 1;
}

/* b: the store's bytes; own: b itself when the buffer is ours to keep. */
static void store_common(pc_scan *s, const uint8_t *b, uint8_t *own, size_t n, uint64_t off,
                         const char *what)
{
	prov_assets *a = s->a;
	a->jumbf_stores++;
	if (s->store_seen++) {
		pc_problem(s, "another C2PA manifest store in the %s at %llu: only the first is read",
		           what, (unsigned long long)off);
		free(own);
		return;
	}
	int full;
	if (!pc_is_c2pa_superbox(b, n, &full)) {
		pc_problem(s, "the %s at %llu does not start with a C2PA manifest store superbox",
		           what, (unsigned long long)off);
	} else {
		if (!full)
			pc_problem(s, "the C2PA store in the %s at %llu has a jumd type UUID or label "
			           "other than the C2PA one", what, (unsigned long long)off);
		uint64_t boxlen = pc_be32(b);
		if (boxlen == 1 && n >= 16)
			boxlen = pc_be64(b + 8);
		else if (boxlen == 0)
			boxlen = n;
		if (boxlen != n)
			pc_problem(s, "the C2PA store in the %s at %llu says it is %llu bytes long "
			           "but %zu bytes were found", what, (unsigned long long)off,
			           (unsigned long long)boxlen, n);
	}
	if (n > PROV_MAX_STORE) {
		pc_problem(s, "the C2PA store in the %s at %llu is %zu bytes, over the %u-byte cap: "
		           "not read", what, (unsigned long long)off, n, (unsigned)PROV_MAX_STORE);
		free(own);
		return;
	}
	if (!own) {
		own = malloc(n ? n : 1);
		if (!own) {
			s->oom = 1;
			return;
		}
		if (n)
			memcpy(own, b, n);
	}
	a->jumbf = own;
	a->jumbf_len = n;
	a->jumbf_offset = off;
}

void pc_store(pc_scan *s, const uint8_t *p, size_t n, uint64_t off, const char *what)
{
	store_common(s, p, NULL, n, off, what);
}

void pc_take_store(pc_scan *s, uint8_t *buf, size_t n, uint64_t off, const char *what)
{
	store_common(s, buf, buf, n, off, what);
}

void pc_store_unread(pc_scan *s, const char *why)
{
	s->a->jumbf_stores++;
	s->store_seen++;
	pc_problem(s, "%s", why);
}

/* ---------------------------------------------------------- XMP, EXIF */

void pc_take_xmp(pc_scan *s, uint8_t *buf, size_t n)
{
	if (s->a->xmp) {
		free(buf);
		return;
	}
	buf[n] = 0;
	s->a->xmp = buf;
	s->a->xmp_len = n;
}

void pc_xmp(pc_scan *s, const uint8_t *p, size_t n, uint64_t off, const char *what)
{
	if (s->a->xmp)
		return;
	if (n > PROV_MAX_TEXT) {
		pc_problem(s, "the XMP in the %s at %llu is %zu bytes, over the %u-byte cap: not read",
		           what, (unsigned long long)off, n, (unsigned)PROV_MAX_TEXT);
		return;
	}
	uint8_t *b = malloc(n + 1);
	if (!b) {
		s->oom = 1;
		return;
	}
	if (n)
		memcpy(b, p, n);
	pc_take_xmp(s, b, n);
}

void pc_exif(pc_scan *s, const uint8_t *p, size_t n, uint64_t off, const char *what)
{
	if (s->a->exif)
		return;
	if (n < 8 || !((p[0] == 'I' && p[1] == 'I' && (p[2] == 42 || p[2] == 43) && p[3] == 0) ||
	               (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && (p[3] == 42 || p[3] == 43)))) {
		pc_problem(s, "the EXIF block in the %s at %llu is not TIFF-structured",
		           what, (unsigned long long)off);
		return;
	}
	if (n > PROV_MAX_TEXT) {
		pc_problem(s, "the EXIF block in the %s at %llu is %zu bytes, over the %u-byte cap: "
		           "not read", what, (unsigned long long)off, n, (unsigned)PROV_MAX_TEXT);
		return;
	}
	uint8_t *b = malloc(n);
	if (!b) {
		s->oom = 1;
		return;
	}
	memcpy(b, p, n);
	s->a->exif = b;
	s->a->exif_len = n;
}

/* -------------------------------------------------------------- texts */

/* malloc'd NUL-terminated UTF-8 copy; *bad set when cs is PC_UTF8 and the
 * input was not UTF-8. */
static char *to_utf8(pc_scan *s, const uint8_t *p, size_t n, int cs, size_t *outlen, int *bad)
{
	int latin1 = cs == PC_LATIN1;
	if (cs != PC_LATIN1 && !prov_utf8_valid(p, n)) {
		latin1 = 1;
		if (cs == PC_UTF8)
			*bad = 1;
	}
	size_t m = n;
	if (latin1)
		for (size_t i = 0; i < n; i++)
			m += p[i] >= 0x80;
	char *o = malloc(m + 1);
	if (!o) {
		s->oom = 1;
		return NULL;
	}
	if (!latin1) {
		if (n)
			memcpy(o, p, n);
	} else {
		size_t j = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < 0x80) {
				o[j++] = (char)p[i];
			} else {
				o[j++] = (char)(0xc0 | p[i] >> 6);
				o[j++] = (char)(0x80 | (p[i] & 0x3f));
			}
		}
	}
	o[m] = '\0';
	*outlen = m;
	return o;
}

void pc_text(pc_scan *s, const char *where, const uint8_t *key, size_t klen,
             const uint8_t *val, size_t vlen, int cs, uint64_t off)
{
	prov_assets *a = s->a;
	if (a->ntexts >= PC_MAX_TEXTS) {
		if (!s->texts_dropped++)
			pc_problem(s, "more than %d text records: the %s at %llu and later ones are "
			           "not read", PC_MAX_TEXTS, where, (unsigned long long)off);
		return;
	}
	if (vlen > PROV_MAX_TEXT) {
		pc_problem(s, "the %s record at %llu is %zu bytes, over the %u-byte cap: not read",
		           where, (unsigned long long)off, vlen, (unsigned)PROV_MAX_TEXT);
		return;
	}
	if ((a->ntexts & (a->ntexts - 1)) == 0) {
		size_t cap = a->ntexts ? a->ntexts * 2 : 1;
		prov_text *v = realloc(a->texts, cap * sizeof *v);
		if (!v) {
			s->oom = 1;
			return;
		}
		a->texts = v;
	}
	int bad = 0;
	size_t kl, vl;
	char *k = to_utf8(s, key, klen, cs, &kl, &bad);
	char *v = k ? to_utf8(s, val, vlen, cs, &vl, &bad) : NULL;
	if (!k || !v) {
		free(k);
		return;
	}
	if (bad)
		pc_problem(s, "the %s record at %llu is not valid UTF-8 (read as Latin-1)", where,
		           (unsigned long long)off);
	prov_text *t = &a->texts[a->ntexts++];
	t->key = k;
	t->value = v;
	t->len = vl;
	t->where = where;
}

/* ------------------------------------------------------------- inflate */

int pc_inflate(pc_scan *s, const uint8_t *src, size_t n, size_t limit, uint8_t **out,
               size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (n > UINT_MAX)
		return -1;
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK) {
		s->oom = 1;
		return -2;
	}
	size_t cap = n < limit / 4 ? n * 4 : limit;
	if (cap < 256)
		cap = 256;
	uint8_t *buf = malloc(cap + 1);
	if (!buf) {
		inflateEnd(&z);
		s->oom = 1;
		return -2;
	}
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;
	size_t have = 0;
	int rc = -1;
	for (;;) {
		if (have == cap) {
			if (cap > limit) {
				rc = 1;
				break;
			}
			/* one byte beyond the limit tells "too long" from "exactly" */
			size_t nc = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
			uint8_t *nb = realloc(buf, nc + 1);
			if (!nb) {
				s->oom = 1;
				rc = -2;
				break;
			}
			buf = nb;
			cap = nc;
		}
		size_t room = cap - have;
		if (room > UINT_MAX)
			room = UINT_MAX;
		z.next_out = buf + have;
		z.avail_out = (uInt)room;
		int zr = inflate(&z, Z_NO_FLUSH);
		have = (size_t)(z.next_out - buf);
		if (zr == Z_STREAM_END) {
			rc = have > limit ? 1 : 0;
			break;
		}
		if (zr == Z_MEM_ERROR) {
			s->oom = 1;
			rc = -2;
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = -1;
			break;
		}
		if (have > limit) {
			rc = 1;
			break;
		}
		if (z.avail_in == 0 && have < cap) {
			rc = -1; /* input ended before the stream did */
			break;
		}
	}
	inflateEnd(&z);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[have] = 0;
	*out = buf;
	*outlen = have;
	return 0;
}

/* ------------------------------------------------------ the bare store */

int prov_scan_raw(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                  veto_error *err)
{
	if (n < 8 || memcmp(d + 4, "jumb", 4) != 0)
		return pc_not_mine(name, out, err);
	pc_scan s;
	pc_begin(&s, out, name, "c2pa");
	pc_store(&s, d, n, 0, "file");
	return pc_end(&s, err);
}

/* ------------------------------------------------------------ dispatch */

int prov_scan(const uint8_t *d, size_t n, const char *name, prov_assets *out, veto_error *err)
{
	int (*fn)(const uint8_t *, size_t, const char *, prov_assets *, veto_error *) = NULL;
	if (!d)
		n = 0;
	if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		fn = prov_scan_jpeg;
	else if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
		fn = prov_scan_png;
	else if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		fn = prov_scan_gif;
	else if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 ||
	                    memcmp(d, "II+\0", 4) == 0 || memcmp(d, "MM\0+", 4) == 0))
		fn = prov_scan_tiff;
	else if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
		fn = prov_scan_riff;
	else if (n >= 8 && memcmp(d + 4, "ftyp", 4) == 0)
		fn = prov_scan_bmff;
	else if (n >= 8 && memcmp(d + 4, "jumb", 4) == 0)
		fn = prov_scan_raw;
	if (!fn)
		return pc_not_mine(name, out, err);
	return fn(d, n, name, out, err);
}
