/*
 * fault.c - the fault type: what r:hang{...} and friends return. f:heal()
 * heals it; f.id, f.kind, f.target and f:active() describe it.
 */
#include "harness/lua/bind.h"
#include "harness/run/act.h"

#include <stdio.h>
#include <string.h>

struct fault_box {
	struct farm_resolver *r;
	uint32_t id;
	char kind[16];
};

void fault_push(lua_State *L, struct farm_resolver *r, uint32_t id, const char *kind)
{
	struct fault_box *f = lua_newuserdatauv(L, sizeof *f, 0);
	f->r = r;
	f->id = id;
	snprintf(f->kind, sizeof f->kind, "%s", kind);
	luaL_setmetatable(L, BIND_FAULT);
}

static struct fault_box *check(lua_State *L)
{
	return luaL_checkudata(L, 1, BIND_FAULT);
}

static void parse_heal(lua_State *L, int self, int idx, struct run_action *a)
{
	struct fault_box *f = luaL_checkudata(L, self, BIND_FAULT);
	(void)idx;
	a->verb = RUN_HEAL;
	a->resolver = f->r;
	a->fault_id = f->id;
}

static int push_healed(lua_State *L, const struct run_action *a, const struct run_result *res)
{
	(void)a;
	lua_pushboolean(L, res->healed > 0);
	return 1;
}

const struct action_method fault_actions[] = {
	{ "heal", parse_heal, false, false, push_healed },
	{ NULL, NULL, false, false, NULL },
};

static int f_heal(lua_State *L)
{
	check(L);
	return action_method(L, &fault_actions[0]);
}

static int f_active(lua_State *L)
{
	struct fault_box *f = check(L);
	lua_pushboolean(L, farm_resolver_has_fault(f->r, f->id));
	return 1;
}

static int f_index(lua_State *L)
{
	struct fault_box *f = check(L);
	const char *k = luaL_checkstring(L, 2);
	if (strcmp(k, "id") == 0)
		lua_pushinteger(L, f->id);
	else if (strcmp(k, "kind") == 0)
		lua_pushstring(L, f->kind);
	else if (strcmp(k, "target") == 0)
		resolver_push(L, f->r);
	else {
		static const char *const fields[] = { "id", "kind", "target", NULL };
		static const luaL_Reg methods[] = {
			{ "heal", f_heal }, { "active", f_active }, { NULL, NULL },
		};
		return opts_method(L, "fault", k, fields, methods);
	}
	return 1;
}

static int f_tostring(lua_State *L)
{
	struct fault_box *f = check(L);
	lua_pushfstring(L, "%s fault %d on %s", f->kind, (int)f->id, farm_resolver_name(f->r));
	return 1;
}

void fault_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index", f_index },
		{ "__tostring", f_tostring },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, BIND_FAULT);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "fault");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}
