/* networking.k8s.io/v1 NetworkPolicy translation (Calico's K8sNetworkPolicyToCalico). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_model_util.h"

#define K8S_HEAD                                                                                   \
	"apiVersion: networking.k8s.io/v1\n"                                                       \
	"kind: NetworkPolicy\n"                                                                    \
	"metadata:\n"                                                                              \
	"  name: np\n"                                                                             \
	"  namespace: prod\n"                                                                      \
	"spec:\n"
#define ORCH "projectcalico.org/orchestrator == 'k8s'"

/* Loads K8S_HEAD + body; asserts it is clean and translated into exactly one policy. */
static const struct pal_policy *k8s_load(struct mtest *t, const char *body)
{
	char *y;

	if (asprintf(&y, K8S_HEAD "%s", body) < 0)
		abort();
	mt_check_clean(t, y);
	free(y);
	cr_assert_eq(t->m.policies.n, 1);
	cr_assert_not_null(t->m.policies.v[0].selector);
	return &t->m.policies.v[0];
}

static void k8s_error(const char *body, const char *where, const char *path, const char *msg)
{
	char *y;

	if (asprintf(&y, K8S_HEAD "%s", body) < 0)
		abort();
	mt_check_error(y, where, path, msg);
	free(y);
}

static void port_eq(const struct pal_port *p, const char *name, unsigned first, unsigned last)
{
	if (name) {
		cr_assert_not_null(p->name);
		cr_assert_str_eq(p->name, name);
	} else {
		cr_assert_null(p->name, "unexpected named port %s", p->name);
		cr_assert_eq(p->first, first);
		cr_assert_eq(p->last, last);
	}
}

Test(model_k8s, header_fields)
{
	struct mtest t;
	const struct pal_policy *p = k8s_load(&t, "  podSelector: {}\n");

	cr_assert_eq(p->kind, PAL_POLICY_K8S);
	cr_assert_str_eq(p->name, "knp.default.np");
	cr_assert_str_eq(p->namespace, "prod");
	cr_assert_str_eq(p->tier, "default");
	cr_assert(p->has_order && p->order == 1000.0);
	/* Calico selects pods only: an empty podSelector becomes the orchestrator clause. */
	cr_assert_str_eq(p->selector_text, ORCH);
	cr_assert(p->types_ingress && !p->types_egress);
	cr_assert_eq(p->ingress.n, 0);
	cr_assert_eq(p->egress.n, 0);
	mt_free(&t);
}

Test(model_k8s, pod_selector_translation)
{
	struct mtest t;
	const struct pal_policy *p = k8s_load(&t, "  podSelector:\n"
						  "    matchLabels: {tier: back, app: db}\n"
						  "    matchExpressions:\n"
						  "      - {key: env, operator: In, values: [prod, stage]}\n"
						  "      - {key: zone, operator: NotIn, values: [a]}\n"
						  "      - {key: x, operator: Exists}\n"
						  "      - {key: y, operator: DoesNotExist}\n");

	cr_assert_str_eq(p->selector_text,
			 ORCH " && app == 'db' && tier == 'back' && env in { 'prod', 'stage' } && "
			      "zone not in { 'a' } && has(x) && ! has(y)");
	mt_free(&t);
}

Test(model_k8s, peers_one_rule_each)
{
	struct mtest t;
	const struct pal_policy *p = k8s_load(&t, "  podSelector: {}\n"
						  "  ingress:\n"
						  "    - from:\n"
						  "        - podSelector: {matchLabels: {app: web}}\n"
						  "        - namespaceSelector: {}\n"
						  "        - namespaceSelector: {matchLabels: {team: a}}\n"
						  "          podSelector: {}\n"
						  "        - ipBlock:\n"
						  "            cidr: 10.0.0.0/8\n"
						  "            except: [10.1.0.0/16, 10.2.0.0/16]\n");
	const struct pal_rule *r = p->ingress.v;
	char buf[PAL_CIDR_STRLEN];

	cr_assert_eq(p->ingress.n, 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(r[i].action, PAL_ACTION_ALLOW);
		cr_assert(!r[i].protocol.set);
		cr_assert_eq(r[i].dst.n_ports, 0);
		cr_assert_null(r[i].dst.selector_text);
		cr_assert_eq(r[i].pos.line, 9);
	}
	cr_assert_str_eq(r[0].src.selector_text, ORCH " && app == 'web'");
	cr_assert_null(r[0].src.namespace_selector_text);
	/* namespaceSelector {} = every namespace; the pod part is still only k8s pods. */
	cr_assert_str_eq(r[1].src.selector_text, ORCH);
	cr_assert_str_eq(r[1].src.namespace_selector_text, "all()");
	cr_assert_not_null(r[1].src.namespace_selector);
	cr_assert_str_eq(r[2].src.namespace_selector_text, "team == 'a'");
	cr_assert_str_eq(r[2].src.selector_text, ORCH);
	cr_assert_null(r[3].src.selector_text);
	cr_assert_eq(r[3].src.n_nets, 1);
	cr_assert_str_eq(pal_cidr_str(&r[3].src.nets[0], buf), "10.0.0.0/8");
	cr_assert_eq(r[3].src.n_not_nets, 2);
	cr_assert_str_eq(pal_cidr_str(&r[3].src.not_nets[1], buf), "10.2.0.0/16");
	mt_free(&t);
}

Test(model_k8s, no_peers_means_everyone)
{
	struct mtest t;
	const struct pal_policy *p = k8s_load(&t, "  podSelector: {}\n"
						  "  ingress:\n"
						  "    - {}\n"
						  "    - from: []\n"
						  "      ports: [{port: 22}]\n");

	cr_assert_eq(p->ingress.n, 2);
	cr_assert_null(p->ingress.v[0].src.selector_text);
	cr_assert_eq(p->ingress.v[0].src.n_nets, 0);
	cr_assert(!p->ingress.v[0].protocol.set);
	cr_assert_null(p->ingress.v[1].src.selector_text);
	cr_assert_eq(p->ingress.v[1].protocol.num, PAL_PROTO_TCP);
	port_eq(&p->ingress.v[1].dst.ports[0], NULL, 22, 22);
	mt_free(&t);
}

Test(model_k8s, ports_grouped_by_protocol_and_simplified)
{
	struct mtest t;
	const struct pal_policy *p = k8s_load(&t, "  podSelector: {}\n"
						  "  policyTypes: [Egress]\n"
						  "  egress:\n"
						  "    - to:\n"
						  "        - podSelector: {matchLabels: {a: b}}\n"
						  "        - ipBlock: {cidr: 192.0.2.0/24}\n"
						  "      ports:\n"
						  "        - port: 82\n"
						  "        - {protocol: UDP, port: 53}\n"
						  "        - port: 80\n"
						  "        - {port: 81, protocol: TCP}\n"
						  "        - port: metrics\n"
						  "        - {port: 9000, endPort: 9010}\n"
						  "        - {protocol: SCTP}\n");
	const struct pal_rule *r = p->egress.v;

	cr_assert(!p->types_ingress && p->types_egress);
	/* Protocols sorted by name (SCTP, TCP, UDP), one rule per peer for each. */
	cr_assert_eq(p->egress.n, 6);
	cr_assert_eq(r[0].protocol.num, PAL_PROTO_SCTP);
	cr_assert_eq(r[0].dst.n_ports, 0); /* protocol without port: every port */
	cr_assert_eq(r[1].protocol.num, PAL_PROTO_SCTP);
	cr_assert_eq(r[2].protocol.num, PAL_PROTO_TCP);
	cr_assert_str_eq(r[2].dst.selector_text, ORCH " && a == 'b'");
	cr_assert_eq(r[2].dst.n_ports, 3);
	port_eq(&r[2].dst.ports[0], "metrics", 0, 0);
	port_eq(&r[2].dst.ports[1], NULL, 80, 82);
	port_eq(&r[2].dst.ports[2], NULL, 9000, 9010);
	cr_assert_eq(r[3].protocol.num, PAL_PROTO_TCP);
	cr_assert_eq(r[3].dst.n_nets, 1);
	cr_assert_eq(r[3].dst.n_ports, 3);
	cr_assert_eq(r[4].protocol.num, PAL_PROTO_UDP);
	port_eq(&r[4].dst.ports[0], NULL, 53, 53);
	cr_assert_eq(r[5].protocol.num, PAL_PROTO_UDP);
	mt_free(&t);
}

Test(model_k8s, single_named_port_kept)
{
	struct mtest t;
	const struct pal_policy *p = k8s_load(&t, "  podSelector: {}\n"
						  "  ingress:\n"
						  "    - ports: [{port: http}]\n");

	cr_assert_eq(p->ingress.n, 1);
	cr_assert_eq(p->ingress.v[0].protocol.num, PAL_PROTO_TCP);
	port_eq(&p->ingress.v[0].dst.ports[0], "http", 0, 0);
	mt_free(&t);
}

Test(model_k8s, policy_types_defaulting)
{
	struct mtest t;
	const struct pal_policy *p;

	/* Kubernetes defaulting: Ingress always, Egress when there are egress rules. */
	p = k8s_load(&t, "  podSelector: {}\n"
			 "  egress: [{}]\n");
	cr_assert(p->types_ingress && p->types_egress);
	mt_free(&t);
	p = k8s_load(&t, "  podSelector: {}\n"
			 "  ingress: [{}]\n");
	cr_assert(p->types_ingress && !p->types_egress);
	mt_free(&t);
	/* Listed types win, even over present rules. */
	p = k8s_load(&t, "  podSelector: {}\n"
			 "  policyTypes: [Ingress]\n"
			 "  egress: [{}]\n");
	cr_assert(p->types_ingress && !p->types_egress);
	cr_assert_eq(p->egress.n, 1);
	mt_free(&t);
	p = k8s_load(&t, "  podSelector: {}\n"
			 "  policyTypes: [Ingress, Egress]\n");
	cr_assert(p->types_ingress && p->types_egress);
	mt_free(&t);
	/* An empty list is defaulted too (the API server tests len(policyTypes) == 0). */
	p = k8s_load(&t, "  podSelector: {}\n"
			 "  policyTypes: []\n"
			 "  egress: [{}]\n");
	cr_assert(p->types_ingress && p->types_egress);
	mt_free(&t);
}

/* The API server accepts a type listed twice (it only refuses more than two entries) and
 * Calico's converter reads the list as a set: such a policy must load, not be dropped. */
Test(model_k8s, policy_types_repeated)
{
	struct mtest t;
	const struct pal_policy *p;

	p = k8s_load(&t, "  podSelector: {}\n"
			 "  policyTypes: [Egress, Egress]\n"
			 "  ingress: [{}]\n");
	cr_assert(!p->types_ingress && p->types_egress);
	mt_free(&t);
	p = k8s_load(&t, "  podSelector: {}\n"
			 "  policyTypes: [Ingress, Ingress]\n");
	cr_assert(p->types_ingress && !p->types_egress);
	mt_free(&t);
	k8s_error("  podSelector: {}\n"
		  "  policyTypes: [Ingress, Egress, Ingress]\n",
		  "8:16", "spec.policyTypes", "may not specify more than two policyTypes");
}

Test(model_k8s, ipblock_exclusive_with_selectors)
{
	k8s_error("  podSelector: {}\n"
		  "  ingress:\n"
		  "    - from:\n"
		  "        - ipBlock: {cidr: 10.0.0.0/8}\n"
		  "          podSelector: {}\n",
		  "10:20", "spec.ingress[0].from[0].ipBlock", "ipBlock may not be combined");
}

Test(model_k8s, ipblock_except_inside_cidr)
{
	k8s_error("  podSelector: {}\n"
		  "  egress:\n"
		  "    - to:\n"
		  "        - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}\n",
		  "10:49", "spec.egress[0].to[0].ipBlock.except[0]",
		  "must be a strict subset of cidr 10.0.0.0/16");
}

Test(model_k8s, ipblock_cidr_syntax)
{
	k8s_error("  podSelector: {}\n"
		  "  egress:\n"
		  "    - to:\n"
		  "        - ipBlock: {cidr: 10.0.0.1}\n",
		  "10:27", "spec.egress[0].to[0].ipBlock.cidr", "invalid CIDR \"10.0.0.1\"");
}

Test(model_k8s, match_expression_operator)
{
	k8s_error("  podSelector:\n"
		  "    matchExpressions:\n"
		  "      - {key: a, operator: Equals, values: [b]}\n",
		  "9:28", "spec.podSelector.matchExpressions[0].operator", "invalid operator \"Equals\"");
}

Test(model_k8s, match_expression_in_needs_values)
{
	k8s_error("  podSelector:\n"
		  "    matchExpressions:\n"
		  "      - {key: a, operator: In}\n",
		  "9:9", "spec.podSelector.matchExpressions[0].values", "operator In needs at least one value");
}

Test(model_k8s, match_expression_exists_takes_no_values)
{
	k8s_error("  podSelector:\n"
		  "    matchExpressions:\n"
		  "      - {key: a, operator: Exists, values: [x]}\n",
		  "9:44", "spec.podSelector.matchExpressions[0].values", "operator Exists takes no values");
}

Test(model_k8s, end_port_needs_numeric_port)
{
	k8s_error("  podSelector: {}\n"
		  "  ingress:\n"
		  "    - ports: [{port: http, endPort: 90}]\n",
		  "9:37", "spec.ingress[0].ports[0].endPort", "endPort needs a numeric port");
}

Test(model_k8s, end_port_not_below_port)
{
	k8s_error("  podSelector: {}\n"
		  "  ingress:\n"
		  "    - ports: [{port: 100, endPort: 90}]\n",
		  "9:36", "spec.ingress[0].ports[0].endPort", "endPort 90 must be greater than or equal to port 100");
}

Test(model_k8s, port_protocols)
{
	k8s_error("  podSelector: {}\n"
		  "  ingress:\n"
		  "    - ports: [{protocol: ICMP}]\n",
		  "9:26", "spec.ingress[0].ports[0].protocol", "must be TCP, UDP or SCTP");
}

/* IntOrString: a quoted "80" is a port name, and names need a letter. */
Test(model_k8s, quoted_number_is_not_a_port_name)
{
	k8s_error("  podSelector: {}\n"
		  "  ingress:\n"
		  "    - ports: [{port: \"80\"}]\n",
		  "9:22", "spec.ingress[0].ports[0].port", "invalid port \"80\"");
}

Test(model_k8s, unknown_fields)
{
	k8s_error("  podSelector: {}\n"
		  "  ingress:\n"
		  "    - form: []\n",
		  "9:7", "spec.ingress[0].form", "unknown field \"form\"; did you mean \"from\"?");
}

Test(model_k8s, label_values_checked)
{
	k8s_error("  podSelector:\n"
		  "    matchLabels: {app: \"bad value\"}\n",
		  "8:24", "spec.podSelector.matchLabels.app", "invalid label value \"bad value\"");
}

Test(model_k8s, duplicate_with_calico_policy_name)
{
	struct mtest t;

	mt_load(&t, K8S_HEAD "  podSelector: {}\n"
			     "---\n"
			     "apiVersion: projectcalico.org/v3\n"
			     "kind: NetworkPolicy\n"
			     "metadata: {name: knp.default.np, namespace: prod}\n");
	mt_expect_error(&t, "9:1", "metadata.name", "duplicate NetworkPolicy \"prod/knp.default.np\"");
	mt_free(&t);
}
