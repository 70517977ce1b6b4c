/* Field helpers shared by every resource decoder: paths, errors, scalar typing, strings, lists,
 * labels, selectors, CIDRs and the unknown-field check (see decode.h). */
#include "decode.h"
#include "oom.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t n)
{
	return pal_or_unwind(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return pal_or_unwind(calloc(n ? n : 1, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return pal_or_unwind(strdup(s));
}

void free_str_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- paths and errors ---- */

size_t path_push(struct dctx *c, const char *field)
{
	size_t old = c->path_len;
	int w = snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", field);

	if (w > 0)
		c->path_len = old + (size_t)w < sizeof(c->path) ? old + (size_t)w : sizeof(c->path) - 1;
	return old;
}

size_t path_push_index(struct dctx *c, size_t i)
{
	size_t old = c->path_len;
	int w = snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);

	if (w > 0)
		c->path_len = old + (size_t)w < sizeof(c->path) ? old + (size_t)w : sizeof(c->path) - 1;
	return old;
}

void path_pop(struct dctx *c, size_t old_len)
{
	c->path_len = old_len;
	c->path[old_len] = '\0';
}

struct pal_pos node_pos(const struct dctx *c, const struct yt_node *n)
{
	struct pal_pos p = { .file = c->file, .line = n ? n->line : 0, .col = n ? n->col : 0 };

	return p;
}

static void vreport(struct dctx *c, enum pal_severity sev, struct pal_pos pos, const char *path,
		    const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pal_diag_add(c->d, sev, pos, path, "%s", msg);
}

void derr(struct dctx *c, const struct yt_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, PAL_SEV_ERROR, node_pos(c, n), c->path, fmt, ap);
	va_end(ap);
}

void derr_field(struct dctx *c, const struct yt_node *map, const char *field, const char *fmt, ...)
{
	const struct yt_node *v = yt_map_get(map, field);
	size_t old = path_push(c, field);
	va_list ap;

	va_start(ap, fmt);
	vreport(c, PAL_SEV_ERROR, node_pos(c, v ? v : map), c->path, fmt, ap);
	va_end(ap);
	path_pop(c, old);
}

/* ---- unknown fields ---- */

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions, so "form" is one
 * edit from "from"), case-insensitive. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[65][65];

	/* Field names are short; longer words are never "close" to one. */
	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca == cb ? 0 : 1);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *closest_name(const char *word, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t limit = strlen(word) / 3;

	/* Up to a third of the word may be wrong, at least 1 and at most 3 edits
	 * ("selecter" -> "selector", "ingres" -> "ingress", "Selector" -> "selector"). */
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	for (size_t i = 0; known[i]; i++) {
		size_t d = edit_distance(word, known[i]);

		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

void derr_choice(struct dctx *c, const struct yt_node *map, const char *field, const char *what,
		 const char *word, const char *const *known, const char *otherwise)
{
	const char *sugg = closest_name(word, known);

	if (sugg)
		derr_field(c, map, field, "%s \"%s\"; did you mean \"%s\"?", what, word, sugg);
	else
		derr_field(c, map, field, "%s \"%s\"; %s", what, word, otherwise);
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool expect_map(struct dctx *c, const struct yt_node *n)
{
	if (n->kind == YT_MAP)
		return true;
	derr(c, n, "expected a mapping (key: value), got %s", yt_kind_name(n));
	return false;
}

bool expect_seq(struct dctx *c, const struct yt_node *n)
{
	if (n->kind == YT_SEQ)
		return true;
	derr(c, n, "expected a list, got %s", yt_kind_name(n));
	return false;
}

const struct yt_node *push_field(struct dctx *c, const struct yt_node *map, const char *key,
				size_t *old)
{
	const struct yt_node *n = yt_map_get(map, key);

	if (yt_is_null(n))
		return NULL;
	*old = path_push(c, key);
	return n;
}

int enter_field(struct dctx *c, const struct yt_node *n, const char *key, enum yt_kind kind,
		size_t *old)
{
	if (yt_is_null(n))
		return 0;
	*old = path_push(c, key);
	if (!(kind == YT_SEQ ? expect_seq(c, n) : expect_map(c, n))) {
		path_pop(c, *old);
		return -1;
	}
	return 1;
}

int for_each_item(struct dctx *c, const struct yt_node *map, const char *key,
		  int (*item)(struct dctx *c, const struct yt_node *n, void *arg), void *arg)
{
	const struct yt_node *n = yt_map_get(map, key);
	size_t old;
	int r;

	if ((r = enter_field(c, n, key, YT_SEQ, &old)) <= 0)
		return r;
	for (size_t i = 0; i < n->n_items; i++) {
		size_t o2 = path_push_index(c, i);

		if (item(c, n->items[i], arg) < 0)
			r = -1;
		path_pop(c, o2);
	}
	path_pop(c, old);
	return r;
}

int get_seq(struct dctx *c, const struct yt_node *map, const char *key, const struct seq_items *d,
	    void *arg, void **out, size_t *n_out)
{
	const struct yt_node *n = yt_map_get(map, key);
	size_t old, k = 0;
	char *v;
	int r;

	if ((r = enter_field(c, n, key, YT_SEQ, &old)) <= 0)
		return r;
	if (n->n_items > d->max) {
		derr(c, n, "too many %s: %zu, at most %zu are allowed", d->what, n->n_items, d->max);
		path_pop(c, old);
		return -1;
	}
	v = xcalloc(n->n_items, d->size);
	for (size_t i = 0; i < n->n_items; i++) {
		size_t o2 = path_push_index(c, i);

		if (d->decode(c, n->items[i], v + k * d->size, arg) > 0)
			k++;
		else
			r = -1;
		path_pop(c, o2);
	}
	path_pop(c, old);
	if (r < 0) {
		for (size_t i = 0; d->clear && i < k; i++)
			d->clear(v + i * d->size);
		free(v);
		return -1;
	}
	*out = v;
	*n_out = k;
	return 1;
}

int decode_checked_map(struct dctx *c, const struct yt_node *map, const char *key,
		       const char *const *known,
		       int (*body)(struct dctx *c, const struct yt_node *n, void *arg), void *arg)
{
	size_t old;
	const struct yt_node *n = push_field(c, map, key, &old);
	int r;

	if (!n)
		return 0;
	r = check_fields(c, n, known, NULL) ? body(c, n, arg) : -1;
	path_pop(c, old);
	return r;
}

bool check_fields(struct dctx *c, const struct yt_node *n, const char *const *known,
		  const char *const *ignored)
{
	/* The line each known (then ignored) field was first seen on, to report repeats: linear in
	 * the mapping's size, where comparing every key with every earlier one was quadratic (a
	 * mapping of a million keys, unknown ones included, took minutes). */
	int first_line[64] = { 0 };
	size_t n_known = 0;

	if (!expect_map(c, n))
		return false;
	while (known && known[n_known])
		n_known++;
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct yt_node *k = n->pairs[i].key;
		size_t old, idx = 0;
		bool found = false;
		int first_seen = 0;

		for (size_t j = 0; known && known[j] && !found; j++)
			if (strcmp(k->text, known[j]) == 0) {
				idx = j;
				found = true;
			}
		for (size_t j = 0; ignored && ignored[j] && !found; j++)
			if (strcmp(k->text, ignored[j]) == 0) {
				idx = n_known + j;
				found = true;
			}
		if (found && idx >= sizeof(first_line) / sizeof(first_line[0])) {
			/* A longer field list than any today: compare with the earlier keys. */
			for (size_t j = 0; j < i && !first_seen; j++)
				if (strcmp(n->pairs[j].key->text, k->text) == 0)
					first_seen = n->pairs[j].key->line;
		} else if (found) {
			first_seen = first_line[idx];
			if (!first_seen)
				first_line[idx] = k->line;
		}
		if (first_seen) {
			old = path_push(c, k->text);
			derr(c, k, "field \"%s\" appears more than once (first on line %d)", k->text,
			     first_seen);
			path_pop(c, old);
		}
		if (found)
			continue;
		old = path_push(c, k->text);
		{
			const char *sugg = closest_name(k->text, known);

			if (sugg)
				derr(c, k, "unknown field \"%s\"; did you mean \"%s\"?", k->text, sugg);
			else
				derr(c, k, "unknown field \"%s\"", k->text);
		}
		path_pop(c, old);
	}
	return true;
}

/* ---- scalar typing ---- */

bool scalar_int(const struct yt_node *n, long long *out)
{
	const char *s;
	char *end;
	long long v;

	if (!n || n->kind != YT_SCALAR || n->style != YT_PLAIN || n->len == 0)
		return false;
	s = n->text;
	if (strlen(s) != n->len)
		return false;
	if (!(isdigit((unsigned char)s[0]) ||
	      ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* [0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+ or \.[0-9]+[eE][-+]?[0-9]+: a float with an exponent, as
 * go-yaml v2 resolves plain scalars (1e3 is 1000). */
static bool exponent_form(const char *s)
{
	size_t i = strspn(s, "0123456789"), frac = 0;

	if (s[i] == '.') {
		frac = strspn(s + i + 1, "0123456789");
		i += 1 + frac;
	}
	if (i == 0 || (s[0] == '.' && frac == 0) || (s[i] != 'e' && s[i] != 'E'))
		return false;
	i++;
	if (s[i] == '+' || s[i] == '-')
		i++;
	return s[i] && strspn(s + i, "0123456789") == strlen(s + i);
}

/* YAML 1.1 readers (go-yaml v2, under kubectl and calicoctl) read a plain integer written with a
 * leading 0 as octal (010 is 8), with 0x, 0o or 0b as hexadecimal, octal or binary, ignore '_'
 * in it (8_0 is 80), and read 1e3 as 1000. palisade reads decimal only, so such a value would be
 * another number here (010 as 10) or none at all (0x50 or 1e3 as a port name, matching nothing,
 * where Calico denies port 80): the decoders refuse these forms and name the value the other
 * readers see. exponent: count 1e3 among them (not for fields that take any number). Returns
 * true for such a scalar, with that value in *value (ULLONG_MAX when it is no whole number that
 * fits). */
bool scalar_nondecimal_int(const struct yt_node *n, bool exponent, unsigned long long *value)
{
	char buf[80], *d = buf;
	const char *s;
	bool underscore = false;
	int base = 10;

	if (!n || n->kind != YT_SCALAR || n->style != YT_PLAIN || n->len == 0 ||
	    n->len >= sizeof(buf) || strlen(n->text) != n->len)
		return false;
	for (const char *p = n->text; *p; p++) {
		if (*p == '_')
			underscore = true;
		else
			*d++ = *p;
	}
	*d = '\0';
	s = buf;
	if (*s == '+' || *s == '-')
		s++;
	if (exponent && exponent_form(s)) {
		double v = strtod(s, NULL);

		*value = buf[0] != '-' && v < 1e19 && v == floor(v) ? (unsigned long long)v
								      : ULLONG_MAX;
		return true;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && s[1] && !underscore) {
		/* Octal to them, unless a digit is 8 or 9 (a float then, 09 is 9); where octal and
		 * decimal agree (007) the readers do too. */
		if (strspn(s, "0123456789") != strlen(s) || strspn(s, "01234567") != strlen(s) ||
		    strtoull(s, NULL, 8) == strtoull(s, NULL, 10))
			return false;
		base = 8;
	} else if (s[0] == '0' && s[1]) {
		base = strspn(s, "01234567") == strlen(s) ? 8 : 10;
	} else if (!underscore) {
		return false; /* plain decimal (or not a number at all) */
	}
	if (!s[0])
		return false;
	for (const char *p = s; *p; p++) {
		int v = isdigit((unsigned char)*p) ? *p - '0'
			: isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10
						      : 99;

		if (v >= base)
			return false;
	}
	errno = 0;
	*value = strtoull(s, NULL, base);
	if (errno || buf[0] == '-')
		*value = ULLONG_MAX;
	return true;
}

bool refuse_nondecimal_int(struct dctx *c, const struct yt_node *n, const char *what,
			   bool exponent)
{
	unsigned long long v;

	if (!scalar_nondecimal_int(n, exponent, &v))
		return false;
	if (v == ULLONG_MAX)
		derr(c, n, "%s %s is not written in decimal; YAML 1.1 readers such as kubectl and "
			   "calicoctl read it as another number; write it in decimal",
		     what, n->text);
	else
		derr(c, n, "%s %s is not written in decimal; YAML 1.1 readers such as kubectl and "
			   "calicoctl read it as %llu; write %llu (or the decimal number you meant)",
		     what, n->text, v, v);
	return true;
}

static const char *const bool_true[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					  "on",   "On",   "ON",   NULL };
static const char *const bool_false[] = { "false", "False", "FALSE", "no", "No", "NO",
					   "off",   "Off",   "OFF",   NULL };

static bool scalar_bool(const struct yt_node *n, bool *out)
{
	if (!n || n->kind != YT_SCALAR || n->style != YT_PLAIN)
		return false;
	if (in_list(n->text, bool_true)) {
		*out = true;
		return true;
	}
	if (in_list(n->text, bool_false)) {
		*out = false;
		return true;
	}
	return false;
}

static bool scalar_number(const struct yt_node *n, double *out)
{
	char *end;
	double v;

	if (!n || n->kind != YT_SCALAR || n->style != YT_PLAIN || n->len == 0 ||
	    strlen(n->text) != n->len)
		return false;
	/* Decimal numbers only: strtod would also take "inf", "nan" and hex floats. */
	for (const char *p = n->text; *p; p++)
		if (!strchr("0123456789+-.eE", *p))
			return false;
	errno = 0;
	v = strtod(n->text, &end);
	if (errno || *end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* What a plain scalar would be to a YAML reader, for "expected a string" messages. */
static const char *plain_type(const struct yt_node *n)
{
	unsigned long long u;
	long long i;
	double d;
	bool b;

	if (n->kind != YT_SCALAR || n->style != YT_PLAIN)
		return NULL;
	if (scalar_int(n, &i) || scalar_number(n, &d) || scalar_nondecimal_int(n, true, &u))
		return "a number";
	if (scalar_bool(n, &b))
		return "a boolean";
	return NULL;
}

/* ---- strings ---- */

static int node_str(struct dctx *c, const struct yt_node *n, char **out)
{
	const char *t;

	if (yt_is_null(n))
		return 0;
	if (n->kind != YT_SCALAR) {
		derr(c, n, "expected a string, got %s", yt_kind_name(n));
		return -1;
	}
	t = plain_type(n);
	if (t) {
		/* Kubernetes rejects this too: "cannot unmarshal number into string". */
		derr(c, n, "expected a string, got %s; quote it: \"%s\"", t, n->text);
		return -1;
	}
	if (strlen(n->text) != n->len) {
		derr(c, n, "string contains a NUL character");
		return -1;
	}
	*out = xstrdup(n->text);
	return 1;
}

int get_field(struct dctx *c, const struct yt_node *map, const char *key, void *out,
		     int (*decode)(struct dctx *c, const struct yt_node *n, void *out))
{
	size_t old;
	const struct yt_node *n = push_field(c, map, key, &old);
	int r;

	if (!n)
		return 0;
	r = decode(c, n, out);
	path_pop(c, old);
	return r;
}

static int decode_str(struct dctx *c, const struct yt_node *n, void *out)
{
	return node_str(c, n, out);
}

static int decode_bool(struct dctx *c, const struct yt_node *n, void *out)
{
	if (scalar_bool(n, out))
		return 1;
	derr(c, n, "expected true or false");
	return -1;
}

static int decode_number(struct dctx *c, const struct yt_node *n, void *out)
{
	if (refuse_nondecimal_int(c, n, "number", false))
		return -1;
	if (scalar_number(n, out))
		return 1;
	derr(c, n, "expected a number, such as 100 or 10.5");
	return -1;
}

int get_str(struct dctx *c, const struct yt_node *map, const char *key, char **out)
{
	return get_field(c, map, key, out, decode_str);
}

int get_opt_str(struct dctx *c, const struct yt_node *map, const char *key, char **out)
{
	int r = get_str(c, map, key, out);

	if (r > 0 && (*out)[0] == '\0') {
		free(*out);
		*out = NULL;
		r = 0;
	}
	return r;
}

struct int_in_range {
	long long min, max;
	long long *out;
};

static int decode_int_in_range(struct dctx *c, const struct yt_node *n, void *arg)
{
	const struct int_in_range *a = arg;
	long long v;

	if (refuse_nondecimal_int(c, n, "integer", true))
		return -1;
	if (!scalar_int(n, &v)) {
		derr(c, n, "expected an integer between %lld and %lld", a->min, a->max);
		return -1;
	}
	if (v < a->min || v > a->max) {
		derr(c, n, "%lld is out of range; must be between %lld and %lld", v, a->min, a->max);
		return -1;
	}
	*a->out = v;
	return 1;
}

int get_int(struct dctx *c, const struct yt_node *map, const char *key, long long min,
	    long long max, long long *out)
{
	struct int_in_range a = { min, max, out };

	return get_field(c, map, key, &a, decode_int_in_range);
}

int get_bool(struct dctx *c, const struct yt_node *map, const char *key, bool *out)
{
	return get_field(c, map, key, out, decode_bool);
}

int get_number(struct dctx *c, const struct yt_node *map, const char *key, double *out)
{
	return get_field(c, map, key, out, decode_number);
}

/* A list of directions (spec.types of Calico policies, spec.policyTypes of Kubernetes ones):
 * Ingress and/or Egress, each at most once unless repeats_ok (Kubernetes' validation lets a type
 * repeat; Calico's does not). Sets *in / *eg for the values present. Returns 0 when absent, 1 when
 * read, -1 on errors. */
int get_direction_list(struct dctx *c, const struct yt_node *map, const char *key, bool *in,
		       bool *eg, bool repeats_ok)
{
	size_t old;
	const struct yt_node *n = push_field(c, map, key, &old);
	int r = 1;

	if (!n)
		return 0;
	if (!expect_seq(c, n)) {
		path_pop(c, old);
		return -1;
	}
	for (size_t i = 0; i < n->n_items; i++) {
		const struct yt_node *it = n->items[i];
		size_t o2 = path_push_index(c, i);
		bool *flag = NULL;

		if (it->kind == YT_SCALAR && strcmp(it->text, "Ingress") == 0)
			flag = in;
		else if (it->kind == YT_SCALAR && strcmp(it->text, "Egress") == 0)
			flag = eg;
		if (!flag) {
			derr(c, it, "invalid policy type \"%s\"; must be Ingress or Egress",
			     it->kind == YT_SCALAR ? it->text : "");
			r = -1;
		} else if (*flag && !repeats_ok) {
			derr(c, it, "'%s' type specified more than once", it->text);
			r = -1;
		} else {
			*flag = true;
		}
		path_pop(c, o2);
	}
	path_pop(c, old);
	return r;
}

int get_str_list(struct dctx *c, const struct yt_node *map, const char *key, char ***out,
		 size_t *n_out)
{
	const struct yt_node *n = yt_map_get(map, key);
	char **v;
	size_t old, k = 0;
	int r = 1;

	if ((r = enter_field(c, n, key, YT_SEQ, &old)) <= 0)
		return r;
	v = xcalloc(n->n_items, sizeof(*v));
	for (size_t i = 0; i < n->n_items; i++) {
		size_t o2 = path_push_index(c, i);
		char *s = NULL;
		int ri = node_str(c, n->items[i], &s);

		if (ri == 0) {
			derr(c, n->items[i], "list entries must not be empty");
			ri = -1;
		}
		if (ri < 0)
			r = -1;
		else
			v[k++] = s;
		path_pop(c, o2);
	}
	path_pop(c, old);
	if (r < 0) {
		free_str_list(v, k);
		return -1;
	}
	*out = v;
	*n_out = k;
	return 1;
}

/* ---- names ---- */

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?, of any length. */
static bool dns_part_span(const char *s, size_t len)
{
	if (len == 0)
		return false;
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool is_dns_label(const char *s)
{
	size_t len = strlen(s);

	return len <= 63 && dns_part_span(s, len);
}

bool is_dns_subdomain(const char *s)
{
	size_t len = strlen(s);
	const char *p = s;

	if (len == 0 || len > 253)
		return false;
	/* As Kubernetes' IsDNS1123Subdomain (and Calico's name check): the parts between dots are not
	 * limited to 63 characters, so a Pod's workload endpoint "<node>-k8s-<pod>-eth0" of 64 or
	 * more without a dot is a valid name, as the pod's own name is. */
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (!dns_part_span(p, l))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

static bool is_alnum(char ch)
{
	return isalnum((unsigned char)ch) && (unsigned char)ch < 128;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], the "name" part of qualified names and values. */
static bool qualified_part(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

bool is_qualified_name(const char *s, const char **why)
{
	const char *slash = strchr(s, '/');
	const char *name = slash ? slash + 1 : s;

	if (slash) {
		char prefix[256];
		size_t pl = (size_t)(slash - s);

		if (pl == 0 || pl > 253) {
			*why = "prefix before '/' must be a DNS subdomain of 1 to 253 characters";
			return false;
		}
		memcpy(prefix, s, pl);
		prefix[pl] = '\0';
		if (!is_dns_subdomain(prefix)) {
			*why = "prefix before '/' must be a lower case DNS subdomain such as "
			       "example.com";
			return false;
		}
		if (strchr(name, '/')) {
			*why = "at most one '/' is allowed (prefix/name)";
			return false;
		}
	}
	if (strlen(name) == 0 || strlen(name) > 63) {
		*why = "name part must be 1 to 63 characters";
		return false;
	}
	if (!qualified_part(name, strlen(name))) {
		*why = "name part must consist of alphanumeric characters, '-', '_' or '.', and "
		       "must start and end with an alphanumeric character";
		return false;
	}
	return true;
}

bool is_label_value(const char *s, const char **why)
{
	size_t len = strlen(s);

	if (len == 0)
		return true;
	if (len > 63) {
		*why = "must be no more than 63 characters";
		return false;
	}
	if (!qualified_part(s, len)) {
		*why = "must consist of alphanumeric characters, '-', '_' or '.', and must start and "
		       "end with an alphanumeric character";
		return false;
	}
	return true;
}

bool is_port_name(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (len == 0 || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return false;
	}
	return letter;
}

/* ---- labels ---- */

int get_labels(struct dctx *c, const struct yt_node *map, const char *key, struct pal_labels *out,
	       enum label_check check)
{
	const struct yt_node *n = yt_map_get(map, key);
	size_t old, total = 0;
	int r = 1;

	if ((r = enter_field(c, n, key, YT_MAP, &old)) <= 0)
		return r;
	/* Keys are free-form here: no unknown-field check, only the syntax checks below. */
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct yt_node *k = n->pairs[i].key, *v = n->pairs[i].value;
		size_t o2 = path_push(c, k->text);
		const char *why = NULL;
		char *val = NULL;
		int rv = node_str(c, v, &val);

		if (rv == 0)
			val = xstrdup("");
		if (rv >= 0 && pal_labels_get(out, k->text)) {
			/* JSON readers keep the last value, yaml_tree lookups the first, strict
			 * decoders (kubectl, calicoctl) refuse: a label must not mean two things. */
			size_t first = 0;

			while (strcmp(n->pairs[first].key->text, k->text) != 0)
				first++;
			derr(c, k, "key \"%s\" appears more than once (first on line %d)", k->text,
			     n->pairs[first].key->line);
			r = -1;
		} else if (rv < 0) {
			r = -1;
		} else if (check == LABELS_LABELS && !is_qualified_name(k->text, &why)) {
			derr(c, k, "invalid label key \"%s\": %s", k->text, why);
			r = -1;
		} else if (check == LABELS_LABELS && !is_label_value(val, &why)) {
			derr(c, v, "invalid label value \"%s\": %s", val, why);
			r = -1;
		} else if (check == LABELS_ANNOTATIONS) {
			/* Calico lower-cases annotation keys before the qualified-name check. */
			char *lower = xstrdup(k->text);

			for (char *p = lower; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (!is_qualified_name(lower, &why)) {
				derr(c, k, "invalid annotation key \"%s\": %s", k->text, why);
				r = -1;
			}
			free(lower);
			total += strlen(k->text) + strlen(val);
		}
		if (r > 0)
			pal_labels_set(out, k->text, val);
		free(val);
		path_pop(c, o2);
	}
	if (check == LABELS_ANNOTATIONS && total > 256 * 1024) {
		derr(c, n, "total size of annotations is too large by %zu bytes",
		     total - 256 * 1024);
		r = -1;
	}
	path_pop(c, old);
	return r;
}

/* ---- selectors ---- */

/* Column in the file of the selector's 1-based column sel_col, when the selector text appears
 * verbatim on one line of the input (plain, or quoted without escapes); 0 otherwise. */
static int selector_file_col(const struct dctx *c, const struct yt_node *n, const char *text,
			     int sel_col)
{
	size_t start, tl = strlen(text);

	if (!n || n->kind != YT_SCALAR || n->end_line != n->line || sel_col < 1 ||
	    strcmp(n->text, text) != 0)
		return 0;
	if (n->style == YT_BLOCK)
		return 0;
	start = n->offset + (n->style == YT_PLAIN ? 0 : 1);
	if (start > c->len || c->len - start < tl || memcmp(c->buf + start, text, tl) != 0)
		return 0;
	return n->col + (n->style == YT_PLAIN ? 0 : 1) + sel_col - 1;
}

int parse_selector_at(struct dctx *c, const struct yt_node *n, const char *text,
		      struct pal_selector **sel)
{
	struct pal_selector_error err;
	int col;

	memset(&err, 0, sizeof(err));
	if (pal_selector_parse(text, sel, &err) == 0)
		return 1;
	*sel = NULL;
	col = selector_file_col(c, n, text, err.col);
	if (col > 0) {
		struct pal_pos p = node_pos(c, n);

		p.col = col;
		pal_error(c->d, p, c->path, "invalid selector: %s (selector column %d)", err.message,
			  err.col);
	} else {
		derr(c, n, "invalid selector: %s (at column %d of the selector)", err.message,
		     err.col);
	}
	return -1;
}

int get_selector(struct dctx *c, const struct yt_node *map, const char *key, char **text,
		 struct pal_selector **sel)
{
	size_t old;
	const struct yt_node *n = push_field(c, map, key, &old);
	char *s = NULL;
	int r;

	if (!n)
		return 0;
	r = node_str(c, n, &s);
	if (r > 0 && s[0] == '\0') {
		/* Calico's selector fields are Go strings, and "" is how Go says "not set": an empty
		 * rule selector, notSelector or namespaceSelector restricts nothing (not all()). */
		free(s);
		r = 0;
	} else if (r > 0) {
		r = parse_selector_at(c, n, s, sel);
		if (r > 0)
			*text = s;
		else
			free(s);
	}
	path_pop(c, old);
	return r;
}

/* ---- CIDRs ---- */

/* One item of a CIDR list. arg points at exact: a prefix with host bits set ("1.2.3.4/16") is an
 * error, as Calico's validator makes it for rule nets; otherwise the host bits are cleared
 * (Calico's network sets and endpoints). */
static int cidr_item(struct dctx *c, const struct yt_node *it, void *item, void *arg)
{
	struct pal_cidr *v = item;
	const bool *exact = arg;
	bool host_bits = false;
	char net[PAL_CIDR_STRLEN];

	if (it->kind != YT_SCALAR || !pal_cidr_parse(it->text, v, &host_bits)) {
		derr(c, it, "invalid CIDR \"%s\"; expected an address or prefix such as "
			    "10.0.0.0/8 or 2001:db8::/32",
		     it->kind == YT_SCALAR ? it->text : "");
		return -1;
	}
	if (*exact && host_bits) {
		derr(c, it, "invalid CIDR \"%s\": host bits are set; did you mean \"%s\"?", it->text,
		     pal_cidr_str(v, net));
		return -1;
	}
	return 1;
}

static int cidr_list(struct dctx *c, const struct yt_node *map, const char *key,
		     struct pal_cidr **out, size_t *n_out, size_t max, bool exact)
{
	const struct seq_items d = { max, "entries", sizeof(**out), cidr_item, NULL };
	void *v;
	int r = get_seq(c, map, key, &d, &exact, &v, n_out);

	if (r > 0)
		*out = v;
	return r;
}

int get_cidr_list(struct dctx *c, const struct yt_node *map, const char *key,
		  struct pal_cidr **out, size_t *n_out, size_t max)
{
	return cidr_list(c, map, key, out, n_out, max, false);
}

int get_exact_cidr_list(struct dctx *c, const struct yt_node *map, const char *key,
			struct pal_cidr **out, size_t *n_out, size_t max)
{
	return cidr_list(c, map, key, out, n_out, max, true);
}

/* ---- protocols and ports ---- */

bool protocol_supports_ports(uint8_t num)
{
	return num == PAL_PROTO_TCP || num == PAL_PROTO_UDP || num == PAL_PROTO_SCTP;
}

int get_protocol(struct dctx *c, const struct yt_node *map, const char *key,
		 struct pal_protocol *out)
{
	size_t old;
	const struct yt_node *n = push_field(c, map, key, &old);
	long long v;
	int r = -1;

	if (!n)
		return 0;
	if (n->kind != YT_SCALAR) {
		derr(c, n, "expected a protocol name or number, got %s", yt_kind_name(n));
		goto out;
	}
	/* A number, plain or quoted ("6"), as Calico's NumOrString reads it. */
	{
		struct yt_node tmp = *n;

		tmp.style = YT_PLAIN;
		if (scalar_int(&tmp, &v)) {
			if (v < 1 || v > 255) {
				derr(c, n, "protocol number %lld is invalid; must be 1-255", v);
				goto out;
			}
			out->set = true;
			out->num = (uint8_t)v;
			r = 1;
			goto out;
		}
	}
	{
		int num = pal_proto_by_name(n->text);
		const char *calico = num < 0 ? NULL : pal_proto_calico_name((uint8_t)num);

		if (calico && strcmp(n->text, calico) == 0) {
			out->set = true;
			out->num = (uint8_t)num;
			r = 1;
			goto out;
		}
		if (calico) {
			derr(c, n, "protocol name \"%s\" is invalid; did you mean \"%s\"? (names are "
				   "case sensitive)",
			     n->text, calico);
			goto out;
		}
	}
	derr(c, n, "protocol name \"%s\" is invalid; expected TCP, UDP, ICMP, ICMPv6, SCTP, "
		   "UDPLite or a number 1-255",
	     n->text);
out:
	path_pop(c, old);
	return r;
}

/* Parses a decimal port 0-65535 from s[0..len); false on anything else. */
static bool parse_port_num(const char *s, size_t len, long *out)
{
	long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = v;
	return true;
}

/* One port item: 80, "80", "1000:2000" or a named port "http" (Calico's numorstring.Port). */
static int decode_port(struct dctx *c, const struct yt_node *n, void *item, void *unused)
{
	struct pal_port *p = item;
	const char *s;
	const char *colon;
	long lo, hi;

	(void)unused;
	p->pos = node_pos(c, n);
	if (n->kind != YT_SCALAR || yt_is_null(n)) {
		derr(c, n, "expected a port number, a range \"first:last\" or a port name");
		return -1;
	}
	/* A plain 010, 0x50 or 1e3 is a number to kubectl and calicoctl (8, 80, 1000), not port 10
	 * or a port name. */
	if (refuse_nondecimal_int(c, n, "port", true))
		return -1;
	s = n->text;
	colon = strchr(s, ':');
	if (colon) {
		if (!parse_port_num(s, (size_t)(colon - s), &lo) ||
		    !parse_port_num(colon + 1, strlen(colon + 1), &hi)) {
			derr(c, n, "invalid port range \"%s\"; expected \"first:last\" with numbers "
				   "1-65535",
			     s);
			return -1;
		}
		if (lo > hi) {
			derr(c, n, "port range \"%s\" is invalid: the first port is greater than "
				   "the last",
			     s);
			return -1;
		}
	} else if (parse_port_num(s, strlen(s), &lo)) {
		hi = lo;
	} else if (is_port_name(s)) {
		/* Kubernetes port names may start with a digit ("8080-tcp"), so this comes first. */
		p->name = xstrdup(s);
		return 1;
	} else {
		const char *digits = s[0] == '-' ? s + 1 : s;

		if (digits[0] && strspn(digits, "0123456789") == strlen(digits))
			derr(c, n, "port %s is out of range; must be between 1 and 65535", s);
		else
			derr(c, n, "invalid port name \"%s\": a port name has at most 15 lower case "
				   "letters, digits and '-', with at least one letter (a range is "
				   "\"first:last\")",
			     s);
		return -1;
	}
	if (lo < 1 || hi < 1) {
		derr(c, n, "port range invalid, port number must be between 1 and 65535");
		return -1;
	}
	p->first = (uint16_t)lo;
	p->last = (uint16_t)hi;
	return 1;
}

static void port_clear(void *item)
{
	free(((struct pal_port *)item)->name);
}

int get_ports(struct dctx *c, const struct yt_node *map, const char *key, struct pal_port **out,
	      size_t *n_out)
{
	const struct seq_items d = { PAL_MAX_PORTS, "ports", sizeof(**out), decode_port, port_clear };
	void *v;
	int r = get_seq(c, map, key, &d, NULL, &v, n_out);

	if (r > 0)
		*out = v;
	return r;
}
