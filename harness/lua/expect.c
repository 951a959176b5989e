/*
 * expect.c (lua) - expectations: the metric constructors (success_rate{},
 * latency{}, stale_answers{}, ... check(fn)) and s:expect{ "name", metric,
 * at_least = x | at_most = x }. A metric is a userdata holding a half-made
 * struct expectation; s:expect completes it with its name, bound and the
 * line it was written on; `baseline = true` marks a measure taken on purpose
 * without faults (docs/checks.md). The checker (record/checker.c) measures them on
 * the history after the run, or on a recorded one (`dnschaos check`).
 */
#include "harness/lua/bind.h"
#include "harness/clients/client.h"
#include "harness/record/checker.h"
#include "harness/record/hist.h"
#include "harness/run/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIND_HIST "dnschaos.history"

/* What a check(fn) needs at evaluation time. */
struct custom {
	lua_State *L;
	int fn_ref;
};

struct metric {
	struct expectation e;
	int fn_ref; /* check(fn): the function */
};

/* A name given as a farm object or as a string. */
static void name_opt(lua_State *L, int idx, const char *key, char *out, size_t cap,
		     const char *what)
{
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	const char *s = NULL;
	if (t == LUA_TSTRING)
		s = lua_tostring(L, -1);
	else if (luaL_testudata(L, -1, BIND_RESOLVER))
		s = farm_resolver_name(resolver_check(L, -1));
	else if (luaL_testudata(L, -1, BIND_VIP))
		s = farm_vip_name(vip_check(L, -1));
	else if (luaL_testudata(L, -1, BIND_PROCESS))
		s = farm_process_name(process_check(L, -1));
	else if (luaL_testudata(L, -1, BIND_CLIENT))
		s = client_name(client_check(L, -1));
	else
		luaL_error(L, "%s: '%s' must be a name or a farm object, got %s", what, key,
			   luaL_typename(L, -1));
	if (strlen(s) >= cap)
		luaL_error(L, "%s: '%s' is too long", what, key);
	snprintf(out, cap, "%s", s);
	lua_pop(L, 1);
}

static struct metric *new_metric(lua_State *L, enum expect_metric m, const char *const keys[])
{
	const char *what = expect_metric_name(m);
	opts_check(L, 1, what, keys, true);
	struct metric *x = lua_newuserdatauv(L, sizeof *x, 2);
	expectation_init(&x->e);
	x->fn_ref = LUA_NOREF;
	luaL_setmetatable(L, BIND_METRIC);
	/* Its options as given and its name, for the history's declare line
	 * (decl.c reads them from here: it calls nothing of this file). */
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	lua_pushstring(L, what);
	lua_setiuservalue(L, -2, 2);
	x->e.metric = m;
	if (lua_isnoneornil(L, 1))
		return x;
	x->e.from = opts_number(L, 1, "from", 0, 0, 1e9, what);
	x->e.to = opts_number(L, 1, "to", -1, 0, 1e9, what);
	if (x->e.to >= 0 && x->e.to <= x->e.from)
		luaL_error(L, "%s: 'to' must come after 'from'", what);
	name_opt(L, 1, "client", x->e.client, sizeof x->e.client, what);
	name_opt(L, 1, "stack", x->e.stack, sizeof x->e.stack, what);
	name_opt(L, 1, "vip", x->e.vip, sizeof x->e.vip, what);
	name_opt(L, 1, "backend", x->e.backend, sizeof x->e.backend, what);
	name_opt(L, 1, "resolver", x->e.resolver, sizeof x->e.resolver, what);
	return x;
}

#define LOOKUP_KEYS "client", "stack", "from", "to"

static int m_success_rate(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, NULL };
	new_metric(L, EXPECT_SUCCESS_RATE, keys);
	return 1;
}

static int m_latency(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, "p", NULL };
	struct metric *x = new_metric(L, EXPECT_LATENCY, keys);
	if (lua_istable(L, 1) && lua_getfield(L, 1, "p") == LUA_TSTRING) {
		if (strcmp(lua_tostring(L, -1), "max") != 0)
			return luaL_error(L, "latency: 'p' is a percentile (0 < p <= 100) or \"max\"");
		x->e.p = 100;
	} else if (lua_istable(L, 1)) {
		x->e.p = opts_number(L, 1, "p", 50, 0.001, 100, "latency");
	}
	if (lua_istable(L, 1))
		lua_pop(L, 1); /* the value of p */
	return 1;
}

static int m_stale(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, NULL };
	new_metric(L, EXPECT_STALE, keys);
	return 1;
}

static int m_wrong(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, NULL };
	new_metric(L, EXPECT_WRONG, keys);
	return 1;
}

static int m_stale_stretch(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, NULL };
	new_metric(L, EXPECT_STALE_STRETCH, keys);
	return 1;
}

static int backend_metric(lua_State *L, enum expect_metric m)
{
	static const char *const keys[] = { "backend", "vip", "from", "to", NULL };
	struct metric *x = new_metric(L, m, keys);
	if (!x->e.backend[0])
		return luaL_error(L, "%s: 'backend' is required (a resolver or its name)",
				  expect_metric_name(m));
	return 1;
}

static int m_detection(lua_State *L)
{
	return backend_metric(L, EXPECT_DETECTION);
}

static int m_failure_span(lua_State *L)
{
	return backend_metric(L, EXPECT_FAILURE_SPAN);
}

static int m_readmission(lua_State *L)
{
	return backend_metric(L, EXPECT_READMISSION);
}

static int m_amplification(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, "cause", NULL };
	static const char *const causes[] = { "first", "pair", "search", "retry", NULL };
	struct metric *x = new_metric(L, EXPECT_AMPLIFICATION, keys);
	if (opts_has(L, 1, "cause"))
		snprintf(x->e.cause, sizeof x->e.cause, "%s",
			 causes[opts_enum(L, 1, "cause", causes, 0, "amplification")]);
	return 1;
}

static int m_survivor_load(lua_State *L)
{
	static const char *const keys[] = { "resolver", "from", "to", "bucket", NULL };
	struct metric *x = new_metric(L, EXPECT_SURVIVOR_LOAD, keys);
	if (!x->e.resolver[0])
		return luaL_error(L, "survivor_load: 'resolver' is required");
	x->e.bucket = opts_number(L, 1, "bucket", 1, 0.01, 3600, "survivor_load");
	return 1;
}

static int m_goodput(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, NULL };
	new_metric(L, EXPECT_GOODPUT, keys);
	return 1;
}

static int m_recovery(lua_State *L)
{
	static const char *const keys[] = { LOOKUP_KEYS, "baseline", "fraction", "bucket", NULL };
	struct metric *x = new_metric(L, EXPECT_RECOVERY, keys);
	if (!opts_has(L, 1, "from"))
		return luaL_error(L, "recovery: 'from' is required: when the trigger is removed (or "
				     "the load cut)");
	x->e.fraction = opts_number(L, 1, "fraction", 0.9, 0.01, 1, "recovery");
	x->e.bucket = opts_number(L, 1, "bucket", 1, 0.01, 3600, "recovery");
	if (lua_getfield(L, 1, "baseline") == LUA_TTABLE) {
		static const char *const bkeys[] = { "from", "to", NULL };
		opts_check(L, -1, "recovery: baseline", bkeys, false);
		x->e.baseline_from = opts_number(L, -1, "from", 0, 0, 1e9, "recovery: baseline");
		x->e.baseline_to = opts_number(L, -1, "to", x->e.from, 0, 1e9, "recovery: baseline");
	} else if (!lua_isnil(L, -1)) {
		return luaL_error(L, "recovery: 'baseline' must be { from = a, to = b }");
	}
	lua_pop(L, 1);
	return 1;
}

static int m_flaps(lua_State *L)
{
	static const char *const keys[] = { "backend", "vip", "from", "to", NULL };
	new_metric(L, EXPECT_FLAPS, keys);
	return 1;
}

/* check(function(h) ... return value end): the escape hatch. */
static int m_check(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	struct metric *x = lua_newuserdatauv(L, sizeof *x, 2);
	expectation_init(&x->e);
	x->e.metric = EXPECT_CUSTOM;
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	lua_pushliteral(L, "check");
	lua_setiuservalue(L, -2, 2);
	lua_pushvalue(L, 1);
	x->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	luaL_setmetatable(L, BIND_METRIC);
	return 1;
}

/* ---- the history object a check(fn) gets ---- */

struct hist_box {
	const struct hist *h;
};

static const struct hist *hist_arg(lua_State *L)
{
	struct hist_box *b = luaL_checkudata(L, 1, BIND_HIST);
	if (!b->h)
		luaL_error(L, "the history is only readable inside the check function");
	return b->h;
}

static void push_field(void *arg, const struct hist_field *f)
{
	lua_State *L = arg;
	lua_pushlstring(L, f->key, f->klen);
	switch (f->kind) {
	case HIST_V_STRING:
		lua_pushlstring(L, f->s, f->slen);
		break;
	case HIST_V_NUMBER:
		if (f->num == floor(f->num) && fabs(f->num) < 9007199254740992.0)
			lua_pushinteger(L, (lua_Integer)f->num);
		else
			lua_pushnumber(L, f->num);
		break;
	case HIST_V_BOOL:
		lua_pushboolean(L, f->b);
		break;
	case HIST_V_NULL:
		lua_pop(L, 1);
		return; /* absent, as Lua has it */
	case HIST_V_ARRAY: {
		lua_createtable(L, (int)f->slen, 0);
		const char *s = f->s;
		for (size_t i = 0; i < f->slen; i++) {
			lua_pushstring(L, s);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
			s += strlen(s) + 1;
		}
		break;
	}
	}
	lua_rawset(L, -3);
}

static int type_arg(lua_State *L, int idx)
{
	const char *t = luaL_optstring(L, idx, NULL);
	if (!t)
		return -1;
	for (int i = 0; i < HIST_OTHER; i++)
		if (strcmp(t, hist_type_name((enum hist_type)i)) == 0)
			return i;
	return luaL_error(L, "history: unknown line type '%s'", t);
}

/* h:each("lookup", function(line) ... end): every line of a type (nil: all), as tables. */
static int h_each(lua_State *L)
{
	const struct hist *h = hist_arg(L);
	int type = type_arg(L, 2);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	lua_Integer n = 0;
	for (size_t i = 0; i < hist_line_count(h); i++) {
		if (type >= 0 && hist_line_type(h, i) != (enum hist_type)type)
			continue;
		lua_pushvalue(L, 3);
		lua_newtable(L);
		if (hist_line_fields(h, i, push_field, L) != 0)
			return luaL_error(L, "out of memory");
		lua_call(L, 1, 0);
		n++;
	}
	lua_pushinteger(L, n);
	return 1;
}

/* h:count("query"): how many lines of a type. */
static int h_count(lua_State *L)
{
	const struct hist *h = hist_arg(L);
	int type = type_arg(L, 2);
	lua_Integer n = 0;
	for (size_t i = 0; i < hist_line_count(h); i++)
		n += type < 0 || hist_line_type(h, i) == (enum hist_type)type;
	lua_pushinteger(L, n);
	return 1;
}

static int h_index(lua_State *L)
{
	const struct hist *h = hist_arg(L);
	const char *k = luaL_checkstring(L, 2);
	if (strcmp(k, "each") == 0)
		lua_pushcfunction(L, h_each);
	else if (strcmp(k, "count") == 0)
		lua_pushcfunction(L, h_count);
	else if (strcmp(k, "duration") == 0)
		lua_pushnumber(L, hist_meta(h)->duration);
	else if (strcmp(k, "last_t") == 0)
		lua_pushnumber(L, hist_last_t(h));
	else if (strcmp(k, "seed") == 0)
		lua_pushinteger(L, (lua_Integer)hist_meta(h)->seed);
	else
		return luaL_error(L, "history has no field or method '%s' (each, count, duration, "
				     "last_t, seed)", k);
	return 1;
}

/* Runs the user's function, protected and time-limited. */
static int run_custom(void *arg, const struct hist *h, const struct expectation *e,
		      double *observed, char *why, size_t whylen)
{
	struct custom *cu = arg;
	lua_State *L = cu->L;
	(void)e;
	int top = lua_gettop(L);
	lua_pushcfunction(L, sandbox_traceback);
	lua_rawgeti(L, LUA_REGISTRYINDEX, cu->fn_ref);
	struct hist_box *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->h = h;
	luaL_setmetatable(L, BIND_HIST);
	struct sandbox_deadline dl = sandbox_enter(L, runner_callback_limit(sandbox_runner(L)) * 6);
	int rc = lua_pcall(L, 1, 2, top + 1);
	sandbox_leave(L, dl);
	b->h = NULL; /* a kept reference reads nothing afterwards */
	int ret = -1;
	if (rc != LUA_OK) {
		snprintf(why, whylen, "the check function failed: %s", lua_tostring(L, -1));
	} else if (lua_type(L, -2) == LUA_TNUMBER) {
		*observed = lua_tonumber(L, -2);
		ret = 0;
	} else if (lua_type(L, -2) == LUA_TBOOLEAN) {
		*observed = lua_toboolean(L, -2) ? 1 : 0;
		ret = 0;
	} else if (lua_isnil(L, -2)) {
		snprintf(why, whylen, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1)
								 : "the check function returned nil");
	} else {
		snprintf(why, whylen, "the check function must return a number or a boolean, got %s",
			 luaL_typename(L, -2));
	}
	lua_settop(L, top);
	return ret;
}

/* s:expect{ "name", metric, at_least = x | at_most = x } */
int expect_new(lua_State *L)
{
	struct scenario *sc = scenario_get(L);
	luaL_checkudata(L, 1, BIND_SCENARIO);
	/* Declared in setup only: one declared later would be judged by `run` and
	 * not by `check` (or not at all), and a gate must judge the same thing. */
	bool main_thread = lua_pushthread(L);
	lua_pop(L, 1);
	if (!main_thread || runner_running(sandbox_runner(L)))
		return luaL_error(L, "s:expect is declared in the scenario's setup, not in a timeline "
				     "function or a coroutine");
	luaL_checktype(L, 2, LUA_TTABLE);
	static const char *const keys[] = { "at_least", "at_most", "baseline", NULL };
	/* Positional [1] name, [2] metric; named bounds. */
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TNUMBER) {
			lua_Integer i = lua_tointeger(L, -1);
			if (i != 1 && i != 2)
				return luaL_error(L, "s:expect: { \"name\", metric, at_least = x } "
						     "takes two positional values");
			continue;
		}
		const char *k = lua_tostring(L, -1);
		bool ok = false;
		for (size_t i = 0; keys[i]; i++)
			ok = ok || (k && strcmp(k, keys[i]) == 0);
		if (!ok)
			return luaL_error(L, "s:expect: unknown option '%s' (did you mean '%s'?)",
					  k ? k : "?", opts_closest(k ? k : "", keys));
	}
	lua_rawgeti(L, 2, 1);
	if (lua_type(L, -1) != LUA_TSTRING || !lua_tostring(L, -1)[0])
		return luaL_error(L, "s:expect: the first value is the expectation's name, a string");
	const char *name = lua_tostring(L, -1);
	lua_rawgeti(L, 2, 2);
	struct metric *m = luaL_testudata(L, -1, BIND_METRIC);
	if (!m)
		return luaL_error(L, "s:expect{ \"%s\", ... }: the second value must be a metric "
				     "(success_rate{...}, latency{...}, ..., check(fn)), got %s",
				  name, luaL_typename(L, -1));
	bool least = opts_has(L, 2, "at_least"), most = opts_has(L, 2, "at_most");
	if (least == most)
		return luaL_error(L, "s:expect{ \"%s\", ... }: give one bound: at_least = x or "
				     "at_most = x", name);
	struct expectation e = m->e;
	int bt = lua_getfield(L, 2, "baseline");
	if (bt != LUA_TNIL && bt != LUA_TBOOLEAN)
		return luaL_error(L, "s:expect{ \"%s\", ... }: 'baseline' is true or false, got %s",
				  name, luaL_typename(L, -1));
	e.baseline = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (e.baseline && !expect_over_lookups(e.metric))
		return luaL_error(L, "s:expect{ \"%s\", ... }: baseline = true is for the metrics "
				     "over lookups (success_rate, latency, stale_answers, "
				     "wrong_answers, stale_stretch, amplification, goodput, recovery), "
				     "not %s", name, expect_metric_name(e.metric));
	e.op = least ? EXPECT_AT_LEAST : EXPECT_AT_MOST;
	e.bound = opts_number(L, 2, least ? "at_least" : "at_most", 0, -1e300, 1e300, "s:expect");
	if (strlen(name) >= sizeof e.name)
		return luaL_error(L, "s:expect: the name is longer than %d bytes",
				  (int)sizeof e.name - 1);
	snprintf(e.name, sizeof e.name, "%s", name);
	luaL_where(L, 1);
	snprintf(e.where, sizeof e.where, "%s", lua_tostring(L, -1));
	size_t wl = strlen(e.where);
	while (wl && (e.where[wl - 1] == ' ' || e.where[wl - 1] == ':'))
		e.where[--wl] = '\0';
	if (e.metric == EXPECT_CUSTOM) {
		struct custom *cu = scenario_alloc(L, sc, sizeof *cu);
		lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
		cu->L = lua_tothread(L, -1); /* not a coroutine, which may be gone by then */
		lua_pop(L, 1);
		lua_rawgeti(L, LUA_REGISTRYINDEX, m->fn_ref);
		cu->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		e.custom = run_custom;
		e.custom_arg = cu;
	}
	scenario_add_expectation(L, sc, &e);
	decl_record(L, "expect", 2);
	return 0;
}

static int metric_gc(lua_State *L)
{
	struct metric *m = luaL_checkudata(L, 1, BIND_METRIC);
	if (m->fn_ref != LUA_NOREF)
		luaL_unref(L, LUA_REGISTRYINDEX, m->fn_ref);
	m->fn_ref = LUA_NOREF;
	return 0;
}

static int metric_tostring(lua_State *L)
{
	struct metric *m = luaL_checkudata(L, 1, BIND_METRIC);
	lua_pushfstring(L, "metric %s", expect_metric_name(m->e.metric));
	return 1;
}

void expect_open(lua_State *L)
{
	static const luaL_Reg globals[] = {
		{ "success_rate", m_success_rate },   { "latency", m_latency },
		{ "stale_answers", m_stale },	      { "wrong_answers", m_wrong },
		{ "stale_stretch", m_stale_stretch }, { "detection_time", m_detection },
		{ "failure_span", m_failure_span },   { "readmission", m_readmission },
		{ "amplification", m_amplification }, { "survivor_load", m_survivor_load },
		{ "goodput", m_goodput },	      { "recovery", m_recovery },
		{ "flaps", m_flaps },		      { "check", m_check },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_METRIC);
	lua_pushcfunction(L, metric_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, metric_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "metric");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	luaL_newmetatable(L, BIND_HIST);
	lua_pushcfunction(L, h_index);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "history");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	for (const luaL_Reg *r = globals; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setglobal(L, r->name);
	}
}
