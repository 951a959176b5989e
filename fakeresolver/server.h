/*
 * server.h - a DNS server for the answer engine on a libevent event_base:
 * UDP (batched with recvmmsg/sendmmsg) and TCP (length-prefixed, pipelined,
 * with idle timeouts and limits), zone transfers streamed over TCP.
 *
 * The server owns its sockets and events and nothing else: the event_base
 * and the zone set are the caller's. Many servers can share one event_base.
 * Everything runs on the thread that runs the base.
 */
#ifndef FAKERESOLVER_SERVER_H
#define FAKERESOLVER_SERVER_H

#include "fakeresolver/addr.h"
#include "fakeresolver/answer.h"
#include "fakeresolver/faults.h"

struct event_base;
struct server;

struct server_config {
	struct addr addr;         /* port 0: a free port, the same for UDP and TCP */
	bool udp;                 /* default true */
	bool tcp;                 /* default true */
	unsigned tcp_max_conns;   /* open connections at most; default 128. A new one
				     beyond closes a stalled one (idle or trickling a
				     message, no whole message for 1 s, nothing owed),
				     from the address holding the most; if none is
				     stalled it is held, accepting paused, until a slot
				     frees (see make_room in server.c) */
	unsigned tcp_per_addr_max; /* open connections from one address at most; default
				      64, 0: no limit. A new one beyond closes that
				      address's oldest stalled one, or is refused */
	unsigned tcp_idle_ms;     /* a connection idle this long is closed; default 10000 */
	unsigned tcp_msg_timeout_ms; /* a message (length prefix and body) must arrive
					whole within this of its first byte, or the
					connection is closed; default 5000; 0: no limit */
	size_t tcp_max_pending;   /* replies buffered for a slow reader before reading pauses;
				     default 256 KiB */
};

/* Fills in the defaults (the address is left unset). */
void server_config_defaults(struct server_config *cfg);

/* One query seen, for logs: what came in, what was done. All borrowed. */
struct server_event {
	enum answer_transport transport;
	const struct addr *peer;
	const struct answer_info *info;          /* the parsed query and, if answered, the reply */
	const struct fault_decision *decision;   /* NULL when no fault plan is active */
	bool queue_full;  /* dropped on arrival: the capacity queue was full */
	double queue_s;   /* time waited in the capacity queue */
	size_t reply_len; /* 0 when nothing is (or will be) sent */
	uint64_t tag;     /* what the arrive hook returned for a query that waited in the
			     capacity queue; 0 otherwise */
};

typedef void (*server_log_fn)(void *arg, const struct server_event *ev);

/*
 * What was done with the query, as the history and a watching controller
 * name it: "queue-full", a fault's action ("dropped", "rcode", "truncated",
 * "wrong"), "dropped" (not a query), "axfr" or "answered".
 */
const char *server_event_action(const struct server_event *ev);

struct server_stats {
	uint64_t udp_received;
	uint64_t udp_replied;
	uint64_t udp_send_failed; /* replies the kernel would not take (buffer full) */
	uint64_t udp_oversized;   /* datagrams larger than a query can be, dropped */
	uint64_t tcp_accepted;
	uint64_t tcp_refused;     /* new connections closed at once for want of a slot */
	uint64_t tcp_addr_refused; /* new connections closed at once: over tcp_per_addr_max and
				      none of that address's stalled */
	uint64_t tcp_held;        /* new connections held (accepting paused) until a slot
				     freed: over tcp_max_conns and none stalled */
	uint64_t tcp_evicted;     /* stalled connections closed for a new one: over
				     tcp_max_conns */
	uint64_t tcp_addr_evicted; /* the same, over tcp_per_addr_max */
	uint64_t tcp_queries;
	uint64_t tcp_timeouts;    /* connections closed for idleness */
	uint64_t tcp_msg_timeouts; /* connections closed: a message not whole within
				      tcp_msg_timeout_ms of its first byte */
	uint64_t axfr;            /* transfers started */
	uint64_t queue_full;      /* queries dropped because the capacity queue was full */
	uint64_t fault_acted;     /* queries a fault dropped, delayed or altered */
};

/*
 * Binds and starts serving zones (borrowed: keep it alive, or swap it with
 * server_set_zones before freeing it). Returns NULL with a reason in err.
 */
struct server *server_create(struct event_base *base, const struct zone_set *zones,
			     const struct server_config *cfg, char *err, size_t errlen);

/*
 * Closes every socket and connection and frees the server; replies still
 * delayed or queued are never sent. NULL is a no-op.
 */
void server_destroy(struct server *s);

/* Serves another zone set from the next query on (transfers under way finish
 * from the version they started with). */
void server_set_zones(struct server *s, const struct zone_set *zones);

/*
 * Applies a fault plan to every query from now on (NULL: none). The plan and
 * the generator are borrowed and must outlive the server or be unset first.
 * Changing the plan's contents takes effect at the next query.
 */
void server_set_faults(struct server *s, struct fault_plan *plan, struct rng *rng);

/* Calls fn for every query (NULL turns logging off). */
void server_set_log(struct server *s, server_log_fn fn, void *arg);

/*
 * Called when a query enters the capacity queue, at its arrival, with the
 * query as it came (borrowed for the call). What fn returns is handed back
 * as the tag of that query's log event, when it is served after its wait
 * (never, if the server is destroyed first, or its TCP connection closes).
 * A query served at once is logged on arrival, with tag 0, and never meets
 * fn. NULL turns it off.
 */
typedef uint64_t (*server_arrive_fn)(void *arg, enum answer_transport tp,
				     const struct addr *peer, const uint8_t *pkt, size_t len);
void server_set_arrive(struct server *s, server_arrive_fn fn, void *arg);

/* Receives a reply to a query handed in by server_deliver; reply is only
 * valid during the call. */
typedef void (*server_reply_fn)(void *arg, const uint8_t *reply, size_t len);

/*
 * Serves one UDP query handed in by code on the same event_base (a VIP in
 * front of this server, in the same process) exactly as if it had arrived on
 * the UDP socket from peer: the same fault plan, capacity queue, log and
 * stats. The reply goes to fn(arg, ...) instead of the socket: at once
 * (before server_deliver returns) or, when delayed or queued, from the loop
 * later. No reply, no call.
 */
void server_deliver(struct server *s, const uint8_t *pkt, size_t len, const struct addr *peer,
		    server_reply_fn fn, void *arg);

/* Drops the delayed or queued replies owed to arg: its receiver is going away. */
void server_forget(struct server *s, void *arg);

/* The bound address, with the port filled in. */
const struct addr *server_addr(const struct server *s);

void server_get_stats(const struct server *s, struct server_stats *out);

#endif
