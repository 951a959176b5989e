/*
 * watchdog.c - the thread that ends a run stuck where the Lua hook and the
 * event loop cannot reach (see watchdog.h).
 *
 * Shared state, and who touches it:
 *  - the deadline (at, limit, what): written by the main thread under a
 *    sequence counter (odd while writing), read by the watchdog, which retries
 *    until it reads the same even count before and after; all C11 atomics;
 *  - loop_running, beat_ns: atomics, written by the main thread;
 *  - sig_count (the signal handler adds one), sig_handled (the main thread
 *    copies sig_count into it when the loop handled the signals), sig_last:
 *    lock-free atomics; the handler also sem_posts to wake the watchdog;
 *  - hist and t0: under hist_mu, which the watchdog holds while it ends the
 *    history and never releases (it _exits);
 *  - users and the thread handle: under start_mu, main thread only.
 */
#include "harness/run/watchdog.h"
#include "fakeresolver/clock.h"
#include "harness/record/history.h"
#include "harness/run/run.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 50000000L /* the watchdog looks every 50 ms */

static pthread_mutex_t start_mu = PTHREAD_MUTEX_INITIALIZER;
static int users;
static pthread_t thread;
static sem_t wake; /* made once, never destroyed: a late signal may still post it */
static bool wake_made;
static atomic_bool stopping;

static atomic_uint dl_seq;
static _Atomic int64_t dl_at_ns, dl_limit_ns; /* at 0: no Lua call in progress */
static _Atomic(const char *) dl_what;

static atomic_bool loop_running;
static _Atomic int64_t beat_ns;

static atomic_uint sig_count, sig_handled;
static atomic_int sig_last;
static struct sigaction prev_int, prev_term; /* written before our handler is installed */

static pthread_mutex_t hist_mu = PTHREAD_MUTEX_INITIALIZER;
static struct history *hist;
static double hist_t0;
static const char *remove_path;

static int64_t to_ns(double s)
{
	return (int64_t)(s * 1e9);
}

void watchdog_set_deadline(double at, double limit, const char *what)
{
	atomic_fetch_add(&dl_seq, 1); /* odd: being written */
	atomic_store(&dl_at_ns, at > 0 ? to_ns(at) : 0);
	atomic_store(&dl_limit_ns, to_ns(limit));
	atomic_store(&dl_what, what);
	atomic_fetch_add(&dl_seq, 1);
}

/* A consistent copy of the deadline. */
static void read_deadline(int64_t *at, int64_t *limit, const char **what)
{
	for (;;) {
		unsigned s = atomic_load(&dl_seq);
		if (s & 1) {
			sched_yield();
			continue;
		}
		*at = atomic_load(&dl_at_ns);
		*limit = atomic_load(&dl_limit_ns);
		*what = atomic_load(&dl_what);
		if (atomic_load(&dl_seq) == s)
			return;
	}
}

void watchdog_attach_history(struct history *h, double t0)
{
	pthread_mutex_lock(&hist_mu);
	hist = h;
	hist_t0 = t0;
	pthread_mutex_unlock(&hist_mu);
}

void watchdog_remove_on_end(const char *path)
{
	pthread_mutex_lock(&hist_mu);
	remove_path = path;
	pthread_mutex_unlock(&hist_mu);
}

void watchdog_loop(bool running)
{
	atomic_store(&beat_ns, to_ns(clock_mono()));
	atomic_store(&loop_running, running);
}

void watchdog_heartbeat(void)
{
	atomic_store(&beat_ns, to_ns(clock_mono()));
}

void watchdog_signal_handled(void)
{
	atomic_store(&sig_handled, atomic_load(&sig_count));
}

/* Async-signal-safe: lock-free atomics, sem_post, then the handler we replaced. */
static void on_signal(int sig, siginfo_t *info, void *uc)
{
	int saved = errno;
	const struct sigaction *prev = sig == SIGINT ? &prev_int : &prev_term;
	atomic_store(&sig_last, sig);
	atomic_fetch_add(&sig_count, 1);
	sem_post(&wake);
	if (prev->sa_flags & SA_SIGINFO) {
		if (prev->sa_sigaction)
			prev->sa_sigaction(sig, info, uc);
	} else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
	}
	errno = saved;
}

/* Installs on_signal for sig on top of what is there (unless it is on_signal already). */
static int chain(int sig, struct sigaction *prev)
{
	struct sigaction cur, sa;
	if (sigaction(sig, NULL, &cur) != 0)
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
		return 0;
	*prev = cur;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		return -errno;
	return 0;
}

int watchdog_catch_signals(void)
{
	int rc = chain(SIGINT, &prev_int);
	if (rc == 0)
		rc = chain(SIGTERM, &prev_term);
	return rc;
}

/*
 * Ends the process: the reason on stderr (write(2): the main thread may hold
 * stdio's lock), the history's end line if it has none, then _exit.
 */
static _Noreturn void end_run(int code, const char *reason, const char *msg)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "dnschaos: %s\n", msg);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
		/* nothing more can be said */
	}
	pthread_mutex_lock(&hist_mu); /* held until _exit: the history is not closed under us */
	if (hist && history_emergency_end(hist, clock_mono() - hist_t0, reason, msg, 1.0) != 0) {
		static const char cut[] = "dnschaos: the history could not be ended (it keeps every "
					  "whole line written, like a killed run's)\n";
		if (write(STDERR_FILENO, cut, sizeof cut - 1) < 0) {
			/* nothing more can be said */
		}
	}
	if (remove_path)
		unlink(remove_path);
	_exit(code);
}

/*
 * One look: ends the run if something overran. since: when the unhandled
 * signals were seen; beat, stalled: the heartbeat last seen, and for how many
 * looks it has not changed (looks, not clock time: a process stopped by
 * SIGSTOP for a minute did not stall).
 */
static void look(double *since, int64_t *beat, unsigned *stalled)
{
	char msg[768];
	double now = clock_mono();
	int64_t at, limit;
	const char *what;

	read_deadline(&at, &limit, &what);
	if (atomic_load(&sig_count) != atomic_load(&sig_handled)) {
		if (*since == 0) {
			*since = now;
		} else if (now - *since >= WATCHDOG_SIGNAL_GRACE_S) {
			int sig = atomic_load(&sig_last);
			int k = snprintf(msg, sizeof msg, "interrupted by %s",
					 sig == SIGINT ? "SIGINT" : "SIGTERM");
			if (at > 0 && k > 0)
				snprintf(msg + k, sizeof msg - (size_t)k,
					 " while %s had run %.1f s without returning (a loop in "
					 "a __gc finalizer or a C call that never ends?); ended "
					 "by the watchdog",
					 what ? what : "scenario code",
					 now - (double)(at - limit) / 1e9);
			else if (k > 0)
				snprintf(msg + k, sizeof msg - (size_t)k,
					 "; the run did not stop within %.1f s, ended by the "
					 "watchdog",
					 WATCHDOG_SIGNAL_GRACE_S);
			end_run(DNSCHAOS_EXIT_INCONCLUSIVE, "interrupted", msg);
		}
	} else {
		*since = 0;
	}
	if (at > 0 && now > (double)at / 1e9 + WATCHDOG_MARGIN_S) {
		snprintf(msg, sizeof msg,
			 "%s ran %.1f s past its %g s limit and never returned to the deadline "
			 "hook (a loop in a __gc finalizer, or a C call such as a pathological "
			 "string pattern, that never ends?); ended by the watchdog",
			 what ? what : "scenario code", now - (double)at / 1e9,
			 (double)limit / 1e9);
		end_run(DNSCHAOS_EXIT_BAD_INPUT, "error", msg);
	}
	int64_t b = atomic_load(&beat_ns);
	if (at != 0 || !atomic_load(&loop_running) || b != *beat)
		*stalled = 0;
	else
		++*stalled;
	*beat = b;
	if (*stalled > (unsigned)(WATCHDOG_STALL_S * 1e9 / TICK_NS)) {
		snprintf(msg, sizeof msg,
			 "the event loop made no progress for %g s (stuck outside any scenario "
			 "call); ended by the watchdog",
			 WATCHDOG_STALL_S);
		end_run(DNSCHAOS_EXIT_INTERNAL, "error", msg);
	}
}

static void *watch(void *arg)
{
	double since = 0;
	int64_t beat = 0;
	unsigned stalled = 0;
	(void)arg;
	while (!atomic_load(&stopping)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (sem_timedwait(&wake, &ts) != 0 && errno == EINTR)
			;
		if (!atomic_load(&stopping))
			look(&since, &beat, &stalled);
	}
	return NULL;
}

int watchdog_start(void)
{
	int rc = 0;
	sigset_t all, old;

	pthread_mutex_lock(&start_mu);
	if (users++ > 0)
		goto out;
	if (!wake_made) {
		if (sem_init(&wake, 0, 0) != 0) {
			rc = -errno;
			users--;
			goto out;
		}
		wake_made = true;
	}
	atomic_store(&stopping, false);
	watchdog_set_deadline(0, 0, NULL);
	atomic_store(&loop_running, false);
	atomic_store(&sig_handled, atomic_load(&sig_count));
	/* No signal is ever delivered to the watchdog thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&thread, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		users--;
		rc = -e;
	}
out:
	pthread_mutex_unlock(&start_mu);
	return rc;
}

void watchdog_stop(void)
{
	pthread_mutex_lock(&start_mu);
	if (users > 0 && --users == 0) {
		atomic_store(&stopping, true);
		sem_post(&wake);
		pthread_join(thread, NULL);
	}
	pthread_mutex_unlock(&start_mu);
}
