/* One test per Calico validation rule: each loads a failing input and checks the message names
 * the right file:line:col and field path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_model_util.h"

/* Body lines start at line 6 (see mt_gnp). */
static void gnp_error(const char *body, const char *where, const char *path, const char *msg)
{
	char *y = mt_gnp(body);

	mt_check_error(y, where, path, msg);
	free(y);
}

static void gnp_clean(const char *body)
{
	char *y = mt_gnp(body);
	struct mtest t;

	mt_check_clean(&t, y);
	cr_assert_eq(t.m.policies.n, 1);
	mt_free(&t);
	free(y);
}

Test(model_validation, prednat_and_donottrack_not_both)
{
	gnp_error("  preDNAT: true\n"
		  "  doNotTrack: true\n"
		  "  applyOnForward: true\n",
		  "6:12", "spec.preDNAT", "preDNAT and doNotTrack cannot both be true");
}

Test(model_validation, prednat_no_egress_rules)
{
	gnp_error("  preDNAT: true\n"
		  "  applyOnForward: true\n"
		  "  egress:\n"
		  "    - action: Allow\n",
		  "9:5", "spec.egress", "preDNAT policy cannot have egress rules");
}

Test(model_validation, prednat_no_egress_type)
{
	gnp_error("  preDNAT: true\n"
		  "  applyOnForward: true\n"
		  "  types: [Ingress, Egress]\n",
		  "8:20", "spec.types[1]", "preDNAT policy cannot have the Egress type");
}

Test(model_validation, donottrack_requires_apply_on_forward)
{
	gnp_error("  doNotTrack: true\n", "6:15", "spec.doNotTrack",
		  "doNotTrack requires applyOnForward: true");
}

Test(model_validation, prednat_with_apply_on_forward_false)
{
	gnp_error("  preDNAT: true\n"
		  "  applyOnForward: false\n",
		  "7:19", "spec.applyOnForward", "applyOnForward must be true when preDNAT is true");
}

Test(model_validation, prednat_with_apply_on_forward_ok)
{
	gnp_clean("  preDNAT: true\n"
		  "  applyOnForward: true\n"
		  "  ingress: [{action: Allow}]\n");
}

Test(model_validation, types_invalid_value)
{
	gnp_error("  types: [Ingres]\n", "6:11", "spec.types[0]", "invalid policy type \"Ingres\"");
}

Test(model_validation, types_duplicate)
{
	gnp_error("  types: [Egress, Egress]\n", "6:19", "spec.types[1]",
		  "'Egress' type specified more than once");
}

static void check_types(const char *body, bool in, bool eg)
{
	char *y = mt_gnp(body);
	struct mtest t;

	mt_check_clean(&t, y);
	cr_assert_eq(t.m.policies.n, 1);
	cr_assert_eq(t.m.policies.v[0].types_ingress, in, "ingress for:\n%s", body);
	cr_assert_eq(t.m.policies.v[0].types_egress, eg, "egress for:\n%s", body);
	mt_free(&t);
	free(y);
}

Test(model_validation, types_defaulting)
{
	check_types("  selector: all()\n", true, false);
	check_types("  ingress: [{action: Allow}]\n", true, false);
	check_types("  egress: [{action: Allow}]\n", false, true);
	check_types("  ingress: [{action: Allow}]\n  egress: [{action: Deny}]\n", true, true);
	check_types("  egress: []\n", true, false);
	check_types("  types: [Egress]\n", false, true);
	check_types("  types: [Egress, Ingress]\n  egress: [{action: Allow}]\n", true, true);
	/* An empty list is no list to Calico (len(types) == 0): defaulted, not "no direction". */
	check_types("  types: []\n  egress: [{action: Allow}]\n", false, true);
	check_types("  types: []\n", true, false);
}

Test(model_validation, ports_need_protocol)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        ports: [80]\n",
		  "9:16", "spec.ingress[0].destination.ports",
		  "numeric ports need protocol TCP, UDP or SCTP");
}

/* semantics.md 3.2: named ports may go without a protocol (they take the endpoint's). A numeric
 * item beside them still needs one, and a port-less protocol rejects them. */
Test(model_validation, named_ports_without_protocol)
{
	struct mtest t;
	char *ok = mt_gnp("  egress:\n"
			  "    - action: Allow\n"
			  "      destination:\n"
			  "        ports: [http, metrics]\n");

	mt_check_clean(&t, ok);
	cr_assert_eq(t.m.policies.n, 1);
	mt_free(&t);
	free(ok);
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        ports: [http, 80]\n",
		  "9:16", "spec.egress[0].destination.ports",
		  "numeric ports need protocol TCP, UDP or SCTP");
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMP\n"
		  "      destination:\n"
		  "        ports: [http]\n",
		  "10:16", "spec.egress[0].destination.ports",
		  "rules that specify ports must set protocol to TCP, UDP or SCTP");
}

Test(model_validation, not_ports_need_port_protocol)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMP\n"
		  "      source:\n"
		  "        notPorts: [80]\n",
		  "10:19", "spec.ingress[0].source.notPorts",
		  "rules that specify ports must set protocol to TCP, UDP or SCTP");
}

Test(model_validation, port_formats)
{
	char *y = mt_gnp("  ingress:\n"
			 "    - action: Allow\n"
			 "      protocol: SCTP\n"
			 "      destination:\n"
			 "        ports: [80, \"443\", \"1000:2000\", http, 5:6]\n");
	struct mtest t;
	const struct pal_entity *d;

	mt_check_clean(&t, y);
	d = &t.m.policies.v[0].ingress.v[0].dst;
	cr_assert_eq(d->n_ports, 5);
	cr_assert(d->ports[0].first == 80 && d->ports[0].last == 80 && !d->ports[0].name);
	cr_assert(d->ports[1].first == 443 && d->ports[1].last == 443);
	cr_assert(d->ports[2].first == 1000 && d->ports[2].last == 2000);
	cr_assert_str_eq(d->ports[3].name, "http");
	cr_assert(d->ports[4].first == 5 && d->ports[4].last == 6);
	cr_assert_eq(d->ports[2].pos.line, 10);
	mt_free(&t);
	free(y);
}

static void port_error(const char *item, const char *msg)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "  ingress:\n"
		 "    - action: Allow\n"
		 "      protocol: TCP\n"
		 "      destination:\n"
		 "        ports: [%s]\n",
		 item);
	gnp_error(body, "10:17", "spec.ingress[0].destination.ports[0]", msg);
}

Test(model_validation, port_zero_invalid)
{
	port_error("0", "port number must be between 1 and 65535");
}

Test(model_validation, port_too_large)
{
	port_error("65536", "port 65536 is out of range");
}

Test(model_validation, port_range_reversed)
{
	port_error("\"2000:1000\"", "the first port is greater than the last");
}

Test(model_validation, port_name_invalid)
{
	port_error("Bad_Name", "invalid port name \"Bad_Name\"");
}

/* Kubernetes port names (IsValidPortName) may start with a digit; Calico takes "8080-tcp" as a
 * named port. "80-90" has no letter: neither a name nor a range. */
Test(model_validation, port_name_may_start_with_a_digit)
{
	gnp_clean("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: TCP\n"
		  "      destination:\n"
		  "        ports: [8080-tcp, 9p]\n");
	port_error("80-90", "invalid port name \"80-90\"");
}

Test(model_validation, icmp_type_range)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMP\n"
		  "      icmp:\n"
		  "        type: 255\n",
		  "10:15", "spec.ingress[0].icmp.type", "255 is out of range; must be between 0 and 254");
}

Test(model_validation, icmp_code_range)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMP\n"
		  "      icmp:\n"
		  "        type: 8\n"
		  "        code: 256\n",
		  "11:15", "spec.ingress[0].icmp.code", "256 is out of range; must be between 0 and 255");
}

Test(model_validation, icmp_code_needs_type)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMP\n"
		  "      notICMP:\n"
		  "        code: 1\n",
		  "10:15", "spec.ingress[0].notICMP.code", "ICMP code specified without an ICMP type");
}

Test(model_validation, icmp_needs_icmp_protocol)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: TCP\n"
		  "      icmp: {type: 8}\n",
		  "9:13", "spec.ingress[0].icmp", "must set protocol to ICMP or ICMPv6");
}

Test(model_validation, icmp_values_kept)
{
	char *y = mt_gnp("  ingress:\n"
			 "    - action: Allow\n"
			 "      protocol: ICMPv6\n"
			 "      icmp: {type: 128, code: 0}\n");
	struct mtest t;
	const struct pal_rule *r;

	mt_check_clean(&t, y);
	r = &t.m.policies.v[0].ingress.v[0];
	cr_assert(r->has_icmp && r->icmp.has_type && r->icmp.type == 128);
	cr_assert(r->icmp.has_code && r->icmp.code == 0);
	cr_assert_eq(r->protocol.num, 58);
	mt_free(&t);
	free(y);
}

Test(model_validation, protocol_name_case)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: icmp\n",
		  "8:17", "spec.ingress[0].protocol", "did you mean \"ICMP\"?");
}

Test(model_validation, protocol_number_zero)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      notProtocol: 0\n",
		  "8:20", "spec.ingress[0].notProtocol", "protocol number 0 is invalid; must be 1-255");
}

Test(model_validation, protocol_number_too_big)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: 256\n",
		  "8:17", "spec.ingress[0].protocol", "protocol number 256 is invalid");
}

Test(model_validation, protocol_names_and_numbers)
{
	char *y = mt_gnp("  ingress:\n"
			 "    - {action: Allow, protocol: UDPLite}\n"
			 "    - {action: Allow, protocol: \"47\"}\n"
			 "    - {action: Allow, protocol: 132}\n");
	struct mtest t;

	mt_check_clean(&t, y);
	cr_assert_eq(t.m.policies.v[0].ingress.v[0].protocol.num, 136);
	cr_assert_eq(t.m.policies.v[0].ingress.v[1].protocol.num, 47);
	cr_assert_eq(t.m.policies.v[0].ingress.v[2].protocol.num, 132);
	mt_free(&t);
	free(y);
}

/* Calico's Protocol.SupportsPorts reads numbers too ("6", 17, 132 take ports); UDPLite, though
 * it has ports on the wire, is not one of Calico's port protocols, and neither is ICMP by number. */
Test(model_validation, port_protocols_by_number)
{
	char *y = mt_gnp("  ingress:\n"
			 "    - {action: Allow, protocol: 6, destination: {ports: [80]}}\n"
			 "    - {action: Allow, protocol: \"17\", source: {notPorts: ['1:1023']}}\n"
			 "    - {action: Allow, protocol: 132, destination: {ports: [http]}}\n");
	struct mtest t;

	mt_check_clean(&t, y);
	cr_assert_eq(t.m.policies.v[0].ingress.v[0].protocol.num, 6);
	cr_assert_eq(t.m.policies.v[0].ingress.v[1].protocol.num, 17);
	cr_assert_eq(t.m.policies.v[0].ingress.v[2].protocol.num, 132);
	mt_free(&t);
	free(y);
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: UDPLite\n"
		  "      destination:\n"
		  "        ports: [80]\n",
		  "10:16", "spec.ingress[0].destination.ports",
		  "rules that specify ports must set protocol to TCP, UDP or SCTP");
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: 1\n"
		  "      destination:\n"
		  "        ports: [80]\n",
		  "10:16", "spec.ingress[0].destination.ports",
		  "rules that specify ports must set protocol to TCP, UDP or SCTP");
}

/* A rule's metadata holds annotations only, checked as object annotations (Calico's
 * validateRuleMetadata), and kept: they carry no match. */
Test(model_validation, rule_metadata_annotations)
{
	char *y = mt_gnp("  ingress:\n"
			 "    - action: Allow\n"
			 "      metadata: {annotations: {from: frontend, example.com/to: db}}\n");
	struct mtest t;
	const struct pal_rule *r;

	mt_check_clean(&t, y);
	r = &t.m.policies.v[0].ingress.v[0];
	cr_assert_str_eq(pal_labels_get(&r->annotations, "from"), "frontend");
	cr_assert_str_eq(pal_labels_get(&r->annotations, "example.com/to"), "db");
	mt_free(&t);
	free(y);
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      metadata: {annotations: {'bad key!': x}}\n",
		  "8:32", "spec.ingress[0].metadata.annotations.bad key!",
		  "invalid annotation key \"bad key!\"");
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      metadata: {labels: {a: b}}\n",
		  "8:18", "spec.ingress[0].metadata.labels", "unknown field \"labels\"");
}

Test(model_validation, invalid_cidr)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        nets: [10.0.0.0/33]\n",
		  "9:16", "spec.ingress[0].source.nets[0]", "invalid CIDR \"10.0.0.0/33\"");
}

/* Calico rejects rule nets with host bits set: "198.18.5.9/16" is more likely a typo than a /16. */
Test(model_validation, rule_nets_host_bits)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        nets: [198.18.0.0/16, 198.18.5.9/16]\n",
		  "9:31", "spec.ingress[0].source.nets[1]",
		  "invalid CIDR \"198.18.5.9/16\": host bits are set; did you mean \"198.18.0.0/16\"?");
	gnp_error("  egress:\n"
		  "    - action: Deny\n"
		  "      destination:\n"
		  "        notNets: [\"2001:db8::1/32\"]\n",
		  "9:19", "spec.egress[0].destination.notNets[0]",
		  "invalid CIDR \"2001:db8::1/32\": host bits are set; did you mean \"2001:db8::/32\"?");
}

/* Full-length prefixes and bare addresses have no host bits to set. */
Test(model_validation, rule_nets_exact_prefixes_ok)
{
	gnp_clean("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        nets: [198.18.5.9/32, 198.18.5.9, 0.0.0.0/0]\n"
		  "        notNets: [198.18.5.0/24]\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        nets: [\"2001:db8::1/128\", \"2001:db8::/32\"]\n");
}

/* Network sets stay lenient, as Calico's are: the host bits are cleared. */
Test(model_validation, network_set_host_bits_cleared)
{
	struct mtest t;
	char buf[PAL_CIDR_STRLEN];

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: GlobalNetworkSet\n"
			   "metadata: {name: s}\n"
			   "spec: {nets: [198.18.5.9/16]}\n");
	cr_assert_eq(t.m.network_sets.n, 1);
	cr_assert_str_eq(pal_cidr_str(&t.m.network_sets.v[0].nets[0], buf), "198.18.0.0/16");
	mt_free(&t);
}

Test(model_validation, nets_match_ip_version)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      ipVersion: 4\n"
		  "      source:\n"
		  "        nets: [\"2001:db8::/32\"]\n",
		  "10:15", "spec.ingress[0].source.nets", "rule IP version doesn't match CIDR version");
	/* notNets too (Calico's scanNets reads all four lists). */
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      ipVersion: 6\n"
		  "      destination:\n"
		  "        notNets: [10.0.0.0/8]\n",
		  "10:18", "spec.ingress[0].destination.notNets",
		  "rule IP version doesn't match CIDR version");
}

Test(model_validation, nets_not_mixed_families)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        nets: [10.0.0.0/8]\n"
		  "      destination:\n"
		  "        notNets: [\"2001:db8::/32\"]\n",
		  "11:18", "spec.ingress[0].destination.notNets", "both IPv4 and IPv6 CIDRs");
}

Test(model_validation, icmpv6_needs_ipv6)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMPv6\n"
		  "      ipVersion: 4\n",
		  "9:18", "spec.ingress[0].ipVersion", "must set ipVersion to 6 with protocol ICMPv6");
}

Test(model_validation, icmp_needs_ipv4)
{
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      notProtocol: ICMP\n"
		  "      ipVersion: 6\n",
		  "9:18", "spec.egress[0].ipVersion", "must set ipVersion to 4 with protocol ICMP");
}

Test(model_validation, ip_version_values)
{
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      ipVersion: 5\n",
		  "8:18", "spec.egress[0].ipVersion", "ipVersion must be 4 or 6");
}

Test(model_validation, not_nets_match_all_v4)
{
	gnp_error("  ingress:\n"
		  "    - action: Deny\n"
		  "      source:\n"
		  "        notNets: [0.0.0.0/0]\n",
		  "9:19", "spec.ingress[0].source.notNets[0]", "0.0.0.0/0 is not allowed in notNets");
}

Test(model_validation, not_nets_match_all_v6)
{
	gnp_error("  ingress:\n"
		  "    - action: Deny\n"
		  "      destination:\n"
		  "        notNets: [\"::/0\"]\n",
		  "9:19", "spec.ingress[0].destination.notNets[0]", "::/0 is not allowed in notNets");
}

Test(model_validation, global_not_in_entity_selector)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        selector: global()\n",
		  "9:19", "spec.ingress[0].source.selector",
		  "global() can only be used in an EntityRule namespaceSelector");
}

Test(model_validation, global_not_in_service_account_selector)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        serviceAccounts:\n"
		  "          selector: global()\n",
		  "10:21", "spec.ingress[0].source.serviceAccounts.selector",
		  "global() can only be used in an EntityRule namespaceSelector");
}

Test(model_validation, global_whole_namespace_selector_only)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        namespaceSelector: global() && a == 'b'\n",
		  "9:28", "spec.ingress[0].source.namespaceSelector",
		  "global() cannot be combined with other selectors");
	/* Calico's validator wants the one token: the same meaning spelled otherwise is refused. */
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        namespaceSelector: (global())\n",
		  "9:28", "spec.ingress[0].source.namespaceSelector",
		  "global() cannot be combined with other selectors");
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        namespaceSelector: '!!global()'\n",
		  "9:28", "spec.ingress[0].destination.namespaceSelector",
		  "global() cannot be combined with other selectors");
}

Test(model_validation, global_namespace_selector_ok)
{
	gnp_clean("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        namespaceSelector: global()\n");
	gnp_clean("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        namespaceSelector: ' global(\t) '\n");
}

Test(model_validation, global_not_in_policy_selector)
{
	gnp_error("  selector: global()\n", "6:13", "spec.selector",
		  "global() can only be used in an EntityRule namespaceSelector");
}

/* head followed by n items, item i printed with fmt from (i / 250, i % 250 + 1). */
static char *many_items(const char *head, const char *fmt, int n)
{
	size_t cap = strlen(head) + 64 + (size_t)n * 40;
	char *s = malloc(cap);
	size_t len = (size_t)sprintf(s, "%s", head);

	cr_assert_not_null(s);
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, fmt, i / 250, i % 250 + 1);
	return s;
}

/* The lists with a size limit: one item more than the limit is an error at the first item (where),
 * naming the list (path) and both numbers (msg); the limit itself loads. */
static const struct limit_case {
	const char *head, *item;
	int limit;
	const char *where, *path, *msg;
} limit_cases[] = {
	{ "  egress:\n", "    - action: Allow\n", 1024, "7:5", "spec.egress",
	  "too many rules: 1025, at most 1024" },
	{ "  ingress:\n    - action: Allow\n      source:\n        nets:\n",
	  "          - 10.0.%d.%d\n", 256, "10:11", "spec.ingress[0].source.nets",
	  "too many entries: 257, at most 256" },
	{ "  ingress:\n    - action: Allow\n      protocol: TCP\n"
	  "      destination:\n        ports:\n",
	  /* i / 250 is 0 here and %.0d prints nothing: plain decimal ports 1 to 51 (a plain 0010
	   * is octal 8 to YAML 1.1 readers and refused). */
	  "          - %.0d%d\n", 50, "11:11", "spec.ingress[0].destination.ports",
	  "too many ports: 51, at most 50" },
};

Test(model_validation, limits_of_rules_nets_and_ports)
{
	for (size_t i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		const struct limit_case *c = &limit_cases[i];
		char *body = many_items(c->head, c->item, c->limit + 1);

		cr_log_info("%s: %d items", c->path, c->limit + 1);
		gnp_error(body, c->where, c->path, c->msg);
		free(body);
		body = many_items(c->head, c->item, c->limit);
		gnp_clean(body);
		free(body);
	}
}

Test(model_validation, action_values)
{
	gnp_error("  ingress:\n"
		  "    - action: Accept\n",
		  "7:15", "spec.ingress[0].action", "must be Allow, Deny, Log or Pass");
}

Test(model_validation, action_required)
{
	gnp_error("  ingress:\n"
		  "    - protocol: TCP\n",
		  "7:7", "spec.ingress[0].action", "missing required field \"action\"");
}

Test(model_validation, order_is_number)
{
	gnp_error("  order: high\n", "6:10", "spec.order", "expected a number");
}

Test(model_validation, gnp_name_syntax)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata:\n"
		       "  name: Bad_Name\n",
		       "4:9", "metadata.name", "invalid policy name \"Bad_Name\"");
}

Test(model_validation, tier_default_action)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata:\n"
		       "  name: t1\n"
		       "spec:\n"
		       "  order: 100\n"
		       "  defaultAction: Allow\n",
		       "7:18", "spec.defaultAction",
		       "invalid defaultAction \"Allow\"; must be Deny or Pass");
}

Test(model_validation, tier_name_has_no_dots)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata:\n"
		       "  name: t.1\n",
		       "4:9", "metadata.name", "invalid tier name \"t.1\"");
}

Test(model_validation, default_tier_order_fixed)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata:\n"
		       "  name: default\n"
		       "spec:\n"
		       "  order: 5\n",
		       "6:10", "spec.order", "default tier order must be 1000000");
}

/* Calico's validateTier also fixes the order of the tiers of Kubernetes (baseline) admin network
 * policies, under their names before and after the kube-admin / kube-baseline renaming. */
Test(model_validation, admin_network_policy_tier_orders_fixed)
{
	static const char *const tiers[][2] = { { "adminnetworkpolicy", "1000" },
						{ "kube-admin", "1000" },
						{ "baselineadminnetworkpolicy", "10000000" },
						{ "kube-baseline", "10000000" } };

	for (size_t i = 0; i < 4; i++) {
		char y[256], msg[96];
		struct mtest t;

		snprintf(y, sizeof(y), "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
				       "  name: %s\nspec:\n  order: 10\n", tiers[i][0]);
		snprintf(msg, sizeof(msg), "%s tier order must be %s", tiers[i][0], tiers[i][1]);
		mt_check_error(y, "6:10", "spec.order", msg);
		/* (kube-admin and kube-baseline must also say defaultAction Pass: below) */
		snprintf(y, sizeof(y), "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
				       "  name: %s\nspec:\n  order: %s\n  defaultAction: Pass\n",
			 tiers[i][0], tiers[i][1]);
		mt_check_clean(&t, y);
		mt_free(&t);
	}
}

/* Calico's Tier CRD (the release that named them kube-admin / kube-baseline) requires these two to
 * say defaultAction Pass: Deny, or none (the CRD defaults it to Deny), is refused. The older names
 * keep what the resource says (Calico's validator fixed only their order). */
Test(model_validation, kube_admin_tiers_default_action_pass)
{
	static const char *const names[] = { "kube-admin", "kube-baseline" };
	static const char *const orders[] = { "1000", "10000000" };

	for (size_t i = 0; i < 2; i++) {
		char y[256], msg[96];
		struct mtest t;

		snprintf(msg, sizeof(msg), "the '%s' tier must have defaultAction Pass", names[i]);
		snprintf(y, sizeof(y), "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
				       "  name: %s\nspec:\n  defaultAction: Deny\n", names[i]);
		mt_check_error(y, "6:18", "spec.defaultAction", msg);
		snprintf(y, sizeof(y), "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
				       "  name: %s\nspec:\n  order: %s\n", names[i], orders[i]);
		mt_check_error(y, "6:3", "spec.defaultAction", msg);
		snprintf(y, sizeof(y), "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
				       "  name: %s\nspec: {defaultAction: Pass}\n", names[i]);
		mt_check_clean(&t, y);
		mt_free(&t);
	}
	struct mtest t;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
			   "  name: baselineadminnetworkpolicy\nspec:\n  defaultAction: Deny\n");
	mt_free(&t);
}

/* A HostEndpoint h of node n1, up to its spec's node: the rest of its spec follows. */
#define HEP_N1                                                                                    \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: h\nspec:\n"       \
	"  node: n1\n"

Test(model_validation, host_endpoint_needs_node)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: HostEndpoint\n"
		       "metadata:\n"
		       "  name: h\n"
		       "spec:\n"
		       "  interfaceName: eth0\n",
		       "6:3", "spec", "no node has been specified");
}

Test(model_validation, host_endpoint_needs_interface_or_ips)
{
	mt_check_error(HEP_N1,
		       "6:3", "spec", "no interface or expected IPs have been specified");
}

Test(model_validation, host_endpoint_interface_syntax)
{
	mt_check_error(HEP_N1
		       "  interfaceName: a-very-long-interface\n",
		       "7:18", "spec.interfaceName", "invalid interface name");
}

Test(model_validation, host_endpoint_expected_ips)
{
	mt_check_error(HEP_N1
		       "  expectedIPs: [10.0.0.1, 10.0.0.0/24]\n",
		       "7:27", "spec.expectedIPs[1]", "invalid IP address \"10.0.0.0/24\"");
}

Test(model_validation, host_endpoint_port_protocol)
{
	mt_check_error(HEP_N1
		       "  interfaceName: eth0\n"
		       "  ports:\n"
		       "    - {name: web, protocol: ICMP, port: 80}\n",
		       "9:29", "spec.ports[0].protocol", "endpoint port protocol must be TCP, UDP or SCTP");
}

Test(model_validation, workload_endpoint_single_addresses)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: WorkloadEndpoint\n"
		       "metadata:\n"
		       "  name: w\n"
		       "  namespace: ns1\n"
		       "spec:\n"
		       "  ipNetworks: [10.0.0.0/24]\n",
		       "7:16", "spec.ipNetworks[0]", "IP network contains multiple addresses");
}

Test(model_validation, selector_error_column_plain)
{
	gnp_error("  selector: app == 'web' &&& x\n", "6:28", "spec.selector", "invalid selector");
}

Test(model_validation, selector_error_column_quoted)
{
	gnp_error("  selector: \"app == 'web' &&& x\"\n", "6:29", "spec.selector", "invalid selector");
}

Test(model_validation, selector_in_rule_checked)
{
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        notSelector: has(\n",
		  "9:26", "spec.egress[0].destination.notSelector", "invalid selector");
}

Test(model_validation, service_account_selector_checked)
{
	gnp_error("  serviceAccountSelector: a ==\n", "6:31", "spec.serviceAccountSelector",
		  "invalid selector");
}

Test(model_validation, label_key_syntax)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkSet\n"
		       "metadata:\n"
		       "  name: s\n"
		       "  labels:\n"
		       "    -bad-: x\n",
		       "6:5", "metadata.labels.-bad-", "invalid label key \"-bad-\"");
}

Test(model_validation, label_value_length)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkSet\n"
		       "metadata:\n"
		       "  name: s\n"
		       "  labels:\n"
		       "    k: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		       "6:8", "metadata.labels.k", "must be no more than 63 characters");
}

Test(model_validation, label_value_must_be_string)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkSet\n"
		       "metadata:\n"
		       "  name: s\n"
		       "  labels:\n"
		       "    version: 1\n",
		       "6:14", "metadata.labels.version", "expected a string, got a number; quote it");
}

Test(model_validation, network_set_namespace_label_reserved)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: NetworkSet\n"
		       "metadata:\n"
		       "  name: s\n"
		       "  labels:\n"
		       "    projectcalico.org/namespace: x\n",
		       "6:34", "metadata.labels.projectcalico.org/namespace", "not a valid label name");
}

Test(model_validation, services_exclusive)
{
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        selector: a == 'b'\n"
		  "        services: {name: svc, namespace: ns}\n",
		  "10:19", "spec.egress[0].destination.services",
		  "cannot specify selector/notSelector and services on the same rule");
}

/* Calico's validateGlobalNetworkPolicySpec: a global policy has no namespace to default to. */
Test(model_validation, global_policy_services_need_a_namespace)
{
	gnp_error("  egress:\n"
		  "    - action: Allow\n"
		  "      destination:\n"
		  "        services: {name: svc}\n",
		  "9:19", "spec.egress[0].destination.services",
		  "a GlobalNetworkPolicy must specify the Service's namespace");
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        services: {name: svc, namespace: ''}\n",
		  "9:19", "spec.ingress[0].source.services",
		  "a GlobalNetworkPolicy must specify the Service's namespace");
	gnp_clean("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        services: {name: svc, namespace: ns}\n");
}

/* Calico Enterprise's DNS policy (destination.domains): palisade resolves no names, so it
 * refuses the rule with a message that says so, never a rule that matches nothing (a Deny of the
 * domains that lets them through) or everything. */
Test(model_validation, domains_refused)
{
	gnp_error("  egress:\n"
		  "    - action: Deny\n"
		  "      destination:\n"
		  "        domains: [example.com]\n",
		  "9:18", "spec.egress[0].destination.domains",
		  "domains (Calico Enterprise's DNS policy) is not supported by palisade");
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      source:\n"
		  "        domains: ['*.example.com']\n",
		  "9:18", "spec.ingress[0].source.domains", "is not supported by palisade");
}

/* Calico's validateRule compares the protocol with the names ICMP and ICMPv6. */
Test(model_validation, icmp_fields_need_the_protocol_by_name)
{
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: 1\n"
		  "      icmp: {type: 8}\n",
		  "9:13", "spec.ingress[0].icmp", "must set protocol to ICMP or ICMPv6 (by name");
	gnp_error("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: '58'\n"
		  "      icmp: {type: 128}\n",
		  "9:13", "spec.ingress[0].icmp", "must set protocol to ICMP or ICMPv6 (by name");
	gnp_clean("  ingress:\n"
		  "    - action: Allow\n"
		  "      protocol: ICMPv6\n"
		  "      icmp: {type: 128}\n");
}

Test(model_validation, http_only_allow)
{
	gnp_error("  ingress:\n"
		  "    - action: Deny\n"
		  "      http: {methods: [GET]}\n",
		  "8:13", "spec.ingress[0].http", "only valid for Allow rules");
}

/* ---- pal_model_validate: cross-resource checks ---- */

Test(model_validation, duplicate_names)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "---\n"
		       "apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n",
		       "5:1", "metadata.name", "duplicate GlobalNetworkPolicy \"p\"; first defined at t.yaml:1");
}

Test(model_validation, duplicate_namespaced_names_per_namespace)
{
	struct mtest t;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: p, namespace: a}\n"
			   "---\n"
			   "apiVersion: projectcalico.org/v3\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: p, namespace: b}\n");
	mt_free(&t);
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: NetworkSet\n"
		       "metadata: {name: s, namespace: a}\n"
		       "---\n"
		       "apiVersion: projectcalico.org/v3\n"
		       "kind: NetworkSet\n"
		       "metadata: {name: s, namespace: a}\n",
		       "5:1", "metadata.name", "duplicate NetworkSet \"a/s\"");
}

Test(model_validation, policy_tier_must_exist)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec: {tier: security}\n",
		       "4:14", "spec.tier", "tier \"security\" does not exist");
	/* At the value, also inside a list of resources. */
	mt_check_error("- apiVersion: projectcalico.org/v3\n"
		       "  kind: Tier\n"
		       "  metadata: {name: security}\n"
		       "- apiVersion: projectcalico.org/v3\n"
		       "  kind: NetworkPolicy\n"
		       "  metadata: {name: p, namespace: a}\n"
		       "  spec:\n"
		       "    order: 10\n"
		       "    tier: securty\n",
		       "9:11", "spec.tier", "tier \"securty\" does not exist");
}

/* Calico creates the tiers of Kubernetes admin network policies itself (both the names of
 * Calico 3.28-3.31, adminnetworkpolicy / baselineadminnetworkpolicy, and the newer kube-admin /
 * kube-baseline): a policy may name one without a Tier resource, as it may name default. */
Test(model_validation, builtin_admin_tiers_exist)
{
	static const char *const tiers[] = { "adminnetworkpolicy", "baselineadminnetworkpolicy",
					     "kube-admin", "kube-baseline" };

	for (size_t i = 0; i < 4; i++) {
		char y[256];
		struct mtest t;

		snprintf(y, sizeof(y), "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
				       "metadata: {name: %s.p}\nspec: {tier: %s}\n", tiers[i], tiers[i]);
		mt_check_clean(&t, y);
		mt_free(&t);
	}
	/* Other names are still checked. */
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec: {tier: kube-admins}\n",
		       "4:14", "spec.tier", "tier \"kube-admins\" does not exist");
}

static const char *two_tiers = "apiVersion: projectcalico.org/v3\n"
			       "kind: Tier\n"
			       "metadata: {name: t1}\n"
			       "spec: {order: 10}\n"
			       "---\n"
			       "apiVersion: projectcalico.org/v3\n"
			       "kind: Tier\n"
			       "metadata: {name: t2}\n"
			       "---\n";

static void tier_case(const char *policy_yaml, const char *where, const char *msg)
{
	char *y;

	if (asprintf(&y, "%s%s", two_tiers, policy_yaml) < 0)
		abort();
	if (msg) {
		mt_check_error(y, where, "metadata.name", msg);
	} else {
		struct mtest t;

		mt_check_clean(&t, y);
		mt_free(&t);
	}
	free(y);
}

Test(model_validation, tier_prefix_forms)
{
	/* Both forms accepted. */
	tier_case("apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: t1.p}\n"
		  "spec: {tier: t1}\n",
		  NULL, NULL);
	tier_case("apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: p}\n"
		  "spec: {tier: t1}\n",
		  NULL, NULL);
	/* A prefix naming another tier. */
	tier_case("apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: t2.p}\n"
		  "spec: {tier: t1}\n",
		  "10:1", "has tier prefix \"t2\" but spec.tier is \"t1\"");
	tier_case("apiVersion: projectcalico.org/v3\n"
		  "kind: NetworkPolicy\n"
		  "metadata: {name: t1.p, namespace: x}\n",
		  "10:1", "has tier prefix \"t1\" but spec.tier is \"default\"");
	/* t1.p and p in tier t1 are the same policy. */
	tier_case("apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: t1.p}\n"
		  "spec: {tier: t1}\n"
		  "---\n"
		  "apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: p}\n"
		  "spec: {tier: t1}\n",
		  "15:1", "duplicate GlobalNetworkPolicy \"p\"");
	/* So are default.p and p in the default tier. */
	tier_case("apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: default.p}\n"
		  "---\n"
		  "apiVersion: projectcalico.org/v3\n"
		  "kind: GlobalNetworkPolicy\n"
		  "metadata: {name: p}\n",
		  "14:1", "duplicate GlobalNetworkPolicy \"p\"");
}

Test(model_validation, duplicate_tier)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata: {name: t1}\n"
		       "---\n"
		       "apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata: {name: t1}\n",
		       "5:1", "metadata.name", "duplicate Tier \"t1\"");
}

Test(model_validation, types_entries_must_be_names)
{
	gnp_error("  preDNAT: true\n"
		  "  applyOnForward: true\n"
		  "  types: [{a: b}, Egress]\n",
		  "8:11", "spec.types[0]", "invalid policy type");
}

/* A block scalar cannot be mapped column by column: the error points at the value and says
 * where in the selector the problem is. */
Test(model_validation, selector_error_in_block_scalar)
{
	gnp_error("  selector: >-\n"
		  "    app == 'a' &&\n"
		  "    )\n",
		  "6:13", "spec.selector", "(at column 15 of the selector)");
}

/* Calico's optional string fields are Go strings with omitempty: "" is the field left out. */
Test(model_validation, empty_optional_strings_are_absent)
{
	struct mtest t;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: p, namespace: ''}\n"
			   "spec: {tier: ''}\n"
			   "---\n"
			   "apiVersion: projectcalico.org/v3\n"
			   "kind: HostEndpoint\n"
			   "metadata: {name: h}\n"
			   "spec: {node: n1, interfaceName: '', expectedIPs: [198.18.0.1]}\n"
			   "---\n"
			   "apiVersion: projectcalico.org/v3\n"
			   "kind: WorkloadEndpoint\n"
			   "metadata: {name: w, namespace: n}\n"
			   "spec: {node: n1, interfaceName: cali1, ipNetworks: [198.18.0.2/32], mac: '', "
			   "containerID: '', serviceAccountName: '', ipv4Gateway: ''}\n");
	MT_EXPECT_COUNTS(&t, .policies = 1, .host_endpoints = 1, .workload_endpoints = 1);
	cr_assert_str_eq(t.m.policies.v[0].namespace, "default");
	cr_assert_str_eq(t.m.policies.v[0].tier, "default");
	cr_assert_null(t.m.host_endpoints.v[0].interface_name);
	cr_assert_null(t.m.workload_endpoints.v[0].service_account);
	mt_free(&t);
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: NetworkPolicy\n"
		       "metadata: {name: p, namespace: n}\n"
		       "spec:\n"
		       "  egress: [{action: Allow, destination: {services: {name: ''}}}]\n",
		       "5:52", "spec.egress[0].destination.services", "must specify a service name");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: HostEndpoint\n"
		       "metadata: {name: h}\n"
		       "spec: {node: '', interfaceName: eth0}\n",
		       "4:7", "spec", "no node has been specified");
}

/* Calico's validator: only AssumeNeededOnEveryNode, and at most once. */
Test(model_validation, performance_hints)
{
	gnp_clean("  performanceHints: [AssumeNeededOnEveryNode]\n");
	gnp_error("  performanceHints: [AssumeNeededOnEveryNode, AssumeNeededOnEveryNode]\n", "6:21",
		  "spec.performanceHints", "listed more than once");
	gnp_error("  performanceHints: [junk]\n", "6:21", "spec.performanceHints",
		  "unknown performance hint \"junk\"");
}
