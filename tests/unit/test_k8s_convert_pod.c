/* v1 Pod -> WorkloadEndpoint, Namespace -> kns.<ns>, ServiceAccount -> ksa.<ns>.<sa>
 * (agent/k8s-convert/convert_pod.c, convert_identity.c), with objects shaped as the API serves
 * them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include "compiler.h"
#include "ir.h"
#include "model.h"
#include "test_k8s_convert_util.h"

/* A running pod as `kubectl get pod -o json` prints it (trimmed of fields nothing reads). */
static const char *const pod_json =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
	"\"name\":\"web-0\",\"namespace\":\"prod\",\"uid\":\"0b7e1c52-5c1a-4b8e-9d0c-1f2a3b4c5d6e\","
	"\"resourceVersion\":\"48213\",\"creationTimestamp\":\"2026-12-01T10:00:00Z\","
	"\"generateName\":\"web-\",\"labels\":{\"app\":\"web\",\"controller-revision-hash\":\"web-5d8\"},"
	"\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"2026-12-01T09:59:00Z\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"name\":\"web\","
	"\"uid\":\"6a\",\"controller\":true,\"blockOwnerDeletion\":true}],"
	"\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
	"\"apiVersion\":\"v1\",\"time\":\"2026-12-01T10:00:00Z\",\"fieldsType\":\"FieldsV1\","
	"\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{}}}}]},"
	"\"spec\":{\"nodeName\":\"node-1\",\"serviceAccountName\":\"web-sa\","
	"\"serviceAccount\":\"web-sa\",\"restartPolicy\":\"Always\",\"dnsPolicy\":\"ClusterFirst\","
	"\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25\","
	"\"ports\":[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},"
	"{\"containerPort\":9000,\"protocol\":\"TCP\"},"
	"{\"name\":\"dns\",\"containerPort\":53,\"protocol\":\"UDP\"}]},"
	"{\"name\":\"sidecar\",\"image\":\"busybox\",\"ports\":[{\"name\":\"metrics\","
	"\"containerPort\":9100},{\"containerPort\":7000,\"hostPort\":17000,\"hostIP\":\"198.18.0.1\"}]}]},"
	"\"status\":{\"phase\":\"Running\",\"hostIP\":\"198.18.0.1\",\"podIP\":\"198.18.5.7\","
	"\"podIPs\":[{\"ip\":\"198.18.5.7\"},{\"ip\":\"2001:db8::5:7\"}],"
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
	"\"qosClass\":\"BestEffort\",\"startTime\":\"2026-12-01T10:00:01Z\"}}";

static json_t *pod(void)
{
	return kc_parse(pod_json);
}

/* Converts the pod and returns its one WorkloadEndpoint (docs in *docs). */
static const json_t *one_wep(const json_t *p, const struct pal_k8s_convert_cfg *cfg, json_t **docs)
{
	*docs = kc_ok(p, cfg);
	cr_assert_eq(json_array_size(*docs), 1);
	cr_assert_not_null(kc_doc(*docs, "WorkloadEndpoint", 0));
	return kc_doc(*docs, "WorkloadEndpoint", 0);
}

/* The pod being deleted (deletionTimestamp), its CNI's annotation set to value. */
static json_t *terminating_pod(const char *annotation, const char *value)
{
	json_t *p = pod();

	kc_set(p, "metadata.deletionTimestamp", json_string("2026-12-01T11:00:00Z"));
	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "annotations"),
			    annotation, json_string(value));
	return p;
}

static void expect_nothing(const json_t *p)
{
	json_t *docs = kc_ok(p, &kc_cfg);

	cr_assert_eq(json_array_size(docs), 0, "expected no documents, got %zu",
		     json_array_size(docs));
	json_decref(docs);
}

/* Converts pod p (then freed) to its one workload endpoint and checks its spec.ipNetworks: exactly
 * the n of want, in order. */
static void expect_wep_nets(json_t *p, size_t n, const char *const *want)
{
	json_t *docs;
	const json_t *nets = kc_get(one_wep(p, &kc_cfg, &docs), "spec", "ipNetworks", NULL);

	cr_assert_eq(json_array_size(nets), n, "%zu ipNetworks, want %zu", json_array_size(nets), n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(json_string_value(json_array_get(nets, i)), want[i]);
	json_decref(docs);
	json_decref(p);
}

Test(k8s_convert_pod, running_pod_becomes_calico_workload_endpoint)
{
	json_t *p = pod(), *docs;
	const json_t *w = one_wep(p, &kc_cfg, &docs), *spec = kc_get(w, "spec", NULL);
	const json_t *labels = kc_get(w, "metadata", "labels", NULL), *ports;

	cr_assert_str_eq(kc_str(w, "apiVersion", NULL), "projectcalico.org/v3");
	cr_assert_str_eq(kc_str(w, "metadata", "name", NULL), "node--1-k8s-web--0-eth0");
	cr_assert_str_eq(kc_str(w, "metadata", "namespace", NULL), "prod");
	cr_assert_str_eq(kc_str(labels, "app", NULL), "web");
	cr_assert_str_eq(kc_str(labels, "projectcalico.org/namespace", NULL), "prod");
	cr_assert_str_eq(kc_str(labels, "projectcalico.org/orchestrator", NULL), "k8s");
	cr_assert_str_eq(kc_str(labels, "projectcalico.org/serviceaccount", NULL), "web-sa");
	cr_assert_str_eq(kc_str(spec, "node", NULL), "node-1");
	cr_assert_str_eq(kc_str(spec, "orchestrator", NULL), "k8s");
	cr_assert_str_eq(kc_str(spec, "pod", NULL), "web-0");
	cr_assert_str_eq(kc_str(spec, "endpoint", NULL), "eth0");
	cr_assert_str_eq(kc_str(spec, "serviceAccountName", NULL), "web-sa");
	/* python3: "cali" + hashlib.sha1(b"prod.web-0").hexdigest()[:11] */
	cr_assert_str_eq(kc_str(spec, "interfaceName", NULL), "caliaa960f0d82e");
	cr_assert_eq(json_array_size(kc_get(spec, "ipNetworks", NULL)), 2);
	cr_assert_str_eq(json_string_value(json_array_get(kc_get(spec, "ipNetworks", NULL), 0)),
			 "198.18.5.7/32");
	cr_assert_str_eq(json_string_value(json_array_get(kc_get(spec, "ipNetworks", NULL), 1)),
			 "2001:db8::5:7/128");
	cr_assert_str_eq(json_string_value(json_array_get(kc_get(spec, "profiles", NULL), 0)),
			 "kns.prod");
	cr_assert_str_eq(json_string_value(json_array_get(kc_get(spec, "profiles", NULL), 1)),
			 "ksa.prod.web-sa");
	/* Named ports and the hostPort one; the unnamed 9000 is not an endpoint port. */
	ports = kc_get(spec, "ports", NULL);
	cr_assert_eq(json_array_size(ports), 4);
	cr_assert_str_eq(kc_str(json_array_get(ports, 0), "name", NULL), "http");
	cr_assert_eq(json_integer_value(kc_get(json_array_get(ports, 0), "port", NULL)), 8080);
	cr_assert_str_eq(kc_str(json_array_get(ports, 1), "protocol", NULL), "UDP");
	cr_assert_str_eq(kc_str(json_array_get(ports, 2), "protocol", NULL), "TCP",
			 "protocol defaults to TCP");
	cr_assert_eq(json_integer_value(kc_get(json_array_get(ports, 3), "hostPort", NULL)), 17000);
	cr_assert_str_eq(kc_str(json_array_get(ports, 3), "hostIP", NULL), "198.18.0.1");
	json_decref(docs);
	json_decref(p);
}

/* A pod whose Calico CNI annotation names other addresses than its status (with_status false:
 * the kubelet has not reported any yet) converts to a workload endpoint with want4 and want6. */
static void expect_nets_with_calico_annotation(bool with_status, const char *want4,
					       const char *want6)
{
	const char *const want[] = { want4, want6 };
	json_t *p = pod();

	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "annotations"),
			    "cni.projectcalico.org/podIPs",
			    json_string("198.18.9.9/26, 2001:db8::9:9/122"));
	if (!with_status) {
		kc_set(p, "status.podIPs", json_null());
		kc_set(p, "status.podIP", json_null());
	}
	expect_wep_nets(p, 2, want);
}

/* The pod's addresses are status.podIPs, as Kubernetes (and Calico's current getPodIPs) has them:
 * a Calico annotation that says otherwise does not win. */
Test(k8s_convert_pod, status_wins_over_calico_annotation)
{
	expect_nets_with_calico_annotation(true, "198.18.5.7/32", "2001:db8::5:7/128");
}

/* Before the kubelet reports them, the addresses Calico's CNI wrote are used. */
Test(k8s_convert_pod, calico_annotation_before_status)
{
	expect_nets_with_calico_annotation(false, "198.18.9.9/32", "2001:db8::9:9/128");
}

Test(k8s_convert_pod, pod_ip_only_status)
{
	const char *const want[] = { "198.18.5.7/32" };
	json_t *p = pod();

	kc_set(p, "status.podIPs", json_null());
	expect_wep_nets(p, 1, want);
}

Test(k8s_convert_pod, pods_without_their_own_network_convert_to_nothing)
{
	static const char *const cases[][2] = {
		{ "spec.hostNetwork", "true" },    { "status.phase", "\"Succeeded\"" },
		{ "status.phase", "\"Failed\"" },  { "status.phase", "\"Completed\"" },
		{ "spec.nodeName", "null" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *p = pod();

		kc_set(p, cases[i][0], json_loads(cases[i][1], JSON_DECODE_ANY, NULL));
		expect_nothing(p);
		json_decref(p);
	}
	{
		/* Pending: no IP yet. */
		json_t *p = pod();

		kc_set(p, "status.podIPs", json_array());
		kc_set(p, "status.podIP", json_null());
		expect_nothing(p);
		json_decref(p);
	}
	{
		/* Terminating, and Calico's CNI has released the IP (annotation cleared). */
		json_t *p = terminating_pod("cni.projectcalico.org/podIP", "");

		expect_nothing(p);
		json_decref(p);
	}
}

/* A pod shown terminating (deletionTimestamp) by the API server keeps its status.podIP, but the
 * AWS VPC CNI clears its own annotation when it releases the address, which a new pod may then
 * get: the old pod must not keep a claim on it (Calico's IsFinished). */
Test(k8s_convert_pod, terminating_pod_whose_aws_cni_released_its_address_converts_to_nothing)
{
	json_t *p = terminating_pod("vpc.amazonaws.com/pod-ips", "");

	expect_nothing(p);
	json_decref(p);
}

/* Terminating but not yet released (the annotation still names it): still the pod's. Before the
 * kubelet reports the status, the AWS VPC CNI's annotation gives the address. */
Test(k8s_convert_pod, aws_cni_annotation_until_released)
{
	const char *const want[] = { "198.18.9.9/32" };
	json_t *p = terminating_pod("vpc.amazonaws.com/pod-ips", "198.18.9.9");

	kc_set(p, "status.podIPs", json_null());
	kc_set(p, "status.podIP", json_null());
	expect_wep_nets(p, 1, want);
}

/* A sidecar (an init container with restartPolicy Always, on by default since Kubernetes 1.29)
 * serves on its named ports all the pod's life: they are endpoint ports after the containers'
 * (Calico reads spec.initContainers too), so a policy naming one resolves on this pod. */
Test(k8s_convert_pod, init_container_ports_follow_the_containers)
{
	json_t *p = pod(), *docs;
	const json_t *ports;

	kc_set(p, "spec.initContainers",
	       json_loads("[{\"name\":\"mesh\",\"image\":\"proxy\",\"restartPolicy\":\"Always\","
			  "\"ports\":[{\"name\":\"mesh-admin\",\"containerPort\":15000,"
			  "\"protocol\":\"TCP\"},{\"containerPort\":15001}]}]",
			  0, NULL));
	ports = kc_get(one_wep(p, &kc_cfg, &docs), "spec", "ports", NULL);
	cr_assert_eq(json_array_size(ports), 5, "the 4 of the containers and the named one");
	cr_assert_str_eq(kc_str(json_array_get(ports, 0), "name", NULL), "http");
	cr_assert_str_eq(kc_str(json_array_get(ports, 4), "name", NULL), "mesh-admin");
	cr_assert_eq(json_integer_value(kc_get(json_array_get(ports, 4), "port", NULL)), 15000);
	json_decref(docs);
	kc_set(p, "spec.initContainers",
	       json_loads("[{\"name\":\"i\",\"ports\":[{\"name\":\"x\",\"containerPort\":0}]}]", 0,
			  NULL));
	kc_fails(p, &kc_cfg, "spec.initContainers[0].ports[0].containerPort: 0 is out of range");
	json_decref(p);
}

/* A service account name may have 253 characters, a label value 63: the pod of one longer than 63
 * converts (it was rejected: its veth denied everything) and, as Calico, is labelled
 * projectcalico.org/serviceaccount only below 63 characters. Its spec keeps the name, which
 * serviceAccounts matches read. */
Test(k8s_convert_pod, long_service_account_name_is_no_label)
{
	static const size_t lengths[] = { 64, 63, 62 };
	json_t *p = pod(), *docs;
	const json_t *w;
	char sa[65];

	/* A pod's own label of that key does not pose as its service account. */
	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"),
			    "projectcalico.org/serviceaccount", json_string("admin"));
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		memset(sa, 'a', lengths[i]);
		sa[lengths[i]] = '\0';
		kc_set(p, "spec.serviceAccountName", json_string(sa));
		w = one_wep(p, &kc_cfg, &docs);
		cr_assert_str_eq(kc_str(w, "spec", "serviceAccountName", NULL), sa);
		if (lengths[i] < 63)
			cr_assert_str_eq(kc_str(w, "metadata", "labels",
						"projectcalico.org/serviceaccount", NULL), sa);
		else
			cr_assert_null(kc_get(w, "metadata", "labels",
					      "projectcalico.org/serviceaccount", NULL),
				       "a name of %zu characters is no label", lengths[i]);
		json_decref(docs);
	}
	json_decref(p);
}

/* A Deployment's pod on a node without dots in its name: its workload endpoint's name
 * "<node>-k8s-<pod>-eth0" (dashes doubled) is one part of 69 characters without a dot. As the
 * pod's own name, it is a DNS subdomain for Kubernetes and Calico (their parts have no 63-character
 * limit): it converts and loads (it was rejected, the pod's veth denied everything). */
Test(k8s_convert_pod, workload_endpoint_name_longer_than_a_dns_label)
{
	json_t *p = pod(), *docs;
	const json_t *w;
	struct pal_k8s_convert_cfg cfg = kc_cfg;

	cfg.node_name = "worker-node-01";
	kc_set(p, "metadata.name", json_string("payments-api-deployment-7d9c8b6f5-x2kq9"));
	kc_set(p, "spec.nodeName", json_string("worker-node-01"));
	w = one_wep(p, &cfg, &docs);
	cr_assert_str_eq(kc_str(w, "metadata", "name", NULL),
			 "worker--node--01-k8s-payments--api--deployment--7d9c8b6f5--x2kq9-eth0");
	json_decref(docs);
	json_decref(p);
}

Test(k8s_convert_pod, pod_of_another_node_has_no_interface)
{
	json_t *p = pod(), *docs;
	const json_t *w;

	kc_set(p, "spec.nodeName", json_string("node-2"));
	w = one_wep(p, &kc_cfg, &docs);
	cr_assert_null(kc_get(w, "spec", "interfaceName", NULL));
	cr_assert_str_eq(kc_str(w, "spec", "node", NULL), "node-2");
	cr_assert_str_eq(kc_str(w, "metadata", "name", NULL), "node--2-k8s-web--0-eth0");
	json_decref(docs);
	json_decref(p);
}

struct route_fake {
	const char *addr;
	int calls;
};

static int route_lookup(void *ctx, const char *addr, char *out, size_t outlen)
{
	struct route_fake *f = ctx;

	f->calls++;
	if (strcmp(addr, f->addr))
		return -ENOENT;
	snprintf(out, outlen, "veth%s", "42");
	return 0;
}

Test(k8s_convert_pod, route_naming_asks_for_each_address_until_one_routes)
{
	struct route_fake f = { .addr = "2001:db8::5:7" };
	struct pal_k8s_convert_cfg cfg = { .node_name = "node-1",
					   .iface_naming = PAL_K8S_IFACE_ROUTE,
					   .iface_for_addr = route_lookup,
					   .iface_ctx = &f };
	json_t *p = pod(), *docs;
	const json_t *w = one_wep(p, &cfg, &docs);

	cr_assert_str_eq(kc_str(w, "spec", "interfaceName", NULL), "veth42");
	cr_assert_eq(f.calls, 2);
	json_decref(docs);
	/* No route yet: the endpoint is emitted without an interface. */
	f.addr = "198.18.200.1";
	w = one_wep(p, &cfg, &docs);
	cr_assert_null(kc_get(w, "spec", "interfaceName", NULL));
	json_decref(docs);
	cfg.iface_for_addr = NULL;
	kc_fails(p, &cfg, "iface_for_addr");
	json_decref(p);
}

Test(k8s_convert_pod, bad_fields_name_their_path)
{
	static const char *const cases[][3] = {
		{ "status.podIPs", "[{\"ip\":\"198.18.5.7\"},{\"ip\":\"not-an-ip\"}]",
		  "status.podIPs[1].ip: \"not-an-ip\" is not an IP address" },
		{ "status.podIPs", "[{\"ip\":7}]", "status.podIPs[0].ip: not a string" },
		{ "status.podIPs", "{}", "status.podIPs: not a list" },
		{ "spec.containers", "[{\"ports\":[{\"name\":\"x\",\"containerPort\":\"80\"}]}]",
		  "spec.containers[0].ports[0].containerPort: not an integer" },
		{ "spec.containers", "[{\"ports\":[{\"name\":\"x\",\"containerPort\":70000}]}]",
		  "spec.containers[0].ports[0].containerPort: 70000 is out of range" },
		{ "spec.hostNetwork", "\"yes\"", "spec.hostNetwork: not a boolean" },
		{ "metadata.labels", "{\"app\":1}", "metadata.labels.app: not a string" },
		{ "metadata.namespace", "null", "metadata.namespace: missing" },
		/* What the loader rejects is reported against the object too. */
		{ "spec.containers", "[{\"ports\":[{\"name\":\"Bad_Name\",\"containerPort\":80}]}]",
		  "as WorkloadEndpoint node--1-k8s-web--0-eth0: spec.ports[0].name: invalid port "
		  "name \"Bad_Name\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *p = pod();

		kc_set(p, cases[i][0], json_loads(cases[i][1], JSON_DECODE_ANY, NULL));
		kc_fails(p, &kc_cfg, cases[i][2]);
		json_decref(p);
	}
	{
		json_t *p = pod();

		json_object_set_new(json_object_get(json_object_get(p, "metadata"), "annotations"),
				    "cni.projectcalico.org/podIPs", json_string("198.18.1.1,,"));
		/* The annotation is read when the status has no address yet. */
		kc_set(p, "status.podIPs", json_null());
		kc_set(p, "status.podIP", json_null());
		kc_fails(p, &kc_cfg, "metadata.annotations.cni.projectcalico.org/podIPs:");
		json_decref(p);
	}
}

Test(k8s_convert_identity, namespace_becomes_kns_profile_and_passes_through)
{
	json_t *docs = kc_ok_text(
		"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"prod\","
		"\"uid\":\"1\",\"resourceVersion\":\"7\",\"labels\":{\"team\":\"a\","
		"\"kubernetes.io/metadata.name\":\"prod\"},\"managedFields\":[]},"
		"\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}",
		&kc_cfg);
	const json_t *ns = kc_doc(docs, "Namespace", 0), *pr = kc_doc(docs, "Profile", 0);
	const json_t *lta = kc_get(pr, "spec", "labelsToApply", NULL);

	cr_assert_not_null(ns);
	cr_assert_str_eq(kc_str(ns, "metadata", "labels", "team", NULL), "a");
	cr_assert_null(kc_get(ns, "status", NULL));
	cr_assert_str_eq(kc_str(pr, "metadata", "name", NULL), "kns.prod");
	cr_assert_str_eq(kc_str(lta, "pcns.team", NULL), "a");
	cr_assert_str_eq(kc_str(lta, "pcns.kubernetes.io/metadata.name", NULL), "prod");
	cr_assert_str_eq(kc_str(lta, "pcns.projectcalico.org/name", NULL), "prod");
	cr_assert_str_eq(kc_str(json_array_get(kc_get(pr, "spec", "ingress", NULL), 0), "action",
				NULL), "Allow");
	cr_assert_str_eq(kc_str(json_array_get(kc_get(pr, "spec", "egress", NULL), 0), "action",
				NULL), "Allow");
	json_decref(docs);
}

Test(k8s_convert_identity, long_label_keys_that_cannot_be_prefixed_are_left_out)
{
	char text[512];
	json_t *docs;

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"n\","
		 "\"labels\":{\"%s\":\"x\",\"ok\":\"y\"}}}",
		 "a23456789012345678901234567890123456789012345678901234567890123");
	docs = kc_ok_text(text, &kc_cfg);
	cr_assert_eq(json_object_size(kc_get(kc_doc(docs, "Profile", 0), "spec", "labelsToApply",
					     NULL)), 2);
	json_decref(docs);
}

Test(k8s_convert_identity, service_account_becomes_ksa_profile)
{
	json_t *docs = kc_ok_text(
		"{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"web-sa\","
		"\"namespace\":\"prod\",\"uid\":\"2\",\"resourceVersion\":\"9\","
		"\"labels\":{\"tier\":\"front\"}},\"secrets\":[{\"name\":\"web-sa-token\"}]}",
		&kc_cfg);
	const json_t *pr = kc_doc(docs, "Profile", 0);

	cr_assert_eq(json_array_size(docs), 1);
	cr_assert_str_eq(kc_str(pr, "metadata", "name", NULL), "ksa.prod.web-sa");
	cr_assert_str_eq(kc_str(pr, "spec", "labelsToApply", "pcsa.tier", NULL), "front");
	cr_assert_str_eq(kc_str(pr, "spec", "labelsToApply", "pcsa.projectcalico.org/name", NULL),
			 "web-sa");
	cr_assert_null(kc_get(pr, "spec", "ingress", NULL));
	json_decref(docs);
}

/* Its profile converts too, without the name label a label value cannot hold. */
Test(k8s_convert_identity, long_service_account_name_has_no_name_label)
{
	char text[512], sa[65];
	json_t *docs;
	const json_t *pr;

	memset(sa, 'a', 64);
	sa[64] = '\0';
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"prod\",\"labels\":{\"tier\":\"front\"}}}",
		 sa);
	docs = kc_ok_text(text, &kc_cfg);
	pr = kc_doc(docs, "Profile", 0);
	cr_assert_str_eq(kc_str(pr, "spec", "labelsToApply", "pcsa.tier", NULL), "front");
	cr_assert_null(kc_get(pr, "spec", "labelsToApply", "pcsa.projectcalico.org/name", NULL));
	json_decref(docs);
}

Test(k8s_convert, not_an_object_or_unknown_kind)
{
	json_t *o = json_string("x");

	kc_fails(o, &kc_cfg, "not a JSON object");
	json_decref(o);
	o = kc_parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"}}");
	kc_fails(o, &kc_cfg, "kind: v1 ConfigMap is not a kind palisade converts");
	json_decref(o);
	o = kc_parse("{\"kind\":\"Pod\"}");
	kc_fails(o, &kc_cfg, "apiVersion: missing");
	json_decref(o);
}

/* Appends the conversions of the n objects (JSON text) and of pod p to all. */
static void convert_into(json_t *all, const char *const *objs, size_t n, const json_t *p)
{
	json_t *docs;

	for (size_t i = 0; i < n; i++) {
		docs = kc_ok_text(objs[i], &kc_cfg);
		json_array_extend(all, docs);
		json_decref(docs);
	}
	docs = kc_ok(p, &kc_cfg);
	json_array_extend(all, docs);
	json_decref(docs);
}

/* Conversion and loader agree: everything a small cluster turns into loads, validates and
 * compiles, and this node's pod is a local endpoint whose kns profile exists. */
Test(k8s_convert, cluster_objects_load_and_compile)
{
	static const char *const objs[] = {
		"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"prod\","
		"\"labels\":{\"team\":\"a\"}}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"web-sa\","
		"\"namespace\":\"prod\"}}",
	};
	json_t *all = json_array(), *p = pod();

	convert_into(all, objs, sizeof(objs) / sizeof(objs[0]), p);
	kc_set(p, "metadata.name", json_string("web-1"));
	kc_set(p, "spec.nodeName", json_string("node-2"));
	kc_set(p, "status.podIPs", json_pack("[{s:s}]", "ip", "198.18.5.8"));
	convert_into(all, NULL, 0, p);
	cr_assert_eq(kc_load_compile(all), 1);
	json_decref(all);
	json_decref(p);
}

/* A ServiceAccount's labels reach serviceAccountSelector through the ksa profile's pcsa. labels,
 * as in Calico (before, only projectcalico.org/name was seen). */
Test(k8s_convert_identity, service_account_labels_reach_service_account_selectors)
{
	static const char *const objs[] = {
		"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"prod\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"web-sa\","
		"\"namespace\":\"prod\",\"labels\":{\"tier\":\"front\"}}}",
		"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"GlobalNetworkPolicy\","
		"\"metadata\":{\"name\":\"front\"},\"spec\":{\"serviceAccountSelector\":"
		"\"tier == 'front'\",\"ingress\":[{\"action\":\"Allow\",\"source\":"
		"{\"serviceAccounts\":{\"selector\":\"tier == 'front'\"}}}]}}",
	};
	json_t *all = json_array(), *p = pod();
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_compile_opts opts = { .node = "node-1" };
	struct pal_ir ir = { 0 };
	char *text;

	convert_into(all, objs, sizeof(objs) / sizeof(objs[0]), p);
	text = json_dumps(all, 0);
	pal_model_init(&m);
	pal_model_load_buffer(&m, "k.json", text, strlen(text), &d);
	cr_assert_eq(pal_compile(&m, &opts, &ir, &d), 0);
	cr_assert_eq(ir.n_endpoints, 1);
	cr_assert_eq(ir.endpoints[0].normal[PAL_DIR_INGRESS].n_tiers, 1,
		     "serviceAccountSelector did not select the pod");
	/* The rule's serviceAccounts set holds the pod's address. */
	{
		const struct pal_ir_rule *r =
			&ir.endpoints[0].normal[PAL_DIR_INGRESS].tiers[0].policies[0].rules[0];

		cr_assert_eq(r->match.src.n_in_sets, 1);
		cr_assert_eq(ir.sets[r->match.src.in_sets[0]].n, 2);
	}
	pal_ir_free(&ir);
	pal_diags_free(&d);
	pal_model_free(&m);
	free(text);
	json_decref(all);
	json_decref(p);
}
