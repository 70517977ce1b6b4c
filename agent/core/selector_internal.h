/* Internals of the selector engine shared by the lexer (selector_lexer.c) and the parser,
 * evaluator and printer (selector.c). Not part of the public contract: use selector.h.
 */
#ifndef PALISADE_SELECTOR_INTERNAL_H
#define PALISADE_SELECTOR_INTERNAL_H

#include <stddef.h>

#include "selector.h"

/* Library symbols: the short names below are for this code only; every program that links the
 * core library shares one namespace of globals, so the library exports them prefixed. */
#define sel_error       pal_sel_error
#define sel_tok_name    pal_sel_tok_name
#define sel_tokenize    pal_sel_tokenize
#define sel_tokens_free pal_sel_tokens_free

/* Token kinds, one for one with libcalico-go's tokenizer. The multi-word operators ("not in",
 * "starts with", "ends with") and the calls "has(k)", "all()", "global()" are single tokens there
 * too, which is why e.g. `has (a)` is not a call but a label named "has". */
enum sel_tok_kind {
	SEL_TOK_LABEL,
	SEL_TOK_STRING,
	SEL_TOK_LBRACE,
	SEL_TOK_RBRACE,
	SEL_TOK_COMMA,
	SEL_TOK_EQ,
	SEL_TOK_NE,
	SEL_TOK_IN,
	SEL_TOK_NOT,
	SEL_TOK_NOT_IN,
	SEL_TOK_CONTAINS,
	SEL_TOK_STARTS_WITH,
	SEL_TOK_ENDS_WITH,
	SEL_TOK_ALL,
	SEL_TOK_HAS,
	SEL_TOK_LPAREN,
	SEL_TOK_RPAREN,
	SEL_TOK_AND,
	SEL_TOK_OR,
	SEL_TOK_GLOBAL,
	SEL_TOK_EOF,
};

struct sel_token {
	enum sel_tok_kind kind;
	int col;          /* 1-based column of the token's first character */
	const char *text; /* LABEL: the key; STRING: the contents; HAS: the key; else NULL */
	size_t len;       /* length of text */
};

struct sel_tokens {
	struct sel_token *v;
	size_t n, cap;
};

/* Splits text into tokens, always ending with SEL_TOK_EOF. Token texts point into `text`, which
 * must outlive the tokens. Returns 0, -EINVAL (err filled) or -ENOMEM. */
int sel_tokenize(const char *text, struct sel_tokens *out, struct pal_selector_error *err);
void sel_tokens_free(struct sel_tokens *t);
/* A short human name for a token kind, for error messages ("\"==\"", "end of selector"...). */
const char *sel_tok_name(enum sel_tok_kind kind);

/* Fills err; the message is printf-formatted and truncated to fit. */
__attribute__((format(printf, 3, 4))) void sel_error(struct pal_selector_error *err, int col,
						     const char *fmt, ...);

/* Syntax tree. AND/OR have two or more children, NOT exactly one (never another NOT: double
 * negations are folded while parsing). */
enum sel_node_kind {
	SEL_ALL,
	SEL_GLOBAL,
	SEL_HAS,
	SEL_EQ,
	SEL_NE,
	SEL_CONTAINS,
	SEL_STARTS_WITH,
	SEL_ENDS_WITH,
	SEL_IN,
	SEL_NOT_IN,
	SEL_NOT,
	SEL_AND,
	SEL_OR,
};

struct sel_node {
	enum sel_node_kind kind;
	char *key;   /* label comparisons and HAS */
	char *value; /* EQ, NE, CONTAINS, STARTS_WITH, ENDS_WITH */
	char **set;  /* IN, NOT_IN: sorted by strcmp, no duplicates */
	size_t nset;
	struct sel_node **kids; /* NOT, AND, OR */
	size_t nkids;
};

struct pal_selector {
	struct sel_node *root;
};

/* Label whose presence marks a namespaced resource (Calico's projectcalico.org/namespace). */
#define SEL_NAMESPACE_LABEL "projectcalico.org/namespace"
/* Maximum nesting of parentheses; deeper input is rejected rather than risking the stack. */
#define SEL_MAX_DEPTH 256
/* Longest label key accepted in a selector (Calico's tokenizer.MaxLabelLength). */
#define SEL_MAX_KEY_LEN 512

#endif
