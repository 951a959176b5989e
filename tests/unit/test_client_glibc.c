/*
 * test_client_glibc.c - the glibc drivers (getaddrinfo and res_nquery)
 * against an in-process fakeresolver on loopback, and against a silent and
 * a closed port. The drivers run on a thread of their own, as on the core's
 * workers (glibc's _res is per thread); the fake server runs its loop on
 * another. Minimal versions of the core functions a driver calls are defined
 * here, so only the driver, lookup.c and the fakeresolver library are linked.
 *
 * What is asserted is glibc's own behaviour as seen on the wire (FACTS.md):
 * which queries it sent, from which port, with which ids, and how long it
 * took. Timing bounds are generous below (a timer may be late, never early)
 * and loose above (a loaded 2-core machine, valgrind).
 */
#define _GNU_SOURCE /* EAI_* names used in messages */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include <event2/event.h>

#include "fakeresolver/clock.h"
#include "fakeresolver/faults.h"
#include "fakeresolver/server.h"
#include "harness/clients/client.h"

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

/* ---- the core functions a driver calls ---- */

struct client {
	struct client_config cfg;
	struct event_base *base;
};

static atomic_int done_calls;

const struct client_config *client_cfg(const struct client *c)
{
	return &c->cfg;
}

struct event_base *client_base(const struct client *c)
{
	return c->base;
}

void client_done(struct client *c, struct lookup *lk)
{
	(void)c;
	(void)lk;
	atomic_fetch_add(&done_calls, 1); /* threaded drivers must never call it */
}

bool client_stopping(const struct client *c)
{
	(void)c;
	return false;
}

/* client_config_defaults lives in client.c; the same defaults here. */
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

/* ---- the fake server, its loop thread and what it saw ---- */

struct seen {
	int family;
	uint16_t port;
	uint16_t id;
	uint16_t qtype;
	char qname[256];
	bool edns;
	double at;
};

struct fixture {
	struct event_base *base;
	struct zone_set *zones;
	struct fault_plan *plan;
	struct rng rng;
	struct server *server;
	struct server *server6; /* on [::1], or NULL where IPv6 is missing */
	struct event *tick;
	pthread_t loop;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct seen seen[SEEN_MAX];
	size_t nseen;
};

static void wire_to_text(const uint8_t *w, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	while (i < len && w[i] && o + w[i] + 2 < cap) {
		memcpy(out + o, w + i + 1, w[i]);
		o += w[i];
		out[o++] = '.';
		i += (size_t)w[i] + 1;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
}

static void on_query(void *arg, const struct server_event *ev)
{
	struct fixture *f = arg;
	pthread_mutex_lock(&f->mu);
	if (f->nseen < SEEN_MAX && ev->transport == ANSWER_UDP) {
		struct seen *s = &f->seen[f->nseen++];
		s->family = ev->peer->ss.ss_family;
		s->port = addr_port(ev->peer);
		s->id = ev->info->query.id;
		s->qtype = ev->info->query.qtype;
		wire_to_text(ev->info->query.qname, ev->info->query.qname_len, s->qname,
			     sizeof s->qname);
		s->edns = ev->info->query.edns;
		s->at = clock_mono();
	}
	pthread_mutex_unlock(&f->mu);
}

/* A copy of what the server saw so far. */
static size_t seen_copy(struct fixture *f, struct seen *out)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->nseen;
	memcpy(out, f->seen, n * sizeof *out);
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;
	(void)fd;
	(void)what;
	if (atomic_load(&f->stop))
		event_base_loopbreak(f->base);
}

static void *loop_main(void *arg)
{
	struct fixture *f = arg;
	event_base_dispatch(f->base);
	return NULL;
}

static void add_fault(struct fixture *f, enum fault_kind kind, const char *name, uint16_t qtype,
		      uint16_t rcode, double delay)
{
	struct fault_spec spec;
	char err[256];
	uint32_t id;
	memset(&spec, 0, sizeof spec);
	spec.kind = kind;
	fault_match_all(&spec.match);
	if (fault_match_name(&spec.match, name, err, sizeof err) < 0)
		fail_msg("%s", err);
	spec.match.qtype = qtype;
	spec.rcode = rcode;
	spec.delay_s = delay;
	spec.dist = RNG_DIST_CONSTANT;
	assert_int_equal(fault_plan_add(f->plan, &spec, &id), 0);
}

static struct server *start_server(struct fixture *f, const char *where, bool must)
{
	struct server_config cfg;
	char err[256];
	server_config_defaults(&cfg);
	assert_int_equal(addr_parse(where, 53, &cfg.addr, err, sizeof err), 0);
	struct server *s = server_create(f->base, f->zones, &cfg, err, sizeof err);
	if (!s && must)
		fail_msg("server_create %s: %s", where, err);
	if (s) {
		server_set_log(s, on_query, f);
		server_set_faults(s, f->plan, &f->rng);
	}
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char path[] = "/tmp/dnschaos-glibc-zone-XXXXXX", err[512];
	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);

	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zone_text, sizeof zone_text - 1), (ssize_t)sizeof zone_text - 1);
	close(fd);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	unlink(path);
	if (!v)
		fail_msg("%s", err);
	f->zones = zone_set_create();
	assert_int_equal(zone_set_add(f->zones, v, true), 0);
	zone_version_unref(v);

	f->plan = fault_plan_create();
	assert_non_null(f->plan);
	rng_seed(&f->rng, 1);
	add_fault(f, FAULT_RCODE, "fail.t.test", 0, 2, 0);
	add_fault(f, FAULT_RCODE, "formerr.t.test", 0, 1, 0);
	add_fault(f, FAULT_RCODE, "notimp.t.test", 0, 4, 0);
	add_fault(f, FAULT_DELAY, "slow.t.test", 1, 0, SLOW_A_DELAY);

	f->base = event_base_new();
	assert_non_null(f->base);
	f->server = start_server(f, SERVER_ADDR, true);
	f->server6 = start_server(f, "[::1]:0", false);

	struct timeval tv = { 0, 10000 };
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, f);
	assert_non_null(f->tick);
	event_add(f->tick, &tv);
	assert_int_equal(pthread_create(&f->loop, NULL, loop_main, f), 0);
	atomic_store(&done_calls, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	atomic_store(&f->stop, true);
	pthread_join(f->loop, NULL);
	event_free(f->tick);
	server_destroy(f->server);
	server_destroy(f->server6);
	event_base_free(f->base);
	fault_plan_destroy(f->plan);
	zone_set_destroy(f->zones);
	pthread_mutex_destroy(&f->mu);
	assert_int_equal(atomic_load(&done_calls), 0);
	free(f);
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
	cfg_defaults(&j->c.cfg);
	if (target) {
		j->c.cfg.target = *target;
		addr_str(target, j->c.cfg.target_name, sizeof j->c.cfg.target_name);
	}
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

/* Runs the job on a new thread; fails the test if thread_open failed. */
static void run_job(struct job *j)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, job_main, j), 0);
	pthread_join(t, NULL);
	if (!j->opened)
		fail_msg("thread_open: %s", j->err);
}

static const struct addr *server_target(struct fixture *f)
{
	return server_addr(f->server);
}

static void assert_addr(const struct lookup *lk, size_t i, const char *text)
{
	char got[INET6_ADDRSTRLEN];
	assert_true(i < lk->naddrs);
	inet_ntop(lk->addrs[i].family, lk->addrs[i].a, got, sizeof got);
	assert_string_equal(got, text);
}

static void assert_outcome(const struct lookup *lk, enum lookup_result result,
			   enum lookup_reason reason, const char *error)
{
	if (lk->result != result || lk->reason != reason || strcmp(lk->error, error) != 0)
		fail_msg("%s: got %s/%s \"%s\", want %s/%s \"%s\"", lk->name,
			 lookup_result_name(lk->result), lookup_reason_name(lk->reason), lk->error,
			 lookup_result_name(result), lookup_reason_name(reason), error);
}

/* ---- bad parameters ---- */

static void test_open_needs_an_ip_target(void **state)
{
	(void)state;
	const struct client_driver *drvs[] = { &client_glibc_driver, &client_glibc_res_driver };
	for (size_t i = 0; i < 2; i++) {
		struct job j;
		job_init(&j, drvs[i], NULL); /* ss_family 0 */
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, job_main, &j), 0);
		pthread_join(t, NULL);
		assert_false(j.opened);
		assert_non_null(strstr(j.err, "target"));
		assert_non_null(strstr(j.err, "not an IPv4 or IPv6"));
	}
}

static void test_open_refuses_an_overlong_search_list(void **state)
{
	struct fixture *f = *state;
	const struct client_driver *drvs[] = { &client_glibc_driver, &client_glibc_res_driver };
	char name[61];
	memset(name, 'a', 60);
	name[60] = '\0';
	for (size_t i = 0; i < 2; i++) {
		struct job j;
		job_init(&j, drvs[i], server_target(f));
		for (size_t k = 0; k < 5; k++) /* 5 * 61 octets: more than defdname's 256 */
			j.c.cfg.search[j.c.cfg.nsearch++] = name;
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, job_main, &j), 0);
		pthread_join(t, NULL);
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
	struct fixture *f = *state;
	struct job j;
	struct seen s[SEEN_MAX];
	job_init(&j, &client_glibc_driver, server_target(f));
	struct lookup *a = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 0);
	struct lookup *aaaa = job_add(&j, "www.t.test", CLIENT_FAMILY_AAAA, 0);
	struct lookup *both = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	assert_outcome(a, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(a->naddrs, 1);
	assert_addr(a, 0, "192.0.2.80");
	assert_int_equal(a->rcode, -1); /* getaddrinfo never says */
	assert_outcome(aaaa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(aaaa->naddrs, 1);
	assert_addr(aaaa, 0, "2001:db8::80");
	assert_outcome(both, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(both->naddrs, 2);

	/* The server (the target, not resolv.conf's) saw exactly: A; AAAA; A+AAAA. */
	size_t n = seen_copy(f, s);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(s[i].qname, "www.t.test.");
		assert_false(s[i].edns); /* no EDNS unless asked */
	}
	assert_int_equal(s[0].qtype, 1);
	assert_int_equal(s[1].qtype, 28);
	assert_int_equal(s[2].qtype + s[3].qtype, 1 + 28);
	/* Both of one getaddrinfo call on one socket; a new socket per call. */
	assert_int_equal(s[2].port, s[3].port);
	assert_int_not_equal(s[0].port, s[1].port);
	assert_int_not_equal(s[1].port, s[2].port);
}

static void test_gai_nxdomain_asks_only_the_name(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct seen s[SEEN_MAX];
	/* LOCALDOMAIN (set in main) is in res_init's search list: the driver drops it. */
	job_init(&j, &client_glibc_driver, server_target(f));
	struct lookup *nx = job_add(&j, "nx.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	assert_outcome(nx, LOOKUP_FAIL, REASON_NXDOMAIN, "EAI_NONAME");
	assert_int_equal(nx->naddrs, 0);
	size_t n = seen_copy(f, s);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(s[i].qname, "nx.t.test.");
	assert_int_equal(s[0].qtype + s[1].qtype, 1 + 28);
}

static void test_gai_nodata(void **state)
{
	struct fixture *f = *state;
	struct job j;
	job_init(&j, &client_glibc_driver, server_target(f));
	struct lookup *txt = job_add(&j, "txt.t.test", CLIENT_FAMILY_BOTH, 0);
	struct lookup *v4 = job_add(&j, "v4.t.test", CLIENT_FAMILY_AAAA, 0);
	struct lookup *mixed = job_add(&j, "v4.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	assert_outcome(txt, LOOKUP_FAIL, REASON_NODATA, "EAI_NODATA");
	assert_outcome(v4, LOOKUP_FAIL, REASON_NODATA, "EAI_NODATA");
	/* One family with an address is a success. */
	assert_outcome(mixed, LOOKUP_OK, REASON_NONE, "");
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
	struct fixture *f = *state;
	struct job j;
	struct seen s[SEEN_MAX];
	job_init(&j, &client_glibc_driver, server_target(f));
	j.c.cfg.timeout_s = 2;
	j.c.cfg.attempts = 2;
	struct lookup *sf = job_add(&j, "fail.t.test", CLIENT_FAMILY_A, 0);
	struct lookup *ref = job_add(&j, "www.elsewhere.test", CLIENT_FAMILY_BOTH, 0);
	struct lookup *ni = job_add(&j, "notimp.t.test", CLIENT_FAMILY_A, 0);
	run_job(&j);

	assert_outcome(ni, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN");
	assert_true(j.took[2] < 1.0);
	assert_outcome(sf, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN");
	assert_outcome(ref, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN"); /* glibc cannot tell */
	assert_true(j.took[0] < 1.0);
	assert_true(j.took[1] < 1.0);
	size_t n = seen_copy(f, s);
	assert_int_equal(n, 2 + 4 + 2);
	assert_string_equal(s[7].qname, "notimp.t.test.");
	assert_string_equal(s[0].qname, "fail.t.test.");
	assert_string_equal(s[1].qname, "fail.t.test.");
	assert_int_not_equal(s[0].port, s[1].port);
	assert_int_equal(s[0].id, s[1].id);
	for (size_t i = 2; i < 6; i++) {
		assert_string_equal(s[i].qname, "www.elsewhere.test.");
		assert_int_equal(s[i].port, s[2].port);
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
	struct fixture *f = *state;
	struct seen s[SEEN_MAX];
	struct job j;
	job_init(&j, &client_glibc_driver, server_target(f));
	j.c.cfg.attempts = 2;
	struct lookup *a = job_add(&j, "formerr.t.test", CLIENT_FAMILY_A, 0);
	struct lookup *both = job_add(&j, "formerr.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	assert_outcome(a, LOOKUP_FAIL, REASON_NXDOMAIN, "EAI_NONAME");
	assert_outcome(both, LOOKUP_FAIL, REASON_NXDOMAIN, "EAI_NONAME");
	assert_true(j.took[0] < 1.0);
	assert_true(j.took[1] < 1.0);
	/* Accepted at once: no retry. */
	assert_int_equal(seen_copy(f, s), 1 + 2);
}

/* The behaviour the project hinges on: retries from the same port, same ids. */
static void test_gai_dead_target_retries_from_the_same_port(void **state)
{
	(void)state;
	struct addr silent;
	char err[128];
	assert_int_equal(addr_parse(SILENT_ADDR ":0", 53, &silent, err, sizeof err), 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&silent.ss, silent.len), 0);
	silent.len = sizeof silent.ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&silent.ss, &silent.len), 0);

	struct job j;
	job_init(&j, &client_glibc_driver, &silent);
	j.c.cfg.timeout_s = 1;
	j.c.cfg.attempts = 2;
	struct lookup *lk = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);

	assert_outcome(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, "EAI_AGAIN");
	assert_true(j.took[0] >= 2.0 - 0.05);
	assert_true(j.took[0] < 2.0 + LATE);

	/* Read what the silent socket received: 2 attempts x (A, AAAA). */
	uint16_t port[8], id[8], qtype[8];
	size_t n = 0;
	for (;;) {
		uint8_t buf[512];
		struct sockaddr_in from;
		socklen_t flen = sizeof from;
		ssize_t r = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);
		if (r < 0)
			break;
		assert_true(r > 12 && n < 8);
		size_t p = 12;
		while (p < (size_t)r && buf[p])
			p += buf[p] + 1u;
		assert_true(p + 3 < (size_t)r);
		port[n] = ntohs(from.sin_port);
		id[n] = (uint16_t)(buf[0] << 8 | buf[1]);
		qtype[n] = (uint16_t)(buf[p + 1] << 8 | buf[p + 2]);
		n++;
	}
	close(fd);
	assert_int_equal(n, 4);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(port[i], port[0]);
	assert_int_equal(qtype[0] + qtype[1], 1 + 28);
	assert_int_not_equal(id[0], id[1]);
	/* The second attempt repeats the first: same ids for the same types. */
	for (size_t i = 2; i < 4; i++) {
		size_t k = qtype[i] == qtype[0] ? 0 : 1;
		assert_int_equal(qtype[i], qtype[k]);
		assert_int_equal(id[i], id[k]);
	}
}

static void closed_port(struct addr *out)
{
	char err[128];
	assert_int_equal(addr_parse(CLOSED_ADDR ":0", 53, out, err, sizeof err), 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&out->ss, out->len), 0);
	out->len = sizeof out->ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&out->ss, &out->len), 0);
	close(fd); /* now nothing listens there: the kernel answers port unreachable */
}

static void test_gai_closed_port_fails_fast(void **state)
{
	(void)state;
	struct addr closed;
	closed_port(&closed);
	struct job j;
	job_init(&j, &client_glibc_driver, &closed);
	j.c.cfg.timeout_s = 2;
	j.c.cfg.attempts = 2;
	struct lookup *lk = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	/* Fast, so not a timeout; glibc says EAI_AGAIN as for SERVFAIL. */
	assert_outcome(lk, LOOKUP_FAIL, REASON_SERVFAIL, "EAI_AGAIN");
	assert_true(j.took[0] < 1.0);
}

static void test_gai_search_list_and_ndots(void **state)
{
	struct fixture *f = *state;
	struct seen s[SEEN_MAX];
	struct job j;

	/* ndots 2: "x.y" has fewer dots, so the search list comes first. */
	job_init(&j, &client_glibc_driver, server_target(f));
	j.c.cfg.search[j.c.cfg.nsearch++] = "t.test";
	j.c.cfg.ndots = 2;
	j.c.cfg.attempts = 1;
	struct lookup *xy = job_add(&j, "x.y", CLIENT_FAMILY_A, 0);
	struct lookup *www = job_add(&j, "www", CLIENT_FAMILY_A, 0);
	run_job(&j);
	assert_outcome(xy, LOOKUP_OK, REASON_NONE, "");
	assert_addr(xy, 0, "192.0.2.33");
	assert_outcome(www, LOOKUP_OK, REASON_NONE, "");
	size_t n = seen_copy(f, s);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].qname, "x.y.t.test.");
	assert_string_equal(s[1].qname, "www.t.test.");

	/* glibc's default ndots 1: "x.y" is tried as is first (REFUSED here). */
	job_init(&j, &client_glibc_driver, server_target(f));
	j.c.cfg.search[j.c.cfg.nsearch++] = "t.test";
	j.c.cfg.attempts = 1;
	xy = job_add(&j, "x.y", CLIENT_FAMILY_A, 0);
	run_job(&j);
	assert_outcome(xy, LOOKUP_OK, REASON_NONE, "");
	size_t m = seen_copy(f, s);
	assert_int_equal(m, n + 2);
	assert_string_equal(s[n].qname, "x.y.");
	assert_string_equal(s[n + 1].qname, "x.y.t.test.");
}

static void test_gai_edns0_and_single_request(void **state)
{
	struct fixture *f = *state;
	struct seen s[SEEN_MAX];
	struct job j;

	job_init(&j, &client_glibc_driver, server_target(f));
	j.c.cfg.edns0 = 1;
	job_add(&j, "www.t.test", CLIENT_FAMILY_A, 0);
	run_job(&j);
	size_t n = seen_copy(f, s);
	assert_int_equal(n, 1);
	assert_true(s[0].edns);

	/* In parallel, the AAAA query leaves at once though the A answer is slow... */
	job_init(&j, &client_glibc_driver, server_target(f));
	struct lookup *par = job_add(&j, "slow.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	assert_outcome(par, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(par->naddrs, 2);
	size_t m = seen_copy(f, s);
	assert_int_equal(m, n + 2);
	for (size_t i = n; i < m; i++)
		if (s[i].qtype == 28)
			assert_true(s[i].at - j.start[0] < SLOW_A_DELAY / 2);
	n = m;

	/* ...with single-request it waits for the A answer. */
	job_init(&j, &client_glibc_driver, server_target(f));
	j.c.cfg.single_request = 1;
	struct lookup *one = job_add(&j, "slow.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	assert_outcome(one, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(one->naddrs, 2);
	m = seen_copy(f, s);
	assert_int_equal(m, n + 2);
	assert_int_equal(s[n].qtype, 1);
	assert_int_equal(s[n + 1].qtype, 28);
	assert_true(s[n + 1].at - j.start[0] >= SLOW_A_DELAY - 0.05);
}

/* An IPv6 target, through _u._ext.nsaddrs, for both drivers. */
static void test_ipv6_target(void **state)
{
	struct fixture *f = *state;
	struct seen s[SEEN_MAX];
	if (!f->server6)
		skip();
	struct job j, j2;
	job_init(&j, &client_glibc_driver, server_addr(f->server6));
	struct lookup *lk = job_add(&j, "www.t.test", CLIENT_FAMILY_BOTH, 0);
	run_job(&j);
	assert_outcome(lk, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(lk->naddrs, 2);
	job_init(&j2, &client_glibc_res_driver, server_addr(f->server6));
	struct lookup *soa = job_add(&j2, "t.test", CLIENT_FAMILY_A, 6);
	run_job(&j2);
	assert_outcome(soa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(soa->records, 1);

	size_t n = seen_copy(f, s);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s[i].family, AF_INET6);
}

/* ---- res_nquery ---- */

static void test_res_counts_records(void **state)
{
	struct fixture *f = *state;
	struct seen s[SEEN_MAX];
	struct job j;
	job_init(&j, &client_glibc_res_driver, server_target(f));
	struct lookup *soa = job_add(&j, "t.test", CLIENT_FAMILY_A, 6);
	struct lookup *ns = job_add(&j, "t.test", CLIENT_FAMILY_A, 2);
	struct lookup *two = job_add(&j, "two.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *aaaa = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 28);
	run_job(&j);

	assert_outcome(soa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(soa->records, 1);
	assert_int_equal(soa->naddrs, 0);
	assert_int_equal(soa->rcode, 0);
	assert_outcome(ns, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(ns->records, 1);
	assert_outcome(two, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(two->records, 2);
	assert_int_equal(two->naddrs, 2);
	assert_addr(two, 0, "192.0.2.21");
	assert_addr(two, 1, "192.0.2.22");
	assert_outcome(aaaa, LOOKUP_OK, REASON_NONE, "");
	assert_int_equal(aaaa->records, 1);
	assert_addr(aaaa, 0, "2001:db8::80");

	size_t n = seen_copy(f, s);
	assert_int_equal(n, 4);
	assert_int_equal(s[0].qtype, 6);
	assert_string_equal(s[0].qname, "t.test.");
	assert_int_equal(s[3].qtype, 28);
}

static void test_res_negative_answers_keep_the_rcode(void **state)
{
	struct fixture *f = *state;
	struct seen s[SEEN_MAX];
	struct job j, j2;
	job_init(&j, &client_glibc_res_driver, server_target(f));
	j.c.cfg.attempts = 2;
	j.c.cfg.timeout_s = 2;
	struct lookup *nx = job_add(&j, "nx.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *nodata = job_add(&j, "txt.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *sf = job_add(&j, "fail.t.test", CLIENT_FAMILY_A, 1);
	struct lookup *ref = job_add(&j, "www.elsewhere.test", CLIENT_FAMILY_A, 1);
	run_job(&j);
	job_init(&j2, &client_glibc_res_driver, server_target(f));
	struct lookup *fe = job_add(&j2, "formerr.t.test", CLIENT_FAMILY_A, 1);
	run_job(&j2);

	assert_outcome(nx, LOOKUP_FAIL, REASON_NXDOMAIN, "HOST_NOT_FOUND (NXDOMAIN)");
	assert_int_equal(nx->rcode, 3);
	assert_outcome(nodata, LOOKUP_FAIL, REASON_NODATA, "NO_DATA (NOERROR)");
	assert_int_equal(nodata->rcode, 0);
	assert_outcome(sf, LOOKUP_FAIL, REASON_SERVFAIL, "TRY_AGAIN (SERVFAIL)");
	assert_int_equal(sf->rcode, 2);
	assert_outcome(ref, LOOKUP_FAIL, REASON_REFUSED, "TRY_AGAIN (REFUSED)");
	assert_int_equal(ref->rcode, 5);
	assert_int_equal(nx->records + nodata->records + sf->records + ref->records, 0);
	assert_outcome(fe, LOOKUP_FAIL, REASON_BADREPLY, "NO_RECOVERY (FORMERR)");
	assert_int_equal(fe->rcode, 1);

	/* One query each for the answers, one per attempt for SERVFAIL and REFUSED. */
	size_t n = seen_copy(f, s);
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
	char err[128];
	assert_int_equal(addr_parse(SILENT_ADDR ":0", 53, &silent, err, sizeof err), 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&silent.ss, silent.len), 0);
	silent.len = sizeof silent.ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&silent.ss, &silent.len), 0);
	closed_port(&closed);

	struct job j;
	job_init(&j, &client_glibc_res_driver, &silent);
	struct lookup *dead = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 1);
	run_job(&j);
	assert_outcome(dead, LOOKUP_TIMEOUT, REASON_TIMEOUT, "TRY_AGAIN (ETIMEDOUT)");
	assert_int_equal(dead->rcode, -1);
	assert_true(j.took[0] >= 1.0 - 0.05);
	assert_true(j.took[0] < 1.0 + LATE);
	size_t n = 0;
	uint8_t buf[512];
	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		n++;
	close(fd);
	assert_int_equal(n, 1); /* attempts:1 from RES_OPTIONS */

	job_init(&j, &client_glibc_res_driver, &closed);
	struct lookup *gone = job_add(&j, "www.t.test", CLIENT_FAMILY_A, 1);
	run_job(&j);
	assert_outcome(gone, LOOKUP_FAIL, REASON_UNREACHABLE, "TRY_AGAIN (ECONNREFUSED)");
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
