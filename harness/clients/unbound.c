/*
 * unbound.c - the libunbound driver: a caching resolver that forwards
 * everything to the target, asynchronous with ub_resolve_async. libunbound
 * resolves on its own background thread (ub_ctx_async 1; 0 would fork a
 * process) and hands results back through a pipe: an event on ub_fd() calls
 * ub_process() on the run's loop, which runs the callbacks there.
 *
 * How the client's options map (negative: libunbound's own default):
 *   target       ub_ctx_set_fwd("127.0.0.11@5300"): the root forward zone,
 *                so every query goes to the target and nowhere else (no root
 *                hints, forward-first stays no). "do-not-query-localhost: no",
 *                or libunbound refuses to send to 127.0.0.0/8 and ::1.
 *                "do-ip6: no" for an IPv4 target, "do-ip4: no" for IPv6.
 *   source       "outgoing-interface:" (libunbound picks random ports).
 *   cache        0: "msg-cache-size" and "rrset-cache-size" 0 and
 *                "cache-max-ttl"/"cache-max-negative-ttl" 0: then every
 *                lookup is a query (counted at the server). The sizes alone
 *                are not enough, and the TTL caps are process-wide globals
 *                in libunbound, so all libunbound clients of a run must
 *                agree (the Lua binding checks). 1 or default:
 *                the cache is on (answers and NXDOMAIN are served from it).
 *                The infrastructure cache stays: a forwarder found dead is
 *                remembered (the next lookup sends one query and waits).
 *   family       A: one ub_resolve_async for A; AAAA: for AAAA; both: two
 *                in parallel, done when both are, ok with any address.
 *   timeout_s, attempts, rotate, edns0, search, ndots: not used. libunbound
 *                keeps its own retry schedule (its point here), has no search
 *                list (names are absolute) and its own EDNS (1232 octets).
 *
 * The outcome: a libunbound error -> its UB_* name (UB_SERVFAIL: reason
 * servfail, others error); an rcode -> its name (SERVFAIL, NXDOMAIN, ...)
 * and lk->rcode; NOERROR without the type -> "NODATA"; bogus -> "BOGUS";
 * ratelimited -> "RATELIMITED". libunbound never reports a timeout as such:
 * a lone dead forwarder gives err 0 and rcode SERVFAIL, after 17.3 s here
 * (9 queries, each from a new port); the next name then fails after 12 s
 * with one query, so a timeout shows as LOOKUP_FAIL / servfail.
 *
 * libunbound reads neither /etc/resolv.conf nor /etc/hosts unless told to;
 * it answers its default local zones (localhost, test., invalid., onion.,
 * ...) itself without a query.
 *
 * ub_resolve_async never calls back from inside itself (the callback runs
 * only in ub_process), so client_done is never called from start().
 * Per-lookup records come from a free list grown in chunks.
 */
#include "harness/clients/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <unbound.h>

#define UNBOUND_CHUNK 128
#define UNBOUND_TYPE_A 1
#define UNBOUND_TYPE_AAAA 28
#define UNBOUND_CLASS_IN 1

struct unbound_state;
struct unbound_query;

/* One ub_resolve_async of a lookup. */
struct unbound_sub {
	struct unbound_query *q;
	bool pending;
	enum lookup_result result; /* a failure, when it had no address */
	enum lookup_reason reason;
	int rcode;
	const char *error; /* static; NULL: the rcode's name */
};

struct unbound_query {
	struct unbound_state *st;
	struct lookup *lk;
	struct unbound_query *next; /* on the free list */
	struct unbound_sub sub[2];
	unsigned nsub;
};

struct unbound_chunk {
	struct unbound_chunk *next;
	struct unbound_query q[UNBOUND_CHUNK];
};

struct unbound_state {
	struct client *c;
	struct ub_ctx *ctx;
	struct event *fd_ev;
	struct unbound_query *free_q;
	struct unbound_chunk *chunks;
};

/* ---- the outcome, without I/O ---- */

static const char *unbound_err_name(int err)
{
	switch (err) {
	case UB_NOERROR:
		return "UB_NOERROR";
	case UB_SOCKET:
		return "UB_SOCKET";
	case UB_NOMEM:
		return "UB_NOMEM";
	case UB_SYNTAX:
		return "UB_SYNTAX";
	case UB_SERVFAIL:
		return "UB_SERVFAIL";
	case UB_FORKFAIL:
		return "UB_FORKFAIL";
	case UB_AFTERFINAL:
		return "UB_AFTERFINAL";
	case UB_INITFAIL:
		return "UB_INITFAIL";
	case UB_PIPE:
		return "UB_PIPE";
	case UB_READFILE:
		return "UB_READFILE";
	case UB_NOID:
		return "UB_NOID";
	}
	return "UB_UNKNOWN";
}

static const char *unbound_rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	return rcode >= 0 && (size_t)rcode < sizeof names / sizeof names[0] ? names[rcode] : NULL;
}

/* Adds the addresses of one result to lk, or records in sub why there are none. */
static void unbound_sub_outcome(struct unbound_sub *sub, struct lookup *lk, int err,
				const struct ub_result *res)
{
	size_t added = 0;

	sub->result = LOOKUP_FAIL;
	sub->rcode = -1;
	sub->error = NULL;
	if (err || !res) {
		sub->reason = err == UB_SERVFAIL ? REASON_SERVFAIL : REASON_ERROR;
		sub->error = unbound_err_name(err);
		return;
	}
	sub->rcode = res->rcode;
	if (res->bogus) {
		sub->reason = REASON_BADREPLY;
		sub->error = "BOGUS";
		return;
	}
	if (res->was_ratelimited) {
		sub->reason = REASON_ERROR;
		sub->error = "RATELIMITED";
		return;
	}
	if (res->rcode != 0) {
		sub->reason = lookup_reason_for_rcode(res->rcode);
		return;
	}
	for (size_t i = 0; res->havedata && res->data && res->data[i]; i++) {
		if (res->len[i] == 4 && lookup_add_addr(lk, AF_INET, res->data[i]))
			added++;
		else if (res->len[i] == 16 && lookup_add_addr(lk, AF_INET6, res->data[i]))
			added++;
	}
	if (!added) {
		sub->reason = REASON_NODATA;
		sub->error = "NODATA";
	}
}

/* Both answers are in: any address wins, else the first failure that is not NODATA. */
static void unbound_finish(struct unbound_query *q)
{
	struct lookup *lk = q->lk;
	const struct unbound_sub *pick = &q->sub[0];
	char name[16];

	if (lk->naddrs) {
		lk->rcode = 0;
		return;
	}
	for (unsigned i = 0; i < q->nsub; i++) {
		if (q->sub[i].reason != REASON_NODATA) {
			pick = &q->sub[i];
			break;
		}
	}
	const char *error = pick->error ? pick->error : unbound_rcode_name(pick->rcode);
	if (!error) {
		snprintf(name, sizeof name, "RCODE%d", pick->rcode);
		error = name;
	}
	lookup_fail(lk, pick->result, pick->reason, error);
	lk->rcode = pick->rcode;
}

/* ---- per-lookup records ---- */

static struct unbound_query *unbound_query_get(struct unbound_state *st)
{
	if (!st->free_q) {
		struct unbound_chunk *ch = malloc(sizeof *ch);
		if (!ch)
			return NULL;
		ch->next = st->chunks;
		st->chunks = ch;
		for (size_t i = 0; i < UNBOUND_CHUNK; i++) {
			ch->q[i].next = st->free_q;
			st->free_q = &ch->q[i];
		}
	}
	struct unbound_query *q = st->free_q;
	st->free_q = q->next;
	memset(q, 0, sizeof *q);
	q->st = st;
	return q;
}

static void unbound_query_put(struct unbound_state *st, struct unbound_query *q)
{
	q->lk = NULL;
	q->next = st->free_q;
	st->free_q = q;
}

/* ---- lookups ---- */

static void unbound_on_result(void *arg, int err, struct ub_result *res)
{
	struct unbound_sub *sub = arg;
	struct unbound_query *q = sub->q;
	struct unbound_state *st = q->st;

	unbound_sub_outcome(sub, q->lk, err, res);
	ub_resolve_free(res);
	sub->pending = false;
	for (unsigned i = 0; i < q->nsub; i++)
		if (q->sub[i].pending)
			return;
	struct lookup *lk = q->lk;
	unbound_finish(q);
	unbound_query_put(st, q);
	client_done(st->c, lk);
}

static void unbound_on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct unbound_state *st = arg;
	(void)fd;
	(void)what;
	/*
	 * UB_PIPE: the background thread is gone and the pipe would stay
	 * readable: stop watching it; the lookups in flight end with the run.
	 */
	if (ub_process(st->ctx) != UB_NOERROR)
		event_del(st->fd_ev);
}

static int unbound_start(struct client *c, void *state, struct lookup *lk)
{
	struct unbound_state *st = state;
	struct unbound_query *q = unbound_query_get(st);
	int types[2];
	unsigned ntypes = 0;
	unsigned started = 0;
	(void)c;

	if (!q) {
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, "UB_NOMEM");
		return -1;
	}
	q->lk = lk;
	if (lk->family != CLIENT_FAMILY_AAAA)
		types[ntypes++] = UNBOUND_TYPE_A;
	if (lk->family != CLIENT_FAMILY_A)
		types[ntypes++] = UNBOUND_TYPE_AAAA;
	q->nsub = ntypes;
	for (unsigned i = 0; i < ntypes; i++) {
		q->sub[i].q = q;
		q->sub[i].pending = true;
	}
	for (unsigned i = 0; i < ntypes; i++) {
		struct unbound_sub *sub = &q->sub[i];
		int id;
		int err = ub_resolve_async(st->ctx, lk->name, types[i], UNBOUND_CLASS_IN, sub,
					   unbound_on_result, &id);
		if (err) {
			/* as if it had come back at once with this error */
			unbound_sub_outcome(sub, lk, err, NULL);
			sub->pending = false;
		} else {
			started++;
		}
	}
	if (!started) {
		unbound_finish(q);
		unbound_query_put(st, q);
		return -1;
	}
	return 0;
}

/* ---- open and close ---- */

static void unbound_free(struct unbound_state *st)
{
	if (!st)
		return;
	if (st->fd_ev)
		event_free(st->fd_ev);
	/* stops the background thread; no callback runs for lookups in flight */
	if (st->ctx)
		ub_ctx_delete(st->ctx);
	while (st->chunks) {
		struct unbound_chunk *next = st->chunks->next;
		free(st->chunks);
		st->chunks = next;
	}
	free(st);
}

static int unbound_set(struct unbound_state *st, const char *opt, const char *val, char *err,
		       size_t errlen)
{
	int rc = ub_ctx_set_option(st->ctx, opt, val);
	if (rc)
		snprintf(err, errlen, "libunbound: option %s %s: %s", opt, val, ub_strerror(rc));
	return rc ? -1 : 0;
}

static int unbound_open(struct client *c, void **state, char *err, size_t errlen)
{
	const struct client_config *cfg = client_cfg(c);
	struct unbound_state *st = calloc(1, sizeof *st);
	char fwd[INET6_ADDRSTRLEN + 8];
	char src[INET6_ADDRSTRLEN];
	int ret = -1;
	int rc;

	if (!st) {
		snprintf(err, errlen, "libunbound: out of memory");
		return -1;
	}
	st->c = c;
	st->ctx = ub_ctx_create();
	if (!st->ctx) {
		snprintf(err, errlen, "libunbound: ub_ctx_create failed");
		goto out;
	}
	rc = ub_ctx_async(st->ctx, 1);
	if (rc) {
		snprintf(err, errlen, "libunbound: ub_ctx_async: %s", ub_strerror(rc));
		goto out;
	}

	/* Every target is a forwarder of the root zone; libunbound picks among them. */
	const struct sockaddr_storage *ss = &cfg->target.ss;
	for (size_t i = 0; i < (cfg->ntargets ? cfg->ntargets : 1); i++) {
		const struct addr *t = cfg->ntargets ? &cfg->targets[i] : &cfg->target;
		const struct sockaddr_storage *ts = &t->ss;
		const void *a =
			ts->ss_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)(const void *)ts)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)(const void *)ts)->sin_addr;
		if (!inet_ntop(ts->ss_family, a, src, sizeof src)) {
			snprintf(err, errlen, "libunbound: the target is not an IPv4 or IPv6 address");
			goto out;
		}
		snprintf(fwd, sizeof fwd, "%s@%u", src, (unsigned)addr_port(t));
		rc = ub_ctx_set_fwd(st->ctx, fwd);
		if (rc) {
			snprintf(err, errlen, "libunbound: ub_ctx_set_fwd %s: %s", fwd,
				 ub_strerror(rc));
			goto out;
		}
	}
	if (unbound_set(st, "do-not-query-localhost:", "no", err, errlen) ||
	    unbound_set(st, ss->ss_family == AF_INET6 ? "do-ip4:" : "do-ip6:", "no", err, errlen))
		goto out;
	if (cfg->source.ss.ss_family == AF_INET || cfg->source.ss.ss_family == AF_INET6) {
		const struct sockaddr_storage *s = &cfg->source.ss;
		const void *sa =
			s->ss_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)(const void *)s)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)(const void *)s)->sin_addr;
		if (!inet_ntop(s->ss_family, sa, src, sizeof src)) {
			snprintf(err, errlen, "libunbound: the source is not an address");
			goto out;
		}
		if (unbound_set(st, "outgoing-interface:", src, err, errlen))
			goto out;
	}
	if (cfg->cache == 0) {
		/* The sizes alone do not stop caching in 1.17.1; the TTL caps do,
		 * but they are process-wide globals in libunbound (MAX_TTL,
		 * MAX_NEG_TTL): every libunbound client of the run loses its
		 * cache. The Lua binding refuses scenarios that mix the two. */
		if (unbound_set(st, "msg-cache-size:", "0", err, errlen) ||
		    unbound_set(st, "rrset-cache-size:", "0", err, errlen) ||
		    unbound_set(st, "cache-max-ttl:", "0", err, errlen) ||
		    unbound_set(st, "cache-max-negative-ttl:", "0", err, errlen))
			goto out;
	}

	st->fd_ev = event_new(client_base(c), ub_fd(st->ctx), EV_READ | EV_PERSIST, unbound_on_fd,
			      st);
	if (!st->fd_ev || event_add(st->fd_ev, NULL)) {
		snprintf(err, errlen, "libunbound: cannot watch its result pipe");
		goto out;
	}
	*state = st;
	ret = 0;
out:
	if (ret)
		unbound_free(st);
	return ret;
}

static void unbound_close(struct client *c, void *state)
{
	(void)c;
	unbound_free(state);
}

static pthread_once_t unbound_version_once = PTHREAD_ONCE_INIT;
static char unbound_version_text[48];

static void unbound_version_init(void)
{
	snprintf(unbound_version_text, sizeof unbound_version_text, "libunbound %s",
		 ub_version());
}

static const char *unbound_version(void)
{
	pthread_once(&unbound_version_once, unbound_version_init);
	return unbound_version_text;
}

const struct client_driver client_unbound_driver = {
	.stack = CLIENT_UNBOUND,
	.threaded = false,
	.open = unbound_open,
	.close = unbound_close,
	.start = unbound_start,
	.version = unbound_version,
};
