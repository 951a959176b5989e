/*
 * probe.h - one DNS query, asynchronously, on a libevent event_base: UDP on a
 * connected socket (so an ICMP port unreachable is seen as "refused") or TCP.
 * For scenarios' own queries (s:query) and, later, health checks. Not a stub
 * resolver: one try, no retries, no search list.
 */
#ifndef FAKERESOLVER_PROBE_H
#define FAKERESOLVER_PROBE_H

#include <ldns/ldns.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/answer.h"

struct event_base;
struct probe;

enum probe_status {
	PROBE_ANSWER,  /* a reply with our id arrived (any rcode) */
	PROBE_TIMEOUT, /* nothing within the timeout */
	PROBE_REFUSED, /* port unreachable (UDP) or connection refused (TCP) */
	PROBE_ERROR,   /* anything else: malformed reply, connection closed early */
};

struct probe_result {
	enum probe_status status;
	double latency_s;
	uint16_t rcode;   /* PROBE_ANSWER: the reply's rcode (extended bits included) */
	uint16_t flags;   /* PROBE_ANSWER: the reply's header flags */
	ldns_pkt *pkt;    /* PROBE_ANSWER: the parsed reply, borrowed for the callback */
	char error[160];  /* otherwise: why, in words */
};

/* Called once; the probe frees itself after the callback returns. */
typedef void (*probe_done_fn)(void *arg, const struct probe_result *res);

struct probe_options {
	enum answer_transport transport;
	double timeout_s; /* > 0 */
	bool edns;        /* send an OPT (payload 1232) */
	bool rd;          /* set RD */
	bool non_loopback; /* server may be off loopback: the caller was told it may
	                      (a remote daemon on another host, --allow-non-loopback) */
};

/*
 * Sends a query for qname (presentation form) and qtype to server (loopback
 * only, unless opt->non_loopback). Returns NULL with err set on an immediate error (bad name, not
 * loopback, no socket); the callback is never called from inside probe_start.
 */
struct probe *probe_start(struct event_base *base, const struct addr *server, const char *qname,
			  uint16_t qtype, const struct probe_options *opt, probe_done_fn done,
			  void *arg, char *err, size_t errlen);

/* Stops a probe in flight; no callback afterwards. NULL is a no-op. */
void probe_cancel(struct probe *p);

const char *probe_status_name(enum probe_status s);

#endif
