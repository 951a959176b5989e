/*
 * cause.c - what went wrong, from the history (cause.h).
 *
 * One pass over the queries and one over the routes charge each bad lookup
 * to the first thing that hurt it; the bad lookups, sorted by (kind, who,
 * detail, client), are the groups as runs, each run's clients in order for
 * their tally. Everything is near linear in the history's lines.
 */
#include "harness/record/cause.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/record/hist.h"

/* ---- a map of uint32 keys to uint32 values (open addressing) ---- */

struct map {
	uint64_t *keys; /* key + 1; 0 empty */
	uint32_t *vals;
	size_t cap, n;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static uint32_t *map_slot(struct map *m, uint64_t key, bool add)
{
	if (add && (m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *k = calloc(cap, sizeof *k);
		uint32_t *v = calloc(cap, sizeof *v);
		if (!k || !v) {
			free(k);
			free(v);
			return NULL;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = mix(m->keys[i]) & (cap - 1);
			while (k[j])
				j = (j + 1) & (cap - 1);
			k[j] = m->keys[i];
			v[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = k;
		m->vals = v;
		m->cap = cap;
	}
	if (!m->cap)
		return NULL;
	size_t j = mix(key + 1) & (m->cap - 1);
	while (m->keys[j] && m->keys[j] != key + 1)
		j = (j + 1) & (m->cap - 1);
	if (!m->keys[j]) {
		if (!add)
			return NULL;
		m->keys[j] = key + 1;
		m->n++;
	}
	return &m->vals[j];
}

static void map_free(struct map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- what hurt a lookup ---- */

struct hurt {
	double t;
	uint32_t who;    /* interned resolver, backend or VIP */
	uint32_t detail; /* fault id; the served serial for STALE; 0 */
	uint32_t rcode;  /* interned, RCODE and GATED */
	uint8_t kind;
	bool set;
};

/* What kind of lookups a CAUSE_UNKNOWN group holds (its detail). */
enum { UNKNOWN_FAILED, UNKNOWN_ANSWER, UNKNOWN_NO_QUERY, UNKNOWN_DNSDIST };

/* A bad lookup, as its cause sees it. */
struct bad {
	uint8_t kind;
	uint8_t event; /* enum hist_lk_event; HIST_LK_OK for a stale or wrong answer */
	uint32_t who, detail, rcode;
	uint32_t client, vip; /* interned; vip HIST_NONE: directly */
	uint32_t index;       /* in hist_lookups */
	double t;             /* when it was hurt */
};

/* A cause: a run of the bad lookups sorted by (kind, who, detail, client). */
struct group {
	const struct bad *run;
	size_t n, timeouts, fails;
	double first, last; /* the hurts' times */
	uint32_t vip;       /* the VIP most of them went through; HIST_NONE: directly */
	uint32_t rcode;     /* of its earliest lookup */
	uint32_t idx;       /* its earliest lookup: the order among equals */
};

struct causes {
	const struct hist *h;
	struct cause list[CAUSES_MAX];
	char *text[CAUSES_MAX];
	size_t n;
	size_t lookups, bad;
	char summary[256];
};

static bool is(const struct hist *h, uint32_t id, const char *s)
{
	const char *t = hist_str(h, id);
	return t && strcmp(t, s) == 0;
}

/* The kind of a fault id, from its inject line (NULL when unknown). */
static const struct hist_fault *fault_by_id(const struct hist *h, struct map *faults, uint32_t id)
{
	size_t n;
	const struct hist_fault *fs = hist_faults(h, &n);
	uint32_t *v = map_slot(faults, id, false);
	return v ? &fs[*v] : NULL;
}

/* Keeps the earliest hurt of a lookup. */
static void hurt(struct hurt *lh, double t, enum cause_kind kind, uint32_t who, uint32_t detail,
                 uint32_t rcode)
{
	if (lh->set && lh->t <= t)
		return;
	*lh = (struct hurt){t, who, detail, rcode, (uint8_t)kind, true};
}

static bool bad_fail(const struct hist_lookup *l)
{
	if (l->t_done < 0)
		return false;
	if (l->event == HIST_LK_TIMEOUT)
		return true;
	/* A negative answer is an answer (fresh, stale or wrong), not a failure. */
	return l->event == HIST_LK_FAIL && l->cls == HIST_CLASS_NONE;
}

static bool bad_answer(const struct hist_lookup *l)
{
	return l->t_done >= 0 && (l->cls == HIST_CLASS_STALE || l->cls == HIST_CLASS_WRONG);
}

/* The hurt of a stale or wrong answer that resolver gave lookup l at t. */
static struct hurt served(const struct hist_lookup *l, double t, uint32_t resolver)
{
	bool wrong = l->cls == HIST_CLASS_WRONG;
	return (struct hurt){
	        t,   resolver, wrong ? 0 : l->serial, HIST_NONE, wrong ? CAUSE_WRONG : CAUSE_STALE,
	        true};
}

/* What a query line tells about the lookup it is joined to. */
static void query_hurt(const struct hist *h, struct map *faults, const struct hist_query *q,
                       struct hurt *lh)
{
	const struct hist_fault *f = q->fault ? fault_by_id(h, faults, q->fault) : NULL;
	bool capacity = f && is(h, f->kind, "capacity");
	if (is(h, q->action, "dropped")) {
		if (f && is(h, f->kind, "hang"))
			hurt(lh, q->t, CAUSE_HANG, q->resolver, q->fault, HIST_NONE);
		else if (capacity)
			hurt(lh, q->t, CAUSE_CAPACITY, q->resolver, q->fault, HIST_NONE);
		else
			hurt(lh, q->t, CAUSE_DROPPED, q->resolver, 0, HIST_NONE);
	} else if (is(h, q->action, "queue-full")) {
		hurt(lh, q->t, CAUSE_CAPACITY, q->resolver, q->fault, HIST_NONE);
	} else if (is(h, q->action, "rcode")) {
		hurt(lh, q->t, q->gate ? CAUSE_GATED : CAUSE_RCODE, q->resolver,
		     q->gate ? 0 : q->fault, q->rcode);
	} else if (is(h, q->action, "truncated")) {
		hurt(lh, q->t, CAUSE_TRUNCATED, q->resolver, q->fault, HIST_NONE);
	} else if (is(h, q->action, "answered")) {
		if (f && is(h, f->kind, "hang")) /* a stopped daemon's reply, sent once continued */
			hurt(lh, q->t, CAUSE_HANG, q->resolver, q->fault, HIST_NONE);
		else if (capacity)
			hurt(lh, q->t, CAUSE_CAPACITY, q->resolver, q->fault, HIST_NONE);
		else if (q->delay_fault)
			hurt(lh, q->t, CAUSE_DELAY, q->resolver, q->delay_fault, HIST_NONE);
	}
}

/* A route line's part: a closed port relayed, no backend, a VIP's own drop. */
static void route_hurt(const struct hist *h, const struct hist_route *r, struct hurt *lh)
{
	if (is(h, r->action, "no-backend"))
		hurt(lh, r->t, CAUSE_NO_BACKEND, r->vip, 0, HIST_NONE);
	else if (is(h, r->action, "dropped"))
		hurt(lh, r->t, CAUSE_VIP_DROPPED, r->vip, 0, HIST_NONE);
	else if (r->backend != HIST_NONE &&
	         (is(h, r->action, "refused-icmp") || is(h, r->action, "refused-noicmp") ||
	          is(h, r->action, "refused-drop") || is(h, r->action, "refused-servfail")))
		hurt(lh, r->t, CAUSE_DOWN, r->backend, 0, HIST_NONE);
}

/* A stretch during which a kernel VIP's map was empty: [from, to). */
struct empty_map {
	uint32_t vip;
	double from, to;
};

/*
 * Every stretch during which a kernel VIP had no backend in its map: its
 * `vip` line's map at start, then its membership lines (each written once
 * nft has applied it). A kernel VIP writes no route line, so this is how a
 * lookup it dropped for want of a backend is told from one nothing explains.
 * VIPs whose line does not say what the map held at start have none. Worked
 * out once per history (free() *out); -1 on out of memory.
 */
static int empty_maps(const struct hist *h, struct empty_map **out, size_t *n)
{
	size_t nv, nh, cap = 0;
	const struct hist_vip *vs = hist_vips(h, &nv);
	const struct hist_health *hs = hist_healths(h, &nh);
	*out = NULL;
	*n = 0;
	for (size_t v = 0; v < nv; v++) {
		const struct hist_vip *kv = &vs[v];
		if (!kv->kernel || !kv->in_map_known)
			continue;
		uint32_t healthy = kv->in_map, member = (1u << kv->nbackends) - 1;
		double from = (healthy & member) ? NAN : -INFINITY;
		for (size_t i = 0; i <= nh; i++) {
			const struct hist_health *e = i < nh ? &hs[i] : NULL;
			if (e && e->vip != kv->vip)
				continue;
			for (uint8_t k = 0; e && k < kv->nbackends; k++) {
				uint32_t bit = 1u << k;
				if (kv->backend[k] != e->backend)
					continue;
				if (e->event == HIST_H_UP)
					healthy |= bit;
				else if (e->event == HIST_H_DOWN)
					healthy &= ~bit;
				else if (e->event == HIST_H_MEMBER)
					member |= bit;
				else if (e->event == HIST_H_REMOVED)
					member &= ~bit;
			}
			bool empty = e && !(healthy & member);
			if (empty && isnan(from)) {
				from = e->t;
			} else if (!empty && !isnan(from)) {
				if (*n == cap) {
					cap = cap ? 2 * cap : 8;
					struct empty_map *p = realloc(*out, cap * sizeof *p);
					if (!p)
						return -1;
					*out = p;
				}
				(*out)[(*n)++] =
				        (struct empty_map){kv->vip, from, e ? e->t : INFINITY};
				from = NAN;
			}
		}
	}
	return 0;
}

/* ---- serving an unpublished version, swept forward in time ---- */

struct sweep {
	struct map boot;    /* resolver -> index of its last boot line */
	struct map publish; /* zone -> index of its last publish line */
	size_t bi, pi;
};

static int sweep_to(const struct hist *h, struct sweep *s, double t)
{
	size_t nb, np;
	const struct hist_boot *bs = hist_boots(h, &nb);
	const struct hist_publish *ps = hist_publishes(h, &np);
	for (; s->bi < nb && bs[s->bi].t <= t; s->bi++) {
		uint32_t *v = map_slot(&s->boot, bs[s->bi].resolver, true);
		if (!v)
			return -1;
		*v = (uint32_t)s->bi;
	}
	for (; s->pi < np && ps[s->pi].t <= t; s->pi++) {
		uint32_t *v = map_slot(&s->publish, ps[s->pi].zone, true);
		if (!v)
			return -1;
		*v = (uint32_t)s->pi;
	}
	return 0;
}

/* Back to the run's start, for a pass in another order. */
static void sweep_reset(struct sweep *s)
{
	map_free(&s->boot);
	map_free(&s->publish);
	s->bi = s->pi = 0;
}

/* Whether resolver serves, at the sweep's time, a version not published (by content). */
static bool sweep_unpublished(const struct hist *h, struct sweep *s, uint32_t resolver)
{
	size_t nb, np;
	const struct hist_boot *bs = hist_boots(h, &nb);
	const struct hist_publish *ps = hist_publishes(h, &np);
	uint32_t *b = map_slot(&s->boot, resolver, false);
	if (!b)
		return false;
	const struct hist_boot *boot = &bs[*b];
	for (uint32_t z = 0; z < boot->nzones && z < 4; z++) {
		uint32_t *p = map_slot(&s->publish, boot->zone[z], false);
		if (p && ps[*p].version != HIST_NO_VERSION && boot->version[z] != HIST_NO_VERSION &&
		    ps[*p].version != boot->version[z])
			return true;
	}
	return false;
}

/*
 * The one resolver that serves, at the sweep's time, an unpublished version
 * of a zone with this serial; HIST_NONE when none or several do (or too many
 * resolvers to look through).
 */
static uint32_t only_server(const struct hist *h, struct sweep *s, uint32_t serial)
{
	size_t nb;
	const struct hist_boot *bs = hist_boots(h, &nb);
	uint32_t found = HIST_NONE;
	if (s->boot.n > 256)
		return HIST_NONE;
	for (size_t i = 0; i < s->boot.cap; i++) {
		if (!s->boot.keys[i])
			continue;
		const struct hist_boot *b = &bs[s->boot.vals[i]];
		bool serves = false;
		for (uint32_t z = 0; z < b->nzones && z < 4; z++)
			serves |= b->serial[z] == serial;
		if (!serves || !sweep_unpublished(h, s, b->resolver))
			continue;
		if (found != HIST_NONE)
			return HIST_NONE;
		found = b->resolver;
	}
	return found;
}

/* ---- grouping ---- */

static int cmp_u32(uint32_t x, uint32_t y)
{
	return x < y ? -1 : x > y;
}

static int bad_cmp(const void *a, const void *b)
{
	const struct bad *x = a, *y = b;
	int c = cmp_u32(x->kind, y->kind);
	c = c ? c : cmp_u32(x->who, y->who);
	c = c ? c : cmp_u32(x->detail, y->detail);
	c = c ? c : cmp_u32(x->client, y->client);
	return c ? c : cmp_u32(x->index, y->index);
}

static bool same_cause(const struct bad *x, const struct bad *y)
{
	return x->kind == y->kind && x->who == y->who && x->detail == y->detail;
}

static int u32_cmp(const void *a, const void *b)
{
	return cmp_u32(*(const uint32_t *)a, *(const uint32_t *)b);
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Completed lookups of a client: binary search in the sorted client ids. */
static size_t client_total(const uint32_t *ids, size_t n, uint32_t client)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ids[mid] < client)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t k = lo;
	while (k < n && ids[k] == client)
		k++;
	return k - lo;
}

/* ---- the sentence ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->len + 1 >= b->cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

static const char *name_or(const struct hist *h, uint32_t id, const char *dflt)
{
	const char *s = hist_str(h, id);
	return s ? s : dflt;
}

/* The serial published for the zone of a version with this serial, at t (0: none). */
static uint32_t published_at(const struct hist *h, uint32_t serial, double t)
{
	size_t nv, np;
	const struct hist_version *vs = hist_versions(h, &nv);
	const struct hist_publish *ps = hist_publishes(h, &np);
	uint32_t zone = HIST_NONE, out = 0;
	for (size_t i = 0; i < nv; i++)
		if (vs[i].serial == serial && vs[i].known != HIST_KNOWN_PUBLISHED) {
			zone = vs[i].zone;
			break;
		}
	for (size_t i = 0; i < np && ps[i].t <= t; i++)
		if (zone == HIST_NONE || ps[i].zone == zone)
			out = ps[i].serial;
	return out;
}

/* t, or -1 ("the end") when it is the end of the run: at or past its duration. */
static double or_end(const struct hist *h, double t)
{
	double d = hist_meta(h)->duration;
	return d > 0 && t >= d ? -1 : t;
}

/* When a stale version began and stopped being served: the boot that loaded
 * it, and the next boot or stop after the last stale answer (-1: the end). */
static void stale_span(const struct hist *h, const struct group *g, double *from, double *to)
{
	size_t nb, ns;
	const struct hist_boot *bs = hist_boots(h, &nb);
	const struct hist_state *ss = hist_states(h, &ns);
	*from = g->first;
	*to = -1;
	for (size_t i = 0; i < nb && bs[i].t <= g->first; i++)
		if (bs[i].resolver == g->run->who)
			*from = bs[i].t;
	for (size_t i = 0; i < nb; i++)
		if (bs[i].resolver == g->run->who && bs[i].t > g->last) {
			*to = bs[i].t;
			break;
		}
	for (size_t i = 0; i < ns; i++)
		if (ss[i].resolver == g->run->who && ss[i].t > g->last &&
		    is(h, ss[i].state, "down")) {
			if (*to < 0 || ss[i].t < *to)
				*to = ss[i].t;
			break;
		}
	*to = or_end(h, *to); /* stopped with everything else at the end of the run */
}

/* A fault's own span: its inject line to its heal line (or its duration). */
static void fault_span(const struct hist *h, uint32_t id, double *from, double *to)
{
	size_t n;
	const struct hist_fault *fs = hist_faults(h, &n);
	*to = -1; /* never healed: to the end */
	for (size_t i = 0; i < n; i++) {
		if (fs[i].id != id)
			continue;
		if (fs[i].inject) {
			*from = fs[i].t;
			if (fs[i].duration > 0)
				*to = fs[i].t + fs[i].duration;
		} else {
			*to = fs[i].t;
			break;
		}
	}
	*to = or_end(h, *to); /* healed with everything else at the end of the run */
}

static double fault_qps(const struct hist *h, uint32_t id)
{
	size_t n;
	const struct hist_fault *fs = hist_faults(h, &n);
	for (size_t i = 0; i < n; i++)
		if (fs[i].id == id && fs[i].inject)
			return fs[i].qps;
	return 0;
}

/* " (removed from vip by hand at 11.5 s)": the first way out of vip after from. */
static void put_exit(struct buf *b, const struct hist *h, uint32_t vip, uint32_t backend,
                     double from)
{
	size_t n;
	const struct hist_health *hs = hist_healths(h, &n);
	if (vip == HIST_NONE)
		return;
	for (size_t i = 0; i < n; i++) {
		if (hs[i].vip != vip || hs[i].backend != backend || hs[i].t < from)
			continue;
		if (hs[i].event == HIST_H_REMOVED) {
			put(b, " (removed from %s by hand at %.1f s)", hist_str(h, vip), hs[i].t);
			return;
		}
		if (hs[i].event == HIST_H_DOWN) {
			put(b, " (taken out of %s by its health check at %.1f s)", hist_str(h, vip),
			    hs[i].t);
			return;
		}
	}
}

static void put_what(struct buf *b, const struct hist *h, const struct group *g)
{
	const struct bad *k = g->run;
	const char *who = name_or(h, k->who, "?");
	switch ((enum cause_kind)k->kind) {
	case CAUSE_STALE: {
		uint32_t pub = published_at(h, k->detail, g->first);
		if (pub && pub != k->detail)
			put(b, "%s served serial %u (published: %u)", who, k->detail, pub);
		else if (pub)
			put(b, "%s served a copy with serial %u (published: %u, other records)",
			    who, k->detail, pub);
		else
			put(b, "%s served serial %u, not the published version", who, k->detail);
		break;
	}
	case CAUSE_WRONG:
		if (k->detail)
			put(b, "%s answered with injected wrong addresses (fault %u)", who,
			    k->detail);
		else
			put(b, "%s answered with addresses of no known zone version", who);
		break;
	case CAUSE_HANG:
		put(b, "%s did not answer (hang, fault %u)", who, k->detail);
		break;
	case CAUSE_CAPACITY: {
		double qps = fault_qps(h, k->detail);
		if (qps > 0)
			put(b, "%s was over its capacity of %g queries/s (fault %u)", who, qps,
			    k->detail);
		else
			put(b, "%s was over its capacity (fault %u)", who, k->detail);
		break;
	}
	case CAUSE_DELAY:
		put(b, "%s answered late (delay, fault %u)", who, k->detail);
		break;
	case CAUSE_RCODE:
		put(b, "%s answered %s (fault %u)", who, name_or(h, g->rcode, "an error"),
		    k->detail);
		break;
	case CAUSE_GATED:
		put(b, "%s answered %s from its own gate (behind the published serial)", who,
		    name_or(h, g->rcode, "an error"));
		break;
	case CAUSE_TRUNCATED:
		put(b, "%s answered truncated (fault %u)", who, k->detail);
		break;
	case CAUSE_DROPPED:
		put(b, "%s dropped the queries it held when it stopped", who);
		break;
	case CAUSE_DOWN:
		put(b, "%s was down (its port closed)", who);
		break;
	case CAUSE_NO_BACKEND:
		put(b, "%s had no backend up", who);
		break;
	case CAUSE_VIP_DROPPED:
		put(b, "%s dropped queries (no free query id, or a send failed)", who);
		break;
	case CAUSE_UNKNOWN:
		break;
	}
}

static const char *verb(const struct group *g)
{
	if (g->run->kind == CAUSE_STALE)
		return "got its stale answer";
	if (g->run->kind == CAUSE_WRONG)
		return "got a wrong answer";
	if (g->fails == 0)
		return "timed out";
	if (g->timeouts == 0)
		return "failed";
	return "failed or timed out";
}

/* "62 of 194 lookups of fleet and 3 of 50 of app2": the clients most hurt first. */
struct tally {
	size_t n;
	uint32_t name;
};

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int put_clients(struct buf *b, const struct hist *h, const struct group *g,
                       const uint32_t *ids, size_t nids)
{
	const struct bad *p = g->run;
	size_t np = g->n, nt = 0, rest = 0;
	struct tally *t = malloc(np * sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < np;) {
		size_t j = i;
		while (j < np && p[j].client == p[i].client)
			j++;
		t[nt++] = (struct tally){j - i, p[i].client};
		i = j;
	}
	qsort(t, nt, sizeof *t, tally_cmp);
	size_t shown = nt <= 3 ? nt : 3;
	for (size_t i = 0; i < nt; i++) {
		if (i >= shown) {
			rest += t[i].n;
			continue;
		}
		put(b, "%s%zu of %zu %sof %s",
		    i == 0 ? "" : (i + 1 == shown && nt == shown ? " and " : ", "), t[i].n,
		    client_total(ids, nids, t[i].name), i ? "" : "lookups ",
		    name_or(h, t[i].name, "?"));
	}
	if (nt > shown)
		put(b, " and %zu lookups of %zu other clients", rest, nt - shown);
	free(t);
	return 0;
}

/* " through vip", " through a and b", " directly", " through vip and directly":
 * vips, the group's lookups' VIPs, sorted. */
static void put_vips(struct buf *b, const struct hist *h, const uint32_t *vips, size_t n)
{
	bool direct = false;
	size_t named = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && vips[i] == vips[i - 1])
			continue;
		if (vips[i] == HIST_NONE) {
			direct = true;
			continue;
		}
		if (named < 3)
			put(b, "%s%s", named ? ", " : " through ", hist_str(h, vips[i]));
		named++;
	}
	if (named > 3)
		put(b, " and %zu more VIPs", named - 3);
	if (direct)
		put(b, named ? " and directly" : " directly");
}

static void fmt_t(char *out, size_t cap, double t)
{
	if (t < 0)
		snprintf(out, cap, "the end");
	else
		snprintf(out, cap, "%.1f s", t);
}

/* ---- the whole ---- */

struct work {
	struct hurt *hurts; /* per lookup */
	uint32_t *vip;      /* per lookup: the first VIP it went through */
	struct bad *bads;   /* the bad lookups, sorted: the groups are its runs */
	struct group *groups;
	size_t nbads, ngroups;
	struct map faults;
	struct sweep sweep;
	uint32_t *ids; /* completed lookups' clients, sorted */
	size_t nids;
};

static void work_free(struct work *w)
{
	free(w->hurts);
	free(w->vip);
	free(w->bads);
	free(w->groups);
	map_free(&w->faults);
	sweep_reset(&w->sweep);
	free(w->ids);
}

static int charge(const struct hist *h, struct work *w, struct causes *c)
{
	size_t nl, nq, nr, nf;
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	const struct hist_query *qs = hist_queries(h, &nq);
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_fault *fs = hist_faults(h, &nf);

	w->hurts = calloc(nl ? nl : 1, sizeof *w->hurts);
	w->vip = malloc((nl ? nl : 1) * sizeof *w->vip);
	w->bads = malloc((nl ? nl : 1) * sizeof *w->bads);
	w->ids = malloc((nl ? nl : 1) * sizeof *w->ids);
	if (!w->hurts || !w->vip || !w->bads || !w->ids)
		return -1;
	for (size_t i = 0; i < nl; i++)
		w->vip[i] = HIST_NONE;
	for (size_t i = 0; i < nf; i++)
		if (fs[i].inject) {
			uint32_t *v = map_slot(&w->faults, fs[i].id, true);
			if (!v)
				return -1;
			*v = (uint32_t)i;
		}

	/* Routes: the VIP a lookup went through, and what a VIP did to it. */
	for (size_t i = 0; i < nr; i++) {
		const struct hist_route *r = &rs[i];
		uint64_t id = r->lookup ? r->lookup : r->for_lookup;
		const struct hist_lookup *l = id ? hist_lookup_by_id(h, id) : NULL;
		if (!l)
			continue;
		size_t li = (size_t)(l - ls);
		if (w->vip[li] == HIST_NONE)
			w->vip[li] = r->vip;
		route_hurt(h, r, &w->hurts[li]);
	}

	/* A lookup no route line names went through the VIP it asked, if it asked one. */
	struct map vips = {0};
	for (size_t i = 0; i < nr; i++) {
		uint32_t *v = map_slot(&vips, rs[i].vip, true);
		if (!v)
			return -1;
	}
	/* A kernel VIP writes no route line: its `vip` line says it is one. */
	size_t nv;
	const struct hist_vip *vs = hist_vips(h, &nv);
	for (size_t i = 0; i < nv; i++)
		if (vs[i].kernel && !map_slot(&vips, vs[i].vip, true))
			return -1;
	for (size_t i = 0; i < nl; i++)
		if (w->vip[i] == HIST_NONE && ls[i].target != HIST_NONE &&
		    map_slot(&vips, ls[i].target, false))
			w->vip[i] = ls[i].target;
	map_free(&vips);

	/* Queries: what hurt a failed lookup; who gave a stale one its answer. */
	uint64_t *via = calloc(nq ? nq : 1, sizeof *via);
	if (!via || hist_hop_lookups(h, via) != 0) {
		free(via);
		return -1;
	}
	for (size_t i = 0; i < nq; i++) {
		const struct hist_query *q = &qs[i];
		uint64_t id = q->lookup ? q->lookup : via[i];
		const struct hist_lookup *l = id ? hist_lookup_by_id(h, id) : NULL;
		if (!l)
			continue;
		size_t li = (size_t)(l - ls);
		if (bad_fail(l)) {
			query_hurt(h, &w->faults, q, &w->hurts[li]);
		} else if (bad_answer(l)) {
			if (sweep_to(h, &w->sweep, q->t) != 0) {
				free(via);
				return -1;
			}
			struct hurt *lh = &w->hurts[li];
			if (is(h, q->action, "wrong"))
				*lh = (struct hurt){q->t,      q->resolver, q->fault,
				                    HIST_NONE, CAUSE_WRONG, true};
			else if (is(h, q->action, "answered") &&
			         sweep_unpublished(h, &w->sweep, q->resolver) &&
			         !(lh->set && lh->kind == CAUSE_WRONG && lh->detail))
				*lh = served(l, q->t,
				             q->resolver); /* the last one the client kept */
		}
	}

	free(via);

	/* A stale answer the join tied to no query: the VIP's backend, if it served one. */
	sweep_reset(&w->sweep);
	for (size_t i = 0; i < nr; i++) {
		const struct hist_route *r = &rs[i];
		const struct hist_lookup *l = r->lookup ? hist_lookup_by_id(h, r->lookup) : NULL;
		if (!l || !bad_answer(l) || r->backend == HIST_NONE)
			continue;
		size_t li = (size_t)(l - ls);
		if (w->hurts[li].set || !is(h, r->action, "forwarded"))
			continue;
		if (sweep_to(h, &w->sweep, r->t) != 0)
			return -1;
		if (sweep_unpublished(h, &w->sweep, r->backend))
			w->hurts[li] = served(l, r->t, r->backend);
	}

	/*
	 * A stale answer with no line tying it to a resolver (the join could not
	 * tell which of several lookups sent a query): when exactly one resolver
	 * served that version then, the answer can only have come from it.
	 */
	sweep_reset(&w->sweep);
	for (size_t i = 0; i < nl; i++) {
		const struct hist_lookup *l = &ls[i];
		if (w->hurts[i].set || !bad_answer(l) || l->cls != HIST_CLASS_STALE)
			continue;
		if (sweep_to(h, &w->sweep, l->t_invoke) != 0)
			return -1;
		uint32_t only = only_server(h, &w->sweep, l->serial);
		if (only != HIST_NONE)
			w->hurts[i] = served(l, l->t_invoke, only);
	}

	/* A failed lookup with nothing else on record, through a kernel VIP whose
	 * map was empty from its start to its end. */
	struct empty_map *em;
	size_t nem;
	if (empty_maps(h, &em, &nem) != 0) {
		free(em);
		return -1;
	}
	for (size_t i = 0; i < nl && nem; i++) {
		const struct hist_lookup *l = &ls[i];
		if (w->hurts[i].set || !bad_fail(l) || w->vip[i] == HIST_NONE || l->t_done < 0)
			continue;
		for (size_t k = 0; k < nem; k++)
			if (em[k].vip == w->vip[i] && em[k].from <= l->t_invoke &&
			    l->t_done < em[k].to)
				hurt(&w->hurts[i], l->t_invoke, CAUSE_NO_BACKEND, w->vip[i], 0,
				     HIST_NONE);
	}
	free(em);

	/* Every bad lookup, with what hurt it (or nothing on record). */
	for (size_t i = 0; i < nl; i++) {
		const struct hist_lookup *l = &ls[i];
		if (l->t_done < 0 || l->event == HIST_LK_CANCELLED || l->event == HIST_LK_INVOKE)
			continue;
		w->ids[w->nids++] = l->client;
		if (!bad_fail(l) && !bad_answer(l))
			continue;
		const struct hurt *lh = &w->hurts[i];
		struct bad *b = &w->bads[w->nbads++];
		*b = (struct bad){.kind = lh->set ? lh->kind : CAUSE_UNKNOWN,
		                  .event = bad_answer(l) ? HIST_LK_OK : l->event,
		                  .who = lh->set ? lh->who : HIST_NONE,
		                  .detail = lh->set         ? lh->detail
		                            : hist_vip_dnsdist(h, l->target, NULL) ? UNKNOWN_DNSDIST
		                            : bad_answer(l) ? UNKNOWN_ANSWER
		                            : l->wire == 0  ? UNKNOWN_NO_QUERY
		                                            : UNKNOWN_FAILED,
		                  .rcode = lh->set ? lh->rcode : HIST_NONE,
		                  .client = l->client,
		                  .vip = w->vip[i],
		                  .index = (uint32_t)i,
		                  .t = lh->set ? lh->t : l->t_invoke};
	}
	c->bad = w->nbads;
	c->lookups = w->nids;
	qsort(w->ids, w->nids, sizeof *w->ids, u32_cmp);
	if (w->nbads)
		qsort(w->bads, w->nbads, sizeof *w->bads, bad_cmp);

	/* The groups: the runs of one cause. */
	w->groups = malloc((w->nbads ? w->nbads : 1) * sizeof *w->groups);
	if (!w->groups)
		return -1;
	for (size_t i = 0; i < w->nbads;) {
		struct group *g = &w->groups[w->ngroups++];
		*g = (struct group){.run = &w->bads[i],
		                    .first = w->bads[i].t,
		                    .last = w->bads[i].t,
		                    .idx = w->bads[i].index,
		                    .rcode = w->bads[i].rcode};
		for (; i < w->nbads && same_cause(&w->bads[i], g->run); i++) {
			const struct bad *b = &w->bads[i];
			g->n++;
			g->timeouts += b->event == HIST_LK_TIMEOUT;
			g->fails += b->event == HIST_LK_FAIL;
			g->first = b->t < g->first ? b->t : g->first;
			g->last = b->t > g->last ? b->t : g->last;
			if (b->index < g->idx) {
				g->idx = b->index;
				g->rcode = b->rcode;
			}
		}
	}
	return 0;
}

/* The group's lookups' VIPs, sorted (free() them), and the one most of them went through. */
static uint32_t *group_vips(const struct group *g, uint32_t *main)
{
	uint32_t *v = malloc(g->n * sizeof *v);
	size_t best_n = 0;
	*main = HIST_NONE;
	if (!v)
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		v[i] = g->run[i].vip;
	qsort(v, g->n, sizeof *v, u32_cmp);
	for (size_t i = 0; i < g->n;) {
		size_t j = i;
		while (j < g->n && v[j] == v[i])
			j++;
		if (v[i] != HIST_NONE && j - i > best_n) {
			*main = v[i];
			best_n = j - i;
		}
		i = j;
	}
	return v;
}

static int describe(const struct hist *h, struct work *w, struct causes *c)
{
	char *text = NULL;
	uint32_t *vips = NULL;
	struct group *gs = w->groups;
	if (w->ngroups)
		qsort(gs, w->ngroups, sizeof *gs, group_cmp);
	size_t listed = w->ngroups < CAUSES_MAX ? w->ngroups : CAUSES_MAX;
	for (size_t i = 0; i < listed; i++) {
		struct group *g = &gs[i];
		enum cause_kind kind = (enum cause_kind)g->run->kind;
		uint32_t who = g->run->who, detail = g->run->detail;
		vips = group_vips(g, &g->vip);
		if (!vips)
			return -1;

		double from = g->first, to = g->last;
		if (kind == CAUSE_STALE)
			stale_span(h, g, &from, &to);
		else if ((kind == CAUSE_HANG || kind == CAUSE_DELAY || kind == CAUSE_RCODE ||
		          kind == CAUSE_TRUNCATED || kind == CAUSE_WRONG) &&
		         detail)
			fault_span(h, detail, &from, &to);

		text = malloc(1024);
		if (!text)
			goto oom;
		struct buf b = {text, 0, 1024};
		text[0] = '\0';
		char t1[32], t2[32];
		fmt_t(t1, sizeof t1, from);
		fmt_t(t2, sizeof t2, to);
		if (kind == CAUSE_UNKNOWN) {
			if (put_clients(&b, h, g, w->ids, w->nids) != 0)
				goto oom;
			if (detail == UNKNOWN_DNSDIST)
				put(&b,
				    " %s through a dnsdist VIP, whose queries cannot be tied to "
				    "lookups (its own source address and ids): which backend or "
				    "fault it met is not on record",
				    verb(g));
			else if (detail == UNKNOWN_NO_QUERY)
				put(&b,
				    " %s with no query tied to them (the stack sent none, as ldns "
				    "once it gave up on its servers, or the join could not tell "
				    "whose they were)",
				    verb(g));
			else
				put(&b,
				    " %s with nothing on record to explain it (no query the join "
				    "tied to them met a fault, a full queue or a closed port)",
				    detail == UNKNOWN_ANSWER ? "got a stale or wrong answer"
				                             : verb(g));
		} else {
			put_what(&b, h, g);
			if (from == to)
				put(&b, " at %s", t1);
			else
				put(&b, " from %s to %s", t1, t2);
			if (kind != CAUSE_NO_BACKEND && kind != CAUSE_VIP_DROPPED)
				put_exit(&b, h, g->vip, who, g->first);
			put(&b, "; ");
			if (put_clients(&b, h, g, w->ids, w->nids) != 0)
				goto oom;
			put(&b, " %s", verb(g));
			put_vips(&b, h, vips, g->n);
		}
		free(vips);
		vips = NULL;
		double share = c->bad ? (double)g->n / (double)c->bad : 0;
		if (w->ngroups > 1 && share * 100.0 < 0.5)
			put(&b, " (under 1%% of the %zu failed or lying lookups)", c->bad);
		else if (w->ngroups > 1)
			put(&b, " (%.0f%% of the %zu failed or lying lookups)", share * 100.0,
			    c->bad);

		c->text[i] = text;
		text = NULL;
		c->list[i] = (struct cause){
		        kind,
		        kind == CAUSE_UNKNOWN ? NULL : hist_str(h, who),
		        g->vip == HIST_NONE ? NULL : hist_str(h, g->vip),
		        from,
		        to,
		        g->n,
		        share,
		        c->text[i],
		};
		c->n++;
	}

	struct buf b = {c->summary, 0, sizeof c->summary};
	if (c->lookups == 0) {
		put(&b, "no lookups");
	} else if (c->bad == 0) {
		size_t clients = 0;
		for (size_t i = 0; i < w->nids; i++)
			clients += i == 0 || w->ids[i] != w->ids[i - 1];
		put(&b,
		    "nothing went wrong: all %zu lookups of %zu client%s were answered, none "
		    "stale or wrong",
		    c->lookups, clients, clients == 1 ? "" : "s");
	} else {
		put(&b, "%zu of %zu lookups failed or got a stale or wrong answer: %zu cause%s",
		    c->bad, c->lookups, w->ngroups, w->ngroups == 1 ? "" : "s");
		if (w->ngroups > listed) {
			size_t rest = 0;
			for (size_t i = listed; i < w->ngroups; i++)
				rest += gs[i].n;
			put(&b, "; %zu more lookups in %zu smaller causes not listed", rest,
			    w->ngroups - listed);
		}
	}
	return 0;
oom:
	free(vips);
	free(text);
	return -1;
}

struct causes *causes_find(const struct hist *h)
{
	struct causes *c = calloc(1, sizeof *c);
	struct work w = {0};
	if (!c || !h)
		goto fail;
	c->h = h;
	if (charge(h, &w, c) != 0 || describe(h, &w, c) != 0)
		goto fail;
	work_free(&w);
	return c;
fail:
	work_free(&w);
	causes_free(c);
	return NULL;
}

void causes_free(struct causes *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CAUSES_MAX; i++)
		free(c->text[i]);
	free(c);
}

size_t causes_count(const struct causes *c)
{
	return c ? c->n : 0;
}

const struct cause *causes_get(const struct causes *c, size_t i)
{
	return c && i < c->n ? &c->list[i] : NULL;
}

size_t causes_lookups(const struct causes *c)
{
	return c ? c->lookups : 0;
}

size_t causes_bad(const struct causes *c)
{
	return c ? c->bad : 0;
}

const char *causes_summary(const struct causes *c)
{
	return c ? c->summary : "";
}

const char *cause_kind_name(enum cause_kind k)
{
	static const char *const names[] = {
	        "stale",     "wrong",   "hang", "capacity",   "delay",       "rcode",   "gated",
	        "truncated", "dropped", "down", "no-backend", "vip-dropped", "unknown",
	};
	return (size_t)k < sizeof names / sizeof names[0] ? names[k] : "?";
}
