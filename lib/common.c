/*
 * common.c - errors, hex form and Hamming distance of PDQ hashes.
 *
 * Errors are values the caller owns (veto_error), never global state, so
 * the library is thread-safe without locks.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

int veto_fail(veto_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *veto_status_name(int code)
{
	switch (code) {
	case VETO_OK: return "ok";
	case VETO_ERR_IO: return "io";
	case VETO_ERR_FORMAT: return "unknown-format";
	case VETO_ERR_CORRUPT: return "corrupt";
	case VETO_ERR_TOO_LARGE: return "too-large";
	case VETO_ERR_NOMEM: return "out-of-memory";
	case VETO_ERR_INVALID: return "invalid";
	case VETO_ERR_UNSUPPORTED: return "unsupported";
	default: return "error";
	}
}

const char *veto_mode_name(int mode)
{
	switch (mode) {
	case VETO_MODE_EXACT: return "exact";
	case VETO_MODE_CLI512: return "cli512";
	case VETO_MODE_FAST: return "fast";
	default: return "?";
	}
}

const char *veto_dihedral_name(int v)
{
	static const char *const names[VETO_DIH_COUNT] = {
		"original", "rotate90", "rotate180", "rotate270",
		"flipx", "flipy", "flip_plus1", "flip_minus1"};
	return (v >= 0 && v < VETO_DIH_COUNT) ? names[v] : "?";
}

void veto_pdq_to_hex(const veto_pdq_hash *h, char out[VETO_PDQ_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[h->bytes[i] >> 4];
		out[2 * i + 1] = digits[h->bytes[i] & 15];
	}
	out[VETO_PDQ_HEX_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int veto_pdq_from_hex(veto_pdq_hash *h, const char *hex, size_t len, veto_error *err)
{
	if (!h || !hex)
		return veto_fail(err, VETO_ERR_INVALID, "no hash given");
	if (len != VETO_PDQ_HEX_LEN)
		return veto_fail(err, VETO_ERR_INVALID,
		                 "a PDQ hash is 64 hex digits, got %zu characters", len);
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return veto_fail(err, VETO_ERR_INVALID,
			                 "not a hex digit at position %zu of the hash",
			                 hi < 0 ? 2 * i + 1 : 2 * i + 2);
		h->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return VETO_OK;
}

int veto_pdq_distance(const veto_pdq_hash *a, const veto_pdq_hash *b)
{
	int d = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t x, y;
		memcpy(&x, a->bytes + 8 * i, 8);
		memcpy(&y, b->bytes + 8 * i, 8);
		d += __builtin_popcountll(x ^ y);
	}
	return d;
}
