/* Models kept long in a compact form (see model.h): a kept model lists only its non-empty arrays,
 * and its workload endpoints' repeating strings are interned (intern.h). Everything else goes
 * through a struct pal_model "view" built on the stack, so freeing and borrowing reuse
 * pal_model_free and pal_model_borrow. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "intern.h"
#include "model.h"

/* Every array of resources of struct pal_model, by offset: each is a PAL_VEC (v, n, cap). */
#define FIELD(f, clear) { offsetof(struct pal_model, f), sizeof(*((struct pal_model *)0)->f.v) },
static const struct {
	size_t off, sz;
} fields[] = { PAL_MODEL_RESOURCES(FIELD) };
#undef FIELD
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

struct any_vec {
	void *v;
	size_t n, cap;
};

struct kept_part {
	uint32_t field; /* index in fields[] */
	uint32_t n;
	void *v;
};

struct pal_model_kept {
	char **files; /* the interned file names the resources' positions point to */
	size_t n_files;
	size_t n_parts;
	struct kept_part part[];
};

static struct any_vec *vec_at(struct pal_model *m, size_t field)
{
	return (struct any_vec *)((char *)m + fields[field].off);
}

/* A model that owns k's arrays for as long as the caller does not free it or k. */
static void view(const struct pal_model_kept *k, struct pal_model *out)
{
	pal_model_init(out);
	for (size_t i = 0; i < k->n_parts; i++)
		*vec_at(out, k->part[i].field) =
			(struct any_vec){ k->part[i].v, k->part[i].n, k->part[i].n };
	out->files.v = k->files;
	out->files.n = out->files.cap = k->n_files;
}

/* The strings of a workload endpoint that repeat across pods: label keys and values, namespace,
 * node, orchestrator, endpoint, service account, profiles, port names (not its own names). */
static void for_each_shared_string(struct pal_workload_endpoint *w, void (*fn)(char **slot))
{
	char **own[] = { &w->namespace, &w->node, &w->orchestrator, &w->endpoint,
			 &w->service_account };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		fn(own[i]);
	for (size_t i = 0; i < w->labels.n; i++) {
		fn(&w->labels.v[i].key);
		fn(&w->labels.v[i].value);
	}
	for (size_t i = 0; i < w->n_profiles; i++)
		fn(&w->profiles[i]);
	for (size_t i = 0; i < w->n_ports; i++)
		fn(&w->ports[i].name);
}

/* Swaps an owned string for its shared copy (keeps it when out of memory: still owned). */
static void intern_slot(char **slot)
{
	char *shared = *slot ? pal_intern(*slot) : NULL;

	if (!shared)
		return;
	free(*slot);
	*slot = shared;
}

/* Drops a shared copy's reference and clears the slot, so pal_model_free skips it. */
static void release_slot(char **slot)
{
	if (pal_interned(*slot)) {
		pal_intern_put(*slot);
		*slot = NULL;
	}
}

struct pal_model_kept *pal_model_keep(struct pal_model *m)
{
	struct pal_model_kept *k;
	size_t n = 0;

	pal_model_shrink(m);
	for (size_t f = 0; f < N_FIELDS; f++)
		n += vec_at(m, f)->n > 0;
	if (!(k = malloc(sizeof(*k) + n * sizeof(k->part[0]))))
		return NULL;
	k->files = m->files.v;
	k->n_files = m->files.n;
	k->n_parts = 0;
	for (size_t f = 0; f < N_FIELDS; f++) {
		struct any_vec *a = vec_at(m, f);

		if (a->n)
			k->part[k->n_parts++] = (struct kept_part){ (uint32_t)f, (uint32_t)a->n, a->v };
	}
	for (size_t i = 0; i < m->workload_endpoints.n; i++)
		for_each_shared_string(&m->workload_endpoints.v[i], intern_slot);
	pal_model_init(m); /* everything is k's now */
	return k;
}

void pal_model_kept_free(struct pal_model_kept *k)
{
	struct pal_model m;

	if (!k)
		return;
	view(k, &m);
	for (size_t i = 0; i < m.workload_endpoints.n; i++)
		for_each_shared_string(&m.workload_endpoints.v[i], release_slot);
	pal_model_free(&m);
	free(k);
}

/* Makes *a room for exactly `more` items beyond its n (no doubling); 0 or -ENOMEM. */
static int reserve_exact(struct any_vec *a, size_t more, size_t sz)
{
	void *p;

	if (a->n + more <= a->cap)
		return 0;
	if (!(p = realloc(a->v, (a->n + more) * sz)))
		return -ENOMEM;
	a->v = p;
	a->cap = a->n + more;
	return 0;
}

int pal_model_borrow_kept(struct pal_model *dst, const struct pal_model_kept *const *src, size_t n)
{
	size_t total[N_FIELDS] = { 0 };
	struct pal_model v;

	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < src[i]->n_parts; p++)
			total[src[i]->part[p].field] += src[i]->part[p].n;
	dst->borrowed = true;
	for (size_t f = 0; f < N_FIELDS; f++)
		if (reserve_exact(vec_at(dst, f), total[f], fields[f].sz))
			return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		view(src[i], &v);
		if (pal_model_borrow(dst, &v))
			return -ENOMEM;
	}
	return 0;
}
