/*
 * sniff.c - DNS over UDP out of captured IP packets (see sniff.h).
 */
#include "harness/farm/sniff.h"

#include <netinet/in.h>
#include <string.h>

#define IP4_MIN 20
#define IP6_LEN 40
#define UDP_LEN 8
#define PROTO_UDP 17
#define PROTO_TCP 6
#define TCP_MIN 20

static void set4(struct addr *a, const uint8_t *ip, uint16_t port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
	memset(a, 0, sizeof *a);
	s->sin_family = AF_INET;
	memcpy(&s->sin_addr, ip, 4);
	s->sin_port = htons(port);
	a->len = sizeof *s;
}

static void set6(struct addr *a, const uint8_t *ip, uint16_t port)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
	memset(a, 0, sizeof *a);
	s->sin6_family = AF_INET6;
	memcpy(&s->sin6_addr, ip, 16);
	s->sin6_port = htons(port);
	a->len = sizeof *s;
}

/* The DNS message at msg (n octets): header, and the question when it reads. */
static enum sniff_verdict dns(const uint8_t *msg, size_t n, struct sniff_dns *out)
{
	if (n < WIRE_HEADER_LEN)
		return SNIFF_MALFORMED;
	out->id = wire_get16(msg);
	out->flags = wire_get16(msg + 2);
	out->response = (out->flags & WIRE_FLAG_QR) != 0;
	out->rcode = (uint8_t)(out->flags & 0xfu);
	out->ancount = wire_get16(msg + 6);
	out->question = false;
	if (wire_get16(msg + 4) != 1)
		return SNIFF_OK;
	size_t pos = WIRE_HEADER_LEN, nlen = 0;
	if (wire_name_read(msg, n, &pos, out->qname, &nlen) != 0 || pos + 4 > n)
		return SNIFF_OK;
	wire_name_lower(out->qname);
	out->qname_len = nlen;
	out->qtype = wire_get16(msg + pos);
	out->question = true;
	return SNIFF_OK;
}

enum sniff_verdict sniff_parse(const uint8_t *pkt, size_t len, struct sniff_dns *out)
{
	const uint8_t *udp;
	size_t avail;
	uint8_t proto;
	if (!pkt || len < 1)
		return SNIFF_MALFORMED;
	memset(out, 0, sizeof *out);
	unsigned version = pkt[0] >> 4;
	if (version == 4) {
		if (len < IP4_MIN)
			return SNIFF_MALFORMED;
		size_t ihl = (size_t)(pkt[0] & 0xfu) * 4;
		size_t total = wire_get16(pkt + 2);
		if (ihl < IP4_MIN || total < ihl || total > len)
			return SNIFF_MALFORMED;
		proto = pkt[9];
		if (proto != PROTO_UDP && proto != PROTO_TCP)
			return SNIFF_NOT_UDP;
		uint16_t frag = wire_get16(pkt + 6);
		if (frag & 0x3fffu) /* MF set, or an offset: a piece of a datagram */
			return SNIFF_FRAGMENT;
		udp = pkt + ihl;
		avail = total - ihl;
		if (avail < UDP_LEN)
			return SNIFF_MALFORMED;
		set4(&out->src, pkt + 12, wire_get16(udp));
		set4(&out->dst, pkt + 16, wire_get16(udp + 2));
	} else if (version == 6) {
		if (len < IP6_LEN)
			return SNIFF_MALFORMED;
		size_t payload = wire_get16(pkt + 4);
		if (payload > len - IP6_LEN)
			return SNIFF_MALFORMED;
		proto = pkt[6];
		if (proto != PROTO_UDP && proto != PROTO_TCP)
			return SNIFF_NOT_UDP; /* extension headers (or jumbograms) are not followed */
		udp = pkt + IP6_LEN;
		avail = payload;
		if (avail < UDP_LEN)
			return SNIFF_MALFORMED;
		set6(&out->src, pkt + 8, wire_get16(udp));
		set6(&out->dst, pkt + 24, wire_get16(udp + 2));
	} else {
		return SNIFF_NOT_UDP;
	}
	if (proto == PROTO_TCP) {
		out->tcp = true;
		if (avail < TCP_MIN)
			return SNIFF_MALFORMED;
		size_t doff = (size_t)(udp[12] >> 4) * 4;
		if (doff < TCP_MIN || doff > avail)
			return SNIFF_MALFORMED;
		const uint8_t *seg = udp + doff;
		size_t n = avail - doff;
		if (n < 2 || (size_t)wire_get16(seg) + 2 > n || wire_get16(seg) < WIRE_HEADER_LEN)
			return SNIFF_NO_MESSAGE;
		return dns(seg + 2, wire_get16(seg), out);
	}
	size_t ulen = wire_get16(udp + 4);
	if (ulen < UDP_LEN || ulen > avail)
		return SNIFF_MALFORMED;
	return dns(udp + UDP_LEN, ulen - UDP_LEN, out);
}
