/* Stable rule ids across compiles (see rule_ids.h). */
#include "rule_ids.h"
#include "vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pal_rule_identity(char *buf, size_t len, const char *kind, const char *tier, const char *ns,
		       const char *name, const char *dir, uint32_t index)
{
	/* \x1f (unit separator) cannot occur in resource names */
	snprintf(buf, len, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%u", kind, tier ? tier : "", ns ? ns : "",
		 name, dir, index);
}

void pal_rule_ids_begin(struct pal_rule_ids *t)
{
	t->round++;
}

/* Index of the first entry >= identity. */
static size_t lower_bound(const struct pal_rule_ids *t, const char *identity)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].identity, identity) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inserts identity with id at position at (the table stays sorted). 0 or -ENOMEM. */
static int insert(struct pal_rule_ids *t, size_t at, const char *identity, uint32_t id)
{
	char *copy;

	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)))
		return -ENOMEM;
	if (!(copy = strdup(identity)))
		return -ENOMEM;
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(*t->v));
	t->n++;
	t->v[at] = (struct pal_rule_id_entry){ copy, id, t->round };
	return 0;
}

int pal_rule_ids_get(struct pal_rule_ids *t, const char *identity, uint32_t *id)
{
	size_t at = lower_bound(t, identity);
	int err;

	if (at < t->n && strcmp(t->v[at].identity, identity) == 0) {
		t->v[at].round = t->round;
		*id = t->v[at].id;
		return 0;
	}
	*id = t->n_free ? t->free_ids[t->n_free - 1] : t->next;
	if ((err = insert(t, at, identity, *id)))
		return err;
	if (t->n_free)
		t->n_free--;
	else
		t->next++;
	return 0;
}

int pal_rule_ids_seed(struct pal_rule_ids *t, const char *identity, uint32_t id)
{
	size_t at = lower_bound(t, identity);
	int err;

	if (at < t->n && strcmp(t->v[at].identity, identity) == 0)
		return -EEXIST;
	if ((err = insert(t, at, identity, id)))
		return err;
	if (id >= t->next)
		t->next = id + 1;
	return 0;
}

int pal_rule_ids_seed_done(struct pal_rule_ids *t)
{
	uint8_t *used = calloc(t->next ? t->next : 1, 1);
	size_t n_free = 0;
	uint32_t *f;

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		used[t->v[i].id] = 1;
	for (uint32_t id = 0; id < t->next; id++)
		n_free += !used[id];
	f = realloc(t->free_ids, (n_free ? n_free : 1) * sizeof(*f));
	if (!f) {
		free(used);
		return -ENOMEM;
	}
	t->free_ids = f;
	t->n_free = 0;
	for (uint32_t id = t->next; id-- > 0;) /* descending: the lowest is popped first */
		if (!used[id])
			t->free_ids[t->n_free++] = id;
	free(used);
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

int pal_rule_ids_end(struct pal_rule_ids *t)
{
	size_t gone = 0, k = 0;
	uint32_t *f;

	for (size_t i = 0; i < t->n; i++)
		gone += t->v[i].round != t->round;
	if (!gone)
		return 0;
	f = realloc(t->free_ids, (t->n_free + gone) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	t->free_ids = f;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].round != t->round) {
			t->free_ids[t->n_free++] = t->v[i].id;
			free(t->v[i].identity);
		} else {
			t->v[k++] = t->v[i];
		}
	}
	t->n = k;
	/* the lowest free id is reused first: ids stay compact */
	qsort(t->free_ids, t->n_free, sizeof(*t->free_ids), cmp_desc);
	return 0;
}

void pal_rule_ids_free(struct pal_rule_ids *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].identity);
	free(t->v);
	free(t->free_ids);
	memset(t, 0, sizeof(*t));
}
