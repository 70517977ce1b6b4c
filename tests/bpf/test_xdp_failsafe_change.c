/* Failsafe lists that change between applies, seen at XDP of a host endpoint whose untracked
 * ingress denies all TCP and UDP: whatever the programs or the agent keep to skip the failsafe
 * check where nothing could match (a bitmap, a flag stored with the interface), a failsafe port
 * must pass from the apply that adds it (and only from the nets it names) and meet the deny from
 * the apply that removes it; the same for the replies of failsafe-out connections (their source
 * port), which an interface with no failsafe-in port must still let through. Two host endpoints
 * (eth0, eth1), checked on both. */
#include <criterion/criterion.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define XDP_DROP_RC 1
#define XDP_PASS_RC 2

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h0, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1, '2001:db8::1']}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h1, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth1, expectedIPs: [198.18.1.1]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: raw}\n"
	"spec:\n  selector: role == 'h'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP}\n  - {action: Deny, protocol: UDP}\n";

static struct bpft T;
static struct ctest C;
static uint32_t gen;

static void setup(void)
{
	bt_setup(&T);
	gen = 0;
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_xdp_failsafe_change, .init = setup, .fini = teardown);

static void apply(const char *fs_in, const char *fs_out)
{
	ct_free(&C);
	ct_compile_ex(&C, yaml, fs_in, fs_out, PAL_EP_TO_HOST_DROP);
	cr_assert_eq(C.rc, 0);
	bt_apply(&T, &C.ir, ++gen);
}

/* XDP's answer on interface `ifc` for proto from src:sport to dst:dport. */
static int xdp(int ifc, uint8_t proto, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport)
{
	struct pal_packet p = ct_pkt(proto, src, sport, dst, dport);
	struct bt_pkt_opts o = { .tcp_flags = BT_TCP_SYN };
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, &o);

	return bt_run_xdp(&T, T.ifindex[ifc], buf, len, NULL);
}

#define IN4(ifc, port, src) xdp(ifc, PAL_PROTO_TCP, src, 40000, ifc ? "198.18.1.1" : "198.18.0.1", port)
#define REPLY4(ifc, sport, src) xdp(ifc, PAL_PROTO_UDP, src, sport, ifc ? "198.18.1.1" : "198.18.0.1", 40000)

Test(bpf_xdp_failsafe_change, ports_added_and_removed_follow_at_xdp)
{
	for (int ifc = BT_ETH0; ifc <= BT_ETH1; ifc++) {
		apply(NULL, NULL);
		cr_expect_eq(IN4(ifc, 22, "198.18.200.1"), XDP_DROP_RC, "if %d: no failsafe: 22 denied", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.200.1"), XDP_DROP_RC, "if %d: no failsafe: :53 denied", ifc);

		apply("tcp:22", "udp:53");
		cr_expect_eq(IN4(ifc, 22, "198.18.200.1"), XDP_PASS_RC, "if %d: failsafe tcp:22 added", ifc);
		cr_expect_eq(IN4(ifc, 23, "198.18.200.1"), XDP_DROP_RC, "if %d: 23 is no failsafe", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.200.1"), XDP_PASS_RC, "if %d: a failsafe-out reply", ifc);

		apply("tcp:198.18.200.0/24:22", "udp:198.18.201.0/24:53");
		cr_expect_eq(IN4(ifc, 22, "198.18.200.1"), XDP_PASS_RC, "if %d: 22 from its net", ifc);
		cr_expect_eq(IN4(ifc, 22, "198.18.100.1"), XDP_DROP_RC, "if %d: 22 from another net", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.201.1"), XDP_PASS_RC, "if %d: :53 from its net", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.200.1"), XDP_DROP_RC, "if %d: :53 from another net", ifc);

		/* failsafe-out only: no failsafe-in port could match, the replies still pass */
		apply("", "udp:53");
		cr_expect_eq(IN4(ifc, 22, "198.18.200.1"), XDP_DROP_RC, "if %d: tcp:22 removed", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.200.1"), XDP_PASS_RC, "if %d: out-only: :53 reply", ifc);

		/* failsafe-in only: the replies meet the deny */
		apply("tcp:22", "");
		cr_expect_eq(IN4(ifc, 22, "198.18.200.1"), XDP_PASS_RC, "if %d: in-only: 22", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.200.1"), XDP_DROP_RC, "if %d: in-only: :53 denied", ifc);
		/* a reply from a failsafe-in port is the host's outbound connection's, not inbound */
		cr_expect_eq(xdp(ifc, PAL_PROTO_TCP, "198.18.200.1", 22, ifc ? "198.18.1.1" : "198.18.0.1",
				 40000), XDP_DROP_RC, "if %d: in-only: a packet from :22 is no reply", ifc);

		apply(NULL, NULL);
		cr_expect_eq(IN4(ifc, 22, "198.18.200.1"), XDP_DROP_RC, "if %d: all removed: 22", ifc);
		cr_expect_eq(REPLY4(ifc, 53, "198.18.200.1"), XDP_DROP_RC, "if %d: all removed: :53", ifc);
	}
	/* IPv6 on eth0 */
	apply("tcp:[2001:db8:200::/48]:22", "udp:53");
	cr_expect_eq(xdp(BT_ETH0, PAL_PROTO_TCP, "2001:db8:200::1", 40000, "2001:db8::1", 22),
		     XDP_PASS_RC, "v6 22 from its net");
	cr_expect_eq(xdp(BT_ETH0, PAL_PROTO_TCP, "2001:db8:100::1", 40000, "2001:db8::1", 22),
		     XDP_DROP_RC, "v6 22 from another net");
	cr_expect_eq(xdp(BT_ETH0, PAL_PROTO_UDP, "2001:db8:100::1", 53, "2001:db8::1", 40000),
		     XDP_PASS_RC, "v6 :53 reply");
}
