/* Rule lists by content (list_reuse.h). A node holds a few hundred lists at most (a few per local
 * endpoint): a linear table is enough. */
#include "list_reuse.h"

#include <stdlib.h>
#include <string.h>

#include "vec.h"

bool pal_dp_live_take(struct pal_dp_live_lists *t, const uint8_t *digest, uint32_t *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->v[i].digest, digest, PAL_DP_LIST_DIGEST_LEN) == 0) {
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
