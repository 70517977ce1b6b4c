/* Interface counters by slot (pal_slot_ctrs, include/palisade/abi.h): an interface with a slot of
 * its own counts there, one without (unprogrammed: a shared reserved slot) counts by ifindex in
 * pal_if_ctrs, and every reader adds the two. Veths are named with a per-run prefix and removed
 * whatever the outcome. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "stats.h"
#include "maps_sync.h"
#include "test_compiler_util.h"

static struct bpft T;
static char veth[3][IF_NAMESIZE];

static void veth_del(const char *name)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", name);
	if (system(cmd)) { /* gone already */ }
}

static void setup(void)
{
	for (int i = 0; i < 3; i++)
		snprintf(veth[i], sizeof(veth[i]), "sc%05d%c", (int)(getpid() % 100000), 'a' + i);
	bt_setup(&T);
}

static void teardown(void)
{
	for (int i = 0; i < 3; i++)
		veth_del(veth[i]);
	bt_teardown(&T);
}

TestSuite(bpf_slot_ctrs, .init = setup, .fini = teardown);

static uint64_t tc_in_packets(int ifindex)
{
	struct pal_if_ctr c = bt_ifctr(&T, ifindex, PAL_HOOK_TC_INGRESS);
	uint64_t n = 0;

	for (int v = 0; v < PAL_VERDICT_COUNT; v++)
		n += c.verdict[v];
	return n;
}

static void one_tc_in_packet(int ifindex)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, "198.18.0.1", 80);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	bt_run_tc(&T, PAL_PROG_TC_INGRESS, ifindex, 0, 0, buf, len, NULL);
}

static uint32_t slot_of(int ifindex)
{
	struct pal_if_slot s;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_ifaces"), &ifindex, &s), 0);
	return s.slot;
}

/* A slot handed to another interface starts its counters at zero: the interface that had it
 * before must not show in the next one's counters. */
Test(bpf_slot_ctrs, a_reused_slot_counts_from_zero)
{
	struct pal_iface v = { .flags = PAL_IF_WORKLOAD, .endpoint_id = PAL_IF_NO_ENDPOINT };
	int a, b;
	uint32_t sa;

	a = bt_veth_add(veth[0], 0);
	b = bt_veth_add(veth[1], 0);
	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)a, &v, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	sa = slot_of(a);
	cr_assert_geq(sa, PAL_IFSLOT_FIRST);
	one_tc_in_packet(a);
	one_tc_in_packet(a);
	cr_assert_eq(tc_in_packets(a), 2);
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)a, NULL, NULL), 0);
	pal_dp_grace_period(); /* the freed slot becomes reusable */
	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)b, &v, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(slot_of(b), sa, "the test needs b to get a's freed slot");
	cr_expect_eq(tc_in_packets(b), 0, "b's counters start with a's %llu packets",
		     (unsigned long long)tc_in_packets(b));
	one_tc_in_packet(b);
	cr_expect_eq(tc_in_packets(b), 1);
}

/* An interface counts by ifindex while unprogrammed (a reserved slot, shared) and by its own slot
 * afterwards: the readers add the two, and every reader lists it. */
static int count_hooks_of(uint32_t ifindex, enum pal_hook hook, const struct pal_if_ctr *c, void *ctx)
{
	(void)c;
	if ((int)ifindex == ((int *)ctx)[0] && hook == PAL_HOOK_TC_INGRESS)
		((int *)ctx)[1]++;
	return 0;
}

Test(bpf_slot_ctrs, counts_before_and_after_getting_a_slot_add_up)
{
	struct pal_iface v = { .flags = PAL_IF_WORKLOAD, .endpoint_id = PAL_IF_NO_ENDPOINT };
	bool kept = true;
	int c, seen[2];

	c = bt_veth_add(veth[2], 0);
	cr_assert_eq(pal_dp_iface_unprogrammed(T.dp, (uint32_t)c, false, &kept), 0);
	cr_assert_not(kept);
	cr_assert_lt(slot_of(c), PAL_IFSLOT_FIRST);
	one_tc_in_packet(c);
	cr_assert_eq(bt_ifctr(&T, c, PAL_HOOK_TC_INGRESS).drop[PAL_DROP_UNPROGRAMMED], 1);
	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)c, &v, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	cr_assert_geq(slot_of(c), PAL_IFSLOT_FIRST);
	one_tc_in_packet(c);
	cr_expect_eq(tc_in_packets(c), 2);
	cr_expect_eq(bt_ifctr(&T, c, PAL_HOOK_TC_INGRESS).drop[PAL_DROP_UNPROGRAMMED], 1);
	seen[0] = c;
	seen[1] = 0;
	cr_assert_eq(pal_dp_foreach_if_counter(T.dp, count_hooks_of, seen), 0);
	cr_expect_eq(seen[1], 1, "listed %d times (want once: both maps, one entry)", seen[1]);
}

/* pal_if_ctrs keys of (ifindex, hook): a watched link with a link slot must have none. */
static bool hash_has(int ifindex, enum pal_hook hook)
{
	struct pal_ifctr_key k = { .ifindex = (uint32_t)ifindex, .hook = (uint8_t)hook };
	int ncpu = libbpf_num_possible_cpus();
	struct pal_if_ctr *v = calloc((size_t)ncpu, sizeof(*v));
	bool has;

	cr_assert_not_null(v);
	has = bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_if_ctrs"), &k, v) == 0;
	free(v);
	return has;
}

/* An attached interface without an endpoint (a watched link) counts in the link slot the agent
 * gave it (abi.h PAL_LINK_SLOTS), by an array read, not a pal_if_ctrs hash entry; every reader
 * still finds its counters under its ifindex, once. */
Test(bpf_slot_ctrs, a_watched_link_counts_in_its_link_slot)
{
	int a, seen[2];
	uint32_t l;

	a = bt_veth_add(veth[0], 0);
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, &a, 1), 1, "%s", pal_dp_error(T.dp));
	l = pal_dp_link_slot(T.dp, (uint32_t)a);
	cr_assert_geq(l, PAL_IFSLOT_FIRST + pal_dp_max_endpoints(T.dp), "slot %u is no link slot", l);
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, &a, 1), 0, "a second sync hands out another slot");
	cr_assert_eq(pal_dp_link_slot(T.dp, (uint32_t)a), l, "a link slot moved");
	/* ifindexes the array does not cover (and nonsense) are left to count by ifindex */
	int odd[3] = { -1, (int)PAL_IF_INDEX_DIRECT + 7, a };
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, odd, 3), 0);
	cr_assert_eq(pal_dp_link_slot(T.dp, (uint32_t)a), l, "a link slot moved");
	one_tc_in_packet(a);
	one_tc_in_packet(a);
	cr_expect_not(hash_has(a, PAL_HOOK_TC_INGRESS), "the link counted by ifindex (hash lookup)");
	cr_expect_eq(tc_in_packets(a), 2);
	cr_expect_eq(bt_ifctr(&T, a, PAL_HOOK_TC_INGRESS).verdict[PAL_VERDICT_PASS], 2);
	seen[0] = a;
	seen[1] = 0;
	cr_assert_eq(pal_dp_foreach_if_counter(T.dp, count_hooks_of, seen), 0);
	cr_expect_eq(seen[1], 1, "listed %d times (want once)", seen[1]);
}

/* A link slot goes with its interface's last sync, and the next link to get it starts from zero;
 * an interface bound to an endpoint gets none. */
Test(bpf_slot_ctrs, a_freed_link_slot_counts_from_zero)
{
	struct pal_iface v = { .flags = PAL_IF_WORKLOAD, .endpoint_id = PAL_IF_NO_ENDPOINT };
	int a, b, c, both[2];
	uint32_t l;

	a = bt_veth_add(veth[0], 0);
	b = bt_veth_add(veth[1], 0);
	c = bt_veth_add(veth[2], 0);
	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)c, &v, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	both[0] = a;
	both[1] = c;
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, both, 2), 1, "%s", pal_dp_error(T.dp));
	cr_expect_eq(pal_dp_link_slot(T.dp, (uint32_t)c), 0, "an endpoint got a link slot");
	l = pal_dp_link_slot(T.dp, (uint32_t)a);
	cr_assert_neq(l, 0);
	one_tc_in_packet(a);
	cr_assert_eq(tc_in_packets(a), 1);
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, NULL, 0), 0);
	cr_expect_eq(pal_dp_link_slot(T.dp, (uint32_t)a), 0, "a detached link keeps its slot");
	one_tc_in_packet(a); /* by ifindex now */
	cr_expect(hash_has(a, PAL_HOOK_TC_INGRESS));
	pal_dp_grace_period(); /* the freed link slot becomes reusable */
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, &b, 1), 1, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_link_slot(T.dp, (uint32_t)b), l, "the test needs b to get a's link slot");
	cr_expect_eq(tc_in_packets(b), 0, "b's counters start with a's %llu packets",
		     (unsigned long long)tc_in_packets(b));
	one_tc_in_packet(b);
	cr_expect_eq(tc_in_packets(b), 1);
	cr_expect_not(hash_has(b, PAL_HOOK_TC_INGRESS));
}

/* A restarted agent (the pins adopted) keeps the link slots it finds in pal_if_index, and their
 * counts: a slot named twice or outside the link range is dropped, never handed out twice. */
Test(bpf_slot_ctrs, a_load_keeps_link_slots_and_drops_bad_ones)
{
	char err[512] = "";
	bool adopted = false;
	int a, b, c;
	uint32_t l, k;
	struct pal_if_index e;
	struct pal_dp_opts opts;

	a = bt_veth_add(veth[0], 0);
	b = bt_veth_add(veth[1], 0);
	c = bt_veth_add(veth[2], 0);
	cr_assert_eq(pal_dp_link_slots_sync(T.dp, &a, 1), 1, "%s", pal_dp_error(T.dp));
	l = pal_dp_link_slot(T.dp, (uint32_t)a);
	one_tc_in_packet(a);
	/* b names a's link slot too, c an endpoint slot: corrupt pins */
	k = (uint32_t)b;
	e = (struct pal_if_index){ .cfg_plus1 = PAL_IF_INDEX_NONE, .link_plus1 = l + 1 };
	cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(T.dp, "pal_if_index"), &k, &e, BPF_ANY), 0);
	k = (uint32_t)c;
	e.link_plus1 = PAL_IFSLOT_FIRST + 1;
	cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(T.dp, "pal_if_index"), &k, &e, BPF_ANY), 0);
	pal_dp_close(T.dp);
	T.dp = NULL;
	opts = bt_dp_opts(T.pin_dir);
	cr_assert_eq(pal_dp_open(&opts, &T.dp, &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_assert(adopted);
	/* the array is walked in ifindex order: the lower of a and b keeps the slot */
	cr_expect_eq(pal_dp_link_slot(T.dp, (uint32_t)(a < b ? a : b)), l, "the link slot was not kept");
	cr_expect_eq(pal_dp_link_slot(T.dp, (uint32_t)(a < b ? b : a)), 0, "a slot named twice kept");
	cr_expect_eq(pal_dp_link_slot(T.dp, (uint32_t)c), 0, "an endpoint slot kept as a link slot");
	if (a < b)
		cr_expect_eq(tc_in_packets(a), 1, "a's count lost over the load");
	/* the sync keeps a's (or hands a fresh one), never l twice */
	int ab[2] = { a, b };
	cr_assert_geq(pal_dp_link_slots_sync(T.dp, ab, 2), 1, "%s", pal_dp_error(T.dp));
	cr_expect_neq(pal_dp_link_slot(T.dp, (uint32_t)a), pal_dp_link_slot(T.dp, (uint32_t)b));
}
