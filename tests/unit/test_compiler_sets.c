/* Compiler output: address sets (resolution, dedup, origins), families, endpoint labels, errors
 * for what the datapath cannot enforce. Endpoints: fixtures/compiler/match. */
#include <criterion/criterion.h>
#include <string.h>
#include "test_compiler_util.h"

#define GNP(name, sel, ingress)                                                                    \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " name     \
	"}\nspec:\n  selector: " sel "\n  ingress: " ingress "\n---\n"
#define NP(name, sel, ingress)                                                                     \
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: " name           \
	", namespace: prod}\nspec:\n  selector: " sel "\n  ingress: " ingress "\n---\n"

static struct ctest T;

static void teardown(void)
{
	ct_free(&T);
}

TestSuite(compiler_sets, .fini = teardown);

static const struct pal_ir_rule *rule_of(const char *ep, size_t tier, size_t pol, size_t rule)
{
	const struct pal_ir_tierlist *tl = &ct_ep(&T.ir, ep)->normal[PAL_DIR_INGRESS];

	cr_assert_lt(tier, tl->n_tiers);
	cr_assert_lt(pol, tl->tiers[tier].n_policies);
	cr_assert_lt(rule, tl->tiers[tier].policies[pol].n_rules);
	return &tl->tiers[tier].policies[pol].rules[rule];
}

static const struct pal_ir_set *src_set(const struct pal_ir_rule *r, size_t i)
{
	cr_assert_lt(i, r->match.src.n_in_sets);
	return &T.ir.sets[r->match.src.in_sets[i]];
}

Test(compiler_sets, selector_sets_are_shared)
{
	ct_compile_dir_yaml(&T, "match",
			    GNP("a", "app == 'web'", "[{action: Allow, source: {selector: app == 'db'}}]")
			    GNP("b", "app == 'web'", "[{action: Allow, source: {selector: \"app == "
						     "\\\"db\\\"\"}}, {action: Allow, source: "
						     "{selector: app == 'db', namespaceSelector: all()}}]")
			    NP("c", "app == 'web'", "[{action: Allow, source: {selector: app == 'db'}}]"));
	cr_assert_eq(T.rc, 0);
	const struct pal_ir_rule *a0 = rule_of("pod1", 0, 0, 0), *b0 = rule_of("pod1", 0, 1, 0);
	const struct pal_ir_rule *c0 = rule_of("pod1", 0, 2, 0);
	const struct pal_ir_rule *bb = rule_of("pod1", 0, 1, 1);

	/* Policies sort a, b, then prod/c. Same selector, same scope: one set. */
	cr_assert_eq(a0->match.src.in_sets[0], b0->match.src.in_sets[0]);
	/* Other scopes: other sets (a namespace; namespaces matching all()). */
	cr_assert_neq(a0->match.src.in_sets[0], c0->match.src.in_sets[0]);
	cr_assert_neq(a0->match.src.in_sets[0], bb->match.src.in_sets[0]);
	const struct pal_ir_set *s = src_set(a0, 0);
	cr_assert_eq(s->n, 1);
	cr_assert(strstr(s->origin, "selector"), "%s", s->origin);
	cr_assert(strstr(s->origin, "db"), "%s", s->origin);
	cr_assert(strstr(src_set(c0, 0)->origin, "namespace \"prod\""), "%s",
		  src_set(c0, 0)->origin);
	/* Scoped to prod: pod2 (dev) is not in it. */
	cr_assert_eq(src_set(c0, 0)->n, 0);
}

Test(compiler_sets, nets_sorted_deduplicated_shared)
{
	ct_compile_dir_yaml(&T, "match",
			    GNP("a", "app == 'web'", "[{action: Allow, source: {nets: [198.18.1.0/24, "
						     "198.18.0.0/24, 198.18.1.0/24]}}, {action: Allow,"
						     " destination: {notNets: [198.18.0.0/24, "
						     "198.18.1.0/24]}}]"));
	cr_assert_eq(T.rc, 0);
	const struct pal_ir_rule *r0 = rule_of("pod1", 0, 0, 0), *r1 = rule_of("pod1", 0, 0, 1);
	const struct pal_ir_set *s = src_set(r0, 0);
	char buf[PAL_CIDR_STRLEN];

	cr_assert_eq(s->n, 2);
	cr_assert_str_eq(pal_cidr_str(&s->cidrs[0], buf), "198.18.0.0/24");
	cr_assert_str_eq(pal_cidr_str(&s->cidrs[1], buf), "198.18.1.0/24");
	/* Same content, same origin: notNets uses the same set, as a not_in_set. */
	cr_assert_eq(r1->match.dst.n_not_in_sets, 1);
	cr_assert_eq(r1->match.dst.not_in_sets[0], r0->match.src.in_sets[0]);
	cr_assert_eq(r1->match.dst.n_in_sets, 0);
}

Test(compiler_sets, families)
{
	ct_compile_dir_yaml(
		&T, "match",
		GNP("a", "app == 'web'",
		    "[{action: Allow},"
		    " {action: Allow, ipVersion: 4},"
		    " {action: Allow, ipVersion: 6},"
		    " {action: Allow, source: {nets: [198.18.0.0/24]}},"
		    " {action: Allow, destination: {nets: ['2001:db8::/64']}},"
		    " {action: Allow, source: {notNets: [198.18.0.0/24]}},"
		    " {action: Allow, source: {selector: has(kind)}},"
		    " {action: Allow, protocol: ICMP},"
		    " {action: Allow, protocol: ICMPv6},"
		    " {action: Allow, notProtocol: ICMP},"
		    " {action: Allow, source: {nets: [198.18.0.0/24]}, destination: {nets: [198.18.1.0/24]}},"
		    " {action: Allow, destination: {notNets: ['2001:db8::/64']}},"
		    " {action: Allow, ipVersion: 4, source: {notNets: [198.18.0.0/24]}}]"));
	/* notNets limit the family as nets do (felix skips the rule for the other IP version). */
	static const uint8_t want[] = { 3, 1, 2, 1, 2, 1, 3, 1, 2, 3, 1, 2, 1 };

	cr_assert_eq(T.rc, 0);
	for (size_t i = 0; i < sizeof(want); i++)
		cr_assert_eq(rule_of("pod1", 0, 0, i)->match.families, want[i], "rule %zu", i);
	/* The two rules where only notNets drop a family are pointed out, the rest are not. */
	cr_assert(ct_has_diag(&T.d, PAL_SEV_WARNING, "spec.ingress[5]",
			      "notNets holds only IPv4 CIDRs, so this rule never matches IPv6"));
	cr_assert(ct_has_diag(&T.d, PAL_SEV_WARNING, "spec.ingress[11]",
			      "notNets holds only IPv6 CIDRs, so this rule never matches IPv4"));
	cr_assert_not(ct_has_diag(&T.d, PAL_SEV_WARNING, "spec.ingress[12]", "notNets"));
}

Test(compiler_sets, endpoint_labels)
{
	ct_compile_dir_yaml(&T, "match",
			    GNP("ns", "pcns.env == 'prod'", "[{action: Allow}]")
			    GNP("nsname", "projectcalico.org/namespace == 'dev'", "[{action: Allow}]")
			    GNP("sa", "projectcalico.org/serviceaccount == 'web-sa'", "[{action: Allow}]")
			    GNP("orch", "projectcalico.org/orchestrator == 'k8s'", "[{action: Allow}]")
			    GNP("nsn", "pcns.projectcalico.org/name == 'dev'", "[{action: Allow}]"));

	cr_assert_eq(T.rc, 0);
	ct_expect_tierlist(&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS],
			   "default/ns default/orch default/sa");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod2")->normal[PAL_DIR_INGRESS],
			   "default/nsn default/nsname default/orch");
	ct_expect_tierlist(&ct_ep(&T.ir, "ext")->normal[PAL_DIR_INGRESS], "");
	/* Only node1's endpoints; pod3 (node2) only feeds sets. */
	cr_assert_eq(T.ir.n_endpoints, 3);
	cr_assert_eq(ct_ep(&T.ir, "pod1")->kind, PAL_EP_WORKLOAD);
	cr_assert_str_eq(ct_ep(&T.ir, "pod1")->namespace, "prod");
	cr_assert_str_eq(ct_ep(&T.ir, "pod1")->iface, "cali1");
	cr_assert_eq(ct_ep(&T.ir, "pod1")->n_addrs, 2);
	cr_assert_eq(ct_ep(&T.ir, "ext")->kind, PAL_EP_HOST);
	cr_assert_eq(ct_ep(&T.ir, "ext")->n_addrs, 2);
}

Test(compiler_sets, http_match_is_an_error)
{
	static const char yaml[] =
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: h}\n"
		"spec:\n  selector: all()\n  ingress:\n  - action: Allow\n  - action: Allow\n"
		"    http: {methods: [GET]}\n";

	ct_load(&T, "h.yaml", yaml);
	cr_assert_neq(ct_compile_loaded(&T), 0);
	cr_assert(ct_has_diag(&T.d, PAL_SEV_ERROR, "not supported by palisade's datapath",
			      "spec.ingress[1].http"));
	cr_assert_str_eq(T.d.v[0].file, "h.yaml");
	cr_assert_eq(T.d.v[0].line, 8);
	cr_assert_eq(T.ir.n_endpoints, 0);
	cr_assert_null(T.ir.sets);
}

Test(compiler_sets, service_reference_compiles)
{
	static const char yaml[] =
		"apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: pr}\n"
		"spec:\n  egress:\n  - action: Allow\n"
		"    destination: {services: {name: kubernetes, namespace: default}}\n";

	ct_compile_ok(&T, yaml);
	cr_assert_eq(T.d.n, 0);
}

Test(compiler_sets, empty_model)
{
	struct pal_compile_opts o = { .node = CT_NODE };
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_ir ir;

	pal_model_init(&m);
	cr_assert_eq(pal_compile(&m, &o, &ir, &d), 0);
	cr_assert_eq(ir.n_endpoints, 0);
	cr_assert_eq(ir.n_rule_ids, 0);
	cr_assert_eq(d.n, 0);
	pal_ir_free(&ir);
	pal_model_free(&m);
}
