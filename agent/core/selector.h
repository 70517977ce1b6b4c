/* Calico's label selector language: parse, evaluate, print canonically.
 *
 * Grammar (as Calico's libcalico-go selector parser):
 *   expr      := or
 *   or        := and ( "||" and )*
 *   and       := unary ( "&&" unary )*
 *   unary     := "!" unary | "(" expr ")" | term
 *   term      := "all()" | "global()" | "has(" key ")"
 *              | key "==" str | key "!=" str
 *              | key "in" "{" [str ("," str)*] "}" | key "not" "in" "{" ... "}"
 *              | key "contains" str | key "starts" "with" str | key "ends" "with" str
 *   str       := '"..."' | "'...'"
 * An empty or all-whitespace selector means all(). `!=` and `not in` match when the label is absent.
 */
#ifndef PALISADE_SELECTOR_H
#define PALISADE_SELECTOR_H

#include <stdbool.h>
#include "labels.h"

struct pal_selector; /* opaque, immutable after parsing */

struct pal_selector_error {
	int col;          /* 1-based column in the selector text where parsing failed */
	char message[160];
};

/* Returns 0 and sets *out, or -EINVAL and fills err. */
int pal_selector_parse(const char *text, struct pal_selector **out, struct pal_selector_error *err);
bool pal_selector_match(const struct pal_selector *s, const struct pal_labels *labels);
/* Canonical form: a malloc'd string such that parsing it yields an equivalent selector and equal
 * selectors print identically (Calico's String() form: `app == "web"`, `has(x)`, `a in {"x", "y"}`,
 * `(a && b) || c`...). */
char *pal_selector_string(const struct pal_selector *s);
/* True when the whole selector is exactly `global()` (the only place it is allowed in a
 * namespaceSelector); true when `global()` appears anywhere. */
bool pal_selector_is_global(const struct pal_selector *s);
bool pal_selector_uses_global(const struct pal_selector *s);
/* True when the selector is all() (including the empty selector). */
bool pal_selector_is_all(const struct pal_selector *s);
void pal_selector_free(struct pal_selector *s);

#endif
