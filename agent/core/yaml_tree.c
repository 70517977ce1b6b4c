/* Builds yt_node trees from libyaml events (see yaml_tree.h). */
#include "yaml_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "vec.h"

/* Deeper nesting than any policy needs; bounds the free() recursion and the parser's memory.
 * Nodes an alias copies count at the depth they are copied to. */
#define YT_MAX_DEPTH 64
/* Nodes aliases may create in one input: far more than sharing rule blocks needs, few enough
 * that an expansion bomb (aliases of aliases, each doubling) stops at a few MB. */
#define YT_MAX_ALIAS_NODES 100000

struct frame {
	struct yt_node *node;
	struct yt_node *pending_key; /* for mappings: key read, value not yet */
	long anchor;                 /* index in anchors of the collection's anchor, or -1 */
};

/* The anchors (&name) of the current document: YAML scopes them to their document. */
struct anchors {
	struct {
		char *name;
		struct yt_node *node; /* in the document's tree */
		bool done;            /* complete: a collection's end was read */
	} *v;
	size_t n, cap;
	size_t copied; /* nodes created by aliases and merges, at most YT_MAX_ALIAS_NODES */
	/* Nodes taken out of a tree (a merge key's pair) that an anchor may still name: freed at
	 * the end, not before, so a later alias never copies freed memory. */
	struct yt_node **dead;
	size_t n_dead, cap_dead;
};

static void node_free(struct yt_node *n)
{
	if (!n)
		return;
	free(n->text);
	for (size_t i = 0; i < n->n_pairs; i++) {
		node_free(n->pairs[i].key);
		node_free(n->pairs[i].value);
	}
	free(n->pairs);
	for (size_t i = 0; i < n->n_items; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n);
}

static struct yt_node *node_new(enum yt_kind kind, const yaml_mark_t *m)
{
	struct yt_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->end_line = n->line;
	n->offset = m->index;
	return n;
}

static void set_error_at(struct yt_stream *s, int line, int col, const char *msg)
{
	if (s->has_error)
		return;
	s->has_error = true;
	s->err_line = line;
	s->err_col = col;
	snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
}

static void set_error(struct yt_stream *s, const yaml_mark_t *m, const char *msg)
{
	set_error_at(s, (int)m->line + 1, (int)m->column + 1, msg);
}

static void anchors_clear(struct anchors *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].name);
	a->n = 0;
}

/* Records anchor name (NULL: none) for node; its index in *idx (-1 without a name). */
static int anchor_add(struct anchors *a, const yaml_char_t *name, struct yt_node *node, bool done,
		      long *idx)
{
	*idx = -1;
	if (!name)
		return 0;
	if (vec_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v)))
		return -ENOMEM;
	a->v[a->n].name = strdup((const char *)name);
	if (!a->v[a->n].name)
		return -ENOMEM;
	a->v[a->n].node = node;
	a->v[a->n].done = done;
	*idx = (long)a->n++;
	return 0;
}

/* Deep copy of n for an alias, within depth_left more collection levels and the alias node
 * budget. NULL with *why set when a limit is hit, with *why NULL when out of memory. */
static struct yt_node *node_copy(const struct yt_node *n, int depth_left, struct anchors *a,
				 const char **why)
{
	struct yt_node *c;

	if (a->copied >= YT_MAX_ALIAS_NODES) {
		*why = "YAML aliases expand to too many nodes (more than 100000 in one file)";
		return NULL;
	}
	if (n->kind != YT_SCALAR && depth_left < 1) {
		*why = "nesting too deep once the alias is expanded";
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	a->copied++;
	c->kind = n->kind;
	c->line = n->line;
	c->col = n->col;
	c->offset = n->offset;
	c->end_line = n->end_line;
	c->style = n->style;
	c->len = n->len;
	if (n->text) {
		c->text = malloc(n->len + 1);
		if (!c->text)
			goto fail;
		memcpy(c->text, n->text, n->len + 1);
	}
	if (n->n_pairs) {
		c->pairs = calloc(n->n_pairs, sizeof(*c->pairs));
		if (!c->pairs)
			goto fail;
		c->cap_pairs = n->n_pairs;
		for (; c->n_pairs < n->n_pairs; c->n_pairs++) {
			const struct yt_pair *from = &n->pairs[c->n_pairs];
			struct yt_pair *d = &c->pairs[c->n_pairs];

			d->key = node_copy(from->key, depth_left - 1, a, why);
			d->value = d->key ? node_copy(from->value, depth_left - 1, a, why) : NULL;
			if (!d->value) {
				node_free(d->key);
				goto fail;
			}
		}
	}
	if (n->n_items) {
		c->items = calloc(n->n_items, sizeof(*c->items));
		if (!c->items)
			goto fail;
		c->cap_items = n->n_items;
		for (size_t i = 0; i < n->n_items; i++, c->n_items++) {
			c->items[i] = node_copy(n->items[i], depth_left - 1, a, why);
			if (!c->items[i])
				goto fail;
		}
	}
	return c;
fail:
	node_free(c);
	return NULL;
}

static bool is_merge_key(const struct yt_node *k)
{
	return k && k->kind == YT_SCALAR && k->style == YT_PLAIN && strcmp(k->text, "<<") == 0;
}

/* The merge key of YAML 1.1, as go-yaml v2 (kubectl, calicoctl) applies it: `<<: *base` or
 * `<<: [*a, *b]` adds the keys of the merged mapping(s) that the mapping does not set itself;
 * among several, the first one's win. Where the readers differ, the input is refused instead of
 * picking one: a key set before `<<` that the merge also sets (the spec keeps the mapping's own,
 * go-yaml v2 the merged one), and a second `<<` in one mapping. Returns 0, -ENOMEM, or 1 after
 * recording an error in s. */
static int apply_merges(struct yt_stream *s, struct anchors *a, struct yt_node *map)
{
	const char *why = NULL;
	struct yt_pair merge = { 0 };
	struct yt_node *const *src;
	size_t at = 0, n_src;
	bool found = false;
	int r = 0;

	for (size_t i = 0; i < map->n_pairs; i++) {
		if (!is_merge_key(map->pairs[i].key))
			continue;
		if (found) {
			set_error_at(s, map->pairs[i].key->line, map->pairs[i].key->col,
				     "a mapping may have one merge key <<; give it a list of "
				     "mappings to merge several (<<: [*a, *b])");
			return 1;
		}
		found = true;
		at = i;
	}
	if (!found)
		return 0;
	merge = map->pairs[at];
	if (merge.value->kind == YT_MAP) {
		src = &merge.value;
		n_src = 1;
	} else if (merge.value->kind == YT_SEQ) {
		src = merge.value->items;
		n_src = merge.value->n_items;
	} else {
		set_error_at(s, merge.value->line, merge.value->col,
			     "the merge key << takes a mapping or a list of mappings (such as *name "
			     "or [*a, *b])");
		return 1;
	}
	for (size_t i = 0; i < n_src; i++) {
		if (src[i]->kind == YT_MAP)
			continue;
		set_error_at(s, src[i]->line, src[i]->col,
			     "the merge key << takes a mapping or a list of mappings (such as *name "
			     "or [*a, *b])");
		return 1;
	}
	/* Take the << pair out: the mapping's own keys before it are then [0, at). */
	memmove(&map->pairs[at], &map->pairs[at + 1], (map->n_pairs - at - 1) * sizeof(*map->pairs));
	map->n_pairs--;
	for (size_t i = 0; i < n_src && r == 0; i++) {
		struct yt_node *m = src[i];

		for (size_t j = 0; j < m->n_pairs && r == 0; j++) {
			const struct yt_pair *p = &m->pairs[j];
			const char *key = p->key->text;
			struct yt_pair *to;
			size_t k = 0;

			while (k < map->n_pairs && strcmp(map->pairs[k].key->text, key) != 0)
				k++;
			if (k < at) {
				const struct yt_node *own = map->pairs[k].key;
				char msg[200];

				snprintf(msg, sizeof(msg),
					 "key \"%.40s\" is set before the merge key << and by the "
					 "mapping it merges: YAML readers differ on which wins; put "
					 "<< first",
					 key);
				set_error_at(s, own->line, own->col, msg);
				r = 1;
			} else if (k == map->n_pairs) {
				if (vec_grow((void **)&map->pairs, &map->cap_pairs, map->n_pairs + 1,
					     sizeof(*map->pairs))) {
					r = -ENOMEM;
					break;
				}
				/* Copied, not moved: the merged mapping may be an anchor's too. */
				to = &map->pairs[map->n_pairs];
				to->key = node_copy(p->key, YT_MAX_DEPTH, a, &why);
				to->value = NULL;
				if (to->key)
					to->value = node_copy(p->value, YT_MAX_DEPTH, a, &why);
				if (!to->value) {
					node_free(to->key);
					if (why)
						set_error_at(s, p->key->line, p->key->col, why);
					r = why ? 1 : -ENOMEM;
					break;
				}
				map->n_pairs++;
			}
			/* else set after << (the mapping's own) or by an earlier merged mapping */
		}
	}
	if (vec_grow((void **)&a->dead, &a->cap_dead, a->n_dead + 2, sizeof(*a->dead))) {
		node_free(merge.key);
		node_free(merge.value);
		return -ENOMEM; /* the parse ends: no alias will look at them */
	}
	a->dead[a->n_dead++] = merge.key;
	a->dead[a->n_dead++] = merge.value;
	return r;
}

static int push_doc(struct yt_stream *s, struct yt_node *root, int line)
{
	if (vec_grow((void **)&s->docs, &s->cap_docs, s->n_docs + 1, sizeof(*s->docs)) ||
	    vec_grow((void **)&s->doc_lines, &s->cap_doc_lines, s->n_docs + 1,
		     sizeof(*s->doc_lines)))
		return -ENOMEM;
	s->docs[s->n_docs] = root;
	s->doc_lines[s->n_docs] = line;
	s->n_docs++;
	return 0;
}

/* Attaches child to the innermost open collection, or makes it the root. Returns 0, -ENOMEM,
 * or 1 for a structural error already recorded in s. */
static int attach(struct yt_stream *s, struct frame *stack, int depth, struct yt_node **root,
		  struct yt_node *child, const yaml_mark_t *m)
{
	struct frame *top;

	if (depth == 0) {
		*root = child;
		return 0;
	}
	top = &stack[depth - 1];
	if (top->node->kind == YT_SEQ) {
		struct yt_node *n = top->node;

		if (vec_grow((void **)&n->items, &n->cap_items, n->n_items + 1, sizeof(*n->items)))
			goto nomem;
		n->items[n->n_items++] = child;
		return 0;
	}
	if (!top->pending_key) {
		if (child->kind != YT_SCALAR) {
			set_error(s, m, "mapping keys must be plain strings, not collections");
			node_free(child);
			return 1;
		}
		top->pending_key = child;
		return 0;
	}
	{
		struct yt_node *n = top->node;

		if (vec_grow((void **)&n->pairs, &n->cap_pairs, n->n_pairs + 1, sizeof(*n->pairs)))
			goto nomem;
		n->pairs[n->n_pairs].key = top->pending_key;
		n->pairs[n->n_pairs].value = child;
		n->n_pairs++;
		top->pending_key = NULL;
	}
	return 0;
nomem:
	node_free(child);
	return -ENOMEM;
}

static enum yt_style scalar_style(const yaml_event_t *ev)
{
	/* An explicit !!str tag makes a plain scalar a string, like quoting it. */
	if (ev->data.scalar.tag && strcmp((const char *)ev->data.scalar.tag, YAML_STR_TAG) == 0 &&
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return YT_DOUBLE_QUOTED;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		return YT_SINGLE_QUOTED;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return YT_DOUBLE_QUOTED;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		return YT_BLOCK;
	default:
		return YT_PLAIN;
	}
}

/* Whether a tab is in the indentation of line (0-based) of buf: libyaml's error there ("found
 * character that cannot start any token") does not say that the tab is the cause. */
static bool tab_indents(const char *buf, size_t len, size_t line)
{
	size_t i = 0;

	for (size_t l = 0; l < line && i < len; i++)
		if (buf[i] == '\n')
			l++;
	for (; i < len && (buf[i] == ' ' || buf[i] == '\t'); i++)
		if (buf[i] == '\t')
			return true;
	return false;
}

int yt_parse(const char *buf, size_t len, struct yt_stream *out)
{
	struct frame stack[YT_MAX_DEPTH];
	struct anchors anchors = { 0 };
	struct yt_node *root = NULL;
	yaml_parser_t parser;
	int depth = 0, doc_line = 1, ret = 0;
	bool done = false;

	memset(out, 0, sizeof(*out));
	memset(stack, 0, sizeof(stack));
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	while (!done) {
		yaml_event_t ev;
		struct yt_node *n = NULL;
		int r = 0;

		if (!yaml_parser_parse(&parser, &ev)) {
			const char *hint = "";
			char msg[200];

			if (parser.problem && strstr(parser.problem, "cannot start any token") &&
			    tab_indents(buf, len, parser.problem_mark.line))
				hint = " (a tab indents this line: YAML indents with spaces only)";
			snprintf(msg, sizeof(msg), "YAML syntax error: %s%s%s%s",
				 parser.problem ? parser.problem : "invalid input",
				 parser.context ? " " : "", parser.context ? parser.context : "",
				 hint);
			set_error(out, &parser.problem_mark, msg);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			doc_line = (int)ev.start_mark.line + 1;
			root = NULL;
			anchors_clear(&anchors);
			break;
		case YAML_DOCUMENT_END_EVENT:
			r = push_doc(out, root, doc_line);
			if (r)
				node_free(root);
			root = NULL;
			break;
		case YAML_ALIAS_EVENT: {
			/* A copy of the anchored node: decoders see the tree kubectl's reader
			 * builds; errors inside it point at the anchor's lines, under the alias's
			 * path. */
			const char *name = (const char *)ev.data.alias.anchor, *why = NULL;
			size_t i = anchors.n;
			char msg[200];

			while (i > 0 && strcmp(anchors.v[i - 1].name, name) != 0)
				i--; /* the latest definition of a name counts */
			if (i == 0 || !anchors.v[i - 1].done) {
				if (i == 0)
					snprintf(msg, sizeof(msg),
						 "YAML alias *%.40s names no anchor &%.40s before "
						 "it in this document",
						 name, name);
				else
					snprintf(msg, sizeof(msg),
						 "YAML alias *%.40s is inside the node &%.40s it "
						 "names",
						 name, name);
				set_error(out, &ev.start_mark, msg);
				r = 1;
				break;
			}
			n = node_copy(anchors.v[i - 1].node, YT_MAX_DEPTH - depth, &anchors, &why);
			if (!n) {
				if (why)
					set_error(out, &ev.start_mark, why);
				r = why ? 1 : -ENOMEM;
				break;
			}
			r = attach(out, stack, depth, &root, n, &ev.start_mark);
			break;
		}
		case YAML_SCALAR_EVENT:
			n = node_new(YT_SCALAR, &ev.start_mark);
			if (!n) {
				r = -ENOMEM;
				break;
			}
			n->text = malloc(ev.data.scalar.length + 1);
			if (!n->text) {
				node_free(n);
				r = -ENOMEM;
				break;
			}
			memcpy(n->text, ev.data.scalar.value, ev.data.scalar.length);
			n->text[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->style = scalar_style(&ev);
			n->end_line = (int)ev.end_mark.line + 1;
			r = attach(out, stack, depth, &root, n, &ev.start_mark);
			if (r == 0) {
				long idx;

				r = anchor_add(&anchors, ev.data.scalar.anchor, n, true, &idx);
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == YT_MAX_DEPTH) {
				set_error(out, &ev.start_mark, "nesting too deep");
				r = 1;
				break;
			}
			n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? YT_SEQ : YT_MAP,
				     &ev.start_mark);
			if (!n) {
				r = -ENOMEM;
				break;
			}
			r = attach(out, stack, depth, &root, n, &ev.start_mark);
			if (r == 0) {
				stack[depth].node = n;
				stack[depth].pending_key = NULL;
				depth++;
				r = anchor_add(&anchors,
					       ev.type == YAML_SEQUENCE_START_EVENT
						       ? ev.data.sequence_start.anchor
						       : ev.data.mapping_start.anchor,
					       n, false, &stack[depth - 1].anchor);
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0) {
				depth--;
				stack[depth].node->end_line = (int)ev.end_mark.line + 1;
				node_free(stack[depth].pending_key);
				stack[depth].pending_key = NULL;
				if (ev.type == YAML_MAPPING_END_EVENT)
					r = apply_merges(out, &anchors, stack[depth].node);
				if (stack[depth].anchor >= 0)
					anchors.v[stack[depth].anchor].done = true;
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (r < 0) {
			ret = r;
			break;
		}
		if (r > 0)
			break;
	}
	/* On error: the open document is incomplete; drop it (its nodes all hang off root). */
	for (int i = 0; i < depth; i++)
		node_free(stack[i].pending_key);
	if (!done)
		node_free(root);
	anchors_clear(&anchors);
	free(anchors.v);
	for (size_t i = 0; i < anchors.n_dead; i++)
		node_free(anchors.dead[i]);
	free(anchors.dead);
	yaml_parser_delete(&parser);
	return ret;
}

void yt_stream_free(struct yt_stream *s)
{
	for (size_t i = 0; i < s->n_docs; i++)
		node_free(s->docs[i]);
	free(s->docs);
	free(s->doc_lines);
	memset(s, 0, sizeof(*s));
}

const struct yt_node *yt_map_get(const struct yt_node *map, const char *key)
{
	if (!map || map->kind != YT_MAP)
		return NULL;
	for (size_t i = 0; i < map->n_pairs; i++)
		if (strcmp(map->pairs[i].key->text, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

bool yt_is_null(const struct yt_node *n)
{
	if (!n)
		return true;
	if (n->kind != YT_SCALAR || n->style != YT_PLAIN)
		return false;
	return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
	       strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const char *yt_kind_name(const struct yt_node *n)
{
	switch (n->kind) {
	case YT_MAP:
		return "a mapping";
	case YT_SEQ:
		return "a list";
	default:
		return "a scalar";
	}
}
