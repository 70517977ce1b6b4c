/* Manifests written by others: the files calicoctl, kubectl and editors produce, read as real
 * files (fixtures/model/manifests); the YAML they use (anchors, merge keys, document markers, a
 * byte order mark, CRLF, flow style, compact JSON); and what is refused because YAML readers
 * disagree on it (numbers not written in decimal, repeated label keys) or because it is more
 * likely an accident than policy (an empty file). docs/operations.md, "Policy files". */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_model_util.h"

#define FIX "fixtures/model/manifests/"

static void load_path(struct mtest *t, const char *path)
{
	size_t len = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	pal_model_load_file(&t->m, path, &t->d);
	pal_model_validate(&t->m, &t->d);
	f = open_memstream(&t->out, &len);
	pal_diags_print(f, &t->d);
	fclose(f);
}

static const struct pal_policy *policy(const struct mtest *t, const char *name)
{
	for (size_t i = 0; i < t->m.policies.n; i++)
		if (strcmp(t->m.policies.v[i].name, name) == 0)
			return &t->m.policies.v[i];
	cr_assert_fail("no policy %s:\n%s", name, t->out);
	return NULL;
}

/* `kubectl get <calico CRDs> -o yaml`: crd.projectcalico.org/v1 read as projectcalico.org/v3
 * (names keep their tier prefix, as a v3 name may), server metadata ignored, the CRDs that are
 * not policy (FelixConfiguration, IPAM's) skipped with a warning. Before: every item was an
 * error ("kind Tier needs apiVersion projectcalico.org/v3, not ..."). */
Test(model_manifests, calico_crds_as_kubectl_prints_them)
{
	struct mtest t;
	const struct pal_policy *p;

	load_path(&t, FIX "crd_from_kubectl.yaml");
	cr_assert_eq(t.d.n_errors, 0, "%s", t.out);
	MT_EXPECT_COUNTS(&t, .tiers = 1, .policies = 3);
	cr_assert_str_eq(t.m.tiers.v[0].name, "security");
	cr_assert_eq(t.m.tiers.v[0].default_action, PAL_ACTION_DENY);
	p = policy(&t, "default.allow-ssh");
	cr_assert_eq(p->kind, PAL_POLICY_GLOBAL);
	cr_assert_str_eq(p->tier, "default");
	cr_assert_eq(p->ingress.v[0].dst.ports[0].first, 22);
	p = policy(&t, "security.block-metadata");
	cr_assert_str_eq(p->tier, "security");
	cr_assert_eq(p->egress.n, 2);
	p = policy(&t, "default.web");
	cr_assert_eq(p->kind, PAL_POLICY_NAMESPACED);
	cr_assert_str_eq(p->namespace, "shop");
	cr_assert(strstr(t.out, "crd_from_kubectl.yaml:92:9: warning: FelixConfiguration is not "
				"policy palisade enforces"),
		  "%s", t.out);
	cr_assert(strstr(t.out, "crd_from_kubectl.yaml:104:9: warning: IPAMBlock is not policy "
				"palisade enforces; ignored [at items[5].kind]"),
		  "%s", t.out);
	mt_free(&t);

	/* The CRD form holds only what Calico's Kubernetes datastore stores: no Profile. */
	mt_check_error("apiVersion: crd.projectcalico.org/v1\n"
		       "kind: Profile\n"
		       "metadata: {name: p}\n",
		       "1:13", "apiVersion",
		       "kind Profile needs apiVersion projectcalico.org/v3, not "
		       "\"crd.projectcalico.org/v1\"");
}

/* `kubectl get networkpolicy -A -o yaml`: a List with server metadata, the last-applied
 * annotation, managedFields and status: {}. Accepted before too. */
Test(model_manifests, kubectl_networkpolicy_list)
{
	struct mtest t;

	load_path(&t, FIX "netpol_from_kubectl.yaml");
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	MT_EXPECT_COUNTS(&t, .policies = 2);
	cr_assert_eq(policy(&t, "knp.default.db")->kind, PAL_POLICY_K8S);
	cr_assert_eq(policy(&t, "knp.default.db")->ingress.v[0].dst.ports[0].first, 5432);
	cr_assert(policy(&t, "knp.default.default-deny")->types_egress);
	mt_free(&t);
}

/* `calicoctl get ... -o yaml`: typed lists (GlobalNetworkPolicyList, HostEndpointList) in
 * several documents. Accepted before too. */
Test(model_manifests, calicoctl_typed_lists)
{
	struct mtest t;

	load_path(&t, FIX "calicoctl_v3.yaml");
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	MT_EXPECT_COUNTS(&t, .policies = 1, .host_endpoints = 1);
	mt_free(&t);
}

/* A Windows editor's file: a byte order mark, CRLF line ends, a folded scalar across CRLF lines,
 * "..." document ends, an empty document, comments. Accepted before too. */
Test(model_manifests, bom_crlf_and_document_markers)
{
	struct mtest t;
	const struct pal_policy *p;

	load_path(&t, FIX "bom_crlf.yaml");
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	MT_EXPECT_COUNTS(&t, .policies = 1, .network_sets = 1);
	p = policy(&t, "crlf");
	cr_assert_str_eq(p->selector_text, "role == \"db\"");
	cr_assert_eq(p->ingress.v[0].dst.n_ports, 2);
	cr_assert(p->ingress.v[0].dst.ports[1].first == 6000 &&
		  p->ingress.v[0].dst.ports[1].last == 6010);
	cr_assert_eq(p->pos.line, 3);
	mt_free(&t);
}

/* jq -c output: no spaces after ':' and ',', JSON escapes (\u00e9, \/, \t). Accepted before. */
Test(model_manifests, compact_json)
{
	struct mtest t;
	const struct pal_policy *p;

	load_path(&t, FIX "compact.json");
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	p = policy(&t, "compact");
	cr_assert_str_eq(pal_labels_get(&p->ingress.v[0].annotations, "note"),
			 "caf\xc3\xa9 / tab\tend");
	cr_assert_str_eq(p->selector_text, "role == \"db\"");
	cr_assert(p->ingress.v[0].dst.ports[1].first == 8000 &&
		  p->ingress.v[0].dst.ports[1].last == 8080);
	mt_free(&t);
}

/* Anchors, aliases and merge keys, as kubectl and calicoctl expand them. Before: "YAML aliases
 * (*name) are not supported in policy files". */
Test(model_manifests, anchors_aliases_and_merge_keys)
{
	struct mtest t;
	const struct pal_policy *p;
	const struct pal_host_endpoint *h;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: GlobalNetworkPolicy\n"
			   "metadata: {name: db}\n"
			   "spec:\n"
			   "  selector: &sel role == 'db'\n"
			   "  serviceAccountSelector: *sel\n"
			   "  ingress:\n"
			   "  - &pg\n"
			   "    action: Allow\n"
			   "    protocol: TCP\n"
			   "    destination: {ports: [5432]}\n"
			   "  - <<: *pg\n"
			   "    destination: {ports: [6432]}\n"
			   "  - *pg\n"
			   "---\n"
			   "apiVersion: v1\n"
			   "kind: List\n"
			   "items:\n"
			   "- apiVersion: projectcalico.org/v3\n"
			   "  kind: HostEndpoint\n"
			   "  metadata: {name: h1, labels: &l {role: db, env: prod}}\n"
			   "  spec: &hep {node: node-1, interfaceName: eth0}\n"
			   "- apiVersion: projectcalico.org/v3\n"
			   "  kind: HostEndpoint\n"
			   "  metadata: {name: h2, labels: *l}\n"
			   "  spec:\n"
			   "    <<: [*hep, {expectedIPs: [198.18.0.2]}]\n"
			   "    interfaceName: eth1\n");
	p = &t.m.policies.v[0];
	cr_assert_str_eq(p->service_account_selector_text, "role == 'db'");
	cr_assert_eq(p->ingress.n, 3);
	cr_assert_eq(p->ingress.v[1].action, PAL_ACTION_ALLOW);
	cr_assert_eq(p->ingress.v[1].protocol.num, PAL_PROTO_TCP);
	cr_assert_eq(p->ingress.v[1].dst.ports[0].first, 6432);
	cr_assert_eq(p->ingress.v[2].dst.ports[0].first, 5432);
	cr_assert_eq(t.m.host_endpoints.n, 2);
	h = &t.m.host_endpoints.v[1];
	cr_assert_str_eq(h->name, "h2");
	cr_assert_str_eq(h->interface_name, "eth1");
	cr_assert_str_eq(h->node, "node-1");
	cr_assert_eq(h->n_expected_ips, 1);
	cr_assert_str_eq(pal_labels_get(&h->labels, "env"), "prod");
	mt_free(&t);
}

Test(model_manifests, alias_and_merge_errors)
{
	struct mtest t;

	mt_load(&t, "a: *ref\n");
	mt_expect_error(&t, "1:4", "",
			"YAML alias *ref names no anchor &ref before it in this document");
	mt_free(&t);
	mt_load(&t, "a: &x [1, *x]\n");
	mt_expect_error(&t, "1:11", "", "YAML alias *x is inside the node &x it names");
	mt_free(&t);
	/* Anchors belong to their document. */
	mt_load(&t, "a: &x 1\n---\nb: *x\n");
	mt_expect_error(&t, "3:4", "",
			"YAML alias *x names no anchor &x before it in this document");
	mt_free(&t);
	/* Readers differ on a key set before << that the merge sets too: refused. */
	mt_load(&t, "base: &b {interfaceName: eth0}\n"
		    "spec: {interfaceName: eth1, <<: *b}\n");
	mt_expect_error(&t, "2:8", "",
			"key \"interfaceName\" is set before the merge key << and by the mapping "
			"it merges: YAML readers differ on which wins; put << first");
	mt_free(&t);
	mt_load(&t, "a: {<<: 5}\n");
	mt_expect_error(&t, "1:9", "",
			"the merge key << takes a mapping or a list of mappings (such as *name or "
			"[*a, *b])");
	mt_free(&t);
	mt_load(&t, "b: &b {x: 1}\na: {<<: *b, <<: *b}\n");
	mt_expect_error(&t, "2:13", "",
			"a mapping may have one merge key <<; give it a list of mappings to merge "
			"several (<<: [*a, *b])");
	mt_free(&t);
	/* An expansion bomb stops at the node budget. */
	mt_load(&t, "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		    "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n");
	cr_assert(strstr(t.out, "YAML aliases expand to too many nodes"), "%s", t.out);
	mt_free(&t);
	/* Nor can aliases nest deeper than the parser allows. */
	{
		char y[4096];
		size_t o = 0;

		o += (size_t)snprintf(y + o, sizeof(y) - o, "a: &a ");
		for (int i = 0; i < 40; i++)
			o += (size_t)snprintf(y + o, sizeof(y) - o, "[");
		for (int i = 0; i < 40; i++)
			o += (size_t)snprintf(y + o, sizeof(y) - o, "]");
		o += (size_t)snprintf(y + o, sizeof(y) - o, "\nb: ");
		for (int i = 0; i < 40; i++)
			o += (size_t)snprintf(y + o, sizeof(y) - o, "[");
		o += (size_t)snprintf(y + o, sizeof(y) - o, "*a");
		for (int i = 0; i < 40; i++)
			o += (size_t)snprintf(y + o, sizeof(y) - o, "]");
		snprintf(y + o, sizeof(y) - o, "\n");
		mt_load(&t, y);
		cr_assert(strstr(t.out, "nesting too deep once the alias is expanded"), "%s", t.out);
		mt_free(&t);
	}
}

static void port_refused(const char *item, const char *msg)
{
	char *y, body[256];

	snprintf(body, sizeof(body),
		 "  ingress:\n"
		 "    - action: Deny\n"
		 "      protocol: TCP\n"
		 "      destination:\n"
		 "        ports: [%s]\n",
		 item);
	y = mt_gnp(body);
	mt_check_error(y, "10:17", "spec.ingress[0].destination.ports[0]", msg);
	free(y);
}

/* kubectl and calicoctl read a plain 010 as 8, 0x50 as 80, 1e3 as 1000. palisade read 010 as
 * port 10 and took 0x50 and 1e3 for port names (matching nothing: a Deny that Calico applies to
 * port 80 denied nothing). Now refused, naming the number the other readers see. Quoted, they
 * are strings to every reader ("010" is port 10 to Calico too). */
Test(model_manifests, numbers_not_written_in_decimal)
{
	struct mtest t;
	char *y;

	port_refused("010", "port 010 is not written in decimal; YAML 1.1 readers such as kubectl "
			    "and calicoctl read it as 8; write 8");
	port_refused("0x50", "read it as 80");
	port_refused("0o120", "read it as 80");
	port_refused("0b1010000", "read it as 80");
	port_refused("8_0", "read it as 80");
	port_refused("1e3", "read it as 1000");
	y = mt_gnp("  ingress:\n"
		   "    - action: Deny\n"
		   "      protocol: TCP\n"
		   "      destination:\n"
		   "        ports: [\"010\", 0e5x, 9p, 8080-tcp, 007, 0018]\n");
	mt_check_clean(&t, y);
	cr_assert_eq(t.m.policies.v[0].ingress.v[0].dst.ports[0].first, 10);
	cr_assert_str_eq(t.m.policies.v[0].ingress.v[0].dst.ports[1].name, "0e5x");
	/* Where octal and decimal agree (007), or the number cannot be octal (0018), every reader
	 * reads the same port. */
	cr_assert_eq(t.m.policies.v[0].ingress.v[0].dst.ports[4].first, 7);
	cr_assert_eq(t.m.policies.v[0].ingress.v[0].dst.ports[5].first, 18);
	mt_free(&t);
	free(y);
	y = mt_gnp("  order: 010\n");
	mt_check_error(y, "6:10", "spec.order", "number 010 is not written in decimal");
	free(y);
	y = mt_gnp("  order: 1e3\n");
	mt_check_clean(&t, y);
	cr_assert(t.m.policies.v[0].order == 1000);
	mt_free(&t);
	free(y);
	y = mt_gnp("  ingress:\n"
		   "    - action: Allow\n"
		   "      protocol: ICMP\n"
		   "      icmp: {type: 0x8}\n");
	mt_check_error(y, "9:20", "spec.ingress[0].icmp.type",
		       "integer 0x8 is not written in decimal; YAML 1.1 readers such as kubectl "
		       "and calicoctl read it as 8");
	free(y);
	/* Kubernetes NetworkPolicy ports (IntOrString). */
	mt_check_error("apiVersion: networking.k8s.io/v1\n"
		       "kind: NetworkPolicy\n"
		       "metadata: {name: n}\n"
		       "spec:\n"
		       "  podSelector: {}\n"
		       "  ingress:\n"
		       "  - ports: [{port: 0x1F90}]\n",
		       "7:20", "spec.ingress[0].ports[0].port", "read it as 8080");
	/* Strings: a plain 0x1f is a number to those readers (kubectl 1.32 refuses it in a label:
	 * "cannot unmarshal number into ... of type string"). */
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkSet\n"
		       "metadata:\n"
		       "  name: s\n"
		       "  labels: {rev: 0x1f}\n",
		       "5:17", "metadata.labels.rev", "expected a string, got a number; quote it");
	/* A plain y or n is a string here, as YAML 1.2 reads it; kubectl (go-yaml v2) reads a
	 * boolean and refuses it in a label. No reader takes it for another string: only one
	 * refuses what the other accepts (docs/operations.md). yes, no, on, off are refused. */
	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: GlobalNetworkSet\n"
			   "metadata:\n"
			   "  name: s\n"
			   "  labels: {ha: y}\n");
	cr_assert_str_eq(pal_labels_get(&t.m.network_sets.v[0].labels, "ha"), "y");
	mt_free(&t);
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: GlobalNetworkSet\n"
		       "metadata:\n"
		       "  name: s\n"
		       "  labels: {ha: on}\n",
		       "5:16", "metadata.labels.ha", "expected a string, got a boolean; quote it");
}

/* A label key given twice: JSON readers keep the last value, this loader's lookups the first,
 * strict readers refuse. Before: the last value silently won. */
Test(model_manifests, repeated_label_keys)
{
	mt_check_error("apiVersion: projectcalico.org/v3\n"
		       "kind: HostEndpoint\n"
		       "metadata:\n"
		       "  name: h\n"
		       "  labels:\n"
		       "    role: db\n"
		       "    role: web\n"
		       "spec: {node: n, interfaceName: eth0}\n",
		       "7:5", "metadata.labels.role",
		       "key \"role\" appears more than once (first on line 6)");
	mt_check_error("apiVersion: networking.k8s.io/v1\n"
		       "kind: NetworkPolicy\n"
		       "metadata: {name: np}\n"
		       "spec:\n"
		       "  podSelector: {matchLabels: {app: a, app: b}}\n",
		       "5:39", "spec.podSelector.matchLabels.app", "appears more than once");
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* A policy file that holds nothing is an error: more likely a truncated write than a wish to
 * drop its policies (kubectl and calicoctl refuse an empty file too). An empty List is a
 * resource and loads. Before: loaded as nothing, and its old policies went. */
Test(model_manifests, empty_file_is_an_error)
{
	char dir[] = "/tmp/pal-empty-XXXXXX", p[512];
	static const char *const empties[] = { "", "\n\n", "# all commented out\n# kind: Tier\n",
					       "---\n...\n---\n" };
	struct mtest t;

	cr_assert_not_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		snprintf(p, sizeof(p), "%s/e.yaml", dir);
		write_file(p, empties[i], strlen(empties[i]));
		load_path(&t, p);
		cr_assert_eq(t.d.n_errors, 1, "%zu: %s", i, t.out);
		cr_assert(strstr(t.out, "e.yaml: error: the file holds no resources"), "%s", t.out);
		mt_free(&t);
	}
	snprintf(p, sizeof(p), "%s/e.yaml", dir);
	write_file(p, "apiVersion: v1\nkind: List\nitems: []\n", 36);
	load_path(&t, p);
	cr_assert_eq(t.d.n, 0, "%s", t.out);
	mt_free(&t);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
}

/* A tab in the indentation: libyaml's message does not say so; the hint does. */
Test(model_manifests, tab_indentation_is_named)
{
	struct mtest t;

	mt_load(&t, "apiVersion: projectcalico.org/v3\n"
		    "kind: Tier\n"
		    "metadata:\n"
		    "\tname: t\n");
	mt_expect_error(&t, "4:1", "",
			"found character that cannot start any token while scanning for the next "
			"token (a tab indents this line: YAML indents with spaces only)");
	mt_free(&t);
}

/* Files that are not YAML at all: one error naming file, line and column, nothing loaded. */
Test(model_manifests, not_yaml_at_all)
{
	struct mtest t;
	static const char elf[] = "\x7f"
				  "ELF\x02\x01\x01\0\0\0";

	mt_load(&t, "#!/bin/sh\nkubectl apply -f policy.yaml\n");
	mt_expect_error(&t, "2:1", "", "expected a mapping (key: value), got a scalar");
	mt_free(&t);
	memset(&t, 0, sizeof(t));
	pal_model_init(&t.m);
	cr_assert_eq(pal_model_load_buffer(&t.m, "t.yaml", elf, sizeof(elf) - 1, &t.d), 0);
	cr_assert_eq(t.d.n_errors, 1);
	cr_assert_eq(t.d.v[0].line, 1);
	cr_assert(strstr(t.d.v[0].message, "YAML syntax error: control characters are not allowed"),
		  "%s", t.d.v[0].message);
	pal_model_free(&t.m);
	pal_diags_free(&t.d);
	mt_load(&t, "<html><body>404 Not Found</body></html>\n");
	mt_expect_error(&t, "1:1", "", "expected a mapping (key: value), got a scalar");
	mt_free(&t);
}

/* YAML 1.1 booleans, as kubectl and calicoctl read them, in boolean fields. Accepted before. */
Test(model_manifests, yaml_1_1_booleans)
{
	struct mtest t;
	const struct pal_policy *p;

	mt_check_clean(&t, "apiVersion: projectcalico.org/v3\n"
			   "kind: GlobalNetworkPolicy\n"
			   "metadata: {name: untracked}\n"
			   "spec:\n"
			   "  selector: role == 'memcached'\n"
			   "  doNotTrack: yes\n"
			   "  applyOnForward: True\n"
			   "  preDNAT: off\n"
			   "  ingress: [{action: Allow, protocol: UDP, destination: {ports: [\"11211\"]}}]\n");
	p = &t.m.policies.v[0];
	cr_assert(p->do_not_track && p->apply_on_forward && !p->pre_dnat);
	cr_assert_eq(p->ingress.v[0].dst.ports[0].first, 11211);
	mt_free(&t);
}

/* A mapping of 100,000 unknown keys: every key was compared with every earlier one (44 s on the
 * 2-core test machine, the agent's reload blocked meanwhile); now about 0.4 s. */
Test(model_manifests, a_very_wide_mapping_loads_in_linear_time, .timeout = 15)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	size_t cap = 200 + 100000 * 16, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y, cap, "apiVersion: projectcalico.org/v3\nkind: Tier\n"
				      "metadata: {name: t}\nspec:\n");
	for (int i = 0; i < 100000; i++)
		len += (size_t)snprintf(y + len, cap - len, "  k%d: 1\n", i);
	pal_model_init(&m);
	cr_assert_eq(pal_model_load_buffer(&m, "wide.yaml", y, len, &d), 0);
	cr_assert_eq(d.n_errors, 100000);
	cr_assert_eq(m.tiers.n, 0);
	pal_model_free(&m);
	pal_diags_free(&d);
	free(y);
}
