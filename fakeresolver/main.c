/*
 * main.c - the standalone fakeresolver daemon: serves zone files on loopback
 * addresses, reloads them on SIGHUP, exits cleanly on SIGTERM and SIGINT.
 */
#define _GNU_SOURCE /* pipe2 */
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
};

struct daemon {
	struct event_base *base;
	struct reload reload;
	struct zone_set *zones;
	struct server *servers[MAX_LISTEN];
	size_t nservers;
	const char *zone_files[MAX_ZONES];
	size_t nzones;
	FILE *log;
	bool log_owned;
	bool quiet;
	struct timespec start; /* monotonic */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fakeresolver --listen ADDR[:PORT] --zone FILE [options]\n"
		"\n"
		"Serves DNS zones from RFC 1035 master files, authoritatively, over UDP and TCP.\n"
		"\n"
		"  -l, --listen ADDR[:PORT]   address to serve on; repeatable. Port 53 if omitted,\n"
		"                             0 for any free port (the chosen one is printed).\n"
		"                             Only 127.0.0.0/8 and [::1] unless --allow-non-loopback.\n"
		"  -z, --zone FILE            zone file to serve; repeatable, one zone per file.\n"
		"                             The first record must be the SOA: it names the zone.\n"
		"  -q, --query-log FILE       log every query as a JSON line to FILE ('-' = stdout)\n"
		"      --tcp-idle-timeout SEC close TCP connections idle this long (default 10)\n"
		"      --tcp-max-connections N  TCP connections at most (default 128); a new one\n"
		"                             beyond closes the oldest stalled one, or is refused\n"
		"      --tcp-max-per-address N  the same, per client address (default 64, 0: none)\n"
		"      --tcp-message-timeout SEC  close a TCP connection whose message is not whole\n"
		"                             SEC after its first byte (default 5, 0: never)\n"
		"      --no-tcp, --no-udp     serve on one transport only\n"
		"      --allow-non-loopback   permit listen addresses outside loopback\n"
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

static void log_query(void *arg, const struct server_event *ev)
{
	struct daemon *d = arg;
	const struct answer_info *info = ev->info;
	struct timespec now;
	char name[1024], peer[80], tb[16], rb[16];

	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = (double)(now.tv_sec - d->start.tv_sec) + (double)(now.tv_nsec - d->start.tv_nsec) / 1e9;
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

/* Starts loading every zone file on the reload thread. 0 or -errno. */
static int reload_start(struct daemon *d)
{
	struct reload *r = &d->reload;
	sigset_t all, saved;
	int rc;

	r->load = calloc(1, sizeof *r->load);
	if (!r->load)
		return -ENOMEM;
	r->load->files = d->zone_files;
	r->load->nfiles = d->nzones;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	/* Signals stay with the loop's thread: the new thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	rc = pthread_create(&r->thread, NULL, reload_thread, d);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (rc != 0) {
		free(r->load);
		r->load = NULL;
		return -rc;
	}
	r->running = true;
	return 0;
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
}

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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d;
	struct server_config base_cfg;
	struct addr listen[MAX_LISTEN];
	size_t nlisten = 0;
	const char *log_path = NULL;
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
	for (size_t i = 0; i < nlisten; i++) {
		struct server_config cfg = base_cfg;
		cfg.addr = listen[i];
		d.servers[i] = server_create(d.base, d.zones, &cfg, err, sizeof err);
		if (!d.servers[i]) {
			fprintf(stderr, "fakeresolver: %s\n", err);
			goto out;
		}
		d.nservers++;
		if (d.log)
			server_set_log(d.servers[i], log_query, &d);
		say(&d, "listening on %s (%s%s%s)", addr_str(server_addr(d.servers[i]), buf, sizeof buf),
		    cfg.udp ? "udp" : "", cfg.udp && cfg.tcp ? ", " : "", cfg.tcp ? "tcp" : "");
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
	for (size_t i = 0; i < d.nservers; i++)
		server_destroy(d.servers[i]);
	if (d.base)
		event_base_free(d.base);
	zone_set_destroy(d.zones);
	if (d.log_owned)
		fclose(d.log);
	return rc;
}
