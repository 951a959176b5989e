/*
 * live.c - the live aggregate: history lines in, running figures out
 * (live.h). Each line is parsed by hist.c's line parser; the fields this
 * file reads are gathered into a struct line, then the line's type decides.
 * Objects are few (a farm is tens of them), so they live in arrays searched
 * by name.
 */
#include "harness/record/live.h"
#include "harness/record/checker.h"
#include "harness/record/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const double live_prom_le_ms[LIVE_PROM_BUCKETS] = {0.5, 1,   2.5, 5,    10,   25,   50,
                                                   100, 250, 500, 1000, 2500, 5000, 10000};
const char *const live_action_names[LIVE_ACTIONS] = {"answered", "dropped",    "rcode", "truncated",
                                                     "wrong",    "queue-full", "axfr",  "other"};
const char *const live_outcome_names[LIVE_OUTCOMES] = {"ok", "fail", "timeout", "cancelled"};
const char *const live_class_names[LIVE_CLASSES] = {"fresh", "stale", "wrong"};

/* A growable array of fixed-size records. */
struct arr {
	void *p;
	size_t n, cap, size;
};

/* An expectation followed (live_follow). */
struct follow {
	const struct expectation *e;
	bool live;              /* measurable as it goes */
	uint64_t done, ok, cls; /* completed in its window; ok; of the class it counts */
	uint64_t lat[LIVE_LAT_BUCKETS];
};

/* A lookup in flight: its id and its invoke's t (id 0: a free slot). */
struct inflight {
	uint64_t id;
	double t;
};

struct live {
	struct hist_line_parser *parser;
	struct follow *follows;
	size_t nfollows;
	struct inflight *fly; /* open addressing, linear probing; cap a power of 2 */
	size_t nfly, capfly;
	char *name;
	double duration, last_t;
	uint64_t lines, bad, stalls;
	char *end_reason;
	struct arr resolvers, backends, routes, clients, kinds, faults;
	double lat_edge[LIVE_LAT_BUCKETS - 1]; /* upper edges of the bounded buckets, us */
};

/* An array field: its n elements, each ended by its NUL, one after the other. */
struct elems {
	const char *s;
	size_t n;
};

/* The fields of one line this file reads; strings borrowed from the parser. */
struct line {
	double t;
	bool has_t;
	const char *type, *resolver, *source, *state, *why, *action, *client, *stack, *event, *cls,
	        *vip, *backend, *target, *fault, *name, *reason;
	double queue_ms, latency_ms, duration, down, id;
	bool has_latency, has_id, ok;
	struct elems zones, backends; /* arrays of strings */
};

static void *arr_push(struct arr *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 8;
		void *p = realloc(a->p, cap * a->size);
		if (!p)
			return NULL;
		a->p = p;
		a->cap = cap;
	}
	void *slot = (char *)a->p + a->n++ * a->size;
	memset(slot, 0, a->size);
	return slot;
}

struct live *live_create(void)
{
	struct live *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->parser = hist_line_parser_new();
	l->name = strdup("");
	if (!l->parser || !l->name) {
		live_destroy(l);
		return NULL;
	}
	l->resolvers.size = sizeof(struct live_resolver);
	l->backends.size = sizeof(struct live_backend);
	l->routes.size = sizeof(struct live_route);
	l->clients.size = sizeof(struct live_client);
	l->kinds.size = sizeof(struct live_fault_kind);
	l->faults.size = sizeof(struct live_fault);
	for (size_t i = 0; i < LIVE_LAT_BUCKETS - 1; i++)
		l->lat_edge[i] = exp2((double)i / 8.0);
	return l;
}

void live_destroy(struct live *l)
{
	if (!l)
		return;
	hist_line_parser_free(l->parser);
	free(l->follows);
	free(l->fly);
	free(l->name);
	free(l->end_reason);
	struct live_resolver *r = l->resolvers.p;
	for (size_t i = 0; i < l->resolvers.n; i++)
		free(r[i].name);
	struct live_backend *b = l->backends.p;
	for (size_t i = 0; i < l->backends.n; i++) {
		free(b[i].vip);
		free(b[i].name);
	}
	struct live_route *ro = l->routes.p;
	for (size_t i = 0; i < l->routes.n; i++) {
		free(ro[i].vip);
		free(ro[i].backend);
		free(ro[i].action);
	}
	struct live_client *c = l->clients.p;
	for (size_t i = 0; i < l->clients.n; i++) {
		free(c[i].name);
		free(c[i].stack);
	}
	struct live_fault_kind *k = l->kinds.p;
	for (size_t i = 0; i < l->kinds.n; i++) {
		free(k[i].target);
		free(k[i].kind);
	}
	struct live_fault *f = l->faults.p;
	for (size_t i = 0; i < l->faults.n; i++) {
		free(f[i].target);
		free(f[i].kind);
	}
	struct arr *as[] = {&l->resolvers, &l->backends, &l->routes,
	                    &l->clients,   &l->kinds,    &l->faults};
	for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
		free(as[i]->p);
	free(l);
}

/* ---- one line's fields ---- */

static bool key_is(const struct hist_field *f, const char *k)
{
	size_t n = strlen(k);
	return f->klen == n && memcmp(f->key, k, n) == 0;
}

/* The fields read, by key: where each goes in struct line (its length kept: no strlen a field). */
enum fkind { F_STR, F_NUM, F_ARR };
#define FLD(k, kind, m)                                                                            \
	{                                                                                          \
		k, sizeof k - 1, kind, offsetof(struct line, m)                                    \
	}
static const struct fld {
	const char *key;
	size_t klen;
	enum fkind kind;
	size_t off;
} flds[] = {
        FLD("t", F_NUM, t),
        FLD("type", F_STR, type),
        FLD("resolver", F_STR, resolver),
        FLD("source", F_STR, source),
        FLD("state", F_STR, state),
        FLD("why", F_STR, why),
        FLD("action", F_STR, action),
        FLD("client", F_STR, client),
        FLD("stack", F_STR, stack),
        FLD("event", F_STR, event),
        FLD("class", F_STR, cls),
        FLD("vip", F_STR, vip),
        FLD("backend", F_STR, backend),
        FLD("target", F_STR, target),
        FLD("fault", F_STR, fault),
        FLD("name", F_STR, name),
        FLD("reason", F_STR, reason),
        FLD("queue_ms", F_NUM, queue_ms),
        FLD("latency_ms", F_NUM, latency_ms),
        FLD("duration", F_NUM, duration),
        FLD("down", F_NUM, down),
        FLD("id", F_NUM, id),
        FLD("zones", F_ARR, zones),
        FLD("backends", F_ARR, backends),
};
#undef FLD

static void take_field(void *arg, const struct hist_field *f)
{
	struct line *ln = arg;
	const struct fld *d = NULL;
	for (size_t i = 0; i < sizeof flds / sizeof flds[0]; i++)
		if (flds[i].klen == f->klen && flds[i].key[0] == f->key[0] &&
		    memcmp(flds[i].key, f->key, f->klen) == 0) {
			d = &flds[i];
			break;
		}
	if (!d) {
		if (f->kind == HIST_V_BOOL && key_is(f, "ok"))
			ln->ok = f->b;
		return;
	}
	char *at = (char *)ln + d->off;
	if (d->kind == F_STR && f->kind == HIST_V_STRING) {
		*(const char **)at = f->s;
	} else if (d->kind == F_NUM && f->kind == HIST_V_NUMBER) {
		*(double *)at = f->num;
		if (at == (char *)&ln->t)
			ln->has_t = true;
		else if (at == (char *)&ln->latency_ms)
			ln->has_latency = true;
		else if (at == (char *)&ln->id)
			ln->has_id = true;
	} else if (d->kind == F_ARR && f->kind == HIST_V_ARRAY) {
		struct elems *e = (struct elems *)(void *)at;
		e->s = f->slen ? f->s : NULL;
		e->n = f->slen;
	}
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ---- objects by name ---- */

static struct live_resolver *resolver_get(struct live *l, const char *name)
{
	struct live_resolver *r = l->resolvers.p;
	for (size_t i = 0; i < l->resolvers.n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	char *copy = strdup(name);
	struct live_resolver *n = copy ? arr_push(&l->resolvers) : NULL;
	if (!n) {
		free(copy);
		return NULL;
	}
	n->name = copy;
	for (int i = 0; i < 10; i++)
		n->tenth[i] = -1;
	return n;
}

static struct live_backend *backend_get(struct live *l, const char *vip, const char *name)
{
	struct live_backend *b = l->backends.p;
	for (size_t i = 0; i < l->backends.n; i++)
		if (strcmp(b[i].vip, vip) == 0 && strcmp(b[i].name, name) == 0)
			return &b[i];
	char *v = strdup(vip), *nm = strdup(name);
	struct live_backend *n = v && nm ? arr_push(&l->backends) : NULL;
	if (!n) {
		free(v);
		free(nm);
		return NULL;
	}
	n->vip = v;
	n->name = nm;
	n->up = -1;
	n->last_probe = -1;
	return n;
}

static struct live_route *route_get(struct live *l, const char *vip, const char *backend,
                                    const char *action)
{
	struct live_route *r = l->routes.p;
	for (size_t i = 0; i < l->routes.n; i++)
		if (strcmp(r[i].vip, vip) == 0 && strcmp(r[i].backend, backend) == 0 &&
		    strcmp(r[i].action, action) == 0)
			return &r[i];
	char *v = strdup(vip), *b = strdup(backend), *a = strdup(action);
	struct live_route *n = v && b && a ? arr_push(&l->routes) : NULL;
	if (!n) {
		free(v);
		free(b);
		free(a);
		return NULL;
	}
	n->vip = v;
	n->backend = b;
	n->action = a;
	return n;
}

static struct live_client *client_get(struct live *l, const char *name, const char *stack)
{
	struct live_client *c = l->clients.p;
	for (size_t i = 0; i < l->clients.n; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	char *nm = strdup(name), *st = strdup(stack ? stack : "");
	struct live_client *n = nm && st ? arr_push(&l->clients) : NULL;
	if (!n) {
		free(nm);
		free(st);
		return NULL;
	}
	n->name = nm;
	n->stack = st;
	return n;
}

static struct live_fault_kind *kind_get(struct live *l, const char *target, const char *kind)
{
	struct live_fault_kind *k = l->kinds.p;
	for (size_t i = 0; i < l->kinds.n; i++)
		if (strcmp(k[i].target, target) == 0 && strcmp(k[i].kind, kind) == 0)
			return &k[i];
	char *t = strdup(target), *kd = strdup(kind);
	struct live_fault_kind *n = t && kd ? arr_push(&l->kinds) : NULL;
	if (!n) {
		free(t);
		free(kd);
		return NULL;
	}
	n->target = t;
	n->kind = kd;
	return n;
}

/* ---- what each type does ---- */

static void copy_text(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static int take_state(struct live *l, const struct line *ln)
{
	if (!ln->resolver)
		return 0; /* the zone source's: not a resolver */
	struct live_resolver *r = resolver_get(l, ln->resolver);
	if (!r)
		return -ENOMEM;
	copy_text(r->state, sizeof r->state, ln->state);
	copy_text(r->why, sizeof r->why, ln->why);
	return 0;
}

static int take_boot(struct live *l, const struct line *ln)
{
	if (!ln->resolver)
		return 0;
	struct live_resolver *r = resolver_get(l, ln->resolver);
	if (!r)
		return -ENOMEM;
	/* "internal. 2026112502": the first zone's serial */
	const char *sp = ln->zones.s ? strrchr(ln->zones.s, ' ') : NULL; /* its first element */
	if (sp) {
		r->serial = (uint32_t)strtoul(sp + 1, NULL, 10);
		r->has_serial = true;
	}
	return 0;
}

static enum live_action action_of(const char *a)
{
	for (int i = 0; i < LIVE_OTHER_ACTION; i++)
		if (eq(a, live_action_names[i]))
			return (enum live_action)i;
	return LIVE_OTHER_ACTION;
}

static int take_query(struct live *l, const struct line *ln)
{
	if (!ln->resolver)
		return 0;
	struct live_resolver *r = resolver_get(l, ln->resolver);
	if (!r)
		return -ENOMEM;
	r->queries++;
	r->by_action[action_of(ln->action)]++;
	int64_t k = (int64_t)floor(ln->t * 10);
	int s = (int)(((k % 10) + 10) % 10);
	if (r->tenth[s] != k) {
		r->tenth[s] = k;
		r->in_tenth[s] = 0;
		r->wait_tenth[s] = 0;
	}
	r->in_tenth[s]++;
	if (ln->queue_ms > r->wait_tenth[s])
		r->wait_tenth[s] = ln->queue_ms;
	return 0;
}

static int take_health(struct live *l, const struct line *ln)
{
	if (!ln->vip || !ln->backend)
		return 0;
	struct live_backend *b = backend_get(l, ln->vip, ln->backend);
	if (!b)
		return -ENOMEM;
	if (eq(ln->event, "up"))
		b->up = 1;
	else if (eq(ln->event, "down"))
		b->up = 0;
	else if (eq(ln->event, "removed"))
		b->removed = true;
	else if (eq(ln->event, "member"))
		b->removed = false;
	else if (eq(ln->event, "probe")) {
		b->last_probe = ln->ok ? 1 : 0;
		if (ln->ok)
			b->probes_ok++;
		else
			b->probes_failed++;
	}
	return 0;
}

static int take_route(struct live *l, const struct line *ln)
{
	if (!ln->vip)
		return 0;
	/* What came back for a query routed earlier (a relayed port unreachable) is
	 * no routing decision: its query was counted at its own route line. */
	if (ln->backend && !hist_action_is_relay(ln->action)) {
		struct live_backend *b = backend_get(l, ln->vip, ln->backend);
		if (!b)
			return -ENOMEM;
		b->routed++;
	}
	struct live_route *r =
	        route_get(l, ln->vip, ln->backend ? ln->backend : "", ln->action ? ln->action : "");
	if (!r)
		return -ENOMEM;
	r->n++;
	return 0;
}

/* The latency bucket of ms (live.h). */
static size_t lat_bucket(const struct live *l, double ms)
{
	double us = ms * 1000.0;
	if (!(us > 1.0))
		return 0;
	size_t lo = 1, hi = LIVE_LAT_BUCKETS - 1; /* the first edge >= us, within [lo, hi] */
	if (us > l->lat_edge[LIVE_LAT_BUCKETS - 2])
		return LIVE_LAT_BUCKETS - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (l->lat_edge[mid] >= us)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* ---- lookups in flight, for the expectations' windows ---- */

static size_t fly_slot(const struct live *l, uint64_t id)
{
	uint64_t h = id * 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 17) & (l->capfly - 1);
}

static int fly_put(struct live *l, uint64_t id, double t)
{
	if (id == 0)
		return 0;
	if ((l->nfly + 1) * 2 > l->capfly) {
		size_t cap = l->capfly ? 2 * l->capfly : 256;
		struct inflight *old = l->fly, *nw = calloc(cap, sizeof *nw);
		size_t oldcap = l->capfly;
		if (!nw)
			return -ENOMEM;
		l->fly = nw;
		l->capfly = cap;
		l->nfly = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].id)
				fly_put(l, old[i].id, old[i].t);
		free(old);
	}
	size_t i = fly_slot(l, id);
	while (l->fly[i].id && l->fly[i].id != id)
		i = (i + 1) & (l->capfly - 1);
	if (!l->fly[i].id)
		l->nfly++;
	l->fly[i].id = id;
	l->fly[i].t = t;
	return 0;
}

/* Removes id, giving its invoke's t; false when it is not in flight. */
static bool fly_take(struct live *l, uint64_t id, double *t)
{
	if (!l->capfly || id == 0)
		return false;
	size_t i = fly_slot(l, id), mask = l->capfly - 1;
	while (l->fly[i].id != id) {
		if (!l->fly[i].id)
			return false;
		i = (i + 1) & mask;
	}
	*t = l->fly[i].t;
	/* backward-shift deletion: no tombstones */
	for (size_t j = (i + 1) & mask; l->fly[j].id; j = (j + 1) & mask) {
		size_t home = fly_slot(l, l->fly[j].id);
		/* j's entry may move to i when its home is not in (i, j] (cyclically) */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			l->fly[i] = l->fly[j];
			i = j;
		}
	}
	l->fly[i].id = 0;
	l->nfly--;
	return true;
}

/* A completed lookup (ok, fail, timeout) invoked at t_invoke, counted for each expectation. */
static void follow_done(struct live *l, const struct live_client *c, const struct line *ln,
                        enum live_outcome o, double t_invoke)
{
	for (size_t i = 0; i < l->nfollows; i++) {
		struct follow *f = &l->follows[i];
		const struct expectation *e = f->e;
		if (!f->live || (e->client[0] && strcmp(e->client, c->name) != 0) ||
		    (e->stack[0] && strcmp(e->stack, c->stack) != 0) || t_invoke < e->from ||
		    (e->to >= 0 && !(t_invoke < e->to)))
			continue;
		f->done++;
		f->ok += o == LIVE_OK;
		if (e->metric == EXPECT_STALE)
			f->cls += eq(ln->cls, "stale");
		else if (e->metric == EXPECT_WRONG)
			f->cls += eq(ln->cls, "wrong");
		else if (e->metric == EXPECT_LATENCY && ln->has_latency)
			f->lat[lat_bucket(l, ln->latency_ms)]++;
	}
}

int live_follow(struct live *l, const struct expectation *e)
{
	struct follow *f = realloc(l->follows, (l->nfollows + 1) * sizeof *f);
	if (!f)
		return -ENOMEM;
	l->follows = f;
	f = &l->follows[l->nfollows++];
	memset(f, 0, sizeof *f);
	f->e = e;
	f->live = e->metric == EXPECT_SUCCESS_RATE || e->metric == EXPECT_STALE ||
	          e->metric == EXPECT_WRONG || e->metric == EXPECT_LATENCY;
	return 0;
}

size_t live_followed(const struct live *l)
{
	return l->nfollows;
}

/* The p-th percentile bound (nearest rank) of a latency histogram; NaN when empty. */
static double percentile(const uint64_t *lat, double p)
{
	uint64_t n = 0, seen = 0;
	for (size_t i = 0; i < LIVE_LAT_BUCKETS; i++)
		n += lat[i];
	if (n == 0 || !(p > 0) || p > 100)
		return NAN;
	uint64_t rank = (uint64_t)ceil(p * (double)n / 100.0); /* as checker.c's latency{} */
	if (rank < 1)
		rank = 1;
	for (size_t i = 0; i < LIVE_LAT_BUCKETS; i++) {
		seen += lat[i];
		if (seen >= rank)
			return live_lat_bucket_ms(i);
	}
	return INFINITY;
}

int live_so_far(const struct live *l, size_t i, const struct expectation **e, double *value,
                bool *upper)
{
	const struct follow *f = &l->follows[i];
	*e = f->e;
	*upper = false;
	if (!f->live)
		return -1;
	if (f->done == 0)
		return 0;
	switch (f->e->metric) {
	case EXPECT_SUCCESS_RATE:
		*value = (double)f->ok / (double)f->done;
		break;
	case EXPECT_LATENCY:
		*value = percentile(f->lat, f->e->p);
		*upper = true;
		break;
	default:
		*value = (double)f->cls;
		break;
	}
	return 1;
}

static int take_lookup(struct live *l, const struct line *ln)
{
	if (!ln->client || !ln->event)
		return 0;
	struct live_client *c = client_get(l, ln->client, ln->stack);
	if (!c)
		return -ENOMEM;
	if (eq(ln->event, "invoke")) {
		c->invoked++;
		return l->nfollows && ln->has_id ? fly_put(l, (uint64_t)ln->id, ln->t) : 0;
	}
	enum live_outcome o = eq(ln->event, "ok")          ? LIVE_OK
	                      : eq(ln->event, "fail")      ? LIVE_FAIL
	                      : eq(ln->event, "timeout")   ? LIVE_TIMEOUT
	                      : eq(ln->event, "cancelled") ? LIVE_CANCELLED
	                                                   : LIVE_OUTCOMES;
	if (o == LIVE_OUTCOMES)
		return 0;
	if (l->nfollows && ln->has_id) {
		double t_invoke;
		if (fly_take(l, (uint64_t)ln->id, &t_invoke) && o != LIVE_CANCELLED)
			follow_done(l, c, ln, o, t_invoke);
	}
	c->by_outcome[o]++;
	if (eq(ln->cls, "fresh"))
		c->by_class[LIVE_FRESH]++;
	else if (eq(ln->cls, "stale"))
		c->by_class[LIVE_STALE]++;
	else if (eq(ln->cls, "wrong"))
		c->by_class[LIVE_WRONG_CLASS]++;
	if (o == LIVE_CANCELLED || !ln->has_latency)
		return 0;
	size_t bucket = lat_bucket(l, ln->latency_ms);
	c->lat[bucket]++;
	for (size_t i = 0; i < LIVE_PROM_BUCKETS; i++)
		if (ln->latency_ms <= live_prom_le_ms[i]) {
			c->prom[i]++;
			break;
		}
	c->lat_sum_ms += ln->latency_ms;
	return 0;
}

static int take_fault(struct live *l, const struct line *ln)
{
	if (!ln->target || !ln->fault || !ln->has_id)
		return 0;
	uint32_t id = (uint32_t)ln->id;
	struct live_fault_kind *k = kind_get(l, ln->target, ln->fault);
	if (!k)
		return -ENOMEM;
	struct live_fault *f = l->faults.p;
	if (eq(ln->action, "inject")) {
		char *t = strdup(ln->target), *kd = strdup(ln->fault);
		struct live_fault *n = t && kd ? arr_push(&l->faults) : NULL;
		if (!n) {
			free(t);
			free(kd);
			return -ENOMEM;
		}
		n->id = id;
		n->target = t;
		n->kind = kd;
		n->t = ln->t;
		/* a crash heals (restarts) by itself after `down` seconds */
		n->duration = ln->duration > 0 ? ln->duration : ln->down;
		k->injected++;
		k->active++;
		return 0;
	}
	if (!eq(ln->action, "heal"))
		return 0;
	for (size_t i = 0; i < l->faults.n; i++)
		if (f[i].id == id) {
			struct live_fault_kind *fk = kind_get(l, f[i].target, f[i].kind);
			if (fk && fk->active)
				fk->active--;
			free(f[i].target);
			free(f[i].kind);
			memmove(&f[i], &f[i + 1], (l->faults.n - i - 1) * sizeof *f);
			l->faults.n--;
			break;
		}
	return 0;
}

/* A kernel VIP's `vip` line names its backends: known from the start. */
static int take_vip(struct live *l, const struct line *ln)
{
	const char *s = ln->backends.s;
	if (!ln->vip)
		return 0;
	for (size_t i = 0; i < ln->backends.n; i++, s += strlen(s) + 1)
		if (*s && !backend_get(l, ln->vip, s))
			return -ENOMEM;
	return 0;
}

int live_feed(struct live *l, const char *line, size_t len)
{
	struct line ln = {0};
	const char *why;
	int rc = 0;

	l->lines++;
	if (hist_line_parse(l->parser, line, len, take_field, &ln, &why) != 0 || !ln.has_t ||
	    !ln.type) {
		l->bad++;
		return 0;
	}
	if (ln.t > l->last_t)
		l->last_t = ln.t;
	if (strcmp(ln.type, "meta") == 0) {
		char *n = strdup(ln.name ? ln.name : "");
		if (!n)
			return -ENOMEM;
		free(l->name);
		l->name = n;
		l->duration = ln.duration;
	} else if (strcmp(ln.type, "state") == 0) {
		rc = take_state(l, &ln);
	} else if (strcmp(ln.type, "boot") == 0) {
		rc = take_boot(l, &ln);
	} else if (strcmp(ln.type, "query") == 0) {
		rc = take_query(l, &ln);
	} else if (strcmp(ln.type, "health") == 0) {
		rc = take_health(l, &ln);
	} else if (strcmp(ln.type, "route") == 0) {
		rc = take_route(l, &ln);
	} else if (strcmp(ln.type, "lookup") == 0) {
		rc = take_lookup(l, &ln);
	} else if (strcmp(ln.type, "fault") == 0) {
		rc = take_fault(l, &ln);
	} else if (strcmp(ln.type, "vip") == 0) {
		rc = take_vip(l, &ln);
	} else if (strcmp(ln.type, "stall") == 0) {
		l->stalls++;
	} else if (strcmp(ln.type, "end") == 0) {
		free(l->end_reason);
		l->end_reason = strdup(ln.reason ? ln.reason : "");
		if (!l->end_reason)
			return -ENOMEM;
	}
	return rc;
}

/* ---- reading ---- */

const char *live_name(const struct live *l)
{
	return l->name;
}

double live_duration(const struct live *l)
{
	return l->duration;
}

double live_last_t(const struct live *l)
{
	return l->last_t;
}

uint64_t live_lines(const struct live *l)
{
	return l->lines;
}

uint64_t live_bad_lines(const struct live *l)
{
	return l->bad;
}

uint64_t live_stalls(const struct live *l)
{
	return l->stalls;
}

const char *live_end_reason(const struct live *l)
{
	return l->end_reason;
}

#define GETTER(fn, type, field)                                                                    \
	const type *fn(const struct live *l, size_t *n)                                            \
	{                                                                                          \
		*n = l->field.n;                                                                   \
		return l->field.p;                                                                 \
	}
GETTER(live_resolvers, struct live_resolver, resolvers)
GETTER(live_backends, struct live_backend, backends)
GETTER(live_routes, struct live_route, routes)
GETTER(live_clients, struct live_client, clients)
GETTER(live_fault_kinds, struct live_fault_kind, kinds)
GETTER(live_faults, struct live_fault, faults)
#undef GETTER

double live_resolver_qps(const struct live_resolver *r, double now)
{
	int64_t k = (int64_t)floor(now * 10);
	uint64_t n = 0;
	for (int i = 0; i < 10; i++)
		if (r->tenth[i] >= k - 9 && r->tenth[i] <= k)
			n += r->in_tenth[i];
	return (double)n;
}

double live_resolver_wait_ms(const struct live_resolver *r, double now)
{
	int64_t k = (int64_t)floor(now * 10);
	double w = 0;
	for (int i = 0; i < 10; i++)
		if (r->tenth[i] >= k - 9 && r->tenth[i] <= k && r->wait_tenth[i] > w)
			w = r->wait_tenth[i];
	return w;
}

uint64_t live_client_completed(const struct live_client *c)
{
	return c->by_outcome[LIVE_OK] + c->by_outcome[LIVE_FAIL] + c->by_outcome[LIVE_TIMEOUT];
}

double live_client_success(const struct live_client *c)
{
	uint64_t n = live_client_completed(c);
	return n ? (double)c->by_outcome[LIVE_OK] / (double)n : NAN;
}

uint64_t live_client_in_flight(const struct live_client *c)
{
	uint64_t done = live_client_completed(c) + c->by_outcome[LIVE_CANCELLED];
	return c->invoked > done ? c->invoked - done : 0;
}

double live_lat_bucket_ms(size_t i)
{
	if (i >= LIVE_LAT_BUCKETS - 1)
		return INFINITY;
	return exp2((double)i / 8.0) / 1000.0;
}

double live_client_percentile_ms(const struct live_client *c, double p)
{
	return percentile(c->lat, p);
}
