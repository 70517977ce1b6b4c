/* Narrowing down the objects that do not fit the datapath (see narrow.h). */
#include "narrow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

int pal_narrow_start(struct pal_narrow *nw, size_t n, unsigned max_tries)
{
	memset(nw, 0, sizeof(*nw));
	if (!n || max_tries < 3)
		return -EINVAL;
	if (!(nw->fit = calloc(n, sizeof(*nw->fit))))
		return -ENOMEM;
	nw->n = n;
	nw->max_tries = max_tries;
	nw->phase = PAL_NARROW_BASELINE;
	return 0;
}

bool pal_narrow_trying(const struct pal_narrow *nw)
{
	return nw->phase == PAL_NARROW_BASELINE || nw->phase == PAL_NARROW_GROUP ||
	       nw->phase == PAL_NARROW_FINAL;
}

bool pal_narrow_includes(const struct pal_narrow *nw, size_t i)
{
	if (i >= nw->n || nw->phase == PAL_NARROW_BASELINE)
		return false;
	if (nw->fit[i] == PAL_NARROW_FITS)
		return true;
	return nw->phase == PAL_NARROW_GROUP && i >= nw->cur.lo && i < nw->cur.hi;
}

static int push(struct pal_narrow *nw, struct pal_narrow_group g)
{
	if (vec_grow((void **)&nw->stack, &nw->cap_stack, nw->n_stack + 1, sizeof(*nw->stack)))
		return -ENOMEM;
	nw->stack[nw->n_stack++] = g;
	return 0;
}

/* lo..hi-1 does not fit on top of the accepted objects: one object is found; more are split,
 * the first half to be tried first. */
static int failed(struct pal_narrow *nw, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (hi - lo == 1) {
		nw->fit[lo] = PAL_NARROW_NO_FIT;
		return 0;
	}
	if (push(nw, (struct pal_narrow_group){ mid, hi, true, lo }))
		return -ENOMEM;
	return push(nw, (struct pal_narrow_group){ lo, mid, false, 0 });
}

/* No more groups: the accepted objects are in force when the last try fitted, else one more. */
static void finish(struct pal_narrow *nw)
{
	nw->phase = nw->last_fitted ? PAL_NARROW_DONE : PAL_NARROW_FINAL;
}

/* The next group worth a try, resolving without a try those known to fail. */
static int next_group(struct pal_narrow *nw)
{
	while (nw->n_stack) {
		struct pal_narrow_group g = nw->stack[--nw->n_stack];

		if (g.after_sibling && nw->last_fitted && nw->phase == PAL_NARROW_GROUP &&
		    nw->cur.lo == g.sibling_lo && nw->cur.hi == g.lo) {
			if (failed(nw, g.lo, g.hi))
				goto nomem;
			continue;
		}
		/* a group try and, should it fail, the final one */
		if (nw->tries + 2 > nw->max_tries) {
			nw->n_stack++; /* left untried */
			break;
		}
		nw->cur = g;
		nw->phase = PAL_NARROW_GROUP;
		return 0;
	}
	finish(nw);
	return 0;
nomem:
	finish(nw);
	return -ENOMEM;
}

int pal_narrow_result(struct pal_narrow *nw, bool fitted)
{
	nw->tries++;
	nw->last_fitted = fitted;
	switch (nw->phase) {
	case PAL_NARROW_BASELINE:
		if (!fitted) {
			nw->phase = PAL_NARROW_GAVE_UP;
			return 0;
		}
		/* every object together is what failed */
		if (failed(nw, 0, nw->n)) {
			finish(nw);
			return -ENOMEM;
		}
		return next_group(nw);
	case PAL_NARROW_GROUP:
		if (fitted)
			for (size_t i = nw->cur.lo; i < nw->cur.hi; i++)
				nw->fit[i] = PAL_NARROW_FITS;
		else if (failed(nw, nw->cur.lo, nw->cur.hi)) {
			finish(nw);
			return -ENOMEM;
		}
		return next_group(nw);
	case PAL_NARROW_FINAL:
		nw->phase = fitted ? PAL_NARROW_DONE : PAL_NARROW_GAVE_UP;
		return 0;
	default:
		return 0;
	}
}

void pal_narrow_free(struct pal_narrow *nw)
{
	free(nw->fit);
	free(nw->stack);
	memset(nw, 0, sizeof(*nw));
}
