/*
 * fuzz_c2pa.c - a C2PA manifest store on arbitrary bytes: the JUMBF box
 * walk (lib/prov_jumbf.c), the CBOR guard and libcbor (lib/prov_cbor.c),
 * and the whole validation of lib/prov_c2pa.c (claims, hashed URIs, data
 * hash exclusions, ingredients, the COSE signature path).
 *
 * Input: the store itself; the same bytes also serve as the "asset" the
 * data hash covers, so exclusion ranges are exercised against a real
 * length. The report must always come back as a JSON object.
 */
#include "prov_c2pa.h"

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	prov_c2pa_input in = {0};
	in.store = data;
	in.store_len = size;
	in.asset = data;
	in.asset_len = size;
	in.store_range_start = size > 16 ? 8 : 0;
	in.store_range_len = size > 16 ? size / 2 : 0;
	veto_error err = {0};
	json_t *j = prov_c2pa_validate(&in, &err);
	ENSURE(j && json_is_object(j));
	json_decref(j);
	return 0;
}
