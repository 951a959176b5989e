/*
 * test_join.c - the rules of the join (harness/clients/join.h): which of the
 * lookups alive when a wire query arrived sent it. Each test plays the
 * queries a real stack sends (ports, ids, questions as FACTS of each stack)
 * and asserts the lookup each one is given, its cause, and the wire counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness/clients/join.h"

#define A 1
#define AAAA 28
#define NAME 0   /* variant 0: the name itself */
#define SEARCH 1 /* variant 1: the name with a search suffix */

static struct join_query query(uint16_t variant, uint16_t qtype, uint16_t port, int32_t id)
{
	return (struct join_query){ variant, variant == SEARCH, qtype, port, id };
}

/* Joins q against live[0..n), committing; returns the cause, *pick the index (or 99). */
static enum join_cause join(struct join_lookup **live, size_t n, struct join_query q,
			    size_t *pick)
{
	*pick = 99;
	return join_pick(live, n, NULL, &q, true, pick);
}

static void expect(struct join_lookup **live, size_t n, struct join_query q,
		   enum join_cause cause, size_t who)
{
	size_t pick;
	enum join_cause got = join(live, n, q, &pick);
	assert_int_equal(got, cause);
	if (cause != JOIN_AMBIGUOUS && cause != JOIN_NONE)
		assert_int_equal(pick, who);
}

static void nothing_alive_is_not_joined(void **state)
{
	(void)state;
	size_t pick = 7;
	struct join_query q = query(NAME, A, 1000, 5);
	assert_int_equal(join_pick(NULL, 0, NULL, &q, true, &pick), JOIN_NONE);
	assert_int_equal(pick, 7);
	assert_null(join_cause_name(JOIN_NONE));
	assert_string_equal(join_cause_name(JOIN_AMBIGUOUS), "ambiguous");
}

/* Without commit nothing is recorded: asking twice gives the same answer. */
static void peek_records_nothing(void **state)
{
	(void)state;
	struct join_lookup a = { 0 };
	struct join_lookup *live[] = { &a };
	struct join_query q = query(NAME, A, 1000, 5);
	size_t pick = 9;
	assert_int_equal(join_pick(live, 1, NULL, &q, false, &pick), JOIN_FIRST);
	assert_int_equal(pick, 0);
	assert_int_equal(a.nkeys, 0);
	assert_int_equal(a.wire, 0);
	assert_int_equal(join_pick(live, 1, NULL, &q, false, &pick), JOIN_FIRST);
}

/*
 * glibc getaddrinfo(AF_UNSPEC): A and AAAA on one socket, retried on it with
 * the same ids; after a port unreachable (or in single-request-reopen mode)
 * it reopens: a new port, the same id. Another lookup of the same name is in
 * flight from its own socket meanwhile: nothing of one goes to the other.
 */
static void glibc_reopen_same_id_new_port(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 };
	struct join_lookup *live[] = { &a, &b };
	expect(live, 1, query(NAME, A, 40001, 100), JOIN_FIRST, 0);
	expect(live, 1, query(NAME, AAAA, 40001, 101), JOIN_PAIR, 0);
	/* b starts, from its own socket */
	expect(live, 2, query(NAME, A, 40002, 200), JOIN_FIRST, 1);
	expect(live, 2, query(NAME, AAAA, 40002, 201), JOIN_PAIR, 1);
	/* a retries on its socket, then reopens: new port, same ids */
	expect(live, 2, query(NAME, A, 40001, 100), JOIN_RETRY, 0);
	expect(live, 2, query(NAME, A, 40003, 100), JOIN_RETRY, 0);
	expect(live, 2, query(NAME, AAAA, 40003, 101), JOIN_RETRY, 0);
	/* and on the new socket again */
	expect(live, 2, query(NAME, A, 40003, 100), JOIN_RETRY, 0);
	/* b reopens too */
	expect(live, 2, query(NAME, AAAA, 40004, 201), JOIN_RETRY, 1);
	assert_int_equal(a.wire, 6);
	assert_int_equal(b.wire, 3);
}

/*
 * The capacity queue: a query that arrived while lookup a lived is served
 * (and its line written) after a ended and b began. The join is made on
 * arrival, so a has it; b's own first query, arriving later, is b's first,
 * and b never gets a's.
 */
static void capacity_queue_joined_on_arrival(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 };
	struct join_lookup *alive_then[] = { &a };
	expect(alive_then, 1, query(NAME, A, 41000, 7), JOIN_FIRST, 0);
	/* a ends; b begins from a new socket */
	struct join_lookup *alive_now[] = { &b };
	expect(alive_now, 1, query(NAME, A, 41001, 8), JOIN_FIRST, 0);
	assert_int_equal(a.wire, 1);
	assert_int_equal(b.wire, 1);
	/* a late retry of a (its socket, its id) with nothing alive is nobody's */
	size_t pick;
	assert_int_equal(join(NULL, 0, query(NAME, A, 41000, 7), &pick), JOIN_NONE);
	assert_int_equal(a.wire, 1);
	/* ... and while b lives: a's key is among the ended ones, so it is not b's retry */
	static struct join_ended ended;
	join_ended_add(&ended, &a);
	struct join_query late = query(NAME, A, 41000, 7);
	assert_int_equal(join_pick(alive_now, 1, &ended, &late, true, &pick), JOIN_NONE);
	assert_int_equal(b.wire, 1);
	/* b's own retry from a new socket with a new id (libunbound, dig) is still b's */
	struct join_query retry = query(NAME, A, 41002, 9);
	assert_int_equal(join_pick(alive_now, 1, &ended, &retry, true, &pick), JOIN_RETRY);
	assert_int_equal(b.wire, 2);
}

/*
 * Two lookups of the same name with the same id (the generator can repeat
 * one) from different ports: the port tells them apart, both ways.
 */
static void same_id_different_ports(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 };
	struct join_lookup *live[] = { &a, &b };
	expect(live, 1, query(NAME, A, 42001, 555), JOIN_FIRST, 0);
	/* a's reopen, or b's first with the same id by chance: nobody can say */
	expect(live, 2, query(NAME, A, 42002, 555), JOIN_AMBIGUOUS, 0);
	assert_int_equal(a.wire, 1);
	assert_int_equal(b.wire, 0);
	/* once each has a socket of its own, the port tells them apart */
	struct join_lookup c = { 0 }, d = { 0 };
	struct join_lookup *live2[] = { &c, &d };
	expect(live2, 1, query(NAME, A, 43001, 555), JOIN_FIRST, 0);
	expect(live2, 1, query(NAME, AAAA, 43001, 556), JOIN_PAIR, 0);
	expect(live2, 2, query(NAME, AAAA, 43002, 600), JOIN_FIRST, 1);
	expect(live2, 2, query(NAME, A, 43002, 555), JOIN_PAIR, 1); /* d's socket */
	expect(live2, 2, query(NAME, A, 43001, 555), JOIN_RETRY, 0);
	expect(live2, 2, query(NAME, A, 43002, 555), JOIN_RETRY, 1);
	assert_int_equal(c.wire, 3);
	assert_int_equal(d.wire, 3);
}

/*
 * Two lookups that have both sent nothing yet: a first query from a new
 * port could be either's. It is ambiguous, joined to neither, and its key
 * is remembered as "maybe" on both: the retry of that key stays ambiguous
 * while both live, and is the survivor's once one has ended. A third lookup
 * starting later never gets it.
 */
static void ambiguous_until_one_remains(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 }, c = { 0 };
	struct join_lookup *both[] = { &a, &b };
	expect(both, 2, query(NAME, A, 44001, 1), JOIN_AMBIGUOUS, 0);
	assert_int_equal(a.wire + b.wire, 0);
	expect(both, 2, query(NAME, A, 44001, 1), JOIN_AMBIGUOUS, 0);
	/* a ended; c began: 44001's retry is b's (c never sent it, b may have) */
	struct join_lookup *later[] = { &b, &c };
	expect(later, 2, query(NAME, A, 44001, 1), JOIN_RETRY, 0);
	assert_int_equal(b.wire, 1);
	assert_int_equal(c.wire, 0);
	/* c's own first query */
	expect(later, 2, query(NAME, A, 44002, 2), JOIN_FIRST, 1);
	assert_int_equal(c.wire, 1);
}

/*
 * c-ares sends every lookup over one socket per server; the id tells them
 * apart, and a retry keeps it. The shared port is no evidence of whose a
 * new query is.
 */
static void cares_shared_socket(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 };
	struct join_lookup *live[] = { &a, &b };
	expect(live, 1, query(NAME, A, 45000, 10), JOIN_FIRST, 0);
	expect(live, 2, query(NAME, A, 45000, 20), JOIN_FIRST, 1);
	expect(live, 2, query(NAME, A, 45000, 10), JOIN_RETRY, 0);
	/* the retry to the second server: its socket, the same id */
	expect(live, 2, query(NAME, A, 45001, 20), JOIN_RETRY, 1);
	assert_int_equal(a.wire, 2);
	assert_int_equal(b.wire, 2);
}

/*
 * c-ares can draw, for a new lookup's query, the id an older lookup's
 * query in flight has on the shared socket (seen with 1.18.1 under load).
 * While a lookup that has not asked yet lives, a query with the older
 * one's key could be either's.
 */
static void cares_shared_socket_id_collision(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 }, c = { 0 };
	struct join_lookup *two[] = { &a, &b };
	expect(two, 1, query(NAME, A, 45000, 10), JOIN_FIRST, 0);
	expect(two, 2, query(NAME, A, 45000, 20), JOIN_FIRST, 1);
	/* c began and has sent nothing yet: id 10 is a's retry or c's first */
	struct join_lookup *three[] = { &a, &b, &c };
	expect(three, 3, query(NAME, A, 45000, 10), JOIN_AMBIGUOUS, 0);
	assert_int_equal(a.wire, 1);
	assert_int_equal(c.wire, 0);
	/* c's own first query, with another id: c's (c was not marked by the ambiguity) */
	expect(three, 3, query(NAME, A, 45000, 30), JOIN_FIRST, 2);
	assert_int_equal(c.wire, 1);
	/* no lookup is fresh now, and id 20 is b's alone: b's retry */
	expect(three, 3, query(NAME, A, 45000, 20), JOIN_RETRY, 1);
	/* a new lookup after them is told apart at once */
	struct join_lookup d0 = { 0 };
	struct join_lookup *four[] = { &a, &b, &c, &d0 };
	expect(four, 4, query(NAME, A, 45000, 40), JOIN_FIRST, 3);
	/* on a socket of its own (glibc), a key is its lookup's even with a fresh one alive */
	struct join_lookup d = { 0 }, e = { 0 };
	struct join_lookup *own[] = { &d, &e };
	expect(own, 1, query(NAME, A, 45100, 10), JOIN_FIRST, 0);
	expect(own, 2, query(NAME, A, 45100, 10), JOIN_RETRY, 0);
	assert_int_equal(d.wire, 2);
}

/*
 * A driver that sees its stack's packets (c-ares) announces each key before
 * the query arrives: the query is its lookup's whatever else is in flight,
 * with the cause it has there; an id two lookups announced at once is
 * ambiguous; a retry to another server is found by its id.
 */
static void announced_keys(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 }, c = { 0 };
	struct join_lookup *live[] = { &a, &b, &c };
	struct join_query qa = query(NAME, A, 45000, 10), qb = query(NAME, A, 45000, 20);
	struct join_query qc = query(NAME, A, 45000, 30);
	join_announce(&a, &qa);
	join_announce(&b, &qb);
	join_announce(&c, &qc);
	/* c's first query has not arrived yet, but c is no candidate for b's key */
	expect(live, 3, qb, JOIN_FIRST, 1);
	expect(live, 3, qa, JOIN_FIRST, 0);
	expect(live, 3, qa, JOIN_RETRY, 0);
	/* a's retry to a second server: same id, its socket there */
	size_t at = 99;
	struct join_query qa2 = query(NAME, A, 45001, 10);
	assert_true(join_owner_of_id(live, 3, &qa2, &at));
	assert_int_equal(at, 0);
	join_announce(&a, &qa2);
	expect(live, 3, qa2, JOIN_RETRY, 0);
	assert_int_equal(a.wire, 3);
	/* c-ares gave c the id a has in flight: both announced it, nobody can say */
	join_announce(&c, &qa);
	assert_false(join_owner_of_id(live, 3, &qa, &at));
	expect(live, 3, qa, JOIN_AMBIGUOUS, 0);
	assert_int_equal(a.wire, 3);
	assert_int_equal(c.wire, 0);
	/* A and AAAA announced together: the second to arrive is the pair */
	struct join_lookup d = { 0 };
	struct join_lookup *one[] = { &d };
	struct join_query q4 = query(NAME, A, 45000, 40), q6 = query(NAME, AAAA, 45000, 41);
	join_announce(&d, &q4);
	join_announce(&d, &q6);
	expect(one, 1, q6, JOIN_FIRST, 0);
	expect(one, 1, q4, JOIN_PAIR, 0);
}

/* A search expansion and then the name itself, on one socket (glibc). */
static void search_then_name(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 };
	struct join_lookup *live[] = { &a, &b };
	expect(live, 1, query(SEARCH, A, 46001, 1), JOIN_SEARCH, 0);
	expect(live, 2, query(SEARCH, A, 46002, 2), JOIN_SEARCH, 1);
	/* same socket, not yet asked: a's (port evidence), and its first of the name */
	expect(live, 2, query(NAME, A, 46001, 3), JOIN_FIRST, 0);
	expect(live, 2, query(NAME, AAAA, 46001, 4), JOIN_PAIR, 0);
	expect(live, 2, query(NAME, A, 46002, 5), JOIN_FIRST, 1);
}

/* libunbound and dig: a retry is a new port and a new id; alone, it is a retry. */
static void new_port_new_id_retry(void **state)
{
	(void)state;
	struct join_lookup a = { 0 }, b = { 0 };
	struct join_lookup *one[] = { &a };
	expect(one, 1, query(NAME, A, 47001, 1), JOIN_FIRST, 0);
	expect(one, 1, query(NAME, A, 47002, 2), JOIN_RETRY, 0);
	/* two that both sent it: whose is a new retry? Nobody can say. */
	struct join_lookup *two[] = { &a, &b };
	expect(two, 2, query(NAME, A, 47003, 3), JOIN_FIRST, 1);
	expect(two, 2, query(NAME, A, 47004, 4), JOIN_AMBIGUOUS, 0);
	assert_int_equal(a.wire, 2);
	assert_int_equal(b.wire, 1);
}

/* TCP through a VIP: no id. The connection's port is the key. */
static void unknown_id_matches_port(void **state)
{
	(void)state;
	struct join_lookup a = { 0 };
	struct join_lookup *live[] = { &a };
	expect(live, 1, query(NAME, A, 48001, -1), JOIN_FIRST, 0);
	expect(live, 1, query(NAME, A, 48001, -1), JOIN_RETRY, 0);
	expect(live, 1, query(NAME, A, 48001, 77), JOIN_RETRY, 0);
	assert_int_equal(a.wire, 3);
}

/* Past JOIN_KEYS_MAX keys, queries are still joined and counted. */
static void keys_full_still_counted(void **state)
{
	(void)state;
	struct join_lookup a = { 0 };
	struct join_lookup *live[] = { &a };
	for (int i = 0; i < JOIN_KEYS_MAX + 5; i++)
		expect(live, 1, query(NAME, A, (uint16_t)(50000 + i), i), i ? JOIN_RETRY : JOIN_FIRST,
		       0);
	assert_int_equal(a.nkeys, JOIN_KEYS_MAX);
	assert_int_equal(a.wire, JOIN_KEYS_MAX + 5);
}

static struct addr ip(const char *text)
{
	struct addr a;
	char err[128];
	memset(&a, 0, sizeof a);
	if (text && addr_parse(text, 0, &a, err, sizeof err) != 0)
		fail_msg("%s: %s", text, err);
	return a;
}

/*
 * Whose packet, by its source address: a bound source is the client's own;
 * towards a target on another host, the address the host sends from there
 * (every client without a bound source shares it: the other rules and the
 * run's ambiguity decide between them), and nothing else, not 127.0.0.1 nor
 * another host's address; else 127.0.0.1 over IPv4.
 */
static void source_rules(void **state)
{
	(void)state;
	struct addr none = ip(NULL), bound = ip("127.0.100.3"), route = ip("10.253.0.1");
	struct addr lo = ip("127.0.0.1:40000"), mine = ip("127.0.100.3:40000"),
	            host = ip("10.253.0.1:40001"), other = ip("10.253.0.9:40001"),
	            v6 = ip("[::1]:40000");
	assert_true(join_source_ok(&bound, &none, &mine));
	assert_false(join_source_ok(&bound, &none, &lo));
	assert_false(join_source_ok(&bound, &route, &host)); /* bound wins */
	assert_true(join_source_ok(&none, &route, &host));
	assert_false(join_source_ok(&none, &route, &lo));
	assert_false(join_source_ok(&none, &route, &other));
	assert_true(join_source_ok(&none, &none, &lo));
	assert_false(join_source_ok(&none, &none, &host));
	assert_false(join_source_ok(&none, &none, &mine));
	assert_true(join_source_ok(&none, &none, &v6));
	struct addr bound_far = ip("10.253.0.1"); /* an address of the host given as source */
	assert_true(join_source_ok(&bound_far, &route, &host));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_alive_is_not_joined),
		cmocka_unit_test(peek_records_nothing),
		cmocka_unit_test(glibc_reopen_same_id_new_port),
		cmocka_unit_test(capacity_queue_joined_on_arrival),
		cmocka_unit_test(same_id_different_ports),
		cmocka_unit_test(ambiguous_until_one_remains),
		cmocka_unit_test(cares_shared_socket),
		cmocka_unit_test(cares_shared_socket_id_collision),
		cmocka_unit_test(announced_keys),
		cmocka_unit_test(search_then_name),
		cmocka_unit_test(new_port_new_id_retry),
		cmocka_unit_test(unknown_id_matches_port),
		cmocka_unit_test(keys_full_still_counted),
		cmocka_unit_test(source_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
