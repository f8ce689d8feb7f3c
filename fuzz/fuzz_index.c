/*
 * fuzz_index.c - the index file loader on arbitrary bytes.
 *
 * A .vidx file is mapped and trusted once loaded, so the loader must refuse
 * anything that is not exactly what veto_index_save writes: the bytes are
 * written to a temporary file and loaded; whatever loads is then searched
 * (radius, dihedral, k-nearest), changed and merged, so an inconsistent
 * file that slipped through would fault here under ASan.
 */
#include "veto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		snprintf(path, sizeof path, "/tmp/fuzz-index-%d.vidx", (int)getpid());
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	veto_index *idx = NULL;
	veto_error err;
	if (veto_index_load(&idx, path, &err) != VETO_OK) {
		if (!err.message[0] || !strstr(err.message, path))
			abort(); /* a refusal must say which file */
		return 0;
	}
	veto_pdq_hash q[VETO_DIH_COUNT];
	for (int v = 0; v < VETO_DIH_COUNT; v++)
		for (int i = 0; i < 32; i++)
			q[v].bytes[i] = size ? data[(i * 7 + v) % size] : 0;
	veto_search_options o;
	veto_search_options_init(&o);
	o.min_quality = 0;
	veto_match_list l = {0};
	veto_index_search(idx, &q[0], 100, &o, &l, &err);
	o.radius = 100;
	veto_index_search(idx, &q[1], 100, &o, &l, &err);
	o.radius = 31;
	veto_index_search_dihedral(idx, q, 100, &o, &l, &err);
	veto_index_knn(idx, &q[2], 5, &o, &l, &err);
	if (l.n) {
		uint64_t id = l.v[0].id;
		veto_index_delete(idx, &id, 1, NULL, &err);
	}
	veto_index_entry e = {q[3], 42, 100, 1};
	veto_index_add(idx, &e, 1, &err);
	veto_index_merge(idx, &err);
	veto_index_search(idx, &q[3], 100, &o, &l, &err);
	if (l.n < 1)
		abort(); /* the entry just added must be found */
	veto_index_stats st;
	veto_index_stats_get(idx, &st);
	veto_match_list_free(&l);
	veto_index_free(idx);
	return 0;
}
