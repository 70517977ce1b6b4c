/* Kubernetes API objects -> palisade resource documents.
 *
 * The Kubernetes datastore (--datastore kubernetes) watches API objects; this is the one place that
 * says what each object means to policy, the way Calico's Kubernetes backend converts them (Pods
 * become WorkloadEndpoints, Namespaces and ServiceAccounts become the kns.<ns> / ksa.<ns>.<sa>
 * profiles, Calico's CRDs become their projectcalico.org/v3 resources, a Node becomes its
 * auto host endpoint...). The output is a list of documents in the format the policy-file loader
 * (pal_model_load_buffer) reads, so one decoder and one validator serve both datastores.
 *
 * Pure computation: jansson in, jansson out, no I/O, no global state. The watch side (informers)
 * owns the objects and decides what to do with an object that does not convert.
 */
#ifndef PALISADE_K8S_CONVERT_H
#define PALISADE_K8S_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* How the host side of a local pod's veth is named. */
enum pal_k8s_iface_naming {
	PAL_K8S_IFACE_CALICO, /* "cali" + the first 11 hex digits of sha1("<namespace>.<pod>") */
	PAL_K8S_IFACE_ROUTE,  /* the interface this node routes the pod's address to (any CNI) */
};

struct pal_k8s_convert_cfg {
	const char *node_name;   /* this node: its pods become local endpoints */
	enum pal_k8s_iface_naming iface_naming;
	/* PAL_K8S_IFACE_ROUTE: writes the name of the interface the node routes addr (an IP
	 * literal) to into out and returns 0, or returns -ENOENT when there is no such route yet
	 * (the endpoint is then emitted without an interface and stays unprogrammed). NULL with
	 * PAL_K8S_IFACE_ROUTE is an error. */
	int (*iface_for_addr)(void *ctx, const char *addr, char *out, size_t outlen);
	void *iface_ctx;
	/* Nodes become "<node>-auto-hep" host endpoints as Calico's kube-controllers creates them
	 * (every node's: other nodes' only feed selector address sets, as other nodes' pods do). */
	bool auto_host_endpoints;
};

/* Converts one API object into zero or more resource documents appended to out (a JSON array).
 * obj carries apiVersion and kind (the informer fills them in for list items, which the API
 * serves without them). Returns 0; -EINVAL when the object cannot be decoded, with err naming the
 * field path and the problem ("spec.containers[0].ports[1].containerPort: not an integer");
 * -ENOMEM. On error nothing is appended. Objects palisade does not use (a finished pod, a
 * hostNetwork pod) convert to nothing and return 0. */
int pal_k8s_convert(const json_t *obj, const struct pal_k8s_convert_cfg *cfg, json_t *out,
		    char *err, size_t errlen);

/* What a policy object (networking.k8s.io/v1 NetworkPolicy, Calico's GlobalNetworkPolicy and
 * NetworkPolicy) that pal_k8s_convert rejects is enforced as when it has no version in force: the
 * same object with the same selector, scope, tier, order and directions (absent ones defaulted as
 * the original's would be) and no rules, so the pods it selects are isolated in those directions
 * (other policies still admit); a Calico direction with any rule that is not an Allow (or Log)
 * instead gets one Deny of everything, since leaving out a Deny would admit what it denies.
 * Returns as pal_k8s_convert (-EINVAL: even that does not convert, e.g. the selector is the
 * problem; err says why), or -ENOENT for an object that is not a policy. */
int pal_k8s_convert_isolation(const json_t *obj, const struct pal_k8s_convert_cfg *cfg,
			      json_t *out, char *err, size_t errlen);

#endif
