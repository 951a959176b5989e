/*
 * control.c - the control connection's parser, token and listener (see
 * control.h; docs/fakeresolver.md "Control connection").
 */
#define _GNU_SOURCE /* TCP_KEEPIDLE and friends */
#include "fakeresolver/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <ldns/ldns.h>

/* A reader that does not read its replies is closed past this much unsent. */
#define CONTROL_OUT_MAX (256u * 1024u)

/* ---- the token ---- */

int control_token_read(const char *path, uint8_t *out, size_t *len, char *err, size_t errlen)
{
	char buf[CONTROL_TOKEN_MAX + 3];
	struct stat st;
	ssize_t n = 0;
	int rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
			 "%s: mode %04o lets group or others read or change the token; chmod 600 %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n < CONTROL_TOKEN_MIN || n > CONTROL_TOKEN_MAX) {
		snprintf(err, errlen,
			 "%s: the token must be %d to %d octets on one line (found %s%zd); make "
			 "one with: head -c 32 /dev/urandom | base64 > %s",
			 path, CONTROL_TOKEN_MIN, CONTROL_TOKEN_MAX,
			 n > CONTROL_TOKEN_MAX ? "more than " : "", n > CONTROL_TOKEN_MAX ? CONTROL_TOKEN_MAX : n,
			 path);
		goto out;
	}
	for (ssize_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch <= 0x20 || ch >= 0x7f) {
			snprintf(err, errlen,
				 "%s: the token must be printable ASCII without spaces (octet %zd is 0x%02x)",
				 path, i + 1, ch);
			goto out;
		}
	}
	memcpy(out, buf, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	memset(buf, 0, sizeof buf);
	return rc;
}

bool control_token_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	volatile unsigned diff = alen != blen;
	/* Always CONTROL_TOKEN_MAX rounds, whatever the lengths and contents. */
	for (size_t i = 0; i < CONTROL_TOKEN_MAX; i++) {
		unsigned x = i < alen ? a[i] : 0;
		unsigned y = i < blen ? b[i] : 0;
		diff |= x ^ y;
	}
	return diff == 0;
}

/* ---- the parser ---- */

static const char *const verbs[] = {"hang",     "delay", "rcode",   "truncate", "wrong",
                                    "capacity", "heal",  "publish", "stop",     "start",
                                    "status",   "watch", "unwatch", NULL};

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static const char *closest(const char *word, const char *const list[])
{
	const char *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; list[i]; i++) {
		size_t d = edit_distance(word, list[i]);
		if (d < bd) {
			bd = d;
			best = list[i];
		}
	}
	return best;
}

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int number(const char *verb, const char *key, const char *v, double min, double max,
		  double *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < min || d > max)
		return bad(err, errlen, "%s: %s=%s: give a number from %g to %g", verb, key, v, min,
			   max);
	*out = d;
	return 0;
}

int control_parse(char *line, struct control_cmd *cmd, char *err, size_t errlen)
{
	static const char *const match_keys[] = { "name", "qtype", "transport", "fraction",
						  "duration", NULL };
	static const char *const rcodes[] = { "SERVFAIL", "REFUSED", "NXDOMAIN", "FORMERR",
					      "NOTIMP", NULL };
	static const uint16_t rcode_values[] = { LDNS_RCODE_SERVFAIL, LDNS_RCODE_REFUSED,
						 LDNS_RCODE_NXDOMAIN, LDNS_RCODE_FORMERR,
						 LDNS_RCODE_NOTIMPL };
	char *save = NULL;
	bool has_ms = false, has_rcode = false, has_addr = false, has_qps = false;
	const char *own[16];
	size_t nown = 0;
	bool match = false;

	memset(cmd, 0, sizeof *cmd);
	fault_match_all(&cmd->spec.match);
	char *verb = strtok_r(line, " \t", &save);
	if (!verb)
		return bad(err, errlen,
		           "empty command (hang, delay, rcode, truncate, wrong, "
		           "capacity, heal, publish, stop, start, status, watch, "
		           "unwatch)");
	if (strcmp(verb, "publish") == 0) {
		char *rest = save ? save + strspn(save, " \t") : NULL;
		size_t n = rest ? strlen(rest) : 0;
		while (n && (rest[n - 1] == ' ' || rest[n - 1] == '\t'))
			rest[--n] = '\0';
		if (!n)
			return bad(err, errlen, "publish: give the zone file's path: publish FILE");
		cmd->verb = CONTROL_PUBLISH;
		cmd->path = rest;
		return 0;
	}
	if (strcmp(verb, "hang") == 0 || strcmp(verb, "truncate") == 0) {
		cmd->verb = CONTROL_INJECT;
		cmd->spec.kind = verb[0] == 'h' ? FAULT_HANG : FAULT_TRUNCATE;
		match = true;
	} else if (strcmp(verb, "delay") == 0) {
		cmd->verb = CONTROL_INJECT;
		cmd->spec.kind = FAULT_DELAY;
		own[nown++] = "ms";
		own[nown++] = "jitter";
		own[nown++] = "dist";
		match = true;
	} else if (strcmp(verb, "rcode") == 0) {
		cmd->verb = CONTROL_INJECT;
		cmd->spec.kind = FAULT_RCODE;
		own[nown++] = "rcode";
		match = true;
	} else if (strcmp(verb, "wrong") == 0) {
		cmd->verb = CONTROL_INJECT;
		cmd->spec.kind = FAULT_WRONG;
		own[nown++] = "address";
		match = true;
	} else if (strcmp(verb, "capacity") == 0) {
		cmd->verb = CONTROL_CAPACITY;
		cmd->queue = 100;
		own[nown++] = "qps";
		own[nown++] = "queue";
		own[nown++] = "duration";
	} else if (strcmp(verb, "stop") == 0) {
		cmd->verb = CONTROL_STOP;
		own[nown++] = "duration";
	} else if (strcmp(verb, "heal") == 0 || strcmp(verb, "start") == 0 ||
	           strcmp(verb, "status") == 0 || strcmp(verb, "watch") == 0 ||
	           strcmp(verb, "unwatch") == 0) {
		cmd->verb = verb[0] == 'h'   ? CONTROL_HEAL
		            : verb[0] == 'w' ? CONTROL_WATCH
		            : verb[0] == 'u' ? CONTROL_UNWATCH
		            : verb[3] == 'r' ? CONTROL_START
		                             : CONTROL_STATUS;
		char *arg = strtok_r(NULL, " \t", &save);
		if (arg && cmd->verb == CONTROL_HEAL) {
			char *end;
			errno = 0;
			unsigned long id = strtoul(arg, &end, 10);
			if (errno || *end || end == arg || *arg == '-' || id == 0 || id > UINT32_MAX)
				return bad(err, errlen, "heal: '%s' is not a fault id (heal ID, or heal "
							"alone for every fault)",
					   arg);
			cmd->id = (uint32_t)id;
			arg = strtok_r(NULL, " \t", &save);
		}
		if (arg)
			return bad(err, errlen, "%s: unexpected '%s'", verb, arg);
		return 0;
	} else {
		const char *near = closest(verb, verbs);
		return bad(err, errlen, "unknown command '%.64s'%s%s%s", verb,
			   near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
	}
	if (match)
		for (size_t i = 0; match_keys[i]; i++)
			own[nown++] = match_keys[i];
	own[nown] = NULL;

	for (char *tok; (tok = strtok_r(NULL, " \t", &save));) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1])
			return bad(err, errlen, "%s: '%.64s': write options as key=value", verb, tok);
		*eq = '\0';
		const char *key = tok, *v = eq + 1;
		bool known = false;
		for (size_t i = 0; own[i]; i++)
			known |= strcmp(own[i], key) == 0;
		if (!known) {
			const char *near = closest(key, own);
			return bad(err, errlen, "%s: unknown option '%.64s'%s%s%s", verb, key,
				   near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		}
		double d;
		if (strcmp(key, "duration") == 0) {
			if (number(verb, key, v, 0.001, CONTROL_DURATION_MAX, &cmd->duration, err,
				   errlen))
				return -1;
		} else if (strcmp(key, "name") == 0) {
			char why[256];
			if (fault_match_name(&cmd->spec.match, v, why, sizeof why) != 0)
				return bad(err, errlen, "%s: %s", verb, why);
		} else if (strcmp(key, "qtype") == 0) {
			cmd->spec.match.qtype = (uint16_t)ldns_get_rr_type_by_name(v);
			if (!cmd->spec.match.qtype)
				return bad(err, errlen, "%s: unknown qtype '%.32s' (A, AAAA, SOA, ...)",
					   verb, v);
		} else if (strcmp(key, "transport") == 0) {
			if (strcmp(v, "udp") == 0)
				cmd->spec.match.transport = ANSWER_UDP;
			else if (strcmp(v, "tcp") == 0)
				cmd->spec.match.transport = ANSWER_TCP;
			else if (strcmp(v, "any") == 0)
				cmd->spec.match.transport = -1;
			else
				return bad(err, errlen, "%s: transport=%.32s: udp, tcp or any", verb, v);
		} else if (strcmp(key, "fraction") == 0) {
			if (number(verb, key, v, 0, 1, &cmd->spec.match.fraction, err, errlen))
				return -1;
		} else if (strcmp(key, "ms") == 0 || strcmp(key, "jitter") == 0) {
			if (number(verb, key, v, 0, 600000, &d, err, errlen))
				return -1;
			if (key[0] == 'm') {
				cmd->spec.delay_s = d / 1000;
				has_ms = true;
			} else {
				cmd->spec.spread_s = d / 1000;
			}
		} else if (strcmp(key, "dist") == 0) {
			if (rng_dist_parse(v, &cmd->spec.dist) != 0)
				return bad(err, errlen, "%s: dist=%.32s: constant, uniform, normal, "
							"exponential or pareto",
					   verb, v);
		} else if (strcmp(key, "rcode") == 0) {
			size_t i;
			for (i = 0; rcodes[i] && strcasecmp(rcodes[i], v) != 0; i++)
				;
			if (!rcodes[i])
				return bad(err, errlen, "rcode: rcode=%.32s: SERVFAIL, REFUSED, "
							"NXDOMAIN, FORMERR or NOTIMP",
					   v);
			cmd->spec.rcode = rcode_values[i];
			has_rcode = true;
		} else if (strcmp(key, "address") == 0) {
			if (inet_pton(AF_INET, v, cmd->spec.wrong_addr) == 1)
				cmd->spec.wrong_family = AF_INET;
			else if (inet_pton(AF_INET6, v, cmd->spec.wrong_addr) == 1)
				cmd->spec.wrong_family = AF_INET6;
			else
				return bad(err, errlen, "wrong: '%.64s' is not an IPv4 or IPv6 address",
					   v);
			has_addr = true;
		} else if (strcmp(key, "qps") == 0) {
			if (number(verb, key, v, 0.1, 10000000, &cmd->qps, err, errlen))
				return -1;
			has_qps = true;
		} else if (strcmp(key, "queue") == 0) {
			if (number(verb, key, v, 1, 1000000, &d, err, errlen))
				return -1;
			cmd->queue = (unsigned)d;
		}
	}
	if (cmd->spec.kind == FAULT_DELAY && cmd->verb == CONTROL_INJECT) {
		if (!has_ms)
			return bad(err, errlen, "delay: option 'ms' is required (the added latency)");
	}
	if (cmd->verb == CONTROL_INJECT && cmd->spec.kind == FAULT_RCODE && !has_rcode)
		cmd->spec.rcode = LDNS_RCODE_SERVFAIL;
	if (cmd->verb == CONTROL_INJECT && cmd->spec.kind == FAULT_WRONG && !has_addr)
		return bad(err, errlen, "wrong: option 'address' is required (the address to answer)");
	if (cmd->verb == CONTROL_CAPACITY && !has_qps)
		return bad(err, errlen, "capacity: option 'qps' is required (queries served per second)");
	return 0;
}

/* ---- the listener ---- */

struct control_conn {
	struct control *ctl;
	struct control_conn *prev, *next; /* oldest first */
	struct bufferevent *bev;
	struct event *auth_timer;
	struct addr peer;
	bool authed;
	bool waiting;    /* a command's reply is owed */
	bool in_process; /* process_lines is on the stack */
	bool close_me;   /* close once process_lines unwinds */
	bool watching;   /* gets event lines (control_watch) */
	/* Events dropped since the last `lost` line: how many, the first's and the last's time. */
	uint64_t lost;
	double lost_from, lost_to;
};

struct control {
	struct event_base *base;
	struct control_config cfg;
	const struct control_ops *ops;
	void *arg;
	struct evconnlistener *listener;
	struct addr bound;
	struct control_conn *head, *tail;
	unsigned nconns;
	unsigned nwatch; /* connections watching */
};

void control_config_defaults(struct control_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_conns = 8;
	cfg->auth_timeout_ms = 5000;
}

static void conn_free(struct control_conn *c)
{
	struct control *ctl = c->ctl;
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		ctl->tail = c->prev;
	ctl->nconns--;
	if (c->watching)
		ctl->nwatch--;
	if (c->auth_timer)
		event_free(c->auth_timer);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c);
}

/* Closes c, telling the owner if it was authenticated. */
static void conn_close(struct control_conn *c)
{
	if (c->in_process) {
		c->close_me = true;
		return;
	}
	if (c->authed && c->ctl->ops->closed)
		c->ctl->ops->closed(c->ctl->arg, c);
	conn_free(c);
}

static void send_line(struct control_conn *c, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t n = strcspn(line, "\r\n");
	if (n > CONTROL_REPLY_MAX)
		n = CONTROL_REPLY_MAX;
	if (evbuffer_get_length(out) > CONTROL_OUT_MAX) {
		/* It does not read what it is sent: not a controller to keep. */
		c->close_me = true;
		return;
	}
	evbuffer_add(out, line, n);
	evbuffer_add(out, "\n", 1);
}

/* Refuses c: the same two words whatever was wrong, then closes it once sent. */
static void refuse(struct control_conn *c)
{
	send_line(c, "error refused");
	c->close_me = true;
}

static void auth_line(struct control_conn *c, const char *line, size_t n)
{
	if (n > 5 && memcmp(line, "auth ", 5) == 0 &&
	    control_token_equal((const uint8_t *)line + 5, n - 5, c->ctl->cfg.token,
				c->ctl->cfg.token_len)) {
		c->authed = true;
		event_del(c->auth_timer);
		send_line(c, "ok authenticated");
		return;
	}
	refuse(c);
}

/* Handles the lines that have arrived, one command at a time. May free c. */
static void process_lines(struct control_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	c->in_process = true;
	while (!c->waiting && !c->close_me) {
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (!line) {
			if (evbuffer_get_length(in) > CONTROL_LINE_MAX) {
				if (c->authed)
					send_line(c, "error line too long (4096 octets at most)");
				else
					refuse(c);
				c->close_me = true;
			}
			break;
		}
		if (n > CONTROL_LINE_MAX || memchr(line, '\0', n)) {
			if (!c->authed)
				refuse(c);
			else
				send_line(c, n > CONTROL_LINE_MAX ? "error line too long (4096 octets "
								    "at most)"
								  : "error a NUL octet in the line");
			c->close_me = c->close_me || !c->authed || n > CONTROL_LINE_MAX;
		} else if (!c->authed) {
			auth_line(c, line, n);
		} else if (n == 0) {
			/* An empty line is nothing to answer. */
		} else {
			c->waiting = true;
			c->ctl->ops->command(c->ctl->arg, c, line);
		}
		memset(line, 0, n);
		free(line);
	}
	c->in_process = false;
	if (c->close_me) {
		/* Flush what is owed (a refusal), then close; bounded by the write. */
		bufferevent_disable(c->bev, EV_READ);
		struct evbuffer *out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) == 0 || evbuffer_get_length(out) > CONTROL_OUT_MAX)
			conn_close(c);
		return;
	}
	if (c->waiting)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/* The `lost` line owed (with its newline) into buf; its length, 0 when none is owed. Resets the
 * count. */
static size_t lost_line(struct control_conn *c, char *buf, size_t cap)
{
	if (!c->lost)
		return 0;
	int w = snprintf(buf, cap, "lost %llu from=%.6f to=%.6f\n", (unsigned long long)c->lost,
	                 c->lost_from, c->lost_to);
	c->lost = 0;
	return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

/* Queues the `lost` line owed, if any: the count of events dropped since the last one. */
static void send_lost(struct control_conn *c)
{
	char line[128];
	size_t n = lost_line(c, line, sizeof line);
	if (n)
		evbuffer_add(bufferevent_get_output(c->bev), line, n);
}

void control_reply(struct control_conn *c, const char *line)
{
	if (!c->waiting)
		return;
	/* What was dropped is said before anything that follows it. */
	send_lost(c);
	send_line(c, line);
	c->waiting = false;
	if (!c->in_process)
		process_lines(c);
}

const struct addr *control_conn_peer(const struct control_conn *c)
{
	return &c->peer;
}

void control_watch(struct control_conn *c, bool on)
{
	if (on == c->watching)
		return;
	c->watching = on;
	if (on) {
		int one = 1;
		c->ctl->nwatch++;
		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	} else {
		c->ctl->nwatch--;
	}
}

bool control_conn_watching(const struct control_conn *c)
{
	return c->watching;
}

unsigned control_watchers(const struct control *ctl)
{
	return ctl ? ctl->nwatch : 0;
}

void control_event(struct control *ctl, double t, const char *line, size_t n)
{
	for (struct control_conn *c = ctl ? ctl->head : NULL; ctl && ctl->nwatch && c;
	     c = c->next) {
		if (!c->watching || c->close_me)
			continue;
		struct evbuffer *out = bufferevent_get_output(c->bev);
		size_t held = evbuffer_get_length(out);
		/* Once dropping, it drops until its output has drained, then says how many. */
		if (held > CONTROL_WATCH_MAX || (c->lost && held > 0)) {
			if (!c->lost++)
				c->lost_from = t;
			c->lost_to = t;
			continue;
		}
		char buf[128 + CONTROL_EVENT_MAX + 1];
		if (held > 0 || n > CONTROL_EVENT_MAX) {
			send_lost(c);
			evbuffer_add(out, line, n);
			evbuffer_add(out, "\n", 1);
			continue;
		}
		/*
		 * Nothing queued: sent now rather than on the loop's next turn (the
		 * bufferevent's output can only be written by the bufferevent). A
		 * client's reply leaves right after this returns, and a controller
		 * that joins the query to the client's lookup must have the event
		 * first. What the socket does not take is queued; an error shows as
		 * the bufferevent's event.
		 */
		size_t len = lost_line(c, buf, 128);
		memcpy(buf + len, line, n);
		buf[len + n] = '\n';
		len += n + 1;
		ssize_t w = send(bufferevent_getfd(c->bev), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		size_t sent = w > 0 ? (size_t)w : 0;
		if (sent < len)
			evbuffer_add(out, buf + sent, len - sent);
	}
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_lines(arg);
}

static void conn_write(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;
	(void)bev;
	if (c->close_me) {
		conn_close(c); /* the last line is sent */
		return;
	}
	send_lost(c); /* its output has drained: events flow again after the count */
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error, or a write timeout: all end it */
	struct control_conn *c = arg;
	c->close_me = false;
	conn_close(c);
}

static void auth_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_close(arg);
}

/* A vanished controller (a cable, a partition) is noticed within a minute. */
static void keepalive(evutil_socket_t fd)
{
	int on = 1, idle = 20, intvl = 10, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static void ctl_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		       void *arg)
{
	struct control *ctl = arg;
	(void)l;
	if (ctl->nconns >= ctl->cfg.max_conns) {
		/* Full: the oldest connection still to authenticate makes room. */
		struct control_conn *o = ctl->head;
		while (o && (o->authed || o->in_process))
			o = o->next;
		if (!o) {
			static const char busy[] = "error busy\n";
			ssize_t w = send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			(void)w;
			evutil_closesocket(fd);
			return;
		}
		conn_close(o);
	}
	struct control_conn *c = calloc(1, sizeof *c);
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->ctl = ctl;
	memcpy(&c->peer.ss, sa, (size_t)salen <= sizeof c->peer.ss ? (size_t)salen : sizeof c->peer.ss);
	c->peer.len = (socklen_t)salen;
	c->prev = ctl->tail;
	if (ctl->tail)
		ctl->tail->next = c;
	else
		ctl->head = c;
	ctl->tail = c;
	ctl->nconns++;
	evutil_make_socket_nonblocking(fd);
	keepalive(fd);
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->auth_timer = evtimer_new(ctl->base, auth_expired, c);
	if (!c->bev || !c->auth_timer) {
		if (!c->bev)
			evutil_closesocket(fd);
		conn_free(c);
		return;
	}
	struct timeval tv = { (time_t)(ctl->cfg.auth_timeout_ms / 1000),
			      (suseconds_t)(ctl->cfg.auth_timeout_ms % 1000) * 1000 };
	/* A write that does not drain in 30 s: the peer is gone or hostile. */
	struct timeval wtv = { 30, 0 };
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	evtimer_add(c->auth_timer, &tv);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct control *control_create(struct event_base *base, const struct control_config *cfg,
			       const struct control_ops *ops, void *arg, char *err, size_t errlen)
{
	char buf[80];
	struct control *ctl = calloc(1, sizeof *ctl);
	if (!ctl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->base = base;
	ctl->cfg = *cfg;
	if (!ctl->cfg.max_conns)
		ctl->cfg.max_conns = 1;
	ctl->ops = ops;
	ctl->arg = arg;
	ctl->listener = evconnlistener_new_bind(
		base, ctl_accept, ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		16, (const struct sockaddr *)&cfg->addr.ss, (int)cfg->addr.len);
	if (!ctl->listener) {
		snprintf(err, errlen, "cannot listen on %s (control): %s",
			 addr_str(&cfg->addr, buf, sizeof buf), strerror(errno));
		free(ctl);
		return NULL;
	}
	ctl->bound = cfg->addr;
	socklen_t len = sizeof ctl->bound.ss;
	getsockname(evconnlistener_get_fd(ctl->listener), (struct sockaddr *)&ctl->bound.ss, &len);
	ctl->bound.len = len;
	return ctl;
}

void control_destroy(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->head)
		conn_free(ctl->head);
	evconnlistener_free(ctl->listener);
	memset(ctl->cfg.token, 0, sizeof ctl->cfg.token);
	free(ctl);
}

const struct addr *control_addr(const struct control *ctl)
{
	return &ctl->bound;
}
