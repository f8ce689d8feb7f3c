/*
 * cmd_match.c - `veto match --index BANK.vidx PATH...`: hash images and
 * report the bank's entries near each one; with --hashes, take the queries
 * from hash lists instead.
 *
 * Design: a thin shell over veto_index_search[_dihedral]. For images it
 * runs on pool.c, exactly like `veto hash` (same walking, same ordered
 * output, same one-line errors that let the batch go on); the search runs
 * on the worker right after the hash, so searches are parallel too, and
 * each pool slot keeps its veto_match_list from job to job. Hash lists are
 * streamed through hashlist.c one line at a time (a pipe from
 * `veto hash --json` is matched as it arrives), searched on this thread.
 *
 * Output is grep-like: text is one line per match, ID,DISTANCE,VARIANT,QUERY
 * (QUERY last because paths may hold commas, as in `veto hash`), and a
 * query without matches prints nothing; JSON is one object per query in
 * input order, matches or not. A query whose quality is below --min-quality
 * is not searched (the library would return nothing: the reference deems
 * such hashes unusable) and says so. Exit status as grep: 0 if any query
 * matched, 1 if none did, 2 if anything went wrong (a bank that won't load,
 * a file that can't be hashed, a bad query line), even if others matched.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_MIN_FILES 20
#define MAX_BANKS 65536

enum {
	OPT_INDEX = OPT_FIRST_FREE, OPT_RADIUS, OPT_DIHEDRAL, OPT_MIN_QUALITY, OPT_BANK,
	OPT_LIMIT, OPT_JSON, OPT_HASHES, OPT_FORMAT, OPT_NO_PROGRESS, OPT_MATCH_PERCENT
};

void cmd_match_help(FILE *f)
{
	fprintf(f,
	        "Usage: veto match --index BANK.vidx [OPTIONS] PATH...\n"
	        "       veto match --index BANK.vidx --hashes [OPTIONS] LIST...\n"
	        "\n"
	        "Find the entries of a bank (made by 'veto index build') within a Hamming\n"
	        "distance of each query: each image PATH (hashed as 'veto hash' does: files,\n"
	        "directories, '-' for paths on standard input), or with --hashes each hash\n"
	        "in the hash LISTs ('-' is standard input; the formats of 'veto index').\n"
	        "\n"
	        "Text output: one line per match, nearest first, queries in input order:\n"
	        "  ID,DISTANCE,VARIANT,QUERY\n"
	        "ID is the entry's id, DISTANCE 0..256, VARIANT the rotation or flip of the\n"
	        "query that matched ('original' unless --dihedral), QUERY the image's path,\n"
	        "or for a hash list the line's PATH if it has one, else LIST:LINE (LINE\n"
	        "counts from 1). A query without matches prints nothing.\n"
	        "\n"
	        "JSON output (--json): one object per query, matched or not, in input order:\n"
	        "  images: {\"path\",\"pdq\",\"quality\",\"matches\"}\n"
	        "  lists:  {\"list\",\"line\",[\"path\"],\"pdq\",[\"quality\"],\"matches\"}\n"
	        "\"matches\" is a list of {\"id\",\"distance\",\"variant\",\"quality\",\"bank\"}\n"
	        "(bank null when the entry has none). A query with quality below\n"
	        "--min-quality is not searched: it has \"skipped\":\"quality Q below N\" (in\n"
	        "text mode a line on stderr says so, unless -q). Hashes from a list that\n"
	        "gives no quality count as quality 100.\n"
	        "\n"
	        "Options:\n"
	        "      --index FILE     the bank to search (required)\n"
	        "      --radius R       match at distance <= R, 0..256 (default %d)\n"
	        "      --dihedral       also match rotated and flipped copies: search the 8\n"
	        "                       dihedral variants of each image (not with --hashes)\n"
	        "      --min-quality Q  ignore entries, and queries, with quality below Q,\n"
	        "                       0..100 (default %d)\n"
	        "      --bank N         only entries of bank N (0..65534, or 'none' for\n"
	        "                       entries without a bank); repeat, or N,M,...\n"
	        "      --limit K        at most K matches per query, the nearest (default all)\n"
	        "      --hashes         the arguments are hash lists, not images\n"
	        "      --format F       how to read the hash lists: auto, ids, pdq-csv, json\n"
	        "                       (default auto; see 'veto help index')\n"
	        "      --json           print JSON objects instead of text\n"
	        "  -j, --jobs N         hash N images at a time (default: the number of CPUs)\n"
	        "      --pdq-cli512, --fast, --auto-orient, --max-pixels N, --max-bytes N\n"
	        "                       how images are hashed, as in 'veto hash'\n"
	        "      --no-progress    no progress bar\n"
	        "\n"
	        "Videos: a PATH whose content is a video is hashed with vPDQ (--every S,\n"
	        "default 1 s; --vpdq-size N; --max-frames N; --max-seconds S), and a vPDQ\n"
	        "text file (what 'veto hash --format vpdq' writes) is read; either is matched\n"
	        "against the banked videos ('veto index build --videos'): one line per\n"
	        "banked video whose query percentage is at least --match-percent P\n"
	        "(default 80), best first:\n"
	        "  ID,QUERY_PERCENT,TARGET_PERCENT,QUERY\n"
	        "with the percentages of 'veto compare' (frames de-duplicated, those below\n"
	        "--min-quality dropped, a frame matching within --radius). JSON: {\"path\",\n"
	        "\"kind\":\"video\",\"frames\",\"vpdq_frames\",\"query_frames\",\"partial\",\n"
	        "\"matches\":[{\"id\",\"query_percent\",\"target_percent\",\"query_matched\",\n"
	        "\"target_matched\",\"target_frames\"}]}.\n"
	        "  -q, --quiet          no progress bar, warnings or quality notes\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "An image that cannot be hashed, or a bad line in a hash list, is reported\n"
	        "on stderr as 'veto: PATH: reason' (or LIST:LINE) and the others go on.\n"
	        "\n"
	        "Exit status (as grep): 0 if any query matched, 1 if none did, 2 if there\n"
	        "was any error (usage, a bank that cannot be loaded, an image that cannot\n"
	        "be hashed, a bad hash line), even if some queries matched.\n",
	        VETO_PDQ_MATCH_THRESHOLD, VETO_DEFAULT_MIN_QUALITY);
}

/* ------------------------------------------------------------- state --- */

typedef struct matcher {
	veto_index *idx;
	veto_search_options so;
	int dihedral, json, quiet, format;
	progress bar;
	int stdout_tty;
	size_t failures;      /* unhashable files, bad lines, search errors */
	size_t skipped;       /* non-images found in directories */
	size_t matched;       /* queries with at least one match */
	/* videos */
	double match_percent;
	pthread_mutex_t counts_mu;
	int counts_state;     /* 0 not built, 1 built, -1 failed */
	video_counts counts;
} matcher;

/* A pool slot's search result (pool_result.extra). */
typedef struct search_slot {
	int rc;
	veto_error err;
	int low_quality;      /* below min_quality: not searched */
	veto_match_list m;
	video_result vr;      /* video queries */
} search_slot;

/* One query, as the printers see it. */
typedef struct query {
	const char *label;         /* the QUERY text column */
	const char *path;          /* JSON "path", or NULL */
	const char *list;          /* hash lists: the list's name, else NULL */
	uint64_t line;
	const veto_pdq_hash *hash;
	int quality;               /* -1: not known */
	int low_quality;
	const veto_match_list *m;
} query;

/* ------------------------------------------------------------ output --- */

/* Ids above 2^63-1 (only other writers make them) can't be JSON integers
 * here; they are written as strings of digits rather than rounded. */
static json_t *json_id(uint64_t id)
{
	if (id <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)id);
	char buf[24];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)id);
	return json_string(buf);
}

static int set(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

static int print_json(matcher *mt, const query *q)
{
	char hex[VETO_PDQ_HEX_LEN + 1];
	json_t *o = json_object();
	if (!o)
		return -1;
	int bad = 0;
	if (q->list) {
		bad |= set(o, "list", out_json_string(q->list));
		bad |= set(o, "line", json_integer((json_int_t)q->line));
	}
	if (q->path)
		bad |= set(o, "path", out_json_string(q->path));
	veto_pdq_to_hex(q->hash, hex);
	bad |= set(o, "pdq", json_string(hex));
	if (q->quality >= 0)
		bad |= set(o, "quality", json_integer(q->quality));
	json_t *a = json_array();
	bad |= !a;
	for (size_t i = 0; a && i < q->m->n; i++) {
		const veto_match *m = &q->m->v[i];
		json_t *e = json_object();
		if (!e) {
			bad = 1;
			break;
		}
		bad |= set(e, "id", json_id(m->id));
		bad |= set(e, "distance", json_integer(m->distance));
		bad |= set(e, "variant", json_string(veto_dihedral_name(m->variant)));
		bad |= set(e, "quality", json_integer(m->quality));
		bad |= set(e, "bank", m->bank == VETO_BANK_NONE ? json_null() : json_integer(m->bank));
		bad |= json_array_append_new(a, e);
	}
	bad |= set(o, "matches", a);
	if (q->low_quality) {
		char why[64];
		snprintf(why, sizeof why, "quality %d below %d", q->quality, mt->so.min_quality);
		bad |= set(o, "skipped", json_string(why));
	}
	if (!bad)
		bad = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!bad)
		putchar('\n');
	json_decref(o);
	return bad ? -1 : 0;
}

/* Print one query's result and count it. Returns -1 only if the JSON
 * could not be built (out of memory). */
static int print_query(matcher *mt, const query *q)
{
	if (q->m->n)
		mt->matched++;
	if (mt->json)
		return print_json(mt, q);
	if (q->low_quality) {
		if (!mt->quiet)
			out_message(&mt->bar, "%s: quality %d below %d (--min-quality): not matched",
			            q->label, q->quality, mt->so.min_quality);
		return 0;
	}
	if (q->m->n && mt->stdout_tty)
		progress_clear(&mt->bar);
	for (size_t i = 0; i < q->m->n; i++) {
		const veto_match *m = &q->m->v[i];
		printf("%llu,%d,%s,%s\n", (unsigned long long)m->id, m->distance,
		       veto_dihedral_name(m->variant), q->label);
	}
	return 0;
}

/* One video query: text lines ID,QUERY_PERCENT,TARGET_PERCENT,QUERY for
 * each banked video at or over --match-percent, or one JSON object. */
static int print_video(matcher *mt, const char *path, const veto_vpdq *v, const video_result *vr)
{
	if (vr->nhits)
		mt->matched++;
	if (v->info.damaged) {
		out_message(&mt->bar, "%s: partial result: %s", path, v->info.partial_reason);
		mt->failures++;
	} else if (v->info.partial && !mt->quiet) {
		out_message(&mt->bar, "warning: %s: partial result: %s", path, v->info.partial_reason);
	}
	if (!mt->json) {
		if (vr->nhits && mt->stdout_tty)
			progress_clear(&mt->bar);
		for (size_t i = 0; i < vr->nhits; i++)
			printf("%llu,%.2f,%.2f,%s\n", (unsigned long long)vr->hits[i].id,
			       vr->hits[i].query_percent, vr->hits[i].target_percent, path);
		return 0;
	}
	json_t *o = json_object();
	if (!o)
		return -1;
	int bad = set(o, "path", out_json_string(path));
	bad |= set(o, "kind", json_string("video"));
	bad |= set(o, "frames", json_integer(v->info.frames_decoded));
	bad |= set(o, "vpdq_frames", json_integer((json_int_t)v->count));
	bad |= set(o, "query_frames", json_integer((json_int_t)vr->query_frames));
	bad |= set(o, "partial", json_boolean(v->info.partial));
	json_t *a = json_array();
	bad |= !a;
	for (size_t i = 0; a && i < vr->nhits; i++) {
		const video_hit *h = &vr->hits[i];
		json_t *e = json_object();
		if (!e) {
			bad = 1;
			break;
		}
		bad |= set(e, "id", json_id(h->id));
		bad |= set(e, "query_percent", json_real(h->query_percent));
		bad |= set(e, "target_percent", json_real(h->target_percent));
		bad |= set(e, "query_matched", json_integer((json_int_t)h->query_matched));
		bad |= set(e, "target_matched", json_integer((json_int_t)h->target_matched));
		bad |= set(e, "target_frames", json_integer((json_int_t)h->target_frames));
		bad |= json_array_append_new(a, e);
	}
	bad |= set(o, "matches", a);
	if (!bad)
		bad = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!bad)
		putchar('\n');
	json_decref(o);
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------ images --- */

static void search_work(void *ctx, const job *j, pool_result *r)
{
	(void)j;
	matcher *mt = ctx;
	search_slot *s = r->extra;
	s->rc = VETO_OK;
	s->low_quality = 0;
	s->m.n = 0;
	if (r->rc != VETO_OK)
		return;
	memset(&s->err, 0, sizeof s->err);
	if (r->kind == KIND_VIDEO) {
		pthread_mutex_lock(&mt->counts_mu);
		if (mt->counts_state == 0)
			mt->counts_state = video_counts_build(mt->idx, &mt->so, &mt->counts) == 0 ? 1 : -1;
		int ok = mt->counts_state == 1;
		pthread_mutex_unlock(&mt->counts_mu);
		if (!ok) {
			s->rc = VETO_ERR_NOMEM;
			snprintf(s->err.message, sizeof s->err.message, "out of memory counting the bank's videos");
			return;
		}
		s->rc = video_match(mt->idx, &mt->so, &mt->counts, r->video.vpdq, mt->match_percent,
		                    &s->vr, &s->err);
		return;
	}
	/* Quality as the reference's dihedral function reports it when the
	 * variants are searched (they differ only for 64x64 images). */
	int quality = mt->dihedral ? r->h.dihedral_quality : r->h.quality;
	if (quality < mt->so.min_quality) {
		s->low_quality = 1;
		return;
	}
	if (mt->dihedral)
		s->rc = veto_index_search_dihedral(mt->idx, r->h.dihedral, quality, &mt->so, &s->m,
		                                   &s->err);
	else
		s->rc = veto_index_search(mt->idx, &r->h.pdq, quality, &mt->so, &s->m, &s->err);
}

static void search_emit(void *ctx, const job *j, pool_result *r)
{
	matcher *mt = ctx;
	if (!pool_report(&mt->bar, mt->quiet, j, r, &mt->failures, &mt->skipped))
		return;
	search_slot *s = r->extra;
	if (s->rc != VETO_OK) {
		out_message(&mt->bar, "%s: %s", j->path,
		            s->err.message[0] ? s->err.message : veto_status_name(s->rc));
		mt->failures++;
		return;
	}
	if (r->kind == KIND_VIDEO) {
		if (print_video(mt, j->path, r->video.vpdq, &s->vr) != 0) {
			out_message(&mt->bar, "%s: out of memory formatting the JSON", j->path);
			mt->failures++;
		}
		return;
	}
	query q = {j->path, j->path, NULL, 0, &r->h.pdq,
	           mt->dihedral ? r->h.dihedral_quality : r->h.quality, s->low_quality, &s->m};
	if (print_query(mt, &q) != 0) {
		out_message(&mt->bar, "%s: out of memory formatting the JSON", j->path);
		mt->failures++;
	}
}

static void search_slot_free(void *extra)
{
	search_slot *s = extra;
	veto_match_list_free(&s->m);
	video_result_free(&s->vr);
}

static int match_images(matcher *mt, const char **paths, size_t npaths,
                        const veto_hash_options *opts0, size_t nworkers, int no_progress,
                        const cli_video_flags *vflags, const veto_video_options *vopts0)
{
	veto_video_options vopts = *vopts0;
	const char *cmd = "match";
	veto_hash_options opts = *opts0;
	opts.dihedral = mt->dihedral;
	opts.digests = 0;
	job_list jobs = {0};
	int rc = cli_walk_args(cmd, paths, npaths, &jobs);
	if (rc != 0) {
		job_list_free(&jobs);
		return -1;
	}
	if (jobs.n == 0 && !mt->quiet)
		out_message(NULL, "warning: no files to match");
	if (jobs.n) {
		cli_fit_workers(&jobs, &nworkers, &opts);
		mt->stdout_tty = isatty(STDOUT_FILENO);
		progress_init(&mt->bar, !no_progress && !mt->quiet && isatty(STDERR_FILENO) &&
		                        jobs.n > PROGRESS_MIN_FILES, jobs.n);
		vopts.threads = (int)((cli_default_jobs() + nworkers - 1) / nworkers);
		pool_spec spec = {.jobs = &jobs, .opts = &opts, .nworkers = nworkers,
		                  .vflags = vflags, .vopts = &vopts, .vpdq_text = 1,
		                  .bar = &mt->bar, .ctx = mt, .extra_size = sizeof(search_slot),
		                  .work = search_work, .emit = search_emit,
		                  .extra_free = search_slot_free};
		rc = pool_run(&spec);
		pool_report_skipped(mt->skipped, mt->quiet);
	}
	job_list_free(&jobs);
	return rc;
}

/* ------------------------------------------------------------- lists --- */

/* Match every hash of one list. Returns -1 if stdout failed. */
static int match_list(matcher *mt, const char *name, veto_match_list *m)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
	if (!f) {
		out_message(NULL, "%s: cannot open: %s", name, strerror(errno));
		mt->failures++;
		return 0;
	}
	hashlist_reader r;
	hashlist_open(&r, f, name, mt->format);
	hashlist_item it;
	char msg[1024], label[64];
	int rc, status = 0;
	char *owned_label = NULL;
	while ((rc = hashlist_next(&r, &it, msg, sizeof msg)) != HASHLIST_END) {
		if (rc == HASHLIST_ERROR || rc == HASHLIST_BAD) {
			out_message(NULL, "%s", msg);
			mt->failures++;
			if (rc == HASHLIST_ERROR)
				break;
			continue;
		}
		/* Hashes of unknown quality are searched as 100 (see veto.h). */
		int quality = it.quality >= 0 ? it.quality : 100;
		query q = {it.path, it.path, name, r.line, &it.hash, it.quality,
		           quality < mt->so.min_quality, m};
		if (!q.label) {
			size_t n = strlen(name) + 24;
			char *l = label;
			if (n > sizeof label) {
				free(owned_label);
				if (!(l = owned_label = malloc(n))) {
					out_message(NULL, "out of memory");
					status = -1;
					break;
				}
			}
			snprintf(l, n, "%s:%llu", name, (unsigned long long)r.line);
			q.label = l;
		}
		m->n = 0;
		veto_error err = {0, ""};
		if (!q.low_quality &&
		    veto_index_search(mt->idx, &it.hash, quality, &mt->so, m, &err) != VETO_OK) {
			out_message(NULL, "%s: %s", q.label, err.message);
			mt->failures++;
			continue;
		}
		if (print_query(mt, &q) != 0) {
			out_message(NULL, "%s: out of memory formatting the JSON", q.label);
			mt->failures++;
		}
		if (ferror(stdout)) {
			out_message(NULL, "error writing the output: %s", strerror(errno));
			status = -1;
			break;
		}
	}
	free(owned_label);
	hashlist_close(&r);
	if (f != stdin)
		fclose(f);
	return status;
}

static int match_lists(matcher *mt, const char **names, size_t n)
{
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], "-") && seen++) {
			cli_usage("match", "'-' (standard input) can be given only once");
			return -1;
		}
	veto_match_list m = {0};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = match_list(mt, names[i], &m);
	veto_match_list_free(&m);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		out_message(NULL, "error writing the output: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}

/* ----------------------------------------------------------- command --- */

/* --bank N[,M...] (or 'none'), appended to banks[]. */
static int parse_banks(const char *arg, uint16_t **banks, size_t *n)
{
	const char *p = arg;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char buf[16];
		if (len == 0 || len >= sizeof buf)
			return -1;
		memcpy(buf, p, len);
		buf[len] = '\0';
		uint64_t v;
		if (!strcmp(buf, "none"))
			v = VETO_BANK_NONE;
		else if (cli_parse_u64(buf, SUFFIX_NONE, &v) != 0 || v >= VETO_BANK_NONE)
			return -1;
		if (*n >= MAX_BANKS)
			return -1;
		uint16_t *b = realloc(*banks, (*n + 1) * sizeof *b);
		if (!b)
			return -1;
		*banks = b;
		b[(*n)++] = (uint16_t)v;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int cmd_match(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"index", required_argument, NULL, OPT_INDEX},
		{"radius", required_argument, NULL, OPT_RADIUS},
		{"dihedral", no_argument, NULL, OPT_DIHEDRAL},
		{"min-quality", required_argument, NULL, OPT_MIN_QUALITY},
		{"bank", required_argument, NULL, OPT_BANK},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"json", no_argument, NULL, OPT_JSON},
		{"hashes", no_argument, NULL, OPT_HASHES},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"jobs", required_argument, NULL, 'j'},
		{"pdq-cli512", no_argument, NULL, OPT_PDQ_CLI512},
		{"fast", no_argument, NULL, OPT_FAST},
		{"auto-orient", no_argument, NULL, OPT_AUTO_ORIENT},
		{"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
		{"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"match-percent", required_argument, NULL, OPT_MATCH_PERCENT},
		{"every", required_argument, NULL, OPT_EVERY},
		{"vpdq-size", required_argument, NULL, OPT_VPDQ_SIZE},
		{"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
		{"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "match";
	cli_hash_flags flags = {0};
	matcher mt;
	memset(&mt, 0, sizeof mt);
	veto_search_options_init(&mt.so);
	mt.format = HASHLIST_AUTO;
	mt.match_percent = VETO_VPDQ_MATCH_PERCENT;
	pthread_mutex_init(&mt.counts_mu, NULL);
	cli_video_flags vflags;
	cli_video_flags_init(&vflags);
	const char *index_path = NULL;
	int hashes = 0, format_given = 0, no_progress = 0;
	size_t nworkers = cli_default_jobs();
	uint16_t *banks = NULL;
	size_t nbanks = 0;

	const char **paths = calloc((size_t)argc, sizeof *paths);
	if (!paths) {
		out_message(NULL, "out of memory");
		return CLI_TROUBLE;
	}
	size_t npaths = 0;
	int status = CLI_USAGE;

	/* As in cmd_hash.c: operands in place, options anywhere. */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "-:j:qh", longopts, NULL)) != -1) {
		int r = cli_hash_flag(cmd, c, optarg, &flags);
		if (r == 0)
			r = cli_video_flag(cmd, c, optarg, &vflags);
		if (r < 0)
			goto done;
		if (r > 0)
			continue;
		uint64_t v;
		switch (c) {
		case 1: paths[npaths++] = optarg; break;
		case OPT_INDEX: index_path = optarg; break;
		case OPT_RADIUS:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v > 256) {
				cli_usage(cmd, "--radius: '%s' is not a number from 0 to 256", optarg);
				goto done;
			}
			mt.so.radius = (int)v;
			break;
		case OPT_DIHEDRAL: mt.dihedral = 1; break;
		case OPT_MIN_QUALITY:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v > 100) {
				cli_usage(cmd, "--min-quality: '%s' is not a number from 0 to 100", optarg);
				goto done;
			}
			mt.so.min_quality = (int)v;
			break;
		case OPT_BANK:
			if (parse_banks(optarg, &banks, &nbanks) != 0) {
				cli_usage(cmd, "--bank: '%s' is not a list of bank numbers (0 to %d, "
				          "or 'none')", optarg, VETO_BANK_NONE - 1);
				goto done;
			}
			break;
		case OPT_LIMIT:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v == 0 || v > SIZE_MAX) {
				cli_usage(cmd, "--limit: '%s' is not a positive number", optarg);
				goto done;
			}
			mt.so.limit = (size_t)v;
			break;
		case OPT_JSON: mt.json = 1; break;
		case OPT_HASHES: hashes = 1; break;
		case OPT_FORMAT:
			if ((mt.format = hashlist_format_parse(optarg)) < 0) {
				cli_usage(cmd, "--format: '%s' is not auto, ids, pdq-csv or json", optarg);
				goto done;
			}
			format_given = 1;
			break;
		case 'j':
			if (cli_parse_jobs(cmd, optarg, &nworkers) != 0)
				goto done;
			break;
		case OPT_NO_PROGRESS: no_progress = 1; break;
		case OPT_MATCH_PERCENT: {
			char *end;
			errno = 0;
			mt.match_percent = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !(mt.match_percent >= 0 && mt.match_percent <= 100)) {
				cli_usage(cmd, "--match-percent: '%s' is not a number from 0 to 100", optarg);
				goto done;
			}
			break;
		}
		case 'q': mt.quiet = 1; break;
		case 'h':
			cmd_match_help(stdout);
			status = CLI_OK;
			goto done;
		default:
			cli_getopt_error(cmd, c, argv);
			goto done;
		}
	}
	while (optind < argc) /* after "--" */
		paths[npaths++] = argv[optind++];
	if (!index_path) {
		cli_usage(cmd, "no bank given: --index BANK.vidx");
		goto done;
	}
	if (npaths == 0) {
		cli_usage(cmd, hashes ? "no hash LIST given (use '-' for standard input)"
		                      : "no PATH given (use '-' to read paths from standard input)");
		goto done;
	}
	if (hashes && mt.dihedral) {
		cli_usage(cmd, "--dihedral needs images, not --hashes (the variants are "
		          "computed from the pixels)");
		goto done;
	}
	if (!hashes && format_given) {
		cli_usage(cmd, "--format is for --hashes lists");
		goto done;
	}
	veto_hash_options opts;
	if (cli_hash_options(cmd, &flags, &opts) != 0)
		goto done;
	mt.so.banks = banks;
	mt.so.nbanks = nbanks;

	status = CLI_TROUBLE;
	veto_error err = {0, ""};
	if (veto_index_load(&mt.idx, index_path, &err) != VETO_OK) {
		out_message(NULL, "%s", err.message[0] ? err.message : index_path);
		goto done;
	}
	vflags.tmk = 0; /* a bank holds vPDQ frames; TMK is for 'veto compare' */
	veto_video_options vopts;
	cli_video_options(&vflags, &flags, &vopts);
	vopts.digests = 0;
	int rc = hashes ? match_lists(&mt, paths, npaths)
	                : match_images(&mt, paths, npaths, &opts, nworkers, no_progress,
	                               &vflags, &vopts);
	if (rc == 0 && !mt.failures)
		status = mt.matched ? CLI_OK : CLI_FAIL;
done:
	video_counts_free(&mt.counts);
	pthread_mutex_destroy(&mt.counts_mu);
	veto_index_free(mt.idx);
	free(banks);
	free(paths);
	return status;
}
