/* The node-level operations the agent needs on top of the datapath: keeping the set of attached
 * interfaces (and the netfilter rules that go with host endpoints) equal to a desired set, and
 * --uninstall. Level-triggered: pal_dp_sync_ports() takes the full desired set each time. */
#ifndef PALISADE_NODE_H
#define PALISADE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include "attach.h"
#include "datapath.h"

struct pal_dp_port {
	const char *name;
	int ifindex;
	bool host; /* host endpoint: raw OUTPUT filters; else tc only */
	/* A host endpoint with an untracked ingress list: raw PREROUTING's notrack jump is installed
	 * only while one of them exists (docs/datapath.md "Per-packet cost") */
	bool untracked_in;
	/* One whose untracked ingress list can deny (pal_ir_tierlist_may_deny): only these get XDP.
	 * XDP only drops early what untracked ingress denies; tc ingress decides the same without
	 * it (failsafe, untracked Allow and its notrack mark included), so the others are spared
	 * veth's or the driver's XDP path and a second classification of every frame. */
	bool xdp;
};

/* For each port: raw OUTPUT filters (host ports), tc ingress/egress, XDP in `mode` (ports with
 * .xdp; palisade's XDP program is removed from the others);
 * then the netfilter chains are rewritten for exactly the host ports; interfaces of the namespace
 * that are not in the set lose palisade's programs (others' programs are left alone). modes (may
 * be NULL, n entries) receives the XDP mode each port got. Returns the number of ports attached,
 * or -errno when the netfilter rules could not be installed. Per-port failures are skipped (the
 * last one's message is in pal_dp_error). */
int pal_dp_sync_ports(struct pal_datapath *dp, const struct pal_dp_port *ports, size_t n,
		      enum pal_xdp_mode mode, enum pal_xdp_mode *modes);
/* Removes palisade's programs from one interface and unpins its raw OUTPUT filters. */
int pal_dp_detach_port(struct pal_datapath *dp, int ifindex);
/* --uninstall: palisade's XDP and tc programs off every interface of the namespace, its netfilter
 * chains removed, every pin under pin_dir (NULL = default) removed. */
int pal_dp_uninstall(const char *pin_dir);

#endif
