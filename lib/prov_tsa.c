/*
 * prov_tsa.c - RFC 3161 time-stamp tokens in a C2PA signature ("sigTst",
 * "sigTst2"), checked the way c2pa-rs's verify_time_stamp does
 * (sdk/src/crypto/time_stamp/verify.rs), restated for OpenSSL's CMS and
 * TS types:
 *
 *   the token (a TimeStampResp granted, or a bare ContentInfo) must be CMS
 *   SignedData carrying certificates (else timeStamp.malformed /
 *   timeStamp.untrusted); for each SignerInfo whose certificate is there:
 *   the TSTInfo, the signed messageDigest over it (timeStamp.mismatch), the
 *   signature (timeStamp.untrusted), the TSA certificate's validity at the
 *   signing time give or take the token's accuracy
 *   (timeStamp.outsideValidity), the message imprint over the
 *   countersignature structure (timeStamp.validated or timeStamp.mismatch),
 *   then the TSA certificate's profile and chain to the trust list
 *   (timeStamp.trusted or timeStamp.untrusted).
 *
 * The signing time is the signed signingTime attribute when there is one
 * (whole seconds), else genTime (with its fraction). Statuses of the first
 * signer that passes everything are kept, else those of the last one tried.
 * Unlike c2pa-rs, a TSA certificate that fails the certificate profile is
 * reported as timeStamp.untrusted alone, not also under signingCredential.*
 * (those codes describe the claim signer).
 */
#include "prov_cose.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TSA_MAX_CERTS    64
#define TSA_MAX_SIGNERS  8

/* One DER TLV at p[0..n): tag byte, header length and content length.
 * Definite lengths only (DER). */
static int der_tlv(const uint8_t *p, size_t n, int *tag, size_t *hdr, size_t *len)
{
	if (n < 2)
		return -1;
	*tag = p[0];
	if ((p[0] & 0x1f) == 0x1f)
		return -1; /* multi-byte tags are not used here */
	size_t i = 1, l;
	if (p[i] < 0x80) {
		l = p[i++];
	} else {
		int nl = p[i++] & 0x7f;
		if (nl == 0 || nl > 4 || i + (size_t)nl > n)
			return -1;
		l = 0;
		for (int k = 0; k < nl; k++)
			l = l << 8 | p[i++];
	}
	if (l > n - i)
		return -1;
	*hdr = i;
	*len = l;
	return 0;
}

/* Finds the TimeStampToken in `in`: either a TimeStampResp with status
 * granted (0) or grantedWithMods (1) and a token, or the token itself.
 * -1: not a time-stamp (malformed). */
static int find_token(const uint8_t *in, size_t n, const uint8_t **tok, size_t *toklen,
                      char *why, size_t whylen)
{
	int tag;
	size_t h, l;
	if (der_tlv(in, n, &tag, &h, &l) || tag != 0x30) {
		snprintf(why, whylen, "not a DER sequence");
		return -1;
	}
	const uint8_t *c = in + h;
	size_t cl = l;
	int itag;
	size_t ih, il;
	if (der_tlv(c, cl, &itag, &ih, &il)) {
		snprintf(why, whylen, "empty or truncated sequence");
		return -1;
	}
	if (itag == 0x06) { /* ContentInfo: the token itself */
		*tok = in;
		*toklen = h + l;
		return 0;
	}
	if (itag != 0x30) {
		snprintf(why, whylen, "neither a TimeStampResp nor a TimeStampToken");
		return -1;
	}
	/* PKIStatusInfo ::= SEQUENCE { status INTEGER, ... } */
	int stag;
	size_t sh, sl;
	if (der_tlv(c + ih, il, &stag, &sh, &sl) || stag != 0x02 || sl < 1 || sl > 4) {
		snprintf(why, whylen, "time-stamp response status unreadable");
		return -1;
	}
	long status = 0;
	for (size_t k = 0; k < sl; k++)
		status = status << 8 | c[ih + sh + k];
	if (c[ih + sh] & 0x80)
		status = -1;
	if (status != 0 && status != 1) {
		snprintf(why, whylen, "time-stamp response status %ld (not granted)", status);
		return -1;
	}
	size_t rest = ih + il;
	if (rest >= cl) {
		snprintf(why, whylen, "time-stamp response without a token");
		return -1;
	}
	int ttag;
	size_t th, tl;
	if (der_tlv(c + rest, cl - rest, &ttag, &th, &tl) || ttag != 0x30) {
		snprintf(why, whylen, "time-stamp response token unreadable");
		return -1;
	}
	*tok = c + rest;
	*toklen = th + tl;
	return 0;
}

static const EVP_MD *sha_md(int nid)
{
	switch (nid) {
	case NID_sha1: return EVP_sha1();
	case NID_sha256: return EVP_sha256();
	case NID_sha384: return EVP_sha384();
	case NID_sha512: return EVP_sha512();
	default: return NULL;
	}
}

/* Fraction of a GeneralizedTime ("...SS.fffZ") in nanoseconds. */
static long gt_nanos(const ASN1_GENERALIZEDTIME *gt)
{
	const unsigned char *d = ASN1_STRING_get0_data(gt);
	int n = ASN1_STRING_length(gt);
	for (int i = 0; i < n; i++) {
		if (d[i] != '.' && d[i] != ',')
			continue;
		long v = 0;
		int k = 0;
		for (i++; i < n && d[i] >= '0' && d[i] <= '9'; i++, k++)
			if (k < 9)
				v = v * 10 + (d[i] - '0');
		for (; k < 9; k++)
			v *= 10;
		return v;
	}
	return 0;
}

/* c2pa-rs reads each accuracy field as an unsigned big-endian integer of
 * at most 8 bytes (0 otherwise). */
static int64_t acc_field(const ASN1_INTEGER *a)
{
	if (!a)
		return 0;
	int64_t v;
	if (!ASN1_INTEGER_get_int64(&v, a) || v < 0) {
		ERR_clear_error();
		return 0;
	}
	return v;
}

static int64_t accuracy_seconds(TS_TST_INFO *tst)
{
	const TS_ACCURACY *acc = TS_TST_INFO_get_accuracy(tst);
	if (!acc)
		return 0;
	int64_t s = acc_field(TS_ACCURACY_get_seconds(acc));
	int64_t ms = acc_field(TS_ACCURACY_get_millis(acc));
	int64_t us = acc_field(TS_ACCURACY_get_micros(acc));
	if (s > INT64_MAX / 2000000 || ms > INT64_MAX / 2000 || us > INT64_MAX / 2)
		return INT64_MAX / 4;
	int64_t total = s * 1000000 + ms * 1000 + us;
	return (total + 999999) / 1000000;
}

/* The single value of signed attribute `nid` (NULL if absent); *count
 * receives its number of values (-1 if absent). */
static ASN1_TYPE *signed_attr(CMS_SignerInfo *si, int nid, int *count)
{
	*count = -1;
	int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
	if (idx < 0)
		return NULL;
	X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
	if (!a)
		return NULL;
	*count = X509_ATTRIBUTE_count(a);
	return *count == 1 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
}

/* Certificates ordered from `leaf` upward by issuer name, as c2pa-rs
 * orders them before checking trust. */
static STACK_OF(X509) *order_chain(STACK_OF(X509) *certs, int leaf)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	int n = sk_X509_num(certs);
	char used[TSA_MAX_CERTS] = { 0 };
	if (!out || n > TSA_MAX_CERTS)
		return out;
	int cur = leaf;
	used[cur] = 1;
	if (!sk_X509_push(out, sk_X509_value(certs, cur)))
		return out;
	for (int step = 0; step < n; step++) {
		int next = -1;
		for (int i = 0; i < n; i++)
			if (!used[i] && !X509_NAME_cmp(X509_get_issuer_name(sk_X509_value(certs, cur)),
			                               X509_get_subject_name(sk_X509_value(certs, i)))) {
				next = i;
				break;
			}
		if (next < 0)
			break;
		used[next] = 1;
		cur = next;
		if (!sk_X509_push(out, sk_X509_value(certs, cur)))
			break;
	}
	return out;
}

/* Signature of a SignerInfo without signed attributes: over the content. */
static int verify_plain(CMS_SignerInfo *si, X509 *cert, const EVP_MD *md,
                        const ASN1_OCTET_STRING *content)
{
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	if (!sig || !pk || !content)
		return 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m && EVP_DigestVerifyInit(m, NULL, md, NULL, pk) == 1 &&
	         EVP_DigestVerify(m, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	                          ASN1_STRING_get0_data(content),
	                          (size_t)ASN1_STRING_length(content)) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

void prov_tsa_verify(const uint8_t *token, size_t token_len, const uint8_t *data,
                     size_t data_len, const prov_trust *trust, const char *url,
                     prov_status_list *st, prov_tst_result *res)
{
	memset(res, 0, sizeof *res);
	char why[256];
	const uint8_t *tok;
	size_t toklen;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs = NULL;
	prov_status_list cur = { 0 };
	prov_tst_result cres = { 0 };

	if (!token || token_len == 0 || token_len > LONG_MAX ||
	    find_token(token, token_len, &tok, &toklen, why, sizeof why)) {
		if (!token || token_len == 0)
			snprintf(why, sizeof why, "empty token");
		prov_status_add(st, PROV_INFORMATIONAL, "timeStamp.malformed", url,
		                "time-stamp cannot be read: %s", why);
		goto out;
	}
	const unsigned char *p = tok;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)toklen);
	if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		prov_status_add(st, PROV_INFORMATIONAL, "timeStamp.malformed", url,
		                "time-stamp token is not CMS SignedData");
		goto out;
	}
	certs = CMS_get1_certs(cms);
	if (!certs || sk_X509_num(certs) == 0) {
		prov_status_add(st, PROV_INFORMATIONAL, "timeStamp.untrusted", url,
		                "time-stamp token carries no certificate");
		goto out;
	}
	if (sk_X509_num(certs) > TSA_MAX_CERTS) {
		prov_status_add(st, PROV_INFORMATIONAL, "timeStamp.malformed", url,
		                "time-stamp token carries %d certificates", sk_X509_num(certs));
		goto out;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	int nsi = sis ? sk_CMS_SignerInfo_num(sis) : 0;
	if (nsi > TSA_MAX_SIGNERS)
		nsi = TSA_MAX_SIGNERS;

	for (int s = 0; s < nsi; s++) {
		prov_status_free(&cur);
		memset(&cres, 0, sizeof cres);
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, s);
		int pos = -1;
		for (int i = 0; i < sk_X509_num(certs); i++)
			if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0) {
				pos = i;
				break;
			}
		if (pos < 0)
			continue;
		X509 *cert = sk_X509_value(certs, pos);
		prov_x509_subject_attr(cert, NID_commonName, 1, cres.tsa, sizeof cres.tsa);
		const char *cn = cres.tsa;

		/* The TSTInfo. */
		TS_TST_INFO *tst = NULL;
		ASN1_OCTET_STRING **content = CMS_get0_content(cms);
		if (OBJ_obj2nid(CMS_get0_eContentType(cms)) == NID_id_smime_ct_TSTInfo && content &&
		    *content) {
			const unsigned char *q = ASN1_STRING_get0_data(*content);
			tst = d2i_TS_TST_INFO(NULL, &q, ASN1_STRING_length(*content));
		}
		if (!tst) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.malformed", url,
			                "time-stamp token has no readable TSTInfo");
			continue;
		}
		const ASN1_GENERALIZEDTIME *gt = TS_TST_INFO_get_time(tst);
		if (prov_asn1_time_unix(gt, &cres.time)) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.malformed", url,
			                "time-stamp genTime unreadable");
			TS_TST_INFO_free(tst);
			continue;
		}
		cres.nanos = gt_nanos(gt);

		/* Signed attributes: signingTime replaces genTime; the
		 * messageDigest must match the content. */
		const EVP_MD *md = NULL;
		X509_ALGOR *dalg = NULL;
		CMS_SignerInfo_get0_algs(si, NULL, NULL, &dalg, NULL);
		if (dalg) {
			const ASN1_OBJECT *dobj = NULL;
			X509_ALGOR_get0(&dobj, NULL, NULL, dalg);
			md = sha_md(OBJ_obj2nid(dobj));
		}
		int has_attrs = CMS_signed_get_attr_count(si) >= 0;
		int bad = 0;
		if (has_attrs) {
			int cnt;
			ASN1_TYPE *stv = signed_attr(si, NID_pkcs9_signingTime, &cnt);
			if (stv && (stv->type == V_ASN1_UTCTIME || stv->type == V_ASN1_GENERALIZEDTIME)) {
				int64_t t;
				/* c2pa-rs keeps it only within 1970..9999. */
				if (!prov_asn1_time_unix((const ASN1_TIME *)stv->value.ptr, &t) && t >= 0 &&
				    t < 253402300800LL) {
					cres.time = t;
					cres.nanos = 0;
				}
			}
			ASN1_TYPE *mdv = signed_attr(si, NID_pkcs9_messageDigest, &cnt);
			if (cnt < 0) {
				prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.malformed", url,
				                "time-stamp has no signed message digest");
				bad = 1;
			} else if (cnt != 1) {
				prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.malformed", url,
				                "time-stamp has %d message digests", cnt);
				bad = 1;
			} else if (!mdv || mdv->type != V_ASN1_OCTET_STRING) {
				prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.malformed", url,
				                "time-stamp message digest unreadable");
				bad = 1;
			} else if (!md) {
				prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.malformed", url,
				                "time-stamp digest algorithm not supported");
				bad = 1;
			} else {
				unsigned char dg[EVP_MAX_MD_SIZE];
				unsigned int dl = 0;
				const ASN1_OCTET_STRING *c = content ? *content : NULL;
				if (!EVP_Digest(c ? ASN1_STRING_get0_data(c) : (const unsigned char *)"",
				                c ? (size_t)ASN1_STRING_length(c) : 0, dg, &dl, md, NULL) ||
				    (int)dl != ASN1_STRING_length(mdv->value.octet_string) ||
				    memcmp(dg, ASN1_STRING_get0_data(mdv->value.octet_string), dl)) {
					prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.mismatch", url,
					                "time-stamp signed digest does not match its TSTInfo");
					bad = 1;
				}
			}
		}
		if (bad) {
			TS_TST_INFO_free(tst);
			continue;
		}

		/* The TSA's signature. */
		int sig_ok;
		if (has_attrs) {
			CMS_SignerInfo_set1_signer_cert(si, cert);
			sig_ok = CMS_SignerInfo_verify(si) == 1;
		} else {
			sig_ok = md && verify_plain(si, cert, md, content ? *content : NULL);
		}
		ERR_clear_error();
		if (!sig_ok) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.untrusted", url,
			                "time-stamp signature does not verify (%s)", cn);
			TS_TST_INFO_free(tst);
			continue;
		}

		/* The TSA certificate at the signing time, give or take the
		 * stated accuracy. */
		int64_t nb, na, margin = accuracy_seconds(tst);
		if (prov_asn1_time_unix(X509_get0_notBefore(cert), &nb) ||
		    prov_asn1_time_unix(X509_get0_notAfter(cert), &na) || cres.time < nb - margin ||
		    cres.time > na + margin) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.outsideValidity", url,
			                "time-stamp signed outside its certificate's validity (%s)", cn);
			TS_TST_INFO_free(tst);
			continue;
		}

		/* The message imprint over the countersignature structure. */
		TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
		const ASN1_OBJECT *iobj = NULL;
		X509_ALGOR_get0(&iobj, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
		const EVP_MD *imd = sha_md(OBJ_obj2nid(iobj));
		if (!imd) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.untrusted", url,
			                "time-stamp imprint hash algorithm not supported (%s)", cn);
			TS_TST_INFO_free(tst);
			continue;
		}
		unsigned char dg[EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		const ASN1_OCTET_STRING *imsg = TS_MSG_IMPRINT_get_msg(mi);
		if (!EVP_Digest(data, data_len, dg, &dl, imd, NULL) || !imsg ||
		    (int)dl != ASN1_STRING_length(imsg) ||
		    memcmp(dg, ASN1_STRING_get0_data(imsg), dl)) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.mismatch", url,
			                "time-stamp message imprint does not match the signature (%s)",
			                cn);
			TS_TST_INFO_free(tst);
			continue;
		}
		TS_TST_INFO_free(tst);
		prov_status_add(&cur, PROV_SUCCESS, "timeStamp.validated", url,
		                "time-stamp message imprint matches (%s)", cn);
		cres.validated = 1;

		/* The TSA certificate: profile, then chain to the trust list. */
		STACK_OF(X509) *ordered = order_chain(certs, pos);
		if (prov_x509_check_profile(cert, PROV_EKU_TSA, cres.time, url, NULL, why,
		                            sizeof why)) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.untrusted", url,
			                "time-stamp authority certificate unacceptable (%s): %s", cn, why);
			sk_X509_free(ordered);
			continue;
		}
		cres.profile_ok = 1;
		if (!prov_x509_verify_chain(trust, cert, ordered, cres.time, why, sizeof why)) {
			prov_status_add(&cur, PROV_INFORMATIONAL, "timeStamp.untrusted", url,
			                "time-stamp authority not trusted (%s): %s", cn, why);
			sk_X509_free(ordered);
			continue;
		}
		sk_X509_free(ordered);
		cres.trusted = 1;
		prov_status_add(&cur, PROV_SUCCESS, "timeStamp.trusted", url,
		                "time-stamp authority trusted (%s)", cn);
		break;
	}
	/* Keep what the deciding signer logged. */
	for (size_t i = 0; i < cur.n; i++)
		prov_status_add(st, cur.v[i].kind, cur.v[i].code, cur.v[i].url, "%s",
		                cur.v[i].explanation ? cur.v[i].explanation : "");
	if (cur.oom)
		st->oom = 1;
	if (nsi > 0)
		*res = cres;
out:
	prov_status_free(&cur);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
}
