/*
 * fuzz_cose.c - prov_cose_verify on arbitrary claim + COSE bytes.
 *
 * Input: one flag byte (bit 0: claim version 2), a big-endian 16-bit claim
 * length, the claim, then the COSE_Sign1 (whatever is left). Each input is
 * checked twice: without a trust list and with a fixed in-memory one (a
 * self-signed root made once at start-up, so chain building, OCSP
 * responder and time-stamp trust code all run). The clock is pinned, so a
 * crash reproduces on any day. Every status must be well formed: a known
 * kind, a code, the url we passed.
 */
#include "prov_cose.h"
#include "fuzz_trust.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define URL "self#jumbf=/c2pa/fuzz/c2pa.signature"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const prov_status_list *st, const prov_sig_info *in)
{
	for (size_t i = 0; i < st->n; i++) {
		ENSURE(st->v[i].kind >= PROV_SUCCESS && st->v[i].kind <= PROV_FAILURE);
		ENSURE(st->v[i].code && st->v[i].code[0]);
		ENSURE(st->v[i].url && !strcmp(st->v[i].url, URL));
	}
	ENSURE(memchr(in->alg, 0, sizeof in->alg) && memchr(in->issuer, 0, sizeof in->issuer));
	ENSURE(memchr(in->time, 0, sizeof in->time) && memchr(in->ocsp, 0, sizeof in->ocsp));
	/* A verified signature is always reported, and never with a failure
	 * of the signature itself. */
	if (prov_status_has(st, "claimSignature.validated", PROV_SUCCESS))
		ENSURE(in->signature_ok && !prov_status_has(st, "claimSignature.mismatch", -1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int version = (data[0] & 1) ? 2 : 1;
	size_t cl = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	if (cl > size)
		cl = size;
	const uint8_t *claim = data, *cose = data + cl;
	size_t cose_len = size - cl;
	for (int t = 0; t < 2; t++) {
		prov_status_list st = { 0 };
		prov_sig_info in;
		veto_error err;
		int rc = prov_cose_verify(cose, cose_len, claim, cl, version, t ? trust : NULL, URL, &st,
		                          &in, &err);
		ENSURE(rc == VETO_OK || rc == VETO_ERR_NOMEM);
		check(&st, &in);
		prov_status_free(&st);
	}
	return 0;
}
