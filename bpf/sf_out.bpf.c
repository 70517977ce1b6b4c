// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Untracked egress of locally generated traffic, decided in raw OUTPUT before conntrack sees the
 * packet: socket filters run by xt_bpf (`-m bpf --object-pinned`), sharing the pinned maps.
 *
 * In raw OUTPUT the skb has no output device yet, so the program cannot learn the interface from
 * the packet; the loader loads one instance of this object per host endpoint with untracked
 * egress policy, with pal_out_ifindex set before load, and the rule that runs it matches `-o
 * IFNAME` first. xt_bpf only asks "match or not", so there are two programs:
 *   sf_untracked_out_deny   matches when the packet must be dropped  (rule: -j DROP)
 *   sf_failsafe_out         matches a failsafe-out port (rule: MARK --or-mark PAL_MARK_FAILSAFE;
 *                           tc egress accepts it; it stays tracked)
 *   sf_untracked_out_allow  matches when untracked policy allows it   (rule: MARK + CT --notrack)
 * The deny rule runs first and does the counting and events; the others evaluate quietly.
 * Failsafe-out is checked here, before NAT, on the destination the process chose; the replies of
 * failsafe-in connections (source port = a failsafe-in port, e.g. sshd's SYN-ACK) match none of
 * the three: untracked policy does not apply to them, they stay tracked (stages.h
 * pal_hep_pre_out). The chain clears palisade's mark bits before any of these rules (SO_MARK is
 * the sender's to choose), so a bit tc egress finds was set here or comes from a sender that
 * bypassed netfilter, which tc egress does not believe without checking.
 * Malformed packets do not match either (tc egress drops them with a reason).
 * Trace mode (trace.h): `polctl trace` runs the three on a host-originated packet as raw OUTPUT
 * would; they decide as always and record, counting nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "palisade/abi.h"
#include "maps.h"
#include "parse.h"
#include "counters.h"
#include "classify.h"
#include "stages.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 pal_out_ifindex = 0;

static __always_inline int pal_untracked_out(struct __sk_buff *skb, __u8 quiet)
{
	struct pal_hookctx h = { .ifindex = pal_out_ifindex, .hook = PAL_HOOK_RAW_OUTPUT,
				 .quiet = quiet };
	struct pal_outcome o = {};
	struct pal_pkt p = {};
	struct pal_iface *ifc;

	h.trace = pal_trace_begin(skb);
	p.len = skb->len;
	if (pal_parse_l3(skb, PAL_CTX_SKB, 0, bpf_ntohs(skb->protocol), &p))
		return PAL_O_NONE;
	if (!p.family || p.always_pass)
		return PAL_O_NONE;
	ifc = pal_iface_get_slot(h.ifindex, &h.slot);
	if (!ifc || !(ifc->flags & PAL_IF_HOST))
		return PAL_O_NONE;
	pal_hep_pre_out(&h, ifc, &p, &o);
	if (quiet)
		return o.what;
	if (o.what == PAL_O_DENY) {
		pal_drop(&h, &p, o.stage, o.reason, o.rule_id); /* in trace mode: recorded only */
		return o.what;
	}
	if (h.trace)
		return o.what;
	if (o.what == PAL_O_FAILSAFE)
		pal_count_if(&h, PAL_VERDICT_FAILSAFE, PAL_DROP_NONE);
	else
		pal_count_if(&h,
			     o.what == PAL_O_ALLOW ? PAL_VERDICT_UNTRACKED : PAL_VERDICT_PASS,
			     PAL_DROP_NONE);
	return o.what;
}

SEC("socket")
int sf_untracked_out_deny(struct __sk_buff *skb)
{
	return pal_untracked_out(skb, 0) == PAL_O_DENY;
}

SEC("socket")
int sf_failsafe_out(struct __sk_buff *skb)
{
	return pal_untracked_out(skb, 1) == PAL_O_FAILSAFE;
}

SEC("socket")
int sf_untracked_out_allow(struct __sk_buff *skb)
{
	return pal_untracked_out(skb, 1) == PAL_O_ALLOW;
}
