/*
 * resolver.c - the resolver type: s:resolver{...} declares a fake resolver;
 * its methods inject faults (hang, delay, rcode, truncate, wrong, capacity),
 * heal them, and drive its lifecycle (stop, start, crash, restart, reload).
 * Every method parses all of its options before it acts, and in a dry run
 * (s:at validating a declared action) it stops there.
 */
#include "harness/lua/bind.h"
#include "harness/runner.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

struct farm_resolver *resolver_check(lua_State *L, int idx)
{
	struct farm_resolver **box = luaL_checkudata(L, idx, BIND_RESOLVER);
	return *box;
}

void resolver_push(lua_State *L, struct farm_resolver *r)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, r);
}

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
	struct farm_resolver *r = farm_resolver_create(runner_env(sandbox_runner(L)), name, &addr, boot);
	farm_boot_clear(boot);
	if (!r)
		return luaL_error(L, "out of memory");
	if (gated && farm_resolver_set_gate(r, &gate) != 0) {
		farm_resolver_destroy(r);
		return luaL_error(L, "resolver: too many resolvers gate on one zone source");
	}
	scenario_add_resolver(L, sc, r);
	struct farm_resolver **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = r;
	luaL_setmetatable(L, BIND_RESOLVER);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, r);
	return 1;
}

/* Raises unless the run is on (or validating): faults act on a live farm. */
static bool acting(lua_State *L, struct farm_resolver *r, const char *method)
{
	if (scenario_dry_run(L))
		return false;
	if (!runner_running(sandbox_runner(L)))
		luaL_error(L, "%s:%s happens during the run: use s:at(t, %s, '%s', {...}) or call it "
			      "in a timeline function",
			   farm_resolver_name(r), method, farm_resolver_name(r), method);
	return true;
}

static const char *const match_keys[] = { "fraction", "name", "qtype", "transport", "duration",
					   NULL };

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

/* Builds the key list of a fault: its own keys plus the matching ones. */
static void check_fault_opts(lua_State *L, int idx, const char *what, const char *const own[])
{
	const char *keys[24];
	size_t n = 0;
	for (size_t i = 0; own[i]; i++)
		keys[n++] = own[i];
	for (size_t i = 0; match_keys[i]; i++)
		keys[n++] = match_keys[i];
	keys[n] = NULL;
	opts_check(L, idx, what, keys, true);
}

static int inject(lua_State *L, struct farm_resolver *r, struct fault_spec *spec, double duration)
{
	uint32_t id = farm_resolver_inject(r, spec, duration);
	if (!id) {
		zone_set_destroy(spec->wrong_zones);
		return luaL_error(L, "out of memory");
	}
	fault_push(L, r, id, fault_kind_name(spec->kind));
	return 1;
}

/* r:hang{...}: no reply at all to matching queries. */
static int r_hang(lua_State *L)
{
	static const char *const own[] = { NULL };
	struct farm_resolver *r = resolver_check(L, 1);
	struct fault_spec spec = { .kind = FAULT_HANG };
	check_fault_opts(L, 2, "hang", own);
	double duration = read_match(L, 2, &spec.match, "hang");
	if (!acting(L, r, "hang"))
		return 0;
	return inject(L, r, &spec, duration);
}

/* r:delay{ ms = 200, jitter = 50, dist = "uniform" } */
static int r_delay(lua_State *L)
{
	static const char *const own[] = { "ms", "jitter", "dist", NULL };
	static const char *const dists[] = { "constant", "uniform", "normal", "exponential",
					     "pareto", NULL };
	struct farm_resolver *r = resolver_check(L, 1);
	struct fault_spec spec = { .kind = FAULT_DELAY };
	check_fault_opts(L, 2, "delay", own);
	double duration = read_match(L, 2, &spec.match, "delay");
	if (!opts_has(L, 2, "ms"))
		return luaL_error(L, "delay: option 'ms' is required (the added latency)");
	spec.delay_s = opts_number(L, 2, "ms", 0, 0, 600000, "delay") / 1000.0;
	spec.spread_s = opts_number(L, 2, "jitter", 0, 0, 600000, "delay") / 1000.0;
	int d = opts_enum(L, 2, "dist", dists, spec.spread_s > 0 ? 1 : 0, "delay");
	spec.dist = (enum rng_dist)d;
	if (!acting(L, r, "delay"))
		return 0;
	return inject(L, r, &spec, duration);
}

/* r:rcode{ rcode = "SERVFAIL" } */
static int r_rcode(lua_State *L)
{
	static const char *const own[] = { "rcode", NULL };
	static const char *const rcodes[] = { "SERVFAIL", "REFUSED", "NXDOMAIN", "FORMERR",
					      "NOTIMP", NULL };
	static const uint16_t values[] = { DNS_RCODE_SERVFAIL, DNS_RCODE_REFUSED,
					   DNS_RCODE_NXDOMAIN, DNS_RCODE_FORMERR, DNS_RCODE_NOTIMP };
	struct farm_resolver *r = resolver_check(L, 1);
	struct fault_spec spec = { .kind = FAULT_RCODE };
	check_fault_opts(L, 2, "rcode", own);
	double duration = read_match(L, 2, &spec.match, "rcode");
	spec.rcode = values[opts_enum(L, 2, "rcode", rcodes, 0, "rcode")];
	if (!acting(L, r, "rcode"))
		return 0;
	return inject(L, r, &spec, duration);
}

/* r:truncate{...}: TC on UDP replies, so clients retry over TCP. */
static int r_truncate(lua_State *L)
{
	static const char *const own[] = { NULL };
	struct farm_resolver *r = resolver_check(L, 1);
	struct fault_spec spec = { .kind = FAULT_TRUNCATE };
	check_fault_opts(L, 2, "truncate", own);
	double duration = read_match(L, 2, &spec.match, "truncate");
	if (!acting(L, r, "truncate"))
		return 0;
	return inject(L, r, &spec, duration);
}

/* r:wrong{ address = "10.0.0.9" } or r:wrong{ zone = stale } */
static int r_wrong(lua_State *L)
{
	static const char *const own[] = { "address", "zone", "file", NULL };
	struct farm_resolver *r = resolver_check(L, 1);
	struct fault_spec spec = { .kind = FAULT_WRONG };
	check_fault_opts(L, 2, "wrong", own);
	double duration = read_match(L, 2, &spec.match, "wrong");
	const char *address = opts_string(L, 2, "address", "", "wrong");
	bool by_zone = opts_has(L, 2, "zone") || opts_has(L, 2, "file");
	if (address[0] == 0 && !by_zone)
		return luaL_error(L, "wrong: give address = 'ip' or zone = <zone> / file = 'path'");
	if (address[0] && by_zone)
		return luaL_error(L, "wrong: give an address or a zone, not both");
	if (address[0]) {
		if (inet_pton(AF_INET, address, spec.wrong_addr) == 1)
			spec.wrong_family = AF_INET;
		else if (inet_pton(AF_INET6, address, spec.wrong_addr) == 1)
			spec.wrong_family = AF_INET6;
		else
			return luaL_error(L, "wrong: '%s' is not an IPv4 or IPv6 address", address);
	}
	struct farm_boot *b = boot_push(L); /* a raise below frees its zone */
	if (by_zone) {
		lua_newtable(L);
		lua_getfield(L, 2, "zone");
		lua_setfield(L, -2, "zone");
		lua_getfield(L, 2, "file");
		lua_setfield(L, -2, "file");
		boot_from_opts(L, lua_gettop(L), b, "wrong");
		lua_pop(L, 1);
	}
	if (!acting(L, r, "wrong")) {
		farm_boot_clear(b);
		return 0;
	}
	if (by_zone) {
		spec.wrong_zones = zone_set_create();
		if (!spec.wrong_zones || zone_set_add(spec.wrong_zones, b->zones[0], true) != 0) {
			farm_boot_clear(b);
			zone_set_destroy(spec.wrong_zones);
			return luaL_error(L, "out of memory");
		}
		farm_boot_clear(b);
	}
	return inject(L, r, &spec, duration);
}

/* r:capacity{ qps = 500, queue = 100 } */
static int r_capacity(lua_State *L)
{
	static const char *const keys[] = { "qps", "queue", "duration", NULL };
	struct farm_resolver *r = resolver_check(L, 1);
	opts_check(L, 2, "capacity", keys, false);
	if (!opts_has(L, 2, "qps"))
		return luaL_error(L, "capacity: option 'qps' is required (queries served per second)");
	double qps = opts_number(L, 2, "qps", 0, 0.1, 10000000, "capacity");
	double queue = opts_number(L, 2, "queue", 100, 1, 1000000, "capacity");
	double duration = opts_number(L, 2, "duration", 0, 0, 7 * 24 * 3600.0, "capacity");
	if (!acting(L, r, "capacity"))
		return 0;
	uint32_t id = farm_resolver_capacity(r, qps, (unsigned)queue, duration);
	if (!id)
		return luaL_error(L, "out of memory");
	fault_push(L, r, id, "capacity");
	return 1;
}

/* r:heal() heals every fault; r:heal(f) one. Returns how many. */
static int r_heal(lua_State *L)
{
	struct farm_resolver *r = resolver_check(L, 1);
	uint32_t id = 0;
	if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2)) {
		luaL_checkudata(L, 2, BIND_FAULT);
		lua_getfield(L, 2, "id");
		id = (uint32_t)lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	if (!acting(L, r, "heal"))
		return 0;
	lua_pushinteger(L, farm_resolver_heal(r, id));
	return 1;
}

static int r_stop(lua_State *L)
{
	struct farm_resolver *r = resolver_check(L, 1);
	static const char *const keys[] = { NULL };
	opts_check(L, 2, "stop", keys, true);
	if (!acting(L, r, "stop"))
		return 0;
	farm_resolver_stop(r, "stop");
	return 0;
}

static const char *const boot_keys[] = { "boot", "zone", "file", "zones", "source", NULL };

static int r_start(lua_State *L)
{
	struct farm_resolver *r = resolver_check(L, 1);
	char err[256];
	opts_check(L, 2, "start", boot_keys, true);
	struct farm_boot *b = boot_push(L); /* a raise below frees its zones */
	bool has = boot_from_opts(L, 2, b, "start");
	if (!acting(L, r, "start")) {
		farm_boot_clear(b);
		return 0;
	}
	int rc = farm_resolver_start(r, has ? b : NULL, err, sizeof err);
	farm_boot_clear(b);
	if (rc != 0) {
		/* Not the scenario's fault: a runtime error, as at the start of the run. */
		runner_abort(sandbox_runner(L), RUNNER_FAILED, "%s: start: %s",
			     farm_resolver_name(r), err);
		return luaL_error(L, "start: %s", err);
	}
	return 0;
}

/* r:crash{ down = 5, zone = stale } and r:restart{ zone = stale } (down = 0). */
static int crash(lua_State *L, const char *what, bool restart)
{
	static const char *const keys[] = { "down", "boot", "zone", "file", "zones", "source", NULL };
	struct farm_resolver *r = resolver_check(L, 1);
	char err[256];
	opts_check(L, 2, what, restart ? boot_keys : keys, true);
	double down = restart ? 0 : opts_number(L, 2, "down", 0, 0, 7 * 24 * 3600.0, what);
	struct farm_boot *b = boot_push(L); /* a raise below frees its zones */
	bool has = boot_from_opts(L, 2, b, what);
	if (!acting(L, r, what)) {
		farm_boot_clear(b);
		return 0;
	}
	int rc = farm_resolver_crash(r, down, has ? b : NULL, err, sizeof err);
	farm_boot_clear(b);
	if (rc != 0) {
		runner_abort(sandbox_runner(L), RUNNER_FAILED, "%s: %s: %s",
			     farm_resolver_name(r), what, err);
		return luaL_error(L, "%s: %s", what, err);
	}
	return 0;
}

static int r_crash(lua_State *L)
{
	return crash(L, "crash", false);
}

static int r_restart(lua_State *L)
{
	return crash(L, "restart", true);
}

/* r:reload{ zone = z } or { boot = "source" }: new data, ports stay open. */
static int r_reload(lua_State *L)
{
	struct farm_resolver *r = resolver_check(L, 1);
	char err[256];
	opts_check(L, 2, "reload", boot_keys, false);
	struct farm_boot *b = boot_push(L); /* a raise below frees its zones */
	if (!boot_from_opts(L, 2, b, "reload"))
		return luaL_error(L, "reload: give zone = <zone>, file = 'path' or boot = 'source'");
	if (!acting(L, r, "reload")) {
		farm_boot_clear(b);
		return 0;
	}
	int rc = farm_resolver_reload(r, b, err, sizeof err);
	farm_boot_clear(b);
	if (rc != 0)
		return luaL_error(L, "reload: %s", err);
	return 0;
}

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
	const char *k = luaL_checkstring(L, 2);
	char buf[80];
	if (strcmp(k, "name") == 0) {
		lua_pushstring(L, farm_resolver_name(r));
		return 1;
	}
	if (strcmp(k, "address") == 0) {
		lua_pushstring(L, addr_str(farm_resolver_addr(r), buf, sizeof buf));
		return 1;
	}
	if (strcmp(k, "port") == 0) {
		lua_pushinteger(L, addr_port(farm_resolver_addr(r)));
		return 1;
	}
	for (size_t i = 0; methods[i].name; i++)
		if (strcmp(k, methods[i].name) == 0) {
			lua_pushcfunction(L, methods[i].func);
			return 1;
		}
	const char *names[32];
	size_t n = 0;
	names[n++] = "name";
	names[n++] = "address";
	names[n++] = "port";
	for (size_t i = 0; methods[i].name; i++)
		names[n++] = methods[i].name;
	names[n] = NULL;
	return luaL_error(L, "resolver has no field or method '%s' (did you mean '%s'?)", k,
			  opts_closest(k, names));
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
