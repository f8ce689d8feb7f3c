/*
 * fuzz_multipart.c - the multipart/form-data parser (server/multipart.c)
 * on arbitrary bytes.
 *
 * Input: the first line (up to the first '\n') is the Content-Type header
 * value, the rest is the body; an input without '\n' is a body with no
 * Content-Type at all. The body is copied to a buffer of exactly its size
 * so ASan catches any read past it. On success every part must lie inside
 * the body, in order, without overlapping, each closed by CRLF "--"; the
 * strings must be terminated inside their arrays; a second parse must give
 * the same parts. On failure the message must be non-empty and terminated
 * (it is sent to clients), also in a buffer too small for it.
 */
#include "multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, 0, cap))
		abort(); /* not terminated inside its array */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *ctype = NULL;
	size_t blen = size;
	const uint8_t *bsrc = data;
	if (nl) {
		size_t cl = (size_t)(nl - data);
		ctype = malloc(cl + 1);
		if (!ctype)
			return 0;
		memcpy(ctype, data, cl);
		ctype[cl] = 0;
		bsrc = nl + 1;
		blen = size - cl - 1;
	}
	/* exactly blen bytes (malloc(0) may give NULL: use 1 then) */
	uint8_t *body = malloc(blen ? blen : 1);
	if (!body) {
		free(ctype);
		return 0;
	}
	if (blen)
		memcpy(body, bsrc, blen);

	/* the limit on parts varies with the input, so "more than max parts"
	 * is reached too; the array is exactly that long */
	size_t max = 1 + (size % VA_MAX_PARTS);
	va_part *parts = malloc(max * sizeof *parts);
	va_part *again = malloc(max * sizeof *again);
	if (!parts || !again)
		goto out;
	size_t n = 12345;
	char msg[256];
	memset(msg, 'X', sizeof msg);
	int rc = va_multipart_parse(ctype, body, blen, parts, max, &n, msg, sizeof msg);
	if (rc != 0 && rc != -1)
		abort();
	if (rc) {
		check_str(msg, sizeof msg);
		if (!msg[0])
			abort(); /* a reason is always given */
		/* a tiny message buffer must still be terminated, not overrun */
		char small[8];
		size_t n2;
		memset(small, 'X', sizeof small);
		if (va_multipart_parse(ctype, body, blen, again, max, &n2, small, sizeof small) != -1)
			abort();
		check_str(small, sizeof small);
		goto out;
	}
	if (n > max)
		abort();
	const uint8_t *end = body + blen;
	const uint8_t *prev_end = body;
	for (size_t i = 0; i < n; i++) {
		const va_part *p = &parts[i];
		check_str(p->name, sizeof p->name);
		check_str(p->filename, sizeof p->filename);
		check_str(p->content_type, sizeof p->content_type);
		if (p->is_file != 0 && p->is_file != 1)
			abort();
		if (!p->is_file && p->filename[0])
			abort(); /* a filename only comes with is_file */
		if (!p->data || p->data < body || p->data > end || p->len > (size_t)(end - p->data))
			abort(); /* outside the body */
		if (p->data < prev_end)
			abort(); /* out of order or overlapping the previous part */
		/* each part's data is followed by CRLF and a delimiter "--..." */
		const uint8_t *after = p->data + p->len;
		if ((size_t)(end - after) < 4 || memcmp(after, "\r\n--", 4))
			abort();
		/* the data must end before the body does (the closing delimiter
		 * is required) */
		prev_end = after + 4;
		if (p->len)
			(void)(volatile uint8_t)p->data[p->len - 1]; /* readable */
	}
	/* deterministic: the same parse again */
	size_t n2 = 0;
	if (va_multipart_parse(ctype, body, blen, again, max, &n2, msg, sizeof msg) != 0 || n2 != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (again[i].data != parts[i].data || again[i].len != parts[i].len ||
		    again[i].is_file != parts[i].is_file || strcmp(again[i].name, parts[i].name) ||
		    strcmp(again[i].filename, parts[i].filename) ||
		    strcmp(again[i].content_type, parts[i].content_type))
			abort();
out:
	free(parts);
	free(again);
	free(body);
	free(ctype);
	return 0;
}
