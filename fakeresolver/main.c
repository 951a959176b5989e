/*
 * main.c - the standalone fakeresolver daemon: serves zone files on loopback
 * addresses, reloads them on SIGHUP, exits cleanly on SIGTERM and SIGINT.
 */
#include "fakeresolver/json.h"
#include "fakeresolver/server.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct daemon {
	struct event_base *base;
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
		"      --tcp-max-connections N  refuse TCP connections beyond N (default 128)\n"
		"      --no-tcp, --no-udp     serve on one transport only\n"
		"      --allow-non-loopback   permit listen addresses outside loopback\n"
		"      --quiet                print nothing but errors\n"
		"  -h, --help                 this text\n"
		"  -V, --version              print the version\n"
		"\n"
		"Signals: SIGHUP reloads every zone file (a file that fails to load keeps its\n"
		"old version serving, and the reason is printed); SIGTERM and SIGINT exit.\n"
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

/* Loads every zone file into a new set; for a failed one keeps old's version. */
static struct zone_set *load_zones(struct daemon *d, const struct zone_set *old, int *failed)
{
	struct zone_set *set = zone_set_create();
	char err[1024], name[1024];
	*failed = 0;
	if (!set)
		return NULL;
	for (size_t i = 0; i < d->nzones; i++) {
		struct zone_version *v = zone_version_load(d->zone_files[i], NULL, err, sizeof err);
		if (!v) {
			fprintf(stderr, "fakeresolver: %s\n", err);
			(*failed)++;
			/* On reload, the zone this file served before stays served. */
			for (size_t z = 0; old && z < zone_set_count(old); z++) {
				struct zone_version *prev = zone_set_at(old, z);
				if (strcmp(zone_version_source(prev), d->zone_files[i]) != 0)
					continue;
				zone_set_add(set, prev, true);
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
				d->zone_files[i], name);
			(*failed)++;
			zone_version_unref(v);
			continue;
		}
		if (zone_set_add(set, v, true) != 0) {
			zone_version_unref(v);
			zone_set_destroy(set);
			return NULL;
		}
		say(d, "zone %s serial %u from %s (%zu records)", name, zone_version_serial(v),
		    d->zone_files[i], zone_version_record_count(v));
		zone_version_unref(v);
	}
	return set;
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

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	int failed;
	(void)sig;
	(void)what;
	say(d, "SIGHUP: reloading %zu zone file(s)", d->nzones);
	struct zone_set *set = load_zones(d, d->zones, &failed);
	if (!set) {
		fprintf(stderr, "fakeresolver: reload: out of memory; still serving the old zones\n");
		return;
	}
	for (size_t i = 0; i < d->nservers; i++)
		server_set_zones(d->servers[i], set);
	zone_set_destroy(d->zones);
	d->zones = set;
	say(d, "reload done (%d file(s) failed)", failed);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)what;
	say(d, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
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
	d.zones = load_zones(&d, NULL, &failed);
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
			d.log = fopen(log_path, "a");
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
