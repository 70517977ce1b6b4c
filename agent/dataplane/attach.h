/* Attaching the programs to interfaces. Debian 12's libbpf 1.1 has no tcx links: tc programs go
 * on a clsact qdisc through bpf_tc_hook_create/bpf_tc_attach, as filters with palisade's own
 * handle and priority, so detaching removes exactly ours and leaves other filters (and the qdisc)
 * alone. XDP: native mode when the driver has it, generic otherwise (auto), or forced. */
#ifndef PALISADE_ATTACH_H
#define PALISADE_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "datapath.h"

#define PAL_TC_HANDLE 0x9a1e
#define PAL_TC_PRIORITY 0x9a1

enum pal_xdp_mode { PAL_XDP_OFF, PAL_XDP_AUTO, PAL_XDP_NATIVE, PAL_XDP_GENERIC };

const char *pal_xdp_mode_name(enum pal_xdp_mode m);
/* Attaches (or replaces) xdp_hep_ingress; *got says which mode took. */
int pal_dp_attach_xdp(struct pal_datapath *dp, int ifindex, enum pal_xdp_mode mode,
		      enum pal_xdp_mode *got);
/* Detaches the XDP program when it is palisade's (by name); 0 when none is attached. */
int pal_dp_detach_xdp(int ifindex);
/* What is attached: mode (OFF when nothing) and program id. */
int pal_dp_xdp_query(int ifindex, enum pal_xdp_mode *mode, uint32_t *prog_id);

/* tc_ingress and tc_egress on the interface's clsact hooks (created when missing). */
int pal_dp_attach_tc(struct pal_datapath *dp, int ifindex);
int pal_dp_detach_tc(int ifindex);
/* Program ids of palisade's filters (0 = none); -errno when the kernel could not say (the ids it
 * could tell are still set). */
int pal_dp_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id);
/* 1: both of palisade's filters are on the device and run programs named as palisade's (any
 * build) that read this datapath's pal_ifaces; 0: they are not; -errno: unknown (a query failed),
 * which proves neither. */
int pal_dp_tc_is_ours(struct pal_datapath *dp, int ifindex);

/* The workload guard's witness (iface_live.c, abi.h "pal_if_live"): set for an interface with a
 * pal_ifaces entry once both tc programs are on it (0 without an entry: nothing to witness),
 * cleared before they are detached; _load, at every read-write open: the witness of a device
 * without an entry or without palisade's programs goes, a device with both gets one. */
bool pal_dp_iface_live(struct pal_datapath *dp, int ifindex);
/* It has an entry and no witness: the guard drops its traffic until tc is attached again. */
bool pal_dp_iface_unwitnessed(struct pal_datapath *dp, int ifindex);
int pal_dp_iface_live_set(struct pal_datapath *dp, int ifindex);
int pal_dp_iface_live_clear(struct pal_datapath *dp, int ifindex);
int pal_dp_iface_live_load(struct pal_datapath *dp);
/* Witnesses _load kept because palisade's tc programs could not be checked (a query failed). */
int pal_dp_iface_live_unknown_at_load(const struct pal_datapath *dp);

#endif
