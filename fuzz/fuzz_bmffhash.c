/*
 * fuzz_bmffhash.c - the C2PA BMFF hard binding check (lib/prov_bmffhash.c)
 * on a hostile assertion and a hostile asset together.
 *
 * Input: 2 bytes (big-endian) = length L of an assertion's CBOR, then those
 * L bytes, then the asset. When the CBOR does not load (or L runs past the
 * input), a fixed assertion is used instead: {alg: "sha256", exclusions:
 * [{xpath: "/uuid"}, {xpath: "/ftyp"}], hash: 32 zero bytes}, so the box
 * walker and range builder still see every asset. The label's version
 * (v1, v2, v3) follows the first length byte's low bits. The result must be
 * one of the four codes with a reason.
 */
#include "prov.h"
#include "prov_bmffhash.h"
#include "prov_cbor.h"

#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cbor_item_t *fixed_assertion(void)
{
	static const uint8_t zero[32];
	cbor_item_t *m = cbor_new_definite_map(3);
	cbor_item_t *ex = cbor_new_definite_array(2);
	const char *xp[2] = {"/uuid", "/ftyp"};
	for (int i = 0; i < 2; i++) {
		cbor_item_t *e = cbor_new_definite_map(1);
		cbor_map_add(e, (struct cbor_pair){cbor_move(cbor_build_string("xpath")), cbor_move(cbor_build_string(xp[i]))});
		cbor_array_push(ex, cbor_move(e));
	}
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("alg")), cbor_move(cbor_build_string("sha256"))});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("exclusions")), cbor_move(ex)});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("hash")), cbor_move(cbor_build_bytestring(zero, 32))});
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t l = (size_t)data[0] << 8 | data[1];
	const uint8_t *asset = data + 2;
	size_t alen = size - 2;
	cbor_item_t *a = NULL;
	char why[256];
	if (l <= alen) {
		a = prov_cbor_load(data + 2, l, why, sizeof why);
		if (a) {
			asset += l;
			alen -= l;
		}
	}
	if (!a)
		a = fixed_assertion();
	if (!a)
		return 0;
	static const char *labels[4] = {"c2pa.hash.bmff", "c2pa.hash.bmff.v2", "c2pa.hash.bmff.v3__1", NULL};
	why[0] = 'x';
	int r = prov_bmff_hash_check(asset, alen, a, labels[data[0] & 3], (data[1] & 1) ? "sha384" : NULL,
	                             why, sizeof why);
	ENSURE(r == PROV_BMFF_MATCH || r == PROV_BMFF_MISMATCH || r == PROV_BMFF_MALFORMED ||
	       r == PROV_BMFF_UNSUPPORTED);
	ENSURE(memchr(why, 0, sizeof why) != NULL && why[0] != '\0');
	cbor_decref(&a);
	return 0;
}
