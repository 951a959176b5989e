/*
 * test_xfr.c - the AXFR client against the fakeresolver server and against
 * scripted hostile servers on loopback, and wire_rdata_read / wire_rr_read.
 */
#include "tests/unit/dnstest.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "fakeresolver/answer.h"
#include "fakeresolver/server.h"
#include "fakeresolver/wire.h"
#include "fakeresolver/xfr.h"
#include "fakeresolver/zone.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must point at scenarios/zones"
#endif

/* ---- helpers ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "www.example." -> wire name in out (WIRE_NAME_MAX); returns its length. No escapes. */
static size_t wname(const char *str, uint8_t *out)
{
	size_t n = 0;
	while (*str && strcmp(str, ".") != 0) {
		const char *dot = strchr(str, '.');
		size_t l = dot ? (size_t)(dot - str) : strlen(str);
		assert_true(l > 0 && l <= WIRE_LABEL_MAX && n + l + 2 <= WIRE_NAME_MAX);
		out[n++] = (uint8_t)l;
		memcpy(out + n, str, l);
		n += l;
		str += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type)
{
	memset(buf, 0, WIRE_HEADER_LEN);
	wire_put16(buf, id);
	wire_put16(buf + 2, WIRE_FLAG_RD);
	wire_put16(buf + 4, 1);
	size_t n = WIRE_HEADER_LEN + wname(name, buf + WIRE_HEADER_LEN);
	wire_put16(buf + n, type);
	wire_put16(buf + n + 2, DNS_CLASS_IN);
	return n + 4;
}

static struct zone_version *load(const char *path)
{
	char err[512];
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	if (!v)
		fail_msg("%s", err);
	return v;
}

static struct zone_set *set_of(struct zone_version *v)
{
	struct zone_set *s = zone_set_create();
	assert_non_null(s);
	assert_int_equal(zone_set_add(s, v, true), 0);
	return s;
}

/* What the callback saw. */
struct result {
	struct event_base *base;
	int calls;
	struct zone_version *v;
	char err[1024];
};

static void on_done(void *arg, struct zone_version *v, const char *err)
{
	struct result *r = arg;
	r->calls++;
	r->v = v;
	snprintf(r->err, sizeof r->err, "%s", err ? err : "");
	event_base_loopbreak(r->base);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs the loop until a callback breaks it or ms pass. */
static void run_loop(struct event_base *base, unsigned ms)
{
	struct event *guard = evtimer_new(base, on_guard, base);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	assert_non_null(guard);
	evtimer_add(guard, &tv);
	event_base_dispatch(base);
	event_free(guard);
}

/* Runs one transfer of origin from a to the end (10 s at most); fills r. */
static void transfer(struct event_base *base, const struct addr *a, const char *origin,
		     unsigned timeout_ms, struct result *r)
{
	uint8_t o[WIRE_NAME_MAX];
	char err[512] = "";
	memset(r, 0, sizeof *r);
	r->base = base;
	wname(origin, o);
	struct xfr *x = xfr_start(base, a, o, timeout_ms, on_done, r, err, sizeof err);
	if (!x)
		fail_msg("xfr_start: %s", err);
	run_loop(base, 10000);
	assert_int_equal(r->calls, 1);
}

/* A fakeresolver server on 127.0.0.1:0 serving one version. */
struct served {
	struct event_base *base;
	struct zone_version *v;
	struct zone_set *zones;
	struct server *server;
};

static void serve(struct served *s, const char *path)
{
	char err[256];
	struct server_config cfg;
	s->base = event_base_new();
	assert_non_null(s->base);
	s->v = load(path);
	s->zones = set_of(s->v);
	server_config_defaults(&cfg);
	cfg.udp = false;
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	s->server = server_create(s->base, s->zones, &cfg, err, sizeof err);
	if (!s->server)
		fail_msg("server_create: %s", err);
}

static void unserve(struct served *s)
{
	server_destroy(s->server);
	event_base_free(s->base);
	zone_set_destroy(s->zones);
	zone_version_unref(s->v);
}

/* Asserts that two versions answer a query identically, octet for octet, over UDP and TCP. */
static void assert_same_answer(const struct zone_set *a, const struct zone_set *b, const char *name,
			       uint16_t type)
{
	static uint8_t ra[WIRE_MSG_MAX], rb[WIRE_MSG_MAX];
	uint8_t q[512];
	struct answer_info ia, ib;
	size_t qlen = make_query(q, 0x4242, name, type);
	for (int t = 0; t < 2; t++) {
		enum answer_transport tr = t ? ANSWER_TCP : ANSWER_UDP;
		size_t cap = t ? WIRE_MSG_MAX : 1232;
		size_t na = answer_query(a, q, qlen, tr, ra, cap, &ia);
		size_t nb = answer_query(b, q, qlen, tr, rb, cap, &ib);
		if (na != nb || memcmp(ra, rb, na) != 0)
			fail_msg("%s type %u: replies differ (%zu vs %zu octets)", name, type, na,
				 nb);
		assert_true(na > WIRE_HEADER_LEN);
		assert_int_equal(ia.rcode, ib.rcode);
	}
}

static void assert_same_zone(struct zone_version *want, struct zone_version *got)
{
	assert_int_equal(zone_version_serial(got), zone_version_serial(want));
	assert_int_equal(zone_version_record_count(got), zone_version_record_count(want));
	assert_int_equal(zone_version_node_count(got), zone_version_node_count(want));
	size_t la, lb;
	const uint8_t *oa = zone_version_origin(want, &la), *ob = zone_version_origin(got, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(oa, ob, la);
}

/* A TCP socket bound to 127.0.0.1:0; listening if backlog > 0. Fills a. */
static int tcp_socket(struct addr *a, int backlog)
{
	char err[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(addr_parse("127.0.0.1:0", 0, a, err, sizeof err), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a->ss, a->len), 0);
	socklen_t len = sizeof a->ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a->ss, &len), 0);
	a->len = len;
	if (backlog > 0)
		assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

/* ---- bad parameters ---- */

static void test_start_refuses_bad_parameters(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct result r = { .base = base };
	struct addr a;
	uint8_t origin[WIRE_NAME_MAX];
	char err[256] = "";
	wname("internal.", origin);

	assert_int_equal(addr_parse("192.0.2.1:53", 53, &a, err, sizeof err), 0);
	assert_null(xfr_start(base, &a, origin, 1000, on_done, &r, err, sizeof err));
	assert_non_null(strstr(err, "refusing AXFR from 192.0.2.1:53"));
	assert_non_null(strstr(err, "loopback"));

	assert_int_equal(addr_parse("[2001:db8::1]:53", 53, &a, err, sizeof err), 0);
	assert_null(xfr_start(base, &a, origin, 1000, on_done, &r, err, sizeof err));
	assert_non_null(strstr(err, "loopback"));

	assert_int_equal(addr_parse("127.0.0.1:53", 53, &a, err, sizeof err), 0);
	err[0] = 0;
	assert_null(xfr_start(base, &a, origin, 0, on_done, &r, err, sizeof err));
	assert_non_null(strstr(err, "timeout"));

	assert_null(xfr_start(base, NULL, origin, 1000, on_done, &r, err, sizeof err));
	assert_null(xfr_start(base, &a, origin, 1000, NULL, &r, err, sizeof err));
	assert_null(xfr_start(base, &a, NULL, 1000, on_done, &r, err, sizeof err));

	uint8_t bad[3] = { 64, 'a', 0 }; /* a label longer than 63 */
	err[0] = 0;
	assert_null(xfr_start(base, &a, bad, 1000, on_done, &r, err, sizeof err));
	assert_non_null(strstr(err, "origin"));

	xfr_cancel(NULL); /* a no-op */
	run_loop(base, 50);
	assert_int_equal(r.calls, 0);
	event_base_free(base);
}

/* ---- wire_rdata_read, wire_rr_read ---- */

/* A packet with "example." at offset 12, then rdata at offset 21. */
static size_t rdata_pkt(uint8_t *pkt, const void *rdata, size_t rdlen)
{
	static const uint8_t head[21] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	memcpy(pkt, head, sizeof head);
	memcpy(pkt + sizeof head, rdata, rdlen);
	return sizeof head + rdlen;
}

static void test_rdata_decompresses_names(void **state)
{
	(void)state;
	uint8_t pkt[512], out[512], want[512];
	size_t n, len;

	/* NS ns1.example. as ns1 + pointer to offset 12. */
	static const uint8_t ns[] = { 3, 'n', 's', '1', 0xc0, 12 };
	len = rdata_pkt(pkt, ns, sizeof ns);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof ns, DNS_TYPE_NS, out, sizeof out, &n),
			 0);
	assert_int_equal(n, wname("ns1.example.", want));
	assert_memory_equal(out, want, n);
	/* The same octets under an opaque type are copied as they are. */
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof ns, 65280, out, sizeof out, &n), 0);
	assert_int_equal(n, sizeof ns);
	assert_memory_equal(out, ns, sizeof ns);

	/* MX 10 mail.example. */
	static const uint8_t mx[] = { 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 12 };
	len = rdata_pkt(pkt, mx, sizeof mx);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof mx, DNS_TYPE_MX, out, sizeof out, &n),
			 0);
	want[0] = 0;
	want[1] = 10;
	assert_int_equal(n, 2 + wname("mail.example.", want + 2));
	assert_memory_equal(out, want, n);

	/* SOA ns1.example. hostmaster.example. 1 2 3 4 5; the second name points into the rdata. */
	uint8_t soa[64];
	size_t s = 0;
	memcpy(soa, ns, sizeof ns);
	s += sizeof ns;
	soa[s++] = 10;
	memcpy(soa + s, "hostmaster", 10);
	s += 10;
	soa[s++] = 0xc0;
	soa[s++] = 12;
	for (uint32_t i = 1; i <= 5; i++, s += 4)
		wire_put32(soa + s, i);
	len = rdata_pkt(pkt, soa, s);
	assert_int_equal(wire_rdata_read(pkt, len, 21, (uint16_t)s, DNS_TYPE_SOA, out, sizeof out,
					 &n),
			 0);
	size_t m = wname("ns1.example.", want);
	m += wname("hostmaster.example.", want + m);
	for (uint32_t i = 1; i <= 5; i++, m += 4)
		wire_put32(want + m, i);
	assert_int_equal(n, m);
	assert_memory_equal(out, want, m);

	/* SRV 0 1 389 ldap.example. */
	static const uint8_t srv[] = { 0, 0, 0, 1, 1, 133, 4, 'l', 'd', 'a', 'p', 0xc0, 12 };
	len = rdata_pkt(pkt, srv, sizeof srv);
	assert_int_equal(
		wire_rdata_read(pkt, len, 21, sizeof srv, DNS_TYPE_SRV, out, sizeof out, &n), 0);
	assert_int_equal(n, 6 + 14);
	assert_memory_equal(out, srv, 6);
	assert_memory_equal(out + 6, "\4ldap\7example", 14);

	/* A pointer to a pointer earlier in the rdata is fine too (CNAME -> ns1.example.). */
	static const uint8_t chain[] = { 0xc0, 21 };
	uint8_t two[sizeof ns + sizeof chain];
	memcpy(two, ns, sizeof ns);
	memcpy(two + sizeof ns, chain, sizeof chain);
	len = rdata_pkt(pkt, two, sizeof two);
	assert_int_equal(wire_rdata_read(pkt, len, 21 + sizeof ns, sizeof chain, DNS_TYPE_CNAME,
					 out, sizeof out, &n),
			 0);
	assert_int_equal(n, wname("ns1.example.", want));
	assert_memory_equal(out, want, n);
}

static void test_rdata_rejects_malformed(void **state)
{
	(void)state;
	uint8_t pkt[512], out[512];
	size_t n, len;

	/* A forward pointer (to the octet after the rdata), and one to itself. */
	static const uint8_t fwd[] = { 0xc0, 23, 0 };
	len = rdata_pkt(pkt, fwd, sizeof fwd);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 2, DNS_TYPE_NS, out, sizeof out, &n), -1);
	static const uint8_t self[] = { 0xc0, 21 };
	len = rdata_pkt(pkt, self, sizeof self);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 2, DNS_TYPE_CNAME, out, sizeof out, &n), -1);

	/* rdlen past the packet's end. */
	static const uint8_t a[] = { 192, 0, 2, 1 };
	len = rdata_pkt(pkt, a, sizeof a);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 5, DNS_TYPE_A, out, sizeof out, &n), -1);
	assert_int_equal(wire_rdata_read(pkt, len, len + 1, 0, DNS_TYPE_A, out, sizeof out, &n),
			 -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 4, DNS_TYPE_A, out, sizeof out, &n), 0);

	/* A name that runs past the rdata (rdlen 4 of "\3ns1\xc0\x0c"). */
	static const uint8_t ns[] = { 3, 'n', 's', '1', 0xc0, 12 };
	len = rdata_pkt(pkt, ns, sizeof ns);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 4, DNS_TYPE_NS, out, sizeof out, &n), -1);
	/* A name that ends before the rdata does. */
	static const uint8_t extra[] = { 0xc0, 12, 0 };
	len = rdata_pkt(pkt, extra, sizeof extra);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 3, DNS_TYPE_NS, out, sizeof out, &n), -1);
	/* Empty rdata where a name belongs; an MX with only its preference. */
	assert_int_equal(wire_rdata_read(pkt, len, 21, 0, DNS_TYPE_PTR, out, sizeof out, &n), -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 2, DNS_TYPE_MX, out, sizeof out, &n), -1);

	/* SOA whose fixed part is 19 octets, or 21. */
	uint8_t soa[64] = { 0xc0, 12, 0xc0, 12 };
	len = rdata_pkt(pkt, soa, 4 + 21);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 4 + 19, DNS_TYPE_SOA, out, sizeof out, &n),
			 -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 4 + 21, DNS_TYPE_SOA, out, sizeof out, &n),
			 -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, 4 + 20, DNS_TYPE_SOA, out, sizeof out, &n),
			 0);
	assert_int_equal(n, 9 + 9 + 20);
}

static void test_rdata_out_too_small(void **state)
{
	(void)state;
	uint8_t pkt[512], out[512];
	size_t n, len;
	static const uint8_t ns[] = { 3, 'n', 's', '1', 0xc0, 12 }; /* 13 octets decompressed */
	len = rdata_pkt(pkt, ns, sizeof ns);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof ns, DNS_TYPE_NS, out, 12, &n), -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof ns, DNS_TYPE_NS, out, 13, &n), 0);
	assert_int_equal(n, 13);
	static const uint8_t mx[] = { 0, 10, 0xc0, 12 };
	len = rdata_pkt(pkt, mx, sizeof mx);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof mx, DNS_TYPE_MX, out, 1, &n), -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof mx, DNS_TYPE_MX, out, 10, &n), -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof mx, DNS_TYPE_MX, out, 11, &n), 0);
	static const uint8_t txt[] = { 3, 'a', 'b', 'c' };
	len = rdata_pkt(pkt, txt, sizeof txt);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof txt, DNS_TYPE_TXT, out, 3, &n), -1);
	assert_int_equal(wire_rdata_read(pkt, len, 21, sizeof txt, DNS_TYPE_TXT, out, 0, &n), -1);
}

static void test_rr_read(void **state)
{
	(void)state;
	uint8_t pkt[512], rd[512];
	struct wire_rr rr;
	/* mail.example. 300 IN MX 10 mail.example., the owner and the rdata compressed. */
	static const uint8_t rec[] = { 4, 'm', 'a', 'i', 'l', 0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 44,
				       0,  4, 0,   10,  0xc0, 21 };
	size_t len = rdata_pkt(pkt, rec, sizeof rec);
	size_t pos = 21;
	assert_int_equal(wire_rr_read(pkt, len, &pos, &rr, rd, sizeof rd), 0);
	assert_int_equal(pos, len);
	uint8_t want[WIRE_NAME_MAX];
	assert_int_equal(rr.owner_len, wname("mail.example.", want));
	assert_memory_equal(rr.owner, want, rr.owner_len);
	assert_int_equal(rr.type, DNS_TYPE_MX);
	assert_int_equal(rr.rclass, DNS_CLASS_IN);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(rr.rdlen, 2 + 14);
	assert_ptr_equal(rr.rdata, rd);
	assert_memory_equal(rr.rdata + 2, want, 14);

	/* Every shorter packet is malformed, and *pos stays put. */
	for (size_t cut = 21; cut < len; cut++) {
		pos = 21;
		assert_int_equal(wire_rr_read(pkt, cut, &pos, &rr, rd, sizeof rd), -1);
		assert_int_equal(pos, 21);
	}
}

/* Mutated AXFR messages never make the record reader read out of bounds (ASan watches). */
static void test_rr_read_survives_mutations(void **state)
{
	(void)state;
	static uint8_t msg[WIRE_MSG_MAX], mut[WIRE_MSG_MAX], rd[WIRE_MSG_MAX];
	struct zone_version *v = load(ZONE_DIR "/internal.v2.zone");
	struct zone_set *zones = set_of(v);
	uint8_t q[512];
	struct answer_info info;
	size_t qlen = make_query(q, 1, "internal.", DNS_TYPE_AXFR);
	answer_query(zones, q, qlen, ANSWER_TCP, msg, sizeof msg, &info);
	assert_int_equal(info.action, ANSWER_AXFR);
	struct answer_axfr *x = answer_axfr_create(&info);
	assert_non_null(x);
	size_t len = answer_axfr_next(x, msg, sizeof msg);
	answer_axfr_destroy(x);
	assert_true(len > WIRE_HEADER_LEN);

	/* The real message reads whole: question, then every answer. */
	unsigned an = wire_get16(msg + 6);
	size_t pos = WIRE_HEADER_LEN + wire_name_len(msg + WIRE_HEADER_LEN) + 4;
	struct wire_rr rr;
	for (unsigned i = 0; i < an; i++)
		assert_int_equal(wire_rr_read(msg, len, &pos, &rr, rd, sizeof rd), 0);
	assert_int_equal(pos, len);
	assert_int_equal(an, zone_version_record_count(v) + 1);

	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		memcpy(mut, msg, len);
		int flips = 1 + (int)(rand_r(&seed) % 4);
		for (int f = 0; f < flips; f++)
			mut[rand_r(&seed) % len] = (uint8_t)rand_r(&seed);
		size_t mlen = len - (rand_r(&seed) % 4 == 0 ? rand_r(&seed) % len : 0);
		pos = WIRE_HEADER_LEN + wire_name_len(msg + WIRE_HEADER_LEN) + 4;
		if (pos > mlen)
			continue;
		for (unsigned i = 0; i < an; i++)
			if (wire_rr_read(mut, mlen, &pos, &rr, rd, sizeof rd) != 0)
				break;
		assert_true(pos <= mlen);
	}
	zone_set_destroy(zones);
	zone_version_unref(v);
}

/* ---- transfers from the fakeresolver server ---- */

static void test_transfer_matches_loaded_zone(void **state)
{
	(void)state;
	struct served s;
	struct result r;
	char label[128], a[80];
	serve(&s, ZONE_DIR "/internal.v2.zone");
	transfer(s.base, server_addr(s.server), "internal.", 5000, &r);
	if (!r.v)
		fail_msg("transfer failed: %s", r.err);
	assert_string_equal(r.err, "");
	assert_same_zone(s.v, r.v);
	assert_int_equal(zone_version_serial(r.v), 2026112502u);
	snprintf(label, sizeof label, "axfr from %s", addr_str(server_addr(s.server), a, sizeof a));
	assert_string_equal(zone_version_source(r.v), label);

	struct zone_set *got = set_of(r.v);
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {
		{ "internal.", DNS_TYPE_SOA },
		{ "internal.", DNS_TYPE_NS },
		{ "internal.", DNS_TYPE_ANY },
		{ "db-primary.internal.", DNS_TYPE_A },
		{ "DB-Primary.Internal.", DNS_TYPE_A },
		{ "db-replica.internal.", DNS_TYPE_AAAA },
		{ "db-replica.internal.", DNS_TYPE_MX },
		{ "api.internal.", DNS_TYPE_A },
		{ "web.internal.", DNS_TYPE_A },
		{ "mail.internal.", DNS_TYPE_MX },
		{ "_ldap._tcp.internal.", DNS_TYPE_SRV },
		{ "anything.apps.internal.", DNS_TYPE_A },
		{ "build.ci.internal.", DNS_TYPE_TXT },
		{ "ci.internal.", DNS_TYPE_A },
		{ "nothere.internal.", DNS_TYPE_A },
		{ "elsewhere.example.", DNS_TYPE_A },
	};
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
		assert_same_answer(s.zones, got, qs[i].name, qs[i].type);

	/* And the transferred zone does answer: db-primary is 10.20.0.42. */
	uint8_t q[512], reply[1232];
	struct answer_info info;
	size_t qlen = make_query(q, 9, "db-primary.internal.", DNS_TYPE_A);
	size_t n = answer_query(got, q, qlen, ANSWER_UDP, reply, sizeof reply, &info);
	static const uint8_t ip[4] = { 10, 20, 0, 42 };
	assert_int_equal(info.ancount, 1);
	assert_memory_equal(reply + n - 4, ip, 4);

	zone_set_destroy(got);
	zone_version_unref(r.v);
	unserve(&s);
}

/* A zone far larger than one 64 KiB message: the client must stitch messages together. */
static void test_transfer_of_many_messages(void **state)
{
	(void)state;
	char path[] = "/tmp/dnschaos-xfr-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN big.test.\n$TTL 300\n"
		   "@ SOA ns1 hostmaster 77 3600 600 86400 60\n@ NS ns1\nns1 A 10.0.0.1\n");
	/* 5000 A records and 1000 TXT records: about 200 KB on the wire. */
	for (int i = 0; i < 5000; i++) {
		fprintf(f, "host%d.rack%d A 10.%d.%d.%d\n", i, i % 50, i / 65536, (i / 256) % 256,
			i % 256);
		if (i % 5 == 0)
			fprintf(f, "host%d.rack%d TXT \"inventory record %d of the zone\"\n", i,
				i % 50, i);
	}
	assert_int_equal(fclose(f), 0);

	struct served s;
	struct result r;
	serve(&s, path);
	unlink(path);
	assert_int_equal(zone_version_record_count(s.v), 3 + 5000 + 1000);
	transfer(s.base, server_addr(s.server), "big.test.", 10000, &r);
	if (!r.v)
		fail_msg("transfer failed: %s", r.err);
	assert_same_zone(s.v, r.v);
	struct zone_set *got = set_of(r.v);
	assert_same_answer(s.zones, got, "host0.rack0.big.test.", DNS_TYPE_A);
	assert_same_answer(s.zones, got, "host4999.rack49.big.test.", DNS_TYPE_A);
	assert_same_answer(s.zones, got, "host1235.rack35.big.test.", DNS_TYPE_TXT);
	assert_same_answer(s.zones, got, "rack7.big.test.", DNS_TYPE_A);
	zone_set_destroy(got);
	zone_version_unref(r.v);
	unserve(&s);
}

static void test_transfer_refused_for_unserved_zone(void **state)
{
	(void)state;
	struct served s;
	struct result r;
	char want[160], a[80];
	serve(&s, ZONE_DIR "/internal.v2.zone");
	transfer(s.base, server_addr(s.server), "example.", 5000, &r);
	assert_null(r.v);
	snprintf(want, sizeof want, "AXFR refused by %s: REFUSED",
		 addr_str(server_addr(s.server), a, sizeof a));
	assert_string_equal(r.err, want);
	unserve(&s);
}

static void test_transfer_of_non_apex_is_notauth(void **state)
{
	(void)state;
	struct served s;
	struct result r;
	serve(&s, ZONE_DIR "/internal.v2.zone");
	transfer(s.base, server_addr(s.server), "apps.internal.", 5000, &r);
	assert_null(r.v);
	assert_non_null(strstr(r.err, "AXFR refused by 127.0.0.1:"));
	assert_non_null(strstr(r.err, ": NOTAUTH"));
	unserve(&s);
}

static void test_connection_refused(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct addr a;
	struct result r;
	char want[160], as[80];
	dt_closed_port("127.0.0.1", SOCK_STREAM, &a);
	transfer(base, &a, "internal.", 5000, &r);
	assert_null(r.v);
	snprintf(want, sizeof want, "cannot connect to %s: Connection refused",
		 addr_str(&a, as, sizeof as));
	assert_string_equal(r.err, want);
	event_base_free(base);
}

static void test_silent_server_times_out(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct addr a;
	struct result r;
	char want[160], as[80];
	int fd = tcp_socket(&a, 4); /* the kernel completes the handshake; nobody reads */
	double t0 = now_s();
	transfer(base, &a, "internal.", 300, &r);
	double took = now_s() - t0;
	assert_null(r.v);
	snprintf(want, sizeof want, "AXFR from %s timed out after 300 ms",
		 addr_str(&a, as, sizeof as));
	assert_non_null(strstr(r.err, want));
	assert_non_null(strstr(r.err, "0 messages"));
	assert_true(took >= 0.29); /* the timer, not an early failure */
	close(fd);
	event_base_free(base);
}

/* ---- scripted servers: what a hostile or broken zone source can send ---- */

/* A stream of length-prefixed messages being written. */
struct stream {
	uint8_t buf[8192];
	size_t len;
};

/*
 * One message being written. The writer borrows every name it compresses
 * against, so owners and rdata are copied into the message first.
 */
struct msg {
	uint8_t buf[4096];
	struct wire_writer w;
	uint8_t names[16][WIRE_NAME_MAX];
	unsigned nnames;
	uint8_t rdata[4096];
	size_t rdata_used;
	uint16_t an;
};

static const uint8_t *msg_name(struct msg *m, const char *str)
{
	assert_true(m->nnames < 16);
	wname(str, m->names[m->nnames]);
	return m->names[m->nnames++];
}

/* Starts a message: header with id and flags, and the question (origin AXFR) if qname. */
static void msg_begin(struct msg *m, uint16_t id, uint16_t flags, const char *qname)
{
	memset(m, 0, sizeof *m);
	wire_writer_init(&m->w, m->buf, sizeof m->buf);
	wire_put16(m->buf, id);
	wire_put16(m->buf + 2, flags);
	m->w.len = WIRE_HEADER_LEN;
	if (qname) {
		const uint8_t *q = msg_name(m, qname);
		uint8_t tc[4];
		wire_put16(tc, DNS_TYPE_AXFR);
		wire_put16(tc + 2, DNS_CLASS_IN);
		assert_int_equal(wire_write_name(&m->w, q), 0);
		assert_int_equal(wire_write_bytes(&m->w, tc, 4), 0);
		wire_put16(m->buf + 4, 1);
	}
}

static void msg_rr(struct msg *m, const char *owner, uint16_t type, const void *rd, size_t rdlen)
{
	uint8_t *copy = m->rdata + m->rdata_used;
	assert_true(rdlen <= sizeof m->rdata - m->rdata_used);
	memcpy(copy, rd, rdlen);
	m->rdata_used += rdlen;
	assert_int_equal(
		wire_write_rr(&m->w, msg_name(m, owner), type, 300, copy, (uint16_t)rdlen), 0);
	m->an++;
}

static void msg_soa(struct msg *m, const char *origin, uint32_t serial)
{
	uint8_t rd[WIRE_NAME_MAX * 2 + 20];
	char buf[300];
	snprintf(buf, sizeof buf, "ns1.%s", origin);
	size_t n = wname(buf, rd);
	snprintf(buf, sizeof buf, "hostmaster.%s", origin);
	n += wname(buf, rd + n);
	wire_put32(rd + n, serial);
	for (int i = 1; i < 5; i++)
		wire_put32(rd + n + 4 * (size_t)i, 3600);
	msg_rr(m, origin, DNS_TYPE_SOA, rd, n + 20);
}

static void msg_a(struct msg *m, const char *owner, uint8_t last)
{
	uint8_t ip[4] = { 192, 0, 2, last };
	msg_rr(m, owner, DNS_TYPE_A, ip, 4);
}

/* Frames the message onto the stream. */
static void msg_end(struct msg *m, struct stream *s)
{
	wire_put16(m->buf + 6, m->an);
	assert_true(s->len + 2 + m->w.len <= sizeof s->buf);
	wire_put16(s->buf + s->len, (uint16_t)m->w.len);
	memcpy(s->buf + s->len + 2, m->buf, m->w.len);
	s->len += 2 + m->w.len;
}

#define RESP (WIRE_FLAG_QR | WIRE_FLAG_AA)

static void s_good_three_messages(uint16_t id, struct stream *s)
{
	struct msg m;
	uint8_t ns[WIRE_NAME_MAX], mx[2 + WIRE_NAME_MAX] = { 0, 10 };
	size_t nsl = wname("ns1.example.", ns), mxl = 2 + wname("Mail.Example.", mx + 2);
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_rr(&m, "example.", DNS_TYPE_NS, ns, nsl);
	msg_end(&m, s);
	msg_begin(&m, id, RESP, NULL); /* later messages may leave the question out */
	msg_a(&m, "www.example.", 1);
	msg_rr(&m, "example.", DNS_TYPE_MX, mx, mxl);
	msg_a(&m, "ns1.example.", 53);
	msg_end(&m, s);
	msg_begin(&m, id, RESP, "EXAMPLE.");
	msg_soa(&m, "EXAMPLE.", 7);
	msg_end(&m, s);
}

static void s_wrong_id(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, (uint16_t)(id + 1), RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_not_a_response(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, 0, "example.");
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_servfail(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP | DNS_RCODE_SERVFAIL, "example.");
	msg_end(&m, s);
}

static void s_short(uint16_t id, struct stream *s)
{
	(void)id;
	static const uint8_t junk[] = { 0, 5, 1, 2, 3, 4, 5 };
	memcpy(s->buf, junk, sizeof junk);
	s->len = sizeof junk;
}

static void s_other_question(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "other.");
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_no_question(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, NULL);
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_empty_first(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_end(&m, s);
}

static void s_first_not_soa(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_a(&m, "www.example.", 1);
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_serial_changed(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_a(&m, "www.example.", 1);
	msg_soa(&m, "example.", 8);
	msg_end(&m, s);
}

static void s_after_end(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_soa(&m, "example.", 7);
	msg_a(&m, "www.example.", 1);
	msg_end(&m, s);
}

static void s_out_of_zone(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_a(&m, "www.elsewhere.", 1);
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_bad_a_rdata(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_rr(&m, "www.example.", DNS_TYPE_A, "\1\2\3", 3);
	msg_soa(&m, "example.", 7);
	msg_end(&m, s);
}

static void s_class_chaos(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	size_t at = m.w.len;
	msg_a(&m, "www.example.", 1);
	/* Owner "www" + pointer (6 octets), then TYPE, then CLASS. */
	wire_put16(m.buf + at + 6 + 2, 3);
	msg_end(&m, s);
}

static void s_truncated_record(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	size_t at = m.w.len;
	msg_a(&m, "www.example.", 1);
	wire_put16(m.buf + at + 6 + 8, 100); /* rdlen: past the end of the message */
	msg_end(&m, s);
}

static void s_forward_pointer(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	uint8_t rr[] = { 0xc0, 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	wire_put16(rr, (uint16_t)(0xc000 | (m.w.len + 4))); /* points past itself */
	assert_int_equal(wire_write_bytes(&m.w, rr, sizeof rr), 0);
	m.an++;
	msg_end(&m, s);
}

static void s_trailing_garbage(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	assert_int_equal(wire_write_bytes(&m.w, "xyz", 3), 0);
	msg_end(&m, s);
}

static void s_stalls(uint16_t id, struct stream *s)
{
	struct msg m;
	msg_begin(&m, id, RESP, "example.");
	msg_soa(&m, "example.", 7);
	msg_a(&m, "www.example.", 1);
	msg_end(&m, s);
	/* Half of a second message's length prefix, then silence. */
	s->buf[s->len++] = 0;
}

struct script {
	const char *name;
	void (*make)(uint16_t id, struct stream *s);
	bool keep_open;     /* send and then stay silent instead of closing */
	const char *expect; /* a substring of the error; NULL: success */
};

static const struct script scripts[] = {
	{ "three messages", s_good_three_messages, false, NULL },
	{ "wrong id", s_wrong_id, false, "message 1 has id" },
	{ "not a response", s_not_a_response, false, "not a response" },
	{ "servfail", s_servfail, false, "AXFR refused by 127.0.0.1:" },
	{ "short message", s_short, false, "message 1 is 5 octets, shorter than a DNS header" },
	{ "other question", s_other_question, false, "answers another question (other. AXFR" },
	{ "no question", s_no_question, false, "message 1 has 0 questions" },
	{ "empty first", s_empty_first, false, "the first message has no records" },
	{ "first not soa", s_first_not_soa, false, "the first record is www.example. A" },
	{ "serial changed", s_serial_changed, false, "opened with serial 7 but closed with 8" },
	{ "after end", s_after_end, false, "records after the closing SOA" },
	{ "out of zone", s_out_of_zone, false, ":2: record for www.elsewhere. is outside" },
	{ "bad a rdata", s_bad_a_rdata, false, ":2: malformed rdata for type 1" },
	{ "class chaos", s_class_chaos, false, "record 2 has class 3" },
	{ "truncated record", s_truncated_record, false, "record 2 (in message 1) is malformed" },
	{ "forward pointer", s_forward_pointer, false, "record 2 (in message 1) is malformed" },
	{ "trailing garbage", s_trailing_garbage, false, "3 octets of garbage" },
	{ "closed early", s_stalls, false,
	  "closed the connection before the closing SOA, in the middle of a message (1 message, "
	  "2 records received)" },
	{ "stalls", s_stalls, true, "timed out after 400 ms (1 message, 2 records received)" },
};

/* A one-connection server on the test's loop that answers the query with a script. */
struct scripted {
	const struct script *script;
	int lfd, cfd;
	struct event *accept_ev, *read_ev;
	struct event_base *base;
	uint8_t in[1024];
	size_t inlen;
};

static void scripted_read(evutil_socket_t fd, short what, void *arg)
{
	struct scripted *ss = arg;
	(void)what;
	ssize_t n = recv(fd, ss->in + ss->inlen, sizeof ss->in - ss->inlen, 0);
	if (n > 0)
		ss->inlen += (size_t)n;
	bool whole = ss->inlen >= 2 && ss->inlen >= 2u + wire_get16(ss->in);
	if (n <= 0 || whole) {
		event_del(ss->read_ev);
	}
	if (!whole)
		return;
	/* The client's query: one AXFR question for example., no RD, its id. */
	assert_int_equal(wire_get16(ss->in + 2 + 2), 0);
	assert_int_equal(wire_get16(ss->in + 2 + 4), 1);
	static struct stream s;
	s.len = 0;
	ss->script->make(wire_get16(ss->in + 2), &s);
	assert_int_equal(send(fd, s.buf, s.len, 0), (ssize_t)s.len);
	if (!ss->script->keep_open) {
		close(ss->cfd);
		ss->cfd = -1;
	}
}

static void scripted_accept(evutil_socket_t fd, short what, void *arg)
{
	struct scripted *ss = arg;
	(void)what;
	ss->cfd = accept(fd, NULL, NULL);
	assert_true(ss->cfd >= 0);
	ss->read_ev = event_new(ss->base, ss->cfd, EV_READ | EV_PERSIST, scripted_read, ss);
	assert_non_null(ss->read_ev);
	event_add(ss->read_ev, NULL);
}

static void scripted_close(struct scripted *ss)
{
	if (ss->read_ev)
		event_free(ss->read_ev);
	event_free(ss->accept_ev);
	if (ss->cfd >= 0)
		close(ss->cfd);
	close(ss->lfd);
}

static const struct script stalling = { "stalls", s_stalls, true, NULL };

static void test_scripted_servers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
		struct scripted ss = { .script = &scripts[i], .cfd = -1 };
		struct addr a;
		struct result r;
		ss.base = event_base_new();
		assert_non_null(ss.base);
		ss.lfd = tcp_socket(&a, 4);
		ss.accept_ev = event_new(ss.base, ss.lfd, EV_READ, scripted_accept, &ss);
		event_add(ss.accept_ev, NULL);
		transfer(ss.base, &a, "example.", 400, &r);
		if (!scripts[i].expect) {
			if (!r.v)
				fail_msg("%s: %s", scripts[i].name, r.err);
			assert_int_equal(zone_version_serial(r.v), 7);
			assert_int_equal(zone_version_record_count(r.v), 5);
			assert_int_equal(zone_version_node_count(r.v), 3);
			/* The MX target came through whole; its suffix was a pointer. */
			uint8_t name[WIRE_NAME_MAX];
			struct zone_rrset mx;
			const uint8_t *rd;
			uint16_t rdlen;
			size_t nl = wname("example.", name);
			uint32_t apex = zone_find(r.v, name, nl);
			assert_true(zone_node_rrset(r.v, apex, DNS_TYPE_MX, &mx));
			zone_rdata_next(mx.rdata, &rd, &rdlen);
			assert_int_equal(rdlen, 2 + 14);
			assert_memory_equal(rd + 2, "\4Mail\7example", 14);
			zone_version_unref(r.v);
		} else {
			assert_null(r.v);
			if (!strstr(r.err, scripts[i].expect))
				fail_msg("%s: got \"%s\", want \"%s\"", scripts[i].name, r.err,
					 scripts[i].expect);
		}
		scripted_close(&ss);
		event_base_free(ss.base);
	}
}

static void test_cancel_means_no_callback(void **state)
{
	(void)state;
	struct served s;
	struct result r = { 0 };
	uint8_t o[WIRE_NAME_MAX];
	char err[256];
	serve(&s, ZONE_DIR "/internal.v2.zone");
	r.base = s.base;

	/* Before the loop ever ran: the connect is still pending. */
	wname("internal.", o);
	struct xfr *x = xfr_start(s.base, server_addr(s.server), o, 5000, on_done, &r, err,
				  sizeof err);
	assert_non_null(x);
	xfr_cancel(x);
	run_loop(s.base, 100);
	assert_int_equal(r.calls, 0);

	/* Mid-transfer: a server that sent one message and then went quiet. */
	struct scripted ss = { .script = &stalling, .cfd = -1, .base = s.base };
	struct addr a;
	ss.lfd = tcp_socket(&a, 4);
	ss.accept_ev = event_new(s.base, ss.lfd, EV_READ, scripted_accept, &ss);
	event_add(ss.accept_ev, NULL);
	wname("example.", o);
	x = xfr_start(s.base, &a, o, 5000, on_done, &r, err, sizeof err);
	assert_non_null(x);
	run_loop(s.base, 200);
	assert_true(ss.cfd >= 0); /* the server saw the query and answered it */
	assert_int_equal(r.calls, 0);
	xfr_cancel(x);
	run_loop(s.base, 100);
	assert_int_equal(r.calls, 0);
	scripted_close(&ss);

	/* A timer that would have fired is gone too. */
	int fd = tcp_socket(&a, 4);
	x = xfr_start(s.base, &a, o, 50, on_done, &r, err, sizeof err);
	assert_non_null(x);
	event_base_loop(s.base, EVLOOP_NONBLOCK);
	xfr_cancel(x);
	run_loop(s.base, 150);
	assert_int_equal(r.calls, 0);
	close(fd);
	unserve(&s);
}

/* The callback may free what it likes; cancelling its own xfr there is a no-op. */
struct selfcancel {
	struct xfr *x;
	struct result r;
};

static void on_done_cancel(void *arg, struct zone_version *v, const char *err)
{
	struct selfcancel *sc = arg;
	xfr_cancel(sc->x);
	on_done(&sc->r, v, err);
}

static void test_cancel_inside_callback_is_harmless(void **state)
{
	(void)state;
	struct served s;
	struct selfcancel sc = { 0 };
	uint8_t o[WIRE_NAME_MAX];
	char err[256];
	serve(&s, ZONE_DIR "/internal.v2.zone");
	sc.r.base = s.base;
	wname("internal.", o);
	sc.x = xfr_start(s.base, server_addr(s.server), o, 5000, on_done_cancel, &sc, err,
			 sizeof err);
	assert_non_null(sc.x);
	run_loop(s.base, 10000);
	assert_int_equal(sc.r.calls, 1);
	assert_non_null(sc.r.v);
	zone_version_unref(sc.r.v);
	unserve(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_refuses_bad_parameters),
		cmocka_unit_test(test_rdata_decompresses_names),
		cmocka_unit_test(test_rdata_rejects_malformed),
		cmocka_unit_test(test_rdata_out_too_small),
		cmocka_unit_test(test_rr_read),
		cmocka_unit_test(test_rr_read_survives_mutations),
		cmocka_unit_test(test_transfer_matches_loaded_zone),
		cmocka_unit_test(test_transfer_of_many_messages),
		cmocka_unit_test(test_transfer_refused_for_unserved_zone),
		cmocka_unit_test(test_transfer_of_non_apex_is_notauth),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_cancel_means_no_callback),
		cmocka_unit_test(test_scripted_servers),
		cmocka_unit_test(test_cancel_inside_callback_is_harmless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
