/*
 * zone.h - the zone store: immutable zone versions keyed by SOA serial, and
 * a set of zones that says which version of each is served.
 *
 * A zone version is built once (from a master file with ldns, or record by
 * record through a builder, e.g. from an AXFR) and never changes after; it is
 * reference-counted so several servers of a farm can serve the same version.
 * Names are kept lower-case and uncompressed; rdata is kept as on the wire,
 * uncompressed, with its original letter case.
 */
#ifndef FAKERESOLVER_ZONE_H
#define FAKERESOLVER_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zone_version;
struct zone_builder;
struct zone_set;

/* Node flags. */
#define ZONE_NODE_APEX 0x01u     /* the zone's origin */
#define ZONE_NODE_DELEG 0x02u    /* has NS and is not the apex: a zone cut */
#define ZONE_NODE_OCCLUDED 0x04u /* strictly below a zone cut: glue or junk */
#define ZONE_NODE_WILDPARENT 0x08u /* has a child named "*" */

#define ZONE_NODE_NONE UINT32_MAX

/* The longest rdata accepted: a record must fit one 64 KiB message with its owner. */
#define ZONE_RDATA_MAX 65000u

/* A read-only view of one RRset. rdata holds count entries of [len16][octets]. */
struct zone_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	const uint8_t *rdata;
};

/* Steps over one rdata entry: sets *rd and *len, returns the next entry. */
static inline const uint8_t *zone_rdata_next(const uint8_t *entry, const uint8_t **rd,
					     uint16_t *len)
{
	*len = (uint16_t)((entry[0] << 8) | entry[1]);
	*rd = entry + 2;
	return entry + 2 + *len;
}

/* The largest zone file zone_version_load reads (a million records take about 26 MiB). */
#define ZONE_FILE_MAX (1024u * 1024u * 1024u)

/*
 * Loads a master file (RFC 1035 format, as ldns reads it: $ORIGIN, $TTL,
 * relative names, parentheses) into a new version. origin, if not NULL, is the
 * initial $ORIGIN in presentation form. On error returns NULL and writes
 * "FILE:LINE: reason" into err. Nothing half-loaded is ever returned.
 *
 * The file must be a regular file (a symbolic link to one is followed): a
 * FIFO, a device or a directory is refused without reading it (and without
 * opening a device), as is a file over ZONE_FILE_MAX octets; the file is read
 * whole into memory, then parsed. Refused with FILE:LINE besides ldns's own
 * errors: a NUL byte anywhere (ldns would drop it), a TTL (or $TTL) above
 * 2^31 - 1 (ldns would keep its low 32 bits).
 */
struct zone_version *zone_version_load(const char *path, const char *origin, char *err,
				       size_t errlen);

/* Takes another reference; returns v. */
struct zone_version *zone_version_ref(struct zone_version *v);

/* Drops a reference, freeing the version with the last one. NULL is a no-op. */
void zone_version_unref(struct zone_version *v);

uint32_t zone_version_serial(const struct zone_version *v);

/* The origin as a lower-case wire name; *len (if not NULL) gets its length. */
const uint8_t *zone_version_origin(const struct zone_version *v, size_t *len);

/* Where the version came from (file path, or a caller's label). Borrowed. */
const char *zone_version_source(const struct zone_version *v);

/* The length of a version's content digest (SHA-256), and of its hex form with the NUL. */
#define ZONE_DIGEST_LEN 32
#define ZONE_DIGEST_HEX (2 * ZONE_DIGEST_LEN + 1)

/*
 * The version's content digest: SHA-256 over its records in a canonical form
 * (lower-case owner, type, class, TTL, rdata; sorted), so the same records
 * give the same digest whether they came from a master file or an AXFR, in
 * any order, and any other content gives another. Worked out on the first
 * call and kept (the first call must not race another on the same version).
 * Returns 0, or -1 on out of memory.
 */
int zone_version_digest(struct zone_version *v, uint8_t out[ZONE_DIGEST_LEN]);

/* A digest in lower-case hex (ZONE_DIGEST_HEX bytes with the NUL). */
void zone_digest_hex(const uint8_t digest[ZONE_DIGEST_LEN], char out[ZONE_DIGEST_HEX]);

/* Number of records (after removing duplicates) and of names (empty non-terminals included). */
size_t zone_version_record_count(const struct zone_version *v);
size_t zone_version_node_count(const struct zone_version *v);

/* The apex SOA RRset (always present in a built version). */
struct zone_rrset zone_version_soa(const struct zone_version *v);

/* Looks up a lower-case wire name; returns a node index or ZONE_NODE_NONE. */
uint32_t zone_find(const struct zone_version *v, const uint8_t *lname, size_t len);

/*
 * A hint that zone_find(v, lname, len) comes soon: stage 0 starts fetching
 * its table slot into the cache and returns the name's hash, stage 1 (given
 * that hash) its node, stage 2 its stored name. Nothing changes. A batch that
 * runs each stage over all its names before answering them waits for memory
 * once per stage instead of three times per name.
 */
uint32_t zone_prefetch(const struct zone_version *v, const uint8_t *lname, size_t len, uint32_t h,
		       int stage);

/* The node's lower-case wire name, borrowed. */
const uint8_t *zone_node_name(const struct zone_version *v, uint32_t node);

unsigned zone_node_flags(const struct zone_version *v, uint32_t node);

/* Number of RRsets at the node (0 for an empty non-terminal). */
unsigned zone_node_rrset_count(const struct zone_version *v, uint32_t node);

/* The i-th RRset of the node; RRsets are sorted by type. */
struct zone_rrset zone_node_rrset_at(const struct zone_version *v, uint32_t node, unsigned i);

/* Finds the node's RRset of a type; returns false if it has none. */
bool zone_node_rrset(const struct zone_version *v, uint32_t node, uint16_t type,
		     struct zone_rrset *out);

/*
 * Builder: records in any order, then zone_builder_finish validates the whole
 * zone and freezes it. Any error leaves nothing behind but the message.
 */

/* origin: lower-case or not, uncompressed wire name. source: a label for messages. */
struct zone_builder *zone_builder_create(const uint8_t *origin, const char *source);

/* Frees a builder that was not finished. NULL is a no-op. */
void zone_builder_destroy(struct zone_builder *b);

/*
 * Adds one IN record. line is the source line for messages (0 if none).
 * Returns 0, or -1 with "SOURCE:LINE: reason" in err (out of zone, bad rdata,
 * out of memory); after an error the builder can only be destroyed.
 */
int zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen, unsigned line, char *err, size_t errlen);

/*
 * Validates (one SOA at the apex, CNAME alone at its name) and freezes the
 * zone. Always consumes the builder. Returns the version or NULL with err set.
 */
struct zone_version *zone_builder_finish(struct zone_builder *b, char *err, size_t errlen);

/*
 * The zone set: zones keyed by origin, each holding its versions by serial and
 * one served version. Switching the served version is a pointer swap done on
 * the thread that serves; readers see the old or the new version, never a mix.
 */
struct zone_set *zone_set_create(void);

/* Drops every version reference and frees the set. NULL is a no-op. */
void zone_set_destroy(struct zone_set *s);

/*
 * Adds a version (taking a new reference) to the zone of its origin, creating
 * the zone if needed. If serve is true it becomes the served version. Returns
 * 0, -1 if that serial is already held for that zone (the existing one stays),
 * or -2 on out of memory.
 */
int zone_set_add(struct zone_set *s, struct zone_version *v, bool serve);

/* True if the set holds a zone with this origin (lower-case wire). */
bool zone_set_has(const struct zone_set *s, const uint8_t *origin, size_t len);

/* Serves the held version with this serial. Returns 0 or -1 if not held. */
int zone_set_serve(struct zone_set *s, const uint8_t *origin, size_t len, uint32_t serial);

/* Drops a held version that is not served. Returns 0 or -1. */
int zone_set_drop(struct zone_set *s, const uint8_t *origin, size_t len, uint32_t serial);

/* The served version of the zone with this origin, or NULL. Borrowed. */
struct zone_version *zone_set_served(const struct zone_set *s, const uint8_t *origin,
				     size_t len);

/*
 * The served version of the zone that is the closest encloser of name (the
 * longest origin at or above it), or NULL if no zone encloses it. Borrowed.
 */
struct zone_version *zone_set_match(const struct zone_set *s, const uint8_t *lname,
					  size_t len);

/* Number of zones, and the served version of the i-th (in the order added). */
size_t zone_set_count(const struct zone_set *s);
struct zone_version *zone_set_at(const struct zone_set *s, size_t i);

#endif
