/* Helpers shared by test_model_*.c (no tests here). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_model_util.h"

static void capture(struct mtest *t)
{
	size_t len = 0;
	FILE *f = open_memstream(&t->out, &len);

	cr_assert_not_null(f);
	pal_diags_print(f, &t->d);
	fclose(f);
}

void mt_load_only(struct mtest *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	cr_assert_eq(pal_model_load_buffer(&t->m, "t.yaml", text, strlen(text), &t->d), 0);
	capture(t);
}

void mt_load(struct mtest *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	cr_assert_eq(pal_model_load_buffer(&t->m, "t.yaml", text, strlen(text), &t->d), 0);
	pal_model_validate(&t->m, &t->d);
	capture(t);
}

void mt_free(struct mtest *t)
{
	pal_model_free(&t->m);
	pal_diags_free(&t->d);
	free(t->out);
}

void mt_expect_counts(const struct mtest *t, struct mt_counts want)
{
#define MT_EXPECT_COUNT(field, clear)                                                    \
	cr_assert_eq(t->m.field.n, want.field, #field ": %zu, expected %zu", t->m.field.n, \
		     want.field);
	PAL_MODEL_RESOURCES(MT_EXPECT_COUNT)
#undef MT_EXPECT_COUNT
}

void mt_expect_error(const struct mtest *t, const char *where, const char *path, const char *msg)
{
	char prefix[128], suffix[512];
	const char *line = t->out;

	snprintf(prefix, sizeof(prefix), "t.yaml:%s: error: ", where);
	/* An empty path means the message has no "[at ...]" part. */
	if (*path)
		snprintf(suffix, sizeof(suffix), " [at %s]\n", path);
	else
		snprintf(suffix, sizeof(suffix), "%s\n", msg);
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line + 1) : strlen(line);
		char *one = strndup(line, len);
		bool ok = strncmp(one, prefix, strlen(prefix)) == 0 && strstr(one, msg) &&
			  len >= strlen(suffix) &&
			  strcmp(one + len - strlen(suffix), suffix) == 0;

		free(one);
		if (ok)
			return;
		line += len;
	}
	cr_assert_fail("expected \"%s...%s...[at %s]\", got:\n%s", prefix, msg, path, t->out);
}

void mt_check_error(const char *text, const char *where, const char *path, const char *msg)
{
	struct mtest t;

	mt_load(&t, text);
	mt_expect_error(&t, where, path, msg);
	cr_assert(pal_diags_has_errors(&t.d));
	mt_free(&t);
}

void mt_check_clean(struct mtest *t, const char *text)
{
	mt_load(t, text);
	cr_assert_eq(t->d.n, 0, "expected no diagnostics, got:\n%s", t->out);
}

char *mt_gnp(const char *body)
{
	char *s;

	if (asprintf(&s,
		     "apiVersion: projectcalico.org/v3\n"
		     "kind: GlobalNetworkPolicy\n"
		     "metadata:\n"
		     "  name: p\n"
		     "spec:\n"
		     "%s",
		     body) < 0)
		abort();
	return s;
}
