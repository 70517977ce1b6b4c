/* Interned strings (intern.h): one shared copy per value, freed with its last reference. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "intern.h"

Test(intern, one_copy_per_value_until_the_last_reference)
{
	char own[] = "projectcalico.org/namespace";
	char *a = pal_intern(own), *b = pal_intern("projectcalico.org/namespace");

	cr_assert_not_null(a);
	cr_assert_eq(a, b);
	cr_assert_neq(a, own);
	cr_assert_str_eq(a, own);
	cr_assert(pal_interned(a));
	cr_assert_not(pal_interned(own)); /* equal, but not the shared copy */
	cr_assert_not(pal_interned(NULL));
	pal_intern_put(a);
	cr_assert(pal_interned(b)); /* one reference left */
	pal_intern_put(b);              /* freed: ASan would see a second put or a leak */
	cr_assert_not(pal_interned(own));
}

/* Growth and removals (entries moved back over a removed one) keep every value findable. */
Test(intern, many_values_in_and_out)
{
	static char *p[3000];
	char buf[32];

	for (int i = 0; i < 3000; i++) {
		snprintf(buf, sizeof(buf), "v-%d", i);
		cr_assert_not_null(p[i] = pal_intern(buf));
	}
	for (int i = 0; i < 3000; i += 2)
		pal_intern_put(p[i]);
	for (int i = 1; i < 3000; i += 2) {
		snprintf(buf, sizeof(buf), "v-%d", i);
		cr_assert(pal_interned(p[i]), "%s lost", buf);
		cr_assert_eq(pal_intern(buf), p[i]);
		pal_intern_put(p[i]);
	}
	for (int i = 1; i < 3000; i += 2)
		pal_intern_put(p[i]);
	snprintf(buf, sizeof(buf), "v-%d", 1);
	char *again = pal_intern(buf);

	cr_assert_not_null(again);
	pal_intern_put(again);
}
