/*
 * sandbox.h - a run in private namespaces (docs/sandbox.md): its own user,
 * network, mount and pid namespaces, loopback up and nothing else, a private
 * /etc/resolv.conf and /etc/nsswitch.conf ("hosts: files dns"), nscd's and
 * systemd-resolved's sockets hidden; and, for exec commands, a resolv.conf
 * of their own (spawn.h, spawn_piped_resolv).
 *
 * The process layout (why three processes, not one):
 *
 *   outer  (the process the user started; stays in the host's namespaces)
 *     |  clone(NEWUSER|NEWPID|NEWNET|NEWNS); writes the child's uid/gid maps
 *     |  relays SIGINT, SIGTERM, SIGHUP inward; exits with the run's exit
 *     |  status, or dies of the signal the harness died of
 *     v
 *   init   (pid 1 of the run's pid namespace, ours, system calls only)
 *     |  in a process group of its own (so a terminal's ^C, or timeout(1)
 *     |  signalling its group, reaches the harness once, through outer);
 *     |  sets the namespaces up (mounts, lo), reports to outer, forks the
 *     |  harness, relays signals to it, reaps every orphan; PR_SET_PDEATHSIG
 *     |  SIGKILL tied to outer (checked against the race by a pipe only outer
 *     |  holds open), so outer's SIGKILL kills init
 *     v
 *   harness (pid 2: returns from sandbox_ns_enter and runs the scenario; every
 *           thread, the farm, exec commands and their guardians live here)
 *
 * When pid 1 of a pid namespace ends, the kernel SIGKILLs everything else in
 * it, and when the last process of a namespace is gone the namespace goes,
 * with its mounts (the mount namespace's root is made recursively private
 * first, so no mount propagates to the host) and its loopback. So a SIGKILL
 * of outer (init follows by PDEATHSIG), of init, or of the harness (init
 * sees it end and ends) leaves no process, mount or namespace behind.
 * Outer stays outside because the user's signals and the exit status must
 * reach the process the user started, and the uid/gid maps of a user
 * namespace must be written from its parent namespace to map more than
 * one's own uid (root's identity map of the whole range); the harness is not
 * pid 1 because pid 1 ignores every signal it has no handler for and must
 * reap orphans (a daemon's double fork) the harness would never wait for.
 *
 * The private files live on a tmpfs mounted over /tmp while they are made,
 * bound over their targets, then detached: nothing is ever written to the
 * host's disk, and they vanish with the namespace.
 *
 * sandbox_ns_enter must be called before any thread exists (unshare and clone
 * of a user namespace fail in a threaded process). The rest is thread-safe.
 */
#ifndef DNSCHAOS_HARNESS_SANDBOX_H
#define DNSCHAOS_HARNESS_SANDBOX_H

#include <stdbool.h>

enum sandbox_mode {
	SANDBOX_AUTO, /* the sandbox where it works, else the host with one line on stderr */
	SANDBOX_ON,   /* --sandbox: the sandbox or an error */
	SANDBOX_OFF,  /* --no-sandbox: the host's loopback */
};

enum sandbox_result {
	SANDBOX_INSIDE, /* this process is the harness inside the sandbox: go on */
	SANDBOX_HOST,   /* no sandbox: go on, on the host (AUTO said why on stderr, or OFF) */
	SANDBOX_EXIT,   /* this process is outer (the run is over) or the sandbox could not be
			   had with SANDBOX_ON: end with *code (sandbox_ns_exit) */
};

/*
 * Enters the sandbox per mode (above). Prints on stderr why it could not
 * (AUTO: one line, then SANDBOX_HOST; ON: the reason, then SANDBOX_EXIT with
 * *code 4). In outer, returns SANDBOX_EXIT once the run is over, with *code
 * the harness's exit code, or minus the signal that ended it.
 */
enum sandbox_result sandbox_ns_enter(enum sandbox_mode mode, int *code);

/*
 * What main returns for SANDBOX_EXIT's code: the code itself, or for a
 * signal (code < 0) the process dies of the same signal (no core), as the
 * harness did; 128 + signal only if it does not.
 */
int sandbox_ns_exit(int code);

/* Whether this process runs inside the sandbox (any thread). */
bool sandbox_ns_active(void);

#endif
