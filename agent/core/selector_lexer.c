/* Selector tokenizer: the same token rules as libcalico-go's lib/selector/tokenizer.
 *
 * Calico quirks reproduced on purpose (policies written for Calico must mean the same here):
 * - Only space and tab are whitespace; a newline or carriage return is an unexpected character.
 * - Strings are '...' or "..." with no escapes: the string ends at the next matching quote, so a
 *   value can hold the other quote character but never both.
 * - A label key is a run of [a-zA-Z0-9_./-] (so `projectcalico.org/namespace`, `pcns.team`, `-a`
 *   and `1` are keys). The key token is greedy: `ains {}` is the key "ains", not `a in {}`.
 * - A key is at most 512 characters (Calico's MaxLabelLength); longer is an error.
 * - Right after a key, the words contains / starts with / ends with / not in / in are operators.
 *   The gap inside the two-word ones may be empty (`a notin {"x"}`, `a startswith "x"`), and
 *   no space is needed before a quote or brace (`a in{"x"}`, `a contains"x"`), but the operator
 *   must end at a word boundary: `a inside "x"` is an error, not `a in side "x"`. (Older Calico
 *   lexed `in` + `side` there and the parser rejected it; either way it is rejected.) Anywhere
 *   else these words are ordinary keys: `in == "x"` compares the label "in".
 * - `has(`, `all(` and `global(` must be written without a space before the parenthesis;
 *   spaces inside are fine: `has( a )`, `all( )`. `has (a)` is the key "has" followed by "(".
 * - `!` followed by `=` is always "!=", so `!=` cannot be "not" followed by "=".
 */
#include "selector_internal.h"
#include "vec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sel_error(struct pal_selector_error *err, int col, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

const char *sel_tok_name(enum sel_tok_kind kind)
{
	switch (kind) {
	case SEL_TOK_LABEL: return "a label";
	case SEL_TOK_STRING: return "a quoted string";
	case SEL_TOK_LBRACE: return "\"{\"";
	case SEL_TOK_RBRACE: return "\"}\"";
	case SEL_TOK_COMMA: return "\",\"";
	case SEL_TOK_EQ: return "\"==\"";
	case SEL_TOK_NE: return "\"!=\"";
	case SEL_TOK_IN: return "\"in\"";
	case SEL_TOK_NOT: return "\"!\"";
	case SEL_TOK_NOT_IN: return "\"not in\"";
	case SEL_TOK_CONTAINS: return "\"contains\"";
	case SEL_TOK_STARTS_WITH: return "\"starts with\"";
	case SEL_TOK_ENDS_WITH: return "\"ends with\"";
	case SEL_TOK_ALL: return "\"all()\"";
	case SEL_TOK_HAS: return "\"has()\"";
	case SEL_TOK_LPAREN: return "\"(\"";
	case SEL_TOK_RPAREN: return "\")\"";
	case SEL_TOK_AND: return "\"&&\"";
	case SEL_TOK_OR: return "\"||\"";
	case SEL_TOK_GLOBAL: return "\"global()\"";
	case SEL_TOK_EOF: return "the end of the selector";
	}
	return "?";
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '/' || c == '-';
}

static size_t skip_ws(const char *s, size_t i)
{
	while (is_ws(s[i]))
		i++;
	return i;
}

static size_t key_len(const char *s)
{
	size_t n = 0;

	while (is_key_char(s[n]))
		n++;
	return n;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Describes the character at s for an error message; non-printable bytes as \xNN. */
static const char *describe_char(const char *s, char buf[8])
{
	unsigned char c = (unsigned char)*s;

	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", c);
	return buf;
}

static int push(struct sel_tokens *t, enum sel_tok_kind kind, size_t pos, const char *text,
		size_t len)
{
	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)))
		return -ENOMEM;
	t->v[t->n++] = (struct sel_token){ .kind = kind, .col = (int)pos + 1, .text = text,
					   .len = len };
	return 0;
}

/* Lexes the operator that must follow a label key, starting at s[i]. */
static int lex_operator(const char *s, size_t *ip, struct sel_tokens *t,
			struct pal_selector_error *err)
{
	static const struct {
		const char *first, *second;
		enum sel_tok_kind kind;
	} ops[] = {
		/* Calico's order; no two can match the same text. */
		{ "contains", NULL, SEL_TOK_CONTAINS },
		{ "starts", "with", SEL_TOK_STARTS_WITH },
		{ "ends", "with", SEL_TOK_ENDS_WITH },
		{ "not", "in", SEL_TOK_NOT_IN },
		{ "in", NULL, SEL_TOK_IN },
	};
	size_t i = *ip;
	const struct sel_token *label = &t->v[t->n - 1];

	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		size_t j;

		if (!has_prefix(s + i, ops[k].first))
			continue;
		j = i + strlen(ops[k].first);
		if (ops[k].second) {
			size_t w = skip_ws(s, j);

			if (!has_prefix(s + w, ops[k].second)) {
				if (is_key_char(s[j])) /* e.g. "startsfoo": not this operator */
					continue;
				sel_error(err, (int)w + 1, "expected \"%s\" after \"%s\"",
					  ops[k].second, ops[k].first);
				return -EINVAL;
			}
			j = w + strlen(ops[k].second);
		}
		if (is_key_char(s[j])) /* "inside", "containsx": no word boundary */
			continue;
		*ip = j;
		return push(t, ops[k].kind, i, NULL, 0);
	}
	sel_error(err, (int)i + 1,
		  "expected an operator (==, !=, in, not in, contains, starts with, ends with) "
		  "after label \"%.*s\"",
		  label->len > 40 ? 40 : (int)label->len, label->text);
	return -EINVAL;
}

/* A key at s (len > 0 known): checks Calico's length limit. */
static int check_key_len(const char *s, size_t i, size_t len, struct pal_selector_error *err)
{
	if (len <= SEL_MAX_KEY_LEN)
		return 0;
	sel_error(err, (int)i + 1, "label name \"%.20s...\" is longer than %d characters", s + i,
		  SEL_MAX_KEY_LEN);
	return -EINVAL;
}

/* Lexes `has(key)`, `all()` or `global()`; s[i] is the start of the word. */
static int lex_call(const char *s, size_t *ip, struct sel_tokens *t, const char *word,
		    enum sel_tok_kind kind, struct pal_selector_error *err)
{
	size_t start = *ip;
	size_t i = skip_ws(s, start + strlen(word) + 1);
	const char *key = NULL;
	size_t klen = 0;

	if (kind == SEL_TOK_HAS) {
		klen = key_len(s + i);
		if (klen == 0) {
			sel_error(err, (int)i + 1, "expected a label name after \"has(\"");
			return -EINVAL;
		}
		if (check_key_len(s, i, klen, err))
			return -EINVAL;
		key = s + i;
		i = skip_ws(s, i + klen);
	}
	if (s[i] != ')') {
		if (kind == SEL_TOK_HAS)
			sel_error(err, (int)i + 1, "expected \")\" to close \"has(%.*s\"",
				  klen > 40 ? 40 : (int)klen, key);
		else
			sel_error(err, (int)i + 1, "expected \")\" after \"%s(\"", word);
		return -EINVAL;
	}
	*ip = i + 1;
	return push(t, kind, start, key, klen);
}

/* The token of a one-character punctuation mark: one of "(){},". */
static enum sel_tok_kind punctuation_token(char c)
{
	static const char marks[] = "(){},";
	static const enum sel_tok_kind kinds[] = { SEL_TOK_LPAREN, SEL_TOK_RPAREN, SEL_TOK_LBRACE,
						   SEL_TOK_RBRACE, SEL_TOK_COMMA };
	_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == sizeof(marks) - 1, "a kind per mark");

	return kinds[strchr(marks, c) - marks];
}

int sel_tokenize(const char *s, struct sel_tokens *t, struct pal_selector_error *err)
{
	size_t i = 0;
	int rc = 0;
	char cbuf[8];

	t->v = NULL;
	t->n = t->cap = 0;
	for (;;) {
		bool after_label;

		i = skip_ws(s, i);
		if (s[i] == '\0') {
			rc = push(t, SEL_TOK_EOF, i, NULL, 0);
			break;
		}
		after_label = t->n > 0 && t->v[t->n - 1].kind == SEL_TOK_LABEL;
		switch (s[i]) {
		case '(':
		case ')':
		case '{':
		case '}':
		case ',':
			rc = push(t, punctuation_token(s[i]), i, NULL, 0);
			i++;
			break;
		case '"':
		case '\'': {
			const char *end = strchr(s + i + 1, s[i]);

			if (!end) {
				sel_error(err, (int)i + 1, "unterminated string: no closing %c",
					  s[i]);
				rc = -EINVAL;
				break;
			}
			rc = push(t, SEL_TOK_STRING, i, s + i + 1, (size_t)(end - (s + i + 1)));
			i = (size_t)(end - s) + 1;
			break;
		}
		case '=':
			if (s[i + 1] != '=') {
				sel_error(err, (int)i + 1, "expected \"==\", found a single \"=\"");
				rc = -EINVAL;
				break;
			}
			rc = push(t, SEL_TOK_EQ, i, NULL, 0);
			i += 2;
			break;
		case '!':
			if (s[i + 1] == '=') {
				rc = push(t, SEL_TOK_NE, i, NULL, 0);
				i += 2;
			} else {
				rc = push(t, SEL_TOK_NOT, i, NULL, 0);
				i++;
			}
			break;
		case '&':
		case '|':
			if (s[i + 1] != s[i]) {
				sel_error(err, (int)i + 1, "expected \"%c%c\", found a single \"%c\"",
					  s[i], s[i], s[i]);
				rc = -EINVAL;
				break;
			}
			rc = push(t, s[i] == '&' ? SEL_TOK_AND : SEL_TOK_OR, i, NULL, 0);
			i += 2;
			break;
		default:
			if (after_label) {
				rc = lex_operator(s, &i, t, err);
			} else if (has_prefix(s + i, "has(")) {
				rc = lex_call(s, &i, t, "has", SEL_TOK_HAS, err);
			} else if (has_prefix(s + i, "all(")) {
				rc = lex_call(s, &i, t, "all", SEL_TOK_ALL, err);
			} else if (has_prefix(s + i, "global(")) {
				rc = lex_call(s, &i, t, "global", SEL_TOK_GLOBAL, err);
			} else if (is_key_char(s[i])) {
				size_t n = key_len(s + i);

				rc = check_key_len(s, i, n, err);
				if (!rc)
					rc = push(t, SEL_TOK_LABEL, i, s + i, n);
				i += n;
			} else {
				sel_error(err, (int)i + 1, "unexpected character %s",
					  describe_char(s + i, cbuf));
				rc = -EINVAL;
			}
			break;
		}
		if (rc)
			break;
	}
	if (rc == -ENOMEM)
		sel_error(err, 0, "out of memory");
	if (rc)
		sel_tokens_free(t);
	return rc;
}

void sel_tokens_free(struct sel_tokens *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
