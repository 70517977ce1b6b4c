/* Narrowing down the objects whose new versions do not fit the datapath.
 *
 * An apply that fails for want of room (a map full, out of memory) names no object. The objects
 * changed since the last successful apply, numbered 0..n-1, failed together; each try is a full
 * apply of the ones accepted so far plus one group of the others (the rest at their last good
 * versions):
 *  1. the baseline: none of them. It must fit (it is about what is in force), or nothing can be
 *     told and the narrowing gives up.
 *  2. groups, halving (a stack, first halves first): a group that fits is accepted and stays in
 *     every later try; one that does not is split in two, and a single object that does not fit
 *     does not fit. When a group failed and its first half then fitted, its second half on top is
 *     the set that failed: it is split (or found not to fit) without a try.
 *  3. when the last try failed, a final try of the accepted objects alone, so that what the
 *     datapath holds is what the last successful apply put there.
 * At most max_tries applies (baseline and final included); groups not tried by then stay
 * untried. Pure logic over indices: the Kubernetes datastore (datastore.c) maps them to objects.
 */
#ifndef PAL_K8S_NARROW_H
#define PAL_K8S_NARROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pal_narrow_fit { PAL_NARROW_UNTRIED = 0, PAL_NARROW_FITS, PAL_NARROW_NO_FIT };

enum pal_narrow_phase {
	PAL_NARROW_IDLE = 0, /* not started, or freed */
	PAL_NARROW_BASELINE, /* trying none of the objects */
	PAL_NARROW_GROUP,    /* trying the accepted ones and the group cur */
	PAL_NARROW_FINAL,    /* trying the accepted ones alone */
	PAL_NARROW_DONE,     /* the last try fitted: its objects are the ones in force */
	PAL_NARROW_GAVE_UP,  /* the baseline or the final try did not fit */
};

struct pal_narrow_group {
	size_t lo, hi; /* objects lo..hi-1 */
	/* the second half of a group that failed: it fails too when its first half (the objects
	 * sibling_lo..lo-1) has just fitted */
	bool after_sibling;
	size_t sibling_lo;
};

struct pal_narrow {
	size_t n;
	uint8_t *fit; /* enum pal_narrow_fit of each object */
	struct pal_narrow_group *stack;
	size_t n_stack, cap_stack;
	struct pal_narrow_group cur; /* the group of the last group try */
	enum pal_narrow_phase phase;
	unsigned tries, max_tries;
	bool last_fitted; /* the result of the last try */
};

/* Starts with the baseline try. 0; -EINVAL (no objects, or max_tries < 3: no group could be
 * tried); -ENOMEM. */
int pal_narrow_start(struct pal_narrow *nw, size_t n, unsigned max_tries);
/* Whether a try is configured (phase baseline, group or final): apply, then pal_narrow_result. */
bool pal_narrow_trying(const struct pal_narrow *nw);
/* Whether the configured try includes object i's new version. */
bool pal_narrow_includes(const struct pal_narrow *nw, size_t i);
/* The configured try was applied (fitted) or failed for want of room; configures the next one or
 * ends. 0, or -ENOMEM (the stack could not grow: it ends, the rest untried). */
int pal_narrow_result(struct pal_narrow *nw, bool fitted);
void pal_narrow_free(struct pal_narrow *nw);

#endif
