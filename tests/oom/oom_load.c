/* Out of memory while loading policy: every allocation of loading and validating FILE is made to
 * fail in turn (the k-th malloc/calloc/realloc returns NULL, k = 1, 2, ...), and the loader and
 * the validator must return 0 or -ENOMEM each time, never abort. A load that succeeds is then
 * kept (pal_model_keep: compact form, interned strings) and borrowed (pal_model_borrow_kept) as
 * the Kubernetes datastore does, whose allocations fail in turn too. Ends when all of it
 * completes before its k-th allocation.
 * Its own binary: it replaces malloc, which the sanitizer builds of the unit tests own.
 *
 * Usage: oom-load FILE   (exit 0 and "oom: N failure points, M returned -ENOMEM") */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "model.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static long countdown; /* the allocation that fails; 0: none */

static int fails(void)
{
	return countdown > 0 && --countdown == 0;
}

void *malloc(size_t n)
{
	return fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return fails() ? NULL : __libc_realloc(p, n);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? __libc_malloc(1 << 20) : NULL;

	*len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

/* What the datastore does with a loaded model: keep it, borrow it into a whole model, free both.
 * 0 or -ENOMEM; m is left empty (kept) or intact (keeping failed). */
static int keep_and_borrow(struct pal_model *m)
{
	struct pal_model_kept *k = pal_model_keep(m);
	const struct pal_model_kept *src[1] = { k };
	struct pal_model all;
	int r;

	if (!k)
		return -ENOMEM;
	pal_model_init(&all);
	r = pal_model_borrow_kept(&all, src, 1);
	pal_model_free(&all);
	pal_model_kept_free(k);
	return r;
}

int main(int argc, char **argv)
{
	size_t len;
	char *buf = argc == 2 ? read_file(argv[1], &len) : NULL;
	long enomem = 0;

	if (!buf || !len) {
		fprintf(stderr, "usage: oom-load FILE (a readable, non-empty policy file)\n");
		return 2;
	}
	for (long k = 1;; k++) {
		struct pal_model m;
		struct pal_diags d;
		int r;

		pal_model_init(&m);
		memset(&d, 0, sizeof(d));
		countdown = k;
		r = pal_model_load_buffer(&m, argv[1], buf, len, &d);
		if (r == 0)
			r = pal_model_validate(&m, &d);
		if (r != 0 && r != -ENOMEM) {
			fprintf(stderr, "oom: allocation %ld failed: load returned %d\n", k, r);
			return 1;
		}
		enomem += r == -ENOMEM;
		if (r == 0) {
			r = keep_and_borrow(&m);
			if (r != 0 && r != -ENOMEM) {
				fprintf(stderr, "oom: allocation %ld failed: keep returned %d\n", k, r);
				return 1;
			}
			enomem += r == -ENOMEM;
		}
		pal_model_free(&m);
		pal_diags_free(&d);
		if (countdown > 0) { /* the load needed fewer than k allocations: all were tried */
			countdown = 0;
			printf("oom: %ld failure points, %ld returned -ENOMEM\n", k - 1, enomem);
			return enomem > 0 ? 0 : 1; /* a load that never noticed would be a broken test */
		}
	}
}
