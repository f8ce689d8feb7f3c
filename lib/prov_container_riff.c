/*
 * prov_container_riff.c - WebP (RIFF "WEBP"): the C2PA store in the "C2PA"
 * chunk, EXIF in "EXIF", XMP in "XMP ". Only top-level chunks are read,
 * as in c2pa-rs (riff_io.rs); a chunk of odd size is followed by one pad
 * byte. Other RIFF forms (AVI, WAV) are not taken: prov.h has no format
 * name for them.
 */
#include "prov_container.h"

#include <stdio.h>
#include <string.h>

int prov_scan_riff(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                   veto_error *err)
{
	if (n < 12 || memcmp(d, "RIFF", 4) != 0 || memcmp(d + 8, "WEBP", 4) != 0)
		return pc_not_mine(name, out, err);
	pc_scan s;
	pc_begin(&s, out, name, "webp");
	uint64_t riff = (uint64_t)pc_le32(d + 4) + 8;
	size_t end = n;
	if (riff > n)
		pc_problem(&s, "the RIFF header says the file is %llu bytes long, it has %zu",
		           (unsigned long long)riff, n);
	else
		end = (size_t)riff;
	size_t i = 12, nchunks = 0;
	while (i < end && !s.oom) {
		if (end - i < 8) {
			pc_problem(&s, "chunk header at %zu runs past the end of the RIFF data", i);
			break;
		}
		if (++nchunks > PC_MAX_BOXES) {
			pc_problem(&s, "more than %d RIFF chunks: stopped at %zu", PC_MAX_BOXES, i);
			break;
		}
		char id[5];
		pc_fourcc(d + i, id);
		uint32_t len = pc_le32(d + i + 4);
		if (len > end - i - 8) {
			pc_problem(&s, "\"%s\" chunk at %zu runs past the end of the RIFF data (%u bytes "
			           "declared, %zu left)", id, i, len, end - i - 8);
			break;
		}
		const uint8_t *c = d + i + 8;
		if (!memcmp(d + i, "C2PA", 4)) {
			pc_store(&s, c, len, i + 8, "RIFF C2PA chunk");
		} else if (!memcmp(d + i, "EXIF", 4)) {
			/* some writers keep JPEG's "Exif\0\0" in front of the TIFF data */
			size_t skip = len >= 6 && !memcmp(c, "Exif\0\0", 6) ? 6 : 0;
			pc_exif(&s, c + skip, len - skip, i + 8 + skip, "RIFF EXIF chunk");
		} else if (!memcmp(d + i, "XMP ", 4)) {
			pc_xmp(&s, c, len, i + 8, "RIFF XMP chunk");
		}
		i += 8 + (size_t)len;
		if (len & 1) {
			if (i >= end) {
				pc_problem(&s, "\"%s\" chunk at %zu lacks its pad byte", id,
				           i - 8 - (size_t)len);
				break;
			}
			i++;
		}
	}
	return pc_end(&s, err);
}
