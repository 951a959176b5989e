/*
 * handle.c - the Lua handles of the run's objects: a userdata box per farm
 * object and client, kept in the registry under the object's address so
 * that the same object always comes back as the same handle. Every binding
 * uses these to read an argument (x_check) or to hand an object back
 * (x_push); they call nothing else of harness/lua/, so no type's file
 * needs another type's.
 */
#include "harness/lua/bind.h"
#include "harness/farm/remote.h"

struct farm_resolver *resolver_check(lua_State *L, int idx)
{
	struct farm_resolver **box = luaL_checkudata(L, idx, BIND_RESOLVER);
	return *box;
}

void resolver_push(lua_State *L, struct farm_resolver *r)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, r);
}

struct farm_remote *remote_check(lua_State *L, int idx)
{
	struct farm_remote **box = luaL_checkudata(L, idx, BIND_REMOTE);
	return *box;
}

void remote_push(lua_State *L, struct farm_remote *r)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, r);
}

struct farm_source *source_check(lua_State *L, int idx)
{
	struct farm_source **box = luaL_checkudata(L, idx, BIND_SOURCE);
	return *box;
}

void source_push(lua_State *L, struct farm_source *s)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, s);
}

struct farm_vip *vip_check(lua_State *L, int idx)
{
	struct farm_vip **box = luaL_checkudata(L, idx, BIND_VIP);
	return *box;
}

void vip_push(lua_State *L, struct farm_vip *v)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, v);
}

struct farm_process *process_check(lua_State *L, int idx)
{
	struct farm_process **box = luaL_checkudata(L, idx, BIND_PROCESS);
	return *box;
}

void process_push(lua_State *L, struct farm_process *p)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, p);
}

struct client *client_check(lua_State *L, int idx)
{
	struct client **box = luaL_checkudata(L, idx, BIND_CLIENT);
	return *box;
}

void scenario_push_named(lua_State *L, const char *name)
{
	struct runner *run = sandbox_runner(L);
	struct farm_resolver *r = runner_find_resolver(run, name);
	struct farm_source *s = runner_find_source(run, name);
	struct farm_vip *v = runner_find_vip(run, name);
	struct farm_process *p = runner_find_process(run, name);
	struct farm_remote *rm = runner_find_remote(run, name);
	if (rm) {
		remote_push(L, rm);
		return;
	}
	if (p) {
		process_push(L, p);
		return;
	}
	if (r) {
		resolver_push(L, r);
		return;
	}
	if (s) {
		source_push(L, s);
		return;
	}
	if (v) {
		vip_push(L, v);
		return;
	}
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	size_t nres = runner_resolver_count(run), nsrc = runner_source_count(run);
	for (size_t i = 0; i < nres + nsrc; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, i < nres ? farm_resolver_name(runner_resolver_at(run, i))
					    : farm_source_name(runner_source_at(run, i - nres)));
	}
	luaL_pushresult(&b);
	luaL_error(L, "unknown target '%s' (known: %s)", name,
		   lua_rawlen(L, -1) ? lua_tostring(L, -1) : "none yet");
}
