/* Is this packet part of a flow palisade admitted, under the policy in force now?
 *
 * pal_flow_check() is what every hook asks before policy: it looks the packet's tuple up in
 * pal_flows (tc hooks also through conntrack's other tuple, flow.h), applies the lifecycle (a
 * SYN without ACK, an idle-expired entry: absent) and, when the entry was admitted under an older
 * policy generation, re-judges the flow in place: the flow's ORIGINAL-direction tuple is
 * classified again through the stages of the context that admitted it (the admitting hook, its
 * interfaces, what preDNAT decided), whatever hook and direction this packet is on. So a reply
 * to a silent client keeps flowing after an unrelated policy change, and a deny cuts the flow in
 * both directions from its next packet. See docs/datapath.md "Flow state".
 */
#ifndef PAL_BPF_FLOW_JUDGE_H
#define PAL_BPF_FLOW_JUDGE_H

#include "flow.h"
#include "stages.h"

/* What pal_flow_check() answers. */
#define PAL_EST_NO 0   /* not part of an admitted flow: policy decides */
#define PAL_EST_YES 1  /* established or related: accept */
#define PAL_EST_DROP 2 /* a flow the policy now denies: drop (reason and stage in the outcome) */
#define PAL_EST_REJUDGE 3 /* stale: the hook tail-calls the re-judge program (handed off) */

/* One stage of the replay: quiet (no rule counters or Log events: the packet being judged is not
 * this one), with the classifier request in scratch (pal_run_list's is on the stack, which this
 * deep in the call chain has no room for). As pal_post_stage: a list without a verdict denies.
 * Returns 1 when denied. */
static __always_inline int pal_replay_stage(const struct pal_hookctx *h, __u32 list_id, __u8 stage,
				       struct pal_flow_scratch *s, struct pal_outcome *o)
{
	struct pal_cls_req *req = &s->req;

	o->what = PAL_O_NONE;
	o->reason = PAL_DROP_NONE;
	o->stage = stage;
	o->rule_id = PAL_RULE_ID_NONE;
	if (!list_id)
		return 0;
	__builtin_memset(req, 0, sizeof(*req));
	req->list_id = list_id;
	req->ifindex = h->ifindex;
	req->slot = h->slot;
	req->hook = h->hook;
	req->stage = stage;
	req->quiet = 1;
	pal_classify(req, &s->q);
	if (req->status == PAL_CLS_STATUS_VERDICT) {
		o->rule_id = req->rule_id;
		if (req->kind == PAL_KIND_PROFILE_RULE)
			o->stage = PAL_DP_STAGE_PROFILE;
		else if (req->kind == PAL_KIND_DEFAULT)
			o->stage = PAL_DP_STAGE_DEFAULT;
		if (req->action == PAL_ACT_ALLOW) {
			o->what = PAL_O_ALLOW;
		} else {
			o->what = PAL_O_DENY;
			o->reason = req->kind == PAL_KIND_TIER_END ? PAL_DROP_TIER_END :
				    req->kind == PAL_KIND_DEFAULT ? PAL_DROP_NO_PROFILE :
								    PAL_DROP_POLICY;
		}
	} else if (req->status == PAL_CLS_STATUS_OVERFLOW) {
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_OVERFLOW;
	} else if (req->status != PAL_CLS_STATUS_NOMATCH) {
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_INTERNAL;
	}
	if (o->what == PAL_O_NONE) {
		o->what = PAL_O_DENY;
		o->reason = stage == PAL_DP_STAGE_FORWARD ? PAL_DROP_TIER_END : PAL_DROP_INTERNAL;
	}
	return o->what == PAL_O_DENY;
}

/* The packet that opened flow f, rebuilt from its original tuple. */
static __always_inline void pal_flow_orig_pkt(const struct pal_flow *f, struct pal_pkt *q)
{
	__builtin_memset(q, 0, sizeof(*q));
	__builtin_memcpy(q->src, f->orig.src, 16);
	__builtin_memcpy(q->dst, f->orig.dst, 16);
	q->family = f->orig.family;
	q->proto = f->orig.proto;
	if (q->proto == PAL_IPPROTO_ICMP || q->proto == PAL_IPPROTO_ICMPV6) {
		q->is_icmp = 1;
		q->is_echo = 1;
		q->icmp_type = f->orig_icmp_type;
		q->icmp_id = f->orig.sport;
	} else {
		q->has_ports = 1;
		q->sport = f->orig.sport;
		q->dport = f->orig.dport;
	}
}

/* The stages that admitted flow f, as a plan in s->plan. Returns 0 when the flow's context is
 * gone (an interface it was judged on is no longer policed: its endpoint was removed, and the
 * address may belong to someone else now): the flow cannot be vouched for. */
static __noinline int pal_flow_plan_of(const struct pal_flow *f, struct pal_flow_scratch *s)
{
	struct pal_flow_plan *pl = &s->plan;
	struct pal_iface *in_ep, *out_ep, *ep;

	__builtin_memset(pl, 0, sizeof(*pl));
	switch (f->ctx) {
	case PAL_FCTX_LOCAL_OUT:
		ep = pal_iface_get(f->ifindex);
		if (!ep || !(ep->flags & PAL_IF_HOST))
			return 0;
		pl->list[0] = ep->lists[PAL_SLOT_NORMAL_OUT];
		pl->stage[0] = PAL_DP_STAGE_NORMAL;
		return 1;
	case PAL_FCTX_INPUT:
		ep = pal_iface_get(f->ifindex);
		if (!ep)
			return 0;
		if (ep->flags & PAL_IF_WORKLOAD) {
			pl->list[0] = ep->lists[PAL_SLOT_NORMAL_OUT];
			pl->stage[0] = PAL_DP_STAGE_WORKLOAD;
			pl->ep_to_host = 1;
		} else {
			pl->list[0] = ep->lists[PAL_SLOT_NORMAL_IN];
			pl->stage[0] = PAL_DP_STAGE_NORMAL;
			if (f->flags & PAL_FLOW_PREDNAT)
				pl->prednat_list = ep->lists[PAL_SLOT_PREDNAT_IN];
		}
		return 1;
	case PAL_FCTX_FORWARD:
		in_ep = pal_iface_get(f->iif);
		out_ep = pal_iface_get(f->ifindex);
		if (((f->flags & PAL_FLOW_POLICED_IN) && !in_ep) ||
		    ((f->flags & PAL_FLOW_POLICED_OUT) && !out_ep))
			return 0;
		if (in_ep && (in_ep->flags & PAL_IF_WORKLOAD)) {
			pl->list[0] = in_ep->lists[PAL_SLOT_NORMAL_OUT];
			pl->stage[0] = PAL_DP_STAGE_WORKLOAD;
		} else if (in_ep && (in_ep->flags & PAL_IF_HOST)) {
			pl->list[0] = in_ep->lists[PAL_SLOT_FORWARD_IN];
			pl->stage[0] = PAL_DP_STAGE_FORWARD;
			if (f->flags & PAL_FLOW_PREDNAT)
				pl->prednat_list = in_ep->lists[PAL_SLOT_PREDNAT_IN];
		}
		if (out_ep && (out_ep->flags & PAL_IF_WORKLOAD)) {
			pl->list[1] = out_ep->lists[PAL_SLOT_NORMAL_IN];
			pl->stage[1] = PAL_DP_STAGE_WORKLOAD;
		} else if (out_ep && (out_ep->flags & PAL_IF_HOST)) {
			pl->list[1] = out_ep->lists[PAL_SLOT_FORWARD_OUT];
			pl->stage[1] = PAL_DP_STAGE_FORWARD;
		}
		return 1;
	}
	return 0; /* no admission context recorded */
}

/* The plan and the original packet of flow f, in scratch. Not inlined: its frame stays out of the
 * classifier's call chain. */
static __noinline int pal_flow_prepare(const struct pal_flow *f, struct pal_flow_scratch *s)
{
	if (!pal_flow_plan_of(f, s))
		return 0;
	pal_flow_orig_pkt(f, &s->q);
	return 1;
}

#ifdef PAL_WITH_CT
/* Flow f lost its failsafe mark to an apply's sweep (PAL_FLOW_FAILSAFE_SWEPT), which judged the
 * tuples its entries had; does the failsafe set admit the connection's original tuple, which the
 * failsafe check judged before DNAT? A redirected failsafe flow (REDIRECT udp 53 -> 5353) has
 * only its post-DNAT entry (INPUT, no kfuncs) until its next packet through a tc hook enters the
 * other: swept in between, the server's first answer was re-judged against the host policy and
 * dropped although port 53 is still failsafe (tests/e2e/test_failsafe_nat_udp_first.sh). tc only
 * (skb); 1 when admitted, 0 otherwise (no connection, a conntrack error: the policy decides). */
static __noinline int pal_flow_failsafe_pre_nat(struct __sk_buff *skb, const struct pal_flow *f,
						struct pal_flow_scratch *s)
{
	int r;

	if (!skb || !f || !s)
		return 0;
	s->q_post = s->q;
	r = pal_ct_original_tuple(skb, &s->q) > 0 &&
	    pal_failsafe_match(&s->q, f->ctx == PAL_FCTX_LOCAL_OUT ? PAL_FAILSAFE_OUT :
								      PAL_FAILSAFE_IN);
	s->q = s->q_post;
	return r;
}
#endif

/* Classifies flow f again in its admission context (its original tuple through the stages that
 * admitted it). Returns 1 if the current policy allows it, 0 with the deciding stage in *o if
 * not. Inlined into the hook: the classifier's frames (with bpf_loop's callback) leave no room for
 * another frame between the hook's and theirs (512 bytes in all, each frame rounded up to 32). */
static __always_inline int pal_flow_rejudge(struct __sk_buff *skb, const struct pal_hookctx *h,
					    const struct pal_flow *f, struct pal_flow_scratch *s,
					    struct pal_outcome *o)
{
	struct pal_config *cfg;
	__u32 zero = 0;
	int i;

	o->what = PAL_O_DENY;
	o->reason = PAL_DROP_POLICY;
	o->stage = f->stage;
	o->rule_id = PAL_RULE_ID_NONE;
	if (!pal_flow_prepare(f, s))
		return 0;
#ifdef PAL_WITH_CT
	if ((f->flags & PAL_FLOW_FAILSAFE_SWEPT) && pal_flow_failsafe_pre_nat(skb, f, s))
		return 1;
#endif
	if (f->flags & PAL_FLOW_PREDNAT) {
		/* preDNAT judged the tuple as it arrived, which the entry does not keep: at a tc
		 * hook conntrack still has it (the original tuple), and preDNAT runs again on it, so a
		 * preDNAT deny added since cuts the flow too. Its allow ends the ingress side's host
		 * policy, as at admission; no verdict (or no preDNAT list any more) leaves it to the
		 * normal or forward list. The socket filters have no conntrack: there the earlier
		 * allow stands (a tc hook on the flow's path re-judges it fully first). */
		if (!skb || !s->plan.prednat_list) {
			if (!skb)
				s->plan.list[0] = 0;
		} else {
			s->q_post = s->q;
#ifdef PAL_WITH_CT
			if (pal_ct_original_tuple(skb, &s->q) < 0)
				return 0; /* a conntrack error: cannot vouch for the flow */
#endif
			i = pal_replay_stage(h, s->plan.prednat_list, PAL_DP_STAGE_PREDNAT, s, o);
			s->q = s->q_post;
			if (s->req.status != PAL_CLS_STATUS_NOMATCH) {
				if (i)
					return 0;
				s->plan.list[0] = 0;
			}
		}
	}
#ifdef PAL_WITH_CT
	/* A forwarded flow was admitted on its source before SNAT (tc egress asks conntrack) but
	 * entered under its wire tuple: ask again, or a MASQUERADEd client would be judged as the
	 * node's own address. tc only (skb is NULL in the socket filters, which see no forwarded
	 * flows); a conntrack error denies. */
	if (skb && f->ctx == PAL_FCTX_FORWARD && pal_ct_pre_snat_source(skb, &s->q) < 0)
		return 0;
#endif
	for (i = 0; i < 2; i++) {
		if (pal_replay_stage(h, s->plan.list[i & 1], s->plan.stage[i & 1], s, o))
			return 0;
	}
	if (s->plan.ep_to_host) {
		cfg = bpf_map_lookup_elem(&pal_config, &zero);
		if (!cfg || !(cfg->flags & PAL_CFG_EP_TO_HOST_ACCEPT)) {
			o->what = PAL_O_DENY;
			o->reason = PAL_DROP_EP_TO_HOST;
			o->stage = PAL_DP_STAGE_DEFAULT;
			return 0;
		}
	}
	return 1;
}

/* ---- the check: lookup and lifecycle first, the re-judge (if any) in its own frame ----
 *
 * The re-judge calls the classifier, whose frames (with bpf_loop's callback) and the hook's own
 * already fill the 512 bytes of stack a call chain may use: so the lookup subprograms only report
 * STALE, leaving the entry's key in scratch (k2), and the hook hands the packet to a program of
 * its own through a tail call (tc_flow_rejudge, sf_flow_rejudge in palisade.bpf.c), which starts
 * with a fresh stack, re-judges (pal_flow_rejudge_found) and finishes the hook's work. */

/* A TCP SYN-ACK's acknowledgement number (low 16 bits) into p->tcp_ack_lo, for
 * pal_flow_synack_acks (pal_flow_touch, here or in the re-judge program, which gets p's copy).
 * Loaded on the flow check's full path, in a subprogram's frame, for SYN-ACKs only: the parse
 * filling it for every packet cost each hook's frame 8 to 16 bytes, tc egress past its 512-byte
 * budget. p is the hook's own packet record (its stack, or a scratch copy). */
static __always_inline void pal_flow_load_ack(struct __sk_buff *skb, const struct pal_pkt *p)
{
	__u16 a;

	if (p->proto != PAL_IPPROTO_TCP || !p->has_ports ||
	    (p->tcp_flags & (PAL_TCP_SYN | PAL_TCP_ACK)) != (PAL_TCP_SYN | PAL_TCP_ACK))
		return;
	if (bpf_skb_load_bytes(skb, p->l4_off + 10, &a, 2))
		a = 0; /* the parse read the whole 20-byte header: not reached */
	((struct pal_pkt *)p)->tcp_ack_lo = bpf_ntohs(a);
}

/* Lifecycle of entry f (key s->k2, swap bit s->k2_swapped) for packet p: PAL_FLOW_HIT (state
 * advanced), _STALE, _DROP (o filled), _MISS. */
static __always_inline int pal_flow_entry_state(struct __sk_buff *skb, struct pal_flow *f,
						struct pal_flow_scratch *s,
						const struct pal_pkt *p, __u32 gen,
						struct pal_outcome *o)
{
	int reply = pal_flow_is_reply(f->flags, s->k2_swapped);
	struct pal_flow_cfg *c = pal_flow_cfg_get();
	__u64 now = pal_flow_now_cached(s);
	int r;

	pal_flow_load_ack(skb, p);
	r = pal_flow_classify_entry(f, p, reply, c, gen, now);

	/* the common case inline: no state change to record and refreshed within the second */
	if (r == PAL_FLOW_HIT &&
	    (f->generation != gen || pal_flow_idle(now, f->last_ns) > PAL_FLOW_REFRESH_NS ||
	     (p->proto == PAL_IPPROTO_TCP && !pal_flow_tcp_quiet(f, p, reply)) ||
	     (f->flags & PAL_FLOW_SYN_KEPT) || /* a kept SYN's record lasts one packet */
	     (f->state == PAL_FST_UDP_UNREPLIED && reply)))
		pal_flow_touch(f, p, reply, gen, now);
	if (r == PAL_FLOW_DROP) {
		f->last_ns = now; /* a tombstone lasts while the flow's packets keep coming */
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_POLICY;
		o->stage = f->stage;
		o->rule_id = PAL_RULE_ID_NONE;
	}
	return r;
}

/* The packet's own entry in its table (NULL: none), with the hook's scratch in *sp (NULL when the
 * packet has no flow identity or there is no scratch). gen: the policy generation, read by the
 * hook before it classified anything; a flow this hook admits is recorded under it, so a flow is
 * never recorded under a generation newer than the lists that judged it (userspace flips the
 * lists first, then bumps the generation). */
static __always_inline struct pal_flow *pal_flow_own_entry(const struct pal_hookctx *h,
							   const struct pal_pkt *p, __u32 gen,
							   struct pal_flow_scratch **sp)
{
	struct pal_flow_scratch *s;

	*sp = 0;
	if (!pal_flow_trackable(p))
		return 0;
	s = pal_flow_scratch(h->hook);
	if (!s)
		return 0;
	*sp = s;
	s->adm.gen = gen;
	s->host_hit = 0;
	return pal_flow_get_pkt(p, s);
}

/* Entry f was found for packet p and is no plain hit: its full lifecycle (pal_flow_entry_state),
 * and for a stale one the key the re-judge program finds it by (s->k2). Not inlined: only the
 * plain hit is decided in the hook, without a call (a BPF-to-BPF call and its return cost ~8 ns
 * in BPF_PROG_TEST_RUN here). Global (checked once, not once per caller state: Linux 6.1's
 * limit), so its pointers may be NULL to the verifier. */
__noinline int pal_flow_found(struct __sk_buff *skb, struct pal_flow *f,
			      struct pal_flow_scratch *s, const struct pal_pkt *p,
			      struct pal_outcome *o)
{
	int r;

	if (!f || !s || !p || !o)
		return PAL_FLOW_MISS;
	/* the generation the hook read (pal_flow_own_entry): s->adm.gen, the arguments being five */
	r = pal_flow_entry_state(skb, f, s, p, s->adm.gen, o);

	if (r == PAL_FLOW_STALE)
		pal_flow_key(p, s->k2_swapped, &s->k2);
	return r;
}

/* The packet's own tuple in the table: PAL_FLOW_*. */
static __always_inline int pal_flow_lookup_entry(struct __sk_buff *skb, const struct pal_hookctx *h,
						 const struct pal_pkt *p, struct pal_outcome *o,
						 __u32 gen)
{
	struct pal_flow_scratch *s;
	struct pal_flow *f = pal_flow_own_entry(h, p, gen, &s);

	if (!f || !s)
		return PAL_FLOW_MISS;
	if (pal_flow_plain_hit(f, p, pal_flow_is_reply(f->flags, s->k2_swapped), gen,
			       pal_flow_now_cached(s))) {
		s->host_hit = f->ctx == PAL_FCTX_INPUT || f->ctx == PAL_FCTX_LOCAL_OUT;
		return PAL_FLOW_HIT;
	}
	return pal_flow_found(skb, f, s, p, o);
}

/* Did hook's last flow check find its packet a plain hit of a flow of the host's own (INPUT,
 * LOCAL_OUT)? Such a packet is delivered to the host, not forwarded. */
static __always_inline int pal_flow_host_hit(__u8 hook)
{
	struct pal_flow_scratch *s = pal_flow_scratch(hook);

	return s && s->host_hit;
}

/* A re-judge allowed flow f (key s->k2): it takes the current generation. */
static __noinline void pal_flow_readmit(struct pal_flow *f, struct pal_flow_scratch *s,
					const struct pal_pkt *p, __u32 gen, int via_ct)
{
	pal_flow_touch(f, p, pal_flow_is_reply(f->flags, s->k2_swapped), gen, pal_flow_now());
	if (via_ct)
		pal_flow_adopt_ct(p, f, s);
}

/* Re-judges the stale entry under scratch key k2 (found for packet p). Allowed: the entry takes
 * the current generation and the packet is established (via_ct: its own tuple is entered too).
 * Denied: the flow becomes a tombstone and the packet drops. */
static __noinline int pal_flow_rejudge_found(struct __sk_buff *skb, const struct pal_hookctx *h,
					     const struct pal_pkt *p, struct pal_outcome *o,
					     int via_ct)
{
	struct pal_flow_scratch *s = pal_flow_scratch(h->hook);
	__u32 gen = pal_policy_generation();
	struct pal_flow *f;

	if (!s)
		return PAL_EST_NO;
	f = pal_flow_get(&s->k2, &s->k4);
	if (!f)
		return PAL_EST_NO;
	PAL_FLOW_STAT(rejudged);
	if (!pal_flow_rejudge(skb, h, f, s, o)) {
		PAL_FLOW_STAT(rejudge_denied);
		pal_flow_bury(f, gen);
		return PAL_EST_DROP;
	}
	pal_flow_readmit(f, s, p, gen, via_ct);
	return PAL_EST_YES;
}

static __always_inline int pal_flow_est(int r)
{
	return r == PAL_FLOW_HIT ? PAL_EST_YES : r == PAL_FLOW_DROP ? PAL_EST_DROP : PAL_EST_NO;
}

/* A stale entry was found for packet p: hands the packet's context to the re-judge program. */
static __noinline int pal_flow_handoff(const struct pal_hookctx *h, const struct pal_pkt *p,
				       int via_ct)
{
	__u32 slot = PAL_FLOW_HANDOFF;
	struct pal_flow_scratch *s = pal_flow_scratch(h->hook), *ho;

	ho = bpf_map_lookup_elem(&flow_scratch, &slot);
	if (!s || !ho)
		return PAL_EST_NO;
	ho->cur_hook = h->hook;
	s->cur = *p;
	s->cur_ifindex = h->ifindex;
	s->cur_slot = h->slot;
	s->cur_hook = h->hook;
	s->cur_via_ct = via_ct;
	return PAL_EST_REJUDGE;
}

/* The re-judge program's side: the scratch the hook filled. */
static __always_inline struct pal_flow_scratch *pal_flow_handed_off(void)
{
	__u32 slot = PAL_FLOW_HANDOFF;
	struct pal_flow_scratch *ho = bpf_map_lookup_elem(&flow_scratch, &slot);

	if (!ho || ho->cur_hook >= PAL_HOOK_COUNT)
		return 0;
	return pal_flow_scratch(ho->cur_hook);
}

/* The table only (socket filters: no kfuncs). */
static __always_inline int pal_flow_check_table(struct __sk_buff *skb, const struct pal_hookctx *h,
						const struct pal_pkt *p, struct pal_outcome *o)
{
	int r = pal_flow_lookup_entry(skb, h, p, o, pal_policy_generation());

	if (r == PAL_FLOW_STALE)
		return pal_flow_handoff(h, p, 0);
	return pal_flow_est(r);
}

static __always_inline int pal_flow_related_now(struct __sk_buff *skb, const struct pal_pkt *p)
{
	return pal_flow_related(skb, p, pal_flow_cfg_get(), pal_policy_generation());
}

/* Socket filters: the table, then ICMP errors related to a flow. */
static __always_inline int pal_flow_check_sf(struct __sk_buff *skb, const struct pal_hookctx *h,
					     const struct pal_pkt *p, struct pal_outcome *o)
{
	int r = pal_flow_check_table(skb, h, p, o);

	if (r == PAL_EST_NO && pal_flow_related_now(skb, p))
		r = PAL_EST_YES;
	return r;
}

/* Drops a packet of a flow the policy now denies. The reason came through a subprogram: bounded
 * here so the verifier can index the drop counters with it. */
static __always_inline void pal_flow_drop(const struct pal_hookctx *h, struct pal_pkt *p,
					  const struct pal_outcome *o)
{
	__u64 reason = o->reason; /* 64-bit: the bound is checked on the register that is used */

	asm volatile("" : "+r"(reason));
	if (reason >= PAL_DROP_COUNT)
		reason = PAL_DROP_INTERNAL;
	pal_drop(h, p, o->stage, reason, o->rule_id);
}

#ifdef PAL_WITH_CT
/* Through conntrack: the packet's tuple is unknown, another tuple of its connection is. Global
 * (checked once, not once per caller state: Linux 6.1's limit), so h, p and o may be NULL to the
 * verifier. */
__noinline int pal_flow_lookup_entry_ct(struct __sk_buff *skb, const struct pal_hookctx *h,
					const struct pal_pkt *p, struct pal_outcome *o)
{
	struct pal_flow_scratch *s;
	struct pal_flow *f;
	int r;

	if (!h || !p || !o)
		return PAL_FLOW_MISS;
	s = pal_flow_scratch(h->hook);
	/* a SYN without ACK rides no entry (pal_flow_classify_entry): nothing to ask conntrack */
	if (!s || !pal_flow_trackable(p) || pal_tcp_syn_only(p) || !pal_flow_find_ct(skb, p, s, h->hook))
		return PAL_FLOW_MISS;
	f = pal_flow_get(&s->k2, &s->k4);
	if (!f || !pal_flow_of_conn(f, s))
		return PAL_FLOW_MISS;
	r = pal_flow_entry_state(skb, f, s, p, pal_policy_generation(), o);
	if (r == PAL_FLOW_HIT)
		pal_flow_adopt_ct(p, f, s);
	return r;
}

/* tc hooks: the table, conntrack's other tuple, related ICMP errors. A drop also removes the
 * flow's conntrack entry. gen: the policy generation the hook read before it classified anything
 * (pal_flow_lookup_entry). */
static __always_inline int pal_flow_check_gen(struct __sk_buff *skb, const struct pal_hookctx *h,
					      const struct pal_pkt *p, struct pal_outcome *o,
					      __u32 gen)
{
	int via_ct = 0, r = pal_flow_lookup_entry(skb, h, p, o, gen);

	if (r == PAL_FLOW_MISS) {
		r = pal_flow_lookup_entry_ct(skb, h, p, o);
		via_ct = 1;
	}
	r = r == PAL_FLOW_STALE ? pal_flow_handoff(h, p, via_ct) : pal_flow_est(r);
	if (r == PAL_EST_NO && pal_flow_related_now(skb, p))
		r = PAL_EST_YES;
	if (r == PAL_EST_DROP)
		pal_flow_ct_kill(skb, p);
	return r;
}

/* pal_flow_check_gen with the generation read now, for a hook that has not read it yet. */
static __always_inline int pal_flow_check(struct __sk_buff *skb, const struct pal_hookctx *h,
					  const struct pal_pkt *p, struct pal_outcome *o)
{
	return pal_flow_check_gen(skb, h, p, o, pal_policy_generation());
}
#endif

#endif
