/*
 * fuzz_cbor.c - the CBOR guard in front of libcbor (lib/prov_cbor.c).
 *
 * Whatever prov_cbor_check accepts must load in libcbor without a huge
 * allocation and span exactly the bytes the checker said; every typed
 * reader must cope with every item type.
 */
#include "prov.h"
#include "prov_cbor.h"

#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	size_t used = 0;
	int ok = prov_cbor_check(data, size, &used, why, sizeof why) == 0;
	ENSURE(!ok || (used >= 1 && used <= size));
	cbor_item_t *it = prov_cbor_load(data, size, why, sizeof why);
	if (!it)
		return 0;
	ENSURE(ok && used == size);
	size_t n;
	int64_t v;
	char *s = prov_cbor_strdup(it);
	free(s);
	(void)prov_cbor_bytes(it, &n);
	(void)prov_cbor_int(it, &v);
	(void)prov_cbor_get(it, "alg");
	(void)prov_cbor_get_int(it, 1);
	cbor_decref(&it);
	return 0;
}
