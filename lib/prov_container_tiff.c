/*
 * prov_container_tiff.c - TIFF and BigTIFF (also DNG and the raw formats
 * built on TIFF): the C2PA store in tag 0xCD41 (type UNDEFINED), XMP in
 * tag 700 of the first IFD, and EXIF.
 *
 * Which C2PA tag counts follows c2pa-rs (tiff_io.rs): the one in the last
 * IFD of the page chain, else the one in the first; a tag anywhere else in
 * the chain is counted and reported, not read. The chain is walked with
 * every IFD offset remembered (a loop is a problem, not a hang) and at most
 * PC_MAX_IFDS IFDs. Strip and tile data running past the end of the file
 * is reported (it is how a truncated TIFF shows), never read.
 *
 * The EXIF block is a compact copy, not the file: a classic TIFF in the
 * file's byte order holding IFD0 and the EXIF, GPS and Interoperability
 * IFDs it points to, with their values relocated (BigTIFF becomes classic
 * TIFF). The C2PA, XMP and SubIFDs tags are left out, as are entries whose
 * data is out of range or over 1 MiB; strip and tile offsets still hold the
 * original file's offsets.
 */
#include "prov_container.h"

#include <stdio.h>
#include <string.h>

#define TAG_C2PA 0xcd41
#define TAG_XMP 700
#define TAG_SUBIFDS 330
#define TAG_EXIF_IFD 0x8769
#define TAG_GPS_IFD 0x8825
#define TAG_INTEROP_IFD 0xa005
#define EXIF_VALUE_MAX (1u << 20)
#define EXIF_ENTRIES_MAX 4096

typedef struct tiff {
	const uint8_t *d;
	size_t n;
	int le, big;
} tiff;

typedef struct ent {
	uint16_t tag, type;
	uint64_t count, size;  /* size: count * type size */
	uint64_t data_off;     /* where the value is (inline: in the entry) */
	int known;             /* a type we know the size of */
	int ok;                /* known, and the value lies inside the file */
} ent;

typedef struct ifd {
	uint64_t off, cnt;
	size_t first;          /* first entry */
	size_t esize;
	int has_next;
	uint64_t next;
} ifd;

static uint16_t r16(const tiff *t, size_t o) { return t->le ? pc_le16(t->d + o) : pc_be16(t->d + o); }
static uint32_t r32(const tiff *t, size_t o) { return t->le ? pc_le32(t->d + o) : pc_be32(t->d + o); }
static uint64_t r64(const tiff *t, size_t o) { return t->le ? pc_le64(t->d + o) : pc_be64(t->d + o); }

static unsigned type_size(unsigned type)
{
	static const unsigned sz[19] = { 0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8 };
	return type < 19 ? sz[type] : 0;
}

/* Opens the IFD at off: 0, or -1 when its entries run past the end. */
static int ifd_open(const tiff *t, uint64_t off, ifd *f)
{
	memset(f, 0, sizeof *f);
	f->off = off;
	size_t hdr = t->big ? 8 : 2;
	f->esize = t->big ? 20 : 12;
	if (off > t->n || t->n - off < hdr)
		return -1;
	f->cnt = t->big ? r64(t, (size_t)off) : r16(t, (size_t)off);
	f->first = (size_t)off + hdr;
	if (f->cnt > (t->n - f->first) / f->esize)
		return -1;
	size_t nf = f->first + (size_t)f->cnt * f->esize;
	if (t->n - nf >= (t->big ? 8u : 4u)) {
		f->has_next = 1;
		f->next = t->big ? r64(t, nf) : r32(t, nf);
	}
	return 0;
}

static void ifd_entry(const tiff *t, const ifd *f, uint64_t k, ent *e)
{
	size_t o = f->first + (size_t)k * f->esize;
	memset(e, 0, sizeof *e);
	e->tag = r16(t, o);
	e->type = r16(t, o + 2);
	size_t vf = o + (t->big ? 12 : 8), vfs = t->big ? 8 : 4;
	e->count = t->big ? r64(t, o + 4) : r32(t, o + 4);
	unsigned ts = type_size(e->type);
	e->known = ts != 0;
	if (!ts || e->count > t->n) /* cannot fit whatever the offset */
		return;
	e->size = e->count * ts;
	if (e->size <= vfs) {
		e->data_off = vf;
		e->ok = 1;
		return;
	}
	e->data_off = t->big ? r64(t, vf) : r32(t, vf);
	e->ok = e->data_off <= t->n && e->size <= t->n - e->data_off;
}

/* Element k of an integer array entry (SHORT, LONG, LONG8), 0 otherwise. */
static uint64_t ent_uint(const tiff *t, const ent *e, uint64_t k)
{
	size_t o = (size_t)e->data_off;
	switch (e->type) {
	case 3: return r16(t, o + 2 * (size_t)k);
	case 4: case 13: return r32(t, o + 4 * (size_t)k);
	case 16: case 18: return r64(t, o + 8 * (size_t)k);
	default: return 0;
	}
}

static void check_image_data(pc_scan *s, const tiff *t, const ifd *f, const ent *offs,
                             const ent *lens, const char *what)
{
	if (!offs->ok || !lens->ok)
		return;
	uint64_t m = offs->count < lens->count ? offs->count : lens->count;
	for (uint64_t k = 0; k < m; k++) {
		uint64_t o = ent_uint(t, offs, k), l = ent_uint(t, lens, k);
		if (o > t->n || l > t->n - o) {
			pc_problem(s, "%s %llu of the IFD at %llu runs past the end of the file", what,
			           (unsigned long long)k, (unsigned long long)f->off);
			return;
		}
	}
}

/* --------------------------------------------------- the EXIF copy */

typedef struct obuf {
	uint8_t *p;
	size_t len, cap;
	int le, fail;          /* fail: too large or no memory */
	pc_scan *s;
} obuf;

static size_t ob_grow(obuf *o, size_t add)
{
	if (o->fail || add > PROV_MAX_TEXT - o->len) {
		o->fail = 1;
		return 0;
	}
	if (o->len + add > o->cap) {
		size_t nc = o->cap ? o->cap : 4096;
		while (nc < o->len + add)
			nc *= 2;
		uint8_t *np = realloc(o->p, nc);
		if (!np) {
			o->s->oom = 1;
			o->fail = 1;
			return 0;
		}
		o->p = np;
		o->cap = nc;
	}
	size_t at = o->len;
	memset(o->p + at, 0, add);
	o->len += add;
	return at;
}

static void ob_w16(obuf *o, size_t at, unsigned v)
{
	o->p[at + (o->le ? 0 : 1)] = (uint8_t)v;
	o->p[at + (o->le ? 1 : 0)] = (uint8_t)(v >> 8);
}

static void ob_w32(obuf *o, size_t at, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		o->p[at + (o->le ? k : 3 - k)] = (uint8_t)(v >> (8 * k));
}

/* Copies the IFD at off into o; returns its new offset, 0 if it could not
 * be read. seen/nseen: IFDs already copied (no loops). */
static uint32_t copy_ifd(const tiff *t, obuf *o, uint64_t off, int depth, uint64_t *seen,
                         int *nseen)
{
	ifd f;
	if (depth > 2 || *nseen >= 8 || ifd_open(t, off, &f) < 0)
		return 0;
	for (int k = 0; k < *nseen; k++)
		if (seen[k] == off)
			return 0;
	seen[(*nseen)++] = off;
	uint64_t cnt = f.cnt < EXIF_ENTRIES_MAX ? f.cnt : EXIF_ENTRIES_MAX;
	/* which entries go in */
	uint64_t keep = 0;
	for (uint64_t k = 0; k < cnt; k++) {
		ent e;
		ifd_entry(t, &f, k, &e);
		if (e.tag == TAG_C2PA || e.tag == TAG_XMP || e.tag == TAG_SUBIFDS)
			continue;
		if (!e.ok || e.size > EXIF_VALUE_MAX || e.count > UINT32_MAX || e.type > 13)
			if (!(e.tag == TAG_EXIF_IFD || e.tag == TAG_GPS_IFD || e.tag == TAG_INTEROP_IFD))
				continue;
		keep++;
	}
	size_t at = ob_grow(o, 2 + 12 * (size_t)keep + 4);
	if (o->fail)
		return 0;
	uint64_t w = 0;
	for (uint64_t k = 0; k < cnt && w < keep && !o->fail; k++) {
		ent e;
		ifd_entry(t, &f, k, &e);
		if (e.tag == TAG_C2PA || e.tag == TAG_XMP || e.tag == TAG_SUBIFDS)
			continue;
		int ptr = e.tag == TAG_EXIF_IFD || e.tag == TAG_GPS_IFD || e.tag == TAG_INTEROP_IFD;
		if (ptr) {
			if (!e.ok || e.count != 1 || !(e.type == 4 || e.type == 13 || e.type == 16 ||
			                               e.type == 18))
				continue;
			uint64_t target = ent_uint(t, &e, 0);
			uint32_t no = copy_ifd(t, o, target, depth + 1, seen, nseen);
			if (!no || o->fail)
				continue;
			size_t eo = at + 2 + 12 * (size_t)w++;
			ob_w16(o, eo, e.tag);
			ob_w16(o, eo + 2, 4);
			ob_w32(o, eo + 4, 1);
			ob_w32(o, eo + 8, no);
			continue;
		}
		if (!e.ok || e.size > EXIF_VALUE_MAX || e.count > UINT32_MAX || e.type > 13)
			continue;
		size_t eo = at + 2 + 12 * (size_t)w++;
		ob_w16(o, eo, e.tag);
		ob_w16(o, eo + 2, e.type);
		ob_w32(o, eo + 4, (uint32_t)e.count);
		if (e.size <= 4) {
			memcpy(o->p + eo + 8, t->d + e.data_off, (size_t)e.size);
		} else {
			size_t vo = ob_grow(o, (size_t)e.size + (e.size & 1));
			if (o->fail)
				break;
			memcpy(o->p + vo, t->d + e.data_off, (size_t)e.size);
			ob_w32(o, eo + 8, (uint32_t)vo);
		}
	}
	if (o->fail)
		return 0;
	ob_w16(o, at, (unsigned)w); /* pointers that failed leave zeroed slots at the end */
	return (uint32_t)at;
}

static void make_exif(pc_scan *s, const tiff *t, uint64_t ifd0)
{
	obuf o;
	memset(&o, 0, sizeof o);
	o.le = t->le;
	o.s = s;
	size_t h = ob_grow(&o, 8);
	if (o.fail)
		return;
	memcpy(o.p + h, t->le ? "II*\0" : "MM\0*", 4);
	uint64_t seen[8];
	int nseen = 0;
	uint32_t at = copy_ifd(t, &o, ifd0, 0, seen, &nseen);
	if (!at || o.fail) {
		if (o.fail && !s->oom)
			pc_problem(s, "the EXIF copy of the IFD at %llu passes the %u-byte cap: not made",
			           (unsigned long long)ifd0, (unsigned)PROV_MAX_TEXT);
		free(o.p);
		return;
	}
	ob_w32(&o, 4, at);
	s->a->exif = o.p;
	s->a->exif_len = o.len;
}

/* ------------------------------------------------------------- the scan */

typedef struct c2pa_tag {
	int present, idx;       /* idx: which IFD of the chain */
	ent e;
	uint64_t ifd_off;
} c2pa_tag;

static void use_c2pa_tag(pc_scan *s, const tiff *t, const c2pa_tag *c)
{
	char why[200];
	if (c->e.type != 7) {
		snprintf(why, sizeof why, "the C2PA tag in the IFD at %llu has type %u, not "
		         "UNDEFINED (7): not read", (unsigned long long)c->ifd_off, c->e.type);
		pc_store_unread(s, why);
	} else if (!c->e.ok) {
		snprintf(why, sizeof why, "the C2PA tag in the IFD at %llu points past the end of "
		         "the file: not read", (unsigned long long)c->ifd_off);
		pc_store_unread(s, why);
	} else {
		pc_store(s, t->d + c->e.data_off, (size_t)c->e.size, c->e.data_off, "TIFF C2PA tag");
	}
}

int prov_scan_tiff(const uint8_t *d, size_t n, const char *name, prov_assets *out,
                   veto_error *err)
{
	tiff t = { d, n, 0, 0 };
	if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "II+\0", 4)))
		t.le = 1;
	else if (!(n >= 4 && (!memcmp(d, "MM\0*", 4) || !memcmp(d, "MM\0+", 4))))
		return pc_not_mine(name, out, err);
	t.big = d[2] == '+' || d[3] == '+';
	pc_scan s;
	pc_begin(&s, out, name, "tiff");
	uint64_t first;
	if (!t.big) {
		if (n < 8) {
			pc_problem(&s, "the TIFF header runs past the end of the file");
			return pc_end(&s, err);
		}
		first = r32(&t, 4);
	} else {
		if (n < 16) {
			pc_problem(&s, "the BigTIFF header runs past the end of the file");
			return pc_end(&s, err);
		}
		if (r16(&t, 4) != 8 || r16(&t, 6) != 0) {
			pc_problem(&s, "the BigTIFF header has an offset size other than 8");
			return pc_end(&s, err);
		}
		first = r64(&t, 8);
	}

	uint64_t seen[PC_MAX_IFDS];
	int nifd = 0, ntags = 0, last_idx = -1;
	c2pa_tag c_first = { 0 }, c_latest = { 0 };
	uint64_t off = first;
	while (off && !s.oom) {
		int loop = 0;
		for (int k = 0; k < nifd && !loop; k++)
			loop = seen[k] == off;
		if (loop) {
			pc_problem(&s, "the IFD chain loops back to the IFD at %llu",
			           (unsigned long long)off);
			break;
		}
		if (nifd == PC_MAX_IFDS) {
			pc_problem(&s, "more than %d IFDs: stopped at %llu", PC_MAX_IFDS,
			           (unsigned long long)off);
			break;
		}
		seen[nifd++] = off;
		ifd f;
		if (ifd_open(&t, off, &f) < 0) {
			pc_problem(&s, "the IFD at %llu runs past the end of the file",
			           (unsigned long long)off);
			break;
		}
		last_idx = nifd - 1;
		ent so = { 0 }, sl = { 0 }, to = { 0 }, tl = { 0 };
		int bad_reported = 0;
		for (uint64_t k = 0; k < f.cnt; k++) {
			ent e;
			ifd_entry(&t, &f, k, &e);
			if (e.known && !e.ok && !bad_reported++)
				pc_problem(&s, "tag %u in the IFD at %llu: its data runs past the end of the "
				           "file", e.tag, (unsigned long long)off);
			switch (e.tag) {
			case TAG_C2PA: {
				c2pa_tag c = { 1, nifd - 1, e, off };
				if (c_latest.present && c_latest.idx == nifd - 1)
					break; /* the same tag twice in one IFD: the first counts */
				ntags++;
				if (nifd == 1)
					c_first = c;
				c_latest = c;
				break;
			}
			case TAG_XMP:
				if (nifd > 1)
					break;
				if ((e.type == 1 || e.type == 7) && e.ok)
					pc_xmp(&s, d + e.data_off, (size_t)e.size, e.data_off, "TIFF XMP tag");
				else
					pc_problem(&s, "the XMP tag in the IFD at %llu has type %u or points "
					           "past the end of the file: not read",
					           (unsigned long long)off, e.type);
				break;
			case 273: so = e; break;
			case 279: sl = e; break;
			case 324: to = e; break;
			case 325: tl = e; break;
			}
		}
		check_image_data(&s, &t, &f, &so, &sl, "strip");
		check_image_data(&s, &t, &f, &to, &tl, "tile");
		if (nifd == 1)
			make_exif(&s, &t, off);
		if (!f.has_next) {
			pc_problem(&s, "the IFD at %llu has no next-IFD offset: the file ends",
			           (unsigned long long)off);
			break;
		}
		off = f.next;
	}
	/* c2pa-rs: the last page's tag, else the first page's */
	const c2pa_tag *use = c_latest.present && c_latest.idx == last_idx ? &c_latest
	                      : c_first.present ? &c_first : NULL;
	if (use)
		use_c2pa_tag(&s, &t, use);
	int others = ntags - (use ? 1 : 0);
	if (others > 0) {
		char why[160];
		snprintf(why, sizeof why, "%d C2PA tag%s in IFDs other than the last (or else the "
		         "first) page: not read", others, others > 1 ? "s" : "");
		pc_store_unread(&s, why); /* counts one */
		s.a->jumbf_stores += others - 1;
	}
	return pc_end(&s, err);
}
