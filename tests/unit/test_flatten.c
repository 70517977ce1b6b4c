/* The flattener on hand-built IR: entry layout (LOG / PASS / SKIP / END_OF_TIER / DEFAULT_DENY,
 * `next` jumps), named-port expansion, address classes of nested prefixes, and the classification
 * of chosen packets. The random cases are in test_differential_emul.c, the port tables in
 * test_flatten_ports.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten.h"

/* ---- building IR by hand ---- */

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	cr_assert_not_null(p);
	return p;
}

static struct pal_addr A(const char *s)
{
	struct pal_addr a;

	cr_assert(pal_addr_parse(s, &a), "bad address %s", s);
	return a;
}

/* Adds a set of CIDRs (NULL-terminated) to ir; returns its index. */
static uint32_t add_set(struct pal_ir *ir, const char *const *cidrs)
{
	size_t n = 0;

	while (cidrs[n])
		n++;
	ir->sets = realloc(ir->sets, (ir->n_sets + 1) * sizeof(*ir->sets));
	cr_assert_not_null(ir->sets);
	struct pal_ir_set *s = &ir->sets[ir->n_sets];

	memset(s, 0, sizeof(*s));
	s->cidrs = xcalloc(n, sizeof(*s->cidrs));
	for (size_t i = 0; i < n; i++)
		cr_assert(pal_cidr_parse(cidrs[i], &s->cidrs[i], NULL));
	s->n = n;
	return (uint32_t)ir->n_sets++;
}

static uint32_t add_nps(struct pal_ir *ir, const struct pal_ir_named_port *v, size_t n)
{
	ir->named_port_sets = realloc(ir->named_port_sets,
				      (ir->n_named_port_sets + 1) * sizeof(*ir->named_port_sets));
	cr_assert_not_null(ir->named_port_sets);
	struct pal_ir_named_port_set *s = &ir->named_port_sets[ir->n_named_port_sets];

	memset(s, 0, sizeof(*s));
	s->v = xcalloc(n, sizeof(*s->v));
	memcpy(s->v, v, n * sizeof(*v));
	s->n = n;
	return (uint32_t)ir->n_named_port_sets++;
}

static uint32_t *idx1(uint32_t v)
{
	uint32_t *p = xcalloc(1, sizeof(*p));

	*p = v;
	return p;
}

static struct pal_port_range *range1(uint16_t first, uint16_t last)
{
	struct pal_port_range *p = xcalloc(1, sizeof(*p));

	p->first = first;
	p->last = last;
	return p;
}

static uint32_t next_id;

static struct pal_ir_rule rule(enum pal_action a)
{
	struct pal_ir_rule r;

	memset(&r, 0, sizeof(r));
	r.action = a;
	r.match.families = PAL_FAMILY_V4 | PAL_FAMILY_V6;
	r.id = next_id++;
	return r;
}

static void proto(struct pal_ir_rule *r, uint8_t p)
{
	r->match.protocol.set = true;
	r->match.protocol.num = p;
}

static void dports(struct pal_ir_rule *r, uint16_t first, uint16_t last)
{
	r->match.dst.has_ports = true;
	r->match.dst.port_ranges = range1(first, last);
	r->match.dst.n_port_ranges = 1;
}

/* The index list field of side (in_sets, named_port_sets, ...) becomes the one index v. */
#define ONE_INDEX(side, field, v) ((side).field = idx1(v), (side).n_##field = 1)

/* A tier list of tiers; tier t holds one policy with the given rules. */
struct tier_spec {
	enum pal_action end;
	struct pal_ir_rule *rules;
	size_t n;
};

static void make_tiers(struct pal_ir_tierlist *tl, const struct tier_spec *ts, size_t n)
{
	tl->tiers = xcalloc(n, sizeof(*tl->tiers));
	tl->n_tiers = n;
	for (size_t t = 0; t < n; t++) {
		struct pal_ir_tier *tier = &tl->tiers[t];

		tier->name = strdup("t");
		tier->end_action = ts[t].end;
		tier->policies = xcalloc(1, sizeof(*tier->policies));
		tier->n_policies = 1;
		tier->policies[0].name = strdup("p");
		tier->policies[0].rules = xcalloc(ts[t].n, sizeof(struct pal_ir_rule));
		for (size_t i = 0; i < ts[t].n; i++) {
			tier->policies[0].rules[i] = ts[t].rules[i];
			tier->policies[0].rules[i].index = (uint32_t)i;
		}
		tier->policies[0].n_rules = ts[t].n;
	}
}

static struct pal_cls_tables *flatten(const struct pal_ir *ir, const struct pal_ir_tierlist *tl,
				      const uint32_t *profiles, size_t n_profiles,
				      enum pal_cls_list_end end)
{
	struct pal_cls_input in = { .ir = ir, .tiers = tl, .profiles = profiles,
				    .n_profiles = n_profiles, .dir = PAL_DIR_INGRESS, .end = end };
	struct pal_cls_tables *t = NULL;
	int err = pal_cls_flatten(&in, &t);

	cr_assert_eq(err, 0, "flatten: %d", err);
	return t;
}

/* Each test's IR and tier list; a test frees the tables it flattens. */
static struct pal_ir ir;
static struct pal_ir_tierlist tl;

static void free_ir(void)
{
	pal_ir_tierlist_free(&tl);
	pal_ir_free(&ir);
}

TestSuite(flatten, .fini = free_ir);

/* tl becomes one tier ending in end with one policy of the n rules r; flattened with ir, no
 * profiles and no list end. */
static struct pal_cls_tables *flatten_rules(const struct pal_ir *ir, struct pal_ir_tierlist *tl,
					    enum pal_action end, struct pal_ir_rule *r, size_t n)
{
	const struct tier_spec ts[] = { { end, r, n } };

	make_tiers(tl, ts, 1);
	return flatten(ir, tl, NULL, 0, PAL_CLS_END_NONE);
}

static struct pal_packet pkt(uint8_t protocol, const char *src, uint16_t sport, const char *dst,
			     uint16_t dport)
{
	struct pal_packet p;

	memset(&p, 0, sizeof(p));
	p.protocol = protocol;
	p.src = A(src);
	p.dst = A(dst);
	p.sport = sport;
	p.dport = dport;
	return p;
}

static struct pal_cls_result classify(const struct pal_cls_tables *t, const struct pal_packet *p)
{
	struct pal_cls_keys k;
	struct pal_cls_result r;

	pal_cls_keys_from_packet(p, &p->dst, p->dport, &k);
	pal_cls_classify(t, &k, &r);
	cr_assert(!r.overflow);
	return r;
}

static bool field_bit(const struct pal_cls_tables *t, enum pal_cls_field f,
		      const struct pal_cls_keys *k, uint32_t entry)
{
	uint32_t c = pal_cls_class_of(t, f, k);

	return pal_cls_word(t, f, c, entry / 64) >> (entry % 64) & 1;
}

/* ---- tests ---- */

Test(flatten, pass_log_and_end_of_tier_entries)
{
	struct pal_ir_rule t0[3], t1[1], t2[1];

	t0[0] = rule(PAL_ACTION_LOG);
	proto(&t0[0], PAL_PROTO_TCP);
	t0[1] = rule(PAL_ACTION_PASS);
	proto(&t0[1], PAL_PROTO_TCP);
	dports(&t0[1], 22, 22);
	t0[2] = rule(PAL_ACTION_ALLOW);
	proto(&t0[2], PAL_PROTO_UDP);
	t1[0] = rule(PAL_ACTION_DENY);
	proto(&t1[0], PAL_PROTO_UDP);
	dports(&t1[0], 53, 53);
	t2[0] = rule(PAL_ACTION_ALLOW);
	proto(&t2[0], PAL_PROTO_TCP);
	const struct tier_spec ts[] = { { PAL_ACTION_DENY, t0, 3 },
					{ PAL_ACTION_PASS, t1, 1 },
					{ PAL_ACTION_DENY, t2, 1 } };

	make_tiers(&tl, ts, 3);
	struct pal_cls_tables *t = flatten(&ir, &tl, NULL, 0, PAL_CLS_END_DENY);

	/* 0 LOG, 1 PASS, 2 ALLOW, 3 END_OF_TIER(0), 4 DENY, 5 ALLOW, 6 END_OF_TIER(2), 7 DEFAULT */
	static const struct {
		uint8_t action, kind;
		uint32_t next, tier;
	} want[] = {
		{ PAL_CLS_LOG, PAL_CLS_K_RULE, 1, 0 },		  { PAL_CLS_PASS, PAL_CLS_K_RULE, 4, 0 },
		{ PAL_CLS_ALLOW, PAL_CLS_K_RULE, 3, 0 },	  { PAL_CLS_DENY, PAL_CLS_K_END_OF_TIER, 4, 0 },
		{ PAL_CLS_DENY, PAL_CLS_K_RULE, 5, 1 },		  { PAL_CLS_ALLOW, PAL_CLS_K_RULE, 6, 2 },
		{ PAL_CLS_DENY, PAL_CLS_K_END_OF_TIER, 7, 2 },	  { PAL_CLS_DENY, PAL_CLS_K_DEFAULT_DENY, 8, 0 },
	};
	cr_assert_eq(t->n_entries, 8);
	cr_assert_eq(t->n_words, 1);
	cr_assert_eq(t->n_summary, 1);
	for (size_t i = 0; i < 8; i++) {
		cr_assert_eq(t->entries[i].action, want[i].action, "entry %zu", i);
		cr_assert_eq(t->entries[i].kind, want[i].kind, "entry %zu", i);
		cr_assert_eq(t->entries[i].next, want[i].next, "entry %zu", i);
		if (want[i].kind != PAL_CLS_K_DEFAULT_DENY)
			cr_assert_eq(t->entries[i].tier, want[i].tier, "entry %zu", i);
	}
	cr_assert_eq(t->entries[0].rule_id, t0[0].id);
	cr_assert_eq(t->entries[3].rule_id, PAL_CLS_NO_RULE);

	/* TCP 22: logged by 0, PASS to tier 1, nothing there, allowed by tier 2. */
	struct pal_packet p = pkt(PAL_PROTO_TCP, "10.0.0.1", 1000, "10.0.0.2", 22);
	struct pal_cls_result r = classify(t, &p);

	cr_assert_eq(r.entry, 5);
	cr_assert_eq(r.n_logged, 1);
	cr_assert_eq(r.logged[0], 0);
	/* TCP 80: logged, no PASS, no ALLOW in tier 0: end of tier 0. */
	p = pkt(PAL_PROTO_TCP, "10.0.0.1", 1000, "10.0.0.2", 80);
	r = classify(t, &p);
	cr_assert_eq(r.entry, 3);
	cr_assert_eq(r.n_logged, 1);
	/* UDP 53: allowed in tier 0 before tier 1's deny. */
	p = pkt(PAL_PROTO_UDP, "2001:db8::1", 1000, "2001:db8::2", 53);
	r = classify(t, &p);
	cr_assert_eq(r.entry, 2);
	cr_assert_eq(r.n_logged, 0);
	pal_cls_tables_free(t);
}

Test(flatten, pass_into_profiles_then_default_deny)
{
	struct pal_ir_rule t0[1];

	t0[0] = rule(PAL_ACTION_PASS);
	const struct tier_spec ts[] = { { PAL_ACTION_DENY, t0, 1 } };

	make_tiers(&tl, ts, 1);
	/* Profile 0: PASS for UDP (to profile 1), ALLOW TCP. Profile 1: ALLOW UDP 53. */
	ir.profiles = xcalloc(2, sizeof(*ir.profiles));
	ir.n_profiles = 2;
	ir.profiles[0].rules[0] = xcalloc(2, sizeof(struct pal_ir_rule));
	ir.profiles[0].n_rules[0] = 2;
	ir.profiles[0].rules[0][0] = rule(PAL_ACTION_PASS);
	proto(&ir.profiles[0].rules[0][0], PAL_PROTO_UDP);
	ir.profiles[0].rules[0][1] = rule(PAL_ACTION_ALLOW);
	proto(&ir.profiles[0].rules[0][1], PAL_PROTO_TCP);
	ir.profiles[1].rules[0] = xcalloc(1, sizeof(struct pal_ir_rule));
	ir.profiles[1].n_rules[0] = 1;
	ir.profiles[1].rules[0][0] = rule(PAL_ACTION_ALLOW);
	proto(&ir.profiles[1].rules[0][0], PAL_PROTO_UDP);
	dports(&ir.profiles[1].rules[0][0], 53, 53);
	const uint32_t profs[] = { 0, 1 };
	struct pal_cls_tables *t = flatten(&ir, &tl, profs, 2, PAL_CLS_END_DENY);

	/* 0 PASS (tier 0, next 1: the tier has no END_OF_TIER... it has: end DENY) */
	cr_assert_eq(t->n_entries, 6);
	cr_assert_eq(t->entries[0].next, 2); /* past END_OF_TIER at 1 */
	cr_assert_eq(t->entries[1].kind, PAL_CLS_K_END_OF_TIER);
	cr_assert_eq(t->entries[2].kind, PAL_CLS_K_PROFILE_RULE);
	cr_assert_eq(t->entries[2].action, PAL_CLS_PASS);
	cr_assert_eq(t->entries[2].next, 4); /* the first entry of profile 1 */
	cr_assert_eq(t->entries[4].tier, 1); /* position in the profile list */
	cr_assert_eq(t->entries[4].policy, 1); /* index into ir.profiles */
	cr_assert_eq(t->entries[5].kind, PAL_CLS_K_DEFAULT_DENY);

	struct pal_packet p = pkt(PAL_PROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 53);

	cr_assert_eq(classify(t, &p).entry, 4);
	p.dport = 54;
	cr_assert_eq(classify(t, &p).entry, 5);
	p.protocol = PAL_PROTO_TCP;
	cr_assert_eq(classify(t, &p).entry, 3);
	pal_cls_tables_free(t);

	/* The same list without the default: no verdict. */
	t = flatten(&ir, &tl, profs, 2, PAL_CLS_END_NONE);
	p = pkt(PAL_PROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 54);
	cr_assert_eq(classify(t, &p).entry, PAL_CLS_NO_MATCH);
	pal_cls_tables_free(t);
}

Test(flatten, empty_list)
{
	struct pal_cls_tables *t = flatten(&ir, NULL, NULL, 0, PAL_CLS_END_NONE);
	struct pal_packet p = pkt(PAL_PROTO_TCP, "10.0.0.1", 1, "10.0.0.2", 2);

	cr_assert_eq(t->n_entries, 0);
	cr_assert_eq(classify(t, &p).entry, PAL_CLS_NO_MATCH);
	pal_cls_tables_free(t);
	t = flatten(&ir, NULL, NULL, 0, PAL_CLS_END_DENY);
	cr_assert_eq(t->n_entries, 1);
	cr_assert_eq(classify(t, &p).entry, 0);
	pal_cls_tables_free(t);
}

Test(flatten, lpm_classes_of_nested_prefixes)
{
	uint32_t s8 = add_set(&ir, (const char *const[]){ "10.0.0.0/8", NULL });
	uint32_t s16 = add_set(&ir, (const char *const[]){ "10.1.0.0/16", NULL });
	uint32_t s24 = add_set(&ir, (const char *const[]){ "10.1.2.0/24", "192.168.0.0/16", NULL });
	uint32_t sall = add_set(&ir, (const char *const[]){ "0.0.0.0/0", NULL });
	uint32_t s6 = add_set(&ir, (const char *const[]){ "2001:db8::/32", "10.1.2.3/32", NULL });
	struct pal_ir_rule r[7];

	for (int i = 0; i < 7; i++)
		r[i] = rule(PAL_ACTION_ALLOW);
	/* 0: in 10/8   1: in 10/8 and 10.1/16   2: in 10/8, not in s24   3: not in 10.1/16
	 * 4: in 0/0    5: in s6 (v6 /32 + one v4 host)   6: no constraint */
	ONE_INDEX(r[0].match.src, in_sets, s8);
	r[1].match.src.in_sets = xcalloc(2, sizeof(uint32_t));
	r[1].match.src.in_sets[0] = s8, r[1].match.src.in_sets[1] = s16;
	r[1].match.src.n_in_sets = 2;
	ONE_INDEX(r[2].match.src, in_sets, s8);
	ONE_INDEX(r[2].match.src, not_in_sets, s24);
	ONE_INDEX(r[3].match.src, not_in_sets, s16);
	ONE_INDEX(r[4].match.src, in_sets, sall);
	ONE_INDEX(r[5].match.src, in_sets, s6);
	struct pal_cls_tables *t = flatten_rules(&ir, &tl, PAL_ACTION_PASS, r, 7);

	/* Prefixes: 0/0 (= the v4 root), 10/8, 10.1/16, 10.1.2/24, 10.1.2.3/32, 192.168/16,
	 * ::/0, 2001:db8::/32. The destination side has only the two roots. */
	cr_assert_eq(t->n_addr[0], 8);
	cr_assert_eq(t->n_addr[1], 2);
	for (size_t i = 1; i < t->n_addr[0]; i++)
		cr_assert_lt(pal_cidr_cmp(&t->addr[0][i - 1].cidr, &t->addr[0][i].cidr), 0);

	static const struct {
		const char *addr;
		uint8_t bits; /* entries 0..6 whose source constraint holds */
	} cases[] = {
		{ "10.0.0.1", 0x1 | 0x4 | 0x8 | 0x10 | 0x40 },
		{ "10.255.255.255", 0x1 | 0x4 | 0x8 | 0x10 | 0x40 },
		{ "10.1.0.1", 0x1 | 0x2 | 0x4 | 0x10 | 0x40 },
		{ "10.1.255.255", 0x1 | 0x2 | 0x4 | 0x10 | 0x40 },
		{ "10.1.2.0", 0x1 | 0x2 | 0x10 | 0x40 },
		{ "10.1.2.3", 0x1 | 0x2 | 0x10 | 0x20 | 0x40 },
		{ "10.1.2.4", 0x1 | 0x2 | 0x10 | 0x40 },
		{ "10.1.3.0", 0x1 | 0x2 | 0x4 | 0x10 | 0x40 },
		{ "9.255.255.255", 0x8 | 0x10 | 0x40 },
		{ "11.0.0.0", 0x8 | 0x10 | 0x40 },
		{ "192.168.7.7", 0x8 | 0x10 | 0x40 },
		{ "0.0.0.0", 0x8 | 0x10 | 0x40 },
		{ "2001:db8::1", 0x8 | 0x20 | 0x40 },
		{ "2001:db9::1", 0x8 | 0x40 },
		{ "::", 0x8 | 0x40 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pal_cls_keys k = { .src = A(cases[c].addr), .dst = A(cases[c].addr) };

		for (uint32_t e = 0; e < 7; e++)
			cr_assert_eq(field_bit(t, PAL_CLS_F_SRC, &k, e), (cases[c].bits >> e) & 1,
				     "%s entry %u", cases[c].addr, e);
	}
	/* Same region, same class; classes are deduplicated. */
	struct pal_cls_keys k1 = { .src = A("10.1.0.1") }, k2 = { .src = A("10.1.3.0") };

	cr_assert_eq(pal_cls_class_of(t, PAL_CLS_F_SRC, &k1), pal_cls_class_of(t, PAL_CLS_F_SRC, &k2));
	cr_assert_leq(t->bm[PAL_CLS_F_SRC].n_classes, t->n_addr[0]);
	/* Unconstrained on the destination: one class, all bits in base, no overrides. */
	cr_assert_eq(t->bm[PAL_CLS_F_DST].n_classes, 1);
	cr_assert_eq(t->bm[PAL_CLS_F_DST].n_ovr, 0);
	cr_assert_eq(t->bm[PAL_CLS_F_DST].base[0], 0x7f);
	pal_cls_tables_free(t);
}

static const struct pal_ir_named_port web[] = {
	{ .protocol = PAL_PROTO_TCP, .port = 80 },
	{ .protocol = PAL_PROTO_UDP, .port = 53 },
	{ .protocol = PAL_PROTO_TCP, .port = 8080 },
};

static uint32_t add_web(struct pal_ir *ir)
{
	struct pal_ir_named_port v[3];

	memcpy(v, web, sizeof(v));
	v[0].addr = A("10.0.0.1");
	v[1].addr = A("10.0.0.2");
	v[2].addr = A("2001:db8::1");
	return add_nps(ir, v, 3);
}

Test(flatten, named_ports_expand_into_entries)
{
	uint32_t nps = add_web(&ir);
	struct pal_ir_rule r[1];

	r[0] = rule(PAL_ACTION_ALLOW);
	dports(&r[0], 443, 443);
	ONE_INDEX(r[0].match.dst, named_port_sets, nps);
	struct pal_cls_tables *t = flatten_rules(&ir, &tl, PAL_ACTION_PASS, r, 1);

	cr_assert_eq(t->n_entries, 4); /* numeric 443 + three tuples */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(t->entries[i].rule_id, r[0].id);
		cr_assert_eq(t->entries[i].action, PAL_CLS_ALLOW);
	}
	static const struct {
		uint8_t proto;
		const char *src, *dst;
		uint16_t dport;
		bool match;
	} cases[] = {
		{ PAL_PROTO_TCP, "1.1.1.1", "10.0.0.1", 80, true },
		{ PAL_PROTO_UDP, "1.1.1.1", "10.0.0.1", 80, false }, /* protocol of the tuple */
		{ PAL_PROTO_TCP, "1.1.1.1", "10.0.0.2", 80, false }, /* address of the tuple */
		{ PAL_PROTO_TCP, "1.1.1.1", "10.0.0.1", 81, false },
		{ PAL_PROTO_UDP, "1.1.1.1", "10.0.0.2", 53, true },
		{ PAL_PROTO_TCP, "1.1.1.1", "10.0.0.2", 53, false },
		{ PAL_PROTO_SCTP, "1.1.1.1", "9.9.9.9", 443, true }, /* numeric: any port protocol */
		{ PAL_PROTO_TCP, "::1", "2001:db8::1", 8080, true },
		{ PAL_PROTO_TCP, "::1", "2001:db8::2", 8080, false },
		{ PAL_PROTO_ICMP, "1.1.1.1", "10.0.0.1", 0, false },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pal_packet p = pkt(cases[c].proto, cases[c].src, 1, cases[c].dst, cases[c].dport);
		struct pal_cls_result res = classify(t, &p);

		cr_assert_eq(res.entry != PAL_CLS_NO_MATCH, cases[c].match, "case %zu", c);
		cr_assert_eq(pal_ir_rule_matches(&ir, &tl.tiers[0].policies[0].rules[0], &p, &p.dst,
						 p.dport),
			     cases[c].match, "oracle disagrees with the case table, case %zu", c);
	}
	pal_cls_tables_free(t);
}

Test(flatten, named_ports_prune_impossible_combinations)
{
	uint32_t nps = add_web(&ir);
	struct pal_ir_named_port src1 = { .protocol = PAL_PROTO_TCP, .port = 1000 };

	src1.addr = A("10.9.9.9");
	uint32_t nsrc = add_nps(&ir, &src1, 1);
	struct pal_ir_rule r[2];

	/* TCP only: the UDP tuple cannot match. numeric 443 + tcp/80 + tcp/8080 */
	r[0] = rule(PAL_ACTION_ALLOW);
	proto(&r[0], PAL_PROTO_TCP);
	dports(&r[0], 443, 443);
	ONE_INDEX(r[0].match.dst, named_port_sets, nps);
	/* Named ports on both sides: the source tuple is IPv4 TCP, so only (src, 443) and
	 * (src, 10.0.0.1 tcp/80) remain: UDP differs, the v6 tuple cannot share a packet. */
	r[1] = rule(PAL_ACTION_DENY);
	dports(&r[1], 443, 443);
	ONE_INDEX(r[1].match.dst, named_port_sets, nps);
	r[1].match.src.has_ports = true;
	ONE_INDEX(r[1].match.src, named_port_sets, nsrc);
	struct pal_cls_tables *t = flatten_rules(&ir, &tl, PAL_ACTION_PASS, r, 2);

	cr_assert_eq(t->n_entries, 5);
	cr_assert_eq(t->entries[2].rule_id, r[0].id);
	cr_assert_eq(t->entries[3].rule_id, r[1].id);
	cr_assert_eq(t->entries[4].rule_id, r[1].id);
	struct pal_packet p = pkt(PAL_PROTO_TCP, "10.9.9.9", 1000, "10.0.0.1", 80);

	cr_assert_eq(classify(t, &p).entry, 1); /* rule 0, tuple tcp/80 */
	p = pkt(PAL_PROTO_UDP, "10.9.9.9", 1000, "10.0.0.2", 53);
	cr_assert_eq(classify(t, &p).entry, PAL_CLS_NO_MATCH);
	pal_cls_tables_free(t);
}

Test(flatten, log_rule_with_several_matching_subentries_logs_once)
{
	uint32_t nps = add_web(&ir);
	struct pal_ir_rule r[2];

	r[0] = rule(PAL_ACTION_LOG);
	dports(&r[0], 1, 100); /* contains 80 */
	ONE_INDEX(r[0].match.dst, named_port_sets, nps);
	r[1] = rule(PAL_ACTION_ALLOW);
	struct pal_cls_tables *t = flatten_rules(&ir, &tl, PAL_ACTION_DENY, r, 2);
	struct pal_packet p = pkt(PAL_PROTO_TCP, "1.1.1.1", 1, "10.0.0.1", 80);
	struct pal_cls_result res = classify(t, &p);

	cr_assert_eq(t->n_entries, 6);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(t->entries[i].next, 4);
	cr_assert_eq(res.n_logged, 1);
	cr_assert_eq(t->entries[res.logged[0]].rule_id, r[0].id);
	cr_assert_eq(res.entry, 4);
	pal_cls_tables_free(t);
}

Test(flatten, not_named_ports_become_skip_entries)
{
	uint32_t nps = add_web(&ir);
	struct pal_ir_rule r[1];

	r[0] = rule(PAL_ACTION_ALLOW);
	ONE_INDEX(r[0].match.dst, not_named_port_sets, nps);
	struct pal_cls_tables *t = flatten_rules(&ir, &tl, PAL_ACTION_PASS, r, 1);

	cr_assert_eq(t->n_entries, 4); /* three SKIPs, then the rule */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(t->entries[i].action, PAL_CLS_SKIP);
		cr_assert_eq(t->entries[i].next, 4);
	}
	static const struct {
		uint8_t proto;
		const char *dst;
		uint16_t dport;
		bool match;
	} cases[] = {
		{ PAL_PROTO_TCP, "10.0.0.1", 80, false }, { PAL_PROTO_TCP, "10.0.0.1", 81, true },
		{ PAL_PROTO_UDP, "10.0.0.1", 80, true },  { PAL_PROTO_ICMP, "10.0.0.1", 0, true },
		{ PAL_PROTO_UDP, "10.0.0.2", 53, false }, { PAL_PROTO_TCP, "2001:db8::1", 8080, false },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pal_packet p = pkt(cases[c].proto, cases[c].dst, 1, cases[c].dst, cases[c].dport);

		if (cases[c].dst[0] != '1')
			p.src = A("2001:db8::99");
		cr_assert_eq(classify(t, &p).entry != PAL_CLS_NO_MATCH, cases[c].match, "case %zu", c);
	}
	pal_cls_tables_free(t);
}

Test(flatten, families_protocol_and_icmp)
{
	struct pal_ir_rule r[4];

	r[0] = rule(PAL_ACTION_DENY); /* IPv6 only, ICMPv6 echo request */
	r[0].match.families = PAL_FAMILY_V6;
	proto(&r[0], PAL_PROTO_ICMPV6);
	r[0].match.has_icmp = true;
	r[0].match.icmp = (struct pal_icmp_match){ .has_type = true, .type = 128 };
	r[1] = rule(PAL_ACTION_ALLOW); /* anything but ICMP type 3 code 4 */
	r[1].match.has_not_icmp = true;
	r[1].match.not_icmp = (struct pal_icmp_match){ .has_type = true, .type = 3, .has_code = true,
						       .code = 4 };
	r[1].match.not_protocol = (struct pal_protocol){ .set = true, .num = PAL_PROTO_UDP };
	r[2] = rule(PAL_ACTION_LOG); /* never matches: no family */
	r[2].match.families = 0;
	r[3] = rule(PAL_ACTION_DENY);
	struct pal_cls_tables *t = flatten_rules(&ir, &tl, PAL_ACTION_PASS, r, 4);

	cr_assert_eq(t->n_entries, 3); /* the family-less rule has no entry */
	struct pal_packet p = pkt(PAL_PROTO_ICMPV6, "::1", 0, "::2", 0);

	p.icmp_type = 128;
	cr_assert_eq(classify(t, &p).entry, 0);
	p.icmp_type = 129;
	cr_assert_eq(classify(t, &p).entry, 1);
	p = pkt(PAL_PROTO_ICMPV6, "10.0.0.1", 0, "10.0.0.2", 0); /* v4 never matches rule 0 */
	p.icmp_type = 128;
	cr_assert_eq(classify(t, &p).entry, 1);
	p = pkt(PAL_PROTO_ICMP, "10.0.0.1", 0, "10.0.0.2", 0);
	p.icmp_type = 3;
	p.icmp_code = 4;
	cr_assert_eq(classify(t, &p).entry, 2);
	p.icmp_code = 3;
	cr_assert_eq(classify(t, &p).entry, 1);
	p = pkt(PAL_PROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 2);
	cr_assert_eq(classify(t, &p).entry, 2);
	p.protocol = PAL_PROTO_TCP;
	cr_assert_eq(classify(t, &p).entry, 1);
	pal_cls_tables_free(t);
}

Test(flatten, bad_indexes_are_rejected)
{
	struct pal_ir_rule r[1];
	struct pal_cls_tables *t = (struct pal_cls_tables *)1;

	r[0] = rule(PAL_ACTION_ALLOW);
	ONE_INDEX(r[0].match.src, in_sets, 7);
	const struct tier_spec ts[] = { { PAL_ACTION_PASS, r, 1 } };

	make_tiers(&tl, ts, 1);
	struct pal_cls_input in = { .ir = &ir, .tiers = &tl };

	cr_assert_eq(pal_cls_flatten(&in, &t), -EINVAL);
	cr_assert_null(t);
	const uint32_t prof = 3;

	in = (struct pal_cls_input){ .ir = &ir, .profiles = &prof, .n_profiles = 1 };
	cr_assert_eq(pal_cls_flatten(&in, &t), -EINVAL);
}

Test(flatten, too_many_entries_is_e2big)
{
	const size_t n = 1000;
	struct pal_ir_named_port *v = xcalloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i].addr = A("10.0.0.1");
		v[i].addr.bytes[2] = (uint8_t)(i >> 8);
		v[i].addr.bytes[3] = (uint8_t)i;
		v[i].protocol = PAL_PROTO_TCP;
		v[i].port = (uint16_t)i;
	}
	uint32_t nps = add_nps(&ir, v, n);
	struct pal_ir_rule r[1];

	free(v);
	/* named ports on both sides: 1000 x 1000 combinations > PAL_CLS_MAX_ENTRIES */
	r[0] = rule(PAL_ACTION_ALLOW);
	r[0].match.src.has_ports = r[0].match.dst.has_ports = true;
	ONE_INDEX(r[0].match.src, named_port_sets, nps);
	ONE_INDEX(r[0].match.dst, named_port_sets, nps);
	const struct tier_spec ts[] = { { PAL_ACTION_PASS, r, 1 } };

	make_tiers(&tl, ts, 1);
	struct pal_cls_input in = { .ir = &ir, .tiers = &tl };
	struct pal_cls_tables *t = NULL;

	cr_assert_eq(pal_cls_flatten(&in, &t), -E2BIG);
	cr_assert_null(t);
}

Test(flatten, packet_keys)
{
	struct pal_packet p = pkt(PAL_PROTO_UDP, "10.0.0.1", 53, "10.0.0.2", 5353);
	struct pal_addr nat = A("10.9.9.9");
	struct pal_cls_keys k;

	pal_cls_keys_from_packet(&p, &nat, 80, &k);
	cr_assert(pal_addr_equal(&k.dst, &nat));
	cr_assert_eq(k.sport, 53);
	cr_assert_eq(k.dport, 80);
	cr_assert_eq(k.icmp, PAL_CLS_KEY_NONE);
	p = pkt(PAL_PROTO_ICMPV6, "::1", 0, "::2", 0);
	p.icmp_type = 135;
	p.icmp_code = 7;
	pal_cls_keys_from_packet(&p, &p.dst, 0, &k);
	cr_assert_eq(k.sport, PAL_CLS_KEY_NONE);
	cr_assert_eq(k.dport, PAL_CLS_KEY_NONE);
	cr_assert_eq(k.icmp, 135u << 8 | 7);
	p = pkt(47, "::1", 1, "::2", 2); /* GRE: no ports, no ICMP */
	pal_cls_keys_from_packet(&p, &p.dst, 2, &k);
	cr_assert_eq(k.dport, PAL_CLS_KEY_NONE);
	cr_assert_eq(k.icmp, PAL_CLS_KEY_NONE);
}

/* The address events are sorted set by set and merged (flatten_addr.c sort_events): sets whose
 * prefixes come in any order, with repeats and both families, several per rule, flatten to the
 * same prefixes and the same verdicts as the same sets in order. */
Test(flatten, address_sets_in_any_order_flatten_alike)
{
	static const char *const a_sorted[] = { "10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32",
						"192.168.0.0/16", "2001:db8::/32", NULL };
	static const char *const a_mixed[] = { "2001:db8::/32", "192.168.0.0/16", "10.1.2.3/32",
					       "10.0.0.0/8", "10.1.2.0/24", "10.0.0.0/8", NULL };
	static const char *const b_sorted[] = { "10.1.0.0/16", "10.1.2.0/24", "172.16.0.0/12",
						"2001:db8:1::/48", NULL };
	static const char *const b_mixed[] = { "2001:db8:1::/48", "172.16.0.0/12", "10.1.2.0/24",
					       "10.1.0.0/16", "2001:db8:1::/48", NULL };
	static const char *const c_one[] = { "10.1.2.3/32", NULL };
	static const char *const probes[] = { "10.0.0.1", "10.1.0.1", "10.1.2.1", "10.1.2.3",
					      "172.16.1.1", "192.168.1.1", "11.0.0.1",
					      "2001:db8::1", "2001:db8:1::1", "2001:db9::1" };
	struct pal_ir ir2 = { 0 };
	struct pal_ir_tierlist tl2 = { 0 };
	struct pal_cls_tables *t[2];

	for (int v = 0; v < 2; v++) {
		struct pal_ir *x = v ? &ir2 : &ir;
		uint32_t a = add_set(x, v ? a_mixed : a_sorted), b = add_set(x, v ? b_mixed : b_sorted),
			 c = add_set(x, c_one);
		struct pal_ir_rule r[4];

		for (int i = 0; i < 4; i++)
			r[i] = rule(PAL_ACTION_ALLOW);
		/* 0: in a   1: in a and b   2: in b, not in c   3: not in a */
		ONE_INDEX(r[0].match.src, in_sets, a);
		r[1].match.src.in_sets = xcalloc(2, sizeof(uint32_t));
		r[1].match.src.in_sets[0] = b, r[1].match.src.in_sets[1] = a;
		r[1].match.src.n_in_sets = 2;
		ONE_INDEX(r[2].match.src, in_sets, b);
		ONE_INDEX(r[2].match.src, not_in_sets, c);
		ONE_INDEX(r[3].match.src, not_in_sets, a);
		t[v] = flatten_rules(x, v ? &tl2 : &tl, PAL_ACTION_PASS, r, 4);
	}
	cr_assert_eq(t[0]->n_addr[0], t[1]->n_addr[0]);
	for (size_t i = 0; i < t[0]->n_addr[0]; i++)
		cr_assert_eq(pal_cidr_cmp(&t[0]->addr[0][i].cidr, &t[1]->addr[0][i].cidr), 0,
			     "prefix %zu", i);
	for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		struct pal_cls_keys k = { .src = A(probes[p]), .dst = A(probes[p]) };

		for (uint32_t e = 0; e < 4; e++)
			cr_assert_eq(field_bit(t[0], PAL_CLS_F_SRC, &k, e),
				     field_bit(t[1], PAL_CLS_F_SRC, &k, e), "%s entry %u", probes[p], e);
	}
	/* 10.1.2.3: in a, in b, in c: entries 0 and 1 only. */
	struct pal_cls_keys k = { .src = A("10.1.2.3") };

	cr_assert(field_bit(t[1], PAL_CLS_F_SRC, &k, 0) && field_bit(t[1], PAL_CLS_F_SRC, &k, 1));
	cr_assert(!field_bit(t[1], PAL_CLS_F_SRC, &k, 2) && !field_bit(t[1], PAL_CLS_F_SRC, &k, 3));
	pal_cls_tables_free(t[0]);
	pal_cls_tables_free(t[1]);
	pal_ir_tierlist_free(&tl2);
	pal_ir_free(&ir2);
}
