/* Programming the datapath's maps from the compiler's output.
 *
 * A rule list (flatten.h's struct pal_cls_tables) is written under a fresh list id into fresh
 * regions of pal_words and pal_entries, its classes into pal_classes, and its pal_lists entry
 * last. Nothing that a packet can currently reach is modified. An endpoint then switches to its
 * new lists with one flip of its interface slot (iface_slots.c: the other bank is written, then
 * the bank word is switched with one atomic store, so a packet sees the old value or the new
 * one), and the old lists are deleted after an RCU grace period, when no program can still be
 * reading them (after an apply: by pal_dp_lists_sweep). A list identical to a live one is not
 * written again (list_reuse.h). See docs/datapath.md "Atomic updates".
 */
#ifndef PALISADE_MAPS_SYNC_H
#define PALISADE_MAPS_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "datapath.h"
#include "flatten.h"
#include "ir.h"

/* Writes t as a new list, or finds the live list this process wrote with exactly that content
 * (list_reuse.h); returns its id in *list_id and the caller holds one reference to it. */
int pal_dp_list_write(struct pal_datapath *dp, const struct pal_cls_tables *t,
		      uint32_t generation, uint32_t *list_id);
/* Gives back one reference per id; deletes the lists (their classes, entries and words) whose
 * last reference went. Callers must make sure no packet can reach them any more
 * (pal_dp_grace_period after the flip). Unknown ids are skipped. */
int pal_dp_lists_delete(struct pal_datapath *dp, const uint32_t *ids, size_t n);
/* pal_dp_apply leaves the lists its flips made unreachable for this: finding their classes takes
 * a scan of all of pal_classes, which the agent does once the change is enforced (and the next
 * apply does first, if nobody did). A grace period, then one scan for all of them. Returns how
 * many lists it deleted, or -errno. */
int pal_dp_lists_sweep(struct pal_datapath *dp);

/* The atomic flip of one interface (a first bind takes a free slot: -ENOSPC when there is none);
 * *old (may be NULL) receives the previous value and *had_old whether there was one. PAL_IF_L3 is
 * added to v's flags when the interface has no link-layer header (linktype.h). */
int pal_dp_iface_flip(struct pal_datapath *dp, uint32_t ifindex, const struct pal_iface *v,
		      struct pal_iface *old, bool *had_old);
int pal_dp_iface_remove(struct pal_datapath *dp, uint32_t ifindex, struct pal_iface *old,
			bool *had_old);
/* Whether this datapath's own XDP program is verified attached on the interface (abi.h
 * pal_if_bank.xdp_ifindex): tc ingress believes XDP metadata only there. Only an interface
 * with a slot of its own (-ENOENT otherwise, -EROFS read-only). pal_dp_xdp_verify (attach.h)
 * is the caller that checks before it marks. */
int pal_dp_iface_xdp_mark(struct pal_datapath *dp, uint32_t ifindex, bool verified);
/* The slot's mark: the ifindex it was verified on, or 0. */
uint32_t pal_dp_iface_xdp_marked(struct pal_datapath *dp, uint32_t ifindex);
/* An endpoint that could not be programmed: an interface with a slot of its own keeps its last
 * good value (*kept), any other points at the reserved deny-everything slot for its kind. */
int pal_dp_iface_unprogrammed(struct pal_datapath *dp, uint32_t ifindex, bool host, bool *kept);

/* Waits until every BPF program that may have read an old value has finished. */
void pal_dp_grace_period(void);

/* Failsafe ports of the IR into pal_failsafe (replaces the whole set). */
int pal_dp_failsafe_sync(struct pal_datapath *dp, const struct pal_ir *ir);
/* Flow timeouts and re-judging (pal_flow_cfg; palisaded's flowTimeout* and
 * reevaluateFlowsOnPolicyChange). */
int pal_dp_flow_cfg_set(struct pal_datapath *dp, const struct pal_flow_cfg *c);
/* --endpoint-to-host-action and the generation. */
int pal_dp_config_set(struct pal_datapath *dp, const struct pal_ir *ir, uint32_t generation);

/* An interface bound to an endpoint of the IR. */
struct pal_dp_binding {
	uint32_t ifindex;
	const struct pal_ir_endpoint *ep; /* NULL: police nothing on it (entry removed) */
	int err; /* out (pal_dp_apply): 0, or why the endpoint is unprogrammed (-ENOSPC) */
};

/* Builds the seven rule lists of an endpoint (flatten.h) and writes them; fills v. */
int pal_dp_endpoint_write(struct pal_datapath *dp, const struct pal_ir *ir,
			  const struct pal_ir_endpoint *ep, uint32_t generation,
			  struct pal_iface *v);

/* Applies a whole IR: first every binding's new lists are written (a failure there changes
 * nothing and returns the error), then config and failsafes, then each interface flips to its new
 * lists (atomic per interface), interfaces with a pal_ifaces entry that are not in bindings are
 * removed, and after one grace period (a few milliseconds) the old lists are deleted.
 * Bindings beyond the free interface slots (--max-endpoints) are not programmed: they keep their
 * last good value or deny everything (pal_dp_iface_unprogrammed), with b[i].err = -ENOSPC; the
 * apply still succeeds for the others. */
int pal_dp_apply(struct pal_datapath *dp, const struct pal_ir *ir, struct pal_dp_binding *b,
		 size_t n, uint32_t generation);
/* The generation last applied (pal_config), 0 when none: what an adopting agent numbers on from. */
uint32_t pal_dp_generation(struct pal_datapath *dp);

/* List ids referenced by an interface value (non-zero ones), into ids[PAL_SLOT_COUNT]. */
size_t pal_dp_iface_lists(const struct pal_iface *v, uint32_t *ids);
/* A growable array of list ids, and appending the ones v references: 0, or -ENOMEM with ids
 * unchanged. */
struct pal_dp_list_ids {
	uint32_t *v;
	size_t n, cap;
};
int pal_dp_list_ids_add(struct pal_dp_list_ids *ids, const struct pal_iface *v);
/* An interface's old lists, made unreachable by its flip or removal: into ids, for a delete after
 * a grace period; out of memory, deleted now (after a grace period) instead of lost. */
void pal_dp_list_ids_retire(struct pal_datapath *dp, struct pal_dp_list_ids *ids,
			    const struct pal_iface *old);
/* Gives back the references of v's lists (pal_dp_lists_delete): for lists written for an
 * interface that never pointed at them (a failure before or at its flip). */
int pal_dp_iface_lists_delete(struct pal_datapath *dp, const struct pal_iface *v);
/* Lists no interface named when this process opened the pins, deleted then (0 when none). */
size_t pal_dp_lists_swept_at_load(const struct pal_datapath *dp);
/* How many times this process scanned the whole pal_classes trie to delete lists' keys (lists it
 * adopted from the pins, or whose walk fell short: maps_sync.c delete_classes); for tests. */
size_t pal_dp_class_scans(const struct pal_datapath *dp);

#endif
