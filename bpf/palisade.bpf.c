// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The datapath programs, one object (one skeleton, shared maps):
 *
 *   xdp_hep_ingress  XDP on host endpoints: failsafe-in, untracked ingress. Deny = XDP_DROP;
 *                    untracked allow and failsafe are passed to tc in 4 bytes of XDP metadata.
 *   tc_ingress       host endpoints: (failsafe-in and untracked again when XDP left no
 *                    metadata), established flows, preDNAT ingress on the pre-DNAT destination.
 *                    Results travel on as skb->mark bits (PAL_MARK_*): the raw PREROUTING rule
 *                    turns PAL_MARK_UNTRACKED into CT --notrack. Workload interfaces: nothing here,
 *                    their policy runs after DNAT.
 *   tc_egress        after routing and DNAT: forwarded packets (skb->ingress_ifindex != 0):
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PAL_TC_ACT_OK 0
#define PAL_TC_ACT_SHOT 2
#define PAL_HS(hook, stage) (((__u32)(hook) << 8) | (stage))

/* ---- XDP ------------------------------------------------------------------------------------- */

/* Set by the loader before load: 0 when the kernel refuses bpf_xdp_adjust_meta for XDP programs
 * (some kernels are built that way; the loader probes with libbpf_probe_bpf_helper). The branch
 * on it is then dead at verification, so the call is never checked, and tc ingress evaluates
 * failsafe and untracked ingress again (as with generic XDP on drivers without metadata). */
const volatile __u8 pal_xdp_meta_ok = 1;

static __always_inline void pal_xdp_set_meta(struct xdp_md *ctx, __u32 flags)
{
	struct pal_xdp_meta *m;
	void *data;

	if (!pal_xdp_meta_ok)
		return;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct pal_xdp_meta)))
		return; /* no metadata support: tc evaluates again */
	data = (void *)(long)ctx->data;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data)
		return;
	m->word = PAL_XDP_META_MAGIC | flags;
}

SEC("xdp")
int xdp_hep_ingress(struct xdp_md *ctx)
{
	struct pal_hookctx h = { .ifindex = ctx->ingress_ifindex, .hook = PAL_HOOK_XDP };
	struct pal_outcome o = {};
	struct pal_pkt p = {};
	struct pal_iface *ifc;
	int reason;

	p.len = ctx->data_end - ctx->data;
	reason = pal_parse_eth(ctx, PAL_CTX_XDP, &p);
	ifc = pal_iface_get(h.ifindex);
	if (reason && ifc) { /* malformed: dropped with its reason where palisade polices */
		pal_drop(&h, &p, PAL_DP_STAGE_NONE, reason, PAL_RULE_ID_NONE);
		return XDP_DROP;
	}
	if (reason || !p.family || !ifc || !(ifc->flags & PAL_IF_HOST)) {
		pal_count_if(h.ifindex, h.hook, PAL_VERDICT_PASS, PAL_DROP_NONE);
		return XDP_PASS;
	}
	pal_hep_pre_in(&h, ifc, &p, &o);
	switch (o.what) {
	case PAL_O_DENY:
		pal_drop(&h, &p, o.stage, o.reason, o.rule_id);
		return XDP_DROP;
	case PAL_O_FAILSAFE:
		pal_xdp_set_meta(ctx, PAL_XDP_META_EVALUATED | PAL_XDP_META_FAILSAFE);
		pal_count_if(h.ifindex, h.hook, PAL_VERDICT_FAILSAFE, PAL_DROP_NONE);
		return XDP_PASS;
	case PAL_O_UNTRACKED:
		pal_xdp_set_meta(ctx, PAL_XDP_META_EVALUATED | PAL_XDP_META_UNTRACKED);
		pal_count_if(h.ifindex, h.hook, PAL_VERDICT_UNTRACKED, PAL_DROP_NONE);
		return XDP_PASS;
	case PAL_O_FAILSAFE_REPLY:
		/* no metadata: tc ingress evaluates it again and records what untracked ingress
		 * would decide if it turns out to be forwarded */
		pal_count_if(h.ifindex, h.hook, PAL_VERDICT_PASS, PAL_DROP_NONE);
		return XDP_PASS;
	default:
		pal_xdp_set_meta(ctx, PAL_XDP_META_EVALUATED);
		pal_count_if(h.ifindex, h.hook, PAL_VERDICT_PASS, PAL_DROP_NONE);
		return XDP_PASS;
	}
}

/* ---- tc ingress ------------------------------------------------------------------------------ */

/* XDP's outcome from the metadata, or 0 when there is none. */
static __always_inline __u32 pal_tc_meta(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct pal_xdp_meta *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 1) > data)
		return 0;
	if ((m->word & PAL_XDP_META_MAGIC_MASK) != PAL_XDP_META_MAGIC)
		return 0;
	return m->word & ~PAL_XDP_META_MAGIC_MASK;
}

static __always_inline void pal_set_mark(struct __sk_buff *skb, __u32 bits)
{
	skb->mark = (skb->mark & ~PAL_MARK_MASK) | bits;
}

/* What untracked ingress would decide for a packet exempt from it as the host's (a failsafe
 * port, a failsafe reply) if it turns out to be forwarded (PAL_MARK_FWD_*); quietly. */
static __always_inline __u32 pal_untracked_fwd_bits(const struct pal_hookctx *hc,
						    struct pal_iface *ifc, struct pal_pkt *p)
{
	struct pal_hookctx h = *hc;
	struct pal_outcome o = {};

	h.quiet = 1;
	pal_run_list(&h, ifc->lists[PAL_SLOT_UNTRACKED_IN], PAL_DP_STAGE_UNTRACKED, p, &o);
	if (o.what == PAL_O_DENY)
		return PAL_MARK_FWD_DENY;
	if (o.what == PAL_O_ALLOW)
		return PAL_MARK_FWD_UNTRACKED;
	return 0;
}

/* What untracked and preDNAT ingress would decide for a failsafe packet if it turns out to be
 * forwarded (PAL_MARK_FWD_*); evaluated quietly, nothing is dropped here. */
static __always_inline __u32 pal_failsafe_fwd_bits(const struct pal_hookctx *hc,
						   struct pal_iface *ifc, struct pal_pkt *p)
{
	struct pal_hookctx h = *hc;
	struct pal_outcome o = {};
	__u32 bits = pal_untracked_fwd_bits(hc, ifc, p);

	if (bits)
		return bits;
	h.quiet = 1;
	pal_run_list(&h, ifc->lists[PAL_SLOT_PREDNAT_IN], PAL_DP_STAGE_PREDNAT, p, &o);
	if (o.what == PAL_O_DENY)
		return PAL_MARK_FWD_DENY;
	if (o.what == PAL_O_ALLOW)
		return PAL_MARK_FWD_PREDNAT;
	return 0;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	struct pal_hookctx h = { .ifindex = skb->ifindex, .hook = PAL_HOOK_TC_INGRESS };
	struct pal_outcome o = {};
	struct pal_pkt p = {};
	struct pal_iface *ifc;
	__u32 meta, fwd = 0, verdict = PAL_VERDICT_PASS;
	int reason;

	/* Marks: palisade's bits on an arriving packet are not palisade's (a sender in this
	 * namespace chose them: SO_MARK on an AF_PACKET socket, a veth peer); later hooks trust
	 * only what this program sets below. On every interface it is attached to. */
	if (skb->mark & PAL_MARK_MASK)
		pal_set_mark(skb, 0);
	p.len = skb->len;
	reason = pal_parse_eth(skb, PAL_CTX_SKB, &p);
	ifc = pal_iface_get(h.ifindex);
	if (reason && ifc) {
		pal_drop(&h, &p, PAL_DP_STAGE_NONE, reason, PAL_RULE_ID_NONE);
		return PAL_TC_ACT_SHOT;
	}
	if (reason || !p.family || !ifc || !(ifc->flags & PAL_IF_HOST))
		goto out; /* workload interfaces: policy runs after DNAT (tc egress, INPUT) */

	meta = pal_tc_meta(skb);
	if (meta & PAL_XDP_META_EVALUATED) {
		o.what = (meta & PAL_XDP_META_FAILSAFE)	 ? PAL_O_FAILSAFE :
			 (meta & PAL_XDP_META_UNTRACKED) ? PAL_O_UNTRACKED :
							   PAL_O_NONE;
	} else {
		pal_hep_pre_in(&h, ifc, &p, &o);
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

	/* Established flows are accepted before preDNAT runs. */
	if (pal_flow_lookup(&p) || pal_flow_lookup_ct(skb, &p) || pal_flow_related(skb, &p)) {
		pal_set_mark(skb, PAL_MARK_SEEN | fwd);
		verdict = PAL_VERDICT_ESTABLISHED;
		goto out;
	}

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
	pal_count_if(h.ifindex, h.hook, verdict, PAL_DROP_NONE);
	return PAL_TC_ACT_OK;
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

static __noinline int pal_policed(__u32 ifindex, __u32 iif)
{
	if (pal_iface_get(ifindex))
		return 1;
	return pal_iface_get(iif) != 0;
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
					struct pal_pkt *p, __u32 mark)
{
	struct pal_hookctx h = { .ifindex = skb->ifindex, .hook = PAL_HOOK_TC_EGRESS, .quiet = 1 };
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
	struct pal_pkt p = {};
	int reason;

	p.len = skb->len;
	reason = pal_parse_eth(skb, PAL_CTX_SKB, &p);
	out_ep = pal_iface_get(h.ifindex);
	in_ep = pal_iface_get(iif);
	/* A scalar answer from a subprogram: clang would otherwise OR the two map value pointers,
	 * which the verifier refuses. */
	if (!pal_policed(h.ifindex, iif))
		goto out;
	if (reason)
		goto malformed; /* dropped with its reason where palisade polices */
	if (!p.family)
		goto out;

	if (!iif) {
		/* Locally generated. */
		if (!out_ep)
			goto out;
		if (out_ep->flags & PAL_IF_WORKLOAD) {
			/* host process to a local workload: always allowed (tracked, so the
			 * workload's replies are established at INPUT) */
			if (!pal_flow_lookup(&p))
				pal_flow_insert_ct(skb, &p, h.ifindex, PAL_HS(h.hook, PAL_DP_STAGE_NONE),
						   PAL_RULE_ID_NONE);
			verdict = PAL_VERDICT_ALLOW;
			goto out;
		}
		if (p.always_pass) /* neighbour discovery from the host */
			goto out;
		if (mark & (PAL_MARK_UNTRACKED | PAL_MARK_FAILSAFE))
			mark = pal_local_marks(skb, out_ep, &p, mark);
		if (mark & PAL_MARK_UNTRACKED) { /* raw OUTPUT: untracked egress allowed it */
			verdict = PAL_VERDICT_UNTRACKED;
			goto out;
		}
		if (mark & PAL_MARK_FAILSAFE) { /* raw OUTPUT: failsafe-out (pre-DNAT) matched */
			if (!pal_flow_lookup(&p))
				pal_flow_insert_ct(skb, &p, h.ifindex, PAL_HS(h.hook, PAL_DP_STAGE_FAILSAFE),
						   PAL_RULE_ID_NONE);
			verdict = PAL_VERDICT_FAILSAFE;
			goto out;
		}
		if (pal_flow_lookup(&p) || pal_flow_lookup_ct(skb, &p) || pal_flow_related(skb, &p)) {
			verdict = PAL_VERDICT_ESTABLISHED;
			goto out;
		}
		if (pal_post_stage(&h, out_ep->lists[PAL_SLOT_NORMAL_OUT], PAL_DP_STAGE_NORMAL, &p,
				   &last))
			return PAL_TC_ACT_SHOT;
		pal_flow_insert_ct(skb, &p, h.ifindex, PAL_HS(h.hook, last.stage), last.rule_id);
		verdict = PAL_VERDICT_ALLOW;
		goto out;
	}

	/* Forwarded: arrived on iif, leaves on this interface. Only palisade's tc ingress on iif
	 * sets mark bits a forwarded packet may carry (it clears them first); without an entry for
	 * iif, no bit is palisade's. */
	if (!in_ep)
		mark &= ~PAL_MARK_MASK;
	if (pal_flow_lookup(&p) || pal_flow_lookup_ct(skb, &p) || pal_flow_related(skb, &p)) {
		verdict = PAL_VERDICT_ESTABLISHED;
		goto out;
	}
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
	pal_flow_insert_ct(skb, &p, h.ifindex, PAL_HS(h.hook, last.stage), last.rule_id);
	verdict = PAL_VERDICT_ALLOW;
out:
	pal_count_if(h.ifindex, h.hook, verdict, PAL_DROP_NONE);
	return PAL_TC_ACT_OK;
malformed:
	pal_drop(&h, &p, PAL_DP_STAGE_NONE, reason, PAL_RULE_ID_NONE);
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
	struct pal_pkt p = {};

	p.len = skb->len;
	/* Malformed packets were dropped at tc ingress of palisade's interfaces; others are not
	 * ours to judge here. */
	if (pal_parse_l3(skb, PAL_CTX_SKB, 0, bpf_ntohs(skb->protocol), &p))
		return 0;
	if (!p.family)
		return 0;
	ep = pal_iface_get(h.ifindex);
	if (!ep)
		return 0;
	/* neighbour discovery to the host, also from a workload (as the evaluator) */
	if (p.always_pass)
		return 0;
	if (mark & PAL_MARK_HOST_DENY) { /* preDNAT denied this failsafe reply (tc ingress) */
		pal_drop(&h, &p, PAL_DP_STAGE_PREDNAT, PAL_DROP_POLICY, PAL_RULE_ID_NONE);
		return 1;
	}
	if (mark & PAL_MARK_UNTRACKED) { /* never enters flow state */
		verdict = PAL_VERDICT_UNTRACKED;
		goto out;
	}
	if (mark & PAL_MARK_FAILSAFE) {
		/* failsafe traffic stays tracked: its replies (sshd answering) are established */
		if (!pal_flow_lookup(&p))
			pal_flow_insert(&p, h.ifindex, h.hook, PAL_DP_STAGE_FAILSAFE, PAL_RULE_ID_NONE);
		verdict = PAL_VERDICT_FAILSAFE;
		goto out;
	}
	if (pal_flow_lookup(&p) || pal_flow_related(skb, &p)) {
		verdict = PAL_VERDICT_ESTABLISHED;
		goto out;
	}
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
			pal_flow_insert(&p, h.ifindex, h.hook, PAL_DP_STAGE_PREDNAT, PAL_RULE_ID_NONE);
			verdict = PAL_VERDICT_ALLOW;
			goto out;
		}
		if (pal_post_stage(&h, ep->lists[PAL_SLOT_NORMAL_IN], PAL_DP_STAGE_NORMAL, &p, &last))
			return 1;
	}
	pal_flow_insert(&p, h.ifindex, h.hook, last.stage, last.rule_id);
	verdict = PAL_VERDICT_ALLOW;
out:
	pal_count_if(h.ifindex, h.hook, verdict, PAL_DROP_NONE);
	return 0;
}
