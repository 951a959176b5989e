/*
 * scenario.c - the scenario object: scenario{...} and its methods, which
 * declare the farm (s:zone, s:zone_source, s:resolver) and the timeline
 * (s:at, s:every, s:on), and the coroutine machinery behind s:sleep and
 * s:wait. Every timeline function runs in its own coroutine, resumed from
 * libevent timers and farm events; every call into Lua is protected.
 *
 * The rule for pausing: s:sleep, s:wait and s:query pause the coroutine the
 * runner is resuming (sc->running), and nothing else. They yield a marker
 * to the runner, which parks the coroutine; called from a coroutine the
 * scenario made itself they raise (the runner would never see that yield),
 * and a yield without the marker reaching the runner (a bare
 * coroutine.yield in a timeline function) is an error at its line. A parked
 * coroutine is woken by the runner only: a coroutine.resume of it raises.
 */
#include "harness/lua/bind.h"
#include "fakeresolver/clock.h"
#include "harness/clients/client.h"
#include "harness/record/checker.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "harness/record/utf8.h"
#include "harness/runner.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "fakeresolver/probe.h"

#define DURATION_MAX (7 * 24 * 3600.0)

enum yield_kind { YIELD_NONE, YIELD_SLEEP, YIELD_WAIT, YIELD_QUERY };

/* A timeline entry: a function, or a declared action (a method on a target). */
struct tl_entry {
	struct scenario *sc;
	struct event *ev;
	double at, every, until;
	double next;    /* s:every: when the next tick is due (run time) */
	struct tl_entry *chain; /* s:at entries due at the same time, declared later */
	int fn_ref;     /* the function; LUA_NOREF for a declared action */
	int target_ref; /* declared action: the target and its options */
	int opts_ref;
	char method[32];
	char where[256]; /* file:line of the declaration (declared action: and what it does) */
};

/* s:on(target, event, fn) */
struct listener {
	const void *target;
	char event[32];
	int fn_ref;
	char where[256];
};

/* A coroutine parked in s:sleep, s:wait or s:query. */
struct parked {
	struct scenario *sc;
	struct event *timer; /* wake-up (sleep) or timeout (wait); may be NULL */
	struct probe *probe; /* s:query in flight */
	uint16_t qtype;
	int co_ref;
	const void *target; /* s:wait: what it waits on */
	char event[32];
	uint64_t seq; /* order of parking: an event wakes only waiters parked before it */
	struct parked *prev, *next;
};

struct pending_emit {
	const void *target;
	char event[16];
};

struct scenario {
	struct runner *run;
	lua_State *L;
	char name[128];
	double duration;
	bool has_seed;
	uint64_t seed;
	struct farm_resolver **resolvers;
	size_t nres;
	struct farm_source **sources;
	size_t nsrc;
	struct farm_vip **vips;
	size_t nvip;
	struct client **clients;
	size_t ncli;
	unsigned next_source;
	int unbound_cache; /* -1 until a libunbound client says */
	struct expectation *expects;
	size_t nexp;
	void **allocs; /* scenario_alloc */
	size_t nallocs;
	struct tl_entry **tl;
	size_t ntl;
	struct listener *ls;
	size_t nls;
	struct parked *parked;
	uint64_t park_seq;
	struct event *emit_ev; /* delivers pending farm events */
	struct pending_emit *emits;
	size_t nemits, cap_emits;
	bool dry_run;
	bool started;
	/* What the last yield asked for (set by s:sleep / s:wait before yielding). */
	enum yield_kind yield_kind;
	double yield_s;
	const void *yield_target;
	char yield_event[32];
	double yield_timeout;
	struct parked *yield_parked; /* s:query: already made, waiting for its coroutine */
	lua_State *running; /* the timeline coroutine being resumed, or NULL */
};

/* What s:sleep, s:wait and s:query yield: the runner parks only this. */
static char yield_marker;

static const char scenario_key = 0;

static struct scenario *scenario_of(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &scenario_key);
	struct scenario *sc = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return sc;
}

struct scenario *scenario_get(lua_State *L)
{
	return scenario_of(L);
}

bool scenario_dry_run(lua_State *L)
{
	struct scenario *sc = scenario_of(L);
	return sc && sc->dry_run;
}

const char *scenario_name(const struct scenario *sc)
{
	return sc->name;
}

double scenario_duration(const struct scenario *sc)
{
	return sc->duration;
}

bool scenario_has_seed(const struct scenario *sc)
{
	return sc->has_seed;
}

uint64_t scenario_seed(const struct scenario *sc)
{
	return sc->seed;
}

static struct scenario *check_self(lua_State *L)
{
	struct scenario **box = luaL_checkudata(L, 1, BIND_SCENARIO);
	return *box;
}

static void where(lua_State *L, int level, char *out, size_t cap)
{
	luaL_where(L, level);
	snprintf(out, cap, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
}

static void *grow(lua_State *L, void *p, size_t n, size_t elem)
{
	void *q = realloc(p, (n + 1) * elem);
	if (!q)
		luaL_error(L, "out of memory");
	return q;
}

/* ---- farm bookkeeping ---- */

void scenario_add_resolver(lua_State *L, struct scenario *sc, struct farm_resolver *r)
{
	sc->resolvers = grow(L, sc->resolvers, sc->nres, sizeof *sc->resolvers);
	sc->resolvers[sc->nres++] = r;
}

void scenario_add_source(lua_State *L, struct scenario *sc, struct farm_source *s)
{
	sc->sources = grow(L, sc->sources, sc->nsrc, sizeof *sc->sources);
	sc->sources[sc->nsrc++] = s;
}

void scenario_add_vip(lua_State *L, struct scenario *sc, struct farm_vip *v)
{
	sc->vips = grow(L, sc->vips, sc->nvip, sizeof *sc->vips);
	sc->vips[sc->nvip++] = v;
}

void scenario_add_client(lua_State *L, struct scenario *sc, struct client *c)
{
	sc->clients = grow(L, sc->clients, sc->ncli, sizeof *sc->clients);
	sc->clients[sc->ncli++] = c;
}

void scenario_add_expectation(lua_State *L, struct scenario *sc, const struct expectation *e)
{
	sc->expects = grow(L, sc->expects, sc->nexp, sizeof *sc->expects);
	sc->expects[sc->nexp++] = *e;
}

const struct expectation *scenario_expectations(const struct scenario *sc, size_t *n)
{
	*n = sc->nexp;
	return sc->expects;
}

void *scenario_alloc(lua_State *L, struct scenario *sc, size_t size)
{
	sc->allocs = grow(L, sc->allocs, sc->nallocs, sizeof *sc->allocs);
	void *p = calloc(1, size);
	if (!p)
		luaL_error(L, "out of memory");
	sc->allocs[sc->nallocs++] = p;
	return p;
}

void scenario_progress(const struct scenario *sc, uint64_t *invoked, uint64_t *ok, uint64_t *done)
{
	*invoked = *ok = *done = 0;
	for (size_t i = 0; i < sc->ncli; i++) {
		struct client_stats st;
		client_get_stats(sc->clients[i], &st);
		*invoked += st.invoked;
		*ok += st.ok;
		*done += st.ok + st.failed + st.timeouts;
	}
}

size_t scenario_client_count(const struct scenario *sc)
{
	return sc->ncli;
}

int scenario_unbound_cache(struct scenario *sc, int want)
{
	if (sc->unbound_cache < 0)
		sc->unbound_cache = want;
	return sc->unbound_cache;
}

unsigned scenario_next_client_source(struct scenario *sc)
{
	return 1 + (sc->next_source++ % 250);
}

bool scenario_join(struct scenario *sc, const struct addr *dst, const struct addr *src,
		   const uint8_t *qname, size_t qlen, uint16_t qtype, int id,
		   struct client_join *out)
{
	/* Asked of every client first: two that could both have sent it make it ambiguous. */
	size_t claims = 0, who = 0;
	struct client_join j;
	for (size_t i = 0; i < sc->ncli; i++)
		if (client_join(sc->clients[i], dst, src, qname, qlen, qtype, id, false, &j) &&
		    claims++ == 0)
			who = i;
	if (claims == 0)
		return false;
	if (claims > 1) {
		*out = (struct client_join){ NULL, 0, NULL, true };
		return true;
	}
	return client_join(sc->clients[who], dst, src, qname, qlen, qtype, id, true, out);
}

struct farm_resolver *scenario_find_resolver(const struct scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->nres; i++)
		if (strcmp(farm_resolver_name(sc->resolvers[i]), name) == 0)
			return sc->resolvers[i];
	return NULL;
}

struct farm_source *scenario_find_source(const struct scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->nsrc; i++)
		if (strcmp(farm_source_name(sc->sources[i]), name) == 0)
			return sc->sources[i];
	return NULL;
}

/* The same address, and the same port unless either is still 0 (chosen at start). */
static bool same_host(const struct addr *a, const struct addr *b)
{
	if (addr_port(a) && addr_port(b) && addr_port(a) != addr_port(b))
		return false;
	return addr_same_host(a, b);
}

bool scenario_address_used(const struct scenario *sc, const struct addr *a)
{
	for (size_t i = 0; i < sc->nres; i++)
		if (same_host(farm_resolver_addr(sc->resolvers[i]), a))
			return true;
	for (size_t i = 0; i < sc->nsrc; i++)
		if (same_host(farm_source_addr(sc->sources[i]), a))
			return true;
	for (size_t i = 0; i < sc->nvip; i++)
		if (same_host(farm_vip_addr(sc->vips[i]), a))
			return true;
	return false;
}

void scenario_pick_address(lua_State *L, struct scenario *sc, int idx, struct addr *out,
			   const char *what)
{
	char err[256], text[64];
	const char *address = opts_string(L, idx, "address", "", what);
	if (!address[0]) {
		do {
			if (runner_next_address(sc->run, text, sizeof text) != 0)
				luaL_error(L, "%s: no free loopback address left", what);
			addr_parse(text, 0, out, err, sizeof err);
		} while (scenario_address_used(sc, out));
		return;
	}
	if (addr_parse(address, 0, out, err, sizeof err) != 0)
		luaL_error(L, "%s: %s", what, err);
	if (!addr_is_loopback(out))
		luaL_error(L, "%s: address %s is not on loopback (127.0.0.0/8 or ::1): dnschaos "
			      "never sends traffic off the machine",
			   what, address);
	if (scenario_address_used(sc, out))
		luaL_error(L, "%s: address %s is already used by another object", what, address);
}

void scenario_check_name(lua_State *L, struct scenario *sc, const char *name, const char *what)
{
	size_t n = strlen(name);
	if (n == 0 || n >= FARM_NAME_MAX)
		luaL_error(L, "%s: 'name' must be 1 to %d characters", what, FARM_NAME_MAX - 1);
	bool taken = scenario_find_resolver(sc, name) || scenario_find_source(sc, name);
	for (size_t i = 0; i < sc->nvip && !taken; i++)
		taken = strcmp(farm_vip_name(sc->vips[i]), name) == 0;
	if (taken)
		luaL_error(L, "%s: the name '%s' is already taken", what, name);
	if (sc->started)
		luaL_error(L, "%s: declare the farm before the run starts", what);
}

/* Pushes the object named name, or raises naming the known ones. */
static void push_named(lua_State *L, struct scenario *sc, const char *name)
{
	struct farm_resolver *r = scenario_find_resolver(sc, name);
	struct farm_source *s = scenario_find_source(sc, name);
	if (r) {
		resolver_push(L, r);
		return;
	}
	if (s) {
		source_push(L, s);
		return;
	}
	for (size_t i = 0; i < sc->nvip; i++)
		if (strcmp(farm_vip_name(sc->vips[i]), name) == 0) {
			vip_push(L, sc->vips[i]);
			return;
		}
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < sc->nres + sc->nsrc; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, i < sc->nres ? farm_resolver_name(sc->resolvers[i])
						: farm_source_name(sc->sources[i - sc->nres]));
	}
	luaL_pushresult(&b);
	luaL_error(L, "unknown target '%s' (known: %s)", name,
		   lua_rawlen(L, -1) ? lua_tostring(L, -1) : "none yet");
}

/* ---- coroutines ---- */

static void parked_unlink(struct parked *p)
{
	struct scenario *sc = p->sc;
	if (p->prev)
		p->prev->next = p->next;
	else
		sc->parked = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (p->timer)
		event_free(p->timer);
	probe_cancel(p->probe);
	free(p);
}

static void resume(struct scenario *sc, int co_ref, int nargs);

static void parked_fire(evutil_socket_t fd, short what, void *arg)
{
	struct parked *p = arg;
	struct scenario *sc = p->sc;
	int co_ref = p->co_ref;
	bool waiting = p->target != NULL;
	(void)fd;
	(void)what;
	parked_unlink(p);
	lua_State *co;
	lua_rawgeti(sc->L, LUA_REGISTRYINDEX, co_ref);
	co = lua_tothread(sc->L, -1);
	lua_pop(sc->L, 1);
	int nargs = 0;
	if (waiting && co) {
		lua_pushboolean(co, 0); /* s:wait timed out */
		nargs = 1;
	}
	resume(sc, co_ref, nargs);
}

/* Parks a coroutine that yielded from s:sleep, s:wait or s:query. */
static int park(struct scenario *sc, int co_ref)
{
	if (sc->yield_kind == YIELD_QUERY) {
		sc->yield_parked->co_ref = co_ref; /* linked in already by s:query */
		sc->yield_parked = NULL;
		return 0;
	}
	struct parked *p = calloc(1, sizeof *p);
	if (!p)
		return -1;
	p->sc = sc;
	p->co_ref = co_ref;
	p->seq = ++sc->park_seq;
	double after = -1;
	if (sc->yield_kind == YIELD_SLEEP) {
		after = sc->yield_s;
	} else {
		p->target = sc->yield_target;
		snprintf(p->event, sizeof p->event, "%s", sc->yield_event);
		after = sc->yield_timeout;
	}
	if (after >= 0) {
		p->timer = evtimer_new(runner_base(sc->run), parked_fire, p);
		if (!p->timer) {
			free(p);
			return -1;
		}
		struct timeval tv = clock_timeval(after);
		event_base_update_cache_time(runner_base(sc->run)); /* after Lua ran */
		evtimer_add(p->timer, &tv);
	}
	p->next = sc->parked;
	if (sc->parked)
		sc->parked->prev = p;
	sc->parked = p;
	return 0;
}

/* Resumes a coroutine (its function and arguments, or its wake-up values, are on it). */
static void resume(struct scenario *sc, int co_ref, int nargs)
{
	lua_State *L = sc->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, co_ref);
	lua_State *co = lua_tothread(L, -1);
	lua_pop(L, 1);
	int nres = 0, st;
	if (!co) {
		runner_abort(sc->run, RUNNER_FAILED, "internal error: a parked coroutine is gone");
		return;
	}
	lua_Debug ar;
	bool fresh = lua_status(co) == LUA_OK && !lua_getstack(co, 0, &ar) &&
		     lua_gettop(co) > nargs;
	if (lua_status(co) != LUA_YIELD && !fresh) {
		/* Parked, then ended by the scenario: a coroutine.close (its
		 * choice), or a coroutine.resume, which stopped the run already. */
		lua_settop(co, 0);
		luaL_unref(L, LUA_REGISTRYINDEX, co_ref);
		return;
	}
	lua_State *outer_running = sc->running;
	sc->yield_kind = YIELD_NONE;
	sc->yield_parked = NULL;
	sc->running = co;
	struct sandbox_deadline outer = sandbox_enter(L, runner_callback_limit(sc->run));
	st = lua_resume(co, L, nargs, &nres);
	sandbox_leave(L, outer);
	sc->running = outer_running;
	if (st == LUA_YIELD) {
		bool ours = nres == 1 && lua_touserdata(co, -1) == &yield_marker &&
			    sc->yield_kind != YIELD_NONE;
		lua_pop(co, nres);
		if (!ours) {
			luaL_where(co, 1);
			lua_pushfstring(co, "%scoroutine.yield in a timeline function: it yielded "
					    "outside s:sleep, s:wait or s:query, which alone pause it "
					    "(yield inside a coroutine of your own instead)",
					lua_tostring(co, -1));
			st = LUA_ERRRUN;
		} else if (park(sc, co_ref) != 0) {
			runner_abort(sc->run, RUNNER_FAILED, "out of memory");
			luaL_unref(L, LUA_REGISTRYINDEX, co_ref);
			return;
		} else {
			return;
		}
	}
	if (sc->yield_parked) { /* an s:query that never reached the runner */
		parked_unlink(sc->yield_parked);
		sc->yield_parked = NULL;
	}
	if (st != LUA_OK) {
		sandbox_push_error(L, co, 0);
		luaL_traceback(L, co, lua_tostring(L, -1), 0);
		runner_abort(sc->run, RUNNER_BAD_INPUT, "%s", lua_tostring(L, -1));
		lua_pop(L, 2);
	}
	luaL_unref(L, LUA_REGISTRYINDEX, co_ref);
}

/* Runs fn_ref(args...) in a new coroutine; the nargs arguments are on L's top. */
static void run_function(struct scenario *sc, int fn_ref, int nargs)
{
	lua_State *L = sc->L;
	lua_State *co = lua_newthread(L);
	if (!co) {
		runner_abort(sc->run, RUNNER_FAILED, "out of memory");
		return;
	}
	lua_insert(L, -1 - nargs);
	lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
	lua_xmove(L, co, 1);
	lua_xmove(L, co, nargs);
	int co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	resume(sc, co_ref, nargs);
}

/* ---- the timeline ---- */

/*
 * The body of a declared action's coroutine: method(target, opts). The method
 * is C, so its errors carry no line of the scenario: prefix the declaration's
 * ("file:line: s:at(t, target, 'method'): ").
 */
static int declared_call(lua_State *L)
{
	if (lua_pcall(L, 2, 0, 0) == LUA_OK)
		return 0;
	lua_pushvalue(L, lua_upvalueindex(1));
	luaL_tolstring(L, -2, NULL);
	lua_concat(L, 2);
	return lua_error(L);
}

/* Runs one timeline entry's function or declared action. */
static void tl_run(struct tl_entry *e)
{
	struct scenario *sc = e->sc;
	lua_State *L = sc->L;

	if (e->every > 0) {
		/* Ticks stay on the planned grid (from, from + every, ...): timer
		 * lateness does not add up, and a tick at 'to' still runs. Ticks
		 * missed while the loop was busy are skipped. */
		double now = runner_now(sc->run);
		e->next += e->every;
		while (e->next < now)
			e->next += e->every;
		/* At the duration itself the run ends: no tick there (as for s:at). */
		if (e->next <= e->until + 1e-9 && e->next < sc->duration) {
			double after = e->next - now;
			struct timeval tv = clock_timeval(after);
			evtimer_add(e->ev, &tv);
		}
	}
	if (e->fn_ref != LUA_NOREF) {
		run_function(sc, e->fn_ref, 0);
		return;
	}
	/* A declared action: method(target, opts), validated at setup. */
	lua_pushstring(L, e->where);
	lua_pushcclosure(L, declared_call, 1);
	int fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_rawgeti(L, LUA_REGISTRYINDEX, e->target_ref);
	lua_getfield(L, -1, e->method);
	lua_insert(L, -2);
	lua_rawgeti(L, LUA_REGISTRYINDEX, e->opts_ref);
	run_function(sc, fn_ref, 3);
	luaL_unref(L, LUA_REGISTRYINDEX, fn_ref);
}

static void tl_fire(evutil_socket_t fd, short what, void *arg)
{
	struct tl_entry *e = arg;
	(void)fd;
	(void)what;
	/* Entries due at the same time run in the order they were declared. */
	for (struct tl_entry *c = e; c && c->sc->started; c = c->chain)
		tl_run(c);
}

static struct tl_entry *tl_add(lua_State *L, struct scenario *sc, double at)
{
	if (sc->started)
		luaL_error(L, "the timeline is declared before the run starts; inside a "
			      "timeline function use s:sleep");
	struct tl_entry *e = calloc(1, sizeof *e);
	if (!e)
		luaL_error(L, "out of memory");
	sc->tl = grow(L, sc->tl, sc->ntl, sizeof *sc->tl);
	sc->tl[sc->ntl++] = e;
	e->sc = sc;
	e->at = at;
	e->fn_ref = e->target_ref = e->opts_ref = LUA_NOREF;
	where(L, 1, e->where, sizeof e->where);
	return e;
}

static double check_time(lua_State *L, int idx, const char *what, struct scenario *sc)
{
	double t = luaL_checknumber(L, idx);
	if (!(t >= 0 && t < sc->duration))
		luaL_error(L, "%s: time %f is outside the run (0 to the duration, %f s)", what, t,
			   sc->duration);
	return t;
}

/* Calls target[method](target, opts): for validating declared actions. */
static int dry_call(lua_State *L)
{
	lua_getfield(L, 1, lua_tostring(L, 2));
	if (!lua_isfunction(L, -1))
		return luaL_error(L, "%s has no method '%s'", luaL_tolstring(L, 1, NULL),
				  lua_tostring(L, 2));
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 3);
	lua_call(L, 2, 0);
	return 0;
}

/* s:at(t, fn) or s:at(t, target, "method", opts) */
static int s_at(lua_State *L)
{
	struct scenario *sc = check_self(L);
	double t = check_time(L, 2, "s:at", sc);
	if (lua_isfunction(L, 3)) {
		struct tl_entry *e = tl_add(L, sc, t);
		lua_pushvalue(L, 3);
		e->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		return 0;
	}
	lua_settop(L, 5); /* self, t, target, method, options (nil if absent) */
	if (lua_type(L, 3) == LUA_TSTRING)
		push_named(L, sc, lua_tostring(L, 3));
	else if (lua_isuserdata(L, 3))
		lua_pushvalue(L, 3);
	else
		return luaL_error(L, "s:at(t, fn) or s:at(t, target, 'method', {options}): "
				     "argument 2 must be a function, an object or a name, got %s",
				  luaL_typename(L, 3));
	int target = lua_gettop(L);
	const char *method = luaL_checkstring(L, 4);
	if (strlen(method) >= sizeof ((struct tl_entry *)0)->method || method[0] == '_')
		return luaL_error(L, "s:at: no method '%s'", method);
	if (lua_isnoneornil(L, 5))
		lua_newtable(L);
	else if (lua_istable(L, 5))
		lua_pushvalue(L, 5);
	else
		return luaL_error(L, "s:at: the options (argument 5) must be a table, got %s",
				  luaL_typename(L, 5));
	int opts = lua_gettop(L);
	/* Validate now: the method parses its options and stops short of acting. */
	lua_pushcfunction(L, dry_call);
	lua_pushvalue(L, target);
	lua_pushvalue(L, 4);
	lua_pushvalue(L, opts);
	sc->dry_run = true;
	int st = lua_pcall(L, 3, 0, 0);
	sc->dry_run = false;
	if (st != LUA_OK) {
		const char *why = lua_tostring(L, -1);
		const char *what = luaL_tolstring(L, target, NULL);
		return luaL_error(L, "s:at(%f, %s, '%s'): %s", t, what, method, why);
	}
	struct tl_entry *e = tl_add(L, sc, t);
	snprintf(e->method, sizeof e->method, "%s", method);
	lua_pushfstring(L, "%ss:at(%f, %s, '%s'): ", e->where, t, luaL_tolstring(L, target, NULL),
			method);
	snprintf(e->where, sizeof e->where, "%s", lua_tostring(L, -1));
	lua_pushvalue(L, target);
	e->target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, opts);
	e->opts_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* s:every(interval, fn [, {from = t0, to = t1}]) */
static int s_every(lua_State *L)
{
	static const char *const keys[] = { "from", "to", NULL };
	struct scenario *sc = check_self(L);
	double every = luaL_checknumber(L, 2);
	if (!(every >= 0.001))
		return luaL_error(L, "s:every: the interval must be at least 0.001 s (got %f)",
				  every);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	opts_check(L, 4, "s:every", keys, true);
	double from = opts_number(L, 4, "from", every, 0, sc->duration, "s:every");
	double to = opts_number(L, 4, "to", sc->duration, from, sc->duration, "s:every");
	struct tl_entry *e = tl_add(L, sc, from);
	e->every = every;
	e->until = to;
	lua_pushvalue(L, 3);
	e->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

static const void *event_target(lua_State *L, int idx, const char *what)
{
	if (lua_type(L, idx) == LUA_TSTRING) {
		push_named(L, scenario_of(L), lua_tostring(L, idx));
		lua_replace(L, idx);
	}
	struct farm_resolver **r = luaL_testudata(L, idx, BIND_RESOLVER);
	if (r)
		return *r;
	struct farm_source **s = luaL_testudata(L, idx, BIND_SOURCE);
	if (s)
		return *s;
	luaL_error(L, "%s: the target must be a resolver or a zone source, got %s", what,
		   luaL_typename(L, idx));
	return NULL;
}

static const char *const events[] = { "booted",  "stopped",   "crashed",
				      "published", "healthy", "unhealthy", NULL };

static const char *check_event(lua_State *L, int idx, const char *what)
{
	const char *ev = luaL_checkstring(L, idx);
	for (size_t i = 0; events[i]; i++)
		if (strcmp(ev, events[i]) == 0)
			return events[i];
	luaL_error(L, "%s: unknown event '%s' (did you mean '%s'? events: booted, stopped, "
		      "crashed, published, healthy, unhealthy)",
		   what, ev, opts_closest(ev, events));
	return NULL;
}

/* s:on(target, "event", fn): runs fn(target, event) in a coroutine every time. */
static int s_on(lua_State *L)
{
	struct scenario *sc = check_self(L);
	const void *target = event_target(L, 2, "s:on");
	const char *ev = check_event(L, 3, "s:on");
	luaL_checktype(L, 4, LUA_TFUNCTION);
	sc->ls = grow(L, sc->ls, sc->nls, sizeof *sc->ls);
	struct listener *l = &sc->ls[sc->nls++];
	l->target = target;
	snprintf(l->event, sizeof l->event, "%s", ev);
	where(L, 1, l->where, sizeof l->where);
	lua_pushvalue(L, 4);
	l->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* Delivers one farm event to s:wait waiters and s:on listeners. */
static void deliver(struct scenario *sc, const void *target, const char *event)
{
	lua_State *L = sc->L;
	if (!sc->started)
		return;
	/* Waiters first (they were waiting), then listeners. Only those there
	 * before the event: a waiter that waits again, or a listener that adds
	 * a listener, waits for the next one. */
	uint64_t last = sc->park_seq;
	size_t nls = sc->nls;
	for (struct parked *p = sc->parked, *next; p; p = next) {
		next = p->next;
		if (p->target != target || strcmp(p->event, event) != 0 || p->seq > last)
			continue;
		int co_ref = p->co_ref;
		parked_unlink(p);
		lua_rawgeti(L, LUA_REGISTRYINDEX, co_ref);
		lua_State *co = lua_tothread(L, -1);
		lua_pop(L, 1);
		if (co)
			lua_pushboolean(co, 1);
		resume(sc, co_ref, 1);
		next = sc->parked; /* resuming may have parked or woken others */
	}
	for (size_t i = 0; i < nls; i++) {
		if (sc->ls[i].target != target || strcmp(sc->ls[i].event, event) != 0)
			continue;
		lua_rawgetp(L, LUA_REGISTRYINDEX, target); /* the object's handle */
		lua_pushstring(L, event);
		run_function(sc, sc->ls[i].fn_ref, 2);
	}
}

static void emit_flush(evutil_socket_t fd, short what, void *arg)
{
	struct scenario *sc = arg;
	(void)fd;
	(void)what;
	/* Events raised while delivering wait for the next turn of the loop. */
	size_t n = sc->nemits;
	struct pending_emit *batch = sc->emits;
	sc->emits = NULL;
	sc->nemits = sc->cap_emits = 0;
	for (size_t i = 0; i < n; i++)
		deliver(sc, batch[i].target, batch[i].event);
	free(batch);
}

/*
 * Farm events are delivered on the next turn of the loop, not from inside
 * the call that caused them: so `r:restart{}` followed by `s:wait(r,
 * "booted")` sees the boot, whether it took a transfer or happened at once.
 */
void scenario_emit(struct scenario *sc, const void *target, const char *event)
{
	if (!sc->started || !sc->emit_ev)
		return;
	if (sc->nemits == sc->cap_emits) {
		size_t cap = sc->cap_emits ? sc->cap_emits * 2 : 16;
		struct pending_emit *p = realloc(sc->emits, cap * sizeof *p);
		if (!p) {
			runner_abort(sc->run, RUNNER_FAILED, "out of memory");
			return;
		}
		sc->emits = p;
		sc->cap_emits = cap;
	}
	sc->emits[sc->nemits].target = target;
	snprintf(sc->emits[sc->nemits].event, sizeof sc->emits[sc->nemits].event, "%s", event);
	sc->nemits++;
	static const struct timeval now = { 0, 0 };
	evtimer_add(sc->emit_ev, &now);
}

/*
 * Raises unless L is the timeline coroutine the runner is resuming, and may
 * yield to it from here (what: "s:sleep", ...). The rule is in the header.
 */
static void check_can_pause(lua_State *L, struct scenario *sc, const char *what)
{
	if (!sc->started || !sc->running)
		luaL_error(L, "%s works only inside a timeline function (s:at, s:every, s:on)",
			   what);
	if (L != sc->running)
		luaL_error(L, "%s works only in the timeline function itself, not in a coroutine "
			      "it made (coroutine.wrap or coroutine.create): call it outside that "
			      "coroutine",
			   what);
	if (!lua_isyieldable(L))
		luaL_error(L, "%s cannot pause here: it is inside a function called from C (a "
			      "table.sort comparator, a string.gsub replacement, a finalizer, ...)",
			   what);
}

/* Where s:sleep, s:wait and s:query go on when the runner wakes them. */
static int pause_done(lua_State *L, int status, lua_KContext base)
{
	struct scenario *sc = scenario_of(L);
	(void)status;
	if (!sc || sc->running != L) {
		/* A coroutine.resume of the scenario's, not the runner: refuse it, and
		 * stop the run (the scenario may swallow this error). */
		luaL_where(L, 1);
		lua_pushfstring(L, "%sa timeline function paused in s:sleep, s:wait or s:query was "
				   "resumed by coroutine.resume: only the run wakes it",
				lua_tostring(L, -1));
		if (sc)
			runner_abort(sc->run, RUNNER_BAD_INPUT, "%s", lua_tostring(L, -1));
		return lua_error(L);
	}
	return lua_gettop(L) - (int)base; /* the wake-up values */
}

/* Yields the marker to the runner, which parks the coroutine (sc->yield_* say how). */
static int pause_timeline(lua_State *L)
{
	int base = lua_gettop(L);
	lua_pushlightuserdata(L, &yield_marker);
	return lua_yieldk(L, 1, base, pause_done);
}

/* s:sleep(seconds): only inside a timeline function. */
static int s_sleep(lua_State *L)
{
	struct scenario *sc = check_self(L);
	double s = luaL_checknumber(L, 2);
	if (!(s >= 0 && s <= DURATION_MAX))
		return luaL_error(L, "s:sleep: seconds must be >= 0 (got %f)", s);
	check_can_pause(L, sc, "s:sleep");
	sc->yield_kind = YIELD_SLEEP;
	sc->yield_s = s;
	return pause_timeline(L);
}

/* s:wait(target, "event" [, timeout]): true when it happened, false on timeout. */
static int s_wait(lua_State *L)
{
	struct scenario *sc = check_self(L);
	const void *target = event_target(L, 2, "s:wait");
	const char *ev = check_event(L, 3, "s:wait");
	double timeout = luaL_optnumber(L, 4, -1);
	check_can_pause(L, sc, "s:wait");
	sc->yield_kind = YIELD_WAIT;
	sc->yield_target = target;
	snprintf(sc->yield_event, sizeof sc->yield_event, "%s", ev);
	sc->yield_timeout = timeout;
	return pause_timeline(L);
}

static void push_rdata(lua_State *L, const ldns_rr *rr)
{
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		char *t = ldns_rdf2str(ldns_rr_rdf(rr, i));
		if (i)
			luaL_addchar(&b, ' ');
		luaL_addstring(&b, t ? t : "?");
		free(t);
	}
	luaL_pushresult(&b);
}

/* The result table of s:query, built on the coroutine's stack. */
static void push_result(lua_State *co, const struct probe_result *res, uint16_t qtype)
{
	char rb[16];
	lua_createtable(co, 0, 10);
	lua_pushboolean(co, res->status == PROBE_ANSWER);
	lua_setfield(co, -2, "ok");
	lua_pushstring(co, probe_status_name(res->status));
	lua_setfield(co, -2, "status");
	lua_pushnumber(co, res->latency_s);
	lua_setfield(co, -2, "latency");
	if (res->status != PROBE_ANSWER) {
		lua_pushstring(co, res->error);
		lua_setfield(co, -2, "error");
		return;
	}
	lua_pushstring(co, answer_rcode_str(res->rcode, rb, sizeof rb));
	lua_setfield(co, -2, "rcode");
	lua_pushboolean(co, (res->flags & WIRE_FLAG_AA) != 0);
	lua_setfield(co, -2, "aa");
	lua_pushboolean(co, (res->flags & WIRE_FLAG_TC) != 0);
	lua_setfield(co, -2, "tc");
	ldns_rr_list *an = ldns_pkt_answer(res->pkt);
	lua_newtable(co); /* answers: rdata of the asked type */
	lua_newtable(co); /* records: every answer record as text */
	for (size_t i = 0, n = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *t = ldns_rr2str(rr);
		if (t) {
			t[strcspn(t, "\n")] = 0;
			lua_pushstring(co, t);
			lua_rawseti(co, -2, (lua_Integer)i + 1);
			free(t);
		}
		if (ldns_rr_get_type(rr) == qtype) {
			push_rdata(co, rr);
			lua_rawseti(co, -3, (lua_Integer)++n);
		}
	}
	lua_setfield(co, -3, "records");
	lua_setfield(co, -2, "answers");
	/* The SOA serial, from the answer or the authority section. */
	ldns_rr_list *lists[2] = { an, ldns_pkt_authority(res->pkt) };
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < ldns_rr_list_rr_count(lists[l]); i++) {
			ldns_rr *rr = ldns_rr_list_rr(lists[l], i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) >= 3) {
				lua_pushinteger(co, ldns_rdf2native_int32(ldns_rr_rdf(rr, 2)));
				lua_setfield(co, -2, "serial");
				l = 2;
				break;
			}
		}
}

static void query_done(void *arg, const struct probe_result *res)
{
	struct parked *p = arg;
	struct scenario *sc = p->sc;
	int co_ref = p->co_ref;
	uint16_t qtype = p->qtype;
	p->probe = NULL; /* it frees itself */
	parked_unlink(p);
	lua_rawgeti(sc->L, LUA_REGISTRYINDEX, co_ref);
	lua_State *co = lua_tothread(sc->L, -1);
	lua_pop(sc->L, 1);
	if (co)
		push_result(co, res, qtype);
	resume(sc, co_ref, 1);
}

/*
 * s:query(target, "name", "A", { transport = "udp", timeout = 1 }): one real
 * query to a resolver, a zone source or a loopback "ip:port"; waits for the
 * reply and returns a table (ok, status, rcode, answers, records, serial, ...).
 */
static int s_query(lua_State *L)
{
	static const char *const keys[] = { "transport", "timeout", "edns", "rd", NULL };
	static const char *const transports[] = { "udp", "tcp", NULL };
	struct scenario *sc = check_self(L);
	struct addr server;
	char err[256];
	if (lua_type(L, 2) == LUA_TSTRING) {
		if (addr_parse(lua_tostring(L, 2), 53, &server, err, sizeof err) != 0)
			return luaL_error(L, "s:query: %s", err);
	} else if (luaL_testudata(L, 2, BIND_RESOLVER)) {
		server = *farm_resolver_addr(resolver_check(L, 2));
	} else if (luaL_testudata(L, 2, BIND_SOURCE)) {
		server = *farm_source_addr(source_check(L, 2));
	} else if (luaL_testudata(L, 2, BIND_VIP)) {
		server = *farm_vip_addr(vip_check(L, 2));
	} else {
		return luaL_error(L, "s:query: the target must be a resolver, a zone source, a vip "
				     "or 'ip:port', got %s",
				  luaL_typename(L, 2));
	}
	const char *name = luaL_checkstring(L, 3);
	const char *type = luaL_optstring(L, 4, "A");
	uint16_t qtype = (uint16_t)ldns_get_rr_type_by_name(type);
	if (qtype == 0)
		return luaL_error(L, "s:query: unknown type '%s'", type);
	opts_check(L, 5, "s:query", keys, true);
	struct probe_options po = {
		.transport = opts_enum(L, 5, "transport", transports, 0, "s:query") == 0 ? ANSWER_UDP
											 : ANSWER_TCP,
		.timeout_s = opts_number(L, 5, "timeout", 1.0, 0.001, 60, "s:query"),
		.edns = opts_bool(L, 5, "edns", false, "s:query"),
		.rd = opts_bool(L, 5, "rd", false, "s:query"),
	};
	check_can_pause(L, sc, "s:query");
	struct parked *p = calloc(1, sizeof *p);
	if (!p)
		return luaL_error(L, "out of memory");
	p->sc = sc;
	p->qtype = qtype;
	p->co_ref = LUA_NOREF;
	p->probe = probe_start(runner_base(sc->run), &server, name, qtype, &po, query_done, p, err,
			       sizeof err);
	if (!p->probe) {
		free(p);
		return luaL_error(L, "s:query: %s", err);
	}
	p->next = sc->parked;
	if (sc->parked)
		sc->parked->prev = p;
	sc->parked = p;
	sc->yield_kind = YIELD_QUERY;
	sc->yield_parked = p;
	return pause_timeline(L);
}

static int s_now(lua_State *L)
{
	struct scenario *sc = check_self(L);
	lua_pushnumber(L, runner_now(sc->run));
	return 1;
}

static int s_get(lua_State *L)
{
	struct scenario *sc = check_self(L);
	push_named(L, sc, luaL_checkstring(L, 2));
	return 1;
}

static int s_log(lua_State *L)
{
	lua_remove(L, 1);
	lua_getglobal(L, "print");
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 0);
	return 0;
}

static int s_index(lua_State *L)
{
	struct scenario *sc = check_self(L);
	const char *k = luaL_checkstring(L, 2);
	if (strcmp(k, "name") == 0)
		lua_pushstring(L, sc->name);
	else if (strcmp(k, "duration") == 0)
		lua_pushnumber(L, sc->duration);
	else if (strcmp(k, "seed") == 0)
		lua_pushinteger(L, (lua_Integer)runner_seed(sc->run));
	else if (luaL_getmetafield(L, 1, "__methods") == LUA_TTABLE)
		lua_getfield(L, -1, k);
	else
		lua_pushnil(L);
	return 1;
}

static int s_tostring(lua_State *L)
{
	struct scenario *sc = check_self(L);
	lua_pushfstring(L, "scenario '%s'", sc->name);
	return 1;
}

/* scenario{ name = "...", duration = 12, seed = 7 } */
static int scenario_new(lua_State *L)
{
	static const char *const keys[] = { "name", "duration", "seed", "grace", NULL };
	struct runner *run = sandbox_runner(L);
	if (scenario_of(L))
		return luaL_error(L, "scenario{} may be called once per file");
	opts_check(L, 1, "scenario", keys, false);
	size_t name_len;
	const char *name = opts_string(L, 1, "name", NULL, "scenario");
	/* It names the run in the history, and `dnschaos check` matches it
	 * there: text that reads back the same, so UTF-8, and not cut. */
	name_len = strlen(name);
	if (name_len >= sizeof ((struct scenario *)0)->name)
		return luaL_error(L, "scenario: 'name' is longer than %d bytes",
				  (int)sizeof ((struct scenario *)0)->name - 1);
	for (size_t i = 0; i < name_len;) {
		uint32_t cp;
		size_t k = utf8_next((const unsigned char *)name + i, name_len - i, &cp);
		if (cp == UTF8_REPLACEMENT && k == 1)
			return luaL_error(L, "scenario: 'name' is not UTF-8 text (byte %d)",
					  (int)i + 1);
		i += k;
	}
	double duration = opts_number(L, 1, "duration", 10, 0.1, DURATION_MAX, "scenario");
	double grace = opts_number(L, 1, "grace", 0, 0, 3600, "scenario");
	bool has_seed = opts_has(L, 1, "seed");
	double seed = opts_number(L, 1, "seed", 1, 0, 9007199254740991.0, "scenario");
	if (has_seed && seed != (double)(uint64_t)seed)
		return luaL_error(L, "scenario: 'seed' must be a whole number (got %f)", seed);

	struct scenario *sc = calloc(1, sizeof *sc);
	if (!sc)
		return luaL_error(L, "out of memory");
	sc->run = run;
	sc->L = L;
	snprintf(sc->name, sizeof sc->name, "%s", name);
	sc->duration = duration;
	sc->has_seed = has_seed;
	sc->seed = (uint64_t)seed;
	sc->unbound_cache = -1;
	classify_set_grace(runner_classify(run), grace);
	lua_pushlightuserdata(L, sc);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &scenario_key);
	/* The seed in force (--seed wins) drives math.random and every fault decision. */
	uint64_t in_force = runner_scenario_seed(run, has_seed ? sc->seed : 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.randomseed");
	lua_pushinteger(L, (lua_Integer)in_force);
	lua_call(L, 1, 0);

	struct scenario **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = sc;
	luaL_setmetatable(L, BIND_SCENARIO);
	return 1;
}

void scenario_open(lua_State *L, struct runner *run)
{
	static const luaL_Reg methods[] = {
		{ "zone", zone_new },	       { "zone_source", source_new }, { "resolver", resolver_new }, { "vip", vip_new }, { "client", client_new }, { "expect", expect_new },
		{ "at", s_at },		       { "every", s_every },	      { "on", s_on },
		{ "sleep", s_sleep },	       { "wait", s_wait },	      { "now", s_now },
		{ "get", s_get },	       { "log", s_log },	      { "query", s_query },
		{ NULL, NULL },
	};
	(void)run;
	luaL_newmetatable(L, BIND_SCENARIO);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__methods");
	lua_pushcfunction(L, s_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, s_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "scenario");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	resolver_open(L);
	source_open(L);
	zone_open(L);
	fault_open(L);
	vip_open(L);
	client_open(L);
	expect_open(L);
	lua_pushcfunction(L, scenario_new);
	lua_setglobal(L, "scenario");
}

/* ---- run lifecycle ---- */

int scenario_start(struct scenario *sc, char *err, size_t errlen)
{
	sc->started = true;
	sc->emit_ev = evtimer_new(runner_base(sc->run), emit_flush, sc);
	if (!sc->emit_ev) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < sc->nsrc; i++)
		if (farm_source_start(sc->sources[i], err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < sc->nres; i++)
		if (farm_resolver_start(sc->resolvers[i], NULL, err, errlen) != 0)
			return -1;
	/* VIPs last: they forward to the resolvers' ports, known only now. */
	for (size_t i = 0; i < sc->nvip; i++)
		if (farm_vip_start(sc->vips[i], err, errlen) != 0)
			return -1;
	/* Clients last: they ask the farm, which is listening now. */
	for (size_t i = 0; i < sc->ncli; i++)
		if (client_start(sc->clients[i], err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < sc->ntl; i++) {
		struct tl_entry *e = sc->tl[i];
		/* A one-shot entry due with an earlier one runs in its chain. */
		struct tl_entry *head = NULL;
		for (size_t j = 0; j < i && !head && e->every == 0; j++)
			if (sc->tl[j]->every == 0 && sc->tl[j]->at == e->at && sc->tl[j]->ev)
				head = sc->tl[j];
		if (head) {
			while (head->chain)
				head = head->chain;
			head->chain = e;
			continue;
		}
		e->ev = evtimer_new(runner_base(sc->run), tl_fire, e);
		if (!e->ev) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		e->next = e->at;
		/* Relative to now: starting the farm took a little of the run already. */
		double after = e->at - runner_now(sc->run);
		struct timeval tv = clock_timeval(after);
		evtimer_add(e->ev, &tv);
	}
	return 0;
}

void scenario_stop(struct scenario *sc)
{
	for (size_t i = 0; i < sc->ntl; i++)
		if (sc->tl[i]->ev)
			event_del(sc->tl[i]->ev);
	while (sc->parked)
		parked_unlink(sc->parked);
	if (sc->emit_ev)
		event_del(sc->emit_ev);
	sc->nemits = 0;
	sc->started = false; /* no more events reach Lua */
	/* Clients first: what is in flight is recorded as cancelled before the farm goes. */
	for (size_t i = 0; i < sc->ncli; i++)
		client_stop(sc->clients[i]);
	for (size_t i = 0; i < sc->nvip; i++)
		farm_vip_stop(sc->vips[i]);
	for (size_t i = 0; i < sc->nres; i++) {
		farm_resolver_heal(sc->resolvers[i], 0);
		farm_resolver_stop(sc->resolvers[i], "end");
	}
	for (size_t i = 0; i < sc->nsrc; i++)
		farm_source_stop(sc->sources[i]);
	/* Blocked stack calls end now that the ports are closed (port unreachable). */
	for (size_t i = 0; i < sc->ncli; i++)
		client_reap(sc->clients[i]);
}

void scenario_destroy(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->ntl; i++) {
		if (sc->tl[i]->ev)
			event_free(sc->tl[i]->ev);
		free(sc->tl[i]);
	}
	free(sc->tl);
	while (sc->parked)
		parked_unlink(sc->parked);
	if (sc->emit_ev)
		event_free(sc->emit_ev);
	free(sc->emits);
	free(sc->ls);
	for (size_t i = 0; i < sc->ncli; i++)
		client_destroy(sc->clients[i]);
	free(sc->clients);
	free(sc->expects);
	for (size_t i = 0; i < sc->nallocs; i++)
		free(sc->allocs[i]);
	free(sc->allocs);
	/* VIPs first: a live one still holds its resolvers (struct vip_local). */
	for (size_t i = 0; i < sc->nvip; i++)
		farm_vip_destroy(sc->vips[i]);
	free(sc->vips);
	for (size_t i = 0; i < sc->nres; i++)
		farm_resolver_destroy(sc->resolvers[i]);
	free(sc->resolvers);
	for (size_t i = 0; i < sc->nsrc; i++)
		farm_source_destroy(sc->sources[i]);
	free(sc->sources);
	free(sc);
}
