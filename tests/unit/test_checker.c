/*
 * test_checker.c - the checker (harness/record/checker.c) and the history
 * reader under it (hist.c), on synthetic histories written here.
 *
 * Each test builds a small history with the hb_ helpers (a meta line, then
 * hand-made lines in time order, then usually an end line), writes it to a
 * temporary directory, reads it with hist_load and measures expectations on
 * it. Every metric gets a history where it passes, one where it fails (with
 * the observed value and the moments it reports, times and line numbers),
 * and the cases where the history cannot tell (inconclusive). Then the
 * verdict, and hist_load's errors, each naming FILE:LINE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/record/checker.h"
#include "harness/record/hist.h"

/* ---- a history being written ---- */

#define META_LINE                                                                                  \
	"{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"dnschaos\":\"0.1.0\","                   \
	"\"scenario\":\"s.lua\",\"name\":\"t\",\"seed\":1,\"duration\":10.000,\"ldns\":\"1.8.3\"," \
	"\"libevent\":\"2.1.12-stable\",\"lua\":\"Lua 5.4.4\",\"c-ares\":\"1.18.1\","              \
	"\"libunbound\":\"1.17.1\",\"glibc\":\"2.36\",\"started_unix\":\"1795000000\"}\n"

struct hb {
	char *text;
	size_t len, cap;
	double t;          /* the t of the last line */
	uint32_t lines;    /* lines written, so the number of the last one */
	uint64_t nlookups; /* lookup ids handed out */
	unsigned dns_id;
};

/* A lookup written (its invoke, maybe its completion): what the checker should report. */
struct lk {
	uint64_t id;
	const char *client, *stack;
	double t, t_done;
	uint32_t line, line_done;
};

static void hb_vappend(struct hb *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static void hb_vappend(struct hb *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	assert_true(n >= 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		p = realloc(b->text, cap);
		assert_non_null(p);
		b->text = p;
		b->cap = cap;
	}
	vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

/* Appends text as it is: broken lines, cut lines, lines out of order. */
static void hb_raw(struct hb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_raw(struct hb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hb_vappend(b, fmt, ap);
	va_end(ap);
}

/* Starts over with the meta line alone (line 1, t 0). */
static void hb_reset(struct hb *b)
{
	b->len = 0;
	b->t = 0;
	b->lines = 1;
	b->nlookups = 0;
	b->dns_id = 1000;
	hb_raw(b, "%s", META_LINE);
}

/*
 * One line at t: {"t":T, then fields (the type first), then }. Fails the test
 * if t goes backwards (a broken test, not a broken reader). Returns the line
 * number.
 */
static uint32_t hb_add(struct hb *b, double t, const char *fields, ...)
        __attribute__((format(printf, 3, 4)));
static uint32_t hb_add(struct hb *b, double t, const char *fields, ...)
{
	va_list ap;

	if (t < b->t - 1e-9)
		fail_msg("the test writes t %.6f after %.6f", t, b->t);
	hb_raw(b, "{\"t\":%.6f,", t);
	va_start(ap, fields);
	hb_vappend(b, fields, ap);
	va_end(ap);
	hb_raw(b, "}\n");
	b->t = t;
	return ++b->lines;
}

static struct lk hb_invoke(struct hb *b, double t, const char *client, const char *stack,
                           const char *target)
{
	struct lk l = {++b->nlookups, client, stack, t, -1, 0, 0};

	l.line = hb_add(
	        b, t,
	        "\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"%s\",\"stack\":\"%s\","
	        "\"id\":%llu,\"name\":\"db.internal\",\"family\":\"A\",\"target\":\"%s\"",
	        client, stack, (unsigned long long)l.id, target);
	return l;
}

/*
 * The completion of l, latency_ms after its invoke: event ok, fail, timeout or
 * cancelled; cls "fresh", "stale", "wrong" or NULL; wire queries joined.
 */
static void hb_done(struct hb *b, struct lk *l, const char *event, double latency_ms,
                    const char *cls, unsigned wire)
{
	char more[160] = "";

	if (strcmp(event, "ok") == 0)
		snprintf(more, sizeof more, ",\"answers\":[\"192.0.2.10\"]");
	else if (strcmp(event, "fail") == 0)
		snprintf(more, sizeof more, ",\"reason\":\"%s\",\"error\":\"%s\"",
		         cls ? "nxdomain" : "servfail", cls ? "NXDOMAIN" : "SERVFAIL");
	else if (strcmp(event, "timeout") == 0)
		snprintf(more, sizeof more, ",\"reason\":\"timeout\",\"error\":\"EAI_AGAIN\"");
	else
		snprintf(more, sizeof more, ",\"error\":\"cancelled\"");
	if (cls)
		snprintf(more + strlen(more), sizeof more - strlen(more),
		         ",\"class\":\"%s\",\"serial\":2", cls);
	l->t_done = l->t + latency_ms / 1000.0;
	l->line_done = hb_add(b, l->t_done,
	                      "\"type\":\"lookup\",\"event\":\"%s\",\"client\":\"%s\","
	                      "\"stack\":\"%s\",\"id\":%llu,\"name\":\"db.internal\","
	                      "\"latency_ms\":%.3f%s,\"wire\":%u",
	                      event, l->client, l->stack, (unsigned long long)l->id, latency_ms,
	                      more, wire);
}

/* A whole lookup of client (stack glibc, through the VIP) at t. */
static struct lk hb_lookup(struct hb *b, double t, const char *client, const char *event,
                           double latency_ms, const char *cls, unsigned wire)
{
	struct lk l = hb_invoke(b, t, client, "glibc", "vip");

	hb_done(b, &l, event, latency_ms, cls, wire);
	return l;
}

/* ,"client":..,"lookup":..,"cause":.. when join is given. */
static void join_text(char *buf, size_t cap, const struct lk *join, const char *cause)
{
	if (join)
		snprintf(buf, cap, ",\"client\":\"%s\",\"lookup\":%llu,\"cause\":\"%s\"",
		         join->client, (unsigned long long)join->id, cause);
	else
		buf[0] = '\0';
}

/* A query line at resolver; join (the lookup that sent it) and extra ("\"fault\":4") may be NULL.
 */
static uint32_t hb_query(struct hb *b, double t, const char *resolver, const char *action,
                         const struct lk *join, const char *cause, const char *extra)
{
	char j[160];

	join_text(j, sizeof j, join, cause);
	return hb_add(b, t,
	              "\"type\":\"query\",\"resolver\":\"%s\",\"transport\":\"udp\","
	              "\"src\":\"127.0.0.1:41873\",\"id\":%u,\"qname\":\"db.internal.\","
	              "\"qtype\":\"A\",\"action\":\"%s\"%s%s%s%s",
	              resolver, b->dns_id++, action,
	              strcmp(action, "answered") == 0 ? ",\"rcode\":\"NOERROR\",\"an\":1" : "",
	              extra ? "," : "", extra ? extra : "", j);
}

/* A route line of vip to backend (NULL: none was up), a new flow or a pinned one. */
static uint32_t hb_route(struct hb *b, double t, const char *vip, const char *backend,
                         bool new_flow, const struct lk *join, const char *cause)
{
	char j[160], be[80];

	join_text(j, sizeof j, join, cause);
	if (backend)
		snprintf(be, sizeof be, "\"%s\"", backend);
	else
		snprintf(be, sizeof be, "null");
	return hb_add(b, t,
	              "\"type\":\"route\",\"vip\":\"%s\",\"transport\":\"udp\","
	              "\"src\":\"127.0.0.1:41873\",\"id\":%u,\"qname\":\"db.internal.\","
	              "\"qtype\":\"A\",\"backend\":%s,\"flow\":\"%s\",\"action\":\"%s\"%s",
	              vip, b->dns_id++, be, new_flow ? "new" : "pinned",
	              backend ? "forwarded" : "no-backend", j);
}

static uint32_t hb_inject(struct hb *b, double t, const char *target, const char *kind, unsigned id,
                          const char *extra)
{
	return hb_add(b, t,
	              "\"type\":\"fault\",\"target\":\"%s\",\"fault\":\"%s\",\"id\":%u,"
	              "\"action\":\"inject\"%s%s",
	              target, kind, id, extra ? "," : "", extra ? extra : "");
}

static uint32_t hb_heal(struct hb *b, double t, const char *target, const char *kind, unsigned id)
{
	return hb_add(b, t,
	              "\"type\":\"fault\",\"target\":\"%s\",\"fault\":\"%s\",\"id\":%u,"
	              "\"action\":\"heal\"",
	              target, kind, id);
}

static uint32_t hb_publish(struct hb *b, double t, const char *zone, unsigned serial, bool initial)
{
	return hb_add(b, t,
	              "\"type\":\"publish\",\"source\":\"truth\",\"zone\":\"%s\",\"serial\":%u,"
	              "\"file\":\"zones/v%u.zone\"%s",
	              zone, serial, serial, initial ? ",\"initial\":true" : "");
}

static uint32_t hb_boot(struct hb *b, double t, const char *resolver, const char *zone,
                        unsigned serial)
{
	return hb_add(b, t,
	              "\"type\":\"boot\",\"resolver\":\"%s\",\"from\":\"source\",\"ok\":true,"
	              "\"zones\":[\"%s %u\"]",
	              resolver, zone, serial);
}

static uint32_t hb_gate(struct hb *b, double t, const char *resolver, bool gated)
{
	return hb_add(b, t,
	              "\"type\":\"gate\",\"resolver\":\"%s\",\"gated\":%s,\"reason\":\"%s\","
	              "\"answer\":\"servfail\",\"clients\":false",
	              resolver, gated ? "true" : "false",
	              gated ? "serial 1 < published 2" : "serial current with the published one");
}

static uint32_t hb_probe(struct hb *b, double t, const char *vip, const char *backend, bool ok)
{
	return hb_add(b, t,
	              "\"type\":\"health\",\"vip\":\"%s\",\"backend\":\"%s\",\"event\":\"probe\","
	              "\"ok\":%s,\"reason\":\"%s\",\"latency_ms\":1.000",
	              vip, backend, ok ? "true" : "false",
	              ok ? "rcode NOERROR" : "timeout after 0.1 s");
}

/* An up/down (event) of backend in vip. */
static uint32_t hb_health(struct hb *b, double t, const char *vip, const char *backend,
                          const char *event, const char *reason)
{
	return hb_add(b, t,
	              "\"type\":\"health\",\"vip\":\"%s\",\"backend\":\"%s\",\"event\":\"%s\","
	              "\"reason\":\"%s\",\"count\":2",
	              vip, backend, event, reason);
}

static uint32_t hb_end(struct hb *b, double t, const char *reason)
{
	return hb_add(b, t, "\"type\":\"end\",\"reason\":\"%s\",\"lines\":%u", reason,
	              b->lines + 1);
}

/* ---- the fixture: a temporary directory, the history, what was loaded ---- */

struct fx {
	char dir[64];
	char path[128];
	struct hb b;
	struct hist *h;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/test_checker.XXXXXX",
	         tmp && tmp[0] && strlen(tmp) < 30 ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/history.jsonl", f->dir);
	hb_reset(&f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hist_free(f->h);
	free(f->b.text);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_history(const struct fx *f)
{
	FILE *fp = fopen(f->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(f->b.text, 1, f->b.len, fp), f->b.len);
	assert_int_equal(fclose(fp), 0);
}

/* Writes the history and reads it back, failing the test with hist_load's message. */
static const struct hist *load(struct fx *f)
{
	char err[512] = "";

	write_history(f);
	hist_free(f->h);
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("hist_load: %s", err);
	return f->h;
}

/* Writes the history and checks hist_load refuses it with exactly "PATH" + suffix. */
static void load_fails(struct fx *f, const char *suffix)
{
	char err[512] = "", want[512];

	write_history(f);
	hist_free(f->h);
	f->h = hist_load(f->path, err, sizeof err);
	if (f->h)
		fail_msg("hist_load accepted a history it should refuse with '%s'", suffix);
	snprintf(want, sizeof want, "%s%s", f->path, suffix);
	assert_string_equal(err, want);
}

/* ---- expectations and what to assert on their results ---- */

static struct expectation ex(enum expect_metric m, enum expect_op op, double bound)
{
	struct expectation e;

	expectation_init(&e);
	e.metric = m;
	e.op = op;
	e.bound = bound;
	snprintf(e.name, sizeof e.name, "%s", expect_metric_name(m));
	return e;
}

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

static struct expect_result eval(const struct fx *f, const struct expectation *e)
{
	struct expect_result r;

	assert_non_null(f->h);
	memset(&r, 0xa5, sizeof r); /* checker_eval must set everything */
	checker_eval(f->h, e, &r);
	return r;
}

#define assert_near(a, b) near_at((a), (b), __FILE__, __LINE__)
static void near_at(double got, double want, const char *file, int line)
{
	if (isinf(got) && isinf(want) && (got > 0) == (want > 0))
		return;
	if (!(fabs(got - want) <= 1e-6))
		fail_msg("%s:%d: %.9g, expected %.9g", file, line, got, want);
}

#define assert_contains(hay, needle) contains_at((hay), (needle), __FILE__, __LINE__)
static void contains_at(const char *hay, const char *needle, const char *file, int line)
{
	if (!strstr(hay, needle))
		fail_msg("%s:%d: \"%s\" does not contain \"%s\"", file, line, hay, needle);
}

static void outcome_at(const struct expect_result *r, enum expect_outcome want, const char *file,
                       int line)
{
	if (r->outcome != want)
		fail_msg("%s:%d: outcome %s, expected %s (observed %g, why \"%s\", detail \"%s\")",
		         file, line, outcome_name(r->outcome), outcome_name(want),
		         r->has_value ? r->observed : NAN, r->why, r->detail);
	if (want == OUTCOME_INCONCLUSIVE) {
		assert_false(r->has_value);
		assert_true(r->why[0] != '\0');
	} else {
		assert_true(r->has_value);
	}
	if (want != OUTCOME_FAIL)
		assert_int_equal(r->nmoments, 0);
}

/* Pass or fail with the observed value. */
#define assert_result(r, o, value)                                                                 \
	do {                                                                                       \
		outcome_at(&(r), (o), __FILE__, __LINE__);                                         \
		near_at((r).observed, (value), __FILE__, __LINE__);                                \
	} while (0)

/* Inconclusive, saying why (a part of the text). */
#define assert_inconclusive(r, text)                                                               \
	do {                                                                                       \
		outcome_at(&(r), OUTCOME_INCONCLUSIVE, __FILE__, __LINE__);                        \
		contains_at((r).why, (text), __FILE__, __LINE__);                                  \
	} while (0)

/* Moment i of r: at t, line, saying what (a part of the text). */
static void moment_at(const struct expect_result *r, size_t i, double t, uint32_t line,
                      const char *what, const char *file, int fline)
{
	if (i >= r->nmoments)
		fail_msg("%s:%d: no moment %zu (%zu of them)", file, fline, i, r->nmoments);
	near_at(r->moments[i].t, t, file, fline);
	if (r->moments[i].line != line)
		fail_msg("%s:%d: moment %zu at line %u, expected %u (%s)", file, fline, i,
		         r->moments[i].line, line, r->moments[i].what);
	contains_at(r->moments[i].what, what, file, fline);
}

#define assert_moment(r, i, t, line, what)                                                         \
	moment_at(&(r), (i), (t), (line), (what), __FILE__, __LINE__)

/* ---- bad parameters: what an expectation cannot be measured with ---- */

static void test_bad_params(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	enum expect_metric m;

	hb_lookup(&f->b, 1.0, "app", "ok", 5, "fresh", 1);
	hb_inject(&f->b, 2.0, "r2", "hang", 1, NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	/* names, both ways */
	for (int i = 0; i < EXPECT_METRICS; i++) {
		assert_int_equal(expect_metric_parse(expect_metric_name((enum expect_metric)i), &m),
		                 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(expect_metric_parse("bogus", &m), -1);
	assert_string_equal(expect_metric_name(EXPECT_METRICS), "?");
	assert_string_equal(expect_metric_name(EXPECT_CUSTOM), "check");
	assert_string_equal(verdict_name(VERDICT_NONE), "none");
	assert_string_equal(outcome_name(OUTCOME_INCONCLUSIVE), "inconclusive");

	/* defaults */
	expectation_init(&e);
	assert_near(e.from, 0);
	assert_true(e.to < 0);
	assert_near(e.p, 50);
	assert_near(e.fraction, 0.9);
	assert_near(e.bucket, 1);
	assert_true(e.baseline_from < 0 && e.baseline_to < 0);

	e = ex(EXPECT_METRICS, EXPECT_AT_MOST, 1);
	r = eval(f, &e);
	assert_inconclusive(r, "unknown metric");

	/* the backend metrics need a backend, survivor_load a resolver */
	const enum expect_metric need_backend[] = {EXPECT_DETECTION, EXPECT_FAILURE_SPAN,
	                                           EXPECT_READMISSION};
	for (size_t i = 0; i < 3; i++) {
		e = ex(need_backend[i], EXPECT_AT_MOST, 1);
		r = eval(f, &e);
		assert_inconclusive(r, "needs backend");
	}
	e = ex(EXPECT_SURVIVOR_LOAD, EXPECT_AT_MOST, 1);
	r = eval(f, &e);
	assert_inconclusive(r, "survivor_load needs resolver");

	/* a name the history never mentions, for every filter */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	SET(e.client, "nobody");
	r = eval(f, &e);
	assert_inconclusive(r, "no client named 'nobody' in the history");
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	SET(e.stack, "libunbound-2");
	r = eval(f, &e);
	assert_inconclusive(r, "no stack named 'libunbound-2'");
	/* "ldns" is in the history (the meta line's versions), but no lookup used that stack */
	SET(e.stack, "ldns");
	r = eval(f, &e);
	assert_inconclusive(r, "no stack named 'ldns' in the history");
	e = ex(EXPECT_FLAPS, EXPECT_AT_MOST, 1);
	SET(e.vip, "vip9");
	r = eval(f, &e);
	assert_inconclusive(r, "no vip named 'vip9'");
	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 1);
	SET(e.backend, "r9");
	r = eval(f, &e);
	assert_inconclusive(r, "no backend named 'r9'");
	e = ex(EXPECT_SURVIVOR_LOAD, EXPECT_AT_MOST, 1);
	SET(e.resolver, "r9");
	r = eval(f, &e);
	assert_inconclusive(r, "no resolver named 'r9'");

	/* an unknown cause */
	e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 1);
	SET(e.cause, "bogus");
	r = eval(f, &e);
	assert_inconclusive(r, "unknown cause 'bogus'");

	/* check() without its function */
	e = ex(EXPECT_CUSTOM, EXPECT_AT_MOST, 1);
	r = eval(f, &e);
	assert_inconclusive(r, "no function");
}

/* ---- success_rate ---- */

/* Lookups of app (glibc) and other (c-ares); gives the failures: app's two, other's one. */
static void success_history(struct fx *f, struct lk *fail, struct lk *timeout, struct lk *other)
{
	struct lk l;

	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);                /* lines 2, 3 */
	*fail = hb_lookup(&f->b, 2.0, "app", "fail", 20, NULL, 1);         /* 4, 5 */
	*timeout = hb_lookup(&f->b, 3.0, "app", "timeout", 1000, NULL, 3); /* 6, 7 (done 4.0) */
	hb_lookup(&f->b, 4.5, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 5.0, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 5.5, "app", "cancelled", 10, NULL, 0); /* not completed */
	hb_invoke(&f->b, 6.0, "app", "glibc", "vip");           /* never completes */
	l = hb_invoke(&f->b, 6.5, "other", "c-ares", "vip");
	hb_done(&f->b, &l, "fail", 5, NULL, 1);
	*other = l;
	hb_end(&f->b, 10.0, "duration");
}

static void test_success_rate(void **state)
{
	struct fx *f = *state;
	struct lk fail, timeout, other;
	struct expectation e;
	struct expect_result r;

	success_history(f, &fail, &timeout, &other);
	load(f);

	/* app: 3 of 5 completed lookups ok (the cancelled and the unfinished do not count) */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	SET(e.client, "app");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.6);
	assert_string_equal(r.unit, "");
	assert_contains(r.detail, "3 of 5 lookups ok (1 failed, 1 timed out)");
	assert_string_equal(r.why, "observed 0.6, expected >= 0.9");
	assert_int_equal(r.nmoments, 2);
	assert_moment(r, 0, fail.t_done, fail.line_done, "lookup 2 of app (db.internal): fail");
	assert_moment(r, 0, fail.t_done, fail.line_done, "servfail SERVFAIL, 20.0 ms");
	assert_moment(r, 1, timeout.t_done, timeout.line_done, "timeout timeout EAI_AGAIN");
	assert_near(timeout.t_done, 4.0);

	e.bound = 0.6;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.6);
	assert_string_equal(r.why, "");

	/* every client: the failure of other too */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.5);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.5);
	/* by stack */
	SET(e.stack, "c-ares");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0);
	SET(e.stack, "glibc");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.6);
	/* at most */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_MOST, 0.5);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.5);
	e.bound = 0.49;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.5);
	/* a failure's moments are its non-ok lookups only: here the first three */
	assert_int_equal(r.nmoments, 3);
	assert_moment(r, 2, other.t_done, other.line_done, "lookup 8 of other (db.internal): fail");
	assert_near(other.t_done, 6.505);
	assert_int_equal(other.line_done, 16);
}

static void test_success_rate_window(void **state)
{
	struct fx *f = *state;
	struct lk fail, timeout, other;
	struct expectation e;
	struct expect_result r;

	success_history(f, &fail, &timeout, &other);
	load(f);

	/* windows select lookups by their invoke: the timeout invoked at 3.0 ends at 4.0 */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.5);
	e.from = 3;
	e.to = 3.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0);
	assert_contains(r.detail, "0 of 1 lookups ok (0 failed, 1 timed out) in [3 s, 3.5 s)");
	assert_moment(r, 0, 4.0, timeout.line_done, "timeout");
	/* ... and is not in [3.5, 5): from is in, to is out (the lookup at 5.0) */
	e.from = 3.5;
	e.to = 5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1);
	assert_contains(r.detail, "1 of 1 lookups ok");
	e.from = 4.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1);

	/* nothing completed in the window: inconclusive, never a pass */
	e.from = 7;
	e.to = 9;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [7 s, 9 s)");
	assert_string_equal(r.detail, "");
	/* only a cancelled lookup and one that never completed */
	e.from = 5.5;
	e.to = 6.5;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [5.5 s, 6.5 s)");
	e.from = 20;
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [20 s, the end)");
}

/* ---- latency ---- */

#define NLAT 25

static void test_latency(void **state)
{
	struct fx *f = *state;
	struct lk l[NLAT];
	struct expectation e;
	struct expect_result r;
	size_t k = 0;

	/* latencies 1..25 ms in a scrambled order */
	for (int i = 0; i < NLAT; i++)
		l[i] = hb_lookup(&f->b, 1 + 0.1 * i, "app", "ok", (i * 7) % NLAT + 1, "fresh", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	/* nearest rank: the smallest value with at least p% of them at or below it */
	const struct {
		double p, want;
	} cases[] = {
	        {50, 13},    {4, 1},    {0.001, 1}, {4.01, 2}, {90, 23}, {96, 24},
	        {96.01, 25}, {100, 25}, {14, 4},    {28, 7},   {56, 14}, /* where p / 100 * 25 lands
	                                                                    just above a whole rank
	                                                                  */
	        {150, 25}, /* out of range (the Lua API refuses it): the max, not past the array */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		e = ex(EXPECT_LATENCY, EXPECT_AT_MOST, 1000);
		e.p = cases[i].p;
		r = eval(f, &e);
		if (fabs(r.observed - cases[i].want) > 1e-9)
			fail_msg("p%g of 1..%d ms: %g, expected %g", cases[i].p, NLAT, r.observed,
			         cases[i].want);
		assert_result(r, OUTCOME_PASS, cases[i].want);
		assert_string_equal(r.unit, "ms");
	}

	e = ex(EXPECT_LATENCY, EXPECT_AT_MOST, 23);
	e.p = 90;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 23);
	assert_contains(r.detail, "p90 of 25 lookups in [0 s, the end) (median 13.000 ms, "
	                          "max 25.000 ms)");
	e.bound = 20;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 23);
	assert_string_equal(r.why, "observed 23 ms, expected <= 20 ms");
	/* the moments: the first three lookups (in history order) slower than the bound */
	assert_int_equal(r.nmoments, 3);
	for (int i = 0; i < NLAT && k < 3; i++)
		if ((i * 7) % NLAT + 1 > 20) {
			char what[64];

			snprintf(what, sizeof what, "lookup %llu of app (db.internal): ok, %d.0 ms",
			         (unsigned long long)l[i].id, (i * 7) % NLAT + 1);
			assert_moment(r, k, l[i].t_done, l[i].line_done, what);
			k++;
		}

	/* at least: the fast ones break it */
	e = ex(EXPECT_LATENCY, EXPECT_AT_LEAST, 2);
	e.p = 4;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1);
	assert_int_equal(r.nmoments, 1); /* only 1 ms is below 2 ms */
	assert_moment(r, 0, l[0].t_done, l[0].line_done,
	              "lookup 1 of app (db.internal): ok, 1.0 ms");

	/* a window */
	e = ex(EXPECT_LATENCY, EXPECT_AT_MOST, 1000);
	e.p = 100;
	e.from = 1;
	e.to = 1.25; /* lookups 0, 1, 2: 1, 8, 15 ms */
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 15);
	e.p = 50;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 8);

	e.from = 5;
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [5 s, the end)");
	SET(e.client, "app");
	e.from = 0;
	e.to = 1;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [0 s, 1 s)");
}

static void test_latency_failures_count(void **state)
{
	struct fx *f = *state;
	struct lk t;
	struct expectation e;
	struct expect_result r;

	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 2.0, "app", "ok", 20, "fresh", 1);
	t = hb_lookup(&f->b, 3.0, "app", "timeout", 5000, NULL, 3); /* done 8.0 */
	hb_lookup(&f->b, 8.5, "app", "cancelled", 9999, NULL, 0);   /* not completed */
	hb_end(&f->b, 20.0, "duration");
	load(f);

	e = ex(EXPECT_LATENCY, EXPECT_AT_MOST, 1000);
	e.p = 100;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 5000);
	assert_int_equal(r.nmoments, 1);
	assert_moment(r, 0, 8.0, t.line_done, "timeout timeout EAI_AGAIN, 5000.0 ms");
	e.p = 50; /* rank 2 of 3 */
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 20);
	assert_contains(r.detail, "p50 of 3 lookups");
}

/* ---- stale_answers, wrong_answers ---- */

static void test_stale_wrong(void **state)
{
	struct fx *f = *state;
	struct lk s1, s2, w1;
	struct expectation e;
	struct expect_result r;

	hb_lookup(&f->b, 1.0, "app", "ok", 5, "fresh", 1);
	s1 = hb_lookup(&f->b, 2.0, "app", "ok", 5, "stale", 1);
	s2 = hb_lookup(&f->b, 3.0, "app", "fail", 5, "stale", 1); /* a stale NXDOMAIN */
	w1 = hb_lookup(&f->b, 4.0, "app", "ok", 5, "wrong", 1);
	hb_lookup(&f->b, 5.0, "app", "ok", 5, "fresh", 1);
	hb_lookup(&f->b, 6.0, "other", "ok", 5, "stale", 1);
	hb_lookup(&f->b, 7.0, "app", "cancelled", 5, "stale", 0); /* not completed */
	hb_lookup(&f->b, 8.0, "app", "timeout", 1000, NULL, 2);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_STALE, EXPECT_AT_MOST, 0);
	SET(e.client, "app");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2);
	assert_string_equal(r.unit, "");
	assert_contains(r.detail, "2 stale answers among 6 lookups in [0 s, the end)");
	assert_string_equal(r.why, "observed 2, expected <= 0");
	assert_int_equal(r.nmoments, 2);
	assert_moment(r, 0, s1.t_done, s1.line_done, "lookup 2 of app (db.internal): stale answer");
	assert_moment(r, 1, s2.t_done, s2.line_done, "stale answer nxdomain NXDOMAIN");
	e.bound = 2;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 2);
	/* every client */
	e = ex(EXPECT_STALE, EXPECT_AT_MOST, 3);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 3);
	e.bound = 2.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 3);
	assert_int_equal(r.nmoments, 3);
	/* a window after them: the cancelled stale one does not count */
	e = ex(EXPECT_STALE, EXPECT_AT_MOST, 0);
	SET(e.client, "app");
	e.from = 3.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	assert_contains(r.detail, "0 stale answers among 3 lookups in [3.5 s, the end)");

	e = ex(EXPECT_WRONG, EXPECT_AT_MOST, 0);
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1);
	assert_contains(r.detail, "1 wrong answers among 7 lookups");
	assert_int_equal(r.nmoments, 1);
	assert_moment(r, 0, w1.t_done, w1.line_done, "lookup 4 of app (db.internal): wrong answer");
	e.from = 4.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	e.from = 4;
	e.to = 4.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1);

	/* nothing completed in the window */
	e = ex(EXPECT_STALE, EXPECT_AT_MOST, 0);
	e.from = 8.5;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [8.5 s, the end)");
	e = ex(EXPECT_WRONG, EXPECT_AT_MOST, 0);
	e.from = 6.5;
	e.to = 7.5; /* only the cancelled lookup */
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [6.5 s, 7.5 s)");
}

/* ---- stale_stretch ---- */

static void test_stale_stretch(void **state)
{
	struct fx *f = *state;
	struct lk worst;
	uint32_t pub;
	struct expectation e;
	struct expect_result r;

	hb_publish(&f->b, 0.0, "internal.", 1, true);      /* initial: no trigger */
	hb_lookup(&f->b, 1.0, "app", "ok", 5, "stale", 1); /* before any trigger */
	pub = hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_lookup(&f->b, 2.2, "app", "ok", 100, "stale", 1);           /* 0.3 s after */
	worst = hb_lookup(&f->b, 2.7, "other", "ok", 100, "stale", 1); /* 0.8 s after */
	hb_lookup(&f->b, 3.0, "app", "ok", 5, "fresh", 1);
	hb_gate(&f->b, 5.0, "r1", true);
	hb_lookup(&f->b, 5.3, "app", "ok", 100, "stale", 1); /* 0.4 s after the gate */
	hb_gate(&f->b, 6.0, "r1", false);                    /* a gate lifted: no trigger */
	hb_health(&f->b, 8.0, "vip", "r2", "down", "timeout after 0.1 s");
	hb_lookup(&f->b, 8.0, "app", "ok", 100, "stale", 1); /* 0.1 s after the down */
	hb_lookup(&f->b, 9.0, "app", "ok", 5, "fresh", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_STALE_STRETCH, EXPECT_AT_MOST, 0.5);
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.8);
	assert_string_equal(r.unit, "s");
	assert_contains(r.detail, "4 stale answers after 3 publish/gate/down events");
	assert_string_equal(r.why, "observed 0.8 s, expected <= 0.5 s");
	assert_int_equal(r.nmoments, 2);
	assert_moment(r, 0, 2.0, pub, "publish of internal. serial 2");
	assert_moment(r, 1, worst.t_done, worst.line_done,
	              "lookup 3 of other (db.internal): last stale answer after it");
	assert_int_equal(worst.id, 3);
	e.bound = 1;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.8);

	/* one client */
	SET(e.client, "app");
	e.bound = 0.3;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.4);
	assert_moment(r, 0, 5.0, pub + 7, "r1 gated itself");
	/* triggers in the window only: the gate and the down, then the down alone */
	e = ex(EXPECT_STALE_STRETCH, EXPECT_AT_MOST, 1);
	e.from = 4;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.4);
	assert_contains(r.detail, "2 stale answers after 2 publish/gate/down events");
	e.from = 5.5;
	e.bound = 0.05;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.1);
	assert_moment(r, 0, 8.0, pub + 11, "vip took r2 down");

	/* no trigger in the window: the initial publish is none */
	e = ex(EXPECT_STALE_STRETCH, EXPECT_AT_MOST, 0);
	e.to = 1.5;
	r = eval(f, &e);
	assert_inconclusive(r, "no publish, gate or backend down in [0 s, 1.5 s)");
	e.from = 9;
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "nothing to be stale after");
}

static void test_stale_stretch_none(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_lookup(&f->b, 1.0, "app", "ok", 5, "stale", 1); /* before the publish */
	hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_lookup(&f->b, 2.5, "app", "ok", 5, "fresh", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_STALE_STRETCH, EXPECT_AT_MOST, 0);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	assert_contains(r.detail, "0 stale answers after 1 publish/gate/down events");
}

/*
 * "No stale answers" over lookups that met a fault but none of which could
 * have been stale (re-derived: hist_lookup.stale_possible; every version the
 * run knew answers their names alike) could not have failed: inconclusive.
 * Unknown (not re-derived) or one that could: a pass. A failure stands. Not
 * for a baseline, nor a run without faults (the met-a-fault guard's scope).
 */
static void test_stale_none_possible(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	struct lk l[3];

	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_inject(&f->b, 1.0, "r1", "delay", 5, "\"ms\":10");
	for (int i = 0; i < 3; i++) {
		l[i] = hb_invoke(&f->b, 2.0 + i, "app", "c-ares", "r1");
		hb_query(&f->b, 2.0 + i, "r1", "answered", &l[i], "first", "\"delay_fault\":5");
		hb_done(&f->b, &l[i], "ok", 10, i == 2 ? "stale" : "fresh", 1);
	}
	hb_end(&f->b, 10.0, "duration");
	load(f);
	size_t nl;
	const struct hist_lookup *ls = hist_lookups(f->h, &nl);
	assert_int_equal(nl, 3);

	e = ex(EXPECT_STALE, EXPECT_AT_MOST, 0);
	SET(e.client, "app");
	e.to = 3.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0); /* not worked out: could have been */
	hist_set_stale_possible(f->h, &ls[0], false);
	hist_set_stale_possible(f->h, &ls[1], false);
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup of app in [0 s, 3.5 s) could have got a stale answer: "
	                       "every zone version the run knew answers db.internal as the "
	                       "published one does");
	e.baseline = true;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	e.baseline = false;
	hist_set_stale_possible(f->h, &ls[1], true);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	/* a failure stands */
	hist_set_stale_possible(f->h, &ls[1], false);
	hist_set_stale_possible(f->h, &ls[2], false);
	e = ex(EXPECT_STALE, EXPECT_AT_MOST, 0);
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1);
	/* stale_stretch: the lookups after its first trigger (a publish at 2.5) */
	hb_reset(&f->b);
	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_inject(&f->b, 1.0, "r1", "delay", 5, "\"ms\":10");
	hb_publish(&f->b, 2.5, "internal.", 2, false);
	for (int i = 0; i < 2; i++) {
		l[i] = hb_invoke(&f->b, 3.0 + i, "app", "c-ares", "r1");
		hb_query(&f->b, 3.0 + i, "r1", "answered", &l[i], "first", "\"delay_fault\":5");
		hb_done(&f->b, &l[i], "ok", 10, "fresh", 1);
	}
	hb_end(&f->b, 10.0, "duration");
	load(f);
	ls = hist_lookups(f->h, &nl);
	e = ex(EXPECT_STALE_STRETCH, EXPECT_AT_MOST, 0);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	hist_set_stale_possible(f->h, &ls[0], false);
	hist_set_stale_possible(f->h, &ls[1], false);
	r = eval(f, &e);
	assert_inconclusive(r, "could have got a stale answer");
}

/* ---- detection_time ---- */

static void test_detection(void **state)
{
	struct fx *f = *state;
	uint32_t inj, last;
	struct expectation e;
	struct expect_result r;

	hb_route(&f->b, 1.0, "vip", "r1", true, NULL, NULL);
	hb_route(&f->b, 1.5, "vip", "r2", true, NULL, NULL);
	inj = hb_inject(&f->b, 3.0, "r2", "hang", 1, "\"duration\":5.000");
	hb_route(&f->b, 3.2, "vip", "r2", true, NULL, NULL);
	hb_route(&f->b, 3.5, "vip", "r1", true, NULL, NULL);
	last = hb_route(&f->b, 3.9, "vip", "r2", true, NULL, NULL);
	hb_probe(&f->b, 3.95, "vip", "r2", false);
	hb_health(&f->b, 4.0, "vip", "r2", "down", "timeout after 0.1 s");
	hb_route(&f->b, 4.5, "vip", "r2", false, NULL, NULL); /* pinned: not a new flow */
	hb_route(&f->b, 5.0, "vip", "r1", true, NULL, NULL);
	hb_heal(&f->b, 8.0, "r2", "hang", 1);
	hb_route(&f->b, 9.0, "vip", "r2", true, NULL, NULL); /* after the heal */
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 1);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.9);
	assert_string_equal(r.unit, "s");
	assert_string_equal(r.detail, "hang at 3.000 s; 2 new flows to it afterwards, of 5 routes; "
	                              "marked down 1.000 s after");
	SET(e.vip, "vip");
	e.bound = 0.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.9);
	assert_int_equal(r.nmoments, 2);
	assert_moment(r, 0, 3.0, inj, "hang injected on r2");
	assert_moment(r, 1, 3.9, last, "a new flow still sent to r2");

	/* no fault on r1; none in a window after r2's */
	SET(e.backend, "r1");
	r = eval(f, &e);
	assert_inconclusive(r, "no fault was injected on r1 in [0 s, the end)");
	SET(e.backend, "r2");
	e.from = 4;
	r = eval(f, &e);
	assert_inconclusive(r, "no fault was injected on r2 in [4 s, the end)");
}

/*
 * A port unreachable the VIP relays for a query it routed before the down
 * arrives after it: its line (refused-icmp, flow new, for_lookup) is no
 * routing decision, and detection_time is judged by the query's own line.
 */
static void test_detection_relay_is_no_route(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	hb_route(&f->b, 1.0, "vip", "r2", true, NULL, NULL);
	hb_inject(&f->b, 2.0, "r2", "stop", 1, NULL);
	hb_route(&f->b, 2.05, "vip", "r2", true, NULL, NULL); /* routed before the down */
	hb_probe(&f->b, 2.055, "vip", "r2", false);
	hb_health(&f->b, 2.056, "vip", "r2", "down", "port unreachable");
	hb_add(&f->b, 2.3, /* its refusal, relayed after the down (late, under load) */
	       "\"type\":\"route\",\"vip\":\"vip\",\"transport\":\"udp\","
	       "\"src\":\"127.0.0.1:41873\",\"id\":%u,\"qname\":\"db.internal.\","
	       "\"qtype\":\"A\",\"backend\":\"r2\",\"flow\":\"new\","
	       "\"action\":\"refused-icmp\",\"for_lookup\":42",
	       f->b.dns_id - 1);
	hb_route(&f->b, 2.4, "vip", "r1", true, NULL, NULL);
	hb_end(&f->b, 5.0, "duration");
	load(f);

	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 0.2);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.05);
	assert_string_equal(r.detail, "stop at 2.000 s; 1 new flows to it afterwards, of 2 routes; "
	                              "marked down 0.056 s after");
}

/* A dnsdist VIP's counters at a poll (every 0.1 s): queries sent to backend so far. */
static uint32_t hb_bstat(struct hb *b, double t, const char *vip, const char *backend,
                         unsigned queries, unsigned new_queries)
{
	return hb_add(b, t,
	              "\"type\":\"backend_stats\",\"vip\":\"%s\",\"backend\":\"%s\","
	              "\"queries\":%u,\"new_queries\":%u,\"responses\":%u,\"drops\":0,"
	              "\"send_errors\":0,\"outstanding\":0,\"latency_ms\":0.100",
	              vip, backend, queries, new_queries, queries);
}

/*
 * Through a dnsdist VIP (no route lines, no joined query): detection_time from
 * its counters, lookups in flight while it sent the faulted backend queries
 * count as having met the fault, amplification is inconclusive instead of 0.
 */
static void test_dnsdist_derived(void **state)
{
	struct fx *f = *state;
	uint32_t last;
	struct expectation e;
	struct expect_result r;

	hb_add(&f->b, 0.1,
	       "\"type\":\"vip\",\"vip\":\"dd\",\"address\":\"127.0.0.12:5300\","
	       "\"kind\":\"dnsdist\",\"policy\":\"roundrobin\",\"config\":\"generated\","
	       "\"poll_ms\":100,\"checks\":true");
	struct lk before = hb_invoke(&f->b, 1.0, "app", "ldns", "dd");
	hb_done(&f->b, &before, "ok", 1, "fresh", 0);
	hb_bstat(&f->b, 1.1, "dd", "r1", 1, 1);
	struct lk a = hb_invoke(&f->b, 2.0, "app", "ldns", "dd");
	hb_done(&f->b, &a, "ok", 1, "fresh", 0);
	hb_bstat(&f->b, 2.1, "dd", "r2", 1, 1);
	hb_inject(&f->b, 3.0, "r2", "hang", 1, NULL);
	struct lk hit = hb_invoke(&f->b, 3.05, "app", "ldns", "dd");
	hb_bstat(&f->b, 3.1, "dd", "r2", 2, 1);
	last = hb_bstat(&f->b, 3.5, "dd", "r2", 3, 1);
	hb_add(&f->b, 3.6,
	       "\"type\":\"health\",\"vip\":\"dd\",\"backend\":\"r2\",\"event\":\"down\","
	       "\"reason\":\"dnsdist marked it down\",\"count\":1,\"dnsdist\":true");
	struct lk later = hb_invoke(&f->b, 3.8, "app", "ldns", "dd");
	hb_done(&f->b, &later, "ok", 1, "fresh", 0);
	hb_bstat(&f->b, 3.9, "dd", "r1", 2, 1);
	hb_done(&f->b, &hit, "timeout", 1000, NULL, 0);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 1);
	SET(e.backend, "r2");
	SET(e.vip, "dd");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.5);
	assert_contains(r.detail, "2 new flows to it afterwards, of 3 routes; marked down 0.600 s");
	e.bound = 0.2;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.5);
	assert_moment(r, 1, 3.5, last, "dnsdist still sent r2 queries");

	/* the timed-out lookup was in flight while dnsdist sent r2 queries: it met the hang */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	SET(e.client, "app");
	e.from = 3;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.5);

	/* wire 0 through dnsdist is not "no amplification" */
	e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 3);
	r = eval(f, &e);
	assert_inconclusive(r, "went through dnsdist VIP dd, whose queries cannot be joined");

	/* its checks are not read back, but they ran: flaps counts its up/down lines */
	e = ex(EXPECT_FLAPS, EXPECT_AT_MOST, 10);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 6.0);
	assert_contains(r.detail, "1 up/down changes in 10.000 s (dnsdist's checks");
	e.bound = 5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 6.0);
}

static void test_detection_never(void **state)
{
	struct fx *f = *state;
	uint32_t inj, last = 0;
	struct expectation e;
	struct expect_result r;
	char v[32];

	hb_route(&f->b, 1.0, "vip", "r2", true, NULL, NULL);
	inj = hb_inject(&f->b, 2.0, "r2", "hang", 1, NULL); /* never healed */
	for (int i = 0; i < 30; i++)
		last = hb_route(&f->b, 2.5 + 0.25 * i, "vip", "r2", true, NULL, NULL);
	hb_end(&f->b, 10.0, "duration"); /* the last new flow at 9.75, within 5% of the 8 s */
	load(f);

	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 5);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, INFINITY);
	assert_true(isinf(r.observed) && r.observed > 0);
	expect_format_value(&r, v, sizeof v);
	assert_string_equal(v, "never");
	assert_string_equal(r.why, "observed never, expected <= 5 s");
	assert_contains(r.detail, "30 new flows to it afterwards, of 30 routes; never marked down");
	assert_moment(r, 0, 2.0, inj, "hang injected on r2");
	assert_moment(r, 1, 9.75, last, "a new flow still sent to r2");
}

static void test_detection_at_once_and_no_traffic(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	/* r2: its fault met traffic, none of it new flows to r2 */
	hb_route(&f->b, 1.0, "vip", "r2", true, NULL, NULL);
	hb_inject(&f->b, 2.0, "r2", "hang", 1, NULL);
	hb_route(&f->b, 2.5, "vip", "r1", true, NULL, NULL);
	hb_route(&f->b, 3.0, "vip", "r1", true, NULL, NULL);
	/* r3: a fault with no traffic after it */
	hb_route(&f->b, 3.5, "vip", "r3", true, NULL, NULL);
	hb_route(&f->b, 3.6, "vip2", "r3", true, NULL, NULL);
	hb_inject(&f->b, 4.0, "r3", "delay", 2, "\"delay_ms\":250.000,\"jitter_ms\":0.000");
	hb_route(&f->b, 5.0, "vip2", "r1", true, NULL, NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 0);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	assert_contains(r.detail, "0 new flows to it afterwards, of 5 routes");

	/* the vip filter: only "vip"'s routes, and it routed nothing after r3's fault */
	SET(e.backend, "r3");
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_inconclusive(r, "the VIP routed nothing after r3's fault at 4.000 s");
	SET(e.vip, "vip2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
}

/* ---- failure_span ---- */

static void test_failure_span(void **state)
{
	struct fx *f = *state;
	struct lk a, b, c, d, x;
	uint32_t inj;
	struct expectation e;
	struct expect_result r;

	a = hb_invoke(&f->b, 1.0, "app", "glibc", "vip"); /* fails before the fault */
	hb_route(&f->b, 1.0, "vip", "r2", true, &a, "first");
	hb_done(&f->b, &a, "fail", 100, NULL, 1);
	inj = hb_inject(&f->b, 3.0, "r2", "hang", 7, NULL);
	b = hb_invoke(&f->b, 3.1, "app", "glibc", "vip");
	hb_route(&f->b, 3.1, "vip", "r2", true, &b, "first");
	hb_query(&f->b, 3.1, "r2", "dropped", NULL, NULL, "\"fault\":7");
	hb_done(&f->b, &b, "timeout", 1000, NULL, 1);     /* 4.1 */
	c = hb_invoke(&f->b, 5.0, "app", "c-ares", "r2"); /* straight to r2 */
	hb_query(&f->b, 5.0, "r2", "dropped", &c, "first", "\"fault\":7");
	hb_done(&f->b, &c, "fail", 500, NULL, 1); /* 5.5: the last failure through r2 */
	d = hb_invoke(&f->b, 6.0, "app", "glibc", "vip");
	hb_route(&f->b, 6.0, "vip", "r2", false, &d, "first");
	hb_done(&f->b, &d, "ok", 50, "fresh", 1);
	x = hb_invoke(&f->b, 6.5, "app", "glibc", "vip"); /* fails, but through r1 */
	hb_route(&f->b, 6.5, "vip", "r1", true, &x, "first");
	hb_done(&f->b, &x, "fail", 1000, NULL, 1);
	hb_heal(&f->b, 8.0, "r2", "hang", 7);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_FAILURE_SPAN, EXPECT_AT_MOST, 3);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 2.5);
	assert_string_equal(r.unit, "s");
	assert_string_equal(r.detail,
	                    "hang at 3.000 s; 3 wire queries of lookups reached it after, "
	                    "2 of them from lookups that failed");
	e.bound = 1;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2.5);
	assert_int_equal(r.nmoments, 2);
	assert_moment(r, 0, 3.0, inj, "hang injected on r2");
	assert_moment(r, 1, 5.5, c.line_done,
	              "lookup 3 of app (db.internal): the last failed lookup through it");

	e.from = 3.5;
	r = eval(f, &e);
	assert_inconclusive(r, "no fault was injected on r2 in [3.5 s, the end)");
	e.from = 0;
	SET(e.backend, "r1");
	r = eval(f, &e);
	assert_inconclusive(r, "no fault was injected on r1");
}

#define DELAYED_BY_1 "\"delay_fault\":1,\"delay_ms\":100.000"

static void test_failure_span_none(void **state)
{
	struct fx *f = *state;
	struct lk a, b;
	struct expectation e;
	struct expect_result r;

	/* r2's fault: only ok lookups through r2 afterwards */
	hb_inject(&f->b, 1.0, "r2", "delay", 1, "\"delay_ms\":100.000,\"jitter_ms\":0.000");
	a = hb_invoke(&f->b, 2.0, "app", "glibc", "vip");
	hb_route(&f->b, 2.0, "vip", "r2", true, &a, "first");
	hb_query(&f->b, 2.0, "r2", "answered", NULL, NULL, DELAYED_BY_1); /* what the VIP forwarded */
	hb_done(&f->b, &a, "ok", 120, "fresh", 1);
	/* r1's fault: queries reach it, none from a lookup */
	hb_inject(&f->b, 3.0, "r1", "hang", 2, NULL);
	hb_route(&f->b, 3.5, "vip", "r1", true, NULL, NULL);
	hb_query(&f->b, 3.5, "r1", "dropped", NULL, NULL, "\"fault\":2");
	b = hb_invoke(&f->b, 4.0, "app", "glibc", "vip");
	hb_route(&f->b, 4.0, "vip", "r2", true, &b, "first");
	hb_query(&f->b, 4.0, "r2", "answered", NULL, NULL, DELAYED_BY_1);
	hb_done(&f->b, &b, "fail", 10, NULL, 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_FAILURE_SPAN, EXPECT_AT_MOST, 0);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 3.01); /* lookup b failed through r2 at 4.01 */
	e.to = 1.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 3.01); /* the window picks the fault, not the lookups */

	SET(e.backend, "r1");
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup reached r1 after its fault at 3.000 s: the fault never "
	                       "touched a lookup");
}

/* A failure before r2's delay fault, one lookup through r2 after it (its query delayed by the fault, or not). */
static void failure_span_zero_history(struct fx *f, bool with_fault)
{
	struct lk a;

	a = hb_invoke(&f->b, 0.5, "app", "glibc", "vip"); /* a failure before the fault */
	hb_route(&f->b, 0.5, "vip", "r2", true, &a, "first");
	hb_done(&f->b, &a, "fail", 10, NULL, 1);
	hb_inject(&f->b, 1.0, "r2", "delay", 1, "\"delay_ms\":100.000,\"jitter_ms\":0.000");
	a = hb_invoke(&f->b, 2.0, "app", "glibc", "vip");
	hb_route(&f->b, 2.0, "vip", "r2", true, &a, "first");
	hb_query(&f->b, 2.0, "r2", "answered", NULL, NULL, with_fault ? DELAYED_BY_1 : NULL);
	hb_done(&f->b, &a, "ok", 120, "fresh", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);
}

static void test_failure_span_zero(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	failure_span_zero_history(f, true);
	e = ex(EXPECT_FAILURE_SPAN, EXPECT_AT_MOST, 0);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	assert_contains(r.detail, "1 wire queries of lookups reached it after, 0 of them");
}

/*
 * The lookup reached r2 while its fault was on, but the fault did not act on
 * its query (it matched another name, or only the probes): "no lookup failed"
 * measured nothing. The old checker read 0 s, a pass.
 */
static void test_failure_span_none_met(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	failure_span_zero_history(f, false);
	e = ex(EXPECT_FAILURE_SPAN, EXPECT_AT_MOST, 0);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_inconclusive(r, "1 wire queries of lookups reached r2 after its fault at 1.000 s, "
	                       "and none of those lookups met a fault");
}


/* ---- a kernel VIP (kind "nftables"): no route lines, its backends' joined queries ---- */

/* A kernel VIP's `vip` line: backends r1 and r2, conntrack's timeout 30 s. */
static void hb_kernel_vip(struct hb *b, double t)
{
	hb_add(b, t,
	       "\"type\":\"vip\",\"vip\":\"vip\",\"address\":\"127.0.0.13:53\",\"kind\":\"nftables\","
	       "\"policy\":\"flow\",\"on_down\":\"flush\",\"on_refused\":\"icmp\",\"icmp\":true,"
	       "\"table\":\"dnschaos_127_0_0_13_53\",\"flow_idle\":30,\"backends\":[\"r1\",\"r2\"]");
}

/* A lookup of app through the VIP at t whose one query reaches resolver from port. */
static uint32_t hb_kernel_query(struct hb *b, double t, const char *resolver, unsigned port,
				const char *action)
{
	struct lk l = hb_invoke(b, t, "app", "glibc", "vip");
	uint32_t line = hb_add(b, t,
			       "\"type\":\"query\",\"resolver\":\"%s\",\"transport\":\"udp\","
			       "\"src\":\"127.0.0.1:%u\",\"id\":%u,\"qname\":\"db.internal.\","
			       "\"qtype\":\"A\",\"action\":\"%s\",\"client\":\"app\",\"lookup\":%llu,"
			       "\"cause\":\"first\"",
			       resolver, port, b->dns_id++, action, (unsigned long long)l.id);
	hb_done(b, &l, strcmp(action, "answered") == 0 ? "ok" : "timeout", 1, NULL, 1);
	return line;
}

/*
 * detection_time through a kernel VIP, from its backends' query lines: a new
 * flow is the first query from a source (or the first after conntrack's
 * timeout); a pinned one is not. The old checker, reading route lines only,
 * called it inconclusive ("the VIP routed nothing after r2's fault").
 */
static void test_kernel_detection(void **state)
{
	struct fx *f = *state;
	uint32_t last;
	struct expectation e;
	struct expect_result r;

	hb_kernel_vip(&f->b, 0.1);
	hb_kernel_query(&f->b, 1.0, "r1", 1000, "answered");
	hb_kernel_query(&f->b, 1.5, "r2", 1001, "answered");
	hb_inject(&f->b, 3.0, "r2", "hang", 1, "\"duration\":5.000");
	hb_kernel_query(&f->b, 3.2, "r2", 1002, "dropped");
	hb_kernel_query(&f->b, 3.5, "r1", 1003, "answered");
	last = hb_kernel_query(&f->b, 3.9, "r2", 1004, "dropped");
	hb_health(&f->b, 4.0, "vip", "r2", "down", "timeout after 0.1 s");
	hb_add(&f->b, 4.05, "\"type\":\"health\",\"vip\":\"vip\",\"backend\":\"r2\",\"event\":"
			    "\"flushed\",\"reason\":\"conntrack -D\",\"flows\":2");
	hb_kernel_query(&f->b, 4.5, "r2", 1002, "dropped"); /* pinned: not a new flow */
	hb_kernel_query(&f->b, 5.0, "r1", 1005, "answered");
	hb_heal(&f->b, 8.0, "r2", "hang", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 1);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.9);
	assert_contains(r.detail, "2 new flows to it afterwards (from its query lines");
	assert_contains(r.detail, "of 5 queries through the VIP; marked down");
	SET(e.vip, "vip");
	e.bound = 0.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.9);
	assert_moment(r, 1, 3.9, last, "a new flow still sent to r2");
}

/* A stopped backend writes no line for the flows the kernel still sends it. */
static void test_kernel_detection_closed_port(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	hb_kernel_vip(&f->b, 0.1);
	hb_kernel_query(&f->b, 1.5, "r2", 1001, "answered");
	hb_inject(&f->b, 3.0, "r2", "stop", 1, NULL);
	hb_add(&f->b, 3.0, "\"type\":\"state\",\"resolver\":\"r2\",\"state\":\"down\",\"why\":"
			   "\"stop\",\"address\":\"127.0.0.12:5300\"");
	hb_kernel_query(&f->b, 3.5, "r1", 1003, "answered");
	hb_end(&f->b, 10.0, "duration");
	load(f);
	e = ex(EXPECT_DETECTION, EXPECT_AT_MOST, 1);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_inconclusive(r, "r2's port was closed at 3.000 s, after its fault: the flows the "
			       "kernel VIP vip still sent it left no line");
}

/*
 * readmission through a kernel VIP: a lookup's query at a backend serving an
 * unpublished version fails it, as a route line would. The old checker saw
 * no route line and no admission while behind, and did not fail.
 */
static void test_kernel_readmission(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	uint32_t q;

	hb_kernel_vip(&f->b, 0.0);
	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_boot(&f->b, 0.0, "r2", "internal.", 2);
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR");
	hb_probe(&f->b, 1.0, "vip", "r2", true);
	hb_add(&f->b, 3.0, "\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"file\",\"ok\":true,"
			   "\"zones\":[\"internal. 1\"]"); /* a stale disk copy, for good */
	hb_kernel_query(&f->b, 3.5, "r1", 1000, "answered");
	q = hb_kernel_query(&f->b, 4.0, "r2", 1001, "answered");
	hb_probe(&f->b, 4.5, "vip", "r2", true);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1.5);
	SET(e.backend, "r2");
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_string_equal(r.why, "1 query routed to r2 while it served internal. serial 1, not "
				   "the published 2");
	assert_moment(r, 0, 4.0, q, "vip sent lookup 2 of app to r2, which served internal. "
				    "serial 1, not the published 2");
}

/* ---- readmission ---- */

/* r2 falls behind at 2.0 (publish 2), is current again at 4.0 (boot 2); up at up_t if > 0. */
static uint32_t readmission_history(struct fx *f, double up_t)
{
	uint32_t up = 0;

	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_boot(&f->b, 0.0, "r2", "internal.", 1);
	hb_boot(&f->b, 0.0, "r1", "internal.", 1);
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR"); /* the first admission */
	hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_health(&f->b, 2.5, "vip", "r2", "down", "serial 1 < published 2");
	hb_boot(&f->b, 3.0, "r1", "internal.", 2);   /* another resolver */
	hb_publish(&f->b, 3.5, "other.", 99, false); /* another zone */
	hb_boot(&f->b, 4.0, "r2", "internal.", 2);
	hb_health(&f->b, 4.2, "vip2", "r2", "up", "rcode NOERROR"); /* another VIP */
	if (up_t > 0)
		up = hb_health(&f->b, up_t, "vip", "r2", "up", "rcode NOERROR");
	hb_end(&f->b, 10.0, "duration");
	return up;
}

static void test_readmission(void **state)
{
	struct fx *f = *state;
	uint32_t up = readmission_history(f, 5.5);
	struct expectation e;
	struct expect_result r;

	load(f);
	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 2);
	SET(e.backend, "r2");
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1.5);
	assert_string_equal(r.unit, "s");
	assert_string_equal(r.detail, "current again at 4.000 s, admitted at 5.500 s");
	e.bound = 1;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1.5);
	assert_int_equal(r.nmoments, 1);
	assert_moment(r, 0, 5.5, up, "vip admitted r2");

	/* any VIP: vip2 admitted it first, at 4.2 */
	e.vip[0] = '\0';
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.2);
}

static void test_readmission_never(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	readmission_history(f, 0);
	load(f);
	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 2);
	SET(e.backend, "r2");
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, INFINITY);
	assert_string_equal(r.detail, "current again at 4.000 s, never admitted after");
	assert_int_equal(r.nmoments, 0);
}

static void test_readmission_while_behind(void **state)
{
	struct fx *f = *state;
	char text[64];
	uint32_t bad;
	struct expectation e;
	struct expect_result r;

	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_boot(&f->b, 0.0, "r2", "internal.", 1);
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR");
	hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_health(&f->b, 2.5, "vip", "r2", "down", "serial 1 < published 2");
	bad = hb_health(&f->b, 3.0, "vip", "r2", "up", "rcode NOERROR"); /* still serial 1 */
	hb_health(&f->b, 3.5, "vip", "r2", "down", "serial 1 < published 2");
	hb_boot(&f->b, 4.0, "r2", "internal.", 2);
	hb_health(&f->b, 5.0, "vip", "r2", "up", "rcode NOERROR");
	hb_end(&f->b, 10.0, "duration");
	load(f);

	/* fails outright, whatever the bound, with a reason and no number (never -inf) */
	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 100);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_false(r.has_value);
	assert_string_equal(r.why, "admitted while it served internal. serial 1, not the published 2");
	assert_int_equal(r.nmoments, 1);
	assert_moment(r, 0, 3.0, bad, "vip admitted r2 with serial 1, not the published 2");
	expect_format_value(&r, text, sizeof text);
	assert_string_equal(text, "-");
	e.op = EXPECT_AT_LEAST;
	e.bound = -1e9;
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);

	/* a window after that admission: the one at 5.0, 1 s after it caught up */
	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 100);
	SET(e.backend, "r2");
	e.from = 4;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1);
}

/* The source publishes two zones before r2 boots: r2 is compared with its own zone's. */
static void test_readmission_two_zones(void **state)
{
	struct fx *f = *state;
	uint32_t up;
	struct expectation e;
	struct expect_result r;

	hb_publish(&f->b, 0.001, "internal.", 1, true);
	hb_publish(&f->b, 0.001, "other.", 99, true);
	hb_boot(&f->b, 0.004, "r2", "internal.", 1);
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR"); /* current: 1 of 1 */
	hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_health(&f->b, 2.5, "vip", "r2", "down", "serial 1 < published 2");
	hb_boot(&f->b, 4.0, "r2", "internal.", 2);
	up = hb_health(&f->b, 5.5, "vip", "r2", "up", "rcode NOERROR");
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1.5); /* not "admitted while ... behind the published 99" */
	assert_string_equal(r.detail, "current again at 4.000 s, admitted at 5.500 s");
	assert_moment(r, 0, 5.5, up, "vip admitted r2");
}

static void test_readmission_inconclusive(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	/* r1 never behind; r2 behind from 2.0 and never caught up (nor admitted) */
	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 1);
	hb_boot(&f->b, 0.0, "r2", "internal.", 1);
	hb_health(&f->b, 0.5, "vip", "r1", "up", "rcode NOERROR");
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR");
	hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_boot(&f->b, 2.0, "r1", "internal.", 2); /* at once: never behind */
	hb_health(&f->b, 2.5, "vip", "r2", "down", "serial 1 < published 2");
	hb_health(&f->b, 3.0, "vip", "r1", "up", "rcode NOERROR");
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 2);
	SET(e.backend, "r1");
	r = eval(f, &e);
	assert_inconclusive(r, "r1 never served a version other than the published one in [0 s, "
	                       "the end): nothing to re-admit");
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_inconclusive(r, "r2 never caught up with the published version in [0 s, the end)");
}

/*
 * Judged from routing: a lookup routed to r2 while it serves a version that
 * is not the published one fails readmission, though the VIP never marked it
 * up (no health check, or one that never fires). The old checker, reading
 * health `up` lines only, called this inconclusive ("never caught up ...
 * never admitted while behind").
 */
static void test_readmission_routed_while_behind(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	struct lk l1, l2;
	uint32_t route;
	char text[64];

	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_boot(&f->b, 0.0, "r2", "internal.", 2);
	hb_add(&f->b, 3.0, "\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"file\",\"ok\":true,"
	                   "\"zones\":[\"internal. 1\"]"); /* a stale disk copy, for good */
	l1 = hb_invoke(&f->b, 3.5, "app", "glibc", "vip");
	hb_route(&f->b, 3.5, "vip", "r1", true, &l1, "first"); /* the current one: fine */
	hb_done(&f->b, &l1, "ok", 1, "fresh", 1);
	l2 = hb_invoke(&f->b, 4.0, "app", "glibc", "vip");
	route = hb_route(&f->b, 4.0, "vip", "r2", true, &l2, "first");
	hb_done(&f->b, &l2, "ok", 1, "stale", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1.5);
	SET(e.backend, "r2");
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_false(r.has_value);
	assert_string_equal(r.why, "1 query routed to r2 while it served internal. serial 1, not "
	                           "the published 2");
	assert_int_equal(r.nmoments, 1);
	assert_moment(r, 0, 4.0, route, "vip routed lookup 2 of app to r2, which served internal. "
	                                "serial 1, not the published 2");
	expect_format_value(&r, text, sizeof text);
	assert_string_equal(text, "-");

	/* a window before it: r2 was current then */
	e.to = 3;
	r = eval(f, &e);
	assert_inconclusive(r, "r2 never served a version other than the published one");
	/* r1 was never behind */
	e.to = -1;
	SET(e.backend, "r1");
	r = eval(f, &e);
	assert_inconclusive(r, "r1 never served a version other than the published one");
}

/* A VIP without health checks: readmission fails with that reason (old: inconclusive). */
static void test_readmission_no_health_check(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_boot(&f->b, 0.0, "r2", "internal.", 1);
	hb_route(&f->b, 1.0, "vip", "r2", true, NULL, NULL);
	hb_publish(&f->b, 2.0, "internal.", 2, false); /* r2 behind, never caught up */
	hb_route(&f->b, 5.0, "vip", "r1", true, NULL, NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1.5);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_false(r.has_value);
	assert_string_equal(r.why, "no health check of r2 ran (none configured, or it never "
	                           "fired): nothing takes a backend that is behind out, or puts "
	                           "it back");
	assert_int_equal(r.nmoments, 0);
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_contains(r.why, "no health check of r2 ran on vip");

	/* a probe line says there is one: then it never caught up */
	hb_reset(&f->b);
	hb_publish(&f->b, 0.0, "internal.", 1, true);
	hb_boot(&f->b, 0.0, "r2", "internal.", 1);
	hb_publish(&f->b, 2.0, "internal.", 2, false);
	hb_probe(&f->b, 2.5, "vip", "r2", false);
	hb_end(&f->b, 10.0, "duration");
	load(f);
	r = eval(f, &e);
	assert_inconclusive(r, "r2 never caught up with the published version");
}

/*
 * Not the published version is what counts, not a lower serial: a disk copy
 * whose serial was set higher by hand (3, never published) while 2 is
 * published. The old checker compared serials and let the VIP admit it.
 */
static void test_readmission_higher_serial(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	uint32_t up;

	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r2", "internal.", 2);
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR");
	hb_health(&f->b, 3.0, "vip", "r2", "down", "timeout after 0.1 s");
	hb_add(&f->b, 3.5, "\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"file\",\"ok\":true,"
	                   "\"zones\":[\"internal. 3\"]");
	up = hb_health(&f->b, 4.0, "vip", "r2", "up", "rcode NOERROR");
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1.5);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_string_equal(r.why, "admitted while it served internal. serial 3, not the published 2");
	assert_moment(r, 0, 4.0, up, "vip admitted r2 with serial 3, not the published 2");
}

/*
 * Versions by content: a disk copy with the very serial that is published
 * (2) but other records (digest b...) is not the published version (digest
 * a...). Serials alone took the two for one and let the VIP admit it.
 */
static void test_readmission_same_serial_other_content(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	uint32_t up;
	const char *pub = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *old = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

	hb_add(&f->b, 0.0, "\"type\":\"version\",\"zone\":\"internal.\",\"serial\":2,\"digest\":\"%s\","
	                   "\"known\":\"published\",\"file\":\"v2.zone\"", pub);
	hb_add(&f->b, 0.0, "\"type\":\"publish\",\"source\":\"truth\",\"zone\":\"internal.\","
	                   "\"serial\":2,\"file\":\"v2.zone\",\"initial\":true,\"digest\":\"%s\"", pub);
	hb_add(&f->b, 0.0, "\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"source\",\"ok\":true,"
	                   "\"zones\":[\"internal. 2\"],\"digests\":[\"%s\"]", pub);
	hb_health(&f->b, 0.5, "vip", "r2", "up", "rcode NOERROR");
	hb_health(&f->b, 3.0, "vip", "r2", "down", "timeout after 0.1 s");
	hb_add(&f->b, 3.5, "\"type\":\"version\",\"zone\":\"internal.\",\"serial\":2,\"digest\":\"%s\","
	                   "\"known\":\"disk\",\"file\":\"v2-old.zone\"", old);
	hb_add(&f->b, 3.5, "\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"file\",\"ok\":true,"
	                   "\"zones\":[\"internal. 2\"],\"digests\":[\"%s\"]", old);
	up = hb_health(&f->b, 4.0, "vip", "r2", "up", "rcode NOERROR");
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1.5);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_int_equal(r.outcome, OUTCOME_FAIL);
	assert_moment(r, 0, 4.0, up, "vip admitted r2 with serial 2 but not the published records");
}

/* ---- amplification ---- */

/*
 * A query the join could not give to one lookup (join: ambiguous) may be
 * any of them: the amplification lies between the joined count and the
 * joined count plus those, and a bound between the two cannot be judged.
 * The old checker (no ambiguity in the history) took the lower figure.
 */
static void test_amplification_ambiguous(void **state)
{
	struct fx *f = *state;
	struct lk l;
	struct expectation e;
	struct expect_result r;

	for (int i = 0; i < 2; i++) {
		l = hb_invoke(&f->b, 1.0 + i, "app", "glibc", "vip");
		hb_route(&f->b, 1.0 + i, "vip", "r1", true, &l, "first");
		hb_done(&f->b, &l, "ok", 10, "fresh", 1);
	}
	hb_add(&f->b, 2.5, "\"type\":\"route\",\"vip\":\"vip\",\"transport\":\"udp\","
	                   "\"src\":\"127.0.0.1:41999\",\"id\":7,\"qname\":\"db.internal.\","
	                   "\"qtype\":\"A\",\"backend\":\"r1\",\"flow\":\"new\","
	                   "\"action\":\"forwarded\",\"client\":\"app\",\"join\":\"ambiguous\"");
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 1.2); /* 1.0 passes, 1.5 would not */
	r = eval(f, &e);
	assert_inconclusive(r, "1 wire queries in [0 s, the end) could not be told apart between "
	                       "lookups (join: ambiguous): the amplification is between 1.000 and "
	                       "1.500 x");
	e.bound = 2; /* both pass */
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1.0);
	assert_contains(r.detail, "ambiguous queries not counted");
	e.bound = 0.9; /* both fail */
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1.0);
}

static void test_amplification(void **state)
{
	struct fx *f = *state;
	struct lk l;
	struct expectation e;
	struct expect_result r;

	l = hb_invoke(&f->b, 1.0, "app", "glibc", "r1");
	hb_query(&f->b, 1.0, "r1", "answered", &l, "first", NULL);
	hb_done(&f->b, &l, "ok", 10, "fresh", 1);
	l = hb_invoke(&f->b, 2.0, "app", "glibc", "r1");
	hb_query(&f->b, 2.0, "r1", "dropped", &l, "first", NULL);
	hb_query(&f->b, 2.5, "r1", "answered", &l, "retry", NULL);
	hb_done(&f->b, &l, "ok", 600, "fresh", 2);
	l = hb_invoke(&f->b, 3.0, "app", "glibc", "r1");
	hb_query(&f->b, 3.0, "r1", "answered", &l, "first", NULL);
	hb_query(&f->b, 3.0, "r1", "dropped", &l, "pair", NULL);
	hb_query(&f->b, 3.5, "r1", "answered", &l, "retry", NULL);
	hb_done(&f->b, &l, "ok", 600, "fresh", 3);
	l = hb_invoke(&f->b, 4.0, "app", "glibc", "vip");
	hb_route(&f->b, 4.0, "vip", "r1", true, &l, "first");
	hb_route(&f->b, 4.5, "vip", "r2", true, &l, "retry");
	hb_done(&f->b, &l, "ok", 600, "fresh", 2);
	l = hb_invoke(&f->b, 5.0, "app", "glibc", "r1"); /* cancelled: not counted */
	hb_query(&f->b, 5.0, "r1", "dropped", &l, "first", NULL);
	hb_query(&f->b, 5.5, "r1", "dropped", &l, "retry", NULL);
	hb_done(&f->b, &l, "cancelled", 600, NULL, 2);
	l = hb_invoke(&f->b, 8.0, "other", "ldns", "r1");
	hb_query(&f->b, 8.0, "r1", "dropped", &l, "first", NULL);
	hb_query(&f->b, 8.2, "r1", "dropped", &l, "retry", NULL);
	hb_query(&f->b, 8.4, "r1", "rcode", &l, "retry", "\"rcode\":\"SERVFAIL\",\"an\":0");
	hb_done(&f->b, &l, "fail", 500, NULL, 3);
	l.id = 99; /* a join to a lookup the history does not hold: skipped */
	hb_query(&f->b, 9.0, "r1", "answered", &l, "retry", NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	/* every completed lookup: wire 1 + 2 + 3 + 2 + 3 over 5 */
	e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 2.2);
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 2.2);
	assert_string_equal(r.unit, "x");
	assert_string_equal(r.detail, "11 wire queries for 5 lookups in [0 s, the end)");
	SET(e.client, "app");
	e.bound = 1.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2);
	assert_string_equal(r.why, "observed 2 x, expected <= 1.5 x");
	assert_int_equal(r.nmoments, 0);
	e.from = 2;
	e.to = 4;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2.5);

	/* per cause: the joined query and route lines of that cause */
	const struct {
		const char *client, *cause;
		double from, want;
	} causes[] = {
	        {"app", "retry", 0, 0.75}, /* lines at 2.5, 3.5 (queries) and 4.5 (route) */
	        {"app", "first", 0, 1},    {"app", "pair", 0, 0.25}, {"app", "search", 0, 0},
	        {"", "retry", 0, 1},    /* + other's two retries, over 5 lookups */
	        {"app", "retry", 2, 1}, /* lookups 2 to 4: their 3 retries over 3 */
	        {"other", "retry", 0, 2},
	};
	for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++) {
		e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 10);
		SET(e.client, causes[i].client);
		SET(e.cause, causes[i].cause);
		e.from = causes[i].from;
		r = eval(f, &e);
		if (r.outcome != OUTCOME_PASS || fabs(r.observed - causes[i].want) > 1e-9)
			fail_msg("amplification of %s, cause %s, from %g: %s %g, expected %g",
			         causes[i].client, causes[i].cause, causes[i].from,
			         outcome_name(r.outcome), r.observed, causes[i].want);
	}
	e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 0.5);
	SET(e.client, "app");
	SET(e.cause, "retry");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 0.75);
	assert_string_equal(r.detail,
	                    "3 wire queries of cause retry for 4 lookups in [0 s, the end)");

	/* no completed lookup in the window (the cancelled one, then nothing) */
	e.from = 5;
	e.to = 6;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [5 s, 6 s)");
	e = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 0.5);
	e.from = 9;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup completed in [9 s, the end)");
}

/* ---- survivor_load ---- */

static void test_survivor_load(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	hb_query(&f->b, 0.5, "r1", "answered", NULL, NULL, NULL); /* a probe: no client's */
	hb_inject(&f->b, 1.0, "r1", "capacity", 3, "\"qps\":10.000,\"queue\":5");
	hb_query(&f->b, 1.01, "r1", "answered", NULL, NULL, "\"fault\":3"); /* a probe */
	for (int k = 0; k < 15; k++) /* 2.00 to 2.70: 10 in [2, 2.5), 5 in [2.5, 3) */
		hb_query(&f->b, 2.0 + 0.05 * k, "r1", "answered", NULL, NULL,
		         "\"fault\":3,\"client\":\"app\",\"join\":\"ambiguous\"");
	for (int k = 0; k < 5; k++)
		hb_query(&f->b, 3.0 + 0.1 * k, "r1", "queue-full", NULL, NULL,
		         "\"fault\":3,\"client\":\"app\",\"join\":\"ambiguous\"");
	for (int k = 0; k < 30; k++) /* another resolver */
		hb_query(&f->b, 4.0 + 0.02 * k, "r2", "answered", NULL, NULL, NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_SURVIVOR_LOAD, EXPECT_AT_MOST, 2);
	SET(e.resolver, "r1");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1.5);
	assert_string_equal(r.unit, "x");
	assert_string_equal(r.detail, "peak 15 queries/s at r1 (1 s from 2.000 s) against a "
	                              "capacity of 10/s; 22 queries in [0 s, the end)");
	e.bound = 1.2;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1.5);
	assert_int_equal(r.nmoments, 0);
	/* half-second buckets: 10 in [2, 2.5) is 20/s */
	e.bucket = 0.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2);
	assert_contains(r.detail, "peak 20 queries/s at r1 (0.5 s from 2.000 s)");
	/* a window: only the 5 at 3.x */
	e.bucket = 1;
	e.from = 3;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0.5);

	/* r2 has no capacity fault; r1's comes at the end of a window [0, 1) */
	e = ex(EXPECT_SURVIVOR_LOAD, EXPECT_AT_MOST, 2);
	SET(e.resolver, "r2");
	r = eval(f, &e);
	assert_inconclusive(r, "r2 has no capacity limit (r:capacity) before the window ends");
	SET(e.resolver, "r1");
	e.to = 1;
	r = eval(f, &e);
	assert_inconclusive(r, "r1 has no capacity limit");
	/* nothing reached r1 in [5, 9); a window after the run */
	e.from = 5;
	e.to = 9;
	r = eval(f, &e);
	assert_inconclusive(r, "no query reached r1 in [5 s, 9 s)");
	e.from = 20;
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "empty window [20 s, the end)");
	/* Only probes in the window: a load that says nothing of the clients' (an at_most
	 * that could not have failed), inconclusive. */
	e = ex(EXPECT_SURVIVOR_LOAD, EXPECT_AT_MOST, 2);
	SET(e.resolver, "r1");
	e.from = 0.4;
	e.to = 1.5;
	r = eval(f, &e);
	assert_inconclusive(r, "no client's query reached r1 in [0.4 s, 1.5 s) (its 2 queries were "
	                       "health probes and the like): its load says nothing of the clients'");
}

/* ---- goodput ---- */

static void test_goodput(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	for (int i = 0; i < 10; i++) /* 2/s in [0, 5) */
		hb_lookup(&f->b, 0.25 + 0.5 * i, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 4.8, "app", "fail", 10, NULL, 1);
	for (int i = 0; i < 20; i++) /* 4/s in [5, 10) */
		hb_lookup(&f->b, 5.1 + 0.25 * i, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 9.95, "app", "timeout", 1000, NULL, 2); /* done 10.95 */
	hb_end(&f->b, 11.0, "duration");
	load(f);

	e = ex(EXPECT_GOODPUT, EXPECT_AT_LEAST, 2.5);
	e.to = 10;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 3);
	assert_string_equal(r.unit, "/s");
	assert_string_equal(r.detail, "30 ok lookups in 10.000 s (32 invoked)");
	e.bound = 3.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 3);
	assert_string_equal(r.why, "observed 3 /s, expected >= 3.5 /s");
	assert_int_equal(r.nmoments, 0);
	e.from = 5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 4);
	e.from = 0;
	e.to = 5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2);
	/* the window ends with the run: [5, 11) */
	e = ex(EXPECT_GOODPUT, EXPECT_AT_MOST, 100);
	e.from = 5;
	e.to = 60;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 20.0 / 6);

	/* nothing invoked in the window; a window after the run */
	e.from = 10.5;
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup was invoked in [10.5 s, the end)");
	e.from = 12;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup was invoked in [12 s, the end)");
}

/* ---- recovery ---- */

static void recovery_history(struct fx *f)
{
	static const double after[] = {5.5, 6.2, 6.7, 7.1, 7.4, 7.7, 8.1,
	                               8.3, 8.5, 8.7, 9.1, 9.3, 9.5, 9.7};

	for (int i = 0; i < 8; i++) /* 4/s in [0, 2) */
		hb_lookup(&f->b, 0.1 + 0.25 * i, "app", "ok", 10, "fresh", 1);
	for (int i = 0; i < 4; i++) /* 2/s in [2, 4) */
		hb_lookup(&f->b, 2.1 + 0.5 * i, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 4.1, "app", "timeout", 300, NULL, 2); /* nothing ok in [4, 5) */
	hb_lookup(&f->b, 4.5, "app", "timeout", 300, NULL, 2);
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
		hb_lookup(&f->b, after[i], "app", "ok", 10, "fresh", 1); /* 1, 2, 3, 4, 4 per s */
	hb_end(&f->b, 10.0, "duration");
}

static void test_recovery(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	recovery_history(f);
	load(f);

	/* baseline [0, 4): 3/s; 90% of it (2.7) is back in [7, 8) */
	e = ex(EXPECT_RECOVERY, EXPECT_AT_MOST, 3);
	e.from = 4;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 3);
	assert_string_equal(r.unit, "s");
	assert_contains(r.detail, "baseline 3.0 ok/s in [0 s, 4 s); back to 90% of it");
	e.bound = 2.5;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 3);
	assert_string_equal(r.why, "observed 3 s, expected <= 2.5 s");
	assert_int_equal(r.nmoments, 0);

	const struct {
		double bfrom, bto, fraction, bucket, want;
	} cases[] = {
	        {-1, -1, 0.5, 1, 2}, /* 1.5/s: [6, 7) */
	        {2, 4, 0.9, 1, 2},   /* 1.8/s */
	        {0, 2, 0.9, 1, 4},   /* 3.6/s: [8, 9) */
	        {-1, -1, 0.9, 2, 4}, /* 2.7/s: [4, 6) 0.5/s, [6, 8) 2.5/s, [8, 10) 4/s */
	        {2, 4, 0.9, 2, 2},   /* 1.8/s: [6, 8) */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		e = ex(EXPECT_RECOVERY, EXPECT_AT_MOST, 100);
		e.from = 4;
		e.baseline_from = cases[i].bfrom;
		e.baseline_to = cases[i].bto;
		e.fraction = cases[i].fraction;
		e.bucket = cases[i].bucket;
		r = eval(f, &e);
		if (r.outcome != OUTCOME_PASS || fabs(r.observed - cases[i].want) > 1e-9)
			fail_msg("recovery %zu: %s %g, expected %g (%s)", i,
			         outcome_name(r.outcome), r.observed, cases[i].want, r.detail);
	}
}

static void test_recovery_never(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	char v[32];

	recovery_history(f);
	load(f);

	/* against [0, 2) (4/s), never back to 3.6/s before 8 */
	e = ex(EXPECT_RECOVERY, EXPECT_AT_MOST, 3);
	e.from = 4;
	e.to = 8;
	e.baseline_from = 0;
	e.baseline_to = 2;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, INFINITY);
	assert_contains(r.detail, "never back to 90% of it in [4 s, 8 s): a metastable failure");
	expect_format_value(&r, v, sizeof v);
	assert_string_equal(v, "never");
}

static void test_recovery_inconclusive(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;

	recovery_history(f);
	load(f);

	/* no baseline window before from = 0 */
	e = ex(EXPECT_RECOVERY, EXPECT_AT_MOST, 3);
	r = eval(f, &e);
	assert_inconclusive(r, "recovery needs a baseline window before 'from'");
	/* a baseline with no goodput: [4, 5) */
	e.from = 5;
	e.baseline_from = 4;
	e.baseline_to = 5;
	r = eval(f, &e);
	assert_inconclusive(r, "no goodput in the baseline [4 s, 5 s)");
	/* a window after the run: nothing to measure, not "never recovered" */
	e = ex(EXPECT_RECOVERY, EXPECT_AT_MOST, 3);
	e.from = 12;
	r = eval(f, &e);
	assert_inconclusive(r, "empty window [12 s, the end)");
	e.from = 10;
	r = eval(f, &e);
	assert_inconclusive(r, "empty window [10 s, the end)");
	/* the load stopped before the window: no lookup to recover (the old checker: never) */
	e.from = 9.8;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup was invoked in [9.8 s, the end): recovery was never tried");
	/* a client that is not in it */
	e.from = 4;
	SET(e.client, "ghost");
	r = eval(f, &e);
	assert_inconclusive(r, "no client named 'ghost'");
}

/* ---- flaps ---- */

static void test_flaps(void **state)
{
	struct fx *f = *state;
	uint32_t d1, u1, d2;
	struct expectation e;
	struct expect_result r;

	hb_probe(&f->b, 0.5, "vip", "r2", true);
	hb_probe(&f->b, 1.0, "vip", "r1", true);
	hb_probe(&f->b, 1.5, "vip", "r2", false);
	d1 = hb_health(&f->b, 2.0, "vip", "r2", "down", "timeout after 0.1 s");
	hb_probe(&f->b, 2.5, "vip", "r2", true);
	u1 = hb_health(&f->b, 3.0, "vip", "r2", "up", "rcode NOERROR");
	hb_probe(&f->b, 4.0, "vip", "r2", false);
	d2 = hb_health(&f->b, 5.0, "vip", "r2", "down", "rcode SERVFAIL");
	hb_health(&f->b, 6.0, "vip", "r2", "up", "rcode NOERROR");
	hb_probe(&f->b, 7.0, "vip", "r2", true);
	hb_probe(&f->b, 8.0, "vip", "r1", true);
	hb_probe(&f->b, 9.0, "vip", "r2", true);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	/* 4 changes in 10 s */
	e = ex(EXPECT_FLAPS, EXPECT_AT_MOST, 30);
	SET(e.backend, "r2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 24);
	assert_string_equal(r.unit, "/min");
	assert_string_equal(r.detail, "4 up/down changes over 6 probes in 10.000 s");
	e.bound = 6;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 24);
	assert_int_equal(r.nmoments, 3);
	assert_moment(r, 0, 2.0, d1, "vip: r2 down (timeout after 0.1 s)");
	assert_moment(r, 1, 3.0, u1, "vip: r2 up (rcode NOERROR)");
	assert_moment(r, 2, 5.0, d2, "vip: r2 down (rcode SERVFAIL)");
	/* r1 never changed; every backend; a window */
	SET(e.backend, "r1");
	e.bound = 0;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	e = ex(EXPECT_FLAPS, EXPECT_AT_MOST, 24);
	SET(e.vip, "vip");
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 24);
	e.from = 6.5;
	e.bound = 0;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 0);
	e.from = 6; /* the up at 6.0, over 4 s */
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 15);

	/* no probe in the window; a window after the run */
	e.from = 9.5;
	r = eval(f, &e);
	assert_inconclusive(r, "no health probe in [9.5 s, the end)");
	e.from = 4.5;
	e.to = 6.5; /* changes, but no probe */
	r = eval(f, &e);
	assert_inconclusive(r, "no health probe in [4.5 s, 6.5 s)");
	e.from = 30;
	e.to = -1;
	r = eval(f, &e);
	assert_inconclusive(r, "no health probe in [30 s, the end)");
}

/* ---- check(fn) ---- */

struct custom {
	int mode; /* 0: count the faults; 1: refuse; 2: not a number */
	const struct hist *h;
	const struct expectation *e;
	int calls;
};

static int custom_fn(void *arg, const struct hist *h, const struct expectation *e, double *observed,
                     char *why, size_t whylen)
{
	struct custom *c = arg;
	size_t n;

	c->calls++;
	c->h = h;
	c->e = e;
	if (c->mode == 1) {
		snprintf(why, whylen, "the function said no");
		return -1;
	}
	hist_faults(h, &n);
	*observed = c->mode == 2 ? NAN : c->mode == 3 ? -INFINITY : c->mode == 4 ? INFINITY : (double)n;
	return 0;
}

static void test_custom(void **state)
{
	struct fx *f = *state;
	struct custom c = {0};
	struct expectation e;
	struct expect_result r;

	hb_inject(&f->b, 1.0, "r1", "hang", 1, NULL);
	hb_heal(&f->b, 2.0, "r1", "hang", 1);
	hb_end(&f->b, 10.0, "duration");
	load(f);

	e = ex(EXPECT_CUSTOM, EXPECT_AT_MOST, 2);
	e.custom = custom_fn;
	e.custom_arg = &c;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 2);
	assert_int_equal(c.calls, 1);
	assert_ptr_equal(c.h, f->h);
	assert_ptr_equal(c.e, &e);
	e.bound = 1;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2);
	assert_string_equal(r.why, "observed 2, expected <= 1");
	e.op = EXPECT_AT_LEAST;
	e.bound = 3;
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 2);

	c.mode = 1;
	r = eval(f, &e);
	assert_inconclusive(r, "the function said no");
	c.mode = 2;
	r = eval(f, &e);
	assert_inconclusive(r, "the measure is not a number");
	/* an infinite number is no measure either: it would print as "-inf" (old: fail, "-inf") */
	c.mode = 3;
	r = eval(f, &e);
	assert_inconclusive(r, "the check function returned an infinite number");
	c.mode = 4;
	r = eval(f, &e);
	assert_inconclusive(r, "the check function returned an infinite number");
}

/* No value is ever printed as inf, -inf or nan: "never" or "-" (old: "-inf"). */
static void test_format_no_infinity(void **state)
{
	struct expect_result r;
	struct expectation e = ex(EXPECT_READMISSION, EXPECT_AT_MOST, 1.5);
	char text[64];
	static const double values[] = {-INFINITY, NAN, -NAN};

	(void)state;
	memset(&r, 0, sizeof r);
	r.has_value = true;
	snprintf(r.unit, sizeof r.unit, "s");
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		r.observed = values[i];
		expect_format_value(&r, text, sizeof text);
		assert_string_equal(text, "-");
	}
	r.observed = INFINITY;
	expect_format_value(&r, text, sizeof text);
	assert_string_equal(text, "never");
	r.observed = 1.5;
	expect_format_value(&r, text, sizeof text);
	assert_string_equal(text, "1.5 s");
	expect_format_bound(&e, &r, text, sizeof text);
	assert_string_equal(text, "<= 1.5 s");
}

/* ---- the verdict ---- */

/* Two lookups, ok, 10 and 20 ms; then the end line unless end is NULL. */
static void plain_history(struct fx *f, const char *end)
{
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_lookup(&f->b, 2.0, "app", "ok", 20, "fresh", 1);
	if (end)
		hb_end(&f->b, 10.0, end);
}

/* e[0] passes, e[1] fails, e[2] is inconclusive */
static void three(struct expectation *e)
{
	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	e[1] = ex(EXPECT_LATENCY, EXPECT_AT_MOST, 5);
	e[2] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	e[2].from = 5;
}

static struct verdict_info verdict(struct fx *f, const struct expectation *e, size_t n,
                                   struct expect_result *res)
{
	struct verdict_info v;

	memset(&v, 0xa5, sizeof v);
	checker_verdict(f->h, e, n, res, &v);
	return v;
}

/*
 * A remote daemon dropped query events (a `lost` line): a measure that reads
 * query lines is inconclusive when the loss falls in its window (and on its
 * resolver, when it names one), pass or fail; a measure of lookups alone is
 * not; an untouched fault's reason says the lost lines may have met it.
 */
static void test_verdict_remote_lost(void **state)
{
	struct fx *f = *state;
	struct expectation e[5];
	struct expect_result res[5];
	struct verdict_info v;
	uint32_t lost_line;
	char want[256];

	hb_inject(&f->b, 0.5, "ra", "hang", 3, NULL);
	hb_inject(&f->b, 0.5, "rb", "capacity", 4, "\"qps\":10.000,\"queue\":5");
	hb_inject(&f->b, 0.5, "ra", "delay", 7, "\"delay_ms\":5.000,\"name\":\"x.internal.\"");
	for (int i = 0; i < 10; i++) {
		double t = 1.0 + 0.4 * i;
		struct lk l = hb_invoke(&f->b, t, "app", "c-ares", "ra,rb");
		hb_query(&f->b, t + 0.001, "ra", "dropped", &l, "first",
		         "\"fault\":3,\"remote\":true");
		hb_query(&f->b, t + 0.2, "rb", "answered", &l, "retry", "\"fault\":4");
		hb_done(&f->b, &l, "ok", 201, "fresh", 2);
	}
	lost_line = hb_add(&f->b, 4.9,
	                   "\"type\":\"lost\",\"target\":\"ra\",\"queries\":40,"
	                   "\"from\":4.000000,\"to\":4.500000");
	hb_end(&f->b, 6.0, "duration");
	load(f);

	size_t n;
	const struct hist_lost *ls = hist_losts(f->h, &n);
	assert_int_equal(n, 1);
	assert_string_equal(hist_str(f->h, ls[0].target), "ra");
	assert_int_equal(ls[0].queries, 40);
	assert_near(ls[0].from, 4.0);
	assert_near(ls[0].to, 4.5);
	assert_int_equal(ls[0].line, lost_line);
	assert_int_equal(hist_line_type(f->h, lost_line - 1), HIST_LOST);

	e[0] = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 3); /* the whole run: holds the loss */
	e[1] = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 3);
	e[1].to = 3.9;                                        /* ends before it */
	e[2] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9); /* lookups alone */
	e[3] = ex(EXPECT_SURVIVOR_LOAD, EXPECT_AT_MOST, 2);   /* about rb: ra's loss is not its */
	SET(e[3].resolver, "rb");
	e[4] = ex(EXPECT_AMPLIFICATION, EXPECT_AT_MOST, 1.5); /* would fail: inconclusive too */
	v = verdict(f, e, 5, res);
	assert_int_equal(res[0].outcome, OUTCOME_INCONCLUSIVE);
	snprintf(want, sizeof want,
	         "observed 2 x, but the remote daemon ra lost 40 of its query events from 4.000 s "
	         "to 4.500 s (history line %u), which this measure reads",
	         lost_line);
	assert_string_equal(res[0].why, want);
	assert_int_equal(res[1].outcome, OUTCOME_PASS);
	assert_int_equal(res[2].outcome, OUTCOME_PASS);
	assert_int_equal(res[3].outcome, OUTCOME_PASS);
	assert_int_equal(res[4].outcome, OUTCOME_INCONCLUSIVE);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	/* the delay met nobody: untouched, and the loss may be why */
	assert_int_equal(v.nuntouched, 1);
	assert_contains(v.untouched[0], "delay on ra (fault 7)");
	snprintf(want, sizeof want,
	         "; the remote daemon ra lost 40 query events (history line %u): a lookup may have "
	         "met them unseen",
	         lost_line);
	assert_contains(v.why, want);
}

static void test_verdict(void **state)
{
	struct fx *f = *state;
	struct expectation e[3], two[2];
	struct expect_result res[3];
	struct verdict_info v;

	plain_history(f, "duration");
	load(f);
	three(e);

	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_PASS);
	assert_int_equal(v.passed, 1);
	assert_int_equal(v.failed + v.inconclusive + v.nuntouched, 0);
	/* a run without faults is judged as it is, and says so */
	assert_true(v.no_faults);
	assert_string_equal(v.why, "no faults injected");
	assert_int_equal(res[0].outcome, OUTCOME_PASS);

	v = verdict(f, e, 2, res);
	assert_int_equal(v.verdict, VERDICT_FAIL);
	assert_int_equal(v.passed, 1);
	assert_int_equal(v.failed, 1);
	assert_string_equal(v.why, "1 of 2 expectations failed; no faults injected");
	assert_int_equal(res[1].outcome, OUTCOME_FAIL);

	two[0] = e[0];
	two[1] = e[2];
	v = verdict(f, two, 2, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_int_equal(v.passed, 1);
	assert_int_equal(v.inconclusive, 1);
	assert_string_equal(v.why, "1 of 2 expectations could not be measured; no faults injected");

	/* a failure outweighs an inconclusive */
	v = verdict(f, e, 3, res);
	assert_int_equal(v.verdict, VERDICT_FAIL);
	assert_int_equal(v.passed + v.failed + v.inconclusive, 3);
	assert_string_equal(v.why, "1 of 3 expectations failed; no faults injected");

	/* no expectation: a plain run */
	v = verdict(f, e, 0, res);
	assert_int_equal(v.verdict, VERDICT_NONE);
	assert_int_equal(v.passed + v.failed + v.inconclusive, 0);
}

/* One lookup of app at 3.4, ok; the fault's query line (extra), joined to it when join. */
static void query_fault_history(struct fx *f, const char *kind, const char *extra, bool join)
{
	struct lk l;

	hb_reset(&f->b);
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_inject(&f->b, 3.0, "r2", kind, 4, NULL);
	l = hb_invoke(&f->b, 3.4, "app", "ldns", "r2");
	hb_query(&f->b, 3.5, "r2", "answered", join ? &l : NULL, "first", extra);
	hb_done(&f->b, &l, "ok", 200, "fresh", 1);
	hb_heal(&f->b, 5.0, "r2", kind, 4);
	hb_end(&f->b, 10.0, "duration");
	load(f);
}

static void test_verdict_untouched_query_faults(void **state)
{
	struct fx *f = *state;
	static const char *const kinds[] = {"hang",     "delay", "rcode",
	                                    "truncate", "wrong", "capacity"};
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;
	char want[128];

	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	for (size_t i = 0; i < 6; i++) {
		const char *mine = i == 1 ? "\"delay_fault\":4,\"delay_ms\":250.000" : "\"fault\":4";

		/* queries reach r2 after the fault, but no query line names it */
		query_fault_history(f, kinds[i], "\"fault\":5", true);
		v = verdict(f, e, 1, res);
		assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
		assert_int_equal(v.nuntouched, 1);
		assert_false(v.no_faults);
		snprintf(want, sizeof want, "%s on r2 (fault 4) at 3.000 s", kinds[i]);
		assert_string_equal(v.untouched[0], want);
		assert_contains(v.why, "1 injected fault(s) never touched the system (no client's "
		                       "lookup met them): ");
		assert_contains(v.why, want);
		/* and no lookup met any: the expectation itself cannot pass */
		assert_int_equal(res[0].outcome, OUTCOME_INCONCLUSIVE);
		assert_string_equal(res[0].why, "no lookup met a fault in [0 s, the end) (a measure "
		                                "without faults says baseline = true)");

		/* a query line naming it that is no lookup's (a health probe, s:query): the
		 * old checker took this for a touch */
		query_fault_history(f, kinds[i], mine, false);
		v = verdict(f, e, 1, res);
		assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
		assert_int_equal(v.nuntouched, 1);

		/* a lookup's query line naming it (as fault, or as delay_fault) */
		query_fault_history(f, kinds[i], mine, true);
		v = verdict(f, e, 1, res);
		assert_int_equal(v.verdict, VERDICT_PASS);
		assert_int_equal(v.nuntouched, 0);
		assert_string_equal(v.why, "");
		assert_int_equal(res[0].outcome, OUTCOME_PASS);
	}

	/* an untouched fault spoils a pass, never a failure */
	hb_reset(&f->b);
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_inject(&f->b, 3.0, "r2", "hang", 4, NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);
	e[0].bound = 1.1;
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_FAIL);
	assert_int_equal(v.nuntouched, 1);
	/* ... and a plain run has no verdict to spoil */
	v = verdict(f, e, 0, res);
	assert_int_equal(v.verdict, VERDICT_NONE);
}

/* A state line of resolver r. */
static uint32_t hb_state(struct hb *b, double t, const char *r, const char *state, const char *why)
{
	return hb_add(b, t,
	              "\"type\":\"state\",\"resolver\":\"%s\",\"state\":\"%s\",\"why\":\"%s\","
	              "\"address\":\"127.0.0.11:53\"",
	              r, state, why);
}

/*
 * r1 and r2 serve the published serial 2; r1 crashes at 3.0, is down until
 * 4.0, boots a disk copy (serial stale_serial; 2 is current) and is up at
 * 4.1. Then the scenario's traffic (way), and the end.
 */
/*
 * r1 crashes at 3.0 and comes back at 4.1 from a copy with stale_serial. Its
 * restart is written in order 0 as boot then up at one time, in order 1 as
 * the farm writes it: the state line "up", then the boot line 17 us later.
 */
static void crash_history(struct fx *f, unsigned stale_serial, int way, int order)
{
	struct lk l;

	hb_reset(&f->b);
	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_boot(&f->b, 0.0, "r2", "internal.", 2);
	hb_state(&f->b, 0.0, "r1", "up", "booted");
	hb_state(&f->b, 0.0, "r2", "up", "booted");
	l = hb_invoke(&f->b, 1.0, "app", "glibc", "vip");
	hb_route(&f->b, 1.0, "vip", "r1", true, &l, "first"); /* before the crash */
	hb_done(&f->b, &l, "ok", 1, "fresh", 1);
	hb_inject(&f->b, 3.0, "r1", "crash", 7, "\"down\":1.000");
	hb_state(&f->b, 3.0, "r1", "down", "crash");
	l = hb_invoke(&f->b, 3.2, "app", "glibc", "vip");
	hb_route(&f->b, 3.2, "vip", "r2", true, &l, "first"); /* not r1 */
	hb_done(&f->b, &l, "ok", 1, "fresh", 1);
	switch (way) {
	case 0: /* a lookup routed to r1 while it is down */
		l = hb_invoke(&f->b, 3.5, "app", "glibc", "vip");
		hb_route(&f->b, 3.5, "vip", "r1", true, &l, "first");
		hb_done(&f->b, &l, "timeout", 400, NULL, 1);
		break;
	case 1: /* the same route, no lookup's (the VIP forwards no probe, but an s:query) */
		hb_route(&f->b, 3.5, "vip", "r1", true, NULL, NULL);
		break;
	case 2: /* a lookup asking r1 directly, in flight while it is down */
	case 3: /* ... among others */
	case 4: /* ... a list naming other resolvers only */
		l = hb_invoke(&f->b, 3.5, "app2", "c-ares",
		              way == 2 ? "r1" : way == 3 ? "r2,r1" : "r10,r2,r11");
		hb_done(&f->b, &l, "ok", 300, "fresh", 2);
		break;
	default:
		break;
	}
	hb_heal(&f->b, 4.0, "r1", "crash", 7);
	hb_state(&f->b, 4.0, "r1", "booting", "restart");
	if (order == 1)
		hb_state(&f->b, 4.1, "r1", "up", "booted");
	hb_add(&f->b, order == 1 ? 4.100017 : 4.1,
	       "\"type\":\"boot\",\"resolver\":\"r1\",\"from\":\"file\",\"ok\":true,"
	       "\"zones\":[\"internal. %u\"]", stale_serial);
	if (order == 0)
		hb_state(&f->b, 4.1, "r1", "up", "booted");
	if (way == 5 || way == 6) {
		/* after the restart: a lookup routed to r1, or asking it directly */
		l = hb_invoke(&f->b, 4.5, "app", way == 5 ? "glibc" : "ldns", way == 5 ? "vip" : "r1");
		if (way == 5)
			hb_route(&f->b, 4.5, "vip", "r1", true, &l, "first");
		else
			hb_query(&f->b, 4.5, "r1", "answered", &l, "first", NULL);
		hb_done(&f->b, &l, "ok", 1, stale_serial == 2 ? "fresh" : "stale", 1);
	}
	hb_end(&f->b, 10.0, "duration");
	load(f);
}

/*
 * A stop that never heals: its state line comes just after its inject line,
 * and a lookup routed to the stopped backend later met it. Measuring the
 * span "from the injection until the resolver is well" made it empty.
 */
static void test_verdict_stop_never_healed(void **state)
{
	struct fx *f = *state;
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;
	struct lk l;

	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_state(&f->b, 0.0, "r1", "up", "booted");
	hb_inject(&f->b, 0.009, "r1", "stop", 2, NULL);
	hb_state(&f->b, 0.0092, "r1", "down", "stop");
	l = hb_invoke(&f->b, 0.1, "app", "glibc", "vip");
	hb_route(&f->b, 0.1, "vip", "r1", true, &l, "first");
	hb_done(&f->b, &l, "ok", 2, "fresh", 2);
	hb_end(&f->b, 10.0, "duration");
	load(f);
	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 1);
	v = verdict(f, e, 1, res);
	assert_int_equal(v.nuntouched, 0);
	assert_int_equal(v.verdict, VERDICT_PASS);
}

static void test_verdict_lifecycle_faults(void **state)
{
	struct fx *f = *state;
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;
	static const struct {
		int way;
		unsigned serial; /* what r1 boots after its crash */
		bool met;
		const char *what;
	} cases[] = {
	        {0, 2, true, "routed to r1 while it was down"},
	        {1, 2, false, "a route of no lookup (the old checker: touched)"},
	        {2, 2, true, "asked r1 directly while it was down"},
	        {3, 2, true, "asked r2,r1 while r1 was down"},
	        {4, 2, false, "asked r10,r2,r11: not r1"},
	        {5, 2, false, "routed to r1 once it was back with the published version (old: touched)"},
	        {5, 1, true, "routed to r1 once back from a stale disk copy"},
	        {5, 3, true, "routed to r1 back from a copy with a higher serial, never published"},
	        {6, 2, false, "asked r1 directly once it was back and current (old: touched)"},
	        {6, 1, true, "asked r1 directly while it served the stale copy"},
	};

	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.1);
	/* Order 1, the farm's, is the one that matters: before the boot line took
	 * the time of its up line, r1 looked well for 17 us after its stale
	 * restart, the crash's span ended there and "once back from a stale
	 * copy" met nothing. */
	for (int order = 0; order < 2; order++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			crash_history(f, cases[i].serial, cases[i].way, order);
			v = verdict(f, e, 1, res);
			if (v.verdict != (cases[i].met ? VERDICT_PASS : VERDICT_INCONCLUSIVE))
				fail_msg("order %d: %s: %s (%s)", order, cases[i].what,
					 verdict_name(v.verdict), v.why);
			assert_int_equal(v.nuntouched, cases[i].met ? 0 : 1);
			if (!cases[i].met)
				assert_string_equal(v.untouched[0], "crash on r1 (fault 7) at 3.000 s");
		}

	/* clients that stopped before the fault; the resolver still sees probes after it */
	hb_reset(&f->b);
	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_state(&f->b, 0.0, "r1", "up", "booted");
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_inject(&f->b, 3.0, "r1", "restart", 2, NULL);
	hb_state(&f->b, 3.0, "r1", "down", "crash");
	hb_heal(&f->b, 3.0, "r1", "restart", 2);
	hb_state(&f->b, 3.0, "r1", "booting", "restart");
	hb_add(&f->b, 3.1, "\"type\":\"boot\",\"resolver\":\"r1\",\"from\":\"file\",\"ok\":true,"
	                   "\"zones\":[\"internal. 1\"]");
	hb_state(&f->b, 3.1, "r1", "up", "booted");
	hb_probe(&f->b, 3.5, "vip", "r1", true);
	hb_query(&f->b, 3.5, "r1", "answered", NULL, NULL, NULL); /* the probe's query */
	hb_end(&f->b, 10.0, "duration");
	load(f);
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_string_equal(v.untouched[0], "restart on r1 (fault 2) at 3.000 s");
	assert_inconclusive(res[0], "no lookup met a fault");

	/* the next lifecycle fault on r1 ends the crash's span: a lookup after it met that one */
	hb_reset(&f->b);
	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_state(&f->b, 0.0, "r1", "up", "booted");
	hb_inject(&f->b, 3.0, "r1", "stop", 2, NULL);
	hb_state(&f->b, 3.0, "r1", "down", "stop");
	hb_inject(&f->b, 5.0, "r1", "crash", 3, "\"down\":1.000"); /* supersedes the stop */
	{
		struct lk l = hb_invoke(&f->b, 5.5, "app", "ldns", "r1");
		hb_done(&f->b, &l, "ok", 300, "fresh", 2); /* from the other resolver it asks */
	}
	hb_end(&f->b, 10.0, "duration");
	load(f);
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_int_equal(v.nuntouched, 1);
	assert_string_equal(v.untouched[0], "stop on r1 (fault 2) at 3.000 s");
}

/*
 * A hang on r2 behind a VIP: the backend's query lines come from the VIP and
 * are no lookup's, so the lookup that met the fault is found through its
 * route line (same backend, same question, in order). A health probe at r2
 * carrying the fault's id is not a lookup's.
 */
static void test_verdict_fault_behind_vip(void **state)
{
	struct fx *f = *state;
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;
	struct lk l1, l2;

	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.1);
	for (int way = 0; way < 4; way++) {
		hb_reset(&f->b);
		hb_inject(&f->b, 3.0, "r2", "hang", 4, "\"fraction\":0.5000");
		l1 = hb_invoke(&f->b, 3.5, "app", "glibc", "vip");
		l2 = hb_invoke(&f->b, 3.5, "app", "glibc", "vip");
		hb_route(&f->b, 3.5, "vip", "r2", true, &l1, "first");
		/* the backend's line for l1's query: the fault acts on it in way 0 only */
		hb_query(&f->b, 3.5, "r2", way == 0 ? "dropped" : "answered", NULL, NULL,
		         way == 0 ? "\"fault\":4" : NULL);
		hb_route(&f->b, 3.6, "vip", "r1", true, &l2, "first");
		hb_query(&f->b, 3.6, "r1", "answered", NULL, NULL, NULL);
		if (way == 1) /* a health probe of r2, asking the apex SOA, that the hang ate */
			hb_add(&f->b, 3.7,
			       "\"type\":\"query\",\"resolver\":\"r2\",\"transport\":\"udp\","
			       "\"src\":\"127.0.0.1:5000\",\"id\":9,\"qname\":\"internal.\","
			       "\"qtype\":\"SOA\",\"action\":\"dropped\",\"fault\":4");
		if (way == 3) /* the same question 2 s later, not the VIP's: too late to be l1's */
			hb_query(&f->b, 5.6, "r2", "dropped", NULL, NULL, "\"fault\":4");
		hb_done(&f->b, &l2, "ok", 2600, "fresh", 1);
		hb_done(&f->b, &l1, "ok", 3000, "fresh", way == 0 ? 2 : 1);
		hb_end(&f->b, 10.0, "duration");
		load(f);
		v = verdict(f, e, 1, res);
		if (v.verdict != (way == 0 ? VERDICT_PASS : VERDICT_INCONCLUSIVE))
			fail_msg("way %d: %s (%s)", way, verdict_name(v.verdict), v.why);
		assert_int_equal(v.nuntouched, way == 0 ? 0 : 1);
	}
}

/*
 * An expectation over lookups passes only if one of its lookups met a
 * fault: app's lookups met the crash of r1 at 3.0 (routed to it while it
 * was down); app2's never did, nor did app's after 5 s. Each such metric
 * gets a window (or a client) where that holds and one where it does not;
 * the old checker passed both.
 */
static void test_lookups_met_a_fault(void **state)
{
	struct fx *f = *state;
	struct expectation e;
	struct expect_result r;
	struct lk l;
	static const enum expect_metric lookup_metrics[] = {
	        EXPECT_SUCCESS_RATE, EXPECT_LATENCY,       EXPECT_STALE,   EXPECT_WRONG,
	        EXPECT_STALE_STRETCH, EXPECT_AMPLIFICATION, EXPECT_GOODPUT, EXPECT_RECOVERY,
	};

	hb_publish(&f->b, 0.0, "internal.", 2, true);
	hb_boot(&f->b, 0.0, "r1", "internal.", 2);
	hb_state(&f->b, 0.0, "r1", "up", "booted");
	for (int i = 0; i < 10; i++) {
		double t = 1.0 + i * 0.5; /* 1.0 .. 5.5 */
		l = hb_invoke(&f->b, t, "app", "glibc", "vip");
		hb_route(&f->b, t, "vip", "r1", true, &l, "first");
		hb_done(&f->b, &l, "ok", 10, "fresh", 1);
		l = hb_invoke(&f->b, t + 0.1, "app2", "glibc", "vip2");
		hb_route(&f->b, t + 0.1, "vip2", "r2", true, &l, "first");
		hb_done(&f->b, &l, "ok", 10, "fresh", 1);
		if (i == 3) { /* 2.5: a publish, a trigger for stale_stretch */
			hb_publish(&f->b, 2.7, "other.", 5, false);
			hb_inject(&f->b, 3.0, "r1", "crash", 7, "\"down\":1.000");
			hb_state(&f->b, 3.0, "r1", "down", "crash");
		}
		if (i == 5) { /* 3.5: routed to r1 while it was down (pinned) */
			hb_heal(&f->b, 4.0, "r1", "crash", 7);
			hb_state(&f->b, 4.0, "r1", "up", "booted");
		}
	}
	hb_end(&f->b, 10.0, "duration");
	load(f);

	for (size_t i = 0; i < sizeof lookup_metrics / sizeof lookup_metrics[0]; i++) {
		enum expect_metric m = lookup_metrics[i];
		bool most = m == EXPECT_LATENCY || m == EXPECT_STALE || m == EXPECT_WRONG ||
		            m == EXPECT_STALE_STRETCH || m == EXPECT_AMPLIFICATION ||
		            m == EXPECT_RECOVERY;

		e = ex(m, most ? EXPECT_AT_MOST : EXPECT_AT_LEAST, most ? 1e6 : 0);
		if (m == EXPECT_RECOVERY)
			e.from = 4;
		SET(e.client, "app");
		r = eval(f, &e);
		if (r.outcome != OUTCOME_PASS)
			fail_msg("%s of app: %s (%s)", expect_metric_name(m), outcome_name(r.outcome),
			         r.why);

		/* app2 met nothing */
		SET(e.client, "app2");
		r = eval(f, &e);
		if (r.outcome != OUTCOME_INCONCLUSIVE || !strstr(r.why, "no lookup of app2 met a fault"))
			fail_msg("%s of app2: %s (%s)", expect_metric_name(m), outcome_name(r.outcome),
			         r.why);
		/* ... unless it is a measure without faults on purpose */
		e.baseline = true;
		r = eval(f, &e);
		if (r.outcome != OUTCOME_PASS)
			fail_msg("%s of app2, baseline: %s (%s)", expect_metric_name(m),
			         outcome_name(r.outcome), r.why);
	}

	/* a window after the fault: app's lookups there met nothing */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	SET(e.client, "app");
	e.from = 4;
	r = eval(f, &e);
	assert_inconclusive(r, "no lookup of app met a fault in [4 s, the end) (a measure without "
	                       "faults says baseline = true)");
	e.from = 3;
	e.to = 4;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1);
	/* no client filter: any lookup counts */
	e.client[0] = '\0';
	e.from = 0;
	e.to = -1;
	r = eval(f, &e);
	assert_result(r, OUTCOME_PASS, 1);

	/* a failure stands: the lookups it counted show the system broken, fault or not */
	e = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 1.5);
	SET(e.client, "app2");
	r = eval(f, &e);
	assert_result(r, OUTCOME_FAIL, 1);

	/* the other metrics are not over lookups: the rule does not touch them */
	assert_false(expect_over_lookups(EXPECT_READMISSION));
	assert_false(expect_over_lookups(EXPECT_DETECTION));
	assert_false(expect_over_lookups(EXPECT_FAILURE_SPAN));
	assert_false(expect_over_lookups(EXPECT_SURVIVOR_LOAD));
	assert_false(expect_over_lookups(EXPECT_FLAPS));
	assert_false(expect_over_lookups(EXPECT_CUSTOM));
	for (size_t i = 0; i < sizeof lookup_metrics / sizeof lookup_metrics[0]; i++)
		assert_true(expect_over_lookups(lookup_metrics[i]));
}

/* A lookup's query at a resolver gated inside a crash's span met the crash. */
static void test_lookups_met_gated(void **state)
{
	struct fx *f = *state;
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;
	struct lk l;

	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0);
	for (int gated = 0; gated < 2; gated++) {
		hb_reset(&f->b);
		hb_publish(&f->b, 0.0, "internal.", 2, true);
		hb_boot(&f->b, 0.0, "r1", "internal.", 2);
		hb_state(&f->b, 0.0, "r1", "up", "booted");
		hb_inject(&f->b, 3.0, "r1", "restart", 7, NULL);
		hb_state(&f->b, 3.0, "r1", "down", "crash");
		hb_heal(&f->b, 3.0, "r1", "restart", 7);
		hb_boot(&f->b, 3.1, "r1", "internal.", 2); /* the published version */
		hb_state(&f->b, 3.1, "r1", "up", "booted");
		if (gated)
			hb_gate(&f->b, 3.1, "r1", true);
		l = hb_invoke(&f->b, 3.5, "app", "ldns", "r1");
		hb_query(&f->b, 3.5, "r1", gated ? "rcode" : "answered", &l, "first",
		         gated ? "\"rcode\":\"SERVFAIL\",\"gate\":true" : NULL);
		hb_done(&f->b, &l, gated ? "fail" : "ok", 1, gated ? NULL : "fresh", 1);
		if (gated)
			hb_gate(&f->b, 4.0, "r1", false);
		hb_end(&f->b, 10.0, "duration");
		load(f);
		v = verdict(f, e, 1, res);
		assert_int_equal(v.nuntouched, gated ? 0 : 1);
	}
}

static void test_verdict_many_untouched(void **state)
{
	struct fx *f = *state;
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;

	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	for (unsigned i = 1; i <= 5; i++)
		hb_inject(&f->b, 2.0 + i, "r2", "hang", i, NULL);
	hb_end(&f->b, 10.0, "duration");
	load(f);
	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_int_equal(v.nuntouched, 5);
	assert_string_equal(v.untouched[0], "hang on r2 (fault 1) at 3.000 s");
	assert_string_equal(v.untouched[3], "hang on r2 (fault 4) at 6.000 s");
	assert_string_equal(v.why,
	                    "5 injected fault(s) never touched the system (no client's lookup "
	                    "met them): hang on r2 (fault 1) at 3.000 s, ...");
}

static void test_verdict_incomplete_runs(void **state)
{
	struct fx *f = *state;
	struct expectation e[3];
	struct expect_result res[3];
	struct verdict_info v;

	three(e);

	/* killed: no end line; inconclusive even with a failure */
	plain_history(f, NULL);
	load(f);
	assert_null(hist_end_reason(f->h));
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_int_equal(v.passed, 1);
	assert_string_equal(v.why, "the run did not complete (no end line: killed or crashed); no faults injected");
	v = verdict(f, e, 2, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_int_equal(v.failed, 1);
	/* no expectations: "none" is only for a run that completed */
	v = verdict(f, e, 0, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_string_equal(v.why, "the run did not complete (no end line: killed or crashed); no faults injected");

	hb_reset(&f->b);
	plain_history(f, "interrupted");
	load(f);
	assert_string_equal(hist_end_reason(f->h), "interrupted");
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_string_equal(v.why, "the run did not complete (interrupted); no faults injected");

	hb_reset(&f->b);
	plain_history(f, NULL);
	hb_add(&f->b, 10.0,
	       "\"type\":\"end\",\"reason\":\"error\",\"error\":\"s.lua:3: boom\","
	       "\"lines\":6");
	load(f);
	assert_string_equal(hist_end_error(f->h), "s.lua:3: boom");
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_string_equal(v.why, "the run did not complete (error: s.lua:3: boom); no faults injected");
}

/* ---- hist_load: what it reads, what it refuses ---- */

static void test_hist_reads(void **state)
{
	struct fx *f = *state;
	const struct hist_meta *m;
	const struct hist_lookup *ls;
	const struct hist_query *qs;
	const struct hist_fault *fs;
	struct lk a;
	size_t n, len;
	const char *line;

	/* unknown types and fields are skipped; a line padded with spaces is whole */
	a = hb_invoke(&f->b, 1.0, "app", "glibc", "vip");
	hb_query(&f->b, 1.0, "r1", "answered", &a, "pair", "\"fault\":3,\"gate\":true");
	hb_done(&f->b, &a, "timeout", 1500, NULL, 4);
	/* fields of shapes this reader does not know (objects, arrays of numbers) are skipped */
	hb_add(&f->b, 3.0, "\"type\":\"novel\",\"x\":\"y\",\"n\":null,\"o\":{\"a\":[1,{\"b\":\"]}\"}]},"
			   "\"v\":[1,2.5,\"s\"],\"w\":[]");
	f->b.len--; /* pad the last line, as the writer does at a 4 KiB boundary */
	hb_raw(&f->b, "      \n");
	hb_inject(&f->b, 3.0, "r1", "hang", 3, "\"fraction\":0.5000,\"name\":\"*.internal.\"");
	hb_end(&f->b, 4.0, "duration");
	load(f);

	m = hist_meta(f->h);
	assert_string_equal(m->name, "t");
	assert_string_equal(m->scenario, "s.lua");
	assert_int_equal(m->seed, 1);
	assert_near(m->duration, 10);
	assert_int_equal(m->nversions, 6);
	assert_int_equal(hist_line_count(f->h), 7);
	assert_int_equal(hist_line_type(f->h, 4), HIST_OTHER);
	line = hist_line(f->h, 4, &len);
	assert_non_null(line);
	assert_true(len > 6 && line[len - 1] == ' ');
	assert_near(hist_last_t(f->h), 4.0);
	ls = hist_lookups(f->h, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ls[0].event, HIST_LK_TIMEOUT);
	assert_near(ls[0].latency_ms, 1500);
	assert_near(ls[0].t_done, 2.5);
	assert_int_equal(ls[0].line, 2);
	assert_int_equal(ls[0].line_done, 4);
	assert_int_equal(ls[0].wire, 4);
	assert_string_equal(hist_str(f->h, ls[0].client), "app");
	assert_string_equal(hist_str(f->h, ls[0].reason), "timeout");
	assert_ptr_equal(hist_lookup_by_id(f->h, a.id), &ls[0]);
	assert_null(hist_lookup_by_id(f->h, 77));
	qs = hist_queries(f->h, &n);
	assert_int_equal(n, 1);
	assert_int_equal(qs[0].lookup, a.id);
	assert_int_equal(qs[0].cause, HIST_CAUSE_PAIR);
	assert_int_equal(qs[0].fault, 3);
	assert_true(qs[0].gate);
	assert_int_equal(qs[0].line, 3);
	fs = hist_faults(f->h, &n);
	assert_int_equal(n, 1);
	assert_true(fs[0].inject);
	assert_string_equal(hist_str(f->h, fs[0].kind), "hang");
	assert_int_equal(hist_find(f->h, "nothing like it"), HIST_NONE);
	assert_null(hist_str(f->h, HIST_NONE));
}

static void test_hist_errors(void **state)
{
	struct fx *f = *state;
	struct lk a;
	char err[512];

	/* not JSON */
	hb_raw(&f->b, "hello, world\n");
	load_fails(f, ":2: not a history line: not a JSON object");
	hb_reset(&f->b);
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_raw(&f->b, "{\"t\":2.0,\"type\":\"log\",\"message\":\"x\"\n");
	load_fails(f, ":4: not a history line: expected ',' or '}'");
	hb_reset(&f->b);
	hb_raw(&f->b, "{\"t\":2.0,\"type\":\"log\",\"message\":\"x\"} {}\n");
	load_fails(f, ":2: not a history line: text after the object");
	hb_reset(&f->b);
	hb_raw(&f->b, "{\"type\":\"log\",\"message\":\"x\"}\n");
	load_fails(f, ":2: every line needs a number 't' and a string 'type'");

	/* not a history: the first line is not a meta line, or not schema 1 */
	f->b.len = 0;
	f->b.lines = 0;
	f->b.t = 0;
	hb_add(&f->b, 0.0, "\"type\":\"log\",\"message\":\"hi\"");
	load_fails(f, ":1: not a dnschaos history: the first line is not a meta line");
	f->b.len = 0;
	hb_raw(&f->b, "{\"t\":0.000000,\"type\":\"meta\",\"schema\":2,\"name\":\"t\"}\n");
	load_fails(f, ":1: not a history of schema 1 (this dnschaos reads schema 1)");
	hb_reset(&f->b);
	hb_raw(&f->b, "%s", META_LINE);
	load_fails(f, ":2: a meta line after the first line");

	/* t going backwards */
	hb_reset(&f->b);
	hb_add(&f->b, 2.0, "\"type\":\"log\",\"message\":\"a\"");
	hb_raw(&f->b, "{\"t\":1.000000,\"type\":\"log\",\"message\":\"b\"}\n");
	load_fails(f, ":3: t goes backwards (1.000000 after 2.000000)");

	/* a field of the wrong type */
	hb_reset(&f->b);
	hb_add(&f->b, 1.0, "\"type\":\"query\",\"resolver\":5,\"action\":\"answered\"");
	load_fails(f, ":2: 'resolver' must be a string");
	hb_reset(&f->b);
	hb_add(&f->b, 1.0,
	       "\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"hang\",\"id\":1.5,"
	       "\"action\":\"inject\"");
	load_fails(f, ":2: 'id' must be a whole number");

	/* lookups: completed twice, never invoked, invoked twice, no id */
	hb_reset(&f->b);
	a = hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_done(&f->b, &a, "ok", 20, "fresh", 1);
	load_fails(f, ":4: lookup 1 completes twice");
	hb_reset(&f->b);
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	a.id = 9;
	a.t = 2.0;
	hb_done(&f->b, &a, "fail", 10, NULL, 1);
	load_fails(f, ":4: lookup 9 completes but was never invoked");
	hb_reset(&f->b);
	a = hb_invoke(&f->b, 1.0, "app", "glibc", "vip");
	f->b.nlookups = 0;
	hb_invoke(&f->b, 1.5, "app", "glibc", "vip");
	load_fails(f, ":3: lookup 1 is invoked twice");
	hb_reset(&f->b);
	hb_add(&f->b, 1.0, "\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"app\"");
	load_fails(f, ":2: a lookup line needs 'event' and 'id'");
	hb_reset(&f->b);
	a = hb_invoke(&f->b, 1.0, "app", "glibc", "vip");
	hb_add(&f->b, 1.5, "\"type\":\"lookup\",\"event\":\"exploded\",\"id\":1");
	load_fails(f, ":3: unknown lookup event 'exploded'");

	/* an empty file, a missing one, a directory */
	f->b.len = 0;
	load_fails(f, ": empty: not a dnschaos history");
	hist_free(f->h);
	f->h = NULL;
	assert_null(hist_load(f->dir, err, sizeof err));
	assert_contains(err, ": not a regular file");
	unlink(f->path);
	assert_null(hist_load(f->path, err, sizeof err));
	assert_contains(err, f->path);
	assert_contains(err, ": No such file or directory");
}

/* A meta line whose seed is the given number text (line 1, t 0), then an end line. */
static void hb_seed(struct hb *b, const char *seed)
{
	hb_reset(b);
	b->len = 0;
	hb_raw(b, "{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"name\":\"t\",\"seed\":%s}\n",
	       seed);
	hb_end(b, 1.0, "duration");
}

static void test_hist_seed_u64(void **state)
{
	struct fx *f = *state;

	/* dnschaos run --seed takes any uint64: its history must read back exactly */
	hb_seed(&f->b, "18446744073709551615");
	load(f);
	assert_true(hist_meta(f->h)->seed == UINT64_MAX);
	hb_seed(&f->b, "12345678901234567890");
	load(f);
	assert_true(hist_meta(f->h)->seed == UINT64_C(12345678901234567890));
	hb_seed(&f->b, "1234567890123456789");
	load(f);
	assert_true(hist_meta(f->h)->seed == UINT64_C(1234567890123456789));
	/* past UINT64_MAX it is no whole number this reader can hold */
	hb_seed(&f->b, "18446744073709551616");
	load_fails(f, ":1: 'seed' must be a whole number");
	hb_seed(&f->b, "99999999999999999999");
	load_fails(f, ":1: 'seed' must be a whole number");
}

static void test_hist_cut_line(void **state)
{
	struct fx *f = *state;
	struct expectation e[1];
	struct expect_result res[1];
	struct verdict_info v;

	/* a run killed while writing its end line: the cut line is dropped silently */
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_raw(&f->b, "{\"t\":9.000000,\"type\":\"end\",\"reas");
	load(f);
	assert_int_equal(hist_line_count(f->h), 3);
	assert_null(hist_end_reason(f->h));
	assert_near(hist_last_t(f->h), 1.01);
	e[0] = ex(EXPECT_SUCCESS_RATE, EXPECT_AT_LEAST, 0.9);
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);
	assert_int_equal(v.passed, 1);

	/* a whole line without its "\n" is cut too: the run has no end */
	hb_reset(&f->b);
	hb_lookup(&f->b, 1.0, "app", "ok", 10, "fresh", 1);
	hb_end(&f->b, 10.0, "duration");
	f->b.len--;
	load(f);
	assert_int_equal(hist_line_count(f->h), 3);
	assert_null(hist_end_reason(f->h));
	v = verdict(f, e, 1, res);
	assert_int_equal(v.verdict, VERDICT_INCONCLUSIVE);

	/* a cut line is dropped even when it is not JSON at all; a first line cut: empty */
	hb_reset(&f->b);
	hb_raw(&f->b, "\x01garbage");
	load(f);
	assert_int_equal(hist_line_count(f->h), 1);
	f->b.len = 20;
	load_fails(f, ": empty: not a dnschaos history");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_success_rate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_success_rate_window, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_latency, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_latency_failures_count, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_wrong, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_stretch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_none_possible, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_stretch_none, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_detection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_detection_relay_is_no_route, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kernel_detection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kernel_detection_closed_port, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kernel_readmission, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_detection_never, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dnsdist_derived, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_detection_at_once_and_no_traffic, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_failure_span, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failure_span_none, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failure_span_zero, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failure_span_none_met, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_never, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_while_behind, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_two_zones, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_inconclusive, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_routed_while_behind, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_no_health_check, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_higher_serial, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readmission_same_serial_other_content, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_amplification, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_amplification_ambiguous, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_survivor_load, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_goodput, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_recovery_never, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_recovery_inconclusive, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_flaps, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_custom, setup, teardown),
	        cmocka_unit_test(test_format_no_infinity),
	        cmocka_unit_test_setup_teardown(test_verdict, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_remote_lost, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_untouched_query_faults, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_lifecycle_faults, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_stop_never_healed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_fault_behind_vip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lookups_met_a_fault, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lookups_met_gated, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_many_untouched, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_verdict_incomplete_runs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hist_reads, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hist_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hist_cut_line, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hist_seed_u64, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
