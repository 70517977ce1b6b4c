/* Fail-open regressions around skb->mark, failsafe replies, neighbour discovery and the
 * classifier's scratch slot, decided by the programs alone (BPF_PROG_TEST_RUN):
 *   - palisade's mark bits are cleared at tc ingress and believed at tc egress only when
 *     palisade can prove it set them (issue 7, defect 3);
 *   - replies of failsafe connections (source port = a failsafe port) are exempt from untracked
 *     policy as the host's, and only as the host's (defect 8);
 *   - ICMPv6 types 133-137 carried by IPv4 (protocol 58) are no neighbour discovery (defect 12);
 *   - a raw OUTPUT classification that finds its scratch slot taken drops, fail closed, with
 *     PAL_DROP_BUSY (defect 12).
 * The node: host endpoint h on eth0 (198.18.0.1), eth1 is no endpoint. A doNotTrack policy
 * denies all ingress and all egress but udp/9999; the normal policy (also on forwarded traffic)
 * allows tcp/80 both ways. Failsafe ports: in tcp:22, out tcp:179 and udp:53. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1, '2001:db8::1']}\n"
	CT_YAML_NOTRACK_HEAD
	"  types: [Ingress, Egress]\n"
	"  ingress: [{action: Deny}]\n"
	"  egress:\n"
	"  - {action: Allow, protocol: UDP, destination: {ports: [9999]}}\n"
	"  - {action: Deny}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: web}\n"
	"spec:\n  order: 10\n  selector: role == 'h'\n  applyOnForward: true\n"
	"  types: [Ingress, Egress]\n"
	"  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\n"
	"  egress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\n";

#define HOST "198.18.0.1"
#define PEER "198.18.5.5"

static struct bpft T;
static struct ctest C;

static void setup(void)
{
	bt_setup(&T);
	ct_compile_ex(&C, yaml, "tcp:22", "tcp:179,udp:53", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(C.rc, 0, "compile");
	bt_apply(&T, &C.ir, 1);
	bt_flush_flows(&T);
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_marks, .init = setup, .fini = teardown);

static size_t build(uint8_t *buf, size_t cap, const struct pal_packet *p)
{
	return bt_build(buf, cap, p, NULL);
}

/* ---- defect 3: marks ---------------------------------------------------------------------- */

/* tc ingress clears palisade's bits on every interface it runs on: a workload's or a link
 * without an endpoint too (a veth peer in the same namespace keeps the sender's mark). Other
 * bits are left alone. */
Test(bpf_marks, tc_ingress_clears_palisade_bits_everywhere)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, 80);
	uint32_t forged = PAL_MARK_MASK | 0x4000u, out = 0;
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &p);
	int ifs[] = { T.ifindex[BT_ETH1], T.ifindex[BT_CALI0] };

	for (size_t i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++) {
		cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, ifs[i], ifs[i], forged, buf, len,
				       &out), 0);
		cr_assert_eq(out & PAL_MARK_MASK, 0, "interface %d kept palisade bits %#x", ifs[i],
			     out);
		cr_assert_eq(out & 0x4000u, 0x4000u, "a bit that is not palisade's was cleared");
	}
	/* the host endpoint (a failsafe-in packet, the doNotTrack policy denies the rest): exactly
	 * what tc ingress decided, nothing forged kept */
	p = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, 22);
	len = build(buf, sizeof(buf), &p);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0],
			       forged, buf, len, &out), 0);
	cr_assert_eq(out & PAL_MARK_MASK, PAL_MARK_FAILSAFE | PAL_MARK_SEEN | PAL_MARK_FWD_DENY,
		     "%#x", out);
}

/* A locally generated packet that did not cross raw OUTPUT (an AF_PACKET sender) with a forged
 * PAL_MARK_UNTRACKED: tc egress evaluates untracked egress again, which does not allow tcp/443,
 * so the packet meets normal egress policy and is dropped; a packet untracked policy does allow
 * (udp/9999) keeps its untracked pass. */
Test(bpf_marks, tc_egress_does_not_believe_a_forged_untracked_mark)
{
	struct pal_packet deny = ct_pkt(PAL_PROTO_TCP, HOST, 40000, PEER, 443);
	struct pal_packet allow = ct_pkt(PAL_PROTO_UDP, HOST, 40000, PEER, 9999);
	int eth0 = T.ifindex[BT_ETH0];
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &deny);
	struct pal_if_ctr before = bt_ifctr(&T, eth0, PAL_HOOK_TC_EGRESS), after;

	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, eth0, 0, PAL_MARK_UNTRACKED, buf, len, NULL),
		     2, "a forged untracked mark passed tc egress");
	after = bt_ifctr(&T, eth0, PAL_HOOK_TC_EGRESS);
	cr_assert_eq(after.drop[PAL_DROP_TIER_END], before.drop[PAL_DROP_TIER_END] + 1);
	cr_assert_eq(after.verdict[PAL_VERDICT_UNTRACKED], before.verdict[PAL_VERDICT_UNTRACKED]);

	len = build(buf, sizeof(buf), &allow);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, eth0, 0, PAL_MARK_UNTRACKED, buf, len, NULL),
		     0);
	after = bt_ifctr(&T, eth0, PAL_HOOK_TC_EGRESS);
	cr_assert_eq(after.verdict[PAL_VERDICT_UNTRACKED], before.verdict[PAL_VERDICT_UNTRACKED] + 1);
	/* and the flow table learnt nothing from either */
	bt_flush_flows(&T);
}

/* A forwarded packet that arrived on a link palisade has no entry for (eth1) carries no bit
 * palisade set: a forged UNTRACKED must not skip the forward egress policy of eth0, nor a forged
 * FAILSAFE|FWD_UNTRACKED. */
Test(bpf_marks, forwarded_from_unknown_link_carries_no_palisade_bit)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, PEER, 443);
	uint32_t forged[] = { PAL_MARK_UNTRACKED, PAL_MARK_FAILSAFE | PAL_MARK_FWD_UNTRACKED,
			      PAL_MARK_PREDNAT | PAL_MARK_SEEN };
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &p);

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		bt_flush_flows(&T);
		cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[BT_ETH0],
				       T.ifindex[BT_ETH1], forged[i], buf, len, NULL),
			     2, "mark %#x skipped eth0's forward egress policy", forged[i]);
	}
	/* the same packet to port 80 is allowed by it */
	p.dport = 80;
	len = build(buf, sizeof(buf), &p);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH1], 0,
			       buf, len, NULL), 0);
}

/* ---- defect 8: failsafe replies ----------------------------------------------------------- */

/* sshd's SYN-ACK (source port 22, failsafe-in tcp:22) is not dropped by the doNotTrack
 * deny-all in raw OUTPUT, and leaves as part of the flow the SYN opened; source port 23 is. */
Test(bpf_marks, failsafe_in_reply_passes_untracked_egress)
{
	struct pal_packet syn = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, 22);
	struct pal_packet synack = ct_pkt(PAL_PROTO_TCP, HOST, 22, PEER, 40000);
	struct pal_packet other = ct_pkt(PAL_PROTO_TCP, HOST, 23, PEER, 40000);
	const struct bt_pkt_opts synack_flags = { .tcp_flags = BT_TCP_SYN | BT_TCP_ACK };
	struct bt_result r;

	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &syn, NULL);
	cr_assert(r.allow, "failsafe-in SYN dropped at hook %d", r.dropped_at);
	r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &synack, &synack_flags);
	cr_assert(r.allow, "sshd's SYN-ACK dropped at hook %d", r.dropped_at);
	cr_assert_not(r.untracked, "a failsafe reply stays tracked");
	r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &other, NULL);
	cr_assert_not(r.allow);
	cr_assert_eq(r.dropped_at, PAL_HOOK_RAW_OUTPUT);
}

/* The answer of a failsafe-out connection (node -> peer:179, peer:53) is not dropped by the
 * doNotTrack deny-all in XDP/tc ingress and is established; source port 180 is dropped in XDP.
 * XDP leaves no metadata for the reply, so tc ingress evaluates it again. */
Test(bpf_marks, failsafe_out_reply_passes_untracked_ingress)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
	} fs[] = { { PAL_PROTO_TCP, 179 }, { PAL_PROTO_UDP, 53 } };
	const struct bt_pkt_opts synack_flags = { .tcp_flags = BT_TCP_SYN | BT_TCP_ACK };

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		struct pal_packet out = ct_pkt(fs[i].proto, HOST, 40000, PEER, fs[i].port);
		struct pal_packet reply = ct_pkt(fs[i].proto, PEER, fs[i].port, HOST, 40000);
		struct bt_result r;
		uint8_t buf[256];
		size_t len = build(buf, sizeof(buf), &reply);
		struct pal_xdp_meta meta;

		r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &out, NULL);
		cr_assert(r.allow, "failsafe-out dropped at hook %d", r.dropped_at);
		cr_assert_eq(bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, &meta), 2 /* PASS */);
		/* a TCP answer is a SYN-ACK: a bare SYN would be a new flow (docs/datapath.md) */
		r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &reply, &synack_flags);
		cr_assert(r.allow, "failsafe-out reply port %u dropped at hook %d", fs[i].port,
			  r.dropped_at);
		cr_assert_not(r.untracked);
	}
	{
		struct pal_packet other = ct_pkt(PAL_PROTO_TCP, PEER, 180, HOST, 40000);
		struct bt_result r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &other, NULL);

		cr_assert_not(r.allow);
		cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
	}
}

/* A failsafe reply only skips untracked policy: without a flow, tracked policy still judges it
 * (normal ingress allows tcp/80 only), and forwarded it meets untracked ingress like any
 * packet (failsafe ports protect the host, not what it routes). */
Test(bpf_marks, failsafe_reply_is_no_pass_beyond_untracked_policy)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 179, HOST, 40000);
	struct pal_packet fwd = ct_pkt(PAL_PROTO_TCP, PEER, 179, "198.18.9.9", 80);
	struct bt_result r;
	struct pal_verdict v;

	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
	cr_assert_not(r.allow);
	cr_assert_eq(r.dropped_at, PAL_HOOK_INPUT);
	v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
	cr_assert_not(v.allow);
	cr_assert_eq(v.stage, PAL_STAGE_NORMAL, "the evaluator denies at %s",
		     pal_stage_name(v.stage));

	r = bt_path(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &fwd, NULL);
	cr_assert_not(r.allow, "a forwarded 'failsafe reply' skipped untracked ingress");
	v = ct_eval(&C, PAL_TRACE_FORWARD, "eth0", "eth1", &fwd);
	cr_assert_not(v.allow);
	cr_assert_eq(v.stage, PAL_STAGE_UNTRACKED);
}

/* ---- defect 12: neighbour discovery is ICMPv6 in IPv6 ------------------------------------- */

Test(bpf_marks, ipv4_protocol_58_is_no_neighbour_discovery)
{
	struct pal_packet v4 = ct_pkt(PAL_PROTO_ICMPV6, PEER, 0, HOST, 0);
	struct pal_packet v6 = ct_icmp("2001:db8::5", "2001:db8::1", 135, 0);
	struct bt_result r;
	struct pal_verdict v;

	v4.icmp_type = 135;
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &v4, NULL);
	cr_assert_not(r.allow, "IPv4 protocol 58 type 135 passed as neighbour discovery");
	cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
	v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &v4);
	cr_assert_not(v.allow);
	r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &v4, NULL);
	cr_assert_not(r.allow);

	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &v6, NULL);
	cr_assert(r.allow, "IPv6 neighbour solicitation dropped at hook %d", r.dropped_at);
	v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &v6);
	cr_assert(v.allow);
}

/* ---- defect 12: the classifier's scratch slot --------------------------------------------- */

/* Runs udp/9999 (untracked allow) through eth0's raw OUTPUT deny filter with its RAW_OUTPUT
 * scratch slot taken, then through its deny and allow filters with the slot free; the three
 * verdicts in rc[3]. Returns how many PAL_DROP_BUSY drops eth0 counted meanwhile. */
static uint64_t run_raw_output_on_taken_slot(int rc[3])
{
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, HOST, 40000, PEER, 9999);
	int deny = T.sf_out_deny[BT_ETH0], eth0 = T.ifindex[BT_ETH0];
	int fd = bt_scratch_fd(deny);
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &p);
	struct pal_if_ctr before = bt_ifctr(&T, eth0, PAL_HOOK_RAW_OUTPUT), after;

	bt_scratch_set_owner(fd, PAL_HOOK_RAW_OUTPUT, 1);
	rc[0] = bt_run_sf(deny, 0, 0, buf, len);
	bt_scratch_set_owner(fd, PAL_HOOK_RAW_OUTPUT, 0);
	close(fd);
	after = bt_ifctr(&T, eth0, PAL_HOOK_RAW_OUTPUT);
	rc[1] = bt_run_sf(deny, 0, 0, buf, len);
	rc[2] = bt_run_sf(T.sf_out_allow[BT_ETH0], 0, 0, buf, len);
	return after.drop[PAL_DROP_BUSY] - before.drop[PAL_DROP_BUSY];
}

/* A raw OUTPUT filter that finds the RAW_OUTPUT slot taken (a preempted task in the middle of a
 * classification on this CPU) does not use it: the packet is dropped with PAL_DROP_BUSY; once
 * the slot is free, the same packet is judged by its policy again (udp/9999 untracked allow).
 * Only the bitmap form uses the slot, so the lists lose their linear form first. */
Test(bpf_marks, raw_output_drops_when_the_scratch_slot_is_taken)
{
	int rc[3];

	/* without the linear forms the classifier takes the bitmap form, the one with a slot */
	cr_assert_gt(bt_linear_forms_drop(&T), 0, "the suite's short lists had no linear form");
	cr_assert_eq(run_raw_output_on_taken_slot(rc), 1);
	cr_assert_eq(rc[0], 1, "classified on a taken slot");
	cr_assert(rc[1] == 0 && rc[2] == 1);
}

/* A short list's linear form keeps its state on the stack, so an interrupted classification on
 * the same CPU cannot share it: with the RAW_OUTPUT slot taken, the packet is still judged by its
 * policy (udp/9999 untracked allow), nothing is dropped as busy. */
Test(bpf_marks, raw_output_linear_form_needs_no_scratch_slot)
{
	int rc[3];

	cr_assert_eq(run_raw_output_on_taken_slot(rc), 0);
	cr_assert(rc[0] == 0 && rc[1] == 0 && rc[2] == 1);
}
