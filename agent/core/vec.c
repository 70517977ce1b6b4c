/* The growable array (vec.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oom.h"
#include "vec.h"

int vec_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t c = *cap;
	void *p;

	if (n <= c)
		return 0;
	if (c == 0)
		c = 4;
	while (c < n) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM; /* doubling would wrap around to 0 and never reach n */
		c *= 2;
	}
	if (c > SIZE_MAX / sz || !(p = realloc(*v, c * sz)))
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

void vec_reserve(void **v, size_t *cap, size_t n, size_t sz)
{
	if (vec_grow(v, cap, n, sz))
		pal_out_of_memory();
}

size_t pal_sort_unique(void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	char *a = v;
	size_t k = 0;

	if (!n)
		return 0;
	qsort(a, n, sz, cmp);
	for (size_t i = 1; i < n; i++)
		if (cmp(a + k * sz, a + i * sz) != 0 && ++k != i)
			memcpy(a + k * sz, a + i * sz, sz);
	return k + 1;
}

uint32_t pal_str_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}
