/*
 * prov_cose.h - the signature of a C2PA claim: COSE_Sign1, its X.509
 * certificates, its RFC 3161 time-stamp and its stapled OCSP response.
 *
 * prov_cose_verify follows c2pa-rs (sdk/src/claim.rs verify_claim and the
 * modules under sdk/src/crypto/cose) so that the status codes, their kinds
 * and their order match what c2pa-rs logs for the same signature:
 *
 *   1. parse the COSE_Sign1 (tag 18 required, as coset does);
 *   2. the signer's chain (protected label 33 or "x5chain", or the legacy
 *      unprotected "x5chain"; never both);
 *   3. the stapled OCSP response ("rVals"), if any;
 *   4. the time-stamp ("sigTst2" / "sigTst"), if any;
 *   5. the algorithm, the signing certificate's profile, its chain against
 *      the trust list, and the signature itself.
 *
 * The signing time (for certificate validity, chain and OCSP) is the
 * time-stamp's when it validated and, for 2.x claims, its authority is
 * trusted (1.x claims get c2pa-rs's legacy grace: any validated
 * time-stamp); otherwise "now". As in c2pa-rs, claimSignature.insideValidity
 * goes with every verified signature: an expired signing certificate shows
 * as signingCredential.expired.
 *
 * Where this departs from c2pa-rs, on purpose:
 *  - the time-stamp authority is always checked against the trust list, so
 *    an untrusted TSA gives timeStamp.untrusted (informational) for 1.x
 *    claims too (c2pa-rs's known-good outputs show this; its current code
 *    skips the check for 1.x claims and logs timeStamp.trusted);
 *  - a TSA or OCSP responder certificate failing the profile is reported
 *    through timeStamp.untrusted / ignored, never as signingCredential.*;
 *  - a certificate c2pa-rs gives up on without a status (unreadable RSA-PSS
 *    parameters, EC key without a named curve, unreadable extended key
 *    usage or basic constraints, a repeated extension) gets
 *    signingCredential.invalid; a missing or unusable x5chain or an
 *    unreadable signing certificate gets claimSignature.mismatch (c2pa-rs
 *    stops with an error and no status);
 *  - with no trust list (trust NULL) the chain is reported as
 *    signingCredential.untrusted (c2pa-rs run without trust checking
 *    reports nothing).
 *  - signingCredential.ocsp.revoked is a failure and validation goes on
 *    (c2pa-rs logs it as informational and aborts the claim);
 *  - integer algorithms outside the seven C2PA ones are all
 *    algorithm.unsupported (coset refuses unregistered ones as unparsable).
 *
 * The three source files split the work: prov_cose.c (CBOR, COSE, the
 * signature and the order above), prov_x509.c (trust list, certificate
 * profile, chain, OCSP) and prov_tsa.c (time-stamp tokens). The section at
 * the end is what they share with each other and with the tests/fuzzers.
 */
#ifndef VETO_PROV_COSE_H
#define VETO_PROV_COSE_H

#include "prov.h"

#include <stddef.h>
#include <stdint.h>

/* A trust list: an X509_STORE of trust anchors (roots, or intermediates,
 * which are accepted as anchors too, as c2pa-rs does with PARTIAL_CHAIN).
 * Read-only once loaded; one may be shared by any number of threads. */
typedef struct prov_trust prov_trust;

/* Loads a PEM bundle. Fails (VETO_ERR_IO / VETO_ERR_CORRUPT, message naming
 * the file) if it cannot be read or holds no certificate. */
int prov_trust_load(const char *pem_path, prov_trust **out, veto_error *err);
/* The same from PEM text in memory; `name` is used in messages. */
int prov_trust_load_mem(const void *pem, size_t len, const char *name, prov_trust **out,
                        veto_error *err);
void prov_trust_free(prov_trust *t);
/* Number of anchors in t (0 for NULL). */
int prov_trust_count(const prov_trust *t);

typedef struct prov_sig_info {
	char alg[16];             /* c2pa-rs spelling: "Ps256", "Ps384", "Ps512", "Es256",
	                           * "Es384", "Es512", "Ed25519"; "" if unknown */
	char issuer[256];         /* what c2pa-rs reports as signature_info.issuer: the
	                           * organization (last O) of the signing certificate's
	                           * SUBJECT, not of its issuer */
	char common_name[256];    /* signing certificate's subject CN (last one) */
	char cert_serial[128];    /* decimal, the serial's bytes read as unsigned, as
	                           * c2pa-rs prints it */
	char time[40];            /* RFC 3339 ("2024-08-06T21:53:37+00:00") from a
	                           * validated time-stamp, "" if none */
	char tsa[256];            /* the time-stamp signer's CN, "" if none */
	int chain_len;            /* certificates in x5chain (leaf included) */
	int trusted;              /* chain verified against the trust list */
	int signature_ok;         /* the COSE signature verified */
	char ocsp[32];            /* "" (no rVals), "good", "revoked", "unknown",
	                           * "unverified" (stapled but unusable or its
	                           * responder not trusted) */
} prov_sig_info;

/*
 * cose: the content of the c2pa.signature box's cbor box (a tagged
 * COSE_Sign1); claim: the exact bytes of the claim's cbor box (the detached
 * payload); claim_version 1 (c2pa.claim) or 2 (c2pa.claim.v2); trust may be
 * NULL (no trust list: signingCredential.untrusted); sig_url is the url
 * every status gets ("self#jumbf=/c2pa/<manifest>/c2pa.signature").
 * cose == NULL means the signature box is absent (claimSignature.missing).
 * Appends statuses to st and fills *info (zeroed first). Returns VETO_OK,
 * or VETO_ERR_NOMEM when memory ran out (st->oom may also be set).
 */
int prov_cose_verify(const uint8_t *cose, size_t cose_len, const uint8_t *claim,
                     size_t claim_len, int claim_version, const prov_trust *trust,
                     const char *sig_url, prov_status_list *st, prov_sig_info *info,
                     veto_error *err);

/* ------------------------------------------------- shared by prov_cose.c,
 * prov_x509.c, prov_tsa.c, the tests and the fuzzers (not for callers). */

#include <openssl/x509.h>

/* The clock every validity check uses when no time-stamp gives the signing
 * time. prov_cose_set_clock(t) pins it to Unix time t (tests and fuzzers,
 * so results do not change as certificates expire); 0 restores the real
 * clock. */
void prov_cose_set_clock(int64_t t);
int64_t prov_cose_now(void);

/* Which extended key usages an end-entity certificate may carry
 * (c2pa-rs's CertificateTrustPolicy EKU list for each role). */
enum prov_eku_role {
	PROV_EKU_SIGNER = 0,   /* claim signer: c2pa-rs's valid_eku_oids.cfg */
	PROV_EKU_TSA = 1,      /* time-stamp authority: id-kp-timeStamping */
	PROV_EKU_OCSP = 2      /* OCSP responder: id-kp-OCSPSigning */
};

/* c2pa-rs's end-entity certificate profile (certificate_profile.rs): v3,
 * validity at time t (signingCredential.expired), signature algorithm,
 * RSA-PSS parameters, EC curve, RSA modulus >= 2048, no unique ids, EKU
 * rules, AKI, key usage, no unhandled critical extension, not a CA.
 * Appends at most one failure status (signingCredential.invalid or
 * signingCredential.expired) to st (which may be NULL) with url; `why`
 * (may be NULL) receives the reason. Returns 0 if the profile holds. */
int prov_x509_check_profile(X509 *cert, int role, int64_t t, const char *url,
                            prov_status_list *st, char *why, size_t whylen);

/* Verifies leaf up to an anchor of trust with `untrusted` as candidate
 * intermediates (may be NULL), X509_STRICT and PARTIAL_CHAIN, at time t,
 * or without any time check when t < 0 (c2pa-rs's rules). 1 if trusted,
 * 0 if not (why says why), never an error. */
int prov_x509_verify_chain(const prov_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                           int64_t t, char *why, size_t whylen);

/* Last subject attribute `nid` (NID_organizationName, NID_commonName) as
 * UTF-8 into out; "" if absent or not convertible. All of them joined
 * with no separator when `all` (c2pa-rs names the TSA that way). */
void prov_x509_subject_attr(X509 *cert, int nid, int all, char *out, size_t outlen);
/* The serial number's content octets read as an unsigned big-endian
 * integer, in decimal. */
void prov_x509_serial_dec(X509 *cert, char *out, size_t outlen);
/* ASN1_TIME (UTCTime or GeneralizedTime) to Unix seconds; -1 if bad. */
int prov_asn1_time_unix(const ASN1_TIME *t, int64_t *out);
/* Unix seconds (+ nanoseconds) to RFC 3339 as chrono's to_rfc3339 prints
 * it: "+00:00", fraction only when non-zero, in 3, 6 or 9 digits. */
void prov_rfc3339(int64_t t, long nanos, char *out, size_t outlen);

/* The stapled OCSP response (rVals.ocspVals[0]) for chain[0] issued by
 * chain[1]: signature, responder profile (OCSP EKU) and trust, then the
 * single response for the signer at signing time t (< 0: none). Sets
 * ocsp ("good", "revoked", "unknown", "unverified") and appends
 * signingCredential.ocsp.notRevoked / signingCredential.ocsp.revoked. */
void prov_ocsp_check(const uint8_t *der, size_t len, STACK_OF(X509) *chain,
                     const prov_trust *trust, int64_t t, const char *url,
                     prov_status_list *st, char ocsp[32]);

/* What prov_tsa_verify found. */
typedef struct prov_tst_result {
	int validated;         /* signature, TSA validity and imprint all good:
	                        * timeStamp.validated was logged */
	int profile_ok;        /* ... and the TSA certificate meets the profile
	                        * (what c2pa-rs needs to report a signing time) */
	int trusted;           /* ... and chains to the trust list (timeStamp.trusted) */
	int64_t time;          /* signing time (Unix seconds) when validated */
	long nanos;            /* its fraction, from genTime */
	char tsa[256];         /* TSA certificate CN */
} prov_tst_result;

/* One RFC 3161 token (a TimeStampResp or a bare TimeStampToken) over
 * `data` (the countersignature structure): c2pa-rs's verify_time_stamp.
 * Appends timeStamp.* statuses (validated, trusted, untrusted, mismatch,
 * malformed, outsideValidity) with url. */
void prov_tsa_verify(const uint8_t *token, size_t token_len, const uint8_t *data,
                     size_t data_len, const prov_trust *trust, const char *url,
                     prov_status_list *st, prov_tst_result *res);

#endif
