/*
 * test_live.c - the live aggregate (harness/record/live.c), its views
 * (live_show.c) and the history writer's tap it is fed by (history.c):
 * bad lines first, then every figure against a count by hand over a small
 * history: states and serials, queries by action, the QPS window at its
 * edges, success rate, the p99 bound, stale and wrong answers, VIP
 * backends, active faults and their time left; then the Prometheus text
 * (cumulative buckets, +Inf, label escaping) and the dashboard's handling
 * of hostile names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/record/checker.h"
#include "harness/record/hist.h"
#include "harness/record/history.h"
#include "harness/record/live.h"

#define META                                                                                       \
	"{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"name\":\"t "                             \
	"\\\"x\\\"\",\"duration\":10.000}"

static void feed(struct live *l, const char *line)
{
	assert_int_equal(live_feed(l, line, strlen(line)), 0);
}

static void feedf(struct live *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void feedf(struct live *l, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	feed(l, buf);
}

static const struct live_resolver *resolver(const struct live *l, const char *name)
{
	size_t n;
	const struct live_resolver *r = live_resolvers(l, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	return NULL;
}

static const struct live_client *client(const struct live *l, const char *name)
{
	size_t n;
	const struct live_client *c = live_clients(l, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	return NULL;
}

static const struct live_backend *backend(const struct live *l, const char *vip, const char *b)
{
	size_t n;
	const struct live_backend *x = live_backends(l, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(x[i].vip, vip) == 0 && strcmp(x[i].name, b) == 0)
			return &x[i];
	return NULL;
}

/* What a view writes, as a string (free it). */
static char *view(const struct live *l, double now, int which)
{
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);
	assert_non_null(m);
	if (which == 0)
		assert_int_equal(
		        live_write_dashboard(l, now, "http://127.0.0.1:1/metrics", false, 0, 0, m),
		        0);
	else if (which == 1)
		assert_int_equal(live_write_status(l, now, m), 0);
	else if (which == 2)
		assert_int_equal(live_write_metrics(l, now, m), 0);
	else
		assert_int_equal(live_write_dashboard(l, now, NULL, true, 0, 0, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* ---- bad input ---- */

static void test_bad_lines(void **state)
{
	(void)state;
	live_destroy(NULL);
	struct live *l = live_create();
	assert_non_null(l);
	feed(l, "");
	feed(l, "not json");
	feed(l, "{\"type\":\"query\",\"resolver\":\"r1\"}"); /* no t */
	feed(l, "{\"t\":1.0}");                              /* no type */
	feed(l, "{\"t\":1.0,\"type\":\"query\"");            /* cut */
	assert_int_equal(live_lines(l), 5);
	assert_int_equal(live_bad_lines(l), 5);
	size_t n;
	live_resolvers(l, &n);
	assert_int_equal(n, 0);
	/* Lines of types it does not read, or missing what it reads, are skipped. */
	feed(l, "{\"t\":1.0,\"type\":\"flux\",\"resolver\":\"r1\"}");
	feed(l, "{\"t\":1.0,\"type\":\"query\"}");
	feed(l, "{\"t\":1.0,\"type\":\"lookup\",\"client\":\"c\"}");
	feed(l, "{\"t\":1.0,\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"hang\"}"); /* no id */
	assert_int_equal(live_bad_lines(l), 5);
	live_resolvers(l, &n);
	assert_int_equal(n, 0);
	live_faults(l, &n);
	assert_int_equal(n, 0);
	/* An empty client has no figures, not zeros. */
	struct live_client c = {0};
	assert_true(isnan(live_client_success(&c)));
	assert_true(isnan(live_client_percentile_ms(&c, 99)));
	c.lat[3] = 1;
	assert_true(isnan(live_client_percentile_ms(&c, 0)));
	assert_true(isnan(live_client_percentile_ms(&c, 101)));
	live_destroy(l);
}

/* The history reader's hostile corpus, line by line: never a crash (ASan build), bad lines counted.
 */
static void test_hostile_corpus(void **state)
{
	(void)state;
	DIR *d = opendir(HIST_CORPUS);
	struct dirent *de;
	size_t files = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[1024], *line = NULL;
		size_t cap = 0;
		ssize_t n;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", HIST_CORPUS, de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		struct live *l = live_create();
		for (int i = 0; i < 2; i++) { /* twice: a live view may see a line again */
			while ((n = getline(&line, &cap, f)) > 0)
				assert_int_equal(live_feed(l, line, (size_t)n), 0);
			rewind(f);
		}
		char *s = view(l, live_last_t(l), 2);
		free(s);
		s = view(l, live_last_t(l), 0);
		free(s);
		live_destroy(l);
		free(line);
		fclose(f);
		files++;
	}
	closedir(d);
	assert_true(files >= 10);
}

/* ---- figures against counts by hand ---- */

static void test_resolvers(void **state)
{
	(void)state;
	struct live *l = live_create();
	feed(l, META);
	assert_string_equal(live_name(l), "t \"x\"");
	assert_true(live_duration(l) == 10.0);
	feed(l, "{\"t\":0.001,\"type\":\"state\",\"resolver\":\"r1\",\"state\":\"up\",\"why\":"
	        "\"booted\",\"address\":\"127.0.0.11:1\"}");
	feed(l, "{\"t\":0.001,\"type\":\"boot\",\"resolver\":\"r1\",\"from\":\"source\",\"ok\":"
	        "true,\"zones\":[\"internal. 2026112502\",\"other. 7\"],\"digests\":[]}");
	feed(l, "{\"t\":0.002,\"type\":\"state\",\"source\":\"truth\",\"state\":\"down\",\"why\":"
	        "\"stop\",\"address\":\"x\"}");
	/* answered 4, dropped 2, queue-full 1, rcode 1, an unknown action 1: 9 queries */
	static const struct {
		double t;
		const char *action;
		double queue_ms;
	} q[] = {
	        {0.05, "answered", 0},   {0.95, "answered", 0},   {1.00, "dropped", 0},
	        {1.04, "answered", 3.5}, {1.95, "queue-full", 0}, {2.05, "rcode", 0},
	        {2.06, "dropped", 9.25}, {2.50, "answered", 0},   {2.51, "flux", 0},
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
		feedf(l,
		      "{\"t\":%.6f,\"type\":\"query\",\"resolver\":\"r1\",\"transport\":\"udp\","
		      "\"src\":\"127.0.0.1:5\",\"id\":1,\"action\":\"%s\",\"queue_ms\":%.3f}",
		      q[i].t, q[i].action, q[i].queue_ms);
	const struct live_resolver *r = resolver(l, "r1");
	assert_non_null(r);
	assert_null(resolver(l, "truth")); /* the source is not a resolver */
	assert_string_equal(r->state, "up");
	assert_string_equal(r->why, "booted");
	assert_true(r->has_serial);
	assert_int_equal(r->serial, 2026112502);
	assert_int_equal(r->queries, 9);
	assert_int_equal(r->by_action[LIVE_ANSWERED], 4);
	assert_int_equal(r->by_action[LIVE_DROPPED], 2);
	assert_int_equal(r->by_action[LIVE_QUEUE_FULL], 1);
	assert_int_equal(r->by_action[LIVE_RCODE], 1);
	assert_int_equal(r->by_action[LIVE_OTHER_ACTION], 1);
	/*
	 * The window at now holds t in [(k-9)/10, (k+1)/10), k = floor(now*10).
	 * Only tenths still in the ring count: at 2.51 the ring holds tenths
	 * 16..25 (1.95, 2.05, 2.06, 2.50, 2.51 are in it; the ring forgot 1.04).
	 */
	assert_true(live_resolver_qps(r, 2.51) == 5); /* [1.6, 2.6) */
	assert_true(live_resolver_qps(r, 2.99) == 4); /* [2.0, 3.0): 2.05, 2.06, 2.50, 2.51 */
	assert_true(live_resolver_qps(r, 3.55) == 0); /* [2.6, 3.6) */
	assert_true(live_resolver_wait_ms(r, 2.51) == 9.25);
	assert_true(live_resolver_wait_ms(r, 3.55) == 0);
	/* Another aggregate, asked as the lines come (now is never before the last line). */
	struct live *l2 = live_create();
	for (size_t i = 0; i < 5; i++) {
		feedf(l2,
		      "{\"t\":%.6f,\"type\":\"query\",\"resolver\":\"r1\",\"action\":\"%s\","
		      "\"queue_ms\":%.3f}",
		      q[i].t, q[i].action, q[i].queue_ms);
		r = resolver(l2, "r1");
		if (i == 1)
			assert_true(live_resolver_qps(r, 0.96) == 2); /* [0.0, 1.0): 0.05, 0.95 */
		if (i == 3)
			assert_true(live_resolver_qps(r, 1.04) ==
			            3); /* [0.1, 1.1): 0.95, 1.00, 1.04 */
	}
	assert_true(live_resolver_qps(r, 1.99) == 3); /* [1.0, 2.0): 1.00, 1.04, 1.95 */
	assert_true(live_resolver_qps(r, 2.00) == 1); /* [1.1, 2.1): 1.95 */
	assert_true(live_resolver_wait_ms(r, 1.99) == 3.5);
	live_destroy(l2);
	live_destroy(l);
}

static void test_clients(void **state)
{
	(void)state;
	struct live *l = live_create();
	feed(l, META);
	/*
	 * app: 100 lookups of 1..100 ms: 90 ok (5 stale, 2 wrong), 6 fail, 4
	 * timeout; then 3 cancelled and 2 in flight. Success 90/100; p99 is
	 * the 99th smallest latency, 99 ms; p50 the 50th, 50 ms.
	 */
	uint64_t id = 1;
	for (int i = 1; i <= 100; i++, id++) {
		const char *ev = i <= 90 ? "ok" : i <= 96 ? "fail" : "timeout";
		const char *cls = i <= 5    ? ",\"class\":\"stale\""
		                  : i <= 7  ? ",\"class\":\"wrong\""
		                  : i <= 90 ? ",\"class\":\"fresh\""
		                            : "";
		feedf(l,
		      "{\"t\":1.0,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"app\","
		      "\"stack\":\"glibc\",\"id\":%llu,\"name\":\"db.\"}",
		      (unsigned long long)id);
		feedf(l,
		      "{\"t\":1.2,\"type\":\"lookup\",\"event\":\"%s\",\"client\":\"app\","
		      "\"stack\":\"glibc\",\"id\":%llu,\"latency_ms\":%d.000%s}",
		      ev, (unsigned long long)id, 101 - i, cls);
	}
	for (int i = 0; i < 5; i++, id++) {
		feedf(l,
		      "{\"t\":2.0,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"app\","
		      "\"stack\":\"glibc\",\"id\":%llu}",
		      (unsigned long long)id);
		if (i < 3)
			feedf(l,
			      "{\"t\":3.0,\"type\":\"lookup\",\"event\":\"cancelled\",\"client\":"
			      "\"app\",\"stack\":\"glibc\",\"id\":%llu,\"latency_ms\":99999.000}",
			      (unsigned long long)id);
	}
	const struct live_client *c = client(l, "app");
	assert_non_null(c);
	assert_string_equal(c->stack, "glibc");
	assert_int_equal(c->invoked, 105);
	assert_int_equal(live_client_completed(c), 100);
	assert_int_equal(c->by_outcome[LIVE_OK], 90);
	assert_int_equal(c->by_outcome[LIVE_FAIL], 6);
	assert_int_equal(c->by_outcome[LIVE_TIMEOUT], 4);
	assert_int_equal(c->by_outcome[LIVE_CANCELLED], 3);
	assert_int_equal(live_client_in_flight(c), 2);
	assert_true(live_client_success(c) == 0.9);
	assert_int_equal(c->by_class[LIVE_STALE], 5);
	assert_int_equal(c->by_class[LIVE_WRONG_CLASS], 2);
	assert_int_equal(c->by_class[LIVE_FRESH], 83);
	double p99 = live_client_percentile_ms(c, 99), p50 = live_client_percentile_ms(c, 50);
	assert_true(p99 >= 99.0 && p99 < 99.0 * LIVE_LAT_ERROR);
	assert_true(p50 >= 50.0 && p50 < 50.0 * LIVE_LAT_ERROR);
	/* p100 is the maximum, 100 ms; the bound is the bucket's edge above it */
	double pmax = live_client_percentile_ms(c, 100);
	assert_true(pmax >= 100.0 && pmax < 100.0 * LIVE_LAT_ERROR);
	/* The cancelled lookups' latency is in no figure. */
	assert_true(c->lat_sum_ms == 5050.0);
	/* The bound over the whole range, latencies as the history writes them (3 decimals). */
	for (double v = 0.001; v < 1e6; v *= 1.07) {
		char ms[32];
		snprintf(ms, sizeof ms, "%.3f", v);
		double x = strtod(ms, NULL);
		struct live *e = live_create();
		feedf(e, "{\"t\":0,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"e\","
		         "\"id\":1}");
		feedf(e,
		      "{\"t\":0,\"type\":\"lookup\",\"event\":\"ok\",\"client\":\"e\",\"id\":1,"
		      "\"latency_ms\":%s}",
		      ms);
		double got = live_client_percentile_ms(client(e, "e"), 99);
		if (x < 0.001)
			assert_true(got == 0.001);
		else
			assert_true(got >= x * (1 - 1e-12) && got < x * LIVE_LAT_ERROR);
		live_destroy(e);
	}
	/* Beyond the last bounded bucket: infinity, never a made-up bound. */
	struct live *big = live_create();
	feed(big, "{\"t\":0,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"b\",\"id\":1}");
	feed(big, "{\"t\":0,\"type\":\"lookup\",\"event\":\"timeout\",\"client\":\"b\",\"id\":1,"
	          "\"latency_ms\":2000000.000}");
	assert_true(isinf(live_client_percentile_ms(client(big, "b"), 99)));
	/* ... and 0 ms is in the first bucket (<= 1 us). */
	feed(big, "{\"t\":0,\"type\":\"lookup\",\"event\":\"ok\",\"client\":\"z\",\"id\":2,"
	          "\"latency_ms\":0.000}");
	assert_true(live_client_percentile_ms(client(big, "z"), 50) == 0.001);
	live_destroy(big);
	live_destroy(l);
}

static void test_vips_and_faults(void **state)
{
	(void)state;
	struct live *l = live_create();
	feed(l, META);
	feed(l, "{\"t\":0.01,\"type\":\"vip\",\"vip\":\"k\",\"address\":\"x\",\"kind\":"
	        "\"nftables\",\"backends\":[\"a\",\"b\"]}");
	feed(l, "{\"t\":0.5,\"type\":\"health\",\"vip\":\"v\",\"backend\":\"r1\",\"event\":"
	        "\"probe\",\"ok\":true,\"reason\":\"ok\"}");
	feed(l, "{\"t\":0.6,\"type\":\"health\",\"vip\":\"v\",\"backend\":\"r1\",\"event\":\"up\","
	        "\"reason\":\"ok\",\"count\":2}");
	feed(l, "{\"t\":1.0,\"type\":\"route\",\"vip\":\"v\",\"transport\":\"udp\",\"src\":\"s\","
	        "\"backend\":\"r1\",\"flow\":\"new\",\"action\":\"forwarded\"}");
	feed(l, "{\"t\":1.1,\"type\":\"route\",\"vip\":\"v\",\"transport\":\"udp\",\"src\":\"s\","
	        "\"backend\":\"r1\",\"flow\":\"pinned\",\"action\":\"forwarded\"}");
	feed(l, "{\"t\":1.2,\"type\":\"route\",\"vip\":\"v\",\"transport\":\"udp\",\"src\":\"s\","
	        "\"backend\":null,\"flow\":\"new\",\"action\":\"no-backend\"}");
	/* a port unreachable relayed for the query of 1.1: a route line, not a route */
	feed(l, "{\"t\":1.25,\"type\":\"route\",\"vip\":\"v\",\"transport\":\"udp\",\"src\":\"s\","
	        "\"backend\":\"r1\",\"flow\":\"new\",\"action\":\"refused-icmp\"}");
	feed(l, "{\"t\":2.0,\"type\":\"health\",\"vip\":\"v\",\"backend\":\"r1\",\"event\":"
	        "\"probe\",\"ok\":false,\"reason\":\"timeout\"}");
	feed(l, "{\"t\":2.0,\"type\":\"health\",\"vip\":\"v\",\"backend\":\"r1\",\"event\":"
	        "\"down\",\"reason\":\"timeout\",\"count\":1}");
	feed(l, "{\"t\":2.1,\"type\":\"health\",\"vip\":\"v\",\"backend\":\"r2\",\"event\":"
	        "\"removed\",\"reason\":\"by hand\"}");
	const struct live_backend *b = backend(l, "v", "r1");
	assert_non_null(b);
	assert_int_equal(b->up, 0);
	assert_false(b->removed);
	assert_int_equal(b->last_probe, 0);
	assert_int_equal(b->probes_ok, 1);
	assert_int_equal(b->probes_failed, 1);
	assert_int_equal(b->routed, 2);
	assert_true(backend(l, "v", "r2")->removed);
	assert_int_equal(backend(l, "v", "r2")->up, -1); /* no up/down line: unknown */
	assert_int_equal(backend(l, "k", "a")->up, -1);
	assert_non_null(backend(l, "k", "b"));
	size_t n;
	const struct live_route *ro = live_routes(l, &n);
	assert_int_equal(n, 3);
	assert_string_equal(ro[0].backend, "r1");
	assert_int_equal(ro[0].n, 2);
	assert_string_equal(ro[1].backend, "");
	assert_string_equal(ro[1].action, "no-backend");
	assert_string_equal(ro[2].backend, "r1");
	assert_string_equal(ro[2].action, "refused-icmp");
	assert_int_equal(ro[2].n, 1);
	feed(l, "{\"t\":2.5,\"type\":\"health\",\"vip\":\"v\",\"backend\":\"r2\",\"event\":"
	        "\"member\",\"reason\":\"by hand\"}");
	assert_false(backend(l, "v", "r2")->removed);

	/* faults: 4 heals itself at 5.0, 5 (a crash down 1.5 s) at 4.5, 6 until healed */
	feed(l, "{\"t\":3.0,\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"hang\",\"id\":4,"
	        "\"action\":\"inject\",\"duration\":2.000}");
	feed(l, "{\"t\":3.0,\"type\":\"fault\",\"target\":\"r2\",\"fault\":\"crash\",\"id\":5,"
	        "\"action\":\"inject\",\"down\":1.500}");
	feed(l, "{\"t\":3.5,\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"hang\",\"id\":6,"
	        "\"action\":\"inject\"}");
	const struct live_fault *f = live_faults(l, &n);
	assert_int_equal(n, 3);
	assert_int_equal(f[0].id, 4);
	assert_true(f[0].duration == 2.0);
	assert_true(f[1].duration == 1.5);
	assert_true(f[2].duration == 0);
	const struct live_fault_kind *k = live_fault_kinds(l, &n);
	assert_int_equal(n, 2);
	assert_string_equal(k[0].kind, "hang");
	assert_int_equal(k[0].active, 2);
	assert_int_equal(k[0].injected, 2);
	char *s = view(l, 4.0, 1);
	assert_non_null(strstr(
	        s,
	        "| faults: r1 hang 1.0s, r2 crash 0.5s, r1 hang until-healed | expectations:\n"));
	free(s);
	feed(l, "{\"t\":4.5,\"type\":\"fault\",\"target\":\"r2\",\"fault\":\"crash\",\"id\":5,"
	        "\"action\":\"heal\"}");
	feed(l, "{\"t\":5.0,\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"hang\",\"id\":4,"
	        "\"action\":\"heal\"}");
	feed(l, "{\"t\":5.0,\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"hang\",\"id\":99,"
	        "\"action\":\"heal\"}");
	f = live_faults(l, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].id, 6);
	k = live_fault_kinds(l, &n);
	assert_int_equal(k[0].active, 1);
	assert_int_equal(k[0].injected, 2);
	assert_int_equal(k[1].active, 0);
	feed(l, "{\"t\":5.1,\"type\":\"stall\",\"from\":4.0,\"held_ms\":900.000}");
	assert_int_equal(live_stalls(l), 1);
	assert_null(live_end_reason(l));
	feed(l, "{\"t\":10.0,\"type\":\"end\",\"reason\":\"duration\",\"lines\":30}");
	assert_string_equal(live_end_reason(l), "duration");
	assert_true(live_last_t(l) == 10.0);
	live_destroy(l);
}

/* ---- the views ---- */

static void test_metrics_text(void **state)
{
	(void)state;
	struct live *l = live_create();
	feed(l, META);
	/* a client name with every character the format escapes */
	const char *odd = "a\\\\b\\\"c\\nd"; /* JSON for a\b"c<LF>d */
	for (int i = 1; i <= 4; i++) {
		feedf(l,
		      "{\"t\":1,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"%s\","
		      "\"stack\":\"c-ares\",\"id\":%d}",
		      odd, i);
		/* 0.4 ms, 3 ms, 3 ms, 20 s */
		feedf(l,
		      "{\"t\":1,\"type\":\"lookup\",\"event\":\"%s\",\"client\":\"%s\",\"stack\":"
		      "\"c-ares\",\"id\":%d,\"latency_ms\":%s}",
		      i == 4 ? "timeout" : "ok", odd, i,
		      i == 1   ? "0.400"
		      : i == 4 ? "20000.000"
		               : "3.000");
	}
	feed(l, "{\"t\":1,\"type\":\"state\",\"resolver\":\"r1\",\"state\":\"down\",\"why\":"
	        "\"crash\",\"address\":\"x\"}");
	char *s = view(l, 1.5, 2);
	const char *lbl = "client=\"a\\\\b\\\"c\\nd\",stack=\"c-ares\"";
	char want[512];
	static const struct {
		const char *le;
		int n;
	} buckets[] = {{"0.0005", 1}, {"0.001", 1}, {"0.0025", 1}, {"0.005", 3},
	               {"0.01", 3},   {"10", 3},    {"+Inf", 4}};
	for (size_t i = 0; i < sizeof buckets / sizeof buckets[0]; i++) {
		snprintf(want, sizeof want,
		         "\ndnschaos_client_lookup_duration_seconds_bucket{%s,le=\"%s\"} %d\n", lbl,
		         buckets[i].le, buckets[i].n);
		assert_non_null(strstr(s, want));
	}
	snprintf(want, sizeof want, "\ndnschaos_client_lookup_duration_seconds_count{%s} 4\n", lbl);
	assert_non_null(strstr(s, want));
	snprintf(want, sizeof want, "\ndnschaos_client_lookup_duration_seconds_sum{%s} 20.006400\n",
	         lbl);
	assert_non_null(strstr(s, want));
	snprintf(want, sizeof want, "\ndnschaos_client_lookups_total{%s,outcome=\"timeout\"} 1\n",
	         lbl);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "\n# TYPE dnschaos_client_lookup_duration_seconds histogram\n"));
	assert_non_null(strstr(s, "\n# TYPE dnschaos_resolver_queries_total counter\n"));
	assert_non_null(strstr(s, "\ndnschaos_resolver_state{resolver=\"r1\",state=\"down\"} 1\n"));
	assert_non_null(strstr(s, "\ndnschaos_resolver_state{resolver=\"r1\",state=\"up\"} 0\n"));
	assert_non_null(strstr(s, "\ndnschaos_history_lines_total 10\n"));
	assert_non_null(strstr(s, "\ndnschaos_run_seconds 1.500000\n"));
	/* Every line is a comment or a sample; no raw newline got into a label. */
	for (char *line = s, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		assert_true(line[0] == '#' || strncmp(line, "dnschaos_", 9) == 0);
	}
	free(s);
	live_destroy(l);
}

static void test_dashboard(void **state)
{
	(void)state;
	struct live *l = live_create();
	struct expectation ex[2];
	expectation_init(&ex[0]);
	snprintf(ex[0].name, sizeof ex[0].name, "lookups keep succeeding");
	ex[0].metric = EXPECT_SUCCESS_RATE;
	ex[0].bound = 0.99;
	expectation_init(&ex[1]);
	snprintf(ex[1].name, sizeof ex[1].name, "no retry storm");
	ex[1].metric = EXPECT_AMPLIFICATION;
	ex[1].op = EXPECT_AT_MOST;
	ex[1].bound = 1.2;
	assert_int_equal(live_follow(l, &ex[0]), 0);
	assert_int_equal(live_follow(l, &ex[1]), 0);
	feed(l, META);
	/* A name with an escape sequence (a terminal's title, a clear screen) and a newline. */
	feed(l, "{\"t\":1,\"type\":\"state\",\"resolver\":\"evil\\u001b]0;x\\u0007\\n\",\"state\":"
	        "\"up\",\"why\":\"booted\",\"address\":\"x\"}");
	feed(l, "{\"t\":1,\"type\":\"state\",\"resolver\":\"r-with-a-very-long-name-indeed\","
	        "\"state\":\"down\",\"why\":\"stop\",\"address\":\"x\"}");
	feed(l, "{\"t\":1,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"app\",\"stack\":"
	        "\"glibc\",\"id\":1}");
	feed(l, "{\"t\":1,\"type\":\"lookup\",\"event\":\"ok\",\"client\":\"app\",\"stack\":"
	        "\"glibc\",\"id\":1,\"latency_ms\":12.000,\"class\":\"stale\"}");
	char *s = view(l, 1.0, 0);
	assert_null(strchr(s, '\033')); /* without ansi, no escape at all */
	assert_null(strchr(s, '\007'));
	assert_non_null(strstr(s, "evil?]0;x??"));
	assert_non_null(strstr(s, "r-with-a-very-lo ")); /* cut to 16 */
	assert_null(strstr(s, "r-with-a-very-lon"));
	assert_non_null(strstr(s, "100.00%"));
	assert_non_null(strstr(s, "metrics http://127.0.0.1:1/metrics"));
	assert_non_null(strstr(
	        s, "\n  lookups keep succeeding                           1.0000 (>= 0.99)\n"));
	assert_non_null(strstr(
	        s, "\n  no retry storm                                    judged at the end\n"));
	assert_non_null(strstr(s, "the verdict is the history's, when the run ends"));
	free(s);
	/* With ansi: home first, each line clears its rest, the frame clears below it. */
	s = view(l, 1.0, 3);
	assert_memory_equal(s, "\033[H", 3);
	assert_non_null(strstr(s, "\033[K\n"));
	assert_string_equal(s + strlen(s) - 3, "\033[J");
	size_t esc = 0;
	for (char *p = s; *p; p++)
		esc += *p == '\033';
	size_t lines = 0;
	for (char *p = s; *p; p++)
		lines += *p == '\n';
	assert_int_equal(esc, lines + 2); /* one per line, home, clear below: none from names */
	free(s);
	/* A small window: 8 rows, 30 columns: 7 lines, the last saying what did not fit. */
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(live_write_dashboard(l, 1.0, NULL, false, 8, 30, m), 0);
	fclose(m);
	size_t nl = 0;
	for (char *line = buf, *end; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		assert_true(end - line <= 30);
		nl++;
	}
	assert_int_equal(nl, 7);
	assert_non_null(strstr(buf, "\n... 8 more lines: the window i\n")); /* of 14 */
	free(buf);
	s = view(l, 1.0, 1);
	assert_non_null(strstr(s, "live t=1.0/10.0 | resolvers: evil?]0;x?? up 0qps 0q 0d, "));
	assert_non_null(strstr(s, "| clients: app 1 100.00%ok p99<=12."));
	assert_non_null(strstr(s, "1stale 0wrong | faults: | expectations: lookups keep succeeding "
	                          "1.0000(>=0.99); no retry storm at-end\n"));
	assert_int_equal(strchr(s, '\n') - s + 1, (long)strlen(s)); /* one line */
	free(s);
	live_destroy(l);
}

/* ---- expectations so far, against the checker on the same history ---- */

struct ev {
	double t;
	int i;
	bool done;
};

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->done - y->done; /* an invoke before a completion at the same t */
}

static void feed_tap(void *arg, const char *line, size_t len);

static void test_so_far_is_the_checkers(void **state)
{
	(void)state;
	char path[] = "/tmp/test_live_XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct expectation ex[8];
	for (size_t i = 0; i < 8; i++) {
		expectation_init(&ex[i]);
		snprintf(ex[i].name, sizeof ex[i].name, "e%zu", i);
		ex[i].op = EXPECT_AT_MOST;
		ex[i].bound = 1;
	}
	ex[0].metric = EXPECT_SUCCESS_RATE;
	snprintf(ex[0].client, sizeof ex[0].client, "a");
	ex[0].from = 1;
	ex[0].to = 3;
	ex[1].metric = EXPECT_STALE;
	ex[2].metric = EXPECT_WRONG;
	snprintf(ex[2].stack, sizeof ex[2].stack, "c-ares");
	ex[3].metric = EXPECT_LATENCY;
	snprintf(ex[3].client, sizeof ex[3].client, "a");
	ex[3].p = 99;
	ex[4].metric = EXPECT_LATENCY;
	ex[4].p = 50;
	ex[4].from = 2;
	ex[5].metric = EXPECT_AMPLIFICATION;
	ex[6].metric = EXPECT_SUCCESS_RATE;
	snprintf(ex[6].client, sizeof ex[6].client, "nobody");
	ex[7].metric = EXPECT_SUCCESS_RATE; /* every client, the whole run */

	struct history *h = history_open(path, err, sizeof err);
	struct live *l = live_create();
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(live_follow(l, &ex[i]), 0);
	history_set_tap(h, feed_tap, l);
	history_begin(h, 0, "meta");
	history_uint(h, "schema", 1);
	history_str(h, "name", "so far");
	history_double(h, "duration", 5, 3);
	history_end(h);
	enum { N = 200 };
	struct ev evs[2 * N];
	size_t nev = 0;
	double lat[N];
	for (int i = 0; i < N; i++) {
		lat[i] = (double)((i * 37) % 500) / 10.0 + 0.1;
		evs[nev++] = (struct ev){i * 0.02, i, false};
		if (i < N - 5) /* the last five stay in flight */
			evs[nev++] = (struct ev){i * 0.02 + lat[i] / 1000.0, i, true};
	}
	qsort(evs, nev, sizeof evs[0], cmp_ev);
	for (size_t k = 0; k < nev; k++) {
		int i = evs[k].i;
		const char *cl = i % 3 ? "a" : "b", *st = i % 3 ? "glibc" : "c-ares";
		history_begin(h, evs[k].t, "lookup");
		if (!evs[k].done) {
			history_str(h, "event", "invoke");
			history_str(h, "client", cl);
			history_str(h, "stack", st);
			history_uint(h, "id", (uint64_t)i + 1);
			history_str(h, "name", "db.internal");
			history_end(h);
			continue;
		}
		const char *ev = i % 13 == 0   ? "cancelled"
		                 : i % 11 == 0 ? "timeout"
		                 : i % 7 == 0  ? "fail"
		                               : "ok";
		history_str(h, "event", ev);
		history_str(h, "client", cl);
		history_str(h, "stack", st);
		history_uint(h, "id", (uint64_t)i + 1);
		history_str(h, "name", "db.internal");
		history_double(h, "latency_ms", lat[i], 3);
		if (strcmp(ev, "ok") == 0)
			history_str(h, "class",
			            i % 5 == 0    ? "stale"
			            : i % 17 == 0 ? "wrong"
			                          : "fresh");
		history_end(h);
	}
	assert_int_equal(history_flush(h), 0);
	history_set_tap(h, NULL, NULL);
	history_close(h);
	struct hist *hs = hist_load(path, err, sizeof err);
	unlink(path);
	assert_non_null(hs);
	for (size_t i = 0; i < 8; i++) {
		struct expect_result r;
		const struct expectation *e;
		double v = -1;
		bool upper;
		memset(&r, 0, sizeof r);
		checker_eval(hs, &ex[i], &r);
		int st = live_so_far(l, i, &e, &v, &upper);
		assert_ptr_equal(e, &ex[i]);
		if (i == 5) {
			assert_int_equal(st, -1); /* amplification: judged at the end */
			continue;
		}
		if (i == 6) {
			assert_int_equal(st, 0);
			assert_false(r.has_value); /* the checker: no lookup completed */
			continue;
		}
		assert_int_equal(st, 1);
		assert_true(r.has_value);
		if (ex[i].metric == EXPECT_LATENCY) {
			assert_true(upper);
			assert_true(v >= r.observed && v < r.observed * LIVE_LAT_ERROR);
		} else {
			assert_false(upper);
			if (v != r.observed)
				fail_msg("%s: live %.9f, checker %.9f", ex[i].name, v, r.observed);
		}
		/* and not trivially: each measures something, some of it filtered out */
		assert_true(r.observed > 0);
	}
	hist_free(hs);
	live_destroy(l);
}

/* ---- the writer's tap ---- */

struct tapped {
	char *buf;
	size_t len, cap, calls;
};

static void tap(void *arg, const char *line, size_t len)
{
	struct tapped *t = arg;
	if (t->len + len + 1 > t->cap) {
		t->cap = 2 * (t->len + len + 1);
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	memcpy(t->buf + t->len, line, len);
	t->len += len;
	t->buf[t->len] = '\0';
	t->calls++;
}

static void test_tap(void **state)
{
	(void)state;
	char path[] = "/tmp/test_live_XXXXXX", err[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct history *h = history_open(path, err, sizeof err);
	assert_non_null(h);
	struct tapped t = {0};
	history_begin(h, 0, "untapped");
	history_end(h);
	history_set_tap(h, tap, &t);
	/* Lines of varied lengths: some straddle 4 KiB boundaries and get padded. */
	char text[3000];
	for (int i = 0; i < 400; i++) {
		size_t n = (size_t)(i * 37) % sizeof text;
		memset(text, 'a' + i % 26, n);
		text[n] = '\0';
		history_begin(h, i * 0.001, "log");
		history_str(h, "message", text);
		history_end(h);
	}
	/* Removed: the line after it is not tapped. */
	history_set_tap(h, NULL, NULL);
	history_begin(h, 1, "untapped");
	history_end(h);
	assert_int_equal(history_flush(h), 0);
	history_close(h);
	assert_int_equal(t.calls, 400);
	/* The tapped bytes are the file's lines 2..401, without the padding spaces. */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *line = NULL, *want = calloc(1, 3 * 1024 * 1024);
	size_t cap = 0, wl = 0, nline = 0;
	ssize_t n;
	bool padded = false;
	while ((n = getline(&line, &cap, f)) > 0) {
		nline++;
		if (nline == 1 || nline == 402)
			continue;
		size_t k = (size_t)n - 1; /* without '\n' */
		while (k > 0 && line[k - 1] == ' ') {
			k--;
			padded = true;
		}
		memcpy(want + wl, line, k);
		wl += k;
		want[wl++] = '\n';
	}
	fclose(f);
	unlink(path);
	assert_int_equal(nline, 402);
	assert_true(padded); /* the alignment did happen: the tap saw no spaces of it */
	assert_int_equal(t.len, wl);
	assert_memory_equal(t.buf, want, wl);
	free(line);
	free(want);
	free(t.buf);
}

static void feed_tap(void *arg, const char *line, size_t len)
{
	assert_int_equal(live_feed(arg, line, len), 0);
}

/* The tap feeding the aggregate: the figures are the history's. */
static void test_tap_feeds_live(void **state)
{
	(void)state;
	char path[] = "/tmp/test_live_XXXXXX", err[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct history *h = history_open(path, err, sizeof err);
	struct live *l = live_create();
	history_set_tap(h, feed_tap, l);
	history_begin(h, 0, "meta");
	history_uint(h, "schema", 1);
	history_str(h, "name", "tapped");
	history_double(h, "duration", 3, 3);
	history_end(h);
	for (int i = 0; i < 1000; i++) {
		history_begin(h, 0.5 + i * 0.001, "query");
		history_str(h, "resolver", i % 2 ? "r\"1" : "r2");
		history_str(h, "action", i % 10 == 0 ? "dropped" : "answered");
		history_end(h);
	}
	history_close(h);
	unlink(path);
	assert_string_equal(live_name(l), "tapped");
	assert_int_equal(live_lines(l), 1001);
	assert_int_equal(live_bad_lines(l), 0);
	assert_int_equal(resolver(l, "r\"1")->queries, 500);
	assert_int_equal(resolver(l, "r2")->by_action[LIVE_DROPPED], 100);
	live_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_lines),
	        cmocka_unit_test(test_hostile_corpus),
	        cmocka_unit_test(test_resolvers),
	        cmocka_unit_test(test_clients),
	        cmocka_unit_test(test_vips_and_faults),
	        cmocka_unit_test(test_metrics_text),
	        cmocka_unit_test(test_dashboard),
	        cmocka_unit_test(test_so_far_is_the_checkers),
	        cmocka_unit_test(test_tap),
	        cmocka_unit_test(test_tap_feeds_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
