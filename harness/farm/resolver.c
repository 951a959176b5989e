/*
 * resolver.c - a fake resolver of the farm: a fakeresolver server on its own
 * loopback address with a lifecycle (start, stop, crash, restart, reload),
 * a boot plan (zones from its own disk, or AXFR from the zone source) and a
 * fault plan. Everything it does goes into the history.
 */
#include "harness/farm/farm.h"
#include "harness/env.h"
#include "fakeresolver/clock.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "fakeresolver/xfr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#define XFR_TIMEOUT_MS 2000

struct farm_fault {
	struct farm_resolver *r;
	uint32_t id;      /* run-wide */
	uint32_t plan_id; /* in the fault plan; 0 for capacity */
	struct event *heal_timer;
	double until;     /* run time it heals itself at; 0: until healed */
};

/*
 * A query that waits in the capacity queue is joined when it arrives (the
 * lookups alive then are the candidates), and its line is written when it is
 * served: the join waits here, keyed by the tag the server hands back.
 */
struct arrival {
	uint64_t tag; /* 0: taken */
	bool joined;
	struct client_join join;
	/* what its line needs if it is never served (the resolver stops first) */
	double at; /* run time of arrival */
	enum answer_transport transport;
	struct addr peer;
	struct wire_query q;
	bool question;
};

struct farm_resolver {
	struct run_env *env;
	char name[FARM_NAME_MAX];
	struct addr addr;
	struct farm_boot boot; /* as configured */
	struct server *server;
	struct zone_set *zones; /* what it serves; empty = nothing */
	struct fault_plan *plan;
	struct rng rng;
	enum farm_state state;
	/* A boot or reload by transfer in progress. */
	struct xfr_slot {
		struct farm_resolver *r;
		struct xfr *x; /* NULL once done: a finished transfer frees itself */
	} xfrs[FARM_BOOT_ZONES];
	size_t xfr_pending;
	struct zone_set *incoming;
	bool incoming_reload;
	char xfr_error[512];
	/* A crash's pending restart. */
	struct event *restart_timer;
	double restart_at; /* when it is due (run time); 0: none pending */
	struct farm_boot restart_boot;
	struct farm_fault **faults;
	size_t nfaults, cap_faults;
	uint32_t down_id; /* the stop or crash fault that took it down, healed at start */
	const char *down_kind;
	struct server_stats totals; /* of servers already closed */
	/* Self-gating. */
	bool gate_on;
	struct farm_gate gate;
	uint32_t gate_plan_id; /* the plan's fault that gates; 0 while not gated */
	/* Joins of queries waiting in the capacity queue, in arrival order. */
	struct arrival *arrivals;
	size_t arr_head, arr_len, arr_cap;
	uint64_t next_tag;
};

const char *farm_state_name(enum farm_state s)
{
	static const char *const names[] = { "down", "booting", "up" };
	return names[s];
}

static void record_lifecycle(struct farm_resolver *r, uint32_t id, const char *kind,
			     const char *action, double down_s);
static void gate_check(struct farm_resolver *r);

static uint64_t name_seed(uint64_t seed, const char *name)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = name; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ull;
	}
	return seed ^ h;
}

static void record_state(struct farm_resolver *r, const char *why)
{
	struct history *h = env_history(r->env);
	char buf[80];
	if (h) {
		history_begin(h, env_now(r->env), "state");
		history_str(h, "resolver", r->name);
		history_str(h, "state", farm_state_name(r->state));
		history_str(h, "why", why);
		history_str(h, "address", addr_str(&r->addr, buf, sizeof buf));
		history_end(h);
	}
	env_say(r->env, "%s is %s (%s)", r->name, farm_state_name(r->state), why);
}

/* Joins a query arriving now (the transport's id: glibc retries over TCP with the same one). */
static bool join_now(struct farm_resolver *r, const struct addr *peer, const struct wire_query *q,
		     struct client_join *j)
{
	return env_join(r->env, &r->addr, peer, q->qname, q->qname_len, q->qtype, (int)q->id, j);
}

/* The server's arrive hook: a query enters the capacity queue; join it now. */
static uint64_t on_arrive(void *arg, enum answer_transport tp, const struct addr *peer,
			  const uint8_t *pkt, size_t len)
{
	struct farm_resolver *r = arg;
	struct wire_query q;
	if (r->arr_len == r->arr_cap) {
		if (r->arr_head > 0) {
			memmove(r->arrivals, r->arrivals + r->arr_head,
				(r->arr_len - r->arr_head) * sizeof *r->arrivals);
			r->arr_len -= r->arr_head;
			r->arr_head = 0;
		} else {
			size_t cap = r->arr_cap ? r->arr_cap * 2 : 64;
			struct arrival *na = realloc(r->arrivals, cap * sizeof *na);
			if (!na)
				return 0; /* out of memory: its line says nothing of the join */
			r->arrivals = na;
			r->arr_cap = cap;
		}
	}
	struct arrival *a = &r->arrivals[r->arr_len++];
	a->tag = ++r->next_tag;
	a->at = env_now(r->env);
	a->transport = tp;
	a->peer = *peer;
	a->question = wire_query_parse(pkt, len, &q) == WIRE_QUERY_OK && q.question_end;
	a->q = q; /* the name is inside: a copy */
	a->joined = a->question && join_now(r, peer, &q, &a->join);
	return a->tag;
}

/* The join made when the query with this tag arrived; false if it was not joined. */
static bool arrival_take(struct farm_resolver *r, uint64_t tag, struct client_join *j)
{
	bool joined = false;
	for (size_t i = r->arr_head; i < r->arr_len; i++)
		if (r->arrivals[i].tag == tag) {
			joined = r->arrivals[i].joined;
			*j = r->arrivals[i].join;
			r->arrivals[i].tag = 0;
			break;
		}
	while (r->arr_head < r->arr_len && r->arrivals[r->arr_head].tag == 0)
		r->arr_head++;
	if (r->arr_head == r->arr_len)
		r->arr_head = r->arr_len = 0;
	return joined;
}

void farm_write_join(struct history *h, const struct client_join *j)
{
	if (j->client)
		history_str(h, "client", j->client);
	if (j->ambiguous) {
		history_str(h, "join", "ambiguous");
	} else {
		history_uint(h, "lookup", j->lookup);
		history_str(h, "cause", j->cause);
	}
}

/*
 * The server goes away with queries still in its capacity queue: each gets
 * its line now, dropped, so that every query a lookup's wire counts has one.
 */
static void arrivals_drop(struct farm_resolver *r)
{
	struct history *h = env_history(r->env);
	double now = env_now(r->env);
	char buf[1024], tb[16];
	for (size_t i = r->arr_head; h && i < r->arr_len; i++) {
		const struct arrival *a = &r->arrivals[i];
		if (!a->tag)
			continue;
		history_begin(h, now, "query");
		history_str(h, "resolver", r->name);
		history_str(h, "transport", a->transport == ANSWER_UDP ? "udp" : "tcp");
		history_str(h, "src", addr_str(&a->peer, buf, sizeof buf));
		history_uint(h, "id", a->q.id);
		if (a->question) {
			wire_name_to_str(a->q.qname, buf, sizeof buf);
			history_str(h, "qname", buf);
			history_str(h, "qtype", answer_type_str(a->q.qtype, tb, sizeof tb));
			if (a->joined)
				farm_write_join(h, &a->join);
		}
		history_str(h, "action", "dropped");
		for (size_t k = 0; k < r->nfaults; k++)
			if (r->faults[k]->plan_id == 0) { /* the capacity fault that made it wait */
				history_uint(h, "fault", r->faults[k]->id);
				break;
			}
		history_double(h, "queue_ms", (now - a->at) * 1000, 3);
		history_end(h);
	}
	r->arr_head = r->arr_len = 0;
}

/* The query log: one history line per query this resolver saw. */
static void log_query(void *arg, const struct server_event *ev)
{
	struct farm_resolver *r = arg;
	struct history *h = env_history(r->env);
	const struct answer_info *info = ev->info;
	const struct fault_decision *d = ev->decision;
	char buf[1024], tb[16], rb[16];

	history_begin(h, env_now(r->env), "query");
	history_str(h, "resolver", r->name);
	history_str(h, "transport", ev->transport == ANSWER_UDP ? "udp" : "tcp");
	history_str(h, "src", addr_str(ev->peer, buf, sizeof buf));
	history_uint(h, "id", info->query.id);
	if (info->query.question_end) {
		wire_name_to_str(info->query.qname, buf, sizeof buf);
		history_str(h, "qname", buf);
		history_str(h, "qtype", answer_type_str(info->query.qtype, tb, sizeof tb));
		/* Joined on arrival: a query that waited in the capacity queue was joined then. */
		struct client_join j;
		bool joined = ev->tag ? arrival_take(r, ev->tag, &j)
				      : ev->queue_s <= 0 && join_now(r, ev->peer, &info->query, &j);
		if (joined)
			farm_write_join(h, &j);
	}
	history_str(h, "action", server_event_action(ev));
	if (ev->reply_len) {
		history_str(h, "rcode", answer_rcode_str(info->rcode, rb, sizeof rb));
		history_uint(h, "an", info->ancount);
		if (info->flags & WIRE_FLAG_TC)
			history_bool(h, "tc", true);
	}
	if (info->zone)
		history_uint(h, "serial", zone_version_serial(info->zone));
	if (d && d->fault_id && d->fault_id == r->gate_plan_id)
		history_bool(h, "gate", true);
	if (d && d->fault_id) {
		/* The plan's id; report the run-wide one. */
		for (size_t i = 0; i < r->nfaults; i++)
			if (r->faults[i]->plan_id == d->fault_id)
				history_uint(h, "fault", r->faults[i]->id);
	} else if (ev->queue_full || ev->queue_s > 0) {
		/* The capacity limit decided (dropped, or made it wait): its id. */
		for (size_t i = 0; i < r->nfaults; i++)
			if (r->faults[i]->plan_id == 0) { /* the one capacity fault */
				history_uint(h, "fault", r->faults[i]->id);
				break;
			}
	}
	if (d && d->delay_s > 0 && ev->reply_len) { /* no reply: the delay held nothing back */
		for (size_t i = 0; i < r->nfaults; i++)
			if (r->faults[i]->plan_id == d->delay_id)
				history_uint(h, "delay_fault", r->faults[i]->id);
		history_double(h, "delay_ms", d->delay_s * 1000, 3);
	}
	if (ev->queue_s > 0)
		history_double(h, "queue_ms", ev->queue_s * 1000, 3);
	history_end(h);
}

struct farm_resolver *farm_resolver_create(struct run_env *env, const char *name,
					   const struct addr *addr, const struct farm_boot *boot)
{
	struct farm_resolver *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->env = env;
	snprintf(r->name, sizeof r->name, "%s", name);
	r->addr = *addr;
	farm_boot_copy(&r->boot, boot);
	r->zones = zone_set_create();
	r->plan = fault_plan_create();
	if (!r->zones || !r->plan) {
		farm_resolver_destroy(r);
		return NULL;
	}
	rng_seed(&r->rng, name_seed(env_seed(env), name));
	return r;
}

static void cancel_transfers(struct farm_resolver *r)
{
	for (size_t i = 0; i < FARM_BOOT_ZONES; i++) {
		xfr_cancel(r->xfrs[i].x);
		r->xfrs[i].x = NULL;
	}
	r->xfr_pending = 0;
	zone_set_destroy(r->incoming);
	r->incoming = NULL;
}

static void fault_free(struct farm_fault *f)
{
	if (f->heal_timer)
		event_free(f->heal_timer);
	free(f);
}

void farm_resolver_destroy(struct farm_resolver *r)
{
	if (!r)
		return;
	cancel_transfers(r);
	if (r->restart_timer)
		event_free(r->restart_timer);
	farm_boot_clear(&r->restart_boot);
	server_destroy(r->server);
	free(r->arrivals);
	for (size_t i = 0; i < r->nfaults; i++)
		fault_free(r->faults[i]);
	free(r->faults);
	fault_plan_destroy(r->plan);
	zone_set_destroy(r->zones);
	farm_boot_clear(&r->boot);
	free(r);
}

const char *farm_resolver_name(const struct farm_resolver *r)
{
	return r->name;
}

const struct addr *farm_resolver_addr(const struct farm_resolver *r)
{
	return &r->addr;
}

enum farm_state farm_resolver_state(const struct farm_resolver *r)
{
	return r->state;
}

int64_t farm_resolver_serial(const struct farm_resolver *r, const uint8_t *name, size_t len)
{
	const struct zone_version *v = zone_set_match(r->zones, name, len);
	return v ? (int64_t)zone_version_serial(v) : -1;
}

int64_t farm_resolver_first_serial(const struct farm_resolver *r)
{
	const struct zone_version *v = zone_set_at(r->zones, 0);
	return v ? (int64_t)zone_version_serial(v) : -1;
}

/* Records a boot (or reload) and its outcome. */
static void record_boot(struct farm_resolver *r, const char *from, bool reload, const char *error)
{
	struct history *h = env_history(r->env);
	char name[1024];
	/* What it serves now is a version of the zone answers are classified
	 * against (its version line, if new, goes before the boot line). */
	for (size_t i = 0; i < zone_set_count(r->zones); i++)
		env_know_version(r->env, zone_set_at(r->zones, i),
				    strcmp(from, "source") == 0 ? CLASSIFY_TRANSFER : CLASSIFY_DISK);
	if (h) {
		history_begin(h, env_now(r->env), "boot");
		history_str(h, "resolver", r->name);
		history_str(h, "from", from);
		if (reload)
			history_bool(h, "reload", true);
		history_bool(h, "ok", error == NULL);
		if (error)
			history_str(h, "error", error);
		history_array_begin(h, "zones");
		for (size_t i = 0; i < zone_set_count(r->zones); i++) {
			const struct zone_version *v = zone_set_at(r->zones, i);
			char entry[1100];
			wire_name_to_str(zone_version_origin(v, NULL), name, sizeof name);
			snprintf(entry, sizeof entry, "%s %u", name, zone_version_serial(v));
			history_elem_str(h, entry);
		}
		history_array_end(h);
		/* The same versions by content, in the same order (see the version lines). */
		history_array_begin(h, "digests");
		for (size_t i = 0; i < zone_set_count(r->zones); i++) {
			uint8_t digest[ZONE_DIGEST_LEN];
			char hex[ZONE_DIGEST_HEX];
			if (zone_version_digest(zone_set_at(r->zones, i), digest) != 0) {
				history_elem_str(h, NULL);
				continue;
			}
			zone_digest_hex(digest, hex);
			history_elem_str(h, hex);
		}
		history_array_end(h);
		history_end(h);
	}
	if (error)
		env_say(r->env, "%s %s from %s failed: %s; serving %zu zone(s)", r->name,
			   reload ? "reload" : "boot", from, error, zone_set_count(r->zones));
	else
		env_say(r->env, "%s %s from %s: serial %lld", r->name,
			   reload ? "reloaded" : "booted", from,
			   (long long)farm_resolver_first_serial(r));
}

/* Serves a new set: the server reads it from the next query on. Takes set. */
static void serve(struct farm_resolver *r, struct zone_set *set)
{
	if (r->server)
		server_set_zones(r->server, set);
	zone_set_destroy(r->zones);
	r->zones = set;
}

/* When every transfer has ended: serve what arrived (a failed boot serves nothing). */
static void transfers_settle(struct farm_resolver *r)
{
	if (r->xfr_pending > 0)
		return;
	bool reload = r->incoming_reload;
	if (reload) {
		/* A zone whose transfer failed keeps the version it served. */
		for (size_t i = 0; i < zone_set_count(r->zones); i++) {
			struct zone_version *old = zone_set_at(r->zones, i);
			size_t olen;
			const uint8_t *origin = zone_version_origin(old, &olen);
			if (!zone_set_has(r->incoming, origin, olen))
				zone_set_add(r->incoming, old, true);
		}
	}
	serve(r, r->incoming);
	r->incoming = NULL;
	if (!reload) {
		r->state = FARM_UP;
		record_state(r, "booted");
	}
	record_boot(r, "source", reload, r->xfr_error[0] ? r->xfr_error : NULL);
	gate_check(r);
	env_emit(r->env, r, "booted");
}

static void transfer_done(void *arg, struct zone_version *v, const char *err)
{
	struct xfr_slot *slot = arg;
	struct farm_resolver *r = slot->r;
	slot->x = NULL;
	r->xfr_pending--;
	if (v) {
		zone_set_add(r->incoming, v, true);
		zone_version_unref(v);
	} else if (!r->xfr_error[0]) {
		snprintf(r->xfr_error, sizeof r->xfr_error, "%s", err);
	}
	transfers_settle(r);
}

/* Boots (or reloads) from a plan: zones now, or transfers that end later. */
static int boot(struct farm_resolver *r, const struct farm_boot *b, bool reload)
{
	cancel_transfers(r);
	if (!b->source) {
		struct zone_set *set = zone_set_create();
		if (!set)
			return -1;
		for (size_t i = 0; i < b->nzones; i++)
			if (zone_set_add(set, b->zones[i], true) == -2) {
				zone_set_destroy(set);
				return -1;
			}
		serve(r, set);
		if (!reload) {
			r->state = FARM_UP;
			record_state(r, "booted");
		}
		record_boot(r, "file", reload, NULL);
		gate_check(r);
		env_emit(r->env, r, "booted");
		return 0;
	}
	const struct zone_set *truth = farm_source_zones(b->source);
	r->incoming = zone_set_create();
	if (!r->incoming)
		return -1;
	r->incoming_reload = reload;
	r->xfr_error[0] = 0;
	if (!reload) {
		/* Up, ports open, serving nothing until the transfers complete. */
		struct zone_set *empty = zone_set_create();
		if (!empty)
			return -1;
		serve(r, empty);
		r->state = FARM_BOOTING;
	}
	size_t n = zone_set_count(truth);
	if (n > FARM_BOOT_ZONES)
		n = FARM_BOOT_ZONES;
	r->xfr_pending = n + 1; /* held while starting, so that no callback settles early */
	for (size_t i = 0; i < n; i++) {
		char err[256];
		const uint8_t *origin = zone_version_origin(zone_set_at(truth, i), NULL);
		r->xfrs[i].r = r;
		r->xfrs[i].x = xfr_start(env_base(r->env), farm_source_addr(b->source), origin,
					 XFR_TIMEOUT_MS, transfer_done, &r->xfrs[i], err, sizeof err);
		if (!r->xfrs[i].x) {
			r->xfr_pending--;
			if (!r->xfr_error[0])
				snprintf(r->xfr_error, sizeof r->xfr_error, "%s", err);
		}
	}
	if (n == 0)
		snprintf(r->xfr_error, sizeof r->xfr_error, "source %s publishes no zone",
			 farm_source_name(b->source));
	r->xfr_pending--;
	transfers_settle(r);
	return 0;
}

int farm_resolver_start(struct farm_resolver *r, const struct farm_boot *b, char *err,
			size_t errlen)
{
	struct server_config cfg;
	if (r->state != FARM_DOWN)
		return 0;
	server_config_defaults(&cfg);
	cfg.addr = r->addr;
	r->server = server_create(env_base(r->env), r->zones, &cfg, err, errlen);
	if (!r->server)
		return -1;
	r->addr = *server_addr(r->server); /* keeps the port for restarts */
	server_set_faults(r->server, r->plan, &r->rng);
	if (env_history(r->env)) {
		server_set_log(r->server, log_query, r);
		server_set_arrive(r->server, on_arrive, r);
	}
	r->state = FARM_BOOTING;
	r->restart_at = 0; /* started by hand before a crash's reboot: none is due any more */
	if (r->down_id) {
		record_lifecycle(r, r->down_id, r->down_kind, "heal", 0);
		r->down_id = 0;
	}
	if (boot(r, b ? b : &r->boot, false) != 0) {
		snprintf(err, errlen, "%s: out of memory while booting", r->name);
		return -1;
	}
	return 0;
}

void farm_resolver_stop(struct farm_resolver *r, const char *why)
{
	if (r->restart_timer && strcmp(why, "crash") != 0) {
		event_del(r->restart_timer); /* a stop cancels a crash's pending restart */
		r->restart_at = 0;
	}
	if (r->state == FARM_DOWN)
		return;
	if (strcmp(why, "stop") == 0) {
		r->down_id = env_next_id(r->env);
		r->down_kind = "stop";
		record_lifecycle(r, r->down_id, "stop", "inject", 0);
	}
	cancel_transfers(r);
	struct server_stats st;
	server_get_stats(r->server, &st);
	r->totals.udp_received += st.udp_received;
	r->totals.udp_replied += st.udp_replied;
	r->totals.tcp_queries += st.tcp_queries;
	r->totals.queue_full += st.queue_full;
	r->totals.fault_acted += st.fault_acted;
	server_destroy(r->server);
	r->server = NULL;
	arrivals_drop(r); /* its queue is gone: those queries are never served */
	/* A stopped process remembers nothing: it boots again when started. */
	struct zone_set *empty = zone_set_create();
	if (empty)
		serve(r, empty);
	r->state = FARM_DOWN;
	record_state(r, why);
	env_emit(r->env, r, strcmp(why, "crash") == 0 ? "crashed" : "stopped");
}

static void restart_due(evutil_socket_t fd, short what, void *arg)
{
	struct farm_resolver *r = arg;
	char err[256];
	(void)fd;
	(void)what;
	r->restart_at = 0;
	if (farm_resolver_start(r, &r->restart_boot, err, sizeof err) != 0)
		env_fail(r->env, "%s: restart failed: %s", r->name, err);
	farm_boot_clear(&r->restart_boot);
}

int farm_resolver_crash(struct farm_resolver *r, double down_s, const struct farm_boot *b,
			char *err, size_t errlen)
{
	uint32_t id = env_next_id(r->env);
	if (r->down_id) {
		/* Already down (stopped, or a crash waiting): this crash supersedes it. */
		record_lifecycle(r, r->down_id, r->down_kind, "heal", 0);
		r->down_id = 0;
	}
	record_lifecycle(r, id, down_s > 0 ? "crash" : "restart", "inject", down_s);
	farm_resolver_stop(r, "crash");
	farm_boot_clear(&r->restart_boot);
	farm_boot_copy(&r->restart_boot, b ? b : &r->boot);
	r->down_id = id;
	r->down_kind = down_s > 0 ? "crash" : "restart";
	if (down_s <= 0) {
		int rc = farm_resolver_start(r, &r->restart_boot, err, errlen);
		farm_boot_clear(&r->restart_boot);
		return rc;
	}
	if (!r->restart_timer)
		r->restart_timer = evtimer_new(env_base(r->env), restart_due, r);
	if (!r->restart_timer) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct timeval tv = clock_timeval(down_s);
	event_base_update_cache_time(env_base(r->env));
	evtimer_add(r->restart_timer, &tv);
	r->restart_at = env_now(r->env) + down_s;
	return 0;
}

int farm_resolver_reload(struct farm_resolver *r, const struct farm_boot *b, char *err,
			 size_t errlen)
{
	if (r->state == FARM_DOWN) {
		snprintf(err, errlen, "%s is down: start it instead of reloading", r->name);
		return -1;
	}
	uint32_t id = env_next_id(r->env);
	record_lifecycle(r, id, "reload", "inject", 0);
	if (boot(r, b, true) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	record_lifecycle(r, id, "reload", "heal", 0);
	return 0;
}

/* ---- faults ---- */

static struct farm_fault *fault_find(const struct farm_resolver *r, uint32_t id, size_t *at)
{
	for (size_t i = 0; i < r->nfaults; i++)
		if (r->faults[i]->id == id) {
			if (at)
				*at = i;
			return r->faults[i];
		}
	return NULL;
}

void farm_fault_record(struct run_env *env, const char *target, uint32_t id, const char *kind,
		       const char *action, const struct fault_spec *spec, double qps, unsigned queue,
		       double duration_s)
{
	struct history *h = env_history(env);
	char buf[1024], tb[16], rb[16];
	env_say(env, "%s: %s %s (fault %u)", target, action, kind, id);
	if (!h)
		return;
	history_begin(h, env_now(env), "fault");
	history_str(h, "target", target);
	history_str(h, "fault", kind);
	history_uint(h, "id", id);
	history_str(h, "action", action);
	if (duration_s > 0)
		history_double(h, "duration", duration_s, 3);
	if (spec && strcmp(action, "inject") == 0) {
		const struct fault_match *m = &spec->match;
		if (m->fraction < 1.0)
			history_double(h, "fraction", m->fraction, 4);
		if (m->has_name) {
			wire_name_to_str(m->name, buf, sizeof buf);
			char pat[1100];
			snprintf(pat, sizeof pat, "%s%s", m->below ? "*." : "", buf);
			history_str(h, "name", pat);
		}
		if (m->qtype)
			history_str(h, "qtype", answer_type_str(m->qtype, tb, sizeof tb));
		if (m->transport >= 0)
			history_str(h, "transport", m->transport == ANSWER_UDP ? "udp" : "tcp");
		switch (spec->kind) {
		case FAULT_DELAY:
			history_double(h, "delay_ms", spec->delay_s * 1000, 3);
			history_double(h, "jitter_ms", spec->spread_s * 1000, 3);
			history_str(h, "dist", rng_dist_name(spec->dist));
			break;
		case FAULT_RCODE:
			history_str(h, "rcode", answer_rcode_str(spec->rcode, rb, sizeof rb));
			break;
		case FAULT_WRONG:
			if (spec->wrong_zones) {
				const struct zone_version *v = zone_set_at(spec->wrong_zones, 0);
				if (v) {
					history_uint(h, "serial", zone_version_serial(v));
					history_str(h, "file", zone_version_source(v));
				}
			} else {
				inet_ntop(spec->wrong_family, spec->wrong_addr, buf, sizeof buf);
				history_str(h, "address", buf);
			}
			break;
		default:
			break;
		}
	}
	if (qps > 0) {
		history_double(h, "qps", qps, 3);
		history_uint(h, "queue", queue);
	}
	history_end(h);
}

static void record_fault(struct farm_resolver *r, uint32_t id, const char *kind,
			 const char *action, const struct fault_spec *spec, double qps,
			 unsigned queue, double duration_s)
{
	farm_fault_record(r->env, r->name, id, kind, action, spec, qps, queue, duration_s);
}

/* Stop, crash, restart and reload are faults too: injected and healed in the history. */
static void record_lifecycle(struct farm_resolver *r, uint32_t id, const char *kind,
			     const char *action, double down_s)
{
	struct history *h = env_history(r->env);
	env_say(r->env, "%s: %s %s (fault %u)", r->name, action, kind, id);
	if (!h)
		return;
	history_begin(h, env_now(r->env), "fault");
	history_str(h, "target", r->name);
	history_str(h, "fault", kind);
	history_uint(h, "id", id);
	history_str(h, "action", action);
	if (down_s > 0)
		history_double(h, "down", down_s, 3);
	history_end(h);
}

static void heal_due(evutil_socket_t fd, short what, void *arg)
{
	struct farm_fault *f = arg;
	(void)fd;
	(void)what;
	farm_resolver_heal(f->r, f->id);
}

static struct farm_fault *fault_add(struct farm_resolver *r, uint32_t plan_id, double duration_s)
{
	struct farm_fault *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (r->nfaults == r->cap_faults) {
		size_t cap = r->cap_faults ? r->cap_faults * 2 : 8;
		struct farm_fault **p = realloc(r->faults, cap * sizeof *p);
		if (!p) {
			free(f);
			return NULL;
		}
		r->faults = p;
		r->cap_faults = cap;
	}
	f->r = r;
	f->id = env_next_id(r->env);
	f->plan_id = plan_id;
	if (duration_s > 0) {
		f->until = env_now(r->env) + duration_s;
		f->heal_timer = evtimer_new(env_base(r->env), heal_due, f);
		if (!f->heal_timer) {
			free(f);
			return NULL;
		}
		struct timeval tv = clock_timeval(duration_s);
		event_base_update_cache_time(env_base(r->env));
		evtimer_add(f->heal_timer, &tv);
	}
	r->faults[r->nfaults++] = f;
	return f;
}

uint32_t farm_resolver_inject(struct farm_resolver *r, const struct fault_spec *spec,
			      double duration_s)
{
	uint32_t plan_id;
	struct farm_fault *f = fault_add(r, 0, duration_s);
	if (!f)
		return 0;
	if (fault_plan_add(r->plan, spec, &plan_id) != 0) {
		r->nfaults--;
		fault_free(f);
		return 0;
	}
	f->plan_id = plan_id;
	record_fault(r, f->id, fault_kind_name(spec->kind), "inject", spec, 0, 0, duration_s);
	return f->id;
}

uint32_t farm_resolver_capacity(struct farm_resolver *r, double qps, unsigned queue,
				double duration_s)
{
	/* One capacity limit at a time: a new one replaces the old. */
	for (size_t i = 0; i < r->nfaults; i++)
		if (r->faults[i]->plan_id == 0) {
			farm_resolver_heal(r, r->faults[i]->id);
			break;
		}
	struct farm_fault *f = fault_add(r, 0, duration_s);
	if (!f)
		return 0;
	fault_plan_set_capacity(r->plan, qps, queue);
	record_fault(r, f->id, "capacity", "inject", NULL, qps, queue, duration_s);
	return f->id;
}

int farm_resolver_heal(struct farm_resolver *r, uint32_t id)
{
	int healed = 0;
	size_t at;
	for (;;) {
		struct farm_fault *f = id ? fault_find(r, id, &at) : (r->nfaults ? r->faults[0] : NULL);
		if (!f)
			break;
		if (!id)
			at = 0;
		const char *kind = "capacity";
		if (f->plan_id) {
			const struct fault_spec *spec = fault_plan_get(r->plan, f->plan_id);
			kind = spec ? fault_kind_name(spec->kind) : "fault";
			fault_plan_remove(r->plan, f->plan_id);
		} else {
			fault_plan_set_capacity(r->plan, 0, 0);
		}
		record_fault(r, f->id, kind, "heal", NULL, 0, 0, 0);
		memmove(&r->faults[at], &r->faults[at + 1], (r->nfaults - at - 1) * sizeof f);
		r->nfaults--;
		fault_free(f);
		healed++;
		if (id)
			break;
	}
	return healed;
}

bool farm_resolver_has_fault(const struct farm_resolver *r, uint32_t id)
{
	return fault_find(r, id, NULL) != NULL;
}

bool farm_resolver_fault_at(const struct farm_resolver *r, size_t i, uint32_t *id,
			    const char **kind, double *left)
{
	if (i >= r->nfaults) {
		/* Then the stop or crash that keeps it down: a crash's expiry is its reboot. */
		if (i > r->nfaults || !r->down_id)
			return false;
		*id = r->down_id;
		*kind = r->down_kind;
		*left = r->restart_at > 0 ? r->restart_at - env_now(r->env) : -1;
		if (r->restart_at > 0 && *left < 0)
			*left = 0;
		return true;
	}
	const struct farm_fault *f = r->faults[i];
	const struct fault_spec *spec = f->plan_id ? fault_plan_get(r->plan, f->plan_id) : NULL;
	*id = f->id;
	*kind = f->plan_id ? (spec ? fault_kind_name(spec->kind) : "fault") : "capacity";
	*left = f->until > 0 ? f->until - env_now(r->env) : -1;
	if (f->until > 0 && *left < 0)
		*left = 0;
	return true;
}

void farm_resolver_stats(const struct farm_resolver *r, struct server_stats *out)
{
	*out = r->totals;
	if (r->server) {
		struct server_stats st;
		server_get_stats(r->server, &st);
		out->udp_received += st.udp_received;
		out->udp_replied += st.udp_replied;
		out->tcp_queries += st.tcp_queries;
		out->queue_full += st.queue_full;
		out->fault_acted += st.fault_acted;
	}
}

int farm_resolver_deliver(struct farm_resolver *r, const uint8_t *pkt, size_t len,
			  const struct addr *from, server_reply_fn fn, void *arg)
{
	if (!r->server)
		return -1; /* down: its port is closed */
	server_deliver(r->server, pkt, len, from, fn, arg);
	return 0;
}

void farm_resolver_forget(struct farm_resolver *r, void *arg)
{
	if (r->server)
		server_forget(r->server, arg);
}

/* ---- self-gating ---- */

/* RFC 1982: a is older than b. */
static bool serial_older(uint32_t a, uint32_t b)
{
	return a != b && ((a < b && b - a < 0x80000000u) || (a > b && a - b > 0x80000000u));
}

static void record_gate(struct farm_resolver *r, bool gated, const char *reason)
{
	static const char *const answers[] = { "servfail", "refused", "silence" };
	struct history *h = env_history(r->env);
	env_say(r->env, "%s %s: %s", r->name, gated ? "gates itself" : "lifts its gate", reason);
	if (!h)
		return;
	history_begin(h, env_now(r->env), "gate");
	history_str(h, "resolver", r->name);
	history_bool(h, "gated", gated);
	history_str(h, "reason", reason);
	history_str(h, "answer", answers[r->gate.answer]);
	history_bool(h, "clients", r->gate.clients);
	history_end(h);
}

/* Compares what it serves with what the source publishes; gates or lifts. */
static void gate_check(struct farm_resolver *r)
{
	char reason[1200] = "", name[1024];
	const uint8_t *behind_origin = NULL;
	size_t behind_len = 0;

	if (!r->gate_on || r->state == FARM_DOWN)
		return;
	const struct zone_set *truth = farm_source_zones(r->gate.source);
	for (size_t i = 0; i < zone_set_count(truth); i++) {
		const struct zone_version *pub = zone_set_at(truth, i);
		size_t olen;
		const uint8_t *origin = zone_version_origin(pub, &olen);
		int64_t mine = farm_resolver_serial(r, origin, olen);
		wire_name_to_str(origin, name, sizeof name);
		if (mine < 0) {
			snprintf(reason, sizeof reason, "no zone %s, published serial %u", name,
				 zone_version_serial(pub));
		} else if (serial_older((uint32_t)mine, zone_version_serial(pub))) {
			snprintf(reason, sizeof reason, "serial %lld < published %u", (long long)mine,
				 zone_version_serial(pub));
		} else {
			continue;
		}
		behind_origin = origin;
		behind_len = olen;
		break;
	}
	if (behind_origin && !r->gate_plan_id) {
		struct fault_spec spec;
		memset(&spec, 0, sizeof spec);
		fault_match_all(&spec.match);
		if (!r->gate.clients) {
			/* Health probes: SOA at the apex, what a serial check asks. */
			memcpy(spec.match.name, behind_origin, behind_len);
			spec.match.name_len = behind_len;
			spec.match.has_name = true;
			spec.match.qtype = DNS_TYPE_SOA;
		}
		spec.kind = r->gate.answer == FARM_GATE_SILENCE ? FAULT_HANG : FAULT_RCODE;
		spec.rcode = r->gate.answer == FARM_GATE_REFUSED ? DNS_RCODE_REFUSED
								 : DNS_RCODE_SERVFAIL;
		if (fault_plan_add(r->plan, &spec, &r->gate_plan_id) != 0) {
			env_fail(r->env, "out of memory");
			return;
		}
		record_gate(r, true, reason);
		if (r->gate.reload && !r->incoming) {
			struct farm_boot b = { .source = r->gate.source };
			(void)boot(r, &b, true);
		}
	} else if (!behind_origin && r->gate_plan_id) {
		fault_plan_remove(r->plan, r->gate_plan_id);
		r->gate_plan_id = 0;
		record_gate(r, false, "serial current with the published one");
	}
}

static void gate_published(void *arg)
{
	gate_check(arg);
}

int farm_resolver_set_gate(struct farm_resolver *r, const struct farm_gate *g)
{
	if (!r->gate_on && farm_source_watch(g->source, gate_published, r) != 0)
		return -1;
	r->gate = *g;
	r->gate_on = true;
	gate_check(r);
	return 0;
}

bool farm_resolver_gated(const struct farm_resolver *r)
{
	return r->gate_plan_id != 0;
}
