/*
 * scenario.c - the scenario object: scenario{...} and its methods, which
 * describe the run: the farm (s:zone, s:zone_source, s:resolver, s:vip,
 * s:client, handed to the run's registry in harness/run/), the timeline
 * (s:at and s:every: entries of the run's timeline, a declared action
 * parsed into a struct run_action by action.c, or a function the scheduler
 * runs, sched.c) and the expectations. The scheduler's methods (s:sleep,
 * s:wait, s:query, s:on) live in sched.c. runner_load, which runs the
 * scenario file, is here too: it is where the run meets Lua.
 */
#include "harness/lua/bind.h"
#include "harness/clients/client.h"
#include "harness/record/checker.h"
#include "harness/record/classify.h"
#include "harness/record/utf8.h"
#include "harness/run/run.h"
#include "harness/run/watchdog.h"
#include "fakeresolver/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DURATION_MAX (7 * 24 * 3600.0)

static struct scenario *check_self(lua_State *L)
{
	struct scenario **box = luaL_checkudata(L, 1, BIND_SCENARIO);
	return *box;
}

/* ---- the timeline ---- */

static double check_time(lua_State *L, int idx, const char *what, struct scenario *sc)
{
	double t = luaL_checknumber(L, idx);
	if (!(t >= 0 && t < scenario_duration(sc)))
		luaL_error(L, "%s: time %f is outside the run (0 to the duration, %f s)", what, t,
			   scenario_duration(sc));
	return t;
}

static void check_not_started(lua_State *L, struct scenario *sc)
{
	if (runner_running(scenario_run(sc)))
		luaL_error(L, "the timeline is declared before the run starts; inside a "
			      "timeline function use s:sleep");
}

/* Protected: parse target[method](opts) into a new action, returned on the stack. */
static int declare_parse(lua_State *L)
{
	const struct action_method *m = lua_touserdata(L, 4);
	struct run_action *a = action_push(L); /* 5 */
	m->parse(L, 1, 3, a);
	lua_settop(L, 5);
	return 1;
}

/*
 * s:at(at, target, method, opts): parses the action now with the method's own
 * parser (errors prefixed "file:line: s:at(t, target, 'method'): ") and moves
 * it into the run's timeline. Raises on an unknown method or a bad option.
 */
static int declare_action(lua_State *L, double at, int target, const char *method, int opts)
{
	char where[256];
	const char *what = luaL_tolstring(L, target, NULL);
	luaL_where(L, 1);
	lua_pushfstring(L, "%ss:at(%f, %s, '%s'): ", lua_tostring(L, -1), at, what, method);
	snprintf(where, sizeof where, "%s", lua_tostring(L, -1));
	lua_pop(L, 3);
	const struct action_method *m = action_lookup(L, target, method, where, true);
	lua_pushcfunction(L, declare_parse);
	lua_pushvalue(L, target);
	lua_pushstring(L, method);
	lua_pushvalue(L, opts);
	lua_pushlightuserdata(L, (void *)(uintptr_t)m);
	/* where begins with file:line already: raised as is (luaL_error would add it again) */
	if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
		lua_pushfstring(L, "%s%s", where, lua_tostring(L, -1));
		return lua_error(L);
	}
	struct run_action *a = luaL_checkudata(L, -1, BIND_ACTION);
	if (runner_at_action(sandbox_runner(L), at, a, where) != 0) {
		lua_pushfstring(L, "%sout of memory", where);
		return lua_error(L);
	}
	lua_pop(L, 1); /* the emptied action: its __gc has nothing to free */
	return 0;
}

/* s:at(t, fn) or s:at(t, target, "method", opts) */
static int s_at(lua_State *L)
{
	struct scenario *sc = check_self(L);
	double t = check_time(L, 2, "s:at", sc);
	if (lua_isfunction(L, 3)) {
		check_not_started(L, sc);
		if (sched_every(L, t, 0, t, 3) != 0)
			return luaL_error(L, "out of memory");
		lua_createtable(L, 0, 2);
		lua_pushvalue(L, 2);
		lua_setfield(L, -2, "at");
		lua_pushvalue(L, 3);
		lua_setfield(L, -2, "fn");
		decl_record(L, "at", -1);
		return 0;
	}
	lua_settop(L, 5); /* self, t, target, method, options (nil if absent) */
	if (lua_type(L, 3) == LUA_TSTRING)
		scenario_push_named(L, lua_tostring(L, 3));
	else if (lua_isuserdata(L, 3))
		lua_pushvalue(L, 3);
	else
		return luaL_error(L, "s:at(t, fn) or s:at(t, target, 'method', {options}): "
				     "argument 2 must be a function, an object or a name, got %s",
				  luaL_typename(L, 3));
	int target = lua_gettop(L);
	const char *method = luaL_checkstring(L, 4);
	if (strlen(method) >= 32 || method[0] == '_')
		return luaL_error(L, "s:at: no method '%s'", method);
	if (lua_isnoneornil(L, 5))
		lua_newtable(L);
	else if (lua_istable(L, 5))
		lua_pushvalue(L, 5);
	else
		return luaL_error(L, "s:at: the options (argument 5) must be a table, got %s",
				  luaL_typename(L, 5));
	int opts = lua_gettop(L);
	check_not_started(L, sc);
	return declare_action(L, t, target, method, opts);
}

/* s:every(interval, fn [, {from = t0, to = t1}]) */
static int s_every(lua_State *L)
{
	static const char *const keys[] = { "from", "to", NULL };
	struct scenario *sc = check_self(L);
	double every = luaL_checknumber(L, 2);
	if (!(every >= 0.001))
		return luaL_error(L, "s:every: the interval must be at least 0.001 s (got %f)",
				  every);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	opts_check(L, 4, "s:every", keys, true);
	double from = opts_number(L, 4, "from", every, 0, scenario_duration(sc), "s:every");
	double to = opts_number(L, 4, "to", scenario_duration(sc), from, scenario_duration(sc), "s:every");
	check_not_started(L, sc);
	if (sched_every(L, from, every, to, 3) != 0)
		return luaL_error(L, "out of memory");
	lua_createtable(L, 0, 4);
	lua_pushnumber(L, every);
	lua_setfield(L, -2, "every");
	lua_pushnumber(L, from);
	lua_setfield(L, -2, "from");
	lua_pushnumber(L, to);
	lua_setfield(L, -2, "to");
	lua_pushvalue(L, 3);
	lua_setfield(L, -2, "fn");
	decl_record(L, "every", -1);
	return 0;
}

/* ---- fields and small methods ---- */

static int s_now(lua_State *L)
{
	struct scenario *sc = check_self(L);
	lua_pushnumber(L, runner_now(scenario_run(sc)));
	return 1;
}

static int s_get(lua_State *L)
{
	check_self(L);
	scenario_push_named(L, luaL_checkstring(L, 2));
	return 1;
}

static int s_log(lua_State *L)
{
	lua_remove(L, 1);
	lua_getglobal(L, "print");
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 0);
	return 0;
}

static int s_index(lua_State *L)
{
	struct scenario *sc = check_self(L);
	const char *k = luaL_checkstring(L, 2);
	if (strcmp(k, "name") == 0)
		lua_pushstring(L, scenario_name(sc));
	else if (strcmp(k, "duration") == 0)
		lua_pushnumber(L, scenario_duration(sc));
	else if (strcmp(k, "seed") == 0)
		lua_pushinteger(L, (lua_Integer)runner_seed(scenario_run(sc)));
	else if (luaL_getmetafield(L, 1, "__methods") == LUA_TTABLE)
		lua_getfield(L, -1, k);
	else
		lua_pushnil(L);
	return 1;
}

static int s_tostring(lua_State *L)
{
	struct scenario *sc = check_self(L);
	lua_pushfstring(L, "scenario '%s'", scenario_name(sc));
	return 1;
}

/* scenario{ name = "...", duration = 12, seed = 7 } */
static int scenario_new(lua_State *L)
{
	static const char *const keys[] = { "name", "duration", "seed", "grace", NULL };
	struct runner *run = sandbox_runner(L);
	if (scenario_get(L))
		return luaL_error(L, "scenario{} may be called once per file");
	opts_check(L, 1, "scenario", keys, false);
	size_t name_len;
	const char *name = opts_string(L, 1, "name", NULL, "scenario");
	/* It names the run in the history, and `dnschaos check` matches it
	 * there: text that reads back the same, so UTF-8, and not cut. */
	name_len = strlen(name);
	if (name_len >= SCENARIO_NAME_MAX)
		return luaL_error(L, "scenario: 'name' is longer than %d bytes",
				  SCENARIO_NAME_MAX - 1);
	for (size_t i = 0; i < name_len;) {
		uint32_t cp;
		size_t k = utf8_next((const unsigned char *)name + i, name_len - i, &cp);
		if (cp == UTF8_REPLACEMENT && k == 1)
			return luaL_error(L, "scenario: 'name' is not UTF-8 text (byte %d)",
					  (int)i + 1);
		i += k;
	}
	double duration = opts_number(L, 1, "duration", 10, 0.1, DURATION_MAX, "scenario");
	double grace = opts_number(L, 1, "grace", 0, 0, 3600, "scenario");
	bool has_seed = opts_has(L, 1, "seed");
	double seed = opts_number(L, 1, "seed", 1, 0, 9007199254740991.0, "scenario");
	if (has_seed && seed != (double)(uint64_t)seed)
		return luaL_error(L, "scenario: 'seed' must be a whole number (got %f)", seed);

	struct scenario *sc = scenario_create(L, run, name, duration, has_seed, (uint64_t)seed);
	classify_set_grace(runner_classify(run), grace);
	/* The seed in force (--seed wins) drives math.random and every fault decision. */
	uint64_t in_force = runner_scenario_seed(run, has_seed ? scenario_seed(sc) : 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.randomseed");
	lua_pushinteger(L, (lua_Integer)in_force);
	lua_call(L, 1, 0);

	struct scenario **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = sc;
	luaL_setmetatable(L, BIND_SCENARIO);
	decl_record(L, "scenario", 1);
	return 1;
}

void scenario_open(lua_State *L, struct runner *run)
{
	static const luaL_Reg methods[] = {
		{ "zone", zone_new },	       { "zone_source", source_new }, { "resolver", resolver_new }, { "process", process_new }, { "remote", remote_new }, { "vip", vip_new }, { "client", client_new }, { "expect", expect_new },
		{ "at", s_at },		       { "every", s_every },	      { "on", sched_on },
		{ "sleep", sched_sleep },      { "wait", sched_wait },	      { "now", s_now },
		{ "get", s_get },	       { "log", s_log },	      { "query", sched_query },
		{ NULL, NULL },
	};
	(void)run;
	luaL_newmetatable(L, BIND_SCENARIO);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__methods");
	lua_pushcfunction(L, s_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, s_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "scenario");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	resolver_open(L);
	process_open(L);
	remote_open(L);
	source_open(L);
	zone_open(L);
	fault_open(L);
	vip_open(L);
	client_open(L);
	expect_open(L);
	action_open(L);
	lua_pushcfunction(L, scenario_new);
	lua_setglobal(L, "scenario");
}

/* ---- where the run meets Lua ---- */

static void script_close(void *script)
{
	lua_State *L = script;
	struct scenario *sc = scenario_get(L);
	/* Its finalizers run with no hook: only the watchdog bounds them. */
	double limit = runner_callback_limit(sandbox_runner(L));
	watchdog_set_deadline(clock_mono() + limit, limit, "closing the scenario (its __gc finalizers)");
	lua_close(L);
	watchdog_set_deadline(0, 0, NULL);
	scenario_destroy(sc);
}

static void script_stop(void *script)
{
	struct scenario *sc = scenario_get(script);
	if (sc)
		sched_stop(scenario_sched(sc));
}

/* A control command, parsed as the timeline's action (action.c). */
static int script_command(void *script, int argc, char *const argv[], struct run_action *a,
                          char *err, size_t errlen)
{
	return action_command(script, argc, argv, a, err, errlen);
}

/* The setup's declarations, as the history's declare lines (decl.c). */
static void script_declare(void *script, struct history *h)
{
	decl_write(script, h);
}

static const struct runner_script lua_script = {
	.close = script_close,
	.stop = script_stop,
	.command = script_command,
	.declare = script_declare,
	.key = "lua",
	.version = LUA_RELEASE,
};

enum runner_outcome runner_load(struct runner *r)
{
	char err[8192];
	/* The seed is needed before the script runs (math.random); the
	 * scenario's own seed is known only after. The sandbox is reseeded then. */
	lua_State *L = sandbox_new(r, runner_seed(r));
	if (!L) {
		runner_set_error(r, "out of memory");
		return RUNNER_FAILED;
	}
	runner_set_script(r, L, &lua_script);
	scenario_open(L, r);
	if (sandbox_run_file(L, runner_scenario_path(r), err, sizeof err) != 0) {
		runner_set_error(r, "%s", err);
		return RUNNER_BAD_INPUT;
	}
	if (!scenario_get(L)) {
		runner_set_error(r, "%s: the file never calls scenario{ name = ..., duration = ... }",
				 runner_scenario_path(r));
		return RUNNER_BAD_INPUT;
	}
	return RUNNER_COMPLETED;
}

struct scenario *runner_scenario(struct runner *r)
{
	return runner_lua(r) ? scenario_get(runner_lua(r)) : NULL;
}
