/*
 * remote.c (lua) - the remote type: s:remote{...} declares a fakeresolver
 * daemon the run does not start, reached at its DNS address by VIPs and
 * clients and driven over its control connection (harness/farm/remote.h).
 * Its methods hang, delay, rcode, truncate, wrong, capacity, heal, stop,
 * start and publish parse their options into a struct run_action and hand
 * it to run_act, which sends the command; s:at parses a declared action
 * with the same function. The daemon's reply comes later, on the loop: a
 * method returns the fault id the history will carry, not the outcome.
 */
#include "harness/farm/remote.h"
#include "harness/lua/bind.h"
#include "harness/run/run.h"
#include "harness/sandbox.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* "ADDR:PORT" with a port, for option key. */
static void read_addr(lua_State *L, int idx, const char *key, const char *name, struct addr *out)
{
	char err[256];
	const char *text = opts_string(L, idx, key, "", "remote");
	if (!text[0])
		luaL_error(L, "remote '%s': %s = 'ADDR:PORT' is required", name, key);
	if (addr_parse(text, 0, out, err, sizeof err) != 0)
		luaL_error(L, "remote '%s': %s: %s", name, key, err);
	if (addr_port(out) == 0)
		luaL_error(L, "remote '%s': %s = '%s' needs its port (the daemon's is fixed)", name,
			   key, text);
}

/*
 * Whether the run can reach the daemon at its DNS address and control: in
 * the sandbox nothing outside it (only its own lo); off loopback only when
 * the run was told so (--allow-non-loopback), since the farm then sends to
 * another host. dnschaos check sends nothing and judges the history anywhere.
 */
static void check_reach(lua_State *L, const char *name, const struct addr *dns,
                        const struct addr *control)
{
	struct runner *run = sandbox_runner(L);
	char buf[80];
	const struct addr *far = !addr_is_loopback(dns)       ? dns
	                         : !addr_is_loopback(control) ? control
	                                                      : NULL;
	const char *which = far == dns ? "address" : "control";
	if (sandbox_ns_active()) {
		if (far)
			luaL_error(L,
			           "remote '%s': %s %s is on another host, and the run is in its "
			           "sandbox, a network namespace with only lo: run with "
			           "--no-sandbox --allow-non-loopback to drive daemons on other "
			           "hosts (docs/gameday.md, \"Daemons on other hosts\")",
			           name, which, addr_str(far, buf, sizeof buf));
		luaL_error(L,
		           "remote '%s': the run is in its sandbox, a network namespace of its "
		           "own that reaches no daemon outside it: run with --no-sandbox to drive "
		           "remote daemons (docs/sandbox.md)",
		           name);
	}
	if (far && !runner_allow_non_loopback(run) && !runner_describe_only(run))
		luaL_error(L,
		           "remote '%s': %s %s is not a loopback address: dnschaos sends "
		           "nothing off loopback unless told so: run with --allow-non-loopback "
		           "to drive daemons on other hosts (docs/gameday.md, \"Daemons on other "
		           "hosts\")",
		           name, which, addr_str(far, buf, sizeof buf));
}

/* s:remote{ name, address = "127.0.0.1:5301", control = "127.0.0.1:7001", token_file } */
int remote_new(lua_State *L)
{
	static const char *const keys[] = { "name", "address", "control", "token_file", NULL };
	const char *what = "remote";
	struct scenario *sc = scenario_get(L);
	struct farm_remote_config cfg;
	char path[4096], err[4096], buf[80];

	luaL_checkudata(L, 1, BIND_SCENARIO);
	opts_check(L, 2, what, keys, false);
	memset(&cfg, 0, sizeof cfg);
	const char *name = opts_string(L, 2, "name", NULL, what);
	scenario_check_name(L, sc, name, what);
	snprintf(cfg.name, sizeof cfg.name, "%s", name);
	read_addr(L, 2, "address", name, &cfg.addr);
	read_addr(L, 2, "control", name, &cfg.control);
	check_reach(L, name, &cfg.addr, &cfg.control);
	if (runner_address_used(sandbox_runner(L), &cfg.addr))
		return luaL_error(L,
		                  "remote '%s': address %s is already taken by another farm "
		                  "object",
		                  name, addr_str(&cfg.addr, buf, sizeof buf));
	const char *tf = opts_string(L, 2, "token_file", "", what);
	if (!tf[0])
		return luaL_error(L, "remote '%s': token_file = 'path' is required (the file the "
				     "daemon's --control-token-file reads)",
				  name);
	runner_path(sandbox_runner(L), tf, path, sizeof path);
	if (control_token_read(path, cfg.token, &cfg.token_len, err, sizeof err) != 0) {
		memset(cfg.token, 0, sizeof cfg.token);
		return luaL_error(L, "remote '%s': token_file %s", name, err);
	}
	luaL_where(L, 1);
	snprintf(cfg.where, sizeof cfg.where, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	size_t wl = strlen(cfg.where);
	while (wl && (cfg.where[wl - 1] == ' ' || cfg.where[wl - 1] == ':'))
		cfg.where[--wl] = '\0';
	/* The handle first: nothing can raise between creating and boxing. */
	struct farm_remote **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	struct farm_remote *r = runner_new_remote(sandbox_runner(L), &cfg, err, sizeof err);
	memset(cfg.token, 0, sizeof cfg.token);
	if (!r)
		return luaL_error(L, "remote '%s': %s", name, err);
	*box = r;
	luaL_setmetatable(L, BIND_REMOTE);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, r);
	return 1;
}

/* r:wrong{ address = "10.0.0.9" }: by address only (a zone would be on this host, not the daemon's). */
static void parse_wrong(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const own[] = { "address", NULL };
	resolver_fault_opts(L, self, idx, a, FAULT_WRONG, "wrong", own);
	const char *address = opts_string(L, idx, "address", "", "wrong");
	if (!address[0])
		luaL_error(L, "wrong: give address = 'ip' (a remote daemon answers wrong by address "
			      "only)");
	if (inet_pton(AF_INET, address, a->fault.wrong_addr) == 1)
		a->fault.wrong_family = AF_INET;
	else if (inet_pton(AF_INET6, address, a->fault.wrong_addr) == 1)
		a->fault.wrong_family = AF_INET6;
	else
		luaL_error(L, "wrong: '%s' is not an IPv4 or IPv6 address", address);
}

/* r:heal() heals every fault; r:heal(id) the one a method returned. */
static void parse_heal(lua_State *L, int self, int idx, struct run_action *a)
{
	a->verb = RUN_HEAL;
	a->remote = remote_check(L, self);
	if (lua_isnoneornil(L, idx))
		return;
	if (lua_istable(L, idx)) { /* s:at(t, r, "heal") hands an empty table */
		static const char *const keys[] = { NULL };
		opts_check(L, idx, "heal", keys, false);
		return;
	}
	if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) <= 0 ||
	    lua_tointeger(L, idx) > UINT32_MAX)
		luaL_error(L, "heal: give the fault id a method returned, or nothing to heal every "
			      "fault, got %s",
			   luaL_typename(L, idx));
	a->fault_id = (uint32_t)lua_tointeger(L, idx);
}

/* r:stop{ duration = 5 }: the daemon closes its DNS ports. */
static void parse_stop(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = { "duration", NULL };
	opts_check(L, idx, "stop", keys, true);
	a->verb = RUN_STOP;
	a->remote = remote_check(L, self);
	a->duration = opts_number(L, idx, "duration", 0, 0, CONTROL_DURATION_MAX, "stop");
}

static void parse_start(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = { NULL };
	opts_check(L, idx, "start", keys, true);
	a->verb = RUN_START;
	a->remote = remote_check(L, self);
}

/* r:publish{ file = "/srv/zones/internal.zone" }: a path on the daemon's host, sent as it is. */
static void parse_publish(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = { "file", NULL };
	opts_check(L, idx, "publish", keys, false);
	a->verb = RUN_REMOTE_PUBLISH;
	a->remote = remote_check(L, self);
	const char *file = opts_string(L, idx, "file", "", "publish");
	if (!file[0])
		luaL_error(L, "publish: file = 'path' is required (a zone file on the daemon's host)");
	if (strpbrk(file, "\r\n") || strlen(file) > 4000)
		luaL_error(L, "publish: the file's path must be one line of at most 4000 octets");
	a->path = strdup(file);
	if (!a->path)
		luaL_error(L, "publish: out of memory");
}

static int push_fault_id(lua_State *L, const struct run_action *a, const struct run_result *res)
{
	(void)a;
	lua_pushinteger(L, res->fault_id);
	return 1;
}

const struct action_method remote_actions[] = {
	{ "hang", resolver_parse_hang, true, false, push_fault_id },
	{ "delay", resolver_parse_delay, true, false, push_fault_id },
	{ "rcode", resolver_parse_rcode, true, false, push_fault_id },
	{ "truncate", resolver_parse_truncate, true, false, push_fault_id },
	{ "wrong", parse_wrong, true, false, push_fault_id },
	{ "capacity", resolver_parse_capacity, true, false, push_fault_id },
	{ "heal", parse_heal, false, false, NULL },
	{ "stop", parse_stop, true, false, push_fault_id },
	{ "start", parse_start, false, false, NULL },
	{ "publish", parse_publish, true, false, NULL },
	{ NULL, NULL, false, false, NULL },
};

#define METHOD(fn, i)                                          \
	static int fn(lua_State *L)                            \
	{                                                      \
		remote_check(L, 1);                            \
		return action_method(L, &remote_actions[i]);   \
	}
METHOD(m_hang, 0)
METHOD(m_delay, 1)
METHOD(m_rcode, 2)
METHOD(m_truncate, 3)
METHOD(m_wrong, 4)
METHOD(m_capacity, 5)
METHOD(m_heal, 6)
METHOD(m_stop, 7)
METHOD(m_start, 8)
METHOD(m_publish, 9)
#undef METHOD

/* r:state(): "up", "down" (stopped, as the daemon confirmed) or "disconnected". */
static int m_state(lua_State *L)
{
	lua_pushstring(L, farm_remote_state(remote_check(L, 1)));
	return 1;
}

static const luaL_Reg methods[] = {
	{ "hang", m_hang },	    { "delay", m_delay }, { "rcode", m_rcode },
	{ "truncate", m_truncate }, { "wrong", m_wrong }, { "capacity", m_capacity },
	{ "heal", m_heal },	    { "stop", m_stop },	  { "start", m_start },
	{ "publish", m_publish },   { "state", m_state }, { NULL, NULL },
};

static int m_index(lua_State *L)
{
	struct farm_remote *r = remote_check(L, 1);
	return opts_member_index(L, "remote", farm_remote_name(r), farm_remote_addr(r), methods);
}

static int m_tostring(lua_State *L)
{
	lua_pushfstring(L, "remote %s", farm_remote_name(remote_check(L, 1)));
	return 1;
}

void remote_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", m_index },
		{ "__tostring", m_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_REMOTE);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "remote");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}
