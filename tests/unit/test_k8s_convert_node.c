/* v1 Node -> "<node>-auto-hep" HostEndpoint (agent/k8s-convert/convert_node.c). */
#include <criterion/criterion.h>
#include <string.h>
#include "test_k8s_convert_util.h"

/* A node of a Calico cluster as the API serves it (Calico keeps its addresses in annotations). */
static const char *const node_json =
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-1\","
	"\"uid\":\"c1\",\"resourceVersion\":\"991\",\"labels\":{\"kubernetes.io/hostname\":"
	"\"node-1\",\"node-role.kubernetes.io/control-plane\":\"\"},\"annotations\":{"
	"\"projectcalico.org/IPv4Address\":\"198.18.0.1/24\","
	"\"projectcalico.org/IPv4IPIPTunnelAddr\":\"198.19.7.1\","
	"\"node.alpha.kubernetes.io/ttl\":\"0\"}},"
	"\"spec\":{\"podCIDR\":\"198.19.7.0/24\",\"podCIDRs\":[\"198.19.7.0/24\"]},"
	"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"198.18.0.1\"},"
	"{\"type\":\"InternalIP\",\"address\":\"2001:db8::1\"},"
	"{\"type\":\"ExternalIP\",\"address\":\"198.18.100.1\"},"
	"{\"type\":\"Hostname\",\"address\":\"node-1\"}],"
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}";

static const struct pal_k8s_convert_cfg auto_cfg = { .node_name = "node-1",
						     .iface_naming = PAL_K8S_IFACE_CALICO,
						     .auto_host_endpoints = true };

Test(k8s_convert_node, node_becomes_auto_host_endpoint)
{
	json_t *docs = kc_ok_text(node_json, &auto_cfg), *ips;
	const json_t *h = kc_doc(docs, "HostEndpoint", 0);

	cr_assert_eq(json_array_size(docs), 1);
	cr_assert_str_eq(kc_str(h, "metadata", "name", NULL), "node-1-auto-hep");
	cr_assert_str_eq(kc_str(h, "metadata", "labels", "projectcalico.org/created-by", NULL),
			 "calico-kube-controllers");
	cr_assert_str_eq(kc_str(h, "metadata", "labels", "node-role.kubernetes.io/control-plane",
				NULL), "");
	cr_assert_str_eq(kc_str(h, "spec", "node", NULL), "node-1");
	cr_assert_str_eq(kc_str(h, "spec", "interfaceName", NULL), "*");
	cr_assert_str_eq(json_string_value(json_array_get(kc_get(h, "spec", "profiles", NULL), 0)),
			 "projectcalico-default-allow");
	/* Annotations first (BGP address without its length, IPIP), then InternalIPs not yet
	 * seen; ExternalIP and Hostname are not expected IPs. */
	ips = (json_t *)kc_get(h, "spec", "expectedIPs", NULL);
	cr_assert_eq(json_array_size(ips), 3);
	cr_assert_str_eq(json_string_value(json_array_get(ips, 0)), "198.18.0.1");
	cr_assert_str_eq(json_string_value(json_array_get(ips, 1)), "198.19.7.1");
	cr_assert_str_eq(json_string_value(json_array_get(ips, 2)), "2001:db8::1");
	cr_assert_eq(kc_load_compile(docs), 1);
	json_decref(docs);
}

Test(k8s_convert_node, other_nodes_too_and_nothing_when_off)
{
	json_t *n = kc_parse(node_json), *docs;

	kc_set(n, "metadata.name", json_string("node-2"));
	docs = kc_ok(n, &auto_cfg);
	cr_assert_str_eq(kc_str(kc_doc(docs, "HostEndpoint", 0), "metadata", "name", NULL),
			 "node-2-auto-hep");
	/* Another node's host endpoint feeds address sets but is not enforced here. */
	cr_assert_eq(kc_load_compile(docs), 0);
	json_decref(docs);
	docs = kc_ok(n, &kc_cfg);
	cr_assert_eq(json_array_size(docs), 0);
	json_decref(docs);
	json_decref(n);
}

Test(k8s_convert_node, bad_addresses_name_their_path)
{
	json_t *n = kc_parse(node_json);

	kc_set(n, "status.addresses", json_pack("[{s:s,s:s}]", "type", "InternalIP", "address",
						"198.18.0.300"));
	kc_fails(n, &auto_cfg, "status.addresses[0].address: \"198.18.0.300\" is not an IP address");
	json_decref(n);
}

/* Calico's node conversion drops an address annotation its validator refuses (getAnnotation) and
 * kube-controllers still creates the host endpoint from the rest; rejecting the node left this
 * node without a host endpoint, its host unpoliced, where Calico polices it. */
Test(k8s_convert_node, annotations_calico_refuses_are_left_out)
{
	json_t *n = kc_parse(node_json), *docs, *ann, *ips;

	ann = json_object_get(json_object_get(n, "metadata"), "annotations");
	json_object_set_new(ann, "projectcalico.org/IPv6Address", json_string("zz::1/64"));
	/* the wrong family */
	json_object_set_new(ann, "projectcalico.org/IPv4VXLANTunnelAddr", json_string("2001:db8::9"));
	/* a tunnel address must be masked strictly (ValidateIPv4Network) */
	json_object_set_new(ann, "projectcalico.org/IPv4IPIPTunnelAddr", json_string("198.19.7.1/24"));
	json_object_set_new(ann, "projectcalico.org/IPv4WireguardInterfaceAddr", json_string(""));
	json_object_set_new(ann, "projectcalico.org/IPv6VXLANTunnelAddr",
			    json_string("2001:db8:1::7/128"));
	docs = kc_ok(n, &auto_cfg);
	ips = (json_t *)kc_get(kc_doc(docs, "HostEndpoint", 0), "spec", "expectedIPs", NULL);
	cr_assert_eq(json_array_size(ips), 3, "%zu expected IPs", json_array_size(ips));
	cr_expect_str_eq(json_string_value(json_array_get(ips, 0)), "198.18.0.1");
	cr_expect_str_eq(json_string_value(json_array_get(ips, 1)), "2001:db8:1::7");
	cr_expect_str_eq(json_string_value(json_array_get(ips, 2)), "2001:db8::1");
	cr_assert_eq(kc_load_compile(docs), 1);
	json_decref(docs);
	json_decref(n);
}

/* Calico's Node has the labels `calicoctl label node` keeps in the projectcalico.org/labels
 * annotation, the Kubernetes labels over them, and its auto host endpoint has them all: without
 * them a GlobalNetworkPolicy selecting the host by such a label did not police it. An annotation
 * that is not a JSON object of strings is ignored, as Calico ignores it. */
Test(k8s_convert_node, calico_labels_annotation_under_the_kubernetes_labels)
{
	json_t *n = kc_parse(node_json), *docs, *ann;
	const json_t *h;

	ann = json_object_get(json_object_get(n, "metadata"), "annotations");
	json_object_set_new(ann, "projectcalico.org/labels",
			    json_string("{\"zone\":\"dmz\",\"kubernetes.io/hostname\":\"calico-says\"}"));
	docs = kc_ok(n, &auto_cfg);
	h = kc_doc(docs, "HostEndpoint", 0);
	cr_expect_str_eq(kc_str(h, "metadata", "labels", "zone", NULL), "dmz");
	cr_expect_str_eq(kc_str(h, "metadata", "labels", "kubernetes.io/hostname", NULL), "node-1",
			 "the Kubernetes label wins");
	cr_expect_str_eq(kc_str(h, "metadata", "labels", "projectcalico.org/created-by", NULL),
			 "calico-kube-controllers");
	json_decref(docs);
	for (size_t i = 0; i < 3; i++) {
		static const char *const bad[] = { "{\"zone\":1}", "[\"zone\"]", "{zone" };

		json_object_set_new(ann, "projectcalico.org/labels", json_string(bad[i]));
		docs = kc_ok(n, &auto_cfg);
		h = kc_doc(docs, "HostEndpoint", 0);
		cr_expect_null(kc_get(h, "metadata", "labels", "zone", NULL), "%s", bad[i]);
		cr_expect_str_eq(kc_str(h, "metadata", "labels", "kubernetes.io/hostname", NULL),
				 "node-1");
		json_decref(docs);
	}
	json_decref(n);
}
