/* Rule lists by content (agent/dataplane/list_reuse.h): an apply writes only the lists that
 * changed; an unchanged one is the live list again (same id, nothing written), a changed one is
 * a new list and traffic follows it; a list goes when its last reference does. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

static struct bpft T;
static struct ctest A, B;

static void setup(void)
{
	bt_setup_pair(&T, &A, BT_PAIR_HEP BT_PAIR_POL("80"), &B, BT_PAIR_HEP BT_PAIR_POL("81"));
}

static void teardown(void)
{
	bt_teardown_pair(&T, &A, &B);
}

TestSuite(bpf_list_reuse, .init = setup, .fini = teardown);

static size_t count_keys(const char *map)
{
	int fd = pal_dp_map_fd(T.dp, map);
	uint8_t key[64], next[64];
	void *prev = NULL;
	size_t n = 0;

	cr_assert_geq(fd, 0);
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static struct pal_iface eth0_value(void)
{
	struct pal_iface v;

	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)T.ifindex[BT_ETH0], &v), 0);
	return v;
}

static bool holds(const struct pal_iface *v, uint32_t id)
{
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		if (v->lists[s] == id)
			return true;
	return false;
}

static bool list_exists(uint32_t id)
{
	struct pal_list l;

	return bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_lists"), &id, &l) == 0;
}

Test(bpf_list_reuse, an_unchanged_list_is_not_written_again)
{
	struct pal_iface before = eth0_value(), after;
	size_t lists = count_keys("pal_lists"), classes = count_keys("pal_classes");

	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81));
	bt_pair_apply(&T, &A, 2); /* the same policy again */
	after = eth0_value();
	cr_assert_eq(after.generation, 2);
	cr_assert_eq(memcmp(after.lists, before.lists, sizeof(after.lists)), 0,
		     "an identical list was written again");
	cr_assert_eq(count_keys("pal_lists"), lists);
	cr_assert_eq(count_keys("pal_classes"), classes);
	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81));
}

Test(bpf_list_reuse, a_changed_list_is_new_and_enforced)
{
	struct pal_iface a = eth0_value(), b;
	size_t lists = count_keys("pal_lists");

	bt_pair_apply(&T, &B, 2);
	b = eth0_value();
	/* Only the ingress lists differ: the others (no egress rules in either) stay shared. */
	cr_assert_neq(a.lists[PAL_SLOT_NORMAL_IN], b.lists[PAL_SLOT_NORMAL_IN], "B's list is A's");
	cr_assert_eq(a.lists[PAL_SLOT_NORMAL_OUT], b.lists[PAL_SLOT_NORMAL_OUT]);
	cr_assert(bt_pair_admits(&T, 81) && !bt_pair_admits(&T, 80), "B not enforced");
	/* A's changed list stays (unreachable) until the sweep the agent runs once enforced */
	cr_assert_eq(count_keys("pal_lists"), lists + 1);
	cr_assert_eq(pal_dp_lists_sweep(T.dp), 1);
	cr_assert_eq(count_keys("pal_lists"), lists, "A's changed list not deleted by the sweep");
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		cr_assert(!a.lists[s] || holds(&b, a.lists[s]) || !list_exists(a.lists[s]),
			  "A's list %u left", a.lists[s]);
	bt_pair_apply(&T, &A, 3); /* back: a fresh copy of A, enforced */
	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81), "A not enforced again");
}

Test(bpf_list_reuse, a_list_goes_with_its_last_reference)
{
	const struct pal_ir_endpoint *ea = pal_ir_endpoint_for_iface(&A.ir, "eth0");
	const struct pal_ir_endpoint *eb = pal_ir_endpoint_for_iface(&B.ir, "eth0");
	struct pal_iface live = eth0_value(), a2, b1, b2;
	uint32_t ids[PAL_SLOT_COUNT];
	size_t n;

	/* A again: the live lists, one reference more; given back, the interface's stay. */
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &A.ir, ea, 2, &a2), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(memcmp(a2.lists, live.lists, sizeof(a2.lists)), 0);
	n = pal_dp_iface_lists(&a2, ids);
	cr_assert_gt(n, 0);
	pal_dp_lists_delete(T.dp, ids, n);
	for (size_t i = 0; i < n; i++)
		cr_assert(list_exists(ids[i]), "list %u deleted under the interface", ids[i]);
	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81));

	/* B twice: one new list set, two references; it goes with the second. */
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &B.ir, eb, 2, &b1), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &B.ir, eb, 2, &b2), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(memcmp(b1.lists, b2.lists, sizeof(b1.lists)), 0);
	cr_assert(!holds(&live, b1.lists[PAL_SLOT_NORMAL_IN]));
	n = pal_dp_iface_lists(&b1, ids);
	pal_dp_lists_delete(T.dp, ids, n);
	for (size_t i = 0; i < n; i++)
		cr_assert(list_exists(ids[i]), "list %u deleted with a reference left", ids[i]);
	pal_dp_lists_delete(T.dp, ids, n);
	for (size_t i = 0; i < n; i++) /* the ones B shares with the interface stay */
		cr_assert(holds(&live, ids[i]) != !list_exists(ids[i]),
			  "list %u: %s", ids[i], holds(&live, ids[i]) ? "deleted under the interface" :
								 "left after its last reference");
	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81));
}

/* A restart: the new agent does not know which lists the old one shared; it counts the pinned
 * interfaces' references, so releasing one interface's list leaves the other's. */
Test(bpf_list_reuse, a_restart_keeps_lists_shared_by_the_last_agent)
{
	const struct pal_ir_endpoint *ea = pal_ir_endpoint_for_iface(&A.ir, "eth0");
	const struct pal_ir_endpoint *eb = pal_ir_endpoint_for_iface(&B.ir, "eth0");
	uint32_t eth0 = (uint32_t)T.ifindex[BT_ETH0], eth1 = (uint32_t)T.ifindex[BT_ETH1];
	struct pal_datapath *dp2 = NULL;
	struct pal_iface shared, old, vb;
	uint32_t ids[PAL_SLOT_COUNT];
	char err[512] = "";
	bool had = false;

	/* eth1 gets A's lists too: the same lists, shared with eth0 */
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &A.ir, ea, 2, &shared), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(memcmp(shared.lists, eth0_value().lists, sizeof(shared.lists)), 0);
	cr_assert_eq(pal_dp_iface_flip(T.dp, eth1, &shared, NULL, NULL), 0, "%s", pal_dp_error(T.dp));

	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir }, &dp2, NULL, err,
				 sizeof(err)), 0, "%s", err);
	/* the new agent moves eth0 to B and gives back eth0's old lists */
	cr_assert_eq(pal_dp_endpoint_write(dp2, &B.ir, eb, 3, &vb), 0, "%s", pal_dp_error(dp2));
	cr_assert_eq(pal_dp_iface_flip(dp2, eth0, &vb, &old, &had), 0, "%s", pal_dp_error(dp2));
	cr_assert(had);
	pal_dp_grace_period();
	pal_dp_lists_delete(dp2, ids, pal_dp_iface_lists(&old, ids));
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		cr_assert(!shared.lists[s] || list_exists(shared.lists[s]),
			  "list %u deleted under eth1", shared.lists[s]);
	pal_dp_close(dp2);
}
