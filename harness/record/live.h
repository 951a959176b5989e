/*
 * live.h - the run as it goes, from its history lines: what the live
 * dashboard (`dnschaos run --live`) and the Prometheus endpoint (`--metrics`)
 * show. The history stays the single source of truth: this aggregate is fed
 * the very lines the writer writes (history_set_tap), one at a time, through
 * hist.c's line parser, and keeps only running figures, in memory bounded by
 * the number of objects (resolvers, VIP backends, clients, fault kinds), not
 * by the run's length. Pure: no I/O, no clock (the time is an argument).
 *
 * What it keeps (docs/gameday.md, "Watching", says it for users):
 *   per resolver (fake or real, by `state` and `query` lines): its state and
 *     why, its serial (the first zone of its last `boot` line), its query
 *     lines counted by action, the queries per second and the longest
 *     capacity-queue wait (queue_ms) over the last second;
 *   per VIP backend (`vip`, `health`, `route` lines): health from its last
 *     up/down line (unknown before one: the start state is not in the
 *     history), membership (removed/member lines), its probes, the VIP's
 *     routes by action;
 *   per client (`lookup` lines): invoked, completions by event, answers by
 *     class, in flight, and the latency of completed lookups (ok, fail,
 *     timeout: as the checker's latency{} and success_rate{}) in a fixed
 *     histogram (below);
 *   per (target, kind): faults injected, and the active ones with their
 *     inject time and duration (a fault with no heal line yet is active);
 *   the run: name, planned duration, last t, lines, stalls, the end line;
 *   the expectations it is asked to follow (live_follow), so far.
 *
 * QPS window: a resolver's queries per second at time now are the query
 * lines with t in [(k - 9) / 10, (k + 1) / 10), k = floor(now * 10): ten
 * tenths of a second ending with the one holding now, kept in a ring of ten
 * counters (lines are in t order).
 *
 * Latency histogram: bucket 0 holds latencies <= 1 us, bucket i (1 <= i <
 * LIVE_LAT_BUCKETS - 1) those in (2^((i-1)/8), 2^(i/8)] us, the last one
 * everything above (2^((LIVE_LAT_BUCKETS-2)/8) us = 2^30 us, about 18 minutes). A
 * percentile is reported as the upper bound of the bucket holding the
 * nearest-rank sample: never below the exact nearest-rank value, and less
 * than 2^(1/8) (9.05 %) above it (LIVE_LAT_ERROR).
 *
 * Not thread-safe: one thread feeds and reads (the caller locks otherwise).
 */
#ifndef HARNESS_RECORD_LIVE_H
#define HARNESS_RECORD_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LIVE_LAT_BUCKETS 242
/* A percentile's bound is below exact * LIVE_LAT_ERROR (2^(1/8)). */
#define LIVE_LAT_ERROR 1.0905077326652577
/* The Prometheus histogram's upper bounds, milliseconds (then +Inf). */
#define LIVE_PROM_BUCKETS 14
extern const double live_prom_le_ms[LIVE_PROM_BUCKETS];

/* Query actions counted apart (docs/history.md, `query`); the rest are "other". */
enum live_action {
	LIVE_ANSWERED,
	LIVE_DROPPED,
	LIVE_RCODE,
	LIVE_TRUNCATED,
	LIVE_WRONG,
	LIVE_QUEUE_FULL,
	LIVE_AXFR,
	LIVE_OTHER_ACTION,
	LIVE_ACTIONS
};
extern const char *const live_action_names[LIVE_ACTIONS];

enum live_outcome { LIVE_OK, LIVE_FAIL, LIVE_TIMEOUT, LIVE_CANCELLED, LIVE_OUTCOMES };
extern const char *const live_outcome_names[LIVE_OUTCOMES];

enum live_class { LIVE_FRESH, LIVE_STALE, LIVE_WRONG_CLASS, LIVE_CLASSES };
extern const char *const live_class_names[LIVE_CLASSES];

struct live_resolver {
	char *name;
	char state[16]; /* "" before a state line; down, booting, up */
	char why[32];
	bool has_serial;
	uint32_t serial; /* its first zone's, from its last boot line */
	uint64_t queries;
	uint64_t by_action[LIVE_ACTIONS];
	int64_t tenth[10];     /* which tenth of a second each slot counts (-1: none) */
	uint32_t in_tenth[10]; /* query lines in it */
	double wait_tenth[10]; /* longest queue_ms in it */
};

struct live_backend {
	char *vip, *name;
	int up;         /* -1 unknown (no up/down line yet), 0 down, 1 up */
	bool removed;   /* v:remove, until v:restore */
	int last_probe; /* -1 none, 0 failed, 1 ok */
	uint64_t probes_ok, probes_failed;
	uint64_t routed; /* route lines naming it as the backend */
};

struct live_route {
	char *vip, *backend; /* backend "" when none was up */
	char *action;
	uint64_t n;
};

struct live_client {
	char *name, *stack;
	uint64_t invoked;
	uint64_t by_outcome[LIVE_OUTCOMES];
	uint64_t by_class[LIVE_CLASSES];
	uint64_t lat[LIVE_LAT_BUCKETS];   /* completed (ok, fail, timeout) */
	uint64_t prom[LIVE_PROM_BUCKETS]; /* the same, <= live_prom_le_ms[i], not cumulative */
	double lat_sum_ms;
};

struct live_fault_kind {
	char *target, *kind;
	uint64_t injected;
	uint32_t active;
};

struct live_fault {
	uint32_t id;
	char *target, *kind;
	double t, duration; /* seconds until it heals itself (`duration`, a crash's `down`); 0:
	                       until healed */
};

struct live;

/* A new, empty aggregate; NULL when out of memory. */
struct live *live_create(void);
/* NULL is a no-op. */
void live_destroy(struct live *l);

/*
 * Takes one history line (its bytes, with or without "\n"; borrowed). A
 * line that is not JSON, or not a history line, is counted in
 * live_bad_lines and otherwise ignored: the live view never stops a run.
 * Returns 0, or -ENOMEM (then figures may miss that line).
 */
int live_feed(struct live *l, const char *line, size_t len);

/* The run. */
const char *live_name(const struct live *l); /* the meta line's name, "" before it */
double live_duration(const struct live *l);  /* the meta line's, 0 before it */
double live_last_t(const struct live *l);    /* t of the last line fed */
uint64_t live_lines(const struct live *l);   /* lines fed (bad ones included) */
uint64_t live_bad_lines(const struct live *l);
uint64_t live_stalls(const struct live *l);
const char *live_end_reason(const struct live *l); /* NULL until the end line */

/* The objects, in the order their first line came. Borrowed; valid until the next feed. */
const struct live_resolver *live_resolvers(const struct live *l, size_t *n);
const struct live_backend *live_backends(const struct live *l, size_t *n);
const struct live_route *live_routes(const struct live *l, size_t *n);
const struct live_client *live_clients(const struct live *l, size_t *n);
const struct live_fault_kind *live_fault_kinds(const struct live *l, size_t *n);
/* The active faults, in inject order. */
const struct live_fault *live_faults(const struct live *l, size_t *n);

/*
 * Queries per second at run time now (the QPS window above). now is at or
 * after the last query line's t: the ring keeps only the last ten tenths
 * that had a line, so a window further back may have been forgotten.
 */
double live_resolver_qps(const struct live_resolver *r, double now);
/* The longest queue_ms of the query lines in the same window; 0 when none waited. */
double live_resolver_wait_ms(const struct live_resolver *r, double now);

/* Completed lookups (ok, fail, timeout), and ok / completed (NaN without any). */
uint64_t live_client_completed(const struct live_client *c);
double live_client_success(const struct live_client *c);
/* Invoked and not completed (cancelled counts as completed here). */
uint64_t live_client_in_flight(const struct live_client *c);
/*
 * The p-th percentile (0 < p <= 100, nearest rank) of the completed lookups'
 * latency, as a bound: the upper edge of its histogram bucket, ms (see
 * above); NaN without completed lookups, INFINITY in the last bucket.
 */
double live_client_percentile_ms(const struct live_client *c, double p);
/* The upper edge of latency bucket i, ms (INFINITY for the last). */
double live_lat_bucket_ms(size_t i);

/*
 * Expectations so far. An expectation over lookups with a bound the
 * aggregate can measure exactly as the checker will (success_rate,
 * stale_answers, wrong_answers: the same lookups, client, stack and window
 * on the invoke's t, counted as they complete; latency: as a bound, as
 * above) is followed from its registration on; any other metric is judged
 * only at the end. e is borrowed and must outlive l; register before the
 * first line. Returns 0 or -ENOMEM. In flight, the invoke times of the
 * lookups not completed yet are kept (memory bounded by what is in flight).
 */
struct expectation;
int live_follow(struct live *l, const struct expectation *e);
/*
 * Expectation i (in registration order) so far: 1 with *value (its unit:
 * a rate, a count, or a latency bound in ms: *upper true), 0 when no lookup
 * of it has completed yet, -1 when it is judged only at the end. *e gets
 * the expectation.
 */
int live_so_far(const struct live *l, size_t i, const struct expectation **e, double *value,
                bool *upper);
size_t live_followed(const struct live *l);

/*
 * The views, written to out (the caller's stream: a terminal, a pipe, a
 * memory stream; the writer decides nothing else). now is run time, in
 * seconds; the expectations followed are shown with their value so far, or
 * as judged at the end; metrics_url is shown when not NULL.
 *
 * live_write_dashboard: the full-screen frame, one object per line, fitted
 * to a window of rows x cols characters (0: no limit): lines cut at cols, and
 * at most rows - 1 lines (the last of them saying how many did not fit), so
 * the frame never scrolls the screen. With ansi, each line ends by clearing
 * the rest of the terminal line, and the frame starts at the screen's
 * top-left and ends by clearing below it (ECMA-48 CUP, EL and ED only: no
 * terminal query, works in tmux and over ssh).
 * live_write_status: one plain line (docs/gameday.md gives its format).
 * live_write_metrics: the Prometheus text exposition format 0.0.4.
 * Each returns 0, or -EIO when out fails (-ENOMEM when out of memory).
 */
int live_write_dashboard(const struct live *l, double now, const char *metrics_url, bool ansi,
                         unsigned rows, unsigned cols, FILE *out);
int live_write_status(const struct live *l, double now, FILE *out);
int live_write_metrics(const struct live *l, double now, FILE *out);

#endif
