/* Diagnostics collection and printing (see diag.h). */
#include "diag.h"
#include "oom.h"
#include "vec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void pal_diag_add(struct pal_diags *d, enum pal_severity sev, struct pal_pos pos, const char *path,
		  const char *fmt, ...)
{
	struct pal_diag *dg;
	va_list ap;

	vec_reserve((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v)); /* unwinds: no error path */
	dg = &d->v[d->n];
	memset(dg, 0, sizeof(*dg));
	dg->severity = sev;
	dg->file = dup_or_null(pos.file);
	dg->line = pos.line;
	dg->col = pos.col;
	dg->path = (path && *path) ? strdup(path) : NULL;
	va_start(ap, fmt);
	if (vasprintf(&dg->message, fmt, ap) < 0)
		dg->message = NULL;
	va_end(ap);
	if (!dg->message)
		dg->message = strdup("(out of memory formatting message)");
	d->n++;
	if (sev == PAL_SEV_ERROR)
		d->n_errors++;
}

bool pal_diags_has_errors(const struct pal_diags *d)
{
	return d->n_errors > 0;
}

void pal_diag_print(FILE *f, const struct pal_diag *dg)
{
	const char *sev = dg->severity == PAL_SEV_ERROR ? "error" : "warning";

	/* FILE:LINE:COL: parts are printed only as far as they are known. */
	if (dg->file) {
		fputs(dg->file, f);
		if (dg->line > 0) {
			fprintf(f, ":%d", dg->line);
			if (dg->col > 0)
				fprintf(f, ":%d", dg->col);
		}
		fputs(": ", f);
	}
	fprintf(f, "%s: %s", sev, dg->message);
	if (dg->path)
		fprintf(f, " [at %s]", dg->path);
	fputc('\n', f);
}

void pal_diags_print(FILE *f, const struct pal_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		pal_diag_print(f, &d->v[i]);
}

void pal_diags_append(struct pal_diags *dst, struct pal_diags *src)
{
	if (src->n == 0)
		return;
	vec_reserve((void **)&dst->v, &dst->cap, dst->n + src->n, sizeof(*dst->v));
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	dst->n_errors += src->n_errors;
	free(src->v);
	memset(src, 0, sizeof(*src));
}

void pal_diags_free(struct pal_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].path);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
