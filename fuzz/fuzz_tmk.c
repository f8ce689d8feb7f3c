/*
 * fuzz_tmk.c - the .tmk reader on arbitrary bytes.
 *
 * veto_tmk_from_bytes must refuse anything that is not a well-formed file
 * (with a message naming it) and never read out of bounds. Whatever it
 * accepts must be exactly what veto_tmk_to_bytes writes back (the format
 * has no slack, so a parse that changed the data would be a bug), and
 * must survive being scored against itself: the scoring loops are bounded
 * by the reader's limits, so a slow input here is a reader bug too.
 * Small valid files exist (no periods, or one short period and a couple
 * of coefficients: about 1-3 KB), so the fuzzer reaches the scores; seeds
 * are the shared video/expected-tmk files.
 */
#include "veto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veto_tmk *t = NULL;
	veto_error err;
	memset(&err, 0, sizeof err);
	(void)veto_tmk_sniff(data, size);
	if (veto_tmk_from_bytes(data, size, "fuzz.tmk", &t, &err) != VETO_OK) {
		if (t || !strstr(err.message, "fuzz.tmk"))
			abort(); /* a refusal leaves no object and names the input */
		return 0;
	}
	uint8_t *back = NULL;
	size_t n = 0;
	if (veto_tmk_to_bytes(t, &back, &n, &err) != VETO_OK || n != size ||
	    memcmp(back, data, size) != 0)
		abort(); /* what parses must write back byte for byte */
	free(back);
	double l1 = 0, l2 = 0;
	if (veto_tmk_compare(t, t, &l1, &l2, &err) != VETO_OK)
		abort(); /* a signature is always comparable with itself */
	(void)veto_tmk_is_match(l1, l2);
	(void)veto_tmk_frame_count(t);
	(void)veto_tmk_mean_feature(t);
	veto_tmk_free(t);
	return 0;
}
