/*
 * digest.c - MD5 and SHA-256 of file bytes (exact-copy signals).
 *
 * StopNCII exchanges video as MD5; SHA-256 is the collision-resistant twin.
 * OpenSSL's EVP does the work: its assembly is faster than anything we
 * would write, and it is already a dependency for TLS.
 */
#include "internal.h"

#include <openssl/evp.h>

static int one(const EVP_MD *md, const uint8_t *data, size_t size, uint8_t *out)
{
	unsigned int len = 0;
	return EVP_Digest(data, size, out, &len, md, NULL) == 1;
}

int veto_digest(const uint8_t *data, size_t size, uint8_t md5[16],
                uint8_t sha256[32], veto_error *err)
{
	if (!data && size)
		return veto_fail(err, VETO_ERR_INVALID, "veto_digest: no data");
	static const uint8_t empty = 0;
	if (!data)
		data = &empty;
	if (md5 && !one(EVP_md5(), data, size, md5))
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "MD5 is not available from OpenSSL");
	if (sha256 && !one(EVP_sha256(), data, size, sha256))
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "SHA-256 is not available from OpenSSL");
	return VETO_OK;
}
