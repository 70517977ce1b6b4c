/* Neighbour discovery passes unjudged only as the kernel takes it (bpf/parse.h,
 * pal_ipv6_checked): ICMPv6 133-137 in IPv6 with hop limit 255 and no Fragment header. Linux's
 * ndisc drops the others, but a raw ICMPv6 socket on the host still receives them, so passed
 * unjudged they carried any body from any source through a deny-all
 * (tests/e2e/test_nd_lookalike.sh shows it with real sockets).
 * The node: host endpoint h on eth0; a doNotTrack policy denies everything both ways, so only
 * neighbour discovery (and the failsafe ports) may pass. */
#include <criterion/criterion.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1, '2001:db8::1']}\n"
	CT_YAML_NOTRACK_HEAD
	"  types: [Ingress, Egress]\n"
	"  ingress: [{action: Deny}]\n"
	"  egress: [{action: Deny}]\n";

#define HOST6 "2001:db8::1"
#define PEER6 "2001:db8::5"

static struct bpft T;
static struct ctest C;

/* The datapath with the policy of y, failsafe ports in tcp:22, out tcp:179. */
static void setup_with(const char *y)
{
	bt_setup(&T);
	ct_compile_ex(&C, y, "tcp:22", "tcp:179", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(C.rc, 0, "compile");
	bt_apply(&T, &C.ir, 1);
	bt_flush_flows(&T);
}

static void setup(void)
{
	setup_with(yaml);
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_nd, .init = setup, .fini = teardown);

/* The ND message of type to the host (ingress) or from it (egress) with options o. */
static struct bt_result nd(enum pal_trace_dir dir, uint8_t type, const struct bt_pkt_opts *o)
{
	struct pal_packet p = dir == PAL_TRACE_INGRESS ? ct_icmp(PEER6, HOST6, type, 0)
						       : ct_icmp(HOST6, PEER6, type, 0);

	return bt_path(&T, dir, "eth0", NULL, &p, o); /* eth0: the host endpoint's interface */
}

Test(bpf_nd, hop_limit_255_passes_both_ways)
{
	static const struct bt_pkt_opts hop255 = { .hop_limit = 255 };
	static const struct bt_pkt_opts ext = { .hop_limit = 255, .ext6 = 2 };

	for (uint8_t type = 133; type <= 137; type++) {
		cr_assert(nd(PAL_TRACE_INGRESS, type, &hop255).allow, "type %u in dropped", type);
		cr_assert(nd(PAL_TRACE_EGRESS, type, &hop255).allow, "type %u out dropped", type);
		/* extension headers before it: the kernel takes it (RFC 6980 forbids only the
		 * Fragment header) */
		cr_assert(nd(PAL_TRACE_INGRESS, type, &ext).allow, "type %u after dstopts", type);
	}
}

Test(bpf_nd, other_hop_limits_meet_policy)
{
	static const uint8_t hops[] = { 1, 64, 254 };

	for (unsigned i = 0; i < sizeof(hops) / sizeof(hops[0]); i++) {
		struct bt_pkt_opts o = { .hop_limit = hops[i] };
		struct bt_result r;

		for (uint8_t type = 133; type <= 137; type++) {
			r = nd(PAL_TRACE_INGRESS, type, &o);
			cr_assert_not(r.allow, "type %u with hop limit %u passed a deny-all in", type,
				      hops[i]);
			cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
			r = nd(PAL_TRACE_EGRESS, type, &o);
			cr_assert_not(r.allow, "type %u with hop limit %u passed a deny-all out", type,
				      hops[i]);
		}
	}
}

/* A first fragment of it is malformed wherever palisade polices (INPUT would see the datagram
 * reassembled as ND); later fragments then have nothing to follow. */
Test(bpf_nd, fragmented_is_malformed)
{
	static const struct bt_pkt_opts first = { .hop_limit = 255, .frag = 1 };
	static const struct bt_pkt_opts first_after_ext = { .hop_limit = 255, .frag = 1, .ext6 = 1 };
	struct bt_result r;

	for (uint8_t type = 133; type <= 137; type++) {
		r = nd(PAL_TRACE_INGRESS, type, &first);
		cr_assert_not(r.allow, "first fragment of type %u passed a deny-all", type);
		cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
		cr_assert_not(nd(PAL_TRACE_INGRESS, type, &first_after_ext).allow,
			      "first fragment of type %u after dstopts passed a deny-all", type);
		cr_assert_not(nd(PAL_TRACE_EGRESS, type, &first).allow,
			      "first fragment of type %u passed a deny-all out", type);
	}
}

/* Where the host's policy allows ICMPv6, a look-alike with another hop limit is let in by that
 * policy (it is ordinary ICMPv6, not refused as such); a fragment of one stays malformed. */
static const char *yaml_icmp6 =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1, '2001:db8::1']}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: icmp6}\n"
	"spec:\n  order: 10\n  selector: role == 'h'\n"
	"  types: [Ingress, Egress]\n"
	"  ingress: [{action: Allow, protocol: ICMPv6}]\n"
	"  egress: [{action: Allow, protocol: ICMPv6}]\n";

static void setup_icmp6(void)
{
	setup_with(yaml_icmp6);
}

TestSuite(bpf_nd_icmp6_allowed, .init = setup_icmp6, .fini = teardown);

Test(bpf_nd_icmp6_allowed, other_hop_limit_meets_the_allow)
{
	static const struct bt_pkt_opts hop64 = { .hop_limit = 64 };
	static const struct bt_pkt_opts first = { .hop_limit = 255, .frag = 1 };
	struct bt_result r;

	for (uint8_t type = 133; type <= 137; type++) {
		cr_assert(nd(PAL_TRACE_INGRESS, type, &hop64).allow, "type %u hop 64 dropped", type);
		cr_assert(nd(PAL_TRACE_EGRESS, type, &hop64).allow, "type %u hop 64 out dropped", type);
		r = nd(PAL_TRACE_INGRESS, type, &first);
		cr_assert_not(r.allow, "first fragment of type %u passed", type);
		cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
	}
}

/* An atomic fragment (a Fragment header with offset 0 and no more fragments, RFC 6946) is not
 * waiting for reassembly: the kernel delivers it at once, yet marks it fragmented, and its ndisc
 * drops ND that came in one (RFC 6980), while raw ICMPv6 sockets still receive it. */
Test(bpf_nd, atomic_fragment_is_malformed)
{
	static const struct bt_pkt_opts atomic = { .hop_limit = 255, .ext6_frag = true };
	static const struct bt_pkt_opts atomic_after_ext = { .hop_limit = 255, .ext6_frag = true,
							     .ext6 = 1 };
	struct bt_result r;

	for (uint8_t type = 133; type <= 137; type++) {
		r = nd(PAL_TRACE_INGRESS, type, &atomic);
		cr_assert_not(r.allow, "atomic fragment of type %u passed a deny-all", type);
		cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
		cr_assert_not(nd(PAL_TRACE_INGRESS, type, &atomic_after_ext).allow,
			      "atomic fragment of type %u after dstopts passed a deny-all", type);
		cr_assert_not(nd(PAL_TRACE_EGRESS, type, &atomic).allow,
			      "atomic fragment of type %u passed a deny-all out", type);
	}
}

/* ND has code 0 (RFC 4861); Linux's ndisc drops another code, raw ICMPv6 sockets still receive
 * it: a look-alike like another hop limit, it meets policy. */
Test(bpf_nd, nonzero_code_meets_policy)
{
	static const struct bt_pkt_opts hop255 = { .hop_limit = 255 };
	struct bt_result r;

	for (uint8_t type = 133; type <= 137; type++) {
		struct pal_packet in = ct_icmp(PEER6, HOST6, type, 1);
		struct pal_packet out = ct_icmp(HOST6, PEER6, type, 255);

		r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &in, &hop255);
		cr_assert_not(r.allow, "type %u code 1 passed a deny-all in", type);
		cr_assert_eq(r.dropped_at, PAL_HOOK_XDP);
		r = bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &out, &hop255);
		cr_assert_not(r.allow, "type %u code 255 passed a deny-all out", type);
	}
}

/* Forwarded: neighbour discovery is exempt only for the host itself. ND-typed ICMPv6 with hop limit
 * 255 from a client beyond eth0 to a workload behind cali0, and from the workload out, meets the
 * workload's policy (here: the host endpoint's deny-all does not apply to forwarded traffic, the
 * workload's own denies ICMPv6). */
static const char *yaml_fwd =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: w, namespace: ns, labels: {app: w}}\n"
	"spec: {node: node1, interfaceName: cali0, ipNetworks: ['198.18.3.1/32', '2001:db8:3::1/128']}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
	"metadata: {name: w, namespace: ns}\n"
	"spec:\n  selector: app == 'w'\n  types: [Ingress, Egress]\n"
	"  ingress: [{action: Deny, protocol: ICMPv6}, {action: Allow}]\n"
	"  egress: [{action: Deny, protocol: ICMPv6}, {action: Allow}]\n";

static void setup_fwd(void)
{
	setup_with(yaml_fwd);
}

TestSuite(bpf_nd_forwarded, .init = setup_fwd, .fini = teardown);

Test(bpf_nd_forwarded, meets_the_workloads_policy)
{
	static const struct bt_pkt_opts hop255 = { .hop_limit = 255 };

	for (uint8_t type = 133; type <= 137; type++) {
		struct pal_packet in = ct_icmp(PEER6, "2001:db8:3::1", type, 0);
		struct pal_packet out = ct_icmp("2001:db8:3::1", PEER6, type, 0);

		cr_assert_not(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &in, &hop255).allow,
			      "type %u forwarded to the workload passed its deny", type);
		cr_assert_not(bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &out, &hop255).allow,
			      "type %u forwarded from the workload passed its deny", type);
	}
	/* the control: the path is open to what the policy allows */
	struct pal_packet udp = ct_pkt(PAL_PROTO_UDP, PEER6, 40000, "2001:db8:3::1", 53);

	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &udp, NULL).allow,
		  "the control: UDP to the workload passes");
}
