/*
 * prov_container_jpeg.c - JPEG: the C2PA store in APP11 (JPEG XT / JUMBF,
 * ISO 19566-5), EXIF and XMP (standard and extended) in APP1, COM text.
 *
 * An APP11 segment holds "JP" (common identifier), En (2-byte box
 * instance), Z (4-byte packet sequence number) and a piece of one JUMBF
 * box. The first segment of a box carries it from its LBox/TBox(/XLBox)
 * header on; the following ones, with the same En and increasing Z, repeat
 * that 8-byte (16 with XLBox) header before the next piece, which is
 * dropped when the box is put back together. As in c2pa-rs (jpeg_io.rs),
 * a box is the C2PA store when the type UUID of its jumd starts with
 * "c2pa"; other JUMBF boxes are ignored, a packet number that does not go
 * up ends the store, and a second store is a problem (c2pa-rs refuses the
 * file: TooManyManifestStores).
 *
 * The walk goes through every segment, skips entropy-coded data after SOS
 * (stuffed zeros, RST markers, fill bytes) and stops at EOI.
 */
#include "prov_container.h"

#include <stdio.h>
#include <string.h>

#define XMP_SIG "http://ns.adobe.com/xap/1.0/"          /* then NUL (or space) */
#define XMP_SIG_LEN 28
#define XMPEXT_SIG "http://ns.adobe.com/xmp/extension/" /* then NUL */
#define XMPEXT_SIG_LEN 35                               /* with the NUL */
#define XMPEXT_HDR (XMPEXT_SIG_LEN + 32 + 4 + 4)        /* GUID, full length, offset */

typedef struct app11_store {
	int started, closed, too_big;
	uint8_t en[2];
	uint32_t last_z;
	uint8_t hdr[16];      /* LBox, TBox (, XLBox) of the box */
	size_t hdrlen;
	uint8_t *buf;
	size_t len, cap;
	uint64_t off;         /* file offset of the box's first byte */
	uint64_t range_start, range_end; /* first marker .. end of the last segment
	                      * read: the span an update manifest's parent
	                      * binding excludes (prov_assets.store_range_*) */
} app11_store;

typedef struct ext_xmp {
	int have, skip, other_noted;
	uint8_t guid[32];
	uint32_t full;
	uint8_t *buf;
	size_t cap;           /* bytes allocated (zero-filled) */
	uint64_t covered;
	uint64_t off;
} ext_xmp;

static void seg_name(uint8_t mk, char out[16])
{
	if (mk >= 0xe0 && mk <= 0xef)
		snprintf(out, 16, "APP%d", mk - 0xe0);
	else if (mk == 0xfe)
		snprintf(out, 16, "COM");
	else if (mk == 0xda)
		snprintf(out, 16, "SOS");
	else
		snprintf(out, 16, "0xFF%02X", mk);
}

static int append(pc_scan *s, app11_store *st, const uint8_t *p, size_t n, uint64_t segoff)
{
	if (n > PROV_MAX_STORE - st->len) {
		pc_problem(s, "the C2PA store put together from APP11 segments passes the %u-byte cap "
		           "at the segment at %llu: not read", (unsigned)PROV_MAX_STORE,
		           (unsigned long long)segoff);
		free(st->buf);
		st->buf = NULL;
		st->len = st->cap = 0;
		st->too_big = st->closed = 1;
		return -1;
	}
	if (st->len + n > st->cap) {
		size_t nc = st->cap ? st->cap : 65536;
		while (nc < st->len + n)
			nc *= 2;
		uint8_t *nb = realloc(st->buf, nc);
		if (!nb) {
			s->oom = 1;
			st->closed = 1;
			return -1;
		}
		st->buf = nb;
		st->cap = nc;
	}
	memcpy(st->buf + st->len, p, n);
	st->len += n;
	return 0;
}

static void app11(pc_scan *s, app11_store *st, const uint8_t *c, size_t cl, uint64_t segoff,
                  uint64_t coff)
{
	if (cl <= 16) /* c2pa-rs needs more than the 16 bytes of headers */
		return;
	const uint8_t *en = c + 2;
	uint32_t z = pc_be32(c + 4);
	if (st->started && !st->closed && memcmp(en, st->en, 2) == 0) {
		if (z <= st->last_z) {
			pc_problem(s, "APP11 segment at %llu repeats packet %u of the C2PA store (box "
			           "instance 0x%02X%02X): the store ends before it",
			           (unsigned long long)segoff, z, en[0], en[1]);
			st->closed = 1;
			return;
		}
		if (z != st->last_z + 1)
			pc_problem(s, "APP11 segment at %llu is packet %u of the C2PA store, packet %u "
			           "was expected", (unsigned long long)segoff, z, st->last_z + 1);
		st->last_z = z;
		if (cl < 8 + st->hdrlen) {
			pc_problem(s, "APP11 segment at %llu is too short to repeat the box header",
			           (unsigned long long)segoff);
			return;
		}
		if (memcmp(c + 8, st->hdr, st->hdrlen) != 0)
			pc_problem(s, "APP11 segment at %llu repeats a box header other than the C2PA "
			           "store's", (unsigned long long)segoff);
		if (append(s, st, c + 8 + st->hdrlen, cl - 8 - st->hdrlen, segoff) == 0)
			st->range_end = coff + cl;
		return;
	}
	if (cl <= 28 || !pc_is_c2pa_superbox(c + 8, cl - 8, NULL))
		return; /* some other JUMBF box, or the rest of one */
	if (st->started) {
		s->a->jumbf_stores++;
		pc_problem(s, "another C2PA manifest store in the APP11 segment at %llu (box "
		           "instance 0x%02X%02X): only the first is read",
		           (unsigned long long)segoff, en[0], en[1]);
		return;
	}
	st->started = 1;
	memcpy(st->en, en, 2);
	st->last_z = z;
	st->off = coff + 8;
	st->hdrlen = pc_be32(c + 8) == 1 ? 16 : 8;
	if (cl < 8 + st->hdrlen) { /* XLBox cut short: keep what there is */
		st->hdrlen = 8;
	}
	memcpy(st->hdr, c + 8, st->hdrlen);
	if (z != 1)
		pc_problem(s, "the C2PA store's first APP11 segment at %llu has packet number %u",
		           (unsigned long long)segoff, z);
	st->range_start = segoff;
	st->range_end = coff + cl;
	append(s, st, c + 8, cl - 8, segoff);
}

static void ext_xmp_seg(pc_scan *s, ext_xmp *x, const uint8_t *c, size_t cl, uint64_t segoff)
{
	if (cl < XMPEXT_HDR) {
		pc_problem(s, "APP1 extended XMP segment at %llu is too short for its header",
		           (unsigned long long)segoff);
		return;
	}
	const uint8_t *guid = c + XMPEXT_SIG_LEN;
	uint32_t full = pc_be32(c + XMPEXT_SIG_LEN + 32);
	uint32_t off = pc_be32(c + XMPEXT_SIG_LEN + 36);
	const uint8_t *p = c + XMPEXT_HDR;
	size_t n = cl - XMPEXT_HDR;
	if (!x->have) {
		x->have = 1;
		memcpy(x->guid, guid, 32);
		x->full = full;
		x->off = segoff;
		if (full > PROV_MAX_TEXT) {
			pc_problem(s, "extended XMP at %llu is %u bytes, over the %u-byte cap: not read",
			           (unsigned long long)segoff, full, (unsigned)PROV_MAX_TEXT);
			x->skip = 1;
		}
	} else if (memcmp(guid, x->guid, 32) != 0) {
		if (!x->other_noted++)
			pc_problem(s, "APP1 extended XMP segment at %llu belongs to a second GUID: "
			           "ignored", (unsigned long long)segoff);
		return;
	}
	if (x->skip)
		return;
	if (full != x->full || off > full || n > full - off) {
		pc_problem(s, "APP1 extended XMP segment at %llu does not fit the %u bytes announced",
		           (unsigned long long)segoff, x->full);
		return;
	}
	size_t need = (size_t)off + n;
	if (need > x->cap) {
		uint8_t *nb = realloc(x->buf, need + 1);
		if (!nb) {
			s->oom = 1;
			x->skip = 1;
			return;
		}
		memset(nb + x->cap, 0, need + 1 - x->cap);
		x->buf = nb;
		x->cap = need;
	}
	memcpy(x->buf + off, p, n);
	x->covered += n;
}

static void ext_xmp_end(pc_scan *s, ext_xmp *x)
{
	if (x->have && !x->skip) {
		if (x->covered < x->full || x->cap < x->full)
			pc_problem(s, "extended XMP at %llu is incomplete: %llu of %u bytes found",
			           (unsigned long long)x->off, (unsigned long long)x->covered, x->full);
		else
			pc_text(s, "jpeg:xmp-extension", x->guid, 32, x->buf, x->full, PC_GUESS, x->off);
	}
	free(x->buf);
}

static void app1(pc_scan *s, ext_xmp *x, const uint8_t *c, size_t cl, uint64_t segoff,
                 uint64_t coff)
{
	if (cl >= 6 && memcmp(c, "Exif\0", 5) == 0) {
		pc_exif(s, c + 6, cl - 6, coff + 6, "APP1 Exif segment");
	} else if (cl > XMP_SIG_LEN && memcmp(c, XMP_SIG, XMP_SIG_LEN) == 0 &&
	           (c[XMP_SIG_LEN] == 0 || c[XMP_SIG_LEN] == ' ')) {
		pc_xmp(s, c + XMP_SIG_LEN + 1, cl - XMP_SIG_LEN - 1, coff + XMP_SIG_LEN + 1,
		       "APP1 XMP segment");
	} else if (cl >= XMPEXT_SIG_LEN && memcmp(c, XMPEXT_SIG, XMPEXT_SIG_LEN) == 0) {
		ext_xmp_seg(s, x, c, cl, segoff);
	}
}

/* After SOS: the offset of the next marker's first 0xFF, or n when the
 * entropy-coded data runs to the end. */
static size_t skip_scan(const uint8_t *d, size_t n, size_t i)
{
	while (i < n) {
		const uint8_t *f = memchr(d + i, 0xff, n - i);
		if (!f)
			return n;
		size_t p = (size_t)(f - d);
		if (p + 1 >= n)
			return n;
		uint8_t b = d[p + 1];
		if (b == 0x00 || (b >= 0xd0 && b <= 0xd7)) {
			i = p + 2;      /* stuffed zero, restart marker */
			continue;
		}
		if (b == 0xff) {
			i = p + 1;      /* fill byte: look again from the next one */
			continue;
		}
		return p;
	}
	return n;
}

int prov_scan_jpeg(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                   veto_error *err)
{
	if (n < 3 || d[0] != 0xff || d[1] != 0xd8 || d[2] != 0xff)
		return pc_not_mine(name, out, err);
	pc_scan s;
	pc_begin(&s, out, name, "jpeg");
	app11_store st;
	memset(&st, 0, sizeof st);
	ext_xmp x;
	memset(&x, 0, sizeof x);

	size_t i = 2, nsegs = 0;
	int done = 0; /* EOI seen, or the damage already reported */
	while (i < n && !done && !s.oom) {
		if (d[i] != 0xff) {
			size_t j = i;
			while (j + 1 < n && !(d[j] == 0xff && d[j + 1] != 0x00 && d[j + 1] != 0xff))
				j++;
			pc_problem(&s, "byte 0x%02X at %zu where a JPEG marker should be: skipped "
			           "%zu bytes", d[i], i, (j + 1 < n ? j : n) - i);
			if (j + 1 >= n) {
				done = 1;
				break;
			}
			i = j;
			continue;
		}
		size_t m = i;
		while (m < n && d[m] == 0xff)
			m++;
		if (m >= n) {
			pc_problem(&s, "the file ends in fill bytes at %zu", i);
			done = 1;
			break;
		}
		uint8_t mk = d[m];
		size_t segoff = m - 1;
		if (mk == 0xd9) {
			done = 1;
			break;
		}
		if (mk == 0x00) {
			pc_problem(&s, "stray 0xFF00 at %zu outside entropy-coded data", segoff);
			i = m + 1;
			continue;
		}
		if (mk == 0xd8 || (mk >= 0xd0 && mk <= 0xd7) || mk == 0x01) {
			i = m + 1;      /* markers without a length */
			continue;
		}
		char sn[16];
		seg_name(mk, sn);
		if (++nsegs > PC_MAX_BOXES) {
			pc_problem(&s, "more than %d JPEG segments: stopped at %zu", PC_MAX_BOXES,
			           segoff);
			done = 1;
			break;
		}
		if (m + 3 > n) {
			pc_problem(&s, "%s segment at %zu runs past the end of the file", sn, segoff);
			done = 1;
			break;
		}
		size_t L = pc_be16(d + m + 1);
		if (L < 2) {
			pc_problem(&s, "%s segment at %zu has the impossible length %zu", sn, segoff, L);
			done = 1;
			break;
		}
		if (L > n - m - 1) {
			pc_problem(&s, "%s segment at %zu runs past the end of the file (%zu bytes "
			           "declared, %zu left)", sn, segoff, L, n - m - 1);
			done = 1;
			break;
		}
		const uint8_t *c = d + m + 3;
		size_t cl = L - 2;
		uint64_t coff = m + 3;
		if (mk == 0xeb)
			app11(&s, &st, c, cl, segoff, coff);
		else if (mk == 0xe1)
			app1(&s, &x, c, cl, segoff, coff);
		else if (mk == 0xfe)
			pc_text(&s, "jpeg:COM", (const uint8_t *)"", 0, c, cl, PC_GUESS, segoff);
		i = m + 1 + L;
		if (mk == 0xda) {
			i = skip_scan(d, n, i);
			if (i >= n) {
				pc_problem(&s, "the entropy-coded data after the SOS at %zu runs to the "
				           "end of the file (no EOI marker)", segoff);
				done = 1;
			}
		}
	}
	if (!done && !s.oom)
		pc_problem(&s, "no EOI marker: the file ends at %zu", n);

	if (st.too_big) {
		s.a->jumbf_stores++; /* the problem was noted when it passed the cap */
		s.store_seen++;
	} else if (st.buf) {
		pc_take_store(&s, st.buf, st.len, st.off, "APP11 segments");
		s.a->store_range_start = st.range_start;
		s.a->store_range_len = st.range_end - st.range_start;
		st.buf = NULL;
	}
	free(st.buf);
	ext_xmp_end(&s, &x);
	return pc_end(&s, err);
}
