/*
 * exec.c - an external command per lookup (dig, kdig, getent, a script), on
 * worker threads.
 *
 * Options (client_config):
 *   argv       the command, run with a PATH search and no shell. In
 *              every argument {name} {server} {port} {type} {source} are
 *              replaced: the lookup's name, the target's address (no port, no
 *              brackets), the target's port, the type asked ("A", "AAAA",
 *              "SOA", ... or "TYPE65"), the source address (127.0.0.1 when
 *              none is set: the command binds it only if told, e.g. dig -b).
 *   timeout_s  the time limit of one run (negative: 5 s). At the limit all
 *              the command started is killed (spawn_stop, spawn_reap).
 *   qtype      only through {type}. Every other option is the command's own.
 *   env        "NAME", "value" pairs (nenv of them) added to its environment.
 *   In the sandbox (harness/sandbox.h), when every target is on port 53:
 *   the command sees a resolv.conf of the client's own as /etc/resolv.conf
 *   (exec_resolv_conf: a nameserver line per target, in order, and search,
 *   ndots, resolv_timeout as timeout:, attempts, rotate, edns0,
 *   single_request as single-request), bound by its guardian in a mount
 *   namespace of its own (spawn_piped_resolv). Unmodified programs
 *   (getent, python, curl) then ask the farm.
 *
 * The environment is minimal (harness/spawn.h, spawn_env_new, as for the
 * health checker's exec check): PATH, DNSCHAOS_CLIENT, DNSCHAOS_SERVER,
 * DNSCHAOS_PORT, DNSCHAOS_NAME, DNSCHAOS_TYPE, DNSCHAOS_SOURCE (the words
 * above, and the client's name), then env. Nothing else of the harness's
 * environment: the output goes into the history and reports, and a token
 * there would be copied into CI artifacts.
 *
 * The child runs in its own process group with stdin empty (a pipe with no
 * writer), stdout and stderr into one pipe, no other descriptor of ours, the
 * signal mask emptied, every signal at its default action, under a guardian
 * that kills all the command started when the harness dies, even by SIGKILL
 * (harness/spawn.h, shared with the health checker's exec check; the pid
 * here is the guardian's, whose wait status is the command's). The pipe is
 * read in slices of EXEC_SLICE_MS so that a run's end (client_stopping) is
 * noticed within about that long; what the command writes beyond
 * EXEC_CAPTURE_MAX is read and dropped so it never blocks. When the command
 * exits, what it left running (a background child still holding the pipe)
 * is killed, by its guardian and by the group kill here; at the time limit
 * or the run's end, the guardian is asked to kill all the command started
 * (spawn_stop), then the group is; the guardian is always reaped.
 *
 * Outcome (exec_classify, no I/O):
 *   exit 0 and "status: X" in the output (dig without +short) with X not
 *     NOERROR: LOOKUP_FAIL, the rcode's reason, lk->rcode, error X
 *   exit 0 and address tokens (whitespace-separated, anything inet_pton
 *     reads: dig +short, kdig +short, getent ahosts): LOOKUP_OK
 *   exit 0 and none: LOOKUP_FAIL/nodata "no address in output". dig +short
 *     prints nothing and exits 0 on NXDOMAIN too: it cannot tell NXDOMAIN
 *     from NODATA; ask with "dig +noall +comments" to get the status line.
 *   exit N != 0: error "exit N" and, from the output, NXDOMAIN, SERVFAIL,
 *     REFUSED, or a timeout ("timed out", "no servers could be reached",
 *     "response timeout"); else exit 9 (dig: no reply from server) is a
 *     timeout; else error (getent's exit 2 too: "key not found" is its word
 *     for NXDOMAIN and for no server answering alike, so it is no NXDOMAIN).
 *     Timeouts are LOOKUP_TIMEOUT, the rest LOOKUP_FAIL.
 *   killed by a signal not ours: LOOKUP_FAIL/error "signal N", exit 128+N
 *   killed at the limit: LOOKUP_TIMEOUT "killed after N s", exit_status -1
 *   cannot spawn: LOOKUP_FAIL/error "cannot run X: reason", exit_status 127
 *   its exit status lost (something else in the process reaped it: a
 *     waitpid(-1), SIGCHLD ignored): LOOKUP_FAIL/error "exit status lost:
 *     reason", exit_status -1
 * lk->output gets the output, trimmed and cut to fit, newlines kept.
 */
#include "harness/clients/client.h"
#include "fakeresolver/clock.h"
#include "harness/sandbox.h"
#include "harness/spawn.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>

#define EXEC_CAPTURE_MAX     8192
#define EXEC_SLICE_MS        50
#define EXEC_READS_MAX       16
#define EXEC_DEFAULT_LIMIT_S 5.0
#define EXEC_STOP_WAIT_S     2.0 /* a stopped command's guardian sweeps within this (1 s + margin) */

#define EXEC_RESOLV_MAX 2048

struct exec_worker {
	unsigned runs;
	char *resolv; /* the command's resolv.conf in the sandbox; NULL: the sandbox's (or the host's) */
};

struct exec_subst {
	const char *key;
	const char *val;
};

static const char *type_name(uint16_t t, char *buf, size_t cap)
{
	static const struct {
		uint16_t t;
		const char *s;
	} names[] = {
	        {1, "A"},      {2, "NS"},      {5, "CNAME"},  {6, "SOA"},    {12, "PTR"},
	        {13, "HINFO"}, {15, "MX"},     {16, "TXT"},   {28, "AAAA"},  {33, "SRV"},
	        {35, "NAPTR"}, {39, "DNAME"},  {43, "DS"},    {44, "SSHFP"}, {46, "RRSIG"},
	        {47, "NSEC"},  {48, "DNSKEY"}, {50, "NSEC3"}, {52, "TLSA"},  {64, "SVCB"},
	        {65, "HTTPS"}, {251, "IXFR"},  {252, "AXFR"}, {255, "ANY"},  {257, "CAA"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].t == t)
			return names[i].s;
	snprintf(buf, cap, "TYPE%u", (unsigned)t); /* RFC 3597, which dig reads */
	return buf;
}

static const char *addr_text(const struct addr *a, char *buf, size_t cap)
{
	const void *p = NULL;
	if (a->ss.ss_family == AF_INET)
		p = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	else if (a->ss.ss_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	if (!p || !inet_ntop(a->ss.ss_family, p, buf, (socklen_t)cap))
		snprintf(buf, cap, "%s", "");
	return buf;
}

/* Replaces every {key} of subs in tmpl; returns a new string or NULL (out of memory). */
static char *expand(const char *tmpl, const struct exec_subst *subs, size_t nsubs)
{
	char *out = NULL;
	size_t len = 0;

	/* Two passes: measure, then write. */
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		for (const char *p = tmpl; *p;) {
			const struct exec_subst *hit = NULL;
			if (*p == '{')
				for (size_t i = 0; i < nsubs && !hit; i++)
					if (strncmp(p, subs[i].key, strlen(subs[i].key)) == 0)
						hit = &subs[i];
			if (hit) {
				size_t vl = strlen(hit->val);
				if (out)
					memcpy(out + n, hit->val, vl);
				n += vl;
				p += strlen(hit->key);
			} else {
				if (out)
					out[n] = *p;
				n++;
				p++;
			}
		}
		if (out) {
			out[n] = '\0';
			break;
		}
		len = n;
		out = malloc(len + 1);
		if (!out)
			return NULL;
	}
	return out;
}

static void free_argv(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* What a lookup's command is told: {name} {server} {port} {type} {source}. */
struct exec_words {
	char server[INET6_ADDRSTRLEN], source[INET6_ADDRSTRLEN], port[8], tbuf[16];
	struct exec_subst subs[5];
};

static void exec_words_fill(struct exec_words *w, const struct client_config *cfg,
                            const struct lookup *lk)
{
	snprintf(w->port, sizeof w->port, "%u", (unsigned)addr_port(&cfg->target));
	addr_text(&cfg->target, w->server, sizeof w->server);
	if (cfg->source.ss.ss_family)
		addr_text(&cfg->source, w->source, sizeof w->source);
	else
		snprintf(w->source, sizeof w->source, "%s", "127.0.0.1");
	w->subs[0] = (struct exec_subst){"{name}", lk->name};
	w->subs[1] = (struct exec_subst){"{server}", w->server};
	w->subs[2] = (struct exec_subst){"{port}", w->port};
	w->subs[3] = (struct exec_subst){"{type}", type_name(lk->qtype, w->tbuf, sizeof w->tbuf)};
	w->subs[4] = (struct exec_subst){"{source}", w->source};
}

static char **build_argv(const struct client_config *cfg, const struct exec_words *w)
{
	char **argv = calloc(cfg->argc + 1, sizeof *argv);

	if (!argv)
		return NULL;
	for (size_t i = 0; i < cfg->argc; i++) {
		argv[i] = expand(cfg->argv[i], w->subs, sizeof w->subs / sizeof w->subs[0]);
		if (!argv[i]) {
			free_argv(argv);
			return NULL;
		}
	}
	return argv;
}

/*
 * The command's environment: PATH, the DNSCHAOS_* words of the lookup, then
 * the scenario's env = {...} (spawn_env_new: nothing else of ours).
 */
static char **build_env(const struct client_config *cfg, const struct exec_words *w)
{
	const char *pairs[2 * (6 + CLIENT_ENV_MAX)];
	size_t n = 0;

	const char *const mine[] = {
	        "DNSCHAOS_CLIENT", cfg->name,       "DNSCHAOS_SERVER", w->server,
	        "DNSCHAOS_PORT",   w->port,         "DNSCHAOS_NAME",   w->subs[0].val,
	        "DNSCHAOS_TYPE",   w->subs[3].val,  "DNSCHAOS_SOURCE", w->source,
	};
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		pairs[n++] = mine[i];
	for (size_t i = 0; i < 2 * cfg->nenv && i < 2 * CLIENT_ENV_MAX; i++)
		pairs[n++] = cfg->env[i];
	return spawn_env_new(pairs, n / 2);
}

/* The part after the last '/'. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int rcode_of(const char *word, size_t len)
{
	static const char *const names[] = {"NOERROR",  "FORMERR", "SERVFAIL",
	                                    "NXDOMAIN", "NOTIMP",  "REFUSED"};
	for (int i = 0; i < 6; i++)
		if (strlen(names[i]) == len && strncmp(word, names[i], len) == 0)
			return i;
	return -1;
}

/* The rcode of dig's header line (";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN"), or -1. */
static int status_line_rcode(const char *out)
{
	const char *p = strstr(out, "status: ");
	if (!p)
		return -1;
	p += strlen("status: ");
	size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	return rcode_of(p, n);
}

/* Adds every whitespace-separated token that is an address; returns how many were. */
static size_t add_address_tokens(struct lookup *lk, const char *out)
{
	char tok[64];
	size_t found = 0;
	const char *p = out;

	while (*p) {
		p += strspn(p, " \t\r\n");
		size_t n = strcspn(p, " \t\r\n");
		if (n > 0 && n < sizeof tok) {
			memcpy(tok, p, n);
			tok[n] = '\0';
			if (lookup_add_addr_text(lk, tok))
				found++;
		}
		p += n;
	}
	return found;
}

/* How the run ended, as exec_classify sees it. */
enum exec_end { EXEC_EXITED, EXEC_SIGNALED, EXEC_KILLED_AT_LIMIT, EXEC_STOPPED, EXEC_LOST };

/*
 * Fills the outcome from how the command ended and what it wrote (out is
 * the whole capture, NUL-terminated). code: the exit code, the signal, or
 * for EXEC_LOST the errno value. No I/O.
 */
static void exec_classify(struct lookup *lk, const char *prog, enum exec_end end, int code,
                          double limit_s, const char *out)
{
	char err[48];

	switch (end) {
	case EXEC_STOPPED:
		lk->exit_status = -1;
		lookup_fail(lk, LOOKUP_CANCELLED, REASON_NONE, "stopped");
		return;
	case EXEC_KILLED_AT_LIMIT:
		lk->exit_status = -1;
		snprintf(err, sizeof err, "killed after %g s", limit_s);
		lookup_fail(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, err);
		return;
	case EXEC_LOST:
		lk->exit_status = -1;
		snprintf(err, sizeof err, "exit status lost: %s", strerror(code));
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, err);
		return;
	case EXEC_SIGNALED:
		lk->exit_status = 128 + code;
		snprintf(err, sizeof err, "signal %d", code);
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, err);
		return;
	case EXEC_EXITED:
		break;
	}

	lk->exit_status = code;
	int rcode = status_line_rcode(out);
	if (rcode >= 0)
		lk->rcode = rcode;
	if (code == 0) {
		if (rcode > 0) {
			static const char *const names[] = {"NOERROR",  "FORMERR", "SERVFAIL",
			                                    "NXDOMAIN", "NOTIMP",  "REFUSED"};
			lookup_fail(lk, LOOKUP_FAIL, lookup_reason_for_rcode(rcode), names[rcode]);
			return;
		}
		if (add_address_tokens(lk, out) == 0)
			lookup_fail(lk, LOOKUP_FAIL, REASON_NODATA, "no address in output");
		return;
	}

	snprintf(err, sizeof err, "exit %d", code);
	if (strstr(out, "NXDOMAIN"))
		lookup_fail(lk, LOOKUP_FAIL, REASON_NXDOMAIN, err);
	else if (strstr(out, "SERVFAIL"))
		lookup_fail(lk, LOOKUP_FAIL, REASON_SERVFAIL, err);
	else if (strstr(out, "REFUSED"))
		lookup_fail(lk, LOOKUP_FAIL, REASON_REFUSED, err);
	else if (strstr(out, "timed out") || strstr(out, "no servers could be reached") ||
	         strstr(out, "response timeout") || code == 9)
		lookup_fail(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, err);
	else if (code == 2 && strcmp(base_name(prog), "getent") == 0)
		/* getaddrinfo's EAI_NONAME and EAI_AGAIN both end in exit 2: an
		 * NXDOMAIN claimed here made a VIP's closed port a wrong answer */
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, "exit 2 (getent: not found, or no answer)");
	else
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, err);
}

/* The output buffer of one run: the first EXEC_CAPTURE_MAX octets are kept. */
struct capture {
	char buf[EXEC_CAPTURE_MAX + 1];
	size_t len;
	bool cut; /* more came than was kept */
};

enum capture_state { CAPTURE_EMPTY, CAPTURE_MORE, CAPTURE_END };

/*
 * Reads what the pipe has now, at most EXEC_READS_MAX reads so that a
 * command that never stops writing cannot hold the caller past its limit.
 * CAPTURE_END at end of file or on an error.
 */
static enum capture_state capture_read(struct capture *cap, int fd)
{
	char tmp[4096];

	for (int i = 0; i < EXEC_READS_MAX; i++) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n > 0) {
			size_t room = EXEC_CAPTURE_MAX - cap->len;
			size_t keep = (size_t)n < room ? (size_t)n : room;
			memcpy(cap->buf + cap->len, tmp, keep);
			cap->len += keep;
			if (keep < (size_t)n)
				cap->cut = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return CAPTURE_EMPTY;
		return CAPTURE_END;
	}
	return CAPTURE_MORE;
}

/* NUL-terminates the capture; when it was cut, drops the partial last token. */
static void capture_finish(struct capture *cap)
{
	cap->buf[cap->len] = '\0';
	if (cap->cut) {
		char *ws = NULL;
		for (char *p = cap->buf; *p; p++)
			if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				ws = p;
		if (ws)
			*ws = '\0';
	}
}

static void set_output(struct lookup *lk, const char *out)
{
	const char *ws = " \t\r\n";
	out += strspn(out, ws);
	size_t n = strlen(out);
	while (n > 0 && strchr(ws, out[n - 1]))
		n--;
	if (n > sizeof lk->output - 1)
		n = sizeof lk->output - 1;
	memcpy(lk->output, out, n);
	lk->output[n] = '\0';
}

static void exec_resolve(struct client *c, void *tstate, struct lookup *lk)
{
	const struct client_config *cfg = client_cfg(c);
	struct exec_worker *w = tstate;
	double limit = cfg->timeout_s < 0 ? EXEC_DEFAULT_LIMIT_S : cfg->timeout_s;
	struct capture *cap = NULL;
	struct exec_words words;
	char **argv = NULL, **envp = NULL;
	int pfd = -1;
	pid_t pid = -1;
	enum exec_end end = EXEC_EXITED;
	int code = 0;

	if (cfg->argc == 0 || !cfg->argv[0]) {
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, "no command");
		return;
	}
	if (client_stopping(c)) {
		exec_classify(lk, cfg->argv[0], EXEC_STOPPED, 0, limit, "");
		return;
	}
	cap = calloc(1, sizeof *cap);
	exec_words_fill(&words, cfg, lk);
	argv = build_argv(cfg, &words);
	envp = build_env(cfg, &words);
	if (!cap || !argv || !envp) {
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, "out of memory");
		goto out;
	}
	int spawn_err = spawn_piped_resolv(argv[0], argv, envp, true, w ? w->resolv : NULL, &pid,
	                                   &pfd);
	if (spawn_err != 0) {
		snprintf(cap->buf, sizeof cap->buf, "cannot run %s: %s", argv[0],
		         strerror(spawn_err));
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, cap->buf); /* cut to fit */
		lk->exit_status = 127; /* as a shell says "not found" */
		set_output(lk, cap->buf);
		goto out;
	}
	if (w)
		w->runs++;

	double deadline = client_clock(c) + limit;
	bool open = true;
	for (;;) {
		int ended = spawn_ended(pid);
		if (ended < 0) {
			end = EXEC_LOST;
			code = -ended;
			break;
		}
		if (ended)
			break;
		if (client_stopping(c)) {
			end = EXEC_STOPPED;
			break;
		}
		double left = deadline - client_clock(c);
		if (left <= 0) {
			end = EXEC_KILLED_AT_LIMIT;
			break;
		}
		int ms = left * 1000 < EXEC_SLICE_MS ? (int)(left * 1000) + 1 : EXEC_SLICE_MS;
		/* After end of file the child may still run: wait without the pipe. */
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		if (poll(&p, open ? 1 : 0, ms) > 0)
			open = capture_read(cap, pfd) != CAPTURE_END;
	}
	/*
	 * Kill what is left of its group and reap it; when it is not done, its
	 * guardian first sweeps all it started (spawn_stop: what left the group
	 * too). Not when reaped already: its pid and group id may be someone
	 * else's by now.
	 */
	int status = 0;
	if (end != EXEC_LOST) {
		if (end != EXEC_EXITED) /* all it started, even what left the group */
			spawn_stop(pid, EXEC_STOP_WAIT_S);
		int err = spawn_reap(pid, &status);
		if (err != 0 && end == EXEC_EXITED) {
			end = EXEC_LOST;
			code = err;
		}
	}
	/* What the child wrote before it ended (a pipe holds 64 KiB by default). */
	for (int i = 0; open && i < 64; i++)
		if (capture_read(cap, pfd) != CAPTURE_MORE)
			break;
	capture_finish(cap);
	if (end == EXEC_EXITED) {
		if (WIFEXITED(status)) {
			code = WEXITSTATUS(status);
		} else if (WIFSIGNALED(status)) {
			end = EXEC_SIGNALED;
			code = WTERMSIG(status);
		}
	}
	exec_classify(lk, argv[0], end, code, limit, cap->buf);
	set_output(lk, cap->buf);
out:
	if (pfd >= 0)
		close(pfd);
	free_argv(argv);
	spawn_env_free(envp);
	free(cap);
}

/*
 * The client's resolv.conf into out (cap octets): its targets as
 * nameservers, in order, then its options. -1 when a target is not on port
 * 53 (a resolv.conf cannot name a port) or it does not fit. No I/O.
 */
static int exec_resolv_conf(const struct client_config *cfg, char *out, size_t cap)
{
	size_t n = 0;
	char ip[INET6_ADDRSTRLEN];
	int w;

#define PUT(...)                                                        \
	do {                                                            \
		w = snprintf(out + n, cap - n, __VA_ARGS__);            \
		if (w < 0 || (size_t)w >= cap - n)                      \
			return -1;                                      \
		n += (size_t)w;                                         \
	} while (0)
	PUT("# dnschaos: the resolv.conf of client %s\n", cfg->name);
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct addr *a = cfg->target_refs[i] ? cfg->target_refs[i] : &cfg->targets[i];
		if (addr_port(a) != 53)
			return -1;
		PUT("nameserver %s\n", addr_text(a, ip, sizeof ip));
	}
	if (cfg->nsearch) {
		PUT("search");
		for (size_t i = 0; i < cfg->nsearch; i++)
			PUT(" %s", cfg->search[i]);
		PUT("\n");
	}
	PUT("options");
	size_t bare = n;
	if (cfg->ndots >= 0)
		PUT(" ndots:%d", cfg->ndots);
	if (cfg->resolv_timeout > 0)
		PUT(" timeout:%d", cfg->resolv_timeout);
	if (cfg->attempts > 0)
		PUT(" attempts:%d", cfg->attempts);
	if (cfg->rotate > 0)
		PUT(" rotate");
	if (cfg->edns0 > 0)
		PUT(" edns0");
	if (cfg->single_request > 0)
		PUT(" single-request");
	if (n == bare) {
		n -= strlen("options");
		out[n] = '\0';
	} else {
		PUT("\n");
	}
#undef PUT
	return 0;
}

static void *exec_thread_open(struct client *c, char *err, size_t errlen)
{
	const struct client_config *cfg = client_cfg(c);
	struct exec_worker *w;

	if (cfg->argc == 0 || !cfg->argv[0] || !cfg->argv[0][0]) {
		snprintf(err, errlen, "exec: no command given (argv is empty)");
		return NULL;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "exec: out of memory");
		return NULL;
	}
	if (sandbox_ns_active()) {
		w->resolv = malloc(EXEC_RESOLV_MAX);
		if (!w->resolv) {
			free(w);
			snprintf(err, errlen, "exec: out of memory");
			return NULL;
		}
		/* A target off port 53: the command uses {server}/{port} (lua/client.c checked). */
		if (exec_resolv_conf(cfg, w->resolv, EXEC_RESOLV_MAX) != 0) {
			free(w->resolv);
			w->resolv = NULL;
		}
	}
	return w;
}

static void exec_thread_close(void *tstate)
{
	struct exec_worker *w = tstate;
	if (w)
		free(w->resolv);
	free(w);
}

static const char *exec_version(void)
{
	return "exec";
}

const struct client_driver client_exec_driver = {
        .stack = CLIENT_EXEC,
        .threaded = true,
        .thread_open = exec_thread_open,
        .thread_close = exec_thread_close,
        .resolve = exec_resolve,
        .version = exec_version,
};
