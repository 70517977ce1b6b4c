/* The classifier's verdict cache (bpf/classify.h "the verdict cache", docs/datapath.md "The
 * verdict cache"): per CPU and hook, the answer of steps 2 and 3 for a (list stamp, six classes)
 * key, taken by a later new flow with the same key. It must never give a packet an answer the
 * policy in force would not:
 *   - a hit answers as the classification would and counts the deciding rule as a miss does;
 *   - an apply that changes the verdict of a cached combination gives the new verdict at once;
 *   - a list that takes a freed list's id, pal_long slot and pal_words region (the same class
 *     offsets) never gets the freed list's answers (the stamp is in the key);
 *   - a line whose key differs from the packet's in any part, or that a writer is inside (busy),
 *     is not taken (forged lines planted in every line of every CPU; the control, the honest
 *     key with a forged answer, is taken, which proves the packet looked at the line);
 *   - a Log-first combination is never cached: its Log rule counts every time;
 *   - a trace run neither reads nor writes a line.
 * Every test runs on one CPU: the lines are per CPU. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"
#include "palisade.skel.h"
#include "../../agent/dataplane/datapath_internal.h"

#define HOST "198.18.0.1"
#define PEER "198.18.5.5"
#define TC_SHOT_RC 2

static struct bpft T;
static int cpu;

static void setup(void)
{
	cpu_set_t set;

	cpu = sched_getcpu();
	cr_assert_geq(cpu, 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	bt_setup(&T);
}

static void teardown(void)
{
	bt_teardown(&T);
}

TestSuite(bpf_vcache, .init = setup, .fini = teardown);

/* A long preDNAT list of host endpoint h0 (eth0; classified at tc ingress): 40 denies of TCP from 198.19.0.1-40 (so the list has
 * no linear form), then `first` (a YAML rule or ""), then `port_action` TCP to port, then
 * `rest_action` any other TCP. */
static char *policy(const char *first, const char *port_action, int port, const char *rest_action)
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
		"spec:\n  selector: role == 'h'\n  preDNAT: true\n  applyOnForward: true\n"
		"  types: [Ingress]\n  ingress:\n%s", first);
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.%d/32]}}\n", i + 1);
	snprintf(y + len, cap - len,
		 "  - {action: %s, protocol: TCP, destination: {ports: [%d]}}\n"
		 "  - {action: %s, protocol: TCP}\n", port_action, port, rest_action);
	return y;
}

static void compile(struct ctest *c, char *yaml)
{
	memset(c, 0, sizeof(*c));
	ct_compile(c, yaml);
	free(yaml);
	cr_assert_eq(c->rc, 0, "compile");
}

/* tc ingress of eth0 on a new flow of protocol proto from PEER to HOST:dport; the program's
 * return value. */
static int tc_in_proto(uint8_t proto, uint16_t dport, const struct __sk_buff *cb_from)
{
	struct pal_packet p = ct_pkt(proto, PEER, 40000, HOST, dport);
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
	cr_assert_eq(sched_getcpu(), cpu);
	return (int)o.retval;
}

/* The same for a new TCP flow. */
static int tc_in(uint16_t dport, const struct __sk_buff *cb_from)
{
	return tc_in_proto(PAL_PROTO_TCP, dport, cb_from);
}

/* The one long list eth0 runs, read from pal_lists. */
static struct pal_list the_list(uint32_t *id_out)
{
	struct pal_iface v;
	struct pal_list l;
	uint32_t id = 0;

	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)T.ifindex[BT_ETH0], &v), 0);
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		if (v.lists[s] & PAL_LIST_ID_LONG) {
			cr_assert(id == 0 || id == v.lists[s], "eth0 runs two long lists");
			id = v.lists[s];
		}
	cr_assert_neq(id, 0, "eth0 runs no long list");
	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_lists"), &id, &l), 0);
	cr_assert_neq(l.stamp, 0, "list %#x has no stamp", id);
	if (id_out)
		*id_out = id;
	return l;
}

/* ---- the cache map ---- */

static int vc_fd(void)
{
	return bpf_map__fd(T.dp->skel->maps.cls_vcache);
}

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	cr_assert_gt(n, cpu);
	return n;
}

/* Writes line (NULL: an empty one) into every line of every hook, on every CPU. */
static void plant(const struct pal_vcache_line *line)
{
	int n = ncpus();
	struct pal_vcache_line *v = calloc((size_t)n, sizeof(*v));

	cr_assert_not_null(v);
	for (int c = 0; line && c < n; c++)
		v[c] = *line;
	for (uint32_t k = 0; k < PAL_HOOK_COUNT * PAL_VCACHE_LINES; k++)
		cr_assert_eq(bpf_map_update_elem(vc_fd(), &k, v, BPF_ANY), 0);
	free(v);
}

/* How many lines on this CPU hold a key of stamp; the last one found in *out (may be NULL). */
static int lines_of(uint64_t stamp, struct pal_vcache_line *out)
{
	int n = ncpus(), found = 0;
	struct pal_vcache_line *v = calloc((size_t)n, sizeof(*v));

	cr_assert_not_null(v);
	for (uint32_t k = 0; k < PAL_HOOK_COUNT * PAL_VCACHE_LINES; k++) {
		cr_assert_eq(bpf_map_lookup_elem(vc_fd(), &k, v), 0);
		if (v[cpu].stamp == stamp) {
			if (out)
				*out = v[cpu];
			found++;
		}
	}
	free(v);
	return found;
}

/* The line of port dport's combination under the list in force: the cache emptied, one packet
 * run, its one line. */
static struct pal_vcache_line line_of(uint16_t dport, int want_rc)
{
	struct pal_list l = the_list(NULL);
	struct pal_vcache_line line;

	plant(NULL);
	cr_assert_eq(tc_in(dport, NULL), want_rc);
	cr_assert_eq(lines_of(l.stamp, &line), 1, "port %u's answer was not cached once", dport);
	return line;
}

/* A hit answers from the line, and the deciding rule counts on every packet, hit or miss. */
Test(bpf_vcache, a_hit_answers_from_the_line_and_counts_its_rule)
{
	struct pal_vcache_line line, forged;
	struct pal_rule_ctr before, after;
	struct ctest a;

	compile(&a, policy("", "Deny", 80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	line = line_of(80, TC_SHOT_RC);
	cr_assert_eq(line.action, PAL_ACT_DENY);
	cr_assert_eq(line.busy, 0);
	before = bt_rulectr(&T, line.rule_id);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(tc_in(80, NULL), TC_SHOT_RC);
	after = bt_rulectr(&T, line.rule_id);
	cr_expect_eq(after.packets - before.packets, 5,
		     "the deciding rule counted %llu of 5 packets answered from the cache",
		     (unsigned long long)(after.packets - before.packets));
	cr_expect_eq(lines_of(line.stamp, NULL), 1, "the hits left one line");

	/* the packets were answered from the line: a forged answer under the honest key is taken */
	forged = line;
	forged.action = PAL_ACT_ALLOW;
	plant(&forged);
	cr_expect_neq(tc_in(80, NULL), TC_SHOT_RC, "the packet did not read its line");
	ct_free(&a);
}

/* Any difference in the key, or a writer inside the line, and the line is not taken: a forged
 * ALLOW planted in every line with one part of the key changed leaves port 80 denied. */
Test(bpf_vcache, a_line_of_another_key_or_a_busy_line_is_not_taken)
{
	struct pal_vcache_line line, forged;
	struct ctest a;

	compile(&a, policy("", "Deny", 80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	line = line_of(80, TC_SHOT_RC);
	for (int part = -2; part < PAL_FIELD_COUNT; part++) {
		forged = line;
		forged.action = PAL_ACT_ALLOW;
		if (part == -2)
			forged.stamp ^= 1; /* another list's stamp */
		else if (part == -1)
			forged.busy = 1; /* a writer is inside */
		else
			forged.cls[part] ^= 1; /* another class of one field */
		plant(&forged);
		cr_expect_eq(tc_in(80, NULL), TC_SHOT_RC,
			     "a forged line (part %d changed) answered for port 80", part);
		/* the control: the honest key with the forged answer is taken */
		forged = line;
		forged.action = PAL_ACT_ALLOW;
		plant(&forged);
		cr_expect_neq(tc_in(80, NULL), TC_SHOT_RC, "control (part %d): line not read", part);
	}
	ct_free(&a);
}

/* An apply that turns a cached combination's Deny into an Allow: the next packet is allowed. */
Test(bpf_vcache, an_apply_changes_a_cached_verdict_at_once)
{
	struct ctest a, b;

	compile(&a, policy("", "Deny", 80, "Allow"));
	compile(&b, policy("", "Allow", 80, "Deny"));
	bt_apply(&T, &a.ir, 1);
	line_of(80, TC_SHOT_RC);
	cr_assert_eq(tc_in(80, NULL), TC_SHOT_RC);
	bt_apply(&T, &b.ir, 2);
	cr_expect_neq(tc_in(80, NULL), TC_SHOT_RC, "port 80 denied after the apply allowed it");
	cr_expect_eq(tc_in(22, NULL), TC_SHOT_RC, "port 22 allowed after the apply denied it");
	bt_apply(&T, &a.ir, 3);
	cr_expect_eq(tc_in(80, NULL), TC_SHOT_RC, "port 80 allowed after the apply denied it again");
	ct_free(&a);
	ct_free(&b);
}

/* A list that takes a freed list's id (its pal_long slot) and its pal_words region has the same
 * class offsets for the same shape of rules; with the actions swapped, only the stamp tells the
 * freed list's cached Deny of port 80 from the new list's Allow. */
Test(bpf_vcache, a_reused_slot_and_region_never_serve_the_old_lists_answer)
{
	struct pal_vcache_line old_line, new_line;
	struct pal_list la, lc;
	struct ctest a, b, c;
	uint32_t x, z;

	compile(&a, policy("", "Deny", 80, "Allow"));
	compile(&b, policy("", "Deny", 443, "Allow"));
	compile(&c, policy("", "Allow", 80, "Deny"));
	bt_apply(&T, &a.ir, 1);
	la = the_list(&x);
	old_line = line_of(80, TC_SHOT_RC);
	bt_apply(&T, &b.ir, 2);
	cr_assert_gt(pal_dp_lists_sweep(T.dp), 0, "A's list waits for the sweep");
	T.dp->next_long_slot = x & ~PAL_LIST_ID_LONG;
	bt_apply(&T, &c.ir, 3);
	lc = the_list(&z);
	cr_assert_eq(z, x, "C did not take A's id: the test needs it");
	cr_assert_eq(lc.word_base, la.word_base, "C did not take A's pal_words region");
	cr_assert_neq(lc.stamp, la.stamp, "C has A's stamp");
	cr_assert_eq(lines_of(la.stamp, NULL), 1, "A's line is gone before C's packet");
	cr_expect_neq(tc_in(80, NULL), TC_SHOT_RC, "port 80 got the freed list's cached Deny");
	cr_assert_eq(lines_of(lc.stamp, &new_line), 1);
	/* what makes the case: the same classes, only the stamp differs */
	cr_expect_eq(memcmp(new_line.cls, old_line.cls, sizeof(new_line.cls)), 0,
		     "C's classes are not A's: the test does not reuse the key's classes");
	cr_expect_eq(new_line.action, PAL_ACT_ALLOW);
	cr_expect_eq(tc_in(80, NULL) != TC_SHOT_RC, true, "port 80 denied from C's own line");
	ct_free(&a);
	ct_free(&b);
	ct_free(&c);
}

/* A combination no entry can match (every rule of the list is TCP; a UDP packet's protocol class
 * leaves no candidate) is cached too, as NOMATCH: its line is taken (a forged Deny under its
 * honest key drops the packet), and the honest line answers as the classification did. */
Test(bpf_vcache, a_combination_that_matches_nothing_is_cached_as_nomatch)
{
	struct pal_vcache_line line, forged;
	struct pal_list l;
	struct ctest a;
	int rc;

	compile(&a, policy("", "Deny", 80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	l = the_list(NULL);
	plant(NULL);
	rc = tc_in_proto(PAL_PROTO_UDP, 53, NULL);
	cr_assert_neq(rc, TC_SHOT_RC, "the UDP packet was dropped: the test needs it to pass");
	cr_assert_eq(lines_of(l.stamp, &line), 1, "the UDP packet's NOMATCH was not cached");
	cr_expect_eq(line.action, PAL_VCACHE_NOMATCH);
	cr_expect_eq(line.busy, 0);
	cr_expect_eq(tc_in_proto(PAL_PROTO_UDP, 53, NULL), rc, "a NOMATCH hit answered otherwise");
	forged = line;
	forged.action = PAL_ACT_DENY;
	plant(&forged);
	cr_expect_eq(tc_in_proto(PAL_PROTO_UDP, 53, NULL), TC_SHOT_RC,
		     "the UDP packet did not read its line");
	plant(&line);
	cr_expect_eq(tc_in_proto(PAL_PROTO_UDP, 53, NULL), rc, "the honest NOMATCH line misanswered");
	/* a TCP packet's combination is another key: the UDP line does not answer for it */
	cr_expect_eq(tc_in(80, NULL), TC_SHOT_RC, "port 80 took the UDP combination's NOMATCH");
	ct_free(&a);
}

/* The rule id of the list's first entry of action act. */
static uint32_t first_rule_of(const struct pal_list *l, uint8_t act)
{
	int fd = pal_dp_map_fd(T.dp, "pal_entries");

	for (uint32_t i = 0; i < l->n_entries; i++) {
		uint32_t k = l->entry_base + i;
		struct pal_entry e;

		cr_assert_eq(bpf_map_lookup_elem(fd, &k, &e), 0);
		if (e.action == act)
			return e.rule_id;
	}
	cr_assert_fail("no entry of action %u", act);
	return 0;
}

/* A combination whose first entry is a Log takes the walk every time: no line, and the Log
 * rule counts every packet. */
Test(bpf_vcache, a_log_first_combination_is_never_cached)
{
	struct pal_rule_ctr before, after;
	struct pal_list l;
	struct ctest a;
	uint32_t log_rule;

	compile(&a, policy("  - {action: Log, protocol: TCP, destination: {ports: [80]}}\n", "Deny",
			   80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	l = the_list(NULL);
	log_rule = first_rule_of(&l, PAL_ACT_LOG);
	plant(NULL);
	before = bt_rulectr(&T, log_rule);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(tc_in(80, NULL), TC_SHOT_RC);
	after = bt_rulectr(&T, log_rule);
	cr_expect_eq(after.packets - before.packets, 5, "the Log rule counted %llu of 5 packets",
		     (unsigned long long)(after.packets - before.packets));
	cr_expect_eq(lines_of(l.stamp, NULL), 0, "a Log-first answer was cached");
	/* the list's other combinations are cached */
	cr_assert_neq(tc_in(22, NULL), TC_SHOT_RC);
	cr_expect_eq(lines_of(l.stamp, NULL), 1, "port 22's answer was not cached");
	ct_free(&a);
}

/* A trace run (polctl trace) records every step: it neither takes a line's answer nor writes one. */
Test(bpf_vcache, a_trace_run_neither_reads_nor_writes_a_line)
{
	const uint64_t nonce = 0x5eed5eed1234567aull;
	struct __sk_buff cb = { 0 };
	struct pal_vcache_line line, forged;
	struct ctest a;

	compile(&a, policy("", "Deny", 80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	line = line_of(80, TC_SHOT_RC);
	cb.cb[0] = (uint32_t)nonce;
	cb.cb[1] = (uint32_t)(nonce >> 32);
	forged = line;
	forged.action = PAL_ACT_ALLOW;
	plant(&forged);
	bt_trace_arm(&T, nonce);
	cr_expect_eq(tc_in(80, &cb), TC_SHOT_RC, "a trace run took a cached answer");
	plant(NULL);
	cr_expect_eq(tc_in(80, &cb), TC_SHOT_RC);
	cr_expect_eq(lines_of(line.stamp, NULL), 0, "a trace run wrote a line");
	bt_trace_arm(&T, 0);
	cr_expect_eq(tc_in(80, NULL), TC_SHOT_RC);
	cr_expect_eq(lines_of(line.stamp, NULL), 1, "the packet after the trace run");
	ct_free(&a);
}

/* ---- the key's invariant on lists the agent writes ----
 *
 * The cache names a class by its pal_class.summary alone, so within one list and field two
 * classes with one summary offset must be the same class in every member steps 2 and 3 read
 * (anchor, override mask, rank and words, base, top), wherever step 1 finds it: the pal_classes
 * trie, pal_list.one_class, a direct key table's class values (ports, protocol, ICMP, host
 * addresses). And every list has a stamp no other list has. A change to image_build, the key
 * tables or class dedup that broke either would let one class's cached answer serve another. */

struct seen_class {
	uint32_t field;
	struct pal_class c;
	const char *from;
};

struct class_check {
	struct seen_class *v;
	size_t n, cap;
	uint32_t id;
	int from_trie, from_one, from_table;
};

static void class_seen(struct class_check *k, uint32_t field, const struct pal_class *c,
		       const char *from)
{
	for (size_t i = 0; i < k->n; i++) {
		if (k->v[i].field != field || k->v[i].c.summary != c->summary)
			continue;
		cr_assert_eq(memcmp(&k->v[i].c, c, sizeof(*c)), 0,
			     "list %#x field %u: two classes share summary %u (%s: base %u anchor %u "
			     "ovr_mask %u top %#x; %s: base %u anchor %u ovr_mask %u top %#x)",
			     k->id, field, c->summary, k->v[i].from, k->v[i].c.base, k->v[i].c.anchor,
			     k->v[i].c.ovr_mask, k->v[i].c.top, from, c->base, c->anchor, c->ovr_mask,
			     c->top);
		return;
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		cr_assert_not_null(k->v);
	}
	k->v[k->n++] = (struct seen_class){ field, *c, from };
}

static uint64_t word_at(uint32_t i)
{
	uint64_t w;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_words"), &i, &w), 0, "word %u", i);
	return w;
}

/* Every class of every list in pal_lists, from every place step 1 takes one; the number of lists. */
static int check_every_list(int *n_trie, int *n_one, int *n_table)
{
	int lists_fd = pal_dp_map_fd(T.dp, "pal_lists"), cls_fd = pal_dp_map_fd(T.dp, "pal_classes");
	uint32_t key, next, *prev = NULL;
	uint64_t stamps[4096];
	int n = 0;

	while (bpf_map_get_next_key(lists_fd, prev, &next) == 0) {
		struct class_check k = { .id = next };
		struct pal_class_key ck, cn, *cp = NULL;
		struct pal_list l;

		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(lists_fd, &key, &l), 0);
		cr_assert_neq(l.stamp, 0, "list %#x has no stamp", key);
		for (int i = 0; i < n; i++)
			cr_assert_neq(stamps[i], l.stamp, "two lists share stamp %llu",
				      (unsigned long long)l.stamp);
		cr_assert_lt(n, 4096);
		stamps[n++] = l.stamp;
		for (uint32_t f = 0; f < PAL_FIELD_COUNT; f++) {
			if (l.single_class & (1u << f)) {
				class_seen(&k, f, &l.one_class[f], "one_class");
				k.from_one++;
			}
			if (!(l.direct & (1u << f)))
				continue;
			for (uint32_t at = l.key_classes[f]; at + PAL_CLASS_WORDS <= l.key_table[f];
			     at += PAL_CLASS_WORDS) {
				uint64_t w0 = word_at(at), w1 = word_at(at + 1), w2 = word_at(at + 2),
					 w3 = word_at(at + 3);
				struct pal_class c = {
					.summary = (uint32_t)w0, .ovr_mask = (uint32_t)(w0 >> 32),
					.ovr_base = (uint32_t)w1, .base = (uint32_t)(w1 >> 32),
					.anchor = (uint32_t)w2, .ovr_rank = (uint32_t)(w2 >> 32),
					.top = (uint32_t)w3,
				};

				class_seen(&k, f, &c, "key table");
				k.from_table++;
			}
		}
		while (bpf_map_get_next_key(cls_fd, cp, &cn) == 0) {
			struct pal_class c;

			ck = cn;
			cp = &ck;
			if (ck.list_id != key)
				continue;
			cr_assert_eq(bpf_map_lookup_elem(cls_fd, &ck, &c), 0);
			class_seen(&k, ck.field, &c, "trie");
			k.from_trie++;
		}
		*n_trie += k.from_trie;
		*n_one += k.from_one;
		*n_table += k.from_table;
		free(k.v);
	}
	return n;
}

/* Policies with every kind of class: host addresses (a host table), prefixes (the trie), port
 * ranges and single ports, ICMP types, IPv6, a field of one class; and the lists of several
 * applies alive at once (before the sweep), a list reused by digest among them. */
Test(bpf_vcache, every_class_of_a_written_list_has_its_own_summary, .timeout = 300)
{
	static const char *const extra[] = {
		"",
		"  - {action: Allow, protocol: TCP, source: {nets: [198.18.64.0/18, 198.18.128.0/24]},"
		" destination: {ports: ['1000:2000', 3000]}}\n"
		"  - {action: Deny, protocol: UDP, source: {nets: ['2001:db8:1::/48']}}\n"
		"  - {action: Log, protocol: ICMP, icmp: {type: 8}}\n"
		"  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}\n"
		"  - {action: Pass, protocol: TCP, destination: {ports: [8080], nets: [198.18.0.0/16]}}\n",
		"  - {action: Deny, source: {nets: [198.18.99.0/24]}, destination: {nets: [198.18.0.1/32]}}\n",
	};
	int n_trie = 0, n_one = 0, n_table = 0, lists = 0;
	struct ctest c[4];

	for (int i = 0; i < 4; i++) {
		compile(&c[i], policy(extra[i % 3], i == 3 ? "Allow" : "Deny", 80 + i, "Allow"));
		bt_apply(&T, &c[i].ir, (uint32_t)i + 1);
		lists = check_every_list(&n_trie, &n_one, &n_table);
	}
	/* what the test covers: every source of classes, more than one list */
	cr_expect_gt(lists, 1, "one list alive: the test wants several");
	cr_expect_gt(n_trie, 0, "no trie class seen");
	cr_expect_gt(n_one, 0, "no single-class field seen");
	cr_expect_gt(n_table, 0, "no key-table class seen");
	for (int i = 0; i < 4; i++)
		ct_free(&c[i]);
}

/* A restarted agent gives its lists stamps after those of the lists it finds pinned, however its
 * clock compares with its predecessor's (CLOCK_BOOTTIME is per time namespace: an agent restarted
 * in a container whose boottime offset is below the last one's reads an earlier clock). Here the
 * pinned list says its stamp is an hour ahead of the clock. */
Test(bpf_vcache, a_restart_stamps_after_every_adopted_list)
{
	const int lists_fd = pal_dp_map_fd(T.dp, "pal_lists"), long_fd = pal_dp_map_fd(T.dp, "pal_long");
	struct pal_datapath *dp2 = NULL;
	struct pal_iface v;
	struct pal_list l;
	struct timespec ts;
	struct ctest a, b;
	uint64_t ahead;
	uint32_t id, slot, nid = 0;
	char err[512] = "";

	compile(&a, policy("", "Deny", 80, "Allow"));
	compile(&b, policy("", "Allow", 80, "Deny"));
	bt_apply(&T, &a.ir, 1);
	l = the_list(&id);
	cr_assert_eq(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
	ahead = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 3600ull * 1000000000ull;
	l.stamp = ahead;
	slot = id & ~PAL_LIST_ID_LONG;
	cr_assert_eq(bpf_map_update_elem(long_fd, &slot, &l, BPF_EXIST), 0);
	cr_assert_eq(bpf_map_update_elem(lists_fd, &id, &l, BPF_EXIST), 0);

	struct pal_dp_opts o = bt_dp_opts(T.pin_dir);

	cr_assert_eq(pal_dp_open(&o, &dp2, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pal_dp_endpoint_write(dp2, &b.ir, pal_ir_endpoint_for_iface(&b.ir, "eth0"), 2,
					   &v), 0, "%s", pal_dp_error(dp2));
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		if (v.lists[s] & PAL_LIST_ID_LONG)
			nid = v.lists[s];
	cr_assert_neq(nid, 0);
	cr_assert_neq(nid, id, "B's list is A's");
	cr_assert_eq(bpf_map_lookup_elem(lists_fd, &nid, &l), 0);
	cr_expect_gt(l.stamp, ahead, "the restarted agent's list has stamp %llu, not after the adopted %llu",
		     (unsigned long long)l.stamp, (unsigned long long)ahead);
	pal_dp_close(dp2);
	ct_free(&a);
	ct_free(&b);
}

/* The raw OUTPUT filters (sf_out.bpf.c, one object per host endpoint interface) classify at raw
 * OUTPUT only, which never reads or writes a line: their object's own cls_vcache must not hold
 * PAL_HOOK_COUNT * PAL_VCACHE_LINES lines per CPU (60 KiB a CPU, per host endpoint interface,
 * for nothing). */
Test(bpf_vcache, a_raw_output_filter_holds_no_lines)
{
	struct bpf_prog_info pi = { 0 };
	uint32_t pl = sizeof(pi), ids[64], found = 0;
	struct ctest a;
	int fd;

	compile(&a, policy("", "Deny", 80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	fd = T.sf_out_deny[BT_ETH0];
	cr_assert_geq(fd, 0, "eth0 has no raw OUTPUT filter");
	pi.nr_map_ids = 64;
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &pi, &pl), 0);
	for (uint32_t i = 0; i < pi.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi = { 0 };
		uint32_t ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		cr_assert_geq(mfd, 0);
		cr_assert_eq(bpf_obj_get_info_by_fd(mfd, &mi, &ml), 0);
		close(mfd);
		if (strcmp(mi.name, "cls_vcache"))
			continue;
		found = 1;
		cr_expect_leq(mi.max_entries, 1, "the raw OUTPUT filter's cls_vcache has %u lines a CPU",
			      mi.max_entries);
	}
	(void)found; /* a filter whose object has no cache at all is as good */
	ct_free(&a);
}

/* A combination whose first entry is a Pass takes the walk every time, as a Log-first one: no
 * line, and the same answer on every packet. */
Test(bpf_vcache, a_pass_first_combination_is_never_cached)
{
	struct pal_list l;
	struct ctest a;
	int rc;

	compile(&a, policy("  - {action: Pass, protocol: TCP, destination: {ports: [80]}}\n", "Deny",
			   80, "Allow"));
	bt_apply(&T, &a.ir, 1);
	l = the_list(NULL);
	plant(NULL);
	rc = tc_in(80, NULL);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(tc_in(80, NULL), rc, "port 80's answer changed on packet %d", i + 2);
	cr_expect_eq(lines_of(l.stamp, NULL), 0, "a Pass-first answer was cached");
	cr_assert_neq(tc_in(22, NULL), TC_SHOT_RC);
	cr_expect_eq(lines_of(l.stamp, NULL), 1, "port 22's answer was not cached");
	ct_free(&a);
}

/* A restarted agent of the same build keeps the pinned programs (datapath.c adopt_pinned_prog),
 * and with them their object's cls_vcache: the lines of every list its predecessors wrote, the
 * deleted ones too. Its stamps must be after every stamp in those lines, not only after the live
 * lists' (here a line says its stamp is an hour ahead of the restarted agent's clock). */
Test(bpf_vcache, a_restart_stamps_after_every_line_of_the_adopted_programs)
{
	const int lists_fd = pal_dp_map_fd(T.dp, "pal_lists");
	struct pal_vcache_line line;
	struct pal_datapath *dp2 = NULL;
	struct bpf_prog_info p1 = { 0 }, p2 = { 0 };
	uint32_t l1 = sizeof(p1), l2 = sizeof(p2), nid = 0;
	struct pal_iface v;
	struct pal_list l;
	struct timespec ts;
	struct ctest a, b;
	uint64_t ahead;
	char err[512] = "";

	compile(&a, policy("", "Deny", 80, "Allow"));
	compile(&b, policy("", "Allow", 80, "Deny"));
	bt_apply(&T, &a.ir, 1);
	line = line_of(80, TC_SHOT_RC);
	cr_assert_eq(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
	ahead = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 3600ull * 1000000000ull;
	line.stamp = ahead; /* a deleted list's line, stamped under another clock */
	plant(&line);

	struct pal_dp_opts o = bt_dp_opts(T.pin_dir);

	cr_assert_eq(pal_dp_open(&o, &dp2, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(bpf_obj_get_info_by_fd(pal_dp_prog_fd(T.dp, PAL_PROG_TC_INGRESS), &p1, &l1), 0);
	cr_assert_eq(bpf_obj_get_info_by_fd(pal_dp_prog_fd(dp2, PAL_PROG_TC_INGRESS), &p2, &l2), 0);
	cr_assert_eq(p1.id, p2.id, "the restarted agent did not keep the pinned tc program");
	cr_assert_eq(pal_dp_endpoint_write(dp2, &b.ir, pal_ir_endpoint_for_iface(&b.ir, "eth0"), 2,
					   &v), 0, "%s", pal_dp_error(dp2));
	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		if (v.lists[s] & PAL_LIST_ID_LONG)
			nid = v.lists[s];
	cr_assert_neq(nid, 0);
	cr_assert_eq(bpf_map_lookup_elem(lists_fd, &nid, &l), 0);
	cr_expect_gt(l.stamp, ahead, "the restarted agent's list has stamp %llu, not after the cached %llu",
		     (unsigned long long)l.stamp, (unsigned long long)ahead);
	pal_dp_close(dp2);
	ct_free(&a);
	ct_free(&b);
}
