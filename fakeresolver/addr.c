/*
 * addr.c - parsing and printing socket addresses, and the loopback rule.
 */
#include "fakeresolver/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int addr_parse(const char *text, uint16_t default_port, struct addr *out, char *err,
	       size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_str = NULL;
	uint16_t port = default_port;
	bool bracketed = text[0] == '[';

	memset(out, 0, sizeof *out);
	if (bracketed) {
		const char *close = strchr(text, ']');
		if (!close || (size_t)(close - text - 1) >= sizeof host)
			goto bad;
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = 0;
		if (close[1] == ':')
			port_str = close + 2;
		else if (close[1] != 0)
			goto bad;
	} else {
		const char *colon = strchr(text, ':');
		size_t n = colon ? (size_t)(colon - text) : strlen(text);
		if (n >= sizeof host || (colon && strchr(colon + 1, ':')))
			goto bad; /* a bare IPv6 address needs brackets */
		memcpy(host, text, n);
		host[n] = 0;
		if (colon)
			port_str = colon + 1;
	}
	if (port_str && parse_port(port_str, &port) != 0) {
		snprintf(err, errlen, "'%s': the port must be a number from 0 to 65535", text);
		return -1;
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	if (!bracketed && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		out->len = sizeof *in4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		out->len = sizeof *in6;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "'%s' is not an address: write 127.0.0.11:5300 or [::1]:5300 (names are not "
		 "resolved)",
		 text);
	return -1;
}

bool addr_same_host(const struct addr *a, const struct addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
			      &((const struct sockaddr_in6 *)&b->ss)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return false;
}

bool addr_is_loopback(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return memcmp(b, mapped, 12) == 0 && b[12] == 127;
	}
	return false;
}

uint16_t addr_port(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

void addr_set_port(struct addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* Writes v in decimal at p; returns the end. */
static char *put_dec(char *p, unsigned v)
{
	char tmp[12];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

const char *addr_str(const struct addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	/* IPv4 by hand: the history writes one per query, printf would dominate. */
	if (a->ss.ss_family == AF_INET) {
		const uint8_t *o = (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
		char text[sizeof "255.255.255.255:65535"], *p = text;
		for (int i = 0; i < 4; i++) {
			p = put_dec(p, o[i]);
			*p++ = i < 3 ? '.' : ':';
		}
		p = put_dec(p, addr_port(a));
		size_t n = (size_t)(p - text);
		if (cap) {
			n = n < cap - 1 ? n : cap - 1;
			memcpy(buf, text, n);
			buf[n] = '\0';
		}
	} else if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, host,
			  sizeof host);
		snprintf(buf, cap, "[%s]:%u", host, addr_port(a));
	} else {
		snprintf(buf, cap, "(no address)");
	}
	return buf;
}
