/* The range fields: ports, ICMP type/code (16-bit keys plus NONE) and (family, protocol) (9-bit
 * keys). One sweep over the sorted range boundaries with per-entry counters of covering positive and
 * negative ranges gives every elementary range its satisfied-entry set; equal neighbours merge,
 * and the 16-bit tables are also expanded into prefixes for LPM maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten_internal.h"
#include "vec.h"

struct rng_ev {
	uint32_t point;
	uint32_t entry;
	int32_t delta;
	bool neg;
};

struct fl_rng_vec {
	struct rng_ev *v;
	size_t n, cap;
};

static int rng_add(struct fl_rng_vec *rv, uint32_t entry, uint32_t first, uint32_t last, bool neg)
{
	if (!rv) /* only the constraint's description was asked for */
		return 0;
	if (vec_grow((void **)&rv->v, &rv->cap, rv->n + 2, sizeof(*rv->v)))
		return -ENOMEM;
	rv->v[rv->n++] = (struct rng_ev){ .point = first, .entry = entry, .delta = 1, .neg = neg };
	rv->v[rv->n++] = (struct rng_ev){ .point = last + 1, .entry = entry, .delta = -1, .neg = neg };
	return 0;
}

static int cmp_rng(const void *a, const void *b)
{
	const struct rng_ev *x = a, *y = b;

	return x->point < y->point ? -1 : x->point > y->point;
}

/* Describes entry e's constraint on range field f: rc, and its ranges appended to rv. */
int fl_range_constraint(const struct fl_cons *c, enum pal_cls_field f, uint32_t e,
			struct fl_range_cons *rc, struct fl_rng_vec *rv)
{
	int err = 0;

	memset(rc, 0, sizeof(*rc));
	if (c->wildcard)
		return 0;
	if (f == PAL_CLS_F_SPORT || f == PAL_CLS_F_DPORT) {
		const struct fl_side *s = f == PAL_CLS_F_SPORT ? &c->src : &c->dst;

		rc->constrained = s->ports != FL_PORTS_ANY || s->n_not_ranges;
		rc->has_pos = s->ports != FL_PORTS_ANY;
		rc->none_ok = !rc->has_pos && (!s->n_not_ranges || FL_NOT_PORTS_MATCH_PORTLESS);
		if (s->ports == FL_PORTS_EXACT)
			err = rng_add(rv, e, s->exact_port, s->exact_port, false);
		for (size_t i = 0; !err && s->ports == FL_PORTS_RANGES && i < s->n_ranges; i++)
			err = rng_add(rv, e, s->ranges[i].first, s->ranges[i].last, false);
		for (size_t i = 0; !err && i < s->n_not_ranges; i++)
			err = rng_add(rv, e, s->not_ranges[i].first, s->not_ranges[i].last, true);
		return err;
	}
	if (f == PAL_CLS_F_ICMP) {
		const struct pal_icmp_match *ms[2] = { &c->icmp, &c->not_icmp };
		const bool has[2] = { c->has_icmp, c->has_not_icmp };

		rc->constrained = c->has_icmp || c->has_not_icmp;
		rc->has_pos = c->has_icmp;
		rc->none_ok = !c->has_icmp && FL_NOT_ICMP_MATCHES_NON_ICMP;
		for (int k = 0; k < 2 && !err; k++) {
			uint32_t lo = 0, hi = 0xffff;

			if (!has[k])
				continue;
			if (!ms[k]->has_type && ms[k]->has_code) {
				/* a code without a type (validation forbids it; the evaluator reads it
				 * as "this code, any type"): one key per type */
				for (uint32_t ty = 0; ty < 256 && !err; ty++)
					err = rng_add(rv, e, ty << 8 | ms[k]->code, ty << 8 | ms[k]->code,
						      k == 1);
				continue;
			}
			if (ms[k]->has_type) {
				lo = (uint32_t)ms[k]->type << 8;
				hi = lo | 0xff;
				if (ms[k]->has_code)
					lo = hi = lo | ms[k]->code;
			}
			err = rng_add(rv, e, lo, hi, k == 1);
		}
		return err;
	}
	/* PAL_CLS_F_PROTO: key = family index << 8 | protocol. */
	rc->constrained = c->families != (PAL_FAMILY_V4 | PAL_FAMILY_V6) || c->protocol.set ||
			  c->not_protocol.set || c->has_exact_proto;
	rc->has_pos = true;
	for (uint32_t fi = 0; fi < 2 && !err; fi++) {
		if (!(c->families & (fi ? PAL_FAMILY_V6 : PAL_FAMILY_V4)))
			continue;
		if (c->has_exact_proto)
			err = rng_add(rv, e, fi << 8 | c->exact_proto, fi << 8 | c->exact_proto, false);
		else if (c->protocol.set)
			err = rng_add(rv, e, fi << 8 | c->protocol.num, fi << 8 | c->protocol.num, false);
		else
			err = rng_add(rv, e, fi << 8, fi << 8 | 0xff, false);
		if (!err && c->not_protocol.set)
			err = rng_add(rv, e, fi << 8 | c->not_protocol.num, fi << 8 | c->not_protocol.num,
				      true);
	}
	return err;
}

static int range_push(struct fl_range_vec *rv, uint32_t first, uint32_t last, uint32_t cls)
{
	if (rv->n && rv->v[rv->n - 1].cls == cls) { /* merge equal neighbours */
		rv->v[rv->n - 1].last = (uint16_t)last;
		return 0;
	}
	if (vec_grow((void **)&rv->v, &rv->cap, rv->n + 1, sizeof(*rv->v)))
		return -ENOMEM;
	rv->v[rv->n++] = (struct pal_cls_range){ .first = (uint16_t)first, .last = (uint16_t)last,
						 .cls = cls };
	return 0;
}

/* See flatten_internal.h. */
int fl_range_field(struct fl_ctx *ctx, enum pal_cls_field f, uint32_t domain,
		   struct fl_range_vec *out, uint32_t *none_class, uint32_t *proto_out)
{
	uint32_t n = ctx->t->n_entries;
	struct fl_field_work w;
	struct fl_rng_vec rv = { 0 };
	struct fl_range_cons *rc = NULL;
	uint32_t *pos = NULL, *neg = NULL, cls;
	int err;

	err = fl_work_init(&w, ctx, f);
	if (err)
		goto out;
	rc = calloc(n ? n : 1, sizeof(*rc));
	pos = calloc(n ? n : 1, sizeof(*pos));
	neg = calloc(n ? n : 1, sizeof(*neg));
	if (!rc || !pos || !neg) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t e = 0; e < n && !err; e++) {
		err = fl_range_constraint(&ctx->cons[e], f, e, &rc[e], &rv);
		if (!rc[e].constrained)
			w.base[e / 64] |= 1ull << (e % 64);
	}
	if (err)
		goto out;
	/* Events of unconstrained entries (e.g. proto of a rule with both families) are dropped. */
	size_t k = 0;

	for (size_t i = 0; i < rv.n; i++)
		if (rc[rv.v[i].entry].constrained && rv.v[i].point < domain)
			rv.v[k++] = rv.v[i];
	rv.n = k;
	fl_sort(rv.v, rv.n, sizeof(*rv.v), cmp_rng);
	if (none_class) {
		for (uint32_t e = 0; e < n; e++)
			if (rc[e].constrained && rc[e].none_ok)
				fl_bits_put(&w.spec, e, true);
		err = fl_classes_intern(&w.cls, &w.spec, none_class);
		for (uint32_t e = 0; e < n; e++)
			if (rc[e].constrained && rc[e].none_ok)
				fl_bits_put(&w.spec, e, false);
		if (err)
			goto out;
	}
	for (uint32_t e = 0; e < n; e++)
		if (rc[e].constrained && !rc[e].has_pos)
			fl_bits_put(&w.spec, e, true);
	size_t i = 0;

	for (uint32_t p = 0; p < domain && !err;) {
		for (; i < rv.n && rv.v[i].point == p; i++) {
			const struct rng_ev *v = &rv.v[i];
			uint32_t e = v->entry;

			if (v->neg)
				neg[e] += (uint32_t)v->delta;
			else
				pos[e] += (uint32_t)v->delta;
			fl_bits_put(&w.spec, e, (pos[e] || !rc[e].has_pos) && !neg[e]);
		}
		uint32_t next = i < rv.n ? rv.v[i].point : domain;

		err = fl_classes_intern(&w.cls, &w.spec, &cls);
		if (!err && proto_out)
			for (uint32_t q = p; q < next; q++)
				proto_out[q] = cls;
		if (!err && out)
			err = range_push(out, p, next - 1, cls);
		p = next;
	}
	if (!err)
		err = fl_work_finish(&w);
out:
	free(rv.v);
	free(rc);
	free(pos);
	free(neg);
	fl_work_free(&w);
	return err;
}

struct kp_vec {
	struct pal_cls_kprefix *v;
	size_t n, cap;
	uint32_t cls;
	int err;
};

static void kp_add(uint16_t value, uint8_t len, void *arg)
{
	struct kp_vec *kv = arg;

	if (kv->err)
		return;
	if ((kv->err = vec_grow((void **)&kv->v, &kv->cap, kv->n + 1, sizeof(*kv->v))))
		return;
	kv->v[kv->n++] = (struct pal_cls_kprefix){ .value = value, .len = len, .cls = kv->cls };
}

int fl_key_field(struct fl_ctx *ctx, enum pal_cls_field f, struct pal_cls_keytable *kt)
{
	struct fl_range_vec rv = { 0 };
	struct kp_vec kv = { 0 };
	int err = fl_range_field(ctx, f, 0x10000, &rv, &kt->none_class, NULL);

	for (size_t i = 0; !err && i < rv.n; i++) {
		kv.cls = rv.v[i].cls;
		pal_cls_range_to_prefixes(rv.v[i].first, rv.v[i].last, kp_add, &kv);
		err = kv.err;
	}
	if (err) {
		free(rv.v);
		free(kv.v);
		return err;
	}
	kt->ranges = rv.v;
	kt->n_ranges = rv.n;
	kt->prefixes = kv.v;
	kt->n_prefixes = kv.n;
	return 0;
}

