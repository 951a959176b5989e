/*
 * source.c - the zone source: the published truth, served (SOA, AXFR) on its
 * own loopback address.
 */
#include "harness/farm/farm.h"
#include "harness/record/classify.h"
#include "harness/record/history.h"
#include "harness/env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct farm_source {
	struct run_env *env;
	char name[FARM_NAME_MAX];
	struct addr addr;
	struct zone_set *zones;
	struct server *server;
	struct {
		void (*fn)(void *arg);
		void *arg;
	} watchers[64];
	size_t nwatchers;
	struct zone_version **published; /* every version published (referenced), by serial */
	size_t npublished;
	bool announced; /* the initial versions are in the history */
};

void farm_boot_copy(struct farm_boot *dst, const struct farm_boot *src)
{
	dst->source = src->source;
	dst->nzones = src->nzones;
	for (size_t i = 0; i < src->nzones; i++)
		dst->zones[i] = zone_version_ref(src->zones[i]);
}

void farm_boot_clear(struct farm_boot *b)
{
	for (size_t i = 0; i < b->nzones; i++)
		zone_version_unref(b->zones[i]);
	b->nzones = 0;
	b->source = NULL;
}

struct farm_source *farm_source_create(struct run_env *env, const char *name,
				       const struct addr *addr)
{
	struct farm_source *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->env = env;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->addr = *addr;
	s->zones = zone_set_create();
	if (!s->zones) {
		free(s);
		return NULL;
	}
	return s;
}

void farm_source_destroy(struct farm_source *s)
{
	if (!s)
		return;
	server_destroy(s->server);
	zone_set_destroy(s->zones);
	for (size_t i = 0; i < s->npublished; i++)
		zone_version_unref(s->published[i]);
	free(s->published);
	free(s);
}

const char *farm_source_name(const struct farm_source *s)
{
	return s->name;
}

const struct addr *farm_source_addr(const struct farm_source *s)
{
	return &s->addr;
}

const struct zone_set *farm_source_zones(const struct farm_source *s)
{
	return s->zones;
}

/* The same records (content digests), wherever they were read from. */
static bool same_content(struct zone_version *a, struct zone_version *b)
{
	uint8_t da[ZONE_DIGEST_LEN], db[ZONE_DIGEST_LEN];
	return zone_version_digest(a, da) == 0 && zone_version_digest(b, db) == 0 &&
	       memcmp(da, db, sizeof da) == 0;
}

/* A publish line (the version line, if new, is written before it). */
static void record_publish(struct farm_source *s, struct zone_version *v, bool initial, double t)
{
	struct history *h = env_history(s->env);
	char name[1024], hex[ZONE_DIGEST_HEX];
	uint8_t digest[ZONE_DIGEST_LEN];
	if (!h)
		return;
	wire_name_to_str(zone_version_origin(v, NULL), name, sizeof name);
	history_begin(h, t, "publish");
	history_str(h, "source", s->name);
	history_str(h, "zone", name);
	history_uint(h, "serial", zone_version_serial(v));
	if (zone_version_digest(v, digest) == 0) {
		zone_digest_hex(digest, hex);
		history_str(h, "digest", hex);
	}
	history_str(h, "file", zone_version_source(v));
	if (initial)
		history_bool(h, "initial", true);
	history_end(h);
}

int farm_source_publish(struct farm_source *s, struct zone_version *v, char *err, size_t errlen)
{
	size_t olen;
	const uint8_t *origin = zone_version_origin(v, &olen);
	char name[1024];
	int rc = zone_set_add(s->zones, v, true);

	wire_name_to_str(origin, name, sizeof name);
	if (rc == -1) {
		/* A serial already published: the same version again is a rollback.
		 * Other content under an old serial is the very mistake dnschaos
		 * exists to catch: refuse it. */
		const struct zone_version *before = zone_set_served(s->zones, origin, olen);
		zone_set_serve(s->zones, origin, olen, zone_version_serial(v));
		struct zone_version *held = zone_set_served(s->zones, origin, olen);
		if (held != v && !same_content(held, v)) {
			if (before)
				zone_set_serve(s->zones, origin, olen, zone_version_serial(before));
			snprintf(err, errlen,
				 "%s serial %u is already published from %s: bump the serial in %s",
				 name, zone_version_serial(v), zone_version_source(held),
				 zone_version_source(v));
			return -1;
		}
	} else if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	} else {
		struct zone_version **q =
			realloc(s->published, (s->npublished + 1) * sizeof *s->published);
		if (!q) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->published = q;
		s->published[s->npublished++] = zone_version_ref(v);
	}
	/* The version served now (a rollback serves the one held under that serial). */
	struct zone_version *now = zone_set_served(s->zones, origin, olen);
	if (env_running(s->env)) {
		double t = env_now(s->env);
		if (env_publish_version(s->env, now, t) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		record_publish(s, now, false, t);
	}
	env_say(s->env, "%s publishes %s serial %u", s->name, name, zone_version_serial(v));
	if (env_running(s->env)) {
		for (size_t i = 0; i < s->nwatchers; i++)
			s->watchers[i].fn(s->watchers[i].arg);
		env_emit(s->env, s, "published");
	}
	return 0;
}

int64_t farm_source_serial(const struct farm_source *s, const uint8_t *origin, size_t len)
{
	const struct zone_version *v = zone_set_served(s->zones, origin, len);
	return v ? (int64_t)zone_version_serial(v) : -1;
}

struct zone_version *farm_source_version(const struct farm_source *s, const uint8_t *origin,
					size_t len, uint32_t serial)
{
	for (size_t i = 0; i < s->npublished; i++) {
		size_t ol;
		const uint8_t *o = zone_version_origin(s->published[i], &ol);
		if (zone_version_serial(s->published[i]) == serial && ol == len &&
		    memcmp(o, origin, len) == 0)
			return s->published[i];
	}
	return NULL;
}

int farm_source_pin_port(struct farm_source *s, char *err, size_t errlen)
{
	/* A port free for TCP and for UDP both (AXFR comes over TCP): a few tries. */
	for (int tries = 0; addr_port(&s->addr) == 0 && tries < 16; tries++) {
		struct addr got = s->addr;
		int t = socket(s->addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int u = socket(s->addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		got.len = sizeof got.ss;
		if (t < 0 || u < 0 || bind(t, (struct sockaddr *)&s->addr.ss, s->addr.len) != 0 ||
		    getsockname(t, (struct sockaddr *)&got.ss, &got.len) != 0) {
			snprintf(err, errlen, "%s: cannot find a free port: %s", s->name,
				 strerror(errno));
			if (t >= 0)
				close(t);
			if (u >= 0)
				close(u);
			return -1;
		}
		if (bind(u, (struct sockaddr *)&got.ss, got.len) == 0)
			addr_set_port(&s->addr, addr_port(&got));
		close(t);
		close(u);
	}
	if (addr_port(&s->addr) == 0) {
		snprintf(err, errlen, "%s: no port free for both TCP and UDP", s->name);
		return -1;
	}
	return 0;
}

int farm_source_watch(struct farm_source *s, void (*fn)(void *arg), void *arg)
{
	if (s->nwatchers == sizeof s->watchers / sizeof s->watchers[0])
		return -1;
	s->watchers[s->nwatchers].fn = fn;
	s->watchers[s->nwatchers].arg = arg;
	s->nwatchers++;
	return 0;
}

int farm_source_start(struct farm_source *s, char *err, size_t errlen)
{
	struct server_config cfg;
	/* What was published before the run: the history's first truth, told
	 * when the run starts (a secondary's farm_process_launch may have
	 * opened the source's ports before, when there is no history yet). */
	for (size_t i = 0; !s->announced && env_running(s->env) && i < zone_set_count(s->zones);
	     i++) {
		struct zone_version *v = zone_set_at(s->zones, i);
		double t = env_now(s->env);
		if (env_publish_version(s->env, v, t) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		record_publish(s, v, true, t);
	}
	bool again = s->announced && env_running(s->env); /* started again during the run (src:start()) */
	if (env_running(s->env))
		s->announced = true;
	if (s->server)
		return 0;
	server_config_defaults(&cfg);
	cfg.addr = s->addr;
	s->server = server_create(env_base(s->env), s->zones, &cfg, err, errlen);
	if (!s->server)
		return -1;
	s->addr = *server_addr(s->server);
	struct history *h = env_history(s->env);
	if (again && h) {
		char buf[80];
		history_begin(h, env_now(s->env), "state");
		history_str(h, "source", s->name);
		history_str(h, "state", "up");
		history_str(h, "why", "start");
		history_str(h, "address", addr_str(&s->addr, buf, sizeof buf));
		history_end(h);
	}
	if (again)
		env_say(s->env, "%s is up again (start)", s->name);
	return 0;
}

void farm_source_stop(struct farm_source *s)
{
	struct history *h = env_history(s->env);
	char buf[80];
	if (!s->server)
		return;
	server_destroy(s->server);
	s->server = NULL;
	if (h && env_running(s->env)) {
		history_begin(h, env_now(s->env), "state");
		history_str(h, "source", s->name);
		history_str(h, "state", "down");
		history_str(h, "why", "stop");
		history_str(h, "address", addr_str(&s->addr, buf, sizeof buf));
		history_end(h);
	}
	env_say(s->env, "%s is down (stop)", s->name);
}

bool farm_source_running(const struct farm_source *s)
{
	return s->server != NULL;
}
