/*
 * watch.h - what a game day watches while a run plays (docs/gameday.md,
 * "Watching"): the live dashboard or status lines (`dnschaos run --live`)
 * and the Prometheus endpoint (`--metrics`), both on the run's loop and
 * both drawn from record/live.h's aggregate, which a tap on the history
 * writer (history_set_tap) feeds with every line as it is written: what is
 * shown is what the history says, never a counter of its own.
 *
 * Threads: the tap runs on the thread that ends a history line, under the
 * writer's lock (the loop thread: every history line is written there); the
 * timer and the HTTP requests run on the loop thread. The aggregate is
 * behind a mutex of its own all the same, taken by the tap and by each view,
 * and never held while waiting for anything else, so a line from another
 * thread would be safe too.
 */
#ifndef HARNESS_RUN_WATCH_H
#define HARNESS_RUN_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct event_base;
struct history;
struct watch;
struct expectation;

enum watch_live {
	WATCH_LIVE_OFF,
	WATCH_LIVE_SCREEN, /* the dashboard, redrawn in place every second (a terminal) */
	WATCH_LIVE_LINES,  /* one status line every second (a pipe, a file) */
};

struct watch_options {
	enum watch_live live;
	FILE *out;               /* where the dashboard or lines go (stderr) */
	int metrics_fd;          /* a listening TCP socket to serve GET /metrics on (borrowed:
	                            the watch serves a duplicate); -1: none */
	const char *metrics_url; /* shown in the dashboard; may be NULL */
	const struct expectation *expect; /* the scenario's (borrowed): followed so far */
	size_t nexp;
};

/*
 * Starts watching: a tap on h (set now: start before the first line is
 * written), a 1 s timer on base when o->live is on, and evhttp serving
 * a duplicate of o->metrics_fd when it is >= 0 (closed by watch_destroy;
 * o->metrics_fd stays the caller's). now(arg) gives run time. Everything in o is borrowed
 * and must outlive the watch. Returns NULL with the reason in err.
 */
struct watch *watch_start(struct event_base *base, struct history *h, double (*now)(void *arg),
                          void *arg, const struct watch_options *o, char *err, size_t errlen);

/*
 * The run is over (its end line written): draws the last frame or status
 * line and stops the timer. The endpoint answers as long as the loop turns
 * (it no longer does after the run). NULL is a no-op.
 */
void watch_finish(struct watch *w);

/* Removes the tap and frees everything; before the event_base is freed. NULL is a no-op. */
void watch_destroy(struct watch *w);

#endif
