/*
 * walk.c - turn PATH arguments into the ordered list of jobs `veto hash`
 * works through.
 *
 * Design: the whole list is built before hashing starts, so the progress
 * bar knows its total and the order is fixed up front. Only paths are kept
 * (no file data), so even millions of files cost little memory.
 *  - A PATH that is not a directory becomes one job as it is, whatever it
 *    is (missing, a FIFO, /dev/stdin): the library says why it can't read it.
 *  - Directories are walked depth-first; the entries of each directory are
 *    sorted by the bytes of their names (strcmp, not the locale), so the
 *    output is the same on every machine.
 *  - Hidden files and directories are included: veto hashes what is there,
 *    and a dot is no reason to miss an image.
 *  - Symlinks are followed (to files and to directories); a directory that
 *    is the same (device, inode) as one of its ancestors is a loop and is
 *    skipped with a warning. Inside directories, entries that are neither
 *    files nor directories (FIFOs, sockets, devices) are skipped silently:
 *    reading a FIFO could block forever.
 *  - A directory that cannot be read becomes an error job, so the failure
 *    is reported in order and sets the exit status like any other.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The chain of directories from the walk's root down to the current one. */
typedef struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
} ancestor;

static int push(job_list *jobs, int kind, const char *path, char *msg)
{
	if (jobs->n == jobs->cap) {
		size_t cap = jobs->cap ? jobs->cap * 2 : 64;
		job *v = realloc(jobs->v, cap * sizeof *v);
		if (!v) {
			free(msg);
			return -1;
		}
		jobs->v = v;
		jobs->cap = cap;
	}
	char *p = strdup(path);
	if (!p) {
		free(msg);
		return -1;
	}
	jobs->v[jobs->n++] = (job){p, msg, kind};
	return 0;
}

/* A malloc'd message "PATH: FORMATTED", or NULL when out of memory. */
static char *message(const char *path, const char *fmt, ...) CLI_PRINTF(2, 3);
static char *message(const char *path, const char *fmt, ...)
{
	char tail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tail, sizeof tail, fmt, ap);
	va_end(ap);
	size_t n = strlen(path) + strlen(tail) + 3;
	char *m = malloc(n);
	if (m)
		snprintf(m, n, "%s: %s", path, tail);
	return m;
}

static int push_msg(job_list *jobs, int kind, const char *path, char *msg)
{
	if (!msg)
		return -1;
	return push(jobs, kind, path, msg);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int slash = dl > 0 && dir[dl - 1] != '/';
	char *p = malloc(dl + slash + nl + 1);
	if (p) {
		memcpy(p, dir, dl);
		if (slash)
			p[dl] = '/';
		memcpy(p + dl + slash, name, nl + 1);
	}
	return p;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Read and sort the names in `path` (without "." and ".."). The directory
 * is closed before returning so deep trees don't use up descriptors. */
static int list_dir(const char *path, char ***out, size_t *count, int *err)
{
	*out = NULL;
	*count = 0;
	*err = 0;
	DIR *d = opendir(path);
	if (!d) {
		*err = errno;
		return 0;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			*err = errno; /* 0 at the end of the directory */
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **v = realloc(names, cap * sizeof *v);
			if (!v)
				goto nomem;
			names = v;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto nomem;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	*out = names;
	*count = n;
	return 0;
nomem:
	closedir(d);
	free_names(names, n);
	return -1;
}

static int walk_dir(job_list *jobs, const char *path, const ancestor *self)
{
	char **names;
	size_t n;
	int err;
	if (list_dir(path, &names, &n, &err) != 0)
		return -1;
	if (err) {
		free_names(names, n);
		return push_msg(jobs, JOB_ERROR, path,
		                message(path, "cannot read directory: %s", strerror(err)));
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *child = join(path, names[i]);
		if (!child) {
			rc = -1;
			break;
		}
		struct stat st;
		if (stat(child, &st) != 0) {
			/* A dangling symlink, say: let the library say so. */
			rc = push(jobs, JOB_FOUND, child, NULL);
		} else if (S_ISDIR(st.st_mode)) {
			const ancestor *a = self;
			while (a && !(a->dev == st.st_dev && a->ino == st.st_ino))
				a = a->up;
			if (a)
				rc = push_msg(jobs, JOB_WARNING, child,
				              message(child, "directory loop (a symlink back to "
				                      "an enclosing directory), skipped"));
			else {
				ancestor next = {st.st_dev, st.st_ino, self};
				rc = walk_dir(jobs, child, &next);
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = push(jobs, JOB_FOUND, child, NULL);
		}
		free(child);
	}
	free_names(names, n);
	return rc;
}

int walk_path(job_list *jobs, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		ancestor root = {st.st_dev, st.st_ino, NULL};
		return walk_dir(jobs, path, &root);
	}
	return push(jobs, JOB_FILE, path, NULL);
}

int walk_list(job_list *jobs, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	errno = 0;
	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r') /* lists written on Windows */
			line[--len] = '\0';
		if (len > 0)
			rc = walk_path(jobs, line);
	}
	if (rc == 0 && ferror(in))
		rc = -1;
	free(line);
	return rc;
}

void job_list_free(job_list *jobs)
{
	for (size_t i = 0; i < jobs->n; i++) {
		free(jobs->v[i].path);
		free(jobs->v[i].msg);
	}
	free(jobs->v);
	jobs->v = NULL;
	jobs->n = jobs->cap = 0;
}
