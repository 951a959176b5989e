/*
 * spawn.h - running a command in a process group of its own with its output
 * in a pipe, and waiting for it: what the exec client
 * (harness/clients/exec.c) and the health checker's exec check
 * (harness/lb/health.c) share.
 *
 * The command gets stdin from a pipe with no writer (EOF at once, nothing
 * taken from the file system), stdout and stderr into one pipe, no other
 * descriptor of ours (closed in the child: close_range, or one by one below
 * the descriptor limit, at most 65536, on kernels before 5.9), default dispositions for
 * every signal and an empty signal mask, whatever the runner has set. Its
 * process group id is its pid: killing the group kills its children too.
 *
 * It dies with the harness: PR_SET_PDEATHSIG (SIGKILL) is set in it before
 * its exec, tied to a thread of spawn.c's that lives as long as the process
 * (so a worker thread ending does not fire it), and a command started as the
 * harness dies is not run. Linux clears that setting when it runs a set-user-ID
 * or file-capability program, and its own children do not inherit it: they
 * outlive a SIGKILLed harness unless the command exits with them (harness
 * code kills the group whenever it reaps a command; see spawn_reap).
 *
 * The calls are thread-safe; commands are forked one at a time.
 */
#ifndef DNSCHAOS_HARNESS_SPAWN_H
#define DNSCHAOS_HARNESS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * A pipe, both ends close-on-exec (so no other command, spawned by another
 * thread meanwhile, inherits it and holds it open) and above 2 (so the
 * child's dup2 onto 0, 1 or 2 is never a no-op that keeps close-on-exec).
 * Returns 0 or an errno value; fds are -1 on failure.
 */
int spawn_pipe(int fds[2]);

/*
 * A command's minimal environment, NULL-terminated, "NAME=value" each: PATH
 * (ours, or /usr/local/bin:/usr/bin:/bin when we have none), then the npairs
 * pairs (pairs[2i] the name, pairs[2i+1] the value, both copied), a later
 * name replacing an earlier one (PATH too). Nothing else of our environment
 * is passed on (no secret in a token variable reaches a command, whose
 * output lands in the history). NULL when out of memory; free with
 * spawn_env_free.
 */
char **spawn_env_new(const char *const *pairs, size_t npairs);

/* Frees what spawn_env_new returned; NULL is a no-op. */
void spawn_env_free(char **env);

/*
 * Starts file (search: looked up in our PATH, as posix_spawnp does) with
 * argv and envp (NULL: our environment) as described above. On success returns 0
 * with the child in *pid and the read end of its output pipe (non-blocking,
 * close-on-exec) in *out_fd, the caller's to close; else an errno value,
 * with *pid and *out_fd untouched.
 */
int spawn_piped(const char *file, char *const argv[], char *const envp[], bool search, pid_t *pid,
                int *out_fd);

/*
 * Whether pid has ended: 1 yes, left unreaped (a zombie, WNOWAIT, so its
 * process group id cannot be reused yet); 0 not yet, or a signal
 * interrupted the look; a negative errno value when pid is no child of ours
 * to wait for any more (something else in the process reaped it: a
 * waitpid(-1), a SIGCHLD handler, SIGCHLD ignored). Never blocks.
 */
int spawn_ended(pid_t pid);

/*
 * Kills what is left of pid's process group (SIGKILL; pid itself too if it
 * still runs in it), then reaps pid, waiting for it. Call it only while pid
 * is unreaped (spawn_ended not negative), else the group id may be someone
 * else's. Returns 0 with pid's wait status in *status, or an errno value
 * when the status is lost (*status 0).
 */
int spawn_reap(pid_t pid, int *status);

#endif
