/*
 * test_health.c - the health checker (its decisions without I/O are tested
 * in test_health_sm.c): configurations it must refuse, then checkers on one
 * event loop against real fakeresolver servers on loopback ports (serial
 * gating v1 against v2, a zone swap, a hung backend, SERVFAIL, a
 * closed port) and exec checks running real commands (a dig script, exit
 * codes, output capture and truncation, the timeout kill of the whole
 * process group, and no zombie left behind).
 *
 * Timing: a probe may finish late on a loaded 2-core machine (or under
 * valgrind) but never early, so lower bounds are tight (less a little for
 * libevent's coarse clock) and upper bounds are generous. Nothing asserts speed.
 */
#include "tests/unit/dnstest.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>
#include <ldns/ldns.h>

#include "fakeresolver/probe.h"
#include "fakeresolver/server.h"
#include "harness/lb/health.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must point at scenarios/zones"
#endif

#define SERIAL_V1 2026110301
#define SERIAL_V2 2026112502

/* How early a timer may fire by libevent's clock (CLOCK_MONOTONIC_COARSE). */
#define EARLY 0.02
/* How late a probe may finish on a loaded 2-core machine (or under valgrind). */
#define LATE 1.0

#define REC_MAX 64

/* ---- helpers ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* What the callbacks of one checker saw. */
struct probe_rec {
	bool success;
	char reason[256];
	double latency_s;
	int64_t serial;
	int exit_status;
	bool has_output;
	char output[4400];
	double at;
};

struct trans_rec {
	bool up;
	char reason[256];
	unsigned count;
	size_t after_probes; /* probes reported when it happened */
	double at;
};

struct rec {
	int64_t published;
	size_t nprobes, ntrans;
	struct probe_rec probes[REC_MAX];
	struct trans_rec trans[REC_MAX];
	/* Destroys *self from the callback: after this many probes (0: never), or
	 * at the first transition. */
	struct health_checker **self;
	size_t destroy_after_probes;
	bool destroy_on_transition;
	/* ready(): whether the backend has booted, and how often it was asked */
	bool booted;
	size_t asked;
};

static void on_probe(void *arg, const struct health_probe_report *r)
{
	struct rec *rc = arg;
	assert_non_null(r->backend);
	assert_non_null(r->reason);
	if (rc->nprobes < REC_MAX) {
		struct probe_rec *p = &rc->probes[rc->nprobes];
		p->success = r->success;
		snprintf(p->reason, sizeof p->reason, "%s", r->reason);
		p->latency_s = r->latency_s;
		p->serial = r->serial;
		p->exit_status = r->exit_status;
		p->has_output = r->output != NULL;
		snprintf(p->output, sizeof p->output, "%s", r->output ? r->output : "");
		p->at = now_s();
	}
	if (getenv("HEALTH_TEST_VERBOSE"))
		print_message("  probe %s #%zu: %s, %s, %.3f s%s%.1200s\n", r->backend, rc->nprobes,
			      r->success ? "ok" : "failed", r->reason, r->latency_s,
			      r->output ? ", output: " : "", r->output ? r->output : "");
	rc->nprobes++;
	if (rc->self && rc->destroy_after_probes && rc->nprobes == rc->destroy_after_probes) {
		health_checker_destroy(*rc->self);
		*rc->self = NULL;
	}
}

static void on_transition(void *arg, const struct health_transition *t)
{
	struct rec *rc = arg;
	if (rc->ntrans < REC_MAX) {
		struct trans_rec *x = &rc->trans[rc->ntrans];
		x->up = t->up;
		snprintf(x->reason, sizeof x->reason, "%s", t->reason);
		x->count = t->count;
		x->after_probes = rc->nprobes;
		x->at = now_s();
	}
	rc->ntrans++;
	if (rc->self && rc->destroy_on_transition) {
		health_checker_destroy(*rc->self);
		*rc->self = NULL;
	}
}

static int64_t on_published(void *arg)
{
	return ((struct rec *)arg)->published;
}

static struct health_callbacks callbacks(struct rec *rc)
{
	struct health_callbacks cb = { on_probe, on_transition, on_published, rc, NULL };
	return cb;
}

static struct rec *rec_new(int64_t published)
{
	struct rec *rc = calloc(1, sizeof *rc);
	assert_non_null(rc);
	rc->published = published;
	return rc;
}

/* Runs the loop until pred(arg) holds or max_s passes; returns whether it held. */
struct waiter {
	struct event_base *base;
	bool (*pred)(void *);
	void *arg;
	double deadline;
	bool met;
};

static void waiter_check(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	(void)fd;
	(void)what;
	if (w->pred && w->pred(w->arg)) {
		w->met = true;
		event_base_loopbreak(w->base);
	} else if (now_s() >= w->deadline) {
		event_base_loopbreak(w->base);
	}
}

static bool run_until(struct event_base *base, bool (*pred)(void *), void *arg, double max_s)
{
	struct waiter w = { base, pred, arg, now_s() + max_s, false };
	struct timeval tv = { 0, 2000 };
	if (pred && pred(arg))
		return true;
	struct event *ev = event_new(base, -1, EV_PERSIST, waiter_check, &w);
	assert_non_null(ev);
	assert_int_equal(event_add(ev, &tv), 0);
	event_base_dispatch(base);
	event_free(ev);
	return w.met;
}

static void run_for(struct event_base *base, double s)
{
	run_until(base, NULL, NULL, s);
}

/* Predicates over a struct rec, with a target count. */
struct until {
	const struct rec *rc;
	size_t n;
};

static bool probes_reach(void *arg)
{
	const struct until *u = arg;
	return u->rc->nprobes >= u->n;
}

static bool trans_reach(void *arg)
{
	const struct until *u = arg;
	return u->rc->ntrans >= u->n;
}

static bool wait_probes(struct event_base *base, const struct rec *rc, size_t n, double max_s)
{
	struct until u = { rc, n };
	return run_until(base, probes_reach, &u, max_s);
}

static bool wait_trans(struct event_base *base, const struct rec *rc, size_t n, double max_s)
{
	struct until u = { rc, n };
	return run_until(base, trans_reach, &u, max_s);
}

static struct zone_set *load_set(const char *file)
{
	char err[512], path[512];
	snprintf(path, sizeof path, "%s/%s", ZONE_DIR, file);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	if (!v)
		fail_msg("%s", err);
	struct zone_set *s = zone_set_create();
	assert_non_null(s);
	assert_int_equal(zone_set_add(s, v, true), 0);
	zone_version_unref(v);
	return s;
}

/* One event loop, the two zone versions, and fake resolvers serving them. */
struct world {
	struct event_base *base;
	struct zone_set *v1, *v2;
	struct server *servers[4];
	struct fault_plan *plans[4];
	struct rng rngs[4];
	size_t nservers;
};

static struct world *world_new(void)
{
	struct world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	w->base = event_base_new();
	assert_non_null(w->base);
	w->v1 = load_set("internal.v1.zone");
	w->v2 = load_set("internal.v2.zone");
	return w;
}

/* A fake resolver on 127.0.0.1:<free port> serving zones, with an empty fault plan. */
static struct server *world_server(struct world *w, const struct zone_set *zones)
{
	char err[256];
	struct server_config cfg;
	assert_true(w->nservers < 4);
	server_config_defaults(&cfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	struct server *s = server_create(w->base, zones, &cfg, err, sizeof err);
	if (!s)
		fail_msg("server_create: %s", err);
	size_t i = w->nservers++;
	w->servers[i] = s;
	w->plans[i] = fault_plan_create();
	assert_non_null(w->plans[i]);
	rng_seed(&w->rngs[i], 42 + i);
	server_set_faults(s, w->plans[i], &w->rngs[i]);
	return s;
}

static struct fault_plan *world_plan(struct world *w, const struct server *s)
{
	for (size_t i = 0; i < w->nservers; i++)
		if (w->servers[i] == s)
			return w->plans[i];
	fail_msg("no such server");
	return NULL;
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->nservers; i++) {
		server_destroy(w->servers[i]);
		fault_plan_destroy(w->plans[i]);
	}
	zone_set_destroy(w->v1);
	zone_set_destroy(w->v2);
	event_base_free(w->base);
	free(w);
}

static struct health_config config(enum health_kind kind, double interval, double timeout,
				   unsigned rise, unsigned fall, bool up)
{
	struct health_config c;
	memset(&c, 0, sizeof c);
	c.kind = kind;
	c.interval_s = interval;
	c.timeout_s = timeout;
	c.rise = rise;
	c.fall = fall;
	c.initial_up = up;
	return c;
}

static struct health_checker *checker(struct world *w, const char *name, const struct addr *a,
				      const struct health_config *cfg, struct rec *rc)
{
	char err[256];
	struct health_callbacks cb = callbacks(rc);
	struct health_checker *hc =
		health_checker_create(w->base, name, a, "internal.", cfg, &cb, err, sizeof err);
	if (!hc)
		fail_msg("health_checker_create: %s", err);
	return hc;
}

/* No child of ours is left, not even a zombie. */
static void assert_no_children(void)
{
	int st;
	errno = 0;
	pid_t r = waitpid(-1, &st, WNOHANG);
	if (r != -1 || errno != ECHILD)
		fail_msg("a child is left: waitpid(-1) = %d, errno %d", (int)r, errno);
}

/* True when pid no longer runs (gone, or a zombie its new parent has not reaped). */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

static bool wait_gone(pid_t pid, double max_s)
{
	double end = now_s() + max_s;
	while (!proc_gone(pid)) {
		if (now_s() > end)
			return false;
		nap(0.01);
	}
	return true;
}

/* ---- configuration ---- */

static void refused(struct event_base *base, const char *name, const struct addr *a,
		    const char *origin, const struct health_config *cfg, const char *words)
{
	char err[256] = "";
	struct rec rc;
	memset(&rc, 0, sizeof rc);
	struct health_callbacks cb = callbacks(&rc);
	struct health_checker *hc =
		health_checker_create(base, name, a, origin, cfg, &cb, err, sizeof err);
	if (hc)
		fail_msg("accepted a bad configuration (expected: %s)", words);
	if (!strstr(err, words))
		fail_msg("message '%s' lacks '%s'", err, words);
}

static void test_bad_config(void **state)
{
	char err[256];
	struct addr lo, far, noport;
	(void)state;
	struct event_base *base = event_base_new();
	assert_non_null(base);
	assert_int_equal(addr_parse("127.0.0.1:5353", 53, &lo, err, sizeof err), 0);
	assert_int_equal(addr_parse("192.0.2.1:53", 53, &far, err, sizeof err), 0);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &noport, err, sizeof err), 0);
	struct health_config ok = config(HEALTH_SERIAL, 1, 0.5, 2, 2, false);
	struct health_config c;

	c = ok;
	c.interval_s = 0;
	refused(base, "r1", &lo, "internal.", &c, "interval 0 s is out of range");
	c.interval_s = -1;
	refused(base, "r1", &lo, "internal.", &c, "interval -1 s");
	c.interval_s = NAN;
	refused(base, "r1", &lo, "internal.", &c, "interval");
	c.interval_s = 1e9;
	refused(base, "r1", &lo, "internal.", &c, "at most 86400 s");
	c = ok;
	c.timeout_s = 1.5;
	refused(base, "r1", &lo, "internal.", &c, "timeout 1.5 s is out of range");
	c.timeout_s = 0;
	refused(base, "r1", &lo, "internal.", &c, "timeout 0 s");
	c = ok;
	c.rise = 0;
	refused(base, "r1", &lo, "internal.", &c, "rise and fall must be at least 1");
	c = ok;
	c.fall = 0;
	refused(base, "r1", &lo, "internal.", &c, "rise and fall must be at least 1");
	c = ok;
	c.kind = HEALTH_EXEC;
	refused(base, "r1", &lo, "internal.", &c, "an exec check needs a command");
	c.command = "";
	refused(base, "r1", &lo, "internal.", &c, "an exec check needs a command");
	c = ok;
	c.command = "true";
	refused(base, "r1", &lo, "internal.", &c, "a command is only for exec checks, not serial");
	c = ok;
	c.qtype = LDNS_RR_TYPE_A;
	refused(base, "r1", &lo, "internal.", &c, "only for alive and rcode checks");
	c = config(HEALTH_ALIVE, 1, 1, 1, 1, false);
	c.qname = "bad..name";
	refused(base, "r1", &lo, "internal.", &c, "qname 'bad..name' is not a domain name");
	c = ok;
	c.kind = (enum health_kind)9;
	refused(base, "r1", &lo, "internal.", &c, "unknown kind 9");
	refused(base, "r1", &far, "internal.", &ok,
		"refusing to probe 192.0.2.1:53: not a loopback");
	/* A remote daemon on another host, under --allow-non-loopback: created
	 * (destroyed before the loop runs: no probe is sent). */
	c = ok;
	c.non_loopback = true;
	struct health_checker *farhc =
	        health_checker_create(base, "r1", &far, "internal.", &c, NULL, err, sizeof err);
	if (!farhc)
		fail_msg("a backend off loopback with non_loopback: %s", err);
	health_checker_destroy(farhc);
	refused(base, "r1", NULL, "internal.", &ok, "no address");
	refused(base, "r1", &noport, "internal.", &ok, "127.0.0.1:0 has no port");
	refused(base, "r1", &lo, "bad..zone", &ok, "zone 'bad..zone' is not a domain name");
	refused(base, "r1", &lo, NULL, &ok, "is not a domain name");
	refused(base, "", &lo, "internal.", &ok, "needs a name");
	refused(base, NULL, &lo, "internal.", &ok, "needs a name");
	assert_null(
		health_checker_create(NULL, "r1", &lo, "internal.", &ok, NULL, err, sizeof err));

	/* A good one, then: created, and nothing happens before the loop runs. */
	struct rec rc;
	memset(&rc, 0, sizeof rc);
	struct health_callbacks cb = callbacks(&rc);
	struct health_checker *hc =
		health_checker_create(base, "r1", &lo, "internal", &ok, &cb, err, sizeof err);
	assert_non_null(hc);
	assert_false(health_checker_up(hc));
	assert_int_equal(rc.nprobes, 0);
	health_checker_destroy(hc);
	health_checker_destroy(NULL);
	event_base_free(base);
}

/* ---- DNS checks against real servers ---- */

/* A v1 backend never comes up against a published v2, and says why. */
static void test_serial_stale_stays_down(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v1);
	struct rec *rc = rec_new(SERIAL_V2);
	struct health_config cfg = config(HEALTH_SERIAL, 0.1, 0.1, 1, 1, false);
	struct health_checker *hc = checker(w, "r1", server_addr(s), &cfg, rc);

	assert_true(wait_probes(w->base, rc, 5, 5 + LATE));
	assert_int_equal(rc->ntrans, 0);
	assert_false(health_checker_up(hc));
	for (size_t i = 0; i < 5; i++) {
		assert_false(rc->probes[i].success);
		assert_string_equal(rc->probes[i].reason,
				    "serial 2026110301 < published 2026112502");
		assert_int_equal(rc->probes[i].serial, SERIAL_V1);
		assert_int_equal(rc->probes[i].exit_status, -1);
		assert_false(rc->probes[i].has_output);
	}
	/* The published serial is asked per probe: publishing v1 lets it up. */
	rc->published = SERIAL_V1;
	assert_true(wait_trans(w->base, rc, 1, 2 + LATE));
	assert_true(rc->trans[0].up);
	assert_int_equal(rc->trans[0].count, 1);
	assert_string_equal(rc->trans[0].reason, "serial 2026110301 >= published 2026110301");
	/* No published serial: any SOA passes. */
	rc->published = -1;
	size_t n = rc->nprobes;
	assert_true(wait_probes(w->base, rc, n + 1, 2 + LATE));
	assert_true(rc->probes[n].success);
	assert_string_equal(rc->probes[n].reason, "serial 2026110301, no published serial");
	health_checker_destroy(hc);
	free(rc);
	world_free(w);
}

/* Up, then a stale backend goes down after exactly fall probes, and stays down. */
static void test_serial_stale_goes_down(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v1);
	struct rec *rc = rec_new(SERIAL_V2);
	struct health_config cfg = config(HEALTH_SERIAL, 0.1, 0.05, 2, 2, true);
	struct health_checker *hc = checker(w, "r1", server_addr(s), &cfg, rc);
	assert_true(health_checker_up(hc));

	assert_true(wait_probes(w->base, rc, 6, 5 + LATE));
	assert_int_equal(rc->ntrans, 1);
	assert_false(rc->trans[0].up);
	assert_int_equal(rc->trans[0].count, 2);
	assert_int_equal(rc->trans[0].after_probes, 2);
	assert_string_equal(rc->trans[0].reason, "serial 2026110301 < published 2026112502");
	assert_false(health_checker_up(hc));
	health_checker_destroy(hc);
	free(rc);
	world_free(w);
}

/*
 * A v2 backend rises after exactly rise probes; its zone swapped to v1, it
 * falls within fall x interval + timeout; swapped back, it rises again. The
 * swap lands at a different phase of the probe grid each round.
 */
static void test_serial_rise_and_swap(void **state)
{
	(void)state;
	const double interval = 0.2, timeout = 0.1;
	const unsigned rise = 3, fall = 2;
	const double bound = fall * interval + timeout;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	struct rec *rc = rec_new(SERIAL_V2);
	struct health_config cfg = config(HEALTH_SERIAL, interval, timeout, rise, fall, false);
	struct health_checker *hc = checker(w, "r2", server_addr(s), &cfg, rc);

	assert_true(wait_trans(w->base, rc, 1, rise * interval + 3 * LATE));
	assert_true(rc->trans[0].up);
	assert_int_equal(rc->trans[0].count, rise);
	assert_int_equal(rc->trans[0].after_probes, rise);
	assert_string_equal(rc->trans[0].reason, "serial 2026112502 >= published 2026112502");
	for (size_t i = 0; i < rise; i++) {
		assert_true(rc->probes[i].success);
		assert_int_equal(rc->probes[i].serial, SERIAL_V2);
	}
	/* Steady: more successes, no more transitions. */
	assert_true(wait_probes(w->base, rc, rise + 3, 3 * interval + 2 * LATE));
	assert_int_equal(rc->ntrans, 1);

	const double phases[] = { 0.03, 0.09, 0.15 };
	for (size_t round = 0; round < 3; round++) {
		/* Line up on the grid: just after a probe, then wait out the phase. */
		size_t n = rc->nprobes;
		assert_true(wait_probes(w->base, rc, n + 1, interval + LATE));
		run_for(w->base, phases[round]);

		size_t before = rc->ntrans, swapped_at = rc->nprobes;
		double t0 = now_s();
		server_set_zones(s, w->v1);
		assert_true(wait_trans(w->base, rc, before + 1, bound + 3 * LATE));
		struct trans_rec *down = &rc->trans[before];
		double took = down->at - t0;
		print_message("round %zu (phase %.2f s): down %.3f s after the swap "
			      "(bound fall x interval + timeout = %.3f s)\n",
			      round, phases[round], took, bound);
		assert_false(down->up);
		assert_int_equal(down->count, fall);
		assert_string_equal(down->reason, "serial 2026110301 < published 2026112502");
		assert_true(took <= bound + LATE);
		/* fall failures in a row; the first probe reported after the swap may
		 * still carry a v2 answer sent before it */
		assert_true(down->after_probes >= swapped_at + fall);
		assert_true(down->after_probes <= swapped_at + fall + 1);
		assert_false(health_checker_up(hc));

		size_t failed_at = rc->nprobes;
		server_set_zones(s, w->v2);
		assert_true(wait_trans(w->base, rc, before + 2, (rise + 1) * interval + 3 * LATE));
		struct trans_rec *up = &rc->trans[before + 1];
		assert_true(up->up);
		assert_int_equal(up->count, rise);
		/* rise successes, after at most one probe that was in flight during the swap */
		assert_true(up->after_probes >= failed_at + rise);
		assert_true(up->after_probes <= failed_at + rise + 1);
	}
	health_checker_destroy(hc);
	free(rc);
	world_free(w);
}

static struct fault_spec fault(enum fault_kind kind)
{
	struct fault_spec f;
	memset(&f, 0, sizeof f);
	f.kind = kind;
	fault_match_all(&f.match);
	return f;
}

/* A hung backend fails alive checks by timeout, each after the whole timeout. */
static void test_alive_hung(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	struct fault_spec hang = fault(FAULT_HANG);
	uint32_t id;
	assert_int_equal(fault_plan_add(world_plan(w, s), &hang, &id), 0);
	struct rec *rc = rec_new(-1);
	struct health_config cfg = config(HEALTH_ALIVE, 0.3, 0.2, 1, 2, true);
	struct health_checker *hc = checker(w, "r1", server_addr(s), &cfg, rc);

	assert_true(wait_trans(w->base, rc, 1, 2 * 0.3 + 0.2 + 3 * LATE));
	assert_false(rc->trans[0].up);
	assert_int_equal(rc->trans[0].count, 2);
	assert_string_equal(rc->trans[0].reason, "timeout after 0.2 s");
	for (size_t i = 0; i < rc->nprobes; i++) {
		assert_false(rc->probes[i].success);
		assert_string_equal(rc->probes[i].reason, "timeout after 0.2 s");
		assert_true(rc->probes[i].latency_s >= 0.2 - EARLY);
		assert_true(rc->probes[i].latency_s <= 0.2 + LATE);
	}
	/* Healed: alive again after one answer. */
	assert_int_equal(fault_plan_remove(world_plan(w, s), id), 0);
	assert_true(wait_trans(w->base, rc, 2, 0.3 + 0.2 + 3 * LATE));
	assert_true(rc->trans[1].up);
	assert_string_equal(rc->trans[1].reason, "answered NOERROR");
	/* Hung again, mid-interval: down within fall x interval + timeout. */
	run_for(w->base, 0.1);
	double t0 = now_s();
	assert_int_equal(fault_plan_add(world_plan(w, s), &hang, &id), 0);
	assert_true(wait_trans(w->base, rc, 3, 2 * 0.3 + 0.2 + 3 * LATE));
	double took = rc->trans[2].at - t0;
	print_message("hung: down %.3f s after the hang (bound fall x interval + timeout = "
		      "%.3f s)\n",
		      took, 2 * 0.3 + 0.2);
	assert_false(rc->trans[2].up);
	assert_int_equal(rc->trans[2].count, 2);
	assert_true(took <= 2 * 0.3 + 0.2 + LATE);
	health_checker_destroy(hc);
	free(rc);
	world_free(w);
}

/* Timeout equal to the interval: the probe's end and the next tick coincide.
 * Every probe is a timeout of (almost) the whole timeout, and the ticks are
 * not skipped: skipping every other one would take twice as long. */
static void test_timeout_equals_interval(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	struct fault_spec hang = fault(FAULT_HANG);
	uint32_t id;
	assert_int_equal(fault_plan_add(world_plan(w, s), &hang, &id), 0);
	struct rec *rc = rec_new(-1);
	const double interval = 0.25;
	const size_t n = 6;
	struct health_config cfg = config(HEALTH_ALIVE, interval, interval, 1, 1, false);
	double t0 = now_s();
	struct health_checker *hc = checker(w, "r1", server_addr(s), &cfg, rc);

	assert_true(wait_probes(w->base, rc, n, 2 * n * interval + 3 * LATE));
	double took = now_s() - t0;
	print_message("%zu timeouts of %.2f s in %.3f s\n", n, interval, took);
	assert_true(took >= n * (interval - EARLY));
	assert_true(took <= n * interval + LATE);
	for (size_t i = 0; i < n; i++) {
		assert_false(rc->probes[i].success);
		assert_string_equal(rc->probes[i].reason, "timeout after 0.25 s");
		assert_true(rc->probes[i].latency_s >= interval - EARLY);
	}
	health_checker_destroy(hc);
	free(rc);
	world_free(w);
}

static void slow_callback(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	nap(0.3);
}

/*
 * A slow callback earlier in the same turn of the loop (a spawn, a blocking
 * client) leaves libevent's cached time behind; a timeout measured from it
 * would end at once. The first probe still waits out its whole timeout.
 */
static void test_timeout_after_slow_callback(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	struct fault_spec hang = fault(FAULT_HANG);
	uint32_t id;
	assert_int_equal(fault_plan_add(world_plan(w, s), &hang, &id), 0);
	struct rec *rc = rec_new(-1);
	struct health_config cfg = config(HEALTH_ALIVE, 0.5, 0.2, 1, 1, true);
	struct event *slow = event_new(w->base, -1, 0, slow_callback, NULL);
	assert_non_null(slow);
	event_active(slow, EV_TIMEOUT, 0); /* runs first in the checker's first turn */
	double t0 = now_s();
	struct health_checker *hc = checker(w, "r1", server_addr(s), &cfg, rc);

	assert_true(wait_probes(w->base, rc, 2, 0.3 + 2 * 0.5 + 3 * LATE));
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(rc->probes[i].reason, "timeout after 0.2 s");
		assert_true(rc->probes[i].latency_s >= 0.2 - EARLY);
	}
	/* ... and the grid is not pulled early either: the second probe starts
	 * one interval after the first tick was due, not sooner. */
	assert_true(rc->probes[1].at - rc->probes[1].latency_s - t0 >= 0.5 - EARLY);
	health_checker_destroy(hc);
	event_free(slow);
	free(rc);
	world_free(w);
}

/* SERVFAIL: the rcode check fails, the alive check on the same backend passes. */
static void test_rcode_servfail(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	struct fault_spec sf = fault(FAULT_RCODE);
	sf.rcode = LDNS_RCODE_SERVFAIL;
	uint32_t id;
	assert_int_equal(fault_plan_add(world_plan(w, s), &sf, &id), 0);
	struct rec *rr = rec_new(-1), *ra = rec_new(-1);
	struct health_config rcfg = config(HEALTH_RCODE, 0.1, 0.1, 1, 1, true);
	struct health_config acfg = config(HEALTH_ALIVE, 0.1, 0.1, 1, 1, false);
	acfg.qname = "db-primary.internal";
	acfg.qtype = LDNS_RR_TYPE_A;
	struct health_checker *hr = checker(w, "r1", server_addr(s), &rcfg, rr);
	struct health_checker *ha = checker(w, "r1", server_addr(s), &acfg, ra);
	/* Callbacks are optional: the state is still kept. */
	char err[256];
	struct health_checker *hq = health_checker_create(w->base, "r1", server_addr(s),
							  "internal.", &rcfg, NULL, err, sizeof err);
	assert_non_null(hq);

	assert_true(wait_probes(w->base, rr, 3, 3 * 0.1 + 3 * LATE));
	assert_true(wait_probes(w->base, ra, 3, 3 * 0.1 + 3 * LATE));
	assert_false(health_checker_up(hr));
	assert_true(health_checker_up(ha));
	assert_false(health_checker_up(hq));
	health_checker_destroy(hq);
	assert_string_equal(rr->probes[0].reason, "rcode SERVFAIL");
	assert_false(rr->probes[0].success);
	assert_string_equal(ra->probes[0].reason, "answered SERVFAIL");
	assert_true(ra->probes[0].success);
	assert_int_equal(rr->ntrans, 1);
	assert_int_equal(ra->ntrans, 1);

	/* Healed: the rcode check passes too. */
	assert_int_equal(fault_plan_remove(world_plan(w, s), id), 0);
	assert_true(wait_trans(w->base, rr, 2, 2 * 0.1 + 3 * LATE));
	assert_string_equal(rr->trans[1].reason, "rcode NOERROR");
	assert_true(health_checker_up(hr));
	health_checker_destroy(hr);
	health_checker_destroy(ha);
	free(rr);
	free(ra);
	world_free(w);
}

/* A closed port: ICMP port unreachable, seen at once, not as a timeout. */
static void test_port_unreachable(void **state)
{
	(void)state;
	struct addr a;
	dt_closed_port("127.0.0.1", SOCK_DGRAM, &a);

	struct world *w = world_new();
	struct rec *rc = rec_new(-1);
	struct health_config cfg = config(HEALTH_ALIVE, 0.5, 0.5, 1, 1, true);
	struct health_checker *hc = checker(w, "r1", &a, &cfg, rc);
	assert_true(wait_trans(w->base, rc, 1, 0.5 + 3 * LATE));
	assert_false(rc->probes[0].success);
	assert_string_equal(rc->probes[0].reason, "port unreachable");
	assert_true(rc->probes[0].latency_s < 0.5); /* not the timeout */
	assert_string_equal(rc->trans[0].reason, "port unreachable");
	health_checker_destroy(hc);
	free(rc);
	world_free(w);
}

/* ready(): the backend's boot is complete when rc->booted says so. */
static bool on_ready(void *arg)
{
	struct rec *rc = arg;
	rc->asked++;
	return rc->booted;
}

/*
 * The first probe waits for the backend's boot. A resolver that serves
 * nothing yet (booting: it answers REFUSED) with fall = 1 and initial up:
 * probed at once, as before, it went down for a whole interval although
 * it was merely starting. With ready(), no probe reaches it before its
 * zones are there; the first one comes right after, and passes.
 */
static void test_first_probe_after_boot(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct zone_set *empty = zone_set_create();
	assert_non_null(empty);
	struct server *s = world_server(w, empty); /* booting: REFUSED to everything */
	struct rec *rc = rec_new(-1);
	char err[256];
	struct health_config cfg = config(HEALTH_RCODE, 2.0, 0.5, 1, 1, true);
	struct health_callbacks cb = callbacks(rc);
	cb.ready = on_ready;
	struct health_checker *hc =
		health_checker_create(w->base, "r1", server_addr(s), "internal.", &cfg, &cb, err,
				      sizeof err);
	assert_non_null(hc);

	/* Booting for a while: asked, never probed, still up. */
	run_for(w->base, 0.3);
	assert_int_equal(rc->nprobes, 0);
	assert_int_equal(rc->ntrans, 0);
	assert_true(rc->asked >= 2);
	assert_true(health_checker_up(hc));

	/* Booted: the first probe comes at once (not a 2 s interval later), and passes. */
	server_set_zones(s, w->v2);
	rc->booted = true;
	double ready_at = now_s();
	assert_true(wait_probes(w->base, rc, 1, 1.0 + LATE));
	assert_true(rc->probes[0].at - ready_at < 1.0 + LATE);
	assert_true(rc->probes[0].success);
	assert_string_equal(rc->probes[0].reason, "rcode NOERROR");
	assert_int_equal(rc->ntrans, 0);
	assert_true(health_checker_up(hc));
	/* ... and it is not asked again */
	size_t asked = rc->asked;
	run_for(w->base, 0.1);
	assert_int_equal(rc->asked, asked);
	health_checker_destroy(hc);

	/* Without ready(), the first probe meets the booting resolver: down for an interval. */
	struct rec *rc2 = rec_new(-1);
	server_set_zones(s, empty);
	struct health_checker *hc2 = checker(w, "r1", server_addr(s), &cfg, rc2);
	assert_true(wait_probes(w->base, rc2, 1, 0.5 + LATE));
	assert_false(rc2->probes[0].success);
	assert_false(health_checker_up(hc2));
	health_checker_destroy(hc2);
	free(rc);
	free(rc2);
	world_free(w);
	zone_set_destroy(empty);
}

/* A callback may destroy its checker: nothing is called afterwards. */
static void test_destroy_in_callbacks(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	struct rec *r1 = rec_new(SERIAL_V2), *r2 = rec_new(SERIAL_V2);
	struct health_config cfg = config(HEALTH_SERIAL, 0.05, 0.05, 2, 1, false);
	struct health_config rise1 = config(HEALTH_SERIAL, 0.05, 0.05, 1, 1, false);
	struct health_checker *h1 = checker(w, "r1", server_addr(s), &cfg, r1);
	struct health_checker *h2 = checker(w, "r2", server_addr(s), &rise1, r2);
	r1->self = &h1;
	r1->destroy_on_transition = true;
	r2->self = &h2;
	r2->destroy_after_probes = 1;

	run_for(w->base, 0.6);
	assert_null(h1);
	assert_null(h2);
	assert_int_equal(r1->nprobes, 2);
	assert_int_equal(r1->ntrans, 1);
	assert_int_equal(r2->nprobes, 1);
	assert_int_equal(r2->ntrans, 0); /* its first success would have raised it */
	free(r1);
	free(r2);
	world_free(w);
}

/* ---- exec checks ---- */

struct tmp {
	char dir[64];
	char script[128];
};

static const char dig_script[] =
	"#!/bin/sh\n"
	"# A MISC_CHECK-style serial gate: the backend's SOA serial against the published one.\n"
	"out=$(dig +short +time=1 +tries=1 @\"$DNSCHAOS_ADDRESS\" -p \"$DNSCHAOS_PORT\" "
	"\"$DNSCHAOS_ZONE\" SOA) || exit 2\n"
	"echo \"$DNSCHAOS_BACKEND: $out\"\n"
	"serial=$(echo \"$out\" | awk '{ print $3 }')\n"
	"[ -n \"$serial\" ] || exit 2\n"
	"[ -z \"$DNSCHAOS_PUBLISHED_SERIAL\" ] && exit 0\n"
	"[ \"$serial\" -ge \"$DNSCHAOS_PUBLISHED_SERIAL\" ] && exit 0\n"
	"echo \"behind: $serial < $DNSCHAOS_PUBLISHED_SERIAL\" >&2\n"
	"exit 1\n";

static void tmp_script(struct tmp *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/test_health.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->script, sizeof t->script, "%s/check-serial.sh", t->dir);
	FILE *f = fopen(t->script, "w");
	assert_non_null(f);
	assert_int_equal(fputs(dig_script, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(t->script, 0755), 0);
}

static void tmp_remove(struct tmp *t)
{
	unlink(t->script);
	rmdir(t->dir);
}

static struct health_config exec_config(const char *cmd, double interval, double timeout,
					unsigned rise, unsigned fall, bool up)
{
	struct health_config c = config(HEALTH_EXEC, interval, timeout, rise, fall, up);
	c.command = cmd;
	return c;
}

/* The dig script gates on the serial: v2 comes up, v1 goes down; output is kept. */
static void test_exec_dig_script(void **state)
{
	(void)state;
	if (access("/usr/bin/dig", X_OK) != 0 && access("/bin/dig", X_OK) != 0) {
		print_message("dig not installed: skipped\n");
		skip();
	}
	struct tmp t;
	tmp_script(&t);
	struct world *w = world_new();
	struct server *s1 = world_server(w, w->v1);
	struct server *s2 = world_server(w, w->v2);
	struct rec *stale = rec_new(SERIAL_V2), *fresh = rec_new(SERIAL_V2);
	struct health_config c1 = exec_config(t.script, 1.5, 1.5, 1, 1, true);
	struct health_config c2 = exec_config(t.script, 1.5, 1.5, 2, 1, false);
	struct health_checker *h1 = checker(w, "r1", server_addr(s1), &c1, stale);
	struct health_checker *h2 = checker(w, "r2", server_addr(s2), &c2, fresh);

	assert_true(wait_trans(w->base, stale, 1, 1.5 + 3 * LATE));
	assert_true(wait_trans(w->base, fresh, 1, 2 * 1.5 + 3 * LATE));
	assert_false(health_checker_up(h1));
	assert_true(health_checker_up(h2));

	struct probe_rec *p = &stale->probes[0];
	assert_false(p->success);
	assert_string_equal(p->reason, "exit 1");
	assert_int_equal(p->exit_status, 1);
	assert_int_equal(p->serial, -1);
	assert_true(p->has_output);
	assert_non_null(strstr(p->output, "r1: ns1.internal. hostmaster.internal. 2026110301"));
	assert_non_null(strstr(p->output, "behind: 2026110301 < 2026112502"));

	assert_int_equal(fresh->trans[0].after_probes, 2);
	assert_int_equal(fresh->trans[0].count, 2);
	assert_string_equal(fresh->trans[0].reason, "exit 0");
	for (size_t i = 0; i < 2; i++) {
		assert_true(fresh->probes[i].success);
		assert_int_equal(fresh->probes[i].exit_status, 0);
		assert_non_null(strstr(fresh->probes[i].output,
				       "r2: ns1.internal. hostmaster.internal. 2026112502"));
	}
	health_checker_destroy(h1);
	health_checker_destroy(h2);
	assert_no_children();
	free(stale);
	free(fresh);
	world_free(w);
	tmp_remove(&t);
}

/* The command's environment is exactly ours to give, stdin is empty (EOF), and it
 * inherits no descriptor of ours beyond stdin, stdout and stderr. */
static void test_exec_environment(void **state)
{
	(void)state;
	char port[32], cmd[200];
	assert_int_equal(setenv("DNSCHAOS_TEST_LEAK", "leaked", 1), 0);
	struct world *w = world_new();
	struct server *s = world_server(w, w->v2);
	snprintf(port, sizeof port, "DNSCHAOS_PORT=%u\n", addr_port(server_addr(s)));
	struct rec *rc = rec_new(SERIAL_V2), *none = rec_new(-1);
	int leak = dup(2); /* no close-on-exec */
	assert_true(leak > 2);
	snprintf(cmd, sizeof cmd,
		 "env | sort; echo stdin: $(wc -c) bytes; "
		 "if [ -e /proc/$$/fd/%d ]; then echo fd %d inherited; fi",
		 leak, leak);
	struct health_config cfg = exec_config(cmd, 1, 1, 1, 1, false);
	struct health_checker *hc = checker(w, "r9", server_addr(s), &cfg, rc);
	struct health_checker *hn = checker(w, "r8", server_addr(s), &cfg, none);
	assert_true(wait_probes(w->base, rc, 1, 1 + 3 * LATE));
	assert_true(wait_probes(w->base, none, 1, 1 + 3 * LATE));
	health_checker_destroy(hc);
	health_checker_destroy(hn);
	unsetenv("DNSCHAOS_TEST_LEAK");
	close(leak);

	const char *out = rc->probes[0].output;
	assert_true(rc->probes[0].success);
	assert_non_null(strstr(out, "DNSCHAOS_ADDRESS=127.0.0.1\n"));
	assert_non_null(strstr(out, "DNSCHAOS_BACKEND=r9\n"));
	assert_non_null(strstr(out, port));
	assert_non_null(strstr(out, "DNSCHAOS_PUBLISHED_SERIAL=2026112502\n"));
	assert_non_null(strstr(out, "DNSCHAOS_ZONE=internal.\n"));
	assert_non_null(strstr(out, "PATH="));
	assert_non_null(strstr(out, "stdin: 0 bytes\n"));
	assert_null(strstr(out, "DNSCHAOS_TEST_LEAK"));
	assert_null(strstr(out, "inherited"));
	assert_non_null(strstr(none->probes[0].output, "DNSCHAOS_PUBLISHED_SERIAL=\n"));
	assert_no_children();
	free(rc);
	free(none);
	world_free(w);
}

/* Exit codes and signals name the reason; stdout and stderr are both kept. */
static void test_exec_exit_status(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct addr a;
	char err[128];
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &a, err, sizeof err), 0);
	struct rec *r3 = rec_new(-1), *rs = rec_new(-1);
	struct health_config c3 =
		exec_config("echo to-stdout; echo to-stderr >&2; exit 3", 1, 1, 1, 1, true);
	struct health_config cs = exec_config("kill -TERM $$", 1, 1, 1, 1, true);
	struct health_checker *h3 = checker(w, "r1", &a, &c3, r3);
	struct health_checker *hs = checker(w, "r1", &a, &cs, rs);
	assert_true(wait_trans(w->base, r3, 1, 1 + 3 * LATE));
	assert_true(wait_trans(w->base, rs, 1, 1 + 3 * LATE));

	assert_false(r3->probes[0].success);
	assert_string_equal(r3->probes[0].reason, "exit 3");
	assert_int_equal(r3->probes[0].exit_status, 3);
	assert_string_equal(r3->probes[0].output, "to-stdout\nto-stderr\n");
	assert_string_equal(r3->trans[0].reason, "exit 3");
	assert_true(r3->probes[0].latency_s < 1); /* found by the pipe's EOF, not the timeout */

	assert_string_equal(rs->probes[0].reason, "killed by signal 15");
	assert_int_equal(rs->probes[0].exit_status, -1);
	health_checker_destroy(h3);
	health_checker_destroy(hs);
	assert_no_children();
	free(r3);
	free(rs);
	world_free(w);
}

/* Output beyond 4 KiB is dropped with a note; a flood does not starve the loop. */
static void test_exec_output_bounded(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct addr a;
	char err[128];
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &a, err, sizeof err), 0);
	struct rec *rc = rec_new(-1), *flood = rec_new(-1);
	struct health_config cfg =
		exec_config("head -c 10000 /dev/zero | tr '\\000' x", 1, 1, 1, 1, false);
	struct health_config cf = exec_config("yes flood", 1, 0.3, 1, 1, false);
	struct health_checker *hc = checker(w, "r1", &a, &cfg, rc);
	struct health_checker *hf = checker(w, "r1", &a, &cf, flood);
	assert_true(wait_probes(w->base, rc, 1, 1 + 3 * LATE));
	assert_true(wait_probes(w->base, flood, 1, 0.3 + 3 * LATE));
	health_checker_destroy(hc);
	health_checker_destroy(hf);

	const char *out = rc->probes[0].output;
	assert_true(rc->probes[0].success);
	size_t xs = strspn(out, "x");
	assert_int_equal(xs, 4096);
	assert_string_equal(out + xs, "\n[output truncated: 4096 of 10000 bytes kept]");

	assert_string_equal(flood->probes[0].reason, "killed after 0.3 s timeout");
	assert_non_null(strstr(flood->probes[0].output, "flood\nflood\n"));
	assert_non_null(strstr(flood->probes[0].output, "[output truncated: 4096 of "));
	assert_no_children();
	free(rc);
	free(flood);
	world_free(w);
}

/* A command past its timeout is killed with its whole process group. */
static void test_exec_timeout_kills_group(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct addr a;
	char err[128];
	int shpid = 0, bgpid = 0;
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &a, err, sizeof err), 0);
	struct rec *rc = rec_new(-1);
	struct health_config cfg =
		exec_config("echo started $$; sleep 30 & echo bg $!; wait", 0.5, 0.3, 1, 1, true);
	struct health_checker *hc = checker(w, "r1", &a, &cfg, rc);
	rc->self = &hc;
	rc->destroy_after_probes = 1; /* from the callback: the killed leader may be unreaped */

	assert_true(wait_probes(w->base, rc, 1, 0.3 + 3 * LATE));
	assert_null(hc);
	struct probe_rec *p = &rc->probes[0];
	assert_false(p->success);
	assert_string_equal(p->reason, "killed after 0.3 s timeout");
	assert_int_equal(p->exit_status, -1);
	assert_true(p->latency_s >= 0.3 - EARLY);
	assert_true(p->latency_s <= 0.3 + LATE);
	assert_int_equal(sscanf(p->output, "started %d\nbg %d", &shpid, &bgpid), 2);
	assert_int_equal(rc->ntrans, 0); /* destroyed in the probe callback: no transition */
	assert_no_children();
	assert_true(wait_gone((pid_t)shpid, 0.1));
	assert_true(wait_gone((pid_t)bgpid, 2)); /* not our child: its new parent reaps it */
	free(rc);
	world_free(w);
}

/* The shell exits while a background child holds the pipe: the exit counts,
 * found by polling well before the timeout, and the straggler is killed. */
static void test_exec_background_holder(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct addr a;
	char err[128];
	int bgpid = 0;
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &a, err, sizeof err), 0);
	struct rec *rc = rec_new(-1);
	struct health_config cfg = exec_config("sleep 30 & echo bg $!; exit 0", 2, 2, 1, 1, false);
	struct health_checker *hc = checker(w, "r1", &a, &cfg, rc);

	assert_true(wait_probes(w->base, rc, 1, 2 + 3 * LATE));
	struct probe_rec *p = &rc->probes[0];
	assert_true(p->success);
	assert_string_equal(p->reason, "exit 0");
	assert_true(p->latency_s < 2 - 0.5); /* not killed at the timeout */
	assert_int_equal(sscanf(p->output, "bg %d", &bgpid), 1);
	assert_true(wait_gone((pid_t)bgpid, 2));
	health_checker_destroy(hc);
	assert_no_children();
	free(rc);
	world_free(w);
}

/* Destroyed while a command runs: killed and reaped before destroy returns. */
static void test_exec_destroy_midway(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct addr a;
	char err[128];
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &a, err, sizeof err), 0);
	struct rec *rc = rec_new(-1);
	struct health_config cfg = exec_config("sleep 30", 5, 5, 1, 1, false);
	struct health_checker *hc = checker(w, "r1", &a, &cfg, rc);
	run_for(w->base, 0.3);
	assert_int_equal(rc->nprobes, 0);
	double t0 = now_s();
	health_checker_destroy(hc);
	assert_true(now_s() - t0 < LATE);
	assert_no_children();
	run_for(w->base, 0.1);
	assert_int_equal(rc->nprobes, 0);
	free(rc);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_serial_stale_stays_down),
		cmocka_unit_test(test_serial_stale_goes_down),
		cmocka_unit_test(test_serial_rise_and_swap),
		cmocka_unit_test(test_alive_hung),
		cmocka_unit_test(test_timeout_equals_interval),
		cmocka_unit_test(test_timeout_after_slow_callback),
		cmocka_unit_test(test_rcode_servfail),
		cmocka_unit_test(test_port_unreachable),
		cmocka_unit_test(test_destroy_in_callbacks),
		cmocka_unit_test(test_first_probe_after_boot),
		cmocka_unit_test(test_exec_dig_script),
		cmocka_unit_test(test_exec_environment),
		cmocka_unit_test(test_exec_exit_status),
		cmocka_unit_test(test_exec_output_bounded),
		cmocka_unit_test(test_exec_timeout_kills_group),
		cmocka_unit_test(test_exec_background_holder),
		cmocka_unit_test(test_exec_destroy_midway),
	};
	/* HEALTH_TEST_FILTER=test_exec* runs some; HEALTH_TEST_VERBOSE=1 prints every probe. */
	if (getenv("HEALTH_TEST_FILTER"))
		cmocka_set_test_filter(getenv("HEALTH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
