/* Cross-resource checks after loading (see model.h): duplicates, missing tiers, tier prefixes.
 *
 * Decisions:
 *  - A policy name may carry its tier as prefix ("t1.allow-dns" in tier t1). "t1.x" and "x" in
 *    tier t1 are the same policy, so duplicates are found on the name without the prefix.
 *  - In a tier other than default, a dotted name must start with "<tier>."; a prefix naming
 *    another tier is an error everywhere ("default.x" only in the default tier).
 *  - k8s NetworkPolicies ("knp.default.<name>") share the name space of Calico NetworkPolicies
 *    in their namespace, as in Calico.
 */
#include "model.h"
#include "oom.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *policy_kind_name(enum pal_policy_kind k)
{
	switch (k) {
	case PAL_POLICY_GLOBAL:
		return "GlobalNetworkPolicy";
	case PAL_POLICY_NAMESPACED:
		return "NetworkPolicy";
	default:
		return "NetworkPolicy (networking.k8s.io/v1)";
	}
}

/* Name without a "<tier>." prefix that matches the policy's own tier. */
static const char *policy_base_name(const struct pal_policy *p)
{
	size_t tl = strlen(p->tier);

	if (p->kind != PAL_POLICY_K8S && strncmp(p->name, p->tier, tl) == 0 && p->name[tl] == '.')
		return p->name + tl + 1;
	return p->name;
}

static void dup_error(struct pal_diags *d, struct pal_pos pos, struct pal_pos first,
		      const char *kind, const char *ns, const char *name)
{
	pal_error(d, pos, "metadata.name", "duplicate %s \"%s%s%s\"; first defined at %s:%d", kind,
		  ns ? ns : "", ns ? "/" : "", name, first.file ? first.file : "?", first.line);
}

/* Duplicate detection by sorting keys, so large models stay O(n log n). */
struct dup_key {
	char *key;
	size_t idx;
};

static int cmp_key(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Calls report(ctx, dup_idx, first_idx) for every element whose key equals an earlier one's.
 * keys[i] are consumed (freed). */
static void find_dups(char **keys, size_t n, void (*report)(void *, size_t, size_t), void *ctx)
{
	struct dup_key *v;

	if (n < 2) {
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
		return;
	}
	v = malloc(n * sizeof(*v));
	if (!v)
		pal_out_of_memory();
	for (size_t i = 0; i < n; i++) {
		v[i].key = keys[i];
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (strcmp(v[i].key, v[first].key) == 0)
			report(ctx, v[i].idx, v[first].idx);
		else
			first = i;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

static char *key_of(const char *a, const char *b, const char *c)
{
	const char *part[3] = { a ? a : "", b ? b : "", c ? c : "" };
	size_t len[3], total = 0;
	char *k, *p;

	/* "a\x1fb\x1fc" (\x1f never appears in a valid name), without printf: this runs for
	 * every object of every reload. */
	for (int i = 0; i < 3; i++)
		total += (len[i] = strlen(part[i])) + 1;
	if (!(k = p = malloc(total)))
		pal_out_of_memory();
	for (int i = 0; i < 3; i++) {
		memcpy(p, part[i], len[i]);
		p += len[i];
		*p++ = i < 2 ? '\x1f' : '\0';
	}
	return k;
}

struct vctx {
	const struct pal_model *m;
	struct pal_diags *d;
	bool *reported; /* policies: report each duplicate once across both key sets */
};

static void report_policy(void *p, size_t i, size_t first)
{
	struct vctx *c = p;
	const struct pal_policy *x = &c->m->policies.v[i], *y = &c->m->policies.v[first];

	if (c->reported[i])
		return;
	c->reported[i] = true;
	dup_error(c->d, x->pos, y->pos, policy_kind_name(x->kind), x->namespace, x->name);
}

static bool tier_exists(const struct pal_model *m, const char *name)
{
	if (pal_builtin_tier(name)) /* Calico creates it when absent */
		return true;
	for (size_t i = 0; i < m->tiers.n; i++)
		if (strcmp(m->tiers.v[i].name, name) == 0)
			return true;
	return false;
}

static void check_policy_tier(const struct pal_model *m, const struct pal_policy *p,
			      struct pal_diags *d)
{
	const char *dot = strchr(p->name, '.');

	if (!tier_exists(m, p->tier))
		pal_error(d, p->tier_pos.file ? p->tier_pos : p->pos, "spec.tier",
			  "tier \"%s\" does not exist; define it with kind: Tier or use the default "
			  "tier",
			  p->tier);
	if (dot && p->kind != PAL_POLICY_K8S && strncmp(p->name, "knp.default.", 12) != 0) {
		char prefix[64];
		size_t l = (size_t)(dot - p->name);

		snprintf(prefix, sizeof(prefix), "%.*s", (int)(l < 63 ? l : 63), p->name);
		if (strcmp(prefix, p->tier) != 0 &&
		    (strcmp(p->tier, PAL_DEFAULT_TIER) != 0 || tier_exists(m, prefix)))
			pal_error(d, p->pos, "metadata.name",
				  "policy name \"%s\" has tier prefix \"%s\" but spec.tier is \"%s\"; "
				  "name it \"%s.%s\" or \"%s\"",
				  p->name, prefix, p->tier, p->tier, dot + 1, dot + 1);
	}
}

static void check_policies(const struct pal_model *m, struct pal_diags *d)
{
	size_t n = m->policies.n;
	struct vctx c = { .m = m, .d = d };
	char **keys;

	for (size_t i = 0; i < n; i++)
		check_policy_tier(m, &m->policies.v[i], d);
	if (n < 2)
		return;
	c.reported = calloc(n, sizeof(*c.reported));
	keys = malloc(n * sizeof(*keys));
	if (!c.reported || !keys)
		pal_out_of_memory();
	/* Global and namespaced policies are separate kinds; k8s and Calico NetworkPolicies share
	 * one name space per namespace. Same name = same resource. */
	for (size_t i = 0; i < n; i++) {
		const struct pal_policy *p = &m->policies.v[i];

		keys[i] = key_of(p->kind == PAL_POLICY_GLOBAL ? "G" : "N", p->namespace, p->name);
	}
	find_dups(keys, n, report_policy, &c);
	/* "t1.p" and "p" in tier t1 are the same policy too. */
	for (size_t i = 0; i < n; i++) {
		const struct pal_policy *p = &m->policies.v[i];
		char *inner = key_of(p->namespace, p->tier, policy_base_name(p));

		keys[i] = key_of(p->kind == PAL_POLICY_GLOBAL ? "G" : "N", inner, NULL);
		free(inner);
	}
	find_dups(keys, n, report_policy, &c);
	free(keys);
	free(c.reported);
}

/* Generic duplicate check for the other kinds: name + namespace. */
struct simple_ctx {
	struct pal_diags *d;
	const char *kind;
	const void *base;
	size_t stride, name_off, ns_off, pos_off;
};

#define FIELD(c, i, off, T) (*(T *)((const char *)(c)->base + (i) * (c)->stride + (off)))

static void report_simple(void *p, size_t i, size_t first)
{
	struct simple_ctx *c = p;
	const char *ns = c->ns_off == (size_t)-1 ? NULL : FIELD(c, i, c->ns_off, char *);

	dup_error(c->d, FIELD(c, i, c->pos_off, struct pal_pos), FIELD(c, first, c->pos_off, struct pal_pos),
		  c->kind, ns, FIELD(c, i, c->name_off, char *));
}

static void check_simple(struct simple_ctx *c, size_t n)
{
	char **keys;

	if (n < 2)
		return;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		pal_out_of_memory();
	for (size_t i = 0; i < n; i++)
		keys[i] = key_of(c->ns_off == (size_t)-1 ? NULL : FIELD(c, i, c->ns_off, char *),
				 FIELD(c, i, c->name_off, char *), NULL);
	find_dups(keys, n, report_simple, c);
	free(keys);
}

#define SIMPLE(vec, T, kind_name, ns_field)                                                   \
	do {                                                                                  \
		struct simple_ctx c = { d, kind_name, (vec).v, sizeof(T), offsetof(T, name),   \
					ns_field, offsetof(T, pos) };                         \
		check_simple(&c, (vec).n);                                                    \
	} while (0)

struct netset_ctx {
	const struct pal_model *m;
	struct pal_diags *d;
};

static void report_netset(void *p, size_t i, size_t first)
{
	struct netset_ctx *c = p;
	const struct pal_network_set *s = &c->m->network_sets.v[i], *t = &c->m->network_sets.v[first];

	dup_error(c->d, s->pos, t->pos, s->namespace ? "NetworkSet" : "GlobalNetworkSet",
		  s->namespace, s->name);
}

struct validation {
	const struct pal_model *m;
	struct pal_diags *d;
};

static int validate(void *arg)
{
	const struct validation *v = arg;
	const struct pal_model *m = v->m;
	struct pal_diags *d = v->d;

	check_policies(m, d);
	SIMPLE(m->tiers, struct pal_tier, "Tier", (size_t)-1);
	SIMPLE(m->host_endpoints, struct pal_host_endpoint, "HostEndpoint", (size_t)-1);
	SIMPLE(m->workload_endpoints, struct pal_workload_endpoint, "WorkloadEndpoint",
	       offsetof(struct pal_workload_endpoint, namespace));
	SIMPLE(m->profiles, struct pal_profile, "Profile", (size_t)-1);
	SIMPLE(m->namespaces, struct pal_namespace, "Namespace", (size_t)-1);
	/* GlobalNetworkSet (namespace NULL) and NetworkSet: the key's empty namespace keeps
	 * them apart, since a NetworkSet always has one. */
	if (m->network_sets.n > 1) {
		struct netset_ctx c = { m, d };
		char **keys = malloc(m->network_sets.n * sizeof(*keys));

		if (!keys)
			pal_out_of_memory();
		for (size_t i = 0; i < m->network_sets.n; i++)
			keys[i] = key_of(m->network_sets.v[i].namespace, m->network_sets.v[i].name,
					 NULL);
		find_dups(keys, m->network_sets.n, report_netset, &c);
		free(keys);
	}
	return 0;
}

static int report_out_of_memory(void *d)
{
	pal_error(d, (struct pal_pos){ .file = NULL }, NULL, "out of memory while validating");
	return 0;
}

int pal_model_validate(const struct pal_model *m, struct pal_diags *d)
{
	struct validation v = { m, d };
	int r = pal_oom_catch(validate, &v);

	if (r == -ENOMEM)
		pal_oom_catch(report_out_of_memory, d); /* when the report itself fits */
	return r;
}
