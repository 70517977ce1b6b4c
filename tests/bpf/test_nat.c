/* NAT relation through the kernel's conntrack (bpf_skb_ct_lookup): a NodePort DNAT connection is
 * put into this namespace's conntrack table with conntrack(8), then the programs run on its
 * packets. An allowed forwarded flow is entered under both of its tuples (pre- and post-DNAT), so
 * the un-NATed reply is established at the client's interface; a flow known only under its
 * post-DNAT tuple is found from the pre-DNAT packet through conntrack.
 *
 * Source NAT (MASQUERADE in POSTROUTING): forward and workload policy at tc egress judge the
 * client's address from conntrack's original tuple, not the masquerade address the packet
 * leaves with.
 *
 * Suite bpf_nat_linux61 runs the same cases with the kfuncs' options sized for Linux 6.1 (12
 * bytes; this kernel still takes that layout), through the loader's own path; bpf_nat_ct_error
 * with a size no kernel takes: a conntrack error is never read as "no connection". */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define CLIENT "198.18.100.1"
#define HOST_EXT "198.18.0.1"
#define POD "198.18.2.10"
#define NODE_POD_SIDE "198.18.2.1"   /* MASQUERADE towards the pod */
#define NODE_INT_SIDE "198.18.1.1"   /* MASQUERADE towards eth1's network */
#define INT_BACKEND "198.18.1.50"
#define OUTSIDER "198.18.101.1"      /* a client outside pod1's allowlist 198.18.100.0/24 */
#define SNAT_IN_ALLOWLIST "198.18.100.77"

static struct bpft T;
static struct ctest C;

/* A connection in this namespace's conntrack: src:sport -> dst:dport as it arrived, DNATed to
 * rsrc:rsport; with snat (not NULL) also source-NATed to snat:snat_port, through the kernel's own
 * NAT setup (conntrack --src-nat), so the entry carries IPS_SRC_NAT as a MASQUERADE's does. */
static void ct_insert_nat(const char *src, int sport, const char *dst, int dport, const char *rsrc,
			  int rsport, const char *snat, int snat_port)
{
	char cmd[512], nat[64] = "";

	if (snat)
		snprintf(nat, sizeof(nat), "--src-nat %s:%d", snat, snat_port);
	snprintf(cmd, sizeof(cmd),
		 "conntrack -I -p tcp -s %s -d %s --sport %d --dport %d --reply-src %s "
		 "--reply-dst %s --reply-port-src %d --reply-port-dst %d --state ESTABLISHED "
		 "-t 100 -u SEEN_REPLY %s >/dev/null 2>&1",
		 src, dst, sport, dport, rsrc, src, rsport, sport, nat);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void ct_insert(const char *src, int sport, const char *dst, int dport, const char *rsrc,
		      int rsport, const char *snat, int snat_port)
{
	ct_insert_nat(src, sport, dst, dport, rsrc, rsport, strcmp(snat, src) ? snat : NULL,
		      snat_port);
}

static void setup(void)
{
	bt_setup_table(&T, &C);
	/* CLIENT:40000 -> HOST_EXT:30080, DNATed to POD:8080 */
	ct_insert(CLIENT, 40000, HOST_EXT, 30080, POD, 8080, CLIENT, 40000);
}

static void setup_linux61(void)
{
	bt_ct_opts_size = 12;
	setup();
}

static void setup_ct_error(void)
{
	bt_ct_opts_size = 8; /* refused by every kernel: each lookup fails with -EINVAL */
	setup();
}

static void teardown(void)
{
	bt_teardown_table(&T, &C);
}

TestSuite(bpf_nat, .init = setup, .fini = teardown);
TestSuite(bpf_nat_linux61, .init = setup_linux61, .fini = teardown);
TestSuite(bpf_nat_ct_error, .init = setup_ct_error, .fini = teardown);

static struct pal_flow_key key(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct pal_flow_key k;
	struct pal_addr a;

	memset(&k, 0, sizeof(k));
	cr_assert(pal_addr_parse(src, &a));
	memcpy(k.src, a.bytes, 16);
	cr_assert(pal_addr_parse(dst, &a));
	memcpy(k.dst, a.bytes, 16);
	k.sport = sport;
	k.dport = dport;
	k.family = 4;
	k.proto = PAL_PROTO_TCP;
	pal_flow_key_canonical(&k);
	return k;
}

static bool have_flow(struct pal_flow_key k)
{
	struct pal_flow f;

	return bt_flow_get(&T, &k, &f);
}

/* Entries in pal_flows4. */
static int flow_entries(void)
{
	int fd = pal_dp_map_fd(T.dp, "pal_flows4"), n = 0;
	struct pal_flow_key4 k, *prev = NULL, next;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static void allowed_flow_is_entered_under_both_tuples(void)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30080);
	struct pal_packet reply = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 30080, CLIENT, 40000);
	uint8_t buf[256];
	size_t len;
	struct bt_result r;

	ct_dnat(&p, POD, 8080);
	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p, NULL);
	cr_assert(r.allow);
	cr_assert(have_flow(key(CLIENT, 40000, POD, 8080)), "post-DNAT tuple");
	cr_assert(have_flow(key(POD, 8080, CLIENT, 40000)), "post-DNAT reply");
	cr_assert(have_flow(key(CLIENT, 40000, HOST_EXT, 30080)), "pre-DNAT tuple (conntrack)");
	cr_assert(have_flow(key(HOST_EXT, 30080, CLIENT, 40000)), "un-NATed reply (conntrack)");
	cr_assert_eq(flow_entries(), 2, "one entry per tuple of the connection, both directions in it");

	/* the reply, un-NATed by conntrack, leaves towards the client: established */
	len = bt_build(buf, sizeof(buf), &reply, &bt_ack);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_CALI1], 0,
			       buf, len, NULL), 0);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_EGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 1);
	/* and the next packet from the client is established before preDNAT runs */
	len = bt_build(buf, sizeof(buf), &p, &bt_ack);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 0);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 1);
}

static void flow_known_by_its_other_tuple_is_found_through_conntrack(void)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30081);
	struct pal_flow f = { 0 };
	struct pal_flow_key fwd = key(CLIENT, 40000, POD, 8080), rev = key(POD, 8080, CLIENT, 40000);
	uint8_t buf[256];
	size_t len;

	/* dport 30081 is denied by preDNAT: a new packet would drop at tc ingress. The flow is not
	 * this tuple; conntrack has none for it either: dropped. */
	bt_flush_flows(&T);
	len = bt_build(buf, sizeof(buf), &p, NULL);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 2);

	/* the NodePort 30080 connection: known only under its post-DNAT tuples (as the INPUT filter
	 * or another hook would have entered it); the pre-DNAT packet is established through
	 * conntrack, and its own tuple is entered for next time */
	f.last_ns = bt_now_ns(); /* fresh, current generation: a live entry */
	f.state = PAL_FST_TCP_ESTABLISHED;
	f.generation = 1;
	f.flags = PAL_FLOW_ALWAYS;
	f.orig = fwd; /* admitted on the post-DNAT tuple (pal_flow_of_conn) */
	bt_flow_put(&T, &fwd, &f);
	bt_flow_put(&T, &rev, &f);
	p.dport = 30080;
	len = bt_build(buf, sizeof(buf), &p, &bt_ack);
	cr_assert(!have_flow(key(CLIENT, 40000, HOST_EXT, 30080)));
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 0);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 1);
	cr_assert(have_flow(key(CLIENT, 40000, HOST_EXT, 30080)));
}

/* A forwarded packet as it leaves by out (arrived on eth0): run tc egress, return its verdict. */
static int egress_forwarded(int out, const char *src, uint16_t sport, const char *dst,
			    uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, sport, dst, dport);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	return bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[out], T.ifindex[BT_ETH0], 0, buf, len,
			 NULL);
}

/* pod1 allows TCP 8080 from 198.18.100.0/24. The NodePort connection of CLIENT (inside) is
 * masqueraded to NODE_POD_SIDE (outside): judged on CLIENT, allowed. The flow table holds the
 * tuples seen on the wire, not the judged one. */
static void snat_workload_allowlist_sees_the_client(void)
{
	bt_flush_flows(&T);
	ct_insert(CLIENT, 40001, HOST_EXT, 30080, POD, 8080, NODE_POD_SIDE, 61001);
	cr_assert_eq(egress_forwarded(BT_CALI1, NODE_POD_SIDE, 61001, POD, 8080), 0,
		     "the client's address is in pod1's allowlist");
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_TC_EGRESS)
			     .verdict[PAL_VERDICT_ALLOW], 1);
	cr_assert(have_flow(key(NODE_POD_SIDE, 61001, POD, 8080)), "the wire tuple");
	cr_assert(have_flow(key(POD, 8080, NODE_POD_SIDE, 61001)), "its reply");
	cr_assert(have_flow(key(CLIENT, 40001, HOST_EXT, 30080)), "the original tuple");
	cr_assert(!have_flow(key(CLIENT, 40001, POD, 8080)), "never on a wire");
}

/* The reverse mistake: OUTSIDER masqueraded to an address inside the allowlist is denied. */
static void snat_workload_allowlist_denies_an_outsider(void)
{
	struct pal_if_ctr ctr;

	bt_flush_flows(&T);
	ct_insert(OUTSIDER, 40002, HOST_EXT, 30080, POD, 8080, SNAT_IN_ALLOWLIST, 61002);
	cr_assert_eq(egress_forwarded(BT_CALI1, SNAT_IN_ALLOWLIST, 61002, POD, 8080), 2,
		     "OUTSIDER is not in pod1's allowlist");
	ctr = bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_TC_EGRESS);
	cr_assert_eq(ctr.drop[PAL_DROP_TIER_END] + ctr.drop[PAL_DROP_NO_PROFILE], 1,
		     "policy's default deny (tier %llu, profile %llu, internal %llu)",
		     (unsigned long long)ctr.drop[PAL_DROP_TIER_END],
		     (unsigned long long)ctr.drop[PAL_DROP_NO_PROFILE],
		     (unsigned long long)ctr.drop[PAL_DROP_INTERNAL]);
	cr_assert(!have_flow(key(SNAT_IN_ALLOWLIST, 61002, POD, 8080)));
}

/* A policy change re-judges established flows (docs/datapath.md "Flow state"): a masqueraded
 * flow must be judged again on its client, not on the masquerade address its entries carry. The
 * policy is the same in generation 2, so the flow keeps flowing; judged on NODE_POD_SIDE (outside
 * pod1's allowlist) it would be cut. */
static void snat_flow_rejudged_on_the_client(void)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, NODE_POD_SIDE, 61007, POD, 8080);
	uint8_t buf[256];
	size_t len;

	bt_flush_flows(&T);
	ct_insert(CLIENT, 40007, HOST_EXT, 30080, POD, 8080, NODE_POD_SIDE, 61007);
	cr_assert_eq(egress_forwarded(BT_CALI1, NODE_POD_SIDE, 61007, POD, 8080), 0,
		     "the client's address is in pod1's allowlist");
	bt_apply(&T, &C.ir, 2); /* an unrelated change: a new generation of the same policy */
	len = bt_build(buf, sizeof(buf), &p, &bt_ack);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[BT_CALI1], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL),
		     0, "re-judged on the masquerade address instead of the client");
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_TC_EGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 1);
}

/* Only DNAT (no SNAT): the packet's own source is judged, as before. */
static void dnat_only_judges_the_packet_source(void)
{
	bt_flush_flows(&T);
	ct_insert(OUTSIDER, 40003, HOST_EXT, 30080, POD, 8080, OUTSIDER, 40003);
	cr_assert_eq(egress_forwarded(BT_CALI1, OUTSIDER, 40003, POD, 8080), 2);
	ct_insert(CLIENT, 40004, HOST_EXT, 30080, POD, 8080, CLIENT, 40004);
	cr_assert_eq(egress_forwarded(BT_CALI1, CLIENT, 40004, POD, 8080), 0);
}

Test(bpf_nat, allowed_flow_is_entered_under_both_tuples)
{
	allowed_flow_is_entered_under_both_tuples();
}
Test(bpf_nat, flow_known_by_its_other_tuple_is_found_through_conntrack)
{
	flow_known_by_its_other_tuple_is_found_through_conntrack();
}
Test(bpf_nat, snat_workload_allowlist_sees_the_client)
{
	snat_workload_allowlist_sees_the_client();
}
Test(bpf_nat, snat_workload_allowlist_denies_an_outsider)
{
	snat_workload_allowlist_denies_an_outsider();
}
Test(bpf_nat, snat_flow_rejudged_on_the_client)
{
	snat_flow_rejudged_on_the_client();
}
Test(bpf_nat, dnat_only_judges_the_packet_source)
{
	dnat_only_judges_the_packet_source();
}

Test(bpf_nat_linux61, allowed_flow_is_entered_under_both_tuples)
{
	allowed_flow_is_entered_under_both_tuples();
}
Test(bpf_nat_linux61, flow_known_by_its_other_tuple_is_found_through_conntrack)
{
	flow_known_by_its_other_tuple_is_found_through_conntrack();
}
Test(bpf_nat_linux61, snat_workload_allowlist_sees_the_client)
{
	snat_workload_allowlist_sees_the_client();
}
Test(bpf_nat_linux61, snat_workload_allowlist_denies_an_outsider)
{
	snat_workload_allowlist_denies_an_outsider();
}

/* Forward ingress of the arrival host endpoint (applyOnForward) denies the clients' network; the
 * connection to a backend behind eth1 (fwd-int allows TCP 5000 out of eth1) is masqueraded to
 * NODE_INT_SIDE, which the deny does not cover: still denied, at the forward stage. */
Test(bpf_nat_fwd, snat_forward_ingress_deny_of_the_client_fires)
{
	bt_setup(&T);
	ct_compile_dir_yaml(&C, "table",
			    "apiVersion: projectcalico.org/v3\n"
			    "kind: GlobalNetworkPolicy\n"
			    "metadata: {name: fwd-ext}\n"
			    "spec:\n"
			    "  order: 50\n"
			    "  selector: role == \"ext\"\n"
			    "  applyOnForward: true\n"
			    "  types: [Ingress]\n"
			    "  ingress:\n"
			    "  - {action: Deny, source: {nets: [198.18.100.0/24]}}\n"
			    "  - {action: Allow}\n");
	cr_assert_eq(C.rc, 0);
	bt_apply(&T, &C.ir, 1);
	ct_insert(CLIENT, 40005, HOST_EXT, 30500, INT_BACKEND, 5000, NODE_INT_SIDE, 61005);
	cr_assert_eq(egress_forwarded(BT_ETH1, NODE_INT_SIDE, 61005, INT_BACKEND, 5000), 2,
		     "fwd-ext denies the client's network");
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH1], PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
	/* a client outside the denied network, masqueraded the same way: allowed */
	ct_insert(OUTSIDER, 40006, HOST_EXT, 30500, INT_BACKEND, 5000, NODE_INT_SIDE, 61006);
	cr_assert_eq(egress_forwarded(BT_ETH1, NODE_INT_SIDE, 61006, INT_BACKEND, 5000), 0);
	bt_teardown_table(&T, &C);
}

/* A conntrack error (here: an options size the kernel refuses) drops the forwarded packet with
 * internal-error: judging it on the masquerade address instead would be a guess. */
Test(bpf_nat_ct_error, conntrack_error_drops_instead_of_judging_the_wire_source)
{
	bt_flush_flows(&T);
	ct_insert(CLIENT, 40007, HOST_EXT, 30080, POD, 8080, SNAT_IN_ALLOWLIST, 61007);
	cr_assert_eq(egress_forwarded(BT_CALI1, SNAT_IN_ALLOWLIST, 61007, POD, 8080), 2);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_CALI1], PAL_HOOK_TC_EGRESS)
			     .drop[PAL_DROP_INTERNAL], 1);
}

/* A NodePort flow to a host process that a preDNAT policy allowed (nodeport: tcp 30080 on eth0,
 * DNATed to the host's port 80). A policy change re-judges it at tc ingress; the entry keeps the
 * post-DNAT tuple, so preDNAT runs again on conntrack's original tuple: a preDNAT deny of 30080
 * added since cuts the flow (docs/datapath.md "A deny means now"), an unrelated change does not. */
static const char *prednat_deny_yaml =
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: nodeport-closed}\n"
	"spec:\n"
	"  order: 10\n"
	"  selector: role == \"ext\"\n"
	"  preDNAT: true\n"
	"  applyOnForward: true\n"
	"  ingress:\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [30080]}}\n";

/* a policy that selects no endpoint here */
static const char *unrelated_yaml =
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: elsewhere}\n"
	"spec:\n"
	"  selector: role == \"nobody\"\n"
	"  ingress:\n"
	"  - {action: Deny}\n";

static bool prednat_flow_after_change(const char *yaml, int sport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, sport, HOST_EXT, 30080);
	struct bt_result r;

	bt_setup(&T);
	ct_compile_dir_yaml(&C, "table", "");
	cr_assert_eq(C.rc, 0);
	bt_apply(&T, &C.ir, 1);
	ct_insert(CLIENT, sport, HOST_EXT, 30080, HOST_EXT, 80, CLIENT, sport);
	ct_dnat(&p, HOST_EXT, 80);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
	cr_assert(r.allow, "the NodePort SYN (preDNAT allow) dropped at hook %d", r.dropped_at);
	ct_free(&C);
	ct_compile_dir_yaml(&C, "table", yaml);
	cr_assert_eq(C.rc, 0);
	bt_apply(&T, &C.ir, 2);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, &bt_ack);
	bt_teardown_table(&T, &C);
	return r.allow;
}

Test(bpf_nat_prednat, a_prednat_deny_added_later_cuts_the_flow)
{
	cr_assert_not(prednat_flow_after_change(prednat_deny_yaml, 40020),
		      "the flow survived a preDNAT deny of its NodePort");
}

Test(bpf_nat_prednat, an_unrelated_change_keeps_the_flow)
{
	cr_assert(prednat_flow_after_change(unrelated_yaml, 40021),
		  "the flow was cut by a change that does not concern it");
}

/* Review (s5/review-flow): the conntrack fallback takes a packet to travel as the first
 * conntrack tuple found in the table does (pal_flow_find_ct), not as the packet does. The
 * client's SYN is admitted (post-DNAT entry K1 + pre-DNAT entry K2); K2 is evicted; the client's
 * next packet (CLIENT:40000 -> HOST_EXT:30080 at tc ingress, conntrack's ORIGINAL direction)
 * misses K2 and is found through the REPLY tuple's K1: it is taken as a reply, so the client's
 * own ACK moves its unanswered SYN_SENT flow to ESTABLISHED (5 days), and K2 is re-entered with
 * the NodePort as the flow's opener. */
Test(bpf_nat, ct_fallback_keeps_the_packets_direction)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30080);
	struct pal_packet pre = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30080);
	struct pal_flow_key k2 = key(CLIENT, 40000, HOST_EXT, 30080);
	struct pal_flow_key k1 = key(CLIENT, 40000, POD, 8080);
	struct pal_flow_key4 k24;
	struct pal_flow f;
	uint8_t buf[256];
	size_t len;

	ct_dnat(&p, POD, 8080);
	bt_flush_flows(&T);
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p, NULL).allow);
	cr_assert(bt_flow_get(&T, &k1, &f));
	cr_assert_eq(f.state, PAL_FST_TCP_SYN_SENT);
	cr_assert(bt_flow_get(&T, &k2, &f));
	cr_assert(f.flags & PAL_FLOW_REVERSED, "the client (sorts after HOST_EXT) opened it");
	pal_flow_key4_of(&k2, &k24);
	cr_assert_eq(bpf_map_delete_elem(pal_dp_map_fd(T.dp, "pal_flows4"), &k24), 0,
		     "K2 evicted");
	len = bt_build(buf, sizeof(buf), &pre, &bt_ack);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 0);
	cr_assert(bt_flow_get(&T, &k2, &f), "K2 re-entered through conntrack");
	cr_expect(f.flags & PAL_FLOW_REVERSED,
		  "K2 must still say the client opened the flow (flags 0x%x)", f.flags);
	cr_assert(bt_flow_get(&T, &k1, &f));
	cr_expect_eq(f.state, PAL_FST_TCP_SYN_SENT,
		     "the client's own ACK is no reply: still syn_sent (state %u)", f.state);
}

/* A tuple entered through conntrack (pal_flow_adopt_ct) learns its own sequence marks from its
 * next packets, as a flow picked up mid-stream does: the entry it is copied from may not have
 * seen the data (its tuple not on this path: a local DNAT's pre-DNAT tuple; a mark far behind),
 * and a mark copied from it that the data is beyond the RST window of never moves (a packet moves
 * a mark only within that window), so the tuple's real RST would be ignored and the entry kept
 * established for its idle timeout (5 days) after the connection ended. */
Test(bpf_nat, a_tuple_entered_through_conntrack_learns_its_own_marks)
{
	struct pal_packet pre = ct_pkt(PAL_PROTO_TCP, CLIENT, 40003, HOST_EXT, 30080);
	struct pal_flow_key k1 = key(CLIENT, 40003, POD, 8080), k2 = key(CLIENT, 40003, HOST_EXT, 30080);
	struct pal_flow f = { 0 };
	uint32_t seq = 0x40000000u; /* a gigabyte past the marks k1 holds */
	uint8_t buf[256];
	size_t len;

	ct_insert(CLIENT, 40003, HOST_EXT, 30080, POD, 8080, CLIENT, 40003);
	bt_flush_flows(&T);
	f.last_ns = bt_now_ns();
	f.state = PAL_FST_TCP_ESTABLISHED;
	f.generation = 1;
	f.flags = PAL_FLOW_ALWAYS | PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY;
	f.orig = k1; /* admitted on the post-DNAT tuple (pal_flow_of_conn) */
	f.seq_mark[0] = 1000;
	f.seq_mark[1] = 5000;
	bt_flow_put(&T, &k1, &f);
	for (int i = 0; i < 3; i++) {
		struct bt_pkt_opts o = { .tcp_flags = i < 2 ? BT_TCP_ACK : BT_TCP_RST,
					 .tcp_seq = seq + 1448u * i };

		len = bt_build(buf, sizeof(buf), &pre, &o);
		cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0],
				       T.ifindex[BT_ETH0], 0, buf, len, NULL), 0, "packet %d", i);
		cr_assert(bt_flow_get(&T, &k2, &f), "k2 entered through conntrack");
		if (i == 0)
			cr_assert_eq(f.flags & (PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY), 0,
				     "k2 took k1's marks (flags 0x%x)", f.flags);
	}
	cr_assert_eq(f.state, PAL_FST_TCP_CLOSE, "the client's real RST left k2 in state %u", f.state);
}

/* At tc ingress (before this namespace's NAT) a tracked packet carries its own direction's tuple;
 * conntrack is asked for that one only. A packet whose REVERSE is a NATed connection's tuple is
 * not that connection's (conntrack would start a new one for it): here a packet "from the
 * NodePort" HOST_EXT:30080 to CLIENT:40000, arriving from outside, while the connection is known
 * under its post-DNAT key only. Asked by its reverse (as before), it was taken as the
 * connection's reply: established before preDNAT and forward policy, its pre-DNAT key entered. */
Test(bpf_nat, a_packet_whose_reverse_is_a_connections_tuple_is_not_established_at_tc_ingress)
{
	struct pal_packet spoof = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 30080, CLIENT, 40000);
	struct pal_flow_key k1 = key(CLIENT, 40000, POD, 8080); /* both directions (canonical) */
	struct pal_flow f = { .state = PAL_FST_TCP_ESTABLISHED, .generation = 1,
			      .flags = PAL_FLOW_ALWAYS };
	uint8_t buf[256];
	size_t len;

	bt_flush_flows(&T);
	f.last_ns = bt_now_ns();
	bt_flow_put(&T, &k1, &f);
	len = bt_build(buf, sizeof(buf), &spoof, &bt_ack);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 0, "preDNAT has no verdict for it: it passes on");
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 0,
		     "taken as the NodePort connection's reply");
	cr_assert(!have_flow(key(CLIENT, 40000, HOST_EXT, 30080)), "its key entered as the flow's");
}

/* tc egress asks conntrack once per packet and keeps the answer for that packet's run only
 * (flow.h pal_flow_ct_view): a later packet with the same tuple asks again. The first SYN leaves
 * with SNAT_IN_ALLOWLIST:61009 and no conntrack entry: judged on that source (in pod1's
 * allowlist). Then OUTSIDER's connection, masqueraded to that very tuple, appears; a SYN of it
 * must be judged on OUTSIDER. Both runs on one CPU: the answer is kept per CPU. */
Test(bpf_nat, the_source_before_snat_is_asked_for_every_packet)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	bt_flush_flows(&T);
	cr_assert_eq(egress_forwarded(BT_CALI1, SNAT_IN_ALLOWLIST, 61009, POD, 8080), 0,
		     "no conntrack entry: judged on its own source, in the allowlist");
	ct_insert(OUTSIDER, 40009, HOST_EXT, 30080, POD, 8080, SNAT_IN_ALLOWLIST, 61009);
	cr_assert_eq(egress_forwarded(BT_CALI1, SNAT_IN_ALLOWLIST, 61009, POD, 8080), 2,
		     "judged on the earlier packet's conntrack answer, not on OUTSIDER");
}

/* The NodePort's backend changes under a live flow (s15 adversary round): kube-proxy replaced the
 * DNAT rule and the connection's conntrack entry went (kube-proxy flushes a service's UDP entries
 * when its endpoints change; TCP here, the fixture's NodePort policy being TCP: the same path),
 * so the client's next packet makes a new conntrack connection with the same original tuple (the
 * NodePort) and a new backend (the pod's port 9090, which its policy does not allow the client).
 * Its packet at the backend's interface misses the table; conntrack's original tuple is the old
 * flow's NodePort entry. That entry vouches for the connection it was admitted with, not for a
 * new one to another backend: the packet must meet the backend's policy. */
static void ct_delete(int sport)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "conntrack -D -p tcp -s %s --sport %d >/dev/null 2>&1", CLIENT,
		 sport);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(bpf_nat, a_nodeport_flow_vouches_for_no_new_backend)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40100, HOST_EXT, 30080);
	struct pal_packet q = ct_pkt(PAL_PROTO_TCP, CLIENT, 40101, POD, 9090);
	uint8_t buf[256];
	size_t len;

	bt_flush_flows(&T);
	/* control: the client to the pod's 9090, mid-stream, a flow of its own: denied */
	len = bt_build(buf, sizeof(buf), &q, &bt_ack);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[BT_CALI1], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 2, "the pod's policy must deny tcp 9090 from the client");
	/* the flow through the NodePort to the pod's 8080: admitted, entered under both tuples */
	ct_insert(CLIENT, 40100, HOST_EXT, 30080, POD, 8080, CLIENT, 40100);
	ct_dnat(&p, POD, 8080);
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p, NULL).allow);
	cr_assert(have_flow(key(CLIENT, 40100, HOST_EXT, 30080)), "the NodePort tuple's entry");
	/* the backend changes: the old connection goes, the next packet's is DNATed to 9090 */
	ct_delete(40100);
	ct_insert(CLIENT, 40100, HOST_EXT, 30080, POD, 9090, CLIENT, 40100);
	q.sport = 40100;
	len = bt_build(buf, sizeof(buf), &q, &bt_ack);
	cr_expect_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, T.ifindex[BT_CALI1], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 2,
		     "the old NodePort flow let a packet reach a backend port the policy denies");
}
