/* The reference evaluator's failsafe replies (issue 7, defect 8) and neighbour discovery by
 * family (defect 12): a reply of a failsafe connection skips untracked policy and nothing else;
 * ICMPv6 types in IPv4 (protocol 58) are no neighbour discovery. */
#include <criterion/criterion.h>
#include <string.h>
#include "test_compiler_util.h"

static const char *yaml =
	CT_YAML_HEP_H CT_YAML_NOTRACK_HEAD
	"  types: [Ingress, Egress]\n  ingress: [{action: Deny}]\n  egress: [{action: Deny}]\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: web}\n"
	"spec:\n  order: 10\n  selector: role == 'h'\n  types: [Ingress, Egress]\n"
	"  ingress: [{action: Allow, protocol: TCP, destination: {ports: [40000]}}]\n"
	"  egress: [{action: Allow, protocol: TCP, destination: {ports: [40000]}}]\n";

static struct ctest T;

static void setup(void)
{
	/* failsafe-in tcp:22 from 198.18.9.0/24 only; failsafe-out tcp:179 to anywhere */
	ct_compile_ex(&T, yaml, "tcp:198.18.9.0/24:22", "tcp:179", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(T.rc, 0);
}

static void teardown(void)
{
	ct_free(&T);
}

TestSuite(evaluator_failsafe_reply, .init = setup, .fini = teardown);

static bool has_step(const struct pal_verdict *v, const char *needle)
{
	for (size_t i = 0; i < v->n_steps; i++)
		if (strstr(v->steps[i].note, needle))
			return true;
	return false;
}

/* The answer of the node's tcp/179 connection: untracked ingress does not apply, the normal
 * policy (tcp/40000 allowed) decides. Source port 180: the untracked deny. */
Test(evaluator_failsafe_reply, failsafe_out_reply_skips_untracked_ingress)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.5.5", 179, "198.18.0.1", 40000);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p,
					      true, PAL_STAGE_NORMAL, "web", 0);

	cr_assert(has_step(&v, "reply of failsafe-out"), "%s", v.reason);
	p.sport = 180;
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p,
		       false, PAL_STAGE_UNTRACKED, "notrack", 0);
}

/* sshd's answers: source port 22 to a peer inside failsafe-in's net skips untracked egress; to a
 * peer outside it, it does not. */
Test(evaluator_failsafe_reply, failsafe_in_reply_skips_untracked_egress_within_its_net)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.0.1", 22, "198.18.9.7", 40000);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p,
					      true, PAL_STAGE_NORMAL, "web", 0);

	cr_assert(has_step(&v, "reply of failsafe-in"), "%s", v.reason);
	p.dst = ct_pkt(PAL_PROTO_TCP, "198.18.0.1", 1, "198.18.10.7", 1).dst;
	ct_eval_expect(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p,
		       false, PAL_STAGE_UNTRACKED, "notrack", 0);
}

/* Only untracked policy is skipped: a "reply" to a port the normal policy denies is denied. */
Test(evaluator_failsafe_reply, a_failsafe_source_port_is_no_pass_past_tracked_policy)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.5.5", 179, "198.18.0.1", 9999);
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p);

	cr_assert_not(v.allow);
	cr_assert_eq(v.stage, PAL_STAGE_NORMAL);
}

/* Forwarded traffic: failsafe replies protect the host only. */
Test(evaluator_failsafe_reply, not_on_forwarded_traffic)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.5.5", 179, "198.18.7.7", 40000);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &p,
		       false, PAL_STAGE_UNTRACKED, "notrack", 0);
}

/* ICMPv6 neighbour solicitation in IPv6 is never blocked; the same type in IPv4 protocol 58 is a
 * packet like any other (the untracked deny). */
Test(evaluator_failsafe_reply, neighbour_discovery_is_ipv6_only)
{
	struct pal_packet v4 = ct_pkt(PAL_PROTO_ICMPV6, "198.18.5.5", 0, "198.18.0.1", 0);
	struct pal_packet v6 = ct_icmp("2001:db8::5", "2001:db8::1", 135, 0);

	v4.icmp_type = 135;
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &v4,
		       false, PAL_STAGE_UNTRACKED, "notrack", 0);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &v6,
		       true, PAL_STAGE_FAILSAFE, NULL, -1);
}
