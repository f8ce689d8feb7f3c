/*
 * fetch_remote.c - `veto signals --fetch-remote`: download a remote C2PA
 * manifest store (the URL in a file's XMP dcterms:provenance) into memory.
 *
 * Opt-in because it tells the manifest's host that someone is looking at
 * this file. Only http and https, at most 3 redirects (http/https only),
 * 30 s, and a byte cap (a manifest store is rarely more than a few MB);
 * nothing is written to disk. This lives in the CLI, not libveto, because
 * the library does no network I/O.
 */
#include "cli.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct fetch_buf {
	uint8_t *p;
	size_t n, cap, max;
	int too_big;
} fetch_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	fetch_buf *b = ud;
	size_t n = size * nmemb;
	if (n > b->max - b->n) {
		b->too_big = 1;
		return 0;
	}
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q)
			return 0;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	return n;
}

int cli_fetch_url(const char *url, size_t max_bytes, uint8_t **out, size_t *len, char *why,
                  size_t whylen)
{
	*out = NULL;
	*len = 0;
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
		snprintf(why, whylen, "%s: not an http(s) URL", url);
		return -1;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(why, whylen, "libcurl failed to start");
		return -1;
	}
	fetch_buf b = {NULL, 0, 0, max_bytes, 0};
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "veto/" VETO_VERSION_STRING);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	if (b.too_big) {
		snprintf(why, whylen, "%s: more than %zu bytes, not a manifest store", url, max_bytes);
	} else if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s: %s", url, err[0] ? err : curl_easy_strerror(rc));
	} else {
		*out = b.p;
		*len = b.n;
		return 0;
	}
	free(b.p);
	return -1;
}
