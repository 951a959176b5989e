/*
 * sniff.h - reading DNS over UDP and TCP out of packets captured on loopback, as
 * plain functions without I/O (farm/process.c owns the capture socket): a
 * bounded parser of an IPv4 or IPv6 packet (from its IP header on, what an
 * AF_PACKET SOCK_DGRAM socket hands over), its UDP or TCP header and the
 * DNS message's header and question. Over TCP only a segment that starts
 * with a whole message (its two-octet length, then that many octets) is
 * read: streams are not reassembled, which on loopback (one write, one
 * segment) misses little. Every packet is hostile: each length is
 * checked before it is read, IPv4 fragments and IPv6 extension headers are
 * refused rather than followed, and the question is read by wire.c's name
 * reader (pointers only backwards). Work per packet is bounded by its
 * header sizes plus one name. Fuzzed by tests/fuzz/fuzz_sniff.c.
 */
#ifndef HARNESS_FARM_SNIFF_H
#define HARNESS_FARM_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/wire.h"

/* What a captured DNS message says. */
struct sniff_dns {
	struct addr src, dst;       /* with their UDP or TCP ports */
	bool tcp;                   /* over TCP (else UDP) */
	bool response;              /* QR set */
	uint16_t id;
	uint16_t flags;             /* the header's flags (QR, opcode, AA, TC, RD, RA, rcode) */
	uint8_t rcode;              /* the header's 4-bit rcode */
	uint16_t ancount;           /* records in the answer section, as the header says */
	bool question;              /* qname and qtype were read (one question) */
	uint8_t qname[WIRE_NAME_MAX]; /* uncompressed, lower-case */
	size_t qname_len;
	uint16_t qtype;
};

enum sniff_verdict {
	SNIFF_OK = 0,    /* a DNS message over UDP: out is filled */
	SNIFF_NOT_UDP,   /* neither UDP nor TCP over IPv4/IPv6 (ICMP, ARP, an IPv6 extension header) */
	SNIFF_NO_MESSAGE, /* a TCP segment that does not start with a whole DNS message */
	SNIFF_FRAGMENT,  /* an IPv4 fragment: not reassembled */
	SNIFF_MALFORMED, /* lengths that do not add up, or shorter than a DNS header */
};

/*
 * Parses pkt (len octets from the IP header on) into out. Returns a verdict;
 * out is filled only for SNIFF_OK. A DNS message whose question cannot be
 * read is still SNIFF_OK with question false (its header is known).
 */
enum sniff_verdict sniff_parse(const uint8_t *pkt, size_t len, struct sniff_dns *out);

#endif
