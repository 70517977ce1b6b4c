/* pal_if_index (include/palisade/abi.h): the programs find an interface's slot in an array indexed
 * by ifindex instead of the pal_ifaces hash, for ifindexes below PAL_IF_INDEX_DIRECT. What must
 * hold: an unbound interface never reads the policy of the interface its slot goes to next; the
 * array equals pal_ifaces after every load (an agent may have died between the two writes); an
 * ifindex beyond the array is still found (in pal_ifaces). Each test runs in its own network
 * namespace (bt_setup); the large-ifindex veth lives and dies there. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define TC_OK 0
#define TC_SHOT 2

BT_BARE_SUITE(bpf_if_index);

/* A workload interface with no source prefixes: tc ingress drops everything it sends (spoof). */
static void bind_deny_all(int ifindex)
{
	struct pal_iface v = { .flags = PAL_IF_WORKLOAD, .endpoint_id = PAL_IF_NO_ENDPOINT };

	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)ifindex, &v, NULL, NULL), 0, "%s",
		     pal_dp_error(T.dp));
}

static int tc_in(int ifindex)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_UDP, "198.18.9.9", 40000, "198.18.0.1", 53);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);
	int rc = bt_run_tc(&T, PAL_PROG_TC_INGRESS, ifindex, 0, 0, buf, len, NULL);

	cr_assert_geq(rc, 0, "tc ingress test run failed");
	return rc;
}

static uint32_t hash_slot(int ifindex)
{
	struct pal_if_slot s;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_ifaces"), &ifindex, &s), 0,
		     "pal_ifaces[%d] missing", ifindex);
	return s.slot;
}

static uint32_t array_elem(int ifindex)
{
	struct pal_if_index e;
	uint32_t k = (uint32_t)ifindex;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_if_index"), &k, &e), 0);
	return e.slot_plus1;
}

static void array_write(int ifindex, uint32_t slot_plus1)
{
	struct pal_if_index e = { .slot_plus1 = slot_plus1 };
	uint32_t k = (uint32_t)ifindex;

	cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(T.dp, "pal_if_index"), &k, &e, BPF_ANY), 0);
}

/* cali0 is removed, its slot goes to cali1 (a deny-everything workload): cali0's packets must not
 * be judged by cali1's configuration. */
Test(bpf_if_index, an_unbound_interface_never_reads_its_old_slot_s_next_owner)
{
	int a = T.ifindex[BT_CALI0], b = T.ifindex[BT_CALI1];
	uint32_t sa;

	bind_deny_all(a);
	sa = hash_slot(a);
	cr_assert_eq(array_elem(a), sa + 1, "pal_if_index[cali0] is not its slot + 1");
	cr_assert_eq(tc_in(a), TC_SHOT, "the test needs cali0's configuration to drop");
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)a, NULL, NULL), 0);
	cr_expect_eq(array_elem(a), PAL_IF_INDEX_NONE, "pal_if_index[cali0] outlives its binding");
	pal_dp_grace_period(); /* the freed slot becomes reusable */
	bind_deny_all(b);
	cr_assert_eq(hash_slot(b), sa, "the test needs cali1 to get cali0's freed slot");
	cr_expect_eq(tc_in(b), TC_SHOT);
	cr_expect_eq(tc_in(a), TC_OK, "unbound cali0 was judged by cali1's configuration (slot %u)",
		     sa);
}

/* An agent that died between writing pal_ifaces and pal_if_index: the next load makes the array
 * equal to pal_ifaces again (an interface found, one no longer bound not found). */
Test(bpf_if_index, a_load_makes_the_array_equal_to_pal_ifaces)
{
	int a = T.ifindex[BT_CALI0], b = T.ifindex[BT_CALI1];
	char err[512] = "";
	bool adopted = false;
	uint32_t sa;

	bind_deny_all(a);
	sa = hash_slot(a);
	array_write(a, PAL_IF_INDEX_NONE);
	array_write(b, sa + 1);
	cr_assert_eq(tc_in(a), TC_OK, "the test needs the corrupt array to be what the programs read");
	pal_dp_close(T.dp);
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .sizes.max_flows = 4096 },
				 &T.dp, &adopted, err, sizeof(err)),
		     0, "pal_dp_open: %s", err);
	cr_assert(adopted);
	cr_expect_eq(array_elem(a), sa + 1, "pal_if_index[cali0] not restored");
	cr_expect_eq(array_elem(b), PAL_IF_INDEX_NONE, "pal_if_index[cali1] names a slot it never had");
	cr_expect_eq(tc_in(a), TC_SHOT, "cali0 is not policed after the load");
	cr_expect_eq(tc_in(b), TC_OK, "cali1 is judged by cali0's configuration after the load");
}

/* An interface whose ifindex is beyond the array is found in pal_ifaces. */
Test(bpf_if_index, an_ifindex_beyond_the_array_is_policed)
{
	uint32_t big = PAL_IF_INDEX_DIRECT + 7;
	int ifi = bt_veth_add("ifxbig", big);

	bind_deny_all(ifi);
	cr_expect_eq(tc_in(ifi), TC_SHOT, "an interface with ifindex %u is not policed", big);
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)ifi, NULL, NULL), 0);
	cr_expect_eq(tc_in(ifi), TC_OK, "an unbound interface with ifindex %u is still policed", big);
}
