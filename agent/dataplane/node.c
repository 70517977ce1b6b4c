/* Node-level attach/detach and uninstall (node.h). Interfaces are listed with if_nameindex()
 * (netlink), never through /sys. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "netfilter.h"
#include "node.h"

int pal_dp_detach_port(struct pal_datapath *dp, int ifindex)
{
	int e0 = dp ? pal_dp_iface_live_clear(dp, ifindex) : 0; /* the guard first: drop from now */
	int e1;

	pal_dp_xdp_unverify(dp, ifindex); /* tc stops believing XDP's metadata first */
	e1 = e0 ? e0 : pal_dp_detach_xdp(ifindex);
	int e2 = e0 ? e0 : pal_dp_detach_tc(ifindex);

	if (dp)
		pal_dp_unpin_sf_out(dp, (uint32_t)ifindex);
	return e1 ? e1 : e2;
}

static bool in_set(const struct pal_dp_port *ports, size_t n, int ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].ifindex == ifindex)
			return true;
	return false;
}

int pal_dp_sync_ports(struct pal_datapath *dp, const struct pal_dp_port *ports, size_t n,
		      enum pal_xdp_mode mode, enum pal_xdp_mode *modes)
{
	struct pal_nf_hep *heps = calloc(n ? n : 1, sizeof(*heps));
	struct if_nameindex *all;
	size_t n_heps = 0;
	int attached = 0, err;

	if (!heps)
		return -ENOMEM;
	/* raw OUTPUT filters first: the netfilter rules name their pins */
	for (size_t i = 0; i < n; i++) {
		if (!ports[i].host)
			continue;
		if (pal_dp_load_sf_out(dp, (uint32_t)ports[i].ifindex, NULL, NULL, NULL) == 0) {
			heps[n_heps].ifname = ports[i].name;
			heps[n_heps].ifindex = (unsigned int)ports[i].ifindex;
			heps[n_heps].untracked_in = ports[i].untracked_in;
			n_heps++;
		}
	}
	err = pal_nf_install(dp, heps, n_heps);
	free(heps);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		enum pal_xdp_mode got = PAL_XDP_OFF;

		bool xdp = ports[i].xdp && mode != PAL_XDP_OFF;

		if (pal_dp_attach_tc(dp, ports[i].ifindex) == 0 &&
		    (!xdp || pal_dp_attach_xdp(dp, ports[i].ifindex, mode, &got) == 0))
			attached++;
		if (xdp) {
			pal_dp_xdp_verify(dp, ports[i].ifindex); /* what is there now, ours or not */
		} else {
			pal_dp_xdp_unverify(dp, ports[i].ifindex);
			pal_dp_detach_xdp(ports[i].ifindex);
		}
		if (modes)
			modes[i] = got;
	}
	/* everything else loses our programs */
	all = if_nameindex();
	for (struct if_nameindex *p = all; p && p->if_index; p++)
		if (!in_set(ports, n, (int)p->if_index))
			pal_dp_detach_port(dp, (int)p->if_index);
	if (all)
		if_freenameindex(all);
	return attached;
}

int pal_dp_uninstall(const char *pin_dir)
{
	struct if_nameindex *all = if_nameindex();
	int err = 0;

	for (struct if_nameindex *p = all; p && p->if_index; p++) {
		int e = pal_dp_detach_port(NULL, (int)p->if_index);

		if (e && !err)
			err = e;
	}
	if (all)
		if_freenameindex(all);
	pal_nf_remove_everywhere();
	{
		int e = pal_dp_unpin_all(pin_dir);

		if (e && !err)
			err = e;
	}
	return err;
}
