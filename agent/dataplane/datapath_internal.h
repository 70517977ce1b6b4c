/* The datapath handle, shared by datapath.c, maps_sync.c and attach.c. Not part of the API. */
#ifndef PALISADE_DATAPATH_INTERNAL_H
#define PALISADE_DATAPATH_INTERNAL_H

#include <limits.h>
#include "datapath.h"
#include <stdbool.h>
#include "list_reuse.h"
#include "pins.h"
#include "region.h"

struct pal_palisade;
struct bpf_program;

/* A list this process wrote: how many pal_classes keys it put and the first of them in the trie's
 * get_next_key order (maps_sync.c delete_classes walks them from there instead of scanning the
 * whole trie). */
struct pal_dp_list_keys {
	uint32_t id;
	uint32_t n;
	struct pal_class_key first;
};

/* fd of a shared map */
#define MFD(dp, m) ((dp)->map_fd[PAL_M_##m])
/* the maps of the interface counters (map_read.h) */
#define PAL_DP_IFCTR_MAPS(dp) \
	((struct pal_ifctr_maps){ MFD(dp, pal_if_ctrs), MFD(dp, pal_slot_ctrs), MFD(dp, pal_ifaces), MFD(dp, pal_if_index) })

struct pal_datapath {
	char dir[PATH_MAX - 1024]; /* room for the suffixes in PATH_MAX buffers */
	char err[512];
	struct pal_palisade *skel; /* NULL when opened read-only */
	int map_fd[PAL_M_COUNT];   /* the skeleton's, or our own (read-only: closed on close) */
	bool read_only;
	struct bpf_program *prog[PAL_PROG_COUNT];
	/* A pinned program adopted instead of the fresh copy (same instructions: same tag), so a
	 * restart keeps the attached programs and their ids; -1 when the fresh copy is used. */
	int adopted_prog_fd[PAL_PROG_COUNT];
	/* userspace view of the pinned tables (rebuilt from pal_lists on adopt) */
	struct pal_region_alloc words, entries;
	uint32_t next_list_id;
	uint32_t next_small_slot, n_small_slots; /* pal_small (free_list_id) */
	uint32_t next_long_slot, n_long_slots;   /* pal_long (free_list_id) */
	struct pal_dp_live_lists live; /* the lists this process wrote, by content (list_reuse.h) */
	uint32_t *dead; /* lists no interface holds since an apply: pal_dp_lists_sweep deletes them */
	size_t n_dead, cap_dead;
	struct pal_dp_list_keys *list_keys; /* the lists this process wrote, until deleted */
	size_t n_list_keys, cap_list_keys;
	size_t class_scans; /* pal_dp_class_scans */
	size_t swept_at_load; /* pinned lists no interface named, deleted at load */
	int live_unknown_at_load; /* witnesses kept at load though tc could not be checked */
	/* an apply of this process moved the generation and swept the failsafe flows against the
	 * failsafe set (pal_dp_apply): the first one always sweeps, since an agent that died
	 * between writing a new set and its sweep left flows a removed entry had admitted */
	bool fs_swept;
	/* interface slots (iface_slots.c): pal_if_bank mapped for the atomic flip (NULL read-only),
	 * which slots are bound, and the grace periods completed when each last flipped or was
	 * freed (its other bank, or the slot, is reusable once pal_dp_grace_periods passed it) */
	uint32_t n_slots;
	struct pal_if_bank *banks;
	size_t banks_len;
	bool *slot_used;
	uint64_t *slot_since;
	/* pal_if_index mapped for its element-by-element stores (iface_slots.c; NULL read-only) */
	struct pal_if_index *if_index;
	size_t if_index_len;
	/* pal_config mapped for its word-by-word stores (config_word.c; NULL read-only) */
	struct pal_config *config;
	size_t config_len;
	uint32_t event_rate; /* pal_dp_opts.sizes.event_rate */
	/* pal_fs_ports mapped for its word-by-word updates (failsafe_ports.c; NULL read-only) */
	uint64_t *fs_ports;
	size_t fs_ports_len;
};

/* The first link slot (abi.h PAL_LINK_SLOTS): endpoints' slots end there. */
static inline uint32_t pal_dp_link_first(const struct pal_datapath *dp)
{
	return dp->n_slots - PAL_LINK_SLOTS;
}

/* Grace periods completed by this process (pal_dp_grace_period). */
extern uint64_t pal_dp_grace_periods;
/* Grace periods that could not use the map-in-map update and fell back to membarrier or a sleep. */
extern uint64_t pal_dp_grace_fallbacks;

/* maps_sync.c: rebuild the allocators from the pinned pal_lists / free them. */
int pal_dp_regions_load(struct pal_datapath *dp);
void pal_dp_regions_free(struct pal_datapath *dp);
/* iface_slots.c: map pal_if_bank, rebuild which slots are bound, write the reserved slots / undo. */
int pal_dp_slots_load(struct pal_datapath *dp);
void pal_dp_slots_unload(struct pal_datapath *dp);
/* maps_sync.c: maps the first `bytes` of an mmapable array map for writing (*len: the mapped
 * length); NULL with the error set and *err = -errno on failure. */
void *pal_dp_map_rw(struct pal_datapath *dp, int fd, size_t bytes, const char *name, size_t *len,
		    int *err);
/* config_word.c: map pal_config / unmap it; write it (settings first, the generation last). */
int pal_dp_config_load(struct pal_datapath *dp);
void pal_dp_config_unload(struct pal_datapath *dp);
int pal_dp_config_store(struct pal_datapath *dp, const struct pal_config *c);
/* failsafe_ports.c: map pal_fs_ports / unmap it; before the trie changes, add the ports of want
 * (n keys); after them, make the bitmap exactly want's ports. */
int pal_dp_fs_ports_load(struct pal_datapath *dp);
void pal_dp_fs_ports_unload(struct pal_datapath *dp);
int pal_dp_fs_ports_widen(struct pal_datapath *dp, const struct pal_failsafe_key *want, size_t n);
int pal_dp_fs_ports_exact(struct pal_datapath *dp, const struct pal_failsafe_key *want, size_t n);

#endif
