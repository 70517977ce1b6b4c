/* The IR's lifetime helpers (free, deep copy of a rule), its names, and the interface -> endpoint
 * lookup shared by the evaluator, polctl and the datapath loader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

static void side_free(struct pal_ir_side *s)
{
	free(s->in_sets);
	free(s->not_in_sets);
	free(s->port_ranges);
	free(s->named_port_sets);
	free(s->not_port_ranges);
	free(s->not_named_port_sets);
	memset(s, 0, sizeof(*s));
}

void pal_ir_match_free(struct pal_ir_match *m)
{
	side_free(&m->src);
	side_free(&m->dst);
}

void pal_ir_rules_free(struct pal_ir_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pal_ir_match_free(&rules[i].match);
	free(rules);
}

bool pal_ir_tierlist_may_deny(const struct pal_ir_tierlist *tl)
{
	for (size_t t = 0; t < tl->n_tiers; t++) {
		const struct pal_ir_tier *tier = &tl->tiers[t];

		if (tier->end_action == PAL_ACTION_DENY)
			return true;
		for (size_t p = 0; p < tier->n_policies; p++)
			for (size_t r = 0; r < tier->policies[p].n_rules; r++)
				if (tier->policies[p].rules[r].action == PAL_ACTION_DENY)
					return true;
	}
	return false;
}

void pal_ir_tierlist_free(struct pal_ir_tierlist *tl)
{
	for (size_t t = 0; t < tl->n_tiers; t++) {
		struct pal_ir_tier *tier = &tl->tiers[t];

		for (size_t p = 0; p < tier->n_policies; p++) {
			struct pal_ir_policy *pol = &tier->policies[p];

			free(pol->name);
			free(pol->namespace);
			if (!pol->rules_shared)
				pal_ir_rules_free(pol->rules, pol->n_rules);
		}
		free(tier->policies);
		free(tier->name);
	}
	free(tl->tiers);
	tl->tiers = NULL;
	tl->n_tiers = 0;
}

static void endpoint_free(struct pal_ir_endpoint *ep)
{
	free(ep->name);
	free(ep->namespace);
	free(ep->iface);
	free(ep->addrs);
	free(ep->spoof_ok);
	pal_labels_free(&ep->labels);
	for (int d = 0; d < PAL_DIR_COUNT; d++) {
		pal_ir_tierlist_free(&ep->untracked[d]);
		pal_ir_tierlist_free(&ep->prednat[d]);
		pal_ir_tierlist_free(&ep->forward[d]);
		pal_ir_tierlist_free(&ep->normal[d]);
	}
	free(ep->profiles);
}

void pal_ir_free(struct pal_ir *ir)
{
	if (!ir)
		return;
	for (size_t i = 0; i < ir->n_endpoints; i++)
		endpoint_free(&ir->endpoints[i]);
	free(ir->endpoints);
	for (size_t i = 0; i < ir->n_sets; i++) {
		free(ir->sets[i].origin);
		free(ir->sets[i].cidrs);
	}
	free(ir->sets);
	for (size_t i = 0; i < ir->n_named_port_sets; i++) {
		free(ir->named_port_sets[i].origin);
		free(ir->named_port_sets[i].v);
	}
	free(ir->named_port_sets);
	for (size_t i = 0; i < ir->n_profiles; i++) {
		free(ir->profiles[i].name);
		for (int d = 0; d < PAL_DIR_COUNT; d++)
			pal_ir_rules_free(ir->profiles[i].rules[d], ir->profiles[i].n_rules[d]);
	}
	free(ir->profiles);
	for (size_t i = 0; i < ir->n_rule_blocks; i++)
		pal_ir_rules_free(ir->rule_blocks[i].rules, ir->rule_blocks[i].n);
	free(ir->rule_blocks);
	free(ir->failsafe_in);
	free(ir->failsafe_out);
	memset(ir, 0, sizeof(*ir));
}

bool pal_ir_source_allowed(const struct pal_ir_endpoint *ep, const struct pal_addr *src)
{
	for (size_t i = 0; i < ep->n_addrs; i++)
		if (pal_addr_equal(&ep->addrs[i], src))
			return true;
	for (size_t i = 0; i < ep->n_spoof_ok; i++)
		if (pal_cidr_contains(&ep->spoof_ok[i], src))
			return true;
	return false;
}

const char *pal_stage_name(enum pal_stage s)
{
	static const char *const names[PAL_STAGE_COUNT] = {
		[PAL_STAGE_FAILSAFE] = "failsafe", [PAL_STAGE_UNTRACKED] = "untracked",
		[PAL_STAGE_PREDNAT] = "prednat",   [PAL_STAGE_FORWARD] = "forward",
		[PAL_STAGE_NORMAL] = "normal",     [PAL_STAGE_WORKLOAD] = "workload",
		[PAL_STAGE_PROFILE] = "profile",   [PAL_STAGE_DEFAULT] = "default",
		[PAL_STAGE_SOURCE] = "source-check",
	};
	if ((unsigned)s >= PAL_STAGE_COUNT)
		return "unknown";
	return names[s];
}

const char *pal_dir_name(enum pal_dir d)
{
	switch (d) {
	case PAL_DIR_INGRESS:
		return "ingress";
	case PAL_DIR_EGRESS:
		return "egress";
	default:
		return "unknown";
	}
}

const struct pal_ir_endpoint *pal_ir_endpoint_for_iface(const struct pal_ir *ir, const char *ifname)
{
	const struct pal_ir_endpoint *wildcard = NULL;

	if (!ir || !ifname)
		return NULL;
	/* Three passes in priority order: an exact interfaceName beats a name, which beats `*`. */
	for (size_t i = 0; i < ir->n_endpoints; i++) {
		const struct pal_ir_endpoint *ep = &ir->endpoints[i];

		if (ep->iface && strcmp(ep->iface, "*") != 0 && strcmp(ep->iface, ifname) == 0)
			return ep;
	}
	for (size_t i = 0; i < ir->n_endpoints; i++) {
		const struct pal_ir_endpoint *ep = &ir->endpoints[i];

		if (ep->name && strcmp(ep->name, ifname) == 0)
			return ep;
		if (!wildcard && ep->kind == PAL_EP_HOST && ep->iface && strcmp(ep->iface, "*") == 0)
			wildcard = ep;
	}
	return wildcard;
}

size_t pal_ir_n_rules(const struct pal_ir *ir)
{
	size_t n = 0;

	for (size_t i = 0; i < ir->n_rule_blocks; i++)
		n += ir->rule_blocks[i].n;
	for (size_t p = 0; p < ir->n_profiles; p++)
		for (int d = 0; d < PAL_DIR_COUNT; d++)
			n += ir->profiles[p].n_rules[d];
	return n;
}
