/*
 * bind.h - the Lua side of a run, which only describes it: the restricted
 * environment, option-table parsing shared by every binding, the scenario
 * object (scenario.c) that hands the farm and the timeline to the run
 * (harness/run/), actions parsed into specs (action.c) and the scheduler of
 * timeline functions (sched.c). One C file per Lua-visible type:
 * scenario.c, resolver.c, source.c, zone.c, fault.c, vip.c, client.c,
 * expect.c; opts.c and sandbox.c are shared helpers.
 */
#ifndef HARNESS_LUA_BIND_H
#define HARNESS_LUA_BIND_H

#include <stdbool.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "harness/farm/farm.h"

#include "harness/run/run.h"

struct scenario;
struct sched;

/* Metatable names. */
#define BIND_SCENARIO "dnschaos.scenario"
#define BIND_RESOLVER "dnschaos.resolver"
#define BIND_SOURCE "dnschaos.zone_source"
#define BIND_ZONE "dnschaos.zone"
#define BIND_FAULT "dnschaos.fault"
#define BIND_VIP "dnschaos.vip"
#define BIND_CLIENT "dnschaos.client"
#define BIND_BOOT "dnschaos.boot_plan"
#define BIND_ACTION "dnschaos.action"
#define BIND_PROCESS "dnschaos.process"
#define BIND_REMOTE "dnschaos.remote"
#define BIND_METRIC "dnschaos.metric" /* an expectation's metric; user values: its options, its name */

/* ---- sandbox.c ---- */

/*
 * A new Lua state with only base, string, table, math, utf8 and coroutine;
 * no dofile, loadfile, load, require, collectgarbage; math.random seeded from
 * seed and math.randomseed removed; print goes to the scenario log.
 * A count hook raises an error once the current call's deadline has passed.
 * The libraries are opened under lua_pcall: running out of memory there
 * returns NULL, it does not abort through Lua's panic handler.
 */
lua_State *sandbox_new(struct runner *run, uint64_t seed);

/*
 * Deadlines for Lua calls: sandbox_enter before a call (seconds from now; a
 * nested call keeps the earlier deadline of the call around it), and
 * sandbox_leave with what it returned after. Each also hands the deadline in
 * force to the watchdog (harness/run/watchdog.h), which ends the process if the
 * hook cannot (a __gc finalizer, one endless C call). Every entry into Lua
 * must go through them. Main thread only.
 */
/* Sets the deadline outright: seconds from now, 0 for none. */
void sandbox_set_deadline(lua_State *L, double seconds);

struct sandbox_deadline {
	double at, limit;
};
struct sandbox_deadline sandbox_enter(lua_State *L, double seconds);
void sandbox_leave(lua_State *L, struct sandbox_deadline old);

/*
 * The message handler for lua_pcall: the error's text (sandbox_push_error)
 * and a traceback.
 */
int sandbox_traceback(lua_State *L);

/*
 * Pushes on L the text of the error object on the top of from (L itself or
 * a coroutine of it, left as it is): a string as it is; anything else (a
 * table, nil, a userdata) as "FILE:LINE: error raised with a table, not a
 * message: { code = 5 }", the line being the first Lua function on from's
 * stack from level, the form its __tostring (called protected, within 1 s)
 * or a short raw listing. Does not raise on a bad __tostring.
 */
void sandbox_push_error(lua_State *L, lua_State *from, int level);

/*
 * Loads and runs the scenario file (text only) with the sandbox environment.
 * Returns 0, or -1 with the error and traceback in err.
 */
int sandbox_run_file(lua_State *L, const char *path, char *err, size_t errlen);

/* The runner the state belongs to. */
struct runner *sandbox_runner(lua_State *L);

/* ---- opts.c: option tables ---- */

/*
 * Checks that the value at idx is a table (or nil if optional) whose keys are
 * all in keys (NULL-terminated); raises "what: unknown option 'x' (did you
 * mean 'y'?)" otherwise.
 */
void opts_check(lua_State *L, int idx, const char *what, const char *const keys[], bool optional);

/* True if the table at idx (or nil) has key set. */
bool opts_has(lua_State *L, int idx, const char *key);

/* A number in [min, max]; def when absent. Raises on a wrong type or range. */
double opts_number(lua_State *L, int idx, const char *key, double def, double min, double max,
		   const char *what);

/*
 * A string; def when absent (def NULL: required). Raises on a wrong type.
 * The string is anchored to the options table (an __index may have made it,
 * the scenario may take it out of the table): valid while that table lives,
 * which the calling API function's stack ensures until it returns.
 */
const char *opts_string(lua_State *L, int idx, const char *key, const char *def,
			const char *what);

/* One of names (NULL-terminated); returns its index, def when absent. */
int opts_enum(lua_State *L, int idx, const char *key, const char *const names[], int def,
	      const char *what);

/* A boolean; def when absent. */
bool opts_bool(lua_State *L, int idx, const char *key, bool def, const char *what);

/* A userdata of metatable tname (checked), or NULL when absent; anchored as opts_string. */
void *opts_udata(lua_State *L, int idx, const char *key, const char *tname, const char *what);

/* The closest of keys to word (edit distance), for "did you mean". */
const char *opts_closest(const char *word, const char *const keys[]);

/*
 * The method half of a type's __index (the one lookup every type shares):
 * pushes methods[k] (NULL-terminated; may be NULL) and returns 1, or raises
 * "<type> has no field or method 'k' (did you mean 'x'?)", x the closest of
 * fields (NULL-terminated; may be NULL) and methods. Call it once the
 * type's own fields did not match.
 */
int opts_method(lua_State *L, const char *type, const char *k, const char *const fields[],
		const luaL_Reg methods[]);

/*
 * The whole __index of a farm member's handle (self at 1, the key at 2):
 * its fields name, address ("127.0.0.11:53") and port from name and addr,
 * else opts_method with methods. Every handle with an address (a resolver,
 * a process, a remote) shares it, so they read the same.
 */
struct addr;
int opts_member_index(lua_State *L, const char *type, const char *name, const struct addr *addr,
                      const luaL_Reg methods[]);

/* ---- scenario.c ---- */

/* Registers every type and the global scenario{} constructor. */
void scenario_open(lua_State *L, struct runner *run);

/*
 * Runs the scenario file's setup code in a new sandbox given to the run
 * (runner_set_script). Returns RUNNER_COMPLETED when the scenario declared a
 * valid farm and timeline, or RUNNER_BAD_INPUT (the error, with file:line and
 * a traceback, in runner_error), or RUNNER_FAILED (out of memory).
 */
enum runner_outcome runner_load(struct runner *r);

/* The scenario runner_load declared (NULL before, or if the file declared none). */
struct scenario *runner_scenario(struct runner *r);

/* The scenario the file declared, or NULL if it did not call scenario{}. */
struct scenario *scenario_get(lua_State *L);

#define SCENARIO_NAME_MAX 128

/*
 * The scenario of L (registry.c): registered at once (scenario_destroy frees
 * it when the state closes), with its scheduler; tells the run its name and
 * duration. Raises on out of memory.
 */
struct scenario *scenario_create(lua_State *L, struct runner *run, const char *name,
				 double duration, bool has_seed, uint64_t seed);
struct runner *scenario_run(const struct scenario *sc);
struct sched *scenario_sched(const struct scenario *sc);

const char *scenario_name(const struct scenario *sc);
double scenario_duration(const struct scenario *sc);
bool scenario_has_seed(const struct scenario *sc);
uint64_t scenario_seed(const struct scenario *sc);

/* Frees what the scenario holds (after lua_close): its expectations, its scheduler. NULL is a no-op. */
void scenario_destroy(struct scenario *sc);

size_t scenario_client_count(const struct scenario *sc);
/*
 * The cache setting of the run's libunbound clients: the first call sets it
 * (0 or 1) and every call returns it (libunbound's cache switch is global).
 */
int scenario_unbound_cache(struct scenario *sc, int want);

/* The last octet of the next client source address (127.0.100.N). */
unsigned scenario_next_client_source(struct scenario *sc);

/* Pushes the farm object named name, or raises naming the known ones. */
void scenario_push_named(lua_State *L, const char *name);

/*
 * The address for a new object: the option "address" of the table at idx
 * ("127.0.0.21" or with a port), or the next free one. Raises if it is not
 * loopback or already taken.
 */
void scenario_pick_address(lua_State *L, struct scenario *sc, int idx, struct addr *out,
			   const char *what);

/* Raises unless name is free and of a sane length. */
void scenario_check_name(lua_State *L, struct scenario *sc, const char *name, const char *what);

/* ---- sched.c: the timeline functions' coroutines ---- */

/* The scheduler of L's scenario; it listens to the run's farm events. NULL on out of memory. */
struct sched *sched_create(lua_State *L, struct runner *run);

/* The run stopped: parked coroutines are dropped and nothing is resumed. NULL: no-op. */
void sched_stop(struct sched *sc);

/* Frees it (after lua_close). NULL is a no-op. */
void sched_destroy(struct sched *sc);

/*
 * Puts the function at fn_idx on the run's timeline: at from, then every
 * `every` s (0: once) until `until`; each call runs it in a new coroutine.
 * Returns 0, or -1 (out of memory, or the run has started).
 */
int sched_every(lua_State *L, double from, double every, double until, int fn_idx);

/* The scenario methods the scheduler implements: s:sleep, s:wait, s:query, s:on. */
int sched_sleep(lua_State *L);
int sched_wait(lua_State *L);
int sched_query(lua_State *L);
int sched_on(lua_State *L);

/* ---- action.c: actions as specs ---- */

struct run_action;
struct run_result;

/*
 * An action method of a type: parse reads the target at self and the
 * options at opts into a (raising on bad input: what it referenced is in a,
 * freed by the userdata's __gc); opts says whether its "during the run"
 * message shows {...}; setup whether it may act before the run; result
 * pushes what the method returns (NULL: nothing).
 */
struct action_method {
	const char *name;
	void (*parse)(lua_State *L, int self, int opts, struct run_action *a);
	bool opts;
	bool setup;
	int (*result)(lua_State *L, const struct run_action *a, const struct run_result *res);
};
extern const struct action_method resolver_actions[];
extern const struct action_method source_actions[];
extern const struct action_method vip_actions[];
extern const struct action_method fault_actions[];
extern const struct action_method process_actions[];
extern const struct action_method remote_actions[];
extern const struct action_method client_actions[];

void action_open(lua_State *L);

/*
 * What the scenario declared, for the history's declare lines (decl.c).
 * decl_record keeps the value at idx (an option table, a zone's file, a
 * table naming a timeline function) as JSON with what declared it ("resolver",
 * "zone", "expect", "every", ...) and where; a no-op once the run runs. Raises
 * when the value is too large to record. decl_write writes what was kept as
 * declare lines (the run calls it right after the meta line).
 */
void decl_record(lua_State *L, const char *what, int idx);
struct history;
void decl_write(lua_State *L, struct history *h);

/* Pushes an empty action in a userdata whose __gc clears it (run_action_clear). */
struct run_action *action_push(lua_State *L);

/* The method named name in a NULL-terminated table, or NULL. */
const struct action_method *action_find(const struct action_method *m, const char *name);

/*
 * A method call (self at 1, options at 2): parses, refuses before the run
 * (unless m->setup), carries it out with run_act and returns m->result's
 * values. Raises with run_act's message on failure.
 */
int action_method(lua_State *L, const struct action_method *m);

/* Carries out a (run_act) and raises with its message on failure. */
int action_do(lua_State *L, struct run_action *a, struct run_result *res);

/*
 * The action method of the object at target named method, or raises: where
 * ("file.lua:12: s:at(...): ") then "resolver has no field or method 'x'
 * (did you mean 'y'?)" or "a <type> has no actions: ...". clients: a client
 * is a target too (its rate), as on the control socket.
 */
const struct action_method *action_lookup(lua_State *L, int target, const char *method,
					  const char *where, bool clients);

/*
 * A control command, "TARGET METHOD [key=value ...]" (argv, borrowed),
 * parsed by the method's own parser, as s:at(t, TARGET, METHOD, {key =
 * value, ...}) is: each value true, false, a number, or a string (source=
 * names a zone source); a client's rate takes rate=N, a resolver's heal
 * id=N (a fault id; none: every fault). Runs under the callback deadline.
 * Returns 0 with a filled (clear on entry), or -1 with the scenario's
 * message in err. Loop thread, during the run.
 */
int action_command(lua_State *L, int argc, char *const argv[], struct run_action *a, char *err,
                   size_t errlen);

/* ---- the types ---- */

void resolver_open(lua_State *L);
void resolver_push(lua_State *L, struct farm_resolver *r);
struct farm_resolver *resolver_check(lua_State *L, int idx);
/* s:resolver{...} */
int resolver_new(lua_State *L);

void source_open(lua_State *L);
void source_push(lua_State *L, struct farm_source *s);
struct farm_source *source_check(lua_State *L, int idx);
/* s:zone_source{...} */
int source_new(lua_State *L);

void zone_open(lua_State *L);
/* s:zone(file): loads now, errors at the caller's line */
int zone_new(lua_State *L);
/* The zone version at idx (a zone userdata), borrowed. */
struct zone_version *zone_check(lua_State *L, int idx);
/* Loads a file named relative to the scenario; raises with the ldns reason. */
struct zone_version *zone_load(lua_State *L, const char *file);

void vip_open(lua_State *L);
void vip_push(lua_State *L, struct farm_vip *v);
struct farm_vip *vip_check(lua_State *L, int idx);
/* s:vip{...} */
int vip_new(lua_State *L);

void process_open(lua_State *L);
void process_push(lua_State *L, struct farm_process *p);
struct farm_process *process_check(lua_State *L, int idx);
/* s:process{...} */
int process_new(lua_State *L);

/* s:remote{...}: a fakeresolver daemon driven over its control connection (lua/remote.c). */
struct farm_remote;
void remote_open(lua_State *L);
void remote_push(lua_State *L, struct farm_remote *r);
struct farm_remote *remote_check(lua_State *L, int idx);
int remote_new(lua_State *L);

/*
 * The fault methods' parsers (lua/resolver.c), shared by a resolver and a
 * remote daemon (s:remote): the object at self is either, and the parsed
 * action targets it (a->resolver or a->remote). resolver_fault_opts checks a
 * query fault's options (own, then the matching ones every query fault
 * takes: fraction, name, qtype, transport, duration), sets verb, target and
 * kind, and reads the matching and the duration. Each raises on a bad value.
 */
void resolver_fault_opts(lua_State *L, int self, int idx, struct run_action *a,
			 enum fault_kind kind, const char *what, const char *const own[]);
void resolver_parse_hang(lua_State *L, int self, int idx, struct run_action *a);
void resolver_parse_delay(lua_State *L, int self, int idx, struct run_action *a);
void resolver_parse_rcode(lua_State *L, int self, int idx, struct run_action *a);
void resolver_parse_truncate(lua_State *L, int self, int idx, struct run_action *a);
void resolver_parse_capacity(lua_State *L, int self, int idx, struct run_action *a);

void expect_open(lua_State *L);
/* s:expect{...} */
int expect_new(lua_State *L);

struct expectation;
/* Adds an expectation (copied). */
void scenario_add_expectation(lua_State *L, struct scenario *sc, const struct expectation *e);
/* The scenario's expectations, in declaration order. */
const struct expectation *scenario_expectations(const struct scenario *sc, size_t *n);
/* Memory that lives as long as the scenario (zeroed; raises on out of memory). */
void *scenario_alloc(lua_State *L, struct scenario *sc, size_t size);

void client_open(lua_State *L);
struct client *client_check(lua_State *L, int idx);
/* s:client{...} */
int client_new(lua_State *L);

void fault_open(lua_State *L);
void fault_push(lua_State *L, struct farm_resolver *r, uint32_t id, const char *kind);

/*
 * Pushes an empty boot plan in a userdata whose __gc drops the plan's zone
 * references, and returns it: read a plan into it (boot_from_opts), so a
 * raise before the plan is used leaks nothing. The caller may clear it
 * (farm_boot_clear) once used; the userdata must stay on the stack until then.
 */
struct farm_boot *boot_push(lua_State *L);

/*
 * Reads a boot plan from an option table at idx into b, which must come from
 * boot_push: zone = z | file = "f" | zones = {...} | boot = "source" (with
 * source = src or the only source). Returns false when the table names no
 * boot option (then *b is untouched). Raises on a bad plan.
 */
bool boot_from_opts(lua_State *L, int idx, struct farm_boot *b, const char *what);

#endif
