/*
 * addr.h - socket addresses as users write them ("127.0.0.11:5300",
 * "[::1]:53") and the loopback rule: dnschaos sends and listens only on
 * 127.0.0.0/8 and ::1 unless the caller explicitly allows otherwise.
 */
#ifndef FAKERESOLVER_ADDR_H
#define FAKERESOLVER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Parses "A.B.C.D[:PORT]" or "[IPV6][:PORT]" (a port of 0 means "any free
 * port"). default_port is used when none is given. Returns 0, or -1 with a
 * reason in err.
 */
int addr_parse(const char *text, uint16_t default_port, struct addr *out, char *err,
	       size_t errlen);

/* True for 127.0.0.0/8 and ::1 (and ::ffff:127.0.0.0/104). */
bool addr_is_loopback(const struct addr *a);

/* True if a and b are the same IPv4 or IPv6 address, whatever their ports. */
bool addr_same_host(const struct addr *a, const struct addr *b);

uint16_t addr_port(const struct addr *a);
void addr_set_port(struct addr *a, uint16_t port);

/* Formats as "127.0.0.1:5300" or "[::1]:53" into buf (cap >= 64 is enough). */
const char *addr_str(const struct addr *a, char *buf, size_t cap);

#endif
