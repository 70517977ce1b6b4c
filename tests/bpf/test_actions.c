/* Actions and matches through the programs, table-driven: Log (counter + ring buffer event, then
 * evaluation goes on), Pass (skips to the next tier), Deny, a tier's default deny, port ranges at
 * their boundaries, ICMP type/code, IPv4 and IPv6. Every case checks the verdict against the
 * reference evaluator and the expectation, the per-rule counters of the deciding and logged rules
 * (as the evaluator names them), the drop reason counter and the events. */
#include <criterion/criterion.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1, '2001:db8::1']}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t1}\nspec: {order: 10}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: t1.p1}\n"
	"spec:\n  tier: t1\n  order: 1\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Log, protocol: TCP, destination: {ports: ['1000:1999']}}\n"
	"  - {action: Pass, protocol: TCP, destination: {ports: [1500, 3000]}}\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: ['1000:1999']}}\n"
	"  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}\n"
	"  - {action: Allow, protocol: ICMPv6, icmp: {type: 128}}\n"
	"  - {action: Pass, protocol: UDP}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: p2}\n"
	"spec:\n  order: 1\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [1500]}}\n"
	"  - {action: Allow, protocol: UDP, source: {nets: [198.18.100.0/24]}}\n"
	"  - {action: Allow, protocol: UDP, source: {nets: ['2001:db8:100::/48']}}\n";

static struct bpft T;
static struct ctest C;
static struct ring_buffer *rb;
static struct pal_event events[64];
static int n_events;

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(struct pal_event) && n_events < 64)
		memcpy(&events[n_events++], data, sizeof(struct pal_event));
	return 0;
}

static void setup(void)
{
	bt_setup_compiled(&T, &C, yaml);
	rb = bt_events_open(&T, on_event);
}

static void teardown(void)
{
	ring_buffer__free(rb);
	bt_teardown_table(&T, &C);
}

TestSuite(bpf_actions, .init = setup, .fini = teardown);

struct acase {
	const char *name;
	uint8_t proto;
	const char *src, *dst;
	uint16_t dport;
	uint8_t type, code;
	bool allow;
	enum pal_drop_reason reason; /* when denied */
	int n_logs;                  /* Log rules hit */
};

static const struct acase cases[] = {
	{ "log, pass, next tier allows", PAL_PROTO_TCP, "198.18.100.1", "198.18.0.1", 1500, 0, 0,
	  true, 0, 1 },
	{ "log then deny", PAL_PROTO_TCP, "198.18.100.1", "198.18.0.1", 1200, 0, 0, false,
	  PAL_DROP_POLICY, 1 },
	{ "range low edge", PAL_PROTO_TCP, "198.18.100.1", "198.18.0.1", 1000, 0, 0, false,
	  PAL_DROP_POLICY, 1 },
	{ "range high edge", PAL_PROTO_TCP, "198.18.100.1", "198.18.0.1", 1999, 0, 0, false,
	  PAL_DROP_POLICY, 1 },
	{ "below range: tier default deny", PAL_PROTO_TCP, "198.18.100.1", "198.18.0.1", 999, 0, 0,
	  false, PAL_DROP_TIER_END, 0 },
	{ "above range: tier default deny", PAL_PROTO_TCP, "198.18.100.1", "198.18.0.1", 2000, 0, 0,
	  false, PAL_DROP_TIER_END, 0 },
	{ "pass, no rule in the next tier: default deny", PAL_PROTO_TCP, "198.18.100.1",
	  "198.18.0.1", 3000, 0, 0, false, PAL_DROP_TIER_END, 0 },
	{ "icmp 8/0 allowed", PAL_PROTO_ICMP, "198.18.100.1", "198.18.0.1", 0, 8, 0, true, 0, 0 },
	{ "icmp 8/1 not", PAL_PROTO_ICMP, "198.18.100.1", "198.18.0.1", 0, 8, 1, false,
	  PAL_DROP_TIER_END, 0 },
	{ "icmpv6 128 any code", PAL_PROTO_ICMPV6, "2001:db8:100::1", "2001:db8::1", 0, 128, 3, true,
	  0, 0 },
	{ "icmp type in v6 is not icmpv6", PAL_PROTO_ICMPV6, "2001:db8:100::1", "2001:db8::1", 0, 8,
	  0, false, PAL_DROP_TIER_END, 0 },
	{ "v6 log then deny", PAL_PROTO_TCP, "2001:db8:100::1", "2001:db8::1", 1234, 0, 0, false,
	  PAL_DROP_POLICY, 1 },
	{ "v6 log, pass, allow", PAL_PROTO_TCP, "2001:db8:100::1", "2001:db8::1", 1500, 0, 0, true, 0,
	  1 },
	{ "udp pass, source net allowed", PAL_PROTO_UDP, "198.18.100.7", "198.18.0.1", 53, 0, 0,
	  true, 0, 0 },
	{ "udp pass, source net not: default tier ends", PAL_PROTO_UDP, "198.18.101.7",
	  "198.18.0.1", 53, 0, 0, false, PAL_DROP_TIER_END, 0 },
	{ "udp v6 source net", PAL_PROTO_UDP, "2001:db8:100:ffff::1", "2001:db8::1", 53, 0, 0, true,
	  0, 0 },
};

Test(bpf_actions, table)
{
	int eth0 = T.ifindex[BT_ETH0];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct acase *c = &cases[i];
		struct pal_packet p = c->proto == PAL_PROTO_ICMP || c->proto == PAL_PROTO_ICMPV6 ?
			ct_icmp(c->src, c->dst, c->type, c->code) :
			ct_pkt(c->proto, c->src, 40000, c->dst, c->dport);
		struct pal_verdict v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
		struct pal_rule_ctr before[PAL_TRACE_MAX_LOGS + 1], after;
		struct pal_if_ctr in0 = bt_ifctr(&T, eth0, PAL_HOOK_INPUT), in1;
		struct bt_result r;

		cr_assert_eq(v.allow, c->allow, "%s: evaluator says %s (%s)", c->name,
			     v.allow ? "allow" : "deny", v.reason);
		cr_assert_eq((int)v.n_logged, c->n_logs, "%s: evaluator logged %zu", c->name,
			     v.n_logged);
		for (size_t k = 0; k < v.n_logged; k++)
			before[k] = bt_rulectr(&T, v.logged_rule_ids[k]);
		if (v.rule_id != UINT32_MAX)
			before[v.n_logged] = bt_rulectr(&T, v.rule_id);
		n_events = 0;
		bt_flush_flows(&T);
		r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
		ring_buffer__consume(rb);
		in1 = bt_ifctr(&T, eth0, PAL_HOOK_INPUT);

		cr_assert_eq(r.allow, c->allow, "%s: datapath says %s at hook %d", c->name,
			     r.allow ? "allow" : "deny", r.dropped_at);
		for (size_t k = 0; k < v.n_logged; k++) {
			after = bt_rulectr(&T, v.logged_rule_ids[k]);
			cr_assert_eq(after.packets - before[k].packets, 1, "%s: log rule counter",
				     c->name);
		}
		if (v.rule_id != UINT32_MAX) {
			after = bt_rulectr(&T, v.rule_id);
			cr_assert_eq(after.packets - before[v.n_logged].packets, 1,
				     "%s: deciding rule counter", c->name);
			cr_assert_gt(after.bytes, before[v.n_logged].bytes);
		}
		{
			int logs = 0, denies = 0;

			for (int e = 0; e < n_events; e++) {
				logs += events[e].type == PAL_EVENT_LOG;
				denies += events[e].type == PAL_EVENT_DENY;
				cr_assert_eq(events[e].ifindex, (uint32_t)eth0);
				cr_assert_eq(events[e].proto, c->proto);
			}
			cr_assert_eq(logs, c->n_logs, "%s: %d log events", c->name, logs);
			cr_assert_eq(denies, c->allow ? 0 : 1, "%s: %d deny events", c->name, denies);
		}
		if (c->allow) {
			cr_assert_eq(in1.verdict[PAL_VERDICT_ALLOW] - in0.verdict[PAL_VERDICT_ALLOW], 1,
				     "%s", c->name);
		} else {
			cr_assert_eq(in1.drop[c->reason] - in0.drop[c->reason], 1, "%s: reason %s",
				     c->name, pal_drop_reason_names[c->reason]);
			cr_assert_eq(r.dropped_at, PAL_HOOK_INPUT, "%s", c->name);
		}
	}
}
