/*
 * vip_nft.h - the VIP of kind "nftables" (farm-internal; farm/vip.c
 * dispatches to it): the kernel DNATs the VIP's address and port onto the
 * backends (the rules: harness/lb/nft.h), conntrack pins each flow, and
 * membership changes rewrite the rule in one nft batch. nft and conntrack
 * run through spawn.c on a command thread of the VIP's, one command at a
 * time, so the loop never waits for them; each membership line is written
 * to the history when the kernel has applied it.
 *
 * Safety: it refuses to start unless the process's network namespace is
 * private (no interface but lo), so a run on a real host never touches the
 * host's ruleset. Conntrack's UDP timeouts (net.netfilter.
 * nf_conntrack_udp_timeout and _stream, per network namespace) are set to
 * flow_idle at start and put back at stop.
 *
 * Threads: every function is the loop's; the command thread is internal
 * (started by vip_nft_start, joined by vip_nft_destroy).
 */
#ifndef HARNESS_FARM_VIP_NFT_H
#define HARNESS_FARM_VIP_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/lb/nft.h"

struct run_env;
struct vip_nft;

/*
 * A kernel VIP named name (copied), declared at where ("file.lua:12",
 * copied, for messages), with spec (copied; spec->vip's port may be 0: one is
 * reserved at start) and its backends' names (names[i], copied), flushing a
 * downed backend's conntrack entries when flush, flows expiring after
 * flow_idle_s whole seconds. member: the initial membership (copied). NULL
 * when out of memory.
 */
struct vip_nft *vip_nft_create(struct run_env *env, const char *name, const char *where,
			       const struct nft_vip *spec, const char *const *names, bool flush,
			       unsigned flow_idle_s, const bool *member);

/* Deletes its table (waiting for nft, at most a few seconds: teardown), puts
 * the sysctls back, frees. NULL is a no-op. */
void vip_nft_destroy(struct vip_nft *n);

/*
 * Checks the namespace, reserves the port (UDP and TCP sockets bound to the
 * VIP's address, never read), creates the table (waiting for nft: before the
 * loop runs), sets the conntrack timeouts and writes the `vip` line. 0, or
 * -1 with err set (naming where).
 */
int vip_nft_start(struct vip_nft *n, char *err, size_t errlen);

/* The VIP's address, its port known once started. */
const struct addr *vip_nft_addr(const struct vip_nft *n);

/*
 * Backend i should (up) or should not be in the map, for a reason: event is
 * the history's word ("up", "down", "member", "removed"); count > 0 is
 * written as `count`. The `health` line is written when the kernel has the
 * change (with kernel_ms); strings copied.
 */
void vip_nft_change(struct vip_nft *n, int i, bool up, const char *event, const char *reason,
		    unsigned count);

/* Whether backend i is in the kernel's map now. */
bool vip_nft_up(const struct vip_nft *n, int i);

/* The VIP's address if dst is one of its backends' (the DNAT's target), else NULL. */
const struct addr *vip_nft_alias(const struct vip_nft *n, const struct addr *dst);

/* 0 when the process's network namespace has no interface but lo; else -1
 * with the interfaces named in why. */
int vip_nft_private_netns(char *why, size_t cap);

#endif
