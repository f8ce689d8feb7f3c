/*
 * matcher.c - veto serve's in-memory match state, fed by the store's
 * change sequence, and its snapshot file.
 *
 * Layout. Everything hangs off a few flat tables, because at 10M banked
 * hashes per-object allocations would cost more memory than the hashes:
 *
 *   contents   open-addressed map content id -> one packed 64-bit word
 *              (bank slot, which signal types are indexed, a flush tag, a
 *              "has disable_until_ts" bit, the index of its video record).
 *              16 bytes a slot; only active content is present.
 *   disabled   the same kind of map, id -> disable_until_ts, holding only
 *              the values other than 1 (HMA's "enabled"): almost always
 *              empty, so /m/lookup's `enabled` costs nothing.
 *   pdq        a veto_index (id = content id, bank = the bank's slot,
 *              quality 100: HMA's hashes carry none).
 *   vpdq       a second veto_index holding every banked video's frames
 *              (prepared as pytx's VPDQIndex.add does: quality >= 50 first,
 *              then de-duplicated), plus each video's frames in its video
 *              record for the snapshot.
 *   video_md5  an open-addressed multimap md5 -> content id.
 *   tmk        an array of signatures scanned per query; a cheap level-1
 *              cosine (double, from the mean features) with a 1e-3 margin
 *              skips what cannot reach 0.7 before the exact, expensive
 *              veto_tmk_compare.
 *   banks      a small array; each live bank owns a 16-bit slot (the
 *              index's bank field), recycled when the bank is deleted, so
 *              store bank ids are never limited to 16 bits.
 *
 * vPDQ queries aggregate the radius-31 hits of each prepared query frame
 * per banked video: the distinct query frames hit over the query's count
 * and the distinct banked frames hit over the video's count are exactly
 * pytx's VPDQIndex.query percentages (the search is symmetric), without a
 * frames-by-frames comparison per candidate. Match: query >= 80% (and the
 * index side >= 0%, pytx's default).
 *
 * Applying changes. A change carries the entity's current state, so a
 * content change first removes whatever the content had (from every index)
 * and then, if active, indexes its current signals: re-applying is
 * harmless. Index writes are batched: deletes and adds gather in pending
 * lists and are flushed together (veto_index_delete scans the whole base,
 * so one call per batch, not per change; a batch of adds into an empty
 * index becomes one bulk build). A content removed while its own add is
 * still pending forces a flush first, detected by an 8-bit flush tag in its
 * packed word (a stale tag only costs an extra flush). The writer takes
 * the rwlock exclusively per chunk of 65,536 changes (the whole call when
 * the pdq index is empty, which makes the initial load one bulk build), so
 * readers wait at most a chunk; the lock prefers writers so a busy query
 * load cannot starve the follower. Queries hold the read lock throughout,
 * so they see chunk boundaries only, never half a change. libveto merges
 * an index's delta (which every search scans) into its base only at 1/16
 * of the base; the matcher asks sooner, from a thread of its own (see
 * maybe_merge), so a caught-up follower leaves queries at base speed.
 *
 * Snapshots: one file (see the format above vm_save), written through
 * veto_write_file_safely (temporary file, fsync, rename, mode 0600) and
 * checked whole on load before anything is built: magic, version, exact
 * size, XXH3-64, then every count and reference while parsing. A save
 * excludes vm_apply only (a mutex both hold), not the rwlock: a writer
 * queued on that lock behind a seconds-long save would stall every query.
 *
 * Nothing here prints or exits; errors come back as veto_error.
 */
#include "matcher.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define CHUNK 65536            /* changes per exclusive-lock hold */
#define MERGE_DELTA 16384      /* merge an index whose delta or tombstones pass
                                * max(this, base/256): every query scans the
                                * delta, ~1 ns a hash */
#define NSLOTS 65535           /* bank slots 0..65534; 0xffff is VETO_BANK_NONE */
#define TMK_L1_MARGIN 1e-3

/* ------------------------------------------------------- int64 -> u64 */

typedef struct kv {
	int64_t k;   /* 0: empty (content ids start at 1) */
	uint64_t v;
} kv;

typedef struct imap {
	kv *t;
	size_t cap, n; /* cap: power of two or 0 */
} imap;

static inline size_t imap_home(const imap *m, int64_t k)
{
	uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
	h ^= h >> 29;
	return (size_t)h & (m->cap - 1);
}

static int imap_get(const imap *m, int64_t k, uint64_t *v)
{
	if (!m->n)
		return 0;
	for (size_t i = imap_home(m, k);; i = (i + 1) & (m->cap - 1)) {
		if (m->t[i].k == k) {
			if (v)
				*v = m->t[i].v;
			return 1;
		}
		if (!m->t[i].k)
			return 0;
	}
}

/* The slot holding k, to update its value in place, or NULL. */
static kv *imap_find(imap *m, int64_t k)
{
	if (!m->n)
		return NULL;
	for (size_t i = imap_home(m, k);; i = (i + 1) & (m->cap - 1)) {
		if (m->t[i].k == k)
			return &m->t[i];
		if (!m->t[i].k)
			return NULL;
	}
}

static int imap_resize(imap *m, size_t cap)
{
	kv *t = (kv *)calloc(cap, sizeof *t);
	if (!t)
		return VETO_ERR_NOMEM;
	imap nm = {t, cap, 0};
	for (size_t i = 0; i < m->cap; i++)
		if (m->t[i].k) {
			size_t j = imap_home(&nm, m->t[i].k);
			while (t[j].k)
				j = (j + 1) & (cap - 1);
			t[j] = m->t[i];
			nm.n++;
		}
	free(m->t);
	*m = nm;
	return VETO_OK;
}

/* Room for n keys at a load of at most 5/8. */
static int imap_reserve(imap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 64;
	while (n * 8 > cap * 5)
		cap *= 2;
	return cap == m->cap ? VETO_OK : imap_resize(m, cap);
}

static int imap_put(imap *m, int64_t k, uint64_t v)
{
	if (imap_reserve(m, m->n + 1) != VETO_OK)
		return VETO_ERR_NOMEM;
	size_t i = imap_home(m, k);
	while (m->t[i].k && m->t[i].k != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->t[i].k) {
		m->t[i].k = k;
		m->n++;
	}
	m->t[i].v = v;
	return VETO_OK;
}

/* Backward-shift deletion: no tombstones, so churn never slows lookups. */
static void imap_del(imap *m, int64_t k)
{
	if (!m->n)
		return;
	size_t i = imap_home(m, k);
	while (m->t[i].k != k) {
		if (!m->t[i].k)
			return;
		i = (i + 1) & (m->cap - 1);
	}
	for (size_t j = (i + 1) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		if (!m->t[j].k)
			break;
		const size_t h = imap_home(m, m->t[j].k);
		/* may t[j] move to the hole at i? only if h is not in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			m->t[i] = m->t[j];
			i = j;
		}
	}
	m->t[i].k = 0;
	m->t[i].v = 0;
	m->n--;
}

static void imap_free(imap *m)
{
	free(m->t);
	memset(m, 0, sizeof *m);
}

/* --------------------------------------------------- md5 -> content id */

typedef struct md5ent {
	uint8_t md5[16];
	int64_t id;  /* 0: empty */
} md5ent;

typedef struct md5map {
	md5ent *t;
	size_t cap, n;
} md5map;

static inline size_t md5_home(const md5map *m, const uint8_t md5[16])
{
	uint64_t h;
	memcpy(&h, md5, 8); /* MD5 output is uniform already */
	return (size_t)(h * 0x9E3779B97F4A7C15ull >> 7) & (m->cap - 1);
}

static int md5_resize(md5map *m, size_t cap)
{
	md5ent *t = (md5ent *)calloc(cap, sizeof *t);
	if (!t)
		return VETO_ERR_NOMEM;
	md5map nm = {t, cap, 0};
	for (size_t i = 0; i < m->cap; i++)
		if (m->t[i].id) {
			size_t j = md5_home(&nm, m->t[i].md5);
			while (t[j].id)
				j = (j + 1) & (cap - 1);
			t[j] = m->t[i];
			nm.n++;
		}
	free(m->t);
	*m = nm;
	return VETO_OK;
}

static int md5_add(md5map *m, const uint8_t md5[16], int64_t id)
{
	if ((m->n + 1) * 8 > m->cap * 5 && md5_resize(m, m->cap ? m->cap * 2 : 64) != VETO_OK)
		return VETO_ERR_NOMEM;
	size_t i = md5_home(m, md5);
	while (m->t[i].id)
		i = (i + 1) & (m->cap - 1);
	memcpy(m->t[i].md5, md5, 16);
	m->t[i].id = id;
	m->n++;
	return VETO_OK;
}

static void md5_del(md5map *m, const uint8_t md5[16], int64_t id)
{
	if (!m->n)
		return;
	size_t i = md5_home(m, md5);
	while (!(m->t[i].id == id && !memcmp(m->t[i].md5, md5, 16))) {
		if (!m->t[i].id)
			return;
		i = (i + 1) & (m->cap - 1);
	}
	for (size_t j = (i + 1) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		if (!m->t[j].id)
			break;
		const size_t h = md5_home(m, m->t[j].md5);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			m->t[i] = m->t[j];
			i = j;
		}
	}
	memset(&m->t[i], 0, sizeof m->t[i]);
	m->n--;
}

/* ------------------------------------------------------------ the state */

/* The packed word of a content. */
#define C_SLOT(v)   ((uint16_t)((v) & 0xffff))
#define C_MASK(v)   ((unsigned)(((v) >> 16) & 0x0f))
#define C_DIS       (1ull << 23)     /* has an entry in `disabled` */
#define C_TAG(v)    ((uint8_t)((v) >> 24))
#define C_VX(v)     ((uint32_t)((v) >> 32))   /* video record + 1, 0: none */
#define C_PACK(slot, mask, dis, tag, vx)                                            \
	((uint64_t)(slot) | (uint64_t)(mask) << 16 | ((dis) ? C_DIS : 0) |          \
	 (uint64_t)(tag) << 24 | (uint64_t)(vx) << 32)

#define BIT(t) (1u << (t))
#define VIDEO_BITS (BIT(VSIG_VIDEO_MD5) | BIT(VSIG_VPDQ) | BIT(VSIG_TMK))

typedef struct bankrec {
	int64_t id;
	char name[129];
	double ratio;
	int deleted;
	int slot;            /* -1: none */
	uint64_t nactive;    /* active contents in it */
} bankrec;

typedef struct vext {
	int64_t id;          /* 0: free */
	uint8_t md5[16];
	veto_pdq_hash *frames; /* prepared vPDQ frames */
	uint32_t nframes;
	veto_tmk *tmk;
	uint32_t tmk_pos;
} vext;

typedef struct tmkent {
	int64_t id;
	uint32_t vx;         /* its video record */
	uint16_t slot;
	int dim;
	double norm;         /* of the mean feature, for the level-1 filter */
	const float *mean;
	veto_tmk *tmk;       /* owned by the video record */
} tmkent;

typedef struct pending {
	veto_index_entry *add;
	size_t nadd, capadd;
	uint64_t *del;
	size_t ndel, capdel;
} pending;

struct vm_matcher {
	pthread_rwlock_t lock;
	/* held through a whole vm_apply or vm_save: the only writer of the
	 * state is vm_apply, so a save under this mutex sees it whole without
	 * taking `lock`, and queries never wait behind a save */
	pthread_mutex_t apply_mu;
	int64_t seq, seq_ts;
	int failed;          /* an index write failed mid-apply: state unknown */

	bankrec *banks;
	size_t nbanks, capbanks;
	imap bank_idx;       /* bank id -> index in banks + 1 */
	int32_t slot_bank[NSLOTS]; /* -1 free, else index in banks */
	uint16_t free_slots[NSLOTS];
	size_t nfree_slots;
	uint64_t live_banks;

	imap contents;
	imap disabled;
	veto_index *pdq;
	veto_index *vpdq;
	md5map md5;
	vext *vx;
	size_t nvx, capvx;
	uint32_t *vx_free;
	size_t nvx_free, capvx_free;
	tmkent *tmk;
	size_t ntmk, captmk;

	pending pend[2];     /* 0: pdq, 1: vpdq */
	uint8_t tag;         /* the current flush group */

	/* the merge thread (see maybe_merge) */
	pthread_mutex_t mt_mu;
	pthread_cond_t mt_cv;
	pthread_t mt;
	int mt_started, mt_stop, mt_wanted;

	uint64_t nsig[VSIG_COUNT];
	uint64_t bad_signals;
	uint64_t frames_bytes;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return VETO_OK;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return VETO_ERR_NOMEM;
	*p = q;
	*cap = c;
	return VETO_OK;
}

int vm_new(vm_matcher **out, veto_error *err)
{
	if (!out)
		return veto_fail(err, VETO_ERR_INVALID, "vm_new: no output");
	*out = NULL;
	vm_matcher *m = (vm_matcher *)calloc(1, sizeof *m);
	if (!m)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory creating the matcher");
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	/* a steady stream of queries must not starve the change follower */
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->lock, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&m->mt_mu, NULL);
	pthread_cond_init(&m->mt_cv, NULL);
	pthread_mutex_init(&m->apply_mu, NULL);
	for (int i = 0; i < NSLOTS; i++) {
		m->slot_bank[i] = -1;
		m->free_slots[i] = (uint16_t)(NSLOTS - 1 - i); /* pop gives 0 first */
	}
	m->nfree_slots = NSLOTS;
	m->tag = 1;
	int rc = veto_index_new(&m->pdq, err);
	if (rc == VETO_OK)
		rc = veto_index_new(&m->vpdq, err);
	if (rc) {
		vm_free(m);
		return rc;
	}
	*out = m;
	return VETO_OK;
}

void vm_free(vm_matcher *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mt_mu);
	m->mt_stop = 1;
	pthread_cond_signal(&m->mt_cv);
	pthread_mutex_unlock(&m->mt_mu);
	if (m->mt_started)
		pthread_join(m->mt, NULL);
	pthread_mutex_destroy(&m->mt_mu);
	pthread_cond_destroy(&m->mt_cv);
	pthread_mutex_destroy(&m->apply_mu);
	veto_index_free(m->pdq);
	veto_index_free(m->vpdq);
	for (size_t i = 0; i < m->nvx; i++) {
		free(m->vx[i].frames);
		veto_tmk_free(m->vx[i].tmk);
	}
	free(m->vx);
	free(m->vx_free);
	free(m->tmk);
	free(m->md5.t);
	imap_free(&m->contents);
	imap_free(&m->disabled);
	imap_free(&m->bank_idx);
	free(m->banks);
	for (int i = 0; i < 2; i++) {
		free(m->pend[i].add);
		free(m->pend[i].del);
	}
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

/* -------------------------------------------------------------- banks */

static bankrec *bank_find(vm_matcher *m, int64_t id)
{
	uint64_t v;
	return imap_get(&m->bank_idx, id, &v) ? &m->banks[v - 1] : NULL;
}

static int bank_get_or_make(vm_matcher *m, int64_t id, bankrec **out)
{
	bankrec *b = bank_find(m, id);
	if (!b) {
		if (grow((void **)&m->banks, &m->capbanks, m->nbanks + 1, sizeof *m->banks) ||
		    imap_put(&m->bank_idx, id, m->nbanks + 1))
			return VETO_ERR_NOMEM;
		b = &m->banks[m->nbanks++];
		memset(b, 0, sizeof *b);
		b->id = id;
		b->slot = -1;
		b->deleted = 1; /* until told it lives */
	}
	*out = b;
	return VETO_OK;
}

static void bank_set_name(bankrec *b, const char *name)
{
	if (!name)
		return;
	size_t n = strlen(name);
	if (n > 128)
		n = 128;
	memcpy(b->name, name, n);
	b->name[n] = '\0';
}

static int bank_revive(vm_matcher *m, bankrec *b)
{
	if (!b->deleted)
		return VETO_OK;
	if (!m->nfree_slots)
		return VETO_ERR_TOO_LARGE;
	b->slot = m->free_slots[--m->nfree_slots];
	m->slot_bank[b->slot] = (int32_t)(b - m->banks);
	b->deleted = 0;
	m->live_banks++;
	return VETO_OK;
}

/* ------------------------------------------------------ pending writes */

static int pend_add(pending *p, const veto_pdq_hash *h, int64_t id, uint16_t slot)
{
	if (grow((void **)&p->add, &p->capadd, p->nadd + 1, sizeof *p->add))
		return VETO_ERR_NOMEM;
	veto_index_entry *e = &p->add[p->nadd++];
	memset(e, 0, sizeof *e);
	e->hash = *h;
	e->id = (uint64_t)id;
	e->quality = 100;
	e->bank = slot;
	return VETO_OK;
}

static int pend_del(pending *p, int64_t id)
{
	if (grow((void **)&p->del, &p->capdel, p->ndel + 1, sizeof *p->del))
		return VETO_ERR_NOMEM;
	p->del[p->ndel++] = (uint64_t)id;
	return VETO_OK;
}

/* Deletes before adds: within one group an id is never added and then
 * deleted (that forces a flush in between), so this order is the order
 * the changes asked for. */
static int flush(vm_matcher *m, veto_error *err)
{
	veto_index *ix[2] = {m->pdq, m->vpdq};
	int rc = VETO_OK;
	for (int i = 0; i < 2; i++) {
		pending *p = &m->pend[i];
		if (p->ndel && rc == VETO_OK)
			rc = veto_index_delete(ix[i], p->del, p->ndel, NULL, err);
		if (p->nadd && rc == VETO_OK)
			rc = veto_index_add(ix[i], p->add, p->nadd, err);
		p->ndel = p->nadd = 0;
		/* a huge bulk array is not worth keeping around */
		if (p->capadd > 1u << 20) {
			free(p->add);
			p->add = NULL;
			p->capadd = 0;
		}
	}
	if (++m->tag == 0)
		m->tag = 1;
	if (rc)
		m->failed = 1;
	return rc;
}

/* ------------------------------------------------------------ contents */

static int vext_new(vm_matcher *m, int64_t id, uint32_t *vx)
{
	uint32_t i;
	if (m->nvx_free) {
		i = m->vx_free[--m->nvx_free];
	} else {
		if (m->nvx >= UINT32_MAX - 1 ||
		    grow((void **)&m->vx, &m->capvx, m->nvx + 1, sizeof *m->vx))
			return VETO_ERR_NOMEM;
		i = (uint32_t)m->nvx++;
	}
	memset(&m->vx[i], 0, sizeof m->vx[i]);
	m->vx[i].id = id;
	*vx = i;
	return VETO_OK;
}

static void tmk_remove(vm_matcher *m, uint32_t pos)
{
	const size_t last = m->ntmk - 1;
	if (pos != last) {
		m->tmk[pos] = m->tmk[last];
		m->vx[m->tmk[pos].vx].tmk_pos = pos;
	}
	m->ntmk--;
}

/* Remove a content and every signal it had. */
static int content_remove(vm_matcher *m, int64_t id, veto_error *err)
{
	uint64_t v;
	if (!imap_get(&m->contents, id, &v))
		return VETO_OK;
	const unsigned mask = C_MASK(v);
	if ((mask & (BIT(VSIG_PDQ) | BIT(VSIG_VPDQ))) && C_TAG(v) == m->tag) {
		int rc = flush(m, err); /* its own add is still pending */
		if (rc)
			return rc;
	}
	if ((mask & BIT(VSIG_PDQ)) && pend_del(&m->pend[0], id))
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	if ((mask & BIT(VSIG_VPDQ)) && pend_del(&m->pend[1], id))
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	if (C_VX(v)) {
		const uint32_t x = C_VX(v) - 1;
		vext *e = &m->vx[x];
		if (mask & BIT(VSIG_VIDEO_MD5))
			md5_del(&m->md5, e->md5, id);
		if (mask & BIT(VSIG_TMK))
			tmk_remove(m, e->tmk_pos);
		m->frames_bytes -= (uint64_t)e->nframes * sizeof *e->frames;
		free(e->frames);
		veto_tmk_free(e->tmk);
		memset(e, 0, sizeof *e);
		/* the free list never needs more room than the records */
		if (grow((void **)&m->vx_free, &m->capvx_free, m->nvx_free + 1,
		         sizeof *m->vx_free) == VETO_OK)
			m->vx_free[m->nvx_free++] = x;
	}
	for (int t = 0; t < VSIG_COUNT; t++)
		if (mask & BIT(t))
			m->nsig[t]--;
	if (v & C_DIS)
		imap_del(&m->disabled, id);
	imap_del(&m->contents, id);
	const int bi = m->slot_bank[C_SLOT(v)];
	if (bi >= 0 && m->banks[bi].nactive)
		m->banks[bi].nactive--;
	return VETO_OK;
}

/* pytx's prepare_vpdq_feature: drop quality < 50, then keep the first of
 * each distinct hash. Returns the count (0: nothing to index). */
static size_t prepare_frames(const veto_vpdq_frame *f, size_t n, veto_pdq_hash *out)
{
	veto_vpdq_frame *kept = (veto_vpdq_frame *)malloc((n ? n : 1) * sizeof *kept);
	if (!kept)
		return (size_t)-1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].quality >= VETO_VPDQ_QUALITY)
			kept[k++] = f[i];
	veto_vpdq_frame *uniq = (veto_vpdq_frame *)malloc((k ? k : 1) * sizeof *uniq);
	size_t u = uniq && k ? veto_vpdq_unique(kept, k, 0, uniq) : 0;
	if (!uniq || u == (size_t)-1) {
		free(kept);
		free(uniq);
		return (size_t)-1;
	}
	for (size_t i = 0; i < u; i++)
		out[i] = uniq[i].pdq;
	free(kept);
	free(uniq);
	return u;
}

/* Index a content's current state (it is not in the maps). */
static int content_add(vm_matcher *m, int64_t id, const vs_content *c, int64_t bank_id,
                       veto_error *err)
{
	bankrec *b = bank_find(m, bank_id);
	if (!b) {
		/* content before its bank's change: learn the bank from the row */
		if (bank_get_or_make(m, bank_id, &b))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		bank_set_name(b, c->bank_name);
		b->ratio = c->bank_ratio;
		if (c->bank_name) {
			int rc = bank_revive(m, b);
			if (rc)
				return veto_fail(err, rc, "more than %d live banks", NSLOTS);
		}
	}
	if (b->deleted)
		return VETO_OK; /* its bank is gone: nothing to match */
	const uint16_t slot = (uint16_t)b->slot;
	const size_t mark0 = m->pend[0].nadd, mark1 = m->pend[1].nadd;
	vsig_value val[VSIG_COUNT];
	unsigned mask = 0;
	memset(val, 0, sizeof val);
	for (size_t i = 0; i < c->nsignals; i++) {
		const vs_signal *s = &c->signals[i];
		const int t = vsig_from_name(s->type);
		if (t < 0 || !s->value || (mask & BIT(t))) {
			m->bad_signals++; /* unknown type or a second one of a type */
			continue;
		}
		veto_error e2;
		int rc = vsig_parse(t, s->value, strlen(s->value), &val[t], NULL, &e2);
		if (rc == VETO_ERR_NOMEM) {
			for (int k = 0; k < VSIG_COUNT; k++)
				vsig_value_clear(&val[k]);
			return veto_fail(err, rc, "out of memory");
		}
		if (rc) {
			m->bad_signals++;
			continue;
		}
		mask |= BIT(t);
	}
	int rc = VETO_OK;
	uint32_t vx = 0;
	veto_pdq_hash *frames = NULL;
	size_t nframes = 0;
	if (mask & BIT(VSIG_VPDQ)) {
		frames = (veto_pdq_hash *)malloc((val[VSIG_VPDQ].nframes ? val[VSIG_VPDQ].nframes : 1) *
		                                 sizeof *frames);
		nframes = frames ? prepare_frames(val[VSIG_VPDQ].frames, val[VSIG_VPDQ].nframes, frames)
		                 : (size_t)-1;
		if (nframes == (size_t)-1) {
			rc = VETO_ERR_NOMEM;
		} else if (nframes == 0 || nframes > UINT32_MAX) {
			/* pytx refuses to index a video with no usable frame */
			m->bad_signals++;
			mask &= ~BIT(VSIG_VPDQ);
		} else {
			veto_pdq_hash *shrunk = (veto_pdq_hash *)realloc(frames, nframes * sizeof *frames);
			if (shrunk)
				frames = shrunk;
		}
	}
	if (rc == VETO_OK && (mask & VIDEO_BITS)) {
		rc = vext_new(m, id, &vx);
		if (rc == VETO_OK) {
			vext *e = &m->vx[vx];
			if (mask & BIT(VSIG_VIDEO_MD5)) {
				memcpy(e->md5, val[VSIG_VIDEO_MD5].md5, 16);
				rc = md5_add(&m->md5, e->md5, id);
			}
			if (rc == VETO_OK && (mask & BIT(VSIG_TMK)))
				rc = grow((void **)&m->tmk, &m->captmk, m->ntmk + 1, sizeof *m->tmk);
			if (rc == VETO_OK && (mask & BIT(VSIG_TMK))) {
				veto_tmk *t = val[VSIG_TMK].tmk;
				val[VSIG_TMK].tmk = NULL;
				tmkent *te = &m->tmk[m->ntmk];
				te->id = id;
				te->vx = vx;
				te->slot = slot;
				te->tmk = t;
				te->dim = veto_tmk_feature_dimension(t);
				te->mean = veto_tmk_mean_feature(t);
				double s = 0;
				for (int k = 0; k < te->dim; k++)
					s += (double)te->mean[k] * (double)te->mean[k];
				te->norm = sqrt(s);
				e->tmk = t;
				e->tmk_pos = (uint32_t)m->ntmk++;
			}
			if (rc == VETO_OK && (mask & BIT(VSIG_VPDQ))) {
				e->frames = frames;
				e->nframes = (uint32_t)nframes;
				frames = NULL;
				m->frames_bytes += (uint64_t)e->nframes * sizeof *e->frames;
				for (uint32_t k = 0; k < e->nframes && rc == VETO_OK; k++)
					rc = pend_add(&m->pend[1], &e->frames[k], id, slot);
			}
		}
	}
	if (rc == VETO_OK && (mask & BIT(VSIG_PDQ)))
		rc = pend_add(&m->pend[0], &val[VSIG_PDQ].pdq, id, slot);
	const int dis = c->disable_until_ts != 1;
	if (rc == VETO_OK && dis)
		rc = imap_put(&m->disabled, id, (uint64_t)c->disable_until_ts);
	if (rc == VETO_OK)
		rc = imap_put(&m->contents, id,
		              C_PACK(slot, mask, dis, (mask & (BIT(VSIG_PDQ) | BIT(VSIG_VPDQ))) ? m->tag : 0,
		                     (mask & VIDEO_BITS) ? vx + 1 : 0));
	free(frames);
	for (int k = 0; k < VSIG_COUNT; k++)
		vsig_value_clear(&val[k]);
	if (rc) {
		/* undo what is not yet in the contents map, so a retry starts clean */
		if (mask & VIDEO_BITS) {
			if (!imap_get(&m->contents, id, NULL) && vx < m->nvx && m->vx[vx].id == id) {
				vext *e = &m->vx[vx];
				if (mask & BIT(VSIG_VIDEO_MD5))
					md5_del(&m->md5, e->md5, id);
				if (e->tmk)
					tmk_remove(m, e->tmk_pos);
				m->frames_bytes -= (uint64_t)e->nframes * sizeof *e->frames;
				free(e->frames);
				veto_tmk_free(e->tmk);
				memset(e, 0, sizeof *e);
				if (grow((void **)&m->vx_free, &m->capvx_free, m->nvx_free + 1,
				         sizeof *m->vx_free) == VETO_OK)
					m->vx_free[m->nvx_free++] = vx;
			}
		}
		if (dis)
			imap_del(&m->disabled, id);
		/* its adds are the newest pending ones: take them back */
		m->pend[0].nadd = mark0;
		m->pend[1].nadd = mark1;
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory indexing content %lld",
		                 (long long)id);
	}
	for (int t = 0; t < VSIG_COUNT; t++)
		if (mask & BIT(t))
			m->nsig[t]++;
	b->nactive++;
	return VETO_OK;
}

static int apply_content(vm_matcher *m, const vs_change *ch, veto_error *err)
{
	const vs_content *c = &ch->content;
	const int64_t id = ch->content_id ? ch->content_id : c->id;
	if (id <= 0) {
		m->bad_signals += c->nsignals;
		return VETO_OK;
	}
	int rc = content_remove(m, id, err);
	if (rc || c->status != VS_ACTIVE)
		return rc;
	return content_add(m, id, c, c->bank_id ? c->bank_id : ch->bank_id, err);
}

static int apply_bank(vm_matcher *m, const vs_change *ch, veto_error *err)
{
	const int64_t id = ch->bank_id ? ch->bank_id : ch->bank.id;
	if (id == 0)
		return VETO_OK;
	bankrec *b;
	if (bank_get_or_make(m, id, &b))
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	const size_t bi = (size_t)(b - m->banks);
	if (!ch->bank.deleted) {
		bank_set_name(b, ch->bank.name);
		b->ratio = ch->bank.enabled_ratio;
		int rc = bank_revive(m, b);
		if (rc)
			return veto_fail(err, rc, "more than %d live banks", NSLOTS);
		return VETO_OK;
	}
	if (b->deleted)
		return VETO_OK;
	if (b->nactive) {
		/* the store sends each content's tombstone first; this catches
		 * whatever was not (collect, then remove: removal moves entries) */
		const uint16_t slot = (uint16_t)b->slot;
		int64_t *ids = (int64_t *)malloc(b->nactive * sizeof *ids);
		if (!ids)
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		size_t k = 0;
		for (size_t i = 0; i < m->contents.cap && k < b->nactive; i++)
			if (m->contents.t[i].k && C_SLOT(m->contents.t[i].v) == slot)
				ids[k++] = m->contents.t[i].k;
		int rc = VETO_OK;
		for (size_t i = 0; i < k && rc == VETO_OK; i++)
			rc = content_remove(m, ids[i], err);
		free(ids);
		if (rc)
			return rc;
	}
	b = &m->banks[bi];
	m->slot_bank[b->slot] = -1;
	m->free_slots[m->nfree_slots++] = (uint16_t)b->slot;
	b->slot = -1;
	b->deleted = 1;
	b->nactive = 0;
	m->live_banks--;
	return VETO_OK;
}

/*
 * Merging. libveto folds an index's delta into its base by itself only
 * once the delta reaches 1/16 of the base (625,000 hashes at 10M), and
 * every search scans the delta: after a catch-up that can leave a few ms
 * on every query until the next big batch. So the matcher asks for a merge
 * much sooner, on its own thread (the follower never waits for it; merges
 * build without blocking searches and are serialised by the index).
 */
static int delta_big(veto_index *x)
{
	veto_index_stats st;
	veto_index_stats_get(x, &st);
	uint64_t lim = st.base_entries / 256;
	if (lim < MERGE_DELTA)
		lim = MERGE_DELTA;
	return st.delta_entries > lim || st.tombstones > lim;
}

static void *merger(void *arg)
{
	vm_matcher *m = (vm_matcher *)arg;
	pthread_mutex_lock(&m->mt_mu);
	for (;;) {
		while (!m->mt_wanted && !m->mt_stop)
			pthread_cond_wait(&m->mt_cv, &m->mt_mu);
		if (m->mt_stop)
			break;
		m->mt_wanted = 0;
		pthread_mutex_unlock(&m->mt_mu);
		/* on failure (memory) the delta simply stays, still correct */
		if (delta_big(m->pdq))
			veto_index_merge(m->pdq, NULL);
		if (delta_big(m->vpdq))
			veto_index_merge(m->vpdq, NULL);
		pthread_mutex_lock(&m->mt_mu);
	}
	pthread_mutex_unlock(&m->mt_mu);
	return NULL;
}

static void maybe_merge(vm_matcher *m)
{
	if (!delta_big(m->pdq) && !delta_big(m->vpdq))
		return;
	pthread_mutex_lock(&m->mt_mu);
	if (!m->mt_started && !m->mt_stop && pthread_create(&m->mt, NULL, merger, m) == 0)
		m->mt_started = 1;
	m->mt_wanted = 1;
	pthread_cond_signal(&m->mt_cv);
	pthread_mutex_unlock(&m->mt_mu);
}

int vm_merge(vm_matcher *m, veto_error *err)
{
	int rc = veto_index_merge(m->pdq, err);
	if (rc == VETO_OK)
		rc = veto_index_merge(m->vpdq, err);
	return rc;
}

static int index_is_empty(veto_index *x)
{
	veto_index_stats st;
	veto_index_stats_get(x, &st);
	return st.base_entries == 0 && st.delta_entries == 0 && st.tombstones == 0;
}

static int apply_locked(vm_matcher *m, const vs_change *ch, size_t n, veto_error *err);

int vm_apply(vm_matcher *m, const vs_change *ch, size_t n, veto_error *err)
{
	if (!m || (!ch && n))
		return veto_fail(err, VETO_ERR_INVALID, "vm_apply: bad arguments");
	pthread_mutex_lock(&m->apply_mu);
	int rc = apply_locked(m, ch, n, err);
	pthread_mutex_unlock(&m->apply_mu);
	if (rc == VETO_OK)
		maybe_merge(m);
	return rc;
}

static int apply_locked(vm_matcher *m, const vs_change *ch, size_t n, veto_error *err)
{
	size_t i = 0;
	while (i < n) {
		pthread_rwlock_wrlock(&m->lock);
		if (m->failed) {
			pthread_rwlock_unlock(&m->lock);
			return veto_fail(err, VETO_ERR_NOMEM, "the matcher is inconsistent after an "
			                 "earlier failure to update an index; rebuild it");
		}
		const size_t lim = index_is_empty(m->pdq) || n - i <= CHUNK ? n : i + CHUNK;
		int64_t last = m->seq, last_ts = m->seq_ts;
		int rc = VETO_OK;
		if (lim - i >= 4096) {
			/* size the tables once for a big batch instead of doubling */
			size_t adds = 0;
			for (size_t j = i; j < lim; j++)
				adds += ch[j].kind == VS_CHANGE_CONTENT && ch[j].seq > last &&
				        ch[j].content.status == VS_ACTIVE;
			if (imap_reserve(&m->contents, m->contents.n + adds) ||
			    grow((void **)&m->pend[0].add, &m->pend[0].capadd, m->pend[0].nadd + adds,
			         sizeof *m->pend[0].add))
				rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory for %zu changes", adds);
		}
		for (; i < lim && rc == VETO_OK; i++) {
			const vs_change *c = &ch[i];
			if (c->seq <= last)
				continue;
			if (c->kind == VS_CHANGE_CONTENT)
				rc = apply_content(m, c, err);
			else if (c->kind == VS_CHANGE_BANK)
				rc = apply_bank(m, c, err);
			if (rc)
				break;
			last = c->seq;
			last_ts = c->ts;
		}
		/* flush even after a failure: removals already made in the maps
		 * must reach the indexes, and the failed change is retried */
		veto_error fe;
		int frc = flush(m, rc ? &fe : err);
		if (frc == VETO_OK) {
			m->seq = last;
			m->seq_ts = last_ts;
		}
		pthread_rwlock_unlock(&m->lock);
		if (rc)
			return rc;
		if (frc)
			return frc;
	}
	return VETO_OK;
}

int64_t vm_seq(vm_matcher *m)
{
	pthread_rwlock_rdlock(&m->lock);
	int64_t s = m->seq;
	pthread_rwlock_unlock(&m->lock);
	return s;
}

int64_t vm_seq_ts(vm_matcher *m)
{
	pthread_rwlock_rdlock(&m->lock);
	int64_t s = m->seq_ts;
	pthread_rwlock_unlock(&m->lock);
	return s;
}

static void bank_info(const bankrec *b, vm_bank_info *out)
{
	memset(out, 0, sizeof *out);
	out->id = b->id;
	memcpy(out->name, b->name, sizeof out->name);
	out->ratio = b->ratio;
}

int vm_bank(vm_matcher *m, int64_t id, vm_bank_info *out)
{
	pthread_rwlock_rdlock(&m->lock);
	const bankrec *b = bank_find(m, id);
	int rc = b && !b->deleted ? VETO_OK : VS_ERR_NOTFOUND;
	if (rc == VETO_OK && out)
		bank_info(b, out);
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

int vm_bank_by_name(vm_matcher *m, const char *name, vm_bank_info *out)
{
	int rc = VS_ERR_NOTFOUND;
	if (!name)
		return rc;
	pthread_rwlock_rdlock(&m->lock);
	for (size_t i = 0; i < m->nbanks; i++)
		if (!m->banks[i].deleted && !strcmp(m->banks[i].name, name)) {
			if (out)
				bank_info(&m->banks[i], out);
			rc = VETO_OK;
			break;
		}
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

/* --------------------------------------------------------------- query */

typedef struct hitlist {
	vm_hit *v;
	size_t n, cap;
} hitlist;

/* HMA's BankContentConfig.enabled. */
static int is_enabled(const vm_matcher *m, int64_t id, uint64_t word, int64_t now)
{
	uint64_t ts;
	if (!(word & C_DIS) || !imap_get(&m->disabled, id, &ts))
		return 1;
	const int64_t t = (int64_t)ts;
	if (t == 0)
		return 0;
	if (t == 1)
		return 1;
	return t <= now;
}

/* A hit for content id if it is (still) indexed with that type and in the
 * requested banks. */
static int push_hit(const vm_matcher *m, hitlist *h, int64_t id, int type,
                    const int64_t *banks, size_t nbanks, int64_t now, const vsig_score *s)
{
	uint64_t w;
	if (!imap_get(&m->contents, id, &w) || !(C_MASK(w) & BIT(type)))
		return VETO_OK;
	const int bi = m->slot_bank[C_SLOT(w)];
	if (bi < 0)
		return VETO_OK;
	const int64_t bank_id = m->banks[bi].id;
	if (banks) {
		size_t k = 0;
		while (k < nbanks && banks[k] != bank_id)
			k++;
		if (k == nbanks)
			return VETO_OK;
	}
	if (grow((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v))
		return VETO_ERR_NOMEM;
	vm_hit *o = &h->v[h->n++];
	memset(o, 0, sizeof *o);
	o->content_id = id;
	o->bank_id = bank_id;
	o->enabled = is_enabled(m, id, w, now);
	o->score = *s;
	o->score.match = 1;
	return VETO_OK;
}

/* The requested banks as index slots; 0 if none of them lives. */
static size_t bank_slots(const vm_matcher *m, const int64_t *banks, size_t nbanks,
                         uint16_t *slots)
{
	size_t k = 0;
	for (size_t i = 0; i < nbanks; i++) {
		uint64_t v;
		if (!imap_get(&m->bank_idx, banks[i], &v))
			continue;
		const bankrec *b = &m->banks[v - 1];
		if (!b->deleted && b->slot >= 0)
			slots[k++] = (uint16_t)b->slot;
	}
	return k;
}

static int query_pdq(vm_matcher *m, const vsig_value *q, const veto_search_options *so,
                     const int64_t *banks, size_t nbanks, int64_t now, hitlist *h,
                     veto_error *err)
{
	veto_match_list l = {0};
	int rc = veto_index_search(m->pdq, &q->pdq, 100, so, &l, err);
	for (size_t i = 0; rc == VETO_OK && i < l.n; i++) {
		vsig_score s;
		memset(&s, 0, sizeof s);
		s.distance = l.v[i].distance;
		if (push_hit(m, h, (int64_t)l.v[i].id, VSIG_PDQ, banks, nbanks, now, &s))
			rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	veto_match_list_free(&l);
	return rc; /* the index sorts by distance, then id */
}

static int cmp_hit_id(const void *a, const void *b)
{
	const vm_hit *x = (const vm_hit *)a, *y = (const vm_hit *)b;
	return (x->content_id > y->content_id) - (x->content_id < y->content_id);
}

static int query_md5(vm_matcher *m, const vsig_value *q, const int64_t *banks, size_t nbanks,
                     int64_t now, hitlist *h, veto_error *err)
{
	const md5map *t = &m->md5;
	if (!t->n)
		return VETO_OK;
	vsig_score s;
	memset(&s, 0, sizeof s);
	for (size_t i = md5_home(t, q->md5); t->t[i].id; i = (i + 1) & (t->cap - 1))
		if (!memcmp(t->t[i].md5, q->md5, 16) &&
		    push_hit(m, h, t->t[i].id, VSIG_VIDEO_MD5, banks, nbanks, now, &s))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	if (h->n > 1)
		qsort(h->v, h->n, sizeof *h->v, cmp_hit_id);
	return VETO_OK;
}

typedef struct vhit {
	int64_t id;
	uint32_t qi;          /* query frame */
	veto_pdq_hash h;      /* banked frame */
} vhit;

static int cmp_vhit_q(const void *a, const void *b)
{
	const vhit *x = (const vhit *)a, *y = (const vhit *)b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->qi > y->qi) - (x->qi < y->qi);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(veto_pdq_hash));
}

static int cmp_hit_vpdq(const void *a, const void *b)
{
	const vm_hit *x = (const vm_hit *)a, *y = (const vm_hit *)b;
	if (x->score.query_percent != y->score.query_percent)
		return x->score.query_percent > y->score.query_percent ? -1 : 1;
	if (x->score.target_percent != y->score.target_percent)
		return x->score.target_percent > y->score.target_percent ? -1 : 1;
	return cmp_hit_id(a, b);
}

static int query_vpdq(vm_matcher *m, const vsig_value *q, const veto_search_options *so,
                      const int64_t *banks, size_t nbanks, int64_t now, hitlist *h,
                      veto_error *err)
{
	veto_pdq_hash *qf = (veto_pdq_hash *)malloc((q->nframes ? q->nframes : 1) * sizeof *qf);
	if (!qf)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	const size_t nq = prepare_frames(q->frames, q->nframes, qf);
	if (nq == (size_t)-1) {
		free(qf);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	vhit *hv = NULL;
	size_t nh = 0, caph = 0;
	veto_match_list l = {0};
	int rc = VETO_OK;
	for (size_t i = 0; i < nq && rc == VETO_OK; i++) {
		rc = veto_index_search(m->vpdq, &qf[i], 100, so, &l, err);
		for (size_t k = 0; rc == VETO_OK && k < l.n; k++) {
			if (grow((void **)&hv, &caph, nh + 1, sizeof *hv)) {
				rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory");
				break;
			}
			hv[nh].id = (int64_t)l.v[k].id;
			hv[nh].qi = (uint32_t)i;
			hv[nh].h = l.v[k].hash;
			nh++;
		}
	}
	veto_match_list_free(&l);
	free(qf);
	if (rc == VETO_OK && nh)
		qsort(hv, nh, sizeof *hv, cmp_vhit_q);
	veto_pdq_hash *hs = NULL;
	size_t caphs = 0;
	for (size_t a = 0; rc == VETO_OK && a < nh;) {
		size_t b = a;
		while (b < nh && hv[b].id == hv[a].id)
			b++;
		uint64_t w;
		if (!imap_get(&m->contents, hv[a].id, &w) || !C_VX(w)) {
			a = b;
			continue;
		}
		const vext *e = &m->vx[C_VX(w) - 1];
		/* distinct query frames hit; distinct banked frames hit */
		size_t nqh = 0;
		for (size_t k = a; k < b; k++)
			nqh += k == a || hv[k].qi != hv[k - 1].qi;
		if (grow((void **)&hs, &caphs, b - a, sizeof *hs)) {
			rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory");
			break;
		}
		for (size_t k = a; k < b; k++)
			hs[k - a] = hv[k].h;
		qsort(hs, b - a, sizeof *hs, cmp_hash);
		size_t nth = 0;
		for (size_t k = 0; k < b - a; k++)
			nth += k == 0 || memcmp(&hs[k], &hs[k - 1], sizeof *hs);
		vsig_score s;
		memset(&s, 0, sizeof s);
		s.query_percent = (double)nqh * 100.0 / (double)nq;
		s.target_percent = e->nframes ? (double)nth * 100.0 / (double)e->nframes : 0.0;
		if (s.query_percent >= VETO_VPDQ_MATCH_PERCENT && s.target_percent >= 0.0 &&
		    push_hit(m, h, hv[a].id, VSIG_VPDQ, banks, nbanks, now, &s))
			rc = veto_fail(err, VETO_ERR_NOMEM, "out of memory");
		a = b;
	}
	free(hs);
	free(hv);
	if (rc == VETO_OK && h->n > 1)
		qsort(h->v, h->n, sizeof *h->v, cmp_hit_vpdq);
	return rc;
}

static int cmp_hit_tmk(const void *a, const void *b)
{
	const vm_hit *x = (const vm_hit *)a, *y = (const vm_hit *)b;
	if (x->score.level2 != y->score.level2)
		return x->score.level2 > y->score.level2 ? -1 : 1;
	return cmp_hit_id(a, b);
}

static int query_tmk(vm_matcher *m, const vsig_value *q, const uint16_t *slots, size_t nslots,
                     int filter, const int64_t *banks, size_t nbanks, int64_t now, hitlist *h,
                     veto_error *err)
{
	const int dim = veto_tmk_feature_dimension(q->tmk);
	const float *qm = veto_tmk_mean_feature(q->tmk);
	double qn = 0;
	for (int k = 0; k < dim; k++)
		qn += (double)qm[k] * (double)qm[k];
	qn = sqrt(qn);
	for (size_t i = 0; i < m->ntmk; i++) {
		const tmkent *t = &m->tmk[i];
		if (filter) {
			size_t k = 0;
			while (k < nslots && slots[k] != t->slot)
				k++;
			if (k == nslots)
				continue;
		}
		if (t->dim == dim) {
			/* level 1 can only pass 0.7 if this estimate is near it (a zero
			 * norm gives 0 or NaN, never a match) */
			if (qn == 0 || t->norm == 0)
				continue;
			double d = 0;
			for (int k = 0; k < dim; k++)
				d += (double)qm[k] * (double)t->mean[k];
			if (!(d / (qn * t->norm) >= VETO_TMK_LEVEL1_THRESHOLD - TMK_L1_MARGIN))
				continue;
		}
		vsig_score s;
		memset(&s, 0, sizeof s);
		if (veto_tmk_compare(q->tmk, t->tmk, &s.level1, &s.level2, NULL) != VETO_OK)
			continue; /* other parameters: cannot be compared */
		if (!veto_tmk_is_match(s.level1, s.level2))
			continue;
		if (push_hit(m, h, t->id, VSIG_TMK, banks, nbanks, now, &s))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	}
	if (h->n > 1)
		qsort(h->v, h->n, sizeof *h->v, cmp_hit_tmk);
	return VETO_OK;
}

int vm_query(vm_matcher *m, const vsig_value *q, const int64_t *banks, size_t nbanks,
             int64_t now, vm_hit **out, size_t *n, veto_error *err)
{
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!m || !q || !out || !n || (!banks && nbanks))
		return veto_fail(err, VETO_ERR_INVALID, "vm_query: bad arguments");
	if (q->type < 0 || q->type >= VSIG_COUNT)
		return veto_fail(err, VETO_ERR_INVALID, "vm_query: unknown signal type %d", q->type);
	if ((q->type == VSIG_TMK && !q->tmk) || (q->type == VSIG_VPDQ && !q->frames && q->nframes))
		return veto_fail(err, VETO_ERR_INVALID, "vm_query: empty signal");
	uint16_t slots_small[64];
	uint16_t *slots = slots_small;
	if (banks && nbanks > 64 && !(slots = (uint16_t *)malloc(nbanks * sizeof *slots)))
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	hitlist h = {0};
	int rc = VETO_OK;
	pthread_rwlock_rdlock(&m->lock);
	size_t nslots = banks ? bank_slots(m, banks, nbanks, slots) : 0;
	veto_search_options so;
	veto_search_options_init(&so);
	so.radius = VETO_PDQ_MATCH_THRESHOLD;
	so.min_quality = 0;
	if (banks) {
		so.banks = slots;
		so.nbanks = nslots;
	}
	if (!banks || nslots) { /* a filter naming no live bank finds nothing */
		switch (q->type) {
		case VSIG_PDQ: rc = query_pdq(m, q, &so, banks, nbanks, now, &h, err); break;
		case VSIG_VIDEO_MD5: rc = query_md5(m, q, banks, nbanks, now, &h, err); break;
		case VSIG_VPDQ: rc = query_vpdq(m, q, &so, banks, nbanks, now, &h, err); break;
		case VSIG_TMK:
			rc = query_tmk(m, q, slots, nslots, banks != NULL, banks, nbanks, now, &h, err);
			break;
		}
	}
	pthread_rwlock_unlock(&m->lock);
	if (slots != slots_small)
		free(slots);
	if (rc) {
		free(h.v);
		return rc;
	}
	*out = h.v;
	*n = h.n;
	return VETO_OK;
}

void vm_stats_get(vm_matcher *m, vm_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!m)
		return;
	veto_index_stats a, b;
	veto_index_stats_get(m->pdq, &a);
	veto_index_stats_get(m->vpdq, &b);
	pthread_rwlock_rdlock(&m->lock);
	for (int t = 0; t < VSIG_COUNT; t++)
		st->signals[t] = m->nsig[t];
	st->contents = m->contents.n;
	st->banks = m->live_banks;
	st->bad_signals = m->bad_signals;
	st->bytes = a.bytes + b.bytes + sizeof *m + (m->contents.cap + m->disabled.cap +
	            m->bank_idx.cap) * sizeof(kv) + m->md5.cap * sizeof(md5ent) +
	            m->capvx * sizeof(vext) + m->captmk * sizeof(tmkent) +
	            m->capbanks * sizeof(bankrec) + m->frames_bytes +
	            (uint64_t)m->ntmk * VETO_TMK_FILE_BYTES;
	pthread_rwlock_unlock(&m->lock);
}

/* ------------------------------------------------------------ snapshot */

/*
 * File format (little-endian), version 1:
 *
 *   header, 96 bytes: "VETOSNAP", u32 version, u32 header size (96),
 *     i64 seq, i64 seq_ts, u64 file size, u64 banks, u64 contents,
 *     u64 pdq entries, u64 video records, u64 disabled entries,
 *     u64 bad_signals, u32 vPDQ quality floor (50), u32 zero.
 *   banks:    i64 id, f64 ratio, u8 deleted, u8 name length, name
 *   contents: i64 id, i64 bank id, u8 signal mask          (17 bytes)
 *   disabled: i64 id, i64 disable_until_ts                  (16 bytes)
 *   pdq:      i64 id, 32-byte hash                          (40 bytes)
 *   video:    i64 id, u8 mask, [16-byte md5], [u32 n, n x 32-byte
 *             prepared vPDQ frames], [u32 n, n bytes of .tmk]
 *   trailer:  u64 XXH3-64 of 104 bytes: the final header, then the u64
 *             XXH3-64 of everything between header and trailer.
 *
 * The body is hashed as it streams out; the header (whose counts are
 * known only at the end) is written last, in place.
 */
#define SNAP_MAGIC "VETOSNAP"
#define SNAP_VERSION 1u
#define SNAP_HDR 96
#define SNAP_BUF (1u << 20)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct snapw {
	vm_matcher *m;
	int fd;
	uint8_t *buf;
	size_t n;
	XXH3_state_t *xs;
	uint64_t written;    /* body bytes */
	uint64_t npdq;
	int failed;
} snapw;

static void sw_flush(snapw *w)
{
	if (w->failed || !w->n)
		return;
	XXH3_64bits_update(w->xs, w->buf, w->n);
	if (veto_write_all(w->fd, w->buf, w->n) != 0)
		w->failed = 1;
	w->written += w->n;
	w->n = 0;
}

static void sw_put(snapw *w, const void *p, size_t n)
{
	const uint8_t *c = (const uint8_t *)p;
	while (n && !w->failed) {
		if (w->n == SNAP_BUF)
			sw_flush(w);
		size_t k = SNAP_BUF - w->n < n ? SNAP_BUF - w->n : n;
		memcpy(w->buf + w->n, c, k);
		w->n += k;
		c += k;
		n -= k;
	}
}

static void sw_u64(snapw *w, uint64_t v)
{
	uint8_t b[8];
	put64(b, v);
	sw_put(w, b, 8);
}

static void sw_u32(snapw *w, uint32_t v)
{
	uint8_t b[4];
	put32(b, v);
	sw_put(w, b, 4);
}

static int sw_pdq(void *ctx, const veto_index_entry *e)
{
	snapw *w = (snapw *)ctx;
	sw_u64(w, e->id);
	sw_put(w, e->hash.bytes, 32);
	w->npdq++;
	return w->failed;
}

static int snap_body(int fd, void *ctx)
{
	snapw *w = (snapw *)ctx;
	vm_matcher *m = w->m;
	w->fd = fd;
	uint8_t hdr[SNAP_HDR];
	memset(hdr, 0, sizeof hdr);
	if (veto_write_all(fd, hdr, sizeof hdr) != 0)
		return -1;
	/* banks */
	for (size_t i = 0; i < m->nbanks; i++) {
		const bankrec *b = &m->banks[i];
		uint64_t r;
		memcpy(&r, &b->ratio, 8);
		sw_u64(w, (uint64_t)b->id);
		sw_u64(w, r);
		const uint8_t del = (uint8_t)b->deleted, nl = (uint8_t)strlen(b->name);
		sw_put(w, &del, 1);
		sw_put(w, &nl, 1);
		sw_put(w, b->name, nl);
	}
	/* contents and disabled */
	uint64_t nvid = 0;
	for (size_t i = 0; i < m->contents.cap; i++) {
		const kv *e = &m->contents.t[i];
		if (!e->k)
			continue;
		const uint8_t mask = (uint8_t)C_MASK(e->v);
		const int bi = m->slot_bank[C_SLOT(e->v)];
		if (bi < 0) {
			errno = EINVAL; /* cannot happen: a content's bank is live */
			return -1;
		}
		sw_u64(w, (uint64_t)e->k);
		sw_u64(w, (uint64_t)m->banks[bi].id);
		sw_put(w, &mask, 1);
		nvid += (mask & VIDEO_BITS) != 0;
	}
	for (size_t i = 0; i < m->disabled.cap; i++)
		if (m->disabled.t[i].k) {
			sw_u64(w, (uint64_t)m->disabled.t[i].k);
			sw_u64(w, m->disabled.t[i].v);
		}
	/* pdq, straight from the index */
	if (!w->failed)
		veto_index_foreach(m->pdq, sw_pdq, w);
	/* videos */
	for (size_t i = 0; i < m->nvx && !w->failed; i++) {
		const vext *e = &m->vx[i];
		uint64_t v;
		if (!e->id || !imap_get(&m->contents, e->id, &v))
			continue;
		const uint8_t mask = (uint8_t)(C_MASK(v) & VIDEO_BITS);
		sw_u64(w, (uint64_t)e->id);
		sw_put(w, &mask, 1);
		if (mask & BIT(VSIG_VIDEO_MD5))
			sw_put(w, e->md5, 16);
		if (mask & BIT(VSIG_VPDQ)) {
			sw_u32(w, e->nframes);
			sw_put(w, e->frames, (size_t)e->nframes * sizeof *e->frames);
		}
		if (mask & BIT(VSIG_TMK)) {
			uint8_t *tb;
			size_t tn;
			if (veto_tmk_to_bytes(e->tmk, &tb, &tn, NULL) != VETO_OK || tn > UINT32_MAX) {
				errno = ENOMEM;
				return -1;
			}
			sw_u32(w, (uint32_t)tn);
			sw_put(w, tb, tn);
			free(tb);
		}
	}
	sw_flush(w);
	if (w->failed)
		return -1;
	const uint64_t body_hash = XXH3_64bits_digest(w->xs);
	/* the header, now that the counts are known */
	memcpy(hdr, SNAP_MAGIC, 8);
	put32(hdr + 8, SNAP_VERSION);
	put32(hdr + 12, SNAP_HDR);
	put64(hdr + 16, (uint64_t)m->seq);
	put64(hdr + 24, (uint64_t)m->seq_ts);
	put64(hdr + 32, SNAP_HDR + w->written + 8);
	put64(hdr + 40, m->nbanks);
	put64(hdr + 48, m->contents.n);
	put64(hdr + 56, w->npdq);
	put64(hdr + 64, nvid);
	put64(hdr + 72, m->disabled.n);
	put64(hdr + 80, m->bad_signals);
	put32(hdr + 88, VETO_VPDQ_QUALITY);
	uint8_t tail[SNAP_HDR + 8];
	memcpy(tail, hdr, SNAP_HDR);
	put64(tail + SNAP_HDR, body_hash);
	uint8_t sum[8];
	put64(sum, XXH3_64bits(tail, sizeof tail));
	if (veto_write_all(fd, sum, 8) != 0)
		return -1;
	if (pwrite(fd, hdr, SNAP_HDR, 0) != SNAP_HDR)
		return -1;
	return 0;
}

int vm_save(vm_matcher *m, const char *path, veto_error *err)
{
	if (!m || !path)
		return veto_fail(err, VETO_ERR_INVALID, "vm_save: bad arguments");
	snapw w;
	memset(&w, 0, sizeof w);
	w.m = m;
	w.buf = (uint8_t *)malloc(SNAP_BUF);
	w.xs = XXH3_createState();
	if (!w.buf || !w.xs || XXH3_64bits_reset(w.xs) != XXH_OK) {
		free(w.buf);
		XXH3_freeState(w.xs);
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory saving %s", path);
	}
	/* the follower waits until the file is written; queries go on (see
	 * apply_mu) */
	pthread_mutex_lock(&m->apply_mu);
	int rc = m->failed ? veto_fail(err, VETO_ERR_INVALID, "%s: the matcher is inconsistent "
	                               "after an earlier failure; not saving it", path)
	                   : veto_write_file_safely(path, "matcher snapshot", snap_body, &w, err);
	pthread_mutex_unlock(&m->apply_mu);
	free(w.buf);
	XXH3_freeState(w.xs);
	return rc;
}

typedef struct snapr {
	const uint8_t *p;
	size_t at, end;
	const char *path;
	veto_error *err;
} snapr;

static int corrupt(snapr *r, const char *what)
{
	return veto_fail(r->err, VETO_ERR_CORRUPT, "%s: not a valid veto matcher snapshot: %s",
	                 r->path, what);
}

/* Are `count` records of at least `each` bytes left? (before allocating) */
static int room_for(const snapr *r, uint64_t count, uint64_t each)
{
	return count <= (r->end - r->at) / each;
}

static int load_body(vm_matcher *m, snapr *r, const uint8_t *hdr)
{
	const uint64_t nbanks = get64(hdr + 40), ncont = get64(hdr + 48), npdq = get64(hdr + 56),
	               nvid = get64(hdr + 64), ndis = get64(hdr + 72);
	veto_error *err = r->err;
	int rc;
	/* banks */
	if (!room_for(r, nbanks, 18))
		return corrupt(r, "bank count exceeds the file");
	for (uint64_t i = 0; i < nbanks; i++) {
		if (!room_for(r, 1, 18))
			return corrupt(r, "truncated bank record");
		const int64_t id = (int64_t)get64(r->p + r->at);
		double ratio;
		uint64_t rb = get64(r->p + r->at + 8);
		memcpy(&ratio, &rb, 8);
		const uint8_t del = r->p[r->at + 16], nl = r->p[r->at + 17];
		r->at += 18;
		if (id == 0 || del > 1 || nl > 128 || !room_for(r, nl, 1) || bank_find(m, id) ||
		    memchr(r->p + r->at, '\0', nl))
			return corrupt(r, "bad bank record");
		bankrec *b;
		if (bank_get_or_make(m, id, &b))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
		memcpy(b->name, r->p + r->at, nl);
		b->name[nl] = '\0';
		b->ratio = ratio;
		r->at += nl;
		if (!del && bank_revive(m, b))
			return corrupt(r, "too many live banks");
	}
	/* contents */
	if (!room_for(r, ncont, 17))
		return corrupt(r, "content count exceeds the file");
	if (imap_reserve(&m->contents, ncont))
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
	uint64_t want_pdq = 0, want_vid = 0;
	for (uint64_t i = 0; i < ncont; i++) {
		const uint8_t *p = r->p + r->at;
		const int64_t id = (int64_t)get64(p), bid = (int64_t)get64(p + 8);
		const uint8_t mask = p[16];
		r->at += 17;
		const bankrec *b = bank_find(m, bid);
		if (id <= 0 || mask > 0x0f || !b || b->deleted || imap_get(&m->contents, id, NULL))
			return corrupt(r, "bad content record");
		if (imap_put(&m->contents, id, C_PACK(b->slot, mask, 0, 0, 0)))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
		m->banks[m->slot_bank[b->slot]].nactive++;
		want_pdq += (mask & BIT(VSIG_PDQ)) != 0;
		want_vid += (mask & VIDEO_BITS) != 0;
	}
	if (want_pdq != npdq || want_vid != nvid)
		return corrupt(r, "signal counts disagree with the contents");
	/* disabled */
	if (!room_for(r, ndis, 16))
		return corrupt(r, "disabled count exceeds the file");
	for (uint64_t i = 0; i < ndis; i++) {
		const int64_t id = (int64_t)get64(r->p + r->at);
		const uint64_t ts = get64(r->p + r->at + 8);
		r->at += 16;
		uint64_t v;
		if (!imap_get(&m->contents, id, &v) || (v & C_DIS) || ts == 1)
			return corrupt(r, "bad disabled record");
		if (imap_put(&m->disabled, id, ts) || imap_put(&m->contents, id, v | C_DIS))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
	}
	/* pdq: one bulk add */
	if (!room_for(r, npdq, 40))
		return corrupt(r, "pdq count exceeds the file");
	veto_index_entry *ent = (veto_index_entry *)malloc((npdq ? npdq : 1) * sizeof *ent);
	if (!ent)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
	for (uint64_t i = 0; i < npdq; i++) {
		const uint8_t *p = r->p + r->at;
		const int64_t id = (int64_t)get64(p);
		r->at += 40;
		/* the flush tag marks "pdq seen" while loading (cleared below) */
		kv *slot = imap_find(&m->contents, id);
		if (!slot || !(C_MASK(slot->v) & BIT(VSIG_PDQ)) || C_TAG(slot->v)) {
			free(ent);
			return corrupt(r, "bad pdq record");
		}
		slot->v |= 1ull << 24;
		const uint64_t v = slot->v;
		memset(&ent[i], 0, sizeof ent[i]);
		memcpy(ent[i].hash.bytes, p + 8, 32);
		ent[i].id = (uint64_t)id;
		ent[i].quality = 100;
		ent[i].bank = C_SLOT(v);
	}
	rc = npdq ? veto_index_add(m->pdq, ent, npdq, err) : VETO_OK;
	free(ent);
	if (rc)
		return rc;
	m->nsig[VSIG_PDQ] = npdq;
	/* videos */
	if (!room_for(r, nvid, 9))
		return corrupt(r, "video count exceeds the file");
	for (uint64_t i = 0; i < nvid; i++) {
		if (!room_for(r, 1, 9))
			return corrupt(r, "truncated video record");
		const int64_t id = (int64_t)get64(r->p + r->at);
		const uint8_t mask = r->p[r->at + 8];
		r->at += 9;
		uint64_t v;
		if (!imap_get(&m->contents, id, &v) || C_VX(v) || !mask ||
		    (C_MASK(v) & VIDEO_BITS) != mask)
			return corrupt(r, "bad video record");
		uint32_t vx;
		if (vext_new(m, id, &vx))
			return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
		vext *e = &m->vx[vx];
		const uint16_t slot = C_SLOT(v);
		/* from here on the record owns what it holds: vm_free cleans up */
		imap_put(&m->contents, id, v | (uint64_t)(vx + 1) << 32);
		if (mask & BIT(VSIG_VIDEO_MD5)) {
			if (!room_for(r, 1, 16))
				return corrupt(r, "truncated md5");
			memcpy(e->md5, r->p + r->at, 16);
			r->at += 16;
			if (md5_add(&m->md5, e->md5, id))
				return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
			m->nsig[VSIG_VIDEO_MD5]++;
		}
		if (mask & BIT(VSIG_VPDQ)) {
			if (!room_for(r, 1, 4))
				return corrupt(r, "truncated vPDQ frames");
			const uint32_t nf = get32(r->p + r->at);
			r->at += 4;
			if (!nf || !room_for(r, nf, 32))
				return corrupt(r, "bad vPDQ frame count");
			e->frames = (veto_pdq_hash *)malloc((size_t)nf * sizeof *e->frames);
			if (!e->frames)
				return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
			memcpy(e->frames, r->p + r->at, (size_t)nf * 32);
			e->nframes = nf;
			r->at += (size_t)nf * 32;
			m->frames_bytes += (uint64_t)nf * 32;
			for (uint32_t k = 0; k < nf; k++)
				if (pend_add(&m->pend[1], &e->frames[k], id, slot))
					return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s",
					                 r->path);
			m->nsig[VSIG_VPDQ]++;
		}
		if (mask & BIT(VSIG_TMK)) {
			if (!room_for(r, 1, 4))
				return corrupt(r, "truncated TMK signature");
			const uint32_t tn = get32(r->p + r->at);
			r->at += 4;
			if (!room_for(r, tn, 1))
				return corrupt(r, "bad TMK signature size");
			veto_error e2;
			veto_tmk *t;
			if (veto_tmk_from_bytes(r->p + r->at, tn, r->path, &t, &e2) != VETO_OK)
				return corrupt(r, "bad TMK signature");
			r->at += tn;
			if (grow((void **)&m->tmk, &m->captmk, m->ntmk + 1, sizeof *m->tmk)) {
				veto_tmk_free(t);
				return veto_fail(err, VETO_ERR_NOMEM, "out of memory loading %s", r->path);
			}
			tmkent *te = &m->tmk[m->ntmk];
			te->id = id;
			te->vx = vx;
			te->slot = slot;
			te->tmk = t;
			te->dim = veto_tmk_feature_dimension(t);
			te->mean = veto_tmk_mean_feature(t);
			double s = 0;
			for (int k = 0; k < te->dim; k++)
				s += (double)te->mean[k] * (double)te->mean[k];
			te->norm = sqrt(s);
			e->tmk = t;
			e->tmk_pos = (uint32_t)m->ntmk++;
			m->nsig[VSIG_TMK]++;
		}
	}
	if (r->at != r->end)
		return corrupt(r, "trailing bytes after the last record");
	/* clear the loading marks; every video content must have its record
	 * (counts agree and none is doubled, so this is a last guard) */
	for (size_t i = 0; i < m->contents.cap; i++) {
		kv *e = &m->contents.t[i];
		if (!e->k)
			continue;
		if ((C_MASK(e->v) & VIDEO_BITS) && !C_VX(e->v))
			return corrupt(r, "a video content has no video record");
		e->v &= ~(0xffull << 24);
	}
	m->nsig[VSIG_PDQ] = npdq;
	return m->pend[1].nadd ? flush(m, err) : VETO_OK;
}

int vm_load(vm_matcher **out, const char *path, veto_error *err)
{
	if (!out || !path)
		return veto_fail(err, VETO_ERR_INVALID, "vm_load: bad arguments");
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		const int e = errno;
		return veto_fail(err, e == ENOENT ? VS_ERR_NOTFOUND : VETO_ERR_IO,
		                 "%s: cannot open the matcher snapshot: %s", path, strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return veto_fail(err, VETO_ERR_IO, "%s: not a regular file", path);
	}
	const uint64_t size = (uint64_t)st.st_size;
	snapr r = {NULL, SNAP_HDR, 0, path, err};
	if (size < SNAP_HDR + 8) {
		close(fd);
		return corrupt(&r, "shorter than a header");
	}
	void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return veto_fail(err, VETO_ERR_IO, "%s: cannot map the snapshot: %s", path,
		                 strerror(errno));
	const uint8_t *p = (const uint8_t *)map;
	r.p = p;
	r.end = (size_t)size - 8;
	int rc;
	if (memcmp(p, SNAP_MAGIC, 8) != 0)
		rc = corrupt(&r, "wrong magic");
	else if (get32(p + 8) != SNAP_VERSION)
		rc = veto_fail(err, VETO_ERR_CORRUPT, "%s: matcher snapshot version %u, this "
		               "program reads version %u", path, get32(p + 8), SNAP_VERSION);
	else if (get32(p + 12) != SNAP_HDR || get32(p + 92) != 0)
		rc = corrupt(&r, "bad header size");
	else if (get64(p + 32) != size)
		rc = corrupt(&r, "file size differs from the header's (truncated?)");
	else if (get32(p + 88) != VETO_VPDQ_QUALITY)
		rc = corrupt(&r, "made with another vPDQ quality floor");
	else {
		uint8_t tail[SNAP_HDR + 8];
		memcpy(tail, p, SNAP_HDR);
		put64(tail + SNAP_HDR, XXH3_64bits(p + SNAP_HDR, r.end - SNAP_HDR));
		rc = XXH3_64bits(tail, sizeof tail) != get64(p + r.end) ?
		     corrupt(&r, "checksum mismatch") : VETO_OK;
	}
	vm_matcher *m = NULL;
	if (rc == VETO_OK)
		rc = vm_new(&m, err);
	if (rc == VETO_OK) {
		m->seq = (int64_t)get64(p + 16);
		m->seq_ts = (int64_t)get64(p + 24);
		m->bad_signals = get64(p + 80);
		rc = load_body(m, &r, p);
	}
	munmap(map, (size_t)size);
	if (rc) {
		vm_free(m);
		return rc;
	}
	maybe_merge(m);
	*out = m;
	return VETO_OK;
}
