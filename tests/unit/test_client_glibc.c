/*
 * test_client_glibc.c - the glibc drivers (getaddrinfo and res_nquery)
 * against an in-process fakeresolver on loopback, and against a silent and
 * a closed port. The drivers run on a thread of their own, as on the core's
 * workers (glibc's _res is per thread); the fake server runs its loop on
 * another. The core is clienttest's stand-in, so only the drivers,
 * lookup.c and the fakeresolver library are linked.
 *
 * What is asserted is glibc's own behaviour as seen on the wire (docs/stacks.md):
 * which queries it sent, from which port, with which ids, and how long it
 * took. Timing bounds are generous below (a timer may be late, never early)
 * and loose above (a loaded 2-core machine, valgrind).
 */
#define _GNU_SOURCE /* EAI_* names used in messages */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <gnu/libc-version.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fakeresolver/clock.h"
#include "fakeresolver/faults.h"
#include "fakeresolver/server.h"
#include "harness/clients/client.h"
#include "tests/unit/clienttest.h"

#define SERVER_ADDR "127.0.0.61:0"
#define SILENT_ADDR "127.0.0.62"
#define CLOSED_ADDR "127.0.0.63"
#define SEEN_MAX 64
#define JOB_MAX 4
#define LATE 1.5 /* how late glibc may come back on a loaded machine */

/* The zone every test serves. The fault plan turns fail.* into SERVFAIL,
 * formerr.* into FORMERR, notimp.* into NOTIMP and delays slow.*'s A answer. */
static const char zone_text[] =
	"$ORIGIN t.test.\n"
	"$TTL 300\n"
	"@	IN SOA	ns1 hostmaster 1 3600 600 86400 60\n"
	"	IN NS	ns1\n"
	"ns1	IN A	192.0.2.1\n"
	"www	IN A	192.0.2.80\n"
	"	IN AAAA	2001:db8::80\n"
	"two	IN A	192.0.2.21\n"
	"	IN A	192.0.2.22\n"
	"v4	IN A	192.0.2.4\n"
	"v6	IN AAAA	2001:db8::6\n"
	"txt	IN TXT	\"no address here\"\n"
	"x.y	IN A	192.0.2.33\n"
	"fail	IN A	192.0.2.9\n"
	"formerr	IN A	192.0.2.10\n"
	"notimp	IN A	192.0.2.12\n"
	"slow	IN A	192.0.2.11\n"
	"	IN AAAA	2001:db8::11\n";

#define SLOW_A_DELAY 0.4

/* ---- the fake server on its loop thread: the fixture is a ct_farm ---- */

/* Serves zone_text on 127.0.0.61 and, where IPv6 is there, on [::1] (servers[1]). */
static int setup(void **state)
{
	char path[] = "/tmp/dnschaos-glibc-zone-XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zone_text, sizeof zone_text - 1), (ssize_t)sizeof zone_text - 1);
	close(fd);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	unlink(path);
	if (!v)
		fail_msg("%s", err);
	struct zone_set *zones = zone_set_create();
	assert_int_equal(zone_set_add(zones, v, true), 0);
	zone_version_unref(v);

	struct ct_farm *f = ct_farm_new(zones);
	ct_farm_fault(f, ct_fault(FAULT_RCODE, "fail.t.test", 0, 2));
	ct_farm_fault(f, ct_fault(FAULT_RCODE, "formerr.t.test", 0, 1));
	ct_farm_fault(f, ct_fault(FAULT_RCODE, "notimp.t.test", 0, 4));
	struct fault_spec slow = ct_fault(FAULT_DELAY, "slow.t.test", 1, 0);
	slow.delay_s = SLOW_A_DELAY;
	ct_farm_fault(f, slow);
	ct_farm_listen(f, SERVER_ADDR, true);
	ct_farm_listen(f, "[::1]:0", false);
	ct_farm_start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	ct_farm_free(*state);
	return 0;
}

/* ---- running a driver on a worker thread ---- */

struct job {
	const struct client_driver *drv;
	struct client c;
	struct lookup lk[JOB_MAX];
	size_t n;
	double start[JOB_MAX];
	double took[JOB_MAX];
	char err[256];
	bool opened;
};

static void job_init(struct job *j, const struct client_driver *drv, const struct addr *target)
{
	memset(j, 0, sizeof *j);
	j->drv = drv;
	ct_client_init(&j->c, drv->stack, target);
}

static struct lookup *job_add(struct job *j, const char *name, enum client_family family,
			      uint16_t qtype)
{
	assert_true(j->n < JOB_MAX);
	struct lookup *lk = &j->lk[j->n++];
	lk->id = j->n;
	lk->name = name;
	lk->family = family;
	lk->qtype = qtype;
	/* as the core starts every lookup */
	lk->rcode = -1;
	lk->result = LOOKUP_FAIL;
	lk->reason = REASON_ERROR;
	return lk;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	void *ts = j->drv->thread_open(&j->c, j->err, sizeof j->err);
	if (!ts)
		return NULL;
	j->opened = true;
	for (size_t i = 0; i < j->n; i++) {
		j->start[i] = clock_mono();
		j->drv->resolve(&j->c, ts, &j->lk[i]);
		j->took[i] = clock_mono() - j->start[i];
	}
	j->drv->thread_close(ts);
	return NULL;
}

/*
 * Runs the job on a new thread and waits for it; then checks the driver kept
 * the contract and frees the config's strings (job_init may follow).
 */
static void job_thread(struct job *j)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, job_main, j), 0);
	pthread_join(t, NULL);
	ct_client_clear(&j->c);
}

/* job_thread, failing the test if thread_open failed. */
static void run_job(struct job *j)
{
	job_thread(j);
	if (!j->opened)
		fail_msg("thread_open: %s", j->err);
}

/* The i-th address, in the order the driver got them. */
static void assert_addr(const struct lookup *lk, size_t i, const char *text)
{
	char got[INET6_ADDRSTRLEN];
	assert_true(i < lk->naddrs);
	inet_ntop(lk->addrs[i].family, lk->addrs[i].a, got, sizeof got);
	assert_string_equal(got, text);
}

/* ---- bad parameters ---- */

static void test_open_needs_an_ip_target(void **state)
{
	(void)state;
	const struct client_driver *drvs[] = { &client_glibc_driver, &client_glibc_res_driver };
	for (size_t i = 0; i < 2; i++) {
		struct job j;
		job_init(&j, drvs[i], NULL); /* ss_family 0 */
		job_thread(&j);
		assert_false(j.opened);
		assert_non_null(strstr(j.err, "target"));
		assert_non_null(strstr(j.err, "not an IPv4 or IPv6"));
	}
}

static void test_open_refuses_an_overlong_search_list(void **state)
{
	struct ct_farm *f = *state;
	const struct client_driver *drvs[] = { &client_glibc_driver, &client_glibc_res_driver };
	char name[61];
	memset(name, 'a', 60);
	name[60] = '\0';
	for (size_t i = 0; i < 2; i++) {
		struct job j;
		job_init(&j, drvs[i], ct_farm_addr(f));
		for (size_t k = 0; k < 5; k++) /* 5 * 61 octets: more than defdname's 256 */
			ct_add_search(&j.c, name);
		job_thread(&j);
		assert_false(j.opened);
		assert_non_null(strstr(j.err, "search list"));
	}
}

static void test_driver_table_and_version(void **state)
{
	(void)state;
	char want[64];
	snprintf(want, sizeof want, "glibc %s", gnu_get_libc_version());
	assert_int_equal(client_glibc_driver.stack, CLIENT_GLIBC);
	assert_int_equal(client_glibc_res_driver.stack, CLIENT_GLIBC_RES);
	assert_true(client_glibc_driver.threaded);
	assert_true(client_glibc_res_driver.threaded);
	assert_null(client_glibc_driver.start);
	assert_string_equal(client_glibc_driver.version(), want);
	assert_string_equal(client_glibc_res_driver.version(), want);
	assert_non_null(strstr(want, "glibc 2."));
}

/* ---- getaddrinfo ---- */

static void test_gai_a_aaaa_both(void **state)
{
	struct ct_farm *f = *state;
	struct job j;
	struct ct_seen s[SEEN_MAX];
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	struct lookup *a = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 0);
	struct lookup *aaaa = job_add(&j, "www.t.test", CLIENT_FAMILY_AAAA, 0);
	struct lookup *both = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	ct_assert_outcome(a, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(a->naddrs, 1);
	assert_addr(a, 0, "192.0.2.80");
	assert_int_equal(a->rcode, -1); /* getaddrinfo never says */
	ct_assert_outcome(aaaa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(aaaa->naddrs, 1);
	assert_addr(aaaa, 0, "2001:db8::80");
	ct_assert_outcome(both, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(both->naddrs, 2);

	/* The server (the target, not resolv.conf's) saw exactly: A; AAAA; A+AAAA. */
	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(s[i].qname, "www.t.test.");
		assert_false(s[i].edns); /* no EDNS unless asked */
	}
	assert_int_equal(s[0].qtype, 1);
	assert_int_equal(s[1].qtype, 28);
	assert_int_equal(s[2].qtype + s[3].qtype, 1 + 28);
	/* Both of one getaddrinfo call on one socket; a new socket per call. */
	assert_int_equal(s[2].peer_port, s[3].peer_port);
	assert_int_not_equal(s[0].peer_port, s[1].peer_port);
	assert_int_not_equal(s[1].peer_port, s[2].peer_port);
}

static void test_gai_nxdomain_asks_only_the_name(void **state)
{
	struct ct_farm *f = *state;
	struct job j;
	struct ct_seen s[SEEN_MAX];
	/* LOCALDOMAIN (set in main) is in res_init's search list: the driver drops it. */
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	struct lookup *nx = job_add(&j, "nx.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	ct_assert_outcome(nx, LOOKUP_FAIL, REASON_NXDOMAIN, "EAI_NONAME");
	assert_int_equal(nx->naddrs, 0);
	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(s[i].qname, "nx.t.test.");
	assert_int_equal(s[0].qtype + s[1].qtype, 1 + 28);
}

static void test_gai_nodata(void **state)
{
	struct ct_farm *f = *state;
	struct job j;
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	struct lookup *txt = job_add(&j, "txt.t.test", CLIENT_FAMILY_BOTH, 0);
	struct lookup *v4 = job_add(&j, "v4.t.test", CLIENT_FAMILY_AAAA, 0);
	struct lookup *mixed = job_add(&j, "v4.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	ct_assert_outcome(txt, LOOKUP_FAIL, REASON_NODATA, "EAI_NODATA");
	ct_assert_outcome(v4, LOOKUP_FAIL, REASON_NODATA, "EAI_NODATA");
	/* One family with an address is a success. */
	ct_assert_outcome(mixed, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(mixed->naddrs, 1);
	assert_addr(mixed, 0, "192.0.2.4");
}

/*
 * SERVFAIL, REFUSED and NOTIMP come back as a fast EAI_AGAIN after one query per
 * attempt. A lone query is retried from a new socket (new port, same id); A
 * and AAAA in parallel are retried on the same socket (same port, same ids).
 */
static void test_gai_servfail_and_refused(void **state)
{
	struct ct_farm *f = *state;
	struct job j;
	struct ct_seen s[SEEN_MAX];
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	j.c.cfg.timeout_s = 2;
	j.c.cfg.attempts = 2;
	struct lookup *sf = job_add(&j, "fail.t.test", CLIENT_FAMILY_A, 0);
	struct lookup *ref = job_add(&j, "www.elsewhere.test", CLIENT_FAMILY_BOTH, 0);
	struct lookup *ni = job_add(&j, "notimp.t.test", CLIENT_FAMILY_A, 0);
	run_job(&j);

	ct_assert_outcome(ni, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN");
	assert_true(j.took[2] < 1.0);
	ct_assert_outcome(sf, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN");
	ct_assert_outcome(ref, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN"); /* glibc cannot tell */
	assert_true(j.took[0] < 1.0);
	assert_true(j.took[1] < 1.0);
	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 2 + 4 + 2);
	assert_string_equal(s[7].qname, "notimp.t.test.");
	assert_string_equal(s[0].qname, "fail.t.test.");
	assert_string_equal(s[1].qname, "fail.t.test.");
	assert_int_not_equal(s[0].peer_port, s[1].peer_port);
	assert_int_equal(s[0].id, s[1].id);
	for (size_t i = 2; i < 6; i++) {
		assert_string_equal(s[i].qname, "www.elsewhere.test.");
		assert_int_equal(s[i].peer_port, s[2].peer_port);
	}
	assert_int_equal(s[2].qtype + s[3].qtype, 1 + 28);
	for (size_t i = 4; i < 6; i++) {
		size_t k = s[i].qtype == s[2].qtype ? 2 : 3;
		assert_int_equal(s[i].id, s[k].id);
	}
}

/* glibc 2.36 reports a FORMERR answer as EAI_NONAME, as it does NXDOMAIN. */
static void test_gai_formerr_looks_like_nxdomain(void **state)
{
	struct ct_farm *f = *state;
	struct ct_seen s[SEEN_MAX];
	struct job j;
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	j.c.cfg.attempts = 2;
	struct lookup *a = job_add(&j, "formerr.t.test", CLIENT_FAMILY_A, 0);
	struct lookup *both = job_add(&j, "formerr.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	ct_assert_outcome(a, LOOKUP_FAIL, REASON_NXDOMAIN, "EAI_NONAME");
	ct_assert_outcome(both, LOOKUP_FAIL, REASON_NXDOMAIN, "EAI_NONAME");
	assert_true(j.took[0] < 1.0);
	assert_true(j.took[1] < 1.0);
	/* Accepted at once: no retry. */
	assert_int_equal(ct_farm_seen(f, s, SEEN_MAX), 1 + 2);
}

/* The behaviour the project hinges on: retries from the same port, same ids. */
static void test_gai_dead_target_retries_from_the_same_port(void **state)
{
	(void)state;
	struct addr silent;
	int fd = ct_silent_socket(SILENT_ADDR, &silent);

	struct job j;
	job_init(&j, &client_glibc_driver, &silent);
	j.c.cfg.timeout_s = 1;
	j.c.cfg.attempts = 2;
	struct lookup *lk = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	ct_assert_outcome(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, "EAI_AGAIN");
	assert_true(j.took[0] >= 2.0 - 0.05);
	assert_true(j.took[0] < 2.0 + LATE);

	/* Read what the silent socket received: 2 attempts x (A, AAAA). */
	struct ct_datagram d[8];
	size_t n = ct_silent_read(fd, d, 8);
	close(fd);
	assert_int_equal(n, 4);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(d[i].port, d[0].port);
	assert_int_equal(d[0].qtype + d[1].qtype, 1 + 28);
	assert_int_not_equal(d[0].id, d[1].id);
	/* The second attempt repeats the first: same ids for the same types. */
	for (size_t i = 2; i < 4; i++) {
		size_t k = d[i].qtype == d[0].qtype ? 0 : 1;
		assert_int_equal(d[i].qtype, d[k].qtype);
		assert_int_equal(d[i].id, d[k].id);
	}
}

static void test_gai_closed_port_fails_fast(void **state)
{
	(void)state;
	struct addr closed;
	ct_closed_port(CLOSED_ADDR, &closed);
	struct job j;
	job_init(&j, &client_glibc_driver, &closed);
	j.c.cfg.timeout_s = 2;
	j.c.cfg.attempts = 2;
	struct lookup *lk = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	/* Fast, so not a timeout; glibc says EAI_AGAIN as for SERVFAIL. */
	ct_assert_outcome(lk, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN");
	assert_true(j.took[0] < 1.0);
}

static void test_gai_search_list_and_ndots(void **state)
{
	struct ct_farm *f = *state;
	struct ct_seen s[SEEN_MAX];
	struct job j;

	/* ndots 2: "x.y" has fewer dots, so the search list comes first. */
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	ct_add_search(&j.c, "t.test");
	j.c.cfg.ndots = 2;
	j.c.cfg.attempts = 1;
	struct lookup *xy = job_add(&j, "x.y", CLIENT_FAMILY_A, 0);
	struct lookup *www = job_add(&j, "www", CLIENT_FAMILY_A, 0);
	run_job(&j);
	ct_assert_outcome(xy, LOOKUP_OK, REASON_NONE, "");
	assert_addr(xy, 0, "192.0.2.33");
	ct_assert_outcome(www, LOOKUP_OK, REASON_NONE, "");
	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].qname, "x.y.t.test.");
	assert_string_equal(s[1].qname, "www.t.test.");

	/* glibc's default ndots 1: "x.y" is tried as is first (REFUSED here). */
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	ct_add_search(&j.c, "t.test");
	j.c.cfg.attempts = 1;
	xy = job_add(&j, "x.y", CLIENT_FAMILY_A, 0);
	run_job(&j);
	ct_assert_outcome(xy, LOOKUP_OK, REASON_NONE, "");
	size_t m = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(m, n + 2);
	assert_string_equal(s[n].qname, "x.y.");
	assert_string_equal(s[n + 1].qname, "x.y.t.test.");
}

static void test_gai_edns0_and_single_request(void **state)
{
	struct ct_farm *f = *state;
	struct ct_seen s[SEEN_MAX];
	struct job j;

	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	j.c.cfg.edns0 = 1;
	job_add(&j, "www.t.test", CLIENT_FAMILY_A, 0);
	run_job(&j);
	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 1);
	assert_true(s[0].edns);

	/* In parallel, the AAAA query leaves at once though the A answer is slow... */
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	struct lookup *par = job_add(&j, "slow.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	ct_assert_outcome(par, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(par->naddrs, 2);
	size_t m = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(m, n + 2);
	for (size_t i = n; i < m; i++)
		if (s[i].qtype == 28)
			assert_true(s[i].at - j.start[0] < SLOW_A_DELAY / 2);
	n = m;

	/* ...with single-request it waits for the A answer. */
	job_init(&j, &client_glibc_driver, ct_farm_addr(f));
	j.c.cfg.single_request = 1;
	struct lookup *one = job_add(&j, "slow.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	ct_assert_outcome(one, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(one->naddrs, 2);
	m = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(m, n + 2);
	assert_int_equal(s[n].qtype, 1);
	assert_int_equal(s[n + 1].qtype, 28);
	assert_true(s[n + 1].at - j.start[0] >= SLOW_A_DELAY - 0.05);
}

/* An IPv6 target, through _u._ext.nsaddrs, for both drivers. */
static void test_ipv6_target(void **state)
{
	struct ct_farm *f = *state;
	struct ct_seen s[SEEN_MAX];
	if (f->nservers < 2) /* no IPv6 here */
		skip();
	struct job j, j2;
	job_init(&j, &client_glibc_driver, server_addr(f->servers[1]));
	struct lookup *lk = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	ct_assert_outcome(lk, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(lk->naddrs, 2);
	job_init(&j2, &client_glibc_res_driver, server_addr(f->servers[1]));
	struct lookup *soa = job_add(&j2, "t.test", CLIENT_FAMILY_A, 6);
	run_job(&j2);
	ct_assert_outcome(soa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(soa->records, 1);

	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s[i].peer.ss.ss_family, AF_INET6);
}

/* ---- res_nquery ---- */

static void test_res_counts_records(void **state)
{
	struct ct_farm *f = *state;
	struct ct_seen s[SEEN_MAX];
	struct job j;
	job_init(&j, &client_glibc_res_driver, ct_farm_addr(f));
	struct lookup *soa = job_add(&j, "t.test", CLIENT_FAMILY_A, 6);
	struct lookup *ns = job_add(&j, "t.test", CLIENT_FAMILY_A, 2);
	struct lookup *two = job_add(&j, "two.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *aaaa = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 28);
	run_job(&j);

	ct_assert_outcome(soa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(soa->records, 1);
	assert_int_equal(soa->naddrs, 0);
	assert_int_equal(soa->rcode, 0);
	ct_assert_outcome(ns, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(ns->records, 1);
	ct_assert_outcome(two, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(two->records, 2);
	assert_int_equal(two->naddrs, 2);
	assert_addr(two, 0, "192.0.2.21");
	assert_addr(two, 1, "192.0.2.22");
	ct_assert_outcome(aaaa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(aaaa->records, 1);
	assert_addr(aaaa, 0, "2001:db8::80");

	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 4);
	assert_int_equal(s[0].qtype, 6);
	assert_string_equal(s[0].qname, "t.test.");
	assert_int_equal(s[3].qtype, 28);
}

static void test_res_negative_answers_keep_the_rcode(void **state)
{
	struct ct_farm *f = *state;
	struct ct_seen s[SEEN_MAX];
	struct job j, j2;
	job_init(&j, &client_glibc_res_driver, ct_farm_addr(f));
	j.c.cfg.attempts = 2;
	j.c.cfg.timeout_s = 2;
	struct lookup *nx = job_add(&j, "nx.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *nodata = job_add(&j, "txt.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *sf = job_add(&j, "fail.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *ref = job_add(&j, "www.elsewhere.test", CLIENT_FAMILY_A, 1);
	run_job(&j);
	job_init(&j2, &client_glibc_res_driver, ct_farm_addr(f));
	struct lookup *fe = job_add(&j2, "formerr.t.test", CLIENT_FAMILY_A, 1);
	run_job(&j2);

	ct_assert_outcome(nx, LOOKUP_FAIL, REASON_NXDOMAIN, "HOST_NOT_FOUND (NXDOMAIN)");
	assert_int_equal(nx->rcode, 3);
	ct_assert_outcome(nodata, LOOKUP_FAIL, REASON_NODATA, "NO_DATA (NOERROR)");
	assert_int_equal(nodata->rcode, 0);
	ct_assert_outcome(sf, LOOKUP_FAIL, REASON_SERVFAIL, "TRY_AGAIN (SERVFAIL)");
	assert_int_equal(sf->rcode, 2);
	ct_assert_outcome(ref, LOOKUP_FAIL, REASON_REFUSED, "TRY_AGAIN (REFUSED)");
	assert_int_equal(ref->rcode, 5);
	assert_int_equal(nx->records + nodata->records + sf->records + ref->records, 0);
	ct_assert_outcome(fe, LOOKUP_FAIL, REASON_BADREPLY, "NO_RECOVERY (FORMERR)");
	assert_int_equal(fe->rcode, 1);

	/* One query each for the answers, one per attempt for SERVFAIL and REFUSED. */
	size_t n = ct_farm_seen(f, s, SEEN_MAX);
	assert_int_equal(n, 1 + 1 + 2 + 2 + 1);
	assert_string_equal(s[2].qname, "fail.t.test.");
	assert_string_equal(s[3].qname, "fail.t.test.");
}

/*
 * Timeout and unreachable told apart. The config leaves timeout and attempts
 * alone, so RES_OPTIONS (set in main) decides: timeout:1 attempts:1.
 */
static void test_res_dead_and_closed_targets(void **state)
{
	(void)state;
	struct addr silent, closed;
	int fd = ct_silent_socket(SILENT_ADDR, &silent);
	ct_closed_port(CLOSED_ADDR, &closed);

	struct job j;
	job_init(&j, &client_glibc_res_driver, &silent);
	struct lookup *dead = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 1);
	run_job(&j);
	ct_assert_outcome(dead, LOOKUP_TIMEOUT, REASON_TIMEOUT, "TRY_AGAIN (ETIMEDOUT)");
	assert_int_equal(dead->rcode, -1);
	assert_true(j.took[0] >= 1.0 - 0.05);
	assert_true(j.took[0] < 1.0 + LATE);
	struct ct_datagram d[8];
	size_t n = ct_silent_read(fd, d, 8);
	close(fd);
	assert_int_equal(n, 1); /* attempts:1 from RES_OPTIONS */

	job_init(&j, &client_glibc_res_driver, &closed);
	struct lookup *gone = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 1);
	run_job(&j);
	ct_assert_outcome(gone, LOOKUP_FAIL, REASON_UNREACHABLE, "TRY_AGAIN (ECONNREFUSED)");
	assert_true(j.took[0] < 1.0);
}

int main(void)
{
	/*
	 * glibc reads these once, with resolv.conf, at the first resolver call
	 * of the process (then only when resolv.conf changes). A search domain
	 * the drivers must drop, and defaults the config can leave or override.
	 */
	setenv("LOCALDOMAIN", "decoy.test", 1);
	setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
	unsetenv("HOSTALIASES");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_needs_an_ip_target),
		cmocka_unit_test_setup_teardown(test_open_refuses_an_overlong_search_list, setup,
						teardown),
		cmocka_unit_test(test_driver_table_and_version),
		cmocka_unit_test_setup_teardown(test_gai_a_aaaa_both, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gai_nxdomain_asks_only_the_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gai_nodata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gai_servfail_and_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gai_formerr_looks_like_nxdomain, setup,
						teardown),
		cmocka_unit_test(test_gai_dead_target_retries_from_the_same_port),
		cmocka_unit_test(test_gai_closed_port_fails_fast),
		cmocka_unit_test_setup_teardown(test_gai_search_list_and_ndots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gai_edns0_and_single_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_res_counts_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_res_negative_answers_keep_the_rcode, setup,
						teardown),
		cmocka_unit_test(test_res_dead_and_closed_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
