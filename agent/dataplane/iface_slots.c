/* Interface slots: binding an interface to a slot, flipping the slot's active bank, unbinding, and
 * the reserved "unprogrammed" slots (layout in include/palisade/abi.h, above struct pal_if_slot).
 *
 * What makes a flip safe for a packet that is reading the interface's value:
 *   - the value a packet can reach (the active bank) is never written; the agent writes the other
 *     bank, then switches with one atomic store of the bank word (release: the value is written
 *     before it is published);
 *   - the bank that was active before a flip is written again only after an RCU grace period
 *     since that flip (slot_since), so a packet that read the old bank word has returned;
 *   - a freed slot is handed to another interface only after a grace period since it was freed,
 *     so a packet that found the slot through the old pal_ifaces entry never reads another
 *     interface's value; until then it reads the removed interface's last value;
 *   - pal_ifaces is BPF_F_NO_PREALLOC: a deleted or replaced element is freed after a grace
 *     period, never recycled under a reader (a preallocated HASH reuses it at once);
 *   - pal_if_index, the programs' array copy of pal_ifaces and the active bank for small
 *     ifindexes (its word is slot * 2 + bank + 1), is written with pal_ifaces (one atomic store
 *     per element), again by every flip, after the bank word and before the flip's time is taken
 *     (slot_since counts from the later of the two stores), and cleared before a slot is marked
 *     free, so the grace period before a bank is rewritten or a freed slot is reused covers a
 *     packet that read the old word there too;
 *   - link slots (the last PAL_LINK_SLOTS, abi.h) hold counters only, for attached interfaces
 *     without an entry: pal_if_index.link_plus1 names one, cleared before it is marked free,
 *     and a freed link slot is handed on only after a grace period, its counters zeroed.
 * All of this runs on one thread (the agent's, or a test's writer). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_internal.h"
#include "map_read.h"
#include "maps_sync.h"
#include "linktype.h"
#include "attach.h"

static uint32_t max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static int cfg_write(struct pal_datapath *dp, uint32_t slot, uint32_t bank, const struct pal_iface *v)
{
	uint32_t idx = slot * 2 + bank;

	if (bpf_map_update_elem(MFD(dp, pal_if_cfg), &idx, v, BPF_ANY)) {
		int err = -errno;

		pal_dp_set_error(dp, "pal_if_cfg[%u]: %s", idx, strerror(errno));
		return err;
	}
	return 0;
}

/* The reserved slots: both banks hold the same deny-everything value, written at every load (the
 * same bytes again on a restart). */
static int write_reserved(struct pal_datapath *dp)
{
	static const uint32_t kind[PAL_IFSLOT_FIRST] = {
		[PAL_IFSLOT_UNPROGRAMMED_WORKLOAD] = PAL_IF_WORKLOAD,
		[PAL_IFSLOT_UNPROGRAMMED_HOST] = PAL_IF_HOST,
	};

	for (uint32_t s = 0; s < PAL_IFSLOT_FIRST; s++) {
		struct pal_iface v = { .flags = kind[s] | PAL_IF_UNPROGRAMMED,
				       .endpoint_id = PAL_IF_NO_ENDPOINT };

		for (uint32_t b = 0; b < 2; b++) {
			int err = cfg_write(dp, s, b, &v);

			if (err)
				return err;
		}
	}
	return 0;
}

/* Which slots the pinned pal_ifaces entries hold (a restart adopts them). */
static int mark_bound_slots(struct pal_datapath *dp)
{
	int fd = MFD(dp, pal_ifaces);
	uint32_t key, next, *prev = NULL;
	struct pal_if_slot ref;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &ref) || ref.slot < PAL_IFSLOT_FIRST)
			continue;
		if (ref.slot >= pal_dp_link_first(dp) || dp->slot_used[ref.slot]) {
			pal_dp_set_error(dp, "pinned pal_ifaces[%u] names slot %u, %s: tables corrupt",
					 key, ref.slot,
					 ref.slot >= pal_dp_link_first(dp) ? "out of range" : "bound twice");
			return -EUCLEAN;
		}
		dp->slot_used[ref.slot] = true;
	}
	return 0;
}

static uint32_t active_bank(const struct pal_datapath *dp, uint32_t s)
{
	return dp->banks ? __atomic_load_n(&dp->banks[s].bank, __ATOMIC_ACQUIRE) & 1 : 0;
}

/* pal_if_index's word for slot s: the index of its active bank's value in pal_if_cfg, + 1. */
static uint32_t cfg_word(const struct pal_datapath *dp, uint32_t s)
{
	return s * 2 + active_bank(dp, s) + 1;
}

/* Publishes ifindex -> its configuration's index + 1 (cfg_word, or PAL_IF_INDEX_NONE) in
 * pal_if_index, where the programs read the interfaces below PAL_IF_INDEX_DIRECT. Called with
 * every pal_ifaces change, after it, and with every flip of the interface's slot, after the bank
 * word. */
static void if_index_store(struct pal_datapath *dp, uint32_t ifindex, uint32_t cfg_plus1)
{
	if (dp->if_index && ifindex < PAL_IF_INDEX_DIRECT)
		__atomic_store_n(&dp->if_index[ifindex].cfg_plus1, cfg_plus1, __ATOMIC_RELEASE);
}

/* pal_if_index = pal_ifaces and pal_if_bank, element by element (a restart adopts the pins; a
 * previous agent may have died between the writes, say between a flip's bank word and its
 * pal_if_index word). An element that is right already is not written, so a running datapath
 * keeps finding its interfaces. Every slot's slot_since was taken before this (slots_load): no
 * bank is rewritten before a grace period after these stores. Needs pal_if_bank mapped. */
static int if_index_load(struct pal_datapath *dp)
{
	int fd = MFD(dp, pal_ifaces), err = 0;
	uint32_t key, next, *prev = NULL, *want;
	struct pal_if_slot ref;

	if (max_entries(MFD(dp, pal_if_index)) != PAL_IF_INDEX_DIRECT) {
		pal_dp_set_error(dp, "pal_if_index has %u elements, want %u: tables corrupt",
				 max_entries(MFD(dp, pal_if_index)), PAL_IF_INDEX_DIRECT);
		return -EUCLEAN;
	}
	dp->if_index = pal_dp_map_rw(dp, MFD(dp, pal_if_index),
				     PAL_IF_INDEX_DIRECT * sizeof(struct pal_if_index), "pal_if_index",
				     &dp->if_index_len, &err);
	if (!dp->if_index)
		return err;
	want = calloc(PAL_IF_INDEX_DIRECT, sizeof(*want));
	if (!want)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key < PAL_IF_INDEX_DIRECT && !bpf_map_lookup_elem(fd, &key, &ref))
			want[key] = ref.slot < dp->n_slots ? cfg_word(dp, ref.slot) : PAL_IF_INDEX_NONE;
	}
	for (uint32_t i = 0; i < PAL_IF_INDEX_DIRECT; i++) {
		uint32_t l = __atomic_load_n(&dp->if_index[i].link_plus1, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&dp->if_index[i].cfg_plus1, __ATOMIC_ACQUIRE) != want[i])
			if_index_store(dp, i, want[i]);
		/* the link slots a previous agent handed out stay with their interfaces (and their
		 * counters); one out of the link range or named twice is dropped */
		if (!l)
			continue;
		if (l - 1 < pal_dp_link_first(dp) || l - 1 >= dp->n_slots || dp->slot_used[l - 1])
			__atomic_store_n(&dp->if_index[i].link_plus1, 0, __ATOMIC_RELEASE);
		else
			dp->slot_used[l - 1] = true;
	}
	free(want);
	return 0;
}

int pal_dp_slots_load(struct pal_datapath *dp)
{
	uint32_t n = max_entries(MFD(dp, pal_if_bank));
	long page = sysconf(_SC_PAGESIZE);
	int err;

	if (n <= PAL_IFSLOT_FIRST + PAL_LINK_SLOTS || max_entries(MFD(dp, pal_if_cfg)) != 2 * n) {
		pal_dp_set_error(dp, "pal_if_bank has %u slots and pal_if_cfg %u values (want 2 per "
				 "slot): tables corrupt", n, max_entries(MFD(dp, pal_if_cfg)));
		return -EUCLEAN;
	}
	dp->n_slots = n;
	dp->slot_used = calloc(n, sizeof(*dp->slot_used));
	dp->slot_since = calloc(n, sizeof(*dp->slot_since));
	if (!dp->slot_used || !dp->slot_since)
		return -ENOMEM;
	/* whatever a previous agent flipped last: wait a grace period before the first rewrite */
	for (uint32_t s = 0; s < n; s++)
		dp->slot_since[s] = pal_dp_grace_periods;
	err = mark_bound_slots(dp);
	if (err || dp->read_only)
		return err;
	dp->banks_len = ((size_t)n * sizeof(struct pal_if_bank) + (size_t)page - 1) / (size_t)page *
			(size_t)page;
	dp->banks = mmap(NULL, dp->banks_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 MFD(dp, pal_if_bank), 0);
	if (dp->banks == MAP_FAILED) {
		err = -errno;
		dp->banks = NULL;
		pal_dp_set_error(dp, "cannot map pal_if_bank: %s", strerror(-err));
		return err;
	}
	err = if_index_load(dp);
	if (!err)
		err = pal_dp_iface_live_load(dp); /* the guard's witness made true before anything */
	return err ? err : write_reserved(dp);
}

void pal_dp_slots_unload(struct pal_datapath *dp)
{
	if (dp->banks)
		munmap(dp->banks, dp->banks_len);
	dp->banks = NULL;
	if (dp->if_index)
		munmap(dp->if_index, dp->if_index_len);
	dp->if_index = NULL;
	free(dp->slot_used);
	free(dp->slot_since);
	dp->slot_used = NULL;
	dp->slot_since = NULL;
}

/* A grace period has passed since slot s last flipped or was freed. */
static bool slot_quiet(const struct pal_datapath *dp, uint32_t s)
{
	return __atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE) > dp->slot_since[s];
}

static int slot_alloc(struct pal_datapath *dp, uint32_t *out)
{
	bool waited = false, any_free;

	for (;;) {
		any_free = false;
		for (uint32_t s = PAL_IFSLOT_FIRST; s < pal_dp_link_first(dp); s++) {
			if (dp->slot_used[s])
				continue;
			any_free = true;
			if (slot_quiet(dp, s)) {
				dp->slot_used[s] = true;
				*out = s;
				return 0;
			}
		}
		if (!any_free || waited)
			break;
		pal_dp_grace_period(); /* freed slots become reusable */
		waited = true;
	}
	pal_dp_set_error(dp, "no free interface slot: %u endpoints are programmed (--max-endpoints)",
			 pal_dp_link_first(dp) - PAL_IFSLOT_FIRST);
	return -ENOSPC;
}

uint32_t pal_dp_slots_available(const struct pal_datapath *dp)
{
	uint32_t n = 0;

	for (uint32_t s = PAL_IFSLOT_FIRST; s < pal_dp_link_first(dp); s++)
		n += !dp->slot_used[s];
	return n;
}

/* The interface's slot, or -ENOENT. */
static int slot_of(struct pal_datapath *dp, uint32_t ifindex, struct pal_if_slot *ref)
{
	return bpf_map_lookup_elem(MFD(dp, pal_ifaces), &ifindex, ref) ? -ENOENT : 0;
}

int pal_dp_iface_read(struct pal_datapath *dp, uint32_t ifindex, struct pal_iface *out)
{
	return pal_map_iface_read(MFD(dp, pal_ifaces), MFD(dp, pal_if_bank), MFD(dp, pal_if_cfg),
				  ifindex, out);
}

/* Flips ifindex's slot of its own, s, to v: the other bank, then the bank word, then ifindex's
 * pal_if_index word (the only element that names s: a slot of its own is bound to one interface),
 * and only then the flip's time, from which the grace period before the old bank is rewritten
 * counts. */
static int flip_slot(struct pal_datapath *dp, uint32_t ifindex, uint32_t s, const struct pal_iface *v)
{
	uint32_t next = !active_bank(dp, s);
	int err;

	if (!slot_quiet(dp, s))
		pal_dp_grace_period(); /* back-to-back flips: the other bank may still be read */
	err = cfg_write(dp, s, next, v);
	if (err)
		return err;
	__atomic_store_n(&dp->banks[s].bank, next, __ATOMIC_RELEASE);
	if_index_store(dp, ifindex, s * 2 + next + 1);
	dp->slot_since[s] = __atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE);
	return 0;
}

/* Zeroes slot s's counters in pal_slot_ctrs, for the interface it goes to next. Only for a slot
 * no packet can reach (a grace period after it was freed, or never used): no count is lost. */
static int slot_ctrs_zero(struct pal_datapath *dp, uint32_t s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pal_if_ctr *zero;
	int err = 0;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (uint32_t h = 0; h < PAL_HOOK_COUNT && !err; h++) {
		uint32_t idx = s * PAL_HOOK_COUNT + h;

		if (bpf_map_update_elem(MFD(dp, pal_slot_ctrs), &idx, zero, BPF_ANY)) {
			err = -errno;
			pal_dp_set_error(dp, "pal_slot_ctrs[%u]: %s", idx, strerror(errno));
		}
	}
	free(zero);
	return err;
}

/* Gives the interface a slot of its own holding v (it had none, or a reserved one). */
static int bind_slot(struct pal_datapath *dp, uint32_t ifindex, const struct pal_iface *v)
{
	struct pal_if_slot ref = { 0 };
	uint32_t s;
	int err = slot_alloc(dp, &s);

	if (err)
		return err;
	/* the slot is reachable from nowhere (freed a grace period ago, or never used) */
	err = slot_ctrs_zero(dp, s);
	if (!err)
		err = cfg_write(dp, s, active_bank(dp, s), v);
	ref.slot = s;
	/* no verified XDP on a slot's new interface until the agent checks it (tc ingress) */
	__atomic_store_n(&dp->banks[s].xdp_ifindex, 0, __ATOMIC_RELEASE);
	if (!err && bpf_map_update_elem(MFD(dp, pal_ifaces), &ifindex, &ref, BPF_ANY)) {
		err = -errno;
		pal_dp_set_error(dp, "pal_ifaces[%u]: %s", ifindex, strerror(errno));
	}
	if (err)
		dp->slot_used[s] = false; /* never published */
	else
		if_index_store(dp, ifindex, cfg_word(dp, s));
	return err;
}

int pal_dp_iface_flip(struct pal_datapath *dp, uint32_t ifindex, const struct pal_iface *v,
		      struct pal_iface *old, bool *had_old)
{
	struct pal_if_slot ref;
	struct pal_iface o, nv = *v;
	bool had = slot_of(dp, ifindex, &ref) == 0 && pal_dp_iface_read(dp, ifindex, &o) == 0;
	unsigned int type = ARPHRD_ETHER;
	int lt = pal_link_type(ifindex, &type);
	int err;

	if (!dp->banks)
		return -EROFS;
	/* the programs parse from the IP header on devices without a link-layer header; an
	 * interface that is gone has no packets to misparse */
	if (lt && lt != -ENXIO && lt != -ENODEV) {
		pal_dp_set_error(dp, "interface %u: cannot read its link type: %s", ifindex,
				 strerror(-lt));
		return lt;
	}
	if (pal_framing_of(type) == PAL_FRAMING_L3)
		nv.flags |= PAL_IF_L3;
	if (had && ref.slot >= PAL_IFSLOT_FIRST)
		err = flip_slot(dp, ifindex, ref.slot, &nv);
	else
		err = bind_slot(dp, ifindex, &nv);
	if (err)
		return err;
	if (had_old)
		*had_old = had;
	if (old && had)
		*old = o;
	return 0;
}

int pal_dp_iface_unprogrammed(struct pal_datapath *dp, uint32_t ifindex, bool host, bool *kept)
{
	struct pal_if_slot ref = { .slot = host ? PAL_IFSLOT_UNPROGRAMMED_HOST :
						  PAL_IFSLOT_UNPROGRAMMED_WORKLOAD };
	struct pal_if_slot cur;

	*kept = slot_of(dp, ifindex, &cur) == 0 && cur.slot >= PAL_IFSLOT_FIRST;
	if (*kept)
		return 0; /* its last good value stays in force */
	if (bpf_map_update_elem(MFD(dp, pal_ifaces), &ifindex, &ref, BPF_ANY)) {
		int err = -errno;

		pal_dp_set_error(dp, "pal_ifaces[%u] (deny while unprogrammed): %s", ifindex,
				 strerror(errno));
		return err;
	}
	if_index_store(dp, ifindex, cfg_word(dp, ref.slot)); /* both banks hold the same value */
	return 0;
}

int pal_dp_iface_remove(struct pal_datapath *dp, uint32_t ifindex, struct pal_iface *old,
			bool *had_old)
{
	struct pal_if_slot ref;
	struct pal_iface o;
	bool had = slot_of(dp, ifindex, &ref) == 0;

	if (had && pal_dp_iface_read(dp, ifindex, &o))
		memset(&o, 0, sizeof(o));
	if (had && bpf_map_delete_elem(MFD(dp, pal_ifaces), &ifindex) && errno != ENOENT)
		return -errno;
	if (had)
		if_index_store(dp, ifindex, PAL_IF_INDEX_NONE); /* before the slot is marked free */
	if (had && ref.slot >= PAL_IFSLOT_FIRST && ref.slot < dp->n_slots) {
		/* a packet that found the slot before the delete still reads this value: the
		 * slot goes to another interface only after a grace period */
		__atomic_store_n(&dp->banks[ref.slot].xdp_ifindex, 0, __ATOMIC_RELEASE);
		dp->slot_used[ref.slot] = false;
		dp->slot_since[ref.slot] = __atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE);
	}
	if (had_old)
		*had_old = had;
	if (old && had)
		*old = o;
	return 0;
}

int pal_dp_iface_xdp_mark(struct pal_datapath *dp, uint32_t ifindex, bool verified)
{
	struct pal_if_slot ref;

	if (!dp->banks)
		return -EROFS;
	if (slot_of(dp, ifindex, &ref) || ref.slot < PAL_IFSLOT_FIRST || ref.slot >= dp->n_slots)
		return -ENOENT; /* no slot of its own: tc ingress reads no metadata there */
	__atomic_store_n(&dp->banks[ref.slot].xdp_ifindex, verified ? ifindex : 0,
			 __ATOMIC_RELEASE);
	return 0;
}

uint32_t pal_dp_iface_xdp_marked(struct pal_datapath *dp, uint32_t ifindex)
{
	struct pal_if_slot ref;

	if (!dp->banks || slot_of(dp, ifindex, &ref) || ref.slot >= dp->n_slots)
		return 0;
	return __atomic_load_n(&dp->banks[ref.slot].xdp_ifindex, __ATOMIC_ACQUIRE);
}

/* ---- link slots ------------------------------------------------------------------------------ */

uint32_t pal_dp_link_slot(const struct pal_datapath *dp, uint32_t ifindex)
{
	uint32_t l;

	if (!dp->if_index || !ifindex || ifindex >= PAL_IF_INDEX_DIRECT)
		return 0;
	l = __atomic_load_n(&dp->if_index[ifindex].link_plus1, __ATOMIC_ACQUIRE);
	return l ? l - 1 : 0;
}

/* Frees the link slot of ifindex: unpublished first, reusable after a grace period. */
static void link_free(struct pal_datapath *dp, uint32_t ifindex, uint32_t s)
{
	__atomic_store_n(&dp->if_index[ifindex].link_plus1, 0, __ATOMIC_RELEASE);
	if (s < dp->n_slots) {
		dp->slot_used[s] = false;
		dp->slot_since[s] = __atomic_load_n(&pal_dp_grace_periods, __ATOMIC_ACQUIRE);
	}
}

/* A link slot no packet can reach (freed a grace period ago, or never used), or -ENOSPC. */
static int link_alloc(struct pal_datapath *dp, bool *waited, uint32_t *out)
{
	for (;;) {
		bool any_free = false;

		for (uint32_t s = pal_dp_link_first(dp); s < dp->n_slots; s++) {
			if (dp->slot_used[s])
				continue;
			any_free = true;
			if (slot_quiet(dp, s)) {
				*out = s;
				return 0;
			}
		}
		if (!any_free || *waited)
			return -ENOSPC;
		pal_dp_grace_period(); /* freed link slots become reusable */
		*waited = true;
	}
}

int pal_dp_link_slots_sync(struct pal_datapath *dp, const int *ifindex, size_t n)
{
	bool *attached, waited = false;
	int given = 0, err = 0;

	if (!dp->if_index)
		return -EROFS;
	attached = calloc(PAL_IF_INDEX_DIRECT, sizeof(*attached));
	if (!attached)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ifindex[i] > 0 && (uint32_t)ifindex[i] < PAL_IF_INDEX_DIRECT)
			attached[ifindex[i]] = true;
	/* the link slots of interfaces no longer attached go (their counters are pruned too) */
	for (uint32_t i = 1; i < PAL_IF_INDEX_DIRECT; i++) {
		uint32_t l = __atomic_load_n(&dp->if_index[i].link_plus1, __ATOMIC_ACQUIRE);

		if (l && !attached[i])
			link_free(dp, i, l - 1);
	}
	/* an attached interface without an entry gets one; one that has a link slot keeps it while
	 * it stays attached, also once it is bound (its entry's slot counts then; readers add both) */
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t x = (uint32_t)ifindex[i], s;

		if (ifindex[i] <= 0 || x >= PAL_IF_INDEX_DIRECT || !attached[x] ||
		    __atomic_load_n(&dp->if_index[x].link_plus1, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&dp->if_index[x].cfg_plus1, __ATOMIC_ACQUIRE) !=
			    PAL_IF_INDEX_NONE)
			continue;
		attached[x] = false; /* listed twice: once */
		if (link_alloc(dp, &waited, &s))
			break; /* more watched links than link slots: the rest count by ifindex */
		err = slot_ctrs_zero(dp, s);
		if (err)
			break;
		dp->slot_used[s] = true;
		__atomic_store_n(&dp->if_index[x].link_plus1, s + 1, __ATOMIC_RELEASE);
		given++;
	}
	free(attached);
	return err ? err : given;
}
