/*
 * env.h - what a run gives the objects it drives: one injected environment
 * (struct run_env) instead of calls up into the run. The farm (harness/farm),
 * the clients (harness/clients) and the VIP read the loop, the clock, the
 * history and the classifier here, and tell the run about events, joins and
 * failures through it; they never include harness/run/ or harness/lua/.
 *
 * The run (harness/run/run.c) owns the one struct run_env of a run and fills
 * it in; objects keep a pointer to it (its fields change as the run goes:
 * the history is opened at start, the clock's zero is set then). A test can
 * make its own with other ops. Everything here is for the loop thread,
 * except env_clock and env_now, which a worker thread may call (the clock
 * function and t0 do not change while workers run).
 *
 * The clock: env->clock gives monotonic seconds; env_now is seconds since
 * the run started. Every time the farm and the clients read goes through
 * these two, so a run on another clock (virtual time) changes env->clock.
 */
#ifndef HARNESS_ENV_H
#define HARNESS_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr;
struct classify;
struct event_base;
struct history;
struct zone_version;

/*
 * The join's answer: which client's lookup sent a wire query (harness/clients
 * decides, docs/history.md "The join").
 */
struct client_join {
	const char *client; /* NULL: more than one client could have sent it */
	uint64_t lookup;    /* the lookup's id; 0 when ambiguous */
	const char *cause;  /* "first", "pair", "search", "retry"; NULL when ambiguous */
	bool ambiguous;     /* more than one lookup (or client) could have sent it */
};

/* What the run does for its objects; ctx is run_env.ctx. */
struct run_env_ops {
	/* target (a farm object) had event ("booted", "stopped", ...): delivered later. */
	void (*emit)(void *ctx, const void *target, const char *event);
	/* Joins a wire query arriving now to a client's lookup; false: nobody's. */
	bool (*join)(void *ctx, const struct addr *dst, const struct addr *src,
		     const uint8_t *qname, size_t qlen, uint16_t qtype, int id,
		     struct client_join *out);
	/* Stops the run as failed (msg copied); the first reason stands. */
	void (*fail)(void *ctx, const char *msg);
	/* A zone version the run now knows (how: enum classify_known); 0 or -1. */
	int (*know_version)(void *ctx, struct zone_version *v, int how);
	/* v published at run time t: the classifier's truth from then on; 0 or -1. */
	int (*publish_version)(void *ctx, struct zone_version *v, double t);
	/* Whether vip is the address of a kernel VIP that DNATs to backend: a
	 * reply the backend sends to a DNATed flow leaves with vip as its source. */
	bool (*fronts)(void *ctx, const struct addr *vip, const struct addr *backend);
};

struct run_env {
	struct event_base *base;   /* the run's loop (precise timers) */
	struct history *hist;      /* NULL: no history is written (or not yet open) */
	struct classify *classify; /* the run's answer classifier */
	double (*clock)(void);     /* monotonic seconds */
	double t0;                 /* clock() when the run started; 0 before */
	bool running;              /* the farm is started (and not yet stopped) */
	uint64_t seed;             /* the seed in force */
	int verbose;               /* -v: env_say prints */
	uint32_t next_id;          /* faults, timeline entries: never 0 */
	uint64_t next_lookup;      /* lookups: never 0 */
	unsigned next_addr;        /* the last octet of the next 127.B.0.x */
	unsigned addr_block;       /* B: the second octet of automatic addresses (DNSCHAOS_ADDRESS_BLOCK) */
	const struct run_env_ops *ops;
	void *ctx;
};

/* Monotonic seconds on the run's clock (any thread). */
static inline double env_clock(const struct run_env *e)
{
	return e->clock();
}

/* Seconds since the run started; 0 before it starts (any thread). */
static inline double env_now(const struct run_env *e)
{
	return e->t0 > 0 ? e->clock() - e->t0 : 0;
}

static inline struct event_base *env_base(const struct run_env *e)
{
	return e->base;
}

static inline struct history *env_history(const struct run_env *e)
{
	return e->hist;
}

static inline struct classify *env_classify(const struct run_env *e)
{
	return e->classify;
}

static inline bool env_running(const struct run_env *e)
{
	return e->running;
}

static inline uint64_t env_seed(const struct run_env *e)
{
	return e->seed;
}

/* A new id, unique in the run (faults, timeline entries); never 0. */
static inline uint32_t env_next_id(struct run_env *e)
{
	return e->next_id++;
}

/* A new lookup id, unique in the run; never 0. */
static inline uint64_t env_next_lookup_id(struct run_env *e)
{
	return e->next_lookup++;
}

static inline void env_emit(struct run_env *e, const void *target, const char *event)
{
	if (e->ops && e->ops->emit)
		e->ops->emit(e->ctx, target, event);
}

static inline bool env_join(struct run_env *e, const struct addr *dst, const struct addr *src,
			    const uint8_t *qname, size_t qlen, uint16_t qtype, int id,
			    struct client_join *out)
{
	return e->ops && e->ops->join && e->ops->join(e->ctx, dst, src, qname, qlen, qtype, id, out);
}

static inline int env_know_version(struct run_env *e, struct zone_version *v, int how)
{
	return e->ops && e->ops->know_version ? e->ops->know_version(e->ctx, v, how) : 0;
}

static inline int env_publish_version(struct run_env *e, struct zone_version *v, double t)
{
	return e->ops && e->ops->publish_version ? e->ops->publish_version(e->ctx, v, t) : 0;
}

static inline bool env_fronts(struct run_env *e, const struct addr *vip, const struct addr *backend)
{
	return e->ops && e->ops->fronts && e->ops->fronts(e->ctx, vip, backend);
}

/* Stops the run as failed, with a message; the loop exits after the current callback. */
void env_fail(struct run_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a line on stderr when verbose (prefixed with the run time). */
void env_say(const struct run_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The next free loopback address 127.B.0.10, .11, ... (B: addr_block) into out; -1 when none is left. */
int env_next_address(struct run_env *e, char *out, size_t cap);

/*
 * A run_env with the defaults: the monotonic clock (clock_mono), ids from 1,
 * addresses from 127.0.0.10, no ops (emit and join do nothing, fail is
 * ignored). The caller sets base, classify and ops.
 */
void env_init(struct run_env *e);

#endif
