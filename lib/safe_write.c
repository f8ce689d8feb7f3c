/*
 * safe_write.c - writing a file so that a crash leaves the old one or the
 * new one, never half of either (banks in index_file.c, .tmk files in
 * tmk.c).
 *
 * The body goes to a temporary file beside the target (mkstemp: mode 0600,
 * as everything veto writes describes private media), is fsync'd, renamed
 * over the target, and the directory is fsync'd so the rename itself is
 * durable. On any failure the temporary file is removed.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int veto_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *c = (const uint8_t *)p;
	while (n) {
		ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int veto_write_file_safely(const char *path, const char *what,
                           int (*body)(int fd, void *ctx), void *ctx, veto_error *err)
{
	size_t plen = strlen(path);
	char *tmp = (char *)malloc(plen + 16);
	if (!tmp)
		return veto_fail(err, VETO_ERR_NOMEM, "out of memory");
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return veto_fail(err, VETO_ERR_IO, "%s: cannot create a temporary file beside "
		                 "it: %s", path, strerror(e));
	}
	int bad = body(fd, ctx) != 0 || fsync(fd) != 0;
	int e = errno;
	if (close(fd) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (!bad && rename(tmp, path) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(tmp);
		free(tmp);
		return veto_fail(err, VETO_ERR_IO, "%s: cannot write the %s: %s", path, what,
		                 strerror(e));
	}
	free(tmp);
	char *dup = strdup(path);
	if (dup) {
		int dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dup);
	}
	return VETO_OK;
}
