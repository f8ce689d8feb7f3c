/*
 * cmd_compare_video.c - `veto compare A B` when A and B are videos: vPDQ
 * percentages and TMK+PDQF scores, each with the reference's verdict.
 *
 * An operand is a video file (hashed here: vPDQ and, unless --no-tmk,
 * TMK+PDQF), a vPDQ text file (vpdq-hash-video's output: vPDQ only) or a
 * .tmk file (TMK only). Each signal both sides have is compared:
 *  - vPDQ, python-threatexchange's rule (the one HMA runs): both sides
 *    de-duplicated, frames below --min-quality dropped, a frame matches when
 *    a frame of the other side is within --threshold (<=); A is the query,
 *    and it matches when at least --match-percent of its frames match.
 *    (The C++ match-hashes-brute tool differs: strict <, no de-duplication;
 *    see docs/video.md.)
 *  - TMK: level-1 (cosine of the mean PDQF features) and level-2 (the
 *    temporal kernel score), both >= 0.7 to match, as tmk-two-level-score.
 * The overall verdict is a match if any signal matched; the output always
 * says which signals did and which did not, so a defeat (e.g. a large logo
 * over the frames) is visible rather than hidden.
 */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

typedef struct vop {
	const char *path;
	int kind;               /* KIND_VIDEO, KIND_VPDQ or KIND_TMK */
	cli_video v;            /* vpdq and/or tmk; owned */
} vop;

static int load_op(vop *op, const char *path, int kind, const cli_video_flags *f,
                   const veto_video_options *o)
{
	veto_error err;
	memset(&err, 0, sizeof err);
	memset(op, 0, sizeof *op);
	op->path = path;
	op->kind = kind;
	int rc;
	if (kind == KIND_VIDEO)
		rc = cli_video_hash(path, f, o, &op->v, &err);
	else if (kind == KIND_VPDQ)
		rc = cli_vpdq_read_text(path, &op->v.vpdq, &err);
	else
		rc = veto_tmk_load(path, &op->v.tmk, &err);
	if (rc) {
		out_message(NULL, "%s", err.message[0] ? err.message : path);
		return -1;
	}
	if (op->v.vpdq && op->v.vpdq->info.partial)
		out_message(NULL, "warning: %s: partial result: %s", path,
		            op->v.vpdq->info.partial_reason);
	return 0;
}

static json_t *op_json(const vop *op)
{
	json_t *o = json_object();
	json_object_set_new(o, "input", out_json_string(op->path));
	json_object_set_new(o, "kind", json_string(cli_kind_name(op->kind)));
	if (op->v.vpdq) {
		json_object_set_new(o, "vpdq_frames", json_integer((json_int_t)op->v.vpdq->count));
		if (op->kind == KIND_VIDEO) {
			json_object_set_new(o, "frames", json_integer(op->v.vpdq->info.frames_decoded));
			json_object_set_new(o, "partial", json_boolean(op->v.vpdq->info.partial));
		}
	}
	return o;
}

int compare_videos(const char *cmd, const char *pa, int ka, const char *pb, int kb,
                   const cli_video_flags *f, const veto_video_options *o, int distance,
                   int min_quality, double match_percent, int json)
{
	(void)cmd;
	vop a, b;
	if (load_op(&a, pa, ka, f, o) != 0)
		return CLI_TROUBLE;
	if (load_op(&b, pb, kb, f, o) != 0) {
		cli_video_free(&a.v);
		return CLI_TROUBLE;
	}
	int status = CLI_TROUBLE;
	int have_vpdq = a.v.vpdq && b.v.vpdq, have_tmk = a.v.tmk && b.v.tmk;
	if (!have_vpdq && !have_tmk) {
		out_message(NULL, "%s and %s have no signal in common (one is only a .tmk "
		            "file, the other only vPDQ)", pa, pb);
		goto out;
	}
	veto_error err;
	memset(&err, 0, sizeof err);
	veto_vpdq_match m;
	memset(&m, 0, sizeof m);
	int vmatch = 0, tmatch = 0;
	double l1 = 0, l2 = 0;
	if (have_vpdq) {
		if (veto_vpdq_compare(a.v.vpdq->frames, a.v.vpdq->count, b.v.vpdq->frames,
		                      b.v.vpdq->count, min_quality, distance, &m, &err) != VETO_OK) {
			out_message(NULL, "%s", err.message);
			goto out;
		}
		vmatch = m.query_frames > 0 && m.query_percent >= match_percent;
	}
	if (have_tmk) {
		if (veto_tmk_compare(a.v.tmk, b.v.tmk, &l1, &l2, &err) != VETO_OK) {
			out_message(NULL, "%s", err.message);
			goto out;
		}
		tmatch = veto_tmk_is_match(l1, l2);
	}
	int match = vmatch || tmatch;
	if (json) {
		json_t *r = json_object();
		json_object_set_new(r, "a", op_json(&a));
		json_object_set_new(r, "b", op_json(&b));
		if (have_vpdq) {
			json_t *v = json_object();
			json_object_set_new(v, "query_percent", json_real(m.query_percent));
			json_object_set_new(v, "target_percent", json_real(m.target_percent));
			json_object_set_new(v, "query_frames", json_integer((json_int_t)m.query_frames));
			json_object_set_new(v, "target_frames", json_integer((json_int_t)m.target_frames));
			json_object_set_new(v, "distance", json_integer(distance));
			json_object_set_new(v, "min_quality", json_integer(min_quality));
			json_object_set_new(v, "match_percent", json_real(match_percent));
			json_object_set_new(v, "match", json_boolean(vmatch));
			json_object_set_new(r, "vpdq", v);
		}
		if (have_tmk) {
			json_t *t = json_object();
			json_object_set_new(t, "level1", json_real(l1));
			json_object_set_new(t, "level2", json_real(l2));
			json_object_set_new(t, "level1_threshold", json_real(VETO_TMK_LEVEL1_THRESHOLD));
			json_object_set_new(t, "level2_threshold", json_real(VETO_TMK_LEVEL2_THRESHOLD));
			json_object_set_new(t, "match", json_boolean(tmatch));
			json_object_set_new(r, "tmk", t);
		}
		json_object_set_new(r, "match", json_boolean(match));
		if (json_dumpf(r, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
			putchar('\n');
		json_decref(r);
	} else {
		printf("a: %s (%s)\n", pa, cli_kind_name(ka));
		printf("b: %s (%s)\n", pb, cli_kind_name(kb));
		if (have_vpdq) {
			printf("vpdq.query_percent: %.2f\n", m.query_percent);
			printf("vpdq.target_percent: %.2f\n", m.target_percent);
			printf("vpdq.frames: %zu %zu\n", m.query_frames, m.target_frames);
			printf("vpdq.match: %s\n", vmatch ? "yes" : "no");
		}
		if (have_tmk) {
			printf("tmk.level1: %.6f\n", l1);
			printf("tmk.level2: %.6f\n", l2);
			printf("tmk.match: %s\n", tmatch ? "yes" : "no");
		}
		printf("match: %s\n", match ? "yes" : "no");
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		out_message(NULL, "error writing the output: %s", strerror(errno));
		goto out;
	}
	status = match ? CLI_OK : CLI_FAIL;
out:
	cli_video_free(&a.v);
	cli_video_free(&b.v);
	return status;
}
