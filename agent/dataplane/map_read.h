/* Readers of palisade's pinned maps that need nothing but the map's fd: per-CPU counter sums and
 * the flow table walk. The datapath library's readers (pal_dp_rule_counter, pal_dp_if_counter,
 * pal_dp_foreach_flow) are these on its own fds; polctl's live commands call them on the pins they
 * open themselves (tools/polctl/live.c), without linking the library's loader and the BPF objects
 * it embeds. */
#ifndef PALISADE_MAP_READ_H
#define PALISADE_MAP_READ_H

#include <stddef.h>
#include <stdint.h>
#include "palisade/abi.h"

/* Sums of the per-CPU values of one key. 0, or -errno (-ENOENT: no such key). */
int pal_map_rule_counter(int fd, uint32_t rule_id, struct pal_rule_ctr *out);

/* The maps an interface's counters are in: pal_if_ctrs by ifindex, pal_slot_ctrs by the slot
 * pal_ifaces gives or by the link slot pal_if_index gives (abi.h, above struct pal_ifctr_key). */
struct pal_ifctr_maps {
	int by_ifindex; /* pal_if_ctrs */
	int by_slot;    /* pal_slot_ctrs */
	int ifaces;     /* pal_ifaces */
	int if_index;   /* pal_if_index (link slots); < 0: none read */
};

/* (interface, hook)'s counters, both maps added. 0, or -errno (-ENOENT: it has none). */
int pal_map_if_counter(const struct pal_ifctr_maps *m, const struct pal_ifctr_key *k,
		       struct pal_if_ctr *out);

/* Adds counters c to *to (every counter; event_tat_ns is the limiter's state, not summed). */
void pal_if_ctr_add(struct pal_if_ctr *to, const struct pal_if_ctr *c);

/* Every (interface, hook) that has counters: the keys of pal_if_ctrs, and the hooks of an
 * interface with a slot of its own that counted something there; sorted by (ifindex, hook),
 * each once. *keys is malloc'd (the caller frees it). 0, or -errno (-ENOMEM). */
int pal_map_if_counter_keys(const struct pal_ifctr_maps *m, struct pal_ifctr_key **keys,
			    size_t *n);

/* An interface's configuration in force, as the programs read it (bpf/stages.h pal_iface_get):
 * pal_ifaces -> slot, pal_if_bank -> active bank, pal_if_cfg[slot * 2 + bank]. Every reader of
 * interface values uses this. 0, or -ENOENT when the interface has no entry (-errno otherwise). */
int pal_map_iface_read(int ifaces_fd, int bank_fd, int cfg_fd, uint32_t ifindex,
		       struct pal_iface *out);

/* Calls fn for every entry of pal_flows4 (fd4, IPv4: its keys handed over as struct pal_flow_key)
 * and pal_flows (fd6, IPv6); entries evicted during the walk are skipped. A non-zero return from
 * fn stops the walk and is returned. */
typedef int (*pal_dp_flow_fn)(const struct pal_flow_key *k, const struct pal_flow *f, void *ctx);
int pal_map_foreach_flow(int fd4, int fd6, pal_dp_flow_fn fn, void *ctx);

/* pal_flow_stats summed over CPUs. */
int pal_map_flow_stats(int fd, struct pal_flow_stats *out);

#endif
