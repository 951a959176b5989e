/*
 * route.h - the VIP's routing decision as plain data: given the backends
 * (weights, up or down), the policy and a flow (client address and port,
 * transport), which backend gets the packet. No sockets, no event loop, no
 * clock: the caller passes the time (seconds, any monotonic origin) into
 * every call that needs it, so the same inputs give the same routes.
 *
 * Policies:
 *   flow    (VIP_FLOW) like kernel DNAT with conntrack: a new flow goes to
 *           the next backend by smooth weighted round robin over those up,
 *           and stays pinned while packets (or touches) keep coming; a pin
 *           idle for more than flow_idle_s is gone, and the flow's next
 *           packet is routed anew (it keeps its table entry, re-pinned)
 *   query   (VIP_QUERY) every packet chosen anew by weighted round robin
 *   random  (VIP_RANDOM) every packet to a weighted random backend (rng)
 *   primary (VIP_PRIMARY) every packet to the first backend that is up
 *
 * Membership: a backend marked down gets no new flow and no query. A flow
 * pinned to it stays pinned (VIP_KEEP, conntrack; the route says
 * pinned_down) or is dropped at once so that its next packet is routed
 * anew (VIP_FLUSH, `conntrack -D`). With no backend up a packet gets -1 and
 * no flow is pinned.
 *
 * Ownership and threads: a router owns its flow table; rng is borrowed and
 * must outlive it. A router is used from one thread at a time (the VIP's
 * loop); routers share nothing.
 */
#ifndef HARNESS_LB_ROUTE_H
#define HARNESS_LB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/rng.h"

#define VIP_BACKENDS_MAX 16

enum vip_policy { VIP_FLOW, VIP_QUERY, VIP_RANDOM, VIP_PRIMARY };
enum vip_on_down { VIP_KEEP, VIP_FLUSH };

struct vip_router;

/* A flow: the client's address and port, and the transport. Two keys are
 * the same flow when family, address, port and transport are equal. */
struct vip_flow_key {
	struct addr client;
	bool tcp;
};

struct vip_route {
	int backend;      /* index, or -1: no backend is up (and none pinned) */
	bool new_flow;    /* flow policy: a new pin; other policies: always true */
	bool pinned_down; /* flow policy: pinned to a backend that is down (kept) */
};

/* A router over n backends (1..VIP_BACKENDS_MAX) with weights[i] (0 is taken
 * as 1; weights is copied); all start up. rng drives VIP_RANDOM (required for
 * it, borrowed). flow_idle_s: how long a pin lasts without a packet. NULL on
 * bad parameters or out of memory. */
struct vip_router *vip_router_create(enum vip_policy policy, enum vip_on_down on_down,
				     double flow_idle_s, const unsigned *weights, size_t n,
				     struct rng *rng);

/* Frees the router and its flows. NULL is a no-op. */
void vip_router_destroy(struct vip_router *r);

/* Routes one packet of flow k (borrowed) at time now. Under VIP_FLOW a new
 * or re-pinned flow is stored (out of memory: routed, just not pinned). */
struct vip_route vip_router_route(struct vip_router *r, const struct vip_flow_key *k,
				  double now);

/* Refreshes a live pin of flow k (a reply passed through it) at now; an
 * expired or unknown flow is left alone. No-op unless VIP_FLOW. */
void vip_router_touch(struct vip_router *r, const struct vip_flow_key *k, double now);

/* Marks a backend up or down (an index out of range is ignored); with
 * VIP_FLUSH a down drops its pinned flows. Returns how many flows were
 * dropped. */
size_t vip_router_set_up(struct vip_router *r, int backend, bool up);

/* Whether backend is in range and up. */
bool vip_router_is_up(const struct vip_router *r, int backend);

/* Frees flows idle more than flow_idle_s at now; returns how many. */
size_t vip_router_expire(struct vip_router *r, double now);

/* Flows in the table (expired ones not yet swept included). */
size_t vip_router_flows(const struct vip_router *r);

/* "flow", "query", "random", "primary" -> *out; 0, or -1 if unknown. */
int vip_policy_parse(const char *s, enum vip_policy *out);

/* The policy's name ("?" if out of range); static storage. */
const char *vip_policy_name(enum vip_policy p);

#endif
