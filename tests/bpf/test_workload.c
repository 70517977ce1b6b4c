/* Workload defaults and profiles through the programs: a pod whose namespace profile allows
 * everything, a pod with no policy and no profile (default deny, counted as no-profile), a
 * policy in front of a profile, workload to workload, and endpoint-to-host accept. */
#include <criterion/criterion.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: a, namespace: open, labels: {app: a}}\n"
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali0, ipNetworks: [198.18.3.1/32],"
	" profiles: [kns.open]}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: b, namespace: open, labels: {app: b}}\n"
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali1, ipNetworks: [198.18.3.2/32]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
	"metadata: {name: only-udp, namespace: open}\n"
	"spec:\n  selector: app == 'a'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [23]}}\n"
	"  - {action: Pass, protocol: TCP, destination: {ports: [24]}}\n";

BT_YAML_SUITE(bpf_workload, yaml);

static void check(enum pal_trace_dir dir, const char *in, const char *out,
		  const struct pal_packet *p, bool allow)
{
	bt_expect_agree(&T, &C, dir, in, out, p, allow);
}

Test(bpf_workload, defaults_and_profiles)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.3.2", 40000, "198.18.3.1", 80);
	int cali0 = T.ifindex[BT_CALI0], cali1 = T.ifindex[BT_CALI1];

	/* b -> a: b has no policy and no profile: its egress default-denies */
	check(PAL_TRACE_FORWARD, "cali1", "cali0", &p, false);
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_NO_PROFILE], 1);
	/* a -> b: a's egress falls to its profile (allow); b's ingress default-denies */
	p = ct_pkt(PAL_PROTO_TCP, "198.18.3.1", 40000, "198.18.3.2", 80);
	check(PAL_TRACE_FORWARD, "cali0", "cali1", &p, false);
	cr_assert_eq(bt_ifctr(&T, cali1, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_NO_PROFILE], 1);
	/* host -> a: always allowed; a -> host: profile allows egress, endpoint-to-host accept */
	p = ct_pkt(PAL_PROTO_TCP, "198.18.0.1", 40000, "198.18.3.1", 23);
	check(PAL_TRACE_EGRESS, "cali0", NULL, &p, true);
	p = ct_pkt(PAL_PROTO_TCP, "198.18.3.1", 40000, "198.18.0.1", 80);
	check(PAL_TRACE_INGRESS, "cali0", NULL, &p, true);
	/* into a from outside (no host endpoint on eth0): a's policy, then its profile */
	p = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 40000, "198.18.3.1", 23);
	check(PAL_TRACE_FORWARD, "eth0", "cali0", &p, false);
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
	p.dport = 24; /* Pass: the default tier is skipped, the profile allows */
	check(PAL_TRACE_FORWARD, "eth0", "cali0", &p, true);
	p.dport = 25; /* the default tier applies and ends with deny */
	check(PAL_TRACE_FORWARD, "eth0", "cali0", &p, false);
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_TIER_END], 1);
}
