/*
 * zone.c - the zone type: s:zone(file) loads a zone version now, so a
 * missing or bad file is an error at the scenario line that names it,
 * before the run starts. Fields: serial, origin, file.
 */
#include "harness/lua/bind.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <string.h>

struct zone_version *zone_load(lua_State *L, const char *file)
{
	char path[4096], err[1024];
	runner_path(sandbox_runner(L), file, path, sizeof path);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	if (!v)
		luaL_error(L, "%s", err);
	return v;
}

static void zone_push(lua_State *L, struct zone_version *v)
{
	struct zone_version **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = v; /* takes the caller's reference */
	luaL_setmetatable(L, BIND_ZONE);
}

int zone_new(lua_State *L)
{
	luaL_checkudata(L, 1, BIND_SCENARIO);
	const char *file = luaL_checkstring(L, 2);
	zone_push(L, zone_load(L, file));
	decl_record(L, "zone", 2);
	return 1;
}

struct zone_version *zone_check(lua_State *L, int idx)
{
	struct zone_version **box = luaL_checkudata(L, idx, BIND_ZONE);
	if (!*box)
		luaL_error(L, "zone: used after it was closed");
	return *box;
}

static int z_index(lua_State *L)
{
	struct zone_version *v = zone_check(L, 1);
	const char *k = luaL_checkstring(L, 2);
	char name[1024];
	if (strcmp(k, "serial") == 0) {
		lua_pushinteger(L, zone_version_serial(v));
	} else if (strcmp(k, "origin") == 0) {
		wire_name_to_str(zone_version_origin(v, NULL), name, sizeof name);
		lua_pushstring(L, name);
	} else if (strcmp(k, "file") == 0) {
		lua_pushstring(L, zone_version_source(v));
	} else if (strcmp(k, "records") == 0) {
		lua_pushinteger(L, (lua_Integer)zone_version_record_count(v));
	} else {
		static const char *const fields[] = { "serial", "origin", "file", "records", NULL };
		return opts_method(L, "zone", k, fields, NULL);
	}
	return 1;
}

static int boot_gc(lua_State *L);

static int z_tostring(lua_State *L)
{
	struct zone_version *v = zone_check(L, 1);
	char name[1024];
	wire_name_to_str(zone_version_origin(v, NULL), name, sizeof name);
	lua_pushfstring(L, "zone %s serial %I", name, (lua_Integer)zone_version_serial(v));
	return 1;
}

static int z_gc(lua_State *L)
{
	struct zone_version **box = luaL_checkudata(L, 1, BIND_ZONE);
	zone_version_unref(*box);
	*box = NULL;
	return 0;
}

void zone_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", z_index }, { "__tostring", z_tostring }, { "__gc", z_gc },
		{ "__close", z_gc },	{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_ZONE);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "zone");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	luaL_newmetatable(L, BIND_BOOT);
	lua_pushcfunction(L, boot_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, "boot plan");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}

/* A boot plan being read lives in a userdata, so a raise before it is used frees its references. */
static int boot_gc(lua_State *L)
{
	farm_boot_clear(luaL_checkudata(L, 1, BIND_BOOT));
	return 0;
}

struct farm_boot *boot_push(lua_State *L)
{
	struct farm_boot *b = lua_newuserdatauv(L, sizeof *b, 0);
	memset(b, 0, sizeof *b);
	luaL_setmetatable(L, BIND_BOOT);
	return b;
}

bool boot_from_opts(lua_State *L, int idx, struct farm_boot *b, const char *what)
{
	static const char *const boots[] = { "file", "source", NULL };
	idx = lua_absindex(L, idx);
	bool any = opts_has(L, idx, "zone") || opts_has(L, idx, "file") ||
		   opts_has(L, idx, "zones") || opts_has(L, idx, "boot") ||
		   opts_has(L, idx, "source");
	if (!any)
		return false;
	int kind = opts_enum(L, idx, "boot", boots,
			     (opts_has(L, idx, "zone") || opts_has(L, idx, "file") ||
			      opts_has(L, idx, "zones"))
				     ? 0
				     : 1,
			     what);
	farm_boot_clear(b);
	if (kind == 1) {
		struct farm_source **src = opts_udata(L, idx, "source", BIND_SOURCE, what);
		if (opts_has(L, idx, "zone") || opts_has(L, idx, "file") || opts_has(L, idx, "zones"))
			luaL_error(L, "%s: boot = 'source' loads from the zone source; drop zone/file",
				   what);
		if (src) {
			b->source = *src;
		} else {
			/* The only zone source, if there is exactly one. */
			lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.sources");
			lua_Integer n = luaL_len(L, -1);
			if (n != 1)
				luaL_error(L, "%s: boot = 'source' needs source = <zone source> "
					      "(there are %d)",
					   what, (int)n);
			lua_rawgeti(L, -1, 1);
			b->source = source_check(L, -1);
			lua_pop(L, 2);
		}
		return true;
	}
	/*
	 * Every reference taken goes into b at once: b lives in a userdata
	 * (boot_push), so a raise from here on leaves them to its __gc.
	 */
	if (opts_has(L, idx, "source"))
		luaL_error(L, "%s: 'source' goes with boot = 'source'", what);
	struct zone_version **z = opts_udata(L, idx, "zone", BIND_ZONE, what);
	if (z && !*z)
		luaL_error(L, "%s: 'zone' was used after it was closed", what);
	const char *file = opts_string(L, idx, "file", "", what);
	if (z && file[0])
		luaL_error(L, "%s: give zone or file, not both", what);
	if (z)
		b->zones[b->nzones++] = zone_version_ref(*z);
	if (file[0])
		b->zones[b->nzones++] = zone_load(L, file);
	if (lua_getfield(L, idx, "zones") != LUA_TNIL) {
		int t = lua_gettop(L);
		if (!lua_istable(L, t))
			luaL_error(L, "%s: 'zones' must be a list of zones", what);
		lua_Integer n = luaL_len(L, t);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, t, i);
			struct zone_version **box = luaL_testudata(L, -1, BIND_ZONE);
			if (!box || !*box || b->nzones == FARM_BOOT_ZONES)
				luaL_error(L, "%s: zones[%d] must be a zone (at most %d)", what, (int)i,
					   FARM_BOOT_ZONES);
			b->zones[b->nzones++] = zone_version_ref(*box);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	if (b->nzones == 0)
		luaL_error(L, "%s: boot = 'file' needs zone = <zone> or file = 'path'", what);
	return true;
}
