/*
 * prov_bmffhash.h - the C2PA BMFF hard binding (c2pa.hash.bmff,
 * c2pa.hash.bmff.v2, c2pa.hash.bmff.v3) checked against an ISO BMFF asset
 * (MP4, MOV, HEIC, AVIF, ...), following c2pa-rs's rules so the verdict
 * agrees with the reference implementation.
 *
 * The assertion names boxes to leave out of the hash by xpath ("/uuid",
 * "/ftyp", "/moov/trak/mdia/minf/stbl/stco", "/moov/trak[2]"), narrowed by
 * length, version, flags and data matches, or shrunk to byte subsets. The
 * hash covers the file minus those exclusions; from v2 on, the 8-byte
 * big-endian file offset of every top-level box not wholly excluded is
 * hashed in front of its bytes, so boxes cannot be moved around.
 *
 * What is validated: the whole-file hash ("hash"), and each merkle map's
 * initHash as c2pa-rs checks it on a single file (the file minus the
 * exclusions and minus everything from the first top-level moof on; a
 * file without moof may not carry an initHash at all, so an fMP4 init
 * segment alone, like c2pa-rs's dashinit.mp4, is a mismatch). The merkle
 * trees themselves (per-fragment, mdat chunk or timed-media leaves, uuid
 * "merkle" proof boxes) are not: an assertion carrying merkle maps gives
 * PROV_BMFF_UNSUPPORTED once its whole-file hash and initHashes (if any)
 * matched. Separate fragment files (c2pa-rs verify_stream_segments) are
 * out of scope.
 */
#ifndef VETO_PROV_BMFFHASH_H
#define VETO_PROV_BMFFHASH_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

enum prov_bmff_result {
	PROV_BMFF_MATCH = 0,      /* c2pa-rs: assertion.bmffHash.match */
	PROV_BMFF_MISMATCH = 1,   /* c2pa-rs: assertion.bmffHash.mismatch; also
	                           * what c2pa-rs reports when the asset's box
	                           * structure is damaged (a box running past
	                           * its parent), an exclusion's data match
	                           * reads past the end of the file, the
	                           * algorithm is unknown, or the hash is remote
	                           * ("url", deprecated) */
	PROV_BMFF_MALFORMED = 2,  /* the assertion does not decode (a missing or
	                           * mistyped field), has no exclusions, or has
	                           * unordered/overlapping subsets (c2pa-rs:
	                           * assertion.bmffHash.malformed); or the asset
	                           * does not start like BMFF at all (first box
	                           * unreadable, bad ftyp), which c2pa-rs reports
	                           * as a mismatch */
	PROV_BMFF_UNSUPPORTED = 3 /* a feature not implemented here (merkle
	                           * trees), or an asset/assertion pair too big
	                           * to check (boxes x exclusions over 2^28);
	                           * why names it */
};

/* assertion: the parsed c2pa.hash.bmff* CBOR map; label its assertion label
 * ("c2pa.hash.bmff.v2", an instance suffix "__1" allowed; NULL reads as
 * version 1); claim_alg the claim's alg (may be NULL), used when the
 * assertion has none, sha256 failing both. Returns a prov_bmff_result with
 * a one-line reason in why (always NUL-terminated when whylen > 0). Never
 * crashes on hostile assets or assertions: box walks are bounded in depth
 * (32) and count, every length is checked against the file. */
int prov_bmff_hash_check(const uint8_t *asset, size_t asset_len, const cbor_item_t *assertion,
                         const char *label, const char *claim_alg, char *why, size_t whylen);

#endif
