/*
 * ctl.h - the control socket of a game day (`dnschaos run --control PATH`,
 * docs/gameday.md): a Unix domain stream socket served on the run's loop,
 * one command a line, one JSON reply a line.
 *
 * A farm command ("r1 hang duration=30") is parsed by the describing
 * layer's parser for the same action on the timeline (runner_script's
 * command op) and carried out by run_act, as a timeline entry is; the lines
 * it writes are marked "manual":true (history_set_manual) and followed by a
 * `control` line. Run commands: status, pause, resume, extend SECONDS, abort.
 *
 * Only a peer with the harness's own uid is served (SO_PEERCRED): anyone
 * else gets one line and is closed. Lines are at most CTL_LINE_MAX bytes,
 * connections at most CTL_CONNS_MAX, and a client whose replies back up past
 * CTL_OUTPUT_MAX is dropped: nothing a client does blocks the loop.
 *
 * Loop thread only, but ctl_listen, which runs before any thread.
 */
#ifndef HARNESS_RUN_CTL_H
#define HARNESS_RUN_CTL_H

#include <stddef.h>

struct runner;
struct ctl_server;

#define CTL_LINE_MAX 4096          /* bytes in a command line, its newline excluded */
#define CTL_CONNS_MAX 8            /* connections served at once */
#define CTL_OUTPUT_MAX (256 * 1024) /* replies queued for a client before it is dropped */

/*
 * Creates the listening socket at path, mode 0600 whatever the umask (the
 * umask is set around bind: call it before any thread starts). A socket
 * file nobody listens on (a run that was killed) is replaced; anything else
 * at path is refused. Returns the socket (non-blocking, close-on-exec), or
 * -1 with err set (path is wrong: a bad input) or -2 (the system refused).
 */
int ctl_listen(const char *path, char *err, size_t errlen);

/*
 * Serves the listening socket fd (taken: closed on failure too) on r's
 * loop; path (copied) is removed by ctl_server_destroy. Prints
 * "dnschaos: control socket: PATH" on stderr. NULL with err on failure.
 */
struct ctl_server *ctl_server_create(struct runner *r, int fd, const char *path, char *err,
				     size_t errlen);

/*
 * Stops serving: what each client still has queued is written if the socket
 * takes it now, then every connection and the socket are closed and path is
 * removed; a pending expiry (a process hang's duration=) is dropped (the
 * run's end heals it). NULL is a no-op.
 */
void ctl_server_destroy(struct ctl_server *s);

/*
 * The control socket as the run's service (runner_set_service): fd (from
 * ctl_listen, taken) is served from the run's start (ctl_server_create) to
 * its stop (ctl_server_destroy); if the run never starts, stop closes fd and
 * removes path. Fills *out; -1 (fd closed, path removed) when out of memory.
 */
struct runner_service;
int ctl_service(int fd, const char *path, struct runner_service *out);

#endif
