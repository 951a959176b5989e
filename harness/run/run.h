/*
 * runner.h - one scenario run: the event loop that owns every socket and
 * timer, the Lua state that drives it, the farm, the timeline and the history.
 *
 * Life of a run: runner_create, runner_load (runs the scenario's setup code:
 * it declares the farm and the timeline; nothing listens yet), runner_run
 * (binds, boots, plays the timeline for the scenario's duration, then heals
 * every fault and stops everything), runner_destroy.
 */
#ifndef HARNESS_RUNNER_H
#define HARNESS_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/record/classify.h"

struct runner;
struct event_base;
struct history;
struct lua_State;
struct classify;

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
};

/* How a run ended. */
enum runner_outcome {
	RUNNER_COMPLETED,   /* played for its whole duration */
	RUNNER_INTERRUPTED, /* SIGINT or SIGTERM */
	RUNNER_BAD_INPUT,   /* the scenario is wrong: syntax, runtime error, bad option */
	RUNNER_FAILED,      /* could not run: cannot bind, out of memory, history write error */
};

/* Creates a runner; NULL with err set on failure. */
struct runner *runner_create(const struct runner_options *opt, char *err, size_t errlen);

/* Frees everything (Lua first, then the farm, then the loop). NULL is a no-op. */
void runner_destroy(struct runner *r);

/*
 * Runs the scenario file's setup code. Returns RUNNER_COMPLETED when the
 * scenario declared a valid farm and timeline, or RUNNER_BAD_INPUT (the error,
 * with file:line and a traceback, in runner_error).
 */
enum runner_outcome runner_load(struct runner *r);

/* Plays the run. Returns how it ended; runner_error says why if not completed. */
enum runner_outcome runner_run(struct runner *r);

/* The scenario runner_load declared (NULL before, or if the file declared none). */
struct scenario *runner_scenario(struct runner *r);

/* Sets where the history goes (before runner_run); path is borrowed. */
void runner_set_history(struct runner *r, const char *path);

/* The last error message, or "" if none. */
const char *runner_error(const struct runner *r);

/* Maps an outcome to a process exit code. */
int runner_exit_code(enum runner_outcome o);

/* ---- for the farm and the Lua bindings (all on the loop thread) ---- */

struct event_base *runner_base(struct runner *r);

/* The environment the run gives its farm objects and clients (harness/env.h). */
struct run_env *runner_env(struct runner *r);
struct lua_State *runner_lua(struct runner *r);

/* The history, or NULL when none is written. */
struct history *runner_history(struct runner *r);

/* True when the history is written to stdout (--history -). */
bool runner_history_on_stdout(const struct runner *r);

/* Seconds since the run started (monotonic); 0 before it starts. */
double runner_now(const struct runner *r);

/* True once runner_run has started the farm (and until it stops it). */
bool runner_running(const struct runner *r);

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
 * seen, recorded as a `version` line. Call before the line that references
 * its digest. Returns 0, or -1 on out of memory.
 */
int runner_know_version(struct runner *r, struct zone_version *v, enum classify_known how);

/*
 * v is published at run time t (the t of its publish line): the classifier's
 * truth from then on, and a `version` line if new. Returns 0 or -1.
 */
int runner_publish_version(struct runner *r, struct zone_version *v, double t);

/*
 * A path the scenario resolved (runner_path) as the scenario wrote it:
 * relative to the scenario's folder, unless it is outside it. Borrowed from path.
 */
const char *runner_relpath(const struct runner *r, const char *path);

/* A new lookup id, unique in the run; never 0. */
uint64_t runner_next_lookup_id(struct runner *r);

/*
 * Joins a wire query arriving now at dst from src to a client's lookup (see
 * client_join; call it on arrival, not when the query is served). When two
 * clients could have sent it, out says ambiguous with no client. False
 * when no client claims it.
 */
struct client_join;
struct addr;
bool runner_join(struct runner *r, const struct addr *dst, const struct addr *src,
		 const uint8_t *qname, size_t qlen, uint16_t qtype, int id, struct client_join *out);

/* A new id, unique in the run (faults, timeline entries); never 0. */
uint32_t runner_next_id(struct runner *r);

/*
 * Tells the scenario that target (a farm object) had event ("booted",
 * "stopped", "crashed", "published"): runs what s:on registered and resumes
 * what s:wait is waiting on.
 */
void runner_emit(struct runner *r, const void *target, const char *event);

/* Resolves a path the scenario gave relative to the scenario's folder. */
void runner_path(const struct runner *r, const char *rel, char *out, size_t cap);

/* Next free loopback address for a farm object: 127.0.0.10, .11, ... */
int runner_next_address(struct runner *r, char *out, size_t cap);

/*
 * Stops the run from inside a callback: outcome and message (copied). The
 * loop exits after the current callback; teardown happens in runner_run.
 */
void runner_abort(struct runner *r, enum runner_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints a line on stderr when verbose (prefixed with the run time). */
void runner_say(struct runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
