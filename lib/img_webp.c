/* img_webp.c - placeholder until the webp decoder lands: says so plainly. */
#include "internal.h"

int veto_decode_webp(const uint8_t *data, size_t size, const decode_params *p,
                   luma_sink *out, decode_info *info, veto_error *err)
{
	(void)data; (void)size; (void)out; (void)info;
	return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: webp decoding is not implemented yet", p->name);
}
