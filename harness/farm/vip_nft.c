#define _GNU_SOURCE /* SOCK_CLOEXEC */
/*
 * vip_nft.c (farm) - the VIP of kind "nftables": kernel DNAT and conntrack
 * in a private network namespace, membership written into the kernel by
 * nft batches run through spawn.c (see vip_nft.h).
 *
 * Why asynchronous: a membership change comes from a health checker on the
 * loop; nft takes a few milliseconds (more on a loaded machine), conntrack
 * -D as long as the table is big. One command runs at a time, polled on a
 * timer; changes that come meanwhile are gathered into the next batch, which
 * always writes the latest membership. Start (before the loop serves
 * anything) and teardown wait for nft instead: there is nothing to keep
 * moving then, and the table must exist before the clients start.
 */
#include "harness/farm/vip_nft.h"
#include "fakeresolver/clock.h"
#include "harness/env.h"
#include "harness/record/history.h"
#include "harness/spawn.h"


#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define NFT_WAIT_S 10.0      /* start and teardown: the longest wait for nft */
#define NFT_POLL_FIRST 0.002 /* the first look at a running command */
#define NFT_POLL_MAX 0.05
#define NFT_OUT_MAX 4096

/* A membership line waiting for the kernel. */
struct pending {
	int backend;
	char event[8];
	char reason[160];
	unsigned count;
	double decided; /* run seconds */
};

enum job { JOB_NONE, JOB_MAP, JOB_FLUSH };

struct vip_nft {
	struct run_env *env;
	char name[64];
	char where[256];
	char table[64];
	struct nft_vip spec;
	char names[VIP_BACKENDS_MAX][64];
	bool flush;
	unsigned idle;
	bool want[VIP_BACKENDS_MAX];   /* what the health checks and the operator say */
	bool kernel[VIP_BACKENDS_MAX]; /* what the kernel's map holds */
	bool flush_due[VIP_BACKENDS_MAX];
	double flush_decided[VIP_BACKENDS_MAX];
	struct pending *q;
	size_t nq, capq;
	/* the command running */
	enum job job;
	pid_t pid;
	int fd;
	struct event *poll_ev;
	double poll_delay;
	char out[NFT_OUT_MAX];
	size_t outlen;
	bool job_want[VIP_BACKENDS_MAX];
	size_t job_nq;  /* lines of q the batch carries */
	int job_backend;
	/* the port, reserved */
	int udp_fd, tcp_fd;
	/* the sysctls as found, put back at the end (-1: not set) */
	long sysctl_old[2];
	bool started;
};

static const char *const sysctls[2] = {
	"/proc/sys/net/netfilter/nf_conntrack_udp_timeout",
	"/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream",
};

struct vip_nft *vip_nft_create(struct run_env *env, const char *name, const char *where,
			       const struct nft_vip *spec, const char *const *names, bool flush,
			       unsigned flow_idle_s, const bool *member)
{
	if (!spec || spec->n == 0 || spec->n > VIP_BACKENDS_MAX)
		return NULL;
	struct vip_nft *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->env = env;
	snprintf(n->name, sizeof n->name, "%s", name);
	snprintf(n->where, sizeof n->where, "%s", where ? where : "");
	n->spec = *spec;
	for (size_t i = 0; i < spec->n; i++)
		snprintf(n->names[i], sizeof n->names[i], "%s", names[i]);
	n->flush = flush;
	n->idle = flow_idle_s;
	memcpy(n->want, member, spec->n * sizeof *member);
	n->pid = -1;
	n->fd = n->udp_fd = n->tcp_fd = -1;
	n->sysctl_old[0] = n->sysctl_old[1] = -1;
	return n;
}

const struct addr *vip_nft_addr(const struct vip_nft *n)
{
	return &n->spec.vip;
}

bool vip_nft_up(const struct vip_nft *n, int i)
{
	return i >= 0 && (size_t)i < n->spec.n && n->kernel[i];
}

const struct addr *vip_nft_alias(const struct vip_nft *n, const struct addr *dst)
{
	if (!n->started)
		return NULL;
	for (size_t i = 0; i < n->spec.n; i++)
		if (addr_same_host(&n->spec.backend[i], dst) &&
		    addr_port(&n->spec.backend[i]) == addr_port(dst))
			return &n->spec.vip;
	return NULL;
}

int vip_nft_private_netns(char *why, size_t cap)
{
	struct if_nameindex *ifs = if_nameindex();
	size_t len = 0;
	int rc = 0;
	if (!ifs) {
		snprintf(why, cap, "cannot list the network interfaces: %s", strerror(errno));
		return -1;
	}
	why[0] = '\0';
	for (struct if_nameindex *p = ifs; p->if_name; p++) {
		if (strcmp(p->if_name, "lo") == 0)
			continue;
		rc = -1;
		int k = snprintf(why + len, cap > len ? cap - len : 0, "%s%s", len ? ", " : "",
				 p->if_name);
		if (k > 0 && len + (size_t)k < cap)
			len += (size_t)k;
	}
	if_freenameindex(ifs);
	return rc;
}

/* ---- commands ---- */

/* Reads what the command wrote so far (non-blocking); past the buffer, dropped. */
static void drain(struct vip_nft *n)
{
	char buf[1024];
	ssize_t k;
	while (n->fd >= 0 && (k = read(n->fd, buf, sizeof buf)) > 0) {
		size_t room = sizeof n->out - 1 - n->outlen;
		size_t take = (size_t)k < room ? (size_t)k : room;
		memcpy(n->out + n->outlen, buf, take);
		n->outlen += take;
		n->out[n->outlen] = '\0';
	}
}

/* Starts nft with the batch as its one argument (no shell meets it), or
 * /bin/sh -c for conntrack's two commands. 0 or an errno value. */
static int run(struct vip_nft *n, bool shell, char *text)
{
	char *const nft_argv[] = { "nft", text, NULL };
	char *const sh_argv[] = { "sh", "-c", text, NULL };
	char **envp = spawn_env_new(NULL, 0);
	int rc;
	if (!envp)
		return ENOMEM;
	n->outlen = 0;
	n->out[0] = '\0';
	rc = shell ? spawn_piped("/bin/sh", sh_argv, envp, false, &n->pid, &n->fd)
		   : spawn_piped("nft", nft_argv, envp, true, &n->pid, &n->fd);
	spawn_env_free(envp);
	return rc;
}

/* Ends the command in flight: its wait status, or -1 when lost. */
static int reap(struct vip_nft *n)
{
	int status = -1;
	drain(n);
	if (spawn_reap(n->pid, &status) != 0)
		status = -1;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->pid = -1;
	return status;
}

/* Waits (blocking, at most NFT_WAIT_S) for the command; its wait status, or -1. */
static int wait_sync(struct vip_nft *n)
{
	struct timespec nap = { 0, 1000000 };
	for (int k = 0; k < (int)(NFT_WAIT_S * 1000) && spawn_ended(n->pid) == 0; k++) {
		drain(n);
		nanosleep(&nap, NULL);
	}
	if (spawn_ended(n->pid) == 0)
		spawn_stop(n->pid, 1.0);
	return reap(n);
}

/* The command's output on one line, for messages. */
static const char *out_line(struct vip_nft *n)
{
	for (char *p = n->out; *p; p++)
		if (*p == '\n')
			*p = ' ';
	size_t l = strlen(n->out);
	while (l && n->out[l - 1] == ' ')
		n->out[--l] = '\0';
	return n->out[0] ? n->out : "no output";
}

static bool ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void kick(struct vip_nft *n);

/* The membership lines a batch carried, now that the kernel has them. */
static void write_applied(struct vip_nft *n, double now)
{
	struct history *h = env_history(n->env);
	for (size_t k = 0; k < n->job_nq; k++) {
		const struct pending *p = &n->q[k];
		if (h) {
			history_begin(h, now, "health");
			history_str(h, "vip", n->name);
			history_str(h, "backend", n->names[p->backend]);
			history_str(h, "event", p->event);
			history_str(h, "reason", p->reason);
			if (p->count)
				history_uint(h, "count", p->count);
			history_double(h, "kernel_ms", fmax(0, now - p->decided) * 1000, 3);
			history_end(h);
		}
		env_say(n->env, "%s: the kernel's map has %s %s (%.1f ms after the decision)",
			n->name, n->names[p->backend], n->kernel[p->backend] ? "in" : "out",
			(now - p->decided) * 1000);
	}
	memmove(n->q, n->q + n->job_nq, (n->nq - n->job_nq) * sizeof *n->q);
	n->nq -= n->job_nq;
	n->job_nq = 0;
}

static void finish(struct vip_nft *n, int status)
{
	double now = env_now(n->env);
	enum job job = n->job;
	n->job = JOB_NONE;
	if (job == JOB_MAP) {
		if (!ok(status)) {
			env_fail(n->env, "%s: vip '%s': nft could not change its table %s: %s",
				 n->where, n->name, n->table, out_line(n));
			return;
		}
		for (size_t i = 0; i < n->spec.n; i++) {
			if (n->flush && n->kernel[i] && !n->job_want[i])
				n->flush_due[i] = true;
			if (n->job_want[i])
				n->flush_due[i] = false; /* back in before its flush ran */
			n->kernel[i] = n->job_want[i];
		}
		write_applied(n, now);
	} else if (job == JOB_FLUSH) {
		long flows = nft_flush_count(n->out);
		struct history *h = env_history(n->env);
		if (flows < 0) {
			env_fail(n->env, "%s: vip '%s': conntrack could not flush the flows of %s: %s",
				 n->where, n->name, n->names[n->job_backend], out_line(n));
			return;
		}
		if (h) {
			history_begin(h, now, "health");
			history_str(h, "vip", n->name);
			history_str(h, "backend", n->names[n->job_backend]);
			history_str(h, "event", "flushed");
			history_str(h, "reason", "conntrack -D of the flows DNATed to it");
			history_uint(h, "flows", (uint64_t)flows);
			history_end(h);
		}
		env_say(n->env, "%s: flushed %ld flow(s) pinned to %s", n->name, flows,
			n->names[n->job_backend]);
	}
	kick(n);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vip_nft *n = arg;
	(void)fd;
	(void)what;
	drain(n);
	int e = spawn_ended(n->pid);
	if (e == 0) {
		struct timeval tv = clock_timeval(n->poll_delay);
		evtimer_add(n->poll_ev, &tv);
		n->poll_delay = fmin(n->poll_delay * 2, NFT_POLL_MAX);
		return;
	}
	finish(n, e < 0 ? -1 : reap(n));
}

/* Starts the next command if none runs: the latest membership first, then flushes. */
static void kick(struct vip_nft *n)
{
	static char batch[NFT_BATCH_MAX];
	char cmd[512];
	int rc;
	if (n->job != JOB_NONE || !n->started)
		return;
	bool differ = false;
	for (size_t i = 0; i < n->spec.n; i++)
		differ |= n->want[i] != n->kernel[i];
	if (differ || n->nq) {
		if (differ) {
			if ((rc = nft_batch_members(&n->spec, n->want, batch, sizeof batch)) != 0) {
				env_fail(n->env, "%s: vip '%s': cannot write its nft batch: %s",
					 n->where, n->name, strerror(-rc));
				return;
			}
		}
		memcpy(n->job_want, n->want, sizeof n->job_want);
		n->job_nq = n->nq;
		if (!differ) {
			/* A change undone before it ran: the kernel has it already. */
			write_applied(n, env_now(n->env));
			kick(n);
			return;
		}
		n->job = JOB_MAP;
		rc = run(n, false, batch);
	} else {
		size_t i = 0;
		while (i < n->spec.n && !n->flush_due[i])
			i++;
		if (i == n->spec.n)
			return;
		n->flush_due[i] = false;
		if ((rc = nft_flush_command(&n->spec, i, cmd, sizeof cmd)) != 0) {
			env_fail(n->env, "%s: vip '%s': cannot write its conntrack command: %s",
				 n->where, n->name, strerror(-rc));
			return;
		}
		n->job = JOB_FLUSH;
		n->job_backend = (int)i;
		rc = run(n, true, cmd);
	}
	if (rc != 0) {
		n->job = JOB_NONE;
		env_fail(n->env, "%s: vip '%s': cannot run %s: %s", n->where, n->name,
			 n->job_nq ? "nft" : "conntrack", strerror(rc));
		return;
	}
	n->poll_delay = NFT_POLL_FIRST;
	struct timeval tv = clock_timeval(n->poll_delay);
	evtimer_add(n->poll_ev, &tv);
}

void vip_nft_change(struct vip_nft *n, int i, bool up, const char *event, const char *reason,
		    unsigned count)
{
	if (i < 0 || (size_t)i >= n->spec.n)
		return;
	n->want[i] = up;
	if (n->nq == n->capq) {
		size_t cap = n->capq ? n->capq * 2 : 8;
		struct pending *q = realloc(n->q, cap * sizeof *q);
		if (!q) {
			env_fail(n->env, "%s: vip '%s': out of memory", n->where, n->name);
			return;
		}
		n->q = q;
		n->capq = cap;
	}
	struct pending *p = &n->q[n->nq++];
	p->backend = i;
	snprintf(p->event, sizeof p->event, "%s", event);
	snprintf(p->reason, sizeof p->reason, "%s", reason);
	p->count = count;
	p->decided = env_now(n->env);
	kick(n);
}

/* ---- start and stop ---- */

/* Binds UDP and TCP sockets to the VIP's address on one port (the one given,
 * or a free one): nothing else in the run takes it. */
static int reserve(struct vip_nft *n, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 32; attempt++) {
		struct addr a = n->spec.vip;
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (u < 0 || t < 0 || bind(u, (struct sockaddr *)&a.ss, a.len) != 0) {
			snprintf(err, errlen, "cannot bind %s: %s", addr_str(&a, n->out, 64),
				 strerror(errno));
			goto fail;
		}
		socklen_t len = sizeof a.ss;
		getsockname(u, (struct sockaddr *)&a.ss, &len);
		if (bind(t, (struct sockaddr *)&a.ss, a.len) == 0) {
			n->udp_fd = u;
			n->tcp_fd = t;
			n->spec.vip = a;
			return 0;
		}
		if (addr_port(&n->spec.vip) != 0) {
			snprintf(err, errlen, "cannot bind TCP %s: %s", addr_str(&a, n->out, 64),
				 strerror(errno));
			goto fail;
		}
		close(u);
		close(t);
		continue;
	fail:
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		return -1;
	}
	snprintf(err, errlen, "no port free for both UDP and TCP");
	return -1;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	int rc = 0;
	if (!f)
		return errno;
	if (fprintf(f, "%ld\n", v) < 0)
		rc = EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = errno;
	return rc;
}

static void record_start(struct vip_nft *n)
{
	struct history *h = env_history(n->env);
	char buf[80];
	if (!h)
		return;
	history_begin(h, env_now(n->env), "vip");
	history_str(h, "vip", n->name);
	history_str(h, "address", addr_str(&n->spec.vip, buf, sizeof buf));
	history_str(h, "kind", "nftables");
	history_str(h, "policy", nft_policy_name(n->spec.policy));
	history_str(h, "on_down", n->flush ? "flush" : "keep");
	history_str(h, "on_refused", "icmp");
	history_bool(h, "icmp", true);
	history_str(h, "table", n->table);
	history_uint(h, "flow_idle", n->idle);
	history_array_begin(h, "backends");
	for (size_t i = 0; i < n->spec.n; i++)
		history_elem_str(h, n->names[i]);
	history_array_end(h);
	history_end(h);
}

int vip_nft_start(struct vip_nft *n, char *err, size_t errlen)
{
	static char batch[NFT_BATCH_MAX];
	char why[256];
	int rc, status;
	const char *sep = n->where[0] ? ": " : "";
	if (vip_nft_private_netns(why, sizeof why) != 0) {
		snprintf(err, errlen,
			 "%s%svip '%s': kind = 'nftables' changes the kernel's ruleset and runs only "
			 "in a private network namespace (dnschaos run --sandbox, or unshare -r -n); "
			 "this one has %s besides lo: refusing to touch the host's ruleset",
			 n->where, sep, n->name, why);
		return -1;
	}
	if (reserve(n, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s%svip '%s': %s", n->where, sep, n->name, why);
		return -1;
	}
	if ((rc = nft_table_name(&n->spec.vip, n->table, sizeof n->table)) != 0 ||
	    (rc = nft_batch_create(&n->spec, n->want, batch, sizeof batch)) != 0) {
		snprintf(err, errlen, "%s%svip '%s': cannot write its nft batch: %s", n->where, sep,
			 n->name, strerror(-rc));
		return -1;
	}
	n->poll_ev = evtimer_new(env_base(n->env), poll_cb, n);
	if (!n->poll_ev) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = run(n, false, batch)) != 0) {
		snprintf(err, errlen, "%s%svip '%s': cannot run nft: %s", n->where, sep, n->name,
			 strerror(rc));
		return -1;
	}
	status = wait_sync(n);
	if (!ok(status)) {
		snprintf(err, errlen, "%s%svip '%s': nft could not create the table %s: %s",
			 n->where, sep, n->name, n->table, out_line(n));
		return -1;
	}
	n->started = true;
	memcpy(n->kernel, n->want, sizeof n->kernel);
	/* Conntrack's UDP flows expire as the userspace VIP's pins do; the nat
	 * table loaded nf_conntrack, so the files are there now. */
	for (int k = 0; k < 2; k++) {
		long old = read_long(sysctls[k]);
		if (old < 0 || (rc = write_long(sysctls[k], n->idle)) != 0) {
			snprintf(err, errlen, "%s%svip '%s': cannot set %s to %u: %s", n->where, sep,
				 n->name, sysctls[k], n->idle,
				 old < 0 ? "cannot read it" : strerror(rc));
			return -1;
		}
		n->sysctl_old[k] = old;
	}
	record_start(n);
	return 0;
}

void vip_nft_destroy(struct vip_nft *n)
{
	static char batch[256];
	if (!n)
		return;
	if (n->pid > 0) {
		spawn_stop(n->pid, 1.0);
		reap(n);
	}
	if (n->started && nft_batch_delete(&n->spec, batch, sizeof batch) == 0 &&
	    run(n, false, batch) == 0 && !ok(wait_sync(n)))
		fprintf(stderr, "dnschaos: warning: %s%svip '%s': nft could not delete the table "
				"%s: %s\n",
			n->where, n->where[0] ? ": " : "", n->name, n->table, out_line(n));
	for (int k = 0; k < 2; k++)
		if (n->sysctl_old[k] >= 0)
			write_long(sysctls[k], n->sysctl_old[k]);
	if (n->poll_ev)
		event_free(n->poll_ev);
	if (n->udp_fd >= 0)
		close(n->udp_fd);
	if (n->tcp_fd >= 0)
		close(n->tcp_fd);
	free(n->q);
	free(n);
}
