/*
 * opts.c - option tables: unknown keys refused with the closest valid key,
 * types and ranges checked, every message naming what was expected.
 * Errors are raised with luaL_error, so they carry the scenario's file:line.
 */
#include "harness/lua/bind.h"

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
	int t = lua_istable(L, idx) ? lua_getfield(L, idx, key) : (lua_pushnil(L), LUA_TNIL);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		if (!def)
			luaL_error(L, "%s: option '%s' is required", what, key);
		return def;
	}
	if (t != LUA_TSTRING)
		luaL_error(L, "%s: '%s' must be a string, got %s", what, key, luaL_typename(L, -1));
	/* The string stays alive: it is referenced by the options table. */
	const char *s = lua_tostring(L, -1);
	lua_pop(L, 1);
	return s;
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
	lua_pop(L, 1);
	return p;
}
