/*
 * source.c - the zone source type: s:zone_source{...} declares the published
 * truth; src:publish{zone = z} (or file = "...") publishes a new version
 * during the run. Fields: name, address, serial.
 */
#include "harness/lua/bind.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <string.h>

/* Reads the zone to publish: zone = z or file = "path". Returns a reference. */
static struct zone_version *zone_opt(lua_State *L, int idx, const char *what)
{
	/* Every option is read before a reference is taken: a raise leaks nothing. */
	struct zone_version **z = opts_udata(L, idx, "zone", BIND_ZONE, what);
	if (z && !*z)
		luaL_error(L, "%s: 'zone' was used after it was closed", what);
	const char *file = opts_string(L, idx, "file", "", what);
	if (file[0] && z)
		luaL_error(L, "%s: give zone or file, not both", what);
	if (!file[0] && !z)
		luaL_error(L, "%s: needs zone = <zone> or file = 'path'", what);
	return z ? zone_version_ref(*z) : zone_load(L, file);
}

/* s:zone_source{ name = "truth", zone = z | file = "...", address = "127.0.0.10" } */
int source_new(lua_State *L)
{
	static const char *const keys[] = { "name", "zone", "file", "address", NULL };
	const char *what = "zone_source";
	struct scenario *sc = scenario_get(L);
	struct runner *run = sandbox_runner(L);
	char err[256];
	struct addr addr;

	luaL_checkudata(L, 1, BIND_SCENARIO);
	opts_check(L, 2, what, keys, false);
	const char *name = opts_string(L, 2, "name", "source", what);
	scenario_check_name(L, sc, name, what);
	scenario_pick_address(L, sc, 2, &addr, what);
	/* The handle before the zone's reference: a raise in between leaks nothing. */
	struct farm_source **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	struct zone_version *v = zone_opt(L, 2, what);
	struct farm_source *s = runner_new_source(run, name, &addr, v, err, sizeof err);
	zone_version_unref(v);
	if (!s)
		return luaL_error(L, "%s: %s", what, err);
	*box = s;
	luaL_setmetatable(L, BIND_SOURCE);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, s);
	lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.sources");
	lua_pushvalue(L, -2);
	lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
	lua_pop(L, 1);
	decl_record(L, "zone_source", 2);
	return 1;
}

/* src:publish{ zone = z } or { file = "..." } */
static void parse_publish(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = { "zone", "file", NULL };
	opts_check(L, idx, "publish", keys, false);
	a->verb = RUN_PUBLISH;
	a->source = source_check(L, self);
	a->zone = zone_opt(L, idx, "publish");
}

/* src:stop() and src:start(): the source of truth unreachable, and back. */
static void parse_stop(lua_State *L, int self, int idx, struct run_action *a)
{
	(void)idx;
	a->verb = RUN_SOURCE_STOP;
	a->source = source_check(L, self);
}

static void parse_start(lua_State *L, int self, int idx, struct run_action *a)
{
	(void)idx;
	a->verb = RUN_SOURCE_START;
	a->source = source_check(L, self);
}

const struct action_method source_actions[] = {
	{ "publish", parse_publish, true, false, NULL },
	{ "stop", parse_stop, false, false, NULL },
	{ "start", parse_start, false, false, NULL },
	{ NULL, NULL, false, false, NULL },
};

static int src_publish(lua_State *L)
{
	source_check(L, 1);
	return action_method(L, &source_actions[0]);
}

static int src_stop(lua_State *L)
{
	source_check(L, 1);
	return action_method(L, &source_actions[1]);
}

static int src_start(lua_State *L)
{
	source_check(L, 1);
	return action_method(L, &source_actions[2]);
}

static int src_serial(lua_State *L)
{
	struct farm_source *s = source_check(L, 1);
	const struct zone_version *v = zone_set_at(farm_source_zones(s), 0);
	lua_pushinteger(L, v ? zone_version_serial(v) : 0);
	return 1;
}

static int src_index(lua_State *L)
{
	struct farm_source *s = source_check(L, 1);
	const char *k = luaL_checkstring(L, 2);
	char buf[80];
	if (strcmp(k, "name") == 0) {
		lua_pushstring(L, farm_source_name(s));
	} else if (strcmp(k, "address") == 0) {
		lua_pushstring(L, addr_str(farm_source_addr(s), buf, sizeof buf));
	} else if (strcmp(k, "port") == 0) {
		lua_pushinteger(L, addr_port(farm_source_addr(s)));
	} else {
		static const char *const fields[] = { "name", "address", "port", NULL };
		static const luaL_Reg methods[] = {
			{ "publish", src_publish }, { "serial", src_serial }, { "stop", src_stop },
			{ "start", src_start },	    { NULL, NULL },
		};
		return opts_method(L, "zone source", k, fields, methods);
	}
	return 1;
}

static int src_tostring(lua_State *L)
{
	lua_pushfstring(L, "zone source %s", farm_source_name(source_check(L, 1)));
	return 1;
}

void source_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", src_index },
		{ "__tostring", src_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_SOURCE);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "zone_source");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "dnschaos.sources");
}
