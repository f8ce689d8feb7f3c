/*
 * fuzz_x509.c - the certificate code of prov_cose (lib/prov_x509.c,
 * lib/prov_tsa.c) on arbitrary DER.
 *
 * The input is read as a run of DER certificates (d2i_X509 until one
 * fails): the first is checked against c2pa-rs's profile in each role
 * (signer, time-stamp authority, OCSP responder), its names and serial
 * are read, and it is verified as a leaf over the others against a fixed
 * in-memory trust list, with and without a time. The whole input is also
 * handed to the time-stamp token reader and to the OCSP response reader
 * (with the certificates read as the signer's chain), since those take
 * DER straight from the file too.
 */
#include "prov_cose.h"
#include "fuzz_trust.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string.h>

#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define URL "self#jumbf=/c2pa/fuzz/c2pa.signature"
#define MAX_CERTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	STACK_OF(X509) *chain = sk_X509_new_null();
	STACK_OF(X509) *inter = sk_X509_new_null();
	ENSURE(chain && inter);
	const unsigned char *p = data;
	while (sk_X509_num(chain) < MAX_CERTS && p < data + size) {
		X509 *x = d2i_X509(NULL, &p, (long)(data + size - p));
		if (!x)
			break;
		ENSURE(sk_X509_push(chain, x));
		if (sk_X509_num(chain) > 1)
			ENSURE(sk_X509_push(inter, x));
	}
	ERR_clear_error();
	prov_status_list st = { 0 };
	if (sk_X509_num(chain) > 0) {
		X509 *leaf = sk_X509_value(chain, 0);
		char why[256], s[256];
		for (int role = PROV_EKU_SIGNER; role <= PROV_EKU_OCSP; role++) {
			size_t before = st.n;
			int rc = prov_x509_check_profile(leaf, role, 1767225600, URL, &st, why,
			                                 sizeof why);
			/* One failure status exactly when the profile fails. */
			ENSURE(rc ? st.n == before + 1 : st.n == before);
			ENSURE(memchr(why, 0, sizeof why));
		}
		prov_x509_subject_attr(leaf, NID_organizationName, 0, s, sizeof s);
		ENSURE(memchr(s, 0, sizeof s));
		prov_x509_subject_attr(leaf, NID_commonName, 1, s, sizeof s);
		ENSURE(memchr(s, 0, sizeof s));
		prov_x509_serial_dec(leaf, s, sizeof s);
		ENSURE(memchr(s, 0, sizeof s));
		int a = prov_x509_verify_chain(trust, leaf, inter, 1767225600, why, sizeof why);
		int b = prov_x509_verify_chain(trust, leaf, inter, -1, why, sizeof why);
		ENSURE((a == 0 || a == 1) && (b == 0 || b == 1));
		ENSURE(!prov_x509_verify_chain(NULL, leaf, inter, -1, why, sizeof why));
	}
	static const uint8_t msg[] = "countersignature";
	prov_tst_result res;
	prov_tsa_verify(data, size, msg, sizeof msg - 1, trust, URL, &st, &res);
	ENSURE(!res.trusted || (res.validated && res.profile_ok));
	char ocsp[32];
	prov_ocsp_check(data, size, chain, trust, -1, URL, &st, ocsp);
	ENSURE(memchr(ocsp, 0, sizeof ocsp));
	for (size_t i = 0; i < st.n; i++)
		ENSURE(st.v[i].code && st.v[i].url && !strcmp(st.v[i].url, URL));
	prov_status_free(&st);
	sk_X509_free(inter);
	sk_X509_pop_free(chain, X509_free);
	return 0;
}
