/*
 * classify.h - is an answer fresh, stale or wrong? Each record a client got
 * is compared with every zone version the run has known, told apart by
 * content (zone_version_digest), whatever their serials: the versions the
 * zone source published, those resolvers booted from their own disk, and
 * those they transferred.
 *
 * Per record (an address; for family "both" the A and the AAAA records
 * separately):
 *   fresh: the version published at that moment gives it (or, within grace
 *          seconds after a publish, the published version it replaced);
 *   stale: another known version gives it, and the published one does not;
 *   wrong: no known version gives it.
 * The answer is wrong if any record is wrong, else stale if any record is
 * stale, else fresh. A record missing from an answer does not change its
 * class. An answer with no address (NXDOMAIN, NODATA) is compared whole: it
 * is fresh when the published version has no address for the name either,
 * stale when only another known version has none, wrong otherwise.
 *
 * A zone with no publish takes its highest known serial as the current
 * version; of two versions with that serial, the one known first. What a
 * version answers is worked out once per (name, type) by asking the answer
 * engine, and cached. Times are taken to the microsecond, as the history
 * writes them, so that replaying a history gives the same classes. Loop
 * thread only.
 */
#ifndef HARNESS_RECORD_CLASSIFY_H
#define HARNESS_RECORD_CLASSIFY_H

#include "fakeresolver/zone.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct classify;
/* An address a lookup got (clients fill them; classification reads them). */
#define LOOKUP_ADDRS_MAX 32 /* addresses one lookup keeps */
struct lookup_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

enum answer_class { CLASS_NONE, CLASS_FRESH, CLASS_STALE, CLASS_WRONG };

const char *classify_name(enum answer_class c);

/* How the run came to know a version (the first way it did). */
enum classify_known { CLASSIFY_PUBLISHED, CLASSIFY_DISK, CLASSIFY_TRANSFER };

/* "published", "disk", "transfer". */
const char *classify_known_name(enum classify_known k);

struct classify *classify_create(void);
void classify_destroy(struct classify *c);

/* Seconds after a publish during which the replaced version still counts as fresh. */
void classify_set_grace(struct classify *c, double grace_s);
double classify_grace(const struct classify *c);

/*
 * A version the run knows from run time t (referenced). Versions are kept
 * once per (origin, content digest). Returns 1 when its content was new to c,
 * 0 when already known, -1 on out of memory.
 */
int classify_add_version(struct classify *c, struct zone_version *v, enum classify_known how,
                         double t);

/*
 * v became the published version of its zone at run time t (also added as
 * known, as classify_add_version). Returns 1, 0 or -1 as classify_add_version.
 */
int classify_publish(struct classify *c, struct zone_version *v, double t);

/* What a lookup got, to be classified. */
struct classify_query {
	const char *name; /* presentation form, with or without the final dot */
	bool want_a, want_aaaa;
	bool nxdomain; /* the lookup failed with NXDOMAIN (addresses ignored) */
	const struct lookup_addr *addrs;
	size_t naddrs; /* 0 and !nxdomain: NODATA */
	double t;      /* run time of the answer */
};

/* The first CLASSIFY_MASK_BITS addresses of a query are named in the masks. */
#define CLASSIFY_MASK_BITS 64

struct classify_result {
	enum answer_class cls; /* CLASS_NONE: no known version holds the name's zone */
	/*
	 * fresh: the version the answer matched (the replaced one with grace);
	 * stale: the version the stale records come from (the one giving most
	 * of them, the one known last of those tied). Not set for wrong.
	 */
	uint32_t serial;
	uint8_t digest[ZONE_DIGEST_LEN];
	bool grace;     /* fresh only by the grace after a publish */
	uint64_t stale; /* bit i: addrs[i] is stale */
	uint64_t wrong; /* bit i: addrs[i] comes from no known version */
};

struct classify_result classify_answer(struct classify *c, const struct classify_query *q);

/*
 * Could an answer for name (the types asked) at run time t be classified
 * stale? True when some other version of its zone known by then gives an
 * address the published one does not, or none where the published one gives
 * some; also when it cannot be told. False when every version known answers
 * it alike (a check for stale answers to it could not have failed), or no
 * known version holds its zone.
 */
bool classify_stale_possible(struct classify *c, const char *name, bool want_a, bool want_aaaa,
                             double t);

#endif
