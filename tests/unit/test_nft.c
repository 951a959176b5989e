/*
 * test_nft.c - the kernel VIP's rules as text (harness/lb/nft.h): table
 * names, the smooth weighted round robin order of the map's slots, the
 * create, members, empty (drop) and delete batches exactly as nft gets them,
 * each policy's expression, the conntrack flush command and its output read
 * back. Pure: nothing runs nft (tests/e2e/nft_vip.sh does, in a private
 * network namespace). Bad parameters first, then behaviour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fakeresolver/addr.h"
#include "harness/lb/nft.h"

static struct addr ad(const char *text)
{
	struct addr a;
	char err[128] = "";
	if (addr_parse(text, 53, &a, err, sizeof err) != 0)
		fail_msg("%s: %s", text, err);
	return a;
}

/* 127.0.0.13:53 in front of 127.0.0.11:5300 and 127.0.0.12:5301 */
static struct nft_vip two(enum nft_policy p)
{
	struct nft_vip v;
	memset(&v, 0, sizeof v);
	v.vip = ad("127.0.0.13:53");
	v.policy = p;
	v.n = 2;
	v.backend[0] = ad("127.0.0.11:5300");
	v.backend[1] = ad("127.0.0.12:5301");
	v.weight[0] = v.weight[1] = 1;
	return v;
}

static void bad_parameters(void **state)
{
	(void)state;
	char out[NFT_BATCH_MAX];
	bool up[2] = { true, true };
	struct nft_vip v = two(NFT_FLOW);
	enum nft_policy p;
	assert_int_equal(nft_policy_parse("query", &p), -1);
	assert_int_equal(nft_policy_parse("", &p), -1);
	assert_string_equal(nft_policy_name((enum nft_policy)7), "?");
	/* IPv6 is not an ip table's */
	struct nft_vip six = v;
	six.vip = ad("[::1]:53");
	assert_int_equal(nft_table_name(&six.vip, out, sizeof out), -EINVAL);
	assert_int_equal(nft_batch_create(&six, up, out, sizeof out), -EINVAL);
	six = v;
	six.backend[1] = ad("[::1]:5301");
	assert_int_equal(nft_batch_members(&six, up, out, sizeof out), -EINVAL);
	assert_int_equal(nft_flush_command(&six, 1, out, sizeof out), -EINVAL);
	/* no backend, an index out of range, too small a buffer */
	struct nft_vip none = v;
	none.n = 0;
	assert_int_equal(nft_batch_create(&none, up, out, sizeof out), -EINVAL);
	assert_int_equal(nft_batch_create(NULL, up, out, sizeof out), -EINVAL);
	assert_int_equal(nft_flush_command(&v, 2, out, sizeof out), -EINVAL);
	assert_int_equal(nft_batch_create(&v, up, out, 40), -E2BIG);
	assert_int_equal(nft_batch_delete(&v, out, 10), -E2BIG);
	/* more slots than a map may hold */
	struct nft_vip heavy = v;
	heavy.weight[0] = NFT_SLOTS_MAX;
	int slot[NFT_SLOTS_MAX + 1];
	assert_int_equal(nft_slots(&heavy, up, slot, NFT_SLOTS_MAX + 1), -E2BIG);
	assert_int_equal(nft_batch_members(&heavy, up, out, sizeof out), -E2BIG);
	assert_int_equal(nft_slots(&v, up, slot, 1), -E2BIG);
}

static void names(void **state)
{
	(void)state;
	char t[64];
	enum nft_policy p;
	assert_int_equal(nft_policy_parse("flow_hash", &p), 0);
	assert_int_equal(p, NFT_FLOW_HASH);
	assert_int_equal(nft_policy_parse("flow_random", &p), 0);
	assert_int_equal(p, NFT_FLOW_RANDOM);
	assert_int_equal(nft_policy_parse("flow", &p), 0);
	assert_int_equal(p, NFT_FLOW);
	assert_string_equal(nft_policy_name(NFT_FLOW_HASH), "flow_hash");
	struct addr a = ad("127.0.0.13:40233");
	assert_int_equal(nft_table_name(&a, t, sizeof t), 0);
	assert_string_equal(t, "dnschaos_127_0_0_13_40233");
}

/* The slots visit members in smooth weighted round robin order (nginx's):
 * weights 5, 1, 1 give a a b a c a a, not a a a a a b c. */
static void slots_order(void **state)
{
	(void)state;
	struct nft_vip v = two(NFT_FLOW);
	v.n = 3;
	v.backend[2] = ad("127.0.0.14:5302");
	v.weight[0] = 5;
	v.weight[1] = 1;
	v.weight[2] = 1;
	bool up[3] = { true, true, true };
	int slot[NFT_SLOTS_MAX];
	int w = nft_slots(&v, up, slot, NFT_SLOTS_MAX);
	assert_int_equal(w, 7);
	const int want[7] = { 0, 0, 1, 0, 2, 0, 0 };
	for (int k = 0; k < 7; k++)
		assert_int_equal(slot[k], want[k]);
	/* a down member holds no slot; weight 0 counts as 1 */
	up[0] = false;
	v.weight[1] = 0;
	w = nft_slots(&v, up, slot, NFT_SLOTS_MAX);
	assert_int_equal(w, 2);
	assert_int_equal(slot[0], 1);
	assert_int_equal(slot[1], 2);
	up[1] = up[2] = false;
	assert_int_equal(nft_slots(&v, up, slot, NFT_SLOTS_MAX), 0);
}

static void batches(void **state)
{
	(void)state;
	char out[NFT_BATCH_MAX];
	bool up[2] = { true, true };
	struct nft_vip v = two(NFT_FLOW);
	assert_int_equal(nft_batch_create(&v, up, out, sizeof out), 0);
	assert_string_equal(
		out, "add table ip dnschaos_127_0_0_13_53; add chain ip dnschaos_127_0_0_13_53 out "
		     "{ type nat hook output priority -100; policy accept; }; flush chain ip "
		     "dnschaos_127_0_0_13_53 out; add rule ip dnschaos_127_0_0_13_53 out ip daddr "
		     "127.0.0.13 meta l4proto { udp, tcp } th dport 53 dnat ip to numgen inc mod 2 "
		     "map { 0 : 127.0.0.11 . 5300, 1 : 127.0.0.12 . 5301 }");
	/* one member left: mod 1, one slot */
	up[0] = false;
	assert_int_equal(nft_batch_members(&v, up, out, sizeof out), 0);
	assert_string_equal(out, "flush chain ip dnschaos_127_0_0_13_53 out; add rule ip "
				 "dnschaos_127_0_0_13_53 out ip daddr 127.0.0.13 meta l4proto { "
				 "udp, tcp } th dport 53 dnat ip to numgen inc mod 1 map { 0 : "
				 "127.0.0.12 . 5301 }");
	/* none: the VIP drops */
	up[1] = false;
	assert_int_equal(nft_batch_members(&v, up, out, sizeof out), 0);
	assert_string_equal(out, "flush chain ip dnschaos_127_0_0_13_53 out; add rule ip "
				 "dnschaos_127_0_0_13_53 out ip daddr 127.0.0.13 meta l4proto { "
				 "udp, tcp } th dport 53 drop");
	assert_int_equal(nft_batch_delete(&v, out, sizeof out), 0);
	assert_string_equal(out, "delete table ip dnschaos_127_0_0_13_53");
}

static void policies(void **state)
{
	(void)state;
	char out[NFT_BATCH_MAX];
	bool up[2] = { true, true };
	struct nft_vip v = two(NFT_FLOW_RANDOM);
	assert_int_equal(nft_batch_members(&v, up, out, sizeof out), 0);
	assert_non_null(strstr(out, "dnat ip to numgen random mod 2 map {"));
	v = two(NFT_FLOW_HASH);
	assert_int_equal(nft_batch_members(&v, up, out, sizeof out), 0);
	assert_non_null(strstr(out, "dnat ip to jhash ip saddr . th sport mod 2 map {"));
	/* weights: backend 0 holds two slots of three */
	v = two(NFT_FLOW);
	v.weight[0] = 2;
	assert_int_equal(nft_batch_members(&v, up, out, sizeof out), 0);
	assert_non_null(strstr(out, "mod 3 map { 0 : 127.0.0.11 . 5300, 1 : 127.0.0.12 . 5301, "
				    "2 : 127.0.0.11 . 5300 }"));
	/* the largest map fits the buffer */
	struct nft_vip big;
	memset(&big, 0, sizeof big);
	big.vip = ad("127.255.255.254:65535");
	big.n = VIP_BACKENDS_MAX;
	bool all[VIP_BACKENDS_MAX];
	for (size_t i = 0; i < big.n; i++) {
		big.backend[i] = ad("127.255.255.253:65535");
		big.weight[i] = NFT_SLOTS_MAX / VIP_BACKENDS_MAX;
		all[i] = true;
	}
	assert_int_equal(nft_batch_create(&big, all, out, sizeof out), 0);
	assert_non_null(strstr(out, "mod 256 map {"));
}

static void flush(void **state)
{
	(void)state;
	char out[512];
	struct nft_vip v = two(NFT_FLOW);
	assert_int_equal(nft_flush_command(&v, 1, out, sizeof out), 0);
	/* this VIP's flows only (--orig-dst); the listing discarded, the count kept */
	assert_string_equal(out, "conntrack -D -p udp --orig-dst 127.0.0.13 --orig-port-dst 53 "
				 "--reply-src 127.0.0.12 --reply-port-src 5301 --dst-nat 127.0.0.12 "
				 "2>&1 >/dev/null; conntrack -D -p tcp --orig-dst 127.0.0.13 "
				 "--orig-port-dst 53 --reply-src 127.0.0.12 --reply-port-src 5301 "
				 "--dst-nat 127.0.0.12 2>&1 >/dev/null; exit 0");
	assert_int_equal(nft_flush_count("conntrack v1.4.7 (conntrack-tools): 2 flow entries have "
					 "been deleted.\nconntrack v1.4.7 (conntrack-tools): 0 flow "
					 "entries have been deleted.\n"),
			 2);
	assert_int_equal(nft_flush_count("conntrack v1.4.7 (conntrack-tools): 0 flow entries have "
					 "been deleted.\n"),
			 0);
	assert_int_equal(nft_flush_count("sh: 1: conntrack: not found\n"), -1);
	assert_int_equal(nft_flush_count(""), -1);
	assert_int_equal(nft_flush_count(" flow entries have been deleted"), -1);
}

/* The map and the flush in one script: nft's batch as $0, a mark once it
 * applied, then each leaving backend's conntrack commands under its own line. */
static void map_flush(void **state)
{
	(void)state;
	char out[NFT_BATCH_MAX];
	struct nft_vip v = two(NFT_FLOW);
	bool leaving[2] = { false, false };
	assert_int_equal(nft_map_flush_script(&v, leaving, out, sizeof out), -EINVAL);
	assert_int_equal(nft_map_flush_script(NULL, leaving, out, sizeof out), -EINVAL);
	leaving[1] = true;
	assert_int_equal(nft_map_flush_script(&v, leaving, out, 30), -E2BIG);
	assert_int_equal(nft_map_flush_script(&v, leaving, out, sizeof out), 0);
	assert_string_equal(out, "nft \"$0\" || exit 1; printf 'dnschaos: mapped\\n'; echo "
				 "'dnschaos: flush 1'; conntrack -D -p udp --orig-dst 127.0.0.13 "
				 "--orig-port-dst 53 --reply-src 127.0.0.12 --reply-port-src 5301 "
				 "--dst-nat 127.0.0.12 2>&1 >/dev/null; conntrack -D -p tcp --orig-dst "
				 "127.0.0.13 --orig-port-dst 53 --reply-src 127.0.0.12 --reply-port-src "
				 "5301 --dst-nat 127.0.0.12 2>&1 >/dev/null; exit 0");
	const char *said = "dnschaos: mapped\n"
			   "dnschaos: flush 0\n"
			   "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n"
			   "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n"
			   "dnschaos: flush 1\n"
			   "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n"
			   "sh: 1: conntrack: not found\n";
	assert_int_equal(nft_flush_count_of(said, 0), 4);
	assert_int_equal(nft_flush_count_of(said, 1), 0);
	assert_int_equal(nft_flush_count_of(said, 2), -1);
	assert_int_equal(nft_flush_count_of("dnschaos: mapped\ndnschaos: flush 1\nsh: 1: "
					    "conntrack: not found\n", 1),
			 -1);
	assert_non_null(strstr(said, NFT_MAPPED_MARK));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_parameters), cmocka_unit_test(names),
		cmocka_unit_test(slots_order),    cmocka_unit_test(batches),
		cmocka_unit_test(policies),       cmocka_unit_test(flush),
		cmocka_unit_test(map_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
