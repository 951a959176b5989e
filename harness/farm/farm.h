/*
 * farm.h - the farm's objects without Lua: the zone source (the published
 * truth) and the fake resolvers, with their lifecycle (start, stop, crash,
 * restart, boot from a file or from the source by AXFR) and their faults.
 * Every change is recorded in the history; the Lua bindings in harness/lua/
 * are a thin layer over these functions.
 */
#ifndef HARNESS_FARM_H
#define HARNESS_FARM_H

#include "fakeresolver/faults.h"
#include "fakeresolver/server.h"
#include "fakeresolver/zone.h"

struct runner;
struct farm_source;
struct farm_resolver;

#define FARM_NAME_MAX 64
#define FARM_BOOT_ZONES 16

/* How a resolver boots: zone versions from its own disk, or AXFR from a source. */
struct farm_boot {
	struct farm_source *source;                  /* non-NULL: by AXFR from it */
	struct zone_version *zones[FARM_BOOT_ZONES]; /* else: these versions (referenced) */
	size_t nzones;
};

/* Copies a boot plan, taking references on its zones. */
void farm_boot_copy(struct farm_boot *dst, const struct farm_boot *src);

/* Drops the references a boot plan holds. */
void farm_boot_clear(struct farm_boot *b);

/* ---- the zone source ---- */

/* A zone source named name at addr (port 0: chosen at start). zones: referenced. */
struct farm_source *farm_source_create(struct runner *run, const char *name,
				       const struct addr *addr);
void farm_source_destroy(struct farm_source *s);

const char *farm_source_name(const struct farm_source *s);

/* Its address (the port is known once started). */
const struct addr *farm_source_addr(const struct farm_source *s);

/* The zone set it publishes (borrowed). */
const struct zone_set *farm_source_zones(const struct farm_source *s);

/*
 * Publishes a version (referenced): it becomes the served version of its zone.
 * Before the run starts this sets the initial truth; during the run it is
 * recorded as a publish event. Returns 0, or -1 with err set (same serial
 * already published with other content, out of memory).
 */
int farm_source_publish(struct farm_source *s, struct zone_version *v, char *err, size_t errlen);

/* Binds and serves SOA and AXFR. Returns 0 or -1 with err set. */
int farm_source_start(struct farm_source *s, char *err, size_t errlen);
void farm_source_stop(struct farm_source *s);

/* ---- fake resolvers ---- */

enum farm_state {
	FARM_DOWN,    /* not started, stopped or crashed: ports closed */
	FARM_BOOTING, /* ports open, serving nothing until the transfer completes */
	FARM_UP,      /* serving */
};

struct farm_resolver *farm_resolver_create(struct runner *run, const char *name,
					   const struct addr *addr, const struct farm_boot *boot);
void farm_resolver_destroy(struct farm_resolver *r);

const char *farm_resolver_name(const struct farm_resolver *r);
const struct addr *farm_resolver_addr(const struct farm_resolver *r);
enum farm_state farm_resolver_state(const struct farm_resolver *r);
const char *farm_state_name(enum farm_state s);

/* The serial it serves for the zone enclosing name (wire), or -1 if none. */
int64_t farm_resolver_serial(const struct farm_resolver *r, const uint8_t *name, size_t len);

/* Its first zone's served serial, or -1 when it serves nothing. */
int64_t farm_resolver_first_serial(const struct farm_resolver *r);

/*
 * Opens the ports and boots with boot (NULL: the configured plan). Returns 0,
 * or -1 with err set (cannot bind). A failed transfer is not an error here: it
 * is recorded, and the resolver serves nothing.
 */
int farm_resolver_start(struct farm_resolver *r, const struct farm_boot *boot, char *err,
			size_t errlen);

/* Closes the ports (the kernel answers port unreachable). why: "stop", "crash". */
void farm_resolver_stop(struct farm_resolver *r, const char *why);

/*
 * Crashes now and boots again after down_s seconds with boot (NULL: the
 * configured plan). restart is crash with down_s 0.
 */
int farm_resolver_crash(struct farm_resolver *r, double down_s, const struct farm_boot *boot,
			char *err, size_t errlen);

/* Replaces what it serves without closing its ports (a zone reload). */
int farm_resolver_reload(struct farm_resolver *r, const struct farm_boot *boot, char *err,
			 size_t errlen);

/*
 * Injects a fault; heals it by itself after duration_s if > 0. Returns the
 * fault's id (unique in the run, never 0) or 0 on out of memory. On success
 * the resolver owns spec->wrong_zones.
 */
uint32_t farm_resolver_inject(struct farm_resolver *r, const struct fault_spec *spec,
			      double duration_s);

/* Limits service to qps with a queue; returns the fault id (heal removes it). */
uint32_t farm_resolver_capacity(struct farm_resolver *r, double qps, unsigned queue,
				double duration_s);

/* Heals one fault (id) or all (id 0). Returns how many were healed. */
int farm_resolver_heal(struct farm_resolver *r, uint32_t id);

/* True if the fault id is active on this resolver. */
bool farm_resolver_has_fault(const struct farm_resolver *r, uint32_t id);

/* Query counters since the run started. */
void farm_resolver_stats(const struct farm_resolver *r, struct server_stats *out);

#endif
