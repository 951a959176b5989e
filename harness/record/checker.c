/*
 * checker.c - expectations measured on a history, and the verdict.
 *
 * Every metric reads the typed arrays of hist.h and nothing else, so a run
 * and `dnschaos check` of its history give the same result. A metric that
 * finds nothing to measure (no lookup in its window, no fault on its
 * backend) says so and is inconclusive: a check that could not have failed
 * never reads as a pass. The definitions are in docs/checks.md.
 */
#include "harness/record/checker.h"
#include "harness/record/hist.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-bucket metrics refuse windows of more buckets than this (a week in 0.1 s). */
#define BUCKETS_MAX 6000000

static const char *const metric_names[EXPECT_METRICS] = {
	"success_rate",	 "latency",	"stale_answers", "wrong_answers", "stale_stretch",
	"detection_time", "failure_span", "readmission",   "amplification", "survivor_load",
	"goodput",	 "recovery",	"flaps",	 "check",
};

const char *expect_metric_name(enum expect_metric m)
{
	return (unsigned)m < EXPECT_METRICS ? metric_names[m] : "?";
}

int expect_metric_parse(const char *s, enum expect_metric *out)
{
	for (int i = 0; i < EXPECT_METRICS; i++)
		if (strcmp(s, metric_names[i]) == 0) {
			*out = (enum expect_metric)i;
			return 0;
		}
	return -1;
}

const char *verdict_name(enum verdict v)
{
	static const char *const n[] = { "pass", "fail", "inconclusive", "none" };
	return (unsigned)v < 4 ? n[v] : "?";
}

const char *outcome_name(enum expect_outcome o)
{
	static const char *const n[] = { "pass", "fail", "inconclusive" };
	return (unsigned)o < 3 ? n[o] : "?";
}

void expectation_init(struct expectation *e)
{
	memset(e, 0, sizeof *e);
	e->from = 0;
	e->to = -1;
	e->p = 50;
	e->fraction = 0.9;
	e->baseline_from = -1;
	e->baseline_to = -1;
	e->bucket = 1;
}

/* ---- helpers ---- */

/* An interned string for a message: "?" when the line did not have it. */
static const char *nz(const struct hist *h, uint32_t id)
{
	const char *s = hist_str(h, id);
	return s ? s : "?";
}

static void say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

static void moment(struct expect_result *r, double t, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void moment(struct expect_result *r, double t, uint32_t line, const char *fmt, ...)
{
	if (r->nmoments == EXPECT_MOMENTS)
		return;
	struct expect_moment *m = &r->moments[r->nmoments++];
	m->t = t;
	m->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->what, sizeof m->what, fmt, ap);
	va_end(ap);
}

static void inconclusive(struct expect_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void inconclusive(struct expect_result *r, const char *fmt, ...)
{
	r->outcome = OUTCOME_INCONCLUSIVE;
	r->has_value = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
}

static double win_to(const struct expectation *e)
{
	return e->to < 0 ? INFINITY : e->to;
}

static bool in_window(const struct expectation *e, double t)
{
	return t >= e->from && t < win_to(e);
}

/* "[3, 12)" or "[3, end)" */
static const char *window_text(const struct expectation *e, char *buf, size_t cap)
{
	if (e->to < 0)
		say(buf, cap, "[%g s, the end)", e->from);
	else
		say(buf, cap, "[%g s, %g s)", e->from, e->to);
	return buf;
}

/* A filter by name: HIST_NONE-proof. want "" matches anything. */
struct name_filter {
	bool any;
	uint32_t id; /* HIST_NONE when the name never appears: matches nothing */
};

static struct name_filter filter(const struct hist *h, const char *want)
{
	struct name_filter f = { want[0] == '\0', HIST_NONE };
	if (!f.any)
		f.id = hist_find(h, want);
	return f;
}

static bool match(struct name_filter f, uint32_t id)
{
	return f.any || (f.id != HIST_NONE && f.id == id);
}

static bool completed(const struct hist_lookup *l)
{
	return l->event == HIST_LK_OK || l->event == HIST_LK_FAIL || l->event == HIST_LK_TIMEOUT;
}

static const char *lk_event_name(uint8_t ev)
{
	static const char *const n[] = { "invoke", "ok", "fail", "timeout", "cancelled" };
	return ev < 5 ? n[ev] : "?";
}

static void lookup_moment(const struct hist *h, struct expect_result *r,
			  const struct hist_lookup *l, const char *what)
{
	const char *reason = hist_str(h, l->reason), *error = hist_str(h, l->error);
	moment(r, l->t_done >= 0 ? l->t_done : l->t_invoke, l->line_done ? l->line_done : l->line,
	       "lookup %llu of %s (%s): %s%s%s%s%s, %.1f ms", (unsigned long long)l->id,
	       nz(h, l->client), nz(h, l->name),
	       what ? what : lk_event_name(l->event), reason ? " " : "", reason ? reason : "",
	       error ? " " : "", error ? error : "", l->latency_ms);
}

#define LOOKUP_FILTERS                                                     \
	struct name_filter fc = filter(h, e->client), fs = filter(h, e->stack); \
	size_t nl;                                                             \
	const struct hist_lookup *ls = hist_lookups(h, &nl)

/* The lookups an expectation is about: its client and stack, invoked in its window. */
#define LOOKUP_WANTED(l)                                         \
	(match(fc, (l)->client) && match(fs, (l)->stack) && \
	 in_window(e, (l)->t_invoke))

/* A bound check, for the metrics whose failing moments are found afterwards. */
static bool breaks(const struct expectation *e, double v)
{
	return e->op == EXPECT_AT_LEAST ? !(v >= e->bound) : !(v <= e->bound);
}

/* ---- who met a fault: computed once per history ---- */

/*
 * A fault *touched* the system only when a client's lookup met it; health
 * probes and s:query do not count. A lookup meets fault F when (docs/checks.md,
 * "Which lookups met a fault"):
 *
 *   1. a query line joined to it carries F's id (fault or delay_fault); a
 *      query the VIP forwarded for it counts too: the backend's query line is
 *      not joined (it comes from the VIP), so it is matched to the lookup's
 *      route line by backend, question and order of arrival (linked());
 *   2. F is a lifecycle fault (stop, crash, restart, reload) on resolver R,
 *      and a query or route line joined to the lookup reached R inside F's
 *      span while R was down or booting (state lines), gated (gate lines), or
 *      serving a version of a zone that is not the published one (boot lines
 *      against publish lines: serves_unpublished());
 *   3. F is such a fault and the lookup asked R directly (R is in its target
 *      list) while R was down inside F's span: a stopped resolver writes no
 *      query line.
 *
 * F's span runs from its injection until R is up, ungated and current again
 * after F healed (a crash's restart may boot a stale copy: that is still F),
 * or until the next lifecycle fault on R, whichever comes first.
 */

struct span {
	double a, b; /* [a, b) */
};

struct spans {
	struct span *v;
	size_t n, cap;
};

/* A resolver's troubles over time, and the lifecycle faults on it. */
struct life {
	double a, b;
	size_t fault; /* index in hist_faults */
};

struct track {
	uint32_t id;
	struct spans down, gated, unpub, bad; /* bad: the union of the three */
	struct life *life;
	size_t nlife, caplife;
	/* open intervals while building */
	double down_from, gated_from, unpub_from;
};

struct touch {
	struct track *res;
	size_t nres, capres;
	bool *lk_met;    /* by index in hist_lookups */
	bool *fault_met; /* by index in hist_faults (inject lines) */
	size_t injected; /* fault inject lines */
	bool oom;        /* could not be computed: lookups' expectations say so */
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 8;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

/* Appends [a, b) (spans are added in time order), merging with the last one if they touch. */
static int spans_add(struct spans *s, double a, double b)
{
	if (!(b > a))
		return 0;
	if (s->n && a <= s->v[s->n - 1].b) {
		if (b > s->v[s->n - 1].b)
			s->v[s->n - 1].b = b;
		return 0;
	}
	if (grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) != 0)
		return -1;
	s->v[s->n++] = (struct span){ a, b };
	return 0;
}

/* The span holding t, or NULL. */
static const struct span *spans_at(const struct spans *s, double t)
{
	size_t lo = 0, hi = s->n; /* the first span with a > t */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].a <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && t < s->v[lo - 1].b ? &s->v[lo - 1] : NULL;
}

/* The first moment at or after t outside every span. */
static double spans_clear_from(const struct spans *s, double t)
{
	const struct span *x = spans_at(s, t);
	return x ? x->b : t;
}

/* The first span meeting [a, b), or NULL. */
static const struct span *spans_meet(const struct spans *s, double a, double b)
{
	const struct span *x = spans_at(s, a);
	if (x)
		return x;
	size_t lo = 0, hi = s->n; /* the first span with a > a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].a <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->v[lo].a < b ? &s->v[lo] : NULL;
}

static int cmp_span(const void *x, const void *y)
{
	double a = ((const struct span *)x)->a, b = ((const struct span *)y)->a;
	return a < b ? -1 : a > b;
}

static struct track *track_find(const struct touch *T, uint32_t id)
{
	for (size_t i = 0; id != HIST_NONE && i < T->nres; i++)
		if (T->res[i].id == id)
			return &T->res[i];
	return NULL;
}

static struct track *track_get(struct touch *T, uint32_t id)
{
	struct track *r = track_find(T, id);
	if (r || id == HIST_NONE)
		return r;
	if (grow((void **)&T->res, &T->capres, T->nres + 1, sizeof *T->res) != 0)
		return NULL;
	r = &T->res[T->nres++];
	memset(r, 0, sizeof *r);
	r->id = id;
	r->down_from = r->gated_from = r->unpub_from = -1;
	return r;
}

static void touch_free(struct touch *T)
{
	for (size_t i = 0; i < T->nres; i++) {
		free(T->res[i].down.v);
		free(T->res[i].gated.v);
		free(T->res[i].unpub.v);
		free(T->res[i].bad.v);
		free(T->res[i].life);
	}
	free(T->res);
	free(T->lk_met);
	free(T->fault_met);
	memset(T, 0, sizeof *T);
}

/*
 * Does zone k of this boot hold the version this publish line published?
 * By content digest (the version lines), so that a disk copy with the
 * published serial but other data is told apart from the published version.
 * A line without a digest (a history from a build before digests) falls back
 * to the serial.
 */
static bool same_version(const struct hist_boot *b, size_t k, const struct hist_publish *p)
{
	if (b->version[k] != HIST_NO_VERSION && p->version != HIST_NO_VERSION)
		return b->version[k] == p->version;
	return b->serial[k] == p->serial;
}

/* The last publish line of each zone, while walking the history. */
struct published {
	const struct hist_publish **v;
	size_t n, cap;
};

static const struct hist_publish *published_of(const struct published *P, uint32_t zone)
{
	for (size_t i = 0; i < P->n; i++)
		if (P->v[i]->zone == zone)
			return P->v[i];
	return NULL;
}

static int published_set(struct published *P, const struct hist_publish *p)
{
	for (size_t i = 0; i < P->n; i++)
		if (P->v[i]->zone == p->zone) {
			P->v[i] = p;
			return 0;
		}
	if (grow((void **)&P->v, &P->cap, P->n + 1, sizeof *P->v) != 0)
		return -1;
	P->v[P->n++] = p;
	return 0;
}

/*
 * Does a resolver whose last boot is b serve a version that is not the
 * published one, given the last publish of every zone (P)? A zone nobody
 * published (no zone source) cannot tell and counts as published. On yes,
 * *zone is the index in b of the first such zone and *pub its publish line.
 */
static bool serves_unpublished(const struct hist_boot *b, const struct published *P, size_t *zone,
			       const struct hist_publish **pub)
{
	size_t nz = b && b->nzones < 4 ? b->nzones : b ? 4 : 0;
	for (size_t k = 0; k < nz; k++) {
		const struct hist_publish *p = published_of(P, b->zone[k]);
		if (p && !same_version(b, k, p)) {
			if (zone)
				*zone = k;
			if (pub)
				*pub = p;
			return true;
		}
	}
	return false;
}

/* The unpublished spans of resolver r: its boots and every publish, in line order. */
static int track_unpublished(const struct hist *h, struct track *r)
{
	size_t nb, np;
	const struct hist_boot *bs = hist_boots(h, &nb);
	const struct hist_publish *ps = hist_publishes(h, &np);
	struct published P = { 0 };
	const struct hist_boot *cur = NULL;
	double from = -1;
	int rc = 0;
	for (size_t ib = 0, ip = 0; ib < nb || ip < np;) {
		double t;
		if (ip < np && (ib == nb || ps[ip].line < bs[ib].line)) {
			t = ps[ip].t;
			if (published_set(&P, &ps[ip++]) != 0) {
				rc = -1;
				break;
			}
		} else {
			t = bs[ib].from;
			if (bs[ib].resolver == r->id)
				cur = &bs[ib];
			ib++;
		}
		bool now = serves_unpublished(cur, &P, NULL, NULL);
		if (now && from < 0)
			from = t;
		else if (!now && from >= 0) {
			if (spans_add(&r->unpub, from, t) != 0) {
				rc = -1;
				break;
			}
			from = -1;
		}
	}
	if (rc == 0 && from >= 0)
		rc = spans_add(&r->unpub, from, INFINITY);
	free(P.v);
	return rc;
}

/* bad = down | gated | unpublished, sorted and merged. */
static int track_bad(struct track *r)
{
	size_t n = r->down.n + r->gated.n + r->unpub.n;
	if (n == 0)
		return 0;
	struct span *all = malloc(n * sizeof *all);
	if (!all)
		return -1;
	const struct spans *parts[] = { &r->down, &r->gated, &r->unpub };
	size_t k = 0;
	for (size_t p = 0; p < 3; p++)
		for (size_t i = 0; i < parts[p]->n; i++)
			all[k++] = parts[p]->v[i];
	qsort(all, n, sizeof *all, cmp_span);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = spans_add(&r->bad, all[i].a, all[i].b);
	free(all);
	return rc;
}

static bool lifecycle_fault(const char *kind)
{
	static const char *const k[] = { "stop", "crash", "restart", "reload", "kill", NULL };
	for (size_t i = 0; kind && k[i]; i++)
		if (strcmp(kind, k[i]) == 0)
			return true;
	return false;
}

/* Every resolver's troubles, and the span of every lifecycle fault. */
static int touch_tracks(const struct hist *h, struct touch *T)
{
	size_t ns, ng, nb, nf;
	const struct hist_state *ss = hist_states(h, &ns);
	const struct hist_gate *gs = hist_gates(h, &ng);
	const struct hist_boot *bs = hist_boots(h, &nb);
	const struct hist_fault *fs = hist_faults(h, &nf);
	uint32_t up = hist_find(h, "up");
	for (size_t i = 0; i < ns; i++) {
		struct track *r = track_get(T, ss[i].resolver);
		if (!r)
			return -1;
		if (ss[i].state != up && r->down_from < 0)
			r->down_from = ss[i].t;
		else if (ss[i].state == up && r->down_from >= 0) {
			if (spans_add(&r->down, r->down_from, ss[i].t) != 0)
				return -1;
			r->down_from = -1;
		}
	}
	for (size_t i = 0; i < ng; i++) {
		struct track *r = track_get(T, gs[i].resolver);
		if (!r)
			return -1;
		if (gs[i].gated && r->gated_from < 0)
			r->gated_from = gs[i].t;
		else if (!gs[i].gated && r->gated_from >= 0) {
			if (spans_add(&r->gated, r->gated_from, gs[i].t) != 0)
				return -1;
			r->gated_from = -1;
		}
	}
	for (size_t i = 0; i < nb; i++)
		if (!track_get(T, bs[i].resolver))
			return -1;
	for (size_t i = 0; i < nf; i++)
		if (!track_get(T, fs[i].target))
			return -1;
	for (size_t i = 0; i < T->nres; i++) {
		struct track *r = &T->res[i];
		if ((r->down_from >= 0 && spans_add(&r->down, r->down_from, INFINITY) != 0) ||
		    (r->gated_from >= 0 && spans_add(&r->gated, r->gated_from, INFINITY) != 0) ||
		    track_unpublished(h, r) != 0 || track_bad(r) != 0)
			return -1;
	}
	/* Lifecycle faults: from the injection until the resolver is well after the
	 * heal (or after the injection, with no heal), or the next one on it. */
	for (size_t i = 0; i < nf; i++) {
		if (!fs[i].inject || fs[i].id == 0 || !lifecycle_fault(hist_str(h, fs[i].kind)))
			continue;
		struct track *r = track_find(T, fs[i].target);
		double next = INFINITY, healed = fs[i].t;
		bool heal_seen = false;
		for (size_t k = i + 1; k < nf; k++) {
			if (fs[k].target != fs[i].target)
				continue;
			if (!heal_seen && !fs[k].inject && fs[k].id == fs[i].id) {
				healed = fs[k].t;
				heal_seen = true;
			}
			if (fs[k].inject && lifecycle_fault(hist_str(h, fs[k].kind))) {
				next = fs[k].t;
				break;
			}
		}
		/* Never healed (a stop without a duration): its span lasts until the next
		 * one. The resolver's state line follows the inject line, so "clear from
		 * the injection" would be an empty span. */
		double end = heal_seen ? fmin(next, spans_clear_from(&r->bad, healed)) : next;
		if (grow((void **)&r->life, &r->caplife, r->nlife + 1, sizeof *r->life) != 0)
			return -1;
		r->life[r->nlife++] = (struct life){ fs[i].t, end, i };
	}
	return 0;
}

/* The lifecycle fault on r whose span holds t, or NULL. */
static const struct life *life_at(const struct track *r, double t)
{
	for (size_t i = 0; r && i < r->nlife; i++)
		if (t >= r->life[i].a && t < r->life[i].b)
			return &r->life[i];
	return NULL;
}

static void met(struct touch *T, const struct hist *h, uint64_t lookup, size_t fault)
{
	size_t nl;
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	const struct hist_lookup *l = hist_lookup_by_id(h, lookup);
	if (!l)
		return; /* joined to a lookup the history does not have: not a client's */
	T->lk_met[l - ls] = true;
	T->fault_met[fault] = true;
}

/* A line of a lookup reached resolver res at t: a lifecycle fault on it, if it was unwell. */
static void met_resolver(struct touch *T, const struct hist *h, uint64_t lookup, uint32_t res,
			 double t)
{
	const struct track *r = track_find(T, res);
	if (!r || !spans_at(&r->bad, t))
		return;
	const struct life *f = life_at(r, t);
	if (f)
		met(T, h, lookup, f->fault);
}

/* Fault ids to their inject lines. */
struct fault_id {
	uint32_t id;
	size_t index;
};

static int cmp_fault_id(const void *x, const void *y)
{
	uint32_t a = ((const struct fault_id *)x)->id, b = ((const struct fault_id *)y)->id;
	return a < b ? -1 : a > b;
}

static const struct fault_id *fault_by_id(const struct fault_id *v, size_t n, uint32_t id)
{
	struct fault_id key = { id, 0 };
	return id ? bsearch(&key, v, n, sizeof *v, cmp_fault_id) : NULL;
}

/* A query line's fault ids: the lookup met those faults. */
static void met_ids(struct touch *T, const struct hist *h, uint64_t lookup,
		    const struct hist_query *q, const struct fault_id *ids, size_t nids)
{
	const struct fault_id *f = fault_by_id(ids, nids, q->fault);
	if (f)
		met(T, h, lookup, f->index);
	f = fault_by_id(ids, nids, q->delay_fault);
	if (f)
		met(T, h, lookup, f->index);
}

/* ---- a VIP's forwarded query and the backend's line for it ---- */

static bool id_in(const uint32_t *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/*
 * The faults a VIP's forwarded queries met at their backends: the backend's
 * query lines carry no lookup, so they are tied to the route lines by
 * hist_hop_lookups. Done only when some unjoined query line at a backend
 * carries a fault id.
 */
static int touch_hops(const struct hist *h, struct touch *T, const struct fault_id *ids,
		      size_t nids)
{
	size_t nr, nq;
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_query *qs = hist_queries(h, &nq);
	uint32_t *backends = NULL;
	uint64_t *via = NULL;
	size_t nbk = 0, capbk = 0;
	bool needed = false;
	int rc = -1;
	for (size_t i = 0; i < nr; i++) {
		if (rs[i].backend == HIST_NONE)
			continue;
		if (id_in(backends, nbk, rs[i].backend))
			continue;
		if (grow((void **)&backends, &capbk, nbk + 1, sizeof *backends) != 0)
			goto out;
		backends[nbk++] = rs[i].backend;
	}
	for (size_t i = 0; i < nq && !needed; i++) {
		if (!qs[i].lookup && (fault_by_id(ids, nids, qs[i].fault) ||
				      fault_by_id(ids, nids, qs[i].delay_fault)))
			needed = id_in(backends, nbk, qs[i].resolver);
	}
	if (!needed) {
		rc = 0;
		goto out;
	}
	via = calloc(nq ? nq : 1, sizeof *via);
	if (!via || hist_hop_lookups(h, via) != 0)
		goto out;
	for (size_t i = 0; i < nq; i++)
		if (via[i])
			met_ids(T, h, via[i], &qs[i], ids, nids);
	rc = 0;
out:
	free(via);
	free(backends);
	return rc;
}

/* Splits a lookup's target list ("r1,r2") and calls met for the resolvers it asked while down. */
static void met_direct(struct touch *T, const struct hist *h, const struct hist_lookup *l)
{
	const char *list = hist_str(h, l->target);
	double a = l->t_invoke, b = l->t_done >= 0 ? l->t_done : hist_last_t(h);
	if (!list || !(b >= a))
		return;
	if (b == a)
		b = a + 1e-9;
	for (const char *p = list; p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		for (size_t i = 0; i < T->nres; i++) {
			const struct track *r = &T->res[i];
			const char *name = hist_str(h, r->id);
			if (!r->nlife || !name || strlen(name) != len || memcmp(name, p, len) != 0)
				continue;
			/* Each down span it was in flight through, until one is a fault's. */
			for (const struct span *s = spans_meet(&r->down, a, b);
			     s && s < r->down.v + r->down.n && s->a < b; s++) {
				const struct life *f = life_at(r, fmax(a, s->a));
				if (f) {
					met(T, h, l->id, f->fault);
					break;
				}
			}
		}
		p = comma ? comma + 1 : NULL;
	}
}

/* Whether a lookup's target list ("r1,r2", or a VIP's name) names name. */
static bool targets(const struct hist *h, uint32_t target, const char *name)
{
	const char *list = hist_str(h, target);
	size_t n = name ? strlen(name) : 0;
	for (const char *p = list; p && n;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/*
 * 4. A dnsdist VIP's queries are not joined (its own source address and
 * ids): a poll that saw it send client queries to backend R (the count grew)
 * while a fault F on R was on (injected, not healed before the poll period
 * began) counts as F met by every lookup that asked that VIP and was in
 * flight during that poll period. One of them did meet it (the count is
 * of client queries, never of dnsdist's health checks); which one is not
 * known, so a guard against "none met a fault" is sound only over all the
 * lookups through that VIP (docs/checks.md).
 */
static void met_dnsdist(struct touch *T, const struct hist *h)
{
	size_t nb, nf, nl;
	const struct hist_bstat *bs = hist_backend_stats(h, &nb);
	const struct hist_fault *fs = hist_faults(h, &nf);
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	double maxlat = 0, last = hist_last_t(h);
	if (!nb)
		return;
	for (size_t i = 0; i < nl; i++)
		maxlat = fmax(maxlat, (ls[i].t_done >= 0 ? ls[i].t_done : last) - ls[i].t_invoke);
	for (size_t k = 0; k < nb; k++) {
		const struct hist_bstat *x = &bs[k];
		double poll = 0;
		if (!x->new_queries || !hist_vip_dnsdist(h, x->vip, &poll))
			continue;
		double a = x->t - poll, b = x->t;
		const char *vip = hist_str(h, x->vip);
		for (size_t i = 0; i < nf; i++) {
			if (!fs[i].inject || fs[i].target != x->backend || fs[i].t > b)
				continue;
			double heal = INFINITY;
			for (size_t j = i + 1; j < nf; j++)
				if (!fs[j].inject && fs[j].id == fs[i].id) {
					heal = fs[j].t;
					break;
				}
			if (heal <= a)
				continue;
			/* Lookups invoked by b (ordered by invoke) and still in flight after a. */
			size_t lo = 0, hi = nl;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (ls[mid].t_invoke <= b)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t j = lo; j-- > 0 && ls[j].t_invoke >= a - maxlat;) {
				double done = ls[j].t_done >= 0 ? ls[j].t_done : last;
				if (done >= a && targets(h, ls[j].target, vip))
					met(T, h, ls[j].id, i);
			}
		}
	}
}

static int touch_compute(const struct hist *h, struct touch *T)
{
	size_t nl, nq, nr, nf;
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	const struct hist_query *qs = hist_queries(h, &nq);
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_fault *fs = hist_faults(h, &nf);
	struct fault_id *ids = NULL;
	size_t nids = 0;
	memset(T, 0, sizeof *T);
	T->lk_met = calloc(nl + 1, sizeof *T->lk_met);
	T->fault_met = calloc(nf + 1, sizeof *T->fault_met);
	ids = malloc((nf + 1) * sizeof *ids);
	if (!T->lk_met || !T->fault_met || !ids)
		goto oom;
	for (size_t i = 0; i < nf; i++)
		if (fs[i].inject) {
			T->injected++;
			if (fs[i].id)
				ids[nids++] = (struct fault_id){ fs[i].id, i };
		}
	qsort(ids, nids, sizeof *ids, cmp_fault_id);
	if (touch_tracks(h, T) != 0)
		goto oom;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].lookup) {
			met_ids(T, h, qs[i].lookup, &qs[i], ids, nids);
			met_resolver(T, h, qs[i].lookup, qs[i].resolver, qs[i].t);
		}
	for (size_t i = 0; i < nr; i++)
		if (rs[i].lookup && rs[i].backend != HIST_NONE)
			met_resolver(T, h, rs[i].lookup, rs[i].backend, rs[i].t);
	for (size_t i = 0; i < nl; i++)
		met_direct(T, h, &ls[i]);
	met_dnsdist(T, h);
	if (touch_hops(h, T, ids, nids) != 0)
		goto oom;
	free(ids);
	return 0;
oom:
	free(ids);
	touch_free(T);
	T->oom = true;
	return -1;
}

/* ---- the metrics ---- */

static void m_success_rate(const struct hist *h, const struct expectation *e,
			   struct expect_result *r)
{
	LOOKUP_FILTERS;
	size_t done = 0, ok = 0, failed = 0, timeouts = 0;
	for (size_t i = 0; i < nl; i++) {
		const struct hist_lookup *l = &ls[i];
		if (!LOOKUP_WANTED(l) || !completed(l))
			continue;
		done++;
		ok += l->event == HIST_LK_OK;
		failed += l->event == HIST_LK_FAIL;
		timeouts += l->event == HIST_LK_TIMEOUT;
	}
	char w[64];
	if (done == 0)
		return inconclusive(r, "no lookup completed in %s", window_text(e, w, sizeof w));
	r->observed = (double)ok / (double)done;
	say(r->detail, sizeof r->detail, "%zu of %zu lookups ok (%zu failed, %zu timed out) in %s",
	    ok, done, failed, timeouts, window_text(e, w, sizeof w));
	if (breaks(e, r->observed))
		for (size_t i = 0; i < nl && r->nmoments < EXPECT_MOMENTS; i++)
			if (LOOKUP_WANTED(&ls[i]) && completed(&ls[i]) && ls[i].event != HIST_LK_OK)
				lookup_moment(h, r, &ls[i], NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void m_latency(const struct hist *h, const struct expectation *e, struct expect_result *r)
{
	LOOKUP_FILTERS;
	size_t n = 0;
	for (size_t i = 0; i < nl; i++)
		n += LOOKUP_WANTED(&ls[i]) && completed(&ls[i]);
	char w[64];
	if (n == 0)
		return inconclusive(r, "no lookup completed in %s", window_text(e, w, sizeof w));
	double *v = malloc(n * sizeof *v);
	if (!v)
		return inconclusive(r, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < nl; i++)
		if (LOOKUP_WANTED(&ls[i]) && completed(&ls[i]))
			v[k++] = ls[i].latency_ms;
	qsort(v, n, sizeof *v, cmp_double);
	/* Nearest rank: the smallest value with at least p% of the values at or below it.
	 * p * n first: exact for a whole p, where p / 100 * n can land just above a whole
	 * rank (0.28 * 25 = 7.000000000000001) and take the next value. */
	size_t rank = (size_t)ceil(e->p * (double)n / 100.0);
	if (rank < 1)
		rank = 1;
	if (rank > n) /* p above 100 (or not a number): the max, not a read past the array */
		rank = n;
	r->observed = v[rank - 1];
	snprintf(r->unit, sizeof r->unit, "ms");
	say(r->detail, sizeof r->detail, "p%g of %zu lookups in %s (median %.3f ms, max %.3f ms)",
	    e->p, n, window_text(e, w, sizeof w), v[(n + 1) / 2 - 1], v[n - 1]);
	free(v);
	if (breaks(e, r->observed))
		for (size_t i = 0; i < nl && r->nmoments < EXPECT_MOMENTS; i++)
			if (LOOKUP_WANTED(&ls[i]) && completed(&ls[i]) &&
			    breaks(e, ls[i].latency_ms))
				lookup_moment(h, r, &ls[i], NULL);
}

static void m_class_count(const struct hist *h, const struct expectation *e,
			  struct expect_result *r, uint8_t cls)
{
	LOOKUP_FILTERS;
	size_t done = 0, count = 0;
	for (size_t i = 0; i < nl; i++) {
		if (!LOOKUP_WANTED(&ls[i]) || !completed(&ls[i]))
			continue;
		done++;
		count += ls[i].cls == cls;
	}
	char w[64];
	if (done == 0)
		return inconclusive(r, "no lookup completed in %s", window_text(e, w, sizeof w));
	r->observed = (double)count;
	say(r->detail, sizeof r->detail, "%zu %s answers among %zu lookups in %s", count,
	    cls == HIST_CLASS_STALE ? "stale" : "wrong", done, window_text(e, w, sizeof w));
	if (breaks(e, r->observed))
		for (size_t i = 0; i < nl && r->nmoments < EXPECT_MOMENTS; i++)
			if (LOOKUP_WANTED(&ls[i]) && completed(&ls[i]) && ls[i].cls == cls)
				lookup_moment(h, r, &ls[i], cls == HIST_CLASS_STALE ? "stale answer"
										    : "wrong answer");
}

/* Times after which clients should get no stale data: publishes, gates, backends taken down. */
struct trigger {
	double t;
	uint32_t line;
	char what[80];
};

static int cmp_trigger(const void *a, const void *b)
{
	double x = ((const struct trigger *)a)->t, y = ((const struct trigger *)b)->t;
	return x < y ? -1 : x > y;
}

static void m_stale_stretch(const struct hist *h, const struct expectation *e,
			    struct expect_result *r)
{
	LOOKUP_FILTERS;
	size_t np, ng, nh;
	const struct hist_publish *ps = hist_publishes(h, &np);
	const struct hist_gate *gs = hist_gates(h, &ng);
	const struct hist_health *hs = hist_healths(h, &nh);
	struct trigger *tr = calloc(np + ng + nh + 1, sizeof *tr);
	size_t nt = 0;
	if (!tr)
		return inconclusive(r, "out of memory");
	for (size_t i = 0; i < np; i++)
		if (!ps[i].initial && in_window(e, ps[i].t)) {
			tr[nt] = (struct trigger){ ps[i].t, ps[i].line, "" };
			say(tr[nt].what, sizeof tr[nt].what, "publish of %s serial %u",
			    nz(h, ps[i].zone), ps[i].serial);
			nt++;
		}
	for (size_t i = 0; i < ng; i++)
		if (gs[i].gated && in_window(e, gs[i].t)) {
			tr[nt] = (struct trigger){ gs[i].t, gs[i].line, "" };
			say(tr[nt].what, sizeof tr[nt].what, "%s gated itself",
			    nz(h, gs[i].resolver));
			nt++;
		}
	for (size_t i = 0; i < nh; i++)
		if (hs[i].event == HIST_H_DOWN && in_window(e, hs[i].t)) {
			tr[nt] = (struct trigger){ hs[i].t, hs[i].line, "" };
			say(tr[nt].what, sizeof tr[nt].what, "%s took %s down",
			    nz(h, hs[i].vip), nz(h, hs[i].backend));
			nt++;
		}
	char w[64];
	if (nt == 0) {
		free(tr);
		return inconclusive(r, "no publish, gate or backend down in %s: nothing to be stale "
				       "after", window_text(e, w, sizeof w));
	}
	qsort(tr, nt, sizeof *tr, cmp_trigger);
	/* With no answer after the first trigger, nothing could have been stale. */
	size_t after = 0;
	for (size_t i = 0; i < nl; i++)
		after += completed(&ls[i]) && match(fc, ls[i].client) && match(fs, ls[i].stack) &&
			 ls[i].t_done >= tr[0].t;
	if (after == 0) {
		char when[48];
		snprintf(when, sizeof when, "%.3f s", tr[0].t);
		free(tr);
		return inconclusive(r, "no lookup completed after the first trigger (%s)", when);
	}
	double worst = 0;
	size_t worst_i = 0;
	const struct hist_lookup *worst_l = NULL;
	size_t stale = 0;
	for (size_t k = 0; k < nt; k++) {
		double until = k + 1 < nt ? tr[k + 1].t : INFINITY;
		const struct hist_lookup *last = NULL;
		for (size_t i = 0; i < nl; i++) {
			const struct hist_lookup *l = &ls[i];
			if (l->cls != HIST_CLASS_STALE || !match(fc, l->client) ||
			    !match(fs, l->stack) || l->t_done < tr[k].t || l->t_done >= until)
				continue;
			stale++;
			if (!last || l->t_done > last->t_done)
				last = l;
		}
		if (last && last->t_done - tr[k].t > worst) {
			worst = last->t_done - tr[k].t;
			worst_i = k;
			worst_l = last;
		}
	}
	r->observed = worst;
	snprintf(r->unit, sizeof r->unit, "s");
	say(r->detail, sizeof r->detail, "%zu stale answers after %zu publish/gate/down events",
	    stale, nt);
	if (worst_l && breaks(e, r->observed)) {
		moment(r, tr[worst_i].t, tr[worst_i].line, "%s", tr[worst_i].what);
		lookup_moment(h, r, worst_l, "last stale answer after it");
	}
	free(tr);
}

/* The first injection of a fault on backend (a resolver's name) in the window. */
static const struct hist_fault *injection(const struct hist *h, const struct expectation *e,
					  const char *target, double *heal_t)
{
	size_t nf;
	const struct hist_fault *fs = hist_faults(h, &nf);
	uint32_t id = hist_find(h, target);
	const struct hist_fault *inj = NULL;
	*heal_t = INFINITY;
	for (size_t i = 0; i < nf; i++) {
		if (fs[i].target != id || id == HIST_NONE)
			continue;
		if (!inj && fs[i].inject && in_window(e, fs[i].t))
			inj = &fs[i];
		else if (inj && !fs[i].inject && fs[i].id == inj->id) {
			*heal_t = fs[i].t;
			break;
		}
	}
	return inj;
}

/* ---- a kernel VIP (kind "nftables"): no route lines ---- */

/*
 * The kernel's DNAT writes no route line: its backends see the clients'
 * own queries, joined to their lookups. A query line at one of its backends
 * went through it when its lookup asked the VIP (the VIP's name is in the
 * lookup's target list).
 */
static bool via_kernel(const struct hist *h, const struct hist_vip *kv, const struct hist_query *q)
{
	const struct hist_lookup *l = q->lookup ? hist_lookup_by_id(h, q->lookup) : NULL;
	const char *list = l ? hist_str(h, l->target) : NULL, *name = hist_str(h, kv->vip);
	bool backend = false;
	for (size_t i = 0; i < kv->nbackends; i++)
		backend |= kv->backend[i] == q->resolver;
	if (!backend || !list || !name)
		return false;
	size_t n = strlen(name);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The kernel VIP the expectation names (vip = ...), or, without one, the first
 * whose backends include b; NULL when it is not about a kernel VIP. */
static const struct hist_vip *kernel_vip_of(const struct hist *h, const struct expectation *e,
					    uint32_t b)
{
	if (e->vip[0])
		return hist_kernel_vip(h, hist_find(h, e->vip));
	size_t nv;
	const struct hist_vip *vs = hist_vips(h, &nv);
	for (size_t i = 0; i < nv; i++)
		for (size_t k = 0; vs[i].kernel && k < vs[i].nbackends; k++)
			if (vs[i].backend[k] == b)
				return &vs[i];
	return NULL;
}

struct kq {
	uint32_t src;
	double t;
	size_t i; /* index in hist_queries */
};

static int cmp_kq(const void *a, const void *b)
{
	const struct kq *x = a, *y = b;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

/*
 * Which query lines at backend b opened a flow through kernel VIP kv: the
 * first from their source address and port, or the first after that source
 * was idle longer than conntrack's timeout (the `vip` line's flow_idle). A
 * flush re-routes a flow without a gap; if it lands on b again, that is not
 * seen as new. new_flow[i] for hist_queries' index i (caller's, zeroed).
 * 0, or -1 out of memory.
 */
static int kernel_new_flows(const struct hist *h, const struct hist_vip *kv, uint32_t b,
			    bool *new_flow)
{
	size_t nq, m = 0;
	const struct hist_query *qs = hist_queries(h, &nq);
	struct kq *v = malloc((nq ? nq : 1) * sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].resolver == b && via_kernel(h, kv, &qs[i]))
			v[m++] = (struct kq){ qs[i].src, qs[i].t, i };
	qsort(v, m, sizeof *v, cmp_kq);
	for (size_t k = 0; k < m; k++)
		new_flow[v[k].i] = k == 0 || v[k - 1].src != v[k].src ||
				   v[k].t - v[k - 1].t > kv->flow_idle;
	free(v);
	return 0;
}

/*
 * detection_time through a kernel VIP, derived from its backends' query
 * lines (kernel_new_flows) as m_detection does from route lines. A backend
 * whose port was closed after the fault (stopped, crashed) writes no line
 * for the flows the kernel still sends it: inconclusive.
 */
static void m_detection_kernel(const struct hist *h, const struct expectation *e,
			       struct expect_result *r, const struct hist_vip *kv,
			       const struct hist_fault *inj, double heal)
{
	size_t nq, nh, ns;
	const struct hist_query *qs = hist_queries(h, &nq);
	const struct hist_health *hs = hist_healths(h, &nh);
	const struct hist_state *ss = hist_states(h, &ns);
	uint32_t b = hist_find(h, e->backend), down_id = hist_find(h, "down");
	double end = fmin(heal, hist_last_t(h));
	for (size_t i = 0; i < ns; i++)
		if (ss[i].resolver == b && ss[i].state == down_id && ss[i].t >= inj->t &&
		    ss[i].t <= end)
			return inconclusive(r, "%s's port was closed at %.3f s, after its fault: the "
					       "flows the kernel VIP %s still sent it left no line",
					    e->backend, ss[i].t, hist_str(h, kv->vip));
	bool *nf = calloc(nq ? nq : 1, sizeof *nf);
	if (!nf || kernel_new_flows(h, kv, b, nf) != 0) {
		free(nf);
		return inconclusive(r, "out of memory");
	}
	size_t after = 0, to_b = 0;
	const struct hist_query *last_new = NULL;
	bool before = false;
	for (size_t i = 0; i < nq; i++) {
		if (!via_kernel(h, kv, &qs[i]))
			continue;
		if (qs[i].t < inj->t) {
			before |= qs[i].resolver == b;
			continue;
		}
		if (qs[i].t > end)
			continue;
		after++;
		if (qs[i].resolver == b && nf[i]) {
			to_b++;
			last_new = &qs[i];
		}
	}
	free(nf);
	if (after == 0)
		return inconclusive(r, "no query of a lookup through the kernel VIP %s reached its "
				       "backends after %s's fault at %.3f s: the fault never met "
				       "traffic", hist_str(h, kv->vip), e->backend, inj->t);
	if (!before)
		return inconclusive(r, "no query through the kernel VIP %s reached %s before its "
				       "fault at %.3f s: it was not in rotation, so there was nothing "
				       "to detect", hist_str(h, kv->vip), e->backend, inj->t);
	const struct hist_health *state = NULL;
	double down = INFINITY;
	for (size_t i = 0; i < nh; i++) {
		if (hs[i].backend != b || hs[i].vip != kv->vip || hs[i].event == HIST_H_PROBE ||
		    hs[i].event == HIST_H_OTHER)
			continue;
		if (hs[i].t < inj->t)
			state = &hs[i];
		else if (hs[i].event == HIST_H_DOWN && isinf(down))
			down = hs[i].t - inj->t;
	}
	if (state && (state->event == HIST_H_DOWN || state->event == HIST_H_REMOVED))
		return inconclusive(r, "%s was already out of the VIP when its fault began at %.3f s "
				       "(%s at %.3f s): there was nothing to detect",
				    e->backend, inj->t,
				    state->event == HIST_H_DOWN ? "marked down" : "removed", state->t);
	snprintf(r->unit, sizeof r->unit, "s");
	bool until_end = last_new && end - last_new->t < 0.05 * (end - inj->t) && isinf(down);
	r->observed = until_end ? INFINITY : last_new ? last_new->t - inj->t : 0;
	say(r->detail, sizeof r->detail,
	    "%s at %.3f s; %zu new flows to it afterwards (from its query lines: the kernel VIP "
	    "writes no route line), of %zu queries through the VIP; %s",
	    nz(h, inj->kind), inj->t, to_b, after, isinf(down) ? "never marked down" : "marked down");
	if (breaks(e, r->observed)) {
		moment(r, inj->t, inj->line, "%s injected on %s", nz(h, inj->kind), e->backend);
		if (last_new)
			moment(r, last_new->t, last_new->line, "a new flow still sent to %s",
			       e->backend);
	}
}

static void m_detection(const struct hist *h, const struct expectation *e,
			struct expect_result *r)
{
	char w[64];
	double heal;
	if (!e->backend[0])
		return inconclusive(r, "detection_time needs backend = ...");
	const struct hist_fault *inj = injection(h, e, e->backend, &heal);
	if (!inj)
		return inconclusive(r, "no fault was injected on %s in %s", e->backend,
				    window_text(e, w, sizeof w));
	size_t nr, nh;
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_health *hs = hist_healths(h, &nh);
	struct name_filter fv = filter(h, e->vip);
	uint32_t b = hist_find(h, e->backend);
	const struct hist_vip *kv = kernel_vip_of(h, e, b);
	if (kv)
		return m_detection_kernel(h, e, r, kv, inj, heal);
	double end = fmin(heal, hist_last_t(h));
	const struct hist_route *last_new = NULL;
	size_t after = 0, to_b = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct hist_route *x = &rs[i];
		if (!match(fv, x->vip) || x->t < inj->t || x->t > end || x->relay)
			continue;
		after++;
		if (x->backend == b && x->new_flow) {
			to_b++;
			last_new = x;
		}
	}
	/* A dnsdist VIP: its counters, read every poll: a poll that saw the backend's
	 * query count grow stands for the queries sent since the one before (up to a
	 * poll period earlier). Its time is the last_new's. */
	size_t nb;
	const struct hist_bstat *bs = hist_backend_stats(h, &nb);
	const struct hist_bstat *last_bs = NULL;
	bool before = false;
	for (size_t i = 0; i < nb; i++) {
		const struct hist_bstat *x = &bs[i];
		if (!match(fv, x->vip) || !x->new_queries || x->t > end)
			continue;
		if (x->t < inj->t) {
			before = before || x->backend == b;
			continue;
		}
		after++;
		if (x->backend == b) {
			to_b++;
			last_bs = x;
		}
	}
	if (after == 0)
		return inconclusive(r, "the VIP routed nothing after %s's fault at %.3f s: the fault "
				       "never met traffic", e->backend, inj->t);
	/* Out of rotation when the fault began: there was nothing to detect. */
	const struct hist_health *state = NULL;
	for (size_t i = 0; i < nr && rs[i].t < inj->t && !before; i++)
		before = match(fv, rs[i].vip) && rs[i].backend == b;
	for (size_t i = 0; i < nh && hs[i].t < inj->t; i++)
		if (hs[i].backend == b && match(fv, hs[i].vip) && hs[i].event != HIST_H_PROBE &&
		    hs[i].event != HIST_H_OTHER)
			state = &hs[i];
	if (!before)
		return inconclusive(r, "the VIP sent %s nothing before its fault at %.3f s: it was "
				       "not in rotation, so there was nothing to detect",
				    e->backend, inj->t);
	if (state && (state->event == HIST_H_DOWN || state->event == HIST_H_REMOVED))
		return inconclusive(r, "%s was already out of the VIP when its fault began at %.3f s "
				       "(%s at %.3f s): there was nothing to detect",
				    e->backend, inj->t,
				    state->event == HIST_H_DOWN ? "marked down" : "removed", state->t);
	double down = INFINITY;
	for (size_t i = 0; i < nh; i++)
		if (hs[i].backend == b && match(fv, hs[i].vip) && hs[i].event == HIST_H_DOWN &&
		    hs[i].t >= inj->t) {
			down = hs[i].t - inj->t;
			break;
		}
	snprintf(r->unit, sizeof r->unit, "s");
	/* New flows still going to it when the fault healed (or the run ended): never detected. */
	double last_t = last_new ? last_new->t : -1;
	uint32_t last_line = last_new ? last_new->line : 0;
	if (last_bs && last_bs->t > last_t) {
		last_t = last_bs->t;
		last_line = last_bs->line;
	}
	bool until_end = last_t >= 0 && end - last_t < 0.05 * (end - inj->t) && isinf(down);
	r->observed = until_end ? INFINITY : last_t >= 0 ? last_t - inj->t : 0;
	if (isinf(down))
		say(r->detail, sizeof r->detail,
		    "%s at %.3f s; %zu new flows to it afterwards, of %zu routes; never marked down",
		    nz(h, inj->kind), inj->t, to_b, after);
	else
		say(r->detail, sizeof r->detail,
		    "%s at %.3f s; %zu new flows to it afterwards, of %zu routes; marked down %.3f s "
		    "after", nz(h, inj->kind), inj->t, to_b, after, down);
	if (breaks(e, r->observed)) {
		moment(r, inj->t, inj->line, "%s injected on %s", nz(h, inj->kind), e->backend);
		if (last_t >= 0)
			moment(r, last_t, last_line, last_bs && last_t == last_bs->t
							     ? "dnsdist still sent %s queries (a poll "
							       "saw its count grow)"
							     : "a new flow still sent to %s",
			       e->backend);
	}
}

static void m_failure_span(const struct hist *h, const struct expectation *e,
			   struct expect_result *r, const struct touch *T)
{
	char w[64];
	double heal;
	if (!e->backend[0])
		return inconclusive(r, "failure_span needs backend = ...");
	if (T->oom)
		return inconclusive(r, "out of memory");
	const struct hist_fault *inj = injection(h, e, e->backend, &heal);
	if (!inj)
		return inconclusive(r, "no fault was injected on %s in %s", e->backend,
				    window_text(e, w, sizeof w));
	uint32_t b = hist_find(h, e->backend);
	struct name_filter fv = filter(h, e->vip);
	size_t nr, nq;
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_query *qs = hist_queries(h, &nq);
	size_t nl;
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	const struct hist_lookup *last = NULL;
	size_t touched = 0, failed = 0, met = 0;
	for (size_t pass = 0; pass < 2; pass++) {
		size_t n = pass ? nq : nr;
		for (size_t i = 0; i < n; i++) {
			double t = pass ? qs[i].t : rs[i].t;
			uint64_t lid = pass ? qs[i].lookup : rs[i].lookup;
			uint32_t who = pass ? qs[i].resolver : rs[i].backend;
			/* Queries that met the fault: sent to it between injection and heal. */
			if (!lid || who != b || t < inj->t || t >= heal)
				continue;
			if (!pass && !match(fv, rs[i].vip))
				continue;
			const struct hist_lookup *l = hist_lookup_by_id(h, lid);
			if (!l)
				continue;
			touched++;
			if (!T->oom && T->lk_met[l - ls])
				met++;
			if (l->event == HIST_LK_FAIL || l->event == HIST_LK_TIMEOUT) {
				failed++;
				if (!last || l->t_done > last->t_done)
					last = l;
			}
		}
	}
	if (touched == 0) {
		size_t nb;
		const struct hist_bstat *bs = hist_backend_stats(h, &nb);
		for (size_t i = 0; i < nb; i++)
			if (bs[i].backend == b && match(fv, bs[i].vip) && bs[i].t >= inj->t)
				return inconclusive(r, "%s is a backend of dnsdist VIP %s, whose "
						       "queries cannot be joined to lookups (own "
						       "source address and ids): which lookups "
						       "reached it is unknown", e->backend,
						    nz(h, bs[i].vip));
		return inconclusive(r, "no lookup reached %s after its fault at %.3f s: the fault "
				       "never touched a lookup", e->backend, inj->t);
	}
	/* Lookups went there, but not one met a fault (the fault matched other names or
	 * types, or only the probes): "none failed" would measure nothing. */
	if (met == 0)
		return inconclusive(r, "%zu wire queries of lookups reached %s after its fault at "
				       "%.3f s, and none of those lookups met a fault", touched,
				    e->backend, inj->t);
	snprintf(r->unit, sizeof r->unit, "s");
	r->observed = last ? last->t_done - inj->t : 0;
	say(r->detail, sizeof r->detail, "%s at %.3f s; %zu wire queries of lookups reached it "
	    "after, %zu of them from lookups that failed", nz(h, inj->kind), inj->t, touched,
	    failed);
	if (breaks(e, r->observed) && last) {
		moment(r, inj->t, inj->line, "%s injected on %s", nz(h, inj->kind), e->backend);
		lookup_moment(h, r, last, "the last failed lookup through it");
	}
}

/*
 * What resolver res served just before line `line`, against what was
 * published: true when some zone is not the published version, with its
 * origin, the serial served and the serial published (for messages).
 */
static bool unpublished_before(const struct hist *h, uint32_t res, uint32_t line,
			       const char **zone, uint32_t *served, uint32_t *published)
{
	size_t nb, np, k = 0;
	const struct hist_boot *bs = hist_boots(h, &nb), *cur = NULL;
	const struct hist_publish *ps = hist_publishes(h, &np), *pub = NULL;
	struct published P = { 0 };
	bool yes = false;
	for (size_t i = 0; i < nb && bs[i].line < line; i++)
		if (bs[i].resolver == res)
			cur = &bs[i];
	for (size_t i = 0; i < np && ps[i].line < line; i++)
		if (published_set(&P, &ps[i]) != 0)
			goto out;
	if (serves_unpublished(cur, &P, &k, &pub)) {
		yes = true;
		*zone = nz(h, cur->zone[k]);
		*served = cur->serial[k];
		*published = pub->serial;
	}
out:
	free(P.v);
	return yes;
}

/* "serial 3, not the published 2", or, for a copy with the published serial, "serial 2 but not the published records". */
static const char *unpub_text(char *buf, size_t cap, uint32_t served, uint32_t published)
{
	if (served == published)
		say(buf, cap, "serial %u but not the published records", served);
	else
		say(buf, cap, "serial %u, not the published %u", served, published);
	return buf;
}

/*
 * readmission{ backend }: judged from routing and from health. It fails when
 * any query the VIP forwarded to the backend (clients' queries: the VIP
 * forwards no probe) reached it while it served a version that is not the
 * published one, or when the VIP marked it up at such a time, or when no
 * health check of it ran at all (nothing takes it out or puts it back).
 * Otherwise the value is, over every time it caught up in the window, the
 * longest wait from catching up until the VIP marked it up (0 when the VIP
 * never took it out).
 */
static void m_readmission(const struct hist *h, const struct expectation *e,
			  struct expect_result *r, const struct touch *T)
{
	char w[64], ut[64];
	if (!e->backend[0])
		return inconclusive(r, "readmission needs backend = ...");
	if (T->oom)
		return inconclusive(r, "out of memory");
	uint32_t b = hist_find(h, e->backend);
	const struct track *tr = track_find(T, b);
	struct name_filter fv = filter(h, e->vip);
	size_t nr, nh;
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_health *hs = hist_healths(h, &nh);
	const struct spans none = { 0 };
	const struct spans *unpub = tr ? &tr->unpub : &none;
	const char *zone = "?";
	uint32_t served = 0, pub = 0;
	snprintf(r->unit, sizeof r->unit, "s");

	/* Routed to it while it served an unpublished version. */
	size_t bad = 0;
	const struct hist_route *first = NULL;
	for (size_t i = 0; i < nr; i++) {
		const struct hist_route *x = &rs[i];
		if (x->backend != b || x->relay || !match(fv, x->vip) || !in_window(e, x->t) ||
		    !spans_at(unpub, x->t))
			continue;
		if (!first)
			first = x;
		bad++;
		if (r->nmoments < EXPECT_MOMENTS &&
		    unpublished_before(h, b, x->line, &zone, &served, &pub)) {
			const struct hist_lookup *l = x->lookup ? hist_lookup_by_id(h, x->lookup) : NULL;
			if (l)
				moment(r, x->t, x->line, "%s routed lookup %llu of %s to %s, which "
				       "served %s %s", nz(h, x->vip), (unsigned long long)l->id,
				       nz(h, l->client), e->backend, zone,
				       unpub_text(ut, sizeof ut, served, pub));
			else
				moment(r, x->t, x->line, "%s routed a query to %s, which served %s "
				       "%s", nz(h, x->vip), e->backend, zone,
				       unpub_text(ut, sizeof ut, served, pub));
		}
	}
	/* Through a kernel VIP: its backends' own query lines, joined (via_kernel). */
	size_t nq, nv;
	const struct hist_query *qs = hist_queries(h, &nq);
	const struct hist_vip *vs = hist_vips(h, &nv);
	const struct hist_query *kfirst = NULL;
	for (size_t i = 0; i < nq; i++) {
		const struct hist_query *q = &qs[i];
		if (q->resolver != b || !q->lookup || !in_window(e, q->t) || !spans_at(unpub, q->t))
			continue;
		const struct hist_vip *kv = NULL;
		for (size_t k = 0; k < nv && !kv; k++)
			if (vs[k].kernel && match(fv, vs[k].vip) && via_kernel(h, &vs[k], q))
				kv = &vs[k];
		if (!kv)
			continue;
		if (!kfirst)
			kfirst = q;
		bad++;
		const struct hist_lookup *l = hist_lookup_by_id(h, q->lookup);
		if (l && r->nmoments < EXPECT_MOMENTS &&
		    unpublished_before(h, b, q->line, &zone, &served, &pub))
			moment(r, q->t, q->line, "%s sent lookup %llu of %s to %s, which served %s %s",
			       nz(h, kv->vip), (unsigned long long)l->id, nz(h, l->client),
			       e->backend, zone, unpub_text(ut, sizeof ut, served, pub));
	}
	/* A dnsdist VIP: a poll whose count of the backend's queries grew while it was
	 * behind for the whole poll period before it. */
	size_t nb;
	const struct hist_bstat *bs = hist_backend_stats(h, &nb);
	for (size_t i = 0; i < nb && !bad; i++) {
		const struct hist_bstat *x = &bs[i];
		double poll = 0;
		if (x->backend != b || !match(fv, x->vip) || !x->new_queries ||
		    !in_window(e, x->t) || !hist_vip_dnsdist(h, x->vip, &poll) ||
		    !spans_at(unpub, x->t) || !spans_at(unpub, x->t - poll))
			continue;
		unpublished_before(h, b, x->line, &zone, &served, &pub);
		r->outcome = OUTCOME_FAIL;
		r->has_value = false;
		say(r->why, sizeof r->why, "dnsdist %s sent %llu quer%s to %s while it served %s %s",
		    nz(h, x->vip), (unsigned long long)x->new_queries, x->new_queries == 1 ? "y" : "ies",
		    e->backend, zone, unpub_text(ut, sizeof ut, served, pub));
		say(r->detail, sizeof r->detail, "%s", r->why);
		moment(r, x->t, x->line, "%s", r->why);
		return;
	}
	if (bad) {
		unpublished_before(h, b, first ? first->line : kfirst->line, &zone, &served, &pub);
		r->outcome = OUTCOME_FAIL;
		r->has_value = false;
		say(r->why, sizeof r->why, "%zu quer%s routed to %s while it served %s %s", bad,
		    bad == 1 ? "y" : "ies", e->backend, zone, unpub_text(ut, sizeof ut, served, pub));
		say(r->detail, sizeof r->detail, "%s", r->why);
		return;
	}

	/* Marked up while it served an unpublished version. */
	for (size_t i = 0; i < nh; i++) {
		const struct hist_health *x = &hs[i];
		if (x->backend != b || !match(fv, x->vip) || x->event != HIST_H_UP ||
		    !in_window(e, x->t) || !spans_at(unpub, x->t) ||
		    !unpublished_before(h, b, x->line, &zone, &served, &pub))
			continue;
		r->outcome = OUTCOME_FAIL;
		r->has_value = false;
		say(r->why, sizeof r->why, "admitted while it served %s %s", zone,
		    unpub_text(ut, sizeof ut, served, pub));
		say(r->detail, sizeof r->detail, "%s", r->why);
		moment(r, x->t, x->line, "%s admitted %s with %s", nz(h, x->vip), e->backend,
		       unpub_text(ut, sizeof ut, served, pub));
		return;
	}

	/* The times it was behind that meet the window. */
	bool behind = false;
	for (size_t i = 0; i < unpub->n && !behind; i++)
		behind = unpub->v[i].a < win_to(e) && unpub->v[i].b >= e->from;
	if (!behind)
		return inconclusive(r, "%s never served a version other than the published one in "
				       "%s: nothing to re-admit", e->backend,
				    window_text(e, w, sizeof w));

	size_t checks = 0;
	for (size_t i = 0; i < nh; i++)
		checks += hs[i].backend == b && match(fv, hs[i].vip) &&
			  (hs[i].event == HIST_H_PROBE || hs[i].event == HIST_H_UP ||
			   hs[i].event == HIST_H_DOWN);
	/* dnsdist checks without probe lines (its API does not give them). */
	if (checks == 0 && hist_dnsdist_checks(h, e->vip[0] ? hist_find(h, e->vip) : HIST_NONE, b))
		checks = 1;
	if (checks == 0) {
		r->outcome = OUTCOME_FAIL;
		r->has_value = false;
		say(r->why, sizeof r->why, "no health check of %s ran%s%s (none configured, or it "
		    "never fired): nothing takes a backend that is behind out, or puts it back",
		    e->backend, e->vip[0] ? " on " : "", e->vip);
		say(r->detail, sizeof r->detail, "%s was behind the published version, and no "
		    "health line names it", e->backend);
		return;
	}

	/* Each catch-up in the window: until the VIP marked it up. */
	double worst = -1, worst_caught = 0;
	const struct hist_health *worst_up = NULL;
	size_t caught = 0;
	for (size_t i = 0; i < unpub->n; i++) {
		double c = unpub->v[i].b;
		if (isinf(c) || !in_window(e, c))
			continue;
		caught++;
		/* The VIP's view of it when it caught up, and its next up line. */
		int state = -1; /* -1: no up/down line before: as configured (initial) */
		const struct hist_health *up = NULL;
		for (size_t k = 0; k < nh; k++) {
			const struct hist_health *x = &hs[k];
			if (x->backend != b || !match(fv, x->vip) ||
			    (x->event != HIST_H_UP && x->event != HIST_H_DOWN))
				continue;
			if (x->t < c)
				state = x->event == HIST_H_UP;
			else if (x->event == HIST_H_UP) {
				up = x;
				break;
			}
		}
		/* Unknown before: an up line later says it was down, else it was up. */
		bool up_then = state == 1 || (state < 0 && !up);
		double wait = up_then ? 0 : up ? up->t - c : INFINITY;
		if (wait > worst) {
			worst = wait;
			worst_caught = c;
			worst_up = up_then ? NULL : up;
		}
	}
	if (caught == 0)
		return inconclusive(r, "%s never caught up with the published version in %s",
				    e->backend, window_text(e, w, sizeof w));
	r->observed = worst;
	if (isinf(worst))
		say(r->detail, sizeof r->detail, "current again at %.3f s, never admitted after",
		    worst_caught);
	else if (!worst_up)
		say(r->detail, sizeof r->detail, "current again at %.3f s, and never taken out",
		    worst_caught);
	else
		say(r->detail, sizeof r->detail, "current again at %.3f s, admitted at %.3f s",
		    worst_caught, worst_up->t);
	if (breaks(e, r->observed) && worst_up)
		moment(r, worst_up->t, worst_up->line, "%s admitted %s", nz(h, worst_up->vip),
		       e->backend);
}

static uint8_t cause_of(const char *s)
{
	if (strcmp(s, "first") == 0)
		return HIST_CAUSE_FIRST;
	if (strcmp(s, "pair") == 0)
		return HIST_CAUSE_PAIR;
	if (strcmp(s, "search") == 0)
		return HIST_CAUSE_SEARCH;
	if (strcmp(s, "retry") == 0)
		return HIST_CAUSE_RETRY;
	return HIST_CAUSE_NONE;
}

/*
 * Query and route lines in the window the join marked ambiguous that could
 * be the expectation's: of its client, or of no client in particular.
 */
static size_t ambiguous_sends(const struct hist *h, const struct expectation *e)
{
	struct name_filter fc = filter(h, e->client);
	size_t nr, nq, n = 0;
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_query *qs = hist_queries(h, &nq);
	for (size_t i = 0; i < nr; i++)
		if (rs[i].ambiguous && in_window(e, rs[i].t) &&
		    (rs[i].client == HIST_NONE || match(fc, rs[i].client)))
			n++;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].ambiguous && in_window(e, qs[i].t) &&
		    (qs[i].client == HIST_NONE || match(fc, qs[i].client)))
			n++;
	return n;
}

static void m_amplification(const struct hist *h, const struct expectation *e,
			    struct expect_result *r)
{
	LOOKUP_FILTERS;
	size_t lookups = 0;
	uint64_t wire = 0;
	uint8_t cause = e->cause[0] ? cause_of(e->cause) : HIST_CAUSE_NONE;
	if (e->cause[0] && cause == HIST_CAUSE_NONE)
		return inconclusive(r, "unknown cause '%s' (first, pair, search, retry)", e->cause);
	const struct hist_lookup *via_dnsdist = NULL;
	for (size_t i = 0; i < nl; i++)
		if (LOOKUP_WANTED(&ls[i]) && completed(&ls[i])) {
			lookups++;
			if (!cause)
				wire += ls[i].wire;
			if (!via_dnsdist && hist_vip_dnsdist(h, ls[i].target, NULL))
				via_dnsdist = &ls[i];
		}
	char w[64];
	if (lookups == 0)
		return inconclusive(r, "no lookup completed in %s", window_text(e, w, sizeof w));
	/* dnsdist sends from its own address with its own ids: no wire query of a lookup
	 * through it is joined, and 0 would pass any at_most. */
	if (via_dnsdist)
		return inconclusive(r, "lookups of %s went through dnsdist VIP %s, whose queries "
				       "cannot be joined to lookups (own source address and ids): "
				       "their wire queries are not counted",
				    nz(h, via_dnsdist->client), nz(h, via_dnsdist->target));
	if (cause) {
		size_t nr, nq;
		const struct hist_route *rs = hist_routes(h, &nr);
		const struct hist_query *qs = hist_queries(h, &nq);
		for (size_t pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < (pass ? nq : nr); i++) {
				uint64_t lid = pass ? qs[i].lookup : rs[i].lookup;
				uint8_t c = pass ? qs[i].cause : rs[i].cause;
				if (!lid || c != cause)
					continue;
				const struct hist_lookup *l = hist_lookup_by_id(h, lid);
				if (l && LOOKUP_WANTED(l) && completed(l))
					wire++;
			}
	}
	r->observed = (double)wire / (double)lookups;
	snprintf(r->unit, sizeof r->unit, "x");
	size_t amb = ambiguous_sends(h, e);
	say(r->detail, sizeof r->detail, "%llu wire queries%s%s for %zu lookups in %s%s",
	    (unsigned long long)wire, cause ? " of cause " : "", cause ? e->cause : "", lookups,
	    window_text(e, w, sizeof w), amb ? "; ambiguous queries not counted" : "");
	if (!amb)
		return;
	/* Queries the join could not give to one lookup (docs/history.md, "The
	 * join") may belong to these lookups: the truth lies between the two. */
	double hi = (double)(wire + amb) / (double)lookups;
	if (breaks(e, r->observed) != breaks(e, hi))
		inconclusive(r, "%zu wire queries in %s could not be told apart between lookups "
			     "(join: ambiguous): the amplification is between %.3f and %.3f x",
			     amb, window_text(e, w, sizeof w), r->observed, hi);
}

static void m_survivor_load(const struct hist *h, const struct expectation *e,
			    struct expect_result *r)
{
	if (!e->resolver[0])
		return inconclusive(r, "survivor_load needs resolver = ...");
	uint32_t res = hist_find(h, e->resolver);
	size_t nf, nq;
	const struct hist_fault *fs = hist_faults(h, &nf);
	const struct hist_query *qs = hist_queries(h, &nq);
	double qps = 0;
	for (size_t i = 0; i < nf; i++)
		if (fs[i].target == res && fs[i].inject && fs[i].qps > 0 && fs[i].t < win_to(e))
			qps = fs[i].qps;
	if (qps <= 0)
		return inconclusive(r, "%s has no capacity limit (r:capacity) before the window ends",
				    e->resolver);
	double from = e->from, to = fmin(win_to(e), hist_last_t(h));
	double width = e->bucket > 0 ? e->bucket : 1;
	double buckets = to > from ? ceil((to - from) / width) : 0;
	char w[64];
	if (buckets > BUCKETS_MAX)
		return inconclusive(r, "%s holds more than %d buckets of %g s",
				    window_text(e, w, sizeof w), BUCKETS_MAX, width);
	size_t nbk = (size_t)buckets;
	if (nbk == 0)
		return inconclusive(r, "empty window %s", window_text(e, w, sizeof w));
	uint32_t *count = calloc(nbk, sizeof *count);
	if (!count)
		return inconclusive(r, "out of memory");
	size_t total = 0, of_clients = 0;
	bool untied = false;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].resolver == res && qs[i].t >= from && qs[i].t < to) {
			size_t k = (size_t)((qs[i].t - from) / width);
			if (k < nbk) {
				count[k]++;
				total++;
				if (qs[i].lookup || qs[i].client != HIST_NONE || qs[i].ambiguous)
					of_clients++;
				else
					untied = true;
			}
		}
	/* A VIP's forwarded queries are tied to their lookups through its route lines. */
	if (total && !of_clients && untied) {
		uint64_t *via = calloc(nq, sizeof *via);
		if (!via || hist_hop_lookups(h, via) != 0) {
			free(via);
			free(count);
			return inconclusive(r, "out of memory");
		}
		for (size_t i = 0; i < nq; i++)
			of_clients += via[i] && qs[i].resolver == res && qs[i].t >= from &&
				      qs[i].t < to;
		free(via);
	}
	size_t peak = 0;
	for (size_t k = 1; k < nbk; k++)
		if (count[k] > count[peak])
			peak = k;
	double peak_qps = count[peak] / width;
	free(count);
	if (total == 0)
		return inconclusive(r, "no query reached %s in %s", e->resolver,
				    window_text(e, w, sizeof w));
	if (of_clients == 0)
		return inconclusive(r, "no client's query reached %s in %s (its %zu queries were "
				       "health probes and the like): its load says nothing of the "
				       "clients'",
				    e->resolver, window_text(e, w, sizeof w), total);
	r->observed = peak_qps / qps;
	snprintf(r->unit, sizeof r->unit, "x");
	say(r->detail, sizeof r->detail, "peak %.0f queries/s at %s (%g s from %.3f s) against a "
	    "capacity of %.0f/s; %zu queries in %s", peak_qps, e->resolver, width,
	    from + (double)peak * width, qps, total, window_text(e, w, sizeof w));
}

/* ok lookups completed per bucket in [from, to). */
static double *goodput_series(const struct hist *h, const struct expectation *e, double from,
			      double to, double width, size_t *nbk)
{
	LOOKUP_FILTERS;
	double buckets = to > from ? ceil((to - from) / width) : 0;
	*nbk = buckets > BUCKETS_MAX ? 0 : (size_t)buckets; /* too many: nothing measured */
	if (*nbk == 0)
		return NULL;
	double *g = calloc(*nbk, sizeof *g);
	if (!g)
		return NULL;
	for (size_t i = 0; i < nl; i++) {
		const struct hist_lookup *l = &ls[i];
		if (l->event != HIST_LK_OK || !match(fc, l->client) || !match(fs, l->stack) ||
		    l->t_done < from || l->t_done >= to)
			continue;
		size_t k = (size_t)((l->t_done - from) / width);
		if (k < *nbk)
			g[k] += 1.0 / width;
	}
	return g;
}

/* Lookups (matching the filters) invoked in [from, to). */
static size_t invoked_in(const struct hist *h, const struct expectation *e, double from, double to)
{
	LOOKUP_FILTERS;
	size_t n = 0;
	for (size_t i = 0; i < nl; i++)
		if (match(fc, ls[i].client) && match(fs, ls[i].stack) && ls[i].t_invoke >= from &&
		    ls[i].t_invoke < to)
			n++;
	return n;
}

static void m_goodput(const struct hist *h, const struct expectation *e, struct expect_result *r)
{
	LOOKUP_FILTERS;
	double to = fmin(win_to(e), hist_last_t(h));
	size_t invoked = 0, ok = 0;
	for (size_t i = 0; i < nl; i++) {
		if (!match(fc, ls[i].client) || !match(fs, ls[i].stack))
			continue;
		invoked += ls[i].t_invoke >= e->from && ls[i].t_invoke < to;
		ok += ls[i].event == HIST_LK_OK && ls[i].t_done >= e->from && ls[i].t_done < to;
	}
	char w[64];
	if (invoked == 0 || to <= e->from)
		return inconclusive(r, "no lookup was invoked in %s", window_text(e, w, sizeof w));
	r->observed = (double)ok / (to - e->from);
	snprintf(r->unit, sizeof r->unit, "/s");
	say(r->detail, sizeof r->detail, "%zu ok lookups in %.3f s (%zu invoked)", ok,
	    to - e->from, invoked);
}

static void m_recovery(const struct hist *h, const struct expectation *e,
		       struct expect_result *r)
{
	double width = e->bucket > 0 ? e->bucket : 1;
	double bfrom = e->baseline_from >= 0 ? e->baseline_from : 0;
	double bto = e->baseline_to >= 0 ? e->baseline_to : e->from;
	char w[64];
	if (bto <= bfrom)
		return inconclusive(r, "recovery needs a baseline window before 'from' (baseline = "
				       "{ from, to })");
	size_t nb;
	double *base = goodput_series(h, e, bfrom, bto, bto - bfrom, &nb);
	double baseline = base && nb ? base[0] : 0;
	free(base);
	if (baseline <= 0)
		return inconclusive(r, "no goodput in the baseline [%g s, %g s)", bfrom, bto);
	double to = fmin(win_to(e), hist_last_t(h));
	if (to <= e->from) /* the window starts after the run: nothing to recover in */
		return inconclusive(r, "empty window %s", window_text(e, w, sizeof w));
	/* No load after the trigger: recovery was never tried, which is no "never". */
	if (invoked_in(h, e, e->from, to) == 0)
		return inconclusive(r, "no lookup was invoked in %s: recovery was never tried",
				    window_text(e, w, sizeof w));
	size_t n;
	double *g = goodput_series(h, e, e->from, to, width, &n);
	if (!g) /* too many buckets, or out of memory: not measured, not "never" */
		return inconclusive(r, "cannot measure %s in buckets of %g s",
				    window_text(e, w, sizeof w), width);
	double target = e->fraction * baseline;
	r->observed = INFINITY;
	for (size_t k = 0; g && k < n; k++)
		if (g[k] >= target) {
			r->observed = (double)k * width;
			break;
		}
	free(g);
	snprintf(r->unit, sizeof r->unit, "s");
	if (isinf(r->observed))
		say(r->detail, sizeof r->detail, "baseline %.1f ok/s in [%g s, %g s); never back to "
		    "%.0f%% of it in %s: a metastable failure", baseline, bfrom, bto,
		    e->fraction * 100, window_text(e, w, sizeof w));
	else
		say(r->detail, sizeof r->detail, "baseline %.1f ok/s in [%g s, %g s); back to %.0f%% "
		    "of it in the %g s bucket starting at %.3f s", baseline, bfrom, bto,
		    e->fraction * 100, width, e->from + r->observed);
}

static void m_flaps(const struct hist *h, const struct expectation *e, struct expect_result *r)
{
	size_t nh;
	const struct hist_health *hs = hist_healths(h, &nh);
	struct name_filter fb = filter(h, e->backend), fv = filter(h, e->vip);
	double to = fmin(win_to(e), hist_last_t(h));
	size_t changes = 0, probes = 0;
	const struct hist_health *first[EXPECT_MOMENTS];
	size_t nfirst = 0;
	for (size_t i = 0; i < nh; i++) {
		const struct hist_health *x = &hs[i];
		if (!match(fb, x->backend) || !match(fv, x->vip) || x->t < e->from || x->t >= to)
			continue;
		if (x->event == HIST_H_PROBE)
			probes++;
		if (x->event == HIST_H_UP || x->event == HIST_H_DOWN) {
			changes++;
			if (nfirst < EXPECT_MOMENTS)
				first[nfirst++] = x;
		}
	}
	char w[64];
	/* A dnsdist VIP's checks run without probe lines: one that checks the backend
	 * named (or any of its backends) counts as probing. */
	bool dnsdist = false;
	if (probes == 0 && (e->backend[0] || e->vip[0])) {
		uint32_t vid = e->vip[0] ? hist_find(h, e->vip) : HIST_NONE;
		if (e->backend[0]) {
			dnsdist = hist_dnsdist_checks(h, vid, hist_find(h, e->backend));
		} else {
			size_t nb;
			const struct hist_bstat *bs = hist_backend_stats(h, &nb);
			for (size_t i = 0; i < nb && !dnsdist; i++)
				dnsdist = bs[i].vip == vid && hist_dnsdist_checks(h, vid, bs[i].backend);
		}
	}
	if ((probes == 0 && !dnsdist) || to <= e->from)
		return inconclusive(r, "no health probe in %s", window_text(e, w, sizeof w));
	r->observed = (double)changes / ((to - e->from) / 60.0);
	snprintf(r->unit, sizeof r->unit, "/min");
	if (dnsdist)
		say(r->detail, sizeof r->detail, "%zu up/down changes in %.3f s (dnsdist's checks, "
		    "not read back)", changes, to - e->from);
	else
		say(r->detail, sizeof r->detail, "%zu up/down changes over %zu probes in %.3f s",
		    changes, probes, to - e->from);
	if (breaks(e, r->observed))
		for (size_t i = 0; i < nfirst; i++)
			moment(r, first[i]->t, first[i]->line, "%s: %s %s (%s)",
			       nz(h, first[i]->vip), nz(h, first[i]->backend),
			       first[i]->event == HIST_H_UP ? "up" : "down",
			       hist_str(h, first[i]->reason) ? hist_str(h, first[i]->reason) : "");
}

/* Does the history know this name in that role (a client that looked up, a backend routed to...)? */
static bool known_as(const struct hist *h, const char *role, uint32_t id)
{
	size_t n;
	if (strcmp(role, "client") == 0 || strcmp(role, "stack") == 0) {
		const struct hist_lookup *ls = hist_lookups(h, &n);
		bool client = role[0] == 'c';
		for (size_t i = 0; i < n; i++)
			if ((client ? ls[i].client : ls[i].stack) == id)
				return true;
		return false;
	}
	if (strcmp(role, "vip") == 0 || strcmp(role, "backend") == 0) {
		bool vip = role[0] == 'v';
		const struct hist_route *rs = hist_routes(h, &n);
		for (size_t i = 0; i < n; i++)
			if ((vip ? rs[i].vip : rs[i].backend) == id)
				return true;
		const struct hist_health *hs = hist_healths(h, &n);
		for (size_t i = 0; i < n; i++)
			if ((vip ? hs[i].vip : hs[i].backend) == id)
				return true;
		const struct hist_vip *vs = hist_vips(h, &n);
		for (size_t i = 0; i < n; i++) {
			if (vip && vs[i].vip == id)
				return true;
			for (size_t k = 0; !vip && k < vs[i].nbackends; k++)
				if (vs[i].backend[k] == id)
					return true;
		}
		if (vip)
			return false;
	}
	/* a resolver (or a backend that is one): anything it did or had done to it */
	const struct hist_state *ss = hist_states(h, &n);
	for (size_t i = 0; i < n; i++)
		if (ss[i].resolver == id)
			return true;
	const struct hist_fault *fs = hist_faults(h, &n);
	for (size_t i = 0; i < n; i++)
		if (fs[i].target == id)
			return true;
	const struct hist_boot *bs = hist_boots(h, &n);
	for (size_t i = 0; i < n; i++)
		if (bs[i].resolver == id)
			return true;
	const struct hist_query *qs = hist_queries(h, &n);
	for (size_t i = 0; i < n; i++)
		if (qs[i].resolver == id)
			return true;
	return false;
}

/* A name the expectation filters on that the history never mentions in that role: say so. */
static bool unknown_name(const struct hist *h, const struct expectation *e,
			 struct expect_result *r)
{
	const struct {
		const char *what, *value;
	} names[] = {
		{ "client", e->client },   { "stack", e->stack },	  { "vip", e->vip },
		{ "backend", e->backend }, { "resolver", e->resolver },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!names[i].value[0])
			continue;
		uint32_t id = hist_find(h, names[i].value);
		if (id == HIST_NONE || !known_as(h, names[i].what, id)) {
			inconclusive(r, "no %s named '%s' in the history", names[i].what,
				     names[i].value);
			return true;
		}
	}
	return false;
}

/* The metrics over lookups: a pass of theirs needs a lookup that met a fault. */
static bool over_lookups(enum expect_metric m)
{
	switch (m) {
	case EXPECT_SUCCESS_RATE:
	case EXPECT_LATENCY:
	case EXPECT_STALE:
	case EXPECT_WRONG:
	case EXPECT_STALE_STRETCH:
	case EXPECT_AMPLIFICATION:
	case EXPECT_GOODPUT:
	case EXPECT_RECOVERY:
		return true;
	default:
		return false;
	}
}

bool expect_over_lookups(enum expect_metric m)
{
	return over_lookups(m);
}

/*
 * Did a lookup the expectation measures meet a fault? Its lookups are those
 * of its client and stack: completed and invoked in the window (success_rate,
 * latency, stale_answers, wrong_answers, amplification); invoked in the
 * window (goodput); completed at or after `from` (stale_stretch: stale answers
 * after a trigger count until the end); invoked from the baseline's start to
 * the window's end (recovery: the fault comes before `from`).
 */
static bool any_met(const struct hist *h, const struct expectation *e, const struct touch *T)
{
	LOOKUP_FILTERS;
	for (size_t i = 0; i < nl; i++) {
		const struct hist_lookup *l = &ls[i];
		if (!T->lk_met[i] || !match(fc, l->client) || !match(fs, l->stack))
			continue;
		bool in;
		switch (e->metric) {
		case EXPECT_GOODPUT:
			in = in_window(e, l->t_invoke);
			break;
		case EXPECT_STALE_STRETCH:
			in = completed(l) && l->t_done >= e->from;
			break;
		case EXPECT_RECOVERY:
			in = l->t_invoke >= (e->baseline_from >= 0 ? e->baseline_from : 0) &&
			     l->t_invoke < win_to(e);
			break;
		default:
			in = completed(l) && in_window(e, l->t_invoke);
			break;
		}
		if (in)
			return true;
	}
	return false;
}

/*
 * Could a lookup the stale measure counts have been stale at all? Not when
 * every zone version the run knew answers its name as the published one does
 * (re-derived: hist_lookup.stale_possible); a lookup not worked out counts as
 * could. On no, *names gets the first few names asked, for the message.
 */
static bool any_could_be_stale(const struct hist *h, const struct expectation *e, char *names,
                               size_t cap)
{
	LOOKUP_FILTERS;
	size_t len = 0;
	names[0] = '\0';
	for (size_t i = 0; i < nl; i++) {
		const struct hist_lookup *l = &ls[i];
		if (!match(fc, l->client) || !match(fs, l->stack) || !completed(l))
			continue;
		if (e->metric == EXPECT_STALE_STRETCH ? l->t_done < e->from
		                                      : !in_window(e, l->t_invoke))
			continue;
		if (l->stale_possible != HIST_SP_NO)
			return true;
		const char *n = hist_str(h, l->name);
		if (n && len < cap && !strstr(names, n)) {
			int k = snprintf(names + len, cap - len, "%s%s", len ? ", " : "", n);
			len += k > 0 ? (size_t)k : 0;
		}
	}
	return false;
}

static void eval(const struct hist *h, const struct expectation *e, struct expect_result *r,
		 const struct touch *T)
{
	memset(r, 0, sizeof *r);
	r->has_value = true;
	if (unknown_name(h, e, r))
		return;
	switch (e->metric) {
	case EXPECT_SUCCESS_RATE:
		m_success_rate(h, e, r);
		break;
	case EXPECT_LATENCY:
		m_latency(h, e, r);
		break;
	case EXPECT_STALE:
		m_class_count(h, e, r, HIST_CLASS_STALE);
		break;
	case EXPECT_WRONG:
		m_class_count(h, e, r, HIST_CLASS_WRONG);
		break;
	case EXPECT_STALE_STRETCH:
		m_stale_stretch(h, e, r);
		break;
	case EXPECT_DETECTION:
		m_detection(h, e, r);
		break;
	case EXPECT_FAILURE_SPAN:
		m_failure_span(h, e, r, T);
		break;
	case EXPECT_READMISSION:
		m_readmission(h, e, r, T);
		break;
	case EXPECT_AMPLIFICATION:
		m_amplification(h, e, r);
		break;
	case EXPECT_SURVIVOR_LOAD:
		m_survivor_load(h, e, r);
		break;
	case EXPECT_GOODPUT:
		m_goodput(h, e, r);
		break;
	case EXPECT_RECOVERY:
		m_recovery(h, e, r);
		break;
	case EXPECT_FLAPS:
		m_flaps(h, e, r);
		break;
	case EXPECT_CUSTOM:
		if (!e->custom) {
			inconclusive(r, "no function");
			break;
		}
		if (e->custom(e->custom_arg, h, e, &r->observed, r->why, sizeof r->why) != 0) {
			r->outcome = OUTCOME_INCONCLUSIVE;
			r->has_value = false;
		}
		break;
	case EXPECT_METRICS:
		inconclusive(r, "unknown metric");
		break;
	}
	if (r->outcome == OUTCOME_INCONCLUSIVE || !r->has_value || r->outcome == OUTCOME_FAIL)
		return;
	if (isnan(r->observed)) {
		inconclusive(r, "the measure is not a number");
		return;
	}
	if (e->metric == EXPECT_CUSTOM && isinf(r->observed)) {
		inconclusive(r, "the check function returned an infinite number");
		return;
	}
	r->outcome = breaks(e, r->observed) ? OUTCOME_FAIL : OUTCOME_PASS;
	/* A pass over lookups none of which met a fault of the run proves nothing.
	 * A failure stands: the lookups it counted show the system broken anyway. */
	if (r->outcome == OUTCOME_PASS && over_lookups(e->metric) && !e->baseline &&
	    (T->oom || T->injected > 0) && (T->oom || !any_met(h, e, T))) {
		char w[64];
		if (T->oom)
			inconclusive(r, "out of memory while finding the lookups that met a fault");
		else
			inconclusive(r, "no lookup%s%s met a fault in %s (a measure without faults "
					"says baseline = true)", e->client[0] ? " of " : "", e->client,
				     e->metric == EXPECT_RECOVERY ? "the baseline and the window"
								  : window_text(e, w, sizeof w));
		return;
	}
	/* The same for "no stale answers" over names every known version answers
	 * alike: it could not have failed. In the guard's scope above (faults
	 * injected, no baseline): a run without faults says so in its verdict. */
	char names[160];
	if (r->outcome == OUTCOME_PASS &&
	    (e->metric == EXPECT_STALE || e->metric == EXPECT_STALE_STRETCH) && !e->baseline &&
	    T->injected > 0 && !any_could_be_stale(h, e, names, sizeof names)) {
		char w[64];
		inconclusive(r,
		             "no lookup%s%s in %s could have got a stale answer: every zone "
		             "version the run knew answers %s as the published one does",
		             e->client[0] ? " of " : "", e->client, window_text(e, w, sizeof w),
		             names[0] ? names : "its names");
		return;
	}
	if (r->outcome == OUTCOME_FAIL && !r->why[0]) {
		char v[64], b[64];
		expect_format_value(r, v, sizeof v);
		expect_format_bound(e, r, b, sizeof b);
		say(r->why, sizeof r->why, "observed %s, expected %s", v, b);
	}
}

void checker_eval(const struct hist *h, const struct expectation *e, struct expect_result *r)
{
	struct touch T;
	touch_compute(h, &T);
	eval(h, e, r, &T);
	touch_free(&T);
}

/* ---- the verdict ---- */

/*
 * A VIP that could not relay a stopped backend's port unreachable (no raw
 * socket: a `refused-noicmp` route line, whose for_lookup names the lookup
 * of the query) left its client in silence where DNAT would have told it at
 * once. An expectation over lookups (its client, stack and window) that
 * include one of those measured the harness, not the system: inconclusive,
 * whatever it measured.
 */
static void unrelayed_refusals(const struct hist *h, const struct expectation *e,
			       struct expect_result *r)
{
	uint32_t noicmp = hist_find(h, "refused-noicmp");
	if (noicmp == HIST_NONE || r->outcome == OUTCOME_INCONCLUSIVE)
		return;
	struct name_filter fc = filter(h, e->client), fs = filter(h, e->stack);
	size_t nr, met = 0;
	const struct hist_route *rs = hist_routes(h, &nr);
	for (size_t i = 0; i < nr; i++) {
		if (rs[i].action != noicmp)
			continue;
		uint64_t id = rs[i].for_lookup;
		const struct hist_lookup *l = id ? hist_lookup_by_id(h, id) : NULL;
		if (l && LOOKUP_WANTED(l))
			met++;
	}
	if (met)
		inconclusive(r, "its lookups sent %zu quer%s to a stopped backend whose port "
			     "unreachable the VIP could not relay (no raw socket: run as root or "
			     "with CAP_NET_RAW): they saw silence",
			     met, met == 1 ? "y" : "ies");
}

/*
 * A failure measured across a stall of the harness itself (its loop, or the
 * whole process, held up STALL_MIN_S or more: a stall line) is the
 * harness's, not the system's: the VIP, the resolvers and the clocks of
 * the lookups in flight all stood still. Such a FAIL is inconclusive, and
 * says so; a pass stays a pass (a stall cannot make a broken system look
 * healthy: it only adds latency and timeouts).
 */
#define STALL_MIN_S 1.0
static void harness_stalls(const struct hist *h, const struct expectation *e,
			   struct expect_result *r)
{
	size_t n;
	const struct hist_stall *st = hist_stalls(h, &n);
	if (r->outcome != OUTCOME_FAIL)
		return;
	for (size_t i = 0; i < n; i++) {
		double held = st[i].held_ms / 1000.0;
		if (held < STALL_MIN_S || st[i].t < e->from || st[i].from > win_to(e))
			continue;
		char value[64];
		expect_format_value(r, value, sizeof value);
		inconclusive(r, "observed %s, but the harness itself stalled %.2f s from %.3f s "
				"(history line %u) inside the window: its VIP, resolvers and clients "
				"stood still, so the failure is the harness's, not the system's",
			     value, held, st[i].from, st[i].line);
		return;
	}
}

/*
 * The measures that read query lines, and whose query lines a remote daemon
 * may have lost (a `lost` line: its events came faster than the run read
 * them). Lost lines can move such a measure either way (fewer queries
 * joined, a last query unseen), so a pass is no more trusted than a failure:
 * both are inconclusive when the loss falls in the window, and on the
 * backend or resolver the measure is about, when it names one. A measure of
 * lookups alone (success_rate, latency, ...) reads lookup lines: a loss can
 * only hide that a lookup met a fault, which makes it inconclusive by itself
 * ("none met a fault"), never a wrong pass.
 */
static bool reads_queries(enum expect_metric m)
{
	switch (m) {
	case EXPECT_DETECTION:
	case EXPECT_FAILURE_SPAN:
	case EXPECT_READMISSION:
	case EXPECT_AMPLIFICATION:
	case EXPECT_SURVIVOR_LOAD:
	case EXPECT_CUSTOM:
		return true;
	default:
		return false;
	}
}

static void remote_losses(const struct hist *h, const struct expectation *e,
                          struct expect_result *r)
{
	size_t n;
	const struct hist_lost *ls = hist_losts(h, &n);
	if (r->outcome == OUTCOME_INCONCLUSIVE || !reads_queries(e->metric))
		return;
	const char *about = e->metric == EXPECT_SURVIVOR_LOAD ? e->resolver : e->backend;
	for (size_t i = 0; i < n; i++) {
		const char *target = nz(h, ls[i].target);
		if (ls[i].to < e->from || ls[i].from > win_to(e))
			continue;
		if (about[0] && strcmp(about, target) != 0)
			continue;
		char value[64];
		expect_format_value(r, value, sizeof value);
		inconclusive(r,
		             "observed %s, but the remote daemon %s lost %llu of its query "
		             "events from %.3f s to %.3f s (history line %u), which this measure "
		             "reads",
		             value, target, (unsigned long long)ls[i].queries, ls[i].from, ls[i].to,
		             ls[i].line);
		return;
	}
}

void checker_verdict(const struct hist *h, const struct expectation *e, size_t n,
		     struct expect_result *results, struct verdict_info *out)
{
	struct touch T;
	memset(out, 0, sizeof *out);
	touch_compute(h, &T);
	for (size_t i = 0; i < n; i++) {
		eval(h, &e[i], &results[i], &T);
		unrelayed_refusals(h, &e[i], &results[i]);
		harness_stalls(h, &e[i], &results[i]);
		remote_losses(h, &e[i], &results[i]);
		switch (results[i].outcome) {
		case OUTCOME_PASS:
			out->passed++;
			break;
		case OUTCOME_FAIL:
			out->failed++;
			break;
		case OUTCOME_INCONCLUSIVE:
			out->inconclusive++;
			break;
		}
	}
	const char *end = hist_end_reason(h);
	bool completed_run = end && strcmp(end, "duration") == 0;
	if (n == 0 && completed_run) {
		out->verdict = VERDICT_NONE;
		touch_free(&T);
		return;
	}
	size_t nf;
	const struct hist_fault *fs = hist_faults(h, &nf);
	out->no_faults = T.injected == 0 && !T.oom;
	for (size_t i = 0; i < nf; i++) {
		if (!fs[i].inject || (!T.oom && T.fault_met[i]))
			continue;
		if (out->nuntouched < sizeof out->untouched / sizeof out->untouched[0])
			say(out->untouched[out->nuntouched], sizeof out->untouched[0],
			    "%s on %s (fault %u) at %.3f s", nz(h, fs[i].kind),
			    nz(h, fs[i].target), fs[i].id, fs[i].t);
		out->nuntouched++;
	}
	touch_free(&T);
	if (!completed_run) {
		out->verdict = VERDICT_INCONCLUSIVE;
		say(out->why, sizeof out->why, "the run did not complete (%s%s%s)",
		    end ? end : "no end line: killed or crashed", hist_end_error(h) ? ": " : "",
		    hist_end_error(h) ? hist_end_error(h) : "");
	} else if (out->failed) {
		out->verdict = VERDICT_FAIL;
		say(out->why, sizeof out->why, "%zu of %zu expectations failed", out->failed, n);
	} else if (out->inconclusive || out->nuntouched) {
		out->verdict = VERDICT_INCONCLUSIVE;
		if (out->nuntouched)
			say(out->why, sizeof out->why, "%zu injected fault(s) never touched the system "
			    "(no client's lookup met them): %s%s", out->nuntouched, out->untouched[0],
			    out->nuntouched > 1 ? ", ..." : "");
		else
			say(out->why, sizeof out->why, "%zu of %zu expectations could not be measured",
			    out->inconclusive, n);
	} else {
		out->verdict = VERDICT_PASS;
	}
	size_t nlost;
	const struct hist_lost *lost = hist_losts(h, &nlost);
	if (out->nuntouched && nlost) {
		/* Untouched by what the history shows: the lost lines may have shown otherwise. */
		size_t len = strlen(out->why);
		say(out->why + len, sizeof out->why - len,
		    "; the remote daemon %s lost %llu query "
		    "events (history line %u): a lookup may have met them unseen",
		    nz(h, lost[0].target), (unsigned long long)lost[0].queries, lost[0].line);
	}
	if (out->no_faults) {
		size_t len = strlen(out->why);
		say(out->why + len, sizeof out->why - len, "%sno faults injected", len ? "; " : "");
	}
}

/* ---- formatting ---- */

static void num(double v, const char *unit, char *buf, size_t cap)
{
	if (!isfinite(v)) {
		/* What it waits for never happened; nothing else may read as a number. */
		snprintf(buf, cap, "%s", isinf(v) && v > 0 ? "never" : "-");
		return;
	}
	double a = fabs(v);
	int prec = a == floor(a) && a < 1e15 ? 0 : a >= 100 ? 1 : a >= 1 ? 3 : 4;
	char digits[48];
	if (a >= 1e15)
		snprintf(digits, sizeof digits, "%g", v);
	else
		snprintf(digits, sizeof digits, "%.*f", prec, v);
	/* 0.9900 reads as 0.99: trailing zeros of the fraction go. */
	if (strchr(digits, '.')) {
		size_t n = strlen(digits);
		while (n && digits[n - 1] == '0')
			digits[--n] = '\0';
		if (n && digits[n - 1] == '.')
			digits[--n] = '\0';
	}
	snprintf(buf, cap, "%s%s%s", digits, unit[0] ? " " : "", unit);
}

void expect_format_value(const struct expect_result *r, char *buf, size_t cap)
{
	if (!r->has_value) {
		snprintf(buf, cap, "-");
		return;
	}
	num(r->observed, r->unit, buf, cap);
}

void expect_format_bound(const struct expectation *e, const struct expect_result *r, char *buf,
			 size_t cap)
{
	char v[48];
	num(e->bound, r->unit, v, sizeof v);
	snprintf(buf, cap, "%s %s", e->op == EXPECT_AT_LEAST ? ">=" : "<=", v);
}
