/* Long lists' pal_long slots across applies, restarts and a full map (review of a63dbb1: the
 * header of a list of more than PAL_SMALL_ENTRIES entries is read from the pal_long slot its id
 * names, PAL_LIST_ID_LONG | slot, so ids now come back after a round of the slots instead of
 * after 2^30 list writes):
 *   - a list that goes empties its slot before its pal_lists entry goes, and a later list that
 *     takes the slot (the round robin put on it) is classified as itself, not as the list the
 *     slot held before;
 *   - the round robin put on a live list's slot skips it: the policy in force is exactly one of
 *     the two, never a mix;
 *   - a flow admitted under a list is judged again when its interface's lists change, also when
 *     the new list has the old one's id (its slot);
 *   - a restart resumes the round robin after the live slots, empties the slots of the lists it
 *     sweeps and keeps every live list's slot equal to its pal_lists entry;
 *   - no free slot: the apply fails and the last policy stays in force (fail closed, no list
 *     half written). */
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

BT_BARE_SUITE(bpf_long_slots);

/* A long list (40 denies from 198.19.0.1-40 ahead of the rest): TCP to deny_port denied, other
 * TCP allowed. Distinct ports give distinct contents (no list is shared by content). */
static char *long_policy(int deny_port)
{
	size_t cap = 16384, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: h0, labels: {role: h}}\n"
		"spec: {node: node1, interfaceName: eth0, expectedIPs: [" HOST "]}\n"
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: p}\n"
		"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n");
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.%d/32]}}\n", i + 1);
	snprintf(y + len, cap - len,
		 "  - {action: Deny, protocol: TCP, destination: {ports: [%d]}}\n"
		 "  - {action: Allow, protocol: TCP}\n", deny_port);
	return y;
}

static void compile(struct ctest *c, int deny_port)
{
	char *y = long_policy(deny_port);

	memset(c, 0, sizeof(*c));
	ct_compile(c, y);
	free(y);
	cr_assert_eq(c->rc, 0, "compile");
}

static int apply_rc(const struct pal_ir *ir, uint32_t gen)
{
	return bt_apply_rc(&T, ir, gen);
}

static bool allowed(uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, dport);

	return bt_path_new_flow(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p).allow;
}

/* Only deny_port of 22, 80, 443 and 8080 is denied. */
static void expect_policy(int deny_port, const char *when)
{
	static const uint16_t ports[] = { 22, 80, 443, 8080 };

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		cr_expect_eq(allowed(ports[i]), ports[i] != deny_port,
			     "%s: port %u %s (the policy denies port %d only)", when, ports[i],
			     allowed(ports[i]) ? "allowed" : "denied", deny_port);
}

/* The live long lists' ids in ids[] (at most max), each checked: its pal_long slot is its
 * pal_lists entry, stamped with its id; how many. */
static int live_long(uint32_t *ids, int max)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		uint32_t slot;
		struct pal_list l, h;

		key = next;
		prev = &key;
		if (!(key & PAL_LIST_ID_LONG))
			continue;
		slot = key & ~PAL_LIST_ID_LONG;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_long"), &slot, &h), 0,
			     "long list %#x names slot %u, which pal_long does not have", key, slot);
		cr_expect_eq(h.list_id, key, "slot %u is stamped %#x, its list is %#x", slot,
			     h.list_id, key);
		cr_expect_eq(memcmp(&h, &l, sizeof(h)), 0,
			     "long list %#x: its pal_long slot is not its pal_lists entry", key);
		if (n < max)
			ids[n] = key;
		n++;
	}
	return n;
}

/* The list id slot s of pal_long is stamped with (0: empty). */
static uint32_t slot_stamp(uint32_t s)
{
	struct pal_list h;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_long"), &s, &h), 0);
	return h.list_id;
}

/* The one long list eth0 runs (its slots' lists), every live long list checked (live_long). */
static uint32_t the_long_list(void)
{
	uint32_t ids[16], id = 0;
	struct pal_iface v;
	int n = 0;

	live_long(ids, 16);
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)T.ifindex[BT_ETH0], &v), 0);
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		if (v.lists[s] & PAL_LIST_ID_LONG) {
			if (v.lists[s] != id)
				n++;
			id = v.lists[s];
		}
	cr_assert_eq(n, 1, "eth0 runs %d long lists, the test wants one", n);
	return id;
}

/* How many long lists are live. */
static int n_live_long(void)
{
	uint32_t ids[16];

	return live_long(ids, 16);
}

/* A slot freed by the sweep is empty, and the list that takes it next (the round robin put on
 * it) is classified as itself. */
Test(bpf_long_slots, a_freed_slot_is_emptied_and_its_next_list_is_read_as_itself)
{
	struct ctest a, b, c;
	uint32_t x, y, z;

	compile(&a, 80);
	compile(&b, 443);
	compile(&c, 22);
	bt_apply(&T, &a.ir, 1);
	expect_policy(80, "A");
	x = the_long_list();
	bt_apply(&T, &b.ir, 2);
	expect_policy(443, "B");
	cr_assert_eq(n_live_long(), 2, "A's list waits for the sweep");
	cr_assert_gt(pal_dp_lists_sweep(T.dp), 0, "A's list waits for the sweep");
	cr_assert_eq(n_live_long(), 1, "A's list is gone after the sweep");
	y = the_long_list();
	cr_assert_neq(x, y);
	cr_expect_eq(slot_stamp(x & ~PAL_LIST_ID_LONG), 0, "A's slot still holds a list after the sweep");
	/* C takes A's old slot, i.e. A's id */
	T.dp->next_long_slot = x & ~PAL_LIST_ID_LONG;
	bt_apply(&T, &c.ir, 3);
	z = the_long_list();
	cr_expect_eq(z, x, "the round robin put on A's freed slot: C takes its id");
	expect_policy(22, "C in A's old slot");
	ct_free(&a);
	ct_free(&b);
	ct_free(&c);
}

/* The round robin put on the live list's slot passes it by: the new list gets another. */
Test(bpf_long_slots, the_round_robin_on_a_live_slot_keeps_one_policy)
{
	struct ctest a, b;
	uint32_t x;

	compile(&a, 80);
	compile(&b, 22);
	bt_apply(&T, &a.ir, 1);
	x = the_long_list();
	T.dp->next_long_slot = x & ~PAL_LIST_ID_LONG;
	cr_assert_eq(apply_rc(&b.ir, 2), 0, "%s", pal_dp_error(T.dp));
	expect_policy(22, "B applied while the round robin stood on A's live slot");
	cr_expect_neq(the_long_list(), x);
	pal_dp_lists_sweep(T.dp);
	expect_policy(22, "B after the sweep");
	ct_free(&a);
	ct_free(&b);
}

/* A flow admitted under list X is judged again under the list that took X's id. */
Test(bpf_long_slots, a_flow_admitted_under_an_id_is_rejudged_when_the_id_comes_back)
{
	struct ctest a, b, c;
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 40001, HOST, 22);
	uint32_t x;

	compile(&a, 80);
	compile(&b, 443);
	compile(&c, 22);
	bt_apply(&T, &a.ir, 1);
	x = the_long_list();
	bt_flush_flows(&T);
	cr_assert(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow,
		  "A admits the flow to 22");
	bt_apply(&T, &b.ir, 2);
	pal_dp_lists_sweep(T.dp);
	T.dp->next_long_slot = x & ~PAL_LIST_ID_LONG;
	bt_apply(&T, &c.ir, 3);
	cr_assert_eq(the_long_list(), x, "C has A's id");
	cr_expect_not(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow,
		      "the flow A admitted passes under C, which denies it (same list id)");
	ct_free(&a);
	ct_free(&b);
	ct_free(&c);
}

/* An agent exits with a list waiting for the sweep; the next one sweeps it at load (its slot
 * emptied), resumes the round robin after the live slot and never hands out a live one. */
Test(bpf_long_slots, a_restart_sweeps_slots_and_resumes_after_the_live_ones)
{
	char err[512] = "";
	bool adopted = false;
	struct ctest a, b, c;
	uint32_t x, y;

	compile(&a, 80);
	compile(&b, 443);
	compile(&c, 22);
	bt_apply(&T, &a.ir, 1);
	x = the_long_list();
	bt_apply(&T, &b.ir, 2);
	y = the_long_list();
	cr_assert_eq(slot_stamp(x & ~PAL_LIST_ID_LONG), x, "A's list waits for the sweep");
	pal_dp_close(T.dp); /* exits without sweeping */
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .sizes.max_flows = 4096 },
				 &T.dp, &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_assert(adopted);
	cr_expect_eq(the_long_list(), y, "B's list is the one eth0 runs after the restart");
	cr_expect_eq(n_live_long(), 1, "A's list is live after the restart");
	cr_expect_eq(slot_stamp(x & ~PAL_LIST_ID_LONG), 0, "A's slot holds a list after the load swept it");
	cr_expect_gt(T.dp->next_long_slot, y & ~PAL_LIST_ID_LONG,
		     "the round robin resumes at %u, not after the live slot %u", T.dp->next_long_slot,
		     y & ~PAL_LIST_ID_LONG);
	expect_policy(443, "B after the restart");
	T.dp->next_long_slot = y & ~PAL_LIST_ID_LONG;
	cr_assert_eq(apply_rc(&c.ir, 3), 0, "%s", pal_dp_error(T.dp));
	cr_expect_neq(the_long_list(), y);
	expect_policy(22, "C after the restart");
	ct_free(&a);
	ct_free(&b);
	ct_free(&c);
}

/* Every slot taken (pal_long held to the live list's slot): the apply fails, the slot and the
 * policy in force stay, no list is left half written; with room again the update goes in. */
Test(bpf_long_slots, no_free_slot_fails_the_apply_and_keeps_the_last_policy)
{
	struct ctest a, b;
	uint32_t x, n_slots;
	int rc;

	compile(&a, 80);
	compile(&b, 22);
	bt_apply(&T, &a.ir, 1);
	x = the_long_list();
	n_slots = T.dp->n_long_slots;
	cr_assert_eq(x & ~PAL_LIST_ID_LONG, 0, "the first long list takes slot 0");
	T.dp->n_long_slots = 1;
	rc = apply_rc(&b.ir, 2);
	cr_expect_neq(rc, 0, "B applied with no free pal_long slot");
	cr_expect_eq(the_long_list(), x, "eth0 runs a long list other than A's");
	cr_expect_eq(n_live_long(), 1, "a long list other than A's is live");
	cr_expect_eq(slot_stamp(0), x);
	for (uint32_t s = 1; s < 8 && s < n_slots; s++)
		cr_expect_eq(slot_stamp(s), 0, "slot %u written by the failed apply", s);
	expect_policy(80, "A after B failed for want of a slot");
	T.dp->n_long_slots = n_slots;
	cr_assert_eq(apply_rc(&b.ir, 3), 0, "%s", pal_dp_error(T.dp));
	expect_policy(22, "B with room again");
	ct_free(&a);
	ct_free(&b);
}
