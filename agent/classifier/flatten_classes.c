/* The flattener's class machinery, shared by every field: the satisfied-entry set of the current
 * key region ("spec": a dense bitmap plus the list of its non-zero words, so emitting a class costs
 * the size of what it stores), interning classes by content (equal bitmaps share one class id), and
 * turning the interned classes into a field's bitmaps (overrides, summaries, anchor summaries). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flatten_internal.h"
#include "vec.h"

/* qsort, which must not see a NULL base even for zero elements. */
void fl_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ---- dense bitmap with the list of its non-zero words ---- */

static int bits_init(struct fl_bits *b, uint32_t n_words)
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

static void bits_free(struct fl_bits *b)
{
	free(b->w);
	free(b->nz);
	free(b->nz_pos);
}

void fl_bits_put(struct fl_bits *b, uint32_t i, bool v)
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

static int classes_grow_tab(struct fl_classes *c)
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
int fl_classes_intern(struct fl_classes *c, struct fl_bits *spec, uint32_t *id)
{
	uint32_t k = spec->n_nz;
	uint64_t h = 0x51ed;
	int err;

	fl_sort(spec->nz, k, sizeof(*spec->nz), cmp_u32);
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
	/* room for class n: its hash, and start[] one longer than the classes (class n ends there) */
	if (vec_grow((void **)&c->start, &c->cap_start, (size_t)c->n + 2, sizeof(*c->start)) ||
	    vec_grow((void **)&c->hash, &c->cap_hash, (size_t)c->n + 1, sizeof(*c->hash)) ||
	    vec_grow((void **)&c->ow, &c->cap_ow, c->n_ovr + k, sizeof(*c->ow)) ||
	    vec_grow((void **)&c->ob, &c->cap_ob, c->n_ovr + k, sizeof(*c->ob)))
		return -ENOMEM;
	if (c->n == 0)
		c->start[0] = 0;
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
static int classes_finish(struct fl_classes *c, struct pal_cls_bitmaps *bm, uint32_t n_words,
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
	bm->ovr_start = pal_take(&c->start);
	bm->ovr_word = pal_take(&c->ow);
	bm->ovr_bits = pal_take(&c->ob);
	bm->n_ovr = c->n_ovr;
	return 0;
}

static void classes_free(struct fl_classes *c)
{
	free(c->start);
	free(c->ow);
	free(c->ob);
	free(c->hash);
	free(c->tab);
}

/* ---- per-field work area ---- */

int fl_work_init(struct fl_field_work *w, struct fl_ctx *ctx, enum pal_cls_field f)
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

int fl_work_finish(struct fl_field_work *w)
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

void fl_work_free(struct fl_field_work *w)
{
	bits_free(&w->spec);
	classes_free(&w->cls);
	free(w->base);
}

