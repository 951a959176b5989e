/*
 * sched.c - the scheduler of timeline functions: every one runs in its own
 * coroutine, resumed from the run's timers (harness/run/: runner_at_call),
 * farm events (runner_listen: s:wait, s:on) and query completions
 * (s:query). Every call into Lua is protected and has a deadline.
 *
 * The rule for pausing: s:sleep, s:wait and s:query pause the coroutine the
 * scheduler is resuming (sc->running), and nothing else. They yield a marker
 * to the scheduler, which parks the coroutine; called from a coroutine the
 * scenario made itself they raise (the scheduler would never see that
 * yield), and a yield without the marker reaching the scheduler (a bare
 * coroutine.yield in a timeline function) is an error at its line. A parked
 * coroutine is woken by the scheduler only: a coroutine.resume of it raises.
 */
#include "harness/lua/bind.h"
#include "harness/farm/remote.h"
#include "fakeresolver/clock.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "fakeresolver/probe.h"

#define DURATION_MAX (7 * 24 * 3600.0)

enum yield_kind { YIELD_NONE, YIELD_SLEEP, YIELD_WAIT, YIELD_QUERY };

/* s:on(target, event, fn) */
struct listener {
	const void *target;
	char event[32];
	int fn_ref;
	char where[256];
};

/* A coroutine parked in s:sleep, s:wait or s:query. */
struct parked {
	struct sched *sc;
	struct event *timer; /* wake-up (sleep) or timeout (wait); may be NULL */
	struct probe *probe; /* s:query in flight */
	uint16_t qtype;
	int co_ref;
	const void *target; /* s:wait: what it waits on */
	char event[32];
	uint64_t seq; /* order of parking: an event wakes only waiters parked before it */
	struct parked *prev, *next;
};

struct sched {
	struct runner *run;
	lua_State *L;
	struct listener *ls;
	size_t nls;
	struct parked *parked;
	uint64_t park_seq;
	bool stopped; /* the run stopped: nothing is resumed any more */
	/* What the last yield asked for (set by s:sleep / s:wait before yielding). */
	enum yield_kind yield_kind;
	double yield_s;
	const void *yield_target;
	char yield_event[32];
	double yield_timeout;
	struct parked *yield_parked; /* s:query: already made, waiting for its coroutine */
	lua_State *running; /* the timeline coroutine being resumed, or NULL */
};

/* What s:sleep, s:wait and s:query yield: the scheduler parks only this. */
static char yield_marker;

static const char sched_key = 0;

static struct sched *sched_of(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &sched_key);
	struct sched *sc = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return sc;
}

/* The scheduler of the scenario object at argument 1. */
static struct sched *check_self(lua_State *L)
{
	luaL_checkudata(L, 1, BIND_SCENARIO);
	struct sched *sc = sched_of(L);
	if (!sc)
		luaL_error(L, "internal error: no scheduler");
	return sc;
}

static void *grow(lua_State *L, void *p, size_t n, size_t elem)
{
	void *q = realloc(p, (n + 1) * elem);
	if (!q)
		luaL_error(L, "out of memory");
	return q;
}

static void where(lua_State *L, int level, char *out, size_t cap)
{
	luaL_where(L, level);
	snprintf(out, cap, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
}

/* ---- coroutines ---- */

static void parked_unlink(struct parked *p)
{
	struct sched *sc = p->sc;
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

static void resume(struct sched *sc, int co_ref, int nargs);

static void parked_fire(evutil_socket_t fd, short what, void *arg)
{
	struct parked *p = arg;
	struct sched *sc = p->sc;
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
static int park(struct sched *sc, int co_ref)
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
static void resume(struct sched *sc, int co_ref, int nargs)
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
static void run_function(struct sched *sc, int fn_ref, int nargs)
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

static const void *event_target(lua_State *L, int idx, const char *what)
{
	if (lua_type(L, idx) == LUA_TSTRING) {
		scenario_push_named(L, lua_tostring(L, idx));
		lua_replace(L, idx);
	}
	struct farm_resolver **r = luaL_testudata(L, idx, BIND_RESOLVER);
	if (r)
		return *r;
	struct farm_source **s = luaL_testudata(L, idx, BIND_SOURCE);
	if (s)
		return *s;
	struct farm_process **p = luaL_testudata(L, idx, BIND_PROCESS);
	if (p)
		return *p;
	luaL_error(L, "%s: the target must be a resolver, a process or a zone source, got %s", what,
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
int sched_on(lua_State *L)
{
	struct sched *sc = check_self(L);
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
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "target");
	lua_pushstring(L, ev);
	lua_setfield(L, -2, "event");
	lua_pushvalue(L, 4);
	lua_setfield(L, -2, "fn");
	decl_record(L, "on", -1);
	return 0;
}

/* Delivers one farm event to s:wait waiters and s:on listeners. */
static void deliver(void *arg, const void *target, const char *event)
{
	struct sched *sc = arg;
	lua_State *L = sc->L;
	if (sc->stopped)
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

/*
 * Raises unless L is the timeline coroutine the runner is resuming, and may
 * yield to it from here (what: "s:sleep", ...). The rule is in the header.
 */
static void check_can_pause(lua_State *L, struct sched *sc, const char *what)
{
	if (sc->stopped || !sc->running)
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
	struct sched *sc = sched_of(L);
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
int sched_sleep(lua_State *L)
{
	struct sched *sc = check_self(L);
	double s = luaL_checknumber(L, 2);
	if (!(s >= 0 && s <= DURATION_MAX))
		return luaL_error(L, "s:sleep: seconds must be >= 0 (got %f)", s);
	check_can_pause(L, sc, "s:sleep");
	sc->yield_kind = YIELD_SLEEP;
	sc->yield_s = s;
	return pause_timeline(L);
}

/* s:wait(target, "event" [, timeout]): true when it happened, false on timeout. */
int sched_wait(lua_State *L)
{
	struct sched *sc = check_self(L);
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
	struct sched *sc = p->sc;
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
 * query to a resolver, a zone source, a remote daemon (on another host with
 * --allow-non-loopback) or a loopback "ip:port"; waits for the
 * reply and returns a table (ok, status, rcode, answers, records, serial, ...).
 */
int sched_query(lua_State *L)
{
	static const char *const keys[] = { "transport", "timeout", "edns", "rd", NULL };
	static const char *const transports[] = { "udp", "tcp", NULL };
	struct sched *sc = check_self(L);
	struct addr server;
	char err[256];
	bool remote = false;
	if (lua_type(L, 2) == LUA_TSTRING) {
		if (addr_parse(lua_tostring(L, 2), 53, &server, err, sizeof err) != 0)
			return luaL_error(L, "s:query: %s", err);
	} else if (luaL_testudata(L, 2, BIND_RESOLVER)) {
		server = *farm_resolver_addr(resolver_check(L, 2));
	} else if (luaL_testudata(L, 2, BIND_SOURCE)) {
		server = *farm_source_addr(source_check(L, 2));
	} else if (luaL_testudata(L, 2, BIND_PROCESS)) {
		server = *farm_process_addr(process_check(L, 2));
	} else if (luaL_testudata(L, 2, BIND_REMOTE)) {
		/* on another host only if the run allowed it (s:remote checked) */
		server = *farm_remote_addr(remote_check(L, 2));
		remote = true;
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
		.non_loopback = remote,
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


/* ---- life ---- */

struct sched *sched_create(lua_State *L, struct runner *run)
{
	struct sched *sc = calloc(1, sizeof *sc);
	if (!sc)
		return NULL;
	sc->run = run;
	sc->L = L;
	lua_pushlightuserdata(L, sc);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &sched_key);
	runner_listen(run, deliver, sc);
	return sc;
}

static void sched_call(void *arg, int fn_ref)
{
	struct sched *sc = arg;
	if (!sc->stopped)
		run_function(sc, fn_ref, 0);
}

int sched_every(lua_State *L, double from, double every, double until, int fn_idx)
{
	struct sched *sc = sched_of(L);
	lua_pushvalue(L, fn_idx);
	int ref = luaL_ref(L, LUA_REGISTRYINDEX);
	if (runner_at_call(sc->run, from, every, until, sched_call, sc, ref) != 0) {
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		return -1;
	}
	return 0;
}

void sched_stop(struct sched *sc)
{
	if (!sc)
		return;
	sc->stopped = true;
	while (sc->parked)
		parked_unlink(sc->parked);
}

void sched_destroy(struct sched *sc)
{
	if (!sc)
		return;
	runner_listen(sc->run, NULL, NULL);
	while (sc->parked)
		parked_unlink(sc->parked);
	free(sc->ls);
	free(sc);
}
