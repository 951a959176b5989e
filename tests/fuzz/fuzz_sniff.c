/*
 * fuzz_sniff.c - libFuzzer target for the capture's packet parser
 * (harness/farm/sniff.c): arbitrary octets as a packet captured on
 * loopback, from its IP header on.
 *
 * Besides what the sanitizers see (the input is an exactly-sized heap
 * copy), it checks what the parser promises: a parsed message has IPv4 or
 * IPv6 addresses of one family; a question read is a well-formed wire name
 * of at most 255 octets, lower case, and names the packet's own question;
 * the verdict does not depend on octets past the IP datagram's own length.
 */
#include "harness/farm/sniff.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sniff_dns d;
	enum sniff_verdict v = sniff_parse(data, size, &d);
	CHECK(v == SNIFF_OK || v == SNIFF_NOT_UDP || v == SNIFF_NO_MESSAGE || v == SNIFF_FRAGMENT ||
	      v == SNIFF_MALFORMED);
	if (v != SNIFF_OK)
		return 0;
	int fam = d.src.ss.ss_family;
	CHECK(fam == AF_INET || fam == AF_INET6);
	CHECK(d.dst.ss.ss_family == fam);
	CHECK(d.rcode <= 15);
	CHECK(d.response == ((d.flags & WIRE_FLAG_QR) != 0));
	if (d.question) {
		CHECK(d.qname_len >= 1 && d.qname_len <= WIRE_NAME_MAX);
		CHECK(wire_name_len(d.qname) == d.qname_len);
		for (size_t i = 0; i < d.qname_len; i++)
			CHECK(!(d.qname[i] >= 'A' && d.qname[i] <= 'Z'));
	}
	/* Octets after the datagram (a link's padding) change nothing. */
	uint8_t *more = malloc(size + 16);
	if (!more)
		return 0;
	memcpy(more, data, size);
	memset(more + size, 0xff, 16);
	struct sniff_dns e;
	CHECK(sniff_parse(more, size + 16, &e) == SNIFF_OK);
	CHECK(e.id == d.id && e.question == d.question && e.ancount == d.ancount);
	if (d.question)
		CHECK(e.qname_len == d.qname_len && memcmp(e.qname, d.qname, d.qname_len) == 0);
	free(more);
	return 0;
}
