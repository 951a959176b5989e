/*
 * sandbox.c - the restricted Lua environment scenarios run in, with a
 * traceback message handler and a deadline hook that a runaway script
 * cannot swallow.
 */
#include "harness/lua/bind.h"
#include "fakeresolver/clock.h"
#include "harness/record/history.h"
#include "harness/run/run.h"
#include "harness/run/watchdog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

#define HOOK_EVERY 10000 /* instructions between deadline checks */

/* Per-state data, kept in the registry under this key's address. */
struct sandbox {
	struct runner *run;
	double deadline; /* monotonic seconds; 0: none */
	double limit;
};
static const char sandbox_key = 0;

static struct sandbox *sandbox_of(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_key);
	struct sandbox *sb = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return sb;
}

struct runner *sandbox_runner(lua_State *L)
{
	return sandbox_of(L)->run;
}

/*
 * Past the deadline, every check raises again, so a pcall in the script only
 * delays the error to the next check: it reaches the top.
 */
static void deadline_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct sandbox *sb = sandbox_of(L);
	if (!(sb->deadline > 0 && clock_mono() > sb->deadline))
		return;
	/* From now on check at every instruction: a pcall that catches the error
	 * returns to code that raises it again at once. */
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, 1);
	/* The hook still runs, so the error is on its way up: the watchdog is
	 * for code the hook cannot reach, and counts its margin from this
	 * check (unwinding through pcalls, one check per instruction, can take
	 * seconds under valgrind). */
	watchdog_set_deadline(clock_mono(), sb->limit, NULL);
	luaL_where(L, 0);
	lua_pushfstring(L,
			"%sscenario code ran for more than %f s without returning or waiting "
			"(an endless loop?)",
			lua_tostring(L, -1), sb->limit);
	lua_error(L);
}

void sandbox_set_deadline(lua_State *L, double seconds)
{
	struct sandbox *sb = sandbox_of(L);
	sb->limit = seconds;
	sb->deadline = seconds > 0 ? clock_mono() + seconds : 0;
	watchdog_set_deadline(sb->deadline, sb->limit, NULL);
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

struct sandbox_deadline sandbox_enter(lua_State *L, double seconds)
{
	struct sandbox *sb = sandbox_of(L);
	struct sandbox_deadline old = { sb->deadline, sb->limit };
	double at = clock_mono() + seconds;
	/* A nested call (a farm event during a callback) never extends the outer one. */
	if (!(old.at > 0 && old.at < at)) {
		sb->deadline = at;
		sb->limit = seconds;
	}
	/* Also watched from outside Lua: a finalizer or a C call runs with no hook. */
	watchdog_set_deadline(sb->deadline, sb->limit, NULL);
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
	return old;
}

void sandbox_leave(lua_State *L, struct sandbox_deadline old)
{
	struct sandbox *sb = sandbox_of(L);
	sb->deadline = old.at;
	sb->limit = old.limit;
	watchdog_set_deadline(sb->deadline, sb->limit, NULL);
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

/* __tostring(v), called protected: its own error must not escape. */
static int call_tostring(lua_State *L)
{
	luaL_tolstring(L, 1, NULL);
	return 1;
}

/* Adds a short form of the value at idx of L to b (no metamethod runs). */
static void add_value(luaL_Buffer *b, lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		luaL_addchar(b, '"');
		for (size_t i = 0; i < n && i < 60; i++)
			luaL_addchar(b, (s[i] >= ' ' && s[i] != 127 && s[i] != '"') ? s[i] : '?');
		luaL_addstring(b, n > 60 ? "...\"" : "\"");
		break;
	}
	case LUA_TNUMBER:
	case LUA_TBOOLEAN:
	case LUA_TNIL:
		lua_pushvalue(L, idx);
		luaL_addstring(b, lua_type(L, -1) == LUA_TBOOLEAN ? (lua_toboolean(L, -1) ? "true" : "false")
				  : lua_isnil(L, -1) ? "nil"
						     : lua_tostring(L, -1));
		lua_pop(L, 1);
		break;
	case LUA_TTABLE:
		luaL_addstring(b, "{...}");
		break;
	default:
		luaL_addstring(b, luaL_typename(L, idx));
		break;
	}
}

/* { 1, 2, key = value, ... }: the list part in order, then string keys sorted; raw, bounded. */
static void push_table_text(lua_State *L, int t)
{
	enum { MAX_ITEMS = 12 };
	const char *keys[MAX_ITEMS];
	size_t nkeys = 0, shown = 0, more = 0;
	luaL_Buffer b;
	lua_Integer n = 0;
	t = lua_absindex(L, t);
	for (;;) {
		bool present = lua_rawgeti(L, t, n + 1) != LUA_TNIL;
		lua_pop(L, 1);
		if (!present)
			break;
		if (n == MAX_ITEMS) {
			more++; /* the rest of the list counts as "..." */
			break;
		}
		n++;
	}
	/* The keys are strings held by the table, which stays on the stack meanwhile. */
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
		    lua_tointeger(L, -1) <= n)
			continue;
		if (more && lua_type(L, -1) == LUA_TNUMBER)
			continue; /* the list's tail, already said */
		if (lua_type(L, -1) == LUA_TSTRING && nkeys < MAX_ITEMS) {
			const char *k = lua_tostring(L, -1);
			size_t i = nkeys++;
			while (i > 0 && strcmp(keys[i - 1], k) > 0) {
				keys[i] = keys[i - 1];
				i--;
			}
			keys[i] = k;
		} else {
			more++;
		}
	}
	luaL_buffinit(L, &b);
	luaL_addstring(&b, "{");
	for (lua_Integer i = 1; i <= n; i++, shown++) {
		luaL_addstring(&b, shown ? ", " : " ");
		lua_rawgeti(L, t, i);
		add_value(&b, L, lua_gettop(L));
		lua_pop(L, 1);
	}
	for (size_t i = 0; i < nkeys; i++, shown++) {
		luaL_addstring(&b, shown ? ", " : " ");
		luaL_addstring(&b, keys[i]);
		luaL_addstring(&b, " = ");
		lua_pushstring(L, keys[i]);
		lua_rawget(L, t);
		add_value(&b, L, lua_gettop(L));
		lua_pop(L, 1);
	}
	if (more)
		luaL_addstring(&b, shown ? ", ..." : " ...");
	luaL_addstring(&b, shown || more ? " }" : "}");
	luaL_pushresult(&b);
}

void sandbox_push_error(lua_State *L, lua_State *from, int level)
{
	if (lua_type(from, -1) == LUA_TSTRING) {
		lua_pushvalue(from, -1);
		if (from != L)
			lua_xmove(from, L, 1);
		return;
	}
	/* Where: the first Lua function on from's stack, from level up. */
	lua_Debug ar;
	char where[256] = "";
	for (int lv = level; lua_getstack(from, lv, &ar); lv++)
		if (lua_getinfo(from, "Sl", &ar) && ar.currentline > 0) {
			snprintf(where, sizeof where, "%s:%d: ", ar.short_src, ar.currentline);
			break;
		}
	lua_pushvalue(from, -1);
	if (from != L)
		lua_xmove(from, L, 1);
	int v = lua_gettop(L);
	const char *type = luaL_typename(L, v);
	int nt = luaL_getmetafield(L, v, "__name");
	if (nt == LUA_TSTRING)
		type = lua_tostring(L, -1); /* stays on the stack while used */
	else if (nt != LUA_TNIL)
		lua_pop(L, 1);
	int text = lua_gettop(L) + 1;
	if (luaL_getmetafield(L, v, "__tostring") != LUA_TNIL) {
		/* The scenario's own __tostring: protected, and within a second. */
		lua_pop(L, 1);
		lua_pushcfunction(L, call_tostring);
		lua_pushvalue(L, v);
		struct sandbox_deadline dl = sandbox_enter(L, 1.0);
		int st = lua_pcall(L, 1, 1, 0);
		sandbox_leave(L, dl);
		if (st != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			lua_pushliteral(L, "(its __tostring failed)");
		}
	} else if (lua_type(L, v) == LUA_TTABLE) {
		push_table_text(L, v);
	} else {
		luaL_Buffer b;
		luaL_buffinit(L, &b);
		add_value(&b, L, v);
		luaL_pushresult(&b);
	}
	if (lua_type(L, v) == LUA_TNIL)
		lua_pushfstring(L, "%serror raised with nil, not a message", where);
	else
		lua_pushfstring(L, "%serror raised with a %s, not a message: %s", where, type,
				lua_tostring(L, text));
	lua_replace(L, v);
	lua_settop(L, v);
}

int sandbox_traceback(lua_State *L)
{
	/* Level 1: the function that raised (error, or the Lua code itself). */
	sandbox_push_error(L, L, 1);
	luaL_traceback(L, L, lua_tostring(L, -1), 1);
	return 1;
}

/* print(...): the scenario's own log, into the history and on stdout. */
static int sandbox_print(lua_State *L)
{
	struct runner *run = sandbox_runner(L);
	luaL_Buffer b;
	int n = lua_gettop(L);
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	const char *msg = lua_tostring(L, -1);
	struct history *h = runner_history(run);
	if (h && runner_running(run)) {
		history_begin(h, runner_now(run), "log");
		history_str(h, "message", msg);
		history_end(h);
	}
	/* On stdout, unless the history goes there (--history -): then stderr. */
	FILE *out = runner_history_on_stdout(run) ? stderr : stdout;
	fprintf(out, "[%8.3f] %s\n", runner_now(run), msg);
	fflush(out);
	return 0;
}

/*
 * The body of sandbox_new, run protected: opening a library allocates, and an
 * allocation that fails must give an error, not abort through the panic
 * handler. Arguments: the seed (an integer), the runner (a light userdata).
 */
static int sandbox_setup(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },	       { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table },     { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },     { LUA_COLIBNAME, luaopen_coroutine },
	};
	static const char *const removed[] = { "dofile", "loadfile", "load", "require",
					       "collectgarbage", NULL };
	lua_Integer seed = lua_tointeger(L, 1);
	struct sandbox *sb = lua_newuserdatauv(L, sizeof *sb, 0);
	memset(sb, 0, sizeof *sb);
	sb->run = lua_touserdata(L, 2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &sandbox_key);

	for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
		luaL_requiref(L, libs[i].name, libs[i].func, 1);
		lua_pop(L, 1);
	}
	for (size_t i = 0; removed[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, removed[i]);
	}
	lua_pushcfunction(L, sandbox_print);
	lua_setglobal(L, "print");

	/* math.random from the run's seed; the script cannot reseed it. */
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, "dnschaos.randomseed"); /* for scenario{seed} */
	lua_pushinteger(L, seed);
	lua_call(L, 1, 0);
	lua_pushnil(L);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
	return 0;
}

lua_State *sandbox_new(struct runner *run, uint64_t seed)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return NULL;
	/* lua_pushcfunction and lua_pushinteger do not allocate; lua_pushlightuserdata neither. */
	lua_pushcfunction(L, sandbox_setup);
	lua_pushinteger(L, (lua_Integer)seed);
	lua_pushlightuserdata(L, run);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		lua_close(L);
		return NULL;
	}
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
	return L;
}

int sandbox_run_file(lua_State *L, const char *path, char *err, size_t errlen)
{
	int rc = -1;
	lua_pushcfunction(L, sandbox_traceback);
	int handler = lua_gettop(L);
	if (luaL_loadfilex(L, path, "t") != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		goto out;
	}
	struct sandbox_deadline outer = sandbox_enter(L, 10.0);
	int st = lua_pcall(L, 0, 0, handler);
	sandbox_leave(L, outer);
	if (st != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		goto out;
	}
	rc = 0;
out:
	lua_settop(L, handler - 1);
	return rc;
}
