// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The workload guard: a socket filter run by xt_bpf (`-m bpf --object-pinned`) from two mangle
 * rules the agent installs with the Kubernetes datastore and leaves in place when it exits:
 *   mangle PREROUTING  -i PREFIX+ ... -j DROP   (from a pod: forwarded or to the host)
 *   mangle POSTROUTING -o PREFIX+ ... -j DROP   (to a pod: skb->dev is the output device there)
 * It matches (1: drop) a packet whose device is not one of palisade's interfaces, i.e. has no
 * pal_ifaces entry (read through pal_if_index, as the programs do). So a pod's veth that appears
 * while no agent runs (a restart, an upgrade) carries no traffic until an agent has given it an
 * entry and attached tc to it, instead of carrying all of it: fail-closed, as Calico's rules for
 * unknown cali* interfaces are. The agent writes an interface's entry before it attaches tc (the
 * deny-everything slot when it cannot program it), so an interface with an entry is policed.
 * Every packet of pod traffic runs it: it is one array load (a hash lookup above
 * PAL_IF_INDEX_DIRECT), nothing else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade/abi.h"
#include "maps.h"
#include "stages.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("socket")
int sf_wl_guard(struct __sk_buff *skb)
{
	__u32 slot;

	/* __sk_buff.ifindex is skb->dev's ifindex: the input device in PREROUTING, the output
	 * device in POSTROUTING */
	return !pal_iface_slot(skb->ifindex, &slot);
}
