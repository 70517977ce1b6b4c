/* Selector -> address-set resolution.
 *
 * Every workload endpoint, host endpoint (all nodes) and network set becomes a candidate with the
 * labels Calico's selectors see; a rule's selector becomes the set of the addresses of the
 * candidates it matches. Sets are named by an origin string that says exactly what they contain
 * (canonical selector + scope, or the sorted nets), so two rules asking for the same thing share
 * one set, found through an origin index without resolving the selector again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile_internal.h"
#include "vec.h"

/* ---- origin index ------------------------------------------------------------------------ */

/* Returns the index stored for origin, or -1. `origin_of` maps an index to its origin string. */
static long index_find(const struct pal_cc_index *x, const char *origin,
		       const char *(*origin_of)(const struct pal_ir *, uint32_t), const struct pal_ir *ir)
{
	if (!x->cap)
		return -1;
	for (size_t i = pal_str_hash(origin) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		if (!x->slots[i])
			return -1;
		if (strcmp(origin_of(ir, x->slots[i] - 1), origin) == 0)
			return x->slots[i] - 1;
	}
}

static int index_add(struct pal_cc_index *x, uint32_t idx,
		     const char *(*origin_of)(const struct pal_ir *, uint32_t), const struct pal_ir *ir)
{
	if ((x->n + 1) * 2 > x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		uint32_t *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < x->cap; i++) {
			if (!x->slots[i])
				continue;
			size_t j = pal_str_hash(origin_of(ir, x->slots[i] - 1)) & (cap - 1);
			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = x->slots[i];
		}
		free(x->slots);
		x->slots = slots;
		x->cap = cap;
	}
	size_t j = pal_str_hash(origin_of(ir, idx)) & (x->cap - 1);
	while (x->slots[j])
		j = (j + 1) & (x->cap - 1);
	x->slots[j] = idx + 1;
	x->n++;
	return 0;
}

static const char *set_origin(const struct pal_ir *ir, uint32_t i)
{
	return ir->sets[i].origin;
}

static const char *nps_origin(const struct pal_ir *ir, uint32_t i)
{
	return ir->named_port_sets[i].origin;
}

/* ---- candidates -------------------------------------------------------------------------- */

/* The first of n sorted names (name_at(ctx, i)) not below key, or n; with after, not above it. */
static size_t name_bound(size_t n, const char *key, bool after,
			 const char *(*name_at)(const void *ctx, size_t i), const void *ctx)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name_at(ctx, mid), key);

		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *profile_name_at(const void *ctx, size_t i)
{
	return ((const struct pal_cc *)ctx)->profiles_by_name[i]->name;
}

static const char *namespace_name_at(const void *ctx, size_t i)
{
	return ((const struct pal_cc *)ctx)->nss[i].name;
}

static const char *cand_ns_at(const void *ctx, size_t i)
{
	const struct pal_cc *cc = ctx;

	return cc->cands[cc->by_ns[i]].ns;
}

static int cmp_profile_name(const void *a, const void *b)
{
	const struct pal_profile *x = *(const struct pal_profile *const *)a;
	const struct pal_profile *y = *(const struct pal_profile *const *)b;
	int c = strcmp(x->name, y->name);

	/* Of two with one name (the validator reports them), the model's first wins, as before. */
	return c ? c : (x < y ? -1 : x > y);
}

/* Every endpoint looks up its profiles: an index instead of a scan of every profile. */
static int index_profiles(struct pal_cc *cc)
{
	const struct pal_model *m = cc->m;

	if (!m->profiles.n)
		return 0;
	if (!(cc->profiles_by_name = malloc(m->profiles.n * sizeof(*cc->profiles_by_name))))
		return -ENOMEM;
	for (size_t i = 0; i < m->profiles.n; i++)
		cc->profiles_by_name[i] = &m->profiles.v[i];
	qsort(cc->profiles_by_name, m->profiles.n, sizeof(*cc->profiles_by_name), cmp_profile_name);
	return 0;
}

const struct pal_profile *pal_cc_profile(const struct pal_cc *cc, const char *name)
{
	size_t n = cc->profiles_by_name ? cc->m->profiles.n : 0;
	size_t i = name_bound(n, name, false, profile_name_at, cc); /* the first of that name */

	return i < n && strcmp(cc->profiles_by_name[i]->name, name) == 0 ? cc->profiles_by_name[i]
									     : NULL;
}

/* Where ns is in the sorted cc->nss (*found), or where it would go. */
static size_t namespace_pos(const struct pal_cc *cc, const char *ns, bool *found)
{
	size_t i = name_bound(cc->n_nss, ns, false, namespace_name_at, cc);

	*found = i < cc->n_nss && strcmp(cc->nss[i].name, ns) == 0;
	return i;
}

const struct pal_labels *pal_cc_namespace_labels(const struct pal_cc *cc, const char *ns)
{
	bool found;
	size_t i;

	if (!ns)
		return NULL;
	i = namespace_pos(cc, ns, &found);
	return found ? &cc->nss[i].labels : NULL;
}

/* Namespace labels: the Namespace resource's labels plus projectcalico.org/name, which Calico
 * adds so that `namespaceSelector: projectcalico.org/name == "x"` names one namespace, and
 * kubernetes.io/metadata.name, which the Kubernetes API server sets on every namespace (always to
 * its name), so that NetworkPolicies written for Kubernetes select the same namespaces from policy
 * files. A namespace that only appears on endpoints or network sets gets just these two labels,
 * or none when the model has every namespace (name_labels false; model.h namespaces_complete):
 * a deleted namespace's pods then match only namespaceSelectors that need no label (all(),
 * !has(x)), as Calico's do without the kns.<ns> profile (all() being has(projectcalico.org/
 * namespace), a label of the pod itself). */
static int add_namespace(struct pal_cc *cc, const char *name, const struct pal_labels *labels,
			 bool name_labels)
{
	bool found;
	size_t at = namespace_pos(cc, name, &found);

	if (found)
		return 0;
	/* Kept sorted; nothing points into cc->nss yet (candidates come after every namespace). */
	struct pal_cc_namespace *v = realloc(cc->nss, (cc->n_nss + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cc->nss = v;
	memmove(&cc->nss[at + 1], &cc->nss[at], (cc->n_nss - at) * sizeof(*v));
	cc->n_nss++;
	struct pal_cc_namespace *n = &cc->nss[at];
	memset(n, 0, sizeof(*n));
	n->name = name;
	if (labels)
		pal_labels_copy(&n->labels, labels);
	if (!name_labels)
		return 0;
	pal_labels_set(&n->labels, "projectcalico.org/name", name);
	pal_labels_set(&n->labels, PAL_LABEL_K8S_NAMESPACE_NAME, name);
	return 0;
}

/* pcns.<key> for each of every namespace's labels, built once: each endpoint borrows them. */
static void build_pcns_labels(struct pal_cc *cc)
{
	char key[512];

	for (size_t n = 0; n < cc->n_nss; n++) {
		const struct pal_labels *l = &cc->nss[n].labels;

		for (size_t i = 0; i < l->n; i++) {
			snprintf(key, sizeof(key), "%s%s", PAL_NS_LABEL_PREFIX, l->v[i].key);
			pal_labels_set(&cc->nss[n].pcns, key, l->v[i].value);
		}
	}
}

/* The namespace's pcns. labels into the candidate's (borrowing) set. */
static void add_pcns_labels(const struct pal_cc *cc, struct pal_labels *l, const char *ns)
{
	bool found;
	size_t i;

	if (!ns)
		return;
	i = namespace_pos(cc, ns, &found);
	if (found)
		pal_labels_merge_borrowed(l, &cc->nss[i].pcns);
}

/* Inherited labels: profiles' labelsToApply, the first listed profile winning, then the
 * endpoint's own labels over them (Calico's label inheritance). Borrowed from the model. */
static void inherit_labels(struct pal_cc *cc, struct pal_labels *out, char *const *profiles,
			   size_t n_profiles, const struct pal_labels *own)
{
	for (size_t i = n_profiles; i-- > 0;) {
		const struct pal_profile *p = pal_cc_profile(cc, profiles[i]);

		if (p)
			pal_labels_merge_borrowed(out, &p->labels_to_apply);
	}
	pal_labels_merge_borrowed(out, own);
}

uint64_t pal_cc_cand_ident(enum pal_cc_kind kind, const char *ns, const char *name)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a; a clash only turns the match cache off */
	const char *parts[2] = { ns ? ns : "", name ? name : "" };

	h = (h ^ (uint64_t)kind) * 1099511628211ull;
	h = (h ^ (ns ? 1u : 0u)) * 1099511628211ull;
	for (int i = 0; i < 2; i++)
		for (const unsigned char *p = (const unsigned char *)parts[i];; p++) {
			h = (h ^ *p) * 1099511628211ull;
			if (!*p)
				break;
		}
	return h;
}

/* Candidates being built: cc->cands (every one) or cc->local (this node's endpoints). */
struct cand_vec {
	struct pal_cc_cand **v;
	size_t *n, cap;
};

/* A new candidate for the model resource src, in namespace ns (NULL when cluster-wide), with the
 * namespace's labels and its pcns. labels (the lowest precedence) already in place. */
static struct pal_cc_cand *new_cand(struct pal_cc *cc, struct cand_vec *out, enum pal_cc_kind kind,
				    const char *name, const void *src, const char *ns)
{
	if (vec_grow((void **)out->v, &out->cap, *out->n + 1, sizeof(**out->v)))
		return NULL;
	struct pal_cc_cand *c = &(*out->v)[(*out->n)++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->name = name;
	c->src = src;
	c->ns = ns;
	c->ident = pal_cc_cand_ident(kind, ns, name);
	c->ns_labels = pal_cc_namespace_labels(cc, ns);
	add_pcns_labels(cc, &c->labels, ns);
	return c;
}

static int copy_cidrs(struct pal_cc_cand *c, const struct pal_cidr *v, size_t n)
{
	if (!n)
		return 0;
	c->cidrs = malloc(n * sizeof(*v));
	if (!c->cidrs)
		return -ENOMEM;
	memcpy(c->cidrs, v, n * sizeof(*v));
	c->n_cidrs = n;
	return 0;
}

static int cmp_cand_ns(const void *a, const void *b, void *ctx)
{
	const struct pal_cc *cc = ctx;

	return strcmp(cc->cands[*(const uint32_t *)a].ns, cc->cands[*(const uint32_t *)b].ns);
}

static int index_by_namespace(struct pal_cc *cc)
{
	size_t n = 0;

	if (!cc->n_cands)
		return 0;
	if (!(cc->by_ns = malloc(cc->n_cands * sizeof(*cc->by_ns))))
		return -ENOMEM;
	for (size_t i = 0; i < cc->n_cands; i++)
		if (cc->cands[i].ns)
			cc->by_ns[n++] = (uint32_t)i;
	cc->n_by_ns = n;
	qsort_r(cc->by_ns, n, sizeof(*cc->by_ns), cmp_cand_ns, cc);
	return 0;
}

size_t pal_cc_scope_cands(const struct pal_cc *cc, const struct pal_cc_scope *scope,
			  const uint32_t **list)
{
	size_t first;

	if (scope->kind != PAL_SCOPE_NAMESPACE || !scope->ns) {
		*list = NULL;
		return cc->n_cands;
	}
	first = name_bound(cc->n_by_ns, scope->ns, false, cand_ns_at, cc);
	*list = cc->by_ns + first;
	return name_bound(cc->n_by_ns, scope->ns, true, cand_ns_at, cc) - first;
}

static int hep_cand(struct pal_cc *cc, struct cand_vec *out, const struct pal_host_endpoint *h)
{
	struct pal_cc_cand *c = new_cand(cc, out, PAL_CC_HEP, h->name, h, NULL);

	if (!c)
		return -ENOMEM;
	c->ports = h->ports;
	c->n_ports = h->n_ports;
	inherit_labels(cc, &c->labels, h->profiles, h->n_profiles, &h->labels);
	if (h->n_expected_ips) {
		c->cidrs = calloc(h->n_expected_ips, sizeof(*c->cidrs));
		if (!c->cidrs)
			return -ENOMEM;
		for (size_t k = 0; k < h->n_expected_ips; k++) {
			c->cidrs[k].addr = h->expected_ips[k];
			c->cidrs[k].prefix_len = h->expected_ips[k].family == PAL_AF_INET6 ? 128 : 32;
		}
		c->n_cidrs = h->n_expected_ips;
	}
	return 0;
}

static int wep_cand(struct pal_cc *cc, struct cand_vec *out, const struct pal_workload_endpoint *w)
{
	struct pal_cc_cand *c = new_cand(cc, out, PAL_CC_WEP, w->name, w, w->namespace);

	if (!c)
		return -ENOMEM;
	c->service_account = w->service_account;
	c->ports = w->ports;
	c->n_ports = w->n_ports;
	inherit_labels(cc, &c->labels, w->profiles, w->n_profiles, &w->labels);
	/* Calico sets these on the endpoint itself: they override anything inherited. */
	if (w->namespace)
		pal_labels_set_borrowed(&c->labels, PAL_LABEL_NAMESPACE, w->namespace);
	if (w->orchestrator)
		pal_labels_set_borrowed(&c->labels, PAL_LABEL_ORCHESTRATOR, w->orchestrator);
	if (w->service_account)
		pal_labels_set_borrowed(&c->labels, PAL_LABEL_SERVICE_ACCOUNT, w->service_account);
	return copy_cidrs(c, w->ip_networks, w->n_ip_networks);
}

static int netset_cand(struct pal_cc *cc, struct cand_vec *out, const struct pal_network_set *s)
{
	struct pal_cc_cand *c = new_cand(cc, out, PAL_CC_NETSET, s->name, s, s->namespace);

	if (!c)
		return -ENOMEM;
	pal_labels_merge_borrowed(&c->labels, &s->labels);
	if (s->namespace)
		pal_labels_set_borrowed(&c->labels, PAL_LABEL_NAMESPACE, s->namespace);
	return copy_cidrs(c, s->nets, s->n_nets);
}

bool pal_cc_is_local(const struct pal_cc *cc, const char *node)
{
	return node && cc->opts && cc->opts->node && strcmp(node, cc->opts->node) == 0;
}

/* This node's endpoints, in model order, host endpoints first: what policies are selected
 * against (cc->local). */
static int build_local(struct pal_cc *cc)
{
	const struct pal_model *m = cc->m;
	struct cand_vec out = { &cc->local, &cc->n_local, 0 };
	int err;

	for (size_t i = 0; i < m->host_endpoints.n; i++)
		if (pal_cc_is_local(cc, m->host_endpoints.v[i].node) &&
		    (err = hep_cand(cc, &out, &m->host_endpoints.v[i])))
			return err;
	for (size_t i = 0; i < m->workload_endpoints.n; i++)
		if (pal_cc_is_local(cc, m->workload_endpoints.v[i].node) &&
		    (err = wep_cand(cc, &out, &m->workload_endpoints.v[i])))
			return err;
	return 0;
}

/* Every candidate (cc->cands), built on the first selector that is not in the match cache: a
 * reload whose selectors are all cached never builds the thousands of them. */
int pal_cc_all_candidates(struct pal_cc *cc)
{
	const struct pal_model *m = cc->m;
	struct cand_vec out = { &cc->cands, &cc->n_cands, 0 };
	int err;

	if (cc->all_cands)
		return cc->all_cands_err; /* a partial set must never resolve a selector */
	cc->all_cands = true;
	for (size_t i = 0; i < m->host_endpoints.n; i++)
		if ((err = hep_cand(cc, &out, &m->host_endpoints.v[i])))
			return cc->all_cands_err = err;
	for (size_t i = 0; i < m->workload_endpoints.n; i++)
		if ((err = wep_cand(cc, &out, &m->workload_endpoints.v[i])))
			return cc->all_cands_err = err;
	for (size_t i = 0; i < m->network_sets.n; i++)
		if ((err = netset_cand(cc, &out, &m->network_sets.v[i])))
			return cc->all_cands_err = err;
	return cc->all_cands_err = index_by_namespace(cc);
}

int pal_cc_build_candidates(struct pal_cc *cc)
{
	const struct pal_model *m = cc->m;
	int err;

	if ((err = index_profiles(cc)))
		return err;
	for (size_t i = 0; i < m->namespaces.n; i++)
		if ((err = add_namespace(cc, m->namespaces.v[i].name, &m->namespaces.v[i].labels,
					 true)))
			return err;
	for (size_t i = 0; i < m->workload_endpoints.n; i++)
		if (m->workload_endpoints.v[i].namespace &&
		    (err = add_namespace(cc, m->workload_endpoints.v[i].namespace, NULL,
					 !m->namespaces_complete)))
			return err;
	for (size_t i = 0; i < m->network_sets.n; i++)
		if (m->network_sets.v[i].namespace &&
		    (err = add_namespace(cc, m->network_sets.v[i].namespace, NULL,
					 !m->namespaces_complete)))
			return err;
	build_pcns_labels(cc);
	return build_local(cc);
}

static void free_cands(struct pal_cc_cand *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pal_labels_free_borrowed(&v[i].labels);
		free(v[i].cidrs);
	}
	free(v);
}

void pal_cc_free_candidates(struct pal_cc *cc)
{
	free(cc->by_ns);
	cc->by_ns = NULL;
	cc->n_by_ns = 0;
	free(cc->profiles_by_name);
	cc->profiles_by_name = NULL;
	free_cands(cc->cands, cc->n_cands);
	cc->cands = NULL;
	cc->n_cands = 0;
	cc->all_cands = false;
	cc->all_cands_err = 0;
	free_cands(cc->local, cc->n_local);
	cc->local = NULL;
	cc->n_local = 0;
	free_cands(cc->changed, cc->n_changed);
	cc->changed = NULL;
	cc->n_changed = 0;
	for (size_t i = 0; i < cc->n_nss; i++) {
		pal_labels_free(&cc->nss[i].labels);
		pal_labels_free(&cc->nss[i].pcns);
	}
	free(cc->nss);
	cc->nss = NULL;
	cc->n_nss = 0;
	free(cc->set_index.slots);
	free(cc->nps_index.slots);
	memset(&cc->set_index, 0, sizeof(cc->set_index));
	memset(&cc->nps_index, 0, sizeof(cc->nps_index));
}

bool pal_cc_folded_part_matches(const struct pal_selector *part, const char *prefix,
				const char *all_key, const struct pal_cc_cand *c)
{
	struct pal_labels stripped = { 0 };
	size_t len = strlen(prefix);
	bool ok;

	for (size_t i = 0; i < c->labels.n; i++)
		if (!strncmp(c->labels.v[i].key, prefix, len))
			pal_labels_set(&stripped, c->labels.v[i].key + len, c->labels.v[i].value);
	ok = pal_selector_match_all_as_has(part, &stripped, all_key);
	pal_labels_free(&stripped);
	return ok;
}

bool pal_cc_in_scope(const struct pal_cc_cand *c, const struct pal_cc_scope *scope)
{
	switch (scope->kind) {
	case PAL_SCOPE_ALL:
		return true;
	case PAL_SCOPE_NAMESPACE:
		return c->ns && strcmp(c->ns, scope->ns) == 0;
	case PAL_SCOPE_NS_SELECTOR:
		if (!c->ns) /* host endpoints and GlobalNetworkSets, as felix sees them */
			return pal_cc_folded_part_matches(scope->ns_sel, PAL_NS_LABEL_PREFIX,
							  PAL_LABEL_NAMESPACE, c);
		return c->ns_labels && pal_selector_match(scope->ns_sel, c->ns_labels);
	case PAL_SCOPE_GLOBAL:
		return c->ns == NULL;
	}
	return false;
}

/* serviceAccounts selectors see the service account's labels: projectcalico.org/name, plus the
 * ServiceAccount's own labels where the workload inherited them as "pcsa.<key>" from its
 * ksa.<ns>.<sa> profile (the Kubernetes datastore converts ServiceAccounts into those profiles;
 * Calico matches the selector, pcsa.-prefixed, against exactly these endpoint labels). A
 * candidate without a service account (a workload without one, a host endpoint, a network set)
 * shows only the pcsa. labels it happens to carry, usually none: as in Calico, a negative
 * selector or all() matches it. */
bool pal_cc_sa_selector_matches(const struct pal_selector *sel, const struct pal_cc_cand *c)
{
	static const char prefix[] = PAL_SA_LABEL_PREFIX;
	struct pal_labels l = { 0 };
	bool ok;

	for (size_t i = 0; i < c->labels.n; i++)
		if (!strncmp(c->labels.v[i].key, prefix, sizeof(prefix) - 1))
			pal_labels_set(&l, c->labels.v[i].key + sizeof(prefix) - 1,
				       c->labels.v[i].value);
	if (c->service_account)
		pal_labels_set(&l, "projectcalico.org/name", c->service_account);
	ok = pal_selector_match(sel, &l);
	pal_labels_free(&l);
	return ok;
}

/* A rule's serviceAccounts as Calico converts it (parseServiceAccounts): names are
 * `projectcalico.org/serviceaccount in {...}`, which only a workload with a service account
 * matches; the selector is matched as above, on any candidate in scope (with all() kept as
 * all(), unlike a policy's serviceAccountSelector). */
bool pal_cc_sa_matches(const struct pal_service_accounts *sa, const struct pal_cc_cand *c)
{
	if (sa->n_names) {
		bool found = false;

		if (c->kind != PAL_CC_WEP || !c->service_account)
			return false;
		for (size_t i = 0; i < sa->n_names && !found; i++)
			found = strcmp(sa->names[i], c->service_account) == 0;
		if (!found)
			return false;
	}
	if (sa->selector && !pal_cc_sa_selector_matches(sa->selector, c))
		return false;
	return true;
}

/* ---- origin strings ---------------------------------------------------------------------- */

/* Appends to a malloc'd string; on ENOMEM frees it and returns NULL (callers check at the end). */
static __attribute__((format(printf, 2, 3))) char *cat(char *s, const char *fmt, ...)
{
	va_list ap;
	char *add = NULL, *out = NULL;

	if (!s)
		return NULL;
	va_start(ap, fmt);
	if (vasprintf(&add, fmt, ap) < 0)
		add = NULL;
	va_end(ap);
	if (add && asprintf(&out, "%s%s", s, add) < 0)
		out = NULL;
	free(add);
	free(s);
	return out;
}

/* Appends prefix and sel's text; like cat, NULL (s freed) on ENOMEM. */
static char *cat_selector(char *s, const char *prefix, const struct pal_selector *sel)
{
	char *t = s ? pal_selector_string(sel) : NULL;

	if (!t) {
		free(s);
		return NULL;
	}
	s = cat(s, "%s%s", prefix, t);
	free(t);
	return s;
}

static char *scope_suffix(char *s, const struct pal_cc_scope *scope)
{
	switch (scope->kind) {
	case PAL_SCOPE_ALL:
		return s;
	case PAL_SCOPE_NAMESPACE:
		return cat(s, " in namespace \"%s\"", scope->ns);
	case PAL_SCOPE_NS_SELECTOR:
		return cat_selector(s, " in namespaces matching ", scope->ns_sel);
	case PAL_SCOPE_GLOBAL:
		return cat(s, " outside namespaces (global())");
	}
	return s;
}

static char *sa_suffix(char *s, const struct pal_service_accounts *sa)
{
	if (!sa)
		return s;
	s = cat(s, " with serviceAccount");
	if (sa->n_names) {
		s = cat(s, " in {");
		for (size_t i = 0; i < sa->n_names; i++)
			s = cat(s, "%s\"%s\"", i ? ", " : "", sa->names[i]);
		s = cat(s, "}");
	}
	if (sa->selector)
		s = cat_selector(s, " matching ", sa->selector);
	return s;
}

static char *selector_origin(const char *what, const struct pal_cc_scope *scope,
			     const struct pal_selector *sel, const struct pal_service_accounts *sa)
{
	char *s = strdup(what);

	if (sel)
		s = cat_selector(s, " ", sel);
	s = scope_suffix(s, scope);
	return sa_suffix(s, sa);
}

/* ---- results kept across compiles (match_cache.h) ------------------------------------------ */

static struct pal_memo *memo_of(struct pal_cc *cc, bool ports)
{
	struct pal_match_cache *c = cc->opts ? cc->opts->match_cache : NULL;

	return !c ? NULL : ports ? &c->port_sets : &c->sets;
}

int pal_cc_changed_candidates(struct pal_cc *cc, struct pal_match_change *ch, size_t n)
{
	const struct pal_model *m = cc->m;
	size_t n_hep = m->host_endpoints.n, n_wep = m->workload_endpoints.n;
	struct cand_vec out = { &cc->changed, &cc->n_changed, 0 };
	int err = 0;

	for (size_t i = 0; !err && i < n; i++) {
		size_t ref = ch[i].ref;

		if (ch[i].ref == PAL_MATCH_GONE)
			continue;
		ch[i].ref = (uint32_t)cc->n_changed;
		if (ref < n_hep)
			err = hep_cand(cc, &out, &m->host_endpoints.v[ref]);
		else if (ref < n_hep + n_wep)
			err = wep_cand(cc, &out, &m->workload_endpoints.v[ref - n_hep]);
		else
			err = netset_cand(cc, &out, &m->network_sets.v[ref - n_hep - n_wep]);
	}
	return err;
}

/* 1 with origin's members in *v (malloc'd) and *n; 0 when not cached; -ENOMEM. A cached entry
 * matches the changed candidates again through contrib. */
static int cached_result(struct pal_cc *cc, bool ports, const char *origin, size_t elem,
			 int (*cmp)(const void *, const void *), pal_match_contrib_fn contrib,
			 void *ctx, void **v, size_t *n)
{
	struct pal_memo *m = memo_of(cc, ports);

	return m ? pal_match_cache_get(cc->opts->match_cache, m, origin, elem, cmp, contrib, ctx, v,
				       n)
		 : 0;
}

/* Keeps a result computed over every candidate: members gave contrib's elements in order. */
static int keep_result(struct pal_cc *cc, bool ports, const char *origin, size_t elem,
		       int (*cmp)(const void *, const void *), const struct pal_match_member *members,
		       size_t n_members, const void *contrib, size_t n_contrib)
{
	struct pal_memo *m = memo_of(cc, ports);

	return m ? pal_match_cache_put(cc->opts->match_cache, m, origin, elem, cmp, members,
				       n_members, contrib, n_contrib)
		 : 0;
}

/* Out of memory while a set was being resolved: frees its members, elements and origin text. */
static int drop_result(struct pal_match_member *members, void *elements, char *origin)
{
	free(members);
	free(elements);
	free(origin);
	return -ENOMEM;
}

/* One more member (ident gave n elements) of a result being computed. */
static int add_member(struct pal_match_member **v, size_t *n, size_t *cap, uint64_t ident,
		      size_t n_el)
{
	if (vec_grow((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = (struct pal_match_member){ .ident = ident, .n = (uint32_t)n_el };
	return 0;
}

/* ---- sets -------------------------------------------------------------------------------- */

static int cidr_qcmp(const void *a, const void *b)
{
	return pal_cidr_cmp(a, b);
}

static int np_cmp(const void *pa, const void *pb);

static size_t sort_unique_cidrs(struct pal_cidr *v, size_t n)
{
	return pal_sort_unique(v, n, sizeof(*v), cidr_qcmp);
}

/* Adds a set (taking ownership of origin and cidrs, which must be sorted and unique). */
static int add_set(struct pal_cc *cc, char *origin, struct pal_cidr *cidrs, size_t n, uint32_t *idx)
{
	struct pal_ir *ir = cc->ir;
	int err;

	if (vec_grow((void **)&ir->sets, &cc->cap_sets, ir->n_sets + 1, sizeof(*ir->sets)))
		goto nomem;
	ir->sets[ir->n_sets] = (struct pal_ir_set){ .origin = origin, .cidrs = cidrs, .n = n };
	err = index_add(&cc->set_index, (uint32_t)ir->n_sets, set_origin, ir);
	if (err)
		goto nomem;
	*idx = (uint32_t)ir->n_sets++;
	return 0;
nomem:
	free(origin);
	free(cidrs);
	return -ENOMEM;
}

int pal_cc_origin_set(struct pal_cc *cc, char *origin, struct pal_cidr *cidrs, size_t n,
		      uint32_t *idx)
{
	long found = index_find(&cc->set_index, origin, set_origin, cc->ir);

	if (found >= 0) {
		free(origin);
		free(cidrs);
		*idx = (uint32_t)found;
		return 0;
	}
	return add_set(cc, origin, cidrs, sort_unique_cidrs(cidrs, n), idx);
}

/* The set named origin (a named-port set when ports) without resolving its selector: 1 with *idx
 * when the IR has it already or the match cache holds its members (origin then freed or owned by
 * the IR; contrib and ctx match the candidates changed since again); 0 when it must be resolved,
 * with the candidates of scope to resolve it on in *list and *n_in (pal_cc_scope_cands; origin
 * still the caller's); -ENOMEM (origin freed; NULL origin: its allocation failed). */
static int known_set(struct pal_cc *cc, bool ports, char *origin, const struct pal_cc_scope *scope,
		     pal_match_contrib_fn contrib, void *ctx, uint32_t *idx, const uint32_t **list,
		     size_t *n_in)
{
	size_t elem = ports ? sizeof(struct pal_ir_named_port) : sizeof(struct pal_cidr);
	int (*cmp)(const void *, const void *) = ports ? np_cmp : cidr_qcmp;
	void *v = NULL;
	size_t n = 0;
	long found;
	int r;

	if (!origin)
		return -ENOMEM;
	found = ports ? index_find(&cc->nps_index, origin, nps_origin, cc->ir)
		      : index_find(&cc->set_index, origin, set_origin, cc->ir);
	if (found >= 0) {
		free(origin);
		*idx = (uint32_t)found;
		return 1;
	}
	r = cached_result(cc, ports, origin, elem, cmp, contrib, ctx, &v, &n);
	if (r > 0) { /* the adders own origin and v, and free them on failure */
		r = ports ? pal_cc_origin_port_set(cc, origin, v, n, idx)
			  : add_set(cc, origin, v, n, idx);
		return r < 0 ? r : 1;
	}
	if (r == 0)
		r = pal_cc_all_candidates(cc);
	if (r < 0) {
		free(origin);
		return r;
	}
	*n_in = pal_cc_scope_cands(cc, scope, list);
	return 0;
}

/* What a rule's selector set asks of a candidate. */
struct set_query {
	const struct pal_cc *cc;
	const struct pal_cc_scope *scope;
	const struct pal_selector *sel;
	const struct pal_service_accounts *sa;
};

static bool set_matches(const struct set_query *q, const struct pal_cc_cand *c)
{
	if (!pal_cc_in_scope(c, q->scope))
		return false;
	if (q->sel && !pal_selector_match(q->sel, &c->labels))
		return false;
	return !q->sa || pal_cc_sa_matches(q->sa, c);
}

/* pal_match_contrib_fn: a changed candidate's addresses when it matches. */
static int set_contrib(void *ctx, uint32_t ref, const void **el, size_t *n)
{
	const struct set_query *q = ctx;
	const struct pal_cc_cand *c = &q->cc->changed[ref];

	*el = c->cidrs;
	*n = set_matches(q, c) ? c->n_cidrs : 0;
	return 0;
}

int pal_cc_selector_set(struct pal_cc *cc, const struct pal_cc_scope *scope,
			const struct pal_selector *sel, const struct pal_service_accounts *sa,
			uint32_t *idx)
{
	const char *what = sel ? "selector" : sa && sa->n_names ? "workloads"
			 : "all endpoints and network sets";
	char *origin = selector_origin(what, scope, sel, sa);
	struct set_query q = { .cc = cc, .scope = scope, .sel = sel, .sa = sa };
	struct pal_cidr *v = NULL;
	struct pal_match_member *mem = NULL;
	size_t n = 0, cap = 0, n_mem = 0, cap_mem = 0, n_in;
	const uint32_t *list;
	int known = known_set(cc, false, origin, scope, set_contrib, &q, idx, &list, &n_in);

	if (known)
		return known < 0 ? known : 0;
	for (size_t i = 0; i < n_in; i++) {
		const struct pal_cc_cand *c = &cc->cands[list ? list[i] : i];

		if (!set_matches(&q, c) || !c->n_cidrs)
			continue;
		if (vec_grow((void **)&v, &cap, n + c->n_cidrs, sizeof(*v)) ||
		    add_member(&mem, &n_mem, &cap_mem, c->ident, c->n_cidrs))
			goto nomem;
		memcpy(v + n, c->cidrs, c->n_cidrs * sizeof(*v));
		n += c->n_cidrs;
	}
	if (keep_result(cc, false, origin, sizeof(*v), cidr_qcmp, mem, n_mem, v, n))
		goto nomem;
	free(mem);
	n = sort_unique_cidrs(v, n);
	return add_set(cc, origin, v, n, idx);
nomem:
	return drop_result(mem, v, origin);
}

int pal_cc_nets_set(struct pal_cc *cc, const struct pal_cidr *nets, size_t n, uint32_t *idx)
{
	struct pal_cidr *v = NULL;
	char buf[PAL_CIDR_STRLEN];
	char *origin;
	long found;

	if (n) {
		v = malloc(n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, nets, n * sizeof(*v));
	}
	n = sort_unique_cidrs(v, n);
	origin = strdup("nets");
	for (size_t i = 0; i < n; i++)
		origin = cat(origin, "%s%s", i ? ", " : " ", pal_cidr_str(&v[i], buf));
	if (!origin) {
		free(v);
		return -ENOMEM;
	}
	found = index_find(&cc->set_index, origin, set_origin, cc->ir);
	if (found >= 0) {
		free(origin);
		free(v);
		*idx = (uint32_t)found;
		return 0;
	}
	return add_set(cc, origin, v, n, idx);
}

static int np_cmp(const void *pa, const void *pb)
{
	const struct pal_ir_named_port *a = pa, *b = pb;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	if (c)
		return c;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

/* What a rule's named-port set asks of a candidate; buf holds a changed candidate's tuples. */
struct port_query {
	const struct pal_cc *cc;
	const struct pal_cc_scope *scope;
	const struct pal_selector *sel;
	const char *name;
	struct pal_ir_named_port *buf;
	size_t cap;
};

/* Appends c's (address, protocol, port) tuples for the port name when c matches. */
static int port_tuples(const struct port_query *q, const struct pal_cc_cand *c,
		       struct pal_ir_named_port **v, size_t *n, size_t *cap)
{
	if (c->kind == PAL_CC_NETSET || !pal_cc_in_scope(c, q->scope))
		return 0;
	if (q->sel && !pal_selector_match(q->sel, &c->labels))
		return 0;
	for (size_t p = 0; p < c->n_ports; p++) {
		if (strcmp(c->ports[p].name, q->name) != 0)
			continue;
		for (size_t a = 0; a < c->n_cidrs; a++) {
			if (vec_grow((void **)v, cap, *n + 1, sizeof(**v)))
				return -ENOMEM;
			(*v)[*n].addr = c->cidrs[a].addr;
			(*v)[*n].protocol = c->ports[p].protocol;
			(*v)[*n].port = c->ports[p].port;
			(*n)++;
		}
	}
	return 0;
}

/* pal_match_contrib_fn: a changed candidate's tuples. */
static int port_contrib(void *ctx, uint32_t ref, const void **el, size_t *n)
{
	struct port_query *q = ctx;

	*n = 0;
	*el = NULL;
	int err = port_tuples(q, &q->cc->changed[ref], &q->buf, n, &q->cap);

	*el = q->buf;
	return err;
}

/* Named ports resolve on endpoints only (network sets have no ports). The address of a workload's
 * ipNetwork is its network address; Calico's ipNetworks are host prefixes (/32, /128). */
int pal_cc_named_port_set(struct pal_cc *cc, const struct pal_cc_scope *scope,
			  const struct pal_selector *sel, const char *name, uint32_t *idx)
{
	struct port_query q = { .cc = cc, .scope = scope, .sel = sel, .name = name };
	struct pal_ir_named_port *v = NULL;
	struct pal_match_member *mem = NULL;
	size_t n = 0, cap = 0, n_mem = 0, cap_mem = 0, n_in;
	const uint32_t *list;
	char *origin = NULL, *what = NULL;
	int known;

	if (asprintf(&what, "named port \"%s\" of %s", name, sel ? "selector" : "all endpoints") < 0)
		return -ENOMEM;
	origin = selector_origin(what, scope, sel, NULL);
	free(what);
	known = known_set(cc, true, origin, scope, port_contrib, &q, idx, &list, &n_in);
	free(q.buf);
	if (known)
		return known < 0 ? known : 0;
	for (size_t i = 0; i < n_in; i++) {
		const struct pal_cc_cand *c = &cc->cands[list ? list[i] : i];
		size_t before = n;

		if (port_tuples(&q, c, &v, &n, &cap) ||
		    (n > before && add_member(&mem, &n_mem, &cap_mem, c->ident, n - before)))
			goto nomem;
	}
	if (keep_result(cc, true, origin, sizeof(*v), np_cmp, mem, n_mem, v, n))
		goto nomem;
	free(mem);
	return pal_cc_origin_port_set(cc, origin, v, n, idx);
nomem:
	return drop_result(mem, v, origin);
}

int pal_cc_origin_port_set(struct pal_cc *cc, char *origin, struct pal_ir_named_port *v, size_t n,
			   uint32_t *idx)
{
	struct pal_ir *ir = cc->ir;
	long found = index_find(&cc->nps_index, origin, nps_origin, ir);

	if (found >= 0) {
		free(origin);
		free(v);
		*idx = (uint32_t)found;
		return 0;
	}
	n = pal_sort_unique(v, n, sizeof(*v), np_cmp);
	if (vec_grow((void **)&ir->named_port_sets, &cc->cap_nps, ir->n_named_port_sets + 1,
		     sizeof(*ir->named_port_sets)))
		goto nomem;
	ir->named_port_sets[ir->n_named_port_sets] =
		(struct pal_ir_named_port_set){ .origin = origin, .v = v, .n = n };
	if (index_add(&cc->nps_index, (uint32_t)ir->n_named_port_sets, nps_origin, ir))
		goto nomem;
	*idx = (uint32_t)ir->n_named_port_sets++;
	return 0;
nomem:
	free(v);
	free(origin);
	return -ENOMEM;
}
