/*
 * client.h - clients: real resolver libraries driven at the farm.
 *
 * A client is one stack (glibc getaddrinfo, glibc res_nquery, c-ares, ldns,
 * libunbound, or an external command) pointed at one target (the VIP, a
 * resolver, any loopback address:port), asking names from a weighted set, at
 * an open-loop rate or a closed-loop concurrency. The core (client.c) owns
 * everything shared: the load generator, the lookups in flight, the worker
 * threads for blocking stacks, the history lines, the classification of
 * answers and the join of wire queries to lookups. A driver (one file per
 * stack) only turns a lookup into the stack's own calls and its outcome back
 * into a struct lookup.
 *
 * Two kinds of driver:
 *  - threaded (glibc, glibc-res, ldns, exec): resolve() runs on a worker
 *    thread and blocks; per-thread state comes from thread_open(), called in
 *    that thread (glibc's _res is per thread).
 *  - on the loop (c-ares, libunbound): start() begins a lookup on the run's
 *    event_base and the driver calls client_done() from a loop callback later
 *    (never from inside start()).
 */
#ifndef HARNESS_CLIENTS_CLIENT_H
#define HARNESS_CLIENTS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/addr.h"
#include "harness/env.h"
#include "harness/record/classify.h"

struct client;
struct event_base;
struct run_env;

#define CLIENT_NAME_MAX 64
#define CLIENT_NAMES_MAX 256
#define CLIENT_SEARCH_MAX 6
#define CLIENT_ARGV_MAX 32
#define CLIENT_ENV_MAX 32      /* exec: env = {...} entries */
#define CLIENT_THREADS_MAX 1024 /* worker threads of one client, whatever sets the count */
#define CLIENT_RUN_THREADS_MAX 1024 /* threads all the clients of a run make together */
#define CLIENT_TARGETS_MAX 3 /* glibc asks at most three nameservers; the others follow */
#define LOOKUP_OUTPUT_MAX 256

enum client_stack {
	CLIENT_GLIBC,     /* getaddrinfo on worker threads */
	CLIENT_GLIBC_RES, /* res_nquery on a private res_state, on worker threads */
	CLIENT_CARES,     /* c-ares on the loop */
	CLIENT_LDNS,      /* ldns_resolver on worker threads */
	CLIENT_UNBOUND,   /* libunbound forwarding to the target, async on the loop */
	CLIENT_EXEC,      /* an external command per lookup, on worker threads */
	CLIENT_STACKS
};

enum client_family { CLIENT_FAMILY_A, CLIENT_FAMILY_AAAA, CLIENT_FAMILY_BOTH };

/* How a lookup ended. */
enum lookup_result {
	LOOKUP_OK,        /* an answer with at least one address (or record, for res_query) */
	LOOKUP_FAIL,      /* a definite failure: NXDOMAIN, NODATA, SERVFAIL, REFUSED, ... */
	LOOKUP_TIMEOUT,   /* the stack gave up waiting */
	LOOKUP_CANCELLED, /* still in flight when the run ended (set by the core) */
};

/* The shared outcome every stack's own error maps to. */
enum lookup_reason {
	REASON_NONE,        /* ok */
	REASON_NXDOMAIN,    /* the name does not exist */
	REASON_NODATA,      /* the name exists, no record of the type */
	REASON_SERVFAIL,
	REASON_REFUSED,
	REASON_TIMEOUT,     /* no answer in time */
	REASON_UNREACHABLE, /* connection refused / port unreachable */
	REASON_BADREPLY,    /* a reply the stack could not use (FORMERR, truncated, malformed) */
	REASON_OVERLOAD,    /* the client's own queue was full: never reached the stack */
	REASON_ERROR,       /* anything else (out of memory, the command could not run) */
	REASON_COUNT
};

/* struct lookup_addr (an address a lookup got): harness/record/classify.h, which classifies it. */

/*
 * One logical lookup. The core fills the request part; the driver fills the
 * outcome with lookup_fail / lookup_add_addr (it may set rcode, error and
 * output directly).
 */
struct lookup {
	/* request (read-only for the driver) */
	uint64_t id;               /* unique in the run, never 0 */
	const char *name;          /* as the scenario wrote it, no trailing dot */
	enum client_family family; /* getaddrinfo-like stacks */
	uint16_t qtype;            /* glibc-res / ldns / exec: the type to ask (A, AAAA, SOA, ...) */

	/* outcome (written by the driver) */
	enum lookup_result result;
	enum lookup_reason reason;
	int rcode;             /* the DNS rcode when the stack reports one, else -1 */
	char error[48];        /* the stack's own term: EAI_AGAIN, ARES_ETIMEOUT, SERVFAIL, exit 2 */
	struct lookup_addr addrs[LOOKUP_ADDRS_MAX];
	size_t naddrs;
	unsigned records;      /* glibc-res/ldns: answer records of the type asked */
	char output[LOOKUP_OUTPUT_MAX]; /* exec: the command's output (cut); others: "" */
	int exit_status;       /* exec: exit status, -1 if killed by the time limit */
};

/* Sets the outcome to a failure; error is the stack's own term (copied). */
void lookup_fail(struct lookup *lk, enum lookup_result result, enum lookup_reason reason,
		 const char *error);

/*
 * Adds an address (duplicates are skipped); sets result OK when it is the
 * first. Returns false when the array is full.
 */
bool lookup_add_addr(struct lookup *lk, int family, const void *addr);

/* Parses text as an IPv4 or IPv6 address and adds it; false if it is not one. */
bool lookup_add_addr_text(struct lookup *lk, const char *text);

/* Maps a DNS rcode to the shared reason (NOERROR with no data: REASON_NODATA). */
enum lookup_reason lookup_reason_for_rcode(int rcode);

const char *lookup_result_name(enum lookup_result r);
const char *lookup_reason_name(enum lookup_reason r);

/* ---- configuration ---- */

struct client_config {
	char name[CLIENT_NAME_MAX];
	enum client_stack stack;
	/*
	 * Where the stack sends: its nameserver list, in order (targets[0] is
	 * also in target). A farm object's address is read at start through
	 * target_refs (its port is chosen then).
	 */
	struct addr targets[CLIENT_TARGETS_MAX];
	const struct addr *target_refs[CLIENT_TARGETS_MAX];
	size_t ntargets;
	struct addr target;
	char target_name[CLIENT_NAME_MAX * CLIENT_TARGETS_MAX]; /* "vip" or "r1,r2" */
	struct addr source;                  /* bind here (port 0) where the stack can; ss_family 0: no */

	/* what it asks */
	char *names[CLIENT_NAMES_MAX];       /* owned by the config (see client_config_clear) */
	double weights[CLIENT_NAMES_MAX];
	size_t nnames;
	enum client_family family;
	uint16_t qtype;                      /* stacks that ask one type: default A (AAAA for family AAAA) */
	char *search[CLIENT_SEARCH_MAX];     /* search list (owned); empty by default, not resolv.conf's */
	size_t nsearch;
	int ndots;                           /* -1: the stack's default */

	/* load: open loop at rate, or closed loop with concurrency */
	double rate;                         /* lookups per second; 0: closed loop */
	bool poisson;                        /* exponential gaps (default) or constant */
	unsigned concurrency;                /* closed loop: lookups kept in flight */
	unsigned max_pending;                /* open loop: more in flight than this fail as overload */
	double from_s, to_s;                 /* run-time window; to_s 0: until the run ends */
	uint64_t max_lookups;                /* 0: no limit */
	unsigned threads;                    /* threaded stacks: worker threads */

	/* the stack's own options; negative: the stack's default */
	double timeout_s;   /* glibc: timeout (retrans), c-ares: timeout, ldns: retrans, exec: limit */
	int attempts;       /* glibc: attempts, c-ares: tries, ldns: retry */
	int rotate;         /* glibc, c-ares: rotate; 0/1 */
	int edns0;          /* glibc (options edns0), c-ares (ARES_FLAG_EDNS), ldns, exec: no */
	int single_request; /* glibc: single-request */
	int cache;          /* libunbound: answer cache (default on) */
	int random_order;   /* ldns: random server order (default on) */
	int resolv_timeout; /* exec in the sandbox: its resolv.conf's "timeout:" (whole seconds) */

	/* exec: the command; {name} {server} {port} {type} {source} are replaced */
	char *argv[CLIENT_ARGV_MAX];         /* owned, NULL-terminated */
	size_t argc;
	/* exec: added to the command's minimal environment; env[2i] a name, env[2i+1] its value */
	char *env[2 * CLIENT_ENV_MAX];       /* owned */
	size_t nenv;                         /* pairs */

	uint64_t seed;                       /* for name choice and arrival gaps */
};

/* Defaults: family A, qtype A, poisson, closed-loop concurrency 1, stack defaults. */
void client_config_defaults(struct client_config *cfg);

/* Frees the strings the config owns. */
void client_config_clear(struct client_config *cfg);

/* Parses "glibc", "glibc-res", "c-ares", "ldns", "libunbound" (or "unbound"), "exec". */
int client_stack_parse(const char *s, enum client_stack *out);
const char *client_stack_name(enum client_stack s);

/*
 * The threads a client with this configuration makes when it starts: its
 * worker threads (threaded stacks: threads, else 16 for an open loop, else
 * one per lookup in flight; at most CLIENT_THREADS_MAX), libunbound's one
 * background thread (ub_ctx_async), none for c-ares. Pure.
 */
unsigned client_threads_needed(const struct client_config *cfg);

/*
 * Thread-safe. The threads the process's started clients hold now (reserved
 * by client_start before any is made, for as long as the client lives):
 * what CLIENT_RUN_THREADS_MAX caps. A process runs one run at a time.
 */
unsigned client_threads_live(void);

/* Whether the stack can bind its source address (then wire queries join exactly). */
bool client_stack_binds_source(enum client_stack s);

/* ---- drivers ---- */

struct client_driver {
	enum client_stack stack;
	bool threaded;

	/* Loop thread, once at start: the driver's shared state (may stay NULL). */
	int (*open)(struct client *c, void **state, char *err, size_t errlen);
	/*
	 * Loop thread, once at the end, after every lookup was recorded as
	 * cancelled: cancel what is in flight and free the state. client_done
	 * may be called from inside close (it is then ignored), never after.
	 */
	void (*close)(struct client *c, void *state);

	/* threaded: per worker, in the worker thread. NULL return with err: the thread stops. */
	void *(*thread_open)(struct client *c, char *err, size_t errlen);
	void (*thread_close)(void *tstate);
	/* threaded: one lookup, blocking; fills the outcome. */
	void (*resolve)(struct client *c, void *tstate, struct lookup *lk);

	/* on the loop: starts a lookup; 0, or -1 with the outcome filled (done at once). */
	int (*start)(struct client *c, void *state, struct lookup *lk);

	/* The stack's version, "c-ares 1.18.1" (static storage). */
	const char *(*version)(void);
};

extern const struct client_driver client_glibc_driver;
extern const struct client_driver client_glibc_res_driver;
extern const struct client_driver client_cares_driver;
extern const struct client_driver client_ldns_driver;
extern const struct client_driver client_unbound_driver;
extern const struct client_driver client_exec_driver;

/* ---- for drivers ---- */

const struct client_config *client_cfg(const struct client *c);
struct event_base *client_base(const struct client *c);

/* Monotonic seconds on the run's clock (env_clock): any thread. Drivers read time only here. */
double client_clock(const struct client *c);

/* On the loop thread: a lookup started with start() has its outcome. */
void client_done(struct client *c, struct lookup *lk);

/* True once the run is ending: threaded drivers should give up waiting (exec). */
bool client_stopping(const struct client *c);

/* ---- for the runner and the Lua binding (loop thread) ---- */

/* Creates a client (config moved in: cfg is cleared). NULL with err on failure. */
struct client *client_create(struct run_env *env, struct client_config *cfg, char *err,
			     size_t errlen);

/*
 * Starts the driver (threaded: every worker set up, or the first one's
 * reason for refusing) and the load. Returns 0 or -1 with err; -1 too,
 * before any thread is made, when the client's threads
 * (client_threads_needed) would bring client_threads_live above
 * CLIENT_RUN_THREADS_MAX (the Lua binding refuses that at the call).
 */
int client_start(struct client *c, char *err, size_t errlen);

/*
 * Stops issuing, records what is in flight as cancelled, and closes the
 * driver. Starts the clock of the reap's bounded wait (5 s).
 */
void client_stop(struct client *c);

/*
 * Joins the worker threads (call after the farm closed its ports, and not
 * from inside a callback of the run's loop). Their blocked calls end once
 * the ports are closed, at a SIGURG nudge, or at the stack's own timeout;
 * meanwhile the run's loop runs (event_base_loop: its timers, signals and
 * history flushes are served; no sleep). At most 5 s after client_stop:
 * workers still inside their stack then are detached and left to finish,
 * and the client stays allocated for them (client_destroy frees nothing
 * then), until the process exits.
 */
void client_reap(struct client *c);

/* Frees the client (stops and reaps it first); NULL is a no-op. */
void client_destroy(struct client *c);

/*
 * The join: whether the wire query (qname wire, lower case; qtype; DNS id,
 * -1 when not known) that arrives at dst from src now came from one of this
 * client's lookups. Call it when the query arrives (not when it is served):
 * only the lookups in flight at that moment are candidates. Whose packet:
 * the client's own source address for stacks that bind one; for stacks that
 * cannot (glibc, exec), every query from 127.0.0.1 to the client's target
 * with one of its names. Which lookup: the rules of join.h over the
 * client's lookups of that name in flight. False when no lookup of the
 * client could have sent it. With commit, the decision is recorded (the
 * lookup's keys and wire count); without, only asked.
 */
bool client_join(struct client *c, const struct addr *dst, const struct addr *src,
		 const uint8_t *qname, size_t qlen, uint16_t qtype, int id, bool commit,
		 struct client_join *out);

/*
 * For drivers that see their stack's packets (c-ares), on the loop thread,
 * before the query can arrive anywhere: the stack sent a query (qname wire,
 * any case; qtype; DNS id) from this source port. lk is the lookup that sent
 * it, or NULL for "the lookup in flight that already sent this question with
 * this id" (a retry to another server: same id, another socket), used only
 * when exactly one did. The join then knows that key as the lookup's own
 * (join.h, join_announce): ids the stack reuses for two lookups at once on
 * one socket are told apart, or said to be ambiguous.
 */
void client_sent(struct client *c, struct lookup *lk, uint16_t port, int id,
		 const uint8_t *qname, size_t qlen, uint16_t qtype);

const char *client_name(const struct client *c);

/* True for an open-loop client (declared with a rate). */
bool client_open_loop(const struct client *c);

/* Changes the open-loop rate (0 pauses arrivals) during the run. */
void client_set_rate(struct client *c, double rate);

struct client_stats {
	uint64_t invoked, ok, failed, timeouts, cancelled, overload;
	uint64_t pending;
	uint64_t wire; /* wire queries joined to its lookups */
	/* Completed lookups whose answer the history classifies stale (an older
	 * version's) or wrong (no version's): counted as they complete. */
	uint64_t stale, wrong;
};
void client_get_stats(const struct client *c, struct client_stats *out);

/* The version string of a stack's library ("glibc 2.36"). */
const char *client_stack_version(enum client_stack s);

#endif
