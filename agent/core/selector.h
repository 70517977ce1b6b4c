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
 * Precedence: "!" tightest, then "&&", then "||". Keys are runs of [a-zA-Z0-9_./-]; only space and
 * tab are whitespace; strings have no escapes. Calico's lexer quirks are kept (`a notin {..}`,
 * `a startswith ".."`, `a in{..}`, trailing comma in sets, `has (a)` is an error): see
 * selector_lexer.c. global() matches labels without projectcalico.org/namespace, i.e. resources
 * that are not namespaced (Calico's meaning of a namespaceSelector of global()).
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

/* Returns 0 and sets *out, or -EINVAL (-ENOMEM) with *out = NULL and err filled (err may be NULL).
 * The error column points at the offending token or character (len + 1 for "unexpected end").
 * Parentheses nested deeper than 256 are rejected. */
int pal_selector_parse(const char *text, struct pal_selector **out, struct pal_selector_error *err);
/* labels may be NULL (no labels). */
bool pal_selector_match(const struct pal_selector *s, const struct pal_labels *labels);
/* pal_selector_match with every all() read as has(all_key) (all_key NULL: as usual), the way
 * felix reads a GlobalNetworkPolicy selector once namespaceSelector or serviceAccountSelector
 * is folded into it. */
bool pal_selector_match_all_as_has(const struct pal_selector *s, const struct pal_labels *labels,
				   const char *all_key);
/* Canonical form: a malloc'd string (NULL only when out of memory) such that parsing it yields an
 * equivalent selector that prints identically. Calico's String() form: `app == "web"`, `has(x)`,
 * `a in {"x", "y"}` (set sorted bytewise, de-duplicated), `!has(x)`, `!(a == "x" || has(b))`, and
 * every && / || group in parentheses, top level included: `((a == "x" && has(b)) || c != "y")`.
 * Values are double-quoted unless they contain a double quote, then single-quoted. See the top
 * of selector.c for the full rules. */
char *pal_selector_string(const struct pal_selector *s);
/* True when the whole selector is exactly `global()` (the only place it is allowed in a
 * namespaceSelector); true when `global()` appears anywhere. */
bool pal_selector_is_global(const struct pal_selector *s);
/* True when text is global() and nothing else but blanks, as Calico's validator wants a
 * namespaceSelector that uses global(): one global() token (`(global())` and `!!global()` mean
 * the same but are refused there). */
bool pal_selector_text_is_global(const char *text);
bool pal_selector_uses_global(const struct pal_selector *s);
/* True when the selector is all() (including the empty selector). */
bool pal_selector_is_all(const struct pal_selector *s);
void pal_selector_free(struct pal_selector *s);

#endif
