/* The reference evaluator: walks the IR for one packet the way docs/semantics.md reads.
 *
 * Building blocks, bottom up:
 *   pal_ir_rule_matches  one rule against one packet
 *   walk_tiers           a tier list: Log records and goes on, Allow/Deny decide, Pass jumps to
 *                        the next tier, a tier where nothing acted ends with its end_action
 *   walk_profiles        the endpoint's profiles in order (Pass or no match: next profile)
 *   ir_run_list          one list of an endpoint, rule by rule; for the normal policy tiers,
 *                        then profiles, then default deny
 * The order of the stages is stage_walk.c, shared with `polctl trace --live` and the
 * differential test, which evaluate the lists the datapath's way; these are the reference ops.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "evaluator.h"
#include "stage_walk.h"

/* ---- matching ------------------------------------------------------------------------------ */

static bool is_port_protocol(uint8_t p)
{
	return p == PAL_PROTO_TCP || p == PAL_PROTO_UDP || p == PAL_PROTO_SCTP;
}

static bool is_icmp(uint8_t p)
{
	return p == PAL_PROTO_ICMP || p == PAL_PROTO_ICMPV6;
}

static bool in_set(const struct pal_ir *ir, uint32_t idx, const struct pal_addr *a)
{
	const struct pal_ir_set *s;

	if (idx >= ir->n_sets)
		return false;
	s = &ir->sets[idx];
	for (size_t i = 0; i < s->n; i++)
		if (pal_cidr_contains(&s->cidrs[i], a))
			return true;
	return false;
}

static bool in_named_set(const struct pal_ir *ir, uint32_t idx, const struct pal_addr *a,
			 uint8_t proto, uint16_t port)
{
	const struct pal_ir_named_port_set *s;

	if (idx >= ir->n_named_port_sets)
		return false;
	s = &ir->named_port_sets[idx];
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].protocol == proto && s->v[i].port == port &&
		    pal_addr_equal(&s->v[i].addr, a))
			return true;
	return false;
}

static bool in_ranges(const struct pal_port_range *r, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (port >= r[i].first && port <= r[i].last)
			return true;
	return false;
}

static bool side_matches(const struct pal_ir *ir, const struct pal_ir_side *s,
			 const struct pal_addr *a, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < s->n_in_sets; i++)
		if (!in_set(ir, s->in_sets[i], a))
			return false;
	for (size_t i = 0; i < s->n_not_in_sets; i++)
		if (in_set(ir, s->not_in_sets[i], a))
			return false;
	if (s->has_ports) {
		bool hit;

		/* Ports only exist on TCP/UDP/SCTP: a rule with ports never matches others. */
		if (!is_port_protocol(proto))
			return false;
		hit = in_ranges(s->port_ranges, s->n_port_ranges, port);
		for (size_t i = 0; i < s->n_named_port_sets && !hit; i++)
			hit = in_named_set(ir, s->named_port_sets[i], a, proto, port);
		if (!hit)
			return false;
	}
	if (is_port_protocol(proto)) {
		/* notPorts: numeric ones always come with a port protocol (validation); for other
		 * protocols a packet has no port, so it is in no excluded port. */
		if (in_ranges(s->not_port_ranges, s->n_not_port_ranges, port))
			return false;
		for (size_t i = 0; i < s->n_not_named_port_sets; i++)
			if (in_named_set(ir, s->not_named_port_sets[i], a, proto, port))
				return false;
	} else if (s->n_not_port_ranges) {
		return false;
	}
	return true;
}

static bool icmp_matches(const struct pal_icmp_match *m, const struct pal_packet *pkt)
{
	if (m->has_type && pkt->icmp_type != m->type)
		return false;
	if (m->has_code && pkt->icmp_code != m->code)
		return false;
	return true;
}

bool pal_ir_rule_matches(const struct pal_ir *ir, const struct pal_ir_rule *rule,
			 const struct pal_packet *pkt, const struct pal_addr *dst, uint16_t dport)
{
	const struct pal_ir_match *m = &rule->match;
	uint8_t fam = pkt->src.family == PAL_AF_INET6 ? PAL_FAMILY_V6 : PAL_FAMILY_V4;

	if (!(m->families & fam))
		return false;
	if (m->protocol.set && pkt->protocol != m->protocol.num)
		return false;
	if (m->not_protocol.set && pkt->protocol == m->not_protocol.num)
		return false;
	if (m->has_icmp && (!is_icmp(pkt->protocol) || !icmp_matches(&m->icmp, pkt)))
		return false;
	if (m->has_not_icmp && is_icmp(pkt->protocol) && icmp_matches(&m->not_icmp, pkt))
		return false;
	if (!side_matches(ir, &m->src, &pkt->src, pkt->protocol, pkt->sport))
		return false;
	if (!side_matches(ir, &m->dst, dst, pkt->protocol, dport))
		return false;
	return true;
}

/* ---- the IR's lists: the reference ops of the stage walk ---------------------------------- */

/* Where the walked list's packet view points (before or after DNAT). */
struct view {
	const struct pal_ir *ir;
	const struct pal_packet *pkt;
	const struct pal_addr *dst;
	uint16_t dport;
	struct pal_verdict *v; /* Log rules go here */
};

static bool rule_hits(const struct view *w, const struct pal_ir_rule *rule)
{
	return pal_ir_rule_matches(w->ir, rule, w->pkt, w->dst, w->dport);
}

enum tier_result { TIER_DECIDED, TIER_PASS, TIER_NO_ACTION };

static enum tier_result walk_tier(const struct view *w, const struct pal_ir_tier *t,
				  struct pal_walk_result *d)
{
	for (size_t p = 0; p < t->n_policies; p++) {
		const struct pal_ir_policy *pol = &t->policies[p];

		for (size_t r = 0; r < pol->n_rules; r++) {
			const struct pal_ir_rule *rule = &pol->rules[r];

			if (!rule_hits(w, rule))
				continue;
			switch (rule->action) {
			case PAL_ACTION_LOG:
				pal_verdict_log(w->v, rule->id);
				continue;
			case PAL_ACTION_PASS:
				return TIER_PASS;
			case PAL_ACTION_ALLOW:
			case PAL_ACTION_DENY:
				d->outcome = rule->action;
				d->tier = t->name;
				d->policy = pol->name;
				d->rule = (int)rule->index;
				d->rule_id = rule->id;
				return TIER_DECIDED;
			}
		}
	}
	return TIER_NO_ACTION;
}

/* A tier list: Log records and goes on, Allow/Deny decide, Pass jumps to the next tier, a tier
 * where nothing acted ends with its end_action. d stays PASS when it ran out of tiers. */
static void walk_tiers(const struct view *w, const struct pal_ir_tierlist *tl,
		       struct pal_walk_result *d)
{
	for (size_t i = 0; i < tl->n_tiers; i++) {
		const struct pal_ir_tier *t = &tl->tiers[i];
		enum tier_result r = walk_tier(w, t, d);

		if (r == TIER_DECIDED)
			return;
		if (r == TIER_NO_ACTION && t->end_action == PAL_ACTION_DENY) {
			d->outcome = PAL_ACTION_DENY;
			d->tier = t->name;
			return;
		}
		/* Pass, or a tier ending in Pass: on to the next tier. */
	}
}

/* The endpoint's profiles in order (Pass or no match: next profile). */
static void walk_profiles(const struct view *w, const struct pal_ir_endpoint *ep, enum pal_dir dir,
			  struct pal_walk_result *d)
{
	for (size_t i = 0; i < ep->n_profiles; i++) {
		const struct pal_ir_profile *prof;

		if (ep->profiles[i] >= w->ir->n_profiles)
			continue;
		prof = &w->ir->profiles[ep->profiles[i]];
		for (size_t r = 0; r < prof->n_rules[dir]; r++) {
			const struct pal_ir_rule *rule = &prof->rules[dir][r];

			if (!rule_hits(w, rule))
				continue;
			if (rule->action == PAL_ACTION_LOG) {
				pal_verdict_log(w->v, rule->id);
				continue;
			}
			if (rule->action == PAL_ACTION_PASS)
				break; /* next profile */
			d->outcome = rule->action;
			d->policy = prof->name;
			d->rule = (int)rule->index;
			d->rule_id = rule->id;
			return;
		}
	}
}

static void ir_run_list(void *ctx, const struct pal_walk_side *s, enum pal_walk_list list,
			enum pal_dir dir, const struct pal_packet *pkt, bool pre_dnat,
			struct pal_verdict *v, struct pal_walk_result *d)
{
	const struct pal_ir_endpoint *ep = s->ep;
	bool dnat = pkt->has_dnat && !pre_dnat;
	struct view w = { .ir = ctx, .pkt = pkt, .dst = dnat ? &pkt->dnat_dst : &pkt->dst,
			  .dport = dnat ? pkt->dnat_dport : pkt->dport, .v = v };

	switch (list) {
	case PAL_WALK_UNTRACKED:
		walk_tiers(&w, &ep->untracked[dir], d);
		d->present = ep->untracked[dir].n_tiers > 0;
		return;
	case PAL_WALK_PREDNAT:
		walk_tiers(&w, &ep->prednat[dir], d);
		d->present = ep->prednat[dir].n_tiers > 0;
		return;
	case PAL_WALK_FORWARD: /* "no forward policy" = no list */
		walk_tiers(&w, &ep->forward[dir], d);
		d->present = ep->forward[dir].n_tiers > 0;
		return;
	case PAL_WALK_NORMAL: /* tiers, then profiles, then default deny: always decides */
		d->present = true;
		d->n_tiers = (int)ep->normal[dir].n_tiers;
		d->n_profiles = (int)ep->n_profiles;
		d->at = PAL_WALK_AT_TIER;
		walk_tiers(&w, &ep->normal[dir], d);
		if (d->outcome != PAL_ACTION_PASS)
			return;
		d->at = PAL_WALK_AT_PROFILE;
		walk_profiles(&w, ep, dir, d);
		if (d->outcome != PAL_ACTION_PASS)
			return;
		d->at = PAL_WALK_AT_DEFAULT;
		d->outcome = PAL_ACTION_DENY;
		return;
	}
}

static bool ir_failsafe(void *ctx, enum pal_dir dir, const struct pal_packet *pkt, char *what,
			size_t len)
{
	const struct pal_ir *ir = ctx;
	const struct pal_failsafe *v = dir == PAL_DIR_INGRESS ? ir->failsafe_in : ir->failsafe_out;
	size_t n = dir == PAL_DIR_INGRESS ? ir->n_failsafe_in : ir->n_failsafe_out;
	const struct pal_addr *peer = dir == PAL_DIR_INGRESS ? &pkt->src : &pkt->dst;
	char net[PAL_CIDR_STRLEN], pb[8];

	for (size_t i = 0; i < n; i++) {
		const struct pal_failsafe *fs = &v[i];

		if (fs->protocol != pkt->protocol || fs->port != pkt->dport ||
		    (fs->has_net && !pal_cidr_contains(&fs->net, peer)))
			continue;
		snprintf(what, len, "%s:%s%s%u", pal_proto_name(fs->protocol, pb, sizeof(pb)),
			 fs->has_net ? pal_cidr_str(&fs->net, net) : "", fs->has_net ? ":" : "",
			 fs->port);
		return true;
	}
	return false;
}

static bool ir_source_ok(void *ctx, const struct pal_walk_side *s, const struct pal_packet *pkt)
{
	(void)ctx;
	return pal_ir_source_allowed(s->ep, &pkt->src);
}

static struct pal_walk_side ir_side(const struct pal_ir *ir, const char *iface)
{
	const struct pal_ir_endpoint *ep = iface ? pal_ir_endpoint_for_iface(ir, iface) : NULL;

	return (struct pal_walk_side){ .ep = ep, .workload = ep && ep->kind == PAL_EP_WORKLOAD,
				       .name = ep ? ep->name : NULL };
}

int pal_evaluate(const struct pal_ir *ir, enum pal_trace_dir dir, const char *in_iface,
		 const char *out_iface, const struct pal_packet *pkt, struct pal_verdict *out)
{
	struct pal_walk_ops ops = { .run_list = ir_run_list, .failsafe = ir_failsafe,
				    .source_ok = ir_source_ok };
	struct pal_walk_side in, fwd_out;

	if (!ir || !pkt || !out || !in_iface)
		return -EINVAL;
	if (dir != PAL_TRACE_INGRESS && dir != PAL_TRACE_EGRESS && dir != PAL_TRACE_FORWARD)
		return -EINVAL;
	if (dir == PAL_TRACE_FORWARD && !out_iface)
		return -EINVAL;
	if (pkt->src.family != pkt->dst.family ||
	    (pkt->src.family != PAL_AF_INET4 && pkt->src.family != PAL_AF_INET6))
		return -EINVAL;
	if (pkt->has_dnat && pkt->dnat_dst.family != pkt->src.family)
		return -EINVAL;

	ops.endpoint_to_host_drop = ir->endpoint_to_host == PAL_EP_TO_HOST_DROP;
	in = ir_side(ir, in_iface);
	fwd_out = ir_side(ir, dir == PAL_TRACE_FORWARD ? out_iface : NULL);
	pal_walk_stages(&ops, (void *)ir, dir, &in, &fwd_out, pkt, out);
	return 0;
}
