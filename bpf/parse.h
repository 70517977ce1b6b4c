/* Packet parsing with a bounds-checked cursor.
 *
 * The cursor is an offset; every header is copied out with the program type's load helper
 * (bpf_xdp_load_bytes, bpf_skb_load_bytes), which fails when the packet is shorter than asked;
 * the front of an untagged frame is copied straight from the packet when it is all there
 * (pal_load_front).
 * A failed load is an explicit outcome (a PAL_DROP_TRUNC_* reason), never a missing check, and the
 * verifier has no packet-pointer ranges to track through the IPv6 extension header loop. The same
 * parser serves XDP, tc (offset 0 = Ethernet) and socket filters run by xt_bpf (offset 0 = IP).
 *
 * Fragments: the first fragment is parsed like any packet. A non-first fragment has no L4 header:
 * it is returned with has_ports = 0 and is_icmp = 0 (frag = PAL_FRAG_LATER) and its IP id
 * (frag_id), so the hooks can let it follow its first fragment (frag.h); without that the
 * classifier sees it as a packet without ports. The IPv6 walk stops at a non-first Fragment
 * header: what follows is payload (see docs/datapath.md, "Fragments").
 */
#ifndef PAL_BPF_PARSE_H
#define PAL_BPF_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "palisade/abi.h"

#define PAL_ETH_P_IP 0x0800
#define PAL_ETH_P_IPV6 0x86DD
#define PAL_ETH_P_ARP 0x0806
#define PAL_ETH_P_8021Q 0x8100
#define PAL_ETH_P_8021AD 0x88A8

#define PAL_IPPROTO_ICMP 1
#define PAL_IPPROTO_TCP 6
#define PAL_IPPROTO_UDP 17
#define PAL_IPPROTO_ICMPV6 58
#define PAL_IPPROTO_SCTP 132

#define PAL_FRAG_NONE 0
#define PAL_FRAG_FIRST 1
#define PAL_FRAG_LATER 2

/* Which load helper the program type has, and whether it may read the packet directly (XDP and
 * tc; socket filters may not). Always a compile-time constant at the call site. */
enum pal_ctx_kind { PAL_CTX_XDP, PAL_CTX_TC, PAL_CTX_SKB };

struct pal_pkt {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport, dport; /* host order, valid when has_ports */
	union {
		__u16 icmp_id;    /* echo identifier, valid when is_echo */
		/* TCP SYN-ACK: the acknowledgement number's low 16 bits (flow.h
		 * pal_flow_synack_acks), loaded by the flow check (flow_judge.h
		 * pal_flow_load_ack), not here: filled for every packet it cost each hook 8 to 16
		 * bytes of stack, tc egress past its 512-byte limit; a 32-bit field grows pal_pkt */
		__u16 tcp_ack_lo;
	};
	__u8 family;        /* 4, 6, or 0 when the packet is not IP */
	__u8 proto;
	__u8 icmp_type, icmp_code;
	__u8 has_ports;
	__u8 is_icmp;
	__u8 is_echo; /* ICMP(v6) echo request/reply: tracked by identifier */
	__u8 frag;    /* PAL_FRAG_* */
	__u8 always_pass; /* ARP, IPv6 neighbour discovery (ICMPv6 133-137, pal_ipv6_checked) */
	__u8 tcp_flags;   /* TCP: the flags byte (PAL_TCP_*), for the flow lifecycle */
	__u32 l3_off, l4_off;
	__u32 len;     /* bytes, for counters */
	/* One word for two fields no packet needs both of (pal_pkt's size is on every hook's
	 * stack, at its 512-byte limit with the classifier's frames on top). */
	union {
		__u32 frag_id; /* fragments: IPv4 identification / IPv6 fragment identification */
		/* TCP, frag == PAL_FRAG_NONE only: the sequence number, host order (flow.h checks an
		 * RST's against the flow's); a first fragment's is not kept (pal_pkt_has_seq) */
		__u32 tcp_seq;
	};
};

/* Whether p->tcp_seq holds TCP packet p's sequence number (not a fragment's identification). */
static __always_inline int pal_pkt_has_seq(const struct pal_pkt *p)
{
	return p->frag == PAL_FRAG_NONE;
}

#define PAL_TCP_FIN 0x01
#define PAL_TCP_SYN 0x02
#define PAL_TCP_RST 0x04
#define PAL_TCP_ACK 0x10

static __always_inline long pal_load(void *ctx, enum pal_ctx_kind kind, __u32 off, void *buf,
				     __u32 len)
{
	if (kind == PAL_CTX_XDP)
		return bpf_xdp_load_bytes(ctx, off, buf, len);
	return bpf_skb_load_bytes(ctx, off, buf, len);
}

/* The packet's linear data, data .. end, where the program type may read it (XDP, tc); -1 for a
 * socket filter. */
static __always_inline int pal_pkt_data(void *ctx, enum pal_ctx_kind kind, void **data, void **end)
{
	if (kind == PAL_CTX_XDP) {
		*data = (void *)(long)((struct xdp_md *)ctx)->data;
		*end = (void *)(long)((struct xdp_md *)ctx)->data_end;
		return 0;
	}
	if (kind == PAL_CTX_TC) {
		*data = (void *)(long)((struct __sk_buff *)ctx)->data;
		*end = (void *)(long)((struct __sk_buff *)ctx)->data_end;
		return 0;
	}
	return -1;
}

/* The front of an untagged frame: Ethernet (14), then IPv4 (20) and 20 bytes of L4 when the IPv4
 * header has no options, or a whole IPv6 header (40). */
#define PAL_FRONT_LEN (14 + 20 + 20)

/* Copies the first PAL_FRONT_LEN bytes of the frame straight from the packet (XDP, tc), with
 * 8-byte loads into buf (8-byte aligned: stack accesses must be). Returns -1, copying nothing,
 * when they are not all in the linear data (a shorter frame, paged data) or the program type may
 * not read the packet: the caller then takes the helper loads, as before. The offset is a
 * constant on purpose: a variable one would make the verifier track its range precisely through
 * the IPv6 extension header walk, which multiplied its states past its limit. */
static __always_inline int pal_load_front(void *ctx, enum pal_ctx_kind kind, __u8 *buf)
{
	void *data, *end;
	__u32 i;

	if (pal_pkt_data(ctx, kind, &data, &end))
		return -1;
	if (data + PAL_FRONT_LEN > end)
		return -1;
#pragma clang loop unroll(full)
	for (i = 0; i + 8 <= PAL_FRONT_LEN; i += 8)
		*(__u64 *)(buf + i) = *(__u64 *)(data + i);
	*(__u32 *)(buf + i) = *(__u32 *)(data + i);
	*(__u16 *)(buf + i + 4) = *(__u16 *)(data + i + 4);
	return 0;
}

/* Where the L4 header of an untagged IPv6 frame without extension headers starts. */
#define PAL_FRONT6_L4_OFF (14 + 40)

/* The first bytes of that L4 header straight from the packet (XDP, tc; after pal_load_front
 * found the IPv6 header there): 20 (TCP's whole header) when they are in the linear data, else 8
 * (UDP, SCTP, ICMP). Returns how many were copied, 0 for none (the caller then loads them). A
 * constant offset, as pal_load_front's. */
static __always_inline __u32 pal_load_front6_l4(void *ctx, enum pal_ctx_kind kind, __u8 *buf)
{
	void *data, *end;

	if (pal_pkt_data(ctx, kind, &data, &end))
		return 0;
	if (data + PAL_FRONT6_L4_OFF + 8 > end)
		return 0;
	*(__u64 *)buf = *(__u64 *)(data + PAL_FRONT6_L4_OFF);
	if (data + PAL_FRONT6_L4_OFF + 20 > end)
		return 8;
	*(__u64 *)(buf + 8) = *(__u64 *)(data + PAL_FRONT6_L4_OFF + 8);
	*(__u32 *)(buf + 16) = *(__u32 *)(data + PAL_FRONT6_L4_OFF + 16);
	return 20;
}

/* The ports of TCP, UDP and SCTP: the first four bytes of their headers, big-endian. */
static __always_inline void pal_read_ports(struct pal_pkt *p, const __u8 *l4)
{
	p->sport = ((__u16)l4[0] << 8) | l4[1];
	p->dport = ((__u16)l4[2] << 8) | l4[3];
	p->has_ports = 1;
}

/* L4 of a first or unfragmented packet: from l4 when the caller has its first 20 bytes already
 * (pal_load_front), else loaded. */
static __always_inline int pal_parse_l4(void *ctx, enum pal_ctx_kind kind, struct pal_pkt *p,
					const __u8 *l4)
{
	__u8 b[20];

	if (p->frag == PAL_FRAG_LATER)
		return PAL_DROP_NONE;
	switch (p->proto) {
	case PAL_IPPROTO_TCP:
		/* the full 20-byte header must be there: one load (a helper call per load is a
		 * measurable part of the per-packet cost) for the ports and the flags */
		if (!l4 && pal_load(ctx, kind, p->l4_off, b, 20))
			return PAL_DROP_TRUNC_L4;
		if (!l4)
			l4 = b;
		p->tcp_flags = l4[13];
		if (pal_pkt_has_seq(p)) {
			__u32 w;

			__builtin_memcpy(&w, l4 + 4, 4);
			p->tcp_seq = bpf_ntohl(w);
		}
		pal_read_ports(p, l4);
		return PAL_DROP_NONE;
	case PAL_IPPROTO_UDP:
	case PAL_IPPROTO_SCTP:
		if (!l4 && pal_load(ctx, kind, p->l4_off, b, 8))
			return PAL_DROP_TRUNC_L4; /* UDP 8, SCTP common header 12 (ports+vtag in 8) */
		if (!l4)
			l4 = b;
		pal_read_ports(p, l4);
		return PAL_DROP_NONE;
	case PAL_IPPROTO_ICMP:
	case PAL_IPPROTO_ICMPV6:
		/* Both protocols carry a type/code key in either family, as flatten.h's keys do. */
		if (!l4 && pal_load(ctx, kind, p->l4_off, b, 8))
			return PAL_DROP_TRUNC_L4;
		if (!l4)
			l4 = b;
		p->is_icmp = 1;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->icmp_id = ((__u16)l4[4] << 8) | l4[5];
		if (p->proto == PAL_IPPROTO_ICMP)
			p->is_echo = l4[0] == 8 || l4[0] == 0;
		else
			p->is_echo = l4[0] == 128 || l4[0] == 129;
		/* neighbour discovery, by protocol and type as the reference evaluator has it: ICMPv6
		 * in IPv6 only (protocol 58 inside IPv4 is no neighbour discovery) */
		if (p->family == 6 && p->proto == PAL_IPPROTO_ICMPV6 && l4[0] >= 133 && l4[0] <= 137)
			p->always_pass = 1;
		return PAL_DROP_NONE;
	}
	return PAL_DROP_NONE;
}

/* The IPv4 header's first 20 bytes h, loaded from p->l3_off, and what follows them (l4: the 20
 * bytes after h when the caller has them, used when the header has no options). */
static __always_inline int pal_parse_ipv4_hdr(void *ctx, enum pal_ctx_kind kind, struct pal_pkt *p,
					      const __u8 *h, const __u8 *l4)
{
	__u32 ihl;
	__u16 tot, frag;

	if ((h[0] >> 4) != 4)
		return PAL_DROP_BAD_IP;
	ihl = (h[0] & 0xf) * 4;
	if (ihl < 20)
		return PAL_DROP_BAD_IP;
	tot = ((__u16)h[2] << 8) | h[3];
	if (tot < ihl)
		return PAL_DROP_BAD_IP;
	if (ihl > 20) {
		__u8 last;
		/* options: the whole header must be present */
		if (pal_load(ctx, kind, p->l3_off + ihl - 1, &last, 1))
			return PAL_DROP_TRUNC_L3;
	}
	frag = ((__u16)h[6] << 8) | h[7];
	p->frag_id = ((__u32)h[4] << 8) | h[5];
	if (frag & 0x1fff)
		p->frag = PAL_FRAG_LATER;
	else if (frag & 0x2000)
		p->frag = PAL_FRAG_FIRST;
	p->family = 4;
	p->proto = h[9];
	__builtin_memcpy(p->src, &h[12], 4);
	__builtin_memcpy(p->dst, &h[16], 4);
	p->l4_off = p->l3_off + ihl;
	return pal_parse_l4(ctx, kind, p, ihl == 20 ? l4 : 0);
}

static __always_inline int pal_parse_ipv4(void *ctx, enum pal_ctx_kind kind, struct pal_pkt *p)
{
	__u8 h[20];

	if (pal_load(ctx, kind, p->l3_off, h, 20))
		return PAL_DROP_TRUNC_L3;
	return pal_parse_ipv4_hdr(ctx, kind, p, h, 0);
}

#define PAL_NEXTHDR_HOP 0
#define PAL_NEXTHDR_ROUTING 43
#define PAL_NEXTHDR_FRAGMENT 44
#define PAL_NEXTHDR_AH 51
#define PAL_NEXTHDR_DEST 60

static __always_inline int pal_ipv6_ext(__u8 nh)
{
	return nh == PAL_NEXTHDR_HOP || nh == PAL_NEXTHDR_ROUTING || nh == PAL_NEXTHDR_FRAGMENT ||
	       nh == PAL_NEXTHDR_AH || nh == PAL_NEXTHDR_DEST;
}

/* Whether a (p->src or p->dst: 4-byte aligned) is IPv4-mapped, ::ffff:0:0/96. Such an address
 * never belongs on the wire (RFC 4291; Linux refuses to send one), yet Linux takes it in: UDP
 * hands it to a dual-stack socket as the IPv4 peer a.b.c.d, which IPv4 rules never judged (an
 * IPv6 packet meets IPv6 nets only), and answers over IPv4. */
static __always_inline int pal_ipv6_v4mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return !w[0] && !w[1] && w[2] == bpf_htonl(0xffff);
}

/* What the IPv6 parse decided (reason), or PAL_DROP_BAD_IP for an IPv4-mapped address. Checked
 * after the parse, where few registers are live: inside pal_parse_ipv6_hdr the check cost the
 * hooks 8 bytes of stack, which took tc_egress's chain to 6.1's 512-byte limit.
 * Neighbour discovery passes unjudged only as the kernel takes it: hop limit 255 (RFC 4861: it
 * never crossed a router) and not fragmented (RFC 6980). Linux's ndisc drops any other, but a raw
 * ICMPv6 socket on the host (routing daemons, a listener) still receives it: passed unjudged, it
 * carried any body from any source through a deny-all. Another hop limit meets policy like other
 * ICMPv6. A fragment of it is malformed: INPUT sees the datagram reassembled, where nothing tells
 * it was fragmented, so only the hooks before reassembly can refuse it (no receiver takes it). */
static __always_inline int pal_ipv6_checked(int reason, struct pal_pkt *p, __u8 hop_limit)
{
	if (pal_ipv6_v4mapped(p->src) || pal_ipv6_v4mapped(p->dst))
		return PAL_DROP_BAD_IP;
	if (p->always_pass && p->frag != PAL_FRAG_NONE)
		return PAL_DROP_BAD_IP;
	if (hop_limit != 255 || p->icmp_code != 0) /* ndisc also drops a nonzero code */
		p->always_pass = 0;
	return reason;
}

/* The IPv6 header h (its 40 bytes, from p->l3_off) and the extension header chain after it.
 * l4: l4_len bytes of what follows h when the caller has them (pal_load_front6_l4), taken when no
 * extension header comes between and they hold the bytes of the L4 header that pal_parse_l4
 * reads. That case returns before the walk, so the walk's states never carry l4 (with it live
 * through the walk, tc_egress took +60k verified instructions). */
static __always_inline int pal_parse_ipv6_hdr(void *ctx, enum pal_ctx_kind kind, struct pal_pkt *p,
					      const __u8 *h, const __u8 *l4, __u32 l4_len)
{
	__u8 nh, atomic = 0;
	__u32 off;
	int i, reason;

	if ((h[0] >> 4) != 6)
		return PAL_DROP_BAD_IP;
	p->family = 6;
	__builtin_memcpy(p->src, &h[8], 16);
	__builtin_memcpy(p->dst, &h[24], 16);
	nh = h[6];
	off = p->l3_off + 40;
	if (l4 && !pal_ipv6_ext(nh) && l4_len >= (nh == PAL_IPPROTO_TCP ? 20 : 8)) {
		p->proto = nh;
		p->l4_off = off;
		return pal_parse_l4(ctx, kind, p, l4);
	}
	/* Bounded walk of the extension header chain. */
	for (i = 0; i < PAL_MAX_IPV6_EXT; i++) {
		__u8 e[8];

		if (!pal_ipv6_ext(nh))
			break;
		if (pal_load(ctx, kind, off, e, 8))
			return PAL_DROP_TRUNC_L3;
		if (nh == PAL_NEXTHDR_FRAGMENT) {
			__u16 fo = ((__u16)e[2] << 8) | e[3];

			__u32 id;

			__builtin_memcpy(&id, &e[4], 4);
			p->frag_id = bpf_ntohl(id);
			if (fo & 0xfff8) {
				/* A later fragment: what follows is payload, not headers (the kernel's
				 * ipv6_skip_exthdr stops here too). Its protocol is the next header. */
				p->frag = PAL_FRAG_LATER;
				off += 8;
				nh = e[0];
				break;
			}
			if (fo & 1)
				p->frag = PAL_FRAG_FIRST;
			else
				atomic = 1; /* RFC 6946: delivered at once, not reassembled */
			off += 8;
		} else if (nh == PAL_NEXTHDR_AH) {
			off += ((__u32)e[1] + 2) * 4;
		} else {
			off += ((__u32)e[1] + 1) * 8;
		}
		nh = e[0];
	}
	if (p->frag != PAL_FRAG_LATER && pal_ipv6_ext(nh))
		return PAL_DROP_IPV6_EXT;
	p->proto = nh;
	p->l4_off = off;
	reason = pal_parse_l4(ctx, kind, p, 0);
	/* neighbour discovery in an atomic fragment: the kernel marks it fragmented all the same and
	 * ndisc drops it (RFC 6980), raw ICMPv6 sockets take it; as any fragmented ND
	 * (pal_ipv6_checked), malformed */
	if (atomic && p->always_pass)
		return PAL_DROP_BAD_IP;
	return reason;
}

static __always_inline int pal_parse_ipv6(void *ctx, enum pal_ctx_kind kind, struct pal_pkt *p)
{
	__u8 h[40];

	if (pal_load(ctx, kind, p->l3_off, h, 40))
		return PAL_DROP_TRUNC_L3;
	return pal_ipv6_checked(pal_parse_ipv6_hdr(ctx, kind, p, h, 0, 0), p, h[7]);
}

/* From the network header at `off` with ethertype `proto` (host order). */
static __always_inline int pal_parse_l3(void *ctx, enum pal_ctx_kind kind, __u32 off, __u16 proto,
					struct pal_pkt *p)
{
	p->l3_off = off;
	if (proto == PAL_ETH_P_IP)
		return pal_parse_ipv4(ctx, kind, p);
	if (proto == PAL_ETH_P_IPV6)
		return pal_parse_ipv6(ctx, kind, p);
	if (proto == PAL_ETH_P_ARP)
		p->always_pass = 1;
	return PAL_DROP_NONE; /* not IP: family stays 0 */
}

/* From the Ethernet header at offset 0 (XDP, tc). Up to two VLAN tags (PAL_MAX_VLAN_TAGS; more is
 * a drop, see docs/datapath.md "Parsing"). An untagged frame (most
 * packets) is read with fewer loads (each helper call is a measurable part of the cost): its
 * first 54 bytes straight from the packet when they are in the linear data (Ethernet, then IPv4
 * and the L4 header when the IPv4 header has no options, or the whole IPv6 header, 14 + 40, and
 * then the L4 header after it when no extension header comes between: an IPv6 packet takes no
 * helper load), else Ethernet and IPv4 with one helper load. The bytes are the same, and a frame too short for either takes the loads one by one, so
 * it is judged (truncated or not) exactly as before. */
static __always_inline int pal_parse_eth(void *ctx, enum pal_ctx_kind kind, struct pal_pkt *p)
{
	__u8 eth[PAL_FRONT_LEN] __attribute__((aligned(8)));
	__u8 l4[24] __attribute__((aligned(8)));
	__u16 proto;
	__u32 off = 14;
	int i, reason;

	if (!pal_load_front(ctx, kind, eth)) {
		proto = ((__u16)eth[12] << 8) | eth[13];
		if (proto == PAL_ETH_P_IP) {
			p->l3_off = 14;
			return pal_parse_ipv4_hdr(ctx, kind, p, &eth[14], &eth[34]);
		}
		if (proto == PAL_ETH_P_IPV6) {
			p->l3_off = 14;
			reason = pal_parse_ipv6_hdr(ctx, kind, p, &eth[14], l4,
						    pal_load_front6_l4(ctx, kind, l4));
			return pal_ipv6_checked(reason, p, eth[14 + 7]);
		}
		/* tagged or not IP: the Ethernet header is here already */
	} else if (!pal_load(ctx, kind, 0, eth, 14 + 20)) {
		proto = ((__u16)eth[12] << 8) | eth[13];
		if (proto == PAL_ETH_P_IP) {
			p->l3_off = 14;
			return pal_parse_ipv4_hdr(ctx, kind, p, &eth[14], 0);
		}
	} else if (pal_load(ctx, kind, 0, eth, 14)) {
		return PAL_DROP_TRUNC_L2;
	} else {
		proto = ((__u16)eth[12] << 8) | eth[13];
	}
	for (i = 0; i < PAL_MAX_VLAN_TAGS; i++) {
		__u8 tag[4];

		if (proto != PAL_ETH_P_8021Q && proto != PAL_ETH_P_8021AD)
			break;
		if (pal_load(ctx, kind, off, tag, 4))
			return PAL_DROP_TRUNC_L2;
		proto = ((__u16)tag[2] << 8) | tag[3];
		off += 4;
	}
	/* Still tagged: not "not IP". The kernel strips any number of VLAN id 0 tags and delivers
	 * the packet inside on this interface, so passing it would skip every policy judged here. */
	if (proto == PAL_ETH_P_8021Q || proto == PAL_ETH_P_8021AD)
		return PAL_DROP_VLAN_DEPTH;
	return pal_parse_l3(ctx, kind, off, proto, p);
}

/* From the IP header at offset 0: devices without a link-layer header (PAL_IF_L3: tun,
 * WireGuard, ipip...). tc passes skb->protocol (the ethertype the device set, host order); XDP
 * has none and passes 0: the IP version nibble decides. An empty frame is truncated L3. */
static __always_inline int pal_parse_l3dev(void *ctx, enum pal_ctx_kind kind, __u16 proto,
					   struct pal_pkt *p)
{
	__u8 v;

	if (!proto) {
		if (pal_load(ctx, kind, 0, &v, 1))
			return PAL_DROP_TRUNC_L3;
		proto = (v >> 4) == 4 ? PAL_ETH_P_IP : (v >> 4) == 6 ? PAL_ETH_P_IPV6 : 0;
	}
	return pal_parse_l3(ctx, kind, 0, proto, p);
}

/* The frame of the interface's framing: Ethernet, or IP from offset 0 when l3. */
static __always_inline int pal_parse_frame(void *ctx, enum pal_ctx_kind kind, int l3, __u16 proto,
					   struct pal_pkt *p)
{
	if (l3)
		return pal_parse_l3dev(ctx, kind, proto, p);
	return pal_parse_eth(ctx, kind, p);
}

#endif
