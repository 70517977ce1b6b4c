/* The linear form of a short list (bpf/classify.h pal_classify_small) at XDP, where untracked
 * ingress decides, on the inputs its shortcuts touch:
 * - per-family prefix tables: an IPv6 packet whose low word, or whose first word, equals an IPv4
 *   rule's address, and an IPv4 packet whose address equals the low word of an IPv6 rule, match
 *   neither; an IPv4 /0 matches no IPv6 packet;
 * - the first matched entry decides without a walk only when it is an Allow or a Deny: Log then
 *   Deny denies (and logs), Pass goes on to the next tier;
 * - port range edges and ICMP type/code, in both families.
 * Every case is checked against the reference evaluator too (bt_expect_agree), and a denied
 * packet must be dropped by XDP itself; one test rewrites the tables so that only the address
 * tables can tell the families apart. */
#include <criterion/criterion.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST "198.18.0.1"
#define HOST6 "2001:db8::1"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [" HOST ", '" HOST6 "']}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t1}\nspec: {order: 10}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: t1.raw}\n"
	"spec:\n  tier: t1\n  order: 1\n  selector: role == 'h'\n  doNotTrack: true\n"
	"  applyOnForward: true\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Log, protocol: TCP, destination: {ports: [8000]}}\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [8000]}}\n"
	"  - {action: Pass, protocol: TCP, destination: {ports: [8001]}}\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [8001]}}\n"
	/* 198.19.0.1 = c613:0001, the low word of 2001:db8::c613:1 */
	"  - {action: Deny, protocol: UDP, source: {nets: [198.19.0.1/32]}}\n"
	/* 32.1.13.184 = 2001:0db8, the first word of every 2001:db8:: address */
	"  - {action: Deny, protocol: UDP, source: {nets: [32.1.13.184/32]}}\n"
	/* no protocol: only the address field tells the families apart */
	"  - {action: Deny, source: {nets: [198.19.0.3/32]}}\n"
	/* ::198.19.0.0/112: an IPv6 prefix whose low word is an IPv4 sender's address */
	"  - {action: Deny, protocol: UDP, source: {nets: ['::c613:0/112']}}\n"
	"  - {action: Deny, protocol: TCP, source: {nets: [0.0.0.0/0]}, "
	"destination: {ports: ['7000:7010']}}\n"
	"  - {action: Deny, protocol: ICMP, icmp: {type: 3, code: 1}}\n"
	"  - {action: Deny, protocol: ICMPv6, icmp: {type: 1, code: 4}}\n"
	"  - {action: Allow}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: next}\n"
	"spec:\n  order: 1\n  selector: role == 'h'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n  - {action: Allow}\n";

BT_FIXTURE_SUITE(bpf_small_list, bt_setup_compiled(&T, &C, yaml));

/* Every list programmed has its linear form: the cases below test that form. */
static void assert_all_linear(void)
{
	uint32_t ids[BT_MAX_LISTS];
	size_t n = bt_list_ids(&T, ids, BT_MAX_LISTS);

	for (size_t i = 0; i < n; i++)
		cr_assert(bt_linear_form(&T, ids[i], NULL), "list %#x: no linear form", ids[i]);
	cr_assert_gt(n, 0, "no list programmed");
}

/* pkt arriving on eth0: allowed, or dropped at XDP; the evaluator agrees. A drop counts once on
 * the deciding rule and on every Log rule the evaluator says matched before it. */
static void expect(const char *what, struct pal_packet p, bool allow)
{
	struct pal_verdict v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
	struct pal_rule_ctr before[PAL_TRACE_MAX_LOGS + 1], after;
	struct bt_result r;

	cr_assert_neq(v.rule_id, UINT32_MAX, "%s: the evaluator names no rule", what);
	for (size_t k = 0; k < v.n_logged; k++)
		before[k] = bt_rulectr(&T, v.logged_rule_ids[k]);
	before[v.n_logged] = bt_rulectr(&T, v.rule_id);
	r = bt_expect_agree(&T, &C, PAL_TRACE_INGRESS, "eth0", NULL, &p, allow);
	if (allow) {
		cr_assert(r.allow, "%s", what);
		return;
	}
	cr_assert_eq(r.dropped_at, PAL_HOOK_XDP, "%s: dropped at hook %d, not XDP", what,
		     r.dropped_at);
	for (size_t k = 0; k <= v.n_logged; k++) {
		after = bt_rulectr(&T, k < v.n_logged ? v.logged_rule_ids[k] : v.rule_id);
		cr_assert_eq(after.packets - before[k].packets, 1, "%s: rule counter %zu of %zu",
			     what, k, v.n_logged);
	}
}

Test(bpf_small_list, an_address_matches_only_prefixes_of_its_own_family)
{
	assert_all_linear();
	expect("v4 = the /32", ct_pkt(PAL_PROTO_UDP, "198.19.0.1", 5000, HOST, 9), false);
	expect("v4 next to the /32", ct_pkt(PAL_PROTO_UDP, "198.19.0.2", 5000, HOST, 9), true);
	expect("v6, low word = the v4 /32",
	       ct_pkt(PAL_PROTO_UDP, "2001:db8::c613:1", 5000, HOST6, 9), true);
	expect("v4 = the /32 of any protocol",
	       ct_pkt(PAL_PROTO_TCP, "198.19.0.3", 5000, HOST, 9), false);
	expect("v6, low word = the v4 /32 of any protocol",
	       ct_pkt(PAL_PROTO_TCP, "2001:db8::c613:3", 5000, HOST6, 9), true);
	expect("v6, first word = a v4 /32",
	       ct_pkt(PAL_PROTO_UDP, "2001:db8:5::7", 5000, HOST6, 9), true);
	expect("v4 = the low word of a v6 /112",
	       ct_pkt(PAL_PROTO_UDP, "198.19.0.9", 5000, HOST, 9), true);
	expect("v4 /0 on TCP 7000", ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 7000), false);
	expect("no v6 in the v4 /0", ct_pkt(PAL_PROTO_TCP, "2001:db8::9", 5000, HOST6, 7000),
	       true);
}

/* XDP's verdict on pkt: 1 XDP_DROP, 2 XDP_PASS. */
static int xdp_verdict(const struct pal_packet *pkt)
{
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), pkt, NULL);

	return bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, NULL);
}

/* The flattener's protocol key carries the family too (an IPv4 rule's entry is never in an IPv6
 * protocol's bits), which hides a classifier that reads the wrong family's prefix table. Here
 * every list's IPv6 UDP protocol range is made to match every entry, so only the address tables
 * keep the families apart: an IPv6 packet whose low word is the IPv4 /32 of "Deny UDP from
 * 198.19.0.1" must still not meet that rule. */
Test(bpf_small_list, the_address_tables_alone_keep_the_families_apart)
{
	struct pal_packet v6 = ct_pkt(PAL_PROTO_UDP, "2001:db8::c613:1", 5000, HOST6, 9);
	struct pal_packet v4 = ct_pkt(PAL_PROTO_UDP, "198.19.0.1", 5000, HOST, 9);
	int small = pal_dp_map_fd(T.dp, "pal_small"), lists = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL, v6_udp = PAL_SMALL_PROTO_V6 + 17;
	int changed = 0;

	assert_all_linear();
	cr_assert_eq(xdp_verdict(&v6), 2, "v6 before the change");
	while (bpf_map_get_next_key(lists, prev, &next) == 0) {
		struct pal_small_list sl;
		struct pal_small_keys *k;
		uint32_t slot;

		key = next;
		prev = &key;
		cr_assert(bt_linear_form(&T, key, &sl));
		k = &sl.keys[PAL_SMALL_K_PROTO];
		for (uint32_t i = 0; i < k->n; i++)
			if (k->r[i].first <= v6_udp && v6_udp <= k->r[i].last)
				k->r[i].bits = sl.n_entries >= 32 ? ~0u : (1u << sl.n_entries) - 1;
		slot = key & ~PAL_LIST_ID_SMALL;
		cr_assert_eq(bpf_map_update_elem(small, &slot, &sl, BPF_EXIST), 0);
		changed++;
	}
	cr_assert_gt(changed, 0);
	cr_assert_eq(xdp_verdict(&v4), 1, "the v4 /32 is still denied");
	cr_assert_eq(xdp_verdict(&v6), 2, "an IPv6 address met an IPv4 prefix");
}

Test(bpf_small_list, port_range_edges_and_icmp_type_code)
{
	assert_all_linear();
	expect("6999", ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 6999), true);
	expect("7000", ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 7000), false);
	expect("7010", ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 7010), false);
	expect("7011", ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 7011), true);
	expect("icmp 3/1", ct_icmp("198.18.9.9", HOST, 3, 1), false);
	expect("icmp 3/0", ct_icmp("198.18.9.9", HOST, 3, 0), true);
	expect("icmp 4/1", ct_icmp("198.18.9.9", HOST, 4, 1), true);
	expect("icmpv6 1/4", ct_icmp("2001:db8::9", HOST6, 1, 4), false);
	expect("icmpv6 3/1", ct_icmp("2001:db8::9", HOST6, 3, 1), true);
}

Test(bpf_small_list, only_an_allow_or_deny_decides_at_once)
{
	struct pal_packet log_deny = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 8000);

	assert_all_linear();
	cr_assert_eq(ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &log_deny).n_logged, 1);
	expect("log then deny", log_deny, false);
	expect("log then deny, v6", ct_pkt(PAL_PROTO_TCP, "2001:db8::9", 5000, HOST6, 8000), false);
	expect("pass: the next tier allows",
	       ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 5000, HOST, 8001), true);
	expect("pass, v6", ct_pkt(PAL_PROTO_TCP, "2001:db8::9", 5000, HOST6, 8001), true);
}
