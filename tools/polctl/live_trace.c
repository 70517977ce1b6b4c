/* `polctl trace` on the live datapath.
 *
 * HOW. The stage walk of the programs (bpf/palisade.bpf.c, bpf/sf_out.bpf.c; the same walk as
 * agent/core/evaluator.c, which the BPF tests check them against) over the pinned maps: the
 * interfaces' current rule lists (pal_ifaces), the datapath's own classifier run in userspace on
 * those lists (live_classify.c), the pinned failsafe trie and pal_config. The names of the deciding
 * tier, policy and rule come from the metadata the agent wrote for that generation (meta.h). The
 * answer has the shape of the offline trace (a struct pal_verdict), so both print alike and can be
 * compared field by field.
 *
 * WHY NOT BPF_PROG_TEST_RUN. Running the real programs on a crafted packet would be the most
 * faithful, but today they report the deciding rule only through side effects on live state: an
 * allowed packet enters pal_flows (its rule_id and stage are in the flow), a denied one emits a
 * pal_events record (taken away from `polctl monitor` and the agent), and both bump the rule and
 * interface counters. A trace must not do that. What would make it possible: a per-CPU
 * `pal_trace` map and a trace flag the test run can set (e.g. skb->cb[0] / XDP metadata magic)
 * under which the programs record (hook, stage, list, entry, rule_id) per stage there and skip
 * counters, events and flow inserts. Until then this walk reads exactly what the programs read,
 * and changes nothing: no flow entry, no counter, no event.
 *
 * Not modelled (the trace answers for a new flow, like the offline one): established flows
 * (pal_flows, conntrack) that would accept the packet before policy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "live.h"

struct decision {
	enum pal_action outcome; /* ALLOW, DENY, or PASS = no decision */
	enum pal_stage stage;    /* the stage that decided (profile/default from the entry kind) */
	const char *tier, *policy;
	int rule;
	uint32_t rule_id;
	uint8_t kind; /* enum pal_entry_kind of the deciding entry */
};

static const struct decision no_decision = { .outcome = PAL_ACTION_PASS, .rule = -1,
					     .rule_id = UINT32_MAX };

/* One end of the packet's path: an interface and its pal_ifaces entry. */
struct side {
	uint32_t ifindex;
	bool policed;
	struct pal_iface v;
	const char *name; /* endpoint name from the metadata, else the interface name */
	char ifname[IF_NAMESIZE + 8];
};

struct walk {
	const struct polctl_live *lv;
	struct pal_verdict *v;
	struct live_pkt pre, post; /* before and after DNAT */
	bool have_allow;
	struct decision allow;
	enum pal_stage allow_stage;
	const char *allow_endpoint;
	enum pal_dir allow_dir;
};

static void add_step(struct walk *w, enum pal_stage stage, const struct side *s, enum pal_dir dir,
		     const struct decision *d, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void add_step(struct walk *w, enum pal_stage stage, const struct side *s, enum pal_dir dir,
		     const struct decision *d, const char *fmt, ...)
{
	struct pal_trace_step *st;
	va_list ap;

	if (w->v->n_steps >= PAL_TRACE_MAX_STEPS)
		return;
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

static void describe(char *buf, size_t len, enum pal_stage stage, const struct side *s,
		     enum pal_dir dir, const struct decision *d)
{
	const char *ep = s ? s->name : "-";
	const char *act = pal_action_name(d->outcome);

	if (d->rule >= 0 && d->tier)
		snprintf(buf, len, "rule %d (%s) of policy \"%s\" in tier \"%s\", %s %s of %s",
			 d->rule, act, d->policy, d->tier, pal_stage_name(stage), pal_dir_name(dir),
			 ep);
	else if (d->rule >= 0)
		snprintf(buf, len, "rule %d (%s) of profile \"%s\", %s of %s", d->rule, act,
			 d->policy ? d->policy : "?", pal_dir_name(dir), ep);
	else if (d->tier)
		snprintf(buf, len, "no rule of tier \"%s\" acted; the tier ends with %s (%s %s of %s)",
			 d->tier, act, pal_stage_name(stage), pal_dir_name(dir), ep);
	else
		snprintf(buf, len, "%s %s of %s", pal_stage_name(stage), pal_dir_name(dir), ep);
}

static void settle_deny(struct walk *w, enum pal_stage stage, const struct side *s,
			enum pal_dir dir, const struct decision *d, const char *reason)
{
	struct pal_verdict *v = w->v;

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
		describe(v->reason, sizeof(v->reason), stage, s, dir, d);
}

static void note_allow(struct walk *w, enum pal_stage stage, const struct side *s, enum pal_dir dir,
		       const struct decision *d)
{
	w->have_allow = true;
	w->allow = *d;
	w->allow_stage = stage;
	w->allow_endpoint = s ? s->name : NULL;
	w->allow_dir = dir;
	describe(w->v->reason, sizeof(w->v->reason), stage, s, dir, d);
}

static void settle_allow(struct walk *w, const char *no_rule_reason)
{
	struct pal_verdict *v = w->v;

	v->allow = true;
	v->action = PAL_ACTION_ALLOW;
	if (w->have_allow) {
		v->stage = w->allow_stage;
		v->tier = w->allow.tier;
		v->policy = w->allow.policy;
		v->rule = w->allow.rule;
		v->rule_id = w->allow.rule_id;
	} else {
		v->stage = PAL_STAGE_DEFAULT;
		v->tier = v->policy = NULL;
		v->rule = -1;
		v->rule_id = UINT32_MAX;
		snprintf(v->reason, sizeof(v->reason), "%s", no_rule_reason);
	}
}

/* Runs the list in `slot` of side s as `stage` on packet p. *present: the slot has a list. */
static struct decision run_slot(struct walk *w, const struct side *s, enum pal_slot slot,
				enum pal_stage stage, const struct live_pkt *p, bool *present)
{
	struct decision d = no_decision;
	struct live_cls c;
	uint32_t list = s->policed ? s->v.lists[slot] : 0;
	json_t *rule;

	d.stage = stage;
	*present = list != 0;
	if (!list)
		return d;
	live_classify(w->lv, list, p, &c);
	for (uint32_t i = 0; i < c.n_logged && w->v->n_logged < PAL_TRACE_MAX_LOGS; i++)
		w->v->logged_rule_ids[w->v->n_logged++] = c.logged[i];
	switch (c.status) {
	case LIVE_CLS_NOMATCH:
		return d;
	case LIVE_CLS_VERDICT:
		break;
	default: /* the programs drop these (internal-error, classifier-overflow) */
		d.outcome = PAL_ACTION_DENY;
		d.tier = c.status == LIVE_CLS_OVERFLOW ? "(classifier overflow)" :
							"(internal error: tables inconsistent)";
		return d;
	}
	d.outcome = c.e.action == PAL_ACT_ALLOW ? PAL_ACTION_ALLOW : PAL_ACTION_DENY;
	d.kind = c.e.kind;
	d.rule_id = c.e.rule_id;
	rule = live_meta_rule(w->lv, c.e.rule_id);
	switch (c.e.kind) {
	case PAL_KIND_RULE:
		d.tier = live_meta_tier(w->lv, s->v.endpoint_id, s->v.flags, slot, c.e.tier);
		d.policy = json_string_value(json_object_get(rule, "policy"));
		d.rule = rule ? (int)json_integer_value(json_object_get(rule, "index")) : -1;
		if (!d.policy)
			d.policy = "(no metadata)";
		break;
	case PAL_KIND_PROFILE_RULE:
		d.stage = PAL_STAGE_PROFILE;
		d.policy = json_string_value(json_object_get(rule, "policy"));
		d.rule = rule ? (int)json_integer_value(json_object_get(rule, "index")) : -1;
		if (!d.policy)
			d.policy = "(no metadata)";
		break;
	case PAL_KIND_TIER_END:
		d.tier = live_meta_tier(w->lv, s->v.endpoint_id, s->v.flags, slot, c.e.tier);
		if (!d.tier)
			d.tier = "(no metadata)";
		break;
	default: /* PAL_KIND_DEFAULT */
		d.stage = PAL_STAGE_DEFAULT;
		break;
	}
	return d;
}

/* Untracked or preDNAT: a list without a verdict goes on. */
static struct decision stateless_stage(struct walk *w, enum pal_stage stage, const struct side *s,
				       enum pal_dir dir, enum pal_slot slot)
{
	bool present;
	struct decision d = run_slot(w, s, slot, stage, &w->pre, &present);

	if (!present)
		add_step(w, stage, s, dir, &d, "no %s policy", pal_stage_name(stage));
	else if (d.outcome == PAL_ACTION_PASS)
		add_step(w, stage, s, dir, &d, "no %s rule acted: go on", pal_stage_name(stage));
	else
		add_step(w, stage, s, dir, &d, "%s by %s", pal_action_name(d.outcome),
			 pal_stage_name(stage));
	return d;
}

/* Normal host policy or a workload's policy: tiers, profiles, default deny in one list. */
static struct decision endpoint_policy(struct walk *w, enum pal_stage tier_stage,
				       const struct side *s, enum pal_dir dir, enum pal_slot slot)
{
	bool present;
	struct decision d = run_slot(w, s, slot, tier_stage, &w->post, &present), pass = no_decision;

	if (!present) { /* the programs treat a missing list as no verdict: allowed */
		add_step(w, tier_stage, s, dir, &d, "no rule list on this interface");
		return d;
	}
	if (d.outcome == PAL_ACTION_PASS) { /* cannot happen: the list ends in a default deny */
		d.outcome = PAL_ACTION_DENY;
		d.tier = "(internal error: list without an end)";
	}
	if (d.stage == PAL_STAGE_PROFILE || d.stage == PAL_STAGE_DEFAULT)
		add_step(w, tier_stage, s, dir, &pass, "no tier decided: on to the profiles");
	if (d.stage == PAL_STAGE_DEFAULT) {
		char reason[200];

		add_step(w, PAL_STAGE_PROFILE, s, dir, &pass, "no profile rule decided");
		add_step(w, PAL_STAGE_DEFAULT, s, dir, &d, "default deny");
		snprintf(reason, sizeof(reason),
			 "no policy or profile decided for %s of %s: default deny", pal_dir_name(dir),
			 s->name);
		settle_deny(w, PAL_STAGE_DEFAULT, s, dir, &d, reason);
		return d;
	}
	add_step(w, d.stage, s, dir, &d,
		 d.stage == PAL_STAGE_PROFILE ? "decided by a profile rule" :
		 d.rule >= 0		      ? "decided by a policy rule" :
					        "end of tier");
	if (d.outcome == PAL_ACTION_DENY)
		settle_deny(w, d.stage, s, dir, &d, NULL);
	else
		note_allow(w, d.stage, s, dir, &d);
	return d;
}

/* Forward policy of one host endpoint side: no list = allowed; a list without a verdict denies. */
static struct decision forward_stage(struct walk *w, const struct side *s, enum pal_dir dir)
{
	enum pal_slot slot = dir == PAL_DIR_INGRESS ? PAL_SLOT_FORWARD_IN : PAL_SLOT_FORWARD_OUT;
	bool present;
	struct decision d = run_slot(w, s, slot, PAL_STAGE_FORWARD, &w->post, &present);

	if (!present) {
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

/* IPv6 neighbour discovery (bpf/parse.h always_pass): never blocked on the host's own traffic. */
static bool is_nd(const struct live_pkt *p)
{
	return p->proto == PAL_PROTO_ICMPV6 && p->is_icmp && p->icmp_type >= 133 &&
	       p->icmp_type <= 137;
}

/* ND and the pinned failsafe trie (bpf/stages.h pal_hep_pre_in, sf_out.bpf.c). */
static bool failsafe_stage(struct walk *w, const struct side *s, enum pal_dir dir)
{
	const struct live_pkt *p = &w->pre;
	struct decision d = no_decision;
	struct pal_failsafe_key k;
	uint32_t val;

	if (is_nd(p)) {
		d.outcome = PAL_ACTION_ALLOW;
		add_step(w, PAL_STAGE_FAILSAFE, s, dir, &d, "neighbour discovery is never blocked");
		snprintf(w->v->reason, sizeof(w->v->reason),
			 "ICMPv6 type %u: neighbour discovery is never blocked", p->icmp_type);
		goto allowed;
	}
	memset(&k, 0, sizeof(k));
	k.dir = dir == PAL_DIR_INGRESS ? PAL_FAILSAFE_IN : PAL_FAILSAFE_OUT;
	k.proto = p->proto;
	k.port = p->dport;
	k.family = p->family;
	memcpy(k.addr, dir == PAL_DIR_INGRESS ? p->src : p->dst, 16);
	k.prefixlen = PAL_FAILSAFE_FIXED_BITS + (p->family == 4 ? 32 : 128);
	if (!p->has_ports || (p->proto != PAL_PROTO_TCP && p->proto != PAL_PROTO_UDP) ||
	    bpf_map_lookup_elem(w->lv->fd[LM_FAILSAFE], &k, &val)) {
		add_step(w, PAL_STAGE_FAILSAFE, s, dir, &d, "no failsafe port matched");
		return false;
	}
	d.outcome = PAL_ACTION_ALLOW;
	add_step(w, PAL_STAGE_FAILSAFE, s, dir, &d, "failsafe %s %s:%u",
		 dir == PAL_DIR_INGRESS ? "in" : "out", p->proto == PAL_PROTO_TCP ? "tcp" : "udp",
		 p->dport);
	snprintf(w->v->reason, sizeof(w->v->reason), "failsafe port %s %u (%s)",
		 p->proto == PAL_PROTO_TCP ? "tcp" : "udp", p->dport,
		 dir == PAL_DIR_INGRESS ? "inbound" : "outbound");
allowed:
	w->v->allow = true;
	w->v->stage = PAL_STAGE_FAILSAFE;
	w->v->action = PAL_ACTION_ALLOW;
	return true;
}

static void eval_ingress(struct walk *w, const struct side *a)
{
	struct decision d = no_decision;

	if (!a->policed) {
		add_step(w, PAL_STAGE_DEFAULT, NULL, PAL_DIR_INGRESS, &d, "no endpoint: not policed");
		settle_allow(w, "no endpoint on this interface: not policed");
		return;
	}
	if (a->v.flags & PAL_IF_WORKLOAD) {
		/* filter INPUT: neighbour discovery passes (sf_input_deny's always_pass), then the
		 * workload's egress policy, then --endpoint-to-host-action */
		if (is_nd(&w->pre)) {
			d.outcome = PAL_ACTION_ALLOW;
			add_step(w, PAL_STAGE_FAILSAFE, a, PAL_DIR_EGRESS, &d,
				 "neighbour discovery is never blocked");
			snprintf(w->v->reason, sizeof(w->v->reason),
				 "ICMPv6 type %u: neighbour discovery is never blocked",
				 w->pre.icmp_type);
			w->v->allow = true;
			w->v->stage = PAL_STAGE_FAILSAFE;
			w->v->action = PAL_ACTION_ALLOW;
			return;
		}
		d = endpoint_policy(w, PAL_STAGE_WORKLOAD, a, PAL_DIR_EGRESS, PAL_SLOT_NORMAL_OUT);
		if (d.outcome == PAL_ACTION_DENY)
			return;
		d = no_decision;
		if (!(w->lv->cfg.flags & PAL_CFG_EP_TO_HOST_ACCEPT)) {
			d.outcome = PAL_ACTION_DENY;
			add_step(w, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d,
				 "endpoint-to-host-action drop");
			settle_deny(w, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d,
				    "workload to host: --endpoint-to-host-action is drop");
			return;
		}
		add_step(w, PAL_STAGE_DEFAULT, a, PAL_DIR_EGRESS, &d, "endpoint-to-host-action accept");
		settle_allow(w, "");
		return;
	}
	/* XDP (or tc ingress): failsafe-in, untracked ingress */
	if (failsafe_stage(w, a, PAL_DIR_INGRESS))
		return;
	d = stateless_stage(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, PAL_SLOT_UNTRACKED_IN);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		note_allow(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d);
		settle_allow(w, "");
		w->v->untracked = true;
		return;
	}
	/* tc ingress: preDNAT on the destination as it arrived */
	d = stateless_stage(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, PAL_SLOT_PREDNAT_IN);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		note_allow(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d);
		settle_allow(w, "");
		return;
	}
	/* filter INPUT, after DNAT */
	d = endpoint_policy(w, PAL_STAGE_NORMAL, a, PAL_DIR_INGRESS, PAL_SLOT_NORMAL_IN);
	if (d.outcome != PAL_ACTION_DENY)
		settle_allow(w, "no rule list on this interface");
}

static void eval_egress(struct walk *w, const struct side *b)
{
	struct decision d = no_decision;

	if (!b->policed) {
		add_step(w, PAL_STAGE_DEFAULT, NULL, PAL_DIR_EGRESS, &d, "no endpoint: not policed");
		settle_allow(w, "no endpoint on this interface: not policed");
		return;
	}
	if (b->v.flags & PAL_IF_WORKLOAD) {
		add_step(w, PAL_STAGE_DEFAULT, b, PAL_DIR_INGRESS, &d,
			 "host to local workload is always allowed");
		settle_allow(w, "host to local workload is always allowed");
		return;
	}
	/* raw OUTPUT: failsafe-out and untracked egress on the destination the process chose */
	if (failsafe_stage(w, b, PAL_DIR_EGRESS))
		return;
	d = stateless_stage(w, PAL_STAGE_UNTRACKED, b, PAL_DIR_EGRESS, PAL_SLOT_UNTRACKED_OUT);
	if (d.outcome == PAL_ACTION_DENY) {
		settle_deny(w, PAL_STAGE_UNTRACKED, b, PAL_DIR_EGRESS, &d, NULL);
		return;
	}
	if (d.outcome == PAL_ACTION_ALLOW) {
		note_allow(w, PAL_STAGE_UNTRACKED, b, PAL_DIR_EGRESS, &d);
		settle_allow(w, "");
		w->v->untracked = true;
		return;
	}
	/* tc egress, after DNAT */
	d = endpoint_policy(w, PAL_STAGE_NORMAL, b, PAL_DIR_EGRESS, PAL_SLOT_NORMAL_OUT);
	if (d.outcome != PAL_ACTION_DENY)
		settle_allow(w, "no rule list on this interface");
}

static void eval_forward(struct walk *w, const struct side *a, const struct side *b)
{
	struct decision d = no_decision;
	bool untracked = false;

	/* the ingress side: XDP/tc ingress of a (untracked, preDNAT), then at tc egress of b the
	 * forward ingress policy of a, or a workload's egress policy */
	if (!a->policed) {
		add_step(w, PAL_STAGE_DEFAULT, NULL, PAL_DIR_INGRESS, &d,
			 "no endpoint on the incoming interface: not policed");
	} else if (a->v.flags & PAL_IF_HOST) {
		d = stateless_stage(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, PAL_SLOT_UNTRACKED_IN);
		if (d.outcome == PAL_ACTION_DENY) {
			settle_deny(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d, NULL);
			return;
		}
		if (d.outcome == PAL_ACTION_ALLOW) {
			untracked = true;
			note_allow(w, PAL_STAGE_UNTRACKED, a, PAL_DIR_INGRESS, &d);
		} else {
			d = stateless_stage(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS,
					    PAL_SLOT_PREDNAT_IN);
			if (d.outcome == PAL_ACTION_DENY) {
				settle_deny(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d, NULL);
				return;
			}
			if (d.outcome == PAL_ACTION_ALLOW) {
				note_allow(w, PAL_STAGE_PREDNAT, a, PAL_DIR_INGRESS, &d);
			} else {
				d = forward_stage(w, a, PAL_DIR_INGRESS);
				if (d.outcome == PAL_ACTION_DENY)
					return;
			}
		}
	} else {
		d = endpoint_policy(w, PAL_STAGE_WORKLOAD, a, PAL_DIR_EGRESS, PAL_SLOT_NORMAL_OUT);
		if (d.outcome == PAL_ACTION_DENY)
			return;
	}

	/* the egress side, at tc egress of b */
	d = no_decision;
	if (!b->policed) {
		add_step(w, PAL_STAGE_DEFAULT, NULL, PAL_DIR_EGRESS, &d,
			 "no endpoint on the outgoing interface: not policed");
	} else if (b->v.flags & PAL_IF_HOST) {
		if (untracked) {
			add_step(w, PAL_STAGE_FORWARD, b, PAL_DIR_EGRESS, &d,
				 "skipped: allowed by untracked policy");
		} else {
			d = forward_stage(w, b, PAL_DIR_EGRESS);
			if (d.outcome == PAL_ACTION_DENY)
				return;
		}
	} else {
		d = endpoint_policy(w, PAL_STAGE_WORKLOAD, b, PAL_DIR_INGRESS, PAL_SLOT_NORMAL_IN);
		if (d.outcome == PAL_ACTION_DENY)
			return;
	}
	settle_allow(w, "forwarded: no policy applies on either side");
	w->v->untracked = untracked;
}

static int side_open(const struct polctl_globals *g, const struct polctl_live *lv,
		     const char *ifname, struct side *s)
{
	memset(s, 0, sizeof(*s));
	s->ifindex = if_nametoindex(ifname);
	if (!s->ifindex)
		return polctl_fail(g, "trace: no interface \"%s\" in this network namespace (run "
				      "polctl in the agent's namespace, e.g. nsenter --net)", ifname);
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->policed = bpf_map_lookup_elem(lv->fd[LM_IFACES], &s->ifindex, &s->v) == 0;
	s->name = s->ifname;
	if (s->policed) {
		json_t *ep = live_meta_endpoint(lv, s->v.endpoint_id);
		const char *n = json_string_value(json_object_get(ep, "name"));

		if (n)
			s->name = n;
	}
	return 0;
}

static void to_live_pkt(const struct pal_packet *in, const struct pal_addr *dst, uint16_t dport,
			struct live_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->family = in->src.family == PAL_AF_INET6 ? 6 : 4;
	p->proto = in->protocol;
	memcpy(p->src, in->src.bytes, 16);
	memcpy(p->dst, dst->bytes, 16);
	if (p->family == 4) { /* bpf/parse.h: the IPv4 address in the first 4 bytes, rest zero */
		memset(p->src + 4, 0, 12);
		memset(p->dst + 4, 0, 12);
	}
	/* ports and ICMP keys exactly where bpf/parse.h extracts them */
	p->has_ports = in->protocol == PAL_PROTO_TCP || in->protocol == PAL_PROTO_UDP ||
		       in->protocol == PAL_PROTO_SCTP;
	if (p->has_ports) {
		p->sport = in->sport;
		p->dport = dport;
	}
	p->is_icmp = in->protocol == PAL_PROTO_ICMP || in->protocol == PAL_PROTO_ICMPV6;
	if (p->is_icmp) {
		p->icmp_type = in->icmp_type;
		p->icmp_code = in->icmp_code;
	}
}

/* Did the interface flip to other lists while the walk read them? (An apply deletes the old lists
 * a grace period after the flip; a userspace reader is not covered by that grace period.) */
static bool side_changed(const struct polctl_live *lv, const struct side *s)
{
	struct pal_iface now;
	bool policed = bpf_map_lookup_elem(lv->fd[LM_IFACES], &s->ifindex, &now) == 0;

	return policed != s->policed || (policed && memcmp(&now, &s->v, sizeof(now)) != 0);
}

int live_trace(const struct polctl_globals *g, const struct polctl_live *lv,
	       enum pal_trace_dir dir, const char *in_iface, const char *out_iface,
	       const struct pal_packet *pkt, struct pal_verdict *v)
{
	bool fwd = dir == PAL_TRACE_FORWARD;
	struct side a, b;
	int rc;

	for (int attempt = 1;; attempt++) {
		struct walk w = { .lv = lv, .v = v };

		memset(v, 0, sizeof(*v));
		v->rule = -1;
		v->rule_id = UINT32_MAX;
		if ((rc = side_open(g, lv, in_iface, &a)))
			return rc;
		if (fwd && (rc = side_open(g, lv, out_iface, &b)))
			return rc;
		to_live_pkt(pkt, &pkt->dst, pkt->dport, &w.pre);
		to_live_pkt(pkt, pkt->has_dnat ? &pkt->dnat_dst : &pkt->dst,
			    pkt->has_dnat ? pkt->dnat_dport : pkt->dport, &w.post);
		switch (dir) {
		case PAL_TRACE_INGRESS: eval_ingress(&w, &a); break;
		case PAL_TRACE_EGRESS: eval_egress(&w, &a); break;
		default: eval_forward(&w, &a, &b); break;
		}
		if (!side_changed(lv, &a) && !(fwd && side_changed(lv, &b)))
			break;
		if (attempt == 5) {
			fprintf(stderr, "polctl: warning: the interfaces' rule lists changed during "
					"each of 5 traces (policy updates in progress); this answer may "
					"mix two generations\n");
			break;
		}
	}
	/* the step and verdict strings point into lv->meta or into a and b: make the side names
	 * that are interface names (no metadata) outlive this frame */
	for (size_t i = 0; i < v->n_steps; i++)
		if (v->steps[i].endpoint == a.ifname || (fwd && v->steps[i].endpoint == b.ifname))
			v->steps[i].endpoint = v->steps[i].endpoint == a.ifname ? in_iface : out_iface;
	return 0;
}
