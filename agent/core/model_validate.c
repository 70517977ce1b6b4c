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

#include <stdio.h>
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

static bool same_ns(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void dup_error(struct pal_diags *d, struct pal_pos pos, struct pal_pos first,
		      const char *kind, const char *ns, const char *name)
{
	pal_error(d, pos, "metadata.name", "duplicate %s \"%s%s%s\"; first defined at %s:%d", kind,
		  ns ? ns : "", ns ? "/" : "", name, first.file ? first.file : "?", first.line);
}

static bool tier_exists(const struct pal_model *m, const char *name)
{
	if (strcmp(name, PAL_DEFAULT_TIER) == 0)
		return true;
	for (size_t i = 0; i < m->tiers.n; i++)
		if (strcmp(m->tiers.v[i].name, name) == 0)
			return true;
	return false;
}

static void check_policies(const struct pal_model *m, struct pal_diags *d)
{
	for (size_t i = 0; i < m->policies.n; i++) {
		const struct pal_policy *p = &m->policies.v[i];
		const char *dot = strchr(p->name, '.');

		if (!tier_exists(m, p->tier))
			pal_error(d, p->pos, "spec.tier",
				  "tier \"%s\" does not exist; define it with kind: Tier or use the "
				  "default tier",
				  p->tier);
		if (dot && p->kind != PAL_POLICY_K8S && strncmp(p->name, "knp.default.", 12) != 0) {
			char prefix[64];
			size_t l = (size_t)(dot - p->name);

			snprintf(prefix, sizeof(prefix), "%.*s", (int)(l < 63 ? l : 63), p->name);
			if (strcmp(prefix, p->tier) != 0 &&
			    (strcmp(p->tier, PAL_DEFAULT_TIER) != 0 || tier_exists(m, prefix)))
				pal_error(d, p->pos, "metadata.name",
					  "policy name \"%s\" has tier prefix \"%s\" but spec.tier is "
					  "\"%s\"; name it \"%s.%s\" or \"%s\"",
					  p->name, prefix, p->tier, p->tier, dot + 1, dot + 1);
		}
		for (size_t j = 0; j < i; j++) {
			const struct pal_policy *q = &m->policies.v[j];
			bool same_kind = (p->kind == PAL_POLICY_GLOBAL) == (q->kind == PAL_POLICY_GLOBAL);

			if (same_kind && same_ns(p->namespace, q->namespace) &&
			    strcmp(policy_base_name(p), policy_base_name(q)) == 0 &&
			    (p->kind == PAL_POLICY_K8S || strcmp(p->tier, q->tier) == 0 ||
			     strcmp(p->name, q->name) == 0)) {
				dup_error(d, p->pos, q->pos, policy_kind_name(p->kind), p->namespace,
					  p->name);
				break;
			}
		}
	}
}

void pal_model_validate(const struct pal_model *m, struct pal_diags *d)
{
	check_policies(m, d);
	for (size_t i = 0; i < m->tiers.n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->tiers.v[i].name, m->tiers.v[j].name) == 0) {
				dup_error(d, m->tiers.v[i].pos, m->tiers.v[j].pos, "Tier", NULL,
					  m->tiers.v[i].name);
				break;
			}
	for (size_t i = 0; i < m->host_endpoints.n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->host_endpoints.v[i].name, m->host_endpoints.v[j].name) == 0) {
				dup_error(d, m->host_endpoints.v[i].pos, m->host_endpoints.v[j].pos,
					  "HostEndpoint", NULL, m->host_endpoints.v[i].name);
				break;
			}
	for (size_t i = 0; i < m->workload_endpoints.n; i++) {
		const struct pal_workload_endpoint *w = &m->workload_endpoints.v[i];

		for (size_t j = 0; j < i; j++) {
			const struct pal_workload_endpoint *x = &m->workload_endpoints.v[j];

			if (same_ns(w->namespace, x->namespace) && strcmp(w->name, x->name) == 0) {
				dup_error(d, w->pos, x->pos, "WorkloadEndpoint", w->namespace, w->name);
				break;
			}
		}
	}
	for (size_t i = 0; i < m->profiles.n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->profiles.v[i].name, m->profiles.v[j].name) == 0) {
				dup_error(d, m->profiles.v[i].pos, m->profiles.v[j].pos, "Profile",
					  NULL, m->profiles.v[i].name);
				break;
			}
	for (size_t i = 0; i < m->network_sets.n; i++) {
		const struct pal_network_set *s = &m->network_sets.v[i];

		for (size_t j = 0; j < i; j++) {
			const struct pal_network_set *t = &m->network_sets.v[j];

			if (same_ns(s->namespace, t->namespace) && strcmp(s->name, t->name) == 0) {
				dup_error(d, s->pos, t->pos,
					  s->namespace ? "NetworkSet" : "GlobalNetworkSet",
					  s->namespace, s->name);
				break;
			}
		}
	}
	for (size_t i = 0; i < m->namespaces.n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->namespaces.v[i].name, m->namespaces.v[j].name) == 0) {
				dup_error(d, m->namespaces.v[i].pos, m->namespaces.v[j].pos,
					  "Namespace", NULL, m->namespaces.v[i].name);
				break;
			}
}
