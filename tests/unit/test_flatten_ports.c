/* The flattener's 16-bit key tables (ports, ICMP) checked exhaustively over all 65536 keys, the
 * structural invariants of the bitmaps on random IRs, and a large list. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flatten.h"
#include "ir_random.h"

struct pfx_list {
	uint16_t value[64];
	uint8_t len[64];
	size_t n;
};

static void collect_pfx(uint16_t value, uint8_t len, void *arg)
{
	struct pfx_list *l = arg;

	cr_assert_lt(l->n, 64);
	l->value[l->n] = value;
	l->len[l->n] = len;
	l->n++;
}

/* The prefixes of [first, last] are aligned, ascending, contiguous and cover exactly the range. */
static void check_range(uint16_t first, uint16_t last)
{
	struct pfx_list l = { .n = 0 };
	size_t n = pal_cls_range_to_prefixes(first, last, collect_pfx, &l);
	uint32_t at = first;

	cr_assert_eq(n, l.n);
	cr_assert_leq(n, 30, "[%u, %u]: %zu prefixes", first, last, n);
	for (size_t i = 0; i < n; i++) {
		uint32_t size = 1u << (16 - l.len[i]);

		cr_assert_leq(l.len[i], 16);
		cr_assert_eq(l.value[i] & (size - 1), 0, "[%u, %u]: unaligned prefix", first, last);
		cr_assert_eq(l.value[i], at, "[%u, %u]: gap or overlap at %u", first, last, at);
		at += size;
	}
	cr_assert_eq(at, (uint32_t)last + 1, "[%u, %u]: ends at %u", first, last, at);
}

Test(flatten_ports, range_to_prefixes)
{
	static const uint16_t edges[][2] = { { 0, 0 },	   { 0, 65535 }, { 65535, 65535 },
					     { 1, 65534 }, { 80, 80 },	 { 0, 1023 },
					     { 1024, 65535 }, { 1, 1 },	 { 32767, 32768 } };
	struct pal_rand r = { 42 };

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_range(edges[i][0], edges[i][1]);
	for (int i = 0; i < 20000; i++) {
		uint16_t a = (uint16_t)pal_rand_below(&r, 65536), b = (uint16_t)pal_rand_below(&r, 65536);

		check_range(a < b ? a : b, a < b ? b : a);
	}
	/* The worst case of a 16-bit range: 30 prefixes. */
	struct pfx_list l = { .n = 0 };

	cr_assert_eq(pal_cls_range_to_prefixes(1, 65534, collect_pfx, &l), 30);
}

/* A list of rules with random port ranges and notPorts on the destination (TCP), and ICMP
 * matches; for every key of the three 16-bit fields, each entry's bit must equal the rule's
 * constraint on that field, and the range table and the prefix table must agree. */
static bool in_ranges(const struct pal_port_range *v, size_t n, uint32_t k)
{
	for (size_t i = 0; i < n; i++)
		if (k >= v[i].first && k <= v[i].last)
			return true;
	return false;
}

static struct pal_port_range *rand_ranges(struct pal_rand *r, size_t n)
{
	static const uint16_t picks[] = { 0, 1, 79, 80, 81, 1023, 1024, 32768, 65534, 65535 };
	struct pal_port_range *v = calloc(n, sizeof(*v));

	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++) {
		uint16_t a = pal_rand_chance(r, 50) ? picks[pal_rand_below(r, 10)] :
						      (uint16_t)pal_rand_below(r, 65536);
		uint16_t b = pal_rand_chance(r, 30) ? a :
			     pal_rand_chance(r, 50) ? picks[pal_rand_below(r, 10)] :
						      (uint16_t)pal_rand_below(r, 65536);

		v[i].first = a < b ? a : b;
		v[i].last = a < b ? b : a;
	}
	return v;
}

static uint32_t range_table_class(const struct pal_cls_keytable *kt, uint32_t k)
{
	for (size_t i = 0; i < kt->n_ranges; i++)
		if (k >= kt->ranges[i].first && k <= kt->ranges[i].last)
			return kt->ranges[i].cls;
	cr_assert_fail("key %u not covered by the range table", k);
	return 0;
}

static void check_keytable_shape(const struct pal_cls_keytable *kt)
{
	cr_assert_gt(kt->n_ranges, 0);
	cr_assert_eq(kt->ranges[0].first, 0);
	cr_assert_eq(kt->ranges[kt->n_ranges - 1].last, 65535);
	for (size_t i = 1; i < kt->n_ranges; i++) {
		cr_assert_eq(kt->ranges[i].first, kt->ranges[i - 1].last + 1);
		cr_assert_neq(kt->ranges[i].cls, kt->ranges[i - 1].cls, "adjacent ranges not merged");
	}
}

/* tl becomes one tier ending in end with one policy of n zeroed rules, which it returns. */
static struct pal_ir_rule *one_policy(struct pal_ir_tierlist *tl, enum pal_action end, size_t n)
{
	tl->tiers = calloc(1, sizeof(*tl->tiers));
	cr_assert_not_null(tl->tiers);
	tl->n_tiers = 1;
	tl->tiers[0].end_action = end;
	tl->tiers[0].policies = calloc(1, sizeof(*tl->tiers[0].policies));
	cr_assert_not_null(tl->tiers[0].policies);
	tl->tiers[0].n_policies = 1;
	tl->tiers[0].policies[0].rules = calloc(n, sizeof(struct pal_ir_rule));
	cr_assert_not_null(tl->tiers[0].policies[0].rules);
	tl->tiers[0].policies[0].n_rules = n;
	return tl->tiers[0].policies[0].rules;
}

Test(flatten_ports, port_and_icmp_classes_exhaustive)
{
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct pal_rand r = { seed };
		struct pal_ir ir = { 0 };
		struct pal_ir_tierlist tl = { 0 };
		size_t n = 4 + pal_rand_below(&r, 8);

		struct pal_ir_rule *rules = one_policy(&tl, PAL_ACTION_PASS, n);

		for (size_t i = 0; i < n; i++) {
			struct pal_ir_match *m = &rules[i].match;

			rules[i].action = PAL_ACTION_ALLOW;
			rules[i].id = (uint32_t)i;
			m->families = PAL_FAMILY_V4 | PAL_FAMILY_V6;
			if (pal_rand_chance(&r, 70)) {
				m->dst.has_ports = true;
				m->dst.n_port_ranges = 1 + pal_rand_below(&r, 4);
				m->dst.port_ranges = rand_ranges(&r, m->dst.n_port_ranges);
			}
			if (pal_rand_chance(&r, 40)) {
				m->dst.n_not_port_ranges = 1 + pal_rand_below(&r, 3);
				m->dst.not_port_ranges = rand_ranges(&r, m->dst.n_not_port_ranges);
			}
			if (pal_rand_chance(&r, 40)) {
				m->has_icmp = true;
				m->icmp.has_type = pal_rand_chance(&r, 80);
				m->icmp.type = (uint8_t)pal_rand_below(&r, 256);
				m->icmp.has_code = pal_rand_chance(&r, 50);
				m->icmp.code = (uint8_t)pal_rand_below(&r, 256);
			}
			if (pal_rand_chance(&r, 30)) {
				m->has_not_icmp = true;
				m->not_icmp.has_type = true;
				m->not_icmp.type = (uint8_t)pal_rand_below(&r, 4);
				m->not_icmp.has_code = pal_rand_chance(&r, 50);
				m->not_icmp.code = (uint8_t)pal_rand_below(&r, 4);
			}
		}
		struct pal_cls_input in = { .ir = &ir, .tiers = &tl, .end = PAL_CLS_END_NONE };
		struct pal_cls_tables *t = NULL;

		cr_assert_eq(pal_cls_flatten(&in, &t), 0);
		cr_assert_eq(t->n_entries, n);
		check_keytable_shape(&t->dport);
		check_keytable_shape(&t->icmp);
		check_keytable_shape(&t->sport);
		cr_assert_eq(t->sport.n_ranges, 1); /* no source ports: one class */
		for (uint32_t k = 0; k <= 0x10000; k++) {
			struct pal_cls_keys keys = { .dport = k, .icmp = k };
			uint32_t cd = pal_cls_class_of(t, PAL_CLS_F_DPORT, &keys);
			uint32_t ci = pal_cls_class_of(t, PAL_CLS_F_ICMP, &keys);

			if (k < 0x10000) {
				cr_assert_eq(cd, range_table_class(&t->dport, k), "dport %u", k);
				cr_assert_eq(ci, range_table_class(&t->icmp, k), "icmp %u", k);
			}
			for (uint32_t e = 0; e < n; e++) {
				const struct pal_ir_match *m = &rules[e].match;
				bool want_d, want_i;

				if (k == PAL_CLS_KEY_NONE) {
					want_d = !m->dst.has_ports && !m->dst.n_not_port_ranges;
					want_i = !m->has_icmp;
				} else {
					uint8_t ty = (uint8_t)(k >> 8), co = (uint8_t)k;
					bool pos = (!m->icmp.has_type || ty == m->icmp.type) &&
						   (!m->icmp.has_code || co == m->icmp.code);
					bool neg = ty == m->not_icmp.type &&
						   (!m->not_icmp.has_code || co == m->not_icmp.code);

					want_d = (!m->dst.has_ports ||
						  in_ranges(m->dst.port_ranges, m->dst.n_port_ranges, k)) &&
						 !in_ranges(m->dst.not_port_ranges,
							    m->dst.n_not_port_ranges, k);
					want_i = (!m->has_icmp || pos) && (!m->has_not_icmp || !neg);
				}
				cr_assert_eq(pal_cls_word(t, PAL_CLS_F_DPORT, cd, 0) >> e & 1, want_d,
					     "seed %lu dport key %u entry %u", (unsigned long)seed, k, e);
				cr_assert_eq(pal_cls_word(t, PAL_CLS_F_ICMP, ci, 0) >> e & 1, want_i,
					     "seed %lu icmp key %u entry %u", (unsigned long)seed, k, e);
			}
		}
		pal_cls_tables_free(t);
		pal_ir_tierlist_free(&tl);
	}
}

/* Structure the BPF loader relies on, on every list of random IRs. */
static void check_invariants(const struct pal_cls_tables *t)
{
	cr_assert_eq(t->n_words, (t->n_entries + 63) / 64);
	cr_assert_eq(t->n_summary, (t->n_words + 63) / 64);
	for (uint32_t i = 0; i < t->n_entries; i++) {
		const struct pal_cls_entry *e = &t->entries[i];
		bool always = t->always[i / 4096] >> (i / 64 % 64) & 1;

		cr_assert(e->anchor < PAL_CLS_N_FIELDS || e->anchor == PAL_CLS_ANCHOR_NONE);
		if (e->anchor == PAL_CLS_ANCHOR_NONE) {
			cr_assert(always, "word of unanchored entry %u not in always", i);
			for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
				cr_assert(t->bm[f].base[i / 64] >> (i % 64) & 1,
					  "unanchored entry %u is constrained on field %d", i, f);
		} else {
			cr_assert_eq(t->bm[e->anchor].base[i / 64] >> (i % 64) & 1, 0,
				     "entry %u anchored on a field it does not constrain", i);
		}
		if (e->kind == PAL_CLS_K_END_OF_TIER || e->kind == PAL_CLS_K_DEFAULT_DENY)
			cr_assert_eq(e->anchor, PAL_CLS_ANCHOR_NONE);
		cr_assert_gt(e->next, i);
		cr_assert_leq(e->next, t->n_entries);
		cr_assert_leq(e->action, PAL_CLS_SKIP);
	}
	for (int s = 0; s < 2; s++) {
		uint32_t roots = 0;

		for (size_t i = 0; i < t->n_addr[s]; i++) {
			cr_assert_lt(t->addr[s][i].cls, t->bm[s == 0 ? PAL_CLS_F_SRC : PAL_CLS_F_DST].n_classes);
			roots += t->addr[s][i].cidr.prefix_len == 0;
			if (i)
				cr_assert_lt(pal_cidr_cmp(&t->addr[s][i - 1].cidr, &t->addr[s][i].cidr), 0);
		}
		cr_assert_eq(roots, 2, "both families' /0 must be present");
	}
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		const struct pal_cls_bitmaps *bm = &t->bm[f];

		cr_assert_gt(bm->n_classes, 0);
		cr_assert_eq(bm->ovr_start[bm->n_classes], bm->n_ovr);
		for (uint32_t c = 0; c < bm->n_classes; c++) {
			for (uint32_t o = bm->ovr_start[c]; o < bm->ovr_start[c + 1]; o++) {
				cr_assert_lt(bm->ovr_word[o], t->n_words);
				if (o > bm->ovr_start[c])
					cr_assert_gt(bm->ovr_word[o], bm->ovr_word[o - 1]);
				/* an override only adds to the base */
				cr_assert_eq(bm->ovr_bits[o] & bm->base[bm->ovr_word[o]],
					     bm->base[bm->ovr_word[o]]);
				cr_assert_neq(bm->ovr_bits[o], bm->base[bm->ovr_word[o]]);
			}
			for (uint32_t j = 0; j < t->n_words; j++) {
				uint64_t w = pal_cls_word(t, (enum pal_cls_field)f, c, j);
				bool sum = bm->summary[(size_t)c * t->n_summary + j / 64] >> (j % 64) & 1;

				cr_assert_eq(sum, w != 0, "field %d class %u word %u", f, c, j);
				bool anc = bm->anchor[(size_t)c * t->n_summary + j / 64] >> (j % 64) & 1;
				bool want = false;

				for (uint32_t b = 0; b < 64 && j * 64 + b < t->n_entries; b++)
					want |= (w >> b & 1) && t->entries[j * 64 + b].anchor == f;
				cr_assert_eq(anc, want, "anchor: field %d class %u word %u", f, c, j);
				if (j == t->n_words - 1 && t->n_entries % 64)
					cr_assert_eq(w >> (t->n_entries % 64), 0, "bits beyond the last entry");
			}
		}
	}
	for (int fam = 0; fam < 2; fam++)
		for (int p = 0; p < 256; p++)
			cr_assert_lt(t->proto_class[fam][p], t->bm[PAL_CLS_F_PROTO].n_classes);
}

Test(flatten_ports, table_invariants_on_random_ir)
{
	struct pal_ir_random_opts o;

	pal_ir_random_default_opts(&o);
	o.max_rules = 20;
	for (uint64_t seed = 100; seed < 160; seed++) {
		struct pal_ir ir;

		cr_assert_eq(pal_ir_random(seed, &o, &ir), 0);
		for (size_t e = 0; e < ir.n_endpoints; e++) {
			const struct pal_ir_endpoint *ep = &ir.endpoints[e];

			for (int d = 0; d < PAL_DIR_COUNT; d++) {
				struct pal_cls_input in = { .ir = &ir, .tiers = &ep->normal[d],
							    .profiles = ep->profiles,
							    .n_profiles = ep->n_profiles, .dir = d,
							    .end = PAL_CLS_END_DENY };
				struct pal_cls_tables *t = NULL;

				cr_assert_eq(pal_cls_flatten(&in, &t), 0);
				check_invariants(t);
				pal_cls_tables_free(t);
			}
		}
		pal_ir_free(&ir);
	}
}

/* A list the size of a real cluster's: one rule per peer address (distinct /32s) with ports, and
 * "UDP from anywhere" rules scattered through it. Checks the tables stay proportional to the rules
 * (sparse overrides), classification against the rule oracle, and that a packet visits few
 * candidate words: the scattered rules are in every source and port class's summary, so without
 * the anchors (flatten.h ANCHORS) every word would be a candidate for a TCP packet. */
Test(flatten_ports, large_list, .timeout = 120)
{
	const size_t n = 20000;
	struct pal_ir ir = { 0 };
	struct pal_ir_tierlist tl = { 0 };
	struct pal_rand r = { 7 };

	ir.sets = calloc(n, sizeof(*ir.sets));
	ir.n_sets = n;
	struct pal_ir_rule *rules = one_policy(&tl, PAL_ACTION_DENY, n);

	cr_assert_not_null(ir.sets);
	for (size_t i = 0; i < n; i++) {
		struct pal_ir_match *m = &rules[i].match;

		ir.sets[i].cidrs = calloc(1, sizeof(struct pal_cidr));
		cr_assert_not_null(ir.sets[i].cidrs);
		ir.sets[i].n = 1;
		ir.sets[i].cidrs[0].addr.family = PAL_AF_INET4;
		ir.sets[i].cidrs[0].addr.bytes[0] = 10;
		ir.sets[i].cidrs[0].addr.bytes[1] = (uint8_t)(i >> 16);
		ir.sets[i].cidrs[0].addr.bytes[2] = (uint8_t)(i >> 8);
		ir.sets[i].cidrs[0].addr.bytes[3] = (uint8_t)i;
		ir.sets[i].cidrs[0].prefix_len = 32;
		rules[i].action = i % 10 == 9 ? PAL_ACTION_DENY : PAL_ACTION_ALLOW;
		rules[i].id = (uint32_t)i;
		rules[i].index = (uint32_t)i;
		m->families = PAL_FAMILY_V4 | PAL_FAMILY_V6;
		if (i % 100 == 50) { /* "UDP from anywhere" rules scattered through the list */
			m->protocol = (struct pal_protocol){ .set = true, .num = PAL_PROTO_UDP };
			continue;
		}
		m->src.in_sets = calloc(1, sizeof(uint32_t));
		cr_assert_not_null(m->src.in_sets);
		m->src.in_sets[0] = (uint32_t)i;
		m->src.n_in_sets = 1;
		m->protocol = (struct pal_protocol){ .set = true, .num = PAL_PROTO_TCP };
		m->dst.has_ports = true;
		m->dst.port_ranges = calloc(1, sizeof(struct pal_port_range));
		cr_assert_not_null(m->dst.port_ranges);
		m->dst.port_ranges[0].first = (uint16_t)(8000 + i % 50);
		m->dst.port_ranges[0].last = (uint16_t)(8000 + i % 50 + i % 3);
		m->dst.n_port_ranges = 1;
	}
	struct pal_cls_input in = { .ir = &ir, .tiers = &tl, .end = PAL_CLS_END_DENY };
	struct pal_cls_tables *t = NULL;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(pal_cls_flatten(&in, &t), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	size_t ovr = 0;

	for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
		ovr += t->bm[f].n_ovr;
	cr_log_info("large_list: %zu rules -> %u entries, %u words, %u src classes, %zu overrides "
		    "in %.0f ms",
		    n, t->n_entries, t->n_words, t->bm[PAL_CLS_F_SRC].n_classes, ovr,
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	cr_assert_eq(t->n_entries, n + 2);
	/* Each source /32 region stores only its own word: overrides stay ~ rules, not rules^2. */
	cr_assert_leq(t->bm[PAL_CLS_F_SRC].n_ovr, 2 * n);
	cr_assert_leq(ovr, 8 * n);
	for (int i = 0; i < 500; i++) {
		struct pal_packet p;
		size_t target = pal_rand_below(&r, (uint32_t)n);

		memset(&p, 0, sizeof(p));
		p.protocol = pal_rand_chance(&r, 90) ? PAL_PROTO_TCP : PAL_PROTO_UDP;
		p.src = ir.sets[target].cidrs[0].addr;
		p.dst.family = PAL_AF_INET4;
		p.dport = (uint16_t)(8000 + pal_rand_below(&r, 53));
		struct pal_cls_keys k;
		struct pal_cls_result res;

		pal_cls_keys_from_packet(&p, &p.dst, p.dport, &k);
		pal_cls_classify(t, &k, &res);
		size_t want = n; /* END_OF_TIER */

		for (size_t j = 0; j < n; j++)
			if (pal_ir_rule_matches(&ir, &rules[j], &p, &p.dst, p.dport)) {
				want = j;
				break;
			}
		cr_assert_eq(res.entry, want, "packet %d aimed at rule %zu", i, target);
		cr_assert_leq(res.steps, 8, "few candidate words per packet");
	}
	pal_cls_tables_free(t);
	pal_ir_tierlist_free(&tl);
	pal_ir_free(&ir);
}
