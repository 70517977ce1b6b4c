/* pal_model_borrow and pal_model_shrink: the Kubernetes datastore keeps one small decoded model per
 * object and builds the whole model from them at every reload without decoding again. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "intern.h"
#include "model.h"

static void load(struct pal_model *m, const char *name, const char *text)
{
	struct pal_diags d = { 0 };

	pal_model_init(m);
	cr_assert_eq(pal_model_load_buffer(m, name, text, strlen(text), &d), 0);
	cr_assert_not(pal_diags_has_errors(&d));
	pal_diags_free(&d);
}

static const char ns_doc[] = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n"
			     "    team: a\n";
static const char gnp_doc[] = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
			      "metadata:\n  name: allow\nspec:\n  selector: app == 'web'\n"
			      "  ingress:\n  - action: Allow\n---\n"
			      "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: t1\n"
			      "spec:\n  order: 10\n";

Test(model_borrow, whole_model_from_fragments_frees_only_its_arrays)
{
	struct pal_model a, b, all;
	struct pal_diags d = { 0 };

	load(&a, "k8s:Namespace/shop", ns_doc);
	load(&b, "k8s:GlobalNetworkPolicy/allow", gnp_doc);
	cr_assert_gt(a.namespaces.v[0].labels.cap, 1);
	pal_model_shrink(&a);
	pal_model_shrink(&b);
	cr_assert_eq(a.namespaces.v[0].labels.cap, 1); /* label sets too: room for 8 before */
	cr_assert_str_eq(a.namespaces.v[0].labels.v[0].value, "a");
	cr_assert_eq(b.policies.cap, 1);
	cr_assert_eq(a.policies.cap, 0);
	cr_assert_null(a.policies.v);

	for (int round = 0; round < 2; round++) { /* every reload borrows again */
		pal_model_init(&all);
		cr_assert_eq(pal_model_borrow(&all, &a), 0);
		cr_assert_eq(pal_model_borrow(&all, &b), 0);
		cr_assert_eq(all.namespaces.n, 1);
		cr_assert_eq(all.policies.n, 1);
		cr_assert_eq(all.tiers.n, 1);
		/* The same resources, not copies: positions still name each object. */
		cr_assert_eq(all.policies.v[0].name, b.policies.v[0].name);
		cr_assert_str_eq(all.policies.v[0].pos.file, "k8s:GlobalNetworkPolicy/allow");
		cr_assert_str_eq(all.namespaces.v[0].pos.file, "k8s:Namespace/shop");
		pal_model_validate(&all, &d);
		cr_assert_not(pal_diags_has_errors(&d));
		pal_diags_free(&d);
		pal_model_free(&all); /* arrays only: the fragments stay whole (ASan checks) */
		cr_assert_eq(all.policies.n, 0);
	}
	cr_assert_str_eq(b.policies.v[0].name, "allow");
	cr_assert_str_eq(a.namespaces.v[0].name, "shop");
	pal_model_free(&a);
	pal_model_free(&b);
}

/* The datastore keeps every object's fragment as a kept model (only its non-empty arrays) and a
 * reload borrows them all at once: the arrays are sized for all of them once, exactly, instead of
 * doubling (up to twice the room, and the outgrown arrays left behind). */
Test(model_borrow, borrow_kept_sizes_the_arrays_once)
{
	struct pal_model frag, b, all;
	struct pal_model_kept *kept[41];
	struct pal_diags d = { 0 };
	char name[64], doc[256];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "k8s:Namespace/ns-%d", i);
		snprintf(doc, sizeof(doc), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-%d\n",
			 i);
		load(&frag, name, doc);
		cr_assert_not_null(kept[i] = pal_model_keep(&frag));
		cr_assert_eq(frag.namespaces.n, 0); /* moved, not copied */
		pal_model_free(&frag);
	}
	load(&b, "k8s:GlobalNetworkPolicy/allow", gnp_doc);
	cr_assert_not_null(kept[40] = pal_model_keep(&b));
	pal_model_free(&b);

	for (int round = 0; round < 2; round++) { /* every reload borrows again */
		pal_model_init(&all);
		cr_assert_eq(pal_model_borrow_kept(&all, (const struct pal_model_kept *const *)kept, 41),
			     0);
		cr_assert(all.borrowed);
		cr_assert_eq(all.namespaces.n, 40);
		cr_assert_eq(all.namespaces.cap, 40); /* pal_model_borrow one by one: 64 */
		cr_assert_eq(all.policies.n, 1);
		cr_assert_eq(all.tiers.n, 1);
		cr_assert_eq(all.workload_endpoints.cap, 0);
		cr_assert_str_eq(all.namespaces.v[39].name, "ns-39");
		cr_assert_str_eq(all.namespaces.v[39].pos.file, "k8s:Namespace/ns-39");
		cr_assert_str_eq(all.policies.v[0].pos.file, "k8s:GlobalNetworkPolicy/allow");
		pal_model_validate(&all, &d);
		cr_assert_not(pal_diags_has_errors(&d));
		pal_diags_free(&d);
		pal_model_free(&all); /* arrays only: the kept models stay whole (ASan checks) */
	}
	for (int i = 0; i < 41; i++)
		pal_model_kept_free(kept[i]); /* everything they own (ASan's leak check) */
	pal_model_kept_free(NULL);
}

/* A kept object's rule lists hold exactly their rules: the decoder's doubling from 4 left a
 * Kubernetes NetworkPolicy's one rule in room for four (4 x 424 bytes), for every kept policy. */
Test(model_borrow, shrink_gives_back_the_rule_lists_room)
{
	static const char np[] = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
				 "  name: web\n  namespace: shop\nspec:\n  podSelector: {}\n"
				 "  ingress:\n  - ports:\n    - port: 80\n";
	struct pal_model m;

	load(&m, "k8s:NetworkPolicy/shop/web", np);
	cr_assert_eq(m.policies.n, 1);
	cr_assert_eq(m.policies.v[0].ingress.n, 1);
	pal_model_shrink(&m);
	cr_assert_lt(malloc_usable_size(m.policies.v[0].ingress.v), 2 * sizeof(struct pal_rule));
	cr_assert_eq(m.policies.v[0].ingress.v[0].dst.n_ports, 1); /* the rule itself is intact */
	cr_assert_eq(m.policies.v[0].ingress.v[0].dst.ports[0].first, 80);
	pal_model_free(&m);
}

/* Kept pods share their repeating strings (label keys and values, namespace, profiles): one copy
 * each for all pods, released with the last kept model that uses it. */
Test(model_borrow, kept_pods_share_their_repeating_strings)
{
	static const char wep[] =
		"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n"
		"  name: node--a-k8s-%s-eth0\n  namespace: shop\n  labels:\n    app: web\n"
		"spec:\n  node: node-a\n  orchestrator: k8s\n  workload: ''\n  pod: %s\n"
		"  endpoint: eth0\n  interfaceName: cali%s\n  ipNetworks: [198.18.0.%d/32]\n"
		"  profiles: [kns.shop]\n";
	struct pal_model m[2];
	struct pal_model_kept *k[2];
	char doc[600], name[64];
	const char *pods[2] = { "web-1", "web-2" };

	for (int i = 0; i < 2; i++) {
		snprintf(doc, sizeof(doc), wep, pods[i], pods[i], pods[i], i + 1);
		snprintf(name, sizeof(name), "k8s:Pod/shop/%s", pods[i]);
		load(&m[i], name, doc);
		cr_assert_eq(m[i].workload_endpoints.n, 1);
		cr_assert_not_null(k[i] = pal_model_keep(&m[i]));
	}
	struct pal_model all;

	pal_model_init(&all);
	cr_assert_eq(pal_model_borrow_kept(&all, (const struct pal_model_kept *const *)k, 2), 0);
	struct pal_workload_endpoint *a = &all.workload_endpoints.v[0], *b = &all.workload_endpoints.v[1];

	cr_assert_eq(a->namespace, b->namespace);
	cr_assert_eq(a->node, b->node);
	cr_assert_eq(a->profiles[0], b->profiles[0]);
	cr_assert_str_eq(a->profiles[0], "kns.shop");
	cr_assert_eq(a->labels.v[0].key, b->labels.v[0].key);
	cr_assert_eq(a->labels.v[0].value, b->labels.v[0].value);
	cr_assert(pal_interned(a->namespace));
	cr_assert_neq(a->pod, b->pod); /* its own names stay its own */
	cr_assert_not(pal_interned(a->pod));
	const char *shared_ns = b->namespace;

	pal_model_free(&all);
	pal_model_kept_free(k[0]);
	cr_assert_str_eq(shared_ns, "shop"); /* still referenced by the second */
	cr_assert(pal_interned(shared_ns));
	pal_model_kept_free(k[1]); /* the last reference: ASan sees any leak or double free */
}
