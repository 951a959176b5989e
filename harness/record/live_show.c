/*
 * live_show.c - the live aggregate's three views (live.h): the terminal
 * dashboard, the one-line status for a pipe or a file, and the Prometheus
 * text exposition. Text only: where it goes is the caller's.
 */
#include "harness/record/live.h"
#include "harness/record/checker.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Names are cut to this many characters in the dashboard's columns. */
#define NAME_W 16

/* The ANSI line end: clear the rest of the terminal line, then a newline. */
static const char *eol(bool ansi)
{
	return ansi ? "\033[K\n" : "\n";
}

/*
 * A name from the history, fit for a terminal: control characters (an escape
 * sequence is one) as '?', at most w characters (UTF-8 sequences kept whole;
 * the history's strings are valid UTF-8), padded to w when pad.
 */
static void put_name(FILE *out, const char *s, int w, bool pad)
{
	int chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool cont = (*p & 0xC0) == 0x80;
		if (!cont && chars == w)
			break;
		if (!cont)
			chars++;
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
	}
	for (; pad && chars < w; chars++)
		fputc(' ', out);
}

static double time_left(const struct live_fault *f, double now)
{
	double left = f->t + f->duration - now;
	return left > 0 ? left : 0;
}

static void put_ms(FILE *out, double ms)
{
	if (isnan(ms))
		fprintf(out, "%10s", "-");
	else if (isinf(ms))
		fprintf(out, "%10s", "> 18 min");
	else if (ms < 10)
		fprintf(out, "%7.3f ms", ms);
	else
		fprintf(out, "%7.1f ms", ms);
}

/*
 * Expectation i: its name and its value so far with its bound; compact (the
 * status line): no padding and no space inside the value.
 */
static void put_so_far(FILE *out, const struct live *l, size_t i, bool compact)
{
	const struct expectation *x;
	double v = 0;
	bool upper;
	int st = live_so_far(l, i, &x, &v, &upper);
	const char *op = x->op == EXPECT_AT_LEAST ? ">=" : "<=", *sp = compact ? "" : " ";

	put_name(out, x->name, compact ? 64 : 48, !compact);
	fputs(compact ? " " : "  ", out);
	if (st < 0)
		fputs(compact ? "at-end" : "judged at the end", out);
	else if (st == 0)
		fputs(compact ? "none-yet" : "no lookup completed yet", out);
	else if (x->metric == EXPECT_SUCCESS_RATE)
		fprintf(out, "%.4f%s(%s%s%g)", v, sp, op, sp, x->bound);
	else if (upper && isinf(v))
		fprintf(out, ">%s18%smin%s(%s%s%g%sms)", sp, sp, sp, op, sp, x->bound, sp);
	else if (upper)
		fprintf(out, "<=%s%.1f%sms%s(%s%s%g%sms)", sp, v, sp, sp, op, sp, x->bound, sp);
	else
		fprintf(out, "%.0f%s(%s%s%g)", v, sp, op, sp, x->bound);
}

/* The dashboard's lines, plain (live_write_dashboard fits them to the window). */
static void frame(const struct live *l, double now, const char *metrics_url, FILE *out)
{
	size_t n;
	const char *e = "\n";

	fputs("dnschaos live  ", out);
	put_name(out, live_name(l), 40, false);
	fprintf(out, "  t %.1f / %.1f s  lines %llu", now, live_duration(l),
	        (unsigned long long)live_lines(l));
	if (live_stalls(l))
		fprintf(out, "  stalls %llu", (unsigned long long)live_stalls(l));
	if (live_end_reason(l))
		fprintf(out, "  ended: %s", live_end_reason(l));
	fputs(e, out);
	if (metrics_url)
		fprintf(out, "metrics %s%s", metrics_url, e);
	fputs(e, out);

	const struct live_resolver *r = live_resolvers(l, &n);
	fprintf(out, "%-*s %-8s %-11s %8s %9s %9s %7s %9s%s", NAME_W, "RESOLVER", "state", "serial",
	        "qps", "queries", "answered", "drops", "queue_ms", e);
	for (size_t i = 0; i < n; i++) {
		put_name(out, r[i].name, NAME_W, true);
		fprintf(out, " %-8s ", r[i].state[0] ? r[i].state : "-");
		if (r[i].has_serial)
			fprintf(out, "%-11u", r[i].serial);
		else
			fprintf(out, "%-11s", "-");
		fprintf(out, " %8.0f %9llu %9llu %7llu %9.1f%s", live_resolver_qps(&r[i], now),
		        (unsigned long long)r[i].queries,
		        (unsigned long long)r[i].by_action[LIVE_ANSWERED],
		        (unsigned long long)(r[i].by_action[LIVE_DROPPED] +
		                             r[i].by_action[LIVE_QUEUE_FULL]),
		        live_resolver_wait_ms(&r[i], now), e);
	}
	fputs(e, out);

	const struct live_backend *b = live_backends(l, &n);
	if (n) {
		fprintf(out, "%-*s %-*s %-7s %-7s %-6s %9s%s", NAME_W, "VIP", NAME_W, "backend",
		        "health", "member", "probe", "routed", e);
		for (size_t i = 0; i < n; i++) {
			put_name(out, b[i].vip, NAME_W, true);
			fputc(' ', out);
			put_name(out, b[i].name, NAME_W, true);
			fprintf(out, " %-7s %-7s %-6s %9llu%s",
			        b[i].up < 0 ? "?"
			        : b[i].up   ? "up"
			                    : "down",
			        b[i].removed ? "removed" : "yes",
			        b[i].last_probe < 0 ? "-"
			        : b[i].last_probe   ? "ok"
			                            : "fail",
			        (unsigned long long)b[i].routed, e);
		}
		fputs(e, out);
	}

	const struct live_client *c = live_clients(l, &n);
	fprintf(out, "%-*s %-10s %8s %6s %8s %10s %6s %6s%s", NAME_W, "CLIENT", "stack", "lookups",
	        "flight", "success", "p99 <=", "stale", "wrong", e);
	for (size_t i = 0; i < n; i++) {
		double s = live_client_success(&c[i]);
		put_name(out, c[i].name, NAME_W, true);
		fputc(' ', out);
		put_name(out, c[i].stack, 10, true);
		fprintf(out, " %8llu %6llu ", (unsigned long long)c[i].invoked,
		        (unsigned long long)live_client_in_flight(&c[i]));
		if (isnan(s))
			fprintf(out, "%8s", "-");
		else
			fprintf(out, "%7.2f%%", 100 * s);
		fputc(' ', out);
		put_ms(out, live_client_percentile_ms(&c[i], 99));
		fprintf(out, " %6llu %6llu%s", (unsigned long long)c[i].by_class[LIVE_STALE],
		        (unsigned long long)c[i].by_class[LIVE_WRONG_CLASS], e);
	}
	fputs(e, out);

	const struct live_fault *f = live_faults(l, &n);
	fprintf(out, "FAULTS (%zu active)%s", n, e);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "  #%-4u ", f[i].id);
		put_name(out, f[i].target, NAME_W, true);
		fputc(' ', out);
		put_name(out, f[i].kind, 10, true);
		if (f[i].duration > 0)
			fprintf(out, " %.1f s left%s", time_left(&f[i], now), e);
		else
			fprintf(out, " until healed%s", e);
	}
	fputs(e, out);

	n = live_followed(l);
	fprintf(out,
	        "EXPECTATIONS (%zu): so far; the verdict is the history's, when the run ends%s", n,
	        e);
	for (size_t i = 0; i < n; i++) {
		fputs("  ", out);
		put_so_far(out, l, i, false);
		fputs(e, out);
	}
}

/* Writes the first n bytes of s, at most cols characters of them (0: all); UTF-8 kept whole. */
static void put_cut(FILE *out, const char *s, size_t n, unsigned cols)
{
	unsigned chars = 0;
	for (size_t i = 0; i < n; i++) {
		bool cont = ((unsigned char)s[i] & 0xC0) == 0x80;
		if (!cont && cols && chars == cols)
			break;
		chars += !cont;
		fputc(s[i], out);
	}
}

int live_write_dashboard(const struct live *l, double now, const char *metrics_url, bool ansi,
                         unsigned rows, unsigned cols, FILE *out)
{
	char *text = NULL, more[96];
	size_t len = 0, shown = 0, total = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return -ENOMEM;
	frame(l, now, metrics_url, m);
	if (fclose(m) != 0) {
		free(text);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++)
		total += text[i] == '\n';
	if (ansi)
		fputs("\033[H", out);
	/* rows - 1 lines at most: a newline on the last row would scroll the screen */
	for (const char *p = text, *nl; (nl = memchr(p, '\n', len - (size_t)(p - text))) != NULL;
	     p = nl + 1) {
		if (rows && shown + 1 >= rows - 1 && shown + 1 < total) {
			snprintf(more, sizeof more, "... %zu more lines: the window is too small",
			         total - shown);
			put_cut(out, more, strlen(more), cols);
			fputs(eol(ansi), out);
			break;
		}
		put_cut(out, p, (size_t)(nl - p), cols);
		fputs(eol(ansi), out);
		shown++;
	}
	if (ansi)
		fputs("\033[J", out);
	free(text);
	return ferror(out) ? -EIO : 0;
}

int live_write_status(const struct live *l, double now, FILE *out)
{
	size_t n;

	fprintf(out, "live t=%.1f/%.1f", now, live_duration(l));
	const struct live_resolver *r = live_resolvers(l, &n);
	fputs(" | resolvers:", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		put_name(out, r[i].name, 64, false);
		fprintf(out, " %s %.0fqps %lluq %llud", r[i].state[0] ? r[i].state : "-",
		        live_resolver_qps(&r[i], now), (unsigned long long)r[i].queries,
		        (unsigned long long)(r[i].by_action[LIVE_DROPPED] +
		                             r[i].by_action[LIVE_QUEUE_FULL]));
	}
	const struct live_backend *b = live_backends(l, &n);
	fputs(" | vips:", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		put_name(out, b[i].vip, 64, false);
		fputc('/', out);
		put_name(out, b[i].name, 64, false);
		fprintf(out, " %s%s",
		        b[i].up < 0 ? "?"
		        : b[i].up   ? "up"
		                    : "down",
		        b[i].removed ? " removed" : "");
	}
	const struct live_client *c = live_clients(l, &n);
	fputs(" | clients:", out);
	for (size_t i = 0; i < n; i++) {
		double s = live_client_success(&c[i]), p99 = live_client_percentile_ms(&c[i], 99);
		fputs(i ? ", " : " ", out);
		put_name(out, c[i].name, 64, false);
		fprintf(out, " %llu", (unsigned long long)c[i].invoked);
		if (isnan(s))
			fputs(" -ok", out);
		else
			fprintf(out, " %.2f%%ok", 100 * s);
		if (isnan(p99))
			fputs(" p99<=-", out);
		else if (isinf(p99))
			fputs(" p99>18min", out);
		else
			fprintf(out, " p99<=%.3fms", p99);
		fprintf(out, " %llustale %lluwrong", (unsigned long long)c[i].by_class[LIVE_STALE],
		        (unsigned long long)c[i].by_class[LIVE_WRONG_CLASS]);
	}
	const struct live_fault *f = live_faults(l, &n);
	fputs(" | faults:", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		put_name(out, f[i].target, 64, false);
		fputc(' ', out);
		put_name(out, f[i].kind, 64, false);
		if (f[i].duration > 0)
			fprintf(out, " %.1fs", time_left(&f[i], now));
		else
			fputs(" until-healed", out);
	}
	n = live_followed(l);
	fputs(" | expectations:", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? "; " : " ", out);
		put_so_far(out, l, i, true);
	}
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

/* ---- Prometheus text format 0.0.4 ---- */

/* A label value: backslash, double quote and line feed escaped. */
static void put_label(FILE *out, const char *key, const char *v)
{
	fprintf(out, "%s=\"", key);
	for (const char *p = v; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sample: name{k1="v1",k2="v2"} value; labels as (key, value) pairs, NULL-ended. */
static void sample(FILE *out, const char *name, double v, ...)
{
	va_list ap;
	const char *k;
	bool first = true;

	fputs(name, out);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);
		fputc(first ? '{' : ',', out);
		put_label(out, k, val);
		first = false;
	}
	va_end(ap);
	if (!first)
		fputc('}', out);
	if (v == floor(v) && fabs(v) < 9e15)
		fprintf(out, " %.0f\n", v);
	else
		fprintf(out, " %.6f\n", v);
}

static void le_text(double ms, char *buf, size_t cap)
{
	snprintf(buf, cap, "%g", ms / 1000.0);
}

int live_write_metrics(const struct live *l, double now, FILE *out)
{
	size_t n;
	char num[32];

	family(out, "dnschaos_run_seconds", "gauge",
	       "Run time at this scrape, seconds since the run started");
	sample(out, "dnschaos_run_seconds", now, NULL);
	family(out, "dnschaos_run_duration_seconds", "gauge", "The scenario's planned duration");
	sample(out, "dnschaos_run_duration_seconds", live_duration(l), NULL);
	family(out, "dnschaos_history_lines_total", "counter",
	       "History lines written so far: every figure here is these lines' count");
	sample(out, "dnschaos_history_lines_total", (double)live_lines(l), NULL);
	family(out, "dnschaos_stalls_total", "counter",
	       "Stall lines: the harness's loop was held up");
	sample(out, "dnschaos_stalls_total", (double)live_stalls(l), NULL);
	family(out, "dnschaos_run_ended", "gauge", "1 once the history's end line is written");
	sample(out, "dnschaos_run_ended", live_end_reason(l) ? 1 : 0, NULL);

	static const char *const states[] = {"down", "booting", "up"};
	const struct live_resolver *r = live_resolvers(l, &n);
	family(out, "dnschaos_resolver_state", "gauge",
	       "1 for the resolver's state (its last state line), 0 for the others");
	for (size_t i = 0; i < n; i++)
		for (size_t s = 0; s < 3; s++)
			sample(out, "dnschaos_resolver_state", strcmp(r[i].state, states[s]) == 0,
			       "resolver", r[i].name, "state", states[s], NULL);
	family(out, "dnschaos_resolver_serial", "gauge",
	       "The serial of the first zone of the resolver's last boot line");
	for (size_t i = 0; i < n; i++)
		if (r[i].has_serial)
			sample(out, "dnschaos_resolver_serial", r[i].serial, "resolver", r[i].name,
			       NULL);
	family(out, "dnschaos_resolver_queries_total", "counter",
	       "Query lines of the resolver, by action");
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; a < LIVE_ACTIONS; a++)
			sample(out, "dnschaos_resolver_queries_total", (double)r[i].by_action[a],
			       "resolver", r[i].name, "action", live_action_names[a], NULL);
	family(out, "dnschaos_resolver_qps", "gauge",
	       "Query lines in the last second (ten tenths ending with the scrape's)");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_resolver_qps", live_resolver_qps(&r[i], now), "resolver",
		       r[i].name, NULL);
	family(out, "dnschaos_resolver_queue_wait_max_seconds", "gauge",
	       "The longest capacity-queue wait (queue_ms) of the last second's query lines");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_resolver_queue_wait_max_seconds",
		       live_resolver_wait_ms(&r[i], now) / 1000.0, "resolver", r[i].name, NULL);

	const struct live_backend *b = live_backends(l, &n);
	family(out, "dnschaos_vip_backend_up", "gauge",
	       "1 up, 0 down, from the backend's last health up/down line (absent before one)");
	for (size_t i = 0; i < n; i++)
		if (b[i].up >= 0)
			sample(out, "dnschaos_vip_backend_up", b[i].up, "vip", b[i].vip, "backend",
			       b[i].name, NULL);
	family(out, "dnschaos_vip_backend_member", "gauge",
	       "0 while the backend is removed by hand (v:remove), else 1");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_vip_backend_member", !b[i].removed, "vip", b[i].vip,
		       "backend", b[i].name, NULL);
	family(out, "dnschaos_vip_backend_probes_total", "counter",
	       "Health probe lines of the backend, by outcome");
	for (size_t i = 0; i < n; i++) {
		sample(out, "dnschaos_vip_backend_probes_total", (double)b[i].probes_ok, "vip",
		       b[i].vip, "backend", b[i].name, "ok", "true", NULL);
		sample(out, "dnschaos_vip_backend_probes_total", (double)b[i].probes_failed, "vip",
		       b[i].vip, "backend", b[i].name, "ok", "false", NULL);
	}
	const struct live_route *ro = live_routes(l, &n);
	family(out, "dnschaos_vip_routes_total", "counter",
	       "Route lines of the VIP, by backend (\"\" when none was up) and action");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_vip_routes_total", (double)ro[i].n, "vip", ro[i].vip,
		       "backend", ro[i].backend, "action", ro[i].action, NULL);

	const struct live_client *c = live_clients(l, &n);
	family(out, "dnschaos_client_lookups_invoked_total", "counter", "Lookups invoked");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_client_lookups_invoked_total", (double)c[i].invoked, "client",
		       c[i].name, "stack", c[i].stack, NULL);
	family(out, "dnschaos_client_lookups_total", "counter",
	       "Lookups completed, by outcome (ok, fail, timeout, cancelled)");
	for (size_t i = 0; i < n; i++)
		for (size_t o = 0; o < LIVE_OUTCOMES; o++)
			sample(out, "dnschaos_client_lookups_total", (double)c[i].by_outcome[o],
			       "client", c[i].name, "stack", c[i].stack, "outcome",
			       live_outcome_names[o], NULL);
	family(out, "dnschaos_client_answers_total", "counter",
	       "Completed lookups by the classifier's class of their answer");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < LIVE_CLASSES; k++)
			sample(out, "dnschaos_client_answers_total", (double)c[i].by_class[k],
			       "client", c[i].name, "stack", c[i].stack, "class",
			       live_class_names[k], NULL);
	family(out, "dnschaos_client_lookup_duration_seconds", "histogram",
	       "Latency of completed lookups (ok, fail, timeout), seconds");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0, total = live_client_completed(&c[i]);
		for (size_t k = 0; k < LIVE_PROM_BUCKETS; k++) {
			cum += c[i].prom[k];
			le_text(live_prom_le_ms[k], num, sizeof num);
			sample(out, "dnschaos_client_lookup_duration_seconds_bucket", (double)cum,
			       "client", c[i].name, "stack", c[i].stack, "le", num, NULL);
		}
		uint64_t in_hist = 0;
		for (size_t k = 0; k < LIVE_LAT_BUCKETS; k++)
			in_hist += c[i].lat[k];
		(void)total;
		sample(out, "dnschaos_client_lookup_duration_seconds_bucket", (double)in_hist,
		       "client", c[i].name, "stack", c[i].stack, "le", "+Inf", NULL);
		sample(out, "dnschaos_client_lookup_duration_seconds_sum", c[i].lat_sum_ms / 1000.0,
		       "client", c[i].name, "stack", c[i].stack, NULL);
		sample(out, "dnschaos_client_lookup_duration_seconds_count", (double)in_hist,
		       "client", c[i].name, "stack", c[i].stack, NULL);
	}

	const struct live_fault_kind *k = live_fault_kinds(l, &n);
	family(out, "dnschaos_fault_active", "gauge",
	       "Faults of this kind on this target injected and not healed yet");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_fault_active", k[i].active, "target", k[i].target, "kind",
		       k[i].kind, NULL);
	family(out, "dnschaos_faults_injected_total", "counter", "Faults injected");
	for (size_t i = 0; i < n; i++)
		sample(out, "dnschaos_faults_injected_total", (double)k[i].injected, "target",
		       k[i].target, "kind", k[i].kind, NULL);
	return ferror(out) ? -EIO : 0;
}
