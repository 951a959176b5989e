/*
 * vip.c (lua) - the VIP type: s:vip{...} declares a load-balanced virtual IP
 * in front of resolvers (or loopback addresses) with an optional health
 * checker; v:remove / v:restore are an operator's hand on its membership.
 */
#include "harness/lua/bind.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

/* One entry of backends = {...}: a resolver, or { resolver = r | address = "ip:port", name, weight }. */
static void read_backend(lua_State *L, int idx, struct farm_vip_backend *b, int n)
{
	static const char *const keys[] = { "resolver", "address", "name", "weight", NULL };
	char what[64], err[256];
	snprintf(what, sizeof what, "vip: backends[%d]", n);
	memset(b, 0, sizeof *b);
	b->weight = 1;
	struct farm_resolver **r = luaL_testudata(L, idx, BIND_RESOLVER);
	if (r) {
		b->resolver = *r;
		snprintf(b->name, sizeof b->name, "%s", farm_resolver_name(*r));
		return;
	}
	struct farm_process **p = luaL_testudata(L, idx, BIND_PROCESS);
	if (p) { /* a managed daemon (s:process) */
		b->process = *p;
		snprintf(b->name, sizeof b->name, "%s", farm_process_name(*p));
		return;
	}
	if (!lua_istable(L, idx))
		luaL_error(L, "%s: a resolver or { resolver = r } / { address = 'ip:port' }, got %s",
			   what, luaL_typename(L, idx));
	opts_check(L, idx, what, keys, false);
	r = opts_udata(L, idx, "resolver", BIND_RESOLVER, what);
	const char *address = opts_string(L, idx, "address", "", what);
	if (r && address[0])
		luaL_error(L, "%s: give a resolver or an address, not both", what);
	if (r) {
		b->resolver = *r;
		snprintf(b->name, sizeof b->name, "%s", farm_resolver_name(*r));
	} else if (address[0]) {
		if (addr_parse(address, 53, &b->addr, err, sizeof err) != 0)
			luaL_error(L, "%s: %s", what, err);
		if (!addr_is_loopback(&b->addr) || addr_port(&b->addr) == 0)
			luaL_error(L, "%s: %s must be a loopback address with a port", what, address);
		snprintf(b->name, sizeof b->name, "%s", address);
	} else {
		luaL_error(L, "%s: needs resolver = r or address = 'ip:port'", what);
	}
	const char *name = opts_string(L, idx, "name", "", what);
	if (name[0])
		snprintf(b->name, sizeof b->name, "%s", name);
	b->weight = (unsigned)opts_number(L, idx, "weight", 1, 1, 1000, what);
}

static void read_health(lua_State *L, int idx, struct farm_vip_health *h)
{
	static const char *const keys[] = { "check", "interval", "timeout", "rise", "fall",
					    "initial", "source", "zone", "name", "qtype",
					    "command", NULL };
	static const char *const checks[] = { "alive", "rcode", "serial", "exec", NULL };
	static const char *const initial[] = { "down", "up", NULL };
	const char *what = "vip: health";
	memset(h, 0, sizeof *h);
	opts_check(L, idx, what, keys, false);
	h->enabled = true;
	h->cfg.kind = (enum health_kind)opts_enum(L, idx, "check", checks, 2, what);
	h->cfg.interval_s = opts_number(L, idx, "interval", 1, 0.01, 3600, what);
	double dflt_timeout = h->cfg.interval_s < 0.5 ? h->cfg.interval_s : 0.5;
	h->cfg.timeout_s = opts_number(L, idx, "timeout", dflt_timeout, 0.001, h->cfg.interval_s, what);
	h->cfg.rise = (unsigned)opts_number(L, idx, "rise", 2, 1, 1000, what);
	h->cfg.fall = (unsigned)opts_number(L, idx, "fall", 2, 1, 1000, what);
	h->cfg.initial_up = opts_enum(L, idx, "initial", initial, 0, what) == 1;
	struct farm_source **src = opts_udata(L, idx, "source", BIND_SOURCE, what);
	if (src) {
		h->source = *src;
	} else {
		lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.sources");
		if (luaL_len(L, -1) == 1) {
			lua_rawgeti(L, -1, 1);
			h->source = source_check(L, -1);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (!h->source && (h->cfg.kind == HEALTH_SERIAL || h->cfg.kind == HEALTH_EXEC))
		luaL_error(L, "%s: check = '%s' compares with what a zone source publishes: give "
			      "source = <zone source>",
			   what, checks[h->cfg.kind]);
	snprintf(h->zone, sizeof h->zone, "%s", opts_string(L, idx, "zone", "", what));
	bool asks = h->cfg.kind == HEALTH_ALIVE || h->cfg.kind == HEALTH_RCODE;
	if (!asks && (opts_has(L, idx, "name") || opts_has(L, idx, "qtype")))
		luaL_error(L, "%s: name and qtype are for the alive and rcode checks (serial asks "
			      "for the SOA, exec runs a command)",
			   what);
	snprintf(h->qname, sizeof h->qname, "%s", opts_string(L, idx, "name", "", what));
	/* Without a source, zone or name it would ask for the root's SOA: REFUSED, never up. */
	if (h->cfg.kind == HEALTH_RCODE && !h->source && !h->zone[0] && !h->qname[0])
		luaL_error(L, "%s: check = 'rcode' asks for the SOA of the zone source's first "
			      "zone, and there is no zone source: give name = '<a name the resolvers "
			      "serve>' (or zone = ...)",
			   what);
	const char *qtype = opts_string(L, idx, "qtype", "SOA", what);
	h->cfg.qtype = asks ? (uint16_t)ldns_get_rr_type_by_name(qtype) : 0;
	if (asks && !h->cfg.qtype)
		luaL_error(L, "%s: unknown qtype '%s'", what, qtype);
	const char *cmd = opts_string(L, idx, "command", "", what);
	if (h->cfg.kind != HEALTH_EXEC && cmd[0])
		luaL_error(L, "%s: command is for check = 'exec'", what);
	if (h->cfg.kind == HEALTH_EXEC && !cmd[0])
		luaL_error(L, "%s: check = 'exec' needs command = '...' (run with /bin/sh -c)", what);
	if (cmd[0]) {
		/* Commands run in the scenario's folder, like its zone files. */
		char dir[2048];
		runner_path(sandbox_runner(L), ".", dir, sizeof dir);
		if (strchr(dir, '\''))
			luaL_error(L, "%s: the scenario's folder has a quote in its name", what);
		int n = snprintf(h->command, sizeof h->command, "cd '%s' && %s", dir, cmd);
		if (n < 0 || (size_t)n >= sizeof h->command)
			luaL_error(L, "%s: the command is too long", what);
	}
}

/* s:vip{ name = "vip", backends = { r1, r2 }, policy = "flow", health = {...} } */
int vip_new(lua_State *L)
{
	static const char *const keys[] = { "name", "address", "backends", "policy", "on_down",
					    "on_refused", "flow_idle", "query_timeout", "health",
					    "in_process", NULL };
	static const char *const policies[] = { "flow", "query", "random", "primary", NULL };
	static const char *const downs[] = { "keep", "flush", NULL };
	static const char *const refused[] = { "drop", "servfail", "icmp", NULL };
	const char *what = "vip";
	struct scenario *sc = scenario_get(L);
	struct farm_vip_backend backends[VIP_BACKENDS_MAX];
	struct farm_vip_health health;
	struct vip_config cfg;
	struct addr addr;

	luaL_checkudata(L, 1, BIND_SCENARIO);
	opts_check(L, 2, what, keys, false);
	const char *name = opts_string(L, 2, "name", "vip", what);
	scenario_check_name(L, sc, name, what);
	scenario_pick_address(L, sc, 2, &addr, what);
	vip_config_defaults(&cfg);
	cfg.policy = (enum vip_policy)opts_enum(L, 2, "policy", policies, 0, what);
	cfg.on_down = (enum vip_on_down)opts_enum(L, 2, "on_down", downs, 0, what);
	/* A closed backend's port unreachable reaches the client through DNAT
	 * (flow), not through a proxy (the others). */
	int refused_default = cfg.policy == VIP_FLOW ? VIP_ICMP : VIP_DROP;
	cfg.on_refused =
		(enum vip_on_refused)opts_enum(L, 2, "on_refused", refused, refused_default, what);
	cfg.flow_idle_s = opts_number(L, 2, "flow_idle", 30, 0.001, 86400, what);
	cfg.query_timeout_s = opts_number(L, 2, "query_timeout", 5, 0.01, 600, what);
	bool in_process = opts_bool(L, 2, "in_process", true, what);
	if (lua_getfield(L, 2, "backends") != LUA_TTABLE)
		return luaL_error(L, "vip: 'backends' must be a list of resolvers (or addresses)");
	size_t n = (size_t)luaL_len(L, -1);
	if (n == 0 || n > VIP_BACKENDS_MAX)
		return luaL_error(L, "vip: 1 to %d backends, got %d", VIP_BACKENDS_MAX, (int)n);
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		read_backend(L, lua_gettop(L), &backends[i], (int)i + 1);
		lua_pop(L, 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(backends[j].name, backends[i].name) == 0)
				return luaL_error(L, "vip: backend '%s' is listed twice",
						  backends[i].name);
	}
	lua_pop(L, 1);
	memset(&health, 0, sizeof health);
	if (lua_getfield(L, 2, "health") != LUA_TNIL)
		read_health(L, lua_gettop(L), &health);
	lua_pop(L, 1);

	luaL_where(L, 1);
	char where[256], err[256];
	snprintf(where, sizeof where, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	size_t wl = strlen(where);
	while (wl && (where[wl - 1] == ' ' || where[wl - 1] == ':'))
		where[--wl] = '\0';
	struct farm_vip **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	struct farm_vip *v = runner_new_vip(sandbox_runner(L), name, &addr, &cfg, backends, n, &health,
					    in_process, where, err, sizeof err);
	if (!v)
		return luaL_error(L, "vip: %s", err);
	*box = v;
	luaL_setmetatable(L, BIND_VIP);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, v);
	return 1;
}

/* The backend index named by argument idx (a resolver or a name), or raise. */
static int backend_arg(lua_State *L, struct farm_vip *v, int idx, const char *what)
{
	int i = -1;
	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, "backend");
		lua_replace(L, idx);
	}
	struct farm_resolver **r = luaL_testudata(L, idx, BIND_RESOLVER);
	struct farm_process **p = luaL_testudata(L, idx, BIND_PROCESS);
	if (r)
		i = farm_vip_backend(v, *r, NULL);
	else if (p)
		i = farm_vip_backend(v, *p, NULL);
	else if (lua_type(L, idx) == LUA_TSTRING)
		i = farm_vip_backend(v, NULL, lua_tostring(L, idx));
	else
		luaL_error(L, "%s: give the backend (a resolver or its name)", what);
	if (i < 0)
		luaL_error(L, "%s: %s is not a backend of %s", what, luaL_tolstring(L, idx, NULL),
			   farm_vip_name(v));
	return i;
}

static void parse_member(lua_State *L, int self, int idx, struct run_action *a, bool up)
{
	a->verb = up ? RUN_RESTORE : RUN_REMOVE;
	a->vip = vip_check(L, self);
	a->backend = backend_arg(L, a->vip, idx, up ? "restore" : "remove");
}

/* v:remove(r): pull a backend from the VIP by hand (the incident's 90 s fix). */
static void parse_remove(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_member(L, self, idx, a, false);
}

static void parse_restore(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_member(L, self, idx, a, true);
}

const struct action_method vip_actions[] = {
	{ "remove", parse_remove, false, false, NULL },
	{ "restore", parse_restore, false, false, NULL },
	{ NULL, NULL, false, false, NULL },
};

static int v_remove(lua_State *L)
{
	vip_check(L, 1);
	return action_method(L, &vip_actions[0]);
}

static int v_restore(lua_State *L)
{
	vip_check(L, 1);
	return action_method(L, &vip_actions[1]);
}

/* v:up(r): does the VIP send new traffic to it? */
static int v_up(lua_State *L)
{
	struct farm_vip *v = vip_check(L, 1);
	lua_pushboolean(L, farm_vip_backend_up(v, backend_arg(L, v, 2, "up")));
	return 1;
}

static int v_index(lua_State *L)
{
	struct farm_vip *v = vip_check(L, 1);
	const char *k = luaL_checkstring(L, 2);
	char buf[80];
	if (strcmp(k, "name") == 0)
		lua_pushstring(L, farm_vip_name(v));
	else if (strcmp(k, "address") == 0)
		lua_pushstring(L, addr_str(farm_vip_addr(v), buf, sizeof buf));
	else if (strcmp(k, "port") == 0)
		lua_pushinteger(L, addr_port(farm_vip_addr(v)));
	else {
		static const char *const fields[] = { "name", "address", "port", NULL };
		static const luaL_Reg methods[] = {
			{ "remove", v_remove }, { "restore", v_restore }, { "up", v_up }, { NULL, NULL },
		};
		return opts_method(L, "vip", k, fields, methods);
	}
	return 1;
}

static int v_tostring(lua_State *L)
{
	lua_pushfstring(L, "vip %s", farm_vip_name(vip_check(L, 1)));
	return 1;
}

void vip_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", v_index },
		{ "__tostring", v_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_VIP);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "vip");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}
