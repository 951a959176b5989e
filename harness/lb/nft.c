/*
 * nft.c - the kernel VIP's nftables batches and conntrack command as text
 * (see nft.h). Pure: strings in, strings out.
 */
#include "harness/lb/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const policy_names[] = { "flow", "flow_random", "flow_hash" };

int nft_policy_parse(const char *s, enum nft_policy *out)
{
	for (size_t i = 0; i < sizeof policy_names / sizeof policy_names[0]; i++)
		if (strcmp(s, policy_names[i]) == 0) {
			*out = (enum nft_policy)i;
			return 0;
		}
	return -1;
}

const char *nft_policy_name(enum nft_policy p)
{
	return (unsigned)p < sizeof policy_names / sizeof policy_names[0] ? policy_names[p] : "?";
}

/* The IPv4 address of a, dotted, into buf (16 bytes); false if not IPv4. */
static bool ip4(const struct addr *a, char buf[INET_ADDRSTRLEN])
{
	if (a->ss.ss_family != AF_INET)
		return false;
	return inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, buf,
			 INET_ADDRSTRLEN) != NULL;
}

int nft_table_name(const struct addr *vip, char *out, size_t cap)
{
	char ip[INET_ADDRSTRLEN];
	if (!ip4(vip, ip))
		return -EINVAL;
	for (char *p = ip; *p; p++)
		if (*p == '.')
			*p = '_';
	int n = snprintf(out, cap, "dnschaos_%s_%u", ip, addr_port(vip));
	return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}

int nft_slots(const struct nft_vip *v, const bool *member, int *slot, size_t cap)
{
	long cur[VIP_BACKENDS_MAX] = { 0 };
	long total = 0;
	for (size_t i = 0; i < v->n; i++)
		if (member[i])
			total += v->weight[i] ? v->weight[i] : 1;
	if (total > NFT_SLOTS_MAX || (size_t)total > cap)
		return -E2BIG;
	/* Smooth weighted round robin (nginx's): each turn every member gains its
	 * weight, the largest is picked and pays the total. */
	for (long k = 0; k < total; k++) {
		int best = -1;
		for (size_t i = 0; i < v->n; i++) {
			if (!member[i])
				continue;
			cur[i] += v->weight[i] ? v->weight[i] : 1;
			if (best < 0 || cur[i] > cur[best])
				best = (int)i;
		}
		cur[best] -= total;
		slot[k] = best;
	}
	return (int)total;
}

/* Appends to out at *len; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	return true;
}

/* `flush chain` + `add rule` for the members, appended. */
static int rule(const struct nft_vip *v, const char *table, const bool *member, char *out,
		size_t cap, size_t *len)
{
	static const char *const pick[] = { "numgen inc", "numgen random",
					    "jhash ip saddr . th sport" };
	char vip[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int slot[NFT_SLOTS_MAX];
	if (!ip4(&v->vip, vip) || (unsigned)v->policy > NFT_FLOW_HASH)
		return -EINVAL;
	int w = nft_slots(v, member, slot, NFT_SLOTS_MAX);
	if (w < 0)
		return w;
	if (!put(out, cap, len,
		 "flush chain ip %s out; add rule ip %s out ip daddr %s meta l4proto { udp, tcp } "
		 "th dport %u ",
		 table, table, vip, addr_port(&v->vip)))
		return -E2BIG;
	if (w == 0)
		return put(out, cap, len, "drop") ? 0 : -E2BIG;
	if (!put(out, cap, len, "dnat ip to %s mod %d map { ", pick[v->policy], w))
		return -E2BIG;
	for (int k = 0; k < w; k++) {
		if (!ip4(&v->backend[slot[k]], b))
			return -EINVAL;
		if (!put(out, cap, len, "%s%d : %s . %u", k ? ", " : "", k, b,
			 addr_port(&v->backend[slot[k]])))
			return -E2BIG;
	}
	return put(out, cap, len, " }") ? 0 : -E2BIG;
}

static int check(const struct nft_vip *v, char *table, size_t tcap)
{
	if (!v || v->n == 0 || v->n > VIP_BACKENDS_MAX)
		return -EINVAL;
	return nft_table_name(&v->vip, table, tcap);
}

int nft_batch_create(const struct nft_vip *v, const bool *member, char *out, size_t cap)
{
	char table[64];
	size_t len = 0;
	int rc = check(v, table, sizeof table);
	if (rc != 0)
		return rc;
	if (cap)
		out[0] = '\0';
	if (!put(out, cap, &len,
		 "add table ip %s; add chain ip %s out { type nat hook output priority -100; "
		 "policy accept; }; ",
		 table, table))
		return -E2BIG;
	return rule(v, table, member, out, cap, &len);
}

int nft_batch_members(const struct nft_vip *v, const bool *member, char *out, size_t cap)
{
	char table[64];
	size_t len = 0;
	int rc = check(v, table, sizeof table);
	if (rc != 0)
		return rc;
	if (cap)
		out[0] = '\0';
	return rule(v, table, member, out, cap, &len);
}

int nft_batch_delete(const struct nft_vip *v, char *out, size_t cap)
{
	char table[64];
	int rc = check(v, table, sizeof table);
	if (rc != 0)
		return rc;
	int n = snprintf(out, cap, "delete table ip %s", table);
	return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}

int nft_flush_command(const struct nft_vip *v, size_t i, char *out, size_t cap)
{
	char b[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	if (!v || i >= v->n || !ip4(&v->backend[i], b) || !ip4(&v->vip, d))
		return -EINVAL;
	unsigned port = addr_port(&v->backend[i]), vport = addr_port(&v->vip);
	/*
	 * Only this VIP's flows DNATed to it (--orig-dst, --dst-nat): not the
	 * health checker's own, nor another VIP's in front of the same backend.
	 * The entries conntrack lists as it deletes them go nowhere (a busy
	 * backend has thousands, more than the output kept): only its count
	 * line, on stderr, is read.
	 */
	int n = snprintf(out, cap,
			 "conntrack -D -p udp --orig-dst %s --orig-port-dst %u --reply-src %s "
			 "--reply-port-src %u --dst-nat %s 2>&1 >/dev/null; "
			 "conntrack -D -p tcp --orig-dst %s --orig-port-dst %u --reply-src %s "
			 "--reply-port-src %u --dst-nat %s 2>&1 >/dev/null; "
			 "exit 0",
			 d, vport, b, port, b, d, vport, b, port, b);
	return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}

int nft_map_flush_script(const struct nft_vip *v, const bool *leaving, char *out, size_t cap)
{
	char one[512];
	size_t len = 0, any = 0;
	if (!v || v->n == 0 || v->n > VIP_BACKENDS_MAX)
		return -EINVAL;
	if (cap)
		out[0] = '\0';
	if (!put(out, cap, &len, "nft \"$0\" || exit 1; printf 'dnschaos: mapped\\n'; "))
		return -E2BIG;
	for (size_t i = 0; i < v->n; i++) {
		if (!leaving[i])
			continue;
		int rc = nft_flush_command(v, i, one, sizeof one);
		if (rc != 0)
			return rc;
		one[strlen(one) - strlen("exit 0")] = '\0'; /* the script's own exit ends it */
		if (!put(out, cap, &len, "echo 'dnschaos: flush %zu'; %s", i, one))
			return -E2BIG;
		any++;
	}
	if (!any)
		return -EINVAL;
	return put(out, cap, &len, "exit 0") ? 0 : -E2BIG;
}

long nft_flush_count_of(const char *output, size_t i)
{
	char mark[32];
	snprintf(mark, sizeof mark, "dnschaos: flush %zu\n", i);
	const char *p = strstr(output, mark);
	if (!p)
		return -1;
	p += strlen(mark);
	const char *end = strstr(p, "dnschaos: flush ");
	size_t n = end ? (size_t)(end - p) : strlen(p);
	char *seg = malloc(n + 1);
	if (!seg)
		return -1;
	memcpy(seg, p, n);
	seg[n] = '\0';
	long c = nft_flush_count(seg);
	free(seg);
	return c;
}

long nft_flush_count(const char *output)
{
	static const char marker[] = " flow entries have been deleted";
	long total = -1;
	for (const char *p = output; p && (p = strstr(p, marker)) != NULL; p += sizeof marker - 1) {
		/* the number just before the marker */
		const char *q = p;
		while (q > output && q[-1] >= '0' && q[-1] <= '9')
			q--;
		if (q == p)
			continue;
		total = (total < 0 ? 0 : total) + strtol(q, NULL, 10);
	}
	return total;
}
