/*
 * bind.h - the Lua side of a run: the restricted environment, option-table
 * parsing shared by every binding, and the scenario object that owns the farm
 * and the timeline. One C file per Lua-visible type: scenario.c, resolver.c,
 * source.c, zone.c, fault.c; opts.c and sandbox.c are shared helpers.
 */
#ifndef HARNESS_LUA_BIND_H
#define HARNESS_LUA_BIND_H

#include <stdbool.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "harness/farm/farm.h"

struct runner;
struct scenario;

/* Metatable names. */
#define BIND_SCENARIO "dnschaos.scenario"
#define BIND_RESOLVER "dnschaos.resolver"
#define BIND_SOURCE "dnschaos.zone_source"
#define BIND_ZONE "dnschaos.zone"
#define BIND_FAULT "dnschaos.fault"
#define BIND_VIP "dnschaos.vip"
#define BIND_CLIENT "dnschaos.client"
#define BIND_BOOT "dnschaos.boot_plan"

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
 * force to the watchdog (harness/watchdog.h), which ends the process if the
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

/* ---- scenario.c ---- */

/* Registers every type and the global scenario{} constructor. */
void scenario_open(lua_State *L, struct runner *run);

/* The scenario the file declared, or NULL if it did not call scenario{}. */
struct scenario *scenario_get(lua_State *L);

const char *scenario_name(const struct scenario *sc);
double scenario_duration(const struct scenario *sc);
bool scenario_has_seed(const struct scenario *sc);
uint64_t scenario_seed(const struct scenario *sc);

/* Starts the farm and arms the timeline. Returns 0 or -1 with err set. */
int scenario_start(struct scenario *sc, char *err, size_t errlen);

/* Disarms the timeline, heals every fault and stops every object. */
void scenario_stop(struct scenario *sc);

/* Frees the farm and the timeline (after lua_close). NULL is a no-op. */
void scenario_destroy(struct scenario *sc);

/* Delivers a farm event to s:on listeners and s:wait waiters. */
void scenario_emit(struct scenario *sc, const void *target, const char *event);

/* Adds a farm object's Lua handle; the bindings call these. */
void scenario_add_resolver(lua_State *L, struct scenario *sc, struct farm_resolver *r);
void scenario_add_source(lua_State *L, struct scenario *sc, struct farm_source *s);
void scenario_add_vip(lua_State *L, struct scenario *sc, struct farm_vip *v);
struct client;
void scenario_add_client(lua_State *L, struct scenario *sc, struct client *c);
size_t scenario_client_count(const struct scenario *sc);
/* Lookups so far over every client: invoked, ok, and completed (ok, failed or timed out). */
void scenario_progress(const struct scenario *sc, uint64_t *invoked, uint64_t *ok, uint64_t *done);
/*
 * The cache setting of the run's libunbound clients: the first call sets it
 * (0 or 1) and every call returns it (libunbound's cache switch is global).
 */
int scenario_unbound_cache(struct scenario *sc, int want);

/* The last octet of the next client source address (127.0.100.N). */
unsigned scenario_next_client_source(struct scenario *sc);

/* Joins a wire query to a client's lookup (runner_join). */
struct client_join;
bool scenario_join(struct scenario *sc, const struct addr *dst, const struct addr *src,
		   const uint8_t *qname, size_t qlen, uint16_t qtype, int id,
		   struct client_join *out);

/* Finds a farm object by name (for "unknown target" errors). */
struct farm_resolver *scenario_find_resolver(const struct scenario *sc, const char *name);
struct farm_source *scenario_find_source(const struct scenario *sc, const char *name);

/* True if an object of the farm already has this address (port 0 matches any). */
bool scenario_address_used(const struct scenario *sc, const struct addr *a);

/*
 * The address for a new object: the option "address" of the table at idx
 * ("127.0.0.21" or with a port), or the next free one. Raises if it is not
 * loopback or already taken.
 */
void scenario_pick_address(lua_State *L, struct scenario *sc, int idx, struct addr *out,
			   const char *what);

/* Raises unless name is free and of a sane length. */
void scenario_check_name(lua_State *L, struct scenario *sc, const char *name, const char *what);

/* True while validating a declared action (s:at with a method): parse, don't act. */
bool scenario_dry_run(lua_State *L);

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
