/*
 * route.c - the VIP's router: a flow table (a chained hash of client
 * 5-tuples), smooth weighted round robin, weighted random and primary
 * picks, and membership. Pure: no I/O, no clock (time is an argument).
 */
#include "harness/lb/route.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct flow {
	struct vip_flow_key key;
	uint32_t hash;
	int backend;
	double last;
	struct flow *next;
};

struct vip_router {
	enum vip_policy policy;
	enum vip_on_down on_down;
	double idle;
	size_t n;
	unsigned weight[VIP_BACKENDS_MAX];
	int current[VIP_BACKENDS_MAX]; /* smooth weighted round robin */
	bool up[VIP_BACKENDS_MAX];
	struct rng *rng;
	struct flow **buckets;
	size_t nbuckets, nflows;
};

static const char *const policy_names[] = { "flow", "query", "random", "primary", NULL };

int vip_policy_parse(const char *s, enum vip_policy *out)
{
	for (int i = 0; policy_names[i]; i++)
		if (strcmp(s, policy_names[i]) == 0) {
			*out = (enum vip_policy)i;
			return 0;
		}
	return -1;
}

const char *vip_policy_name(enum vip_policy p)
{
	return (unsigned)p < 4 ? policy_names[p] : "?";
}

static const uint8_t *key_ip(const struct addr *a, size_t *len)
{
	if (a->ss.ss_family == AF_INET) {
		*len = 4;
		return (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
	}
	*len = 16;
	return (const uint8_t *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
}

static uint32_t key_hash(const struct vip_flow_key *k)
{
	size_t len;
	const uint8_t *ip = key_ip(&k->client, &len);
	uint32_t h = 2166136261u ^ (k->tcp ? 0x9e37u : 0);
	for (size_t i = 0; i < len; i++)
		h = (h ^ ip[i]) * 16777619u;
	uint16_t port = addr_port(&k->client);
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

static bool key_equal(const struct vip_flow_key *a, const struct vip_flow_key *b)
{
	size_t la, lb;
	const uint8_t *ia = key_ip(&a->client, &la), *ib = key_ip(&b->client, &lb);
	return a->tcp == b->tcp && a->client.ss.ss_family == b->client.ss.ss_family &&
	       addr_port(&a->client) == addr_port(&b->client) && la == lb &&
	       memcmp(ia, ib, la) == 0;
}

struct vip_router *vip_router_create(enum vip_policy policy, enum vip_on_down on_down,
				     double flow_idle_s, const unsigned *weights, size_t n,
				     struct rng *rng)
{
	if (n == 0 || n > VIP_BACKENDS_MAX || (policy == VIP_RANDOM && !rng))
		return NULL;
	struct vip_router *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->policy = policy;
	r->on_down = on_down;
	r->idle = flow_idle_s;
	r->n = n;
	r->rng = rng;
	for (size_t i = 0; i < n; i++) {
		r->weight[i] = weights[i] ? weights[i] : 1;
		r->up[i] = true;
	}
	r->nbuckets = 1024;
	r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
	if (!r->buckets) {
		vip_router_destroy(r);
		return NULL;
	}
	return r;
}

void vip_router_destroy(struct vip_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (struct flow *f = r->buckets[i], *next; f; f = next) {
			next = f->next;
			free(f);
		}
	free(r->buckets);
	free(r);
}

static struct flow *flow_find(const struct vip_router *r, const struct vip_flow_key *k,
			      uint32_t h)
{
	for (struct flow *f = r->buckets[h & (r->nbuckets - 1)]; f; f = f->next)
		if (f->hash == h && key_equal(&f->key, k))
			return f;
	return NULL;
}

static void grow_buckets(struct vip_router *r)
{
	size_t n = r->nbuckets * 2;
	struct flow **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < r->nbuckets; i++)
		for (struct flow *f = r->buckets[i], *next; f; f = next) {
			next = f->next;
			f->next = b[f->hash & (n - 1)];
			b[f->hash & (n - 1)] = f;
		}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

/* The next backend by smooth weighted round robin over those up; -1 if none. */
static int pick_wrr(struct vip_router *r)
{
	int best = -1;
	int total = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!r->up[i])
			continue;
		r->current[i] += (int)r->weight[i];
		total += (int)r->weight[i];
		if (best < 0 || r->current[i] > r->current[best])
			best = (int)i;
	}
	if (best >= 0)
		r->current[best] -= total;
	return best;
}

static int pick(struct vip_router *r)
{
	switch (r->policy) {
	case VIP_PRIMARY:
		for (size_t i = 0; i < r->n; i++)
			if (r->up[i])
				return (int)i;
		return -1;
	case VIP_RANDOM: {
		unsigned total = 0;
		for (size_t i = 0; i < r->n; i++)
			total += r->up[i] ? r->weight[i] : 0;
		if (total == 0)
			return -1;
		unsigned x = (unsigned)(rng_unit(r->rng) * total);
		for (size_t i = 0; i < r->n; i++) {
			if (!r->up[i])
				continue;
			if (x < r->weight[i])
				return (int)i;
			x -= r->weight[i];
		}
		return -1;
	}
	default:
		return pick_wrr(r);
	}
}

struct vip_route vip_router_route(struct vip_router *r, const struct vip_flow_key *k, double now)
{
	struct vip_route out = { -1, true, false };
	if (r->policy != VIP_FLOW) {
		out.backend = pick(r);
		return out;
	}
	uint32_t h = key_hash(k);
	struct flow *f = flow_find(r, k, h);
	if (f && now - f->last <= r->idle) {
		/* Pinned: conntrack keeps it, up or down (unless flushed). */
		f->last = now;
		out.backend = f->backend;
		out.new_flow = false;
		out.pinned_down = !r->up[f->backend];
		return out;
	}
	out.backend = pick(r);
	if (out.backend < 0)
		return out;
	if (!f) {
		f = calloc(1, sizeof *f);
		if (!f)
			return out; /* routed, just not pinned */
		f->key = *k;
		f->hash = h;
		f->next = r->buckets[h & (r->nbuckets - 1)];
		r->buckets[h & (r->nbuckets - 1)] = f;
		if (++r->nflows > r->nbuckets)
			grow_buckets(r);
	}
	f->backend = out.backend;
	f->last = now;
	return out;
}

void vip_router_touch(struct vip_router *r, const struct vip_flow_key *k, double now)
{
	if (r->policy != VIP_FLOW)
		return;
	struct flow *f = flow_find(r, k, key_hash(k));
	if (f && now - f->last <= r->idle)
		f->last = now;
}

/* Frees the flows for which drop(f) holds; returns how many. */
static size_t sweep(struct vip_router *r, bool (*drop)(const struct flow *, const void *),
		    const void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct flow **pp = &r->buckets[i];
		while (*pp) {
			struct flow *f = *pp;
			if (drop(f, arg)) {
				*pp = f->next;
				free(f);
				r->nflows--;
				n++;
			} else {
				pp = &f->next;
			}
		}
	}
	return n;
}

static bool on_backend(const struct flow *f, const void *arg)
{
	return f->backend == *(const int *)arg;
}

struct expiry {
	double now, idle;
};

static bool expired(const struct flow *f, const void *arg)
{
	const struct expiry *e = arg;
	return e->now - f->last > e->idle;
}

size_t vip_router_set_up(struct vip_router *r, int backend, bool up)
{
	if (backend < 0 || (size_t)backend >= r->n)
		return 0;
	r->up[backend] = up;
	if (up || r->on_down != VIP_FLUSH)
		return 0;
	return sweep(r, on_backend, &backend);
}

bool vip_router_is_up(const struct vip_router *r, int backend)
{
	return backend >= 0 && (size_t)backend < r->n && r->up[backend];
}

size_t vip_router_expire(struct vip_router *r, double now)
{
	struct expiry e = { now, r->idle };
	return sweep(r, expired, &e);
}

size_t vip_router_flows(const struct vip_router *r)
{
	return r->nflows;
}

