/* Anti-spoofing: the source prefixes each workload interface may send from, in pal_srcaddrs
 * (abi.h, bpf/srccheck.h): the endpoint's addresses (ipNetworks) and its
 * allowSpoofedSourcePrefixes.
 *
 * Ordering with the endpoint's flip, so that nothing fails open and a legitimate pod is not
 * dropped during an update:
 *   1. before the flip, pal_dp_src_allow() ADDS the new endpoint's prefixes (the old ones stay):
 *      a pod that already sends from a new address meets either the old lists with a check that
 *      knows the address, or the new ones;
 *   2. after the flip, pal_dp_src_trim() removes every prefix the new endpoint does not allow,
 *      and all prefixes of interfaces that are no longer workloads.
 * Between 1 and 2 (the few milliseconds of an apply) the union is accepted: a removed address
 * stays valid until its endpoint's new lists are in force, never longer. A failed apply removes
 * what step 1 added (pal_dp_src_undo). An interface whose prefixes could not be written has fewer
 * allowed sources, never more: its packets are dropped as spoofed (fails closed). */
#ifndef PALISADE_SRCADDRS_H
#define PALISADE_SRCADDRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "palisade/abi.h"
#include "datapath.h"
#include "maps_sync.h"
#include "ir.h"

/* One update: the keys present when it began (sorted), and those it added. */
struct pal_src_txn {
	struct pal_src_key *before, *added;
	size_t n_before, n_added, cap_added;
};

/* Reads the present keys. 0 or -errno. */
int pal_dp_src_begin(struct pal_datapath *dp, struct pal_src_txn *t);
/* Adds the prefixes workload endpoint ep allows on ifindex (nothing for host endpoints or a NULL
 * ep), recording the keys that were not there. 0 or -errno (pal_dp_error says which). */
int pal_dp_src_allow(struct pal_datapath *dp, struct pal_src_txn *t, uint32_t ifindex,
		     const struct pal_ir_endpoint *ep);
/* Deletes the added keys whose interface is one of b[0..n) (all of them when b is NULL). */
void pal_dp_src_undo(struct pal_datapath *dp, const struct pal_src_txn *t,
		     const struct pal_dp_binding *b, size_t n);
void pal_dp_src_end(struct pal_src_txn *t);

/* One pass over pal_srcaddrs: a key of an interface in b[0..n) is deleted unless that binding's
 * workload endpoint allows exactly that prefix; a key of any other interface is deleted when
 * `others` (a full apply: those interfaces are no workloads any more). 0 or -errno. */
int pal_dp_src_trim(struct pal_datapath *dp, const struct pal_dp_binding *b, size_t n, bool others);

#endif
