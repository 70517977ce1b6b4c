/* NAT relation through the kernel's conntrack (bpf_skb_ct_lookup): a NodePort DNAT connection is
 * put into this namespace's conntrack table with conntrack(8), then the programs run on its
 * packets. An allowed forwarded flow is entered under both of its tuples (pre- and post-DNAT), so
 * the un-NATed reply is established at the client's interface; a flow known only under its
 * post-DNAT tuple is found from the pre-DNAT packet through conntrack. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define CLIENT "198.18.100.1"
#define HOST_EXT "198.18.0.1"
#define POD "198.18.2.10"

static struct bpft T;
static struct ctest C;

static void setup(void)
{
	bt_setup_table(&T, &C);
	/* CLIENT:40000 -> HOST_EXT:30080, DNATed to POD:8080 */
	cr_assert_eq(system("conntrack -I -p tcp -s " CLIENT " -d " HOST_EXT " --sport 40000 "
			    "--dport 30080 --reply-src " POD " --reply-dst " CLIENT
			    " --reply-port-src 8080 --reply-port-dst 40000 --state ESTABLISHED "
			    "-t 100 -u SEEN_REPLY >/dev/null 2>&1"), 0, "conntrack -I");
}

static void teardown(void)
{
	bt_teardown_table(&T, &C);
}

TestSuite(bpf_nat, .init = setup, .fini = teardown);

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
	return k;
}

static bool have_flow(struct pal_flow_key k)
{
	struct pal_flow f;

	return bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_flows"), &k, &f) == 0;
}

Test(bpf_nat, allowed_flow_is_entered_under_both_tuples)
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

Test(bpf_nat, flow_known_by_its_other_tuple_is_found_through_conntrack)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30081);
	struct pal_flow f = { 0 };
	struct pal_flow_key fwd = key(CLIENT, 40000, POD, 8080), rev = key(POD, 8080, CLIENT, 40000);
	uint8_t buf[256];
	size_t len;
	int fd = pal_dp_map_fd(T.dp, "pal_flows");

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
	cr_assert_eq(bpf_map_update_elem(fd, &fwd, &f, 0), 0);
	cr_assert_eq(bpf_map_update_elem(fd, &rev, &f, 0), 0);
	p.dport = 30080;
	len = bt_build(buf, sizeof(buf), &p, &bt_ack);
	cr_assert(!have_flow(key(CLIENT, 40000, HOST_EXT, 30080)));
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], T.ifindex[BT_ETH0], 0,
			       buf, len, NULL), 0);
	cr_assert_eq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS)
			     .verdict[PAL_VERDICT_ESTABLISHED], 1);
	cr_assert(have_flow(key(CLIENT, 40000, HOST_EXT, 30080)));
}
