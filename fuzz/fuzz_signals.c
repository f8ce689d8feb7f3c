/*
 * fuzz_signals.c - veto_signals_buffer on arbitrary bytes: the whole
 * pipeline `veto signals` runs on an upload (container walk, C2PA, XMP,
 * EXIF, generator records, pixel decode, stealth and watermark readers).
 * Either a report (valid JSON) or a clean error.
 */
#include "internal.h"

#include <jansson.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veto_signals_options o;
	veto_signals_options_init(&o);
	o.max_pixels = 1u << 20;
	veto_signals *r = NULL;
	veto_error err = {0};
	if (veto_signals_buffer(data, size, "fuzz", NULL, 0, &o, &r, &err) != VETO_OK) {
		ENSURE(err.message[0]);
		return 0;
	}
	json_t *j = json_loads(veto_signals_json(r), 0, NULL);
	ENSURE(j);
	json_decref(j);
	veto_signals_free(r);
	return 0;
}
