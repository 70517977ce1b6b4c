/* The XDP -> tc ingress metadata word's seal and check (include/palisade/abi.h "XDP -> tc"):
 * plain functions of their arguments, so the BPF tests run them in userspace too (this kernel
 * neither lets XDP write metadata nor lets a tc test run carry any). */
#ifndef PALISADE_BPF_XDP_META_H
#define PALISADE_BPF_XDP_META_H

#include "palisade/abi.h" /* its types: vmlinux.h in BPF, linux/types.h in userspace */

/* What palisade's XDP writes as the word's cookie on interface ifindex. */
static __always_inline __u32 pal_xdp_meta_seal(__u32 load_cookie, __u32 ifindex)
{
	return load_cookie ^ ifindex;
}

/* The PAL_XDP_META_* flags tc ingress may believe from metadata m on interface ifindex, or 0:
 * only where the agent verified palisade's own XDP on this interface (verified_ifindex, the
 * slot's pal_if_bank.xdp_ifindex) and only from a word sealed with this load's cookie for this
 * interface. */
static __always_inline __u32 pal_xdp_meta_flags(const struct pal_xdp_meta *m, __u32 load_cookie,
						__u32 ifindex, __u32 verified_ifindex)
{
	if (!ifindex || verified_ifindex != ifindex)
		return 0;
	if (m->cookie != pal_xdp_meta_seal(load_cookie, ifindex))
		return 0;
	return m->flags;
}

#endif
