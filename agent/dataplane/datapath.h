/* The datapath library: loads the BPF programs, pins everything under one bpffs directory, adopts
 * an already pinned datapath, programs the maps from the compiler's IR (maps_sync.c), attaches
 * programs to interfaces (attach.c) and installs palisade's netfilter rules (netfilter.c).
 *
 * Pin layout (DIR defaults to PAL_PIN_DIR_DEFAULT, /sys/fs/bpf/palisade):
 *   DIR/maps/<map>                 every shared map of include/palisade/abi.h
 *   DIR/progs/<program>            xdp_hep_ingress, tc_ingress, tc_egress, sf_input_deny
 *   DIR/progs/sf_out_{deny,failsafe,allow}_<ifindex>   raw OUTPUT filters per interface
 *   DIR/progs/wl_guard             the workload guard (Kubernetes datastore; mangle rules)
 * DIR/maps/pal_version holds the layout version: adopting pins of another version is refused.
 *
 * Errors: functions return 0 or -errno; a human message is left in pal_dp_error(dp) (or in the
 * caller's buffer for pal_dp_open).
 */
#ifndef PALISADE_DATAPATH_H
#define PALISADE_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_sizes.h"
#include "palisade/abi.h"

struct pal_datapath;

struct pal_dp_opts {
	const char *pin_dir; /* NULL = PAL_PIN_DIR_DEFAULT */
	/* Map sizes for a new datapath and the event rate (dp_sizes.h; 0 = the default). */
	struct pal_dp_sizes sizes;
	bool no_adopt; /* fail with -EEXIST instead of adopting existing pins */
	/* Open the pinned maps only (version checked), load nothing, create nothing: for readers
	 * such as polctl. Program fds and pal_dp_load_sf_out are unavailable then. */
	bool read_only;
	/* The opts__sz passed to the conntrack kfuncs: 0 = struct bpf_ct_opts' size in the running
	 * kernel's BTF (the normal case). Tests force 12, Linux 6.1's layout, on a newer kernel
	 * (which still takes it), or a size no kernel takes to see the error path. At most 16. */
	uint32_t ct_opts_size;
};

enum pal_dp_prog {
	PAL_PROG_XDP_HEP_INGRESS,
	PAL_PROG_TC_INGRESS,
	PAL_PROG_TC_EGRESS,
	PAL_PROG_SF_INPUT_DENY,
	PAL_PROG_COUNT
};

/* Opens the datapath: checks that the kernel has what the programs need (kernel.h), mounts bpffs at /sys/fs/bpf when it is not mounted, creates DIR, checks the
 * pinned layout version, loads the programs reusing pinned maps (or creating and pinning them),
 * pins the programs. *adopted tells whether existing pins were reused. */
int pal_dp_open(const struct pal_dp_opts *opts, struct pal_datapath **out, bool *adopted,
		char *err, size_t errlen);
/* Closes file descriptors; the pinned datapath keeps enforcing. */
void pal_dp_close(struct pal_datapath *dp);
/* Removes every pin under dir (maps, programs) and the directories; for --uninstall, after
 * detaching. Missing pins are not an error. */
int pal_dp_unpin_all(const char *dir);
/* Test and benchmark runs pin under /sys/fs/bpf/PREFIX...-PID: removes those whose process is
 * gone (killed, or crashed before its cleanup ran), so no run leaves pins behind for good. */
void pal_dp_unpin_orphans(const char *prefix);

const char *pal_dp_error(const struct pal_datapath *dp);
/* Whether the loaded XDP program passes its verdict to tc in XDP metadata (false when the kernel
 * refuses bpf_xdp_adjust_meta: tc ingress then evaluates failsafe and untracked ingress again). */
bool pal_dp_xdp_meta(const struct pal_datapath *dp);
/* This load's random seal of XDP's metadata word (abi.h "XDP -> tc"; for tests). */
uint32_t pal_dp_xdp_meta_cookie(const struct pal_datapath *dp);
int pal_dp_prog_fd(const struct pal_datapath *dp, enum pal_dp_prog p);
const char *pal_dp_prog_name(enum pal_dp_prog p);
/* fd of a shared map by name ("pal_ifaces", ...), or -ENOENT. */
int pal_dp_map_fd(const struct pal_datapath *dp, const char *name);
/* Path of a pinned program (for xt_bpf), into buf. */
int pal_dp_prog_pin_path(const struct pal_datapath *dp, const char *prog, char *buf, size_t len);

/* Loads an instance of the raw OUTPUT filters for ifindex (untracked egress deny, failsafe-out,
 * untracked egress allow), sharing the maps, and pins them as
 * DIR/progs/sf_out_{deny,failsafe,allow}_<ifindex>. Paths are written to the buffers (PATH_MAX
 * each, may be NULL). */
int pal_dp_load_sf_out(struct pal_datapath *dp, uint32_t ifindex, char *deny_path,
		       char *failsafe_path, char *allow_path);
int pal_dp_unpin_sf_out(struct pal_datapath *dp, uint32_t ifindex);

/* The workload guard (bpf/wl_guard.bpf.c: matches a packet whose device has no pal_ifaces entry or
 * no pal_if_live witness), loaded sharing the maps and pinned as DIR/progs/wl_guard (replacing an
 * older pin; rules already naming the old one keep it until they are rewritten). Its path into
 * path (may be NULL). */
#define PAL_WL_GUARD_PIN "wl_guard"
int pal_dp_load_wl_guard(struct pal_datapath *dp, char *path, size_t len);
/* Removes the pin (missing: not an error). */
int pal_dp_unpin_wl_guard(struct pal_datapath *dp);

/* An interface's configuration in force (map_read.h pal_map_iface_read on the datapath's
 * maps). 0, -ENOENT when it has no entry. */
int pal_dp_iface_read(struct pal_datapath *dp, uint32_t ifindex, struct pal_iface *out);
/* Endpoints that can be programmed, and how many more (free interface slots). */
uint32_t pal_dp_max_endpoints(const struct pal_datapath *dp);
uint32_t pal_dp_slots_available(const struct pal_datapath *dp);
/* Link slots (abi.h PAL_LINK_SLOTS): every interface of ifindex[n] (the ports palisade's programs
 * are attached to, or are being attached to) that has no pal_ifaces entry gets a counter slot,
 * while there are free ones, so its verdicts count by an array read (bpf/counters.h); one keeps
 * it while it stays in the list; the slots of interfaces not in the list are freed. Only for
 * ifindexes below PAL_IF_INDEX_DIRECT. How many slots were handed out, or -errno. */
int pal_dp_link_slots_sync(struct pal_datapath *dp, const int *ifindex, size_t n);
/* The link slot of ifindex, 0 when it has none. */
uint32_t pal_dp_link_slot(const struct pal_datapath *dp, uint32_t ifindex);

/* Sums the per-CPU counters. */
int pal_dp_rule_counter(const struct pal_datapath *dp, uint32_t rule_id, struct pal_rule_ctr *out);
int pal_dp_if_counter(const struct pal_datapath *dp, uint32_t ifindex, enum pal_hook hook,
		      struct pal_if_ctr *out);

/* Internal, for maps_sync.c and tests. */
void pal_dp_set_error(struct pal_datapath *dp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pal_dp_ncpus(void);

#endif
