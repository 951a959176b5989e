/*
 * vip.c (lua) - the VIP type: s:vip{...} declares a load-balanced virtual IP
 * in front of resolvers (or loopback addresses, or remote daemons) with an optional health
 * checker; v:remove / v:restore are an operator's hand on its membership.
 */
#include "harness/farm/vip_dnsdist.h"
#include "harness/lua/bind.h"
#include "harness/farm/remote.h"
#include "harness/run/run.h"

#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

/* One entry of backends = {...}: a resolver, or { resolver = r | address = "ip:port", name, weight }. */
static void read_backend(lua_State *L, int idx, struct farm_vip_backend *b, int n)
{
	static const char *const keys[] = { "resolver", "address", "name", "weight", "server", NULL };
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
	if (luaL_testudata(L, idx, BIND_REMOTE)) { /* a daemon on its control connection: an address */
		b->addr = *farm_remote_addr(remote_check(L, idx));
		snprintf(b->name, sizeof b->name, "%s", farm_remote_name(remote_check(L, idx)));
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
	snprintf(b->server, sizeof b->server, "%s", opts_string(L, idx, "server", "", what));
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

/*
 * kind = "nftables": the options the kernel's DNAT has, and the refusals of
 * those it has not (the policy names that pick per query, a proxy's
 * on_refused, the userspace VIP's own settings). flow_idle becomes
 * conntrack's UDP timeouts, which are the network namespace's: every
 * nftables VIP of a run must give the same.
 */
static void read_nftables(lua_State *L, const struct addr *addr, struct farm_vip_nftables *k)
{
	static const char *const own[] = { "in_process", "query_timeout", NULL };
	const char *policy = opts_string(L, 2, "policy", "flow", "vip");
	if (nft_policy_parse(policy, &k->policy) != 0) {
		enum vip_policy up;
		if (vip_policy_parse(policy, &up) == 0)
			luaL_error(L, "vip: policy '%s' picks a backend per query (or per packet); "
				      "kind = 'nftables' picks one per flow, which conntrack pins: "
				      "use 'flow' (numgen inc, round robin), 'flow_random' (numgen "
				      "random) or 'flow_hash' (jhash of the source address and port)",
				   policy);
		luaL_error(L, "vip: unknown policy '%s' for kind = 'nftables' (flow, flow_random, "
			      "flow_hash)", policy);
	}
	for (int i = 0; own[i]; i++)
		if (opts_has(L, 2, own[i]))
			luaL_error(L, "vip: %s is the userspace VIP's; kind = 'nftables' has none",
				   own[i]);
	const char *refused = opts_string(L, 2, "on_refused", "icmp", "vip");
	if (strcmp(refused, "icmp") != 0)
		luaL_error(L, "vip: kind = 'nftables' relays a closed backend's port unreachable "
			      "as conntrack does: on_refused can only be 'icmp', not '%s'",
			   refused);
	double idle = opts_number(L, 2, "flow_idle", 30, 1, 86400, "vip");
	if (idle != floor(idle))
		luaL_error(L, "vip: kind = 'nftables' sets conntrack's UDP timeout, whole "
			      "seconds: flow_idle = %f is not", idle);
	k->flow_idle_s = (unsigned)idle;
	if (addr->ss.ss_family != AF_INET)
		luaL_error(L, "vip: kind = 'nftables' needs an IPv4 address (an ip table)");
	/* conntrack's timeouts are per network namespace: one value per run */
	lua_getfield(L, LUA_REGISTRYINDEX, "dnschaos.nft_flow_idle");
	if (!lua_isnil(L, -1) && lua_tointeger(L, -1) != (lua_Integer)k->flow_idle_s)
		luaL_error(L, "vip: flow_idle = %d, but another nftables VIP of this run has %d: "
			      "conntrack's UDP timeout is one for the network namespace",
			   (int)k->flow_idle_s, (int)lua_tointeger(L, -1));
	lua_pop(L, 1);
	lua_pushinteger(L, (lua_Integer)k->flow_idle_s);
	lua_setfield(L, LUA_REGISTRYINDEX, "dnschaos.nft_flow_idle");
}

/*
 * kind = "dnsdist": what of the VIP's options dnsdist can do, into c; the
 * rest refused, naming what to do instead. A user's file (config) is checked
 * with dnsdist --check-config now (skipped when dnsdist is missing: the run
 * then stops at start, exit 4).
 */
static void read_dnsdist(lua_State *L, int idx, const struct farm_vip_backend *b, size_t n,
			 const struct farm_vip_health *h, const struct vip_config *cfg,
			 struct dnsdist_conf *c)
{
	/* policy -> dnsdist's; flow (5-tuple pinning) has no equivalent */
	static const char *const dd_policy[] = { NULL, "roundrobin", "wrandom", "firstAvailable" };
	static const char *const userspace_only[] = { "on_down", "on_refused", "flow_idle",
						      "in_process", NULL };
	static const char *const check_names[] = { "alive", "rcode", "serial", "exec" };
	const char *what = "vip (kind = \"dnsdist\")";
	char err[1024];
	memset(c, 0, sizeof *c);
	for (const char *const *k = userspace_only; *k; k++)
		if (opts_has(L, idx, *k))
			luaL_error(L, "%s: %s is an option of the userspace VIP; dnsdist has no "
				      "equivalent (a proxy: no flows to pin or flush, no port unreachable "
				      "to relay): remove it",
				   what, *k);
	const char *config = opts_string(L, idx, "config", "", what);
	if (config[0]) {
		runner_path(sandbox_runner(L), config, c->user_file, sizeof c->user_file);
		if (access(c->user_file, R_OK) != 0)
			luaL_error(L, "%s: config = '%s': cannot read %s: %s", what, config,
				   c->user_file, strerror(errno));
		if (h->enabled)
			luaL_error(L, "%s: health = {...} and config = '%s' both say how dnsdist "
				      "checks: with a file of yours, its newServer lines do (checkInterval, "
				      "checkName, ...): remove health",
				   what, config);
	}
	if (opts_has(L, idx, "policy") || !config[0]) {
		if (cfg->policy == VIP_FLOW && opts_has(L, idx, "policy"))
			luaL_error(L, "%s: policy = 'flow' pins a client's flow (kernel DNAT), and "
				      "dnsdist has no such policy: give query (roundrobin), random "
				      "(wrandom) or primary (firstAvailable), or leave it out (query)",
				   what);
		c->policy = cfg->policy == VIP_FLOW ? "roundrobin" : dd_policy[cfg->policy];
	}
	if (opts_has(L, idx, "query_timeout") || !config[0]) {
		double t = cfg->query_timeout_s;
		if (t < 1 || t != (double)(unsigned)t)
			luaL_error(L, "%s: query_timeout = %f: dnsdist's setUDPTimeout takes whole "
				      "seconds, at least 1",
				   what, t);
		c->udp_timeout_s = (unsigned)t;
	}
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(c->b[i].member, sizeof c->b[i].member, "%s", b[i].name);
		snprintf(c->b[i].server, sizeof c->b[i].server, "%s",
			 b[i].server[0] ? b[i].server : b[i].name);
		c->b[i].weight = b[i].weight;
		if (b[i].server[0] && !config[0])
			luaL_error(L, "%s: backends[%d]: server = '%s' names a newServer of your "
				      "config file, and there is none (config = '...')",
				   what, (int)i + 1, b[i].server);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->b[j].server, c->b[i].server) == 0)
				luaL_error(L, "%s: backends[%d] and [%d] both map newServer '%s'", what,
					   (int)j + 1, (int)i + 1, c->b[i].server);
	}
	if (h->enabled) {
		const struct health_config *hc = &h->cfg;
		lua_getfield(L, idx, "health");
		int hi = lua_gettop(L);
		if (hc->kind == HEALTH_SERIAL || hc->kind == HEALTH_EXEC)
			luaL_error(L, "%s: health check = '%s': dnsdist's checks ask a question and "
				      "look at the rcode only (no serial comparison, no command): use "
				      "check = 'alive' or 'rcode', or kind = 'userspace'",
				   what, check_names[hc->kind]);
		if (hc->interval_s < 1 || hc->interval_s != (double)(unsigned)hc->interval_s)
			luaL_error(L, "%s: health interval = %f: dnsdist 1.7 checks in whole seconds "
				      "(checkInterval), at least 1",
				   what, hc->interval_s);
		double ms = hc->timeout_s * 1000;
		if (ms < 1 || ms != (double)(unsigned)ms)
			luaL_error(L, "%s: health timeout = %f: dnsdist's checkTimeout is in whole "
				      "milliseconds",
				   what, hc->timeout_s);
		if (opts_has(L, hi, "initial"))
			luaL_error(L, "%s: health initial: dnsdist checks every backend once before it "
				      "listens and starts with that answer: remove initial",
				   what);
		lua_pop(L, 1);
		c->health = true;
		c->check_interval_s = (unsigned)hc->interval_s;
		c->check_timeout_ms = (unsigned)ms;
		c->rise = hc->rise;
		c->fall = hc->fall;
		c->must_resolve = hc->kind == HEALTH_RCODE;
		snprintf(c->check_name, sizeof c->check_name, "%s", h->qname);
		char *tn = ldns_rr_type2str(hc->qtype ? hc->qtype : LDNS_RR_TYPE_SOA);
		snprintf(c->check_type, sizeof c->check_type, "%s", tn ? tn : "SOA");
		free(tn);
	}
	if (config[0]) {
		int rc = vip_dnsdist_check(c, err, sizeof err);
		if (rc != 0 && rc != -ENOENT)
			luaL_error(L, "%s: config = '%s': %s", what, config, err);
	}
}

/* s:vip{ name = "vip", backends = { r1, r2 }, policy = "flow", health = {...} } */
int vip_new(lua_State *L)
{
	static const char *const keys[] = { "name", "address", "backends", "policy", "on_down",
					    "on_refused", "flow_idle", "query_timeout", "health",
					    "in_process", "kind", "config", NULL };
	static const char *const policies[] = { "flow", "query", "random", "primary", NULL };
	static const char *const downs[] = { "keep", "flush", NULL };
	static const char *const refused[] = { "drop", "servfail", "icmp", NULL };
	static const char *const kinds[] = { "userspace", "nftables", "dnsdist", NULL };
	const char *what = "vip";
	struct dnsdist_conf dd;
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
	int kind = opts_enum(L, 2, "kind", kinds, 0, what);
	bool kernel = kind == 1, is_dnsdist = kind == 2;
	struct farm_vip_nftables nft = { NFT_FLOW, 30 };
	if (kernel)
		read_nftables(L, &addr, &nft);
	else
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
	unsigned weights = 0;
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
		if (kernel && farm_vip_backend_addr(&backends[i])->ss.ss_family != AF_INET)
			return luaL_error(L, "vip: kind = 'nftables' DNATs to IPv4 backends, and "
					     "%s is not one", backends[i].name);
		/* Only a remote daemon can be off loopback, and only with
		 * --allow-non-loopback (its s:remote line checked). */
		const struct addr *ba = farm_vip_backend_addr(&backends[i]);
		if (!addr_is_loopback(ba)) {
			char abuf[80];
			addr_str(ba, abuf, sizeof abuf);
			if (kernel)
				return luaL_error(
				        L,
				        "vip: kind = 'nftables' DNATs the clients' "
				        "packets, which leave from loopback addresses, and "
				        "backend %s (%s) is on another host, which a packet "
				        "from loopback never reaches: use kind = 'userspace' "
				        "for daemons on other hosts",
				        backends[i].name, abuf);
			if (is_dnsdist)
				return luaL_error(
				        L,
				        "vip: kind = 'dnsdist' is not built for daemons on "
				        "other hosts, and backend %s (%s) is one: use kind = "
				        "'userspace'",
				        backends[i].name, abuf);
			cfg.non_loopback = true;
		}
		weights += backends[i].weight;
	}
	if (kernel && weights > NFT_SLOTS_MAX)
		return luaL_error(L, "vip: kind = 'nftables' gives each backend weight slots in "
				     "its numgen map: the weights add up to %d, at most %d",
				  (int)weights, NFT_SLOTS_MAX);
	lua_pop(L, 1);
	memset(&health, 0, sizeof health);
	if (lua_getfield(L, 2, "health") != LUA_TNIL)
		read_health(L, lua_gettop(L), &health);
	lua_pop(L, 1);
	if (is_dnsdist)
		read_dnsdist(L, 2, backends, n, &health, &cfg, &dd);
	else if (opts_has(L, 2, "config"))
		luaL_error(L, "vip: config is dnsdist's configuration file: give kind = \"dnsdist\"");
	for (size_t i = 0; i < n && !is_dnsdist; i++)
		if (backends[i].server[0])
			luaL_error(L, "vip: backends[%d]: server = ... maps a newServer of a dnsdist "
				      "config file: give kind = \"dnsdist\" and config = ...",
				   (int)i + 1);

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
	if (kernel)
		farm_vip_set_nftables(v, &nft);
	*box = v;
	luaL_setmetatable(L, BIND_VIP);
	if (is_dnsdist && farm_vip_set_dnsdist(v, &dd) != 0)
		return luaL_error(L, "vip: out of memory");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, v);
	decl_record(L, "vip", 2);
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
	if (farm_vip_is_dnsdist(a->vip))
		luaL_error(L, "%s: vip '%s' is a dnsdist: the run has no hand on its membership "
			      "(dnsdist 1.7's API cannot set a server down); stop or hang the backend "
			      "instead",
			   up ? "restore" : "remove", farm_vip_name(a->vip));
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
