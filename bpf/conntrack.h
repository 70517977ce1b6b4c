/* The kernel's conntrack, read through its kfuncs (tc programs only: PAL_WITH_CT). The flow
 * table (flow.h) uses it to relate the tuples of a NAT mapping; tc egress uses it to judge a
 * forwarded packet on the source it had before source NAT (pal_ct_pre_snat_source).
 *
 * struct bpf_ct_opts is not a stable ABI: Linux 6.1 takes 12 bytes, later kernels 16 (and still
 * accept 12). The size passed is pal_ct_opts_size, which the loader sets before load from the
 * running kernel's BTF (agent/dataplane/kernel.c); the struct on our stack is vmlinux.h's, at
 * least as large, and zeroed, so either layout reads only zeros past what it knows. */
#ifndef PAL_BPF_CONNTRACK_H
#define PAL_BPF_CONNTRACK_H

#include "maps.h"
#include "parse.h"

#ifdef PAL_WITH_CT
#define PAL_BPF_F_CURRENT_NETNS (-1)
#define PAL_ENOENT 2 /* the kfunc's "no such connection": not an error */

/* Set by the loader (pal_dp_open) from the kernel's struct bpf_ct_opts; 0 until then, which the
 * kernel refuses: a loader that forgot it gets errors, never a guess. */
const volatile __u32 pal_ct_opts_size = 0;
/* the loader caps pal_ct_opts_size at this (PAL_CT_OPTS_SIZE_ZONE in agent/dataplane/kernel.h) */
_Static_assert(sizeof(struct bpf_ct_opts) == 16, "vmlinux.h's struct bpf_ct_opts is the 16-byte one");

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

/* Looks the packet's tuple (or its reverse) up in this namespace's conntrack. Returns the entry
 * (a reference: bpf_ct_release it) or NULL; *err is 0 when found or when conntrack has no such
 * connection, else the kernel's error (e.g. -EINVAL for an options size it does not take): never
 * to be read as "no connection". *dir is the direction of the tuple that matched
 * (IP_CT_DIR_ORIGINAL/REPLY). */
static __always_inline struct nf_conn *pal_ct_lookup_dir(struct __sk_buff *skb,
							  const struct pal_pkt *p, int reverse,
							  __u8 *dir, int *err)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts opts = {};
	const __u8 *src = reverse ? p->dst : p->src, *dst = reverse ? p->src : p->dst;
	__u16 sp = reverse ? p->dport : p->sport, dp = reverse ? p->sport : p->dport;
	struct nf_conn *ct;
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
	ct = bpf_skb_ct_lookup(skb, &t, sz, &opts, pal_ct_opts_size);
	*dir = opts.dir;
	/* One test of ct, taken at once: 6.1's verifier does not know a tested nf_conn pointer is
	 * non-NULL, so a second test (the compiler emits one when stores sit between the two uses)
	 * follows a "NULL" path that still holds the reference, and the load fails. */
	if (ct) {
		*err = 0;
		return ct;
	}
	*err = opts.error == -PAL_ENOENT ? 0 : (opts.error ? opts.error : -1);
	return 0;
}

/* The conntrack entry of the packet's connection. Conntrack hashes a connection under its
 * original and its reply tuple; a packet already NATed (after DNAT, in the original direction)
 * carries neither, but its reverse is the reply tuple, so that is tried second. The kfunc relates
 * TCP and UDP only. *err as pal_ct_lookup_dir's. */
/* As pal_ct_lookup, and *pdir: the conntrack direction the packet travels in (IP_CT_DIR_*): the
 * matched tuple's when the packet's own tuple matched, the other one when its reverse did. */
static __always_inline struct nf_conn *pal_ct_lookup_pdir(struct __sk_buff *skb,
							  const struct pal_pkt *p, int *err,
							  __u8 *pdir)
{
	struct nf_conn *ct;
	__u8 dir = 0;

	*err = 0;
	*pdir = 0;
	if (!p->family || !p->has_ports ||
	    (p->proto != PAL_IPPROTO_TCP && p->proto != PAL_IPPROTO_UDP))
		return 0;
	ct = pal_ct_lookup_dir(skb, p, 0, &dir, err);
	if (ct) {
		*pdir = dir ? 1 : 0;
		return ct;
	}
	if (*err)
		return 0;
	ct = pal_ct_lookup_dir(skb, p, 1, &dir, err);
	*pdir = dir ? 0 : 1;
	return ct;
}

static __always_inline struct nf_conn *pal_ct_lookup(struct __sk_buff *skb,
						     const struct pal_pkt *p, int *err)
{
	__u8 pdir;

	return pal_ct_lookup_pdir(skb, p, err, &pdir);
}

/* ---- the packet's connection, in one lookup (struct pal_ct_view) -----------------------------
 *
 * Which tuple names a tracked packet's connection depends on where the hook is. Before this
 * namespace's NAT (tc ingress) the packet carries its own direction's tuple as conntrack hashed
 * it. After all of it (tc egress: PREROUTING or OUTPUT and POSTROUTING are behind it) it carries
 * the reverse of the other direction's tuple, whatever NAT did: that is what conntrack's tuples
 * are (a DNATed or SNATed packet in the original direction is the reverse of the reply tuple, an
 * un-NATed reply the reverse of the original tuple). So one lookup answers at each hook: the
 * packet's tuple at tc ingress, its reverse at tc egress; the other one only ever matched a
 * connection conntrack itself would not give the packet. Where conntrack is not active every
 * lookup misses, at ~95 ns each in BPF_PROG_TEST_RUN (docs/benchmarks.md "Cost model").
 *
 * A view keeps what the flow code reads from the connection (its tuples as flow keys, its status,
 * the packet's direction), with the packet tuple it was made for: tc egress asks for a new flow's
 * connection three times (the flow check's miss, the source before SNAT, the flow's NAT tuples),
 * and they share one lookup (flow.h pal_flow_ct_view). */
#define PAL_CT_VIEW_PKT_WORDS 9 /* struct pal_pkt's src, dst, sport and dport */

struct pal_ct_view {
	struct pal_flow_key tuple[2]; /* IP_CT_DIR_ORIGINAL, _REPLY (pal_ct_tuple_key, unreversed) */
	__u32 pkt[PAL_CT_VIEW_PKT_WORDS]; /* the packet's addresses and ports it was made for */
	__u32 status;			  /* the connection's IPS_* */
	__s32 err;  /* the lookup's error: never read as "no connection" */
	__u8 family, proto;
	__u8 valid;   /* made in this run of the hook (flow.h) */
	__u8 reverse; /* looked up by the packet's reverse (tc egress) */
	__u8 found;
	__u8 pdir; /* the conntrack direction the packet travels in (IP_CT_DIR_*) */
	__u8 pad[2];
};

/* Is view v made for packet p and lookup order `reverse`? */
static __always_inline int pal_ct_view_is_for(const struct pal_ct_view *v, const struct pal_pkt *p,
					      int reverse)
{
	const __u32 *w = (const __u32 *)p;
	__u32 d = 0;
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < PAL_CT_VIEW_PKT_WORDS; i++)
		d |= v->pkt[i] ^ w[i];
	return v->valid && d == 0 && v->reverse == reverse && v->family == p->family &&
	       v->proto == p->proto;
}

/* Looks packet p's connection up (its reverse tuple when `reverse`) and keeps what the flow code
 * reads in v. The kfunc relates TCP and UDP only. */
static __always_inline void pal_ct_view_load(struct __sk_buff *skb, const struct pal_pkt *p,
					     int reverse, struct pal_ct_view *v)
{
	const __u32 *w = (const __u32 *)p;
	struct nf_conn *ct;
	int i;

	for (i = 0; i < PAL_CT_VIEW_PKT_WORDS; i++)
		v->pkt[i] = w[i];
	v->family = p->family;
	v->proto = p->proto;
	v->reverse = reverse;
	v->found = 0;
	v->pdir = 0;
	v->status = 0;
	v->err = 0;
	v->valid = 1;
	if (!p->family || !p->has_ports ||
	    (p->proto != PAL_IPPROTO_TCP && p->proto != PAL_IPPROTO_UDP))
		return;
	/* the lookup writes its error and direction straight into v: this frame sits on tc
	 * egress's deepest call chain, which the kernel limits to 512 bytes */
	ct = pal_ct_lookup_dir(skb, p, reverse, &v->pdir, &v->err);
	if (!ct)
		return; /* v->pdir: opts.dir, 0 (the options start zeroed) */
	pal_ct_tuple_key(&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple, p->family, p->is_echo, 0,
			 &v->tuple[IP_CT_DIR_ORIGINAL]);
	pal_ct_tuple_key(&ct->tuplehash[IP_CT_DIR_REPLY].tuple, p->family, p->is_echo, 0,
			 &v->tuple[IP_CT_DIR_REPLY]);
	v->status = ct->status;
	/* the packet's own tuple matched: it travels as that tuple; its reverse: against it */
	v->pdir = (v->pdir ? 1 : 0) ^ (reverse ? 1 : 0);
	v->found = 1;
	bpf_ct_release(ct);
}

/* pal_ct_view_load for the tc hooks. Not inlined: the lookup's tuple and options stay out of the
 * callers' frames. Global (not static): the verifier checks it once, not once per call site and
 * caller state, which took Linux 6.1 past its 1,000,000-instruction limit in tc egress; so p and
 * v may be NULL to it, and the caller's memory behind them must be initialised. Never called
 * from a socket filter's code, not even dead code: 6.1 checks every global function a program
 * holds, and a socket filter may not call the conntrack kfuncs. Returns 0. */
__noinline int pal_ct_view_fill(struct __sk_buff *skb, const struct pal_pkt *p, int reverse,
				struct pal_ct_view *v)
{
	if (p && v)
		pal_ct_view_load(skb, p, reverse, v);
	return 0;
}

/* ---- the source before SNAT ------------------------------------------------------------------ */

/* The source a forwarded packet had before netfilter's source NAT (MASQUERADE, SNAT), which ran
 * in POSTROUTING, before tc egress. Calico judges forward and workload policy in FORWARD, before
 * SNAT; so does palisade, with this source.
 *
 * From view v of the packet (made by its reverse tuple, as at tc egress): returns 1 and puts that
 * source (address and port) into p when conntrack says the connection is source-NATed
 * (IPS_SRC_NAT) and this packet travels in its original direction: the packet, as it leaves, is
 * then the reverse of the connection's reply tuple, and the original tuple's source is the
 * client's address and port as the kernel saw them arrive. 0 when the connection is not
 * source-NATed, the packet is a reply, or conntrack has no entry (or cannot look up this
 * protocol: TCP and UDP only); < 0 on a conntrack error (the caller must not fall back to the
 * packet's source).
 *
 * Why a client cannot choose the source judged here: the reply tuple is unique in the table
 * (NAT picks a free one, confirmation refuses clashes), so a tracked packet that left with this
 * tuple is that connection's; the original tuple's source is what arrived on the wire. */
static __always_inline int pal_ct_view_pre_snat_source(const struct pal_ct_view *v,
						       struct pal_pkt *p)
{
	if (v->err)
		return v->err;
	if (!v->found || !v->reverse || v->pdir != IP_CT_DIR_ORIGINAL ||
	    !(v->status & IPS_SRC_NAT))
		return 0;
	__builtin_memcpy(p->src, v->tuple[IP_CT_DIR_ORIGINAL].src, sizeof(p->src));
	p->sport = v->tuple[IP_CT_DIR_ORIGINAL].sport;
	return 1;
}

/* The same with a lookup of its own (the re-judge's packet is the flow's, not the hook's). Not
 * inlined: its frame stays out of the callers', whose stack the classifier's frames sit on. */
static __noinline int pal_ct_pre_snat_source(struct __sk_buff *skb, struct pal_pkt *p)
{
	struct pal_ct_view v;

	/* the view inline, not pal_ct_view_fill: a socket filter's re-judge holds this function
	 * (dead there, without an skb) */
	pal_ct_view_load(skb, p, 1, &v);
	return pal_ct_view_pre_snat_source(&v, p);
}

/* The connection's tuple as it arrived (conntrack's original tuple: before DNAT and SNAT) into p,
 * for a packet of the flow in either direction as the flow table keeps it. Returns 1 when p was
 * replaced, 0 when conntrack has no entry (then p is how it arrived: nothing was translated), < 0
 * on a conntrack error. TCP and UDP only (the kfunc's). Not inlined: its frame stays out of the
 * classifier's call chain. */
static __noinline int pal_ct_original_tuple(struct __sk_buff *skb, struct pal_pkt *p)
{
	const struct nf_conntrack_tuple *orig;
	struct nf_conn *ct;
	int err = 0;

	ct = pal_ct_lookup(skb, p, &err);
	if (!ct)
		return err;
	orig = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	__builtin_memset(p->src, 0, sizeof(p->src));
	__builtin_memset(p->dst, 0, sizeof(p->dst));
	if (p->family == 4) {
		__builtin_memcpy(p->src, &orig->src.u3.ip, 4);
		__builtin_memcpy(p->dst, &orig->dst.u3.ip, 4);
	} else {
		__builtin_memcpy(p->src, orig->src.u3.ip6, 16);
		__builtin_memcpy(p->dst, orig->dst.u3.ip6, 16);
	}
	p->sport = bpf_ntohs(orig->src.u.all);
	p->dport = bpf_ntohs(orig->dst.u.all);
	bpf_ct_release(ct);
	return 1;
}

/* Puts the packet's own source (address and port, as it leaves) back into p after
 * pal_ct_pre_snat_source: the packet still carries it. Returns 0, or -1 when it cannot be read
 * (then p is not the packet's: the caller must not enter it into flow state). Global (checked
 * once, not once per caller state: Linux 6.1's limit), so p may be NULL to the verifier. */
__noinline int pal_ct_wire_source(struct __sk_buff *skb, struct pal_pkt *p)
{
	__u8 port[2];

	if (!p)
		return -1;
	if (p->family == 4) {
		if (bpf_skb_load_bytes(skb, p->l3_off + 12, p->src, 4))
			return -1;
	} else if (bpf_skb_load_bytes(skb, p->l3_off + 8, p->src, 16)) {
		return -1;
	}
	if (bpf_skb_load_bytes(skb, p->l4_off, port, 2))
		return -1;
	p->sport = ((__u16)port[0] << 8) | port[1];
	return 0;
}
#endif

#endif
