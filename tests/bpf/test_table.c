/* Every row of semantics.md section 7's table through the BPF programs (BPF_PROG_TEST_RUN), on the
 * node of tests/unit/fixtures/compiler/table (eth0 = host endpoint "ext", eth1 = host endpoint
 * "int", cali1 = workload pod1), with the default failsafe ports. Each case checks the verdict
 * (and untracked-ness) against the reference evaluator AND against the expectation written here,
 * the hook that dropped, and counter changes. */
#include <criterion/criterion.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define CLIENT "198.18.100.1"
#define MGMT "198.18.200.1"
#define HOST_EXT "198.18.0.1"
#define POD "198.18.2.10"

BT_TABLE_SUITE(bpf_table);

/* Runs pkt through the programs and the evaluator; both must say `allow` (and `untracked`); when
 * it drops, it must drop at `hook`. */
static struct bt_result check(enum pal_trace_dir dir, const char *in, const char *out,
			      const struct pal_packet *p, bool allow, bool untracked, int hook)
{
	struct pal_verdict v = ct_eval(&C, dir, in, out, p);
	struct bt_result r;

	bt_flush_flows(&T);
	r = bt_path(&T, dir, in, out, p, NULL);
	cr_assert_eq(v.allow, allow, "evaluator: %s (%s)", v.allow ? "allow" : "deny", v.reason);
	cr_assert_eq(r.allow, allow, "datapath: %s at hook %d; evaluator: %s", r.allow ? "allow" :
		     "deny", r.dropped_at, v.reason);
	cr_assert_eq(v.untracked, untracked);
	cr_assert_eq(r.untracked, untracked, "datapath untracked=%d", r.untracked);
	if (!allow)
		cr_assert_eq(r.dropped_at, hook, "dropped at hook %d, expected %d", r.dropped_at,
			     hook);
	return r;
}

/* ---- arrives on HEP A for a local process ---- */

Test(bpf_table, hep_ingress_failsafe_then_default_deny)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, MGMT, 40000, HOST_EXT, 22);
	int eth0 = T.ifindex[BT_ETH0];
	struct pal_if_ctr before = bt_ifctr(&T, eth0, PAL_HOOK_INPUT), after;

	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, true, false, -1);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_XDP).verdict[PAL_VERDICT_FAILSAFE], 1);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS).verdict[PAL_VERDICT_FAILSAFE], 1);
	p.protocol = PAL_PROTO_UDP; /* udp 22 is no failsafe: the host tier ends with Deny */
	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_INPUT);
	after = bt_ifctr(&T, eth0, PAL_HOOK_INPUT);
	cr_assert_eq(after.verdict[PAL_VERDICT_DENY] - before.verdict[PAL_VERDICT_DENY], 1);
	cr_assert_eq(after.drop[PAL_DROP_TIER_END] - before.drop[PAL_DROP_TIER_END], 1);
}

Test(bpf_table, hep_ingress_untracked_allow_and_deny_at_xdp)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 9000);
	struct pal_verdict v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
	int eth0 = T.ifindex[BT_ETH0];
	struct bt_result r = check(PAL_TRACE_INGRESS, "eth0", NULL, &p, true, true, -1);
	struct pal_rule_ctr rc = bt_rulectr(&T, v.rule_id);

	cr_assert(r.mark & PAL_MARK_UNTRACKED);
	/* counted at XDP and again at tc ingress (test-run passes no XDP metadata to tc) */
	cr_assert_eq(rc.packets, 2);
	cr_assert_gt(rc.bytes, 0);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_XDP).verdict[PAL_VERDICT_UNTRACKED], 1);

	p.dport = 9001;
	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_XDP);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_XDP).drop[PAL_DROP_POLICY], 1);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS).verdict[PAL_VERDICT_DENY], 0);
}

/* Drops count their bytes by reason (palisade_dropped_bytes_total): the frame's length at XDP, and
 * at netfilter's INPUT the IP packet's (the socket-filter test run, like netfilter, hands the
 * program the skb without its Ethernet header). Two sizes, so a count of packets or of a fixed
 * size cannot pass. */
Test(bpf_table, drops_count_their_bytes_by_reason)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 9001);
	int eth0 = T.ifindex[BT_ETH0];
	struct pal_if_ctr x0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP), in0 = bt_ifctr(&T, eth0, PAL_HOOK_INPUT);
	struct pal_if_ctr x1, in1;
	uint8_t small[256], big[256];
	size_t small_len = bt_build(small, sizeof(small), &p, NULL);
	size_t big_len = bt_build(big, sizeof(big), &p, &(struct bt_pkt_opts){ .ip_opts = 24 });

	cr_assert_eq(big_len, small_len + 24);
	cr_assert_eq(bt_run_xdp(&T, eth0, small, small_len, NULL), XDP_DROP);
	cr_assert_eq(bt_run_xdp(&T, eth0, big, big_len, NULL), XDP_DROP);
	x1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	cr_assert_eq(x1.drop[PAL_DROP_POLICY] - x0.drop[PAL_DROP_POLICY], 2);
	cr_assert_eq(x1.drop_bytes[PAL_DROP_POLICY] - x0.drop_bytes[PAL_DROP_POLICY],
		     small_len + big_len, "XDP counted %llu bytes, sent %zu",
		     (unsigned long long)(x1.drop_bytes[PAL_DROP_POLICY] -
					  x0.drop_bytes[PAL_DROP_POLICY]), small_len + big_len);

	p.protocol = PAL_PROTO_UDP; /* udp 22: no failsafe, the host tier's end denies at INPUT */
	p.dport = 22;
	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_INPUT);
	small_len = bt_build(small, sizeof(small), &p, NULL);
	in1 = bt_ifctr(&T, eth0, PAL_HOOK_INPUT);
	cr_assert_eq(in1.drop_bytes[PAL_DROP_TIER_END] - in0.drop_bytes[PAL_DROP_TIER_END],
		     small_len - 14, "INPUT counted %llu bytes of a %zu-byte frame",
		     (unsigned long long)(in1.drop_bytes[PAL_DROP_TIER_END] -
					  in0.drop_bytes[PAL_DROP_TIER_END]), small_len);
	cr_assert_eq(in1.drop_bytes[PAL_DROP_POLICY], in0.drop_bytes[PAL_DROP_POLICY],
		     "bytes under the reason that dropped only");
}

/* XDP's verdict reaches tc in 8 bytes of metadata where the kernel lets XDP programs add it, sealed
 * with the load's cookie for the interface (bpf/xdp_meta.h); where
 * it does not (bpf_xdp_adjust_meta refused), XDP leaves none and still counts its verdicts, and tc
 * ingress evaluates again (the table tests above pass either way). */
Test(bpf_table, xdp_leaves_metadata_for_tc)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 9000);
	bool with_meta = pal_dp_xdp_meta(T.dp);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);
	uint32_t seal = pal_dp_xdp_meta_cookie(T.dp) ^ (uint32_t)T.ifindex[BT_ETH0];
	struct pal_xdp_meta meta;
	struct pal_if_ctr c;

	cr_assert_eq(bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, &meta), 2 /* XDP_PASS */);
	if (with_meta) {
		cr_assert_eq(meta.cookie, seal);
		cr_assert(meta.flags & PAL_XDP_META_UNTRACKED);
	} else {
		cr_assert_eq(meta.cookie | meta.flags, 0);
	}
	p.dport = 22;
	len = bt_build(buf, sizeof(buf), &p, NULL);
	cr_assert_eq(bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, &meta), 2);
	cr_assert(with_meta ? (meta.flags & PAL_XDP_META_FAILSAFE) != 0 : meta.flags == 0);
	p.dport = 7000;
	len = bt_build(buf, sizeof(buf), &p, NULL);
	cr_assert_eq(bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, &meta), 2);
	cr_assert_eq(meta.flags, with_meta ? PAL_XDP_META_EVALUATED : 0);
	cr_assert_eq(meta.cookie, with_meta ? seal : 0);
	c = bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_XDP);
	cr_assert_eq(c.verdict[PAL_VERDICT_UNTRACKED], 1);
	cr_assert_eq(c.verdict[PAL_VERDICT_FAILSAFE], 1);
	cr_assert_eq(c.verdict[PAL_VERDICT_PASS], 1);
}

/* A TCP packet from the client to the host's dport that the node's DNAT sends to its port to, in
 * through eth0: check() with allow and hook. */
static void check_host_dnat(uint16_t dport, uint16_t to, bool allow, int hook)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, dport);

	ct_dnat(&p, HOST_EXT, to);
	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, allow, false, hook);
}

Test(bpf_table, hep_ingress_prednat_sees_the_nodeport)
{
	check_host_dnat(30080, 80, true, -1);
	check_host_dnat(30081, 80, false, PAL_HOOK_TC_INGRESS);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS).drop[PAL_DROP_POLICY], 1);
}

Test(bpf_table, hep_ingress_normal_sees_the_backend)
{
	check_host_dnat(7000, 80, true, -1);
	check_host_dnat(7000, 30080, false, PAL_HOOK_INPUT);
}

Test(bpf_table, hep_ingress_defaults)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 81);

	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_INPUT);
	/* eth1: no policy applies, no profile: default deny */
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, "198.18.1.1", 80);
	check(PAL_TRACE_INGRESS, "eth1", NULL, &p, false, false, PAL_HOOK_INPUT);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH1], PAL_HOOK_INPUT).drop[PAL_DROP_NO_PROFILE], 1);
	/* cali0 has no endpoint: not policed */
	check(PAL_TRACE_INGRESS, "cali0", NULL, &p, true, false, -1);
}

Test(bpf_table, established_flow_skips_policy)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 80);
	struct pal_packet reply = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 80, CLIENT, 40000);
	struct bt_result r;

	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
	cr_assert(r.allow);
	/* the reply leaves through egress, where the host tier allows only tcp 443: allowed as
	 * part of the flow */
	r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &reply, &bt_ack);
	cr_assert(r.allow);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_EGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 1);
	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &reply, &bt_ack);
	cr_assert_not(r.allow, "without the flow the reply is a new, denied packet");
}

Test(bpf_table, failsafe_and_prednat_flows_get_their_replies)
{
	/* sshd answering on a failsafe port, and a local service reached through a preDNAT allow:
	 * the host's egress policy (tcp 443 only) would deny both replies as new packets */
	struct pal_packet ssh = ct_pkt(PAL_PROTO_TCP, MGMT, 40000, HOST_EXT, 22);
	struct pal_packet ssh_reply = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 22, MGMT, 40000);
	struct pal_packet np = ct_pkt(PAL_PROTO_TCP, CLIENT, 40001, HOST_EXT, 30080);
	struct pal_packet np_reply = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 30080, CLIENT, 40001);

	bt_flush_flows(&T);
	cr_assert_not(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &ssh_reply, &bt_ack).allow);
	cr_assert(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &ssh, NULL).allow);
	cr_assert(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &ssh_reply, &bt_ack).allow);
	cr_assert_not(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &np_reply, &bt_ack).allow);
	cr_assert(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &np, NULL).allow);
	cr_assert(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &np_reply, &bt_ack).allow);
}

/* An ICMP "fragmentation needed" from a router on eth0, quoting the host's packet
 * HOST_EXT:40000 -> MGMT:443. */
static size_t frag_needed(uint8_t *buf, size_t cap)
{
	struct pal_packet icmp = ct_icmp("198.18.5.5", HOST_EXT, 3, 4);
	struct pal_packet quoted = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, MGMT, 443);
	uint8_t inner[256];
	size_t len = bt_build(buf, cap, &icmp, NULL);
	size_t ilen = bt_build(inner, sizeof(inner), &quoted, NULL);

	memcpy(buf + len, inner + 14, 28); /* quoted IP header + 8 bytes of TCP */
	len += 28;
	buf[16] = 0;
	buf[17] = (uint8_t)(len - 14); /* IPv4 total length */
	(void)ilen;
	return len;
}

Test(bpf_table, icmp_errors_of_allowed_flows_are_related)
{
	struct pal_packet out = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, MGMT, 443);
	uint8_t buf[512];
	size_t len = frag_needed(buf, sizeof(buf));
	int eth0 = T.ifindex[BT_ETH0];
	int input = pal_dp_prog_fd(T.dp, PAL_PROG_SF_INPUT_DENY);

	bt_flush_flows(&T);
	/* without the flow it is a new ICMP packet: the host tier denies it */
	cr_assert_eq(bt_run_sf(input, eth0, 0, buf, len), 1);
	cr_assert(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &out, NULL).allow);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, eth0, eth0, 0, buf, len, NULL), 0);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS).verdict[PAL_VERDICT_ESTABLISHED], 1);
	cr_assert_eq(bt_run_sf(input, eth0, 0, buf, len), 0, "related to the allowed flow");
}

Test(bpf_table, untracked_flows_leave_no_flow_state)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 9000);
	struct pal_flow_key k;
	struct bt_result r;

	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
	cr_assert(r.allow && r.untracked);
	cr_assert_neq(bpf_map_get_next_key(pal_dp_map_fd(T.dp, "pal_flows4"), NULL, &k), 0,
		      "an untracked flow entered palisade's flow table");
	cr_assert_neq(bpf_map_get_next_key(pal_dp_map_fd(T.dp, "pal_flows"), NULL, &k), 0);
}

/* ---- forwarded ---- */

Test(bpf_table, forward_nodeport_to_workload)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30080);

	ct_dnat(&p, POD, 8080);
	check(PAL_TRACE_FORWARD, "eth0", "cali1", &p, true, false, -1);
	p = ct_pkt(PAL_PROTO_TCP, MGMT, 40000, HOST_EXT, 30080);
	ct_dnat(&p, POD, 8080);
	check(PAL_TRACE_FORWARD, "eth0", "cali1", &p, false, false, PAL_HOOK_TC_EGRESS);
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30081);
	ct_dnat(&p, POD, 8080);
	check(PAL_TRACE_FORWARD, "eth0", "cali1", &p, false, false, PAL_HOOK_TC_INGRESS);
}

Test(bpf_table, forward_policy)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, "198.18.1.50", 5000);

	check(PAL_TRACE_FORWARD, "eth0", "eth1", &p, true, false, -1);
	p.dport = 5001;
	check(PAL_TRACE_FORWARD, "eth0", "eth1", &p, false, false, PAL_HOOK_TC_EGRESS);
	p = ct_pkt(PAL_PROTO_UDP, "198.18.1.50", 40000, CLIENT, 7777);
	check(PAL_TRACE_FORWARD, "eth1", "eth0", &p, true, false, -1);
}

Test(bpf_table, forward_untracked)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, "198.18.1.50", 9000);

	check(PAL_TRACE_FORWARD, "eth0", "eth1", &p, true, true, -1);
	p.dport = 9001;
	check(PAL_TRACE_FORWARD, "eth0", "eth1", &p, false, false, PAL_HOOK_XDP);
	/* untracked allow does not skip workload policy */
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, POD, 9000);
	check(PAL_TRACE_FORWARD, "eth0", "cali1", &p, false, false, PAL_HOOK_TC_EGRESS);
}

Test(bpf_table, forward_failsafe_port_is_no_bypass)
{
	/* tcp 22 is failsafe for the host, but forwarded to eth1 it meets forward policy */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, MGMT, 40000, "198.18.1.50", 22);

	check(PAL_TRACE_FORWARD, "eth0", "eth1", &p, false, false, PAL_HOOK_TC_EGRESS);
}

/* ---- locally generated ---- */

Test(bpf_table, local_egress)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, HOST_EXT, 40000, MGMT, 53);

	check(PAL_TRACE_EGRESS, "eth0", NULL, &p, true, false, -1);
	p.protocol = PAL_PROTO_TCP;
	check(PAL_TRACE_EGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_TC_EGRESS);
	p = ct_pkt(PAL_PROTO_UDP, HOST_EXT, 40000, MGMT, 9002);
	check(PAL_TRACE_EGRESS, "eth0", NULL, &p, true, true, -1);
	p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, MGMT, 9003);
	check(PAL_TRACE_EGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_RAW_OUTPUT);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_RAW_OUTPUT).drop[PAL_DROP_POLICY], 1);
	p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, MGMT, 443);
	check(PAL_TRACE_EGRESS, "eth0", NULL, &p, true, false, -1);
}

Test(bpf_table, host_to_workload_and_workload_to_host)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, POD, 1234);

	check(PAL_TRACE_EGRESS, "cali1", NULL, &p, true, false, -1);
	p = ct_pkt(PAL_PROTO_TCP, POD, 40000, HOST_EXT, 1234);
	check(PAL_TRACE_INGRESS, "cali1", NULL, &p, false, false, PAL_HOOK_INPUT);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_INPUT).drop[PAL_DROP_EP_TO_HOST] +
			     bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_INPUT).drop[PAL_DROP_POLICY] +
			     bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_INPUT).drop[PAL_DROP_NO_PROFILE],
		     1);
}

Test(bpf_table, icmp_and_neighbour_discovery)
{
	struct pal_packet p = ct_icmp(CLIENT, HOST_EXT, 8, 0);

	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_INPUT);
	p = ct_icmp("2001:db8::1", "2001:db8::2", 135, 0); /* neighbour solicitation */
	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, true, false, -1);
	p = ct_icmp("2001:db8::1", "2001:db8::2", 128, 0); /* echo request: default deny */
	check(PAL_TRACE_INGRESS, "eth0", NULL, &p, false, false, PAL_HOOK_INPUT);
}
