/* Loading: every kind from YAML and JSON, multi-document files, kind: List, unknown fields,
 * apiVersion/kind checks, YAML errors, directories and Kubernetes ConfigMap mounts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_model_util.h"

static void load_file(struct mtest *t, const char *path)
{
	size_t len = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	cr_assert_eq(pal_model_load_file(&t->m, path, &t->d), 0);
	pal_model_validate(&t->m, &t->d);
	f = open_memstream(&t->out, &len);
	pal_diags_print(f, &t->d);
	fclose(f);
}

Test(model_load, every_kind_from_yaml)
{
	struct mtest t;
	const struct pal_policy *p;
	const struct pal_host_endpoint *h;
	const struct pal_workload_endpoint *w;
	char buf[PAL_CIDR_STRLEN];

	load_file(&t, "fixtures/model/all_kinds.yaml");
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	cr_assert_eq(t.m.tiers.n, 1);
	cr_assert_str_eq(t.m.tiers.v[0].name, "security");
	cr_assert(t.m.tiers.v[0].has_order && t.m.tiers.v[0].order == 100);
	cr_assert_eq(t.m.tiers.v[0].default_action, PAL_ACTION_PASS);

	cr_assert_eq(t.m.policies.n, 3);
	p = &t.m.policies.v[0];
	cr_assert_eq(p->kind, PAL_POLICY_GLOBAL);
	cr_assert_str_eq(p->name, "security.allow-dns");
	cr_assert_str_eq(p->tier, "security");
	cr_assert(p->has_order && p->order == 10.5);
	cr_assert_str_eq(p->selector_text, "has(role)");
	cr_assert_not_null(p->selector);
	cr_assert_str_eq(p->namespace_selector_text, "all()");
	cr_assert(!p->types_ingress && p->types_egress);
	cr_assert_eq(p->egress.n, 3);
	cr_assert_eq(p->egress.v[0].action, PAL_ACTION_ALLOW);
	cr_assert_eq(p->egress.v[0].protocol.num, PAL_PROTO_UDP);
	cr_assert_str_eq(pal_cidr_str(&p->egress.v[0].dst.nets[0], buf), "10.96.0.10/32");
	cr_assert_str_eq(pal_cidr_str(&p->egress.v[0].dst.not_nets[0], buf), "10.96.0.11/32");
	cr_assert_str_eq(pal_labels_get(&p->egress.v[0].annotations, "why"), "dns");
	cr_assert_eq(p->egress.v[0].pos.line, 27);
	cr_assert_eq(p->egress.v[0].pos.col, 7);
	cr_assert_eq(p->egress.v[1].action, PAL_ACTION_LOG);
	cr_assert_eq(p->egress.v[2].action, PAL_ACTION_PASS);
	cr_assert_eq(p->egress.v[2].ip_version, 6);
	cr_assert(p->egress.v[2].has_not_icmp && p->egress.v[2].not_icmp.type == 1);
	cr_assert_str_eq(p->egress.v[2].src.service_accounts.names[0], "sa1");
	cr_assert_str_eq(p->pos.file, "fixtures/model/all_kinds.yaml");
	cr_assert_eq(p->pos.line, 10);

	p = &t.m.policies.v[1];
	cr_assert_eq(p->kind, PAL_POLICY_NAMESPACED);
	cr_assert_str_eq(p->namespace, "prod");
	cr_assert_str_eq(p->tier, "default");
	cr_assert(!p->has_order);
	cr_assert(p->types_ingress && !p->types_egress);
	cr_assert_str_eq(p->ingress.v[0].src.namespace_selector_text, "global()");
	cr_assert_str_eq(p->ingress.v[0].dst.ports[0].name, "http");
	cr_assert_eq(p->ingress.v[1].not_protocol.num, PAL_PROTO_TCP);
	cr_assert_str_eq(p->ingress.v[1].src.not_selector_text, "bad == 'true'");

	cr_assert_eq(t.m.policies.v[2].kind, PAL_POLICY_K8S);
	cr_assert_str_eq(t.m.policies.v[2].name, "knp.default.db");

	cr_assert_eq(t.m.host_endpoints.n, 1);
	h = &t.m.host_endpoints.v[0];
	cr_assert_str_eq(h->node, "node1");
	cr_assert_str_eq(h->interface_name, "eth0");
	cr_assert_eq(h->n_expected_ips, 2);
	cr_assert_str_eq(pal_addr_str(&h->expected_ips[1], buf), "2001:db8::10");
	cr_assert_str_eq(pal_labels_get(&h->labels, "role"), "gateway");
	cr_assert_str_eq(h->profiles[0], "projectcalico-default-allow");
	cr_assert(h->n_ports == 1 && h->ports[0].port == 22 && h->ports[0].protocol == 6);

	cr_assert_eq(t.m.workload_endpoints.n, 1);
	w = &t.m.workload_endpoints.v[0];
	cr_assert_str_eq(w->namespace, "prod");
	cr_assert_str_eq(w->orchestrator, "k8s");
	cr_assert_str_eq(w->pod, "web-0");
	cr_assert_str_eq(w->service_account, "web");
	cr_assert_str_eq(w->interface_name, "cali12345");
	cr_assert_eq(w->n_ip_networks, 2);
	cr_assert_eq(w->n_profiles, 2);
	cr_assert_eq(w->n_ports, 2);
	cr_assert_str_eq(w->ports[1].name, "");
	cr_assert_eq(w->ports[1].protocol, PAL_PROTO_UDP);

	cr_assert_eq(t.m.profiles.n, 1);
	cr_assert_str_eq(pal_labels_get(&t.m.profiles.v[0].labels_to_apply, "pcns.team"), "a");
	cr_assert(t.m.profiles.v[0].ingress.n == 1 && t.m.profiles.v[0].egress.n == 1);

	cr_assert_eq(t.m.network_sets.n, 2);
	cr_assert_null(t.m.network_sets.v[0].namespace);
	cr_assert_eq(t.m.network_sets.v[0].n_nets, 2);
	cr_assert_str_eq(t.m.network_sets.v[1].namespace, "prod");

	cr_assert_eq(t.m.namespaces.n, 1);
	cr_assert_str_eq(pal_labels_get(&t.m.namespaces.v[0].labels, "team"), "a");
	mt_free(&t);
}

Test(model_load, json_list_with_tabs)
{
	struct mtest t;
	const struct pal_policy *p;

	load_file(&t, "fixtures/model/list.json");
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	MT_EXPECT_COUNTS(&t, .policies = 1, .host_endpoints = 1, .namespaces = 1);
	p = &t.m.policies.v[0];
	cr_assert_str_eq(p->name, "json-gnp");
	cr_assert_str_eq(p->selector_text, "app == \"x\"");
	cr_assert(p->do_not_track && p->apply_on_forward);
	cr_assert_eq(p->ingress.v[0].dst.n_ports, 2);
	cr_assert(p->ingress.v[0].dst.ports[1].first == 80 && p->ingress.v[0].dst.ports[1].last == 81);
	mt_free(&t);
}

Test(model_load, json_error_positions)
{
	struct mtest t;

	mt_load(&t, "{\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"GlobalNetworkPolicy\",\n"
		    "\t\"metadata\": {\"name\": \"p\"},\n"
		    "\t\"spec\": {\"ingress\": [{\"action\": \"Allow\", \"protocl\": \"TCP\"}]}}\n");
	mt_expect_error(&t, "3:43", "spec.ingress[0].protocl",
			"unknown field \"protocl\"; did you mean \"protocol\"?");
	cr_assert_eq(t.m.policies.n, 0);
	mt_free(&t);
}

Test(model_load, list_errors_name_item_path)
{
	struct mtest t;

	load_file(&t, "fixtures/model/list.yaml");
	cr_assert_eq(t.d.n, 1, "%s", t.out);
	cr_assert(strstr(t.out, "fixtures/model/list.yaml:16:41: error: unknown field \"selecter\"; "
				"did you mean \"selector\"? [at items[2].spec.ingress[0].source.selecter]"),
		  "%s", t.out);
	/* The other items are kept; the broken one is dropped. */
	MT_EXPECT_COUNTS(&t, .tiers = 1, .network_sets = 1);
	mt_free(&t);
}

Test(model_load, multi_document_keeps_good_documents)
{
	struct mtest t;

	mt_load(&t, "apiVersion: projectcalico.org/v3\n"
		    "kind: Tier\n"
		    "metadata: {name: a}\n"
		    "---\n"
		    "apiVersion: projectcalico.org/v3\n"
		    "kind: Tier\n"
		    "metadata: {name: b, colour: red}\n"
		    "---\n"
		    "---\n"
		    "# only a comment\n"
		    "---\n"
		    "apiVersion: projectcalico.org/v3\n"
		    "kind: Tier\n"
		    "metadata: {name: c}\n");
	mt_expect_error(&t, "7:21", "metadata.colour", "unknown field \"colour\"");
	cr_assert_eq(t.d.n, 1, "%s", t.out);
	cr_assert_eq(t.m.tiers.n, 2);
	cr_assert_str_eq(t.m.tiers.v[0].name, "a");
	cr_assert_str_eq(t.m.tiers.v[1].name, "c");
	mt_free(&t);
}

Test(model_load, unknown_field_suggestions)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec:\n"
		       "  selecter: all()\n",
		       "5:3", "spec.selecter", "unknown field \"selecter\"; did you mean \"selector\"?");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec:\n"
		       "  ingres: []\n",
		       "5:3", "spec.ingres", "did you mean \"ingress\"?");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "specs: {}\n",
		       "4:1", "specs", "did you mean \"spec\"?");
	/* Nothing close: no suggestion. */
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata: {name: t}\n"
		       "spec: {weight: 3}\n",
		       "4:8", "spec.weight", "unknown field \"weight\"");
}

Test(model_load, no_suggestion_when_far)
{
	struct mtest t;

	mt_load(&t, "apiVersion: projectcalico.org/v3\n"
		    "kind: Tier\n"
		    "metadata: {name: t}\n"
		    "spec: {weight: 3}\n");
	cr_assert_null(strstr(t.out, "did you mean"), "%s", t.out);
	mt_free(&t);
}

Test(model_load, namespace_only_on_namespaced_kinds)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkSet\n"
		       "metadata: {name: s, namespace: x}\n",
		       "3:32", "metadata.namespace", "this kind is not namespaced");
}

Test(model_load, namespace_defaults_to_default)
{
	struct mtest t;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: p}\n");
	cr_assert_str_eq(t.m.policies.v[0].namespace, "default");
	mt_free(&t);
}

Test(model_load, duplicate_field)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata:\n"
		       "  name: a\n"
		       "  name: b\n",
		       "5:3", "metadata.name", "field \"name\" appears more than once (first on line 4)");
}

Test(model_load, api_version_kind_pairs)
{
	mt_check_error("apiVersion: v1\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n",
		       "1:13", "apiVersion",
		       "kind GlobalNetworkPolicy needs apiVersion projectcalico.org/v3 or "
		       "crd.projectcalico.org/v1, not \"v1\"");
	mt_check_error("apiVersion: projectcalico.org/v1\n"
		       "kind: NetworkPolicy\n"
		       "metadata: {name: p}\n",
		       "1:13", "apiVersion",
		       "needs apiVersion projectcalico.org/v3, crd.projectcalico.org/v1 or "
		       "networking.k8s.io/v1");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Namespace\n"
		       "metadata: {name: p}\n",
		       "1:13", "apiVersion", "kind Namespace needs apiVersion v1");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolcy\n"
		       "metadata: {name: p}\n",
		       "2:7", "kind", "unknown kind \"GlobalNetworkPolcy\"; did you mean \"GlobalNetworkPolicy\"?");
}

Test(model_load, required_top_level_fields)
{
	struct mtest t;

	mt_load(&t, "kind: Tier\nmetadata: {name: a}\n");
	cr_assert(strstr(t.out, "t.yaml:1:1: error: missing required field \"apiVersion\""), "%s",
		  t.out);
	mt_free(&t);
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata: {labels: {a: b}}\n",
		       "3:11", "metadata.name", "missing required field \"name\"");
}

Test(model_load, yaml_syntax_error_position)
{
	struct mtest t;

	mt_load(&t, "apiVersion: projectcalico.org/v3\n"
		    "kind: Tier\n"
		    "metadata: {name: a\n");
	cr_assert(strstr(t.out, "t.yaml:4:1: error: YAML syntax error"), "%s", t.out);
	mt_free(&t);
	mt_load(&t, "a: *ref\n");
	cr_assert(strstr(t.out, "t.yaml:1:4: error: YAML alias *ref names no anchor"), "%s", t.out);
	mt_free(&t);
}

Test(model_load, documents_must_be_mappings)
{
	mt_check_error("just text\n", "1:1", "", "expected a mapping (key: value), got a scalar");
	/* A list's items are resources: each must be a mapping. */
	mt_check_error("- a\n", "1:3", "[0]", "expected a mapping (key: value), got a scalar");
	mt_check_error("- [a]\n", "1:3", "[0]", "expected a mapping (key: value), got a list");
}

/* A plain YAML list of resources, as calicoctl accepts and Calico's docs write them, loads like
 * kind: List; errors name the item by index. */
Test(model_load, plain_list_of_resources)
{
	struct mtest t;

	mt_check_clean(&t, "- apiVersion: projectcalico.org/v3\n"
			   "  kind: Tier\n"
			   "  metadata: {name: security}\n"
			   "  spec: {order: 100}\n"
			   "- apiVersion: projectcalico.org/v3\n"
			   "  kind: GlobalNetworkPolicy\n"
			   "  metadata: {name: security.block}\n"
			   "  spec:\n"
			   "    tier: security\n"
			   "    selector: all()\n"
			   "    ingress: [{action: Deny}]\n");
	MT_EXPECT_COUNTS(&t, .tiers = 1, .policies = 1);
	cr_assert_str_eq(t.m.policies.v[0].tier, "security");
	mt_free(&t);

	/* Empty list: nothing, no error. JSON arrays are lists too. */
	mt_check_clean(&t, "[]\n");
	MT_EXPECT_COUNTS(&t, 0);
	mt_free(&t);
	mt_check_clean(&t, "[{\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"Tier\",\n"
			   "  \"metadata\": {\"name\": \"t\"}}]\n");
	cr_assert_eq(t.m.tiers.n, 1);
	mt_free(&t);
}

Test(model_load, plain_list_errors_name_item)
{
	struct mtest t;

	mt_load(&t, "- apiVersion: projectcalico.org/v3\n"
		    "  kind: Tier\n"
		    "  metadata: {name: a}\n"
		    "- apiVersion: projectcalico.org/v3\n"
		    "  kind: GlobalNetworkPolicy\n"
		    "  metadata: {name: p}\n"
		    "  spec:\n"
		    "    selecter: all()\n"
		    "- apiVersion: projectcalico.org/v3\n"
		    "  kind: Tier\n"
		    "  metadata: {name: c}\n");
	mt_expect_error(&t, "8:5", "[1].spec.selecter",
			"unknown field \"selecter\"; did you mean \"selector\"?");
	cr_assert_eq(t.d.n, 1, "%s", t.out);
	/* The good items are kept; the broken one is dropped. */
	MT_EXPECT_COUNTS(&t, .tiers = 2);
	mt_free(&t);
}

/* Lists, List kinds and single resources mix in one multi-document file. */
Test(model_load, plain_list_among_documents)
{
	struct mtest t;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: Tier\n"
			   "metadata: {name: a}\n"
			   "---\n"
			   "- apiVersion: projectcalico.org/v3\n"
			   "  kind: Tier\n"
			   "  metadata: {name: b}\n"
			   "- apiVersion: v1\n"
			   "  kind: List\n"
			   "  items:\n"
			   "  - apiVersion: projectcalico.org/v3\n"
			   "    kind: Tier\n"
			   "    metadata: {name: c}\n");
	cr_assert_eq(t.m.tiers.n, 3);
	cr_assert_str_eq(t.m.tiers.v[2].name, "c");
	mt_free(&t);
}

Test(model_load, scalar_types_enforced)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec: {doNotTrack: maybe}\n",
		       "4:20", "spec.doNotTrack", "expected true or false");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec: {selector: [a]}\n",
		       "4:18", "spec.selector", "expected a string, got a list");
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkPolicy\n"
		       "metadata: {name: p}\n"
		       "spec: {ingress: {action: Allow}}\n",
		       "4:17", "spec.ingress", "expected a list, got a mapping");
}

Test(model_load, server_set_metadata_ignored)
{
	struct mtest t;

	mt_check_clean(&t, "apiVersion: v1\n"
			   "kind: Namespace\n"
			   "metadata:\n"
			   "  name: a\n"
			   "  uid: 1\n"
			   "  resourceVersion: \"2\"\n"
			   "  generation: 3\n"
			   "  generateName: a-\n"
			   "  finalizers: [x]\n"
			   "  ownerReferences: []\n"
			   "  managedFields: [{manager: kubectl}]\n"
			   "  deletionTimestamp: null\n"
			   "  deletionGracePeriodSeconds: 30\n"
			   "  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
			   "status: {phase: Active}\n");
	cr_assert_eq(t.m.namespaces.n, 1);
	mt_free(&t);
}

Test(model_load, status_only_on_kubernetes_kinds)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: Tier\n"
		       "metadata: {name: a}\n"
		       "status: {}\n",
		       "4:1", "status", "unknown field \"status\"");
}

Test(model_load, directory_sorted_recursive_skips_dotfiles)
{
	struct mtest t;

	memset(&t, 0, sizeof(t));
	pal_model_init(&t.m);
	cr_assert_eq(pal_model_load_dir(&t.m, "fixtures/model/dir", &t.d), 0);
	cr_assert_eq(t.d.n, 0);
	cr_assert_eq(t.m.tiers.n, 3);
	cr_assert_str_eq(t.m.tiers.v[0].name, "a");
	cr_assert_str_eq(t.m.tiers.v[1].name, "b");
	cr_assert_str_eq(t.m.tiers.v[2].name, "c");
	cr_assert_str_eq(t.m.tiers.v[2].pos.file, "fixtures/model/dir/sub/c.json");
	mt_free(&t);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The layout kubelet creates for a ConfigMap volume. */
Test(model_load, configmap_mount_read_once)
{
	char dir[] = "/tmp/pal-cm-XXXXXX", p[512];
	struct mtest t;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/..2024_01_01_00_00_00.123", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/..2024_01_01_00_00_00.123/tiers.yaml", dir);
	write_file(p, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t1}\n");
	snprintf(p, sizeof(p), "%s/..2024_01_01_00_00_00.123/sets.json", dir);
	write_file(p, "{\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"GlobalNetworkSet\", "
		      "\"metadata\": {\"name\": \"s\"}}");
	snprintf(p, sizeof(p), "%s/..data", dir);
	cr_assert_eq(symlink("..2024_01_01_00_00_00.123", p), 0);
	snprintf(p, sizeof(p), "%s/tiers.yaml", dir);
	cr_assert_eq(symlink("..data/tiers.yaml", p), 0);
	snprintf(p, sizeof(p), "%s/sets.json", dir);
	cr_assert_eq(symlink("..data/sets.json", p), 0);

	memset(&t, 0, sizeof(t));
	pal_model_init(&t.m);
	cr_assert_eq(pal_model_load_dir(&t.m, dir, &t.d), 0);
	pal_model_validate(&t.m, &t.d);
	cr_assert_eq(t.d.n, 0);
	MT_EXPECT_COUNTS(&t, .tiers = 1, .network_sets = 1);
	snprintf(p, sizeof(p), "%s/tiers.yaml", dir);
	cr_assert_str_eq(t.m.tiers.v[0].pos.file, p);
	mt_free(&t);

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
}

Test(model_load, missing_file_and_dir)
{
	struct mtest t;

	memset(&t, 0, sizeof(t));
	pal_model_init(&t.m);
	cr_assert_lt(pal_model_load_file(&t.m, "fixtures/model/nope.yaml", &t.d), 0);
	cr_assert_lt(pal_model_load_dir(&t.m, "fixtures/model/nope", &t.d), 0);
	cr_assert_eq(t.d.n_errors, 2);
	cr_assert_str_eq(t.d.v[0].file, "fixtures/model/nope.yaml");
	mt_free(&t);
}

Test(model_load, diag_print_format)
{
	struct pal_diags d = { 0 };
	struct pal_pos pos = { .file = "f.yaml", .line = 3, .col = 7 };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	pal_error(&d, pos, "spec.ingress[2].destination.ports[0]", "bad port %d", 0);
	pos.col = 0;
	pal_warn(&d, pos, NULL, "just a warning");
	pal_diags_print(f, &d);
	fclose(f);
	cr_assert_str_eq(out, "f.yaml:3:7: error: bad port 0 [at spec.ingress[2].destination.ports[0]]\n"
			      "f.yaml:3: warning: just a warning\n");
	cr_assert(pal_diags_has_errors(&d));
	cr_assert_eq(d.n_errors, 1);
	free(out);
	pal_diags_free(&d);
}

Test(model_load, diags_append)
{
	struct pal_diags a = { 0 }, b = { 0 };
	struct pal_pos pos = { 0 };

	pal_error(&a, pos, NULL, "one");
	pal_error(&b, pos, NULL, "two");
	pal_warn(&b, pos, NULL, "three");
	pal_diags_append(&a, &b);
	cr_assert_eq(a.n, 3);
	cr_assert_eq(a.n_errors, 2);
	cr_assert_eq(b.n, 0);
	cr_assert_str_eq(a.v[2].message, "three");
	pal_diags_free(&a);
	pal_diags_free(&b);
}

Test(model_load, typed_list_from_calicoctl)
{
	struct mtest t;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: GlobalNetworkPolicyList\n"
			   "metadata: {resourceVersion: \"12\"}\n"
			   "items:\n"
			   "  - apiVersion: projectcalico.org/v3\n"
			   "    kind: GlobalNetworkPolicy\n"
			   "    metadata: {name: a}\n"
			   "  - apiVersion: projectcalico.org/v3\n"
			   "    kind: GlobalNetworkPolicy\n"
			   "    metadata: {name: b}\n");
	cr_assert_eq(t.m.policies.n, 2);
	mt_free(&t);
	mt_check_error("apiVersion: v1\n"
		       "kind: GlobalNetworkPolicyList\n",
		       "2:7", "kind", "unknown kind \"GlobalNetworkPolicyList\"");
}

/* Calico's projectcalico.org/v3 kinds that hold no policy (IPAM, BGP, felix settings, staged
 * policy) load with a warning instead of failing the file, as a manifest mixing them with
 * policy applies with calicoctl; a misspelt kind is still an error (unknown_kind). */
Test(model_load, calico_kinds_without_policy_are_skipped_with_a_warning)
{
	struct mtest t;

	mt_load(&t, "apiVersion: projectcalico.org/v3\n"
		    "kind: IPPool\n"
		    "metadata: {name: pool}\n"
		    "spec: {cidr: 198.18.0.0/16, ipipMode: Always}\n"
		    "---\n"
		    "apiVersion: projectcalico.org/v3\n"
		    "kind: StagedGlobalNetworkPolicy\n"
		    "metadata: {name: p}\n"
		    "spec: {ingress: [{action: Deny}]}\n"
		    "---\n"
		    "apiVersion: projectcalico.org/v3\n"
		    "kind: FelixConfigurationList\n"
		    "items:\n"
		    "- apiVersion: projectcalico.org/v3\n"
		    "  kind: FelixConfiguration\n"
		    "  metadata: {name: default}\n"
		    "---\n"
		    "apiVersion: projectcalico.org/v3\n"
		    "kind: GlobalNetworkPolicy\n"
		    "metadata: {name: p}\n");
	cr_assert_eq(t.d.n_errors, 0, "%s", t.out);
	cr_assert(strstr(t.out, "t.yaml:2:7: warning: IPPool is not policy palisade enforces; "
				"ignored [at kind]"),
		  "%s", t.out);
	cr_assert(strstr(t.out, "t.yaml:7:7: warning: StagedGlobalNetworkPolicy is not policy "
				"palisade enforces (Calico does not enforce staged policy either)"),
		  "%s", t.out);
	cr_assert(strstr(t.out, "t.yaml:15:9: warning: FelixConfiguration is not policy"), "%s",
		  t.out);
	MT_EXPECT_COUNTS(&t, .policies = 1);
	mt_free(&t);
	/* Every staged kind, with a spec palisade would refuse as policy (a tier that does not
	 * exist, an http match): never enforced, never an error, counted as nothing. */
	mt_load(&t, "apiVersion: projectcalico.org/v3\n"
		    "kind: StagedNetworkPolicy\n"
		    "metadata: {name: nosuch.p, namespace: a}\n"
		    "spec: {tier: nosuch, stagedAction: Set, ingress: [{action: Deny}]}\n"
		    "---\n"
		    "apiVersion: projectcalico.org/v3\n"
		    "kind: StagedKubernetesNetworkPolicy\n"
		    "metadata: {name: k, namespace: a}\n"
		    "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
		    "---\n"
		    "apiVersion: crd.projectcalico.org/v1\n"
		    "kind: StagedGlobalNetworkPolicy\n"
		    "metadata: {name: g}\n"
		    "spec: {ingress: [{action: Allow, http: {methods: [GET]}}]}\n");
	cr_assert_eq(t.d.n_errors, 0, "%s", t.out);
	cr_assert(strstr(t.out, "t.yaml:2:7: warning: StagedNetworkPolicy is not policy"), "%s",
		  t.out);
	cr_assert(strstr(t.out, "t.yaml:7:7: warning: StagedKubernetesNetworkPolicy is not policy"),
		  "%s", t.out);
	cr_assert(strstr(t.out, "t.yaml:12:7: warning: StagedGlobalNetworkPolicy is not policy"),
		  "%s", t.out);
	MT_EXPECT_COUNTS(&t);
	mt_free(&t);
	/* Only under Calico's apiVersion. */
	mt_check_error("apiVersion: v1\n"
		       "kind: IPPool\n",
		       "2:7", "kind", "unknown kind \"IPPool\"");
}
