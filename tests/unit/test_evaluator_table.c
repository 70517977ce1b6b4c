/* Every row of docs/semantics.md section 7's table, through the reference evaluator,
 * on the node of fixtures/compiler/table (eth0 = HEP ext, eth1 = HEP int, cali1 = pod1). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "test_compiler_util.h"

#define CLIENT "198.18.100.1"
#define MGMT "198.18.200.1"
#define HOST_EXT "198.18.0.1"
#define POD "198.18.2.10"

static struct ctest T;

static void setup(void)
{
	ct_compile_dir(&T, "table", PAL_FAILSAFE_IN_DEFAULT, PAL_FAILSAFE_OUT_DEFAULT,
		       PAL_EP_TO_HOST_DROP);
	cr_assert_eq(T.rc, 0);
}

static void teardown(void)
{
	ct_free(&T);
}

TestSuite(evaluator_table, .init = setup, .fini = teardown);

/* proto/port from src to dst in direction dir on eth0 passes as a failsafe port (returned);
 * the same port on other_proto is not failsafe: eth0's normal policy denies it. */
static struct pal_verdict expect_failsafe_port(enum pal_trace_dir dir, uint8_t proto,
					       const char *src, const char *dst, uint16_t port,
					       uint8_t other_proto)
{
	struct pal_packet p = ct_pkt(proto, src, 40000, dst, port);
	struct pal_verdict v = ct_eval_expect(&T, dir, "eth0", NULL, &p, true, PAL_STAGE_FAILSAFE,
					      NULL, -1);

	p.protocol = other_proto;
	ct_eval_expect(&T, dir, "eth0", NULL, &p, false, PAL_STAGE_NORMAL, NULL, -1);
	return v;
}

/* ---- arrives on HEP A for a local process ---- */

Test(evaluator_table, hep_ingress_failsafe_before_everything)
{
	/* tcp 22 is allowed by no policy, but it is a failsafe port; udp 22 is not: default deny
	 * by the host tier. */
	struct pal_verdict v = expect_failsafe_port(PAL_TRACE_INGRESS, PAL_PROTO_TCP, MGMT,
						    HOST_EXT, 22, PAL_PROTO_UDP);

	cr_assert_null(v.policy);
	cr_assert_not(v.untracked);
}

Test(evaluator_table, hep_ingress_untracked_allow)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 9000);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p,
					      true, PAL_STAGE_UNTRACKED, "raw", 0);

	cr_assert(v.untracked);
	cr_assert_str_eq(v.tier, "default");
	cr_assert_neq(v.rule_id, UINT32_MAX);
	cr_assert_eq(v.steps[0].stage, PAL_STAGE_FAILSAFE);
	cr_assert_eq(v.steps[v.n_steps - 1].stage, PAL_STAGE_UNTRACKED);
}

Test(evaluator_table, hep_ingress_untracked_deny)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 9001);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p,
					      false, PAL_STAGE_UNTRACKED, "raw", 1);

	cr_assert_not(v.untracked);
}

Test(evaluator_table, hep_ingress_prednat_sees_the_nodeport)
{
	/* To the NodePort, DNATed to local port 80: preDNAT allows on 30080. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30080);
	ct_dnat(&p, HOST_EXT, 80);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p,
		       true, PAL_STAGE_PREDNAT, "nodeport", 0);

	/* 30081 is denied by preDNAT although normal policy would allow the backend port 80. */
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30081);
	ct_dnat(&p, HOST_EXT, 80);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p,
		       false, PAL_STAGE_PREDNAT, "nodeport", 1);
}

Test(evaluator_table, hep_ingress_normal_sees_the_backend)
{
	/* 7000 DNATed to 80: preDNAT has no rule for 7000, normal policy sees 80 and allows. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 7000);
	ct_dnat(&p, HOST_EXT, 80);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, true, PAL_STAGE_NORMAL, "host", 0);

	/* 80 DNATed to 30080: normal policy sees 30080, which only preDNAT knows: deny. */
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 7000);
	ct_dnat(&p, HOST_EXT, 30080);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, false, PAL_STAGE_NORMAL, NULL, -1);
}

Test(evaluator_table, hep_ingress_normal_default_deny)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 81);
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p);

	/* The default tier applies (policy host selects ext) and ends with Deny. */
	ct_expect(&v, false, PAL_STAGE_NORMAL, NULL, -1);
	cr_assert_str_eq(v.tier, "default");
	/* eth1: no ingress policy and no profile at all: default deny. */
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, "198.18.1.1", 80);
	v = ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth1", NULL, &p,
			   false, PAL_STAGE_DEFAULT, NULL, -1);
	cr_assert_null(v.tier);
}

Test(evaluator_table, ingress_without_endpoint_is_not_policed)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 81);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth9", NULL, &p,
					      true, PAL_STAGE_DEFAULT, NULL, -1);

	cr_assert(strstr(v.steps[0].note, "not policed"));
}

/* ---- arrives on HEP A, forwarded out of B ---- */

Test(evaluator_table, forward_nodeport_to_workload)
{
	/* preDNAT allows the NodePort; the pod's ingress policy sees the backend (8080). */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30080);
	ct_dnat(&p, POD, 8080);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p,
		       true, PAL_STAGE_WORKLOAD, "web", 0);

	/* From management the preDNAT allow does not help: the pod's policy denies. */
	p = ct_pkt(PAL_PROTO_TCP, MGMT, 40000, HOST_EXT, 30080);
	ct_dnat(&p, POD, 8080);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p,
		       false, PAL_STAGE_WORKLOAD, NULL, -1);

	/* 30081: dropped by preDNAT before anything else. */
	p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 30081);
	ct_dnat(&p, POD, 8080);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p,
		       false, PAL_STAGE_PREDNAT, "nodeport", 1);
}

Test(evaluator_table, forward_with_forward_policy)
{
	/* eth0 has no forward policy (host lacks applyOnForward); eth1 has fwd-int on egress. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, "198.18.1.50", 5000);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &p,
		       true, PAL_STAGE_FORWARD, "fwd-int", 0);

	p.dport = 6000;
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &p,
					      false, PAL_STAGE_FORWARD, NULL, -1);
	cr_assert_str_eq(v.tier, "default");
	/* Port 80 is allowed by `host`, but that is not forward policy. */
	p.dport = 80;
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &p,
		       false, PAL_STAGE_FORWARD, NULL, -1);
}

Test(evaluator_table, forward_without_forward_policy_is_allowed)
{
	/* eth1 -> eth0: fwd-int has no ingress, eth0 has no forward egress policy. */
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, "198.18.1.50", 40000, CLIENT, 7777);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth1", "eth0", &p,
					      true, PAL_STAGE_DEFAULT, NULL, -1);

	cr_assert_not(v.untracked);
}

Test(evaluator_table, forward_untracked_allow_skips_host_forward_policy)
{
	/* 9000 is allowed untracked on eth0; fwd-int on eth1 would deny it. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, "198.18.1.50", 9000);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &p,
					      true, PAL_STAGE_UNTRACKED, "raw", 0);

	cr_assert(v.untracked);
	/* 9001 is denied untracked. */
	p.dport = 9001;
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "eth1", &p,
		       false, PAL_STAGE_UNTRACKED, "raw", 1);
}

Test(evaluator_table, forward_untracked_allow_keeps_workload_policy)
{
	/* Untracked allow on eth0, then the pod's ingress policy still applies (9000 not allowed). */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, POD, 9000);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "eth0", "cali1", &p,
		       false, PAL_STAGE_WORKLOAD, NULL, -1);

}

/* ---- local process out of HEP B ---- */

Test(evaluator_table, local_egress_failsafe_out)
{
	/* udp 53 is an outbound failsafe port; tcp 53 is not in the outbound list. */
	expect_failsafe_port(PAL_TRACE_EGRESS, PAL_PROTO_UDP, HOST_EXT, MGMT, 53, PAL_PROTO_TCP);
}

Test(evaluator_table, local_egress_untracked)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, HOST_EXT, 40000, MGMT, 9002);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p,
					      true, PAL_STAGE_UNTRACKED, "raw", 0);

	cr_assert(v.untracked);
	p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, MGMT, 9003);
	ct_eval_expect(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p,
		       false, PAL_STAGE_UNTRACKED, "raw", 1);
}

Test(evaluator_table, local_egress_normal_default_deny)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, MGMT, 443);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p,
					      true, PAL_STAGE_NORMAL, "host", 0);

	cr_assert_not(v.untracked);
	p.dport = 444;
	ct_eval_expect(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p, false, PAL_STAGE_NORMAL, NULL, -1);
}

/* ---- local workload out of HEP B: forward egress of B only ---- */

Test(evaluator_table, workload_out_of_hep_gets_forward_egress_only)
{
	/* eth0's normal egress (443 only) does not apply: eth0 has no forward egress policy. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, POD, 40000, MGMT, 8888);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_FORWARD, "cali1", "eth0", &p,
					      true, PAL_STAGE_WORKLOAD, "web", 0);
	for (size_t i = 0; i < v.n_steps; i++)
		cr_assert_neq(v.steps[i].stage, PAL_STAGE_NORMAL);

	/* Out of eth1 the forward egress policy decides. */
	p = ct_pkt(PAL_PROTO_TCP, POD, 40000, "198.18.1.50", 5000);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "cali1", "eth1", &p,
		       true, PAL_STAGE_FORWARD, "fwd-int", 0);
	p.dport = 5001;
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "cali1", "eth1", &p,
		       false, PAL_STAGE_FORWARD, NULL, -1);
}

/* ---- host process to a local workload ---- */

Test(evaluator_table, host_to_local_workload_always_allowed)
{
	/* The pod's ingress policy would deny this (port 22 from the host). */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, POD, 22);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_EGRESS, "cali1", NULL, &p,
					      true, PAL_STAGE_DEFAULT, NULL, -1);

	cr_assert(strstr(v.reason, "always allowed"));
}

/* ---- workload to its host ---- */

Test(evaluator_table, workload_to_host_endpoint_to_host_drop)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, POD, 40000, HOST_EXT, 80);
	struct pal_verdict v = ct_eval_expect(&T, PAL_TRACE_INGRESS, "cali1", NULL, &p,
					      false, PAL_STAGE_DEFAULT, NULL, -1);

	cr_assert(strstr(v.reason, "endpoint-to-host"));
	/* The workload's egress policy ran first and allowed. */
	cr_assert_eq(v.steps[0].stage, PAL_STAGE_WORKLOAD);
	cr_assert_eq(v.steps[0].outcome, PAL_ACTION_ALLOW);
}

Test(evaluator_table, workload_to_host_endpoint_to_host_accept)
{
	struct ctest t;

	ct_compile_dir(&t, "table", NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, POD, 40000, HOST_EXT, 80);
	ct_eval_expect(&t, PAL_TRACE_INGRESS, "cali1", NULL, &p,
		       true, PAL_STAGE_WORKLOAD, "web", 0);
	ct_free(&t);
}

/* ---- neighbour discovery ---- */

Test(evaluator_table, neighbour_discovery_never_blocked)
{
	for (int type = 133; type <= 137; type++) {
		struct pal_packet p = ct_icmp("2001:db8::1", "2001:db8::2", (uint8_t)type, 0);
		struct pal_verdict v = ct_eval(&T, PAL_TRACE_INGRESS, "eth1", NULL, &p);

		ct_expect(&v, true, PAL_STAGE_FAILSAFE, NULL, -1);
		v = ct_eval(&T, PAL_TRACE_EGRESS, "eth1", NULL, &p);
		ct_expect(&v, true, PAL_STAGE_FAILSAFE, NULL, -1);
	}
	/* A code other than 0 is no neighbour discovery (Linux drops it; raw sockets would not):
	 * eth1 denies by default. */
	for (int type = 133; type <= 137; type++) {
		struct pal_packet p = ct_icmp("2001:db8::1", "2001:db8::2", (uint8_t)type, 1);

		ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth1", NULL, &p, false, PAL_STAGE_DEFAULT, NULL,
			       -1);
	}
	/* Echo request (128) is not neighbour discovery: eth1 denies by default. */
	struct pal_packet p = ct_icmp("2001:db8::1", "2001:db8::2", 128, 0);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth1", NULL, &p, false, PAL_STAGE_DEFAULT, NULL, -1);
	/* ICMPv4 type 135 is nothing special either. */
	p = ct_icmp("198.18.100.1", "198.18.1.1", 135, 0);
	ct_eval_expect(&T, PAL_TRACE_INGRESS, "eth1", NULL, &p, false, PAL_STAGE_DEFAULT, NULL, -1);
}

Test(evaluator_table, bad_arguments)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 1, HOST_EXT, 2);
	struct pal_packet mixed = ct_pkt(PAL_PROTO_TCP, CLIENT, 1, "2001:db8::1", 2);
	struct pal_verdict v;

	cr_assert_eq(pal_evaluate(&T.ir, PAL_TRACE_FORWARD, "eth0", NULL, &p, &v), -EINVAL);
	cr_assert_eq(pal_evaluate(&T.ir, (enum pal_trace_dir)7, "eth0", NULL, &p, &v), -EINVAL);
	cr_assert_eq(pal_evaluate(&T.ir, PAL_TRACE_INGRESS, "eth0", NULL, &mixed, &v), -EINVAL);
}
