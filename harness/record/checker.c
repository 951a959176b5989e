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
	double end = fmin(heal, hist_last_t(h));
	const struct hist_route *last_new = NULL;
	size_t after = 0, to_b = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct hist_route *x = &rs[i];
		if (!match(fv, x->vip) || x->t < inj->t || x->t > end)
			continue;
		after++;
		if (x->backend == b && x->new_flow) {
			to_b++;
			last_new = x;
		}
	}
	if (after == 0)
		return inconclusive(r, "the VIP routed nothing after %s's fault at %.3f s: the fault "
				       "never met traffic", e->backend, inj->t);
	double down = INFINITY;
	for (size_t i = 0; i < nh; i++)
		if (hs[i].backend == b && match(fv, hs[i].vip) && hs[i].event == HIST_H_DOWN &&
		    hs[i].t >= inj->t) {
			down = hs[i].t - inj->t;
			break;
		}
	snprintf(r->unit, sizeof r->unit, "s");
	/* New flows still going to it when the fault healed (or the run ended): never detected. */
	bool until_end = last_new && end - last_new->t < 0.05 * (end - inj->t) && isinf(down);
	r->observed = until_end ? INFINITY : last_new ? last_new->t - inj->t : 0;
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
		if (last_new)
			moment(r, last_new->t, last_new->line, "a new flow still sent to %s",
			       e->backend);
	}
}

static void m_failure_span(const struct hist *h, const struct expectation *e,
			   struct expect_result *r)
{
	char w[64];
	double heal;
	if (!e->backend[0])
		return inconclusive(r, "failure_span needs backend = ...");
	const struct hist_fault *inj = injection(h, e, e->backend, &heal);
	if (!inj)
		return inconclusive(r, "no fault was injected on %s in %s", e->backend,
				    window_text(e, w, sizeof w));
	uint32_t b = hist_find(h, e->backend);
	struct name_filter fv = filter(h, e->vip);
	size_t nr, nq;
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_query *qs = hist_queries(h, &nq);
	const struct hist_lookup *last = NULL;
	size_t touched = 0, failed = 0;
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
			if (l->event == HIST_LK_FAIL || l->event == HIST_LK_TIMEOUT) {
				failed++;
				if (!last || l->t_done > last->t_done)
					last = l;
			}
		}
	}
	if (touched == 0)
		return inconclusive(r, "no lookup reached %s after its fault at %.3f s: the fault "
				       "never touched a lookup", e->backend, inj->t);
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

/* A resolver's serial (first zone) and the published serial of that zone, over time. */
static void m_readmission(const struct hist *h, const struct expectation *e,
			  struct expect_result *r)
{
	if (!e->backend[0])
		return inconclusive(r, "readmission needs backend = ...");
	uint32_t b = hist_find(h, e->backend);
	struct name_filter fv = filter(h, e->vip);
	size_t nb, np, nh;
	const struct hist_boot *bs = hist_boots(h, &nb);
	const struct hist_publish *ps = hist_publishes(h, &np);
	const struct hist_health *hs = hist_healths(h, &nh);
	/* Walk the three streams in time order. */
	size_t ib = 0, ip = 0, ih = 0;
	int64_t serial = -1, published = -1;
	uint32_t zone = HIST_NONE;
	bool was_behind = false;
	double current_at = -1;
	const struct hist_health *admitted = NULL, *bad = NULL;
	int64_t bad_serial = 0, bad_pub = 0;
	while (ib < nb || ip < np || ih < nh) {
		double tb = ib < nb ? bs[ib].t : INFINITY, tp = ip < np ? ps[ip].t : INFINITY;
		double th = ih < nh ? hs[ih].t : INFINITY;
		if (tb <= tp && tb <= th) {
			if (bs[ib].resolver == b && bs[ib].nzones) {
				serial = bs[ib].serial[0];
				if (bs[ib].zone[0] != zone) {
					/* Publishes before its first boot were taken for any zone:
					 * the one that counts is the last of this zone. */
					zone = bs[ib].zone[0];
					published = -1;
					for (size_t k = ip; k-- > 0;)
						if (ps[k].zone == zone) {
							published = ps[k].serial;
							break;
						}
				}
			}
			ib++;
		} else if (tp <= th) {
			if (zone == HIST_NONE || ps[ip].zone == zone)
				published = ps[ip].serial;
			ip++;
		} else {
			const struct hist_health *x = &hs[ih++];
			if (x->backend == b && match(fv, x->vip) && x->event == HIST_H_UP &&
			    in_window(e, x->t)) {
				if (serial >= 0 && published >= 0 && serial < published && !bad) {
					bad = x;
					bad_serial = serial;
					bad_pub = published;
				} else if (was_behind && current_at >= 0 && !admitted) {
					admitted = x;
				}
			}
			continue;
		}
		bool behind = serial >= 0 && published >= 0 && serial < published;
		if (behind) {
			was_behind = true;
			current_at = -1;
		} else if (was_behind && current_at < 0 && serial >= 0) {
			current_at = fmax(tb <= tp ? tb : tp, 0);
		}
	}
	snprintf(r->unit, sizeof r->unit, "s");
	if (bad) {
		r->outcome = OUTCOME_FAIL;
		r->has_value = true;
		r->observed = -INFINITY;
		say(r->why, sizeof r->why, "admitted while its serial %lld was behind the published "
		    "%lld", (long long)bad_serial, (long long)bad_pub);
		say(r->detail, sizeof r->detail, "%s", r->why);
		moment(r, bad->t, bad->line, "%s admitted %s with serial %lld < published %lld",
		       nz(h, bad->vip), e->backend, (long long)bad_serial, (long long)bad_pub);
		return;
	}
	if (!was_behind)
		return inconclusive(r, "%s was never behind the published serial: nothing to "
				       "re-admit", e->backend);
	if (current_at < 0)
		return inconclusive(r, "%s never caught up with the published serial; it was never "
				       "admitted while behind", e->backend);
	r->observed = admitted ? admitted->t - current_at : INFINITY;
	say(r->detail, sizeof r->detail, "current again at %.3f s, admitted %s", current_at,
	    admitted ? "after" : "never");
	if (admitted)
		say(r->detail + strlen(r->detail), sizeof r->detail - strlen(r->detail),
		    " at %.3f s", admitted->t);
	if (breaks(e, r->observed) && admitted)
		moment(r, admitted->t, admitted->line, "%s admitted %s", nz(h, admitted->vip),
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

static void m_amplification(const struct hist *h, const struct expectation *e,
			    struct expect_result *r)
{
	LOOKUP_FILTERS;
	size_t lookups = 0;
	uint64_t wire = 0;
	uint8_t cause = e->cause[0] ? cause_of(e->cause) : HIST_CAUSE_NONE;
	if (e->cause[0] && cause == HIST_CAUSE_NONE)
		return inconclusive(r, "unknown cause '%s' (first, pair, search, retry)", e->cause);
	for (size_t i = 0; i < nl; i++)
		if (LOOKUP_WANTED(&ls[i]) && completed(&ls[i])) {
			lookups++;
			if (!cause)
				wire += ls[i].wire;
		}
	char w[64];
	if (lookups == 0)
		return inconclusive(r, "no lookup completed in %s", window_text(e, w, sizeof w));
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
	say(r->detail, sizeof r->detail, "%llu wire queries%s%s for %zu lookups in %s",
	    (unsigned long long)wire, cause ? " of cause " : "", cause ? e->cause : "", lookups,
	    window_text(e, w, sizeof w));
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
	size_t total = 0;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].resolver == res && qs[i].t >= from && qs[i].t < to) {
			size_t k = (size_t)((qs[i].t - from) / width);
			if (k < nbk) {
				count[k]++;
				total++;
			}
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
	if (probes == 0 || to <= e->from)
		return inconclusive(r, "no health probe in %s", window_text(e, w, sizeof w));
	r->observed = (double)changes / ((to - e->from) / 60.0);
	snprintf(r->unit, sizeof r->unit, "/min");
	say(r->detail, sizeof r->detail, "%zu up/down changes over %zu probes in %.3f s", changes,
	    probes, to - e->from);
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

void checker_eval(const struct hist *h, const struct expectation *e, struct expect_result *r)
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
		m_failure_span(h, e, r);
		break;
	case EXPECT_READMISSION:
		m_readmission(h, e, r);
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
	r->outcome = breaks(e, r->observed) ? OUTCOME_FAIL : OUTCOME_PASS;
	if (r->outcome == OUTCOME_FAIL && !r->why[0]) {
		char v[64], b[64];
		expect_format_value(r, v, sizeof v);
		expect_format_bound(e, r, b, sizeof b);
		say(r->why, sizeof r->why, "observed %s, expected %s", v, b);
	}
}

/* ---- untouched faults ---- */

static bool lifecycle_fault(const char *kind)
{
	static const char *const k[] = { "stop", "crash", "restart", "reload", NULL };
	for (size_t i = 0; kind && k[i]; i++)
		if (strcmp(kind, k[i]) == 0)
			return true;
	return false;
}

/* Is one of the comma-separated names in list exactly name? */
static bool in_list(const char *list, const char *name)
{
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
 * Did the fault act on anything? Any fault: a query line carries its id.
 * Lifecycle faults (stop, crash, restart, reload) act on no query by id:
 * anything that reached that resolver afterwards counts. Any other kind
 * with no query naming it did nothing.
 */
static bool touched(const struct hist *h, const struct hist_fault *f)
{
	size_t nq, nr, nl, nf;
	const struct hist_query *qs = hist_queries(h, &nq);
	const struct hist_route *rs = hist_routes(h, &nr);
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	const struct hist_fault *fs = hist_faults(h, &nf);
	if (f->id == 0)
		return false;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].fault == f->id || qs[i].delay_fault == f->id)
			return true;
	if (!lifecycle_fault(hist_str(h, f->kind)))
		return false;
	/* Until the next fault on the same target (or the end). */
	double until = INFINITY;
	for (size_t i = 0; i < nf; i++)
		if (fs[i].target == f->target && fs[i].t > f->t && fs[i].inject) {
			until = fs[i].t;
			break;
		}
	for (size_t i = 0; i < nr; i++)
		if (rs[i].backend == f->target && rs[i].t >= f->t && rs[i].t < until)
			return true;
	for (size_t i = 0; i < nq; i++)
		if (qs[i].resolver == f->target && qs[i].t >= f->t && qs[i].t < until)
			return true;
	const char *name = hist_str(h, f->target);
	for (size_t i = 0; i < nl; i++)
		if (ls[i].t_invoke >= f->t && ls[i].t_invoke < until &&
		    (ls[i].target == f->target || in_list(hist_str(h, ls[i].target), name)))
			return true;
	return false;
}

/*
 * A VIP that could not relay a stopped backend's port unreachable (no raw
 * socket: a `refused-noicmp` route line, whose for_lookup names the lookup
 * of the query) left its client in silence where DNAT would have told it at
 * once. An expectation over lookups (its client, stack and window) that
 * include one of those measured the harness, not the system: inconclusive,
 * whatever it measured.
 */
static void for_lookup_field(void *arg, const struct hist_field *f)
{
	if (f->kind == HIST_V_NUMBER && f->klen == 10 && memcmp(f->key, "for_lookup", 10) == 0)
		*(uint64_t *)arg = (uint64_t)f->num;
}

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
		uint64_t id = 0;
		if (rs[i].action != noicmp ||
		    hist_line_fields(h, rs[i].line - 1, for_lookup_field, &id) != 0)
			continue;
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

void checker_verdict(const struct hist *h, const struct expectation *e, size_t n,
		     struct expect_result *results, struct verdict_info *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		checker_eval(h, &e[i], &results[i]);
		unrelayed_refusals(h, &e[i], &results[i]);
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
	const char *end_reason = hist_end_reason(h);
	bool completed_run = end_reason && strcmp(end_reason, "duration") == 0;
	if (n == 0 && completed_run) {
		out->verdict = VERDICT_NONE;
		return;
	}
	size_t nf;
	const struct hist_fault *fs = hist_faults(h, &nf);
	for (size_t i = 0; i < nf; i++) {
		if (!fs[i].inject || touched(h, &fs[i]))
			continue;
		if (out->nuntouched < sizeof out->untouched / sizeof out->untouched[0])
			say(out->untouched[out->nuntouched], sizeof out->untouched[0],
			    "%s on %s (fault %u) at %.3f s", nz(h, fs[i].kind),
			    nz(h, fs[i].target), fs[i].id, fs[i].t);
		out->nuntouched++;
	}
	const char *end = hist_end_reason(h);
	if (!end || strcmp(end, "duration") != 0) {
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
			say(out->why, sizeof out->why, "%zu injected fault(s) never touched a query or "
			    "lookup: %s%s", out->nuntouched, out->untouched[0],
			    out->nuntouched > 1 ? ", ..." : "");
		else
			say(out->why, sizeof out->why, "%zu of %zu expectations could not be measured",
			    out->inconclusive, n);
	} else {
		out->verdict = VERDICT_PASS;
	}
}

/* ---- formatting ---- */

static void num(double v, const char *unit, char *buf, size_t cap)
{
	if (isinf(v)) {
		snprintf(buf, cap, v > 0 ? "never" : "-inf");
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
