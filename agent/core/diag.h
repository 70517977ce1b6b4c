/* Diagnostics: compiler-style errors and warnings that name file, line, column and field path.
 *
 * Every problem found while loading, validating or compiling policy is collected here rather than
 * printed on the spot, so the agent can decide to keep the last good state and polctl can print
 * them as a table or JSON. Printed form (docs/operations.md, "Logs"):
 *     FILE:LINE:COL: error: MESSAGE [at FIELD.PATH]
 */
#ifndef PALISADE_DIAG_H
#define PALISADE_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum pal_severity { PAL_SEV_ERROR, PAL_SEV_WARNING };

/* A place in an input file. Lines and columns are 1-based; 0 means unknown. */
struct pal_pos {
	const char *file; /* interned by the loader; lives as long as the model */
	int line;
	int col;
};

struct pal_diag {
	enum pal_severity severity;
	char *file;    /* owned copy, may be NULL */
	int line, col; /* 1-based, 0 = unknown */
	char *path;    /* field path such as spec.ingress[2].destination.ports[0]; may be NULL */
	char *message; /* what is wrong and, where it helps, what would be right */
};

struct pal_diags {
	struct pal_diag *v;
	size_t n, cap;
	size_t n_errors;
};

__attribute__((format(printf, 5, 6))) void pal_diag_add(struct pal_diags *d, enum pal_severity sev,
							 struct pal_pos pos, const char *path,
							 const char *fmt, ...);
#define pal_error(d, pos, path, ...) pal_diag_add((d), PAL_SEV_ERROR, (pos), (path), __VA_ARGS__)
#define pal_warn(d, pos, path, ...) pal_diag_add((d), PAL_SEV_WARNING, (pos), (path), __VA_ARGS__)

bool pal_diags_has_errors(const struct pal_diags *d);
/* One line per diagnostic, in the format above. */
void pal_diag_print(FILE *f, const struct pal_diag *dg);
void pal_diags_print(FILE *f, const struct pal_diags *d);
/* Moves all entries of src to the end of dst; src is left empty. */
void pal_diags_append(struct pal_diags *dst, struct pal_diags *src);
void pal_diags_free(struct pal_diags *d);

#endif
