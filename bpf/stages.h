/* The stage walk shared by the programs: running one (stage, direction) rule list, the failsafe
 * check, and the host-endpoint ingress pre-stages (failsafe-in, untracked ingress) that XDP runs
 * and tc ingress repeats when XDP did not (no XDP, or metadata lost). Which stages run at which
 * hook is in palisade.bpf.c and documented in docs/datapath.md. */
#ifndef PAL_BPF_STAGES_H
#define PAL_BPF_STAGES_H

#include "classify.h"
#include "counters.h"

/* What a stage decided. */
#define PAL_O_NONE 0      /* the stage does not apply, or no rule decided: go on */
#define PAL_O_ALLOW 1
#define PAL_O_DENY 2
#define PAL_O_FAILSAFE 3
#define PAL_O_UNTRACKED 4 /* untracked allow */

struct pal_outcome {
	__u8 what;   /* PAL_O_* */
	__u8 reason; /* PAL_DROP_* when DENY */
	__u8 stage;  /* enum pal_dp_stage that decided */
	__u8 pad;
	__u32 rule_id;
};

struct pal_hookctx {
	__u32 ifindex; /* interface the hook counts on */
	__u8 hook;
	__u8 quiet; /* do not count rules or emit Log events (second xt_bpf evaluation) */
	__u8 pad[2];
};

/* The interface's configuration in force: its slot, the slot's active bank, that bank's value.
 * The bank word is read once; the agent rewrites only the other bank, and only after a grace
 * period since its last flip, so the value returned stays whole until this program returns. */
static __always_inline struct pal_iface *pal_iface_get(__u32 ifindex)
{
	struct pal_if_slot *s;
	struct pal_if_bank *b;
	__u32 slot, idx;

	if (!ifindex)
		return 0;
	s = bpf_map_lookup_elem(&pal_ifaces, &ifindex);
	if (!s)
		return 0;
	slot = s->slot;
	b = bpf_map_lookup_elem(&pal_if_bank, &slot);
	if (!b)
		return 0;
	idx = slot * 2 + (*(volatile __u32 *)&b->bank & 1);
	return bpf_map_lookup_elem(&pal_if_cfg, &idx);
}

/* Palisade attached its programs here but could not program the endpoint: deny everything
 * (a host endpoint keeps its failsafe ports, checked before this by the callers). */
static __always_inline int pal_unprogrammed(const struct pal_iface *ifc)
{
	return ifc && (ifc->flags & PAL_IF_UNPROGRAMMED);
}

/* Runs list `list_id` as `stage`. */
static __always_inline void pal_run_list(const struct pal_hookctx *h, __u32 list_id, __u8 stage,
					 struct pal_pkt *p, struct pal_outcome *o)
{
	struct pal_cls_req req = {};

	o->what = PAL_O_NONE;
	o->reason = PAL_DROP_NONE;
	o->stage = stage;
	o->rule_id = PAL_RULE_ID_NONE;
	if (!list_id)
		return;
	req.list_id = list_id;
	req.ifindex = h->ifindex;
	req.hook = h->hook;
	req.stage = stage;
	req.quiet = h->quiet;
	pal_classify(&req, p);
	switch (req.status) {
	case PAL_CLS_STATUS_VERDICT:
		o->rule_id = req.rule_id;
		if (req.kind == PAL_KIND_PROFILE_RULE)
			o->stage = PAL_DP_STAGE_PROFILE;
		else if (req.kind == PAL_KIND_DEFAULT)
			o->stage = PAL_DP_STAGE_DEFAULT;
		if (req.action == PAL_ACT_ALLOW) {
			o->what = PAL_O_ALLOW;
		} else {
			o->what = PAL_O_DENY;
			o->reason = req.kind == PAL_KIND_TIER_END ? PAL_DROP_TIER_END :
				    req.kind == PAL_KIND_DEFAULT ? PAL_DROP_NO_PROFILE :
								   PAL_DROP_POLICY;
		}
		return;
	case PAL_CLS_STATUS_NOMATCH:
		return;
	case PAL_CLS_STATUS_OVERFLOW:
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_OVERFLOW;
		return;
	default:
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_INTERNAL;
		return;
	}
}

/* Failsafe ports: TCP/UDP with ports; inbound matches the destination port and the source
 * address, outbound the destination port and address. */
static __always_inline int pal_failsafe_match(const struct pal_pkt *p, __u8 dir)
{
	struct pal_failsafe_key k = {};

	if (!p->has_ports || (p->proto != PAL_IPPROTO_TCP && p->proto != PAL_IPPROTO_UDP))
		return 0;
	k.dir = dir;
	k.proto = p->proto;
	k.port = p->dport;
	k.family = p->family;
	__builtin_memcpy(k.addr, dir == PAL_FAILSAFE_IN ? p->src : p->dst, 16);
	k.prefixlen = PAL_FAILSAFE_FIXED_BITS + (p->family == 4 ? 32 : 128);
	return bpf_map_lookup_elem(&pal_failsafe, &k) != 0;
}

/* Failsafe-in (neighbour discovery is never blocked and counts as failsafe), then untracked
 * ingress, of a host endpoint. Like a failsafe port, ND is exempt only for the host itself: tc
 * ingress still records what untracked/preDNAT would decide in case it is forwarded. */
static __always_inline void pal_hep_pre_in(const struct pal_hookctx *h, struct pal_iface *ifc,
					   struct pal_pkt *p, struct pal_outcome *o)
{
	if ((p->family && p->always_pass) || pal_failsafe_match(p, PAL_FAILSAFE_IN)) {
		o->what = PAL_O_FAILSAFE;
		o->reason = PAL_DROP_NONE;
		o->stage = PAL_DP_STAGE_FAILSAFE;
		o->rule_id = PAL_RULE_ID_NONE;
		return;
	}
	pal_run_list(h, ifc->lists[PAL_SLOT_UNTRACKED_IN], PAL_DP_STAGE_UNTRACKED, p, o);
	if (o->what == PAL_O_ALLOW)
		o->what = PAL_O_UNTRACKED;
}

/* Counts a drop and emits its event. */
static __always_inline void pal_drop(const struct pal_hookctx *h, struct pal_pkt *p, __u8 stage,
				     __u8 reason, __u32 rule_id)
{
	pal_count_if(h->ifindex, h->hook, PAL_VERDICT_DENY, reason);
	if (!h->quiet)
		pal_emit_deny(p, h->ifindex, h->hook, stage, reason, rule_id);
}

#endif
