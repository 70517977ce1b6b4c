/* Fragments follow their first fragment, as the kernel's reassembly makes them do.
 *
 * A non-first fragment has no L4 header, so policy cannot judge it by port. After the kernel
 * reassembles a forwarded datagram (conntrack's defrag) it fragments it again on the way out, and
 * tc egress sees the later pieces without ports: a port-scoped allow would drop them (large DNS
 * answers). So a hook records, per datagram (family, addresses, protocol, IP id / IPv6 fragment
 * id), that its first fragment passed, in the small LRU map pal_frags (as Cilium does); a later
 * fragment with a record passes the same way. Without a record (first fragment not seen or
 * denied, or the pieces out of order) a later fragment meets policy as a packet without ports.
 * Records live PAL_FRAG_TIMEOUT_NS, the kernel's ipfrag_time.
 */
#ifndef PAL_BPF_FRAG_H
#define PAL_BPF_FRAG_H

#include "maps.h"
#include "parse.h"

static __always_inline void pal_frag_key(const struct pal_pkt *p, __u8 hook, __u32 ifindex,
					 struct pal_frag_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
	k->id = p->frag_id;
	k->family = p->family;
	k->proto = p->proto;
	k->hook = hook;
	k->ifindex = ifindex;
}

/* A later fragment whose first fragment passed this hook: the mark bits it left | PAL_FRAG_FOLLOWS,
 * else 0 (no out-parameter: the hooks' frames are full). */
#define PAL_FRAG_FOLLOWS 0x1u /* not a mark bit palisade owns (PAL_MARK_MASK) */
static __noinline __u32 pal_frag_follows(const struct pal_pkt *p, __u8 hook, __u32 ifindex)
{
	struct pal_frag_key k;
	struct pal_frag *f;

	if (p->frag != PAL_FRAG_LATER || !p->family)
		return 0;
	pal_frag_key(p, hook, ifindex, &k);
	f = bpf_map_lookup_elem(&pal_frags, &k);
	if (!f || bpf_ktime_get_ns() - f->ns > PAL_FRAG_TIMEOUT_NS)
		return 0;
	return (f->mark & PAL_MARK_MASK) | PAL_FRAG_FOLLOWS;
}

/* A first fragment passed this hook (with these mark bits). */
static __noinline void pal_frag_passed(const struct pal_pkt *p, __u8 hook, __u32 ifindex,
				       __u32 mark)
{
	struct pal_frag_key k;
	struct pal_frag v = {};

	if (p->frag != PAL_FRAG_FIRST || !p->family)
		return;
	pal_frag_key(p, hook, ifindex, &k);
	v.ns = bpf_ktime_get_ns();
	v.mark = mark;
	bpf_map_update_elem(&pal_frags, &k, &v, BPF_ANY);
}

#endif
