/* Flow state: palisade's own LRU table of allowed tracked flows, plus the kernel's conntrack read
 * through kfuncs to relate the two tuples of a NAT mapping.
 *
 * When a hook allows a new tracked flow it enters the packet's tuple and its reverse. tc hooks
 * then also ask conntrack (bpf_skb_ct_lookup) for the connection and enter both directions of its
 * original and reply tuples, so the flow is known under every address it shows at any hook: the
 * NodePort before DNAT, the backend after it, and the un-NATed reply. A hook that misses the
 * table but finds a conntrack entry whose tuples are in the table treats the packet as
 * established too (the socket filters cannot call kfuncs; their flows are found this way by the
 * tc hooks). See docs/datapath.md "Flow state".
 */
#ifndef PAL_BPF_FLOW_H
#define PAL_BPF_FLOW_H

#include "maps.h"
#include "parse.h"
#include "conntrack.h"

static __always_inline void pal_flow_key(const struct pal_pkt *p, int reverse,
					 struct pal_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	if (p->is_echo) {
		k->sport = p->icmp_id;
		k->dport = p->icmp_id;
	} else if (p->has_ports) {
		k->sport = reverse ? p->dport : p->sport;
		k->dport = reverse ? p->sport : p->dport;
	}
	if (reverse) {
		__builtin_memcpy(k->src, p->dst, 16);
		__builtin_memcpy(k->dst, p->src, 16);
	} else {
		__builtin_memcpy(k->src, p->src, 16);
		__builtin_memcpy(k->dst, p->dst, 16);
	}
}

/* Only packets with a flow identity are tracked: TCP/UDP/SCTP with ports, ICMP echo. Others
 * (non-echo ICMP, other protocols, non-first fragments) are classified every time. */
static __always_inline int pal_flow_trackable(const struct pal_pkt *p)
{
	return p->family && (p->has_ports || p->is_echo);
}

static __always_inline int pal_flow_known(const struct pal_flow_key *k)
{
	struct pal_flow *f = bpf_map_lookup_elem(&pal_flows, k);

	if (!f)
		return 0;
	{
		__u64 now = bpf_ktime_get_ns();

		/* refresh at most every second: avoid a cache-line write per packet */
		if (now - f->last_ns > 1000000000ULL)
			f->last_ns = now;
	}
	return 1;
}

static __always_inline int pal_flow_lookup(const struct pal_pkt *p)
{
	struct pal_flow_key k;

	if (!pal_flow_trackable(p))
		return 0;
	pal_flow_key(p, 0, &k);
	return pal_flow_known(&k);
}

static __always_inline void pal_flow_put(const struct pal_flow_key *k, __u32 ifindex, __u8 hook,
					 __u8 stage, __u32 rule_id, __u32 flags)
{
	struct pal_flow v = {};

	v.created_ns = bpf_ktime_get_ns();
	v.last_ns = v.created_ns;
	v.ifindex = ifindex;
	v.flags = flags;
	v.rule_id = rule_id;
	v.hook = hook;
	v.stage = stage;
	bpf_map_update_elem(&pal_flows, k, &v, BPF_ANY);
}

static __always_inline void pal_flow_insert(const struct pal_pkt *p, __u32 ifindex, __u8 hook,
					    __u8 stage, __u32 rule_id)
{
	struct pal_flow_key k;

	if (!pal_flow_trackable(p))
		return;
	pal_flow_key(p, 0, &k);
	pal_flow_put(&k, ifindex, hook, stage, rule_id, 0);
	pal_flow_key(p, 1, &k);
	pal_flow_put(&k, ifindex, hook, stage, rule_id, PAL_FLOW_REPLY);
}

/* ---- ICMP errors related to a flow ---------------------------------------------------------- */

/* An ICMP error (destination unreachable, e.g. "fragmentation needed" for path MTU discovery; time
 * exceeded; parameter problem) quotes the header of the packet it answers. When that quoted packet
 * belongs to a flow palisade allowed, the error is part of the flow (conntrack's RELATED), not a
 * new packet for policy. Not inlined: its stack frame stays out of the callers'. */
static __noinline int pal_flow_related(struct __sk_buff *skb, const struct pal_pkt *p)
{
	struct pal_flow_key k = {};
	__u32 off, ihl;
	__u8 h[40], l4[4];

	if (!p->is_icmp || p->frag == PAL_FRAG_LATER)
		return 0;
	off = p->l4_off + 8;
	if (p->family == 4 && p->proto == PAL_IPPROTO_ICMP &&
	    (p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12)) {
		if (bpf_skb_load_bytes(skb, off, h, 20) || (h[0] >> 4) != 4)
			return 0;
		ihl = (h[0] & 0xf) * 4;
		if (ihl < 20)
			return 0;
		k.family = 4;
		k.proto = h[9];
		__builtin_memcpy(k.src, &h[12], 4);
		__builtin_memcpy(k.dst, &h[16], 4);
		off += ihl;
	} else if (p->family == 6 && p->proto == PAL_IPPROTO_ICMPV6 && p->icmp_type >= 1 &&
		   p->icmp_type <= 4) {
		if (bpf_skb_load_bytes(skb, off, h, 40) || (h[0] >> 4) != 6)
			return 0;
		k.family = 6;
		k.proto = h[6]; /* a quoted packet with extension headers is not related here */
		__builtin_memcpy(k.src, &h[8], 16);
		__builtin_memcpy(k.dst, &h[24], 16);
		off += 40;
	} else {
		return 0;
	}
	if (k.proto != PAL_IPPROTO_TCP && k.proto != PAL_IPPROTO_UDP && k.proto != PAL_IPPROTO_SCTP)
		return 0;
	if (bpf_skb_load_bytes(skb, off, l4, 4))
		return 0;
	k.sport = ((__u16)l4[0] << 8) | l4[1];
	k.dport = ((__u16)l4[2] << 8) | l4[3];
	return bpf_map_lookup_elem(&pal_flows, &k) != 0;
}

/* ---- conntrack (tc programs only) ------------------------------------------------------------ */

#ifdef PAL_WITH_CT
/* Established through conntrack: one of the connection's tuples is a flow we allowed. Enters the
 * packet's own tuple so the next packet hits the table directly. A conntrack error is "not
 * known": the packet meets policy as a new one. */
static __noinline int pal_flow_lookup_ct(struct __sk_buff *skb, const struct pal_pkt *p)
{
	struct pal_flow_key k;
	int known = 0, d, err;
	struct nf_conn *ct = pal_ct_lookup(skb, p, &err);

	if (!ct)
		return 0;
	for (d = 0; d < 2 && !known; d++) {
		pal_ct_tuple_key(&ct->tuplehash[d].tuple, p->family, p->is_echo, 0, &k);
		known = pal_flow_known(&k);
	}
	bpf_ct_release(ct);
	if (known) {
		pal_flow_key(p, 0, &k);
		pal_flow_put(&k, 0, 0, PAL_DP_STAGE_NONE, PAL_RULE_ID_NONE, PAL_FLOW_NAT);
	}
	return known;
}

/* After an allow: also enter both directions of both conntrack tuples (NAT). Not inlined: keeps
 * the callers' stack frames small enough for the classifier's frames on top. */
static __noinline void pal_flow_insert_ct(struct __sk_buff *skb, const struct pal_pkt *p,
					  __u32 ifindex, __u32 hook_stage, __u32 rule_id)
{
	__u8 hook = hook_stage >> 8, stage = hook_stage & 0xff;
	struct pal_flow_key k;
	struct nf_conn *ct;
	int d, err;

	pal_flow_insert(p, ifindex, hook, stage, rule_id);
	ct = pal_ct_lookup(skb, p, &err); /* on an error the NAT tuples stay unknown: fail closed */
	if (!ct)
		return;
	for (d = 0; d < 2; d++) {
		pal_ct_tuple_key(&ct->tuplehash[d].tuple, p->family, p->is_echo, 0, &k);
		pal_flow_put(&k, ifindex, hook, stage, rule_id, PAL_FLOW_NAT);
		pal_ct_tuple_key(&ct->tuplehash[d].tuple, p->family, p->is_echo, 1, &k);
		pal_flow_put(&k, ifindex, hook, stage, rule_id, PAL_FLOW_NAT | PAL_FLOW_REPLY);
	}
	bpf_ct_release(ct);
}
#endif

#endif
