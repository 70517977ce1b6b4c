/* Attaching the programs to interfaces. Debian 12's libbpf 1.1 has no tcx links: tc programs go
 * on a clsact qdisc through bpf_tc_hook_create/bpf_tc_attach, as filters with palisade's own
 * handle and priority, so detaching removes exactly ours and leaves other filters (and the qdisc)
 * alone. XDP: native mode when the driver has it, generic otherwise (auto), or forced. */
#ifndef PALISADE_ATTACH_H
#define PALISADE_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "datapath.h"
#include "prog_owner.h"

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
/* Checks that the XDP program on the interface is this datapath's own (by program id) and marks
 * the interface so (maps_sync.h pal_dp_iface_xdp_mark): tc ingress believes XDP's metadata only
 * on a marked interface. 1: ours, marked; 0: not (none, another program, another load of
 * palisade's), unmarked; -errno: the kernel could not say, unmarked (tc then evaluates again). */
int pal_dp_xdp_verify(struct pal_datapath *dp, int ifindex);
/* Unmarks it (dp may be NULL: nothing to do), before palisade's XDP is detached. */
void pal_dp_xdp_unverify(struct pal_datapath *dp, int ifindex);

/* tc_ingress and tc_egress on the interface's clsact hooks (created when missing). */
int pal_dp_attach_tc(struct pal_datapath *dp, int ifindex);
int pal_dp_detach_tc(int ifindex);

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
