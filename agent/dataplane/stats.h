/* Reading the datapath's state for polctl and the agent's metrics: per-interface counters, flows,
 * map fill and the deny/log event stream. Works on a read-only datapath (pal_dp_opts.read_only). */
#ifndef PALISADE_STATS_H
#define PALISADE_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "datapath.h"
#include "map_read.h"

/* Calls fn for every (interface, hook) that counted something, values summed over CPUs. A
 * non-zero return from fn stops the walk and is returned. */
typedef int (*pal_dp_ifctr_fn)(uint32_t ifindex, enum pal_hook hook, const struct pal_if_ctr *c,
			       void *ctx);
int pal_dp_foreach_if_counter(const struct pal_datapath *dp, pal_dp_ifctr_fn fn, void *ctx);

/* Deletes the counters of every interface not in keep[n] (pal_if_ctrs is a bounded HASH: without
 * this, interfaces that came and went fill it and new ones stop counting). Returns how many keys
 * went, or -errno. */
int pal_dp_prune_if_counters(const struct pal_datapath *dp, const int *keep, size_t n);

/* pal_dp_flow_fn: map_read.h */
int pal_dp_foreach_flow(const struct pal_datapath *dp, pal_dp_flow_fn fn, void *ctx);
/* Empties palisade's flow table (`polctl flows --flush`); returns how many entries went. */
int pal_dp_flush_flows(const struct pal_datapath *dp);

/* Flow table pressure and lifecycle events (pal_flow_stats, summed over CPUs). */
int pal_dp_flow_stats(const struct pal_datapath *dp, struct pal_flow_stats *out);

/* How full the maps are. `used` of pal_words and pal_entries is the allocated slots. */
struct pal_dp_fill {
	const char *map;
	uint64_t used, max;
};
/* pal_words, pal_entries, pal_classes, pal_lists, pal_ifaces, pal_flows (IPv6), pal_flows4 */
#define PAL_DP_FILL_N 7
int pal_dp_fill(const struct pal_datapath *dp, struct pal_dp_fill out[PAL_DP_FILL_N]);

/* The event stream (ring buffer pal_events). */
struct pal_dp_events;
typedef int (*pal_dp_event_fn)(const struct pal_event *ev, void *ctx);
struct pal_dp_events *pal_dp_events_open(const struct pal_datapath *dp, pal_dp_event_fn fn,
					 void *ctx);
/* Delivers pending events; waits up to timeout_ms (0 = don't wait). Returns events delivered or
 * -errno. */
int pal_dp_events_poll(struct pal_dp_events *ev, int timeout_ms);
/* An fd that is readable when events are pending (for the caller's own poll loop). */
int pal_dp_events_fd(const struct pal_dp_events *ev);
void pal_dp_events_close(struct pal_dp_events *ev);

#endif
