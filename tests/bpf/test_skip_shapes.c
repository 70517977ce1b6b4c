/* The linear form's skipped scans (bpf/classify.h pal_small_match, any_bits built by
 * agent/dataplane/small_list.c) against the rule shapes most likely to put an entry that
 * constrains a field into that field's "every key satisfies it" set: negated matches (notNets,
 * notPorts, notProtocol, notICMP), a port range of every port but 0 beside packets without ports, an IPv4 /0
 * read by IPv6 packets, an ICMP type without a code, a Log entry the walk passes, and the tier's
 * end (the protocols no rule allows). Every packet of the grid below goes through the programs
 * twice, once with the list's linear form and once with its bitmap form (the slot emptied), and
 * both must decide as the reference evaluator: an entry wrongly in an any-set skips the scan
 * that removes it, and the linear form lets through (or drops) what the other two do not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "bpft.h"
#include "ir_random.h"
#include "test_compiler_util.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"

static const char *yaml =
	BT_YAML_HEP_H0(HOST4 ", '" HOST6 "'")
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: shapes}\n"
	"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP, source: {notNets: [198.19.1.0/24]}, "
	"destination: {ports: [81]}}\n"
	"  - {action: Deny, protocol: UDP, source: {nets: [198.19.3.0/24]}, "
	"destination: {notPorts: [53]}}\n"
	"  - {action: Deny, notProtocol: TCP, source: {nets: [198.19.4.0/24]}}\n"
	"  - {action: Deny, notProtocol: TCP, source: {nets: ['2001:db8:4::/48']}}\n"
	"  - {action: Deny, protocol: ICMP, source: {nets: [198.19.5.0/24]}, notICMP: {type: 8}}\n"
	"  - {action: Deny, protocol: UDP, source: {nets: [198.19.6.0/24]}, "
	"destination: {ports: ['1:65535']}}\n"
	"  - {action: Deny, protocol: ICMP, source: {nets: [198.19.7.0/24]}, icmp: {type: 3}}\n"
	"  - {action: Deny, protocol: TCP, source: {nets: [0.0.0.0/0]}, destination: {ports: [83]}}\n"
	"  - {action: Log, protocol: TCP, source: {nets: [198.19.8.0/24]}, "
	"destination: {ports: [82]}}\n"
	"  - {action: Deny, protocol: TCP, source: {notNets: [198.19.8.0/24]}, "
	"destination: {ports: [82]}}\n"
	"  - {action: Deny, protocol: TCP, source: {notNets: ['2001:db8:8::/48']}, "
	"destination: {ports: [82]}}\n"
	"  - {action: Allow, protocol: TCP}\n"
	"  - {action: Allow, protocol: UDP}\n"
	"  - {action: Allow, protocol: ICMP}\n";

BT_FIXTURE_SUITE(bpf_skip_shapes, bt_setup_compiled(&T, &C, yaml));

static const char *const sources[] = {
	"198.19.1.5", "198.19.2.5", "198.19.3.5", "198.19.4.5", "198.19.5.5",
	"198.19.6.5", "198.19.7.5", "198.19.8.5", "198.19.9.5", "2001:db8:1::5",
	"2001:db8:4::5", "2001:db8:8::5", "2001:db8:9::5",
};

/* What a source sends: protocol (0: ICMP of its family), ports or ICMP type/code. */
struct probe {
	uint8_t proto;
	uint16_t a, b; /* sport, dport; or type, code */
};

static const struct probe probes[] = {
	{ PAL_PROTO_TCP, 4000, 81 }, { PAL_PROTO_TCP, 4000, 82 }, { PAL_PROTO_TCP, 4000, 80 }, { PAL_PROTO_TCP, 4000, 83 },
	{ PAL_PROTO_UDP, 4000, 53 }, { PAL_PROTO_UDP, 4000, 54 }, { PAL_PROTO_UDP, 4000, 9 },
	{ PAL_PROTO_UDP, 0, 0 },     { PAL_PROTO_UDP, 65535, 65535 },
	{ 0, 8, 0 },                 { 0, 3, 0 },                 { 0, 3, 1 },
	{ 0, 0, 0 },                 { 0, 128, 0 },               { 47, 0, 0 }, /* GRE: no ports */
	{ PAL_PROTO_SCTP, 4000, 81 },
};

static struct pal_packet probe_packet(const char *src, const struct probe *p)
{
	const char *dst = strchr(src, ':') ? HOST6 : HOST4;

	if (!p->proto)
		return ct_icmp(src, dst, (uint8_t)p->a, (uint8_t)p->b);
	return ct_pkt(p->proto, src, p->a, dst, p->b);
}

/* Every source and probe through the programs: the datapath must decide as the evaluator.
 * Returns how many were allowed (the grid must hold both answers). */
static size_t grid_agrees(const char *form)
{
	size_t allowed = 0;
	char desc[256];

	for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++)
		for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
			struct pal_packet p = probe_packet(sources[s], &probes[k]);
			struct pal_verdict v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
			struct bt_result r;

			bt_flush_flows(&T);
			r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
			cr_expect_eq(r.allow, v.allow, "%s form: %s: datapath %s, evaluator %s (%s)",
				     form, pal_packet_str(&p, desc, sizeof(desc)),
				     r.allow ? "allows" : "denies", v.allow ? "allows" : "denies",
				     v.reason);
			allowed += v.allow;
		}
	return allowed;
}

Test(bpf_skip_shapes, linear_and_bitmap_forms_decide_as_the_evaluator)
{
	size_t n = sizeof(sources) / sizeof(sources[0]) * (sizeof(probes) / sizeof(probes[0]));
	size_t allowed;

	cr_assert_gt(bt_linear_forms(&T), 0, "the shapes' list has no linear form");
	allowed = grid_agrees("linear");
	cr_assert(allowed > 0 && allowed < n, "%zu of %zu allowed: the grid must hold both", allowed,
		  n);
	cr_assert_gt(bt_linear_forms_drop(&T), 0);
	cr_assert_eq(grid_agrees("bitmap"), allowed);
}
