// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The workload guard: a socket filter run by xt_bpf (`-m bpf --object-pinned`) from two mangle
 * rules the agent installs with the Kubernetes datastore and leaves in place when it exits:
 *   mangle PREROUTING  -i PREFIX+ ... -j DROP   (from a pod: forwarded or to the host)
 *   mangle POSTROUTING -o PREFIX+ ... -j DROP   (to a pod: skb->dev is the output device there)
 * It matches (1: drop) a packet whose device is not one palisade polices: one without a pal_ifaces
 * entry (read through pal_if_index, as the programs do), or without a pal_if_live element, the
 * witness that this device carries palisade's tc programs (abi.h). The agent writes an
 * interface's entry before it attaches tc, and the witness only once both programs are attached,
 * so neither the moment between the two nor a failed attach passes; the kernel deletes the
 * witness with its device, so a pod's veth deleted while no agent runs and a new one that gets
 * its ifindex do not pass either. So a pod's veth that appears while no agent runs (a restart,
 * an upgrade) carries no traffic until an agent has taken it over, instead of carrying all of
 * it: fail-closed, as Calico's rules for unknown cali* interfaces are.
 * Every packet of pod traffic runs it: one array load (above PAL_IF_INDEX_DIRECT a hash lookup
 * and the slot's bank word) and one devmap lookup, nothing else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade/abi.h"
#include "maps.h"
#include "stages.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("socket")
int sf_wl_guard(struct __sk_buff *skb)
{
	/* __sk_buff.ifindex is skb->dev's ifindex: the input device in PREROUTING, the output
	 * device in POSTROUTING */
	__u32 ifindex = skb->ifindex, slot, ctr; /* ctr: a link slot (counting), not an entry */

	return !pal_iface_slot(ifindex, &slot, &ctr) || !bpf_map_lookup_elem(&pal_if_live, &ifindex);
}
