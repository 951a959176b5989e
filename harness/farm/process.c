/*
 * process.c - a real DNS daemon as a farm member (farm.h, "managed DNS
 * daemons"): its command started under spawn.c's guardian in a process
 * group of its own, a private working directory holding its zone file and
 * config, a readiness probe (an SOA query for its zone), the faults a
 * process can suffer (SIGSTOP, SIGCONT, SIGKILL, restart, the stale-file
 * reboot), a secondary of a zone source (it transfers its zone itself; what
 * it boots is the serial it answers), and a packet capture on loopback that
 * turns the queries it sees and the replies it sends into `query` lines
 * joined like a fake resolver's. Everything it does goes into the history.
 */
#define _GNU_SOURCE /* mkdtemp, nftw flags */
#include "harness/farm/farm.h"
#include "harness/env.h"
#include "fakeresolver/answer.h"
#include "fakeresolver/clock.h"
#include "harness/farm/sniff.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "harness/spawn.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define OUTPUT_KEEP 4096       /* the tail of the daemon's output kept for messages */
#define PROBE_EVERY_S 0.02     /* readiness probes */
#define WATCH_EVERY_S 0.1
#define PENDING_MAX 4096       /* captured queries waiting for their reply */
#define PENDING_WAIT_S 5.0     /* a query without a reply after this is dropped */
#define CAPTURE_BATCH 64       /* packets read per wake of the loop */
#define CAPTURE_SNAP 65536     /* a whole packet: the IP lengths must add up */
#define CAPTURE_RCVBUF (4 << 20)

/* A captured query waiting for its reply. */
struct pending {
	double at;
	struct addr peer;
	uint16_t id, qtype;
	bool tcp, question, joined;
	uint8_t qname[WIRE_NAME_MAX];
	size_t qname_len;
	struct client_join join;
	uint32_t fault; /* the hang it arrived during, or the kill that lost it */
};

struct farm_process {
	struct run_env *env;
	char name[FARM_NAME_MAX];
	char where[256];
	struct addr addr;
	char **argv; /* the template */
	size_t argc;
	char *config; /* the config template text, or NULL */
	char config_name[256];
	struct zone_version *zone;    /* configured zone file, or NULL (a pure secondary) */
	struct zone_version *put;     /* the file put in place for this boot, or NULL */
	struct zone_version *serving; /* what it booted, or NULL (a serial never published) */
	uint32_t boot_serial;         /* the serial it booted */
	bool from_file;               /* it booted the file put in place (else: a transfer) */
	struct farm_source *source;   /* a secondary of it, or NULL */
	/* {source_addr} {source_port} {source} */
	char source_addr[64], source_port[8], source_at[80];
	uint8_t origin_wire[WIRE_NAME_MAX];
	size_t origin_len;
	char origin[1024];
	double start_timeout_s;
	char dir[256];
	char zone_path[512];
	char config_path[512];
	enum farm_state state;
	pid_t pid; /* the guardian; 0: none */
	int out_fd;
	char output[OUTPUT_KEEP];
	size_t out_len;
	/* readiness */
	int probe_fd;
	struct addr probe_local;
	uint16_t probe_id;
	/* a secondary's last answer: its rcode; -1 none, -2 NOERROR without the SOA, -3 malformed */
	int probe_rcode;
	uint32_t probe_serial;
	double boot_started;
	/* a start waits (on the probe timer) for the address its killed predecessor held */
	bool spawn_due;
	struct event *probe_ev, *probe_timer, *watch_timer, *out_ev;
	/* faults */
	bool launched; /* started and answering before the run's clock started */
	uint32_t hang_id;
	struct event *hang_timer; /* continues a hang given a duration (hang_until) */
	double hang_until;        /* run time the hang heals itself at; 0: until continued */
	uint32_t down_id; /* kill or stop, healed at the next start */
	const char *down_kind;
	/* the capture */
	int cap_fd;
	struct event *cap_ev;
	struct pending *pend;
	size_t npend;
	uint8_t *capbuf; /* CAPTURE_SNAP octets */
};

static void record_state(struct farm_process *p, const char *why)
{
	struct history *h = env_history(p->env);
	char buf[80];
	if (h) {
		history_begin(h, env_now(p->env), "state");
		history_str(h, "resolver", p->name);
		history_str(h, "state", farm_state_name(p->state));
		history_str(h, "why", why);
		history_str(h, "address", addr_str(&p->addr, buf, sizeof buf));
		history_end(h);
	}
	env_say(p->env, "%s is %s (%s)", p->name, farm_state_name(p->state), why);
}

/*
 * Through the fake resolvers' writer, so that a hang with a duration and its
 * self-heal are the same lines as a resolver fault's (the checker, the live
 * view and replay read them alike).
 */
static void record_fault(struct farm_process *p, uint32_t id, const char *kind, const char *action,
                         double duration_s)
{
	farm_fault_record(p->env, p->name, id, kind, action, NULL, 0, 0, duration_s);
}

/*
 * The one end of a hang, whatever ends it (continue, its duration, a kill,
 * the daemon exiting by itself): its timer disarmed, so that a timer armed
 * for this hang can never continue a later one. heal: write its heal line.
 */
static void hang_end(struct farm_process *p, bool heal)
{
	if (!p->hang_id)
		return;
	if (p->hang_timer)
		event_del(p->hang_timer);
	p->hang_until = 0;
	if (heal)
		record_fault(p, p->hang_id, "hang", "heal", 0);
	p->hang_id = 0;
}

/*
 * A hang's duration is over: continued, its heal written as a fake
 * resolver's self-heal. The timer is disarmed by every other end of a hang
 * (hang_end), so it only ever fires for the hang in force that armed it.
 */
static void hang_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	farm_process_continue(arg);
}

static void record_boot(struct farm_process *p, const char *error)
{
	struct history *h = env_history(p->env);
	char entry[1100], hex[ZONE_DIGEST_HEX];
	uint8_t digest[ZONE_DIGEST_LEN];
	if (h) {
		history_begin(h, env_now(p->env), "boot");
		history_str(h, "resolver", p->name);
		history_str(h, "from", p->from_file ? "file" : "source");
		history_bool(h, "ok", error == NULL);
		if (error)
			history_str(h, "error", error);
		history_array_begin(h, "zones");
		if (!error) {
			snprintf(entry, sizeof entry, "%s %u", p->origin, p->boot_serial);
			history_elem_str(h, entry);
		}
		history_array_end(h);
		history_array_begin(h, "digests");
		if (!error) {
			/* null: a serial the source never published, its records unknown */
			if (p->serving && zone_version_digest(p->serving, digest) == 0) {
				zone_digest_hex(digest, hex);
				history_elem_str(h, hex);
			} else {
				history_elem_str(h, NULL);
			}
		}
		history_array_end(h);
		history_end(h);
	}
	if (error)
		env_say(p->env, "%s failed to boot: %s", p->name, error);
	else if (p->from_file)
		env_say(p->env, "%s booted from file: serial %u", p->name, p->boot_serial);
	else
		env_say(p->env, "%s booted from %s: serial %u%s", p->name,
			farm_source_name(p->source), p->boot_serial,
			p->serving ? "" : " (never published there: its records are unknown)");
}

/* ---- placeholders ---- */

/* The host part of an address, without brackets: "127.0.0.1" or "::1". */
static void addr_host(const struct addr *ad, char *ip, size_t cap)
{
	char a[80];
	addr_str(ad, a, sizeof a);
	/* the host part of "127.0.0.1:53" or "[::1]:53" */
	const char *colon = strrchr(a, ':');
	size_t hl = colon ? (size_t)(colon - a) : strlen(a);
	if (a[0] == '[')
		snprintf(ip, cap, "%.*s", (int)(hl - 2), a + 1);
	else
		snprintf(ip, cap, "%.*s", (int)hl, a);
}

/*
 * Expands {addr} {port} {dir} {zone_file} {config} {origin} {name}, with a
 * source {source} {source_addr} {source_port}, and {{ into out. -1: an unknown
 * placeholder, or a source's without one (named in err).
 */
static int expand(const struct farm_process *p, const char *in, char *out, size_t cap, char *err,
		  size_t errlen)
{
	char ip[64], port[8];
	size_t n = 0;
	addr_host(&p->addr, ip, sizeof ip);
	snprintf(port, sizeof port, "%u", addr_port(&p->addr));
	for (const char *s = in; *s;) {
		const char *val = NULL;
		size_t skip = 1;
		if (s[0] == '{' && s[1] == '{') {
			val = "{";
			skip = 2;
		} else if (s[0] == '{') {
			static const char *const keys[] = { "addr",	"port",	       "dir",
							    "zone_file", "config",      "origin",
							    "name",	"source",      "source_addr",
							    "source_port" };
			const char *vals[] = { ip,	       port,	      p->dir,
					       p->zone_path,   p->config_path, p->origin,
					       p->name,	       p->source_at,   p->source_addr,
					       p->source_port };
			const char *end = strchr(s, '}');
			size_t k = 0;
			for (; end && k < sizeof keys / sizeof keys[0]; k++)
				if ((size_t)(end - s - 1) == strlen(keys[k]) &&
				    strncmp(s + 1, keys[k], strlen(keys[k])) == 0) {
					val = vals[k];
					skip = (size_t)(end - s) + 1;
					break;
				}
			if (!val) {
				snprintf(err, errlen,
					 "unknown placeholder '%.*s' (known: {addr} {port} {dir} "
					 "{zone_file} {config} {origin} {name} {source} {source_addr} "
					 "{source_port}; write {{ for a '{')",
					 end ? (int)(end - s + 1) : 1, s);
				return -1;
			}
			if (strncmp(keys[k], "source", 6) == 0 && !p->source) {
				snprintf(err, errlen,
					 "placeholder '{%s}' needs source = <zone source> (the zone "
					 "source this daemon is a secondary of): this process has none",
					 keys[k]);
				return -1;
			}
		}
		size_t vl = val ? strlen(val) : 1;
		if (n + vl + 1 > cap) {
			snprintf(err, errlen, "an argument is longer than %zu octets once expanded", cap);
			return -1;
		}
		memcpy(out + n, val ? val : s, vl);
		n += vl;
		s += skip;
	}
	out[n] = '\0';
	return 0;
}

/* ---- files ---- */

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	char buf[65536];
	if (in < 0) {
		snprintf(err, errlen, "cannot read %s: %s", from, strerror(errno));
		goto out;
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out < 0) {
		snprintf(err, errlen, "cannot write %s: %s", to, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", from, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		for (ssize_t w = 0; w < r;) {
			ssize_t k = write(out, buf + w, (size_t)(r - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				snprintf(err, errlen, "cannot write %s: %s", to, strerror(errno));
				goto out;
			}
			w += k;
		}
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == 0) {
		snprintf(err, errlen, "cannot write %s: %s", to, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int write_config(struct farm_process *p, char *err, size_t errlen)
{
	if (!p->config)
		return 0;
	size_t cap = strlen(p->config) * 2 + 8192;
	char *text = malloc(cap);
	int rc = -1;
	FILE *f = NULL;
	if (!text) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Line by line, so that a line's error can be named. */
	size_t n = 0, line = 1;
	for (const char *s = p->config; *s; line++) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);
		char in[4096], e[256];
		if (len >= sizeof in) {
			snprintf(err, errlen, "config line %zu is longer than %zu octets", line,
				 sizeof in - 1);
			goto out;
		}
		memcpy(in, s, len);
		in[len] = '\0';
		if (expand(p, in, text + n, cap - n, e, sizeof e) != 0) {
			snprintf(err, errlen, "config line %zu: %s", line, e);
			goto out;
		}
		n += strlen(text + n);
		s += len;
	}
	f = fopen(p->config_path, "we");
	if (!f || fwrite(text, 1, n, f) != n) {
		snprintf(err, errlen, "cannot write %s: %s", p->config_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f && fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "cannot write %s: %s", p->config_path, strerror(errno));
		rc = -1;
	}
	free(text);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* ---- the daemon's output ---- */

static void output_drain(struct farm_process *p)
{
	char buf[4096];
	for (int rounds = 0; p->out_fd >= 0 && rounds < 16; rounds++) {
		ssize_t r = read(p->out_fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				if (p->out_ev)
					event_del(p->out_ev);
				close(p->out_fd);
				p->out_fd = -1;
			}
			return;
		}
		/* keep the tail */
		size_t k = (size_t)r;
		if (k >= OUTPUT_KEEP - 1) {
			memcpy(p->output, buf + k - (OUTPUT_KEEP - 1), OUTPUT_KEEP - 1);
			p->out_len = OUTPUT_KEEP - 1;
		} else {
			if (p->out_len + k > OUTPUT_KEEP - 1) {
				size_t drop = p->out_len + k - (OUTPUT_KEEP - 1);
				memmove(p->output, p->output + drop, p->out_len - drop);
				p->out_len -= drop;
			}
			memcpy(p->output + p->out_len, buf, k);
			p->out_len += k;
		}
		p->output[p->out_len] = '\0';
	}
}

static void on_output(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	output_drain(arg);
}

/* The daemon's last output, made one line for a message. */
static const char *output_text(struct farm_process *p, char *buf, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < p->out_len && n + 1 < cap; i++) {
		char c = p->output[i];
		buf[n++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
	}
	while (n && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return n ? buf : "(none)";
}

/* ---- signals to its group ---- */

/* Sends sig to every process of group pgid except the guardian itself. Returns how many. */
static int group_signal(pid_t pgid, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[64], buf[512];
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == pgid)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		/* "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses */
		char *rp = strrchr(buf, ')');
		char state;
		long ppid, pgrp;
		if (!rp || sscanf(rp + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
			continue;
		if (pgrp == pgid && kill((pid_t)pid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- the capture ---- */

/*
 * The query line of a pending query: answered (reply given) or dropped;
 * closed: it met the daemon's closed port (stopped or killed), the kernel
 * answered it with a port unreachable.
 */
static void pending_line(struct farm_process *p, const struct pending *q,
			 const struct sniff_dns *reply, bool closed)
{
	struct history *h = env_history(p->env);
	char buf[1024], tb[16], rb[16];
	double now = env_now(p->env);
	if (!h)
		return;
	history_begin(h, now, "query");
	history_str(h, "resolver", p->name);
	history_str(h, "transport", q->tcp ? "tcp" : "udp");
	history_str(h, "src", addr_str(&q->peer, buf, sizeof buf));
	history_uint(h, "id", q->id);
	if (q->question) {
		wire_name_to_str(q->qname, buf, sizeof buf);
		history_str(h, "qname", buf);
		history_str(h, "qtype", answer_type_str(q->qtype, tb, sizeof tb));
		if (q->joined)
			farm_write_join(h, &q->join);
	}
	history_str(h, "action", reply ? "answered" : "dropped");
	if (reply) {
		history_str(h, "rcode", answer_rcode_str(reply->rcode, rb, sizeof rb));
		history_uint(h, "an", reply->ancount);
		if (reply->flags & WIRE_FLAG_TC)
			history_bool(h, "tc", true);
		if (reply->flags & WIRE_FLAG_AA)
			history_bool(h, "aa", true);
	}
	if (q->fault)
		history_uint(h, "fault", q->fault);
	if (closed)
		history_bool(h, "closed", true);
	double wait = now - q->at;
	history_double(h, "queue_ms", wait > 0 ? wait * 1000 : 0, 3);
	history_bool(h, "capture", true);
	history_end(h);
}

static void pending_remove(struct farm_process *p, size_t i)
{
	memmove(&p->pend[i], &p->pend[i + 1], (p->npend - i - 1) * sizeof *p->pend);
	p->npend--;
}

/* Writes every pending query older than wait_s (all: wait_s < 0) as dropped. */
static void pending_expire(struct farm_process *p, double wait_s, uint32_t fault)
{
	double now = env_now(p->env);
	size_t k = 0;
	while (k < p->npend && (wait_s < 0 || now - p->pend[k].at >= wait_s)) {
		if (!p->pend[k].fault)
			p->pend[k].fault = fault;
		pending_line(p, &p->pend[k], NULL, false);
		k++;
	}
	if (k) {
		memmove(p->pend, p->pend + k, (p->npend - k) * sizeof *p->pend);
		p->npend -= k;
	}
}

static void on_query(struct farm_process *p, const struct sniff_dns *d)
{
	struct pending one, *q = &one;
	/* Its port closed by a stop or a kill: the kernel answers (port
	 * unreachable), not the daemon. The query met that fault all the same
	 * (a kernel VIP DNATs to it until its health check sees it down), so
	 * its line is written now, joined, with the fault. */
	bool closed = p->state == FARM_DOWN;
	if (closed && !p->down_id)
		return; /* not started yet */
	if (addr_same_host(&d->src, &p->probe_local) && addr_port(&d->src) == addr_port(&p->probe_local))
		return; /* our own readiness probe */
	if (!closed && p->npend == PENDING_MAX) { /* full: the oldest waits no longer */
		pending_line(p, &p->pend[0], NULL, false);
		pending_remove(p, 0);
	}
	if (!closed)
		q = &p->pend[p->npend++];
	memset(q, 0, sizeof *q);
	q->at = env_now(p->env);
	q->peer = d->src;
	q->id = d->id;
	q->tcp = d->tcp;
	q->question = d->question;
	q->fault = closed ? p->down_id : p->hang_id;
	if (d->question) {
		memcpy(q->qname, d->qname, d->qname_len);
		q->qname_len = d->qname_len;
		q->qtype = d->qtype;
		q->joined = env_join(p->env, &p->addr, &d->src, d->qname, d->qname_len, d->qtype,
				     (int)d->id, &q->join);
	}
	if (closed)
		pending_line(p, q, NULL, true);
}

static void on_reply(struct farm_process *p, const struct sniff_dns *d)
{
	for (size_t i = 0; i < p->npend; i++) {
		struct pending *q = &p->pend[i];
		if (q->id != d->id || q->tcp != d->tcp || addr_port(&q->peer) != addr_port(&d->dst) ||
		    !addr_same_host(&q->peer, &d->dst))
			continue;
		if (q->question && d->question &&
		    (q->qtype != d->qtype || !wire_name_equal(q->qname, d->qname)))
			continue;
		pending_line(p, q, d, false);
		pending_remove(p, i);
		return;
	}
}

static bool is_member(const struct farm_process *p, const struct addr *a)
{
	return addr_port(a) == addr_port(&p->addr) && addr_same_host(a, &p->addr);
}

static void on_capture(evutil_socket_t fd, short what, void *arg)
{
	struct farm_process *p = arg;
	uint8_t *pkt = p->capbuf;
	(void)what;
	for (int i = 0; i < CAPTURE_BATCH; i++) {
		struct sockaddr_ll ll;
		socklen_t sl = sizeof ll;
		ssize_t n = recvfrom(fd, pkt, CAPTURE_SNAP, MSG_DONTWAIT, (struct sockaddr *)&ll, &sl);
		if (n < 0)
			return; /* EAGAIN: drained for now */
		if (ll.sll_pkttype == PACKET_OUTGOING)
			continue; /* loopback shows each packet twice: keep the incoming copy */
		struct sniff_dns d;
		if (sniff_parse(pkt, (size_t)n, &d) != SNIFF_OK)
			continue;
		if (!d.response && is_member(p, &d.dst))
			on_query(p, &d);
		else if (d.response && (is_member(p, &d.src) || env_fronts(p->env, &d.src, &p->addr)))
			on_reply(p, &d); /* from it, or from a kernel VIP in front of it (un-DNATed) */
	}
}

/*
 * A kernel filter so that the socket queues only UDP to or from its port
 * UDP or TCP (IPv4 with any header length, IPv6 without extension headers): the
 * loopback traffic of everything else never reaches the loop. sniff.c and
 * is_member decide for themselves all the same.
 */
static void capture_filter(int fd, uint16_t port)
{
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
		/* 1 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 1, 0),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 8, 16),
		/* 4 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9), /* IPv4: the protocol */
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 1, 0),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 13),
		/* 7 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), /* X = the header's length */
		/* 8 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 9, 0),
		/* 10 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 7, 8),
		/* 12 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6), /* IPv6: the next header */
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 1, 0),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 5),
		/* 15 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 40),
		/* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 2, 0),
		/* 17 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 42),
		/* 18 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		/* 19 */ BPF_STMT(BPF_RET | BPF_K, 0xffff),
		/* 20 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof code / sizeof code[0]), code };
	(void)setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

static int capture_open(struct farm_process *p, char *err, size_t errlen)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		snprintf(err, errlen,
			 "cannot capture its queries on loopback (AF_PACKET socket: %s): run as "
			 "root or in the run's sandbox (CAP_NET_RAW is needed)",
			 strerror(errno));
		return -1;
	}
	struct sockaddr_ll ll;
	memset(&ll, 0, sizeof ll);
	ll.sll_family = AF_PACKET;
	ll.sll_protocol = htons(ETH_P_ALL);
	ll.sll_ifindex = (int)if_nametoindex("lo");
	capture_filter(fd, addr_port(&p->addr));
	int buf = CAPTURE_RCVBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	if (ll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&ll, sizeof ll) != 0) {
		snprintf(err, errlen, "cannot capture on loopback (bind to lo: %s)", strerror(errno));
		close(fd);
		return -1;
	}
	p->cap_fd = fd;
	return 0;
}

/* ---- readiness ---- */

static int probe_send(struct farm_process *p)
{
	uint8_t q[WIRE_HEADER_LEN + WIRE_NAME_MAX + 4];
	size_t olen = p->origin_len;
	const uint8_t *origin = p->origin_wire;
	p->probe_id = (uint16_t)(p->probe_id * 31 + 7);
	memset(q, 0, WIRE_HEADER_LEN);
	wire_put16(q, p->probe_id);
	wire_put16(q + 4, 1);
	memcpy(q + WIRE_HEADER_LEN, origin, olen);
	wire_put16(q + WIRE_HEADER_LEN + olen, DNS_TYPE_SOA);
	wire_put16(q + WIRE_HEADER_LEN + olen + 2, 1);
	return send(p->probe_fd, q, WIRE_HEADER_LEN + olen + 4, MSG_DONTWAIT) < 0 ? -1 : 0;
}

/*
 * A secondary's readiness: the reply's rcode, or -2 when NOERROR holds no
 * SOA of its origin in the answer section; 0 with that SOA's serial in
 * *serial. -3: malformed.
 */
static int soa_answer(const struct farm_process *p, const uint8_t *buf, size_t n,
		      uint32_t *serial)
{
	uint8_t name[WIRE_NAME_MAX], rdata[2 * WIRE_NAME_MAX + 20];
	size_t pos = WIRE_HEADER_LEN, nl;
	int rcode = wire_get16(buf + 2) & 0xf;
	if (rcode != DNS_RCODE_NOERROR)
		return rcode;
	for (unsigned i = 0; i < wire_get16(buf + 4); i++) {
		if (wire_name_read(buf, n, &pos, name, &nl) != 0 || pos + 4 > n)
			return -3;
		pos += 4;
	}
	for (unsigned i = 0; i < wire_get16(buf + 6); i++) {
		struct wire_rr rr;
		if (wire_rr_read(buf, n, &pos, &rr, rdata, sizeof rdata) != 0)
			return -3;
		if (rr.type != DNS_TYPE_SOA || rr.rclass != DNS_CLASS_IN ||
		    !wire_name_equal(rr.owner, p->origin_wire))
			continue;
		/* decompressed and checked by wire_rr_read: MNAME, RNAME, 5 numbers */
		size_t a = wire_name_len(rr.rdata);
		size_t b = wire_name_len(rr.rdata + a);
		if (a + b + 20 > rr.rdlen)
			return -3;
		*serial = wire_get32(rr.rdata + a + b);
		return 0;
	}
	return -2;
}

/*
 * 1: an answer to our probe arrived that makes it ready (any reply; a
 * secondary's: NOERROR with its SOA, its serial in p->probe_serial); 0: not
 * yet.
 */
static int probe_read(struct farm_process *p)
{
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = recv(p->probe_fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			return 0; /* EAGAIN, or refused: not listening yet */
		if (n < WIRE_HEADER_LEN || wire_get16(buf) != p->probe_id ||
		    !(wire_get16(buf + 2) & WIRE_FLAG_QR))
			continue;
		if (!p->source)
			return 1;
		p->probe_rcode = soa_answer(p, buf, (size_t)n, &p->probe_serial);
		if (p->probe_rcode == 0)
			return 1;
	}
}

static int probe_open(struct farm_process *p)
{
	p->probe_fd = socket(p->addr.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->probe_fd < 0)
		return -1;
	if (connect(p->probe_fd, (struct sockaddr *)&p->addr.ss, p->addr.len) != 0)
		return -1;
	p->probe_local.len = sizeof p->probe_local.ss;
	getsockname(p->probe_fd, (struct sockaddr *)&p->probe_local.ss, &p->probe_local.len);
	return 0;
}

static void probe_close(struct farm_process *p)
{
	if (p->probe_ev) {
		event_free(p->probe_ev);
		p->probe_ev = NULL;
	}
	if (p->probe_timer)
		event_del(p->probe_timer);
	p->spawn_due = false;
	if (p->probe_fd >= 0)
		close(p->probe_fd);
	p->probe_fd = -1;
}

/* Kills the group and reaps the guardian (fast: SIGKILL). */
static void reap(struct farm_process *p)
{
	int status;
	if (!p->pid)
		return;
	if (spawn_ended(p->pid) >= 0)
		(void)spawn_reap(p->pid, &status);
	p->pid = 0;
	output_drain(p);
	if (p->out_ev)
		event_del(p->out_ev);
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
	if (p->watch_timer)
		event_del(p->watch_timer);
}

/* Why the daemon is not up: it ended, or it did not answer in time. */
static void boot_error(struct farm_process *p, bool ended, char *err, size_t errlen)
{
	char out[OUTPUT_KEEP], a[80];
	output_drain(p);
	addr_str(&p->addr, a, sizeof a);
	if (ended) {
		int status = 0;
		spawn_reap(p->pid, &status);
		p->pid = 0;
		char how[64];
		if (WIFEXITED(status))
			snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof how, "ended");
		snprintf(err, errlen,
			 "%s (%s): %s %s before it answered an SOA query for %s at %s (a daemon "
			 "must run in the foreground: unbound -d, nsd -d); its output: %s",
			 p->name, p->where, p->argv[0], how, p->origin, a,
			 output_text(p, out, sizeof out));
	} else if (p->source) {
		char last[64], sa[80], rb[16];
		if (p->probe_rcode == -1)
			snprintf(last, sizeof last, "none");
		else if (p->probe_rcode == -2)
			snprintf(last, sizeof last, "NOERROR without the zone's SOA");
		else if (p->probe_rcode == -3)
			snprintf(last, sizeof last, "a malformed reply");
		else
			snprintf(last, sizeof last, "%s",
				 answer_rcode_str((uint16_t)p->probe_rcode, rb, sizeof rb));
		snprintf(err, errlen,
			 "%s (%s): %s did not answer an SOA query for %s at %s with NOERROR and "
			 "the zone's SOA within %g s (its last answer: %s); it is a secondary of "
			 "%s at %s, %s; its output: %s",
			 p->name, p->where, p->argv[0], p->origin, a, p->start_timeout_s, last,
			 farm_source_name(p->source),
			 addr_str(farm_source_addr(p->source), sa, sizeof sa),
			 farm_source_running(p->source)
				 ? "which serves: did it ask for a transfer (request-xfr: AXFR "
				   "{source} NOKEY)?"
				 : "which is down: it could not transfer the zone",
			 output_text(p, out, sizeof out));
	} else {
		snprintf(err, errlen,
			 "%s (%s): %s did not answer an SOA query for %s at %s within %g s; its "
			 "output: %s",
			 p->name, p->where, p->argv[0], p->origin, a, p->start_timeout_s,
			 output_text(p, out, sizeof out));
	}
}

/*
 * What it booted, once ready: the file put in place; a secondary's, the
 * serial it answered: the file's version if that is the file's serial (a
 * stale secondary serving its old copy), else the version its source
 * published under that serial (a transfer), else none known (a digest of
 * null in its boot line).
 */
static void settle(struct farm_process *p)
{
	struct zone_version *v = p->put;
	p->from_file = p->put != NULL;
	p->boot_serial = p->put ? zone_version_serial(p->put) : 0;
	if (p->source) {
		p->boot_serial = p->probe_serial;
		if (!p->put || zone_version_serial(p->put) != p->probe_serial) {
			p->from_file = false;
			v = farm_source_version(p->source, p->origin_wire, p->origin_len,
						p->probe_serial);
		}
	}
	if (v)
		zone_version_ref(v);
	zone_version_unref(p->serving);
	p->serving = v;
}

static void watch_arm(struct farm_process *p);

static void booted(struct farm_process *p)
{
	probe_close(p);
	settle(p);
	p->state = FARM_UP;
	record_state(p, "booted");
	record_boot(p, NULL);
	env_emit(p->env, p, "booted");
	watch_arm(p);
}

static void boot_failed(struct farm_process *p, bool ended)
{
	char err[OUTPUT_KEEP + 1024];
	probe_close(p);
	boot_error(p, ended, err, sizeof err);
	if (p->pid) {
		kill(-p->pid, SIGKILL);
		reap(p);
	}
	p->state = FARM_DOWN;
	record_boot(p, err);
	record_state(p, "boot failed");
	env_fail(p->env, "%s", err);
}

static void spawn_when_free(struct farm_process *p);

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct farm_process *p = arg;
	(void)fd;
	if ((what & EV_READ) && probe_read(p)) {
		booted(p);
		return;
	}
	if ((what & EV_TIMEOUT) && p->spawn_due) {
		spawn_when_free(p);
		return;
	}
	if (what & EV_TIMEOUT) {
		output_drain(p);
		int ended = spawn_ended(p->pid);
		if (ended != 0) {
			boot_failed(p, true);
			return;
		}
		if (env_clock(p->env) - p->boot_started > p->start_timeout_s) {
			boot_failed(p, false);
			return;
		}
		(void)probe_send(p);
	}
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct farm_process *p = arg;
	(void)fd;
	(void)what;
	output_drain(p);
	pending_expire(p, PENDING_WAIT_S, 0);
	if (p->pid && p->state == FARM_UP && spawn_ended(p->pid) != 0) {
		char out[OUTPUT_KEEP];
		reap(p);
		pending_expire(p, -1, 0);
		p->state = FARM_DOWN;
		hang_end(p, false);
		env_say(p->env, "%s exited by itself; its output: %s", p->name,
			output_text(p, out, sizeof out));
		record_state(p, "exited");
		env_emit(p->env, p, "crashed");
	}
}

static void watch_arm(struct farm_process *p)
{
	struct timeval tv = clock_timeval(WATCH_EVERY_S);
	if (p->watch_timer)
		event_add(p->watch_timer, &tv);
}

/* ---- the lifecycle ---- */

struct farm_process *farm_process_create(struct run_env *env, const struct farm_process_config *c,
					 char *err, size_t errlen)
{
	struct farm_process *p = calloc(1, sizeof *p);
	char tmp[8192];
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->env = env;
	p->pid = 0;
	p->out_fd = p->probe_fd = p->cap_fd = -1;
	snprintf(p->name, sizeof p->name, "%s", c->name);
	snprintf(p->where, sizeof p->where, "%s", c->where);
	p->addr = c->addr;
	p->start_timeout_s = c->start_timeout_s > 0 ? c->start_timeout_s : 10;
	p->probe_rcode = -1;
	p->source = c->source;
	/* Its zone: the file's; a pure secondary's, its source's first. */
	const struct zone_version *oz = c->zone;
	if (!oz && c->source)
		oz = zone_set_at(farm_source_zones(c->source), 0);
	if (!oz) {
		snprintf(err, errlen, "zone_file = 'path' or source = <zone source> is required");
		goto fail;
	}
	if (c->zone)
		p->zone = zone_version_ref(c->zone);
	const uint8_t *ow = zone_version_origin(oz, &p->origin_len);
	memcpy(p->origin_wire, ow, p->origin_len);
	wire_name_to_str(p->origin_wire, p->origin, sizeof p->origin);
	if (c->source) {
		const char *sn = farm_source_name(c->source);
		if (!zone_set_has(farm_source_zones(c->source), p->origin_wire, p->origin_len)) {
			snprintf(err, errlen,
				 "source '%s' publishes no zone %s (the origin of its zone_file): a "
				 "secondary serves a zone its source publishes",
				 sn, p->origin);
			goto fail;
		}
		/* Its port now, so that {source} can be written into the config. */
		if (!c->describe_only && farm_source_pin_port(c->source, err, errlen) != 0)
			goto fail;
		addr_host(farm_source_addr(c->source), p->source_addr, sizeof p->source_addr);
		snprintf(p->source_port, sizeof p->source_port, "%u",
			 addr_port(farm_source_addr(c->source)));
		snprintf(p->source_at, sizeof p->source_at, "%s@%s", p->source_addr,
			 p->source_port);
	}
	p->argv = calloc(c->argc + 1, sizeof *p->argv);
	p->pend = calloc(PENDING_MAX, sizeof *p->pend);
	p->capbuf = malloc(CAPTURE_SNAP);
	if (!p->argv || !p->pend || !p->capbuf)
		goto oom;
	p->argc = c->argc;
	for (size_t i = 0; i < c->argc; i++)
		if (!(p->argv[i] = strdup(c->argv[i])))
			goto oom;
	if (c->config_text && !(p->config = strdup(c->config_text)))
		goto oom;
	if (c->config_path) {
		FILE *f = fopen(c->config_path, "re");
		if (!f) {
			snprintf(err, errlen, "config: cannot read %s: %s", c->config_path,
				 strerror(errno));
			goto fail;
		}
		size_t n = 0, cap = 0;
		char *text = NULL;
		for (;;) {
			if (n + 4096 + 1 > cap) {
				cap = cap ? cap * 2 : 8192;
				char *t = cap > (16u << 20) ? NULL : realloc(text, cap);
				if (!t) {
					free(text);
					fclose(f);
					snprintf(err, errlen, "config: %s is too large (16 MiB at most)",
						 c->config_path);
					goto fail;
				}
				text = t;
			}
			size_t r = fread(text + n, 1, 4096, f);
			n += r;
			if (r < 4096)
				break;
		}
		fclose(f);
		text[n] = '\0';
		p->config = text;
		const char *base = strrchr(c->config_path, '/');
		base = base ? base + 1 : c->config_path;
		snprintf(p->config_name, sizeof p->config_name, "%.200s", base);
		size_t bl = strlen(p->config_name);
		if (bl > 3 && strcmp(p->config_name + bl - 3, ".in") == 0)
			p->config_name[bl - 3] = '\0';
	}
	if (!p->config_name[0])
		snprintf(p->config_name, sizeof p->config_name, "daemon.conf");
	/* A free port now, so that the command can be told it. */
	if (addr_port(&p->addr) == 0) {
		int s = socket(p->addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct addr got = p->addr;
		got.len = sizeof got.ss;
		if (s < 0 || bind(s, (struct sockaddr *)&p->addr.ss, p->addr.len) != 0 ||
		    getsockname(s, (struct sockaddr *)&got.ss, &got.len) != 0) {
			snprintf(err, errlen, "cannot find a free port on %s: %s",
				 addr_str(&p->addr, tmp, sizeof tmp), strerror(errno));
			if (s >= 0)
				close(s);
			goto fail;
		}
		close(s);
		addr_set_port(&p->addr, addr_port(&got));
	}
	if (!c->describe_only && capture_open(p, err, errlen) != 0)
		goto fail;
	snprintf(p->dir, sizeof p->dir, "/tmp/dnschaos-%.40s-XXXXXX", p->name);
	for (char *s = p->dir + 5; *s; s++)
		if (*s == '/')
			*s = '_';
	if (c->describe_only) {
		p->dir[0] = '\0'; /* placeholders still checked; nothing is made */
	} else if (!mkdtemp(p->dir)) {
		snprintf(err, errlen, "cannot make its directory %s: %s", p->dir, strerror(errno));
		p->dir[0] = '\0';
		goto fail;
	}
	if (c->zone) {
		const char *zbase = strrchr(zone_version_source(c->zone), '/');
		zbase = zbase ? zbase + 1 : zone_version_source(c->zone);
		snprintf(p->zone_path, sizeof p->zone_path, "%s/zone-%.200s", p->dir, zbase);
	} else {
		/* No file is put there (but an old one by a start or restart): its path
		 * all the same, for a daemon that keeps its own copy of what it got. */
		snprintf(p->zone_path, sizeof p->zone_path, "%s/secondary-%.200szone", p->dir,
			 strcmp(p->origin, ".") == 0 ? "root." : p->origin);
	}
	snprintf(p->config_path, sizeof p->config_path, "%s/%s", p->dir, p->config_name);
	/* Every placeholder is checked now, at the declaration. */
	for (size_t i = 0; i < p->argc; i++) {
		char e[256];
		if (expand(p, p->argv[i], tmp, sizeof tmp, e, sizeof e) != 0) {
			snprintf(err, errlen, "command[%zu]: %s", i + 1, e);
			goto fail;
		}
	}
	if (p->config && !c->describe_only && write_config(p, err, errlen) != 0)
		goto fail;
	if (p->cap_fd >= 0)
		p->cap_ev = event_new(env_base(env), p->cap_fd, EV_READ | EV_PERSIST, on_capture, p);
	p->watch_timer = event_new(env_base(env), -1, EV_PERSIST, on_watch, p);
	p->probe_timer = event_new(env_base(env), -1, EV_PERSIST, on_probe, p);
	p->hang_timer = evtimer_new(env_base(env), hang_due, p);
	if ((p->cap_fd >= 0 && !p->cap_ev) || !p->watch_timer || !p->probe_timer || !p->hang_timer)
		goto oom;
	return p;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	farm_process_destroy(p);
	return NULL;
}

void farm_process_destroy(struct farm_process *p)
{
	if (!p)
		return;
	if (p->pid) {
		kill(-p->pid, SIGKILL);
		reap(p);
	}
	probe_close(p);
	struct event *evs[] = {p->cap_ev, p->watch_timer, p->probe_timer, p->out_ev, p->hang_timer};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	if (p->cap_fd >= 0)
		close(p->cap_fd);
	if (p->dir[0])
		nftw(p->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; p->argv && i < p->argc; i++)
		free(p->argv[i]);
	free(p->argv);
	free(p->config);
	free(p->pend);
	free(p->capbuf);
	zone_version_unref(p->zone);
	zone_version_unref(p->put);
	zone_version_unref(p->serving);
	free(p);
}

const char *farm_process_name(const struct farm_process *p)
{
	return p->name;
}

const struct addr *farm_process_addr(const struct farm_process *p)
{
	return &p->addr;
}

enum farm_state farm_process_state(const struct farm_process *p)
{
	return p->state;
}

int64_t farm_process_serial(const struct farm_process *p)
{
	return p->state == FARM_UP ? (int64_t)p->boot_serial : -1;
}

bool farm_process_hung(const struct farm_process *p)
{
	return p->hang_id != 0;
}

bool farm_process_fault_at(const struct farm_process *p, size_t i, uint32_t *id, const char **kind,
                           double *left)
{
	if (p->hang_id && i-- == 0) {
		*id = p->hang_id;
		*kind = "hang";
		*left = farm_process_hang_left(p);
		return true;
	}
	if (!p->down_id || i != 0)
		return false;
	*id = p->down_id;
	*kind = p->down_kind;
	*left = -1; /* until a start (a restart's: until it is up) */
	return true;
}

double farm_process_hang_left(const struct farm_process *p)
{
	if (!p->hang_id || p->hang_until <= 0)
		return -1;
	double left = p->hang_until - env_now(p->env);
	return left > 0 ? left : 0;
}

/*
 * Puts z's file in place as {zone_file} (referenced as p->put); NULL: removes
 * whatever is there (a secondary without a file transfers its zone).
 */
static int put_zone(struct farm_process *p, struct zone_version *z, char *err, size_t errlen)
{
	if (z)
		zone_version_ref(z);
	zone_version_unref(p->put);
	p->put = z;
	p->from_file = z != NULL; /* what it is to boot; settle() says what it did */
	if (z)
		return copy_file(zone_version_source(z), p->zone_path, err, errlen);
	if (unlink(p->zone_path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", p->zone_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Spawns the command (expanded). */
static int spawn_daemon(struct farm_process *p, char *err, size_t errlen)
{
	char **argv = calloc(p->argc + 1, sizeof *argv);
	/* TMPDIR: its own directory. In the sandbox every run has a pid namespace
	 * of its own, so daemons of two runs at once get the same pids, and names
	 * made of a pid in the shared /tmp (nsd's default xfrdir /tmp/nsd-xfr-PID)
	 * collide: one daemon's transfer is deleted by the other's. */
	const char *tmpdir[] = { "TMPDIR", p->dir };
	char **envp = spawn_env_new(tmpdir, 1);
	int rc = -1;
	if (!argv || !envp) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->argc; i++) {
		char buf[8192], e[256];
		if (expand(p, p->argv[i], buf, sizeof buf, e, sizeof e) != 0) {
			snprintf(err, errlen, "command[%zu]: %s", i + 1, e);
			goto out;
		}
		if (!(argv[i] = strdup(buf))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	p->out_len = 0;
	p->output[0] = '\0';
	p->probe_rcode = -1;
	int e = spawn_piped(argv[0], argv, envp, true, &p->pid, &p->out_fd);
	if (e != 0) {
		snprintf(err, errlen, "%s (%s): cannot run %s: %s", p->name, p->where, argv[0],
			 strerror(e));
		p->pid = 0;
		goto out;
	}
	if (p->out_ev)
		event_free(p->out_ev);
	p->out_ev = event_new(env_base(p->env), p->out_fd, EV_READ | EV_PERSIST, on_output, p);
	if (p->out_ev)
		event_add(p->out_ev, NULL);
	rc = 0;
out:
	for (size_t i = 0; argv && i < p->argc; i++)
		free(argv[i]);
	free(argv);
	spawn_env_free(envp);
	return rc;
}

/* Blocks until the daemon answers its probe: 0, or -1 with err set (it ended, or timed out). */
static int wait_ready(struct farm_process *p, char *err, size_t errlen)
{
	double next = 0;
	for (;;) {
		double now = env_clock(p->env);
		if (now >= next) {
			(void)probe_send(p);
			next = now + PROBE_EVERY_S;
		}
		if (p->source) {
			/* Its source serves the transfer from the loop: the loop runs
			 * while it waits (before the run's clock starts only the
			 * source and the daemon's output are on it). */
			struct timeval tv = clock_timeval(PROBE_EVERY_S);
			if (event_base_loopexit(env_base(p->env), &tv) == 0)
				(void)event_base_dispatch(env_base(p->env));
		} else {
			struct pollfd pf[2] = { { p->probe_fd, POLLIN, 0 },
						{ p->out_fd, POLLIN, 0 } };
			(void)poll(pf, p->out_fd >= 0 ? 2 : 1, (int)(PROBE_EVERY_S * 1000));
		}
		output_drain(p);
		if (probe_read(p))
			return 0;
		bool ended = spawn_ended(p->pid) != 0;
		if (ended || env_clock(p->env) - p->boot_started > p->start_timeout_s) {
			probe_close(p);
			boot_error(p, ended, err, errlen);
			if (p->pid) {
				kill(-p->pid, SIGKILL);
				reap(p);
			}
			return -1;
		}
	}
}

int farm_process_launch(struct farm_process *p, char *err, size_t errlen)
{
	if (p->state != FARM_DOWN || p->launched)
		return 0;
	/* A secondary transfers from its source: serving before the run's clock
	 * starts (its initial versions are recorded when the run starts). */
	if (p->source && !farm_source_running(p->source) &&
	    farm_source_start(p->source, err, errlen) != 0)
		return -1;
	if (put_zone(p, p->zone, err, errlen) != 0)
		return -1;
	if (spawn_daemon(p, err, errlen) != 0 || probe_open(p) != 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot open a socket: %s", p->name, strerror(errno));
		if (p->pid) {
			kill(-p->pid, SIGKILL);
			reap(p);
		}
		probe_close(p);
		return -1;
	}
	p->boot_started = env_clock(p->env);
	if (wait_ready(p, err, errlen) != 0)
		return -1;
	p->launched = true;
	return 0;
}

/*
 * True while something holds the daemon's address: a UDP bind or a TCP
 * listen on it would fail. Anything else (no permission, no socket) is
 * the daemon's own to report.
 */
static bool addr_busy(const struct farm_process *p)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		int fd = socket(p->addr.ss.ss_family, types[i] | SOCK_CLOEXEC, 0), one = 1;
		if (fd < 0)
			return false;
		/* As a daemon's TCP socket does: a connection in TIME_WAIT is no holder. */
		if (types[i] == SOCK_STREAM)
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		int rc = bind(fd, (const struct sockaddr *)&p->addr.ss, p->addr.len), e = errno;
		close(fd);
		if (rc != 0 && e == EADDRINUSE)
			return true;
	}
	return false;
}

/* The daemon is spawned: its readiness is probed on the loop (a start after the clock started). */
static int probe_on_loop(struct farm_process *p, char *err, size_t errlen)
{
	p->probe_ev = event_new(env_base(p->env), p->probe_fd, EV_READ | EV_PERSIST, on_probe, p);
	struct timeval tv = clock_timeval(PROBE_EVERY_S);
	if (!p->probe_ev || event_add(p->probe_ev, NULL) != 0 || event_add(p->probe_timer, &tv) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	(void)probe_send(p);
	return 0;
}

/* A start waiting for its address (spawn_due), at each turn of the probe timer. */
static void spawn_when_free(struct farm_process *p)
{
	char err[1024], a[80];
	err[0] = '\0';
	bool busy = addr_busy(p);
	if (busy && env_clock(p->env) - p->boot_started <= p->start_timeout_s)
		return;
	probe_close(p); /* the timer, and spawn_due */
	if (busy)
		snprintf(err, sizeof err,
			 "%s (%s): cannot start: %s is still in use %.1f s after the daemon's last "
			 "run was killed",
			 p->name, p->where, addr_str(&p->addr, a, sizeof a), p->start_timeout_s);
	else if (spawn_daemon(p, err, sizeof err) == 0 && probe_open(p) == 0 &&
		 probe_on_loop(p, err, sizeof err) == 0)
		return;
	if (!err[0])
		snprintf(err, sizeof err, "%s: cannot open a socket: %s", p->name, strerror(errno));
	if (p->pid) {
		kill(-p->pid, SIGKILL);
		reap(p);
	}
	probe_close(p);
	p->state = FARM_DOWN;
	record_boot(p, err);
	record_state(p, "boot failed");
	env_fail(p->env, "%s", err);
}

int farm_process_start(struct farm_process *p, struct zone_version *zone, bool wait, char *err,
		       size_t errlen)
{
	if (p->launched && !zone) {
		/* Up already (farm_process_launch): the history hears of it now. */
		p->launched = false;
		if (p->put)
			env_know_version(p->env, p->put, CLASSIFY_DISK);
		if (env_history(p->env) && !event_pending(p->cap_ev, EV_READ, NULL))
			event_add(p->cap_ev, NULL);
		p->state = FARM_BOOTING;
		record_state(p, "starting");
		booted(p);
		return 0;
	}
	if (p->state != FARM_DOWN)
		return 0;
	struct zone_version *z = zone ? zone : p->zone;
	if (z && !wire_name_equal(zone_version_origin(z, NULL), p->origin_wire)) {
		char o[1024];
		wire_name_to_str(zone_version_origin(z, NULL), o, sizeof o);
		snprintf(err, errlen, "%s (%s): the zone file %s is of %s, not of its zone %s",
			 p->name, p->where, zone_version_source(z), o, p->origin);
		return -1;
	}
	if (put_zone(p, z, err, errlen) != 0)
		return -1;
	/* Known before the daemon can answer from it (its boot line comes
	 * once the probe sees an answer, maybe after a client's). */
	if (z)
		env_know_version(p->env, z, CLASSIFY_DISK);
	if (p->down_id) {
		record_fault(p, p->down_id, p->down_kind, "heal", 0);
		p->down_id = 0;
	}
	if (env_history(p->env) && !event_pending(p->cap_ev, EV_READ, NULL))
		event_add(p->cap_ev, NULL);
	if (!wait && addr_busy(p)) {
		/* A restart: the processes just killed may not have closed their
		 * sockets yet (the kernel tears a killed process down when it is
		 * next scheduled; on a loaded machine, later), and the daemon
		 * would fail to bind. It starts once the address is free. */
		p->spawn_due = true;
		p->state = FARM_BOOTING;
		record_state(p, "starting");
		p->boot_started = env_clock(p->env);
		struct timeval tv = clock_timeval(PROBE_EVERY_S);
		if (event_add(p->probe_timer, &tv) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (spawn_daemon(p, err, errlen) != 0 || probe_open(p) != 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot open a socket: %s", p->name, strerror(errno));
		if (p->pid) {
			kill(-p->pid, SIGKILL);
			reap(p);
		}
		probe_close(p);
		return -1;
	}
	p->state = FARM_BOOTING;
	record_state(p, "starting");
	p->boot_started = env_clock(p->env);
	if (wait) {
		/* Nothing else runs yet (a start-up without farm_process_launch): wait here. */
		if (wait_ready(p, err, errlen) != 0) {
			p->state = FARM_DOWN;
			record_boot(p, err);
			record_state(p, "boot failed");
			return -1;
		}
		booted(p);
		return 0;
	}
	return probe_on_loop(p, err, errlen);
}

void farm_process_stop(struct farm_process *p, const char *why)
{
	bool fault = strcmp(why, "end") != 0 && strcmp(why, "restart") != 0;
	if (p->state == FARM_DOWN && !p->pid)
		goto out;
	if (fault) {
		p->down_id = env_next_id(p->env);
		p->down_kind = why;
		record_fault(p, p->down_id, why, "inject", 0);
	}
	hang_end(p, true); /* a killed process is no longer hung */
	probe_close(p);
	if (p->pid) {
		kill(-p->pid, SIGKILL);
		reap(p);
	}
	pending_expire(p, -1, p->down_id);
	p->state = FARM_DOWN;
	record_state(p, why);
	env_emit(p->env, p, strcmp(why, "end") == 0 || strcmp(why, "stop") == 0 ? "stopped"
										  : "crashed");
out:
	if (strcmp(why, "end") == 0) {
		if (p->down_id) {
			record_fault(p, p->down_id, p->down_kind, "heal", 0);
			p->down_id = 0;
		}
		if (p->cap_ev)
			event_del(p->cap_ev);
		if (p->watch_timer)
			event_del(p->watch_timer);
		pending_expire(p, -1, 0);
	}
}

int farm_process_restart(struct farm_process *p, struct zone_version *zone, char *err,
			 size_t errlen)
{
	uint32_t id = env_next_id(p->env);
	if (p->down_id) {
		record_fault(p, p->down_id, p->down_kind, "heal", 0);
		p->down_id = 0;
	}
	record_fault(p, id, "restart", "inject", 0);
	farm_process_stop(p, "restart");
	p->down_id = id;
	p->down_kind = "restart";
	return farm_process_start(p, zone, false, err, errlen);
}

uint32_t farm_process_hang(struct farm_process *p, double duration_s)
{
	if (!p->pid || p->state == FARM_DOWN)
		return 0;
	if (p->hang_id)
		return p->hang_id; /* hung already: that hang, its duration unchanged */
	p->hang_id = env_next_id(p->env);
	group_signal(p->pid, SIGSTOP);
	if (duration_s > 0) {
		/* A fake resolver's fault arms its heal the same way (fault_add). */
		struct timeval tv = clock_timeval(duration_s);
		p->hang_until = env_now(p->env) + duration_s;
		event_base_update_cache_time(env_base(p->env));
		evtimer_add(p->hang_timer, &tv);
	}
	record_fault(p, p->hang_id, "hang", "inject", duration_s);
	return p->hang_id;
}

int farm_process_continue(struct farm_process *p)
{
	if (!p->hang_id)
		return 0;
	if (p->pid)
		group_signal(p->pid, SIGCONT);
	hang_end(p, true);
	return 1;
}
