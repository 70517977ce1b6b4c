/* The flattener, part 1: walk a tier list (and profiles) in evaluation order and turn every rule
 * into entries whose per-field constraints are independent (see ENTRIES in flatten.h), then let
 * flatten_fields.c compute the classes and bitmaps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten_internal.h"
#include "vec.h"

struct builder {
	const struct pal_ir *ir;
	struct pal_cls_entry *e;
	struct fl_cons *c;
	size_t n, cap_e, cap_c; /* e[] and c[] grow apart: a failed second grow leaves no lie */
};

static int push(struct builder *b, const struct pal_cls_entry *e, const struct fl_cons *c)
{
	if (b->n >= PAL_CLS_MAX_ENTRIES)
		return -E2BIG;
	if (vec_grow((void **)&b->e, &b->cap_e, b->n + 1, sizeof(*b->e)) ||
	    vec_grow((void **)&b->c, &b->cap_c, b->n + 1, sizeof(*b->c)))
		return -ENOMEM;
	b->e[b->n] = *e;
	b->c[b->n] = *c;
	b->n++;
	return 0;
}

static uint8_t family_bit(const struct pal_addr *a)
{
	return a->family == PAL_AF_INET4 ? PAL_FAMILY_V4 : PAL_FAMILY_V6;
}

/* The constraint of `m` without its positive ports and its named-port exclusions. */
static void cons_base(struct fl_cons *c, const struct pal_ir_match *m)
{
	memset(c, 0, sizeof(*c));
	c->families = m->families;
	c->l4 = m->l4;
	c->src.ir = &m->src;
	c->dst.ir = &m->dst;
}

/* Adds a named-port tuple to side s of c. False when the result cannot match anything. */
static bool cons_add_tuple(struct fl_cons *c, struct fl_side *s, const struct pal_ir_named_port *np)
{
	if (c->has_exact_proto && c->exact_proto != np->protocol)
		return false;
	if (c->protocol.set && c->protocol.num != np->protocol)
		return false;
	if (c->not_protocol.set && c->not_protocol.num == np->protocol)
		return false;
	c->families &= family_bit(&np->addr);
	if (!c->families)
		return false;
	c->has_exact_proto = true;
	c->exact_proto = np->protocol;
	s->has_exact = true;
	s->exact = np->addr;
	s->ports = FL_PORTS_EXACT;
	s->exact_port = np->port;
	return true;
}

/* One positive port alternative of a side: numeric ranges, or one named-port tuple. */
struct alt {
	bool numeric;
	const struct pal_ir_named_port *np;
};

static int side_alts(const struct pal_ir *ir, const struct pal_ir_side *s, struct alt **out,
		     size_t *n)
{
	size_t cnt = 0, k = 0;

	*out = NULL;
	*n = 0;
	if (!s->has_ports) {
		cnt = 1;
	} else {
		cnt = s->n_port_ranges ? 1 : 0;
		for (size_t i = 0; i < s->n_named_port_sets; i++) {
			if (s->named_port_sets[i] >= ir->n_named_port_sets)
				return -EINVAL;
			cnt += ir->named_port_sets[s->named_port_sets[i]].n;
		}
	}
	if (!cnt)
		return 0;
	struct alt *a = calloc(cnt, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (!s->has_ports || s->n_port_ranges)
		a[k++].numeric = true;
	if (s->has_ports) {
		for (size_t i = 0; i < s->n_named_port_sets; i++) {
			const struct pal_ir_named_port_set *ps = &ir->named_port_sets[s->named_port_sets[i]];

			for (size_t j = 0; j < ps->n; j++)
				a[k++].np = &ps->v[j];
		}
	}
	*out = a;
	*n = k;
	return 0;
}

static void side_apply_alt(struct fl_side *fs, const struct pal_ir_side *s, const struct alt *a)
{
	fs->not_ranges = s->not_port_ranges;
	fs->n_not_ranges = s->n_not_port_ranges;
	if (a->numeric && s->has_ports) {
		fs->ports = FL_PORTS_RANGES;
		fs->ranges = s->port_ranges;
		fs->n_ranges = s->n_port_ranges;
	}
}

static int check_sets(const struct pal_ir *ir, const struct pal_ir_side *s)
{
	for (size_t i = 0; i < s->n_in_sets; i++)
		if (s->in_sets[i] >= ir->n_sets)
			return -EINVAL;
	for (size_t i = 0; i < s->n_not_in_sets; i++)
		if (s->not_in_sets[i] >= ir->n_sets)
			return -EINVAL;
	for (size_t i = 0; i < s->n_not_named_port_sets; i++)
		if (s->not_named_port_sets[i] >= ir->n_named_port_sets)
			return -EINVAL;
	return 0;
}

/* SKIP entries for side `which` (0 src, 1 dst) of the rule: one per not-named-port tuple. */
static int emit_skips(struct builder *b, const struct pal_ir_rule *r, int which,
		      const struct pal_cls_entry *proto_entry)
{
	const struct pal_ir_side *s = which ? &r->match.dst : &r->match.src;

	for (size_t i = 0; i < s->n_not_named_port_sets; i++) {
		const struct pal_ir_named_port_set *ps = &b->ir->named_port_sets[s->not_named_port_sets[i]];

		for (size_t j = 0; j < ps->n; j++) {
			struct fl_cons c;
			struct pal_cls_entry e = *proto_entry;
			int err;

			cons_base(&c, &r->match);
			if (!cons_add_tuple(&c, which ? &c.dst : &c.src, &ps->v[j]))
				continue; /* the rule cannot match this tuple's packets anyway */
			e.action = PAL_CLS_SKIP;
			err = push(b, &e, &c);
			if (err)
				return err;
		}
	}
	return 0;
}

/* All entries of one rule. `e0` carries the reporting fields. */
static int emit_rule(struct builder *b, const struct pal_ir_rule *r, struct pal_cls_entry e0)
{
	const struct pal_ir_match *m = &r->match;
	struct alt *as = NULL, *ad = NULL;
	size_t ns = 0, nd = 0, first = b->n;
	int err;

	err = check_sets(b->ir, &m->src);
	if (!err)
		err = check_sets(b->ir, &m->dst);
	if (err)
		return err;
	if (!m->families)
		return 0;
	e0.rule_id = r->id;
	e0.rule = r->index;
	e0.action = (uint8_t)r->action;
	err = emit_skips(b, r, 0, &e0);
	if (!err)
		err = emit_skips(b, r, 1, &e0);
	if (!err)
		err = side_alts(b->ir, &m->src, &as, &ns);
	if (!err)
		err = side_alts(b->ir, &m->dst, &ad, &nd);
	for (size_t i = 0; !err && i < ns; i++) {
		for (size_t j = 0; !err && j < nd; j++) {
			struct fl_cons c;

			cons_base(&c, m);
			side_apply_alt(&c.src, &m->src, &as[i]);
			side_apply_alt(&c.dst, &m->dst, &ad[j]);
			if (as[i].np && !cons_add_tuple(&c, &c.src, as[i].np))
				continue;
			if (ad[j].np && !cons_add_tuple(&c, &c.dst, ad[j].np))
				continue;
			err = push(b, &e0, &c);
		}
	}
	free(as);
	free(ad);
	if (err)
		return err;
	/* A Log rule logs once and a Skip leaves the rule: both continue after the rule. */
	for (size_t i = first; i < b->n; i++) {
		if (b->e[i].action == PAL_CLS_LOG || b->e[i].action == PAL_CLS_SKIP)
			b->e[i].next = (uint32_t)b->n;
		else
			b->e[i].next = (uint32_t)i + 1;
	}
	return 0;
}

static int emit_wildcard(struct builder *b, enum pal_cls_kind kind, uint32_t tier)
{
	struct pal_cls_entry e = {
		.action = PAL_CLS_DENY,
		.kind = (uint8_t)kind,
		.next = (uint32_t)b->n + 1,
		.rule_id = PAL_CLS_NO_RULE,
		.tier = tier,
		.policy = PAL_CLS_NO_RULE,
		.rule = PAL_CLS_NO_RULE,
	};
	struct fl_cons c;

	memset(&c, 0, sizeof(c));
	c.wildcard = true;
	c.families = PAL_FAMILY_V4 | PAL_FAMILY_V6;
	return push(b, &e, &c);
}

/* PASS entries in [from, b->n) jump to the end of their segment (next tier or profile). */
static void patch_pass(struct builder *b, size_t from)
{
	for (size_t i = from; i < b->n; i++)
		if (b->e[i].action == PAL_CLS_PASS)
			b->e[i].next = (uint32_t)b->n;
}

static int build_entries(struct builder *b, const struct pal_cls_input *in)
{
	const struct pal_ir_tierlist *tl = in->tiers;
	int err = 0;

	for (size_t t = 0; tl && t < tl->n_tiers; t++) {
		const struct pal_ir_tier *tier = &tl->tiers[t];
		size_t first = b->n;

		for (size_t p = 0; p < tier->n_policies; p++) {
			const struct pal_ir_policy *pol = &tier->policies[p];

			for (size_t r = 0; r < pol->n_rules; r++) {
				struct pal_cls_entry e0 = { .kind = PAL_CLS_K_RULE,
							    .tier = (uint32_t)t,
							    .policy = (uint32_t)p };

				err = emit_rule(b, &pol->rules[r], e0);
				if (err)
					return err;
			}
		}
		if (tier->end_action == PAL_ACTION_DENY) {
			err = emit_wildcard(b, PAL_CLS_K_END_OF_TIER, (uint32_t)t);
			if (err)
				return err;
		}
		patch_pass(b, first);
	}
	for (size_t k = 0; k < in->n_profiles; k++) {
		size_t first = b->n;
		uint32_t pi = in->profiles[k];

		if (pi >= in->ir->n_profiles || (unsigned)in->dir >= PAL_DIR_COUNT)
			return -EINVAL;
		const struct pal_ir_profile *pr = &in->ir->profiles[pi];

		for (size_t r = 0; r < pr->n_rules[in->dir]; r++) {
			struct pal_cls_entry e0 = { .kind = PAL_CLS_K_PROFILE_RULE,
						    .tier = (uint32_t)k,
						    .policy = pi };

			err = emit_rule(b, &pr->rules[in->dir][r], e0);
			if (err)
				return err;
		}
		patch_pass(b, first);
	}
	if (in->end == PAL_CLS_END_DENY)
		err = emit_wildcard(b, PAL_CLS_K_DEFAULT_DENY, PAL_CLS_NO_RULE);
	return err;
}

void pal_cls_tables_free(struct pal_cls_tables *t)
{
	if (!t)
		return;
	free(t->entries);
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		free(t->bm[f].base);
		free(t->bm[f].summary);
		free(t->bm[f].anchor);
		free(t->bm[f].ovr_start);
		free(t->bm[f].ovr_word);
		free(t->bm[f].ovr_bits);
	}
	free(t->always);
	free(t->addr[0]);
	free(t->addr[1]);
	struct pal_cls_keytable *kts[] = { &t->sport, &t->dport, &t->icmp };

	for (size_t i = 0; i < 3; i++) {
		free(kts[i]->ranges);
		free(kts[i]->prefixes);
	}
	free(t);
}

int pal_cls_flatten(const struct pal_cls_input *in, struct pal_cls_tables **out)
{
	struct builder b = { .ir = in->ir };
	struct pal_cls_tables *t = NULL;
	int err;

	*out = NULL;
	if (!in->ir || (in->n_profiles && !in->profiles))
		return -EINVAL;
	err = build_entries(&b, in);
	if (err)
		goto out;
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto out;
	}
	t->entries = b.e;
	b.e = NULL;
	t->n_entries = (uint32_t)b.n;
	t->n_words = (t->n_entries + 63) / 64;
	t->n_summary = (t->n_words + 63) / 64;
	struct fl_ctx c = { .ir = in->ir, .t = t, .cons = b.c };

	err = fl_compute_fields(&c);
	if (err)
		goto out;
	*out = t;
	t = NULL;
out:
	pal_cls_tables_free(t);
	free(b.e);
	free(b.c);
	return err;
}
