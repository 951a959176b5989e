/*
 * xfr.h - an asynchronous AXFR client (RFC 5936) on a libevent event_base:
 * how a fake resolver boots "from the zone source". It connects over TCP,
 * sends one AXFR query, reads the length-prefixed messages, feeds every record
 * into a zone_builder and hands back a new zone version, or a reason.
 *
 * The whole transfer is bounded by a timer and by size limits; whatever the
 * server sends (hostile, truncated, endless) ends as an error message, never
 * as a crash. Only loopback servers are contacted (see addr.h).
 */
#ifndef FAKERESOLVER_XFR_H
#define FAKERESOLVER_XFR_H

#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/zone.h"

struct event_base;
struct xfr;

#define XFR_MAX_OCTETS (256u * 1024 * 1024) /* all messages of one transfer together */
#define XFR_MAX_MESSAGES (1u << 22)

/*
 * Called exactly once per started transfer: with a new zone version (the
 * callee owns that reference) and err NULL, or with v NULL and a one-line
 * reason in err (borrowed, valid during the call), such as "AXFR refused by
 * 127.0.0.12:5300: REFUSED". The xfr frees itself after the callback returns:
 * the pointer xfr_start returned is invalid from the callback on (calling
 * xfr_cancel on it inside the callback is a harmless no-op).
 */
typedef void (*xfr_done_fn)(void *arg, struct zone_version *v, const char *err);

/*
 * Starts transferring the zone origin (an uncompressed wire name, copied)
 * from server (copied; must be a loopback address) on base (borrowed; must
 * outlive the transfer). timeout_ms (> 0) bounds the whole transfer, connect
 * included. Everything after a successful start, a refused connection
 * included, is reported through done. Returns the transfer, or NULL with a
 * reason in err (non-loopback server, zero timeout, a bad origin, no socket,
 * out of memory), in which case done is never called. Records that the zone
 * builder rejects are named by their position in the transfer
 * ("axfr from 127.0.0.12:5300:17: ...").
 */
struct xfr *xfr_start(struct event_base *base, const struct addr *server, const uint8_t *origin,
		      unsigned timeout_ms, xfr_done_fn done, void *arg, char *err, size_t errlen);

/*
 * Stops a transfer in progress and frees it: the connection is closed, the
 * partial zone dropped, and done is not called. NULL is a no-op.
 */
void xfr_cancel(struct xfr *x);

#endif
