/* Narrowing down the Kubernetes objects that do not fit the datapath (agent/k8s/narrow.h): the
 * datapath is modelled as a capacity that the included objects' sizes add up against. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "../../agent/k8s/narrow.h"

struct room {
	const unsigned *size;
	unsigned cap; /* the baseline (what is in force besides these objects) takes base */
	unsigned base;
};

static bool fits(const struct pal_narrow *nw, const struct room *r)
{
	unsigned sum = r->base;

	for (size_t i = 0; i < nw->n; i++)
		if (pal_narrow_includes(nw, i))
			sum += r->size[i];
	return sum <= r->cap;
}

/* Applies every configured try against r; returns how many were applied. */
static unsigned run(struct pal_narrow *nw, const struct room *r)
{
	unsigned applied = 0;

	while (pal_narrow_trying(nw)) {
		cr_assert_eq(pal_narrow_result(nw, fits(nw, r)), 0);
		cr_assert_leq(++applied, nw->max_tries, "more applies than the budget");
	}
	return applied;
}

/* The sum of the accepted objects' sizes (what the last successful apply put in force). */
static unsigned accepted_size(const struct pal_narrow *nw, const struct room *r)
{
	unsigned sum = r->base;

	for (size_t i = 0; i < nw->n; i++)
		if (nw->fit[i] == PAL_NARROW_FITS)
			sum += r->size[i];
	return sum;
}

Test(k8s_narrow, a_changed_policy_applies_beside_one_grown_past_the_capacity)
{
	const unsigned size[] = { 1, 100 }; /* A (a deny changed), B (grown) */
	struct room r = { size, 50, 10 };
	struct pal_narrow nw;

	cr_assert_eq(pal_narrow_start(&nw, 2, 8), 0);
	cr_expect_not(pal_narrow_includes(&nw, 0), "the baseline includes no new version");
	cr_expect_not(pal_narrow_includes(&nw, 1));
	/* the baseline, then A; B on top of A is the set that failed: no try for it */
	cr_expect_eq(run(&nw, &r), 2);
	cr_expect_eq(nw.phase, PAL_NARROW_DONE);
	cr_expect_eq(nw.fit[0], PAL_NARROW_FITS);
	cr_expect_eq(nw.fit[1], PAL_NARROW_NO_FIT);
	pal_narrow_free(&nw);
}

Test(k8s_narrow, one_object_alone_is_found_without_a_group_try)
{
	const unsigned size[] = { 100 };
	struct room r = { size, 50, 10 };
	struct pal_narrow nw;

	cr_assert_eq(pal_narrow_start(&nw, 1, 8), 0);
	cr_expect_eq(run(&nw, &r), 1, "the baseline only");
	cr_expect_eq(nw.phase, PAL_NARROW_DONE);
	cr_expect_eq(nw.fit[0], PAL_NARROW_NO_FIT);
	pal_narrow_free(&nw);
}

Test(k8s_narrow, the_one_that_does_not_fit_among_eight)
{
	const unsigned size[] = { 1, 1, 1, 1, 1, 90, 1, 1 };
	struct room r = { size, 50, 10 };
	struct pal_narrow nw;

	cr_assert_eq(pal_narrow_start(&nw, 8, 8), 0);
	run(&nw, &r);
	cr_expect_eq(nw.phase, PAL_NARROW_DONE);
	for (size_t i = 0; i < 8; i++)
		cr_expect_eq(nw.fit[i], i == 5 ? PAL_NARROW_NO_FIT : PAL_NARROW_FITS, "object %zu", i);
	cr_expect_leq(nw.tries, 5, "baseline + log2(8) + 1 at most, got %u", nw.tries);
	pal_narrow_free(&nw);
}

Test(k8s_narrow, a_baseline_that_does_not_fit_blames_nobody)
{
	const unsigned size[] = { 1, 1, 1 };
	struct room r = { size, 50, 60 }; /* the datapath is full without them */
	struct pal_narrow nw;

	cr_assert_eq(pal_narrow_start(&nw, 3, 8), 0);
	cr_expect_eq(run(&nw, &r), 1);
	cr_expect_eq(nw.phase, PAL_NARROW_GAVE_UP);
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(nw.fit[i], PAL_NARROW_UNTRIED);
	pal_narrow_free(&nw);
}

Test(k8s_narrow, a_failed_last_try_ends_with_the_accepted_objects_alone)
{
	/* [0,1] fails, [0] fits, [1] is known not to; [2,3] fails, then [2] and [3] alone: the last
	 * try failed, so a final one holds object 0 alone */
	const unsigned size[] = { 1, 100, 100, 100 };
	struct room r = { size, 50, 10 };
	struct pal_narrow nw;

	cr_assert_eq(pal_narrow_start(&nw, 4, 16), 0);
	while (pal_narrow_trying(&nw) && nw.phase != PAL_NARROW_FINAL)
		cr_assert_eq(pal_narrow_result(&nw, fits(&nw, &r)), 0);
	cr_assert_eq(nw.phase, PAL_NARROW_FINAL, "the last group try failed: a final try is due");
	cr_expect(pal_narrow_includes(&nw, 0), "the final try includes the accepted object");
	for (size_t i = 1; i < 4; i++)
		cr_expect_not(pal_narrow_includes(&nw, i), "object %zu is not accepted", i);
	cr_assert_eq(pal_narrow_result(&nw, true), 0);
	cr_expect_eq(nw.phase, PAL_NARROW_DONE);
	for (size_t i = 1; i < 4; i++)
		cr_expect_eq(nw.fit[i], PAL_NARROW_NO_FIT, "object %zu", i);
	pal_narrow_free(&nw);
}

Test(k8s_narrow, the_budget_bounds_the_applies_and_leaves_the_rest_untried)
{
	unsigned size[64];
	struct room r = { size, 1000, 0 };
	struct pal_narrow nw;
	size_t untried = 0;

	for (size_t i = 0; i < 64; i++)
		size[i] = i % 2 ? 2000 : 1; /* every odd one is too large */
	cr_assert_eq(pal_narrow_start(&nw, 64, 8), 0);
	cr_expect_leq(run(&nw, &r), 8);
	cr_expect_eq(nw.phase, PAL_NARROW_DONE);
	cr_expect_leq(accepted_size(&nw, &r), r.cap, "what is in force fits");
	for (size_t i = 0; i < 64; i++) {
		untried += nw.fit[i] == PAL_NARROW_UNTRIED;
		if (nw.fit[i] == PAL_NARROW_NO_FIT)
			cr_expect(i % 2, "object %zu fits but was blamed", i);
	}
	cr_expect_gt(untried, 0, "8 applies cannot decide 64 objects with 32 culprits");
	pal_narrow_free(&nw);
}

/* With room enough for the applies: every object is decided, the accepted ones fit together,
 * and each one that does not fit does not fit on top of them. Narrowing starts from a failed
 * apply of all of them: rounds whose objects fit together are not narrowed. */
Test(k8s_narrow, random_sizes_are_decided_soundly)
{
	unsigned size[40];
	struct room r = { size, 200, 20 };
	int narrowed = 0;

	srand(9);
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + (size_t)rand() % 40;
		unsigned all = r.base;
		struct pal_narrow nw;

		for (size_t i = 0; i < n; i++)
			all += size[i] = rand() % 4 ? 1 + (unsigned)rand() % 10 : 50 + (unsigned)rand() % 200;
		if (all <= r.cap)
			continue;
		narrowed++;
		cr_assert_eq(pal_narrow_start(&nw, n, 1000), 0);
		run(&nw, &r);
		cr_assert_eq(nw.phase, PAL_NARROW_DONE, "round %d", round);
		cr_assert_leq(accepted_size(&nw, &r), r.cap, "round %d: what is in force fits", round);
		for (size_t i = 0; i < n; i++) {
			cr_assert_neq(nw.fit[i], PAL_NARROW_UNTRIED, "round %d object %zu", round, i);
			if (nw.fit[i] == PAL_NARROW_NO_FIT)
				cr_assert_gt(accepted_size(&nw, &r) + size[i], r.cap,
					     "round %d: object %zu would fit", round, i);
		}
		pal_narrow_free(&nw);
	}
	cr_expect_gt(narrowed, 100, "only %d rounds needed narrowing", narrowed);
}

Test(k8s_narrow, nothing_to_narrow_or_no_budget_is_refused)
{
	struct pal_narrow nw;

	cr_expect_eq(pal_narrow_start(&nw, 0, 8), -EINVAL);
	cr_expect_eq(pal_narrow_start(&nw, 3, 2), -EINVAL, "a baseline and a final leave no group");
	cr_expect_not(pal_narrow_trying(&nw));
}
