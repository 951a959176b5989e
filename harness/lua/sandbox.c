/*
 * sandbox.c - the restricted Lua environment scenarios run in, with a
 * traceback message handler and a deadline hook that a runaway script
 * cannot swallow.
 */
#include "harness/lua/bind.h"
#include "fakeresolver/clock.h"
#include "harness/record/history.h"
#include "harness/runner.h"

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
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
	return old;
}

void sandbox_leave(lua_State *L, struct sandbox_deadline old)
{
	struct sandbox *sb = sandbox_of(L);
	sb->deadline = old.at;
	sb->limit = old.limit;
	lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

int sandbox_traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
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

lua_State *sandbox_new(struct runner *run, uint64_t seed)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },	       { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table },     { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },     { LUA_COLIBNAME, luaopen_coroutine },
	};
	static const char *const removed[] = { "dofile", "loadfile", "load", "require",
					       "collectgarbage", NULL };
	lua_State *L = luaL_newstate();
	if (!L)
		return NULL;
	struct sandbox *sb = lua_newuserdatauv(L, sizeof *sb, 0);
	memset(sb, 0, sizeof *sb);
	sb->run = run;
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
	lua_pushinteger(L, (lua_Integer)seed);
	lua_call(L, 1, 0);
	lua_pushnil(L);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);

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
