/*
 * image.c - from bytes to hashes: sniff the format, decode to luma, apply
 * the mode's geometry (EXIF orientation, the reference CLI's 512x512
 * squash), run PDQ, and take the exact digests of the same bytes.
 *
 * Formats are chosen by content, never by file name: a PNG called .jpg is
 * a PNG. Everything decoded is freed before return; nothing is cached.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void veto_hash_options_init(veto_hash_options *o)
{
	memset(o, 0, sizeof *o);
	o->mode = VETO_MODE_EXACT;
	o->digests = 1;
	o->max_pixels = VETO_DEFAULT_MAX_PIXELS;
	o->max_bytes = VETO_DEFAULT_MAX_BYTES;
}

static int is_heif_brand(const uint8_t *b)
{
	static const char *const brands[] = {"heic", "heix", "heim", "heis", "hevc", "hevx",
	                                     "mif1", "msf1", "avif", "avis", "mif2"};
	for (size_t i = 0; i < sizeof brands / sizeof *brands; i++)
		if (memcmp(b, brands[i], 4) == 0)
			return 1;
	return 0;
}

const char *veto_image_sniff(const uint8_t *d, size_t n)
{
	if (!d)
		return NULL;
	if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "jpeg";
	if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return "png";
	if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "gif";
	if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return "webp";
	if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 ||
	               memcmp(d, "II+\0", 4) == 0 || memcmp(d, "MM\0+", 4) == 0)) /* + BigTIFF */
		return "tiff";
	if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "bmp";
	if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' &&
	    (d[2] == ' ' || d[2] == '\n' || d[2] == '\r' || d[2] == '\t' || d[2] == '#'))
		return "pnm";
	if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
		uint32_t box = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		if (is_heif_brand(d + 8))
			return "heif";
		/* compatible brands */
		size_t end = box <= n ? box : n;
		for (size_t off = 16; off + 4 <= end; off += 4)
			if (is_heif_brand(d + off))
				return "heif";
	}
	return NULL;
}

int veto_decode_image(const uint8_t *data, size_t size, const decode_params *p,
                      luma_sink *out, decode_info *info, veto_error *err)
{
	memset(info, 0, sizeof *info);
	info->orientation = 1;
	if (size == 0)
		return veto_fail(err, VETO_ERR_FORMAT, "%s: empty file (0 bytes)", p->name);
	const char *fmt = veto_image_sniff(data, size);
	if (!fmt)
		return veto_fail(err, VETO_ERR_FORMAT,
		                 "%s: not an image format veto reads (JPEG, PNG, WebP, GIF, "
		                 "TIFF, BMP, PNM, HEIF/AVIF)", p->name);
	decode_fn fn = NULL;
	if (!strcmp(fmt, "jpeg")) fn = veto_decode_jpeg;
	else if (!strcmp(fmt, "png")) fn = veto_decode_png;
	else if (!strcmp(fmt, "gif")) fn = veto_decode_gif;
	else if (!strcmp(fmt, "webp")) fn = veto_decode_webp;
	else if (!strcmp(fmt, "tiff")) fn = veto_decode_tiff;
	else if (!strcmp(fmt, "bmp")) fn = veto_decode_bmp;
	else if (!strcmp(fmt, "pnm")) fn = veto_decode_pnm;
	else if (!strcmp(fmt, "heif")) fn = veto_decode_heif;
	info->format = fmt;
	return fn(data, size, p, out, info, err);
}

/* ------------------------------------------------------ RGBA decoding --- */

int veto_decode_rgba(const uint8_t *data, size_t size, const char *name, uint64_t max_pixels,
                     uint8_t **rgba, uint32_t *width, uint32_t *height, veto_error *err)
{
	if (!name)
		name = "<buffer>";
	if (!rgba || !width || !height || (!data && size))
		return veto_fail(err, VETO_ERR_INVALID, "veto_decode_rgba: bad arguments");
	*rgba = NULL;
	*width = *height = 0;
	decode_params p = {max_pixels, 0, name};
	luma_sink s;
	decode_info info;
	memset(&s, 0, sizeof s);
	s.keep_rgba = SINK_RGBA_ONLY;
	int rc = veto_decode_image(data, size, &p, &s, &info, err);
	if (rc != VETO_OK)
		return rc;
	if (!s.rgba || s.rows_done != s.height) {
		sink_free(&s);
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: decoder delivered too few rows", name);
	}
	*rgba = s.rgba;
	*width = (uint32_t)s.width;
	*height = (uint32_t)s.height;
	s.rgba = NULL;
	sink_free(&s);
	return VETO_OK;
}

/* ---------------------------------------------------------- geometry --- */

/* Apply EXIF orientation o (2..8) to a w x h plane; returns the new plane
 * (owned by the caller) and its size, or NULL on allocation failure. */
static float *orient_plane(const float *in, int w, int h, int o, int *ow, int *oh)
{
	const int swap = o >= 5;
	const int W = swap ? h : w, H = swap ? w : h;
	float *out = (float *)malloc((size_t)W * (size_t)H * sizeof(float));
	if (!out)
		return NULL;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int sx, sy; /* source pixel of output (x, y) */
			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;          /* mirror horizontal */
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;  /* rotate 180 */
			case 4: sx = x; sy = h - 1 - y; break;          /* mirror vertical */
			case 5: sx = y; sy = x; break;                  /* transpose */
			case 6: sx = y; sy = h - 1 - x; break;          /* rotate 90 CW */
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;  /* transverse */
			case 8: sx = w - 1 - y; sy = x; break;          /* rotate 270 CW */
			default: sx = x; sy = y; break;
			}
			out[(size_t)y * W + x] = in[(size_t)sy * w + sx];
		}
	*ow = W;
	*oh = H;
	return out;
}

/* The reference CLI's CImg resize(512, 512) with nearest-neighbour
 * sampling: source index floor(x * W / 512), computed in double. */
static float *squash512(const float *in, int w, int h)
{
	const int S = 512;
	float *out = (float *)malloc((size_t)S * S * sizeof(float));
	if (!out)
		return NULL;
	int sx[512];
	for (int x = 0; x < S; x++)
		sx[x] = (int)(((double)x * w) / S);
	for (int y = 0; y < S; y++) {
		const float *r = in + (size_t)(int)(((double)y * h) / S) * w;
		for (int x = 0; x < S; x++)
			out[(size_t)y * S + x] = r[sx[x]];
	}
	return out;
}

/* ------------------------------------------------------------- hashing --- */

/* The plain hash from `a`; the dihedral ones, as the reference's dihedral
 * function computes them, from `a_dih` (the same plane except at 64x64). */
static void hash_planes(const float *a, const float *a_dih, veto_pdq_hash *dih,
                        veto_image_hashes *out)
{
	pdq_hash_from_64x64(a, &out->pdq, &out->quality, NULL);
	out->dihedral_quality = out->quality;
	if (dih)
		pdq_hash_from_64x64(a_dih, &dih[0], &out->dihedral_quality, dih);
}

static int hash_named(const uint8_t *data, size_t size, const veto_hash_options *o,
                      veto_image_hashes *out, const char *name, veto_error *err)
{
	memset(out, 0, sizeof *out);
	out->file_bytes = size;
	out->orientation = 1;
	uint64_t max_bytes = o->max_bytes ? o->max_bytes : VETO_DEFAULT_MAX_BYTES;
	if ((uint64_t)size > max_bytes)
		return veto_fail(err, VETO_ERR_TOO_LARGE,
		                 "%s: %zu bytes, over the limit of %llu (see --max-bytes)",
		                 name, size, (unsigned long long)max_bytes);
	if (o->digests) {
		int rc = veto_digest(data, size, out->md5, out->sha256, err);
		if (rc != VETO_OK)
			return rc;
		out->has_digests = 1;
	}
	decode_params p = {o->max_pixels, o->mode == VETO_MODE_FAST, name};
	luma_sink s;
	decode_info info;
	memset(&s, 0, sizeof s);
	/* Geometry changes need the whole plane; plain hashing streams. */
	s.keep_plane = o->auto_orient || o->mode == VETO_MODE_CLI512;
	s.threads = o->threads;
	int rc = veto_decode_image(data, size, &p, &s, &info, err);
	out->format = info.format;
	if (rc != VETO_OK)
		return rc;
	out->width = info.width;
	out->height = info.height;
	out->orientation = info.orientation;
	veto_pdq_hash *dih = o->dihedral ? out->dihedral : NULL;

	if (!s.keep_plane) {
		float a[64 * 64], a_dih[64 * 64];
		out->hashed_width = (uint32_t)s.width;
		out->hashed_height = (uint32_t)s.height;
		rc = sink_result(&s, a, a_dih);
		sink_free(&s);
		if (rc != VETO_OK)
			return veto_fail(err, VETO_ERR_CORRUPT, "%s: decoder delivered too few rows", name);
		hash_planes(a, a_dih, dih, out);
		out->has_dihedral = o->dihedral;
		return VETO_OK;
	}

	float *plane = s.luma;
	s.luma = NULL;
	int w = s.width, h = s.height;
	sink_free(&s);
	if (o->auto_orient && info.orientation > 1) {
		float *t = orient_plane(plane, w, h, info.orientation, &w, &h);
		free(plane);
		if (!t)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", name);
		plane = t;
		out->oriented = 1;
	}
	if (o->mode == VETO_MODE_CLI512 && (w > 512 || h > 512)) {
		float *t = squash512(plane, w, h);
		free(plane);
		if (!t)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", name);
		plane = t;
		w = h = 512;
	}
	out->hashed_width = (uint32_t)w;
	out->hashed_height = (uint32_t)h;
	if (w < 5 || h < 5) { /* the reference: zero hash, quality 0 */
		free(plane);
		out->has_dihedral = o->dihedral;
		return VETO_OK; /* *out is zeroed */
	}
	pdq_stream *ps;
	rc = pdq_stream_new(&ps, w, h);
	if (rc != VETO_OK) {
		free(plane);
		return veto_fail(err, rc, "%s: out of memory", name);
	}
	for (int y = 0; y < h; y++)
		pdq_stream_push(ps, plane + (size_t)y * w);
	free(plane);
	float a[64 * 64], a_dih[64 * 64];
	rc = pdq_stream_finish(ps, a, a_dih);
	pdq_stream_free(ps);
	if (rc != VETO_OK)
		return veto_fail(err, rc, "%s: internal error in the PDQ filter", name);
	hash_planes(a, a_dih, dih, out);
	out->has_dihedral = o->dihedral;
	return VETO_OK;
}

int veto_hash_image_buffer_named(const uint8_t *data, size_t size, const char *name,
                                 const veto_hash_options *opts,
                                 veto_image_hashes *out, veto_error *err)
{
	veto_hash_options o;
	if (opts) o = *opts;
	else veto_hash_options_init(&o);
	if (!out || (!data && size))
		return veto_fail(err, VETO_ERR_INVALID, "veto_hash_image_buffer: bad arguments");
	return hash_named(data, size, &o, out, name ? name : "<buffer>", err);
}

int veto_hash_image_buffer(const uint8_t *data, size_t size,
                           const veto_hash_options *opts,
                           veto_image_hashes *out, veto_error *err)
{
	return veto_hash_image_buffer_named(data, size, NULL, opts, out, err);
}

int veto_read_file(const char *path, uint64_t max_bytes, uint8_t **data,
                   size_t *size, veto_error *err)
{
	*data = NULL;
	*size = 0;
	if (!max_bytes)
		max_bytes = VETO_DEFAULT_MAX_BYTES;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return veto_fail(err, VETO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return veto_fail(err, VETO_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return veto_fail(err, VETO_ERR_IO, "%s: is a directory", path);
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
		close(fd);
		return veto_fail(err, VETO_ERR_TOO_LARGE,
		                 "%s: %lld bytes, over the limit of %llu (see --max-bytes)",
		                 path, (long long)st.st_size, (unsigned long long)max_bytes);
	}
	/* Regular files are read at their size; pipes grow a buffer, bounded. */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16, len = 0;
	uint8_t *buf = (uint8_t *)malloc(cap);
	if (!buf) {
		close(fd);
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", path);
	}
	for (;;) {
		if (len == cap) {
			if ((uint64_t)cap > max_bytes) {
				free(buf);
				close(fd);
				return veto_fail(err, VETO_ERR_TOO_LARGE,
				                 "%s: over the limit of %llu bytes (see --max-bytes)",
				                 path, (unsigned long long)max_bytes);
			}
			size_t ncap = cap * 2;
			uint8_t *nb = (uint8_t *)realloc(buf, ncap);
			if (!nb) {
				free(buf);
				close(fd);
				return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			return veto_fail(err, VETO_ERR_IO, "%s: read failed: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if ((uint64_t)len > max_bytes) {
		free(buf);
		return veto_fail(err, VETO_ERR_TOO_LARGE,
		                 "%s: over the limit of %llu bytes (see --max-bytes)",
		                 path, (unsigned long long)max_bytes);
	}
	*data = buf;
	*size = len;
	return VETO_OK;
}

int veto_hash_image_file(const char *path, const veto_hash_options *opts,
                         veto_image_hashes *out, veto_error *err)
{
	veto_hash_options o;
	if (opts) o = *opts;
	else veto_hash_options_init(&o);
	if (!path || !out)
		return veto_fail(err, VETO_ERR_INVALID, "veto_hash_image_file: bad arguments");
	memset(out, 0, sizeof *out);
	uint8_t *data;
	size_t size;
	int rc = veto_read_file(path, o.max_bytes, &data, &size, err);
	if (rc != VETO_OK)
		return rc;
	rc = hash_named(data, size, &o, out, path, err);
	free(data);
	return rc;
}
