/* Ordering and per-endpoint tier lists.
 *
 * Tiers sort by order (missing = after every ordered tier), then name; the built-in tier `default`
 * always exists with order 1,000,000 and defaultAction Deny (a Tier resource named default cannot
 * change either: Calico fixes them, we warn and ignore); so do the Kubernetes admin tiers
 * (pal_builtin_tiers: order 1000 or 10,000,000, defaultAction Pass) unless a Tier resource gives
 * them, whose defaultAction then stands. Policies in a tier sort by order (missing =
 * +infinity), then name (namespaced policies as "namespace/name", the form Calico sorts by).
 *
 * A tier list for one endpoint, list kind and direction keeps, in that order, every tier that has
 * at least one policy that selects the endpoint, has the direction in `types` and belongs to the
 * list (untracked = doNotTrack, prednat = preDNAT, forward = normal with applyOnForward, normal =
 * neither doNotTrack nor preDNAT). Each policy's rules are compiled once per direction into a rule
 * block of the IR; every list that holds the policy points at that block (rules_shared), so the
 * rule ids are the same everywhere and counters add up per policy rule.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile_internal.h"

char *pal_cc_policy_display_name(const struct pal_policy *p)
{
	size_t tl = p->tier ? strlen(p->tier) : 0;
	char *name;

	if (!p->tier || strcmp(p->tier, PAL_DEFAULT_TIER) == 0 || p->kind == PAL_POLICY_K8S ||
	    (strncmp(p->name, p->tier, tl) == 0 && p->name[tl] == '.'))
		return strdup(p->name);
	/* "deny-rest" written in tier t1 is Calico's t1.deny-rest (libcalico-go's
	 * TieredPolicyName): the name every report shows */
	if (asprintf(&name, "%s.%s", p->tier, p->name) < 0)
		return NULL;
	return name;
}

static const char *policy_tier(const struct pal_policy *p)
{
	return p->tier && *p->tier ? p->tier : PAL_DEFAULT_TIER;
}

/* The name policies sort by within a tier: "[namespace/]name" without the tier prefix. */
static int sort_name(const struct pal_policy *p, char *buf, size_t len)
{
	size_t tl = strlen(policy_tier(p));
	const char *name = p->name;

	if (strcmp(policy_tier(p), PAL_DEFAULT_TIER) != 0 && strncmp(name, p->tier, tl) == 0 &&
	    name[tl] == '.' && name[tl + 1])
		name += tl + 1;
	return snprintf(buf, len, "%s%s%s", p->namespace ? p->namespace : "",
			p->namespace ? "/" : "", name);
}

static int policy_cmp(const void *pa, const void *pb, void *arg)
{
	const struct pal_model *m = arg;
	const struct pal_policy *a = &m->policies.v[*(const size_t *)pa];
	const struct pal_policy *b = &m->policies.v[*(const size_t *)pb];
	double oa = a->has_order ? a->order : INFINITY, ob = b->has_order ? b->order : INFINITY;
	char na[600], nb[600];

	if (oa != ob)
		return oa < ob ? -1 : 1;
	sort_name(a, na, sizeof(na));
	sort_name(b, nb, sizeof(nb));
	return strcmp(na, nb);
}

static int tier_cmp(const void *pa, const void *pb)
{
	const struct pal_cc_tier *a = pa, *b = pb;

	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

static struct pal_cc_tier *find_tier(struct pal_cc *cc, const char *name)
{
	for (size_t i = 0; i < cc->n_tiers; i++)
		if (strcmp(cc->tiers[i].name, name) == 0)
			return &cc->tiers[i];
	return NULL;
}

int pal_cc_sort_tiers(struct pal_cc *cc)
{
	const struct pal_model *m = cc->m;

	cc->tiers = calloc(m->tiers.n + pal_n_builtin_tiers, sizeof(*cc->tiers));
	if (!cc->tiers)
		return -ENOMEM;
	for (size_t i = 0; i < m->tiers.n; i++) {
		const struct pal_tier *t = &m->tiers.v[i];
		struct pal_cc_tier *ct;

		if (find_tier(cc, t->name))
			continue; /* duplicate: reported by pal_model_validate */
		ct = &cc->tiers[cc->n_tiers++];
		ct->name = t->name;
		ct->order = t->has_order ? t->order : INFINITY;
		ct->default_action = t->default_action;
		if (strcmp(t->name, PAL_DEFAULT_TIER) == 0) {
			if ((t->has_order && t->order != PAL_DEFAULT_TIER_ORDER) ||
			    t->default_action != PAL_ACTION_DENY)
				pal_warn(cc->diags, t->pos, "spec",
					 "tier \"default\" always has order 1000000 and defaultAction "
					 "Deny (as in Calico); the values given here are ignored");
			ct->order = PAL_DEFAULT_TIER_ORDER;
			ct->default_action = PAL_ACTION_DENY;
		}
	}
	/* The built-in tiers no Tier resource gave, as Calico creates them. A tier no policy uses is
	 * in no list, so an unused one changes nothing. */
	for (size_t i = 0; i < pal_n_builtin_tiers; i++) {
		const struct pal_builtin_tier *b = &pal_builtin_tiers[i];

		if (!find_tier(cc, b->name))
			cc->tiers[cc->n_tiers++] = (struct pal_cc_tier){
				.name = b->name, .order = b->order, .default_action = b->default_action
			};
	}
	qsort(cc->tiers, cc->n_tiers, sizeof(*cc->tiers), tier_cmp);

	for (size_t i = 0; i < m->policies.n; i++) {
		const struct pal_policy *p = &m->policies.v[i];
		struct pal_cc_tier *t = find_tier(cc, policy_tier(p));
		size_t *nv;

		if (!t) {
			pal_error(cc->diags, p->pos, "spec.tier",
				  "policy \"%s\" names tier \"%s\", which does not exist", p->name,
				  policy_tier(p));
			continue;
		}
		nv = realloc(t->policies, (t->n_policies + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		nv[t->n_policies++] = i;
		t->policies = nv;
	}
	for (size_t i = 0; i < cc->n_tiers; i++)
		if (cc->tiers[i].n_policies)
			qsort_r(cc->tiers[i].policies, cc->tiers[i].n_policies, sizeof(size_t),
				policy_cmp, (void *)m);
	return 0;
}

void pal_cc_free_tiers(struct pal_cc *cc)
{
	for (size_t i = 0; i < cc->n_tiers; i++)
		free(cc->tiers[i].policies);
	free(cc->tiers);
	cc->tiers = NULL;
	cc->n_tiers = 0;
}

/* Calico's selection by a policy with a (GlobalNetworkPolicy's) namespaceSelector and/or a
 * serviceAccountSelector (felix's policy update processors): the parts must match (workloads
 * through their namespace's labels and service account, other endpoints as
 * pal_cc_folded_part_matches says), and so must the policy's own selector, when it has one,
 * with all() read as has(projectcalico.org/namespace) (has(projectcalico.org/serviceaccount)
 * without a namespaceSelector). So `selector: all()` keeps such a policy off host endpoints
 * while an absent selector does not. */
static bool folded_selects(const struct pal_policy *p, const struct pal_cc_cand *c)
{
	const struct pal_selector *ns = p->namespace_selector, *sa = p->service_account_selector;
	bool in_ns = c->kind == PAL_CC_WEP && c->ns_labels;
	bool has_sa = c->kind == PAL_CC_WEP && c->service_account;

	if (ns && !(in_ns ? pal_selector_match(ns, c->ns_labels)
			  : pal_cc_folded_part_matches(ns, PAL_NS_LABEL_PREFIX, PAL_LABEL_NAMESPACE,
						       c)))
		return false;
	if (sa && !(has_sa ? pal_cc_sa_selector_matches(sa, c)
			   : pal_cc_folded_part_matches(sa, PAL_SA_LABEL_PREFIX,
							PAL_LABEL_SERVICE_ACCOUNT, c)))
		return false;
	if (!p->selector || !p->selector_text || p->selector_text[0] == '\0')
		return true;
	return pal_selector_match_all_as_has(p->selector, &c->labels,
					     ns ? PAL_LABEL_NAMESPACE : PAL_LABEL_SERVICE_ACCOUNT);
}

/* Does policy p apply to endpoint c (ignoring direction and list)? */
static bool policy_selects(const struct pal_policy *p, const struct pal_cc_cand *c)
{
	if (c->kind == PAL_CC_NETSET)
		return false;
	/* NetworkPolicy (Calico or k8s) selects only workloads of its own namespace. */
	if (p->kind != PAL_POLICY_GLOBAL &&
	    (c->kind != PAL_CC_WEP || !c->ns || !p->namespace || strcmp(c->ns, p->namespace) != 0))
		return false;
	if (p->namespace_selector || p->service_account_selector)
		return folded_selects(p, c);
	return !p->selector || pal_selector_match(p->selector, &c->labels);
}

static bool policy_in_list(const struct pal_policy *p, enum pal_cc_list list, enum pal_dir dir)
{
	if (!(dir == PAL_DIR_INGRESS ? p->types_ingress : p->types_egress))
		return false;
	switch (list) {
	case PAL_LIST_UNTRACKED:
		return p->do_not_track;
	case PAL_LIST_PREDNAT:
		return p->pre_dnat && dir == PAL_DIR_INGRESS;
	case PAL_LIST_FORWARD:
		return !p->do_not_track && !p->pre_dnat && p->apply_on_forward;
	case PAL_LIST_NORMAL:
		return !p->do_not_track && !p->pre_dnat;
	}
	return false;
}

/* The policy's compiled rules for dir, compiled (and given ids) on first use. The IR owns them
 * (one rule block per policy and direction); every list holding the policy points at them. */
static int policy_rules(struct pal_cc *cc, size_t pidx, enum pal_dir dir,
			const struct pal_cc_polrules **out)
{
	const struct pal_policy *p = &cc->m->policies.v[pidx];
	struct pal_cc_polrules *pr = &cc->polrules[pidx][dir];
	const struct pal_rules *rules = dir == PAL_DIR_INGRESS ? &p->ingress : &p->egress;
	const char *ns = p->kind == PAL_POLICY_GLOBAL ? NULL : p->namespace;
	struct pal_ir *ir = cc->ir;
	struct pal_ir_rule_block *blocks, *b;
	int err;

	*out = pr;
	if (pr->done)
		return 0;
	pr->done = true;
	if (!rules->n)
		return 0;
	blocks = realloc(ir->rule_blocks, (ir->n_rule_blocks + 1) * sizeof(*blocks));
	if (!blocks)
		return -ENOMEM;
	ir->rule_blocks = blocks;
	b = &ir->rule_blocks[ir->n_rule_blocks];
	b->n = 0;
	b->rules = calloc(rules->n, sizeof(*b->rules));
	if (!b->rules)
		return -ENOMEM;
	ir->n_rule_blocks++;
	for (size_t i = 0; i < rules->n; i++) {
		err = pal_cc_compile_rule(cc, &rules->v[i], ns, (uint32_t)i, &b->rules[i]);
		if (err)
			return err; /* the block (b->n rules) is freed with the IR */
		b->n++;
		err = pal_cc_rule_id(cc, "policy", p->tier, ns,
				     p->name, dir, (uint32_t)i, &b->rules[i].id);
		if (err)
			return err;
	}
	pr->rules = b->rules;
	pr->n = b->n;
	return 0;
}

static int add_policy(struct pal_cc *cc, struct pal_ir_tier *t, size_t pidx, enum pal_dir dir)
{
	const struct pal_policy *p = &cc->m->policies.v[pidx];
	const struct pal_cc_polrules *pr;
	struct pal_ir_policy *ip, *nv;
	int err;

	if ((err = policy_rules(cc, pidx, dir, &pr)))
		return err;
	nv = realloc(t->policies, (t->n_policies + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	t->policies = nv;
	ip = &t->policies[t->n_policies];
	memset(ip, 0, sizeof(*ip));
	ip->name = pal_cc_policy_display_name(p);
	ip->namespace = p->kind != PAL_POLICY_GLOBAL && p->namespace ? strdup(p->namespace) : NULL;
	ip->rules = pr->rules;
	ip->n_rules = pr->n;
	ip->rules_shared = true;
	/* Count the policy in now so pal_ir_tierlist_free releases whatever was built. */
	t->n_policies++;
	if (!ip->name || (p->kind != PAL_POLICY_GLOBAL && p->namespace && !ip->namespace))
		return -ENOMEM;
	return 0;
}

int pal_cc_build_tierlist(struct pal_cc *cc, const struct pal_cc_cand *ep, enum pal_cc_list list,
			  enum pal_dir dir, struct pal_ir_tierlist *out)
{
	const struct pal_model *m = cc->m;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (size_t ti = 0; ti < cc->n_tiers; ti++) {
		const struct pal_cc_tier *ct = &cc->tiers[ti];
		struct pal_ir_tier *t = NULL;

		for (size_t k = 0; k < ct->n_policies; k++) {
			size_t pidx = ct->policies[k];
			const struct pal_policy *p = &m->policies.v[pidx];

			if (!policy_in_list(p, list, dir) || !policy_selects(p, ep))
				continue;
			if (!t) {
				struct pal_ir_tier *nv =
					realloc(out->tiers, (out->n_tiers + 1) * sizeof(*nv));

				if (!nv) {
					err = -ENOMEM;
					goto out;
				}
				out->tiers = nv;
				t = &out->tiers[out->n_tiers++];
				memset(t, 0, sizeof(*t));
				t->name = strdup(ct->name);
				if (!t->name) {
					err = -ENOMEM;
					goto out;
				}
				/* Untracked and preDNAT tiers never drop at their end (docs/semantics.md sections 8-9). */
				t->end_action = list == PAL_LIST_UNTRACKED || list == PAL_LIST_PREDNAT ?
							PAL_ACTION_PASS :
							ct->default_action;
			}
			if ((err = add_policy(cc, t, pidx, dir)))
				goto out;
		}
	}
out:
	if (err)
		pal_ir_tierlist_free(out);
	return err;
}

/* Exposed for the compiler's `*` host endpoint warning. */
bool pal_cc_policy_selects(const struct pal_policy *p, const struct pal_cc_cand *c)
{
	return policy_selects(p, c);
}
