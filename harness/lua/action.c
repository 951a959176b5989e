/*
 * action.c - actions as data on the Lua side: a method called on a farm
 * object (r:crash{...}) and an action declared on the timeline (s:at(t, r,
 * "crash", {...})) are parsed by the same function of the object's type
 * into a struct run_action (harness/run/act.h), held by a Lua userdata
 * created before anything is referenced, so a raise while parsing leaves
 * the references to its __gc. A method then hands the action to run_act at
 * once; a declared action is moved into the run's timeline, which carries it
 * out when due. Nothing is validated by calling a method "in a dry run".
 * A command on the control socket ("r1 delay ms=200") is parsed here too
 * (action_command): its words become the target, the method and the option
 * table the timeline's call would have, and the same parser reads them.
 */
#include "harness/lua/bind.h"
#include "harness/clients/client.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int action_gc(lua_State *L)
{
	run_action_clear(luaL_checkudata(L, 1, BIND_ACTION));
	return 0;
}

struct run_action *action_push(lua_State *L)
{
	struct run_action *a = lua_newuserdatauv(L, sizeof *a, 0);
	memset(a, 0, sizeof *a);
	luaL_setmetatable(L, BIND_ACTION);
	return a;
}

void action_open(lua_State *L)
{
	luaL_newmetatable(L, BIND_ACTION);
	lua_pushcfunction(L, action_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, "action");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}

const struct action_method *action_find(const struct action_method *m, const char *name)
{
	for (; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

int action_do(lua_State *L, struct run_action *a, struct run_result *res)
{
	char err[512];
	int rc = run_act(runner_env(sandbox_runner(L)), a, res, err, sizeof err);
	if (rc != RUN_ACT_OK)
		return luaL_error(L, "%s", err);
	return 0;
}

int action_method(lua_State *L, const struct action_method *m)
{
	lua_settop(L, 2);                      /* self, options (nil if absent) */
	struct run_action *a = action_push(L); /* 3: before anything is referenced */
	int top = lua_gettop(L);
	m->parse(L, 1, 2, a);
	lua_settop(L, top);
	if (!runner_running(sandbox_runner(L)) && !m->setup) {
		const char *name = run_action_target(a);
		if (m->opts)
			return luaL_error(L, "%s:%s happens during the run: use s:at(t, %s, '%s', {...}) "
					     "or call it in a timeline function",
					  name, m->name, name, m->name);
		return luaL_error(L, "%s:%s happens during the run: use s:at(t, %s, '%s') or call it "
				     "in a timeline function",
				  name, m->name, name, m->name);
	}
	struct run_result res;
	action_do(L, a, &res);
	int n = m->result ? m->result(L, a, &res) : 0;
	run_action_clear(a); /* its references now, not at the next collection */
	return n;
}

/* The action table of the object at target, and its type's name; NULL if it has none. */
static const struct action_method *table_for(lua_State *L, int target, bool clients,
					     const char **type)
{
	*type = NULL;
	if (luaL_testudata(L, target, BIND_RESOLVER))
		return *type = "resolver", resolver_actions;
	if (luaL_testudata(L, target, BIND_SOURCE))
		return *type = "zone source", source_actions;
	if (luaL_testudata(L, target, BIND_VIP))
		return *type = "vip", vip_actions;
	if (luaL_testudata(L, target, BIND_FAULT))
		return *type = "fault", fault_actions;
	if (luaL_testudata(L, target, BIND_PROCESS))
		return *type = "process", process_actions;
	if (luaL_testudata(L, target, BIND_REMOTE))
		return *type = "remote", remote_actions;
	if (clients && luaL_testudata(L, target, BIND_CLIENT))
		return *type = "client", client_actions;
	return NULL;
}

const struct action_method *action_lookup(lua_State *L, int target, const char *method,
					  const char *where, bool clients)
{
	const char *type;
	const struct action_method *table = table_for(L, target, clients, &type);
	const struct action_method *m = table ? action_find(table, method) : NULL;
	if (m)
		return m;
	if (table) {
		/* The closest action, whatever else the type has. */
		const char *names[40];
		size_t n = 0;
		for (const struct action_method *t = table; t->name && n < 39; t++)
			names[n++] = t->name;
		names[n] = NULL;
		luaL_error(L, "%s%s has no field or method '%s' (did you mean '%s'?)", where, type,
			   method, opts_closest(method, names));
	}
	luaL_error(L, "%sa %s has no actions: the target must be a resolver, a process, a remote, "
		      "a zone source, a vip, %sa fault",
		   where, luaL_typename(L, target), clients ? "a client or " : "or ");
	return NULL;
}

/* ---- control commands ---- */

struct command_args {
	int argc;
	char *const *argv;
	struct run_action *out;
	double expire;
};

/* Pushes a command's value as the scenario would write it: true, false, a number, or a string. */
static void push_value(lua_State *L, const char *v)
{
	if (strcmp(v, "true") == 0)
		lua_pushboolean(L, 1);
	else if (strcmp(v, "false") == 0)
		lua_pushboolean(L, 0);
	else if (lua_stringtonumber(L, v) == 0)
		lua_pushstring(L, v);
}

/* Protected: argv parsed into the action (the args at 1, a light userdata). */
static int command_parse(lua_State *L)
{
	struct command_args *c = lua_touserdata(L, 1);
	struct runner *run = sandbox_runner(L);
	const char *name = c->argv[0], *method = c->argv[1];
	lua_settop(L, 0);
	struct client *cl = runner_find_client(run, name);
	if (cl)
		lua_rawgetp(L, LUA_REGISTRYINDEX, cl); /* its handle (client_new) */
	else
		scenario_push_named(L, name); /* raises naming the known targets */
	int target = 1;
	if (strlen(method) >= 32 || method[0] == '_')
		return luaL_error(L, "no method '%s'", method);
	const struct action_method *m = action_lookup(L, target, method, "", true);
	lua_newtable(L); /* 2: the options, as the scenario's table */
	int opts = 2;
	for (int i = 2; i < c->argc; i++) {
		const char *w = c->argv[i], *eq = strchr(w, '=');
		size_t kl = eq ? (size_t)(eq - w) : 0;
		if (!eq || kl == 0 || kl >= 32 || strspn(w, "abcdefghijklmnopqrstuvwxyz_0123456789") != kl)
			return luaL_error(L, "'%s' is not an option: write key=value (ms=200, "
					     "file=zones/x.zone)",
					  w);
		char key[32];
		memcpy(key, w, kl);
		key[kl] = '\0';
		if (lua_getfield(L, opts, key) != LUA_TNIL)
			return luaL_error(L, "option '%s' is given twice", key);
		lua_pop(L, 1);
		lua_pushstring(L, key);
		if (kl == 6 && strncmp(w, "source", 6) == 0)
			scenario_push_named(L, eq + 1); /* source = <zone source> */
		else
			push_value(L, eq + 1);
		lua_rawset(L, opts);
	}
	/* A process hang heals itself after duration= (the control socket's timer). */
	if (luaL_testudata(L, target, BIND_PROCESS) && strcmp(method, "hang") == 0 &&
	    opts_has(L, opts, "duration")) {
		c->expire = opts_number(L, opts, "duration", 0, 0.001, 7 * 24 * 3600.0, "hang");
		lua_pushnil(L);
		lua_setfield(L, opts, "duration");
	}
	int arg = opts;
	if (luaL_testudata(L, target, BIND_CLIENT) && strcmp(method, "rate") == 0) {
		/* c:rate(n): the number is the argument */
		static const char *const keys[] = { "rate", NULL };
		opts_check(L, opts, "rate", keys, false);
		if (!opts_has(L, opts, "rate"))
			return luaL_error(L, "rate: give rate=N (lookups per second)");
		lua_getfield(L, opts, "rate");
		arg = lua_gettop(L);
	} else if (luaL_testudata(L, target, BIND_RESOLVER) && strcmp(method, "heal") == 0) {
		/* r:heal() every fault, r:heal(f) one: id=N names it */
		static const char *const keys[] = { "id", NULL };
		opts_check(L, opts, "heal", keys, false);
		if (opts_has(L, opts, "id")) {
			double id = opts_number(L, opts, "id", 0, 1, 4294967295.0, "heal");
			fault_push(L, resolver_check(L, target), (uint32_t)id, "fault");
			arg = lua_gettop(L);
		}
	} else if (luaL_testudata(L, target, BIND_VIP)) {
		/* v:remove(r): backend=NAME */
		static const char *const keys[] = { "backend", NULL };
		opts_check(L, opts, method, keys, false);
	} else if (!m->opts) {
		static const char *const none[] = { NULL };
		opts_check(L, opts, method, none, false);
	}
	struct run_action *a = action_push(L); /* before the parser references anything */
	m->parse(L, target, arg, a);
	run_action_move(c->out, a);
	return 0;
}

int action_command(lua_State *L, int argc, char *const argv[], struct run_action *a,
		   double *expire, char *err, size_t errlen)
{
	struct command_args c = { argc, argv, a, 0 };
	int top = lua_gettop(L);
	*expire = 0;
	if (argc < 2) {
		snprintf(err, errlen, "give TARGET METHOD [key=value ...]");
		return -1;
	}
	struct sandbox_deadline d = sandbox_enter(L, runner_callback_limit(sandbox_runner(L)));
	lua_pushcfunction(L, command_parse);
	lua_pushlightuserdata(L, &c);
	int rc = lua_pcall(L, 1, 0, 0);
	sandbox_leave(L, d);
	if (rc != LUA_OK) {
		sandbox_push_error(L, L, 1);
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		lua_settop(L, top);
		run_action_clear(a);
		return -1;
	}
	lua_settop(L, top);
	*expire = c.expire;
	return 0;
}
