/*
 * remote.c - a fakeresolver daemon driven over its control connection (see
 * remote.h): commands queued and sent one at a time on the run's loop, each
 * reply recorded as a `remote` line, and the `fault` and `state` lines of a
 * local fake resolver written from what the daemon confirmed.
 */
#include "harness/farm/remote.h"
#include "fakeresolver/clock.h"
#include "harness/env.h"
#include "harness/record/history.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

/* How long the end of the run waits for the daemon's last replies. */
#define REMOTE_END_S 2.0

enum rverb { RC_INJECT, RC_CAPACITY, RC_STOP, RC_START, RC_HEAL, RC_PUBLISH };

/* A command waiting to be sent, or sent and waiting for its reply. */
struct rcmd {
	struct rcmd *next;
	enum rverb verb;
	uint32_t id;            /* the fault it makes (inject, capacity, stop) or heals (0: all) */
	struct fault_spec spec; /* RC_INJECT */
	double duration, qps;
	unsigned queue;
	char *path;             /* RC_PUBLISH, owned */
	char line[CONTROL_LINE_MAX + 1];
};

/* A fault the daemon confirmed and has not healed. */
struct rfault {
	struct farm_remote *r;
	uint32_t id;        /* run-wide */
	uint32_t remote_id; /* the daemon's */
	const char *kind;
	bool stop;
	bool timed;         /* has a duration: the daemon heals it itself */
	double until;       /* then: when (run time) the heal is recorded */
	struct event *timer; /* records the heal when the duration runs out */
};

struct farm_remote {
	struct run_env *env;
	struct farm_remote_config cfg;
	int fd;                  /* connected and authenticated, before it goes on the loop */
	struct bufferevent *bev; /* on the loop */
	bool connected;
	bool stopped;            /* a stop the daemon confirmed, not yet healed */
	struct rcmd *head, *tail; /* to send */
	struct rcmd *inflight;
	/* At the end, commands go here instead of into the bufferevent's output
	 * (whose start the bufferevent freezes: only it may write from there). */
	struct evbuffer *end_out;
	struct rfault **faults;
	size_t nfaults, cap;
};

struct farm_remote *farm_remote_create(struct run_env *env, const struct farm_remote_config *c)
{
	struct farm_remote *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->env = env;
	r->cfg = *c;
	r->fd = -1;
	return r;
}

static void cmd_free(struct rcmd *c)
{
	if (!c)
		return;
	free(c->path);
	free(c);
}

static void rfault_free(struct rfault *f)
{
	if (f->timer)
		event_free(f->timer);
	free(f);
}

void farm_remote_destroy(struct farm_remote *r)
{
	if (!r)
		return;
	if (r->bev)
		bufferevent_free(r->bev);
	if (r->fd >= 0)
		close(r->fd);
	while (r->head) {
		struct rcmd *c = r->head;
		r->head = c->next;
		cmd_free(c);
	}
	cmd_free(r->inflight);
	for (size_t i = 0; i < r->nfaults; i++)
		rfault_free(r->faults[i]);
	free(r->faults);
	memset(r->cfg.token, 0, sizeof r->cfg.token);
	free(r);
}

const char *farm_remote_name(const struct farm_remote *r)
{
	return r->cfg.name;
}

const struct addr *farm_remote_addr(const struct farm_remote *r)
{
	return &r->cfg.addr;
}

const char *farm_remote_state(const struct farm_remote *r)
{
	if (!r->connected)
		return "disconnected";
	return r->stopped ? "down" : "up";
}

/* ---- the history ---- */

static void warn(const struct farm_remote *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A failed command is a warning, not the end of the run. */
static void warn(const struct farm_remote *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "dnschaos: warning: %s%sremote '%s': ", r->cfg.where,
		r->cfg.where[0] ? ": " : "", r->cfg.name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* One command and what the daemon answered (or why there was no answer). */
static void record_remote(struct farm_remote *r, const char *command, const char *reply, bool ok)
{
	struct history *h = env_history(r->env);
	char buf[80];
	env_say(r->env, "%s: remote: %s -> %s", r->cfg.name, command, reply);
	if (!h)
		return;
	history_begin(h, env_now(r->env), "remote");
	history_str(h, "target", r->cfg.name);
	history_str(h, "control", addr_str(&r->cfg.control, buf, sizeof buf));
	history_str(h, "command", command);
	history_str(h, "reply", reply);
	history_bool(h, "ok", ok);
	history_end(h);
}

static void record_state(struct farm_remote *r, const char *state, const char *why)
{
	struct history *h = env_history(r->env);
	char buf[80];
	if (!h)
		return;
	history_begin(h, env_now(r->env), "state");
	history_str(h, "resolver", r->cfg.name);
	history_str(h, "state", state);
	history_str(h, "why", why);
	history_str(h, "address", addr_str(&r->cfg.addr, buf, sizeof buf));
	history_end(h);
}

/* ---- faults as the daemon confirmed them ---- */

static size_t rfault_find(const struct farm_remote *r, uint32_t id)
{
	for (size_t i = 0; i < r->nfaults; i++)
		if (r->faults[i]->id == id)
			return i;
	return SIZE_MAX;
}

/* Records fault i healed (and the ports open, for a stop) and forgets it. */
static void rfault_healed(struct farm_remote *r, size_t i, const char *why)
{
	struct rfault *f = r->faults[i];
	farm_fault_record(r->env, r->cfg.name, f->id, f->kind, "heal", NULL, 0, 0, 0);
	if (f->stop) {
		r->stopped = false;
		record_state(r, "up", why);
	}
	rfault_free(f);
	memmove(&r->faults[i], &r->faults[i + 1], (r->nfaults - i - 1) * sizeof r->faults[0]);
	r->nfaults--;
}

static void rfault_expired(evutil_socket_t fd, short what, void *arg)
{
	struct rfault *f = arg;
	(void)fd;
	(void)what;
	size_t i = rfault_find(f->r, f->id);
	if (i != SIZE_MAX)
		rfault_healed(f->r, i, "duration");
}

static struct rfault *rfault_add(struct farm_remote *r, uint32_t id, uint32_t remote_id,
				 const char *kind, double duration)
{
	struct rfault *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (r->nfaults == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct rfault **p = realloc(r->faults, cap * sizeof *p);
		if (!p) {
			free(f);
			return NULL;
		}
		r->faults = p;
		r->cap = cap;
	}
	f->r = r;
	f->id = id;
	f->remote_id = remote_id;
	f->kind = kind;
	if (duration > 0) {
		f->timed = true;
		f->timer = evtimer_new(env_base(r->env), rfault_expired, f);
		if (!f->timer) {
			free(f);
			return NULL;
		}
		struct timeval tv = clock_timeval(duration);
		evtimer_add(f->timer, &tv);
		f->until = env_now(r->env) + duration;
	}
	r->faults[r->nfaults++] = f;
	return f;
}

bool farm_remote_fault_at(const struct farm_remote *r, size_t i, uint32_t *id, const char **kind,
                          double *left)
{
	if (i >= r->nfaults)
		return false;
	const struct rfault *f = r->faults[i];
	*id = f->id;
	*kind = f->kind;
	*left = f->timed ? f->until - env_now(r->env) : -1;
	if (f->timed && *left < 0)
		*left = 0;
	return true;
}

/* ---- commands ---- */

/* The command line for c, as the daemon parses it. False: nothing to send. */
static bool cmd_format(struct farm_remote *r, struct rcmd *c)
{
	char buf[1100], name[1024], rb[16], tb[16];
	size_t n = 0, cap = sizeof c->line;
#define PUT(...)                                                                  \
	do {                                                                      \
		int w_ = snprintf(c->line + n, n < cap ? cap - n : 0, __VA_ARGS__); \
		n += w_ > 0 ? (size_t)w_ : 0;                                     \
	} while (0)
	switch (c->verb) {
	case RC_INJECT: {
		const struct fault_spec *s = &c->spec;
		const struct fault_match *m = &s->match;
		PUT("%s", fault_kind_name(s->kind));
		if (s->kind == FAULT_DELAY)
			PUT(" ms=%.3f jitter=%.3f dist=%s", s->delay_s * 1000, s->spread_s * 1000,
			    rng_dist_name(s->dist));
		if (s->kind == FAULT_RCODE)
			PUT(" rcode=%s", answer_rcode_str(s->rcode, rb, sizeof rb));
		if (s->kind == FAULT_WRONG)
			PUT(" address=%s", inet_ntop(s->wrong_family, s->wrong_addr, buf, sizeof buf));
		if (m->has_name) {
			wire_name_to_str(m->name, name, sizeof name);
			PUT(" name=%s%s", m->below ? "*." : "", name);
		}
		if (m->qtype)
			PUT(" qtype=%s", answer_type_str(m->qtype, tb, sizeof tb));
		if (m->transport >= 0)
			PUT(" transport=%s", m->transport == ANSWER_UDP ? "udp" : "tcp");
		if (m->fraction < 1.0)
			PUT(" fraction=%.4f", m->fraction);
		break;
	}
	case RC_CAPACITY:
		PUT("capacity qps=%.3f queue=%u", c->qps, c->queue);
		break;
	case RC_STOP:
		PUT("stop");
		break;
	case RC_START:
		PUT("start");
		break;
	case RC_HEAL:
		if (!c->id) {
			PUT("heal");
			break;
		}
		size_t i = rfault_find(r, c->id);
		if (i == SIZE_MAX) {
			env_say(r->env, "%s: heal: fault %u is not active", r->cfg.name, c->id);
			return false;
		}
		PUT("heal %u", r->faults[i]->remote_id);
		break;
	case RC_PUBLISH:
		PUT("publish %s", c->path);
		break;
	}
	if (c->duration > 0)
		PUT(" duration=%.3f", c->duration);
#undef PUT
	if (n >= cap) {
		record_remote(r, c->verb == RC_PUBLISH ? "publish" : "?",
			      "error command too long (4096 octets at most)", false);
		warn(r, "a command over 4096 octets was not sent");
		return false;
	}
	return true;
}

/* What the daemon answered to c: recorded, and its effect noted. */
static void cmd_answered(struct farm_remote *r, struct rcmd *c, const char *reply)
{
	bool ok = strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' ');
	unsigned remote_id = 0;
	record_remote(r, c->line, reply, ok);
	if (!ok) {
		warn(r, "%s: %s", c->line, reply);
		return;
	}
	switch (c->verb) {
	case RC_INJECT:
	case RC_CAPACITY:
	case RC_STOP: {
		if (sscanf(reply, "ok id=%u", &remote_id) != 1 || strstr(reply, "already"))
			return; /* a stop on a stopped daemon makes no second fault */
		const char *kind = c->verb == RC_INJECT	  ? fault_kind_name(c->spec.kind)
				   : c->verb == RC_CAPACITY ? "capacity"
							    : "stop";
		if (!rfault_add(r, c->id, remote_id, kind, c->duration)) {
			env_fail(r->env, "%s: out of memory", r->cfg.name);
			return;
		}
		if (c->verb == RC_INJECT)
			farm_fault_record(r->env, r->cfg.name, c->id, kind, "inject", &c->spec, 0, 0,
					  c->duration);
		else
			farm_fault_record(r->env, r->cfg.name, c->id, kind, "inject", NULL, c->qps,
					  c->queue, c->duration);
		if (c->verb == RC_STOP) {
			r->faults[r->nfaults - 1]->stop = true;
			r->stopped = true;
			record_state(r, "down", "stop");
		}
		return;
	}
	case RC_START:
		for (size_t i = 0; i < r->nfaults; i++)
			if (r->faults[i]->stop) {
				rfault_healed(r, i, "start");
				break;
			}
		return;
	case RC_HEAL:
		if (c->id) {
			size_t i = rfault_find(r, c->id);
			if (i != SIZE_MAX)
				rfault_healed(r, i, "heal");
		} else {
			while (r->nfaults)
				rfault_healed(r, 0, "heal");
		}
		return;
	case RC_PUBLISH:
		return;
	}
}

/* Sends the next command if none is waiting for its reply. */
static void pump(struct farm_remote *r)
{
	while (!r->inflight && r->head) {
		struct rcmd *c = r->head;
		r->head = c->next;
		if (!r->head)
			r->tail = NULL;
		c->next = NULL;
		if (!r->connected || !r->bev) {
			if (cmd_format(r, c)) {
				record_remote(r, c->line, "error not connected", false);
				warn(r, "%s: not sent: the control connection is closed", c->line);
			}
			cmd_free(c);
			continue;
		}
		if (!cmd_format(r, c)) {
			cmd_free(c);
			continue;
		}
		struct evbuffer *out = r->end_out ? r->end_out : bufferevent_get_output(r->bev);
		evbuffer_add(out, c->line, strlen(c->line));
		evbuffer_add(out, "\n", 1);
		r->inflight = c;
	}
}

/* Reads the replies that have arrived in `in`. */
static void take_replies(struct farm_remote *r, struct evbuffer *in)
{
	char *line;
	size_t n;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF))) {
		struct rcmd *c = r->inflight;
		r->inflight = NULL;
		if (c)
			cmd_answered(r, c, line);
		else
			warn(r, "an answer to no command: %.200s", line);
		cmd_free(c);
		free(line);
		pump(r);
	}
}

/* The connection is gone: what it held heals on the daemon, the rest fails here. */
static void lost(struct farm_remote *r, const char *why)
{
	char msg[256];
	snprintf(msg, sizeof msg, "error connection lost: %s", why);
	r->connected = false;
	if (r->bev) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
	warn(r, "control connection lost (%s); its faults without a duration heal on the daemon",
	     why);
	if (r->inflight) {
		record_remote(r, r->inflight->line, msg, false);
		cmd_free(r->inflight);
		r->inflight = NULL;
	} else {
		record_remote(r, "", msg, false);
	}
	for (size_t i = 0; i < r->nfaults;)
		if (!r->faults[i]->timed)
			rfault_healed(r, i, "connection lost");
		else
			i++;
	pump(r);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct farm_remote *r = arg;
	take_replies(r, bufferevent_get_input(bev));
	if (r->bev && evbuffer_get_length(bufferevent_get_input(r->bev)) > CONTROL_REPLY_MAX + 2)
		lost(r, "reply too long");
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct farm_remote *r = arg;
	(void)bev;
	lost(r, (what & BEV_EVENT_EOF) ? "closed by the daemon" : strerror(EVUTIL_SOCKET_ERROR()));
}

static struct rcmd *cmd_new(struct farm_remote *r, enum rverb verb)
{
	struct rcmd *c = calloc(1, sizeof *c);
	if (!c) {
		env_fail(r->env, "%s: out of memory", r->cfg.name);
		return NULL;
	}
	c->verb = verb;
	return c;
}

static void cmd_queue(struct farm_remote *r, struct rcmd *c)
{
	if (r->tail)
		r->tail->next = c;
	else
		r->head = c;
	r->tail = c;
	pump(r);
}

uint32_t farm_remote_inject(struct farm_remote *r, const struct fault_spec *spec, double duration_s)
{
	struct rcmd *c = cmd_new(r, RC_INJECT);
	if (!c)
		return 0;
	c->spec = *spec;
	c->spec.wrong_zones = NULL;
	c->duration = duration_s;
	c->id = env_next_id(r->env);
	uint32_t id = c->id;
	cmd_queue(r, c);
	return id;
}

uint32_t farm_remote_capacity(struct farm_remote *r, double qps, unsigned queue, double duration_s)
{
	struct rcmd *c = cmd_new(r, RC_CAPACITY);
	if (!c)
		return 0;
	c->qps = qps;
	c->queue = queue;
	c->duration = duration_s;
	c->id = env_next_id(r->env);
	uint32_t id = c->id;
	cmd_queue(r, c);
	return id;
}

uint32_t farm_remote_stop(struct farm_remote *r, double duration_s)
{
	struct rcmd *c = cmd_new(r, RC_STOP);
	if (!c)
		return 0;
	c->duration = duration_s;
	c->id = env_next_id(r->env);
	uint32_t id = c->id;
	cmd_queue(r, c);
	return id;
}

void farm_remote_start_dns(struct farm_remote *r)
{
	struct rcmd *c = cmd_new(r, RC_START);
	if (c)
		cmd_queue(r, c);
}

void farm_remote_heal(struct farm_remote *r, uint32_t id)
{
	struct rcmd *c = cmd_new(r, RC_HEAL);
	if (!c)
		return;
	c->id = id;
	cmd_queue(r, c);
}

void farm_remote_publish(struct farm_remote *r, const char *path)
{
	struct rcmd *c = cmd_new(r, RC_PUBLISH);
	if (!c)
		return;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		env_fail(r->env, "%s: out of memory", r->cfg.name);
		return;
	}
	cmd_queue(r, c);
}

/* ---- connecting (blocking, before the run's clock) and the end ---- */

/* Waits for events on fd until the deadline (monotonic). 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - clock_mono();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, (int)(left * 1000) + 1);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int farm_remote_connect(struct farm_remote *r, double timeout_s, char *err, size_t errlen)
{
	char where[80], line[CONTROL_TOKEN_MAX + 16], reply[256];
	double deadline = clock_mono() + timeout_s;
	size_t len = 0, got = 0;
	int rc = -1;
	const struct addr *a = &r->cfg.control;

	addr_str(a, where, sizeof where);
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control %s: %s", where, strerror(errno));
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "control %s: %s (is the daemon started with --control?)", where,
			 strerror(errno));
		goto out;
	}
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (wait_fd(fd, POLLOUT, deadline) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		snprintf(err, errlen, "control %s: %s (is the daemon started with --control?)", where,
			 soerr ? strerror(soerr) : "no connection within the time allowed");
		goto out;
	}
	len = (size_t)snprintf(line, sizeof line, "auth %.*s\n", (int)r->cfg.token_len,
			       (const char *)r->cfg.token);
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "control %s: %s", where, strerror(errno));
			goto out;
		}
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			snprintf(err, errlen, "control %s: could not send the token in time", where);
			goto out;
		}
	}
	/* The reply line, one octet at a time: nothing after it may be taken from the socket. */
	while (got < sizeof reply - 1) {
		ssize_t n = recv(fd, reply + got, 1, 0);
		if (n == 1) {
			if (reply[got] == '\n')
				break;
			got++;
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (wait_fd(fd, POLLIN, deadline) != 1)
			break;
	}
	reply[got] = '\0';
	if (strcmp(reply, "ok authenticated") != 0) {
		snprintf(err, errlen, "control %s: %s", where,
			 strcmp(reply, "error refused") == 0
				 ? "the daemon refused the token (is token_file the one given to "
				   "its --control-token-file?)"
				 : got ? "unexpected reply to auth (is this a fakeresolver control port?)"
				       : "no reply to auth in time (is this a fakeresolver control port?)");
		goto out;
	}
	r->fd = fd;
	fd = -1;
	rc = 0;
out:
	memset(line, 0, sizeof line);
	if (fd >= 0)
		close(fd);
	return rc;
}

int farm_remote_start(struct farm_remote *r, char *err, size_t errlen)
{
	char buf[80];
	r->bev = bufferevent_socket_new(env_base(r->env), r->fd, BEV_OPT_CLOSE_ON_FREE);
	if (!r->bev) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->fd = -1;
	r->connected = true;
	bufferevent_setcb(r->bev, on_read, NULL, on_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	env_say(r->env, "%s: remote fake resolver at %s, control connected", r->cfg.name,
		addr_str(&r->cfg.addr, buf, sizeof buf));
	/* The authentication, done before the clock started (the token is not written). */
	record_remote(r, "auth", "ok authenticated", true);
	record_state(r, "up", "connected");
	return 0;
}

void farm_remote_end(struct farm_remote *r)
{
	if (!r->connected || !r->bev)
		return;
	/* Commands the run never got to send stay unsent; a heal follows what is in flight. */
	while (r->head) {
		struct rcmd *c = r->head;
		r->head = c->next;
		if (cmd_format(r, c))
			record_remote(r, c->line, "error not sent: the run ended", false);
		cmd_free(c);
	}
	r->tail = NULL;
	bufferevent_disable(r->bev, EV_READ | EV_WRITE);
	int fd = bufferevent_getfd(r->bev);
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	if (in && out) {
		/* What the bufferevent still holds: unsent octets, unread replies. */
		struct evbuffer *bo = bufferevent_get_output(r->bev);
		size_t pend = evbuffer_get_length(bo);
		char *tmp = pend ? malloc(pend) : NULL;
		if (tmp && evbuffer_copyout(bo, tmp, pend) == (ev_ssize_t)pend)
			evbuffer_add(out, tmp, pend);
		free(tmp);
		evbuffer_add_buffer(in, bufferevent_get_input(r->bev));
		r->end_out = out;
		struct rcmd *heal = cmd_new(r, RC_HEAL);
		if (heal)
			cmd_queue(r, heal);
		double deadline = clock_mono() + REMOTE_END_S;
		take_replies(r, in);
		while (r->inflight || r->head) {
			if (evbuffer_get_length(out)) {
				if (wait_fd(fd, POLLOUT, deadline) != 1 || evbuffer_write(out, fd) < 0)
					break;
				continue;
			}
			if (wait_fd(fd, POLLIN, deadline) != 1)
				break;
			int n = evbuffer_read(in, fd, 4096);
			if (n <= 0)
				break;
			take_replies(r, in);
			if (evbuffer_get_length(in) > CONTROL_REPLY_MAX + 2)
				break;
		}
	}
	r->end_out = NULL;
	if (in)
		evbuffer_free(in);
	if (out)
		evbuffer_free(out);
	while (r->head) { /* out of memory above: never sent */
		struct rcmd *c = r->head;
		r->head = c->next;
		cmd_free(c);
	}
	r->tail = NULL;
	if (r->inflight) {
		record_remote(r, r->inflight->line, "error no reply before the end of the run", false);
		warn(r, "%s: no reply before the end of the run", r->inflight->line);
		cmd_free(r->inflight);
		r->inflight = NULL;
	}
	/* Closing the connection heals on the daemon what it set without a duration. */
	for (size_t i = 0; i < r->nfaults;)
		if (!r->faults[i]->timed)
			rfault_healed(r, i, "end");
		else
			i++;
	bufferevent_free(r->bev);
	r->bev = NULL;
	r->connected = false;
}
