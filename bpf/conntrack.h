/* The kernel's conntrack, read through its kfuncs (tc programs only: PAL_WITH_CT). The flow
 * table (flow.h) uses it to relate the tuples of a NAT mapping. */
#ifndef PAL_BPF_CONNTRACK_H
#define PAL_BPF_CONNTRACK_H

#include "maps.h"
#include "parse.h"

#ifdef PAL_WITH_CT
#define PAL_BPF_F_CURRENT_NETNS (-1)
#define PAL_CT_OPTS_SZ 16

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

static __always_inline void pal_ct_tuple_key(const struct nf_conntrack_tuple *t, __u8 family,
					     __u8 is_echo, int reverse, struct pal_flow_key *k)
{
	__u16 sp, dp;

	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = t->dst.protonum;
	if (is_echo) {
		sp = dp = bpf_ntohs(t->src.u.icmp.id);
	} else {
		sp = bpf_ntohs(t->src.u.all);
		dp = bpf_ntohs(t->dst.u.all);
	}
	k->sport = reverse ? dp : sp;
	k->dport = reverse ? sp : dp;
	if (family == 4) {
		__builtin_memcpy(reverse ? k->dst : k->src, &t->src.u3.ip, 4);
		__builtin_memcpy(reverse ? k->src : k->dst, &t->dst.u3.ip, 4);
	} else {
		__builtin_memcpy(reverse ? k->dst : k->src, t->src.u3.ip6, 16);
		__builtin_memcpy(reverse ? k->src : k->dst, t->dst.u3.ip6, 16);
	}
}

static __always_inline struct nf_conn *pal_ct_lookup_dir(struct __sk_buff *skb,
							  const struct pal_pkt *p, int reverse)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts opts = {};
	const __u8 *src = reverse ? p->dst : p->src, *dst = reverse ? p->src : p->dst;
	__u16 sp = reverse ? p->dport : p->sport, dp = reverse ? p->sport : p->dport;
	__u32 sz;

	opts.netns_id = PAL_BPF_F_CURRENT_NETNS;
	opts.l4proto = p->proto;
	if (p->family == 4) {
		__builtin_memcpy(&t.ipv4.saddr, src, 4);
		__builtin_memcpy(&t.ipv4.daddr, dst, 4);
		t.ipv4.sport = bpf_htons(sp);
		t.ipv4.dport = bpf_htons(dp);
		sz = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, src, 16);
		__builtin_memcpy(t.ipv6.daddr, dst, 16);
		t.ipv6.sport = bpf_htons(sp);
		t.ipv6.dport = bpf_htons(dp);
		sz = sizeof(t.ipv6);
	}
	return bpf_skb_ct_lookup(skb, &t, sz, &opts, PAL_CT_OPTS_SZ);
}

/* The conntrack entry of the packet's connection. Conntrack hashes a connection under its
 * original and its reply tuple; a packet already NATed (after DNAT, in the original direction)
 * carries neither, but its reverse is the reply tuple, so that is tried second. The kfunc relates
 * TCP and UDP only. */
static __always_inline struct nf_conn *pal_ct_lookup(struct __sk_buff *skb,
						     const struct pal_pkt *p)
{
	struct nf_conn *ct;

	if (!p->family || !p->has_ports ||
	    (p->proto != PAL_IPPROTO_TCP && p->proto != PAL_IPPROTO_UDP))
		return 0;
	ct = pal_ct_lookup_dir(skb, p, 0);
	if (!ct)
		ct = pal_ct_lookup_dir(skb, p, 1);
	return ct;
}
#endif

#endif
