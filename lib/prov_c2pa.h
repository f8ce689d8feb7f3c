/*
 * prov_c2pa.h - validate a C2PA manifest store and describe it as JSON.
 *
 * Input is the reassembled JUMBF store (prov_container.c finds it) and the
 * asset bytes its hard binding covers. Output is one JSON object that
 * mirrors c2pa-rs's Reader JSON where the two overlap (active_manifest,
 * manifests{label: {claim_generator, signature_info, assertions, ...}},
 * validation_status, validation_results{activeManifest, ingredientDeltas},
 * status codes named as c2pa-rs names them) plus what a moderator needs
 * on top: veto's overall state, the AI declarations found in actions, and
 * the list of things that were present but not validated.
 */
#ifndef VETO_PROV_C2PA_H
#define VETO_PROV_C2PA_H

#include "prov.h"
#include "prov_cose.h"

#include <jansson.h>

typedef struct prov_c2pa_input {
	const uint8_t *store;          /* JUMBF manifest store */
	size_t store_len;
	const uint8_t *asset;          /* the file the hard binding covers; NULL
	                                * when validating a store on its own */
	size_t asset_len;
	uint64_t store_range_start;    /* where the embedded store sits in the
	                                * asset (container bytes included), for
	                                * update manifests; 0/0 if unknown */
	uint64_t store_range_len;
	const char *source;            /* "embedded", "sidecar" */
	const prov_trust *trust;       /* NULL: no trust list */
} prov_c2pa_input;

/* Validates everything in the store reachable from the active manifest.
 * Returns a new JSON object, or NULL with err set (out of memory only: a
 * malformed store is described in the JSON with a failure status). */
json_t *prov_c2pa_validate(const prov_c2pa_input *in, veto_error *err);

#endif
