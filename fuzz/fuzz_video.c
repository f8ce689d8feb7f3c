/*
 * fuzz_video.c - the demux/decode entry point on hostile bytes.
 *
 * The input is a whole file in memory, handed to veto_vpdq_hash_buffer
 * (libavformat through veto's I/O callbacks, the decoder, swscale, PDQ)
 * and, when its first byte is odd, to veto_tmk_hash_buffer as well (the
 * TMK filter graph and resampler). Budgets keep each run short and small:
 * frames of at most 1 MP, 64 decoded frames, one second. What must hold:
 * no crash, no leak, no undefined behaviour, and either an error with a
 * message or a result whose frames are in order.
 */
#include "veto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veto_video_options o;
	veto_video_options_init(&o);
	o.every = 0;
	o.threads = 1;
	o.digests = 0;
	o.max_pixels = 1 << 20;
	o.max_frames = 64;
	o.max_seconds = 1.0;
	veto_error err;
	veto_vpdq *v = NULL;
	if (veto_vpdq_hash_buffer(data, size, "fuzz", &o, &v, &err) == VETO_OK) {
		for (size_t i = 1; i < v->count; i++)
			if (v->frames[i].frame <= v->frames[i - 1].frame)
				abort();
		veto_vpdq_free(v);
	} else if (!err.message[0]) {
		abort();
	}
	if (size && (data[0] & 1)) {
		veto_tmk *t = NULL;
		if (veto_tmk_hash_buffer(data, size, "fuzz", &o, &t, &err) == VETO_OK)
			veto_tmk_free(t);
		else if (!err.message[0])
			abort();
	}
	return 0;
}
