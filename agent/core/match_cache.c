/* Selector results kept across compiles (see match_cache.h). */
#include "match_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

struct pal_memo_entry {
	char *origin;
	void *v; /* the result: sorted, unique; NULL when n is 0 */
	size_t n;
	struct pal_match_member *members; /* sorted by ident */
	size_t n_members;
	void *contrib; /* the members' elements, in the members' order */
	size_t n_contrib;
	uint32_t epoch; /* matched against the candidates of the compile with this epoch */
	bool used;      /* asked for by the current compile */
};

static void entry_free(struct pal_memo_entry *e)
{
	free(e->origin);
	free(e->v);
	free(e->members);
	free(e->contrib);
}

static void memo_clear(struct pal_memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		entry_free(&m->v[i]);
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* Every entry and what they were matched against. */
static void cache_empty(struct pal_match_cache *c)
{
	memo_clear(&c->sets);
	memo_clear(&c->port_sets);
	free(c->cands);
	c->cands = NULL;
	c->n_cands = 0;
	c->have_cands = false;
}

static long memo_find(const struct pal_memo *m, const char *origin)
{
	if (!m->n_slots)
		return -1;
	for (size_t i = pal_str_hash(origin) & (m->n_slots - 1);; i = (i + 1) & (m->n_slots - 1)) {
		if (!m->slots[i])
			return -1;
		if (strcmp(m->v[m->slots[i] - 1].origin, origin) == 0)
			return m->slots[i] - 1;
	}
}

/* Rebuilds the slots for n_slots (a power of two, at least twice the entries). */
static int memo_reindex(struct pal_memo *m, size_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t e = 0; e < m->n; e++) {
		size_t j = pal_str_hash(m->v[e].origin) & (n_slots - 1);

		while (slots[j])
			j = (j + 1) & (n_slots - 1);
		slots[j] = (uint32_t)e + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->n_slots = n_slots;
	return 0;
}

void pal_match_cache_begin(struct pal_match_cache *c, const uint8_t *key)
{
	bool same = key && c->keyed && memcmp(c->key, key, sizeof(c->key)) == 0;

	if (!key || c->open)
		cache_empty(c);
	c->keyed = key != NULL;
	if (key)
		memcpy(c->key, key, sizeof(c->key));
	c->open = true;
	c->off = false;
	c->need_diff = key && (!same || !c->have_cands);
	free(c->changed);
	c->changed = NULL;
	c->n_changed = 0;
	c->epoch++;
	for (size_t i = 0; i < c->sets.n; i++)
		c->sets.v[i].used = false;
	for (size_t i = 0; i < c->port_sets.n; i++)
		c->port_sets.v[i].used = false;
}

bool pal_match_cache_needs_diff(const struct pal_match_cache *c)
{
	return c->keyed && c->need_diff;
}

static int cand_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct pal_match_cand *)a)->ident;
	uint64_t y = ((const struct pal_match_cand *)b)->ident;

	return x < y ? -1 : x > y;
}

static int push_change(struct pal_match_cache *c, size_t *cap, uint64_t ident, uint32_t ref)
{
	if (vec_grow((void **)&c->changed, cap, c->n_changed + 1, sizeof(*c->changed)))
		return -ENOMEM;
	c->changed[c->n_changed++] = (struct pal_match_change){ .ident = ident, .ref = ref };
	return 0;
}

/* Merges the sorted old and new candidates into c->changed (sorted by ident). */
static int list_changes(struct pal_match_cache *c, const struct pal_match_cand *cur, size_t n)
{
	const struct pal_match_cand *old = c->cands;
	size_t i = 0, j = 0, cap = 0, n_old = c->have_cands ? c->n_cands : 0;
	int err = 0;

	while (!err && (i < n_old || j < n)) {
		if (j == n || (i < n_old && old[i].ident < cur[j].ident))
			err = push_change(c, &cap, old[i++].ident, PAL_MATCH_GONE);
		else if (i == n_old || cur[j].ident < old[i].ident)
			err = push_change(c, &cap, cur[j].ident, cur[j].ref), j++;
		else {
			if (memcmp(old[i].digest, cur[j].digest, PAL_MATCH_DIGEST_LEN) != 0)
				err = push_change(c, &cap, cur[j].ident, cur[j].ref);
			i++;
			j++;
		}
	}
	return err;
}

int pal_match_cache_diff(struct pal_match_cache *c, struct pal_match_cand *cur, size_t n,
			 struct pal_match_change **changed, size_t *n_changed)
{
	struct pal_match_cand *keep = NULL;

	*changed = NULL;
	*n_changed = 0;
	c->need_diff = false;
	if (n > 1) /* cur is NULL with no candidates: qsort's base must not be (UBSan) */
		qsort(cur, n, sizeof(*cur), cand_cmp);
	for (size_t i = 1; i < n; i++)
		if (cur[i].ident == cur[i - 1].ident) { /* members could not be told apart */
			cache_empty(c);
			c->off = true;
			return 0;
		}
	/* Without cands the cache holds no entry: nothing to bring up to date. */
	if ((n && !(keep = malloc(n * sizeof(*keep)))) || (c->have_cands && list_changes(c, cur, n))) {
		free(keep);
		cache_empty(c);
		c->off = true;
		return -ENOMEM;
	}
	if (n)
		memcpy(keep, cur, n * sizeof(*keep));
	free(c->cands);
	c->cands = keep;
	c->n_cands = n;
	c->have_cands = true;
	*changed = c->changed;
	*n_changed = c->n_changed;
	return 0;
}

/* The members and elements an entry gets from this compile's changes (see match_cache.h). */
struct rebuilt {
	struct pal_match_member *members;
	size_t n_members, cap_members;
	uint8_t *contrib;
	size_t n_contrib, cap_contrib;
	bool changed;
};

static int rebuilt_add(struct rebuilt *r, size_t elem, uint64_t ident, const void *el, size_t n)
{
	if (vec_grow((void **)&r->members, &r->cap_members, r->n_members + 1, sizeof(*r->members)) ||
	    vec_grow((void **)&r->contrib, &r->cap_contrib, r->n_contrib + n, elem))
		return -ENOMEM;
	r->members[r->n_members++] = (struct pal_match_member){ .ident = ident, .n = (uint32_t)n };
	memcpy(r->contrib + r->n_contrib * elem, el, n * elem);
	r->n_contrib += n;
	return 0;
}

static int rebuild(const struct pal_match_cache *c, const struct pal_memo_entry *e, size_t elem,
		   pal_match_contrib_fn contrib, void *ctx, struct rebuilt *r,
		   uint64_t *rematched)
{
	const uint8_t *old = e->contrib;
	size_t i = 0, j = 0, off = 0;
	int err = 0;

	while (!err && (i < e->n_members || j < c->n_changed)) {
		const struct pal_match_change *ch = j < c->n_changed ? &c->changed[j] : NULL;

		if (!ch || (i < e->n_members && e->members[i].ident < ch->ident)) {
			err = rebuilt_add(r, elem, e->members[i].ident, old + off * elem,
					  e->members[i].n);
			off += e->members[i++].n;
			continue;
		}
		if (i < e->n_members && e->members[i].ident == ch->ident) {
			off += e->members[i++].n; /* its old elements go */
			r->changed = true;
		}
		if (ch->ref != PAL_MATCH_GONE) {
			const void *el = NULL;
			size_t n = 0;

			(*rematched)++;
			if (!(err = contrib(ctx, ch->ref, &el, &n)) && n) {
				err = rebuilt_add(r, elem, ch->ident, el, n);
				r->changed = true;
			}
		}
		j++;
	}
	return err;
}

/* The entry's members and elements become r's (r keeps nothing). */
static void take_members(struct pal_memo_entry *e, struct rebuilt *r)
{
	free(e->members);
	free(e->contrib);
	e->members = pal_take(&r->members);
	e->n_members = r->n_members;
	e->contrib = pal_take(&r->contrib);
	e->n_contrib = r->n_contrib;
}

/* The result of contrib's n elements: a sorted, unique copy. */
static int result_of(const void *contrib, size_t n, size_t elem,
		     int (*cmp)(const void *, const void *), void **v, size_t *n_out)
{
	*v = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	if (!(*v = malloc(n * elem)))
		return -ENOMEM;
	memcpy(*v, contrib, n * elem);
	*n_out = pal_sort_unique(*v, n, elem, cmp);
	return 0;
}

/* Brings entry e up to this compile's candidates. */
static int refresh(struct pal_match_cache *c, struct pal_memo_entry *e, size_t elem,
		   int (*cmp)(const void *, const void *), pal_match_contrib_fn contrib, void *ctx)
{
	struct rebuilt r = { 0 };
	void *v;
	size_t n;
	int err = c->n_changed ? rebuild(c, e, elem, contrib, ctx, &r, &c->rematched) : 0;

	if (!err && r.changed && !(err = result_of(r.contrib, r.n_contrib, elem, cmp, &v, &n))) {
		free(e->v);
		e->v = v;
		e->n = n;
		take_members(e, &r);
	}
	free(r.members);
	free(r.contrib);
	if (!err)
		e->epoch = c->epoch;
	return err;
}

int pal_match_cache_get(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			size_t elem_size, int (*cmp)(const void *, const void *),
			pal_match_contrib_fn contrib, void *ctx, void **v, size_t *n)
{
	long i = c->keyed && !c->off && !c->need_diff ? memo_find(m, origin) : -1;
	struct pal_memo_entry *e;
	int err;

	*v = NULL;
	*n = 0;
	if (i < 0) {
		c->misses++;
		return 0;
	}
	e = &m->v[i];
	if (e->epoch != c->epoch && (err = refresh(c, e, elem_size, cmp, contrib, ctx)))
		return err;
	if (e->n) {
		if (!(*v = malloc(e->n * elem_size)))
			return -ENOMEM;
		memcpy(*v, e->v, e->n * elem_size);
	}
	*n = e->n;
	e->used = true;
	c->hits++;
	return 1;
}

static int member_cmp(const void *a, const void *b, void *ctx)
{
	const struct pal_match_member *m = ctx;
	uint64_t x = m[*(const uint32_t *)a].ident, y = m[*(const uint32_t *)b].ident;

	return x < y ? -1 : x > y;
}

/* members (any order) and their elements, as an entry keeps them: sorted by ident. */
static int entry_members(struct pal_memo_entry *e, size_t elem,
			 const struct pal_match_member *members, size_t n_members,
			 const uint8_t *contrib, size_t n_contrib)
{
	size_t *at = n_members ? malloc(n_members * sizeof(*at)) : NULL;
	uint32_t *order = n_members ? malloc(n_members * sizeof(*order)) : NULL;
	struct rebuilt r = { 0 };
	int err = 0;

	if (n_members && (!at || !order)) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0, off = 0; i < n_members; off += members[i++].n) {
		at[i] = off;
		order[i] = (uint32_t)i;
	}
	if (n_members)
		qsort_r(order, n_members, sizeof(*order), member_cmp, (void *)members);
	for (size_t i = 0; !err && i < n_members; i++) {
		const struct pal_match_member *mb = &members[order[i]];

		if (i && mb->ident == members[order[i - 1]].ident)
			err = -EEXIST; /* two candidates, one ident: not kept */
		else
			err = rebuilt_add(&r, elem, mb->ident, contrib + at[order[i]] * elem, mb->n);
	}
	if (!err && r.n_contrib != n_contrib)
		err = -EINVAL;
	if (!err)
		take_members(e, &r);
out:
	free(r.members);
	free(r.contrib);
	free(at);
	free(order);
	return err;
}

int pal_match_cache_put(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			size_t elem_size, int (*cmp)(const void *, const void *),
			const struct pal_match_member *members, size_t n_members, const void *contrib,
			size_t n_contrib)
{
	struct pal_memo_entry e = { .used = true, .epoch = c->epoch };
	int err;

	if (!c->keyed || c->off || c->need_diff || memo_find(m, origin) >= 0)
		return 0;
	if ((m->n + 1) * 2 > m->n_slots && memo_reindex(m, m->n_slots ? m->n_slots * 2 : 64))
		return -ENOMEM;
	if (vec_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v)) ||
	    !(e.origin = strdup(origin)))
		return -ENOMEM;
	err = entry_members(&e, elem_size, members, n_members, contrib, n_contrib);
	if (!err)
		err = result_of(e.contrib, e.n_contrib, elem_size, cmp, &e.v, &e.n);
	if (err) {
		entry_free(&e);
		return err == -ENOMEM ? err : 0;
	}
	m->v[m->n++] = e;
	size_t j = pal_str_hash(origin) & (m->n_slots - 1);

	while (m->slots[j])
		j = (j + 1) & (m->n_slots - 1);
	m->slots[j] = (uint32_t)m->n;
	return 0;
}

/* Keeps the used entries, in order, and indexes them again. */
static void memo_sweep(struct pal_memo *m)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].used) {
			m->v[kept++] = m->v[i];
			continue;
		}
		entry_free(&m->v[i]);
	}
	if (kept == m->n)
		return;
	m->n = kept;
	if (memo_reindex(m, m->n_slots))
		memo_clear(m); /* out of memory: an empty cache is a correct one */
}

void pal_match_cache_end(struct pal_match_cache *c)
{
	c->open = false;
	/* Not diffed although the candidates may have changed (no set was asked for): no entry was
	 * used, and cands may not describe this compile's candidates. Off: nothing may stay. */
	if (c->need_diff || c->off) {
		cache_empty(c);
		c->need_diff = false;
	}
	memo_sweep(&c->sets);
	memo_sweep(&c->port_sets);
	free(c->changed);
	c->changed = NULL;
	c->n_changed = 0;
}

void pal_match_cache_free(struct pal_match_cache *c)
{
	cache_empty(c);
	free(c->changed);
	memset(c, 0, sizeof(*c));
}
