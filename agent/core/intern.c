/* Interned strings (see intern.h): an open-addressing hash set (linear probing, deletion by
 * shifting back) of reference-counted copies. */
#include "intern.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct istr {
	uint32_t refs;
	uint32_t hash;
	char s[];
};

static struct {
	struct istr **slot; /* cap slots, NULL = empty; cap a power of two */
	size_t cap, n;
} tab;

static uint32_t hash_of(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct istr *of(const char *p)
{
	return (struct istr *)(p - offsetof(struct istr, s));
}

/* The slot of s (hash h): where it is, or the empty slot where it would go. */
static size_t find(const char *s, uint32_t h)
{
	size_t i = h & (tab.cap - 1);

	while (tab.slot[i] && (tab.slot[i]->hash != h || strcmp(tab.slot[i]->s, s)))
		i = (i + 1) & (tab.cap - 1);
	return i;
}

/* Keeps the table at most half full. 0 or -1 (out of memory; the table is unchanged). */
static int grow(void)
{
	size_t cap = tab.cap ? tab.cap * 2 : 256;
	struct istr **old = tab.slot, **slot = calloc(cap, sizeof(*slot));
	size_t old_cap = tab.cap;

	if (!slot)
		return -1;
	tab.slot = slot;
	tab.cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			tab.slot[find(old[i]->s, old[i]->hash)] = old[i];
	free(old);
	return 0;
}

char *pal_intern(const char *s)
{
	uint32_t h = hash_of(s);
	struct istr *e;
	size_t i, len;

	if ((tab.n + 1) * 2 > tab.cap && grow())
		return NULL;
	i = find(s, h);
	if ((e = tab.slot[i])) {
		e->refs++;
		return e->s;
	}
	len = strlen(s);
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return NULL;
	e->refs = 1;
	e->hash = h;
	memcpy(e->s, s, len + 1);
	tab.slot[i] = e;
	tab.n++;
	return e->s;
}

bool pal_interned(const char *p)
{
	if (!p || !tab.cap)
		return false;
	struct istr *e = tab.slot[find(p, hash_of(p))];

	return e && e->s == p;
}

/* Removes slot i, moving back the entries after it that probed past it. */
static void remove_at(size_t i)
{
	size_t j = i;

	tab.slot[i] = NULL;
	tab.n--;
	for (;;) {
		j = (j + 1) & (tab.cap - 1);
		if (!tab.slot[j])
			return;
		size_t home = tab.slot[j]->hash & (tab.cap - 1);

		/* j's entry may move to i when its home is not in (i, j] (cyclically) */
		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
			tab.slot[i] = tab.slot[j];
			tab.slot[j] = NULL;
			i = j;
		}
	}
}

void pal_intern_put(char *p)
{
	struct istr *e = of(p);
	size_t i;

	if (--e->refs)
		return;
	i = find(p, e->hash);
	remove_at(i);
	free(e);
	if (!tab.n) { /* nothing interned: the table goes too (and leak checkers see nothing) */
		free(tab.slot);
		tab.slot = NULL;
		tab.cap = 0;
	}
}
