/* The address fields (source, destination): the distinct prefixes used by the entries form a tree
 * (prefixes nest or are disjoint); a depth-first walk in sorted order enters and leaves prefixes,
 * keeping per address set the number of its prefixes on the path and per entry the number of its
 * sets that are hit, so each prefix's region (the prefix minus its longer prefixes, what an LPM
 * lookup returns it for) gets its satisfied-entry set with work proportional to the changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten_internal.h"
#include "vec.h"

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

/* Sorts ev[0, n) by cmp_ev. The events come one referenced set after the other (run k, set k, is
 * ev[run[k], run[k + 1])), and each set's prefixes are usually in order already: each run is
 * sorted alone only when it is not, then the runs are merged pairwise, about n log2(runs)
 * comparisons where a sort of the whole array took n log2(n). This sort ran for every list at
 * every apply: with the node's 100 pods bound to 10,000 pods' address sets it was a third of a
 * policy change's CPU. The order is cmp_ev's either way (a total order but for duplicates of one
 * prefix in one set, which are alike). */
static void sort_events(struct addr_ev *ev, size_t n, const size_t *run, size_t n_runs)
{
	struct addr_ev *tmp, *src = ev, *dst;
	size_t *bound, nb = n_runs;

	for (size_t k = 0; k < n_runs; k++)
		for (size_t i = run[k] + 1; i < run[k + 1]; i++)
			if (cmp_ev(&ev[i - 1], &ev[i]) > 0) {
				fl_sort(ev + run[k], run[k + 1] - run[k], sizeof(*ev), cmp_ev);
				break;
			}
	if (n_runs < 2)
		return;
	tmp = malloc(n * sizeof(*tmp));
	bound = malloc((n_runs + 1) * sizeof(*bound));
	if (!tmp || !bound) {
		free(tmp);
		free(bound);
		fl_sort(ev, n, sizeof(*ev), cmp_ev);
		return;
	}
	memcpy(bound, run, (n_runs + 1) * sizeof(*bound));
	dst = tmp;
	while (nb > 1) { /* merge runs 2k and 2k + 1 of src into dst */
		size_t out_nb = 0;

		for (size_t k = 0; k < nb; k += 2) {
			size_t a = bound[k], am = bound[k + 1], b = am,
			       bm = k + 1 < nb ? bound[k + 2] : am, o = a;

			while (a < am && b < bm)
				dst[o++] = cmp_ev(&src[b], &src[a]) < 0 ? src[b++] : src[a++];
			memcpy(dst + o, src + a, (am - a) * sizeof(*dst));
			o += am - a;
			memcpy(dst + o, src + b, (bm - b) * sizeof(*dst));
			bound[out_nb++] = bound[k];
		}
		bound[out_nb] = n;
		nb = out_nb;
		dst = src;
		src = src == ev ? tmp : ev;
	}
	if (src != ev)
		memcpy(ev, src, n * sizeof(*ev));
	free(tmp);
	free(bound);
}

const struct fl_side *fl_side_of(const struct fl_cons *c, int side)
{
	return side ? &c->dst : &c->src;
}

bool fl_addr_constrained(const struct fl_cons *c, int side)
{
	const struct fl_side *s = fl_side_of(c, side);

	return !c->wildcard &&
	       (s->has_exact || (s->ir && (s->ir->n_in_sets || s->ir->n_not_in_sets)));
}

struct addr_state {
	struct fl_field_work *w;
	const struct addr_ref *refs;
	uint32_t *ref_start; /* per set id + 1 */
	uint32_t *set_hits;
	uint32_t *need_pos, *pos_hit, *neg_hit;
};

static void addr_update(struct addr_state *s, uint32_t e)
{
	fl_bits_put(&s->w->spec, e, s->pos_hit[e] == s->need_pos[e] && s->neg_hit[e] == 0);
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
	if (vec_grow((void **)&pv->v, &pv->cap, pv->n + 1, sizeof(*pv->v)))
		return -ENOMEM;
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
	err = fl_classes_intern(&s->w->cls, &s->w->spec, &cls);
	if (!err)
		err = prefix_push(out, &root, cls);
	while (!err && i < hi) {
		size_t j = i;

		while (j < hi && pal_cidr_cmp(&ev[j].cidr, &ev[i].cidr) == 0)
			j++;
		while (sp && !pal_cidr_covers(&ev[stack[sp - 1]].cidr, &ev[i].cidr))
			node_delta(s, ev, stack[--sp], hi, -1);
		node_delta(s, ev, i, hi, +1);
		err = fl_classes_intern(&s->w->cls, &s->w->spec, &cls);
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

int fl_addr_field(struct fl_ctx *ctx, int side)
{
	const struct pal_ir *ir = ctx->ir;
	struct pal_cls_tables *t = ctx->t;
	uint32_t n = t->n_entries;
	struct fl_field_work w;
	struct addr_state s = { .w = &w };
	struct addr_ref *refs = NULL;
	struct addr_ev *ev = NULL;
	struct pal_cidr *exact = NULL;
	struct prefix_vec out = { 0 };
	uint32_t *uniq = NULL;
	size_t n_refs = 0, cap_refs = 0, n_exact = 0, n_ev = 0, cap_ev = 0, n_ids = 0;
	size_t *run = NULL;
	int err;

	err = fl_work_init(&w, ctx, side ? PAL_CLS_F_DST : PAL_CLS_F_SRC);
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
		const struct fl_side *sd = fl_side_of(c, side);

		if (!fl_addr_constrained(c, side)) {
			w.base[e / 64] |= 1ull << (e % 64);
			continue;
		}
		size_t need = (sd->ir ? sd->ir->n_in_sets + sd->ir->n_not_in_sets : 0) + 1;

		if ((err = vec_grow((void **)&refs, &cap_refs, n_refs + need, sizeof(*refs))))
			goto out;
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
	fl_sort(refs, n_refs, sizeof(*refs), cmp_ref);
	/* Renumber the referenced sets densely (the IR may hold far more sets than this list uses,
	 * and the loader flattens many lists of one IR): uniq[dense id] = original id. */
	uniq = malloc((n_refs ? n_refs : 1) * sizeof(*uniq));
	if (!uniq) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < n_refs; r++) {
		if (!n_ids || uniq[n_ids - 1] != refs[r].set)
			uniq[n_ids++] = refs[r].set;
		refs[r].set = (uint32_t)(n_ids - 1);
	}
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
	/* Events: every prefix of every referenced set, set after set (run[id]: where its start). */
	run = malloc((n_ids + 1) * sizeof(*run));
	if (!run) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t id = 0; id < n_ids; id++) {
		uint32_t orig = uniq[id];
		const struct pal_cidr *cv = orig < ir->n_sets ? ir->sets[orig].cidrs :
								&exact[orig - ir->n_sets];
		size_t cn = orig < ir->n_sets ? ir->sets[orig].n : 1;

		if ((err = vec_grow((void **)&ev, &cap_ev, n_ev + cn, sizeof(*ev))))
			goto out;
		run[id] = n_ev;
		for (size_t k = 0; k < cn; k++) {
			ev[n_ev] = (struct addr_ev){ .cidr = cv[k], .set = (uint32_t)id };
			clear_host_bits(&ev[n_ev++].cidr);
		}
	}
	run[n_ids] = n_ev;
	sort_events(ev, n_ev, run, n_ids);
	/* A set listing the same prefix twice must count it once per occurrence symmetrically:
	 * apply and undo use the same events, so duplicates are harmless. */
	for (uint32_t e = 0; e < n; e++)
		if (fl_addr_constrained(&ctx->cons[e], side))
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
	/* Prefixes of any other family value cannot occur (the parser only makes 4 and 6). The walks
	 * push them in order (each family's /0 first, then its sorted events): sorted again only if
	 * not. */
	for (size_t i = 1; i < out.n; i++)
		if (cmp_prefix(&out.v[i - 1], &out.v[i]) > 0) {
			fl_sort(out.v, out.n, sizeof(*out.v), cmp_prefix);
			break;
		}
	err = fl_work_finish(&w);
	if (err)
		goto out;
	t->addr[side] = out.v;
	t->n_addr[side] = out.n;
	out.v = NULL;
out:
	free(out.v);
	free(run);
	free(uniq);
	free(s.ref_start);
	free(s.set_hits);
	free(s.need_pos);
	free(s.pos_hit);
	free(s.neg_hit);
	free(refs);
	free(ev);
	free(exact);
	fl_work_free(&w);
	return err;
}

