/*
 * prov_x509.c - the certificates behind a C2PA signature: the trust list,
 * c2pa-rs's end-entity certificate profile, chain verification and the
 * stapled OCSP response (see prov_cose.h).
 *
 * Certificates come from hostile files and are only ever parsed by
 * OpenSSL's d2i_* functions; everything read from them is bounded (names
 * are copied into fixed buffers, extension counts are capped). The rules
 * are c2pa-rs's (sdk/src/crypto/cose/certificate_profile.rs,
 * certificate_trust/openssl.rs, ocsp.rs and sdk/src/crypto/ocsp/mod.rs),
 * restated for OpenSSL; where c2pa-rs stops silently on a certificate it
 * cannot read, this file reports signingCredential.invalid instead.
 */
#include "prov_cose.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TRUST_MAX_FILE   (16u << 20)  /* a PEM bundle */
#define MAX_EXTENSIONS   256          /* per certificate */
#define MAX_OCSP_SINGLE  1024         /* single responses looked at */

struct prov_trust {
	X509_STORE *store;
	int count;
};

/* ---------------------------------------------------------------- clock */

static _Atomic int64_t pinned_clock;

void prov_cose_set_clock(int64_t t)
{
	atomic_store(&pinned_clock, t);
}

int64_t prov_cose_now(void)
{
	int64_t t = atomic_load(&pinned_clock);
	return t ? t : (int64_t)time(NULL);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * well-known algorithm, written out here). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int prov_asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	int64_t days = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	*out = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

void prov_rfc3339(int64_t t, long nanos, char *out, size_t outlen)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t sod = t - days * 86400;
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	char frac[16] = "";
	if (nanos > 0 && nanos < 1000000000L) {
		if (nanos % 1000000 == 0)
			snprintf(frac, sizeof frac, ".%03ld", nanos / 1000000);
		else if (nanos % 1000 == 0)
			snprintf(frac, sizeof frac, ".%06ld", nanos / 1000);
		else
			snprintf(frac, sizeof frac, ".%09ld", nanos);
	}
	snprintf(out, outlen, "%04lld-%02d-%02dT%02d:%02d:%02d%s+00:00", (long long)y, m, d,
	         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), frac);
}

/* ----------------------------------------------------------- trust list */

int prov_trust_load_mem(const void *pem, size_t len, const char *name, prov_trust **out,
                        veto_error *err)
{
	*out = NULL;
	if (len > INT32_MAX)
		return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: trust list too large", name);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", name);
	STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!infos) {
		ERR_clear_error();
		return veto_fail(err, VETO_ERR_CORRUPT,
		                 "%s: not a PEM certificate bundle (a PEM block cannot be read)",
		                 name);
	}
	prov_trust *t = calloc(1, sizeof *t);
	X509_STORE *store = X509_STORE_new();
	if (!t || !store) {
		free(t);
		X509_STORE_free(store);
		sk_X509_INFO_pop_free(infos, X509_INFO_free);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", name);
	}
	t->store = store;
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);
		if (!xi->x509)
			continue;
		if (!X509_STORE_add_cert(store, xi->x509)) {
			/* A duplicate certificate is not an error. */
			ERR_clear_error();
			continue;
		}
		t->count++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	if (t->count == 0) {
		prov_trust_free(t);
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: the trust list holds no certificate",
		                 name);
	}
	*out = t;
	return VETO_OK;
}

int prov_trust_load(const char *pem_path, prov_trust **out, veto_error *err)
{
	*out = NULL;
	FILE *f = fopen(pem_path, "rb");
	if (!f)
		return veto_fail(err, VETO_ERR_IO, "%s: cannot open the trust list: %s", pem_path,
		                 strerror(errno));
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", pem_path);
	}
	for (;;) {
		if (n == cap) {
			if (cap >= TRUST_MAX_FILE) {
				free(buf);
				fclose(f);
				return veto_fail(err, VETO_ERR_TOO_LARGE,
				                 "%s: trust list larger than %u MB", pem_path,
				                 TRUST_MAX_FILE >> 20);
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", pem_path);
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int rerr = ferror(f);
	fclose(f);
	if (rerr) {
		free(buf);
		return veto_fail(err, VETO_ERR_IO, "%s: cannot read the trust list", pem_path);
	}
	int rc = prov_trust_load_mem(buf, n, pem_path, out, err);
	free(buf);
	return rc;
}

void prov_trust_free(prov_trust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	free(t);
}

int prov_trust_count(const prov_trust *t)
{
	return t ? t->count : 0;
}

/* ------------------------------------------------------ names, serials */

void prov_x509_subject_attr(X509 *cert, int nid, int all, char *out, size_t outlen)
{
	out[0] = 0;
	const X509_NAME *nm = X509_get_subject_name(cert);
	if (!nm)
		return;
	int n = X509_NAME_entry_count(nm);
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != nid)
			continue;
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
		if (!all)
			out[0] = 0;
		if (ul >= 0 && u) {
			size_t have = strlen(out);
			/* A NUL inside the value ends it (the buffer is a C string). */
			size_t take = strnlen((const char *)u, (size_t)ul);
			if (have + take >= outlen)
				take = outlen - 1 - have;
			memcpy(out + have, u, take);
			out[have + take] = 0;
		}
		OPENSSL_free(u);
	}
	ERR_clear_error();
}

void prov_x509_serial_dec(X509 *cert, char *out, size_t outlen)
{
	out[0] = 0;
	const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
	if (!s)
		return;
	unsigned char *der = NULL;
	int dl = i2d_ASN1_INTEGER(s, &der);
	if (dl < 2 || !der) {
		OPENSSL_free(der);
		ERR_clear_error();
		return;
	}
	/* Skip tag and length: the content octets, read as unsigned. */
	size_t i = 1, clen;
	if (der[i] < 0x80) {
		clen = der[i++];
	} else {
		int nl = der[i++] & 0x7f;
		clen = 0;
		for (int k = 0; k < nl && i < (size_t)dl; k++)
			clen = clen << 8 | der[i++];
	}
	if (i + clen > (size_t)dl)
		clen = (size_t)dl - i;
	BIGNUM *bn = BN_bin2bn(der + i, (int)clen, NULL);
	char *dec = bn ? BN_bn2dec(bn) : NULL;
	if (dec)
		snprintf(out, outlen, "%s", dec);
	OPENSSL_free(dec);
	BN_free(bn);
	OPENSSL_free(der);
	ERR_clear_error();
}

/* --------------------------------------------------- certificate profile */

/* Extended key usages c2pa-rs accepts for each role beyond the three it
 * always accepts (emailProtection, timeStamping, OCSPSigning). */
static const char *const signer_ekus[] = {
	"1.3.6.1.5.5.7.3.4",       /* id-kp-emailProtection */
	"1.3.6.1.5.5.7.3.36",      /* id-kp-documentSigning */
	"1.3.6.1.5.5.7.3.8",       /* id-kp-timeStamping */
	"1.3.6.1.5.5.7.3.9",       /* id-kp-OCSPSigning */
	"1.3.6.1.4.1.311.76.59.1.9", /* Microsoft C2PA signing */
	"1.3.6.1.4.1.62558.2.1",   /* C2PA signing */
	NULL
};
static const char *const tsa_ekus[] = { "1.3.6.1.5.5.7.3.8", NULL };
static const char *const ocsp_ekus[] = { "1.3.6.1.5.5.7.3.9", NULL };

static int oid_in(const ASN1_OBJECT *o, const char *const *list)
{
	char txt[128];
	int l = OBJ_obj2txt(txt, sizeof txt, o, 1);
	if (l <= 0 || l >= (int)sizeof txt)
		return 0;
	for (int i = 0; list[i]; i++)
		if (!strcmp(txt, list[i]))
			return 1;
	return 0;
}

static int is_sha2(int nid)
{
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* The RSASSA-PSS parameters of the certificate's signature: explicit hash
 * and MGF1 hash, equal, one of SHA-256/384/512. */
static int check_pss_params(int ptype, const void *pval, char *why, size_t whylen)
{
	if (ptype == V_ASN1_UNDEF || !pval) {
		snprintf(why, whylen, "RSASSA-PSS signature without parameters");
		return -1;
	}
	if (ptype != V_ASN1_SEQUENCE) {
		snprintf(why, whylen, "RSASSA-PSS parameters are not a sequence");
		return -1;
	}
	const ASN1_STRING *seq = pval;
	const unsigned char *p = ASN1_STRING_get0_data(seq);
	RSA_PSS_PARAMS *pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	int rc = -1;
	X509_ALGOR *mgfhash = NULL;
	if (!pss || !pss->hashAlgorithm || !pss->maskGenAlgorithm) {
		snprintf(why, whylen, "RSASSA-PSS parameters unreadable or without explicit hash and MGF");
		goto out;
	}
	const ASN1_TYPE *mp = pss->maskGenAlgorithm->parameter;
	if (!mp || mp->type != V_ASN1_SEQUENCE) {
		snprintf(why, whylen, "RSASSA-PSS MGF without a hash");
		goto out;
	}
	const unsigned char *q = ASN1_STRING_get0_data(mp->value.sequence);
	mgfhash = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(mp->value.sequence));
	if (!mgfhash) {
		snprintf(why, whylen, "RSASSA-PSS MGF hash unreadable");
		goto out;
	}
	if (OBJ_cmp(pss->hashAlgorithm->algorithm, mgfhash->algorithm) != 0) {
		snprintf(why, whylen, "RSASSA-PSS hash and MGF hash differ");
		goto out;
	}
	if (!is_sha2(OBJ_obj2nid(pss->hashAlgorithm->algorithm))) {
		snprintf(why, whylen, "RSASSA-PSS hash is not SHA-256/384/512");
		goto out;
	}
	rc = 0;
out:
	X509_ALGOR_free(mgfhash);
	RSA_PSS_PARAMS_free(pss);
	ERR_clear_error();
	return rc;
}

/* Decodes extension i if OpenSSL knows it; NULL if it cannot. The caller
 * frees with the matching *_free. */
static void *ext_d2i(X509_EXTENSION *ext)
{
	void *v = X509V3_EXT_d2i(ext);
	if (!v)
		ERR_clear_error();
	return v;
}

static void ext_free(int nid, void *v)
{
	const X509V3_EXT_METHOD *m = X509V3_EXT_get_nid(nid);
	if (!v)
		return;
	if (m && m->it)
		ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
	else if (m && m->ext_free)
		m->ext_free(v);
}

int prov_x509_check_profile(X509 *x, int role, int64_t t, const char *url,
                            prov_status_list *st, char *why, size_t whylen)
{
	char reason[256] = "";
	const char *code = "signingCredential.invalid";
	int rc = -1;
	EXTENDED_KEY_USAGE *eku = NULL;
	BASIC_CONSTRAINTS *bc = NULL;

	if (!x) {
		snprintf(reason, sizeof reason, "certificate cannot be parsed");
		goto fail;
	}
	/* Version 3 (RFC 5280 4.1.2.1). */
	if (X509_get_version(x) != X509_VERSION_3) {
		snprintf(reason, sizeof reason, "certificate is not version 3");
		goto fail;
	}
	/* Valid at the signing time (or now). */
	int64_t nb, na;
	if (prov_asn1_time_unix(X509_get0_notBefore(x), &nb) ||
	    prov_asn1_time_unix(X509_get0_notAfter(x), &na)) {
		snprintf(reason, sizeof reason, "certificate validity dates unreadable");
		goto fail;
	}
	if (t < nb || t > na) {
		char tb[48];
		prov_rfc3339(t, 0, tb, sizeof tb);
		snprintf(reason, sizeof reason, "certificate not valid at %s", tb);
		code = "signingCredential.expired";
		goto fail;
	}
	/* Signature algorithm of the certificate. */
	const X509_ALGOR *sigalg = NULL;
	X509_get0_signature(NULL, &sigalg, x);
	const ASN1_OBJECT *sobj = NULL;
	int sptype = V_ASN1_UNDEF;
	const void *spval = NULL;
	X509_ALGOR_get0(&sobj, &sptype, &spval, sigalg);
	int snid = OBJ_obj2nid(sobj);
	if (!(snid == NID_sha256WithRSAEncryption || snid == NID_sha384WithRSAEncryption ||
	      snid == NID_sha512WithRSAEncryption || snid == NID_ecdsa_with_SHA256 ||
	      snid == NID_ecdsa_with_SHA384 || snid == NID_ecdsa_with_SHA512 ||
	      snid == NID_rsassaPss || snid == NID_ED25519)) {
		snprintf(reason, sizeof reason, "certificate signature algorithm not allowed (%s)",
		         snid != NID_undef ? OBJ_nid2sn(snid) : "unknown");
		goto fail;
	}
	if (snid == NID_rsassaPss && check_pss_params(sptype, spval, reason, sizeof reason))
		goto fail;
	/* The subject key: EC on P-256/384/521, RSA of 2048 bits or more. */
	ASN1_OBJECT *kobj = NULL;
	const X509_ALGOR *kalg = NULL;
	if (!X509_PUBKEY_get0_param(&kobj, NULL, NULL, (X509_ALGOR **)&kalg,
	                            X509_get_X509_PUBKEY(x))) {
		snprintf(reason, sizeof reason, "certificate public key unreadable");
		goto fail;
	}
	int knid = OBJ_obj2nid(kobj);
	if (knid == NID_X9_62_id_ecPublicKey) {
		const ASN1_OBJECT *cobj = NULL;
		int cptype = V_ASN1_UNDEF;
		const void *cpval = NULL;
		X509_ALGOR_get0(&cobj, &cptype, &cpval, kalg);
		if (cptype != V_ASN1_OBJECT || !cpval) {
			snprintf(reason, sizeof reason, "EC key without a named curve");
			goto fail;
		}
		int cnid = OBJ_obj2nid(cpval);
		if (cnid != NID_X9_62_prime256v1 && cnid != NID_secp384r1 && cnid != NID_secp521r1) {
			snprintf(reason, sizeof reason, "EC curve not allowed (%s)",
			         cnid != NID_undef ? OBJ_nid2sn(cnid) : "unknown");
			goto fail;
		}
	}
	if (knid == NID_rsaEncryption || knid == NID_rsassaPss) {
		EVP_PKEY *pk = X509_get0_pubkey(x);
		if (!pk) {
			snprintf(reason, sizeof reason, "RSA key unreadable");
			goto fail;
		}
		if (EVP_PKEY_get_bits(pk) < 2048) {
			snprintf(reason, sizeof reason, "RSA key of %d bits (2048 needed)",
			         EVP_PKEY_get_bits(pk));
			goto fail;
		}
	}
	/* Extensions may appear once each. */
	int next = X509_get_ext_count(x);
	if (next > MAX_EXTENSIONS) {
		snprintf(reason, sizeof reason, "certificate has %d extensions", next);
		goto fail;
	}
	for (int i = 0; i < next; i++)
		for (int j = 0; j < i; j++)
			if (!OBJ_cmp(X509_EXTENSION_get_object(X509_get_ext(x, i)),
			             X509_EXTENSION_get_object(X509_get_ext(x, j)))) {
				snprintf(reason, sizeof reason, "certificate repeats an extension");
				goto fail;
			}
	int crit = -1;
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	if (!bc && crit >= 0) {
		snprintf(reason, sizeof reason, "basic constraints unreadable");
		goto fail;
	}
	int is_ca = bc && bc->ca;
	/* No self-signed CA. */
	if (is_ca && !X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x))) {
		snprintf(reason, sizeof reason, "self-signed certificate (issuer = subject)");
		goto fail;
	}
	/* No unique identifiers. */
	const ASN1_BIT_STRING *iuid = NULL, *suid = NULL;
	X509_get0_uids(x, &iuid, &suid);
	if (iuid || suid) {
		snprintf(reason, sizeof reason, "certificate carries issuer/subject unique ids");
		goto fail;
	}
	/* Extended key usage. */
	const char *const *allowed = role == PROV_EKU_TSA ? tsa_ekus
	                           : role == PROV_EKU_OCSP ? ocsp_ekus : signer_ekus;
	int eku_good;
	crit = -1;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	if (!eku && crit >= 0) {
		snprintf(reason, sizeof reason, "extended key usage unreadable");
		goto fail;
	}
	if (eku) {
		int any = 0, server = 0, client = 0, code_sign = 0, email = 0, ts = 0, ocsp = 0;
		int other = 0, other_allowed = 0;
		for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
			const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
			switch (OBJ_obj2nid(o)) {
			case NID_anyExtendedKeyUsage: any = 1; break;
			case NID_server_auth: server = 1; break;
			case NID_client_auth: client = 1; break;
			case NID_code_sign: code_sign = 1; break;
			case NID_email_protect: email = 1; break;
			case NID_time_stamp: ts = 1; break;
			case NID_OCSP_sign: ocsp = 1; break;
			default:
				other = 1;
				if (oid_in(o, allowed))
					other_allowed = 1;
			}
		}
		if (any) {
			snprintf(reason, sizeof reason, "the 'any' extended key usage is not allowed");
			goto fail;
		}
		if (!(email || ts || ocsp || other_allowed)) {
			snprintf(reason, sizeof reason, "no allowed extended key usage");
			goto fail;
		}
		if ((ocsp && ts) || ((ocsp ^ ts) && (client || code_sign || email || server || other))) {
			snprintf(reason, sizeof reason, "invalid combination of extended key usages");
			goto fail;
		}
		eku_good = 1;
	} else {
		eku_good = is_ca; /* an end-entity certificate must have one */
	}
	/* The other extensions. */
	int aki = 0, ski = 0, ku_good = 0, all_critical_handled = 1;
	for (int i = 0; i < next; i++) {
		X509_EXTENSION *ext = X509_get_ext(x, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		int critical = X509_EXTENSION_get_critical(ext);
		void *v = NULL;
		switch (nid) {
		case NID_authority_key_identifier:
		case NID_subject_key_identifier:
		case NID_key_usage:
		case NID_certificate_policies:
		case NID_policy_mappings:
		case NID_subject_alt_name:
		case NID_basic_constraints:
		case NID_name_constraints:
		case NID_policy_constraints:
		case NID_ext_key_usage:
		case NID_crl_distribution_points:
		case NID_inhibit_any_policy:
		case NID_info_access:
		case NID_netscape_cert_type:
		case NID_crl_number:
		case NID_crl_reason:
		case NID_invalidity_date:
			v = ext_d2i(ext);
			if (!v) {
				/* Known but unreadable: like an unknown one. */
				if (critical)
					all_critical_handled = 0;
				break;
			}
			if (nid == NID_authority_key_identifier)
				aki = 1;
			else if (nid == NID_subject_key_identifier)
				ski = 1;
			else if (nid == NID_key_usage) {
				const ASN1_BIT_STRING *ku = v;
				int ds = ASN1_BIT_STRING_get_bit(ku, 0);
				int nr = ASN1_BIT_STRING_get_bit(ku, 1);
				int kcs = ASN1_BIT_STRING_get_bit(ku, 5);
				if (ds) {
					if (kcs && !is_ca) {
						ext_free(nid, v);
						snprintf(reason, sizeof reason,
						         "keyCertSign on a certificate that is not a CA");
						goto fail;
					}
					ku_good = 1;
				}
				if (kcs || nr)
					ku_good = 1;
			}
			ext_free(nid, v);
			break;
		default:
			if (critical)
				all_critical_handled = 0;
		}
	}
	if (!is_ca)
		ski = 1; /* only a CA needs a subject key identifier */
	if (!(aki && ski && ku_good && eku_good && all_critical_handled)) {
		snprintf(reason, sizeof reason, "certificate extensions incorrect:%s%s%s%s%s",
		         aki ? "" : " no authority key id", ski ? "" : " no subject key id",
		         ku_good ? "" : " key usage", eku_good ? "" : " no extended key usage",
		         all_critical_handled ? "" : " unknown critical extension");
		goto fail;
	}
	/* An end-entity certificate, not a CA. */
	if (is_ca) {
		snprintf(reason, sizeof reason, "expected an end-entity certificate, got a CA");
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	if (st) {
		const char *who = role == PROV_EKU_TSA ? "time-stamp authority"
		                : role == PROV_EKU_OCSP ? "OCSP responder" : "signing";
		prov_status_add(st, PROV_FAILURE, code, url, "%s certificate: %s", who, reason);
	}
out:
	if (why)
		snprintf(why, whylen, "%s", rc ? reason : "");
	EXTENDED_KEY_USAGE_free(eku);
	BASIC_CONSTRAINTS_free(bc);
	ERR_clear_error();
	return rc;
}

/* ------------------------------------------------------------- the chain */

int prov_x509_verify_chain(const prov_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                           int64_t t, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = 0;
	if (!trust || trust->count == 0) {
		if (why)
			snprintf(why, whylen, "no trust list");
		return 0;
	}
	if (!leaf) {
		if (why)
			snprintf(why, whylen, "no certificate");
		return 0;
	}
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!ctx) {
		if (why)
			snprintf(why, whylen, "out of memory");
		return 0;
	}
	int ok = 0;
	if (X509_STORE_CTX_init(ctx, trust->store, leaf, untrusted)) {
		X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
		unsigned long flags = X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN;
		if (t < 0)
			flags |= X509_V_FLAG_NO_CHECK_TIME;
		X509_VERIFY_PARAM_set_flags(vp, flags);
		if (t >= 0)
			X509_VERIFY_PARAM_set_time(vp, (time_t)t);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok && why)
			snprintf(why, whylen, "%s",
			         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	} else if (why) {
		snprintf(why, whylen, "cannot set up verification");
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* ------------------------------------------------------------------ OCSP */

void prov_ocsp_check(const uint8_t *der, size_t len, STACK_OF(X509) *chain,
                     const prov_trust *trust, int64_t t, const char *url,
                     prov_status_list *st, char ocsp[32])
{
	snprintf(ocsp, 32, "unverified");
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	X509_STORE *empty = NULL;
	STACK_OF(X509) *rchain = NULL;
	X509 *leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
	X509 *issuer = chain && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;

	if (!der || len == 0 || len > LONG_MAX || !leaf)
		goto out;
	const unsigned char *p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (!resp || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		goto out;
	bs = OCSP_response_get1_basic(resp);
	if (!bs)
		goto out;
	/* The response must carry its responder's certificate and verify
	 * with it. */
	const STACK_OF(X509) *rcerts = OCSP_resp_get0_certs(bs);
	if (!rcerts || sk_X509_num(rcerts) == 0 || sk_X509_num(rcerts) > 32)
		goto out;
	X509 *responder = sk_X509_value(rcerts, 0);
	empty = X509_STORE_new();
	if (!empty || OCSP_basic_verify(bs, NULL, empty, OCSP_NOVERIFY) <= 0)
		goto out;
	/* The responder: OCSP-signing profile and a chain to the trust list
	 * (through the signer's issuing CA when it issued the responder). */
	if (prov_x509_check_profile(responder, PROV_EKU_OCSP, t >= 0 ? t : prov_cose_now(), url,
	                            NULL, NULL, 0))
		goto out;
	rchain = sk_X509_new_null();
	if (!rchain)
		goto out;
	for (int i = 0; i < sk_X509_num(rcerts); i++)
		if (!sk_X509_push(rchain, sk_X509_value(rcerts, i)))
			goto out;
	if (sk_X509_num(rcerts) == 1 && issuer &&
	    !X509_NAME_cmp(X509_get_issuer_name(responder), X509_get_subject_name(issuer))) {
		for (int i = 1; i < sk_X509_num(chain); i++)
			if (!sk_X509_push(rchain, sk_X509_value(chain, i)))
				goto out;
	}
	if (!prov_x509_verify_chain(trust, responder, rchain, t, NULL, 0))
		goto out;

	/* The single responses about the signing certificate. */
	if (!issuer)
		goto out;
	int found = 0, revoked = 0, unknown = 0, quiet_good = 0;
	int64_t revoked_at = 0;
	int64_t now = prov_cose_now();
	int n = OCSP_resp_count(bs);
	if (n > MAX_OCSP_SINGLE)
		n = MAX_OCSP_SINGLE;
	for (int i = 0; i < n; i++) {
		OCSP_SINGLERESP *single = OCSP_resp_get0(bs, i);
		const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(single);
		ASN1_OBJECT *mdobj = NULL;
		if (!cid || !OCSP_id_get0_info(NULL, &mdobj, NULL, NULL, (OCSP_CERTID *)cid))
			continue;
		int mdnid = OBJ_obj2nid(mdobj);
		if (mdnid != NID_sha1 && mdnid != NID_sha256)
			continue;
		OCSP_CERTID *mine = OCSP_cert_to_id(EVP_get_digestbynid(mdnid), leaf, issuer);
		int match = mine && !OCSP_id_cmp(mine, cid);
		OCSP_CERTID_free(mine);
		if (!match)
			continue;
		found = 1;
		int reason = OCSP_REVOKED_STATUS_NOSTATUS;
		ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
		int status = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
		if (status == V_OCSP_CERTSTATUS_GOOD) {
			int64_t tu, nu;
			if (prov_asn1_time_unix(thisupd, &tu))
				continue;
			if (nextupd) {
				if (prov_asn1_time_unix(nextupd, &nu))
					continue;
			} else {
				const ASN1_GENERALIZEDTIME *pa = OCSP_resp_get0_produced_at(bs);
				if (prov_asn1_time_unix(pa, &nu))
					continue;
				nu += 24 * 60 * 60;
			}
			/* c2pa-rs: good if signed before thisUpdate or within
			 * [thisUpdate, nextUpdate]; without a signing time, good
			 * once thisUpdate has passed. Otherwise it counts the
			 * response as a revocation. */
			int in_range = t >= 0 ? (t < tu || (t >= tu && t <= nu)) : now >= tu;
			if (in_range) {
				snprintf(ocsp, 32, "good");
				prov_status_add(st, PROV_INFORMATIONAL, "signingCredential.ocsp.notRevoked",
				                url, "stapled OCSP response: signing certificate good");
				goto out;
			}
			revoked = 1;
			revoked_at = 0;
		} else if (status == V_OCSP_CERTSTATUS_REVOKED) {
			int64_t ra;
			if (prov_asn1_time_unix(rev, &ra))
				continue;
			if (reason == OCSP_REVOKED_STATUS_REMOVEFROMCRL) {
				int in_range = t >= 0 ? ra > t : ra > now;
				if (!in_range) {
					revoked = 1;
					revoked_at = ra;
				} else {
					quiet_good = 1;
				}
			} else if (reason != OCSP_REVOKED_STATUS_NOSTATUS) {
				if (t >= 0 && t < ra) {
					/* Revoked after the signature was made. */
					snprintf(ocsp, 32, "good");
					goto out;
				}
				revoked = 1;
				revoked_at = ra;
			} else {
				revoked = 1;
				revoked_at = ra;
			}
		} else {
			unknown = 1;
		}
	}
	if (revoked) {
		snprintf(ocsp, 32, "revoked");
		char when[48] = "";
		if (revoked_at)
			prov_rfc3339(revoked_at, 0, when, sizeof when);
		prov_status_add(st, PROV_FAILURE, "signingCredential.ocsp.revoked", url,
		                "stapled OCSP response: signing certificate revoked%s%s",
		                revoked_at ? " at " : "", when);
	} else if (quiet_good) {
		snprintf(ocsp, 32, "good");
	} else if (unknown) {
		snprintf(ocsp, 32, "unknown");
	} else if (!found) {
		snprintf(ocsp, 32, "unverified");
	}
out:
	sk_X509_free(rchain);
	X509_STORE_free(empty);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}
