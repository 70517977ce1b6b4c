/* Anti-spoofing on workload interfaces: tc ingress of a pod's host-side interface sees what the
 * pod sends, and a packet whose source is not one of the endpoint's addresses (ipNetworks) or
 * inside its allowSpoofedSourcePrefixes is dropped (PAL_DROP_SPOOF), as Calico's workload RPF
 * check does. The prefixes are in pal_srcaddrs, keyed by interface (abi.h).
 *
 * Sources a pod uses before it has an address are let through, as the kernel's rpfilter match
 * (which Calico's iptables dataplane uses) does:
 *   - IPv4 from 0.0.0.0/8 to the limited broadcast or 224.0.0.0/24 (DHCP discover/request);
 *   - IPv6 from :: (duplicate address detection, MLD reports);
 *   - IPv6 from fe80::/10: link-local, valid on the link it arrives on; the kernel never
 *     forwards it, so it can only reach the host, where the workload's policy still applies.
 * The reference evaluator has the same rule (agent/core/stage_walk.c, source_exempt()). */
#ifndef PAL_BPF_SRCCHECK_H
#define PAL_BPF_SRCCHECK_H

#include "maps.h"
#include "parse.h"

static __always_inline int pal_src_exempt(const struct pal_pkt *p)
{
	if (p->family == 4)
		return p->src[0] == 0 &&
		       ((p->dst[0] == 255 && p->dst[1] == 255 && p->dst[2] == 255 && p->dst[3] == 255) ||
			(p->dst[0] == 224 && p->dst[1] == 0 && p->dst[2] == 0));
	if (p->src[0] == 0xfe && (p->src[1] & 0xc0) == 0x80)
		return 1;
	for (int i = 0; i < 16; i++)
		if (p->src[i])
			return 0;
	return 1;
}

/* 1 when a workload on ifindex may send from p's source address. */
static __always_inline int pal_src_allowed(__u32 ifindex, const struct pal_pkt *p)
{
	struct pal_src_key k = {};

	if (pal_src_exempt(p))
		return 1;
	k.prefixlen = PAL_SRC_FIXED_BITS + (p->family == 4 ? 32 : 128);
	k.ifindex = ifindex;
	k.family = p->family;
	__builtin_memcpy(k.addr, p->src, 16);
	return bpf_map_lookup_elem(&pal_srcaddrs, &k) != 0;
}

#endif
