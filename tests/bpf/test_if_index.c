/* pal_if_index (include/palisade/abi.h): the programs find an interface's configuration in force
 * through an array indexed by ifindex, whose word names the slot and its active bank together
 * (slot * 2 + bank + 1), instead of the pal_ifaces hash and the slot's pal_if_bank word, for
 * ifindexes below PAL_IF_INDEX_DIRECT. What must hold: a flip is seen at once through the word; an
 * unbound interface never reads the policy of the interface its slot goes to next, nor does its
 * stale word follow the slot's flips; the array equals pal_ifaces and pal_if_bank after every load
 * (an agent may have died between the writes, also between a flip's bank word and its pal_if_index
 * word); an ifindex beyond the array is still found (in pal_ifaces). Each test runs in its own network
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

/* A configuration under which tc ingress passes the test packet: no endpoint kind, nothing to
 * enforce. */
static void bind_pass(int ifindex)
{
	struct pal_iface v = { .endpoint_id = PAL_IF_NO_ENDPOINT };

	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)ifindex, &v, NULL, NULL), 0, "%s",
		     pal_dp_error(T.dp));
}

static uint32_t array_elem(int ifindex)
{
	struct pal_if_index e;
	uint32_t k = (uint32_t)ifindex;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_if_index"), &k, &e), 0);
	return e.cfg_plus1;
}

/* The slot's active bank, as the record (pal_if_bank) says. */
static uint32_t bank_of(uint32_t slot)
{
	struct pal_if_bank b;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_if_bank"), &slot, &b), 0);
	return b.bank & 1;
}

/* What pal_if_index must hold for an interface bound to slot: its active bank's index + 1. */
static uint32_t word_of(uint32_t slot)
{
	return slot * 2 + bank_of(slot) + 1;
}

static void array_write(int ifindex, uint32_t cfg_plus1)
{
	struct pal_if_index e = { .cfg_plus1 = cfg_plus1 };
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
	cr_assert_eq(array_elem(a), word_of(sa), "pal_if_index[cali0] does not name its active bank");
	cr_assert_eq(tc_in(a), TC_SHOT, "the test needs cali0's configuration to drop");
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)a, NULL, NULL), 0);
	cr_expect_eq(array_elem(a), PAL_IF_INDEX_NONE, "pal_if_index[cali0] outlives its binding");
	pal_dp_grace_period(); /* the freed slot becomes reusable */
	bind_deny_all(b);
	cr_assert_eq(hash_slot(b), sa, "the test needs cali1 to get cali0's freed slot");
	cr_expect_eq(tc_in(b), TC_SHOT);
	cr_expect_eq(tc_in(a), TC_OK, "unbound cali0 was judged by cali1's configuration (slot %u)",
		     sa);
	/* cali1's flips move only its own word: cali0's stale element never follows the slot */
	for (int i = 0; i < 3; i++) {
		bind_deny_all(b);
		cr_expect_eq(array_elem(b), word_of(sa), "flip %d: pal_if_index[cali1] is stale", i);
		cr_expect_eq(array_elem(a), PAL_IF_INDEX_NONE,
			     "flip %d: unbound cali0's element names slot %u again", i, sa);
		cr_expect_eq(tc_in(a), TC_OK, "flip %d: unbound cali0 judged by cali1's value", i);
	}
}

/* A flip is seen at once through the pal_if_index word: after every flip the word names the bank
 * just written (the slot's new active bank), and the next packet is judged by that value, not by
 * the bank before it. Fails on a flip that stores the bank word alone. */
Test(bpf_if_index, a_flip_is_seen_at_once_through_the_word)
{
	int a = T.ifindex[BT_CALI0];
	uint32_t sa, prev;

	bind_deny_all(a);
	sa = hash_slot(a);
	prev = array_elem(a);
	cr_assert_eq(prev, word_of(sa), "pal_if_index[cali0] does not name its active bank");
	cr_assert_eq(tc_in(a), TC_SHOT, "the test needs cali0's first configuration to drop");
	for (int i = 0; i < 6; i++) {
		bool pass = i % 2 == 0;

		if (pass)
			bind_pass(a);
		else
			bind_deny_all(a);
		cr_assert_eq(hash_slot(a), sa, "a flip moved cali0 to another slot");
		cr_expect_eq(array_elem(a), word_of(sa), "flip %d: the word is not the new bank's", i);
		cr_expect_eq(array_elem(a), (sa * 2 + 1) + (sa * 2 + 2) - prev,
			     "flip %d: the word is not the slot's other bank", i);
		prev = array_elem(a);
		cr_expect_eq(tc_in(a), pass ? TC_OK : TC_SHOT,
			     "flip %d: the packet was judged by the bank before the flip", i);
	}
}

/* A restart: the datapath closed and opened again on its pins, which it must adopt (the load's
 * re-sync of pal_if_index is what the callers check). */
static void reopen_adopting(void)
{
	char err[512] = "";
	bool adopted = false;

	pal_dp_close(T.dp);
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .sizes.max_flows = 4096 },
				 &T.dp, &adopted, err, sizeof(err)),
		     0, "pal_dp_open: %s", err);
	cr_assert(adopted);
}

/* An agent that died between a flip's bank word and its pal_if_index word: the word still names
 * the old bank (the programs read it there: the old value), and the next load stores the active
 * bank's index, so the interface's last configuration is in force again. */
Test(bpf_if_index, a_load_repairs_a_word_left_on_the_old_bank)
{
	int a = T.ifindex[BT_CALI0];
	uint32_t sa;

	bind_deny_all(a);
	sa = hash_slot(a);
	bind_pass(a); /* the active bank now passes, the other one drops */
	cr_assert_eq(tc_in(a), TC_OK, "the test needs cali0's second configuration to pass");
	array_write(a, sa * 2 + (bank_of(sa) ^ 1) + 1);
	cr_assert_eq(tc_in(a), TC_SHOT, "the test needs the programs to read the word, not the bank");
	reopen_adopting();
	cr_expect_eq(array_elem(a), word_of(sa), "pal_if_index[cali0] not moved to its active bank");
	cr_expect_eq(tc_in(a), TC_OK, "cali0 is judged by its old bank after the load");
}

/* An agent that died between writing pal_ifaces and pal_if_index: the next load makes the array
 * equal to pal_ifaces again (an interface found, one no longer bound not found). */
Test(bpf_if_index, a_load_makes_the_array_equal_to_pal_ifaces)
{
	int a = T.ifindex[BT_CALI0], b = T.ifindex[BT_CALI1];
	uint32_t sa;

	bind_deny_all(a);
	sa = hash_slot(a);
	array_write(a, PAL_IF_INDEX_NONE);
	array_write(b, word_of(sa));
	cr_assert_eq(tc_in(a), TC_OK, "the test needs the corrupt array to be what the programs read");
	reopen_adopting();
	cr_expect_eq(array_elem(a), word_of(sa), "pal_if_index[cali0] not restored");
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
