/*
 * outfile.c - creating the files dnschaos writes (see outfile.h).
 */
#include "harness/record/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned outfile_mode_from_umask(unsigned mask)
{
	return 0666u & ~mask;
}

unsigned outfile_dir_mode(unsigned mode)
{
	return (mode & 0777u) | ((mode & 0444u) >> 2);
}

int outfile_open(const char *path, unsigned mode)
{
	int fd = -1;

	if (!mode)
		mode = OUTFILE_MODE;
	/* A few times at most: the file may come or go between the two opens. */
	for (int tries = 0; tries < 4; tries++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* Exactly mode, whatever the umask (0600 until then). */
			if (fchmod(fd, mode & 07777u) != 0) {
				int e = errno;
				close(fd);
				unlink(path);
				return -e;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
		/* It exists: a device or a FIFO is written as is, a regular file truncated. */
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		struct stat st;
		int flags;
		if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0) ||
		    (flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		return fd;
	}
	return -EAGAIN;
}

int outfile_check(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *dir = NULL;
	int rc = 0;

	if (strcmp(path, "-") == 0)
		return 0;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "%s: a symbolic link, not followed: give the file itself",
				 path);
			return -ELOOP;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: a directory, not a file", path);
			return -EISDIR;
		}
		if (access(path, W_OK) != 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		}
		return rc;
	}
	if (errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* To be created: its directory must exist and take a new file. */
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;
	dir = malloc(n + 1);
	if (!dir) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (!slash)
		memcpy(dir, ".", 2);
	else if (n == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (stat(dir, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot create it: %s: %s", path, dir, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		snprintf(err, errlen, "%s: cannot create it: %s is not a directory", path, dir);
	} else if (access(dir, W_OK | X_OK) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot create it in %s: %s", path, dir, strerror(errno));
	}
	free(dir);
	return rc;
}

int outfile_mkdirs(const char *dir, unsigned dir_mode, char *err, size_t errlen)
{
	size_t n = strlen(dir);
	char *p = malloc(n + 1);
	int rc = -1;

	if (!p) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		struct stat st;
		if (mkdir(p, 0700) == 0) {
			/*
			 * Exactly dir_mode, whatever the umask (0700 until then), on the
			 * directory just made: through a descriptor that did not follow a
			 * link swapped in since.
			 */
			int dfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dfd < 0 || fchmod(dfd, dir_mode & 07777u) != 0) {
				snprintf(err, errlen, "cannot set the mode of %s: %s", p,
					 strerror(errno));
				if (dfd >= 0)
					close(dfd);
				goto out;
			}
			close(dfd);
		} else if (errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
			goto out;
		}
		if (c == 0 && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) {
			snprintf(err, errlen, "%s: not a directory", p);
			goto out;
		}
		p[i] = c;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int outfile_temp(const char *final, unsigned mode, char *tmp, size_t tmplen)
{
	const char *slash = strrchr(final, '/');
	size_t dlen = slash ? (size_t)(slash - final) + 1 : 0;
	const char *base = final + dlen;
	int n = snprintf(tmp, tmplen, "%.*s.%s.XXXXXX", (int)dlen, final, base);
	if (n < 0 || (size_t)n >= tmplen)
		return -ENAMETOOLONG;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode ? mode : OUTFILE_MODE) & 07777u) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return -e;
	}
	return fd;
}
