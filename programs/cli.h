/*
 * cli.h - declarations shared by the files of the veto command-line tool.
 *
 * The CLI is a thin shell over libveto: veto.c dispatches commands and holds
 * the helpers every command needs (strict number parsing, usage errors),
 * cmd_*.c implement one command each, walk.c turns PATH arguments into an
 * ordered list of jobs, pool.c hashes those jobs in parallel and hands the
 * results back in order, hashlist.c reads lists of hashes (for index and
 * match), and output.c formats results and draws the progress bar. Nothing
 * here keeps global mutable state: every piece of state lives in a struct
 * owned by the command that main() called.
 */
#ifndef VETO_CLI_H
#define VETO_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "veto.h"

#if defined(__GNUC__) || defined(__clang__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Exit statuses, as diff(1) and cmp(1) use them: 2 is for usage errors
 * and, in compare (where 1 means "no match"), for any trouble. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_TROUBLE = 2 };

/* ------------------------------------------------------------ veto.c --- */

/* Suffixes accepted by cli_parse_u64. */
enum cli_suffix { SUFFIX_NONE = 0, SUFFIX_DECIMAL = 1000, SUFFIX_BINARY = 1024 };

/* Parse a whole string as an unsigned decimal number with an optional k/M/G
 * suffix (powers of `suffix`, or no suffix allowed if SUFFIX_NONE).
 * Rejects signs, spaces, empty strings, trailing junk and overflow. */
int cli_parse_u64(const char *s, enum cli_suffix suffix, uint64_t *out);

/* Print "veto: MESSAGE" and a hint to run `veto CMD --help` on stderr;
 * returns CLI_USAGE so callers can `return cli_usage(...)`. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Report a getopt_long failure ('?' or ':') for argv[optind - 1]. */
int cli_getopt_error(const char *cmd, int c, char **argv);

/* The name of a veto_pdq_mode as the CLI spells it ("exact", ...). */

/* Options that change how files are hashed, shared by hash and compare. */
typedef struct cli_hash_flags {
	int cli512, fast, auto_orient;
	uint64_t max_pixels, max_bytes;  /* 0 = library default */
} cli_hash_flags;

/* Long option values for cli_hash_flags (above any short option letter). */
enum {
	OPT_PDQ_CLI512 = 256, OPT_FAST, OPT_AUTO_ORIENT, OPT_MAX_PIXELS,
	OPT_MAX_BYTES,
	/* video flags (cli_video.c) */
	OPT_EVERY, OPT_VPDQ_SIZE, OPT_NO_TMK, OPT_TMK_DIR, OPT_MAX_FRAMES, OPT_MAX_SECONDS,
	OPT_FIRST_FREE
};

/* Handle one getopt result for the shared options. Returns 1 if it was one
 * of them, 0 if not, or -1 after printing a usage error. */
int cli_hash_flag(const char *cmd, int c, const char *arg, cli_hash_flags *f);

/* Fill library options from the flags; returns -1 on conflicting flags
 * (after printing a usage error). */
int cli_hash_options(const char *cmd, const cli_hash_flags *f, veto_hash_options *o);

/* ------------------------------------------------------ commands --- */

int cmd_hash(int argc, char **argv);
void cmd_hash_help(FILE *f);
int cmd_compare(int argc, char **argv);
void cmd_compare_help(FILE *f);
int cmd_index(int argc, char **argv);
void cmd_index_help(FILE *f);
int cmd_match(int argc, char **argv);
void cmd_match_help(FILE *f);
int cmd_serve(int argc, char **argv);
void cmd_serve_help(FILE *f);
int cmd_keys(int argc, char **argv);
void cmd_keys_help(FILE *f);
/* fetch_remote.c: GET an http(s) URL into memory (max_bytes cap, 30 s,
 * <= 3 redirects). 0, or -1 with a reason naming the URL in why. */
int cli_fetch_url(const char *url, size_t max_bytes, uint8_t **out, size_t *len, char *why,
                  size_t whylen);
int cmd_signals(int argc, char **argv);
void cmd_signals_help(FILE *f);

/* ------------------------------------------------------------ walk.c --- */

enum job_kind {
	JOB_FILE,     /* hash `path`, named on the command line or stdin */
	JOB_FOUND,    /* hash `path`, found inside a directory: skipped quietly
	               * (counted) if its content is not an image format */
	JOB_ERROR,    /* could not be listed: print `msg`, counts as a failure */
	JOB_WARNING   /* skipped on purpose (a symlink loop): print `msg` */
};

typedef struct job {
	char *path;
	char *msg;    /* JOB_ERROR / JOB_WARNING: the whole line after "veto: " */
	int kind;
} job;

typedef struct job_list {
	job *v;
	size_t n, cap;
} job_list;

/* Add the jobs for one PATH argument: a file (or anything that is not a
 * directory, so the library reports why it cannot be read), or a directory
 * walked recursively. Returns 0, or -1 when out of memory. */
int walk_path(job_list *jobs, const char *path);

/* Add the jobs for every line of `in` (a list of paths, one per line,
 * "\r\n" tolerated, empty lines ignored). Returns 0, or -1 on a read error
 * or when out of memory (errno says which). */
int walk_list(job_list *jobs, FILE *in);

void job_list_free(job_list *jobs);

/* ---------------------------------------------------------- output.c --- */

/* Which fields a hash result prints. */
typedef struct out_format {
	int json;
	int dihedral;
	int mode;   /* a veto_pdq_mode, named in JSON */
} out_format;

/* Print one hashed file on stdout as a line of text or JSON.
 * Returns 0, or -1 if the JSON could not be built (out of memory). */
int out_hash(FILE *f, const out_format *fmt, const char *path, const veto_image_hashes *h);

/* Turn `s` into a jansson string: as is when valid UTF-8, otherwise with
 * each invalid byte replaced by U+FFFD (paths are bytes, JSON is text). */
struct json_t *out_json_string(const char *s);

/* Lowercase hex of n bytes into out[2n + 1]. */
void out_hex(const uint8_t *b, size_t n, char *out);

/* The progress bar on stderr: `[=====>     ] 123/456 files  12.3/s  ETA 0:15`.
 * Owned by the command; the bar is on screen exactly when `shown`. */
typedef struct progress {
	int enabled;
	int shown;
	size_t total;
	struct timespec start, last_draw;
} progress;

void progress_init(progress *p, int enabled, size_t total);
/* Redraw with `done` items finished, unless drawn less than 100 ms ago
 * (always drawn when `force`). Returns the ms until a redraw is due. */
long progress_update(progress *p, size_t done, int force);
/* Remove the bar from the screen (before printing anything else there).
 * p may be NULL (no bar), here and in out_message. */
void progress_clear(progress *p);

/* Print "veto: " MESSAGE on stderr without garbling the bar: the bar is
 * cleared first and redrawn at the next update. */
void out_message(progress *p, const char *fmt, ...) CLI_PRINTF(2, 3);

/* ------------------------------------------------------- cli_video.c --- */

/* What a file is, by its first bytes. */
enum cli_kind { KIND_UNKNOWN = 0, KIND_IMAGE, KIND_VIDEO, KIND_TMK, KIND_VPDQ };

/* Classify `path`; VETO_OK with *kind set, or an error if it cannot be
 * opened (err says why, naming the file). */
int cli_sniff_file(const char *path, int *kind, veto_error *err);
const char *cli_kind_name(int kind);

/* Video options shared by hash, compare, index and match. */
typedef struct cli_video_flags {
	double every;          /* --every: seconds between vPDQ frames (1) */
	int size;              /* --vpdq-size: 0 = native */
	int tmk;               /* compute TMK+PDQF too (--no-tmk clears it) */
	const char *tmk_dir;   /* --tmk-dir: write NAME.tmk there */
	uint64_t max_frames;   /* --max-frames */
	double max_seconds;    /* --max-seconds */
} cli_video_flags;

void cli_video_flags_init(cli_video_flags *f);
/* Like cli_hash_flag, for the OPT_EVERY..OPT_MAX_SECONDS options. */
int cli_video_flag(const char *cmd, int c, const char *arg, cli_video_flags *f);
/* Library options from the flags (h: the shared limits, may be NULL). */
void cli_video_options(const cli_video_flags *f, const cli_hash_flags *h, veto_video_options *o);

/* A hashed video: vPDQ always, TMK+PDQF when asked for. */
typedef struct cli_video {
	veto_vpdq *vpdq;
	veto_tmk *tmk;
	char *tmk_path;        /* where the .tmk was written, or NULL */
} cli_video;

int cli_video_hash(const char *path, const cli_video_flags *f, const veto_video_options *o,
                   cli_video *out, veto_error *err);
void cli_video_free(cli_video *v);
/* Read a vPDQ text file (frame,quality,hash,timestamp lines). */
int cli_vpdq_read_text(const char *path, veto_vpdq **out, veto_error *err);
/* The reference's vPDQ lines. */
void cli_vpdq_print_lines(FILE *f, const veto_vpdq *v);
/* One JSON object holding every signal of a video (NULL: out of memory). */
struct json_t *cli_video_json(const char *path, const cli_video *v, const cli_video_flags *f);
/* The TMK part of it: frames, fps, and the file written or the features. */
struct json_t *cli_tmk_json(const veto_tmk *t, const char *written);

/* cmd_compare_video.c: compare two videos, vPDQ text files or .tmk files
 * (kinds from cli_sniff_file); returns the exit status. */
int compare_videos(const char *cmd, const char *a, int kind_a, const char *b, int kind_b,
                   const cli_video_flags *f, const veto_video_options *o, int distance,
                   int min_quality, double match_percent, int json);

/* ------------------------------------------------------------ pool.c --- */

/* Hashing a job_list in parallel with results handled in input order (the
 * engine of `veto hash` and `veto match`). */

#define CLI_MAX_JOBS 1024   /* -j limit: more threads than this only cost memory */

/* The number of CPUs, at most CLI_MAX_JOBS. */
size_t cli_default_jobs(void);

/* Parse a -j argument (1..CLI_MAX_JOBS); -1 after a usage error. */
int cli_parse_jobs(const char *cmd, const char *arg, size_t *out);

/* Turn PATH arguments into jobs ('-': paths on stdin, allowed once).
 * Returns 0, CLI_USAGE after a usage error, or CLI_FAIL after printing
 * why the paths could not be listed. */
int cli_walk_args(const char *cmd, const char *const *paths, size_t n, job_list *jobs);

/* Fit the worker count to the number of files; with fewer files than
 * cores, give each image a second thread (opts->threads = 2). */
void cli_fit_workers(const job_list *jobs, size_t *nworkers, veto_hash_options *opts);

typedef struct pool_result {
	int rc;                 /* of veto_hash_image_file; VETO_OK for non-files */
	veto_image_hashes h;
	veto_error err;
	cli_video video;        /* a video (kind KIND_VIDEO): freed after emit */
	int kind;               /* KIND_IMAGE or KIND_VIDEO when pool_spec.video */
	void *extra;            /* pool_spec.extra_size bytes of the command's own
	                         * per-slot state (zeroed once, reused from job to
	                         * job: keep buffers there) */
} pool_result;

typedef struct pool_spec {
	const job_list *jobs;
	const veto_hash_options *opts;
	/* Videos: when not NULL, files whose content is a video are hashed with
	 * cli_video_hash instead of as images (else they fail as non-images). */
	const cli_video_flags *vflags;
	const veto_video_options *vopts;
	int vpdq_text;          /* also take vPDQ text files as videos */
	size_t nworkers;
	progress *bar;          /* not NULL; redrawn while waiting if enabled */
	void *ctx;              /* passed to the callbacks */
	size_t extra_size;
	/* Run by a worker right after hashing a file (any rc), without locks,
	 * e.g. to search an index; may be NULL. Must not print. */
	void (*work)(void *ctx, const job *j, pool_result *r);
	/* Run by the calling thread for every job, strictly in input order. */
	void (*emit)(void *ctx, const job *j, pool_result *r);
	/* Frees what `work` kept in an extra, once per slot at the end. */
	void (*extra_free)(void *extra);
} pool_spec;

/* Run the jobs. Returns 0, or -1 after printing why it had to stop (out
 * of memory, no thread, stdout not writable). */
int pool_run(const pool_spec *spec);

/* What every emit does first: print a walk error or warning, count a file
 * that failed to hash (after printing its error) or a non-image found in a
 * directory. Returns 1 if r holds hashes for the command to print, else 0. */
int pool_report(progress *bar, int quiet, const job *j, const pool_result *r,
                size_t *failures, size_t *skipped);

/* "skipped N files in directories that are not images" unless quiet. */
void pool_report_skipped(size_t skipped, int quiet);

/* ----------------------------------------------------- match_video.c --- */

/* How many entries each banked video (id) has, for target percentages. */
typedef struct video_counts {
	uint64_t *ids;   /* sorted; an id's count is the length of its run */
	size_t n, cap;
} video_counts;

int video_counts_build(veto_index *idx, const veto_search_options *so, video_counts *c);
void video_counts_free(video_counts *c);

typedef struct video_hit {
	uint64_t id;
	double query_percent, target_percent;
	size_t query_matched, target_matched, target_frames;
} video_hit;

typedef struct video_result {
	video_hit *hits;        /* query_percent >= the threshold, best first */
	size_t nhits, cap;
	size_t query_frames;    /* after de-duplication and the quality floor */
	veto_match_list m;      /* scratch */
} video_result;

/* Match video q against the bank; keep banked videos whose query_percent is
 * at least match_percent. */
int video_match(veto_index *idx, const veto_search_options *so, const video_counts *counts,
                const veto_vpdq *q, double match_percent, video_result *r, veto_error *err);
void video_result_free(video_result *r);

/* -------------------------------------------------------- hashlist.c --- */

/* Hash lists (see hashlist.c for the accepted shapes). */
enum hashlist_format { HASHLIST_AUTO, HASHLIST_IDS, HASHLIST_PDQ_CSV, HASHLIST_JSON };

/* Ids the CLI reads or makes: 0..2^63-1, exact in any JSON reader. */
#define HASHLIST_MAX_ID ((uint64_t)INT64_MAX)

/* "auto", "ids", "pdq-csv", "json" to a hashlist_format, or -1. */
int hashlist_format_parse(const char *s);
const char *hashlist_format_name(int format);

typedef struct hashlist_item {
	veto_pdq_hash hash;
	int format;          /* the shape the line was read as (not AUTO) */
	int has_id;          /* the line gave an id */
	uint64_t id;
	int quality;         /* 0..100, or -1 if the line gave none */
	const char *path;    /* pdq-csv PATH or JSON "path", else NULL; points
	                      * into the line buffer: valid until the next line */
} hashlist_item;

/* Results of hashlist_parse_line and hashlist_next. */
enum {
	HASHLIST_ITEM = 1,    /* *it holds a hash */
	HASHLIST_SKIP = 0,    /* blank or comment (parse_line only) */
	HASHLIST_END = 0,     /* end of input (next only) */
	HASHLIST_BAD = -1,    /* a bad line: the message says why */
	HASHLIST_ERROR = -2   /* the input could not be read (next only) */
};

/* Parse one line of `len` bytes (a trailing "\n" or "\r\n" is allowed;
 * line[len] must be writable: the line is NUL-terminated and may be
 * modified). `format` is a hashlist_format. On HASHLIST_BAD, why[] gets the
 * problem (without file and line). */
int hashlist_parse_line(char *line, size_t len, int format, hashlist_item *it, char *why,
                        size_t whycap);

typedef struct hashlist_reader {
	FILE *in;
	const char *name;    /* for messages: "NAME:LINE: problem" */
	int format;
	uint64_t line;       /* the number of the line last read, from 1 */
	char *buf;
	size_t cap;
} hashlist_reader;

void hashlist_open(hashlist_reader *r, FILE *in, const char *name, int format);

/* The next hash: HASHLIST_ITEM, HASHLIST_END, HASHLIST_BAD (msg gets
 * "NAME:LINE: problem"; reading may go on) or HASHLIST_ERROR (msg says
 * why; errno is set). Blank and comment lines are skipped. */
int hashlist_next(hashlist_reader *r, hashlist_item *it, char *msg, size_t cap);

/* Free the line buffer (the FILE is the caller's). */
void hashlist_close(hashlist_reader *r);

#endif /* VETO_CLI_H */
