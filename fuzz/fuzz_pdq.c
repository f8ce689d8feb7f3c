/*
 * fuzz_pdq.c - differential fuzzing of the PDQ core against the test
 * oracle (tests/pdq_oracle.h, a slow literal transcription of the
 * reference), plus the hex parser.
 *
 * Input: byte 0 and byte 1 give rows and cols (1..160 each, so the 64x64
 * unfiltered path, the 5 px minimum and every window size up to 2 are
 * reachable); the remaining bytes, taken in pairs and repeated as needed,
 * are luma values v/257 in 0..255 (the documented domain, fractional like
 * an RGB decoder's). veto_pdq_from_luma must agree with the oracle on
 * every bit of all eight hashes and on quality. The raw bytes are also
 * parsed as a hex hash; a success must round-trip (case-insensitively).
 */
#include "pdq_oracle.h"
#include "veto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hex(const uint8_t *data, size_t size)
{
	veto_pdq_hash h;
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = veto_pdq_from_hex(&h, (const char *)data, size, &err);
	if (rc != VETO_OK) {
		ENSURE(rc == VETO_ERR_INVALID && err.message[0]);
		return;
	}
	ENSURE(size == VETO_PDQ_HEX_LEN);
	char out[VETO_PDQ_HEX_LEN + 1];
	veto_pdq_to_hex(&h, out);
	for (size_t i = 0; i < VETO_PDQ_HEX_LEN; i++)
		ENSURE(tolower(data[i]) == out[i]);
	ENSURE(veto_pdq_distance(&h, &h) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_hex(data, size);
	if (size < 2)
		return 0;
	const int rows = 1 + data[0] % 160, cols = 1 + data[1] % 160;
	const uint8_t *px = data + 2;
	const size_t npx = (size - 2) / 2;
	float *luma = (float *)malloc((size_t)rows * cols * sizeof(float));
	if (!luma)
		return 0;
	for (size_t i = 0; i < (size_t)rows * cols; i++) {
		unsigned v = 0;
		if (npx) {
			size_t k = i % npx;
			v = (unsigned)px[2 * k] << 8 | px[2 * k + 1];
		}
		luma[i] = (float)v / 257.0f;
	}
	veto_pdq_hash h, dih[VETO_DIH_COUNT];
	int q = -1, q2 = -1;
	veto_error err;
	ENSURE(veto_pdq_from_luma(luma, rows, cols, &h, &q, NULL, &err) == VETO_OK);
	ENSURE(veto_pdq_from_luma(luma, rows, cols, &h, &q2, dih, &err) == VETO_OK);

	char ohex[65], odih[8][65], vhex[65];
	int oq, odq;
	oracle_pdq(luma, rows, cols, ohex, &oq, odih, &odq);
	veto_pdq_to_hex(&h, vhex);
	ENSURE(strcmp(vhex, ohex) == 0);
	ENSURE(q == oq && q2 == odq);
	for (int v = 0; v < VETO_DIH_COUNT; v++) {
		veto_pdq_to_hex(&dih[v], vhex);
		ENSURE(strcmp(vhex, odih[v]) == 0);
	}
	free(luma);
	return 0;
}
