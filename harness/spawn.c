/*
 * spawn.c - see spawn.h.
 *
 * Why not posix_spawn: the guardian (spawn.h) is a process of ours that does
 * not exec, which posix_spawn cannot make. So the harness forks it (fork,
 * not vfork: it lives on after the call), and everything it does is a
 * system call on memory prepared by the parent (no malloc, no lock, no
 * signal handler of ours: the spawning thread has every signal blocked,
 * and the guardian sets every disposition to the default and waits for its
 * signals with sigwaitinfo). The guardian vforks the command (cheap: the
 * guardian is single-threaded) and tells the harness, through a pipe, the
 * errno of a failed exec or 0. The price is one fork of the harness per
 * command instead of one vfork (bench/spawn_bench.c measures it), and,
 * while a guardian lives, the harness's pages are copy-on-write: the
 * harness's first write to each page it had touched costs a page copy.
 * Short commands (dig) make that brief; a long one holds its guardian's
 * copy of the page tables (about 2 KB per MB the harness had touched).
 *
 * Why a thread of its own: Linux sends the parent-death signal when the
 * *thread* that forked the child ends, not the process (prctl(2)). A worker
 * thread that spawned a command and then ended would end it. Every command
 * is therefore forked by one spawner thread that lives as long as the
 * process; the callers hand it a request and wait. Waiting for and reaping
 * the child work from any thread of the process. Only if that thread cannot
 * be made (no memory, the thread limit) does the caller fork itself; its
 * child then dies with the calling thread, which is still never before the
 * caller reaps it (every caller reaps what it spawned before it returns).
 * The child of a fork of ours starts a spawner thread of its own.
 */
#define _GNU_SOURCE /* pipe2, vfork, close_range, __WALL, unshare */
#include "harness/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define SPAWN_CLOSE_MAX    65536 /* without close_range: close descriptors below this */
#define SPAWN_SWEEP_ROUNDS  100       /* the guardian's last sweep: at most this many rounds */
#define SPAWN_SWEEP_WAIT_NS 10000000L /* of at most 10 ms each */
#define SPAWN_STOP_TICK_NS  1000000L  /* spawn_stop looks every 1 ms */

int spawn_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fds[0] = fds[1] = -1;
		return errno;
	}
	for (int i = 0; i < 2; i++) {
		if (fds[i] > 2)
			continue;
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		int e = errno;
		close(fds[i]);
		fds[i] = fd;
		if (fd < 0) {
			close(fds[1 - i]);
			fds[1 - i] = -1;
			return e;
		}
	}
	return 0;
}

/* ---- the environment ---- */

static char *env_entry(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s=%s", name, value);
	return s;
}

char **spawn_env_new(const char *const *pairs, size_t npairs)
{
	const char *path = getenv("PATH");
	char **env = calloc(npairs + 2, sizeof *env);
	size_t n = 0;

	if (!env)
		return NULL;
	env[n] = env_entry("PATH", path ? path : SPAWN_DEFAULT_PATH);
	if (!env[n++])
		goto fail;
	for (size_t i = 0; i < npairs; i++) {
		const char *name = pairs[2 * i], *value = pairs[2 * i + 1];
		size_t nl = strlen(name), at = n;
		for (size_t j = 0; j < n; j++)
			if (strncmp(env[j], name, nl) == 0 && env[j][nl] == '=')
				at = j;
		char *e = env_entry(name, value);
		if (!e)
			goto fail;
		if (at < n)
			free(env[at]);
		else
			n++;
		env[at] = e;
	}
	return env;
fail:
	spawn_env_free(env);
	return NULL;
}

void spawn_env_free(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* ---- the guardian and the command ---- */

/*
 * All the children need, prepared by the parent: after fork the guardian
 * must not allocate (the harness is multithreaded), and after vfork the
 * command shares the guardian's memory. err is the command's only write.
 */
struct spawn_job {
	const char *file;
	char *const *argv;
	char *const *envp;
	const char *path;  /* search: the PATH to walk; NULL: file as given */
	char *buf;         /* search: room for the longest dir/file */
	int in_fd, out_fd; /* become 0, and 1 and 2 */
	int report_fd;     /* the guardian writes the command's exec errno here (0: it runs) */
	int report_rd;     /* the harness reads it here */
	pid_t parent;      /* the harness process */
	int close_max;     /* without close_range: close 3 .. close_max - 1 */
	const char *resolv; /* NULL, or the text bound over /etc/resolv.conf in a mount ns of its own */
	volatile int err;  /* why the exec failed (0: it did not, or the child is not done) */
};

static bool exec_retry(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EACCES || e == ELOOP || e == ENAMETOOLONG ||
	       e == ESTALE || e == ENODEV || e == ETIMEDOUT;
}

/* Closes every descriptor from lo up but keep (-1: none). System calls only. */
__attribute__((no_sanitize_address, no_sanitize_undefined))
static void close_from(int lo, int keep, int close_max)
{
#ifdef SYS_close_range
	if (keep < lo) {
		if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0U) == 0)
			return;
	} else if ((keep == lo || syscall(SYS_close_range, (unsigned)lo, (unsigned)keep - 1, 0U) == 0) &&
	           syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U) == 0) {
		return;
	}
#endif
	for (int fd = lo; fd < close_max; fd++)
		if (fd != keep)
			close(fd);
}

/* Every disposition to the default (the harness's handlers are not ours to run). */
__attribute__((no_sanitize_address, no_sanitize_undefined))
static void signals_default(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* glibc's own signals: EINVAL, harmless */
}

/*
 * Runs in the command, vforked by the guardian (0, 1 and 2 already set up,
 * every signal still blocked). System calls only; never returns.
 */
__attribute__((noinline, noreturn, no_sanitize_address, no_sanitize_undefined))
static void spawn_child(struct spawn_job *job, pid_t guardian)
{
	sigset_t none;
	int e = 0;

	/* Belt and braces: should the guardian be SIGKILLed alone, go with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != guardian)
		_exit(127);
	close_from(3, -1, job->close_max);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (!job->path) {
		execve(job->file, job->argv, job->envp);
		e = errno;
	} else {
		size_t fl = strlen(job->file);
		bool denied = false;
		for (const char *p = job->path;;) {
			const char *end = strchr(p, ':');
			size_t dl = end ? (size_t)(end - p) : strlen(p);
			char *b = job->buf;
			if (dl == 0) { /* an empty entry is the current folder */
				b[0] = '.';
				dl = 1;
			} else {
				memcpy(b, p, dl);
			}
			b[dl] = '/';
			memcpy(b + dl + 1, job->file, fl + 1);
			execve(b, job->argv, job->envp);
			e = errno;
			if (e == EACCES)
				denied = true;
			if (!exec_retry(e) || !end)
				break;
			p = end + 1;
		}
		if (denied && exec_retry(e))
			e = EACCES;
	}
	job->err = e ? e : ENOEXEC;
	_exit(127);
}

/*
 * The command's own /etc/resolv.conf (spawn_piped_resolv), done by the
 * guardian, which is single-threaded (so unshare(CLONE_NEWNS) works) and
 * privileged in the sandbox's user namespace: a mount namespace of its own
 * (everything in it private, so nothing propagates back), a tmpfs over
 * /tmp while the file is written, the file bound over /etc/resolv.conf (its
 * target, if a symbolic link), the tmpfs detached (the bind keeps the file).
 * Nothing reaches a disk; the namespace ends with the guardian's group.
 * 0 or an errno value. System calls only.
 */
__attribute__((no_sanitize_address, no_sanitize_undefined))
static int guard_resolv(const char *text)
{
	static const char tmp[] = "/tmp", file[] = "/tmp/resolv.conf";
	int e = 0;

	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		return errno;
	if (mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=755") != 0)
		return errno;
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
	} else {
		size_t n = strlen(text), off = 0;
		while (off < n) {
			ssize_t w = write(fd, text + off, n - off);
			if (w <= 0) {
				e = w < 0 ? errno : EIO;
				break;
			}
			off += (size_t)w;
		}
		close(fd);
	}
	if (e == 0 && mount(file, "/etc/resolv.conf", "none", MS_BIND, NULL) != 0)
		e = errno;
	if (umount2(tmp, MNT_DETACH) != 0 && e == 0)
		e = errno;
	return e;
}

/*
 * The guardian's children, from /proc/thread-self/children (it has one
 * thread), into pids; how many (at most max), or -1 when the kernel does
 * not say (no CONFIG_PROC_CHILDREN, no /proc). System calls only.
 */
__attribute__((no_sanitize_address, no_sanitize_undefined))
static int guard_children(pid_t *pids, int max)
{
	char buf[4096];
	int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return -1;
	int count = 0;
	pid_t v = 0;
	bool in = false;
	for (ssize_t i = 0; i < n && count < max; i++) {
		if (buf[i] >= '0' && buf[i] <= '9') {
			v = v * 10 + (buf[i] - '0');
			in = true;
		} else if (in) {
			pids[count++] = v;
			v = 0;
			in = false;
		}
	}
	if (in && count < max)
		pids[count++] = v;
	return count;
}

/*
 * Kills every descendant the guardian can reach and reaps it: its children
 * (as subreaper, every orphan below it is one), round after round, as a
 * killed child's own children come up to it, until it has none left or
 * SPAWN_SWEEP_ROUNDS rounds of SPAWN_SWEEP_WAIT_NS have passed (a
 * set-user-ID child ignores our SIGKILL). Returns whether it has none left.
 * The command's status goes to *cmd_status if cmd is reaped here.
 */
__attribute__((no_sanitize_address, no_sanitize_undefined))
static bool guard_sweep(pid_t cmd, int *cmd_status, bool *cmd_done)
{
	pid_t pids[256];
	sigset_t chld;
	struct timespec wait = {0, SPAWN_SWEEP_WAIT_NS};
	int st;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (int round = 0; round < SPAWN_SWEEP_ROUNDS; round++) {
		int n = guard_children(pids, (int)(sizeof pids / sizeof pids[0]));
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGKILL); /* our unreaped child: the pid is still its */
		pid_t r;
		while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
			if (r == cmd) {
				*cmd_status = st;
				*cmd_done = true;
			}
		if (r < 0 && errno == ECHILD)
			return true;
		if (n < 0)
			return false; /* cannot list them: the harness's group kill does the rest */
		sigtimedwait(&chld, NULL, &wait);
	}
	return false;
}

/*
 * The guardian: the process the harness forks, leader of the process group
 * the command runs in, and subreaper of everything below it. System calls
 * only (forked from a multithreaded process); never returns. Every signal
 * is blocked (the spawning thread's mask): it waits for them.
 */
__attribute__((noinline, noreturn, no_sanitize_address, no_sanitize_undefined))
static void spawn_guard(struct spawn_job *job)
{
	sigset_t wake, one;
	pid_t self = getpid(), cmd = -1;
	int status = 0, report;
	bool done = false;
	struct rlimit nocore = {0, 0};

	signals_default();
	/* The harness's death (any thread of it ending is no concern: the
	 * spawner thread lives as long as it) arrives as SIGTERM, which we wait
	 * for. If the harness is already gone, its death came before: go now. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != job->parent)
		_exit(127);
	report = job->report_fd;
	if (setpgid(0, 0) != 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 ||
	    dup2(job->in_fd, 0) < 0 || dup2(job->out_fd, 1) < 0 || dup2(job->out_fd, 2) < 0) {
		job->err = errno;
		goto failed;
	}
	close_from(3, report, job->close_max);
	if (job->resolv && (job->err = guard_resolv(job->resolv)) != 0)
		goto failed;

	job->err = 0;
	cmd = vfork();
	if (cmd == 0)
		spawn_child(job, self);
	if (cmd < 0)
		job->err = errno;
	/* vfork returns once the command has exec'd or exited: err is final. */
	close(0); /* the output pipe is the command's: its end of file is its end */
	close(1);
	close(2);
	if (job->err != 0)
		goto failed;
	{
		int zero = 0;
		ssize_t w = write(report, &zero, sizeof zero);
		(void)w; /* the harness reads it or is gone */
		close(report);
	}

	sigemptyset(&wake);
	sigaddset(&wake, SIGCHLD);
	sigaddset(&wake, SIGTERM);
	sigaddset(&wake, SIGHUP);
	sigaddset(&wake, SIGINT);
	for (;;) {
		pid_t r;
		while ((r = waitpid(-1, &status, WNOHANG | __WALL)) > 0)
			if (r == cmd) {
				done = true;
				break;
			}
		if (done || (r < 0 && errno == ECHILD))
			break;
		int sig = sigwaitinfo(&wake, NULL);
		if (sig > 0 && sig != SIGCHLD) {
			/* The harness is gone (or we were told to stop): everything goes. */
			guard_sweep(cmd, &status, &done);
			kill(0, SIGKILL); /* the group, the guardian last of all */
			_exit(137);
		}
	}
	/* The command ended: what it left behind goes (the harness's reap kills
	 * the rest of the group too, while this process is its unreaped leader). */
	guard_sweep(cmd, &status, &done);
	if (!done || WIFEXITED(status))
		_exit(done ? WEXITSTATUS(status) : 127);
	/* Killed by a signal: die of the same one, so the harness sees it (no core). */
	setrlimit(RLIMIT_CORE, &nocore);
	sigemptyset(&one);
	sigaddset(&one, WTERMSIG(status));
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	kill(self, WTERMSIG(status));
	_exit(128 + WTERMSIG(status));
failed:
	{
		int e = job->err;
		ssize_t w = write(report, &e, sizeof e);
		(void)w;
	}
	if (cmd > 0) /* it exited at its failed exec */
		waitpid(cmd, &status, __WALL);
	_exit(127);
}

/*
 * Forks the guardian, which starts the command; the calling thread has
 * every signal blocked. 0 or an errno value (the command's exec failure:
 * the guardian is reaped then).
 */
static int spawn_fork(struct spawn_job *job, pid_t *pid)
{
	pid_t child = fork();
	if (child == 0)
		spawn_guard(job);
	int e = errno;
	/* Ours closed, the guardian's end of file is its death before it said. */
	close(job->report_fd);
	job->report_fd = -1;
	if (child < 0)
		return e;
	e = EIO;
	ssize_t n;
	while ((n = read(job->report_rd, &e, sizeof e)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof e) /* it died before it said: killed */
		e = EIO;
	if (e != 0) {
		int st;
		kill(child, SIGKILL);
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		return e;
	}
	*pid = child;
	return 0;
}

/* ---- the spawner thread ---- */

struct spawn_req {
	struct spawn_job *job;
	pid_t pid;
	int rc;
	bool done;
};

static pthread_mutex_t spawner_start_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t spawner_pid;   /* the process whose spawner thread runs (a fork's child has none) */
static bool spawner_running;
static pthread_mutex_t spawner_callers = PTHREAD_MUTEX_INITIALIZER; /* one request at a time */
static pthread_mutex_t spawner_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawner_cv = PTHREAD_COND_INITIALIZER;
static struct spawn_req *spawner_slot; /* the request being handed over, under spawner_mu */

static void *spawner_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&spawner_mu);
		while (!spawner_slot || spawner_slot->done)
			pthread_cond_wait(&spawner_cv, &spawner_mu);
		struct spawn_req *req = spawner_slot;
		pthread_mutex_unlock(&spawner_mu);

		int rc = spawn_fork(req->job, &req->pid);

		pthread_mutex_lock(&spawner_mu);
		req->rc = rc;
		req->done = true;
		pthread_cond_broadcast(&spawner_cv);
		pthread_mutex_unlock(&spawner_mu);
	}
	return NULL;
}

/* Under spawner_start_mu: starts this process's spawner thread, or says it could not. */
static void spawner_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t th;

	/* Created with every signal blocked, and it never unblocks one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		spawner_running = pthread_create(&th, &attr, spawner_main, NULL) == 0;
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Runs job on the spawner thread (or, failing that, here with signals blocked). */
static int spawn_run(struct spawn_job *job, pid_t *pid)
{
	struct spawn_req req = {.job = job};
	sigset_t all, old;
	int rc;

	pthread_mutex_lock(&spawner_start_mu);
	if (spawner_pid != getpid()) {
		/* First use, or the child of a fork, where the thread and any request
		 * it was serving stayed in the parent: start afresh. */
		spawner_callers = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		spawner_mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		spawner_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
		spawner_slot = NULL;
		spawner_start();
		spawner_pid = getpid();
	}
	bool running = spawner_running;
	pthread_mutex_unlock(&spawner_start_mu);
	if (!running) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = spawn_fork(job, pid);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	pthread_mutex_lock(&spawner_callers);
	pthread_mutex_lock(&spawner_mu);
	spawner_slot = &req;
	pthread_cond_broadcast(&spawner_cv);
	while (!req.done)
		pthread_cond_wait(&spawner_cv, &spawner_mu);
	spawner_slot = NULL;
	pthread_mutex_unlock(&spawner_mu);
	pthread_mutex_unlock(&spawner_callers);
	if (req.rc == 0)
		*pid = req.pid;
	return req.rc;
}

int spawn_piped(const char *file, char *const argv[], char *const envp[], bool search, pid_t *pid,
                int *out_fd)
{
	return spawn_piped_resolv(file, argv, envp, search, NULL, pid, out_fd);
}

int spawn_piped_resolv(const char *file, char *const argv[], char *const envp[], bool search,
                       const char *resolv, pid_t *pid, int *out_fd)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	int report[2] = {-1, -1};
	struct spawn_job job = {.file = file, .argv = argv, .envp = envp ? envp : environ,
	                        .resolv = resolv};
	struct rlimit rl;
	char *buf = NULL;
	pid_t child;
	int rc;

	if (!file[0]) {
		rc = ENOENT;
		goto out;
	}
	if (search && !strchr(file, '/')) {
		job.path = getenv("PATH");
		if (!job.path)
			job.path = SPAWN_DEFAULT_PATH;
		buf = malloc(strlen(job.path) + strlen(file) + 3);
		if (!buf) {
			rc = ENOMEM;
			goto out;
		}
		job.buf = buf;
	}
	if ((rc = spawn_pipe(in)) != 0 || (rc = spawn_pipe(out)) != 0 ||
	    (rc = spawn_pipe(report)) != 0)
		goto out;
	close(in[1]);
	in[1] = -1;
	int fl = fcntl(out[0], F_GETFL);
	if (fl < 0 || fcntl(out[0], F_SETFL, fl | O_NONBLOCK) != 0) {
		rc = errno;
		goto out;
	}
	job.in_fd = in[0];
	job.out_fd = out[1];
	job.report_rd = report[0];
	job.report_fd = report[1];
	report[1] = -1; /* spawn_fork closes it */
	job.parent = getpid();
	job.close_max = SPAWN_CLOSE_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < SPAWN_CLOSE_MAX)
		job.close_max = (int)rl.rlim_cur;
	if ((rc = spawn_run(&job, &child)) == 0) {
		*pid = child;
		*out_fd = out[0];
		out[0] = -1;
	}
out:
	free(buf);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	return rc;
}

int spawn_ended(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == EINTR ? 0 : -errno;
	return si.si_pid == pid;
}

void spawn_stop(pid_t pid, double wait_s)
{
	struct timespec tick = {0, SPAWN_STOP_TICK_NS};
	long ticks = (long)(wait_s * 1e9 / SPAWN_STOP_TICK_NS);

	if (kill(pid, SIGTERM) != 0)
		return;
	for (long i = 0; i < ticks && spawn_ended(pid) == 0; i++)
		nanosleep(&tick, NULL);
}

int spawn_reap(pid_t pid, int *status)
{
	pid_t r;
	*status = 0;
	kill(-pid, SIGKILL);
	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	if (r == pid)
		return 0;
	*status = 0;
	return r < 0 ? errno : ECHILD;
}
