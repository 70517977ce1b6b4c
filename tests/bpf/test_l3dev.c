/* A host endpoint on an L3 device (a tun in TUN mode: no link-layer header, link type
 * ARPHRD_NONE): the programs read PAL_IF_L3 from its pal_ifaces entry and parse from the IP
 * header (tc: protocol from skb->protocol; XDP: the version nibble). Before, they read an
 * Ethernet header there, took the ethertype from the IPv4 source address and let the packet pass
 * as "not IP" (a policy deny that never fired), or, for sources in 8.0.0.0/16 (bytes 08 00 =
 * ETH_P_IP), parsed garbage 14 bytes in and dropped it as malformed.
 *
 * BPF_PROG_TEST_RUN for tc always runs eth_type_trans on the first 14 bytes, so skb->protocol
 * there comes from the IPv4 source address: the tc cases use 8.0.x.x sources, for which it is the
 * right value (ETH_P_IP), exactly the misparse's trigger. XDP cases use any source. */
#include <criterion/criterion.h>
#include <net/if.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <string.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: tunep, labels: {role: tun}}\n"
	"spec: {node: node1, interfaceName: tun0}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: raw}\n"
	"spec:\n  selector: role == 'tun'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [9000]}}\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [9001]}}\n";

static struct bpft T;
static struct ctest C;
static int tun;

static void setup(void)
{
	struct pal_dp_binding b;

	bt_setup(&T); /* a private network namespace */
	cr_assert_eq(system("ip tuntap add dev tun0 mode tun && ip link set tun0 up"), 0,
		     "cannot create tun0");
	tun = (int)if_nametoindex("tun0");
	cr_assert_gt(tun, 0);
	ct_compile_ok(&C, yaml);
	b = (struct pal_dp_binding){ (uint32_t)tun, ct_ep(&C.ir, "tunep") };
	cr_assert_eq(pal_dp_apply(T.dp, &C.ir, &b, 1, 1), 0, "%s", pal_dp_error(T.dp));
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_l3dev, .init = setup, .fini = teardown);

/* The IP packet of pkt, without the Ethernet header bt_build puts in front. */
static size_t ip_only(const struct pal_packet *pkt, uint8_t *buf, size_t cap)
{
	uint8_t frame[512];
	size_t len = bt_build(frame, sizeof(frame), pkt, NULL);

	cr_assert(len > 14 && len - 14 <= cap);
	memcpy(buf, frame + 14, len - 14);
	return len - 14;
}

static uint64_t drops(enum pal_hook hook, enum pal_drop_reason r)
{
	return bt_ifctr(&T, tun, hook).drop[r];
}

Test(bpf_l3dev, flag_set_from_the_link_type)
{
	struct pal_iface v;

	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)tun, &v), 0);
	cr_expect(v.flags & PAL_IF_L3, "tun0's entry lacks PAL_IF_L3 (flags %#x)", v.flags);
	cr_expect(v.flags & PAL_IF_HOST);
}

Test(bpf_l3dev, xdp_parses_from_the_ip_header)
{
	static const struct {
		const char *src;
		uint16_t dport;
		int rc; /* 1 drop, 2 pass */
	} cases[] = {
		{ "198.18.100.1", 9001, 1 }, /* the deny fires (was: "not IP", passed) */
		{ "198.18.100.1", 9000, 2 },
		{ "8.0.1.2", 9001, 1 },
		{ "8.0.1.2", 9000, 2 },      /* was: malformed, dropped */
		{ "134.221.1.2", 9000, 2 },  /* 86 dd = ETH_P_IPV6 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pal_packet p = ct_pkt(PAL_PROTO_TCP, cases[i].src, 40000, "198.18.0.1",
					     cases[i].dport);
		uint8_t buf[512];
		size_t len = ip_only(&p, buf, sizeof(buf));

		cr_expect_eq(bt_run_xdp(&T, tun, buf, len, NULL), cases[i].rc, "%s -> %u",
			     cases[i].src, cases[i].dport);
	}
	cr_expect_eq(drops(PAL_HOOK_XDP, PAL_DROP_BAD_IP), 0, "misparsed as malformed");
	cr_expect_eq(drops(PAL_HOOK_XDP, PAL_DROP_POLICY), 2);
}

Test(bpf_l3dev, tc_parses_from_the_ip_header)
{
	struct pal_packet allow = ct_pkt(PAL_PROTO_TCP, "8.0.1.2", 40000, "198.18.0.1", 9000);
	struct pal_packet deny = ct_pkt(PAL_PROTO_TCP, "8.0.1.2", 40000, "198.18.0.1", 9001);
	uint8_t buf[512];
	size_t len;
	uint32_t mark = 0;

	len = ip_only(&allow, buf, sizeof(buf));
	cr_expect_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, tun, tun, 0, buf, len, &mark), 0,
		     "an allowed 8.0.0.0/16 source was dropped");
	cr_expect(mark & PAL_MARK_UNTRACKED, "untracked allow not seen (mark %#x)", mark);
	len = ip_only(&deny, buf, sizeof(buf));
	cr_expect_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, tun, tun, 0, buf, len, &mark), 2,
		     "the deny did not fire");
	cr_expect_eq(drops(PAL_HOOK_TC_INGRESS, PAL_DROP_BAD_IP), 0, "misparsed as malformed");
	cr_expect_eq(drops(PAL_HOOK_TC_INGRESS, PAL_DROP_POLICY), 1);
}
