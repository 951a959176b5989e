/*
 * source.c - the zone source: the published truth, served (SOA, AXFR) on its
 * own loopback address.
 */
#include "harness/farm/farm.h"
#include "harness/record/history.h"
#include "harness/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct farm_source {
	struct runner *run;
	char name[FARM_NAME_MAX];
	struct addr addr;
	struct zone_set *zones;
	struct server *server;
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

struct farm_source *farm_source_create(struct runner *run, const char *name,
				       const struct addr *addr)
{
	struct farm_source *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->run = run;
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

int farm_source_publish(struct farm_source *s, struct zone_version *v, char *err, size_t errlen)
{
	size_t olen;
	const uint8_t *origin = zone_version_origin(v, &olen);
	char name[1024];
	int rc = zone_set_add(s->zones, v, true);

	wire_name_to_str(origin, name, sizeof name);
	if (rc == -1) {
		/* Publishing a serial again: serve that version again (a rollback). */
		if (zone_set_serve(s->zones, origin, olen, zone_version_serial(v)) != 0) {
			snprintf(err, errlen, "cannot publish %s serial %u", name,
				 zone_version_serial(v));
			return -1;
		}
	} else if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct history *h = runner_history(s->run);
	if (h && runner_running(s->run)) {
		history_begin(h, runner_now(s->run), "publish");
		history_str(h, "source", s->name);
		history_str(h, "zone", name);
		history_uint(h, "serial", zone_version_serial(v));
		history_str(h, "file", zone_version_source(v));
		history_end(h);
	}
	runner_say(s->run, "%s publishes %s serial %u", s->name, name, zone_version_serial(v));
	if (runner_running(s->run))
		runner_emit(s->run, s, "published");
	return 0;
}

int farm_source_start(struct farm_source *s, char *err, size_t errlen)
{
	struct server_config cfg;
	if (s->server)
		return 0;
	server_config_defaults(&cfg);
	cfg.addr = s->addr;
	s->server = server_create(runner_base(s->run), s->zones, &cfg, err, errlen);
	if (!s->server)
		return -1;
	s->addr = *server_addr(s->server);
	return 0;
}

void farm_source_stop(struct farm_source *s)
{
	server_destroy(s->server);
	s->server = NULL;
}
