/* The compiler's match cache (match_cache.h): selector and named-port sets reused across compiles
 * while the key of the candidate inputs stays the same, and brought up to date as soon as it
 * changes (a pod's label changed -> the rule's set follows, that pod alone matched again). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "model.h"

/* pod "client" (node2, only feeds sets) with label app=APP and address 198.18.3.ADDR; pod "srv"
 * (node1) selected by a policy admitting app == 'db' and named port "http" of app == 'db'. */
#define WEP(name, node, app, addr)                                                                 \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: " name         \
	", namespace: prod, labels: {app: " app "}}\nspec:\n  node: " node                         \
	"\n  interfaceName: cali" name "\n  ipNetworks: [198.18.3." addr "/32]\n  ports:\n"        \
	"  - {name: http, protocol: TCP, port: 8080}\n---\n"
#define POLICY(sel)                                                                                \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec:\n" \
	"  selector: app == 'srv'\n  ingress:\n  - {action: Allow, source: {selector: " sel "}}\n"  \
	"  - {action: Allow, destination: {selector: " sel ", ports: [http]}}\n"

static struct pal_match_cache cache;
static struct pal_ir ir;

static void teardown(void)
{
	pal_ir_free(&ir);
	pal_match_cache_free(&cache);
}

TestSuite(compiler_match_cache, .fini = teardown);

static const uint8_t KEY1[PAL_MATCH_CACHE_KEY_LEN] = { 1 }, KEY2[PAL_MATCH_CACHE_KEY_LEN] = { 2 };

/* Compiles yaml with the cache and key; returns rule 0's source set and rule 1's named-port set
 * as text ("198.18.3.7/32" ...; "198.18.3.7:6:8080" ...). */
static void compile(const char *yaml, const uint8_t *key, char *set, char *ports, size_t len)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_compile_opts o = { .node = "node1", .match_cache = &cache, .match_key = key };
	char buf[PAL_CIDR_STRLEN];

	pal_ir_free(&ir);
	memset(&ir, 0, sizeof(ir));
	pal_model_init(&m);
	pal_model_load_buffer(&m, "test.yaml", yaml, strlen(yaml), &d);
	pal_model_validate(&m, &d);
	cr_assert_eq(d.n_errors, 0);
	cr_assert_eq(pal_compile(&m, &o, &ir, &d), 0);
	pal_model_free(&m);
	pal_diags_free(&d);
	const struct pal_ir_endpoint *ep = &ir.endpoints[0];

	cr_assert_eq(ir.n_endpoints, 1);
	cr_assert_str_eq(ep->name, "srv");
	const struct pal_ir_rule *r = ep->normal[PAL_DIR_INGRESS].tiers[0].policies[0].rules;
	const struct pal_ir_set *s = &ir.sets[r[0].match.src.in_sets[0]];
	const struct pal_ir_named_port_set *np = &ir.named_port_sets[r[1].match.dst.named_port_sets[0]];

	set[0] = ports[0] = '\0';
	for (size_t i = 0; i < s->n; i++)
		snprintf(set + strlen(set), len - strlen(set), "%s%s", i ? " " : "",
			 pal_cidr_str(&s->cidrs[i], buf));
	for (size_t i = 0; i < np->n; i++)
		snprintf(ports + strlen(ports), len - strlen(ports), "%s%s:%u:%u", i ? " " : "",
			 pal_addr_str(&np->v[i].addr, buf), np->v[i].protocol, np->v[i].port);
}

#define CLUSTER(client_app) WEP("srv", "node1", "srv", "1") WEP("client", "node2", client_app, "7")

Test(compiler_match_cache, reused_while_the_key_stays)
{
	char set[256], ports[256];

	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.7/32");
	cr_assert_str_eq(ports, "198.18.3.7:6:8080");
	cr_assert_eq(cache.hits, 0);
	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.7/32");
	cr_assert_str_eq(ports, "198.18.3.7:6:8080");
	cr_assert_eq(cache.hits, 2, "hits %llu", (unsigned long long)cache.hits);
	/* The cache is what answers: given the old key for changed pods, it answers the old sets
	 * (which is why the datastore's key covers every pod, namespace and profile). */
	compile(CLUSTER("web") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.7/32");
}

Test(compiler_match_cache, a_new_key_resolves_again)
{
	char set[256], ports[256];

	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.7/32");
	/* The client pod's label changed: its object's digest, hence the key, changed. */
	compile(CLUSTER("web") POLICY("app == 'db'"), KEY2, set, ports, sizeof(set));
	cr_assert_str_eq(set, "");
	cr_assert_str_eq(ports, "");
	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.7/32");
	cr_assert_str_eq(ports, "198.18.3.7:6:8080");
	/* Each time from the cache, with the one changed pod matched again (both sets, twice). */
	cr_assert_eq(cache.misses, 2);
	cr_assert_eq(cache.hits, 4);
	cr_assert_eq(cache.rematched, 4);
}

Test(compiler_match_cache, no_key_no_reuse)
{
	char set[256], ports[256];

	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	compile(CLUSTER("web") POLICY("app == 'db'"), NULL, set, ports, sizeof(set));
	cr_assert_str_eq(set, "");
	cr_assert_eq(cache.sets.n, 0);
	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.7/32");
	cr_assert_eq(cache.hits, 0);
}

Test(compiler_match_cache, keeps_only_what_the_last_compile_used)
{
	char set[256], ports[256];

	compile(CLUSTER("db") POLICY("app == 'db'"), KEY1, set, ports, sizeof(set));
	cr_assert_eq(cache.sets.n, 1);
	/* Only the policy changed (same key): the new selector is resolved, the old one dropped. */
	compile(CLUSTER("db") POLICY("app == 'srv'"), KEY1, set, ports, sizeof(set));
	cr_assert_str_eq(set, "198.18.3.1/32");
	cr_assert_eq(cache.sets.n, 1);
	cr_assert_eq(cache.port_sets.n, 1);
	cr_assert_eq(cache.hits, 0);
}
