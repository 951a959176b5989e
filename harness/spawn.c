/*
 * spawn.c - see spawn.h.
 *
 * Why not posix_spawn: the command must get PR_SET_PDEATHSIG between fork and
 * exec, which posix_spawn cannot do. So the child is made with vfork, and
 * everything it does before execve is a system call on memory prepared by
 * the parent (no malloc, no lock, no signal handler of ours: the spawning
 * thread has every signal blocked and the child sets every disposition to
 * the default before it unblocks them).
 *
 * Why a thread of its own: Linux sends the parent-death signal when the
 * *thread* that forked the child ends, not the process (prctl(2)). A worker
 * thread that spawned a command and then ended would kill it. Every command
 * is therefore forked by one spawner thread that lives as long as the
 * process; the callers hand it a request and wait. Waiting for and reaping
 * the child work from any thread of the process. Only if that thread cannot
 * be made (no memory, the thread limit) does the caller fork itself; its
 * child then dies with the calling thread, which is still never before the
 * caller reaps it (every caller reaps what it spawned before it returns).
 * The child of a fork of ours starts a spawner thread of its own.
 */
#define _GNU_SOURCE /* pipe2, vfork, close_range */
#include "harness/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define SPAWN_CLOSE_MAX    65536 /* without close_range: close descriptors below this */

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

/* ---- the child ---- */

/*
 * All the child needs, prepared by the parent: after vfork the child shares
 * the parent's memory and must not allocate. err is the child's only write.
 */
struct spawn_job {
	const char *file;
	char *const *argv;
	char *const *envp;
	const char *path;  /* search: the PATH to walk; NULL: file as given */
	char *buf;         /* search: room for the longest dir/file */
	int in_fd, out_fd; /* become 0, and 1 and 2 */
	pid_t parent;      /* the harness process */
	int close_max;     /* without close_range: close 3 .. close_max - 1 */
	volatile int err;  /* why the exec failed (0: it did not, or the child is not done) */
};

static bool exec_retry(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EACCES || e == ELOOP || e == ENAMETOOLONG ||
	       e == ESTALE || e == ENODEV || e == ETIMEDOUT;
}

/*
 * Runs in the vforked child. System calls only; never returns. Not
 * instrumented: the sanitizers' bookkeeping is the parent's memory too.
 */
__attribute__((noinline, noreturn, no_sanitize_address, no_sanitize_undefined))
static void spawn_child(struct spawn_job *job)
{
	struct sigaction dfl;
	sigset_t none;
	int e = 0;

	/* Every disposition to the default while every signal is still blocked. */
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* glibc's own signals: EINVAL, harmless */
	/* Die with the harness (a SIGKILLed run leaves no command behind). If the
	 * harness is already gone, its death came before the request: go now. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != job->parent)
		_exit(127);
	if (setpgid(0, 0) != 0 || dup2(job->in_fd, 0) < 0 || dup2(job->out_fd, 1) < 0 ||
	    dup2(job->out_fd, 2) < 0) {
		job->err = errno;
		_exit(127);
	}
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
		for (int fd = 3; fd < job->close_max; fd++)
			close(fd);
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

/* Forks and execs job; the calling thread has every signal blocked. 0 or an errno value. */
static int spawn_fork(struct spawn_job *job, pid_t *pid)
{
	job->err = 0;
	pid_t child = vfork();
	if (child == 0)
		spawn_child(job);
	if (child < 0)
		return errno;
	/* vfork returns once the child has exec'd or exited: err is final. */
	if (job->err != 0) {
		int st;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		return job->err;
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
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	struct spawn_job job = {.file = file, .argv = argv, .envp = envp ? envp : environ};
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
	if ((rc = spawn_pipe(in)) != 0 || (rc = spawn_pipe(out)) != 0)
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
