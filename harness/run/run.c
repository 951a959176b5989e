/*
 * run.c - one run: the loop, the clock, the registry of farm objects and
 * clients, the timeline, the event bus, the join, the history's first and
 * last lines, signals, and the order of start-up and teardown. No Lua: the
 * describing layer is a script the run was given (runner_set_script).
 */
#include "harness/run/run.h"
#include "harness/env.h"
#include "fakeresolver/clock.h"
#include "harness/clients/client.h"
#include "harness/farm/farm.h"
#include "harness/farm/remote.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "harness/run/watch.h"
#include "harness/run/watchdog.h"
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
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "fakeresolver/addr.h"

#define FLUSH_INTERVAL_US 100000
/*
 * The flush timer also watches the loop: a tick later than this past its
 * interval means the loop (or the whole process) was held up, and the
 * history says so in a stall line (docs/history.md), which the checker
 * weighs against a failed expectation (docs/checks.md).
 */
#define STALL_RECORD_S 0.25
#define GRACE_S 30.0 /* past duration + this, the run is stopped as hung */

/* A timeline entry: a declared action, or a call into the describing layer. */
struct run_entry {
	struct runner *run;
	struct event *ev;
	double at, every, until;
	double next;              /* when the next tick is due (timeline time) */
	bool held;                /* pending when the run paused: re-armed at resume */
	struct run_entry *chain;  /* one-shot entries due at the same time, declared later */
	struct run_action act;    /* verb RUN_NONE: a call */
	void (*fn)(void *arg, int ref);
	void *arg;
	int ref;
	char where[320];          /* "file.lua:12: s:at(...): " */
};

struct pending_emit {
	const void *target;
	char event[16];
};

struct runner {
	struct runner_options opt;
	struct event_base *base;
	void *script; /* the describing layer's (the Lua state) */
	const struct runner_script *script_ops;
	char name[128];
	double duration;
	struct history *hist;
	/* the registry */
	struct farm_resolver **resolvers;
	size_t nres;
	struct farm_source **sources;
	size_t nsrc;
	struct farm_vip **vips;
	size_t nvip;
	struct farm_process **procs;
	size_t nproc;
	struct farm_remote **remotes;
	size_t nrem;
	struct client **clients;
	size_t ncli;
	/* the timeline */
	struct run_entry **tl;
	size_t ntl;
	/* the event bus */
	void (*listen)(void *arg, const void *target, const char *event);
	void *listen_arg;
	struct event *emit_ev;
	struct pending_emit *emits;
	size_t nemits, cap_emits;
	bool started; /* the farm is started: events are delivered, entries fire */
	char dir[4096]; /* the scenario's folder */
	struct run_env env; /* what the farm and the clients are given */
	double last_progress;
	double last_tick; /* the flush timer's last run (run seconds); < 0 before the first */
	bool progress_shown;
	enum runner_outcome outcome;
	bool stopping;
	bool watched; /* watchdog_start succeeded */
	struct watch *watch; /* --live, --metrics: fed the history's lines */
	/* game day: the control socket and the timeline's pauses */
	struct runner_service service; /* runner_set_service; stop NULL: none, or stopped */
	bool paused;
	double paused_at; /* run time the pause began */
	double shift;     /* seconds paused, over every pause that ended */
	char error[8192];
	struct event *flush_ev, *end_ev, *deadline_ev, *sigint_ev, *sigterm_ev;
};

static int farm_start(struct runner *r, char *err, size_t errlen);
static void farm_stop(struct runner *r);
static void env_op_emit(void *ctx, const void *target, const char *event);
static bool env_op_join(void *ctx, const struct addr *dst, const struct addr *src,
			const uint8_t *qname, size_t qlen, uint16_t qtype, int id,
			struct client_join *out);
static void env_op_fail(void *ctx, const char *msg);
static int env_op_know_version(void *ctx, struct zone_version *v, int how);
static int env_op_publish_version(void *ctx, struct zone_version *v, double t);
static bool env_op_fronts(void *ctx, const struct addr *vip, const struct addr *backend);

static const struct run_env_ops env_ops = {
	.emit = env_op_emit,
	.join = env_op_join,
	.fail = env_op_fail,
	.know_version = env_op_know_version,
	.publish_version = env_op_publish_version,
	.fronts = env_op_fronts,
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
	env_init(&r->env);
	/* The seed is needed before the script runs (math.random); the
	 * scenario's own seed may replace it then (runner_scenario_seed). */
	r->env.seed = opt->seed_set ? opt->seed : 1;
	r->env.verbose = opt->verbose;
	r->env.ops = &env_ops;
	r->env.ctx = r;
	r->env.classify = classify_create();
	if (!r->env.classify) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
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
		r->env.addr_block = (unsigned)b;
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
	r->env.base = r->base;
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

static void entry_free(struct run_entry *e)
{
	if (e->ev)
		event_free(e->ev);
	run_action_clear(&e->act);
	free(e);
}

/* The service's stop, once (runner_set_service). */
static void service_stop(struct runner *r)
{
	void (*stop)(void *) = r->service.stop;
	r->service.stop = NULL;
	r->service.start = NULL;
	if (stop)
		stop(r->service.arg);
}

void runner_destroy(struct runner *r)
{
	if (!r)
		return;
	/* The live views first: they follow the script's expectations (borrowed). */
	watch_destroy(r->watch);
	service_stop(r); /* before the script: it may parse with it */
	/* The script first: its handles point at farm objects, which go next.
	 * (Lua's finalizers run with no hook: the script's close puts a
	 * watchdog deadline around them.) */
	if (r->script && r->script_ops && r->script_ops->close)
		r->script_ops->close(r->script);
	for (size_t i = 0; i < r->ntl; i++)
		entry_free(r->tl[i]);
	free(r->tl);
	if (r->emit_ev)
		event_free(r->emit_ev);
	free(r->emits);
	for (size_t i = 0; i < r->ncli; i++)
		client_destroy(r->clients[i]);
	free(r->clients);
	/* VIPs first: a live one still holds its resolvers (struct vip_local). */
	for (size_t i = 0; i < r->nvip; i++)
		farm_vip_destroy(r->vips[i]);
	free(r->vips);
	for (size_t i = 0; i < r->nres; i++)
		farm_resolver_destroy(r->resolvers[i]);
	free(r->resolvers);
	for (size_t i = 0; i < r->nproc; i++)
		farm_process_destroy(r->procs[i]);
	free(r->procs);
	for (size_t i = 0; i < r->nrem; i++)
		farm_remote_destroy(r->remotes[i]);
	free(r->remotes);
	for (size_t i = 0; i < r->nsrc; i++)
		farm_source_destroy(r->sources[i]);
	free(r->sources);
	struct event *evs[] = { r->flush_ev, r->end_ev, r->deadline_ev, r->sigint_ev,
				r->sigterm_ev };
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	watchdog_attach_history(NULL, 0);
	history_close(r->hist);
	classify_destroy(r->env.classify);
	if (r->base)
		event_base_free(r->base);
	if (r->watched)
		watchdog_stop();
	free(r);
}

void runner_set_script(struct runner *r, void *script, const struct runner_script *ops)
{
	r->script = script;
	r->script_ops = ops;
}

void runner_describe(struct runner *r, const char *name, double duration)
{
	snprintf(r->name, sizeof r->name, "%s", name);
	r->duration = duration;
}

const char *runner_name(const struct runner *r)
{
	return r->name;
}

double runner_duration(const struct runner *r)
{
	return r->duration;
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
	double tick = runner_now(r), late = tick - r->last_tick - FLUSH_INTERVAL_US / 1e6;
	if (r->hist && r->last_tick >= 0 && late > STALL_RECORD_S) {
		history_begin(r->hist, tick, "stall");
		history_double(r->hist, "from", r->last_tick, 6);
		history_double(r->hist, "held_ms", late * 1000.0, 3);
		history_end(r->hist);
	}
	r->last_tick = tick;
	if (r->hist && history_flush(r->hist) != 0)
		runner_abort(r, RUNNER_FAILED, "%s", history_error(r->hist));
	double now = runner_now(r);
	if (r->opt.progress && now - r->last_progress >= 0.25) {
		uint64_t invoked, ok, done;
		r->last_progress = now;
		runner_progress(r, &invoked, &ok, &done);
		fprintf(stderr, "\r[%6.1f/%.1f s] %llu lookups", now, r->duration,
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
	history_str(h, "name", r->name);
	history_uint(h, "seed", r->env.seed);
	history_double(h, "duration", r->duration, 3);
	history_str(h, "ldns", ldns_version());
	history_str(h, "libevent", event_get_version());
	if (r->script_ops && r->script_ops->key)
		history_str(h, r->script_ops->key, r->script_ops->version);
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

static double watch_now(void *arg)
{
	return runner_now(arg);
}

enum runner_outcome runner_run(struct runner *r)
{
	char err[4096]; /* a daemon that failed to start says why in its own words */
	double duration = r->duration;

	/* Real daemons come up before the run's clock starts: their start-up
	 * (a second or more on a loaded machine) is not the scenario's time.
	 * One that cannot start fails the run before it has a history. */
	for (size_t i = 0; i < r->nproc; i++)
		if (farm_process_launch(r->procs[i], err, sizeof err) != 0) {
			snprintf(r->error, sizeof r->error, "cannot start the farm: %s", err);
			return RUNNER_FAILED;
		}
	/* Remote daemons: connected and authenticated before the clock starts too. */
	for (size_t i = 0; i < r->nrem; i++)
		if (farm_remote_connect(r->remotes[i], 5, err, sizeof err) != 0) {
			snprintf(r->error, sizeof r->error, "cannot start the farm: remote '%s': %s",
				 farm_remote_name(r->remotes[i]), err);
			return RUNNER_FAILED;
		}
	if (r->opt.history) {
		r->hist = history_open(r->opt.history, err, sizeof err);
		if (!r->hist) {
			snprintf(r->error, sizeof r->error, "%s", err);
			return RUNNER_BAD_INPUT;
		}
	}
	if (r->hist && r->opt.watch) {
		/* Before the first line: the live views see every line from meta on. */
		r->watch = watch_start(r->base, r->hist, watch_now, r, r->opt.watch, err, sizeof err);
		if (!r->watch) {
			snprintf(r->error, sizeof r->error, "%s", err);
			return RUNNER_FAILED;
		}
	}
	r->env.hist = r->hist;
	r->env.t0 = env_clock(&r->env);
	r->env.running = true;
	r->last_tick = -1;
	watchdog_attach_history(r->hist, r->env.t0);
	if (r->hist) {
		write_meta(r);
		if (r->script && r->script_ops && r->script_ops->declare)
			r->script_ops->declare(r->script, r->hist);
	}
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
	if (farm_start(r, err, sizeof err) != 0) {
		snprintf(r->error, sizeof r->error, "cannot start the farm: %s", err);
		r->outcome = RUNNER_FAILED;
		goto teardown;
	}
	env_say(&r->env, "run '%s' for %g s, seed %llu", r->name, duration,
		   (unsigned long long)r->env.seed);
	if (r->service.start && r->service.start(r->service.arg, r, err, sizeof err) != 0) {
		snprintf(r->error, sizeof r->error, "--control: %s", err);
		r->outcome = RUNNER_FAILED;
		goto teardown;
	}
	if (r->hist) {
		/* The farm is up: what the timeline has due at 0 runs from here. */
		history_begin(r->hist, runner_now(r), "running");
		history_end(r->hist);
	}
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
	/* No command from now on; what the server still had to say is sent if it can be. */
	service_stop(r);
	/* Heal every fault and stop every object; all of it goes into the history. */
	farm_stop(r);
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
	watch_finish(r->watch); /* the last frame, with the end line */
	r->env.running = false;
	return r->outcome;
}

void runner_set_error(struct runner *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
}

const char *runner_scenario_path(const struct runner *r)
{
	return r->opt.scenario;
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
	return r->script;
}

struct history *runner_history(struct runner *r)
{
	return r->hist;
}

double runner_now(const struct runner *r)
{
	return env_now(&r->env);
}

bool runner_describe_only(const struct runner *r)
{
	return r->opt.describe_only;
}

bool runner_allow_non_loopback(const struct runner *r)
{
	return r->opt.allow_non_loopback;
}

bool runner_running(const struct runner *r)
{
	return r->env.running;
}

uint64_t runner_scenario_seed(struct runner *r, uint64_t seed)
{
	if (!r->opt.seed_set)
		r->env.seed = seed;
	return r->env.seed;
}

uint64_t runner_seed(const struct runner *r)
{
	return r->env.seed;
}

int runner_verbose(const struct runner *r)
{
	return r->opt.verbose;
}

double runner_callback_limit(const struct runner *r)
{
	return r->opt.callback_limit_s;
}


bool runner_history_on_stdout(const struct runner *r)
{
	return r->opt.history && strcmp(r->opt.history, "-") == 0;
}


void runner_set_history(struct runner *r, const char *path)
{
	r->opt.history = path;
}

struct classify *runner_classify(struct runner *r)
{
	return r->env.classify;
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
int runner_know_version(struct runner *r, struct zone_version *v, int how)
{
	double now = runner_now(r);
	int rc = classify_add_version(r->env.classify, v, (enum classify_known)how, now);
	if (rc > 0)
		record_version(r, v, (enum classify_known)how, now);
	return rc < 0 ? -1 : 0;
}

int runner_publish_version(struct runner *r, struct zone_version *v, double t)
{
	int rc = classify_publish(r->env.classify, v, t);
	if (rc > 0)
		record_version(r, v, CLASSIFY_PUBLISHED, t);
	return rc < 0 ? -1 : 0;
}


void runner_path(const struct runner *r, const char *rel, char *out, size_t cap)
{
	if (rel[0] == '/')
		snprintf(out, cap, "%s", rel);
	else
		snprintf(out, cap, "%s/%s", r->dir, rel);
}


struct run_env *runner_env(struct runner *r)
{
	return &r->env;
}

static void env_op_emit(void *ctx, const void *target, const char *event)
{
	runner_emit(ctx, target, event);
}

static bool env_op_join(void *ctx, const struct addr *dst, const struct addr *src,
			const uint8_t *qname, size_t qlen, uint16_t qtype, int id,
			struct client_join *out)
{
	return runner_join(ctx, dst, src, qname, qlen, qtype, id, out);
}

static void env_op_fail(void *ctx, const char *msg)
{
	runner_abort(ctx, RUNNER_FAILED, "%s", msg);
}

static int env_op_know_version(void *ctx, struct zone_version *v, int how)
{
	return runner_know_version(ctx, v, how);
}

static int env_op_publish_version(void *ctx, struct zone_version *v, double t)
{
	return runner_publish_version(ctx, v, t);
}

/* ---- game day: the control socket's hooks ---- */

void runner_set_service(struct runner *r, const struct runner_service *s)
{
	service_stop(r);
	r->service = *s;
}

const struct runner_script *runner_script_ops(const struct runner *r)
{
	return r->script_ops;
}

void *runner_script(const struct runner *r)
{
	return r->script;
}

bool runner_stopping(const struct runner *r)
{
	return r->stopping;
}

bool runner_paused(const struct runner *r)
{
	return r->paused;
}

double runner_timeline_now(const struct runner *r)
{
	return (r->paused ? r->paused_at : runner_now(r)) - r->shift;
}

/* (Re)arms the end and the hung-run deadline from the timeline's time. */
static void end_rearm(struct runner *r)
{
	double left = r->duration - runner_timeline_now(r);
	struct timeval tv = clock_timeval(left > 0 ? left : 0);
	if (r->end_ev)
		evtimer_add(r->end_ev, &tv);
	tv = clock_timeval(left + GRACE_S > 0 ? left + GRACE_S : 0);
	if (r->deadline_ev)
		evtimer_add(r->deadline_ev, &tv);
}

int runner_pause(struct runner *r)
{
	if (r->paused)
		return -1;
	for (size_t i = 0; i < r->ntl; i++) {
		struct run_entry *e = r->tl[i];
		e->held = e->ev && evtimer_pending(e->ev, NULL);
		if (e->held)
			evtimer_del(e->ev);
	}
	if (r->end_ev)
		evtimer_del(r->end_ev);
	if (r->deadline_ev)
		evtimer_del(r->deadline_ev);
	r->paused_at = runner_now(r);
	r->paused = true;
	return 0;
}

int runner_resume(struct runner *r)
{
	if (!r->paused)
		return -1;
	r->shift += runner_now(r) - r->paused_at;
	r->paused = false;
	double now = runner_timeline_now(r);
	for (size_t i = 0; i < r->ntl; i++) {
		struct run_entry *e = r->tl[i];
		if (!e->held)
			continue;
		e->held = false;
		struct timeval tv = clock_timeval(e->next > now ? e->next - now : 0);
		evtimer_add(e->ev, &tv);
	}
	end_rearm(r);
	return 0;
}

int runner_extend(struct runner *r, double seconds, char *err, size_t errlen)
{
	if (!(seconds > 0) || r->duration + seconds > 7 * 24 * 3600.0) {
		snprintf(err, errlen, "extend: give seconds > 0, the duration staying at most 7 days");
		return -1;
	}
	r->duration += seconds;
	if (!r->paused)
		end_rearm(r);
	return 0;
}

/* ---- the registry ---- */

struct farm_resolver *runner_new_resolver(struct runner *r, const char *name,
					  const struct addr *addr, const struct farm_boot *boot,
					  const struct farm_gate *gate, char *err, size_t errlen)
{
	struct farm_resolver *obj = farm_resolver_create(&r->env, name, addr, boot);
	if (!obj) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (gate && farm_resolver_set_gate(obj, gate) != 0) {
		snprintf(err, errlen, "too many resolvers gate on one zone source");
		goto fail;
	}
	if (runner_add_resolver(r, obj) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return obj;
fail:
	farm_resolver_destroy(obj);
	return NULL;
}

struct farm_source *runner_new_source(struct runner *r, const char *name, const struct addr *addr,
				      struct zone_version *v, char *err, size_t errlen)
{
	struct farm_source *obj = farm_source_create(&r->env, name, addr);
	if (!obj || farm_source_publish(obj, v, err, errlen) != 0 || runner_add_source(r, obj) != 0) {
		snprintf(err, errlen, "out of memory");
		farm_source_destroy(obj);
		return NULL;
	}
	return obj;
}

struct farm_vip *runner_new_vip(struct runner *r, const char *name, const struct addr *addr,
				const struct vip_config *cfg, const struct farm_vip_backend *b,
				size_t n, const struct farm_vip_health *health, bool in_process,
				const char *where, char *err, size_t errlen)
{
	struct farm_vip *obj =
		farm_vip_create(&r->env, name, addr, cfg, b, n, health, in_process);
	if (!obj || runner_add_vip(r, obj) != 0) {
		snprintf(err, errlen, "out of memory");
		farm_vip_destroy(obj);
		return NULL;
	}
	farm_vip_set_where(obj, where);
	return obj;
}

struct client *runner_new_client(struct runner *r, struct client_config *cfg, char *err,
				 size_t errlen)
{
	struct client *obj = client_create(&r->env, cfg, err, errlen);
	if (!obj)
		return NULL;
	if (runner_add_client(r, obj) != 0) {
		snprintf(err, errlen, "out of memory");
		client_destroy(obj);
		return NULL;
	}
	return obj;
}

static int add(void *arrp, size_t *n, void *obj)
{
	void ***arr = arrp;
	void **q = realloc(*arr, (*n + 1) * sizeof **arr);
	if (!q)
		return -1;
	q[(*n)++] = obj;
	*arr = q;
	return 0;
}

int runner_add_resolver(struct runner *r, struct farm_resolver *obj)
{
	return add(&r->resolvers, &r->nres, obj);
}

int runner_add_source(struct runner *r, struct farm_source *obj)
{
	return add(&r->sources, &r->nsrc, obj);
}

int runner_add_vip(struct runner *r, struct farm_vip *obj)
{
	return add(&r->vips, &r->nvip, obj);
}

int runner_add_client(struct runner *r, struct client *obj)
{
	return add(&r->clients, &r->ncli, obj);
}

struct farm_process *runner_new_process(struct runner *r, const struct farm_process_config *c,
					char *err, size_t errlen)
{
	struct farm_process_config cc = *c;
	cc.describe_only = r->opt.describe_only;
	struct farm_process *obj = farm_process_create(&r->env, &cc, err, errlen);
	if (!obj)
		return NULL;
	if (add(&r->procs, &r->nproc, obj) != 0) {
		snprintf(err, errlen, "out of memory");
		farm_process_destroy(obj);
		return NULL;
	}
	return obj;
}

struct farm_remote *runner_new_remote(struct runner *r, const struct farm_remote_config *c,
				      char *err, size_t errlen)
{
	struct farm_remote *obj = farm_remote_create(&r->env, c);
	if (!obj || add(&r->remotes, &r->nrem, obj) != 0) {
		snprintf(err, errlen, "out of memory");
		farm_remote_destroy(obj);
		return NULL;
	}
	return obj;
}

struct farm_remote *runner_find_remote(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->nrem; i++)
		if (strcmp(farm_remote_name(r->remotes[i]), name) == 0)
			return r->remotes[i];
	return NULL;
}

struct farm_process *runner_find_process(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->nproc; i++)
		if (strcmp(farm_process_name(r->procs[i]), name) == 0)
			return r->procs[i];
	return NULL;
}

size_t runner_remote_count(const struct runner *r)
{
	return r->nrem;
}

struct farm_remote *runner_remote_at(const struct runner *r, size_t i)
{
	return i < r->nrem ? r->remotes[i] : NULL;
}

size_t runner_process_count(const struct runner *r)
{
	return r->nproc;
}

struct farm_process *runner_process_at(const struct runner *r, size_t i)
{
	return i < r->nproc ? r->procs[i] : NULL;
}

struct farm_resolver *runner_find_resolver(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->nres; i++)
		if (strcmp(farm_resolver_name(r->resolvers[i]), name) == 0)
			return r->resolvers[i];
	return NULL;
}

struct farm_source *runner_find_source(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->nsrc; i++)
		if (strcmp(farm_source_name(r->sources[i]), name) == 0)
			return r->sources[i];
	return NULL;
}

struct farm_vip *runner_find_vip(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->nvip; i++)
		if (strcmp(farm_vip_name(r->vips[i]), name) == 0)
			return r->vips[i];
	return NULL;
}

size_t runner_resolver_count(const struct runner *r)
{
	return r->nres;
}

struct farm_resolver *runner_resolver_at(const struct runner *r, size_t i)
{
	return i < r->nres ? r->resolvers[i] : NULL;
}

size_t runner_source_count(const struct runner *r)
{
	return r->nsrc;
}

struct farm_source *runner_source_at(const struct runner *r, size_t i)
{
	return i < r->nsrc ? r->sources[i] : NULL;
}

size_t runner_client_count(const struct runner *r)
{
	return r->ncli;
}

struct client *runner_client_at(const struct runner *r, size_t i)
{
	return i < r->ncli ? r->clients[i] : NULL;
}

struct client *runner_find_client(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->ncli; i++)
		if (strcmp(client_name(r->clients[i]), name) == 0)
			return r->clients[i];
	return NULL;
}

size_t runner_vip_count(const struct runner *r)
{
	return r->nvip;
}

struct farm_vip *runner_vip_at(const struct runner *r, size_t i)
{
	return i < r->nvip ? r->vips[i] : NULL;
}

bool runner_name_taken(const struct runner *r, const char *name)
{
	return runner_find_resolver(r, name) || runner_find_source(r, name) ||
	       runner_find_vip(r, name) || runner_find_process(r, name) ||
	       runner_find_remote(r, name);
}

/* The same address, and the same port unless either is still 0 (chosen at start). */
static bool same_host(const struct addr *a, const struct addr *b)
{
	if (addr_port(a) && addr_port(b) && addr_port(a) != addr_port(b))
		return false;
	return addr_same_host(a, b);
}

bool runner_address_used(const struct runner *r, const struct addr *a)
{
	for (size_t i = 0; i < r->nres; i++)
		if (same_host(farm_resolver_addr(r->resolvers[i]), a))
			return true;
	for (size_t i = 0; i < r->nsrc; i++)
		if (same_host(farm_source_addr(r->sources[i]), a))
			return true;
	for (size_t i = 0; i < r->nvip; i++)
		if (same_host(farm_vip_addr(r->vips[i]), a))
			return true;
	for (size_t i = 0; i < r->nproc; i++)
		if (same_host(farm_process_addr(r->procs[i]), a))
			return true;
	for (size_t i = 0; i < r->nrem; i++)
		if (same_host(farm_remote_addr(r->remotes[i]), a))
			return true;
	return false;
}

int runner_next_address(struct runner *r, struct addr *out)
{
	char text[64], err[128];
	do {
		if (env_next_address(&r->env, text, sizeof text) != 0)
			return -1;
		addr_parse(text, 0, out, err, sizeof err);
	} while (runner_address_used(r, out));
	return 0;
}

void runner_progress(const struct runner *r, uint64_t *invoked, uint64_t *ok, uint64_t *done)
{
	*invoked = *ok = *done = 0;
	for (size_t i = 0; i < r->ncli; i++) {
		struct client_stats st;
		client_get_stats(r->clients[i], &st);
		*invoked += st.invoked;
		*ok += st.ok;
		*done += st.ok + st.failed + st.timeouts;
	}
}

bool runner_join(struct runner *r, const struct addr *dst, const struct addr *src,
		 const uint8_t *qname, size_t qlen, uint16_t qtype, int id, struct client_join *out)
{
	/* A userspace VIP's forward to a remote daemon on another host leaves from
	 * the address that host's direct clients leave from: it is the VIP's, joined
	 * on its route line (towards loopback it leaves from the VIP's own address,
	 * which no client has). */
	for (size_t k = 0; !addr_is_loopback(src) && k < r->nvip; k++)
		if (farm_vip_sends_from(r->vips[k], src))
			return false;
	/* Asked of every client first: two that could both have sent it make it ambiguous. */
	size_t claims = 0, who = 0;
	struct client_join j;
	for (size_t i = 0; i < r->ncli; i++)
		if (client_join(r->clients[i], dst, src, qname, qlen, qtype, id, false, &j) &&
		    claims++ == 0)
			who = i;
	size_t direct = claims;
	/* A backend of a kernel VIP gets the clients' queries DNATed, still from
	 * their own sockets: they were sent to the VIP. Every kernel VIP in front
	 * of it is asked (the packet no longer says which it was sent to): two
	 * claims, through one VIP or two, make it ambiguous. */
	const struct addr *via = NULL;
	for (size_t k = 0; direct == 0 && k < r->nvip; k++) {
		const struct addr *vip = farm_vip_alias(r->vips[k], dst);
		for (size_t i = 0; vip && i < r->ncli; i++)
			if (client_join(r->clients[i], vip, src, qname, qlen, qtype, id, false, &j) &&
			    claims++ == 0) {
				who = i;
				via = vip;
			}
	}
	if (via)
		dst = via;
	if (claims == 0)
		return false;
	if (claims > 1) {
		*out = (struct client_join){ NULL, 0, NULL, true };
		return true;
	}
	return client_join(r->clients[who], dst, src, qname, qlen, qtype, id, true, out);
}

static bool env_op_fronts(void *ctx, const struct addr *vip, const struct addr *backend)
{
	struct runner *r = ctx;
	for (size_t k = 0; k < r->nvip; k++) {
		const struct addr *a = farm_vip_alias(r->vips[k], backend);
		if (a && addr_same_host(a, vip) && addr_port(a) == addr_port(vip))
			return true;
	}
	return false;
}

/* ---- the event bus ---- */

void runner_listen(struct runner *r, void (*fn)(void *arg, const void *target, const char *event),
		   void *arg)
{
	r->listen = fn;
	r->listen_arg = arg;
}

static void emit_flush(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;
	(void)fd;
	(void)what;
	/* Events raised while delivering wait for the next turn of the loop. */
	size_t n = r->nemits;
	struct pending_emit *batch = r->emits;
	r->emits = NULL;
	r->nemits = r->cap_emits = 0;
	for (size_t i = 0; i < n && r->started; i++)
		if (r->listen)
			r->listen(r->listen_arg, batch[i].target, batch[i].event);
	free(batch);
}

void runner_emit(struct runner *r, const void *target, const char *event)
{
	if (!r->started || !r->emit_ev)
		return;
	if (r->nemits == r->cap_emits) {
		size_t cap = r->cap_emits ? r->cap_emits * 2 : 16;
		struct pending_emit *p = realloc(r->emits, cap * sizeof *p);
		if (!p) {
			runner_abort(r, RUNNER_FAILED, "out of memory");
			return;
		}
		r->emits = p;
		r->cap_emits = cap;
	}
	r->emits[r->nemits].target = target;
	snprintf(r->emits[r->nemits].event, sizeof r->emits[r->nemits].event, "%s", event);
	r->nemits++;
	static const struct timeval now = { 0, 0 };
	evtimer_add(r->emit_ev, &now);
}

/* ---- the timeline ---- */

static struct run_entry *entry_add(struct runner *r, double at)
{
	if (r->started)
		return NULL;
	struct run_entry *e = calloc(1, sizeof *e);
	struct run_entry **q = e ? realloc(r->tl, (r->ntl + 1) * sizeof *q) : NULL;
	if (!q) {
		free(e);
		return NULL;
	}
	r->tl = q;
	r->tl[r->ntl++] = e;
	e->run = r;
	e->at = at;
	return e;
}

int runner_at_action(struct runner *r, double at, struct run_action *a, const char *where)
{
	struct run_entry *e = entry_add(r, at);
	if (!e)
		return -1;
	run_action_move(&e->act, a);
	snprintf(e->where, sizeof e->where, "%s", where);
	return 0;
}

int runner_at_call(struct runner *r, double at, double every, double until,
		   void (*fn)(void *arg, int ref), void *arg, int ref)
{
	struct run_entry *e = entry_add(r, at);
	if (!e)
		return -1;
	e->every = every;
	e->until = until;
	e->fn = fn;
	e->arg = arg;
	e->ref = ref;
	return 0;
}

/* Runs one timeline entry: its call, or its action through run_act. */
static void entry_run_due(struct run_entry *e);

/*
 * Runs one timeline entry, then, if it wrote lines, a `timeline` line saying
 * when it was due: the lines it wrote at once are the entry's, whatever
 * the timer's lateness (docs/history.md; `dnschaos replay` reads it).
 */
static void entry_run(struct run_entry *e)
{
	struct runner *r = e->run;
	double due = e->every > 0 ? e->next : e->at;
	uint64_t before = r->hist ? history_lines(r->hist) : 0;
	entry_run_due(e);
	uint64_t after = r->hist ? history_lines(r->hist) : 0;
	if (r->hist && after > before) {
		history_begin(r->hist, runner_now(r), "timeline");
		history_double(r->hist, "at", due, 6);
		history_uint(r->hist, "lines", after - before);
		history_end(r->hist);
	}
}

static void entry_run_due(struct run_entry *e)
{
	struct runner *r = e->run;
	if (e->every > 0) {
		/* Ticks stay on the planned grid (from, from + every, ...): timer
		 * lateness does not add up, and a tick at 'to' still runs. Ticks
		 * missed while the loop was busy are skipped. */
		double now = runner_timeline_now(r);
		e->next += e->every;
		while (e->next < now)
			e->next += e->every;
		/* At the duration itself the run ends: no tick there (as for s:at). */
		if (e->next <= e->until + 1e-9 && e->next < r->duration) {
			struct timeval tv = clock_timeval(e->next - now);
			evtimer_add(e->ev, &tv);
		}
	}
	if (e->fn) {
		e->fn(e->arg, e->ref);
		return;
	}
	char err[512];
	int rc = run_act(&r->env, &e->act, NULL, err, sizeof err);
	/* A failed run was stopped by run_act already (the first reason stands). */
	if (rc != RUN_ACT_OK)
		runner_abort(r, rc == RUN_ACT_FAILED ? RUNNER_FAILED : RUNNER_BAD_INPUT, "%s%s",
			     e->where, err);
}

static void entry_fire(evutil_socket_t fd, short what, void *arg)
{
	struct run_entry *e = arg;
	(void)fd;
	(void)what;
	/* Entries due at the same time run in the order they were declared. */
	for (struct run_entry *c = e; c && c->run->started; c = c->chain)
		entry_run(c);
}

static int timeline_arm(struct runner *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->ntl; i++) {
		struct run_entry *e = r->tl[i];
		/* A one-shot entry due with an earlier one runs in its chain. */
		struct run_entry *head = NULL;
		for (size_t j = 0; j < i && !head && e->every == 0; j++)
			if (r->tl[j]->every == 0 && r->tl[j]->at == e->at && r->tl[j]->ev)
				head = r->tl[j];
		if (head) {
			while (head->chain)
				head = head->chain;
			head->chain = e;
			continue;
		}
		e->ev = evtimer_new(r->base, entry_fire, e);
		if (!e->ev) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		e->next = e->at;
		/* Relative to now: starting the farm took a little of the run already. */
		struct timeval tv = clock_timeval(e->at - runner_timeline_now(r));
		evtimer_add(e->ev, &tv);
	}
	return 0;
}

/* ---- start-up and teardown ---- */

static int farm_start(struct runner *r, char *err, size_t errlen)
{
	r->started = true;
	r->emit_ev = evtimer_new(r->base, emit_flush, r);
	if (!r->emit_ev) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < r->nsrc; i++)
		if (farm_source_start(r->sources[i], err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < r->nres; i++)
		if (farm_resolver_start(r->resolvers[i], NULL, err, errlen) != 0)
			return -1;
	/* Managed daemons with the resolvers: the run waits until each answers. */
	for (size_t i = 0; i < r->nproc; i++)
		if (farm_process_start(r->procs[i], NULL, true, err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < r->nrem; i++)
		if (farm_remote_start(r->remotes[i], err, errlen) != 0)
			return -1;
	/* VIPs last: they forward to the resolvers' ports, known only now. */
	for (size_t i = 0; i < r->nvip; i++)
		if (farm_vip_start(r->vips[i], err, errlen) != 0)
			return -1;
	/* Clients last: they ask the farm, which is listening now. */
	for (size_t i = 0; i < r->ncli; i++)
		if (client_start(r->clients[i], err, errlen) != 0)
			return -1;
	return timeline_arm(r, err, errlen);
}

static void farm_stop(struct runner *r)
{
	for (size_t i = 0; i < r->ntl; i++)
		if (r->tl[i]->ev)
			event_del(r->tl[i]->ev);
	if (r->emit_ev)
		event_del(r->emit_ev);
	r->nemits = 0;
	r->started = false; /* no more events reach the script */
	if (r->script && r->script_ops && r->script_ops->stop)
		r->script_ops->stop(r->script);
	/* Clients first: what is in flight is recorded as cancelled before the farm goes. */
	for (size_t i = 0; i < r->ncli; i++)
		client_stop(r->clients[i]);
	for (size_t i = 0; i < r->nvip; i++)
		farm_vip_stop(r->vips[i]);
	for (size_t i = 0; i < r->nres; i++) {
		farm_resolver_heal(r->resolvers[i], 0);
		farm_resolver_stop(r->resolvers[i], "end");
	}
	for (size_t i = 0; i < r->nproc; i++) {
		farm_process_continue(r->procs[i]);
		farm_process_stop(r->procs[i], "end");
	}
	/* Remote daemons: every fault healed, the control connection closed. */
	for (size_t i = 0; i < r->nrem; i++)
		farm_remote_end(r->remotes[i]);
	for (size_t i = 0; i < r->nsrc; i++)
		farm_source_stop(r->sources[i]);
	/* Blocked stack calls end now that the ports are closed (port unreachable). */
	for (size_t i = 0; i < r->ncli; i++)
		client_reap(r->clients[i]);
}
