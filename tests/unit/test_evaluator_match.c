/* Rule matching through compiler and evaluator: ports, ranges, named ports, notPorts, ICMP,
 * IPv6, nets/notNets, selectors, notSelector, namespaceSelector, global(), serviceAccounts and k8s
 * NetworkPolicy. Endpoints: fixtures/compiler/match. Policies select pod1 (prod, 198.18.2.10,
 * 2001:db8:2::10) unless said otherwise; the packets arrive from an unpoliced interface. */
#include <criterion/criterion.h>
#include <string.h>
#include "test_compiler_util.h"

#define GNP(sel, ingress)                                                                          \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"      \
	"spec:\n  selector: " sel "\n  ingress: " ingress "\n"
#define NP(sel, ingress)                                                                           \
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: "  \
	"prod}\nspec:\n  selector: " sel "\n  ingress: " ingress "\n"
#define WEB "app == 'web'"

static struct ctest T;

static void load(const char *yaml)
{
	ct_compile_dir_yaml(&T, "match", yaml);
	cr_assert_eq(T.rc, 0);
}

static void teardown(void)
{
	ct_free(&T);
}

TestSuite(evaluator_match, .fini = teardown);

/* Verdict of the pod's ingress policy for a packet. */
static bool pass(const struct pal_packet *p, const char *out_iface)
{
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", out_iface, p);

	/* An allow must come from the policy p, a deny from the end of its tier: anything else
	 * means the test does not test what it says. */
	if (v.allow)
		ct_expect(&v, true, PAL_STAGE_WORKLOAD, "p", -2);
	else
		ct_expect(&v, false, PAL_STAGE_WORKLOAD, NULL, -2);
	return v.allow;
}

static bool tcp(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, sport, dst, dport);

	return pass(&p, "cali1");
}

static bool proto_to_pod(uint8_t proto, const char *src, uint16_t dport)
{
	struct pal_packet p = ct_pkt(proto, src, 40000, "198.18.2.10", dport);

	return pass(&p, "cali1");
}

#define POD1 "198.18.2.10"
#define CLIENT "198.18.100.1"

Test(evaluator_match, numeric_ports_and_ranges)
{
	load(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {ports: [80, '8000:8010']}}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 80));
	cr_assert(tcp(CLIENT, 1, POD1, 8000));
	cr_assert(tcp(CLIENT, 1, POD1, 8005));
	cr_assert(tcp(CLIENT, 1, POD1, 8010));
	cr_assert_not(tcp(CLIENT, 1, POD1, 8011));
	cr_assert_not(tcp(CLIENT, 1, POD1, 81));
	cr_assert_not(proto_to_pod(PAL_PROTO_UDP, CLIENT, 80));
	/* The source port is not the destination port. */
	cr_assert_not(tcp(CLIENT, 80, POD1, 1));
}

Test(evaluator_match, source_ports)
{
	load(GNP(WEB, "[{action: Allow, protocol: UDP, source: {ports: ['1:1023']}}]"));
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, CLIENT, 53, POD1, 40000);
	cr_assert(pass(&p, "cali1"));
	p.sport = 1024;
	cr_assert_not(pass(&p, "cali1"));
}

Test(evaluator_match, not_ports)
{
	load(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {notPorts: [22, '6000:6010']}}]"));
	cr_assert_not(tcp(CLIENT, 1, POD1, 22));
	cr_assert_not(tcp(CLIENT, 1, POD1, 6005));
	cr_assert(tcp(CLIENT, 1, POD1, 23));
	cr_assert(tcp(CLIENT, 1, POD1, 6011));
}

Test(evaluator_match, named_ports_without_selector)
{
	/* No selector on the side: the named port of every endpoint, whatever its namespace or
	 * node, even in a NetworkPolicy (Calico resolves it on all()). */
	load(NP(WEB, "[{action: Allow, protocol: TCP, destination: {ports: [http]}}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 8080));
	cr_assert_not(tcp(CLIENT, 1, POD1, 8081));
	cr_assert(tcp(CLIENT, 1, "198.18.4.10", 8081)); /* pod3, prod, node2 */
	cr_assert(tcp(CLIENT, 1, "198.18.3.10", 9090)); /* pod2, dev */
	cr_assert(tcp(CLIENT, 1, "198.18.0.1", 8000));  /* the host endpoint */
	cr_assert_not(tcp(CLIENT, 1, "198.18.3.10", 8080));
	const struct pal_ir_rule *r =
		&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS].tiers[0].policies[0].rules[0];
	cr_assert(r->match.dst.has_ports);
	cr_assert_eq(r->match.dst.n_in_sets, 0);
	cr_assert_eq(r->match.dst.n_named_port_sets, 1);
	/* pod1 (v4, v6), pod2, pod3, ext (v4, v6) */
	cr_assert_eq(T.ir.named_port_sets[r->match.dst.named_port_sets[0]].n, 6);
}

Test(evaluator_match, named_ports_scoped_selector)
{
	/* With a selector, a NetworkPolicy's named port is scoped like the selector. */
	load(NP(WEB, "[{action: Allow, protocol: TCP, destination: {selector: has(app), "
		     "ports: [http]}}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 8080));
	cr_assert(tcp(CLIENT, 1, "198.18.4.10", 8081));
	cr_assert_not(tcp(CLIENT, 1, "198.18.3.10", 9090)); /* dev */
	cr_assert_not(tcp(CLIENT, 1, "198.18.0.1", 8000));
}

Test(evaluator_match, named_ports_with_selector_and_hep)
{
	load(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {selector: app == 'db', ports: "
		      "[http]}}, {action: Allow, protocol: TCP, destination: {selector: role == 'ext', "
		      "ports: [http, 22]}}]"));
	cr_assert(tcp(CLIENT, 1, "198.18.3.10", 9090));
	cr_assert_not(tcp(CLIENT, 1, POD1, 8080)); /* not app == db */
	cr_assert(tcp(CLIENT, 1, "198.18.0.1", 8000)); /* the host endpoint's port */
	cr_assert(tcp(CLIENT, 1, "198.18.0.1", 22));   /* numeric item next to the named one */
	cr_assert_not(tcp(CLIENT, 1, "198.18.0.1", 8080));
}

Test(evaluator_match, named_source_port)
{
	/* Into pod2: only from pod1's named port dns (udp 53). */
	load("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"
	     "spec:\n  selector: app == 'db'\n  ingress: [{action: Allow, protocol: UDP, source: "
	     "{selector: app == 'web', ports: [dns]}}]\n");
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, POD1, 53, "198.18.3.10", 40000);
	cr_assert(pass(&p, "cali2"));
	p.sport = 54;
	cr_assert_not(pass(&p, "cali2"));
	p = ct_pkt(PAL_PROTO_TCP, POD1, 53, "198.18.3.10", 40000);
	cr_assert_not(pass(&p, "cali2"));
}

Test(evaluator_match, named_not_ports)
{
	load(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {notPorts: [http]}}]"));
	cr_assert_not(tcp(CLIENT, 1, POD1, 8080));
	cr_assert(tcp(CLIENT, 1, POD1, 8081));
	cr_assert(tcp(CLIENT, 1, "198.18.2.11", 8080)); /* not pod1's address */
}

Test(evaluator_match, icmp_type_code_and_not_icmp)
{
	load(GNP(WEB, "[{action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}},"
		      " {action: Allow, protocol: ICMP, icmp: {type: 13}},"
		      " {action: Allow, protocol: ICMPv6, notICMP: {type: 128}}]"));
	struct pal_packet p = ct_icmp(CLIENT, POD1, 8, 0);
	cr_assert(pass(&p, "cali1"));
	p.icmp_code = 1;
	cr_assert_not(pass(&p, "cali1"));
	p = ct_icmp(CLIENT, POD1, 0, 0);
	cr_assert_not(pass(&p, "cali1"));
	p = ct_icmp(CLIENT, POD1, 13, 7); /* type only: any code */
	cr_assert(pass(&p, "cali1"));
	p = ct_icmp("2001:db8:100::1", "2001:db8:2::10", 128, 0);
	cr_assert_not(pass(&p, "cali1"));
	p = ct_icmp("2001:db8:100::1", "2001:db8:2::10", 129, 0);
	cr_assert(pass(&p, "cali1"));
	/* The ICMPv4 rules never match v6 and the other way round. */
	p = ct_icmp("2001:db8:100::1", "2001:db8:2::10", 8, 0);
	cr_assert(pass(&p, "cali1")); /* by the notICMP rule, not the type 8 rule */
	const struct pal_ir_policy *pol =
		&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS].tiers[0].policies[0];
	cr_assert_eq(pol->rules[0].match.families, PAL_FAMILY_V4);
	cr_assert_eq(pol->rules[2].match.families, PAL_FAMILY_V6);
}

Test(evaluator_match, not_protocol)
{
	load(GNP(WEB, "[{action: Allow, notProtocol: UDP}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 1));
	cr_assert_not(proto_to_pod(PAL_PROTO_UDP, CLIENT, 1));
}

Test(evaluator_match, nets_and_not_nets_v4_v6)
{
	load(GNP(WEB, "[{action: Allow, source: {nets: [198.18.100.0/24],"
		      " notNets: [198.18.100.128/25]}}, {action: Allow, source: {nets: "
		      "['2001:db8:100::/48']}}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 80));
	cr_assert_not(tcp("198.18.100.200", 1, POD1, 80));
	cr_assert_not(tcp("198.18.102.1", 1, POD1, 80));
	cr_assert(tcp("2001:db8:100::5", 1, "2001:db8:2::10", 80));
	cr_assert_not(tcp("2001:db8:101::5", 1, "2001:db8:2::10", 80));
}

Test(evaluator_match, ip_version)
{
	load(GNP(WEB, "[{action: Allow, ipVersion: 6}]"));
	cr_assert_not(tcp(CLIENT, 1, POD1, 80));
	cr_assert(tcp("2001:db8:100::5", 1, "2001:db8:2::10", 80));
}

Test(evaluator_match, selector_resolves_all_kinds)
{
	/* has(kind): both network sets; app == 'db': pod2; role == 'ext': the host endpoint. */
	load(GNP(WEB, "[{action: Allow, source: {selector: has(kind)}},"
		      " {action: Allow, source: {selector: app == 'db'}},"
		      " {action: Allow, source: {selector: role == 'ext'}}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 80));
	cr_assert(tcp("198.18.101.7", 1, POD1, 80));
	cr_assert(tcp("2001:db8:100::9", 1, "2001:db8:2::10", 80));
	cr_assert(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert(tcp("198.18.0.1", 1, POD1, 80));
	cr_assert(tcp("2001:db8::1", 1, "2001:db8:2::10", 80));
	cr_assert_not(tcp("198.18.4.10", 1, POD1, 80)); /* pod3 is app == web */
	cr_assert_not(tcp("198.18.102.1", 1, POD1, 80));
}

Test(evaluator_match, selector_matching_nothing_never_matches)
{
	load(GNP(WEB, "[{action: Allow, source: {selector: app == 'nothing'}}]"));
	cr_assert_not(tcp(CLIENT, 1, POD1, 80));
	const struct pal_ir_rule *r =
		&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS].tiers[0].policies[0].rules[0];
	cr_assert_eq(r->match.src.n_in_sets, 1);
	cr_assert_eq(T.ir.sets[r->match.src.in_sets[0]].n, 0);
}

Test(evaluator_match, not_selector_is_unscoped)
{
	/* A NetworkPolicy in prod: the notSelector sees the GlobalNetworkSet `wide` (198.18.2.0/24),
	 * so pod1 is excluded although it is in prod; the positive side is everything in prod
	 * (Calico scopes a side that has a notSelector to the policy's namespace). */
	load(NP(WEB, "[{action: Allow, source: {notSelector: kind == 'wide'}}]"));
	cr_assert_not(tcp("198.18.2.10", 1, "198.18.2.10", 80)); /* pod1, in wide */
	cr_assert(tcp("198.18.101.1", 1, POD1, 80));             /* prod NetworkSet */
	cr_assert(tcp("198.18.4.10", 1, POD1, 80));              /* pod3, prod */
	cr_assert_not(tcp("198.18.3.10", 1, POD1, 80));          /* pod2, dev: out of scope */
	cr_assert_not(tcp("198.18.102.1", 1, POD1, 80));         /* nothing: out of scope */
	ct_free(&T);

	/* A GlobalNetworkPolicy: no scope, so only the exclusion. */
	load(GNP(WEB, "[{action: Allow, source: {notSelector: kind == 'clients'}}]"));
	cr_assert_not(tcp(CLIENT, 1, POD1, 80));
	cr_assert(tcp("198.18.102.1", 1, POD1, 80));
	cr_assert(tcp("198.18.3.10", 1, POD1, 80));
}

Test(evaluator_match, namespaced_selector_is_scoped)
{
	/* In a NetworkPolicy, `selector` only sees its namespace: the prod NetworkSet, not pod2. */
	load(NP(WEB, "[{action: Allow, source: {selector: kind == 'partners'}},"
		     " {action: Allow, source: {selector: app == 'db'}},"
		     " {action: Allow, source: {selector: kind == 'clients'}}]"));
	cr_assert(tcp("198.18.101.1", 1, POD1, 80));
	cr_assert_not(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert_not(tcp(CLIENT, 1, POD1, 80));
}

Test(evaluator_match, namespace_selector)
{
	load(GNP(WEB, "[{action: Allow, source: {namespaceSelector: env == 'dev'}}]"));
	cr_assert(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert_not(tcp("198.18.101.1", 1, POD1, 80)); /* prod network set */
	cr_assert_not(tcp(CLIENT, 1, POD1, 80));         /* global network set */
	ct_free(&T);

	/* selector AND namespaceSelector, from a NetworkPolicy (namespaceSelector overrides the
	 * policy's own namespace). projectcalico.org/name names a namespace. */
	load(NP(WEB, "[{action: Allow, source: {selector: app == 'db', namespaceSelector: "
		     "projectcalico.org/name == 'dev'}}]"));
	cr_assert(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert_not(tcp("198.18.4.10", 1, POD1, 80));
	ct_free(&T);

	/* namespaceSelector alone in a NetworkPolicy: everything in the matching namespaces. */
	load(NP(WEB, "[{action: Allow, source: {namespaceSelector: env == 'prod'}}]"));
	cr_assert(tcp("198.18.101.1", 1, POD1, 80));
	cr_assert(tcp("198.18.4.10", 1, POD1, 80));
	cr_assert_not(tcp("198.18.3.10", 1, POD1, 80));
}

Test(evaluator_match, namespace_selector_global)
{
	load(GNP(WEB, "[{action: Allow, source: {selector: has(kind) || has(role) || has(app), "
		      "namespaceSelector: global()}}]"));
	cr_assert(tcp(CLIENT, 1, POD1, 80));           /* GlobalNetworkSet */
	cr_assert(tcp("198.18.0.1", 1, POD1, 80));     /* host endpoint */
	cr_assert_not(tcp("198.18.101.1", 1, POD1, 80)); /* NetworkSet */
	cr_assert_not(tcp("198.18.3.10", 1, POD1, 80));  /* workload */
}

Test(evaluator_match, service_accounts)
{
	load(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {names: [db-sa]}}}]"));
	cr_assert(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert_not(tcp(CLIENT, 1, POD1, 80));
	ct_free(&T);

	load(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {selector: "
		      "projectcalico.org/name == 'db-sa'}}}]"));
	cr_assert(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert_not(tcp("198.18.2.10", 1, POD1, 80));
	ct_free(&T);

	/* Scoped to the policy's namespace: pod2 (dev) is not seen from prod. */
	load(NP(WEB, "[{action: Allow, source: {serviceAccounts: {names: [db-sa, web-sa]}}}]"));
	cr_assert_not(tcp("198.18.3.10", 1, POD1, 80));
	cr_assert(tcp("198.18.2.10", 1, POD1, 80));
}

Test(evaluator_match, policy_service_account_and_namespace_selectors)
{
	/* serviceAccountSelector picks pod1 (web-sa) not pod2; namespaceSelector picks pod2. */
	load("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"
	     "spec:\n  serviceAccountSelector: projectcalico.org/name == 'web-sa'\n"
	     "  ingress: [{action: Deny}]\n---\n"
	     "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: q}\n"
	     "spec:\n  namespaceSelector: env == 'dev'\n  ingress: [{action: Deny}]\n");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS], "default/p");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod2")->normal[PAL_DIR_INGRESS], "default/q");
	ct_expect_tierlist(&ct_ep(&T.ir, "ext")->normal[PAL_DIR_INGRESS], "");
}

Test(evaluator_match, k8s_network_policy_end_to_end)
{
	load("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	     "metadata: {name: k, namespace: prod}\n"
	     "spec:\n"
	     "  podSelector: {matchLabels: {app: web}}\n"
	     "  policyTypes: [Ingress]\n"
	     "  ingress:\n"
	     "  - from:\n"
	     "    - ipBlock: {cidr: 198.18.100.0/24, except: [198.18.100.128/25]}\n"
	     "    ports:\n"
	     "    - {protocol: TCP, port: 8000, endPort: 8010}\n"
	     "  - from:\n"
	     "    - namespaceSelector: {matchLabels: {env: dev}}\n"
	     "  - from:\n"
	     "    - podSelector: {matchLabels: {app: web}}\n");
	struct pal_verdict v;
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 1, POD1, 8005);

	v = ct_eval_expect(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p,
			   true, PAL_STAGE_WORKLOAD, NULL, -2);
	cr_assert(strstr(v.policy, "k"), "policy %s", v.policy);
	cr_assert_str_eq(v.tier, "default");
	p.dport = 8011; /* endPort is inclusive */
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p,
		       false, PAL_STAGE_WORKLOAD, NULL, -1);
	p.dport = 8010;
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	cr_assert(v.allow);
	p = ct_pkt(PAL_PROTO_TCP, "198.18.100.200", 1, POD1, 8005); /* except */
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	cr_assert_not(v.allow);
	p = ct_pkt(PAL_PROTO_UDP, CLIENT, 1, POD1, 8005); /* TCP only */
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	cr_assert_not(v.allow);
	/* Any port from the dev namespace; from web pods of prod (pod3 on node2). */
	p = ct_pkt(PAL_PROTO_UDP, "198.18.3.10", 1, POD1, 9);
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	cr_assert(v.allow);
	p = ct_pkt(PAL_PROTO_UDP, "198.18.4.10", 1, POD1, 9);
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	cr_assert(v.allow);
	p = ct_pkt(PAL_PROTO_UDP, "198.18.101.1", 1, POD1, 9); /* a NetworkSet, not a pod */
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	cr_assert_not(v.allow);
	/* Egress is not in policyTypes: pod1's egress falls to its profile kns.prod. */
	p = ct_pkt(PAL_PROTO_TCP, POD1, 1, CLIENT, 443);
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "cali1", "ext0", &p,
		       true, PAL_STAGE_PROFILE, "kns.prod", 0);
}
