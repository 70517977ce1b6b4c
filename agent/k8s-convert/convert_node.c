/* v1 Node -> "<node>-auto-hep" HostEndpoint, as Calico's kube-controllers creates it when auto
 * host endpoints are on (cfg->auto_host_endpoints; otherwise a Node converts to nothing).
 *
 *  - labels: the node's, plus projectcalico.org/created-by = calico-kube-controllers. The node's
 *    labels are Calico's Node's: those of the projectcalico.org/labels annotation (a JSON object
 *    of strings, where `calicoctl label node` keeps labels Kubernetes does not have; anything
 *    else there is ignored, as Calico ignores it) with the Kubernetes labels over them;
 *  - spec: node = the node's name, interfaceName "*" (all of its interfaces), profile
 *    projectcalico-default-allow (so a node without host policy stays open);
 *  - expectedIPs, in Calico's order and without repeats: the addresses Calico keeps in the
 *    node's annotations (BGP IPv4 and IPv6 address without the prefix length, IPIP, VXLAN and
 *    WireGuard tunnel addresses), then the node's InternalIP addresses. An annotation that is
 *    not an address of its family (the tunnel addresses: strictly masked, as a bare address is)
 *    is left out, as Calico's node conversion (getAnnotation with its validators) leaves it out:
 *    rejecting the whole node instead left a node without a host endpoint (its host unpoliced)
 *    where Calico creates one from the other addresses. An InternalIP that is not an address
 *    still rejects the node (Calico's HostEndpoint would not validate either).
 * Every node gets one, not only this one: the host endpoints of the other nodes are what rule
 * selectors such as `has(node-role.kubernetes.io/control-plane)` resolve to.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "convert_internal.h"
#include "model.h"
#include "net.h"

#define CREATED_BY_LABEL "projectcalico.org/created-by"
#define CREATED_BY_VALUE "calico-kube-controllers"

/* Calico's validator of each: a CIDR or address of the family (BGP addresses, whose prefix
 * length is the subnet's), or a network as strictly masked as a bare address (the rest). */
static const struct {
	const char *key;
	uint8_t family;
	bool network;
} addr_annotations[] = {
	{ "projectcalico.org/IPv4Address", PAL_AF_INET4, false },
	{ "projectcalico.org/IPv6Address", PAL_AF_INET6, false },
	{ "projectcalico.org/IPv4IPIPTunnelAddr", PAL_AF_INET4, true },
	{ "projectcalico.org/IPv4VXLANTunnelAddr", PAL_AF_INET4, true },
	{ "projectcalico.org/IPv6VXLANTunnelAddr", PAL_AF_INET6, true },
	{ "projectcalico.org/IPv4WireguardInterfaceAddr", PAL_AF_INET4, true },
};

/* True when text passes the annotation's validator in Calico's node conversion. */
static bool annotation_addr_valid(const char *text, uint8_t family, bool network)
{
	char buf[PAL_CIDR_STRLEN];
	size_t len = strcspn(text, "/");
	struct pal_cidr cidr;
	struct pal_addr a;
	bool host_bits = false;

	if (len >= sizeof(buf) || !pal_cidr_parse(text, &cidr, &host_bits))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return pal_addr_parse(buf, &a) && a.family == family && cidr.addr.family == family &&
	       !(network && host_bits);
}

/* Appends the address of text ("addr" or "addr/len") unless already there. */
static int add_expected_ip(struct k8s_conv *c, json_t *ips, const char *text, const char *path)
{
	char canon[PAL_CIDR_STRLEN];
	struct pal_addr a;
	size_t i;
	json_t *v;
	int err;

	if ((err = k8s_parse_addr(c, text, path, &a)))
		return err;
	pal_addr_str(&a, canon);
	json_array_foreach(ips, i, v)
		if (!strcmp(json_string_value(v), canon))
			return 0;
	return json_array_append_new(ips, json_string(canon)) ? -ENOMEM : 0;
}

static int internal_ips(struct k8s_conv *c, json_t *ips)
{
	const json_t *status, *addrs, *a;
	const char *type, *addr;
	char path[64];
	size_t i;
	int r;

	if ((r = k8s_get_object(c, c->obj, "status", "status", &status)) < 0 ||
	    (r = k8s_get_array(c, status, "addresses", "status.addresses", &addrs)) < 0)
		return r;
	json_array_foreach(addrs, i, a) {
		if ((r = k8s_item_object(c, a, "status.addresses", i)) ||
		    (r = k8s_get_item_string(c, a, "status.addresses", i, "type", path, sizeof(path),
					     &type)) < 0 ||
		    (r = k8s_get_item_string(c, a, "status.addresses", i, "address", path,
					     sizeof(path), &addr)) < 0)
			return r;
		if (type && addr && !strcmp(type, "InternalIP") &&
		    (r = add_expected_ip(c, ips, addr, path)))
			return r;
	}
	return 0;
}

static int expected_ips(struct k8s_conv *c, const struct k8s_meta *m, json_t *ips)
{
	char path[128];
	int err;

	for (size_t i = 0; i < sizeof(addr_annotations) / sizeof(addr_annotations[0]); i++) {
		const char *v = k8s_annotation(m, addr_annotations[i].key);

		if (!v || !annotation_addr_valid(v, addr_annotations[i].family,
						 addr_annotations[i].network))
			continue; /* Calico leaves it out too */
		snprintf(path, sizeof(path), "metadata.annotations.%s", addr_annotations[i].key);
		if ((err = add_expected_ip(c, ips, v, path)))
			return err;
	}
	return internal_ips(c, ips);
}

#define CALICO_LABELS_ANNOTATION "projectcalico.org/labels"

/* Calico's Node labels (K8sNodeToCalico): the projectcalico.org/labels annotation's, when it is a
 * JSON object of strings (else none, as json.Unmarshal into map[string]string fails), then the
 * Kubernetes labels over them. NULL: out of memory. */
static json_t *node_labels(const struct k8s_meta *m)
{
	const char *text = k8s_annotation(m, CALICO_LABELS_ANNOTATION), *k;
	json_t *labels = NULL, *v;
	bool strings = true;

	if (text) {
		labels = json_loads(text, 0, NULL);
		json_object_foreach(labels, k, v)
			strings = strings && json_is_string(v);
		if (!json_is_object(labels) || !strings) {
			json_decref(labels);
			labels = NULL;
		}
	}
	if (!labels && !(labels = json_object()))
		return NULL;
	if (m->labels && json_object_update(labels, (json_t *)m->labels)) {
		json_decref(labels);
		return NULL;
	}
	return labels;
}

int k8s_convert_node(struct k8s_conv *c)
{
	struct k8s_meta m;
	json_t *labels, *doc, *spec, *ips;
	char name[300];
	int err;

	if ((err = k8s_get_meta(c, false, &m)))
		return err;
	ips = json_array();
	if (!ips)
		return -ENOMEM;
	if (!c->cfg->auto_host_endpoints || (err = expected_ips(c, &m, ips)))
		goto out;
	snprintf(name, sizeof(name), "%s-auto-hep", m.name);
	labels = node_labels(&m);
	err = labels ? k8s_put_str(labels, CREATED_BY_LABEL, CREATED_BY_VALUE) : -ENOMEM;
	if (!err)
		err = k8s_new_doc(c, K8S_CALICO_V3, "HostEndpoint", name, NULL, labels, &doc);
	json_decref(labels);
	if (err)
		goto out;
	spec = json_pack("{s:s, s:s, s:[s]}", "node", m.name, "interfaceName", "*", "profiles",
			 PAL_PROFILE_DEFAULT_ALLOW);
	if ((err = k8s_put(doc, "spec", spec)))
		goto out;
	if (json_array_size(ips))
		err = k8s_put(spec, "expectedIPs", json_incref(ips));
out:
	json_decref(ips);
	return err;
}
