/*
 * cmd_hash.c - `veto hash`: hash files and directories in parallel and
 * print the results in input order.
 *
 * Design: walk.c turns the PATH arguments into an ordered list of jobs and
 * pool.c hashes them on worker threads, handing each result back to this
 * thread in input order (see pool.c); emit() prints it. Only this thread
 * prints, so output streams in input order whatever the timing, and the
 * progress bar (owned here, drawn by the pool) never garbles a line.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_MIN_FILES 20

#include <jansson.h>

enum { OPT_JSON = OPT_FIRST_FREE, OPT_DIHEDRAL, OPT_NO_PROGRESS, OPT_FORMAT };

void cmd_hash_help(FILE *f)
{
	fputs("Usage: veto hash [OPTIONS] PATH...\n"
	      "\n"
	      "Print the PDQ hash of each image, one line per file, in input order:\n"
	      "  HASH,QUALITY,PATH         (the output of pdq-photo-hasher)\n"
	      "HASH is 64 lowercase hex digits and QUALITY 0..100; hashes of images with\n"
	      "quality below 50 should not be used for matching.\n"
	      "\n"
	      "Videos (any container and codec FFmpeg reads; found by content) get vPDQ,\n"
	      "one PDQ hash per sampled frame as vpdq-hash-video computes it, TMK+PDQF\n"
	      "features as tmk-hash-video computes them, and MD5 and SHA-256. The text\n"
	      "line for a video is\n"
	      "  MD5,vpdq:N,PATH           (N: frames hashed; --json has everything)\n"
	      "or with --format vpdq, the reference's file: one line per hashed frame,\n"
	      "  FRAME,QUALITY,HASH,TIMESTAMP\n"
	      "A video that breaks off midway still prints what was hashed, marked\n"
	      "\"partial\" in JSON with the reason on stderr: for damaged or cut-short\n"
	      "data it also counts as a failure (exit status 1), as the references refuse\n"
	      "such files; for a budget you set (--max-frames, --max-seconds) it is a\n"
	      "warning.\n"
	      "\n"
	      "Each PATH is an image file, a directory, or '-' to read paths from standard\n"
	      "input, one per line. Directories are walked recursively in byte order of\n"
	      "names, including hidden files; symlinks are followed, loops are skipped with\n"
	      "a warning, and FIFOs, sockets and devices inside directories are skipped.\n"
	      "Files found in directories whose content is not an image or a video are\n"
	      "skipped and counted; a file named explicitly that is neither is an error.\n"
	      "Formats are recognised by content, not by file name. Options may come\n"
	      "before or after the paths; put paths that start with '-' after '--'.\n"
	      "\n"
	      "Options:\n"
	      "  -j, --jobs N        hash N files at a time (default: the number of CPUs)\n"
	      "      --json          print one JSON object per line instead: path, format,\n"
	      "                      width, height, hashed_width, hashed_height,\n"
	      "                      orientation, oriented, mode, pdq, quality, md5, sha256,\n"
	      "                      bytes (and dihedral with --dihedral); for a video:\n"
	      "                      path, kind, container, codec, width, height, fps,\n"
	      "                      duration, frames, frames_skipped (not decoded:\n"
	      "                      sampling did not need them), rotation, partial,\n"
	      "                      md5, sha256, bytes, every, vpdq_size, vpdq (frame,\n"
	      "                      quality, pdq, timestamp for each hashed frame) and\n"
	      "                      tmk (frames, fps, and file or tmk_base64)\n"
	      "      --dihedral      also hash the 7 rotations and flips; text lines become\n"
	      "                      pdq-photo-hasher --pdqdih-across: the 8 hashes\n"
	      "                      (original, rotate90, rotate180, rotate270, flipx,\n"
	      "                      flipy, flip_plus1, flip_minus1),QUALITY,PATH\n"
	      "      --pdq-cli512    hash as pdq-photo-hasher does: images over 512 px\n"
	      "                      wide or high are first squashed to 512x512\n"
	      "      --fast          decode JPEGs at a reduced scale: faster, close to but\n"
	      "                      not bit-exact with the reference\n"
	      "      --auto-orient   apply the EXIF orientation before hashing\n"
	      "      --max-pixels N  refuse images with more pixels (default 200M;\n"
	      "                      suffixes k, M, G mean 10^3, 10^6, 10^9)\n"
	      "      --max-bytes N   refuse larger files (default 1G; suffixes k, M, G\n"
	      "                      mean KiB, MiB, GiB)\n"
	      "Video options:\n"
	      "      --every S       hash one frame every S seconds: frame n when\n"
	      "                      n % max(1, int(S x fps)) == 0 (default 1; 0 = every\n"
	      "                      frame), the reference's rule\n"
	      "      --vpdq-size N   scale frames to NxN before vPDQ (the reference's -s)\n"
	      "      --format F      text output: pdq (default) or vpdq (the reference's\n"
	      "                      lines for each video; images still print pdq lines)\n"
	      "      --tmk-dir DIR   write NAME.tmk files there (tmk-hash-video's format)\n"
	      "      --no-tmk        skip TMK+PDQF (it needs a second decoding pass)\n"
	      "      --max-frames N  stop decoding a video after N frames (partial)\n"
	      "      --max-seconds S stop hashing a video after S seconds (partial)\n"
	      "      --no-progress   no progress bar (it is shown only when stderr is a\n"
	      "                      terminal and there are more than 20 files)\n"
	      "  -q, --quiet         no progress bar and no warnings (errors still shown)\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "A file that cannot be hashed is reported on stderr as 'veto: PATH: reason'\n"
	      "and the others are still hashed.\n"
	      "\n"
	      "Exit status: 0 if every file was hashed, 1 if any could not be, 2 for\n"
	      "usage errors.\n", f);
}

typedef struct printer {
	out_format fmt;
	int vpdq_lines;
	const cli_video_flags *vflags;
	progress bar;
	int quiet;
	int stdout_tty;
	size_t failures;
	size_t skipped;   /* JOB_FOUND files that are not images */
} printer;

static void emit(void *ctx, const job *j, pool_result *r)
{
	printer *pr = ctx;
	if (!pool_report(&pr->bar, pr->quiet, j, r, &pr->failures, &pr->skipped))
		return;
	if (pr->stdout_tty)
		progress_clear(&pr->bar);
	if (r->kind == KIND_VIDEO) {
		const veto_vpdq *v = r->video.vpdq;
		/* Damaged or cut-short data: the hashes so far are printed (marked
		 * partial) but the file counts as failed, as the references refuse
		 * such files; a budget the user set is only a warning. */
		if (v->info.damaged) {
			out_message(&pr->bar, "%s: partial result: %s", j->path, v->info.partial_reason);
			pr->failures++;
		} else if (v->info.partial && !pr->quiet) {
			out_message(&pr->bar, "warning: %s: partial result: %s", j->path,
			            v->info.partial_reason);
		}
		if (pr->fmt.json) {
			json_t *o = cli_video_json(j->path, &r->video, pr->vflags);
			char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
			                                 JSON_REAL_PRECISION(10)) : NULL;
			json_decref(o);
			if (!txt) {
				out_message(&pr->bar, "%s: out of memory formatting the JSON", j->path);
				pr->failures++;
				return;
			}
			fputs(txt, stdout);
			fputc('\n', stdout);
			free(txt);
		} else if (pr->vpdq_lines) {
			cli_vpdq_print_lines(stdout, v);
		} else {
			char md5[33];
			out_hex(v->info.md5, 16, md5);
			printf("%s,vpdq:%zu,%s\n", md5, v->count, j->path);
		}
		return;
	}
	if (out_hash(stdout, &pr->fmt, j->path, &r->h) != 0) {
		out_message(&pr->bar, "%s: out of memory formatting the JSON", j->path);
		pr->failures++;
	}
}

/* -------------------------------------------------------------- command --- */

int cmd_hash(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, OPT_JSON},
		{"dihedral", no_argument, NULL, OPT_DIHEDRAL},
		{"pdq-cli512", no_argument, NULL, OPT_PDQ_CLI512},
		{"fast", no_argument, NULL, OPT_FAST},
		{"auto-orient", no_argument, NULL, OPT_AUTO_ORIENT},
		{"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
		{"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"every", required_argument, NULL, OPT_EVERY},
		{"vpdq-size", required_argument, NULL, OPT_VPDQ_SIZE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"tmk-dir", required_argument, NULL, OPT_TMK_DIR},
		{"no-tmk", no_argument, NULL, OPT_NO_TMK},
		{"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
		{"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "hash";
	cli_hash_flags flags = {0};
	cli_video_flags vflags;
	cli_video_flags_init(&vflags);
	printer pr;
	memset(&pr, 0, sizeof pr);
	size_t nworkers = cli_default_jobs();
	int no_progress = 0;

	/* Paths are pointers into argv, in the order given. */
	const char **paths = calloc((size_t)argc, sizeof *paths);
	if (!paths) {
		out_message(NULL, "out of memory");
		return CLI_FAIL;
	}
	size_t npaths = 0;
	int status = CLI_USAGE;
	job_list jobs = {0};

	/* A leading '-' makes getopt return paths in place (as option 1)
	 * rather than permuting argv: options may follow paths whatever
	 * POSIXLY_CORRECT says, and the order of paths is kept. ':' lets us
	 * word the errors ourselves. */
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
		switch (c) {
		case 1: paths[npaths++] = optarg; break;
		case 'j':
			if (cli_parse_jobs(cmd, optarg, &nworkers) != 0)
				goto done;
			break;
		case OPT_JSON: pr.fmt.json = 1; break;
		case OPT_DIHEDRAL: pr.fmt.dihedral = 1; break;
		case OPT_NO_PROGRESS: no_progress = 1; break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "vpdq")) {
				pr.vpdq_lines = 1;
			} else if (strcmp(optarg, "pdq") != 0) {
				cli_usage(cmd, "--format: '%s' is not pdq or vpdq", optarg);
				goto done;
			}
			break;
		case 'q': pr.quiet = 1; break;
		case 'h':
			cmd_hash_help(stdout);
			status = CLI_OK;
			goto done;
		default:
			cli_getopt_error(cmd, c, argv);
			goto done;
		}
	}
	while (optind < argc) /* after "--" */
		paths[npaths++] = argv[optind++];
	if (npaths == 0) {
		cli_usage(cmd, "no PATH given (use '-' to read paths from standard input)");
		goto done;
	}
	veto_hash_options opts;
	if (cli_hash_options(cmd, &flags, &opts) != 0)
		goto done;
	opts.dihedral = pr.fmt.dihedral;
	opts.digests = pr.fmt.json; /* only JSON shows them */
	pr.fmt.mode = opts.mode;

	status = cli_walk_args(cmd, paths, npaths, &jobs);
	if (status != 0)
		goto done;
	if (jobs.n == 0) {
		if (!pr.quiet)
			out_message(NULL, "warning: no files to hash");
		status = CLI_OK;
		goto done;
	}

	if (pr.vpdq_lines && pr.fmt.json) {
		cli_usage(cmd, "--format vpdq and --json cannot be used together");
		status = CLI_USAGE;
		goto done;
	}
	cli_fit_workers(&jobs, &nworkers, &opts);
	veto_video_options vopts;
	cli_video_options(&vflags, &flags, &vopts);
	/* Cores are shared between the files hashed at once. */
	vopts.threads = (int)((cli_default_jobs() + nworkers - 1) / nworkers);
	pr.vflags = &vflags;
	pr.stdout_tty = isatty(STDOUT_FILENO);
	progress_init(&pr.bar, !no_progress && !pr.quiet && isatty(STDERR_FILENO) &&
	                       jobs.n > PROGRESS_MIN_FILES, jobs.n);

	pool_spec spec = {.jobs = &jobs, .opts = &opts, .nworkers = nworkers, .bar = &pr.bar,
	                  .ctx = &pr, .emit = emit, .vflags = &vflags, .vopts = &vopts};
	status = pool_run(&spec) == 0 ? CLI_OK : CLI_FAIL;
	pool_report_skipped(pr.skipped, pr.quiet);
	if (status == CLI_OK && pr.failures)
		status = CLI_FAIL;
done:
	job_list_free(&jobs);
	free(paths);
	return status;
}
