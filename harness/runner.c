/*
 * runner.c - one scenario run: the loop, the clock, the history's first and
 * last lines, signals, and the order of start-up and teardown.
 */
#include "harness/runner.h"
#include "fakeresolver/clock.h"
#include "harness/lua/bind.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "harness/watchdog.h"
#include "fakeresolver/wire.h"
#include "version.h"

#include <sys/select.h> /* fd_set, for ares.h */
#include <ares.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define FLUSH_INTERVAL_US 100000
#define GRACE_S 30.0 /* past duration + this, the run is stopped as hung */

struct runner {
	struct runner_options opt;
	struct event_base *base;
	lua_State *L;
	struct scenario *sc;
	struct history *hist;
	char dir[4096]; /* the scenario's folder */
	double t0;      /* monotonic seconds at start; 0 before */
	bool running;
	uint32_t next_id;
	uint64_t next_lookup;
	double last_progress;
	bool progress_shown;
	struct classify *classify;
	unsigned next_addr;
	unsigned addr_block; /* the second octet of automatic addresses (DNSCHAOS_ADDRESS_BLOCK) */
	uint64_t seed;
	enum runner_outcome outcome;
	bool stopping;
	bool watched; /* watchdog_start succeeded */
	char error[8192];
	struct event *flush_ev, *end_ev, *deadline_ev, *sigint_ev, *sigterm_ev;
};

struct runner *runner_create(const struct runner_options *opt, char *err, size_t errlen)
{
	struct runner *r = calloc(1, sizeof *r);
	struct event_config *cfg = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->opt = *opt;
	if (r->opt.callback_limit_s <= 0)
		r->opt.callback_limit_s = 5.0;
	r->next_id = 1;
	r->next_lookup = 1;
	r->classify = classify_create();
	if (!r->classify) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->next_addr = 10;
	/* A suite gives each run at once its own block of addresses (harness/suite.c). */
	const char *block = getenv("DNSCHAOS_ADDRESS_BLOCK");
	if (block && block[0]) {
		char *end;
		unsigned long b = strtoul(block, &end, 10);
		if (*end || block[0] == '-' || block[0] == '+' || b > 255) {
			snprintf(err, errlen, "DNSCHAOS_ADDRESS_BLOCK: '%s' is not a number from 0 to 255",
				 block);
			goto fail;
		}
		r->addr_block = (unsigned)b;
	}
	/* Every Lua call from now on, setup included, is also watched from outside Lua. */
	int wd = watchdog_start();
	if (wd != 0) {
		snprintf(err, errlen, "cannot start the watchdog thread: %s", strerror(-wd));
		goto fail;
	}
	r->watched = true;
	/* Timers to the microsecond: faults must land where the timeline says. */
	cfg = event_config_new();
	if (cfg)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	r->base = cfg ? event_base_new_with_config(cfg) : NULL;
	event_config_free(cfg);
	if (!r->base) {
		snprintf(err, errlen, "cannot create the event loop");
		goto fail;
	}
	const char *slash = strrchr(opt->scenario, '/');
	if (slash)
		snprintf(r->dir, sizeof r->dir, "%.*s", (int)(slash - opt->scenario), opt->scenario);
	else
		snprintf(r->dir, sizeof r->dir, ".");
	return r;
fail:
	runner_destroy(r);
	return NULL;
}

void runner_destroy(struct runner *r)
{
	if (!r)
		return;
	/* Lua first: its handles point at farm objects, which go next. Its
	 * finalizers run with no hook: only the watchdog bounds them. */
	if (r->L) {
		double limit = r->opt.callback_limit_s;
		watchdog_set_deadline(clock_mono() + limit, limit,
				      "closing the scenario (its __gc finalizers)");
		lua_close(r->L);
		watchdog_set_deadline(0, 0, NULL);
	}
	scenario_destroy(r->sc);
	struct event *evs[] = { r->flush_ev, r->end_ev, r->deadline_ev, r->sigint_ev,
				r->sigterm_ev };
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	watchdog_attach_history(NULL, 0);
	history_close(r->hist);
	classify_destroy(r->classify);
	if (r->base)
		event_base_free(r->base);
	if (r->watched)
		watchdog_stop();
	free(r);
}

enum runner_outcome runner_load(struct runner *r)
{
	/* The seed is needed before the script runs (math.random); the
	 * scenario's own seed is known only after. The sandbox is reseeded then. */
	r->seed = r->opt.seed_set ? r->opt.seed : 1;
	r->L = sandbox_new(r, r->seed);
	if (!r->L) {
		snprintf(r->error, sizeof r->error, "out of memory");
		return RUNNER_FAILED;
	}
	scenario_open(r->L, r);
	if (sandbox_run_file(r->L, r->opt.scenario, r->error, sizeof r->error) != 0) {
		r->sc = scenario_get(r->L);
		return RUNNER_BAD_INPUT;
	}
	r->sc = scenario_get(r->L);
	if (!r->sc) {
		snprintf(r->error, sizeof r->error,
			 "%s: the file never calls scenario{ name = ..., duration = ... }",
			 r->opt.scenario);
		return RUNNER_BAD_INPUT;
	}
	return RUNNER_COMPLETED;
}

void runner_abort(struct runner *r, enum runner_outcome o, const char *fmt, ...)
{
	if (r->stopping)
		return; /* the first reason stands */
	r->stopping = true;
	r->outcome = o;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
	event_base_loopbreak(r->base);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;
	(void)fd;
	(void)what;
	watchdog_heartbeat();
	if (r->hist && history_flush(r->hist) != 0)
		runner_abort(r, RUNNER_FAILED, "%s", history_error(r->hist));
	double now = runner_now(r);
	if (r->opt.progress && r->sc && now - r->last_progress >= 0.25) {
		uint64_t invoked, ok, done;
		r->last_progress = now;
		scenario_progress(r->sc, &invoked, &ok, &done);
		fprintf(stderr, "\r[%6.1f/%.1f s] %llu lookups", now, scenario_duration(r->sc),
			(unsigned long long)invoked);
		if (done)
			fprintf(stderr, ", %.1f%% ok", 100.0 * (double)ok / (double)done);
		fputs("\033[K", stderr);
		fflush(stderr);
		r->progress_shown = true;
	}
}

static void on_end(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;
	(void)fd;
	(void)what;
	if (!r->stopping) {
		r->stopping = true;
		r->outcome = RUNNER_COMPLETED;
		event_base_loopbreak(r->base);
	}
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;
	(void)fd;
	(void)what;
	runner_abort(r, RUNNER_FAILED, "the run did not end %g s after its duration", GRACE_S);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct runner *r = arg;
	(void)what;
	watchdog_signal_handled();
	runner_abort(r, RUNNER_INTERRUPTED, "interrupted by %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void write_meta(struct runner *r)
{
	struct history *h = r->hist;
	history_begin(h, 0, "meta");
	history_uint(h, "schema", 1);
	history_str(h, "dnschaos", DNSCHAOS_VERSION);
	history_str(h, "scenario", r->opt.scenario);
	history_str(h, "name", scenario_name(r->sc));
	history_uint(h, "seed", r->seed);
	history_double(h, "duration", scenario_duration(r->sc), 3);
	history_str(h, "ldns", ldns_version());
	history_str(h, "libevent", event_get_version());
	history_str(h, "lua", LUA_RELEASE);
	history_str(h, "c-ares", ares_version(NULL));
	history_str(h, "libunbound", ub_version());
	history_str(h, "glibc", gnu_get_libc_version());
	char now[32];
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	history_str(h, "started_unix", now);
	history_end(h);
}

static int arm(struct runner *r, struct event **ev, int fd, short what, event_callback_fn fn,
	       double after)
{
	*ev = event_new(r->base, fd, what, fn, r);
	if (!*ev)
		return -1;
	if (after < 0)
		return event_add(*ev, NULL);
	struct timeval tv = clock_timeval(after);
	return event_add(*ev, &tv);
}

enum runner_outcome runner_run(struct runner *r)
{
	char err[512];
	double duration = scenario_duration(r->sc);

	if (r->opt.history) {
		r->hist = history_open(r->opt.history, err, sizeof err);
		if (!r->hist) {
			snprintf(r->error, sizeof r->error, "%s", err);
			return RUNNER_BAD_INPUT;
		}
	}
	r->t0 = clock_mono();
	r->running = true;
	watchdog_attach_history(r->hist, r->t0);
	if (r->hist)
		write_meta(r);
	if (arm(r, &r->end_ev, -1, 0, on_end, duration) != 0 ||
	    arm(r, &r->deadline_ev, -1, 0, on_deadline, duration + GRACE_S) != 0 ||
	    arm(r, &r->flush_ev, -1, EV_PERSIST, on_flush, FLUSH_INTERVAL_US / 1e6) != 0 ||
	    arm(r, &r->sigint_ev, SIGINT, EV_SIGNAL | EV_PERSIST, on_signal, -1) ||
	    arm(r, &r->sigterm_ev, SIGTERM, EV_SIGNAL | EV_PERSIST, on_signal,
		-1)) {
		snprintf(r->error, sizeof r->error, "out of memory");
		r->outcome = RUNNER_FAILED;
		goto teardown;
	}
	/* On top of libevent's handlers: a signal still ends a loop that is stuck. */
	int caught = watchdog_catch_signals();
	if (caught != 0) {
		snprintf(r->error, sizeof r->error, "cannot catch SIGINT and SIGTERM: %s",
			 strerror(-caught));
		r->outcome = RUNNER_FAILED;
		goto teardown;
	}
	if (scenario_start(r->sc, err, sizeof err) != 0) {
		snprintf(r->error, sizeof r->error, "cannot start the farm: %s", err);
		r->outcome = RUNNER_FAILED;
		goto teardown;
	}
	runner_say(r, "run '%s' for %g s, seed %llu", scenario_name(r->sc), duration,
		   (unsigned long long)r->seed);
	watchdog_loop(true);
	int dispatched = event_base_dispatch(r->base);
	watchdog_loop(false);
	if (dispatched < 0 && !r->stopping) {
		snprintf(r->error, sizeof r->error, "the event loop failed");
		r->outcome = RUNNER_FAILED;
	}
teardown:
	if (r->progress_shown) { /* leave the terminal line clean */
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	/* Heal every fault and stop every object; all of it goes into the history. */
	scenario_stop(r->sc);
	if (r->hist) {
		static const char *const reasons[] = { "duration", "interrupted", "error", "error" };
		history_begin(r->hist, runner_now(r), "end");
		history_str(r->hist, "reason", reasons[r->outcome]);
		if (r->error[0])
			history_str(r->hist, "error", r->error);
		history_uint(r->hist, "lines", history_lines(r->hist) + 1);
		history_end(r->hist);
		if (history_flush(r->hist) != 0 && r->outcome == RUNNER_COMPLETED) {
			snprintf(r->error, sizeof r->error, "%s", history_error(r->hist));
			r->outcome = RUNNER_FAILED;
		}
	}
	r->running = false;
	return r->outcome;
}

const char *runner_error(const struct runner *r)
{
	return r->error;
}

int runner_exit_code(enum runner_outcome o)
{
	switch (o) {
	case RUNNER_COMPLETED:
		return DNSCHAOS_EXIT_PASS;
	case RUNNER_INTERRUPTED:
		return DNSCHAOS_EXIT_INCONCLUSIVE;
	case RUNNER_BAD_INPUT:
		return DNSCHAOS_EXIT_BAD_INPUT;
	default:
		return DNSCHAOS_EXIT_INTERNAL;
	}
}

struct event_base *runner_base(struct runner *r)
{
	return r->base;
}

struct lua_State *runner_lua(struct runner *r)
{
	return r->L;
}

struct history *runner_history(struct runner *r)
{
	return r->hist;
}

double runner_now(const struct runner *r)
{
	return r->t0 > 0 ? clock_mono() - r->t0 : 0;
}

bool runner_running(const struct runner *r)
{
	return r->running;
}

uint64_t runner_scenario_seed(struct runner *r, uint64_t seed)
{
	if (!r->opt.seed_set)
		r->seed = seed;
	return r->seed;
}

uint64_t runner_seed(const struct runner *r)
{
	return r->seed;
}

int runner_verbose(const struct runner *r)
{
	return r->opt.verbose;
}

double runner_callback_limit(const struct runner *r)
{
	return r->opt.callback_limit_s;
}

uint32_t runner_next_id(struct runner *r)
{
	return r->next_id++;
}

bool runner_history_on_stdout(const struct runner *r)
{
	return r->opt.history && strcmp(r->opt.history, "-") == 0;
}

struct scenario *runner_scenario(struct runner *r)
{
	return r->sc;
}

void runner_set_history(struct runner *r, const char *path)
{
	r->opt.history = path;
}

struct classify *runner_classify(struct runner *r)
{
	return r->classify;
}

const char *runner_relpath(const struct runner *r, const char *path)
{
	size_t n = strlen(r->dir);
	if (strcmp(r->dir, ".") == 0)
		return strncmp(path, "./", 2) == 0 ? path + 2 : path;
	if (n && strncmp(path, r->dir, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

/* The version line: a version the classifier learnt (once per content). */
static void record_version(struct runner *r, struct zone_version *v, enum classify_known how,
			   double t)
{
	char name[1024], hex[ZONE_DIGEST_HEX];
	uint8_t digest[ZONE_DIGEST_LEN];
	if (!r->hist || zone_version_digest(v, digest) != 0)
		return;
	zone_digest_hex(digest, hex);
	wire_name_to_str(zone_version_origin(v, NULL), name, sizeof name);
	history_begin(r->hist, t, "version");
	history_str(r->hist, "zone", name);
	history_uint(r->hist, "serial", zone_version_serial(v));
	history_str(r->hist, "digest", hex);
	history_str(r->hist, "known", classify_known_name(how));
	if (how != CLASSIFY_TRANSFER)
		history_str(r->hist, "file", runner_relpath(r, zone_version_source(v)));
	history_end(r->hist);
}

/* One time for the classifier and the line: a replay of the history must see the same. */
int runner_know_version(struct runner *r, struct zone_version *v, enum classify_known how)
{
	double now = runner_now(r);
	int rc = classify_add_version(r->classify, v, how, now);
	if (rc > 0)
		record_version(r, v, how, now);
	return rc < 0 ? -1 : 0;
}

int runner_publish_version(struct runner *r, struct zone_version *v, double t)
{
	int rc = classify_publish(r->classify, v, t);
	if (rc > 0)
		record_version(r, v, CLASSIFY_PUBLISHED, t);
	return rc < 0 ? -1 : 0;
}

uint64_t runner_next_lookup_id(struct runner *r)
{
	return r->next_lookup++;
}

bool runner_join(struct runner *r, const struct addr *dst, const struct addr *src,
		 const uint8_t *qname, size_t qlen, uint16_t qtype, int id, struct client_join *out)
{
	return r->sc && scenario_join(r->sc, dst, src, qname, qlen, qtype, id, out);
}

void runner_emit(struct runner *r, const void *target, const char *event)
{
	if (r->sc)
		scenario_emit(r->sc, target, event);
}

void runner_path(const struct runner *r, const char *rel, char *out, size_t cap)
{
	if (rel[0] == '/')
		snprintf(out, cap, "%s", rel);
	else
		snprintf(out, cap, "%s/%s", r->dir, rel);
}

int runner_next_address(struct runner *r, char *out, size_t cap)
{
	if (r->next_addr > 250)
		return -1;
	snprintf(out, cap, "127.%u.0.%u", r->addr_block, r->next_addr++);
	return 0;
}

void runner_say(struct runner *r, const char *fmt, ...)
{
	if (!r->opt.verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%8.3f] ", runner_now(r));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
