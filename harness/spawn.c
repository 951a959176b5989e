/*
 * spawn.c - see spawn.h.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include "harness/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int spawn_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fds[0] = fds[1] = -1;
		return errno;
	}
	for (int i = 0; i < 2; i++) {
		if (fds[i] > 2)
			continue;
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		int e = errno;
		close(fds[i]);
		fds[i] = fd;
		if (fd < 0) {
			close(fds[1 - i]);
			fds[1 - i] = -1;
			return e;
		}
	}
	return 0;
}

int spawn_piped(const char *file, char *const argv[], char *const envp[], bool search, pid_t *pid,
                int *out_fd)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_init = false, attr_init = false;
	sigset_t set;
	pid_t child;
	int rc;

	if ((rc = spawn_pipe(in)) != 0 || (rc = spawn_pipe(out)) != 0)
		goto out;
	close(in[1]);
	in[1] = -1;
	int fl = fcntl(out[0], F_GETFL);
	if (fl < 0 || fcntl(out[0], F_SETFL, fl | O_NONBLOCK) != 0) {
		rc = errno;
		goto out;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	fa_init = true;
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 2)) != 0)
		goto out;
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
	if ((rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto out;
#endif
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto out;
	attr_init = true;
	sigfillset(&set);
	sigdelset(&set, SIGKILL);
	sigdelset(&set, SIGSTOP);
	if ((rc = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &set)) != 0)
		goto out;
	sigemptyset(&set);
	if ((rc = posix_spawnattr_setsigmask(&attr, &set)) != 0 ||
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	                                                  POSIX_SPAWN_SETSIGMASK)) != 0)
		goto out;
	if (!envp)
		envp = environ;
	rc = search ? posix_spawnp(&child, file, &fa, &attr, argv, envp)
	            : posix_spawn(&child, file, &fa, &attr, argv, envp);
	if (rc == 0) {
		*pid = child;
		*out_fd = out[0];
		out[0] = -1;
	}
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return rc;
}

int spawn_ended(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == EINTR ? 0 : -errno;
	return si.si_pid == pid;
}

int spawn_reap(pid_t pid, int *status)
{
	pid_t r;
	*status = 0;
	kill(-pid, SIGKILL);
	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	if (r == pid)
		return 0;
	*status = 0;
	return r < 0 ? errno : ECHILD;
}
