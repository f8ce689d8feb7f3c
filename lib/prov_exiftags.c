/*
 * prov_exiftags.c - the EXIF text fields that say who or what made an
 * image (see prov_meta.h).
 *
 * Only IFD0 and the Exif sub-IFD it points to are read: nothing else in
 * EXIF names a tool, and reading exactly two IFDs, the second only through
 * IFD0's pointer, leaves no room for loops. Every entry count, offset and
 * byte count is checked against the block before use; what fails a check
 * is skipped with a problem line and the walk goes on.
 *
 * UserComment (0x9286) is where AUTOMATIC1111 puts its infotext in JPEG and
 * WebP output: an 8-byte character code, then the text. Its "UNICODE" form
 * is UTF-16 in the TIFF byte order by the standard, but piexif (which
 * A1111 uses) always writes big-endian; piexif also always writes "MM"
 * TIFF, so the two agree there, and for the rest the bytes decide when they
 * plainly contradict the header (ASCII-range text has its zero bytes all
 * on one side).
 */
#include "prov_meta.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct exif {
	const uint8_t *t;
	size_t n;
	int le;
	prov_meta *m;
	char *software;   /* IFD0 Software, for the Fooocus check */
	int oom;
} exif;

static unsigned rd16(const exif *x, size_t o)
{
	const uint8_t *p = x->t + o;
	return x->le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const exif *x, size_t o)
{
	const uint8_t *p = x->t + o;
	return x->le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
	             : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const struct tag {
	unsigned tag;
	int ifd; /* 0: IFD0, 1: Exif IFD */
	const char *name;
} tags[] = {
	{0x010E, 0, "exif:ImageDescription"},
	{0x010F, 0, "exif:Make"},
	{0x0110, 0, "exif:Model"},
	{0x0131, 0, "exif:Software"},
	{0x0132, 0, "exif:DateTime"},
	{0x013B, 0, "exif:Artist"},
	{0x9003, 1, "exif:DateTimeOriginal"},
	{0x9286, 1, "exif:UserComment"},
};
#define NTAGS (sizeof tags / sizeof *tags)

static void problem(exif *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(exif *x, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (prov_meta_problem(x->m, "exif: %s", buf) < 0)
		x->oom = 1;
}

/* ------------------------------------------------------------ UserComment */

static size_t put_utf8(uint8_t *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (uint8_t)(0xC0 | c >> 6);
		o[1] = (uint8_t)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (uint8_t)(0xE0 | c >> 12);
		o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (uint8_t)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | c >> 18);
	o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
	o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
	o[3] = (uint8_t)(0x80 | (c & 0x3F));
	return 4;
}

/* UTF-16 to UTF-8 (malloc'd, *outn bytes), stopping at U+0000; unpaired
 * surrogates become U+FFFD. tiff_le is the block's byte order. */
static uint8_t *utf16_to_utf8(const uint8_t *p, size_t n, int tiff_le, size_t *outn)
{
	n &= ~(size_t)1;
	int le = tiff_le;
	if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
		le = 0, p += 2, n -= 2;
	} else if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
		le = 1, p += 2, n -= 2;
	} else {
		size_t be_like = 0, le_like = 0;
		for (size_t i = 0; i < n; i += 2) {
			be_like += p[i] == 0 && p[i + 1] != 0;
			le_like += p[i] != 0 && p[i + 1] == 0;
		}
		if (le && be_like > 2 * le_like && be_like * 4 > n / 2)
			le = 0;
		else if (!le && le_like > 2 * be_like && le_like * 4 > n / 2)
			le = 1;
	}
	/* each unit makes at most 3 bytes (a pair of units 4) */
	uint8_t *o = malloc(n / 2 * 3 + 1);
	if (!o)
		return NULL;
	size_t w = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t u = le ? (uint32_t)(p[i] | p[i + 1] << 8) : (uint32_t)(p[i] << 8 | p[i + 1]);
		if (u == 0)
			break;
		if (u >= 0xD800 && u < 0xDC00 && i + 3 < n) {
			uint32_t v = le ? (uint32_t)(p[i + 2] | p[i + 3] << 8)
			                : (uint32_t)(p[i + 2] << 8 | p[i + 3]);
			if (v >= 0xDC00 && v < 0xE000) {
				w += put_utf8(o + w, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
				i += 2;
				continue;
			}
		}
		if (u >= 0xD800 && u < 0xE000)
			u = 0xFFFD;
		w += put_utf8(o + w, u);
	}
	o[w] = 0;
	*outn = w;
	return o;
}

/* Length of s[0..n) up to its first NUL, without trailing spaces. */
static size_t text_len(const uint8_t *s, size_t n)
{
	const uint8_t *z = memchr(s, 0, n);
	if (z)
		n = (size_t)(z - s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* The text of a field as malloc'd UTF-8 (*outn bytes), or NULL: *outn = 0
 * and no problem for an empty or undecodable field, x->oom for no memory. */
static char *field_text(exif *x, unsigned tag, const uint8_t *p, size_t n, size_t *outn)
{
	*outn = 0;
	if (tag == 0x9286 && n >= 8) {
		if (!memcmp(p, "UNICODE\0", 8)) {
			size_t k;
			uint8_t *u = utf16_to_utf8(p + 8, n - 8, x->le, &k);
			if (!u) {
				x->oom = 1;
				return NULL;
			}
			k = text_len(u, k);
			char *t = prov_meta_text(u, k, PROV_MAX_TEXT, 0, NULL);
			free(u);
			if (!t)
				x->oom = 1;
			else
				*outn = strlen(t);
			return t;
		}
		if (!memcmp(p, "JIS\0\0\0\0\0", 8)) {
			problem(x, "UserComment (0x9286) is JIS X 0208 text (%zu bytes), not decoded",
			        n - 8);
			return NULL;
		}
		if (!memcmp(p, "ASCII\0\0\0", 8) || !memcmp(p, "\0\0\0\0\0\0\0\0", 8))
			p += 8, n -= 8;
	}
	size_t k = text_len(p, n);
	if (!k)
		return NULL;
	char *t = prov_meta_text(p, k, PROV_MAX_TEXT, 1, NULL);
	if (!t)
		x->oom = 1;
	else
		*outn = strlen(t);
	return t;
}

/* ------------------------------------------------------------- the walk */

static const unsigned type_size[14] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};

static void text_tag(exif *x, const struct tag *tg, unsigned type, uint32_t cnt, size_t e)
{
	if (type != 1 && type != 2 && type != 7) {
		problem(x, "tag 0x%04x has type %u, not text; skipped", tg->tag, type);
		return;
	}
	size_t off = e + 8;
	if (cnt > 4) {
		uint32_t o = rd32(x, e + 8);
		if (o > x->n || cnt > x->n - o) {
			problem(x, "tag 0x%04x: %lu bytes at offset %lu run past the end of the "
			        "%zu-byte block; skipped", tg->tag, (unsigned long)cnt,
			        (unsigned long)o, x->n);
			return;
		}
		off = o;
	}
	size_t n;
	char *t = field_text(x, tg->tag, x->t + off, cnt, &n);
	if (!t)
		return;
	char src[16];
	snprintf(src, sizeof src, "exif:0x%04x", tg->tag);
	if (prov_meta_push(x->m, "exif", tg->name, (const uint8_t *)t, n, src, 0, NULL, NULL) < 0)
		x->oom = 1;
	if (!x->oom && tg->tag == 0x0131 && !x->software) {
		x->software = strdup(t);
		if (!x->software)
			x->oom = 1;
	}
	if (!x->oom && (tg->tag == 0x9286 || tg->tag == 0x010E)) {
		int fooocus = x->software && !strncmp(x->software, "Fooocus", 7);
		int r = 0;
		if (fooocus && n && t[0] == '{')
			r = prov_genmeta_fooocus_json(x->m, (const uint8_t *)t, n, src);
		if (r == 0)
			r = prov_genmeta_infotext(x->m, (const uint8_t *)t, n, src,
			                          fooocus ? "Fooocus" : NULL);
		if (r < 0)
			x->oom = 1;
	}
	free(t);
}

/* Walks one IFD; *sub receives IFD0's Exif IFD pointer (0 if none). */
static void walk(exif *x, uint32_t ifd, int which, uint32_t *sub)
{
	const char *what = which ? "Exif IFD" : "IFD0";
	if (ifd > x->n || x->n - ifd < 2) {
		problem(x, "%s at offset %lu is past the end of the %zu-byte block", what,
		        (unsigned long)ifd, x->n);
		return;
	}
	unsigned count = rd16(x, ifd);
	size_t fit = (x->n - ifd - 2) / 12;
	if (count > fit) {
		problem(x, "%s at offset %lu claims %u entries, only %zu fit in the block", what,
		        (unsigned long)ifd, count, fit);
		count = (unsigned)fit;
	}
	unsigned seen = 0;
	for (unsigned i = 0; i < count && !x->oom; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		unsigned tag = rd16(x, e), type = rd16(x, e + 2);
		uint32_t cnt = rd32(x, e + 4);
		if (!which && tag == 0x8769 && sub && !*sub) {
			if ((type == 4 || type == 13) && cnt >= 1)
				*sub = rd32(x, e + 8);
			else
				problem(x, "Exif IFD pointer has type %u count %lu; ignored", type,
				        (unsigned long)cnt);
			continue;
		}
		for (size_t k = 0; k < NTAGS; k++) {
			if (tags[k].tag != tag || tags[k].ifd != which)
				continue;
			if (seen & 1u << k)
				break; /* first one only */
			seen |= 1u << k;
			if (type < 14 && (uint64_t)cnt * type_size[type] > x->n)
				problem(x, "tag 0x%04x claims %lu items, more than the block holds; "
				        "skipped", tag, (unsigned long)cnt);
			else
				text_tag(x, &tags[k], type, cnt, e);
			break;
		}
	}
}

int prov_meta_exif(const uint8_t *tiff, size_t len, prov_meta *out, veto_error *err)
{
	if (!tiff || !len)
		return VETO_OK;
	exif x = {tiff, len, 0, out, NULL, 0};
	if (len < 8 || !((tiff[0] == 'I' && tiff[1] == 'I') || (tiff[0] == 'M' && tiff[1] == 'M'))) {
		problem(&x, "block of %zu bytes is not TIFF-structured (no II/MM header)", len);
	} else {
		x.le = tiff[0] == 'I';
		if (rd16(&x, 2) != 42) {
			problem(&x, "TIFF magic is %u, not 42", rd16(&x, 2));
		} else {
			uint32_t ifd0 = rd32(&x, 4), sub = 0;
			walk(&x, ifd0, 0, &sub);
			if (!x.oom && sub) {
				if (sub == ifd0)
					problem(&x, "Exif IFD pointer loops back to IFD0 (offset %lu)",
					        (unsigned long)sub);
				else
					walk(&x, sub, 1, NULL);
			}
		}
	}
	free(x.software);
	if (x.oom)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory reading EXIF");
	return VETO_OK;
}
