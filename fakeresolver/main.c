/*
 * main.c - the standalone fakeresolver daemon: serves zone files on loopback
 * addresses, reloads them on SIGHUP, exits cleanly on SIGTERM and SIGINT.
 */
#define _GNU_SOURCE /* pipe2 */
#include "fakeresolver/clock.h"
#include "fakeresolver/control.h"
#include "fakeresolver/json.h"
#include "fakeresolver/server.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

/* Exit codes, shared with dnschaos (docs/exit-codes.md). */
enum {
	EXIT_OK = 0,
	EXIT_BAD_INPUT = 3, /* arguments, zone files */
	EXIT_RUNTIME = 4,   /* cannot bind, out of memory, internal error */
};

#define MAX_LISTEN 16
#define MAX_ZONES 256
#define MAX_FAULTS 256

struct zone_load;

/*
 * A SIGHUP reload: the files are loaded on a thread of their own while the
 * loop keeps serving the old set; the thread then writes one byte to a pipe,
 * and the loop (reload_done) assembles the new set and swaps it in.
 */
struct reload {
	struct zone_load *load; /* the load under way; NULL when none */
	pthread_t thread;
	bool running;           /* thread started and not yet joined */
	bool again;             /* a SIGHUP came during the load: load again after it */
	int pipe[2];            /* the thread writes one byte to [1] when it is done */
	struct event *done_ev;  /* [0] readable */
	struct timespec started;
	/* A publish: this load is one file, merged into the served set. */
	bool publish;
	char *publish_path;                /* owned */
	struct control_conn *publish_conn; /* waits for the reply; NULL once it closed */
};

/*
 * A fault set over the control connection. Every one ends: with a duration
 * its timer heals it; without, it belongs to the connection that set it and
 * heals when that connection closes.
 */
enum dfault_type { DF_PLAN, DF_CAPACITY, DF_STOP };
struct dfault {
	struct daemon *d;
	uint32_t id;
	uint32_t plan_id; /* DF_PLAN: its id in the fault plan */
	enum dfault_type type;
	const char *kind; /* "hang", ..., "capacity", "stop" */
	struct control_conn *owner; /* heals when it closes; NULL: the timer heals it */
	struct event *timer;
	double expires;   /* monotonic; 0 without a duration */
};

struct daemon {
	struct event_base *base;
	struct reload reload;
	struct zone_set *zones;
	struct server *servers[MAX_LISTEN];
	size_t nservers;
	size_t nlisten; /* servers when the ports are open */
	const char *zone_files[MAX_ZONES];
	size_t nzones;
	char *zone_owned[MAX_ZONES]; /* zone_files[i] when a publish put it there */
	FILE *log;
	bool log_owned;
	bool quiet;
	struct timespec start; /* monotonic */
	/* The control connection (NULL without --control). */
	struct control *control;
	struct server_config listen_cfg[MAX_LISTEN]; /* each server's, port as bound */
	struct fault_plan *plan;
	struct rng rng;
	struct dfault *faults[MAX_FAULTS];
	size_t nfaults;
	uint32_t next_id;
	uint64_t next_tag;           /* arrive events: a query entering the capacity queue */
	bool stopped;                /* the DNS ports are closed by a stop */
	struct event *retry_timer;   /* reopening the ports failed: try again */
	struct server_stats totals;  /* of servers closed by a stop */
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: fakeresolver --listen ADDR[:PORT] --zone FILE [options]\n"
	        "\n"
	        "Serves DNS zones from RFC 1035 master files, authoritatively, over UDP and TCP.\n"
	        "\n"
	        "  -l, --listen ADDR[:PORT]   address to serve on; repeatable. Port 53 if "
	        "omitted,\n"
	        "                             0 for any free port (the chosen one is printed).\n"
	        "                             Only 127.0.0.0/8 and [::1] unless "
	        "--allow-non-loopback.\n"
	        "  -z, --zone FILE            zone file to serve; repeatable, one zone per file.\n"
	        "                             The first record must be the SOA: it names the "
	        "zone.\n"
	        "  -q, --query-log FILE       log every query as a JSON line to FILE ('-' = "
	        "stdout)\n"
	        "      --tcp-idle-timeout SEC close TCP connections idle this long (default 10)\n"
	        "      --tcp-max-connections N  TCP connections at most (default 128); a new one\n"
	        "                             beyond closes the oldest stalled one, or is refused\n"
	        "      --tcp-max-per-address N  the same, per client address (default 64, 0: "
	        "none)\n"
	        "      --tcp-message-timeout SEC  close a TCP connection whose message is not "
	        "whole\n"
	        "                             SEC after its first byte (default 5, 0: never)\n"
	        "      --no-tcp, --no-udp     serve on one transport only\n"
	        "      --control ADDR[:PORT]  take fault, publish, stop/start, status and watch\n"
	        "                             (every query as a line) commands over TCP here\n"
	        "                             (port 0 or none: a free one, printed)\n"
	        "      --control-token-file FILE  the shared token a controller must send first;\n"
	        "                             mode 0600 or stricter, 16 to 256 printable octets\n"
	        "      --allow-non-loopback   permit listen and control addresses outside "
	        "loopback\n"
	        "      --quiet                print nothing but errors\n"
	        "  -h, --help                 this text\n"
	        "  -V, --version              print the version\n"
	        "\n"
	        "Signals: SIGHUP reloads every zone file, loading on a thread while the old\n"
	        "zones keep serving (a file that fails to load keeps its old version serving,\n"
	        "and the reason is printed; a SIGHUP during a load loads again after it);\n"
	        "SIGTERM and SIGINT print the TCP counters and exit.\n"
	        "\n"
	        "Exit status: 0 clean exit on a signal, 3 bad arguments or zone file,\n"
	        "4 runtime error (cannot listen, out of memory).\n");
}

static void say(const struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct daemon *d, const char *fmt, ...)
{
	if (d->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("fakeresolver: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * One load of every zone file: what zone_load_run fills in, file by file,
 * without touching anything the serving loop uses, so that it can run on the
 * reload thread. zone_load_assemble then turns it into a set on the loop.
 */
struct zone_load {
	const char *const *files; /* borrowed: the daemon's --zone list */
	size_t nfiles;
	struct zone_version *v[MAX_ZONES]; /* owned; NULL for a file that failed */
	char *err[MAX_ZONES];              /* owned: "FILE:LINE: reason" where v is NULL */
};

/* Loads every file of l. Touches nothing but l: safe on any thread. */
static void zone_load_run(struct zone_load *l)
{
	char err[1024];
	for (size_t i = 0; i < l->nfiles; i++) {
		err[0] = '\0';
		l->v[i] = zone_version_load(l->files[i], NULL, err, sizeof err);
		if (!l->v[i])
			l->err[i] = strdup(err);
	}
}

/* Drops what l still holds (NULL is a no-op); l itself stays. */
static void zone_load_clear(struct zone_load *l)
{
	for (size_t i = 0; l && i < l->nfiles; i++) {
		zone_version_unref(l->v[i]);
		l->v[i] = NULL;
		free(l->err[i]);
		l->err[i] = NULL;
	}
}

/*
 * Builds the set to serve from a finished load, on the serving thread: each
 * loaded version, and for a file that failed, the version old served from it
 * (a reload keeps it). Prints what a reader needs (errors with FILE:LINE,
 * zones loaded). Consumes l's versions and messages. NULL on out of memory.
 */
static struct zone_set *zone_load_assemble(struct daemon *d, struct zone_load *l,
					   const struct zone_set *old, int *failed)
{
	struct zone_set *set = zone_set_create();
	char name[1024];
	*failed = 0;
	if (!set)
		goto out;
	for (size_t i = 0; i < l->nfiles; i++) {
		struct zone_version *v = l->v[i];
		if (!v) {
			fprintf(stderr, "fakeresolver: %s\n",
				l->err[i] ? l->err[i] : "out of memory loading a zone file");
			(*failed)++;
			/* On reload, the zone this file served before stays served. */
			for (size_t z = 0; old && z < zone_set_count(old); z++) {
				struct zone_version *prev = zone_set_at(old, z);
				if (strcmp(zone_version_source(prev), l->files[i]) != 0)
					continue;
				if (zone_set_add(set, prev, true) == -2) {
					zone_set_destroy(set);
					set = NULL;
					goto out;
				}
				wire_name_to_str(zone_version_origin(prev, NULL), name, sizeof name);
				fprintf(stderr, "fakeresolver: still serving %s serial %u\n", name,
					zone_version_serial(prev));
			}
			continue;
		}
		size_t olen;
		const uint8_t *origin = zone_version_origin(v, &olen);
		wire_name_to_str(origin, name, sizeof name);
		if (zone_set_has(set, origin, olen)) {
			fprintf(stderr, "fakeresolver: %s: zone %s is already loaded from another file\n",
				l->files[i], name);
			(*failed)++;
			continue;
		}
		if (zone_set_add(set, v, true) != 0) {
			zone_set_destroy(set);
			set = NULL;
			goto out;
		}
		say(d, "zone %s serial %u from %s (%zu records)", name, zone_version_serial(v),
		    l->files[i], zone_version_record_count(v));
	}
out:
	zone_load_clear(l);
	return set;
}

/*
 * Opens the query log for appending, created 0600 (it names every client
 * and every name asked), never through a symbolic link, closed on exec.
 * A file that exists keeps its mode. NULL with errno on failure.
 */
static FILE *query_log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		      0600);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "a");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

/* s as a JSON string, escaped by json_escape (fakeresolver/json.h). */
static void json_str(FILE *f, const char *s)
{
	char buf[JSON_ESCAPE_ROOM(256)];
	size_t n, used;

	fputc('"', f);
	for (n = strlen(s); n > 0; s += used, n -= used)
		fwrite(buf, 1, json_escape(buf, s, n, 256, JSON_ESC_PLAIN, &used), f);
	fputc('"', f);
}

/* Seconds since the daemon started, on the monotonic clock: the query log's and the events' t. */
static double daemon_now(const struct daemon *d)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - d->start.tv_sec) +
	       (double)(now.tv_nsec - d->start.tv_nsec) / 1e9;
}

static void log_query(struct daemon *d, const struct server_event *ev)
{
	const struct answer_info *info = ev->info;
	char name[1024], peer[80], tb[16], rb[16];
	double t = daemon_now(d);
	fprintf(d->log, "{\"t\":%.6f,\"transport\":\"%s\",\"src\":\"%s\",\"id\":%u,",
		t, ev->transport == ANSWER_UDP ? "udp" : "tcp",
		addr_str(ev->peer, peer, sizeof peer), info->query.id);
	if (info->query.question_end) {
		wire_name_to_str(info->query.qname, name, sizeof name);
		fputs("\"qname\":", d->log);
		json_str(d->log, name);
		fprintf(d->log, ",\"qtype\":\"%s\",",
			answer_type_str(info->query.qtype, tb, sizeof tb));
	}
	if (info->action == ANSWER_DROP)
		fputs("\"action\":\"dropped\"", d->log);
	else if (info->action == ANSWER_AXFR)
		fputs("\"action\":\"axfr\"", d->log);
	else
		fprintf(d->log, "\"action\":\"answered\",\"rcode\":\"%s\",\"tc\":%s,\"an\":%u",
			answer_rcode_str(info->rcode, rb, sizeof rb),
			(info->flags & WIRE_FLAG_TC) ? "true" : "false", info->ancount);
	if (info->zone)
		fprintf(d->log, ",\"serial\":%u", zone_version_serial(info->zone));
	fputs("}\n", d->log);
	fflush(d->log);
}

/* ---- watching: an event line per query to the controllers that asked (`watch`) ---- */

/* An event line being written: what does not fit sets full, and the line is not sent. */
struct eline {
	char buf[4096];
	size_t n;
	bool full;
};

static void put(struct eline *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct eline *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = l->full ? 0 : vsnprintf(l->buf + l->n, sizeof l->buf - l->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof l->buf - l->n)
		l->full = true;
	else
		l->n += (size_t)w;
}

/* The question as the history writes it: transport, src, id, and qname and qtype if read. */
static void put_question(struct eline *l, enum answer_transport tp, const struct addr *peer,
                         const struct wire_query *q, bool question)
{
	char peer_s[80], name[1024], esc[JSON_ESCAPE_ROOM(1024)], tb[16];
	put(l, "\"transport\":\"%s\",\"src\":\"%s\",\"id\":%u", tp == ANSWER_UDP ? "udp" : "tcp",
	    addr_str(peer, peer_s, sizeof peer_s), q->id);
	if (!question)
		return;
	wire_name_to_str(q->qname, name, sizeof name);
	esc[json_escape(esc, name, strlen(name), sizeof name, JSON_ESC_PLAIN, NULL)] = '\0';
	put(l, ",\"qname\":\"%s\",\"qtype\":\"%s\"", esc, answer_type_str(q->qtype, tb, sizeof tb));
}

/* The daemon's id of the fault that is plan fault plan_id; 0 if none (healed meanwhile). */
static uint32_t dfault_of_plan(const struct daemon *d, uint32_t plan_id)
{
	for (size_t i = 0; plan_id && i < d->nfaults; i++)
		if (d->faults[i]->type == DF_PLAN && d->faults[i]->plan_id == plan_id)
			return d->faults[i]->id;
	return 0;
}

/* The daemon's id of the capacity limit in force; 0 if none. */
static uint32_t dfault_capacity(const struct daemon *d)
{
	for (size_t i = 0; i < d->nfaults; i++)
		if (d->faults[i]->type == DF_CAPACITY)
			return d->faults[i]->id;
	return 0;
}

/*
 * `query {...}`: the fields of a local farm resolver's history line
 * (docs/history.md "query"), with the daemon's own fault ids, t on its
 * clock, and the tag of the `arrive` event of a query that waited in the
 * capacity queue.
 */
static void watch_query(struct daemon *d, const struct server_event *ev)
{
	const struct answer_info *info = ev->info;
	const struct fault_decision *dec = ev->decision;
	struct eline l = {.n = 0, .full = false};
	char rb[16];
	double t = daemon_now(d);
	uint32_t id;

	put(&l, "query {\"t\":%.6f,", t);
	put_question(&l, ev->transport, ev->peer, &info->query, info->query.question_end);
	put(&l, ",\"action\":\"%s\"", server_event_action(ev));
	if (ev->reply_len) {
		put(&l, ",\"rcode\":\"%s\",\"an\":%u", answer_rcode_str(info->rcode, rb, sizeof rb),
		    info->ancount);
		if (info->flags & WIRE_FLAG_TC)
			put(&l, ",\"tc\":true");
	}
	if (info->zone)
		put(&l, ",\"serial\":%u", zone_version_serial(info->zone));
	if (dec && dec->fault_id)
		id = dfault_of_plan(d, dec->fault_id);
	else
		id = ev->queue_full || ev->queue_s > 0 ? dfault_capacity(d) : 0;
	if (id)
		put(&l, ",\"fault\":%u", id);
	if (dec && dec->delay_s > 0 && ev->reply_len) { /* no reply: the delay held nothing back */
		id = dfault_of_plan(d, dec->delay_id);
		if (id)
			put(&l, ",\"delay_fault\":%u", id);
		put(&l, ",\"delay_ms\":%.3f", dec->delay_s * 1000);
	}
	if (ev->queue_s > 0)
		put(&l, ",\"queue_ms\":%.3f", ev->queue_s * 1000);
	if (ev->tag)
		put(&l, ",\"tag\":%llu", (unsigned long long)ev->tag);
	put(&l, "}");
	if (!l.full)
		control_event(d->control, t, l.buf, l.n);
}

/* Every query the servers see: to the query log, and to the controllers watching. */
static void on_query(void *arg, const struct server_event *ev)
{
	struct daemon *d = arg;
	if (d->log)
		log_query(d, ev);
	if (control_watchers(d->control))
		watch_query(d, ev);
}

/*
 * A query enters the capacity queue: `arrive {...}` now, with a tag its
 * `query` event carries once it is served (a controller joins it to its
 * sender on arrival, when the sender still waits for it, as the farm does).
 */
static uint64_t on_arrive(void *arg, enum answer_transport tp, const struct addr *peer,
                          const uint8_t *pkt, size_t len)
{
	struct daemon *d = arg;
	struct wire_query q;
	struct eline l = {.n = 0, .full = false};
	if (!control_watchers(d->control))
		return 0;
	bool question = wire_query_parse(pkt, len, &q) == WIRE_QUERY_OK && q.question_end;
	if (!question)
		memset(&q, 0, sizeof q); /* the id only, if the header was there */
	if (len >= 2)
		q.id = wire_get16(pkt);
	double t = daemon_now(d);
	uint64_t tag = ++d->next_tag;
	put(&l, "arrive {\"t\":%.6f,\"tag\":%llu,", t, (unsigned long long)tag);
	put_question(&l, tp, peer, &q, question);
	put(&l, "}");
	if (!l.full)
		control_event(d->control, t, l.buf, l.n);
	return tag;
}

static void *reload_thread(void *arg)
{
	struct daemon *d = arg;
	zone_load_run(d->reload.load);
	/* Wakes the loop. A full pipe cannot happen: one byte per load. */
	ssize_t w;
	do
		w = write(d->reload.pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	return NULL;
}

/* Starts the reload thread on r->load. 0 or -errno. */
static int reload_thread_start(struct daemon *d)
{
	struct reload *r = &d->reload;
	sigset_t all, saved;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &r->started);
	/* Signals stay with the loop's thread: the new thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	rc = pthread_create(&r->thread, NULL, reload_thread, d);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (rc != 0)
		return -rc;
	r->running = true;
	return 0;
}

/* Starts loading every zone file on the reload thread. 0 or -errno. */
static int reload_start(struct daemon *d)
{
	struct reload *r = &d->reload;
	int rc;

	r->load = calloc(1, sizeof *r->load);
	if (!r->load)
		return -ENOMEM;
	r->load->files = d->zone_files;
	r->load->nfiles = d->nzones;
	rc = reload_thread_start(d);
	if (rc != 0) {
		free(r->load);
		r->load = NULL;
	}
	return rc;
}

/* Waits for the reload thread, if one runs; frees what it loaded. */
static void reload_abandon(struct daemon *d)
{
	struct reload *r = &d->reload;
	if (r->running) {
		pthread_join(r->thread, NULL);
		r->running = false;
	}
	zone_load_clear(r->load);
	free(r->load);
	r->load = NULL;
	free(r->publish_path);
	r->publish_path = NULL;
}

static void publish_done(struct daemon *d);

/* The loop's side of a reload: the thread is done; swap the new set in. */
static void reload_done(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct reload *r = &d->reload;
	struct timespec now;
	char b[16];
	int failed;
	(void)what;

	while (read(fd, b, sizeof b) > 0)
		;
	if (!r->running)
		return;
	pthread_join(r->thread, NULL);
	r->running = false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double took = (double)(now.tv_sec - r->started.tv_sec) +
		      (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
	if (r->publish) {
		publish_done(d);
		goto again;
	}
	struct zone_set *set = zone_load_assemble(d, r->load, d->zones, &failed);
	free(r->load);
	r->load = NULL;
	if (!set) {
		fprintf(stderr, "fakeresolver: reload: out of memory; still serving the old zones\n");
	} else {
		/*
		 * The swap. Nothing in flight points into the old set itself:
		 * queued queries look the set up when served, delayed replies are
		 * copies, and a transfer under way holds a reference to its zone
		 * version, which outlives the set.
		 */
		for (size_t i = 0; i < d->nservers; i++)
			server_set_zones(d->servers[i], set);
		zone_set_destroy(d->zones);
		d->zones = set;
		say(d, "reload done in %.2f s (%d file(s) failed)", took, failed);
	}
again:
	if (r->again) {
		r->again = false;
		say(d, "reloading again for the SIGHUP that came during the load");
		int rc = reload_start(d);
		if (rc != 0)
			fprintf(stderr, "fakeresolver: reload: cannot start: %s; still serving "
				"the old zones\n", strerror(-rc));
	}
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)sig;
	(void)what;
	if (d->reload.running) {
		/* Coalesced: however many come meanwhile, one more load after this one. */
		d->reload.again = true;
		say(d, "SIGHUP: a reload is under way; loading again when it ends");
		return;
	}
	say(d, "SIGHUP: reloading %zu zone file(s)", d->nzones);
	int rc = reload_start(d);
	if (rc != 0)
		fprintf(stderr, "fakeresolver: reload: cannot start: %s; still serving the old "
			"zones\n", strerror(-rc));
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct server_stats st;
	char buf[80];
	(void)what;
	say(d, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	for (size_t i = 0; i < d->nservers; i++) {
		server_get_stats(d->servers[i], &st);
		say(d,
		    "%s: tcp: %llu accepted, %llu queries; closed: %llu idle, %llu message "
		    "timeout, %llu evicted (%llu for their address); refused: %llu full, %llu "
		    "address full",
		    addr_str(server_addr(d->servers[i]), buf, sizeof buf),
		    (unsigned long long)st.tcp_accepted, (unsigned long long)st.tcp_queries,
		    (unsigned long long)st.tcp_timeouts, (unsigned long long)st.tcp_msg_timeouts,
		    (unsigned long long)(st.tcp_evicted + st.tcp_addr_evicted),
		    (unsigned long long)st.tcp_addr_evicted, (unsigned long long)st.tcp_refused,
		    (unsigned long long)st.tcp_addr_refused);
	}
	event_base_loopbreak(d->base);
}

/* ---- the control connection (fakeresolver/control.h) ---- */

static void ctl_say(const struct daemon *d, const struct control_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "control 127.0.0.1:40312: ..." on stderr (or "control: ..." for a timer). */
static void ctl_say(const struct daemon *d, const struct control_conn *c, const char *fmt, ...)
{
	char buf[80];
	va_list ap;
	if (d->quiet)
		return;
	va_start(ap, fmt);
	if (c)
		fprintf(stderr, "fakeresolver: control %s: ", addr_str(control_conn_peer(c), buf, sizeof buf));
	else
		fputs("fakeresolver: control: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void servers_attach(struct daemon *d, struct server *s)
{
	/* With a control connection a controller may watch at any time. */
	if (d->log || d->plan)
		server_set_log(s, on_query, d);
	if (d->plan) {
		server_set_faults(s, d->plan, &d->rng);
		server_set_arrive(s, on_arrive, d);
	}
}

/* Closes the DNS ports (the kernel answers port unreachable), keeping the counters. */
static void servers_close(struct daemon *d)
{
	struct server_stats st;
	for (size_t i = 0; i < d->nservers; i++) {
		server_get_stats(d->servers[i], &st);
		d->totals.udp_received += st.udp_received;
		d->totals.udp_replied += st.udp_replied;
		d->totals.tcp_queries += st.tcp_queries;
		d->totals.fault_acted += st.fault_acted;
		d->totals.queue_full += st.queue_full;
		server_destroy(d->servers[i]);
		d->servers[i] = NULL;
	}
	d->nservers = 0;
}

/* Opens every DNS port again, on the ports first bound. 0, or -1 with err set. */
static int servers_open(struct daemon *d, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		d->servers[i] = server_create(d->base, d->zones, &d->listen_cfg[i], err, errlen);
		if (!d->servers[i]) {
			for (size_t k = 0; k < i; k++) {
				server_destroy(d->servers[k]);
				d->servers[k] = NULL;
			}
			return -1;
		}
		servers_attach(d, d->servers[i]);
	}
	d->nservers = n;
	return 0;
}

static size_t dfault_index(const struct daemon *d, uint32_t id)
{
	for (size_t i = 0; i < d->nfaults; i++)
		if (d->faults[i]->id == id)
			return i;
	return SIZE_MAX;
}

static void retry_open(evutil_socket_t fd, short what, void *arg);

/*
 * Heals fault i (removes it from the plan, lifts the capacity limit, or opens
 * the ports of a stop). Returns 0, or -1 with err set when a stop's ports
 * cannot be opened again (the fault stays).
 */
static int dfault_heal(struct daemon *d, size_t i, const char *why, char *err, size_t errlen)
{
	struct dfault *f = d->faults[i];
	switch (f->type) {
	case DF_PLAN:
		fault_plan_remove(d->plan, f->plan_id);
		break;
	case DF_CAPACITY:
		fault_plan_set_capacity(d->plan, 0, 0);
		break;
	case DF_STOP:
		if (servers_open(d, d->nlisten, err, errlen) != 0)
			return -1;
		d->stopped = false;
		event_del(d->retry_timer);
		break;
	}
	ctl_say(d, NULL, "fault %u (%s) healed: %s", f->id, f->kind, why);
	if (f->timer)
		event_free(f->timer);
	free(f);
	memmove(&d->faults[i], &d->faults[i + 1], (d->nfaults - i - 1) * sizeof d->faults[0]);
	d->nfaults--;
	return 0;
}

/* A heal that no one asked for (expiry, a closed connection): a stop that
 * cannot reopen its ports now keeps trying every second. */
static void dfault_heal_unattended(struct daemon *d, size_t i, const char *why)
{
	char err[512];
	if (dfault_heal(d, i, why, err, sizeof err) == 0)
		return;
	fprintf(stderr, "fakeresolver: control: cannot open the DNS ports again: %s; trying every "
			"second\n", err);
	d->faults[i]->owner = NULL;
	static const struct timeval second = { 1, 0 };
	evtimer_add(d->retry_timer, &second);
}

static void retry_open(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;
	for (size_t i = 0; i < d->nfaults; i++)
		if (d->faults[i]->type == DF_STOP) {
			dfault_heal_unattended(d, i, "its end came earlier; the ports are open again");
			return;
		}
}

static void dfault_expired(evutil_socket_t fd, short what, void *arg)
{
	struct dfault *f = arg;
	(void)fd;
	(void)what;
	size_t i = dfault_index(f->d, f->id);
	if (i != SIZE_MAX)
		dfault_heal_unattended(f->d, i, "its duration is over");
}

/* Registers a fault set by c; *id gets its id. 0, or -1 with err set. */
static struct dfault *dfault_add(struct daemon *d, struct control_conn *c, enum dfault_type type,
				 const char *kind, double duration, char *err, size_t errlen)
{
	if (d->nfaults == MAX_FAULTS) {
		snprintf(err, errlen, "error %d faults are active, the most there can be; heal some",
			 MAX_FAULTS);
		return NULL;
	}
	struct dfault *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "error out of memory");
		return NULL;
	}
	f->d = d;
	f->type = type;
	f->kind = kind;
	if (duration > 0) {
		f->timer = evtimer_new(d->base, dfault_expired, f);
		if (!f->timer) {
			free(f);
			snprintf(err, errlen, "error out of memory");
			return NULL;
		}
		struct timeval tv = clock_timeval(duration);
		evtimer_add(f->timer, &tv);
		f->expires = clock_mono() + duration;
	} else {
		f->owner = c;
	}
	f->id = d->next_id++;
	d->faults[d->nfaults++] = f;
	return f;
}

/* The status line's JSON: state, zones, faults with their time left, counters. */
static void status_json(struct daemon *d, char *out, size_t cap)
{
	char name[1024], esc[JSON_ESCAPE_ROOM(1024)], buf[80];
	struct server_stats t = d->totals, st;
	size_t n = 0;
#define PUT(...)                                                                  \
	do {                                                                      \
		int w_ = snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__);   \
		n += w_ > 0 ? (size_t)w_ : 0;                                     \
	} while (0)
	for (size_t i = 0; i < d->nservers; i++) {
		server_get_stats(d->servers[i], &st);
		t.udp_received += st.udp_received;
		t.udp_replied += st.udp_replied;
		t.tcp_queries += st.tcp_queries;
		t.fault_acted += st.fault_acted;
		t.queue_full += st.queue_full;
	}
	PUT("{\"state\":\"%s\",\"zones\":[", d->stopped ? "stopped" : "up");
	for (size_t i = 0; i < zone_set_count(d->zones); i++) {
		struct zone_version *v = zone_set_at(d->zones, i);
		wire_name_to_str(zone_version_origin(v, NULL), name, sizeof name);
		esc[json_escape(esc, name, strlen(name), sizeof name, JSON_ESC_PLAIN, NULL)] = '\0';
		PUT("%s{\"origin\":\"%s\",\"serial\":%u,\"file\":\"", i ? "," : "", esc,
		    zone_version_serial(v));
		const char *src = zone_version_source(v);
		size_t sl = strlen(src) < 1000 ? strlen(src) : 1000;
		esc[json_escape(esc, src, sl, sl, JSON_ESC_PLAIN, NULL)] = '\0';
		PUT("%s\"}", esc);
	}
	PUT("],\"faults\":[");
	double now = clock_mono();
	for (size_t i = 0; i < d->nfaults; i++) {
		const struct dfault *f = d->faults[i];
		PUT("%s{\"id\":%u,\"kind\":\"%s\",", i ? "," : "", f->id, f->kind);
		if (f->owner)
			PUT("\"left\":null,\"connection\":\"%s\"}",
			    addr_str(control_conn_peer(f->owner), buf, sizeof buf));
		else
			PUT("\"left\":%.3f}", f->expires > now ? f->expires - now : 0.0);
	}
	PUT("],\"counters\":{\"udp_received\":%llu,\"udp_replied\":%llu,\"tcp_queries\":%llu,"
	    "\"fault_acted\":%llu,\"queue_full\":%llu}}",
	    (unsigned long long)t.udp_received, (unsigned long long)t.udp_replied,
	    (unsigned long long)t.tcp_queries, (unsigned long long)t.fault_acted,
	    (unsigned long long)t.queue_full);
#undef PUT
	if (n >= cap) /* cut short: still one line, but say so rather than send broken JSON */
		snprintf(out, cap, "{\"error\":\"status too long\"}");
}

/* Starts loading one zone file on the loader thread, to publish it. 0 or -errno. */
static int publish_start(struct daemon *d, struct control_conn *c, const char *path)
{
	struct reload *r = &d->reload;
	r->publish_path = strdup(path);
	if (!r->publish_path)
		return -ENOMEM;
	r->publish = true;
	r->publish_conn = c;
	r->load = calloc(1, sizeof *r->load);
	int rc = r->load ? 0 : -ENOMEM;
	if (rc == 0) {
		r->load->files = (const char *const *)&r->publish_path;
		r->load->nfiles = 1;
		rc = reload_thread_start(d);
	}
	if (rc != 0) {
		free(r->load);
		r->load = NULL;
		free(r->publish_path);
		r->publish_path = NULL;
		r->publish = false;
		r->publish_conn = NULL;
	}
	return rc;
}

/*
 * The loop's side of a publish: the file is loaded (or not); serve it in
 * place of its zone's version (or as a new zone), and make its file the
 * zone's file for the next SIGHUP. Answers the connection that asked.
 */
static void publish_done(struct daemon *d)
{
	struct reload *r = &d->reload;
	struct zone_version *v = r->load->v[0];
	char reply[1200], name[1024];
	struct zone_set *set = NULL;
	size_t olen;

	r->load->v[0] = NULL;
	if (!v) {
		snprintf(reply, sizeof reply, "error %s",
			 r->load->err[0] ? r->load->err[0] : "out of memory loading the zone file");
		goto out;
	}
	const uint8_t *origin = zone_version_origin(v, &olen);
	set = zone_set_create();
	if (!set)
		goto oom;
	for (size_t z = 0; z < zone_set_count(d->zones); z++) {
		struct zone_version *prev = zone_set_at(d->zones, z);
		size_t pl;
		const uint8_t *po = zone_version_origin(prev, &pl);
		if (pl == olen && memcmp(po, origin, olen) == 0)
			continue;
		if (zone_set_add(set, prev, true) != 0)
			goto oom;
	}
	if (zone_set_add(set, v, true) != 0)
		goto oom;
	/* The file the zone is reloaded from on SIGHUP is the published one now. */
	size_t slot = d->nzones;
	for (size_t i = 0; i < d->nzones; i++) {
		struct zone_version *prev = zone_set_served(d->zones, origin, olen);
		if (prev && strcmp(zone_version_source(prev), d->zone_files[i]) == 0)
			slot = i;
	}
	if (slot == MAX_ZONES) {
		snprintf(reply, sizeof reply, "error %d zones are served, the most there can be",
			 MAX_ZONES);
		goto out;
	}
	free(d->zone_owned[slot]);
	d->zone_owned[slot] = r->publish_path;
	d->zone_files[slot] = r->publish_path;
	r->publish_path = NULL;
	if (slot == d->nzones)
		d->nzones++;
	for (size_t i = 0; i < d->nservers; i++)
		server_set_zones(d->servers[i], set);
	zone_set_destroy(d->zones);
	d->zones = set;
	set = NULL;
	wire_name_to_str(origin, name, sizeof name);
	snprintf(reply, sizeof reply, "ok zone=%s serial=%u records=%zu", name, zone_version_serial(v),
		 zone_version_record_count(v));
	say(d, "published %s serial %u from %s", name, zone_version_serial(v),
	    zone_version_source(v));
	goto out;
oom:
	snprintf(reply, sizeof reply, "error out of memory");
out:
	zone_set_destroy(set);
	zone_version_unref(v);
	zone_load_clear(r->load);
	free(r->load);
	r->load = NULL;
	free(r->publish_path);
	r->publish_path = NULL;
	r->publish = false;
	if (r->publish_conn)
		control_reply(r->publish_conn, reply);
	r->publish_conn = NULL;
}

static void ctl_command(void *arg, struct control_conn *c, char *line)
{
	struct daemon *d = arg;
	struct control_cmd cmd;
	char reply[CONTROL_LINE_MAX], why[CONTROL_LINE_MAX - 64];
	struct dfault *f;
	uint32_t plan_id;

	if (control_parse(line, &cmd, why, sizeof why) != 0) {
		snprintf(reply, sizeof reply, "error %s", why);
		control_reply(c, reply);
		return;
	}
	switch (cmd.verb) {
	case CONTROL_INJECT:
		f = dfault_add(d, c, DF_PLAN, fault_kind_name(cmd.spec.kind), cmd.duration, reply,
			       sizeof reply);
		if (!f)
			break;
		if (fault_plan_add(d->plan, &cmd.spec, &plan_id) != 0) {
			dfault_heal(d, d->nfaults - 1, "out of memory", why, sizeof why);
			snprintf(reply, sizeof reply, "error out of memory");
			break;
		}
		f->plan_id = plan_id;
		ctl_say(d, c, "inject %s (fault %u%s)", f->kind, f->id,
			f->owner ? ", until this connection closes" : "");
		snprintf(reply, sizeof reply, "ok id=%u", f->id);
		break;
	case CONTROL_CAPACITY:
		/* One limit at a time: a new one replaces the old. */
		for (size_t i = 0; i < d->nfaults; i++)
			if (d->faults[i]->type == DF_CAPACITY) {
				dfault_heal(d, i, "replaced", why, sizeof why);
				break;
			}
		f = dfault_add(d, c, DF_CAPACITY, "capacity", cmd.duration, reply, sizeof reply);
		if (!f)
			break;
		fault_plan_set_capacity(d->plan, cmd.qps, cmd.queue);
		ctl_say(d, c, "inject capacity %g qps, queue %u (fault %u)", cmd.qps, cmd.queue, f->id);
		snprintf(reply, sizeof reply, "ok id=%u", f->id);
		break;
	case CONTROL_STOP:
		for (size_t i = 0; i < d->nfaults; i++)
			if (d->faults[i]->type == DF_STOP) {
				snprintf(reply, sizeof reply, "ok id=%u already stopped", d->faults[i]->id);
				goto send;
			}
		f = dfault_add(d, c, DF_STOP, "stop", cmd.duration, reply, sizeof reply);
		if (!f)
			break;
		servers_close(d);
		d->stopped = true;
		ctl_say(d, c, "stop: DNS ports closed (fault %u)", f->id);
		snprintf(reply, sizeof reply, "ok id=%u", f->id);
		break;
	case CONTROL_START:
		for (size_t i = 0; i < d->nfaults; i++)
			if (d->faults[i]->type == DF_STOP) {
				uint32_t id = d->faults[i]->id;
				if (dfault_heal(d, i, "start", why, sizeof why) != 0)
					snprintf(reply, sizeof reply, "error %s", why);
				else
					snprintf(reply, sizeof reply, "ok healed=%u", id);
				goto send;
			}
		snprintf(reply, sizeof reply, "ok already up");
		break;
	case CONTROL_HEAL: {
		unsigned healed = 0;
		if (cmd.id) {
			size_t i = dfault_index(d, cmd.id);
			if (i == SIZE_MAX) {
				snprintf(reply, sizeof reply, "error no fault %u is active", cmd.id);
				break;
			}
			if (dfault_heal(d, i, "healed by request", why, sizeof why) != 0) {
				snprintf(reply, sizeof reply, "error %s", why);
				break;
			}
			healed = 1;
		} else {
			for (size_t i = 0; i < d->nfaults;) {
				if (dfault_heal(d, i, "healed by request", why, sizeof why) != 0) {
					snprintf(reply, sizeof reply, "error %s (%u healed)", why, healed);
					goto send;
				}
				healed++;
			}
		}
		snprintf(reply, sizeof reply, "ok healed=%u", healed);
		break;
	}
	case CONTROL_PUBLISH: {
		if (d->reload.running) {
			snprintf(reply, sizeof reply, "error busy: a zone load is under way; try again");
			break;
		}
		int rc = publish_start(d, c, cmd.path);
		if (rc != 0) {
			snprintf(reply, sizeof reply, "error cannot start loading: %s", strerror(-rc));
			break;
		}
		ctl_say(d, c, "publish %s: loading", cmd.path);
		return; /* publish_done answers */
	}
	case CONTROL_WATCH:
		/* Again while watching: the clock once more (a controller may re-estimate). */
		if (!control_conn_watching(c))
			ctl_say(d, c, "watching the queries");
		control_watch(c, true);
		snprintf(reply, sizeof reply, "ok now=%.6f", daemon_now(d));
		break;
	case CONTROL_UNWATCH:
		if (control_conn_watching(c))
			ctl_say(d, c, "no longer watching the queries");
		control_watch(c, false);
		snprintf(reply, sizeof reply, "ok");
		break;
	case CONTROL_STATUS: {
		/* Longer than other replies: every zone and every fault. */
		char *st = malloc(CONTROL_REPLY_MAX);
		if (!st) {
			snprintf(reply, sizeof reply, "error out of memory");
			break;
		}
		memcpy(st, "ok ", 3);
		status_json(d, st + 3, CONTROL_REPLY_MAX - 3);
		control_reply(c, st);
		free(st);
		return;
	}
	}
send:
	control_reply(c, reply);
}

/* A controller went away: what it set without a duration heals now. */
static void ctl_closed(void *arg, struct control_conn *c)
{
	struct daemon *d = arg;
	if (d->reload.publish_conn == c)
		d->reload.publish_conn = NULL;
	for (size_t i = 0; i < d->nfaults;) {
		if (d->faults[i]->owner != c) {
			i++;
			continue;
		}
		size_t before = d->nfaults;
		dfault_heal_unattended(d, i, "the connection that set it closed");
		if (d->nfaults == before)
			i++; /* a stop that could not reopen: kept, retried */
	}
}

static const struct control_ops ctl_ops = { ctl_command, ctl_closed };

static int parse_uint(const char *opt, const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *s == '-' || *end || end == s || v > max) {
		fprintf(stderr, "fakeresolver: %s: '%s' is not a number from 0 to %lu\n", opt, s,
			max);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "zone", required_argument, NULL, 'z' },
		{ "query-log", required_argument, NULL, 'q' },
		{ "tcp-idle-timeout", required_argument, NULL, 1 },
		{ "tcp-max-connections", required_argument, NULL, 2 },
		{ "tcp-max-per-address", required_argument, NULL, 7 },
		{ "tcp-message-timeout", required_argument, NULL, 8 },
		{ "no-tcp", no_argument, NULL, 3 },
		{ "no-udp", no_argument, NULL, 4 },
		{ "allow-non-loopback", no_argument, NULL, 5 },
		{ "quiet", no_argument, NULL, 6 },
		{ "control", required_argument, NULL, 9 },
		{ "control-token-file", required_argument, NULL, 10 },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d;
	struct server_config base_cfg;
	struct addr listen[MAX_LISTEN];
	size_t nlisten = 0;
	const char *log_path = NULL;
	const char *control_text = NULL, *token_path = NULL;
	struct control_config ctl_cfg;
	bool allow_remote = false;
	struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL;
	char err[1024], buf[80];
	unsigned long v;
	int rc = EXIT_RUNTIME;
	int c;

	memset(&d, 0, sizeof d);
	d.reload.pipe[0] = d.reload.pipe[1] = -1;
	server_config_defaults(&base_cfg);
	while ((c = getopt_long(argc, argv, "l:z:q:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (nlisten == MAX_LISTEN) {
				fprintf(stderr, "fakeresolver: at most %d --listen addresses\n",
					MAX_LISTEN);
				return EXIT_BAD_INPUT;
			}
			if (addr_parse(optarg, 53, &listen[nlisten], err, sizeof err) != 0) {
				fprintf(stderr, "fakeresolver: --listen %s\n", err);
				return EXIT_BAD_INPUT;
			}
			nlisten++;
			break;
		case 'z':
			if (d.nzones == MAX_ZONES) {
				fprintf(stderr, "fakeresolver: at most %d --zone files\n", MAX_ZONES);
				return EXIT_BAD_INPUT;
			}
			d.zone_files[d.nzones++] = optarg;
			break;
		case 'q':
			log_path = optarg;
			break;
		case 1:
			if (parse_uint("--tcp-idle-timeout", optarg, 3600, &v) != 0)
				return EXIT_BAD_INPUT;
			base_cfg.tcp_idle_ms = (unsigned)v * 1000;
			break;
		case 2:
			if (parse_uint("--tcp-max-connections", optarg, 100000, &v) != 0)
				return EXIT_BAD_INPUT;
			base_cfg.tcp_max_conns = (unsigned)v;
			break;
		case 7:
			if (parse_uint("--tcp-max-per-address", optarg, 100000, &v) != 0)
				return EXIT_BAD_INPUT;
			base_cfg.tcp_per_addr_max = (unsigned)v;
			break;
		case 8:
			if (parse_uint("--tcp-message-timeout", optarg, 3600, &v) != 0)
				return EXIT_BAD_INPUT;
			base_cfg.tcp_msg_timeout_ms = (unsigned)v * 1000;
			break;
		case 3:
			base_cfg.tcp = false;
			break;
		case 4:
			base_cfg.udp = false;
			break;
		case 5:
			allow_remote = true;
			break;
		case 6:
			d.quiet = true;
			break;
		case 9:
			control_text = optarg;
			break;
		case 10:
			token_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("fakeresolver %s (dnschaos), ldns %s, libevent %s\n", DNSCHAOS_VERSION,
			       ldns_version(), event_get_version());
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_BAD_INPUT;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fakeresolver: unexpected argument '%s' (see --help)\n", argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (nlisten == 0 || d.nzones == 0) {
		fprintf(stderr, "fakeresolver: need at least one --listen and one --zone (see --help)\n");
		return EXIT_BAD_INPUT;
	}
	if (!base_cfg.udp && !base_cfg.tcp) {
		fprintf(stderr, "fakeresolver: --no-udp and --no-tcp leave nothing to serve\n");
		return EXIT_BAD_INPUT;
	}
	control_config_defaults(&ctl_cfg);
	if (!control_text != !token_path) {
		fprintf(stderr, "fakeresolver: --control and --control-token-file go together (the "
				"token authenticates every control connection)\n");
		return EXIT_BAD_INPUT;
	}
	if (control_text) {
		if (addr_parse(control_text, 0, &ctl_cfg.addr, err, sizeof err) != 0) {
			fprintf(stderr, "fakeresolver: --control %s\n", err);
			return EXIT_BAD_INPUT;
		}
		if (!allow_remote && !addr_is_loopback(&ctl_cfg.addr)) {
			fprintf(stderr,
				"fakeresolver: refusing the control connection on %s: not a loopback "
				"address (use --allow-non-loopback if you mean it)\n",
				addr_str(&ctl_cfg.addr, buf, sizeof buf));
			return EXIT_BAD_INPUT;
		}
		if (control_token_read(token_path, ctl_cfg.token, &ctl_cfg.token_len, err,
				       sizeof err) != 0) {
			fprintf(stderr, "fakeresolver: --control-token-file %s\n", err);
			return EXIT_BAD_INPUT;
		}
	}
	for (size_t i = 0; i < nlisten; i++) {
		if (!allow_remote && !addr_is_loopback(&listen[i])) {
			fprintf(stderr,
				"fakeresolver: refusing to listen on %s: not a loopback address "
				"(use --allow-non-loopback if you mean it)\n",
				addr_str(&listen[i], buf, sizeof buf));
			return EXIT_BAD_INPUT;
		}
	}

	int failed;
	struct zone_load first = { d.zone_files, d.nzones, { NULL }, { NULL } };
	zone_load_run(&first);
	d.zones = zone_load_assemble(&d, &first, NULL, &failed);
	if (!d.zones) {
		fprintf(stderr, "fakeresolver: out of memory\n");
		goto out;
	}
	if (failed) {
		rc = EXIT_BAD_INPUT;
		goto out;
	}
	if (log_path) {
		if (strcmp(log_path, "-") == 0) {
			d.log = stdout;
		} else {
			d.log = query_log_open(log_path);
			if (!d.log) {
				fprintf(stderr, "fakeresolver: --query-log %s: %s\n", log_path,
					strerror(errno));
				rc = EXIT_BAD_INPUT;
				goto out;
			}
			d.log_owned = true;
		}
	}
	d.base = event_base_new();
	if (!d.base)
		goto out;
	if (control_text) {
		/* Before the servers: each takes the plan when created. */
		d.plan = fault_plan_create();
		d.retry_timer = evtimer_new(d.base, retry_open, &d);
		if (!d.plan || !d.retry_timer)
			goto out;
		rng_seed(&d.rng, 1);
		d.next_id = 1;
	}
	d.nlisten = nlisten;
	for (size_t i = 0; i < nlisten; i++) {
		struct server_config cfg = base_cfg;
		cfg.addr = listen[i];
		d.servers[i] = server_create(d.base, d.zones, &cfg, err, sizeof err);
		if (!d.servers[i]) {
			fprintf(stderr, "fakeresolver: %s\n", err);
			goto out;
		}
		d.nservers++;
		/* A start after a stop opens the very ports bound now. */
		d.listen_cfg[i] = cfg;
		d.listen_cfg[i].addr = *server_addr(d.servers[i]);
		servers_attach(&d, d.servers[i]);
		say(&d, "listening on %s (%s%s%s)", addr_str(server_addr(d.servers[i]), buf, sizeof buf),
		    cfg.udp ? "udp" : "", cfg.udp && cfg.tcp ? ", " : "", cfg.tcp ? "tcp" : "");
	}
	if (control_text) {
		d.control = control_create(d.base, &ctl_cfg, &ctl_ops, &d, err, sizeof err);
		memset(ctl_cfg.token, 0, sizeof ctl_cfg.token);
		if (!d.control) {
			fprintf(stderr, "fakeresolver: %s\n", err);
			goto out;
		}
		say(&d, "control on %s (tcp)", addr_str(control_addr(d.control), buf, sizeof buf));
	}
	if (pipe2(d.reload.pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		d.reload.pipe[0] = d.reload.pipe[1] = -1;
		fprintf(stderr, "fakeresolver: pipe: %s\n", strerror(errno));
		goto out;
	}
	d.reload.done_ev = event_new(d.base, d.reload.pipe[0], EV_READ | EV_PERSIST, reload_done, &d);
	if (!d.reload.done_ev || event_add(d.reload.done_ev, NULL) != 0)
		goto out;
	ev_hup = evsignal_new(d.base, SIGHUP, on_reload, &d);
	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	if (!ev_hup || !ev_term || !ev_int || event_add(ev_hup, NULL) || event_add(ev_term, NULL) ||
	    event_add(ev_int, NULL))
		goto out;
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &d.start);
	say(&d, "ready");
	if (event_base_dispatch(d.base) < 0)
		goto out;
	rc = EXIT_OK;
out:
	reload_abandon(&d);
	if (d.reload.done_ev)
		event_free(d.reload.done_ev);
	if (d.reload.pipe[0] >= 0)
		close(d.reload.pipe[0]);
	if (d.reload.pipe[1] >= 0)
		close(d.reload.pipe[1]);
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	control_destroy(d.control);
	for (size_t i = 0; i < d.nfaults; i++) {
		if (d.faults[i]->timer)
			event_free(d.faults[i]->timer);
		free(d.faults[i]);
	}
	if (d.retry_timer)
		event_free(d.retry_timer);
	for (size_t i = 0; i < d.nservers; i++)
		server_destroy(d.servers[i]);
	fault_plan_destroy(d.plan);
	for (size_t i = 0; i < MAX_ZONES; i++)
		free(d.zone_owned[i]);
	if (d.base)
		event_base_free(d.base);
	zone_set_destroy(d.zones);
	if (d.log_owned)
		fclose(d.log);
	return rc;
}
