/* The bitmap form's shortcuts around its scratch slot and list id (bpf/classify.h,
 * docs/datapath.md "Per-packet cost"), decided by the programs alone (BPF_PROG_TEST_RUN):
 *   - a list of more than PAL_SMALL_ENTRIES entries gets an id with PAL_LIST_ID_LONG, and the
 *     classifier does not look up a linear form for such an id: a linear form planted in every
 *     pal_small slot for it (another policy's) must not decide;
 *   - a long list's id names its pal_long slot, which holds the list's pal_lists entry, and the
 *     slot answers only for the id it was written for: stamped with another id, or emptied, the
 *     list is missing (INTERNAL), and the packet drops, fail closed;
 *   - a list with a linear form has an id with PAL_LIST_ID_SMALL naming its pal_small slot, and
 *     the slot answers only for the id it was written for: the same form stamped with another id
 *     is not read (the bitmap form decides);
 *   - XDP, tc and filter INPUT use their slot without the atomic owner word, but a slot a trace
 *     run holds (polctl's test run, process context, which a packet can interrupt) is still
 *     refused: the packet drops as busy, fail closed;
 *   - a trace run takes the slot with the owner word and gives it back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST "198.18.0.1"
#define PEER "198.18.5.5"
#define TC_SHOT_RC 2

BT_BARE_SUITE(bpf_cls_slot);

static const char *hep =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h0, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [" HOST "]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: p}\n"
	"spec:\n  selector: role == 'h'\n  types: [Ingress]\n";

/* A short list: TCP to port 80 only. */
static char *short_policy(void)
{
	char *y = malloc(4096);

	cr_assert_not_null(y);
	snprintf(y, 4096, "%s  ingress:\n  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n",
		 hep);
	return y;
}

/* A long list: 40 TCP denies from 198.19.0.1-40, TCP to port 80 denied, other TCP allowed; as
 * normal policy (judged at filter INPUT) or preDNAT (at tc ingress). */
static char *long_policy_of(bool prednat)
{
	size_t cap = 16384, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len, "%s%s  ingress:\n", hep,
				prednat ? "  preDNAT: true\n  applyOnForward: true\n" : "");
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.%d/32]}}\n", i + 1);
	snprintf(y + len, cap - len,
		 "  - {action: Deny, protocol: TCP, destination: {ports: [80]}}\n"
		 "  - {action: Allow, protocol: TCP}\n");
	return y;
}

static char *long_policy(void)
{
	return long_policy_of(false);
}

static bool allowed(uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, dport);

	return bt_path_new_flow(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p).allow;
}

/* Every live list's id has PAL_LIST_ID_LONG exactly when the list is too long for the linear
 * form, and PAL_LIST_ID_SMALL exactly when it has one; how many long lists there are. */
static int check_list_ids(void)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	int n_long = 0;
	struct pal_list l;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		cr_expect_eq(!!(key & PAL_LIST_ID_LONG), l.n_entries > PAL_SMALL_ENTRIES,
			     "list %#x of %u entries", key, l.n_entries);
		cr_expect_eq(!!(key & PAL_LIST_ID_SMALL), bt_linear_form(&T, key, NULL),
			     "list %#x: its id and its linear form disagree", key);
		if (key & PAL_LIST_ID_LONG) {
			uint32_t slot = key & ~PAL_LIST_ID_LONG;
			struct pal_list h;

			n_long++;
			cr_expect_not(key & PAL_LIST_ID_SMALL, "long list %#x names a slot", key);
			cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_long"), &slot, &h), 0);
			cr_expect_eq(l.list_id, key);
			cr_expect_eq(memcmp(&h, &l, sizeof(h)), 0,
				     "long list %#x: its pal_long slot is not its pal_lists entry", key);
		}
	}
	return n_long;
}

/* Writes sl, stamped with list_id, into every pal_small slot; how many slots there are. */
static uint32_t plant_everywhere(const struct pal_small_list *sl, uint32_t list_id)
{
	int small = pal_dp_map_fd(T.dp, "pal_small");
	struct pal_small_list v = *sl;
	struct bpf_map_info mi = { 0 };
	uint32_t ml = sizeof(mi);

	cr_assert_eq(bpf_obj_get_info_by_fd(small, &mi, &ml), 0);
	v.list_id = list_id;
	for (uint32_t slot = 0; slot < mi.max_entries; slot++)
		cr_assert_eq(bpf_map_update_elem(small, &slot, &v, BPF_ANY), 0);
	return mi.max_entries;
}

/* The ids of the lists with a linear form (at most max) in ids[], their forms in sl[]; how many.
 */
static int linear_lists(uint32_t *ids, struct pal_small_list *sl, int max)
{
	uint32_t all[BT_MAX_LISTS];
	size_t n_all = bt_list_ids(&T, all, BT_MAX_LISTS);
	int n = 0;

	for (size_t i = 0; i < n_all; i++)
		if (n < max && bt_linear_form(&T, all[i], &sl[n]))
			ids[n++] = all[i];
	cr_assert_gt(n, 0, "no list has a linear form");
	return n;
}

Test(bpf_cls_slot, a_long_list_id_never_takes_a_linear_form)
{
	uint32_t ids[BT_MAX_LISTS];
	int planted = 0;
	size_t n;
	struct pal_small_list linear;
	struct ctest a, b;
	uint32_t id;

	/* the short policy's linear form: it allows port 80, denies 22 */
	bt_compile_apply(&T, &a, short_policy(), 1);
	cr_assert_eq(check_list_ids(), 0);
	cr_assert(allowed(80) && !allowed(22));
	linear_lists(&id, &linear, 1);

	/* the long policy denies 80 and allows 22, in the bitmap form */
	bt_compile_apply(&T, &b, long_policy(), 2);
	cr_assert_gt(check_list_ids(), 0, "the long policy has a long list");
	cr_assert(!allowed(80) && allowed(22));

	/* the short list's linear form, stamped with a long list's id in every slot, is never read */
	n = bt_list_ids(&T, ids, BT_MAX_LISTS);
	for (size_t i = 0; i < n; i++) {
		uint32_t key = ids[i];

		if (!(key & PAL_LIST_ID_LONG))
			continue;
		cr_assert_gt(plant_everywhere(&linear, key), 0);
		planted++;
		cr_expect_not(allowed(80), "port 80 allowed: long list %#x took a linear form", key);
		cr_expect(allowed(22), "port 22 denied: long list %#x took a linear form", key);
	}
	cr_assert_gt(planted, 0);
	ct_free(&a);
	ct_free(&b);
}

/* Turns every Allow of sl into a Deny and back. */
static void swap_verdicts(struct pal_small_list *sl)
{
	for (uint32_t i = 0; i < sl->n_entries && i < PAL_SMALL_ENTRIES; i++)
		if (sl->e[i].action == PAL_ACT_ALLOW || sl->e[i].action == PAL_ACT_DENY)
			sl->e[i].action = sl->e[i].action == PAL_ACT_ALLOW ? PAL_ACT_DENY :
									      PAL_ACT_ALLOW;
}

/* How write_slots stamps a slot: with its own list's id, another list's id, or none. */
enum stamp { STAMP_OWN, STAMP_OTHER, STAMP_EMPTY };

/* Writes every list's form sl[i] into the slot its id ids[i] names, stamped as said. */
static void write_slots(const uint32_t *ids, struct pal_small_list *sl, int n, enum stamp how)
{
	int small = pal_dp_map_fd(T.dp, "pal_small");

	for (int i = 0; i < n; i++) {
		uint32_t slot = ids[i] & ~PAL_LIST_ID_SMALL;

		cr_assert(ids[i] & PAL_LIST_ID_SMALL, "list %#x has a linear form", ids[i]);
		sl[i].list_id = how == STAMP_OWN ? ids[i] : how == STAMP_OTHER ? ids[i] ^ 1 : 0;
		cr_assert_eq(bpf_map_update_elem(small, &slot, &sl[i], BPF_ANY), 0);
	}
}

Test(bpf_cls_slot, a_linear_form_answers_only_for_the_id_it_was_written_for)
{
	struct pal_small_list sl[8];
	uint32_t ids[8];
	struct ctest a;
	int n;

	bt_compile_apply(&T, &a, short_policy(), 1);
	cr_assert_eq(check_list_ids(), 0);
	cr_assert(allowed(80) && !allowed(22));
	n = linear_lists(ids, sl, 8);

	/* the slots are what decides: their verdicts swapped, port 80 is denied */
	for (int i = 0; i < n; i++)
		swap_verdicts(&sl[i]);
	write_slots(ids, sl, n, STAMP_OWN);
	cr_assert_not(allowed(80), "the lists' own slots were not read");

	/* the same slots written for other lists, or emptied: not read, the bitmap form decides */
	write_slots(ids, sl, n, STAMP_OTHER);
	cr_expect(allowed(80), "port 80 denied: a slot written for another list answered");
	cr_expect_not(allowed(22), "port 22 allowed: a slot written for another list answered");
	write_slots(ids, sl, n, STAMP_EMPTY);
	cr_expect(allowed(80) && !allowed(22), "an emptied slot answered");
	ct_free(&a);
}

/* A new TCP flow to dport through tc ingress on eth0 (the long preDNAT policy allows 22, denies
 * 80), with cb_from's cb[] when given. */
static int tc_ingress_to(uint16_t dport, const struct __sk_buff *cb_from)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, PEER, 40000, HOST, dport);
	int eth0 = T.ifindex[BT_ETH0];
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);
	struct __sk_buff ctx = { .ifindex = (uint32_t)eth0, .ingress_ifindex = (uint32_t)eth0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (cb_from)
		memcpy(ctx.cb, cb_from->cb, sizeof(ctx.cb));
	bt_flush_flows(&T);
	cr_assert_eq(bpf_prog_test_run_opts(pal_dp_prog_fd(T.dp, PAL_PROG_TC_INGRESS), &o), 0);
	return (int)o.retval;
}

static uint64_t busy_drops(void)
{
	return bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS).drop[PAL_DROP_BUSY];
}

/* tc ingress classifies without the owner word, but a slot that a trace run holds (set here by
 * hand, as an interrupted trace run leaves it) is not used: the packet drops as busy. */
Test(bpf_cls_slot, tc_refuses_a_slot_a_trace_run_holds)
{
	int fd = bt_scratch_fd(pal_dp_prog_fd(T.dp, PAL_PROG_TC_INGRESS));
	uint64_t before;
	struct ctest b;
	int rc;

	bt_compile_apply(&T, &b, long_policy_of(true), 1);
	cr_assert_gt(check_list_ids(), 0);
	cr_assert_neq(tc_ingress_to(22, NULL), TC_SHOT_RC, "port 22 is allowed at tc ingress");
	cr_assert_eq(tc_ingress_to(80, NULL), TC_SHOT_RC, "port 80 is denied at tc ingress");
	before = busy_drops();
	bt_scratch_set_owner(fd, PAL_HOOK_TC_INGRESS, 1);
	rc = tc_ingress_to(22, NULL);
	bt_scratch_set_owner(fd, PAL_HOOK_TC_INGRESS, 0);
	cr_expect_eq(rc, TC_SHOT_RC, "classified on a slot a trace run holds");
	cr_expect_eq(busy_drops() - before, 1);
	cr_expect_neq(tc_ingress_to(22, NULL), TC_SHOT_RC, "the free slot is used again");
	close(fd);
	ct_free(&b);
}

static uint64_t internal_drops(void)
{
	return bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_INGRESS).drop[PAL_DROP_INTERNAL];
}

/* The long lists' ids (at most max) into ids[], their pal_lists entries into l[]; how many. */
static int long_lists(uint32_t *ids, struct pal_list *l, int max)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!(key & PAL_LIST_ID_LONG) || n >= max)
			continue;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l[n]), 0);
		ids[n++] = key;
	}
	cr_assert_gt(n, 0, "no long list");
	return n;
}

/* Writes every long list's entry l[i] into the pal_long slot its id names, stamped with its own
 * id, another id (one a list of this slot could never have) or none, as said. */
static void write_long_slots(const uint32_t *ids, const struct pal_list *l, int n, enum stamp how)
{
	int fd = pal_dp_map_fd(T.dp, "pal_long");

	for (int i = 0; i < n; i++) {
		uint32_t slot = ids[i] & ~PAL_LIST_ID_LONG;
		struct pal_list v = l[i];

		v.list_id = how == STAMP_OWN ? ids[i] : how == STAMP_OTHER ? ids[i] ^ 1 : 0;
		cr_assert_eq(bpf_map_update_elem(fd, &slot, &v, BPF_ANY), 0);
	}
}

/* The classifier reads a long list from the pal_long slot its id names, and only when the slot
 * holds that id: a slot written for another list (the same content, so only the stamp can tell)
 * or emptied is no list at all, and the packet drops as INTERNAL (fail closed); an
 * implementation that trusted the slot would allow port 22. */
Test(bpf_cls_slot, a_long_list_slot_answers_only_for_the_id_it_was_written_for)
{
	struct pal_list l[8];
	uint32_t ids[8];
	uint64_t before;
	struct ctest b;
	int n;

	bt_compile_apply(&T, &b, long_policy_of(true), 1);
	cr_assert_gt(check_list_ids(), 0);
	n = long_lists(ids, l, 8);
	cr_assert_neq(tc_ingress_to(22, NULL), TC_SHOT_RC, "port 22 is allowed at tc ingress");
	cr_assert_eq(tc_ingress_to(80, NULL), TC_SHOT_RC, "port 80 is denied at tc ingress");

	/* the slots are what the classifier reads: the pal_lists entries alone do not decide */
	for (int i = 0; i < n; i++) {
		uint32_t slot = ids[i] & ~PAL_LIST_ID_LONG;
		struct pal_list v = l[i];

		v.n_summary = PAL_SUMMARY_WORDS + 1; /* a broken list: INTERNAL */
		cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(T.dp, "pal_long"), &slot, &v,
						 BPF_ANY), 0);
	}
	before = internal_drops();
	cr_expect_eq(tc_ingress_to(22, NULL), TC_SHOT_RC, "the long lists' slots were not read");
	cr_expect_eq(internal_drops() - before, 1);

	write_long_slots(ids, l, n, STAMP_OTHER);
	before = internal_drops();
	cr_expect_eq(tc_ingress_to(22, NULL), TC_SHOT_RC,
		     "port 22 allowed: a slot written for another list answered");
	cr_expect_eq(internal_drops() - before, 1, "the drop is INTERNAL");

	write_long_slots(ids, l, n, STAMP_EMPTY);
	before = internal_drops();
	cr_expect_eq(tc_ingress_to(22, NULL), TC_SHOT_RC, "port 22 allowed: an emptied slot answered");
	cr_expect_eq(internal_drops() - before, 1, "the drop is INTERNAL");

	write_long_slots(ids, l, n, STAMP_OWN);
	cr_expect_neq(tc_ingress_to(22, NULL), TC_SHOT_RC, "the list's own slot answers again");
	ct_free(&b);
}

/* Whether a program entered trace mode on some CPU. */
static bool trace_entered(int fd)
{
	uint32_t zero = 0;
	int ncpu;
	size_t stride;
	uint8_t *v = bt_percpu_read(fd, &zero, &ncpu, &stride);
	bool entered = false;

	for (int c = 0; c < ncpu; c++) {
		struct pal_trace rec;

		memcpy(&rec, v + (size_t)c * stride, sizeof(rec));
		entered = entered || rec.entered;
	}
	free(v);
	return entered;
}

/* The owner word of hook's slot on every CPU is free. */
static bool slot_free(int fd, uint32_t hook)
{
	int ncpu;
	size_t stride;
	uint8_t *v = bt_percpu_read(fd, &hook, &ncpu, &stride);
	bool free_all = true;

	for (int c = 0; c < ncpu; c++) {
		uint64_t owner;

		memcpy(&owner, v + (size_t)c * stride, sizeof(owner));
		free_all = free_all && owner == 0;
	}
	free(v);
	return free_all;
}

/* A trace run takes the slot with the owner word (it runs in process context), refuses it when
 * held, and gives it back: the packet after it is classified as before. */
Test(bpf_cls_slot, a_trace_run_takes_the_slot_and_gives_it_back)
{
	int fd = bt_scratch_fd(pal_dp_prog_fd(T.dp, PAL_PROG_TC_INGRESS)), tfd;
	const uint64_t nonce = 0x5eed5eed12345679ull;
	struct __sk_buff cb = { 0 };
	struct ctest b;
	int rc;

	bt_compile_apply(&T, &b, long_policy_of(true), 1);
	cb.cb[0] = (uint32_t)nonce;
	cb.cb[1] = (uint32_t)(nonce >> 32);
	tfd = bt_trace_arm(&T, nonce);
	rc = tc_ingress_to(22, &cb);
	cr_expect(trace_entered(tfd), "the run was a trace run");
	cr_expect_neq(rc, TC_SHOT_RC, "the trace run allows port 22");
	cr_expect(slot_free(fd, PAL_HOOK_TC_INGRESS), "the trace run kept the slot");

	bt_scratch_set_owner(fd, PAL_HOOK_TC_INGRESS, 1);
	rc = tc_ingress_to(22, &cb);
	bt_scratch_set_owner(fd, PAL_HOOK_TC_INGRESS, 0);
	cr_expect_eq(rc, TC_SHOT_RC, "a trace run classified on a held slot");
	bt_trace_arm(&T, 0);
	cr_expect_neq(tc_ingress_to(22, NULL), TC_SHOT_RC, "the packet after the trace run");
	close(fd);
	ct_free(&b);
}
