/* Selector results kept across compiles (see match_cache.h). */
#include "match_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

struct pal_memo_entry {
	char *origin;
	void *v; /* sorted, unique; NULL when n is 0 */
	size_t n;
	bool used; /* asked for by the current compile */
};

static void memo_clear(struct pal_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].origin);
		free(m->v[i].v);
	}
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof(*m));
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
	if (!key || !c->keyed || memcmp(c->key, key, sizeof(c->key)) != 0) {
		memo_clear(&c->sets);
		memo_clear(&c->port_sets);
		c->keyed = key != NULL;
		if (key)
			memcpy(c->key, key, sizeof(c->key));
	}
	for (size_t i = 0; i < c->sets.n; i++)
		c->sets.v[i].used = false;
	for (size_t i = 0; i < c->port_sets.n; i++)
		c->port_sets.v[i].used = false;
}

int pal_match_cache_get(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			size_t elem_size, void **v, size_t *n)
{
	long i = c->keyed ? memo_find(m, origin) : -1;
	struct pal_memo_entry *e;

	*v = NULL;
	*n = 0;
	if (i < 0) {
		c->misses++;
		return 0;
	}
	e = &m->v[i];
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

int pal_match_cache_put(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			const void *v, size_t n, size_t elem_size)
{
	struct pal_memo_entry e = { .n = n, .used = true };

	if (!c->keyed || memo_find(m, origin) >= 0)
		return 0;
	if ((m->n + 1) * 2 > m->n_slots && memo_reindex(m, m->n_slots ? m->n_slots * 2 : 64))
		return -ENOMEM;
	if (vec_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v)) ||
	    !(e.origin = strdup(origin)) || (n && !(e.v = malloc(n * elem_size)))) {
		free(e.origin);
		return -ENOMEM;
	}
	if (n)
		memcpy(e.v, v, n * elem_size);
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
		free(m->v[i].origin);
		free(m->v[i].v);
	}
	if (kept == m->n)
		return;
	m->n = kept;
	if (memo_reindex(m, m->n_slots))
		memo_clear(m); /* out of memory: an empty cache is a correct one */
}

void pal_match_cache_end(struct pal_match_cache *c)
{
	memo_sweep(&c->sets);
	memo_sweep(&c->port_sets);
}

void pal_match_cache_free(struct pal_match_cache *c)
{
	memo_clear(&c->sets);
	memo_clear(&c->port_sets);
	memset(c, 0, sizeof(*c));
}
