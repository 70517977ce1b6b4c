/* The growable array: any struct with `v` (the elements), `n` (how many) and `cap` (room for).
 * vec_grow makes room for n and returns -ENOMEM when it cannot. vec_reserve and VEC_PUSH (append
 * one) unwind on out of memory instead (oom.h), for code without error paths under a frame that
 * catches it (the loader's decoders). */
#ifndef PALISADE_VEC_H
#define PALISADE_VEC_H

#include <stddef.h>
#include <stdint.h>

#define vec_grow pal_vec_grow
#define vec_reserve pal_vec_reserve

/* Grows *v (element size sz) so that n elements fit, doubling from 4; *cap is updated.
 * vec_grow: 0, or -ENOMEM with *v and *cap unchanged. vec_reserve: unwinds instead. */
int vec_grow(void **v, size_t *cap, size_t n, size_t sz);
void vec_reserve(void **v, size_t *cap, size_t n, size_t sz);
/* Sorts v[n] (element size sz) with cmp and keeps the first of each run of equal elements;
 * returns how many are left. */
size_t pal_sort_unique(void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *));
/* FNV-1a of a string, for the open-addressing tables keyed by origin strings. */
uint32_t pal_str_hash(const char *s);
/* Ownership moved out of a pointer: returns *pp (a pointer to any pointer) and leaves NULL
 * behind, so the old owner's free finds nothing. */
static inline void *pal_take(void *pp)
{
	void **p = pp;
	void *v = *p;

	*p = NULL;
	return v;
}
#define VEC_PUSH(vec, item)                                                                   \
	do {                                                                                  \
		vec_reserve((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v));    \
		(vec).v[(vec).n++] = (item);                                                  \
	} while (0)

#endif
