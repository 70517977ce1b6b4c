/* v1 Namespace and v1 ServiceAccount: the identities Calico's Kubernetes backend turns into
 * profiles.
 *
 *  - Namespace <ns> -> Profile kns.<ns>: allow-all ingress and egress rules (so a pod without
 *    policy is reachable, Kubernetes' default) and labelsToApply "pcns.<key>" for each namespace
 *    label plus pcns.projectcalico.org/name = <ns>, which every pod of the namespace inherits.
 *    The Namespace itself is passed through as well: the loader uses it for namespaceSelector.
 *  - ServiceAccount <ns>/<sa> -> Profile ksa.<ns>.<sa>: no rules, labelsToApply "pcsa.<key>" for
 *    each label plus pcsa.projectcalico.org/name = <sa> (what serviceAccountSelector matches).
 *
 * A prefixed key that is no longer a valid label key (a 63-character name plus "pcns.") is left
 * out: Calico keeps it in memory, but no selector palisade accepts can name it either. So is the
 * name label of a ServiceAccount whose name is no label value (longer than 63 characters, where
 * Kubernetes allows 253): serviceAccounts matches read the pod's spec.serviceAccountName, not
 * this label, and leaving it in would reject the profile.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "convert_internal.h"
#include "decode.h"

#define NAME_LABEL "projectcalico.org/name"

/* labelsToApply: prefix + each label, then prefix + projectcalico.org/name = name. */
static json_t *prefixed_labels(const json_t *labels, const char *prefix, const char *name)
{
	json_t *out = json_object();
	const char *k, *why;
	json_t *v;
	char key[512];

	if (!out)
		return NULL;
	if (labels) {
		json_object_foreach((json_t *)labels, k, v) {
			snprintf(key, sizeof(key), "%s%s", prefix, k);
			if (strlen(prefix) + strlen(k) >= sizeof(key) || !is_qualified_name(key, &why))
				continue;
			if (json_object_set(out, key, v))
				goto fail;
		}
	}
	snprintf(key, sizeof(key), "%s%s", prefix, NAME_LABEL);
	if (!is_label_value(name, &why) || k8s_put_str(out, key, name) == 0)
		return out;
fail:
	json_decref(out);
	return NULL;
}

static json_t *allow_all_rules(void)
{
	return json_pack("[{s:s}]", "action", "Allow");
}

int k8s_convert_namespace(struct k8s_conv *c)
{
	struct k8s_meta m;
	json_t *ns_doc, *profile, *spec;
	char name[300];
	int err;

	if ((err = k8s_get_meta(c, false, &m)))
		return err;
	if ((err = k8s_new_doc(c, "v1", "Namespace", m.name, NULL, m.labels, &ns_doc)))
		return err;
	snprintf(name, sizeof(name), "kns.%s", m.name);
	if ((err = k8s_new_doc(c, K8S_CALICO_V3, "Profile", name, NULL, NULL, &profile)))
		return err;
	spec = json_object();
	if ((err = k8s_put(profile, "spec", spec)) ||
	    (err = k8s_put(spec, "ingress", allow_all_rules())) ||
	    (err = k8s_put(spec, "egress", allow_all_rules())))
		return err;
	return k8s_put(spec, "labelsToApply", prefixed_labels(m.labels, PAL_NS_LABEL_PREFIX, m.name));
}

int k8s_convert_service_account(struct k8s_conv *c)
{
	struct k8s_meta m;
	json_t *profile, *spec;
	char name[600];
	int err;

	if ((err = k8s_get_meta(c, true, &m)))
		return err;
	snprintf(name, sizeof(name), "ksa.%s.%s", m.ns, m.name);
	if (strlen(name) > 253)
		return k8s_fail(c, "metadata.name", "profile name \"ksa.%s.<name>\" would be longer "
			       "than 253 characters", m.ns);
	if ((err = k8s_new_doc(c, K8S_CALICO_V3, "Profile", name, NULL, NULL, &profile)))
		return err;
	spec = json_object();
	if ((err = k8s_put(profile, "spec", spec)))
		return err;
	return k8s_put(spec, "labelsToApply", prefixed_labels(m.labels, PAL_SA_LABEL_PREFIX, m.name));
}
