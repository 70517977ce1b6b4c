/* Actions (Allow, Deny, Log, Pass), tier end actions and profiles, through the evaluator. The
 * packets go from an unpoliced interface (ext0) to workload pod1 (cali1): its ingress policy. */
#include <criterion/criterion.h>
#include <string.h>
#include "test_compiler_util.h"

#define NS "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {env: prod}}\n---\n"
#define WEP(profiles)                                                                              \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"                              \
	"metadata: {name: pod1, namespace: prod, labels: {app: web}}\n"                           \
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali1, ipNetworks: "               \
	"[198.18.2.10/32], profiles: " profiles "}\n---\n"
#define TIER(name, spec) \
	"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: " name "}\nspec: " spec "\n---\n"
#define GNP(name, extra, ingress)                                                                  \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " name     \
	"}\nspec:\n  selector: app == \"web\"\n" extra "  ingress: " ingress "\n---\n"
#define PROFILE(name, ingress) \
	"apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: " name "}\n" \
	"spec:\n  ingress: " ingress "\n---\n"

static struct pal_verdict to_pod(const struct ctest *t, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 40000, "198.18.2.10", dport);

	return ct_eval(t, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
}

/* to_pod(t, dport), and ct_expect of its verdict. */
static struct pal_verdict expect_to_pod(const struct ctest *t, uint16_t dport, bool allow,
					enum pal_stage stage, const char *policy, int rule)
{
	struct pal_verdict v = to_pod(t, dport);

	cr_log_info("tcp to pod1:%u", dport);
	ct_expect(&v, allow, stage, policy, rule);
	return v;
}

Test(evaluator_actions, allow_deny_first_match_wins)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[]") GNP("p", "", "[{action: Deny, protocol: TCP, destination: "
					  "{ports: [22]}}, {action: Allow}]"));
	struct pal_verdict v = expect_to_pod(&t, 22, false, PAL_STAGE_WORKLOAD, "p", 0);
	cr_assert_eq(v.action, PAL_ACTION_DENY);
	v = expect_to_pod(&t, 80, true, PAL_STAGE_WORKLOAD, "p", 1);
	cr_assert_str_eq(v.tier, "default");
	ct_free(&t);
}

Test(evaluator_actions, log_records_and_continues)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[]") GNP("p", "", "[{action: Log}, {action: Log, protocol: UDP}, "
					  "{action: Allow}]"));
	struct pal_verdict v = expect_to_pod(&t, 80, true, PAL_STAGE_WORKLOAD, "p", 2);
	/* Only the matching Log rule is recorded. */
	const struct pal_ir_policy *pol = &ct_ep(&t.ir, "pod1")->normal[0].tiers[0].policies[0];
	cr_assert_eq(v.n_logged, 1);
	cr_assert_eq(v.logged_rule_ids[0], pol->rules[0].id);
	cr_assert_eq(v.rule_id, pol->rules[2].id);
	ct_free(&t);
}

Test(evaluator_actions, pass_skips_rest_of_tier)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[]") TIER("sec", "{order: 1}")
		       GNP("sec.a", "  tier: sec\n  order: 1\n",
			   "[{action: Pass, protocol: TCP, destination: {ports: [80]}}]")
		       GNP("sec.b", "  tier: sec\n  order: 2\n", "[{action: Deny}]")
		       GNP("app", "", "[{action: Allow, protocol: TCP, destination: {ports: [80]}}]"));
	/* 80: Pass in sec.a skips sec.b's Deny, the default tier allows. */
	expect_to_pod(&t, 80, true, PAL_STAGE_WORKLOAD, "app", 0);
	/* 81: sec.b denies. */
	struct pal_verdict v = expect_to_pod(&t, 81, false, PAL_STAGE_WORKLOAD, "sec.b", 0);
	cr_assert_str_eq(v.tier, "sec");
	ct_free(&t);
}

Test(evaluator_actions, tier_default_action_deny_and_pass)
{
	struct ctest t;

	/* Tier deny-end has no matching rule for 81: it ends with Deny. Tier pass-end passes. */
	ct_compile(&t, NS WEP("[kns.prod]") TIER("deny-end", "{order: 1}")
		       TIER("pass-end", "{order: 2, defaultAction: Pass}")
		       GNP("deny-end.a", "  tier: deny-end\n",
			   "[{action: Pass, protocol: TCP, destination: {ports: [80, 82]}}]")
		       GNP("pass-end.b", "  tier: pass-end\n",
			   "[{action: Deny, protocol: TCP, destination: {ports: [82]}}]"));
	struct pal_verdict v = expect_to_pod(&t, 81, false, PAL_STAGE_WORKLOAD, NULL, -1);
	cr_assert_str_eq(v.tier, "deny-end");
	cr_assert_null(v.policy);
	cr_assert_eq(v.rule_id, UINT32_MAX);
	/* 80: passes deny-end, pass-end ends with Pass, no tier left: profiles (kns.prod allows). */
	v = expect_to_pod(&t, 80, true, PAL_STAGE_PROFILE, "kns.prod", 0);
	cr_assert_null(v.tier);
	/* 82: denied in pass-end. */
	expect_to_pod(&t, 82, false, PAL_STAGE_WORKLOAD, "pass-end.b", 0);
	ct_free(&t);
}

/* The Kubernetes admin tiers exist without a Tier resource and end with Pass, as Calico creates
 * them: kube-admin (order 1000) decides only what its rules match; baselineadminnetworkpolicy
 * (order 10,000,000) comes after default. */
Test(evaluator_actions, builtin_admin_tiers_end_with_pass)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[kns.prod]")
		       GNP("kube-admin.no-telnet", "  tier: kube-admin\n",
			   "[{action: Deny, protocol: TCP, destination: {ports: [23]}}]")
		       GNP("all-pass", "", "[{action: Pass}]")
		       GNP("baselineadminnetworkpolicy.no-81", "  tier: baselineadminnetworkpolicy\n",
			   "[{action: Deny, protocol: TCP, destination: {ports: [81]}}]"));
	struct pal_verdict v = expect_to_pod(&t, 23, false, PAL_STAGE_WORKLOAD,
					     "kube-admin.no-telnet", 0);
	cr_assert_str_eq(v.tier, "kube-admin");
	/* default passes; the baseline tier denies 81 ... */
	v = expect_to_pod(&t, 81, false, PAL_STAGE_WORKLOAD, "baselineadminnetworkpolicy.no-81", 0);
	cr_assert_str_eq(v.tier, "baselineadminnetworkpolicy");
	/* ... and passes the rest at its end: the profile decides. */
	expect_to_pod(&t, 80, true, PAL_STAGE_PROFILE, "kns.prod", 0);
	ct_free(&t);
}

/* A tier applies to an endpoint and direction only through a policy that selects the endpoint
 * and has the direction in types (Calico's "each tier that contains a policy that applies to the
 * endpoint"): a tier whose policies select other endpoints, or this one only for egress, is
 * skipped, not an end-of-tier Deny. */
Test(evaluator_actions, tier_without_policy_for_the_endpoint_is_skipped)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[kns.prod]") TIER("other", "{order: 1}")
		       TIER("egress-only", "{order: 2}")
		       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		       "metadata: {name: other.db}\nspec:\n  tier: other\n  selector: app == 'db'\n"
		       "  ingress: [{action: Deny}]\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		       "metadata: {name: egress-only.out}\nspec:\n  tier: egress-only\n"
		       "  selector: app == 'web'\n  egress: [{action: Deny}]\n---\n");
	cr_assert_eq(ct_ep(&t.ir, "pod1")->normal[PAL_DIR_INGRESS].n_tiers, 0);
	expect_to_pod(&t, 80, true, PAL_STAGE_PROFILE, "kns.prod", 0);
	ct_free(&t);
}

/* A Pass rule in the last tier that applies goes on to the endpoint's profiles (Calico's Pass:
 * "if there are no more tiers, the profiles are evaluated"), also from the default tier. */
Test(evaluator_actions, pass_in_the_last_tier_reaches_the_profiles)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[only80]")
		       PROFILE("only80", "[{action: Allow, protocol: TCP, destination: {ports: [80]}}]")
		       GNP("p", "", "[{action: Pass, protocol: TCP, destination: {ports: [80, 81]}}]"));
	expect_to_pod(&t, 80, true, PAL_STAGE_PROFILE, "only80", 0);
	/* 81: passed to the profile, which says nothing: default deny. */
	expect_to_pod(&t, 81, false, PAL_STAGE_DEFAULT, NULL, -1);
	/* 82: no rule acted in the default tier: its end Deny, before the profile. */
	struct pal_verdict v = expect_to_pod(&t, 82, false, PAL_STAGE_WORKLOAD, NULL, -1);
	cr_assert_str_eq(v.tier, "default");
	ct_free(&t);
}

Test(evaluator_actions, default_tier_deny_hides_profiles)
{
	struct ctest t;

	/* A policy in the default tier selects the pod: its end-of-tier Deny comes before profiles. */
	ct_compile(&t, NS WEP("[projectcalico-default-allow]")
		       GNP("p", "", "[{action: Allow, protocol: TCP, destination: {ports: [80]}}]"));
	expect_to_pod(&t, 81, false, PAL_STAGE_WORKLOAD, NULL, -1);
	ct_free(&t);
}

Test(evaluator_actions, profiles_in_order)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[first, second, kns.prod]")
		       PROFILE("first", "[{action: Log}, {action: Pass, protocol: TCP, "
					"destination: {ports: [80]}}, {action: Deny, protocol: TCP, "
					"destination: {ports: [22]}}, {action: Allow, protocol: TCP, "
					"destination: {ports: [80]}}]")
		       PROFILE("second", "[{action: Deny, protocol: TCP, destination: {ports: [80]}}]"));
	/* 22: first denies (after logging). */
	struct pal_verdict v = expect_to_pod(&t, 22, false, PAL_STAGE_PROFILE, "first", 2);
	cr_assert_eq(v.n_logged, 1);
	/* 80: first passes (its Allow for 80 is skipped), second denies. */
	expect_to_pod(&t, 80, false, PAL_STAGE_PROFILE, "second", 0);
	/* 443: first and second say nothing, kns.prod allows. */
	expect_to_pod(&t, 443, true, PAL_STAGE_PROFILE, "kns.prod", 0);
	ct_free(&t);
}

/* A profile's egress rules judge what the endpoint sends, its ingress rules what it receives. */
Test(evaluator_actions, profile_egress_rules)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[out53]")
		       "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: out53}\n"
		       "spec:\n  egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]\n"
		       "  ingress: [{action: Deny}]\n---\n");
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, "198.18.2.10", 40000, "198.18.100.1", 53);
	ct_eval_expect(&t, PAL_TRACE_FORWARD, "cali1", "ext0", &p, true, PAL_STAGE_PROFILE, "out53",
		       0);
	p = ct_pkt(PAL_PROTO_UDP, "198.18.2.10", 40000, "198.18.100.1", 54);
	ct_eval_expect(&t, PAL_TRACE_FORWARD, "cali1", "ext0", &p, false, PAL_STAGE_DEFAULT, NULL,
		       -1);
	expect_to_pod(&t, 53, false, PAL_STAGE_PROFILE, "out53", 0);
	ct_free(&t);
}

Test(evaluator_actions, no_profile_decides_means_deny)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[only80]")
		       PROFILE("only80", "[{action: Allow, protocol: TCP, destination: {ports: [80]}}]"));
	expect_to_pod(&t, 80, true, PAL_STAGE_PROFILE, "only80", 0);
	expect_to_pod(&t, 81, false, PAL_STAGE_DEFAULT, NULL, -1);
	ct_free(&t);

	/* No policy and no profile at all. */
	ct_compile(&t, NS WEP("[]"));
	expect_to_pod(&t, 80, false, PAL_STAGE_DEFAULT, NULL, -1);
	ct_free(&t);
}

Test(evaluator_actions, builtin_profiles)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[projectcalico-default-allow]"));
	expect_to_pod(&t, 1234, true, PAL_STAGE_PROFILE, "projectcalico-default-allow", 0);
	/* Both directions. */
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, "198.18.2.10", 1, "198.18.100.1", 53);
	ct_eval_expect(&t, PAL_TRACE_FORWARD, "cali1", "ext0", &p,
		       true, PAL_STAGE_PROFILE, "projectcalico-default-allow", 0);
	ct_free(&t);

	ct_compile(&t, NS WEP("[kns.prod]"));
	expect_to_pod(&t, 1234, true, PAL_STAGE_PROFILE, "kns.prod", 0);
	ct_free(&t);
}

/* A profile that does not exist is a warning and denies where it stands, both ways, as felix's
 * stand-in for a missing profile (DummyDropRules): the profiles after it are not reached (before,
 * it was skipped and kns.prod allowed). Every endpoint naming it is warned about. */
Test(evaluator_actions, unknown_profile_is_a_warning_and_denies)
{
	struct ctest t;

	ct_compile_ok(&t, NS WEP("[not-yet, kns.prod]"));
	cr_assert(ct_has_diag(&t.d, PAL_SEV_WARNING, "\"not-yet\"", "spec.profiles[0]"));
	cr_assert_eq(ct_ep(&t.ir, "pod1")->n_profiles, 2);
	expect_to_pod(&t, 80, false, PAL_STAGE_PROFILE, "not-yet", 0);
	ct_free(&t);

	/* kns.<ns> only exists for a Namespace resource. */
	ct_compile(&t, WEP("[kns.prod]"));
	cr_assert(ct_has_diag(&t.d, PAL_SEV_WARNING, "\"kns.prod\"", NULL));
	expect_to_pod(&t, 80, false, PAL_STAGE_PROFILE, "kns.prod", 0);
	ct_free(&t);
}

Test(evaluator_actions, profile_labels_to_apply_feed_selectors)
{
	struct ctest t;

	/* The profile gives the pod tier=front; a policy selecting tier == "front" applies. Own
	 * labels win over the profile's (app stays web). */
	ct_compile(&t, NS WEP("[labels]")
		       "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: labels}\n"
		       "spec:\n  labelsToApply: {tier: front, app: other}\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		       "metadata: {name: front}\nspec:\n"
		       "  selector: tier == \"front\" && app == \"web\"\n"
		       "  ingress: [{action: Deny}]\n");
	expect_to_pod(&t, 80, false, PAL_STAGE_WORKLOAD, "front", 0);
	ct_free(&t);
}

/* A host endpoint inherits its profiles' labelsToApply as a workload does (felix's label
 * inheritance works on any endpoint's profile ids): its own labels win, then the first listed
 * profile's. A policy selects it by them, and a rule selector finds its expectedIPs by them. */
Test(evaluator_actions, host_endpoint_inherits_profile_labels)
{
	struct ctest t;

	ct_compile(&t, NS WEP("[]")
		       "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		       "metadata: {name: eth0, labels: {role: ext}}\n"
		       "spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1], "
		       "profiles: [edge, late]}\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: edge}\n"
		       "spec:\n  labelsToApply: {zone: dmz, role: other}\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: late}\n"
		       "spec:\n  labelsToApply: {zone: core, extra: x}\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		       "metadata: {name: dmz}\nspec:\n"
		       "  selector: zone == 'dmz' && role == 'ext' && extra == 'x'\n"
		       "  ingress: [{action: Deny}]\n---\n"
		       GNP("p", "", "[{action: Allow, source: {selector: zone == 'dmz'}}]"));
	ct_expect_tierlist(&ct_ep(&t.ir, "eth0")->normal[PAL_DIR_INGRESS], "default/dmz");
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.0.1", 40000, "198.18.2.10", 80);
	ct_eval_expect(&t, PAL_TRACE_FORWARD, "ext0", "cali1", &p, true, PAL_STAGE_WORKLOAD, "p", 0);
	expect_to_pod(&t, 80, false, PAL_STAGE_WORKLOAD, NULL, -1);
	ct_free(&t);
}

Test(evaluator_actions, host_endpoint_profiles_normal_not_forward)
{
	struct ctest t;

	/* eth0's only policy passes everything; its profile allows everything. */
	ct_compile(&t, "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		       "metadata: {name: eth0, labels: {role: ext}}\n"
		       "spec: {node: node1, interfaceName: eth0, profiles: "
		       "[projectcalico-default-allow]}\n---\n"
		       TIER("sec", "{order: 1}")
		       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		       "metadata: {name: sec.pass}\nspec:\n  tier: sec\n  selector: role == 'ext'\n"
		       "  applyOnForward: true\n  ingress: [{action: Pass}]\n");
	/* Local traffic: the tier passes, the profile allows. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 1, "198.18.0.1", 80);
	ct_eval_expect(&t, PAL_TRACE_INGRESS, "eth0", NULL, &p,
		       true, PAL_STAGE_PROFILE, "projectcalico-default-allow", 0);
	/* Forwarded: forward policy applies, every tier passes, no profiles there: deny. */
	p = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 1, "198.18.9.9", 80);
	ct_eval_expect(&t, PAL_TRACE_FORWARD, "eth0", "eth9", &p,
		       false, PAL_STAGE_FORWARD, NULL, -1);
	ct_free(&t);
}
