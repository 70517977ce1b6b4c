/* Anti-spoofing on workload interfaces (bpf/srccheck.h): what pod "spoofer" (cali0, addresses
 * 198.18.5.10 and 2001:db8:5::10, allowSpoofedSourcePrefixes 198.18.99.0/24) sends is dropped at
 * tc ingress of cali0 with reason spoofed-source when its source is not its own, even though its
 * egress policy allows everything; the reference evaluator says the same (stage source-check).
 * Unconfigured sources (DHCP from 0.0.0.0, IPv6 :: and link-local) pass as the kernel's rpfilter
 * lets them. An update that moves the pod to another address accepts the new one and drops the old
 * one, and leaves no stale prefix in pal_srcaddrs; an unbound interface keeps none. */
#include <criterion/criterion.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define POD_YAML(addr4)                                                                           \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"                              \
	"metadata: {name: spoofer, namespace: ns1, labels: {app: spoofer}}\n"                     \
	"spec:\n  node: node1\n  orchestrator: k8s\n  interfaceName: cali0\n"                    \
	"  ipNetworks: [" addr4 ", '2001:db8:5::10/128']\n"                                      \
	"  allowSpoofedSourcePrefixes: [198.18.99.0/24]\n"                                        \
	"---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                             \
	"metadata: {name: h, labels: {role: h}}\n"                                                \
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n"                   \
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"                      \
	"metadata: {name: pod-out}\n"                                                             \
	"spec:\n  selector: app == 'spoofer'\n  types: [Egress]\n  egress: [{action: Allow}]\n"   \
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"                      \
	"metadata: {name: host-fwd}\n"                                                            \
	"spec:\n  selector: role == 'h'\n  applyOnForward: true\n  types: [Ingress, Egress]\n"    \
	"  ingress: [{action: Allow}]\n  egress: [{action: Allow}]\n"

BT_YAML_SUITE(bpf_spoof, POD_YAML("198.18.5.10/32"));

struct scase {
	const char *name;
	enum pal_trace_dir dir;
	uint8_t proto;
	const char *src, *dst;
	uint16_t sport, dport;
	bool allow;
};

static const struct scase cases[] = {
	{ "own v4 address", PAL_TRACE_FORWARD, PAL_PROTO_TCP, "198.18.5.10", "198.18.100.1", 40000, 80,
	  true },
	{ "another pod's v4 address", PAL_TRACE_FORWARD, PAL_PROTO_TCP, "198.18.5.11", "198.18.100.1",
	  40000, 80, false },
	{ "allowSpoofedSourcePrefixes", PAL_TRACE_FORWARD, PAL_PROTO_UDP, "198.18.99.7",
	  "198.18.100.1", 40000, 53, true },
	{ "just outside the prefix", PAL_TRACE_FORWARD, PAL_PROTO_UDP, "198.18.100.7", "198.18.100.1",
	  40000, 53, false },
	{ "own v6 address", PAL_TRACE_FORWARD, PAL_PROTO_TCP, "2001:db8:5::10", "2001:db8:100::1",
	  40000, 80, true },
	{ "foreign v6 address", PAL_TRACE_FORWARD, PAL_PROTO_TCP, "2001:db8:5::11",
	  "2001:db8:100::1", 40000, 80, false },
	{ "spoofed, to the host", PAL_TRACE_INGRESS, PAL_PROTO_TCP, "198.18.0.1", "198.18.0.1", 40000,
	  22, false },
	{ "own, to the host", PAL_TRACE_INGRESS, PAL_PROTO_TCP, "198.18.5.10", "198.18.0.1", 40000, 22,
	  true },
	{ "DHCP discover from 0.0.0.0", PAL_TRACE_INGRESS, PAL_PROTO_UDP, "0.0.0.0",
	  "255.255.255.255", 68, 67, true },
	{ "0.0.0.0 to a unicast address", PAL_TRACE_INGRESS, PAL_PROTO_UDP, "0.0.0.0", "198.18.0.1",
	  68, 67, false },
	{ "IPv6 unspecified (DAD, MLD)", PAL_TRACE_INGRESS, PAL_PROTO_UDP, "::", "ff02::16", 1, 2,
	  true },
	{ "IPv6 link-local", PAL_TRACE_INGRESS, PAL_PROTO_UDP, "fe80::1", "ff02::1", 1, 2, true },
};

static uint64_t spoof_drops(void)
{
	return bt_ifctr(&T, bt_ifindex(&T, "cali0"), PAL_HOOK_TC_INGRESS).drop[PAL_DROP_SPOOF];
}

Test(bpf_spoof, foreign_sources_are_dropped_at_tc_ingress)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scase *c = &cases[i];
		struct pal_packet p = ct_pkt(c->proto, c->src, c->sport, c->dst, c->dport);
		struct pal_verdict v = ct_eval(&C, c->dir, "cali0",
					       c->dir == PAL_TRACE_FORWARD ? "eth0" : NULL, &p);
		uint64_t before = spoof_drops();
		struct bt_result r;

		bt_flush_flows(&T);
		r = bt_path(&T, c->dir, "cali0", c->dir == PAL_TRACE_FORWARD ? "eth0" : NULL, &p, NULL);
		cr_expect_eq(r.allow, c->allow, "%s: datapath %s", c->name, r.allow ? "allowed" : "denied");
		cr_expect_eq(v.allow, c->allow, "%s: evaluator %s (%s)", c->name,
			     v.allow ? "allowed" : "denied", v.reason);
		if (c->allow)
			continue;
		cr_expect_eq(r.dropped_at, PAL_HOOK_TC_INGRESS, "%s: dropped at hook %d", c->name,
			     r.dropped_at);
		cr_expect_eq(spoof_drops(), before + 1, "%s: spoofed-source not counted", c->name);
		cr_expect_eq(v.stage, PAL_STAGE_SOURCE, "%s: evaluator stage %s", c->name,
			     pal_stage_name(v.stage));
	}
}

/* The prefixes of cali0 in pal_srcaddrs, as "addr/len" strings joined by spaces (sorted by the
 * trie's walk order, which is stable for a given set). */
static size_t src_keys(int ifindex, struct pal_src_key *out, size_t cap)
{
	int fd = pal_dp_map_fd(T.dp, "pal_srcaddrs");
	struct pal_src_key cur, next;
	size_t n = 0;
	bool first = true;

	cr_assert_geq(fd, 0);
	while (bpf_map_get_next_key(fd, first ? NULL : &cur, &next) == 0) {
		if ((int)next.ifindex == ifindex && n < cap)
			out[n++] = next;
		cur = next;
		first = false;
	}
	return n;
}

static bool has_key(const struct pal_src_key *v, size_t n, uint8_t family, const uint8_t *addr,
		    unsigned len)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && v[i].prefixlen == PAL_SRC_FIXED_BITS + len &&
		    memcmp(v[i].addr, addr, family == 4 ? 4 : 16) == 0)
			return true;
	return false;
}

Test(bpf_spoof, address_change_and_unbind_leave_no_stale_prefix)
{
	struct ctest c2;
	struct pal_src_key keys[16];
	struct pal_packet old_src = ct_pkt(PAL_PROTO_TCP, "198.18.5.10", 40000, "198.18.100.1", 80);
	struct pal_packet new_src = ct_pkt(PAL_PROTO_TCP, "198.18.5.20", 40000, "198.18.100.1", 80);
	int cali0 = bt_ifindex(&T, "cali0");
	size_t n = src_keys(cali0, keys, 16);
	static const uint8_t a10[4] = { 198, 18, 5, 10 }, a20[4] = { 198, 18, 5, 20 },
			     p99[4] = { 198, 18, 99, 0 };

	cr_expect_eq(n, 3, "own v4, own v6, one allowed prefix: %zu keys", n);
	cr_expect(has_key(keys, n, 4, a10, 32) && has_key(keys, n, 4, p99, 24));

	/* the pod moves to 198.18.5.20 */
	ct_compile_ex(&c2, POD_YAML("198.18.5.20/32"), NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(c2.rc, 0);
	bt_apply(&T, &c2.ir, 2);
	n = src_keys(cali0, keys, 16);
	cr_expect_eq(n, 3, "%zu keys after the move", n);
	cr_expect(has_key(keys, n, 4, a20, 32) && !has_key(keys, n, 4, a10, 32),
		  "the new address replaces the old one");
	bt_flush_flows(&T);
	cr_expect(bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &new_src, NULL).allow,
		  "the new address passes");
	bt_flush_flows(&T);
	cr_expect(!bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &old_src, NULL).allow,
		  "the old address is spoofed now");

	/* no endpoint on cali0 any more: none of its prefixes stays */
	cr_assert_eq(pal_dp_apply(T.dp, &c2.ir, NULL, 0, 3), 0);
	cr_expect_eq(src_keys(cali0, keys, 16), 0, "an unbound interface keeps no source prefix");
	ct_free(&c2);
}
