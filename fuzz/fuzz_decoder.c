/*
 * fuzz_decoder.c - one decoder entry point on arbitrary bytes. Built once
 * per format (fuzz_jpeg, fuzz_png, ...) with VETO_FUZZ_DECODER naming the
 * veto_decode_<fmt> function from lib/internal.h, so each fuzzer spends
 * all its time inside one parser, with no sniffing in front of it.
 *
 * Checked besides "no crash, no leak": the status is a real one, failures
 * carry a message naming the input, and a success produced a plane of at
 * least 1x1 within the 4 MP pixel limit (every decoder must enforce it
 * before allocating), which is freed here.
 */
#include "internal.h"

#include <string.h>

#ifndef VETO_FUZZ_DECODER
#error "define VETO_FUZZ_DECODER=veto_decode_<format>"
#endif

#define FUZZ_MAX_PIXELS 4000000u
#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_params p;
	memset(&p, 0, sizeof p);
	p.max_pixels = FUZZ_MAX_PIXELS;
	p.fast = 0;
	p.name = "<fuzz-input>";
	luma_sink s;
	memset(&s, 0, sizeof s);
	decode_info info;
	memset(&info, 0, sizeof info);
	info.orientation = 1; /* as veto_decode_image presets it */
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = VETO_FUZZ_DECODER(data, size, &p, &s, &info, &err);
	ENSURE(rc <= 0 && rc >= VETO_ERR_UNSUPPORTED);
	if (rc != VETO_OK) {
		ENSURE(err.code == rc);
		ENSURE(strstr(err.message, "<fuzz-input>") != NULL);
		return 0;
	}
	ENSURE(s.width > 0 && s.height > 0);
	ENSURE((uint64_t)s.width * (uint64_t)s.height <= FUZZ_MAX_PIXELS);
	ENSURE(info.orientation >= 1 && info.orientation <= 8);
	sink_free(&s);
	return 0;
}
