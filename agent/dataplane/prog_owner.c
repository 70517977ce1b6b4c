/* Which programs are palisade's (prog_owner.h): by name and by the pal_ifaces map they read.
 * Apart from attach.c so that the guard's witness (iface_live.c), which asks it, and the
 * attachment, which sets the witness, do not call into each other. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "datapath_internal.h"
#include "prog_owner.h"

/* The id of palisade's pal_ifaces map (every program of palisade's reads it), 0 when unknown. */
uint32_t pal_dp_ifaces_map_id(struct pal_datapath *dp)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (!dp || bpf_obj_get_info_by_fd(MFD(dp, pal_ifaces), &info, &len))
		return 0;
	return info.id;
}

static bool uses_map(int prog_fd, uint32_t map_id)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info), ids[64];

	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return false;
	for (uint32_t i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

/* 1 when program id is named `name` and reads palisade's pal_ifaces (map_id; 0: the name only),
 * 0 when it is not (or is gone), -errno when that cannot be told. */
int pal_dp_prog_is_ours(uint32_t id, const char *name, uint32_t map_id)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), ours;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		ours = -errno;
	else
		ours = strncmp(info.name, name, sizeof(info.name) - 1) == 0 &&
		       (!map_id || uses_map(fd, map_id));
	close(fd);
	return ours;
}

/* The program id of palisade's filter (0: none), or -errno when the kernel could not say. */
static int64_t tc_query_one(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PAL_TC_HANDLE, .priority = PAL_TC_PRIORITY);
	int err = bpf_tc_query(&hook, &opts);

	if (err == -ENOENT || err == -EINVAL || err == -ENODEV)
		return 0; /* no such filter / no clsact qdisc / no device */
	return err ? err : (int64_t)opts.prog_id;
}

int pal_dp_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id)
{
	int64_t in = tc_query_one(ifindex, BPF_TC_INGRESS);
	int64_t out = tc_query_one(ifindex, BPF_TC_EGRESS);

	*ingress_id = in > 0 ? (uint32_t)in : 0;
	*egress_id = out > 0 ? (uint32_t)out : 0;
	return in < 0 ? (int)in : out < 0 ? (int)out : 0;
}

int pal_dp_tc_is_ours(struct pal_datapath *dp, int ifindex)
{
	uint32_t in, out, map_id = pal_dp_ifaces_map_id(dp);
	int err = pal_dp_tc_query(ifindex, &in, &out), ours;

	if (err)
		return err;
	if (!in || !out)
		return 0;
	if (!map_id)
		return -EIO; /* our own map's id unknown: nothing can be proven ours */
	ours = pal_dp_prog_is_ours(in, "tc_ingress", map_id);
	return ours != 1 ? ours : pal_dp_prog_is_ours(out, "tc_egress", map_id);
}
