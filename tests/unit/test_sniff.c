/*
 * test_sniff.c - the capture's packet parser (harness/farm/sniff.h): what it
 * reads out of IPv4 and IPv6 packets carrying DNS over UDP and TCP, and
 * what it refuses (fragments, extension headers, lengths that lie, a TCP
 * segment without a whole message). The fuzz target checks it never
 * misbehaves; these check it reads right.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "harness/farm/sniff.h"

static uint8_t pkt[512];

static size_t put_name(uint8_t *p, const char *const *labels)
{
	size_t n = 0;
	for (; *labels; labels++) {
		size_t l = strlen(*labels);
		p[n++] = (uint8_t)l;
		memcpy(p + n, *labels, l);
		n += l;
	}
	p[n++] = 0;
	return n;
}

/* A DNS message asking Db.Internal. type qtype; flags as given. */
static size_t put_dns(uint8_t *p, uint16_t id, uint16_t flags, uint16_t qtype, uint16_t an)
{
	static const char *const labels[] = { "Db", "Internal", NULL };
	memset(p, 0, 12);
	wire_put16(p, id);
	wire_put16(p + 2, flags);
	wire_put16(p + 4, 1);
	wire_put16(p + 6, an);
	size_t n = 12 + put_name(p + 12, labels);
	wire_put16(p + n, qtype);
	wire_put16(p + n + 2, 1);
	return n + 4;
}

/* IPv4 127.0.0.1:sport -> 127.0.0.10:dport, UDP (proto 17) or TCP (6). */
static size_t ip4(uint8_t proto, uint16_t sport, uint16_t dport, uint16_t frag, size_t dnslen_hint,
		  uint16_t id, uint16_t flags)
{
	memset(pkt, 0, sizeof pkt);
	pkt[0] = 0x45;
	pkt[9] = proto;
	wire_put16(pkt + 6, frag);
	pkt[12] = 127, pkt[15] = 1;
	pkt[16] = 127, pkt[19] = 10;
	uint8_t *l4 = pkt + 20;
	wire_put16(l4, sport);
	wire_put16(l4 + 2, dport);
	size_t n;
	if (proto == 17) {
		n = put_dns(l4 + 8, id, flags, 1, 0);
		wire_put16(l4 + 4, (uint16_t)(8 + n));
		n += 8;
	} else {
		l4[12] = 5 << 4;
		size_t m = put_dns(l4 + 22, id, flags, 1, 2);
		wire_put16(l4 + 20, (uint16_t)(dnslen_hint ? dnslen_hint : m));
		n = 22 + m;
	}
	wire_put16(pkt + 2, (uint16_t)(20 + n));
	return 20 + n;
}

static void udp4_query(void **state)
{
	(void)state;
	struct sniff_dns d;
	size_t n = ip4(17, 40000, 53, 0, 0, 0x1234, 0x0100);
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_OK);
	char buf[80];
	assert_string_equal(addr_str(&d.src, buf, sizeof buf), "127.0.0.1:40000");
	assert_string_equal(addr_str(&d.dst, buf, sizeof buf), "127.0.0.10:53");
	assert_false(d.response);
	assert_false(d.tcp);
	assert_int_equal(d.id, 0x1234);
	assert_true(d.question);
	assert_int_equal(d.qtype, 1);
	wire_name_to_str(d.qname, buf, sizeof buf);
	assert_string_equal(buf, "db.internal."); /* lower case */
	/* Padding after the datagram changes nothing. */
	assert_int_equal(sniff_parse(pkt, n + 30, &d), SNIFF_OK);
	/* One octet short of its own length: refused. */
	assert_int_equal(sniff_parse(pkt, n - 1, &d), SNIFF_MALFORMED);
}

static void udp4_reply_and_refusals(void **state)
{
	(void)state;
	struct sniff_dns d;
	size_t n = ip4(17, 53, 40000, 0, 0, 7, 0x8583); /* QR AA RD RA, NXDOMAIN */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_OK);
	assert_true(d.response);
	assert_int_equal(d.rcode, 3);
	assert_true(d.flags & WIRE_FLAG_AA);
	n = ip4(17, 40000, 53, 0x2000, 0, 7, 0x0100); /* more fragments */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_FRAGMENT);
	n = ip4(17, 40000, 53, 0x0010, 0, 7, 0x0100); /* an offset */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_FRAGMENT);
	n = ip4(1, 40000, 53, 0, 0, 7, 0x0100); /* ICMP */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_NOT_UDP);
	n = ip4(17, 40000, 53, 0, 0, 7, 0x0100);
	wire_put16(pkt + 20 + 4, 600); /* a UDP length past the datagram */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_MALFORMED);
	n = ip4(17, 40000, 53, 0, 0, 7, 0x0100);
	pkt[0] = 0x4f; /* a 60-octet header in a shorter packet's layout */
	wire_put16(pkt + 2, 50);
	assert_int_equal(sniff_parse(pkt, 50, &d), SNIFF_MALFORMED);
	assert_int_equal(sniff_parse(NULL, 0, &d), SNIFF_MALFORMED);
}

static void tcp4_whole_and_partial(void **state)
{
	(void)state;
	struct sniff_dns d;
	size_t n = ip4(6, 53, 40000, 0, 0, 9, 0x8400);
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_OK);
	assert_true(d.tcp);
	assert_true(d.response);
	assert_int_equal(d.ancount, 2);
	n = ip4(6, 40000, 53, 0, 200, 9, 0x0100); /* says 200 octets, holds fewer */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_NO_MESSAGE);
	n = ip4(6, 40000, 53, 0, 0, 9, 0x0100);
	pkt[20 + 12] = 15 << 4; /* a data offset past the segment */
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_MALFORMED);
}

static void ipv6(void **state)
{
	(void)state;
	struct sniff_dns d;
	memset(pkt, 0, sizeof pkt);
	pkt[0] = 0x60;
	pkt[6] = 17;
	pkt[23] = 1; /* ::1 */
	pkt[39] = 1;
	uint8_t *u = pkt + 40;
	wire_put16(u, 53);
	wire_put16(u + 2, 41000);
	size_t m = put_dns(u + 8, 77, 0x8180, 28, 1);
	wire_put16(u + 4, (uint16_t)(8 + m));
	wire_put16(pkt + 4, (uint16_t)(8 + m));
	assert_int_equal(sniff_parse(pkt, 40 + 8 + m, &d), SNIFF_OK);
	char buf[80];
	assert_string_equal(addr_str(&d.src, buf, sizeof buf), "[::1]:53");
	assert_int_equal(d.qtype, 28);
	assert_true(d.response);
	pkt[6] = 0; /* a hop-by-hop extension header: not followed */
	assert_int_equal(sniff_parse(pkt, 40 + 8 + m, &d), SNIFF_NOT_UDP);
	pkt[6] = 17;
	wire_put16(pkt + 4, 4000); /* a payload length past the packet */
	assert_int_equal(sniff_parse(pkt, 40 + 8 + m, &d), SNIFF_MALFORMED);
}

static void no_question(void **state)
{
	(void)state;
	struct sniff_dns d;
	size_t n = ip4(17, 40000, 53, 0, 0, 5, 0x0100);
	pkt[20 + 8 + 12] = 0xc0; /* the name is a pointer to itself */
	pkt[20 + 8 + 13] = 12;
	assert_int_equal(sniff_parse(pkt, n, &d), SNIFF_OK);
	assert_false(d.question); /* its header is known all the same */
	assert_int_equal(d.id, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(udp4_query),	   cmocka_unit_test(udp4_reply_and_refusals),
		cmocka_unit_test(tcp4_whole_and_partial), cmocka_unit_test(ipv6),
		cmocka_unit_test(no_question),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
