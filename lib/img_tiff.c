/*
 * img_tiff.c - the first page of a TIFF, as ImageMagick 6 reads it.
 *
 * libtiff does the container and the codecs; the pixel arithmetic is
 * ImageMagick's, because the reference hashes what `convert x.tif pnm:-`
 * writes. ImageMagick reads a TIFF one of two ways, and so do we:
 *
 *  - "generic": libtiff's RGBA interface (TIFFRGBAImage) when libtiff
 *    reports no RowsPerStrip for an untiled page, or the page is CCITT
 *    Group 3, LogLuv, or JPEG-compressed (except 8-bit 4-sample CMYK).
 *    libtiff then applies the Orientation tag's mirror part (2/6:
 *    horizontal, 3/7: both, 4/8: vertical), as in ImageMagick; rotations
 *    are not applied.
 *  - otherwise the raw samples, strip by strip or tile by tile, converted
 *    as ImageMagick's ImportQuantumPixels converts them: 8-bit samples
 *    times 257, 16-bit as they are, other depths ScaleAnyToQuantum; min-
 *    is-white inverted only at 1, 8 and 16 bits (ImageMagick's behaviour);
 *    palette indices past the table read as index 0; associated alpha
 *    divided out; extra samples skipped; separate planes merged the way
 *    ImageMagick merges them. Pixels are never rotated or mirrored.
 *
 * Then what ImageMagick's PNM writer does: CMYK goes through its CMYK-to-
 * RGB formula and YCbCr (uncompressed, not subsampled) through its YCbCr
 * matrix, both written as colour; min-is-black/white pages are written as
 * grey; every sample is reduced to the page's bit depth (so a 4-bit
 * palette's colours come out at 4 bits) and then brought to 8 bits as
 * ImageMagick would scale it (16-bit: scale16to8). Alpha is dropped.
 *
 * Refused as unsupported (ImageMagick would decode them, possibly
 * differently): floating-point and signed samples, depths over 16 bits,
 * CIE L*a*b*, LogL, subsampled YCbCr without JPEG, and layouts that make
 * ImageMagick misread the samples (grey with 3+ samples, palette with
 * alpha). A truncated or damaged strip is an error: ImageMagick would
 * write what it decoded and leave the rest black. Known difference: a 1-
 * to 4-bit palette whose colours differ only below 4 bits is written by
 * ImageMagick as colour but may arrive here as grey (last-bit luma change).
 *
 * decode_info.orientation is the Orientation tag (1 if absent or out of
 * range) or, on the generic path, what remains of it after libtiff's
 * mirroring (2, 3, 4 become 1; 5 and 7 become 5; 6 and 8 become 7), so
 * that --auto-orient ends upright (`convert -auto-orient` mirrors twice).
 * libtiff's errors go to a per-handle handler (TIFFOpenOptions): nothing is
 * printed and no global libtiff state is touched. Memory: one row of
 * samples for stripped contiguous pages, one strip per plane for separate
 * planes, one band of tiles for tiled pages, and the whole RGBA raster
 * (4 bytes a pixel) on the generic path, all after the pixel limit check.
 */
#include "img_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <tiffio.h>

typedef struct tiff_src {
	const uint8_t *data;
	size_t size;
	uint64_t pos;
	char error[200];
	int jpeg_truncated;
} tiff_src;

static tmsize_t t_read(thandle_t h, void *buf, tmsize_t n)
{
	tiff_src *s = (tiff_src *)h;
	if (n <= 0 || s->pos >= s->size)
		return 0;
	size_t avail = s->size - (size_t)s->pos;
	size_t k = (size_t)n < avail ? (size_t)n : avail;
	memcpy(buf, s->data + s->pos, k);
	s->pos += k;
	return (tmsize_t)k;
}

static tmsize_t t_write(thandle_t h, void *buf, tmsize_t n)
{
	(void)h;
	(void)buf;
	(void)n;
	return -1;
}

static toff_t t_seek(thandle_t h, toff_t off, int whence)
{
	tiff_src *s = (tiff_src *)h;
	uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->size : 0;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return (toff_t)-1;
	if (off > UINT64_MAX - base)
		return (toff_t)-1;
	s->pos = base + off; /* past the end is allowed; reads then return 0 */
	return (toff_t)s->pos;
}

static int t_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t t_size(thandle_t h)
{
	return (toff_t)((tiff_src *)h)->size;
}

static int t_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0; /* never hand libtiff our (const) buffer */
}

static void t_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

static int on_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)module;
	tiff_src *s = (tiff_src *)ud;
	if (!s->error[0])
		vsnprintf(s->error, sizeof s->error, fmt, ap);
	return 1; /* handled: do not call libtiff's global handler */
}

static int on_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)module;
	tiff_src *s = (tiff_src *)ud;
	char msg[200];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* libjpeg pads a truncated JPEG strip with grey and only warns. */
	if (strstr(msg, "Premature end of JPEG"))
		s->jpeg_truncated = 1;
	return 1;
}

/* ------------------------------------------------------------ the page --- */

enum { Q_GRAY, Q_INDEX, Q_GRAYALPHA, Q_RGB, Q_RGBA, Q_CMYK, Q_CMYKA,
       Q_GREEN, Q_BLUE, Q_ALPHA, Q_BLACK };

typedef struct page {
	TIFF *tif;
	tiff_src *src;
	const decode_params *p;
	uint32_t w, h;
	uint16_t photometric, compression, planar, spp, bps, sample_format;
	uint16_t extra, alpha_assoc;
	int matte, grey_type, cmyk, ycbcr, min_is_white;
	int qtype;           /* contiguous: the quantum type of a pixel */
	unsigned pad;        /* contiguous: bytes skipped after each pixel */
	uint16_t *cmap;      /* palette: 3 * colors quanta */
	uint32_t colors;
	/* one row of quanta */
	uint16_t *R, *G, *B, *K, *A;
	uint8_t *out;        /* one row of 8-bit output, 1 or 3 channels */
} page;

/* Bounds-checked sample reader over one row of raw bytes. */
typedef struct srd {
	const uint8_t *p, *end;
	unsigned depth, bits, cur;
} srd;

static unsigned rd_sample(srd *r)
{
	if (r->depth == 8)
		return r->p < r->end ? *r->p++ : 0u;
	if (r->depth == 16) {
		uint16_t v = 0;
		if (r->end - r->p >= 2)
			memcpy(&v, r->p, 2); /* libtiff gives host order */
		r->p += r->end - r->p >= 2 ? 2 : r->end - r->p;
		return v;
	}
	/* MSB-first bit packing, as ImageMagick's PushQuantumPixel */
	unsigned v = 0;
	for (unsigned i = r->depth; i > 0;) {
		if (r->bits == 0) {
			r->cur = r->p < r->end ? *r->p++ : 0u;
			r->bits = 8;
		}
		unsigned n = i < r->bits ? i : r->bits;
		i -= n;
		r->bits -= n;
		v = (v << n) | ((r->cur >> r->bits) & ((1u << n) - 1u));
	}
	return v;
}

static void rd_skip(srd *r, unsigned bytes)
{
	r->p += (size_t)(r->end - r->p) < bytes ? (size_t)(r->end - r->p) : bytes;
}

/* A grey sample at this depth: ImageMagick honours min-is-white only at
 * 1, 8 and 16 bits. */
static uint16_t grey_q(const page *g, unsigned v)
{
	unsigned d = g->bps;
	if (d == 1)
		return (v != 0) != (g->min_is_white != 0) ? 65535 : 0;
	uint16_t q = im_from_any(v, d);
	if (g->min_is_white && (d == 8 || d == 16))
		q = (uint16_t)(65535u - q);
	return q;
}

static void set_index(page *g, uint32_t x, unsigned v)
{
	if (v >= g->colors)
		v = 0;
	g->R[x] = g->cmap[3 * v];
	g->G[x] = g->cmap[3 * v + 1];
	g->B[x] = g->cmap[3 * v + 2];
}

/* One row of raw bytes of quantum type qt into the quanta row. */
static void import_row(page *g, int qt, const uint8_t *raw, size_t len, unsigned pad)
{
	srd r = {raw, raw + len, g->bps, 0, 0};
	const unsigned d = g->bps;
	for (uint32_t x = 0; x < g->w; x++) {
		switch (qt) {
		case Q_GRAY: {
			uint16_t q = grey_q(g, rd_sample(&r));
			g->R[x] = g->G[x] = g->B[x] = q;
			break;
		}
		case Q_INDEX:
			set_index(g, x, rd_sample(&r));
			break;
		case Q_GRAYALPHA: {
			uint16_t q = im_from_any(rd_sample(&r), d);
			g->R[x] = g->G[x] = g->B[x] = q;
			g->A[x] = im_from_any(rd_sample(&r), d);
			break;
		}
		case Q_RGB:
		case Q_RGBA:
			g->R[x] = im_from_any(rd_sample(&r), d);
			g->G[x] = im_from_any(rd_sample(&r), d);
			g->B[x] = im_from_any(rd_sample(&r), d);
			if (qt == Q_RGBA)
				g->A[x] = im_from_any(rd_sample(&r), d);
			break;
		case Q_CMYK:
		case Q_CMYKA:
			g->R[x] = im_from_any(rd_sample(&r), d);
			g->G[x] = im_from_any(rd_sample(&r), d);
			g->B[x] = im_from_any(rd_sample(&r), d);
			g->K[x] = im_from_any(rd_sample(&r), d);
			if (qt == Q_CMYKA)
				g->A[x] = im_from_any(rd_sample(&r), d);
			break;
		case Q_GREEN:
			g->G[x] = im_from_any(rd_sample(&r), d);
			break;
		case Q_BLUE:
			g->B[x] = im_from_any(rd_sample(&r), d);
			break;
		case Q_ALPHA:
			g->A[x] = im_from_any(rd_sample(&r), d);
			break;
		case Q_BLACK:
			g->K[x] = im_from_any(rd_sample(&r), d);
			break;
		}
		if (pad)
			rd_skip(&r, pad);
	}
}

/* The quanta row (after all planes) to the 8-bit output row and the sink. */
static void emit_row(page *g, luma_sink *out, uint32_t y)
{
	const uint32_t w = g->w;
	if (g->alpha_assoc) {
		/* ImageMagick divides associated alpha out (PerceptibleReciprocal). */
		for (uint32_t x = 0; x < w; x++) {
			double a = (1.0 / IM_QR) * g->A[x];
			double ra = a >= 1.0e-12 ? 1.0 / a : 1.0 / 1.0e-12;
			g->R[x] = im_clamp(ra * g->R[x]);
			g->G[x] = im_clamp(ra * g->G[x]);
			g->B[x] = im_clamp(ra * g->B[x]);
			if (g->cmyk)
				g->K[x] = im_clamp(ra * g->K[x]);
		}
	}
	if (g->cmyk) {
		for (uint32_t x = 0; x < w; x++) {
			g->R[x] = im_cmyk_channel(g->R[x], g->K[x]);
			g->G[x] = im_cmyk_channel(g->G[x], g->K[x]);
			g->B[x] = im_cmyk_channel(g->B[x], g->K[x]);
		}
	} else if (g->ycbcr) {
		for (uint32_t x = 0; x < w; x++) {
			uint16_t rgb[3];
			im_ycbcr_to_rgb(g->R[x], g->G[x], g->B[x], rgb);
			g->R[x] = rgb[0];
			g->G[x] = rgb[1];
			g->B[x] = rgb[2];
		}
	}
	const unsigned d = g->bps;
	if (g->grey_type) {
		/* A grey PNM: the luma of each pixel (its value when R = G = B). */
		for (uint32_t x = 0; x < w; x++) {
			uint16_t q = g->R[x];
			if (g->R[x] != g->G[x] || g->G[x] != g->B[x]) {
				float l = 0.212656f * g->R[x] + 0.715158f * g->G[x] + 0.072186f * g->B[x];
				q = im_clamp((double)l);
			}
			g->out[x] = im_to_depth8(q, d);
		}
		sink_row(out, (int)y, g->out, 1);
		return;
	}
	for (uint32_t x = 0; x < w; x++) {
		g->out[3 * x] = im_to_depth8(g->R[x], d);
		g->out[3 * x + 1] = im_to_depth8(g->G[x], d);
		g->out[3 * x + 2] = im_to_depth8(g->B[x], d);
	}
	sink_row(out, (int)y, g->out, 3);
}

static int tiff_fail(const page *g, const char *what, veto_error *err)
{
	return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt TIFF: %s%s%s", g->p->name, what,
	                 g->src->error[0] ? ": " : "", g->src->error);
}

/* The quantum type ImageMagick uses for plane i of a separate page. */
static int plane_qtype(const page *g, unsigned i)
{
	switch (i) {
	case 0: return g->photometric == PHOTOMETRIC_PALETTE ? Q_INDEX : Q_GRAY;
	case 1: return Q_GREEN;
	case 2: return Q_BLUE;
	case 3: return g->cmyk ? Q_BLACK : Q_ALPHA;
	default: return Q_ALPHA;
	}
}

/* Stripped or tiled pages, sample by sample. */
static int read_quantum(page *g, luma_sink *out, veto_error *err)
{
	TIFF *tif = g->tif;
	const int separate = g->planar == PLANARCONFIG_SEPARATE && g->spp > 1;
	const unsigned planes = separate ? g->spp : 1;
	const uint64_t scan = TIFFScanlineSize64(tif);
	uint8_t *buf = NULL;
	int rc = VETO_OK;

	if (scan == 0 || scan > SIZE_MAX / 4)
		return tiff_fail(g, "bad scanline size", err);
	if (TIFFIsTiled(tif)) {
		uint32_t tw = 0, th = 0;
		if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) ||
		    tw == 0 || th == 0)
			return tiff_fail(g, "bad tile size", err);
		const uint64_t trow = TIFFTileRowSize64(tif), tsize = TIFFTileSize64(tif);
		const unsigned bpp = (separate ? 1u : g->spp) * g->bps; /* bits a pixel, per plane */
		if (trow == 0 || tsize == 0 || ((uint64_t)tw * bpp) % 8 != 0)
			return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF tiles of %u pixels at %u bits",
			                 g->p->name, tw, bpp);
		const uint32_t band_rows = th < g->h ? th : g->h;
		uint64_t band = (uint64_t)band_rows * scan * planes;
		if (band > SIZE_MAX / 2 || tsize > SIZE_MAX / 2 || band_rows > g->h)
			return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: TIFF tiles too large", g->p->name);
		buf = (uint8_t *)calloc((size_t)(band + tsize), 1);
		if (!buf)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", g->p->name);
		uint8_t *tile = buf + band;
		for (uint32_t y0 = 0; y0 < g->h; y0 += th) {
			const uint32_t rows = g->h - y0 < th ? g->h - y0 : th;
			for (unsigned pl = 0; pl < planes; pl++) {
				uint8_t *bp = buf + (size_t)pl * band_rows * (size_t)scan;
				for (uint32_t x0 = 0; x0 < g->w; x0 += tw) {
					if (TIFFReadTile(tif, tile, x0, y0, 0, (uint16_t)pl) < 0) {
						rc = tiff_fail(g, "unreadable tile", err);
						goto done;
					}
					const uint64_t off = (uint64_t)x0 * bpp / 8;
					if (off >= scan)
						break;
					const size_t n = (size_t)(scan - off < trow ? scan - off : trow);
					for (uint32_t r = 0; r < rows; r++)
						memcpy(bp + (size_t)r * (size_t)scan + (size_t)off,
						       tile + (size_t)r * (size_t)trow, n);
				}
			}
			for (uint32_t r = 0; r < rows; r++) {
				for (unsigned pl = 0; pl < planes; pl++)
					import_row(g, separate ? plane_qtype(g, pl) : g->qtype,
					           buf + ((size_t)pl * band_rows + r) * (size_t)scan, (size_t)scan,
					           separate ? 0 : g->pad);
				emit_row(g, out, y0 + r);
			}
		}
		goto done;
	}

	if (!separate) {
		buf = (uint8_t *)calloc((size_t)scan, 1);
		if (!buf)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", g->p->name);
		for (uint32_t y = 0; y < g->h; y++) {
			if (TIFFReadScanline(tif, buf, y, 0) < 0 || g->src->jpeg_truncated) {
				rc = tiff_fail(g, "unreadable strip", err);
				goto done;
			}
			import_row(g, g->qtype, buf, (size_t)scan, g->pad);
			emit_row(g, out, y);
		}
		goto done;
	}

	/* Separate planes: one decoded strip per plane. */
	{
		uint32_t rps = g->h;
		TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
		if (rps == 0 || rps > g->h)
			rps = g->h;
		const uint64_t ssize = (uint64_t)rps * scan;
		if (ssize > SIZE_MAX / planes / 2)
			return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: TIFF strips too large", g->p->name);
		buf = (uint8_t *)calloc((size_t)ssize * planes, 1);
		if (!buf)
			return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", g->p->name);
		for (uint32_t y = 0; y < g->h; y++) {
			const uint32_t r = y % rps;
			for (unsigned pl = 0; pl < planes; pl++) {
				uint8_t *sp = buf + (size_t)pl * (size_t)ssize;
				if (r == 0) {
					uint32_t strip = TIFFComputeStrip(tif, y, (uint16_t)pl);
					tmsize_t n = TIFFReadEncodedStrip(tif, strip, sp, (tmsize_t)ssize);
					uint32_t want = g->h - y < rps ? g->h - y : rps;
					if (n < 0 || (uint64_t)n < (uint64_t)want * scan) {
						rc = tiff_fail(g, "unreadable strip", err);
						goto done;
					}
				}
				import_row(g, plane_qtype(g, pl), sp + (size_t)r * (size_t)scan, (size_t)scan, 0);
			}
			emit_row(g, out, y);
		}
	}
done:
	free(buf);
	return rc;
}

/* libtiff's RGBA interface, as ImageMagick's generic method uses it. */
static int read_generic(page *g, luma_sink *out, veto_error *err)
{
	char emsg[1024] = "";
	TIFFRGBAImage img;
	if (!TIFFRGBAImageOK(g->tif, emsg))
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: unsupported TIFF: %s", g->p->name, emsg);
	if ((uint64_t)g->w * g->h > SIZE_MAX / 4)
		return veto_fail(err, VETO_ERR_TOO_LARGE, "%s: image too large", g->p->name);
	uint32_t *raster = (uint32_t *)malloc((size_t)g->w * g->h * 4);
	if (!raster)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", g->p->name);
	if (!TIFFRGBAImageBegin(&img, g->tif, 1, emsg)) {
		free(raster);
		return veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: unsupported TIFF: %s", g->p->name, emsg);
	}
	/* ImageMagick asks for bottom-up and flips rows: the same as top-down. */
	img.req_orientation = ORIENTATION_TOPLEFT;
	int ok = TIFFRGBAImageGet(&img, raster, g->w, g->h);
	TIFFRGBAImageEnd(&img);
	if (!ok || g->src->jpeg_truncated) {
		free(raster);
		return tiff_fail(g, "unreadable image data", err);
	}
	for (uint32_t y = 0; y < g->h; y++) {
		const uint32_t *r = raster + (size_t)y * g->w;
		for (uint32_t x = 0; x < g->w; x++) {
			g->R[x] = (uint16_t)(TIFFGetR(r[x]) * 257u);
			g->G[x] = (uint16_t)(TIFFGetG(r[x]) * 257u);
			g->B[x] = (uint16_t)(TIFFGetB(r[x]) * 257u);
			g->K[x] = 0; /* a CMYK page's RGBA is taken as C, M, Y */
		}
		emit_row(g, out, y);
	}
	free(raster);
	return VETO_OK;
}

/* ImageMagick's GetJPEGMethod: an 8-bit 4-sample separated JPEG page is
 * read raw, and as YCCK when its first strip's Adobe marker says so. */
enum { M_GENERIC, M_QUANTUM, M_YCCK };

static int jpeg_method(const page *g)
{
	if (g->photometric != PHOTOMETRIC_SEPARATED || g->bps != 8 || g->spp != 4)
		return M_GENERIC;
	uint64_t *offs = NULL;
	if (!TIFFGetField(g->tif, TIFFTAG_STRIPOFFSETS, &offs) || !offs)
		return M_QUANTUM;
	const uint64_t off = offs[0];
	enum { N = 2048 };
	if (off >= g->src->size || g->src->size - off < N)
		return M_QUANTUM;
	const uint8_t *b = g->src->data + off;
	/* The same scan as ImageMagick's, bounds made explicit. */
	for (size_t i = 0; i < N; i++) {
		while (i < N)
			if (b[i++] == 255)
				break;
		while (i < N - 1)
			if (b[++i] != 255)
				break;
		if (i >= N - 1)
			break;
		if (b[i++] == 216)
			continue;
		if (i + 1 >= N)
			break;
		size_t len = (size_t)b[i] << 8 | b[i + 1];
		if (i + len >= N)
			break;
		if (b[i - 1] == 238) {
			if (len != 14)
				break;
			return b[i + 13] == 2 ? M_YCCK : M_QUANTUM;
		}
		i += len;
	}
	return M_QUANTUM;
}

static uint8_t clamp_ycc(double v)
{
	v = 255.0 - v;
	if (v < 0.0)
		return 0;
	if (v > 255.0)
		return 255;
	return (uint8_t)v;
}

static int read_ycck(page *g, luma_sink *out, veto_error *err)
{
	const uint64_t scan = TIFFScanlineSize64(g->tif);
	if (scan < (uint64_t)g->w * 4 || scan > SIZE_MAX / 2)
		return tiff_fail(g, "bad scanline size", err);
	uint8_t *buf = (uint8_t *)calloc((size_t)scan, 1);
	if (!buf)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", g->p->name);
	for (uint32_t y = 0; y < g->h; y++) {
		if (TIFFReadScanline(g->tif, buf, y, 0) < 0 || g->src->jpeg_truncated) {
			free(buf);
			return tiff_fail(g, "unreadable strip", err);
		}
		for (uint32_t x = 0; x < g->w; x++) {
			const uint8_t *q = buf + 4 * (size_t)x;
			g->R[x] = (uint16_t)(clamp_ycc(q[0] + 1.402 * q[2] - 179.456) * 257u);
			g->G[x] = (uint16_t)(clamp_ycc(q[0] - 0.34414 * q[1] - 0.71414 * q[2] + 135.45984) * 257u);
			g->B[x] = (uint16_t)(clamp_ycc(q[0] + 1.772 * q[1] - 226.816) * 257u);
			g->K[x] = (uint16_t)(q[3] * 257u);
		}
		emit_row(g, out, y);
	}
	free(buf);
	return VETO_OK;
}

int veto_decode_tiff(const uint8_t *data, size_t size, const decode_params *p,
                     luma_sink *out, decode_info *info, veto_error *err)
{
	tiff_src src;
	page g;
	int rc = VETO_OK, sink_ready = 0;
	memset(&src, 0, sizeof src);
	memset(&g, 0, sizeof g);
	src.data = data;
	src.size = size;
	g.src = &src;
	g.p = p;
	info->format = "tiff";
	info->orientation = 1;

	TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
	if (!opts)
		return veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &src);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &src);
	/* Bound any single libtiff allocation by what the pixel limit allows. */
	uint64_t max_px = p->max_pixels ? p->max_pixels : VETO_DEFAULT_MAX_PIXELS;
	uint64_t cap = max_px > (UINT64_MAX >> 5) ? UINT64_MAX >> 1 : max_px * 16 + (64u << 20);
	if (cap > (uint64_t)(SIZE_MAX >> 1))
		cap = SIZE_MAX >> 1;
	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)cap);
	g.tif = TIFFClientOpenExt(p->name, "rm", (thandle_t)&src, t_read, t_write, t_seek, t_close,
	                          t_size, t_map, t_unmap, opts);
	TIFFOpenOptionsFree(opts);
	if (!g.tif)
		return veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt TIFF: %s", p->name,
		                 src.error[0] ? src.error : "cannot read the header");
	TIFF *tif = g.tif;

	uint32_t w = 0, h = 0;
	uint16_t fill = 0, minv = 0, maxv = 0;
	if (TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) != 1 ||
	    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_PHOTOMETRIC, &g.photometric) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &g.compression) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &g.planar) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &g.spp) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &g.bps) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &g.sample_format) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_MINSAMPLEVALUE, &minv) != 1 ||
	    TIFFGetFieldDefaulted(tif, TIFFTAG_MAXSAMPLEVALUE, &maxv) != 1) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt TIFF: missing image size or layout", p->name);
		goto done;
	}
	g.w = w;
	g.h = h;
	info->width = w;
	info->height = h;
	uint16_t orient = 1;
	if (TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orient) == 1 && orient >= 1 && orient <= 8)
		info->orientation = orient;
	rc = check_pixels(p, w, h, err);
	if (rc != VETO_OK)
		goto done;
	if (g.bps == 0 || g.bps > 32) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt TIFF: %u bits per sample", p->name, g.bps);
		goto done;
	}
	if (g.spp == 0 || g.spp > 32) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: corrupt TIFF: %u samples per pixel", p->name, g.spp);
		goto done;
	}
	if (g.compression != COMPRESSION_NONE && !TIFFIsCODECConfigured(g.compression)) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF compression %u is not supported",
		               p->name, g.compression);
		goto done;
	}
	const uint64_t scan = TIFFScanlineSize64(tif);
	if (scan == 0 || (double)scan > 2.53 * (double)size) {
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: truncated TIFF (rows larger than the file)", p->name);
		goto done;
	}

	const int is_jpeg = g.compression == COMPRESSION_JPEG || g.compression == COMPRESSION_OJPEG;
	uint32_t rps_tag = 0;
	int method = TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &rps_tag) == 1 ? M_QUANTUM : M_GENERIC;
	if (TIFFIsTiled(tif))
		method = M_QUANTUM;
	if (g.photometric == PHOTOMETRIC_LOGLUV || g.compression == COMPRESSION_CCITTFAX3)
		method = M_GENERIC;
	if (is_jpeg)
		method = jpeg_method(&g);
	if (method == M_GENERIC) {
		/* libtiff has applied the mirror part of the orientation; what
		 * is left to do on these pixels (2, 3, 4 -> 1; 6, 8 -> 7, 5). */
		static const int residual[9] = {1, 1, 1, 1, 1, 5, 7, 5, 7};
		info->orientation = residual[info->orientation];
	}

	g.cmyk = g.photometric == PHOTOMETRIC_SEPARATED;
	g.ycbcr = g.photometric == PHOTOMETRIC_YCBCR && g.compression != COMPRESSION_JPEG;
	g.grey_type = g.photometric == PHOTOMETRIC_MINISBLACK || g.photometric == PHOTOMETRIC_MINISWHITE ||
	              g.photometric == PHOTOMETRIC_LOGL;
	g.min_is_white = g.photometric == PHOTOMETRIC_MINISWHITE;
	if (g.photometric == PHOTOMETRIC_CIELAB || g.photometric == PHOTOMETRIC_ICCLAB ||
	    g.photometric == PHOTOMETRIC_ITULAB) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: CIE L*a*b* TIFF is not supported", p->name);
		goto done;
	}

	/* Extra samples and alpha, as ImageMagick reads them. */
	uint16_t *sinfo = NULL;
	if (TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &g.extra, &sinfo) == 1) {
		if (g.extra == 0) {
			if (g.spp == 4 && g.photometric == PHOTOMETRIC_RGB)
				g.matte = 1;
		} else {
			for (unsigned i = 0; i < g.extra && sinfo; i++) {
				g.matte = 1;
				if (sinfo[i] == EXTRASAMPLE_ASSOCALPHA)
					g.alpha_assoc = 1;
				else if (sinfo[i] == EXTRASAMPLE_UNASSALPHA)
					g.alpha_assoc = 0;
			}
		}
	}

	if (method == M_QUANTUM) {
		const int fmt_ok = g.sample_format == SAMPLEFORMAT_UINT || g.sample_format == SAMPLEFORMAT_VOID;
		if (!fmt_ok || g.bps > 16) {
			rc = veto_fail(err, VETO_ERR_UNSUPPORTED,
			               "%s: TIFF with %u-bit %s samples is not supported", p->name, g.bps,
			               g.sample_format == SAMPLEFORMAT_IEEEFP ? "floating-point" :
			               g.sample_format == SAMPLEFORMAT_INT ? "signed" : "unsigned");
			goto done;
		}
		if (g.photometric == PHOTOMETRIC_LOGL) {
			rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: LogL TIFF is not supported", p->name);
			goto done;
		}
		if (g.photometric == PHOTOMETRIC_YCBCR) {
			uint16_t sh = 1, sv = 1;
			TIFFGetFieldDefaulted(tif, TIFFTAG_YCBCRSUBSAMPLING, &sh, &sv);
			if (sh != 1 || sv != 1) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED,
				               "%s: subsampled YCbCr TIFF without JPEG is not supported", p->name);
				goto done;
			}
		}
		const int palette = g.photometric == PHOTOMETRIC_PALETTE;
		const unsigned bytes = (g.bps + 7u) / 8u;
		if (g.planar == PLANARCONFIG_SEPARATE && g.spp > 1) {
			if (palette || (g.grey_type && g.spp > 2) || (!g.grey_type && g.spp < 3)) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF sample layout not supported", p->name);
				goto done;
			}
		} else if (g.spp <= 2) {
			if (g.photometric != PHOTOMETRIC_MINISBLACK && g.photometric != PHOTOMETRIC_MINISWHITE &&
			    !palette) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED,
				               "%s: TIFF photometric %u with %u samples is not supported",
				               p->name, g.photometric, g.spp);
				goto done;
			}
			if (g.matte) {
				if (palette || g.spp != 2 || (g.bps != 8 && g.bps != 16)) {
					rc = veto_fail(err, VETO_ERR_UNSUPPORTED,
					               "%s: TIFF with alpha in this layout is not supported", p->name);
					goto done;
				}
				g.qtype = Q_GRAYALPHA;
			} else if (g.spp == 2) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF sample layout not supported", p->name);
				goto done;
			} else {
				g.qtype = palette ? Q_INDEX : Q_GRAY;
			}
		} else {
			if (g.grey_type || palette) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF sample layout not supported", p->name);
				goto done;
			}
			unsigned used = 3;
			g.qtype = Q_RGB;
			if (g.matte) {
				g.qtype = Q_RGBA;
				used = 4;
			}
			if (g.cmyk) {
				g.qtype = g.matte ? Q_CMYKA : Q_CMYK;
				used = g.matte ? 5 : 4;
			}
			if (g.spp < used) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF sample layout not supported", p->name);
				goto done;
			}
			g.pad = (g.spp - used) * bytes;
			if (g.pad && g.bps != 8 && g.bps != 16) {
				rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: TIFF sample layout not supported", p->name);
				goto done;
			}
		}
		if (g.alpha_assoc && g.bps != 8 && g.bps != 16) {
			rc = veto_fail(err, VETO_ERR_UNSUPPORTED,
			               "%s: TIFF with %u-bit associated alpha is not supported", p->name, g.bps);
			goto done;
		}
		if (palette) {
			g.colors = 1u << g.bps;
			g.cmap = (uint16_t *)malloc(sizeof(uint16_t) * 3 * g.colors);
			if (!g.cmap) {
				rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
				goto done;
			}
			uint16_t *cr = NULL, *cg = NULL, *cb = NULL;
			if (TIFFGetField(tif, TIFFTAG_COLORMAP, &cr, &cg, &cb) == 1 && cr && cg && cb) {
				double range = 255.0; /* maybe an old-style 8-bit colormap */
				for (uint32_t i = 0; i < g.colors; i++)
					if (cr[i] >= 256 || cg[i] >= 256 || cb[i] >= 256) {
						range = 65535.0;
						break;
					}
				for (uint32_t i = 0; i < g.colors; i++) {
					g.cmap[3 * i] = im_clamp((IM_QR * cr[i]) / range);
					g.cmap[3 * i + 1] = im_clamp((IM_QR * cg[i]) / range);
					g.cmap[3 * i + 2] = im_clamp((IM_QR * cb[i]) / range);
				}
			} else {
				for (uint32_t i = 0; i < g.colors; i++) /* ImageMagick's grey ramp */
					g.cmap[3 * i] = g.cmap[3 * i + 1] = g.cmap[3 * i + 2] =
						(uint16_t)(i * (65535u / (g.colors > 1 ? g.colors - 1 : 1)));
			}
		}
	} else if (method == M_GENERIC) {
		g.alpha_assoc = 0; /* libtiff's RGBA is taken as it comes */
		if (g.bps > 16)
			g.bps = 16; /* 8-bit RGBA samples: depth only matters below 8 */
	} else {
		g.alpha_assoc = 0;
	}

	size_t w4 = (size_t)w;
	g.R = (uint16_t *)malloc(w4 * 5 * sizeof(uint16_t));
	g.out = (uint8_t *)malloc(w4 * 3);
	if (!g.R || !g.out) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "%s: out of memory", p->name);
		goto done;
	}
	g.G = g.R + w4;
	g.B = g.G + w4;
	g.K = g.B + w4;
	g.A = g.K + w4;
	for (size_t i = 0; i < w4 * 5; i++)
		g.R[i] = i >= 4 * w4 ? 65535 : 0; /* black, opaque */
	rc = sink_init(out, (int)w, (int)h, p->max_pixels, p->name, err);
	if (rc != VETO_OK)
		goto done;
	sink_ready = 1;
	if (g.cmyk || g.ycbcr)
		sink_force_colour(out);
	if (method == M_GENERIC)
		rc = read_generic(&g, out, err);
	else if (method == M_YCCK)
		rc = read_ycck(&g, out, err);
	else
		rc = read_quantum(&g, out, err);
	if (rc == VETO_OK)
		sink_finish(out);
done:
	TIFFClose(g.tif);
	free(g.R);
	free(g.out);
	free(g.cmap);
	if (rc != VETO_OK && sink_ready)
		sink_free(out);
	return rc;
}
