/* The string builder (agent/core/strbuf.h) and the growable array under it (vec.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/core/strbuf.h"
#include "../../agent/core/vec.h"

Test(strbuf, grows)
{
	struct pal_strbuf b = { 0 };

	for (int i = 0; i < 1000; i++)
		pal_strbuf_printf(&b, "%04d,", i);
	pal_strbuf_puts(&b, "end");
	pal_strbuf_append(&b, "\0x", 2);
	cr_expect_eq(b.len, 5000 + 3 + 2);
	cr_expect_eq(strncmp(b.p, "0000,0001,", 10), 0);
	cr_expect_eq(memcmp(b.p + 4995, "0999,end\0x", 10), 0);
	cr_expect_eq(b.p[b.len], '\0');
	cr_expect_not(b.oom);
	pal_strbuf_free(&b);
	cr_expect_null(b.p);
}

Test(strbuf, take_hands_over_the_text)
{
	struct pal_strbuf b = { 0 };
	char *s;

	s = pal_strbuf_take(&b);
	cr_assert_not_null(s, "nothing appended: the empty string, not NULL");
	cr_expect_str_eq(s, "");
	free(s);
	pal_strbuf_printf(&b, "%s == '%s'", "app", "web");
	s = pal_strbuf_take(&b);
	cr_expect_str_eq(s, "app == 'web'");
	cr_expect_null(b.p, "the buffer is left empty");
	cr_expect_eq(b.len, 0);
	free(s);
}

Test(strbuf, a_failed_append_sticks_and_take_says_so)
{
	struct pal_strbuf b = { 0 };

	pal_strbuf_puts(&b, "kept");
	pal_strbuf_append(&b, "x", SIZE_MAX - 2); /* cannot fit next to "kept" and a NUL */
	cr_expect(b.oom);
	pal_strbuf_puts(&b, "more");
	cr_expect_eq(b.len, 4, "appends after a failure do nothing");
	cr_expect_null(pal_strbuf_take(&b), "incomplete text is never handed out");
	cr_expect_null(b.p);
	cr_expect_not(b.oom, "take resets the buffer");
}

Test(vec, grow_refuses_sizes_doubling_cannot_reach, .timeout = 5)
{
	char *v = NULL;
	size_t cap = 0;

	cr_expect_eq(vec_grow((void **)&v, &cap, SIZE_MAX / 2 + 2, 1), -ENOMEM);
	cr_expect_eq(cap, 0);
	cr_expect_null(v);
	cr_expect_eq(vec_grow((void **)&v, &cap, 5, 1), 0);
	cr_expect_eq(cap, 8, "doubles from 4");
	free(v);
}
