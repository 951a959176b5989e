/*
 * nft.h - the kernel VIP's rules as text, pure: the nftables batches that
 * create, rewrite and delete one VIP's table, and the conntrack command that
 * flushes a downed backend's flows. No I/O, no process: harness/farm/vip_nft.c
 * hands what these return to nft(8) and conntrack(8) through spawn.c.
 *
 * One table per VIP, `ip dnschaos_<a>_<b>_<c>_<d>_<port>` (the VIP's
 * address and port: unique in a run), holding one chain `out`, a nat chain
 * on the output hook (the clients are local processes), with one rule:
 *
 *   ip daddr VIP meta l4proto { udp, tcp } th dport PORT
 *       dnat ip to numgen inc mod W map { 0 : 127.0.0.11 . 5300, ... }
 *
 * W is the total weight of the backends that are members; each member
 * holds `weight` slots, in the order smooth weighted round robin visits
 * them (the userspace `flow` policy's order). With no member the rule is
 * `... th dport PORT drop`. Conntrack pins a flow: only its first packet
 * meets the rule. A membership change is one batch, `flush chain` then
 * `add rule`, which nft applies atomically (all or nothing).
 *
 * Thread rules: none (no state).
 */
#ifndef HARNESS_LB_NFT_H
#define HARNESS_LB_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "fakeresolver/addr.h"
#include "harness/lb/route.h" /* VIP_BACKENDS_MAX */

/* How a new flow picks its slot: every policy is per flow (conntrack pins it). */
enum nft_policy {
	NFT_FLOW,        /* "flow": numgen inc, round robin (the userspace flow policy) */
	NFT_FLOW_RANDOM, /* "flow_random": numgen random */
	NFT_FLOW_HASH,   /* "flow_hash": jhash ip saddr . th sport */
};

/* The most slots (total weight) a VIP's map may hold. */
#define NFT_SLOTS_MAX 256

/* The longest batch nft_batch_* writes, with NFT_SLOTS_MAX slots. */
#define NFT_BATCH_MAX (1024 + NFT_SLOTS_MAX * 40)

struct nft_vip {
	struct addr vip;                          /* IPv4 loopback with a port */
	enum nft_policy policy;
	size_t n;                                 /* 1..VIP_BACKENDS_MAX */
	struct addr backend[VIP_BACKENDS_MAX];    /* IPv4, with ports */
	unsigned weight[VIP_BACKENDS_MAX];        /* 0 is taken as 1 */
};

/* "flow", "flow_random", "flow_hash" -> *out: 0, or -1 if unknown. */
int nft_policy_parse(const char *s, enum nft_policy *out);

/* The policy's name ("?" if out of range); static storage. */
const char *nft_policy_name(enum nft_policy p);

/* The table's name for a VIP address into out (cap >= 48): 0, or -EINVAL
 * when addr is not IPv4. */
int nft_table_name(const struct addr *vip, char *out, size_t cap);

/*
 * The member slots in smooth weighted round robin order: slot[k] is the
 * backend index of slot k. Returns the number of slots (the total weight of
 * the members), 0 with no member, -E2BIG past cap or NFT_SLOTS_MAX.
 */
int nft_slots(const struct nft_vip *v, const bool *member, int *slot, size_t cap);

/*
 * The batch that creates the table (idempotent: an existing one is reused)
 * with the members given, into out (cap bytes, NUL-terminated). 0, or
 * -EINVAL (not IPv4, no backend), -E2BIG (too many slots, out too small).
 */
int nft_batch_create(const struct nft_vip *v, const bool *member, char *out, size_t cap);

/* The batch that rewrites the rule for the members given: the same returns. */
int nft_batch_members(const struct nft_vip *v, const bool *member, char *out, size_t cap);

/* The batch that deletes the table. 0 or -EINVAL, -E2BIG. */
int nft_batch_delete(const struct nft_vip *v, char *out, size_t cap);

/*
 * The shell command (for /bin/sh -c) deleting the conntrack entries of the
 * flows this VIP DNATed to backend i, UDP then TCP: `conntrack -D -p udp
 * --reply-src IP --reply-port-src PORT --dst-nat IP ...`. Each conntrack
 * prints "N flow entries have been deleted". 0, -EINVAL, -E2BIG.
 */
int nft_flush_command(const struct nft_vip *v, size_t i, char *out, size_t cap);

/* The flows deleted, summed over the lines of conntrack's output; -1 when no
 * line says so (conntrack failed). */
long nft_flush_count(const char *output);

/* What the map-and-flush script prints once nft has applied its batch. */
#define NFT_MAPPED_MARK "dnschaos: mapped\n"

/*
 * The shell script (for /bin/sh -c, the batch as its $0) that applies a
 * membership batch and then flushes the backends leaving[i] at once, in one
 * process: `nft "$0" || exit 1`, then NFT_MAPPED_MARK, then per backend
 * "dnschaos: flush I" and nft_flush_command's two conntrack commands. Saves
 * starting a second command between the map and the flush. 0, -EINVAL
 * (nothing leaves, bad backend), -E2BIG.
 */
int nft_map_flush_script(const struct nft_vip *v, const bool *leaving, char *out, size_t cap);

/* In the script's output: the flows deleted for backend i (the text after
 * "dnschaos: flush I" up to the next such line), -1 when none is said. */
long nft_flush_count_of(const char *output, size_t i);

#endif
