/*
 * matcher.h - the in-memory match state of one veto serve process.
 *
 * It is a pure function of the store's change sequence: vm_apply takes
 * changes in seq order (vs_changes_since gives each entity's current
 * state, so applying is idempotent) and keeps
 *   - banks: id -> name, enabled_ratio;
 *   - pdq: a veto_index (id = content id, bank = bank id) searched within
 *     distance 31;
 *   - video_md5: a hash table md5 -> content ids;
 *   - vpdq: every banked video's frames in a veto_index (id = content id)
 *     to find candidates, then the vPDQ rule per candidate;
 *   - tmk: every banked signature, compared level 1 then level 2;
 *   - for each content id with a non-default disable_until_ts, that value
 *     (so /m/lookup can skip disabled content without touching the store).
 * Content that is deleted or withdrawn leaves every index; active content
 * is (re)indexed from its current signals.
 *
 * Thread-safety: any number of vm_query/vm_* readers run concurrently
 * with one vm_apply (a reader-writer lock; the indexes have their own).
 *
 * Snapshots: vm_save writes the state and the seq it reflects to one file
 * crash-safely (temporary file, fsync, rename, fsync dir; mode 0600: bank
 * contents are secrets), with a checksum over everything; vm_load refuses a
 * damaged, truncated or foreign file with a message naming it. A restarted
 * server loads its snapshot and follows changes from vm_seq(), not from 0.
 */
#ifndef VETO_SERVER_MATCHER_H
#define VETO_SERVER_MATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "veto.h"
#include "signals.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vm_matcher vm_matcher;

int vm_new(vm_matcher **out, veto_error *err);
void vm_free(vm_matcher *m);

/** Apply changes (ascending seq). Changes with seq <= vm_seq(m) are
 * skipped. A signal string that fails to parse is skipped (and counted in
 * vm_stats' bad_signals) rather than stopping the follower. */
int vm_apply(vm_matcher *m, const vs_change *ch, size_t n, veto_error *err);
int64_t vm_seq(vm_matcher *m);          /* last applied seq, 0 at start */

/** Fold every index's pending delta and tombstones into its base now, on
 * the calling thread (searches go on meanwhile). serve.c calls it after the
 * initial catch-up, so the first lookups run at full speed. */
int vm_merge(vm_matcher *m, veto_error *err);
int64_t vm_seq_ts(vm_matcher *m);       /* that change's ts (0 if none) */

typedef struct vm_bank_info {
	int64_t id;
	char name[129];
	double ratio;
} vm_bank_info;
/** 0, or VS_ERR_NOTFOUND if no such live bank. */
int vm_bank(vm_matcher *m, int64_t id, vm_bank_info *out);
int vm_bank_by_name(vm_matcher *m, const char *name, vm_bank_info *out);

typedef struct vm_hit {
	int64_t content_id;
	int64_t bank_id;
	int enabled;            /* disable_until_ts says enabled at `now` */
	vsig_score score;
} vm_hit;

/** Every indexed content whose signal of q->type matches q by the type's
 * rule, nearest first (pdq: distance then id; vpdq: query percent desc;
 * tmk: level 2 desc; md5: id). banks/nbanks: only these bank ids (NULL:
 * all). now: unix seconds for `enabled`. *out is malloc'd (free()). */
int vm_query(vm_matcher *m, const vsig_value *q, const int64_t *banks, size_t nbanks,
             int64_t now, vm_hit **out, size_t *n, veto_error *err);

typedef struct vm_stats {
	uint64_t signals[VSIG_COUNT];   /* indexed signals per type */
	uint64_t contents;              /* active content ids */
	uint64_t banks;
	uint64_t bad_signals;           /* skipped: did not parse */
	uint64_t bytes;                 /* memory held, roughly */
} vm_stats;
void vm_stats_get(vm_matcher *m, vm_stats *st);

int vm_save(vm_matcher *m, const char *path, veto_error *err);
/** VS_ERR_NOTFOUND if the file does not exist; VETO_ERR_CORRUPT (message
 * names the file and the check) if it is damaged or foreign. */
int vm_load(vm_matcher **out, const char *path, veto_error *err);

#ifdef __cplusplus
}
#endif
#endif
