/* pal_k8s_convert_isolation: what a policy object palisade rejects is enforced as instead (see
 * convert.h). Once any policy selects a pod for a direction the pod is isolated in that direction,
 * so a rejected policy must not leave its pods open: its selector, scope and directions stay, its
 * rules go. An Allow-only direction keeps no rule (the pods are isolated: other policies' allows
 * still admit); a direction with any other action (Deny, Pass, or a rule that cannot be read)
 * becomes one Deny of everything, since dropping a Deny would admit what it denied.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "convert_internal.h"

/* Kubernetes' NetworkPolicy or Calico's policies: where the directions are and how they default. */
struct policy_flavour {
	const char *types_key; /* "policyTypes" (Kubernetes) or "types" (Calico) */
	bool k8s;              /* Kubernetes' defaulting of absent types, and no Deny to write */
};

static const struct policy_flavour k8s_flavour = { "policyTypes", true };
static const struct policy_flavour calico_flavour = { "types", false };

static const struct policy_flavour *flavour_of(const json_t *obj)
{
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	if (!api || !kind)
		return NULL;
	if (!strcmp(api, "networking.k8s.io/v1") && !strcmp(kind, "NetworkPolicy"))
		return &k8s_flavour;
	if ((!strcmp(api, K8S_CALICO_CRD) || !strcmp(api, K8S_CALICO_V3)) &&
	    (!strcmp(kind, "NetworkPolicy") || !strcmp(kind, "GlobalNetworkPolicy")))
		return &calico_flavour;
	return NULL;
}

/* Rules are written in this direction: anything but absent, null or an empty list (a value that is
 * not a list counts: isolating one direction more is the safe reading). */
static bool has_rules(const json_t *rules)
{
	return rules && !json_is_null(rules) && !(json_is_array(rules) && !json_array_size(rules));
}

/* Every rule is an Allow (or a Log, which decides nothing): leaving them out only admits less. */
static bool allow_only(const json_t *rules)
{
	const json_t *r;
	size_t i;

	if (!has_rules(rules))
		return true;
	if (!json_is_array(rules))
		return false;
	json_array_foreach(rules, i, r) {
		const char *a = json_string_value(json_object_get(r, "action"));

		if (!a || (strcmp(a, "Allow") && strcmp(a, "Log")))
			return false;
	}
	return true;
}

/* The directions the policy applies to: its list when that reads as one, else the defaulting of
 * an absent list (Kubernetes: Ingress, plus Egress with egress rules; Calico: the directions with
 * rules, Ingress when none), and both when the list is there but unreadable. */
static void policy_directions(const json_t *spec, const struct policy_flavour *f, bool *in,
			      bool *eg)
{
	const json_t *types = json_object_get(spec, f->types_key), *t;
	bool ing_rules = has_rules(json_object_get(spec, "ingress"));
	bool eg_rules = has_rules(json_object_get(spec, "egress"));
	size_t i;

	*in = *eg = false;
	if (!has_rules(types)) {
		*eg = eg_rules;
		*in = f->k8s || ing_rules || !eg_rules;
		return;
	}
	if (!json_is_array(types)) {
		*in = *eg = true;
		return;
	}
	json_array_foreach(types, i, t) {
		const char *s = json_string_value(t);

		if (s && !strcmp(s, "Ingress")) {
			*in = true;
		} else if (s && !strcmp(s, "Egress")) {
			*eg = true;
		} else {
			*in = *eg = true;
			return;
		}
	}
}

/* spec[dir] of the isolation policy: nothing for an Allow-only direction, one Deny otherwise. */
static int isolate_direction(json_t *spec, const char *dir, bool k8s)
{
	json_t *rules = json_object_get(spec, dir);

	if (k8s || allow_only(rules)) {
		json_object_del(spec, dir);
		return 0;
	}
	return k8s_put(spec, dir, json_pack("[{s:s}]", "action", "Deny"));
}

static int isolation_object(const json_t *obj, const struct policy_flavour *f, json_t **out)
{
	json_t *copy = json_deep_copy(obj), *spec = json_object_get(copy, "spec"), *types;
	bool in, eg;

	*out = NULL;
	if (!copy)
		return -ENOMEM;
	if (!json_is_object(spec)) {
		json_decref(copy);
		return -EINVAL; /* no selector to read: the caller reports the object's own error */
	}
	policy_directions(spec, f, &in, &eg);
	types = json_array();
	if (!types || (in && json_array_append_new(types, json_string("Ingress"))) ||
	    (eg && json_array_append_new(types, json_string("Egress"))) ||
	    k8s_put(spec, f->types_key, types) || isolate_direction(spec, "ingress", f->k8s) ||
	    isolate_direction(spec, "egress", f->k8s)) {
		json_decref(copy);
		return -ENOMEM;
	}
	*out = copy;
	return 0;
}

int pal_k8s_convert_isolation(const json_t *obj, const struct pal_k8s_convert_cfg *cfg,
			      json_t *out, char *err, size_t errlen)
{
	const struct policy_flavour *f = flavour_of(obj);
	json_t *iso;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!f)
		return -ENOENT;
	rc = isolation_object(obj, f, &iso);
	if (rc == -EINVAL)
		snprintf(err, errlen, "spec: not an object");
	if (rc)
		return rc;
	rc = pal_k8s_convert(iso, cfg, out, err, errlen);
	json_decref(iso);
	return rc;
}
