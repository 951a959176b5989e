/*
 * dnstest.h - helpers shared by the unit tests: wire names, hand-built
 * queries, zone sets from the data directory, and replies read back with ldns.
 *
 * Every helper fails the running cmocka test (rather than returning an error)
 * when its own input is broken, so a test reads as a list of assertions.
 */
#ifndef DNSCHAOS_TESTS_DNSTEST_H
#define DNSCHAOS_TESTS_DNSTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "fakeresolver/answer.h"
#include "fakeresolver/wire.h"
#include "fakeresolver/zone.h"

/* The path of a file in tests/unit/data. */
#define DT_DATA(file) TEST_DATA_DIR "/" file

/*
 * Converts a presentation name ("www.example.", ".") into an uncompressed
 * wire name in out (WIRE_NAME_MAX octets), keeping the letter case. Returns
 * its length. No escapes; fails the test on an empty or overlong label.
 */
size_t dt_name(const char *str, uint8_t *out);

/* How to build a query; dt_query(..., NULL) means dt_opts_default(). */
struct dt_opts {
	uint16_t id;
	uint16_t flags;  /* the header flags word as sent (opcode included) */
	uint16_t qclass;
	bool edns;       /* append an OPT record */
	uint16_t udp_size;
	uint8_t version;
	bool dnssec_ok;
};

/* id 0x1234, RD, class IN, no EDNS. */
struct dt_opts dt_opts_default(void);

/* dt_opts_default() plus an OPT record advertising udp_size. */
struct dt_opts dt_opts_edns(uint16_t udp_size);

/* Writes a one-question query into buf (cap octets); returns its length. */
size_t dt_query(uint8_t *buf, size_t cap, const char *name, uint16_t type,
		const struct dt_opts *opts);

/*
 * An address on ip where nothing listens for type (SOCK_DGRAM: port
 * unreachable; SOCK_STREAM: connection refused), on a port below 1024: the
 * kernel never hands those out as ephemeral ports, so a test running beside
 * this one cannot take it between now and its use (a port chosen by bind(0)
 * and closed can be). Checked free by binding it where allowed (root).
 */
struct addr;
void dt_closed_port(const char *ip, int type, struct addr *out);

/* Loads tests/unit/data/FILE, failing the test (with the loader's message) if it does not. */
struct zone_version *dt_load(const char *file);

/* A zone set serving the given data files; the list ends with NULL. */
struct zone_set *dt_zones(const char *file, ...);

/* Parses a reply with ldns, failing the test if ldns cannot read it. Free with ldns_pkt_free. */
ldns_pkt *dt_parse(const uint8_t *buf, size_t len);

/*
 * Builds a query (opts may be NULL), answers it into a buffer of 1232 octets
 * for UDP or 65535 for TCP, and parses the reply. Fails the test if the engine
 * did not reply. info may be NULL. Free the result with ldns_pkt_free.
 */
ldns_pkt *dt_ask(const struct zone_set *zones, const char *name, uint16_t type,
		 const struct dt_opts *opts, enum answer_transport transport,
		 struct answer_info *info);

/* Number of records of type in a section; type 0 counts all. */
size_t dt_count(const ldns_pkt *pkt, ldns_pkt_section section, uint16_t type);

/* The i-th record of a section (borrowed), failing the test if there is none. */
ldns_rr *dt_rr(const ldns_pkt *pkt, ldns_pkt_section section, size_t i);

/*
 * The record of a section equal to rr, given in presentation form
 * ("www.example. A 192.0.2.80"), ignoring TTL and letter case; NULL if none.
 * Borrowed from pkt.
 */
ldns_rr *dt_find(const ldns_pkt *pkt, ldns_pkt_section section, const char *rr);

/* True if the record's owner equals name (letter case ignored). */
bool dt_owner_is(const ldns_rr *rr, const char *name);

#endif
