/*
 * digest.c - MD5 and SHA-256 of file bytes (exact-copy signals).
 *
 * StopNCII exchanges video as MD5; SHA-256 is the collision-resistant twin.
 * OpenSSL's EVP does the work: its assembly is faster than anything we
 * would write, and it is already a dependency for TLS.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

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

/* Videos are too large to hold whole, so they are digested in chunks. */
int veto_digest_fd(int fd, const char *name, uint8_t md5[16], uint8_t sha256[32],
                   uint64_t *bytes, veto_error *err)
{
	enum { CHUNK = 1 << 20 };
	int rc = VETO_OK;
	EVP_MD_CTX *cm = md5 ? EVP_MD_CTX_new() : NULL;
	EVP_MD_CTX *cs = sha256 ? EVP_MD_CTX_new() : NULL;
	uint8_t *buf = (uint8_t *)malloc(CHUNK);
	if (!buf || (md5 && !cm) || (sha256 && !cs)) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	if ((cm && EVP_DigestInit_ex(cm, EVP_md5(), NULL) != 1) ||
	    (cs && EVP_DigestInit_ex(cs, EVP_sha256(), NULL) != 1)) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "MD5/SHA-256 not available from OpenSSL");
		goto out;
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, buf, CHUNK, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = veto_fail(err, VETO_ERR_IO, "%s: read failed (%s)", name, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (cm)
			EVP_DigestUpdate(cm, buf, (size_t)r);
		if (cs)
			EVP_DigestUpdate(cs, buf, (size_t)r);
		off += (uint64_t)r;
	}
	unsigned int len;
	if (cm)
		EVP_DigestFinal_ex(cm, md5, &len);
	if (cs)
		EVP_DigestFinal_ex(cs, sha256, &len);
	if (bytes)
		*bytes = off;
out:
	free(buf);
	EVP_MD_CTX_free(cm);
	EVP_MD_CTX_free(cs);
	return rc;
}
