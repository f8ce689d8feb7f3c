/* img_heif.c - placeholder until the heif decoder lands: says so plainly. */
#include "internal.h"

int veto_decode_heif(const uint8_t *data, size_t size, const decode_params *p,
                   luma_sink *out, decode_info *info, veto_error *err)
{
	(void)data; (void)size; (void)out; (void)info;
	return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: heif decoding is not implemented yet", p->name);
}
