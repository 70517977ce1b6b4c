/* Label sets: a sorted array of owned key/value strings.
 *
 * Label sets are small (a handful to a few dozen labels), built once when the model is loaded and
 * then read many times by selector evaluation, so a sorted array with binary search beats a hash
 * table on both memory and lookup cost.
 *
 * The setters return void (see labels.h), so running out of memory is fatal here: the agent cannot
 * build a correct model without its labels, and silently dropping one would change which policy
 * applies to an endpoint.
 */
#include "labels.h"
#include "oom.h"
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *labels_strdup(const char *s)
{
	return pal_or_unwind(strdup(s));
}

/* Index of key when found (*found = true), else the index where it would be inserted. */
static size_t labels_find(const struct pal_labels *l, const char *key, bool *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].key, key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Sets key to value; copy: strdup both (the set owns them), else store the pointers. */
static void labels_put(struct pal_labels *l, const char *key, const char *value, bool copy)
{
	bool found;
	size_t i = labels_find(l, key, &found);

	if (found) {
		char *nv = copy ? labels_strdup(value) : (char *)value;

		if (copy)
			free(l->v[i].value);
		l->v[i].value = nv;
		return;
	}
	vec_reserve((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(l->v[0]));
	l->v[i].key = copy ? labels_strdup(key) : (char *)key;
	l->v[i].value = copy ? labels_strdup(value) : (char *)value;
	l->n++;
}

void pal_labels_set(struct pal_labels *l, const char *key, const char *value)
{
	labels_put(l, key, value, true);
}

void pal_labels_set_borrowed(struct pal_labels *l, const char *key, const char *value)
{
	labels_put(l, key, value, false);
}

void pal_labels_merge_borrowed(struct pal_labels *dst, const struct pal_labels *src)
{
	for (size_t i = 0; i < src->n; i++)
		labels_put(dst, src->v[i].key, src->v[i].value, false);
}

void pal_labels_free_borrowed(struct pal_labels *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

const char *pal_labels_get(const struct pal_labels *l, const char *key)
{
	bool found;
	size_t i;

	if (!l || l->n == 0)
		return NULL;
	i = labels_find(l, key, &found);
	return found ? l->v[i].value : NULL;
}

void pal_labels_merge(struct pal_labels *dst, const struct pal_labels *src)
{
	for (size_t i = 0; i < src->n; i++)
		pal_labels_set(dst, src->v[i].key, src->v[i].value);
}

void pal_labels_copy(struct pal_labels *dst, const struct pal_labels *src)
{
	pal_labels_free(dst);
	pal_labels_merge(dst, src);
}

void pal_labels_free(struct pal_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
