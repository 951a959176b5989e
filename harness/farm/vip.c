/*
 * vip.c (farm) - the VIP as a farm object: lb/vip.c forwarding in front of
 * the farm's resolvers (or any loopback address, or remote daemons on other
 * hosts under --allow-non-loopback), one lb/health.c checker
 * per backend whose verdicts drive membership, and every routing decision,
 * probe and transition written to the history.
 */
#include "harness/farm/farm.h"
#include "harness/farm/vip_nft.h"
#include "harness/env.h"
#include "harness/farm/vip_dnsdist.h"
#include "harness/record/history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

struct hc_ctx {
	struct farm_vip *v;
	int index;
};

struct farm_vip {
	struct run_env *env;
	char name[FARM_NAME_MAX];
	char where[256];   /* its s:vip line, for messages */
	struct addr addr;
	struct vip_config cfg;
	bool in_process; /* see farm_vip_create */
	struct farm_vip_backend backends[VIP_BACKENDS_MAX];
	size_t n;
	struct farm_vip_health health;
	struct vip *vip;
	struct rng rng;
	struct health_checker *hc[VIP_BACKENDS_MAX];
	struct hc_ctx ctx[VIP_BACKENDS_MAX];
	bool member[VIP_BACKENDS_MAX]; /* an operator's hand: false = taken out */
	bool healthy[VIP_BACKENDS_MAX];
	uint8_t zone[WIRE_NAME_MAX];   /* the probed zone, wire */
	size_t zone_len;
	bool kernel;                   /* kind = "nftables" */
	struct farm_vip_nftables nftables;
	struct vip_nft *nft;           /* the kernel VIP, once started */
	struct dnsdist_conf *dd;       /* kind "dnsdist": its configuration (owned); else NULL */
	struct vip_dnsdist *dnsdist;   /* kind "dnsdist", started */
};

struct farm_vip *farm_vip_create(struct run_env *env, const char *name, const struct addr *addr,
				 const struct vip_config *cfg, const struct farm_vip_backend *b,
				 size_t n, const struct farm_vip_health *health, bool in_process)
{
	if (n == 0 || n > VIP_BACKENDS_MAX)
		return NULL;
	struct farm_vip *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->env = env;
	snprintf(v->name, sizeof v->name, "%s", name);
	v->addr = *addr;
	v->cfg = *cfg;
	v->in_process = in_process;
	v->n = n;
	memcpy(v->backends, b, n * sizeof *b);
	if (health)
		v->health = *health;
	for (size_t i = 0; i < n; i++) {
		v->member[i] = true;
		v->healthy[i] = !v->health.enabled || v->health.cfg.initial_up;
	}
	uint64_t seed = env_seed(env) ^ 0x5649505649505649ull; /* "VIPVIPVI" */
	for (const char *p = name; *p; p++)
		seed = (seed ^ (unsigned char)*p) * 1099511628211ull;
	rng_seed(&v->rng, seed);
	return v;
}

void farm_vip_destroy(struct farm_vip *v)
{
	if (!v)
		return;
	farm_vip_stop(v);
	free(v->dd);
	free(v);
}

void farm_vip_set_nftables(struct farm_vip *v, const struct farm_vip_nftables *k)
{
	v->kernel = true;
	v->nftables = *k;
}

const struct addr *farm_vip_alias(const struct farm_vip *v, const struct addr *dst)
{
	return v->nft ? vip_nft_alias(v->nft, dst) : NULL;
}

bool farm_vip_sends_from(const struct farm_vip *v, const struct addr *src)
{
	return v->vip && vip_sends_from(v->vip, src);
}

int farm_vip_set_dnsdist(struct farm_vip *v, const struct dnsdist_conf *c)
{
	if (!v->dd && !(v->dd = malloc(sizeof *v->dd)))
		return -ENOMEM;
	*v->dd = *c;
	return 0;
}

bool farm_vip_is_dnsdist(const struct farm_vip *v)
{
	return v->dd != NULL;
}

/* kind "dnsdist": the backends' addresses (known now), dnsdist started, its `vip` line. */
static int start_dnsdist(struct farm_vip *v, char *err, size_t errlen)
{
	struct history *h = env_history(v->env);
	char buf[80], why[1024];
	for (size_t i = 0; i < v->n; i++)
		addr_str(farm_vip_backend_addr(&v->backends[i]), v->dd->b[i].address,
			 sizeof v->dd->b[i].address);
	/* The check's name: as given, else the probed zone's apex (as the userspace checker). */
	if (v->dd->health && !v->dd->check_name[0]) {
		if (v->health.zone[0])
			snprintf(v->dd->check_name, sizeof v->dd->check_name, "%s", v->health.zone);
		else if (v->health.source && zone_set_count(farm_source_zones(v->health.source)))
			wire_name_to_str(zone_version_origin(zone_set_at(farm_source_zones(
							     v->health.source), 0), NULL),
					 v->dd->check_name, sizeof v->dd->check_name);
		else
			snprintf(v->dd->check_name, sizeof v->dd->check_name, ".");
	}
	v->dnsdist = vip_dnsdist_start(v->env, v->name, v->where, &v->addr, v->dd, why, sizeof why);
	if (!v->dnsdist) {
		snprintf(err, errlen, "%s%svip '%s': %s", v->where, v->where[0] ? ": " : "", v->name,
			 why);
		return -1;
	}
	if (!h)
		return 0;
	history_begin(h, env_now(v->env), "vip");
	history_str(h, "vip", v->name);
	history_str(h, "address", addr_str(&v->addr, buf, sizeof buf));
	history_str(h, "kind", "dnsdist");
	history_str(h, "policy", v->dd->policy ? v->dd->policy : "(the file's)");
	history_str(h, "config", v->dd->user_file[0] ? v->dd->user_file : "generated");
	history_uint(h, "poll_ms", (uint64_t)(VIP_DNSDIST_POLL * 1000 + 0.5));
	/* A user's file: dnsdist checks every server unless the file sets it by hand. */
	history_bool(h, "checks", v->dd->user_file[0] || v->dd->health);
	history_end(h);
	return 0;
}

void farm_vip_set_where(struct farm_vip *v, const char *where)
{
	snprintf(v->where, sizeof v->where, "%s", where);
}

const char *farm_vip_name(const struct farm_vip *v)
{
	return v->name;
}

const struct addr *farm_vip_addr(const struct farm_vip *v)
{
	return &v->addr;
}

const struct addr *farm_vip_backend_addr(const struct farm_vip_backend *b)
{
	if (b->resolver)
		return farm_resolver_addr(b->resolver);
	if (b->process)
		return farm_process_addr(b->process);
	return &b->addr;
}

int farm_vip_backend(const struct farm_vip *v, const void *resolver, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if ((resolver && (v->backends[i].resolver == resolver ||
				  v->backends[i].process == resolver)) ||
		    (name && strcmp(v->backends[i].name, name) == 0))
			return (int)i;
	return -1;
}

const char *farm_vip_backend_name(const struct farm_vip *v, int i)
{
	return v->backends[i].name;
}

int farm_vip_backend_count(const struct farm_vip *v)
{
	return (int)v->n;
}

bool farm_vip_backend_up(const struct farm_vip *v, int i)
{
	if (v->nft)
		return vip_nft_up(v->nft, i);
	if (v->dnsdist)
		return vip_dnsdist_backend_up(v->dnsdist, i);
	return v->member[i] && v->healthy[i];
}

/* Whether backend i should take new traffic: the operator's hand and its health. */
static bool wanted(const struct farm_vip *v, int i)
{
	return v->member[i] && v->healthy[i];
}

/* Tells the forwarder whether backend i takes new traffic; records flushes. */
static void apply(struct farm_vip *v, int i)
{
	if (!v->vip)
		return;
	bool up = wanted(v, i);
	if (vip_backend_up(v->vip, i) == up)
		return;
	size_t flushed = vip_set_backend_up(v->vip, i, up);
	if (flushed)
		env_say(v->env, "%s: flushed %zu flow(s) pinned to %s", v->name, flushed,
			   v->backends[i].name);
}

/*
 * A route line. A query joined to a lookup returns the lookup's id, which
 * comes back on the query's reply event (the port unreachable relayed for
 * it): that line names the lookup as for_lookup, not lookup, because it is
 * not a query: joined again, it would count as another wire query.
 */
static uint64_t log_route(void *arg, const struct vip_event *ev)
{
	struct farm_vip *v = arg;
	struct history *h = env_history(v->env);
	uint64_t tag = 0;
	char buf[1024];
	history_begin(h, env_now(v->env), "route");
	history_str(h, "vip", v->name);
	history_str(h, "transport", ev->tcp ? "tcp" : "udp");
	history_str(h, "src", addr_str(ev->client, buf, sizeof buf));
	if (!ev->tcp)
		history_uint(h, "id", ev->id);
	history_str(h, "backend", ev->backend_name);
	history_str(h, "flow", ev->new_flow ? "new" : "pinned");
	if (ev->pinned_down)
		history_bool(h, "pinned_down", true);
	history_str(h, "action", ev->action);
	struct wire_query q;
	if (ev->pkt && wire_query_parse(ev->pkt, ev->len, &q) == WIRE_QUERY_OK) {
		char tb[16];
		wire_name_to_str(q.qname, buf, sizeof buf);
		history_str(h, "qname", buf);
		history_str(h, "qtype", answer_type_str(q.qtype, tb, sizeof tb));
		struct client_join j;
		if (ev->reply) {
			if (ev->tag)
				history_uint(h, "for_lookup", ev->tag);
		} else if (env_join(v->env, vip_addr(v->vip), ev->client, q.qname, q.qname_len,
				       q.qtype, ev->tcp ? -1 : ev->id, &j)) {
			if (j.client)
				history_str(h, "client", j.client);
			if (j.ambiguous) {
				history_str(h, "join", "ambiguous");
			} else {
				history_uint(h, "lookup", j.lookup);
				history_str(h, "cause", j.cause);
				tag = j.lookup;
			}
		}
	}
	history_end(h);
	return tag;
}

static void on_probe(void *arg, const struct health_probe_report *rep)
{
	struct hc_ctx *c = arg;
	struct farm_vip *v = c->v;
	struct history *h = env_history(v->env);
	if (!h)
		return;
	history_begin(h, env_now(v->env), "health");
	history_str(h, "vip", v->name);
	history_str(h, "backend", rep->backend);
	history_str(h, "event", "probe");
	history_bool(h, "ok", rep->success);
	history_str(h, "reason", rep->reason);
	history_double(h, "latency_ms", rep->latency_s * 1000, 3);
	if (rep->serial >= 0)
		history_int(h, "serial", rep->serial);
	if (v->health.cfg.kind == HEALTH_EXEC) {
		history_int(h, "exit", rep->exit_status);
		history_str(h, "output", rep->output);
	}
	history_end(h);
}

static void on_transition(void *arg, const struct health_transition *t)
{
	struct hc_ctx *c = arg;
	struct farm_vip *v = c->v;
	struct history *h = env_history(v->env);
	v->healthy[c->index] = t->up;
	if (v->nft) /* its line is written when the kernel has the change */
		vip_nft_change(v->nft, c->index, wanted(v, c->index), t->up ? "up" : "down",
			       t->reason, t->count);
	else if (h) {
		history_begin(h, env_now(v->env), "health");
		history_str(h, "vip", v->name);
		history_str(h, "backend", t->backend);
		history_str(h, "event", t->up ? "up" : "down");
		history_str(h, "reason", t->reason);
		history_uint(h, "count", t->count);
		history_end(h);
	}
	env_say(v->env, "%s: %s is %s after %u probe(s): %s", v->name, t->backend,
		   t->up ? "up" : "down", t->count, t->reason);
	apply(v, c->index);
	const void *target = v->backends[c->index].resolver;
	if (!target)
		target = v->backends[c->index].process;
	if (target)
		env_emit(v->env, target, t->up ? "healthy" : "unhealthy");
}

static int64_t published(void *arg)
{
	struct hc_ctx *c = arg;
	struct farm_vip *v = c->v;
	if (!v->health.source || !v->zone_len)
		return -1;
	return farm_source_serial(v->health.source, v->zone, v->zone_len);
}

/* Probes start once a farm resolver's boot is complete (a transfer may take a
 * while): one probing it while it boots gets REFUSED and marks it down. A
 * resolver that is down is probed (and found down); any other backend at once. */
static bool backend_ready(void *arg)
{
	struct hc_ctx *c = arg;
	const struct farm_resolver *r = c->v->backends[c->index].resolver;
	const struct farm_process *p = c->v->backends[c->index].process;
	if (p)
		return farm_process_state(p) != FARM_BOOTING;
	return !r || farm_resolver_state(r) != FARM_BOOTING;
}

/*
 * The `vip` line: what it is, and whether the clients of a stopped backend
 * hear so (on_refused icmp needs a raw socket). Without one the run says so
 * on stderr too, whatever -q: expectations about lookups that met a closed
 * port will be inconclusive.
 */
static void record_start(struct farm_vip *v)
{
	static const char *const downs[] = { "keep", "flush" };
	static const char *const refused[] = { "drop", "servfail", "icmp" };
	struct history *h = env_history(v->env);
	const char *icmp_error = vip_icmp_error(v->vip);
	char buf[80];
	if (icmp_error)
		fprintf(stderr, "dnschaos: warning: %s%svip '%s': %s\n", v->where,
			v->where[0] ? ": " : "", v->name, icmp_error);
	if (!h)
		return;
	history_begin(h, env_now(v->env), "vip");
	history_str(h, "vip", v->name);
	history_str(h, "address", addr_str(vip_addr(v->vip), buf, sizeof buf));
	history_str(h, "policy", vip_policy_name(v->cfg.policy));
	history_str(h, "on_down", downs[v->cfg.on_down]);
	history_str(h, "on_refused", refused[v->cfg.on_refused]);
	if (v->cfg.on_refused == VIP_ICMP)
		history_bool(h, "icmp", !icmp_error);
	if (icmp_error)
		history_str(h, "icmp_error", icmp_error);
	history_end(h);
}

/* A farm resolver behind the VIP, on the same loop: no loopback crossing. */
static int deliver_local(void *arg, const uint8_t *pkt, size_t len, const struct addr *from,
			 vip_reply_fn fn, void *fnarg)
{
	return farm_resolver_deliver(arg, pkt, len, from, fn, fnarg);
}

static void forget_local(void *arg, void *fnarg)
{
	farm_resolver_forget(arg, fnarg);
}

/* kind = "nftables": the kernel's table instead of lb/vip.c (farm/vip_nft.c). */
static int start_kernel(struct farm_vip *v, const struct vip_config *cfg, char *err,
			size_t errlen)
{
	struct nft_vip spec = { .vip = v->addr, .policy = v->nftables.policy, .n = v->n };
	const char *names[VIP_BACKENDS_MAX];
	bool member[VIP_BACKENDS_MAX];
	for (size_t i = 0; i < v->n; i++) {
		spec.backend[i] = cfg->backends[i].addr;
		spec.weight[i] = cfg->backends[i].weight;
		names[i] = v->backends[i].name;
		member[i] = wanted(v, (int)i);
	}
	v->nft = vip_nft_create(v->env, v->name, v->where, &spec, names,
				cfg->on_down == VIP_FLUSH, v->nftables.flow_idle_s, member);
	if (!v->nft) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (vip_nft_start(v->nft, err, errlen) != 0)
		return -1;
	v->addr = *vip_nft_addr(v->nft);
	return 0;
}

int farm_vip_start(struct farm_vip *v, char *err, size_t errlen)
{
	char origin[1024];
	if (v->dd)
		return start_dnsdist(v, err, errlen);
	struct vip_config cfg = v->cfg;
	cfg.clock = v->env->clock; /* the VIP and its checkers read the run's clock */
	cfg.addr = v->addr;
	cfg.nbackends = v->n;
	for (size_t i = 0; i < v->n; i++) {
		struct vip_backend_config *bc = &cfg.backends[i];
		snprintf(bc->name, sizeof bc->name, "%s", v->backends[i].name);
		bc->addr = *farm_vip_backend_addr(&v->backends[i]);
		bc->weight = v->backends[i].weight;
		if (v->backends[i].resolver && v->in_process) {
			bc->local.deliver = deliver_local;
			bc->local.forget = forget_local;
			bc->local.arg = v->backends[i].resolver;
		}
	}
	if (v->kernel) {
		if (start_kernel(v, &cfg, err, errlen) != 0)
			return -1;
	} else {
		v->vip = vip_create(env_base(v->env), &cfg, &v->rng, err, errlen);
		if (!v->vip)
			return -1;
		v->addr = *vip_addr(v->vip);
		record_start(v);
		if (env_history(v->env))
			vip_set_log(v->vip, log_route, v);
		for (size_t i = 0; i < v->n; i++)
			apply(v, (int)i);
	}
	if (!v->health.enabled)
		return 0;

	/* The probed zone: as given, or the source's first. */
	if (v->health.zone[0]) {
		snprintf(origin, sizeof origin, "%s", v->health.zone);
	} else if (v->health.source && zone_set_count(farm_source_zones(v->health.source))) {
		const struct zone_version *z = zone_set_at(farm_source_zones(v->health.source), 0);
		wire_name_to_str(zone_version_origin(z, NULL), origin, sizeof origin);
	} else {
		snprintf(origin, sizeof origin, ".");
	}
	ldns_rdf *dname = NULL;
	if (ldns_str2rdf_dname(&dname, origin) == LDNS_STATUS_OK) {
		v->zone_len = ldns_rdf_size(dname);
		memcpy(v->zone, ldns_rdf_data(dname), v->zone_len);
		wire_name_lower(v->zone);
		ldns_rdf_deep_free(dname);
	}
	struct health_config hcfg = v->health.cfg;
	hcfg.clock = v->env->clock;
	hcfg.non_loopback = v->cfg.non_loopback; /* a remote daemon on another host */
	if (v->health.qname[0])
		hcfg.qname = v->health.qname;
	if (v->health.command[0])
		hcfg.command = v->health.command;
	for (size_t i = 0; i < v->n; i++) {
		v->ctx[i].v = v;
		v->ctx[i].index = (int)i;
		struct health_callbacks cb = { on_probe, on_transition, published, &v->ctx[i],
					       backend_ready };
		v->hc[i] = health_checker_create(env_base(v->env), v->backends[i].name,
						 &cfg.backends[i].addr, origin, &hcfg, &cb, err,
						 errlen);
		if (!v->hc[i])
			return -1;
	}
	return 0;
}

void farm_vip_stop(struct farm_vip *v)
{
	vip_dnsdist_stop(v->dnsdist);
	v->dnsdist = NULL;
	for (size_t i = 0; i < v->n; i++) {
		health_checker_destroy(v->hc[i]);
		v->hc[i] = NULL;
	}
	vip_destroy(v->vip);
	v->vip = NULL;
	vip_nft_destroy(v->nft);
	v->nft = NULL;
}

void farm_vip_set_member(struct farm_vip *v, int i, bool up, const char *why)
{
	struct history *h = env_history(v->env);
	v->member[i] = up;
	if (v->nft)
		vip_nft_change(v->nft, i, wanted(v, i), up ? "member" : "removed", why, 0);
	else if (h) {
		history_begin(h, env_now(v->env), "health");
		history_str(h, "vip", v->name);
		history_str(h, "backend", v->backends[i].name);
		history_str(h, "event", up ? "member" : "removed");
		history_str(h, "reason", why);
		history_end(h);
	}
	env_say(v->env, "%s: %s %s the VIP (%s)", v->name, v->backends[i].name,
		   up ? "put back into" : "taken out of", why);
	apply(v, i);
}
