/*
 * spawn_bench.c - what the guardian costs per command (harness/spawn.h).
 *
 * Runs /bin/true N times each way, rounds alternating, side by side:
 *   direct:   posix_spawn (a vfork and an exec, what spawn_piped cost before
 *             the guardian: the command was vforked straight from the harness)
 *             with stdout into a pipe, read to end of file, waitpid;
 *   guarded:  spawn_piped (a fork of the harness for the guardian, which
 *             vforks the command), read to end of file, spawn_reap;
 * and prints microseconds per command for each and their ratio. The fork
 * copies the harness's page tables, so its cost grows with the memory the
 * harness has touched: BALLAST_MB of it is touched first (default 64, about
 * what a run with a few zones holds), and 0 shows the floor.
 *
 * Usage: spawn_bench [N [BALLAST_MB [PROGRAM ARG...]]]   (defaults 2000, 64,
 * /bin/true; PROGRAM is a full path, run with its arguments, its output
 * read and dropped; it must exit, with any code)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/spawn.h"

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drain(int fd)
{
	char buf[256];
	struct timespec ms = {0, 100000};
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n == 0)
			return;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return;
		if (n < 0 && errno == EAGAIN)
			nanosleep(&ms, NULL); /* spawn_piped's end is non-blocking */
	}
}

static int run_direct(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int fds[2], st;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc == 0) {
		drain(fds[0]);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	close(fds[0]);
	return rc == 0 && WIFEXITED(st) ? 0 : -1;
}

static int run_guarded(char *const argv[])
{
	pid_t pid;
	int fd, st;

	if (spawn_piped(argv[0], argv, NULL, false, &pid, &fd) != 0)
		return -1;
	drain(fd);
	close(fd);
	/* As the callers do: reap once it ended (spawn_ended), here waiting for it. */
	siginfo_t si;
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR)
		;
	return spawn_reap(pid, &st) == 0 && WIFEXITED(st) ? 0 : -1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	long mb = argc > 2 ? atol(argv[2]) : 64;
	char *deflt[] = {"/bin/true", NULL};
	char **cmd = argc > 3 ? argv + 3 : deflt;
	double t_direct = 0, t_guarded = 0;
	long done_direct = 0, done_guarded = 0, fail_direct = 0, fail_guarded = 0;
	const long rounds = 10;

	if (n < rounds || mb < 0) {
		fprintf(stderr, "usage: spawn_bench [N >= %ld [BALLAST_MB]]\n", rounds);
		return 2;
	}
	char *ballast = mb ? malloc((size_t)mb << 20) : NULL;
	if (mb && !ballast) {
		fprintf(stderr, "spawn_bench: cannot allocate %ld MB\n", mb);
		return 1;
	}
	if (ballast)
		memset(ballast, 1, (size_t)mb << 20);
	for (long r = 0; r < rounds; r++) {
		double t = now();
		for (long i = 0; i < n / rounds; i++, done_direct++)
			fail_direct += run_direct(cmd) != 0;
		t_direct += now() - t;
		t = now();
		for (long i = 0; i < n / rounds; i++, done_guarded++)
			fail_guarded += run_guarded(cmd) != 0;
		t_guarded += now() - t;
	}
	double d = t_direct / (double)done_direct * 1e6, g = t_guarded / (double)done_guarded * 1e6;
	printf("spawn_bench: %ld commands (%s) each way, %ld MB of touched ballast\n", done_direct,
	       cmd[0], mb);
	printf("  direct (posix_spawn, as before)  %8.1f us/command  %7.0f commands/s\n", d, 1e6 / d);
	printf("  guarded (spawn_piped)            %8.1f us/command  %7.0f commands/s\n", g, 1e6 / g);
	printf("  ratio guarded/direct             %8.2f\n", g / d);
	if (fail_direct || fail_guarded)
		printf("  FAILURES: %ld direct, %ld guarded commands did not run or did not exit\n", fail_direct,
		       fail_guarded);
	free(ballast);
	return fail_direct || fail_guarded ? 1 : 0;
}
