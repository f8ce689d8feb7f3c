/*
 * cli_video.c - what hash, compare, index and match share for videos:
 * telling files apart by content, the video options, hashing a video
 * (vPDQ and TMK+PDQF from libveto), reading vPDQ text files, and printing
 * a video as the reference's text or as JSON.
 *
 * Files are classified by their first bytes, never their names: an image
 * format libveto decodes, a .tmk feature file, a vPDQ text file (lines of
 * `frame,quality,hash,timestamp`, what vpdq-hash-video writes), or a
 * container libavformat recognises as video. Images are tried first, so a
 * JPEG is never mistaken for a one-frame "video" (FFmpeg can read it).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNIFF_BYTES 4096

/* A vPDQ text line: digits,digits,64 hex,number. */
static int vpdq_line_shape(const char *s, size_t n)
{
	size_t i = 0;
	int fields = 0;
	while (i < n && s[i] != '\n' && s[i] != '\r') {
		size_t start = i;
		while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
			i++;
		size_t len = i - start;
		if (fields == 0 || fields == 1) {
			if (!len)
				return 0;
			for (size_t k = start; k < i; k++)
				if (!isdigit((unsigned char)s[k]))
					return 0;
		} else if (fields == 2) {
			if (len != 64)
				return 0;
			for (size_t k = start; k < i; k++)
				if (!isxdigit((unsigned char)s[k]))
					return 0;
		}
		fields++;
		if (i < n && s[i] == ',')
			i++;
	}
	return fields == 4;
}

int cli_sniff_file(const char *path, int *kind, veto_error *err)
{
	*kind = KIND_UNKNOWN;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err->message, sizeof err->message, "%s: %s", path, strerror(errno));
		err->code = VETO_ERR_IO;
		return err->code;
	}
	uint8_t buf[SNIFF_BYTES];
	size_t n = 0;
	while (n < sizeof buf) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (veto_image_sniff(buf, n))
		*kind = KIND_IMAGE;
	else if (veto_tmk_sniff(buf, n))
		*kind = KIND_TMK;
	else if (n && vpdq_line_shape((const char *)buf, n))
		*kind = KIND_VPDQ;
	else if (veto_video_sniff(buf, n))
		*kind = KIND_VIDEO;
	return VETO_OK;
}

const char *cli_kind_name(int kind)
{
	switch (kind) {
	case KIND_IMAGE: return "image";
	case KIND_VIDEO: return "video";
	case KIND_TMK: return "tmk";
	case KIND_VPDQ: return "vpdq";
	default: return "unknown";
	}
}

/* ----------------------------------------------------------- options --- */

void cli_video_flags_init(cli_video_flags *f)
{
	memset(f, 0, sizeof *f);
	f->every = 1.0;
	f->tmk = 1;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

int cli_video_flag(const char *cmd, int c, const char *arg, cli_video_flags *f)
{
	uint64_t v;
	switch (c) {
	case OPT_EVERY:
		if (parse_seconds(arg, &f->every) != 0) {
			cli_usage(cmd, "--every: '%s' is not a number of seconds >= 0", arg);
			return -1;
		}
		return 1;
	case OPT_VPDQ_SIZE:
		if (cli_parse_u64(arg, SUFFIX_NONE, &v) != 0 || v < 5 || v > 65536) {
			cli_usage(cmd, "--vpdq-size: '%s' is not a size from 5 to 65536", arg);
			return -1;
		}
		f->size = (int)v;
		return 1;
	case OPT_NO_TMK: f->tmk = 0; return 1;
	case OPT_TMK_DIR: f->tmk_dir = arg; return 1;
	case OPT_MAX_FRAMES:
		if (cli_parse_u64(arg, SUFFIX_DECIMAL, &v) != 0 || v == 0) {
			cli_usage(cmd, "--max-frames: '%s' is not a positive number", arg);
			return -1;
		}
		f->max_frames = v;
		return 1;
	case OPT_MAX_SECONDS:
		if (parse_seconds(arg, &f->max_seconds) != 0 || f->max_seconds == 0) {
			cli_usage(cmd, "--max-seconds: '%s' is not a positive number of seconds", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

void cli_video_options(const cli_video_flags *f, const cli_hash_flags *h, veto_video_options *o)
{
	veto_video_options_init(o);
	o->every = f->every;
	o->size = f->size;
	o->max_frames = f->max_frames;
	o->max_seconds = f->max_seconds;
	if (h) {
		o->max_pixels = h->max_pixels;
		o->max_bytes = h->max_bytes;
	}
}

/* ------------------------------------------------------------ hashing --- */

void cli_video_free(cli_video *v)
{
	if (!v)
		return;
	veto_vpdq_free(v->vpdq);
	veto_tmk_free(v->tmk);
	free(v->tmk_path);
	memset(v, 0, sizeof *v);
}

/* DIR/NAME.tmk for VIDEO = .../NAME.EXT, as tmk-hash-video names it. */
static char *tmk_path_for(const char *dir, const char *video)
{
	const char *base = strrchr(video, '/');
	base = base ? base + 1 : video;
	size_t len = strlen(base);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		len = (size_t)(dot - base);
	size_t dl = strlen(dir);
	char *p = malloc(dl + 1 + len + 5);
	if (p)
		sprintf(p, "%s/%.*s.tmk", dir, (int)len, base);
	return p;
}

int cli_video_hash(const char *path, const cli_video_flags *f, const veto_video_options *o,
                   cli_video *out, veto_error *err)
{
	memset(out, 0, sizeof *out);
	/* One decoding pass for both signals. */
	int want_tmk = f->tmk || f->tmk_dir;
	int rc = veto_video_hash_file(path, o, &out->vpdq, want_tmk ? &out->tmk : NULL, err);
	if (rc)
		return rc;
	if (f->tmk_dir) {
		out->tmk_path = tmk_path_for(f->tmk_dir, path);
		if (!out->tmk_path) {
			rc = VETO_ERR_NOMEM;
			snprintf(err->message, sizeof err->message, "out of memory");
			err->code = rc;
		} else {
			rc = veto_tmk_save(out->tmk, out->tmk_path, err);
		}
		if (rc) {
			cli_video_free(out);
			return rc;
		}
	}
	return VETO_OK;
}

/* ------------------------------------------------------ vPDQ text files --- */

int cli_vpdq_read_text(const char *path, veto_vpdq **out, veto_error *err)
{
	*out = NULL;
	FILE *in = fopen(path, "rb");
	if (!in) {
		err->code = VETO_ERR_IO;
		snprintf(err->message, sizeof err->message, "%s: %s", path, strerror(errno));
		return err->code;
	}
	veto_vpdq *v = calloc(1, sizeof *v);
	size_t cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	uint64_t lineno = 0;
	int rc = v ? VETO_OK : VETO_ERR_NOMEM;
	while (rc == VETO_OK && (len = getline(&line, &lcap, in)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		long long frame;
		int quality, used = 0;
		char hex[65];
		double ts;
		if (!vpdq_line_shape(line, (size_t)len) ||
		    sscanf(line, "%lld,%d,%64[0-9a-fA-F],%lf%n", &frame, &quality, hex, &ts,
		           &used) != 4 || used != len || quality > 100 || frame < 0) {
			rc = VETO_ERR_CORRUPT;
			snprintf(err->message, sizeof err->message, "%s:%llu: not a vPDQ line "
			         "(frame,quality,hash,timestamp)", path, (unsigned long long)lineno);
			break;
		}
		if (v->count == cap) {
			size_t nc = cap ? 2 * cap : 256;
			veto_vpdq_frame *n = realloc(v->frames, nc * sizeof *n);
			if (!n) {
				rc = VETO_ERR_NOMEM;
				break;
			}
			v->frames = n;
			cap = nc;
		}
		veto_vpdq_frame *fr = &v->frames[v->count++];
		memset(fr, 0, sizeof *fr);
		veto_pdq_from_hex(&fr->pdq, hex, 64, NULL);
		fr->quality = quality;
		fr->frame = frame;
		fr->timestamp = (float)ts;
	}
	if (rc == VETO_OK && ferror(in)) {
		rc = VETO_ERR_IO;
		snprintf(err->message, sizeof err->message, "%s: read error", path);
	}
	if (rc == VETO_ERR_NOMEM)
		snprintf(err->message, sizeof err->message, "%s: out of memory", path);
	free(line);
	fclose(in);
	if (rc) {
		err->code = rc;
		veto_vpdq_free(v);
		return rc;
	}
	*out = v;
	return VETO_OK;
}

/* ------------------------------------------------------------- output --- */

void cli_vpdq_print_lines(FILE *f, const veto_vpdq *v)
{
	char hex[VETO_PDQ_HEX_LEN + 1];
	for (size_t i = 0; i < v->count; i++) {
		const veto_vpdq_frame *fr = &v->frames[i];
		veto_pdq_to_hex(&fr->pdq, hex);
		fprintf(f, "%lld,%d,%s,%.3f\n", (long long)fr->frame, fr->quality, hex,
		        (double)fr->timestamp);
	}
}

json_t *cli_video_json(const char *path, const cli_video *v, const cli_video_flags *f)
{
	const veto_video_info *in = &v->vpdq->info;
	json_t *o = json_object();
	json_t *frames = json_array();
	if (!o || !frames)
		goto fail;
	char hex[VETO_PDQ_HEX_LEN + 1], md5[33], sha[65];
	json_object_set_new(o, "path", out_json_string(path));
	json_object_set_new(o, "kind", json_string("video"));
	json_object_set_new(o, "container", json_string(in->container));
	json_object_set_new(o, "codec", json_string(in->codec));
	json_object_set_new(o, "width", json_integer(in->width));
	json_object_set_new(o, "height", json_integer(in->height));
	json_object_set_new(o, "fps", json_real(in->frame_rate));
	json_object_set_new(o, "duration", in->duration >= 0 ? json_real(in->duration) : json_null());
	json_object_set_new(o, "frames", json_integer(in->frames_decoded));
	json_object_set_new(o, "frames_skipped", json_integer(in->frames_skipped));
	json_object_set_new(o, "rotation", json_integer(in->rotation));
	json_object_set_new(o, "partial", json_boolean(in->partial));
	if (in->partial) {
		json_object_set_new(o, "damaged", json_boolean(in->damaged));
		json_object_set_new(o, "partial_reason", json_string(in->partial_reason));
	}
	if (in->has_digests) {
		out_hex(in->md5, 16, md5);
		out_hex(in->sha256, 32, sha);
		json_object_set_new(o, "md5", json_string(md5));
		json_object_set_new(o, "sha256", json_string(sha));
	}
	json_object_set_new(o, "bytes", json_integer((json_int_t)in->file_bytes));
	json_object_set_new(o, "every", json_real(f->every));
	json_object_set_new(o, "vpdq_size", json_integer(f->size));
	for (size_t i = 0; i < v->vpdq->count; i++) {
		const veto_vpdq_frame *fr = &v->vpdq->frames[i];
		veto_pdq_to_hex(&fr->pdq, hex);
		json_t *e = json_object();
		if (!e)
			goto fail;
		json_object_set_new(e, "frame", json_integer(fr->frame));
		json_object_set_new(e, "quality", json_integer(fr->quality));
		json_object_set_new(e, "pdq", json_string(hex));
		/* The reference prints 3 decimals; so does the JSON. */
		json_object_set_new(e, "timestamp", json_real(round((double)fr->timestamp * 1000.0) / 1000.0));
		json_array_append_new(frames, e);
	}
	json_object_set_new(o, "vpdq", frames);
	frames = NULL;
	if (v->tmk) {
		json_t *t = cli_tmk_json(v->tmk, v->tmk_path);
		if (!t)
			goto fail;
		json_object_set_new(o, "tmk", t);
	}
	return o;
fail:
	json_decref(frames);
	json_decref(o);
	return NULL;
}

static char *base64(const uint8_t *b, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc((n + 2) / 3 * 4 + 1), *p = o;
	if (!o)
		return NULL;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		*p++ = a[v >> 18]; *p++ = a[(v >> 12) & 63]; *p++ = a[(v >> 6) & 63]; *p++ = a[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0);
		*p++ = a[v >> 18];
		*p++ = a[(v >> 12) & 63];
		*p++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return o;
}

/* TMK in JSON: its shape, and either the file it was written to or the
 * whole .tmk (base64), so the JSON line alone holds every signal. */
json_t *cli_tmk_json(const veto_tmk *t, const char *written)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "frames", json_integer(veto_tmk_frame_count(t)));
	json_object_set_new(o, "fps", json_integer(veto_tmk_frames_per_second(t)));
	if (written) {
		json_object_set_new(o, "file", out_json_string(written));
	} else {
		uint8_t *buf = NULL;
		size_t len = 0;
		veto_error err;
		char *b64 = NULL;
		if (veto_tmk_to_bytes(t, &buf, &len, &err) != VETO_OK || !(b64 = base64(buf, len))) {
			free(buf);
			json_decref(o);
			return NULL;
		}
		free(buf);
		json_object_set_new(o, "tmk_base64", json_string(b64));
		free(b64);
	}
	return o;
}
