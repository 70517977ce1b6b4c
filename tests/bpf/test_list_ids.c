/* List ids: a new list never takes the id of a live one. Ids come from a counter that only grows,
 * but it wraps after 2^32 list writes (and a restart resumes after the largest pinned id). Before
 * the fix (found by review), a list written onto a live list's id overwrote that list's
 * pal_classes keys and linear form (pal_small) under the interfaces reading it, failed at
 * pal_lists (BPF_NOEXIST), and its failure path then deleted the live list's tables: the live
 * policy answered INTERNAL (every packet dropped) and, between the writes, another policy's
 * verdicts. The test puts the counter on a live id, as 2^32 writes would (and the round robin
 * of pal_small slots on a live list's slot), and applies another policy: the result must be
 * exactly one of the two policies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"
#include "../../agent/dataplane/datapath_internal.h"

#define HOST "198.18.0.1"
#define PEER "198.18.5.5"

BT_BARE_SUITE(bpf_list_ids);

static const char *policy_port(int port, char *y, size_t cap)
{
	snprintf(y, cap,
		 "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		 "metadata: {name: h0, labels: {role: h}}\n"
		 "spec: {node: node1, interfaceName: eth0, expectedIPs: [" HOST "]}\n"
		 "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		 "metadata: {name: p}\n"
		 "spec:\n  order: 1\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
		 "  - {action: Allow, protocol: TCP, source: {nets: [" PEER "/32]}, "
		 "destination: {ports: [%d]}}\n",
		 port);
	return y;
}

static bool allowed(uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, dport);

	bt_flush_flows(&T);
	return bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow;
}

static int apply_rc(const struct pal_ir *ir, uint32_t gen)
{
	return bt_apply_rc(&T, ir, gen);
}

/* The smallest live list id with (small) or without PAL_LIST_ID_SMALL; UINT32_MAX: none. */
static uint32_t min_live_list(bool small)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL, min = UINT32_MAX;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!(key & PAL_LIST_ID_SMALL) == !small && key < min)
			min = key;
	}
	return min;
}

Test(bpf_list_ids, list_id_wrap_onto_a_live_list_keeps_one_policy)
{
	struct ctest a, b;
	char y[2048];
	uint32_t live;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ct_compile_ok(&a, policy_port(22, y, sizeof(y)));
	ct_compile_ok(&b, policy_port(80, y, sizeof(y)));
	bt_apply(&T, &a.ir, 1);
	cr_assert(allowed(22));
	cr_assert_not(allowed(80));

	/* where 2^30 list writes later the counter is; and the pal_small slots' round robin, which
	 * the policies' lists take (they have a linear form) */
	live = min_live_list(true);
	cr_assert_neq(live, UINT32_MAX, "no list has a linear form");
	T.dp->next_small_slot = live & ~PAL_LIST_ID_SMALL;
	live = min_live_list(false);
	if (live != UINT32_MAX)
		T.dp->next_list_id = live;
	rc = apply_rc(&b.ir, 2);
	cr_assert_eq(rc, 0, "the apply failed: %s", pal_dp_error(T.dp));
	cr_expect(allowed(80), "update applied, yet port 80 is not allowed");
	cr_expect_not(allowed(22), "update applied, yet port 22 is still allowed");
	ct_free(&a);
	ct_free(&b);
}
