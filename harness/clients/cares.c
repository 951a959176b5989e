/*
 * cares.c - the c-ares driver: ares_getaddrinfo on one channel, driven by the
 * run's libevent loop (no thread of its own).
 *
 * How the client's options map (negative: c-ares's own default):
 *   target(s)    the channel's servers, in order, ares_set_servers_ports_csv
 *                ("127.0.0.11:5300", "[::1]:53"); resolv.conf's servers are
 *                replaced before the first query.
 *   source       ares_set_local_ip4 / ares_set_local_ip6 (port 0).
 *   timeout_s    ARES_OPT_TIMEOUTMS, at least 1 ms (default 5000 ms; it
 *                doubles on each pass over the server list).
 *   attempts     ARES_OPT_TRIES (default 4).
 *   rotate       1: ARES_OPT_ROTATE, 0: ARES_OPT_NOROTATE (one server: no effect).
 *   edns0        ARES_OPT_FLAGS with ARES_FLAG_EDNS and ARES_OPT_EDNSPSZ 1232,
 *                or flags 0 (the 1.18 default: no EDNS).
 *   search       ARES_OPT_DOMAINS, always set: empty by default, so neither
 *                resolv.conf's search/domain nor LOCALDOMAIN is used.
 *   ndots        ARES_OPT_NDOTS (default 1, or resolv.conf / RES_OPTIONS).
 *   family       ares_getaddrinfo with AF_INET, AF_INET6 or AF_UNSPEC (A and
 *                AAAA in parallel, as c-ares does).
 *   others       not used (cache, single_request, random_order, qtype).
 * ARES_OPT_LOOKUPS is "b": DNS only, /etc/hosts is never read. So "localhost"
 * fails at once with ARES_ECONNREFUSED: c-ares 1.18 never asks DNS for it
 * (RFC 6761) and that is its initial status. Numeric names are answered
 * without DNS.
 *
 * What c-ares 1.18.1 reports (seen against the fake server):
 *   NXDOMAIN -> ARES_ENOTFOUND, NOERROR without the type -> ARES_ENODATA,
 *   no answer -> ARES_ETIMEOUT after every try (same socket, same id).
 *   SERVFAIL or REFUSED -> the server is skipped and the query sent
 *   again (same socket, same id), tries times in all, then ARES_ECONNREFUSED:
 *   its initial status, as 1.18 does not keep the rcode. An ICMP port
 *   unreachable ends the same way, each try from a new socket. The reason
 *   says unreachable in both cases; only the wire log tells them apart.
 *   ARES_ESERVFAIL / ARES_EREFUSED come only with ARES_FLAG_NOCHECKRESP,
 *   which is not set.
 *
 * ares_getaddrinfo rather than ares_gethostbyname: in 1.18 the latter wraps
 * the former without ARES_AI_NOSORT, and the RFC 6724 sort opens and
 * connect()s a UDP socket per address returned. That is local work with no
 * effect on the wire, so ARES_AI_NOSORT drops it.
 *
 * The loop: a persistent event per socket c-ares opens (ARES_OPT_SOCK_STATE_CB)
 * calls ares_process_fd, and one timer makes c-ares time out and retry. No
 * deadline c-ares sets is sooner than one per-try timeout from when it is set,
 * so after a start or a socket event the timer is only pulled in to that
 * bound; when it fires, c-ares processes timeouts and the timer is re-armed
 * from ares_timeout (which walks every query in 1.18, hence not on every
 * call), no sooner than CARES_TIMER_MIN_GAP, the lateness a timeout may have.
 *
 * Every UDP query c-ares sends goes through our socket functions
 * (ares_set_socket_functions: the plain system calls), which tell the core
 * its source port, id and question (client_sent): a query sent inside
 * ares_getaddrinfo is that lookup's; a later one (a retry, to the same or
 * another server) keeps its id, which names its lookup. c-ares sends every
 * lookup over one socket per server, so the id is what tells lookups apart
 * on the wire, and 1.18.1 was seen to give two queries in flight the same
 * one: the join says so rather than guess.
 *
 * A lookup that c-ares finishes inside ares_getaddrinfo (numeric names,
 * "localhost", bad names) is handed to client_done from a zero-delay event.
 * Per-lookup state comes from a free list grown in chunks: nothing is
 * allocated per lookup but what c-ares allocates itself.
 */
#include "harness/clients/client.h"
#include "fakeresolver/clock.h"
#include "fakeresolver/wire.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h> /* ares.h uses fd_set without including it */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ares.h>
#include <event2/event.h>

#define CARES_EDNS_PAYLOAD 1232
#define CARES_TIMER_MIN_GAP 0.002 /* seconds: the timer never fires more often */
#define CARES_CHUNK 128           /* lookups per allocation of the free list */

struct cares_state;

struct cares_query {
	struct cares_state *st;
	struct lookup *lk;
	struct cares_query *next; /* on the free list or the deferred list */
};

struct cares_chunk {
	struct cares_chunk *next;
	struct cares_query q[CARES_CHUNK];
};

/* A socket c-ares asked us to watch. */
struct cares_sock {
	ares_socket_t fd;
	short what;
	struct event *ev;
};

struct cares_state {
	struct client *c;
	struct event_base *base;
	ares_channel channel;
	bool have_channel;
	bool lib_init;
	bool in_start; /* inside ares_getaddrinfo: completions are deferred */
	struct lookup *starting; /* the lookup being started (in_start) */
	bool closing;  /* inside close: lookups are no longer ours to fill */

	struct event *timer;
	double timer_at;    /* when the timer fires (monotonic s); 0: not armed */
	double try_timeout; /* the channel's per-try timeout: no deadline is sooner */
	size_t active;      /* lookups c-ares has not finished */

	struct cares_sock *socks;
	size_t nsocks, socks_cap;

	struct event *defer_ev;
	struct cares_query *deferred;
	struct cares_query **deferred_tail;

	struct cares_query *free_q;
	struct cares_chunk *chunks;
};

/* ---- the outcome, without I/O ---- */

struct cares_status {
	int status;
	const char *name;
	enum lookup_result result;
	enum lookup_reason reason;
	int rcode; /* the rcode c-ares turned into this status, or -1 */
};

static const struct cares_status cares_statuses[] = {
	{ ARES_SUCCESS, "ARES_SUCCESS", LOOKUP_FAIL, REASON_NODATA, 0 },
	{ ARES_ENODATA, "ARES_ENODATA", LOOKUP_FAIL, REASON_NODATA, 0 },
	{ ARES_EFORMERR, "ARES_EFORMERR", LOOKUP_FAIL, REASON_BADREPLY, 1 },
	{ ARES_ESERVFAIL, "ARES_ESERVFAIL", LOOKUP_FAIL, REASON_SERVFAIL, 2 },
	{ ARES_ENOTFOUND, "ARES_ENOTFOUND", LOOKUP_FAIL, REASON_NXDOMAIN, 3 },
	{ ARES_ENOTIMP, "ARES_ENOTIMP", LOOKUP_FAIL, REASON_BADREPLY, 4 },
	{ ARES_EREFUSED, "ARES_EREFUSED", LOOKUP_FAIL, REASON_REFUSED, 5 },
	{ ARES_EBADQUERY, "ARES_EBADQUERY", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EBADNAME, "ARES_EBADNAME", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EBADFAMILY, "ARES_EBADFAMILY", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EBADRESP, "ARES_EBADRESP", LOOKUP_FAIL, REASON_BADREPLY, -1 },
	{ ARES_ECONNREFUSED, "ARES_ECONNREFUSED", LOOKUP_FAIL, REASON_UNREACHABLE, -1 },
	{ ARES_ETIMEOUT, "ARES_ETIMEOUT", LOOKUP_TIMEOUT, REASON_TIMEOUT, -1 },
	{ ARES_EOF, "ARES_EOF", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EFILE, "ARES_EFILE", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_ENOMEM, "ARES_ENOMEM", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EDESTRUCTION, "ARES_EDESTRUCTION", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EBADSTR, "ARES_EBADSTR", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EBADFLAGS, "ARES_EBADFLAGS", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_ENONAME, "ARES_ENONAME", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_EBADHINTS, "ARES_EBADHINTS", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_ENOTINITIALIZED, "ARES_ENOTINITIALIZED", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_ECANCELLED, "ARES_ECANCELLED", LOOKUP_FAIL, REASON_ERROR, -1 },
	{ ARES_ESERVICE, "ARES_ESERVICE", LOOKUP_FAIL, REASON_ERROR, -1 },
};

/* Fills the outcome of a finished ares_getaddrinfo. */
static void cares_outcome(struct lookup *lk, int status, const struct ares_addrinfo *res)
{
	const struct cares_status *s = NULL;

	for (size_t i = 0; i < sizeof cares_statuses / sizeof cares_statuses[0]; i++)
		if (cares_statuses[i].status == status)
			s = &cares_statuses[i];
	if (!s) {
		char name[32];
		snprintf(name, sizeof name, "ARES_%d", status);
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, name);
		return;
	}
	lk->rcode = s->rcode;
	if (status == ARES_SUCCESS) {
		for (const struct ares_addrinfo_node *n = res ? res->nodes : NULL; n;
		     n = n->ai_next) {
			if (n->ai_family == AF_INET) {
				const struct sockaddr_in *sin = (const void *)n->ai_addr;
				lookup_add_addr(lk, AF_INET, &sin->sin_addr);
			} else if (n->ai_family == AF_INET6) {
				const struct sockaddr_in6 *sin6 = (const void *)n->ai_addr;
				lookup_add_addr(lk, AF_INET6, &sin6->sin6_addr);
			}
		}
		if (lk->naddrs)
			return;
		/* success without an address: say so in c-ares's words */
	}
	lookup_fail(lk, s->result, s->reason, s->name);
}

/* ---- per-lookup records ---- */

static struct cares_query *cares_query_get(struct cares_state *st)
{
	if (!st->free_q) {
		struct cares_chunk *ch = malloc(sizeof *ch);
		if (!ch)
			return NULL;
		ch->next = st->chunks;
		st->chunks = ch;
		for (size_t i = 0; i < CARES_CHUNK; i++) {
			ch->q[i].next = st->free_q;
			st->free_q = &ch->q[i];
		}
	}
	struct cares_query *q = st->free_q;
	st->free_q = q->next;
	q->st = st;
	q->next = NULL;
	return q;
}

static void cares_query_put(struct cares_state *st, struct cares_query *q)
{
	q->lk = NULL;
	q->next = st->free_q;
	st->free_q = q;
}

/* ---- the timer ---- */

static void cares_timer_set(struct cares_state *st, double delay)
{
	struct timeval tv = clock_timeval(delay);
	/* libevent adds tv to the loop's cached time, which is never later than
	 * now: the timer may fire early (harmless), never late */
	evtimer_add(st->timer, &tv);
	st->timer_at = client_clock(st->c) + delay;
}

/* After c-ares may have sent: any new deadline is at least one try away. */
static void cares_timer_bound(struct cares_state *st)
{
	if (!st->active)
		return;
	double bound = client_clock(st->c) + st->try_timeout;
	if (st->timer_at > 0 && st->timer_at <= bound)
		return;
	cares_timer_set(st, st->try_timeout);
}

/* After c-ares processed timeouts: the exact next deadline. */
static void cares_timer_exact(struct cares_state *st)
{
	struct timeval tv, *next;

	if (!st->active)
		return;
	next = ares_timeout(st->channel, NULL, &tv);
	if (!next)
		return; /* nothing c-ares waits for; the next start arms it */
	double delay = (double)next->tv_sec + (double)next->tv_usec / 1e6;
	if (delay < CARES_TIMER_MIN_GAP)
		delay = CARES_TIMER_MIN_GAP;
	event_base_update_cache_time(st->base);
	cares_timer_set(st, delay);
}

static void cares_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cares_state *st = arg;
	(void)fd;
	(void)what;
	st->timer_at = 0;
	ares_process_fd(st->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	cares_timer_exact(st);
}

/* ---- sockets ---- */

static void cares_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct cares_state *st = arg;
	ares_process_fd(st->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	cares_timer_bound(st);
}

/*
 * c-ares says which sockets to watch, from inside its own calls (also while
 * one of these events runs, which may then be freed: libevent allows that).
 * Out of memory here leaves the socket unwatched: its queries time out.
 */
static void cares_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct cares_state *st = data;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	struct cares_sock *s = NULL;

	for (size_t i = 0; i < st->nsocks && !s; i++)
		if (st->socks[i].fd == fd)
			s = &st->socks[i];
	if (!what) {
		if (s) {
			event_free(s->ev);
			*s = st->socks[--st->nsocks];
		}
		return;
	}
	if (s && s->what == what)
		return;
	if (!s) {
		if (st->nsocks == st->socks_cap) {
			size_t cap = st->socks_cap ? 2 * st->socks_cap : 4;
			struct cares_sock *n = realloc(st->socks, cap * sizeof *n);
			if (!n)
				return;
			st->socks = n;
			st->socks_cap = cap;
		}
		struct event *ev = event_new(st->base, fd, (short)(what | EV_PERSIST),
					     cares_on_socket, st);
		if (!ev)
			return;
		s = &st->socks[st->nsocks++];
		s->fd = fd;
		s->ev = ev;
	} else {
		event_del(s->ev);
		event_assign(s->ev, st->base, fd, (short)(what | EV_PERSIST), cares_on_socket, st);
	}
	s->what = what;
	event_add(s->ev, NULL);
}

/* ---- lookups ---- */

static void cares_on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct cares_state *st = arg;
	struct cares_query *q = st->deferred;
	(void)fd;
	(void)what;
	/* detach first: client_done may start lookups that defer again */
	st->deferred = NULL;
	st->deferred_tail = &st->deferred;
	while (q) {
		struct cares_query *next = q->next;
		struct lookup *lk = q->lk;
		cares_query_put(st, q);
		client_done(st->c, lk);
		q = next;
	}
}

static void cares_on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct cares_query *q = arg;
	struct cares_state *st = q->st;
	struct lookup *lk = q->lk;
	(void)timeouts;

	st->active--;
	if (st->closing) {
		/* ARES_EDESTRUCTION from ares_destroy: already recorded as cancelled */
		if (res)
			ares_freeaddrinfo(res);
		cares_query_put(st, q);
		client_done(st->c, lk);
		return;
	}
	cares_outcome(lk, status, res);
	if (res)
		ares_freeaddrinfo(res);
	if (st->in_start) {
		*st->deferred_tail = q;
		st->deferred_tail = &q->next;
		event_active(st->defer_ev, EV_TIMEOUT, 0);
		return;
	}
	cares_query_put(st, q);
	client_done(st->c, lk);
}

static int cares_start(struct client *c, void *state, struct lookup *lk)
{
	struct cares_state *st = state;
	struct ares_addrinfo_hints hints;
	struct cares_query *q = cares_query_get(st);
	(void)c;

	if (!q) {
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, "ARES_ENOMEM");
		return -1;
	}
	q->lk = lk;
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = ARES_AI_NOSORT;
	if (lk->family == CLIENT_FAMILY_A)
		hints.ai_family = AF_INET;
	else if (lk->family == CLIENT_FAMILY_AAAA)
		hints.ai_family = AF_INET6;
	else
		hints.ai_family = AF_UNSPEC; /* A and AAAA in parallel */
	st->active++;
	st->in_start = true;
	st->starting = lk;
	ares_getaddrinfo(st->channel, lk->name, NULL, &hints, cares_on_addrinfo, q);
	st->in_start = false;
	st->starting = NULL;
	cares_timer_bound(st);
	return 0;
}

/* ---- the sockets: plain system calls, and what each UDP query was ---- */

/*
 * c-ares configures none of a socket it did not open itself (1.18: no
 * O_NONBLOCK, no bind to the local address, no TCP_NODELAY): done here.
 */
static ares_socket_t cares_socket(int domain, int type, int protocol, void *arg)
{
	struct cares_state *st = arg;
	const struct addr *src = &client_cfg(st->c)->source;
	int one = 1;
	int fd = socket(domain, type, protocol);
	if (fd < 0)
		return ARES_SOCKET_BAD;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		goto fail;
	if (src->ss.ss_family == domain && bind(fd, (const struct sockaddr *)&src->ss, src->len) != 0)
		goto fail;
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	close(fd);
	return ARES_SOCKET_BAD;
}

static int cares_sock_close(ares_socket_t fd, void *arg)
{
	(void)arg;
	return close(fd);
}

static int cares_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *arg)
{
	(void)arg;
	return connect(fd, sa, len);
}

static ares_ssize_t cares_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
				   struct sockaddr *from, ares_socklen_t *fromlen, void *arg)
{
	(void)arg;
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

/* A UDP query went out on fd: its port, id and question, to the core. */
static void cares_note_sent(struct cares_state *st, ares_socket_t fd, const uint8_t *pkt,
			    size_t len)
{
	int type = 0;
	socklen_t tl = sizeof type;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct wire_query q;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM)
		return; /* TCP: length-prefixed and possibly written in parts */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	struct addr src;
	memcpy(&src.ss, &ss, sizeof ss);
	src.len = sl;
	if (wire_query_parse(pkt, len, &q) != WIRE_QUERY_OK || !q.question_end)
		return;
	client_sent(st->c, st->in_start ? st->starting : NULL, addr_port(&src), q.id, q.qname,
		    q.qname_len, q.qtype);
}

static ares_ssize_t cares_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *arg)
{
	struct cares_state *st = arg;
	ssize_t r = writev(fd, iov, n);
	if (r > 0 && n == 1 && (size_t)r == iov[0].iov_len && !st->closing)
		cares_note_sent(st, fd, iov[0].iov_base, iov[0].iov_len);
	return r;
}

static const struct ares_socket_functions cares_socket_functions = {
	cares_socket, cares_sock_close, cares_connect, cares_recvfrom, cares_sendv,
};

/* ---- open and close ---- */

static pthread_mutex_t cares_lib_lock = PTHREAD_MUTEX_INITIALIZER;

/* ares_library_init and _cleanup count calls themselves, but not under a lock. */
static int cares_lib_init(void)
{
	pthread_mutex_lock(&cares_lib_lock);
	int rc = ares_library_init(ARES_LIB_INIT_ALL);
	pthread_mutex_unlock(&cares_lib_lock);
	return rc;
}

static void cares_lib_cleanup(void)
{
	pthread_mutex_lock(&cares_lib_lock);
	ares_library_cleanup();
	pthread_mutex_unlock(&cares_lib_lock);
}

static void cares_free(struct cares_state *st)
{
	if (!st)
		return;
	st->closing = true;
	if (st->have_channel)
		ares_destroy(st->channel); /* lookups in flight end with ARES_EDESTRUCTION */
	for (size_t i = 0; i < st->nsocks; i++)
		event_free(st->socks[i].ev);
	free(st->socks);
	if (st->timer)
		event_free(st->timer);
	if (st->defer_ev)
		event_free(st->defer_ev);
	while (st->chunks) {
		struct cares_chunk *next = st->chunks->next;
		free(st->chunks);
		st->chunks = next;
	}
	if (st->lib_init)
		cares_lib_cleanup();
	free(st);
}

/* The per-try timeout the channel ended up with (options, environment, default). */
static double cares_try_timeout(ares_channel channel)
{
	struct ares_options o;
	int mask = 0;
	double s = CARES_TIMER_MIN_GAP; /* fallback: the timer fires early, never late */

	if (ares_save_options(channel, &o, &mask) != ARES_SUCCESS)
		return s;
	if ((mask & ARES_OPT_TIMEOUTMS) && o.timeout > 0)
		s = (double)o.timeout / 1000.0;
	ares_destroy_options(&o);
	return s;
}

static int cares_open(struct client *c, void **state, char *err, size_t errlen)
{
	const struct client_config *cfg = client_cfg(c);
	struct cares_state *st = calloc(1, sizeof *st);
	struct ares_options o;
	char *domains[CLIENT_SEARCH_MAX];
	char lookups[] = "b";
	char servers[CLIENT_TARGETS_MAX * 80];
	int mask = 0;
	int ret = -1;
	int rc;

	if (!st) {
		snprintf(err, errlen, "c-ares: out of memory");
		return -1;
	}
	st->c = c;
	st->base = client_base(c);
	st->deferred_tail = &st->deferred;

	rc = cares_lib_init();
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: ares_library_init: %s", ares_strerror(rc));
		goto out;
	}
	st->lib_init = true;
	st->timer = evtimer_new(st->base, cares_on_timer, st);
	st->defer_ev = event_new(st->base, -1, 0, cares_on_deferred, st);
	if (!st->timer || !st->defer_ev) {
		snprintf(err, errlen, "c-ares: out of memory");
		goto out;
	}

	memset(&o, 0, sizeof o);
	o.sock_state_cb = cares_on_sock_state;
	o.sock_state_cb_data = st;
	mask |= ARES_OPT_SOCK_STATE_CB;
	if (cfg->timeout_s >= 0) {
		double ms = cfg->timeout_s * 1000.0;
		o.timeout = ms < 1.0 ? 1 : ms > 3600000.0 ? 3600000 : (int)ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (cfg->attempts >= 0) {
		o.tries = cfg->attempts;
		mask |= ARES_OPT_TRIES;
	}
	if (cfg->rotate == 1)
		mask |= ARES_OPT_ROTATE;
	else if (cfg->rotate == 0)
		mask |= ARES_OPT_NOROTATE;
	if (cfg->edns0 >= 0) {
		o.flags = cfg->edns0 ? ARES_FLAG_EDNS : 0;
		mask |= ARES_OPT_FLAGS;
		if (cfg->edns0) {
			o.ednspsz = CARES_EDNS_PAYLOAD;
			mask |= ARES_OPT_EDNSPSZ;
		}
	}
	for (size_t i = 0; i < cfg->nsearch && i < CLIENT_SEARCH_MAX; i++)
		domains[i] = cfg->search[i];
	o.domains = domains;
	o.ndomains = (int)(cfg->nsearch < CLIENT_SEARCH_MAX ? cfg->nsearch : CLIENT_SEARCH_MAX);
	mask |= ARES_OPT_DOMAINS;
	if (cfg->ndots >= 0) {
		o.ndots = cfg->ndots;
		mask |= ARES_OPT_NDOTS;
	}
	o.lookups = lookups;
	mask |= ARES_OPT_LOOKUPS;

	rc = ares_init_options(&st->channel, &o, mask);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: ares_init_options: %s", ares_strerror(rc));
		goto out;
	}
	st->have_channel = true;
	ares_set_socket_functions(st->channel, &cares_socket_functions, st);

	/* Every target, in order: "127.0.0.11:5300,127.0.0.12:5300". */
	servers[0] = '\0';
	for (size_t i = 0; i < (cfg->ntargets ? cfg->ntargets : 1); i++) {
		char one[80];
		size_t used = strlen(servers);
		addr_str(cfg->ntargets ? &cfg->targets[i] : &cfg->target, one, sizeof one);
		snprintf(servers + used, sizeof servers - used, "%s%s", used ? "," : "", one);
	}
	rc = ares_set_servers_ports_csv(st->channel, servers);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: cannot use %s as its server: %s", servers,
			 ares_strerror(rc));
		goto out;
	}
	if (cfg->source.ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&cfg->source.ss;
		ares_set_local_ip4(st->channel, ntohl(sin->sin_addr.s_addr));
	} else if (cfg->source.ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&cfg->source.ss;
		ares_set_local_ip6(st->channel, sin6->sin6_addr.s6_addr);
	}
	st->try_timeout = cares_try_timeout(st->channel);
	*state = st;
	ret = 0;
out:
	if (ret)
		cares_free(st);
	return ret;
}

static void cares_close(struct client *c, void *state)
{
	(void)c;
	cares_free(state);
}

static pthread_once_t cares_version_once = PTHREAD_ONCE_INIT;
static char cares_version_text[48];

static void cares_version_init(void)
{
	snprintf(cares_version_text, sizeof cares_version_text, "c-ares %s", ares_version(NULL));
}

static const char *cares_version(void)
{
	pthread_once(&cares_version_once, cares_version_init);
	return cares_version_text;
}

const struct client_driver client_cares_driver = {
	.stack = CLIENT_CARES,
	.threaded = false,
	.open = cares_open,
	.close = cares_close,
	.start = cares_start,
	.version = cares_version,
};
