/* First-fit range allocator (region.h). O(n) per operation in the number of live ranges, which
 * is the number of live rule lists: small. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "region.h"
#include "vec.h"

void pal_region_init(struct pal_region_alloc *a, uint32_t size)
{
	memset(a, 0, sizeof(*a));
	a->size = size;
}

void pal_region_fini(struct pal_region_alloc *a)
{
	free(a->used);
	memset(a, 0, sizeof(*a));
}

static int insert_at(struct pal_region_alloc *a, size_t i, uint32_t base, uint32_t count)
{
	if (vec_grow((void **)&a->used, &a->cap, a->n + 1, sizeof(*a->used)))
		return -ENOMEM;
	memmove(&a->used[i + 1], &a->used[i], (a->n - i) * sizeof(*a->used));
	a->used[i].base = base;
	a->used[i].count = count;
	a->n++;
	return 0;
}

int pal_region_get(struct pal_region_alloc *a, uint32_t count, uint32_t *base)
{
	uint64_t at = 0;
	size_t i;

	if (count == 0)
		count = 1;
	for (i = 0; i <= a->n; i++) {
		uint64_t end = i < a->n ? a->used[i].base : a->size;

		if (end >= at && end - at >= count) {
			*base = (uint32_t)at;
			return insert_at(a, i, (uint32_t)at, count);
		}
		if (i < a->n)
			at = (uint64_t)a->used[i].base + a->used[i].count;
	}
	return -ENOSPC;
}

int pal_region_mark(struct pal_region_alloc *a, uint32_t base, uint32_t count)
{
	size_t i = 0;

	if (count == 0)
		count = 1;
	if ((uint64_t)base + count > a->size)
		return -ERANGE;
	while (i < a->n && a->used[i].base < base)
		i++;
	if (i > 0 && (uint64_t)a->used[i - 1].base + a->used[i - 1].count > base)
		return -EEXIST;
	if (i < a->n && (uint64_t)base + count > a->used[i].base)
		return -EEXIST;
	return insert_at(a, i, base, count);
}

int pal_region_put(struct pal_region_alloc *a, uint32_t base)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->used[i].base == base) {
			memmove(&a->used[i], &a->used[i + 1], (a->n - i - 1) * sizeof(*a->used));
			a->n--;
			return 0;
		}
	}
	return -ENOENT;
}

uint64_t pal_region_used(const struct pal_region_alloc *a)
{
	uint64_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += a->used[i].count;
	return n;
}
