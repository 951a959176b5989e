/*
 * clienttest.c - the client driver tests' stand-in for the client core,
 * their fakeresolver servers and their silent sockets.
 */
#include "tests/unit/clienttest.h"
#include "tests/unit/dnstest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "fakeresolver/clock.h"

/* ---- the core functions a driver calls ---- */

const struct client_config *client_cfg(const struct client *c)
{
	return &c->cfg;
}

struct event_base *client_base(const struct client *c)
{
	return c->base;
}

double client_clock(const struct client *c)
{
	(void)c;
	return clock_mono();
}

void client_done(struct client *c, struct lookup *lk)
{
	if (!c->base) {
		/* Counted, not failed here: a worker thread cannot fail a cmocka test. */
		atomic_fetch_add(&c->done_threaded, 1);
		return;
	}
	if (c->in_start)
		c->done_in_start = true;
	if (atomic_load(&c->stopping)) {
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

bool client_stopping(const struct client *c)
{
	return atomic_load(&c->stopping);
}

void client_sent(struct client *c, struct lookup *lk, uint16_t port, int id,
		 const uint8_t *qname, size_t qlen, uint16_t qtype)
{
	(void)qname;
	(void)qlen;
	if (c->nsent == CT_SENT_MAX)
		return;
	c->sent[c->nsent++] = (struct ct_sent){ lk ? lk->id : 0, port, id, qtype };
}

/* ---- clients and lookups ---- */

void ct_client_init(struct client *c, enum client_stack stack, const struct addr *target)
{
	memset(c, 0, sizeof *c);
	client_config_defaults(&c->cfg);
	snprintf(c->cfg.name, sizeof c->cfg.name, "%s", "t");
	c->cfg.stack = stack;
	if (target) {
		c->cfg.target = *target;
		addr_str(target, c->cfg.target_name, sizeof c->cfg.target_name);
	}
	atomic_init(&c->stopping, false);
	atomic_init(&c->done_threaded, 0);
}

void ct_client_clear(struct client *c)
{
	if (atomic_load(&c->done_threaded) != 0)
		fail_msg("a threaded driver called client_done %u times",
			 atomic_load(&c->done_threaded));
	assert_false(c->done_in_start);
	client_config_clear(&c->cfg);
}

struct client *ct_client_new(enum client_stack stack, const struct addr *target)
{
	struct client *c = calloc(1, sizeof *c);
	assert_non_null(c);
	ct_client_init(c, stack, target);
	return c;
}

void ct_client_free(struct client *c)
{
	ct_client_clear(c);
	free(c);
}

void ct_add_search(struct client *c, const char *domain)
{
	assert_true(c->cfg.nsearch < CLIENT_SEARCH_MAX);
	c->cfg.search[c->cfg.nsearch] = strdup(domain);
	assert_non_null(c->cfg.search[c->cfg.nsearch]);
	c->cfg.nsearch++;
}

void ct_set_source(struct client *c, const char *text)
{
	char err[128];
	if (addr_parse(text, 0, &c->cfg.source, err, sizeof err) != 0)
		fail_msg("source %s: %s", text, err);
}

void ct_lookup_init(struct lookup *lk, uint64_t id, const char *name, enum client_family family,
		    uint16_t qtype)
{
	memset(lk, 0, sizeof *lk);
	lk->id = id;
	lk->name = name;
	lk->family = family;
	lk->qtype = qtype ? qtype : family == CLIENT_FAMILY_AAAA ? 28 : 1;
	lk->rcode = -1;
	lk->result = LOOKUP_CANCELLED;
	lk->reason = REASON_COUNT;
	snprintf(lk->error, sizeof lk->error, "%s", "unset");
}

bool ct_has_addr(const struct lookup *lk, const char *text)
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

void ct_assert_addr(const struct lookup *lk, const char *text)
{
	if (!ct_has_addr(lk, text))
		fail_msg("%s: %s is not among the %zu addresses", lk->name, text, lk->naddrs);
}

void ct_assert_outcome(const struct lookup *lk, enum lookup_result result,
		       enum lookup_reason reason, const char *error)
{
	if (lk->result != result || lk->reason != reason ||
	    (error && strcmp(lk->error, error) != 0))
		fail_msg("%s: got %s/%s \"%s\" (output \"%s\"), want %s/%s \"%s\"", lk->name,
			 lookup_result_name(lk->result), lookup_reason_name(lk->reason), lk->error,
			 lk->output, lookup_result_name(result), lookup_reason_name(reason),
			 error ? error : "(any)");
}

/* ---- the farm ---- */

static void on_query(void *arg, const struct server_event *ev)
{
	struct ct_farm *f = arg;
	if (!ev->info) /* not a query it could read: nothing to log */
		return;
	const struct wire_query *q = &ev->info->query;
	pthread_mutex_lock(&f->mu);
	if (f->nseen < CT_SEEN_MAX) {
		struct ct_seen *s = &f->seen[f->nseen++];
		const struct sockaddr_in *sin = (const void *)&ev->peer->ss;
		const struct sockaddr_in6 *sin6 = (const void *)&ev->peer->ss;
		s->transport = ev->transport;
		s->peer = *ev->peer;
		if (ev->peer->ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &sin6->sin6_addr, s->peer_ip, sizeof s->peer_ip);
		else
			inet_ntop(AF_INET, &sin->sin_addr, s->peer_ip, sizeof s->peer_ip);
		s->peer_port = addr_port(ev->peer);
		wire_name_to_str(q->qname, s->qname, sizeof s->qname);
		s->id = q->id;
		s->qtype = q->qtype;
		s->flags = q->flags;
		s->edns = q->edns;
		s->udp_size = q->edns_udp_size;
		s->at = clock_mono();
	}
	pthread_mutex_unlock(&f->mu);
}

struct ct_farm *ct_farm_new(struct zone_set *zones)
{
	struct ct_farm *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_non_null(zones);
	f->zones = zones;
	f->base = event_base_new();
	assert_non_null(f->base);
	pthread_mutex_init(&f->mu, NULL);
	atomic_init(&f->stop, false);
	rng_seed(&f->rng, 1);
	return f;
}

struct server *ct_farm_listen(struct ct_farm *f, const char *where, bool must)
{
	struct server_config cfg;
	char err[256] = "";
	assert_true(f->nservers < CT_SERVERS_MAX);
	assert_false(f->threaded);
	server_config_defaults(&cfg);
	if (addr_parse(where, 53, &cfg.addr, err, sizeof err) != 0)
		fail_msg("%s: %s", where, err);
	struct server *s = server_create(f->base, f->zones, &cfg, err, sizeof err);
	if (!s) {
		if (must)
			fail_msg("server_create %s: %s", where, err);
		return NULL;
	}
	server_set_log(s, on_query, f);
	if (f->plan)
		server_set_faults(s, f->plan, &f->rng);
	f->servers[f->nservers++] = s;
	return s;
}

const struct addr *ct_farm_addr(const struct ct_farm *f)
{
	assert_true(f->nservers > 0);
	return server_addr(f->servers[0]);
}

struct fault_spec ct_fault(enum fault_kind kind, const char *name, uint16_t qtype,
			   uint16_t rcode)
{
	struct fault_spec spec;
	char err[256] = "";
	memset(&spec, 0, sizeof spec);
	spec.kind = kind;
	fault_match_all(&spec.match);
	if (name && fault_match_name(&spec.match, name, err, sizeof err) != 0)
		fail_msg("%s", err);
	spec.match.qtype = qtype;
	spec.rcode = rcode;
	spec.dist = RNG_DIST_CONSTANT;
	return spec;
}

void ct_farm_fault(struct ct_farm *f, struct fault_spec spec)
{
	uint32_t id;
	assert_false(f->threaded);
	if (!f->plan) {
		f->plan = fault_plan_create();
		assert_non_null(f->plan);
		for (size_t i = 0; i < f->nservers; i++)
			server_set_faults(f->servers[i], f->plan, &f->rng);
	}
	assert_int_equal(fault_plan_add(f->plan, &spec, &id), 0);
}

/* libevent without its thread support cannot be woken from another thread: a timer polls. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ct_farm *f = arg;
	(void)fd;
	(void)what;
	if (atomic_load(&f->stop))
		event_base_loopbreak(f->base);
}

static void *farm_main(void *arg)
{
	struct ct_farm *f = arg;
	event_base_dispatch(f->base);
	return NULL;
}

void ct_farm_start(struct ct_farm *f)
{
	struct timeval tv = clock_timeval(0.01);
	assert_false(f->threaded);
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, f);
	assert_non_null(f->tick);
	assert_int_equal(event_add(f->tick, &tv), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, farm_main, f), 0);
	f->threaded = true;
}

size_t ct_farm_seen(struct ct_farm *f, struct ct_seen *out, size_t cap)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->nseen < cap ? f->nseen : cap;
	if (n)
		memcpy(out, f->seen, n * sizeof *out);
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t ct_farm_take(struct ct_farm *f, struct ct_seen *out, size_t cap)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->nseen < cap ? f->nseen : cap;
	if (n)
		memcpy(out, f->seen, n * sizeof *out);
	f->nseen = 0;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void ct_farm_free(struct ct_farm *f)
{
	if (f->threaded) {
		atomic_store(&f->stop, true);
		pthread_join(f->thread, NULL);
	}
	if (f->tick)
		event_free(f->tick);
	for (size_t i = 0; i < f->nservers; i++)
		server_destroy(f->servers[i]);
	event_base_free(f->base);
	fault_plan_destroy(f->plan);
	zone_set_destroy(f->zones);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* ---- dead targets ---- */

int ct_silent_socket(const char *ip, struct addr *out)
{
	char err[128] = "";
	if (addr_parse(ip, 0, out, err, sizeof err) != 0)
		fail_msg("%s: %s", ip, err);
	int fd = socket(out->ss.ss_family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&out->ss, out->len), 0);
	out->len = sizeof out->ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&out->ss, &out->len), 0);
	return fd;
}

void ct_closed_port(const char *ip, struct addr *out)
{
	/* Below 1024: a port bind(0) chose and closed could be taken by a test beside us. */
	dt_closed_port(ip, SOCK_DGRAM, out);
}

size_t ct_silent_read(int fd, struct ct_datagram *out, size_t cap)
{
	size_t n = 0;
	for (;;) {
		uint8_t buf[2048];
		struct sockaddr_storage from;
		socklen_t flen = sizeof from;
		ssize_t r = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);
		if (r < 0)
			break;
		if (n == cap)
			fail_msg("more than %zu queries reached the silent socket", cap);
		/* the question's type follows its name, after the 12-octet header */
		size_t p = 12;
		while (p < (size_t)r && buf[p])
			p += buf[p] + 1u;
		if (r <= 12 || p + 5 > (size_t)r) /* the root octet, the type, the class */
			fail_msg("a datagram of %zd octets is not a query with a question", r);
		struct addr peer = { .len = flen };
		memcpy(&peer.ss, &from, sizeof from);
		out[n].port = addr_port(&peer);
		out[n].id = (uint16_t)(buf[0] << 8 | buf[1]);
		out[n].qtype = (uint16_t)(buf[p + 1] << 8 | buf[p + 2]);
		n++;
	}
	return n;
}
