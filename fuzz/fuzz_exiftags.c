/*
 * fuzz_exiftags.c - prov_meta_exif (lib/prov_exiftags.c) on arbitrary bytes.
 *
 * The EXIF block of an upload is attacker-controlled: every IFD offset,
 * entry count and byte count in it is hostile. Besides "no
 * crash, no leak, no hang": the call succeeds (only lack of memory may
 * fail it), and every finding is well formed: valid UTF-8 strings within
 * the caps, detail JSON that parses, item and problem counts within their
 * caps. libFuzzer's buffer is exactly `size` bytes and not NUL-terminated,
 * so ASan catches any read past the block.
 */
#include "fuzz_meta_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	prov_meta m = {0};
	veto_error err = {0};
	int rc = prov_meta_exif(size ? data : NULL, size, &m, &err);
	ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
	meta_check(&m, 0);
	for (size_t i = 0; i < m.n; i++)
		ENSURE(!strcmp(m.v[i].kind, "generator") || m.v[i].ai == 0);
	prov_meta_free(&m);
	return 0;
}
