/*
 * checker.h - expectations evaluated on a history, and the run's verdict.
 *
 * An expectation is a metric (what to measure over which lookups, queries or
 * backends, in which time window) and a bound (at least or at most a value).
 * checker_eval measures each on a loaded history (hist.h) and gives each a
 * result: pass, fail, or inconclusive when the history cannot tell (no
 * lookup in the window, the fault it is about never happened). The verdict
 * of the run combines them with what the run itself did (docs/checks.md):
 *
 *   inconclusive  the run did not complete (killed, interrupted, error);
 *   fail          any expectation failed;
 *   inconclusive  any expectation was inconclusive, or an injected fault
 *                 was met by no client's lookup;
 *   pass          every expectation passed;
 *   none          the scenario declared no expectation (a plain run).
 *
 * Pure: no I/O, no clock. The Lua escape hatch (EXPECT_CUSTOM) calls back
 * through a function pointer so this file needs no Lua.
 */
#ifndef HARNESS_RECORD_CHECKER_H
#define HARNESS_RECORD_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hist;

enum expect_metric {
	EXPECT_SUCCESS_RATE,   /* ok / completed lookups invoked in the window (0..1) */
	EXPECT_LATENCY,        /* percentile p of completed lookups' latency, ms (p 100 = max) */
	EXPECT_STALE,          /* answers classified stale in the window (count) */
	EXPECT_WRONG,          /* answers classified wrong in the window (count) */
	EXPECT_STALE_STRETCH,  /* longest time any client still got stale answers after a publish or gate event, s */
	EXPECT_DETECTION,      /* fault injected on backend -> last new flow the VIP sent it, s */
	EXPECT_FAILURE_SPAN,   /* fault injected on backend -> last failed lookup that went through it, s */
	EXPECT_READMISSION,    /* backend's serial current -> VIP admits it, s; fails if admitted while behind */
	EXPECT_AMPLIFICATION,  /* wire queries joined / lookups, optionally one cause */
	EXPECT_SURVIVOR_LOAD,  /* peak queries/s at a resolver / its capacity fault's qps */
	EXPECT_GOODPUT,        /* ok lookups per second in the window */
	EXPECT_RECOVERY,       /* s from `from` until goodput is back to a fraction of its baseline */
	EXPECT_FLAPS,          /* up/down transitions of a backend per minute in the window */
	EXPECT_CUSTOM,         /* a Lua function over the history */
	EXPECT_METRICS
};

enum expect_op { EXPECT_AT_LEAST, EXPECT_AT_MOST };

enum expect_outcome { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_INCONCLUSIVE };

#define EXPECT_TEXT_MAX 128
#define EXPECT_MOMENTS 3

struct expectation;

/* EXPECT_CUSTOM: measures; returns 0 with *observed set, or -1 with why (inconclusive or error). */
typedef int (*expect_custom_fn)(void *arg, const struct hist *h, const struct expectation *e,
				double *observed, char *why, size_t whylen);

struct expectation {
	char name[EXPECT_TEXT_MAX];      /* as the scenario wrote it */
	char where[EXPECT_TEXT_MAX];     /* file:line of the declaration */
	enum expect_metric metric;
	enum expect_op op;
	double bound;

	/* filters: empty string = any */
	char client[64], stack[32], vip[64], backend[64], resolver[64], cause[16];
	double from, to;                 /* window in run seconds; to < 0: the end */
	double p;                        /* EXPECT_LATENCY: 0 < p <= 100 */
	double fraction;                 /* EXPECT_RECOVERY: of the baseline, default 0.9 */
	double baseline_from, baseline_to; /* EXPECT_RECOVERY: baseline window */
	double bucket;                   /* per-second metrics: bucket width, default 1 s */
	/* A measure taken on purpose without faults: a metric over lookups passes even
	 * when none of its lookups met a fault (expect_over_lookups). */
	bool baseline;

	expect_custom_fn custom;
	void *custom_arg;
};

/* Defaults: window whole run, p 50, fraction 0.9, bucket 1. */
void expectation_init(struct expectation *e);

/* A moment in the history that broke an expectation: time, line, what. */
struct expect_moment {
	double t;
	uint32_t line;
	char what[160];
};

struct expect_result {
	enum expect_outcome outcome;
	bool has_value;                  /* false: nothing measured (inconclusive) */
	double observed;                 /* may be INFINITY ("never"); never -INFINITY or NaN */
	char unit[8];                    /* "", "ms", "s", "/s", "/min", "x" */
	char detail[256];                /* what was counted: "412 of 415 lookups ok" */
	char why[256];                   /* inconclusive: why; fail: a summary */
	struct expect_moment moments[EXPECT_MOMENTS]; /* fail: the first moments that broke it */
	size_t nmoments;
};

enum verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_INCONCLUSIVE, VERDICT_NONE };

struct verdict_info {
	enum verdict verdict;
	size_t passed, failed, inconclusive;
	char why[512];                   /* for inconclusive and fail: the reasons, one line */
	/* faults no client's lookup met: "hang on r2 (fault 4) at 3.000 s" */
	char untouched[4][128];
	size_t nuntouched;
	bool no_faults;                  /* the run injected none ("no faults injected" in why) */
};

/*
 * Evaluates one expectation. A metric over lookups that would pass is
 * inconclusive when the run injected faults and none of its lookups met one
 * (unless e->baseline); which lookups met a fault is in docs/checks.md.
 */
void checker_eval(const struct hist *h, const struct expectation *e, struct expect_result *out);

/* Evaluates all, and the verdict (results[] has n entries). Which lookups met
 * which fault is worked out once for all of them. */
void checker_verdict(const struct hist *h, const struct expectation *e, size_t n,
		     struct expect_result *results, struct verdict_info *out);

/* Whether a metric measures lookups (success_rate, latency, ...): the ones
 * `baseline = true` applies to. */
bool expect_over_lookups(enum expect_metric m);

const char *verdict_name(enum verdict v);
const char *outcome_name(enum expect_outcome o);
const char *expect_metric_name(enum expect_metric m);
/* "success_rate" -> EXPECT_SUCCESS_RATE; -1 if unknown. */
int expect_metric_parse(const char *s, enum expect_metric *out);

/* "0.9931", "412 ms", "never": the observed value as people read it. */
void expect_format_value(const struct expect_result *r, char *buf, size_t cap);
/* ">= 0.99", "<= 250 ms". */
void expect_format_bound(const struct expectation *e, const struct expect_result *r, char *buf,
			 size_t cap);

#endif
