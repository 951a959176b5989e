/*
 * action.c - actions as data on the Lua side: a method called on a farm
 * object (r:crash{...}) and an action declared on the timeline (s:at(t, r,
 * "crash", {...})) are parsed by the same function of the object's type
 * into a struct run_action (harness/run/act.h), held by a Lua userdata
 * created before anything is referenced, so a raise while parsing leaves
 * the references to its __gc. A method then hands the action to run_act at
 * once; a declared action is moved into the run's timeline, which carries it
 * out when due. Nothing is validated by calling a method "in a dry run".
 * Finding a method by its target and name (s:at's, and a control command's)
 * is command.c's: it knows every type's table; this file knows none.
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
