/*
 * resolver.c - the resolver type: s:resolver{...} declares a fake resolver;
 * its methods inject faults (hang, delay, rcode, truncate, wrong, capacity),
 * heal them, and drive its lifecycle (stop, start, crash, restart, reload).
 * Every method that acts parses all of its options into a struct run_action
 * (action.c) and hands it to run_act; s:at parses a declared action with the
 * same function and puts it on the run's timeline.
 */
#include "harness/lua/bind.h"
#include "harness/run/run.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

/* gate = { source = truth, answer = "servfail", clients = false, reload = false } */
static void read_gate(lua_State *L, int idx, struct farm_gate *g, struct farm_source *boot_src)
{
	static const char *const keys[] = { "source", "answer", "clients", "reload", NULL };
	static const char *const answers[] = { "servfail", "refused", "silence", NULL };
	const char *what = "resolver: gate";
	memset(g, 0, sizeof *g);
	opts_check(L, idx, what, keys, false);
	struct farm_source **src = opts_udata(L, idx, "source", BIND_SOURCE, what);
	g->source = src ? *src : boot_src;
	if (!g->source) {
		lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.sources");
		if (luaL_len(L, -1) == 1) {
			lua_rawgeti(L, -1, 1);
			g->source = source_check(L, -1);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (!g->source)
		luaL_error(L, "%s: compares with what a zone source publishes: give source = "
			      "<zone source>",
			   what);
	g->answer = (enum farm_gate_answer)opts_enum(L, idx, "answer", answers, 0, what);
	g->clients = opts_bool(L, idx, "clients", false, what);
	g->reload = opts_bool(L, idx, "reload", false, what);
}

/* s:resolver{ name = "r1", zone = z | file = "..." | boot = "source", address = "..." } */
int resolver_new(lua_State *L)
{
	static const char *const keys[] = { "name", "boot", "zone", "file", "zones", "source",
					    "address", "gate", NULL };
	const char *what = "resolver";
	struct scenario *sc = scenario_get(L);
	struct addr addr;

	luaL_checkudata(L, 1, BIND_SCENARIO);
	opts_check(L, 2, what, keys, false);
	const char *name = opts_string(L, 2, "name", NULL, what);
	scenario_check_name(L, sc, name, what);
	scenario_pick_address(L, sc, 2, &addr, what);
	struct farm_boot *boot = boot_push(L); /* a raise below frees its zones */
	if (!boot_from_opts(L, 2, boot, what)) {
		lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.sources");
		lua_Integer n = luaL_len(L, -1);
		if (n != 1)
			return luaL_error(L, "resolver '%s': say how it boots: zone = <zone>, file = "
					     "'path', or boot = 'source'",
					  name);
		lua_rawgeti(L, -1, 1);
		boot->source = source_check(L, -1);
		lua_pop(L, 2);
	}
	struct farm_gate gate;
	bool gated = false;
	if (lua_getfield(L, 2, "gate") != LUA_TNIL) {
		gated = true;
		read_gate(L, lua_gettop(L), &gate, boot->source);
	}
	lua_pop(L, 1);
	/* The handle first: nothing can raise between declaring and boxing. */
	struct farm_resolver **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	char err[256];
	struct farm_resolver *r = runner_new_resolver(sandbox_runner(L), name, &addr, boot,
						      gated ? &gate : NULL, err, sizeof err);
	farm_boot_clear(boot);
	if (!r)
		return luaL_error(L, "resolver: %s", err);
	*box = r;
	luaL_setmetatable(L, BIND_RESOLVER);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, r);
	decl_record(L, "resolver", 2);
	return 1;
}

static const char *const match_keys[] = { "fraction", "name",      "qtype",
					    "transport", "duration", NULL };

/* Reads the options every fault takes; returns the auto-heal duration. */
static double read_match(lua_State *L, int idx, struct fault_match *m, const char *what)
{
	static const char *const transports[] = { "udp", "tcp", "any", NULL };
	char err[256];
	fault_match_all(m);
	m->fraction = opts_number(L, idx, "fraction", 1.0, 0.0, 1.0, what);
	const char *name = opts_string(L, idx, "name", "", what);
	if (name[0] && fault_match_name(m, name, err, sizeof err) != 0)
		luaL_error(L, "%s: %s", what, err);
	const char *qtype = opts_string(L, idx, "qtype", "", what);
	if (qtype[0]) {
		m->qtype = (uint16_t)ldns_get_rr_type_by_name(qtype);
		if (m->qtype == 0)
			luaL_error(L, "%s: unknown qtype '%s' (write A, AAAA, SOA, ...)", what, qtype);
	}
	int t = opts_enum(L, idx, "transport", transports, 2, what);
	m->transport = t == 0 ? ANSWER_UDP : t == 1 ? ANSWER_TCP : -1;
	return opts_number(L, idx, "duration", 0, 0, 7 * 24 * 3600.0, what);
}

/* The target of a fault method: a resolver of the farm, or a remote daemon
 * (s:remote, lua/remote.c), which takes the same faults over its control
 * connection and so shares these parsers. */
static void fault_target(lua_State *L, int self, struct run_action *a)
{
	if (luaL_testudata(L, self, BIND_REMOTE))
		a->remote = remote_check(L, self);
	else
		a->resolver = resolver_check(L, self);
}

void resolver_fault_opts(lua_State *L, int self, int idx, struct run_action *a,
			 enum fault_kind kind, const char *what, const char *const own[])
{
	const char *keys[24];
	size_t n = 0;
	for (size_t i = 0; own[i]; i++)
		keys[n++] = own[i];
	for (size_t i = 0; match_keys[i]; i++)
		keys[n++] = match_keys[i];
	keys[n] = NULL;
	opts_check(L, idx, what, keys, true);
	a->verb = RUN_INJECT;
	fault_target(L, self, a);
	a->fault.kind = kind;
	a->duration = read_match(L, idx, &a->fault.match, what);
}

/* r:hang{...}: no reply at all to matching queries. */
void resolver_parse_hang(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const own[] = { NULL };
	resolver_fault_opts(L, self, idx, a, FAULT_HANG, "hang", own);
}

/* r:delay{ ms = 200, jitter = 50, dist = "uniform" } */
void resolver_parse_delay(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const own[] = { "ms", "jitter", "dist", NULL };
	static const char *const dists[] = { "constant", "uniform", "normal", "exponential",
					     "pareto", NULL };
	resolver_fault_opts(L, self, idx, a, FAULT_DELAY, "delay", own);
	if (!opts_has(L, idx, "ms"))
		luaL_error(L, "delay: option 'ms' is required (the added latency)");
	a->fault.delay_s = opts_number(L, idx, "ms", 0, 0, 600000, "delay") / 1000.0;
	a->fault.spread_s = opts_number(L, idx, "jitter", 0, 0, 600000, "delay") / 1000.0;
	int d = opts_enum(L, idx, "dist", dists, a->fault.spread_s > 0 ? 1 : 0, "delay");
	a->fault.dist = (enum rng_dist)d;
}

/* r:rcode{ rcode = "SERVFAIL" } */
void resolver_parse_rcode(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const own[] = { "rcode", NULL };
	static const char *const rcodes[] = { "SERVFAIL", "REFUSED", "NXDOMAIN", "FORMERR",
					      "NOTIMP", NULL };
	static const uint16_t values[] = { DNS_RCODE_SERVFAIL, DNS_RCODE_REFUSED,
					   DNS_RCODE_NXDOMAIN, DNS_RCODE_FORMERR, DNS_RCODE_NOTIMP };
	resolver_fault_opts(L, self, idx, a, FAULT_RCODE, "rcode", own);
	a->fault.rcode = values[opts_enum(L, idx, "rcode", rcodes, 0, "rcode")];
}

/* r:truncate{...}: TC on UDP replies, so clients retry over TCP. */
void resolver_parse_truncate(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const own[] = { NULL };
	resolver_fault_opts(L, self, idx, a, FAULT_TRUNCATE, "truncate", own);
}

/* r:wrong{ address = "10.0.0.9" } or r:wrong{ zone = stale } */
static void parse_wrong(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const own[] = { "address", "zone", "file", NULL };
	resolver_fault_opts(L, self, idx, a, FAULT_WRONG, "wrong", own);
	const char *address = opts_string(L, idx, "address", "", "wrong");
	bool by_zone = opts_has(L, idx, "zone") || opts_has(L, idx, "file");
	if (address[0] == 0 && !by_zone)
		luaL_error(L, "wrong: give address = 'ip' or zone = <zone> / file = 'path'");
	if (address[0] && by_zone)
		luaL_error(L, "wrong: give an address or a zone, not both");
	if (address[0]) {
		if (inet_pton(AF_INET, address, a->fault.wrong_addr) == 1)
			a->fault.wrong_family = AF_INET;
		else if (inet_pton(AF_INET6, address, a->fault.wrong_addr) == 1)
			a->fault.wrong_family = AF_INET6;
		else
			luaL_error(L, "wrong: '%s' is not an IPv4 or IPv6 address", address);
		return;
	}
	/* The zone goes into the action's boot plan: its __gc drops it on a raise. */
	lua_newtable(L);
	lua_getfield(L, idx, "zone");
	lua_setfield(L, -2, "zone");
	lua_getfield(L, idx, "file");
	lua_setfield(L, -2, "file");
	boot_from_opts(L, lua_gettop(L), &a->boot, "wrong");
	lua_pop(L, 1);
}

/* r:capacity{ qps = 500, queue = 100 } */
void resolver_parse_capacity(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = { "qps", "queue", "duration", NULL };
	opts_check(L, idx, "capacity", keys, false);
	if (!opts_has(L, idx, "qps"))
		luaL_error(L, "capacity: option 'qps' is required (queries served per second)");
	a->verb = RUN_CAPACITY;
	fault_target(L, self, a);
	a->qps = opts_number(L, idx, "qps", 0, 0.1, 10000000, "capacity");
	a->queue = (unsigned)opts_number(L, idx, "queue", 100, 1, 1000000, "capacity");
	a->duration = opts_number(L, idx, "duration", 0, 0, 7 * 24 * 3600.0, "capacity");
}

/* r:heal() heals every fault; r:heal(f) one. */
static void parse_heal(lua_State *L, int self, int idx, struct run_action *a)
{
	a->verb = RUN_HEAL;
	a->resolver = resolver_check(L, self);
	if (!lua_isnoneornil(L, idx) && !lua_istable(L, idx)) {
		luaL_checkudata(L, idx, BIND_FAULT);
		lua_getfield(L, idx, "id");
		a->fault_id = (uint32_t)lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
}

static void parse_stop(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = { NULL };
	opts_check(L, idx, "stop", keys, true);
	a->verb = RUN_STOP;
	a->resolver = resolver_check(L, self);
}

static const char *const boot_keys[] = { "boot", "zone", "file", "zones", "source", NULL };

static void parse_start(lua_State *L, int self, int idx, struct run_action *a)
{
	opts_check(L, idx, "start", boot_keys, true);
	a->verb = RUN_START;
	a->resolver = resolver_check(L, self);
	a->has_boot = boot_from_opts(L, idx, &a->boot, "start");
}

/* r:crash{ down = 5, zone = stale } and r:restart{ zone = stale } (down = 0). */
static void parse_crash_restart(lua_State *L, int self, int idx, struct run_action *a,
				const char *what, bool restart)
{
	static const char *const keys[] = { "down", "boot", "zone", "file", "zones", "source", NULL };
	opts_check(L, idx, what, restart ? boot_keys : keys, true);
	a->verb = restart ? RUN_RESTART : RUN_CRASH;
	a->resolver = resolver_check(L, self);
	a->down = restart ? 0 : opts_number(L, idx, "down", 0, 0, 7 * 24 * 3600.0, what);
	a->has_boot = boot_from_opts(L, idx, &a->boot, what);
}

static void parse_crash(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_crash_restart(L, self, idx, a, "crash", false);
}

static void parse_restart(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_crash_restart(L, self, idx, a, "restart", true);
}

/* r:reload{ zone = z } or { boot = "source" }: new data, ports stay open. */
static void parse_reload(lua_State *L, int self, int idx, struct run_action *a)
{
	opts_check(L, idx, "reload", boot_keys, false);
	a->verb = RUN_RELOAD;
	a->resolver = resolver_check(L, self);
	a->has_boot = boot_from_opts(L, idx, &a->boot, "reload");
	if (!a->has_boot)
		luaL_error(L, "reload: give zone = <zone>, file = 'path' or boot = 'source'");
}

/* A fault method returns the fault. */
static int push_fault(lua_State *L, const struct run_action *a, const struct run_result *res)
{
	fault_push(L, a->resolver, res->fault_id,
		   a->verb == RUN_CAPACITY ? "capacity" : fault_kind_name(a->fault.kind));
	return 1;
}

static int push_healed(lua_State *L, const struct run_action *a, const struct run_result *res)
{
	(void)a;
	lua_pushinteger(L, res->healed);
	return 1;
}

const struct action_method resolver_actions[] = {
	{ "hang", resolver_parse_hang, true, false, push_fault },
	{ "delay", resolver_parse_delay, true, false, push_fault },
	{ "rcode", resolver_parse_rcode, true, false, push_fault },
	{ "truncate", resolver_parse_truncate, true, false, push_fault },
	{ "wrong", parse_wrong, true, false, push_fault },
	{ "capacity", resolver_parse_capacity, true, false, push_fault },
	{ "heal", parse_heal, true, false, push_healed },
	{ "stop", parse_stop, true, false, NULL },
	{ "start", parse_start, true, false, NULL },
	{ "crash", parse_crash, true, false, NULL },
	{ "restart", parse_restart, true, false, NULL },
	{ "reload", parse_reload, true, false, NULL },
	{ NULL, NULL, false, false, NULL },
};

#define METHOD(fn, i)                                    \
	static int fn(lua_State *L)                      \
	{                                                \
		resolver_check(L, 1);                    \
		return action_method(L, &resolver_actions[i]); \
	}
METHOD(r_hang, 0)
METHOD(r_delay, 1)
METHOD(r_rcode, 2)
METHOD(r_truncate, 3)
METHOD(r_wrong, 4)
METHOD(r_capacity, 5)
METHOD(r_heal, 6)
METHOD(r_stop, 7)
METHOD(r_start, 8)
METHOD(r_crash, 9)
METHOD(r_restart, 10)
METHOD(r_reload, 11)
#undef METHOD

/* r:serial() is the serial it serves (its first zone), or nil. */
static int r_serial(lua_State *L)
{
	int64_t s = farm_resolver_first_serial(resolver_check(L, 1));
	if (s < 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, s);
	return 1;
}

/* r:gated(): true while it gates itself (its serial is behind the published one). */
static int r_gated(lua_State *L)
{
	lua_pushboolean(L, farm_resolver_gated(resolver_check(L, 1)));
	return 1;
}

static int r_state(lua_State *L)
{
	lua_pushstring(L, farm_state_name(farm_resolver_state(resolver_check(L, 1))));
	return 1;
}

static const luaL_Reg methods[] = {
	{ "hang", r_hang },	    { "delay", r_delay },     { "rcode", r_rcode },
	{ "truncate", r_truncate }, { "wrong", r_wrong },     { "capacity", r_capacity },
	{ "heal", r_heal },	    { "stop", r_stop },	      { "start", r_start },
	{ "crash", r_crash },	    { "restart", r_restart }, { "reload", r_reload },
	{ "serial", r_serial },	    { "state", r_state },     { "gated", r_gated },
	{ NULL, NULL },
};

static int r_index(lua_State *L)
{
	struct farm_resolver *r = resolver_check(L, 1);
	return opts_member_index(L, "resolver", farm_resolver_name(r), farm_resolver_addr(r),
	                         methods);
}

static int r_tostring(lua_State *L)
{
	lua_pushfstring(L, "resolver %s", farm_resolver_name(resolver_check(L, 1)));
	return 1;
}

void resolver_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", r_index },
		{ "__tostring", r_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_RESOLVER);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "resolver");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}
