/* Selector engine: parser, evaluator and canonical printer for Calico's selector language.
 *
 * The parser follows libcalico-go's lib/selector/parser (recursive descent over the token list
 * from selector_lexer.c), and the tree and printed form follow its ast.go:
 *
 *   or        := and ( "||" and )*          -> one OR node with every operand (flat, n-ary)
 *   and       := operation ( "&&" operation )*
 *   operation := "!"* ( has(k) | all() | global() | "(" or ")" | key op string
 *                      | key ("in" | "not in") "{" [ string ("," string)* [","] ] "}" )
 *
 * Precedence: "!" binds tightest (`!a == "b"` is `!(a == "b")`), then "&&", then "||". A run of
 * "!" collapses to one or none, as in Calico. `a in {"x",}` (trailing comma) is accepted, as in
 * Calico. The empty or blank selector is all().
 *
 * Canonical form (Calico's String()):
 *   - comparisons: `key == "v"`, `key != "v"`, `key contains "v"`, `key starts with "v"`,
 *     `key ends with "v"`; the value is double-quoted unless it contains a double quote, then
 *     single-quoted (a value can never contain both: the lexer has no escapes).
 *   - sets: `key in {"a", "b"}` / `key not in {}`: members sorted bytewise and de-duplicated.
 *   - `has(key)`, `all()`, `global()`.
 *   - negation: `!` directly followed by its operand: `!has(a)`, `!a == "b"`, `!(a || b)`.
 *   - every AND/OR is wrapped in parentheses, including at top level:
 *     `(a == "x" && has(b))`, `((a == "x" && has(b)) || c != "y")`. Redundant parentheses in the
 *     input vanish (`((has(a)))` prints `has(a)`); grouping that changes the tree is kept
 *     (`(a && b) && c` stays a nested AND).
 * One deliberate difference from Calico: `!(!x)` folds to `x`. Calico builds NOT(NOT(x)) and
 * prints `!!x`, which then re-parses (a run of "!" collapses) as `x` and prints differently; the
 * fold keeps our printed form a fixed point. Both evaluate identically.
 */
#include "selector_internal.h"
#include "strbuf.h"
#include "vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tree ---- */

static void node_free(struct sel_node *n)
{
	if (!n)
		return;
	free(n->key);
	free(n->value);
	for (size_t i = 0; i < n->nset; i++)
		free(n->set[i]);
	free(n->set);
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n);
}

static struct sel_node *node_new(enum sel_node_kind kind)
{
	struct sel_node *n = calloc(1, sizeof(*n));

	if (n)
		n->kind = kind;
	return n;
}

static int add_kid(struct sel_node *n, struct sel_node *kid, size_t *cap)
{
	if (vec_grow((void **)&n->kids, cap, n->nkids + 1, sizeof(*n->kids)))
		return -ENOMEM;
	n->kids[n->nkids++] = kid;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- parser ---- */

struct parser {
	const struct sel_token *tok; /* current token; the list always ends with EOF */
	int depth;                   /* open parentheses */
	struct pal_selector_error *err;
};

static int oom(struct parser *p)
{
	sel_error(p->err, p->tok->col, "out of memory");
	return -ENOMEM;
}

/* Describes the current token for "expected X, found Y" messages. */
static int found_desc(const struct sel_token *t, char *buf, size_t sz)
{
	if (t->kind == SEL_TOK_LABEL)
		return snprintf(buf, sz, "label \"%.*s\"", t->len > 40 ? 40 : (int)t->len, t->text);
	if (t->kind == SEL_TOK_STRING)
		return snprintf(buf, sz, "string \"%.*s\"", t->len > 40 ? 40 : (int)t->len, t->text);
	return snprintf(buf, sz, "%s", sel_tok_name(t->kind));
}

static int expected(struct parser *p, const char *what)
{
	char found[64];

	found_desc(p->tok, found, sizeof(found));
	sel_error(p->err, p->tok->col, "expected %s, found %s", what, found);
	return -EINVAL;
}

static char *tok_strdup(const struct sel_token *t)
{
	return strndup(t->text, t->len);
}

static int parse_or(struct parser *p, struct sel_node **out);

/* key ("in" | "not in") "{" ... "}"; p->tok is at the "{". */
static int parse_set(struct parser *p, struct sel_node *n, const char *op)
{
	size_t cap = 0, w;
	char what[64];

	if (p->tok->kind != SEL_TOK_LBRACE) {
		snprintf(what, sizeof(what), "a set literal {...} after \"%s\"", op);
		return expected(p, what);
	}
	p->tok++;
	while (p->tok->kind == SEL_TOK_STRING) {
		if (vec_grow((void **)&n->set, &cap, n->nset + 1, sizeof(*n->set)))
			return oom(p);
		n->set[n->nset] = tok_strdup(p->tok);
		if (!n->set[n->nset])
			return oom(p);
		n->nset++;
		p->tok++;
		if (p->tok->kind != SEL_TOK_COMMA)
			break;
		p->tok++;
	}
	if (p->tok->kind != SEL_TOK_RBRACE)
		return expected(p, n->nset && p->tok[-1].kind == SEL_TOK_STRING ?
					   "\",\" or \"}\" after a set member" :
					   "a quoted string or \"}\" in the set");
	p->tok++;
	/* Sorted and de-duplicated, as Calico's StringSet: canonical printing and bsearch. */
	if (n->nset > 1) {
		qsort(n->set, n->nset, sizeof(n->set[0]), cmp_str);
		w = 1;
		for (size_t r = 1; r < n->nset; r++) {
			if (strcmp(n->set[r], n->set[w - 1]) == 0)
				free(n->set[r]);
			else
				n->set[w++] = n->set[r];
		}
		n->nset = w;
	}
	return 0;
}

/* key op ...; p->tok is at the key. */
static int parse_comparison(struct parser *p, struct sel_node **out)
{
	const struct sel_token *key = p->tok;
	struct sel_node *n;
	enum sel_node_kind kind;
	const char *op = sel_tok_name(key[1].kind);
	char what[96];
	int rc;

	switch (key[1].kind) {
	case SEL_TOK_EQ: kind = SEL_EQ; break;
	case SEL_TOK_NE: kind = SEL_NE; break;
	case SEL_TOK_CONTAINS: kind = SEL_CONTAINS; break;
	case SEL_TOK_STARTS_WITH: kind = SEL_STARTS_WITH; break;
	case SEL_TOK_ENDS_WITH: kind = SEL_ENDS_WITH; break;
	case SEL_TOK_IN: kind = SEL_IN; break;
	case SEL_TOK_NOT_IN: kind = SEL_NOT_IN; break;
	default:
		p->tok++;
		snprintf(what, sizeof(what),
			 "an operator (==, !=, in, not in, contains, starts with, ends with) "
			 "after label \"%.*s\"",
			 key->len > 20 ? 20 : (int)key->len, key->text);
		return expected(p, what);
	}
	n = node_new(kind);
	if (!n)
		return oom(p);
	n->key = tok_strdup(key);
	if (!n->key) {
		rc = oom(p);
		goto fail;
	}
	p->tok += 2;
	if (kind == SEL_IN || kind == SEL_NOT_IN) {
		rc = parse_set(p, n, kind == SEL_IN ? "in" : "not in");
		if (rc)
			goto fail;
	} else {
		if (p->tok->kind != SEL_TOK_STRING) {
			snprintf(what, sizeof(what), "a quoted string after %s", op);
			rc = expected(p, what);
			goto fail;
		}
		n->value = tok_strdup(p->tok);
		if (!n->value) {
			rc = oom(p);
			goto fail;
		}
		p->tok++;
	}
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

static int parse_operation(struct parser *p, struct sel_node **out)
{
	bool negated = false;
	struct sel_node *n = NULL;
	const struct sel_token *t;
	int rc;

	while (p->tok->kind == SEL_TOK_NOT) {
		negated = !negated;
		p->tok++;
	}
	t = p->tok;
	switch (t->kind) {
	case SEL_TOK_HAS:
		n = node_new(SEL_HAS);
		if (!n || !(n->key = tok_strdup(t)))
			goto nomem;
		p->tok++;
		break;
	case SEL_TOK_ALL:
	case SEL_TOK_GLOBAL:
		n = node_new(t->kind == SEL_TOK_ALL ? SEL_ALL : SEL_GLOBAL);
		if (!n)
			goto nomem;
		p->tok++;
		break;
	case SEL_TOK_LABEL:
		rc = parse_comparison(p, &n);
		if (rc)
			return rc;
		break;
	case SEL_TOK_LPAREN:
		if (p->depth >= SEL_MAX_DEPTH) {
			sel_error(p->err, t->col, "parentheses nested more than %d deep",
				  SEL_MAX_DEPTH);
			return -EINVAL;
		}
		p->depth++;
		p->tok++;
		rc = parse_or(p, &n);
		if (rc)
			return rc;
		if (p->tok->kind != SEL_TOK_RPAREN) {
			char what[64];

			snprintf(what, sizeof(what), "\")\" to close \"(\" at column %d", t->col);
			node_free(n);
			return expected(p, what);
		}
		p->depth--;
		p->tok++;
		break;
	default:
		return expected(p, "a label, has(), all(), global(), \"!\" or \"(\"");
	}
	if (negated) {
		if (n->kind == SEL_NOT) {
			/* !(!x) is x; see the top comment. */
			struct sel_node *inner = n->kids[0];

			n->nkids = 0;
			node_free(n);
			n = inner;
		} else {
			struct sel_node *not = node_new(SEL_NOT);

			if (!not || !(not->kids = malloc(sizeof(*not->kids)))) {
				free(not);
				goto nomem;
			}
			not->kids[0] = n;
			not->nkids = 1;
			n = not;
		}
	}
	*out = n;
	return 0;
nomem:
	node_free(n);
	return oom(p);
}

/* Parses operands separated by `sep`, each with `sub`, into one n-ary node of `kind`. */
static int parse_list(struct parser *p, struct sel_node **out, enum sel_tok_kind sep,
		      enum sel_node_kind kind, int (*sub)(struct parser *, struct sel_node **))
{
	struct sel_node *first, *list = NULL, *kid;
	size_t cap = 0;
	int rc;

	rc = sub(p, &first);
	if (rc)
		return rc;
	if (p->tok->kind != sep) {
		*out = first;
		return 0;
	}
	list = node_new(kind);
	if (!list || add_kid(list, first, &cap)) {
		node_free(first);
		rc = oom(p);
		goto fail;
	}
	while (p->tok->kind == sep) {
		p->tok++;
		rc = sub(p, &kid);
		if (rc)
			goto fail;
		if (add_kid(list, kid, &cap)) {
			node_free(kid);
			rc = oom(p);
			goto fail;
		}
	}
	*out = list;
	return 0;
fail:
	node_free(list);
	return rc;
}

static int parse_and(struct parser *p, struct sel_node **out)
{
	return parse_list(p, out, SEL_TOK_AND, SEL_AND, parse_operation);
}

static int parse_or(struct parser *p, struct sel_node **out)
{
	return parse_list(p, out, SEL_TOK_OR, SEL_OR, parse_and);
}

int pal_selector_parse(const char *text, struct pal_selector **out,
		       struct pal_selector_error *err)
{
	struct sel_tokens toks;
	struct parser p = { .err = err };
	struct pal_selector *sel = NULL;
	struct sel_node *root = NULL;
	int rc;

	if (err) {
		err->col = 0;
		err->message[0] = '\0';
	}
	*out = NULL;
	rc = sel_tokenize(text, &toks, err);
	if (rc)
		return rc;
	p.tok = toks.v;
	if (p.tok->kind == SEL_TOK_EOF) {
		root = node_new(SEL_ALL);
		if (!root) {
			rc = oom(&p);
			goto out;
		}
	} else {
		rc = parse_or(&p, &root);
		if (rc)
			goto out;
		if (p.tok->kind != SEL_TOK_EOF) {
			rc = expected(&p, p.tok->kind == SEL_TOK_RPAREN ?
						  "\"&&\", \"||\" or the end (unbalanced \")\")" :
						  "\"&&\", \"||\" or the end of the selector");
			goto out;
		}
	}
	sel = malloc(sizeof(*sel));
	if (!sel) {
		rc = oom(&p);
		goto out;
	}
	sel->root = root;
	root = NULL;
	*out = sel;
out:
	node_free(root);
	sel_tokens_free(&toks);
	return rc;
}

/* ---- evaluation ---- */

static bool set_contains(const struct sel_node *n, const char *v)
{
	if (n->nset == 0) /* n->set may be NULL: bsearch must not see it */
		return false;
	return bsearch(&v, n->set, n->nset, sizeof(n->set[0]), cmp_str) != NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* all_key: NULL, or the label all() stands for (pal_selector_match_all_as_has). */
static bool node_match(const struct sel_node *n, const struct pal_labels *l, const char *all_key)
{
	const char *v = n->key ? pal_labels_get(l, n->key) : NULL;

	switch (n->kind) {
	case SEL_ALL:
		return !all_key || pal_labels_get(l, all_key) != NULL;
	case SEL_GLOBAL:
		/* Calico only allows global() as a whole namespaceSelector and rewrites it to
		 * "not namespaced" (!has(projectcalico.org/namespace)). We evaluate it that way
		 * wherever it appears, so the model marks namespaced resources with that label. */
		return pal_labels_get(l, SEL_NAMESPACE_LABEL) == NULL;
	case SEL_HAS:
		return v != NULL;
	case SEL_EQ:
		return v && strcmp(v, n->value) == 0;
	case SEL_NE: /* an absent label is "not equal" */
		return !v || strcmp(v, n->value) != 0;
	case SEL_CONTAINS:
		return v && strstr(v, n->value) != NULL;
	case SEL_STARTS_WITH:
		return v && strncmp(v, n->value, strlen(n->value)) == 0;
	case SEL_ENDS_WITH:
		return v && ends_with(v, n->value);
	case SEL_IN:
		return v && set_contains(n, v);
	case SEL_NOT_IN: /* an absent label is "not in" any set */
		return !v || !set_contains(n, v);
	case SEL_NOT:
		return !node_match(n->kids[0], l, all_key);
	case SEL_AND:
		for (size_t i = 0; i < n->nkids; i++)
			if (!node_match(n->kids[i], l, all_key))
				return false;
		return true;
	case SEL_OR:
		for (size_t i = 0; i < n->nkids; i++)
			if (node_match(n->kids[i], l, all_key))
				return true;
		return false;
	}
	return false;
}

bool pal_selector_match(const struct pal_selector *s, const struct pal_labels *labels)
{
	return pal_selector_match_all_as_has(s, labels, NULL);
}

bool pal_selector_match_all_as_has(const struct pal_selector *s, const struct pal_labels *labels,
				   const char *all_key)
{
	static const struct pal_labels none;

	return node_match(s->root, labels ? labels : &none, all_key);
}

/* ---- canonical string ---- */

static void sb_quoted(struct pal_strbuf *b, const char *v)
{
	const char *q = strchr(v, '"') ? "'" : "\"";

	pal_strbuf_printf(b, "%s%s%s", q, v, q);
}

static void node_print(struct pal_strbuf *b, const struct sel_node *n)
{
	static const char *const ops[] = {
		[SEL_EQ] = " == ",
		[SEL_NE] = " != ",
		[SEL_CONTAINS] = " contains ",
		[SEL_STARTS_WITH] = " starts with ",
		[SEL_ENDS_WITH] = " ends with ",
		[SEL_IN] = " in {",
		[SEL_NOT_IN] = " not in {",
		[SEL_AND] = " && ",
		[SEL_OR] = " || ",
	};

	switch (n->kind) {
	case SEL_ALL:
		pal_strbuf_puts(b, "all()");
		break;
	case SEL_GLOBAL:
		pal_strbuf_puts(b, "global()");
		break;
	case SEL_HAS:
		pal_strbuf_puts(b, "has(");
		pal_strbuf_puts(b, n->key);
		pal_strbuf_puts(b, ")");
		break;
	case SEL_EQ:
	case SEL_NE:
	case SEL_CONTAINS:
	case SEL_STARTS_WITH:
	case SEL_ENDS_WITH:
		pal_strbuf_puts(b, n->key);
		pal_strbuf_puts(b, ops[n->kind]);
		sb_quoted(b, n->value);
		break;
	case SEL_IN:
	case SEL_NOT_IN:
		pal_strbuf_puts(b, n->key);
		pal_strbuf_puts(b, ops[n->kind]);
		for (size_t i = 0; i < n->nset; i++) {
			if (i)
				pal_strbuf_puts(b, ", ");
			sb_quoted(b, n->set[i]);
		}
		pal_strbuf_puts(b, "}");
		break;
	case SEL_NOT:
		pal_strbuf_puts(b, "!");
		node_print(b, n->kids[0]);
		break;
	case SEL_AND:
	case SEL_OR:
		pal_strbuf_puts(b, "(");
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				pal_strbuf_puts(b, ops[n->kind]);
			node_print(b, n->kids[i]);
		}
		pal_strbuf_puts(b, ")");
		break;
	}
}

char *pal_selector_string(const struct pal_selector *s)
{
	struct pal_strbuf b = { 0 };

	node_print(&b, s->root);
	return pal_strbuf_take(&b);
}

/* ---- queries ---- */

bool pal_selector_is_global(const struct pal_selector *s)
{
	return s->root->kind == SEL_GLOBAL;
}

bool pal_selector_text_is_global(const char *text)
{
	struct sel_tokens t;
	bool ok;

	if (sel_tokenize(text, &t, NULL))
		return false;
	ok = t.n == 2 && t.v[0].kind == SEL_TOK_GLOBAL;
	sel_tokens_free(&t);
	return ok;
}

static bool node_uses_global(const struct sel_node *n)
{
	if (n->kind == SEL_GLOBAL)
		return true;
	for (size_t i = 0; i < n->nkids; i++)
		if (node_uses_global(n->kids[i]))
			return true;
	return false;
}

bool pal_selector_uses_global(const struct pal_selector *s)
{
	return node_uses_global(s->root);
}

bool pal_selector_is_all(const struct pal_selector *s)
{
	return s->root->kind == SEL_ALL;
}

void pal_selector_free(struct pal_selector *s)
{
	if (!s)
		return;
	node_free(s->root);
	free(s);
}
