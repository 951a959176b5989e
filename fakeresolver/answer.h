/*
 * answer.h - the answer engine: query octets plus the served zones in, reply
 * octets out. No sockets, no clock, no allocation on the query path, so it
 * can be unit-tested, fuzzed and reused by a simulator.
 *
 * Semantics follow an authoritative server such as NSD: AA on authoritative
 * data; in-zone CNAME chains followed; wildcards per RFC 4592; NXDOMAIN and
 * NODATA carry the SOA with the RFC 2308 negative TTL; referrals below zone
 * cuts; REFUSED outside every zone; EDNS0 per RFC 6891; TC when a UDP reply
 * does not fit. AXFR (and IXFR, answered as a full transfer) go over TCP as
 * a stream of messages from answer_axfr_*.
 */
#ifndef FAKERESOLVER_ANSWER_H
#define FAKERESOLVER_ANSWER_H

#include "fakeresolver/wire.h"
#include "fakeresolver/zone.h"

#define ANSWER_EDNS_PAYLOAD 1232 /* what we advertise and honour at most over UDP */
#define ANSWER_CNAME_CHAIN_MAX 16

enum answer_transport { ANSWER_UDP, ANSWER_TCP };

enum answer_action {
	ANSWER_DROP,  /* send nothing (not a query, or too short to answer) */
	ANSWER_REPLY, /* send the reply written to out */
	ANSWER_AXFR,  /* stream a zone transfer with answer_axfr_create */
};

/* What the engine saw and did, for logs and the history. */
struct answer_info {
	struct wire_query query;    /* the parsed query (qname lower-case) */
	enum wire_verdict verdict;
	enum answer_action action;
	uint16_t rcode;             /* including the extended bits (BADVERS = 16) */
	uint16_t flags;             /* the reply's header flags */
	uint16_t ancount, nscount, arcount;
	struct zone_version *zone;  /* the version answered from, or NULL; borrowed */
};

/*
 * Answers one query. out must hold cap octets; cap >= 512 for UDP and 65535
 * for TCP. Returns the reply length (0 unless info->action is ANSWER_REPLY).
 */
size_t answer_query(const struct zone_set *zones, const uint8_t *pkt, size_t len,
		    enum answer_transport transport, uint8_t *out, size_t cap,
		    struct answer_info *info);

/*
 * As answer_query, for a query already parsed into info->query and
 * info->verdict by wire_query_parse (the fault plan looks at it first).
 */
size_t answer_parsed(const struct zone_set *zones, const uint8_t *pkt, size_t len,
		     enum answer_transport transport, uint8_t *out, size_t cap,
		     struct answer_info *info);

/*
 * As answer_parsed, with the query's zone already chosen: zone is what
 * zone_set_match(zones, qname) gives (NULL: none of them, REFUSED). zones is
 * still asked where a CNAME chain leads.
 */
size_t answer_in_zone(const struct zone_set *zones, struct zone_version *zone, const uint8_t *pkt,
		      size_t len, enum answer_transport transport, uint8_t *out, size_t cap,
		      struct answer_info *info);

/*
 * Writes a reply with only the echoed question: the given rcode, TC if tc.
 * For injected errors (SERVFAIL, REFUSED, NXDOMAIN) and truncation. info is
 * as filled by wire_query_parse; its reply fields are updated.
 */
size_t answer_error(const uint8_t *pkt, size_t len, enum answer_transport transport, uint8_t *out,
		    size_t cap, uint16_t rcode, bool tc, struct answer_info *info);

/*
 * Writes an authoritative reply claiming that the query's name has one
 * address (family AF_INET: 4 octets, AF_INET6: 16), with ttl. A query for the
 * other address type gets NODATA. For the wrong-answer fault.
 */
size_t answer_address(const uint8_t *pkt, size_t len, enum answer_transport transport,
		      uint8_t *out, size_t cap, int family, const uint8_t *addr, uint32_t ttl,
		      struct answer_info *info);

/* A zone transfer in progress; holds a reference to its zone version. */
struct answer_axfr;

/*
 * Starts a transfer of info->zone for the query in info (which must have come
 * back from answer_query with action ANSWER_AXFR). Returns NULL on out of memory.
 */
struct answer_axfr *answer_axfr_create(const struct answer_info *info);

/*
 * Writes the next message of the transfer into out (cap octets). Returns its
 * length, or 0 when the transfer is complete. Use cap = WIRE_MSG_MAX (65535),
 * as the server does: a record that does not fit cap ends the transfer.
 */
size_t answer_axfr_next(struct answer_axfr *x, uint8_t *out, size_t cap);

/* Frees the transfer and drops its version reference. NULL is a no-op. */
void answer_axfr_destroy(struct answer_axfr *x);

/* Presentation names for rcodes and types, for logs ("NOERROR", "AAAA", "TYPE65534"). */
const char *answer_rcode_str(uint16_t rcode, char *buf, size_t cap);
const char *answer_type_str(uint16_t type, char *buf, size_t cap);

#endif
