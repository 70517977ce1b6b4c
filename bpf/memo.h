/* Memos between the hooks of one packet: a verdict a hook made, kept for a later hook of the same
 * packet on the same CPU so it does not decide it again.
 *
 *   PAL_MEMO_PRE_IN       XDP -> tc ingress, where XDP cannot leave metadata (pal_xdp_meta_ok = 0):
 *                         the failsafe-in / untracked ingress outcome (untracked allow or none) of
 *                         an interface with an untracked ingress list, which tc ingress would
 *                         otherwise classify again.
 *   PAL_MEMO_ESTABLISHED  tc ingress -> tc egress: the packet's own flow entry answered
 *                         "established"; tc egress of the forwarded packet would look it up again.
 *
 * A memo is a cache, never state: a later hook uses it only when every input of the verdict is
 * the same as when it was made, and otherwise decides in full, as without it.
 *   - the packet's header fields (struct pal_pkt from src through tcp_flags: addresses, ports,
 *     family, protocol, ICMP type, code and id, TCP flags, fragment, neighbour discovery): all
 *     the classifier, the failsafe checks and the flow check read;
 *   - the interface it arrived on, its flags and (PRE_IN) the list judged: a re-bound or
 *     reprogrammed interface does not match, even where the agent does not move the generation;
 *   - the policy generation, read before the verdict was made: every apply moves it;
 *   - the tick (jiffies): a memo lives at most until the next tick, which bounds what changes
 *     without a generation (an entry the agent deletes, LRU eviction, an idle timeout: the flow
 *     clock is the same reading within a tick) to what the packet in flight between the two hooks
 *     could see anyway.
 * A memo the later hook does not find (another packet took the slot, the next tick, another CPU:
 * GRO hands packets on in batches, so a few are in flight between the hooks) costs the full
 * decision, nothing else. tc ingress rewrites the ESTABLISHED slot of every packet it lets pass
 * (empty unless the flow check said established), so the slot never answers for a packet whose
 * own check said otherwise; only an established packet of a flow of the host's own leaves it as
 * it is (PAL_MEMO_PUT_HOST_FLOW). See docs/datapath.md "Memos between hooks". */
#ifndef PAL_BPF_MEMO_H
#define PAL_BPF_MEMO_H

#include "parse.h"
#include "stages.h"
#include "flow.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_MEMO_KINDS * PAL_MEMO_SLOTS);
	__type(key, __u32);
	__type(value, struct pal_hook_memo);
} hook_memo SEC(".maps");

_Static_assert(__builtin_offsetof(struct pal_pkt, tcp_flags) + 1 == PAL_MEMO_HDR_WORDS * 4,
	       "pal_hook_memo.hdr covers struct pal_pkt's header fields exactly");

/* The packet's header fields as words (struct pal_pkt is 4-byte aligned; the programs zero it
 * before parsing, so unused bytes compare equal). */
static __always_inline const __u32 *pal_memo_words(const struct pal_pkt *p)
{
	return (const __u32 *)p;
}

/* The slot of packet p for memos of kind: a multiplicative hash of its addresses and ports. */
static __always_inline struct pal_hook_memo *pal_memo_slot(__u32 kind, const struct pal_pkt *p)
{
	const __u32 *w = pal_memo_words(p);
	__u32 x = w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[8], y = w[4] ^ w[5] ^ w[6] ^ w[7], k;

	x = (x ^ (y << 16 | y >> 16)) * 0x9e3779b1u;
	k = (kind - 1) * PAL_MEMO_SLOTS + (x >> (32 - PAL_MEMO_SLOT_BITS));
	return bpf_map_lookup_elem(&hook_memo, &k);
}

static __always_inline int pal_memo_hdr_eq(const struct pal_hook_memo *m, const struct pal_pkt *p)
{
	const __u32 *w = pal_memo_words(p);
	__u32 d = 0;
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < PAL_MEMO_HDR_WORDS; i++)
		d |= m->hdr[i] ^ w[i];
	return d == 0;
}

/* Whether memo m is of kind and was made for this packet, interface and configuration, now. */
static __always_inline int pal_memo_matches(const struct pal_hook_memo *m, __u32 kind,
					    const struct pal_pkt *p, __u32 ifindex, __u32 if_flags,
					    __u32 list_id)
{
	return m->kind == kind && m->ifindex == ifindex && m->if_flags == if_flags &&
	       m->list_id == list_id && m->jiffies == bpf_jiffies64() &&
	       m->generation == pal_policy_generation() && pal_memo_hdr_eq(m, p);
}

static __always_inline void pal_memo_write(struct pal_hook_memo *m, __u32 kind, const struct pal_pkt *p,
					   __u32 ifindex, __u32 if_flags, __u32 list_id, __u32 gen)
{
	const __u32 *w = pal_memo_words(p);
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < PAL_MEMO_HDR_WORDS; i++)
		m->hdr[i] = w[i];
	m->jiffies = bpf_jiffies64();
	m->ifindex = ifindex;
	m->generation = gen;
	m->list_id = list_id;
	m->if_flags = if_flags;
	m->kind = kind;
}

/* ---- PRE_IN: XDP -> tc ingress ---- */

/* The untracked ingress list the pre-stages judge on ifc; 0: none, and then they cost two
 * failsafe bitmap reads, less than a memo: no memo is made or looked up. */
static __always_inline __u32 pal_memo_pre_in_list(const struct pal_iface *ifc)
{
	return ifc->lists[PAL_SLOT_UNTRACKED_IN];
}

/* XDP made pre-stage outcome o on packet p (gen: read before it); kept when tc ingress has a use
 * for it: an untracked allow or no decision (a deny dropped the packet; failsafe outcomes take
 * paths of their own at tc ingress and are decided there again). */
static __always_inline void pal_memo_put_pre_in(const struct pal_hookctx *h,
						const struct pal_iface *ifc, const struct pal_pkt *p,
						__u32 gen, const struct pal_outcome *o)
{
	__u32 list_id = pal_memo_pre_in_list(ifc);
	struct pal_hook_memo *m;

	/* a Log rule's counter and event come from each evaluation, as the deciding rule's do: a
	 * memo taken would count the deciding rule again but not the Log rule, so a packet that hit
	 * one is left to tc ingress's full evaluation (review finding: the counts must not depend on
	 * whether a memo was found) */
	if (!list_id || o->logged || (o->what != PAL_O_UNTRACKED && o->what != PAL_O_NONE))
		return;
	m = pal_memo_slot(PAL_MEMO_PRE_IN, p);
	if (!m)
		return;
	m->what = o->what; /* before pal_memo_write, whose last store (kind) makes the memo whole */
	m->rule_id = o->rule_id;
	pal_memo_write(m, PAL_MEMO_PRE_IN, p, h->ifindex, ifc->flags, list_id, gen);
}

/* tc ingress: XDP's outcome for this packet from its memo (1), or 0 when there is none. The
 * deciding rule is counted again, as the classifier would have (rule counters of the pre-stages
 * count at XDP and again at tc ingress when XDP leaves no metadata); a packet that hit a Log rule
 * has no memo, so its Log rule counts (and logs) at both hooks too, like the deciding rule. */
static __always_inline int pal_memo_get_pre_in(const struct pal_hookctx *h,
					       const struct pal_iface *ifc, const struct pal_pkt *p,
					       struct pal_outcome *o)
{
	__u32 list_id = pal_memo_pre_in_list(ifc);
	struct pal_hook_memo *m;

	if (!list_id)
		return 0;
	m = pal_memo_slot(PAL_MEMO_PRE_IN, p);
	if (!m || !pal_memo_matches(m, PAL_MEMO_PRE_IN, p, h->ifindex, ifc->flags, list_id))
		return 0;
	o->what = m->what;
	o->reason = PAL_DROP_NONE;
	o->stage = PAL_DP_STAGE_UNTRACKED;
	o->rule_id = m->rule_id;
	pal_count_rule(m->rule_id, p->len);
	return 1;
}

/* ---- ESTABLISHED: tc ingress -> tc egress ---- */

/* What tc ingress's flow check answered for a packet it lets pass (pal_memo_put_established). */
#define PAL_MEMO_PUT_NOT_EST 0 /* not established by its own tuple's entry: the slot is emptied */
#define PAL_MEMO_PUT_EST 1     /* established by its own tuple's entry: the memo is written */
/* established by a plain hit of a flow the host is an end of (INPUT, LOCAL_OUT): delivered to
 * the host, so tc egress would never take a memo; the slot is left as it is. That changes no
 * answer: a memo in it that matches this packet can only say "established", which this packet's
 * own check has just said too (in this tick, under this generation), and any other memo does
 * not match it. What this saves is the write (~6 ns of the established packet at tc ingress by
 * the `memo` ablation, docs/benchmarks.md). */
#define PAL_MEMO_PUT_HOST_FLOW 2

/* tc ingress lets packet p pass; est: PAL_MEMO_PUT_*, the answer of its own tuple's flow entry
 * (not a "related" ICMP error) under generation gen (read before the flow check). Rewrites the
 * packet's slot but for a flow of the host's own. */
static __always_inline void pal_memo_put_established(const struct pal_hookctx *h,
						     const struct pal_iface *ifc,
						     const struct pal_pkt *p, int est, __u32 gen)
{
	struct pal_hook_memo *m;

	if (est == PAL_MEMO_PUT_HOST_FLOW)
		return;
	m = pal_memo_slot(PAL_MEMO_ESTABLISHED, p);
	if (!m)
		return;
	if (est == PAL_MEMO_PUT_NOT_EST) {
		m->kind = PAL_MEMO_EMPTY;
		return;
	}
	pal_memo_write(m, PAL_MEMO_ESTABLISHED, p, h->ifindex, ifc->flags, 0, gen);
}

/* A packet tc ingress lets pass without the table's answer (a re-judge decided it). */
static __always_inline void pal_memo_forget_established(const struct pal_pkt *p)
{
	struct pal_hook_memo *m = pal_memo_slot(PAL_MEMO_ESTABLISHED, p);

	if (m)
		m->kind = PAL_MEMO_EMPTY;
}

/* tc egress of a packet forwarded from in_ep (ifindex iif): was it found established at tc
 * ingress of iif, in this tick, under the generation in force? Inline: it was a subprogram while
 * inlining it doubled the paths the verifier walks through tc egress (225k -> 275k instructions);
 * with the flow check's plain hit decided inline (flow_judge.h) it no longer does, and the call
 * cost the forwarded established packet ~4 ns. Its locals join tc egress's frame: watch the
 * stack column of `make verifier-stats`. */
static __always_inline int pal_memo_established(__u32 iif, const struct pal_iface *in_ep,
					    const struct pal_pkt *p)
{
	struct pal_hook_memo *m;

	if (!iif || !in_ep || !(in_ep->flags & PAL_IF_HOST) || !pal_flow_trackable(p))
		return 0;
	m = pal_memo_slot(PAL_MEMO_ESTABLISHED, p);
	return m && pal_memo_matches(m, PAL_MEMO_ESTABLISHED, p, iif, in_ep->flags, 0);
}

#endif
