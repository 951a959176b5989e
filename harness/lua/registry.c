/*
 * registry.c - the scenario's own state, and what every binding shares to
 * declare an object: its name and address checked against the run's
 * registry (harness/run/), the object handed to the run, the expectations
 * kept for the checker. The scenario{} constructor and its methods are in
 * scenario.c, above the types; this file is below them.
 */
#include "harness/lua/bind.h"
#include "harness/clients/client.h"
#include "harness/record/checker.h"
#include "harness/run/run.h"
#include "harness/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scenario {
	struct runner *run;
	lua_State *L;
	struct sched *sched;
	char name[SCENARIO_NAME_MAX];
	double duration;
	bool has_seed;
	uint64_t seed;
	unsigned next_source;
	int unbound_cache; /* -1 until a libunbound client says */
	struct expectation *expects;
	size_t nexp;
	void **allocs; /* scenario_alloc */
	size_t nallocs;
};

static const char scenario_key = 0;

static struct scenario *scenario_of(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &scenario_key);
	struct scenario *sc = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return sc;
}

struct scenario *scenario_get(lua_State *L)
{
	return scenario_of(L);
}

const char *scenario_name(const struct scenario *sc)
{
	return sc->name;
}

double scenario_duration(const struct scenario *sc)
{
	return sc->duration;
}

bool scenario_has_seed(const struct scenario *sc)
{
	return sc->has_seed;
}

uint64_t scenario_seed(const struct scenario *sc)
{
	return sc->seed;
}

static void *grow(lua_State *L, void *p, size_t n, size_t elem)
{
	void *q = realloc(p, (n + 1) * elem);
	if (!q)
		luaL_error(L, "out of memory");
	return q;
}

void scenario_add_expectation(lua_State *L, struct scenario *sc, const struct expectation *e)
{
	sc->expects = grow(L, sc->expects, sc->nexp, sizeof *sc->expects);
	sc->expects[sc->nexp++] = *e;
}

const struct expectation *scenario_expectations(const struct scenario *sc, size_t *n)
{
	*n = sc->nexp;
	return sc->expects;
}

void *scenario_alloc(lua_State *L, struct scenario *sc, size_t size)
{
	sc->allocs = grow(L, sc->allocs, sc->nallocs, sizeof *sc->allocs);
	void *p = calloc(1, size);
	if (!p)
		luaL_error(L, "out of memory");
	sc->allocs[sc->nallocs++] = p;
	return p;
}

size_t scenario_client_count(const struct scenario *sc)
{
	return runner_client_count(sc->run);
}

int scenario_unbound_cache(struct scenario *sc, int want)
{
	if (sc->unbound_cache < 0)
		sc->unbound_cache = want;
	return sc->unbound_cache;
}

unsigned scenario_next_client_source(struct scenario *sc)
{
	return 1 + (sc->next_source++ % 250);
}

void scenario_pick_address(lua_State *L, struct scenario *sc, int idx, struct addr *out,
			   const char *what)
{
	char err[256];
	const char *address = opts_string(L, idx, "address", "", what);
	/*
	 * In the sandbox the loopback is the run's own: an address without a
	 * port gets 53, so a resolv.conf (which cannot name a port) can name it.
	 */
	uint16_t port = sandbox_ns_active() ? 53 : 0;
	if (!address[0]) {
		if (runner_next_address(sc->run, out) != 0)
			luaL_error(L, "%s: no free loopback address left", what);
		if (port)
			addr_set_port(out, port);
		return;
	}
	if (addr_parse(address, port, out, err, sizeof err) != 0)
		luaL_error(L, "%s: %s", what, err);
	if (!addr_is_loopback(out))
		luaL_error(L, "%s: address %s is not on loopback (127.0.0.0/8 or ::1): dnschaos "
			      "never sends traffic off the machine",
			   what, address);
	if (runner_address_used(sc->run, out))
		luaL_error(L, "%s: address %s is already used by another object", what, address);
}

void scenario_check_name(lua_State *L, struct scenario *sc, const char *name, const char *what)
{
	size_t n = strlen(name);
	if (n == 0 || n >= FARM_NAME_MAX)
		luaL_error(L, "%s: 'name' must be 1 to %d characters", what, FARM_NAME_MAX - 1);
	if (runner_name_taken(sc->run, name))
		luaL_error(L, "%s: the name '%s' is already taken", what, name);
	if (runner_running(sc->run))
		luaL_error(L, "%s: declare the farm before the run starts", what);
}

struct runner *scenario_run(const struct scenario *sc)
{
	return sc->run;
}

struct scenario *scenario_create(lua_State *L, struct runner *run, const char *name,
				 double duration, bool has_seed, uint64_t seed)
{
	struct scenario *sc = calloc(1, sizeof *sc);
	if (!sc)
		luaL_error(L, "out of memory");
	sc->run = run;
	sc->L = L;
	snprintf(sc->name, sizeof sc->name, "%s", name);
	sc->duration = duration;
	sc->has_seed = has_seed;
	sc->seed = seed;
	sc->unbound_cache = -1;
	lua_pushlightuserdata(L, sc);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &scenario_key); /* scenario_destroy frees it */
	sc->sched = sched_create(L, run);
	if (!sc->sched)
		luaL_error(L, "out of memory");
	runner_describe(run, sc->name, sc->duration);
	return sc;
}

void scenario_destroy(struct scenario *sc)
{
	if (!sc)
		return;
	sched_destroy(sc->sched);
	free(sc->expects);
	for (size_t i = 0; i < sc->nallocs; i++)
		free(sc->allocs[i]);
	free(sc->allocs);
	free(sc);
}

struct sched *scenario_sched(const struct scenario *sc)
{
	return sc->sched;
}
