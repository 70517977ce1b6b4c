/* What a packet can hold while the agent flips an interface (issue 7, defect 10), checked on the
 * maps' structure instead of by racing: the flip storm (test_update.c) cannot show the race on a
 * machine with few CPUs, these checks fail deterministically on a datapath where a reader can see
 * a value rewritten under it.
 *
 *   - pal_ifaces is created with BPF_F_NO_PREALLOC: a replaced or deleted element is freed after
 *     an RCU grace period, never recycled at once for another interface's update (a preallocated
 *     HASH puts the old element on a per-CPU free list and reuses it on the next update);
 *   - a bound interface's pal_ifaces entry is never updated in place: its bytes (the slot) stay
 *     the same across many applies of different policies;
 *   - a flip writes only the inactive bank of the slot: the bytes of the bank that was active
 *     are unchanged by it, and the next flip (which rewrites that bank) first waits a grace
 *     period, so a packet that read the old bank word has returned.
 *
 * Built only on what the code before the fix also had (pal_dp_apply, pal_dp_iface_flip, maps by
 * name), so that it fails there at run time rather than not compiling. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

/* The grace periods the agent waited (maps_sync.c); weak, so the old code links without it. */
extern uint64_t pal_dp_grace_periods __attribute__((weak));
/* Grace periods that fell back to membarrier or a sleep (dp_helpers.c); weak for the same reason. */
extern uint64_t pal_dp_grace_fallbacks __attribute__((weak));

/* A admits TCP to 80, B to 81 (bt_pair_admits). */
static struct bpft T;
static struct ctest A, B;

static void setup(void)
{
	bt_setup_pair(&T, &A, BT_PAIR_HEP BT_PAIR_POL("80"), &B,
		      BT_PAIR_HEP BT_PAIR_POL("81, 82, '1000:2000'"));
}

static void teardown(void)
{
	bt_teardown_pair(&T, &A, &B);
}

TestSuite(bpf_flip_struct, .init = setup, .fini = teardown);

static struct bpf_map_info map_info(const char *name)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = pal_dp_map_fd(T.dp, name);

	cr_assert_geq(fd, 0, "no map %s", name);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info;
}

/* The raw bytes of pal_ifaces[ifindex] (whatever its value type), into buf; returns the size. */
static uint32_t ifaces_raw(uint32_t ifindex, uint8_t *buf, size_t cap)
{
	struct bpf_map_info info = map_info("pal_ifaces");

	cr_assert_leq(info.value_size, cap);
	memset(buf, 0, cap);
	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_ifaces"), &ifindex, buf), 0,
		     "pal_ifaces[%u] missing", ifindex);
	return info.value_size;
}

Test(bpf_flip_struct, pal_ifaces_elements_are_never_recycled_under_a_reader)
{
	struct bpf_map_info info = map_info("pal_ifaces");

	cr_assert_eq(info.type, BPF_MAP_TYPE_HASH);
	cr_assert(info.map_flags & BPF_F_NO_PREALLOC,
		  "pal_ifaces is a preallocated HASH (flags %#x): an update reuses the replaced "
		  "element at once, under a packet that may still be reading it", info.map_flags);
}

Test(bpf_flip_struct, a_bound_interface_entry_is_never_rewritten_across_applies)
{
	uint32_t eth0 = (uint32_t)T.ifindex[BT_ETH0];
	uint8_t first[256], now[256];
	uint32_t size = ifaces_raw(eth0, first, sizeof(first));

	for (uint32_t g = 2; g < 66; g++) {
		bt_pair_apply(&T, g % 2 ? &A : &B, g);
		cr_assert(bt_pair_admits(&T, g % 2 ? 80 : 81) && !bt_pair_admits(&T, g % 2 ? 81 : 80),
			  "apply %u: its policy is not in force", g);
		ifaces_raw(eth0, now, sizeof(now));
		cr_assert_eq(memcmp(first, now, size), 0,
			     "apply %u rewrote pal_ifaces[eth0] in place (%u bytes): a packet holding "
			     "the element reads the new value while it is written", g, size);
	}
}

/* The slot of eth0, its active bank, and that bank's bytes in pal_if_cfg. */
struct bank_view {
	uint32_t slot, active;
	uint8_t bytes[2][64];
	uint32_t size;
};

static struct bank_view bank_view(void)
{
	struct bank_view bv = { 0 };
	uint32_t eth0 = (uint32_t)T.ifindex[BT_ETH0], raw[16] = { 0 }, bank[2] = { 0 };
	struct bpf_map_info cfg = map_info("pal_if_cfg");

	map_info("pal_if_bank");
	ifaces_raw(eth0, (uint8_t *)raw, sizeof(raw));
	bv.slot = raw[0];
	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_if_bank"), &bv.slot, bank), 0);
	bv.active = bank[0] & 1;
	bv.size = cfg.value_size;
	cr_assert_leq(bv.size, sizeof(bv.bytes[0]));
	for (uint32_t b = 0; b < 2; b++) {
		uint32_t idx = bv.slot * 2 + b;

		cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_if_cfg"), &idx, bv.bytes[b]),
			     0);
	}
	return bv;
}

Test(bpf_flip_struct, a_flip_writes_only_the_inactive_bank)
{
	uint32_t eth0 = (uint32_t)T.ifindex[BT_ETH0];
	struct pal_iface va, vb;
	struct bank_view before, after1, after2;
	uint64_t gp;

	cr_assert_not_null(&pal_dp_grace_periods, "the datapath counts no grace periods");
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &B.ir, pal_ir_endpoint_for_iface(&B.ir, "eth0"), 2,
					   &vb), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &A.ir, pal_ir_endpoint_for_iface(&A.ir, "eth0"), 3,
					   &va), 0, "%s", pal_dp_error(T.dp));
	pal_dp_grace_period(); /* nothing pending from the setup's apply */
	before = bank_view();

	/* flip 1: the value in force before it is not touched; the bank word switches */
	cr_assert_eq(pal_dp_iface_flip(T.dp, eth0, &vb, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	after1 = bank_view();
	cr_assert_eq(after1.slot, before.slot, "the interface moved to another slot");
	cr_assert_neq(after1.active, before.active, "the flip did not switch the bank");
	cr_assert_eq(memcmp(before.bytes[before.active], after1.bytes[before.active], before.size), 0,
		     "the flip rewrote the bank packets were reading");
	cr_assert(bt_pair_admits(&T, 81) && !bt_pair_admits(&T, 80), "flip 1 (to B) not in force");

	/* flip 2, back to back: it writes the bank flip 1 left, which a packet that loaded the bank
	 * word before flip 1 may still read: only after a grace period */
	gp = __atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE);
	cr_assert_eq(pal_dp_iface_flip(T.dp, eth0, &va, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	cr_assert_gt(__atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE), gp,
		     "the back-to-back flip rewrote a bank without waiting a grace period");
	after2 = bank_view();
	cr_assert_eq(after2.active, before.active);
	cr_assert_eq(memcmp(after1.bytes[after1.active], after2.bytes[after1.active], before.size), 0,
		     "flip 2 rewrote the bank flip 1 published");
	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81), "flip 2 (to A) not in force");
}

/* A grace period is an ARRAY_OF_MAPS update, which the kernel returns from only after
 * synchronize_rcu(), not membarrier(MEMBARRIER_CMD_GLOBAL), which returns at once on a machine
 * with one online CPU although a program preempted under PREEMPT_RCU (raw OUTPUT, in process
 * context) may still be running, and fails under nohz_full (dp_helpers.c). Fails on the old code
 * (no fallback count) and wherever the maps cannot be made. */
Test(bpf_flip_struct, a_grace_period_is_a_map_in_map_update)
{
	uint64_t gp, fb;

	cr_assert_not_null(&pal_dp_grace_fallbacks, "the datapath does not count fallback grace periods");
	gp = __atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE);
	fb = __atomic_load_n(&pal_dp_grace_fallbacks, __ATOMIC_ACQUIRE);
	pal_dp_grace_period();
	pal_dp_grace_period();
	cr_assert_eq(__atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE), gp + 2);
	cr_assert_eq(__atomic_load_n(&pal_dp_grace_fallbacks, __ATOMIC_ACQUIRE), fb,
		     "a grace period fell back to membarrier or a sleep: the map-in-map update failed");
}
