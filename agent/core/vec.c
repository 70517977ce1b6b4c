/* The growable array (vec.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

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
	while (c < n)
		c *= 2;
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
