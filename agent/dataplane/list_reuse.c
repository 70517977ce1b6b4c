/* Rule lists by content (list_reuse.h). A node holds a few hundred lists at most (a few per local
 * endpoint): a linear table is enough. */
#include "list_reuse.h"

#include <stdlib.h>
#include <string.h>

#include "vec.h"

bool pal_dp_live_take(struct pal_dp_live_lists *t, const uint8_t *digest, uint32_t *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->v[i].adopted && memcmp(t->v[i].digest, digest, PAL_DP_LIST_DIGEST_LEN) == 0) {
			t->v[i].refs++;
			*id = t->v[i].id;
			return true;
		}
	return false;
}

void pal_dp_live_add(struct pal_dp_live_lists *t, const uint8_t *digest, uint32_t id)
{
	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)))
		return;
	memcpy(t->v[t->n].digest, digest, PAL_DP_LIST_DIGEST_LEN);
	t->v[t->n].id = id;
	t->v[t->n].refs = 1;
	t->v[t->n].adopted = false;
	t->n++;
}

void pal_dp_live_adopt(struct pal_dp_live_lists *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].id == id) {
			t->v[i].refs++;
			return;
		}
	/* Out of memory: not counted, deleted on its first release as before list reuse (only a
	 * list an earlier agent shared could then go early: an interface would lose its lists). */
	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)))
		return;
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].id = id;
	t->v[t->n].refs = 1;
	t->v[t->n].adopted = true;
	t->n++;
}

bool pal_dp_live_release(struct pal_dp_live_lists *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].id != id)
			continue;
		if (--t->v[i].refs)
			return true;
		t->v[i] = t->v[--t->n];
		return false;
	}
	return false;
}

void pal_dp_live_free(struct pal_dp_live_lists *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
