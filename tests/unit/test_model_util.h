/* Helpers shared by test_model_*.c: load YAML text, capture the printed diagnostics. */
#ifndef TEST_MODEL_UTIL_H
#define TEST_MODEL_UTIL_H

#include "model.h"

struct mtest {
	struct pal_model m;
	struct pal_diags d;
	char *out; /* every diagnostic, printed as pal_diag_print does */
};

/* Loads text as file "t.yaml", then runs pal_model_validate; fills t->out. */
void mt_load(struct mtest *t, const char *text);
/* Loads without validation. */
void mt_load_only(struct mtest *t, const char *text);
void mt_free(struct mtest *t);
/* Asserts that one printed line starts with "t.yaml:<where>: error: ", contains msg, and ends with
 * " [at <path>]" (path "": the message ends the line). where is "LINE:COL". */
void mt_expect_error(const struct mtest *t, const char *where, const char *path, const char *msg);
/* Loads text and asserts exactly that error (and that the resource was dropped). */
void mt_check_error(const char *text, const char *where, const char *path, const char *msg);
/* Loads text and asserts no diagnostics at all. */
void mt_check_clean(struct mtest *t, const char *text);

/* How many resources of each kind a model holds. */
struct mt_counts {
#define MT_COUNT_FIELD(field, clear) size_t field;
	PAL_MODEL_RESOURCES(MT_COUNT_FIELD)
#undef MT_COUNT_FIELD
};

/* Asserts that t's model holds exactly the given numbers of each kind; a kind not named holds
 * none: MT_EXPECT_COUNTS(&t, .tiers = 1, .policies = 2). */
void mt_expect_counts(const struct mtest *t, struct mt_counts want);
#define MT_EXPECT_COUNTS(t, ...) mt_expect_counts(t, (struct mt_counts){ __VA_ARGS__ })

/* Returns a malloc'd string: a GlobalNetworkPolicy header (5 lines, "spec:" on line 5) followed
 * by body. */
char *mt_gnp(const char *body);

#endif
