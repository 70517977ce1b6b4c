/* pal_compile: the model, seen from one node, becomes the IR.
 *
 * Steps: reject what the datapath cannot enforce (HTTP matches) anywhere in the
 * input; turn this node's endpoints into selector candidates (compile_sets.c; every endpoint and
 * network set becomes one when the first rule selector is not in the match cache); sort tiers
 * and policies (compile_tiers.c); then, for each endpoint of this node, build its tier lists and
 * resolve its profiles. Endpoints of other nodes only feed address sets.
 *
 * Rule ids: each policy rule (policy, direction, index) and each profile rule gets one id, given
 * the first time an endpoint of this node needs it, so ids are 0..n-1 in endpoint order and a rule
 * shared by many endpoints is counted under one id. With opts->rule_ids (the agent) a rule keeps
 * its id from one compile to the next while its identity exists (rule_ids.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compile_internal.h"
#include "vec.h"

/* ---- profiles ------------------------------------------------------------------------------ */

static const struct pal_namespace *model_namespace(const struct pal_model *m, const char *name)
{
	for (size_t i = 0; i < m->namespaces.n; i++)
		if (strcmp(m->namespaces.v[i].name, name) == 0)
			return &m->namespaces.v[i];
	return NULL;
}

static const struct pal_profile *model_profile(const struct pal_model *m, const char *name)
{
	for (size_t i = 0; i < m->profiles.n; i++)
		if (strcmp(m->profiles.v[i].name, name) == 0)
			return &m->profiles.v[i];
	return NULL;
}

/* One Allow rule with no constraint, both families: the rules of the built-in profiles. */
/* A profile of one rule per direction matching everything: the built-in allow profiles, or the
 * deny-all stand-in of a profile that does not exist. */
static int one_rule_profile(struct pal_cc *cc, struct pal_ir_profile *p, enum pal_action action)
{
	for (int d = 0; d < PAL_DIR_COUNT; d++) {
		p->rules[d] = calloc(1, sizeof(*p->rules[d]));
		if (!p->rules[d])
			return -ENOMEM;
		p->rules[d]->action = action;
		p->rules[d]->match.families = PAL_FAMILY_V4 | PAL_FAMILY_V6;
		if (pal_cc_rule_id(cc, "profile", NULL, NULL, p->name, (enum pal_dir)d, 0,
				   &p->rules[d]->id))
			return -ENOMEM;
		p->n_rules[d] = 1;
	}
	return 0;
}

static int compile_profile_rules(struct pal_cc *cc, const struct pal_profile *src,
				 struct pal_ir_profile *p)
{
	for (int d = 0; d < PAL_DIR_COUNT; d++) {
		const struct pal_rules *rules = d == PAL_DIR_INGRESS ? &src->ingress : &src->egress;

		if (!rules->n)
			continue;
		p->rules[d] = calloc(rules->n, sizeof(*p->rules[d]));
		if (!p->rules[d])
			return -ENOMEM;
		for (size_t i = 0; i < rules->n; i++) {
			/* Profiles are global: their selectors are not scoped to a namespace. */
			int err = pal_cc_compile_rule(cc, &rules->v[i], NULL, (uint32_t)i,
						      &p->rules[d][i]);
			if (err)
				return err;
			p->n_rules[d]++;
			err = pal_cc_rule_id(cc, "profile", NULL, NULL, p->name, (enum pal_dir)d,
					     (uint32_t)i, &p->rules[d][i].id);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The IR index of profile `name`, compiling it on first use. Lookup order: the built-in
 * projectcalico-default-allow, Profile resources, then kns.<namespace> for each Namespace
 * resource. When none exists, *found is false and the profile is a deny-all stand-in (one Deny
 * rule each way), as felix resolves a missing profile (its DummyDropRules): an endpoint may name a
 * profile that does not exist yet, and until it does, the endpoint's traffic that reaches it is
 * denied there rather than handed to the profiles after it (fail closed). */
static int profile_index(struct pal_cc *cc, const char *name, uint32_t *idx, bool *found)
{
	struct pal_ir *ir = cc->ir;
	const struct pal_profile *src = NULL;
	bool builtin = false;
	struct pal_ir_profile *p;
	int err;

	*found = true;
	for (size_t i = 0; i < ir->n_profiles; i++) {
		if (strcmp(ir->profiles[i].name, name) == 0) {
			*idx = (uint32_t)i;
			*found = !ir->profiles[i].missing;
			return 0;
		}
	}
	if (strcmp(name, PAL_PROFILE_DEFAULT_ALLOW) == 0)
		builtin = true;
	else if ((src = model_profile(cc->m, name)))
		;
	else if (strncmp(name, "kns.", 4) == 0 && model_namespace(cc->m, name + 4))
		builtin = true;
	*found = builtin || src;
	if (vec_grow((void **)&ir->profiles, &cc->cap_profiles, ir->n_profiles + 1,
		     sizeof(*ir->profiles)))
		return -ENOMEM;
	p = &ir->profiles[ir->n_profiles++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	if (!p->name)
		return -ENOMEM;
	p->missing = !*found;
	/* p->name before the rules: their ids are keyed by it */
	err = src ? compile_profile_rules(cc, src, p) :
		    one_rule_profile(cc, p, builtin ? PAL_ACTION_ALLOW : PAL_ACTION_DENY);
	if (err)
		return err;
	*idx = (uint32_t)(ir->n_profiles - 1);
	return 0;
}

static int add_profiles(struct pal_cc *cc, struct pal_ir_endpoint *ep, char *const *names,
			size_t n, struct pal_pos pos)
{
	char path[64];

	if (!n)
		return 0;
	ep->profiles = calloc(n, sizeof(*ep->profiles));
	if (!ep->profiles)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;
		bool found;
		int err = profile_index(cc, names[i], &idx, &found);

		if (err)
			return err;
		if (!found) {
			snprintf(path, sizeof(path), "spec.profiles[%zu]", i);
			pal_warn(cc->diags, pos, path,
				 "profile \"%s\" does not exist; endpoint \"%s\" is denied there "
				 "until it does (as Calico does)", names[i], ep->name);
		}
		ep->profiles[ep->n_profiles++] = idx;
	}
	return 0;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

static char *strdup_or_null(const char *s, bool *nomem)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*nomem = true;
	return d;
}

/* A copy of the n elements of size sz at src, or NULL: n is 0, or out of memory (*nomem set). */
static void *memdup_or_null(const void *src, size_t n, size_t sz, bool *nomem)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * sz);
	if (!d)
		*nomem = true;
	else
		memcpy(d, src, n * sz);
	return d;
}

/* Calico ignores untracked policy on a `*` host endpoint; say so for each such policy. */
static void warn_wildcard_untracked(struct pal_cc *cc, const struct pal_cc_cand *c,
				    const struct pal_host_endpoint *h)
{
	for (size_t i = 0; i < cc->m->policies.n; i++) {
		const struct pal_policy *p = &cc->m->policies.v[i];

		if (p->do_not_track && pal_cc_policy_selects(p, c))
			pal_warn(cc->diags, h->pos, "spec.interfaceName",
				 "untracked (doNotTrack) policy \"%s\" selects host endpoint \"%s\" "
				 "with interfaceName \"*\"; as in Calico it is ignored there",
				 p->name, h->name);
	}
}

static int build_host_endpoint(struct pal_cc *cc, const struct pal_cc_cand *c,
			       const struct pal_host_endpoint *h, struct pal_ir_endpoint *ep)
{
	bool nomem = false, wildcard = h->interface_name && strcmp(h->interface_name, "*") == 0;
	int err;

	ep->kind = PAL_EP_HOST;
	pal_labels_copy(&ep->labels, &c->labels);
	ep->name = strdup_or_null(h->name, &nomem);
	ep->iface = strdup_or_null(h->interface_name, &nomem);
	ep->addrs = memdup_or_null(h->expected_ips, h->n_expected_ips, sizeof(*ep->addrs), &nomem);
	if (nomem)
		return -ENOMEM;
	ep->n_addrs = h->n_expected_ips;
	if (wildcard)
		warn_wildcard_untracked(cc, c, h);
	for (int d = 0; d < PAL_DIR_COUNT; d++) {
		if (!wildcard &&
		    (err = pal_cc_build_tierlist(cc, c, PAL_LIST_UNTRACKED, d, &ep->untracked[d])))
			return err;
		if (d == PAL_DIR_INGRESS &&
		    (err = pal_cc_build_tierlist(cc, c, PAL_LIST_PREDNAT, d, &ep->prednat[d])))
			return err;
		if ((err = pal_cc_build_tierlist(cc, c, PAL_LIST_FORWARD, d, &ep->forward[d])) ||
		    (err = pal_cc_build_tierlist(cc, c, PAL_LIST_NORMAL, d, &ep->normal[d])))
			return err;
	}
	return add_profiles(cc, ep, h->profiles, h->n_profiles, h->pos);
}

static int build_workload_endpoint(struct pal_cc *cc, const struct pal_cc_cand *c,
				   const struct pal_workload_endpoint *w, struct pal_ir_endpoint *ep)
{
	bool nomem = false;
	int err;

	ep->kind = PAL_EP_WORKLOAD;
	pal_labels_copy(&ep->labels, &c->labels);
	ep->name = strdup_or_null(w->name, &nomem);
	ep->namespace = strdup_or_null(w->namespace, &nomem);
	ep->iface = strdup_or_null(w->interface_name, &nomem);
	if (nomem)
		return -ENOMEM;
	if (w->n_ip_networks) {
		ep->addrs = malloc(w->n_ip_networks * sizeof(*ep->addrs));
		if (!ep->addrs)
			return -ENOMEM;
		for (size_t i = 0; i < w->n_ip_networks; i++)
			ep->addrs[i] = w->ip_networks[i].addr;
		ep->n_addrs = w->n_ip_networks;
	}
	ep->spoof_ok = memdup_or_null(w->allow_spoofed, w->n_allow_spoofed, sizeof(*ep->spoof_ok),
				      &nomem);
	if (nomem)
		return -ENOMEM;
	ep->n_spoof_ok = w->n_allow_spoofed;
	for (int d = 0; d < PAL_DIR_COUNT; d++)
		if ((err = pal_cc_build_tierlist(cc, c, PAL_LIST_NORMAL, d, &ep->normal[d])))
			return err;
	return add_profiles(cc, ep, w->profiles, w->n_profiles, w->pos);
}

static int build_endpoints(struct pal_cc *cc)
{
	int err;

	if (!cc->n_local)
		return 0;
	cc->ir->endpoints = calloc(cc->n_local, sizeof(*cc->ir->endpoints));
	if (!cc->ir->endpoints)
		return -ENOMEM;
	/* The local candidates are this node's host and workload endpoints, each with its model
	 * resource (src), in the order the IR lists them. */
	for (size_t k = 0; k < cc->n_local; k++) {
		const struct pal_cc_cand *c = &cc->local[k];
		struct pal_ir_endpoint *ep = &cc->ir->endpoints[cc->ir->n_endpoints++];

		err = c->kind == PAL_CC_HEP ? build_host_endpoint(cc, c, c->src, ep)
					    : build_workload_endpoint(cc, c, c->src, ep);
		if (err)
			return err;
	}
	return 0;
}

/* ---- driver -------------------------------------------------------------------------------- */

static size_t check_unsupported(struct pal_cc *cc)
{
	const struct pal_model *m = cc->m;
	size_t n = 0;

	for (size_t i = 0; i < m->policies.n; i++) {
		n += pal_cc_check_rules(cc, &m->policies.v[i].ingress, "spec.ingress",
					m->policies.v[i].namespace, m->policies.v[i].pos);
		n += pal_cc_check_rules(cc, &m->policies.v[i].egress, "spec.egress",
					m->policies.v[i].namespace, m->policies.v[i].pos);
	}
	for (size_t i = 0; i < m->profiles.n; i++) {
		n += pal_cc_check_rules(cc, &m->profiles.v[i].ingress, "spec.ingress", NULL,
					m->profiles.v[i].pos);
		n += pal_cc_check_rules(cc, &m->profiles.v[i].egress, "spec.egress", NULL,
					m->profiles.v[i].pos);
	}
	return n;
}

static int copy_failsafe(struct pal_failsafe **dst, size_t *n_dst, const struct pal_failsafe *src,
			 size_t n)
{
	*dst = NULL;
	*n_dst = 0;
	if (!n || !src)
		return 0;
	*dst = malloc(n * sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * sizeof(**dst));
	*n_dst = n;
	return 0;
}

int pal_compile(const struct pal_model *m, const struct pal_compile_opts *opts, struct pal_ir *ir,
		struct pal_diags *diags)
{
	struct pal_cc cc = { .m = m, .opts = opts, .diags = diags, .ir = ir };
	size_t errors_before = diags->n_errors;
	int err;

	memset(ir, 0, sizeof(*ir));
	if (opts && opts->rule_ids)
		pal_rule_ids_begin(opts->rule_ids);
	if (opts && opts->match_cache)
		pal_match_cache_begin(opts->match_cache, opts->match_key);
	check_unsupported(&cc);
	if (diags->n_errors > errors_before) {
		err = -EINVAL;
		goto out;
	}
	if (m->policies.n) {
		cc.polrules = calloc(m->policies.n, sizeof(*cc.polrules));
		if (!cc.polrules) {
			err = -ENOMEM;
			goto out;
		}
	}
	if ((err = pal_cc_build_candidates(&cc)) || (err = pal_cc_match_cache_diff(&cc)) ||
	    (err = pal_cc_sort_tiers(&cc)) || (err = build_endpoints(&cc)))
		goto out;
	if (opts) {
		if ((err = copy_failsafe(&ir->failsafe_in, &ir->n_failsafe_in, opts->failsafe_in,
					 opts->n_failsafe_in)) ||
		    (err = copy_failsafe(&ir->failsafe_out, &ir->n_failsafe_out, opts->failsafe_out,
					 opts->n_failsafe_out)))
			goto out;
		ir->endpoint_to_host = opts->endpoint_to_host;
	}
	ir->n_rule_ids = cc.next_rule_id;
	if (diags->n_errors > errors_before)
		err = -EINVAL;
	else if (opts && opts->rule_ids)
		err = pal_rule_ids_end(opts->rule_ids);
	if (!err && opts && opts->match_cache)
		pal_match_cache_end(opts->match_cache);
out:
	free(cc.polrules); /* the rules themselves belong to ir->rule_blocks */
	pal_cc_free_tiers(&cc);
	pal_cc_free_candidates(&cc);
	if (err) {
		if (err == -ENOMEM)
			pal_error(diags, (struct pal_pos){ 0 }, NULL, "out of memory while compiling");
		pal_ir_free(ir);
	}
	return err;
}
