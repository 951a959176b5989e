/*
 * test_client_ldns_exec.c - the ldns and exec client drivers against a
 * fakeresolver server on loopback (its event loop on a thread of its own),
 * with a minimal stand-in for the client core (client_cfg, client_stopping).
 *
 * What ldns 1.8.3 really does is asserted, not assumed: a new source port on
 * every try, the per-try wait set by ldns_resolver_set_timeout, and the
 * target blacklisted for the life of the resolver after one failed lookup.
 * The exec tests run the real dig (/usr/bin/dig) and getent.
 */
#include <errno.h>
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>
#include <ldns/ldns.h>

#include "fakeresolver/faults.h"
#include "fakeresolver/server.h"
#include "harness/clients/client.h"
#include "tests/unit/dnstest.h"

/* ---- the core's part, as small as the drivers need ---- */

struct client {
	struct client_config cfg;
	atomic_bool stopping;
};

const struct client_config *client_cfg(const struct client *c)
{
	return &c->cfg;
}

struct event_base *client_base(const struct client *c)
{
	(void)c;
	return NULL;
}

void client_done(struct client *c, struct lookup *lk)
{
	(void)c;
	(void)lk;
	fail_msg("a threaded driver called client_done");
}

bool client_stopping(const struct client *c)
{
	return atomic_load(&c->stopping);
}

/* ---- the fake resolver, served from its own thread ---- */

struct seen {
	enum answer_transport transport;
	struct addr peer;
	char qname[WIRE_NAME_MAX * 4];
	uint16_t id, qtype, flags;
	bool edns;
	uint16_t udp_size;
};

#define SEEN_MAX 64

struct farm {
	struct event_base *base;
	struct zone_set *zones;
	struct server *server;
	struct fault_plan *plan;
	struct rng rng;
	struct event *tick;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct seen seen[SEEN_MAX];
	size_t nseen;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void on_query(void *arg, const struct server_event *ev)
{
	struct farm *f = arg;
	pthread_mutex_lock(&f->mu);
	if (f->nseen < SEEN_MAX) {
		struct seen *s = &f->seen[f->nseen++];
		const struct wire_query *q = &ev->info->query;
		s->transport = ev->transport;
		s->peer = *ev->peer;
		wire_name_to_str(q->qname, s->qname, sizeof s->qname);
		s->id = q->id;
		s->qtype = q->qtype;
		s->flags = q->flags;
		s->edns = q->edns;
		s->udp_size = q->edns_udp_size;
	}
	pthread_mutex_unlock(&f->mu);
}

static size_t farm_seen(struct farm *f, struct seen *out, size_t cap)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->nseen < cap ? f->nseen : cap;
	memcpy(out, f->seen, n * sizeof *out);
	f->nseen = 0;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void *farm_loop(void *arg)
{
	struct farm *f = arg;
	while (!atomic_load(&f->stop))
		event_base_loop(f->base, EVLOOP_ONCE);
	return NULL;
}

static void add_fault(struct farm *f, enum fault_kind kind, const char *name, uint16_t qtype,
                      uint16_t rcode)
{
	struct fault_spec s;
	char err[256] = "";
	uint32_t id;

	memset(&s, 0, sizeof s);
	s.kind = kind;
	s.rcode = rcode;
	fault_match_all(&s.match);
	if (fault_match_name(&s.match, name, err, sizeof err) != 0)
		fail_msg("%s", err);
	s.match.qtype = qtype;
	assert_int_equal(fault_plan_add(f->plan, &s, &id), 0);
}

/*
 * One server for every test, example.zone on 127.0.0.1, with faults set up
 * before its loop starts: broken.example SERVFAIL, mail.example A truncated.
 */
static int farm_setup(void **state)
{
	struct farm *f = calloc(1, sizeof *f);
	struct server_config cfg;
	char err[256] = "";

	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->zones = dt_zones("example.zone", NULL);
	server_config_defaults(&cfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	f->server = server_create(f->base, f->zones, &cfg, err, sizeof err);
	if (!f->server)
		fail_msg("server_create: %s", err);
	f->plan = fault_plan_create();
	assert_non_null(f->plan);
	add_fault(f, FAULT_RCODE, "broken.example", 0, 2);
	add_fault(f, FAULT_TRUNCATE, "mail.example", 1, 0);
	rng_seed(&f->rng, 1);
	server_set_faults(f->server, f->plan, &f->rng);
	server_set_log(f->server, on_query, f);
	/* A timer so that the loop wakes up and sees stop. */
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, 20000};
	assert_non_null(f->tick);
	assert_int_equal(event_add(f->tick, &tv), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, farm_loop, f), 0);
	*state = f;
	return 0;
}

static int farm_teardown(void **state)
{
	struct farm *f = *state;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	event_free(f->tick);
	server_destroy(f->server);
	fault_plan_destroy(f->plan);
	event_base_free(f->base);
	zone_set_destroy(f->zones);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

/* Forgets what the server saw before this test. */
static int test_setup(void **state)
{
	struct seen tmp[SEEN_MAX];
	farm_seen(*state, tmp, SEEN_MAX);
	return 0;
}

/* ---- clients and lookups ---- */

static struct client *client_new(enum client_stack stack, const struct addr *target)
{
	struct client *c = calloc(1, sizeof *c);
	assert_non_null(c);
	struct client_config *cfg = &c->cfg;
	snprintf(cfg->name, sizeof cfg->name, "%s", "t");
	cfg->stack = stack;
	cfg->target = *target;
	cfg->family = CLIENT_FAMILY_A;
	cfg->qtype = LDNS_RR_TYPE_A;
	cfg->ndots = -1;
	cfg->concurrency = 1;
	cfg->threads = 1;
	cfg->timeout_s = -1;
	cfg->attempts = -1;
	cfg->rotate = -1;
	cfg->edns0 = -1;
	cfg->single_request = -1;
	cfg->cache = -1;
	cfg->random_order = -1;
	atomic_init(&c->stopping, false);
	return c;
}

static struct client *farm_client(void **state, enum client_stack stack)
{
	struct farm *f = *state;
	return client_new(stack, server_addr(f->server));
}

static void client_free(struct client *c)
{
	for (size_t i = 0; i < c->cfg.argc; i++)
		free(c->cfg.argv[i]);
	for (size_t i = 0; i < c->cfg.nsearch; i++)
		free(c->cfg.search[i]);
	free(c);
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

static void add_search(struct client *c, const char *domain)
{
	c->cfg.search[c->cfg.nsearch] = strdup(domain);
	assert_non_null(c->cfg.search[c->cfg.nsearch]);
	c->cfg.nsearch++;
}

/* As the core hands a lookup over: an outcome that fails any test until filled. */
static void lookup_init(struct lookup *lk, const char *name, uint16_t qtype)
{
	memset(lk, 0, sizeof *lk);
	lk->id = 1;
	lk->name = name;
	lk->qtype = qtype;
	lk->family = qtype == LDNS_RR_TYPE_AAAA ? CLIENT_FAMILY_AAAA : CLIENT_FAMILY_A;
	lk->result = LOOKUP_CANCELLED;
	lk->reason = REASON_COUNT;
	lk->rcode = -1;
	snprintf(lk->error, sizeof lk->error, "%s", "unset");
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
	double t0 = now_s();
	d->resolve(c, t, lk);
	double dt = now_s() - t0;
	d->thread_close(t);
	return dt;
}

static bool has_addr(const struct lookup *lk, const char *text)
{
	uint8_t a[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(family, text, a), 1);
	for (size_t i = 0; i < lk->naddrs; i++)
		if (lk->addrs[i].family == family &&
		    memcmp(lk->addrs[i].a, a, family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

static void assert_outcome(const struct lookup *lk, enum lookup_result result,
                           enum lookup_reason reason)
{
	if (lk->result != result || lk->reason != reason)
		fail_msg("outcome %s/%s (error '%s', output '%s'), expected %s/%s",
		         lookup_result_name(lk->result), lookup_reason_name(lk->reason), lk->error,
		         lk->output, lookup_result_name(result), lookup_reason_name(reason));
}

/* A UDP socket on 127.0.0.1 that nobody reads: a silent nameserver. */
static int silent_socket(struct addr *out)
{
	char err[128];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, out, err, sizeof err), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&out->ss, out->len), 0);
	out->len = sizeof out->ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&out->ss, &out->len), 0);
	return fd;
}

/* Reads what reached the silent socket: source ports and query ids. */
static size_t silent_drain(int fd, uint16_t *ports, uint16_t *ids, size_t cap)
{
	size_t n = 0;
	for (;;) {
		uint8_t buf[512];
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t r =
		        recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (r < 0)
			break;
		if (n < cap && r >= 2) {
			ports[n] = ntohs(from.sin_port);
			ids[n] = (uint16_t)(buf[0] << 8 | buf[1]);
		}
		n++;
	}
	return n;
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
	char perr[128];
	assert_int_equal(addr_parse("[::1]:0", 53, &c->cfg.source, perr, sizeof perr), 0);
	assert_null(client_ldns_driver.thread_open(c, err, sizeof err));
	assert_non_null(strstr(err, "address families"));
	memset(&c->cfg.source, 0, sizeof c->cfg.source);

	/* A search domain ldns cannot read. */
	add_search(c, "a..b");
	err[0] = '\0';
	assert_null(client_ldns_driver.thread_open(c, err, sizeof err));
	assert_non_null(strstr(err, "a..b"));
	client_ldns_driver.thread_close(NULL); /* a no-op */
	client_free(c);
}

/* ---- ldns: answers ---- */

static void test_ldns_a_from_the_source(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct seen seen[SEEN_MAX];
	struct lookup lk;
	char perr[128], buf[64];

	assert_int_equal(addr_parse("127.0.0.2:0", 53, &c->cfg.source, perr, sizeof perr), 0);
	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.rcode, 0);
	assert_int_equal(lk.records, 1);
	assert_int_equal(lk.naddrs, 1);
	assert_true(has_addr(&lk, "192.0.2.80"));
	assert_string_equal(lk.error, "");

	/* One query, from the bound source, RD set, no EDNS by default. */
	size_t n = farm_seen(*state, seen, SEEN_MAX);
	assert_int_equal(n, 1);
	addr_set_port(&seen[0].peer, 0);
	assert_string_equal(addr_str(&seen[0].peer, buf, sizeof buf), "127.0.0.2:0");
	assert_string_equal(seen[0].qname, "www.example.");
	assert_true(seen[0].flags & WIRE_FLAG_RD);
	assert_false(seen[0].edns);
	client_free(c);
}

static void test_ldns_aaaa_soa_and_cname(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct lookup lk;

	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_AAAA, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.naddrs, 1);
	assert_true(has_addr(&lk, "2001:db8::80"));

	/* A record that is not an address still makes an answer. */
	resolve_once(&client_ldns_driver, c, "example", LDNS_RR_TYPE_SOA, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.records, 1);
	assert_int_equal(lk.naddrs, 0);

	/* ftp -> www: the CNAME is not counted, the A at the end is. */
	resolve_once(&client_ldns_driver, c, "ftp.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.records, 1);
	assert_true(has_addr(&lk, "192.0.2.80"));
	client_free(c);
}

static void test_ldns_negative_answers(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct lookup lk;

	resolve_once(&client_ldns_driver, c, "nosuch.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_NXDOMAIN);
	assert_int_equal(lk.rcode, 3);
	assert_string_equal(lk.error, "NXDOMAIN");

	resolve_once(&client_ldns_driver, c, "mail.example", LDNS_RR_TYPE_AAAA, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_NODATA);
	assert_int_equal(lk.rcode, 0);
	assert_int_equal(lk.records, 0);

	resolve_once(&client_ldns_driver, c, "broken.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_SERVFAIL);
	assert_int_equal(lk.rcode, 2);
	assert_string_equal(lk.error, "SERVFAIL");

	/* Outside every zone the fake resolver refuses. */
	resolve_once(&client_ldns_driver, c, "www.elsewhere.test", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_REFUSED);
	assert_int_equal(lk.rcode, 5);
	assert_string_equal(lk.error, "REFUSED");

	/* An error rcode is an answer: the target is not blacklisted for it. */
	char err[256];
	void *t = client_ldns_driver.thread_open(c, err, sizeof err);
	assert_non_null(t);
	lookup_init(&lk, "broken.example", LDNS_RR_TYPE_A);
	client_ldns_driver.resolve(c, t, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_SERVFAIL);
	lookup_init(&lk, "www.example", LDNS_RR_TYPE_A);
	client_ldns_driver.resolve(c, t, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	client_ldns_driver.thread_close(t);
	client_free(c);
}

static void test_ldns_edns_option(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct seen seen[SEEN_MAX];
	struct lookup lk;

	c->cfg.edns0 = 1;
	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(farm_seen(*state, seen, SEEN_MAX), 1);
	assert_true(seen[0].edns);
	assert_int_equal(seen[0].udp_size, 1232);
	client_free(c);
}

/* TC over UDP: ldns asks again over UDP with EDNS 4096, then over TCP. */
static void test_ldns_truncation_falls_back_to_tcp(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct seen seen[SEEN_MAX];
	struct lookup lk;

	resolve_once(&client_ldns_driver, c, "mail.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_true(has_addr(&lk, "192.0.2.25"));
	size_t n = farm_seen(*state, seen, SEEN_MAX);
	assert_int_equal(n, 3);
	assert_int_equal(seen[0].transport, ANSWER_UDP);
	assert_false(seen[0].edns);
	assert_int_equal(seen[1].transport, ANSWER_UDP);
	assert_true(seen[1].edns);
	assert_int_equal(seen[1].udp_size, 4096);
	assert_int_equal(seen[2].transport, ANSWER_TCP);
	client_free(c);
}

/*
 * The search list, as ldns's own loop runs it: each suffix in order, then the
 * name itself, stopping at the first NOERROR. When all fail, 1.8.3 keeps no
 * reply at all.
 */
static void test_ldns_search_list(void **state)
{
	struct client *c = farm_client(state, CLIENT_LDNS);
	struct seen seen[SEEN_MAX];
	struct lookup lk;

	add_search(c, "a.example");
	add_search(c, "example");
	resolve_once(&client_ldns_driver, c, "www", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_true(has_addr(&lk, "192.0.2.80"));
	size_t n = farm_seen(*state, seen, SEEN_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(seen[0].qname, "www.a.example.");
	assert_string_equal(seen[1].qname, "www.example.");

	resolve_once(&client_ldns_driver, c, "nosuch", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_ERROR);
	assert_int_equal(lk.rcode, -1);
	assert_string_equal(lk.error, "LDNS_STATUS_OK without a reply");
	n = farm_seen(*state, seen, SEEN_MAX);
	assert_int_equal(n, 3);
	assert_string_equal(seen[0].qname, "nosuch.a.example.");
	assert_string_equal(seen[1].qname, "nosuch.example.");
	assert_string_equal(seen[2].qname, "nosuch.");

	/* A name with a final dot is asked as it is. */
	resolve_once(&client_ldns_driver, c, "www.example.", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(farm_seen(*state, seen, SEEN_MAX), 1);
	client_free(c);
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
	int fd = silent_socket(&target);
	struct client *c = client_new(CLIENT_LDNS, &target);
	struct lookup lk;
	uint16_t ports[8], ids[8];
	char err[256] = "";

	c->cfg.timeout_s = 0.3;
	c->cfg.attempts = 2;
	void *t = client_ldns_driver.thread_open(c, err, sizeof err);
	assert_non_null(t);

	lookup_init(&lk, "www.example", LDNS_RR_TYPE_A);
	double t0 = now_s();
	client_ldns_driver.resolve(c, t, &lk);
	double dt = now_s() - t0;
	assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT);
	assert_string_equal(lk.error, "LDNS_STATUS_NETWORK_ERR");
	assert_int_equal(lk.rcode, -1);
	assert_true(dt >= 0.55 && dt < 2.0); /* 2 tries x 0.3 s */
	assert_int_equal(silent_drain(fd, ports, ids, 8), 2);
	assert_int_not_equal(ports[0], ports[1]);
	assert_int_equal(ids[0], ids[1]);

	/* The same resolver object: fails at once, sends nothing. */
	lookup_init(&lk, "www.example", LDNS_RR_TYPE_A);
	t0 = now_s();
	client_ldns_driver.resolve(c, t, &lk);
	dt = now_s() - t0;
	assert_outcome(&lk, LOOKUP_FAIL, REASON_UNREACHABLE);
	assert_string_equal(lk.error, "LDNS_STATUS_RES_NO_NS");
	assert_true(dt < 0.1);
	sleep_s(0.05);
	assert_int_equal(silent_drain(fd, ports, ids, 8), 0);
	client_ldns_driver.thread_close(t);

	/* A new resolver asks again. */
	c->cfg.attempts = 1;
	resolve_once(&client_ldns_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT);
	assert_int_equal(silent_drain(fd, ports, ids, 8), 1);
	client_free(c);
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
	client_free(c);
}

static void test_exec_dig_short_gives_addresses(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct seen seen[SEEN_MAX];
	struct lookup lk;

	set_argv(c, "dig", "+short", "+time=1", "+tries=1", "@{server}", "-p", "{port}", "{name}",
	         "{type}", NULL);
	resolve_once(&client_exec_driver, c, "ftp.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.exit_status, 0);
	assert_int_equal(lk.naddrs, 1);
	assert_true(has_addr(&lk, "192.0.2.80"));
	assert_string_equal(lk.output, "www.example.\n192.0.2.80");
	assert_int_equal(farm_seen(*state, seen, SEEN_MAX), 1);
	assert_string_equal(seen[0].qname, "ftp.example.");
	assert_int_equal(seen[0].qtype, LDNS_RR_TYPE_A);

	resolve_once(&client_exec_driver, c, "www.example", LDNS_RR_TYPE_AAAA, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_true(has_addr(&lk, "2001:db8::80"));
	assert_int_equal(farm_seen(*state, seen, SEEN_MAX), 1);
	assert_int_equal(seen[0].qtype, LDNS_RR_TYPE_AAAA);
	client_free(c);
}

/* dig +short exits 0 with nothing on NXDOMAIN: only NODATA can be said. */
static void test_exec_dig_short_cannot_see_nxdomain(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "dig", "+short", "+time=1", "+tries=1", "@{server}", "-p", "{port}", "{name}",
	         "{type}", NULL);
	resolve_once(&client_exec_driver, c, "nosuch.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_NODATA);
	assert_int_equal(lk.exit_status, 0);
	assert_string_equal(lk.error, "no address in output");
	assert_string_equal(lk.output, "");
	client_free(c);
}

static void test_exec_dig_status_line(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "dig", "+noall", "+comments", "+time=1", "+tries=1", "@{server}", "-p",
	         "{port}", "{name}", "{type}", NULL);
	resolve_once(&client_exec_driver, c, "nosuch.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_NXDOMAIN);
	assert_int_equal(lk.rcode, 3);
	assert_int_equal(lk.exit_status, 0);
	assert_non_null(strstr(lk.output, "status: NXDOMAIN"));

	resolve_once(&client_exec_driver, c, "broken.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_SERVFAIL);
	assert_int_equal(lk.rcode, 2);
	client_free(c);
}

/* dig against a silent server exits 9 ("no servers could be reached"). */
static void test_exec_dig_timeout(void **state)
{
	(void)state;
	struct addr target;
	int fd = silent_socket(&target);
	struct client *c = client_new(CLIENT_EXEC, &target);
	struct lookup lk;

	set_argv(c, "dig", "+short", "+time=1", "+tries=1", "@{server}", "-p", "{port}", "{name}",
	         NULL);
	double dt = resolve_once(&client_exec_driver, c, "www.example", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT);
	assert_int_equal(lk.exit_status, 9);
	assert_string_equal(lk.error, "exit 9");
	assert_true(dt >= 0.9 && dt < 4.0);
	client_free(c);
	close(fd);
}

static void test_exec_substitution(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;
	char want[160], perr[128];
	struct farm *f = *state;

	assert_int_equal(addr_parse("127.0.0.9:0", 53, &c->cfg.source, perr, sizeof perr), 0);
	set_argv(c, "echo", "n={name}", "{server}", "p={port}", "t={type}", "s={source}",
	         "{nope}{name}{name}", NULL);
	resolve_once(&client_exec_driver, c, "db.internal", 65534, &lk);
	snprintf(want, sizeof want,
	         "n=db.internal 127.0.0.1 p=%u t=TYPE65534 s=127.0.0.9 "
	         "{nope}db.internaldb.internal",
	         (unsigned)addr_port(server_addr(f->server)));
	assert_string_equal(lk.output, want);
	/* "127.0.0.1" is an address token: exit 0 with it is an answer. */
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.naddrs, 1);
	client_free(c);
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
	assert_true(has_addr(&lk, "fd00::1"));
	client_free(c);
}

/* getent exits 2 for "key not found" (a passwd lookup: local files only). */
static void test_exec_getent_not_found(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "getent", "passwd", "dnschaos-no-such-user-{name}", NULL);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_NXDOMAIN);
	assert_int_equal(lk.exit_status, 2);
	client_free(c);
}

static void test_exec_time_limit_kills(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	c->cfg.timeout_s = 0.3;
	set_argv(c, "sleep", "5", NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT);
	assert_int_equal(lk.exit_status, -1);
	assert_string_equal(lk.error, "killed after 0.3 s");
	assert_true(dt >= 0.29 && dt < 1.5);
	client_free(c);
}

/* A command that never stops writing is still killed at its limit. */
static void test_exec_time_limit_kills_a_chatty_command(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	c->cfg.timeout_s = 0.3;
	set_argv(c, "yes", "10.9.8.7", NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT);
	assert_int_equal(lk.exit_status, -1);
	assert_int_equal(strncmp(lk.output, "10.9.8.7\n10.9.8.7\n", 18), 0);
	assert_true(dt >= 0.29 && dt < 1.5);
	client_free(c);
}

static void test_exec_missing_program(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "dnschaos-no-such-program", "{name}", NULL);
	resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_FAIL, REASON_ERROR);
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
	client_free(c);
}

/* Output beyond the capture is drained (the command is not blocked) and cut. */
static void test_exec_large_output(void **state)
{
	struct client *c = farm_client(state, CLIENT_EXEC);
	struct lookup lk;

	set_argv(c, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo 10.1.2.3; i=$((i+1)); done",
	         NULL);
	double dt = resolve_once(&client_exec_driver, c, "x", LDNS_RR_TYPE_A, &lk);
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_int_equal(lk.exit_status, 0);
	assert_int_equal(lk.naddrs, 1);
	assert_true(strlen(lk.output) == LOOKUP_OUTPUT_MAX - 1);
	assert_true(dt < 4.0);
	client_free(c);
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
	assert_outcome(&lk, LOOKUP_OK, REASON_NONE);
	assert_true(has_addr(&lk, "192.0.2.7"));
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
	client_free(c);
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
	w->ended = now_s();
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
	double stop = now_s();
	atomic_store(&w.c->stopping, true);
	pthread_join(th, NULL);
	double dt = w.ended - stop;
	assert_true(dt < 0.4); /* slices of 50 ms; generous for a loaded machine */
	assert_int_equal(w.lk.result, LOOKUP_CANCELLED);
	assert_int_equal(w.lk.exit_status, -1);
	printf("# exec returned %.0f ms after client_stopping\n", dt * 1000);

	/* Already stopping: nothing is run. */
	double t0 = now_s();
	resolve_once(&client_exec_driver, w.c, "x", LDNS_RR_TYPE_A, &w.lk);
	assert_int_equal(w.lk.result, LOOKUP_CANCELLED);
	assert_true(now_s() - t0 < 0.1);
	client_free(w.c);
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
	        cmocka_unit_test_setup(test_exec_stops_with_the_run, test_setup),
	};
	return cmocka_run_group_tests(tests, farm_setup, farm_teardown);
}
