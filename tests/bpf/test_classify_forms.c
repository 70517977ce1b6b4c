/* The classifier's two forms of a list (docs/datapath.md "Classifier"): a short list's linear
 * form (pal_small) and the bitmap form, with its summary words.
 *
 * - Lists of 28 to 34 entries: one has a linear form exactly when it has at most
 *   PAL_SMALL_ENTRIES entries, and either way the last rule allows and anything else is denied.
 * - A list of more than 4,096 entries (several summary words) where a Log rule at the top matches
 *   every packet and the next entry the packet matches is an Allow thousands of entries later:
 *   after the Log the walk's cursor is in summary word 0, which holds no more candidates, and
 *   the Allow is found only by going on to a later summary word. A walk that stops there falls
 *   to the default deny.
 * - The shortcut of the common case (bpf/classify.h pal_cls_first_entry: the first candidate
 *   word's first entry decides) is taken only where the walk would decide the same: when the
 *   source matches an entry of word 0 and the port does not, and the allow is in a later word
 *   (word 0 is empty in all fields together, not in each one); and when the first summary word
 *   every field has entries in holds no candidate (anchors rule it out) and a later one decides. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST "198.18.0.1"
#define PEER "198.18.5.5"

BT_BARE_SUITE(bpf_classify_forms);

/* One GlobalNetworkPolicy of the host endpoint's ingress, appended at y + *len. */
static void policy_head(char *y, size_t cap, size_t *len, const char *name, int order)
{
	*len += (size_t)snprintf(y + *len, cap - *len,
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: %s}\n"
		"spec:\n  order: %d\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n",
		name, order);
}

#define LOG_ALL "  - {action: Log}\n"

/* A host endpoint on eth0 whose ingress policies are, in order: [one of the rule first,] n_deny
 * denies of TCP from 198.19.x.y/32 (n_src distinct sources; 1,000 per policy, the compiler's limit is
 * 1,024), then an allow of TCP port 80 from PEER. */
static char *policy(int n_deny, int n_src, const char *first)
{
	size_t cap = 4096 + (size_t)n_deny * 96, len = 0;
	char *y = malloc(cap), name[32];

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST));
	if (first) {
		policy_head(y, cap, &len, "first", 1);
		len += (size_t)snprintf(y + len, cap - len, "%s", first);
	}
	for (int i = 0; i < n_deny; i++) {
		if (i % 1000 == 0) {
			snprintf(name, sizeof(name), "deny-%d", i / 1000);
			policy_head(y, cap, &len, name, 10 + i / 1000);
		}
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.%d.%d/32]}}\n",
			(i % n_src) / 250, 1 + (i % n_src) % 250);
	}
	policy_head(y, cap, &len, "allow", 1000);
	snprintf(y + len, cap - len,
		 "  - {action: Allow, protocol: TCP, source: {nets: [" PEER "/32]}, "
		 "destination: {ports: [80]}}\n");
	return y;
}

static bool allowed(const char *src, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, 40000, HOST, dport);

	bt_flush_flows(&T);
	return bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow;
}

/* Every programmed list: has a linear form iff it has at most PAL_SMALL_ENTRIES entries.
 * Counts into *at_most and *over. */
static void check_forms(int *at_most, int *over)
{
	int lists = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;

	while (bpf_map_get_next_key(lists, prev, &next) == 0) {
		struct pal_list l;
		struct pal_small_list sl;
		bool linear;

		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(lists, &key, &l), 0);
		linear = bt_linear_form(&T, key, &sl);
		cr_assert_eq(linear, l.n_entries <= PAL_SMALL_ENTRIES,
			     "list %u of %u entries: linear form %d", key, l.n_entries, linear);
		cr_assert_eq(linear, !!(key & PAL_LIST_ID_SMALL), "list %#x: id and form disagree",
			     key);
		if (linear)
			cr_assert_eq(sl.n_entries, l.n_entries);
		*(l.n_entries <= PAL_SMALL_ENTRIES ? at_most : over) += 1;
	}
}

Test(bpf_classify_forms, lists_either_side_of_the_linear_limit_decide_the_same)
{
	int at_limit = 0, over_limit = 0;

	for (int n = 27; n <= 33; n++) {
		struct ctest c;
		/* 8 sources: the tables fit the linear form's ranges and prefixes */
		char *y = policy(n, 8, NULL);
		int at_most = 0, over = 0;

		memset(&c, 0, sizeof(c));
		ct_compile(&c, y);
		free(y);
		cr_assert_eq(c.rc, 0, "compile");
		bt_apply(&T, &c.ir, (uint32_t)n);
		check_forms(&at_most, &over);
		at_limit += at_most > 0 && over == 0 && n >= 29;
		over_limit += over > 0;
		cr_assert(allowed(PEER, 80), "%d denies: the allow", n);
		cr_assert_not(allowed(PEER, 81), "%d denies: port 81", n);
		cr_assert_not(allowed("198.19.0.1", 80), "%d denies: the first deny", n);
		cr_assert_not(allowed("198.18.5.6", 80), "%d denies: another source", n);
		ct_free(&c);
	}
	cr_assert_gt(at_limit, 0, "no list at the limit had a linear form");
	cr_assert_gt(over_limit, 0, "no list went over the limit");
}

/* Compiles the policy y (and frees it) and programs it as generation 1. */
static void apply_policy(struct ctest *c, char *y)
{
	memset(c, 0, sizeof(*c));
	ct_compile(c, y);
	free(y);
	cr_assert_eq(c->rc, 0, "compile");
	bt_apply(&T, &c->ir, 1);
}

Test(bpf_classify_forms, the_walk_goes_on_to_a_later_summary_word_after_a_log, .timeout = 120)
{
	struct ctest c;

	apply_policy(&c, policy(4200, 4200, LOG_ALL));
	cr_assert(allowed(PEER, 80), "the allow after 4,200 denies");
	cr_assert_not(allowed(PEER, 81));
	cr_assert_not(allowed("198.19.16.200", 80), "the last deny");
	ct_free(&c);
}

Test(bpf_classify_forms, the_first_candidate_word_must_match_in_every_field)
{
	struct ctest c;

	apply_policy(&c, policy(100, 100, "  - {action: Deny, protocol: TCP, source: {nets: [" PEER
					  "/32]}, destination: {ports: [22]}}\n"));
	cr_assert(allowed(PEER, 80), "the source's deny is of port 22 only: the allow decides");
	cr_assert_not(allowed(PEER, 22), "the source's deny of port 22");
	cr_assert_not(allowed(PEER, 81), "the allow is of port 80 only");
	cr_assert_not(allowed("198.19.0.100", 80), "the last deny");
	ct_free(&c);
}

Test(bpf_classify_forms, a_first_summary_word_without_candidates_is_no_answer, .timeout = 120)
{
	struct ctest c;

	/* anchored on the protocol: in summary word 0 of every field the packet's classes have, but
	 * not of TCP's anchor; the denies from 198.19.x are anchored on their sources */
	apply_policy(&c, policy(4200, 4200, "  - {action: Deny, protocol: UDP}\n"));
	cr_assert(allowed(PEER, 80), "the allow in summary word 1");
	cr_assert_not(allowed(PEER, 81));
	ct_free(&c);
}

/* A host endpoint (v4 and v6) whose ingress denies TCP from n4 IPv4 /32s and from n6 IPv6 /128s
 * (one rule each) and allows the rest: the address tables hold n4 + 1 IPv4 prefixes (and the
 * /0) and n6 IPv6 prefixes (and the /0). */
static char *per_family_policy(int n4, int n6)
{
	size_t cap = 4096 + (size_t)(n4 + n6) * 48, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST ", '2001:db8::1'"));
	policy_head(y, cap, &len, "deny", 10);
	len += (size_t)snprintf(y + len, cap - len, "  - {action: Deny, protocol: TCP, source: {nets: [");
	for (int i = 0; i < n4; i++)
		len += (size_t)snprintf(y + len, cap - len, "%s198.19.0.%d/32", i ? ", " : "", i + 1);
	len += (size_t)snprintf(y + len, cap - len, "]}}\n");
	len += (size_t)snprintf(y + len, cap - len, "  - {action: Deny, protocol: TCP, source: {nets: [");
	for (int i = 0; i < n6; i++)
		len += (size_t)snprintf(y + len, cap - len, "%s'2001:db8:9::%x/128'", i ? ", " : "",
					i + 1);
	len += (size_t)snprintf(y + len, cap - len, "]}}\n");
	len += (size_t)snprintf(y + len, cap - len,
		"  - {action: Allow, protocol: TCP, source: {nets: [" PEER "/32]}}\n"
		"  - {action: Allow, protocol: TCP}\n");
	return y;
}

static bool allowed_to(const char *src, const char *dst)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, 40000, dst, 80);

	bt_flush_flows(&T);
	return bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow;
}

/* The linear form's prefix tables hold PAL_SMALL_PREFIXES per family: a list with one more in
 * either family has no linear form (its bitmap form decides), never a table cut short; at the
 * limit in both families (32 prefixes in all) it has one. Either way every listed source is
 * denied and the others allowed. */
Test(bpf_classify_forms, per_family_prefix_capacity_falls_back_never_truncates, .timeout = 300)
{
	static const int cases[][2] = { { 14, 15 }, { 15, 15 }, { 14, 16 }, { 15, 1 }, { 1, 16 } };

	for (size_t c_i = 0; c_i < sizeof(cases) / sizeof(cases[0]); c_i++) {
		int n4 = cases[c_i][0], n6 = cases[c_i][1];
		/* + PEER/32 and 0.0.0.0/0; + ::/0 */
		bool fits = n4 + 2 <= (int)PAL_SMALL_PREFIXES && n6 + 1 <= (int)PAL_SMALL_PREFIXES;
		int lists = pal_dp_map_fd(T.dp, "pal_lists");
		uint32_t key, next, *prev = NULL;
		int n_linear = 0, n_lists = 0;
		char *y = per_family_policy(n4, n6), a[64];
		struct ctest c;

		memset(&c, 0, sizeof(c));
		ct_compile(&c, y);
		free(y);
		cr_assert_eq(c.rc, 0, "compile");
		bt_apply(&T, &c.ir, (uint32_t)(100 + c_i));
		lists = pal_dp_map_fd(T.dp, "pal_lists");
		while (bpf_map_get_next_key(lists, prev, &next) == 0) {
			struct pal_small_list sl;

			key = next;
			prev = &key;
			n_lists++;
			if (!bt_linear_form(&T, key, &sl))
				continue;
			n_linear++;
			cr_assert_leq(sl.addr[0].n4, PAL_SMALL_PREFIXES);
			cr_assert_leq(sl.addr[0].n6, PAL_SMALL_PREFIXES);
			if (fits && sl.addr[0].n4 >= (uint32_t)n4 + 2)
				cr_assert_eq(sl.addr[0].n6, (uint32_t)n6 + 1, "%d/%d", n4, n6);
		}
		cr_assert_gt(n_lists, 0);
		if (!fits)
			cr_assert_lt(n_linear, n_lists, "%d v4 + %d v6: every list linear", n4, n6);
		else
			cr_assert_eq(n_linear, n_lists, "%d v4 + %d v6: a list not linear", n4, n6);
		for (int i = 0; i < n4; i++) {
			snprintf(a, sizeof(a), "198.19.0.%d", i + 1);
			cr_assert_not(allowed_to(a, HOST), "%d/%d: %s", n4, n6, a);
		}
		for (int i = 0; i < n6; i++) {
			snprintf(a, sizeof(a), "2001:db8:9::%x", i + 1);
			cr_assert_not(allowed_to(a, "2001:db8::1"), "%d/%d: %s", n4, n6, a);
		}
		cr_assert(allowed_to(PEER, HOST), "%d/%d: peer", n4, n6);
		cr_assert(allowed_to("198.19.0.200", HOST), "%d/%d: v4 other", n4, n6);
		cr_assert(allowed_to("2001:db8:9::ffff", "2001:db8::1"), "%d/%d: v6 other", n4, n6);
		/* the low 32 bits of a denied IPv4 address in an IPv6 one: the v4 prefixes do not
		 * match it (an IPv4-mapped ::ffff:... is dropped as malformed before policy) */
		cr_assert(allowed_to("::198.19.0.1", "2001:db8::1"), "%d/%d: v4 bits in v6", n4, n6);
		ct_free(&c);
	}
}

/* The family prefilter of notNets (docs/semantics.md 3.3), in the programmed datapath: a Deny
 * whose source notNets are IPv4 only is a rule for IPv4 only, as felix renders it
 * (FilterRuleToIPVersion): IPv6 packets go on to the Allow after it. And an IPv4-mapped net is
 * the IPv4 net it maps: its Deny stops IPv4. */
Test(bpf_classify_forms, not_nets_and_mapped_nets_keep_to_their_family)
{
	struct ctest c;
	char *y = strdup(BT_YAML_HEP_H0(HOST ", '2001:db8::1'")
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: q}\n"
		"spec:\n  order: 1\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
		"  - {action: Deny, source: {nets: ['::ffff:198.19.7.0/120']}}\n"
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: p}\n"
		"spec:\n  order: 2\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
		"  - {action: Deny, source: {notNets: [198.19.0.0/16]}}\n"
		"  - {action: Allow}\n");

	cr_assert_not_null(y);
	apply_policy(&c, y);
	cr_assert(allowed_to("198.19.0.200", HOST));
	cr_assert_not(allowed_to(PEER, HOST), "the notNets Deny");
	cr_assert(allowed_to("2001:db8:9::5", "2001:db8::1"), "IPv6 past an IPv4 notNets Deny");
	cr_assert_not(allowed_to("198.19.7.9", HOST), "IPv4 past a Deny of its mapped net");
	ct_free(&c);
}
