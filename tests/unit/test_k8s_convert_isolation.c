/* pal_k8s_convert_isolation: what a policy the converter rejects is enforced as (fail closed): its
 * selector and directions with no rules, a Deny of everything where a Calico direction had
 * anything but Allow rules; nothing for an object that is not a policy or whose selector is the
 * problem. The traffic it gives: tests/e2e/test_k8s_fail_closed.sh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "test_k8s_convert_util.h"

/* The isolation of the object in text; asserts that the object itself is rejected with want. */
static json_t *isolation_of(const char *text, const char *want)
{
	json_t *o = kc_parse(text), *out = json_array();
	char err[256];
	int r;

	kc_fails(o, &kc_cfg, want);
	r = pal_k8s_convert_isolation(o, &kc_cfg, out, err, sizeof(err));
	cr_assert_eq(r, 0, "isolation: %d %s", r, err);
	json_decref(o);
	return out;
}

static void assert_types(const json_t *spec, const char *key, const char *want)
{
	char *got = json_dumps(json_object_get(spec, key), JSON_COMPACT);

	cr_assert_str_eq(got, want);
	free(got);
}

/* The API server accepts "010.1.2.3/32" (its legacy CIDR parser); palisade does not. */
#define K8S_NP_BAD_CIDR                                                                         \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"     \
	"\"name\":\"bad\",\"namespace\":\"shop\"},\"spec\":{\"podSelector\":{\"matchLabels\":{" \
	"\"app\":\"web\"}},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"010.1.2.3/32\"}}]}]%s}}"

Test(k8s_convert_isolation, k8s_policy_keeps_selector_and_defaulted_types_drops_rules)
{
	char text[1024];
	json_t *docs;
	const json_t *np, *spec;

	snprintf(text, sizeof(text), K8S_NP_BAD_CIDR, "");
	docs = isolation_of(text, "cidr");
	cr_assert_eq(json_array_size(docs), 1);
	np = kc_doc(docs, "NetworkPolicy", 0);
	cr_assert_not_null(np);
	cr_assert_str_eq(kc_str(np, "metadata", "name", NULL), "bad");
	cr_assert_str_eq(kc_str(np, "metadata", "namespace", NULL), "shop");
	spec = kc_get(np, "spec", NULL);
	cr_assert_str_eq(kc_str(spec, "podSelector", "matchLabels", "app", NULL), "web");
	assert_types(spec, "policyTypes", "[\"Ingress\"]");
	cr_assert_null(json_object_get(spec, "ingress"), "the rules must go");
	cr_assert_null(json_object_get(spec, "egress"));
	kc_load_compile(docs); /* asserts that the isolation loads and compiles */
	json_decref(docs);
}

/* The bad-CIDR NetworkPolicy with extra_spec appended to its spec isolates both directions. */
static void assert_isolates_both(const char *extra_spec)
{
	char text[1024];
	json_t *docs;

	snprintf(text, sizeof(text), K8S_NP_BAD_CIDR, extra_spec);
	docs = isolation_of(text, "cidr");
	assert_types(kc_get(kc_doc(docs, "NetworkPolicy", 0), "spec", NULL), "policyTypes",
		     "[\"Ingress\",\"Egress\"]");
	json_decref(docs);
}

/* Absent policyTypes with egress rules: Kubernetes defaults to both directions; the isolation
 * must say so, since without its rules the default would be Ingress alone (egress left open). */
Test(k8s_convert_isolation, k8s_absent_types_with_egress_isolates_both)
{
	assert_isolates_both(",\"egress\":[{\"ports\":[{\"port\":53}]}]");
}

/* policyTypes unreadable: both directions isolated rather than the selector given up. */
Test(k8s_convert_isolation, k8s_bad_types_isolate_both)
{
	assert_isolates_both(",\"policyTypes\":[\"Ingress\",\"Sideways\"]");
}

/* A Calico policy: an Allow-only direction loses its rules; a direction with a Deny becomes one
 * Deny of everything (leaving the Deny out would admit what it denied); tier and order stay. */
Test(k8s_convert_isolation, calico_deny_direction_denies_everything)
{
	json_t *docs = isolation_of(
		"{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"GlobalNetworkPolicy\","
		"\"metadata\":{\"name\":\"default.g\"},\"spec\":{\"order\":5,\"selector\":\"app == "
		"'web'\",\"ingress\":[{\"action\":\"Deny\",\"protocol\":\"TCP\",\"destination\":{"
		"\"ports\":[9090]}},{\"action\":\"Allow\",\"source\":{\"nets\":[\"bad\"]}}],"
		"\"egress\":[{\"action\":\"Allow\",\"destination\":{\"nets\":[\"bad\"]}}]}}",
		"nets");
	const json_t *spec = kc_get(kc_doc(docs, "GlobalNetworkPolicy", 0), "spec", NULL);
	char *ingress = json_dumps(json_object_get(spec, "ingress"), JSON_COMPACT);

	cr_assert_str_eq(ingress, "[{\"action\":\"Deny\"}]");
	free(ingress);
	cr_assert_null(json_object_get(spec, "egress"));
	assert_types(spec, "types", "[\"Ingress\",\"Egress\"]");
	cr_assert_eq(json_integer_value(json_object_get(spec, "order")), 5);
	cr_assert_str_eq(kc_str(spec, "selector", NULL), "app == 'web'");
	json_decref(docs);
}

/* No selector to read: no isolation (the caller says so and keeps what was in force). */
Test(k8s_convert_isolation, unreadable_selector_gives_nothing)
{
	json_t *o = kc_parse("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
			     "\"metadata\":{\"name\":\"bad\",\"namespace\":\"shop\"},\"spec\":{"
			     "\"podSelector\":{\"matchLabels\":{\"-\":\"x\"}}}}");
	json_t *out = json_array();
	char err[256];

	cr_assert_eq(pal_k8s_convert_isolation(o, &kc_cfg, out, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "podSelector"), "error: %s", err);
	cr_assert_eq(json_array_size(out), 0);
	json_decref(o);
	json_decref(out);
}

Test(k8s_convert_isolation, not_a_policy)
{
	json_t *o = kc_parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
			     "\"shop\"}}");
	json_t *out = json_array();
	char err[256];

	cr_assert_eq(pal_k8s_convert_isolation(o, &kc_cfg, out, err, sizeof(err)), -ENOENT);
	json_decref(o);
	json_decref(out);
}

/* A translation of more than 1024 rules in one direction (palisade's limit; the API server has
 * none): 1025 ipBlock peers in one rule. */
Test(k8s_convert_isolation, too_many_rules_isolates)
{
	char text[64 * 1025 + 1024], *p = text;
	json_t *docs;

	p += sprintf(p, "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
			"\"metadata\":{\"name\":\"big\",\"namespace\":\"shop\"},\"spec\":{"
			"\"podSelector\":{},\"ingress\":[{\"from\":[");
	for (int i = 0; i < 1025; i++)
		p += sprintf(p, "%s{\"ipBlock\":{\"cidr\":\"198.18.%d.%d/32\"}}", i ? "," : "",
			     i / 256, i % 256);
	sprintf(p, "]}]}}");
	docs = isolation_of(text, "more than 1024 rules");
	assert_types(kc_get(kc_doc(docs, "NetworkPolicy", 0), "spec", NULL), "policyTypes",
		     "[\"Ingress\"]");
	cr_assert_null(kc_get(kc_doc(docs, "NetworkPolicy", 0), "spec", "ingress", NULL));
	json_decref(docs);
}
