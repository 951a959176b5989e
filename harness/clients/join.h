/*
 * join.h - which lookup sent a wire query: the rules of the join as plain
 * functions, without I/O, time or history (client.c feeds them the lookups
 * of one client that were alive when the query arrived, and writes what
 * they decide).
 *
 * A query is keyed by the spelling of the name it asks (a "variant": the
 * name, or the name with a search suffix), its type, the source port it left
 * from and its DNS id. A lookup remembers the keys of the queries joined to
 * it. Given the lookups alive when the query arrived, oldest first, the
 * first rule that names anyone decides:
 *
 *  1. exact: lookups that already sent (or announced, join_announce) this key (the same question from
 *     this port with this id; an unknown id, -1, matches any id): one is a
 *     retry on the same socket (glibc, c-ares); several are ambiguous. On a
 *     socket several lookups share (c-ares), a lookup that has not asked
 *     this question yet could have drawn the same id: then it is ambiguous
 *     too.
 *  2. same socket: exactly one lookup sent anything from this port, and not
 *     yet this question: the other type of an A+AAAA pair or a search
 *     expansion on the socket it already uses.
 *  3. reopen (id known): some lookup sent this question with this id from
 *     another port. It is a retry from a new socket (glibc after a port
 *     unreachable or in its single-request-reopen mode, ldns, a TCP retry
 *     after truncation) only when that lookup is the one candidate: a lookup
 *     that has not asked this question yet could have drawn the same id, and
 *     then, as when several sent it with that id, it is ambiguous.
 *  4. fresh: lookups that have not sent this question: one gets it as its
 *     first (pair, search); several are ambiguous.
 *  5. lookups that have all sent it: one gets it as a retry with a new id
 *     and port; several are ambiguous; none: the query is not joined.
 *
 * Before rules 2 to 5, a query whose exact key belongs to a lookup that has
 * ended (a late retry, or a packet that waited in a socket buffer while its
 * lookup gave up) is not joined: it is never given to another lookup.
 *
 * An ambiguous query is joined to no lookup and counted in no lookup's
 * wire, but its key is remembered on every candidate as "maybe", so that a
 * later query with the same key is never given to a lookup the candidates
 * exclude; once only one candidate is alive, a "maybe" key is its own.
 */
#ifndef HARNESS_CLIENTS_JOIN_H
#define HARNESS_CLIENTS_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/addr.h"

/* Keys a lookup remembers; past this, a query is joined but its key is not kept. */
#define JOIN_KEYS_MAX 32
/* Keys of ended lookups a client remembers, the most recent. */
#define JOIN_ENDED_MAX 512

struct join_key {
	uint16_t variant; /* the client's index of the spelling asked */
	uint16_t qtype;
	uint16_t port;    /* the source port it left from */
	int32_t id;       /* the DNS id; -1: not known */
	bool search;      /* the variant is a search-list expansion */
	bool maybe;       /* kept from an ambiguous query: this lookup or another sent it */
	bool seen;        /* a query with this key arrived (false: only announced) */
};

/* What the join knows of one lookup; embedded in the client's lookup. */
struct join_lookup {
	struct join_key keys[JOIN_KEYS_MAX];
	unsigned nkeys;
	uint32_t wire; /* queries joined to it */
};

/* The keys of the lookups that ended last (a ring). */
struct join_ended {
	struct join_key keys[JOIN_ENDED_MAX];
	size_t next, n;
};

/* Remembers the definite keys of a lookup that has ended. */
void join_ended_add(struct join_ended *e, const struct join_lookup *l);

/* One wire query, as the join sees it. */
struct join_query {
	uint16_t variant;
	bool search;
	uint16_t qtype;
	uint16_t port;
	int32_t id; /* -1: not known */
};

enum join_cause {
	JOIN_NONE,      /* no lookup alive could have sent it: not joined */
	JOIN_FIRST,     /* the lookup's first query of the name */
	JOIN_PAIR,      /* the other type of the name (A+AAAA) */
	JOIN_SEARCH,    /* a search-list expansion */
	JOIN_RETRY,     /* the same question again */
	JOIN_AMBIGUOUS, /* more than one lookup could have sent it */
};

/*
 * Decides which of live[0..n) (the lookups alive when q arrived, oldest
 * first; borrowed) sent q, by the rules above; ended (may be NULL) holds the
 * keys of lookups that ended. For a lookup cause, *pick is
 * its index. With commit, records the decision: the key on the lookup and
 * its wire count, or a "maybe" key on every candidate of an ambiguous query.
 */
enum join_cause join_pick(struct join_lookup *const *live, size_t n,
			  const struct join_ended *ended, const struct join_query *q, bool commit,
			  size_t *pick);

/*
 * Records that lookup l sent q (a driver that sees its stack's packets says
 * so before they arrive): q's key is l's, and the query that arrives with it
 * is joined to l by rule 1, with the cause it has as l's (first, pair or
 * search, or retry when l already had one of this question arrive).
 */
void join_announce(struct join_lookup *l, const struct join_query *q);

/*
 * Which of live[0..n) announced or sent this question with this id: its
 * index in *at, when exactly one did (a retry to another server keeps the
 * id, from another socket). False otherwise.
 */
bool join_owner_of_id(struct join_lookup *const *live, size_t n, const struct join_query *q,
		      size_t *at);

/*
 * Whether a query that left from src can be a client's, by its source
 * address alone (the rules above then decide whose lookup): the address the
 * client binds when it binds one (bound, ss_family 0: none); else, for a
 * target off loopback (a remote daemon on another host), the address this
 * host sends from towards it (route, learned from the routing table at
 * start; ss_family 0: the target is on loopback), which every client
 * asking that host without a bound source shares; else 127.0.0.1, where a
 * stack that cannot bind sends from over IPv4 (any address over IPv6).
 */
bool join_source_ok(const struct addr *bound, const struct addr *route, const struct addr *src);

/* "first", "pair", "search", "retry", "ambiguous", or NULL for JOIN_NONE. */
const char *join_cause_name(enum join_cause c);

#endif
