/*
 * client.c (lua) - the client type: s:client{...} declares a real resolver
 * stack asking names of a target at a rate (open loop) or with a concurrency
 * (closed loop); c:rate(n) changes the rate during the run (storms, load
 * cuts), c:stats() reads its counters.
 */
#include "harness/lua/bind.h"
#include "harness/farm/remote.h"
#include "harness/clients/client.h"
#include "harness/run/run.h"
#include "harness/sandbox.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define BIND_CLIENT_CFG "dnschaos.client_config"

/* The config being read lives in a userdata, so a Lua error on a bad option frees it. */
/* Registry key: the threads the run's clients declared so far make (client_threads_needed). */
static const char run_threads_key = 0;

static int cfg_gc(lua_State *L)
{
	client_config_clear(luaL_checkudata(L, 1, BIND_CLIENT_CFG));
	return 0;
}

static char *dup_or_raise(lua_State *L, const char *s)
{
	char *d = strdup(s);
	if (!d)
		luaL_error(L, "out of memory");
	return d;
}

static void read_names(lua_State *L, int idx, struct client_config *cfg, const char *what)
{
	if (lua_getfield(L, idx, "names") != LUA_TTABLE) {
		if (lua_type(L, -1) == LUA_TSTRING) {
			cfg->names[0] = dup_or_raise(L, lua_tostring(L, -1));
			cfg->weights[0] = 1;
			cfg->nnames = 1;
			lua_pop(L, 1);
			return;
		}
		luaL_error(L, "%s: 'names' must be a name or a list of names (or { name, weight = n })",
			   what);
	}
	int t = lua_gettop(L);
	lua_Integer n = luaL_len(L, t);
	if (n < 1 || n > CLIENT_NAMES_MAX)
		luaL_error(L, "%s: 'names' holds 1 to %d names, got %d", what, CLIENT_NAMES_MAX, (int)n);
	for (lua_Integer i = 1; i <= n; i++) {
		double weight = 1;
		const char *name = NULL;
		int top = lua_gettop(L);
		lua_rawgeti(L, t, i);
		if (lua_type(L, -1) == LUA_TSTRING) {
			name = lua_tostring(L, -1);
		} else if (lua_istable(L, -1)) {
			lua_rawgeti(L, -1, 1);
			if (lua_type(L, -1) != LUA_TSTRING)
				luaL_error(L, "%s: names[%d] must be \"name\" or { \"name\", weight = n }",
					   what, (int)i);
			/* Kept on the stack: the weight's __index may take it out of the entry. */
			name = lua_tostring(L, -1);
			lua_getfield(L, -2, "weight");
			if (!lua_isnil(L, -1)) {
				if (!lua_isnumber(L, -1) || lua_tonumber(L, -1) <= 0)
					luaL_error(L, "%s: names[%d]: the weight must be a number > 0",
						   what, (int)i);
				weight = lua_tonumber(L, -1);
			}
			lua_pop(L, 1);
		} else {
			luaL_error(L, "%s: names[%d] must be a string or a table, got %s", what, (int)i,
				   luaL_typename(L, -1));
		}
		if (!name[0] || strlen(name) > 253 || strchr(name, ' '))
			luaL_error(L, "%s: names[%d] '%s' is not a domain name", what, (int)i, name);
		ldns_rdf *dn = ldns_dname_new_frm_str(name);
		if (!dn)
			luaL_error(L, "%s: names[%d] '%s' is not a domain name", what, (int)i, name);
		ldns_rdf_deep_free(dn);
		cfg->names[cfg->nnames] = dup_or_raise(L, name);
		cfg->weights[cfg->nnames] = weight;
		cfg->nnames++;
		lua_settop(L, top);
	}
	lua_pop(L, 1);
}

/* A list of strings at key into out (owned by cfg); returns the count. */
static size_t read_strings(lua_State *L, int idx, const char *key, char **out, size_t max,
			   const char *what)
{
	size_t n = 0;
	int type = lua_getfield(L, idx, key);
	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (type == LUA_TSTRING && max > 1 && strcmp(key, "search") == 0) {
		out[0] = dup_or_raise(L, lua_tostring(L, -1));
		lua_pop(L, 1);
		return 1;
	}
	if (type != LUA_TTABLE)
		luaL_error(L, "%s: '%s' must be a list of strings", what, key);
	lua_Integer len = luaL_len(L, -1);
	if ((size_t)len > max)
		luaL_error(L, "%s: '%s' holds at most %d strings", what, key, (int)max);
	for (lua_Integer i = 1; i <= len; i++) {
		lua_rawgeti(L, -1, i);
		if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
			luaL_error(L, "%s: %s[%d] must be a string", what, key, (int)i);
		out[n++] = dup_or_raise(L, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return n;
}

/*
 * Whether an exec command is told where to send: some argument holds
 * {server} or {port}. One that is not (getent ahosts, say) asks the
 * machine's own resolver: on the host that sends the queries off the
 * machine, so it is refused there; in the sandbox (harness/sandbox.h) it
 * reads the resolv.conf the client gets, naming its targets.
 */
static bool exec_told_where(const struct client_config *cfg)
{
	for (size_t i = 0; i < cfg->argc; i++)
		if (strstr(cfg->argv[i], "{server}") || strstr(cfg->argv[i], "{port}"))
			return true;
	return false;
}

/* A tri-state option: absent (-1, the stack's default), false (0) or true (1). */
static int opt_tristate(lua_State *L, int idx, const char *key, const char *what)
{
	if (!opts_has(L, idx, key))
		return -1;
	return opts_bool(L, idx, key, false, what) ? 1 : 0;
}

/* One target: a vip, a resolver, a zone source or "ip:port". */
static void read_one_target(lua_State *L, int t, struct client_config *cfg, const char *what)
{
	char err[256], name[CLIENT_NAME_MAX + 80];
	size_t i = cfg->ntargets;
	if (i == CLIENT_TARGETS_MAX)
		luaL_error(L, "%s: at most %d targets", what, CLIENT_TARGETS_MAX);
	if (lua_type(L, t) == LUA_TSTRING) {
		const char *s = lua_tostring(L, t);
		if (addr_parse(s, 53, &cfg->targets[i], err, sizeof err) != 0)
			luaL_error(L, "%s: target: %s", what, err);
		if (!addr_is_loopback(&cfg->targets[i]))
			luaL_error(L, "%s: target %s is not a loopback address: dnschaos sends only "
				      "to 127.0.0.0/8 and ::1",
				   what, s);
		snprintf(name, sizeof name, "%s", s);
	} else if (luaL_testudata(L, t, BIND_RESOLVER)) {
		struct farm_resolver *r = resolver_check(L, t);
		cfg->target_refs[i] = farm_resolver_addr(r);
		snprintf(name, sizeof name, "%s", farm_resolver_name(r));
	} else if (luaL_testudata(L, t, BIND_PROCESS)) {
		struct farm_process *p = process_check(L, t);
		cfg->target_refs[i] = farm_process_addr(p);
		snprintf(name, sizeof name, "%s", farm_process_name(p));
	} else if (luaL_testudata(L, t, BIND_REMOTE)) {
		struct farm_remote *rm = remote_check(L, t);
		cfg->target_refs[i] = farm_remote_addr(rm);
		snprintf(name, sizeof name, "%s", farm_remote_name(rm));
	} else if (luaL_testudata(L, t, BIND_VIP)) {
		struct farm_vip *v = vip_check(L, t);
		cfg->target_refs[i] = farm_vip_addr(v);
		snprintf(name, sizeof name, "%s", farm_vip_name(v));
	} else if (luaL_testudata(L, t, BIND_SOURCE)) {
		struct farm_source *s = source_check(L, t);
		cfg->target_refs[i] = farm_source_addr(s);
		snprintf(name, sizeof name, "%s", farm_source_name(s));
	} else {
		luaL_error(L, "%s: a target must be a vip, a resolver, a process, a zone source or "
			      "'ip:port', "
			      "got %s",
			   what, luaL_typename(L, t));
	}
	size_t used = strlen(cfg->target_name);
	snprintf(cfg->target_name + used, sizeof cfg->target_name - used, "%s%s", used ? "," : "",
		 name);
	cfg->ntargets++;
}

/* target = one, or { one, two, three }: the stack's nameserver list, in order. */
static void read_target(lua_State *L, int idx, struct client_config *cfg, const char *what)
{
	lua_getfield(L, idx, "target");
	int t = lua_gettop(L);
	if (lua_type(L, t) == LUA_TTABLE && !lua_getmetatable(L, t)) {
		lua_Integer n = luaL_len(L, t);
		if (n < 1 || n > CLIENT_TARGETS_MAX)
			luaL_error(L, "%s: 1 to %d targets, got %d", what, CLIENT_TARGETS_MAX, (int)n);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, t, i);
			read_one_target(L, lua_gettop(L), cfg, what);
			lua_pop(L, 1);
		}
	} else {
		if (lua_type(L, t) == LUA_TTABLE)
			lua_pop(L, 1); /* the metatable */
		read_one_target(L, t, cfg, what);
	}
	lua_pop(L, 1);
}

static int env_pair_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * env = { NAME = "value", ... }: what an exec command gets on top of its
 * minimal environment (PATH and DNSCHAOS_*; harness/spawn.h). Names and
 * values are strings; a name is not empty and holds no '=' or NUL, a value
 * no NUL. Kept sorted by name, so the command sees the same environment
 * whatever order the table iterates in.
 */
static void read_env(lua_State *L, int idx, struct client_config *cfg, const char *what)
{
	int type = lua_getfield(L, idx, "env");
	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (cfg->stack != CLIENT_EXEC)
		luaL_error(L, "%s: 'env' is for stack 'exec'", what);
	if (type != LUA_TTABLE)
		luaL_error(L, "%s: 'env' must be a table { NAME = \"value\", ... }, got %s", what,
			   luaL_typename(L, -1));
	int t = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		size_t nl, vl;
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "%s: env: a name must be a string, got %s", what,
				   luaL_typename(L, -2));
		const char *name = lua_tolstring(L, -2, &nl);
		if (nl == 0 || strchr(name, '=') || strlen(name) != nl)
			luaL_error(L, "%s: env: '%s' is not a variable name (empty, or holds '=' or a NUL)",
				   what, name);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: env.%s must be a string, got %s", what, name,
				   luaL_typename(L, -1));
		const char *value = lua_tolstring(L, -1, &vl);
		if (strlen(value) != vl)
			luaL_error(L, "%s: env.%s holds a NUL byte", what, name);
		if (cfg->nenv == CLIENT_ENV_MAX)
			luaL_error(L, "%s: 'env' holds at most %d variables", what, CLIENT_ENV_MAX);
		/* Owned by cfg as soon as copied: a raise frees them with it (cfg_gc). */
		cfg->env[2 * cfg->nenv] = dup_or_raise(L, name);
		cfg->env[2 * cfg->nenv + 1] = dup_or_raise(L, value);
		cfg->nenv++;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	qsort(cfg->env, cfg->nenv, 2 * sizeof cfg->env[0], env_pair_cmp);
}

/*
 * ldns has one port for every nameserver (ldns_resolver_set_port): its
 * targets must share one, known now. A farm object without an explicit port
 * gets its own when the run starts, so it cannot be one of several.
 */
static void check_ldns_ports(lua_State *L, const struct client_config *cfg, const char *what)
{
	if (cfg->stack != CLIENT_LDNS || cfg->ntargets < 2)
		return;
	uint16_t port0 = 0;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct addr *a = cfg->target_refs[i] ? cfg->target_refs[i] : &cfg->targets[i];
		uint16_t port = addr_port(a);
		if (port == 0)
			luaL_error(L, "%s: ldns sends to every target on one port, and target %d (%s) "
				      "gets its own port when the run starts: give the targets one "
				      "explicit port (address = \"127.0.0.21:5300\") or use one target",
				   what, (int)i + 1, cfg->target_name);
		if (i > 0 && port != port0)
			luaL_error(L, "%s: ldns sends to every target on one port "
				      "(ldns_resolver_set_port); the targets %s listen on ports %d and %d",
				   what, cfg->target_name, (int)port0, (int)port);
		port0 = port;
	}
}

/*
 * In the sandbox an exec command that is not told {server}/{port} reads a
 * resolv.conf naming the client's targets (clients/exec.c), and a
 * resolv.conf has no port: every target must listen on 53 (a farm object
 * without a port in its address does, in the sandbox).
 */
static void check_resolv_targets(lua_State *L, const struct client_config *cfg, const char *what)
{
	if (cfg->stack != CLIENT_EXEC || !sandbox_ns_active() || exec_told_where(cfg))
		return;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct addr *a = cfg->target_refs[i] ? cfg->target_refs[i] : &cfg->targets[i];
		if (addr_port(a) != 53)
			luaL_error(L, "%s: target %d (of %s) listens on port %d, and the command reads "
				      "a resolv.conf, which can only name port 53: give that object an "
				      "address without a port, or use {server} and {port} in the command",
				   what, (int)i + 1, cfg->target_name, (int)addr_port(a));
	}
}

/* The first target off loopback (a remote daemon on another host), or NULL. */
static const struct addr *far_target(const struct client_config *cfg)
{
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct addr *a = cfg->target_refs[i] ? cfg->target_refs[i] : &cfg->targets[i];
		if (!addr_is_loopback(a))
			return a;
	}
	return NULL;
}

/*
 * s:client{ name = "app", stack = "glibc", target = vip, names = {...},
 *           rate = 50 | concurrency = 4, ... }   (docs/scenario-api.md, "Clients")
 */
int client_new(lua_State *L)
{
	static const char *const keys[] = {
		"name",	   "stack",	"target",	  "names",   "family",	      "qtype",
		"rate",	   "arrivals",	"concurrency",	  "from",    "to",	      "limit",
		"threads", "max_pending", "timeout",	  "attempts", "rotate",	      "edns0",
		"single_request", "cache", "random_order", "search",  "ndots",	      "command",
		"source",  "env",	"resolv_timeout", NULL,
	};
	static const char *const stacks[] = { "glibc", "glibc-res", "c-ares", "ldns",
					      "libunbound", "exec", "unbound", NULL };
	static const char *const families[] = { "A", "AAAA", "both", NULL };
	static const char *const arrivals[] = { "poisson", "constant", NULL };
	struct scenario *sc = scenario_get(L);
	luaL_checkudata(L, 1, BIND_SCENARIO);
	const char *name0 = lua_istable(L, 2) && lua_getfield(L, 2, "name") == LUA_TSTRING
				    ? lua_tostring(L, -1) : "client";
	char what[96];
	snprintf(what, sizeof what, "client %s", name0);
	if (lua_istable(L, 2))
		lua_pop(L, 1);
	opts_check(L, 2, what, keys, false);
	const char *name = opts_string(L, 2, "name", NULL, what);
	scenario_check_name(L, sc, name, what);
	if (!opts_has(L, 2, "stack"))
		return luaL_error(L, "%s: 'stack' is required: glibc, glibc-res, c-ares, ldns, "
				     "libunbound or exec", what);
	int st = opts_enum(L, 2, "stack", stacks, 0, what);
	if (!opts_has(L, 2, "target"))
		return luaL_error(L, "%s: 'target' is required (a vip, a resolver or 'ip:port')", what);

	struct client_config *cfg = lua_newuserdatauv(L, sizeof *cfg, 0);
	client_config_defaults(cfg);
	luaL_setmetatable(L, BIND_CLIENT_CFG);
	cfg->stack = st == 6 ? CLIENT_UNBOUND : (enum client_stack)st;
	snprintf(cfg->name, sizeof cfg->name, "%s", name);
	read_target(L, 2, cfg, what);
	check_ldns_ports(L, cfg, what);
	read_names(L, 2, cfg, what);
	cfg->family = (enum client_family)opts_enum(L, 2, "family", families, 0, what);
	const char *qtype = opts_string(L, 2, "qtype",
					cfg->family == CLIENT_FAMILY_AAAA ? "AAAA" : "A", what);
	cfg->qtype = (uint16_t)ldns_get_rr_type_by_name(qtype);
	if (cfg->qtype == 0)
		return luaL_error(L, "%s: unknown qtype '%s'", what, qtype);
	if (opts_has(L, 2, "family") && opts_has(L, 2, "qtype"))
		return luaL_error(L, "%s: give 'family' (address lookups) or 'qtype', not both", what);
	if (cfg->stack == CLIENT_GLIBC && opts_has(L, 2, "qtype"))
		return luaL_error(L, "%s: glibc's getaddrinfo asks by family; use stack = "
				     "'glibc-res' for other types", what);
	if ((cfg->stack == CLIENT_GLIBC_RES || cfg->stack == CLIENT_LDNS ||
	     cfg->stack == CLIENT_EXEC) && opts_has(L, 2, "family") &&
	    cfg->family == CLIENT_FAMILY_BOTH)
		return luaL_error(L, "%s: %s asks one type per lookup: family 'both' is for glibc, "
				     "c-ares and libunbound", what, client_stack_name(cfg->stack));

	bool has_rate = opts_has(L, 2, "rate"), has_conc = opts_has(L, 2, "concurrency");
	if (has_rate && has_conc)
		return luaL_error(L, "%s: give 'rate' (open loop) or 'concurrency' (closed loop), "
				     "not both", what);
	cfg->rate = opts_number(L, 2, "rate", 0, 0, 1e6, what);
	if (has_rate && cfg->rate <= 0)
		return luaL_error(L, "%s: 'rate' must be > 0 (lookups per second)", what);
	cfg->concurrency = (unsigned)opts_number(L, 2, "concurrency", 1, 1, 10000, what);
	cfg->poisson = opts_enum(L, 2, "arrivals", arrivals, 0, what) == 0;
	double duration = scenario_duration(sc);
	cfg->from_s = opts_number(L, 2, "from", 0, 0, duration, what);
	cfg->to_s = opts_number(L, 2, "to", 0, 0, duration, what);
	if (cfg->to_s > 0 && cfg->to_s <= cfg->from_s)
		return luaL_error(L, "%s: 'to' must come after 'from'", what);
	/*
	 * 0 is the config's "no limit", never a value a scenario gives: a client
	 * limited to no lookup would leave every expectation on it vacuous.
	 */
	if (opts_has(L, 2, "limit") && opts_number(L, 2, "limit", 0, 0, 1e12, what) < 1)
		return luaL_error(L, "%s: 'limit' must be at least 1 (lookups); leave it out for "
				     "no limit", what);
	cfg->max_lookups = (uint64_t)opts_number(L, 2, "limit", 0, 1, 1e12, what);
	cfg->threads = (unsigned)opts_number(L, 2, "threads", 0, 1, CLIENT_THREADS_MAX, what);
	/*
	 * One cap on worker threads, whatever sets their count: a closed-loop
	 * blocking stack gets one per lookup in flight unless 'threads' says.
	 */
	bool threaded = cfg->stack == CLIENT_GLIBC || cfg->stack == CLIENT_GLIBC_RES ||
			cfg->stack == CLIENT_LDNS || cfg->stack == CLIENT_EXEC;
	if (threaded && !has_rate && cfg->threads == 0 && cfg->concurrency > CLIENT_THREADS_MAX)
		return luaL_error(L, "%s: concurrency %d needs as many worker threads (%s blocks one "
				     "per lookup), and a client has at most %d: lower it, or give "
				     "threads = N (at most %d; the other lookups wait for a free thread)",
				  what, (int)cfg->concurrency, client_stack_name(cfg->stack),
				  CLIENT_THREADS_MAX, CLIENT_THREADS_MAX);
	cfg->max_pending = (unsigned)opts_number(L, 2, "max_pending", 10000, 1, 1e7, what);
	cfg->timeout_s = opts_number(L, 2, "timeout", -1, 0.001, 600, what);
	cfg->attempts = (int)opts_number(L, 2, "attempts", -1, 1, 100, what);
	cfg->rotate = opt_tristate(L, 2, "rotate", what);
	cfg->edns0 = opt_tristate(L, 2, "edns0", what);
	cfg->single_request = opt_tristate(L, 2, "single_request", what);
	cfg->cache = opt_tristate(L, 2, "cache", what);
	cfg->random_order = opt_tristate(L, 2, "random_order", what);
	cfg->ndots = (int)opts_number(L, 2, "ndots", -1, 0, 15, what);
	cfg->nsearch = read_strings(L, 2, "search", cfg->search, CLIENT_SEARCH_MAX, what);
	for (size_t i = 0; i < cfg->nsearch; i++) {
		ldns_rdf *dn = ldns_dname_new_frm_str(cfg->search[i]);
		size_t len = dn ? ldns_rdf_size(dn) : 0;
		ldns_rdf_deep_free(dn);
		if (!dn || len > 200)
			return luaL_error(L, "%s: search[%d] '%s' is not a domain name (or too long to "
					     "append a name to)", what, (int)i + 1, cfg->search[i]);
	}
	cfg->argc = read_strings(L, 2, "command", cfg->argv, CLIENT_ARGV_MAX - 1, what);
	if (cfg->stack == CLIENT_EXEC && cfg->argc == 0)
		return luaL_error(L, "%s: stack 'exec' needs command = { \"program\", \"arg\", ... } "
				     "({name} {server} {port} {type} {source} are replaced)", what);
	if (cfg->stack != CLIENT_EXEC && cfg->argc)
		return luaL_error(L, "%s: 'command' is for stack 'exec'", what);
	read_env(L, 2, cfg, what);
	/* dnschaos check runs no command: a history recorded in the sandbox is judged anywhere */
	if (cfg->stack == CLIENT_EXEC && !exec_told_where(cfg) && !sandbox_ns_active() &&
	    !runner_describe_only(scenario_run(sc)))
		return luaL_error(L, "%s: outside the sandbox an exec command must be told where to "
				     "send: use {server} and {port} in it, or run in the sandbox (the "
				     "default where namespaces are allowed; see docs/sandbox.md)", what);
	check_resolv_targets(L, cfg, what);
	if (opts_has(L, 2, "resolv_timeout") && cfg->stack != CLIENT_EXEC)
		return luaL_error(L, "%s: 'resolv_timeout' is for stack 'exec' (its resolv.conf's "
				     "timeout:); the other stacks take 'timeout'", what);
	cfg->resolv_timeout = (int)opts_number(L, 2, "resolv_timeout", -1, 1, 30, what);
	if (cfg->stack != CLIENT_UNBOUND && cfg->cache >= 0)
		return luaL_error(L, "%s: 'cache' is a libunbound option (the other stacks have no cache)",
				  what);

	if (cfg->stack == CLIENT_UNBOUND &&
	    scenario_unbound_cache(sc, cfg->cache != 0 ? 1 : 0) != (cfg->cache != 0 ? 1 : 0))
		return luaL_error(L, "%s: every libunbound client of a run must have the same 'cache': "
				     "libunbound turns its cache off with process-wide settings "
				     "(cache-max-ttl is a global)", what);

	/* A source address of its own lets the history tell this client's queries apart. */
	int stype = lua_getfield(L, 2, "source");
	char err[256], far_name[80];
	/* A remote daemon on another host (--allow-non-loopback): a packet from a
	 * loopback source never gets there, so none is bound by default. */
	const struct addr *far = far_target(cfg);
	if (far)
		addr_str(far, far_name, sizeof far_name);
	if (stype == LUA_TSTRING) {
		if (!client_stack_binds_source(cfg->stack))
			return luaL_error(L, "%s: %s cannot choose its source address", what,
					  client_stack_name(cfg->stack));
		if (addr_parse(lua_tostring(L, -1), 0, &cfg->source, err, sizeof err) != 0 ||
		    addr_port(&cfg->source) != 0 || (!far && !addr_is_loopback(&cfg->source)))
			return luaL_error(L, "%s: source must be a loopback address without a port", what);
		if (far && addr_is_loopback(&cfg->source))
			return luaL_error(
			        L,
			        "%s: source %s is a loopback address, and target %s is on "
			        "another host, which a packet from loopback never reaches: "
			        "leave 'source' out (the host then sends from its own address "
			        "towards it) or give an address of this host on that route",
			        what, lua_tostring(L, -1), far_name);
	} else if (far && stype == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
		return luaL_error(L,
		                  "%s: source = true binds a 127.0.100.x address, and target %s "
		                  "is on another host, which a packet from loopback never reaches: "
		                  "leave 'source' out",
		                  what, far_name);
	} else if (stype == LUA_TNIL || (stype == LUA_TBOOLEAN && lua_toboolean(L, -1))) {
		/* Farm objects live on 127.0.0.x; an "ip:port" target may be IPv6. */
		bool v4 = cfg->target_refs[0] || cfg->targets[0].ss.ss_family == AF_INET;
		if (client_stack_binds_source(cfg->stack) && v4 && !far) {
			char a[32];
			snprintf(a, sizeof a, "127.0.100.%u", scenario_next_client_source(sc));
			addr_parse(a, 0, &cfg->source, err, sizeof err);
		}
	} else if (stype != LUA_TBOOLEAN) {
		return luaL_error(L, "%s: source must be an address, true or false", what);
	}
	lua_pop(L, 1);
	cfg->seed = runner_seed(sandbox_runner(L)) * 0x9e3779b97f4a7c15ULL + scenario_client_count(sc) + 1;

	/* One cap on the threads of all the run's clients (client_start enforces it too). */
	lua_Integer need = client_threads_needed(cfg);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &run_threads_key);
	lua_Integer total = lua_tointeger(L, -1) + need;
	lua_pop(L, 1);
	if (need && total > CLIENT_RUN_THREADS_MAX)
		return luaL_error(L, "%s: would bring the run to %d client threads, over the run's "
				     "cap of %d; lower 'threads' or 'concurrency'",
				  what, (int)total, CLIENT_RUN_THREADS_MAX);

	char cerr[256];
	struct client **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	struct client *c = runner_new_client(sandbox_runner(L), cfg, cerr, sizeof cerr);
	if (!c)
		return luaL_error(L, "%s", cerr);
	lua_pushinteger(L, total);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &run_threads_key);
	*box = c;
	luaL_setmetatable(L, BIND_CLIENT);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, c);
	decl_record(L, "client", 2);
	return 1;
}

/*
 * c:rate(n): the open-loop rate from now on (0 pauses arrivals); before the
 * run too. Declared: s:at(t, c, "rate", { rate = n }).
 */
static void parse_rate(lua_State *L, int self, int idx, struct run_action *a)
{
	struct client *c = client_check(L, self);
	double rate;
	if (lua_istable(L, idx)) {
		static const char *const keys[] = { "rate", NULL };
		opts_check(L, idx, "rate", keys, false);
		if (!opts_has(L, idx, "rate"))
			luaL_error(L, "rate: option 'rate' is required (lookups per second)");
		lua_getfield(L, idx, "rate");
		rate = luaL_checknumber(L, -1);
		lua_pop(L, 1);
	} else {
		rate = luaL_checknumber(L, idx);
	}
	if (!(rate >= 0 && rate <= 1e6)) /* NaN too */
		luaL_error(L, "%s:rate: 0 to 1000000 lookups per second, got %f", client_name(c), rate);
	a->verb = RUN_RATE;
	a->client = c;
	a->rate = rate;
}

/* c:rate(n) takes the number itself; s:at(t, c, "rate", { rate = n }) and a control command the table. */
static const struct action_method rate_method = { "rate", parse_rate, false, true, NULL };

const struct action_method client_actions[] = {
	{ "rate", parse_rate, true, true, NULL },
	{ NULL, NULL, false, false, NULL },
};

static int c_rate(lua_State *L)
{
	client_check(L, 1);
	int n = action_method(L, &rate_method);
	if (!runner_running(sandbox_runner(L))) {
		/* A rate set in setup is the declared client's: a declaration too. */
		lua_createtable(L, 0, 2);
		lua_pushvalue(L, 1);
		lua_setfield(L, -2, "client");
		lua_pushvalue(L, 2);
		lua_setfield(L, -2, "rate");
		decl_record(L, "rate", -1);
		lua_pop(L, 1);
	}
	return n;
}

/* c:stats(): { invoked, ok, failed, timeouts, cancelled, overload, pending, wire, stale, wrong } */
static int c_stats(lua_State *L)
{
	struct client *c = client_check(L, 1);
	struct client_stats st;
	client_get_stats(c, &st);
	lua_createtable(L, 0, 10);
	const struct { const char *k; uint64_t v; } f[] = {
		{ "invoked", st.invoked },   { "ok", st.ok },		{ "failed", st.failed },
		{ "timeouts", st.timeouts }, { "cancelled", st.cancelled }, { "overload", st.overload },
		{ "pending", st.pending },   { "wire", st.wire },		{ "stale", st.stale },
		{ "wrong", st.wrong },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		lua_pushinteger(L, (lua_Integer)f[i].v);
		lua_setfield(L, -2, f[i].k);
	}
	return 1;
}

static int c_index(lua_State *L)
{
	struct client *c = client_check(L, 1);
	const char *k = luaL_checkstring(L, 2);
	if (strcmp(k, "name") == 0)
		lua_pushstring(L, client_name(c));
	else if (strcmp(k, "stack") == 0)
		lua_pushstring(L, client_stack_name(client_cfg(c)->stack));
	else {
		static const char *const fields[] = { "name", "stack", NULL };
		static const luaL_Reg methods[] = {
			{ "rate", c_rate }, { "stats", c_stats }, { NULL, NULL },
		};
		return opts_method(L, "client", k, fields, methods);
	}
	return 1;
}

static int c_tostring(lua_State *L)
{
	lua_pushfstring(L, "client %s", client_name(client_check(L, 1)));
	return 1;
}

void client_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", c_index },
		{ "__tostring", c_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_CLIENT);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "client");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	luaL_newmetatable(L, BIND_CLIENT_CFG);
	lua_pushcfunction(L, cfg_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}
