/*
 * health.h - the health checker of a VIP: per backend, a probe every
 * interval with a timeout; down after `fall` consecutive failures, up after
 * `rise` consecutive successes. The decisions (probe outcome -> verdict ->
 * state, and the probe grid) are plain functions in harness/lb/health_sm.h;
 * health_checker_* drives them with real probes on the run's event loop.
 *
 * Check kinds:
 *   alive   any reply counts (a closed port or silence fails)
 *   rcode   the reply must be NOERROR (keepalived's DNS_CHECK)
 *   serial  the backend's SOA serial must be at least the published one
 *           (RFC 1982 comparison): the fix from the incident
 *   exec    a command per probe, exit 0 healthy (keepalived's MISC_CHECK),
 *           with the backend's address, port, zone and the published serial
 *           in its environment; time-limited; its output is recorded
 */
#ifndef HARNESS_LB_HEALTH_H
#define HARNESS_LB_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/addr.h"
#include "harness/lb/health_sm.h" /* enum health_kind, the state machine, the verdicts */

struct event_base;

/* ---- the checker ---- */

struct health_config {
	enum health_kind kind;
	double interval_s;     /* between probe starts, on a fixed grid; > 0, <= 86400 */
	double timeout_s;      /* per probe; > 0 and <= interval */
	unsigned rise, fall;   /* >= 1 */
	bool initial_up;
	const char *qname;     /* alive/rcode: the name asked (default, NULL: the zone's apex) */
	uint16_t qtype;        /* alive/rcode: default (0) SOA */
	const char *command;   /* exec: run with /bin/sh -c; required */
	double (*clock)(void); /* monotonic seconds the checker reads; NULL: clock_mono */
	bool non_loopback;     /* the backend may be off loopback (a remote daemon on another
	                          host, the run's --allow-non-loopback); else loopback only */
	/* qname and qtype are refused on serial and exec checks, command on all but exec.
	 * Strings are copied. */
};

/* What one probe found, for the history. */
struct health_probe_report {
	const char *backend;   /* the backend's name */
	bool success;
	const char *reason;    /* "serial 2026110301 < published 2026112502", "timeout after
				  0.5 s", "port unreachable", "exit 3", ... */
	double latency_s;
	int64_t serial;        /* serial check: what the backend served, -1 if none */
	int exit_status;       /* exec: the exit status, -1 if killed or not run */
	const char *output;    /* exec: stdout+stderr (at most 4 KiB, then a note that it
				  was truncated), else NULL */
};
/* The strings of reports and transitions are borrowed for the callback. */

struct health_transition {
	const char *backend;
	bool up;               /* the new state */
	const char *reason;    /* the last probe's reason */
	unsigned count;        /* consecutive outcomes that caused it (rise or fall) */
};

struct health_callbacks {
	/* Every probe's outcome (optional). */
	void (*probe)(void *arg, const struct health_probe_report *r);
	/* Every state change (optional). */
	void (*transition)(void *arg, const struct health_transition *t);
	/* The published serial the serial and exec checks compare against; -1 if none
	 * (optional: NULL is none). Asked when a serial answer arrives or a command starts. */
	int64_t (*published)(void *arg);
	void *arg;
	/* Whether the backend is ready to be probed: its boot is complete (optional:
	 * NULL is always ready). Asked before the first probe only, every
	 * HEALTH_READY_POLL seconds until it says yes; must not destroy the checker. */
	bool (*ready)(void *arg);
};

/* How often a checker asks ready() before its first probe, seconds. */
#define HEALTH_READY_POLL 0.005

struct health_checker;

/*
 * A checker for one backend named name at addr (loopback, unless
 * cfg->non_loopback), for the zone
 * origin (presentation form, e.g. "internal."). Starts probing as soon as
 * the backend is ready (cb->ready; at once without it): the first probe
 * starts on a later turn of the loop (never inside this call), so a backend
 * still booting is not probed (it would refuse, and with fall = 1 start down
 * for a whole interval); then one every interval on a fixed grid from that
 * first probe (a late loop skips slots rather than bursting); a tick that
 * finds the previous probe still in flight ends it as a timeout if it has
 * had its timeout, else skips. DNS probes are one
 * UDP query each, without RD or EDNS.
 *
 * An exec command gets DNSCHAOS_BACKEND, DNSCHAOS_ADDRESS, DNSCHAOS_PORT,
 * DNSCHAOS_ZONE, DNSCHAOS_PUBLISHED_SERIAL (empty if none) and our PATH, and
 * nothing else, in its environment; an empty stdin (EOF), a pipe as stdout
 * and stderr and no other descriptor (glibc >= 2.34); default signal
 * dispositions and an empty mask; its own process group. At the timeout the
 * group is killed; when the command exits, what is left of its group is
 * killed too. Children are reaped by polling (no SIGCHLD handler).
 *
 * cb is copied (NULL: no callbacks); the probe and transition callbacks may
 * destroy the checker (published must not). Returns NULL with err set on bad
 * configuration.
 */
struct health_checker *health_checker_create(struct event_base *base, const char *name,
					     const struct addr *addr, const char *origin,
					     const struct health_config *cfg,
					     const struct health_callbacks *cb, char *err,
					     size_t errlen);

/* Stops probing (a probe or command in flight is cancelled; a command is killed)
 * and frees; no callback afterwards. Every command started is reaped before it
 * returns (waiting for a killed one to die). NULL is a no-op. */
void health_checker_destroy(struct health_checker *hc);

bool health_checker_up(const struct health_checker *hc);

#endif
