/*
 * test_server.c - the libevent server on an ephemeral loopback port: UDP,
 * TCP pipelining and framing, idle timeout, connection limit, AXFR, zone swap.
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
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>

#include "fakeresolver/server.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must point at scenarios/zones"
#endif

struct fixture {
	struct event_base *base;
	struct zone_set *zones;
	struct server *server;
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

static struct fixture *fixture_new(const struct server_config *over)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];
	struct server_config cfg;
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->zones = load_set("internal.v2.zone");
	if (over) {
		cfg = *over;
	} else {
		server_config_defaults(&cfg);
	}
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	f->server = server_create(f->base, f->zones, &cfg, err, sizeof err);
	if (!f->server)
		fail_msg("server_create: %s", err);
	return f;
}

static void fixture_free(struct fixture *f)
{
	server_destroy(f->server);
	event_base_free(f->base);
	zone_set_destroy(f->zones);
	free(f);
}

/* Runs the loop until fd is readable or the deadline passes; true if readable. */
static bool pump_until_readable(struct fixture *f, int fd, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5) > 0)
			return true;
	}
	return false;
}

/* Builds a query for name (dotted, absolute) and type; returns its length. */
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

static int udp_client(const struct fixture *f)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	const struct addr *a = server_addr(f->server);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	return fd;
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

/* Reads exactly n octets from a TCP socket while pumping the loop. */
static bool tcp_read_exact(struct fixture *f, int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (!pump_until_readable(f, fd, 3.0))
			return false;
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return false;
		if (r > 0)
			got += (size_t)r;
	}
	return true;
}

/* Reads one length-prefixed message; returns its length or 0 on EOF/timeout. */
static size_t tcp_read_msg(struct fixture *f, int fd, uint8_t *buf)
{
	uint8_t hdr[2];
	if (!tcp_read_exact(f, fd, hdr, 2))
		return 0;
	size_t len = wire_get16(hdr);
	return tcp_read_exact(f, fd, buf, len) ? len : 0;
}

/* ---- bad parameters ---- */

static void test_create_needs_a_transport(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct zone_set *zones = load_set("internal.v2.zone");
	struct server_config cfg;
	char err[256] = "";
	server_config_defaults(&cfg);
	cfg.udp = cfg.tcp = false;
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	assert_null(server_create(base, zones, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "neither UDP nor TCP"));
	server_destroy(NULL); /* a no-op */
	zone_set_destroy(zones);
	event_base_free(base);
}

static void test_port_in_use_names_the_address(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL);
	struct server_config cfg;
	char err[256] = "", want[80];
	server_config_defaults(&cfg);
	cfg.addr = *server_addr(f->server);
	assert_null(server_create(f->base, f->zones, &cfg, err, sizeof err));
	addr_str(&cfg.addr, want, sizeof want);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "cannot listen"));
	fixture_free(f);
}

/* ---- UDP ---- */

static void test_udp_answers_and_picks_one_port(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL);
	uint8_t q[512], r[2048];
	assert_int_not_equal(addr_port(server_addr(f->server)), 0);
	int fd = udp_client(f);
	size_t n = make_query(q, 0x1234, "db-primary.internal.", DNS_TYPE_A);
	assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
	assert_true(pump_until_readable(f, fd, 3.0));
	ssize_t got = recv(fd, r, sizeof r, 0);
	assert_true(got > (ssize_t)n);
	assert_int_equal(wire_get16(r), 0x1234);
	assert_int_equal(wire_get16(r + 6), 1); /* one answer */
	static const uint8_t want[4] = { 10, 20, 0, 42 };
	assert_memory_equal(r + got - 4, want, 4);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.udp_received, 1);
	assert_int_equal(st.udp_replied, 1);
	close(fd);
	fixture_free(f);
}

/*
 * A burst read as one batch (the fast path parses it whole and warms the
 * cache for its lookups first) answers each query exactly as the answer
 * engine does alone: same bytes, in any order of names, found or not.
 */
static void test_udp_batch_answers_like_the_engine(void **state)
{
	(void)state;
	static const char *const names[] = {
		"db-primary.internal.", "DB-Replica.internal.", "missing.internal.",
		"x.apps.internal.",     "api.internal.",        "internal.",
		"a.b.c.internal.",      "other.example.",       "ldap.internal.",
	};
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX };
	enum { N = 45 }; /* more than one batch */
	struct fixture *f = fixture_new(NULL);
	uint8_t q[N][512], r[2048], want[2048];
	size_t qlen[N];
	bool seen[N] = { false };
	int fd = udp_client(f);
	int sndbuf = 1 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
	for (int i = 0; i < N; i++) {
		qlen[i] = make_query(q[i], (uint16_t)(0x100 + i), names[i % 9], types[i % 3]);
		assert_int_equal(send(fd, q[i], qlen[i], 0), (ssize_t)qlen[i]);
	}
	int replies = 0;
	while (replies < N && pump_until_readable(f, fd, 3.0)) {
		ssize_t got;
		while ((got = recv(fd, r, sizeof r, MSG_DONTWAIT)) > 0) {
			int i = wire_get16(r) - 0x100;
			assert_true(i >= 0 && i < N);
			assert_false(seen[i]);
			seen[i] = true;
			struct answer_info info;
			size_t n = answer_query(f->zones, q[i], qlen[i], ANSWER_UDP, want,
						ANSWER_EDNS_PAYLOAD, &info);
			assert_int_equal((size_t)got, n);
			assert_memory_equal(r, want, n);
			replies++;
		}
	}
	assert_int_equal(replies, N);
	close(fd);
	fixture_free(f);
}

static void test_udp_drops_responses_and_oversized(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL);
	uint8_t q[6000];
	int fd = udp_client(f);
	size_t n = make_query(q, 7, "db-primary.internal.", DNS_TYPE_A);
	q[2] |= 0x80; /* QR=1: a response, never answered */
	assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
	memset(q, 0, sizeof q);
	assert_int_equal(send(fd, q, sizeof q, 0), (ssize_t)sizeof q);
	assert_false(pump_until_readable(f, fd, 0.3));
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.udp_received, 2);
	assert_int_equal(st.udp_replied, 0);
	assert_int_equal(st.udp_oversized, 1);
	close(fd);
	fixture_free(f);
}

static void test_zone_swap_changes_answers(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL);
	struct zone_set *stale = load_set("internal.v1.zone");
	uint8_t q[512], r[2048];
	int fd = udp_client(f);
	size_t n = make_query(q, 1, "db-primary.internal.", DNS_TYPE_A);

	server_set_zones(f->server, stale);
	assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
	assert_true(pump_until_readable(f, fd, 3.0));
	ssize_t got = recv(fd, r, sizeof r, 0);
	static const uint8_t old_ip[4] = { 10, 20, 0, 15 };
	assert_true(got > 4);
	assert_memory_equal(r + got - 4, old_ip, 4);
	server_set_zones(f->server, f->zones);
	zone_set_destroy(stale);
	close(fd);
	fixture_free(f);
}

/* ---- TCP ---- */

static void test_tcp_pipelined_queries_answered_in_order(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL);
	uint8_t buf[4096], r[65535];
	size_t off = 0;
	int fd = tcp_client(f);
	static const char *const names[] = { "db-primary.internal.", "api.internal.",
					     "nope.internal." };
	for (uint16_t i = 0; i < 3; i++) {
		size_t n = make_query(buf + off + 2, (uint16_t)(100 + i), names[i], DNS_TYPE_A);
		wire_put16(buf + off, (uint16_t)n);
		off += n + 2;
	}
	/* Deliver the first query's length one octet at a time: framing must cope. */
	assert_int_equal(send(fd, buf, 1, 0), 1);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(send(fd, buf + 1, off - 1, 0), (ssize_t)(off - 1));
	for (uint16_t i = 0; i < 3; i++) {
		size_t n = tcp_read_msg(f, fd, r);
		assert_true(n >= WIRE_HEADER_LEN);
		assert_int_equal(wire_get16(r), 100 + i);
	}
	assert_int_equal(wire_get16(r + 2) & 0xf, DNS_RCODE_NXDOMAIN);
	close(fd);
	fixture_free(f);
}

static void test_tcp_idle_connection_closed(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	cfg.tcp_idle_ms = 200;
	struct fixture *f = fixture_new(&cfg);
	uint8_t b[16];
	int fd = tcp_client(f);
	double start = now_s();
	assert_true(pump_until_readable(f, fd, 5.0));
	double waited = now_s() - start;
	assert_int_equal(recv(fd, b, sizeof b, 0), 0); /* EOF */
	assert_true(waited >= 0.15);                   /* not before the timeout */
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.tcp_timeouts, 1);
	close(fd);
	fixture_free(f);
}

/* Runs the loop for a while. */
static void pump_for(struct fixture *f, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 5);
	}
}

/* Sends a query on a TCP connection and checks the reply carries its id. */
static void tcp_ask(struct fixture *f, int fd, uint16_t id)
{
	uint8_t q[512], r[65535];
	size_t n = make_query(q + 2, id, "web.internal.", DNS_TYPE_A);
	wire_put16(q, (uint16_t)n);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	assert_true(tcp_read_msg(f, fd, r) > 0);
	assert_int_equal(wire_get16(r), id);
}

static bool at_eof(struct fixture *f, int fd)
{
	uint8_t b[16];
	return pump_until_readable(f, fd, 3.0) && recv(fd, b, sizeof b, MSG_DONTWAIT) == 0;
}

/* Full: a newcomer closes the stalled connection that made progress longest ago. */
static void test_tcp_connection_limit_closes_stalled(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	cfg.tcp_max_conns = 2;
	cfg.tcp_per_addr_max = 0;
	struct fixture *f = fixture_new(&cfg);
	int a = tcp_client(f);
	pump_for(f, 0.1);
	int c = tcp_client(f);
	pump_for(f, 1.2); /* both stalled now: no whole message for over a second */
	int d = tcp_client(f);
	assert_true(at_eof(f, a)); /* the older one */
	tcp_ask(f, d, 9);
	tcp_ask(f, c, 10);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.tcp_accepted, 3);
	assert_int_equal(st.tcp_evicted, 1);
	assert_int_equal(st.tcp_refused, 0);
	close(a);
	close(c);
	close(d);
	fixture_free(f);
}

/* Full and nothing stalled: the newcomer waits for a slot, it is not refused. */
static void test_tcp_connection_limit_holds_newcomer(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	cfg.tcp_max_conns = 1;
	cfg.tcp_per_addr_max = 0;
	struct fixture *f = fixture_new(&cfg);
	int a = tcp_client(f);
	tcp_ask(f, a, 1); /* a made progress just now */
	int d = tcp_client(f);
	double start = now_s();
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.tcp_held, 1);
	assert_int_equal(st.tcp_accepted, 1);
	tcp_ask(f, d, 2); /* once a has been stalled for a second */
	assert_true(now_s() - start >= 0.5);
	assert_true(at_eof(f, a));
	server_get_stats(f->server, &st);
	assert_int_equal(st.tcp_accepted, 2);
	assert_int_equal(st.tcp_evicted, 1);
	close(a);
	close(d);
	fixture_free(f);
}

/* One address at its limit: refused while its connections are fresh, then
 * the newcomer closes that address's stalled one. */
static void test_tcp_per_address_limit(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	cfg.tcp_per_addr_max = 1;
	struct fixture *f = fixture_new(&cfg);
	int a = tcp_client(f);
	int b = tcp_client(f);
	assert_true(at_eof(f, b));
	pump_for(f, 1.2);
	int c = tcp_client(f);
	assert_true(at_eof(f, a));
	tcp_ask(f, c, 3);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.tcp_addr_refused, 1);
	assert_int_equal(st.tcp_addr_evicted, 1);
	assert_int_equal(st.tcp_accepted, 2);
	close(a);
	close(b);
	close(c);
	fixture_free(f);
}

/* A message trickled in: closed at its deadline even though bytes keep coming. */
static void test_tcp_message_deadline(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	cfg.tcp_msg_timeout_ms = 600;
	struct fixture *f = fixture_new(&cfg);
	int fd = tcp_client(f);
	tcp_ask(f, fd, 4); /* a whole message is fine */
	double start = now_s();
	bool closed = false;
	for (int i = 0; i < 40 && !closed; i++) { /* one byte every 100 ms: never idle */
		(void)send(fd, "\x01", 1, MSG_NOSIGNAL); /* a 257-octet message */
		pump_for(f, 0.1);
		uint8_t b[16];
		closed = recv(fd, b, sizeof b, MSG_DONTWAIT) == 0;
	}
	assert_true(closed);
	assert_true(now_s() - start >= 0.5);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.tcp_msg_timeouts, 1);
	assert_int_equal(st.tcp_timeouts, 0);
	close(fd);
	fixture_free(f);
}

static void test_tcp_axfr_streams_whole_zone(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(NULL);
	uint8_t q[512], r[65535];
	int fd = tcp_client(f);
	size_t n = make_query(q + 2, 77, "internal.", DNS_TYPE_AXFR);
	wire_put16(q, (uint16_t)n);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	unsigned records = 0, messages = 0;
	const struct zone_version *v = zone_set_at(f->zones, 0);
	/* SOA + every record + SOA again. */
	while (records < zone_version_record_count(v) + 1 && messages < 100) {
		size_t len = tcp_read_msg(f, fd, r);
		assert_true(len >= WIRE_HEADER_LEN);
		assert_int_equal(wire_get16(r), 77);
		assert_int_equal(wire_get16(r + 2) & 0xf, DNS_RCODE_NOERROR);
		records += wire_get16(r + 6);
		messages++;
	}
	assert_int_equal(records, zone_version_record_count(v) + 1);
	struct server_stats st;
	server_get_stats(f->server, &st);
	assert_int_equal(st.axfr, 1);
	/* The connection stays usable for a query after the transfer. */
	n = make_query(q + 2, 78, "web.internal.", DNS_TYPE_A);
	wire_put16(q, (uint16_t)n);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	assert_true(tcp_read_msg(f, fd, r) > 0);
	assert_int_equal(wire_get16(r), 78);
	close(fd);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_needs_a_transport),
		cmocka_unit_test(test_port_in_use_names_the_address),
		cmocka_unit_test(test_udp_answers_and_picks_one_port),
		cmocka_unit_test(test_udp_batch_answers_like_the_engine),
		cmocka_unit_test(test_udp_drops_responses_and_oversized),
		cmocka_unit_test(test_zone_swap_changes_answers),
		cmocka_unit_test(test_tcp_pipelined_queries_answered_in_order),
		cmocka_unit_test(test_tcp_idle_connection_closed),
		cmocka_unit_test(test_tcp_connection_limit_closes_stalled),
		cmocka_unit_test(test_tcp_connection_limit_holds_newcomer),
		cmocka_unit_test(test_tcp_per_address_limit),
		cmocka_unit_test(test_tcp_message_deadline),
		cmocka_unit_test(test_tcp_axfr_streams_whole_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
