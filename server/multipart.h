/*
 * multipart.h - a multipart/form-data (RFC 7578) parser over a body that
 * is already in memory. Parts point into the body: nothing is copied, and
 * nothing is written anywhere. Hostile input is expected: every length is
 * bounded, at most `max` parts, header lines at most 1 KiB; anything
 * malformed is an error with a one-line reason. fuzz/fuzz_multipart.c
 * fuzzes it.
 *
 * Why not libmicrohttpd's post processor: it is tied to a live connection
 * (so it cannot be fuzzed in-process) and hands values over in pieces that
 * would have to be reassembled anyway; the body is bounded and in memory
 * already, so parsing it in place is simpler and copies nothing.
 */
#ifndef VETO_SERVER_MULTIPART_H
#define VETO_SERVER_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

/** Parse `body` per the boundary in `content_type`. 0 on success (parts
 * filled, *n set); -1 with `msg` on malformed input. */
int va_multipart_parse(const char *content_type, const uint8_t *body, size_t len,
                       va_part *parts, size_t max, size_t *n, char *msg, size_t msgcap);

#endif
