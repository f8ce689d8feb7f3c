/*
 * api_fetch.c - hashing media fetched by URL (HMA's ?url= on /h/hash,
 * /m/lookup and /c/bank/<b>/content), with libcurl, into memory only.
 *
 * HMA fetches any http(s) URL when its ALLOWED_HOSTNAMES is empty, which
 * makes the service a proxy into the operator's network (SSRF). veto
 * refuses URLs unless --allow-hosts is set, and then only those hosts and
 * their subdomains (HMA's rule), only http/https, no redirects (a redirect
 * could leave the list), a 30 s budget and --max-fetch bytes (HMA's 100 MB
 * default; 413 "Content too large" past it). The body is kept in memory
 * and hashed there; nothing touches disk.
 */
#include "api_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* HMA's is_valid_url (minus its GitHub exception) plus the allow-list. */
static int url_allowed(const char *url, const char *allow, char *why, size_t cap)
{
	const char *p;
	if (!strncasecmp(url, "http://", 7))
		p = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		p = url + 8;
	else
		return snprintf(why, cap, "only http and https URLs are fetched"), 0;
	size_t hl = strcspn(p, ":/?#");
	if (!hl)
		return snprintf(why, cap, "the URL has no host"), 0;
	if (memchr(p, '@', strcspn(p, "/?#")))
		return snprintf(why, cap, "URLs with credentials are not fetched"), 0;
	if (p[hl] == ':') {
		const char *q = p + hl + 1;
		size_t dl = strspn(q, "0123456789");
		if (!dl || (q[dl] && !strchr("/?#", q[dl])))
			return snprintf(why, cap, "the URL's port is not a number"), 0;
	}
	if (!allow || !*allow)
		return snprintf(why, cap, "fetching media by URL is disabled: start veto serve "
		                          "with --allow-hosts HOST[,HOST...]"), 0;
	char host[256];
	if (hl >= sizeof host)
		return snprintf(why, cap, "host name too long"), 0;
	for (size_t i = 0; i < hl; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[hl] = 0;
	const char *a = allow;
	while (*a) {
		size_t al = strcspn(a, ",");
		if (al && al <= hl && !strncasecmp(host + hl - al, a, al) &&
		    (al == hl || host[hl - al - 1] == '.'))
			return 1;
		a += al + (a[al] == ',');
	}
	return snprintf(why, cap, "host '%.200s' is not in --allow-hosts", host), 0;
}

typedef struct fetch_buf {
	uint8_t *data;
	size_t len, cap, max;
	int too_big;
} fetch_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	fetch_buf *b = ud;
	size_t n = size * nmemb;
	if (b->len + n > b->max) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 65536;
		while (nc < b->len + n)
			nc *= 2;
		uint8_t *t = realloc(b->data, nc);
		if (!t)
			return 0;
		b->data = t;
		b->cap = nc;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	return n;
}

int va_hash_url(va_ctx *c, const char *url, const char *content_type_hint,
                const char *types, vsig_hashes *out)
{
	char why[256];
	memset(out, 0, sizeof *out);
	if (!url_allowed(url, c->s->cfg.allow_hosts, why, sizeof why)) {
		va_error(c, 400, "Invalid or unsafe URL provided: %s", why);
		return -1;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		va_error(c, 500, "cannot start an HTTP client");
		return -1;
	}
	fetch_buf b = {NULL, 0, 0, c->s->cfg.max_fetch, 0};
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->s->cfg.max_fetch);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "veto-serve/" VETO_VERSION_STRING);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	char ctbuf[128];
	snprintf(ctbuf, sizeof ctbuf, "%s", ctype ? ctype : "");
	curl_easy_cleanup(h);
	int ret = -1;
	if (b.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		va_error(c, 413, "Content too large");
	} else if (rc != CURLE_OK) {
		va_error(c, 400, "Failed to fetch URL: %s", cerr[0] ? cerr : curl_easy_strerror(rc));
	} else if (status >= 400) {
		va_error(c, 400, "Failed to fetch URL: HTTP %ld", status);
	} else {
		const char *ct_name = content_type_hint && *content_type_hint ? content_type_hint : NULL;
		if (!ct_name) {
			if (!strncasecmp(ctbuf, "image", 5))
				ct_name = "photo";
			else if (!strncasecmp(ctbuf, "video", 5))
				ct_name = "video";
		}
		int content = ct_name ? vsig_content_from_name(ct_name) : -1;
		unsigned mask;
		veto_error e;
		if (!ct_name)
			va_error(c, 400, "unsupported url ContentType: '%s', if you know the expected "
			                 "type, provide it with the content_type query param", ctbuf);
		else if (content < 0)
			va_error(c, 400, "no such content_type: '%s'", ct_name);
		else if (va_types_mask(c, content, types, &mask) == 0) {
			vsig_hash_limits lim = {c->s->cfg.max_pixels, c->s->cfg.video_seconds, 1};
			atomic_fetch_add(&c->s->hashes, 1);
			if (vsig_hash_bytes(content, b.data, b.len, url, mask, &lim, out, &e)) {
				vsig_hashes_clear(out);
				va_error(c, 400, "cannot hash the fetched media: %s", e.message);
			} else {
				ret = 0;
			}
		}
	}
	free(b.data);
	return ret;
}
