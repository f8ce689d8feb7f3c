/*
 * cli.h - declarations shared by the files of the veto command-line tool.
 *
 * The CLI is a thin shell over libveto: veto.c dispatches commands and holds
 * the helpers every command needs (strict number parsing, usage errors),
 * cmd_*.c implement one command each, walk.c turns PATH arguments into an
 * ordered list of jobs, and output.c formats results and draws the progress
 * bar. Nothing here keeps global mutable state: every piece of state lives
 * in a struct owned by the command that main() called.
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
	OPT_MAX_BYTES, OPT_FIRST_FREE
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

#endif /* VETO_CLI_H */
