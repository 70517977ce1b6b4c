/* Label set tests: sorted storage, replace, merge, copy, free. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "labels.h"

static void expect_sorted_unique(const struct pal_labels *l)
{
	for (size_t i = 1; i < l->n; i++)
		cr_expect_lt(strcmp(l->v[i - 1].key, l->v[i].key), 0, "keys %s, %s out of order",
			     l->v[i - 1].key, l->v[i].key);
}

Test(labels, empty_set_has_nothing)
{
	struct pal_labels l = { 0 };

	cr_expect_null(pal_labels_get(&l, "a"));
	cr_expect_null(pal_labels_get(NULL, "a"));
	pal_labels_free(&l);
	cr_expect_eq(l.n, 0);
}

Test(labels, set_get_and_replace)
{
	struct pal_labels l = { 0 };
	char key[8] = "k", val[8] = "v";

	pal_labels_set(&l, key, val);
	key[0] = 'x'; /* the set keeps its own copies */
	val[0] = 'y';
	cr_expect_str_eq(pal_labels_get(&l, "k"), "v");
	cr_expect_null(pal_labels_get(&l, "x"));
	pal_labels_set(&l, "k", "w");
	cr_expect_str_eq(pal_labels_get(&l, "k"), "w");
	cr_expect_eq(l.n, 1);
	pal_labels_set(&l, "empty", "");
	cr_expect_str_eq(pal_labels_get(&l, "empty"), "", "an empty value is present, not absent");
	pal_labels_free(&l);
}

Test(labels, many_keys_stay_sorted_and_findable)
{
	struct pal_labels l = { 0 };
	char k[32], v[32];

	/* Insert in a scrambled order. */
	for (unsigned i = 0; i < 500; i++) {
		unsigned j = (i * 7919u) % 500u;

		snprintf(k, sizeof(k), "key-%u", j);
		snprintf(v, sizeof(v), "val-%u", j);
		pal_labels_set(&l, k, v);
	}
	cr_expect_eq(l.n, 500);
	expect_sorted_unique(&l);
	for (unsigned j = 0; j < 500; j++) {
		snprintf(k, sizeof(k), "key-%u", j);
		snprintf(v, sizeof(v), "val-%u", j);
		cr_expect_str_eq(pal_labels_get(&l, k), v);
	}
	cr_expect_null(pal_labels_get(&l, "key-500"));
	cr_expect_null(pal_labels_get(&l, "key-"));
	cr_expect_null(pal_labels_get(&l, ""));
	pal_labels_free(&l);
}

Test(labels, merge_src_wins)
{
	struct pal_labels a = { 0 }, b = { 0 };

	pal_labels_set(&a, "x", "1");
	pal_labels_set(&a, "y", "1");
	pal_labels_set(&b, "y", "2");
	pal_labels_set(&b, "z", "2");
	pal_labels_merge(&a, &b);
	cr_expect_eq(a.n, 3);
	cr_expect_str_eq(pal_labels_get(&a, "x"), "1");
	cr_expect_str_eq(pal_labels_get(&a, "y"), "2");
	cr_expect_str_eq(pal_labels_get(&a, "z"), "2");
	cr_expect_eq(b.n, 2, "src is unchanged");
	expect_sorted_unique(&a);
	pal_labels_free(&a);
	pal_labels_free(&b);
}

Test(labels, copy_replaces_and_is_deep)
{
	struct pal_labels a = { 0 }, b = { 0 };

	pal_labels_set(&a, "old", "gone");
	pal_labels_set(&b, "k", "v");
	pal_labels_copy(&a, &b);
	cr_expect_eq(a.n, 1);
	cr_expect_null(pal_labels_get(&a, "old"));
	pal_labels_set(&b, "k", "changed");
	cr_expect_str_eq(pal_labels_get(&a, "k"), "v", "copy does not share strings");
	pal_labels_free(&a);
	pal_labels_free(&b);
}

Test(labels, free_leaves_reusable_set)
{
	struct pal_labels l = { 0 };

	pal_labels_set(&l, "a", "1");
	pal_labels_free(&l);
	cr_expect_eq(l.n, 0);
	cr_expect_null(l.v);
	pal_labels_set(&l, "b", "2");
	cr_expect_str_eq(pal_labels_get(&l, "b"), "2");
	pal_labels_free(&l);
}
