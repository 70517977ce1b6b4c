/* A small YAML/JSON document tree with source positions, built from libyaml's event stream.
 *
 * libyaml does the parsing (JSON is parsed as YAML flow style). This file only turns events into
 * nodes that remember their line and column, so decoders can point errors at the exact place.
 * Scalars keep their text and style; typing (int, bool, null) is the decoder's job because YAML
 * typing depends on the field (a plain `80` is a number, a quoted "80" a string).
 * Anchors and aliases (&name, *name) and YAML 1.1's merge key (<<: *name) are expanded as
 * kubectl's and calicoctl's reader (go-yaml v2) expands them: an alias becomes a copy of the
 * anchored node (at most 100000 copied nodes a file: no expansion bombs). Where readers differ on
 * a merge (a key set both before << and by the merged mapping), the input is an error.
 */
#ifndef PALISADE_YAML_TREE_H
#define PALISADE_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

/* Library symbols: the short names below are for this code only; every program that links the
 * core library shares one namespace of globals, so the library exports them prefixed. */
#define yt_is_null     pal_yt_is_null
#define yt_kind_name   pal_yt_kind_name
#define yt_map_get     pal_yt_map_get
#define yt_parse       pal_yt_parse
#define yt_stream_free pal_yt_stream_free

enum yt_kind { YT_SCALAR, YT_MAP, YT_SEQ };

enum yt_style { YT_PLAIN, YT_SINGLE_QUOTED, YT_DOUBLE_QUOTED, YT_BLOCK };

struct yt_node;

struct yt_pair {
	struct yt_node *key; /* always a scalar */
	struct yt_node *value;
};

struct yt_node {
	enum yt_kind kind;
	int line, col;       /* 1-based start of the node */
	size_t offset;       /* byte offset of the node's start in the input */
	int end_line;        /* 1-based line where the node ends */
	/* YT_SCALAR */
	char *text;          /* NUL-terminated; may contain NULs before len */
	size_t len;
	enum yt_style style;
	/* YT_MAP */
	struct yt_pair *pairs;
	size_t n_pairs, cap_pairs;
	/* YT_SEQ */
	struct yt_node **items;
	size_t n_items, cap_items;
};

struct yt_stream {
	struct yt_node **docs; /* root node of each document; NULL for an empty document */
	int *doc_lines;        /* 1-based line where each document starts */
	size_t n_docs, cap_docs, cap_doc_lines;
	/* First error (syntax, alias, merge key, nesting too deep, non-scalar key), if any. The
	 * documents completed before the error are kept. */
	bool has_error;
	int err_line, err_col;
	char err_msg[200];
};

/* Parses buf (need not be NUL-terminated). Returns 0, or -ENOMEM; syntax errors are reported in
 * out->has_error/err_* with a 0 return. */
int yt_parse(const char *buf, size_t len, struct yt_stream *out);
void yt_stream_free(struct yt_stream *s);

/* Mapping lookup; NULL when absent or node is not a mapping. */
const struct yt_node *yt_map_get(const struct yt_node *map, const char *key);
/* True for a plain scalar YAML reads as null: empty, "~", "null", "Null", "NULL". */
bool yt_is_null(const struct yt_node *n);
const char *yt_kind_name(const struct yt_node *n);

#endif
