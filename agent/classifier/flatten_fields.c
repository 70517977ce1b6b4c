/* The flattener, part 2: the per-field classes and bitmaps (flatten_addr.c, flatten_ranges.c over
 * flatten_classes.c), after choosing every entry's anchor field.
 *
 * Every field is computed by one sweep (sorting, then work proportional to the changes), never by
 * testing every rule against every value, so 100,000 rules flatten in well under a second. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten_internal.h"

/* ceil(log2(n)) for n >= 1. */
static int log2_ceil(uint64_t n)
{
	return n <= 1 ? 0 : 64 - __builtin_clzll(n - 1);
}

/* About log2 of the fraction of addresses in an IR set (0 = everything, -32 = one IPv4 address):
 * the largest prefix dominates, the count adds at most log2(n). */
static int set_log_fraction(const struct pal_ir_set *st)
{
	int min_len = 128;

	for (size_t i = 0; i < st->n; i++)
		min_len = st->cidrs[i].prefix_len < min_len ? st->cidrs[i].prefix_len : min_len;
	if (!st->n)
		return -128; /* empty set: matches nothing */
	int v = -min_len + log2_ceil(st->n);

	return v > 0 ? 0 : v;
}

/* How selective entry c is on field f, as about log2 of the fraction of traffic it lets through
 * there (protocols count as unselective because traffic is mostly TCP/UDP). Only called for
 * fields where the entry is constrained; negations count as 0 (they let most through). */
static int selectivity(const struct pal_ir *ir, const struct fl_cons *c, enum pal_cls_field f)
{
	int best = 0;

	switch (f) {
	case PAL_CLS_F_SRC:
	case PAL_CLS_F_DST: {
		const struct fl_side *s = fl_side_of(c, f == PAL_CLS_F_DST);

		if (s->has_exact)
			return s->exact.family == PAL_AF_INET4 ? -32 : -128;
		for (size_t i = 0; s->ir && i < s->ir->n_in_sets; i++) {
			int v = set_log_fraction(&ir->sets[s->ir->in_sets[i]]);

			best = v < best ? v : best;
		}
		return best;
	}
	case PAL_CLS_F_SPORT:
	case PAL_CLS_F_DPORT: {
		const struct fl_side *s = f == PAL_CLS_F_SPORT ? &c->src : &c->dst;
		uint64_t n = 0;

		if (s->ports == FL_PORTS_EXACT)
			return -16;
		if (s->ports != FL_PORTS_RANGES)
			return 0;
		for (size_t i = 0; i < s->n_ranges; i++)
			n += (uint64_t)s->ranges[i].last - s->ranges[i].first + 1;
		int v = log2_ceil(n) - 16; /* overlapping ranges can add up to more than 65536 */

		return v > 0 ? 0 : v;
	}
	case PAL_CLS_F_ICMP:
		if (!c->has_icmp)
			return 0;
		return c->icmp.has_code ? -16 : c->icmp.has_type ? -8 : -1;
	case PAL_CLS_F_PROTO:
	default:
		return c->protocol.set || c->has_exact_proto ? -1 : 0;
	}
}

static bool constrained(const struct fl_cons *c, enum pal_cls_field f)
{
	struct fl_range_cons rc;

	if (f == PAL_CLS_F_SRC || f == PAL_CLS_F_DST)
		return fl_addr_constrained(c, f == PAL_CLS_F_DST);
	(void)fl_range_constraint(c, f, 0, &rc, NULL);
	return rc.constrained;
}

/* Each entry gets an anchor: its most selective constrained field (PAL_CLS_ANCHOR_NONE when it has
 * none). An entry can only match a packet when it is set in its anchor field's class, so the
 * words holding such entries (the classes' `anchor` summaries), plus the words of unanchored
 * entries (`always`), are the only candidates; see flatten.h. */
static int compute_anchors(struct fl_ctx *c)
{
	static const enum pal_cls_field order[] = { PAL_CLS_F_SRC,   PAL_CLS_F_DST,  PAL_CLS_F_DPORT,
						    PAL_CLS_F_SPORT, PAL_CLS_F_ICMP, PAL_CLS_F_PROTO };
	struct pal_cls_tables *t = c->t;
	uint32_t nw = t->n_words ? t->n_words : 1;

	t->always = calloc(t->n_summary ? t->n_summary : 1, sizeof(*t->always));
	if (!t->always)
		return -ENOMEM;
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		c->anchor_mask[f] = calloc(nw, sizeof(uint64_t));
		if (!c->anchor_mask[f])
			return -ENOMEM;
	}
	for (uint32_t e = 0; e < t->n_entries; e++) {
		const struct fl_cons *k = &c->cons[e];
		int anchor = -1, best = INT32_MAX;

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			if (!constrained(k, order[i]))
				continue;
			int v = selectivity(c->ir, k, order[i]);

			if (v < best) {
				best = v;
				anchor = order[i];
			}
		}
		if (anchor < 0) {
			t->entries[e].anchor = PAL_CLS_ANCHOR_NONE;
			t->always[e / 4096] |= 1ull << (e / 64 % 64);
		} else {
			t->entries[e].anchor = (uint8_t)anchor;
			c->anchor_mask[anchor][e / 64] |= 1ull << (e % 64);
		}
	}
	return 0;
}

int fl_compute_fields(struct fl_ctx *c)
{
	struct pal_cls_tables *t = c->t;
	int err;

	err = compute_anchors(c);
	if (!err)
		err = fl_addr_field(c, 0);
	if (!err)
		err = fl_addr_field(c, 1);
	if (!err)
		err = fl_range_field(c, PAL_CLS_F_PROTO, 512, NULL, NULL, &t->proto_class[0][0]);
	if (!err)
		err = fl_key_field(c, PAL_CLS_F_SPORT, &t->sport);
	if (!err)
		err = fl_key_field(c, PAL_CLS_F_DPORT, &t->dport);
	if (!err)
		err = fl_key_field(c, PAL_CLS_F_ICMP, &t->icmp);
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		free(c->anchor_mask[f]);
		c->anchor_mask[f] = NULL;
	}
	return err;
}

