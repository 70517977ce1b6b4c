/* Tier and policy ordering, tier lists per stage, rule ids. */
#include <criterion/criterion.h>
#include <string.h>
#include "test_compiler_util.h"

#define HEP_ETH0                                                                                  \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                                  \
	"metadata: {name: eth0, labels: {role: ext}}\n"                                           \
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n---\n"

#define TIER(name, spec) \
	"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: " name "}\nspec: " spec "\n---\n"

/* A GNP selecting everything with one ingress Allow rule; extra = more spec fields. */
#define GNP(name, extra)                                                                           \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " name     \
	"}\nspec:\n  selector: all()\n" extra "  ingress: [{action: Allow}]\n---\n"

Test(compiler_order, tiers_and_policies)
{
	static const char yaml[] =
		HEP_ETH0
		TIER("b", "{order: 10}")
		TIER("a", "{order: 10}")
		TIER("z", "{}")
		TIER("y", "{}")
		TIER("early", "{order: 1}")
		GNP("a.p3", "  tier: a\n  order: 5\n")
		GNP("p1", "  tier: a\n  order: 5\n")
		GNP("a.p0", "  tier: a\n")
		GNP("p2", "  tier: a\n  order: 1\n")
		GNP("b.q", "  tier: b\n  order: 100\n")
		GNP("z.zz", "  tier: z\n  order: 1\n")
		GNP("y.yy", "  tier: y\n  order: 1000\n")
		GNP("early.e", "  tier: early\n")
		GNP("dflt-b", "  order: 2000000\n")
		GNP("dflt-a", "  order: 2000000\n")
		GNP("dflt-first", "  order: 0.5\n");
	struct ctest t;

	ct_compile_ok(&t, yaml);
	/* Tiers: early(1), a(10) before b(10) by name, default (1e6), then y and z (no order) by name.
	 * In a: p2 (1), then p1 and p3 (5, by name without the tier prefix), then p0 (no order). */
	/* Names as Calico has them: "<tier>." added where the file omitted it (p1, p2). */
	ct_expect_tierlist(&ct_ep(&t.ir, "eth0")->normal[PAL_DIR_INGRESS],
			   "early/early.e a/a.p2 a/a.p1 a/a.p3 a/a.p0 b/b.q default/dflt-first "
			   "default/dflt-a default/dflt-b y/y.yy z/z.zz");
	/* Nothing is untracked, preDNAT or forward. */
	cr_assert_eq(ct_ep(&t.ir, "eth0")->untracked[PAL_DIR_INGRESS].n_tiers, 0);
	cr_assert_eq(ct_ep(&t.ir, "eth0")->prednat[PAL_DIR_INGRESS].n_tiers, 0);
	cr_assert_eq(ct_ep(&t.ir, "eth0")->forward[PAL_DIR_INGRESS].n_tiers, 0);
	/* Ingress-only policies: no egress tiers. */
	cr_assert_eq(ct_ep(&t.ir, "eth0")->normal[PAL_DIR_EGRESS].n_tiers, 0);
	ct_free(&t);
}

Test(compiler_order, default_tier_order_is_fixed)
{
	static const char yaml[] = HEP_ETH0
		TIER("default", "{order: 1000000}")
		TIER("t", "{order: 100}")
		TIER("u", "{order: 2000000}")
		GNP("d", "")
		GNP("t.x", "  tier: t\n")
		GNP("u.y", "  tier: u\n");
	struct ctest t;

	ct_load(&t, "t.yaml", yaml);
	/* The loader rejects another order for `default`; the compiler must not trust that. */
	for (size_t i = 0; i < t.m.tiers.n; i++)
		if (strcmp(t.m.tiers.v[i].name, "default") == 0) {
			t.m.tiers.v[i].order = 5;
			t.m.tiers.v[i].default_action = PAL_ACTION_PASS;
		}
	cr_assert_eq(ct_compile_loaded(&t), 0);
	ct_expect_tierlist(&ct_ep(&t.ir, "eth0")->normal[PAL_DIR_INGRESS], "t/t.x default/d u/u.y");
	cr_assert_eq(ct_ep(&t.ir, "eth0")->normal[PAL_DIR_INGRESS].tiers[1].end_action,
		     PAL_ACTION_DENY);
	cr_assert(ct_has_diag(&t.d, PAL_SEV_WARNING, "tier \"default\" always has order", NULL));
	ct_free(&t);
}

/* The tiers Calico creates for Kubernetes admin network policies exist without a Tier resource,
 * at their fixed orders (1000 before default, 10,000,000 after it) with defaultAction Pass; like any
 * tier they are in a list only where one of their policies applies. */
Test(compiler_order, builtin_admin_tiers)
{
	static const char yaml[] = HEP_ETH0
		TIER("early", "{order: 999}")
		TIER("mid", "{order: 5000}")
		GNP("d", "")
		GNP("early.e", "  tier: early\n")
		GNP("mid.m", "  tier: mid\n")
		GNP("adminnetworkpolicy.a", "  tier: adminnetworkpolicy\n")
		GNP("kube-baseline.b", "  tier: kube-baseline\n");
	struct ctest t;

	ct_compile_ok(&t, yaml);
	const struct pal_ir_tierlist *tl = &ct_ep(&t.ir, "eth0")->normal[PAL_DIR_INGRESS];

	/* kube-admin and baselineadminnetworkpolicy have no policy: absent. */
	ct_expect_tierlist(tl, "early/early.e adminnetworkpolicy/adminnetworkpolicy.a mid/mid.m "
			       "default/d kube-baseline/kube-baseline.b");
	cr_assert_eq(tl->tiers[1].end_action, PAL_ACTION_PASS);
	cr_assert_eq(tl->tiers[3].end_action, PAL_ACTION_DENY);
	cr_assert_eq(tl->tiers[4].end_action, PAL_ACTION_PASS);
	ct_free(&t);
}

/* A Tier resource of a built-in admin tier's name is the tier (Calico only creates the tier when
 * it is absent): its defaultAction is the one written; the loader pins its order. */
Test(compiler_order, builtin_admin_tier_resource_wins)
{
	static const char yaml[] = HEP_ETH0
		TIER("baselineadminnetworkpolicy", "{defaultAction: Deny}")
		GNP("d", "")
		GNP("baselineadminnetworkpolicy.b", "  tier: baselineadminnetworkpolicy\n");
	struct ctest t;

	ct_compile_ok(&t, yaml);
	const struct pal_ir_tierlist *tl = &ct_ep(&t.ir, "eth0")->normal[PAL_DIR_INGRESS];

	ct_expect_tierlist(tl, "default/d baselineadminnetworkpolicy/baselineadminnetworkpolicy.b");
	cr_assert_eq(tl->tiers[1].end_action, PAL_ACTION_DENY);
	ct_free(&t);
}

Test(compiler_order, tier_end_actions_per_list)
{
	static const char yaml[] = HEP_ETH0
		TIER("pass", "{order: 1, defaultAction: Pass}")
		GNP("pass.n", "  tier: pass\n  applyOnForward: true\n")
		GNP("pass.u", "  tier: pass\n  doNotTrack: true\n  applyOnForward: true\n")
		GNP("pass.p", "  tier: pass\n  preDNAT: true\n  applyOnForward: true\n")
		GNP("n", "  applyOnForward: true\n")
		GNP("u", "  doNotTrack: true\n  applyOnForward: true\n")
		GNP("p", "  preDNAT: true\n  applyOnForward: true\n");
	struct ctest t;

	ct_compile_ok(&t, yaml);
	const struct pal_ir_endpoint *ep = ct_ep(&t.ir, "eth0");
	ct_expect_tierlist(&ep->untracked[PAL_DIR_INGRESS], "pass/pass.u default/u");
	ct_expect_tierlist(&ep->prednat[PAL_DIR_INGRESS], "pass/pass.p default/p");
	ct_expect_tierlist(&ep->forward[PAL_DIR_INGRESS], "pass/pass.n default/n");
	ct_expect_tierlist(&ep->normal[PAL_DIR_INGRESS], "pass/pass.n default/n");
	/* Untracked and preDNAT tiers never drop at their end; the others keep defaultAction. */
	cr_assert_eq(ep->untracked[0].tiers[1].end_action, PAL_ACTION_PASS);
	cr_assert_eq(ep->prednat[0].tiers[1].end_action, PAL_ACTION_PASS);
	cr_assert_eq(ep->forward[0].tiers[0].end_action, PAL_ACTION_PASS);
	cr_assert_eq(ep->forward[0].tiers[1].end_action, PAL_ACTION_DENY);
	cr_assert_eq(ep->normal[0].tiers[0].end_action, PAL_ACTION_PASS);
	cr_assert_eq(ep->normal[0].tiers[1].end_action, PAL_ACTION_DENY);
	ct_free(&t);
}

/* Which untracked ingress lists can drop (the agent gives XDP only to those): an Allow-only list
 * cannot (its tiers end in Pass), a Deny rule in any policy of any tier can. */
Test(compiler_order, untracked_list_may_deny_only_with_a_deny_rule)
{
	static const char allow_only[] = HEP_ETH0
		GNP("u", "  doNotTrack: true\n  applyOnForward: true\n  order: 1\n")
		GNP("u2", "  doNotTrack: true\n  applyOnForward: true\n  order: 2\n");
	static const char with_deny[] = HEP_ETH0
		GNP("u", "  doNotTrack: true\n  applyOnForward: true\n  order: 1\n")
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: d}\n"
		"spec:\n  selector: all()\n  doNotTrack: true\n  applyOnForward: true\n  order: 2\n"
		"  ingress: [{action: Log}, {action: Deny, protocol: UDP}]\n---\n";
	struct ctest t;

	ct_compile_ok(&t, allow_only);
	const struct pal_ir_endpoint *ep = ct_ep(&t.ir, "eth0");
	cr_assert_eq(ep->untracked[PAL_DIR_INGRESS].n_tiers, 1);
	cr_assert_not(pal_ir_tierlist_may_deny(&ep->untracked[PAL_DIR_INGRESS]));
	ct_free(&t);

	ct_compile_ok(&t, with_deny);
	ep = ct_ep(&t.ir, "eth0");
	cr_assert(pal_ir_tierlist_may_deny(&ep->untracked[PAL_DIR_INGRESS]));
	cr_assert_not(pal_ir_tierlist_may_deny(&ep->untracked[PAL_DIR_EGRESS]), "no egress rules");
	ct_free(&t);
}

Test(compiler_order, selection_by_selector_and_types)
{
	static const char yaml[] = HEP_ETH0
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: other-node, labels: {role: ext}}\n"
		"spec: {node: node2, interfaceName: eth0, expectedIPs: [198.18.9.1]}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: sel}\n"
		"spec:\n  selector: role == \"ext\"\n  types: [Egress]\n"
		"  egress: [{action: Allow}]\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: nosel}\n"
		"spec:\n  selector: role == \"int\"\n  ingress: [{action: Allow}]\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: nstype}\n"
		"spec:\n  selector: all()\n  namespaceSelector: all()\n  ingress: [{action: Allow}]\n";
	struct ctest t;

	ct_compile_ok(&t, yaml);
	/* Only this node's endpoints are compiled. */
	cr_assert_eq(t.ir.n_endpoints, 1);
	const struct pal_ir_endpoint *ep = ct_ep(&t.ir, "eth0");
	ct_expect_tierlist(&ep->normal[PAL_DIR_EGRESS], "default/sel");
	/* nosel does not select; nstype has a namespaceSelector: workloads only. */
	ct_expect_tierlist(&ep->normal[PAL_DIR_INGRESS], "");
	ct_free(&t);
}

Test(compiler_order, rule_ids_unique_and_shared_per_policy_rule)
{
	static const char yaml[] = HEP_ETH0
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: eth1, labels: {role: ext}}\n"
		"spec: {node: node1, interfaceName: eth1}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: both}\n"
		"spec:\n  selector: role == \"ext\"\n  applyOnForward: true\n"
		"  ingress: [{action: Log}, {action: Allow}]\n"
		"  egress: [{action: Deny}]\n";
	struct ctest t;

	ct_compile_ok(&t, yaml);
	const struct pal_ir_endpoint *a = ct_ep(&t.ir, "eth0"), *b = ct_ep(&t.ir, "eth1");
	const struct pal_ir_policy *an = &a->normal[0].tiers[0].policies[0];
	const struct pal_ir_policy *af = &a->forward[0].tiers[0].policies[0];
	const struct pal_ir_policy *bn = &b->normal[0].tiers[0].policies[0];
	const struct pal_ir_policy *ae = &a->normal[1].tiers[0].policies[0];

	cr_assert_eq(an->n_rules, 2);
	cr_assert_eq(an->rules[0].index, 0);
	cr_assert_eq(an->rules[1].index, 1);
	cr_assert_eq(an->rules[0].action, PAL_ACTION_LOG);
	cr_assert_neq(an->rules[0].id, an->rules[1].id);
	/* Same (policy, direction, index): same id, wherever it appears. */
	cr_assert_eq(an->rules[1].id, af->rules[1].id);
	cr_assert_eq(an->rules[1].id, bn->rules[1].id);
	cr_assert_neq(ae->rules[0].id, an->rules[0].id);
	cr_assert_neq(ae->rules[0].id, an->rules[1].id);
	cr_assert_eq(t.ir.n_rule_ids, 3);
	/* One copy of the rules, shared by the lists (and freed once, with the IR). */
	cr_assert_eq(an->rules, bn->rules);
	cr_assert_eq(an->rules, af->rules);
	cr_assert(an->rules_shared);
	cr_assert_eq(t.ir.n_rule_blocks, 2);
	for (int i = 0; i < 2; i++)
		cr_assert_lt(an->rules[i].id, t.ir.n_rule_ids);
	cr_assert_lt(ae->rules[0].id, t.ir.n_rule_ids);
	ct_free(&t);
}

Test(compiler_order, wildcard_hep_ignores_untracked_with_warning)
{
	static const char yaml[] =
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: all-ifaces, labels: {role: ext}}\n"
		"spec: {node: node1, interfaceName: \"*\", expectedIPs: [198.18.0.1]}\n---\n"
		GNP("raw", "  doNotTrack: true\n  applyOnForward: true\n")
		GNP("normal", "");
	struct ctest t;

	ct_compile_ok(&t, yaml);
	const struct pal_ir_endpoint *ep = ct_ep(&t.ir, "all-ifaces");
	cr_assert_eq(ep->untracked[PAL_DIR_INGRESS].n_tiers, 0);
	cr_assert_eq(ep->untracked[PAL_DIR_EGRESS].n_tiers, 0);
	ct_expect_tierlist(&ep->normal[PAL_DIR_INGRESS], "default/normal");
	cr_assert(ct_has_diag(&t.d, PAL_SEV_WARNING, "\"raw\"", "\"all-ifaces\""));
	cr_assert_not(ct_has_diag(&t.d, PAL_SEV_WARNING, "\"normal\"", NULL));
	/* The `*` endpoint polices any interface; the untracked allow does not happen. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 1, "198.18.0.1", 80);
	struct pal_verdict v = ct_eval_expect(&t, PAL_TRACE_INGRESS, "ens3", NULL, &p,
					      true, PAL_STAGE_NORMAL, "normal", 0);
	cr_assert_not(v.untracked);
	ct_free(&t);
}

Test(compiler_order, endpoint_for_iface_lookup)
{
	static const char yaml[] =
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: star}\nspec: {node: node1, interfaceName: \"*\"}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: byip}\nspec: {node: node1, expectedIPs: [198.18.0.5]}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: eth1}\nspec: {node: node1, interfaceName: eth0}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: real-eth1}\nspec: {node: node1, interfaceName: eth1}\n";
	struct ctest t;

	ct_compile_ok(&t, yaml);
	cr_assert_str_eq(pal_ir_endpoint_for_iface(&t.ir, "eth0")->name, "eth1");
	/* interfaceName beats a name. */
	cr_assert_str_eq(pal_ir_endpoint_for_iface(&t.ir, "eth1")->name, "real-eth1");
	cr_assert_str_eq(pal_ir_endpoint_for_iface(&t.ir, "byip")->name, "byip");
	cr_assert_str_eq(pal_ir_endpoint_for_iface(&t.ir, "ens9")->name, "star");
	ct_free(&t);

	ct_compile(&t, HEP_ETH0);
	cr_assert_null(pal_ir_endpoint_for_iface(&t.ir, "ens9"));
	ct_free(&t);
}

Test(compiler_order, names)
{
	cr_assert_str_eq(pal_stage_name(PAL_STAGE_FAILSAFE), "failsafe");
	cr_assert_str_eq(pal_stage_name(PAL_STAGE_PREDNAT), "prednat");
	cr_assert_str_eq(pal_stage_name(PAL_STAGE_WORKLOAD), "workload");
	cr_assert_str_eq(pal_stage_name(PAL_STAGE_DEFAULT), "default");
	cr_assert_str_eq(pal_dir_name(PAL_DIR_EGRESS), "egress");
}
