/* XDP and tc attachment (attach.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "datapath_internal.h"
#include "maps_sync.h"

const char *pal_xdp_mode_name(enum pal_xdp_mode m)
{
	switch (m) {
	case PAL_XDP_AUTO: return "auto";
	case PAL_XDP_NATIVE: return "native";
	case PAL_XDP_GENERIC: return "generic";
	default: return "off";
	}
}

/* Another program's XDP on the interface is never replaced (bpf_xdp_attach would replace it
 * silently): -EBUSY naming the interface and the program. Sharing through libxdp's dispatcher is
 * not done: Debian 12 does not ship libxdp with the project's dependencies. tc ingress evaluates
 * the XDP stages itself when XDP left no metadata, so policy holds without palisade's XDP. */
static int refuse_foreign_xdp(struct pal_datapath *dp, int ifindex)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info), id;
	char name[IF_NAMESIZE] = "?";
	enum pal_xdp_mode m;
	int fd;

	if (pal_dp_xdp_query(ifindex, &m, &id) || m == PAL_XDP_OFF ||
	    pal_dp_prog_is_ours(id, "xdp_hep_ingress", pal_dp_ifaces_map_id(dp)) == 1)
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0) {
		bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
	}
	if_indextoname((unsigned int)ifindex, name);
	pal_dp_set_error(dp, "%s (ifindex %d) already has XDP program \"%s\" (id %u, %s mode) that is "
			 "not palisade's: refusing to replace it (tc still enforces the policy there; "
			 "detach it, or use --xdp-mode off)", name, ifindex,
			 info.name[0] ? info.name : "?", id, pal_xdp_mode_name(m));
	return -EBUSY;
}

int pal_dp_attach_xdp(struct pal_datapath *dp, int ifindex, enum pal_xdp_mode mode,
		      enum pal_xdp_mode *got)
{
	int fd = pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS);
	int err;

	if (got)
		*got = PAL_XDP_OFF;
	if (fd < 0)
		return fd;
	if (mode == PAL_XDP_OFF)
		return pal_dp_detach_xdp(ifindex);
	err = refuse_foreign_xdp(dp, ifindex);
	if (err)
		return err;
	if (mode == PAL_XDP_AUTO || mode == PAL_XDP_NATIVE) {
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
		if (!err) {
			if (got)
				*got = PAL_XDP_NATIVE;
			return 0;
		}
		if (mode == PAL_XDP_NATIVE) {
			pal_dp_set_error(dp, "native XDP on ifindex %d: %s", ifindex, strerror(-err));
			return err;
		}
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL);
	if (err) {
		pal_dp_set_error(dp, "generic XDP on ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	if (got)
		*got = PAL_XDP_GENERIC;
	return 0;
}

int pal_dp_xdp_query(int ifindex, enum pal_xdp_mode *mode, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	*mode = PAL_XDP_OFF;
	*prog_id = 0;
	if (err)
		return err;
	if (q.drv_prog_id) {
		*mode = PAL_XDP_NATIVE;
		*prog_id = q.drv_prog_id;
	} else if (q.skb_prog_id) {
		*mode = PAL_XDP_GENERIC;
		*prog_id = q.skb_prog_id;
	}
	return 0;
}

/* The kernel's id of this datapath's XDP program (the one pal_dp_attach_xdp attaches), 0 when
 * it cannot be told. */
static uint32_t own_xdp_prog_id(const struct pal_datapath *dp)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS);

	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

int pal_dp_xdp_verify(struct pal_datapath *dp, int ifindex)
{
	uint32_t id = 0, own = own_xdp_prog_id(dp);
	enum pal_xdp_mode mode;
	int err = pal_dp_xdp_query(ifindex, &mode, &id);
	bool ours = !err && own && mode != PAL_XDP_OFF && id == own;

	pal_dp_iface_xdp_mark(dp, (uint32_t)ifindex, ours); /* no slot of its own: nothing to mark */
	return err ? err : ours;
}

void pal_dp_xdp_unverify(struct pal_datapath *dp, int ifindex)
{
	if (dp)
		pal_dp_iface_xdp_mark(dp, (uint32_t)ifindex, false);
}

int pal_dp_detach_xdp(int ifindex)
{
	enum pal_xdp_mode mode;
	uint32_t id;
	int err = pal_dp_xdp_query(ifindex, &mode, &id);

	if (err)
		return err;
	/* no datapath here (uninstall): by name */
	if (mode == PAL_XDP_OFF || pal_dp_prog_is_ours(id, "xdp_hep_ingress", 0) != 1)
		return 0;
	return bpf_xdp_detach(ifindex, mode == PAL_XDP_NATIVE ? XDP_FLAGS_DRV_MODE :
								 XDP_FLAGS_SKB_MODE, NULL);
}

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point where, int fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PAL_TC_HANDLE, .priority = PAL_TC_PRIORITY,
		    .prog_fd = fd, .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

/* The workload guard passes the interface only once both programs are seen on it (its witness,
 * iface_live.c); a failure leaves it unwitnessed: the guard drops its traffic. */
int pal_dp_attach_tc(struct pal_datapath *dp, int ifindex)
{
	int err = tc_attach_one(ifindex, BPF_TC_INGRESS, pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS));

	if (!err)
		err = tc_attach_one(ifindex, BPF_TC_EGRESS, pal_dp_prog_fd(dp, PAL_PROG_TC_EGRESS));
	if (!err)
		err = pal_dp_tc_is_ours(dp, ifindex);
	if (err == 1)
		err = 0;
	else if (!err)
		err = -ENOENT; /* attached, yet not there: removed at once by someone else */
	/* err < 0 from the check: unknown, not proven attached (the agent retries) */
	if (err) {
		pal_dp_iface_live_clear(dp, ifindex);
		pal_dp_set_error(dp, "tc attach on ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	return pal_dp_iface_live_set(dp, ifindex);
}

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PAL_TC_HANDLE, .priority = PAL_TC_PRIORITY);
	int err = bpf_tc_detach(&hook, &opts);

	return err == -ENOENT || err == -EINVAL ? 0 : err; /* not attached / no clsact */
}

int pal_dp_detach_tc(int ifindex)
{
	int e1 = tc_detach_one(ifindex, BPF_TC_INGRESS);
	int e2 = tc_detach_one(ifindex, BPF_TC_EGRESS);

	return e1 ? e1 : e2;
}
