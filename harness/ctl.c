/*
 * ctl.c - dnschaos ctl: connects to a run's control socket, sends commands,
 * prints the replies (one JSON object a line) and maps them to an exit code.
 */
#include "harness/ctl.h"
#include "harness/run/ctl.h"
#include "harness/run/run.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_REPLY_WAIT_MS 30000 /* a reply takes a loop turn; this is for a run gone silent */

void ctl_usage(FILE *out)
{
	fprintf(out,
		"Usage: dnschaos ctl SOCKET COMMAND [ARG ...]\n"
		"       dnschaos ctl SOCKET -        (commands from stdin, one a line)\n"
		"\n"
		"Sends a command to a run started with `dnschaos run --control SOCKET` and\n"
		"prints its reply, a JSON object on one line. Commands (docs/gameday.md):\n"
		"  TARGET METHOD [key=value ...]   the action s:at(t, TARGET, METHOD, {...})\n"
		"                   would take: r1 hang duration=30, r1 delay ms=200,\n"
		"                   r1 heal [id=N], r1 crash down=2, r1 restart boot=source,\n"
		"                   truth publish file=zones/v2.zone, app rate rate=50,\n"
		"                   vip remove backend=r2, u1 hang duration=5 (a process)\n"
		"  status           the run as JSON: time, duration, paused, every resolver,\n"
		"                   process, source, VIP and client, active faults\n"
		"  pause, resume    hold the timeline (pending entries and the end), go on\n"
		"  extend SECONDS   make the run longer\n"
		"  abort            heal everything, end the run now (exit 2, inconclusive)\n"
		"\n"
		"Exit status: 0 every reply ok, 1 an error reply (or the connection was\n"
		"refused by the run: another user), 3 bad arguments, 4 cannot connect (no\n"
		"run there) or no reply.\n");
}

/* Reads one reply line into buf; 0, or -1 when the run closed or went silent. */
static int read_reply(int fd, char *buf, size_t cap, size_t *have)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *have);
		if (nl)
			return (int)(nl - buf + 1);
		if (*have == cap)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int rc = poll(&p, 1, CTL_REPLY_WAIT_MS);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;
		ssize_t n = read(fd, buf + *have, cap - *have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* Sends one command, prints its reply. 0 ok, 1 error reply, 4 no reply. */
static int one(int fd, const char *cmd, char *buf, size_t cap, size_t *have)
{
	size_t len = strlen(cmd);
	char *line = malloc(len + 2);
	if (!line) {
		fprintf(stderr, "dnschaos ctl: out of memory\n");
		return DNSCHAOS_EXIT_INTERNAL;
	}
	memcpy(line, cmd, len);
	line[len] = '\n';
	size_t off = 0;
	while (off < len + 1) {
		ssize_t n = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(line);
	/* A refusal is sent before the command is read: read it even if the send failed. */
	int n = read_reply(fd, buf, cap, have);
	if (n < 0) {
		fprintf(stderr, "dnschaos ctl: the run closed the connection without a reply to '%s'\n",
			cmd);
		return DNSCHAOS_EXIT_INTERNAL;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	bool ok = strncmp(buf, "{\"ok\":true", 10) == 0;
	memmove(buf, buf + n, *have - (size_t)n);
	*have -= (size_t)n;
	return ok ? 0 : 1;
}

int ctl_main(int argc, char **argv)
{
	struct sockaddr_un sa;
	char cmd[CTL_LINE_MAX + 1];
	static char buf[CTL_OUTPUT_MAX];
	size_t have = 0, len = 0;
	int code = 0, fd = -1;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_usage(stdout);
			return DNSCHAOS_EXIT_PASS;
		}
	if (argc < 3) {
		fprintf(stderr, "dnschaos ctl: give the control socket and a command (see --help)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sa.sun_path || !argv[1][0]) {
		fprintf(stderr, "dnschaos ctl: %s: a socket path is 1 to %zu bytes\n", argv[1],
			sizeof sa.sun_path - 1);
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	bool from_stdin = argc == 3 && strcmp(argv[2], "-") == 0;
	if (!from_stdin) {
		/* The words make one line. */
		for (int i = 2; i < argc; i++) {
			size_t w = strlen(argv[i]);
			if (strpbrk(argv[i], "\n\r") || len + w + 1 > CTL_LINE_MAX) {
				fprintf(stderr, "dnschaos ctl: a command is one line of at most %d bytes\n",
					CTL_LINE_MAX);
				return DNSCHAOS_EXIT_BAD_INPUT;
			}
			if (len)
				cmd[len++] = ' ';
			memcpy(cmd + len, argv[i], w);
			len += w;
		}
		cmd[len] = '\0';
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "dnschaos ctl: cannot connect to %s: %s (is a run with --control %s "
				"playing?)\n",
			argv[1], strerror(errno), argv[1]);
		if (fd >= 0)
			close(fd);
		return DNSCHAOS_EXIT_INTERNAL;
	}
	if (!from_stdin) {
		code = one(fd, cmd, buf, sizeof buf, &have);
		close(fd);
		return code;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strspn(line, " \t") == (size_t)n)
			continue; /* the run answers no blank line */
		if ((size_t)n > CTL_LINE_MAX || strlen(line) != (size_t)n) {
			fprintf(stderr, "dnschaos ctl: a command is one line of at most %d bytes\n",
				CTL_LINE_MAX);
			code = code ? code : DNSCHAOS_EXIT_BAD_INPUT;
			continue;
		}
		int rc = one(fd, line, buf, sizeof buf, &have);
		if (rc == DNSCHAOS_EXIT_INTERNAL) {
			code = rc;
			break;
		}
		if (rc && !code)
			code = rc;
	}
	free(line);
	close(fd);
	return code;
}
