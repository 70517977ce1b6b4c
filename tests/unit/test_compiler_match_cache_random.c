/* The match cache brought up to date by changed candidates only (match_cache.h) against a full
 * match: random sequences of changes to pods (labels, namespace, addresses, service account,
 * profiles, ports, added, removed), namespaces' labels, profiles' labelsToApply, network sets and
 * host endpoints; after each, a compile with the cache must give exactly the selector and
 * named-port sets of a compile without one. The policies stay fixed and ask for every kind of
 * set (selector, namespace scope, namespaceSelector, global(), serviceAccounts by name and by
 * selector, profile and pcns. labels, named ports), so after the first compile every set comes
 * from the cache: a candidate input the digest (compile_cand_digest.c) missed shows up here as a
 * stale set. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "model.h"

#define N_PODS 10
#define N_NS 3
#define N_PROF 3

struct pod {
	bool present;
	int ns, node, app, role, sa, ip, ip2, prof_mask, port_name, port;
};

struct world {
	struct pod pods[N_PODS];
	int ns_zone[N_NS];   /* 0: no label */
	int prof_team[N_PROF]; /* 0: no labelsToApply */
	int gns_label, gns_net, ns_set_label, hep_role, hep_ip;
};

static const char *const APPS[] = { "a", "b", "c" };
static const char *const ROLES[] = { "r", "s" };
static const char *const SAS[] = { NULL, "sa0", "sa1" };
static const char *const PORT_NAMES[] = { "http", "metrics" };

static unsigned rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

static void random_pod(struct pod *p, unsigned *seed)
{
	p->present = true;
	p->ns = (int)rnd(seed, N_NS);
	p->node = (int)rnd(seed, 4) == 0 ? 1 : 2;
	p->app = (int)rnd(seed, 3);
	p->role = (int)rnd(seed, 2);
	p->sa = (int)rnd(seed, 3);
	p->ip = (int)rnd(seed, 12) + 1; /* few addresses: pods share some */
	p->ip2 = (int)rnd(seed, 3) == 0 ? (int)rnd(seed, 4) + 1 : 0;
	p->prof_mask = (int)rnd(seed, 1 << N_PROF);
	p->port_name = (int)rnd(seed, 2);
	p->port = 8000 + (int)rnd(seed, 3);
}

/* One random change (sometimes none: a reload with the same candidates). */
static void mutate(struct world *w, unsigned *seed)
{
	struct pod *p = &w->pods[rnd(seed, N_PODS)];

	switch (rnd(seed, 14)) {
	case 0: p->app = (int)rnd(seed, 3); break;
	case 1: p->role = (int)rnd(seed, 2); break;
	case 2: p->ns = (int)rnd(seed, N_NS); break;
	case 3: p->ip = (int)rnd(seed, 12) + 1; break;
	case 4: p->sa = (int)rnd(seed, 3); break;
	case 5: p->prof_mask = (int)rnd(seed, 1 << N_PROF); break;
	case 6: p->port_name = (int)rnd(seed, 2); p->port = 8000 + (int)rnd(seed, 3); break;
	case 7: if (p->present) p->present = false; else random_pod(p, seed); break;
	case 8: w->ns_zone[rnd(seed, N_NS)] = (int)rnd(seed, 3); break;
	case 9: w->prof_team[rnd(seed, N_PROF)] = (int)rnd(seed, 3); break;
	case 10: w->gns_label = (int)rnd(seed, 2); w->gns_net = (int)rnd(seed, 3); break;
	case 11: w->ns_set_label = (int)rnd(seed, 3); break;
	case 12: w->hep_role = (int)rnd(seed, 2); w->hep_ip = (int)rnd(seed, 3); break;
	default: break;
	}
}

static void cat(char **s, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *add = NULL;

	va_start(ap, fmt);
	cr_assert(vasprintf(&add, fmt, ap) >= 0);
	va_end(ap);
	*s = realloc(*s, *len + strlen(add) + 1);
	cr_assert(*s);
	strcpy(*s + *len, add);
	*len += strlen(add);
	free(add);
}

/* The policies: every kind of set, all applied to the local server pod "srv" (node1). */
static const char POLICIES[] =
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: srv, namespace: ns0, labels: {app: srv}}\n"
	"spec: {node: node1, orchestrator: k8s, interfaceName: calisrv, ipNetworks: [198.18.9.1/32]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n"
	"  selector: app == 'srv'\n  ingress:\n"
	"  - {action: Allow, source: {selector: app == 'a'}}\n"
	"  - {action: Allow, source: {selector: role == 'r', namespaceSelector: zone == 'z1'}}\n"
	"  - {action: Allow, source: {namespaceSelector: global()}}\n"
	"  - {action: Allow, source: {selector: kind == 'k1', namespaceSelector: global()}}\n"
	"  - {action: Allow, source: {serviceAccounts: {names: [sa0]}}}\n"
	"  - {action: Allow, source: {serviceAccounts: {selector: projectcalico.org/name == 'sa1'}}}\n"
	"  - {action: Allow, source: {selector: team == 't1'}}\n"
	"  - {action: Allow, source: {selector: pcns.zone == 'z2'}}\n"
	"  - {action: Allow, source: {selector: has(projectcalico.org/serviceaccount)}}\n"
	"  - {action: Allow, source: {selector: all()}}\n"
	"  - {action: Allow, source: {selector: kind == 'k2'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {selector: app == 'b', ports: [http]}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [metrics]}}\n"
	"  - {action: Allow, protocol: TCP, source: {selector: role == 's', ports: [http]}}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: n, namespace: ns0}\n"
	"spec:\n  selector: app == 'srv'\n  ingress:\n"
	"  - {action: Allow, source: {selector: role == 's'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [http]}}\n"
	"  - {action: Allow, source: {selector: kind == 'k2'}}\n---\n";

static char *render(const struct world *w)
{
	char *s = NULL;
	size_t len = 0;

	cat(&s, &len, "%s", POLICIES);
	for (int n = 0; n < N_NS; n++) {
		cat(&s, &len, "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns%d", n);
		if (w->ns_zone[n])
			cat(&s, &len, ", labels: {zone: z%d}", w->ns_zone[n]);
		cat(&s, &len, "}\n---\n");
	}
	for (int p = 0; p < N_PROF; p++) {
		cat(&s, &len, "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: prof%d}\n", p);
		cat(&s, &len, w->prof_team[p] ? "spec: {labelsToApply: {team: t%d}}\n---\n" : "spec: {}\n---\n",
		    w->prof_team[p]);
	}
	for (int i = 0; i < N_PODS; i++) {
		const struct pod *p = &w->pods[i];

		if (!p->present)
			continue;
		cat(&s, &len, "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
			      "metadata: {name: pod%d, namespace: ns%d, labels: {app: %s, role: %s}}\n"
			      "spec:\n  node: node%d\n  orchestrator: k8s\n  interfaceName: cali%d\n",
		    i, p->ns, APPS[p->app], ROLES[p->role], p->node, i);
		if (SAS[p->sa])
			cat(&s, &len, "  serviceAccountName: %s\n", SAS[p->sa]);
		cat(&s, &len, "  ipNetworks: [198.18.3.%d/32", p->ip);
		if (p->ip2)
			cat(&s, &len, ", \"2001:db8:3::%d/128\"", p->ip2);
		cat(&s, &len, "]\n  profiles: [");
		for (int k = 0, first = 1; k < N_PROF; k++)
			if (p->prof_mask & 1 << k) {
				cat(&s, &len, "%sprof%d", first ? "" : ", ", k);
				first = 0;
			}
		cat(&s, &len, "]\n  ports:\n  - {name: %s, protocol: TCP, port: %d}\n---\n",
		    PORT_NAMES[p->port_name], p->port);
	}
	cat(&s, &len, "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n"
		      "metadata: {name: gns, labels: {kind: k%d}}\nspec: {nets: [198.18.100.%d/32]}\n---\n",
	    w->gns_label + 1, w->gns_net);
	cat(&s, &len, "apiVersion: projectcalico.org/v3\nkind: NetworkSet\n"
		      "metadata: {name: nset, namespace: ns0, labels: {kind: k%d}}\n"
		      "spec: {nets: [198.18.101.0/24]}\n---\n", w->ns_set_label);
	cat(&s, &len, "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		      "metadata: {name: hep, labels: {role: %s}}\n"
		      "spec: {node: node2, interfaceName: eth0, expectedIPs: [198.18.0.%d],"
		      " ports: [{name: http, protocol: TCP, port: 7000}]}\n",
	    ROLES[w->hep_role], w->hep_ip + 1);
	return s;
}

static void compile(const char *yaml, const struct pal_compile_opts *o, struct pal_ir *ir)
{
	struct pal_model m;
	struct pal_diags d = { 0 };

	memset(ir, 0, sizeof(*ir));
	pal_model_init(&m);
	pal_model_load_buffer(&m, "random.yaml", yaml, strlen(yaml), &d);
	pal_model_validate(&m, &d);
	cr_assert_eq(d.n_errors, 0, "%s\n%s", d.n ? d.v[0].message : "", yaml);
	cr_assert_eq(pal_compile(&m, o, ir, &d), 0, "%s", d.n ? d.v[0].message : "");
	pal_model_free(&m);
	pal_diags_free(&d);
}

/* Every selector and named-port set of both IRs, in order: origins and members equal. */
static void assert_same_sets(const struct pal_ir *got, const struct pal_ir *want, int step)
{
	cr_assert_eq(got->n_sets, want->n_sets, "step %d", step);
	for (size_t i = 0; i < want->n_sets; i++) {
		const struct pal_ir_set *g = &got->sets[i], *w = &want->sets[i];

		cr_assert_str_eq(g->origin, w->origin, "step %d", step);
		cr_assert_eq(g->n, w->n, "step %d: %s: %zu members, want %zu", step, w->origin, g->n, w->n);
		cr_assert(!w->n || memcmp(g->cidrs, w->cidrs, w->n * sizeof(*w->cidrs)) == 0,
			  "step %d: %s", step, w->origin);
	}
	cr_assert_eq(got->n_named_port_sets, want->n_named_port_sets, "step %d", step);
	for (size_t i = 0; i < want->n_named_port_sets; i++) {
		const struct pal_ir_named_port_set *g = &got->named_port_sets[i];
		const struct pal_ir_named_port_set *w = &want->named_port_sets[i];

		cr_assert_str_eq(g->origin, w->origin, "step %d", step);
		cr_assert_eq(g->n, w->n, "step %d: %s: %zu members, want %zu", step, w->origin, g->n, w->n);
		for (size_t k = 0; k < w->n; k++)
			cr_assert(memcmp(&g->v[k].addr, &w->v[k].addr, sizeof(w->v[k].addr)) == 0 &&
					  g->v[k].protocol == w->v[k].protocol && g->v[k].port == w->v[k].port,
				  "step %d: %s member %zu", step, w->origin, k);
	}
}

Test(compiler_match_cache_random, incremental_equals_full_over_random_changes)
{
	struct pal_match_cache cache = { 0 };
	uint8_t key[PAL_MATCH_CACHE_KEY_LEN] = { 0 };
	unsigned seed = 20261206;
	uint64_t first_misses = 0;
	struct world w = { 0 };
	char *prev = NULL;

	for (int i = 0; i < N_PODS; i++)
		random_pod(&w.pods[i], &seed);
	for (int step = 0; step < 600; step++) {
		struct pal_compile_opts cached = { .node = "node1", .match_cache = &cache,
						   .match_key = key };
		struct pal_compile_opts full = { .node = "node1" };
		struct pal_ir a, b;

		if (step)
			for (unsigned k = rnd(&seed, 3) + 1; k; k--)
				mutate(&w, &seed);
		char *yaml = render(&w);

		/* A new key whenever the candidates changed, as the datastore's. */
		if (prev && strcmp(prev, yaml) != 0)
			memcpy(key, &step, sizeof(step));
		free(prev);
		prev = yaml;
		compile(yaml, &cached, &a);
		compile(yaml, &full, &b);
		assert_same_sets(&a, &b, step);
		if (!step)
			first_misses = cache.misses;
		pal_ir_free(&a);
		pal_ir_free(&b);
	}
	/* Every set after the first compile came from the cache, brought up to date. */
	cr_assert_gt(first_misses, 10);
	cr_assert_eq(cache.misses, first_misses, "misses %llu after the first compile's %llu",
		     (unsigned long long)cache.misses, (unsigned long long)first_misses);
	cr_assert_gt(cache.rematched, 100);
	free(prev);
	pal_match_cache_free(&cache);
}

Test(compiler_match_cache_random, a_failed_compile_leaves_nothing_half_updated)
{
	struct pal_match_cache cache = { 0 };
	static const uint8_t k1[PAL_MATCH_CACHE_KEY_LEN] = { 1 }, k2[PAL_MATCH_CACHE_KEY_LEN] = { 2 };
	unsigned seed = 7;
	struct world w = { 0 };
	struct pal_ir a, b;

	for (int i = 0; i < N_PODS; i++)
		random_pod(&w.pods[i], &seed);
	char *y1 = render(&w);
	struct pal_compile_opts o1 = { .node = "node1", .match_cache = &cache, .match_key = k1 };

	compile(y1, &o1, &a);
	pal_ir_free(&a);
	/* A compile that begins and never ends (as when it fails): the next one starts empty. */
	pal_match_cache_begin(&cache, k2);
	cr_assert(pal_match_cache_needs_diff(&cache));
	w.pods[0].app = (w.pods[0].app + 1) % 3;
	char *y2 = render(&w);
	struct pal_compile_opts o2 = { .node = "node1", .match_cache = &cache, .match_key = k2 };
	struct pal_compile_opts full = { .node = "node1" };
	uint64_t misses = cache.misses;

	compile(y2, &o2, &a);
	compile(y2, &full, &b);
	assert_same_sets(&a, &b, 1);
	cr_assert_gt(cache.misses, misses, "resolved again, not reused");
	pal_ir_free(&a);
	pal_ir_free(&b);
	free(y1);
	free(y2);
	pal_match_cache_free(&cache);
}
