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
/* A reply of a failsafe connection (source port = a failsafe port of the other direction):
 * exempt from untracked policy only, as Calico's raw failsafe chains; it stays tracked and meets
 * the established check and the tracked stages like any packet. */
#define PAL_O_FAILSAFE_REPLY 5

struct pal_outcome {
	__u8 what;   /* PAL_O_* */
	__u8 reason; /* PAL_DROP_* when DENY */
	__u8 stage;  /* enum pal_dp_stage that decided */
	__u8 logged; /* a Log rule of the deciding list matched */
	__u32 rule_id;
};

/* Where the interface's configuration in force is (abi.h "pal_if_index"): below
 * PAL_IF_INDEX_DIRECT from the array, one inlined bounds check and load whose word names the slot
 * and its active bank together (pal_if_cfg's index + 1; the element is read once, it may change
 * under the packet); above it from pal_ifaces, then the slot's bank word in pal_if_bank. Returns 0
 * when the interface has no entry; *ctr then gets its link slot (an attached interface without an
 * endpoint: where it counts, abi.h PAL_LINK_SLOTS), else stays as it was. A link slot is for
 * counting only: it never names a configuration. On 1, *cfg_idx is the configuration's index in
 * pal_if_cfg (slot * 2 + bank); the slot is *cfg_idx / 2. */
static __always_inline int pal_iface_slot(__u32 ifindex, __u32 *cfg_idx, __u32 *ctr)
{
	struct pal_if_index *d;
	struct pal_if_slot *s;
	struct pal_if_bank *b;
	__u32 v, slot;

	if (ifindex < PAL_IF_INDEX_DIRECT) {
		d = bpf_map_lookup_elem(&pal_if_index, &ifindex);
		if (!d)
			return 0;
		v = *(volatile __u32 *)&d->cfg_plus1;
		if (v == PAL_IF_INDEX_NONE) {
			v = *(volatile __u32 *)&d->link_plus1; /* the same line */
			if (v)
				*ctr = v - 1;
			return 0;
		}
		*cfg_idx = v - 1;
		return 1;
	}
	s = bpf_map_lookup_elem(&pal_ifaces, &ifindex);
	if (!s)
		return 0;
	slot = s->slot;
	b = bpf_map_lookup_elem(&pal_if_bank, &slot);
	if (!b)
		return 0;
	*cfg_idx = slot * 2 + (*(volatile __u32 *)&b->bank & 1);
	return 1;
}

/* The interface's configuration in force: the index of its slot's active bank, that bank's value.
 * The index is read once (one word below PAL_IF_INDEX_DIRECT, the bank word above); the agent
 * rewrites only the other bank, and only after a grace period since the last store that could
 * have led a packet to it, so the value returned stays whole until this program returns.
 * *slot_out: the slot (the hook counts on it, counters.h); without an entry its link slot (counts
 * only, see pal_iface_slot) or 0. A NULL return means no configuration whatever *slot_out says. */
static __always_inline struct pal_iface *pal_iface_get_slot(__u32 ifindex, __u32 *slot_out)
{
	__u32 idx = 0;

	*slot_out = 0;
	if (!ifindex || !pal_iface_slot(ifindex, &idx, slot_out))
		return 0;
	*slot_out = idx >> 1;
	return bpf_map_lookup_elem(&pal_if_cfg, &idx);
}

static __always_inline struct pal_iface *pal_iface_get(__u32 ifindex)
{
	__u32 slot;

	return pal_iface_get_slot(ifindex, &slot);
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
	o->logged = 0;
	if (!list_id)
		return;
	req.list_id = list_id;
	req.ifindex = h->ifindex;
	req.slot = h->slot;
	req.hook = h->hook;
	req.stage = stage;
	req.quiet = h->trace ? PAL_CLS_QUIET_TRACE : h->quiet;
	pal_classify(&req, p);
	o->logged = req.logged;
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
	case PAL_CLS_STATUS_BUSY:
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_BUSY;
		return;
	default:
		o->what = PAL_O_DENY;
		o->reason = PAL_DROP_INTERNAL;
		return;
	}
}

/* Is (list, port, remote address) a failsafe entry? list = PAL_FAILSAFE_IN or _OUT. */
static __always_inline int pal_failsafe_lookup(const struct pal_pkt *p, __u8 list, __u16 port,
					       const __u8 *remote)
{
	struct pal_failsafe_key k = {};

	__u32 bit = PAL_FS_PORT_BIT(list, p->proto == PAL_IPPROTO_UDP, port), word = bit / 64;
	__u64 *ports;

	if (!p->has_ports || (p->proto != PAL_IPPROTO_TCP && p->proto != PAL_IPPROTO_UDP))
		return 0;
	/* no failsafe on this port: most packets stop here (an inlined array read, not an LPM
	 * lookup) */
	ports = bpf_map_lookup_elem(&pal_fs_ports, &word);
	if (!ports || !((*ports >> (bit & 63)) & 1))
		return 0;
	k.dir = list;
	k.proto = p->proto;
	k.port = port;
	k.family = p->family;
	__builtin_memcpy(k.addr, remote, 16);
	k.prefixlen = PAL_FAILSAFE_FIXED_BITS + (p->family == 4 ? 32 : 128);
	return bpf_map_lookup_elem(&pal_failsafe, &k) != 0;
}

/* Failsafe ports: TCP/UDP with ports; inbound matches the destination port and the source
 * address, outbound the destination port and address. */
static __always_inline int pal_failsafe_match(const struct pal_pkt *p, __u8 dir)
{
	return pal_failsafe_lookup(p, dir, p->dport, dir == PAL_FAILSAFE_IN ? p->src : p->dst);
}

/* A reply of a failsafe connection, travelling in direction dir: inbound, its source port is a
 * failsafe-out port and its source (the remote) is in that entry's net; outbound, its source port
 * is a failsafe-in port and its destination (the remote) is in that entry's net. */
static __always_inline int pal_failsafe_reply_match(const struct pal_pkt *p, __u8 dir)
{
	if (dir == PAL_FAILSAFE_IN)
		return pal_failsafe_lookup(p, PAL_FAILSAFE_OUT, p->sport, p->src);
	return pal_failsafe_lookup(p, PAL_FAILSAFE_IN, p->sport, p->dst);
}

static __always_inline void pal_outcome_failsafe(struct pal_outcome *o, __u8 what)
{
	o->what = what;
	o->reason = PAL_DROP_NONE;
	o->stage = PAL_DP_STAGE_FAILSAFE;
	o->rule_id = PAL_RULE_ID_NONE;
}

/* The raw-table hooks of a host endpoint in direction dir: failsafe (a failsafe port of dir, or
 * always_failsafe: neighbour discovery), the replies of the other direction's failsafe
 * connections, else the untracked list's decision. */
static __always_inline void pal_hep_pre(const struct pal_hookctx *h, __u32 untracked_list,
					struct pal_pkt *p, struct pal_outcome *o, __u8 dir,
					int always_failsafe)
{
	if (always_failsafe || pal_failsafe_match(p, dir)) {
		pal_outcome_failsafe(o, PAL_O_FAILSAFE);
		return;
	}
	if (pal_failsafe_reply_match(p, dir)) {
		pal_outcome_failsafe(o, PAL_O_FAILSAFE_REPLY);
		return;
	}
	pal_run_list(h, untracked_list, PAL_DP_STAGE_UNTRACKED, p, o);
}

/* Failsafe-in (neighbour discovery is never blocked and counts as failsafe), the replies of
 * failsafe-out connections, then untracked ingress, of a host endpoint. Like a failsafe port, ND
 * is exempt only for the host itself: tc ingress still records what untracked/preDNAT would
 * decide in case it is forwarded (for a failsafe reply: what untracked would decide). */
static __always_inline void pal_hep_pre_in(const struct pal_hookctx *h, struct pal_iface *ifc,
					   struct pal_pkt *p, struct pal_outcome *o)
{
	pal_hep_pre(h, ifc->lists[PAL_SLOT_UNTRACKED_IN], p, o, PAL_FAILSAFE_IN,
		    p->family && p->always_pass);
	if (o->what == PAL_O_ALLOW)
		o->what = PAL_O_UNTRACKED;
}

/* What raw OUTPUT decides for a locally generated packet leaving by host endpoint ifc, before
 * conntrack and NAT: failsafe-out (PAL_O_FAILSAFE), the replies of failsafe-in connections
 * (PAL_O_FAILSAFE_REPLY: no untracked decision), else untracked egress (ALLOW, DENY or NONE).
 * Also what tc egress re-checks before it believes a PAL_MARK_UNTRACKED. */
static __always_inline void pal_hep_pre_out(const struct pal_hookctx *h, struct pal_iface *ifc,
					    struct pal_pkt *p, struct pal_outcome *o)
{
	pal_hep_pre(h, ifc->lists[PAL_SLOT_UNTRACKED_OUT], p, o, PAL_FAILSAFE_OUT, 0);
}

/* Counts a drop and emits its event. */
static __always_inline void pal_drop(const struct pal_hookctx *h, struct pal_pkt *p, __u8 stage,
				     __u8 reason, __u32 rule_id)
{
	struct pal_if_ctr *c;

	if (h->trace) {
		pal_trace_drop(reason);
		return;
	}
	c = pal_count_drop(h, reason, p->len);
	if (!h->quiet)
		pal_emit_deny(c, p, h->ifindex, h->hook, stage, reason, rule_id);
}

#endif
