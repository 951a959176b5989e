/*
 * perclient.h - how each client fared under the faults, from the history:
 * the table every report prints (per_stack.lua's comparison of stacks is
 * this table). It counts the lookups invoked from the first fault's inject
 * line on (the whole run when none was injected): before it every stack
 * does well, and thousands of fast lookups would hide the few that met the
 * fault. Every figure is a count a person redoes over lookup lines:
 *
 *   lookups   completed lookups invoked at or after `from` (ok, fail,
 *             timeout; a lookup cancelled by the end of the run is not
 *             counted)
 *   ok, failed, timeouts   by the completion's event
 *   stale, wrong           by the completion's class
 *   p50, p99  nearest-rank percentiles of the completed lookups' latency_ms
 *             (as latency{} computes them), ms
 *   wire      wire queries joined to its completed lookups / lookups (as
 *             amplification{} computes it over the whole run); NaN (shown
 *             "-", null in JSON) when one of them asked a dnsdist VIP, whose
 *             queries are never joined
 */
#ifndef HARNESS_RECORD_PERCLIENT_H
#define HARNESS_RECORD_PERCLIENT_H

#include <stddef.h>

struct hist;

struct perclient_row {
	const char *client, *stack; /* borrowed from the hist */
	size_t lookups, ok, failed, timeouts, stale, wrong;
	double success;  /* ok / lookups; NaN without lookups */
	double p50, p99; /* ms; NaN without lookups */
	double wire;     /* per lookup; NaN without lookups, or through a dnsdist VIP */
};

/* The start of the table's window: the first fault's inject time, else 0. */
double perclient_from(const struct hist *h);

/*
 * One row per client that invoked a lookup (in the whole run: a client with
 * none in the window has a row of zeros), in the order of their first
 * lookup; lookups invoked before `from` are left out of the figures.
 * Returns the rows (free() them) and their count in *n, or NULL with *n 0
 * (no client, or out of memory: *oom set then).
 */
struct perclient_row *perclient_rows(const struct hist *h, double from, size_t *n, int *oom);

#endif
