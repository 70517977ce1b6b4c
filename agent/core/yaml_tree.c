/* Builds yt_node trees from libyaml events (see yaml_tree.h). */
#include "yaml_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "vec.h"

/* Deeper nesting than any policy needs; bounds the free() recursion and the parser's memory. */
#define YT_MAX_DEPTH 64

struct frame {
	struct yt_node *node;
	struct yt_node *pending_key; /* for mappings: key read, value not yet */
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

static void set_error(struct yt_stream *s, const yaml_mark_t *m, const char *msg)
{
	if (s->has_error)
		return;
	s->has_error = true;
	s->err_line = (int)m->line + 1;
	s->err_col = (int)m->column + 1;
	snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
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

int yt_parse(const char *buf, size_t len, struct yt_stream *out)
{
	struct frame stack[YT_MAX_DEPTH];
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
			char msg[200];

			snprintf(msg, sizeof(msg), "YAML syntax error: %s%s%s",
				 parser.problem ? parser.problem : "invalid input",
				 parser.context ? " " : "", parser.context ? parser.context : "");
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
			break;
		case YAML_DOCUMENT_END_EVENT:
			r = push_doc(out, root, doc_line);
			if (r)
				node_free(root);
			root = NULL;
			break;
		case YAML_ALIAS_EVENT:
			set_error(out, &ev.start_mark,
				  "YAML aliases (*name) are not supported in policy files");
			r = 1;
			break;
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
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0) {
				depth--;
				stack[depth].node->end_line = (int)ev.end_mark.line + 1;
				node_free(stack[depth].pending_key);
				stack[depth].pending_key = NULL;
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
