/*
 * cmd_index.c - `veto index build|add|delete|info`: make and maintain a
 * bank, the index file of PDQ hashes that `veto match` searches.
 *
 * Design: a thin shell over veto_index_*. Every change is load (mmap),
 * change in memory, veto_index_save (a temporary file, fsync, rename), so
 * a bank on disk is always either the old one or the new one. Inputs are
 * all read and checked before anything is written: one bad line in a hash
 * list and the command fails naming every bad FILE:LINE (up to a cap), and
 * no bank is written or changed. Hash lists are parsed by hashlist.c.
 *
 * Ids: a line may give its own; otherwise it gets its line number counting
 * from 0 (--id-base shifts it), the lists numbered as if concatenated, so
 * `veto index build -o B a b` and `cat a b | veto index build -o B -` agree
 * and a hash's id leads straight back to its line. `add` refuses lines
 * without an id unless --id-base is given: numbering would restart at 0 and
 * collide with the bank's ids, and a later delete of one id would then take
 * down unrelated entries.
 *
 * Exit statuses: 0 done; 1 an input list could not be read or has a bad
 * line; 2 usage errors and any trouble with the bank file itself (cannot
 * be loaded, damaged, cannot be written), which is what `veto match` also
 * returns for a bad bank.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_BAD_SHOWN 100   /* bad lines printed before just counting them */

enum { OPT_FORMAT = OPT_FIRST_FREE, OPT_BANK, OPT_QUALITY, OPT_ID_BASE, OPT_JSON, OPT_IDS,
       OPT_VIDEOS };

void cmd_index_help(FILE *f)
{
	fprintf(f,
	        "Usage: veto index build -o BANK.vidx [OPTIONS] [LIST...]\n"
	        "       veto index add [OPTIONS] BANK.vidx LIST...\n"
	        "       veto index delete [OPTIONS] BANK.vidx [ID...] [--ids FILE]\n"
	        "       veto index info [--json] BANK.vidx\n"
	        "\n"
	        "Make and maintain a bank: an index file of PDQ hashes for 'veto match'.\n"
	        "A bank is written crash-safely (temporary file, fsync, rename): it is\n"
	        "always the old one or the new one, never half written.\n"
	        "\n"
	        "  build   read the hash LISTs into a new bank BANK.vidx (replacing any\n"
	        "          file of that name); no LIST makes an empty bank\n"
	        "  add     add the hashes of the LISTs to the bank\n"
	        "  delete  remove every entry whose id is one of the IDs\n"
	        "  info    print what the bank holds: entries (live), base_entries,\n"
	        "          delta_entries, tombstones, slices, bytes (memory), mapped,\n"
	        "          file_bytes\n"
	        "A LIST (or FILE) of '-' is standard input.\n"
	        "\n"
	        "Videos: with --videos (build, add) the arguments are video files or vPDQ\n"
	        "text files instead of hash lists. Each video's vPDQ frames (sampled with\n"
	        "--every S, default 1 s; --vpdq-size N; --max-frames; --max-seconds),\n"
	        "de-duplicated, become entries that share the video's id: --id-base plus\n"
	        "the video's position among the arguments (add needs --id-base). 'ID,PATH'\n"
	        "is printed on stdout for each video. 'veto match' then reports, for a\n"
	        "video query, the vPDQ percentages against each banked video.\n"
	        "\n"
	        "Hash lists have one hash per line, in one of three shapes:\n"
	        "  HASH[,ID[,...]]     ids: e.g. ThreatExchange's haystack.txt; any fields\n"
	        "                      after ID are ignored\n"
	        "  HASH,QUALITY,PATH   pdq-csv: the output of 'veto hash' and pdq-photo-hasher\n"
	        "  {\"pdq\":HASH,...}    json: the output of 'veto hash --json'; \"quality\",\n"
	        "                      \"id\" and \"path\" are used when present\n"
	        "With --format auto (the default) each line is read as JSON if it starts\n"
	        "with '{'; else as pdq-csv if it has 3 or more comma-separated fields and\n"
	        "the third is not a whole number; else as ids. Use --format to force one.\n"
	        "HASH is 64 hex digits: 64-bit hashes (16 digits) are refused, they are not\n"
	        "PDQ. ID is a whole number from 0 to %llu; a line\n"
	        "without one gets its line number counting from 0, plus --id-base,\n"
	        "counting every line (comments and blank lines too) of the LISTs taken one\n"
	        "after another. QUALITY is 0..100; a line without one gets --quality.\n"
	        "Blank lines and lines starting with '#' are skipped; \\r\\n line ends are\n"
	        "accepted. Every bad line is reported as 'veto: LIST:LINE: problem' and\n"
	        "nothing is written.\n"
	        "\n"
	        "Options:\n"
	        "  -o, --output FILE  (build) the bank to write\n"
	        "      --format F     auto, ids, pdq-csv or json (default auto)\n"
	        "      --bank N       put the entries in bank N, 0..65534 (default: no bank)\n"
	        "      --quality N    the quality of hashes whose line gives none, 0..100\n"
	        "                     (default 100)\n"
	        "      --id-base N    the id of line 0 (default 0). add refuses lines without\n"
	        "                     an ID unless this is given, so that new ids don't\n"
	        "                     collide with the bank's\n"
	        "      --ids FILE     (delete) also delete the ids in FILE: one per line (the\n"
	        "                     first comma-separated field), '#' lines skipped\n"
	        "      --json         print the summary (or info) as one JSON object on stdout\n"
	        "  -q, --quiet        no summary on stderr\n"
	        "  -h, --help         show this help\n"
	        "\n"
	        "build, add and delete print a summary on stderr: entries, file bytes and\n"
	        "seconds. Entries with quality below %d are kept but match only when\n"
	        "'veto match --min-quality' is lowered; the summary counts them.\n"
	        "\n"
	        "Exit status: 0 done; 1 a LIST or FILE could not be read or has a bad line\n"
	        "(nothing written); 2 usage errors, or BANK.vidx cannot be loaded (missing,\n"
	        "damaged, truncated, not a bank) or written.\n",
	        (unsigned long long)HASHLIST_MAX_ID, VETO_DEFAULT_MIN_QUALITY);
}

/* ------------------------------------------------------- reading lists --- */

typedef struct list_opts {
	int format;
	uint16_t bank;
	int quality;
	uint64_t id_base;
	int id_base_given;
	int need_ids;        /* add: lines without an ID need --id-base */
	int videos;          /* --videos: the LISTs are videos / vPDQ files */
	const cli_video_flags *vflags;
	const veto_video_options *vopts;
} list_opts;

typedef struct entries {
	veto_index_entry *v;
	size_t n, cap;
	size_t low_quality;  /* below VETO_DEFAULT_MIN_QUALITY */
	size_t bad;          /* bad lines and unreadable lists */
} entries;

static void bad_line(entries *e, const char *fmt, ...) CLI_PRINTF(2, 3);
static void bad_line(entries *e, const char *fmt, ...)
{
	if (e->bad++ < MAX_BAD_SHOWN) {
		char msg[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		out_message(NULL, "%s", msg);
	}
}

static int push_entry(entries *e, const veto_index_entry *x)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 1024;
		veto_index_entry *v = realloc(e->v, cap * sizeof *v);
		if (!v)
			return -1;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = *x;
	return 0;
}

/* Open a list: '-' is stdin (the caller checked it appears once). */
static FILE *open_list(const char *name)
{
	return strcmp(name, "-") ? fopen(name, "r") : stdin;
}

static void close_list(FILE *f)
{
	if (f && f != stdin)
		fclose(f);
}

static int check_one_stdin(const char *cmd, char **names, size_t n)
{
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], "-") && seen++)
			return cli_usage(cmd, "'-' (standard input) can be given only once");
	return 0;
}

/* Read every list into *out. Returns 0, or -1 when out of memory (bad
 * lines are counted in out->bad, not returned). */
static int read_lists(char **names, size_t n, const list_opts *o, entries *out)
{
	uint64_t lines_before = 0;   /* lines of the lists already read */
	int noid_told = 0;
	char msg[1024];
	for (size_t i = 0; i < n; i++) {
		FILE *f = open_list(names[i]);
		if (!f) {
			bad_line(out, "%s: cannot open: %s", names[i], strerror(errno));
			continue;
		}
		hashlist_reader r;
		hashlist_open(&r, f, names[i], o->format);
		hashlist_item it;
		int rc;
		while ((rc = hashlist_next(&r, &it, msg, sizeof msg)) != HASHLIST_END) {
			if (rc == HASHLIST_ERROR) {
				bad_line(out, "%s", msg);
				break;
			}
			if (rc == HASHLIST_BAD) {
				bad_line(out, "%s", msg);
				continue;
			}
			veto_index_entry e;
			memset(&e, 0, sizeof e);
			e.hash = it.hash;
			e.bank = o->bank;
			e.quality = (uint8_t)(it.quality >= 0 ? it.quality : o->quality);
			if (it.has_id) {
				e.id = it.id;
			} else if (o->need_ids && !o->id_base_given) {
				if (noid_told++)
					out->bad++;
				else
					bad_line(out, "%s:%llu: no id: 'veto index add' needs HASH,ID lines "
					         "or --id-base N (line numbers would start again at 0 and "
					         "collide with the bank's ids)", names[i],
					         (unsigned long long)r.line);
				continue;
			} else {
				uint64_t k = lines_before + r.line - 1;
				if (k > HASHLIST_MAX_ID || o->id_base > HASHLIST_MAX_ID - k) {
					bad_line(out, "%s:%llu: the line's id, --id-base %llu + %llu, is over %llu",
					         names[i], (unsigned long long)r.line,
					         (unsigned long long)o->id_base, (unsigned long long)k,
					         (unsigned long long)HASHLIST_MAX_ID);
					continue;
				}
				e.id = o->id_base + k;
			}
			if (e.quality < VETO_DEFAULT_MIN_QUALITY)
				out->low_quality++;
			if (push_entry(out, &e) != 0) {
				hashlist_close(&r);
				close_list(f);
				return -1;
			}
		}
		lines_before += r.line;
		hashlist_close(&r);
		close_list(f);
	}
	if (out->bad > MAX_BAD_SHOWN)
		out_message(NULL, "... and %zu more bad lines", out->bad - MAX_BAD_SHOWN);
	return 0;
}

/* --videos: each argument is a video file or a vPDQ text file; its frames
 * (de-duplicated by exact hash, as the vPDQ match rule counts them) become
 * entries that all carry the video's id: --id-base plus its position among
 * the arguments. "ID,PATH" goes to stdout so the caller can keep the map. */
static int read_videos(char **names, size_t n, const list_opts *o, entries *out)
{
	if (o->need_ids && !o->id_base_given) {
		bad_line(out, "'veto index add --videos' needs --id-base N: each video's id is N "
		         "plus its position among the arguments");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		veto_error err;
		memset(&err, 0, sizeof err);
		int kind = KIND_UNKNOWN;
		if (cli_sniff_file(names[i], &kind, &err) != VETO_OK) {
			bad_line(out, "%s", err.message);
			continue;
		}
		veto_vpdq *v = NULL;
		int rc;
		if (kind == KIND_VIDEO) {
			cli_video cv;
			cli_video_flags f = *o->vflags;
			f.tmk = 0;
			f.tmk_dir = NULL;
			rc = cli_video_hash(names[i], &f, o->vopts, &cv, &err);
			if (!rc) {
				v = cv.vpdq;
				cv.vpdq = NULL;
				if (v->info.partial)
					out_message(NULL, "warning: %s: partial result: %s", names[i],
					            v->info.partial_reason);
			}
			cli_video_free(&cv);
		} else if (kind == KIND_VPDQ) {
			rc = cli_vpdq_read_text(names[i], &v, &err);
		} else {
			bad_line(out, "%s: not a video or a vPDQ text file (it is %s)", names[i],
			         kind == KIND_UNKNOWN ? "not a format veto reads" : cli_kind_name(kind));
			continue;
		}
		if (rc) {
			bad_line(out, "%s", err.message);
			continue;
		}
		if (o->id_base > HASHLIST_MAX_ID - i) {
			bad_line(out, "%s: its id, --id-base %llu + %zu, is over %llu", names[i],
			         (unsigned long long)o->id_base, i, (unsigned long long)HASHLIST_MAX_ID);
			veto_vpdq_free(v);
			continue;
		}
		const uint64_t id = o->id_base + i;
		/* The first frame of each distinct hash, whatever its quality:
		 * searches skip low-quality entries, which is the rule's order
		 * (de-duplicate, then drop low quality). */
		size_t nu = veto_vpdq_unique(v->frames, v->count, 0, v->frames);
		if (nu == (size_t)-1) {
			veto_vpdq_free(v);
			return -1;
		}
		v->count = nu;
		size_t added = 0;
		for (size_t k = 0; k < v->count; k++) {
			veto_index_entry e;
			memset(&e, 0, sizeof e);
			e.hash = v->frames[k].pdq;
			e.id = id;
			e.bank = o->bank;
			e.quality = (uint8_t)v->frames[k].quality;
			if (e.quality < VETO_DEFAULT_MIN_QUALITY)
				out->low_quality++;
			if (push_entry(out, &e) != 0) {
				veto_vpdq_free(v);
				return -1;
			}
			added++;
		}
		veto_vpdq_free(v);
		printf("%llu,%s\n", (unsigned long long)id, names[i]);
		(void)added;
	}
	if (out->bad > MAX_BAD_SHOWN)
		out_message(NULL, "... and %zu more bad lines", out->bad - MAX_BAD_SHOWN);
	return 0;
}

/* ------------------------------------------------------------- helpers --- */

static double now_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t file_bytes(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int load_bank(const char *path, veto_index **idx)
{
	veto_error err = {0, ""};
	if (veto_index_load(idx, path, &err) != VETO_OK) {
		out_message(NULL, "%s", err.message[0] ? err.message : path);
		return -1;
	}
	return 0;
}

static int save_bank(veto_index *idx, const char *path)
{
	veto_error err = {0, ""};
	if (veto_index_save(idx, path, &err) != VETO_OK) {
		out_message(NULL, "%s", err.message[0] ? err.message : path);
		return -1;
	}
	return 0;
}

typedef struct summary {
	const char *verb;      /* "wrote", "added", "deleted" */
	const char *path;
	uint64_t changed;      /* entries added or deleted */
	size_t low_quality;
	double seconds;
	int json, quiet;
	int unchanged;         /* nothing to do: the file was left alone */
} summary;

static const char *entries_word(uint64_t n)
{
	return n == 1 ? "entry" : "entries";
}

static int print_summary(veto_index *idx, const summary *s)
{
	veto_index_stats st;
	veto_index_stats_get(idx, &st);
	uint64_t bytes = file_bytes(s->path);
	if (s->json) {
		json_t *o = json_object();
		int bad = !o;
		if (o) {
			bad |= json_object_set_new(o, "index", out_json_string(s->path));
			bad |= json_object_set_new(o, strcmp(s->verb, "deleted") ? "added" : "deleted",
			                           json_integer((json_int_t)s->changed));
			bad |= json_object_set_new(o, "entries", json_integer((json_int_t)st.entries));
			bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
			/* to the millisecond: more digits would be noise */
			bad |= json_object_set_new(o, "seconds",
			                           json_real((double)(long long)(s->seconds * 1000 + 0.5) / 1000));
			if (strcmp(s->verb, "deleted"))
				bad |= json_object_set_new(o, "below_min_quality",
				                           json_integer((json_int_t)s->low_quality));
			bad |= json_object_set_new(o, "written", json_boolean(!s->unchanged));
			if (!bad)
				bad = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER |
				                            JSON_REAL_PRECISION(9));
			if (!bad)
				putchar('\n');
			json_decref(o);
		}
		if (bad) {
			out_message(NULL, "out of memory formatting the JSON");
			return -1;
		}
	}
	if (!s->quiet) {
		char low[96] = "";
		if (s->low_quality)
			snprintf(low, sizeof low, " (%zu with quality below %d: they match only with "
			         "a lower --min-quality)", s->low_quality, VETO_DEFAULT_MIN_QUALITY);
		if (s->unchanged)
			out_message(NULL, "%s: no entry has any of these ids; left unchanged "
			            "(%llu %s)", s->path, (unsigned long long)st.entries,
			            entries_word(st.entries));
		else if (!strcmp(s->verb, "wrote"))
			out_message(NULL, "wrote %s: %llu %s, %llu bytes, %.2f s%s", s->path,
			            (unsigned long long)st.entries, entries_word(st.entries),
			            (unsigned long long)bytes, s->seconds, low);
		else
			out_message(NULL, "%s: %s %llu %s; now %llu %s, %llu bytes, %.2f s%s",
			            s->path, s->verb, (unsigned long long)s->changed,
			            entries_word(s->changed), (unsigned long long)st.entries,
			            entries_word(st.entries), (unsigned long long)bytes, s->seconds, low);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		out_message(NULL, "error writing the output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------- subcommands --- */

/* build and add: read the lists, then (add) load the bank, add, save. */
static int build_or_add(int adding, const char *bank_path, char **lists,
                        size_t nlists, const list_opts *lo, int json, int quiet)
{
	double t0 = now_seconds();
	veto_index *idx = NULL;
	veto_error err = {0, ""};
	entries e;
	memset(&e, 0, sizeof e);
	int status = CLI_TROUBLE;

	if (adding) {
		/* A bank that does not load is the first thing to know about. */
		if (load_bank(bank_path, &idx) != 0)
			return CLI_TROUBLE;
	}
	if ((lo->videos ? read_videos(lists, nlists, lo, &e) : read_lists(lists, nlists, lo, &e)) != 0) {
		out_message(NULL, "out of memory reading the hash lists");
		goto done;
	}
	if (e.bad) {
		out_message(NULL, "%zu bad line%s or unreadable list%s; %s not %s", e.bad,
		            e.bad == 1 ? "" : "s", e.bad == 1 ? "" : "s", bank_path,
		            adding ? "changed" : "written");
		status = CLI_FAIL;
		goto done;
	}
	if (!idx && veto_index_new(&idx, &err) != VETO_OK) {
		out_message(NULL, "%s", err.message);
		goto done;
	}
	if (e.n && veto_index_add(idx, e.v, e.n, &err) != VETO_OK) {
		out_message(NULL, "%s: %s", bank_path, err.message);
		goto done;
	}
	if (save_bank(idx, bank_path) != 0)
		goto done;
	summary s = {adding ? "added" : "wrote", bank_path, e.n, e.low_quality,
	             now_seconds() - t0, json, quiet, 0};
	status = print_summary(idx, &s) == 0 ? CLI_OK : CLI_TROUBLE;
done:
	veto_index_free(idx);
	free(e.v);
	return status;
}

typedef struct id_vec {
	uint64_t *v;
	size_t n, cap;
} id_vec;

static int push_id(id_vec *ids, uint64_t id)
{
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : 256;
		uint64_t *v = realloc(ids->v, cap * sizeof *v);
		if (!v)
			return -1;
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = id;
	return 0;
}

/* Ids from a file: the first comma-separated field of each line. Bad
 * lines are reported and counted in *bad. Returns -1 when out of memory. */
static int read_ids(const char *name, id_vec *ids, size_t *bad)
{
	FILE *f = open_list(name);
	if (!f) {
		out_message(NULL, "%s: cannot open: %s", name, strerror(errno));
		(*bad)++;
		return 0;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t lineno = 0;
	int rc = 0;
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		char *end = strchr(p, ',');
		if (end)
			*end = '\0';
		else
			end = line + len;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		uint64_t id;
		if (cli_parse_u64(p, SUFFIX_NONE, &id) != 0) {
			if ((*bad)++ < MAX_BAD_SHOWN)
				out_message(NULL, "%s:%llu: bad id '%.40s': not a whole number", name,
				            (unsigned long long)lineno, p);
			continue;
		}
		if (push_id(ids, id) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		out_message(NULL, "%s: cannot read: %s", name, strerror(errno ? errno : EIO));
		(*bad)++;
	}
	free(line);
	close_list(f);
	return rc;
}

static int do_delete(const char *bank_path, char **args, size_t nargs, const char *ids_file,
                     int json, int quiet)
{
	double t0 = now_seconds();
	id_vec ids = {0};
	veto_index *idx = NULL;
	veto_error err = {0, ""};
	int status = CLI_TROUBLE;
	for (size_t i = 0; i < nargs; i++) {
		uint64_t id;
		if (cli_parse_u64(args[i], SUFFIX_NONE, &id) != 0) {
			free(ids.v);
			return cli_usage("index", "delete: '%s' is not an id (a whole number)", args[i]);
		}
		if (push_id(&ids, id) != 0)
			goto nomem;
	}
	if (!ids_file && ids.n == 0) {
		free(ids.v);
		return cli_usage("index", "delete needs IDs or --ids FILE");
	}
	if (load_bank(bank_path, &idx) != 0)
		goto done;
	if (ids_file) {
		size_t bad = 0;
		if (read_ids(ids_file, &ids, &bad) != 0)
			goto nomem;
		if (bad) {
			if (bad > MAX_BAD_SHOWN)
				out_message(NULL, "... and %zu more bad lines", bad - MAX_BAD_SHOWN);
			out_message(NULL, "%s: bad ids; %s not changed", ids_file, bank_path);
			status = CLI_FAIL;
			goto done;
		}
	}
	size_t deleted = 0;
	if (ids.n && veto_index_delete(idx, ids.v, ids.n, &deleted, &err) != VETO_OK) {
		out_message(NULL, "%s: %s", bank_path, err.message);
		goto done;
	}
	if (deleted && save_bank(idx, bank_path) != 0)
		goto done;
	summary s = {"deleted", bank_path, deleted, 0, now_seconds() - t0, json, quiet, !deleted};
	status = print_summary(idx, &s) == 0 ? CLI_OK : CLI_TROUBLE;
	goto done;
nomem:
	out_message(NULL, "out of memory");
done:
	veto_index_free(idx);
	free(ids.v);
	return status;
}

static int do_info(const char *bank_path, int json)
{
	veto_index *idx = NULL;
	if (load_bank(bank_path, &idx) != 0)
		return CLI_TROUBLE;
	veto_index_stats st;
	veto_index_stats_get(idx, &st);
	uint64_t fbytes = file_bytes(bank_path);
	int status = CLI_OK;
	if (json) {
		json_t *o = json_object();
		int bad = !o;
		if (o) {
			bad |= json_object_set_new(o, "index", out_json_string(bank_path));
			bad |= json_object_set_new(o, "entries", json_integer((json_int_t)st.entries));
			bad |= json_object_set_new(o, "base_entries", json_integer((json_int_t)st.base_entries));
			bad |= json_object_set_new(o, "delta_entries", json_integer((json_int_t)st.delta_entries));
			bad |= json_object_set_new(o, "tombstones", json_integer((json_int_t)st.tombstones));
			bad |= json_object_set_new(o, "slices", json_integer(st.slices));
			bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
			bad |= json_object_set_new(o, "mapped", json_boolean(st.mapped));
			bad |= json_object_set_new(o, "file_bytes", json_integer((json_int_t)fbytes));
			if (!bad)
				bad = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (!bad)
				putchar('\n');
			json_decref(o);
		}
		if (bad) {
			out_message(NULL, "out of memory formatting the JSON");
			status = CLI_TROUBLE;
		}
	} else {
		printf("index: %s\n"
		       "entries: %llu\n"
		       "base_entries: %llu\n"
		       "delta_entries: %llu\n"
		       "tombstones: %llu\n"
		       "slices: %d\n"
		       "bytes: %llu\n"
		       "mapped: %s\n"
		       "file_bytes: %llu\n",
		       bank_path, (unsigned long long)st.entries,
		       (unsigned long long)st.base_entries, (unsigned long long)st.delta_entries,
		       (unsigned long long)st.tombstones, st.slices, (unsigned long long)st.bytes,
		       st.mapped ? "yes" : "no", (unsigned long long)fbytes);
	}
	veto_index_free(idx);
	if (status == CLI_OK && (fflush(stdout) != 0 || ferror(stdout))) {
		out_message(NULL, "error writing the output: %s", strerror(errno));
		status = CLI_TROUBLE;
	}
	return status;
}

/* ------------------------------------------------------------- command --- */

enum sub { SUB_BUILD, SUB_ADD, SUB_DELETE, SUB_INFO };

int cmd_index(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"bank", required_argument, NULL, OPT_BANK},
		{"quality", required_argument, NULL, OPT_QUALITY},
		{"id-base", required_argument, NULL, OPT_ID_BASE},
		{"ids", required_argument, NULL, OPT_IDS},
		{"videos", no_argument, NULL, OPT_VIDEOS},
		{"every", required_argument, NULL, OPT_EVERY},
		{"vpdq-size", required_argument, NULL, OPT_VPDQ_SIZE},
		{"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
		{"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
		{"json", no_argument, NULL, OPT_JSON},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "index";
	if (argc < 2)
		return cli_usage(cmd, "index needs a subcommand: build, add, delete or info");
	const char *subname = argv[1];
	int sub;
	if (!strcmp(subname, "--help") || !strcmp(subname, "-h")) {
		cmd_index_help(stdout);
		return CLI_OK;
	} else if (!strcmp(subname, "build")) {
		sub = SUB_BUILD;
	} else if (!strcmp(subname, "add")) {
		sub = SUB_ADD;
	} else if (!strcmp(subname, "delete")) {
		sub = SUB_DELETE;
	} else if (!strcmp(subname, "info")) {
		sub = SUB_INFO;
	} else {
		return cli_usage(cmd, "unknown index subcommand '%s' (build, add, delete or info)",
		                 subname);
	}
	argc--, argv++; /* getopt sees the subcommand as argv[0] */

	list_opts lo = {HASHLIST_AUTO, VETO_BANK_NONE, 100, 0, 0, sub == SUB_ADD, 0, NULL, NULL};
	cli_video_flags vflags;
	cli_video_flags_init(&vflags);
	vflags.tmk = 0;
	veto_video_options vopts;
	const char *output = NULL, *ids_file = NULL;
	int json = 0, quiet = 0;
	char **args = calloc((size_t)argc, sizeof *args);
	if (!args) {
		out_message(NULL, "out of memory");
		return CLI_TROUBLE;
	}
	size_t nargs = 0;
	int status = CLI_USAGE;

	/* As in cmd_hash.c: operands in place, options anywhere. */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "-:o:qh", longopts, NULL)) != -1) {
		uint64_t v;
		/* Options that only make sense for some subcommands. */
		int list_opt = c == OPT_FORMAT || c == OPT_BANK || c == OPT_QUALITY || c == OPT_ID_BASE ||
		               c == OPT_VIDEOS || c == OPT_EVERY || c == OPT_VPDQ_SIZE ||
		               c == OPT_MAX_FRAMES || c == OPT_MAX_SECONDS;
		if ((c == 'o' && sub != SUB_BUILD) || (list_opt && sub != SUB_BUILD && sub != SUB_ADD) ||
		    (c == OPT_IDS && sub != SUB_DELETE) || (c == 'q' && sub == SUB_INFO)) {
			cli_usage(cmd, "index %s: no option '%s'", subname, argv[optind - 1]);
			goto done;
		}
		int vr = cli_video_flag(cmd, c, optarg, &vflags);
		if (vr < 0)
			goto done;
		if (vr > 0)
			continue;
		switch (c) {
		case 1: args[nargs++] = optarg; break;
		case 'o': output = optarg; break;
		case OPT_VIDEOS: lo.videos = 1; break;
		case OPT_FORMAT:
			if ((lo.format = hashlist_format_parse(optarg)) < 0) {
				cli_usage(cmd, "--format: '%s' is not auto, ids, pdq-csv or json", optarg);
				goto done;
			}
			break;
		case OPT_BANK:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v >= VETO_BANK_NONE) {
				cli_usage(cmd, "--bank: '%s' is not a number from 0 to %d", optarg,
				          VETO_BANK_NONE - 1);
				goto done;
			}
			lo.bank = (uint16_t)v;
			break;
		case OPT_QUALITY:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v > 100) {
				cli_usage(cmd, "--quality: '%s' is not a number from 0 to 100", optarg);
				goto done;
			}
			lo.quality = (int)v;
			break;
		case OPT_ID_BASE:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v > HASHLIST_MAX_ID) {
				cli_usage(cmd, "--id-base: '%s' is not a number from 0 to %llu", optarg,
				          (unsigned long long)HASHLIST_MAX_ID);
				goto done;
			}
			lo.id_base = v;
			lo.id_base_given = 1;
			break;
		case OPT_IDS: ids_file = optarg; break;
		case OPT_JSON: json = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
			cmd_index_help(stdout);
			status = CLI_OK;
			goto done;
		default:
			cli_getopt_error(cmd, c, argv);
			goto done;
		}
	}
	while (optind < argc) /* after "--" */
		args[nargs++] = argv[optind++];
	cli_video_options(&vflags, NULL, &vopts);
	vopts.digests = 0;
	lo.vflags = &vflags;
	lo.vopts = &vopts;

	switch (sub) {
	case SUB_BUILD:
		if (!output) {
			cli_usage(cmd, "index build needs -o BANK.vidx");
			goto done;
		}
		if (!strcmp(output, "-")) {
			cli_usage(cmd, "-o: a bank must be a file, not standard output (it is "
			          "written to a temporary file and renamed)");
			goto done;
		}
		if (check_one_stdin(cmd, args, nargs) != 0)
			goto done;
		status = build_or_add(0, output, args, nargs, &lo, json, quiet);
		break;
	case SUB_ADD:
		if (nargs < 2) {
			cli_usage(cmd, "index add needs BANK.vidx and at least one LIST");
			goto done;
		}
		if (check_one_stdin(cmd, args + 1, nargs - 1) != 0)
			goto done;
		status = build_or_add(1, args[0], args + 1, nargs - 1, &lo, json, quiet);
		break;
	case SUB_DELETE:
		if (nargs < 1) {
			cli_usage(cmd, "index delete needs BANK.vidx, then IDs or --ids FILE");
			goto done;
		}
		status = do_delete(args[0], args + 1, nargs - 1, ids_file, json, quiet);
		break;
	case SUB_INFO:
		if (nargs != 1) {
			cli_usage(cmd, "index info takes one BANK.vidx");
			goto done;
		}
		status = do_info(args[0], json);
		break;
	}
done:
	free(args);
	return status;
}
