/* Reading a whole stream (read_all.h): content, the NUL, the limit, read errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_all.h"

/* A stream over a copy of data[0..n). */
static FILE *stream_of(const char *data, size_t n)
{
	FILE *f = tmpfile();

	cr_assert(f);
	cr_assert_eq(fwrite(data, 1, n, f), n);
	rewind(f);
	return f;
}

Test(read_all, reads_past_the_first_chunk_and_terminates)
{
	size_t n = 3 * 4096 + 17, len = 0;
	char *data = malloc(n), *buf = NULL;
	FILE *f;

	cr_assert(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	f = stream_of(data, n);
	cr_assert_eq(pal_read_all(f, n, &buf, &len), 0);
	cr_assert_eq(len, n);
	cr_assert(memcmp(buf, data, n) == 0);
	cr_assert_eq(buf[n], '\0');
	fclose(f);
	free(buf);
	free(data);
}

Test(read_all, empty_stream_is_an_empty_string)
{
	FILE *f = stream_of("", 0);
	char *buf = NULL;
	size_t len = 1;

	cr_assert_eq(pal_read_all(f, 10, &buf, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(buf, "");
	fclose(f);
	free(buf);
}

Test(read_all, one_byte_over_the_limit_is_efbig)
{
	FILE *f = stream_of("0123456789", 10);
	char *buf = (char *)1;
	size_t len = 1;

	cr_assert_eq(pal_read_all(f, 9, &buf, &len), -EFBIG);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	rewind(f);
	cr_assert_eq(pal_read_all(f, 10, &buf, &len), 0, "exactly the limit is allowed");
	cr_assert_str_eq(buf, "0123456789");
	fclose(f);
	free(buf);
}

Test(read_all, read_error_is_its_errno)
{
	FILE *f = fopen("/", "r"); /* opens; reading a directory fails with EISDIR */
	char *buf = (char *)1;
	size_t len = 1;

	cr_assert(f);
	cr_assert_eq(pal_read_all(f, 100, &buf, &len), -EISDIR);
	cr_assert_null(buf);
	fclose(f);
}
