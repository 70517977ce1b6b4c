// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The datapath programs, one object (one skeleton, shared maps):
 *
 *   xdp_hep_ingress  XDP on host endpoints: failsafe-in, untracked ingress. Deny = XDP_DROP;
 *                    untracked allow and failsafe are passed to tc in 4 bytes of XDP metadata.
 *   tc_ingress       host endpoints: (failsafe-in and untracked again when XDP left no
 *                    metadata), established flows, preDNAT ingress on the pre-DNAT destination.
 *                    Results travel on as skb->mark bits (PAL_MARK_*): the raw PREROUTING rule
 *                    turns PAL_MARK_UNTRACKED into CT --notrack. Workload interfaces: only the
 *                    source address check (anti-spoofing), their policy runs after DNAT.
 *   tc_egress        after routing and NAT: forwarded packets (skb->ingress_ifindex != 0),
 *                    judged on their source before SNAT (conntrack's original tuple):
 *                    forward ingress of the host endpoint they came in on or the egress policy of
 *                    the workload they came from, then forward egress of the host endpoint or the
 *                    ingress policy of the workload they go to; locally generated packets:
 *                    failsafe-out and normal egress of the host endpoint (untracked egress ran in
 *                    raw OUTPUT, see sf_out.bpf.c), always allowed towards a workload.
 *   sf_input_deny    socket filter run by xt_bpf in filter INPUT (post-DNAT, local delivery):
 *                    normal ingress of the host endpoint, or the workload's egress policy then
 *                    --endpoint-to-host-action. Matches (returns 1) when the packet must drop.
 *
 * Every path ends in one place per program that counts the verdict (and the drop reason) on the
 * interface and, for drops, emits an event.
 */
#define PAL_WITH_CT 1
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "palisade/abi.h"
#include "maps.h"
#include "parse.h"
#include "counters.h"
#include "classify.h"
#include "flow.h"
#include "stages.h"
#include "srccheck.h"
#include "flow_judge.h"
#include "frag.h"
#include "trace.h"
#include "memo.h"
#include "xdp_meta.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PAL_TC_ACT_OK 0
#define PAL_TC_ACT_SHOT 2

/* The admission context of a flow a hook allows (flow.h struct pal_flow_adm), in scratch: the
 * hooks' frames have no room left under the classifier's. NULL when scratch is missing (the flow
 * is then not entered and its next packet meets policy again). */
static __always_inline struct pal_flow_adm *pal_adm(const struct pal_hookctx *h, __u32 iif,
						    __u8 ctx, __u8 stage, __u32 rule_id,
						    __u32 flags)
{
	struct pal_flow_scratch *s;
	struct pal_flow_adm *a;

	if (h->trace) /* trace mode enters no flow */
		return 0;
	s = pal_flow_scratch(h->hook);
	if (!s)
		return 0;
	a = &s->adm;
	a->ifindex = h->ifindex;
	a->iif = iif;
	a->hook = h->hook;
	a->ctx = ctx;
	a->stage = stage;
	a->rule_id = rule_id;
	a->flags = flags;
	a->pad = 0; /* a->gen: set by the flow check (pal_flow_lookup_entry) */
	return a;
}

/* ---- re-judging a stale flow (flow_judge.h) --------------------------------------------------
 *
 * A hook that finds a flow admitted under an older policy generation tail-calls one of these
 * with the packet's context in scratch: a fresh stack for the classifier. They finish the hook's
 * work for the packet: established (counted, tc ingress marks it seen), or dropped (counted,
 * event, conntrack entry removed at tc). A failed tail call leaves the packet to policy. */

static __always_inline void pal_set_mark(struct __sk_buff *skb, __u32 bits)
{
	skb->mark = (skb->mark & ~PAL_MARK_MASK) | bits;
}

/* The hook a handed-off packet was found at (pal_flow_handoff saved it in scratch). */
static __always_inline struct pal_hookctx pal_flow_handed_hook(const struct pal_flow_scratch *s)
{
	return (struct pal_hookctx){ .ifindex = s->cur_ifindex, .hook = s->cur_hook,
				     .slot = s->cur_slot };
}

/* Finishes a re-judged packet at its hook: 1 = dropped, 0 = established. Not inlined: the
 * counters' frame stays out of the classifier's call chain. */
static __noinline int pal_flow_finish(struct __sk_buff *skb, struct pal_flow_scratch *s, int r,
				      struct pal_outcome *o, int tc)
{
	struct pal_hookctx h = pal_flow_handed_hook(s);

	if (r != PAL_EST_YES) {
		if (r == PAL_EST_NO) { /* the entry went meanwhile: cannot vouch for the packet */
			o->reason = PAL_DROP_INTERNAL;
			o->stage = PAL_DP_STAGE_NONE;
			o->rule_id = PAL_RULE_ID_NONE;
		}
		pal_flow_drop(&h, &s->cur, o);
		return 1;
	}
	if (tc && h.hook == PAL_HOOK_TC_INGRESS) {
		pal_set_mark(skb, PAL_MARK_SEEN);
		pal_memo_forget_established(&s->cur); /* re-judged: tc egress checks it in full */
	}
	if (tc && s->cur.frag == PAL_FRAG_FIRST)
		pal_frag_passed(&s->cur, h.hook, h.ifindex,
				h.hook == PAL_HOOK_TC_INGRESS ? PAL_MARK_SEEN : 0);
	pal_count_if(&h, PAL_VERDICT_ESTABLISHED, PAL_DROP_NONE);
	return 0;
}

/* Re-judges the packet handed off in scratch and finishes it at its hook: 1 = dropped (also
 * without scratch, which cannot happen: it is an array), 0 = established. tc (a constant) says
 * which kind of program runs it: a tc program may use the conntrack kfuncs (the flow's other
 * tuple, removing a denied flow's entry); a socket filter may not, so a denied flow's conntrack
 * entry goes when its next packet crosses a tc hook and meets the tombstone. */
static __always_inline int pal_flow_rejudge_handed(struct __sk_buff *skb, int tc)
{
	struct pal_flow_scratch *s = pal_flow_handed_off();
	struct pal_outcome o = {};
	struct pal_hookctx h;
	int r;

	if (!s)
		return 1;
	h = pal_flow_handed_hook(s);
	r = pal_flow_rejudge_found(tc ? skb : 0, &h, &s->cur, &o, tc ? s->cur_via_ct : 0);
	if (tc && r != PAL_EST_YES)
		pal_flow_ct_kill(skb, &s->cur);
	return pal_flow_finish(skb, s, r, &o, tc);
}

SEC("tc")
int tc_flow_rejudge(struct __sk_buff *skb)
{
	return pal_flow_rejudge_handed(skb, 1) ? PAL_TC_ACT_SHOT : PAL_TC_ACT_OK;
}

SEC("socket")
int sf_flow_rejudge(struct __sk_buff *skb)
{
	return pal_flow_rejudge_handed(skb, 0);
}

/* Tail-call tables (private to this object: no "pal_" prefix, not pinned), one program each. */
#define PAL_FLOW_JMP(name, prog)                                                                  \
	struct {                                                                                  \
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);                                            \
		__uint(max_entries, 1);                                                           \
		__type(key, __u32);                                                               \
		__array(values, int(struct __sk_buff *));                                         \
	} name SEC(".maps") = { .values = { [0] = (void *)&prog } }

PAL_FLOW_JMP(flow_tc_jmp, tc_flow_rejudge);
PAL_FLOW_JMP(flow_sf_jmp, sf_flow_rejudge);

/* ---- XDP ------------------------------------------------------------------------------------- */

/* Set by the loader before load: 0 when the kernel refuses bpf_xdp_adjust_meta for XDP programs
 * (some kernels are built that way; the loader probes with libbpf_probe_bpf_helper). The branch
 * on it is then dead at verification, so the call is never checked, and tc ingress evaluates
 * failsafe and untracked ingress again (as with generic XDP on drivers without metadata). */
const volatile __u8 pal_xdp_meta_ok = 1;
/* Set by the loader from getrandom() before load: XDP seals its metadata word with it and tc
 * ingress believes only a word sealed with it (bpf/xdp_meta.h). */
const volatile __u32 pal_xdp_meta_cookie = 0;

static __always_inline void pal_xdp_set_meta(struct xdp_md *ctx, __u32 flags)
{
	struct pal_xdp_meta *m;
	void *data;

	if (!pal_xdp_meta_ok)
		return;
	/* When there is no room for a word of its own (a frame redirected in by another XDP
	 * program with metadata up to the kernel's limit), the first 8 bytes of the frame's own
	 * metadata are where tc reads: they become palisade's word. Without metadata support
	 * data_meta is past data and nothing is written (tc then reads none, evaluates again). */
	bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct pal_xdp_meta));
	data = (void *)(long)ctx->data;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data)
		return;
	m->cookie = pal_xdp_meta_seal(pal_xdp_meta_cookie, ctx->ingress_ifindex);
	m->flags = flags;
}

SEC("xdp")
int xdp_hep_ingress(struct xdp_md *ctx)
{
	struct pal_hookctx h = { .ifindex = ctx->ingress_ifindex, .hook = PAL_HOOK_XDP };
	struct pal_outcome o = {};
	struct pal_pkt p = {};
	struct pal_iface *ifc;
	__u32 gen = 0;
	int reason;

	p.len = ctx->data_end - ctx->data;
	/* the interface first: its framing says where the IP header is */
	ifc = pal_iface_get_slot(h.ifindex, &h.slot);
	reason = pal_parse_frame(ctx, PAL_CTX_XDP, ifc && (ifc->flags & PAL_IF_L3), 0, &p);
	if (reason && ifc) { /* malformed: dropped with its reason where palisade polices */
		pal_drop(&h, &p, PAL_DP_STAGE_NONE, reason, PAL_RULE_ID_NONE);
		return XDP_DROP;
	}
	if (reason || !p.family || !ifc || !(ifc->flags & PAL_IF_HOST)) {
		/* no outcome; a word all the same on a host endpoint, so a frame tc parses where
		 * XDP could not (its own VLAN handling) never shows tc metadata it brought along */
		if (ifc && (ifc->flags & PAL_IF_HOST))
			pal_xdp_set_meta(ctx, 0);
		pal_count_if(&h, PAL_VERDICT_PASS, PAL_DROP_NONE);
		return XDP_PASS;
	}
	if (!pal_xdp_meta_ok) /* before the lists are read: a memo is never newer than its verdict */
		gen = pal_policy_generation();
	pal_hep_pre_in(&h, ifc, &p, &o);
	if (!pal_xdp_meta_ok) /* no metadata: tc ingress finds the outcome in a memo (memo.h) */
		pal_memo_put_pre_in(&h, ifc, &p, gen, &o);
	switch (o.what) {
	case PAL_O_DENY:
		pal_drop(&h, &p, o.stage, o.reason, o.rule_id);
		return XDP_DROP;
	case PAL_O_FAILSAFE:
		pal_xdp_set_meta(ctx, PAL_XDP_META_EVALUATED | PAL_XDP_META_FAILSAFE);
		pal_count_if(&h, PAL_VERDICT_FAILSAFE, PAL_DROP_NONE);
		return XDP_PASS;
	case PAL_O_FAILSAFE_REPLY:
		/* no outcome for tc: it evaluates it again and records what untracked ingress would
		 * decide if it turns out to be forwarded. A word all the same, so tc never reads
		 * metadata the frame brought along (redirected in by another XDP program) */
		pal_xdp_set_meta(ctx, 0);
		pal_count_if(&h, PAL_VERDICT_PASS, PAL_DROP_NONE);
		return XDP_PASS;
	case PAL_O_UNTRACKED:
		pal_xdp_set_meta(ctx, PAL_XDP_META_EVALUATED | PAL_XDP_META_UNTRACKED);
		pal_count_if(&h, PAL_VERDICT_UNTRACKED, PAL_DROP_NONE);
		return XDP_PASS;
	default:
		pal_xdp_set_meta(ctx, PAL_XDP_META_EVALUATED);
		pal_count_if(&h, PAL_VERDICT_PASS, PAL_DROP_NONE);
		return XDP_PASS;
	}
}

/* ---- tc ingress ------------------------------------------------------------------------------ */

/* XDP's outcome from the metadata, or 0 when there is none or it is not to be believed: only
 * where the agent verified palisade's own XDP program on this interface (slot's pal_if_bank) and
 * only from a word sealed with this load's cookie (bpf/xdp_meta.h). */
static __always_inline __u32 pal_tc_meta(struct __sk_buff *skb, __u32 slot, __u32 ifindex)
{
	void *data = (void *)(long)skb->data;
	struct pal_xdp_meta *m = (void *)(long)skb->data_meta;
	struct pal_if_bank *b;

	if ((void *)(m + 1) > data)
		return 0;
	b = bpf_map_lookup_elem(&pal_if_bank, &slot);
	if (!b)
		return 0;
	return pal_xdp_meta_flags(m, pal_xdp_meta_cookie, ifindex,
				  *(volatile __u32 *)&b->xdp_ifindex);
}

/* What list `list` of stage `stage` would decide for a forwarded packet, as PAL_MARK_FWD_* bits:
 * PAL_MARK_FWD_DENY, allow_bit, or 0 (no verdict); evaluated quietly, nothing is dropped here. */
static __always_inline __u32 pal_quiet_fwd_bits(const struct pal_hookctx *hc, __u32 list,
						__u8 stage, struct pal_pkt *p, __u32 allow_bit)
{
	struct pal_hookctx h = *hc;
	struct pal_outcome o = {};

	h.quiet = 1;
	pal_run_list(&h, list, stage, p, &o);
	if (o.what == PAL_O_DENY)
		return PAL_MARK_FWD_DENY;
	if (o.what == PAL_O_ALLOW)
		return allow_bit;
	return 0;
}

/* What untracked ingress would decide for a packet exempt from it as the host's (a failsafe
 * port, a failsafe reply) if it turns out to be forwarded (PAL_MARK_FWD_*); quietly. */
static __always_inline __u32 pal_untracked_fwd_bits(const struct pal_hookctx *hc,
						    struct pal_iface *ifc, struct pal_pkt *p)
{
	return pal_quiet_fwd_bits(hc, ifc->lists[PAL_SLOT_UNTRACKED_IN], PAL_DP_STAGE_UNTRACKED, p,
				  PAL_MARK_FWD_UNTRACKED);
}

/* What untracked and preDNAT ingress would decide for a failsafe packet if it turns out to be
 * forwarded (PAL_MARK_FWD_*); evaluated quietly, nothing is dropped here. */
static __always_inline __u32 pal_failsafe_fwd_bits(const struct pal_hookctx *hc,
						   struct pal_iface *ifc, struct pal_pkt *p)
{
	__u32 bits = pal_untracked_fwd_bits(hc, ifc, p);

	if (bits)
		return bits;
	return pal_quiet_fwd_bits(hc, ifc->lists[PAL_SLOT_PREDNAT_IN], PAL_DP_STAGE_PREDNAT, p,
				  PAL_MARK_FWD_PREDNAT);
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	struct pal_hookctx h = { .ifindex = skb->ifindex, .hook = PAL_HOOK_TC_INGRESS };
	struct pal_outcome o = {}, fo = {}; /* fo: the flow check's (its address escapes) */
	struct pal_pkt p = {};
	struct pal_iface *ifc;
	__u32 meta, fmark, fwd = 0, verdict = PAL_VERDICT_PASS, gen = 0;
	int reason, est, flow_est = 0;

	h.trace = pal_trace_begin(skb);
	/* Marks: palisade's bits on an arriving packet are not palisade's (a sender in this
	 * namespace chose them: SO_MARK on an AF_PACKET socket, a veth peer); later hooks trust
	 * only what this program sets below. On every interface it is attached to. */
	if (skb->mark & PAL_MARK_MASK)
		pal_set_mark(skb, 0);
	p.len = skb->len;
	ifc = pal_iface_get_slot(h.ifindex, &h.slot);
	reason = pal_parse_frame(skb, PAL_CTX_TC, ifc && (ifc->flags & PAL_IF_L3),
				 bpf_ntohs(skb->protocol), &p);
	if (reason && ifc) {
		pal_drop(&h, &p, PAL_DP_STAGE_NONE, reason, PAL_RULE_ID_NONE);
		return PAL_TC_ACT_SHOT;
	}
	if (reason || !p.family || !ifc)
		goto out;
	if (!(ifc->flags & PAL_IF_HOST)) {
		if (pal_unprogrammed(ifc))
			goto unprogrammed; /* nothing from an unprogrammed workload */
		/* what a pod sends: only from its own addresses (bpf/srccheck.h); its policy runs
		 * after DNAT (tc egress, INPUT) */
		if ((ifc->flags & PAL_IF_WORKLOAD) && !pal_src_allowed(h.ifindex, &p)) {
			pal_drop(&h, &p, PAL_DP_STAGE_SOURCE, PAL_DROP_SPOOF, PAL_RULE_ID_NONE);
			return PAL_TC_ACT_SHOT;
		}
		goto out;
	}
	fmark = p.frag == PAL_FRAG_LATER ? pal_frag_follows(&p, h.hook, h.ifindex) : 0;
	if (fmark) {
		pal_set_mark(skb, fmark & PAL_MARK_MASK);
		verdict = PAL_VERDICT_ESTABLISHED;
		goto out;
	}

	/* XDP's metadata is believed only where palisade's XDP runs: the agent attaches it only to
	 * host endpoints with an untracked ingress list, and only where the kernel lets XDP write
	 * metadata (pal_xdp_meta_ok; otherwise palisade's XDP never writes any). Elsewhere,
	 * metadata a packet carries was not written by palisade's XDP for it (another XDP
	 * program's), and is not read; where it runs, pal_tc_meta checks that it still does and
	 * that the word is its own. */
	meta = pal_xdp_meta_ok && ifc->lists[PAL_SLOT_UNTRACKED_IN] ?
		       pal_tc_meta(skb, h.slot, h.ifindex) : 0;
	if (meta & PAL_XDP_META_EVALUATED) {
		o.what = (meta & PAL_XDP_META_FAILSAFE)	 ? PAL_O_FAILSAFE :
			 (meta & PAL_XDP_META_UNTRACKED) ? PAL_O_UNTRACKED :
							   PAL_O_NONE;
	} else if (pal_xdp_meta_ok || h.trace || !pal_memo_get_pre_in(&h, ifc, &p, &o)) {
		pal_hep_pre_in(&h, ifc, &p, &o); /* XDP's outcome is in no memo: again */
	}
	switch (o.what) {
	case PAL_O_DENY:
		pal_drop(&h, &p, o.stage, o.reason, o.rule_id);
		return PAL_TC_ACT_SHOT;
	case PAL_O_FAILSAFE:
		pal_set_mark(skb, PAL_MARK_FAILSAFE | PAL_MARK_SEEN | pal_failsafe_fwd_bits(&h, ifc, &p));
		verdict = PAL_VERDICT_FAILSAFE;
		goto out;
	case PAL_O_UNTRACKED:
		pal_set_mark(skb, PAL_MARK_UNTRACKED | PAL_MARK_SEEN);
		verdict = PAL_VERDICT_UNTRACKED;
		goto out;
	case PAL_O_FAILSAFE_REPLY:
		/* the host's failsafe replies skip untracked ingress; forwarded, they do not */
		fwd = pal_untracked_fwd_bits(&h, ifc, &p);
		break;
	}

	/* Established flows are accepted before preDNAT runs (a stale one is re-judged here). */
	gen = pal_policy_generation(); /* before the check: the flow's and the memo's (memo.h) */
	est = h.trace ? PAL_EST_NO : pal_flow_check_gen(skb, &h, &p, &fo, gen); /* trace: new flow */
	if (est == PAL_EST_REJUDGE) {
		bpf_tail_call(skb, &flow_tc_jmp, 0);
		est = PAL_EST_NO; /* not reached unless the tail call failed */
	}
	if (est == PAL_EST_DROP) {
		pal_flow_drop(&h, &p, &fo);
		return PAL_TC_ACT_SHOT;
	}
	if (est == PAL_EST_YES) {
		pal_set_mark(skb, PAL_MARK_SEEN | fwd);
		verdict = PAL_VERDICT_ESTABLISHED;
		/* only the packet's own tuple may vouch for its header at tc egress: "related" (an
		 * ICMP error) was decided on the quoted inner header, which the memo does not hold.
		 * A flow of the host's own is delivered here, not forwarded: its slot is left as it
		 * is (memo.h pal_memo_put_established) */
		flow_est = !pal_flow_trackable(&p)     ? PAL_MEMO_PUT_NOT_EST :
			   pal_flow_host_hit(h.hook) ? PAL_MEMO_PUT_HOST_FLOW :
						       PAL_MEMO_PUT_EST;
		goto out;
	}
	if (pal_unprogrammed(ifc)) /* a host endpoint keeps its failsafe ports (above) only */
		goto unprogrammed;

	/* preDNAT ingress, on the destination as it arrived. A failsafe reply that untracked
	 * ingress would allow if forwarded must not be dropped here (forwarded, that allow skips
	 * preDNAT): decided quietly, a deny travels to INPUT as PAL_MARK_HOST_DENY. */
	if (fwd & PAL_MARK_FWD_UNTRACKED)
		h.quiet = 1;
	pal_run_list(&h, ifc->lists[PAL_SLOT_PREDNAT_IN], PAL_DP_STAGE_PREDNAT, &p, &o);
	if (o.what == PAL_O_DENY && (fwd & PAL_MARK_FWD_UNTRACKED)) {
		pal_set_mark(skb, PAL_MARK_HOST_DENY | PAL_MARK_SEEN | fwd);
		goto out;
	}
	if (o.what == PAL_O_DENY) {
		pal_drop(&h, &p, o.stage, o.reason, o.rule_id);
		return PAL_TC_ACT_SHOT;
	}
	if (o.what == PAL_O_ALLOW) {
		pal_set_mark(skb, PAL_MARK_PREDNAT | PAL_MARK_SEEN | fwd);
		verdict = PAL_VERDICT_ALLOW;
		goto out;
	}
	pal_set_mark(skb, PAL_MARK_SEEN | fwd);
out:
	if (h.trace)
		return PAL_TC_ACT_OK;
	/* what tc egress may take from here (memo.h): every host endpoint packet that passes
	 * rewrites its slot, established or not (but a flow of the host's own) */
	if (ifc && (ifc->flags & PAL_IF_HOST) && p.family)
		pal_memo_put_established(&h, ifc, &p, flow_est, gen);
	if (ifc && p.frag == PAL_FRAG_FIRST)
		pal_frag_passed(&p, h.hook, h.ifindex, skb->mark & PAL_MARK_MASK);
	pal_count_if(&h, verdict, PAL_DROP_NONE);
	return PAL_TC_ACT_OK;
unprogrammed:
	pal_drop(&h, &p, PAL_DP_STAGE_NONE, PAL_DROP_UNPROGRAMMED, PAL_RULE_ID_NONE);
	return PAL_TC_ACT_SHOT;
}

/* ---- tc egress ------------------------------------------------------------------------------- */

/* Runs one post-DNAT stage; returns 1 when it denied (counted, event emitted). A forward list
 * that exists but gives no verdict denies (every tier passed), as the reference evaluator's
 * forward_stage; normal and workload lists always end in a verdict (default deny entry). */
static __always_inline int pal_post_stage(const struct pal_hookctx *h, __u32 list_id, __u8 stage,
					  struct pal_pkt *p, struct pal_outcome *last)
{
	struct pal_outcome o = {};

	pal_run_list(h, list_id, stage, p, &o);
	if (list_id && o.what == PAL_O_NONE) {
		o.what = PAL_O_DENY;
		o.reason = stage == PAL_DP_STAGE_FORWARD ? PAL_DROP_TIER_END : PAL_DROP_INTERNAL;
	}
	if (o.what == PAL_O_DENY) {
		pal_drop(h, p, o.stage, o.reason, o.rule_id);
		return 1;
	}
	if (o.what == PAL_O_ALLOW)
		*last = o;
	return 0;
}

/* Whether the kernel tracked (and may have NATed) a forwarded packet: all but one untracked at tc
 * ingress. A failsafe packet was tracked before tc egress learned it was forwarded, even when
 * PAL_MARK_FWD_UNTRACKED turned it untracked for palisade. */
static __always_inline int pal_conntrack_saw(__u32 mark)
{
	return !(mark & PAL_MARK_UNTRACKED) || (mark & PAL_MARK_FAILSAFE);
}

/* Does palisade police either interface? From the configurations the hook already looked up
 * (not two more pal_ifaces lookups per packet). Each as a 0/1 scalar behind a barrier: clang
 * would otherwise OR the two map value pointers, which the verifier refuses. */
static __always_inline int pal_policed(const struct pal_iface *out_ep,
				       const struct pal_iface *in_ep)
{
	__u32 out = out_ep != 0, in = in_ep != 0;

	asm volatile("" : "+r"(out), "+r"(in));
	return out | in;
}

#define PAL_SK_AF_INET 2
#define PAL_SK_AF_INET6 10

/* The packet belongs to an IPv4/IPv6 socket (or a request/timewait socket): it crossed raw
 * OUTPUT, whose first rule cleared palisade's bits, so a bit it carries was set by palisade's
 * rules there. AF_PACKET senders bypass netfilter and keep their SO_MARK. */
static __always_inline int pal_from_inet_socket(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return 0;
	return sk->family == PAL_SK_AF_INET || sk->family == PAL_SK_AF_INET6;
}

/* The PAL_MARK_UNTRACKED and PAL_MARK_FAILSAFE bits of a locally generated packet leaving by host
 * endpoint ep that palisade can prove it set in raw OUTPUT; the others are dropped from the
 * answer, and the packet meets the established check and normal egress policy like any other.
 *   UNTRACKED: raw OUTPUT's untracked decision is evaluated again, quietly. An untracked packet
 *              is not NATed (CT --notrack), so it sees the same tuple and gets the same answer.
 *   FAILSAFE:  failsafe-out again on the packet as it is now; or, when NAT changed the
 *              destination since raw OUTPUT, the packet's socket says it crossed raw OUTPUT. */
static __always_inline __u32 pal_local_marks(struct __sk_buff *skb, struct pal_iface *ep,
					struct pal_pkt *p, __u32 mark, __u8 trace)
{
	struct pal_hookctx h = { .ifindex = skb->ifindex, .hook = PAL_HOOK_TC_EGRESS, .quiet = 1,
				 .trace = trace };
	struct pal_outcome o = {};
	__u32 ok = 0;

	if (!ep)
		return 0;
	if (mark & PAL_MARK_UNTRACKED) {
		pal_hep_pre_out(&h, ep, p, &o);
		if (o.what == PAL_O_ALLOW)
			ok |= PAL_MARK_UNTRACKED;
	}
	if ((mark & PAL_MARK_FAILSAFE) &&
	    (pal_failsafe_match(p, PAL_FAILSAFE_OUT) || pal_from_inet_socket(skb)))
		ok |= PAL_MARK_FAILSAFE;
	return ok;
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	struct pal_hookctx h = { .ifindex = skb->ifindex, .hook = PAL_HOOK_TC_EGRESS };
	struct pal_outcome last = { .stage = PAL_DP_STAGE_NONE, .rule_id = PAL_RULE_ID_NONE };
	struct pal_iface *out_ep, *in_ep;
	__u32 iif = skb->ingress_ifindex;
	__u32 mark = skb->mark;
	__u32 verdict = PAL_VERDICT_PASS;
	struct pal_flow_adm *adm;
	struct pal_pkt p = {};
	int reason, est, snat = 0;

	h.trace = pal_trace_begin(skb);
	p.len = skb->len;
	out_ep = pal_iface_get_slot(h.ifindex, &h.slot);
	in_ep = pal_iface_get(iif);
	reason = pal_parse_frame(skb, PAL_CTX_TC, out_ep && (out_ep->flags & PAL_IF_L3),
				 bpf_ntohs(skb->protocol), &p);
	/* A scalar answer from a subprogram: clang would otherwise OR the two map value pointers,
	 * which the verifier refuses. */
	if (!pal_policed(out_ep, in_ep))
		goto out;
	if (reason)
		goto malformed; /* dropped with its reason where palisade polices */
	if (!p.family)
		goto out;
	/* Only palisade's tc ingress on iif sets mark bits a forwarded packet may carry (it clears
	 * them first); without an entry for iif, no bit is palisade's. */
	if (iif && !in_ep)
		mark &= ~PAL_MARK_MASK;
	/* An unprogrammed endpoint on either side of a forwarded packet, or an unprogrammed workload
	 * as the destination, denies; a host's own traffic keeps failsafe-out and its flows (below). */
	if ((iif && (pal_unprogrammed(in_ep) || pal_unprogrammed(out_ep))) ||
	    (pal_unprogrammed(out_ep) && (out_ep->flags & PAL_IF_WORKLOAD)))
		goto unprogrammed;
	if (p.frag == PAL_FRAG_LATER && pal_frag_follows(&p, h.hook, h.ifindex)) {
		verdict = PAL_VERDICT_ESTABLISHED; /* its first fragment passed here */
		goto out;
	}

	if (!iif) {
		/* Locally generated. */
		if (!out_ep)
			goto out;
		if (!(out_ep->flags & PAL_IF_WORKLOAD)) {
			if (p.always_pass) /* neighbour discovery from the host */
				goto out;
			if (mark & (PAL_MARK_UNTRACKED | PAL_MARK_FAILSAFE))
				mark = pal_local_marks(skb, out_ep, &p, mark, h.trace);
			if (mark & PAL_MARK_UNTRACKED) { /* raw OUTPUT: untracked egress allowed it */
				verdict = PAL_VERDICT_UNTRACKED;
				goto out;
			}
		}
	}
	pal_flow_ct_view_forget(h.hook); /* conntrack is asked once per packet below (flow.h) */
	/* The flow check, once for every tracked path below (it may re-judge a stale flow, which
	 * inlines the classifier: one call site keeps the program small). */
	/* `last` doubles as the flow check's outcome: written only when it answers DROP */
	/* a forwarded packet tc ingress found established in this tick: not again (memo.h) */
	est = h.trace				       ? PAL_EST_NO : /* a trace: a new flow */
	      pal_memo_established(iif, in_ep, &p) ? PAL_EST_YES :
						       pal_flow_check(skb, &h, &p, &last);
	if (est == PAL_EST_REJUDGE) {
		/* failsafe-out traffic is accepted whatever its entry says (re-entered below) */
		if (iif || !out_ep || (out_ep->flags & PAL_IF_WORKLOAD) ||
		    !(mark & PAL_MARK_FAILSAFE))
			bpf_tail_call(skb, &flow_tc_jmp, 0);
		est = PAL_EST_NO;
	}

	if (!iif) {
		if (!out_ep) /* checked above; again for the verifier */
			goto out;
		if (out_ep->flags & PAL_IF_WORKLOAD) {
			/* host process to a local workload: always allowed (tracked, so the
			 * workload's replies are established at INPUT), unless it belongs to a
			 * flow a re-judge denied (the reply of a cut workload-to-host flow) */
			if (est == PAL_EST_DROP)
				goto drop;
			if (est != PAL_EST_YES &&
			    (adm = pal_adm(&h, 0, PAL_FCTX_LOCAL_OUT, PAL_DP_STAGE_NONE,
					   PAL_RULE_ID_NONE, PAL_FLOW_ALWAYS)))
				pal_flow_insert_ct(skb, &p, adm);
			verdict = PAL_VERDICT_ALLOW;
			goto out;
		}
		if (mark & PAL_MARK_FAILSAFE) { /* raw OUTPUT: failsafe-out (pre-DNAT) matched */
			if (est != PAL_EST_YES &&
			    (adm = pal_adm(&h, 0, PAL_FCTX_LOCAL_OUT, PAL_DP_STAGE_FAILSAFE,
					   PAL_RULE_ID_NONE, PAL_FLOW_FAILSAFE)))
				pal_flow_insert_ct(skb, &p, adm);
			verdict = PAL_VERDICT_FAILSAFE;
			goto out;
		}
	}

	/* Locally sent (past the two cases above) or forwarded: the flow's entry decides. */
	if (est == PAL_EST_DROP)
		goto drop;
	if (est == PAL_EST_YES) {
		verdict = PAL_VERDICT_ESTABLISHED;
		goto out;
	}

	if (!iif) {
		if (!out_ep) /* checked above; again for the verifier */
			goto out;
		if (pal_unprogrammed(out_ep))
			goto unprogrammed;
		if (pal_post_stage(&h, out_ep->lists[PAL_SLOT_NORMAL_OUT], PAL_DP_STAGE_NORMAL, &p,
				   &last))
			return PAL_TC_ACT_SHOT;
		adm = pal_adm(&h, 0, PAL_FCTX_LOCAL_OUT, last.stage, last.rule_id, 0);
		if (adm)
			pal_flow_insert_ct(skb, &p, adm);
		verdict = PAL_VERDICT_ALLOW;
		goto out;
	}

	/* Forwarded: arrived on iif, leaves on this interface. */
	if (mark & (PAL_MARK_FAILSAFE | PAL_MARK_FWD_DENY | PAL_MARK_FWD_UNTRACKED |
		    PAL_MARK_FWD_PREDNAT)) {
		/* Failsafe ports and failsafe replies protect the host only: apply what
		 * untracked/preDNAT ingress decided at tc ingress for this packet
		 * (PAL_MARK_FWD_*). */
		if (mark & PAL_MARK_FWD_DENY) {
			pal_drop(&h, &p, PAL_DP_STAGE_UNTRACKED, PAL_DROP_POLICY, PAL_RULE_ID_NONE);
			return PAL_TC_ACT_SHOT;
		}
		if (mark & PAL_MARK_FWD_UNTRACKED)
			mark |= PAL_MARK_UNTRACKED;
		if (mark & PAL_MARK_FWD_PREDNAT)
			mark |= PAL_MARK_PREDNAT;
		/* visible to later hooks and tests; conntrack has seen this packet already, so an
		 * untracked allow here only keeps it out of palisade's own flow state */
		pal_set_mark(skb, mark & PAL_MARK_MASK);
	}
	/* Forward and workload policy see the source as FORWARD does, before POSTROUTING's SNAT
	 * (a MASQUERADEd NodePort client keeps its address); the wire source comes back for the
	 * flow table. A packet untracked at tc ingress met no NAT and has no entry to ask. */
	if (pal_conntrack_saw(mark)) {
		snat = pal_flow_pre_snat_source(skb, &p);
		if (snat < 0) {
			pal_drop(&h, &p, PAL_DP_STAGE_NONE, PAL_DROP_INTERNAL, PAL_RULE_ID_NONE);
			return PAL_TC_ACT_SHOT;
		}
	}
	if (in_ep && (in_ep->flags & PAL_IF_WORKLOAD)) {
		if (pal_post_stage(&h, in_ep->lists[PAL_SLOT_NORMAL_OUT], PAL_DP_STAGE_WORKLOAD, &p,
				   &last))
			return PAL_TC_ACT_SHOT;
	} else if (in_ep && (in_ep->flags & PAL_IF_HOST) &&
		   !(mark & (PAL_MARK_UNTRACKED | PAL_MARK_PREDNAT))) {
		/* untracked allow skips forward policy on both sides; preDNAT allow ends host
		 * policy of the ingress side */
		if (pal_post_stage(&h, in_ep->lists[PAL_SLOT_FORWARD_IN], PAL_DP_STAGE_FORWARD, &p,
				   &last))
			return PAL_TC_ACT_SHOT;
	}
	if (out_ep && (out_ep->flags & PAL_IF_WORKLOAD)) {
		if (pal_post_stage(&h, out_ep->lists[PAL_SLOT_NORMAL_IN], PAL_DP_STAGE_WORKLOAD, &p,
				   &last))
			return PAL_TC_ACT_SHOT;
	} else if (out_ep && (out_ep->flags & PAL_IF_HOST) && !(mark & PAL_MARK_UNTRACKED)) {
		if (pal_post_stage(&h, out_ep->lists[PAL_SLOT_FORWARD_OUT], PAL_DP_STAGE_FORWARD, &p,
				   &last))
			return PAL_TC_ACT_SHOT;
	}
	if (mark & PAL_MARK_UNTRACKED) {
		verdict = PAL_VERDICT_UNTRACKED; /* never enters flow state */
		goto out;
	}
	if (snat && pal_ct_wire_source(skb, &p)) {
		pal_drop(&h, &p, PAL_DP_STAGE_NONE, PAL_DROP_INTERNAL, PAL_RULE_ID_NONE);
		return PAL_TC_ACT_SHOT;
	}
	adm = pal_adm(&h, iif, PAL_FCTX_FORWARD, last.stage, last.rule_id,
		      (mark & PAL_MARK_PREDNAT ? PAL_FLOW_PREDNAT : 0) |
			      (in_ep ? PAL_FLOW_POLICED_IN : 0) | (out_ep ? PAL_FLOW_POLICED_OUT : 0));
	if (adm)
		pal_flow_insert_ct(skb, &p, adm);
	verdict = PAL_VERDICT_ALLOW;
out:
	if (h.trace)
		return PAL_TC_ACT_OK;
	if (verdict != PAL_VERDICT_PASS && p.frag == PAL_FRAG_FIRST)
		pal_frag_passed(&p, h.hook, h.ifindex, 0);
	pal_count_if(&h, verdict, PAL_DROP_NONE);
	return PAL_TC_ACT_OK;
drop: /* a flow the current policy denies (re-judge or its tombstone) */
	pal_flow_drop(&h, &p, &last);
	return PAL_TC_ACT_SHOT;
malformed:
	pal_drop(&h, &p, PAL_DP_STAGE_NONE, reason, PAL_RULE_ID_NONE);
	return PAL_TC_ACT_SHOT;
unprogrammed:
	pal_drop(&h, &p, PAL_DP_STAGE_NONE, PAL_DROP_UNPROGRAMMED, PAL_RULE_ID_NONE);
	return PAL_TC_ACT_SHOT;
}

/* ---- filter INPUT (xt_bpf) ------------------------------------------------------------------- */

SEC("socket")
int sf_input_deny(struct __sk_buff *skb)
{
	struct pal_hookctx h = { .ifindex = skb->ingress_ifindex, .hook = PAL_HOOK_INPUT };
	struct pal_outcome last = { .stage = PAL_DP_STAGE_NONE, .rule_id = PAL_RULE_ID_NONE };
	struct pal_config *cfg;
	struct pal_iface *ep;
	__u32 zero = 0, mark = skb->mark, verdict = PAL_VERDICT_PASS;
	struct pal_flow_adm *adm;
	struct pal_outcome fo = {}; /* the flow check's */
	struct pal_pkt p = {};
	int est;

	h.trace = pal_trace_begin(skb);
	p.len = skb->len;
	/* Malformed packets were dropped at tc ingress of palisade's interfaces; others are not
	 * ours to judge here. */
	if (pal_parse_l3(skb, PAL_CTX_SKB, 0, bpf_ntohs(skb->protocol), &p))
		return 0;
	if (!p.family)
		return 0;
	ep = pal_iface_get_slot(h.ifindex, &h.slot);
	if (!ep)
		return 0;
	/* neighbour discovery to the host, also from a workload (as the evaluator) */
	if (p.always_pass)
		return 0;
	if (pal_unprogrammed(ep) && (ep->flags & PAL_IF_WORKLOAD))
		goto unprogrammed;
	if (mark & PAL_MARK_HOST_DENY) { /* preDNAT denied this failsafe reply (tc ingress) */
		pal_drop(&h, &p, PAL_DP_STAGE_PREDNAT, PAL_DROP_POLICY, PAL_RULE_ID_NONE);
		return 1;
	}
	if (mark & PAL_MARK_UNTRACKED) { /* never enters flow state */
		verdict = PAL_VERDICT_UNTRACKED;
		goto out;
	}
	/* the one call site (see tc_egress); a trace: a new flow */
	est = h.trace ? PAL_EST_NO : pal_flow_check_sf(skb, &h, &p, &fo);
	if (est == PAL_EST_REJUDGE) {
		if (!(mark & PAL_MARK_FAILSAFE))
			bpf_tail_call(skb, &flow_sf_jmp, 0);
		est = PAL_EST_NO;
	}
	if (mark & PAL_MARK_FAILSAFE) {
		/* failsafe traffic stays tracked: its replies (sshd answering) are established */
		if (est != PAL_EST_YES &&
		    (adm = pal_adm(&h, 0, PAL_FCTX_INPUT, PAL_DP_STAGE_FAILSAFE, PAL_RULE_ID_NONE,
				   PAL_FLOW_FAILSAFE)))
			pal_flow_insert(skb, &p, adm);
		verdict = PAL_VERDICT_FAILSAFE;
		goto out;
	}
	if (est == PAL_EST_DROP) {
		/* no kfuncs here: the flow's conntrack entry goes when its next packet crosses a
		 * tc hook and meets the tombstone */
		pal_flow_drop(&h, &p, &fo);
		return 1;
	}
	if (est == PAL_EST_YES) {
		verdict = PAL_VERDICT_ESTABLISHED;
		goto out;
	}
	if (pal_unprogrammed(ep)) /* a host endpoint: failsafe ports (above) only */
		goto unprogrammed;
	if (ep->flags & PAL_IF_WORKLOAD) {
		if (pal_post_stage(&h, ep->lists[PAL_SLOT_NORMAL_OUT], PAL_DP_STAGE_WORKLOAD, &p,
				   &last))
			return 1;
		cfg = bpf_map_lookup_elem(&pal_config, &zero);
		if (!cfg || !(cfg->flags & PAL_CFG_EP_TO_HOST_ACCEPT)) {
			pal_drop(&h, &p, PAL_DP_STAGE_DEFAULT, PAL_DROP_EP_TO_HOST, PAL_RULE_ID_NONE);
			return 1;
		}
	} else {
		if (mark & PAL_MARK_PREDNAT) { /* preDNAT allow skips normal host policy */
			adm = pal_adm(&h, 0, PAL_FCTX_INPUT, PAL_DP_STAGE_PREDNAT, PAL_RULE_ID_NONE,
				      PAL_FLOW_PREDNAT);
			if (adm)
				pal_flow_insert(skb, &p, adm);
			verdict = PAL_VERDICT_ALLOW;
			goto out;
		}
		if (pal_post_stage(&h, ep->lists[PAL_SLOT_NORMAL_IN], PAL_DP_STAGE_NORMAL, &p, &last))
			return 1;
	}
	adm = pal_adm(&h, 0, PAL_FCTX_INPUT, last.stage, last.rule_id, 0);
	if (adm)
		pal_flow_insert(skb, &p, adm);
	verdict = PAL_VERDICT_ALLOW;
out:
	if (!h.trace)
		pal_count_if(&h, verdict, PAL_DROP_NONE);
	return 0;
unprogrammed:
	pal_drop(&h, &p, PAL_DP_STAGE_NONE, PAL_DROP_UNPROGRAMMED, PAL_RULE_ID_NONE);
	return 1;
}
