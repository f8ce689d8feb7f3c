/*
 * fuzz_image.c - the whole public path on arbitrary bytes:
 * veto_hash_image_buffer (sniff, decode, orient, squash, PDQ, digests).
 *
 * Input: byte 0 chooses the options, the rest is the file. Bits 0-1: mode
 * (0 exact, 1 cli512, 2 fast, 3 exact); bit 2: dihedral; bit 3: EXIF
 * auto-orientation; bit 4: digests. max_pixels is 4 MP so that a fuzzer
 * spends its time on parsing, not on hashing huge planes. The seed corpus
 * (scripts/fuzz-corpus.sh) prefixes real files with such a byte.
 * Beyond "no crash", the result must be coherent: a status code that
 * exists, a message on failure, quality 0..100, dihedral[0] == pdq, the
 * hashed size within the limit (512x512 at most in cli512 mode).
 */
#include "veto.h"

#include <string.h>

#define FUZZ_MAX_PIXELS 4000000u

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t sel = data[0];
	data++;
	size--;
	veto_hash_options o;
	veto_hash_options_init(&o);
	o.mode = (sel & 3) == 3 ? VETO_MODE_EXACT : (int)(sel & 3);
	o.dihedral = (sel >> 2) & 1;
	o.auto_orient = (sel >> 3) & 1;
	o.digests = (sel >> 4) & 1;
	o.max_pixels = FUZZ_MAX_PIXELS;

	(void)veto_image_sniff(data, size);
	veto_image_hashes h;
	veto_error err;
	memset(&err, 0, sizeof err);
	int rc = veto_hash_image_buffer(size ? data : NULL, size, &o, &h, &err);
	ENSURE(rc <= 0 && rc >= VETO_ERR_UNSUPPORTED);
	ENSURE(strcmp(veto_status_name(rc), "error") != 0);
	if (rc != VETO_OK) {
		ENSURE(err.code == rc);
		ENSURE(err.message[0] != '\0');
		ENSURE(memchr(err.message, '\0', sizeof err.message) != NULL);
		return 0;
	}
	ENSURE(h.quality >= 0 && h.quality <= 100);
	ENSURE(h.file_bytes == size);
	ENSURE(h.format != NULL);
	ENSURE(h.hashed_width > 0 && h.hashed_height > 0);
	ENSURE((uint64_t)h.hashed_width * h.hashed_height <= FUZZ_MAX_PIXELS);
	if (o.mode == VETO_MODE_CLI512)
		ENSURE(h.hashed_width <= 512 && h.hashed_height <= 512);
	ENSURE(h.orientation >= 1 && h.orientation <= 8);
	ENSURE(h.has_dihedral == o.dihedral);
	if (o.dihedral)
		ENSURE(memcmp(&h.dihedral[0], &h.pdq, sizeof h.pdq) == 0);
	ENSURE(h.has_digests == o.digests);
	if (h.hashed_width < 5 || h.hashed_height < 5) {
		veto_pdq_hash zero;
		memset(&zero, 0, sizeof zero);
		ENSURE(memcmp(&h.pdq, &zero, sizeof zero) == 0 && h.quality == 0);
	}
	return 0;
}
