/* Tier, Profile, GlobalNetworkSet, NetworkSet and Namespace decoders. */
#include "decode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const tier_fields[] = { "order", "defaultAction", NULL };
static const char *const profile_fields[] = { "ingress", "egress", "labelsToApply", NULL };
static const char *const netset_fields[] = { "nets", NULL };
static const char *const ns_spec_fields[] = { "finalizers", NULL };

/* Enters spec with the field check; false when spec is not a mapping. An absent spec is fine. */
static bool enter_spec(struct dctx *c, const struct resource_head *h, const char *const *fields,
		       size_t *old)
{
	*old = path_push(c, "spec");
	if (!h->spec)
		return true;
	return check_fields(c, h->spec, fields, NULL);
}

/* Decision: a built-in tier may be declared, but only with its fixed order (Calico rejects any
 * other); an absent order is taken as that order. kube-admin and kube-baseline must also say
 * defaultAction Pass, as Calico's Tier CRD requires (has_action: the resource wrote one). */
static void pin_builtin_tier(struct dctx *c, const struct resource_head *h, struct pal_tier *t,
			     bool has_action)
{
	const struct pal_builtin_tier *b = pal_builtin_tier(t->name);

	if (!b)
		return;
	if (t->has_order && t->order != b->order)
		derr_field(c, h->spec, "order", "%s tier order must be %.0f", b->name, b->order);
	if (b->must_pass && (!has_action || t->default_action != PAL_ACTION_PASS)) {
		if (h->spec)
			derr_field(c, h->spec, "defaultAction",
				   "the '%s' tier must have defaultAction Pass", b->name);
		else
			derr_name(c, h, "the '%s' tier must have defaultAction Pass", b->name);
	}
	t->has_order = true;
	t->order = b->order;
}

void decode_tier(struct dctx *c, struct resource_head *h)
{
	struct pal_tier t = { 0 };
	char *action = NULL;
	bool has_action = false;
	size_t old, errors = decode_open(c, h, &t.pos, &t.name, NULL, NULL);

	t.default_action = PAL_ACTION_DENY;
	/* Tier names appear inside policy names, so they are a DNS label without dots. */
	if (!is_dns_label(t.name))
		derr_name(c, h, "invalid tier name \"%s\": must be lower case "
						   "alphanumeric characters or '-' (no dots), at most 63",
			   t.name);
	if (enter_spec(c, h, tier_fields, &old) && h->spec) {
		if (get_number(c, h->spec, "order", &t.order) > 0)
			t.has_order = true;
		if ((has_action = get_str(c, h->spec, "defaultAction", &action) > 0)) {
			if (strcmp(action, "Deny") == 0)
				t.default_action = PAL_ACTION_DENY;
			else if (strcmp(action, "Pass") == 0)
				t.default_action = PAL_ACTION_PASS;
			else
				derr_field(c, h->spec, "defaultAction",
					   "invalid defaultAction \"%s\"; must be Deny or Pass", action);
		}
	}
	pin_builtin_tier(c, h, &t, has_action);
	path_pop(c, old);
	free(action);
	DECODE_CLOSE(c, errors, c->m->tiers, t, pal_tier_clear);
}

void decode_profile(struct dctx *c, struct resource_head *h)
{
	struct pal_profile p = { 0 };
	size_t old, errors = decode_open(c, h, &p.pos, &p.name, NULL, &p.labels);

	check_subdomain_name(c, h, "profile name", p.name);
	if (enter_spec(c, h, profile_fields, &old) && h->spec) {
		decode_rules(c, h->spec, "ingress", true, &p.ingress);
		decode_rules(c, h->spec, "egress", false, &p.egress);
		get_labels(c, h->spec, "labelsToApply", &p.labels_to_apply, LABELS_LABELS);
	}
	path_pop(c, old);
	DECODE_CLOSE(c, errors, c->m->profiles, p, pal_profile_clear);
}

void decode_network_set(struct dctx *c, struct resource_head *h)
{
	struct pal_network_set s = { 0 };
	size_t old, errors = decode_open(c, h, &s.pos, &s.name, &s.namespace, &s.labels);

	check_subdomain_name(c, h, "name", s.name);
	/* Calico reserves this label for its own namespace mapping. */
	if (pal_labels_get(&s.labels, PAL_LABEL_NAMESPACE)) {
		size_t o = path_push(c, "metadata");

		path_push(c, "labels");

		derr_field(c, yt_map_get(h->metadata, "labels"), PAL_LABEL_NAMESPACE,
			   "%s is not a valid label name here (Calico sets it itself)",
			   PAL_LABEL_NAMESPACE);
		path_pop(c, o);
	}
	/* GlobalNetworkSet and NetworkSet share the spec; only namespacing differs (metadata). */
	if (enter_spec(c, h, netset_fields, &old) && h->spec)
		get_cidr_list(c, h->spec, "nets", &s.nets, &s.n_nets, SIZE_MAX);
	path_pop(c, old);
	DECODE_CLOSE(c, errors, c->m->network_sets, s, pal_network_set_clear);
}

void decode_namespace(struct dctx *c, struct resource_head *h)
{
	struct pal_namespace n = { 0 };
	size_t old, errors = decode_open(c, h, &n.pos, &n.name, NULL, &n.labels);

	if (!is_dns_label(n.name))
		derr_name(c, h, "invalid namespace name \"%s\": must be a DNS "
						   "label (lower case alphanumeric characters or '-', at "
						   "most 63)",
			   n.name);
	/* spec.finalizers is server-managed; accepted and ignored. status is skipped by the
	 * caller. */
	enter_spec(c, h, ns_spec_fields, &old);
	path_pop(c, old);
	DECODE_CLOSE(c, errors, c->m->namespaces, n, pal_namespace_clear);
}
