/*
 * test_route.c - the VIP's router (harness/lb/route.h), without sockets and
 * on virtual time: pins that live while packets keep coming and die after
 * an idle gap, numgen-like (smooth weighted) round robin for new flows,
 * membership with keep and flush, the per-query, random and primary
 * policies. Then invariants over long random sequences (fixed seeds) of
 * packets, replies, health verdicts, sweeps and time, held against a plain
 * model of the flow table: a live pin is kept (up, or down under keep); a
 * down backend never gets a new flow or query; flush and expiry drop
 * exactly what the model says; weighted shares hold under stable membership.
 *
 * Bad parameters first, then behaviour. No clock is read: time is a number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/rng.h"
#include "harness/lb/route.h"

/* ---- router helpers ---- */

/* A UDP (or TCP) flow key from 127.0.0.1:port. */
static struct vip_flow_key key_of(uint16_t port, bool tcp)
{
	struct vip_flow_key k;
	char err[128] = "";
	memset(&k, 0, sizeof k);
	if (addr_parse("127.0.0.1", 53, &k.client, err, sizeof err) != 0)
		fail_msg("%s", err);
	addr_set_port(&k.client, port);
	k.tcp = tcp;
	return k;
}

static struct vip_router *router_new(enum vip_policy policy, enum vip_on_down on_down,
				     const unsigned *weights, size_t n, struct rng *rng)
{
	struct vip_router *r = vip_router_create(policy, on_down, 30.0, weights, n, rng);
	assert_non_null(r);
	return r;
}

static const unsigned two[2] = { 1, 1 };

/* ---- router: bad parameters ---- */

static void test_router_bad_parameters(void **state)
{
	(void)state;
	unsigned w[VIP_BACKENDS_MAX + 1];
	for (size_t i = 0; i <= VIP_BACKENDS_MAX; i++)
		w[i] = 1;
	assert_null(vip_router_create(VIP_FLOW, VIP_KEEP, 30, w, 0, NULL));
	assert_null(vip_router_create(VIP_FLOW, VIP_KEEP, 30, w, VIP_BACKENDS_MAX + 1, NULL));
	vip_router_destroy(NULL); /* a no-op */

	struct vip_router *r = router_new(VIP_FLOW, VIP_FLUSH, w, VIP_BACKENDS_MAX, NULL);
	for (int i = 0; i < VIP_BACKENDS_MAX; i++)
		assert_true(vip_router_is_up(r, i));
	assert_false(vip_router_is_up(r, -1));
	assert_false(vip_router_is_up(r, VIP_BACKENDS_MAX));
	/* Out of range: nothing changes, nothing flushed. */
	struct vip_flow_key k = key_of(1000, false);
	assert_int_equal(vip_router_route(r, &k, 0).backend, 0);
	assert_int_equal(vip_router_set_up(r, -1, false), 0);
	assert_int_equal(vip_router_set_up(r, VIP_BACKENDS_MAX, false), 0);
	assert_int_equal(vip_router_flows(r), 1);
	vip_router_destroy(r);

	enum vip_policy p = VIP_FLOW;
	assert_int_equal(vip_policy_parse("primary", &p), 0);
	assert_int_equal(p, VIP_PRIMARY);
	assert_int_equal(vip_policy_parse("query", &p), 0);
	assert_int_equal(p, VIP_QUERY);
	assert_int_equal(vip_policy_parse("round-robin", &p), -1);
	assert_int_equal(vip_policy_parse("", &p), -1);
	assert_int_equal(p, VIP_QUERY); /* untouched on failure */
	assert_string_equal(vip_policy_name(VIP_FLOW), "flow");
	assert_string_equal(vip_policy_name(VIP_RANDOM), "random");
	assert_string_equal(vip_policy_name((enum vip_policy)42), "?");
}

/* ---- router: the flow policy ---- */

static void test_router_flow_pins_while_packets_keep_coming(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	struct vip_flow_key a = key_of(40000, false);
	struct vip_route rt = vip_router_route(r, &a, 100.0);
	assert_true(rt.new_flow);
	assert_false(rt.pinned_down);
	int b = rt.backend;
	assert_true(b == 0 || b == 1);
	/* 20 s gaps, 200 s in all: far past flow_idle_s, never idle that long. */
	for (double t = 120.0; t <= 300.0; t += 20.0) {
		rt = vip_router_route(r, &a, t);
		assert_int_equal(rt.backend, b);
		assert_false(rt.new_flow);
		assert_false(rt.pinned_down);
	}
	assert_int_equal(vip_router_flows(r), 1);
	vip_router_destroy(r);
}

static void test_router_flow_gap_reroutes(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	struct vip_flow_key a = key_of(40000, false);
	struct vip_route first = vip_router_route(r, &a, 0.0);
	assert_true(first.new_flow);
	assert_false(vip_router_route(r, &a, 29.0).new_flow);
	/* 31 s of silence: the pin is gone, the packet is a new flow and takes
	 * the next backend in the rotation (the other one of two). */
	struct vip_route again = vip_router_route(r, &a, 60.0);
	assert_true(again.new_flow);
	assert_int_equal(again.backend, 1 - first.backend);
	assert_int_equal(vip_router_flows(r), 1); /* the same entry, re-pinned */
	/* ...and it is pinned there from now on. */
	struct vip_route next = vip_router_route(r, &a, 61.0);
	assert_false(next.new_flow);
	assert_int_equal(next.backend, again.backend);
	vip_router_destroy(r);
}

static void test_router_flow_new_keys_alternate(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	for (uint16_t p = 0; p < 100; p++) {
		/* numgen inc mod 2: 0, 1, 0, 1, ... from the first flow on */
		struct vip_flow_key k = key_of((uint16_t)(30000 + p), false);
		struct vip_route rt = vip_router_route(r, &k, 1.0);
		assert_true(rt.new_flow);
		assert_int_equal(rt.backend, p % 2);
	}
	assert_int_equal(vip_router_flows(r), 100);
	/* The same port over TCP is another flow. */
	struct vip_flow_key t = key_of(30000, true);
	assert_true(vip_router_route(r, &t, 1.0).new_flow);
	assert_int_equal(vip_router_flows(r), 101);
	/* Each key still has its own pin. */
	for (uint16_t p = 0; p < 100; p++) {
		struct vip_flow_key k = key_of((uint16_t)(30000 + p), false);
		struct vip_route rt = vip_router_route(r, &k, 2.0);
		assert_false(rt.new_flow);
		assert_int_equal(rt.backend, p % 2);
	}
	vip_router_destroy(r);
}

static void test_router_flow_weights_exact(void **state)
{
	(void)state;
	const unsigned w[2] = { 3, 1 };
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, w, 2, NULL);
	int count[2] = { 0, 0 };
	for (int cycle = 0; cycle < 100; cycle++) {
		int in_cycle[2] = { 0, 0 };
		for (int i = 0; i < 4; i++) {
			struct vip_flow_key k = key_of((uint16_t)(20000 + cycle * 4 + i), false);
			struct vip_route rt = vip_router_route(r, &k, 0.0);
			assert_true(rt.backend == 0 || rt.backend == 1);
			in_cycle[rt.backend]++;
			count[rt.backend]++;
		}
		/* Smooth WRR: every cycle of sum(weights) picks is exact. */
		assert_int_equal(in_cycle[0], 3);
		assert_int_equal(in_cycle[1], 1);
	}
	assert_int_equal(count[0], 300);
	assert_int_equal(count[1], 100);
	vip_router_destroy(r);
}

/* Pins n new keys from port base on; fills backend[i]. */
static void pin_keys(struct vip_router *r, uint16_t base, int n, int *backend, double now)
{
	for (int i = 0; i < n; i++) {
		struct vip_flow_key k = key_of((uint16_t)(base + i), false);
		struct vip_route rt = vip_router_route(r, &k, now);
		assert_true(rt.new_flow);
		backend[i] = rt.backend;
	}
}

static void test_router_flow_down_keep(void **state)
{
	(void)state;
	const unsigned w[3] = { 1, 1, 1 };
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, w, 3, NULL);
	int pinned[30];
	pin_keys(r, 10000, 30, pinned, 0.0);
	assert_int_equal(vip_router_set_up(r, 1, false), 0); /* keep: nothing flushed */
	assert_false(vip_router_is_up(r, 1));
	assert_int_equal(vip_router_flows(r), 30);
	/* New flows avoid it, evenly over the others. */
	int count[3] = { 0, 0, 0 };
	for (int i = 0; i < 100; i++) {
		struct vip_flow_key k = key_of((uint16_t)(11000 + i), false);
		struct vip_route rt = vip_router_route(r, &k, 1.0);
		assert_true(rt.new_flow);
		assert_int_not_equal(rt.backend, 1);
		count[rt.backend]++;
	}
	assert_int_equal(count[0], 50);
	assert_int_equal(count[2], 50);
	/* Flows already pinned to it stay there, and say so. */
	int kept = 0;
	for (int i = 0; i < 30; i++) {
		struct vip_flow_key k = key_of((uint16_t)(10000 + i), false);
		struct vip_route rt = vip_router_route(r, &k, 2.0);
		assert_false(rt.new_flow);
		assert_int_equal(rt.backend, pinned[i]);
		assert_int_equal(rt.pinned_down, pinned[i] == 1);
		kept += pinned[i] == 1;
	}
	assert_int_equal(kept, 10);
	/* Up again: no longer "pinned down", and it takes new flows again. */
	assert_int_equal(vip_router_set_up(r, 1, true), 0);
	for (int i = 0; i < 30; i++) {
		struct vip_flow_key k = key_of((uint16_t)(10000 + i), false);
		assert_false(vip_router_route(r, &k, 3.0).pinned_down);
	}
	int seen1 = 0;
	for (int i = 0; i < 3; i++) {
		struct vip_flow_key k = key_of((uint16_t)(12000 + i), false);
		seen1 += vip_router_route(r, &k, 3.0).backend == 1;
	}
	assert_int_equal(seen1, 1);
	vip_router_destroy(r);
}

static void test_router_flow_down_flush(void **state)
{
	(void)state;
	const unsigned w[3] = { 1, 1, 1 };
	struct vip_router *r = router_new(VIP_FLOW, VIP_FLUSH, w, 3, NULL);
	int pinned[30];
	pin_keys(r, 10000, 30, pinned, 0.0);
	assert_int_equal(vip_router_set_up(r, 1, false), 10); /* conntrack -D */
	assert_int_equal(vip_router_flows(r), 20);
	assert_int_equal(vip_router_set_up(r, 1, false), 0); /* nothing left to flush */
	for (int i = 0; i < 30; i++) {
		struct vip_flow_key k = key_of((uint16_t)(10000 + i), false);
		struct vip_route rt = vip_router_route(r, &k, 1.0);
		assert_false(rt.pinned_down);
		assert_int_not_equal(rt.backend, 1);
		if (pinned[i] == 1) {
			assert_true(rt.new_flow); /* routed anew */
		} else {
			assert_false(rt.new_flow); /* the others are untouched */
			assert_int_equal(rt.backend, pinned[i]);
		}
	}
	assert_int_equal(vip_router_flows(r), 30);
	vip_router_destroy(r);
}

static void test_router_all_down(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	vip_router_set_up(r, 0, false);
	vip_router_set_up(r, 1, false);
	struct vip_flow_key k = key_of(5000, false);
	struct vip_route rt = vip_router_route(r, &k, 0.0);
	assert_int_equal(rt.backend, -1);
	assert_false(rt.pinned_down);
	assert_int_equal(vip_router_flows(r), 0); /* no flow without a backend */
	/* One comes back: the key is routed, to it. */
	vip_router_set_up(r, 1, true);
	rt = vip_router_route(r, &k, 1.0);
	assert_int_equal(rt.backend, 1);
	assert_true(rt.new_flow);
	assert_int_equal(vip_router_flows(r), 1);
	vip_router_destroy(r);

	/* The other policies have no backend either. */
	struct rng g;
	rng_seed(&g, 1);
	const enum vip_policy others[] = { VIP_QUERY, VIP_RANDOM, VIP_PRIMARY };
	for (size_t i = 0; i < 3; i++) {
		r = router_new(others[i], VIP_KEEP, two, 2, &g);
		vip_router_set_up(r, 0, false);
		vip_router_set_up(r, 1, false);
		assert_int_equal(vip_router_route(r, &k, 0.0).backend, -1);
		vip_router_destroy(r);
	}
}

static void test_router_touch_refreshes(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	struct vip_flow_key a = key_of(40000, false);
	int b = vip_router_route(r, &a, 0.0).backend;
	/* A reply at 25 s keeps the pin alive at 50 s (50 s after the query). */
	vip_router_touch(r, &a, 25.0);
	struct vip_route rt = vip_router_route(r, &a, 50.0);
	assert_false(rt.new_flow);
	assert_int_equal(rt.backend, b);
	/* A refreshed flow is not expired either. */
	vip_router_touch(r, &a, 70.0);
	assert_int_equal(vip_router_expire(r, 95.0), 0);
	assert_int_equal(vip_router_flows(r), 1);
	/* Touching an unknown key creates nothing. */
	struct vip_flow_key other = key_of(40001, false);
	vip_router_touch(r, &other, 95.0);
	assert_int_equal(vip_router_flows(r), 1);
	/* Touching a flow that already expired does not revive it. */
	vip_router_touch(r, &a, 140.0);
	assert_true(vip_router_route(r, &a, 141.0).new_flow);
	vip_router_destroy(r);
}

static void test_router_expire_frees_only_idle(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	struct vip_flow_key a = key_of(1, false), b = key_of(2, false), c = key_of(3, true);
	int ba = vip_router_route(r, &a, 0.0).backend;
	vip_router_route(r, &b, 0.0);
	vip_router_route(r, &c, 20.0);
	vip_router_route(r, &a, 15.0); /* a is refreshed, b is not */
	assert_int_equal(vip_router_flows(r), 3);
	assert_int_equal(vip_router_expire(r, 20.0), 0);
	assert_int_equal(vip_router_expire(r, 40.0), 1); /* b: idle 40 s */
	assert_int_equal(vip_router_flows(r), 2);
	struct vip_route rt = vip_router_route(r, &a, 41.0); /* idle 26 s: still pinned */
	assert_false(rt.new_flow);
	assert_int_equal(rt.backend, ba);
	assert_int_equal(vip_router_expire(r, 60.0), 1); /* c: idle 40 s */
	assert_int_equal(vip_router_expire(r, 80.0), 1); /* a: idle 39 s */
	assert_int_equal(vip_router_flows(r), 0);
	assert_int_equal(vip_router_expire(r, 1000.0), 0);
	vip_router_destroy(r);
}

/* Enough flows to grow the table several times: every pin survives. */
static void test_router_many_flows(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_FLOW, VIP_KEEP, two, 2, NULL);
	enum { N = 6000 };
	static int pinned[N];
	pin_keys(r, 1, N, pinned, 0.0);
	assert_int_equal(vip_router_flows(r), N);
	for (int i = 0; i < N; i++) {
		struct vip_flow_key k = key_of((uint16_t)(1 + i), false);
		struct vip_route rt = vip_router_route(r, &k, 1.0);
		assert_false(rt.new_flow);
		assert_int_equal(rt.backend, pinned[i]);
	}
	assert_int_equal(vip_router_expire(r, 100.0), N);
	assert_int_equal(vip_router_flows(r), 0);
	vip_router_destroy(r);
}

/* ---- router: the other policies ---- */

static void test_router_query_alternates_per_packet(void **state)
{
	(void)state;
	struct vip_router *r = router_new(VIP_QUERY, VIP_KEEP, two, 2, NULL);
	struct vip_flow_key a = key_of(40000, false);
	int prev = -1;
	for (int i = 0; i < 10; i++) {
		/* The same key, a retry 1 s later: the other backend, as with dnsdist. */
		struct vip_route rt = vip_router_route(r, &a, (double)i);
		assert_true(rt.backend == 0 || rt.backend == 1);
		assert_int_not_equal(rt.backend, prev);
		assert_true(rt.new_flow);
		assert_false(rt.pinned_down);
		prev = rt.backend;
	}
	assert_int_equal(vip_router_flows(r), 0); /* nothing pinned */
	/* A backend down gets no queries, whatever the key. */
	vip_router_set_up(r, 0, false);
	for (int i = 0; i < 5; i++)
		assert_int_equal(vip_router_route(r, &a, 20.0).backend, 1);
	vip_router_destroy(r);
}

static void test_router_random_seeded(void **state)
{
	(void)state;
	struct rng g1, g2, g3;
	rng_seed(&g1, 42);
	rng_seed(&g2, 42);
	rng_seed(&g3, 43);
	const unsigned w[4] = { 1, 1, 1, 1 };
	struct vip_router *r1 = router_new(VIP_RANDOM, VIP_KEEP, w, 4, &g1);
	struct vip_router *r2 = router_new(VIP_RANDOM, VIP_KEEP, w, 4, &g2);
	struct vip_router *r3 = router_new(VIP_RANDOM, VIP_KEEP, w, 4, &g3);
	struct vip_flow_key a = key_of(40000, false);
	int differ = 0, seen[4] = { 0, 0, 0, 0 };
	for (int i = 0; i < 200; i++) {
		int b1 = vip_router_route(r1, &a, 0.0).backend;
		assert_int_equal(vip_router_route(r2, &a, 0.0).backend, b1);
		differ += vip_router_route(r3, &a, 0.0).backend != b1;
		assert_true(b1 >= 0 && b1 < 4);
		seen[b1]++;
	}
	assert_true(differ > 50); /* another seed, another sequence */
	for (int i = 0; i < 4; i++)
		assert_true(seen[i] > 0);
	vip_router_destroy(r1);
	vip_router_destroy(r2);
	vip_router_destroy(r3);
}

static void test_router_random_weights(void **state)
{
	(void)state;
	struct rng g;
	rng_seed(&g, 7);
	const unsigned w[3] = { 3, 5, 1 };
	struct vip_router *r = router_new(VIP_RANDOM, VIP_KEEP, w, 3, &g);
	vip_router_set_up(r, 1, false); /* what is left: 3:1 */
	struct vip_flow_key a = key_of(40000, false);
	int count[3] = { 0, 0, 0 };
	for (int i = 0; i < 10000; i++) {
		struct vip_route rt = vip_router_route(r, &a, 0.0);
		assert_true(rt.backend >= 0 && rt.backend < 3);
		count[rt.backend]++;
	}
	assert_int_equal(count[1], 0);
	assert_in_range(count[0], 7300, 7700); /* 75% +- 2% */
	assert_int_equal(count[0] + count[2], 10000);
	vip_router_destroy(r);
}

static void test_router_primary_fails_over(void **state)
{
	(void)state;
	const unsigned w[3] = { 1, 5, 1 };
	struct vip_router *r = router_new(VIP_PRIMARY, VIP_KEEP, w, 3, NULL);
	struct vip_flow_key a = key_of(1, false), b = key_of(2, false);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(vip_router_route(r, &a, 0.0).backend, 0);
		assert_int_equal(vip_router_route(r, &b, 0.0).backend, 0);
	}
	vip_router_set_up(r, 0, false);
	assert_int_equal(vip_router_route(r, &a, 1.0).backend, 1);
	vip_router_set_up(r, 1, false);
	assert_int_equal(vip_router_route(r, &a, 2.0).backend, 2);
	vip_router_set_up(r, 0, true); /* back to the first, at once */
	assert_int_equal(vip_router_route(r, &a, 3.0).backend, 0);
	assert_int_equal(vip_router_flows(r), 0);
	vip_router_destroy(r);
}

/* ---- invariants against a model, over random sequences ---- */

/* The test's own generator (splitmix64), independent of the router's rng. */
static uint64_t mix_state;

static uint64_t mix_next(void)
{
	uint64_t z = (mix_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned mix_below(unsigned n)
{
	return (unsigned)(mix_next() % n);
}

#define MODEL_KEYS 48
#define IDLE_S 30.0

/* A key of the pool: UDP or TCP, from 127.0.0.1 or ::1, a few ports. Keys
 * that differ only in transport or family are different flows. */
static struct vip_flow_key pool_key(unsigned i)
{
	struct vip_flow_key k;
	char err[128] = "";
	memset(&k, 0, sizeof k);
	if (addr_parse(i & 2 ? "[::1]" : "127.0.0.1", (uint16_t)(5300 + i / 4), &k.client, err,
		       sizeof err) != 0)
		fail_msg("%s", err);
	k.tcp = i & 1;
	return k;
}

/* The flow table as the router documents it: an entry per key seen, its
 * backend and the time of its last packet or touch. */
struct model {
	bool entry[MODEL_KEYS];
	int backend[MODEL_KEYS];
	double last[MODEL_KEYS];
	bool up[VIP_BACKENDS_MAX];
	size_t n;
	enum vip_on_down on_down;
};

static size_t model_flows(const struct model *m)
{
	size_t n = 0;
	for (int i = 0; i < MODEL_KEYS; i++)
		n += m->entry[i];
	return n;
}

static bool model_any_up(const struct model *m)
{
	for (size_t b = 0; b < m->n; b++)
		if (m->up[b])
			return true;
	return false;
}

/*
 * Drives a flow-policy router and the model with the same random steps
 * (packets 70%, replies, verdicts, sweeps; time moving by 0 to 12 s, now and
 * then by a minute) and checks every answer against the model.
 */
static void run_flow_model(uint64_t seed, enum vip_on_down on_down, size_t n, int steps)
{
	unsigned w[VIP_BACKENDS_MAX];
	struct model m;
	memset(&m, 0, sizeof m);
	m.n = n;
	m.on_down = on_down;
	mix_state = seed;
	for (size_t b = 0; b < n; b++) {
		w[b] = 1 + mix_below(4);
		m.up[b] = true;
	}
	struct vip_router *r = vip_router_create(VIP_FLOW, on_down, IDLE_S, w, n, NULL);
	assert_non_null(r);
	double now = 1000.0;
	size_t new_to[VIP_BACKENDS_MAX] = { 0 };
	for (int step = 0; step < steps; step++) {
		unsigned op = mix_below(100);
		unsigned ki = mix_below(MODEL_KEYS);
		struct vip_flow_key k = pool_key(ki);
		if (op < 70) {
			struct vip_route rt = vip_router_route(r, &k, now);
			bool live = m.entry[ki] && now - m.last[ki] <= IDLE_S;
			if (live) {
				/* Pinned: the same backend, up or (kept) down. */
				assert_int_equal(rt.backend, m.backend[ki]);
				assert_false(rt.new_flow);
				assert_int_equal(rt.pinned_down, !m.up[m.backend[ki]]);
				m.last[ki] = now;
			} else if (!model_any_up(&m)) {
				assert_int_equal(rt.backend, -1);
				assert_true(rt.new_flow);
			} else {
				/* A new flow goes to a backend that is up, never a down one. */
				assert_true(rt.new_flow);
				assert_false(rt.pinned_down);
				assert_true(rt.backend >= 0 && (size_t)rt.backend < n);
				assert_true(m.up[rt.backend]);
				m.entry[ki] = true;
				m.backend[ki] = rt.backend;
				m.last[ki] = now;
				new_to[rt.backend]++;
			}
		} else if (op < 80) {
			vip_router_touch(r, &k, now);
			if (m.entry[ki] && now - m.last[ki] <= IDLE_S)
				m.last[ki] = now;
		} else if (op < 90) {
			int b = (int)mix_below((unsigned)n);
			bool up = mix_below(3) != 0; /* up twice as often: most stay up */
			size_t want = 0;
			if (!up && on_down == VIP_FLUSH)
				for (int i = 0; i < MODEL_KEYS; i++)
					if (m.entry[i] && m.backend[i] == b) {
						m.entry[i] = false;
						want++;
					}
			assert_int_equal(vip_router_set_up(r, b, up), want);
			m.up[b] = up;
			assert_int_equal(vip_router_is_up(r, b), up);
		} else if (op < 95) {
			size_t want = 0;
			for (int i = 0; i < MODEL_KEYS; i++)
				if (m.entry[i] && now - m.last[i] > IDLE_S) {
					m.entry[i] = false;
					want++;
				}
			assert_int_equal(vip_router_expire(r, now), want);
		} else {
			now += mix_below(20) == 0 ? 60.0 : (double)mix_below(13);
		}
		assert_int_equal(vip_router_flows(r), model_flows(&m));
	}
	/* Every backend got new flows at some point (the run is long enough). */
	for (size_t b = 0; b < n; b++)
		assert_true(new_to[b] > 0);
	vip_router_destroy(r);
}

static void test_router_model_keep(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++)
		run_flow_model(seed, VIP_KEEP, 1 + seed % 5, 4000);
}

static void test_router_model_flush(void **state)
{
	(void)state;
	for (uint64_t seed = 101; seed <= 120; seed++)
		run_flow_model(seed, VIP_FLUSH, 1 + seed % 5, 4000);
}

/*
 * Per packet (query, random, primary): every packet is a new decision to a
 * backend that is up (-1 only when none is), and no flow is ever stored.
 * Under stable membership, smooth weighted round robin gives each backend
 * that is up exactly its weight in every sum-of-weights packets once it has
 * come round (from a fresh start); primary gives the first one up.
 */
static void run_packet_model(uint64_t seed, enum vip_policy policy, size_t n)
{
	unsigned w[VIP_BACKENDS_MAX];
	bool up[VIP_BACKENDS_MAX];
	struct rng g;
	rng_seed(&g, seed);
	mix_state = seed;
	for (size_t b = 0; b < n; b++) {
		w[b] = 1 + mix_below(4);
		up[b] = true;
	}
	struct vip_router *r = vip_router_create(policy, VIP_FLUSH, IDLE_S, w, n, &g);
	assert_non_null(r);
	double now = 0;
	for (int step = 0; step < 3000; step++) {
		if (mix_below(10) == 0) {
			int b = (int)mix_below((unsigned)n);
			up[b] = mix_below(3) != 0;
			assert_int_equal(vip_router_set_up(r, b, up[b]), 0); /* nothing pinned */
		}
		struct vip_flow_key k = pool_key(mix_below(MODEL_KEYS));
		struct vip_route rt = vip_router_route(r, &k, now);
		int first = -1;
		for (size_t b = 0; b < n && first < 0; b++)
			if (up[b])
				first = (int)b;
		assert_true(rt.new_flow);
		assert_false(rt.pinned_down);
		if (first < 0) {
			assert_int_equal(rt.backend, -1);
		} else {
			assert_true(rt.backend >= 0 && (size_t)rt.backend < n);
			assert_true(up[rt.backend]);
			if (policy == VIP_PRIMARY)
				assert_int_equal(rt.backend, first);
		}
		now += 0.5;
		assert_int_equal(vip_router_flows(r), 0);
	}
	vip_router_destroy(r);

	if (policy != VIP_QUERY)
		return;
	/* Stable membership from a fresh start: exact shares per round. */
	r = vip_router_create(policy, VIP_KEEP, IDLE_S, w, n, NULL);
	assert_non_null(r);
	unsigned total = 0;
	for (size_t b = 0; b < n; b++)
		total += w[b];
	struct vip_flow_key k = pool_key(0);
	for (int round = 0; round < 20; round++) {
		unsigned got[VIP_BACKENDS_MAX] = { 0 };
		for (unsigned i = 0; i < total; i++)
			got[vip_router_route(r, &k, 0).backend]++;
		for (size_t b = 0; b < n; b++)
			assert_int_equal(got[b], w[b]);
	}
	vip_router_destroy(r);
}

static void test_router_model_per_packet(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		run_packet_model(seed, VIP_QUERY, 1 + seed % 6);
		run_packet_model(seed, VIP_RANDOM, 1 + seed % 6);
		run_packet_model(seed, VIP_PRIMARY, 1 + seed % 6);
	}
}

/* The same seeds and inputs give the same routes: nothing but the arguments
 * (and the rng under VIP_RANDOM) decides. */
static void test_router_deterministic(void **state)
{
	(void)state;
	const unsigned w[3] = { 2, 1, 3 };
	for (int p = VIP_FLOW; p <= VIP_PRIMARY; p++) {
		struct rng g1, g2;
		rng_seed(&g1, 9);
		rng_seed(&g2, 9);
		struct vip_router *a = vip_router_create((enum vip_policy)p, VIP_FLUSH, 5, w, 3, &g1);
		struct vip_router *b = vip_router_create((enum vip_policy)p, VIP_FLUSH, 5, w, 3, &g2);
		assert_non_null(a);
		assert_non_null(b);
		mix_state = 77;
		double now = 0;
		for (int i = 0; i < 2000; i++) {
			struct vip_flow_key k = pool_key(mix_below(MODEL_KEYS));
			if (mix_below(20) == 0) {
				int be = (int)mix_below(3);
				bool up = mix_below(2);
				assert_int_equal(vip_router_set_up(a, be, up), vip_router_set_up(b, be, up));
			}
			struct vip_route ra = vip_router_route(a, &k, now);
			struct vip_route rb = vip_router_route(b, &k, now);
			assert_int_equal(ra.backend, rb.backend);
			assert_int_equal(ra.new_flow, rb.new_flow);
			assert_int_equal(ra.pinned_down, rb.pinned_down);
			now += (double)mix_below(3);
		}
		vip_router_destroy(a);
		vip_router_destroy(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_bad_parameters),
		cmocka_unit_test(test_router_flow_pins_while_packets_keep_coming),
		cmocka_unit_test(test_router_flow_gap_reroutes),
		cmocka_unit_test(test_router_flow_new_keys_alternate),
		cmocka_unit_test(test_router_flow_weights_exact),
		cmocka_unit_test(test_router_flow_down_keep),
		cmocka_unit_test(test_router_flow_down_flush),
		cmocka_unit_test(test_router_all_down),
		cmocka_unit_test(test_router_touch_refreshes),
		cmocka_unit_test(test_router_expire_frees_only_idle),
		cmocka_unit_test(test_router_many_flows),
		cmocka_unit_test(test_router_query_alternates_per_packet),
		cmocka_unit_test(test_router_random_seeded),
		cmocka_unit_test(test_router_random_weights),
		cmocka_unit_test(test_router_primary_fails_over),
		cmocka_unit_test(test_router_model_keep),
		cmocka_unit_test(test_router_model_flush),
		cmocka_unit_test(test_router_model_per_packet),
		cmocka_unit_test(test_router_deterministic),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
