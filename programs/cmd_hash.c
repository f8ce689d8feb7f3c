/*
 * cmd_hash.c - `veto hash`: hash files and directories in parallel and
 * print the results in input order.
 *
 * Design: walk.c first turns the PATH arguments into an array of jobs. A
 * pool of pthread workers claims jobs in index order and writes each result
 * into a ring of `window` slots (slot = index % window); the main thread
 * alone prints, taking results strictly in index order as soon as the next
 * one is done, so output streams in input order whatever the timing. A
 * worker may not run more than `window` jobs ahead of the printer, which
 * bounds memory however many files there are. The main thread also owns
 * the progress bar: it wakes for results or, when the bar is shown, every
 * 100 ms to redraw it. Workers never print.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOBS 1024   /* -j limit: more threads than this only cost memory */
#define PROGRESS_MIN_FILES 20

enum { OPT_JSON = OPT_FIRST_FREE, OPT_DIHEDRAL, OPT_NO_PROGRESS };

void cmd_hash_help(FILE *f)
{
	fputs("Usage: veto hash [OPTIONS] PATH...\n"
	      "\n"
	      "Print the PDQ hash of each image, one line per file, in input order:\n"
	      "  HASH,QUALITY,PATH         (the output of pdq-photo-hasher)\n"
	      "HASH is 64 lowercase hex digits and QUALITY 0..100; hashes of images with\n"
	      "quality below 50 should not be used for matching.\n"
	      "\n"
	      "Each PATH is an image file, a directory, or '-' to read paths from standard\n"
	      "input, one per line. Directories are walked recursively in byte order of\n"
	      "names, including hidden files; symlinks are followed, loops are skipped with\n"
	      "a warning, and FIFOs, sockets and devices inside directories are skipped.\n"
	      "Files found in directories whose content is not an image are skipped and\n"
	      "counted; a file named explicitly that is not an image is an error.\n"
	      "Formats are recognised by content, not by file name. Options may come\n"
	      "before or after the paths; put paths that start with '-' after '--'.\n"
	      "\n"
	      "Options:\n"
	      "  -j, --jobs N        hash N files at a time (default: the number of CPUs)\n"
	      "      --json          print one JSON object per line instead: path, format,\n"
	      "                      width, height, hashed_width, hashed_height,\n"
	      "                      orientation, oriented, mode, pdq, quality, md5, sha256,\n"
	      "                      bytes (and dihedral with --dihedral)\n"
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

/* ------------------------------------------------------------ the pool --- */

typedef struct slot {
	int done;   /* set by the worker, cleared by the printer */
	int rc;
	veto_image_hashes h;
	veto_error err;
} slot;

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t posted;  /* a slot was filled: the printer waits on it */
	pthread_cond_t space;   /* the printer moved on: workers wait on it */
	const job_list *jobs;
	const veto_hash_options *opts;
	slot *slots;
	size_t window;
	size_t next_claim;      /* next job a worker takes */
	size_t next_print;      /* next job the printer prints */
	size_t completed;       /* jobs finished, for the progress bar */
	int stop;               /* the printer gave up (output error) */
} pool;

static void *worker(void *arg)
{
	pool *p = arg;
	const size_t n = p->jobs->n;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next_claim < n && p->next_claim >= p->next_print + p->window)
			pthread_cond_wait(&p->space, &p->mu);
		if (p->stop || p->next_claim >= n)
			break;
		size_t i = p->next_claim++;
		/* The slot is this worker's alone until it sets done. */
		slot *s = &p->slots[i % p->window];
		const job *j = &p->jobs->v[i];
		pthread_mutex_unlock(&p->mu);

		s->rc = VETO_OK;
		if (j->kind == JOB_FILE || j->kind == JOB_FOUND) {
			memset(&s->err, 0, sizeof s->err);
			s->rc = veto_hash_image_file(j->path, p->opts, &s->h, &s->err);
		}

		pthread_mutex_lock(&p->mu);
		s->done = 1;
		p->completed++;
		pthread_cond_signal(&p->posted);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

typedef struct printer {
	out_format fmt;
	progress bar;
	int quiet;
	int stdout_tty;
	size_t failures;
	size_t skipped;   /* JOB_FOUND files that are not images */
} printer;

static void emit(printer *pr, const job *j, const slot *s)
{
	switch (j->kind) {
	case JOB_ERROR:
		out_message(&pr->bar, "%s", j->msg);
		pr->failures++;
		return;
	case JOB_WARNING:
		if (!pr->quiet)
			out_message(&pr->bar, "warning: %s", j->msg);
		return;
	}
	if (s->rc == VETO_ERR_FORMAT && j->kind == JOB_FOUND) {
		/* A README or CSV beside the photos in a directory: not an error. */
		pr->skipped++;
		return;
	}
	if (s->rc != VETO_OK) {
		if (s->err.message[0])
			out_message(&pr->bar, "%s", s->err.message);
		else
			out_message(&pr->bar, "%s: %s", j->path, veto_status_name(s->rc));
		pr->failures++;
		return;
	}
	if (pr->stdout_tty)
		progress_clear(&pr->bar);
	if (out_hash(stdout, &pr->fmt, j->path, &s->h) != 0) {
		out_message(&pr->bar, "%s: out of memory formatting the JSON", j->path);
		pr->failures++;
	}
}

static void deadline_after(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Print results in order as they complete. Returns 0, or -1 if writing to
 * stdout failed (then the workers are told to stop). */
static int print_in_order(pool *p, printer *pr)
{
	const size_t n = p->jobs->n;
	long due = progress_update(&pr->bar, 0, 1);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t start = p->next_print;
		while (start < n && !p->slots[start % p->window].done) {
			if (due < 0) {
				pthread_cond_wait(&p->posted, &p->mu);
			} else {
				struct timespec t;
				deadline_after(&t, due);
				if (pthread_cond_timedwait(&p->posted, &p->mu, &t) == ETIMEDOUT)
					break; /* time to redraw the bar */
			}
		}
		size_t end = start;
		while (end < n && end < start + p->window && p->slots[end % p->window].done)
			end++;
		size_t completed = p->completed;
		pthread_mutex_unlock(&p->mu);

		/* Slots [start, end) are done and no worker touches them now. */
		for (size_t i = start; i < end; i++)
			emit(pr, &p->jobs->v[i], &p->slots[i % p->window]);
		int write_error = 0;
		if (end > start)
			write_error = fflush(stdout) != 0 || ferror(stdout);

		pthread_mutex_lock(&p->mu);
		for (size_t i = start; i < end; i++)
			p->slots[i % p->window].done = 0;
		p->next_print = end;
		if (write_error)
			p->stop = 1;
		pthread_cond_broadcast(&p->space);
		pthread_mutex_unlock(&p->mu);

		if (write_error)
			return -1;
		if (end >= n)
			return 0;
		due = progress_update(&pr->bar, completed, 0);
	}
}

static int run_pool(const job_list *jobs, const veto_hash_options *opts, size_t nworkers,
                    printer *pr)
{
	pool p;
	memset(&p, 0, sizeof p);
	p.jobs = jobs;
	p.opts = opts;
	p.window = 4 * nworkers + 16;
	p.slots = calloc(p.window, sizeof *p.slots);
	pthread_t *threads = calloc(nworkers, sizeof *threads);
	if (!p.slots || !threads) {
		free(p.slots);
		free(threads);
		out_message(NULL, "out of memory");
		return CLI_FAIL;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* Redraw deadlines are on the monotonic clock, immune to clock changes. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.posted, &ca);
	pthread_cond_init(&p.space, NULL);
	pthread_condattr_destroy(&ca);

	size_t started = 0;
	while (started < nworkers && pthread_create(&threads[started], NULL, worker, &p) == 0)
		started++;
	int status = CLI_OK;
	if (started == 0) {
		out_message(NULL, "cannot start a worker thread: %s", strerror(errno));
		status = CLI_FAIL;
	} else {
		if (print_in_order(&p, pr) != 0) {
			out_message(&pr->bar, "error writing the output: %s", strerror(errno));
			status = CLI_FAIL;
		}
		for (size_t i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
	}
	progress_clear(&pr->bar);
	pthread_cond_destroy(&p.space);
	pthread_cond_destroy(&p.posted);
	pthread_mutex_destroy(&p.mu);
	free(threads);
	free(p.slots);
	return status;
}

/* -------------------------------------------------------------- command --- */

static size_t default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > MAX_JOBS ? MAX_JOBS : (size_t)n;
}

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
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "hash";
	cli_hash_flags flags = {0};
	printer pr;
	memset(&pr, 0, sizeof pr);
	size_t nworkers = default_jobs();
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
		if (r < 0)
			goto done;
		if (r > 0)
			continue;
		uint64_t v;
		switch (c) {
		case 1: paths[npaths++] = optarg; break;
		case 'j':
			if (cli_parse_u64(optarg, SUFFIX_NONE, &v) != 0 || v < 1 || v > MAX_JOBS) {
				cli_usage(cmd, "-j: '%s' is not a number from 1 to %d", optarg, MAX_JOBS);
				goto done;
			}
			nworkers = (size_t)v;
			break;
		case OPT_JSON: pr.fmt.json = 1; break;
		case OPT_DIHEDRAL: pr.fmt.dihedral = 1; break;
		case OPT_NO_PROGRESS: no_progress = 1; break;
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
	int stdin_seen = 0;
	for (size_t i = 0; i < npaths; i++)
		if (!strcmp(paths[i], "-") && stdin_seen++) {
			cli_usage(cmd, "'-' (read paths from standard input) can be given only once");
			goto done;
		}

	veto_hash_options opts;
	if (cli_hash_options(cmd, &flags, &opts) != 0)
		goto done;
	opts.dihedral = pr.fmt.dihedral;
	opts.digests = pr.fmt.json; /* only JSON shows them */
	pr.fmt.mode = opts.mode;

	status = CLI_FAIL;
	for (size_t i = 0; i < npaths; i++) {
		int rc = !strcmp(paths[i], "-") ? walk_list(&jobs, stdin) : walk_path(&jobs, paths[i]);
		if (rc != 0) {
			if (!strcmp(paths[i], "-") && ferror(stdin))
				out_message(NULL, "-: cannot read the list of paths: %s", strerror(errno));
			else
				out_message(NULL, "out of memory");
			goto done;
		}
	}
	if (jobs.n == 0) {
		if (!pr.quiet)
			out_message(NULL, "warning: no files to hash");
		status = CLI_OK;
		goto done;
	}

	size_t nfiles = 0;
	for (size_t i = 0; i < jobs.n; i++)
		nfiles += jobs.v[i].kind == JOB_FILE || jobs.v[i].kind == JOB_FOUND;
	/* Fewer files than workers: give each image a second thread (the PDQ
	 * filter beside the decoder) instead of leaving cores idle. */
	if (nfiles && nworkers >= 2 * nfiles)
		opts.threads = 2;
	if (nworkers > nfiles)
		nworkers = nfiles ? nfiles : 1;
	pr.stdout_tty = isatty(STDOUT_FILENO);
	progress_init(&pr.bar, !no_progress && !pr.quiet && isatty(STDERR_FILENO) &&
	                       jobs.n > PROGRESS_MIN_FILES, jobs.n);

	status = run_pool(&jobs, &opts, nworkers, &pr);
	if (pr.skipped && !pr.quiet)
		out_message(NULL, "skipped %zu file%s in directories that %s not images",
		            pr.skipped, pr.skipped == 1 ? "" : "s", pr.skipped == 1 ? "is" : "are");
	if (status == CLI_OK && pr.failures)
		status = CLI_FAIL;
done:
	job_list_free(&jobs);
	free(paths);
	return status;
}
