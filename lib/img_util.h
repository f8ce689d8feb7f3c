/*
 * img_util.h - small helpers the hand-written and library-backed decoders
 * share: the pixel-limit check every decoder makes before it allocates
 * anything sized by the image, and bounds-checked little/big-endian reads.
 */
#ifndef VETO_IMG_UTIL_H
#define VETO_IMG_UTIL_H

#include "internal.h"

/* VETO_OK if w x h is within p->max_pixels (and fits an int side, which
 * the sink needs), else the same message img_png.c and img_jpeg.c give. */
static inline int check_pixels(const decode_params *p, uint64_t w, uint64_t h,
                               veto_error *err)
{
	uint64_t max_px = p->max_pixels ? p->max_pixels : VETO_DEFAULT_MAX_PIXELS;
	if (w * h > max_px || (w > 0 && w * h / w != h))
		return veto_fail(err, VETO_ERR_TOO_LARGE,
		                 "%s: %llux%llu is %llu pixels, over the limit of %llu (see --max-pixels)",
		                 p->name, (unsigned long long)w, (unsigned long long)h,
		                 (unsigned long long)(w * h), (unsigned long long)max_px);
	if (w == 0 || h == 0)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: image has no pixels (%llux%llu)",
		                 p->name, (unsigned long long)w, (unsigned long long)h);
	if (w > 0x7fffffff || h > 0x7fffffff)
		return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: %llux%llu is too large a side",
		                 p->name, (unsigned long long)w, (unsigned long long)h);
	return VETO_OK;
}

static inline unsigned rd_le16(const uint8_t *b)
{
	return (unsigned)b[0] | (unsigned)b[1] << 8;
}

static inline uint32_t rd_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline unsigned rd_be16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | (unsigned)b[1];
}

static inline uint32_t rd_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* ------------------------------------------- ImageMagick's arithmetic ---
 * ImageMagick 6 (Q16, no HDRI) keeps 16-bit "quanta"; these reproduce the
 * conversions it makes on the way to the PNM the reference reads, in the
 * same double-precision expressions, so results agree to the last bit.
 */
#define IM_QR 65535.0

/* ClampToQuantum: round half up, clamped to [0, 65535]. */
static inline uint16_t im_clamp(double v)
{
	if (!(v > 0.0))
		return 0;
	if (v >= IM_QR)
		return 65535;
	return (uint16_t)(v + 0.5);
}

/* ScaleAnyToQuantum: a `depth`-bit sample (depth 1..16) to a quantum. */
static inline uint16_t im_from_any(unsigned v, unsigned depth)
{
	if (depth == 8)
		return (uint16_t)(v * 257u);
	if (depth == 16)
		return (uint16_t)v;
	const unsigned range = (1u << depth) - 1u;
	if (v > range)
		return 65535;
	return (uint16_t)(IM_QR * ((double)v * (1.0 / (double)range)) + 0.5);
}

/* The 8-bit value of quantum q after ImageMagick writes it to a PNM of
 * `depth` bits per sample (ScaleQuantumToAny, which truncates) and the
 * sample is read back at 8 bits (ScaleAnyToQuantum, ScaleQuantumToChar).
 * Depths 8, 16 and above reduce to scale16to8. */
static inline uint8_t im_to_depth8(uint16_t q, unsigned depth)
{
	if (depth == 0 || depth >= 16 || depth == 8)
		return scale16to8(q);
	const unsigned range = (1u << depth) - 1u;
	unsigned a = (unsigned)((double)range * (double)q / IM_QR);
	return scale16to8(im_from_any(a, depth));
}

/* ConvertCMYKToRGB for one channel (colour c, black k, both quanta). */
static inline uint16_t im_cmyk_channel(uint16_t c, uint16_t k)
{
	return im_clamp(IM_QR - ((1.0 / IM_QR) * (double)c * (IM_QR - (double)k) + (double)k));
}

/* ConvertYCbCrToRGB (ImageMagick's full-range BT.601 YPbPr matrix) on
 * quanta, as TransformRGBImage applies it to a YCbCr image. */
static inline void im_ycbcr_to_rgb(uint16_t yq, uint16_t cbq, uint16_t crq, uint16_t out[3])
{
	const double qs = 1.0 / IM_QR;
	const double Y = qs * yq, Pb = qs * cbq, Pr = qs * crq;
	out[0] = im_clamp(IM_QR * (0.99999999999914679361 * Y - 1.2188941887145875e-06 * (Pb - 0.5) +
	                           1.4019995886561440468 * (Pr - 0.5)));
	out[1] = im_clamp(IM_QR * (0.99999975910502514331 * Y - 0.34413567816504303521 * (Pb - 0.5) -
	                           0.71413649331646789076 * (Pr - 0.5)));
	out[2] = im_clamp(IM_QR * (1.00000124040004623180 * Y + 1.77200006607230409200 * (Pb - 0.5) +
	                           2.1453384174593273e-06 * (Pr - 0.5)));
}

/* Force the sink's colour path: ImageMagick writes a colour PNM for any
 * image it holds in a non-RGB colourspace (CMYK, YCbCr), even when every
 * converted pixel is grey, so the reference then uses RGB luma for it. */
static inline void sink_force_colour(luma_sink *s)
{
	s->all_grey = 0;
}

#endif
