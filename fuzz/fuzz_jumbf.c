/*
 * fuzz_jumbf.c - the JUMBF box-tree parser alone (lib/prov_jumbf.c), fast
 * enough to explore box nesting, XLBox sizes and description boxes far
 * deeper than fuzz_c2pa, which validates what it parses. Every box of an
 * accepted tree must lie inside its parent.
 */
#include "prov.h"
#include "prov_jumbf.h"

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const prov_jbox *b, const uint8_t *lo, const uint8_t *hi, int depth)
{
	ENSURE(depth <= PROV_MAX_DEPTH + 1);
	ENSURE(b->box >= lo && b->box + b->box_len <= hi);
	ENSURE(b->payload >= b->box && b->payload + b->payload_len == b->box + b->box_len);
	for (size_t i = 0; i < b->nchild; i++)
		walk(&b->child[i], b->payload, b->payload + b->payload_len, depth + 1);
	(void)prov_jumbf_child(b, "c2pa.claim");
	(void)prov_jumbf_content(b, PROV_FOURCC('c', 'b', 'o', 'r'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	prov_jbox *root = NULL;
	char why[200];
	if (prov_jumbf_parse(data, size, &root, why, sizeof why) == 0) {
		ENSURE(root && root->super);
		walk(root, data, data + size, 0);
	} else {
		ENSURE(!root && why[0]);
	}
	prov_jumbf_free(root);
	return 0;
}
