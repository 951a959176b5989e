/*
 * test_client_loop.c - the drivers that run on the loop (c-ares, libunbound)
 * against a fakeresolver server on a loopback port, with a stand-in for the
 * client core (client_cfg, client_base, client_done, client_stopping) that
 * also checks the contract: client_done never from inside start(), and only
 * from close() once close has begun.
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
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h> /* ares.h uses fd_set without including it */
#include <sys/socket.h>

#include <ares.h>
#include <cmocka.h>
#include <event2/event.h>

#include "fakeresolver/clock.h"
#include "fakeresolver/faults.h"
#include "fakeresolver/rng.h"
#include "fakeresolver/server.h"
#include "harness/clients/client.h"
#include "tests/unit/dnstest.h"

/* How early a timer may fire by libevent's coarse clock. */
#define EARLY 0.02
#define SEEN_MAX 512

/* ---- a stand-in for the client core ---- */

struct client {
	struct client_config cfg;
	struct event_base *base;
	bool in_start;
	bool closing;
	bool done_in_start;   /* a contract violation */
	unsigned done;        /* client_done outside close */
	unsigned done_in_close;
	unsigned want;        /* the loop stops when done reaches it */
	void (*on_done)(void *arg, struct lookup *lk); /* instead (the open-loop bench) */
	void *on_done_arg;
};

const struct client_config *client_cfg(const struct client *c)
{
	return &c->cfg;
}

struct event_base *client_base(const struct client *c)
{
	return c->base;
}

bool client_stopping(const struct client *c)
{
	return c->closing;
}

void client_done(struct client *c, struct lookup *lk)
{
	if (c->in_start)
		c->done_in_start = true;
	if (c->closing) {
		c->done_in_close++;
		return;
	}
	c->done++;
	if (c->on_done) {
		c->on_done(c->on_done_arg, lk);
		return;
	}
	if (c->done >= c->want)
		event_base_loopbreak(c->base);
}

static void cfg_defaults(struct client_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->family = CLIENT_FAMILY_A;
	cfg->qtype = 1;
	cfg->ndots = -1;
	cfg->timeout_s = -1;
	cfg->attempts = -1;
	cfg->rotate = -1;
	cfg->edns0 = -1;
	cfg->single_request = -1;
	cfg->cache = -1;
	cfg->random_order = -1;
}

/* ---- the fixture: a server on 127.0.0.1 and its log ---- */

struct seen {
	char qname[WIRE_NAME_MAX * 4];
	uint16_t qtype;
	uint16_t id;
	bool edns;
	uint16_t edns_size;
	char peer_ip[INET6_ADDRSTRLEN];
	uint16_t peer_port;
	bool tcp;
};

struct fx {
	struct event_base *base;
	struct zone_set *zones;
	struct server *server;
	struct fault_plan *plan; /* NULL until fx_fault */
	struct rng rng;
	struct seen seen[SEEN_MAX];
	unsigned nseen;
	struct client c;
	const struct client_driver *drv;
	void *state;
	bool open;
};

static void wire_name_text(const uint8_t *wire, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	size_t i = 0;
	if (len <= 1) {
		snprintf(out, cap, ".");
		return;
	}
	while (i < len && wire[i] && o + wire[i] + 2 < cap) {
		memcpy(out + o, wire + i + 1, wire[i]);
		o += wire[i];
		out[o++] = '.';
		i += 1 + (size_t)wire[i];
	}
	out[o] = '\0';
}

static void addr_ip(const struct addr *a, char *ip, size_t cap, uint16_t *port)
{
	const struct sockaddr_storage *ss = &a->ss;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)cap);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)cap);
	}
	*port = addr_port(a);
}

static void on_server_log(void *arg, const struct server_event *ev)
{
	struct fx *f = arg;
	if (f->nseen == SEEN_MAX || !ev->info)
		return;
	struct seen *s = &f->seen[f->nseen++];
	const struct wire_query *q = &ev->info->query;
	wire_name_text(q->qname, q->qname_len, s->qname, sizeof s->qname);
	s->qtype = q->qtype;
	s->id = q->id;
	s->edns = q->edns;
	s->edns_size = q->edns_udp_size;
	s->tcp = ev->transport == ANSWER_TCP;
	addr_ip(ev->peer, s->peer_ip, sizeof s->peer_ip, &s->peer_port);
}

static struct fx *fx_new(const struct client_driver *drv)
{
	struct fx *f = calloc(1, sizeof *f);
	struct server_config scfg;
	char err[256];

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->zones = dt_zones("example.zone", NULL);
	server_config_defaults(&scfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &scfg.addr, err, sizeof err), 0);
	f->server = server_create(f->base, f->zones, &scfg, err, sizeof err);
	if (!f->server)
		fail_msg("server_create: %s", err);
	server_set_log(f->server, on_server_log, f);
	f->drv = drv;
	cfg_defaults(&f->c.cfg);
	f->c.cfg.target = *server_addr(f->server);
	f->c.base = f->base;
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
	f->c.closing = true;
	f->drv->close(&f->c, f->state);
	f->open = false;
	f->c.closing = false;
}

static void fx_free(struct fx *f)
{
	fx_close(f);
	assert_false(f->c.done_in_start);
	server_destroy(f->server);
	fault_plan_destroy(f->plan);
	zone_set_destroy(f->zones);
	event_base_free(f->base);
	for (size_t i = 0; i < f->c.cfg.nsearch; i++)
		free(f->c.cfg.search[i]);
	free(f);
}

/* Makes the server answer every query with a fault of this kind (rcode for FAULT_RCODE). */
static void fx_fault(struct fx *f, enum fault_kind kind, uint16_t rcode)
{
	struct fault_spec spec;
	uint32_t id;
	if (!f->plan) {
		f->plan = fault_plan_create();
		assert_non_null(f->plan);
		rng_seed(&f->rng, 1);
		server_set_faults(f->server, f->plan, &f->rng);
	}
	memset(&spec, 0, sizeof spec);
	spec.kind = kind;
	fault_match_all(&spec.match);
	spec.rcode = rcode;
	assert_int_equal(fault_plan_add(f->plan, &spec, &id), 0);
}

static void lookup_init(struct lookup *lk, uint64_t id, const char *name,
			enum client_family family)
{
	memset(lk, 0, sizeof *lk);
	lk->id = id;
	lk->name = name;
	lk->family = family;
	lk->qtype = family == CLIENT_FAMILY_AAAA ? 28 : 1;
	lk->rcode = -1;
	/* not an outcome a driver would leave: proves it filled one */
	lk->result = LOOKUP_CANCELLED;
	lk->reason = REASON_COUNT;
	lk->exit_status = -1;
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
	for (size_t i = 0; i < n; i++) {
		f->c.in_start = true;
		int rc = f->drv->start(&f->c, f->state, &lks[i]);
		f->c.in_start = false;
		if (rc != 0)
			immediate++;
	}
	f->c.want = (unsigned)n - immediate;
	if (f->c.want > 0) {
		struct timeval tv = clock_timeval(limit_s);
		struct event *deadline = evtimer_new(f->base, on_deadline, f->base);
		assert_non_null(deadline);
		evtimer_add(deadline, &tv);
		event_base_loop(f->base, 0);
		event_free(deadline);
	}
	assert_int_equal(f->c.done, f->c.want);
	return clock_mono() - t0;
}

/* One lookup; returns the seconds it took. */
static double fx_one(struct fx *f, struct lookup *lk, const char *name, enum client_family fam,
		     double limit_s)
{
	lookup_init(lk, 1, name, fam);
	return fx_run(f, lk, 1, limit_s);
}

static void assert_addr(const struct lookup *lk, const char *text)
{
	uint8_t want[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, text, want), 1);
	for (size_t i = 0; i < lk->naddrs; i++)
		if (lk->addrs[i].family == fam &&
		    memcmp(lk->addrs[i].a, want, fam == AF_INET ? 4 : 16) == 0)
			return;
	fail_msg("%s is not among the %zu addresses", text, lk->naddrs);
}

static void assert_fail(const struct lookup *lk, enum lookup_result result,
			enum lookup_reason reason, const char *error, int rcode)
{
	if (lk->result != result || lk->reason != reason || strcmp(lk->error, error) != 0 ||
	    lk->rcode != rcode)
		fail_msg("got %s/%s \"%s\" rcode %d, want %s/%s \"%s\" rcode %d",
			 lookup_result_name(lk->result), lookup_reason_name(lk->reason), lk->error,
			 lk->rcode, lookup_result_name(result), lookup_reason_name(reason), error,
			 rcode);
	assert_int_equal(lk->naddrs, 0);
}

static unsigned seen_count(const struct fx *f, const char *qname, uint16_t qtype)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->nseen; i++)
		if ((!qname || strcmp(f->seen[i].qname, qname) == 0) &&
		    (!qtype || f->seen[i].qtype == qtype))
			n++;
	return n;
}

static void set_source(struct client_config *cfg, const char *text)
{
	char err[128];
	assert_int_equal(addr_parse(text, 0, &cfg->source, err, sizeof err), 0);
}

/* A UDP socket on 127.0.0.1 that never answers: a dead target. */
static int silent_socket(struct addr *out)
{
	char err[128];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(addr_parse("127.0.0.1:0", 0, out, err, sizeof err), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&out->ss, out->len), 0);
	out->len = sizeof out->ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&out->ss, &out->len), 0);
	return fd;
}

struct datagram {
	uint16_t id;
	uint16_t port;
	size_t len;
};

/* Reads what a silent socket received, without waiting. */
static size_t silent_read(int fd, struct datagram *out, size_t cap)
{
	size_t n = 0;
	uint8_t buf[2048];
	while (n < cap) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof from;
		ssize_t r = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);
		if (r < 0)
			break;
		out[n].len = (size_t)r;
		out[n].id = r >= 2 ? (uint16_t)((buf[0] << 8) | buf[1]) : 0;
		out[n].port = ntohs(((const struct sockaddr_in *)(const void *)&from)->sin_port);
		n++;
	}
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
	assert_addr(&lk, "192.0.2.80");
	assert_int_equal(lk.rcode, 0);
	assert_string_equal(lk.error, "");
	/* one query, A only, no EDNS by default in 1.18 */
	assert_int_equal(f->nseen, 1);
	assert_string_equal(f->seen[0].qname, "www.example.");
	assert_int_equal(f->seen[0].qtype, 1);
	assert_false(f->seen[0].edns);
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
	assert_addr(&lk, "2001:db8::80");
	assert_int_equal(f->nseen, 1);
	assert_int_equal(f->seen[0].qtype, 28);
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
	assert_addr(&lk, "192.0.2.80");
	assert_addr(&lk, "2001:db8::80");
	/* A and AAAA, in parallel from one socket */
	assert_int_equal(f->nseen, 2);
	assert_int_equal(seen_count(f, "www.example.", 1), 1);
	assert_int_equal(seen_count(f, "www.example.", 28), 1);
	assert_int_equal(f->seen[0].peer_port, f->seen[1].peer_port);
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
	assert_int_equal(f->nseen, 1);
	/* both families: the two answers are NXDOMAIN, still one status */
	f->nseen = 0;
	fx_one(f, &lk, "nope.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "ARES_ENOTFOUND", 3);
	assert_int_equal(f->nseen, 2);
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
	assert_addr(&lk, "192.0.2.25");
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
	f->nseen = 0;
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_UNREACHABLE, "ARES_ECONNREFUSED", -1);
	assert_int_equal(seen_count(f, "www.example.", 1), 3);
	/* the same socket and id each time (unlike after ICMP port unreachable) */
	for (unsigned i = 1; i < 3; i++) {
		assert_int_equal(f->seen[i].peer_port, f->seen[0].peer_port);
		assert_int_equal(f->seen[i].id, f->seen[0].id);
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
	for (unsigned i = 0; i < f->nseen; i++)
		tcp += f->seen[i].tcp;
	assert_int_equal(f->nseen, 4);
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
	f->nseen = 0;
	f->c.cfg.search[0] = strdup("example");
	assert_non_null(f->c.cfg.search[0]);
	f->c.cfg.nsearch = 1;
	f->c.cfg.ndots = 2;
	fx_open(f);
	fx_one(f, &lk, "www", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_addr(&lk, "192.0.2.80");
	f->nseen = 0;
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(f->nseen, 2);
	assert_string_equal(f->seen[0].qname, "www.example.example.");
	assert_string_equal(f->seen[1].qname, "www.example.");
	unsetenv("LOCALDOMAIN");
	fx_free(f);
}

static void test_cares_edns_and_source(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	f->c.cfg.edns0 = 1;
	set_source(&f->c.cfg, "127.0.0.2");
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(f->nseen, 1);
	assert_true(f->seen[0].edns);
	assert_int_equal(f->seen[0].edns_size, 1232);
	assert_string_equal(f->seen[0].peer_ip, "127.0.0.2");
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
	struct datagram d[8];
	struct lookup lk;
	int fd = silent_socket(&f->c.cfg.target);
	f->c.cfg.timeout_s = 0.3;
	f->c.cfg.attempts = 2;
	fx_open(f);
	double took = fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, "ARES_ETIMEOUT", -1);
	print_message("c-ares dead target: ARES_ETIMEOUT after %.3f s\n", took);
	assert_true(took >= 0.9 - EARLY);
	assert_true(took < 2.5);
	size_t n = silent_read(fd, d, 8);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].port, d[1].port);
	assert_int_equal(d[0].id, d[1].id);
	close(fd);
	fx_free(f);
}

/* A closed port: ICMP port unreachable, c-ares retries at once from a new socket. */
static void test_cares_closed_port(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lk;
	int fd = silent_socket(&f->c.cfg.target);
	close(fd);
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
	lookup_init(&lks[0], 1, "192.0.2.7", CLIENT_FAMILY_A);
	lookup_init(&lks[1], 2, "2001:db8::7", CLIENT_FAMILY_AAAA);
	lookup_init(&lks[2], 3, "localhost", CLIENT_FAMILY_A);
	fx_run(f, lks, 3, 5.0);
	assert_false(f->c.done_in_start);
	assert_int_equal(lks[0].result, LOOKUP_OK);
	assert_addr(&lks[0], "192.0.2.7");
	assert_int_equal(lks[1].result, LOOKUP_OK);
	assert_addr(&lks[1], "2001:db8::7");
	assert_fail(&lks[2], LOOKUP_FAIL, REASON_UNREACHABLE, "ARES_ECONNREFUSED", -1);
	assert_int_equal(f->nseen, 0); /* none of them reached the wire */
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
		lookup_init(&lks[i], i + 1, i % 3 == 2 ? "nope.example" : "www.example",
			    CLIENT_FAMILY_A);
	fx_run(f, lks, 200, 10.0);
	for (size_t i = 0; i < 200; i++) {
		if (i % 3 == 2) {
			assert_int_equal(lks[i].reason, REASON_NXDOMAIN);
		} else {
			assert_int_equal(lks[i].result, LOOKUP_OK);
			assert_addr(&lks[i], "192.0.2.80");
		}
	}
	assert_true(f->nseen >= 200);
	fx_free(f);
}

/* close() with lookups in flight: ARES_EDESTRUCTION, reported inside close only. */
static void test_cares_close_in_flight(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_cares_driver);
	struct lookup lks[3];
	int fd = silent_socket(&f->c.cfg.target);
	fx_open(f);
	for (size_t i = 0; i < 3; i++)
		lookup_init(&lks[i], i + 1, "www.example", CLIENT_FAMILY_BOTH);
	for (size_t i = 0; i < 3; i++) {
		f->c.in_start = true;
		assert_int_equal(f->drv->start(&f->c, f->state, &lks[i]), 0);
		f->c.in_start = false;
	}
	struct timeval tv = clock_timeval(0.05);
	event_base_loopexit(f->base, &tv);
	event_base_loop(f->base, 0);
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
	assert_addr(&lk, "192.0.2.80");
	assert_int_equal(lk.rcode, 0);
	/* forwarding: the full name, no qname minimisation, nothing else asked */
	assert_true(f->nseen >= 1);
	assert_int_equal(seen_count(f, "www.example.", 1), f->nseen);
	/* libunbound's own EDNS */
	assert_true(f->seen[0].edns);
	assert_int_equal(f->seen[0].edns_size, 1232);
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
	assert_addr(&lk, "127.0.0.1");
	fx_one(f, &lk, "foo.invalid", CLIENT_FAMILY_A, 5.0);
	assert_fail(&lk, LOOKUP_FAIL, REASON_NXDOMAIN, "NXDOMAIN", 3);
	assert_int_equal(f->nseen, 0);
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
	assert_addr(&lk, "192.0.2.80");
	assert_addr(&lk, "2001:db8::80");
	assert_int_equal(seen_count(f, "www.example.", 1), 1);
	assert_int_equal(seen_count(f, "www.example.", 28), 1);
	/* one family missing: ok with the other */
	fx_one(f, &lk, "mail.example", CLIENT_FAMILY_BOTH, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_int_equal(lk.naddrs, 1);
	assert_addr(&lk, "192.0.2.25");
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
	assert_addr(&lk, "192.0.2.3");
	fx_free(f);
}

static void test_unbound_source(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lk;
	set_source(&f->c.cfg, "127.0.0.2");
	fx_open(f);
	fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 5.0);
	assert_int_equal(lk.result, LOOKUP_OK);
	assert_true(f->nseen >= 1);
	for (unsigned i = 0; i < f->nseen; i++)
		assert_string_equal(f->seen[i].peer_ip, "127.0.0.2");
	fx_free(f);
}

/* close() with lookups in flight: libunbound drops them without a callback. */
static void test_unbound_close_in_flight(void **state)
{
	(void)state;
	struct fx *f = fx_new(&client_unbound_driver);
	struct lookup lks[2];
	int fd = silent_socket(&f->c.cfg.target);
	fx_open(f);
	for (size_t i = 0; i < 2; i++) {
		lookup_init(&lks[i], i + 1, "www.example", CLIENT_FAMILY_BOTH);
		f->c.in_start = true;
		assert_int_equal(f->drv->start(&f->c, f->state, &lks[i]), 0);
		f->c.in_start = false;
	}
	struct timeval tv = clock_timeval(0.2);
	event_base_loopexit(f->base, &tv);
	event_base_loop(f->base, 0);
	struct datagram d[16];
	assert_true(silent_read(fd, d, 16) >= 1); /* they were on the wire */
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
	struct datagram d[64];
	struct lookup lk;
	int fd = silent_socket(&f->c.cfg.target);
	fx_open(f);
	double took = fx_one(f, &lk, "www.example", CLIENT_FAMILY_A, 60.0);
	size_t n = silent_read(fd, d, 64);
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
	size_t n2 = silent_read(fd, d, 64);
	print_message("libunbound dead forwarder, next name: %s after %.3f s, %zu queries\n",
		      lk.error, took2, n2);
	assert_int_equal(lk.reason, REASON_SERVFAIL);
	assert_true(n2 >= 1 && n2 < n);
	close(fd);
	fx_free(f);
}

/* ---- throughput (DNSCHAOS_BENCH=1): open loop, the server on its own thread ---- */

struct bench_server {
	struct event_base *base;
	struct zone_set *zones;
	struct server *server;
	struct fault_plan *plan;
	struct rng rng;
	struct event *tick;
	atomic_bool stop;
	pthread_t thread;
};

static void bench_server_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bench_server *b = arg;
	(void)fd;
	(void)what;
	if (atomic_load(&b->stop))
		event_base_loopbreak(b->base);
}

static void *bench_server_main(void *arg)
{
	struct bench_server *b = arg;
	event_base_loop(b->base, 0);
	return NULL;
}

/* A server on another thread; hang: the share of queries it never answers. */
static void bench_server_start(struct bench_server *b, double hang)
{
	struct server_config scfg;
	char err[256];
	memset(b, 0, sizeof *b);
	b->base = event_base_new();
	b->zones = dt_zones("example.zone", NULL);
	server_config_defaults(&scfg);
	assert_int_equal(addr_parse("127.0.0.1:0", 53, &scfg.addr, err, sizeof err), 0);
	b->server = server_create(b->base, b->zones, &scfg, err, sizeof err);
	assert_non_null(b->server);
	if (hang > 0) {
		struct fault_spec spec;
		uint32_t id;
		memset(&spec, 0, sizeof spec);
		spec.kind = FAULT_HANG;
		fault_match_all(&spec.match);
		spec.match.fraction = hang;
		b->plan = fault_plan_create();
		assert_int_equal(fault_plan_add(b->plan, &spec, &id), 0);
		rng_seed(&b->rng, 7);
		server_set_faults(b->server, b->plan, &b->rng);
	}
	b->tick = event_new(b->base, -1, EV_PERSIST, bench_server_tick, b);
	struct timeval tick = clock_timeval(0.01);
	event_add(b->tick, &tick);
	assert_int_equal(pthread_create(&b->thread, NULL, bench_server_main, b), 0);
}

static void bench_server_stop(struct bench_server *b)
{
	atomic_store(&b->stop, true);
	pthread_join(b->thread, NULL);
	event_free(b->tick);
	server_destroy(b->server);
	fault_plan_destroy(b->plan);
	zone_set_destroy(b->zones);
	event_base_free(b->base);
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
		lookup_init(lk, b->started, "www.example", CLIENT_FAMILY_A);
		b->f->c.in_start = true;
		int rc = b->f->drv->start(&b->f->c, b->f->state, lk);
		b->f->c.in_start = false;
		if (rc != 0)
			b->free_slots[b->nfree++] = slot;
		size_t pending = BENCH_SLOTS - b->nfree;
		if (pending > b->max_pending)
			b->max_pending = pending;
	}
}

static void bench_open_loop(const struct client_driver *drv, double rate, double seconds,
			    double hang, double timeout_s, int attempts)
{
	struct bench_server srv;
	struct bench b;
	struct timespec c0, c1;

	bench_server_start(&srv, hang);
	memset(&b, 0, sizeof b);
	b.f = fx_new(drv);
	b.f->c.cfg.target = *server_addr(srv.server);
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
	b.tick = event_new(b.f->base, -1, EV_PERSIST, bench_arrivals, &b);
	struct timeval ms = clock_timeval(0.001);
	event_add(b.tick, &ms);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	/* arrivals, then until every lookup is done (bounded by the stack's timeouts) */
	struct timeval limit = clock_timeval(seconds + 30.0);
	event_base_loopexit(b.f->base, &limit);
	while (b.nfree < BENCH_SLOTS || evtimer_pending(b.tick, NULL)) {
		if (event_base_loop(b.f->base, EVLOOP_ONCE) != 0 || event_base_got_exit(b.f->base))
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
	bench_server_stop(&srv);
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
