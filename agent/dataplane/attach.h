/* Attaching the programs to interfaces. Debian 12's libbpf 1.1 has no tcx links: tc programs go
 * on a clsact qdisc through bpf_tc_hook_create/bpf_tc_attach, as filters with palisade's own
 * handle and priority, so detaching removes exactly ours and leaves other filters (and the qdisc)
 * alone. XDP: native mode when the driver has it, generic otherwise (auto), or forced. */
#ifndef PALISADE_ATTACH_H
#define PALISADE_ATTACH_H

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
/* Program ids of palisade's filters (0 = none). */
int pal_dp_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id);

#endif
