/*
 * health.c - the health checker that runs probes and commands on the event
 * loop; what their outcomes mean and what the backend's state becomes is
 * decided by health_sm.c, with the time read here.
 *
 * A checker has at most one probe in flight: a DNS query (fakeresolver's
 * probe) or a command. A command is spawned (harness/spawn.h) in its own
 * process group, its stdout and stderr read from a non-blocking pipe; it is
 * done when it has exited, seen by polling waitid(WNOWAIT) (soon after the
 * pipe's EOF, and now and then before, for a command whose background
 * children keep the pipe open). Then the group is killed (stragglers), and
 * only then is the leader reaped, so the group id cannot have been reused.
 * A command timed out is asked to stop through its guardian (SIGTERM: the
 * guardian sweeps everything the command started, what left the group
 * too, then kills the group, itself last) and handed to a reaper that polls
 * until it is gone, killing the group itself if the guardian has not ended
 * within HEALTH_SWEEP_WAIT. No SIGCHLD handler: signals belong to the runner.
 *
 * Callbacks may destroy the checker: `hold`/`release` bracket every stretch
 * that calls out, and a checker destroyed inside one is freed on release.
 */
#include "harness/lb/health.h"
#include "fakeresolver/clock.h"
#include "harness/spawn.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "fakeresolver/answer.h"
#include "fakeresolver/probe.h"

#define HEALTH_OUTPUT_MAX 4096     /* captured command output, before the note */
#define HEALTH_INTERVAL_MAX 86400.0
#define HEALTH_TICK_SLACK 0.02     /* libevent's coarse clock may fire this early */
#define HEALTH_POLL_IDLE 0.1       /* exit polling while the pipe is open */
#define HEALTH_POLL_FIRST 0.001    /* ... and after its EOF, doubling up to idle */
#define HEALTH_REAP_POLL 0.01      /* polling a killed command until it is gone */
#define HEALTH_SWEEP_WAIT 2.0      /* the guardian's sweep, before SIGKILL to the group */
#define HEALTH_REASON_MAX 256

/* ---- the checker ---- */

struct health_checker {
	struct event_base *base;
	char *name;
	char *origin; /* canonical presentation form, with the final dot */
	char *qname;
	char *command;
	struct addr addr;
	struct health_config cfg; /* its strings point at the copies above */
	struct health_callbacks cb;
	struct health_sm *sm;

	struct event *tick;
	double next_due; /* monotonic time of the next tick on the grid */
	bool probing;    /* the backend was ready: the grid runs */

	/* The probe in flight, if busy. */
	bool busy;
	double started;
	struct probe *probe;
	/* ... or the command in flight. */
	pid_t pid;
	int pipe_fd;
	struct event *pipe_ev;
	struct event *deadline_ev;
	struct event *poll_ev;
	double poll_delay;
	char out[HEALTH_OUTPUT_MAX + 96];
	size_t out_len;   /* kept */
	size_t out_total; /* read */

	/* Commands told to stop, not reaped yet. */
	struct reaping {
		pid_t pid;
		double kill_at; /* SIGKILL the group then, if still there; 0: sent */
	} *reap;
	size_t nreap, capreap;
	struct event *reap_ev;

	char reason[HEALTH_REASON_MAX];
	unsigned depth; /* callbacks in progress */
	bool dead;      /* destroyed inside a callback: free on release */
};

/* The time the checker reads: its config's clock (the run's), or the monotonic clock. */
static double hc_clock(const struct health_checker *hc)
{
	return hc->cfg.clock ? hc->cfg.clock() : clock_mono();
}

/*
 * libevent measures a timeout from the time it cached when the loop woke up,
 * which falls behind when a callback earlier in the same turn was slow (a
 * spawn, a blocking client): a timer armed from it fires early, a probe times
 * out at once. Refresh the cache before arming anything.
 */
static void timer_in(struct event *ev, double s)
{
	struct timeval tv = clock_timeval(s);
	event_base_update_cache_time(event_get_base(ev));
	evtimer_add(ev, &tv);
}

static int64_t published_serial(struct health_checker *hc)
{
	if (!hc->cb.published)
		return -1;
	int64_t p = hc->cb.published(hc->cb.arg);
	return p < 0 || p > (int64_t)UINT32_MAX ? -1 : p;
}

static void free_checker(struct health_checker *hc);

static void hold(struct health_checker *hc)
{
	hc->depth++;
}

/* Ends a stretch that called out; frees a checker destroyed meanwhile. */
static void release(struct health_checker *hc)
{
	if (--hc->depth == 0 && hc->dead)
		free_checker(hc);
}

/* Reports one probe and feeds the state machine. The caller must not touch hc
 * afterwards unless it holds it. */
static void deliver(struct health_checker *hc, bool success, double latency, int64_t serial,
		    int exit_status, const char *output)
{
	hold(hc);
	if (hc->cb.probe) {
		struct health_probe_report r = {
			.backend = hc->name,
			.success = success,
			.reason = hc->reason,
			.latency_s = latency,
			.serial = serial,
			.exit_status = exit_status,
			.output = output,
		};
		hc->cb.probe(hc->cb.arg, &r);
	}
	if (!hc->dead && health_sm_feed(hc->sm, success) && hc->cb.transition) {
		struct health_transition t = {
			.backend = hc->name,
			.up = health_sm_up(hc->sm),
			.reason = hc->reason,
			.count = health_sm_run(hc->sm),
		};
		hc->cb.transition(hc->cb.arg, &t);
	}
	release(hc);
}

/* -- DNS probes -- */

static void dns_done(void *arg, const struct probe_result *res)
{
	struct health_checker *hc = arg;
	int64_t serial;
	hc->probe = NULL; /* it frees itself after we return */
	hc->busy = false;
	int64_t pub = hc->cfg.kind == HEALTH_SERIAL ? published_serial(hc) : -1;
	bool ok = health_judge_dns(hc->cfg.kind, res, hc->origin, pub, hc->cfg.timeout_s,
				   &serial, hc->reason, sizeof hc->reason);
	deliver(hc, ok, res->latency_s, serial, -1, NULL);
}

static void dns_start(struct health_checker *hc)
{
	struct probe_options opt = {
		.transport = ANSWER_UDP,
		.timeout_s = hc->cfg.timeout_s,
		.edns = false,
		.rd = false,
		.non_loopback = hc->cfg.non_loopback,
	};
	char err[200];
	uint16_t qtype = LDNS_RR_TYPE_SOA;
	const char *qname = hc->origin;
	if (hc->cfg.kind != HEALTH_SERIAL) {
		if (hc->qname)
			qname = hc->qname;
		if (hc->cfg.qtype)
			qtype = hc->cfg.qtype;
	}
	hc->started = hc_clock(hc);
	event_base_update_cache_time(hc->base); /* see timer_in */
	hc->probe = probe_start(hc->base, &hc->addr, qname, qtype, &opt, dns_done, hc, err,
				sizeof err);
	if (hc->probe) {
		hc->busy = true;
		return;
	}
	snprintf(hc->reason, sizeof hc->reason, "probe not sent: %s", err);
	deliver(hc, false, 0, -1, -1, NULL);
}

/* -- commands -- */

static void reap_poll(evutil_socket_t fd, short what, void *arg);

/*
 * Hands a command told to stop (its guardian sent SIGTERM), unreaped, to the
 * reaper, which kills its group at kill_at if it is still there.
 */
static void reap_later(struct health_checker *hc, pid_t pid, double kill_at)
{
	int status;
	if (waitpid(pid, &status, WNOHANG) != 0)
		return; /* gone already (or not ours any more) */
	if (hc->nreap == hc->capreap) {
		size_t cap = hc->capreap ? hc->capreap * 2 : 4;
		struct reaping *p = realloc(hc->reap, cap * sizeof *p);
		if (!p) {
			/* Out of memory: end it here rather than leave a zombie,
			 * bounded by spawn_stop's wait. */
			spawn_stop(pid, HEALTH_SWEEP_WAIT);
			spawn_reap(pid, &status);
			return;
		}
		hc->reap = p;
		hc->capreap = cap;
	}
	hc->reap[hc->nreap++] = (struct reaping){ pid, kill_at };
	if (!evtimer_pending(hc->reap_ev, NULL))
		timer_in(hc->reap_ev, HEALTH_REAP_POLL);
}

static void reap_poll(evutil_socket_t fd, short what, void *arg)
{
	struct health_checker *hc = arg;
	int status;
	(void)fd;
	(void)what;
	double now = hc_clock(hc);
	for (size_t i = 0; i < hc->nreap;) {
		struct reaping *rp = &hc->reap[i];
		/* Unreaped, so the group id is still its own. */
		if (rp->kill_at > 0 && now >= rp->kill_at) {
			kill(-rp->pid, SIGKILL);
			rp->kill_at = 0;
		}
		if (waitpid(rp->pid, &status, WNOHANG) != 0)
			*rp = hc->reap[--hc->nreap];
		else
			i++;
	}
	if (hc->nreap)
		timer_in(hc->reap_ev, HEALTH_REAP_POLL);
}

/* Reads what the pipe holds (a bounded number of times: a chatty command must
 * not starve the loop). Returns true at EOF or on an error. */
static bool pipe_drain(struct health_checker *hc)
{
	char scratch[4096];
	for (int i = 0; i < 16; i++) {
		char *dst = scratch;
		size_t room = sizeof scratch;
		if (hc->out_len < HEALTH_OUTPUT_MAX) {
			dst = hc->out + hc->out_len;
			room = HEALTH_OUTPUT_MAX - hc->out_len;
		}
		ssize_t n = read(hc->pipe_fd, dst, room);
		if (n > 0) {
			if (dst != scratch)
				hc->out_len += (size_t)n;
			hc->out_total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	return false;
}

static void pipe_close(struct health_checker *hc)
{
	if (hc->pipe_ev) {
		event_free(hc->pipe_ev);
		hc->pipe_ev = NULL;
	}
	if (hc->pipe_fd >= 0) {
		close(hc->pipe_fd);
		hc->pipe_fd = -1;
	}
}

/* The captured output as a string, with a note if some was dropped. */
static const char *output_text(struct health_checker *hc)
{
	for (size_t i = 0; i < hc->out_len; i++)
		if (hc->out[i] == '\0')
			hc->out[i] = '?'; /* a string ends at the first NUL */
	size_t n = hc->out_len;
	if (hc->out_total > hc->out_len)
		n += (size_t)snprintf(hc->out + n, sizeof hc->out - n,
				      "\n[output truncated: %zu of %zu bytes kept]", hc->out_len,
				      hc->out_total);
	hc->out[n] = '\0';
	return hc->out;
}

/* Ends the command's probe: status is its wait status, or -1 if it was killed
 * at the timeout; pid has been reaped or handed to the reaper. */
static void exec_finish(struct health_checker *hc, int status, bool killed)
{
	double latency = hc_clock(hc) - hc->started;
	int exit_status;

	if (hc->pipe_fd >= 0) {
		pipe_drain(hc);
		pipe_close(hc);
	}
	evtimer_del(hc->deadline_ev);
	evtimer_del(hc->poll_ev);
	hc->pid = 0;
	hc->busy = false;
	bool ok = health_judge_exec(status, killed, hc->cfg.timeout_s, &exit_status, hc->reason,
				    sizeof hc->reason);
	deliver(hc, ok, latency, -1, exit_status, output_text(hc));
}

/* Ends the command's probe when its exit status is lost: someone else in the
 * process reaped it (waitpid(-1) or a SIGCHLD handler that reaps). */
static void exec_lost(struct health_checker *hc, int err)
{
	snprintf(hc->reason, sizeof hc->reason, "lost the command's exit status: %s",
		 strerror(err));
	hc->pid = 0;
	pipe_close(hc);
	evtimer_del(hc->deadline_ev);
	evtimer_del(hc->poll_ev);
	hc->busy = false;
	deliver(hc, false, hc_clock(hc) - hc->started, -1, -1, output_text(hc));
}

/* Finishes the command if it has exited; returns true if it did. */
static bool exec_check(struct health_checker *hc)
{
	int status, err, ended = spawn_ended(hc->pid);

	if (ended == 0)
		return false;
	if (ended < 0) {
		exec_lost(hc, -ended);
		return true;
	}
	/* Exited; the unreaped leader still holds the group id, so this kills
	 * only its leftover children (which may hold the pipe open), and the
	 * wait returns at once. */
	if ((err = spawn_reap(hc->pid, &status)) != 0) {
		exec_lost(hc, err);
		return true;
	}
	exec_finish(hc, status, false);
	return true;
}

static void exec_poll(evutil_socket_t fd, short what, void *arg)
{
	struct health_checker *hc = arg;
	(void)fd;
	(void)what;
	if (exec_check(hc))
		return;
	timer_in(hc->poll_ev, hc->poll_delay);
	hc->poll_delay *= 2;
	if (hc->poll_delay > HEALTH_POLL_IDLE)
		hc->poll_delay = HEALTH_POLL_IDLE;
}

static void exec_readable(evutil_socket_t fd, short what, void *arg)
{
	struct health_checker *hc = arg;
	(void)fd;
	(void)what;
	if (!pipe_drain(hc))
		return;
	/* EOF: the command is exiting; look soon and often. */
	pipe_close(hc);
	hc->poll_delay = HEALTH_POLL_FIRST;
	evtimer_del(hc->poll_ev);
	exec_poll(-1, EV_TIMEOUT, hc);
}

/* Kills the command at its timeout (unless it has just exited). */
static void exec_kill(struct health_checker *hc)
{
	if (exec_check(hc))
		return;
	pid_t pid = hc->pid;
	/* The guardian's sweep reaches what left the group (setsid); a SIGKILL
	 * to the group would take the guardian and leave those behind. */
	kill(pid, SIGTERM);
	reap_later(hc, pid, hc_clock(hc) + HEALTH_SWEEP_WAIT);
	exec_finish(hc, -1, true);
}

static void exec_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	exec_kill(arg);
}

static void exec_start(struct health_checker *hc)
{
	char **envp = NULL;
	char ip[INET6_ADDRSTRLEN] = "", port[8], serial[24] = "";
	char *const argv[] = { "sh", "-c", hc->command, NULL };
	pid_t pid = -1;
	int fd = -1, rc;

	hc->out_len = hc->out_total = 0;
	hc->out[0] = '\0';
	hc->started = hc_clock(hc);
	if (hc->addr.ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&hc->addr.ss)->sin_addr, ip,
			  sizeof ip);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&hc->addr.ss)->sin6_addr, ip,
			  sizeof ip);
	snprintf(port, sizeof port, "%u", addr_port(&hc->addr));
	int64_t pub = published_serial(hc);
	if (pub >= 0)
		snprintf(serial, sizeof serial, "%" PRId64, pub);
	/* PATH and these, nothing else of ours (spawn_env_new, shared with exec clients). */
	const char *const vars[] = {
		"DNSCHAOS_BACKEND", hc->name,	 "DNSCHAOS_ADDRESS",	      ip,
		"DNSCHAOS_PORT",    port,	 "DNSCHAOS_ZONE",	      hc->origin,
		"DNSCHAOS_PUBLISHED_SERIAL", serial,
	};
	envp = spawn_env_new(vars, sizeof vars / sizeof vars[0] / 2);
	if (!envp) {
		rc = ENOMEM;
		goto fail;
	}

	/* Its own process group (to kill it with its children), stdin empty,
	 * stdout and stderr into our pipe, nothing else of ours (harness/spawn.h). */
	if ((rc = spawn_piped("/bin/sh", argv, envp, false, &pid, &fd)) != 0)
		goto fail;

	hc->pid = pid;
	hc->pipe_fd = fd;
	hc->busy = true;
	hc->pipe_ev = event_new(hc->base, hc->pipe_fd, EV_READ | EV_PERSIST, exec_readable, hc);
	if (hc->pipe_ev)
		event_add(hc->pipe_ev, NULL);
	/* Without a pipe event (out of memory) the exit is still found by polling. */
	timer_in(hc->deadline_ev, hc->cfg.timeout_s);
	hc->poll_delay = HEALTH_POLL_IDLE;
	timer_in(hc->poll_ev, hc->poll_delay);
	rc = 0;
fail:
	spawn_env_free(envp);
	if (rc != 0) {
		snprintf(hc->reason, sizeof hc->reason, "cannot run /bin/sh: %s", strerror(rc));
		deliver(hc, false, hc_clock(hc) - hc->started, -1, -1, output_text(hc));
	}
}

/* -- the grid -- */

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct health_checker *hc = arg;
	double now = hc_clock(hc);
	(void)fd;
	(void)what;

	/* Not before the backend is ready: the grid starts with the first probe. */
	if (!hc->probing) {
		if (hc->cb.ready && !hc->cb.ready(hc->cb.arg)) {
			timer_in(hc->tick, HEALTH_READY_POLL);
			return;
		}
		hc->probing = true;
		hc->next_due = now;
	}

	/* The next tick, on the grid; slots the loop was too late for are skipped
	 * rather than run in a burst. */
	hc->next_due = health_grid_next(hc->next_due, now, hc->cfg.interval_s);
	timer_in(hc->tick, hc->next_due - now);

	hold(hc);
	if (hc->busy) {
		/* With timeout <= interval, a probe still in flight here has had
		 * its whole timeout unless it started late: its own timer and
		 * this tick were due together. Conclude it; otherwise skip. */
		if (now - hc->started < hc->cfg.timeout_s - HEALTH_TICK_SLACK)
			goto out;
		if (hc->probe) {
			probe_cancel(hc->probe);
			hc->probe = NULL;
			hc->busy = false;
			snprintf(hc->reason, sizeof hc->reason, "timeout after %g s",
				 hc->cfg.timeout_s);
			deliver(hc, false, now - hc->started, -1, -1, NULL);
		} else if (hc->pid) {
			exec_kill(hc);
		}
		if (hc->dead || hc->busy)
			goto out;
	}
	if (hc->cfg.kind == HEALTH_EXEC)
		exec_start(hc);
	else
		dns_start(hc);
out:
	release(hc);
}

/* -- create / destroy -- */

static int check_config(const char *name, const struct addr *addr, const char *origin,
			const struct health_config *cfg, char *err, size_t errlen)
{
	char abuf[80];
	ldns_rdf *rdf = NULL;
	const char *who = name && *name ? name : "?";
	bool dns = cfg->kind == HEALTH_ALIVE || cfg->kind == HEALTH_RCODE;

	if (!name || !*name) {
		snprintf(err, errlen, "health check: the backend needs a name");
		return -1;
	}
	if (cfg->kind != HEALTH_ALIVE && cfg->kind != HEALTH_RCODE &&
	    cfg->kind != HEALTH_SERIAL && cfg->kind != HEALTH_EXEC) {
		snprintf(err, errlen,
			 "health check of %s: unknown kind %d (use alive, rcode, serial or exec)",
			 who, (int)cfg->kind);
		return -1;
	}
	if (!(cfg->interval_s > 0) || !(cfg->interval_s <= HEALTH_INTERVAL_MAX)) {
		snprintf(err, errlen,
			 "health check of %s: interval %g s is out of range (use more than 0 "
			 "and at most %g s)",
			 who, cfg->interval_s, HEALTH_INTERVAL_MAX);
		return -1;
	}
	if (!(cfg->timeout_s > 0) || !(cfg->timeout_s <= cfg->interval_s)) {
		snprintf(err, errlen,
			 "health check of %s: timeout %g s is out of range (use more than 0 and "
			 "at most the interval, %g s)",
			 who, cfg->timeout_s, cfg->interval_s);
		return -1;
	}
	if (cfg->rise < 1 || cfg->fall < 1) {
		snprintf(err, errlen,
			 "health check of %s: rise and fall must be at least 1 (got %u and %u)",
			 who, cfg->rise, cfg->fall);
		return -1;
	}
	if (cfg->kind == HEALTH_EXEC && (!cfg->command || !*cfg->command)) {
		snprintf(err, errlen, "health check of %s: an exec check needs a command", who);
		return -1;
	}
	if (cfg->kind != HEALTH_EXEC && cfg->command) {
		snprintf(err, errlen,
			 "health check of %s: a command is only for exec checks, not %s (drop it)",
			 who, health_kind_name(cfg->kind));
		return -1;
	}
	if (!dns && (cfg->qname || cfg->qtype)) {
		snprintf(err, errlen,
			 "health check of %s: qname and qtype are only for alive and rcode checks, "
			 "not %s (drop them)",
			 who, health_kind_name(cfg->kind));
		return -1;
	}
	if (!addr || (!cfg->non_loopback && !addr_is_loopback(addr))) {
		snprintf(err, errlen,
			 "health check of %s: refusing to probe %s: not a loopback address "
			 "(use 127.0.0.0/8 or ::1)",
			 who, addr ? addr_str(addr, abuf, sizeof abuf) : "no address");
		return -1;
	}
	if (addr_port(addr) == 0) {
		snprintf(err, errlen, "health check of %s: %s has no port", who,
			 addr_str(addr, abuf, sizeof abuf));
		return -1;
	}
	if (!origin || ldns_str2rdf_dname(&rdf, origin) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "health check of %s: zone '%s' is not a domain name", who,
			 origin ? origin : "(none)");
		return -1;
	}
	ldns_rdf_deep_free(rdf);
	rdf = NULL;
	if (cfg->qname && ldns_str2rdf_dname(&rdf, cfg->qname) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "health check of %s: qname '%s' is not a domain name", who,
			 cfg->qname);
		return -1;
	}
	ldns_rdf_deep_free(rdf);
	return 0;
}

static char *dup_str(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* The origin in canonical presentation form ("internal."). */
static char *canonical_origin(const char *origin)
{
	ldns_rdf *rdf = NULL;
	char *s = NULL;
	if (ldns_str2rdf_dname(&rdf, origin) == LDNS_STATUS_OK)
		s = ldns_rdf2str(rdf);
	ldns_rdf_deep_free(rdf);
	return s;
}

struct health_checker *health_checker_create(struct event_base *base, const char *name,
					     const struct addr *addr, const char *origin,
					     const struct health_config *cfg,
					     const struct health_callbacks *cb, char *err,
					     size_t errlen)
{
	struct health_checker *hc = NULL;

	if (!base || !cfg) {
		snprintf(err, errlen, "health check: no event loop or no configuration");
		return NULL;
	}
	if (check_config(name, addr, origin, cfg, err, errlen) != 0)
		return NULL;
	hc = calloc(1, sizeof *hc);
	if (!hc)
		goto oom;
	hc->base = base;
	hc->pipe_fd = -1;
	hc->addr = *addr;
	hc->cfg = *cfg;
	if (cb)
		hc->cb = *cb;
	hc->name = dup_str(name);
	hc->origin = canonical_origin(origin);
	hc->qname = dup_str(cfg->qname);
	hc->command = dup_str(cfg->command);
	if (!hc->name || !hc->origin || (cfg->qname && !hc->qname) ||
	    (cfg->command && !hc->command))
		goto oom;
	hc->cfg.qname = hc->qname;
	hc->cfg.command = hc->command;
	hc->sm = health_sm_create(cfg->rise, cfg->fall, cfg->initial_up);
	if (!hc->sm)
		goto oom;
	hc->tick = evtimer_new(base, tick, hc);
	hc->deadline_ev = evtimer_new(base, exec_deadline, hc);
	hc->poll_ev = evtimer_new(base, exec_poll, hc);
	hc->reap_ev = evtimer_new(base, reap_poll, hc);
	if (!hc->tick || !hc->deadline_ev || !hc->poll_ev || !hc->reap_ev)
		goto oom;
	/* The first tick at once (on the next turn of the loop); the grid starts with
	 * the first probe, once the backend is ready. */
	hc->next_due = hc_clock(hc);
	timer_in(hc->tick, 0);
	return hc;
oom:
	snprintf(err, errlen, "health check of %s: out of memory", name);
	free_checker(hc);
	return NULL;
}

/* Stops everything that could call back: probe, command, timers. */
static void stop_all(struct health_checker *hc)
{
	int status;
	if (hc->probe) {
		probe_cancel(hc->probe);
		hc->probe = NULL;
	}
	if (hc->pid > 0) {
		spawn_stop(hc->pid, HEALTH_SWEEP_WAIT);
		spawn_reap(hc->pid, &status);
		hc->pid = 0;
	}
	pipe_close(hc);
	for (size_t i = 0; i < hc->nreap; i++) {
		/* Told to stop already; unreaped, so still its group. */
		spawn_stop(hc->reap[i].pid, HEALTH_SWEEP_WAIT);
		spawn_reap(hc->reap[i].pid, &status);
	}
	hc->nreap = 0;
	hc->busy = false;
	if (hc->tick)
		evtimer_del(hc->tick);
	if (hc->deadline_ev)
		evtimer_del(hc->deadline_ev);
	if (hc->poll_ev)
		evtimer_del(hc->poll_ev);
	if (hc->reap_ev)
		evtimer_del(hc->reap_ev);
}

static void free_checker(struct health_checker *hc)
{
	if (!hc)
		return;
	stop_all(hc);
	if (hc->tick)
		event_free(hc->tick);
	if (hc->deadline_ev)
		event_free(hc->deadline_ev);
	if (hc->poll_ev)
		event_free(hc->poll_ev);
	if (hc->reap_ev)
		event_free(hc->reap_ev);
	free(hc->reap);
	health_sm_destroy(hc->sm);
	free(hc->name);
	free(hc->origin); /* from ldns_rdf2str: malloc'd */
	free(hc->qname);
	free(hc->command);
	free(hc);
}

void health_checker_destroy(struct health_checker *hc)
{
	if (!hc || hc->dead)
		return;
	if (hc->depth) {
		/* Inside one of our callbacks: stop now, free on the way out. */
		hc->dead = true;
		stop_all(hc);
		return;
	}
	free_checker(hc);
}

bool health_checker_up(const struct health_checker *hc)
{
	return health_sm_up(hc->sm);
}
