/*
 * exif.c - the one EXIF field PDQ cares about: orientation (tag 0x0112).
 *
 * Input is hostile: every offset is checked against the block size before
 * it is read, and only IFD0 is walked (no pointer chasing, so no loops).
 */
#include "internal.h"

static unsigned rd16(const uint8_t *p, int le)
{
	return le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
	          : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int veto_exif_orientation(const uint8_t *t, size_t size)
{
	if (!t || size < 8)
		return 1;
	int le;
	if (t[0] == 'I' && t[1] == 'I') le = 1;
	else if (t[0] == 'M' && t[1] == 'M') le = 0;
	else return 1;
	if (rd16(t + 2, le) != 42)
		return 1;
	uint32_t ifd = rd32(t + 4, le);
	if (ifd > size || size - ifd < 2)
		return 1;
	unsigned n = rd16(t + ifd, le);
	for (unsigned i = 0; i < n; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		if (e + 12 > size)
			return 1;
		if (rd16(t + e, le) == 0x0112) {
			unsigned type = rd16(t + e + 2, le);
			unsigned v = type == 3 ? rd16(t + e + 8, le) : type == 4 ? (unsigned)rd32(t + e + 8, le) : 0;
			return (v >= 1 && v <= 8) ? (int)v : 1;
		}
	}
	return 1;
}
