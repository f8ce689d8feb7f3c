/*
 * prov_watermark.h - the invisible-watermark "dwtDct" decoder that Stable
 * Diffusion pipelines embed (lib/prov_watermark.c explains the method and
 * the verdicts).
 */
#ifndef VETO_PROV_WATERMARK_H
#define VETO_PROV_WATERMARK_H

#include "prov.h"

#include <stdint.h>

#define PROV_WM_PAYLOADS 3     /* SD1, SD2, SDXL, in that order */
#define PROV_WM_MIN_PIXELS (256u * 256u) /* the reference refuses smaller images */

typedef struct prov_wm_result {
	const char *payload;   /* static: "SD1", "SD2", "SDXL" */
	int bits;              /* payload length: 136, 32, 48 */
	int matched;           /* decoded bits equal to the payload's bits */
	double pvalue;         /* P(X >= matched), X ~ Binomial(bits, 1/2): the
	                        * chance of matching this well by coin flips */
	const char *verdict;   /* static: "very likely", "likely", "partial"
	                        * (SDXL only), "not detected" */
} prov_wm_result;

/* rgba: width*height*4 bytes (alpha ignored, as cv2.imread drops it).
 * Fills out[0..2] in the order SD1, SD2, SDXL. Returns VETO_OK, or
 * VETO_ERR_INVALID with a message when the image is smaller than 256*256
 * pixels (the reference's own refusal) or has no whole 8x8 pixel block
 * (nothing to decode), or VETO_ERR_NOMEM. Safe for any size >= 1x1. */
int prov_watermark_dwtdct(const uint8_t *rgba, uint32_t width, uint32_t height,
                          prov_wm_result out[PROV_WM_PAYLOADS], veto_error *err);

#endif
