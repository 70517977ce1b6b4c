/* GlobalNetworkPolicy and NetworkPolicy (projectcalico.org/v3), with Calico's policy-level
 * validation (validateGlobalNetworkPolicySpec, validateNetworkPolicySpec) and types defaulting. */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

static const char *const gnp_fields[] = { "tier",	   "order",	  "selector",
					  "ingress",	   "egress",	  "types",
					  "doNotTrack",	   "preDNAT",	  "applyOnForward",
					  "serviceAccountSelector", "namespaceSelector",
					  "performanceHints", NULL };
static const char *const np_fields[] = { "tier",    "order", "selector", "ingress",
					 "egress",  "types", "serviceAccountSelector",
					 "performanceHints", NULL };

/* Calico: GNP names are a DNS label, optionally with one "tier." prefix; NetworkPolicy names the
 * same, or "knp.default.<subdomain>" for converted Kubernetes policies. At most 253 characters. */
static bool policy_name_ok(const char *name, enum pal_policy_kind kind)
{
	const char *dot = strchr(name, '.');

	if (strlen(name) > 253)
		return false;
	if (kind == PAL_POLICY_NAMESPACED &&
	    (strncmp(name, "knp.default.", 12) == 0 || strncmp(name, "ossg.default.", 13) == 0)) {
		return is_dns_subdomain(strchr(strchr(name, '.') + 1, '.') + 1);
	}
	if (!dot)
		return is_dns_label(name);
	if (strchr(dot + 1, '.'))
		return false;
	{
		char first[64];
		size_t l = (size_t)(dot - name);

		if (l >= sizeof(first))
			return false;
		memcpy(first, name, l);
		first[l] = '\0';
		return is_dns_label(first) && is_dns_label(dot + 1);
	}
}

/* spec.types: Ingress/Egress, each at most once. Absent or empty (Calico tests len(types) == 0):
 * Calico's defaulting (Ingress when there are ingress rules or no rules at all, Egress when there
 * are egress rules; both when both). */
static int decode_types(struct dctx *c, const struct yt_node *spec, struct pal_policy *p)
{
	const struct yt_node *types = yt_map_get(spec, "types");

	if (yt_is_null(types) || (types->kind == YT_SEQ && types->n_items == 0)) {
		/* Only reached with usable rule counts: a policy whose rules failed is dropped. */
		p->types_ingress = p->ingress.n > 0 || p->egress.n == 0;
		p->types_egress = p->egress.n > 0;
		return 0;
	}
	return get_direction_list(c, spec, "types", &p->types_ingress, &p->types_egress, false);
}

/* A policy-level selector: parses, and rejects global() (only valid in a rule's
 * namespaceSelector). */
static int policy_selector(struct dctx *c, const struct yt_node *spec, const char *key, char **text,
			   struct pal_selector **sel)
{
	int r = get_selector(c, spec, key, text, sel);

	if (r > 0 && pal_selector_uses_global(*sel)) {
		derr_field(c, spec, key, "global() can only be used in an EntityRule "
					 "namespaceSelector");
		return -1;
	}
	return r;
}

static bool check_gnp_flags(struct dctx *c, const struct yt_node *spec, const struct pal_policy *p)
{
	bool ok = true;

	if (p->do_not_track && p->pre_dnat) {
		derr_field(c, spec, "preDNAT", "preDNAT and doNotTrack cannot both be true");
		ok = false;
	}
	if (p->pre_dnat && p->egress.n > 0) {
		derr_field(c, spec, "egress", "a preDNAT policy cannot have egress rules");
		ok = false;
	}
	if (p->pre_dnat && p->types_egress && yt_map_get(spec, "types")) {
		const struct yt_node *types = yt_map_get(spec, "types");
		size_t old = path_push(c, "types");

		for (size_t i = 0; i < types->n_items; i++) {
			if (types->items[i]->kind == YT_SCALAR &&
			    strcmp(types->items[i]->text, "Egress") == 0) {
				size_t o2 = path_push_index(c, i);

				derr(c, types->items[i], "a preDNAT policy cannot have the Egress "
							 "type");
				path_pop(c, o2);
			}
		}
		path_pop(c, old);
		ok = false;
	}
	if (!p->apply_on_forward && (p->do_not_track || p->pre_dnat)) {
		if (yt_map_get(spec, "applyOnForward"))
			derr_field(c, spec, "applyOnForward",
				   "applyOnForward must be true when %s is true",
				   p->pre_dnat ? "preDNAT" : "doNotTrack");
		else
			derr_field(c, spec, p->pre_dnat ? "preDNAT" : "doNotTrack",
				   "%s requires applyOnForward: true",
				   p->pre_dnat ? "preDNAT" : "doNotTrack");
		ok = false;
	}
	return ok;
}

/* Absent, null or "": Calico's empty string. */
static bool is_unset(const struct yt_node *n)
{
	return yt_is_null(n) || (n->kind == YT_SCALAR && n->text[0] == '\0');
}

/* Calico's validateGlobalNetworkPolicySpec: a global policy has no namespace of its own, so a
 * services match (egress destination, ingress source) must name the Service's namespace. */
static void check_gnp_service_namespaces(struct dctx *c, const struct yt_node *spec,
					 const char *dir, const char *side)
{
	const struct yt_node *rules = yt_map_get(spec, dir);
	size_t old;

	if (!rules || rules->kind != YT_SEQ)
		return;
	old = path_push(c, dir);
	for (size_t i = 0; i < rules->n_items; i++) {
		const struct yt_node *ent = yt_map_get(rules->items[i], side);
		const struct yt_node *svc = ent ? yt_map_get(ent, "services") : NULL;
		size_t o2;

		if (!svc || svc->kind != YT_MAP || !is_unset(yt_map_get(svc, "namespace")))
			continue;
		o2 = path_push_index(c, i);
		path_push(c, side);
		derr_field(c, ent, "services", "a GlobalNetworkPolicy must specify the Service's "
					       "namespace (services.namespace)");
		path_pop(c, o2);
	}
	path_pop(c, old);
}

static int decode_performance_hints(struct dctx *c, const struct yt_node *spec)
{
	char **v = NULL;
	size_t n = 0;
	int r = get_str_list(c, spec, "performanceHints", &v, &n);

	for (size_t i = 0; r > 0 && i < n; i++) {
		if (strcmp(v[i], "AssumeNeededOnEveryNode") != 0) {
			derr_field(c, spec, "performanceHints",
				   "unknown performance hint \"%s\"; the only hint is "
				   "AssumeNeededOnEveryNode",
				   v[i]);
			r = -1;
		}
		for (size_t j = 0; r > 0 && j < i; j++) {
			if (strcmp(v[i], v[j]) == 0) {
				derr_field(c, spec, "performanceHints",
					   "performance hint \"%s\" listed more than once", v[i]);
				r = -1;
			}
		}
	}
	free_str_list(v, n);
	return r;
}

void decode_policy(struct dctx *c, struct resource_head *h)
{
	enum pal_policy_kind kind = h->namespaced ? PAL_POLICY_NAMESPACED : PAL_POLICY_GLOBAL;
	const struct yt_node *spec = h->spec;
	bool global = kind == PAL_POLICY_GLOBAL;
	struct pal_policy p;
	size_t errors = c->d->n_errors, old;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	decode_open(c, h, &p.pos, &p.name, &p.namespace, NULL);
	if (!policy_name_ok(p.name, kind)) {
		derr_name(c, h, "invalid policy name \"%s\": must be lower case alphanumeric characters "
			   "or '-', optionally prefixed by \"<tier>.\"",
			   p.name);
	}
	if (!spec) {
		/* An absent spec is an empty one: selects all(), no rules, Ingress type. */
		p.tier = xstrdup(PAL_DEFAULT_TIER);
		p.selector_text = xstrdup("");
		p.types_ingress = true;
		goto parse_selector;
	}
	old = path_push(c, "spec");
	if (!check_fields(c, spec, global ? gnp_fields : np_fields, NULL)) {
		path_pop(c, old);
		goto out;
	}
	if (get_opt_str(c, spec, "tier", &p.tier) > 0) {
		p.tier_pos = node_pos(c, yt_map_get(spec, "tier"));
		if (!is_dns_label(p.tier))
			derr_field(c, spec, "tier", "invalid tier name \"%s\": must be lower case "
						    "alphanumeric characters or '-'",
				   p.tier);
	}
	if (!p.tier)
		p.tier = xstrdup(PAL_DEFAULT_TIER);
	if (get_number(c, spec, "order", &p.order) > 0)
		p.has_order = true;
	policy_selector(c, spec, "selector", &p.selector_text, &p.selector);
	policy_selector(c, spec, "serviceAccountSelector", &p.service_account_selector_text,
			&p.service_account_selector);
	if (global)
		policy_selector(c, spec, "namespaceSelector", &p.namespace_selector_text,
				&p.namespace_selector);
	decode_rules(c, spec, "ingress", true, &p.ingress);
	decode_rules(c, spec, "egress", false, &p.egress);
	decode_types(c, spec, &p);
	decode_performance_hints(c, spec);
	if (global) {
		get_bool(c, spec, "doNotTrack", &p.do_not_track);
		get_bool(c, spec, "preDNAT", &p.pre_dnat);
		get_bool(c, spec, "applyOnForward", &p.apply_on_forward);
		check_gnp_flags(c, spec, &p);
		check_gnp_service_namespaces(c, spec, "egress", "destination");
		check_gnp_service_namespaces(c, spec, "ingress", "source");
	}
	path_pop(c, old);
parse_selector:
	if (!p.selector_text)
		p.selector_text = xstrdup(""); /* absent selector = all() */
	if (!p.selector && c->d->n_errors == errors)
		parse_selector_at(c, NULL, p.selector_text, &p.selector);
out:
	DECODE_CLOSE(c, errors, c->m->policies, p, pal_policy_clear);
}
