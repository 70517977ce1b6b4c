/* Capacity never fails open (issue 7, defect 9), and pal_if_ctrs is pruned (defect 12).
 *
 * The datapath is opened with --max-endpoints 2 and the IR has three endpoints, bound in the order
 * eth0 (host endpoint "h": allows tcp 80), cali0 (pod a), cali1 (pod b); both pods allow
 * everything. eth0 and cali0 get the two slots; cali1 does not fit and points at the reserved
 * deny-everything workload slot. Every packet on cali1, in both directions, at every hook palisade
 * runs for it, is dropped with reason endpoint-unprogrammed; pod a, on the same path, passes (the
 * programs drop because of the reserved slot, not because of the path). A host endpoint on the
 * reserved host slot still answers its failsafe ports and drops the rest. An endpoint whose new
 * lists cannot be written (pal_lists full) keeps its last good lists, judged by policy.
 *
 * The old code (before the interface slots) has none of this: bind errors were ignored, tc was
 * attached anyway and an interface without a pal_ifaces entry passed everything. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "stats.h"
#include "test_compiler_util.h"

#define PODS_YAML                                                                                 \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n"                          \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                                  \
	"metadata: {name: h, labels: {role: h}}\n"                                                \
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n---\n"              \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"                           \
	"metadata: {name: h-in}\n"                                                                \
	"spec:\n  selector: role == 'h'\n  types: [Ingress]\n"                                    \
	"  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\n---\n"          \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"                              \
	"metadata: {name: a, namespace: open, labels: {app: a}}\n"                                \
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali0,"                            \
	" ipNetworks: [198.18.3.1/32, '2001:db8:3::1/128'], profiles: [kns.open]}\n---\n"         \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"                              \
	"metadata: {name: b, namespace: open, labels: {app: b}}\n"                                \
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali1,"                            \
	" ipNetworks: [198.18.3.2/32, '2001:db8:3::2/128'], profiles: [kns.open]}\n"

/* Pod a denies tcp 23 (both generations), generation 2 also tcp 80, and allows the rest. */
#define DENY23 "  - {action: Deny, protocol: TCP, destination: {ports: [23]}}\n"
#define DENY80 "  - {action: Deny, protocol: TCP, destination: {ports: [80]}}\n"
#define A_POLICY(rules)                                                                           \
	"---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"                            \
	"metadata: {name: a-in, namespace: open}\n"                                               \
	"spec:\n  selector: app == 'a'\n  types: [Ingress]\n  ingress:\n" rules                     \
	"  - {action: Allow}\n"

static struct bpft T;
static struct ctest C;

/* The pods and policies in yaml, compiled with the default failsafe ports. */
static void compile_pods(struct ctest *c, const char *yaml)
{
	ct_compile_ex(c, yaml, PAL_FAILSAFE_IN_DEFAULT, PAL_FAILSAFE_OUT_DEFAULT,
		      PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(c->rc, 0, "compile");
}

static void setup(void)
{
	bt_max_endpoints = 2;
	bt_setup(&T);
	compile_pods(&C, PODS_YAML A_POLICY(DENY23));
	bt_apply(&T, &C.ir, 1);
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_capacity, .init = setup, .fini = teardown);

static int ifx(const char *name)
{
	return bt_ifindex(&T, name);
}

static uint64_t unprog_drops(const char *ifname, enum pal_hook hook)
{
	return bt_ifctr(&T, ifx(ifname), hook).drop[PAL_DROP_UNPROGRAMMED];
}

/* One hook run on a fresh flow table; returns the program's return value. */
static int run_tc(enum pal_dp_prog prog, const char *dev, const char *in, const char *src,
		  uint16_t sport, const char *dst, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, sport, dst, dport);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	bt_flush_flows(&T);
	return bt_run_tc(&T, prog, ifx(dev), in ? ifx(in) : 0, 0, buf, len, NULL);
}

static int run_input(const char *in, const char *src, const char *dst, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, 40000, dst, dport);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	bt_flush_flows(&T);
	return bt_run_sf(pal_dp_prog_fd(T.dp, PAL_PROG_SF_INPUT_DENY), ifx(in), 0, buf, len);
}

#define TC_OK 0
#define TC_SHOT 2

Test(bpf_capacity, the_endpoint_beyond_max_endpoints_points_at_the_deny_slot)
{
	struct pal_iface a, b;

	cr_assert_eq(pal_dp_max_endpoints(T.dp), 2);
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)ifx("cali0"), &a), 0);
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)ifx("cali1"), &b), 0,
		     "cali1 has no pal_ifaces entry: its traffic would not be policed at all");
	cr_assert_not(a.flags & PAL_IF_UNPROGRAMMED, "cali0 should be programmed");
	cr_assert(b.flags & PAL_IF_UNPROGRAMMED, "cali1 is over the limit: flags %#x", b.flags);
	cr_assert(b.flags & PAL_IF_WORKLOAD);
	for (size_t i = 0; i < PAL_SLOT_COUNT; i++)
		cr_assert_eq(b.lists[i], 0, "the deny slot has no rule list to fall through to");
	cr_assert_eq(pal_dp_slots_available(T.dp), 0);
}

Test(bpf_capacity, unprogrammed_workload_drops_everything_at_every_hook)
{
	struct {
		const char *what;
		enum pal_dp_prog prog;
		const char *dev, *in, *src, *dst;
		uint16_t dport;
		enum pal_hook hook;
	} cases[] = {
		/* what pod b sends (tc ingress of its veth), v4 and v6 */
		{ "b sends (tc ingress)", PAL_PROG_TC_INGRESS, "cali1", NULL, "198.18.3.2",
		  "198.18.100.1", 80, PAL_HOOK_TC_INGRESS },
		{ "b sends v6 (tc ingress)", PAL_PROG_TC_INGRESS, "cali1", NULL, "2001:db8:3::2",
		  "2001:db8:100::1", 80, PAL_HOOK_TC_INGRESS },
		/* forwarded a -> b: b is the destination (tc egress of cali1) */
		{ "a -> b (tc egress of b)", PAL_PROG_TC_EGRESS, "cali1", "cali0", "198.18.3.1",
		  "198.18.3.2", 80, PAL_HOOK_TC_EGRESS },
		/* forwarded b -> a: b is the source (tc egress of cali0) */
		{ "b -> a (tc egress of a)", PAL_PROG_TC_EGRESS, "cali0", "cali1", "198.18.3.2",
		  "198.18.3.1", 80, PAL_HOOK_TC_EGRESS },
		/* forwarded from outside (eth1, no endpoint) to b */
		{ "outside -> b (tc egress of b)", PAL_PROG_TC_EGRESS, "cali1", "eth1", "198.18.9.9",
		  "198.18.3.2", 80, PAL_HOOK_TC_EGRESS },
		/* the host's own traffic to b */
		{ "host -> b (tc egress of b)", PAL_PROG_TC_EGRESS, "cali1", NULL, "198.18.0.1",
		  "198.18.3.2", 80, PAL_HOOK_TC_EGRESS },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *counted = cases[i].dev; /* counted where the program ran */
		uint64_t before = unprog_drops(counted, cases[i].hook);
		int rc = run_tc(cases[i].prog, cases[i].dev, cases[i].in, cases[i].src, 40000,
				cases[i].dst, cases[i].dport);

		cr_expect_eq(rc, TC_SHOT, "%s: tc returned %d, want shot", cases[i].what, rc);
		cr_expect_eq(unprog_drops(counted, cases[i].hook), before + 1,
			     "%s: not counted as endpoint-unprogrammed", cases[i].what);
	}
	/* b to the host (INPUT), even with endpoint-to-host accept */
	{
		uint64_t before = unprog_drops("cali1", PAL_HOOK_INPUT);

		cr_expect_eq(run_input("cali1", "198.18.3.2", "198.18.0.1", 22), 1,
			     "b -> host: INPUT accepted");
		cr_expect_eq(unprog_drops("cali1", PAL_HOOK_INPUT), before + 1,
			     "b -> host: not counted as endpoint-unprogrammed");
	}
	/* pod a on the same paths passes: the drops above are the deny slot's */
	cr_expect_eq(run_tc(PAL_PROG_TC_INGRESS, "cali0", NULL, "198.18.3.1", 40000, "198.18.100.1",
			    80), TC_OK, "a sends: dropped");
	cr_expect_eq(run_tc(PAL_PROG_TC_EGRESS, "cali0", "eth1", "198.18.9.9", 40000, "198.18.3.1",
			    80), TC_OK, "outside -> a: dropped");
	cr_expect_eq(run_input("cali0", "198.18.3.1", "198.18.0.1", 22), 0, "a -> host: dropped");
	cr_expect_eq(unprog_drops("cali0", PAL_HOOK_TC_INGRESS) +
			     unprog_drops("cali0", PAL_HOOK_INPUT), 0);
}

/* The raw OUTPUT filters of interface i, as bt_apply loads them for a host endpoint. */
static void load_sf_out(int i)
{
	char dpath[PATH_MAX], fpath[PATH_MAX], apath[PATH_MAX];

	cr_assert_eq(pal_dp_load_sf_out(T.dp, (uint32_t)T.ifindex[i], dpath, fpath, apath), 0, "%s",
		     pal_dp_error(T.dp));
	T.sf_out_deny[i] = bpf_obj_get(dpath);
	T.sf_out_failsafe[i] = bpf_obj_get(fpath);
	T.sf_out_allow[i] = bpf_obj_get(apath);
	cr_assert(T.sf_out_deny[i] >= 0 && T.sf_out_failsafe[i] >= 0 && T.sf_out_allow[i] >= 0);
}

Test(bpf_capacity, unprogrammed_host_endpoint_keeps_its_failsafe_ports_only)
{
	uint32_t eth1 = (uint32_t)ifx("eth1");
	struct pal_packet p;
	struct bt_result r;
	struct pal_iface v;
	bool kept = true;
	uint64_t before;

	/* eth1 had no entry: a host endpoint there that cannot be programmed gets the host deny slot */
	cr_assert_eq(pal_dp_iface_unprogrammed(T.dp, eth1, true, &kept), 0, "%s",
		     pal_dp_error(T.dp));
	cr_assert_not(kept, "eth1 had no value of its own to keep");
	cr_assert_eq(pal_dp_iface_read(T.dp, eth1, &v), 0);
	cr_assert((v.flags & PAL_IF_UNPROGRAMMED) && (v.flags & PAL_IF_HOST), "flags %#x", v.flags);

	/* failsafe in (tcp 22) to the host through eth1: tc ingress and INPUT accept */
	cr_expect_eq(run_tc(PAL_PROG_TC_INGRESS, "eth1", NULL, "198.18.9.9", 40000, "198.18.0.1", 22),
		     TC_OK, "failsafe tcp 22 dropped at tc ingress");
	p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40001, "198.18.0.1", 22);
	r = bt_path_new_flow(&T, PAL_TRACE_INGRESS, "eth1", NULL, &p);
	cr_expect(r.allow, "failsafe tcp 22 to the host dropped at hook %d", r.dropped_at);
	/* anything else in: dropped at tc ingress as unprogrammed (eth0's tcp 80 would pass) */
	before = unprog_drops("eth1", PAL_HOOK_TC_INGRESS);
	cr_expect_eq(run_tc(PAL_PROG_TC_INGRESS, "eth1", NULL, "198.18.9.9", 40000, "198.18.0.1", 80),
		     TC_SHOT, "tcp 80 in through the unprogrammed host endpoint passed");
	cr_expect_eq(run_tc(PAL_PROG_TC_INGRESS, "eth1", NULL, "2001:db8:9::9", 40000,
			    "2001:db8::1", 8080),
		     TC_SHOT, "v6 tcp 8080 in through the unprogrammed host endpoint passed");
	cr_expect_eq(unprog_drops("eth1", PAL_HOOK_TC_INGRESS), before + 2);
	cr_expect_eq(run_tc(PAL_PROG_TC_INGRESS, "eth0", NULL, "198.18.9.9", 40000, "198.18.0.1", 80),
		     TC_OK, "control: tcp 80 through the programmed eth0 dropped");

	/* the host's own traffic out, through raw OUTPUT (which marks failsafe-out) and tc egress:
	 * failsafe-out (tcp 6443) passes, the rest is dropped at tc egress */
	load_sf_out(BT_ETH1);
	p = ct_pkt(PAL_PROTO_TCP, "198.18.0.1", 40000, "198.18.9.9", 6443);
	r = bt_path_new_flow(&T, PAL_TRACE_EGRESS, "eth1", NULL, &p);
	cr_expect(r.allow, "failsafe-out tcp 6443 dropped at hook %d", r.dropped_at);
	before = unprog_drops("eth1", PAL_HOOK_TC_EGRESS);
	p.dport = 80;
	r = bt_path_new_flow(&T, PAL_TRACE_EGRESS, "eth1", NULL, &p);
	cr_expect_not(r.allow, "host -> tcp 80 out through the unprogrammed host endpoint passed");
	cr_expect_eq(r.dropped_at, PAL_HOOK_TC_EGRESS);
	cr_expect_eq(unprog_drops("eth1", PAL_HOOK_TC_EGRESS), before + 1);
	/* forwarded through it (in on eth1, out on cali0): dropped at tc egress */
	cr_expect_eq(run_tc(PAL_PROG_TC_EGRESS, "cali0", "eth1", "198.18.9.9", 40000, "198.18.3.1",
			    80), TC_SHOT, "forwarded in through the unprogrammed host endpoint passed");
}

/* Fills a hash map with zeroed entries under keys nothing uses (in pal_ifaces: interfaces on the
 * reserved slot 0), until it is full; returns how many. */
static int fill_map(const char *map, uint32_t first_id)
{
	int fd = pal_dp_map_fd(T.dp, map), n = 0;
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	uint8_t zero[512] = { 0 };

	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	cr_assert_leq(info.value_size, sizeof(zero));
	for (uint32_t id = first_id; id < first_id + info.max_entries; id++) {
		if (bpf_map_update_elem(fd, &id, zero, BPF_NOEXIST))
			break;
		n++;
	}
	return n;
}

static void unfill_map(const char *map, uint32_t first_id, int n)
{
	int fd = pal_dp_map_fd(T.dp, map);

	for (uint32_t id = first_id; id < first_id + (uint32_t)n; id++)
		bpf_map_delete_elem(fd, &id);
}

/* Pod a from outside: 1 = allowed, 0 = dropped (by policy, never as unprogrammed). */
/* pal_dp_apply of ir as generation gen to the interfaces named, in that order. */
static int apply_in_order(const struct pal_ir *ir, uint32_t gen, const char *const *ifaces)
{
	struct pal_dp_binding b[4];
	size_t n = 0;

	for (; *ifaces; ifaces++) {
		cr_assert_lt(n, sizeof(b) / sizeof(b[0]));
		b[n++] = (struct pal_dp_binding){ .ifindex = (uint32_t)ifx(*ifaces),
						  .ep = pal_ir_endpoint_for_iface(ir, *ifaces) };
	}
	return pal_dp_apply(T.dp, ir, b, n, gen);
}

static bool a_allows(uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, "198.18.3.1", dport);
	uint64_t before = unprog_drops("cali0", PAL_HOOK_TC_EGRESS);
	struct bt_result r = bt_path_new_flow(&T, PAL_TRACE_FORWARD, "eth1", "cali0", &p);

	cr_expect_eq(unprog_drops("cali0", PAL_HOOK_TC_EGRESS), before,
		     "pod a was treated as unprogrammed (port %u)", dport);
	return r.allow;
}

Test(bpf_capacity, failed_programming_keeps_the_last_good_lists)
{
	const uint32_t junk = 0x7fff0000u;
	struct ctest c2;
	struct pal_iface v;
	bool kept = false;
	int n, rc;

	cr_assert(a_allows(80) && !a_allows(23), "generation 1 as written");
	compile_pods(&c2, PODS_YAML A_POLICY(DENY23 DENY80));

	/* pal_lists full: generation 2's lists cannot be written */
	n = fill_map("pal_lists", junk);
	cr_assert_gt(n, 0);
	rc = apply_in_order(&c2.ir, 2, (const char *const[]){ "eth0", "cali0", "cali1", NULL });
	cr_expect_neq(rc, 0, "generation 2 applied although pal_lists is full");
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)ifx("cali0"), &v), 0, "cali0 lost its entry");
	cr_expect_eq(v.generation, 1, "cali0 runs generation %u, want the last good 1", v.generation);
	cr_expect_not(v.flags & PAL_IF_UNPROGRAMMED);
	cr_expect(a_allows(80), "the last good lists (tcp 80 allowed) are not in force");
	cr_expect_not(a_allows(23), "the last good lists (tcp 23 denied) are not in force");

	/* the agent's path for one endpoint: its lists fail, then it is marked unprogrammed */
	rc = pal_dp_endpoint_write(T.dp, &c2.ir, pal_ir_endpoint_for_iface(&c2.ir, "cali0"), 2, &v);
	cr_expect_neq(rc, 0, "lists written into a full pal_lists");
	cr_assert_eq(pal_dp_iface_unprogrammed(T.dp, (uint32_t)ifx("cali0"), false, &kept), 0);
	cr_expect(kept, "an endpoint with lists of its own must keep them");
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)ifx("cali0"), &v), 0);
	cr_expect_eq(v.generation, 1);
	cr_expect(a_allows(80) && !a_allows(23), "the last good lists went");

	/* room again: generation 2 goes in and denies tcp 80 */
	unfill_map("pal_lists", junk, n);
	bt_apply(&T, &c2.ir, 3);
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)ifx("cali0"), &v), 0);
	cr_expect_eq(v.generation, 3);
	cr_expect_not(a_allows(80), "generation 2 (tcp 80 denied) not in force after the retry");
	ct_free(&c2);
}

/* ---- list references of failed applies ------------------------------------------------------ */

static bool named_by_an_interface(uint32_t id)
{
	int fd = pal_dp_map_fd(T.dp, "pal_ifaces");
	uint32_t key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pal_iface v;

		key = next;
		prev = &key;
		if (pal_dp_iface_read(T.dp, key, &v) == 0)
			for (int s = 0; s < PAL_SLOT_COUNT; s++)
				if (v.lists[s] == id)
					return true;
	}
	return false;
}

/* Lists in pal_lists that no interface names: unreachable, only taking room. */
static int orphan_lists(int *total)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists"), n = 0;
	uint32_t key, next, *prev = NULL;

	*total = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		(*total)++;
		n += !named_by_an_interface(key);
	}
	return n;
}

/* An apply that fails part way: eth0 flips to generation 2, cali1 (beyond --max-endpoints) cannot
 * get its deny entry (pal_ifaces full), so cali0, after it, never flips. cali0's generation-2
 * lists were written and are never reachable: they go with the failure, and cali0 keeps its
 * generation-1 lists. */
Test(bpf_capacity, a_failed_apply_leaves_no_orphan_lists)
{
	const uint32_t junk = 0x7fff0000u;
	int total = 0, before, n, rc;
	struct ctest c2;
	struct pal_iface v;

	cr_assert_eq(orphan_lists(&before), 0, "orphans after generation 1");
	compile_pods(&c2, PODS_YAML A_POLICY(DENY23 DENY80));
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)ifx("cali1"), NULL, NULL), 0);
	n = fill_map("pal_ifaces", junk);
	cr_assert_gt(n, 0);
	rc = apply_in_order(&c2.ir, 2, (const char *const[]){ "eth0", "cali1", "cali0", NULL });
	unfill_map("pal_ifaces", junk, n);
	cr_assert_neq(rc, 0, "the apply succeeded although cali1 could get no entry");
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)ifx("cali0"), &v), 0);
	cr_assert_eq(v.generation, 1, "the test wants cali0 not flipped (generation %u)", v.generation);
	cr_expect(a_allows(80) && !a_allows(23), "cali0's last good lists are not in force");
	cr_assert_geq(pal_dp_lists_sweep(T.dp), 0);
	cr_expect_eq(orphan_lists(&total), 0, "%d of %d lists are named by no interface after the "
		     "failed apply (%d before it)", orphan_lists(&total), total, before);
	ct_free(&c2);
}

/* The lists an apply made unreachable wait for the sweep; the agent exits first. The next agent
 * finds them at load (no interface names them) and deletes them. */
Test(bpf_capacity, lists_left_for_the_sweep_are_deleted_by_the_next_load)
{
	char err[512] = "";
	bool adopted = false;
	int total = 0, n;
	struct ctest c2;

	compile_pods(&c2, PODS_YAML A_POLICY(DENY23 DENY80));
	cr_assert_eq(apply_in_order(&c2.ir, 2, (const char *const[]){ "eth0", "cali0", NULL }), 0,
		     "%s", pal_dp_error(T.dp));
	n = orphan_lists(&total);
	cr_assert_gt(n, 0, "the test wants generation 1's lists waiting for the sweep");
	pal_dp_close(T.dp); /* exits without sweeping */
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .sizes.max_flows = 4096 },
				 &T.dp, &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_assert(adopted);
	cr_expect_eq(orphan_lists(&total), 0, "%d of %d lists are named by no interface after a "
		     "restart (%d before it)", orphan_lists(&total), total, n);
	cr_expect(!a_allows(80) && !a_allows(23), "generation 2 is not in force after the restart");
	ct_free(&c2);
}

/* ---- pal_if_ctrs pruning (defect 12) ------------------------------------------------------- */

static int ctr_is(uint32_t ifindex, enum pal_hook hook, const struct pal_if_ctr *c, void *ctx)
{
	(void)hook;
	(void)c;
	return (int)ifindex == *(int *)ctx;
}

/* Does the interface have counters (in pal_if_ctrs by ifindex, or in pal_slot_ctrs by its
 * slot: the readers' union)? */
static bool has_ctr(int ifindex)
{
	return pal_dp_foreach_if_counter(T.dp, ctr_is, &ifindex) == 1;
}

static uint32_t ctr_capacity(void)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	cr_assert_eq(bpf_obj_get_info_by_fd(pal_dp_map_fd(T.dp, "pal_if_ctrs"), &info, &len), 0);
	return info.max_entries;
}

/* A veth that lives for one packet: created, one packet through tc ingress, deleted, then the
 * counters pruned to bt's interfaces as the agent does at every sync. Returns whether that packet
 * was counted. */
static bool churn_once(int i)
{
	int keep[BT_N_IFS];
	char cmd[160];
	int ifindex;
	bool counted;

	snprintf(cmd, sizeof(cmd), "ip link add churn%d type veth peer name p-churn%d", i % 10, i % 10);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "churn%d", i % 10);
	ifindex = (int)if_nametoindex(cmd);
	cr_assert_gt(ifindex, 0);
	{
		struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, "198.18.0.1", 80);
		uint8_t buf[256];
		size_t len = bt_build(buf, sizeof(buf), &p, NULL);

		cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, ifindex, 0, 0, buf, len, NULL), TC_OK);
	}
	counted = bt_ifctr(&T, ifindex, PAL_HOOK_TC_INGRESS).verdict[PAL_VERDICT_PASS] == 1;
	snprintf(cmd, sizeof(cmd), "ip link del churn%d", i % 10);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	for (int k = 0; k < BT_N_IFS; k++)
		keep[k] = T.ifindex[k];
	cr_assert_geq(pal_dp_prune_if_counters(T.dp, keep, BT_N_IFS), 1,
		      "the counters of churn%d (ifindex %d) were not pruned", i % 10, ifindex);
	cr_assert_not(has_ctr(ifindex), "ifindex %d still has counters after the prune", ifindex);
	return counted;
}

Test(bpf_capacity, counters_of_interfaces_gone_are_pruned_and_churn_keeps_counting, .timeout = 120)
{
	uint32_t cap = ctr_capacity();
	int eth0 = ifx("eth0");
	uint32_t rounds = cap + 16; /* more interfaces than pal_if_ctrs has keys */

	cr_assert(has_ctr(eth0) || run_tc(PAL_PROG_TC_INGRESS, "eth0", NULL, "198.18.9.9", 40000,
					   "198.18.0.1", 80) == TC_OK);
	cr_assert(has_ctr(eth0));
	for (uint32_t i = 0; i < rounds; i++)
		cr_assert(churn_once((int)i), "pod %u of %u (pal_if_ctrs holds %u keys) was not counted",
			  i + 1, rounds, cap);
	cr_assert(has_ctr(eth0), "the prune removed the counters of an interface still in use");
}
