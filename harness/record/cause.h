/*
 * cause.h - what went wrong in a run, in plain words, derived from the
 * history alone: which backend served which version or failed how, from
 * when to when, through which VIP, and which clients' lookups it hurt.
 *
 *   p2 served serial 2026110301 (published: 2026112502) from 3.2 s to the
 *   end; 62 of 194 lookups of fleet got its stale answer through vip
 *
 * A lookup is bad when it failed or timed out (a negative answer the zone
 * gives is not a failure), or its answer was stale or wrong. Each bad
 * lookup is charged to exactly one cause, found in its own lines:
 *   - stale or wrong answers: the resolver that answered one of its queries
 *     while serving a version other than the published one (or a `wrong`
 *     fault's answer); the VIP's route line when the join tied no query;
 *   - failures and timeouts: the first thing that hurt one of its queries, in
 *     time order: a query dropped (a hang fault, or queued when the resolver
 *     stopped), refused for a full queue, answered after waiting in a
 *     capacity queue or after a delay fault, answered with an injected rcode
 *     or by a resolver's own gate, truncated; a VIP that relayed a closed
 *     port or had no backend up.
 * Lookups with nothing on record (queries the join could not tie, a stack
 * that gave up without asking) are one cause of their own, said as such.
 * Causes are grouped by (what, who, the fault or the version), ordered by how
 * many bad lookups each explains; each knows its share of all bad lookups,
 * so several causes that overlap (a liar and a drowning survivor) are listed
 * each with its part.
 *
 * docs/checks.md ("What went wrong") is the user's description; every
 * figure is a count over history lines a person can redo by hand
 * (tests/e2e/cause_check.py does, on real runs).
 */
#ifndef HARNESS_RECORD_CAUSE_H
#define HARNESS_RECORD_CAUSE_H

#include <stddef.h>

struct hist;
struct causes;

enum cause_kind {
	CAUSE_STALE,    /* a resolver served a version other than the published one */
	CAUSE_WRONG,    /* answers from no known version (a wrong fault, a foreign zone) */
	CAUSE_HANG,     /* queries dropped by a hang fault */
	CAUSE_CAPACITY, /* queries refused by a full capacity queue, or answered too late from it */
	CAUSE_DELAY,    /* answered late by a delay fault */
	CAUSE_RCODE,    /* an injected rcode */
	CAUSE_GATED,    /* the resolver's own gate answered (it was behind) */
	CAUSE_TRUNCATED,   /* an injected truncation */
	CAUSE_DROPPED,     /* dropped with no fault: queued when the resolver stopped */
	CAUSE_DOWN,        /* a VIP relayed the backend's closed port (or held it off) */
	CAUSE_NO_BACKEND,  /* a VIP had no backend up */
	CAUSE_VIP_DROPPED, /* a VIP dropped the query (no free query id, a send failed) */
	CAUSE_UNKNOWN,     /* nothing on record explains it */
};

/* One cause (all strings borrowed from the hist or the causes). */
struct cause {
	enum cause_kind kind;
	const char *who;  /* the resolver, backend or VIP; NULL for CAUSE_UNKNOWN */
	const char *vip;  /* the VIP most of its lookups went through; NULL: directly */
	double from, to;  /* when (run seconds); to < 0: to the end of the run */
	size_t lookups;   /* bad lookups charged to it */
	double share;     /* lookups / all bad lookups */
	const char *text; /* the sentence */
};

/*
 * Works the causes out from h. Returns NULL only when out of memory. Near
 * linear in the history's lines. The result borrows h's strings: free it
 * (causes_free) before h.
 */
struct causes *causes_find(const struct hist *h);
void causes_free(struct causes *c);

/* The causes, most bad lookups first (at most CAUSES_MAX; the rest are
 * summed in causes_summary). */
#define CAUSES_MAX 8
size_t causes_count(const struct causes *c);
const struct cause *causes_get(const struct causes *c, size_t i);

/* Completed lookups (cancelled ones not counted), and how many were bad. */
size_t causes_lookups(const struct causes *c);
size_t causes_bad(const struct causes *c);

/*
 * One line over it all: "nothing went wrong: all 412 lookups of 3 clients
 * were answered, none stale or wrong", "no lookups", or "138 of 412 lookups
 * failed or got a stale or wrong answer: 2 causes" (and "; 3 more lookups in
 * 2 smaller causes not listed" past CAUSES_MAX).
 */
const char *causes_summary(const struct causes *c);

const char *cause_kind_name(enum cause_kind k); /* "stale", "capacity", ... */

#endif
