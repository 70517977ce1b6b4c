/* The workload guard's witness (abi.h, "pal_if_live"): which devices carry palisade's tc programs.
 * Set by pal_dp_attach_tc once both programs are attached and seen on the device, deleted by
 * pal_dp_detach_port before they are detached, deleted by the kernel with the device. At load the
 * agent makes it true again before anything else: programs may have been removed while no agent
 * ran, and pins of an older build have no witness for interfaces that are policed. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "attach.h"
#include "datapath_internal.h"

static bool has_entry(struct pal_datapath *dp, uint32_t ifindex)
{
	struct pal_if_slot ref;

	return bpf_map_lookup_elem(MFD(dp, pal_ifaces), &ifindex, &ref) == 0;
}

bool pal_dp_iface_live(struct pal_datapath *dp, int ifindex)
{
	struct pal_if_live v;
	uint32_t key = (uint32_t)ifindex;

	return bpf_map_lookup_elem(MFD(dp, pal_if_live), &key, &v) == 0;
}

bool pal_dp_iface_unwitnessed(struct pal_datapath *dp, int ifindex)
{
	return has_entry(dp, (uint32_t)ifindex) && !pal_dp_iface_live(dp, ifindex);
}

int pal_dp_iface_live_set(struct pal_datapath *dp, int ifindex)
{
	uint32_t key = (uint32_t)ifindex;
	struct pal_if_live v = { .ifindex = key };

	if (!has_entry(dp, key))
		return 0; /* not an interface the guard could pass: nothing to witness */
	if (bpf_map_update_elem(MFD(dp, pal_if_live), &key, &v, BPF_ANY)) {
		int err = -errno;

		pal_dp_set_error(dp, "pal_if_live[%u] (the workload guard's witness): %s", key,
				 strerror(errno));
		return err;
	}
	return 0;
}

int pal_dp_iface_live_clear(struct pal_datapath *dp, int ifindex)
{
	uint32_t key = (uint32_t)ifindex;

	if (bpf_map_delete_elem(MFD(dp, pal_if_live), &key) && errno != ENOENT) {
		int err = -errno;

		pal_dp_set_error(dp, "pal_if_live[%u]: cannot delete: %s", key, strerror(errno));
		return err;
	}
	return 0;
}

/* Deletes the witness of every device that lost its entry or palisade's tc programs. One whose
 * programs cannot be checked now (a query failed) keeps it, counted in *unknown: dropping a policed
 * pod on a transient error helps no one, and the agent's periodic check asks again. */
static int live_drop_unproven(struct pal_datapath *dp, int *dropped, int *unknown)
{
	int fd = MFD(dp, pal_if_live), err = 0, ours;
	uint32_t key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		ours = has_entry(dp, key) ? pal_dp_tc_is_ours(dp, (int)key) : 0;
		if (ours != 0) {
			*unknown += ours < 0;
			prev = &key;
			continue;
		}
		err = pal_dp_iface_live_clear(dp, (int)key);
		if (err)
			return err;
		(*dropped)++;
		/* prev stays: the walk goes on from the key before the deleted one */
	}
	return 0;
}

/* Witnesses every interface with an entry whose device carries palisade's tc programs now (pins
 * of a build before the witness: its pods stay open through the upgrade). */
static int live_add_proven(struct pal_datapath *dp)
{
	int fd = MFD(dp, pal_ifaces), err = 0;
	uint32_t key, next, *prev = NULL;

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!pal_dp_iface_live(dp, (int)key) && pal_dp_tc_is_ours(dp, (int)key) == 1)
			err = pal_dp_iface_live_set(dp, (int)key);
	}
	return err;
}

int pal_dp_iface_live_load(struct pal_datapath *dp)
{
	int dropped = 0, err = live_drop_unproven(dp, &dropped, &dp->live_unknown_at_load);

	return err ? err : live_add_proven(dp);
}

int pal_dp_iface_live_unknown_at_load(const struct pal_datapath *dp)
{
	return dp->live_unknown_at_load;
}
