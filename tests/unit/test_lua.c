/*
 * test_lua.c - the Lua binding layer (harness/lua): option tables (the
 * closest key, every type and range message), the sandbox (what a scenario
 * can reach, math.random from the seed, the deadline hook), scenario files
 * the runner refuses at their file:line, and a few short runs on loopback for
 * the timeline's semantics (events, declared actions, s:every, print).
 *
 * Bad parameters first, then behaviour. Runs use 127.0.0.10+ with ports the
 * kernel picks, so they never collide with another test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/lua/bind.h"
#include "harness/record/checker.h"
#include "harness/runner.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must name scenarios/zones"
#endif

#define V1 ZONE_DIR "/internal.v1.zone"
#define V2 ZONE_DIR "/internal.v2.zone"

/* ---- helpers ---- */

static char tmpdir[64];

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs code as a chunk named "t" (so errors read "t:LINE: ..."). Returns NULL
 * if it ran, else its error message (valid until the next call).
 */
static const char *run_chunk(lua_State *L, const char *code)
{
	static char msg[2048];
	if (luaL_loadbuffer(L, code, strlen(code), "=t") == LUA_OK &&
	    lua_pcall(L, 0, 0, 0) == LUA_OK)
		return NULL;
	snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(no message)");
	lua_pop(L, 1);
	return msg;
}

static void expect_ok(lua_State *L, const char *code)
{
	const char *err = run_chunk(L, code);
	if (err)
		fail_msg("failed: %s\n  in: %.300s", err, code);
}

static void expect_error(lua_State *L, const char *code, const char *want)
{
	const char *err = run_chunk(L, code);
	if (!err)
		fail_msg("%s\n  ran, expected: %s", code, want);
	if (strcmp(err, want) != 0)
		fail_msg("%s\n  got:  %s\n  want: %s", code, err, want);
}

static double global_number(lua_State *L, const char *name)
{
	lua_getglobal(L, name);
	assert_true(lua_isnumber(L, -1));
	double v = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return v;
}

static void expect_global_string(lua_State *L, const char *name, const char *want)
{
	lua_getglobal(L, name);
	assert_int_equal(lua_type(L, -1), LUA_TSTRING);
	assert_string_equal(lua_tostring(L, -1), want);
	lua_pop(L, 1);
}

/* Writes a scenario file into the test's folder; path gets its path. */
static void write_file(const char *name, const char *text, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated; caller frees. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static size_t count_substr(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * Loads a scenario (setup code only) written from text. Returns the outcome;
 * the error goes to err. The runner is destroyed unless out is non-NULL.
 */
static enum runner_outcome load_text(const char *name, const char *text, char *err, size_t cap,
				     const struct runner_options *base, struct runner **out)
{
	static char path[256]; /* the runner borrows it for its whole life */
	char cerr[256];
	struct runner_options o;
	memset(&o, 0, sizeof o);
	if (base)
		o = *base;
	write_file(name, text, path, sizeof path);
	o.scenario = path;
	struct runner *r = runner_create(&o, cerr, sizeof cerr);
	if (!r)
		fail_msg("runner_create: %s", cerr);
	enum runner_outcome oc = runner_load(r);
	snprintf(err, cap, "%s", runner_error(r));
	if (out)
		*out = r;
	else
		runner_destroy(r);
	return oc;
}

/* Loads text, which must be refused as bad input with want in its message. */
static void expect_refused(const char *name, const char *text, const char *want)
{
	char err[8192];
	enum runner_outcome oc = load_text(name, text, err, sizeof err, NULL, NULL);
	if (oc != RUNNER_BAD_INPUT)
		fail_msg("%s: outcome %d, expected bad input with: %s", name, (int)oc, want);
	if (!strstr(err, want))
		fail_msg("%s:\n  got:  %s\n  want: %s", name, err, want);
}

/* Loads and plays text; returns the outcome, the error in err. */
static enum runner_outcome run_text(const char *name, const char *text, const char *history,
				    char *err, size_t cap)
{
	struct runner_options o;
	struct runner *r = NULL;
	memset(&o, 0, sizeof o);
	o.history = history;
	enum runner_outcome oc = load_text(name, text, err, cap, &o, &r);
	if (oc == RUNNER_COMPLETED) {
		oc = runner_run(r);
		snprintf(err, cap, "%s", runner_error(r));
	}
	runner_destroy(r);
	return oc;
}

static void expect_completes(const char *name, const char *text)
{
	char err[8192];
	enum runner_outcome oc = run_text(name, text, NULL, err, sizeof err);
	if (oc != RUNNER_COMPLETED)
		fail_msg("%s: outcome %d: %s", name, (int)oc, err);
}

static int group_setup(void **state)
{
	(void)state;
	const char *dir = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_lua.XXXXXX", dir && strlen(dir) < 30 ? dir : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- opts: the closest key ---- */

static void test_opts_closest(void **state)
{
	static const char *const keys[] = { "name", "duration", "seed", "transport", "timeout",
					    NULL };
	static const char *const tie[] = { "ax", "ay", NULL };
	static const char *const rcodes[] = { "SERVFAIL", "REFUSED", "NXDOMAIN", NULL };
	(void)state;
	assert_string_equal(opts_closest("nmae", keys), "name");         /* transposition */
	assert_string_equal(opts_closest("durations", keys), "duration"); /* one extra */
	assert_string_equal(opts_closest("sed", keys), "seed");           /* one missing */
	assert_string_equal(opts_closest("transprt", keys), "transport");
	assert_string_equal(opts_closest("timeuot", keys), "timeout");
	assert_string_equal(opts_closest("Name", keys), "name");          /* case counts as 1 */
	assert_string_equal(opts_closest("timeout", keys), "timeout");    /* exact */
	assert_string_equal(opts_closest("", keys), "name");              /* shortest wins */
	assert_string_equal(opts_closest("ab", tie), "ax");               /* a tie: the first */
	assert_string_equal(opts_closest("SERVFIAL", rcodes), "SERVFAIL");
	assert_string_equal(opts_closest("NXDOMIAN", rcodes), "NXDOMAIN");
	/* A word longer than the table's rows still gets an answer. */
	char longw[100];
	memset(longw, 'x', sizeof longw - 1);
	longw[sizeof longw - 1] = 0;
	assert_non_null(opts_closest(longw, keys));
}

/* ---- opts: the checks, as C closures on a bare state ---- */

static const char *const test_keys[] = { "name", "duration", "mode", "flag", "thing", NULL };
static const char *const test_modes[] = { "udp", "tcp", "any", NULL };

/* check(t): opts_check, optional per upvalue 1. */
static int l_check(lua_State *L)
{
	opts_check(L, 1, "thing", test_keys, lua_toboolean(L, lua_upvalueindex(1)));
	return 0;
}

/* number(t): the duration in [0.5, 100], default 10. */
static int l_number(lua_State *L)
{
	lua_pushnumber(L, opts_number(L, 1, "duration", 10, 0.5, 100, "thing"));
	return 1;
}

/* string(t): the name; required when upvalue 1 is nil, else its default. */
static int l_string(lua_State *L)
{
	const char *def = lua_tostring(L, lua_upvalueindex(1));
	lua_pushstring(L, opts_string(L, 1, "name", def, "thing"));
	return 1;
}

/* enum(t): the mode's index, default upvalue 1 (-1: required). */
static int l_enum(lua_State *L)
{
	lua_pushinteger(L, opts_enum(L, 1, "mode", test_modes,
				     (int)lua_tointeger(L, lua_upvalueindex(1)), "thing"));
	return 1;
}

static int l_bool(lua_State *L)
{
	lua_pushboolean(L, opts_bool(L, 1, "flag", true, "thing"));
	return 1;
}

/* udata(t): true if 'thing' is a dnschaos.widget, false if absent. */
static int l_udata(lua_State *L)
{
	lua_pushboolean(L, opts_udata(L, 1, "thing", "dnschaos.widget", "thing") != NULL);
	return 1;
}

/* new_widget() / new_gadget(): userdata of two named types. */
static int l_new(lua_State *L)
{
	lua_newuserdatauv(L, 1, 0);
	luaL_setmetatable(L, lua_tostring(L, lua_upvalueindex(1)));
	return 1;
}

static void reg(lua_State *L, const char *name, lua_CFunction fn, int nup)
{
	lua_pushcclosure(L, fn, nup);
	lua_setglobal(L, name);
}

static int opts_setup(void **state)
{
	lua_State *L = luaL_newstate(); /* bare: no libraries, only our closures */
	if (!L)
		return -1;
	lua_pushboolean(L, 0);
	reg(L, "check", l_check, 1);
	lua_pushboolean(L, 1);
	reg(L, "check_optional", l_check, 1);
	reg(L, "number", l_number, 0);
	lua_pushnil(L);
	reg(L, "required_string", l_string, 1);
	lua_pushliteral(L, "anon");
	reg(L, "string", l_string, 1);
	lua_pushinteger(L, -1);
	reg(L, "required_enum", l_enum, 1);
	lua_pushinteger(L, 2);
	reg(L, "enum", l_enum, 1);
	reg(L, "bool", l_bool, 0);
	reg(L, "udata", l_udata, 0);
	luaL_newmetatable(L, "dnschaos.widget");
	lua_pushliteral(L, "widget");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	luaL_newmetatable(L, "dnschaos.gadget");
	lua_pushliteral(L, "gadget");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	lua_pushliteral(L, "dnschaos.widget");
	reg(L, "new_widget", l_new, 1);
	lua_pushliteral(L, "dnschaos.gadget");
	reg(L, "new_gadget", l_new, 1);
	*state = L;
	return 0;
}

static int opts_teardown(void **state)
{
	lua_close(*state);
	return 0;
}

static void test_opts_check(void **state)
{
	lua_State *L = *state;
	expect_error(L, "check{ nmae = 'x' }", "t:1: thing: unknown option 'nmae' (did you mean 'name'?)");
	expect_error(L, "check{ name = 'x', durations = 1 }",
		     "t:1: thing: unknown option 'durations' (did you mean 'duration'?)");
	expect_error(L, "check{ 'positional' }",
		     "t:1: thing: option names must be strings (got a number key)");
	expect_error(L, "check()", "t:1: thing: expects a table of options");
	expect_error(L, "check(5)", "t:1: thing: expects a table of options, got number");
	expect_error(L, "check_optional('x')", "t:1: thing: expects a table of options, got string");
	/* The message names the line the call is on. */
	expect_error(L, "local a = 1\n\ncheck{ mdoe = 'udp' }",
		     "t:3: thing: unknown option 'mdoe' (did you mean 'mode'?)");
	expect_ok(L, "check{}");
	expect_ok(L, "check{ name = 'x', duration = 1, mode = 'udp', flag = true, thing = 1 }");
	expect_ok(L, "check_optional()");
	expect_ok(L, "check_optional(nil)");
}

static void test_opts_number(void **state)
{
	lua_State *L = *state;
	expect_error(L, "number{ duration = 'ten' }", "t:1: thing: 'duration' must be a number, got string");
	expect_error(L, "number{ duration = true }", "t:1: thing: 'duration' must be a number, got boolean");
	expect_error(L, "number{ duration = 0.25 }",
		     "t:1: thing: 'duration' must be between 0.5 and 100.0 (got 0.25)");
	expect_error(L, "number{ duration = 101 }",
		     "t:1: thing: 'duration' must be between 0.5 and 100.0 (got 101.0)");
	/* NaN is out of every range (printed as nan or -nan, by the C library). */
	const char *nan = run_chunk(L, "number{ duration = 0/0 }");
	assert_non_null(nan);
	assert_non_null(strstr(nan, "t:1: thing: 'duration' must be between 0.5 and 100.0 (got "));
	assert_non_null(strstr(nan, "nan)"));
	/* A numeric string is not a number: no silent coercion. */
	expect_error(L, "number{ duration = '5' }", "t:1: thing: 'duration' must be a number, got string");
	expect_ok(L, "got = number{}");
	assert_true(global_number(L, "got") == 10);
	expect_ok(L, "got = number()");
	assert_true(global_number(L, "got") == 10);
	expect_ok(L, "got = number{ duration = 0.5 }");
	assert_true(global_number(L, "got") == 0.5);
	expect_ok(L, "got = number{ duration = 100 }");
	assert_true(global_number(L, "got") == 100);
}

static void test_opts_string(void **state)
{
	lua_State *L = *state;
	expect_error(L, "required_string{}", "t:1: thing: option 'name' is required");
	expect_error(L, "required_string()", "t:1: thing: option 'name' is required");
	expect_error(L, "string{ name = 5 }", "t:1: thing: 'name' must be a string, got number");
	expect_error(L, "string{ name = {} }", "t:1: thing: 'name' must be a string, got table");
	expect_ok(L, "got = string{}");
	expect_global_string(L, "got", "anon");
	expect_ok(L, "got = required_string{ name = 'r1' }");
	expect_global_string(L, "got", "r1");
}

static void test_opts_enum(void **state)
{
	lua_State *L = *state;
	expect_error(L, "enum{ mode = 'tpc' }",
		     "t:1: thing: 'mode' must be one of udp, tcp, any (got 'tpc'; did you mean 'tcp'?)");
	expect_error(L, "enum{ mode = 'UDP' }",
		     "t:1: thing: 'mode' must be one of udp, tcp, any (got 'UDP'; did you mean 'udp'?)");
	expect_error(L, "enum{ mode = 1 }", "t:1: thing: 'mode' must be a string, got number");
	expect_error(L, "required_enum{}", "t:1: thing: option 'mode' is required");
	expect_ok(L, "got = enum{}");
	assert_true(global_number(L, "got") == 2);
	expect_ok(L, "got = enum{ mode = 'udp' }");
	assert_true(global_number(L, "got") == 0);
	expect_ok(L, "got = required_enum{ mode = 'tcp' }");
	assert_true(global_number(L, "got") == 1);
}

static void test_opts_bool_udata(void **state)
{
	lua_State *L = *state;
	expect_error(L, "bool{ flag = 1 }", "t:1: thing: 'flag' must be true or false, got number");
	expect_error(L, "bool{ flag = 'yes' }", "t:1: thing: 'flag' must be true or false, got string");
	expect_ok(L, "a, b, c = bool{}, bool{ flag = false }, bool{ flag = true }");
	lua_getglobal(L, "a");
	lua_getglobal(L, "b");
	lua_getglobal(L, "c");
	assert_true(lua_toboolean(L, -3) && !lua_toboolean(L, -2) && lua_toboolean(L, -1));
	lua_pop(L, 3);

	/* A userdata of another type is named by its __name, not "userdata". */
	expect_error(L, "udata{ thing = new_gadget() }", "t:1: thing: 'thing' must be a widget, got gadget");
	expect_error(L, "udata{ thing = {} }", "t:1: thing: 'thing' must be a widget, got table");
	expect_error(L, "udata{ thing = 'w' }", "t:1: thing: 'thing' must be a widget, got string");
	expect_ok(L, "a, b = udata{ thing = new_widget() }, udata{}");
	lua_getglobal(L, "a");
	lua_getglobal(L, "b");
	assert_true(lua_toboolean(L, -2) && !lua_toboolean(L, -1));
	lua_pop(L, 2);
}

/* ---- the sandbox ---- */

struct sandbox_fixture {
	struct runner *run;
};

static int sandbox_setup(void **state)
{
	static struct sandbox_fixture fx;
	struct runner_options o;
	char err[256];
	memset(&o, 0, sizeof o);
	o.scenario = "/nonexistent/dummy.lua"; /* never read: the sandbox only needs a runner */
	fx.run = runner_create(&o, err, sizeof err);
	if (!fx.run)
		return -1;
	*state = &fx;
	return 0;
}

static int sandbox_teardown(void **state)
{
	struct sandbox_fixture *fx = *state;
	runner_destroy(fx->run);
	return 0;
}

static void test_sandbox_environment(void **state)
{
	struct sandbox_fixture *fx = *state;
	static const char *const absent[] = { "os", "io", "require", "load", "dofile", "loadfile",
					      "collectgarbage", "debug", "package", NULL };
	static const char *const tables[] = { "string", "table", "math", "utf8", "coroutine", NULL };
	static const char *const functions[] = { "print", "pcall", "error", "assert", "ipairs",
						 "pairs", "tostring", "tonumber", "type",
						 "setmetatable", "select", NULL };
	lua_State *L = sandbox_new(fx->run, 1);
	assert_non_null(L);
	for (size_t i = 0; absent[i]; i++) {
		if (lua_getglobal(L, absent[i]) != LUA_TNIL)
			fail_msg("global '%s' must be absent from the sandbox", absent[i]);
		lua_pop(L, 1);
	}
	for (size_t i = 0; tables[i]; i++) {
		if (lua_getglobal(L, tables[i]) != LUA_TTABLE)
			fail_msg("library '%s' must be in the sandbox", tables[i]);
		lua_pop(L, 1);
	}
	for (size_t i = 0; functions[i]; i++) {
		if (lua_getglobal(L, functions[i]) != LUA_TFUNCTION)
			fail_msg("base function '%s' must be in the sandbox", functions[i]);
		lua_pop(L, 1);
	}
	/* math.randomseed is gone, math.random is there. */
	expect_ok(L, "assert(math.randomseed == nil and type(math.random) == 'function')");
	/* The libraries work. */
	expect_ok(L, "assert(string.format('%d', 42) == '42' and utf8.char(72) == 'H')");
	expect_ok(L, "local co = coroutine.wrap(function() coroutine.yield(1) end) assert(co() == 1)");
	expect_ok(L, "local t = {3, 1, 2} table.sort(t) assert(t[1] == 1 and math.max(1, 5) == 5)");
	/* And the removed ones fail as a scenario author sees it. */
	expect_error(L, "os.exit(1)", "t:1: attempt to index a nil value (global 'os')");
	expect_error(L, "require('io')", "t:1: attempt to call a nil value (global 'require')");
	expect_error(L, "math.randomseed(1)", "t:1: attempt to call a nil value (field 'randomseed')");
	/* print works outside a run: stdout only, no history. */
	expect_ok(L, "print('sandbox print', 1, nil, true)");
	lua_close(L);
}

/* The first three math.random values of a new sandbox with seed. */
static void random_values(struct runner *run, uint64_t seed, double out[3])
{
	lua_State *L = sandbox_new(run, seed);
	assert_non_null(L);
	expect_ok(L, "a, b, c = math.random(1, 1000000000), math.random(), math.random(6)");
	out[0] = global_number(L, "a");
	out[1] = global_number(L, "b");
	out[2] = global_number(L, "c");
	lua_close(L);
}

static void test_sandbox_random_seeded(void **state)
{
	struct sandbox_fixture *fx = *state;
	double a[3], b[3], c[3];
	random_values(fx->run, 7, a);
	random_values(fx->run, 7, b);
	random_values(fx->run, 8, c);
	assert_memory_equal(a, b, sizeof a);
	/* Another seed, another sequence (the first draw in a billion differs). */
	assert_true(a[0] != c[0] && a[1] != c[1]);
}

/* Runs code under a 0.2 s deadline; it must be stopped by the hook within 3 s. */
static void expect_stopped(lua_State *L, const char *code)
{
	double t0 = mono();
	sandbox_set_deadline(L, 0.2);
	const char *err = run_chunk(L, code);
	double took = mono() - t0;
	sandbox_set_deadline(L, 0);
	if (!err)
		fail_msg("%s: ran to its end", code);
	if (!strstr(err, "scenario code ran for more than 0.2 s without returning or waiting"))
		fail_msg("%s: stopped by something else: %s", code, err);
	assert_true(took >= 0.15);
	if (took >= 3.0)
		fail_msg("%s: stopped only after %.2f s", code, took);
}

static void test_sandbox_deadline(void **state)
{
	struct sandbox_fixture *fx = *state;
	lua_State *L = sandbox_new(fx->run, 1);
	assert_non_null(L);
	expect_stopped(L, "while true do end");
	/* The error names the line the loop is on. */
	expect_stopped(L, "local x = 0\nwhile true do x = x + 1 end");
	expect_ok(L, "x = 1");
	/* A pcall that swallows the error does not save the loop: every later check raises. */
	expect_stopped(L, "while true do pcall(function() while true do end end) end");
	expect_stopped(L, "for i = 1, math.huge do local ok, e = pcall(error, 'x') end");
	/* Nor does running it in a coroutine (threads inherit the hook). */
	expect_stopped(L, "coroutine.wrap(function() while true do end end)()");
	expect_stopped(L, "while true do pcall(coroutine.wrap(function() while true do end end)) end");
	/* Once the deadline is cleared, code runs normally again. */
	expect_ok(L, "local n = 0 for i = 1, 100000 do n = n + i end assert(n == 5000050000)");
	lua_close(L);
}

static void test_sandbox_deadline_nested(void **state)
{
	struct sandbox_fixture *fx = *state;
	lua_State *L = sandbox_new(fx->run, 1);
	assert_non_null(L);
	/* A nested call (a farm event inside a callback) keeps the outer deadline. */
	struct sandbox_deadline outer = sandbox_enter(L, 0.2);
	struct sandbox_deadline inner = sandbox_enter(L, 10);
	expect_ok(L, "x = 1");
	sandbox_leave(L, inner);
	double t0 = mono();
	const char *err = run_chunk(L, "while true do end");
	sandbox_leave(L, outer);
	assert_non_null(err);
	assert_non_null(strstr(err, "ran for more than 0.2 s"));
	assert_true(mono() - t0 < 3.0);
	/* Left: no deadline. */
	expect_ok(L, "local n = 0 for i = 1, 100000 do n = n + 1 end");
	lua_close(L);
}

/* ---- the runner refuses bad scenario files at their line ---- */

static void test_load_no_scenario(void **state)
{
	(void)state;
	expect_refused("none.lua", "local x = 1\n",
		       "none.lua: the file never calls scenario{ name = ..., duration = ... }");
	expect_refused("twice.lua",
		       "local s = scenario{ name = 'a' }\nlocal t = scenario{ name = 'b' }\n",
		       "twice.lua:2: scenario{} may be called once per file");
	expect_refused("noname.lua", "scenario{ duration = 1 }\n",
		       "noname.lua:1: scenario: option 'name' is required");
	expect_refused("notable.lua", "scenario('x')\n",
		       "notable.lua:1: scenario: expects a table of options, got string");
	expect_refused("syntax.lua", "local s = scenario{ name = 'x' }\nlocal = 1\n", "syntax.lua:2:");

	char err[512];
	struct runner_options o;
	memset(&o, 0, sizeof o);
	o.scenario = "/nonexistent/missing.lua";
	struct runner *r = runner_create(&o, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(runner_load(r), RUNNER_BAD_INPUT);
	assert_non_null(strstr(runner_error(r), "cannot open /nonexistent/missing.lua"));
	runner_destroy(r);
}

static void test_load_unknown_keys(void **state)
{
	(void)state;
	expect_refused("skey.lua", "local s = scenario{ name = 'x', durations = 1 }\n",
		       "skey.lua:1: scenario: unknown option 'durations' (did you mean 'duration'?)");
	expect_refused("rkey.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "s:resolver{ name = 'r1', bot = 'file', file = '" V2 "' }\n",
		       "rkey.lua:2: resolver: unknown option 'bot' (did you mean 'boot'?)");
	expect_refused("rtype.lua", "local s = scenario{ name = 'x', duration = 'ten' }\n",
		       "rtype.lua:1: scenario: 'duration' must be a number, got string");
	expect_refused("range.lua", "local s = scenario{ name = 'x', duration = 0.01 }\n",
		       "range.lua:1: scenario: 'duration' must be between 0.1 and 604800.0 (got 0.01)");
	expect_refused("seed.lua", "local s = scenario{ name = 'x', seed = 1.5 }\n",
		       "seed.lua:1: scenario: 'seed' must be a whole number (got 1.5)");
	expect_refused("method.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "local r = s:resolver{ name = 'r1', file = '" V2 "' }\n"
		       "r:hnag{}\n",
		       "method.lua:3: resolver has no field or method 'hnag' (did you mean 'hang'?)");
	expect_refused("event.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "local r = s:resolver{ name = 'r1', file = '" V2 "' }\n"
		       "s:on(r, 'boot', function() end)\n",
		       "event.lua:3: s:on: unknown event 'boot' (did you mean 'booted'?");
	/* A wrong object where a zone goes is named, not "bad argument #-2". */
	expect_refused("zonetype.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "local src = s:zone_source{ file = '" V2 "' }\n"
		       "s:resolver{ name = 'r1', zone = src }\n",
		       "zonetype.lua:3: resolver: 'zone' must be a zone, got zone_source");
	expect_refused("closed.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "local z\n"
		       "do local c <close> = s:zone('" V2 "') z = c end\n"
		       "s:zone_source{ zone = z }\n",
		       "closed.lua:4: zone_source: 'zone' was used after it was closed");
}

static void test_load_duplicates(void **state)
{
	(void)state;
	expect_refused("dupname.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "s:resolver{ name = 'r1', file = '" V2 "' }\n"
		       "s:resolver{ name = 'r1', file = '" V2 "' }\n",
		       "dupname.lua:3: resolver: the name 'r1' is already taken");
	/* Resolvers and zone sources share one namespace. */
	expect_refused("dupkind.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "s:resolver{ name = 'truth', file = '" V2 "' }\n"
		       "s:zone_source{ name = 'truth', file = '" V2 "' }\n",
		       "dupkind.lua:3: zone_source: the name 'truth' is already taken");
	expect_refused("dupaddr.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "s:resolver{ name = 'r1', address = '127.0.0.77', file = '" V2 "' }\n"
		       "s:resolver{ name = 'r2', address = '127.0.0.77', file = '" V2 "' }\n",
		       "dupaddr.lua:3: resolver: address 127.0.0.77 is already used by another object");
	expect_refused("offbox.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "s:resolver{ name = 'r1', address = '10.0.0.1', file = '" V2 "' }\n",
		       "offbox.lua:2: resolver: address 10.0.0.1 is not on loopback");
}

/* Loads text with opts, which must be refused as bad input with want in its message. */
static void expect_refused_with(const char *name, const char *text,
                                const struct runner_options *opts, const char *want)
{
	char err[8192];
	enum runner_outcome oc = load_text(name, text, err, sizeof err, opts, NULL);
	if (oc != RUNNER_BAD_INPUT)
		fail_msg("%s: outcome %d, expected bad input with: %s", name, (int)oc, want);
	if (!strstr(err, want))
		fail_msg("%s:\n  got:  %s\n  want: %s", name, err, want);
}

static void expect_loads_with(const char *name, const char *text, const struct runner_options *opts)
{
	char err[8192];
	enum runner_outcome oc = load_text(name, text, err, sizeof err, opts, NULL);
	if (oc != RUNNER_COMPLETED)
		fail_msg("%s: outcome %d: %s", name, (int)oc, err);
}

#define FAR_REMOTE                                                                                 \
	"local s = scenario{ name = 'x' }\n"                                                       \
	"local a = s:remote{ name = 'ra', address = '10.253.0.2:5301', control = "                 \
	"'10.253.0.2:7001', token_file = 'far.token' }\n"

/*
 * A remote daemon on another host: refused without --allow-non-loopback
 * (its DNS address, or its control alone), loaded with it, and everything
 * that is not a remote stays on loopback. Only loaded: nothing is sent.
 */
static void test_load_non_loopback(void **state)
{
	(void)state;
	char tok[256];
	write_file("far.token", "far-token-0123456789abcdef0123456789\n", tok, sizeof tok);
	assert_int_equal(chmod(tok, 0600), 0);
	struct runner_options allow, check;
	memset(&allow, 0, sizeof allow);
	allow.allow_non_loopback = true;
	memset(&check, 0, sizeof check);
	check.describe_only = true;

	expect_refused("far.lua", FAR_REMOTE,
	               "far.lua:2: remote 'ra': address 10.253.0.2:5301 is not a loopback address: "
	               "dnschaos sends nothing off loopback unless told so: run with "
	               "--allow-non-loopback");
	expect_refused(
	        "farctl.lua",
	        "local s = scenario{ name = 'x' }\n"
	        "s:remote{ name = 'ra', address = '127.0.0.1:5301', control = "
	        "'10.253.0.2:7001', token_file = 'far.token' }\n",
	        "farctl.lua:2: remote 'ra': control 10.253.0.2:7001 is not a loopback address");
	/* dnschaos check judges its history anywhere: nothing is sent. */
	expect_loads_with("farcheck.lua", FAR_REMOTE, &check);

	expect_loads_with(
	        "farok.lua",
	        FAR_REMOTE
	        "local vip = s:vip{ backends = { a, s:resolver{ name = 'r1', file = '" V2
	        "' } }, health = { check = 'alive' } }\n"
	        "s:client{ name = 'direct', stack = 'c-ares', target = a, names = 'x.internal', "
	        "rate = 1 }\n"
	        "s:client{ name = 'direct2', stack = 'ldns', target = a, names = 'x.internal', "
	        "rate = 1, source = false }\n"
	        "s:client{ name = 'glibc', stack = 'glibc', target = a, names = 'x.internal', "
	        "rate = 1 }\n"
	        "s:client{ name = 'via', stack = 'c-ares', target = vip, names = 'x.internal', "
	        "rate = 1 }\n",
	        &allow);
	expect_refused_with(
	        "farsrc.lua",
	        FAR_REMOTE "s:client{ name = 'app', stack = 'c-ares', target = a, "
	                   "names = 'x.internal', rate = 1, source = '127.0.100.9' }\n",
	        &allow,
	        "farsrc.lua:3: client app: source 127.0.100.9 is a loopback address, and "
	        "target 10.253.0.2:5301 is on another host");
	expect_refused_with(
	        "farsrc2.lua",
	        FAR_REMOTE "local r1 = s:resolver{ name = 'r1', file = '" V2 "' }\n"
	                   "s:client{ name = 'app', stack = 'c-ares', target = { r1, a }, "
	                   "names = 'x.internal', rate = 1, source = true }\n",
	        &allow,
	        "farsrc2.lua:4: client app: source = true binds a 127.0.100.x address, and "
	        "target 10.253.0.2:5301 is on another host");
	expect_refused_with("farnft.lua",
	                    FAR_REMOTE "s:vip{ kind = 'nftables', backends = { a } }\n", &allow,
	                    "farnft.lua:3: vip: kind = 'nftables' DNATs the clients' packets");
	expect_refused_with("fardd.lua", FAR_REMOTE "s:vip{ kind = 'dnsdist', backends = { a } }\n",
	                    &allow,
	                    "fardd.lua:3: vip: kind = 'dnsdist' is not built for daemons on other "
	                    "hosts, and backend ra (10.253.0.2:5301) is one");
	/* What is not a remote daemon stays on loopback, flag or not. */
	expect_refused_with("farlit.lua",
	                    "local s = scenario{ name = 'x' }\n"
	                    "s:client{ name = 'app', stack = 'c-ares', target = '10.253.0.2:5301', "
	                    "names = 'x.internal', rate = 1 }\n",
	                    &allow,
	                    "farlit.lua:2: client app: target 10.253.0.2:5301 is not a loopback");
	expect_refused_with("farres.lua",
	                    "local s = scenario{ name = 'x' }\n"
	                    "s:resolver{ name = 'r1', address = '10.253.0.2', file = '" V2 "' }\n",
	                    &allow,
	                    "farres.lua:2: resolver: address 10.253.0.2 is not on loopback");
	expect_refused_with("farvip.lua",
	                    "local s = scenario{ name = 'x' }\n"
	                    "s:vip{ backends = { { address = '10.253.0.2:53' } } }\n",
	                    &allow, "must be a loopback address with a port");
	unlink(tok);
}

static void test_load_timeline(void **state)
{
	(void)state;
	expect_refused("late.lua",
		       "local s = scenario{ name = 'x', duration = 10 }\n"
		       "s:at(15, function() end)\n",
		       "late.lua:2: s:at: time 15.0 is outside the run (0 to the duration, 10.0 s)");
	expect_refused("early.lua",
		       "local s = scenario{ name = 'x', duration = 10 }\n"
		       "s:at(-0.5, function() end)\n",
		       "early.lua:2: s:at: time -0.5 is outside the run (0 to the duration, 10.0 s)");
	expect_refused("everyto.lua",
		       "local s = scenario{ name = 'x', duration = 10 }\n"
		       "s:every(1, function() end, { to = 11 })\n",
		       "everyto.lua:2: s:every: 'to' must be between 1.0 and 10.0 (got 11.0)");
	expect_refused("everyint.lua",
		       "local s = scenario{ name = 'x', duration = 10 }\n"
		       "s:every(0, function() end)\n",
		       "everyint.lua:2: s:every: the interval must be at least 0.001 s (got 0.0)");
	expect_refused("sleep.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "s:sleep(1)\n",
		       "sleep.lua:2: s:sleep works only inside a timeline function");
	expect_refused("setupfault.lua",
		       "local s = scenario{ name = 'x' }\n"
		       "local r = s:resolver{ name = 'r1', file = '" V2 "' }\n"
		       "r:hang{}\n",
		       "setupfault.lua:3: r1:hang happens during the run: use s:at(t, r1, 'hang', {...})");
}

static void test_load_declared_actions(void **state)
{
	(void)state;
	static const char head[] = "local s = scenario{ name = 'x', duration = 5 }\n"
				   "local r = s:resolver{ name = 'r1', file = '" V2 "' }\n";
	char text[1024];

	snprintf(text, sizeof text, "%s%s", head, "s:at(0.5, r, 'hang', { fraction = 1.5 })\n");
	expect_refused("d_range.lua", text,
		       "d_range.lua:3: s:at(0.5, resolver r1, 'hang'): hang: 'fraction' must be "
		       "between 0.0 and 1.0 (got 1.5)");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, 'r1', 'delay', { ms = 5, fractoin = 0.5 })\n");
	expect_refused("d_key.lua", text,
		       "d_key.lua:3: s:at(1.0, resolver r1, 'delay'): delay: unknown option "
		       "'fractoin' (did you mean 'fraction'?)");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, r, 'delay', {})\n");
	expect_refused("d_req.lua", text,
		       "d_req.lua:3: s:at(1.0, resolver r1, 'delay'): delay: option 'ms' is required");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, r, 'rcode', { rcode = 'SERVFIAL' })\n");
	expect_refused("d_enum.lua", text,
		       "d_enum.lua:3: s:at(1.0, resolver r1, 'rcode'): rcode: 'rcode' must be one of "
		       "SERVFAIL, REFUSED, NXDOMAIN, FORMERR, NOTIMP (got 'SERVFIAL'; did you mean "
		       "'SERVFAIL'?)");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, r, 'hnag')\n");
	expect_refused("d_method.lua", text,
		       "d_method.lua:3: s:at(1.0, resolver r1, 'hnag'): resolver has no field or "
		       "method 'hnag' (did you mean 'hang'?)");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, 'r9', 'hang')\n");
	expect_refused("d_target.lua", text, "d_target.lua:3: unknown target 'r9' (known: r1)");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, r, 'crash', { down = -1 })\n");
	expect_refused("d_crash.lua", text,
		       "d_crash.lua:3: s:at(1.0, resolver r1, 'crash'): crash: 'down' must be between "
		       "0.0 and 604800.0 (got -1.0)");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, r, 'reload', { file = 'nope.zone' })\n");
	expect_refused("d_file.lua", text, "d_file.lua:3: s:at(1.0, resolver r1, 'reload'): ");
	snprintf(text, sizeof text, "%s%s", head, "s:at(1, r, 'hang', 'x')\n");
	expect_refused("d_opts.lua", text,
		       "d_opts.lua:3: s:at: the options (argument 5) must be a table, got string");
	/* Valid declared actions load, and declare nothing during setup. */
	snprintf(text, sizeof text, "%s%s", head,
		 "s:at(1, r, 'hang', { name = '*.internal', qtype = 'A', transport = 'udp', "
		 "fraction = 0.5, duration = 1 })\n"
		 "s:at(1, 'r1', 'capacity', { qps = 10 })\n"
		 "s:at(2, r, 'crash', { down = 1, file = '" V1 "' })\n"
		 "s:at(3, r, 'heal')\n"
		 "assert(r:state() == 'down' and r:serial() == nil)\n");
	char err[4096];
	if (load_text("d_ok.lua", text, err, sizeof err, NULL, NULL) != RUNNER_COMPLETED)
		fail_msg("valid declared actions refused: %s", err);
}

/* Zone files are read relative to the scenario's folder; the seed in force. */
static void test_load_paths_and_seed(void **state)
{
	(void)state;
	char path[256], err[4096], want[256];
	char *zone = slurp(V1);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/zones'", tmpdir);
	assert_int_equal(system(cmd), 0);
	write_file("zones/here.zone", zone, path, sizeof path);
	free(zone);

	struct runner *r = NULL;
	assert_int_equal(load_text("paths.lua",
				   "local s = scenario{ name = 'x', seed = 7 }\n"
				   "local z = s:zone('zones/here.zone')\n"
				   "file, serial, origin = z.file, z.serial, z.origin\n"
				   "seed, rnd = s.seed, math.random(1, 1000000000)\n",
				   err, sizeof err, NULL, &r),
			 RUNNER_COMPLETED);
	lua_State *L = runner_lua(r);
	snprintf(want, sizeof want, "%s/zones/here.zone", tmpdir);
	expect_global_string(L, "file", want);
	expect_global_string(L, "origin", "internal.");
	assert_true(global_number(L, "serial") == 2026110301);
	assert_true(global_number(L, "seed") == 7);
	double rnd7 = global_number(L, "rnd");
	assert_true(runner_seed(r) == 7);
	assert_true(scenario_has_seed(scenario_get(L)));
	runner_destroy(r);

	/* --seed wins over the scenario's seed, for math.random too. */
	struct runner_options o;
	memset(&o, 0, sizeof o);
	o.seed_set = true;
	o.seed = 9;
	assert_int_equal(load_text("paths9.lua",
				   "local s = scenario{ name = 'x', seed = 7 }\n"
				   "seed, rnd = s.seed, math.random(1, 1000000000)\n",
				   err, sizeof err, &o, &r),
			 RUNNER_COMPLETED);
	assert_true(global_number(runner_lua(r), "seed") == 9);
	double rnd9 = global_number(runner_lua(r), "rnd");
	assert_true(rnd9 != rnd7);
	runner_destroy(r);

	/* Without either, the seed is 1; the same seed gives the same numbers. */
	assert_int_equal(load_text("seed1.lua",
				   "local s = scenario{ name = 'x' }\n"
				   "seed, rnd = s.seed, math.random(1, 1000000000)\n",
				   err, sizeof err, NULL, &r),
			 RUNNER_COMPLETED);
	assert_true(global_number(runner_lua(r), "seed") == 1);
	assert_false(scenario_has_seed(scenario_get(runner_lua(r))));
	runner_destroy(r);
	o.seed = 7;
	assert_int_equal(load_text("seed7.lua",
				   "local s = scenario{ name = 'x' }\n"
				   "seed, rnd = s.seed, math.random(1, 1000000000)\n",
				   err, sizeof err, &o, &r),
			 RUNNER_COMPLETED);
	assert_true(global_number(runner_lua(r), "rnd") == rnd7);
	runner_destroy(r);
}

/* ---- short runs: the timeline's semantics ---- */

/* An event wakes each waiter once: a waiter that waits again waits for the next. */
static void test_run_wait_once(void **state)
{
	(void)state;
	expect_completes("wait_once.lua",
			 "local s = scenario{ name = 'wait once', duration = 1.6 }\n"
			 "local r = s:resolver{ name = 'r1', file = '" V1 "' }\n"
			 "local wakes = 0\n"
			 "s:at(0.1, function()\n"
			 "  while true do\n"
			 "    assert(s:wait(r, 'booted'))\n"
			 "    wakes = wakes + 1\n"
			 "    if wakes > 5 then error('woken ' .. wakes .. ' times') end\n"
			 "  end\n"
			 "end)\n"
			 "s:at(0.3, r, 'restart')\n"
			 "s:at(0.5, function() assert(wakes == 1, 'wakes: ' .. wakes) end)\n"
			 /* Woken by a boot, crash and wait again: not woken by the same boot. */
			 "s:at(0.6, function()\n"
			 "  r:crash{ down = 0.1 }\n"
			 "  assert(s:wait(r, 'booted', 1), 'no reboot')\n"
			 "  local t = s:now()\n"
			 "  r:crash{ down = 0.3 }\n"
			 "  local ok = s:wait(r, 'booted', 1)\n"
			 "  assert(ok and r:state() == 'up' and s:now() - t >= 0.25,\n"
			 "    string.format('woken early: %s %s %.3f', tostring(ok), r:state(), s:now() - t))\n"
			 "end)\n");
}

/* A listener that adds a listener: the new one hears the next event, not this one. */
static void test_run_listener_added_in_listener(void **state)
{
	(void)state;
	expect_completes("listeners.lua",
			 "local s = scenario{ name = 'listeners', duration = 0.8 }\n"
			 "local r = s:resolver{ name = 'r1', file = '" V1 "' }\n"
			 "local calls = 0\n"
			 "local function add(target, event)\n"
			 "  assert(target == r and event == 'booted')\n"
			 "  calls = calls + 1\n"
			 "  s:on(r, 'booted', add)\n"
			 "end\n"
			 "s:on(r, 'booted', add)\n"
			 "s:at(0.1, function() assert(calls == 1, 'at start: ' .. calls) end)\n"
			 "s:at(0.2, r, 'restart')\n"
			 "s:at(0.4, function() assert(calls == 3, 'after restart: ' .. calls) end)\n");
}

/* s:wait right after a file boot sees it: farm events reach Lua on the next turn. */
static void test_run_wait_after_sync_boot(void **state)
{
	(void)state;
	expect_completes("syncboot.lua",
			 "local s = scenario{ name = 'sync boot', duration = 1 }\n"
			 "local r = s:resolver{ name = 'r1', file = '" V1 "' }\n"
			 "s:at(0.1, function()\n"
			 "  r:restart{}\n"
			 "  assert(r:state() == 'up')\n"
			 "  assert(s:wait(r, 'booted', 0.2) == true) -- delivered on the next turn\n"
			 "end)\n");
}

/* A declared action that fails during the run names its declaration. */
static void test_run_declared_error_has_line(void **state)
{
	(void)state;
	char err[8192];
	enum runner_outcome oc = run_text("declfail.lua",
					  "local s = scenario{ name = 'declared', duration = 2 }\n"
					  "local r = s:resolver{ name = 'r1', file = '" V1 "' }\n"
					  "s:at(0.1, r, 'stop')\n"
					  "s:at(0.2, 'r1', 'reload', { file = '" V2 "' })\n",
					  NULL, err, sizeof err);
	assert_int_equal(oc, RUNNER_BAD_INPUT);
	if (!strstr(err, "declfail.lua:4: s:at(0.2, resolver r1, 'reload'): reload: r1 is down: "
			 "start it instead of reloading"))
		fail_msg("got: %s", err);
	assert_int_equal(runner_exit_code(oc), 3);
}

/* An error in a timeline function ends the run as bad input, at its line. */
static void test_run_timeline_error(void **state)
{
	(void)state;
	char err[8192];
	enum runner_outcome oc = run_text("tlerr.lua",
					  "local s = scenario{ name = 'err', duration = 2 }\n"
					  "s:at(0.1, function()\n"
					  "  error('boom')\n"
					  "end)\n",
					  NULL, err, sizeof err);
	assert_int_equal(oc, RUNNER_BAD_INPUT);
	assert_non_null(strstr(err, "tlerr.lua:3: boom"));
	assert_non_null(strstr(err, "stack traceback:"));
}

/* s:every stays on its grid, runs at 'to', and never at the duration; print is a log line. */
static void test_run_every_grid_and_print(void **state)
{
	(void)state;
	char hist[256], err[8192];
	snprintf(hist, sizeof hist, "%s/every.jsonl", tmpdir);
	enum runner_outcome oc = run_text(
		"every.lua",
		"local s = scenario{ name = 'every', duration = 1.5 }\n"
		"local ticks = {}\n"
		"s:every(0.2, function() ticks[#ticks + 1] = s:now() end, { from = 0.2, to = 1.0 })\n"
		"s:every(0.5, function() print('half') end)\n"
		"s:at(1.3, function()\n"
		"  assert(#ticks == 5, 'ticks: ' .. #ticks)\n"
		"  for i, t in ipairs(ticks) do\n"
		"    assert(math.abs(t - 0.2 * i) < 0.15, string.format('tick %d at %.4f', i, t))\n"
		"  end\n"
		"  print('done', #ticks, true)\n"
		"end)\n",
		hist, err, sizeof err);
	if (oc != RUNNER_COMPLETED)
		fail_msg("outcome %d: %s", (int)oc, err);
	char *h = slurp(hist);
	/* Default from = the interval, to = the duration: 0.5 and 1.0, none at 1.5. */
	assert_int_equal(count_substr(h, "\"type\":\"log\",\"message\":\"half\""), 2);
	assert_int_equal(count_substr(h, "\"type\":\"log\",\"message\":\"done\\t5\\ttrue\""), 1);
	free(h);
}

/* Who may pause a timeline function (docs/scenario-api.md, "Who may pause"). */
static void test_run_pause_rules(void **state)
{
	(void)state;
	/* pcall around s:sleep, coroutines of the scenario's own, and coroutine.close
	 * of a parked timeline function (which is then dropped, not woken). */
	expect_completes("pause_ok.lua",
			 "local s = scenario{ name = 'pause ok', duration = 1.5 }\n"
			 "local r = s:resolver{ name = 'r1', file = '" V1 "' }\n"
			 "local parked, closed = nil, false\n"
			 "s:at(0.1, function()\n"
			 "  parked = coroutine.running()\n"
			 "  local t <close> = setmetatable({}, { __close = function() closed = true end })\n"
			 "  s:sleep(0.5)\n"
			 "  error('a closed timeline function was woken')\n"
			 "end)\n"
			 "s:at(0.2, function()\n"
			 "  assert(coroutine.close(parked) and closed)\n"
			 "  assert(pcall(s.sleep, s, 0.05))\n"
			 "  local gen = coroutine.wrap(function() coroutine.yield('db-primary.internal') end)\n"
			 "  assert(s:query(r, gen()).rcode == 'NOERROR')\n"
			 "  done = true\n"
			 "end)\n"
			 "s:at(1, function() assert(done) end)\n");
	char err[8192];
	enum runner_outcome oc = run_text("pause_sort.lua",
					  "local s = scenario{ name = 'sort', duration = 1 }\n"
					  "s:at(0.1, function()\n"
					  "  table.sort({ 3, 2, 1 }, function(a, b) s:sleep(0.01) return a < b end)\n"
					  "end)\n",
					  NULL, err, sizeof err);
	assert_int_equal(oc, RUNNER_BAD_INPUT);
	if (!strstr(err, "pause_sort.lua:3: s:sleep cannot pause here"))
		fail_msg("got: %s", err);
	oc = run_text("pause_nested.lua",
		      "local s = scenario{ name = 'nested', duration = 1 }\n"
		      "local r = s:resolver{ name = 'r1', file = '" V1 "' }\n"
		      "s:at(0.1, function()\n"
		      "  coroutine.wrap(function() s:query(r, 'db-primary.internal') end)()\n"
		      "end)\n",
		      NULL, err, sizeof err);
	assert_int_equal(oc, RUNNER_BAD_INPUT);
	if (!strstr(err, "pause_nested.lua:4: s:query works only in the timeline function itself"))
		fail_msg("got: %s", err);
}

/* ---- hostile option tables: __index that makes fresh strings, finalizers that empty them ---- */

/* gc(): a full collection (the sandbox has no collectgarbage). */
static int l_gc(lua_State *L)
{
	lua_gc(L, LUA_GCCOLLECT);
	return 0;
}

/*
 * T(store [, raw]): an options table that holds nothing but raw (the
 * positional values some calls need). Every option is made by __index at
 * each read: a string written "~text" comes back as a fresh "text" (no
 * constant of the chunk holds it), after two full collections that free
 * whatever the C side did not anchor. The value is also left in the table,
 * and a finalizer that the next collection runs takes every string out of
 * it again: a pointer taken from the table dangles unless anchored.
 */
#define TORTURE_T                                                                            \
	"function T(store, raw)\n"                                                           \
	"  local p = raw or {}\n"                                                            \
	"  return setmetatable(p, { __index = function(t, k)\n"                              \
	"    if gc then gc() gc() end\n"                                                      \
	"    setmetatable({}, { __gc = function()\n"                                          \
	"      for k2, v2 in pairs(t) do if type(v2) == 'string' then rawset(t, k2, nil) end end\n" \
	"    end })\n"                                                                        \
	"    local v = store[k]\n"                                                            \
	"    if type(v) == 'string' and v:sub(1, 1) == '~' then v = v:sub(2) end\n"          \
	"    if v ~= nil then rawset(t, k, v) end\n"                                          \
	"    return v\n"                                                                      \
	"  end })\n"                                                                          \
	"end\n"

/* Every setup-time API function that takes a table, each given a hostile one. */
static void test_opts_torture_setup(void **state)
{
	struct sandbox_fixture *fx = *state;
	lua_State *L = sandbox_new(fx->run, 1);
	assert_non_null(L);
	scenario_open(L, fx->run);
	lua_pushcfunction(L, l_gc);
	lua_setglobal(L, "gc");
	expect_ok(L, TORTURE_T);
	expect_ok(L,
		  "s = scenario(T{ name = '~torture', duration = 5, seed = 3, grace = 0.5 })\n"
		  "z = s:zone('" V1 "')\n"
		  "src = s:zone_source(T{ name = '~truth', zone = z, address = '~127.0.0.61' })\n"
		  "r1 = s:resolver(T{ name = '~r1', file = '~" V1 "', address = '~127.0.0.62' })\n"
		  "r2 = s:resolver(T{ name = '~r2', boot = '~source', source = src,\n"
		  "  gate = T{ source = src, answer = '~refused', clients = true, reload = true } })\n"
		  "r3 = s:resolver(T{ name = '~r3', zones = { z }, address = '~127.0.0.64' })\n"
		  "v = s:vip(T{ name = '~vip1', address = '~127.0.0.65',\n"
		  "  backends = { r1, T{ resolver = r3, name = '~third', weight = 2 },\n"
		  "               T{ address = '~127.0.0.66:5300', name = '~fourth' } },\n"
		  "  policy = '~query', on_down = '~flush', on_refused = '~servfail', flow_idle = 5,\n"
		  "  health = T{ check = '~rcode', interval = 0.5, initial = '~up', zone = '~internal',\n"
		  "              name = '~db-primary.internal', qtype = '~A' } })\n"
		  "c = s:client(T{ name = '~app', stack = '~ldns', target = v,\n"
		  "  names = { 'db-primary.internal', T({ weight = 2 }, { 'api.internal' }) },\n"
		  "  qtype = '~AAAA', rate = 5, arrivals = '~constant', from = 1, to = 4,\n"
		  "  search = { 'internal' }, ndots = 1, source = '~127.0.100.77' })\n"
		  "s:client(T{ name = '~cmd', stack = '~exec', target = r1, rate = 1,\n"
		  "  names = 'db-primary.internal', command = { 'true', '{server}', '{port}' } })\n"
		  "s:expect(T({ at_least = 0.5 }, { 'ok', success_rate(T{ client = '~app', from = 1, to = 4 }) }))\n"
		  "s:expect(T({ at_most = 1 }, { 'p99', latency(T{ p = '~max', stack = '~ldns' }) }))\n"
		  "s:expect(T({ at_most = 1, baseline = true }, { 'p50', latency(T{ p = 50 }) }))\n"
		  "for _, m in ipairs{ stale_answers, wrong_answers, stale_stretch, goodput } do\n"
		  "  s:expect(T({ at_most = 1 }, { tostring(m), m(T{ client = c, from = 1 }) }))\n"
		  "end\n"
		  "for _, m in ipairs{ detection_time, failure_span, readmission, flaps } do\n"
		  "  s:expect(T({ at_most = 9 }, { tostring(m), m(T{ backend = '~r1', vip = '~vip1', to = 4 }) }))\n"
		  "end\n"
		  "s:expect(T({ at_most = 3 }, { 'amp', amplification(T{ cause = '~retry', client = '~app' }) }))\n"
		  "s:expect(T({ at_most = 90 }, { 'load', survivor_load(T{ resolver = '~r1', bucket = 0.5 }) }))\n"
		  "s:expect(T({ at_least = 0.9 }, { 'rec', recovery(T{ from = 2, fraction = 0.8,\n"
		  "  baseline = T{ from = 0, to = 1 } }) }))\n"
		  "s:every(1, function() end, T{ from = 1, to = 4 })\n"
		  "s:at(1, r1, 'hang', T{ name = '~*.internal', qtype = '~A', transport = '~udp',\n"
		  "  fraction = 0.5, duration = 1 })\n"
		  "s:at(1, r1, 'delay', T{ ms = 5, jitter = 1, dist = '~normal' })\n"
		  "s:at(1, r1, 'rcode', T{ rcode = '~REFUSED', name = '~db-primary.internal' })\n"
		  "s:at(1, r1, 'truncate', T{ transport = '~udp' })\n"
		  "s:at(1, r1, 'wrong', T{ address = '~10.9.9.9' })\n"
		  "s:at(1, r1, 'wrong', T{ zone = z })\n"
		  "s:at(1, r1, 'wrong', T{ file = '~" V2 "' })\n"
		  "s:at(1, r1, 'capacity', T{ qps = 5, queue = 3, duration = 1 })\n"
		  "s:at(1, r1, 'stop', T{})\n"
		  "s:at(1, r1, 'start', T{ zone = z })\n"
		  "s:at(1, r1, 'crash', T{ down = 0.1, file = '~" V1 "' })\n"
		  "s:at(1, r1, 'restart', T{ boot = '~file', zones = { z } })\n"
		  "s:at(1, r2, 'reload', T{ boot = '~source', source = src })\n"
		  "s:at(1, src, 'publish', T{ file = '~" V2 "' })\n"
		  "s:at(1, v, 'remove', T{ backend = '~r1' })\n"
		  "s:at(1, v, 'restore', T{ backend = r1 })\n");
	/* What was read is what was given (a chunk of its own: its constants
	 * did not exist while the options were read). */
	expect_ok(L, "assert(s.name == 'torture' and s.duration == 5 and s.seed == 3)\n"
		     "assert(src.name == 'truth' and src.address:match('^127%.0%.0%.61:'))\n"
		     "assert(r1.name == 'r1' and r1.address:match('^127%.0%.0%.62:'))\n"
		     "assert(r2.name == 'r2' and r3.name == 'r3' and r3.address:match('^127%.0%.0%.64:'))\n"
		     "assert(v.name == 'vip1' and c.name == 'app')\n");
	struct scenario *sc = scenario_get(L);
	assert_non_null(sc);
	size_t n = 0;
	const struct expectation *e = scenario_expectations(sc, &n);
	assert_int_equal(n, 14);
	assert_string_equal(e[0].client, "app");
	assert_string_equal(e[1].stack, "ldns");
	assert_string_equal(e[7].backend, "r1");
	assert_string_equal(e[7].vip, "vip1");
	assert_string_equal(e[11].cause, "retry");
	assert_string_equal(e[12].resolver, "r1");
	lua_close(L);
	scenario_destroy(sc);
}

/* Every run-time method that takes a table, each given a hostile one, on a live farm. */
static void test_opts_torture_run(void **state)
{
	(void)state;
	char err[8192];
	struct runner_options o;
	struct runner *r = NULL;
	memset(&o, 0, sizeof o);
	enum runner_outcome oc = load_text(
		"torture_run.lua",
		TORTURE_T
		"local s = scenario{ name = 'torture run', duration = 3 }\n"
		"local z = s:zone('" V1 "')\n"
		"local src = s:zone_source{ name = 'truth', zone = z }\n"
		"local r1 = s:resolver{ name = 'r1', zone = z }\n"
		"local v = s:vip{ name = 'vip1', backends = { r1 } }\n"
		"s:at(0.2, function()\n"
		"  r1:hang(T{ name = '~nothing.internal', qtype = '~AAAA', transport = '~tcp' }):heal()\n"
		"  r1:delay(T{ ms = 1, dist = '~constant', name = '~nothing.internal' }):heal()\n"
		"  r1:rcode(T{ rcode = '~NXDOMAIN', name = '~nothing.internal' }):heal()\n"
		"  r1:truncate(T{ transport = '~tcp', name = '~nothing.internal' }):heal()\n"
		"  r1:wrong(T{ address = '~10.1.2.3', name = '~nothing.internal' }):heal()\n"
		"  r1:wrong(T{ file = '~" V2 "', name = '~nothing.internal' }):heal()\n"
		"  r1:capacity(T{ qps = 1000, queue = 10 }):heal()\n"
		"  local res = s:query(r1, 'db-primary.internal', 'A', T{ transport = '~tcp', timeout = 2 })\n"
		"  assert(res.ok and res.rcode == 'NOERROR', res.error)\n"
		"  r1:restart(T{ file = '~" V2 "' })\n"
		"  assert(s:wait(r1, 'booted', 2))\n"
		"  r1:reload(T{ zone = z })\n"
		"  r1:crash(T{ down = 0.05, zones = { z } })\n"
		"  assert(s:wait(r1, 'booted', 2))\n"
		"  r1:stop(T{})\n"
		"  r1:start(T{ file = '~" V2 "' })\n"
		"  src:publish(T{ file = '~" V2 "' })\n"
		"  v:remove(T{ backend = '~r1' })\n"
		"  v:restore(T{ backend = '~r1' })\n"
		"  done = r1:serial()\n"
		"end)\n",
		err, sizeof err, &o, &r);
	if (oc != RUNNER_COMPLETED)
		fail_msg("load: %s", err);
	lua_State *L = runner_lua(r);
	lua_pushcfunction(L, l_gc);
	lua_setglobal(L, "gc");
	oc = runner_run(r);
	if (oc != RUNNER_COMPLETED)
		fail_msg("run: outcome %d: %s", (int)oc, runner_error(r));
	assert_true(global_number(L, "done") == 2026112502);
	runner_destroy(r);
}

/*
 * A raise after a boot plan took references on zones (a bad option, a gate
 * error, a lifecycle method refused in setup) must not leak them: the
 * sanitizer's leak check (or valgrind) fails this test's process otherwise.
 */
static void test_load_refused_boot_plan_no_leak(void **state)
{
	(void)state;
	static const char head[] = "local s = scenario{ name = 'x' }\n"
				   "local z = s:zone('" V1 "')\n"
				   "local r = s:resolver{ name = 'r1', zone = z }\n";
	static const struct {
		const char *code, *want;
	} cases[] = {
		{ "r:start{ zone = z }\n", "leak.lua:4: r1:start happens during the run" },
		{ "r:start{ zone = z, file = 5 }\n", "leak.lua:4: start: 'file' must be a string" },
		{ "r:restart{ zones = { z, z, 5 } }\n", "leak.lua:4: restart: zones[3] must be a zone" },
		{ "r:crash{ zone = z }\n", "leak.lua:4: r1:crash happens during the run" },
		{ "r:reload{ file = '" V2 "' }\n", "leak.lua:4: r1:reload happens during the run" },
		{ "r:wrong{ zone = z }\n", "leak.lua:4: r1:wrong happens during the run" },
		{ "s:resolver{ name = 'r2', zone = z, gate = { answer = 'servfail' } }\n",
		  "leak.lua:4: resolver: gate: compares with what a zone source publishes" },
		{ "s:resolver{ name = 'r2', file = '" V2 "', gate = 5 }\n",
		  "leak.lua:4: resolver: gate: expects a table of options, got number" },
		{ "s:zone_source{ zone = z, file = 5 }\n",
		  "leak.lua:4: zone_source: 'file' must be a string, got number" },
		{ "local src = s:zone_source{ zone = z }\n"
		  "s:resolver{ name = 'r2', zone = z, gate = { source = src, answer = 'nope' } }\n",
		  "leak.lua:5: resolver: gate: 'answer' must be one of" },
	};
	char text[1024];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, "%s%s", head, cases[i].code);
		expect_refused("leak.lua", text, cases[i].want);
	}
}

/* ---- errors raised with something else than a message ---- */

static void test_sandbox_error_objects(void **state)
{
	struct sandbox_fixture *fx = *state;
	lua_State *L = sandbox_new(fx->run, 1);
	assert_non_null(L);
	static const struct {
		const char *code, *want;
	} cases[] = {
		{ "local x = 1\nerror({ code = 5, why = 'disk' })",
		  "t:2: error raised with a table, not a message: { code = 5, why = \"disk\" }" },
		{ "error({ 'a', 2, true, nested = {}, [false] = 1 })",
		  "t:1: error raised with a table, not a message: { \"a\", 2, true, nested = {...}, ... }" },
		{ "error({})", "t:1: error raised with a table, not a message: {}" },
		{ "local t = { x = 1 } for i = 1, 40 do t[i] = i end error(t)",
		  "t:1: error raised with a table, not a message: { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, "
		  "12, x = 1, ... }" },
		{ "error()", "t:1: error raised with nil, not a message" },
		{ "error(false)", "t:1: error raised with a boolean, not a message: false" },
		{ "error(setmetatable({}, { __tostring = function() return 'mine' end }))",
		  "t:1: error raised with a table, not a message: mine" },
		/* A __tostring that fails, or loops, does not take the message with it. */
		{ "error(setmetatable({}, { __tostring = function() error('inner') end }))",
		  "t:1: error raised with a table, not a message: (its __tostring failed)" },
		{ "error(setmetatable({}, { __tostring = function() while true do end end }))",
		  "t:1: error raised with a table, not a message: (its __tostring failed)" },
		{ "local function f() local t = nil; return t.x end\nf()",
		  "t:1: attempt to index a nil value (local 't')" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		lua_pushcfunction(L, sandbox_traceback);
		if (luaL_loadbuffer(L, cases[i].code, strlen(cases[i].code), "=t") != LUA_OK)
			fail_msg("%s: %s", cases[i].code, lua_tostring(L, -1));
		double t0 = mono();
		assert_int_not_equal(lua_pcall(L, 0, 0, -2), LUA_OK);
		const char *msg = lua_tostring(L, -1);
		assert_non_null(msg);
		if (strncmp(msg, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("%s\n  got:  %s\n  want: %s", cases[i].code, msg, cases[i].want);
		assert_non_null(strstr(msg, "stack traceback:"));
		assert_true(mono() - t0 < 10);
		lua_pop(L, 2);
	}
	lua_close(L);
}

int main(void)
{
	const struct CMUnitTest opts_tests[] = {
		cmocka_unit_test(test_opts_closest),
		cmocka_unit_test(test_opts_check),
		cmocka_unit_test(test_opts_number),
		cmocka_unit_test(test_opts_string),
		cmocka_unit_test(test_opts_enum),
		cmocka_unit_test(test_opts_bool_udata),
	};
	const struct CMUnitTest sandbox_tests[] = {
		cmocka_unit_test(test_sandbox_environment),
		cmocka_unit_test(test_sandbox_random_seeded),
		cmocka_unit_test(test_sandbox_deadline),
		cmocka_unit_test(test_sandbox_deadline_nested),
		cmocka_unit_test(test_sandbox_error_objects),
		cmocka_unit_test(test_opts_torture_setup),
	};
	const struct CMUnitTest runner_tests[] = {
		cmocka_unit_test(test_load_no_scenario),
		cmocka_unit_test(test_load_unknown_keys),
		cmocka_unit_test(test_load_duplicates),
		cmocka_unit_test(test_load_non_loopback),
		cmocka_unit_test(test_load_timeline),
		cmocka_unit_test(test_load_declared_actions),
		cmocka_unit_test(test_load_paths_and_seed),
		cmocka_unit_test(test_run_wait_once),
		cmocka_unit_test(test_run_listener_added_in_listener),
		cmocka_unit_test(test_run_wait_after_sync_boot),
		cmocka_unit_test(test_run_declared_error_has_line),
		cmocka_unit_test(test_run_timeline_error),
		cmocka_unit_test(test_run_every_grid_and_print),
		cmocka_unit_test(test_run_pause_rules),
		cmocka_unit_test(test_load_refused_boot_plan_no_leak),
		cmocka_unit_test(test_opts_torture_run),
	};
	int failed = 0;
	failed += cmocka_run_group_tests_name("opts", opts_tests, opts_setup, opts_teardown);
	failed += cmocka_run_group_tests_name("sandbox", sandbox_tests, sandbox_setup,
					      sandbox_teardown);
	failed += cmocka_run_group_tests_name("runner", runner_tests, group_setup, group_teardown);
	return failed ? 1 : 0;
}
