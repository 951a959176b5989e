/*
 * test_vip.c - the userspace VIP (harness/lb/vip.h): the forwarding. (The
 * router it asks, harness/lb/route.h, is tested without sockets in
 * test_route.c.) One event_base with two fakeresolver servers behind a VIP
 * on 127.0.0.1:0:
 * backend 0 serves internal.v1 (db-primary.internal A 10.20.0.15) and
 * backend 1 internal.v2 (10.20.0.42), so every answer says which backend
 * gave it. The cases are those of docs/stacks.md: same-socket retries stuck
 * to a hung backend under the flow policy, a retry reaching the other
 * backend under the query policy, a closed backend port (relayed to the
 * client as port unreachable, as conntrack does, or held off as a proxy does).
 *
 * Bad parameters first, then behaviour. Timing: a reply is waited for up to
 * a few seconds; silence is asserted over short windows (a slow machine can
 * only make those pass, never fail).
 */
#define _GNU_SOURCE /* syscall: capget, capset */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <event2/event.h>

#include "fakeresolver/faults.h"
#include "fakeresolver/rng.h"
#include "fakeresolver/server.h"
#include "fakeresolver/wire.h"
#include "fakeresolver/zone.h"
#include "harness/lb/vip.h"

#ifndef ZONE_DIR
#error "ZONE_DIR must name scenarios/zones"
#endif

/* A reply that must come; a window in which nothing may come; the time for
 * the VIP to see a port unreachable (well under its 1 s hold, so the next
 * query still meets the refusal). */
#define REPLY_WAIT_S 5.0
#define SILENCE_S    0.5
#define NOTICE_S     0.2

/* ---- forwarding helpers ---- */

#define LOG_MAX        256
#define NO_REPLY       (-1)
#define SERVFAIL_REPLY (-2)

struct logged {
	bool tcp;
	uint16_t port; /* the client's */
	uint16_t id;
	int backend;
	char name[64];
	bool new_flow;
	bool pinned_down;
	char action[32];
	bool reply;
	uint64_t tag; /* what on_vip_event returned, or (reply) was given back */
};

struct fwd {
	struct event_base *base;
	struct zone_set *zones[2];
	struct server *servers[2];
	struct fault_plan *plan;
	struct rng rng;
	struct vip *vip;
	struct logged log[LOG_MAX];
	size_t nlog;
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

/* Tags each query event with 1000 + its index, to check replies name theirs. */
static uint64_t on_vip_event(void *arg, const struct vip_event *ev)
{
	struct fwd *f = arg;
	assert_true(f->nlog < LOG_MAX);
	struct logged *l = &f->log[f->nlog];
	uint64_t tag = 1000 + f->nlog++;
	memset(l, 0, sizeof *l);
	l->tcp = ev->tcp;
	l->port = addr_port(ev->client);
	l->id = ev->id;
	l->backend = ev->backend;
	if (ev->backend_name)
		snprintf(l->name, sizeof l->name, "%s", ev->backend_name);
	l->new_flow = ev->new_flow;
	l->pinned_down = ev->pinned_down;
	snprintf(l->action, sizeof l->action, "%s", ev->action);
	l->reply = ev->reply;
	l->tag = ev->reply ? ev->tag : tag;
	if (ev->reply) /* the client's query, with its own id */
		assert_int_equal(ev->len >= WIRE_HEADER_LEN ? wire_get16(ev->pkt) : -1, ev->id);
	return ev->reply ? 0 : tag;
}

/*
 * The forwarding tests run twice: over loopback UDP (backends anywhere) and
 * in-process (farm resolvers on the VIP's loop, struct vip_local), which must
 * behave the same to clients and backends alike.
 */
static bool g_in_process;

static int in_process_on(void **state)
{
	(void)state;
	g_in_process = true;
	return 0;
}

static int in_process_off(void **state)
{
	(void)state;
	g_in_process = false;
	return 0;
}

/* arg: &f->servers[i], NULL once the backend is stopped (its port closed). */
static int deliver_local(void *arg, const uint8_t *pkt, size_t len, const struct addr *from,
			 vip_reply_fn fn, void *fnarg)
{
	struct server **sv = arg;
	if (!*sv)
		return -1;
	server_deliver(*sv, pkt, len, from, fn, fnarg);
	return 0;
}

static void forget_local(void *arg, void *fnarg)
{
	struct server **sv = arg;
	if (*sv)
		server_forget(*sv, fnarg);
}

/* Two servers (v1, v2) and a VIP in front of them on 127.0.0.1:0. */
static struct fwd *fwd_new(enum vip_policy policy, enum vip_on_down on_down,
			   enum vip_on_refused on_refused)
{
	static const char *const files[2] = { "internal.v1.zone", "internal.v2.zone" };
	static const char *const names[2] = { "v1", "v2" };
	struct fwd *f = calloc(1, sizeof *f);
	char err[256] = "";
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	struct vip_config cfg;
	vip_config_defaults(&cfg);
	cfg.policy = policy;
	cfg.on_down = on_down;
	cfg.on_refused = on_refused;
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	for (int i = 0; i < 2; i++) {
		struct server_config sc;
		server_config_defaults(&sc);
		assert_int_equal(addr_parse("127.0.0.1:0", 53, &sc.addr, err, sizeof err), 0);
		f->zones[i] = load_set(files[i]);
		f->servers[i] = server_create(f->base, f->zones[i], &sc, err, sizeof err);
		if (!f->servers[i])
			fail_msg("server_create: %s", err);
		snprintf(cfg.backends[i].name, sizeof cfg.backends[i].name, "%s", names[i]);
		cfg.backends[i].addr = *server_addr(f->servers[i]);
		cfg.backends[i].weight = 1;
		if (g_in_process) {
			cfg.backends[i].local.deliver = deliver_local;
			cfg.backends[i].local.forget = forget_local;
			cfg.backends[i].local.arg = &f->servers[i];
		}
	}
	cfg.nbackends = 2;
	f->plan = fault_plan_create();
	assert_non_null(f->plan);
	rng_seed(&f->rng, 1);
	f->vip = vip_create(f->base, &cfg, &f->rng, err, sizeof err);
	if (!f->vip)
		fail_msg("vip_create: %s", err);
	assert_int_not_equal(addr_port(vip_addr(f->vip)), 0);
	vip_set_log(f->vip, on_vip_event, f);
	return f;
}

/* Stops backend i: its port is closed from now on. */
static void fwd_stop(struct fwd *f, int i)
{
	server_destroy(f->servers[i]);
	f->servers[i] = NULL;
}

static void fwd_free(struct fwd *f)
{
	vip_destroy(f->vip);
	for (int i = 0; i < 2; i++) {
		server_destroy(f->servers[i]);
		zone_set_destroy(f->zones[i]);
	}
	fault_plan_destroy(f->plan);
	event_base_free(f->base);
	free(f);
}

/* Runs the loop until fd is readable or seconds pass; true if readable. */
static bool pump_until_readable(struct fwd *f, int fd, double seconds)
{
	double end = now_s() + seconds;
	do {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5) > 0)
			return true;
	} while (now_s() < end);
	return false;
}

static void pump(struct fwd *f, double seconds)
{
	double end = now_s() + seconds;
	do {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		(void)poll(NULL, 0, 5);
	} while (now_s() < end);
}

/* A client socket connected to the VIP (type SOCK_DGRAM or SOCK_STREAM). */
static int client(struct fwd *f, int type)
{
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	const struct addr *a = vip_addr(f->vip);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	return fd;
}

static uint16_t local_port(int fd)
{
	struct addr a;
	a.len = sizeof a.ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a.ss, &a.len), 0);
	return addr_port(&a);
}

/* Builds an A query for db-primary.internal. with id; returns its length. */
static size_t make_query(uint8_t *buf, uint16_t id)
{
	static const uint8_t qname[] = "\012db-primary\010internal";
	size_t n = WIRE_HEADER_LEN;
	memset(buf, 0, WIRE_HEADER_LEN);
	wire_put16(buf, id);
	wire_put16(buf + 2, 0x0100); /* RD */
	wire_put16(buf + 4, 1);
	memcpy(buf + n, qname, sizeof qname); /* with the root label */
	n += sizeof qname;
	wire_put16(buf + n, DNS_TYPE_A);
	wire_put16(buf + n + 2, DNS_CLASS_IN);
	return n + 4;
}

static void send_query(int fd, uint16_t id)
{
	uint8_t q[512];
	size_t n = make_query(q, id);
	assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
}

/* Which backend a reply came from, by db-primary's address. */
static int which_backend(const uint8_t *r, size_t len)
{
	if ((wire_get16(r + 2) & 0xf) == DNS_RCODE_SERVFAIL)
		return SERVFAIL_REPLY;
	assert_int_equal(wire_get16(r + 2) & 0xf, 0);
	assert_int_equal(wire_get16(r + 6), 1); /* one answer */
	assert_true(len > WIRE_HEADER_LEN + 4);
	static const uint8_t v1[4] = { 10, 20, 0, 15 }, v2[4] = { 10, 20, 0, 42 };
	if (memcmp(r + len - 4, v1, 4) == 0)
		return 0;
	if (memcmp(r + len - 4, v2, 4) == 0)
		return 1;
	fail_msg("an answer from neither zone");
	return NO_REPLY;
}

/* Waits for a reply to id on fd: the backend that answered, SERVFAIL_REPLY or
 * NO_REPLY. The reply must carry the client's own id. */
static int recv_reply(struct fwd *f, int fd, uint16_t id, double wait)
{
	uint8_t r[2048];
	if (!pump_until_readable(f, fd, wait))
		return NO_REPLY;
	ssize_t got = recv(fd, r, sizeof r, MSG_DONTWAIT);
	assert_true(got >= WIRE_HEADER_LEN);
	assert_int_equal(wire_get16(r), id);
	assert_true(wire_get16(r + 2) & WIRE_FLAG_QR);
	return which_backend(r, (size_t)got);
}

static int ask(struct fwd *f, int fd, uint16_t id)
{
	send_query(fd, id);
	return recv_reply(f, fd, id, REPLY_WAIT_S);
}

static void assert_silent(struct fwd *f, int fd, double seconds)
{
	assert_false(pump_until_readable(f, fd, seconds));
}

/* Every query received is accounted for once (forwarded, no backend or
 * refused); relayed replies are counted (the SERVFAILs the VIP writes itself
 * are not relayed replies). */
static void assert_replies(struct fwd *f, uint64_t relayed)
{
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.replies, relayed);
	assert_int_equal(st.queries, st.forwarded + st.no_backend + st.refused);
}

/* ---- forwarding: bad parameters ---- */

static void test_vip_create_bad_parameters(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct vip_config cfg;
	char err[256] = "";
	assert_non_null(base);
	vip_destroy(NULL); /* a no-op */

	vip_config_defaults(&cfg);
	assert_int_equal(cfg.policy, VIP_FLOW);
	assert_int_equal(cfg.on_down, VIP_KEEP);
	assert_int_equal(cfg.on_refused, VIP_ICMP);
	assert_true(cfg.flow_idle_s == 30.0);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	assert_null(vip_create(base, &cfg, NULL, err, sizeof err)); /* no backends */
	assert_non_null(strstr(err, "1 to 16 backends"));

	cfg.nbackends = VIP_BACKENDS_MAX + 1;
	err[0] = '\0';
	assert_null(vip_create(base, &cfg, NULL, err, sizeof err));
	assert_non_null(strstr(err, "1 to 16 backends"));

	cfg.nbackends = 1;
	snprintf(cfg.backends[0].name, sizeof cfg.backends[0].name, "b0");
	cfg.backends[0].weight = 1;
	assert_int_equal(addr_parse("192.0.2.1:53", 53, &cfg.backends[0].addr, err, sizeof err), 0);
	err[0] = '\0';
	assert_null(vip_create(base, &cfg, NULL, err, sizeof err));
	assert_non_null(strstr(err, "192.0.2.1:53"));
	assert_non_null(strstr(err, "not loopback"));

	/* A remote daemon on another host, under --allow-non-loopback: created
	 * (nothing is sent before a client asks), and no address is its own
	 * socket before it forwarded anything. */
	cfg.non_loopback = true;
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	struct vip *far = vip_create(base, &cfg, NULL, err, sizeof err);
	if (!far)
		fail_msg("vip_create with a backend off loopback: %s", err);
	struct addr src;
	assert_int_equal(addr_parse("192.0.2.9:40000", 53, &src, err, sizeof err), 0);
	assert_false(vip_sends_from(far, &src));
	assert_false(vip_sends_from(far, vip_addr(far)));
	vip_destroy(far);
	cfg.non_loopback = false;

	assert_int_equal(addr_parse("127.0.0.1:53", 53, &cfg.backends[0].addr, err, sizeof err), 0);
	assert_int_equal(addr_parse("192.0.2.2:53", 53, &cfg.addr, err, sizeof err), 0);
	err[0] = '\0';
	assert_null(vip_create(base, &cfg, NULL, err, sizeof err));
	assert_non_null(strstr(err, "192.0.2.2:53"));
	assert_non_null(strstr(err, "not loopback"));

	/* A port already taken names the address. */
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	struct vip *v = vip_create(base, &cfg, NULL, err, sizeof err);
	if (!v)
		fail_msg("vip_create: %s", err);
	cfg.addr = *vip_addr(v);
	char want[80];
	addr_str(&cfg.addr, want, sizeof want);
	err[0] = '\0';
	assert_null(vip_create(base, &cfg, NULL, err, sizeof err));
	assert_non_null(strstr(err, "cannot listen"));
	assert_non_null(strstr(err, want));
	vip_destroy(v);
	event_base_free(base);
}

/*
 * With port 0 the UDP socket picks the port and TCP must get the same one,
 * which some TCP socket may hold already. Hold many TCP ports and create
 * VIPs until some of them must have met a clash (about 5 expected in 250:
 * without a retry this fails in all but 1 run in 200); each must work.
 */
static void test_vip_create_survives_tcp_port_clash(void **state)
{
	(void)state;
	enum { HELD = 600, CREATES = 250 };
	struct event_base *base = event_base_new();
	struct vip_config cfg;
	char err[256] = "";
	int held[HELD];
	assert_non_null(base);
	vip_config_defaults(&cfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	cfg.nbackends = 1;
	cfg.backends[0].weight = 1;
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &cfg.backends[0].addr, err, sizeof err),
			 0);
	for (int i = 0; i < HELD; i++) {
		held[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(held[i] >= 0);
		assert_int_equal(bind(held[i], (const struct sockaddr *)&cfg.addr.ss, cfg.addr.len),
				 0);
	}
	for (int i = 0; i < CREATES; i++) {
		struct vip *v = vip_create(base, &cfg, NULL, err, sizeof err);
		if (!v)
			fail_msg("vip_create (%d): %s", i, err);
		vip_destroy(v);
	}
	for (int i = 0; i < HELD; i++)
		close(held[i]);
	event_base_free(base);
}

/* ---- forwarding: UDP ---- */

static void test_vip_flow_pins_a_socket(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	int a = client(f, SOCK_DGRAM), b = client(f, SOCK_DGRAM);
	/* Several queries from one source port: one backend, each with its own id back. */
	int ba = ask(f, a, 0xa000);
	assert_true(ba == 0 || ba == 1);
	for (uint16_t i = 1; i < 6; i++)
		assert_int_equal(ask(f, a, (uint16_t)(0xa000 + i)), ba);
	/* A new port is a new flow: the next backend in the rotation. */
	int bb = ask(f, b, 0xb000);
	assert_int_equal(bb, 1 - ba);
	for (uint16_t i = 1; i < 4; i++)
		assert_int_equal(ask(f, b, (uint16_t)(0xb000 + i)), bb);
	/* Interleaved, each stays where it is. */
	assert_int_equal(ask(f, a, 0xa100), ba);
	assert_int_equal(ask(f, b, 0xb100), bb);

	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.queries, 12);
	assert_int_equal(st.forwarded, 12);
	assert_int_equal(st.replies, 12);
	assert_int_equal(st.no_backend + st.refused + st.stray, 0);
	assert_replies(f, 12);
	/* Both backends saw only their own client's queries. */
	struct server_stats ss;
	server_get_stats(f->servers[ba], &ss);
	assert_int_equal(ss.udp_received, 7);
	server_get_stats(f->servers[bb], &ss);
	assert_int_equal(ss.udp_received, 5);
	close(a);
	close(b);
	fwd_free(f);
}

/* Two clients in flight at once with the same id, to one backend: the id
 * rewriting keeps them apart, and each gets its own reply. */
static void test_vip_rewrites_ids(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_PRIMARY, VIP_KEEP, VIP_DROP);
	enum { N = 8 };
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = client(f, SOCK_DGRAM);
		send_query(fds[i], 7);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(recv_reply(f, fds[i], 7, REPLY_WAIT_S), 0);
		assert_silent(f, fds[i], 0.0); /* exactly one reply each */
	}
	struct server_stats ss;
	server_get_stats(f->servers[0], &ss);
	assert_int_equal(ss.udp_received, N);
	assert_replies(f, N);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	fwd_free(f);
}

static void test_vip_query_alternates(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_QUERY, VIP_KEEP, VIP_DROP);
	int a = client(f, SOCK_DGRAM);
	int prev = ask(f, a, 1);
	assert_true(prev == 0 || prev == 1);
	for (uint16_t i = 2; i <= 8; i++) {
		int b = ask(f, a, i);
		assert_int_equal(b, 1 - prev);
		prev = b;
	}
	assert_replies(f, 8);
	close(a);
	fwd_free(f);
}

static void test_vip_down_keep(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	assert_true(ba == 0 || ba == 1);
	assert_int_equal(vip_set_backend_up(f->vip, ba, false), 0);
	assert_false(vip_backend_up(f->vip, ba));
	assert_true(vip_backend_up(f->vip, 1 - ba));
	/* Conntrack keeps the pinned flow on the backend marked down... */
	assert_int_equal(ask(f, a, 2), ba);
	/* ...while every new socket goes to the other one. */
	for (uint16_t i = 0; i < 4; i++) {
		int c = client(f, SOCK_DGRAM);
		assert_int_equal(ask(f, c, (uint16_t)(100 + i)), 1 - ba);
		close(c);
	}
	assert_int_equal(ask(f, a, 3), ba);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.flows_flushed, 0);
	assert_replies(f, 7);
	close(a);
	fwd_free(f);
}

static void test_vip_down_flush(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_FLUSH, VIP_DROP);
	int a = client(f, SOCK_DGRAM), b = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	int bb = ask(f, b, 1);
	assert_int_equal(bb, 1 - ba);
	assert_int_equal(vip_set_backend_up(f->vip, ba, false), 1); /* a's flow */
	/* The flushed flow is routed anew, to the backend still up. */
	assert_int_equal(ask(f, a, 2), 1 - ba);
	assert_int_equal(ask(f, b, 2), bb);
	int c = client(f, SOCK_DGRAM);
	assert_int_equal(ask(f, c, 1), 1 - ba);
	/* Up again: nothing moves back, a stays on its new pin. */
	assert_int_equal(vip_set_backend_up(f->vip, ba, true), 0);
	assert_int_equal(ask(f, a, 3), 1 - ba);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.flows_flushed, 1);
	assert_replies(f, 6);
	close(a);
	close(b);
	close(c);
	fwd_free(f);
}

static void hang_backend(struct fwd *f, int i)
{
	struct fault_spec s;
	uint32_t id = 0;
	memset(&s, 0, sizeof s);
	s.kind = FAULT_HANG;
	fault_match_all(&s.match);
	assert_int_equal(fault_plan_add(f->plan, &s, &id), 0);
	server_set_faults(f->servers[i], f->plan, &f->rng);
}

/* docs/stacks.md: with one of two backends silently dropping, glibc's retries from
 * the same socket stick to it under DNAT; a new socket can reach the other. */
static void test_vip_hang_blackholes_pinned_retries(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	assert_true(ba == 0 || ba == 1);
	hang_backend(f, ba);
	size_t before = f->nlog;
	/* timeout:1 attempts:3 from the same socket, same id: all lost. */
	for (int attempt = 0; attempt < 3; attempt++) {
		send_query(a, 2);
		assert_int_equal(recv_reply(f, a, 2, 1.0), NO_REPLY);
	}
	assert_int_equal(f->nlog, before + 3);
	for (size_t i = before; i < f->nlog; i++) {
		assert_int_equal(f->log[i].backend, ba);
		assert_false(f->log[i].new_flow);
		assert_string_equal(f->log[i].action, "forwarded");
	}
	/* The next getaddrinfo opens a new socket: the healthy backend. */
	int b = client(f, SOCK_DGRAM);
	assert_int_equal(ask(f, b, 3), 1 - ba);
	struct server_stats ss;
	server_get_stats(f->servers[ba], &ss);
	assert_int_equal(ss.udp_received, 4);
	assert_int_equal(ss.udp_replied, 1);
	assert_replies(f, 2);
	close(a);
	close(b);
	fwd_free(f);
}

/* dnsdist, for contrast: the same socket's retry reaches the other backend. */
static void test_vip_query_retry_escapes_hang(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_QUERY, VIP_KEEP, VIP_DROP);
	hang_backend(f, 0);
	int a = client(f, SOCK_DGRAM);
	send_query(a, 9);
	assert_int_equal(recv_reply(f, a, 9, 1.0), NO_REPLY); /* the rotation starts at 0 */
	send_query(a, 9); /* timeout:1, the same socket and id */
	assert_int_equal(recv_reply(f, a, 9, REPLY_WAIT_S), 1);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[0].backend, 0);
	assert_int_equal(f->log[1].backend, 1);
	assert_replies(f, 1);
	close(a);
	fwd_free(f);
}

/* A stopped backend: the first query meets the closed port (the ICMP reaches
 * the VIP, not the client), later ones get SERVFAIL at once. */
static void test_vip_closed_port_servfail(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_SERVFAIL);
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	assert_true(ba == 0 || ba == 1);
	fwd_stop(f, ba);
	send_query(a, 2);
	assert_int_equal(recv_reply(f, a, 2, NOTICE_S), NO_REPLY); /* lost, refusal noticed */
	double t0 = now_s();
	assert_int_equal(ask(f, a, 3), SERVFAIL_REPLY);
	assert_true(now_s() - t0 < 2.0);
	assert_string_equal(f->log[f->nlog - 1].action, "refused-servfail");
	assert_int_equal(f->log[f->nlog - 1].backend, ba);
	assert_int_equal(f->log[f->nlog - 1].id, 3);
	/* A new socket (glibc after ECONNREFUSED) lands on the live backend. */
	int b = client(f, SOCK_DGRAM);
	assert_int_equal(ask(f, b, 4), 1 - ba);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.forwarded, 3);
	assert_replies(f, 2); /* the SERVFAIL is the VIP's own */
	close(a);
	close(b);
	fwd_free(f);
}

/* The same, with two queries back to back (getaddrinfo's A and AAAA on one
 * socket): the refusal is still noticed, and no query goes unaccounted. */
static void test_vip_closed_port_burst(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_SERVFAIL);
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	fwd_stop(f, ba);
	send_query(a, 2);
	send_query(a, 3);
	pump(f, NOTICE_S);
	/* Whatever came back (a SERVFAIL for the second, at most) is drained. */
	uint8_t r[512];
	while (recv(a, r, sizeof r, MSG_DONTWAIT) > 0) {
		assert_int_equal(wire_get16(r), 3);
		assert_int_equal(wire_get16(r + 2) & 0xf, DNS_RCODE_SERVFAIL);
	}
	assert_int_equal(ask(f, a, 4), SERVFAIL_REPLY);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.queries, 4);
	assert_int_equal(st.queries, st.forwarded + st.no_backend + st.refused);
	assert_true(st.refused >= 1);
	close(a);
	fwd_free(f);
}

static void test_vip_closed_port_drop(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	fwd_stop(f, ba);
	send_query(a, 2);
	assert_int_equal(recv_reply(f, a, 2, NOTICE_S), NO_REPLY);
	send_query(a, 3);
	assert_int_equal(recv_reply(f, a, 3, SILENCE_S), NO_REPLY);
	assert_string_equal(f->log[f->nlog - 1].action, "refused-drop");
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.refused, 1);
	assert_replies(f, 1);
	close(a);
	fwd_free(f);
}

static void test_vip_no_backend(void **state)
{
	(void)state;
	const enum vip_on_refused modes[2] = { VIP_DROP, VIP_SERVFAIL };
	for (int m = 0; m < 2; m++) {
		struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, modes[m]);
		vip_set_backend_up(f->vip, 0, false);
		vip_set_backend_up(f->vip, 1, false);
		int a = client(f, SOCK_DGRAM);
		send_query(a, 5);
		if (modes[m] == VIP_SERVFAIL)
			assert_int_equal(recv_reply(f, a, 5, REPLY_WAIT_S), SERVFAIL_REPLY);
		else
			assert_int_equal(recv_reply(f, a, 5, SILENCE_S), NO_REPLY);
		assert_int_equal(f->nlog, 1);
		assert_int_equal(f->log[0].backend, -1);
		assert_string_equal(f->log[0].name, "");
		assert_string_equal(f->log[0].action, "no-backend");
		struct vip_stats st;
		vip_get_stats(f->vip, &st);
		assert_int_equal(st.no_backend, 1);
		assert_replies(f, 0);
		/* A backend back up: served at once, from the same socket. */
		vip_set_backend_up(f->vip, 1, true);
		assert_int_equal(ask(f, a, 6), 1);
		close(a);
		fwd_free(f);
	}
}

/* ---- forwarding: port unreachable relayed (VIP_ICMP) ---- */

/*
 * CAP_NET_RAW in the effective set, on or off (the permitted set keeps it, so
 * it can come back). Returns whether the process has it at all.
 */
static bool net_raw(bool on)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &hdr, d) != 0)
		return false;
	uint32_t bit = 1u << (CAP_NET_RAW % 32);
	if (!(d[CAP_NET_RAW / 32].permitted & bit))
		return false;
	if (on)
		d[CAP_NET_RAW / 32].effective |= bit;
	else
		d[CAP_NET_RAW / 32].effective &= ~bit;
	assert_int_equal(syscall(SYS_capset, &hdr, d), 0);
	return true;
}

/* A VIP_ICMP fixture whose raw socket could be opened, or skip (not root). */
static struct fwd *fwd_icmp(void)
{
	if (!net_raw(true))
		skip();
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_ICMP);
	if (vip_icmp_error(f->vip))
		fail_msg("%s", vip_icmp_error(f->vip));
	return f;
}

/* Waits for fd to report an error or a reply; true if recv says ECONNREFUSED. */
static bool recv_refused(struct fwd *f, int fd, double wait)
{
	uint8_t r[512];
	if (!pump_until_readable(f, fd, wait))
		return false;
	return recv(fd, r, sizeof r, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
}

/*
 * A stopped backend behind a flow VIP: the client's connected socket gets
 * ECONNREFUSED for its query at once, as through DNAT + conntrack (before:
 * silence until its timeout). The same socket's retry meets the port again
 * (nothing is held off); a new socket (glibc and c-ares after ECONNREFUSED)
 * lands on the live backend. The history gets the forwarded query and,
 * after it, its port unreachable tagged as the query's.
 */
static void test_vip_closed_port_icmp(void **state)
{
	(void)state;
	struct fwd *f = fwd_icmp();
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	assert_true(ba == 0 || ba == 1);
	fwd_stop(f, ba);
	size_t before = f->nlog;
	double t0 = now_s();
	send_query(a, 2);
	assert_true(recv_refused(f, a, REPLY_WAIT_S));
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(f->nlog, before + 2);
	struct logged *q = &f->log[before], *r = &f->log[before + 1];
	assert_string_equal(q->action, "forwarded");
	assert_false(q->reply);
	assert_string_equal(r->action, "refused-icmp");
	assert_true(r->reply);
	assert_int_equal(r->tag, q->tag);
	assert_int_equal(r->id, 2);
	assert_int_equal(r->port, local_port(a));
	assert_int_equal(r->backend, ba);
	assert_false(r->new_flow); /* the pinned flow's, as its query's */
	/* Every packet meets the port: the same socket's retry is refused too. */
	send_query(a, 3);
	assert_true(recv_refused(f, a, REPLY_WAIT_S));
	assert_string_equal(f->log[f->nlog - 1].action, "refused-icmp");
	assert_int_equal(f->log[f->nlog - 1].id, 3);
	int b = client(f, SOCK_DGRAM);
	assert_int_equal(ask(f, b, 4), 1 - ba);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.icmp_sent, 2);
	assert_int_equal(st.icmp_failed, 0);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.forwarded, 4);
	assert_replies(f, 2);
	close(a);
	close(b);
	fwd_free(f);
}

/* getaddrinfo's A and AAAA back to back on one socket: each query gets its
 * own port unreachable (the second reaches a socket glibc has closed). */
static void test_vip_closed_port_icmp_burst(void **state)
{
	(void)state;
	struct fwd *f = fwd_icmp();
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	fwd_stop(f, ba);
	for (uint16_t id = 10; id < 20; id++)
		send_query(a, id);
	assert_true(recv_refused(f, a, REPLY_WAIT_S));
	struct vip_stats st;
	double end = now_s() + REPLY_WAIT_S;
	do {
		pump(f, 0.02);
		vip_get_stats(f->vip, &st);
	} while (st.icmp_sent < 10 && now_s() < end);
	assert_int_equal(st.icmp_sent, 10);
	assert_int_equal(st.forwarded, 11);
	size_t replies = 0;
	for (size_t i = 0; i < f->nlog; i++)
		if (f->log[i].reply) {
			assert_int_equal(f->log[i].tag, f->log[f->log[i].tag - 1000].tag);
			assert_int_equal(f->log[i].id, f->log[f->log[i].tag - 1000].id);
			replies++;
		}
	assert_int_equal(replies, 10);
	close(a);
	fwd_free(f);
}

/* No backend up: port unreachable too (as IPVS sends), after its no-backend line. */
static void test_vip_no_backend_icmp(void **state)
{
	(void)state;
	struct fwd *f = fwd_icmp();
	vip_set_backend_up(f->vip, 0, false);
	vip_set_backend_up(f->vip, 1, false);
	int a = client(f, SOCK_DGRAM);
	send_query(a, 5);
	assert_true(recv_refused(f, a, REPLY_WAIT_S));
	assert_int_equal(f->nlog, 2);
	assert_string_equal(f->log[0].action, "no-backend");
	assert_string_equal(f->log[1].action, "refused-icmp");
	assert_int_equal(f->log[1].backend, -1);
	assert_int_equal(f->log[1].tag, f->log[0].tag);
	assert_replies(f, 0);
	vip_set_backend_up(f->vip, 1, true);
	assert_int_equal(ask(f, a, 6), 1);
	close(a);
	fwd_free(f);
}

/*
 * Without CAP_NET_RAW the VIP still runs and says why it cannot relay; the
 * client of a stopped backend sees silence, and the history says the port
 * unreachable was not relayed (refused-noicmp), for the checker.
 */
static void test_vip_icmp_without_raw_socket(void **state)
{
	(void)state;
	bool had = net_raw(false);
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_ICMP);
	if (had)
		net_raw(true);
	const char *why = vip_icmp_error(f->vip);
	assert_non_null(why);
	assert_non_null(strstr(why, "raw socket"));
	assert_non_null(strstr(why, "CAP_NET_RAW"));
	int a = client(f, SOCK_DGRAM);
	int ba = ask(f, a, 1);
	fwd_stop(f, ba);
	send_query(a, 2);
	assert_int_equal(recv_reply(f, a, 2, SILENCE_S), NO_REPLY);
	assert_string_equal(f->log[f->nlog - 1].action, "refused-noicmp");
	assert_true(f->log[f->nlog - 1].reply);
	assert_int_equal(f->log[f->nlog - 1].tag, f->log[f->nlog - 2].tag);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.icmp_sent, 0);
	assert_int_equal(st.icmp_failed, 1);
	close(a);
	fwd_free(f);
	/* The other modes never need one. */
	net_raw(false);
	f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	if (had)
		net_raw(true);
	assert_null(vip_icmp_error(f->vip));
	fwd_free(f);
}

/* The same over IPv6: a VIP on ::1, its client gets ICMPv6 port unreachable. */
static void test_vip_closed_port_icmp6(void **state)
{
	(void)state;
	if (!net_raw(true))
		skip();
	char err[256] = "";
	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct zone_set *zs = load_set("internal.v2.zone");
	struct server_config sc;
	server_config_defaults(&sc);
	assert_int_equal(addr_parse("[::1]:0", 53, &sc.addr, err, sizeof err), 0);
	struct server *sv = server_create(base, zs, &sc, err, sizeof err);
	if (!sv)
		fail_msg("server_create: %s", err);
	struct vip_config cfg;
	vip_config_defaults(&cfg);
	assert_int_equal(addr_parse("[::1]:0", 53, &cfg.addr, err, sizeof err), 0);
	cfg.nbackends = 1;
	snprintf(cfg.backends[0].name, sizeof cfg.backends[0].name, "v6");
	cfg.backends[0].addr = *server_addr(sv);
	cfg.backends[0].weight = 1;
	struct vip *v = vip_create(base, &cfg, NULL, err, sizeof err);
	if (!v)
		fail_msg("vip_create: %s", err);
	assert_null(vip_icmp_error(v));
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	const struct addr *va = vip_addr(v);
	assert_int_equal(connect(fd, (const struct sockaddr *)&va->ss, va->len), 0);
	struct fwd f; /* only its base is pumped */
	memset(&f, 0, sizeof f);
	f.base = base;
	send_query(fd, 1);
	uint8_t r[512];
	assert_true(pump_until_readable(&f, fd, REPLY_WAIT_S));
	assert_true(recv(fd, r, sizeof r, MSG_DONTWAIT) > 0); /* answered */
	server_destroy(sv);
	send_query(fd, 2);
	assert_true(recv_refused(&f, fd, REPLY_WAIT_S));
	close(fd);
	vip_destroy(v);
	zone_set_destroy(zs);
	event_base_free(base);
}

/* ---- forwarding: TCP ---- */

/* Reads exactly n octets while pumping the loop; false on EOF or timeout. */
static bool tcp_read_exact(struct fwd *f, int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (!pump_until_readable(f, fd, REPLY_WAIT_S))
			return false;
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return false;
		if (r > 0)
			got += (size_t)r;
	}
	return true;
}

static void test_vip_tcp_answered(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	int fd = client(f, SOCK_STREAM);
	uint8_t q[514], r[2048];
	size_t n = make_query(q + 2, 0x4242);
	wire_put16(q, (uint16_t)n);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	uint8_t hdr[2];
	assert_true(tcp_read_exact(f, fd, hdr, 2));
	size_t len = wire_get16(hdr);
	assert_true(len >= WIRE_HEADER_LEN && len <= sizeof r);
	assert_true(tcp_read_exact(f, fd, r, len));
	assert_int_equal(wire_get16(r), 0x4242); /* TCP is spliced: the id is untouched */
	int b = which_backend(r, len);
	assert_true(b == 0 || b == 1);
	/* A second query on the same connection: the same backend. */
	n = make_query(q + 2, 0x4343);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	assert_true(tcp_read_exact(f, fd, hdr, 2));
	len = wire_get16(hdr);
	assert_true(tcp_read_exact(f, fd, r, len));
	assert_int_equal(wire_get16(r), 0x4343);
	assert_int_equal(which_backend(r, len), b);

	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.tcp_conns, 1);
	assert_int_equal(st.queries, 0); /* UDP only */
	assert_int_equal(f->nlog, 1);
	assert_true(f->log[0].tcp);
	assert_int_equal(f->log[0].backend, b);
	assert_true(f->log[0].new_flow);
	assert_int_equal(f->log[0].port, local_port(fd));
	assert_string_equal(f->log[0].action, "forwarded");
	struct server_stats ss;
	server_get_stats(f->servers[b], &ss);
	assert_int_equal(ss.tcp_queries, 2);
	close(fd);
	pump(f, 0.1); /* the VIP sees the close and frees the splice */
	fwd_free(f);
}

/* A connection routed to a stopped backend is closed; with none up, too. */
static void test_vip_tcp_dead_backend_closes(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	fwd_stop(f, 0);
	vip_set_backend_up(f->vip, 1, false); /* so the connection goes to 0 */
	int fd = client(f, SOCK_STREAM);
	uint8_t q[514], buf[2];
	size_t n = make_query(q + 2, 1);
	wire_put16(q, (uint16_t)n);
	assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
	assert_false(tcp_read_exact(f, fd, buf, 2));
	assert_true(pump_until_readable(f, fd, 0.0));
	assert_true(recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0); /* EOF or reset */
	close(fd);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].backend, 0);

	vip_set_backend_up(f->vip, 0, false);
	fd = client(f, SOCK_STREAM);
	assert_false(tcp_read_exact(f, fd, buf, 2));
	assert_true(pump_until_readable(f, fd, 0.0)); /* closed, not timed out */
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[1].backend, -1);
	assert_string_equal(f->log[1].action, "no-backend");
	close(fd);
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.tcp_conns, 2);
	fwd_free(f);
}

/*
 * A backend that answers and closes at once (one query per connection, as
 * some servers do): the answer still reaches the client before the VIP
 * closes the client's side. The backend here is a bare TCP socket.
 */
static void test_vip_tcp_reply_then_close(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct vip_config cfg;
	char err[256] = "";
	assert_non_null(base);
	vip_config_defaults(&cfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &cfg.addr, err, sizeof err), 0);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	struct addr be;
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &be, err, sizeof err), 0);
	assert_int_equal(bind(lfd, (const struct sockaddr *)&be.ss, be.len), 0);
	assert_int_equal(listen(lfd, 8), 0);
	be.len = sizeof be.ss;
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&be.ss, &be.len), 0);
	cfg.nbackends = 1;
	cfg.backends[0].addr = be;
	cfg.backends[0].weight = 1;
	struct fwd f = { .base = base };
	f.vip = vip_create(base, &cfg, NULL, err, sizeof err);
	if (!f.vip)
		fail_msg("vip_create: %s", err);

	for (int round = 0; round < 20; round++) {
		int fd = client(&f, SOCK_STREAM);
		uint8_t q[514], r[2048];
		size_t n = make_query(q + 2, (uint16_t)round);
		wire_put16(q, (uint16_t)n);
		assert_int_equal(send(fd, q, n + 2, 0), (ssize_t)(n + 2));
		assert_true(pump_until_readable(&f, lfd, REPLY_WAIT_S));
		int bfd = accept(lfd, NULL, NULL);
		assert_true(bfd >= 0);
		size_t got = 0;
		while (got < n + 2) {
			assert_true(pump_until_readable(&f, bfd, REPLY_WAIT_S));
			ssize_t k = recv(bfd, r + got, sizeof r - got, MSG_DONTWAIT);
			assert_true(k > 0);
			got += (size_t)k;
		}
		r[4] |= 0x80; /* QR: the query echoed as its own reply */
		assert_int_equal(send(bfd, r, got, 0), (ssize_t)got);
		close(bfd);
		uint8_t hdr[2];
		assert_true(tcp_read_exact(&f, fd, hdr, 2));
		assert_int_equal(wire_get16(hdr), n);
		assert_true(tcp_read_exact(&f, fd, r, n));
		assert_int_equal(wire_get16(r), round);
		close(fd);
	}
	vip_destroy(f.vip);
	close(lfd);
	event_base_free(base);
}

/* ---- forwarding: the log ---- */

static void test_vip_log_sees_every_decision(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_FLOW, VIP_KEEP, VIP_DROP);
	int a = client(f, SOCK_DGRAM), b = client(f, SOCK_DGRAM);
	uint16_t pa = local_port(a), pb = local_port(b);
	int ba = ask(f, a, 10);              /* new */
	assert_int_equal(ask(f, a, 11), ba); /* pinned */
	int bb = ask(f, b, 20);              /* new, the other */
	assert_int_equal(bb, 1 - ba);
	vip_set_backend_up(f->vip, ba, false);
	assert_int_equal(ask(f, a, 12), ba); /* pinned, down, kept */
	int c = client(f, SOCK_DGRAM);
	assert_int_equal(ask(f, c, 30), bb); /* new, avoiding the down one */

	static const char *const names[2] = { "v1", "v2" };
	const struct {
		uint16_t port, id;
		int backend;
		bool new_flow, pinned_down;
	} want[] = {
		{ pa, 10, ba, true, false },  { pa, 11, ba, false, false },
		{ pb, 20, bb, true, false },  { pa, 12, ba, false, true },
		{ local_port(c), 30, bb, true, false },
	};
	assert_int_equal(f->nlog, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < f->nlog; i++) {
		const struct logged *l = &f->log[i];
		assert_false(l->tcp);
		assert_int_equal(l->port, want[i].port);
		assert_int_equal(l->id, want[i].id);
		assert_int_equal(l->backend, want[i].backend);
		assert_string_equal(l->name, names[want[i].backend]);
		assert_int_equal(l->new_flow, want[i].new_flow);
		assert_int_equal(l->pinned_down, want[i].pinned_down);
		assert_string_equal(l->action, "forwarded");
	}
	struct vip_stats st;
	vip_get_stats(f->vip, &st);
	assert_int_equal(st.queries, f->nlog);
	assert_replies(f, 5);
	/* Logging off: decisions still made, nothing reported. */
	vip_set_log(f->vip, NULL, NULL);
	assert_int_equal(ask(f, a, 13), ba);
	assert_int_equal(f->nlog, 5);
	close(a);
	close(b);
	close(c);
	fwd_free(f);
}

/* A backend that delays its replies: a reply owed when the VIP goes away is
 * dropped (in-process: forgotten, never delivered to freed memory). */
static void test_vip_delayed_reply_then_destroy(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_PRIMARY, VIP_KEEP, VIP_DROP);
	struct fault_spec s;
	uint32_t id = 0;
	memset(&s, 0, sizeof s);
	s.kind = FAULT_DELAY;
	s.delay_s = 0.3;
	fault_match_all(&s.match);
	assert_int_equal(fault_plan_add(f->plan, &s, &id), 0);
	server_set_faults(f->servers[0], f->plan, &f->rng);
	int a = client(f, SOCK_DGRAM);
	double t0 = now_s();
	assert_int_equal(ask(f, a, 1), 0);
	assert_true(now_s() - t0 >= 0.29);
	send_query(a, 2);
	pump(f, 0.05); /* forwarded, its reply owed for another 0.25 s */
	struct server_stats ss;
	server_get_stats(f->servers[0], &ss);
	assert_int_equal(ss.udp_received, 2);
	vip_destroy(f->vip);
	f->vip = NULL;
	pump(f, 0.4); /* the delay runs out with no VIP to take the reply */
	uint8_t r[512];
	assert_true(recv(a, r, sizeof r, MSG_DONTWAIT) < 0);
	close(a);
	fwd_free(f);
}

/* What a backend sees: the VIP's address, not the client's, and the VIP's ids. */
static void server_peer(void *arg, const struct server_event *ev)
{
	struct addr *out = arg;
	*out = *ev->peer;
}

static void test_vip_backend_sees_the_vip(void **state)
{
	(void)state;
	struct fwd *f = fwd_new(VIP_PRIMARY, VIP_KEEP, VIP_DROP);
	struct addr seen;
	memset(&seen, 0, sizeof seen);
	server_set_log(f->servers[0], server_peer, &seen);
	int a = client(f, SOCK_DGRAM);
	assert_int_equal(ask(f, a, 1), 0);
	const struct addr *v = vip_addr(f->vip);
	assert_int_equal(seen.ss.ss_family, AF_INET);
	assert_memory_equal(&((struct sockaddr_in *)&seen.ss)->sin_addr,
			    &((const struct sockaddr_in *)&v->ss)->sin_addr, 4);
	assert_int_not_equal(addr_port(&seen), 0);
	assert_int_not_equal(addr_port(&seen), local_port(a));
	assert_int_not_equal(addr_port(&seen), addr_port(v));
	close(a);
	fwd_free(f);
}

int main(void)
{
	const struct CMUnitTest forwarding[] = {
		cmocka_unit_test(test_vip_create_bad_parameters),
		cmocka_unit_test(test_vip_create_survives_tcp_port_clash),
		cmocka_unit_test(test_vip_flow_pins_a_socket),
		cmocka_unit_test(test_vip_rewrites_ids),
		cmocka_unit_test(test_vip_query_alternates),
		cmocka_unit_test(test_vip_down_keep),
		cmocka_unit_test(test_vip_down_flush),
		cmocka_unit_test(test_vip_hang_blackholes_pinned_retries),
		cmocka_unit_test(test_vip_query_retry_escapes_hang),
		cmocka_unit_test(test_vip_closed_port_servfail),
		cmocka_unit_test(test_vip_closed_port_burst),
		cmocka_unit_test(test_vip_closed_port_drop),
		cmocka_unit_test(test_vip_no_backend),
		cmocka_unit_test(test_vip_closed_port_icmp),
		cmocka_unit_test(test_vip_closed_port_icmp_burst),
		cmocka_unit_test(test_vip_no_backend_icmp),
		cmocka_unit_test(test_vip_icmp_without_raw_socket),
		cmocka_unit_test(test_vip_closed_port_icmp6),
		cmocka_unit_test(test_vip_tcp_answered),
		cmocka_unit_test(test_vip_tcp_dead_backend_closes),
		cmocka_unit_test(test_vip_tcp_reply_then_close),
		cmocka_unit_test(test_vip_log_sees_every_decision),
		cmocka_unit_test(test_vip_delayed_reply_then_destroy),
		cmocka_unit_test(test_vip_backend_sees_the_vip),
	};
	int failed = cmocka_run_group_tests_name("over loopback", forwarding, in_process_off, NULL);
	failed += cmocka_run_group_tests_name("in-process", forwarding, in_process_on, NULL);
	return failed;
}
