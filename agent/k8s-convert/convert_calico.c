/* Calico's resources as the Kubernetes datastore serves them, and networking.k8s.io/v1
 * NetworkPolicy.
 *
 *  - crd.projectcalico.org/v1 (the CRDs Calico's Kubernetes backend stores) and
 *    projectcalico.org/v3 (the Calico API server) GlobalNetworkPolicy, NetworkPolicy, Tier,
 *    HostEndpoint, GlobalNetworkSet and NetworkSet become projectcalico.org/v3 documents with the
 *    same spec and labels (the CRDs keep the v3 labels in metadata.labels; the rest of the v3
 *    metadata, in the projectcalico.org/metadata annotation, does not matter to policy).
 *  - Policy names as Calico's client reports them (ClientTieredPolicyName): the backend stores
 *    "default.<name>" for the default tier and "<tier>.<name>" for the others; the "default."
 *    prefix is dropped, a tier prefix stays (the loader accepts it and checks it against
 *    spec.tier), and names Calico formats itself ("knp.default.<name>") are kept as they are.
 *  - networking.k8s.io/v1 NetworkPolicy passes through; the loader translates it as Calico does,
 *    into "knp.default.<name>" in the default tier.
 * Server-set metadata, status and annotations are dropped: nothing in them is policy.
 */
#include <errno.h>
#include <string.h>
#include "convert_internal.h"

struct calico_kind {
	const char *kind;
	bool namespaced;
	bool policy; /* name mapping applies */
};

static const struct calico_kind calico_kinds[] = {
	{ "GlobalNetworkPolicy", false, true }, { "NetworkPolicy", true, true },
	{ "Tier", false, false },		 { "HostEndpoint", false, false },
	{ "GlobalNetworkSet", false, false },	 { "NetworkSet", true, false },
};

static const struct calico_kind *find_calico_kind(const char *kind)
{
	for (size_t i = 0; i < sizeof(calico_kinds) / sizeof(calico_kinds[0]); i++)
		if (!strcmp(calico_kinds[i].kind, kind))
			return &calico_kinds[i];
	return NULL;
}

/* Calico's ClientTieredPolicyName: "default.x" -> "x"; anything else as it is. */
static const char *client_policy_name(const char *name)
{
	static const char prefix[] = "default.";

	if (!strncmp(name, "knp.", 4) || !strncmp(name, "ossg.", 5))
		return name;
	if (!strncmp(name, prefix, sizeof(prefix) - 1) && name[sizeof(prefix) - 1])
		return name + sizeof(prefix) - 1;
	return name;
}

/* The object with clean metadata and its spec, as apiVersion/kind. */
static int pass_through(struct k8s_conv *c, const char *api_version, const char *kind,
			bool namespaced, bool policy)
{
	struct k8s_meta m;
	const json_t *spec;
	json_t *doc;
	int err;

	if ((err = k8s_get_meta(c, namespaced, &m)))
		return err;
	if ((err = k8s_get_object(c, c->obj, "spec", "spec", &spec)) < 0)
		return err;
	if ((err = k8s_new_doc(c, api_version, kind, policy ? client_policy_name(m.name) : m.name,
			       m.ns, m.labels, &doc)))
		return err;
	return spec ? k8s_put(doc, "spec", json_deep_copy(spec)) : 0;
}

int k8s_convert_calico(struct k8s_conv *c, const char *kind)
{
	const struct calico_kind *k = find_calico_kind(kind);

	if (!k)
		return k8s_fail(c, "kind", "Calico kind %s is not one palisade converts", kind);
	return pass_through(c, K8S_CALICO_V3, k->kind, k->namespaced, k->policy);
}

int k8s_convert_k8s_network_policy(struct k8s_conv *c)
{
	return pass_through(c, "networking.k8s.io/v1", "NetworkPolicy", true, false);
}
