/*
 * run.h - one run, without Lua: the event loop that owns every socket and
 * timer, the clock, the registry of farm objects and clients, the timeline
 * (C entries: a time and a parsed action, or a call the describing layer
 * asked for), the event bus, the join, the order of start-up and teardown,
 * and the history's first and last lines.
 *
 * Life of a run: runner_create; a describing layer (harness/lua/) declares
 * the farm (runner_add_*), the timeline (runner_at_action, runner_at_call)
 * and the scenario's name and duration (runner_describe); runner_run binds,
 * boots, plays the timeline for the duration, then heals every fault and
 * stops everything; runner_destroy.
 *
 * One way in for acting on the farm: run_act (harness/run/act.h) carries
 * out a parsed action, whether a timeline entry, a Lua method called in a
 * timeline function, or a command from the control socket (run/ctl.h).
 *
 * Everything here runs on the loop thread.
 */
#ifndef HARNESS_RUN_RUN_H
#define HARNESS_RUN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/env.h"
#include "harness/run/act.h"

struct runner;
struct event_base;
struct history;
struct classify;
struct lua_State;
struct addr;
struct client;
struct farm_resolver;
struct farm_source;
struct farm_vip;
struct farm_boot;
struct farm_gate;
struct farm_vip_backend;
struct farm_vip_health;
struct vip_config;
struct zone_version;
struct watch_options;

/* Exit codes shared by every dnschaos program (README.md, "Exit codes"). */
enum {
	DNSCHAOS_EXIT_PASS = 0,
	DNSCHAOS_EXIT_FAIL = 1,
	DNSCHAOS_EXIT_INCONCLUSIVE = 2,
	DNSCHAOS_EXIT_BAD_INPUT = 3,
	DNSCHAOS_EXIT_INTERNAL = 4,
};

struct runner_options {
	const char *scenario;     /* path of the .lua file */
	const char *history;      /* path of the history file; NULL: none */
	bool seed_set;            /* --seed given: overrides the scenario's */
	uint64_t seed;
	int verbose;              /* -v: events on stderr */
	double callback_limit_s;  /* longest a Lua call may run without yielding (default 5) */
	bool progress;            /* a one-line progress indicator on stderr (a terminal) */
	bool describe_only;       /* never played (dnschaos check): real daemons get no capture, no directory */
	bool allow_non_loopback;  /* --allow-non-loopback: remote daemons (s:remote) may be on other
	                             hosts */
	/* --live, --metrics: what to watch while the run plays (run/watch.h; borrowed; NULL:
	 * nothing). Needs a history: the views are fed its lines. */
	const struct watch_options *watch;
};

/* How a run ended. */
enum runner_outcome {
	RUNNER_COMPLETED,   /* played for its whole duration */
	RUNNER_INTERRUPTED, /* SIGINT or SIGTERM */
	RUNNER_BAD_INPUT,   /* the scenario is wrong: syntax, runtime error, bad option */
	RUNNER_FAILED,      /* could not run: cannot bind, out of memory, history write error */
};

/* Creates a run; NULL with err set on failure. */
struct runner *runner_create(const struct runner_options *opt, char *err, size_t errlen);

/*
 * Frees everything: the describing layer's script first (runner_set_script:
 * its handles point at farm objects), then the timeline, the clients and
 * the farm, then the loop. NULL is a no-op.
 */
void runner_destroy(struct runner *r);

/* Plays the run. Returns how it ended; runner_error says why if not completed. */
enum runner_outcome runner_run(struct runner *r);

/* Sets where the history goes (before runner_run); path is borrowed. */
void runner_set_history(struct runner *r, const char *path);

/* The last error message, or "" if none. */
const char *runner_error(const struct runner *r);

/* Sets the error message (the describing layer's, before the run). */
void runner_set_error(struct runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The scenario file's path, as given. */
const char *runner_scenario_path(const struct runner *r);

/* Maps an outcome to a process exit code. */
int runner_exit_code(enum runner_outcome o);

/* ---- the describing layer ---- */

/*
 * What describes the run (the Lua state): the run keeps it and calls back.
 * close frees it (runner_destroy, before the farm); stop is called when the
 * run stops (before teardown: no timeline call may run after it); version
 * names it in the history's meta line ("lua": "Lua 5.4.6"); declare writes
 * the history's declare lines (what the scenario declared: docs/history.md)
 * right after the meta line (may be NULL).
 */
struct runner_script {
	void (*close)(void *script);
	void (*stop)(void *script);
	void (*declare)(void *script, struct history *h);
	const char *key;     /* the meta field: "lua" */
	const char *version; /* its value */
	/*
	 * A control command (harness/run/ctl.h) "TARGET METHOD [key=value ...]"
	 * (argv, argc >= 2, borrowed) parsed into a, which must be clear, by the
	 * parser the same action on the timeline uses. Returns 0, or -1 with
	 * the scenario's message in err (a left clear). NULL: no farm
	 * commands. Loop thread, during the run only.
	 */
	int (*command)(void *script, int argc, char *const argv[], struct run_action *a, char *err,
	               size_t errlen);
};
void runner_set_script(struct runner *r, void *script, const struct runner_script *ops);

/* The script set (the Lua state), or NULL. */
struct lua_State *runner_lua(struct runner *r);

/* The scenario's name (copied) and duration in seconds. */
void runner_describe(struct runner *r, const char *name, double duration);
const char *runner_name(const struct runner *r);
double runner_duration(const struct runner *r);

/* ---- for the farm, the clients and the describing layer ---- */

struct event_base *runner_base(struct runner *r);

/* The environment the run gives its farm objects and clients (harness/env.h). */
struct run_env *runner_env(struct runner *r);

/* The history, or NULL when none is written. */
struct history *runner_history(struct runner *r);

/* True when the history is written to stdout (--history -). */
bool runner_history_on_stdout(const struct runner *r);

/* Seconds since the run started, on the run's clock; 0 before it starts. */
double runner_now(const struct runner *r);

/* True once runner_run has started the farm (and until it stops it). */
bool runner_running(const struct runner *r);
/* Whether the run is only described, never played (dnschaos check). */
bool runner_describe_only(const struct runner *r);
/* Whether the run may send to a remote daemon off loopback (--allow-non-loopback). */
bool runner_allow_non_loopback(const struct runner *r);

uint64_t runner_seed(const struct runner *r);

/* The scenario's own seed: taken unless --seed overrides it. Returns the seed in force. */
uint64_t runner_scenario_seed(struct runner *r, uint64_t seed);
int runner_verbose(const struct runner *r);

/* How long one Lua callback may run without yielding (seconds). */
double runner_callback_limit(const struct runner *r);

/* The run's answer classifier (zone versions known, publishes). */
struct classify *runner_classify(struct runner *r);

/*
 * A zone version the run now knows (enum classify_known: published, disk,
 * transfer): added to the classifier and, the first time its content is
 * seen, recorded as a `version` line. Returns 0, or -1 on out of memory.
 */
int runner_know_version(struct runner *r, struct zone_version *v, int how);

/* v is published at run time t: the classifier's truth from then on. Returns 0 or -1. */
int runner_publish_version(struct runner *r, struct zone_version *v, double t);

/* A path the scenario resolved (runner_path) as the scenario wrote it. Borrowed from path. */
const char *runner_relpath(const struct runner *r, const char *path);

/* Resolves a path the scenario gave relative to the scenario's folder. */
void runner_path(const struct runner *r, const char *rel, char *out, size_t cap);

/*
 * Stops the run from inside a callback: outcome and message (copied). The
 * loop exits after the current callback; teardown happens in runner_run.
 * The first reason stands.
 */
void runner_abort(struct runner *r, enum runner_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));


/*
 * ---- game day: what the control socket (run/ctl.h) may ask of the run ----
 *
 * The timeline's clock is the run's clock less the time spent paused: a
 * pending entry and the run's end wait while paused; traffic, clients,
 * faults' own durations and timeline functions already running do not.
 */

/*
 * Something served while the run plays (the control socket: harness/run/ctl.h,
 * ctl_service). The runner knows only these hooks, so the service may use the
 * runner's API without the runner depending on it. start(arg, r) is called
 * once the farm is up, right before the loop runs; non-zero (err set) fails
 * the run. stop(arg) is called exactly once: when the run stops (before the
 * farm's teardown), or from runner_destroy if the run never got that far; it
 * releases everything the service holds, arg included. Before runner_run.
 */
struct runner_service {
	int (*start)(void *arg, struct runner *r, char *err, size_t errlen);
	void (*stop)(void *arg);
	void *arg;
};
void runner_set_service(struct runner *r, const struct runner_service *s);

/* The command parser of the describing layer (runner_script.command), or NULL. */
const struct runner_script *runner_script_ops(const struct runner *r);
void *runner_script(const struct runner *r);

/* Holds every pending timeline entry and the end. 0, or -1 if already paused. */
int runner_pause(struct runner *r);
/* Lets them go on, shifted by the pause. 0, or -1 if not paused. */
int runner_resume(struct runner *r);
bool runner_paused(const struct runner *r);

/* The timeline's time: runner_now less the time paused (frozen while paused). */
double runner_timeline_now(const struct runner *r);

/* Adds seconds (> 0) to the duration; the end moves. 0, or -1 with err. */
int runner_extend(struct runner *r, double seconds, char *err, size_t errlen);

/* True once the run is stopping (its end, an error, a signal, an abort). */
bool runner_stopping(const struct runner *r);

/* ---- the registry: the run owns what is added (it destroys it) ---- */

/*
 * Declares a farm object or a client from what the describing layer parsed:
 * creates it on the run's environment, configures it and registers it.
 * Returns it (owned by the run), or NULL with err set; nothing is left
 * behind on failure. What the arguments reference is borrowed (the object
 * takes its own references); cfg is moved into the client (cleared).
 */
struct farm_resolver *runner_new_resolver(struct runner *r, const char *name,
					  const struct addr *addr, const struct farm_boot *boot,
					  const struct farm_gate *gate, char *err, size_t errlen);
struct farm_source *runner_new_source(struct runner *r, const char *name, const struct addr *addr,
				      struct zone_version *v, char *err, size_t errlen);
struct farm_vip *runner_new_vip(struct runner *r, const char *name, const struct addr *addr,
				const struct vip_config *cfg, const struct farm_vip_backend *b,
				size_t n, const struct farm_vip_health *health, bool in_process,
				const char *where, char *err, size_t errlen);
struct client_config;
struct client *runner_new_client(struct runner *r, struct client_config *cfg, char *err,
				 size_t errlen);

/* Each returns 0, or -1 on out of memory (then the caller still owns obj). */
int runner_add_resolver(struct runner *r, struct farm_resolver *obj);
int runner_add_source(struct runner *r, struct farm_source *obj);
int runner_add_vip(struct runner *r, struct farm_vip *obj);
/* A managed daemon (farm/process.c): created now (its capture socket and
 * directory), started with the resolvers. NULL with err set. */
struct farm_process *runner_new_process(struct runner *r, const struct farm_process_config *c,
					char *err, size_t errlen);
struct farm_process *runner_find_process(const struct runner *r, const char *name);
/* A fakeresolver daemon driven over its control connection (farm/remote.h):
 * described now, connected when the run starts (runner_run, before its clock). */
struct farm_remote_config;
struct farm_remote *runner_new_remote(struct runner *r, const struct farm_remote_config *c,
				      char *err, size_t errlen);
struct farm_remote *runner_find_remote(const struct runner *r, const char *name);
size_t runner_remote_count(const struct runner *r);
struct farm_remote *runner_remote_at(const struct runner *r, size_t i);
size_t runner_process_count(const struct runner *r);
struct farm_process *runner_process_at(const struct runner *r, size_t i);
int runner_add_client(struct runner *r, struct client *obj);

/* Farm objects by name (NULL if none), in declaration order by index. */
struct farm_resolver *runner_find_resolver(const struct runner *r, const char *name);
struct farm_source *runner_find_source(const struct runner *r, const char *name);
struct farm_vip *runner_find_vip(const struct runner *r, const char *name);
size_t runner_resolver_count(const struct runner *r);
struct farm_resolver *runner_resolver_at(const struct runner *r, size_t i);
size_t runner_source_count(const struct runner *r);
struct farm_source *runner_source_at(const struct runner *r, size_t i);
size_t runner_client_count(const struct runner *r);
struct client *runner_client_at(const struct runner *r, size_t i);
struct client *runner_find_client(const struct runner *r, const char *name);
size_t runner_vip_count(const struct runner *r);
struct farm_vip *runner_vip_at(const struct runner *r, size_t i);

/* True if a farm object already has this name. */
bool runner_name_taken(const struct runner *r, const char *name);

/* True if a farm object already has this address (port 0 matches any). */
bool runner_address_used(const struct runner *r, const struct addr *a);

/* The next free loopback address 127.0.0.x not used by the farm; -1 when none is left. */
int runner_next_address(struct runner *r, struct addr *out);

/* Lookups so far over every client: invoked, ok, and completed (ok, failed or timed out). */
void runner_progress(const struct runner *r, uint64_t *invoked, uint64_t *ok, uint64_t *done);

/*
 * Joins a wire query arriving now at dst from src to a client's lookup
 * (client_join asked of every client: two that could both have sent it make
 * it ambiguous). False when no client claims it.
 */
bool runner_join(struct runner *r, const struct addr *dst, const struct addr *src,
		 const uint8_t *qname, size_t qlen, uint16_t qtype, int id, struct client_join *out);

/* ---- the event bus ---- */

/*
 * target (a farm object) had event ("booted", "stopped", "crashed",
 * "published", "healthy", "unhealthy"): delivered to the listener on the
 * next turn of the loop, not from inside the call that caused it, so
 * `r:restart{}` followed by a wait for "booted" sees the boot. Nothing is
 * delivered before the run starts or after it stops.
 */
void runner_emit(struct runner *r, const void *target, const char *event);

/* The one listener of farm events (the describing layer's scheduler); arg is borrowed. */
void runner_listen(struct runner *r, void (*fn)(void *arg, const void *target, const char *event),
		   void *arg);

/* ---- the timeline ---- */

/*
 * A declared action at run time at (0 <= at < duration): carried out by
 * run_act when due. The run takes what a holds (a is cleared); where
 * ("file.lua:12: s:at(...): ") prefixes its error. Entries due at the same
 * time run in the order they were declared. Returns 0, or -1 (out of memory,
 * or the run has started: then a is untouched).
 */
int runner_at_action(struct runner *r, double at, struct run_action *a, const char *where);

/*
 * A call at run time at, and then every `every` seconds (0: once) while the
 * time is <= until and before the duration: fn(arg, ref). For timeline
 * functions the describing layer runs itself (ref names the function there).
 * Returns 0 or -1 as runner_at_action.
 */
int runner_at_call(struct runner *r, double at, double every, double until,
		   void (*fn)(void *arg, int ref), void *arg, int ref);

#endif
