/* The flattener, part 2: per field, the equivalence classes of key values and their bitmaps.
 *
 * Every field is computed by one sweep, never by testing every rule against every value:
 *   - addresses: the distinct prefixes used by the entries form a tree (prefixes nest or are
 *     disjoint); a depth-first walk in sorted order enters and leaves prefixes, keeping per address
 *     set the number of its prefixes on the path and per entry the number of its sets that are hit,
 *     so each prefix's region gets its satisfied-entry set with work proportional to the changes;
 *   - ports, ICMP type/code and (family, protocol): a sweep over the sorted range boundaries with
 *     per-entry counters of covering positive and negative ranges.
 * The satisfied set of constrained entries ("spec") is a dense bitmap plus the list of its non-zero
 * words, so emitting a class costs the size of what it stores. Classes are interned by content:
 * equal bitmaps share one class id. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten_internal.h"

/* qsort, which must not see a NULL base even for zero elements. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ---- dense bitmap with the list of its non-zero words ---- */

struct bits {
	uint64_t *w;
	uint32_t *nz;     /* indexes of non-zero words, unordered */
	uint32_t *nz_pos; /* position of word j in nz, or UINT32_MAX */
	uint32_t n_nz;
};

static int bits_init(struct bits *b, uint32_t n_words)
{
	size_t n = n_words ? n_words : 1;

	b->w = calloc(n, sizeof(*b->w));
	b->nz = calloc(n, sizeof(*b->nz));
	b->nz_pos = malloc(n * sizeof(*b->nz_pos));
	b->n_nz = 0;
	if (!b->w || !b->nz || !b->nz_pos)
		return -ENOMEM;
	memset(b->nz_pos, 0xff, n * sizeof(*b->nz_pos));
	return 0;
}

static void bits_free(struct bits *b)
{
	free(b->w);
	free(b->nz);
	free(b->nz_pos);
}

static void bits_put(struct bits *b, uint32_t i, bool v)
{
	uint32_t j = i / 64;
	uint64_t m = 1ull << (i % 64);
	bool was_zero = b->w[j] == 0;

	if (v)
		b->w[j] |= m;
	else
		b->w[j] &= ~m;
	if (was_zero && b->w[j]) {
		b->nz_pos[j] = b->n_nz;
		b->nz[b->n_nz++] = j;
	} else if (!was_zero && !b->w[j]) {
		uint32_t p = b->nz_pos[j], last = b->nz[--b->n_nz];

		b->nz[p] = last;
		b->nz_pos[last] = p;
		b->nz_pos[j] = UINT32_MAX;
	}
}

/* ---- class interning ---- */

struct classes {
	const uint64_t *base;
	uint32_t n, cap;
	uint32_t *start; /* n + 1 */
	uint32_t *ow;
	uint64_t *ob;
	size_t n_ovr, cap_ovr;
	uint64_t *hash;  /* per class */
	uint32_t *tab;   /* open addressing: class id + 1, 0 = empty */
	size_t tab_cap;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static int classes_grow_tab(struct classes *c)
{
	size_t ncap = c->tab_cap ? c->tab_cap * 2 : 64;
	uint32_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (uint32_t id = 0; id < c->n; id++) {
		size_t p = c->hash[id] & (ncap - 1);

		while (nt[p])
			p = (p + 1) & (ncap - 1);
		nt[p] = id + 1;
	}
	free(c->tab);
	c->tab = nt;
	c->tab_cap = ncap;
	return 0;
}

/* Interns the class whose bitmap is base | spec; *id is its class id. */
static int classes_intern(struct classes *c, struct bits *spec, uint32_t *id)
{
	uint32_t k = spec->n_nz;
	uint64_t h = 0x51ed;
	int err;

	sort(spec->nz, k, sizeof(*spec->nz), cmp_u32);
	for (uint32_t i = 0; i < k; i++)
		spec->nz_pos[spec->nz[i]] = i;
	for (uint32_t i = 0; i < k; i++)
		h = mix(mix(h, spec->nz[i]), spec->w[spec->nz[i]]);
	h = mix(h, k);
	if ((c->n + 1) * 2 > c->tab_cap) {
		err = classes_grow_tab(c);
		if (err)
			return err;
	}
	size_t p = h & (c->tab_cap - 1);

	for (; c->tab[p]; p = (p + 1) & (c->tab_cap - 1)) {
		uint32_t cid = c->tab[p] - 1, s = c->start[cid];

		if (c->hash[cid] != h || c->start[cid + 1] - s != k)
			continue;
		uint32_t i = 0;

		while (i < k && c->ow[s + i] == spec->nz[i] &&
		       c->ob[s + i] == (c->base[spec->nz[i]] | spec->w[spec->nz[i]]))
			i++;
		if (i == k) {
			*id = cid;
			return 0;
		}
	}
	if (c->n + 2 > c->cap) {
		uint32_t ncap = c->cap ? c->cap * 2 : 64;
		uint32_t *ns = realloc(c->start, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		c->start = ns;
		uint64_t *nh = realloc(c->hash, ncap * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		c->hash = nh;
		c->cap = ncap;
		if (c->n == 0)
			c->start[0] = 0;
	}
	if (c->n_ovr + k > c->cap_ovr) {
		size_t ncap = c->cap_ovr ? c->cap_ovr : 256;

		while (ncap < c->n_ovr + k)
			ncap *= 2;
		uint32_t *now = realloc(c->ow, ncap * sizeof(*now));

		if (!now)
			return -ENOMEM;
		c->ow = now;
		uint64_t *nob = realloc(c->ob, ncap * sizeof(*nob));

		if (!nob)
			return -ENOMEM;
		c->ob = nob;
		c->cap_ovr = ncap;
	}
	for (uint32_t i = 0; i < k; i++) {
		c->ow[c->n_ovr + i] = spec->nz[i];
		c->ob[c->n_ovr + i] = c->base[spec->nz[i]] | spec->w[spec->nz[i]];
	}
	c->n_ovr += k;
	c->hash[c->n] = h;
	c->start[c->n + 1] = (uint32_t)c->n_ovr;
	c->tab[p] = c->n + 1;
	*id = c->n++;
	return 0;
}

/* Moves the interned classes into the field's bitmaps and computes the summaries: `summary` (word
 * non-zero) and `anchor` (word has an entry anchored at this field; anchor_mask has their bits). */
static int classes_finish(struct classes *c, struct pal_cls_bitmaps *bm, uint32_t n_words,
			  uint32_t n_summary, const uint64_t *anchor_mask)
{
	size_t n = (size_t)(c->n ? c->n : 1) * (n_summary ? n_summary : 1);
	uint64_t *sum = calloc(n, sizeof(*sum));
	uint64_t *anc = calloc(n, sizeof(*anc));

	if (!sum || !anc) {
		free(sum);
		free(anc);
		return -ENOMEM;
	}
	for (uint32_t cid = 0; cid < c->n; cid++) {
		uint64_t *s = &sum[(size_t)cid * n_summary], *a = &anc[(size_t)cid * n_summary];

		for (uint32_t j = 0; j < n_words; j++)
			if (c->base[j])
				s[j / 64] |= 1ull << (j % 64);
		for (uint32_t o = c->start[cid]; o < c->start[cid + 1]; o++) {
			s[c->ow[o] / 64] |= 1ull << (c->ow[o] % 64);
			/* anchored entries are constrained here, so never in base: overrides only */
			if (c->ob[o] & anchor_mask[c->ow[o]])
				a[c->ow[o] / 64] |= 1ull << (c->ow[o] % 64);
		}
	}
	bm->n_classes = c->n;
	bm->summary = sum;
	bm->anchor = anc;
	bm->ovr_start = c->start;
	bm->ovr_word = c->ow;
	bm->ovr_bits = c->ob;
	bm->n_ovr = c->n_ovr;
	c->start = NULL;
	c->ow = NULL;
	c->ob = NULL;
	return 0;
}

static void classes_free(struct classes *c)
{
	free(c->start);
	free(c->ow);
	free(c->ob);
	free(c->hash);
	free(c->tab);
}

/* ---- per-field work area ---- */

struct field_work {
	struct fl_ctx *ctx;
	enum pal_cls_field f;
	struct bits spec;
	struct classes cls;
	uint64_t *base;
};

static int work_init(struct field_work *w, struct fl_ctx *ctx, enum pal_cls_field f)
{
	uint32_t nw = ctx->t->n_words ? ctx->t->n_words : 1;

	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->f = f;
	w->base = calloc(nw, sizeof(*w->base));
	if (!w->base)
		return -ENOMEM;
	w->cls.base = w->base;
	return bits_init(&w->spec, nw);
}

static int work_finish(struct field_work *w)
{
	struct pal_cls_tables *t = w->ctx->t;
	int err = classes_finish(&w->cls, &t->bm[w->f], t->n_words, t->n_summary,
				 w->ctx->anchor_mask[w->f]);

	if (!err) {
		t->bm[w->f].base = w->base;
		w->base = NULL;
	}
	return err;
}

static void work_free(struct field_work *w)
{
	bits_free(&w->spec);
	classes_free(&w->cls);
	free(w->base);
}

/* ---- addresses ---- */

struct addr_ref {
	uint32_t set; /* IR set index, or n_sets + k for the k-th exact (named-port) address */
	uint32_t entry;
	bool neg;
};

struct addr_ev {
	struct pal_cidr cidr;
	uint32_t set;
};

/* The parser clears host bits; do it again so that a hand-built IR cannot break the tree. */
static void clear_host_bits(struct pal_cidr *c)
{
	unsigned max = c->addr.family == PAL_AF_INET4 ? 32 : 128;

	if (c->prefix_len > max)
		c->prefix_len = (uint8_t)max;
	for (unsigned i = 0; i < 16; i++) {
		int keep = (int)c->prefix_len - (int)i * 8;

		if (keep <= 0)
			c->addr.bytes[i] = 0;
		else if (keep < 8)
			c->addr.bytes[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static int cmp_ref(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;

	return x->set < y->set ? -1 : x->set > y->set;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct addr_ev *x = a, *y = b;
	int c = pal_cidr_cmp(&x->cidr, &y->cidr);

	if (c)
		return c;
	return x->set < y->set ? -1 : x->set > y->set;
}

static const struct fl_side *side_of(const struct fl_cons *c, int side)
{
	return side ? &c->dst : &c->src;
}

static bool addr_constrained(const struct fl_cons *c, int side)
{
	const struct fl_side *s = side_of(c, side);

	return !c->wildcard &&
	       (s->has_exact || (s->ir && (s->ir->n_in_sets || s->ir->n_not_in_sets)));
}

struct addr_state {
	struct field_work *w;
	const struct addr_ref *refs;
	uint32_t *ref_start; /* per set id + 1 */
	uint32_t *set_hits;
	uint32_t *need_pos, *pos_hit, *neg_hit;
};

static void addr_update(struct addr_state *s, uint32_t e)
{
	bits_put(&s->w->spec, e, s->pos_hit[e] == s->need_pos[e] && s->neg_hit[e] == 0);
}

static void addr_set_delta(struct addr_state *s, uint32_t set, int d)
{
	if (d > 0 ? s->set_hits[set]++ != 0 : --s->set_hits[set] != 0)
		return;
	for (uint32_t r = s->ref_start[set]; r < s->ref_start[set + 1]; r++) {
		const struct addr_ref *ref = &s->refs[r];

		if (ref->neg)
			s->neg_hit[ref->entry] += (uint32_t)d;
		else
			s->pos_hit[ref->entry] += (uint32_t)d;
		addr_update(s, ref->entry);
	}
}

struct prefix_vec {
	struct pal_cls_prefix *v;
	size_t n, cap;
};

static int prefix_push(struct prefix_vec *pv, const struct pal_cidr *c, uint32_t cls)
{
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap ? pv->cap * 2 : 16;
		struct pal_cls_prefix *nv = realloc(pv->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		pv->v = nv;
		pv->cap = ncap;
	}
	pv->v[pv->n].cidr = *c;
	pv->v[pv->n].cls = cls;
	pv->n++;
	return 0;
}

/* Enters (d = +1) or leaves (d = -1) the node whose events start at ev[st]. */
static void node_delta(struct addr_state *s, const struct addr_ev *ev, size_t st, size_t hi, int d)
{
	for (size_t u = st; u < hi && pal_cidr_cmp(&ev[u].cidr, &ev[st].cidr) == 0; u++)
		addr_set_delta(s, ev[u].set, d);
}

/* Walks the prefix tree of one family. ev[lo, hi) are that family's events, sorted. */
static int addr_walk_family(struct addr_state *s, uint8_t family, const struct addr_ev *ev,
			    size_t lo, size_t hi, struct prefix_vec *out)
{
	struct pal_cidr root = { .addr = { .family = family }, .prefix_len = 0 };
	size_t *stack = NULL, sp = 0; /* stack of node starts in ev; a node = equal cidrs */
	uint32_t cls;
	int err = 0;
	size_t i = lo;

	stack = malloc((hi - lo + 1) * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	/* The root: /0 of this family, with the events of a user /0 if any. */
	while (i < hi && ev[i].cidr.prefix_len == 0)
		addr_set_delta(s, ev[i++].set, +1);
	err = classes_intern(&s->w->cls, &s->w->spec, &cls);
	if (!err)
		err = prefix_push(out, &root, cls);
	while (!err && i < hi) {
		size_t j = i;

		while (j < hi && pal_cidr_cmp(&ev[j].cidr, &ev[i].cidr) == 0)
			j++;
		while (sp && !pal_cidr_covers(&ev[stack[sp - 1]].cidr, &ev[i].cidr))
			node_delta(s, ev, stack[--sp], hi, -1);
		node_delta(s, ev, i, hi, +1);
		err = classes_intern(&s->w->cls, &s->w->spec, &cls);
		if (!err)
			err = prefix_push(out, &ev[i].cidr, cls);
		stack[sp++] = i;
		i = j;
	}
	/* Leave every open node and the root, back to the initial state. */
	while (sp)
		node_delta(s, ev, stack[--sp], hi, -1);
	for (size_t u = lo; u < hi && ev[u].cidr.prefix_len == 0; u++)
		addr_set_delta(s, ev[u].set, -1);
	free(stack);
	return err;
}

static int cmp_prefix(const void *a, const void *b)
{
	return pal_cidr_cmp(&((const struct pal_cls_prefix *)a)->cidr,
			    &((const struct pal_cls_prefix *)b)->cidr);
}

static int addr_field(struct fl_ctx *ctx, int side)
{
	const struct pal_ir *ir = ctx->ir;
	struct pal_cls_tables *t = ctx->t;
	uint32_t n = t->n_entries;
	struct field_work w;
	struct addr_state s = { .w = &w };
	struct addr_ref *refs = NULL;
	struct addr_ev *ev = NULL;
	struct pal_cidr *exact = NULL;
	struct prefix_vec out = { 0 };
	size_t n_refs = 0, cap_refs = 0, n_exact = 0, n_ev = 0, cap_ev = 0;
	int err;

	err = work_init(&w, ctx, side ? PAL_CLS_F_DST : PAL_CLS_F_SRC);
	if (err)
		goto out;
	s.need_pos = calloc(n ? n : 1, sizeof(uint32_t));
	s.pos_hit = calloc(n ? n : 1, sizeof(uint32_t));
	s.neg_hit = calloc(n ? n : 1, sizeof(uint32_t));
	exact = calloc(n ? n : 1, sizeof(*exact));
	if (!s.need_pos || !s.pos_hit || !s.neg_hit || !exact) {
		err = -ENOMEM;
		goto out;
	}
	/* References entry -> address set. */
	for (uint32_t e = 0; e < n; e++) {
		const struct fl_cons *c = &ctx->cons[e];
		const struct fl_side *sd = side_of(c, side);

		if (!addr_constrained(c, side)) {
			w.base[e / 64] |= 1ull << (e % 64);
			continue;
		}
		size_t need = (sd->ir ? sd->ir->n_in_sets + sd->ir->n_not_in_sets : 0) + 1;

		if (n_refs + need > cap_refs) {
			size_t ncap = cap_refs ? cap_refs * 2 : 256;

			while (ncap < n_refs + need)
				ncap *= 2;
			struct addr_ref *nr = realloc(refs, ncap * sizeof(*nr));

			if (!nr) {
				err = -ENOMEM;
				goto out;
			}
			refs = nr;
			cap_refs = ncap;
		}
		for (size_t k = 0; sd->ir && k < sd->ir->n_in_sets; k++) {
			refs[n_refs++] = (struct addr_ref){ .set = sd->ir->in_sets[k], .entry = e };
			s.need_pos[e]++;
		}
		for (size_t k = 0; sd->ir && k < sd->ir->n_not_in_sets; k++)
			refs[n_refs++] = (struct addr_ref){ .set = sd->ir->not_in_sets[k], .entry = e,
							    .neg = true };
		if (sd->has_exact) {
			exact[n_exact].addr = sd->exact;
			exact[n_exact].prefix_len = sd->exact.family == PAL_AF_INET4 ? 32 : 128;
			refs[n_refs++] = (struct addr_ref){ .set = (uint32_t)(ir->n_sets + n_exact),
							    .entry = e };
			n_exact++;
			s.need_pos[e]++;
		}
	}
	sort(refs, n_refs, sizeof(*refs), cmp_ref);
	size_t n_ids = ir->n_sets + n_exact;

	s.refs = refs;
	s.ref_start = calloc(n_ids + 1, sizeof(uint32_t));
	s.set_hits = calloc(n_ids + 1, sizeof(uint32_t));
	if (!s.ref_start || !s.set_hits) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < n_refs; r++)
		s.ref_start[refs[r].set + 1]++;
	for (size_t id = 0; id < n_ids; id++)
		s.ref_start[id + 1] += s.ref_start[id];
	/* Events: every prefix of every referenced set. */
	for (size_t id = 0; id < n_ids; id++) {
		if (s.ref_start[id] == s.ref_start[id + 1])
			continue;
		const struct pal_cidr *cv = id < ir->n_sets ? ir->sets[id].cidrs : &exact[id - ir->n_sets];
		size_t cn = id < ir->n_sets ? ir->sets[id].n : 1;

		if (n_ev + cn > cap_ev) {
			size_t ncap = cap_ev ? cap_ev * 2 : 256;

			while (ncap < n_ev + cn)
				ncap *= 2;
			struct addr_ev *ne = realloc(ev, ncap * sizeof(*ne));

			if (!ne) {
				err = -ENOMEM;
				goto out;
			}
			ev = ne;
			cap_ev = ncap;
		}
		for (size_t k = 0; k < cn; k++) {
			ev[n_ev] = (struct addr_ev){ .cidr = cv[k], .set = (uint32_t)id };
			clear_host_bits(&ev[n_ev++].cidr);
		}
	}
	sort(ev, n_ev, sizeof(*ev), cmp_ev);
	/* A set listing the same prefix twice must count it once per occurrence symmetrically:
	 * apply and undo use the same events, so duplicates are harmless. */
	for (uint32_t e = 0; e < n; e++)
		if (addr_constrained(&ctx->cons[e], side))
			addr_update(&s, e);
	size_t lo = 0;
	static const uint8_t fams[2] = { PAL_AF_INET4, PAL_AF_INET6 };

	for (int f = 0; f < 2 && !err; f++) {
		size_t hi = lo;

		while (hi < n_ev && ev[hi].cidr.addr.family == fams[f])
			hi++;
		err = addr_walk_family(&s, fams[f], ev, lo, hi, &out);
		lo = hi;
	}
	if (err)
		goto out;
	/* Prefixes of any other family value cannot occur (the parser only makes 4 and 6). */
	sort(out.v, out.n, sizeof(*out.v), cmp_prefix);
	err = work_finish(&w);
	if (err)
		goto out;
	t->addr[side] = out.v;
	t->n_addr[side] = out.n;
	out.v = NULL;
out:
	free(out.v);
	free(s.ref_start);
	free(s.set_hits);
	free(s.need_pos);
	free(s.pos_hit);
	free(s.neg_hit);
	free(refs);
	free(ev);
	free(exact);
	work_free(&w);
	return err;
}

/* ---- range fields: ports, ICMP, (family, protocol) ---- */

struct rng_ev {
	uint32_t point;
	uint32_t entry;
	int32_t delta;
	bool neg;
};

struct rng_cons {
	bool constrained, none_ok, has_pos;
};

struct rng_vec {
	struct rng_ev *v;
	size_t n, cap;
};

static int rng_add(struct rng_vec *rv, uint32_t entry, uint32_t first, uint32_t last, bool neg)
{
	if (!rv) /* only the constraint's description was asked for */
		return 0;
	if (rv->n + 2 > rv->cap) {
		size_t ncap = rv->cap ? rv->cap * 2 : 256;
		struct rng_ev *nv = realloc(rv->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		rv->v = nv;
		rv->cap = ncap;
	}
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
static int rng_entry(const struct fl_cons *c, enum pal_cls_field f, uint32_t e, struct rng_cons *rc,
		     struct rng_vec *rv)
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

struct range_vec {
	struct pal_cls_range *v;
	size_t n, cap;
};

static int range_push(struct range_vec *rv, uint32_t first, uint32_t last, uint32_t cls)
{
	if (rv->n && rv->v[rv->n - 1].cls == cls) { /* merge equal neighbours */
		rv->v[rv->n - 1].last = (uint16_t)last;
		return 0;
	}
	if (rv->n == rv->cap) {
		size_t ncap = rv->cap ? rv->cap * 2 : 16;
		struct pal_cls_range *nv = realloc(rv->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		rv->v = nv;
		rv->cap = ncap;
	}
	rv->v[rv->n++] = (struct pal_cls_range){ .first = (uint16_t)first, .last = (uint16_t)last,
						 .cls = cls };
	return 0;
}

/* Sweeps range field f over keys 0 .. domain-1: ranges -> classes in *out (merged), and the
 * class of the NONE key in *none_class (when none_class is not NULL). The proto field uses a
 * 9-bit domain, so its ranges' first/last are only meaningful modulo the caller's decoding:
 * it reads *out through proto_out instead. */
static int range_field(struct fl_ctx *ctx, enum pal_cls_field f, uint32_t domain,
		       struct range_vec *out, uint32_t *none_class, uint32_t *proto_out)
{
	uint32_t n = ctx->t->n_entries;
	struct field_work w;
	struct rng_vec rv = { 0 };
	struct rng_cons *rc = NULL;
	uint32_t *pos = NULL, *neg = NULL, cls;
	int err;

	err = work_init(&w, ctx, f);
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
		err = rng_entry(&ctx->cons[e], f, e, &rc[e], &rv);
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
	sort(rv.v, rv.n, sizeof(*rv.v), cmp_rng);
	if (none_class) {
		for (uint32_t e = 0; e < n; e++)
			if (rc[e].constrained && rc[e].none_ok)
				bits_put(&w.spec, e, true);
		err = classes_intern(&w.cls, &w.spec, none_class);
		for (uint32_t e = 0; e < n; e++)
			if (rc[e].constrained && rc[e].none_ok)
				bits_put(&w.spec, e, false);
		if (err)
			goto out;
	}
	for (uint32_t e = 0; e < n; e++)
		if (rc[e].constrained && !rc[e].has_pos)
			bits_put(&w.spec, e, true);
	size_t i = 0;

	for (uint32_t p = 0; p < domain && !err;) {
		for (; i < rv.n && rv.v[i].point == p; i++) {
			const struct rng_ev *v = &rv.v[i];
			uint32_t e = v->entry;

			if (v->neg)
				neg[e] += (uint32_t)v->delta;
			else
				pos[e] += (uint32_t)v->delta;
			bits_put(&w.spec, e, (pos[e] || !rc[e].has_pos) && !neg[e]);
		}
		uint32_t next = i < rv.n ? rv.v[i].point : domain;

		err = classes_intern(&w.cls, &w.spec, &cls);
		if (!err && proto_out)
			for (uint32_t q = p; q < next; q++)
				proto_out[q] = cls;
		if (!err && out)
			err = range_push(out, p, next - 1, cls);
		p = next;
	}
	if (!err)
		err = work_finish(&w);
out:
	free(rv.v);
	free(rc);
	free(pos);
	free(neg);
	work_free(&w);
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
	if (kv->n == kv->cap) {
		size_t ncap = kv->cap ? kv->cap * 2 : 32;
		struct pal_cls_kprefix *nv = realloc(kv->v, ncap * sizeof(*nv));

		if (!nv) {
			kv->err = -ENOMEM;
			return;
		}
		kv->v = nv;
		kv->cap = ncap;
	}
	kv->v[kv->n++] = (struct pal_cls_kprefix){ .value = value, .len = len, .cls = kv->cls };
}

static int key_field(struct fl_ctx *ctx, enum pal_cls_field f, struct pal_cls_keytable *kt)
{
	struct range_vec rv = { 0 };
	struct kp_vec kv = { 0 };
	int err = range_field(ctx, f, 0x10000, &rv, &kt->none_class, NULL);

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

/* ---- anchors ---- */

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
		const struct fl_side *s = side_of(c, f == PAL_CLS_F_DST);

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
	struct rng_cons rc;

	if (f == PAL_CLS_F_SRC || f == PAL_CLS_F_DST)
		return addr_constrained(c, f == PAL_CLS_F_DST);
	(void)rng_entry(c, f, 0, &rc, NULL);
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
		err = addr_field(c, 0);
	if (!err)
		err = addr_field(c, 1);
	if (!err)
		err = range_field(c, PAL_CLS_F_PROTO, 512, NULL, NULL, &t->proto_class[0][0]);
	if (!err)
		err = key_field(c, PAL_CLS_F_SPORT, &t->sport);
	if (!err)
		err = key_field(c, PAL_CLS_F_DPORT, &t->dport);
	if (!err)
		err = key_field(c, PAL_CLS_F_ICMP, &t->icmp);
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		free(c->anchor_mask[f]);
		c->anchor_mask[f] = NULL;
	}
	return err;
}
