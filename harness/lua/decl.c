/*
 * decl.c - what the scenario declared, kept for the history's `declare`
 * lines (docs/history.md): each declaring method (scenario{}, s:zone,
 * s:zone_source, s:resolver, s:process, s:vip, s:client, s:expect, and the
 * timeline functions of s:at, s:every and s:on) hands the value it was
 * given to decl_record once it has succeeded; the run writes them right
 * after the meta line (decl_write). `dnschaos replay` rebuilds the farm,
 * the clients and the expectations from them (harness/replay.c).
 *
 * A value is written as JSON: strings, numbers (integers as integers,
 * others fixed point), booleans, tables (a sequence as an array, anything
 * else as an object, keys sorted so that the same table always reads the
 * same), and the API's objects as {"$ref": type, ...}: a farm object or a
 * client by its name, a zone by its file (as the scenario named it), a
 * metric by its constructor and options, a function by where it was
 * defined (it cannot be written down: replay says it left it out).
 */
#include "harness/lua/bind.h"
#include "harness/clients/client.h"
#include "harness/record/history.h"
#include "harness/run/run.h"
#include "fakeresolver/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DECL_KEY "dnschaos.decls"
#define DECL_DEPTH 8            /* deeper tables are written as {"$ref":"deep"} */
#define DECL_MAX (1024 * 1024)  /* the longest declaration written, in bytes */

struct jbuf {
	char *p;
	size_t len, cap;
	bool full; /* out of memory, or past DECL_MAX */
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->full)
		return;
	if (b->len + n + 1 > DECL_MAX) {
		b->full = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->full = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void jb_lit(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

/* A JSON string: quoted, escaped as the history escapes. */
static void jb_str(struct jbuf *b, const char *s, size_t n)
{
	size_t done = 0;
	jb_put(b, "\"", 1);
	while (done < n && !b->full) {
		char out[JSON_ESCAPE_ROOM(256)];
		size_t used;
		size_t k = json_escape(out, s + done, n - done, 256, JSON_ESC_PLAIN, &used);
		jb_put(b, out, k);
		if (used == 0)
			break;
		done += used;
	}
	jb_put(b, "\"", 1);
}

/* A number as the history writes them: integers whole, others fixed point, never an exponent. */
static void jb_num(struct jbuf *b, lua_State *L, int idx)
{
	char tmp[400];
	if (lua_isinteger(L, idx)) {
		snprintf(tmp, sizeof tmp, "%lld", (long long)lua_tointeger(L, idx));
	} else {
		double v = lua_tonumber(L, idx);
		if (!isfinite(v)) {
			jb_lit(b, "null");
			return;
		}
		snprintf(tmp, sizeof tmp, "%.9f", v);
		size_t n = strlen(tmp);
		while (n > 0 && tmp[n - 1] == '0')
			tmp[--n] = '\0';
		if (n > 0 && tmp[n - 1] == '.')
			tmp[--n] = '\0';
		if (strcmp(tmp, "-0") == 0)
			snprintf(tmp, sizeof tmp, "0");
	}
	jb_lit(b, tmp);
}

static void jb_ref(struct jbuf *b, const char *type, const char *key, const char *val)
{
	jb_lit(b, "{\"$ref\":");
	jb_str(b, type, strlen(type));
	if (key) {
		jb_put(b, ",", 1);
		jb_str(b, key, strlen(key));
		jb_put(b, ":", 1);
		jb_str(b, val, strlen(val));
	}
	jb_put(b, "}", 1);
}

static void value(lua_State *L, int idx, struct jbuf *b, int depth);

/* Sorts keys: integers first (ascending), then strings. */
static int key_cmp(lua_State *L, int a, int c)
{
	bool ia = lua_type(L, a) == LUA_TNUMBER, ic = lua_type(L, c) == LUA_TNUMBER;
	if (ia != ic)
		return ia ? -1 : 1;
	if (ia) {
		lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, c);
		return x < y ? -1 : x > y;
	}
	return strcmp(lua_tostring(L, a), lua_tostring(L, c));
}

static void table(lua_State *L, int idx, struct jbuf *b, int depth)
{
	idx = lua_absindex(L, idx);
	lua_Unsigned n = lua_rawlen(L, idx);
	size_t count = 0;
	bool odd = false; /* a key neither a string nor a whole number */
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
		if (lua_type(L, -1) != LUA_TSTRING && !lua_isinteger(L, -1))
			odd = true;
	}
	if (count == n && !odd) { /* a sequence (or {}): an array */
		jb_put(b, "[", 1);
		for (lua_Unsigned i = 1; i <= n; i++) {
			if (i > 1)
				jb_put(b, ",", 1);
			lua_rawgeti(L, idx, (lua_Integer)i);
			value(L, -1, b, depth + 1);
			lua_pop(L, 1);
		}
		jb_put(b, "]", 1);
		return;
	}
	/* The keys, sorted, in a table of their own (insertion sort: option tables are small). */
	luaL_checkstack(L, 8, "declaration");
	lua_createtable(L, (int)(count < 1024 ? count : 1024), 0);
	int keys = lua_gettop(L);
	lua_Integer nk = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING && !lua_isinteger(L, -1))
			continue;
		lua_Integer at = ++nk;
		while (at > 1) {
			lua_rawgeti(L, keys, at - 1);
			int c = key_cmp(L, -2, -1);
			if (c >= 0) {
				lua_pop(L, 1);
				break;
			}
			lua_rawseti(L, keys, at);
			at--;
		}
		lua_pushvalue(L, -1);
		lua_rawseti(L, keys, at);
	}
	jb_put(b, "{", 1);
	for (lua_Integer i = 1; i <= nk; i++) {
		if (i > 1)
			jb_put(b, ",", 1);
		lua_rawgeti(L, keys, i);
		char num[32];
		if (lua_type(L, -1) == LUA_TNUMBER) {
			snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
			jb_str(b, num, strlen(num));
		} else {
			size_t kl;
			const char *k = lua_tolstring(L, -1, &kl);
			jb_str(b, k, kl);
		}
		jb_put(b, ":", 1);
		lua_rawget(L, idx);
		value(L, -1, b, depth + 1);
		lua_pop(L, 1);
	}
	jb_put(b, "}", 1);
	lua_pop(L, 1); /* keys */
}

static void userdata(lua_State *L, int idx, struct jbuf *b, int depth)
{
	char where[64];
	const char *metric;
	if (luaL_testudata(L, idx, BIND_RESOLVER)) {
		jb_ref(b, "resolver", "name", farm_resolver_name(resolver_check(L, idx)));
	} else if (luaL_testudata(L, idx, BIND_SOURCE)) {
		jb_ref(b, "zone_source", "name", farm_source_name(source_check(L, idx)));
	} else if (luaL_testudata(L, idx, BIND_VIP)) {
		jb_ref(b, "vip", "name", farm_vip_name(vip_check(L, idx)));
	} else if (luaL_testudata(L, idx, BIND_PROCESS)) {
		jb_ref(b, "process", "name", farm_process_name(process_check(L, idx)));
	} else if (luaL_testudata(L, idx, BIND_CLIENT)) {
		jb_ref(b, "client", "name", client_name(client_check(L, idx)));
	} else if (luaL_testudata(L, idx, BIND_ZONE)) {
		struct zone_version **box = lua_touserdata(L, idx);
		if (*box)
			jb_ref(b, "zone", "file",
			       runner_relpath(sandbox_runner(L), zone_version_source(*box)));
		else
			jb_ref(b, "closed zone", NULL, NULL);
	} else if (luaL_testudata(L, idx, BIND_METRIC)) {
		/* its name and options are its user values (expect.c) */
		lua_getiuservalue(L, idx, 2);
		metric = lua_tostring(L, -1);
		jb_lit(b, "{\"$ref\":\"metric\",\"metric\":");
		jb_str(b, metric ? metric : "?", metric ? strlen(metric) : 1);
		lua_pop(L, 1);
		jb_lit(b, ",\"opts\":");
		lua_getiuservalue(L, idx, 1);
		value(L, -1, b, depth + 1);
		lua_pop(L, 1);
		jb_put(b, "}", 1);
	} else {
		int t = luaL_getmetafield(L, idx, "__name"); /* pushes nothing when absent */
		snprintf(where, sizeof where, "%s", t == LUA_TSTRING ? lua_tostring(L, -1) : "userdata");
		if (t != LUA_TNIL)
			lua_pop(L, 1);
		jb_ref(b, where, NULL, NULL);
	}
}

static void value(lua_State *L, int idx, struct jbuf *b, int depth)
{
	idx = lua_absindex(L, idx);
	if (depth > DECL_DEPTH) {
		jb_ref(b, "deep", NULL, NULL);
		return;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		jb_lit(b, "null");
		break;
	case LUA_TBOOLEAN:
		jb_lit(b, lua_toboolean(L, idx) ? "true" : "false");
		break;
	case LUA_TNUMBER:
		jb_num(b, L, idx);
		break;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		jb_str(b, s, n);
		break;
	}
	case LUA_TTABLE:
		table(L, idx, b, depth);
		break;
	case LUA_TFUNCTION: {
		lua_Debug ar;
		char where[600];
		lua_pushvalue(L, idx);
		if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0)
			snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.linedefined);
		else
			snprintf(where, sizeof where, "%s", "a C function");
		jb_ref(b, "function", "where", where);
		break;
	}
	case LUA_TUSERDATA:
		userdata(L, idx, b, depth);
		break;
	default:
		jb_ref(b, luaL_typename(L, idx), NULL, NULL);
		break;
	}
}

void decl_record(lua_State *L, const char *what, int idx)
{
	struct jbuf b = { 0 };
	lua_Debug ar;
	char where[600] = "", cwd[4096] = "";
	if (runner_running(sandbox_runner(L)))
		return;
	idx = lua_absindex(L, idx);
	/* Where the declaring call is: the Lua function that called the method. */
	for (int level = 1; lua_getstack(L, level, &ar); level++)
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
			snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
			break;
		}
	/* Where the run's relative paths start from (the meta line's scenario). */
	if (strcmp(what, "scenario") == 0 && !getcwd(cwd, sizeof cwd))
		cwd[0] = '\0';
	value(L, idx, &b, 0);
	if (b.full) {
		free(b.p);
		luaL_error(L, "%s: the declaration is too large to record (more than %d bytes)", what,
			   DECL_MAX);
		return;
	}
	if (lua_getfield(L, LUA_REGISTRYINDEX, DECL_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, DECL_KEY);
	}
	lua_createtable(L, 4, 0);
	lua_pushlstring(L, b.p, b.len);
	free(b.p);
	lua_rawseti(L, -2, 1);
	lua_pushstring(L, what);
	lua_rawseti(L, -2, 2);
	lua_pushstring(L, where);
	lua_rawseti(L, -2, 3);
	lua_pushstring(L, cwd);
	lua_rawseti(L, -2, 4);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 1);
}

/* Each declaration as a line: what, where, (cwd,) opts (already JSON). */
void decl_write(lua_State *L, struct history *h)
{
	if (lua_getfield(L, LUA_REGISTRYINDEX, DECL_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	lua_Unsigned n = lua_rawlen(L, -1);
	for (lua_Unsigned i = 1; i <= n; i++) {
		size_t len;
		lua_rawgeti(L, -1, (lua_Integer)i);
		lua_rawgeti(L, -1, 1);
		lua_rawgeti(L, -2, 2);
		lua_rawgeti(L, -3, 3);
		lua_rawgeti(L, -4, 4);
		const char *opts = lua_tolstring(L, -4, &len);
		history_begin(h, 0, "declare");
		history_str(h, "what", lua_tostring(L, -3));
		history_str(h, "where", lua_tostring(L, -2));
		if (lua_tostring(L, -1)[0])
			history_str(h, "cwd", lua_tostring(L, -1));
		history_json(h, "opts", opts, len);
		history_end(h);
		lua_pop(L, 5);
	}
	lua_pop(L, 1);
}
