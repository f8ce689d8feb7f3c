/*
 * fuzz_trust.h - the trust list fuzz_cose.c and fuzz_x509.c verify
 * against: one self-signed EC root made at start-up (LLVMFuzzerInitialize,
 * which also pins the validity clock to 2026-01-01 so results do not drift
 * with the date), so chain building and trust checks run on every input
 * without any file.
 */
#ifndef VETO_FUZZ_TRUST_H
#define VETO_FUZZ_TRUST_H

#include "prov_cose.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#ifndef ENSURE
#define ENSURE(c) do { if (!(c)) __builtin_trap(); } while (0)
#endif

static prov_trust *make_trust(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	ENSURE(k && x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	ASN1_TIME_set(X509_getm_notBefore(x), 946684800);   /* 2000 */
	ASN1_TIME_set(X509_getm_notAfter(x), 4102444800);   /* 2100 */
	X509_set_pubkey(x, k);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz root", -1,
	                           -1, 0);
	X509_set_issuer_name(x, nm);
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	ENSURE(e && X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ENSURE(X509_sign(x, k, EVP_sha256()) > 0);
	BIO *bio = BIO_new(BIO_s_mem());
	ENSURE(bio && PEM_write_bio_X509(bio, x));
	char *pem;
	long n = BIO_get_mem_data(bio, &pem);
	prov_trust *t = NULL;
	veto_error err;
	ENSURE(prov_trust_load_mem(pem, (size_t)n, "fuzz", &t, &err) == VETO_OK);
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(k);
	return t;
}

static prov_trust *trust;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	prov_cose_set_clock(1767225600); /* 2026-01-01 */
	trust = make_trust();
	return 0;
}

#endif
