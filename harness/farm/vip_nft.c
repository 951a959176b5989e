#define _GNU_SOURCE /* SOCK_CLOEXEC */
/*
 * vip_nft.c (farm) - the VIP of kind "nftables": kernel DNAT and conntrack
 * in a private network namespace, membership written into the kernel by
 * nft batches run through spawn.c (see vip_nft.h).
 *
 * Why a thread: a membership change comes from a health checker on the
 * loop; nft takes 15 to 30 ms on a loaded 2-core machine, conntrack -D as
 * long as its table is big, and starting a command through spawn.c (fork of
 * a guardian, then exec) held the loop 30 to 40 ms there too. So each VIP
 * has a command thread that starts and waits for one command at a time and
 * tells the loop through a pipe; changes that come meanwhile are gathered
 * into the next batch, which always writes the latest membership. A batch
 * that takes backends out of a flushing VIP runs as one script with their
 * conntrack -D right after nft (nft_map_flush_script): starting a second
 * command would cost as much again. Start
 * (before the loop serves anything) and teardown wait for nft instead:
 * there is nothing to keep moving then, and the table must exist before the
 * clients start.
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
#include <poll.h>
#include <pthread.h>
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
	/* the command running (the loop's side) */
	enum job job;
	bool job_want[VIP_BACKENDS_MAX];
	bool job_flushing[VIP_BACKENDS_MAX]; /* flushed by the same script as the map */
	char script[NFT_BATCH_MAX];
	size_t job_nq;  /* lines of q the batch carries */
	int job_backend;
	/* the port, reserved */
	int udp_fd, tcp_fd;
	/* the sysctls as found, put back at the end (-1: not set) */
	long sysctl_old[2];
	bool started;
	char batch[NFT_BATCH_MAX]; /* the loop's scratch */
	char out[NFT_OUT_MAX];     /* start and teardown's output */
	/* the command thread; under mu: the job handed over and its end */
	pthread_t th;
	bool th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool have_job, job_done, quit, job_shell, job_has_arg;
	int job_status;
	double job_mark;           /* the script's NFT_MAPPED_MARK, run seconds; -1: none */
	char job_text[NFT_BATCH_MAX];
	char job_arg[NFT_BATCH_MAX];
	char job_out[NFT_OUT_MAX];
	int note[2];               /* the thread writes a byte when a command has ended */
	struct event *note_ev;
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
	n->udp_fd = n->tcp_fd = -1;
	n->note[0] = n->note[1] = -1;
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

/* ---- commands, on the VIP's command thread ---- */

/*
 * Runs nft with text as its one argument (no shell meets the batch), or
 * /bin/sh -c text [arg] (conntrack's commands; the map-and-flush script with
 * the batch as its $0), and waits for it, at most
 * NFT_WAIT_S: its output into out (cap bytes, NUL-terminated), its wait
 * status into *status (-1 when it could not run, or its status was lost).
 * Blocks: the command thread's call, or the loop's before it serves
 * (start) and after (teardown). mark_t (or NULL): set to env's time when
 * the output first holds NFT_MAPPED_MARK (env_now is safe off the loop).
 */
static void exec_wait(bool shell, char *text, char *arg, char *out, size_t cap, int *status,
		      struct run_env *env, double *mark_t)
{
	char *const nft_argv[] = { "nft", text, NULL };
	char *const sh_argv[] = { "sh", "-c", text, arg, NULL };
	char **envp = spawn_env_new(NULL, 0);
	size_t len = 0;
	pid_t pid = -1;
	int fd = -1, rc;
	*status = -1;
	out[0] = '\0';
	if (!envp) {
		snprintf(out, cap, "out of memory");
		return;
	}
	rc = shell ? spawn_piped("/bin/sh", sh_argv, envp, false, &pid, &fd)
		   : spawn_piped("nft", nft_argv, envp, true, &pid, &fd);
	spawn_env_free(envp);
	if (rc != 0) {
		snprintf(out, cap, "cannot run %s: %s", shell ? "/bin/sh" : "nft", strerror(rc));
		return;
	}
	/* Its output until EOF (it has exited), or until the time is up. */
	double until = clock_mono() + NFT_WAIT_S;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int left = (int)((until - clock_mono()) * 1000);
		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			spawn_stop(pid, 1.0);
			snprintf(out + len, cap - len, "%stimed out after %.0f s", len ? "; " : "",
				 NFT_WAIT_S);
			break;
		}
		char buf[1024];
		ssize_t k = read(fd, buf, sizeof buf);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			break;
		size_t take = (size_t)k < cap - 1 - len ? (size_t)k : cap - 1 - len;
		memcpy(out + len, buf, take);
		len += take;
		out[len] = '\0';
		/* The moment the map-and-flush script says nft has applied its batch. */
		if (mark_t && *mark_t < 0 && strstr(out, NFT_MAPPED_MARK))
			*mark_t = env_now(env);
	}
	close(fd);
	/* Its guardian relays its status once it has swept: wait for that before
	 * spawn_reap's SIGKILL to the group (1 ms looks, bounded). */
	struct timespec nap = { 0, 1000000 };
	while (spawn_ended(pid) == 0 && clock_mono() < until)
		nanosleep(&nap, NULL);
	if (spawn_ended(pid) == 0)
		spawn_stop(pid, 1.0);
	int st;
	if (spawn_reap(pid, &st) == 0)
		*status = st;
}

/* The command thread: one command at a time, handed over by the loop, its
 * end told back through the note pipe. */
static void *worker(void *arg)
{
	struct vip_nft *n = arg;
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (!n->have_job && !n->quit)
			pthread_cond_wait(&n->cv, &n->mu);
		if (!n->have_job)
			break;
		bool shell = n->job_shell, has_arg = n->job_has_arg;
		pthread_mutex_unlock(&n->mu);
		/* The job's texts and output are the thread's until it says done. */
		int status;
		double mark = -1;
		exec_wait(shell, n->job_text, has_arg ? n->job_arg : NULL, n->job_out, sizeof n->job_out,
			  &status, n->env, &mark);
		pthread_mutex_lock(&n->mu);
		n->job_status = status;
		n->job_mark = mark;
		n->have_job = false;
		n->job_done = true;
		ssize_t w;
		do
			w = write(n->note[1], "x", 1);
		while (w < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/* The job's output on one line, for messages. */
static const char *out_line(char *out)
{
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
	size_t l = strlen(out);
	while (l && out[l - 1] == ' ')
		out[--l] = '\0';
	return out[0] ? out : "no output";
}

static bool ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void kick(struct vip_nft *n);

/* The membership lines a batch carried, now that the kernel has them. */
static void write_applied(struct vip_nft *n, double now, double kernel_t)
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
			history_double(h, "kernel_ms", fmax(0, kernel_t - p->decided) * 1000, 3);
			history_end(h);
		}
		env_say(n->env, "%s: the kernel's map has %s %s (%.1f ms after the decision)",
			n->name, n->names[p->backend], n->kernel[p->backend] ? "in" : "out",
			(kernel_t - p->decided) * 1000);
	}
	memmove(n->q, n->q + n->job_nq, (n->nq - n->job_nq) * sizeof *n->q);
	n->nq -= n->job_nq;
	n->job_nq = 0;
}

/* A `flushed` line for backend i; false (the run failed) when conntrack said nothing. */
static bool write_flushed(struct vip_nft *n, int i, long flows, double now, char *out)
{
	struct history *h = env_history(n->env);
	if (flows < 0) {
		env_fail(n->env, "%s: vip '%s': conntrack could not flush the flows of %s: %s",
			 n->where, n->name, n->names[i], out_line(out));
		return false;
	}
	if (h) {
		history_begin(h, now, "health");
		history_str(h, "vip", n->name);
		history_str(h, "backend", n->names[i]);
		history_str(h, "event", "flushed");
		history_str(h, "reason", "conntrack -D of the flows DNATed to it");
		history_uint(h, "flows", (uint64_t)flows);
		history_end(h);
	}
	env_say(n->env, "%s: flushed %ld flow(s) pinned to %s", n->name, flows, n->names[i]);
	return true;
}

static void finish(struct vip_nft *n, int status, double mark, char *out)
{
	double now = env_now(n->env);
	enum job job = n->job;
	n->job = JOB_NONE;
	if (job == JOB_MAP) {
		if (!ok(status)) {
			env_fail(n->env, "%s: vip '%s': nft could not change its table %s: %s",
				 n->where, n->name, n->table, out_line(out));
			return;
		}
		for (size_t i = 0; i < n->spec.n; i++) {
			if (n->flush && n->kernel[i] && !n->job_want[i] && !n->job_flushing[i])
				n->flush_due[i] = true;
			if (n->job_want[i])
				n->flush_due[i] = false; /* back in before its flush ran */
			n->kernel[i] = n->job_want[i];
		}
		write_applied(n, now, mark >= 0 ? fmin(mark, now) : now);
		for (size_t i = 0; i < n->spec.n; i++)
			if (n->job_flushing[i] &&
			    !write_flushed(n, (int)i, nft_flush_count_of(out, i), now, out))
				return;
	} else if (job == JOB_FLUSH) {
		if (!write_flushed(n, n->job_backend, nft_flush_count(out), now, out))
			return;
	}
	kick(n);
}

/* The command thread says its command has ended. */
static void note_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vip_nft *n = arg;
	char b[16];
	int status = -1;
	double mark;
	bool done;
	(void)what;
	while (read(fd, b, sizeof b) > 0)
		;
	pthread_mutex_lock(&n->mu);
	done = n->job_done;
	n->job_done = false;
	status = n->job_status;
	mark = n->job_mark;
	pthread_mutex_unlock(&n->mu);
	if (done)
		finish(n, status, mark, n->job_out);
}

/* Hands text (and arg, or NULL) to the command thread. */
static void hand(struct vip_nft *n, bool shell, const char *text, const char *arg)
{
	pthread_mutex_lock(&n->mu);
	snprintf(n->job_text, sizeof n->job_text, "%s", text);
	snprintf(n->job_arg, sizeof n->job_arg, "%s", arg ? arg : "");
	n->job_has_arg = arg != NULL;
	n->job_shell = shell;
	n->have_job = true;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

/* Starts the next command if none runs: the latest membership first, then flushes. */
static void kick(struct vip_nft *n)
{
	char cmd[512];
	int rc;
	if (n->job != JOB_NONE || !n->started)
		return;
	bool differ = false;
	for (size_t i = 0; i < n->spec.n; i++)
		differ |= n->want[i] != n->kernel[i];
	if (differ) {
		if ((rc = nft_batch_members(&n->spec, n->want, n->batch, sizeof n->batch)) != 0) {
			env_fail(n->env, "%s: vip '%s': cannot write its nft batch: %s", n->where,
				 n->name, strerror(-rc));
			return;
		}
		memcpy(n->job_want, n->want, sizeof n->job_want);
		n->job_nq = n->nq;
		n->job = JOB_MAP;
		/* Backends leaving a flushing VIP: flushed by the same command, right
		 * after nft (starting a second one costs as much as nft itself). */
		bool leaving = false;
		for (size_t i = 0; i < n->spec.n; i++) {
			n->job_flushing[i] = n->flush && n->kernel[i] && !n->want[i];
			leaving |= n->job_flushing[i];
		}
		if (!leaving) {
			hand(n, false, n->batch, NULL);
			return;
		}
		if ((rc = nft_map_flush_script(&n->spec, n->job_flushing, n->script,
					       sizeof n->script)) != 0) {
			env_fail(n->env, "%s: vip '%s': cannot write its nft and conntrack script: %s",
				 n->where, n->name, strerror(-rc));
			return;
		}
		hand(n, true, n->script, n->batch);
		return;
	}
	if (n->nq) {
		/* Changes undone before they ran: the kernel has it already. */
		double now = env_now(n->env);
		n->job_nq = n->nq;
		write_applied(n, now, now);
	}
	size_t i = 0;
	while (i < n->spec.n && !n->flush_due[i])
		i++;
	if (i == n->spec.n)
		return;
	n->flush_due[i] = false;
	if ((rc = nft_flush_command(&n->spec, i, cmd, sizeof cmd)) != 0) {
		env_fail(n->env, "%s: vip '%s': cannot write its conntrack command: %s", n->where,
			 n->name, strerror(-rc));
		return;
	}
	n->job = JOB_FLUSH;
	n->job_backend = (int)i;
	hand(n, true, cmd, NULL);
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
	/* The map the table was created with: membership lines change it from here. */
	history_array_begin(h, "in_map");
	for (size_t i = 0; i < n->spec.n; i++)
		if (n->kernel[i])
			history_elem_str(h, n->names[i]);
	history_array_end(h);
	history_end(h);
}

int vip_nft_start(struct vip_nft *n, char *err, size_t errlen)
{
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
	    (rc = nft_batch_create(&n->spec, n->want, n->batch, sizeof n->batch)) != 0) {
		snprintf(err, errlen, "%s%svip '%s': cannot write its nft batch: %s", n->where, sep,
			 n->name, strerror(-rc));
		return -1;
	}
	/* Before the loop serves anything: wait for it here. */
	exec_wait(false, n->batch, NULL, n->out, sizeof n->out, &status, n->env, NULL);
	if (!ok(status)) {
		snprintf(err, errlen, "%s%svip '%s': nft could not create the table %s: %s",
			 n->where, sep, n->name, n->table, out_line(n->out));
		return -1;
	}
	n->started = true; /* from here on, destroy deletes the table */
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
	/* The command thread, and its note back to the loop. */
	if (spawn_pipe(n->note) != 0 || fcntl(n->note[0], F_SETFL, O_NONBLOCK) != 0 ||
	    !(n->note_ev = event_new(env_base(n->env), n->note[0], EV_READ | EV_PERSIST, note_cb,
				     n)) ||
	    event_add(n->note_ev, NULL) != 0 || pthread_mutex_init(&n->mu, NULL) != 0) {
		snprintf(err, errlen, "%s%svip '%s': cannot set up its command thread", n->where,
			 sep, n->name);
		return -1;
	}
	if (pthread_cond_init(&n->cv, NULL) != 0) {
		pthread_mutex_destroy(&n->mu);
		snprintf(err, errlen, "%s%svip '%s': cannot set up its command thread", n->where,
			 sep, n->name);
		return -1;
	}
	if ((rc = pthread_create(&n->th, NULL, worker, n)) != 0) {
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
		snprintf(err, errlen, "%s%svip '%s': cannot start its command thread: %s",
			 n->where, sep, n->name, strerror(rc));
		return -1;
	}
	n->th_started = true;
	record_start(n);
	return 0;
}

void vip_nft_destroy(struct vip_nft *n)
{
	int status;
	if (!n)
		return;
	if (n->th_started) {
		/* A command in flight ends first (bounded by exec_wait's limit). */
		pthread_mutex_lock(&n->mu);
		n->quit = true;
		pthread_cond_signal(&n->cv);
		pthread_mutex_unlock(&n->mu);
		pthread_join(n->th, NULL);
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
	}
	if (n->started && nft_batch_delete(&n->spec, n->batch, sizeof n->batch) == 0) {
		exec_wait(false, n->batch, NULL, n->out, sizeof n->out, &status, n->env, NULL);
		if (!ok(status))
			fprintf(stderr, "dnschaos: warning: %s%svip '%s': nft could not delete the "
					"table %s: %s\n",
				n->where, n->where[0] ? ": " : "", n->name, n->table,
				out_line(n->out));
	}
	for (int k = 0; k < 2; k++)
		if (n->sysctl_old[k] >= 0)
			write_long(sysctls[k], n->sysctl_old[k]);
	if (n->note_ev)
		event_free(n->note_ev);
	for (int k = 0; k < 2; k++)
		if (n->note[k] >= 0)
			close(n->note[k]);
	if (n->udp_fd >= 0)
		close(n->udp_fd);
	if (n->tcp_fd >= 0)
		close(n->tcp_fd);
	free(n->q);
	free(n);
}
