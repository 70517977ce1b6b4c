/* Calico CRDs (crd.projectcalico.org/v1), projectcalico.org/v3 and networking.k8s.io/v1
 * NetworkPolicy (agent/k8s-convert/convert_calico.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "model.h"
#include "test_k8s_convert_util.h"

/* A GlobalNetworkPolicy as Calico's Kubernetes backend stores it. */
#define CRD_GNP(name, tier)                                                                        \
	"{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"GlobalNetworkPolicy\","           \
	"\"metadata\":{\"name\":\"" name "\",\"uid\":\"4\",\"resourceVersion\":\"77\","            \
	"\"generation\":2,\"creationTimestamp\":\"2026-12-01T10:00:00Z\","                         \
	"\"labels\":{\"projectcalico.org/tier\":\"" tier "\"},"                                    \
	"\"annotations\":{\"projectcalico.org/metadata\":\"{\\\"creationTimestamp\\\":null}\"},"    \
	"\"managedFields\":[{\"manager\":\"calicoctl\",\"operation\":\"Update\"}]},"                \
	"\"spec\":{\"tier\":\"" tier "\",\"order\":100,\"selector\":\"app == 'web'\","             \
	"\"types\":[\"Ingress\"],\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"TCP\","         \
	"\"destination\":{\"ports\":[80]}}]}}"

static const json_t *one_doc(const char *text, json_t **docs)
{
	*docs = kc_ok_text(text, &kc_cfg);
	cr_assert_eq(json_array_size(*docs), 1);
	return json_array_get(*docs, 0);
}

Test(k8s_convert_calico, crd_policy_in_default_tier_loses_the_default_prefix)
{
	json_t *docs;
	const json_t *d = one_doc(CRD_GNP("default.allow-web", "default"), &docs);

	cr_assert_str_eq(kc_str(d, "apiVersion", NULL), "projectcalico.org/v3");
	cr_assert_str_eq(kc_str(d, "kind", NULL), "GlobalNetworkPolicy");
	cr_assert_str_eq(kc_str(d, "metadata", "name", NULL), "allow-web");
	cr_assert_null(kc_get(d, "metadata", "annotations", NULL));
	cr_assert_null(kc_get(d, "metadata", "uid", NULL));
	cr_assert_eq(json_integer_value(kc_get(d, "spec", "order", NULL)), 100);
	kc_load_compile(docs);
	json_decref(docs);
}

Test(k8s_convert_calico, crd_policy_in_a_tier_keeps_its_prefix)
{
	json_t *docs, *all = json_array();
	const json_t *d = one_doc(CRD_GNP("security.block", "security"), &docs);

	cr_assert_str_eq(kc_str(d, "metadata", "name", NULL), "security.block");
	json_array_extend(all, docs);
	json_decref(docs);
	docs = kc_ok_text("{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"Tier\","
			  "\"metadata\":{\"name\":\"security\",\"resourceVersion\":\"3\"},"
			  "\"spec\":{\"order\":10,\"defaultAction\":\"Pass\"}}",
			  &kc_cfg);
	json_array_extend(all, docs);
	kc_load_compile(all);
	json_decref(docs);
	json_decref(all);
}

Test(k8s_convert_calico, v3_and_crd_kinds_keep_labels_and_namespace)
{
	static const char *const objs[][3] = {
		{ "crd.projectcalico.org/v1", "NetworkSet", "true" },
		{ "projectcalico.org/v3", "NetworkSet", "true" },
		{ "crd.projectcalico.org/v1", "GlobalNetworkSet", "false" },
		{ "projectcalico.org/v3", "GlobalNetworkSet", "false" },
	};

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		char text[512];
		json_t *docs;
		const json_t *d;
		bool ns = !strcmp(objs[i][2], "true");

		snprintf(text, sizeof(text),
			 "{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"metadata\":{\"name\":\"ext\",%s"
			 "\"labels\":{\"role\":\"db\"},\"uid\":\"9\"},\"spec\":{\"nets\":"
			 "[\"198.18.64.0/24\"]}}",
			 objs[i][0], objs[i][1], ns ? "\"namespace\":\"prod\"," : "");
		d = one_doc(text, &docs);
		cr_assert_str_eq(kc_str(d, "kind", NULL), objs[i][1]);
		cr_assert_str_eq(kc_str(d, "metadata", "labels", "role", NULL), "db");
		if (ns)
			cr_assert_str_eq(kc_str(d, "metadata", "namespace", NULL), "prod");
		else
			cr_assert_null(kc_get(d, "metadata", "namespace", NULL));
		json_decref(docs);
	}
}

Test(k8s_convert_calico, host_endpoint_crd)
{
	json_t *docs;
	const json_t *d = one_doc(
		"{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"HostEndpoint\","
		"\"metadata\":{\"name\":\"node-1-eth0\",\"labels\":{\"role\":\"edge\"}},"
		"\"spec\":{\"node\":\"node-1\",\"interfaceName\":\"eth0\","
		"\"expectedIPs\":[\"198.18.0.1\"],\"profiles\":[\"projectcalico-default-allow\"]}}",
		&docs);

	cr_assert_str_eq(kc_str(d, "spec", "interfaceName", NULL), "eth0");
	kc_load_compile(docs);
	json_decref(docs);
}

Test(k8s_convert_calico, k8s_network_policy_is_named_as_calico_names_it)
{
	json_t *docs;
	struct pal_model m;
	struct pal_diags d = { 0 };
	char *text;

	one_doc("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
		"\"metadata\":{\"name\":\"allow-db\",\"namespace\":\"prod\",\"uid\":\"5\","
		"\"resourceVersion\":\"8\",\"generation\":1,\"annotations\":{\"kubectl.kubernetes.io/"
		"last-applied-configuration\":\"{}\"}},\"spec\":{\"podSelector\":{\"matchLabels\":"
		"{\"app\":\"db\"}},\"policyTypes\":[\"Ingress\"],\"ingress\":[{\"from\":[{"
		"\"podSelector\":{}}],\"ports\":[{\"port\":5432}]}]},\"status\":{}}",
		&docs);
	text = json_dumps(docs, 0);
	pal_model_init(&m);
	pal_model_load_buffer(&m, "k.json", text, strlen(text), &d);
	cr_assert_eq(d.n_errors, 0);
	cr_assert_eq(m.policies.n, 1);
	cr_assert_str_eq(m.policies.v[0].name, "knp.default.allow-db");
	cr_assert_str_eq(m.policies.v[0].namespace, "prod");
	pal_model_free(&m);
	pal_diags_free(&d);
	free(text);
	json_decref(docs);
}

Test(k8s_convert_calico, errors_name_the_objects_field)
{
	json_t *o = kc_parse(CRD_GNP("default.x", "default"));

	kc_set(o, "spec.ingress", json_pack("[{s:s}]", "action", "Accept"));
	kc_fails(o, &kc_cfg, "spec.ingress[0].action: ");
	kc_set(o, "spec", json_string("x"));
	kc_fails(o, &kc_cfg, "spec: not an object");
	json_decref(o);
	o = kc_parse("{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"IPPool\","
		     "\"metadata\":{\"name\":\"p\"}}");
	kc_fails(o, &kc_cfg, "Calico kind IPPool is not one palisade converts");
	json_decref(o);
	o = kc_parse("{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"NetworkPolicy\","
		     "\"metadata\":{\"name\":\"p\"}}");
	kc_fails(o, &kc_cfg, "metadata.namespace: missing");
	json_decref(o);
}

/* An EndpointSlice as the EndpointSlice controller writes it. */
static const char *const slice_json =
	"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
	"\"name\":\"db-x7k2p\",\"namespace\":\"data\",\"generateName\":\"db-\",\"uid\":\"e1\","
	"\"resourceVersion\":\"5521\",\"labels\":{\"kubernetes.io/service-name\":\"db\","
	"\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"db\","
	"\"uid\":\"s1\"}]},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"198.18.7.1\"],"
	"\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},"
	"\"nodeName\":\"node-2\",\"zone\":\"a\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"db-0\"}},"
	"{\"addresses\":[\"198.18.7.2\"],\"conditions\":{\"ready\":false}}],"
	"\"ports\":[{\"name\":\"pg\",\"protocol\":\"TCP\",\"port\":5432,\"appProtocol\":\"postgresql\"},"
	"{\"name\":\"\",\"protocol\":\"UDP\",\"port\":null}]}";

Test(k8s_convert_services, endpoint_slice_keeps_addresses_and_ports)
{
	json_t *docs = kc_ok_text(slice_json, &kc_cfg), *svc;
	const json_t *s = kc_doc(docs, "EndpointSlice", 0);

	cr_assert_str_eq(kc_str(s, "metadata", "labels", "kubernetes.io/service-name", NULL), "db");
	cr_assert_str_eq(kc_str(s, "addressType", NULL), "IPv4");
	cr_assert_eq(json_array_size(kc_get(s, "endpoints", NULL)), 2, "not-ready ones too");
	cr_assert_null(kc_get(json_array_get(kc_get(s, "endpoints", NULL), 0), "conditions", NULL));
	cr_assert_null(kc_get(json_array_get(kc_get(s, "ports", NULL), 0), "appProtocol", NULL));
	svc = kc_ok_text("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"db\","
			 "\"namespace\":\"data\"},\"spec\":{\"clusterIP\":\"198.18.250.9\","
			 "\"someFutureField\":1},\"status\":{\"loadBalancer\":{}}}",
			 &kc_cfg);
	cr_assert_eq(json_array_size(svc), 1);
	json_array_extend(docs, svc);
	kc_load_compile(docs);
	json_decref(svc);
	json_decref(docs);
}

Test(k8s_convert_services, endpoint_slice_errors_name_the_field)
{
	json_t *o = kc_parse(slice_json);

	json_array_set_new(json_object_get(json_array_get(json_object_get(o, "endpoints"), 1),
					   "addresses"), 0, json_string("198.18.7"));
	kc_fails(o, &kc_cfg, "endpoints[1].addresses[0]: invalid IP address \"198.18.7\"");
	kc_set(o, "endpoints", json_pack("[s]", "x"));
	kc_fails(o, &kc_cfg, "endpoints[0]: not an object");
	kc_set(o, "addressType", json_null());
	kc_fails(o, &kc_cfg, "addressType: missing");
	json_decref(o);
}
