/* The stage walk of semantics.md section 7 (see stage_walk.h): one function per traffic direction
 * strings the stages together; the lists themselves are evaluated by the caller's ops.
 *
 * The verdict names the stage that decided: the first deny, or else the last stage that allowed
 * by a rule (or by a tier list being absent: "no forward policy" is an allow without a rule).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "stage_walk.h"

typedef struct pal_walk_result decision_t;

static const decision_t no_decision = { .outcome = PAL_ACTION_PASS, .rule = -1,
					.rule_id = UINT32_MAX };

/* The state of one walk. */
struct walk {
	const struct pal_walk_ops *ops;
	void *ctx;
	const struct pal_packet *pkt;
	struct pal_verdict *v;
	bool have_allow;      /* an allowing stage was seen */
	decision_t allow;     /* the last one */
	enum pal_stage allow_stage;
};

void pal_verdict_log(struct pal_verdict *v, uint32_t rule_id)
{
	if (v->n_logged < PAL_TRACE_MAX_LOGS)
		v->logged_rule_ids[v->n_logged++] = rule_id;
}

static __attribute__((format(printf, 6, 7))) void
add_step(struct walk *w, enum pal_stage stage, const struct pal_walk_side *s, enum pal_dir dir,
	 const decision_t *d, const char *fmt, ...)
{
	struct pal_trace_step *st;
	va_list ap;

	if (w->v->n_steps >= PAL_TRACE_MAX_STEPS)
		return; /* cannot happen with today's stages (at most 9) */
	st = &w->v->steps[w->v->n_steps++];
	memset(st, 0, sizeof(*st));
	st->stage = stage;
	st->endpoint = s ? s->name : NULL;
	st->dir = dir;
	st->outcome = d->outcome;
	st->tier = d->tier;
	st->policy = d->policy;
	st->rule = d->rule;
	va_start(ap, fmt);
	vsnprintf(st->note, sizeof(st->note), fmt, ap);
	va_end(ap);
}

/* ---- verdict bookkeeping ------------------------------------------------------------------- */

static void describe(char *buf, size_t len, enum pal_stage stage, const struct pal_walk_side *s,
		     enum pal_dir dir, const decision_t *d)
{
	const char *epname = s ? s->name : "-";
	const char *act = pal_action_name(d->outcome);

	if (d->rule >= 0 && d->tier)
		snprintf(buf, len, "rule %d (%s) of policy \"%s\" in tier \"%s\", %s %s of %s",
			 d->rule, act, d->policy, d->tier, pal_stage_name(stage), pal_dir_name(dir),
			 epname);
	else if (d->rule >= 0)
		snprintf(buf, len, "rule %d (%s) of profile \"%s\", %s of %s", d->rule, act,
			 d->policy ? d->policy : "?", pal_dir_name(dir), epname);
	else if (d->tier)
		snprintf(buf, len, "no rule of tier \"%s\" acted; the tier ends with %s (%s %s of %s)",
			 d->tier, act, pal_stage_name(stage), pal_dir_name(dir), epname);
	else
		snprintf(buf, len, "%s %s of %s", pal_stage_name(stage), pal_dir_name(dir), epname);
}

/* The verdict names what decided it: the stage, and the decision's tier, policy and rule. */
static void verdict_decided_by(struct pal_verdict *v, enum pal_stage stage, const decision_t *d)
{
	v->stage = stage;
	v->tier = d->tier;
	v->policy = d->policy;
	v->rule = d->rule;
	v->rule_id = d->rule_id;
}

/* The packet is dropped: the verdict is this decision. */
static void settle_deny(struct walk *w, enum pal_stage stage, const struct pal_walk_side *s,
			enum pal_dir dir, const decision_t *d, const char *reason)
{
	struct pal_verdict *v = w->v;

	v->allow = false;
	v->untracked = false;
	verdict_decided_by(v, stage, d);
	v->action = PAL_ACTION_DENY;
	if (reason)
		snprintf(v->reason, sizeof(v->reason), "%s", reason);
	else
		describe(v->reason, sizeof(v->reason), stage, s, dir, d);
}

/* A stage allowed the packet; it is the verdict unless a later stage decides too. */
static void note_allow(struct walk *w, enum pal_stage stage, const struct pal_walk_side *s,
		       enum pal_dir dir, const decision_t *d)
{
	w->have_allow = true;
	w->allow = *d;
	w->allow_stage = stage;
	describe(w->v->reason, sizeof(w->v->reason), stage, s, dir, d);
}

/* The packet went through every stage and was allowed. */
static void settle_allow(struct walk *w, const char *no_rule_reason)
{
	struct pal_verdict *v = w->v;

	v->allow = true;
	v->action = PAL_ACTION_ALLOW;
	if (w->have_allow) {
		verdict_decided_by(v, w->allow_stage, &w->allow);
		/* v->reason was written by note_allow */
	} else {
		verdict_decided_by(v, PAL_STAGE_DEFAULT, &no_decision);
		snprintf(v->reason, sizeof(v->reason), "%s", no_rule_reason);
	}
}

/* Untracked allow: the verdict, with untracked set. */
static void settle_untracked_allow(struct walk *w, const struct pal_walk_side *s,
				   enum pal_dir dir, const decision_t *d)
{
	note_allow(w, PAL_STAGE_UNTRACKED, s, dir, d);
	settle_allow(w, "");
	w->v->untracked = true;
}

/* ---- stages -------------------------------------------------------------------------------- */

static decision_t run(struct walk *w, const struct pal_walk_side *s, enum pal_walk_list list,
		      enum pal_dir dir, bool pre_dnat)
{
	decision_t d = no_decision;

	d.n_tiers = d.n_profiles = -1;
	w->ops->run_list(w->ctx, s, list, dir, w->pkt, pre_dnat, w->v, &d);
	return d;
}

/* An untracked or preDNAT tier list: they see the destination before DNAT and never drop at a
 * tier's end. */
static decision_t stateless_stage(struct walk *w, enum pal_stage stage,
				  const struct pal_walk_side *s, enum pal_dir dir)
{
	decision_t d = run(w, s, stage == PAL_STAGE_UNTRACKED ? PAL_WALK_UNTRACKED : PAL_WALK_PREDNAT,
			   dir, true);

	if (!d.present)
		add_step(w, stage, s, dir, &d, "no %s policy", pal_stage_name(stage));
	else if (d.outcome == PAL_ACTION_PASS)
		add_step(w, stage, s, dir, &d, "no %s rule acted: go on", pal_stage_name(stage));
	else
		add_step(w, stage, s, dir, &d, "%s by %s", pal_action_name(d.outcome),
			 pal_stage_name(stage));
	return d;
}

/* Runs the untracked or preDNAT stage of side s into *d: true when it denied the packet (the
 * verdict is then settled). */
static bool stateless_denies(struct walk *w, enum pal_stage stage, const struct pal_walk_side *s,
			     enum pal_dir dir, decision_t *d)
{
	*d = stateless_stage(w, stage, s, dir);
	if (d->outcome != PAL_ACTION_DENY)
		return false;
	settle_deny(w, stage, s, dir, d, NULL);
	return true;
}

static const char *tiers_passed_note(int n_tiers)
{
	if (n_tiers < 0) /* a flattened list does not say whether it has tiers */
		return "no tier decided: on to the profiles";
	return n_tiers ? "every tier passed: on to the profiles" : "no policy applies";
}

/* Tiers, then profiles, then default deny: the normal policy of a host endpoint and the policy
 * of a workload. Returns the decision and records the stages it visited; PASS only when the list
 * is missing (a datapath without a list on the interface gives no verdict: allowed). */
static decision_t endpoint_policy(struct walk *w, enum pal_stage tier_stage,
				  const struct pal_walk_side *s, enum pal_dir dir)
{
	decision_t d = run(w, s, PAL_WALK_NORMAL, dir, false), pass = no_decision;
	enum pal_stage stage;

	if (!d.present) {
		add_step(w, tier_stage, s, dir, &d, "no rule list on this interface");
		return d;
	}
	if (d.at != PAL_WALK_AT_TIER)
		add_step(w, tier_stage, s, dir, &pass, "%s", tiers_passed_note(d.n_tiers));
	if (d.at == PAL_WALK_AT_DEFAULT) {
		char reason[200];

		add_step(w, PAL_STAGE_PROFILE, s, dir, &pass, "%s",
			 d.n_profiles ? "no profile rule decided" : "no profiles");
		add_step(w, PAL_STAGE_DEFAULT, s, dir, &d, "default deny");
		snprintf(reason, sizeof(reason),
			 "no policy or profile decided for %s of %s: default deny", pal_dir_name(dir),
			 s->name);
		settle_deny(w, PAL_STAGE_DEFAULT, s, dir, &d, reason);
		return d;
	}
	stage = d.at == PAL_WALK_AT_PROFILE ? PAL_STAGE_PROFILE : tier_stage;
	add_step(w, stage, s, dir, &d,
		 d.at == PAL_WALK_AT_PROFILE ? "decided by a profile rule" :
		 d.rule >= 0		     ? "decided by a policy rule" :
					       "end of tier");
	if (d.outcome == PAL_ACTION_DENY)
		settle_deny(w, stage, s, dir, &d, NULL);
	else
		note_allow(w, stage, s, dir, &d);
	return d;
}

/* Forward policy of one host endpoint side: no list = allow for that side, else tiers and, when
 * nothing decides, deny (there are no profiles on the forward path). */
static decision_t forward_stage(struct walk *w, const struct pal_walk_side *s, enum pal_dir dir)
{
	decision_t d = run(w, s, PAL_WALK_FORWARD, dir, false);

	if (!d.present) {
		add_step(w, PAL_STAGE_FORWARD, s, dir, &d, "no forward policy: allowed");
		return d;
	}
	if (d.outcome == PAL_ACTION_PASS) {
		char reason[200];

		d.outcome = PAL_ACTION_DENY;
		add_step(w, PAL_STAGE_FORWARD, s, dir, &d,
			 "forward policy applies but no rule decided: deny");
		snprintf(reason, sizeof(reason),
			 "forward policy applies to %s of %s but every tier passed: deny",
			 pal_dir_name(dir), s->name);
		settle_deny(w, PAL_STAGE_FORWARD, s, dir, &d, reason);
		return d;
	}
	add_step(w, PAL_STAGE_FORWARD, s, dir, &d,
		 d.rule >= 0 ? "decided by a policy rule" : "end of tier");
	if (d.outcome == PAL_ACTION_DENY)
		settle_deny(w, PAL_STAGE_FORWARD, s, dir, &d, NULL);
	else
		note_allow(w, PAL_STAGE_FORWARD, s, dir, &d);
	return d;
}

/* Neighbour discovery (router/neighbour solicitation and advertisement, redirect) is never
 * blocked by host policy (docs/semantics.md section 7). Its code is 0 (RFC 4861): Linux drops
 * another, so such a look-alike meets policy like other ICMPv6 (as bpf/parse.h). */
static bool is_neighbour_discovery(const struct pal_packet *pkt)
{
	return pkt->src.family == PAL_AF_INET6 && pkt->protocol == PAL_PROTO_ICMPV6 &&
	       pkt->icmp_type >= 133 && pkt->icmp_type <= 137 && pkt->icmp_code == 0;
}

/* Neighbour discovery allowed the packet: the verdict. */
static void settle_nd(struct walk *w, const struct pal_walk_side *s, enum pal_dir dir)
{
	decision_t d = no_decision;

	d.outcome = PAL_ACTION_ALLOW;
	add_step(w, PAL_STAGE_FAILSAFE, s, dir, &d, "neighbour discovery is never blocked");
	snprintf(w->v->reason, sizeof(w->v->reason),
		 "ICMPv6 type %u: neighbour discovery is never blocked", w->pkt->icmp_type);
	w->v->allow = true;
	w->v->stage = PAL_STAGE_FAILSAFE;
	w->v->action = PAL_ACTION_ALLOW;
}

/* ND and failsafe, the first stage of host endpoint traffic to or from a local process. True when
 * they allowed the packet (the verdict is settled). */
static bool failsafe_stage(struct walk *w, const struct pal_walk_side *s, enum pal_dir dir)
{
	const struct pal_packet *pkt = w->pkt;
	decision_t d = no_decision;
	char what[80], pb[8];

	if (is_neighbour_discovery(pkt)) {
		settle_nd(w, s, dir);
		return true;
	}
	if (!w->ops->failsafe(w->ctx, dir, pkt, what, sizeof(what))) {
		add_step(w, PAL_STAGE_FAILSAFE, s, dir, &d, "no failsafe port matched");
		return false;
	}
	/* a failsafe port matches on protocol and port: they are the packet's */
	d.outcome = PAL_ACTION_ALLOW;
	add_step(w, PAL_STAGE_FAILSAFE, s, dir, &d, "failsafe %s %s",
		 dir == PAL_DIR_INGRESS ? "in" : "out", what);
	snprintf(w->v->reason, sizeof(w->v->reason), "failsafe port %s %u (%s)",
		 pal_proto_name(pkt->protocol, pb, sizeof(pb)), pkt->dport,
		 dir == PAL_DIR_INGRESS ? "inbound" : "outbound");
	w->v->allow = true;
	w->v->stage = PAL_STAGE_FAILSAFE;
	w->v->action = PAL_ACTION_ALLOW;
	return true;
}

/* A reply of a failsafe connection: its reverse (the packet it answers) matches a failsafe port
 * of the other direction. Inbound: the source port is a failsafe-out port and the source (the
 * remote) is in its net; outbound: the source port is a failsafe-in port and the destination
 * (the remote) is in its net. Calico's raw-table failsafe chains accept these so that a
 * doNotTrack policy cannot cut the failsafe connections in half; they exempt the packet from
 * untracked policy only (it stays tracked and meets the later stages). True when it is one (the
 * step is recorded). */
static bool failsafe_reply(struct walk *w, const struct pal_walk_side *s, enum pal_dir dir)
{
	const struct pal_packet *pkt = w->pkt;
	struct pal_packet rev = *pkt;
	decision_t d = no_decision;
	char what[80];

	rev.src = pkt->dst;
	rev.dst = pkt->src;
	rev.sport = pkt->dport;
	rev.dport = pkt->sport;
	rev.has_dnat = false;
	if (!w->ops->failsafe(w->ctx, dir == PAL_DIR_INGRESS ? PAL_DIR_EGRESS : PAL_DIR_INGRESS,
			      &rev, what, sizeof(what)))
		return false;
	add_step(w, PAL_STAGE_UNTRACKED, s, dir, &d,
		 "reply of failsafe-%s %s: untracked policy does not apply",
		 dir == PAL_DIR_INGRESS ? "out" : "in", what);
	return true;
}

/* Host endpoint traffic to (ingress) or from (egress) a local process: failsafe, untracked
 * (not for failsafe replies), preDNAT (ingress only), then the normal policy. The stateless
 * stages see the destination the packet had before NAT: untracked egress runs in raw OUTPUT,
 * preDNAT before kube-proxy's DNAT (the NodePort). */
static void host_local(struct walk *w, const struct pal_walk_side *s, enum pal_dir dir)
{
	decision_t d = no_decision;

	if (failsafe_stage(w, s, dir))
		return;
	if (!failsafe_reply(w, s, dir))
		d = stateless_stage(w, PAL_STAGE_UNTRACKED, s, dir);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(w, PAL_STAGE_UNTRACKED, s, dir, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		settle_untracked_allow(w, s, dir, &d);
		return;
	}
	if (dir == PAL_DIR_INGRESS) {
		if (stateless_denies(w, PAL_STAGE_PREDNAT, s, dir, &d))
			return;
		if (d.outcome == PAL_ACTION_ALLOW) {
			note_allow(w, PAL_STAGE_PREDNAT, s, dir, &d);
			settle_allow(w, "");
			return;
		}
	}
	d = endpoint_policy(w, PAL_STAGE_NORMAL, s, dir);
	if (d.outcome != PAL_ACTION_DENY)
		settle_allow(w, "no rule list on this interface");
}

/* Sources a workload may use before it has an address, as the kernel's rpfilter match accepts
 * them (bpf/srccheck.h has the same rule): IPv4 0.0.0.0/8 to the limited broadcast or
 * 224.0.0.0/24 (DHCP), IPv6 :: (duplicate address detection, MLD) and fe80::/10 (link-local:
 * never forwarded, it can only reach the host). */
static bool source_exempt(const struct pal_packet *pkt)
{
	const uint8_t *s = pkt->src.bytes, *d = pkt->dst.bytes;
	static const uint8_t zero[16];

	if (pkt->src.family == PAL_AF_INET4)
		return s[0] == 0 && ((d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255) ||
				     (d[0] == 224 && d[1] == 0 && d[2] == 0));
	return (s[0] == 0xfe && (s[1] & 0xc0) == 0x80) || memcmp(s, zero, 16) == 0;
}

/* Anti-spoofing, first for every packet a workload sends (tc ingress of its interface): a
 * source that is not the workload's is dropped before any policy. True when it was dropped. */
static bool source_check(struct walk *w, const struct pal_walk_side *s)
{
	decision_t d = no_decision;
	char reason[200], src[64];

	if (source_exempt(w->pkt) || w->ops->source_ok(w->ctx, s, w->pkt))
		return false;
	d.outcome = PAL_ACTION_DENY;
	pal_addr_str(&w->pkt->src, src);
	add_step(w, PAL_STAGE_SOURCE, s, PAL_DIR_EGRESS, &d,
		 "source %s is not an address of the workload: spoofed", src);
	snprintf(reason, sizeof(reason),
		 "spoofed source: %s is neither an address of %s nor in its "
		 "allowSpoofedSourcePrefixes", src, s->name);
	settle_deny(w, PAL_STAGE_SOURCE, s, PAL_DIR_EGRESS, &d, reason);
	return true;
}

/* The packet to or from the host crosses an interface without an endpoint: allowed. */
static void settle_unpoliced(struct walk *w, enum pal_dir dir)
{
	decision_t d = no_decision;

	add_step(w, PAL_STAGE_DEFAULT, NULL, dir, &d, "no endpoint: not policed");
	settle_allow(w, "no endpoint on this interface: not policed");
}

/* A workload's packet to its host, arriving on the workload's interface (side a): the source
 * check, neighbour discovery (always allowed), the workload's egress policy, then
 * --endpoint-to-host-action. */
static void workload_to_host(struct walk *w, const struct pal_walk_side *a)
{
	decision_t d;

	if (source_check(w, a))
		return;
	/* Neighbour discovery from a workload to its host (resolving its gateway, answering
	 * the host's solicitations) is never blocked either, before the workload's policy
	 * and the endpoint-to-host action, as Calico's workload-to-host chain does: without
	 * it no IPv6 traffic could reach or leave a pod. */
	if (is_neighbour_discovery(w->pkt)) {
		settle_nd(w, a, PAL_DIR_EGRESS);
		return;
	}
	/* Workload to its host: its egress policy, then --endpoint-to-host-action. */
	d = endpoint_policy(w, PAL_STAGE_WORKLOAD, a, PAL_DIR_EGRESS);
	if (d.outcome == PAL_ACTION_DENY)
		return;
	d = no_decision;
	if (w->ops->endpoint_to_host_drop) {
		d.outcome = PAL_ACTION_DENY;
		add_step(w, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d, "endpoint-to-host-action drop");
		settle_deny(w, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d,
			    "workload to host: --endpoint-to-host-action is drop");
		return;
	}
	add_step(w, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d, "endpoint-to-host-action accept");
	settle_allow(w, "");
}

/* The host's packet to a local workload (egress of side b): always allowed. */
static void host_to_workload(struct walk *w, const struct pal_walk_side *b)
{
	decision_t d = no_decision;

	add_step(w, PAL_STAGE_DEFAULT, b, PAL_DIR_INGRESS, &d,
		 "host to local workload is always allowed");
	settle_allow(w, "host to local workload is always allowed");
}

/* Arrives on the interface of side s for the host (dir INGRESS), or is sent by a local process
 * out of it (EGRESS). */
static void walk_host(struct walk *w, const struct pal_walk_side *s, enum pal_dir dir)
{
	if (!s->ep)
		settle_unpoliced(w, dir);
	else if (s->workload && dir == PAL_DIR_INGRESS)
		workload_to_host(w, s);
	else if (s->workload)
		host_to_workload(w, s);
	else
		host_local(w, s, dir);
}

/* Arrives on the interface of side a, routed out of the one of side b. */
static void walk_forward(struct walk *w, const struct pal_walk_side *a,
			 const struct pal_walk_side *b)
{
	decision_t d = no_decision;
	bool untracked = false;

	/* The ingress side. */
	if (!a->ep) {
		add_step(w, PAL_STAGE_DEFAULT, NULL, PAL_DIR_INGRESS, &d,
			 "no endpoint on the incoming interface: not policed");
	} else if (!a->workload) {
		if (stateless_denies(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d))
			return;
		if (d.outcome == PAL_ACTION_ALLOW) {
			/* Untracked allow skips preDNAT and forward host policy (both sides);
			 * workload policy still applies. */
			untracked = true;
			note_allow(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d);
		} else {
			if (stateless_denies(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d))
				return;
			if (d.outcome == PAL_ACTION_ALLOW) {
				/* preDNAT allow ends host policy for the ingress side. */
				note_allow(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d);
			} else {
				d = forward_stage(w, a, PAL_DIR_INGRESS);
				if (d.outcome == PAL_ACTION_DENY)
					return;
			}
		}
	} else {
		if (source_check(w, a))
			return;
		d = endpoint_policy(w, PAL_STAGE_WORKLOAD, a, PAL_DIR_EGRESS);
		if (d.outcome == PAL_ACTION_DENY)
			return;
	}

	/* The egress side. */
	d = no_decision;
	if (!b->ep) {
		add_step(w, PAL_STAGE_DEFAULT, NULL, PAL_DIR_EGRESS, &d,
			 "no endpoint on the outgoing interface: not policed");
	} else if (!b->workload) {
		if (untracked) {
			add_step(w, PAL_STAGE_FORWARD, b, PAL_DIR_EGRESS, &d,
				 "skipped: allowed by untracked policy");
		} else {
			d = forward_stage(w, b, PAL_DIR_EGRESS);
			if (d.outcome == PAL_ACTION_DENY)
				return;
		}
	} else {
		d = endpoint_policy(w, PAL_STAGE_WORKLOAD, b, PAL_DIR_INGRESS);
		if (d.outcome == PAL_ACTION_DENY)
			return;
	}
	settle_allow(w, "forwarded: no policy applies on either side");
	w->v->untracked = untracked;
}

void pal_walk_stages(const struct pal_walk_ops *ops, void *ctx, enum pal_trace_dir dir,
		     const struct pal_walk_side *in, const struct pal_walk_side *out,
		     const struct pal_packet *pkt, struct pal_verdict *v)
{
	struct walk w = { .ops = ops, .ctx = ctx, .pkt = pkt, .v = v };

	memset(v, 0, sizeof(*v));
	verdict_decided_by(v, PAL_STAGE_DEFAULT, &no_decision);
	v->action = PAL_ACTION_DENY;
	switch (dir) {
	case PAL_TRACE_INGRESS:
		walk_host(&w, in, PAL_DIR_INGRESS);
		break;
	case PAL_TRACE_EGRESS:
		walk_host(&w, in, PAL_DIR_EGRESS);
		break;
	case PAL_TRACE_FORWARD:
		walk_forward(&w, in, out);
		break;
	}
}
