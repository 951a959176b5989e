/*
 * watchdog.h - a thread that ends a run the Lua hook cannot stop.
 *
 * The deadline hook (lua/sandbox.c) counts Lua instructions, so it never
 * fires while Lua runs a __gc finalizer (hooks are off there) or sits in one
 * long C function (a pathological string.find pattern). And libevent handles
 * SIGINT and SIGTERM only when the loop runs. The watchdog is a thread of its
 * own that never touches Lua. It ends the process (_exit) when:
 *
 *  - the Lua call in progress (every call goes through sandbox_enter, and
 *    lua_close through watchdog_set_deadline) runs WATCHDOG_MARGIN_S past its
 *    deadline: exit 3 (DNSCHAOS_EXIT_BAD_INPUT), end reason "error";
 *  - the event loop, with no Lua call in progress, makes no progress for
 *    WATCHDOG_STALL_S: exit 4, end reason "error";
 *  - a SIGINT or SIGTERM caught by watchdog_catch_signals is not handled by
 *    the loop (watchdog_signal_handled) within WATCHDOG_SIGNAL_GRACE_S: exit 2,
 *    end reason "interrupted".
 *
 * Ending: the reason on stderr, then, if a history is attached and has no
 * `end` line yet, an `end` line with the reason (history_emergency_end: taken
 * under the history's lock, so no line the main thread is writing is cut),
 * then _exit. Reports are not written. Exec commands die with the process
 * (PR_SET_PDEATHSIG, spawn.c).
 *
 * Threads: watchdog_start and watchdog_stop from the main thread, once per
 * runner (counted: nested runners share one thread). Every other function is
 * called from the main (loop) thread and only stores C11 atomics, except
 * watchdog_attach_history, which takes a mutex the watchdog holds while it
 * writes. The signal handler only touches lock-free atomics and sem_post.
 */
#ifndef HARNESS_WATCHDOG_H
#define HARNESS_WATCHDOG_H

#include <stdbool.h>

struct history;

/* A Lua call may overrun its deadline by this much before the watchdog ends the run. */
#define WATCHDOG_MARGIN_S 2.0
/* A loop that stops turning this long, outside any Lua call, ends the run. */
#define WATCHDOG_STALL_S 30.0
/* A caught signal the loop has not handled after this long ends the run. */
#define WATCHDOG_SIGNAL_GRACE_S 0.7

/* Starts the thread (or counts one more user). Returns 0 or -errno. */
int watchdog_start(void);

/* Counts one user less; the last one stops and joins the thread. */
void watchdog_stop(void);

/*
 * The deadline of the Lua call in progress: at, in clock_mono seconds (0:
 * no call in progress), limit, its length in seconds (for the message), and
 * what, a static string naming the call ("scenario code", ...; NULL: that).
 */
void watchdog_set_deadline(double at, double limit, const char *what);

/*
 * The history the watchdog ends (NULL: none; set it to NULL before closing
 * it) and the run's start, in clock_mono seconds, for the `t` of the line.
 * Borrowed; waits while the watchdog writes to the history it replaces.
 */
void watchdog_attach_history(struct history *h, double t0);

/*
 * A file to remove when the watchdog ends the process (the temporary history
 * main.c made for judging: nobody reads it then). NULL: none. Borrowed.
 */
void watchdog_remove_on_end(const char *path);

/* The loop is dispatching (true) or not; while it is, watchdog_heartbeat must be called. */
void watchdog_loop(bool running);
void watchdog_heartbeat(void);

/*
 * Catches SIGINT and SIGTERM on top of the handlers in place (libevent's),
 * which still run. Call after the loop's signal events are added; deleting
 * them (event_free) restores the handlers from before they were added.
 * Returns 0 or -errno.
 */
int watchdog_catch_signals(void);

/* The loop handled every signal caught so far (the runner's signal callback). */
void watchdog_signal_handled(void);

#endif
