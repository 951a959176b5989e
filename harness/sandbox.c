/*
 * sandbox.c - see sandbox.h.
 *
 * Messages between outer and init go through one pipe (rep): first the
 * set-up's outcome (a byte 0, or 1 and a line of text), later the harness's
 * wait status (an int). go (outer -> init) says the uid/gid maps are
 * written; life is a pipe whose write end only outer holds: init sees it
 * hang up when outer is gone (the PR_SET_PDEATHSIG race check; getppid()
 * says 0 for any parent outside the pid namespace, so it cannot tell).
 */
#define _GNU_SOURCE /* clone flags, unshare, __WALL */
#include "harness/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_EXIT_INTERNAL 4 /* DNSCHAOS_EXIT_INTERNAL (harness/run/run.h, a layer above) */
#define SANDBOX_TMP           "/tmp" /* where the tmpfs is mounted while the files are made */
#define SANDBOX_MSG_MAX       512

static atomic_bool sandbox_in;

bool sandbox_ns_active(void)
{
	return atomic_load(&sandbox_in);
}

struct sandbox_pipes {
	int go[2], rep[2], life[2];
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pipes_close(struct sandbox_pipes *p)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&p->go[i]);
		close_fd(&p->rep[i]);
		close_fd(&p->life[i]);
	}
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n octets; 0, or -1 at end of file or on an error. */
static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- set-up, in init (pid 1 of the new namespaces, single-threaded) ----
 *
 * mount(2) ignores the source and type of a bind or a propagation change;
 * they are "none" rather than NULL so valgrind's check of the call holds. */

/* Formats why the set-up failed into msg; returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return -1;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text));
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/*
 * The host's nsswitch.conf with its hosts line replaced by "hosts: files
 * dns" (added when it has none): every other database keeps working as on
 * the host. Into out (cap octets); -1 when it does not fit.
 */
static int nsswitch_text(char *out, size_t cap)
{
	static const char hosts[] = "hosts: files dns\n";
	size_t n = 0;
	bool seen = false;
	char line[1024];
	FILE *f = fopen("/etc/nsswitch.conf", "re");

	out[0] = '\0';
	if (f) {
		while (fgets(line, sizeof line, f)) {
			const char *p = line + strspn(line, " \t");
			bool is_hosts = strncmp(p, "hosts", 5) == 0 && strchr(" \t:", p[5]);
			const char *put = is_hosts ? (seen ? "" : hosts) : line;
			seen = seen || is_hosts;
			size_t l = strlen(put);
			if (n + l + 2 >= cap) {
				fclose(f);
				return -1;
			}
			memcpy(out + n, put, l + 1);
			n += l;
			if (l && out[n - 1] != '\n' && !is_hosts) {
				out[n++] = '\n';
				out[n] = '\0';
			}
		}
		fclose(f);
	}
	if (!seen) {
		if (n + sizeof hosts >= cap)
			return -1;
		memcpy(out + n, hosts, sizeof hosts);
	}
	return 0;
}

/*
 * Whether a file the sandbox binds its own over is there: 0, or -1 with a
 * message saying what to do (missing, or a symbolic link to nothing).
 */
static int check_target(const char *path, char *msg, size_t cap)
{
	struct stat st;
	char link[256];

	if (lstat(path, &st) != 0)
		return fail(msg, cap,
			    "%s is missing: the sandbox binds a private one over the host's and "
			    "needs a file there (create an empty %s, or run with --no-sandbox)",
			    path, path);
	if (S_ISLNK(st.st_mode) && stat(path, &st) != 0) {
		ssize_t l = readlink(path, link, sizeof link - 1);
		link[l > 0 ? l : 0] = '\0';
		return fail(msg, cap,
			    "%s is a symbolic link to %s, which does not exist: the sandbox binds "
			    "a private file over its target (make the target exist, or run with "
			    "--no-sandbox)",
			    path, link);
	}
	if (S_ISDIR(st.st_mode))
		return fail(msg, cap, "%s is a directory, not a file", path);
	return 0;
}

/* Binds the empty file over every socket in dir (nscd, systemd-resolved), if dir exists. */
static int hide_sockets(const char *dir, const char *empty, char *msg, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];
	int rc = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		if (mount(empty, path, "none", MS_BIND, NULL) != 0) {
			rc = fail(msg, cap, "cannot hide the socket %s: %s", path, strerror(errno));
			break;
		}
	}
	closedir(d);
	return rc;
}

static int loopback_up(char *msg, size_t cap)
{
	struct ifreq ifr;
	int rc = -1;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return fail(msg, cap, "cannot open a socket to bring lo up: %s", strerror(errno));
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
		fail(msg, cap, "cannot read lo's flags: %s", strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
		fail(msg, cap, "cannot bring lo up: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(s);
	return rc;
}

/* Everything inside: mounts, lo, the private files. 0, or -1 with msg. */
static int sandbox_setup(char *msg, size_t cap)
{
	static char nss[16384];
	static const char resolv[] =
	        "# dnschaos sandbox: no nameserver here; each exec client gets a resolv.conf\n"
	        "# naming its own targets (docs/sandbox.md)\n";
	bool tmp_mounted = false;
	int rc = -1;

	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		return fail(msg, cap, "cannot make / private in the mount namespace: %s",
			    strerror(errno));
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return fail(msg, cap, "cannot mount a fresh /proc: %s", strerror(errno));
	if (loopback_up(msg, cap) != 0)
		return -1;
	if (check_target("/etc/resolv.conf", msg, cap) != 0 ||
	    check_target("/etc/nsswitch.conf", msg, cap) != 0)
		return -1;
	if (nsswitch_text(nss, sizeof nss) != 0)
		return fail(msg, cap, "/etc/nsswitch.conf is longer than %zu octets", sizeof nss);
	if (mount("tmpfs", SANDBOX_TMP, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=256k,mode=755") != 0)
		return fail(msg, cap, "cannot mount a tmpfs on %s: %s", SANDBOX_TMP, strerror(errno));
	tmp_mounted = true;
	if (write_file(SANDBOX_TMP "/resolv.conf", resolv, 0644) != 0 ||
	    write_file(SANDBOX_TMP "/nsswitch.conf", nss, 0644) != 0 ||
	    write_file(SANDBOX_TMP "/empty", "", 0444) != 0) {
		fail(msg, cap, "cannot write the sandbox's files: %s", strerror(errno));
		goto out;
	}
	/* A symbolic link is followed: the bind lands on its target, which is what is read. */
	if (mount(SANDBOX_TMP "/resolv.conf", "/etc/resolv.conf", "none", MS_BIND, NULL) != 0) {
		fail(msg, cap, "cannot bind a private /etc/resolv.conf: %s", strerror(errno));
		goto out;
	}
	if (mount(SANDBOX_TMP "/nsswitch.conf", "/etc/nsswitch.conf", "none", MS_BIND, NULL) != 0) {
		fail(msg, cap, "cannot bind a private /etc/nsswitch.conf: %s", strerror(errno));
		goto out;
	}
	if (hide_sockets("/run/nscd", SANDBOX_TMP "/empty", msg, cap) != 0 ||
	    hide_sockets("/var/run/nscd", SANDBOX_TMP "/empty", msg, cap) != 0 ||
	    hide_sockets("/run/systemd/resolve", SANDBOX_TMP "/empty", msg, cap) != 0)
		goto out;
	rc = 0;
out:
	/* The binds keep the files; /tmp is the host's again. */
	if (tmp_mounted && umount2(SANDBOX_TMP, MNT_DETACH) != 0 && rc == 0)
		rc = fail(msg, cap, "cannot unmount the set-up tmpfs: %s", strerror(errno));
	return rc;
}

/* ---- init ---- */

static sigset_t sandbox_old_mask; /* the mask before sandbox_ns_enter (the harness gets it back) */

static void relay_set(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGINT);
	sigaddset(s, SIGTERM);
	sigaddset(s, SIGHUP);
	sigaddset(s, SIGCHLD);
}

/*
 * pid 1: sets up, forks the harness (returns in it), relays signals to it,
 * reaps every process that comes up to it, and when the harness ends sends
 * its wait status to outer and ends (the kernel kills the rest). Never
 * returns in init.
 */
static void init_main(struct sandbox_pipes *p)
{
	char msg[SANDBOX_MSG_MAX];
	char go;
	sigset_t wake;
	int status = 0;

	close_fd(&p->go[1]);
	close_fd(&p->rep[0]);
	close_fd(&p->life[1]);
	/* Outer's death kills init (and so the namespace). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || read_all(p->go[0], &go, 1) != 0)
		_exit(SANDBOX_EXIT_INTERNAL);
	struct pollfd life = {.fd = p->life[0], .events = POLLIN};
	if (poll(&life, 1, 0) != 0) /* outer went before PDEATHSIG was set */
		_exit(SANDBOX_EXIT_INTERNAL);
	/*
	 * A process group of its own (the harness's too): a terminal's ^C, or
	 * timeout(1) signalling its whole group, reaches outer alone, which
	 * passes it on once. Received twice, a SIGINT arriving after the run
	 * handled the first would have the watchdog end it without reports.
	 */
	setpgid(0, 0);
	if (sandbox_setup(msg, sizeof msg) != 0) {
		char one = 1;
		write_all(p->rep[1], &one, 1);
		write_all(p->rep[1], msg, strlen(msg));
		_exit(SANDBOX_EXIT_INTERNAL);
	}
	pid_t harness = fork();
	if (harness == 0) {
		pipes_close(p);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != 1)
			_exit(SANDBOX_EXIT_INTERNAL);
		atomic_store(&sandbox_in, true);
		sigprocmask(SIG_SETMASK, &sandbox_old_mask, NULL);
		return;
	}
	if (harness < 0) {
		char one = 1;
		snprintf(msg, sizeof msg, "cannot fork the harness: %s", strerror(errno));
		write_all(p->rep[1], &one, 1);
		write_all(p->rep[1], msg, strlen(msg));
		_exit(SANDBOX_EXIT_INTERNAL);
	}
	prctl(PR_SET_NAME, "dnschaos-init"); /* after the fork: the harness keeps its own */
	{
		char zero = 0;
		write_all(p->rep[1], &zero, 1);
	}
	relay_set(&wake);
	for (;;) {
		int sig = sigwaitinfo(&wake, NULL);
		if (sig > 0 && sig != SIGCHLD) {
			kill(harness, sig);
			continue;
		}
		pid_t r;
		bool done = false;
		int st;
		while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
			if (r == harness) {
				status = st;
				done = true;
			}
		if (done || (r < 0 && errno == ECHILD))
			break;
	}
	write_all(p->rep[1], &status, sizeof status);
	_exit(0);
}

/* ---- outer ---- */

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/*
 * The child's maps: real root keeps every uid and gid (the identity map of
 * the whole range, so root inside reaches every file it did outside);
 * anyone else is mapped to 0 from their own uid and gid, with setgroups
 * denied (the kernel's condition for an unprivileged gid map).
 */
static int write_maps(pid_t pid, char *msg, size_t cap)
{
	char uid_map[64], gid_map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (uid == 0) {
		snprintf(uid_map, sizeof uid_map, "0 0 4294967295\n");
		snprintf(gid_map, sizeof gid_map, "0 0 4294967295\n");
	} else {
		snprintf(uid_map, sizeof uid_map, "0 %u 1\n", (unsigned)uid);
		snprintf(gid_map, sizeof gid_map, "0 %u 1\n", (unsigned)gid);
		if (write_proc(pid, "setgroups", "deny") != 0)
			return fail(msg, cap, "cannot deny setgroups in the user namespace: %s",
				    strerror(errno));
	}
	if (write_proc(pid, "uid_map", uid_map) != 0)
		return fail(msg, cap, "cannot write the user namespace's uid map: %s",
			    strerror(errno));
	if (write_proc(pid, "gid_map", gid_map) != 0)
		return fail(msg, cap, "cannot write the user namespace's gid map: %s",
			    strerror(errno));
	return 0;
}

/* Kills and reaps init after a failed start. */
static void init_discard(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
}

/*
 * Waits for init, relaying SIGINT, SIGTERM and SIGHUP to it; returns the
 * harness's exit code, or minus the signal it died of.
 */
static int outer_wait(pid_t init, int rep)
{
	sigset_t wake;
	int st = 0, status;

	relay_set(&wake);
	for (;;) {
		int sig = sigwaitinfo(&wake, NULL);
		if (sig > 0 && sig != SIGCHLD) {
			kill(init, sig);
			continue;
		}
		pid_t r = waitpid(init, &st, WNOHANG | __WALL);
		if (r == init || (r < 0 && errno == ECHILD))
			break;
	}
	if (read_all(rep, &status, sizeof status) != 0) {
		/* init died before it could say (killed): its own end is the run's. */
		if (WIFSIGNALED(st))
			return -WTERMSIG(st);
		return SANDBOX_EXIT_INTERNAL;
	}
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : SANDBOX_EXIT_INTERNAL;
}

/* Why the namespaces cannot be had: a hint from clone's errno. */
static const char *clone_hint(int e)
{
	switch (e) {
	case EPERM:
		return " (user namespaces are not allowed to this user here: "
		       "kernel.unprivileged_userns_clone, an AppArmor or seccomp policy, or a "
		       "container)";
	case ENOSPC:
	case EUSERS:
		return " (user.max_user_namespaces, or the nesting limit, is reached)";
	case EINVAL:
		return " (this kernel lacks one of user, pid, network or mount namespaces)";
	default:
		return "";
	}
}

enum sandbox_result sandbox_ns_enter(enum sandbox_mode mode, int *code)
{
	struct sandbox_pipes p = {{-1, -1}, {-1, -1}, {-1, -1}};
	char msg[SANDBOX_MSG_MAX] = "";
	sigset_t relay;
	pid_t init = -1;
	bool masked = false;

	*code = 0;
	if (mode == SANDBOX_OFF)
		return SANDBOX_HOST;
	if (pipe2(p.go, O_CLOEXEC) != 0 || pipe2(p.rep, O_CLOEXEC) != 0 ||
	    pipe2(p.life, O_CLOEXEC) != 0) {
		fail(msg, sizeof msg, "cannot make a pipe: %s", strerror(errno));
		goto unavailable;
	}
	/* Blocked from before the clone, so none is lost; the harness gets the old mask back. */
	relay_set(&relay);
	sigprocmask(SIG_BLOCK, &relay, &sandbox_old_mask);
	masked = true;
	fflush(NULL);
	init = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS |
						 SIGCHLD,
			      NULL, NULL, NULL, NULL);
	if (init == 0) {
		init_main(&p);
		return SANDBOX_INSIDE; /* the harness */
	}
	if (init < 0) {
		int e = errno;
		fail(msg, sizeof msg, "cannot create private namespaces: %s%s", strerror(e),
		     clone_hint(e));
		goto unavailable;
	}
	close_fd(&p.go[0]);
	close_fd(&p.rep[1]);
	close_fd(&p.life[0]);
	if (write_maps(init, msg, sizeof msg) != 0)
		goto unavailable;
	{
		char go = 1, ok;
		if (write_all(p.go[1], &go, 1) != 0 || read_all(p.rep[0], &ok, 1) != 0) {
			fail(msg, sizeof msg, "the sandbox's init ended during set-up");
			goto unavailable;
		}
		if (ok != 0) {
			ssize_t n = read(p.rep[0], msg, sizeof msg - 1);
			msg[n > 0 ? n : 0] = '\0';
			goto unavailable;
		}
	}
	*code = outer_wait(init, p.rep[0]);
	pipes_close(&p);
	return SANDBOX_EXIT;

unavailable:
	if (init > 0)
		init_discard(init);
	pipes_close(&p);
	if (masked)
		sigprocmask(SIG_SETMASK, &sandbox_old_mask, NULL);
	if (mode == SANDBOX_ON) {
		fprintf(stderr, "dnschaos: --sandbox: %s\n", msg);
		*code = SANDBOX_EXIT_INTERNAL;
		return SANDBOX_EXIT;
	}
	fprintf(stderr,
		"dnschaos: no sandbox (%s); running on the host's loopback, where exec commands "
		"must use {server}/{port} (--no-sandbox: the same without this line)\n",
		msg);
	return SANDBOX_HOST;
}

int sandbox_ns_exit(int code)
{
	if (code >= 0)
		return code;
	int sig = -code;
	struct rlimit nocore = {0, 0};
	sigset_t one;

	setrlimit(RLIMIT_CORE, &nocore);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	fflush(NULL);
	raise(sig);
	return 128 + sig;
}
