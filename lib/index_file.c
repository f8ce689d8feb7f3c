/*
 * index_file.c - the .vidx file: a checksummed image of a base, mmap'd.
 *
 * Layout (all little-endian): a 4096-byte header, then the base's block
 * exactly as it sits in memory (index_internal.h, vidx_layout), so loading
 * is a mmap plus pointer arithmetic, not a parse. The header holds a magic,
 * a format version, the entry count, the slice plan, each section's offset,
 * length and XXH3-64 checksum, and its own checksum.
 *
 * Loading treats the file as hostile: the header checksum, the version,
 * the slice plan (which must be one the layout rules could produce), the
 * section table (which must equal the layout recomputed from n and the
 * plan), the file size, every section's checksum, and the CSR invariants
 * (offsets non-decreasing and ending at n, postings < n) are all checked
 * before the base is handed out. A file that fails any check is refused
 * with a message saying which; nothing is half-loaded.
 *
 * Writing is crash-safe: a temporary file beside the target, written,
 * fsync'd, renamed over the target, and the directory fsync'd, so a crash
 * leaves either the old file or the new one.
 */
#include "index_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define HEADER_SIZE 4096
#define FORMAT_VERSION 1
static const char MAGIC[8] = {'V', 'E', 'T', 'O', 'I', 'D', 'X', 0};

typedef struct file_header {
	char magic[8];
	uint32_t version, header_size;
	uint64_t n;
	uint32_t nslices, nsec;
	uint32_t lens[VIDX_MAX_SLICES];
	uint64_t body_size;
	struct { uint64_t off, len, sum; } sec[VIDX_MAX_SECTIONS];
} file_header;
/* The header checksum sits in the last 8 bytes of the 4096. */
_Static_assert(sizeof(file_header) <= HEADER_SIZE - 8, "header too big");

void vidx_unmap(void *mem, size_t len)
{
	if (mem)
		munmap(mem, len);
}

static const void *section_ptr(const vidx_base *b, int i)
{
	if (i == 0) return b->hashes;
	if (i == 1) return b->ids;
	if (i == 2) return b->quality;
	if (i == 3) return b->banks;
	const int s = (i - VIDX_SEC_FIXED) / 2;
	return (i - VIDX_SEC_FIXED) % 2 ? (const void *)b->slices[s].postings
	                                 : (const void *)b->slices[s].offsets;
}

typedef struct write_ctx {
	const vidx_base *b;
	const vidx_layout *l;
	const uint8_t *hdr;
} write_ctx;

static int write_body(int fd, void *arg)
{
	const write_ctx *c = (const write_ctx *)arg;
	static const uint8_t zeros[64] = {0};
	int bad = veto_write_all(fd, c->hdr, HEADER_SIZE);
	uint64_t pos = 0;
	for (int i = 0; i < c->l->nsec && !bad; i++) {
		if (c->l->off[i] > pos)
			bad = veto_write_all(fd, zeros, (size_t)(c->l->off[i] - pos));
		if (!bad && c->l->len[i])
			bad = veto_write_all(fd, section_ptr(c->b, i), (size_t)c->l->len[i]);
		pos = c->l->off[i] + c->l->len[i];
	}
	if (!bad && c->l->total > pos)
		bad = veto_write_all(fd, zeros, (size_t)(c->l->total - pos));
	return bad;
}

int vidx_file_write(const vidx_base *b, const char *path, veto_error *err)
{
	int lens[VIDX_MAX_SLICES];
	for (int s = 0; s < b->nslices; s++)
		lens[s] = b->slices[s].len;
	vidx_layout l;
	vidx_layout_compute(&l, b->n, b->nslices, lens);
	uint8_t *hdr = (uint8_t *)calloc(1, HEADER_SIZE);
	if (!hdr)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	file_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, MAGIC, 8);
	h.version = FORMAT_VERSION;
	h.header_size = HEADER_SIZE;
	h.n = b->n;
	h.nslices = (uint32_t)b->nslices;
	h.nsec = (uint32_t)l.nsec;
	for (int s = 0; s < b->nslices; s++)
		h.lens[s] = (uint32_t)lens[s];
	h.body_size = l.total;
	for (int i = 0; i < l.nsec; i++) {
		h.sec[i].off = l.off[i];
		h.sec[i].len = l.len[i];
		h.sec[i].sum = l.len[i] ? XXH3_64bits(section_ptr(b, i), l.len[i]) : 0;
	}
	memcpy(hdr, &h, sizeof h);
	const uint64_t hsum = XXH3_64bits(hdr, HEADER_SIZE - 8);
	memcpy(hdr + HEADER_SIZE - 8, &hsum, 8);

	write_ctx c = {b, &l, hdr};
	int rc = veto_write_file_safely(path, "index", write_body, &c, err);
	free(hdr);
	return rc;
}

static int refuse(veto_error *err, const char *path, const char *why)
{
	return veto_fail(err, VETO_ERR_CORRUPT, "%s: not a valid veto index: %s", path, why);
}

int vidx_file_map(vidx_base **out, const char *path, veto_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return veto_fail(err, VETO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return veto_fail(err, VETO_ERR_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size < HEADER_SIZE) {
		close(fd);
		return refuse(err, path, st.st_size == 0 ? "empty file" : "shorter than its header (truncated?)");
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return veto_fail(err, VETO_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
	const uint8_t *m = (const uint8_t *)map;
	const size_t size = (size_t)st.st_size;
	int rc = VETO_OK;
	vidx_base *b = NULL;
	file_header h;
	memcpy(&h, m, sizeof h);
	uint64_t hsum;
	memcpy(&hsum, m + HEADER_SIZE - 8, 8);
	if (memcmp(h.magic, MAGIC, 8) != 0) {
		rc = refuse(err, path, "wrong magic (not an index file)");
		goto fail;
	}
	if (XXH3_64bits(m, HEADER_SIZE - 8) != hsum) {
		rc = refuse(err, path, "header checksum mismatch (damaged)");
		goto fail;
	}
	if (h.version != FORMAT_VERSION || h.header_size != HEADER_SIZE) {
		rc = veto_fail(err, VETO_ERR_UNSUPPORTED, "%s: index format version %u, this veto reads %u",
		               path, h.version, FORMAT_VERSION);
		goto fail;
	}
	if (h.n >= UINT32_MAX || h.nslices > VIDX_MAX_SLICES) {
		rc = refuse(err, path, "impossible entry or slice count");
		goto fail;
	}
	int lens[VIDX_MAX_SLICES], sum = 0;
	for (uint32_t s = 0; s < h.nslices; s++) {
		if (h.lens[s] < 1 || h.lens[s] > 26) {
			rc = refuse(err, path, "impossible slice width");
			goto fail;
		}
		lens[s] = (int)h.lens[s];
		sum += lens[s];
	}
	if (sum > 256) {
		rc = refuse(err, path, "slices wider than 256 bits");
		goto fail;
	}
	vidx_layout l;
	vidx_layout_compute(&l, h.n, (int)h.nslices, lens);
	if (h.nsec != (uint32_t)l.nsec || h.body_size != l.total) {
		rc = refuse(err, path, "section table does not match its entry count");
		goto fail;
	}
	for (int i = 0; i < l.nsec; i++)
		if (h.sec[i].off != l.off[i] || h.sec[i].len != l.len[i]) {
			rc = refuse(err, path, "section table does not match its entry count");
			goto fail;
		}
	if (size - HEADER_SIZE < l.total) {
		rc = refuse(err, path, "file shorter than its sections (truncated)");
		goto fail;
	}
	if (size - HEADER_SIZE > l.total) {
		rc = refuse(err, path, "trailing bytes after its sections");
		goto fail;
	}
	const uint8_t *body = m + HEADER_SIZE;
	/* Alignment padding is not checksummed: it must be zero. */
	for (int i = 0; i < l.nsec; i++) {
		const uint64_t end = l.off[i] + l.len[i];
		const uint64_t next = i + 1 < l.nsec ? l.off[i + 1] : l.total;
		for (uint64_t p = end; p < next; p++)
			if (body[p]) {
				rc = refuse(err, path, "non-zero padding (damaged)");
				goto fail;
			}
	}
	for (int i = 0; i < l.nsec; i++)
		if (l.len[i] && XXH3_64bits(body + l.off[i], l.len[i]) != h.sec[i].sum) {
			char why[96];
			snprintf(why, sizeof why, "checksum mismatch in section %d (damaged)", i);
			rc = refuse(err, path, why);
			goto fail;
		}
	b = (vidx_base *)calloc(1, sizeof *b);
	if (!b) {
		rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		goto fail;
	}
	b->n = h.n;
	b->nslices = (int)h.nslices;
	for (int s = 0; s < b->nslices; s++)
		b->slices[s].len = lens[s];
	vidx_base_attach(b, (uint8_t *)(uintptr_t)body, &l);
	/* CSR invariants: a checksum proves integrity, not sanity. */
	for (int s = 0; s < b->nslices; s++) {
		const vidx_slice *sl = &b->slices[s];
		const uint64_t nk = 1ull << sl->len;
		if (sl->offsets[0] != 0 || sl->offsets[nk] != h.n) {
			rc = refuse(err, path, "bucket table does not add up");
			goto fail;
		}
		for (uint64_t k = 0; k < nk; k++)
			if (sl->offsets[k] > sl->offsets[k + 1]) {
				rc = refuse(err, path, "bucket table out of order");
				goto fail;
			}
		if (sl->postings)
			for (uint64_t p = 0; p < h.n; p++)
				if (sl->postings[p] >= h.n) {
					rc = refuse(err, path, "posting out of range");
					goto fail;
				}
	}
	b->mem = map;
	b->memlen = size;
	b->mapped = 1;
	*out = b;
	return VETO_OK;
fail:
	free(b);
	munmap(map, size);
	return rc;
}
