/*
 * classify.h - is an answer fresh, stale or wrong? Each answer a client got
 * is compared with every zone version the run has known: the versions the
 * zone source published and those resolvers booted from their own disk.
 *
 *  fresh: what the version published at that moment answers (or, within
 *         grace seconds after a publish, what the version it replaced answers);
 *  stale: what an older known version answers, and the current one does not;
 *  wrong: what no known version answers.
 *
 * A zone with no publish (no zone source) takes its highest known serial as
 * the current version. What a version answers is worked out once per (name,
 * type) by asking the answer engine, and cached. Loop thread only.
 */
#ifndef HARNESS_RECORD_CLASSIFY_H
#define HARNESS_RECORD_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct classify;
struct zone_version;
struct lookup_addr;

enum answer_class { CLASS_NONE, CLASS_FRESH, CLASS_STALE, CLASS_WRONG };

const char *classify_name(enum answer_class c);

struct classify *classify_create(void);
void classify_destroy(struct classify *c);

/* Seconds after a publish during which the replaced version still counts as fresh. */
void classify_set_grace(struct classify *c, double grace_s);

/* A version the run knows (referenced; the same origin and serial twice is kept once). */
int classify_add_version(struct classify *c, struct zone_version *v);

/* v became the published version of its zone at run time t (also added as known). */
int classify_publish(struct classify *c, struct zone_version *v, double t);

/* What a lookup got, to be classified. */
struct classify_query {
	const char *name;      /* presentation form, with or without the final dot */
	bool want_a, want_aaaa;
	bool nxdomain;         /* the lookup failed with NXDOMAIN (addresses ignored) */
	const struct lookup_addr *addrs;
	size_t naddrs;         /* 0 and !nxdomain: NODATA */
	double t;              /* run time of the answer */
};

struct classify_result {
	enum answer_class cls;  /* CLASS_NONE: no known version holds the name's zone */
	uint32_t serial;        /* fresh/stale: the serial of the version it matched */
	bool grace;             /* fresh only by the grace after a publish */
};

struct classify_result classify_answer(struct classify *c, const struct classify_query *q);

#endif
