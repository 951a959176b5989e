/*
 * test_faults.c - the fault plan without any I/O: name patterns, adding,
 * removing and looking up faults, the capacity setting, and the per-query
 * decision (which fault acts, how delays add up, when the generator is used).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fakeresolver/faults.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must point at scenarios/zones"
#endif

/* Builds a query packet for name (dotted) and type; returns its length. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type)
{
	size_t n = WIRE_HEADER_LEN;
	memset(buf, 0, WIRE_HEADER_LEN);
	wire_put16(buf, id);
	wire_put16(buf + 4, 1);
	while (*name && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	buf[n++] = 0;
	wire_put16(buf + n, type);
	wire_put16(buf + n + 2, DNS_CLASS_IN);
	return n + 4;
}

/* A parsed query, as the server hands it to fault_plan_decide. */
static struct wire_query query(const char *name, uint16_t type)
{
	uint8_t buf[512];
	struct wire_query q;
	size_t n = make_query(buf, 1, name, type);
	assert_int_equal(wire_query_parse(buf, n, &q), WIRE_QUERY_OK);
	return q;
}

static struct fault_spec spec_of(enum fault_kind kind)
{
	struct fault_spec s;
	memset(&s, 0, sizeof s);
	s.kind = kind;
	fault_match_all(&s.match);
	return s;
}

static struct fault_spec spec_named(enum fault_kind kind, const char *pattern)
{
	char err[256] = "";
	struct fault_spec s = spec_of(kind);
	if (fault_match_name(&s.match, pattern, err, sizeof err) != 0)
		fail_msg("%s: %s", pattern, err);
	return s;
}

static struct fault_spec spec_delay(double delay_s)
{
	struct fault_spec s = spec_of(FAULT_DELAY);
	s.delay_s = delay_s;
	s.dist = RNG_DIST_CONSTANT;
	return s;
}

static uint32_t add(struct fault_plan *p, const struct fault_spec *s)
{
	uint32_t id = 0;
	assert_int_equal(fault_plan_add(p, s, &id), 0);
	assert_int_not_equal(id, 0);
	return id;
}

static void decide(const struct fault_plan *p, const char *name, uint16_t type,
		   enum answer_transport tp, struct rng *r, struct fault_decision *d)
{
	struct wire_query q = query(name, type);
	fault_plan_decide(p, &q, WIRE_QUERY_OK, tp, r, d);
}

/* True if a pattern matches a UDP query for name (through the decision). */
static bool pattern_matches(const char *pattern, const char *name)
{
	struct fault_plan *p = fault_plan_create();
	struct fault_spec s = spec_named(FAULT_HANG, pattern);
	struct fault_decision d;
	struct rng r;
	assert_non_null(p);
	rng_seed(&r, 1);
	add(p, &s);
	decide(p, name, DNS_TYPE_A, ANSWER_UDP, &r, &d);
	fault_plan_destroy(p);
	return d.action == FAULT_ACT_DROP;
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

/* ---- bad parameters ---- */

static void test_name_pattern_rejects_bad_patterns(void **state)
{
	(void)state;
	char label64[80], longname[300];
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".internal");
	/* 4 * 64 octets of labels: too long for a 255-octet name. */
	longname[0] = 0;
	for (int i = 0; i < 4; i++)
		strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	const char *const bad[] = { "db..internal", ".internal",    "a.*.internal", "*x.internal",
				    "**",           "*.*.internal", label64,       longname };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fault_match m;
		char err[1024] = "";
		fault_match_all(&m);
		if (fault_match_name(&m, bad[i], err, sizeof err) != -1)
			fail_msg("pattern '%s' was accepted", bad[i]);
		/* The message names the pattern and says what to write instead. */
		assert_non_null(strstr(err, bad[i]));
		assert_non_null(strstr(err, "*.suffix"));
	}
}

static void test_name_pattern_error_fits_small_buffer(void **state)
{
	(void)state;
	struct fault_match m;
	char err[8];
	memset(err, 'x', sizeof err);
	fault_match_all(&m);
	assert_int_equal(fault_match_name(&m, "db..internal", err, sizeof err), -1);
	assert_int_equal(strlen(err), sizeof err - 1); /* truncated, terminated */
}

static void test_remove_and_get_unknown_ids(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec s = spec_of(FAULT_HANG);
	assert_non_null(p);
	assert_int_equal(fault_plan_remove(p, 0), -1);
	assert_int_equal(fault_plan_remove(p, 1), -1);
	assert_null(fault_plan_get(p, 0));
	assert_null(fault_plan_get(p, 1));
	uint32_t id = add(p, &s);
	assert_int_equal(fault_plan_remove(p, id + 1), -1);
	assert_int_equal(fault_plan_count(p), 1);
	assert_int_equal(fault_plan_remove(p, id), 0);
	assert_int_equal(fault_plan_remove(p, id), -1); /* healed twice */
	assert_int_equal(fault_plan_count(p), 0);
	fault_plan_destroy(p);
	fault_plan_destroy(NULL); /* a no-op */
}

static void test_capacity_zero_or_negative_removes_limit(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	double qps = -1;
	unsigned ql = 99;
	assert_non_null(p);
	assert_false(fault_plan_capacity(p, &qps, &ql));
	fault_plan_set_capacity(p, 100, 10);
	assert_true(fault_plan_capacity(p, &qps, &ql));
	fault_plan_set_capacity(p, 0, 10);
	assert_false(fault_plan_capacity(p, &qps, &ql));
	fault_plan_set_capacity(p, 100, 10);
	fault_plan_set_capacity(p, -5, 10);
	assert_false(fault_plan_capacity(p, &qps, &ql));
	fault_plan_destroy(p);
}

/* ---- name patterns ---- */

static void test_name_pattern_exact(void **state)
{
	(void)state;
	assert_true(pattern_matches("db.internal", "db.internal."));
	assert_true(pattern_matches("db.internal.", "db.internal."));
	assert_true(pattern_matches("DB.Internal", "db.INTERNAL.")); /* both sides any case */
	assert_false(pattern_matches("db.internal", "x.db.internal."));
	assert_false(pattern_matches("db.internal", "internal."));
	assert_false(pattern_matches("db.internal", "db.internal.com."));
	assert_false(pattern_matches("db.internal", "xdb.internal."));
}

static void test_name_pattern_strictly_below(void **state)
{
	(void)state;
	assert_true(pattern_matches("*.internal", "db.internal."));
	assert_true(pattern_matches("*.internal", "a.b.c.internal."));
	assert_true(pattern_matches("*.Internal.", "DB.internal."));
	assert_false(pattern_matches("*.internal", "internal.")); /* strictly below */
	assert_false(pattern_matches("*.internal", "xinternal."));
	assert_false(pattern_matches("*.internal", "internal.com."));
	assert_false(pattern_matches("*.internal", "."));
}

static void test_name_pattern_star_is_any(void **state)
{
	(void)state;
	struct fault_match m;
	char err[64];
	fault_match_all(&m);
	assert_int_equal(fault_match_name(&m, "*", err, sizeof err), 0);
	assert_false(m.has_name);
	assert_true(pattern_matches("*", "."));
	assert_true(pattern_matches("*", "internal."));
	assert_true(pattern_matches("*", "a.b.example."));
	/* A pattern replaces the previous one. */
	assert_int_equal(fault_match_name(&m, "db.internal", err, sizeof err), 0);
	assert_true(m.has_name);
	assert_int_equal(fault_match_name(&m, "*", err, sizeof err), 0);
	assert_false(m.has_name);
}

static void test_name_pattern_longest_valid(void **state)
{
	(void)state;
	/* 3 labels of 63 and one of 61 octets: exactly 255 octets in wire form. */
	char name[300] = "";
	for (int i = 0; i < 3; i++)
		strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	struct fault_match m;
	char err[400] = "";
	fault_match_all(&m);
	if (fault_match_name(&m, name, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.name_len, WIRE_NAME_MAX);
	assert_true(pattern_matches(name, name));
}

/* ---- the plan ---- */

static void test_ids_unique_and_never_reused(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	uint32_t ids[20];
	assert_non_null(p);
	for (int i = 0; i < 20; i++) { /* past the first growth of the array */
		struct fault_spec s = spec_delay(0.001 * (i + 1));
		ids[i] = add(p, &s);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ids[i], ids[j]);
	}
	assert_int_equal(fault_plan_count(p), 20);
	for (int i = 0; i < 20; i++) {
		const struct fault_spec *g = fault_plan_get(p, ids[i]);
		assert_non_null(g);
		assert_int_equal(g->kind, FAULT_DELAY);
		assert_true(g->delay_s == 0.001 * (i + 1));
	}
	/* A healed fault's id does not come back: a stale handle cannot heal a new fault. */
	assert_int_equal(fault_plan_remove(p, ids[19]), 0);
	struct fault_spec s = spec_of(FAULT_HANG);
	uint32_t fresh = add(p, &s);
	for (int i = 0; i < 20; i++)
		assert_int_not_equal(fresh, ids[i]);
	assert_int_equal(fault_plan_remove(p, ids[19]), -1);
	assert_non_null(fault_plan_get(p, fresh));
	fault_plan_destroy(p);
}

static void test_add_copies_the_spec(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec s = spec_named(FAULT_RCODE, "db.internal");
	s.rcode = DNS_RCODE_SERVFAIL;
	s.match.qtype = DNS_TYPE_AAAA;
	s.match.transport = ANSWER_TCP;
	s.match.fraction = 0.25;
	assert_non_null(p);
	uint32_t id = add(p, &s);
	s.rcode = DNS_RCODE_REFUSED; /* the caller's copy is its own */
	const struct fault_spec *g = fault_plan_get(p, id);
	assert_non_null(g);
	assert_int_equal(g->kind, FAULT_RCODE);
	assert_int_equal(g->rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(g->match.qtype, DNS_TYPE_AAAA);
	assert_int_equal(g->match.transport, ANSWER_TCP);
	assert_true(g->match.fraction == 0.25);
	assert_true(g->match.has_name);
	assert_memory_equal(g->match.name, "\x02" "db\x08" "internal", 13);
	fault_plan_destroy(p);
}

static void test_remove_keeps_the_others_in_order(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec a = spec_of(FAULT_RCODE), b = spec_of(FAULT_HANG),
			  c = spec_of(FAULT_TRUNCATE);
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	a.rcode = DNS_RCODE_REFUSED;
	assert_non_null(p);
	uint32_t ia = add(p, &a), ib = add(p, &b), ic = add(p, &c);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.fault_id, ia);
	assert_int_equal(fault_plan_remove(p, ia), 0);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.fault_id, ib);
	assert_int_equal(d.action, FAULT_ACT_DROP);
	assert_int_equal(fault_plan_remove(p, ib), 0);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.fault_id, ic);
	assert_int_equal(d.action, FAULT_ACT_TRUNCATE);
	assert_int_equal(fault_plan_count(p), 1);
	assert_non_null(fault_plan_get(p, ic));
	fault_plan_destroy(p);
}

static void test_clear_removes_faults_and_capacity(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec s = spec_of(FAULT_HANG);
	struct fault_decision d;
	struct rng r;
	double qps;
	unsigned ql;
	rng_seed(&r, 1);
	assert_non_null(p);
	uint32_t id = add(p, &s);
	add(p, &s);
	fault_plan_set_capacity(p, 50, 7);
	assert_true(fault_plan_capacity(p, &qps, &ql));
	assert_true(qps == 50);
	assert_int_equal(ql, 7);
	assert_int_equal(fault_plan_count(p), 2); /* capacity is not counted */
	fault_plan_clear(p);
	assert_int_equal(fault_plan_count(p), 0);
	assert_false(fault_plan_capacity(p, &qps, &ql));
	assert_null(fault_plan_get(p, id));
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_ANSWER);
	/* The plan is usable after clearing, and ids still do not repeat. */
	assert_int_not_equal(add(p, &s), id);
	fault_plan_destroy(p);
}

static void test_plan_owns_wrong_zones(void **state)
{
	(void)state;
	/* Leak-checked under valgrind and ASan: remove, clear and destroy each free
	 * the zone set a wrong-answer fault owns. */
	struct fault_plan *p = fault_plan_create();
	assert_non_null(p);
	for (int i = 0; i < 3; i++) {
		struct fault_spec s = spec_of(FAULT_WRONG);
		s.wrong_zones = load_set("internal.v1.zone");
		uint32_t id = add(p, &s);
		assert_ptr_equal(fault_plan_get(p, id)->wrong_zones, s.wrong_zones);
		if (i == 0)
			assert_int_equal(fault_plan_remove(p, id), 0);
		if (i == 1)
			fault_plan_clear(p);
	}
	assert_int_equal(fault_plan_count(p), 1);
	fault_plan_destroy(p);
}

/* ---- decisions ---- */

static void test_no_faults_answers(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_decision d;
	struct rng r, before;
	rng_seed(&r, 1);
	before = r;
	assert_non_null(p);
	memset(&d, 0xff, sizeof d);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_ANSWER);
	assert_int_equal(d.fault_id, 0);
	assert_int_equal(d.delay_id, 0);
	assert_true(d.delay_s == 0);
	assert_null(d.spec);
	assert_memory_equal(&r, &before, sizeof r);
	fault_plan_destroy(p);
}

static void test_each_kind_decides_its_action(void **state)
{
	(void)state;
	static const struct {
		enum fault_kind kind;
		enum fault_action action;
	} cases[] = {
		{ FAULT_HANG, FAULT_ACT_DROP },
		{ FAULT_RCODE, FAULT_ACT_RCODE },
		{ FAULT_TRUNCATE, FAULT_ACT_TRUNCATE },
		{ FAULT_WRONG, FAULT_ACT_WRONG },
	};
	struct rng r;
	rng_seed(&r, 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fault_plan *p = fault_plan_create();
		struct fault_spec s = spec_of(cases[i].kind);
		struct fault_decision d;
		s.rcode = DNS_RCODE_NXDOMAIN;
		assert_non_null(p);
		uint32_t id = add(p, &s);
		decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
		assert_int_equal(d.action, cases[i].action);
		assert_int_equal(d.fault_id, id);
		assert_ptr_equal(d.spec, fault_plan_get(p, id));
		assert_int_equal(d.delay_id, 0);
		assert_true(d.delay_s == 0);
		fault_plan_destroy(p);
	}
}

static void test_truncate_is_udp_only(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec t = spec_of(FAULT_TRUNCATE), h = spec_of(FAULT_HANG);
	struct fault_decision d;
	struct rng r, before;
	rng_seed(&r, 1);
	t.match.fraction = 0.5;
	assert_non_null(p);
	uint32_t it = add(p, &t);
	before = r;
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_TCP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_ANSWER);
	/* Over TCP a truncate fault does not match, so it draws nothing. */
	assert_memory_equal(&r, &before, sizeof r);
	/* ...and does not hide a later fault that does apply to TCP. */
	uint32_t ih = add(p, &h);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_TCP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_DROP);
	assert_int_equal(d.fault_id, ih);
	/* Over UDP it can act. */
	t.match.fraction = 1.0;
	fault_plan_clear(p);
	it = add(p, &t);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_TRUNCATE);
	assert_int_equal(d.fault_id, it);
	fault_plan_destroy(p);
}

static void test_first_matching_terminal_fault_wins(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec other = spec_named(FAULT_HANG, "db-primary.internal");
	struct fault_spec rc = spec_named(FAULT_RCODE, "*.internal");
	struct fault_spec hang = spec_of(FAULT_HANG);
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	rc.rcode = DNS_RCODE_SERVFAIL;
	assert_non_null(p);
	uint32_t io = add(p, &other), irc = add(p, &rc), ih = add(p, &hang);
	/* The earlier hang does not match web: the rcode fault is first to match. */
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_RCODE);
	assert_int_equal(d.fault_id, irc);
	assert_int_equal(d.spec->rcode, DNS_RCODE_SERVFAIL);
	decide(p, "db-primary.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_DROP);
	assert_int_equal(d.fault_id, io);
	/* Outside *.internal only the catch-all hang matches. */
	decide(p, "example.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_DROP);
	assert_int_equal(d.fault_id, ih);
	fault_plan_destroy(p);
}

static void test_qtype_and_transport_match(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec aaaa = spec_of(FAULT_RCODE), tcp = spec_of(FAULT_HANG);
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	aaaa.match.qtype = DNS_TYPE_AAAA;
	aaaa.rcode = DNS_RCODE_SERVFAIL;
	tcp.match.transport = ANSWER_TCP;
	assert_non_null(p);
	uint32_t ia = add(p, &aaaa), it = add(p, &tcp);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_ANSWER);
	decide(p, "web.internal.", DNS_TYPE_AAAA, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_RCODE);
	assert_int_equal(d.fault_id, ia);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_TCP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_DROP);
	assert_int_equal(d.fault_id, it);
	decide(p, "web.internal.", DNS_TYPE_AAAA, ANSWER_TCP, &r, &d);
	assert_int_equal(d.fault_id, ia);
	fault_plan_destroy(p);
}

static void test_unparsed_query_matches_only_unrestricted_faults(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec named = spec_named(FAULT_HANG, "*"), typed = spec_of(FAULT_HANG),
			  byname = spec_named(FAULT_HANG, "db.internal"), all = spec_of(FAULT_RCODE);
	struct fault_decision d;
	struct wire_query q;
	struct rng r;
	uint8_t pkt[512];
	rng_seed(&r, 1);
	typed.match.qtype = DNS_TYPE_A;
	all.rcode = DNS_RCODE_SERVFAIL;
	/* Two questions: FORMERR, and the query fields are not to be trusted. */
	size_t n = make_query(pkt, 1, "db.internal.", DNS_TYPE_A);
	wire_put16(pkt + 4, 2);
	assert_int_equal(wire_query_parse(pkt, n, &q), WIRE_QUERY_FORMERR);
	assert_non_null(p);
	add(p, &typed);
	add(p, &byname);
	fault_plan_decide(p, &q, WIRE_QUERY_FORMERR, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_ANSWER);
	uint32_t ia = add(p, &all);
	fault_plan_decide(p, &q, WIRE_QUERY_FORMERR, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_RCODE);
	assert_int_equal(d.fault_id, ia);
	/* "*" is no name restriction either. */
	fault_plan_clear(p);
	uint32_t in = add(p, &named);
	fault_plan_decide(p, &q, WIRE_QUERY_NOTIMP, ANSWER_TCP, &r, &d);
	assert_int_equal(d.fault_id, in);
	fault_plan_destroy(p);
}

static void test_delays_accumulate(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec d1 = spec_delay(0.1), d2 = spec_delay(0.25),
			  d3 = spec_named(FAULT_DELAY, "db.internal");
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	d3.delay_s = 5.0;
	d3.dist = RNG_DIST_CONSTANT;
	assert_non_null(p);
	uint32_t i1 = add(p, &d1), i2 = add(p, &d2);
	add(p, &d3); /* does not match web */
	(void)i1;
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_ANSWER);
	assert_int_equal(d.fault_id, 0);
	assert_null(d.spec);
	assert_int_equal(d.delay_id, i2); /* the last delay applied */
	assert_float_equal(d.delay_s, 0.35, 1e-12);
	fault_plan_destroy(p);
}

static void test_hang_discards_delay(void **state)
{
	(void)state;
	/* A hung query is never answered: a delay matching it too holds nothing
	 * back, and its line must not claim a delay (the history's schema). */
	struct fault_spec h = spec_of(FAULT_HANG), before = spec_delay(0.1), after = spec_delay(0.2);
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	struct fault_plan *p = fault_plan_create();
	assert_non_null(p);
	add(p, &before);
	uint32_t ih = add(p, &h);
	add(p, &after);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_DROP);
	assert_int_equal(d.fault_id, ih);
	assert_int_equal(d.delay_id, 0);
	assert_float_equal(d.delay_s, 0.0, 0.0);
	fault_plan_destroy(p);
}

static void test_delay_adds_to_terminal_fault_in_any_order(void **state)
{
	(void)state;
	/* Every matching delay adds its latency, whether it was injected before
	 * or after the fault that decides the reply: a slow SERVFAIL. */
	struct fault_spec rc = spec_of(FAULT_RCODE), before = spec_delay(0.1),
			  after = spec_delay(0.2);
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	rc.rcode = DNS_RCODE_SERVFAIL;

	struct fault_plan *p = fault_plan_create();
	assert_non_null(p);
	add(p, &before);
	uint32_t irc = add(p, &rc);
	uint32_t iafter = add(p, &after);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_RCODE);
	assert_int_equal(d.fault_id, irc);
	assert_int_equal(d.delay_id, iafter);
	assert_float_equal(d.delay_s, 0.3, 1e-12);
	fault_plan_destroy(p);

	/* A later terminal fault still does not override the first one. */
	struct fault_spec hang = spec_of(FAULT_HANG);
	p = fault_plan_create();
	assert_non_null(p);
	irc = add(p, &rc);
	add(p, &hang);
	iafter = add(p, &after);
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.action, FAULT_ACT_RCODE);
	assert_int_equal(d.fault_id, irc);
	assert_int_equal(d.delay_id, iafter);
	assert_float_equal(d.delay_s, 0.2, 1e-12);
	fault_plan_destroy(p);
}

static void test_uniform_delay_within_bounds(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec s = spec_delay(0.2);
	struct fault_decision d;
	struct rng r;
	double lo = 1, hi = 0;
	rng_seed(&r, 3);
	s.dist = RNG_DIST_UNIFORM;
	s.spread_s = 0.05;
	assert_non_null(p);
	add(p, &s);
	for (int i = 0; i < 1000; i++) {
		decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
		assert_true(d.delay_s >= 0.15 && d.delay_s <= 0.25);
		lo = d.delay_s < lo ? d.delay_s : lo;
		hi = d.delay_s > hi ? d.delay_s : hi;
	}
	assert_true(lo < 0.16); /* actually jittered */
	assert_true(hi > 0.24);
	fault_plan_destroy(p);
}

static void test_fraction_bounds(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec never = spec_of(FAULT_HANG), always = spec_of(FAULT_RCODE);
	struct fault_decision d;
	struct rng r;
	rng_seed(&r, 1);
	never.match.fraction = 0.0;
	always.match.fraction = 1.0;
	always.rcode = DNS_RCODE_REFUSED;
	assert_non_null(p);
	add(p, &never);
	uint32_t ia = add(p, &always);
	for (int i = 0; i < 1000; i++) {
		decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
		assert_int_equal(d.fault_id, ia);
	}
	fault_plan_destroy(p);
}

static void test_fraction_is_seeded(void **state)
{
	(void)state;
	struct fault_plan *p = fault_plan_create();
	struct fault_spec s = spec_of(FAULT_HANG);
	struct fault_decision d;
	struct rng a, b, c;
	unsigned hit_a = 0, same_ab = 0, same_ac = 0;
	s.match.fraction = 0.5;
	assert_non_null(p);
	add(p, &s);
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	for (int i = 0; i < 10000; i++) {
		decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &a, &d);
		bool da = d.action == FAULT_ACT_DROP;
		decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &b, &d);
		bool db = d.action == FAULT_ACT_DROP;
		decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &c, &d);
		bool dc = d.action == FAULT_ACT_DROP;
		hit_a += da;
		same_ab += da == db;
		same_ac += da == dc;
	}
	assert_in_range(hit_a, 4700, 5300);
	assert_int_equal(same_ab, 10000);
	/* Independent seeds agree about half the time. */
	assert_in_range(same_ac, 4700, 5300);
	fault_plan_destroy(p);
}

static void test_rng_untouched_unless_fault_matches(void **state)
{
	(void)state;
	/* A query that a fractional fault does not match must not consume the
	 * generator, or unrelated traffic would change which queries are hit. */
	struct fault_plan *p = fault_plan_create();
	struct fault_spec byname = spec_named(FAULT_HANG, "db.internal"),
			  bytype = spec_of(FAULT_HANG), bytp = spec_of(FAULT_HANG),
			  whole = spec_of(FAULT_RCODE);
	struct fault_decision d;
	struct rng r, before;
	rng_seed(&r, 5);
	byname.match.fraction = bytype.match.fraction = bytp.match.fraction = 0.5;
	bytype.match.qtype = DNS_TYPE_MX;
	bytp.match.transport = ANSWER_TCP;
	whole.rcode = DNS_RCODE_SERVFAIL; /* fraction 1: decided without a draw */
	assert_non_null(p);
	add(p, &byname);
	add(p, &bytype);
	add(p, &bytp);
	uint32_t iw = add(p, &whole);
	before = r;
	decide(p, "web.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_int_equal(d.fault_id, iw);
	assert_memory_equal(&r, &before, sizeof r);
	/* A matching fractional fault does draw. */
	decide(p, "db.internal.", DNS_TYPE_A, ANSWER_UDP, &r, &d);
	assert_memory_not_equal(&r, &before, sizeof r);
	fault_plan_destroy(p);
}

static void test_names_for_logs(void **state)
{
	(void)state;
	assert_string_equal(fault_kind_name(FAULT_HANG), "hang");
	assert_string_equal(fault_kind_name(FAULT_DELAY), "delay");
	assert_string_equal(fault_kind_name(FAULT_RCODE), "rcode");
	assert_string_equal(fault_kind_name(FAULT_TRUNCATE), "truncate");
	assert_string_equal(fault_kind_name(FAULT_WRONG), "wrong");
	assert_string_equal(fault_action_name(FAULT_ACT_ANSWER), "answered");
	assert_string_equal(fault_action_name(FAULT_ACT_DROP), "dropped");
	assert_string_equal(fault_action_name(FAULT_ACT_RCODE), "rcode");
	assert_string_equal(fault_action_name(FAULT_ACT_TRUNCATE), "truncated");
	assert_string_equal(fault_action_name(FAULT_ACT_WRONG), "wrong");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_pattern_rejects_bad_patterns),
		cmocka_unit_test(test_name_pattern_error_fits_small_buffer),
		cmocka_unit_test(test_remove_and_get_unknown_ids),
		cmocka_unit_test(test_capacity_zero_or_negative_removes_limit),
		cmocka_unit_test(test_name_pattern_exact),
		cmocka_unit_test(test_name_pattern_strictly_below),
		cmocka_unit_test(test_name_pattern_star_is_any),
		cmocka_unit_test(test_name_pattern_longest_valid),
		cmocka_unit_test(test_ids_unique_and_never_reused),
		cmocka_unit_test(test_add_copies_the_spec),
		cmocka_unit_test(test_remove_keeps_the_others_in_order),
		cmocka_unit_test(test_clear_removes_faults_and_capacity),
		cmocka_unit_test(test_plan_owns_wrong_zones),
		cmocka_unit_test(test_no_faults_answers),
		cmocka_unit_test(test_each_kind_decides_its_action),
		cmocka_unit_test(test_truncate_is_udp_only),
		cmocka_unit_test(test_first_matching_terminal_fault_wins),
		cmocka_unit_test(test_qtype_and_transport_match),
		cmocka_unit_test(test_unparsed_query_matches_only_unrestricted_faults),
		cmocka_unit_test(test_delays_accumulate),
		cmocka_unit_test(test_delay_adds_to_terminal_fault_in_any_order),
		cmocka_unit_test(test_uniform_delay_within_bounds),
		cmocka_unit_test(test_fraction_bounds),
		cmocka_unit_test(test_fraction_is_seeded),
		cmocka_unit_test(test_rng_untouched_unless_fault_matches),
		cmocka_unit_test(test_hang_discards_delay),
		cmocka_unit_test(test_names_for_logs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
