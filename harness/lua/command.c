/*
 * command.c - an action named rather than called: s:at(t, target, "method",
 * {...}) and a command on the control socket ("r1 delay ms=200") find the
 * method in the target type's table (action_lookup), with the scenario's
 * own "did you mean" errors. A command's words become the target, the method
 * and the option table the timeline's call would have (action_command), and
 * the same parser reads them (action.c carries the action out).
 */
#include "harness/lua/bind.h"
#include "harness/clients/client.h"
#include "harness/run/run.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		/* where is the caller's "file:line: ..." (or nothing): raised as is */
		lua_pushfstring(L, "%s%s has no field or method '%s' (did you mean '%s'?)", where,
				type, method, opts_closest(method, names));
		lua_error(L);
	}
	lua_pushfstring(L, "%sa %s has no actions: the target must be a resolver, a process, a "
			   "remote, a zone source, a vip, %sa fault",
			where, luaL_typename(L, target), clients ? "a client or " : "or ");
	lua_error(L);
	return NULL;
}

/* ---- control commands ---- */

struct command_args {
	int argc;
	char *const *argv;
	struct run_action *out;
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

int action_command(lua_State *L, int argc, char *const argv[], struct run_action *a, char *err,
                   size_t errlen)
{
	struct command_args c = {argc, argv, a};
	int top = lua_gettop(L);
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
	return 0;
}
