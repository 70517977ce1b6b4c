/* What the match cache (match_cache.h) tracks of each candidate: an ident that names it and a
 * digest of everything a rule selector reads of it, computed from the model resources it is built
 * from without building it (a reload that changed one pod digests 10,000 pods in a few ms;
 * building them all would cost as much as matching them). Only the changed candidates are then
 * built, for the cached selectors to match again.
 *
 * Invalidation rule: the digest must cover every input of hep_cand, wep_cand and netset_cand
 * (compile_sets.c) that a selector, scope, service-account match or named port reads: the
 * resource's name, namespace, labels, addresses and ports, its profiles' labelsToApply and its
 * namespace's labels. A candidate whose digest is unchanged is not matched again: an input left
 * out here would leave cached sets stale. tests/unit/test_compiler_match_cache_random.c compares
 * cached compiles with full ones over random change sequences (leaving out any one of these
 * inputs fails it).
 */
#include <errno.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "compile_internal.h"

static void h_u64(struct sha256_ctx *h, uint64_t v)
{
	sha256_update(h, sizeof(v), (const uint8_t *)&v);
}

/* NULL and "" differ; the terminator keeps "ab","c" apart from "a","bc". */
static void h_str(struct sha256_ctx *h, const char *s)
{
	uint8_t present = s != NULL;

	sha256_update(h, 1, &present);
	if (s)
		sha256_update(h, strlen(s) + 1, (const uint8_t *)s);
}

static void h_labels(struct sha256_ctx *h, const struct pal_labels *l)
{
	h_u64(h, l ? l->n : UINT64_MAX);
	for (size_t i = 0; l && i < l->n; i++) {
		h_str(h, l->v[i].key);
		h_str(h, l->v[i].value);
	}
}

static void h_addr(struct sha256_ctx *h, const struct pal_addr *a)
{
	sha256_update(h, 1, &a->family);
	sha256_update(h, sizeof(a->bytes), a->bytes);
}

static void h_cidrs(struct sha256_ctx *h, const struct pal_cidr *v, size_t n)
{
	h_u64(h, n);
	for (size_t i = 0; i < n; i++) {
		h_addr(h, &v[i].addr);
		sha256_update(h, 1, &v[i].prefix_len);
	}
}

static void h_ports(struct sha256_ctx *h, const struct pal_endpoint_port *v, size_t n)
{
	h_u64(h, n);
	for (size_t i = 0; i < n; i++) {
		h_str(h, v[i].name);
		h_u64(h, (uint64_t)v[i].protocol << 16 | v[i].port);
	}
}

/* The labels each profile gives, in the endpoint's order (an absent profile gives none). */
static void h_profiles(struct sha256_ctx *h, const struct pal_cc *cc, char *const *names, size_t n)
{
	h_u64(h, n);
	for (size_t i = 0; i < n; i++) {
		const struct pal_profile *p = pal_cc_profile(cc, names[i]);

		h_str(h, names[i]);
		h_labels(h, p ? &p->labels_to_apply : NULL);
	}
}

/* Kind, namespace (with its labels) and name: the start of every digest. */
static void h_head(struct sha256_ctx *h, const struct pal_cc *cc, enum pal_cc_kind kind,
		   const char *ns, const char *name)
{
	sha256_init(h);
	h_u64(h, kind);
	h_str(h, ns);
	h_str(h, name);
	h_labels(h, pal_cc_namespace_labels(cc, ns));
}

static void h_done(struct sha256_ctx *h, struct pal_match_cand *out, enum pal_cc_kind kind,
		   const char *ns, const char *name, uint32_t ref)
{
	sha256_digest(h, PAL_MATCH_DIGEST_LEN, out->digest);
	out->ident = pal_cc_cand_ident(kind, ns, name);
	out->ref = ref;
}

static int cand_digests(const struct pal_cc *cc, struct pal_match_cand **out, size_t *n)
{
	const struct pal_model *m = cc->m;
	size_t total = m->host_endpoints.n + m->workload_endpoints.n + m->network_sets.n, k = 0;
	struct pal_match_cand *v = total ? malloc(total * sizeof(*v)) : NULL;
	struct sha256_ctx h;

	*out = NULL;
	*n = 0;
	if (total && !v)
		return -ENOMEM;
	for (size_t i = 0; i < m->host_endpoints.n; i++, k++) {
		const struct pal_host_endpoint *e = &m->host_endpoints.v[i];

		h_head(&h, cc, PAL_CC_HEP, NULL, e->name);
		h_profiles(&h, cc, e->profiles, e->n_profiles);
		h_labels(&h, &e->labels);
		h_u64(&h, e->n_expected_ips);
		for (size_t a = 0; a < e->n_expected_ips; a++)
			h_addr(&h, &e->expected_ips[a]);
		h_ports(&h, e->ports, e->n_ports);
		h_done(&h, &v[k], PAL_CC_HEP, NULL, e->name, (uint32_t)k);
	}
	for (size_t i = 0; i < m->workload_endpoints.n; i++, k++) {
		const struct pal_workload_endpoint *e = &m->workload_endpoints.v[i];

		h_head(&h, cc, PAL_CC_WEP, e->namespace, e->name);
		h_profiles(&h, cc, e->profiles, e->n_profiles);
		h_labels(&h, &e->labels);
		h_str(&h, e->orchestrator);
		h_str(&h, e->service_account);
		h_cidrs(&h, e->ip_networks, e->n_ip_networks);
		h_ports(&h, e->ports, e->n_ports);
		h_done(&h, &v[k], PAL_CC_WEP, e->namespace, e->name, (uint32_t)k);
	}
	for (size_t i = 0; i < m->network_sets.n; i++, k++) {
		const struct pal_network_set *e = &m->network_sets.v[i];

		h_head(&h, cc, PAL_CC_NETSET, e->namespace, e->name);
		h_labels(&h, &e->labels);
		h_cidrs(&h, e->nets, e->n_nets);
		h_done(&h, &v[k], PAL_CC_NETSET, e->namespace, e->name, (uint32_t)k);
	}
	*out = v;
	*n = total;
	return 0;
}

int pal_cc_match_cache_diff(struct pal_cc *cc)
{
	struct pal_match_cache *c = cc->opts ? cc->opts->match_cache : NULL;
	struct pal_match_cand *cur;
	struct pal_match_change *ch;
	size_t n, n_ch;
	int err;

	if (!c || !pal_match_cache_needs_diff(c))
		return 0;
	if ((err = cand_digests(cc, &cur, &n)))
		return err;
	err = pal_match_cache_diff(c, cur, n, &ch, &n_ch);
	free(cur);
	return err ? err : pal_cc_changed_candidates(cc, ch, n_ch);
}
