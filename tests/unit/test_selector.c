/* Selector engine tests: Calico's selector language, table-driven.
 *
 * Each table row is one assertion. Rows marked "Calico" come from libcalico-go's parser and
 * tokenizer tests; the rest pin down quirks, error columns and the canonical form.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Builds a label set from "k=v;k2=v2" (split at the first '=' of each item). */
static void labels_from(struct pal_labels *l, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;

	for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '=');

		cr_assert(eq, "bad label spec item %s", item);
		*eq = '\0';
		pal_labels_set(l, item, eq + 1);
	}
	free(copy);
}

static struct pal_selector *must_parse(const char *text)
{
	struct pal_selector *s = NULL;
	struct pal_selector_error err;
	int rc = pal_selector_parse(text, &s, &err);

	cr_assert_eq(rc, 0, "parse of [%s] failed: col %d: %s", text, err.col, err.message);
	cr_assert(s);
	return s;
}

/* ---- matching ---- */

struct match_case {
	const char *sel;
	const char *labels;
	bool want;
};

static const struct match_case match_cases[] = {
	/* equality (Calico) */
	{ "a == \"b\"", "a=b", true },
	{ "a == \"b\"", "a=b;c=d", true },
	{ "a == \"b\"", "", false },
	{ "a == \"b\"", "a=c", false },
	{ "a == \"b\"", "c=d", false },
	{ "a == 'a'", "a=a", true },
	{ "a == 'a'", "a=b", false },
	{ "a == 'a'", "", false },
	{ "a == \"\"", "a=", true },
	{ "a == \"\"", "", false },
	{ "a == \"B\"", "a=b", false }, /* case-sensitive values */
	{ "A == \"b\"", "a=b", false }, /* case-sensitive keys */
	{ "a == \"b \"", "a=b", false }, /* whitespace inside strings is significant */
	/* inequality: an absent label is "not equal" */
	{ "a != \"b\"", "a=a", true },
	{ "a != \"a\"", "", true },
	{ "a != \"a\"", "b=a", true },
	{ "a != \"a\"", "a=a", false },
	{ "a != 'a'", "a=a", false },
	{ "a != \"\"", "", true },
	{ "a != \"\"", "a=", false },
	/* sets (Calico) */
	{ "a in {\"'\", '\"', \"c\"}", "a=c", true },
	{ "a in {\"'\", '\"', \"c\"}", "a=\"", true },
	{ "a in {\"'\", '\"', \"c\"}", "a='", true },
	{ "a in {\"'\", '\"', \"c\"}", "", false },
	{ "a in {\"'\", '\"', \"c\"}", "a=e", false },
	{ "a not in {\"'\", '\"', \"c\"}", "", true },
	{ "a not in {\"'\", '\"', \"c\"}", "a=e", true },
	{ "a not in {\"'\", '\"', \"c\"}", "a=c", false },
	{ "a not in {\"'\", '\"', \"c\"}", "a=\"", false },
	{ "a in {\"a\"}", "a=a", true },
	{ "a in {\"a\"}", "a=b", false },
	{ "a in {\"a\", \"b\"}", "a=b", true },
	{ "a in {\"a\", \"b\"}", "a=c", false },
	{ "a not in {\"d\", \"e\"}", "a=a", true },
	{ "a not in {\"a\"}", "a=a", false },
	{ "a in {\"z\", \"m\", \"a\", \"q\", \"b\"}", "a=q", true }, /* unsorted input still found */
	{ "a in {\"z\", \"m\", \"a\", \"q\", \"b\"}", "a=c", false },
	{ "a in {\"x\", \"x\"}", "a=x", true },
	{ "a in {}", "a=", false }, /* the empty set matches nothing */
	{ "a in {}", "", false },
	{ "a not in {}", "", true }, /* ... and its complement everything */
	{ "a not in {}", "a=x", true },
	{ "a in {\"\"}", "a=", true },
	{ "a in {\"x\",}", "a=x", true }, /* trailing comma */
	{ "!a in {\"a\"}", "a=b", true },
	{ "!a in {\"a\"}", "a=a", false },
	{ "!a in {\"a\"}", "", true },
	/* has / absent labels */
	{ "has(a)", "a=b", true },
	{ "has(a)", "a=", true },
	{ "has(a)", "", false },
	{ "has(b)", "a=b", false },
	{ "!has(a)", "b=b", true },
	{ "!has(a)", "a=b", false },
	{ "! has(a)", "a=b", false },
	{ "!!has(b)", "a=b", false },
	{ "!!has(b)", "b=x", true },
	{ "!!! has(a)", "a=b", false },
	{ "!!!has(a)", "a=b", false },
	{ "!! ! has(a)", "a=b", false },
	{ "! !!has(a)", "a=b", false },
	{ "!!!!has(a)", "a=b", true },
	{ "!(!has(a))", "a=b", true },
	{ "!(!has(a))", "", false },
	/* contains / starts with / ends with (Calico) */
	{ "a contains \"a\"", "a=a", true },
	{ "a contains \"a\"", "a=bab", true },
	{ "a contains \"a\"", "a=aaa;b=c", true },
	{ "a contains \"a\"", "", false },
	{ "a contains \"a\"", "a=b", false },
	{ "a contains \"a\"", "b=aaa", false },
	{ "a contains \"\"", "a=", true },
	{ "a contains \"\"", "", false },
	{ "a starts with \"a\"", "a=a", true },
	{ "a starts with \"a\"", "a=aaa;b=c", true },
	{ "a starts with \"a\"", "a=b", false },
	{ "a starts with \"a\"", "", false },
	{ "a starts with \"a\"", "a=abb", true },
	{ "a starts with \"a\"", "a=baa", false },
	{ "a starts with \"a\"", "b=aaa", false },
	{ "a starts with \"abc\"", "a=ab", false },
	{ "a ends with \"a\"", "a=a", true },
	{ "a ends with \"a\"", "a=aaa;b=c", true },
	{ "a ends with \"a\"", "a=b", false },
	{ "a ends with \"a\"", "b=aaa", false },
	{ "a ends with \"a\"", "a=bba", true },
	{ "a ends with \"a\"", "a=aab", false },
	{ "a ends with \"a\"", "", false },
	{ "a ends with \"abc\"", "a=bc", false },
	{ "a ends with \"abc\"", "a=abc", true },
	{ "!a contains \"x\"", "", true },
	/* all / empty / global */
	{ "", "", true },
	{ " ", "", true },
	{ "", "a=b", true },
	{ "all()", "", true },
	{ " all()", "a=b", true },
	{ "!all()", "a=b", false },
	{ "global()", "", true },
	{ "global()", "a=b", true },
	{ "global()", "projectcalico.org/namespace=default", false },
	{ "!global()", "projectcalico.org/namespace=default", true },
	/* boolean expressions (Calico) */
	{ "a == \"b\" && c == \"d\"", "a=b;c=d", true },
	{ "a == \"b\" && c == \"d\"", "a=b;c=e", false },
	{ "a == \"b\" && c == \"d\"", "a=c;c=d", false },
	{ "a == \"b\" && c == \"d\"", "a=b", false },
	{ "a == \"b\" && c == \"d\"", "", false },
	{ "a == \"b\" || c == \"d\"", "a=b", true },
	{ "a == \"b\" || c == \"d\"", "c=d", true },
	{ "a == \"b\" || c == \"d\"", "a=e;c=e", false },
	{ "a == \"b\" || c == \"d\"", "", false },
	{ "a == \"b\" || c == \"d\"", "a=b;c=d", true },
	{ "a == \"b\" || c == \"d\"", "c=e", false },
	{ "a == \"b\" || c == \"d\"", "a=e", false },
	{ "a == 'a1' && b == 'b1'", "a=a1;b=b1", true },
	{ "a != 'a1' && b == 'b1'", "a=a1;b=b1", false },
	{ "a != 'a1' && b != 'b1'", "a=a1;b=b1", false },
	{ "a == 'a1' || b == 'b1'", "a=a1;b=b1", true },
	{ "a != 'a1' || b == 'b1'", "a=a1;b=b1", true },
	{ "a == 'a1' && b != 'b1'", "a=a1;b=b1", false },
	{ "a != 'a1' && !b == 'b1'", "a=a1;b=b1", false },
	{ "!a == 'a1' && b == 'b1'", "a=a1;b=b1", false },
	{ "!a == 'a1' && b == 'b1'", "a=a2;b=b1", true },
	{ "has(a) && !has(b)", "a=a", true },
	{ "!has(b) && has(a)", "a=a", true },
	{ "!(!has(a) || has(b))", "a=a", true },
	{ "!(has(b) || !has(a))", "a=a", true },
	{ "!(has(b) || !has(a))", "a=a;b=b", false },
	{ "a == 'a1' || b != 'b1'", "a=a1;b=b1", true },
	{ "a != 'a1' || b != 'b1'", "a=a1;b=b1", false },
	{ "! a == 'a1' || ! b == 'b1'", "a=a1;b=b1", false },
	/* precedence: && binds tighter than ||, ! tighter than both */
	{ "a == \"1\" || b == \"1\" && c == \"1\"", "a=1", true },
	{ "a == \"1\" || b == \"1\" && c == \"1\"", "b=1", false },
	{ "(a == \"1\" || b == \"1\") && c == \"1\"", "a=1", false },
	{ "(a == \"1\" || b == \"1\") && c == \"1\"", "b=1;c=1", true },
	{ "b == \"1\" && c == \"1\" || a == \"1\"", "a=1", true },
	{ "!has(a) || has(b)", "a=1;b=1", true },
	{ "!has(a) || has(b)", "a=1", false },
	{ "!(has(a) || has(b))", "", true },
	{ "!(has(a) || has(b))", "b=1", false },
	{ "!has(a) && has(b)", "b=1", true },
	{ "!(has(a) && has(b))", "b=1", true },
	{ "!(has(a) && has(b))", "a=1;b=1", false },
	{ "has(a) && has(b) && has(c)", "a=1;b=1", false },
	{ "has(a) || has(b) || has(c)", "c=1", true },
	{ "((((has(a)))))", "a=1", true },
	/* whitespace and spelling quirks */
	{ "a==\"b\"", "a=b", true },
	{ "a=='b'&&c!='d'", "a=b", true },
	{ "\ta\t==\t\"b\"\t", "a=b", true },
	{ "has( a )", "a=1", true },
	{ "has(\ta\t)", "a=1", true },
	{ "all( )", "", true },
	{ "global( )", "", true },
	{ "a in{\"b\"}", "a=b", true },
	{ "a notin {\"b\"}", "a=b", false },
	{ "a not   in {\"b\"}", "a=c", true },
	{ "a startswith \"x\"", "a=xy", true },
	{ "a endswith \"y\"", "a=xy", true },
	{ "a starts  with \"x\"", "a=yx", false },
	{ "a contains\"x\"", "a=yxy", true },
	{ "a notin{\"bar\"}&&!has(foo)||b in{\"c\"}", "b=c;foo=1", true },
	{ "a notin{\"bar\"}&&!has(foo)||b in{\"c\"}", "a=bar;b=d", false },
	/* keyword-looking keys are ordinary keys outside operator position (Calico) */
	{ "contains contains 'contains'", "contains=xcontainsx", true },
	{ "startswith starts with \"v\"", "startswith=value", true },
	{ "endswith ends with \"e\"", "endswith=value", true },
	{ "endswith ends  with \"e\"", "endswith=valuex", false },
	{ "a  not  in  {\"bar\"}  &&  ! has( foo )  ||  b  in  {\"c\"} ", "b=c;foo=1", true },
	{ "a  not  in  {\"bar\"}  &&  ! has( foo )  ||  b  in  {\"c\"} ", "a=x", true },
	{ "a  not  in  {\"bar\"}  &&  ! has( foo )  ||  b  in  {\"c\"} ", "a=bar", false },
	{ "has(calico/k8s_ns)", "calico/k8s_ns=x", true },
	{ "in == \"x\"", "in=x", true },
	{ "not in {\"x\"}", "not=x", true }, /* the key "not", then the operator "in" */
	{ "not in {\"x\"}", "not=y", false },
	{ "has == \"x\"", "has=x", true },
	{ "all == \"x\"", "all=x", true },
	{ "global == \"x\"", "global=x", true },
	/* key characters: letters, digits, _ . / - (prefixes included) */
	{ "projectcalico.org/namespace == \"default\"", "projectcalico.org/namespace=default", true },
	{ "pcns.team == \"red\"", "pcns.team=red", true },
	{ "pcns.kubernetes.io/metadata.name in {\"dev\", \"prod\"}",
	  "pcns.kubernetes.io/metadata.name=prod", true },
	{ "has(calico/k8s_NS-.1/role)", "calico/k8s_NS-.1/role=x", true },
	{ "k8s-app == \"kube-dns\" && calico/k8s_ns == \"kube-system\"",
	  "calico/k8s_ns=kube-system;k8s-app=kube-dns", true },
	{ "-a == \"b\"", "-a=b", true },
	{ "1 == \"2\"", "1=2", true },
	/* quoting */
	{ "a == '\"'", "a=\"", true },
	{ "a == \"'\"", "a='", true },
	{ "a == 'x y'", "a=x y", true },
	{ "a == \"&& b == 'c'\"", "a=&& b == 'c'", true },
	{ "a == \"(\" || b == \")\"", "b=)", true },
	{ "a == \"\\\"", "a=\\", true }, /* no escapes: a backslash is just a character */
};

Test(selector, match_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		struct pal_labels l = { 0 };
		struct pal_selector *s = must_parse(c->sel);
		char *canon;
		struct pal_selector *s2;

		labels_from(&l, c->labels);
		cr_expect_eq(pal_selector_match(s, &l), c->want, "[%s] on {%s}: want %d", c->sel,
			     c->labels, c->want);
		/* The canonical form must mean the same thing. */
		canon = pal_selector_string(s);
		s2 = must_parse(canon);
		cr_expect_eq(pal_selector_match(s2, &l), c->want,
			     "canonical [%s] of [%s] on {%s}: want %d", canon, c->sel, c->labels,
			     c->want);
		pal_selector_free(s2);
		free(canon);
		pal_selector_free(s);
		pal_labels_free(&l);
	}
}

Test(selector, match_null_labels_is_empty_set)
{
	struct pal_selector *s = must_parse("a != \"x\"");

	cr_expect(pal_selector_match(s, NULL));
	pal_selector_free(s);
	s = must_parse("has(a)");
	cr_expect_not(pal_selector_match(s, NULL));
	pal_selector_free(s);
}

/* ---- canonical form ---- */

struct canon_case {
	const char *in, *want;
};

static const struct canon_case canon_cases[] = {
	/* Calico */
	{ "", "all()" },
	{ " all() ", "all()" },
	{ " (all() )", "all()" },
	{ "! (has( b)||! has(a ))", "!(has(b) || !has(a))" },
	{ "! (a == \"b\"&&! c != \"d\")", "!(a == \"b\" && !c != \"d\")" },
	{ "a == \"'\"", "a == \"'\"" },
	{ "a == '\"'", "a == '\"'" },
	{ "a contains '\"'", "a contains '\"'" },
	{ "a contains \"'\"", "a contains \"'\"" },
	{ "a startswith '\"'", "a starts with '\"'" },
	{ "a endswith \"'\"", "a ends with \"'\"" },
	{ "a!='\"'", "a != '\"'" },
	{ "a in {\"d\"}", "a in {\"d\"}" },
	{ "a in {\"a\", \"b\"}", "a in {\"a\", \"b\"}" },
	{ "a in {\"d\", \"a\", \"b\"}", "a in {\"a\", \"b\", \"d\"}" },
	{ "a in {\"z\", \"x\", \"y\", \"a\"}", "a in {\"a\", \"x\", \"y\", \"z\"}" },
	{ "a in {\"z\", \"z\", \"x\", \"y\", \"x\", \"a\"}", "a in {\"a\", \"x\", \"y\", \"z\"}" },
	{ "k == 'v' && x == 'y'", "(k == \"v\" && x == \"y\")" },
	{ "k == 'v' || has(x)", "(k == \"v\" || has(x))" },
	{ "!(k == 'v')", "!k == \"v\"" },
	{ "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
	  "!(!((k == \"v\" && has(t)) || all()) && a in {\"b\", \"c\"})" },
	/* ours */
	{ "a=='b'", "a == \"b\"" },
	{ "a == \"web\"", "a == \"web\"" },
	{ "a != \"\"", "a != \"\"" },
	{ "has(x)", "has(x)" },
	{ "has( x )", "has(x)" },
	{ "global()", "global()" },
	{ "global( )", "global()" },
	{ "!global()", "!global()" },
	{ "!all()", "!all()" },
	{ "a in {}", "a in {}" },
	{ "a not in {}", "a not in {}" },
	{ "a notin{'y','x',}", "a not in {\"x\", \"y\"}" },
	{ "a in {'\"', \"'\"}", "a in {'\"', \"'\"}" }, /* sorted bytewise: " (0x22) < ' (0x27) */
	{ "a in {\"B\", \"a\", \"A\", \"b\"}", "a in {\"A\", \"B\", \"a\", \"b\"}" },
	{ "a in {\"ab\", \"a\", \"\"}", "a in {\"\", \"a\", \"ab\"}" },
	{ "a starts  with 'x'", "a starts with \"x\"" },
	{ "a ends with 'x'", "a ends with \"x\"" },
	{ "!!has(a)", "has(a)" },
	{ "!!!has(a)", "!has(a)" },
	{ "!(!has(a))", "has(a)" },
	{ "!(!(!has(a)))", "!has(a)" },
	{ "!!(!has(a))", "!has(a)" },
	{ "((a == 'b'))", "a == \"b\"" },
	{ "a == 'b' && c == 'd' && e == 'f'", "(a == \"b\" && c == \"d\" && e == \"f\")" },
	{ "(a == 'b' && c == 'd') && e == 'f'", "((a == \"b\" && c == \"d\") && e == \"f\")" },
	{ "a == 'b' && (c == 'd' && e == 'f')", "(a == \"b\" && (c == \"d\" && e == \"f\"))" },
	{ "has(a) || has(b) && has(c)", "(has(a) || (has(b) && has(c)))" },
	{ "has(a) && has(b) || has(c)", "((has(a) && has(b)) || has(c))" },
	{ "!has(a) && !has(b)", "(!has(a) && !has(b))" },
	{ "!(has(a) && has(b))", "!(has(a) && has(b))" },
	{ "(has(a))", "has(a)" },
	{ "(has(a)) && (has(b))", "(has(a) && has(b))" },
	{ "all() && all()", "(all() && all())" },
	{ "projectcalico.org/namespace == 'x'", "projectcalico.org/namespace == \"x\"" },
};

Test(selector, canonical_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(canon_cases); i++) {
		const struct canon_case *c = &canon_cases[i];
		struct pal_selector *s = must_parse(c->in), *s2;
		char *got = pal_selector_string(s), *again;

		cr_expect_str_eq(got, c->want, "canonical form of [%s]", c->in);
		/* Re-parsing the canonical form must print it unchanged (a fixed point). */
		s2 = must_parse(got);
		again = pal_selector_string(s2);
		cr_expect_str_eq(again, got, "canonical form [%s] is not stable", got);
		free(again);
		pal_selector_free(s2);
		free(got);
		pal_selector_free(s);
	}
}

/* The match table's selectors also round-trip to a fixed point. */
Test(selector, canonical_fixed_point_over_match_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		struct pal_selector *s = must_parse(match_cases[i].sel), *s2;
		char *a = pal_selector_string(s), *b;

		s2 = must_parse(a);
		b = pal_selector_string(s2);
		cr_expect_str_eq(b, a, "[%s]", match_cases[i].sel);
		free(a);
		free(b);
		pal_selector_free(s);
		pal_selector_free(s2);
	}
}

/* ---- errors ---- */

struct error_case {
	const char *sel;
	int col;
	const char *msg; /* substring of the message */
};

static const struct error_case error_cases[] = {
	/* Calico's bad selectors */
	{ "b == b", 6, "expected a quoted string after \"==\"" },
	{ "b contains b", 12, "quoted string after \"contains\"" },
	{ "b starts with b", 15, "quoted string after \"starts with\"" },
	{ "b ends with b", 13, "quoted string after \"ends with\"" },
	{ "'b1' == b", 1, "expected a label, has(), all(), global()" },
	{ "b", 2, "after label \"b\"" },
	{ "a b", 3, "expected an operator" },
	{ "!", 2, "found the end of the selector" },
	{ "foo == \"bar\" &", 14, "expected \"&&\"" },
	{ "foo == \"bar\" |", 14, "expected \"||\"" },
	{ "foo != ||", 8, "quoted string after \"!=\"" },
	{ "foo in {\"\", ||", 13, "a quoted string or \"}\"" },
	{ "foo in \"\"", 8, "set literal" },
	{ "\"FOO", 1, "unterminated string" },
	{ "\"FOO'", 1, "unterminated string" },
	{ "'FOO", 1, "unterminated string" },
	{ "(", 2, "found the end of the selector" },
	{ "(a == \"foo\"", 12, "\")\" to close \"(\" at column 1" },
	{ ")", 1, "found \")\"" },
	{ "()", 2, "found \")\"" },
	{ "%", 1, "unexpected character '%'" },
	{ "a == \"b\" && %", 13, "unexpected character '%'" },
	{ "a == \"b\" || %", 13, "unexpected character '%'" },
	{ "a ", 3, "expected an operator" },
	{ "has(foo) &&", 12, "found the end of the selector" },
	{ "label starts foo \"value\"", 14, "expected \"with\" after \"starts\"" },
	{ "label ends foo \"value\"", 12, "expected \"with\" after \"ends\"" },
	{ "label squiggles \"value\"", 7, "expected an operator" },
	{ "a not in \"bar\"", 10, "set literal {...} after \"not in\"" },
	/* ours: each points at the offending token */
	{ "a = \"b\"", 3, "expected \"==\"" },
	{ "a =\"b\"", 3, "single \"=\"" },
	{ "a == \"b\" & c == \"d\"", 10, "\"&&\"" },
	{ "a == \"b\" | c == \"d\"", 10, "\"||\"" },
	{ "a not x {}", 7, "expected \"in\" after \"not\"" },
	{ "a ==", 5, "found the end of the selector" },
	{ "a == \"b", 6, "unterminated string: no closing \"" },
	{ "a == 'b", 6, "unterminated string: no closing '" },
	{ "has (a)", 5, "after label \"has\", found \"(\"" },
	{ "has(", 5, "expected a label name after \"has(\"" },
	{ "has()", 5, "expected a label name" },
	{ "has(a", 6, "expected \")\" to close \"has(a\"" },
	{ "has(a b)", 7, "expected \")\"" },
	{ "has('a')", 5, "label name" },
	{ "all(x)", 5, "expected \")\" after \"all(\"" },
	{ "all", 4, "after label \"all\"" },
	{ "all ()", 5, "found \"(\"" },
	{ "global(", 8, "expected \")\" after \"global(\"" },
	{ "a in {\"x\" \"y\"}", 11, "\",\" or \"}\" after a set member" },
	{ "a in {,}", 7, "a quoted string or \"}\"" },
	{ "a in {\"x\",,}", 11, "a quoted string or \"}\"" },
	{ "a in {\"x\"", 10, "found the end of the selector" },
	{ "a in {x}", 7, "found label \"x\"" },
	{ "a in (\"x\")", 6, "set literal" },
	/* operators end at a word boundary (current Calico tokenizer) */
	{ "a inside \"x\"", 3, "expected an operator" },
	{ "a containsx \"b\"", 3, "expected an operator" },
	{ "a notinx {}", 3, "expected an operator" },
	{ "a startswithx \"b\"", 3, "expected an operator" },
	{ "a startsfoo \"b\"", 3, "expected an operator" },
	{ "a ends", 7, "expected \"with\" after \"ends\"" },
	{ "a in x", 6, "set literal {...} after \"in\", found label \"x\"" },
	{ "a not in x", 10, "found label \"x\"" },
	{ "a starts with x", 15, "quoted string after \"starts with\"" },
	{ "a contains x", 12, "quoted string after \"contains\"" },
	{ "a == \"b\" c == \"d\"", 10, "expected \"&&\", \"||\" or the end" },
	{ "a == \"b\")", 9, "unbalanced" },
	{ "has(a) has(b)", 8, "expected \"&&\", \"||\" or the end" },
	{ "a == \"b\" && ", 13, "found the end of the selector" },
	{ "&& a == \"b\"", 1, "found \"&&\"" },
	{ "|| has(a)", 1, "found \"||\"" },
	{ "a == \"b\" && || has(c)", 13, "found \"||\"" },
	{ "a == \"b\"\n", 9, "unexpected character \\x0a" }, /* only space and tab are blanks */
	{ "\ra == \"b\"", 1, "\\x0d" },
	{ "a == \"b\" && b\xc3\xa9 == \"c\"", 14, "expected an operator" },
	{ "\xc3\xa9", 1, "unexpected character \\xc3" },
	{ "a == b\"", 7, "unterminated string" }, /* the whole input is tokenized first */
	{ "a == \"x\" && !", 14, "found the end" },
	{ "a.b == {}", 8, "quoted string after \"==\"" },
	{ "a !has(b)", 3, "found \"!\"" },
	{ "a == 'b' || (c == 'd' && (e == 'f')", 36, "\")\" to close \"(\" at column 13" },
	{ "{}", 1, "found \"{\"" },
	{ "\"a\"", 1, "found string \"a\"" },
	{ ",", 1, "found \",\"" },
};

Test(selector, error_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		struct pal_selector *s = (struct pal_selector *)&s; /* must be reset to NULL */
		struct pal_selector_error err;
		int rc;

		memset(&err, 0x55, sizeof(err));
		rc = pal_selector_parse(c->sel, &s, &err);
		cr_expect_eq(rc, -EINVAL, "[%s] should fail, got %d", c->sel, rc);
		if (rc == 0) {
			pal_selector_free(s);
			continue;
		}
		cr_expect_null(s, "[%s] left *out set on failure", c->sel);
		cr_expect_eq(err.col, c->col, "[%s]: column %d, want %d (%s)", c->sel, err.col,
			     c->col, err.message);
		cr_expect(memchr(err.message, '\0', sizeof(err.message)) != NULL,
			  "[%s]: message not NUL-terminated", c->sel);
		cr_expect(strstr(err.message, c->msg) != NULL, "[%s]: message \"%s\" lacks \"%s\"",
			  c->sel, err.message, c->msg);
	}
}

/* Calico caps label keys at 512 characters, in comparisons and in has(). */
Test(selector, key_length_limit)
{
	char key[600], text[700];
	struct pal_selector *s = NULL;
	struct pal_selector_error err;
	struct pal_labels l = { 0 };

	memset(key, 'k', 512);
	key[512] = '\0';
	snprintf(text, sizeof(text), "x == 'y' && %s == 'v'", key);
	s = must_parse(text);
	pal_labels_set(&l, "x", "y");
	pal_labels_set(&l, key, "v");
	cr_expect(pal_selector_match(s, &l));
	pal_selector_free(s);
	snprintf(text, sizeof(text), "has( %s )", key);
	s = must_parse(text);
	cr_expect(pal_selector_match(s, &l));
	pal_selector_free(s);
	pal_labels_free(&l);

	strcat(key, "k"); /* 513 */
	snprintf(text, sizeof(text), "x == 'y' && %s == 'v'", key);
	cr_expect_eq(pal_selector_parse(text, &s, &err), -EINVAL);
	cr_expect_null(s);
	cr_expect_eq(err.col, 13);
	cr_expect(strstr(err.message, "longer than 512"), "%s", err.message);
	snprintf(text, sizeof(text), "has(%s)", key);
	cr_expect_eq(pal_selector_parse(text, &s, &err), -EINVAL);
	cr_expect_eq(err.col, 5);
	cr_expect(strstr(err.message, "longer than 512"), "%s", err.message);
}

Test(selector, error_pointer_may_be_null)
{
	struct pal_selector *s = NULL;

	cr_expect_eq(pal_selector_parse("a ==", &s, NULL), -EINVAL);
	cr_expect_null(s);
}

Test(selector, long_label_in_error_is_truncated)
{
	char text[600];
	struct pal_selector *s = NULL;
	struct pal_selector_error err;

	memset(text, 'k', 500);
	strcpy(text + 500, " = 'x'");
	cr_expect_eq(pal_selector_parse(text, &s, &err), -EINVAL);
	cr_expect_eq(err.col, 502);
	cr_expect_lt(strlen(err.message), sizeof(err.message));
	strcpy(text + 500, " \"x\"");
	cr_expect_eq(pal_selector_parse(text, &s, &err), -EINVAL);
	cr_expect_eq(err.col, 502);
	cr_expect_lt(strlen(err.message), sizeof(err.message));
}

/* ---- queries ---- */

struct query_case {
	const char *sel;
	bool is_all, is_global, uses_global;
};

static const struct query_case query_cases[] = {
	{ "", true, false, false },
	{ " \t ", true, false, false },
	{ "all()", true, false, false },
	{ "(all())", true, false, false },
	{ "!!all()", true, false, false },
	{ "!all()", false, false, false },
	{ "all() && all()", false, false, false },
	{ "has(a)", false, false, false },
	{ "global()", false, true, true },
	{ " ( global( ) ) ", false, true, true },
	{ "!global()", false, false, true },
	{ "global() && has(a)", false, false, true },
	{ "has(a) || (has(b) && !global())", false, false, true },
	{ "global == \"x\"", false, false, false },
};

Test(selector, query_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		struct pal_selector *s = must_parse(c->sel);

		cr_expect_eq(pal_selector_is_all(s), c->is_all, "is_all [%s]", c->sel);
		cr_expect_eq(pal_selector_is_global(s), c->is_global, "is_global [%s]", c->sel);
		cr_expect_eq(pal_selector_uses_global(s), c->uses_global, "uses_global [%s]",
			     c->sel);
		pal_selector_free(s);
	}
}

/* Calico's validator tokenizes a namespaceSelector that mentions global(): one token or refused. */
Test(selector, text_is_global)
{
	static const char *const yes[] = { "global()", " global( ) ", "\tglobal(\t)" };
	static const char *const no[] = { "(global())", "!!global()", "global() && has(a)",
					  "global", "global(", "has(global)", "", "all()",
					  "global() )" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		cr_expect(pal_selector_text_is_global(yes[i]), "[%s]", yes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		cr_expect_not(pal_selector_text_is_global(no[i]), "[%s]", no[i]);
}

/* ---- limits ---- */

static char *nested(int depth, const char *core)
{
	size_t len = strlen(core) + 2 * (size_t)depth + 1;
	char *t = malloc(len);

	memset(t, '(', (size_t)depth);
	strcpy(t + depth, core);
	memset(t + depth + strlen(core), ')', (size_t)depth);
	t[len - 1] = '\0';
	return t;
}

Test(selector, nesting_at_limit_is_accepted)
{
	char *t = nested(256, "has(a)");
	struct pal_selector *s = must_parse(t);
	char *str = pal_selector_string(s);

	cr_expect_str_eq(str, "has(a)");
	free(str);
	pal_selector_free(s);
	free(t);
}

Test(selector, nesting_beyond_limit_is_rejected)
{
	char *t = nested(257, "has(a)");
	struct pal_selector *s = NULL;
	struct pal_selector_error err;

	cr_expect_eq(pal_selector_parse(t, &s, &err), -EINVAL);
	cr_expect_eq(err.col, 257, "column %d", err.col);
	cr_expect(strstr(err.message, "nested more than 256"), "%s", err.message);
	free(t);

	/* Pathological depth must fail cleanly too, not overflow the stack. */
	t = nested(100000, "has(a)");
	cr_expect_eq(pal_selector_parse(t, &s, &err), -EINVAL);
	free(t);
}

/* Selector text matches the labels {key: yes} (no labels when yes is NULL) and not {key: no}. */
static void expect_match_then_not(const char *text, const char *key, const char *yes,
				  const char *no)
{
	struct pal_selector *s = must_parse(text);
	struct pal_labels l = { 0 };

	if (yes)
		pal_labels_set(&l, key, yes);
	cr_expect(pal_selector_match(s, &l), "no match with %s=%s", key, yes ? yes : "(unset)");
	pal_labels_set(&l, key, no);
	cr_expect_not(pal_selector_match(s, &l), "a match with %s=%s", key, no);
	pal_selector_free(s);
	pal_labels_free(&l);
}

Test(selector, long_negation_runs_do_not_recurse)
{
	size_t n = 200001; /* odd: negated */
	char *t = malloc(n + 8);

	cr_assert_not_null(t);
	memset(t, '!', n);
	strcpy(t + n, "has(a)");
	expect_match_then_not(t, "a", NULL, "1");
	free(t);
}

Test(selector, huge_flat_expression)
{
	/* 20000 alternatives in one OR, and a 20000-member set. */
	size_t n = 20000, cap = n * 32 + 64, off = 0;
	char *t = malloc(cap);

	cr_assert_not_null(t);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(t + off, cap - off, "%sk%zu == \"v\"", i ? " || " : "", i);
	expect_match_then_not(t, "k19999", "v", "w");

	off = (size_t)snprintf(t, cap, "k in {");
	for (size_t i = n; i-- > 0;)
		off += (size_t)snprintf(t + off, cap - off, "\"v%zu\",", i);
	snprintf(t + off, cap - off, "}");
	expect_match_then_not(t, "k", "v12345", "v20000");
	free(t);
}

Test(selector, error_leaves_no_leak_midway)
{
	/* Errors deep inside a partially built tree must free it (LeakSanitizer checks). */
	static const char *const bad[] = {
		"has(a) && (has(b) || (c in {\"x\", \"y\"} && d == ",
		"a in {\"1\", \"2\", \"3\", \"4\", \"5\" x",
		"(a == 'b' || c == 'd') && (e == 'f' || g ==",
		"!(!(has(a) && has(b)) || !(c not in {'x'}) && ",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pal_selector *s = NULL;

		cr_expect_eq(pal_selector_parse(bad[i], &s, NULL), -EINVAL, "[%s]", bad[i]);
		cr_expect_null(s);
	}
}

Test(selector, free_null_is_noop)
{
	pal_selector_free(NULL);
}
