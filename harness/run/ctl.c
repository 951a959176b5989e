/*
 * ctl.c - the control socket (ctl.h): the listening socket made safely, the
 * connections on the run's loop (bufferevents, bounded), the commands, and
 * the status as JSON. A farm command goes through the describing layer's
 * parser and run_act, exactly as a timeline entry does.
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "harness/run/ctl.h"
#include "harness/clients/client.h"
#include "harness/farm/farm.h"
#include "harness/farm/remote.h"
#include "harness/record/history.h"
#include "harness/run/act.h"
#include "harness/run/run.h"
#include "fakeresolver/addr.h"
#include "fakeresolver/json.h"
#include "fakeresolver/zone.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define CTL_ARGS_MAX 32 /* words in a command */

/* A reply being written: one JSON object, one line. */
struct reply {
	char buf[65536];
	size_t len;
	bool cut; /* did not fit: the status is too long */
};

struct ctl_conn {
	struct ctl_server *srv;
	struct bufferevent *bev;
	struct ctl_conn *next;
};

struct ctl_server {
	struct runner *run;
	struct evconnlistener *lis;
	char *path;
	struct ctl_conn *conns;
	size_t nconns;
	struct reply reply; /* the one being written (one command at a time, on the loop) */
};

/* ---- the listening socket ---- */

int ctl_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "--control %s: a socket path is 1 to %zu bytes", path,
			 sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--control %s: the path exists and is not a socket; "
					      "not overwriting it (give another path)",
				 path);
			return -1;
		}
		/* A socket: stale (its run was killed) if nobody accepts on it. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0) {
			snprintf(err, errlen, "--control: socket: %s", strerror(errno));
			return -2;
		}
		int rc = connect(probe, (struct sockaddr *)&sa, sizeof sa);
		int e = errno;
		close(probe);
		if (rc == 0 || e != ECONNREFUSED) {
			snprintf(err, errlen, "--control %s: %s; not replacing it (give another path)",
				 path, rc == 0 ? "a running dnschaos (or another program) listens on it"
					       : strerror(e));
			return -1;
		}
		if (unlink(path) != 0) {
			snprintf(err, errlen, "--control %s: cannot remove the stale socket: %s", path,
				 strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--control: socket: %s", strerror(errno));
		return -2;
	}
	/* 0600 whatever the caller's umask: the file's mode is the socket's, masked, at bind. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "--control %s: cannot create the socket: %s", path, strerror(e));
		close(fd);
		return e == ENOENT || e == EACCES || e == EEXIST || e == ENOTDIR || e == EROFS ? -1
															: -2;
	}
	if (listen(fd, CTL_CONNS_MAX) != 0) {
		snprintf(err, errlen, "--control %s: listen: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -2;
	}
	return fd;
}


static void put(struct reply *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct reply *o, const char *fmt, ...)
{
	va_list ap;
	if (o->cut)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, sizeof o->buf - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof o->buf - o->len)
		o->cut = true;
	else
		o->len += (size_t)n;
}

/* A JSON string, quoted and escaped (cut at 1024 bytes of text). */
static void put_str(struct reply *o, const char *s)
{
	char esc[JSON_ESCAPE_ROOM(1024)];
	size_t n = strlen(s);
	size_t w = json_escape(esc, s, n, n < 1024 ? n : 1024, JSON_ESC_PLAIN, NULL);
	put(o, "\"%.*s\"", (int)w, esc);
}

/* A number, or null when it is not finite. */
static void put_num(struct reply *o, double v)
{
	if (isfinite(v))
		put(o, "%.3f", v);
	else
		put(o, "null");
}

static void conn_free(struct ctl_conn *c);

/*
 * What is queued for c, written now without waiting, as far as the socket
 * takes it: before closing (the reply to an abort). A bufferevent's output
 * cannot be drained or copied from outside (libevent freezes its start), so
 * it is peeked at and sent.
 */
static void flush_now(struct ctl_conn *c)
{
	struct evbuffer_iovec v[8];
	struct iovec iov[8];
	struct msghdr msg;
	int n = evbuffer_peek(bufferevent_get_output(c->bev), -1, NULL, v, 8);
	if (n <= 0)
		return;
	for (int i = 0; i < n && i < 8; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)(n < 8 ? n : 8);
	(void)!sendmsg(bufferevent_getfd(c->bev), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Queues a reply; a client that does not read what it is sent is dropped. */
static bool send_reply(struct ctl_conn *c, const struct reply *o)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (o->cut) {
		static const char line[] = "{\"ok\":false,\"error\":\"the reply is longer than the "
					   "control socket sends\"}\n";
		evbuffer_add(out, line, sizeof line - 1);
	} else {
		evbuffer_add(out, o->buf, o->len);
		evbuffer_add(out, "\n", 1);
	}
	if (evbuffer_get_length(out) > CTL_OUTPUT_MAX) {
		conn_free(c);
		return false;
	}
	return true;
}

static void error_reply(struct reply *o, const char *msg)
{
	o->len = 0;
	o->cut = false;
	put(o, "{\"ok\":false,\"error\":");
	put_str(o, msg);
	put(o, "}");
}

/* ---- the history ---- */

/* The control line: what was asked, whether it was done. */
static void record(struct ctl_server *s, const char *command, const char *error)
{
	struct history *h = runner_history(s->run);
	if (!h)
		return;
	history_set_manual(h, true);
	history_begin(h, runner_now(s->run), "control");
	history_str(h, "command", command);
	history_bool(h, "ok", error == NULL);
	if (error)
		history_str(h, "error", error);
	history_end(h);
	history_set_manual(h, false);
}

/* run_act with the lines it writes marked as an operator's. */
static int act_manual(struct ctl_server *s, const struct run_action *a, struct run_result *res,
		      char *err, size_t errlen)
{
	struct history *h = runner_history(s->run);
	history_set_manual(h, true);
	int rc = run_act(runner_env(s->run), a, res, err, errlen);
	history_set_manual(h, false);
	return rc;
}

/* ---- status ---- */

/* Opens the i-th object of a status's list with its name. */
static void put_item(struct reply *o, size_t i, const char *name)
{
	put(o, "%s{\"name\":", i ? "," : "");
	put_str(o, name);
}

/* One fault of a status's "faults" list: left < 0 is until healed. */
static void put_fault(struct reply *o, size_t k, uint32_t id, const char *kind, double left)
{
	put(o, "%s{\"id\":%u,\"kind\":\"%s\",\"left\":", k ? "," : "", id, kind);
	if (left < 0)
		put(o, "null");
	else
		put_num(o, left);
	put(o, "}");
}

static void status(struct ctl_server *s, struct reply *o)
{
	struct runner *r = s->run;
	char a[128];
	put(o, "{\"ok\":true,\"t\":");
	put_num(o, runner_now(r));
	put(o, ",\"timeline\":");
	put_num(o, runner_timeline_now(r));
	put(o, ",\"duration\":");
	put_num(o, runner_duration(r));
	put(o, ",\"paused\":%s,\"name\":", runner_paused(r) ? "true" : "false");
	put_str(o, runner_name(r));
	put(o, ",\"resolvers\":[");
	for (size_t i = 0; i < runner_resolver_count(r); i++) {
		struct farm_resolver *x = runner_resolver_at(r, i);
		put_item(o, i, farm_resolver_name(x));
		put(o, ",\"address\":");
		put_str(o, addr_str(farm_resolver_addr(x), a, sizeof a));
		put(o, ",\"state\":\"%s\",\"serial\":", farm_state_name(farm_resolver_state(x)));
		int64_t serial = farm_resolver_first_serial(x);
		if (serial < 0)
			put(o, "null");
		else
			put(o, "%lld", (long long)serial);
		put(o, ",\"faults\":[");
		uint32_t id;
		const char *kind;
		double left;
		for (size_t k = 0; farm_resolver_fault_at(x, k, &id, &kind, &left); k++)
			put_fault(o, k, id, kind, left);
		put(o, "]}");
	}
	put(o, "],\"processes\":[");
	for (size_t i = 0; i < runner_process_count(r); i++) {
		struct farm_process *p = runner_process_at(r, i);
		put_item(o, i, farm_process_name(p));
		put(o, ",\"state\":\"%s\",\"hung\":%s,\"serial\":",
		    farm_state_name(farm_process_state(p)), farm_process_hung(p) ? "true" : "false");
		int64_t serial = farm_process_serial(p);
		if (serial < 0)
			put(o, "null");
		else
			put(o, "%lld", (long long)serial);
		put(o, ",\"faults\":[");
		uint32_t id;
		const char *kind;
		double left;
		for (size_t k = 0; farm_process_fault_at(p, k, &id, &kind, &left); k++)
			put_fault(o, k, id, kind, left);
		put(o, "]}");
	}
	put(o, "],\"remotes\":[");
	for (size_t i = 0; i < runner_remote_count(r); i++) {
		struct farm_remote *x = runner_remote_at(r, i);
		put_item(o, i, farm_remote_name(x));
		put(o, ",\"address\":");
		put_str(o, addr_str(farm_remote_addr(x), a, sizeof a));
		put(o, ",\"state\":\"%s\",\"faults\":[", farm_remote_state(x));
		uint32_t id;
		const char *kind;
		double left;
		for (size_t k = 0; farm_remote_fault_at(x, k, &id, &kind, &left); k++)
			put_fault(o, k, id, kind, left);
		put(o, "]}");
	}
	put(o, "],\"sources\":[");
	for (size_t i = 0; i < runner_source_count(r); i++) {
		struct farm_source *x = runner_source_at(r, i);
		const struct zone_set *zs = farm_source_zones(x);
		put_item(o, i, farm_source_name(x));
		put(o, ",\"running\":%s,\"serials\":[", farm_source_running(x) ? "true" : "false");
		for (size_t k = 0; zs && k < zone_set_count(zs); k++)
			put(o, "%s%u", k ? "," : "", zone_version_serial(zone_set_at(zs, k)));
		put(o, "]}");
	}
	put(o, "],\"vips\":[");
	for (size_t i = 0; i < runner_vip_count(r); i++) {
		struct farm_vip *v = runner_vip_at(r, i);
		put_item(o, i, farm_vip_name(v));
		put(o, ",\"backends\":[");
		for (int k = 0; k < farm_vip_backend_count(v); k++) {
			put_item(o, k, farm_vip_backend_name(v, k));
			put(o, ",\"up\":%s}", farm_vip_backend_up(v, k) ? "true" : "false");
		}
		put(o, "]}");
	}
	put(o, "],\"clients\":[");
	for (size_t i = 0; i < runner_client_count(r); i++) {
		struct client *c = runner_client_at(r, i);
		struct client_stats st;
		client_get_stats(c, &st);
		put_item(o, i, client_name(c));
		put(o, ",\"stack\":\"%s\",\"invoked\":%llu,\"ok\":%llu,\"failed\":%llu,"
		       "\"timeouts\":%llu,\"pending\":%llu,\"stale\":%llu,\"wrong\":%llu}",
		    client_stack_name(client_cfg(c)->stack), (unsigned long long)st.invoked,
		    (unsigned long long)st.ok, (unsigned long long)st.failed,
		    (unsigned long long)st.timeouts, (unsigned long long)st.pending,
		    (unsigned long long)st.stale, (unsigned long long)st.wrong);
	}
	put(o, "]}");
}

/* ---- commands ---- */

static const char usage_text[] =
	"commands: status, pause, resume, extend SECONDS, abort, or TARGET METHOD "
	"[key=value ...] (docs/gameday.md)";

/* TARGET METHOD [key=value ...]: parsed as the timeline's action, then run_act. */
static void farm_command(struct ctl_server *s, int argc, char **argv, const char *line,
			 struct reply *o)
{
	const struct runner_script *ops = runner_script_ops(s->run);
	struct run_action a;
	struct run_result res;
	char err[1024], msg[1400];

	memset(&a, 0, sizeof a);
	if (!ops || !ops->command) {
		snprintf(msg, sizeof msg, "%s: this run takes no farm commands", line);
		error_reply(o, msg);
		return;
	}
	if (ops->command(runner_script(s->run), argc, argv, &a, err, sizeof err) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", line, err);
		error_reply(o, msg);
		record(s, line, err);
		return;
	}
	int rc = act_manual(s, &a, &res, err, sizeof err);
	if (rc != RUN_ACT_OK) {
		/* A failure the run cannot go on from has stopped it (as on the timeline);
		 * a refused one is the scenario's error, and the run goes on. */
		snprintf(msg, sizeof msg, "%s: %s", line, err); /* as the timeline's "where" + err */
		error_reply(o, msg);
		record(s, line, err);
		run_action_clear(&a);
		return;
	}
	record(s, line, NULL);
	put(o, "{\"ok\":true,\"t\":");
	put_num(o, runner_now(s->run));
	if (res.fault_id)
		put(o, ",\"fault\":%u", res.fault_id);
	if (a.verb == RUN_HEAL || a.verb == RUN_RESUME)
		put(o, ",\"healed\":%d", res.healed);
	put(o, "}");
	run_action_clear(&a);
}

/* Parses SECONDS of extend: a plain decimal number. */
static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* One command line (NUL-terminated, at most CTL_LINE_MAX): its reply into o. */
static void command(struct ctl_server *s, char *line, struct reply *o)
{
	char copy[CTL_LINE_MAX + 1], *argv[CTL_ARGS_MAX + 1], *save = NULL, msg[512];
	int argc = 0;

	snprintf(copy, sizeof copy, "%s", line);
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc == CTL_ARGS_MAX) {
			snprintf(msg, sizeof msg, "more than %d words in a command", CTL_ARGS_MAX);
			error_reply(o, msg);
			return;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (runner_stopping(s->run)) {
		error_reply(o, "the run is ending: no more commands");
		return;
	}
	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		status(s, o);
		return;
	}
	if (strcmp(argv[0], "help") == 0 && argc == 1) {
		put(o, "{\"ok\":true,\"help\":");
		put_str(o, usage_text);
		put(o, "}");
		return;
	}
	if ((strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") == 0) && argc == 1) {
		bool pause = argv[0][0] == 'p';
		if ((pause ? runner_pause(s->run) : runner_resume(s->run)) != 0) {
			snprintf(msg, sizeof msg, "%s: the timeline is %s", argv[0],
				 pause ? "paused already" : "not paused");
			error_reply(o, msg);
			return;
		}
		record(s, argv[0], NULL);
		put(o, "{\"ok\":true,\"t\":");
		put_num(o, runner_now(s->run));
		put(o, ",\"timeline\":");
		put_num(o, runner_timeline_now(s->run));
		put(o, ",\"paused\":%s}", pause ? "true" : "false");
		return;
	}
	if (strcmp(argv[0], "extend") == 0) {
		double sec;
		char err[256];
		if (argc != 2 || parse_seconds(argv[1], &sec) != 0) {
			error_reply(o, "extend: give the seconds to add, e.g. 'extend 30'");
			return;
		}
		if (runner_extend(s->run, sec, err, sizeof err) != 0) {
			error_reply(o, err);
			return;
		}
		snprintf(msg, sizeof msg, "extend %s", argv[1]);
		record(s, msg, NULL);
		put(o, "{\"ok\":true,\"t\":");
		put_num(o, runner_now(s->run));
		put(o, ",\"duration\":");
		put_num(o, runner_duration(s->run));
		put(o, "}");
		return;
	}
	if (strcmp(argv[0], "abort") == 0 && argc == 1) {
		record(s, "abort", NULL);
		/* The loop ends after this callback; the teardown heals every fault. */
		runner_abort(s->run, RUNNER_INTERRUPTED,
			     "aborted from the control socket (dnschaos ctl abort)");
		put(o, "{\"ok\":true,\"t\":");
		put_num(o, runner_now(s->run));
		put(o, ",\"aborting\":true}");
		return;
	}
	static const char *const run_words[] = { "status", "help", "pause", "resume", "abort", NULL };
	for (size_t i = 0; run_words[i]; i++)
		if (strcmp(argv[0], run_words[i]) == 0) {
			snprintf(msg, sizeof msg, "%s takes no arguments", argv[0]);
			error_reply(o, msg);
			return;
		}
	if (argc < 2) {
		snprintf(msg, sizeof msg, "unknown command '%.64s' (%s)", argv[0], usage_text);
		error_reply(o, msg);
		return;
	}
	farm_command(s, argc, argv, line, o);
}

/* ---- connections ---- */

static void conn_free(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;
	for (struct ctl_conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct reply *o = &c->srv->reply;
	for (;;) {
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
		if (!line)
			break;
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		o->len = 0;
		o->cut = false;
		bool blank = strspn(line, " \t") == n;
		if (n > CTL_LINE_MAX) {
			char msg[128];
			snprintf(msg, sizeof msg, "a command is at most %d bytes", CTL_LINE_MAX);
			error_reply(o, msg);
		} else if (strlen(line) != n) {
			error_reply(o, "a command holds no NUL byte");
		} else if (!blank) {
			command(c->srv, line, o);
		}
		free(line);
		if (blank)
			continue;
		if (!send_reply(c, o))
			return; /* dropped */
		if (runner_stopping(c->srv->run))
			break; /* nothing after an abort; the rest waits for the end */
	}
	if (evbuffer_get_length(in) > CTL_LINE_MAX + 2) {
		/* A line with no end in sight: refused, and the client dropped. */
		char msg[128];
		snprintf(msg, sizeof msg, "a command is at most %d bytes; closing", CTL_LINE_MAX);
		error_reply(o, msg);
		struct evbuffer *out = bufferevent_get_output(bev);
		evbuffer_add(out, o->buf, o->len);
		evbuffer_add(out, "\n", 1);
		flush_now(c);
		conn_free(c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(arg); /* a controller gone changes nothing in the run */
}

/* One line to a peer that is not served, without waiting, then closed. */
static void refuse(evutil_socket_t fd, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof line, "{\"ok\":false,\"error\":\"%s\"}\n", why);
	if (n > 0)
		(void)!send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct ctl_server *s = arg;
	struct ucred cred;
	socklen_t len = sizeof cred;
	char why[160];
	(void)lis;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
		refuse(fd, "cannot tell who is connecting (SO_PEERCRED); refused");
		return;
	}
	if (cred.uid != geteuid()) {
		snprintf(why, sizeof why,
			 "refused: uid %u is not the uid the run has (%u); only its own user may "
			 "control it",
			 (unsigned)cred.uid, (unsigned)geteuid());
		env_say(runner_env(s->run), "control socket: refused a connection from uid %u",
			(unsigned)cred.uid);
		refuse(fd, why);
		return;
	}
	if (s->nconns >= CTL_CONNS_MAX) {
		snprintf(why, sizeof why, "refused: %d control connections are open already",
			 CTL_CONNS_MAX);
		refuse(fd, why);
		return;
	}
	struct ctl_conn *c = calloc(1, sizeof *c);
	if (c)
		c->bev = bufferevent_socket_new(runner_base(s->run), fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c || !c->bev) {
		free(c);
		refuse(fd, "out of memory");
		return;
	}
	c->srv = s;
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct ctl_server *ctl_server_create(struct runner *r, int fd, const char *path, char *err,
				     size_t errlen)
{
	struct ctl_server *s = calloc(1, sizeof *s);
	if (!s || !(s->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		close(fd);
		unlink(path);
		return NULL;
	}
	s->run = r;
	/* backlog 0: listen() was called already (ctl_listen) */
	s->lis = evconnlistener_new(runner_base(r), on_accept, s,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!s->lis) {
		snprintf(err, errlen, "cannot serve the control socket");
		close(fd);
		ctl_server_destroy(s);
		return NULL;
	}
	fprintf(stderr, "dnschaos: control socket: %s\n", path);
	fflush(stderr);
	return s;
}

void ctl_server_destroy(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->conns) {
		struct ctl_conn *c = s->conns;
		/* The reply to an abort, say: written now if the socket takes it. */
		flush_now(c);
		conn_free(c);
	}
	if (s->lis)
		evconnlistener_free(s->lis);
	unlink(s->path);
	free(s->path);
	free(s);
}

/* ---- the control socket as the run's service ---- */

struct ctl_plan {
	int fd; /* until the server takes it */
	char *path;
	struct ctl_server *server;
};

static int plan_start(void *arg, struct runner *r, char *err, size_t errlen)
{
	struct ctl_plan *p = arg;
	p->server = ctl_server_create(r, p->fd, p->path, err, errlen);
	p->fd = -1; /* the server's now, or closed */
	return p->server ? 0 : -1;
}

static void plan_stop(void *arg)
{
	struct ctl_plan *p = arg;
	ctl_server_destroy(p->server);
	if (p->fd >= 0) { /* never served: the run did not start */
		close(p->fd);
		unlink(p->path);
	}
	free(p->path);
	free(p);
}

int ctl_service(int fd, const char *path, struct runner_service *out)
{
	struct ctl_plan *p = calloc(1, sizeof *p);
	char *copy = strdup(path);
	if (!p || !copy) {
		free(p);
		free(copy);
		close(fd);
		unlink(path);
		return -1;
	}
	p->fd = fd;
	p->path = copy;
	*out = (struct runner_service){ plan_start, plan_stop, p };
	return 0;
}
