/*
 * join.c - the rules of the join (join.h): which live lookup sent a query.
 */
#include "harness/clients/join.h"

#include <arpa/inet.h>
#include <netinet/in.h>

enum step { STEP_EXACT, STEP_PORT, STEP_REOPEN, STEP_FRESH, STEP_SENT, STEP_COUNT };

static bool same_question(const struct join_key *k, const struct join_query *q)
{
	return k->variant == q->variant && k->qtype == q->qtype;
}

static bool ids_match(int32_t a, int32_t b)
{
	return a < 0 || b < 0 || a == b;
}

/* The key the lookup holds for exactly this query, or NULL. */
static struct join_key *find_exact(struct join_lookup *l, const struct join_query *q)
{
	for (unsigned k = 0; k < l->nkeys; k++)
		if (same_question(&l->keys[k], q) && l->keys[k].port == q->port &&
		    ids_match(l->keys[k].id, q->id))
			return &l->keys[k];
	return NULL;
}

/*
 * Whether l may have sent this question already: a "maybe" key counts, so
 * that the candidates of an ambiguous first query do not all stay fresh
 * (and make every later lookup's first query ambiguous with them).
 */
static bool asked(const struct join_lookup *l, const struct join_query *q)
{
	for (unsigned k = 0; k < l->nkeys; k++)
		if (same_question(&l->keys[k], q))
			return true;
	return false;
}

static bool reopened(const struct join_lookup *l, const struct join_query *q)
{
	if (q->id < 0)
		return false;
	for (unsigned k = 0; k < l->nkeys; k++)
		if (same_question(&l->keys[k], q) && l->keys[k].id == q->id)
			return true;
	return false;
}

static bool used_port(const struct join_lookup *l, uint16_t port)
{
	for (unsigned k = 0; k < l->nkeys; k++)
		if (l->keys[k].port == port)
			return true;
	return false;
}

/* Whether more than one of the lookups has sent from this port. */
static bool port_shared(struct join_lookup *const *live, size_t n, uint16_t port)
{
	size_t users = 0;
	for (size_t i = 0; i < n && users < 2; i++)
		users += used_port(live[i], port);
	return users > 1;
}

/* Whether lookup l is a candidate at this step. */
static bool candidate(enum step s, struct join_lookup *l, const struct join_query *q)
{
	switch (s) {
	case STEP_EXACT:
		return find_exact(l, q) != NULL;
	case STEP_REOPEN:
		/* a reopen, or the first of a lookup that has not asked yet (the same id by chance) */
		return reopened(l, q) || !asked(l, q);
	case STEP_PORT:
		return used_port(l, q->port);
	case STEP_FRESH:
		return !asked(l, q);
	case STEP_SENT:
		return true;
	case STEP_COUNT:
		break;
	}
	return false;
}

/* Adds q's key to l (definite, or maybe); a key it holds as maybe becomes definite. */
static void remember(struct join_lookup *l, const struct join_query *q, bool maybe)
{
	for (unsigned k = 0; k < l->nkeys; k++) {
		struct join_key *key = &l->keys[k];
		if (same_question(key, q) && key->port == q->port && key->id == q->id) {
			if (!maybe)
				key->maybe = false;
			key->seen = true; /* a query with it arrived, whoever sent it */
			return;
		}
	}
	if (l->nkeys >= JOIN_KEYS_MAX)
		return;
	l->keys[l->nkeys++] = (struct join_key){
		q->variant, q->qtype, q->port, q->id, q->search, maybe, true,
	};
}

void join_announce(struct join_lookup *l, const struct join_query *q)
{
	for (unsigned k = 0; k < l->nkeys; k++) {
		struct join_key *key = &l->keys[k];
		if (same_question(key, q) && key->port == q->port && key->id == q->id) {
			key->maybe = false;
			return;
		}
	}
	if (l->nkeys >= JOIN_KEYS_MAX)
		return;
	l->keys[l->nkeys++] = (struct join_key){
		q->variant, q->qtype, q->port, q->id, q->search, false, false,
	};
}

bool join_owner_of_id(struct join_lookup *const *live, size_t n, const struct join_query *q,
		      size_t *at)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < live[i]->nkeys; k++) {
			const struct join_key *key = &live[i]->keys[k];
			if (same_question(key, q) && key->id == q->id && !key->maybe) {
				if (count++ == 0)
					*at = i;
				break;
			}
		}
	return count == 1;
}

/* first, pair or search: the lookup has not sent this question yet. */
static enum join_cause fresh_cause(const struct join_lookup *l, const struct join_query *q)
{
	if (q->search)
		return JOIN_SEARCH;
	for (unsigned k = 0; k < l->nkeys; k++)
		if (!l->keys[k].search && !l->keys[k].maybe && l->keys[k].seen)
			return JOIN_PAIR;
	return JOIN_FIRST;
}

/* The cause of a query with a key l announced: its first of the question, or a retry. */
static enum join_cause announced_cause(const struct join_lookup *l, const struct join_query *q)
{
	for (unsigned k = 0; k < l->nkeys; k++)
		if (same_question(&l->keys[k], q) && l->keys[k].seen && !l->keys[k].maybe)
			return JOIN_RETRY;
	return fresh_cause(l, q);
}

void join_ended_add(struct join_ended *e, const struct join_lookup *l)
{
	for (unsigned k = 0; k < l->nkeys; k++) {
		if (l->keys[k].maybe)
			continue;
		e->keys[e->next] = l->keys[k];
		e->next = (e->next + 1) % JOIN_ENDED_MAX;
		if (e->n < JOIN_ENDED_MAX)
			e->n++;
	}
}

static bool ended_holds(const struct join_ended *e, const struct join_query *q)
{
	for (size_t i = 0; e && i < e->n; i++)
		if (same_question(&e->keys[i], q) && e->keys[i].port == q->port &&
		    ids_match(e->keys[i].id, q->id))
			return true;
	return false;
}

enum join_cause join_pick(struct join_lookup *const *live, size_t n,
			  const struct join_ended *ended, const struct join_query *q, bool commit,
			  size_t *pick)
{
	for (int s = STEP_EXACT; s < STEP_COUNT; s++) {
		if (s == STEP_PORT && ended_holds(ended, q))
			return JOIN_NONE; /* late: its lookup has ended */
		size_t count = 0, at = 0;
		for (size_t i = 0; i < n; i++)
			if (candidate((enum step)s, live[i], q)) {
				if (count++ == 0)
					at = i;
			}
		if (count == 0)
			continue;
		if (s == STEP_REOPEN) {
			bool any = false;
			for (size_t i = 0; i < n && !any; i++)
				any = reopened(live[i], q);
			if (!any)
				continue; /* nobody sent it with this id: the fresh step decides */
		}
		if (s == STEP_PORT && (count > 1 || asked(live[at], q)))
			continue; /* a shared socket (c-ares), or a new id on it: no evidence */
		/*
		 * One lookup holds the key, but on a socket several lookups share
		 * (c-ares): a lookup that has not asked yet may have drawn the same
		 * id for its first query. Then the fresh ones are candidates too.
		 */
		if (s == STEP_EXACT && count == 1 && port_shared(live, n, q->port))
			for (size_t i = 0; i < n; i++)
				count += !asked(live[i], q);
		if (count > 1) {
			/* The fresh ones of a shared socket are not marked: a mark would make
			 * their own first query look like a second one. */
			if (commit)
				for (size_t i = 0; i < n; i++)
					if (candidate((enum step)s, live[i], q))
						remember(live[i], q, true);
			return JOIN_AMBIGUOUS;
		}
		struct join_lookup *l = live[at];
		enum join_cause cause = JOIN_RETRY;
		if (s == STEP_PORT || s == STEP_FRESH)
			cause = fresh_cause(l, q);
		struct join_key *held = s == STEP_EXACT ? find_exact(l, q) : NULL;
		if (held && !held->seen)
			cause = announced_cause(l, q);
		*pick = at;
		if (commit) {
			if (held) {
				held->maybe = false; /* the only one alive that held it */
				held->seen = true;
			} else {
				remember(l, q, false);
			}
			l->wire++;
		}
		return cause;
	}
	return JOIN_NONE;
}

const char *join_cause_name(enum join_cause c)
{
	switch (c) {
	case JOIN_FIRST:
		return "first";
	case JOIN_PAIR:
		return "pair";
	case JOIN_SEARCH:
		return "search";
	case JOIN_RETRY:
		return "retry";
	case JOIN_AMBIGUOUS:
		return "ambiguous";
	case JOIN_NONE:
		break;
	}
	return NULL;
}

bool join_source_ok(const struct addr *bound, const struct addr *route, const struct addr *src)
{
	if (bound->ss.ss_family)
		return addr_same_host(bound, src);
	if (route->ss.ss_family)
		return addr_same_host(route, src);
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&src->ss;
	return src->ss.ss_family != AF_INET || ntohl(s4->sin_addr.s_addr) == INADDR_LOOPBACK;
}
