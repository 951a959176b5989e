/*
 * process.c (lua) - the process type: s:process{...} declares a real DNS
 * daemon as a farm member (harness/farm/process.c); its methods hang
 * (SIGSTOP), continue (SIGCONT), kill, stop, start and restart it (restart
 * with zone_file = an old file is the stale-file reboot); with source = a
 * zone source it is a secondary that transfers its zone. Every method that
 * acts parses its options into a struct run_action and hands it to run_act,
 * and s:at parses a declared action with the same function.
 */
#include "harness/lua/bind.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <string.h>

#define COMMAND_MAX 64

/* The zone a start or restart puts in place: zone_file = "old.zone" or zone = z (same origin). */
static void read_zone(lua_State *L, int idx, struct run_action *a, const char *what)
{
	struct zone_version **z = opts_udata(L, idx, "zone", BIND_ZONE, what);
	const char *file = opts_string(L, idx, "zone_file", "", what);
	if (z && file[0])
		luaL_error(L, "%s: give zone or zone_file, not both", what);
	if (z && !*z)
		luaL_error(L, "%s: 'zone' was used after it was closed", what);
	if (!z && !file[0])
		return;
	/* Into the action at once: its __gc drops the reference on a raise. */
	a->boot.zones[a->boot.nzones++] = z ? zone_version_ref(*z) : zone_load(L, file);
	a->has_boot = true;
}

/*
 * s:process{ name, command = {...}, zone_file | zone, source, address,
 *            config | config_text, start_timeout }
 */
int process_new(lua_State *L)
{
	static const char *const keys[] = { "name",	     "command", "zone_file",
					    "zone",	     "source",  "address",
					    "config",	     "config_text", "start_timeout",
					    NULL };
	const char *what = "process";
	struct scenario *sc = scenario_get(L);
	struct farm_process_config cfg;
	const char *argv[COMMAND_MAX];
	char path[4096], cpath[4096];

	luaL_checkudata(L, 1, BIND_SCENARIO);
	opts_check(L, 2, what, keys, false);
	memset(&cfg, 0, sizeof cfg);
	const char *name = opts_string(L, 2, "name", NULL, what);
	scenario_check_name(L, sc, name, what);
	snprintf(cfg.name, sizeof cfg.name, "%s", name);
	scenario_pick_address(L, sc, 2, &cfg.addr, what);
	if (lua_getfield(L, 2, "command") != LUA_TTABLE)
		return luaL_error(L, "process '%s': command = { 'unbound', '-d', '-c', '{config}' } "
				     "is required (a list of strings: the program and its arguments)",
				  name);
	int ct = lua_gettop(L);
	lua_Integer n = luaL_len(L, ct);
	if (n < 1 || n > COMMAND_MAX)
		return luaL_error(L, "process '%s': command has %d entries (1 to %d)", name, (int)n,
				  COMMAND_MAX);
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, ct, i) != LUA_TSTRING)
			return luaL_error(L, "process '%s': command[%d] must be a string, got %s", name,
					  (int)i, luaL_typename(L, -1));
		argv[i - 1] = lua_tostring(L, -1); /* anchored in the command table */
		lua_pop(L, 1);
	}
	cfg.argv = argv;
	cfg.argc = (size_t)n;
	/* The zone: a reference kept in a boot plan userdata, so a raise leaks nothing. */
	struct farm_boot *boot = boot_push(L);
	struct zone_version **z = opts_udata(L, 2, "zone", BIND_ZONE, what);
	const char *zfile = opts_string(L, 2, "zone_file", "", what);
	if (z && zfile[0])
		return luaL_error(L, "process '%s': give zone or zone_file, not both", name);
	if (z && !*z)
		return luaL_error(L, "process '%s': 'zone' was used after it was closed", name);
	struct farm_source **src = opts_udata(L, 2, "source", BIND_SOURCE, what);
	if (!z && !zfile[0] && !src)
		return luaL_error(L, "process '%s': zone_file = 'path' is required (the zone it "
				     "serves, copied into its directory as {zone_file}), or source = "
				     "<zone source> (a secondary: it transfers the zone itself)",
				  name);
	if (z || zfile[0]) {
		boot->zones[boot->nzones++] = z ? zone_version_ref(*z) : zone_load(L, zfile);
		cfg.zone = boot->zones[0];
	}
	cfg.source = src ? *src : NULL;
	const char *config = opts_string(L, 2, "config", "", what);
	const char *text = opts_string(L, 2, "config_text", "", what);
	if (config[0] && text[0])
		return luaL_error(L, "process '%s': give config (a file) or config_text, not both",
				  name);
	if (config[0]) {
		runner_path(sandbox_runner(L), config, cpath, sizeof cpath);
		cfg.config_path = cpath;
	}
	if (text[0])
		cfg.config_text = text;
	cfg.start_timeout_s = opts_number(L, 2, "start_timeout", 10, 0.1, 600, what);
	(void)path;
	luaL_where(L, 1);
	snprintf(cfg.where, sizeof cfg.where, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	size_t wl = strlen(cfg.where);
	while (wl && (cfg.where[wl - 1] == ' ' || cfg.where[wl - 1] == ':'))
		cfg.where[--wl] = '\0';
	/* The handle first: nothing can raise between creating and boxing. */
	struct farm_process **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	char err[8192];
	struct farm_process *p = runner_new_process(sandbox_runner(L), &cfg, err, sizeof err);
	farm_boot_clear(boot);
	if (!p)
		return luaL_error(L, "process '%s': %s", name, err);
	*box = p;
	luaL_setmetatable(L, BIND_PROCESS);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, p);
	decl_record(L, "process", 2);
	return 1;
}

static void parse_plain(lua_State *L, int self, int idx, struct run_action *a, enum run_verb v,
			const char *what)
{
	static const char *const keys[] = { NULL };
	opts_check(L, idx, what, keys, true);
	a->verb = v;
	a->process = process_check(L, self);
}

/* p:hang{ duration = S }: continued by itself after S s, bounded as a resolver fault's duration. */
static void parse_hang(lua_State *L, int self, int idx, struct run_action *a)
{
	static const char *const keys[] = {"duration", NULL};
	opts_check(L, idx, "hang", keys, true);
	a->verb = RUN_SUSPEND;
	a->process = process_check(L, self);
	if (!lua_isnoneornil(L, idx))
		a->duration = opts_number(L, idx, "duration", 0, 0, 7 * 24 * 3600.0, "hang");
}

static void parse_continue(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_plain(L, self, idx, a, RUN_RESUME, "continue");
}

static void parse_kill(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_plain(L, self, idx, a, RUN_KILL, "kill");
}

static void parse_stop(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_plain(L, self, idx, a, RUN_STOP, "stop");
}

static void parse_boot(lua_State *L, int self, int idx, struct run_action *a, enum run_verb v,
		       const char *what)
{
	static const char *const keys[] = { "zone_file", "zone", NULL };
	opts_check(L, idx, what, keys, true);
	a->verb = v;
	a->process = process_check(L, self);
	if (!lua_isnoneornil(L, idx))
		read_zone(L, idx, a, what);
}

static void parse_start(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_boot(L, self, idx, a, RUN_START, "start");
}

/* p:restart{ zone_file = "old.zone" }: the stale-file reboot. */
static void parse_restart(lua_State *L, int self, int idx, struct run_action *a)
{
	parse_boot(L, self, idx, a, RUN_RESTART, "restart");
}

static int push_fault_id(lua_State *L, const struct run_action *a, const struct run_result *res)
{
	(void)a;
	lua_pushinteger(L, res->fault_id);
	return 1;
}

static int push_healed(lua_State *L, const struct run_action *a, const struct run_result *res)
{
	(void)a;
	lua_pushboolean(L, res->healed > 0);
	return 1;
}

const struct action_method process_actions[] = {
	{ "hang", parse_hang, true, false, push_fault_id },
	{ "continue", parse_continue, false, false, push_healed },
	{ "kill", parse_kill, false, false, NULL },
	{ "stop", parse_stop, false, false, NULL },
	{ "start", parse_start, true, false, NULL },
	{ "restart", parse_restart, true, false, NULL },
	{ NULL, NULL, false, false, NULL },
};

#define METHOD(fn, i)                                           \
	static int fn(lua_State *L)                             \
	{                                                       \
		process_check(L, 1);                            \
		return action_method(L, &process_actions[i]);  \
	}
METHOD(p_hang, 0)
METHOD(p_continue, 1)
METHOD(p_kill, 2)
METHOD(p_stop, 3)
METHOD(p_start, 4)
METHOD(p_restart, 5)
#undef METHOD

/* p:serial(): the serial of the zone file it booted, or nil while down. */
static int p_serial(lua_State *L)
{
	int64_t s = farm_process_serial(process_check(L, 1));
	if (s < 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, s);
	return 1;
}

static int p_state(lua_State *L)
{
	lua_pushstring(L, farm_state_name(farm_process_state(process_check(L, 1))));
	return 1;
}

static int p_hung(lua_State *L)
{
	lua_pushboolean(L, farm_process_hung(process_check(L, 1)));
	return 1;
}

static const luaL_Reg methods[] = {
	{ "hang", p_hang },	  { "continue", p_continue }, { "kill", p_kill },
	{ "stop", p_stop },	  { "start", p_start },	      { "restart", p_restart },
	{ "serial", p_serial },	  { "state", p_state },	      { "hung", p_hung },
	{ NULL, NULL },
};

static int p_index(lua_State *L)
{
	struct farm_process *p = process_check(L, 1);
	return opts_member_index(L, "process", farm_process_name(p), farm_process_addr(p), methods);
}

static int p_tostring(lua_State *L)
{
	lua_pushfstring(L, "process %s", farm_process_name(process_check(L, 1)));
	return 1;
}

void process_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", p_index },
		{ "__tostring", p_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_PROCESS);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "process");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}
