/*
 * test_prov_cose.c - prov_cose_verify (lib/prov_cose.h) on real C2PA
 * signatures and on signatures made here.
 *
 * Usage: test_prov_cose COSE_DATA_DIR TESTDATA_DIR
 *   COSE_DATA_DIR: tests/data/cose, claim/COSE pairs cut from the c2pa-rs
 *                  and c2pa-ts fixtures (see README.txt there)
 *   TESTDATA_DIR:  the shared test data (provenance/c2pa/trust/
 *                  test_cert_root_bundle.pem, provenance/c2pa/expected/)
 *
 * 1. Every real pair, without a trust list and with the C2PA test roots:
 *    algorithm, issuer, CN, serial, time, TSA, and the exact ordered list
 *    of status codes and kinds. C.jpg, CA.jpg and XCA.jpg are also held
 *    against c2pa-rs's own Reader JSON (known_good).
 * 2. Damage to those pairs: a flipped byte in the claim, the signature or
 *    the protected header fails the signature; every truncation of the
 *    COSE is a failure status, never a crash.
 * 3. Signatures made at run time with OpenSSL (a CA, signers for every
 *    algorithm, a time-stamp authority, an OCSP responder) for what the
 *    fixtures do not cover: each algorithm, certificate profile failures,
 *    expiry with and without a time-stamp, OCSP good / revoked / unknown,
 *    structural rules of COSE.
 *
 * The clock prov_cose uses for "now" is pinned (prov_cose_set_clock), so
 * results do not change as the fixtures' certificates expire.
 */
#include "prov_cose.h"

#include "check.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <time.h>

#define FIXTURE_CLOCK 1767225600 /* 2026-01-01T00:00:00Z */
#define SIG_URL "self#jumbf=/c2pa/test/c2pa.signature"

/* ------------------------------------------------------------- helpers */

/* "S:code I:code F:code" */
static char *codes(const prov_status_list *st)
{
	size_t cap = 64;
	for (size_t i = 0; i < st->n; i++)
		cap += strlen(st->v[i].code) + 3;
	char *s = malloc(cap);
	REQUIRE(s, "out of memory");
	s[0] = 0;
	for (size_t i = 0; i < st->n; i++) {
		char k = st->v[i].kind == PROV_SUCCESS ? 'S'
		       : st->v[i].kind == PROV_INFORMATIONAL ? 'I' : 'F';
		size_t l = strlen(s);
		snprintf(s + l, cap - l, "%s%c:%s", i ? " " : "", k, st->v[i].code);
	}
	return s;
}

typedef struct run {
	prov_status_list st;
	prov_sig_info info;
	char *codes;
	int rc;
} run;

static void verify(run *r, const uint8_t *cose, size_t cose_len, const uint8_t *claim,
                   size_t claim_len, int version, const prov_trust *trust)
{
	memset(r, 0, sizeof *r);
	veto_error err = { 0 };
	r->rc = prov_cose_verify(cose, cose_len, claim, claim_len, version, trust, SIG_URL, &r->st,
	                         &r->info, &err);
	r->codes = codes(&r->st);
	for (size_t i = 0; i < r->st.n; i++) {
		CHECK(r->st.v[i].url && !strcmp(r->st.v[i].url, SIG_URL), "status %s url %s",
		      r->st.v[i].code, r->st.v[i].url ? r->st.v[i].url : "(null)");
		CHECK(r->st.v[i].explanation && r->st.v[i].explanation[0], "status %s explained",
		      r->st.v[i].code);
	}
}

static void run_free(run *r)
{
	prov_status_free(&r->st);
	free(r->codes);
}

static int validated(const run *r)
{
	return prov_status_has(&r->st, "claimSignature.validated", PROV_SUCCESS);
}

/* ----------------------------------------------------- part 1: fixtures */

#define TS_OK "S:timeStamp.validated I:timeStamp.untrusted "
#define TS_BAD "I:timeStamp.mismatch "
#define UNTRUSTED "F:signingCredential.untrusted "
#define TRUSTED "S:signingCredential.trusted "
#define SIG_OK "S:claimSignature.insideValidity S:claimSignature.validated"
#define SIG_BAD "F:claimSignature.mismatch"

typedef struct fixture {
	const char *claim;     /* blob base name of the claim */
	const char *cose;      /* of the COSE */
	int version;
	const char *alg, *issuer, *cn, *serial, *time, *tsa;
	int chain_len;
	const char *plain;     /* codes without a trust list */
	const char *trusted;   /* codes with the C2PA test roots */
	const char *ocsp;
} fixture;

static const fixture fixtures[] = {
	{ "C-1", "C-1", 1, "Ps256", "C2PA Test Signing Cert", "C2PA Signer",
	  "720724073027128164015125666832722375746636448153", "2024-08-06T21:53:37+00:00",
	  "DigiCert Timestamp 2023", 2, TS_OK UNTRUSTED SIG_OK, TS_OK TRUSTED SIG_OK, "" },
	{ "CA-1", "CA-1", 1, "Ps256", "C2PA Test Signing Cert", "C2PA Signer",
	  "720724073027128164015125666832722375746636448153", "2024-08-06T21:53:37+00:00",
	  "DigiCert Timestamp 2023", 2, TS_OK UNTRUSTED SIG_OK, TS_OK TRUSTED SIG_OK, "" },
	/* E-sig-CA.jpg: CA.jpg's claim patched after signing, same COSE. */
	{ "E-sig-CA-1", "CA-1", 1, "Ps256", "C2PA Test Signing Cert", "C2PA Signer",
	  "720724073027128164015125666832722375746636448153", "", "", 2,
	  TS_BAD UNTRUSTED SIG_BAD, TS_BAD TRUSTED SIG_BAD, "" },
	/* CIE-sig-CA.jpg: the ingredient's manifest fails, the active one not. */
	{ "CIE-sig-CA-1", "CIE-sig-CA-1", 1, "Ps256", "C2PA Test Signing Cert", "C2PA Signer",
	  "720724073027128164015125666832722375746636448153", "", "", 2,
	  TS_BAD UNTRUSTED SIG_BAD, TS_BAD TRUSTED SIG_BAD, "" },
	{ "CIE-sig-CA-2", "CIE-sig-CA-2", 1, "Ps256", "C2PA Test Signing Cert", "C2PA Signer",
	  "720724073027128164015125666832722375746636448153", "2025-05-30T03:15:13+00:00",
	  "DigiCert Timestamp 2024", 2, TS_OK UNTRUSTED SIG_OK, TS_OK TRUSTED SIG_OK, "" },
	/* ocsp.jpg: real Adobe signers, stapled OCSP (responder not trusted). */
	{ "ocsp-1", "ocsp-1", 1, "Ps256", "Adobe Inc.", "Adobe Firefly C2PA Stage",
	  "310665949469838386185380984752231266212090716844", "2025-08-13T16:18:11+00:00",
	  "Adobe SHA256 ECC256 Timestamp Responder 2025 1", 2, TS_OK UNTRUSTED SIG_OK,
	  TS_OK UNTRUSTED SIG_OK, "unverified" },
	{ "ocsp-2", "ocsp-2", 1, "Ps256", "Adobe Inc.", "Adobe C2PA",
	  "28651076926158642445677524766118780318", "2025-08-13T16:30:55+00:00",
	  "Adobe SHA256 ECC256 Timestamp Responder 2025 1", 2, TS_OK UNTRUSTED SIG_OK,
	  TS_OK UNTRUSTED SIG_OK, "unverified" },
	/* c2pa.claim.v2, ES256, sigTst2 (a bare token). */
	{ "C_with_CAWG_data-1", "C_with_CAWG_data-1", 2, "Es256", "C2PA Test Signing Cert",
	  "C2PA Signer", "640229841392226413189608867977836244731148734950",
	  "2025-07-29T23:13:49+00:00", "DigiCert SHA256 RSA4096 Timestamp Responder 2025 1", 2,
	  TS_OK UNTRUSTED SIG_OK, TS_OK TRUSTED SIG_OK, "" },
	/* no_alg.jpg: ES256 signature stored as DER. */
	{ "no_alg-1", "no_alg-1", 2, "Es256", "C2PA Test Signing Cert", "C2PA Signer",
	  "640229841392226413189608867977836244731148734950", "", "", 2,
	  "F:signingCredential.invalid " SIG_BAD, "F:signingCredential.invalid " SIG_BAD, "" },
	{ "amazon-titan-g1-1", "amazon-titan-g1-1", 1, "Es384", "Amazon Web Services, Inc.",
	  "Amazon Web Services, Inc.", "19299476128165458474368448501226761570",
	  "2024-09-25T08:29:07+00:00", "DigiCert Timestamp 2023", 3, TS_OK UNTRUSTED SIG_OK,
	  TS_OK UNTRUSTED SIG_OK, "unverified" },
	/* dashinit.mp4: chain in the unprotected header, no time-stamp. */
	{ "dashinit-1", "dashinit-1", 1, "Es256", "Media Publisher Company", "Alice",
	  "231582073800106855458784768030131201943489567163", "", "", 4, UNTRUSTED SIG_OK,
	  UNTRUSTED SIG_OK, "" },
	{ "cloud_manifest-1", "cloud_manifest-1", 1, "Ps256", "Adobe Inc.", "cai-prod",
	  "117468664790937121336398959340346743515", "2022-09-09T19:30:51+00:00",
	  "DigiCert Timestamp 2022 - 2", 2, TS_OK UNTRUSTED SIG_OK, TS_OK UNTRUSTED SIG_OK, "" },
	{ "cloud_manifest-2", "cloud_manifest-2", 1, "Es256", "C2PA Test Signing Cert",
	  "C2PA Signer", "640229841392226413189608867977836244731148734950",
	  "2023-12-02T17:02:04+00:00", "DigiCert Timestamp 2023", 2, TS_OK UNTRUSTED SIG_OK,
	  TS_OK TRUSTED SIG_OK, "" },
	/* PS256 with sigTst2 holding a whole TimeStampResp. */
	{ "trustnxt-icon-signed-v2-bmff-1", "trustnxt-icon-signed-v2-bmff-1", 1, "Ps256",
	  "origo TESTING", "origo TEST USE ONLY", "4097", "2025-01-27T13:54:51+00:00",
	  "Globalsign TSA for AATL - R45 - 2024 TSU-01.001-LCY", 3, TS_OK UNTRUSTED SIG_OK,
	  TS_OK UNTRUSTED SIG_OK, "" },
};

typedef struct blob {
	uint8_t *claim, *cose;
	size_t claim_len, cose_len;
} blob;

static void load_blob(const char *dir, const fixture *f, blob *b)
{
	char name[256];
	snprintf(name, sizeof name, "%s.claim", f->claim);
	char *p = path_join(dir, name);
	b->claim = slurp(p, &b->claim_len);
	free(p);
	snprintf(name, sizeof name, "%s.cose", f->cose);
	p = path_join(dir, name);
	b->cose = slurp(p, &b->cose_len);
	free(p);
}

static void check_fixture(const fixture *f, const blob *b, const prov_trust *roots)
{
	for (int t = 0; t < 2; t++) {
		run r;
		verify(&r, b->cose, b->cose_len, b->claim, b->claim_len, f->version,
		       t ? roots : NULL);
		const char *want = t ? f->trusted : f->plain;
		CHECK_INT(r.rc, VETO_OK, "%s", f->claim);
		CHECK_STR(r.codes, want, "%s %s", f->claim, t ? "with test roots" : "no trust list");
		CHECK_STR(r.info.alg, f->alg, "%s", f->claim);
		CHECK_STR(r.info.issuer, f->issuer, "%s", f->claim);
		CHECK_STR(r.info.common_name, f->cn, "%s", f->claim);
		CHECK_STR(r.info.cert_serial, f->serial, "%s", f->claim);
		CHECK_STR(r.info.time, f->time, "%s", f->claim);
		CHECK_STR(r.info.tsa, f->tsa, "%s", f->claim);
		CHECK_STR(r.info.ocsp, f->ocsp, "%s", f->claim);
		CHECK_INT(r.info.chain_len, f->chain_len, "%s", f->claim);
		CHECK_INT(r.info.trusted, strstr(want, TRUSTED) != NULL, "%s", f->claim);
		CHECK_INT(r.info.signature_ok, strstr(want, SIG_OK) != NULL, "%s", f->claim);
		run_free(&r);
	}
}

/* c2pa-rs's Reader JSON (known_good) for C.jpg, CA.jpg, XCA.jpg: the
 * active manifest's signature_info, and its timeStamp.* / claimSignature.*
 * codes in each kind (c2pa-rs ran those without trust checks, so
 * signingCredential.* are not compared). */
static void check_known_good(const char *testdata, const char *json_name, const blob *b)
{
	char rel[256];
	snprintf(rel, sizeof rel, "provenance/c2pa/expected/%s", json_name);
	char *p = path_join(testdata, rel);
	json_error_t je;
	json_t *root = json_load_file(p, 0, &je);
	REQUIRE(root, "%s: %s", p, je.text);
	const char *active = json_string_value(json_object_get(root, "active_manifest"));
	json_t *m = json_object_get(json_object_get(root, "manifests"), active ? active : "");
	json_t *si = json_object_get(m, "signature_info");
	REQUIRE(si, "%s: no signature_info", p);
	run r;
	verify(&r, b->cose, b->cose_len, b->claim, b->claim_len, 1, NULL);
	CHECK_STR(r.info.alg, json_string_value(json_object_get(si, "alg")), "%s", json_name);
	CHECK_STR(r.info.issuer, json_string_value(json_object_get(si, "issuer")), "%s", json_name);
	CHECK_STR(r.info.common_name, json_string_value(json_object_get(si, "common_name")), "%s",
	          json_name);
	CHECK_STR(r.info.cert_serial, json_string_value(json_object_get(si, "cert_serial_number")),
	          "%s", json_name);
	CHECK_STR(r.info.time, json_string_value(json_object_get(si, "time")), "%s", json_name);

	static const char *const kinds[] = { "success", "informational", "failure" };
	json_t *am = json_object_get(json_object_get(root, "validation_results"), "activeManifest");
	REQUIRE(am, "%s: no validation_results.activeManifest", p);
	for (int k = 0; k < 3; k++) {
		char want[1024] = "", got[1024] = "";
		json_t *arr = json_object_get(am, kinds[k]);
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) {
			const char *c = json_string_value(json_object_get(v, "code"));
			if (c && (!strncmp(c, "timeStamp.", 10) || !strncmp(c, "claimSignature.", 15)))
				snprintf(want + strlen(want), sizeof want - strlen(want), "%s ", c);
		}
		for (size_t j = 0; j < r.st.n; j++) {
			const char *c = r.st.v[j].code;
			if (r.st.v[j].kind == k &&
			    (!strncmp(c, "timeStamp.", 10) || !strncmp(c, "claimSignature.", 15)))
				snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", c);
		}
		CHECK_STR(got, want, "%s %s codes", json_name, kinds[k]);
	}
	run_free(&r);
	json_decref(root);
	free(p);
}

/* Offset and length of the protected header's content in a COSE_Sign1
 * (tag 18, array of 4, definite bstr). */
static void protected_span(const blob *b, size_t *off, size_t *len)
{
	const uint8_t *c = b->cose;
	REQUIRE(b->cose_len > 8 && c[0] == 0xd2 && c[1] == 0x84 && (c[2] >> 5) == 2,
	        "unexpected COSE layout");
	int ai = c[2] & 31;
	if (ai < 24) {
		*off = 3;
		*len = (size_t)ai;
	} else if (ai == 24) {
		*off = 4;
		*len = c[3];
	} else {
		REQUIRE(ai == 25, "protected header too large for this test");
		*off = 5;
		*len = (size_t)c[3] << 8 | c[4];
	}
}

static void check_damage(const fixture *f, const blob *b, const prov_trust *roots, int all_cuts)
{
	uint8_t *claim = malloc(b->claim_len + 1), *cose = malloc(b->cose_len + 1);
	REQUIRE(claim && cose, "out of memory");
	run r;

	/* A byte of the claim. */
	memcpy(claim, b->claim, b->claim_len);
	claim[b->claim_len / 2] ^= 0x01;
	verify(&r, b->cose, b->cose_len, claim, b->claim_len, f->version, roots);
	CHECK(prov_status_has(&r.st, "claimSignature.mismatch", PROV_FAILURE) && !validated(&r),
	      "%s flipped claim byte: %s", f->claim, r.codes);
	CHECK(!r.info.signature_ok, "%s flipped claim byte", f->claim);
	if (f->time[0] && !memmem(b->cose, b->cose_len, "\x67sigTst2", 8))
		CHECK(prov_status_has(&r.st, "timeStamp.mismatch", PROV_INFORMATIONAL),
		      "%s flipped claim byte (v1 time-stamp covers the claim): %s", f->claim, r.codes);
	run_free(&r);

	/* A byte of the signature (the last item of the COSE). */
	memcpy(cose, b->cose, b->cose_len);
	cose[b->cose_len - 2] ^= 0x40;
	verify(&r, cose, b->cose_len, b->claim, b->claim_len, f->version, roots);
	CHECK(prov_status_has(&r.st, "claimSignature.mismatch", PROV_FAILURE) && !validated(&r),
	      "%s flipped signature byte: %s", f->claim, r.codes);
	run_free(&r);

	/* Bytes of the protected header: parse failure or signature failure. */
	size_t off, len;
	protected_span(b, &off, &len);
	for (size_t k = 0; k < len; k += len / 7 + 1) {
		memcpy(cose, b->cose, b->cose_len);
		cose[off + k] ^= 0x01;
		verify(&r, cose, b->cose_len, b->claim, b->claim_len, f->version, roots);
		CHECK(prov_status_count(&r.st, PROV_FAILURE) > 0 && !validated(&r) &&
		      !r.info.signature_ok, "%s flipped protected byte %zu: %s", f->claim, k, r.codes);
		run_free(&r);
	}

	/* Every (or every 37th) truncation. */
	for (size_t n = 0; n < b->cose_len; n += all_cuts ? 1 : 37) {
		verify(&r, b->cose, n, b->claim, b->claim_len, f->version, roots);
		CHECK_STR(r.codes, SIG_BAD, "%s cut to %zu bytes", f->claim, n);
		run_free(&r);
	}
	/* One byte too many. */
	memcpy(cose, b->cose, b->cose_len);
	cose[b->cose_len] = 0;
	verify(&r, cose, b->cose_len + 1, b->claim, b->claim_len, f->version, roots);
	CHECK_STR(r.codes, SIG_BAD, "%s with a byte appended", f->claim);
	run_free(&r);
	free(claim);
	free(cose);
}

/* ocsp.jpg's second manifest with the signer's issuing CA (x5chain[1]) as
 * the trust anchor: its stapled OCSP responder chains to it, so the OCSP
 * response is used (good at the time-stamp's time). */
static void check_ocsp_fixture(const blob *b)
{
	/* x5chain[1] from the protected header: find the second certificate
	 * by its DER header after the first. */
	size_t off, len;
	protected_span(b, &off, &len);
	const uint8_t *p = b->cose + off, *end = p + len;
	X509 *certs[2] = { NULL, NULL };
	int n = 0;
	for (const uint8_t *q = p; q + 4 < end && n < 2; q++) {
		if (q[0] != 0x30 || q[1] != 0x82)
			continue;
		const unsigned char *d = q;
		X509 *x = d2i_X509(NULL, &d, end - q);
		if (x) {
			certs[n++] = x;
			q = d - 1;
		}
	}
	ERR_clear_error();
	REQUIRE(n == 2, "ocsp-2: two certificates expected in x5chain");
	BIO *bio = BIO_new(BIO_s_mem());
	REQUIRE(bio && PEM_write_bio_X509(bio, certs[1]), "PEM");
	char *pem;
	long pl = BIO_get_mem_data(bio, &pem);
	prov_trust *t = NULL;
	veto_error err;
	REQUIRE(prov_trust_load_mem(pem, (size_t)pl, "issuer", &t, &err) == VETO_OK, "%s",
	        err.message);
	run r;
	verify(&r, b->cose, b->cose_len, b->claim, b->claim_len, 1, t);
	CHECK_STR(r.codes, "I:signingCredential.ocsp.notRevoked " TS_OK TRUSTED SIG_OK, "ocsp-2");
	CHECK_STR(r.info.ocsp, "good", "ocsp-2");
	run_free(&r);
	prov_trust_free(t);
	BIO_free(bio);
	X509_free(certs[0]);
	X509_free(certs[1]);
}

static void check_trust_load(const char *tmp, const char *bundle)
{
	prov_trust *t = (prov_trust *)1;
	veto_error err = { 0 };
	char *missing = path_join(tmp, "no-such.pem");
	CHECK_INT(prov_trust_load(missing, &t, &err), VETO_ERR_IO, "missing trust list");
	CHECK(t == NULL && strstr(err.message, missing), "message names the file: %s", err.message);
	free(missing);

	char *empty = path_join(tmp, "empty.pem");
	spit(empty, "no certificates here\n", 21);
	memset(&err, 0, sizeof err);
	CHECK(prov_trust_load(empty, &t, &err) != VETO_OK && t == NULL, "no certificate");
	CHECK(strstr(err.message, empty) != NULL, "message names the file: %s", err.message);
	free(empty);

	char *bad = path_join(tmp, "bad.pem");
	const char *badpem = "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n";
	spit(bad, badpem, strlen(badpem));
	memset(&err, 0, sizeof err);
	CHECK(prov_trust_load(bad, &t, &err) != VETO_OK && t == NULL, "broken PEM");
	CHECK(strstr(err.message, bad) != NULL, "message names the file: %s", err.message);
	free(bad);

	CHECK_INT(prov_trust_load(bundle, &t, &err), VETO_OK, "%s", err.message);
	CHECK_INT(prov_trust_count(t), 8, "test roots in %s", bundle);
	prov_trust_free(t);
}

/* ------------------------------------------- part 3: made-up signatures */

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
} buf;

static void b_put(buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		REQUIRE(b->p, "out of memory");
	}
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void b_head(buf *b, int mt, uint64_t v)
{
	uint8_t h[9];
	int n;
	h[0] = (uint8_t)(mt << 5);
	if (v < 24) {
		h[0] |= (uint8_t)v;
		n = 1;
	} else if (v < 0x100) {
		h[0] |= 24;
		h[1] = (uint8_t)v;
		n = 2;
	} else if (v < 0x10000) {
		h[0] |= 25;
		h[1] = (uint8_t)(v >> 8);
		h[2] = (uint8_t)v;
		n = 3;
	} else {
		h[0] |= 26;
		for (int i = 0; i < 4; i++)
			h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		n = 5;
	}
	b_put(b, h, (size_t)n);
}

static void b_bstr(buf *b, const void *d, size_t n)
{
	b_head(b, 2, n);
	b_put(b, d, n);
}

static void b_tstr(buf *b, const char *s)
{
	b_head(b, 3, strlen(s));
	b_put(b, s, strlen(s));
}

static void b_int(buf *b, int64_t v)
{
	if (v >= 0)
		b_head(b, 0, (uint64_t)v);
	else
		b_head(b, 1, (uint64_t)(-1 - v));
}

static uint8_t *der_of(X509 *x, size_t *n)
{
	unsigned char *d = NULL;
	int l = i2d_X509(x, &d);
	REQUIRE(l > 0, "i2d_X509");
	*n = (size_t)l;
	return d;
}

static EVP_PKEY *keygen(const char *kind)
{
	EVP_PKEY *k = NULL;
	if (!strcmp(kind, "P-256") || !strcmp(kind, "P-384") || !strcmp(kind, "P-521"))
		k = EVP_EC_gen(kind);
	else if (!strcmp(kind, "RSA2048"))
		k = EVP_RSA_gen(2048);
	else if (!strcmp(kind, "RSA1024"))
		k = EVP_RSA_gen(1024);
	else if (!strcmp(kind, "ED25519"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	REQUIRE(k, "key generation %s", kind);
	return k;
}

typedef struct certspec {
	const char *cn, *o;
	int ca;
	const char *ku;        /* "critical,digitalSignature" */
	const char *eku;       /* NULL: none */
	int64_t nb, na;
	long serial;
	int no_aki;
} certspec;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	REQUIRE(e && X509_add_ext(x, e, -1), "extension %s = %s", OBJ_nid2sn(nid), value);
	X509_EXTENSION_free(e);
}

static X509 *mkcert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, const certspec *s)
{
	X509 *x = X509_new();
	REQUIRE(x, "X509_new");
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->nb);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->na);
	X509_set_pubkey(x, key);
	X509_NAME *nm = X509_NAME_new();
	if (s->o)
		X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)s->o, -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	X509_NAME_free(nm);
	add_ext(x, issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, issuer, NID_key_usage, s->ku);
	if (s->eku)
		add_ext(x, issuer, NID_ext_key_usage, s->eku);
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (!s->no_aki)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	EVP_PKEY *sk = ikey ? ikey : key;
	const EVP_MD *md = EVP_PKEY_get_base_id(sk) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	REQUIRE(X509_sign(x, sk, md) > 0, "X509_sign %s", s->cn);
	return x;
}

static prov_trust *trust_of(X509 *const *certs, int n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	REQUIRE(bio, "BIO");
	for (int i = 0; i < n; i++)
		REQUIRE(PEM_write_bio_X509(bio, certs[i]), "PEM");
	char *pem;
	long pl = BIO_get_mem_data(bio, &pem);
	prov_trust *t = NULL;
	veto_error err;
	REQUIRE(prov_trust_load_mem(pem, (size_t)pl, "made-up", &t, &err) == VETO_OK, "%s",
	        err.message);
	BIO_free(bio);
	return t;
}

/* A time-stamp authority. */
typedef struct tsa {
	X509 *cert;
	EVP_PKEY *key;
	int bare;              /* store the bare token, not the response */
} tsa;

static int64_t tsa_gen_time;

static int tsa_time_cb(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	(void)data;
	*sec = (long)tsa_gen_time;
	*usec = 0;
	return 1;
}

/* An RFC 3161 response (or token) over data, from OpenSSL's TSA. */
static uint8_t *make_tst(const tsa *a, const uint8_t *data, size_t n, size_t *outlen)
{
	unsigned char dg[32];
	REQUIRE(EVP_Digest(data, n, dg, NULL, EVP_sha256(), NULL), "digest");
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	REQUIRE(req && mi && alg, "TS objects");
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, dg, sizeof dg);
	TS_REQ_set_version(req, 1);
	TS_REQ_set_msg_imprint(req, mi);
	TS_REQ_set_cert_req(req, 1);
	BIO *rb = BIO_new(BIO_s_mem());
	REQUIRE(rb && i2d_TS_REQ_bio(rb, req), "TS request");
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	ASN1_OBJECT *policy = OBJ_txt2obj("1.3.6.1.4.1.4146.2.3", 1);
	REQUIRE(ctx && policy && TS_RESP_CTX_set_signer_cert(ctx, a->cert) &&
	        TS_RESP_CTX_set_signer_key(ctx, a->key) && TS_RESP_CTX_set_def_policy(ctx, policy) &&
	        TS_RESP_CTX_add_md(ctx, EVP_sha256()), "TS context");
	TS_RESP_CTX_set_time_cb(ctx, tsa_time_cb, NULL);
	TS_RESP *resp = TS_RESP_create_response(ctx, rb);
	REQUIRE(resp, "TS response");
	unsigned char *out = NULL;
	int l = a->bare ? i2d_PKCS7(TS_RESP_get_token(resp), &out) : i2d_TS_RESP(resp, &out);
	REQUIRE(l > 0, "TS encode");
	*outlen = (size_t)l;
	uint8_t *copy = malloc((size_t)l);
	REQUIRE(copy, "out of memory");
	memcpy(copy, out, (size_t)l);
	OPENSSL_free(out);
	TS_RESP_free(resp);
	TS_RESP_CTX_free(ctx);
	ASN1_OBJECT_free(policy);
	BIO_free(rb);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	X509_ALGOR_free(alg);
	return copy;
}

/* [context, protected, h'', payload] */
static void sig_struct(buf *o, const char *ctx, const buf *prot, const uint8_t *payload,
                       size_t n)
{
	b_head(o, 4, 4);
	b_tstr(o, ctx);
	b_bstr(o, prot->p, prot->n);
	b_bstr(o, NULL, 0);
	b_bstr(o, payload, n);
}

enum { CHAIN_PROT = 0, CHAIN_UNPROT = 1, CHAIN_BOTH = 2, CHAIN_NONE = 3, CHAIN_PROT_TEXT = 4 };

typedef struct cosespec {
	int64_t alg;
	int alg_text;          /* alg as text ("ES256"): unsupported */
	int no_alg;
	X509 *chain[4];
	int nchain;
	int chain_where;
	int untagged, dup_label, indefinite, der_sig, bad_sig;
	const tsa *ts;
	int ts_v2;
	const uint8_t *ocsp;
	size_t ocsp_len;
} cosespec;

static void put_chain(buf *o, const cosespec *s)
{
	b_head(o, 4, (uint64_t)s->nchain);
	for (int i = 0; i < s->nchain; i++) {
		size_t n;
		uint8_t *d = der_of(s->chain[i], &n);
		b_bstr(o, d, n);
		OPENSSL_free(d);
	}
}

/* A COSE_Sign1 over claim, signed with key by the spec's rules. */
static buf make_cose(const cosespec *s, EVP_PKEY *key, const uint8_t *claim, size_t claim_len)
{
	buf prot = { 0 }, tbs = { 0 }, out = { 0 };
	int entries = (!s->no_alg) + (s->chain_where == CHAIN_PROT || s->chain_where == CHAIN_BOTH ||
	                              s->chain_where == CHAIN_PROT_TEXT) + (s->dup_label ? 1 : 0);
	b_head(&prot, 5, (uint64_t)entries);
	if (!s->no_alg) {
		b_int(&prot, 1);
		if (s->alg_text)
			b_tstr(&prot, "ES256");
		else
			b_int(&prot, s->alg);
	}
	if (s->dup_label) {
		b_int(&prot, 1);
		b_int(&prot, s->alg);
	}
	if (s->chain_where == CHAIN_PROT || s->chain_where == CHAIN_BOTH) {
		b_int(&prot, 33);
		put_chain(&prot, s);
	} else if (s->chain_where == CHAIN_PROT_TEXT) {
		b_tstr(&prot, "x5chain");
		put_chain(&prot, s);
	}
	sig_struct(&tbs, "Signature1", &prot, claim, claim_len);

	/* Sign. */
	int kt = EVP_PKEY_get_base_id(key);
	const EVP_MD *md = s->alg == -35 ? EVP_sha384() : s->alg == -36 ? EVP_sha512()
	                 : s->alg == -38 ? EVP_sha384() : s->alg == -39 ? EVP_sha512()
	                 : kt == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	REQUIRE(m && EVP_DigestSignInit(m, &pctx, md, NULL, key) == 1, "sign init");
	if (kt == EVP_PKEY_RSA) {
		REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
		        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0, "PSS");
	}
	size_t sl = 0;
	REQUIRE(EVP_DigestSign(m, NULL, &sl, tbs.p, tbs.n) == 1, "sign size");
	uint8_t *sig = malloc(sl);
	REQUIRE(sig && EVP_DigestSign(m, sig, &sl, tbs.p, tbs.n) == 1, "sign");
	EVP_MD_CTX_free(m);
	if (kt == EVP_PKEY_EC && !s->der_sig) {
		const unsigned char *d = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)sl);
		REQUIRE(es, "ECDSA DER");
		int half = (EVP_PKEY_get_bits(key) + 7) / 8;
		uint8_t *raw = malloc((size_t)half * 2);
		REQUIRE(raw, "out of memory");
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half);
		ECDSA_SIG_free(es);
		free(sig);
		sig = raw;
		sl = (size_t)half * 2;
	}
	if (s->bad_sig)
		sig[sl / 2] ^= 0x10;

	/* Time-stamp over the countersignature structure. */
	uint8_t *tok = NULL;
	size_t toklen = 0;
	if (s->ts) {
		buf cs = { 0 }, payload = { 0 };
		if (s->ts_v2)
			b_bstr(&payload, sig, sl);
		else
			b_put(&payload, claim, claim_len);
		sig_struct(&cs, "CounterSignature", &prot, payload.p, payload.n);
		tok = make_tst(s->ts, cs.p, cs.n, &toklen);
		free(cs.p);
		free(payload.p);
	}

	/* The COSE_Sign1. */
	if (!s->untagged)
		b_head(&out, 6, 18);
	if (s->indefinite)
		b_put(&out, "\x9f", 1);
	else
		b_head(&out, 4, 4);
	if (s->indefinite) { /* protected header as two chunks */
		b_put(&out, "\x5f", 1);
		b_bstr(&out, prot.p, prot.n / 2);
		b_bstr(&out, prot.p + prot.n / 2, prot.n - prot.n / 2);
		b_put(&out, "\xff", 1);
	} else {
		b_bstr(&out, prot.p, prot.n);
	}
	int uentries = (s->chain_where == CHAIN_UNPROT || s->chain_where == CHAIN_BOTH) + (tok != NULL) +
	               (s->ocsp != NULL);
	if (s->indefinite)
		b_put(&out, "\xbf", 1);
	else
		b_head(&out, 5, (uint64_t)uentries);
	if (s->chain_where == CHAIN_UNPROT || s->chain_where == CHAIN_BOTH) {
		b_tstr(&out, "x5chain");
		put_chain(&out, s);
	}
	if (tok) {
		b_tstr(&out, s->ts_v2 ? "sigTst2" : "sigTst");
		b_head(&out, 5, 1);
		b_tstr(&out, "tstTokens");
		b_head(&out, 4, 1);
		b_head(&out, 5, 1);
		b_tstr(&out, "val");
		b_bstr(&out, tok, toklen);
	}
	if (s->ocsp) {
		b_tstr(&out, "rVals");
		b_head(&out, 5, 1);
		b_tstr(&out, "ocspVals");
		b_head(&out, 4, 1);
		b_bstr(&out, s->ocsp, s->ocsp_len);
	}
	if (s->indefinite)
		b_put(&out, "\xff", 1);
	b_put(&out, "\xf6", 1); /* nil payload */
	b_bstr(&out, sig, sl);
	if (s->indefinite)
		b_put(&out, "\xff", 1);
	free(tok);
	free(sig);
	free(prot.p);
	free(tbs.p);
	return out;
}

static uint8_t *make_ocsp(X509 *leaf, X509 *issuer, X509 *rcert, EVP_PKEY *rkey, int status,
                          int reason, int64_t thisupd, int64_t nextupd, int64_t revtime,
                          int corrupt, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)thisupd);
	ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)nextupd);
	ASN1_TIME *rt = status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, (time_t)revtime)
	                                                    : NULL;
	REQUIRE(bs && id && tu && nu, "OCSP objects");
	REQUIRE(OCSP_basic_add1_status(bs, id, status, reason, rt, tu, nu), "OCSP status");
	REQUIRE(OCSP_basic_sign(bs, rcert, rkey, EVP_sha256(), NULL, 0) == 1, "OCSP sign");
	if (corrupt) {
		const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
		REQUIRE(sig && ASN1_STRING_length(sig) > 8, "OCSP signature");
		((unsigned char *)ASN1_STRING_get0_data(sig))[8] ^= 0x01;
	}
	OCSP_RESPONSE *r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	REQUIRE(r, "OCSP response");
	unsigned char *out = NULL;
	int l = i2d_OCSP_RESPONSE(r, &out);
	REQUIRE(l > 0, "OCSP encode");
	uint8_t *copy = malloc((size_t)l);
	REQUIRE(copy, "out of memory");
	memcpy(copy, out, (size_t)l);
	*len = (size_t)l;
	OPENSSL_free(out);
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	ASN1_TIME_free(rt);
	return copy;
}

static void expect(const char *what, const cosespec *s, EVP_PKEY *key, int version,
                   const prov_trust *trust, const char *want, const char *alg)
{
	static const uint8_t claim[] = "\xa2\x63" "alg" "\x66" "sha256" "\x65" "title" "\x64" "test";
	buf c = make_cose(s, key, claim, sizeof claim - 1);
	run r;
	verify(&r, c.p, c.n, claim, sizeof claim - 1, version, trust);
	CHECK_STR(r.codes, want, "%s", what);
	if (alg)
		CHECK_STR(r.info.alg, alg, "%s", what);
	run_free(&r);
	free(c.p);
}

static void check_made_up(void)
{
	int64_t now = (int64_t)time(NULL);
	const int64_t day = 86400, year = 365 * day;
	prov_cose_set_clock(now);

	EVP_PKEY *cakey = keygen("P-256"), *ca2key = keygen("P-256");
	certspec cas = { "Test Root CA", "Test", 1, "critical,keyCertSign,cRLSign", NULL,
	                 now - year, now + 10 * year, 1, 0 };
	X509 *ca = mkcert(cakey, NULL, NULL, &cas);
	certspec ca2s = cas;
	ca2s.cn = "Other Root CA";
	X509 *ca2 = mkcert(ca2key, NULL, NULL, &ca2s);
	prov_trust *trust = trust_of(&ca, 1);
	prov_trust *trust_both = trust_of((X509 *[]){ ca, ca2 }, 2);

	certspec leafs = { "Signer", "Test Org", 0, "critical,digitalSignature",
	                   "critical,emailProtection", now - day, now + year, 100, 0 };

	/* Every algorithm. */
	static const struct {
		int64_t alg;
		const char *key, *name;
	} algs[] = {
		{ -7, "P-256", "Es256" }, { -35, "P-384", "Es384" }, { -36, "P-521", "Es512" },
		{ -37, "RSA2048", "Ps256" }, { -38, "RSA2048", "Ps384" }, { -39, "RSA2048", "Ps512" },
		{ -8, "ED25519", "Ed25519" },
	};
	EVP_PKEY *rsa = keygen("RSA2048");
	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
		EVP_PKEY *k = !strcmp(algs[i].key, "RSA2048") ? rsa : keygen(algs[i].key);
		X509 *leaf = mkcert(k, ca, cakey, &leafs);
		cosespec s = { .alg = algs[i].alg, .chain = { leaf, ca }, .nchain = 2 };
		expect(algs[i].name, &s, k, 2, trust, TRUSTED SIG_OK, algs[i].name);
		expect(algs[i].name, &s, k, 2, NULL, UNTRUSTED SIG_OK, algs[i].name);
		s.bad_sig = 1;
		expect("bad signature", &s, k, 2, trust, TRUSTED SIG_BAD, algs[i].name);
		s.bad_sig = 0;
		/* The key must match the algorithm. */
		if (algs[i].alg == -7) {
			s.alg = -35;
			expect("ES384 on a P-256 key", &s, k, 2, trust, TRUSTED SIG_BAD, "Es384");
		}
		X509_free(leaf);
		if (k != rsa)
			EVP_PKEY_free(k);
	}

	EVP_PKEY *key = keygen("P-256");
	X509 *leaf = mkcert(key, ca, cakey, &leafs);
	cosespec ok = { .alg = -7, .chain = { leaf, ca }, .nchain = 2 };

	/* COSE structure. */
	cosespec s = ok;
	s.chain_where = CHAIN_UNPROT;
	expect("chain in the unprotected header", &s, key, 1, trust, TRUSTED SIG_OK, "Es256");
	s.chain_where = CHAIN_PROT_TEXT;
	expect("chain under the text label x5chain", &s, key, 1, trust, TRUSTED SIG_OK, "Es256");
	s.chain_where = CHAIN_BOTH;
	expect("chains in both headers", &s, key, 1, trust, SIG_BAD, "Es256");
	s.chain_where = CHAIN_NONE;
	expect("no chain", &s, key, 1, trust, SIG_BAD, "Es256");
	s = ok;
	s.indefinite = 1;
	expect("indefinite lengths", &s, key, 1, trust, TRUSTED SIG_OK, "Es256");
	s = ok;
	s.untagged = 1;
	expect("untagged COSE_Sign1", &s, key, 1, trust, SIG_BAD, "");
	s = ok;
	s.dup_label = 1;
	expect("repeated label", &s, key, 1, trust, SIG_BAD, "");
	s = ok;
	s.no_alg = 1;
	expect("no alg", &s, key, 1, trust, "F:algorithm.unsupported " SIG_BAD, "");
	s = ok;
	s.alg_text = 1;
	expect("alg as text", &s, key, 1, trust, "F:algorithm.unsupported " SIG_BAD, "");
	s = ok;
	s.alg = -257; /* RS256: not a C2PA algorithm */
	expect("RS256", &s, key, 1, trust, "F:algorithm.unsupported " SIG_BAD, "");
	s = ok;
	s.der_sig = 1;
	expect("DER ECDSA signature", &s, key, 1, trust, "F:signingCredential.invalid " SIG_BAD,
	       "Es256");
	{
		run r;
		verify(&r, NULL, 0, (const uint8_t *)"x", 1, 1, trust);
		CHECK_STR(r.codes, "F:claimSignature.missing", "no signature box");
		run_free(&r);
	}

	/* The certificate profile. */
	struct {
		const char *what;
		certspec spec;
		EVP_PKEY *k;
		const char *want;
	} prof[] = {
		{ "CA as signer", leafs, NULL, "F:signingCredential.invalid " TRUSTED SIG_OK },
		{ "anyExtendedKeyUsage", leafs, NULL, "F:signingCredential.invalid " TRUSTED SIG_OK },
		{ "no EKU", leafs, NULL, "F:signingCredential.invalid " TRUSTED SIG_OK },
		{ "serverAuth only", leafs, NULL, "F:signingCredential.invalid " TRUSTED SIG_OK },
		{ "OCSP and time-stamping", leafs, NULL,
		  "F:signingCredential.invalid " TRUSTED SIG_OK },
		{ "C2PA signing EKU", leafs, NULL, TRUSTED SIG_OK },
		{ "document signing EKU", leafs, NULL, TRUSTED SIG_OK },
		/* (OpenSSL's strict chain rules refuse it too.) */
		{ "keyCertSign on a leaf", leafs, NULL, "F:signingCredential.invalid " UNTRUSTED SIG_OK },
		{ "no digitalSignature", leafs, NULL, "F:signingCredential.invalid " TRUSTED SIG_OK },
		{ "no AKI", leafs, NULL, "F:signingCredential.invalid " UNTRUSTED SIG_OK },
		{ "not yet valid", leafs, NULL, "F:signingCredential.expired " TRUSTED SIG_OK },
		{ "no organization", leafs, NULL, TRUSTED SIG_BAD },
	};
	prof[0].spec.ca = 1;
	prof[0].spec.ku = "critical,digitalSignature,keyCertSign";
	prof[1].spec.eku = "anyExtendedKeyUsage";
	prof[2].spec.eku = NULL;
	prof[3].spec.eku = "serverAuth";
	prof[4].spec.eku = "OCSPSigning,timeStamping";
	prof[5].spec.eku = "1.3.6.1.4.1.62558.2.1";
	prof[6].spec.eku = "1.3.6.1.5.5.7.3.36";
	prof[7].spec.ku = "critical,digitalSignature,keyCertSign";
	prof[8].spec.ku = "critical,keyEncipherment";
	prof[9].spec.no_aki = 1;
	prof[10].spec.nb = now + day;
	prof[11].spec.o = NULL;
	for (size_t i = 0; i < sizeof prof / sizeof prof[0]; i++) {
		X509 *l = mkcert(key, ca, cakey, &prof[i].spec);
		s = ok;
		s.chain[0] = l;
		expect(prof[i].what, &s, key, 1, trust, prof[i].want, "Es256");
		X509_free(l);
	}
	{
		EVP_PKEY *small = keygen("RSA1024");
		X509 *l = mkcert(small, ca, cakey, &leafs);
		s = ok;
		s.alg = -37;
		s.chain[0] = l;
		expect("RSA 1024", &s, small, 1, trust, "F:signingCredential.invalid " TRUSTED SIG_OK,
		       "Ps256");
		X509_free(l);
		EVP_PKEY_free(small);
	}

	/* Expiry, time-stamps. The signer's certificate is valid for two
	 * days around the real time; the clock is then moved a week ahead,
	 * where only a time-stamp can say it was valid when it signed. */
	EVP_PKEY *tkey = keygen("P-256"), *t2key = keygen("P-256");
	certspec tsas = { "Test TSA", "Test", 0, "critical,digitalSignature",
	                  "critical,timeStamping", now - day, now + year, 200, 0 };
	X509 *tcert = mkcert(tkey, ca, cakey, &tsas);
	X509 *t2cert = mkcert(t2key, ca2, ca2key, &tsas);
	tsa ta = { tcert, tkey, 0 }, tb = { t2cert, t2key, 1 };
	certspec shorts = leafs;
	shorts.na = now + day;
	X509 *sleaf = mkcert(key, ca, cakey, &shorts);
	cosespec e = ok;
	e.chain[0] = sleaf;
	tsa_gen_time = now;
	prov_cose_set_clock(now + 7 * day);
	expect("expired, no time-stamp", &e, key, 2, trust,
	       "F:signingCredential.expired " TRUSTED SIG_OK, "Es256");
	e.ts = &ta;
	expect("expired, v1 time-stamp, trusted TSA (claim v1)", &e, key, 1, trust,
	       "S:timeStamp.validated S:timeStamp.trusted " TRUSTED SIG_OK, "Es256");
	e.ts_v2 = 1;
	expect("expired, v2 time-stamp, trusted TSA (claim v2)", &e, key, 2, trust,
	       "S:timeStamp.validated S:timeStamp.trusted " TRUSTED SIG_OK, "Es256");
	e.ts = &tb; /* TSA under another root */
	expect("expired, untrusted TSA (claim v2)", &e, key, 2, trust,
	       TS_OK "F:signingCredential.expired " TRUSTED SIG_OK, "Es256");
	expect("expired, untrusted TSA (claim v1: legacy grace)", &e, key, 1, trust,
	       TS_OK TRUSTED SIG_OK, "Es256");
	expect("expired, TSA trusted through its root", &e, key, 2, trust_both,
	       "S:timeStamp.validated S:timeStamp.trusted " TRUSTED SIG_OK, "Es256");
	{
		buf c;
		static const uint8_t claim[] = "\xa1\x61x\x61y";
		e.ts = &ta;
		e.ts_v2 = 0;
		c = make_cose(&e, key, claim, sizeof claim - 1);
		run r;
		verify(&r, c.p, c.n, claim, sizeof claim - 1, 1, trust);
		CHECK(r.info.time[0] && r.info.time[4] == '-' && strstr(r.info.time, "+00:00"),
		      "time-stamp time %s", r.info.time);
		CHECK_STR(r.info.tsa, "Test TSA", "TSA name");
		run_free(&r);
		/* The v1 time-stamp covers the claim: another claim breaks both. */
		verify(&r, c.p, c.n, (const uint8_t *)"\xa0", 1, 1, trust);
		CHECK_STR(r.codes, TS_BAD "F:signingCredential.expired " TRUSTED SIG_BAD,
		          "v1 time-stamp, other claim (no signing time: expired now)");
		CHECK_STR(r.info.time, "", "no time from a mismatched time-stamp");
		run_free(&r);
		free(c.p);
	}
	prov_cose_set_clock(now);

	/* OCSP, stapled. */
	EVP_PKEY *rkey = keygen("P-256");
	certspec rs = { "Test OCSP", "Test", 0, "critical,digitalSignature", "OCSPSigning",
	                now - day, now + year, 300, 0 };
	X509 *rcert = mkcert(rkey, ca, cakey, &rs);
	size_t ol;
	uint8_t *o = make_ocsp(leaf, ca, rcert, rkey, V_OCSP_CERTSTATUS_GOOD, -1, now - 3600,
	                       now + day, 0, 0, &ol);
	s = ok;
	s.ocsp = o;
	s.ocsp_len = ol;
	expect("OCSP good", &s, key, 1, trust,
	       "I:signingCredential.ocsp.notRevoked " TRUSTED SIG_OK, "Es256");
	expect("OCSP good, responder not trusted", &s, key, 1, NULL, UNTRUSTED SIG_OK, "Es256");
	free(o);
	o = make_ocsp(leaf, ca, rcert, rkey, V_OCSP_CERTSTATUS_REVOKED, -1, now - 3600, now + day,
	              now - 7200, 0, &ol);
	s.ocsp = o;
	s.ocsp_len = ol;
	expect("OCSP revoked", &s, key, 1, trust,
	       "F:signingCredential.ocsp.revoked " TRUSTED SIG_OK, "Es256");
	free(o);
	o = make_ocsp(leaf, ca, rcert, rkey, V_OCSP_CERTSTATUS_UNKNOWN, -1, now - 3600, now + day,
	              0, 0, &ol);
	s.ocsp = o;
	s.ocsp_len = ol;
	{
		buf c;
		static const uint8_t claim[] = "\xa0";
		c = make_cose(&s, key, claim, 1);
		run r;
		verify(&r, c.p, c.n, claim, 1, 1, trust);
		CHECK_STR(r.codes, TRUSTED SIG_OK, "OCSP unknown");
		CHECK_STR(r.info.ocsp, "unknown", "OCSP unknown");
		run_free(&r);
		free(c.p);
	}
	free(o);
	/* A revocation whose signature does not verify, and one from a
	 * responder under another root: both ignored. */
	o = make_ocsp(leaf, ca, rcert, rkey, V_OCSP_CERTSTATUS_REVOKED, -1, now - 3600, now + day,
	              now - 7200, 1, &ol);
	s.ocsp = o;
	s.ocsp_len = ol;
	expect("OCSP badly signed", &s, key, 1, trust, TRUSTED SIG_OK, "Es256");
	free(o);
	{
		certspec r2s = rs;
		r2s.cn = "Other OCSP";
		X509 *r2 = mkcert(t2key, ca2, ca2key, &r2s);
		o = make_ocsp(leaf, ca, r2, t2key, V_OCSP_CERTSTATUS_REVOKED, -1, now - 3600,
		              now + day, now - 7200, 0, &ol);
		s.ocsp = o;
		s.ocsp_len = ol;
		expect("OCSP from an untrusted responder", &s, key, 1, trust, TRUSTED SIG_OK, "Es256");
		free(o);
		X509_free(r2);
	}
	/* Revoked with a reason, after a time-stamped signature: fine. */
	o = make_ocsp(leaf, ca, rcert, rkey, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
	              now - 3600, now + day, now + 60, 0, &ol);
	s.ocsp = o;
	s.ocsp_len = ol;
	s.ts = &ta;
	expect("OCSP revoked after signing", &s, key, 1, trust,
	       "S:timeStamp.validated S:timeStamp.trusted " TRUSTED SIG_OK, "Es256");
	s.ts = NULL;
	expect("OCSP revoked, no signing time", &s, key, 1, trust,
	       "F:signingCredential.ocsp.revoked " TRUSTED SIG_OK, "Es256");
	free(o);

	X509_free(rcert);
	EVP_PKEY_free(rkey);
	X509_free(sleaf);
	X509_free(tcert);
	X509_free(t2cert);
	EVP_PKEY_free(tkey);
	EVP_PKEY_free(t2key);
	X509_free(leaf);
	EVP_PKEY_free(key);
	EVP_PKEY_free(rsa);
	prov_trust_free(trust);
	prov_trust_free(trust_both);
	X509_free(ca);
	X509_free(ca2);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(ca2key);
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	REQUIRE(argc == 3, "usage: %s COSE_DATA_DIR TESTDATA_DIR", argv[0]);
	const char *dir = argv[1];
	const char *testdata = testdata_dir(argc - 1, argv + 1);
	char *bundle = path_join(testdata, "provenance/c2pa/trust/test_cert_root_bundle.pem");
	const char *tmp = tmpdir_make("cose");

	check_trust_load(tmp, bundle);
	prov_trust *roots = NULL;
	veto_error err;
	REQUIRE(prov_trust_load(bundle, &roots, &err) == VETO_OK, "%s", err.message);

	prov_cose_set_clock(FIXTURE_CLOCK);
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		blob b;
		load_blob(dir, &fixtures[i], &b);
		check_fixture(&fixtures[i], &b, roots);
		if (strstr(fixtures[i].plain, SIG_OK))
			check_damage(&fixtures[i], &b, roots, i == 0);
		if (!strcmp(fixtures[i].claim, "C-1"))
			check_known_good(testdata, "C.json", &b);
		if (!strcmp(fixtures[i].claim, "CA-1")) {
			check_known_good(testdata, "CA.json", &b);
			check_known_good(testdata, "XCA.json", &b); /* same manifest */
		}
		if (!strcmp(fixtures[i].claim, "ocsp-2"))
			check_ocsp_fixture(&b);
		free(b.claim);
		free(b.cose);
	}
	prov_trust_free(roots);

	check_made_up();
	prov_cose_set_clock(0);

	tmpdir_remove();
	free(bundle);
	return check_exit("test_prov_cose");
}
