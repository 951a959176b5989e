/*
 * spawn.h - running a command in a process group of its own, under a
 * guardian that takes down all it starts, with its output in a pipe, and
 * waiting for it: what the exec client
 * (harness/clients/exec.c) and the health checker's exec check
 * (harness/lb/health.c) share.
 *
 * The command gets stdin from a pipe with no writer (EOF at once, nothing
 * taken from the file system), stdout and stderr into one pipe, no other
 * descriptor of ours (closed in the child: close_range, or one by one below
 * the descriptor limit, at most 65536, on kernels before 5.9), default dispositions for
 * every signal and an empty signal mask, whatever the runner has set. Its
 * process group id is the returned pid (its guardian's, below): killing the
 * group kills it, its guardian and its children that stayed in the group.
 *
 * Everything it starts dies with the harness, even a SIGKILLed one, through
 * a guardian. The pid returned is not the command's but the guardian's: a
 * small process of ours, leader of the process group (id = its pid) the
 * command runs in, and subreaper (PR_SET_CHILD_SUBREAPER) of all below it,
 * so every orphan of the command's tree becomes its child. It gets
 * PR_SET_PDEATHSIG (SIGTERM, which it waits for), tied to a thread of
 * spawn.c's that lives as long as the process (so a worker thread ending
 * does not fire it); a command started as the harness dies is not run.
 *  - When the harness dies, the guardian kills its children (SIGKILL), and
 *    again as their own children come up to it, then the whole group,
 *    itself last.
 *  - When the command ends, the guardian reaps it, does the same sweep
 *    (what the command left running: a background job, a setsid'd helper,
 *    a double-forked daemon), then exits with the command's wait status:
 *    its exit code, or the same signal re-raised on itself (no core dump).
 *    Callers see what they would see from the command itself.
 *  - spawn_stop (an exec client's time limit, the end of the run) and an
 *    exec health check's timeout (SIGTERM to the guardian, from the loop)
 *    ask the guardian for the same sweep, then spawn_reap kills the rest of
 *    the group. SIGKILL sent by the harness to the group alone (spawn_reap
 *    without a stop before it) takes the guardian, the command and the rest
 *    of the group at once, but not what left the group.
 *
 * What is not covered: a process that left the group (setsid, setpgid)
 * while its parent still runs, when the guardian itself is SIGKILLed
 * (by the command, or by the harness when a sweep overran its wait):
 * with nobody to sweep, it is reparented to init. A set-user-ID
 * or file-capability program ignores our signals (and Linux clears
 * PR_SET_PDEATHSIG in it); the guardian's sweep gives up on it after about
 * a second. Where /proc/thread-self/children is missing (no
 * CONFIG_PROC_CHILDREN, no /proc), the sweep cannot list children and only
 * the group is killed. The sandbox's pid namespace (harness/sandbox.h)
 * covers all of these when the harness dies: its end kills every process
 * of the run.
 *
 * Why a guardian and not PR_SET_PDEATHSIG on the command alone (what came
 * before): the command's own children do not inherit it, so a command's
 * background job outlived a SIGKILLed harness; and no process of the
 * harness survives its SIGKILL to kill the group for it.
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
 * with the guardian (the child: its wait status is the command's) in *pid and the read end of its output pipe (non-blocking,
 * close-on-exec) in *out_fd, the caller's to close; else an errno value,
 * with *pid and *out_fd untouched.
 */
int spawn_piped(const char *file, char *const argv[], char *const envp[], bool search, pid_t *pid,
                int *out_fd);

/*
 * spawn_piped, and the command sees resolv (the text of a resolv.conf,
 * borrowed until the call returns; NULL: as spawn_piped) as its
 * /etc/resolv.conf: its guardian enters a mount namespace of its own and
 * binds the file there, on a tmpfs that never reaches a disk. Needs the
 * privilege to mount (the sandbox, harness/sandbox.h); a failure is
 * returned as the errno value of the mount, the command not run.
 */
int spawn_piped_resolv(const char *file, char *const argv[], char *const envp[], bool search,
                       const char *resolv, pid_t *pid, int *out_fd);

/*
 * Whether pid has ended: 1 yes, left unreaped (a zombie, WNOWAIT, so its
 * process group id cannot be reused yet); 0 not yet, or a signal
 * interrupted the look; a negative errno value when pid is no child of ours
 * to wait for any more (something else in the process reaped it: a
 * waitpid(-1), a SIGCHLD handler, SIGCHLD ignored). Never blocks.
 */
int spawn_ended(pid_t pid);

/*
 * Asks pid's guardian to end everything the command started (SIGTERM: its
 * sweep, then SIGKILL to the group, itself included) and waits, at most
 * wait_s, until it has ended (unreaped). The sweep reaches what left the
 * group, which spawn_reap's SIGKILL to the group alone does not. Blocks (a
 * worker thread's call, not the loop's). Call it only while pid is
 * unreaped; spawn_reap after it.
 */
void spawn_stop(pid_t pid, double wait_s);

/*
 * Kills what is left of pid's process group (SIGKILL; pid itself too if it
 * still runs in it), then reaps pid, waiting for it. Call it only while pid
 * is unreaped (spawn_ended not negative), else the group id may be someone
 * else's. Returns 0 with pid's wait status in *status, or an errno value
 * when the status is lost (*status 0).
 */
int spawn_reap(pid_t pid, int *status);

#endif
