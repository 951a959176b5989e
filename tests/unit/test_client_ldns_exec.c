/*
 * test_client_ldns_exec.c - the ldns and exec client drivers against a
 * fakeresolver server on loopback (its event loop on a thread of its own),
 * with clienttest's stand-in for the client core.
 *
 * What ldns 1.8.3 really does is asserted, not assumed: a new source port on
 * every try, the per-try wait set by ldns_resolver_set_timeout, and the
 * target blacklisted for the life of the resolver after one failed lookup.
 * The exec tests run the real dig (/usr/bin/dig) and getent.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "fakeresolver/clock.h"
#include "fakeresolver/faults.h"
#include "fakeresolver/server.h"
#include "harness/clients/client.h"
#include "harness/spawn.h"
#include "tests/unit/clienttest.h"
#include "tests/unit/dnstest.h"

#define SEEN_MAX 64

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the fake resolver, served from its own thread ---- */

/*
 * One server for every test, example.zone on 127.0.0.1, with faults set up
 * before its loop starts: broken.example SERVFAIL, mail.example A truncated.
 */
static int farm_setup(void **state)
{
	struct ct_farm *f = ct_farm_new(dt_zones("example.zone", NULL));
	ct_farm_listen(f, "127.0.0.1:0", true);
	ct_farm_fault(f, ct_fault(FAULT_RCODE, "broken.example", 0, 2));
	ct_farm_fault(f, ct_fault(FAULT_TRUNCATE, "mail.example", 1, 0));
	ct_farm_start(f);
	*state = f;
	return 0;
}

static int farm_teardown(void **state)
{
	ct_farm_free(*state);
	return 0;
}

/* Forgets what the server saw before this test. */
static int test_setup(void **state)
{
	ct_farm_take(*state, NULL, 0);
	return 0;
}

/* ---- clients and lookups ---- */

static struct client *farm_client(void **state, enum client_stack stack)
{
	return ct_client_new(stack, ct_farm_addr(*state));
}

/* Sets the exec command; the list ends with NULL. */
static void set_argv(struct client *c, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
		assert_true(c->cfg.argc < CLIENT_ARGV_MAX - 1);
		c->cfg.argv[c->cfg.argc] = strdup(a);
		assert_non_null(c->cfg.argv[c->cfg.argc]);
		c->cfg.argc++;
	}
	c->cfg.argv[c->cfg.argc] = NULL;
	va_end(ap);
}

/* As the core hands a lookup over, with an outcome that fails any test until filled. */
static void lookup_init(struct lookup *lk, const char *name, uint16_t qtype)
{
	ct_lookup_init(lk, 1, name,
	               qtype == LDNS_RR_TYPE_AAAA ? CLIENT_FAMILY_AAAA : CLIENT_FAMILY_A, qtype);
}

/* thread_open, one resolve, thread_close, on the calling thread. Returns the seconds taken. */
static double resolve_once(const struct client_driver *d, struct client *c, const char *name,
                           uint16_t qtype, struct lookup *lk)
{
	char err[256] = "";
	void *t = d->thread_open(c, err, sizeof err);
	if (!t)
		fail_msg("thread_open: %s", err);
	lookup_init(lk, name, qtype);
	double t0 = clock_mono();
	d->resolve(c, t, lk);
	double dt = clock_mono() - t0;
	d->thread_close(t);
	return dt;
}

/* ---- ldns: bad parameters ---- */

static void test_ldns_version(void **state)
{
	(void)state;
	const char *v = client_ldns_driver.version();
	char want[64];
	snprintf(want, sizeof want, "ldns %s", ldns_version());
	assert_string_equal(v, want);
	assert_int_equal(client_ldns_driver.stack, CLIENT_LDNS);
	assert_true(client_ldns_driver.threaded);
}

static void test_ldns_open_refuses_bad_config(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	char err[256] = "";

	/* A source of another family than the target. */
	ct_set_source(c, "[::1]:0");
	assert_null(client_ldns_driver.thread_open(c, err, sizeof err));
	assert_non_null(strstr(err, "address families"));
	memset(&c->cfg.source, 0, sizeof c->cfg.source);

	/* A search domain ldns cannot read. */
	ct_add_search(c, "a..b");
	err[0] = '\0';
	assert_null(client_ldns_driver.thread_open(c, err, sizeof err));
	assert_non_null(strstr(err, "a..b"));
	client_ldns_driver.thread_close(NULL); /* a no-op */
	ct_client_free(c);
}

/* ---- ldns: answers ---- */

static void test_ldns_a_from_the_source(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct ct_seen seen[SEEN_MAX];
	struct lookup lk;
	char buf[64];

	ct_set_source(c, "127.0.0.2:0");
	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.rcode, 0);
	assert_int_equal(lk.records, 1);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "192.0.2.80");
	assert_string_equal(lk.error, "");

	/* One query, from the bound source, RD set, no EDNS by default. */
	size_t n = ct_farm_take(*state, seen, SEEN_MAX);
	assert_int_equal(n, 1);
	addr_set_port(&seen[0].peer, 0);
	assert_string_equal(addr_str(&seen[0].peer, buf, sizeof buf), "127.0.0.2:0");
	assert_string_equal(seen[0].qname, "www.example.");
	assert_true(seen[0].flags & WIRE_FLAG_RD);
	assert_false(seen[0].edns);
	ct_client_free(c);
}

static void test_ldns_aaaa_soa_and_cname(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct lookup lk;

	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_AAAA, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "2001:db8::80");

	/* A record that is not an address still makes an answer. */
	resolve_once(&client_ldns_driver, c, "example", LDNS_RR_TYPE_SOA, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.records, 1);
	assert_int_equal(lk.naddrs, 0);

	/* ftp -> www: the CNAME is not counted, the A at the end is. */
	resolve_once(&client_ldns_driver, c, "ftp.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.records, 1);
	ct_assert_addr(&lk, "192.0.2.80");
	ct_client_free(c);
}

static void test_ldns_negative_answers(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct lookup lk;

	resolve_once(&client_ldns_driver, c, "nosuch.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, NULL);
	assert_int_equal(lk.rcode, 3);
	assert_string_equal(lk.error, "NXDOMAIN");

	resolve_once(&client_ldns_driver, c, "mail.example", LDNS_RR_TYPE_AAAA, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_NODATA, NULL);
	assert_int_equal(lk.rcode, 0);
	assert_int_equal(lk.records, 0);

	resolve_once(&client_ldns_driver, c, "broken.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_SERVFAIL, NULL);
	assert_int_equal(lk.rcode, 2);
	assert_string_equal(lk.error, "SERVFAIL");

	/* Outside every zone the fake resolver refuses. */
	resolve_once(&client_ldns_driver, c, "www.elsewhere.test", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_REFUSED, NULL);
	assert_int_equal(lk.rcode, 5);
	assert_string_equal(lk.error, "REFUSED");

	/* An error rcode is an answer: the target is not blacklisted for it. */
	char err[256];
	void *t = client_ldns_driver.thread_open(c, err, sizeof err);
	assert_non_null(t);
	lookup_init(&lk, "broken.example", LDNS_RR_TYPE_A);
	client_ldns_driver.resolve(c, t, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_SERVFAIL, NULL);
	lookup_init(&lk, "www.example", LDNS_RR_TYPE_A);
	client_ldns_driver.resolve(c, t, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	client_ldns_driver.thread_close(t);
	ct_client_free(c);
}

static void test_ldns_edns_option(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct ct_seen seen[SEEN_MAX];
	struct lookup lk;

	c->cfg.edns0 = 1;
	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(ct_farm_take(*state, seen, SEEN_MAX), 1);
	assert_true(seen[0].edns);
	assert_int_equal(seen[0].udp_size, 1232);
	ct_client_free(c);
}

/* TC over UDP: ldns asks again over UDP with EDNS 4096, then over TCP. */
static void test_ldns_truncation_falls_back_to_tcp(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct ct_seen seen[SEEN_MAX];
	struct lookup lk;

	resolve_once(&client_ldns_driver, c, "mail.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	ct_assert_addr(&lk, "192.0.2.25");
	size_t n = ct_farm_take(*state, seen, SEEN_MAX);
	assert_int_equal(n, 3);
	assert_int_equal(seen[0].transport, ANSWER_UDP);
	assert_false(seen[0].edns);
	assert_int_equal(seen[1].transport, ANSWER_UDP);
	assert_true(seen[1].edns);
	assert_int_equal(seen[1].udp_size, 4096);
	assert_int_equal(seen[2].transport, ANSWER_TCP);
	ct_client_free(c);
}

/*
 * The search list, as ldns's own loop runs it: each suffix in order, then the
 * name itself, stopping at the first NOERROR. When all fail, 1.8.3 keeps no
 * reply at all.
 */
static void test_ldns_search_list(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct ct_seen seen[SEEN_MAX];
	struct lookup lk;

	ct_add_search(c, "a.example");
	ct_add_search(c, "example");
	resolve_once(&client_ldns_driver, c, "www", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	ct_assert_addr(&lk, "192.0.2.80");
	size_t n = ct_farm_take(*state, seen, SEEN_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(seen[0].qname, "www.a.example.");
	assert_string_equal(seen[1].qname, "www.example.");

	resolve_once(&client_ldns_driver, c, "nosuch", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_ERROR, NULL);
	assert_int_equal(lk.rcode, -1);
	assert_string_equal(lk.error, "LDNS_STATUS_OK without a reply");
	n = ct_farm_take(*state, seen, SEEN_MAX);
	assert_int_equal(n, 3);
	assert_string_equal(seen[0].qname, "nosuch.a.example.");
	assert_string_equal(seen[1].qname, "nosuch.example.");
	assert_string_equal(seen[2].qname, "nosuch.");

	/* A name with a final dot is asked as it is. */
	resolve_once(&client_ldns_driver, c, "www.example.", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(ct_farm_take(*state, seen, SEEN_MAX), 1);
	ct_client_free(c);
}

/*
 * A silent nameserver: every try from a new port (same id), each waiting the
 * timeout; then the resolver has blacklisted it and fails at once without
 * sending, until a new resolver (a new worker thread) is made.
 */
static void test_ldns_silent_target_is_blacklisted(void **state)
{
	(void)state;
	struct addr target;
	int fd = ct_silent_socket("127.0.0.1", &target);
	struct client *c = ct_client_new(CLIENT_LDNS, &target);
	struct lookup lk;
	struct ct_datagram d[8];
	char err[256] = "";

	c->cfg.timeout_s = 0.3;
	c->cfg.attempts = 2;
	void *t = client_ldns_driver.thread_open(c, err, sizeof err);
	assert_non_null(t);

	lookup_init(&lk, "www.example", LDNS_RR_TYPE_A);
	double t0 = clock_mono();
	client_ldns_driver.resolve(c, t, &lk);
	double dt = clock_mono() - t0;
	ct_assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, NULL);
	assert_string_equal(lk.error, "LDNS_STATUS_NETWORK_ERR");
	assert_int_equal(lk.rcode, -1);
	assert_true(dt >= 0.55 && dt < 2.0); /* 2 tries x 0.3 s */
	assert_int_equal(ct_silent_read(fd, d, 8), 2);
	assert_int_not_equal(d[0].port, d[1].port);
	assert_int_equal(d[0].id, d[1].id);

	/* The same resolver object: fails at once, sends nothing. */
	lookup_init(&lk, "www.example", LDNS_RR_TYPE_A);
	t0 = clock_mono();
	client_ldns_driver.resolve(c, t, &lk);
	dt = clock_mono() - t0;
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_UNREACHABLE, NULL);
	assert_string_equal(lk.error, "LDNS_STATUS_RES_NO_NS");
	assert_true(dt < 0.1);
	sleep_s(0.05);
	assert_int_equal(ct_silent_read(fd, d, 8), 0);
	client_ldns_driver.thread_close(t);

	/* A new resolver asks again. */
	c->cfg.attempts = 1;
	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, NULL);
	assert_int_equal(ct_silent_read(fd, d, 8), 1);
	ct_client_free(c);
	close(fd);
}

/* ---- exec ---- */

static void test_exec_version_and_bad_config(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	char err[256] = "";

	assert_string_equal(client_exec_driver.version(), "exec");
	assert_true(client_exec_driver.threaded);
	assert_null(client_exec_driver.thread_open(c, err, sizeof err));
	assert_non_null(strstr(err, "no command"));
	ct_client_free(c);
}

static void test_exec_dig_short_gives_addresses(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct ct_seen seen[SEEN_MAX];
	struct lookup lk;

	set_argv(c, "dig", "+short", "+time=1", "+tries=1", "@{server}", "-p", "{port}", "{name}",
	         "{type}", NULL);
	resolve_once(&client_exec_driver, c, "ftp.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.exit_status, 0);
	assert_int_equal(lk.naddrs, 1);
	ct_assert_addr(&lk, "192.0.2.80");
	assert_string_equal(lk.output, "www.example.\n192.0.2.80");
	assert_int_equal(ct_farm_take(*state, seen, SEEN_MAX), 1);
	assert_string_equal(seen[0].qname, "ftp.example.");
	assert_int_equal(seen[0].qtype, LDNS_RR_TYPE_A);

	resolve_once(&client_exec_driver, c, "www.example", LDNS_RR_TYPE_AAAA, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	ct_assert_addr(&lk, "2001:db8::80");
	assert_int_equal(ct_farm_take(*state, seen, SEEN_MAX), 1);
	assert_int_equal(seen[0].qtype, LDNS_RR_TYPE_AAAA);
	ct_client_free(c);
}

/* dig +short exits 0 with nothing on NXDOMAIN: only NODATA can be said. */
static void test_exec_dig_short_cannot_see_nxdomain(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "dig", "+short", "+time=1", "+tries=1", "@{server}", "-p", "{port}", "{name}",
	         "{type}", NULL);
	resolve_once(&client_exec_driver, c, "nosuch.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_NODATA, NULL);
	assert_int_equal(lk.exit_status, 0);
	assert_string_equal(lk.error, "no address in output");
	assert_string_equal(lk.output, "");
	ct_client_free(c);
}

static void test_exec_dig_status_line(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "dig", "+noall", "+comments", "+time=1", "+tries=1", "@{server}", "-p",
	         "{port}", "{name}", "{type}", NULL);
	resolve_once(&client_exec_driver, c, "nosuch.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, NULL);
	assert_int_equal(lk.rcode, 3);
	assert_int_equal(lk.exit_status, 0);
	assert_non_null(strstr(lk.output, "status: NXDOMAIN"));

	resolve_once(&client_exec_driver, c, "broken.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_SERVFAIL, NULL);
	assert_int_equal(lk.rcode, 2);
	ct_client_free(c);
}

/* dig against a silent server exits 9 ("no servers could be reached"). */
static void test_exec_dig_timeout(void **state)
{
	(void)state;
	struct addr target;
	int fd = ct_silent_socket("127.0.0.1", &target);
	struct client *c = ct_client_new(CLIENT_EXEC, &target);
	struct lookup lk;

	set_argv(c, "dig", "+short", "+time=1", "+tries=1", "@{server}", "-p", "{port}", "{name}",
	         NULL);
	double dt = resolve_once(&client_exec_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, NULL);
	assert_int_equal(lk.exit_status, 9);
	assert_string_equal(lk.error, "exit 9");
	assert_true(dt >= 0.9 && dt < 4.0);
	ct_client_free(c);
	close(fd);
}

static void test_exec_substitution(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	char want[160];

	ct_set_source(c, "127.0.0.9:0");
	set_argv(c, "echo", "n={name}", "{server}", "p={port}", "t={type}", "s={source}",
	         "{nope}{name}{name}", NULL);
	resolve_once(&client_exec_driver, c, "db.internal", 65534, &lk);
	snprintf(want, sizeof want,
	         "n=db.internal 127.0.0.1 p=%u t=TYPE65534 s=127.0.0.9 "
	         "{nope}db.internaldb.internal",
	         (unsigned)addr_port(ct_farm_addr(*state)));
	assert_string_equal(lk.output, want);
	/* "127.0.0.1" is an address token: exit 0 with it is an answer. */
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.naddrs, 1);
	ct_client_free(c);
}

static void test_exec_exit_codes_and_words(void **state)
{
	static const struct {
		const char *script;
		enum lookup_result result;
		enum lookup_reason reason;
		int exit_status;
		const char *error;
	} cases[] = {
	        {"echo 'Host x not found: 3(NXDOMAIN)'; exit 1", LOOKUP_FAIL, REASON_NXDOMAIN, 1,
	         "exit 1"},
	        {"echo ';; status: SERVFAIL'; exit 1", LOOKUP_FAIL, REASON_SERVFAIL, 1, "exit 1"},
	        {"echo 'REFUSED'; exit 3", LOOKUP_FAIL, REASON_REFUSED, 3, "exit 3"},
	        {"echo ';; connection timed out; no servers could be reached'; exit 1",
	         LOOKUP_TIMEOUT, REASON_TIMEOUT, 1, "exit 1"},
	        {"exit 9", LOOKUP_TIMEOUT, REASON_TIMEOUT, 9, "exit 9"},
	        {"echo 192.0.2.1; exit 2", LOOKUP_FAIL, REASON_ERROR, 2, "exit 2"},
	        {"echo '  10.0.0.1  fd00::1 10.0.0.1 x1.2.3.4 ' >&2", LOOKUP_OK, REASON_NONE, 0,
	         ""},
	        {"echo nothing here", LOOKUP_FAIL, REASON_NODATA, 0, "no address in output"},
	        {"kill -TERM $$", LOOKUP_FAIL, REASON_ERROR, 128 + 15, "signal 15"},
	};
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "sh", "-c", "placeholder", NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		free(c->cfg.argv[2]);
		c->cfg.argv[2] = strdup(cases[i].script);
		resolve_once(&client_exec_driver, c, "x.example", LDNS_RR_TYPE_A, &lk);
		if (lk.result != cases[i].result || lk.reason != cases[i].reason ||
		    lk.exit_status != cases[i].exit_status || strcmp(lk.error, cases[i].error) != 0)
			fail_msg("case %zu (%s): %s/%s exit %d error '%s'", i, cases[i].script,
			         lookup_result_name(lk.result), lookup_reason_name(lk.reason),
			         lk.exit_status, lk.error);
	}
	/* The stderr case: two distinct addresses, the bogus token ignored. */
	free(c->cfg.argv[2]);
	c->cfg.argv[2] = strdup("echo 10.0.0.1 fd00::1 10.0.0.1 x1.2.3.4");
	resolve_once(&client_exec_driver, c, "x.example", LDNS_RR_TYPE_A, &lk);
	assert_int_equal(lk.naddrs, 2);
	ct_assert_addr(&lk, "fd00::1");
	ct_client_free(c);
}

/* getent exits 2 for "key not found" (a passwd lookup: local files only), its
 * word for NXDOMAIN and for no server answering alike: an error, no NXDOMAIN. */
static void test_exec_getent_not_found(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "getent", "passwd", "dnschaos-no-such-user-{name}", NULL);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_ERROR, "exit 2 (getent: not found, or no answer)");
	assert_int_equal(lk.exit_status, 2);
	ct_client_free(c);
}

static void test_exec_time_limit_kills(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	c->cfg.timeout_s = 0.3;
	set_argv(c, "sleep", "5", NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, NULL);
	assert_int_equal(lk.exit_status, -1);
	assert_string_equal(lk.error, "killed after 0.3 s");
	assert_true(dt >= 0.29 && dt < 1.5);
	ct_client_free(c);
}

/* A command that never stops writing is still killed at its limit. */
static void test_exec_time_limit_kills_a_chatty_command(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	c->cfg.timeout_s = 0.3;
	set_argv(c, "yes", "10.9.8.7", NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, NULL);
	assert_int_equal(lk.exit_status, -1);
	assert_int_equal(strncmp(lk.output, "10.9.8.7\n10.9.8.7\n", 18), 0);
	assert_true(dt >= 0.29 && dt < 1.5);
	ct_client_free(c);
}

static void test_exec_missing_program(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "dnschaos-no-such-program", "{name}", NULL);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_ERROR, NULL);
	/*
	 * glibc's posix_spawnp reports the failed exec itself. Under valgrind
	 * (no CLONE_VFORK) the child is forked, fails to exec and exits non-zero.
	 */
	const char *preload = getenv("LD_PRELOAD");
	if (preload && strstr(preload, "vgpreload") && !strstr(lk.output, "cannot run")) {
		assert_int_not_equal(lk.exit_status, 0);
	} else {
		assert_string_equal(
		        lk.output,
		        "cannot run dnschaos-no-such-program: No such file or directory");
		assert_int_equal(strncmp(lk.error, "cannot run dnschaos-no-such-program", 35), 0);
		assert_int_equal(lk.exit_status, 127);
	}
	ct_client_free(c);
}

/* Output beyond the capture is drained (the command is not blocked) and cut. */
static void test_exec_large_output(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo 10.1.2.3; i=$((i+1)); done",
	         NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.exit_status, 0);
	assert_int_equal(lk.naddrs, 1);
	assert_true(strlen(lk.output) == LOOKUP_OUTPUT_MAX - 1);
	assert_true(dt < 4.0);
	ct_client_free(c);
}

/* True if pid no longer runs: no such process, or a zombie. */
static bool process_gone(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

/* A background child holding the pipe neither delays the outcome nor survives it. */
static void test_exec_background_child_is_killed(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	char script[128], pidfile[64];

	snprintf(pidfile, sizeof pidfile, "/tmp/dnschaos-exec-test.%ld", (long)getpid());
	snprintf(script, sizeof script, "sleep 30 & echo $! > %s; echo 192.0.2.7", pidfile);
	set_argv(c, "sh", "-c", script, NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	ct_assert_addr(&lk, "192.0.2.7");
	assert_true(dt < 2.0);

	FILE *fp = fopen(pidfile, "r");
	long bg = 0;
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%ld", &bg), 1);
	fclose(fp);
	unlink(pidfile);
	/* Killed: gone, or a zombie until whoever inherited it reaps it. */
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = process_gone((pid_t)bg);
		if (!gone)
			sleep_s(0.01);
	}
	assert_true(gone);
	ct_client_free(c);
}

/* The command inherits no descriptor of ours but stdin, stdout and stderr; stdin is empty. */
static void test_exec_inherits_only_stdio(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	char script[200];
	int leak = dup(2); /* no close-on-exec */

	assert_true(leak > 2);
	snprintf(script, sizeof script,
	         "if [ -e /proc/$$/fd/%d ]; then echo fd %d inherited; fi; "
	         "echo stdin: $(wc -c) bytes; echo 192.0.2.9",
	         leak, leak);
	set_argv(c, "sh", "-c", script, NULL);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	close(leak);
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_string_equal(lk.output, "stdin: 0 bytes\n192.0.2.9");
	ct_client_free(c);
}

/*
 * With our stdin, stdout and stderr closed, the pipes would get descriptors
 * 0 to 2: the command still gets its output pipe on 1 and 2. (glibc also
 * clears close-on-exec on a dup2 onto the same descriptor, so this holds
 * without spawn_pipe's move above 2 too.)
 */
static void test_exec_with_stdio_closed(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	int saved[3];

	set_argv(c, "sh", "-c", "echo 192.0.2.9; echo to-stderr >&2", NULL);
	for (int i = 0; i < 3; i++)
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3); /* -1 if it was closed already */
	for (int i = 0; i < 3; i++)
		close(i);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	for (int i = 0; i < 3; i++)
		if (saved[i] >= 0) {
			dup2(saved[i], i);
			close(saved[i]);
		}
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	assert_int_equal(lk.exit_status, 0);
	assert_string_equal(lk.output, "192.0.2.9\nto-stderr");
	ct_client_free(c);
}

/*
 * Something else reaping the command (here SIGCHLD ignored: the kernel reaps
 * it) loses its exit status: an error, not exit 0.
 */
static void test_exec_lost_exit_status(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	struct sigaction ign, old;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	set_argv(c, "echo", "192.0.2.9", NULL);
	assert_int_equal(sigaction(SIGCHLD, &ign, &old), 0);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
	ct_assert_outcome(&lk, LOOKUP_FAIL, REASON_ERROR, "exit status lost: No child processes");
	assert_int_equal(lk.exit_status, -1);
	assert_int_equal(lk.naddrs, 0);
	ct_client_free(c);
}

struct worker_run {
	const struct client_driver *d;
	struct client *c;
	struct lookup lk;
	double ended;
};

static void *worker_main(void *arg)
{
	struct worker_run *w = arg;
	char err[256] = "";
	void *t = w->d->thread_open(w->c, err, sizeof err);
	if (t) {
		w->d->resolve(w->c, t, &w->lk);
		w->d->thread_close(t);
	}
	w->ended = clock_mono();
	return NULL;
}

/* The run ending (client_stopping) ends a running command within a slice. */
static void test_exec_stops_with_the_run(void **state)
{
	struct worker_run w = {.d = &client_exec_driver};
	pthread_t th;

	w.c = farm_client(state, CLIENT_EXEC);
	w.c->cfg.timeout_s = 10;
	set_argv(w.c, "sleep", "10", NULL);
	lookup_init(&w.lk, "x", LDNS_RR_TYPE_A);
	assert_int_equal(pthread_create(&th, NULL, worker_main, &w), 0);
	sleep_s(0.33); /* off the 50 ms slice grid */
	double stop = clock_mono();
	atomic_store(&w.c->stopping, true);
	pthread_join(th, NULL);
	double dt = w.ended - stop;
	assert_true(dt < 0.4); /* slices of 50 ms; generous for a loaded machine */
	/* Not just LOOKUP_CANCELLED: ct_lookup_init leaves that too, with REASON_COUNT. */
	ct_assert_outcome(&w.lk, LOOKUP_CANCELLED, REASON_NONE, "stopped");
	assert_int_equal(w.lk.exit_status, -1);
	printf("# exec returned %.0f ms after client_stopping\n", dt * 1000);

	/* Already stopping: nothing is run. */
	double t0 = clock_mono();
	resolve_once(&client_exec_driver, w.c, "x", LDNS_RR_TYPE_A, &w.lk);
	ct_assert_outcome(&w.lk, LOOKUP_CANCELLED, REASON_NONE, "stopped");
	assert_int_equal(w.lk.exit_status, -1);
	assert_true(clock_mono() - t0 < 0.1);
	ct_client_free(w.c);
}

/*
 * The command gets PATH, the DNSCHAOS_* words of its lookup and the
 * scenario's env = {...}, nothing else of ours: a token in the harness's
 * environment never reaches a command, whose output lands in the history.
 */
static void test_exec_minimal_environment(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	char want[320];

	assert_int_equal(setenv("AWS_SECRET_ACCESS_KEY", "hunter2-secret", 1), 0);
	c->cfg.env[0] = strdup("SCENARIO_TOKEN");
	c->cfg.env[1] = strdup("given by env");
	c->cfg.env[2] = strdup("PATH"); /* a scenario may set PATH too */
	c->cfg.env[3] = strdup("/usr/bin:/bin");
	c->cfg.nenv = 2;
	set_argv(c, "sh", "-c",
	         "env | grep -v '^PWD=' | sort | tr '\\n' ' '; echo; "
	         "echo ${AWS_SECRET_ACCESS_KEY:-no secret}; echo 192.0.2.9",
	         NULL);
	c->cfg.qtype = LDNS_RR_TYPE_AAAA;
	resolve_once(&client_exec_driver, c, "www.example", LDNS_RR_TYPE_AAAA, &lk);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ct_assert_outcome(&lk, LOOKUP_OK, REASON_NONE, NULL);
	snprintf(want, sizeof want,
	         "DNSCHAOS_CLIENT=%s DNSCHAOS_NAME=www.example DNSCHAOS_PORT=%u "
	         "DNSCHAOS_SERVER=127.0.0.1 DNSCHAOS_SOURCE=127.0.0.1 DNSCHAOS_TYPE=AAAA "
	         "PATH=/usr/bin:/bin SCENARIO_TOKEN=given by env \nno secret\n192.0.2.9",
	         c->cfg.name, (unsigned)addr_port(&c->cfg.target));
	assert_string_equal(lk.output, want);
	ct_client_free(c);
}

/*
 * PR_SET_PDEATHSIG is tied to the thread that forked, not the process
 * (prctl(2)): a command spawned from a thread that then ends must live on
 * (it is reaped by whoever reaps it); a command whose harness dies must die
 * with it. The "harness" here is a child process SIGKILLed after it spawned.
 */
static void *spawn_and_leave(void *arg)
{
	pid_t *pid = arg;
	char *const argv[] = {"sleep", "30", NULL};
	int fd = -1;
	if (spawn_piped("sleep", argv, NULL, true, pid, &fd) != 0)
		*pid = -1;
	else
		close(fd);
	return NULL;
}

static void test_spawn_dies_with_the_process_not_the_thread(void **state)
{
	(void)state;
	pthread_t th;
	pid_t pid = -1, harness, cmd = -1;
	int status, p[2];

	/* A thread spawns and ends: the command runs on. */
	assert_int_equal(pthread_create(&th, NULL, spawn_and_leave, &pid), 0);
	pthread_join(th, NULL);
	assert_true(pid > 0);
	sleep_s(0.3);
	assert_int_equal(spawn_ended(pid), 0);
	assert_false(process_gone(pid));
	assert_int_equal(spawn_reap(pid, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* The harness dies (SIGKILL): its command dies with it. */
	assert_int_equal(pipe(p), 0);
	harness = fork();
	assert_true(harness >= 0);
	if (harness == 0) {
		pid_t child = -1;
		close(p[0]);
		spawn_and_leave(&child);
		if (write(p[1], &child, sizeof child) != (ssize_t)sizeof child)
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &cmd, sizeof cmd), (ssize_t)sizeof cmd);
	close(p[0]);
	assert_int_equal(waitpid(harness, &status, 0), harness);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(cmd > 0);
	bool gone = false;
	for (int i = 0; i < 500 && !gone; i++) { /* 5 s: a loaded machine */
		gone = process_gone(cmd);
		if (!gone)
			sleep_s(0.01);
	}
	if (!gone)
		kill(cmd, SIGKILL); /* ours: do not leave it behind */
	assert_true(gone);
}

/*
 * The guardian (harness/spawn.h): the wait status seen is the command's
 * (an exit code; a signal, re-raised, even one that dumps core), and what
 * the command left running when it exited, in a session of its own
 * (setsid) where no group kill reaches, is gone once the guardian ended.
 */
static int spawn_and_wait(char *script, char *out, size_t outlen)
{
	char *const argv[] = {"sh", "-c", script, NULL};
	pid_t pid;
	int fd, status = -1;
	size_t n = 0;

	if (spawn_piped("/bin/sh", argv, NULL, false, &pid, &fd) != 0)
		return -1;
	for (int i = 0; i < 1000 && spawn_ended(pid) == 0; i++) /* 10 s */
		sleep_s(0.01);
	for (;;) {
		ssize_t r = n + 1 < outlen ? read(fd, out + n, outlen - n - 1) : 0;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(fd);
	if (spawn_reap(pid, &status) != 0)
		return -1;
	return status;
}

static void test_spawn_guardian_relays_and_sweeps(void **state)
{
	(void)state;
	char out[64];
	int st;

	st = spawn_and_wait("exit 7", out, sizeof out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	st = spawn_and_wait("kill -TERM $$", out, sizeof out);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	st = spawn_and_wait("kill -SEGV $$", out, sizeof out);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);

	/* A helper in a session of its own, left behind: the guardian kills it. */
	st = spawn_and_wait("setsid sleep 30 >/dev/null 2>&1 </dev/null & echo $!; exit 0", out,
	                    sizeof out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pid_t helper = (pid_t)atoi(out);
	assert_true(helper > 0);
	bool gone = process_gone(helper);
	if (!gone)
		kill(helper, SIGKILL); /* do not leave it behind */
	assert_true(gone);
}

/* spawn_env_new: PATH first, later names replace earlier ones, nothing else of ours. */
static void test_spawn_env(void **state)
{
	(void)state;
	const char *const pairs[] = {"A", "1", "B", "two=2", "A", "3"};
	assert_int_equal(setenv("DNSCHAOS_TEST_SECRET", "x", 1), 0);
	char **env = spawn_env_new(pairs, 3);
	unsetenv("DNSCHAOS_TEST_SECRET");
	assert_non_null(env);
	assert_int_equal(strncmp(env[0], "PATH=", 5), 0);
	assert_string_equal(env[1], "A=3");
	assert_string_equal(env[2], "B=two=2");
	assert_null(env[3]);
	spawn_env_free(env);
	spawn_env_free(NULL);

	char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	unsetenv("PATH");
	env = spawn_env_new(NULL, 0);
	if (path) {
		setenv("PATH", path, 1);
		free(path);
	}
	assert_non_null(env);
	assert_string_equal(env[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_null(env[1]);
	spawn_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ldns_version),
	        cmocka_unit_test_setup(test_ldns_open_refuses_bad_config, test_setup),
	        cmocka_unit_test_setup(test_ldns_a_from_the_source, test_setup),
	        cmocka_unit_test_setup(test_ldns_aaaa_soa_and_cname, test_setup),
	        cmocka_unit_test_setup(test_ldns_negative_answers, test_setup),
	        cmocka_unit_test_setup(test_ldns_edns_option, test_setup),
	        cmocka_unit_test_setup(test_ldns_truncation_falls_back_to_tcp, test_setup),
	        cmocka_unit_test_setup(test_ldns_search_list, test_setup),
	        cmocka_unit_test_setup(test_ldns_silent_target_is_blacklisted, test_setup),
	        cmocka_unit_test_setup(test_exec_version_and_bad_config, test_setup),
	        cmocka_unit_test_setup(test_exec_dig_short_gives_addresses, test_setup),
	        cmocka_unit_test_setup(test_exec_dig_short_cannot_see_nxdomain, test_setup),
	        cmocka_unit_test_setup(test_exec_dig_status_line, test_setup),
	        cmocka_unit_test_setup(test_exec_dig_timeout, test_setup),
	        cmocka_unit_test_setup(test_exec_substitution, test_setup),
	        cmocka_unit_test_setup(test_exec_exit_codes_and_words, test_setup),
	        cmocka_unit_test_setup(test_exec_getent_not_found, test_setup),
	        cmocka_unit_test_setup(test_exec_time_limit_kills, test_setup),
	        cmocka_unit_test_setup(test_exec_time_limit_kills_a_chatty_command, test_setup),
	        cmocka_unit_test_setup(test_exec_missing_program, test_setup),
	        cmocka_unit_test_setup(test_exec_large_output, test_setup),
	        cmocka_unit_test_setup(test_exec_background_child_is_killed, test_setup),
	        cmocka_unit_test_setup(test_exec_inherits_only_stdio, test_setup),
	        cmocka_unit_test_setup(test_exec_with_stdio_closed, test_setup),
	        cmocka_unit_test_setup(test_exec_lost_exit_status, test_setup),
	        cmocka_unit_test_setup(test_exec_stops_with_the_run, test_setup),
	        cmocka_unit_test_setup(test_exec_minimal_environment, test_setup),
	        cmocka_unit_test(test_spawn_dies_with_the_process_not_the_thread),
	        cmocka_unit_test(test_spawn_guardian_relays_and_sweeps),
	        cmocka_unit_test(test_spawn_env),
	};
	return cmocka_run_group_tests(tests, farm_setup, farm_teardown);
}
