/* First-fit allocator of index ranges in a BPF array map (pal_words, pal_entries). A list's
 * tables are written into a fresh range and the range is freed only after the list is deleted,
 * so an array slot is never rewritten while a packet may read it. */
#ifndef PALISADE_REGION_H
#define PALISADE_REGION_H

#include <stddef.h>
#include <stdint.h>

struct pal_region {
	uint32_t base, count;
};

struct pal_region_alloc {
	uint32_t size;           /* slots in the array */
	struct pal_region *used; /* sorted by base, disjoint */
	size_t n, cap;
};

void pal_region_init(struct pal_region_alloc *a, uint32_t size);
void pal_region_fini(struct pal_region_alloc *a);
/* Returns 0 and *base, or -ENOSPC / -ENOMEM. count 0 is allocated as 1. */
int pal_region_get(struct pal_region_alloc *a, uint32_t count, uint32_t *base);
/* Marks [base, base+count) used (adopting a pinned datapath). -EEXIST when it overlaps. */
int pal_region_mark(struct pal_region_alloc *a, uint32_t base, uint32_t count);
/* Frees the range starting at base; -ENOENT when none does. */
int pal_region_put(struct pal_region_alloc *a, uint32_t base);
/* Slots in use. */
uint64_t pal_region_used(const struct pal_region_alloc *a);

#endif
