/*
 * test_server_faults.c - the server carrying out a fault plan, seen from a
 * real client on an ephemeral loopback port: each fault kind injected and
 * healed, delays and jitter, the capacity queue, name/qtype/transport
 * matching, seeded fractions, and connections that close while replies are
 * still queued or delayed (run under valgrind and ASan for the leaks).
 *
 * Timing: a reply may come late on a loaded machine but never early, so
 * lower bounds are tight (less a little for libevent's coarse clock) and
 * upper bounds are generous. Nothing asserts speed.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include "fakeresolver/server.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must point at scenarios/zones"
#endif

/* How early a timer may fire by libevent's clock (CLOCK_MONOTONIC_COARSE). */
#define EARLY 0.02
/* How late a reply may be on a loaded 2-core machine (or under valgrind). */
#define LATE 1.0
/* How long to listen before concluding that no reply is coming. */
#define SILENCE 0.3

static const uint8_t ip_v2[4] = { 10, 20, 0, 42 }; /* db-primary in internal.v2 */
static const uint8_t ip_v1[4] = { 10, 20, 0, 15 }; /* db-primary in the stale v1 */

/* One server event, copied out of the log callback. */
struct logged {
	uint16_t id;
	enum answer_transport transport;
	bool has_decision;
	enum fault_action action;
	uint32_t fault_id;
	double delay_s;
	bool queue_full;
	double queue_s;
	size_t reply_len;
	uint64_t tag;
	double at; /* now_s() when logged */
};

#define LOG_MAX 256

struct fixture {
	struct event_base *base;
	struct zone_set *zones;
	struct server *server;
	struct fault_plan *plan;
	struct rng rng;
	struct logged log[LOG_MAX];
	size_t nlog;
	/* the arrive hook's calls: the query id and when */
	uint16_t arrived_id[LOG_MAX];
	double arrived_at[LOG_MAX];
	size_t narrived;
};

/* A reply as the client saw it. */
struct rx {
	uint16_t id;
	double at; /* seconds since the queries were sent */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void on_event(void *arg, const struct server_event *ev)
{
	struct fixture *f = arg;
	if (f->nlog == LOG_MAX)
		return;
	struct logged *l = &f->log[f->nlog++];
	memset(l, 0, sizeof *l);
	l->id = ev->info->query.id;
	l->transport = ev->transport;
	l->has_decision = ev->decision != NULL;
	if (ev->decision) {
		l->action = ev->decision->action;
		l->fault_id = ev->decision->fault_id;
		l->delay_s = ev->decision->delay_s;
	}
	l->queue_full = ev->queue_full;
	l->queue_s = ev->queue_s;
	l->tag = ev->tag;
	l->at = now_s();
	l->reply_len = ev->reply_len;
}

static struct fixture *fixture_new(const struct server_config *over, uint64_t seed)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];
	struct server_config cfg;
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->zones = load_set("internal.v2.zone");
	if (over)
		cfg = *over;
	else
		server_config_defaults(&cfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	f->server = server_create(f->base, f->zones, &cfg, err, sizeof err);
	if (!f->server)
		fail_msg("server_create: %s", err);
	f->plan = fault_plan_create();
	assert_non_null(f->plan);
	rng_seed(&f->rng, seed);
	server_set_faults(f->server, f->plan, &f->rng);
	server_set_log(f->server, on_event, f);
	return f;
}

static void fixture_free(struct fixture *f)
{
	server_destroy(f->server);
	fault_plan_destroy(f->plan);
	event_base_free(f->base);
	zone_set_destroy(f->zones);
	free(f);
}

static struct fault_spec spec_of(enum fault_kind kind, const char *pattern)
{
	struct fault_spec s;
	char err[256] = "";
	memset(&s, 0, sizeof s);
	s.kind = kind;
	fault_match_all(&s.match);
	if (pattern && fault_match_name(&s.match, pattern, err, sizeof err) != 0)
		fail_msg("%s", err);
	return s;
}

static uint32_t inject(struct fixture *f, const struct fault_spec *s)
{
	uint32_t id = 0;
	assert_int_equal(fault_plan_add(f->plan, s, &id), 0);
	return id;
}

static void heal(struct fixture *f, uint32_t id)
{
	assert_int_equal(fault_plan_remove(f->plan, id), 0);
}

/* Runs the loop for a while. */
static void pump_for(struct fixture *f, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		(void)poll(NULL, 0, 2);
	}
}

/* Runs the loop until fd is readable or the time is up; true if readable. */
static bool pump_until_readable(struct fixture *f, int fd, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 2) > 0)
			return true;
	}
	return false;
}

/* Runs the loop until the server has logged n events (or 5 s passed). */
static void pump_until_logged(struct fixture *f, size_t n)
{
	double end = now_s() + 5.0;
	while (f->nlog < n && now_s() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		(void)poll(NULL, 0, 1);
	}
	assert_true(f->nlog >= n);
}

/* Builds a query for name (dotted, absolute) and type; returns its length. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type)
{
	size_t n = WIRE_HEADER_LEN;
	memset(buf, 0, WIRE_HEADER_LEN);
	wire_put16(buf, id);
	wire_put16(buf + 2, WIRE_FLAG_RD);
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

static int udp_client(const struct fixture *f)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	const struct addr *a = server_addr(f->server);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	return fd;
}

static size_t udp_send(int fd, uint8_t *q, uint16_t id, const char *name, uint16_t type)
{
	size_t n = make_query(q, id, name, type);
	assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
	return n;
}

/* Waits for one UDP reply; its length, or 0 if none came in time. */
static size_t udp_wait(struct fixture *f, int fd, uint8_t *r, size_t cap, double seconds)
{
	if (!pump_until_readable(f, fd, seconds))
		return 0;
	ssize_t got = recv(fd, r, cap, MSG_DONTWAIT);
	assert_true(got >= WIRE_HEADER_LEN);
	return (size_t)got;
}

/* Sends one query and waits for its reply (3 s); its length, or 0. */
static size_t udp_ask(struct fixture *f, int fd, uint8_t *q, size_t *qlen, uint16_t id,
		      const char *name, uint16_t type, uint8_t *r, size_t cap)
{
	*qlen = udp_send(fd, q, id, name, type);
	size_t n = udp_wait(f, fd, r, cap, 3.0);
	if (n)
		assert_int_equal(wire_get16(r), id);
	return n;
}

/* Collects UDP replies until the deadline; returns how many (at most max). */
static size_t udp_collect(struct fixture *f, int fd, double start, double until, struct rx *rx,
			  size_t max)
{
	size_t n = 0;
	uint8_t r[2048];
	while (now_s() < until) {
		if (!pump_until_readable(f, fd, until - now_s()))
			break;
		ssize_t got;
		while ((got = recv(fd, r, sizeof r, MSG_DONTWAIT)) > 0) {
			assert_true(got >= WIRE_HEADER_LEN);
			assert_true(n < max);
			rx[n].id = wire_get16(r);
			rx[n].at = now_s() - start;
			n++;
		}
	}
	return n;
}

static int tcp_client(struct fixture *f)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	const struct addr *a = server_addr(f->server);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK); /* accept */
	return fd;
}

/* Sends one length-prefixed query; returns the query's length (without the prefix). */
static size_t tcp_send(int fd, uint8_t *q, uint16_t id, const char *name, uint16_t type)
{
	size_t n = make_query(q + 2, id, name, type);
	wire_put16(q, (uint16_t)n);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	return n;
}

static bool tcp_read_exact(struct fixture *f, int fd, uint8_t *buf, size_t n, double seconds)
{
	size_t got = 0;
	double end = now_s() + seconds;
	while (got < n) {
		if (!pump_until_readable(f, fd, end - now_s()))
			return false;
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return false;
		if (r > 0)
			got += (size_t)r;
	}
	return true;
}

/* Reads one length-prefixed message; its length, or 0 on EOF or timeout. */
static size_t tcp_read_msg(struct fixture *f, int fd, uint8_t *buf, double seconds)
{
	uint8_t hdr[2];
	if (!tcp_read_exact(f, fd, hdr, 2, seconds))
		return 0;
	size_t len = wire_get16(hdr);
	return tcp_read_exact(f, fd, buf, len, seconds) ? len : 0;
}

/* ---- reading replies ---- */

static uint16_t r_flags(const uint8_t *r)
{
	return wire_get16(r + 2);
}

static unsigned r_rcode(const uint8_t *r)
{
	return wire_get16(r + 2) & 0xf;
}

static uint16_t r_count(const uint8_t *r, int section) /* 0 qd, 1 an, 2 ns, 3 ar */
{
	return wire_get16(r + 4 + 2 * section);
}

/* The reply echoes the question of query q (qlen octets, no EDNS) and nothing else. */
static void assert_bare_echo(const uint8_t *r, size_t rlen, const uint8_t *q, size_t qlen)
{
	assert_int_equal(wire_get16(r), wire_get16(q));
	assert_true(r_flags(r) & WIRE_FLAG_QR);
	assert_int_equal(r_flags(r) & WIRE_FLAG_RD, wire_get16(q + 2) & WIRE_FLAG_RD);
	assert_int_equal(r_count(r, 0), 1);
	assert_int_equal(r_count(r, 1), 0);
	assert_int_equal(r_count(r, 2), 0);
	assert_int_equal(r_count(r, 3), 0);
	assert_int_equal(rlen, qlen);
	assert_memory_equal(r + WIRE_HEADER_LEN, q + WIRE_HEADER_LEN, qlen - WIRE_HEADER_LEN);
}

/*
 * Reads the answer section with ldns (not our own parser): returns the number
 * of records of type (A or AAAA) owned by owner, copying the first address.
 */
static size_t answer_addrs(const uint8_t *r, size_t len, const char *owner, ldns_rr_type type,
			   uint8_t *addr)
{
	ldns_pkt *p = NULL;
	ldns_rdf *want = NULL;
	size_t found = 0;
	assert_int_equal(ldns_wire2pkt(&p, r, len), LDNS_STATUS_OK);
	assert_int_equal(ldns_str2rdf_dname(&want, owner), LDNS_STATUS_OK);
	ldns_rr_list *an = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != type || ldns_dname_compare(ldns_rr_owner(rr), want) != 0)
			continue;
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		if (found++ == 0 && addr)
			memcpy(addr, ldns_rdf_data(rd), ldns_rdf_size(rd));
	}
	ldns_rdf_deep_free(want);
	ldns_pkt_free(p);
	return found;
}

/* db-primary.internal. A, answered correctly from internal.v2. */
static void assert_normal_answer(struct fixture *f, int fd, uint16_t id)
{
	uint8_t q[512], r[2048], addr[4];
	size_t qlen;
	size_t n = udp_ask(f, fd, q, &qlen, id, "db-primary.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_true(r_flags(r) & WIRE_FLAG_AA);
	assert_false(r_flags(r) & WIRE_FLAG_TC);
	assert_int_equal(answer_addrs(r, n, "db-primary.internal.", LDNS_RR_TYPE_A, addr), 1);
	assert_memory_equal(addr, ip_v2, 4);
}

/* ---- bad parameters ---- */

static void test_empty_plan_and_no_plan_take_the_fast_path(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	struct server_stats st;
	int fd = udp_client(f);

	/* An empty plan: no decision is made, nothing counts as a fault. */
	assert_normal_answer(f, fd, 1);
	assert_int_equal(f->nlog, 1);
	assert_false(f->log[0].has_decision);

	/* A plan with a fault takes the slow path... */
	struct fault_spec hang = spec_of(FAULT_HANG, "db-primary.internal");
	inject(f, &hang);
	uint8_t q[512], r[2048];
	udp_send(fd, q, 2, "db-primary.internal.", DNS_TYPE_A);
	assert_int_equal(udp_wait(f, fd, r, sizeof r, SILENCE), 0);
	assert_int_equal(f->nlog, 2);
	assert_true(f->log[1].has_decision);
	assert_int_equal(f->log[1].action, FAULT_ACT_DROP);

	/* ...and unsetting it restores the fast path with the fault still in the plan. */
	server_set_faults(f->server, NULL, NULL);
	assert_normal_answer(f, fd, 3);
	assert_int_equal(f->nlog, 3);
	assert_false(f->log[2].has_decision);
	server_get_stats(f->server, &st);
	assert_int_equal(st.fault_acted, 1);
	assert_int_equal(st.udp_received, 3);
	assert_int_equal(st.udp_replied, 2);

	/* A capacity limit alone is enough to take the slow path. */
	fault_plan_clear(f->plan);
	fault_plan_set_capacity(f->plan, 1000, 10);
	server_set_faults(f->server, f->plan, &f->rng);
	assert_normal_answer(f, fd, 4);
	assert_true(f->log[3].has_decision);
	assert_int_equal(f->log[3].action, FAULT_ACT_ANSWER);
	close(fd);
	fixture_free(f);
}

static void test_unset_plan_with_queries_in_the_queue(void **state)
{
	(void)state;
	/* The plan is borrowed: once unset it may be freed, even while queries it
	 * admitted to the capacity queue are still waiting. They are then answered
	 * without faults, and nothing touches the freed plan. */
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512];
	struct rx rx[8];
	int fd = udp_client(f);
	fault_plan_set_capacity(f->plan, 10, 5); /* 100 ms each */
	double start = now_s();
	for (uint16_t id = 1; id <= 3; id++)
		udp_send(fd, q, id, "db-primary.internal.", DNS_TYPE_A);
	event_base_loop(f->base, EVLOOP_NONBLOCK); /* admitted, none served yet */
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.udp_received, 3);
	assert_int_equal(st.udp_replied, 0);
	server_set_faults(f->server, NULL, NULL);
	fault_plan_destroy(f->plan);
	f->plan = NULL;
	size_t n = udp_collect(f, fd, start, start + 0.3 + LATE, rx, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rx[i].id, i + 1);
	close(fd);
	fixture_free(f);
}

/* ---- each fault kind, injected and healed ---- */

static void test_hang_drops_then_heals(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[2048];
	size_t qlen;
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_HANG, "db-primary.internal");
	uint32_t id = inject(f, &s);

	udp_send(fd, q, 10, "db-primary.internal.", DNS_TYPE_A);
	assert_int_equal(udp_wait(f, fd, r, sizeof r, SILENCE), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].action, FAULT_ACT_DROP);
	assert_int_equal(f->log[0].fault_id, id);
	assert_int_equal(f->log[0].reply_len, 0);
	/* Another name is still answered while the fault is active. */
	assert_true(udp_ask(f, fd, q, &qlen, 11, "web.internal.", DNS_TYPE_A, r, sizeof r) > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);

	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.udp_received, 2);
	assert_int_equal(st.udp_replied, 1);
	assert_int_equal(st.fault_acted, 1);

	heal(f, id);
	assert_normal_answer(f, fd, 12);
	close(fd);
	fixture_free(f);
}

static void test_hang_over_tcp_keeps_the_connection(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[65535];
	int fd = tcp_client(f);
	struct fault_spec s = spec_of(FAULT_HANG, "db-primary.internal");
	inject(f, &s);
	/* Pipelined: the hung query gets nothing, the next one its answer. */
	tcp_send(fd, q, 20, "db-primary.internal.", DNS_TYPE_A);
	tcp_send(fd, q, 21, "web.internal.", DNS_TYPE_A);
	size_t n = tcp_read_msg(f, fd, r, 3.0);
	assert_true(n > 0);
	assert_int_equal(wire_get16(r), 21);
	assert_false(pump_until_readable(f, fd, SILENCE));
	close(fd);
	fixture_free(f);
}

static void test_rcode_replies_echo_the_question(void **state)
{
	(void)state;
	static const uint16_t rcodes[] = { DNS_RCODE_SERVFAIL, DNS_RCODE_REFUSED,
					   DNS_RCODE_NXDOMAIN };
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[2048];
	size_t qlen;
	int fd = udp_client(f);
	for (size_t i = 0; i < sizeof rcodes / sizeof rcodes[0]; i++) {
		struct fault_spec s = spec_of(FAULT_RCODE, "db-primary.internal");
		s.rcode = rcodes[i];
		uint32_t id = inject(f, &s);
		/* Mixed case: the echo is the question as sent. */
		size_t n = udp_ask(f, fd, q, &qlen, (uint16_t)(30 + i), "DB-Primary.Internal.",
				   DNS_TYPE_A, r, sizeof r);
		assert_true(n > 0);
		assert_int_equal(r_rcode(r), rcodes[i]);
		assert_false(r_flags(r) & WIRE_FLAG_TC);
		assert_bare_echo(r, n, q, qlen);
		heal(f, id);
		assert_normal_answer(f, fd, (uint16_t)(40 + i));
	}
	close(fd);
	fixture_free(f);
}

static void test_truncate_udp_only(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[65535], addr[4];
	size_t qlen;
	int fd = udp_client(f), tfd = tcp_client(f);
	struct fault_spec s = spec_of(FAULT_TRUNCATE, "db-primary.internal");
	uint32_t id = inject(f, &s);

	size_t n = udp_ask(f, fd, q, &qlen, 50, "db-primary.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_true(r_flags(r) & WIRE_FLAG_TC);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_bare_echo(r, n, q, qlen);

	/* The retry over TCP gets the whole answer. */
	tcp_send(tfd, q, 51, "db-primary.internal.", DNS_TYPE_A);
	n = tcp_read_msg(f, tfd, r, 3.0);
	assert_true(n > 0);
	assert_int_equal(wire_get16(r), 51);
	assert_false(r_flags(r) & WIRE_FLAG_TC);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_int_equal(answer_addrs(r, n, "db-primary.internal.", LDNS_RR_TYPE_A, addr), 1);
	assert_memory_equal(addr, ip_v2, 4);

	heal(f, id);
	assert_normal_answer(f, fd, 52);
	close(tfd);
	close(fd);
	fixture_free(f);
}

static void test_wrong_address(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[2048], addr[16];
	size_t qlen, n;
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_WRONG, "*.internal");
	static const uint8_t wrong4[4] = { 192, 0, 2, 66 };
	s.wrong_family = AF_INET;
	memcpy(s.wrong_addr, wrong4, 4);
	uint32_t id = inject(f, &s);

	n = udp_ask(f, fd, q, &qlen, 60, "db-primary.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_true(r_flags(r) & WIRE_FLAG_AA);
	assert_int_equal(r_count(r, 1), 1);
	assert_int_equal(answer_addrs(r, n, "db-primary.internal.", LDNS_RR_TYPE_A, addr), 1);
	assert_memory_equal(addr, wrong4, 4);
	/* Even a name that does not exist is claimed. */
	n = udp_ask(f, fd, q, &qlen, 61, "nope.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_int_equal(answer_addrs(r, n, "nope.internal.", LDNS_RR_TYPE_A, addr), 1);
	assert_memory_equal(addr, wrong4, 4);
	/* The other address type gets NODATA, even where the zone has one. */
	n = udp_ask(f, fd, q, &qlen, 62, "db-replica.internal.", DNS_TYPE_AAAA, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_true(r_flags(r) & WIRE_FLAG_AA);
	assert_int_equal(r_count(r, 1), 0);

	heal(f, id);
	assert_normal_answer(f, fd, 63);

	/* An IPv6 wrong address answers AAAA, and A gets NODATA. */
	static const uint8_t wrong6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x66 };
	s.wrong_family = AF_INET6;
	memcpy(s.wrong_addr, wrong6, 16);
	inject(f, &s);
	n = udp_ask(f, fd, q, &qlen, 64, "db-replica.internal.", DNS_TYPE_AAAA, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(answer_addrs(r, n, "db-replica.internal.", LDNS_RR_TYPE_AAAA, addr), 1);
	assert_memory_equal(addr, wrong6, 16);
	n = udp_ask(f, fd, q, &qlen, 65, "db-replica.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_int_equal(r_count(r, 1), 0);
	close(fd);
	fixture_free(f);
}

static void test_wrong_zone_set_serves_stale_data(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[2048], addr[4];
	size_t qlen;
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_WRONG, "db-primary.internal");
	s.wrong_zones = load_set("internal.v1.zone"); /* the plan owns it from here */
	uint32_t id = inject(f, &s);

	size_t n = udp_ask(f, fd, q, &qlen, 70, "db-primary.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_true(r_flags(r) & WIRE_FLAG_AA);
	assert_int_equal(answer_addrs(r, n, "db-primary.internal.", LDNS_RR_TYPE_A, addr), 1);
	assert_memory_equal(addr, ip_v1, 4);
	assert_int_equal(f->log[0].action, FAULT_ACT_WRONG);

	heal(f, id); /* frees the stale set */
	assert_normal_answer(f, fd, 71);
	close(fd);
	fixture_free(f);
}

/* ---- delays ---- */

static void test_delay_holds_the_reply(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[2048];
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_DELAY, "db-primary.internal");
	s.delay_s = 0.15;
	s.dist = RNG_DIST_CONSTANT;
	uint32_t id = inject(f, &s);

	double start = now_s();
	udp_send(fd, q, 80, "db-primary.internal.", DNS_TYPE_A);
	size_t n = udp_wait(f, fd, r, sizeof r, 0.15 + LATE + 1.0);
	double took = now_s() - start;
	assert_true(n > 0);
	assert_int_equal(wire_get16(r), 80);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	if (took < 0.15 - EARLY || took > 0.15 + LATE)
		fail_msg("delayed reply after %.3f s, want 0.15 s", took);
	/* The decision is logged when it is made, with the delay to come. */
	assert_int_equal(f->log[0].action, FAULT_ACT_ANSWER);
	assert_true(f->log[0].delay_s == 0.15);
	assert_true(f->log[0].reply_len > 0);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.fault_acted, 1);

	heal(f, id);
	assert_normal_answer(f, fd, 81);
	assert_false(f->log[1].has_decision);
	close(fd);
	fixture_free(f);
}

static void test_delay_over_tcp_and_with_an_rcode(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[65535];
	int fd = tcp_client(f);
	struct fault_spec rc = spec_of(FAULT_RCODE, "db-primary.internal");
	struct fault_spec d = spec_of(FAULT_DELAY, NULL);
	rc.rcode = DNS_RCODE_SERVFAIL;
	d.delay_s = 0.15;
	d.dist = RNG_DIST_CONSTANT;
	inject(f, &rc);
	inject(f, &d); /* injected after the rcode fault: it still adds its delay */

	double start = now_s();
	tcp_send(fd, q, 90, "db-primary.internal.", DNS_TYPE_A);
	size_t n = tcp_read_msg(f, fd, r, 0.15 + LATE + 1.0);
	double took = now_s() - start;
	assert_true(n > 0);
	assert_int_equal(wire_get16(r), 90);
	assert_int_equal(r_rcode(r), DNS_RCODE_SERVFAIL);
	if (took < 0.15 - EARLY || took > 0.15 + LATE)
		fail_msg("slow SERVFAIL after %.3f s, want 0.15 s", took);
	/* The plain delay applies to another name over the same connection. */
	start = now_s();
	tcp_send(fd, q, 91, "web.internal.", DNS_TYPE_A);
	n = tcp_read_msg(f, fd, r, 0.15 + LATE + 1.0);
	took = now_s() - start;
	assert_true(n > 0);
	assert_int_equal(wire_get16(r), 91);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_true(r_count(r, 1) >= 1);
	if (took < 0.15 - EARLY || took > 0.15 + LATE)
		fail_msg("delayed reply after %.3f s, want 0.15 s", took);
	close(fd);
	fixture_free(f);
}

static void test_uniform_jitter_within_bounds(void **state)
{
	(void)state;
	enum { N = 12 };
	struct fixture *f = fixture_new(NULL, 7);
	uint8_t q[512];
	struct rx rx[N + 1];
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_DELAY, NULL);
	s.delay_s = 0.2;
	s.spread_s = 0.1;
	s.dist = RNG_DIST_UNIFORM;
	inject(f, &s);

	double start = now_s();
	for (uint16_t i = 0; i < N; i++)
		udp_send(fd, q, (uint16_t)(100 + i), "web.internal.", DNS_TYPE_A);
	size_t n = udp_collect(f, fd, start, start + 0.3 + LATE, rx, N + 1);
	assert_int_equal(n, N);
	assert_int_equal(f->nlog, N);

	double lo = 1, hi = 0;
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(f->log[i].id, 100 + i);
		double d = f->log[i].delay_s;
		assert_true(d >= 0.1 && d <= 0.3);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(hi - lo > 0.02); /* really jittered */
	for (size_t i = 0; i < N; i++) {
		double d = f->log[rx[i].id - 100].delay_s;
		if (rx[i].at < d - EARLY || rx[i].at > d + LATE)
			fail_msg("query %u: reply after %.3f s, drawn delay %.3f s", rx[i].id,
				 rx[i].at, d);
		/* Each reply waits for its own draw: they arrive in the order of their delays. */
		if (i > 0)
			assert_true(f->log[rx[i - 1].id - 100].delay_s <= d);
	}
	close(fd);
	fixture_free(f);
}

/* ---- capacity ---- */

static void test_capacity_queue_serves_at_the_rate_and_drops_the_rest(void **state)
{
	(void)state;
	enum { N = 20, QPS = 20, QUEUE = 5 };
	const double service = 1.0 / QPS;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512];
	struct rx rx[N];
	int fd = udp_client(f);
	fault_plan_set_capacity(f->plan, QPS, QUEUE);

	/* All twenty are in the socket before the server reads any: one burst. */
	double start = now_s();
	for (uint16_t i = 1; i <= N; i++)
		udp_send(fd, q, i, "db-primary.internal.", DNS_TYPE_A);
	size_t n = udp_collect(f, fd, start, start + QUEUE * service + LATE, rx, N);

	/* queue_len counts every query admitted and not yet answered, including
	 * the one in service: five are answered, in arrival order. */
	assert_int_equal(n, QUEUE);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rx[i].id, i + 1);
		/* The k-th is answered at the end of its service, k/qps after the burst. */
		double due = (double)(i + 1) * service;
		if (rx[i].at < due - EARLY || rx[i].at > due + LATE)
			fail_msg("answer %zu after %.3f s, due at %.3f s", i + 1, rx[i].at, due);
		if (i > 0)
			assert_true(rx[i].at >= rx[i - 1].at);
	}
	assert_true(rx[n - 1].at >= 0.15);

	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.udp_received, N);
	assert_int_equal(st.queue_full, N - QUEUE);
	assert_int_equal(st.udp_replied, QUEUE);

	/* The log: fifteen refused on arrival, then five served with growing waits. */
	assert_int_equal(f->nlog, N);
	size_t full = 0, served = 0;
	double last_wait = 0;
	for (size_t i = 0; i < f->nlog; i++) {
		const struct logged *l = &f->log[i];
		if (l->queue_full) {
			full++;
			assert_int_equal(l->id, QUEUE + full);
			assert_false(l->has_decision);
			assert_int_equal(l->reply_len, 0);
			continue;
		}
		served++;
		assert_int_equal(l->id, served);
		assert_true(l->has_decision);
		assert_true(l->reply_len > 0);
		assert_true(l->queue_s >= (double)served * service - EARLY);
		assert_true(l->queue_s >= last_wait);
		last_wait = l->queue_s;
	}
	assert_int_equal(full, N - QUEUE);
	assert_int_equal(served, QUEUE);

	/* Drained, the queue takes a full burst again: no slot was lost. */
	start = now_s();
	for (uint16_t i = 101; i <= 100 + QUEUE; i++)
		udp_send(fd, q, i, "db-primary.internal.", DNS_TYPE_A);
	n = udp_collect(f, fd, start, start + QUEUE * service + LATE, rx, N);
	assert_int_equal(n, QUEUE);
	server_get_stats(f->server, &st);
	assert_int_equal(st.queue_full, N - QUEUE);

	/* Removing the limit ends the queueing. */
	fault_plan_set_capacity(f->plan, 0, 0);
	assert_normal_answer(f, fd, 200);
	assert_false(f->log[f->nlog - 1].has_decision);
	close(fd);
	fixture_free(f);
}

static uint64_t on_arrive(void *arg, enum answer_transport tp, const struct addr *peer,
			  const uint8_t *pkt, size_t len)
{
	struct fixture *f = arg;
	(void)tp;
	(void)peer;
	assert_true(len >= 12);
	if (f->narrived == LOG_MAX)
		return 0;
	f->arrived_id[f->narrived] = wire_get16(pkt);
	f->arrived_at[f->narrived++] = now_s();
	return 1000u + wire_get16(pkt);
}

/*
 * The arrive hook meets a query when it enters the capacity queue, before it
 * waits, and what it returns comes back with that query's log event after
 * the wait (the harness joins a query to a lookup on arrival that way). A
 * query dropped on arrival (queue full) is logged at once, without a tag.
 */
static void test_capacity_arrive_hook_tags_queued_queries(void **state)
{
	(void)state;
	enum { N = 4, QPS = 10, QUEUE = 3 };
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512];
	struct rx rx[N];
	int fd = udp_client(f);
	fault_plan_set_capacity(f->plan, QPS, QUEUE);
	server_set_arrive(f->server, on_arrive, f);
	double start = now_s();
	for (uint16_t i = 1; i <= N; i++)
		udp_send(fd, q, i, "db-primary.internal.", DNS_TYPE_A);
	size_t n = udp_collect(f, fd, start, start + QUEUE * (1.0 / QPS) + LATE, rx, N);
	assert_int_equal(n, QUEUE);
	assert_int_equal(f->narrived, QUEUE); /* the fourth found the queue full */
	assert_int_equal(f->nlog, N);
	size_t served = 0;
	for (size_t i = 0; i < f->nlog; i++) {
		const struct logged *l = &f->log[i];
		if (l->queue_full) {
			assert_int_equal(l->id, N);
			assert_int_equal(l->tag, 0);
			continue;
		}
		served++;
		assert_int_equal(l->tag, 1000u + l->id);
		assert_int_equal(f->arrived_id[l->id - 1], l->id);
		/* it met the hook before its wait, and was logged after it */
		assert_true(f->arrived_at[l->id - 1] <= l->at - l->queue_s + 0.001);
		assert_true(l->queue_s > 0);
	}
	assert_int_equal(served, QUEUE);
	/* Without a capacity queue, the hook is never called and events carry no tag. */
	fault_plan_set_capacity(f->plan, 0, 0);
	assert_normal_answer(f, fd, 200);
	assert_int_equal(f->narrived, QUEUE);
	assert_int_equal(f->log[f->nlog - 1].tag, 0);
	close(fd);
	fixture_free(f);
}

static void test_capacity_and_faults_apply_after_the_queue(void **state)
{
	(void)state;
	/* A query waits its turn, then meets the faults: the rcode still applies. */
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[2048];
	size_t qlen;
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_RCODE, "db-primary.internal");
	s.rcode = DNS_RCODE_REFUSED;
	inject(f, &s);
	fault_plan_set_capacity(f->plan, 10, 2);
	double start = now_s();
	size_t n = udp_ask(f, fd, q, &qlen, 300, "db-primary.internal.", DNS_TYPE_A, r, sizeof r);
	double took = now_s() - start;
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_REFUSED);
	assert_bare_echo(r, n, q, qlen);
	assert_true(took >= 0.1 - EARLY);
	assert_true(f->log[0].queue_s >= 0.1 - EARLY);
	close(fd);
	fixture_free(f);
}

/* ---- matching ---- */

static void test_matching_by_name_qtype_and_transport(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], r[65535];
	size_t qlen, n;
	int fd = udp_client(f), tfd = tcp_client(f);

	/* Strictly below internal.: the apex is still answered. */
	struct fault_spec below = spec_of(FAULT_HANG, "*.internal");
	uint32_t id = inject(f, &below);
	n = udp_ask(f, fd, q, &qlen, 400, "internal.", DNS_TYPE_SOA, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_int_equal(r_count(r, 1), 1);
	udp_send(fd, q, 401, "a.b.internal.", DNS_TYPE_A);
	assert_int_equal(udp_wait(f, fd, r, sizeof r, SILENCE), 0);
	heal(f, id);

	/* By qtype: AAAA fails, A is answered. */
	struct fault_spec aaaa = spec_of(FAULT_RCODE, NULL);
	aaaa.match.qtype = DNS_TYPE_AAAA;
	aaaa.rcode = DNS_RCODE_SERVFAIL;
	id = inject(f, &aaaa);
	n = udp_ask(f, fd, q, &qlen, 402, "db-replica.internal.", DNS_TYPE_AAAA, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_SERVFAIL);
	n = udp_ask(f, fd, q, &qlen, 403, "db-replica.internal.", DNS_TYPE_A, r, sizeof r);
	assert_true(n > 0);
	assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
	assert_int_equal(r_count(r, 1), 1);
	heal(f, id);

	/* By transport: TCP is refused, UDP answered. */
	struct fault_spec tcp = spec_of(FAULT_RCODE, NULL);
	tcp.match.transport = ANSWER_TCP;
	tcp.rcode = DNS_RCODE_REFUSED;
	inject(f, &tcp);
	assert_normal_answer(f, fd, 404);
	tcp_send(tfd, q, 405, "db-primary.internal.", DNS_TYPE_A);
	n = tcp_read_msg(f, tfd, r, 3.0);
	assert_true(n > 0);
	assert_int_equal(wire_get16(r), 405);
	assert_int_equal(r_rcode(r), DNS_RCODE_REFUSED);
	assert_int_equal(r_count(r, 1), 0);
	close(tfd);
	close(fd);
	fixture_free(f);
}

/* Sends queries 1..n at once through a half-hung server; returns the answered ids as bits. */
static uint64_t answered_with_seed(uint64_t seed, unsigned n)
{
	struct fixture *f = fixture_new(NULL, seed);
	uint8_t q[512];
	struct rx rx[64];
	int fd = udp_client(f);
	struct fault_spec s = spec_of(FAULT_HANG, "*.internal");
	s.match.fraction = 0.5;
	inject(f, &s);
	double start = now_s();
	for (uint16_t i = 1; i <= n; i++)
		udp_send(fd, q, i, "web.internal.", DNS_TYPE_A);
	pump_until_logged(f, n);
	size_t expect = 0;
	for (size_t i = 0; i < f->nlog; i++)
		expect += f->log[i].action == FAULT_ACT_ANSWER;
	/* Every answer is sent at once; a short silence then shows none is missing. */
	size_t got = udp_collect(f, fd, start, now_s() + SILENCE, rx, 64);
	assert_int_equal(got, expect);
	uint64_t bits = 0;
	for (size_t i = 0; i < got; i++) {
		assert_in_range(rx[i].id, 1, n);
		bits |= 1ull << (rx[i].id - 1);
	}
	close(fd);
	fixture_free(f);
	return bits;
}

static void test_fraction_reproducible_from_the_seed(void **state)
{
	(void)state;
	const unsigned n = 40;
	uint64_t a = answered_with_seed(42, n), b = answered_with_seed(42, n),
		 c = answered_with_seed(4242, n);
	unsigned count = 0;
	for (unsigned i = 0; i < n; i++)
		count += (a >> i) & 1;
	assert_in_range(count, 8, 32); /* about half; P(outside) < 1e-4 for any seed */
	assert_true(a == b);
	assert_true(a != c);
}

/* Writes a zone big enough that its transfer takes several messages; returns its records. */
static size_t add_big_zone(struct fixture *f)
{
	char path[] = "/tmp/test_server_faults.XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *out = fdopen(fd, "w");
	assert_non_null(out);
	fprintf(out, "$ORIGIN big.\n$TTL 300\n"
		     "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 10.9.0.1\n");
	for (int i = 0; i < 6000; i++)
		fprintf(out, "host%04d IN A 10.9.%d.%d\n", i, i / 250, i % 250 + 1);
	assert_int_equal(fclose(out), 0);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	unlink(path);
	if (!v)
		fail_msg("%s", err);
	size_t records = zone_version_record_count(v);
	assert_int_equal(zone_set_add(f->zones, v, true), 0);
	zone_version_unref(v);
	return records;
}

static void test_queued_transfers_on_one_connection_run_in_turn(void **state)
{
	(void)state;
	/* Two transfers pipelined behind a capacity limit come due together. The
	 * second must wait for the first to finish (as without faults, where
	 * reading stops during a transfer), not replace it: the first would be cut
	 * short and its state and zone reference leaked. A tiny output allowance
	 * keeps the first transfer streaming when the second comes due. */
	struct server_config cfg;
	server_config_defaults(&cfg);
	cfg.tcp_max_pending = 1;
	struct fixture *f = fixture_new(&cfg, 1);
	size_t records = add_big_zone(f);
	uint8_t q[512], *r = malloc(65535);
	assert_non_null(r);
	fault_plan_set_capacity(f->plan, 1e6, 10); /* both served within microseconds */
	int fd = tcp_client(f);
	tcp_send(fd, q, 1, "big.", DNS_TYPE_AXFR);
	tcp_send(fd, q, 2, "big.", DNS_TYPE_AXFR);

	size_t got[3] = { 0, 0, 0 }, messages = 0;
	while (got[2] < records + 1 && messages < 100) {
		size_t n = tcp_read_msg(f, fd, r, 3.0);
		assert_true(n >= WIRE_HEADER_LEN);
		uint16_t id = wire_get16(r);
		assert_in_range(id, 1, 2);
		assert_int_equal(r_rcode(r), DNS_RCODE_NOERROR);
		if (id == 2) /* the first transfer is complete before the second begins */
			assert_int_equal(got[1], records + 1);
		got[id] += r_count(r, 1);
		messages++;
	}
	assert_true(messages > 2); /* several messages each */
	assert_int_equal(got[1], records + 1); /* SOA, every record, SOA */
	assert_int_equal(got[2], records + 1);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.axfr, 2);
	/* And a query after them is answered. */
	tcp_send(fd, q, 3, "db-primary.internal.", DNS_TYPE_A);
	assert_true(tcp_read_msg(f, fd, r, 3.0) > 0);
	assert_int_equal(wire_get16(r), 3);
	free(r);
	close(fd);
	fixture_free(f);
}

/* ---- connections closed with replies pending ---- */

static void test_tcp_close_with_queued_and_delayed_replies(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL, 1);
	uint8_t q[512], buf[2048];
	struct server_stats st;

	/* Queued: five pipelined queries behind a slow service, then the client goes. */
	fault_plan_set_capacity(f->plan, 10, 10);
	int fd = tcp_client(f);
	for (uint16_t i = 1; i <= 5; i++)
		tcp_send(fd, q, i, "db-primary.internal.", DNS_TYPE_A);
	double end = now_s() + 3.0;
	do {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		server_get_stats(f->server, &st);
	} while (st.tcp_queries < 5 && now_s() < end);
	assert_int_equal(st.tcp_queries, 5);
	/* The first is answered while the connection is open. */
	assert_true(tcp_read_msg(f, fd, buf, 3.0) > 0);
	assert_int_equal(wire_get16(buf), 1);
	close(fd);
	pump_for(f, 0.6); /* the other four come due with no one to answer */

	/* Delayed: the reply is decided, then the client closes before it is due. */
	fault_plan_set_capacity(f->plan, 0, 0);
	struct fault_spec d = spec_of(FAULT_DELAY, NULL);
	d.delay_s = 0.2;
	d.dist = RNG_DIST_CONSTANT;
	inject(f, &d);
	size_t before = f->nlog;
	fd = tcp_client(f);
	tcp_send(fd, q, 10, "db-primary.internal.", DNS_TYPE_A);
	tcp_send(fd, q, 11, "web.internal.", DNS_TYPE_A);
	pump_until_logged(f, before + 2);
	close(fd);
	pump_for(f, 0.4);

	/* The server is fine and still serves. */
	fault_plan_clear(f->plan);
	int ufd = udp_client(f);
	assert_normal_answer(f, ufd, 20);
	close(ufd);

	/* Destroying the server with replies still pending sends none and leaks none. */
	fault_plan_set_capacity(f->plan, 5, 10);
	inject(f, &d);
	fd = tcp_client(f);
	for (uint16_t i = 30; i < 33; i++)
		tcp_send(fd, q, i, "web.internal.", DNS_TYPE_A);
	ufd = udp_client(f);
	for (uint16_t i = 40; i < 43; i++)
		udp_send(ufd, q, i, "web.internal.", DNS_TYPE_A);
	pump_for(f, 0.25); /* one served and delayed, the others still queued */
	close(fd);
	close(ufd);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_plan_and_no_plan_take_the_fast_path),
		cmocka_unit_test(test_unset_plan_with_queries_in_the_queue),
		cmocka_unit_test(test_hang_drops_then_heals),
		cmocka_unit_test(test_hang_over_tcp_keeps_the_connection),
		cmocka_unit_test(test_rcode_replies_echo_the_question),
		cmocka_unit_test(test_truncate_udp_only),
		cmocka_unit_test(test_wrong_address),
		cmocka_unit_test(test_wrong_zone_set_serves_stale_data),
		cmocka_unit_test(test_delay_holds_the_reply),
		cmocka_unit_test(test_delay_over_tcp_and_with_an_rcode),
		cmocka_unit_test(test_uniform_jitter_within_bounds),
		cmocka_unit_test(test_capacity_queue_serves_at_the_rate_and_drops_the_rest),
		cmocka_unit_test(test_capacity_arrive_hook_tags_queued_queries),
		cmocka_unit_test(test_capacity_and_faults_apply_after_the_queue),
		cmocka_unit_test(test_matching_by_name_qtype_and_transport),
		cmocka_unit_test(test_fraction_reproducible_from_the_seed),
		cmocka_unit_test(test_queued_transfers_on_one_connection_run_in_turn),
		cmocka_unit_test(test_tcp_close_with_queued_and_delayed_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
