/*
 * vip.h - a userspace virtual IP in the farm's loop: one loopback address
 * (UDP and TCP) in front of backends, routing the way real balancers do.
 *
 * Policies:
 *   flow    (default) like kernel DNAT with conntrack: a new client 5-tuple
 *           goes to the next backend (weighted round robin, as numgen inc),
 *           and stays pinned while packets keep coming; the pin expires
 *           after flow_idle_s (30 s) without a packet, either way (the
 *           kernel's UDP timeout for short flows; it allows 120 s to flows
 *           with replies that last over 2 s, which flow_idle_s can mimic)
 *   query   every query chosen anew (weighted round robin), as dnsdist does
 *           with its roundrobin policy (its default, leastOutstanding, is not
 *           modelled)
 *   random  every query to a weighted random backend (the run's seed)
 *   primary every query to the first backend that is up
 *
 * Membership follows health: a backend marked down gets no new flows or
 * queries. Flows already pinned to it stay (VIP_KEEP, what conntrack does)
 * or are dropped so that their next packet is routed anew (VIP_FLUSH, what
 * `conntrack -D` would do).
 *
 * UDP is forwarded with the query id rewritten (one id space per upstream
 * socket), so any number of clients share a few sockets; the reply gets the
 * client's id back and leaves from the VIP's own address. A backend on the
 * same loop (a farm resolver, struct vip_local) gets the same query handed
 * over in-process instead of across loopback. TCP connections are spliced to
 * a backend chosen per connection.
 *
 * A backend whose port is closed (a stopped resolver): the kernel answers the
 * VIP, not the client, with port unreachable. Kernel DNAT with conntrack
 * relays that ICMP to the client, whose connected socket then gets
 * ECONNREFUSED at once. on_refused says what the client gets:
 *   VIP_ICMP     (vip_config_defaults; s:vip under the flow policy) the
 *                same: the VIP sends the client an ICMP port unreachable
 *                from the VIP's address, quoting the client's own datagram
 *                (client:port -> VIP:port), through a raw socket opened at
 *                vip_create. Every query meets the port itself;
 *                nothing is held off. Without a raw socket (no CAP_NET_RAW)
 *                the client sees silence, and vip_icmp_error says why.
 *                A query for which no backend is up gets one too (IPVS does
 *                that).
 *   VIP_DROP     what a proxy does (dnsdist): the query that met the closed
 *                port is lost, and for a second after it the backend's
 *                queries get silence; then one query tries the port again.
 *   VIP_SERVFAIL the same hold, with an immediate SERVFAIL instead of silence
 *                (the closest a proxy gets to telling the client at once).
 * TCP half-close is not passed through, and VIP_FLUSH leaves established TCP
 * connections alone.
 *
 * The routing decision (vip_router_*, harness/lb/route.h) is a plain function
 * of the flow table, the members' state, the policy and the time, which this
 * file reads from the clock and passes in: tested without sockets.
 */
#ifndef HARNESS_LB_VIP_H
#define HARNESS_LB_VIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/rng.h"
#include "harness/lb/route.h" /* the router, its policies and VIP_BACKENDS_MAX */

struct event_base;

enum vip_on_refused { VIP_DROP, VIP_SERVFAIL, VIP_ICMP };

/* ---- the VIP on a loop ---- */

/* Takes a backend's reply to a query handed over in-process; valid during the call. */
typedef void (*vip_reply_fn)(void *arg, const uint8_t *reply, size_t len);

/*
 * A backend in this process (a farm resolver on the same loop): its UDP
 * queries are handed to deliver instead of crossing loopback, and its replies
 * come back through fn, now or later. The query still carries the VIP's own
 * query id and comes "from" the VIP's upstream socket address, so the
 * backend sees and records what it would over loopback; only the kernel's
 * socket work is skipped. deliver returns -1 when the backend's port is
 * closed (what ICMP port unreachable would say); forget drops the replies
 * still owed to fnarg. TCP is spliced over loopback either way.
 */
struct vip_local {
	int (*deliver)(void *arg, const uint8_t *pkt, size_t len, const struct addr *from,
		       vip_reply_fn fn, void *fnarg);
	void (*forget)(void *arg, void *fnarg);
	void *arg;
};

struct vip_backend_config {
	char name[64];
	struct addr addr; /* loopback, or anywhere with vip_config.non_loopback */
	unsigned weight;  /* >= 1 */
	struct vip_local local; /* deliver NULL: over loopback UDP */
};

struct vip_config {
	struct addr addr;          /* where it listens (port 0: free port) */
	enum vip_policy policy;
	enum vip_on_down on_down;
	enum vip_on_refused on_refused;
	double flow_idle_s;        /* default 30 */
	double query_timeout_s;    /* a forwarded query forgotten after this; default 5 */
	double (*clock)(void);     /* monotonic seconds the VIP reads; NULL: clock_mono */
	/* Backends may be off loopback (remote daemons on other hosts, the run's
	 * --allow-non-loopback): queries to one leave from the host's address
	 * towards it (a loopback source cannot leave the host); a port
	 * unreachable its host sends back is relayed to the client all the same.
	 * The VIP's own address stays on loopback. */
	bool non_loopback;
	size_t nbackends;
	struct vip_backend_config backends[VIP_BACKENDS_MAX];
};

void vip_config_defaults(struct vip_config *cfg);

/*
 * One routing decision, for the history, or (reply) what came back for a
 * query already logged: a port unreachable relayed to the client. All
 * borrowed.
 */
struct vip_event {
	bool tcp;
	const struct addr *client;
	uint16_t id;            /* the client's query id (UDP) */
	int backend;            /* -1: dropped, no backend */
	const char *backend_name;
	bool new_flow;
	bool pinned_down;
	const char *action;     /* "forwarded", "no-backend", "refused-drop",
				 * "refused-servfail", "dropped"; reply: "refused-icmp"
				 * (relayed) or "refused-noicmp" (no raw socket: silence) */
	const uint8_t *pkt;     /* UDP: the client's query (its id may be rewritten); TCP: NULL */
	size_t len;
	bool reply;             /* not a query: the port unreachable for the query that was
				 * logged with this tag (its forwarded or no-backend event) */
	uint64_t tag;           /* reply: what the log function returned for that query */
};

/* Logs one event; for a UDP query it returns a tag (any value, 0 for none)
 * that comes back on the reply event of the same query. */
typedef uint64_t (*vip_log_fn)(void *arg, const struct vip_event *ev);

struct vip;

/* Binds and starts forwarding. rng is borrowed (VIP_RANDOM). NULL with err set.
 * With VIP_ICMP a raw socket that cannot be opened is not an error: see
 * vip_icmp_error. */
struct vip *vip_create(struct event_base *base, const struct vip_config *cfg, struct rng *rng,
		       char *err, size_t errlen);

/* Closes everything; queries in flight are forgotten. NULL is a no-op. */
void vip_destroy(struct vip *v);

const struct addr *vip_addr(const struct vip *v);

/*
 * Whether src (address and port) is one of the VIP's own sockets towards a
 * backend off loopback (its UDP upstreams, its TCP connections): such a
 * query is the VIP's forward of a client's, already joined on its route
 * line, never a client's own, though it leaves from the address the
 * clients of that host leave from. False for every other src.
 */
bool vip_sends_from(const struct vip *v, const struct addr *src);

/* VIP_ICMP without a raw socket: why ("cannot open a raw socket: ..."), and
 * clients of closed backends see silence. NULL when port unreachable is
 * relayed, or on_refused is not VIP_ICMP. Borrowed, valid for the VIP's life. */
const char *vip_icmp_error(const struct vip *v);

void vip_set_log(struct vip *v, vip_log_fn fn, void *arg);

/* Health's verdict on a backend; see vip_router_set_up. */
size_t vip_set_backend_up(struct vip *v, int backend, bool up);

bool vip_backend_up(const struct vip *v, int backend);

struct vip_stats {
	uint64_t queries;      /* UDP queries received */
	uint64_t forwarded;
	uint64_t replies;      /* replies relayed to clients */
	uint64_t no_backend;   /* dropped or SERVFAILed: nothing up */
	uint64_t refused;      /* VIP_DROP, VIP_SERVFAIL: queries held off a closed port */
	uint64_t icmp_sent;    /* VIP_ICMP: port unreachables sent to clients */
	uint64_t icmp_failed;  /* VIP_ICMP: ones that could not be (no raw socket) */
	uint64_t dropped;      /* could not be forwarded: no free id, or the send failed */
	uint64_t stray;        /* replies matching no query in flight */
	uint64_t tcp_conns;
	uint64_t flows_flushed;
};

void vip_get_stats(const struct vip *v, struct vip_stats *out);

#endif
