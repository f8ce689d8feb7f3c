/*
 * fuzz_exif.c - veto_exif_orientation on arbitrary bytes.
 *
 * The EXIF block of an upload is attacker-controlled and parsed before
 * anything else (it decides how the image is rotated), so every offset in
 * it is hostile. The result must always be an orientation 1..8; ASan
 * catches any read outside the block (libFuzzer's buffer is exactly
 * `size` bytes long).
 */
#include "internal.h"

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int o = veto_exif_orientation(size ? data : NULL, size);
	ENSURE(o >= 1 && o <= 8);
	return 0;
}
