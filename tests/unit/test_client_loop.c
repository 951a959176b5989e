/*
 * test_client_loop.c - the drivers that run on the loop (c-ares, libunbound)
 * against a fakeresolver server on a loopback port, with clienttest's
 * stand-in for the client core, which also checks the contract: client_done
 * never from inside start(), and only from close() once close has begun.
 *
 * What is asserted is what the real libraries do here (c-ares 1.18.1,
 * libunbound 1.17.1), seen from the server: the queries that arrive, their
 * source address and port, ids, EDNS, and how long a dead target costs.
 * Timing bounds are generous above (a loaded 2-core machine, valgrind) and
 * tight below less libevent's coarse clock.
 *
 * DNSCHAOS_SLOW_TESTS=1 adds libunbound against a dead forwarder (about 30 s:
 * 17 s for the first lookup, 12 s for the next). DNSCHAOS_BENCH=1 adds
 * open-loop throughput runs with the server on another thread (printed,
 * not asserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h> /* ares.h uses fd_set without including it */

#include <ares.h>
#include <cmocka.h>
#include <event2/event.h>

#include "fakeresolver/clock.h"
#include "fakeresolver/faults.h"
#include "fakeresolver/rng.h"
#include "fakeresolver/server.h"
#include "harness/clients/client.h"
#include "tests/unit/clienttest.h"
#include "tests/unit/dnstest.h"

/* How early a timer may fire by libevent's coarse clock. */
#define EARLY 0.02

/* ---- the fixture: a server on 127.0.0.1, on the driver's own loop ---- */

struct fx {
	struct ct_farm *farm; /* never started: its loop is the client's, run by the test */
	struct client c;
	const struct client_driver *drv;
	void *state;
	bool open;
};

static struct fx *fx_new(const struct client_driver *drv)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->farm = ct_farm_new(dt_zones("example.zone", NULL));
	ct_farm_listen(f->farm, "127.0.0.1:0", true);
	f->drv = drv;
	ct_client_init(&f->c, drv->stack, ct_farm_addr(f->farm));
	f->c.base = f->farm->base;
	return f;
}

static void fx_open(struct fx *f)
{
	char err[256] = "";
	if (f->drv->open(&f->c, &f->state, err, sizeof err) != 0)
		fail_msg("open: %s", err);
	f->open = true;
}

static void fx_close(struct fx *f)
{
	if (!f->open)
		return;
	atomic_store(&f->c.stopping, true);
	f->drv->close(&f->c, f->state);
	f->open = false;
	atomic_store(&f->c.stopping, false);
}

static void fx_free(struct fx *f)
{
	fx_close(f);
	ct_client_clear(&f->c);
	ct_farm_free(f->farm);
	free(f);
}

/* Makes the server answer every query with a fault of this kind (rcode for FAULT_RCODE). */
static void fx_fault(struct fx *f, enum fault_kind kind, uint16_t rcode)
{
	ct_farm_fault(f->farm, ct_fault(kind, NULL, 0, rcode));
}

/* Starts one lookup as the core does: client_done must not come from inside. */
static int fx_start(struct fx *f, struct lookup *lk)
{
	f->c.in_start = true;
	int rc = f->drv->start(&f->c, f->state, lk);
	f->c.in_start = false;
	return rc;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/*
 * Starts n lookups and runs the loop until all are done or limit_s passed.
 * Returns the seconds it took; the lookups started with -1 count as done.
 */
static double fx_run(struct fx *f, struct lookup *lks, size_t n, double limit_s)
{
	double t0 = clock_mono();
	unsigned immediate = 0;

	f->c.done = 0;
	for (size_t i = 0; i < n; i++)
		if (fx_start(f, &lks[i]) != 0)
			immediate++;
	f->c.want = (unsigned)n - immediate;
	if (f->c.want > 0) {
		struct timeval tv = clock_timeval(limit_s);
		struct event *deadline = evtimer_new(f->c.base, on_deadline, f->c.base);
		assert_non_null(deadline);
		evtimer_add(deadline, &tv);
		event_base_loop(f->c.base, 0);
		event_free(deadline);
	}
	assert_int_equal(f->c.done, f->c.want);
	return clock_mono() - t0;
}

/* One lookup; returns the seconds it took. */
static double fx_one(struct fx *f, struct lookup *lk, const char *name, enum client_family fam,
		     double limit_s)
{
	ct_lookup_init(lk, 1, name, fam, 0);
	return fx_run(f, lk, 1, limit_s);
}

/* A failed lookup: this outcome, this rcode, no address. */
static void assert_fail(const struct lookup *lk, enum lookup_result result,
			enum lookup_reason reason, const char *error, int rcode)
{
	ct_assert_outcome(lk, result, reason, error);
	assert_int_equal(lk->rcode, rcode);
	assert_int_equal(lk->naddrs, 0);
}

/* Queries the server saw for qname (NULL: any) and qtype (0: any). */
static unsigned seen_count(const struct fx *f, const char *qname, uint16_t qtype)
{
	unsigned n = 0;
	for (size_t i = 0; i < f->farm->nseen; i++)
		if ((!qname || strcmp(f->farm->seen[i].qname, qname) == 0) &&
		    (!qtype || f->farm->seen[i].qtype == qtype))
			n++;
	return n;
}

static bool slow_tests(void)
{
	const char *v = getenv("DNSCHAOS_SLOW_TESTS");
	return v && strcmp(v, "1") == 0;
}

/* ---- c-ares ---- */

static void test_cares_version(void **state)
{
	(void)state;
	const char *v = client_cares_driver.version();
	assert_non_null(v);
	assert_true(strncmp(v, "c-ares 1.", 9) == 0);
	assert_ptr_equal(v, client_cares_driver.version()); /* static storage */
	assert_int_equal(client_cares_driver.stack, CLIENT_CARES);
	assert_false(client_cares_driver.threaded);
	assert_null(client_cares_driver.resolve);
}

static void test_cares_a(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.reason, REASON_NONE);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "192.0.2.80");
	assert_int_equal(lk.rcode, 0);
	assert_string_equal(lk.error, "");
	/* one query, A only, no EDNS by default in 1.18 */
	assert_int_equal(f->farm->nseen, 1);
	assert_string_equal(f->farm->seen[0].qname, "www.example.");
	assert_int_equal(f->farm->seen[0].qtype, 1);
	assert_false(f->farm->seen[0].edns);
	fx_free(f);
}

static void test_cares_aaaa(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_AAAA, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "2001:db8::80");
	assert_int_equal(f->farm->nseen, 1);
	assert_int_equal(f->farm->seen[0].qtype, 28);
	fx_free(f);
}

static void test_cares_both(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 2);
	ct_assert_addr(&lk, "192.0.2.80");
	ct_assert_addr(&lk, "2001:db8::80");
	/* A and AAAA, in parallel from one socket */
	assert_int_equal(f->farm->nseen, 2);
	assert_int_equal(seen_count(f, "www.example.", 1), 1);
	assert_int_equal(seen_count(f, "www.example.", 28), 1);
	assert_int_equal(f->farm->seen[0].peer_port, f->farm->seen[1].peer_port);
	fx_free(f);
}

static void test_cares_nxdomain(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "nope.example", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "ARES_ENOTFOUND", 3);
	assert_int_equal(f->farm->nseen, 1);
	/* both families: the two answers are NXDOMAIN, still one status */
	f->farm->nseen = 0;
	fx_one(f, &lk, "nope.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "ARES_ENOTFOUND", 3);
	assert_int_equal(f->farm->nseen, 2);
	fx_free(f);
}

static void test_cares_nodata(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "mail.example", CLIENT_FAMILY_AAAA, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NODATA, "ARES_ENODATA", 0);
	/* A exists, AAAA does not: ok with the A */
	fx_one(f, &lk, "mail.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "192.0.2.25");
	/* the apex has neither */
	fx_one(f, &lk, "example", CLIENT_FAMILY_BOTH, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NODATA, "ARES_ENODATA", 0);
	fx_free(f);
}

/* The defaults the driver leaves to c-ares, and its search list override, as c-ares sees them. */
static void test_cares_library_defaults(void **state)
{
	(void)state;
	ares_channel ch;
	struct ares_options o;
	int mask = 0;
	char lookups[] = "b";

	setenv("LOCALDOMAIN", "example", 1);
	assert_int_equal(ares_library_init(ARES_LIB_INIT_ALL), ARES_SUCCESS);
	memset(&o, 0, sizeof o);
	o.lookups = lookups;
	o.ndomains = 0;
	assert_int_equal(ares_init_options(&ch, &o, ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS),
			 ARES_SUCCESS);
	assert_int_equal(ares_save_options(ch, &o, &mask), ARES_SUCCESS);
	assert_true(mask & ARES_OPT_TIMEOUTMS);
	assert_int_equal(o.timeout, 5000);
	assert_int_equal(o.tries, 4);
	assert_int_equal(o.ndots, 1);
	assert_int_equal(o.flags & ARES_FLAG_EDNS, 0);
	assert_int_equal(o.ndomains, 0); /* LOCALDOMAIN ignored */
	assert_string_equal(o.lookups, "b");
	ares_destroy_options(&o);
	ares_destroy(ch);
	/* without ARES_OPT_DOMAINS the environment's search list would be used */
	memset(&o, 0, sizeof o);
	o.lookups = lookups;
	assert_int_equal(ares_init_options(&ch, &o, ARES_OPT_LOOKUPS), ARES_SUCCESS);
	assert_int_equal(ares_save_options(ch, &o, &mask), ARES_SUCCESS);
	assert_int_equal(o.ndomains, 1);
	assert_string_equal(o.domains[0], "example");
	ares_destroy_options(&o);
	ares_destroy(ch);
	ares_library_cleanup();
	unsetenv("LOCALDOMAIN");
}

/*
 * REFUSED and SERVFAIL answers: c-ares 1.18 takes them as a failed server and
 * tries again (tries times in all), and when no try is left it reports its
 * initial status, ARES_ECONNREFUSED, not the rcode: indistinguishable from
 * an ICMP port unreachable without the wire log.
 */
static void test_cares_refused_servfail(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	f->c.cfg.attempts = 3;
	fx_open(f);
	double took = fx_one(f, &lk, "www.nowhere", CLIENT_FAMILY_A, 5.0); /* outside every zone */
	assert_fail(&lk, LOOKUP_FAIL, REASON_UNREACHABLE, "ARES_ECONNREFUSED", -1);
	assert_int_equal(seen_count(f, "www.nowhere.", 1), 3);
	assert_true(took < 1.0); /* no timeout waited */
	fx_fault(f, FAULT_RCODE, 2);
	f->farm->nseen = 0;
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_UNREACHABLE, "ARES_ECONNREFUSED", -1);
	assert_int_equal(seen_count(f, "www.example.", 1), 3);
	/* the same socket and id each time (unlike after ICMP port unreachable) */
	for (unsigned i = 1; i < 3; i++) {
		assert_int_equal(f->farm->seen[i].peer_port, f->farm->seen[0].peer_port);
		assert_int_equal(f->farm->seen[i].id, f->farm->seen[0].id);
	}
	fx_free(f);
}

/* A truncated UDP answer: c-ares asks again over TCP (the socket is watched for writing). */
static void test_cares_truncated_goes_tcp(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	fx_fault(f, FAULT_TRUNCATE, 0);
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 2);
	unsigned tcp = 0;
	for (unsigned i = 0; i < f->farm->nseen; i++)
		tcp += f->farm->seen[i].transport == ANSWER_TCP;
	assert_int_equal(f->farm->nseen, 4);
	assert_int_equal(tcp, 2);
	fx_free(f);
}

/* The search list is the config's, never the system's (LOCALDOMAIN, resolv.conf). */
static void test_cares_search_list(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;

	setenv("LOCALDOMAIN", "example", 1);
	fx_open(f);
	fx_one(f, &lk, "www", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_FAIL);
	assert_int_equal(seen_count(f, "www.example.", 0), 0);
	assert_true(seen_count(f, "www.", 1) >= 1);
	fx_close(f);

	/* with a search list, and ndots 2: "www.example" is tried below it first */
	f->farm->nseen = 0;
	ct_add_search(&f->c, "example");
	f->c.cfg.ndots = 2;
	fx_open(f);
	fx_one(f, &lk, "www", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	ct_assert_addr(&lk, "192.0.2.80");
	f->farm->nseen = 0;
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(f->farm->nseen, 2);
	assert_string_equal(f->farm->seen[0].qname, "www.example.example.");
	assert_string_equal(f->farm->seen[1].qname, "www.example.");
	unsetenv("LOCALDOMAIN");
	fx_free(f);
}

static void test_cares_edns_and_source(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	f->c.cfg.edns0 = 1;
	ct_set_source(&f->c, "127.0.0.2");
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(f->farm->nseen, 1);
	assert_true(f->farm->seen[0].edns);
	assert_int_equal(f->farm->seen[0].udp_size, 1232);
	assert_string_equal(f->farm->seen[0].peer_ip, "127.0.0.2");
	fx_free(f);
}

/*
 * A target that never answers: timeout 0.3 s and 2 tries end in ARES_ETIMEOUT
 * after 0.3 + 0.6 s (the timeout doubles on each pass over the one server),
 * and the retry goes out from the same socket with the same id.
 */
static void test_cares_dead_target(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct ct_datagram d[8];
	struct lookup lk;
	int fd = ct_silent_socket("127.0.0.1", &f->c.cfg.target);
	f->c.cfg.timeout_s = 0.3;
	f->c.cfg.attempts = 2;
	fx_open(f);
	double took = fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, "ARES_ETIMEOUT", -1);
	print_message("c-ares dead target: ARES_ETIMEOUT after %.3f s\n", took);
	assert_true(took >= 0.9 - EARLY);
	assert_true(took < 2.5);
	size_t n = ct_silent_read(fd, d, 8);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].port, d[1].port);
	assert_int_equal(d[0].id, d[1].id);
	close(fd);
	fx_free(f);
}

/*
 * The driver tells the core every UDP query c-ares sends (client_sent): the
 * first inside ares_getaddrinfo, named by its lookup; the retry, with the
 * same id, for the owner of that id. Port and id are what the wire saw.
 */
static void test_cares_tells_what_it_sent(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct ct_datagram d[8];
	struct lookup lk;
	int fd = ct_silent_socket("127.0.0.1", &f->c.cfg.target);
	f->c.cfg.timeout_s = 0.2;
	f->c.cfg.attempts = 2;
	fx_open(f);
	ct_lookup_init(&lk, 7, "www.example", CLIENT_FAMILY_A, 0);
	fx_run(f, &lk, 1, 5.0);
	size_t n = ct_silent_read(fd, d, 8);
	assert_int_equal(n, 2);
	assert_int_equal(f->c.nsent, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f->c.sent[i].port, d[i].port);
		assert_int_equal(f->c.sent[i].id, d[i].id);
		assert_int_equal(f->c.sent[i].qtype, d[i].qtype);
	}
	assert_int_equal(f->c.sent[0].lookup, 7); /* inside ares_getaddrinfo */
	assert_int_equal(f->c.sent[1].lookup, 0); /* a retry: its id names its lookup */
	close(fd);
	fx_free(f);
}

/* A closed port: ICMP port unreachable, c-ares retries at once from a new socket. */
static void test_cares_closed_port(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	ct_closed_port("127.0.0.1", &f->c.cfg.target);
	f->c.cfg.timeout_s = 1.0;
	f->c.cfg.attempts = 3;
	fx_open(f);
	double took = fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 10.0);
	print_message("c-ares closed port: %s after %.3f s\n", lk.error, took);
	assert_fail(&lk, LOOKUP_FAIL, REASON_UNREACHABLE, "ARES_ECONNREFUSED", -1);
	assert_true(took < 0.9); /* well before one timeout */
	fx_free(f);
}

/*
 * Numeric names and "localhost" finish inside ares_getaddrinfo: done comes
 * later. c-ares 1.18 never sends "localhost" to DNS (RFC 6761) and, with
 * lookups "b" (no hosts file), ends it with its initial ARES_ECONNREFUSED.
 */
static void test_cares_sync_completion_deferred(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lks[3];
	fx_open(f);
	ct_lookup_init(&lks[0], 1, "192.0.2.7", CLIENT_FAMILY_A, 0);
	ct_lookup_init(&lks[1], 2, "2001:db8::7", CLIENT_FAMILY_AAAA, 0);
	ct_lookup_init(&lks[2], 3, "localhost", CLIENT_FAMILY_A, 0);
	fx_run(f, lks, 3, 5.0);
	assert_false(f->c.done_in_start);
	assert_int_equal(lks[0].result, LOOKUP_OK);
	ct_assert_addr(&lks[0], "192.0.2.7");
	assert_int_equal(lks[1].result, LOOKUP_OK);
	ct_assert_addr(&lks[1], "2001:db8::7");
	assert_fail(&lks[2], LOOKUP_FAIL, REASON_UNREACHABLE, "ARES_ECONNREFUSED", -1);
	assert_int_equal(f->farm->nseen, 0); /* none of them reached the wire */
	fx_free(f);
}

/*
 * More lookups in flight than one chunk of records, and a mix of outcomes.
 * 200, not more: the server (on this same loop) answers them all in one go,
 * and a few hundred replies overflow c-ares's socket receive buffer, which
 * shows as retransmits after the timeout (a real effect at high rates).
 */
static void test_cares_many_in_flight(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	static struct lookup lks[200];
	f->c.cfg.timeout_s = 0.5;
	fx_open(f);
	for (size_t i = 0; i < 200; i++)
		ct_lookup_init(&lks[i], i + 1, i % 3 == 2 ? "nope.example" : "www.example",
			       CLIENT_FAMILY_A, 0);
	fx_run(f, lks, 200, 10.0);
	for (size_t i = 0; i < 200; i++) {
		if (i % 3 == 2) {
			assert_int_equal(lks[i].reason, REASON_NXDOMAIN);
		} else {
			assert_int_equal(lks[i].result, LOOKUP_OK);
			ct_assert_addr(&lks[i], "192.0.2.80");
		}
	}
	assert_true(f->farm->nseen >= 200);
	fx_free(f);
}

/* close() with lookups in flight: ARES_EDESTRUCTION, reported inside close only. */
static void test_cares_close_in_flight(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lks[3];
	int fd = ct_silent_socket("127.0.0.1", &f->c.cfg.target);
	fx_open(f);
	for (size_t i = 0; i < 3; i++)
		ct_lookup_init(&lks[i], i + 1, "www.example", CLIENT_FAMILY_BOTH, 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(fx_start(f, &lks[i]), 0);
	struct timeval tv = clock_timeval(0.05);
	event_base_loopexit(f->c.base, &tv);
	event_base_loop(f->c.base, 0);
	assert_int_equal(f->c.done, 0);
	fx_close(f);
	assert_int_equal(f->c.done_in_close, 3);
	close(fd);
	fx_free(f);
}

/* ---- libunbound ---- */

static void test_unbound_version(void **state)
{
	(void)state;
	const char *v = client_unbound_driver.version();
	assert_true(strncmp(v, "libunbound 1.", 13) == 0);
	assert_int_equal(client_unbound_driver.stack, CLIENT_UNBOUND);
	assert_false(client_unbound_driver.threaded);
}

static void test_unbound_a(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "192.0.2.80");
	assert_int_equal(lk.rcode, 0);
	/* forwarding: the full name, no qname minimisation, nothing else asked */
	assert_true(f->farm->nseen >= 1);
	assert_int_equal(seen_count(f, "www.example.", 1), f->farm->nseen);
	/* libunbound's own EDNS */
	assert_true(f->farm->seen[0].edns);
	assert_int_equal(f->farm->seen[0].udp_size, 1232);
	fx_free(f);
}

/* Its default local zones are answered without a query. */
static void test_unbound_local_zones(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "localhost", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	ct_assert_addr(&lk, "127.0.0.1");
	fx_one(f, &lk, "foo.invalid", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "NXDOMAIN", 3);
	assert_int_equal(f->farm->nseen, 0);
	fx_free(f);
}

static void test_unbound_both(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 2);
	ct_assert_addr(&lk, "192.0.2.80");
	ct_assert_addr(&lk, "2001:db8::80");
	assert_int_equal(seen_count(f, "www.example.", 1), 1);
	assert_int_equal(seen_count(f, "www.example.", 28), 1);
	/* one family missing: ok with the other */
	fx_one(f, &lk, "mail.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "192.0.2.25");
	fx_free(f);
}

static void test_unbound_nxdomain_nodata(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	fx_open(f);
	fx_one(f, &lk, "nope.example", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "NXDOMAIN", 3);
	fx_one(f, &lk, "mail.example", CLIENT_FAMILY_AAAA, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NODATA, "NODATA", 0);
	fx_one(f, &lk, "nope2.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "NXDOMAIN", 3);
	fx_free(f);
}

/* The cache on (default): the second lookup never reaches the server. */
static void test_unbound_cache_on(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	fx_open(f);
	for (int i = 0; i < 3; i++) {
		fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
		assert_int_equal(lk.result, LOOKUP_OK);
		fx_one(f, &lk, "nope.example", CLIENT_FAMILY_A, 5.0);
		assert_int_equal(lk.reason, REASON_NXDOMAIN);
	}
	assert_int_equal(seen_count(f, "www.example.", 1), 1);
	assert_int_equal(seen_count(f, "nope.example.", 1), 1);
	fx_free(f);
}

/* The cache off: every lookup is a query, answers and NXDOMAIN alike. */
static void test_unbound_cache_off(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	f->c.cfg.cache = 0;
	fx_open(f);
	for (int i = 0; i < 3; i++) {
		fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
		assert_int_equal(lk.result, LOOKUP_OK);
		fx_one(f, &lk, "nope.example", CLIENT_FAMILY_A, 5.0);
		assert_int_equal(lk.reason, REASON_NXDOMAIN);
	}
	assert_int_equal(seen_count(f, "www.example.", 1), 3);
	assert_int_equal(seen_count(f, "nope.example.", 1), 3);
	/* an answer built from a CNAME chain still comes through */
	fx_one(f, &lk, "c1.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	ct_assert_addr(&lk, "192.0.2.3");
	fx_free(f);
}

static void test_unbound_source(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	ct_set_source(&f->c, "127.0.0.2");
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_true(f->farm->nseen >= 1);
	for (unsigned i = 0; i < f->farm->nseen; i++)
		assert_string_equal(f->farm->seen[i].peer_ip, "127.0.0.2");
	fx_free(f);
}

/* close() with lookups in flight: libunbound drops them without a callback. */
static void test_unbound_close_in_flight(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lks[2];
	int fd = ct_silent_socket("127.0.0.1", &f->c.cfg.target);
	fx_open(f);
	for (size_t i = 0; i < 2; i++) {
		ct_lookup_init(&lks[i], i + 1, "www.example", CLIENT_FAMILY_BOTH, 0);
		assert_int_equal(fx_start(f, &lks[i]), 0);
	}
	struct timeval tv = clock_timeval(0.2);
	event_base_loopexit(f->c.base, &tv);
	event_base_loop(f->c.base, 0);
	struct ct_datagram d[16];
	assert_true(ct_silent_read(fd, d, 16) >= 1); /* they were on the wire */
	double t0 = clock_mono();
	fx_close(f);
	print_message("libunbound close with lookups in flight: %.3f s\n", clock_mono() - t0);
	assert_int_equal(f->c.done, 0);
	assert_int_equal(f->c.done_in_close, 0);
	close(fd);
	fx_free(f);
}

/* A lone dead forwarder: SERVFAIL (err 0, rcode 2) after libunbound's own retries. */
static void test_unbound_dead_forwarder(void **state)
{
	(void)state;
	if (!slow_tests()) {
		print_message("skipped: set DNSCHAOS_SLOW_TESTS=1 (takes about 30 s)\n");
		return;
	}
	struct fx *f = fx_new(&client_unbound_driver);
	struct ct_datagram d[64];
	struct lookup lk;
	int fd = ct_silent_socket("127.0.0.1", &f->c.cfg.target);
	fx_open(f);
	double took = fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 60.0);
	size_t n = ct_silent_read(fd, d, 64);
	unsigned ports = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || d[j].port == d[i].port;
		ports += !dup;
	}
	print_message("libunbound dead forwarder: %s/%s after %.3f s, %zu queries from %u ports\n",
		      lk.error, lookup_reason_name(lk.reason), took, n, ports);
	assert_fail(&lk, LOOKUP_FAIL, REASON_SERVFAIL, "SERVFAIL", 2);
	assert_true(took > 5.0);
	assert_true(n >= 2);
	assert_int_equal(ports, n); /* a new port for every retransmit */
	/*
	 * Another name at once: the infrastructure cache remembers the backed-off
	 * timeout (measured here: one query, SERVFAIL after about 12 s).
	 */
	double took2 = fx_one(f, &lk, "mail.example", CLIENT_FAMILY_A, 60.0);
	size_t n2 = ct_silent_read(fd, d, 64);
	print_message("libunbound dead forwarder, next name: %s after %.3f s, %zu queries\n",
		      lk.error, took2, n2);
	assert_int_equal(lk.reason, REASON_SERVFAIL);
	assert_true(n2 >= 1 && n2 < n);
	close(fd);
	fx_free(f);
}

/* ---- throughput (DNSCHAOS_BENCH=1): open loop, the server on its own thread ---- */

/* A server on another thread; hang: the share of queries it never answers. */
static struct ct_farm *bench_server(double hang)
{
	struct ct_farm *srv = ct_farm_new(dt_zones("example.zone", NULL));
	ct_farm_listen(srv, "127.0.0.1:0", true);
	if (hang > 0) {
		struct fault_spec spec = ct_fault(FAULT_HANG, NULL, 0, 0);
		spec.match.fraction = hang;
		ct_farm_fault(srv, spec);
		rng_seed(&srv->rng, 7);
	}
	ct_farm_start(srv);
	return srv;
}

#define BENCH_SLOTS 65536

/* Open-loop arrivals: every millisecond, the lookups due by then start. */
struct bench {
	struct fx *f;
	struct lookup *lks;
	uint32_t *free_slots;
	size_t nfree;
	double rate, t0, until;
	uint64_t started, overload, ok, timeouts;
	size_t max_pending;
	struct event *tick;
};

static void bench_return(void *arg, struct lookup *lk)
{
	struct bench *b = arg;
	b->ok += lk->result == LOOKUP_OK;
	b->timeouts += lk->result == LOOKUP_TIMEOUT;
	b->free_slots[b->nfree++] = (uint32_t)(lk - b->lks);
}

static void bench_arrivals(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	(void)fd;
	(void)what;
	double now = clock_mono();
	if (now >= b->until) {
		event_del(b->tick);
		return;
	}
	uint64_t due = (uint64_t)((now - b->t0) * b->rate);
	while (b->started < due) {
		b->started++;
		if (!b->nfree) {
			b->overload++;
			continue;
		}
		uint32_t slot = b->free_slots[--b->nfree];
		struct lookup *lk = &b->lks[slot];
		ct_lookup_init(lk, b->started, "www.example", CLIENT_FAMILY_A, 0);
		if (fx_start(b->f, lk) != 0)
			b->free_slots[b->nfree++] = slot;
		size_t pending = BENCH_SLOTS - b->nfree;
		if (pending > b->max_pending)
			b->max_pending = pending;
	}
}

static void bench_open_loop(const struct client_driver *drv, double rate, double seconds,
			    double hang, double timeout_s, int attempts)
{
	struct ct_farm *srv = bench_server(hang);
	struct bench b;
	struct timespec c0, c1;

	memset(&b, 0, sizeof b);
	b.f = fx_new(drv);
	b.f->c.cfg.target = *ct_farm_addr(srv);
	b.f->c.cfg.cache = 0;
	b.f->c.cfg.timeout_s = timeout_s;
	b.f->c.cfg.attempts = attempts;
	b.lks = calloc(BENCH_SLOTS, sizeof *b.lks);
	b.free_slots = calloc(BENCH_SLOTS, sizeof *b.free_slots);
	assert_non_null(b.lks);
	assert_non_null(b.free_slots);
	for (uint32_t i = 0; i < BENCH_SLOTS; i++)
		b.free_slots[b.nfree++] = BENCH_SLOTS - 1 - i;
	fx_open(b.f);
	b.f->c.on_done = bench_return;
	b.f->c.on_done_arg = &b;
	b.rate = rate;
	b.t0 = clock_mono();
	b.until = b.t0 + seconds;
	struct event_base *base = b.f->c.base;
	b.tick = event_new(base, -1, EV_PERSIST, bench_arrivals, &b);
	struct timeval ms = clock_timeval(0.001);
	event_add(b.tick, &ms);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	/* arrivals, then until every lookup is done (bounded by the stack's timeouts) */
	struct timeval limit = clock_timeval(seconds + 30.0);
	event_base_loopexit(base, &limit);
	while (b.nfree < BENCH_SLOTS || evtimer_pending(b.tick, NULL)) {
		if (event_base_loop(base, EVLOOP_ONCE) != 0 || event_base_got_exit(base))
			break;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	double wall = clock_mono() - b.t0;
	double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	print_message("%s: %.0f/s for %.0f s, %.0f%% hung, timeout %.2f s x %d: started %llu, "
		      "%llu ok, %llu timeouts, overload %llu, max pending %zu; %.1f s wall, "
		      "loop thread %.2f s CPU = %.1f us per lookup\n",
		      drv->version(), rate, seconds, hang * 100, timeout_s, attempts,
		      (unsigned long long)b.started, (unsigned long long)b.ok,
		      (unsigned long long)b.timeouts, (unsigned long long)b.overload,
		      b.max_pending, wall, cpu, cpu / (double)b.started * 1e6);
	event_free(b.tick);
	fx_free(b.f);
	free(b.lks);
	free(b.free_slots);
	ct_farm_free(srv);
}

static void test_bench(void **state)
{
	(void)state;
	const char *v = getenv("DNSCHAOS_BENCH");
	if (!v || strcmp(v, "1") != 0) {
		print_message("skipped: set DNSCHAOS_BENCH=1\n");
		return;
	}
	bench_open_loop(&client_cares_driver, 20000, 3.0, 0.0, 1.0, 2);
	bench_open_loop(&client_cares_driver, 40000, 3.0, 0.0, 1.0, 2);
	bench_open_loop(&client_cares_driver, 20000, 3.0, 0.5, 0.5, 2);
	bench_open_loop(&client_unbound_driver, 20000, 3.0, 0.0, -1, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cares_version),
		cmocka_unit_test(test_cares_a),
		cmocka_unit_test(test_cares_aaaa),
		cmocka_unit_test(test_cares_both),
		cmocka_unit_test(test_cares_nxdomain),
		cmocka_unit_test(test_cares_nodata),
		cmocka_unit_test(test_cares_library_defaults),
		cmocka_unit_test(test_cares_refused_servfail),
		cmocka_unit_test(test_cares_truncated_goes_tcp),
		cmocka_unit_test(test_cares_search_list),
		cmocka_unit_test(test_cares_edns_and_source),
		cmocka_unit_test(test_cares_dead_target),
		cmocka_unit_test(test_cares_tells_what_it_sent),
		cmocka_unit_test(test_cares_closed_port),
		cmocka_unit_test(test_cares_sync_completion_deferred),
		cmocka_unit_test(test_cares_many_in_flight),
		cmocka_unit_test(test_cares_close_in_flight),
		cmocka_unit_test(test_unbound_version),
		cmocka_unit_test(test_unbound_a),
		cmocka_unit_test(test_unbound_local_zones),
		cmocka_unit_test(test_unbound_both),
		cmocka_unit_test(test_unbound_nxdomain_nodata),
		cmocka_unit_test(test_unbound_cache_on),
		cmocka_unit_test(test_unbound_cache_off),
		cmocka_unit_test(test_unbound_source),
		cmocka_unit_test(test_unbound_close_in_flight),
		cmocka_unit_test(test_unbound_dead_forwarder),
		cmocka_unit_test(test_bench),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
