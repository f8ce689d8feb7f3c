/*
 * signals.c - the four signal types of veto serve: parsing, canonical
 * strings, comparison and hashing of uploaded bytes.
 *
 * An HMA client must get the answers python-threatexchange (pytx) would
 * give, so parsing follows pytx's validate_signal_str functions to the
 * character rather than a tidier grammar of our own:
 *
 *   pdq        re.match("^[0-9a-f]{64}$"): lowercase only, and Python's "$"
 *              also matches before one final "\n", so "<64 hex>\n" passes
 *              (the canonical string drops the newline).
 *   video_md5  str.strip() (Python's Unicode whitespace, which includes
 *              U+001C..U+001F, U+0085, U+00A0, U+2000..U+200A, U+3000...),
 *              lower(), then 32 hex digits.
 *   vpdq       json.loads(s or "[]"), then every element (an object's keys,
 *              since pytx iterates whatever json.loads returns) is split on
 *              "," into exactly three parts: hex, int(quality), float(ts),
 *              with int() and float() grammar as Python has it (surrounding
 *              whitespace, a sign, "_" between digits, inf/nan), quality
 *              0..100, timestamp not < 0 (so NaN passes, as in Python).
 *              The canonical string is vpdq_to_json's: '["h,q,t", ...]',
 *              the timestamp printed as f"{t:.3}" does (see py_format3).
 *   tmk        veto's own: strict RFC 4648 base64 of a .tmk file.
 *
 * Deliberate narrowing, where pytx accepts a string it then cannot use: a
 * vPDQ frame hash must be 64 ASCII hex digits. Python's int(x, 16) would
 * also let "0x", a sign, "_" or padding whitespace through validation, but
 * pytx's matching (binascii.unhexlify, simple_distance) raises on those;
 * upper-case hex works in pytx and is accepted (canonically lowercased).
 * Non-ASCII decimal digits (which int()/float() accept) are refused too.
 *
 * Comparison mirrors pytx's compare_hash: vPDQ de-duplicates then drops
 * quality < 50 (veto_vpdq_compare), and matches when the query percentage
 * reaches 80 (pytx's compared-side threshold is 0). When either side has
 * no frame left, pytx raises ZeroDivisionError and HMA answers 400; we
 * return VETO_ERR_INVALID "division by zero" likewise.
 *
 * Nothing here prints, exits or touches disk.
 */
#include "signals.h"

#include "internal.h"

#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <float.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- names */

static const char *const type_names[VSIG_COUNT] = {"pdq", "video_md5", "vpdq", "tmk"};
static const char *const content_names[VSIG_CONTENT_COUNT] = {"photo", "video"};

const char *vsig_name(int type)
{
	return type >= 0 && type < VSIG_COUNT ? type_names[type] : "?";
}

int vsig_from_name(const char *name)
{
	if (name)
		for (int i = 0; i < VSIG_COUNT; i++)
			if (!strcmp(name, type_names[i]))
				return i;
	return -1;
}

const char *vsig_content_name(int content)
{
	return content >= 0 && content < VSIG_CONTENT_COUNT ? content_names[content] : "?";
}

int vsig_content_from_name(const char *name)
{
	if (name)
		for (int i = 0; i < VSIG_CONTENT_COUNT; i++)
			if (!strcmp(name, content_names[i]))
				return i;
	return -1;
}

int vsig_content_of(int type)
{
	if (type == VSIG_PDQ)
		return VSIG_PHOTO;
	if (type > VSIG_PDQ && type < VSIG_COUNT)
		return VSIG_VIDEO;
	return -1;
}

void vsig_value_clear(vsig_value *v)
{
	if (!v)
		return;
	free(v->frames);
	veto_tmk_free(v->tmk);
	memset(v, 0, sizeof *v);
}

void vsig_hashes_clear(vsig_hashes *h)
{
	if (!h)
		return;
	for (int i = 0; i < VSIG_COUNT; i++)
		free(h->value[i]);
	memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------ Python's strings */

/* The code point at s[*i] (valid UTF-8), advancing *i; -1 if invalid. */
static long utf8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t p = *i;
	unsigned c = u[p];
	long cp;
	int len;
	if (c < 0x80) { *i = p + 1; return c; }
	if (c >= 0xc2 && c <= 0xdf) { cp = c & 0x1f; len = 2; }
	else if (c >= 0xe0 && c <= 0xef) { cp = c & 0x0f; len = 3; }
	else if (c >= 0xf0 && c <= 0xf4) { cp = c & 0x07; len = 4; }
	else return -1;
	if (p + (size_t)len > n)
		return -1;
	for (int k = 1; k < len; k++) {
		if ((u[p + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (u[p + k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i = p + (size_t)len;
	return cp;
}

/* str.isspace(). int() and float() accept the same set minus U+001C..1F
 * (CPython passes ASCII through to a C-locale isspace), which `for_number`
 * selects; checked against python3 for every code point. */
static int py_space(long cp, int for_number)
{
	if (cp >= 0x09 && cp <= 0x0d) return 1;
	if (cp >= 0x1c && cp <= 0x1f) return !for_number;
	return cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Narrow [*b, *e) by Python whitespace on both sides. */
static void py_strip(const char *s, size_t *b, size_t *e, int for_number)
{
	while (*b < *e) {
		size_t i = *b;
		long cp = utf8_next(s, *e, &i);
		if (cp < 0 || !py_space(cp, for_number))
			break;
		*b = i;
	}
	while (*e > *b) {
		/* step back to the start of the last code point */
		size_t st = *e - 1;
		while (st > *b && ((unsigned char)s[st] & 0xc0) == 0x80 && *e - st < 4)
			st--;
		size_t i = st;
		long cp = utf8_next(s, *e, &i);
		if (cp < 0 || i != *e || !py_space(cp, for_number))
			break;
		*e = st;
	}
}

/* A readable quote of the input for messages, like Python's repr() for the
 * usual cases (quotes, escapes of control characters), cut short if long. */
static void py_repr(char *out, size_t cap, const char *s, size_t n)
{
	int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
	char q = has_sq && !has_dq ? '"' : '\'';
	size_t o = 0;
	int cut = 0;
	if (cap < 16) {
		if (cap)
			out[0] = '\0';
		return;
	}
	const size_t lim = cap - 8; /* room for "...'" and the NUL */
	out[o++] = q;
	for (size_t i = 0; i < n && o < lim;) {
		size_t j = i;
		long cp = utf8_next(s, n, &j);
		char tmp[16];
		if (cp < 0) {
			snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned char)s[i]);
			j = i + 1;
		} else if (cp == '\\' || cp == q) {
			snprintf(tmp, sizeof tmp, "\\%c", (char)cp);
		} else if (cp == '\n') {
			strcpy(tmp, "\\n");
		} else if (cp == '\r') {
			strcpy(tmp, "\\r");
		} else if (cp == '\t') {
			strcpy(tmp, "\\t");
		} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) {
			snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)cp & 0xffu);
		} else if ((cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
		           (cp >= 0x205f && cp <= 0x206f) || cp == 0x1680 || cp == 0x3000 ||
		           cp == 0xfeff) {
			snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)cp & 0xffffu);
		} else {
			size_t k = j - i;
			memcpy(tmp, s + i, k);
			tmp[k] = '\0';
		}
		size_t tl = strlen(tmp);
		if (o + tl >= lim) {
			cut = 1; /* too long: stop and mark the cut */
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
		i = j;
		if (i >= n)
			break;
	}
	if (o >= lim || cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = q;
	out[o] = '\0';
}

/* Python int(x) (base 10) on s[b..e): whitespace around, one sign, digits
 * with single "_" between them. ASCII digits only (see the file comment).
 * Values beyond +-1e9 saturate: only 0..100 is ever valid. */
static int py_int(const char *s, size_t b, size_t e, long *out)
{
	py_strip(s, &b, &e, 1);
	int neg = 0;
	if (b < e && (s[b] == '+' || s[b] == '-'))
		neg = s[b++] == '-';
	if (b >= e)
		return -1;
	long v = 0;
	int prev_digit = 0;
	for (size_t i = b; i < e; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			if (v < 1000000000L)
				v = v * 10 + (c - '0');
			prev_digit = 1;
		} else if (c == '_' && prev_digit && i + 1 < e && s[i + 1] >= '0' && s[i + 1] <= '9') {
			prev_digit = 0;
		} else {
			return -1;
		}
	}
	*out = neg ? -v : v;
	return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static int ieq(const char *a, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n != l)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return 0;
	}
	return 1;
}

/* digitpart: digit (["_"] digit)*; returns the end, or `at` if none. */
static size_t digitpart(const char *s, size_t at, size_t e, char *buf, size_t *o)
{
	size_t i = at;
	if (i >= e || s[i] < '0' || s[i] > '9')
		return at;
	while (i < e) {
		if (s[i] >= '0' && s[i] <= '9') {
			buf[(*o)++] = s[i++];
		} else if (s[i] == '_' && i + 1 < e && s[i + 1] >= '0' && s[i + 1] <= '9') {
			i++;
		} else {
			break;
		}
	}
	return i;
}

/* Python float(x) on s[b..e): whitespace around, a sign, inf/infinity/nan
 * in any case, or a decimal literal with "_" between digits; converted
 * with correct rounding (strtod in the C locale, as Python's dtoa). */
static int py_float(const char *s, size_t b, size_t e, double *out)
{
	py_strip(s, &b, &e, 1);
	if (b >= e || e - b > 4096)
		return -1; /* longer literals are refused rather than copied */
	char buf[4100];
	size_t o = 0;
	int neg = 0;
	if (s[b] == '+' || s[b] == '-') {
		neg = s[b] == '-';
		b++;
	}
	if (ieq(s + b, e - b, "inf") || ieq(s + b, e - b, "infinity")) {
		*out = neg ? -INFINITY : INFINITY;
		return 0;
	}
	if (ieq(s + b, e - b, "nan")) {
		*out = neg ? -NAN : NAN;
		return 0;
	}
	if (neg)
		buf[o++] = '-';
	size_t i = b;
	size_t j = digitpart(s, i, e, buf, &o);
	int digits = j > i;
	i = j;
	if (i < e && s[i] == '.') {
		buf[o++] = '.';
		i++;
		j = digitpart(s, i, e, buf, &o);
		digits |= j > i;
		i = j;
	}
	if (!digits)
		return -1;
	if (i < e && (s[i] == 'e' || s[i] == 'E')) {
		buf[o++] = 'e';
		i++;
		if (i < e && (s[i] == '+' || s[i] == '-'))
			buf[o++] = s[i++];
		j = digitpart(s, i, e, buf, &o);
		if (j == i)
			return -1;
		i = j;
	}
	if (i != e)
		return -1;
	buf[o] = '\0';
	pthread_once(&c_locale_once, c_locale_init);
	char *end;
	double v = c_locale ? strtod_l(buf, &end, c_locale) : strtod(buf, &end);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* Python's format(x, ".3"): the "g" rules with precision 3, except that
 * exponent form starts at exp >= p-1 and fixed form keeps one decimal
 * ("1.0", "12.5", "1.23e+02", "1e+02", "0.0333", "nan"). The digits come
 * from printf's %e, which rounds the exact binary value half-even as
 * Python's dtoa does. */
#define PY_PREC 3 /* pytx's VPDQ_TIMESTAMP_PRECISION */
static void py_format3(double x, char out[32])
{
	if (isnan(x)) { strcpy(out, "nan"); return; }
	if (isinf(x)) { strcpy(out, x < 0 ? "-inf" : "inf"); return; }
	char e[48];
	snprintf(e, sizeof e, "%.*e", PY_PREC - 1, x);
	/* e: [-]d.dde[+-]XX */
	const char *p = e;
	int neg = *p == '-';
	if (neg)
		p++;
	char dig[PY_PREC + 1];
	int nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			dig[nd++] = *p;
	int ex = atoi(p + 1);
	while (nd > 1 && dig[nd - 1] == '0') /* "g" drops trailing zeros */
		nd--;
	size_t o = 0;
	if (neg)
		out[o++] = '-';
	if (ex < -4 || ex >= PY_PREC - 1) {
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			for (int k = 1; k < nd; k++)
				out[o++] = dig[k];
		}
		o += (size_t)snprintf(out + o, 32 - o, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
		return;
	}
	if (ex < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int k = 0; k < -ex - 1; k++)
			out[o++] = '0';
		for (int k = 0; k < nd; k++)
			out[o++] = dig[k];
	} else {
		for (int k = 0; k <= ex; k++)
			out[o++] = k < nd ? dig[k] : '0';
		out[o++] = '.';
		if (nd > ex + 1)
			for (int k = ex + 1; k < nd; k++)
				out[o++] = dig[k];
		else
			out[o++] = '0';
	}
	out[o] = '\0';
}

/* ----------------------------------------------------- vPDQ signal strings */

/* Append one frame, as VpdqCompactFeature.__str__ prints it, to list (a
 * JSON array of strings): 0, or -1 if out of memory. */
static int frame_append(json_t *list, const veto_pdq_hash *h, long quality, double ts)
{
	char hex[VETO_PDQ_HEX_LEN + 1], t[32], f[VETO_PDQ_HEX_LEN + 64];
	veto_pdq_to_hex(h, hex);
	py_format3(ts, t);
	snprintf(f, sizeof f, "%s,%ld,%s", hex, quality, t);
	return json_array_append_new(list, json_string(f));
}

/* vpdq_to_json's string: json.dumps(list), whose ", " between items
 * jansson's default (not compact) form shares. NULL if out of memory. */
static char *frames_text(const json_t *list)
{
	return list ? json_dumps(list, 0) : NULL;
}

/* ------------------------------------------------------------- base64 */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Strict RFC 4648 section 4: length a multiple of 4, padding only at the
 * end, no whitespace, and unused bits zero (the one canonical encoding). */
static int b64_decode(const char *s, size_t n, uint8_t **out, size_t *outn, const char **why)
{
	*out = NULL;
	*outn = 0;
	if (n == 0 || n % 4) {
		*why = n ? "length is not a multiple of 4" : "empty";
		return -1;
	}
	size_t pad = 0;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	uint8_t *buf = (uint8_t *)malloc(n / 4 * 3);
	if (!buf) {
		*why = "out of memory";
		return -2;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		const int last = i + 4 == n;
		for (int k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_value((unsigned char)s[i + (size_t)k]);
			if (v[k] < 0) {
				free(buf);
				*why = s[i + (size_t)k] == '=' ? "padding inside the data" :
				       "a character outside the base64 alphabet";
				return -1;
			}
		}
		const uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		                   (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if (last && ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))) {
			free(buf);
			*why = "non-zero bits in the padding";
			return -1;
		}
		buf[o++] = (uint8_t)(w >> 16);
		if (!last || pad < 2)
			buf[o++] = (uint8_t)(w >> 8);
		if (!last || pad < 1)
			buf[o++] = (uint8_t)w;
	}
	*out = buf;
	*outn = o;
	return 0;
}

static char *b64_encode(const uint8_t *d, size_t n)
{
	char *out = (char *)malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		const uint32_t w = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		out[o++] = b64_alphabet[w >> 18];
		out[o++] = b64_alphabet[(w >> 12) & 63];
		out[o++] = b64_alphabet[(w >> 6) & 63];
		out[o++] = b64_alphabet[w & 63];
	}
	if (i < n) {
		uint32_t w = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			w |= (uint32_t)d[i + 1] << 8;
		out[o++] = b64_alphabet[w >> 18];
		out[o++] = b64_alphabet[(w >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(w >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* -------------------------------------------------------------- parsing */

/* 1 + the value of '0'-'9' and 'a'-'f' (pytx's pdq regex has no upper
 * case); 0 for anything else. */
static const unsigned char lower_hex1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int parse_pdq(const char *s, size_t len, vsig_value *out, char **canonical,
                     veto_error *err)
{
	/* Python's "$" also matches just before a final newline. */
	if (len == VETO_PDQ_HEX_LEN + 1 && s[VETO_PDQ_HEX_LEN] == '\n')
		len = VETO_PDQ_HEX_LEN;
	if (len != VETO_PDQ_HEX_LEN)
		return veto_fail(err, VETO_ERR_INVALID, "invalid PDQ hash");
	/* validate and decode in one pass: this runs once per banked hash */
	for (size_t i = 0; i < 32; i++) {
		const int hi = lower_hex1[(unsigned char)s[2 * i]], lo = lower_hex1[(unsigned char)s[2 * i + 1]];
		if (!hi || !lo)
			return veto_fail(err, VETO_ERR_INVALID, "invalid PDQ hash");
		out->pdq.bytes[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	if (canonical) {
		char *c = (char *)malloc(len + 1);
		if (!c)
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		memcpy(c, s, len);
		c[len] = '\0';
		*canonical = c;
	}
	return VETO_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int parse_md5(const char *s, size_t len, vsig_value *out, char **canonical,
                     veto_error *err)
{
	size_t b = 0, e = len;
	py_strip(s, &b, &e, 0);
	int ok = e - b == 32;
	for (size_t i = b; ok && i < e; i++)
		ok = hexval(s[i]) >= 0;
	if (!ok) {
		char r[300];
		py_repr(r, sizeof r, s, len);
		return veto_fail(err, VETO_ERR_INVALID, "%s is not a valid MD5 hash", r);
	}
	char hex[33];
	for (size_t i = 0; i < 32; i++) {
		char c = s[b + i];
		hex[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
	}
	hex[32] = '\0';
	for (int i = 0; i < 16; i++)
		out->md5[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	if (canonical && !(*canonical = strdup(hex)))
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	return VETO_OK;
}

/* VpdqCompactFeature.from_str + assert_valid on one element. */
static int parse_feature(const char *s, size_t n, veto_vpdq_frame *f, double *ts, long *q)
{
	const char *c1 = (const char *)memchr(s, ',', n);
	if (!c1)
		return -1;
	const char *c2 = (const char *)memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - s));
	if (!c2 || memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - s)))
		return -1;
	const size_t hl = (size_t)(c1 - s);
	const size_t qb = hl + 1, qe = (size_t)(c2 - s);
	if (py_int(s, qb, qe, q) != 0 || py_float(s, qe + 1, n, ts) != 0)
		return -1;
	if (hl != VETO_PDQ_HEX_LEN)
		return -1;
	for (size_t i = 0; i < hl; i++)
		if (hexval(s[i]) < 0)
			return -1;
	if (*q < 0 || *q > 100)
		return -1;
	if (*ts < 0) /* NaN is not < 0: Python lets it through */
		return -1;
	veto_pdq_from_hex(&f->pdq, s, hl, NULL);
	f->quality = (int)*q;
	/* the float field only orders frames; keep it finite-safe */
	const double t = *ts;
	f->timestamp = isnan(t) ? NAN : t > FLT_MAX ? INFINITY : (float)t;
	return 0;
}

static int vpdq_bad(veto_error *err, const char *s, size_t n)
{
	char r[300];
	size_t k = n < 280 ? n : 280;
	/* pytx: f"invalid {cls.__name__} serialization: {serialized}" */
	memcpy(r, s, k);
	r[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)r[i] < 0x20)
			r[i] = '?';
	return veto_fail(err, VETO_ERR_INVALID, "invalid VpdqCompactFeature serialization: %s%s",
	                 r, n > k ? "..." : "");
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "float";
	case JSON_TRUE: case JSON_FALSE: return "bool";
	case JSON_NULL: return "NoneType";
	case JSON_ARRAY: return "list";
	case JSON_OBJECT: return "dict";
	default: return "str";
	}
}

static int parse_vpdq(const char *s, size_t len, vsig_value *out, char **canonical,
                      veto_error *err)
{
	json_t *root = NULL;
	size_t n = 0;
	if (len) { /* json.loads(s or "[]"): the empty string is an empty list */
		json_error_t je;
		root = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		if (!root)
			return veto_fail(err, VETO_ERR_INVALID, "invalid vPDQ signal: not JSON: %s "
			                 "(line %d, column %d)", je.text, je.line, je.column);
		if (json_is_array(root))
			n = json_array_size(root);
		else if (json_is_object(root))
			n = json_object_size(root); /* Python iterates a dict's keys */
		else if (json_is_string(root) && json_string_length(root) > 0) {
			/* iterating a str yields 1-char strings: never 3 fields */
			int rc = vpdq_bad(err, json_string_value(root), 1);
			json_decref(root);
			return rc;
		} else if (!json_is_string(root)) {
			int rc = veto_fail(err, VETO_ERR_INVALID, "invalid vPDQ signal: '%s' object "
			                   "is not iterable", json_kind(root));
			json_decref(root);
			return rc;
		}
	}
	veto_vpdq_frame *fr = (veto_vpdq_frame *)calloc(n ? n : 1, sizeof *fr);
	if (!fr) {
		json_decref(root);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory for %zu vPDQ frames", n);
	}
	json_t *list = canonical ? json_array() : NULL; /* the canonical string's frames */
	int nomem = canonical && !list;
	int rc = VETO_OK;
	size_t i = 0;
	void *it = json_is_object(root) ? json_object_iter(root) : NULL;
	for (; i < n; i++) {
		const char *es;
		size_t el;
		if (json_is_object(root)) {
			es = json_object_iter_key(it);
			el = strlen(es);
			it = json_object_iter_next(root, it);
		} else {
			json_t *e = json_array_get(root, i);
			if (!json_is_string(e)) {
				rc = veto_fail(err, VETO_ERR_INVALID, "invalid vPDQ signal: '%s' object "
				               "has no attribute 'split'", json_kind(e));
				break;
			}
			es = json_string_value(e);
			el = json_string_length(e);
		}
		double ts;
		long q;
		if (parse_feature(es, el, &fr[i], &ts, &q) != 0) {
			rc = vpdq_bad(err, es, el);
			break;
		}
		fr[i].frame = (int64_t)i;
		if (list && !nomem)
			nomem = frame_append(list, &fr[i].pdq, q, ts) != 0;
	}
	json_decref(root);
	char *text = rc == VETO_OK && canonical && !nomem ? frames_text(list) : NULL;
	json_decref(list);
	if (rc == VETO_OK && canonical && !text)
		rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	if (rc != VETO_OK) {
		free(fr);
		return rc;
	}
	out->frames = fr;
	out->nframes = n;
	if (canonical)
		*canonical = text;
	return VETO_OK;
}

static int parse_tmk(const char *s, size_t len, vsig_value *out, char **canonical,
                     veto_error *err)
{
	uint8_t *bytes;
	size_t n;
	const char *why = NULL;
	int b = b64_decode(s, len, &bytes, &n, &why);
	if (b == -2)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory decoding a TMK signal");
	if (b != 0)
		return veto_fail(err, VETO_ERR_INVALID, "invalid TMK signal: not standard base64 (%s)",
		                 why);
	veto_error e2;
	int rc = veto_tmk_from_bytes(bytes, n, "TMK signal", &out->tmk, &e2);
	free(bytes);
	if (rc)
		return veto_fail(err, rc == VETO_ERR_NOMEM ? rc : VETO_ERR_INVALID,
		                 "invalid TMK signal: %s", e2.message);
	if (canonical) {
		char *c = (char *)malloc(len + 1);
		if (!c) {
			veto_tmk_free(out->tmk);
			out->tmk = NULL;
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		}
		memcpy(c, s, len);
		c[len] = '\0';
		*canonical = c;
	}
	return VETO_OK;
}

int vsig_parse(int type, const char *s, size_t len, vsig_value *out, char **canonical,
               veto_error *err)
{
	vsig_value tmp;
	if (!out)
		out = &tmp;
	memset(out, 0, sizeof *out);
	if (canonical)
		*canonical = NULL;
	if (!s && len)
		return veto_fail(err, VETO_ERR_INVALID, "no signal given");
	if (!s)
		s = "";
	int rc;
	switch (type) {
	case VSIG_PDQ: rc = parse_pdq(s, len, out, canonical, err); break;
	case VSIG_VIDEO_MD5: rc = parse_md5(s, len, out, canonical, err); break;
	case VSIG_VPDQ: rc = parse_vpdq(s, len, out, canonical, err); break;
	case VSIG_TMK: rc = parse_tmk(s, len, out, canonical, err); break;
	default: return veto_fail(err, VETO_ERR_INVALID, "unknown signal type %d", type);
	}
	if (rc != VETO_OK) {
		vsig_value_clear(out);
		return rc;
	}
	out->type = type;
	if (out == &tmp)
		vsig_value_clear(&tmp);
	return VETO_OK;
}

/* ------------------------------------------------------------ comparing */

int vsig_compare(const vsig_value *a, const vsig_value *b, vsig_score *out, veto_error *err)
{
	memset(out, 0, sizeof *out);
	if (!a || !b || a->type != b->type)
		return veto_fail(err, VETO_ERR_INVALID, "cannot compare signals of different types");
	switch (a->type) {
	case VSIG_PDQ:
		out->distance = veto_pdq_distance(&a->pdq, &b->pdq);
		out->match = out->distance <= VETO_PDQ_MATCH_THRESHOLD;
		return VETO_OK;
	case VSIG_VIDEO_MD5:
		out->match = memcmp(a->md5, b->md5, 16) == 0;
		return VETO_OK;
	case VSIG_VPDQ: {
		veto_vpdq_match m;
		int rc = veto_vpdq_compare(a->frames, a->nframes, b->frames, b->nframes,
		                           VETO_VPDQ_QUALITY, VETO_VPDQ_DISTANCE, &m, err);
		if (rc)
			return rc;
		/* pytx divides by each side's frame count after filtering */
		if (!m.query_frames || !m.target_frames)
			return veto_fail(err, VETO_ERR_INVALID, "division by zero");
		out->query_percent = m.query_percent;
		out->target_percent = m.target_percent;
		/* pytx: query >= 80 and compared >= VPDQ_INDEX_MATCH_THRESHOLD_PERCENT (0) */
		out->match = m.query_percent >= VETO_VPDQ_MATCH_PERCENT && m.target_percent >= 0.0;
		return VETO_OK;
	}
	case VSIG_TMK: {
		int rc = veto_tmk_compare(a->tmk, b->tmk, &out->level1, &out->level2, err);
		if (rc)
			return rc;
		out->match = veto_tmk_is_match(out->level1, out->level2);
		return VETO_OK;
	}
	default:
		return veto_fail(err, VETO_ERR_INVALID, "unknown signal type %d", a->type);
	}
}

void vsig_distance_str(int type, const vsig_score *s, char *buf, size_t cap)
{
	if (!buf || !cap)
		return;
	switch (type) {
	case VSIG_PDQ:
		snprintf(buf, cap, "%d", s->distance);
		break;
	case VSIG_VPDQ: /* VPDQSimilarityInfo.pretty_str: f"{q:.0f}%[{c:.0f}%]" */
		snprintf(buf, cap, "%.0f%%[%.0f%%]", s->query_percent, s->target_percent);
		break;
	case VSIG_TMK: {
		/* a decimal point whatever the process locale */
		pthread_once(&c_locale_once, c_locale_init);
		locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
		snprintf(buf, cap, "%.6f,%.6f", s->level1, s->level2);
		if (old)
			uselocale(old);
		break;
	}
	default: /* NO_DISTANCE_STR */
		snprintf(buf, cap, "-");
		break;
	}
}

/* -------------------------------------------------------------- hashing */

static int hash_photo(const uint8_t *data, size_t size, const char *name,
                      const vsig_hash_limits *lim, vsig_hashes *out, veto_error *err)
{
	veto_hash_options o;
	veto_hash_options_init(&o);
	o.mode = VETO_MODE_EXACT; /* pdqhash on the full decoded image, as HMA */
	o.dihedral = 0;
	o.auto_orient = 0;        /* PIL's Image.open does not apply EXIF */
	o.digests = 0;
	o.threads = 1;
	if (lim && lim->max_pixels)
		o.max_pixels = lim->max_pixels;
	veto_image_hashes h;
	int rc = veto_hash_image_buffer_named(data, size, name, &o, &h, err);
	if (rc)
		return rc;
	char hex[VETO_PDQ_HEX_LEN + 1];
	veto_pdq_to_hex(&h.pdq, hex);
	/* PdqSignal.hash_from_bytes: "" below the quality threshold */
	out->value[VSIG_PDQ] = strdup(h.quality < VETO_PDQ_MIN_QUALITY ? "" : hex);
	if (!out->value[VSIG_PDQ])
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	out->have[VSIG_PDQ] = 1;
	out->pdq_quality = h.quality;
	return VETO_OK;
}

static int hash_video(const uint8_t *data, size_t size, const char *name, unsigned mask,
                      const vsig_hash_limits *lim, vsig_hashes *out, veto_error *err)
{
	if (mask & (1u << VSIG_VIDEO_MD5)) {
		uint8_t md5[16];
		int rc = veto_digest(data, size, md5, NULL, err);
		if (rc)
			return rc;
		char *hex = (char *)malloc(33);
		if (!hex)
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", md5[i]);
		out->value[VSIG_VIDEO_MD5] = hex;
		out->have[VSIG_VIDEO_MD5] = 1;
	}
	const int want_vpdq = (mask & (1u << VSIG_VPDQ)) != 0;
	const int want_tmk = (mask & (1u << VSIG_TMK)) != 0;
	if (!want_vpdq && !want_tmk)
		return VETO_OK;
	veto_video_options o;
	veto_video_options_init(&o);
	o.every = 1.0; /* VPDQSignal.hash_from_file's seconds_per_hash */
	o.digests = 0;
	if (lim) {
		o.max_pixels = lim->max_pixels;
		o.max_seconds = lim->max_seconds;
		o.threads = lim->threads;
	}
	veto_vpdq *vq = NULL;
	veto_tmk *tk = NULL;
	int rc = veto_video_hash_buffer(data, size, name, &o, want_vpdq ? &vq : NULL,
	                                want_tmk ? &tk : NULL, err);
	if (rc)
		return rc;
	if (vq) {
		json_t *list = json_array();
		int nomem = !list;
		for (size_t i = 0; i < vq->count && !nomem; i++)
			nomem = frame_append(list, &vq->frames[i].pdq, vq->frames[i].quality,
			                     (double)vq->frames[i].timestamp) != 0;
		char *text = nomem ? NULL : frames_text(list);
		json_decref(list);
		out->partial |= vq->info.partial;
		veto_vpdq_free(vq);
		if (!text) {
			veto_tmk_free(tk);
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		}
		out->value[VSIG_VPDQ] = text;
		out->have[VSIG_VPDQ] = 1;
	}
	if (tk) {
		const veto_video_info *vi = veto_tmk_video_info(tk);
		if (vi)
			out->partial |= vi->partial;
		uint8_t *bytes;
		size_t n;
		rc = veto_tmk_to_bytes(tk, &bytes, &n, err);
		veto_tmk_free(tk);
		if (rc)
			return rc;
		out->value[VSIG_TMK] = b64_encode(bytes, n);
		free(bytes);
		if (!out->value[VSIG_TMK])
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		out->have[VSIG_TMK] = 1;
	}
	return VETO_OK;
}

int vsig_hash_bytes(int content, const uint8_t *data, size_t size, const char *name,
                    unsigned mask, const vsig_hash_limits *lim, vsig_hashes *out,
                    veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "vsig_hash_bytes: no output");
	memset(out, 0, sizeof *out);
	if (!data && size)
		return veto_fail(err, VETO_ERR_INVALID, "vsig_hash_bytes: no data");
	if (!data)
		data = (const uint8_t *)"";
	if (!name)
		name = "<upload>";
	unsigned of_content = 0;
	for (int t = 0; t < VSIG_COUNT; t++)
		if (vsig_content_of(t) == content)
			of_content |= 1u << t;
	if (!of_content)
		return veto_fail(err, VETO_ERR_INVALID, "unknown content type %d", content);
	mask = mask ? mask & of_content : of_content;
	int rc = VETO_OK;
	if (!mask)
		return VETO_OK; /* nothing of that content asked for */
	if (content == VSIG_PHOTO)
		rc = hash_photo(data, size, name, lim, out, err);
	else
		rc = hash_video(data, size, name, mask, lim, out, err);
	if (rc)
		vsig_hashes_clear(out);
	return rc;
}
