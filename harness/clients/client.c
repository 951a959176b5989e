/*
 * client.c - the part of every client that is not the stack: the load (open
 * loop at a rate, or closed loop with a concurrency), the lookups in flight,
 * worker threads for the stacks that block, the history's lookup lines, the
 * classification of answers, and the join of wire queries to lookups.
 *
 * Threads: everything here runs on the loop thread except worker_main. A
 * threaded lookup is handed to the workers through a mutex-protected queue
 * and comes back through a second list and an eventfd that wakes the loop.
 * The lookup stays in the client's in-flight table (loop-owned) all along,
 * so a wire query the fake resolvers see while a worker is blocked in
 * getaddrinfo can still be joined to it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "harness/clients/client.h"
#include "harness/clients/join.h"
#include "fakeresolver/answer.h"
#include "fakeresolver/clock.h"
#include "fakeresolver/rng.h"
#include "fakeresolver/wire.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "harness/env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define TICK_MAX 2048     /* open-loop arrivals issued per timer callback at most */
#define STOP_WAIT_S 5.0   /* how long, from client_stop, the reap waits for its workers */
#define NUDGE_S 0.02      /* how often a worker still running then gets SIGURG */

/* The nudge: a handler that does nothing, installed without SA_RESTART. */
static void on_wake(int sig)
{
	(void)sig;
}

struct pending {
	struct lookup lk; /* first: drivers get &lk, we get back the pending */
	struct client *c;
	double invoked;   /* run time */
	unsigned name_idx;
	bool cancelled;
	atomic_bool started; /* a worker took it (or the loop driver started it) */
	struct join_lookup join; /* the keys of its wire queries, and their count */
	struct pending *prev, *next;   /* in flight, per name, in invoke order */
	struct pending *qnext;         /* worker queue or done list */
};

/* One spelling a wire query may use: a name, or a name with a search suffix. */
struct variant {
	uint8_t wire[WIRE_NAME_MAX]; /* lower case */
	size_t len;
	unsigned name_idx;
	bool search;
};

struct pool {
	pthread_t *threads;
	bool *joined;
	atomic_bool *exited;        /* worker i has returned (or is about to) */
	unsigned n, started, ready; /* ready: workers past thread_open, set up or not */
	pthread_mutex_t mu;
	pthread_cond_t cv, ready_cv;
	struct pending *qhead, *qtail; /* waiting for a worker */
	struct pending *done;          /* back from workers */
	bool quit;
	int efd;
	struct event *done_ev;
	char err[CLIENT_NAME_MAX + 300]; /* the first thread_open error */
};

struct client {
	struct run_env *env;
	struct client_config cfg;
	const struct client_driver *drv;
	void *state;
	struct rng rng;
	double total_weight;
	bool started, stopped;
	atomic_bool stopping;
	double stop_deadline; /* env_clock: the reap gives up on its workers then */
	bool abandoned;       /* workers outlived it: c stays allocated for them */

	/* in flight, per name */
	struct pending **heads, **tails;
	uint64_t pending;

	struct variant *variants;
	size_t nvariants;
	struct join_lookup **live; /* the join's scratch: the lookups of a name alive now */
	size_t live_cap;
	struct join_ended ended;   /* keys of lookups that ended: their late queries are nobody's */
	/* Per target off loopback (a remote daemon on another host): the address
	 * this host sends from towards it, what its queries arrive from there;
	 * ss_family 0 for a target on loopback. */
	struct addr route[CLIENT_TARGETS_MAX];

	/* load */
	double rate;
	double next_arrival; /* run time */
	struct event *arrival_ev, *refill_ev, *window_ev;
	bool window_open;
	uint64_t issued;

	struct pool pool;
	bool have_pool;
	unsigned threads_held; /* counted in threads_live */
	struct client_stats st;
};

/* Threads the process's clients hold (client_start to pool_stop). */
static atomic_uint threads_live;

/* ---- configuration ---- */

static const char *const stack_names[CLIENT_STACKS] = {
	"glibc", "glibc-res", "c-ares", "ldns", "libunbound", "exec",
};

int client_stack_parse(const char *s, enum client_stack *out)
{
	for (int i = 0; i < CLIENT_STACKS; i++)
		if (strcmp(s, stack_names[i]) == 0) {
			*out = (enum client_stack)i;
			return 0;
		}
	if (strcmp(s, "unbound") == 0) {
		*out = CLIENT_UNBOUND;
		return 0;
	}
	return -1;
}

const char *client_stack_name(enum client_stack s)
{
	return (unsigned)s < CLIENT_STACKS ? stack_names[s] : "?";
}

bool client_stack_binds_source(enum client_stack s)
{
	return s == CLIENT_CARES || s == CLIENT_LDNS || s == CLIENT_UNBOUND;
}

unsigned client_threads_needed(const struct client_config *cfg)
{
	switch (cfg->stack) {
	case CLIENT_GLIBC:
	case CLIENT_GLIBC_RES:
	case CLIENT_LDNS:
	case CLIENT_EXEC: {
		unsigned n = cfg->threads;
		if (n == 0)
			n = cfg->rate > 0 ? 16 : (cfg->concurrency ? cfg->concurrency : 1);
		return n > CLIENT_THREADS_MAX ? CLIENT_THREADS_MAX : n;
	}
	case CLIENT_UNBOUND:
		return 1; /* ub_ctx_async(ctx, 1): its background thread */
	case CLIENT_CARES:
	case CLIENT_STACKS:
		break;
	}
	return 0;
}

unsigned client_threads_live(void)
{
	return atomic_load(&threads_live);
}

/* Reserves the client's threads under the cap; false (nothing taken) when over it. */
static bool threads_reserve(struct client *c, unsigned n, unsigned *total)
{
	unsigned cur = atomic_load(&threads_live);
	do {
		*total = cur + n;
		if (*total > CLIENT_RUN_THREADS_MAX)
			return false;
	} while (!atomic_compare_exchange_weak(&threads_live, &cur, *total));
	c->threads_held = n;
	return true;
}

static void threads_release(struct client *c)
{
	if (c->threads_held)
		atomic_fetch_sub(&threads_live, c->threads_held);
	c->threads_held = 0;
}

static const struct client_driver *driver_for(enum client_stack s)
{
	switch (s) {
	case CLIENT_GLIBC:
		return &client_glibc_driver;
	case CLIENT_GLIBC_RES:
		return &client_glibc_res_driver;
	case CLIENT_CARES:
		return &client_cares_driver;
	case CLIENT_LDNS:
		return &client_ldns_driver;
	case CLIENT_UNBOUND:
		return &client_unbound_driver;
	case CLIENT_EXEC:
		return &client_exec_driver;
	case CLIENT_STACKS:
		break;
	}
	return NULL;
}

const char *client_stack_version(enum client_stack s)
{
	const struct client_driver *d = driver_for(s);
	return d && d->version ? d->version() : "?";
}

/* ---- accessors for drivers ---- */

const struct client_config *client_cfg(const struct client *c)
{
	return &c->cfg;
}

struct event_base *client_base(const struct client *c)
{
	return env_base(c->env);
}

double client_clock(const struct client *c)
{
	return env_clock(c->env);
}

bool client_stopping(const struct client *c)
{
	return atomic_load(&c->stopping);
}

const char *client_name(const struct client *c)
{
	return c->cfg.name;
}

void client_get_stats(const struct client *c, struct client_stats *out)
{
	*out = c->st;
	out->pending = c->pending;
}

/* ---- the history ---- */

static const char *family_name(enum client_family f)
{
	return f == CLIENT_FAMILY_AAAA ? "AAAA" : f == CLIENT_FAMILY_BOTH ? "both" : "A";
}

/* Stacks that ask for addresses the getaddrinfo way, by family. */
static bool by_family(enum client_stack s)
{
	return s == CLIENT_GLIBC || s == CLIENT_CARES || s == CLIENT_UNBOUND;
}

static void record_invoke(struct client *c, const struct pending *p)
{
	struct history *h = env_history(c->env);
	if (!h)
		return;
	char tb[16];
	history_begin(h, p->invoked, "lookup");
	history_str(h, "event", "invoke");
	history_str(h, "client", c->cfg.name);
	history_str(h, "stack", stack_names[c->cfg.stack]);
	history_uint(h, "id", p->lk.id);
	history_str(h, "name", p->lk.name);
	if (by_family(c->cfg.stack))
		history_str(h, "family", family_name(p->lk.family));
	else
		history_str(h, "qtype", answer_type_str(p->lk.qtype, tb, sizeof tb));
	history_str(h, "target", c->cfg.target_name);
	history_end(h);
}

/* The addresses whose bit is set in mask, as an array field (none: no field). */
static void record_addrs(struct history *h, const char *key, const struct lookup *lk,
			 uint64_t mask)
{
	char buf[64];
	if (!mask)
		return;
	history_array_begin(h, key);
	for (size_t i = 0; i < lk->naddrs && i < CLASSIFY_MASK_BITS; i++)
		if (mask >> i & 1)
			history_elem_str(h, inet_ntop(lk->addrs[i].family, lk->addrs[i].a, buf,
						      sizeof buf));
	history_array_end(h);
}

/*
 * Fresh, stale or wrong: positive answers, and negative ones (no address).
 * Sets *r (CLASS_NONE: not classified) and counts stale and wrong answers
 * into the client's stats, with a history or without.
 */
static void classify_done(struct client *c, const struct pending *p, double now,
			  struct classify_result *r)
{
	const struct lookup *lk = &p->lk;
	bool want_a, want_aaaa;
	memset(r, 0, sizeof *r);
	r->cls = CLASS_NONE;
	if (by_family(c->cfg.stack)) {
		want_a = lk->family != CLIENT_FAMILY_AAAA;
		want_aaaa = lk->family != CLIENT_FAMILY_A;
	} else {
		want_a = lk->qtype == LDNS_RR_TYPE_A;
		want_aaaa = lk->qtype == LDNS_RR_TYPE_AAAA;
	}
	bool negative = lk->result == LOOKUP_FAIL &&
			(lk->reason == REASON_NXDOMAIN || lk->reason == REASON_NODATA);
	struct classify *cl = env_classify(c->env);
	if (!cl || !(want_a || want_aaaa) || !(lk->result == LOOKUP_OK || negative))
		return;
	struct classify_query q = {
		lk->name, want_a, want_aaaa, lk->reason == REASON_NXDOMAIN,
		lk->addrs, lk->result == LOOKUP_OK ? lk->naddrs : 0, now,
	};
	*r = classify_answer(cl, &q);
	if (r->cls == CLASS_STALE)
		c->st.stale++;
	else if (r->cls == CLASS_WRONG)
		c->st.wrong++;
}

static void record_done(struct client *c, struct pending *p, double now)
{
	struct history *h = env_history(c->env);
	struct lookup *lk = &p->lk;
	struct classify_result r;
	classify_done(c, p, now, &r);
	if (!h)
		return;
	char buf[64], rb[16];
	history_begin(h, now, "lookup");
	history_str(h, "event", lookup_result_name(lk->result));
	history_str(h, "client", c->cfg.name);
	history_str(h, "stack", stack_names[c->cfg.stack]);
	history_uint(h, "id", lk->id);
	history_str(h, "name", lk->name);
	history_double(h, "latency_ms", (now - p->invoked) * 1000.0, 3);
	if (lk->result == LOOKUP_OK) {
		history_array_begin(h, "answers");
		for (size_t i = 0; i < lk->naddrs; i++)
			history_elem_str(h, inet_ntop(lk->addrs[i].family, lk->addrs[i].a, buf,
						      sizeof buf));
		history_array_end(h);
	}
	if (!by_family(c->cfg.stack) && lk->records)
		history_uint(h, "records", lk->records);
	if (lk->result != LOOKUP_OK) {
		if (lk->reason != REASON_NONE)
			history_str(h, "reason", lookup_reason_name(lk->reason));
		if (lk->error[0])
			history_str(h, "error", lk->error);
	}
	if (lk->rcode >= 0)
		history_str(h, "rcode", answer_rcode_str((uint16_t)lk->rcode, rb, sizeof rb));

	if (r.cls != CLASS_NONE) {
		char hex[ZONE_DIGEST_HEX];
		history_str(h, "class", classify_name(r.cls));
		if (r.cls == CLASS_FRESH || r.cls == CLASS_STALE || r.stale) {
			history_uint(h, "serial", r.serial);
			zone_digest_hex(r.digest, hex);
			history_str(h, "digest", hex);
		}
		if (r.grace)
			history_bool(h, "grace", true);
		record_addrs(h, "stale_records", lk, r.stale);
		record_addrs(h, "wrong_records", lk, r.wrong);
	}
	history_uint(h, "wire", p->join.wire);
	if (c->cfg.stack == CLIENT_EXEC) {
		history_int(h, "exit", lk->exit_status);
		history_str(h, "output", lk->output);
	}
	history_end(h);
}

/*
 * The completion of a lookup cancelled by the end of the run, from fields
 * only the loop thread writes: a worker may still be inside the stack,
 * writing the lookup's outcome.
 */
static void record_cancelled(struct client *c, const struct pending *p, double now)
{
	struct history *h = env_history(c->env);
	if (!h)
		return;
	history_begin(h, now, "lookup");
	history_str(h, "event", "cancelled");
	history_str(h, "client", c->cfg.name);
	history_str(h, "stack", stack_names[c->cfg.stack]);
	history_uint(h, "id", p->lk.id);
	history_str(h, "name", c->cfg.names[p->name_idx]);
	history_double(h, "latency_ms", (now - p->invoked) * 1000.0, 3);
	history_str(h, "error", "the run ended");
	history_uint(h, "wire", p->join.wire);
	history_end(h);
}

/* ---- in flight ---- */

static void link_pending(struct client *c, struct pending *p)
{
	unsigned i = p->name_idx;
	p->prev = c->tails[i];
	p->next = NULL;
	if (c->tails[i])
		c->tails[i]->next = p;
	else
		c->heads[i] = p;
	c->tails[i] = p;
	c->pending++;
}

static void unlink_pending(struct client *c, struct pending *p)
{
	unsigned i = p->name_idx;
	join_ended_add(&c->ended, &p->join);
	if (p->prev)
		p->prev->next = p->next;
	else
		c->heads[i] = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		c->tails[i] = p->prev;
	p->prev = p->next = NULL;
	c->pending--;
}

static void schedule_refill(struct client *c);

/* A lookup's outcome is in: record it, count it, free it. */
static void complete(struct client *c, struct pending *p)
{
	double now = env_now(c->env);
	unlink_pending(c, p);
	if (!p->cancelled) {
		switch (p->lk.result) {
		case LOOKUP_OK:
			c->st.ok++;
			break;
		case LOOKUP_TIMEOUT:
			c->st.timeouts++;
			break;
		default:
			if (p->lk.reason == REASON_OVERLOAD)
				c->st.overload++;
			c->st.failed++;
			break;
		}
		record_done(c, p, now);
	}
	free(p);
	if (c->cfg.rate == 0 && !c->stopped)
		schedule_refill(c);
}

void client_done(struct client *c, struct lookup *lk)
{
	complete(c, (struct pending *)lk);
}

/* ---- worker threads ---- */

struct worker_arg {
	struct client *c;
	unsigned index;
};

static void *worker_main(void *arg)
{
	struct worker_arg wa = *(struct worker_arg *)arg;
	free(arg);
	struct client *c = wa.c;
	struct pool *pl = &c->pool;
	char err[256] = "";
	char tname[16];
	snprintf(tname, sizeof tname, "dc-%.8s", c->cfg.name);
	pthread_setname_np(pthread_self(), tname);
	/* The run's signals are the loop's business; only SIGURG (the stop nudge) is ours. */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	void *ts = c->drv->thread_open ? c->drv->thread_open(c, err, sizeof err) : NULL;
	bool failed = !ts && err[0];
	pthread_mutex_lock(&pl->mu);
	if (failed && !pl->err[0])
		snprintf(pl->err, sizeof pl->err, "client %s: %s", c->cfg.name, err);
	pl->ready++;
	pthread_cond_broadcast(&pl->ready_cv);
	pthread_mutex_unlock(&pl->mu);
	if (failed)
		goto out;
	for (;;) {
		pthread_mutex_lock(&pl->mu);
		while (!pl->qhead && !pl->quit)
			pthread_cond_wait(&pl->cv, &pl->mu);
		struct pending *p = pl->qhead;
		if (!p) { /* quit, and nothing left */
			pthread_mutex_unlock(&pl->mu);
			break;
		}
		pl->qhead = p->qnext;
		if (!pl->qhead)
			pl->qtail = NULL;
		atomic_store(&p->started, true);
		pthread_mutex_unlock(&pl->mu);

		c->drv->resolve(c, ts, &p->lk);

		pthread_mutex_lock(&pl->mu);
		p->qnext = pl->done;
		pl->done = p;
		pthread_mutex_unlock(&pl->mu);
		uint64_t one = 1;
		ssize_t w = write(pl->efd, &one, sizeof one);
		(void)w; /* the counter cannot overflow here; a failed write only delays */
	}
	if (c->drv->thread_close)
		c->drv->thread_close(ts);
out:
	/* Tell the loop (pool_stop waits on it): the last touch of the pool. */
	atomic_store(&pl->exited[wa.index], true);
	uint64_t one = 1;
	ssize_t w = write(pl->efd, &one, sizeof one);
	(void)w;
	return NULL;
}

/* Loop side: lookups back from the workers. */
static void pool_drain(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct pool *pl = &c->pool;
	uint64_t v;
	(void)what;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r; /* EAGAIN: another drain took it; the list says what is there */
	pthread_mutex_lock(&pl->mu);
	struct pending *list = pl->done;
	pl->done = NULL;
	pthread_mutex_unlock(&pl->mu);
	/* The list is newest first; complete in the order they finished. */
	struct pending *rev = NULL;
	while (list) {
		struct pending *n = list->qnext;
		list->qnext = rev;
		rev = list;
		list = n;
	}
	while (rev) {
		struct pending *n = rev->qnext;
		complete(c, rev);
		rev = n;
	}
}

static int pool_start(struct client *c, char *err, size_t errlen)
{
	/* SIGURG: ignored by default, so a stray one harms nothing; ours interrupts waits. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_wake;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGURG, &sa, NULL);
	struct pool *pl = &c->pool;
	/* One cap, whatever sets the count (reserved by client_start). */
	unsigned n = client_threads_needed(&c->cfg);
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->cv, NULL);
	pthread_cond_init(&pl->ready_cv, NULL);
	c->have_pool = true;
	pl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pl->threads = calloc(n, sizeof *pl->threads);
	pl->joined = calloc(n, sizeof *pl->joined);
	pl->exited = calloc(n, sizeof *pl->exited);
	if (pl->efd < 0 || !pl->threads || !pl->joined || !pl->exited) {
		snprintf(err, errlen, "client %s: cannot start worker threads: %s", c->cfg.name,
			 strerror(errno));
		return -1;
	}
	pl->done_ev = event_new(env_base(c->env), pl->efd, EV_READ | EV_PERSIST, pool_drain, c);
	if (!pl->done_ev || event_add(pl->done_ev, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pl->n = n;
	for (unsigned i = 0; i < n; i++) {
		struct worker_arg *wa = malloc(sizeof *wa);
		if (!wa) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		*wa = (struct worker_arg){c, i};
		int e = pthread_create(&pl->threads[i], NULL, worker_main, wa);
		if (e != 0) {
			free(wa);
			snprintf(err, errlen, "client %s: cannot start worker thread: %s", c->cfg.name,
				 strerror(e));
			return -1;
		}
		pl->started++;
	}
	/* Every worker has set its stack up (or said why it cannot) before the load starts. */
	pthread_mutex_lock(&pl->mu);
	while (pl->ready < pl->started)
		pthread_cond_wait(&pl->ready_cv, &pl->mu);
	if (pl->err[0])
		snprintf(err, errlen, "%s", pl->err);
	bool failed = pl->err[0] != '\0';
	pthread_mutex_unlock(&pl->mu);
	return failed ? -1 : 0;
}

static bool pool_all_exited(const struct pool *pl)
{
	for (unsigned i = 0; i < pl->started; i++)
		if (!atomic_load(&pl->exited[i]))
			return false;
	return true;
}

/* The reap's timer: nudges the workers still running, ends the wait at the deadline. */
static void pool_nudge(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct pool *pl = &c->pool;
	(void)fd;
	(void)what;
	for (unsigned i = 0; i < pl->started; i++)
		if (!atomic_load(&pl->exited[i]))
			pthread_kill(pl->threads[i], SIGURG);
}

/*
 * Runs the loop until every worker has ended or stop_deadline passed: the
 * workers' eventfd (pool_drain: lookups back, and ends) and a NUDGE_S timer
 * wake it. Called after the run's loop has returned (client_reap); if the
 * loop is running already (a caller inside a callback), waits in NUDGE_S
 * sleeps instead, with the same bound.
 */
static void pool_wait(struct client *c)
{
	struct pool *pl = &c->pool;
	struct event_base *base = env_base(c->env);
	struct timeval tick = clock_timeval(NUDGE_S);
	struct event *nudge = event_new(base, -1, EV_PERSIST, pool_nudge, c);
	bool looped = nudge && event_add(nudge, &tick) == 0;

	while (!pool_all_exited(pl) && env_clock(c->env) < c->stop_deadline) {
		if (looped && event_base_loop(base, EVLOOP_ONCE) == 0)
			continue;
		looped = false; /* no loop to run here: nudge and sleep */
		pool_nudge(-1, 0, c);
		struct timespec ts = {0, (long)(NUDGE_S * 1e9)};
		nanosleep(&ts, NULL);
	}
	if (nudge)
		event_free(nudge);
}

/* Stops the workers: drops what waits in the queue, joins, frees what came back. */
static void pool_stop(struct client *c)
{
	struct pool *pl = &c->pool;
	if (!c->have_pool || c->abandoned)
		return;
	pthread_mutex_lock(&pl->mu);
	pl->quit = true;
	struct pending *q = pl->qhead;
	pl->qhead = pl->qtail = NULL;
	pthread_cond_broadcast(&pl->cv);
	pthread_mutex_unlock(&pl->mu);
	while (q) {
		struct pending *n = q->qnext;
		unlink_pending(c, q);
		free(q);
		q = n;
	}
	/*
	 * A worker may be blocked in its stack. glibc returns at once once the
	 * farm's ports are closed, but ldns waits on unconnected sockets, which
	 * a closed port never wakes: it would sit out every try (5 s x 3 by
	 * default). A signal without SA_RESTART ends each wait with EINTR, which
	 * ldns takes as that try failing, so the call returns within a few
	 * signals. The wait is the loop's (pool_wait): timers and the eventfd
	 * each worker writes as it ends, never a sleep; and bounded (until
	 * stop_deadline): a worker still inside its stack then (glibc sits out
	 * its timeout whatever the signal) is left to finish on its own, its
	 * lookup already recorded as cancelled, and the client stays allocated
	 * for it (abandoned): the process's exit ends it.
	 */
	pool_wait(c);
	unsigned left = 0;
	for (unsigned i = 0; i < pl->started; i++) {
		if (pl->joined[i])
			continue;
		if (atomic_load(&pl->exited[i]) && pthread_join(pl->threads[i], NULL) == 0) {
			pl->joined[i] = true;
			continue;
		}
		pthread_detach(pl->threads[i]);
		left++;
	}
	if (left) {
		c->abandoned = true; /* the pool's lock, queue and eventfd stay theirs */
		if (pl->done_ev) /* the loop listens no more: what comes back stays on pl->done */
			event_free(pl->done_ev);
		pl->done_ev = NULL;
		return;
	}
	pl->started = 0;
	struct pending *d = pl->done;
	pl->done = NULL;
	while (d) {
		struct pending *n = d->qnext;
		unlink_pending(c, d);
		free(d);
		d = n;
	}
	if (pl->done_ev)
		event_free(pl->done_ev);
	pl->done_ev = NULL;
	if (pl->efd >= 0)
		close(pl->efd);
	pl->efd = -1;
	free(pl->threads);
	pl->threads = NULL;
	free(pl->joined);
	pl->joined = NULL;
	free(pl->exited);
	pl->exited = NULL;
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->cv);
	pthread_cond_destroy(&pl->ready_cv);
	c->have_pool = false;
}

/* ---- issuing lookups ---- */

static unsigned pick_name(struct client *c)
{
	if (c->cfg.nnames == 1)
		return 0;
	double x = rng_unit(&c->rng) * c->total_weight;
	for (size_t i = 0; i < c->cfg.nnames; i++) {
		x -= c->cfg.weights[i];
		if (x < 0)
			return (unsigned)i;
	}
	return (unsigned)(c->cfg.nnames - 1);
}

static void issue(struct client *c)
{
	struct pending *p = calloc(1, sizeof *p);
	if (!p) {
		env_fail(c->env, "client %s: out of memory", c->cfg.name);
		return;
	}
	p->c = c;
	p->name_idx = pick_name(c);
	p->lk.id = env_next_lookup_id(c->env);
	p->lk.name = c->cfg.names[p->name_idx];
	p->lk.family = c->cfg.family;
	p->lk.qtype = c->cfg.qtype;
	p->lk.rcode = -1;
	p->lk.result = LOOKUP_FAIL;
	p->lk.reason = REASON_ERROR;
	p->invoked = env_now(c->env);
	c->issued++;
	c->st.invoked++;
	link_pending(c, p);
	record_invoke(c, p);

	if (c->cfg.rate > 0 && c->pending > c->cfg.max_pending) {
		lookup_fail(&p->lk, LOOKUP_FAIL, REASON_OVERLOAD, "client queue full");
		complete(c, p);
		return;
	}
	if (c->drv->threaded) {
		struct pool *pl = &c->pool;
		pthread_mutex_lock(&pl->mu);
		if (pl->qtail)
			pl->qtail->qnext = p;
		else
			pl->qhead = p;
		pl->qtail = p;
		pthread_cond_signal(&pl->cv);
		pthread_mutex_unlock(&pl->mu);
		return;
	}
	atomic_store(&p->started, true);
	if (c->drv->start(c, c->state, &p->lk) != 0)
		complete(c, p);
}

static bool may_issue(const struct client *c)
{
	return c->window_open && !c->stopped &&
	       (c->cfg.max_lookups == 0 || c->issued < c->cfg.max_lookups);
}

static double next_gap(struct client *c)
{
	double mean = 1.0 / c->rate;
	if (!c->cfg.poisson)
		return mean;
	double u = rng_unit(&c->rng);
	return -log(1.0 - u) * mean;
}

static void arm_arrival(struct client *c)
{
	if (!may_issue(c) || c->rate <= 0)
		return;
	double wait = c->next_arrival - env_now(c->env);
	struct timeval tv = clock_timeval(wait > 0 ? wait : 0);
	event_add(c->arrival_ev, &tv);
}

/* Open loop: every arrival due by now is issued, whatever the farm does. */
static void on_arrival(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	(void)fd;
	(void)what;
	double now = env_now(c->env);
	for (int n = 0; n < TICK_MAX && may_issue(c) && c->next_arrival <= now; n++) {
		issue(c);
		c->next_arrival += next_gap(c);
	}
	/* Far behind (a stalled loop): arrivals lost are not replayed in a burst. */
	if (c->next_arrival < now - 1.0)
		c->next_arrival = now;
	arm_arrival(c);
}

/* Closed loop: keep concurrency lookups in flight. */
static void on_refill(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	(void)fd;
	(void)what;
	/* At most concurrency per call: a stack that fails every lookup at once
	 * must not keep the loop here (timers, signals and the end wait on it). */
	for (unsigned n = 0; n < c->cfg.concurrency && may_issue(c) &&
			     c->pending < c->cfg.concurrency; n++)
		issue(c);
}

/* Refills on the loop's next turn (a zero timer: after the sockets and timers). */
static void schedule_refill(struct client *c)
{
	static const struct timeval now = { 0, 0 };
	if (may_issue(c) && !evtimer_pending(c->refill_ev, NULL))
		evtimer_add(c->refill_ev, &now);
}

bool client_open_loop(const struct client *c)
{
	return c->cfg.rate > 0;
}

void client_set_rate(struct client *c, double rate)
{
	if (rate < 0)
		rate = 0;
	bool was = c->rate > 0;
	c->rate = rate;
	if (!c->started || c->cfg.rate == 0)
		return;
	if (rate == 0) {
		event_del(c->arrival_ev);
		return;
	}
	if (!was)
		c->next_arrival = env_now(c->env) + next_gap(c);
	event_del(c->arrival_ev);
	arm_arrival(c);
}

/* The window opens (from) or closes (to). */
static void on_window(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	(void)fd;
	(void)what;
	if (!c->window_open) {
		c->window_open = true;
		if (c->cfg.to_s > 0) {
			struct timeval tv = clock_timeval(c->cfg.to_s - env_now(c->env));
			event_add(c->window_ev, &tv);
		}
		if (c->cfg.rate > 0) {
			c->next_arrival = env_now(c->env);
			arm_arrival(c);
		} else {
			schedule_refill(c);
		}
		return;
	}
	c->window_open = false; /* in-flight lookups finish; no new ones */
	event_del(c->arrival_ev);
}

/* ---- the join: wire queries to lookups ---- */

static int add_variant(struct client *c, const char *text, unsigned idx, bool search, char *err,
		       size_t errlen)
{
	char abs[WIRE_NAME_MAX * 4 + 2];
	size_t n = strlen(text);
	snprintf(abs, sizeof abs, "%s%s", text, n && text[n - 1] == '.' ? "" : ".");
	ldns_rdf *dn = ldns_dname_new_frm_str(abs);
	if (!dn || ldns_rdf_size(dn) > WIRE_NAME_MAX) {
		ldns_rdf_deep_free(dn);
		snprintf(err, errlen, "client %s: '%s' is not a valid domain name", c->cfg.name, text);
		return -1;
	}
	struct variant *v = &c->variants[c->nvariants++];
	v->len = ldns_rdf_size(dn);
	memcpy(v->wire, ldns_rdf_data(dn), v->len);
	ldns_rdf_deep_free(dn);
	wire_name_lower(v->wire);
	v->name_idx = idx;
	v->search = search;
	return 0;
}

static int build_variants(struct client *c, char *err, size_t errlen)
{
	size_t n = c->cfg.nnames * (c->cfg.nsearch + 1);
	c->variants = calloc(n ? n : 1, sizeof *c->variants);
	if (!c->variants) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < c->cfg.nnames; i++) {
		const char *name = c->cfg.names[i];
		if (add_variant(c, name, (unsigned)i, false, err, errlen) != 0)
			return -1;
		size_t len = strlen(name);
		if (len && name[len - 1] == '.')
			continue; /* absolute: never expanded */
		for (size_t s = 0; s < c->cfg.nsearch; s++) {
			char buf[WIRE_NAME_MAX * 4 + 2];
			snprintf(buf, sizeof buf, "%s.%s", name, c->cfg.search[s]);
			if (add_variant(c, buf, (unsigned)i, true, err, errlen) != 0)
				return -1;
		}
	}
	return 0;
}

/* The lookups of name idx that were alive when a query arriving now was sent, oldest first. */
static size_t live_lookups(struct client *c, unsigned idx)
{
	size_t n = 0;
	for (struct pending *p = c->heads[idx]; p; p = p->next) {
		if (!atomic_load(&p->started) || p->cancelled)
			continue; /* still waiting for a worker: it sent nothing */
		if (n == c->live_cap) {
			size_t cap = c->live_cap ? c->live_cap * 2 : 16;
			struct join_lookup **nl = realloc(c->live, cap * sizeof *nl);
			if (!nl)
				break; /* out of memory: the oldest are still considered */
			c->live = nl;
			c->live_cap = cap;
		}
		c->live[n++] = &p->join;
	}
	return n;
}

bool client_join(struct client *c, const struct addr *dst, const struct addr *src,
		 const uint8_t *qname, size_t qlen, uint16_t qtype, int id, bool commit,
		 struct client_join *out)
{
	if (!c->started)
		return false;
	size_t t = 0;
	while (t < c->cfg.ntargets && !(c->cfg.targets[t].len == dst->len &&
	                                memcmp(&c->cfg.targets[t].ss, &dst->ss, dst->len) == 0))
		t++;
	if (t == c->cfg.ntargets)
		return false;
	/* Whose packet: the client's own source address, the host's towards a
	 * target on another host, or 127.0.0.1 for stacks that cannot bind. */
	if (!join_source_ok(&c->cfg.source, &c->route[t], src))
		return false;
	const struct variant *v = NULL;
	size_t vi = 0;
	for (size_t i = 0; i < c->nvariants; i++)
		if (c->variants[i].len == qlen && memcmp(c->variants[i].wire, qname, qlen) == 0) {
			v = &c->variants[i];
			vi = i;
			break;
		}
	if (!v)
		return false;
	struct join_query q = { (uint16_t)vi, v->search, qtype, addr_port(src), id < 0 ? -1 : id };
	size_t n = live_lookups(c, v->name_idx), at = 0;
	enum join_cause cause = join_pick(c->live, n, &c->ended, &q, commit, &at);
	if (cause == JOIN_NONE)
		return false;
	out->client = c->cfg.name;
	out->ambiguous = cause == JOIN_AMBIGUOUS;
	out->lookup = 0;
	out->cause = NULL;
	if (!out->ambiguous) {
		const struct pending *p =
			(const struct pending *)((const char *)c->live[at] -
						 offsetof(struct pending, join));
		out->lookup = p->lk.id;
		out->cause = join_cause_name(cause);
		if (commit)
			c->st.wire++;
	}
	return true;
}

void client_sent(struct client *c, struct lookup *lk, uint16_t port, int id,
		 const uint8_t *qname, size_t qlen, uint16_t qtype)
{
	uint8_t lower[WIRE_NAME_MAX];
	if (!c->started || qlen > sizeof lower || id < 0)
		return;
	memcpy(lower, qname, qlen);
	wire_name_lower(lower);
	const struct variant *v = NULL;
	size_t vi = 0;
	for (size_t i = 0; i < c->nvariants && !v; i++)
		if (c->variants[i].len == qlen && memcmp(c->variants[i].wire, lower, qlen) == 0) {
			v = &c->variants[i];
			vi = i;
		}
	if (!v)
		return;
	struct join_query q = { (uint16_t)vi, v->search, qtype, port, id };
	struct pending *p = NULL;
	if (lk) {
		p = (struct pending *)lk;
		if (p->cancelled || p->name_idx != v->name_idx)
			return;
	} else {
		size_t n = live_lookups(c, v->name_idx), at = 0;
		if (!join_owner_of_id(c->live, n, &q, &at))
			return; /* unknown, or several: the join's rules decide on arrival */
		p = (struct pending *)((char *)c->live[at] - offsetof(struct pending, join));
	}
	join_announce(&p->join, &q);
}

/* ---- life ---- */

struct client *client_create(struct run_env *env, struct client_config *cfg, char *err,
			     size_t errlen)
{
	struct client *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		client_config_clear(cfg);
		return NULL;
	}
	c->env = env;
	c->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg); /* the strings are ours now */
	c->pool.efd = -1;
	c->drv = driver_for(c->cfg.stack);
	if (!c->drv) {
		snprintf(err, errlen, "client %s: unknown stack", c->cfg.name);
		goto fail;
	}
	if (c->cfg.nnames == 0) {
		snprintf(err, errlen, "client %s: no names to look up", c->cfg.name);
		goto fail;
	}
	for (size_t i = 0; i < c->cfg.nnames; i++)
		c->total_weight += c->cfg.weights[i];
	rng_seed(&c->rng, c->cfg.seed);
	c->rate = c->cfg.rate;
	c->heads = calloc(c->cfg.nnames, sizeof *c->heads);
	c->tails = calloc(c->cfg.nnames, sizeof *c->tails);
	if (!c->heads || !c->tails) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (build_variants(c, err, errlen) != 0)
		goto fail;
	struct event_base *base = env_base(env);
	c->arrival_ev = evtimer_new(base, on_arrival, c);
	c->refill_ev = evtimer_new(base, on_refill, c);
	c->window_ev = evtimer_new(base, on_window, c);
	if (!c->arrival_ev || !c->refill_ev || !c->window_ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return c;
fail:
	client_destroy(c);
	return NULL;
}

/*
 * The address this host sends from towards target (off loopback), as the
 * routing table has it now: a UDP socket connected to it, asked its own
 * address; nothing is sent. A target no route leads to fails the start.
 */
static int route_source(const struct client *c, const struct addr *target, struct addr *out,
                        char *err, size_t errlen)
{
	char buf[80];
	int fd = socket(target->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	out->len = sizeof out->ss;
	if (fd < 0 || connect(fd, (const struct sockaddr *)&target->ss, target->len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&out->ss, &out->len) != 0) {
		snprintf(err, errlen, "client %s: cannot reach target %s: %s", c->cfg.name,
		         addr_str(target, buf, sizeof buf), strerror(errno));
		if (fd >= 0)
			close(fd);
		memset(out, 0, sizeof *out);
		return -1;
	}
	close(fd);
	addr_set_port(out, 0);
	return 0;
}

int client_start(struct client *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->cfg.ntargets; i++)
		if (c->cfg.target_refs[i]) /* the port is known once the farm started */
			c->cfg.targets[i] = *c->cfg.target_refs[i];
	c->cfg.target = c->cfg.targets[0];
	for (size_t i = 0; i < c->cfg.ntargets; i++)
		if (!addr_is_loopback(&c->cfg.targets[i]) &&
		    route_source(c, &c->cfg.targets[i], &c->route[i], err, errlen) != 0)
			return -1;
	/* One cap on the threads of all the clients, before any is made. */
	unsigned need = client_threads_needed(&c->cfg), total = 0;
	if (need && !threads_reserve(c, need, &total)) {
		snprintf(err, errlen, "client %s: would bring the run to %u client threads, over "
			 "the run's cap of %d; lower 'threads' or 'concurrency'", c->cfg.name,
			 total, CLIENT_RUN_THREADS_MAX);
		return -1;
	}
	if (c->drv->open && c->drv->open(c, &c->state, err, errlen) != 0)
		return -1;
	if (c->drv->threaded && pool_start(c, err, errlen) != 0)
		return -1;
	c->started = true;
	struct timeval tv = clock_timeval(c->cfg.from_s - env_now(c->env));
	event_add(c->window_ev, &tv);
	return 0;
}

void client_stop(struct client *c)
{
	if (!c || c->stopped)
		return;
	c->stopped = true;
	c->window_open = false;
	atomic_store(&c->stopping, true);
	c->stop_deadline = env_clock(c->env) + STOP_WAIT_S; /* one bound for every client's reap */
	if (!c->started)
		return; /* nothing was issued, no driver to close */
	event_del(c->arrival_ev);
	event_del(c->refill_ev);
	event_del(c->window_ev);
	/* Lookups waiting for a worker never reach the stack now. */
	struct pending *queued = NULL;
	if (c->have_pool) {
		pthread_mutex_lock(&c->pool.mu);
		queued = c->pool.qhead;
		c->pool.qhead = c->pool.qtail = NULL;
		c->pool.quit = true;
		pthread_cond_broadcast(&c->pool.cv);
		pthread_mutex_unlock(&c->pool.mu);
	}
	/* What is still in flight is recorded now, as cancelled, and never again. */
	double now = env_now(c->env);
	for (size_t i = 0; i < c->cfg.nnames; i++)
		for (struct pending *p = c->heads[i]; p; p = p->next) {
			if (p->cancelled)
				continue;
			p->cancelled = true;
			c->st.cancelled++;
			record_cancelled(c, p, now);
		}
	while (queued) {
		struct pending *n = queued->qnext;
		unlink_pending(c, queued);
		free(queued);
		queued = n;
	}
	if (c->drv->close)
		c->drv->close(c, c->state);
	c->state = NULL;
	/* Loop drivers' lookups that never called back. */
	if (!c->drv->threaded)
		for (size_t i = 0; i < c->cfg.nnames; i++)
			while (c->heads[i]) {
				struct pending *p = c->heads[i];
				unlink_pending(c, p);
				free(p);
			}
}

void client_reap(struct client *c)
{
	if (c)
		pool_stop(c);
}

void client_destroy(struct client *c)
{
	if (!c)
		return;
	client_stop(c); /* safe on a half-made client: it returns before the events unless started */
	pool_stop(c);
	if (c->abandoned)
		return; /* its workers still use it (and still count as threads) */
	threads_release(c); /* the driver's own (libunbound's) ended in client_stop */
	if (c->arrival_ev)
		event_free(c->arrival_ev);
	if (c->refill_ev)
		event_free(c->refill_ev);
	if (c->window_ev)
		event_free(c->window_ev);
	free(c->heads);
	free(c->tails);
	free(c->variants);
	free(c->live);
	client_config_clear(&c->cfg);
	free(c);
}
