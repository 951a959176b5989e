/*
 * vip_dnsdist.h - a VIP served by Debian's dnsdist (s:vip{ kind = "dnsdist" }):
 * the run writes its configuration (harness/lb/dnsdist.h), starts it under
 * spawn.c's guardian (it dies with the harness, even a SIGKILLed one), waits
 * until its webserver answers, polls /api/v1/servers/localhost on the loop
 * every VIP_DNSDIST_POLL seconds with libevent's evhttp (never blocking the
 * loop), and writes what it sees to the history: a `health` up/down line
 * when dnsdist changes a backend's state (timed at the poll that saw it:
 * up to one poll period late), a `backend_stats` line when a backend's
 * counters moved. Stopped (SIGTERM to the guardian, which kills the rest)
 * at the end of the run.
 *
 * For the loop thread only; vip_dnsdist_check blocks (load time).
 */
#ifndef HARNESS_FARM_VIP_DNSDIST_H
#define HARNESS_FARM_VIP_DNSDIST_H

#include <stdbool.h>
#include <stddef.h>

#include "fakeresolver/addr.h"
#include "harness/lb/dnsdist.h"

struct run_env;
struct vip_dnsdist;

/* The poll period, seconds: the error bound of every time read back. */
#define VIP_DNSDIST_POLL 0.1

/*
 * The dnsdist binary: $DNSCHAOS_DNSDIST, else "dnsdist" looked up in PATH,
 * into out. Returns 0, or -ENOENT with err saying it is missing and how to
 * install it.
 */
int vip_dnsdist_binary(char *out, size_t cap, char *err, size_t errlen);

/*
 * Runs `dnsdist --check-config` on the configuration c (its listen,
 * webserver and api_key are filled here with placeholders when NULL), in a
 * private temporary folder, blocking at most 10 s. Returns 0; -ENOENT when
 * dnsdist is missing; -EINVAL when dnsdist refuses it, with err holding
 * dnsdist's message (which names the user's file and line when the fault is
 * in it); another negative errno value on a system error. err set on failure.
 */
int vip_dnsdist_check(const struct dnsdist_conf *c, char *err, size_t errlen);

/*
 * Starts dnsdist for the VIP name (where: its s:vip line) with c (listen,
 * webserver and api_key are chosen here: c is copied), listening on *addr; a
 * port 0 there is replaced by a free one. Waits until its webserver answers
 * (at most 10 s) running env's loop meanwhile (EVLOOP_NONBLOCK turns between
 * 20 ms naps), so that the farm answers dnsdist's first health checks: what is
 * due on the loop runs then (resolvers answering, events emitted to s:on
 * handlers); call it from farm start-up, never from inside a callback of that
 * loop. Then polls on the loop. The up/down lines' count is c's rise or fall
 * (absent with a user's file, at the first poll, and for a server set by
 * hand). Returns NULL with err set: dnsdist missing (says so), the
 * configuration refused (dnsdist's message: it ends at once), or it did not
 * come up (its last output).
 */
struct vip_dnsdist *vip_dnsdist_start(struct run_env *env, const char *name, const char *where,
				      struct addr *addr, const struct dnsdist_conf *c, char *err,
				      size_t errlen);

/* Whether dnsdist had backend i up at the last poll (true before the first). */
bool vip_dnsdist_backend_up(const struct vip_dnsdist *d, int i);

/* Stops polling, ends dnsdist (and all it started), removes its folder, frees.
 * Blocks up to about 3 s for dnsdist to die. NULL is a no-op. */
void vip_dnsdist_stop(struct vip_dnsdist *d);

#endif
