/*
 * opts.c - option tables: unknown keys refused with the closest valid key,
 * types and ranges checked, every message naming what was expected.
 * Errors are raised with luaL_error, so they carry the scenario's file:line.
 *
 * Reading an option may run the scenario's code (an __index metamethod, a
 * finalizer the collector calls meanwhile), which can hand back a fresh
 * string or userdata, or take a value out of the table. So every string and
 * userdata returned here is anchored first: kept in a registry table, keyed
 * weakly by the options table, which the calling API function holds on its
 * stack. A pointer returned stays valid as long as the options table lives,
 * whatever the scenario's code does to the table.
 */
#include "harness/lua/bind.h"
#include "fakeresolver/addr.h"

#include <string.h>

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];
	if (lb >= 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char anchors_key = 0;

/*
 * Anchors the value on the top of the stack to the table at idx and pops it.
 * Returns the anchored string (NULL for another type): an equal string
 * anchored before is returned instead, so reading an option twice costs
 * nothing more. A userdata is anchored as itself (equal means the same).
 */
static const char *anchor(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	luaL_checkstack(L, 4, "options");
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &anchors_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L); /* { [options table] = { [value] = value } }, weak keys */
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "k");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &anchors_key);
	}
	lua_pushvalue(L, idx);
	if (lua_rawget(L, -2) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, idx);
		lua_pushvalue(L, -2);
		lua_rawset(L, -4);
	}
	/* value, anchors, set */
	lua_pushvalue(L, -3);
	if (lua_rawget(L, -2) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_pushvalue(L, -3);
		lua_pushvalue(L, -1);
		lua_rawset(L, -3);
		lua_pushvalue(L, -3);
	}
	/* value, anchors, set, anchored value */
	const char *p = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 4);
	return p;
}

const char *opts_closest(const char *word, const char *const keys[])
{
	const char *best = keys[0];
	size_t bestd = (size_t)-1;
	for (size_t i = 0; keys[i]; i++) {
		size_t d = edit_distance(word, keys[i]);
		if (d < bestd) {
			bestd = d;
			best = keys[i];
		}
	}
	return best;
}

void opts_check(lua_State *L, int idx, const char *what, const char *const keys[], bool optional)
{
	idx = lua_absindex(L, idx);
	if (lua_isnoneornil(L, idx)) {
		if (optional)
			return;
		luaL_error(L, "%s: expects a table of options", what);
	}
	if (!lua_istable(L, idx))
		luaL_error(L, "%s: expects a table of options, got %s", what, luaL_typename(L, idx));
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: option names must be strings (got a %s key)", what,
				   luaL_typename(L, -1));
		const char *k = lua_tostring(L, -1);
		bool known = false;
		for (size_t i = 0; keys[i] && !known; i++)
			known = strcmp(k, keys[i]) == 0;
		if (!known && !keys[0]) /* nothing to suggest */
			luaL_error(L, "%s: unknown option '%s' (%s takes no options)", what, k,
			           what);
		if (!known)
			luaL_error(L, "%s: unknown option '%s' (did you mean '%s'?)", what, k,
				   opts_closest(k, keys));
	}
}

bool opts_has(lua_State *L, int idx, const char *key)
{
	if (!lua_istable(L, idx))
		return false;
	bool has = lua_getfield(L, idx, key) != LUA_TNIL;
	lua_pop(L, 1);
	return has;
}

double opts_number(lua_State *L, int idx, const char *key, double def, double min, double max,
		   const char *what)
{
	if (!lua_istable(L, idx))
		return def;
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	if (t != LUA_TNUMBER)
		luaL_error(L, "%s: '%s' must be a number, got %s", what, key, luaL_typename(L, -1));
	double v = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (!(v >= min && v <= max))
		luaL_error(L, "%s: '%s' must be between %f and %f (got %f)", what, key, min, max, v);
	return v;
}

const char *opts_string(lua_State *L, int idx, const char *key, const char *def, const char *what)
{
	idx = lua_absindex(L, idx);
	int t = lua_istable(L, idx) ? lua_getfield(L, idx, key) : (lua_pushnil(L), LUA_TNIL);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		if (!def)
			luaL_error(L, "%s: option '%s' is required", what, key);
		return def;
	}
	if (t != LUA_TSTRING)
		luaL_error(L, "%s: '%s' must be a string, got %s", what, key, luaL_typename(L, -1));
	/* Anchored: the table may not hold it (an __index gave it) or may lose it. */
	return anchor(L, idx);
}

int opts_enum(lua_State *L, int idx, const char *key, const char *const names[], int def,
	      const char *what)
{
	const char *s = opts_string(L, idx, key, def >= 0 ? names[def] : NULL, what);
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; names[i]; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, names[i]);
	}
	luaL_pushresult(&b);
	return luaL_error(L, "%s: '%s' must be one of %s (got '%s'; did you mean '%s'?)", what, key,
			  lua_tostring(L, -1), s, opts_closest(s, names));
}

bool opts_bool(lua_State *L, int idx, const char *key, bool def, const char *what)
{
	if (!lua_istable(L, idx))
		return def;
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	if (t != LUA_TBOOLEAN)
		luaL_error(L, "%s: '%s' must be true or false, got %s", what, key, luaL_typename(L, -1));
	bool v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

void *opts_udata(lua_State *L, int idx, const char *key, const char *tname, const char *what)
{
	idx = lua_absindex(L, idx);
	if (!lua_istable(L, idx))
		return NULL;
	if (lua_getfield(L, idx, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	void *p = luaL_testudata(L, -1, tname);
	if (!p) {
		/* Name what was given: "got zone_source", not "got userdata". */
		const char *got = luaL_typename(L, -1);
		if (luaL_getmetafield(L, -1, "__name") == LUA_TSTRING)
			got = lua_tostring(L, -1);
		luaL_error(L, "%s: '%s' must be a %s, got %s", what, key, strchr(tname, '.') + 1,
			   got);
	}
	anchor(L, idx);
	return p;
}

int opts_method(lua_State *L, const char *type, const char *k, const char *const fields[],
		const luaL_Reg methods[])
{
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; methods && methods[i].name; i++)
		if (strcmp(k, methods[i].name) == 0) {
			lua_pushcfunction(L, methods[i].func);
			return 1;
		}
	for (size_t i = 0; fields && fields[i] && n < 63; i++)
		names[n++] = fields[i];
	for (size_t i = 0; methods && methods[i].name && n < 63; i++)
		names[n++] = methods[i].name;
	names[n] = NULL;
	return luaL_error(L, "%s has no field or method '%s' (did you mean '%s'?)", type, k,
			  opts_closest(k, names));
}

int opts_member_index(lua_State *L, const char *type, const char *name, const struct addr *addr,
                      const luaL_Reg methods[])
{
	const char *k = luaL_checkstring(L, 2);
	char buf[80];
	if (strcmp(k, "name") == 0) {
		lua_pushstring(L, name);
		return 1;
	}
	if (strcmp(k, "address") == 0) {
		lua_pushstring(L, addr_str(addr, buf, sizeof buf));
		return 1;
	}
	if (strcmp(k, "port") == 0) {
		lua_pushinteger(L, addr_port(addr));
		return 1;
	}
	static const char *const fields[] = {"name", "address", "port", NULL};
	return opts_method(L, type, k, fields, methods);
}
