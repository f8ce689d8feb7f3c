/*
 * fuzz_xmp.c - prov_meta_xmp (lib/prov_xmp.c) on arbitrary bytes.
 *
 * The XMP packet of an upload is attacker-controlled XML. Besides "no
 * crash, no leak, no hang": the call succeeds (only lack of memory may
 * fail it), and every finding is well formed: valid UTF-8 strings within
 * the caps, detail JSON that parses, item and problem counts within their
 * caps. libFuzzer's buffer is exactly `size` bytes and not NUL-terminated,
 * so ASan catches any read past the packet.
 */
#include "fuzz_meta_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	prov_meta m = {0};
	veto_error err = {0};
	int rc = prov_meta_xmp(size ? (const char *)data : NULL, size, &m, &err);
	ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
	meta_check(&m, 0);
	for (size_t i = 0; i < m.n; i++)
		if (!strncmp(m.v[i].name, "Iptc4xmpExt:DigitalSource", 25))
			ENSURE(m.v[i].ai == (m.v[i].dst == PROV_DST_AI));
	prov_meta_free(&m);
	return 0;
}
