/* The reference evaluator: walks the IR for one packet the way DESIGN section 3 reads.
 *
 * Building blocks, bottom up:
 *   pal_ir_rule_matches  one rule against one packet
 *   walk_tiers           a tier list: Log records and goes on, Allow/Deny decide, Pass jumps to
 *                        the next tier, a tier where nothing acted ends with its end_action
 *   walk_profiles        the endpoint's profiles in order (Pass or no match: next profile)
 *   endpoint_policy      tiers, then profiles, then default deny: the normal host endpoint
 *                        policy and the workload policy
 * and one function per traffic direction that strings the stages together.
 *
 * The verdict names the stage that decided: the first deny, or else the last stage that allowed
 * by a rule (or by a tier list being absent: "no forward policy" is an allow without a rule).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "evaluator.h"

/* What one stage decided: ALLOW, DENY, or PASS (no decision, the packet goes on). */
struct decision {
	enum pal_action outcome;
	const char *tier, *policy;
	int rule;
	uint32_t rule_id;
};

static const struct decision no_decision = { .outcome = PAL_ACTION_PASS, .rule = -1,
					     .rule_id = UINT32_MAX };

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

/* ---- walking ------------------------------------------------------------------------------- */

/* The state of one evaluation. */
struct eval {
	const struct pal_ir *ir;
	const struct pal_packet *pkt;
	struct pal_verdict *v;
	bool have_allow;        /* an allowing stage was seen */
	struct decision allow;  /* the last one */
	enum pal_stage allow_stage;
	const char *allow_endpoint;
	enum pal_dir allow_dir;
};

static void log_rule(struct eval *e, const struct pal_ir_rule *r)
{
	if (e->v->n_logged < PAL_TRACE_MAX_LOGS)
		e->v->logged_rule_ids[e->v->n_logged++] = r->id;
}

static __attribute__((format(printf, 6, 7))) void
add_step(struct eval *e, enum pal_stage stage, const struct pal_ir_endpoint *ep, enum pal_dir dir,
	 const struct decision *d, const char *fmt, ...)
{
	struct pal_trace_step *s;
	va_list ap;

	if (e->v->n_steps >= PAL_TRACE_MAX_STEPS)
		return; /* cannot happen with today's stages (at most 9) */
	s = &e->v->steps[e->v->n_steps++];
	memset(s, 0, sizeof(*s));
	s->stage = stage;
	s->endpoint = ep ? ep->name : NULL;
	s->dir = dir;
	s->outcome = d->outcome;
	s->tier = d->tier;
	s->policy = d->policy;
	s->rule = d->rule;
	va_start(ap, fmt);
	vsnprintf(s->note, sizeof(s->note), fmt, ap);
	va_end(ap);
}

enum tier_result { TIER_DECIDED, TIER_PASS, TIER_NO_ACTION };

static enum tier_result walk_tier(struct eval *e, const struct pal_ir_tier *t,
				  const struct pal_addr *dst, uint16_t dport, struct decision *d)
{
	for (size_t p = 0; p < t->n_policies; p++) {
		const struct pal_ir_policy *pol = &t->policies[p];

		for (size_t r = 0; r < pol->n_rules; r++) {
			const struct pal_ir_rule *rule = &pol->rules[r];

			if (!pal_ir_rule_matches(e->ir, rule, e->pkt, dst, dport))
				continue;
			switch (rule->action) {
			case PAL_ACTION_LOG:
				log_rule(e, rule);
				continue;
			case PAL_ACTION_PASS:
				return TIER_PASS;
			case PAL_ACTION_ALLOW:
			case PAL_ACTION_DENY:
				*d = (struct decision){ .outcome = rule->action, .tier = t->name,
							.policy = pol->name, .rule = (int)rule->index,
							.rule_id = rule->id };
				return TIER_DECIDED;
			}
		}
	}
	return TIER_NO_ACTION;
}

/* A tier list: the decision, or PASS when it ran out of tiers. */
static struct decision walk_tiers(struct eval *e, const struct pal_ir_tierlist *tl,
				  const struct pal_addr *dst, uint16_t dport)
{
	struct decision d = no_decision;

	for (size_t i = 0; i < tl->n_tiers; i++) {
		const struct pal_ir_tier *t = &tl->tiers[i];
		enum tier_result r = walk_tier(e, t, dst, dport, &d);

		if (r == TIER_DECIDED)
			return d;
		if (r == TIER_NO_ACTION && t->end_action == PAL_ACTION_DENY) {
			d = (struct decision){ .outcome = PAL_ACTION_DENY, .tier = t->name,
					       .rule = -1, .rule_id = UINT32_MAX };
			return d;
		}
		/* Pass, or a tier ending in Pass: on to the next tier. */
	}
	return no_decision;
}

static struct decision walk_profiles(struct eval *e, const struct pal_ir_endpoint *ep,
				     enum pal_dir dir, const struct pal_addr *dst, uint16_t dport)
{
	for (size_t i = 0; i < ep->n_profiles; i++) {
		const struct pal_ir_profile *prof;

		if (ep->profiles[i] >= e->ir->n_profiles)
			continue;
		prof = &e->ir->profiles[ep->profiles[i]];
		for (size_t r = 0; r < prof->n_rules[dir]; r++) {
			const struct pal_ir_rule *rule = &prof->rules[dir][r];

			if (!pal_ir_rule_matches(e->ir, rule, e->pkt, dst, dport))
				continue;
			if (rule->action == PAL_ACTION_LOG) {
				log_rule(e, rule);
				continue;
			}
			if (rule->action == PAL_ACTION_PASS)
				break; /* next profile */
			return (struct decision){ .outcome = rule->action, .policy = prof->name,
						  .rule = (int)rule->index, .rule_id = rule->id };
		}
	}
	return no_decision;
}

/* ---- verdict bookkeeping ------------------------------------------------------------------- */

static void describe(char *buf, size_t len, enum pal_stage stage, const struct pal_ir_endpoint *ep,
		     enum pal_dir dir, const struct decision *d)
{
	const char *epname = ep ? ep->name : "-";

	if (d->rule >= 0 && d->tier)
		snprintf(buf, len, "rule %d (%s) of policy \"%s\" in tier \"%s\", %s %s of %s",
			 d->rule, pal_action_name(d->outcome), d->policy, d->tier,
			 pal_stage_name(stage), pal_dir_name(dir), epname);
	else if (d->rule >= 0)
		snprintf(buf, len, "rule %d (%s) of profile \"%s\", %s of %s", d->rule,
			 pal_action_name(d->outcome), d->policy, pal_dir_name(dir), epname);
	else if (d->tier)
		snprintf(buf, len, "no rule of tier \"%s\" acted; the tier ends with %s (%s %s of %s)",
			 d->tier, pal_action_name(d->outcome), pal_stage_name(stage),
			 pal_dir_name(dir), epname);
	else
		snprintf(buf, len, "%s %s of %s", pal_stage_name(stage), pal_dir_name(dir), epname);
}

/* The packet is dropped: the verdict is this decision. */
static void settle_deny(struct eval *e, enum pal_stage stage, const struct pal_ir_endpoint *ep,
			enum pal_dir dir, const struct decision *d, const char *reason)
{
	struct pal_verdict *v = e->v;

	v->allow = false;
	v->untracked = false;
	v->stage = stage;
	v->tier = d->tier;
	v->policy = d->policy;
	v->rule = d->rule;
	v->rule_id = d->rule_id;
	v->action = PAL_ACTION_DENY;
	if (reason)
		snprintf(v->reason, sizeof(v->reason), "%s", reason);
	else
		describe(v->reason, sizeof(v->reason), stage, ep, dir, d);
}

/* A stage allowed the packet; it is the verdict unless a later stage decides too. */
static void note_allow(struct eval *e, enum pal_stage stage, const struct pal_ir_endpoint *ep,
		       enum pal_dir dir, const struct decision *d)
{
	e->have_allow = true;
	e->allow = *d;
	e->allow_stage = stage;
	e->allow_endpoint = ep ? ep->name : NULL;
	e->allow_dir = dir;
	describe(e->v->reason, sizeof(e->v->reason), stage, ep, dir, d);
}

/* The packet went through every stage and was allowed. */
static void settle_allow(struct eval *e, const char *no_rule_reason)
{
	struct pal_verdict *v = e->v;

	v->allow = true;
	v->action = PAL_ACTION_ALLOW;
	if (e->have_allow) {
		v->stage = e->allow_stage;
		v->tier = e->allow.tier;
		v->policy = e->allow.policy;
		v->rule = e->allow.rule;
		v->rule_id = e->allow.rule_id;
		/* v->reason was written by note_allow */
	} else {
		v->stage = PAL_STAGE_DEFAULT;
		v->tier = v->policy = NULL;
		v->rule = -1;
		v->rule_id = UINT32_MAX;
		snprintf(v->reason, sizeof(v->reason), "%s", no_rule_reason);
	}
}

/* ---- stages -------------------------------------------------------------------------------- */

/* An untracked or preDNAT tier list (they never drop at a tier's end). */
static struct decision stateless_stage(struct eval *e, enum pal_stage stage,
				       const struct pal_ir_endpoint *ep, enum pal_dir dir,
				       const struct pal_ir_tierlist *tl, const struct pal_addr *dst,
				       uint16_t dport)
{
	struct decision d = walk_tiers(e, tl, dst, dport);

	if (!tl->n_tiers)
		add_step(e, stage, ep, dir, &d, "no %s policy", pal_stage_name(stage));
	else if (d.outcome == PAL_ACTION_PASS)
		add_step(e, stage, ep, dir, &d, "no %s rule acted: go on", pal_stage_name(stage));
	else
		add_step(e, stage, ep, dir, &d, "%s by %s", pal_action_name(d.outcome),
			 pal_stage_name(stage));
	return d;
}

/* Tiers, then profiles, then default deny: the normal policy of a host endpoint and the policy
 * of a workload. Returns the decision (never PASS) and records the stages it visited. */
static struct decision endpoint_policy(struct eval *e, enum pal_stage tier_stage,
				       const struct pal_ir_endpoint *ep, enum pal_dir dir,
				       const struct pal_addr *dst, uint16_t dport)
{
	const struct pal_ir_tierlist *tl = &ep->normal[dir];
	struct decision d = walk_tiers(e, tl, dst, dport);

	if (d.outcome != PAL_ACTION_PASS) {
		add_step(e, tier_stage, ep, dir, &d, d.rule >= 0 ? "decided by a policy rule" :
								   "end of tier");
		if (d.outcome == PAL_ACTION_DENY)
			settle_deny(e, tier_stage, ep, dir, &d, NULL);
		else
			note_allow(e, tier_stage, ep, dir, &d);
		return d;
	}
	add_step(e, tier_stage, ep, dir, &d,
		 tl->n_tiers ? "every tier passed: on to the profiles" : "no policy applies");

	d = walk_profiles(e, ep, dir, dst, dport);
	if (d.outcome != PAL_ACTION_PASS) {
		add_step(e, PAL_STAGE_PROFILE, ep, dir, &d, "decided by a profile rule");
		if (d.outcome == PAL_ACTION_DENY)
			settle_deny(e, PAL_STAGE_PROFILE, ep, dir, &d, NULL);
		else
			note_allow(e, PAL_STAGE_PROFILE, ep, dir, &d);
		return d;
	}
	add_step(e, PAL_STAGE_PROFILE, ep, dir, &d,
		 ep->n_profiles ? "no profile rule decided" : "no profiles");
	d = no_decision;
	d.outcome = PAL_ACTION_DENY;
	add_step(e, PAL_STAGE_DEFAULT, ep, dir, &d, "default deny");
	char reason[200];
	snprintf(reason, sizeof(reason),
		 "no policy or profile decided for %s of %s: default deny", pal_dir_name(dir),
		 ep->name);
	settle_deny(e, PAL_STAGE_DEFAULT, ep, dir, &d, reason);
	return d;
}

/* Forward policy of one host endpoint side: no list = allow for that side, else tiers and, when
 * nothing decides, deny (there are no profiles on the forward path). */
static struct decision forward_stage(struct eval *e, const struct pal_ir_endpoint *ep,
				     enum pal_dir dir, const struct pal_addr *dst, uint16_t dport)
{
	const struct pal_ir_tierlist *tl = &ep->forward[dir];
	struct decision d;

	if (!tl->n_tiers) {
		d = no_decision;
		add_step(e, PAL_STAGE_FORWARD, ep, dir, &d, "no forward policy: allowed");
		return d;
	}
	d = walk_tiers(e, tl, dst, dport);
	if (d.outcome == PAL_ACTION_PASS) {
		d.outcome = PAL_ACTION_DENY;
		add_step(e, PAL_STAGE_FORWARD, ep, dir, &d,
			 "forward policy applies but no rule decided: deny");
		char reason[200];
		snprintf(reason, sizeof(reason),
			 "forward policy applies to %s of %s but every tier passed: deny",
			 pal_dir_name(dir), ep->name);
		settle_deny(e, PAL_STAGE_FORWARD, ep, dir, &d, reason);
		return d;
	}
	add_step(e, PAL_STAGE_FORWARD, ep, dir, &d, d.rule >= 0 ? "decided by a policy rule" :
								 "end of tier");
	if (d.outcome == PAL_ACTION_DENY)
		settle_deny(e, PAL_STAGE_FORWARD, ep, dir, &d, NULL);
	else
		note_allow(e, PAL_STAGE_FORWARD, ep, dir, &d);
	return d;
}

static const struct pal_failsafe *failsafe_match(const struct pal_failsafe *v, size_t n,
						 const struct pal_packet *pkt,
						 const struct pal_addr *peer)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].protocol == pkt->protocol && v[i].port == pkt->dport &&
		    (!v[i].has_net || pal_cidr_contains(&v[i].net, peer)))
			return &v[i];
	return NULL;
}

/* Neighbour discovery (router/neighbour solicitation and advertisement, redirect) is never
 * blocked by host policy (DESIGN 3). */
static bool is_neighbour_discovery(const struct pal_packet *pkt)
{
	return pkt->protocol == PAL_PROTO_ICMPV6 && pkt->icmp_type >= 133 && pkt->icmp_type <= 137;
}

/* ND and failsafe, the first stage of host endpoint traffic to or from a local process. True when
 * they allowed the packet (the verdict is settled). */
static bool failsafe_stage(struct eval *e, const struct pal_ir_endpoint *ep, enum pal_dir dir)
{
	const struct pal_packet *pkt = e->pkt;
	struct decision d = no_decision;
	const struct pal_failsafe *fs;
	char net[PAL_CIDR_STRLEN];

	if (is_neighbour_discovery(pkt)) {
		d.outcome = PAL_ACTION_ALLOW;
		add_step(e, PAL_STAGE_FAILSAFE, ep, dir, &d,
			 "neighbour discovery is never blocked");
		snprintf(e->v->reason, sizeof(e->v->reason),
			 "ICMPv6 type %u: neighbour discovery is never blocked", pkt->icmp_type);
		goto allowed;
	}
	if (dir == PAL_DIR_INGRESS)
		fs = failsafe_match(e->ir->failsafe_in, e->ir->n_failsafe_in, pkt, &pkt->src);
	else
		fs = failsafe_match(e->ir->failsafe_out, e->ir->n_failsafe_out, pkt, &pkt->dst);
	if (!fs) {
		add_step(e, PAL_STAGE_FAILSAFE, ep, dir, &d, "no failsafe port matched");
		return false;
	}
	d.outcome = PAL_ACTION_ALLOW;
	add_step(e, PAL_STAGE_FAILSAFE, ep, dir, &d, "failsafe %s %s:%s%s%u",
		 dir == PAL_DIR_INGRESS ? "in" : "out", fs->protocol == PAL_PROTO_TCP ? "tcp" : "udp",
		 fs->has_net ? pal_cidr_str(&fs->net, net) : "", fs->has_net ? ":" : "", fs->port);
	snprintf(e->v->reason, sizeof(e->v->reason), "failsafe port %s %u (%s)",
		 fs->protocol == PAL_PROTO_TCP ? "tcp" : "udp", fs->port,
		 dir == PAL_DIR_INGRESS ? "inbound" : "outbound");
allowed:
	e->v->allow = true;
	e->v->stage = PAL_STAGE_FAILSAFE;
	e->v->action = PAL_ACTION_ALLOW;
	return true;
}

static const struct pal_addr *post_dnat_dst(const struct pal_packet *pkt)
{
	return pkt->has_dnat ? &pkt->dnat_dst : &pkt->dst;
}

static uint16_t post_dnat_dport(const struct pal_packet *pkt)
{
	return pkt->has_dnat ? pkt->dnat_dport : pkt->dport;
}

/* Untracked allow: the verdict, with untracked set. */
static void settle_untracked_allow(struct eval *e, const struct pal_ir_endpoint *ep,
				   enum pal_dir dir, const struct decision *d)
{
	note_allow(e, PAL_STAGE_UNTRACKED, ep, dir, d);
	settle_allow(e, "");
	e->v->untracked = true;
}

/* Arrives on in_iface for the host. */
static void eval_ingress(struct eval *e, const char *in_iface)
{
	const struct pal_ir_endpoint *a = pal_ir_endpoint_for_iface(e->ir, in_iface);
	const struct pal_packet *pkt = e->pkt;
	struct decision d = no_decision;

	if (!a) {
		add_step(e, PAL_STAGE_DEFAULT, NULL, PAL_DIR_INGRESS, &d, "no endpoint: not policed");
		settle_allow(e, "no endpoint on this interface: not policed");
		return;
	}
	if (a->kind == PAL_EP_WORKLOAD) {
		/* Neighbour discovery from a workload to its host (resolving its gateway, answering
		 * the host's solicitations) is never blocked either, before the workload's policy
		 * and the endpoint-to-host action, as Calico's workload-to-host chain does: without
		 * it no IPv6 traffic could reach or leave a pod. */
		if (is_neighbour_discovery(pkt)) {
			d.outcome = PAL_ACTION_ALLOW;
			add_step(e, PAL_STAGE_FAILSAFE, a, PAL_DIR_EGRESS, &d,
				 "neighbour discovery is never blocked");
			snprintf(e->v->reason, sizeof(e->v->reason),
				 "ICMPv6 type %u: neighbour discovery is never blocked", pkt->icmp_type);
			e->v->allow = true;
			e->v->stage = PAL_STAGE_FAILSAFE;
			e->v->action = PAL_ACTION_ALLOW;
			return;
		}
		/* Workload to its host: its egress policy, then --endpoint-to-host-action. */
		d = endpoint_policy(e, PAL_STAGE_WORKLOAD, a, PAL_DIR_EGRESS, post_dnat_dst(pkt),
				    post_dnat_dport(pkt));
		if (d.outcome == PAL_ACTION_DENY)
			return;
		d = no_decision;
		if (e->ir->endpoint_to_host == PAL_EP_TO_HOST_DROP) {
			d.outcome = PAL_ACTION_DENY;
			add_step(e, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d,
				 "endpoint-to-host-action drop");
			settle_deny(e, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d,
				    "workload to host: --endpoint-to-host-action is drop");
			return;
		}
		add_step(e, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d,
			 "endpoint-to-host-action accept");
		settle_allow(e, "");
		return;
	}

	if (failsafe_stage(e, a, PAL_DIR_INGRESS))
		return;
	d = stateless_stage(e, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &a->untracked[PAL_DIR_INGRESS],
			    &pkt->dst, pkt->dport);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(e, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		settle_untracked_allow(e, a, PAL_DIR_INGRESS, &d);
		return;
	}
	/* preDNAT sees the destination before kube-proxy's DNAT (the NodePort). */
	d = stateless_stage(e, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &a->prednat[PAL_DIR_INGRESS],
			    &pkt->dst, pkt->dport);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(e, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		note_allow(e, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d);
		settle_allow(e, "");
		return;
	}
	d = endpoint_policy(e, PAL_STAGE_NORMAL, a, PAL_DIR_INGRESS, post_dnat_dst(pkt),
			    post_dnat_dport(pkt));
	if (d.outcome == PAL_ACTION_ALLOW)
		settle_allow(e, "");
}

/* Sent by a local process out of in_iface. */
static void eval_egress(struct eval *e, const char *iface)
{
	const struct pal_ir_endpoint *b = pal_ir_endpoint_for_iface(e->ir, iface);
	const struct pal_packet *pkt = e->pkt;
	struct decision d = no_decision;

	if (!b) {
		add_step(e, PAL_STAGE_DEFAULT, NULL, PAL_DIR_EGRESS, &d, "no endpoint: not policed");
		settle_allow(e, "no endpoint on this interface: not policed");
		return;
	}
	if (b->kind == PAL_EP_WORKLOAD) {
		add_step(e, PAL_STAGE_DEFAULT, b, PAL_DIR_INGRESS, &d,
			 "host to local workload is always allowed");
		settle_allow(e, "host to local workload is always allowed");
		return;
	}
	if (failsafe_stage(e, b, PAL_DIR_EGRESS))
		return;
	/* Untracked egress runs before conntrack and NAT (raw OUTPUT): the original destination. */
	d = stateless_stage(e, PAL_STAGE_UNTRACKED, b, PAL_DIR_EGRESS, &b->untracked[PAL_DIR_EGRESS],
			    &pkt->dst, pkt->dport);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(e, PAL_STAGE_UNTRACKED, b, PAL_DIR_EGRESS, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		settle_untracked_allow(e, b, PAL_DIR_EGRESS, &d);
		return;
	}
	d = endpoint_policy(e, PAL_STAGE_NORMAL, b, PAL_DIR_EGRESS, post_dnat_dst(pkt),
			    post_dnat_dport(pkt));
	if (d.outcome == PAL_ACTION_ALLOW)
		settle_allow(e, "");
}

/* Arrives on in_iface, routed out of out_iface. */
static void eval_forward(struct eval *e, const char *in_iface, const char *out_iface)
{
	const struct pal_ir_endpoint *a = pal_ir_endpoint_for_iface(e->ir, in_iface);
	const struct pal_ir_endpoint *b = pal_ir_endpoint_for_iface(e->ir, out_iface);
	const struct pal_packet *pkt = e->pkt;
	const struct pal_addr *dst = post_dnat_dst(pkt);
	uint16_t dport = post_dnat_dport(pkt);
	struct decision d = no_decision;
	bool untracked = false;

	/* The ingress side. */
	if (!a) {
		add_step(e, PAL_STAGE_DEFAULT, NULL, PAL_DIR_INGRESS, &d,
			 "no endpoint on the incoming interface: not policed");
	} else if (a->kind == PAL_EP_HOST) {
		d = stateless_stage(e, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS,
				    &a->untracked[PAL_DIR_INGRESS], &pkt->dst, pkt->dport);
		if (d.outcome == PAL_ACTION_DENY) {
			settle_deny(e, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d, NULL);
			return;
		}
		if (d.outcome == PAL_ACTION_ALLOW) {
			/* Untracked allow skips preDNAT and forward host policy (both sides);
			 * workload policy still applies. */
			untracked = true;
			note_allow(e, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d);
		} else {
			d = stateless_stage(e, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS,
					    &a->prednat[PAL_DIR_INGRESS], &pkt->dst, pkt->dport);
			if (d.outcome == PAL_ACTION_DENY) {
				settle_deny(e, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d, NULL);
				return;
			}
			if (d.outcome == PAL_ACTION_ALLOW) {
				/* preDNAT allow ends host policy for the ingress side. */
				note_allow(e, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d);
			} else {
				d = forward_stage(e, a, PAL_DIR_INGRESS, dst, dport);
				if (d.outcome == PAL_ACTION_DENY)
					return;
			}
		}
	} else {
		d = endpoint_policy(e, PAL_STAGE_WORKLOAD, a, PAL_DIR_EGRESS, dst, dport);
		if (d.outcome == PAL_ACTION_DENY)
			return;
	}

	/* The egress side. */
	d = no_decision;
	if (!b) {
		add_step(e, PAL_STAGE_DEFAULT, NULL, PAL_DIR_EGRESS, &d,
			 "no endpoint on the outgoing interface: not policed");
	} else if (b->kind == PAL_EP_HOST) {
		if (untracked) {
			add_step(e, PAL_STAGE_FORWARD, b, PAL_DIR_EGRESS, &d,
				 "skipped: allowed by untracked policy");
		} else {
			d = forward_stage(e, b, PAL_DIR_EGRESS, dst, dport);
			if (d.outcome == PAL_ACTION_DENY)
				return;
		}
	} else {
		d = endpoint_policy(e, PAL_STAGE_WORKLOAD, b, PAL_DIR_INGRESS, dst, dport);
		if (d.outcome == PAL_ACTION_DENY)
			return;
	}
	settle_allow(e, "forwarded: no policy applies on either side");
	e->v->untracked = untracked;
}

int pal_evaluate(const struct pal_ir *ir, enum pal_trace_dir dir, const char *in_iface,
		 const char *out_iface, const struct pal_packet *pkt, struct pal_verdict *out)
{
	struct eval e = { .ir = ir, .pkt = pkt, .v = out };

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

	memset(out, 0, sizeof(*out));
	out->stage = PAL_STAGE_DEFAULT;
	out->rule = -1;
	out->rule_id = UINT32_MAX;
	out->action = PAL_ACTION_DENY;
	switch (dir) {
	case PAL_TRACE_INGRESS:
		eval_ingress(&e, in_iface);
		break;
	case PAL_TRACE_EGRESS:
		eval_egress(&e, in_iface);
		break;
	case PAL_TRACE_FORWARD:
		eval_forward(&e, in_iface, out_iface);
		break;
	}
	return 0;
}
