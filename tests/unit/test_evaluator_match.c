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

/* Compiles the match fixture with yaml, in place of what the test loaded before. */
static void load(const char *yaml)
{
	ct_free(&T);
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
#define POD1_V6 "2001:db8:2::10"
#define CLIENT "198.18.100.1"

/* A TCP connection from src to dst port dport: src defaults to CLIENT, dst to pod1's address of
 * src's family, dport to 80. */
struct conn {
	const char *src, *dst;
	uint16_t dport;
};

/* A list of connections; the all-zero row that ends it is none of them. */
#define CONNS(...) ((const struct conn[]){ __VA_ARGS__, { 0 } })

static void expect_conn(const struct conn *c, bool allow)
{
	const char *src = c->src ? c->src : CLIENT;
	const char *dst = c->dst ? c->dst : strchr(src, ':') ? POD1_V6 : POD1;
	uint16_t dport = c->dport ? c->dport : 80;

	cr_assert_eq(tcp(src, 1, dst, dport), allow, "%s to %s port %u is %s", src, dst, dport,
		     allow ? "kept out" : "let in");
}

/* The policies in yaml (loaded) let every connection of allowed in and none of denied. */
static void expect_conns(const char *yaml, const struct conn *allowed, const struct conn *denied)
{
	load(yaml);
	for (const struct conn *c = allowed; c->src || c->dst || c->dport; c++)
		expect_conn(c, true);
	for (const struct conn *c = denied; c->src || c->dst || c->dport; c++)
		expect_conn(c, false);
}

Test(evaluator_match, numeric_ports_and_ranges)
{
	expect_conns(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {ports: [80, "
			      "'8000:8010']}}]"),
		     CONNS({ .dport = 80 }, { .dport = 8000 }, { .dport = 8005 },
			   { .dport = 8010 }),
		     CONNS({ .dport = 8011 }, { .dport = 81 }));
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
	expect_conns(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {notPorts: [22, "
			      "'6000:6010']}}]"),
		     CONNS({ .dport = 23 }, { .dport = 6011 }),
		     CONNS({ .dport = 22 }, { .dport = 6005 }));
}

Test(evaluator_match, named_ports_without_selector)
{
	/* No selector on the side: the named port of every endpoint, whatever its namespace or
	 * node, even in a NetworkPolicy (Calico resolves it on all()). */
	expect_conns(NP(WEB, "[{action: Allow, protocol: TCP, destination: {ports: [http]}}]"),
		     CONNS({ .dport = 8080 },
			   { .dst = "198.18.4.10", .dport = 8081 } /* pod3, prod, node2 */,
			   { .dst = "198.18.3.10", .dport = 9090 } /* pod2, dev */,
			   { .dst = "198.18.0.1", .dport = 8000 } /* the host endpoint */),
		     CONNS({ .dport = 8081 }, { .dst = "198.18.3.10", .dport = 8080 }));
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
	expect_conns(NP(WEB, "[{action: Allow, protocol: TCP, destination: {selector: has(app), "
			     "ports: [http]}}]"),
		     CONNS({ .dport = 8080 }, { .dst = "198.18.4.10", .dport = 8081 }),
		     CONNS({ .dst = "198.18.3.10", .dport = 9090 } /* dev */,
			   { .dst = "198.18.0.1", .dport = 8000 }));
}

Test(evaluator_match, named_ports_with_selector_and_hep)
{
	expect_conns(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {selector: "
			      "app == 'db', ports: [http]}}, {action: Allow, protocol: TCP, "
			      "destination: {selector: role == 'ext', ports: [http, 22]}}]"),
		     CONNS({ .dst = "198.18.3.10", .dport = 9090 },
			   { .dst = "198.18.0.1", .dport = 8000 } /* the host endpoint's port */,
			   { .dst = "198.18.0.1", .dport = 22 } /* numeric, beside the named */),
		     CONNS({ .dport = 8080 } /* not app == db */,
			   { .dst = "198.18.0.1", .dport = 8080 }));
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
	expect_conns(GNP(WEB, "[{action: Allow, protocol: TCP, destination: {notPorts: [http]}}]"),
		     CONNS({ .dport = 8081 },
			   { .dst = "198.18.2.11", .dport = 8080 } /* not pod1's address */),
		     CONNS({ .dport = 8080 }));
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

/* A protocol by number is that protocol: 17 with ports is UDP with ports, "132" SCTP; UDPLite by
 * name is 136 (no ports in Calico's rules, so any). */
Test(evaluator_match, protocols_by_number_and_name)
{
	load(GNP(WEB, "[{action: Allow, protocol: 17, destination: {ports: [53]}},"
		      " {action: Allow, protocol: UDPLite},"
		      " {action: Allow, protocol: '132', destination: {ports: ['5000:5001']}}]"));
	cr_assert(proto_to_pod(PAL_PROTO_UDP, CLIENT, 53));
	cr_assert_not(proto_to_pod(PAL_PROTO_UDP, CLIENT, 54));
	cr_assert_not(proto_to_pod(PAL_PROTO_TCP, CLIENT, 53));
	cr_assert(proto_to_pod(136, CLIENT, 9));
	cr_assert(proto_to_pod(PAL_PROTO_SCTP, CLIENT, 5001));
	cr_assert_not(proto_to_pod(PAL_PROTO_SCTP, CLIENT, 5002));
}

Test(evaluator_match, nets_and_not_nets_v4_v6)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {nets: [198.18.100.0/24],"
			      " notNets: [198.18.100.128/25]}}, {action: Allow, source: {nets: "
			      "['2001:db8:100::/48']}}]"),
		     CONNS({ CLIENT }, { "2001:db8:100::5" }),
		     CONNS({ "198.18.100.200" }, { "198.18.102.1" }, { "2001:db8:101::5" }));
}

/* Calico (felix's FilterRuleToIPVersion, shared by its iptables, nftables and BPF dataplanes)
 * skips a rule for an IP version when a side's notNets, like its nets, hold no CIDR of that
 * version: an IPv4-only notNets neither admits nor denies IPv6 packets. */
Test(evaluator_match, not_nets_of_one_family_never_match_the_other)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {notNets: [198.18.100.0/24]}}]"),
		     CONNS({ "198.18.102.1" }),
		     CONNS({ CLIENT }, { "2001:db8:100::5" }));
	expect_conns(GNP(WEB, "[{action: Allow, source: {notNets: ['2001:db8:100::/48']}}]"),
		     CONNS({ "2001:db8:101::5" }),
		     CONNS({ "2001:db8:100::5" }, { CLIENT }));
	/* A Deny with IPv4 notNets leaves IPv6 packets to the rules after it. */
	load(GNP(WEB, "[{action: Deny, source: {notNets: [198.18.100.0/24]}}, {action: Allow}]"));
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "2001:db8:100::5", 1, POD1_V6, 80);
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);

	ct_expect(&v, true, PAL_STAGE_WORKLOAD, "p", 1);
	p = ct_pkt(PAL_PROTO_TCP, "198.18.102.1", 1, POD1, 80);
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	ct_expect(&v, false, PAL_STAGE_WORKLOAD, "p", 0);
}

/* Calico reads an IPv4-mapped CIDR as the IPv4 CIDR it maps (cnet.ParseCIDROrIP, To4: see
 * net/ipv4_mapped_cidrs_are_ipv4), in nets and notNets alike: a Deny of ::ffff:198.18.100.0/120
 * denies IPv4 198.18.100.0/24, and a rule with it is for IPv4 only. palisade kept it as an IPv6
 * net, which matches nothing (mapped packets are dropped as malformed): that Deny let IPv4 by. */
Test(evaluator_match, ipv4_mapped_nets_are_the_ipv4_nets)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {nets: ['::ffff:198.18.100.0/120']}}]"),
		     CONNS({ CLIENT }),
		     CONNS({ "198.18.102.1" }, { "2001:db8:100::5" }));
	expect_conns(GNP(WEB, "[{action: Allow, source: {notNets: ['::ffff:198.18.100.0/120']}}]"),
		     CONNS({ "198.18.102.1" }),
		     CONNS({ CLIENT }, { "2001:db8:100::5" }));
	load(GNP(WEB, "[{action: Deny, source: {nets: ['::ffff:198.18.100.0/120']}}, {action: Allow}]"));
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 1, POD1, 80);
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);

	ct_expect(&v, false, PAL_STAGE_WORKLOAD, "p", 0);
	p = ct_pkt(PAL_PROTO_TCP, "2001:db8:100::5", 1, POD1_V6, 80);
	v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);
	ct_expect(&v, true, PAL_STAGE_WORKLOAD, "p", 1);
	/* the validator counts it as IPv4 too: with ipVersion 4 it loads */
	load(GNP(WEB, "[{action: Allow, ipVersion: 4, source: {notNets: ['::ffff:198.18.100.0/120']}}]"));
}

Test(evaluator_match, ip_version)
{
	expect_conns(GNP(WEB, "[{action: Allow, ipVersion: 6}]"), CONNS({ "2001:db8:100::5" }),
		     CONNS({ CLIENT }));
}

Test(evaluator_match, selector_resolves_all_kinds)
{
	/* has(kind): both network sets; app == 'db': pod2; role == 'ext': the host endpoint. */
	expect_conns(GNP(WEB, "[{action: Allow, source: {selector: has(kind)}},"
			      " {action: Allow, source: {selector: app == 'db'}},"
			      " {action: Allow, source: {selector: role == 'ext'}}]"),
		     CONNS({ CLIENT }, { "198.18.101.7" }, { "2001:db8:100::9" }, { "198.18.3.10" },
			   { "198.18.0.1" }, { "2001:db8::1" }),
		     CONNS({ "198.18.4.10" } /* pod3 is app == web */, { "198.18.102.1" }));
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
	expect_conns(NP(WEB, "[{action: Allow, source: {notSelector: kind == 'wide'}}]"),
		     CONNS({ "198.18.101.1" } /* prod NetworkSet */,
			   { "198.18.4.10" } /* pod3, prod */),
		     CONNS({ POD1 } /* pod1, in wide */,
			   { "198.18.3.10" } /* pod2, dev: out of scope */,
			   { "198.18.102.1" } /* nothing: out of scope */));

	/* A GlobalNetworkPolicy: no scope, so only the exclusion. */
	expect_conns(GNP(WEB, "[{action: Allow, source: {notSelector: kind == 'clients'}}]"),
		     CONNS({ "198.18.102.1" }, { "198.18.3.10" }), CONNS({ CLIENT }));
}

/* Calico's selector fields are Go strings: "" is the same as leaving the field out, not all(). */
Test(evaluator_match, empty_selector_strings_are_absent)
{
	/* Any source, including addresses of no endpoint or network set (198.18.102.1). */
	expect_conns(GNP(WEB, "[{action: Allow, source: {selector: '', notSelector: '', "
			      "namespaceSelector: ''}}]"),
		     CONNS({ "198.18.102.1" }, { CLIENT }, { "198.18.3.10" }), CONNS({ NULL }));
	/* A NetworkPolicy's side stays scoped to its namespace (namespaceSelector '' is not all
	 * namespaces): pod2 (dev) is out, the prod NetworkSet in. */
	expect_conns(NP(WEB, "[{action: Allow, source: {selector: app == 'db' || has(kind), "
			     "namespaceSelector: ''}}]"),
		     CONNS({ "198.18.101.1" }), CONNS({ "198.18.3.10" }, { CLIENT }));
	/* serviceAccountSelector '' and namespaceSelector '' restrict nothing: the host endpoint
	 * is selected too. */
	load("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"
	     "spec:\n  serviceAccountSelector: ''\n  namespaceSelector: ''\n"
	     "  ingress: [{action: Deny}]\n");
	ct_expect_tierlist(&ct_ep(&T.ir, "ext")->normal[PAL_DIR_INGRESS], "default/p");
}

Test(evaluator_match, namespaced_selector_is_scoped)
{
	/* In a NetworkPolicy, `selector` only sees its namespace: the prod NetworkSet, not pod2. */
	expect_conns(NP(WEB, "[{action: Allow, source: {selector: kind == 'partners'}},"
			     " {action: Allow, source: {selector: app == 'db'}},"
			     " {action: Allow, source: {selector: kind == 'clients'}}]"),
		     CONNS({ "198.18.101.1" }), CONNS({ "198.18.3.10" }, { CLIENT }));
}

Test(evaluator_match, namespace_selector)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {namespaceSelector: env == 'dev'}}]"),
		     CONNS({ "198.18.3.10" }),
		     CONNS({ "198.18.101.1" } /* prod network set */,
			   { CLIENT } /* global network set */));

	/* selector AND namespaceSelector, from a NetworkPolicy (namespaceSelector overrides the
	 * policy's own namespace). projectcalico.org/name names a namespace. */
	expect_conns(NP(WEB, "[{action: Allow, source: {selector: app == 'db', namespaceSelector: "
			     "projectcalico.org/name == 'dev'}}]"),
		     CONNS({ "198.18.3.10" }), CONNS({ "198.18.4.10" }));

	/* namespaceSelector alone in a NetworkPolicy: everything in the matching namespaces. */
	expect_conns(NP(WEB, "[{action: Allow, source: {namespaceSelector: env == 'prod'}}]"),
		     CONNS({ "198.18.101.1" }, { "198.18.4.10" }), CONNS({ "198.18.3.10" }));
}

/* A rule's namespaceSelector as felix reads it (pcns. keys, all() as
 * has(projectcalico.org/namespace)): a negative one also matches host endpoints and
 * GlobalNetworkSets, which have no namespace labels; all() does not. */
Test(evaluator_match, negative_namespace_selector_matches_non_namespaced)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {namespaceSelector: env != 'dev'}}]"),
		     CONNS({ CLIENT } /* GlobalNetworkSet */, { "198.18.0.1" } /* host endpoint */,
			   { "198.18.101.1" } /* prod NetworkSet */),
		     CONNS({ "198.18.3.10" } /* pod2, dev */, { "198.18.102.1" } /* nothing */));
	expect_conns(GNP(WEB, "[{action: Allow, source: {namespaceSelector: all()}}]"),
		     CONNS({ "198.18.101.1" }, { "198.18.3.10" }),
		     CONNS({ CLIENT }, { "198.18.0.1" }));
}

Test(evaluator_match, namespace_selector_global)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {selector: has(kind) || has(role) || "
			      "has(app), namespaceSelector: global()}}]"),
		     CONNS({ CLIENT } /* GlobalNetworkSet */, { "198.18.0.1" } /* host endpoint */),
		     CONNS({ "198.18.101.1" } /* NetworkSet */, { "198.18.3.10" } /* workload */));
}

Test(evaluator_match, service_accounts)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {names: [db-sa]}}}]"),
		     CONNS({ "198.18.3.10" }), CONNS({ CLIENT }));
expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {selector: "
				"projectcalico.org/name == 'db-sa'}}}]"),
		       CONNS({ "198.18.3.10" }), CONNS({ POD1 }));

	/* Scoped to the policy's namespace: pod2 (dev) is not seen from prod. */
	expect_conns(NP(WEB, "[{action: Allow, source: {serviceAccounts: {names: [db-sa, "
			     "web-sa]}}}]"),
		     CONNS({ POD1 }), CONNS({ "198.18.3.10" }));
}

/* A rule's serviceAccounts.selector as Calico reads it (RuleAPIV2ToBackend): its keys prefixed
 * pcsa. and matched against the labels of every endpoint and network set in the side's scope,
 * all() kept as all(). So a negative selector, or all(), also matches what has no service account:
 * pod3, host endpoints and network sets (palisade matched only workloads with one before). names
 * still need the service account (projectcalico.org/serviceaccount in {...}). */
Test(evaluator_match, negative_service_account_selector_matches_endpoints_without_one)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {selector: "
			      "projectcalico.org/name != 'db-sa'}}}]"),
		     CONNS({ POD1 }, { "198.18.4.10" } /* pod3, no service account */,
			   { "198.18.0.1" } /* host endpoint */, { CLIENT } /* GlobalNetworkSet */,
			   { "198.18.101.1" } /* prod NetworkSet */),
		     CONNS({ "198.18.3.10" } /* pod2, db-sa */, { "198.18.102.1" } /* nothing */));
	expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {selector: all()}}}]"),
		     CONNS({ POD1 }, { "198.18.4.10" }, { "198.18.0.1" }, { CLIENT },
			   { "198.18.3.10" }),
		     CONNS({ "198.18.102.1" }));
	/* Scoped to the policy's namespace: prod's workloads and NetworkSet only. */
	expect_conns(NP(WEB, "[{action: Allow, source: {serviceAccounts: {selector: "
			     "'!has(team)'}}}]"),
		     CONNS({ POD1 }, { "198.18.4.10" }, { "198.18.101.1" }),
		     CONNS({ "198.18.0.1" }, { CLIENT }, { "198.18.3.10" }));
	/* With a selector, one endpoint must match both (Calico ANDs them into one selector): pod1's
	 * address is also in GlobalNetworkSet wide, which has no service account, but pod1 itself
	 * (web-sa) does not match, so it is out; pod3 (app web, none) is in. */
	expect_conns(GNP(WEB, "[{action: Allow, source: {selector: app == 'web', serviceAccounts: "
			      "{selector: projectcalico.org/name != 'web-sa'}}}]"),
		     CONNS({ "198.18.4.10" }),
		     CONNS({ POD1 }, { "198.18.3.10" }, { CLIENT }, { "198.18.0.1" }));
	/* names with a selector: both must match, so pod3 (no service account) is out. */
	expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {names: [web-sa, db-sa], "
			      "selector: projectcalico.org/name != 'db-sa'}}}]"),
		     CONNS({ POD1 }),
		     CONNS({ "198.18.4.10" }, { "198.18.0.1" }, { CLIENT }, { "198.18.3.10" }));
}

/* serviceAccounts without names or selector restricts nothing in Calico (felix turns the match
 * into an empty selector), so any source matches. */
Test(evaluator_match, empty_service_accounts_match_restricts_nothing)
{
	expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {}}}]"),
		     CONNS({ "198.18.102.1" }, { CLIENT }, { "198.18.3.10" }), CONNS({ NULL }));
	expect_conns(GNP(WEB, "[{action: Allow, source: {serviceAccounts: {names: [], "
			      "selector: ''}}}]"),
		     CONNS({ "198.18.102.1" }, { CLIENT }, { "198.18.3.10" }), CONNS({ NULL }));
}

/* A policy without selector selects all() (Calico's empty selector): every endpoint for a
 * GlobalNetworkPolicy, host endpoints included; every workload of its namespace for a
 * NetworkPolicy. Also with `spec` left out altogether. */
Test(evaluator_match, absent_policy_selector_selects_all)
{
	load("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\n"
	     "spec:\n  ingress: [{action: Deny}]\n---\n"
	     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
	     "metadata: {name: n, namespace: prod}\nspec:\n  ingress: [{action: Deny}]\n---\n"
	     "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	     "metadata: {name: nospec}\n");
	ct_expect_tierlist(&ct_ep(&T.ir, "ext")->normal[PAL_DIR_INGRESS], "default/g default/nospec");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS],
			   "default/g default/nospec default/n");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod2")->normal[PAL_DIR_INGRESS], "default/g default/nospec");
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

/* Calico folds a GlobalNetworkPolicy's namespaceSelector (serviceAccountSelector) into its
 * selector with the pcns. (pcsa.) prefix and reads every all() of the result as
 * has(projectcalico.org/namespace) (has(projectcalico.org/serviceaccount)). A host endpoint has
 * none of those labels, so a negative namespaceSelector selects it unless the policy's own
 * selector is all(). */
Test(evaluator_match, global_policy_negative_namespace_selector_selects_host_endpoints)
{
	load("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"
	     "spec:\n  namespaceSelector: env != 'dev'\n  ingress: [{action: Deny}]\n---\n"
	     "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: q}\n"
	     "spec:\n  selector: all()\n  namespaceSelector: env != 'dev'\n"
	     "  ingress: [{action: Deny}]\n---\n"
	     "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: r}\n"
	     "spec:\n  selector: has(role)\n  serviceAccountSelector: '!has(team)'\n"
	     "  ingress: [{action: Deny}]\n---\n"
	     "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: s}\n"
	     "spec:\n  namespaceSelector: all()\n  ingress: [{action: Deny}]\n");
	ct_expect_tierlist(&ct_ep(&T.ir, "ext")->normal[PAL_DIR_INGRESS], "default/p default/r");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod1")->normal[PAL_DIR_INGRESS],
			   "default/p default/q default/s");
	ct_expect_tierlist(&ct_ep(&T.ir, "pod2")->normal[PAL_DIR_INGRESS], "default/s");
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

/* Kubernetes' API server labels every namespace kubernetes.io/metadata.name=<name>, and upstream
 * NetworkPolicies (the netpol e2e suite among them) select namespaces by it. The fixture's
 * Namespaces, as policy files often are, do not carry it: the compiler adds it, always to the
 * namespace's name. */
Test(evaluator_match, k8s_namespace_name_label)
{
	load("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	     "metadata: {name: k, namespace: prod}\n"
	     "spec:\n"
	     "  podSelector: {matchLabels: {app: web}}\n"
	     "  ingress:\n"
	     "  - from:\n"
	     "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}\n");
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.3.10", 1, POD1, 80); /* pod2, dev */

	ct_eval_expect(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p,
		       true, PAL_STAGE_WORKLOAD, NULL, -2);
	p = ct_pkt(PAL_PROTO_TCP, "198.18.4.10", 1, POD1, 80); /* pod3, prod */
	ct_eval_expect(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p,
		       false, PAL_STAGE_WORKLOAD, NULL, -1);
}
