/* The sizes a new datapath is created with, and its event rate: what palisaded's configuration
 * sets (--max-classes and friends, cfg.h) and what pal_dp_open takes (datapath.h), one struct
 * embedded in both so the agent hands its settings over in one assignment.
 *
 * 0 in a field = the datapath's default, resolved by the datapath alone when it creates the maps
 * (datapath.c) and writes the event interval (maps_sync.c): the abi.h PAL_DEF_* sizes,
 * PAL_DEF_MAX_ENDPOINTS and PAL_EVENT_RATE_DEF. Sizes are ignored when adopting a pinned
 * datapath: its maps keep the sizes they were created with.
 */
#ifndef PALISADE_DP_SIZES_H
#define PALISADE_DP_SIZES_H

#include <stdint.h>

struct pal_dp_sizes {
	/* Entries of the classifier, list, flow (per family) and rule counter maps. */
	uint32_t max_words, max_classes, max_entries, max_lists, max_flows, max_rule_ids;
	/* Endpoints that can be programmed: sizes the interface maps, pal_if_ctrs and (unless
	 * max_lists is set) pal_lists, with abi.h's PAL_*_FOR. */
	uint32_t max_endpoints;
	/* Deny/Log events per second per interface, hook and CPU; the rest are counted as
	 * suppressed (pal_if_ctr). Written with every apply, also to an adopted datapath. */
	uint32_t event_rate;
};

#endif
