/*
 * vip_dnsdist.c - a real dnsdist as the VIP: its configuration written to a
 * private folder, the process under spawn.c's guardian, its webserver API
 * polled on the loop, and what it decided written to the history (see
 * vip_dnsdist.h and docs/history.md, `health` and `backend_stats`).
 */
#define _GNU_SOURCE /* mkdtemp, getrandom */
#include "harness/farm/vip_dnsdist.h"
#include "harness/env.h"
#include "harness/record/history.h"
#include "harness/spawn.h"
#include "fakeresolver/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define START_WAIT_S 10.0
#define OUT_KEEP 2048

struct vip_dnsdist {
	struct run_env *env;
	char name[DNSDIST_NAME_MAX];
	char where[256];
	struct dnsdist_conf conf;
	char listen[80], webserver[40], api_key[40];
	uint16_t web_port;
	char dir[256], path[300];
	pid_t pid;
	int out_fd;
	struct event *out_ev;
	char out[OUT_KEEP]; /* the last of its output, for messages */
	size_t out_len;
	struct event *poll_ev;
	struct evhttp_connection *conn;
	bool in_flight, polled, stopping;
	bool up[DNSDIST_BACKENDS_MAX];
	uint64_t queries[DNSDIST_BACKENDS_MAX];
	struct dnsdist_server last[DNSDIST_BACKENDS_MAX];
	bool have_last[DNSDIST_BACKENDS_MAX];
	unsigned failures;
};

static void nap(double s)
{
	struct timespec ts = { 0, (long)(s * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int vip_dnsdist_binary(char *out, size_t cap, char *err, size_t errlen)
{
	const char *want = getenv("DNSCHAOS_DNSDIST");
	if (!want || !want[0])
		want = "dnsdist";
	if (strchr(want, '/')) {
		snprintf(out, cap, "%s", want);
		if (access(out, X_OK) == 0)
			return 0;
		goto missing;
	}
	const char *path = getenv("PATH");
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	for (const char *p = path; *p;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		snprintf(out, cap, "%.*s/%s", (int)l, l ? p : ".", want);
		if (access(out, X_OK) == 0)
			return 0;
		p += l + (c ? 1 : 0);
	}
	/* Debian puts it in /usr/bin, but root's PATH may lack sbin and the reverse. */
	snprintf(out, cap, "/usr/bin/%s", want);
	if (access(out, X_OK) == 0)
		return 0;
missing:
	snprintf(err, errlen, "kind = \"dnsdist\" needs dnsdist, and %s was not found%s "
		 "(install it: apt-get install dnsdist; or set DNSCHAOS_DNSDIST to its path)",
		 want, strchr(want, '/') ? "" : " in PATH");
	return -ENOENT;
}

/* Keeps the last OUT_KEEP bytes of what fd gives now (non-blocking); false at EOF or error. */
static bool drain(int fd, char *keep, size_t *len)
{
	char buf[4096];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (r == 0)
			return false;
		size_t n = (size_t)r;
		if (n >= OUT_KEEP) {
			memcpy(keep, buf + n - (OUT_KEEP - 1), OUT_KEEP - 1);
			*len = OUT_KEEP - 1;
		} else {
			if (*len + n >= OUT_KEEP) {
				size_t drop = *len + n - (OUT_KEEP - 1);
				memmove(keep, keep + drop, *len - drop);
				*len -= drop;
			}
			memcpy(keep + *len, buf, n);
			*len += n;
		}
		keep[*len] = '\0';
	}
}

/* A free port on host (TCP and UDP both, as dnsdist binds both), or 0. */
static uint16_t free_port(const struct addr *host)
{
	for (int tries = 0; tries < 20; tries++) {
		struct addr a = *host;
		addr_set_port(&a, 0);
		int u = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int t = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		uint16_t port = 0;
		if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&a.ss, a.len) == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof ss;
			if (getsockname(u, (struct sockaddr *)&ss, &sl) == 0) {
				struct addr b = a;
				memcpy(&b.ss, &ss, sl);
				addr_set_port(&a, addr_port(&b));
				int one = 1;
				setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
				if (bind(t, (struct sockaddr *)&a.ss, a.len) == 0)
					port = addr_port(&a);
			}
		}
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (port)
			return port;
	}
	return 0;
}

/* Writes text to dir/dnsdist.conf (made here, mode 0700) into path. */
static int write_conf(const char *text, char *dir, size_t dircap, char *path, size_t pathcap)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, dircap, "%s/dnschaos-dnsdist.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return -errno;
	}
	snprintf(path, pathcap, "%s/dnsdist.conf", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	close(fd);
	return rc;
}

static void remove_conf(const char *dir, const char *path)
{
	if (path[0])
		unlink(path);
	if (dir[0])
		rmdir(dir);
}

/* Runs argv, its output into out (cap), at most wait_s; returns its wait status or a negative errno. */
static int run_capture(char *const argv[], char *out, size_t cap, double wait_s)
{
	char **envp = spawn_env_new(NULL, 0);
	pid_t pid;
	int fd, status = 0;
	size_t len = 0;
	char keep[OUT_KEEP] = "";
	if (!envp)
		return -ENOMEM;
	int rc = spawn_piped(argv[0], argv, envp, false, &pid, &fd);
	spawn_env_free(envp);
	if (rc != 0)
		return -rc;
	double deadline = clock_mono() + wait_s;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)((deadline - clock_mono()) * 1000);
		if (left <= 0)
			break;
		if (poll(&p, 1, left < 100 ? left : 100) < 0 && errno != EINTR)
			break;
		if (!drain(fd, keep, &len))
			break;
	}
	close(fd);
	/* Its output ends a moment before it does. */
	while (spawn_ended(pid) == 0 && clock_mono() < deadline)
		nap(0.005);
	if (spawn_ended(pid) == 0)
		spawn_stop(pid, 1.0);
	rc = spawn_reap(pid, &status);
	snprintf(out, cap, "%s", keep);
	return rc != 0 ? -rc : status;
}

/* Fills the placeholders of a configuration only checked, never run. */
static void placeholders(struct dnsdist_conf *c, char *key, size_t keycap)
{
	if (!c->listen)
		c->listen = "127.0.0.1:53";
	if (!c->webserver)
		c->webserver = "127.0.0.1:8083";
	if (!c->api_key) {
		snprintf(key, keycap, "check");
		c->api_key = key;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!c->b[i].address[0]) /* a farm member's port is known at start only */
			snprintf(c->b[i].address, sizeof c->b[i].address, "127.0.0.1:9");
}

static int check_file(char *bin, char *path, char *err, size_t errlen)
{
	char out[OUT_KEEP], msg[1024];
	char *argv[] = { bin, "--check-config", "-C", path, NULL };
	int st = run_capture(argv, out, sizeof out, START_WAIT_S);
	if (st < 0) {
		snprintf(err, errlen, "cannot run %s --check-config: %s", bin, strerror(-st));
		return st;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	dnsdist_config_error(out, msg, sizeof msg);
	snprintf(err, errlen, "dnsdist refuses the configuration: %s", msg[0] ? msg : "(no message)");
	return -EINVAL;
}

int vip_dnsdist_check(const struct dnsdist_conf *conf, char *err, size_t errlen)
{
	char bin[1024], key[16], dir[256] = "", path[300] = "";
	char *text = NULL;
	struct dnsdist_conf c = *conf;
	int rc = vip_dnsdist_binary(bin, sizeof bin, err, errlen);
	if (rc != 0)
		return rc;
	placeholders(&c, key, sizeof key);
	rc = dnsdist_conf_text(&c, &text);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write dnsdist's configuration: %s", strerror(-rc));
		goto out;
	}
	rc = write_conf(text, dir, sizeof dir, path, sizeof path);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write dnsdist's configuration in %s: %s", dir,
			 strerror(-rc));
		goto out;
	}
	rc = check_file(bin, path, err, errlen);
out:
	remove_conf(dir, path);
	free(text);
	return rc;
}

/* ---- on the loop ---- */

static void on_output(evutil_socket_t fd, short what, void *arg)
{
	struct vip_dnsdist *d = arg;
	(void)what;
	if (!drain(fd, d->out, &d->out_len))
		event_del(d->out_ev); /* EOF: it ended, or closed its output; the poll sees which */
}

/* The last line of its output, for messages. */
static const char *last_words(struct vip_dnsdist *d, char *buf, size_t cap)
{
	size_t n = d->out_len;
	while (n && (d->out[n - 1] == '\n' || d->out[n - 1] == '\r'))
		n--;
	size_t s = n;
	while (s && d->out[s - 1] != '\n')
		s--;
	snprintf(buf, cap, "%.*s", (int)(n - s), d->out + s);
	return buf[0] ? buf : "(no output)";
}

static void ended(struct vip_dnsdist *d)
{
	char w[512];
	drain(d->out_fd, d->out, &d->out_len);
	env_fail(d->env, "%s: vip '%s': dnsdist ended during the run; its last words: %s", d->where,
		 d->name, last_words(d, w, sizeof w));
}

/* count: the consecutive checks that made it (rise or fall), 0 when not known. */
static void line_health(struct vip_dnsdist *d, int i, bool up, const char *reason, unsigned count)
{
	struct history *h = env_history(d->env);
	const char *member = d->conf.b[i].member;
	if (h) {
		history_begin(h, env_now(d->env), "health");
		history_str(h, "vip", d->name);
		history_str(h, "backend", member);
		history_str(h, "event", up ? "up" : "down");
		history_str(h, "reason", reason);
		if (count)
			history_uint(h, "count", count);
		history_bool(h, "dnsdist", true);
		history_end(h);
	}
	env_say(d->env, "%s: dnsdist has %s %s (%s)", d->name, member, up ? "up" : "down", reason);
}

static void line_stats(struct vip_dnsdist *d, int i, const struct dnsdist_server *s)
{
	struct history *h = env_history(d->env);
	if (!h)
		return;
	history_begin(h, env_now(d->env), "backend_stats");
	history_str(h, "vip", d->name);
	history_str(h, "backend", d->conf.b[i].member);
	history_uint(h, "queries", s->queries);
	history_uint(h, "new_queries", s->queries >= d->queries[i] ? s->queries - d->queries[i] : 0);
	history_uint(h, "responses", s->responses);
	history_uint(h, "drops", s->reuseds);
	history_uint(h, "send_errors", s->send_errors);
	history_uint(h, "outstanding", s->outstanding);
	history_double(h, "latency_ms", s->latency_ms, 3);
	history_end(h);
	d->queries[i] = s->queries;
}

static bool moved(const struct dnsdist_server *a, const struct dnsdist_server *b)
{
	return a->queries != b->queries || a->responses != b->responses ||
	       a->reuseds != b->reuseds || a->send_errors != b->send_errors ||
	       a->outstanding != b->outstanding;
}

static void take(struct vip_dnsdist *d, const struct dnsdist_server *ss, size_t n)
{
	for (size_t i = 0; i < d->conf.n; i++) {
		const char *want = d->conf.user_file[0] ? d->conf.b[i].server : d->conf.b[i].member;
		const struct dnsdist_server *s = NULL;
		for (size_t k = 0; k < n && !s; k++)
			if (strcmp(ss[k].name, want) == 0)
				s = &ss[k];
		if (!s) {
			env_fail(d->env, "%s: vip '%s': dnsdist's API lists no server named '%s' "
				 "(farm member %s): removed at run time?", d->where, d->name, want,
				 d->conf.b[i].member);
			return;
		}
		if (!d->polled) {
			if (!s->up)
				line_health(d, (int)i, false,
					    s->forced ? "set down by hand in dnsdist, at the first poll"
						      : "down at the first poll of dnsdist's state",
					    0);
		} else if (s->up != d->up[i]) {
			char why[160];
			snprintf(why, sizeof why, "dnsdist marked it %s%s (seen by the poll: at most "
				 "%.1f s late)", s->up ? "up" : "down", s->forced ? " by hand" : "",
				 VIP_DNSDIST_POLL);
			/* a user's file: its rise and fall are not known; by hand: no checks */
			line_health(d, (int)i, s->up, why,
				    d->conf.user_file[0] || s->forced ? 0
				    : s->up			      ? d->conf.rise
								      : d->conf.fall);
		}
		d->up[i] = s->up;
		if (!d->have_last[i] ? s->queries || s->responses || s->reuseds || s->send_errors
				     : moved(s, &d->last[i]))
			line_stats(d, (int)i, s);
		d->last[i] = *s;
		d->have_last[i] = true;
	}
	d->polled = true;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct vip_dnsdist *d = arg;
	struct dnsdist_server ss[DNSDIST_BACKENDS_MAX * 4];
	size_t n = 0;
	d->in_flight = false;
	if (d->stopping)
		return;
	if (!req || evhttp_request_get_response_code(req) != 200) {
		d->failures++;
		if (spawn_ended(d->pid) != 0)
			ended(d);
		else if (d->failures == 20)
			env_say(d->env, "%s: dnsdist's API has not answered for 20 polls (%s)", d->name,
				req ? "an HTTP error" : "no answer");
		return;
	}
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	const char *body = (const char *)evbuffer_pullup(b, -1);
	if (!body || dnsdist_servers_parse(body, len, ss, sizeof ss / sizeof ss[0], &n) != 0) {
		env_fail(d->env, "%s: vip '%s': dnsdist's API answer is not what dnsdist 1.7 sends "
			 "(no servers list)", d->where, d->name);
		return;
	}
	d->failures = 0;
	take(d, ss, n);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct vip_dnsdist *d = arg;
	(void)fd;
	(void)what;
	if (d->in_flight || d->stopping)
		return;
	if (spawn_ended(d->pid) != 0) {
		ended(d);
		event_del(d->poll_ev);
		return;
	}
	struct evhttp_request *req = evhttp_request_new(on_reply, d);
	if (!req)
		return;
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	evhttp_add_header(hd, "Host", d->webserver);
	evhttp_add_header(hd, "X-API-Key", d->api_key);
	if (evhttp_make_request(d->conn, req, EVHTTP_REQ_GET, "/api/v1/servers/localhost") != 0)
		return; /* freed by libevent */
	d->in_flight = true;
}

/* Whether something accepts on 127.0.0.1:port now. */
static bool answers(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	bool ok = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(s);
	return ok;
}

static int launch(struct vip_dnsdist *d, char *bin, char *err, size_t errlen)
{
	char w[512];
	char *argv[] = { bin, "--supervised", "--disable-syslog", "-C", d->path, NULL };
	char **envp = spawn_env_new(NULL, 0);
	if (!envp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = spawn_piped(bin, argv, envp, false, &d->pid, &d->out_fd);
	spawn_env_free(envp);
	if (rc != 0) {
		d->pid = 0;
		snprintf(err, errlen, "cannot start %s: %s", bin, strerror(rc));
		return -rc;
	}
	double deadline = clock_mono() + START_WAIT_S;
	for (;;) {
		drain(d->out_fd, d->out, &d->out_len);
		if (spawn_ended(d->pid) != 0) {
			char msg[1024];
			drain(d->out_fd, d->out, &d->out_len);
			dnsdist_config_error(d->out, msg, sizeof msg);
			snprintf(err, errlen, "dnsdist ended as it started: %s", msg[0] ? msg : "(no output)");
			return -ECHILD;
		}
		if (answers(d->web_port))
			return 0;
		/* The loop runs meanwhile: farm resolvers answer dnsdist's first checks (and
		 * those of a dnsdist VIP started before), which a blocked loop would fail. */
		event_base_loop(env_base(d->env), EVLOOP_NONBLOCK);
		if (clock_mono() > deadline) {
			snprintf(err, errlen, "dnsdist did not answer on its webserver %s within %g s; "
				 "its last words: %s", d->webserver, START_WAIT_S,
				 last_words(d, w, sizeof w));
			return -ETIMEDOUT;
		}
		nap(0.02);
	}
}

struct vip_dnsdist *vip_dnsdist_start(struct run_env *env, const char *name, const char *where,
				      struct addr *addr, const struct dnsdist_conf *c, char *err,
				      size_t errlen)
{
	char bin[1024];
	char *text = NULL;
	uint8_t rnd[12];
	struct vip_dnsdist *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->env = env;
	d->out_fd = -1;
	snprintf(d->name, sizeof d->name, "%s", name);
	snprintf(d->where, sizeof d->where, "%s", where && where[0] ? where : "s:vip");
	d->conf = *c;
	for (size_t i = 0; i < DNSDIST_BACKENDS_MAX; i++)
		d->up[i] = true;
	if (vip_dnsdist_binary(bin, sizeof bin, err, errlen) != 0)
		goto fail;
	if (addr_port(addr) == 0) {
		uint16_t p = free_port(addr);
		if (!p) {
			snprintf(err, errlen, "no free port for dnsdist on its address");
			goto fail;
		}
		addr_set_port(addr, p);
	}
	struct addr lo;
	char e2[128];
	if (addr_parse("127.0.0.1", 0, &lo, e2, sizeof e2) != 0 || !(d->web_port = free_port(&lo))) {
		snprintf(err, errlen, "no free loopback port for dnsdist's webserver");
		goto fail;
	}
	addr_str(addr, d->listen, sizeof d->listen);
	snprintf(d->webserver, sizeof d->webserver, "127.0.0.1:%u", (unsigned)d->web_port);
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		snprintf(err, errlen, "no random bytes for the API key: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(d->api_key + 2 * i, 3, "%02x", rnd[i]);
	d->conf.listen = d->listen;
	d->conf.webserver = d->webserver;
	d->conf.api_key = d->api_key;
	d->conf.where = d->where;
	int rc = dnsdist_conf_text(&d->conf, &text);
	if (rc == 0)
		rc = write_conf(text, d->dir, sizeof d->dir, d->path, sizeof d->path);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write dnsdist's configuration: %s", strerror(-rc));
		goto fail;
	}
	/* Not checked first (--check-config): a refused configuration ends dnsdist at
	 * once, with the same message, and the loop is not held up twice. */
	if (launch(d, bin, err, errlen) != 0)
		goto fail;
	d->out_ev = event_new(env_base(env), d->out_fd, EV_READ | EV_PERSIST, on_output, d);
	d->poll_ev = event_new(env_base(env), -1, EV_PERSIST, on_poll, d);
	d->conn = evhttp_connection_base_new(env_base(env), NULL, "127.0.0.1", d->web_port);
	if (!d->out_ev || !d->poll_ev || !d->conn) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evhttp_connection_set_timeout(d->conn, 2);
	event_add(d->out_ev, NULL);
	struct timeval tv = { 0, (suseconds_t)(VIP_DNSDIST_POLL * 1e6) };
	event_add(d->poll_ev, &tv);
	on_poll(-1, 0, d); /* the first poll now: the initial state */
	free(text);
	return d;
fail:
	free(text);
	vip_dnsdist_stop(d);
	return NULL;
}

bool vip_dnsdist_backend_up(const struct vip_dnsdist *d, int i)
{
	return d->up[i];
}

void vip_dnsdist_stop(struct vip_dnsdist *d)
{
	if (!d)
		return;
	d->stopping = true;
	if (d->poll_ev)
		event_free(d->poll_ev);
	if (d->conn)
		evhttp_connection_free(d->conn); /* a request in flight is freed, no callback */
	if (d->out_ev)
		event_free(d->out_ev);
	if (d->pid > 0) {
		int st;
		if (spawn_ended(d->pid) == 0)
			spawn_stop(d->pid, 3.0);
		spawn_reap(d->pid, &st);
	}
	if (d->out_fd >= 0)
		close(d->out_fd);
	remove_conf(d->dir, d->path);
	free(d);
}
