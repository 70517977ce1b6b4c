/* The live side of polctl: reads palisade's pinned datapath under --bpffs DIR (DIR/maps/<map>,
 * read-only, with plain bpf(2) map lookups) and the reporting metadata the agent writes next to
 * it (agent/dataplane/meta.h). Nothing here changes the datapath, except `flows --flush`.
 *
 * polctl opens the pins with the loader's own pal_pins_open (agent/dataplane/pins.h: the same
 * layout check), not with pal_dp_open(read_only), which lives beside the BPF objects the loader
 * embeds. The readers that need only a map fd are the library's own (map_read.h).
 *
 * live_trace.c answers `polctl trace` by running the pinned programs on a crafted packet with
 * BPF_PROG_TEST_RUN in trace mode (live_testrun.c, bpf/trace.h).
 */
#ifndef POLCTL_LIVE_H
#define POLCTL_LIVE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "palisade/abi.h"
#include "evaluator.h"
#include "map_read.h"
#include "pins.h"
#include "polctl.h"

/* The maps the live commands open: the first LM_COUNT of abi.h's PAL_PINNED_MAPS (pins.h). */
enum live_map {
	LM_VERSION = PAL_M_pal_version,
	LM_CONFIG = PAL_M_pal_config,
	LM_IFACES = PAL_M_pal_ifaces,
	LM_IF_BANK = PAL_M_pal_if_bank,
	LM_IF_CFG = PAL_M_pal_if_cfg,
	LM_LISTS = PAL_M_pal_lists,
	LM_ENTRIES = PAL_M_pal_entries,
	LM_CLASSES = PAL_M_pal_classes,
	LM_WORDS = PAL_M_pal_words,
	LM_FAILSAFE = PAL_M_pal_failsafe,
	LM_FLOWS = PAL_M_pal_flows,
	LM_FLOWS4 = PAL_M_pal_flows4,
	LM_RULE_CTRS = PAL_M_pal_rule_ctrs,
	LM_IF_CTRS = PAL_M_pal_if_ctrs,
	LM_EVENTS = PAL_M_pal_events,
	LM_SRCADDRS = PAL_M_pal_srcaddrs,
	LM_SLOT_CTRS = PAL_M_pal_slot_ctrs,
	LM_TRACE = PAL_M_pal_trace,
	LM_IF_INDEX = PAL_M_pal_if_index, /* link slots' counters (counters) */
	LM_COUNT
};

struct polctl_live {
	const char *dir;
	int fd[LM_COUNT];
	int ncpus;          /* possible CPUs: per-CPU values come as ncpus slots */
	json_t *meta;       /* the metadata document, NULL when none is pinned */
	int meta_err;       /* why meta is NULL (-ENOENT: none written) */
	struct pal_config cfg; /* pal_config[0], zero when unset */
	bool have_cfg;
};

/* Opens every pinned map under g->bpffs and reads the metadata. On error prints a message naming
 * the directory and returns POLCTL_USAGE (no datapath pinned, another layout version, no
 * permission); 0 otherwise. */
int polctl_live_open(const struct polctl_globals *g, struct polctl_live *lv);
/* For a command that takes no arguments (argc counts the command's name): "CMD: takes no
 * arguments" (POLCTL_USAGE) when it was given some, else polctl_live_open. */
int polctl_live_open_noargs(const struct polctl_globals *g, const char *cmd, int argc,
			    struct polctl_live *lv);
void polctl_live_close(struct polctl_live *lv);

/* An interface's configuration in force (map_read.h pal_map_iface_read). 0, -ENOENT when the
 * interface has no entry. */
int live_iface_read(const struct polctl_live *lv, uint32_t ifindex, struct pal_iface *out);
/* The interfaces with a pal_ifaces entry (ifindexes), sorted; *n of them. Caller frees. Out of
 * memory ends the list early. */
uint32_t *live_iface_keys(const struct polctl_live *lv, size_t *n);

/* Warns on stderr when the names shown may be missing or wrong: no metadata pinned, unreadable,
 * or written for another generation than the maps run (an agent that died between programming
 * the maps and writing the metadata). */
void live_warn_meta(const struct polctl_live *lv);

/* Interface name of ifindex in polctl's network namespace, else "if<N>". buf: IF_NAMESIZE + 8. */
const char *live_ifname(uint32_t ifindex, char *buf);

/* Metadata lookups (NULL when unknown or no metadata). Borrowed references. */
json_t *live_meta_rule(const struct polctl_live *lv, uint32_t rule_id);
json_t *live_meta_endpoint(const struct polctl_live *lv, uint32_t endpoint_id);
/* Name of tier `tier` of the list in `slot` of an endpoint (pal_entry.tier of a rule or tier-end
 * entry), NULL when unknown. */
const char *live_meta_tier(const struct polctl_live *lv, uint32_t endpoint_id, uint32_t iface_flags,
			   enum pal_slot slot, uint32_t tier);
/* The metadata's key for a slot: stage ("untracked", "prednat", "forward", "normal" or
 * "workload" for workload interfaces) and direction. */
const char *live_slot_stage(enum pal_slot slot, uint32_t iface_flags);
enum pal_dir live_slot_dir(enum pal_slot slot);
const char *live_slot_name(enum pal_slot slot); /* "untracked-in", ... */

/* Counter sums and the flow walk on lv->fd[...]: the datapath library's readers, map_read.h. */

/* Counts the keys of a map by walking it (hash, LRU, LPM maps). -errno on error. */
long live_map_count(int fd);

/* ---- running the pinned programs in trace mode (live_testrun.c) ---- */
/* A packet as the programs parse it (bpf/parse.h). */
struct live_pkt {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes, as bpf/parse.h stores it */
	bool has_ports;
	uint16_t sport, dport;
	bool is_icmp;
	uint8_t icmp_type, icmp_code;
};

/* One test run of one hook's program. */
struct live_hook_req {
	int prog_fd, trace_fd; /* the pinned program, the pinned pal_trace map */
	int cpu;               /* the CPU polctl is pinned to (live_pin_cpu) */
	uint32_t ifindex;      /* skb->ifindex (tc programs) */
	uint32_t ingress_ifindex; /* skb->ingress_ifindex (INPUT, forwarded at tc egress) */
	uint32_t mark;         /* skb->mark, as the earlier hooks left it */
	const struct live_pkt *pkt;
};

struct live_hook_run {
	int retval;          /* the program's return code */
	uint32_t mark;       /* skb->mark after the program */
	struct pal_trace rec; /* the lists it ran and what decided */
};

/* Pins polctl to the CPU it runs on (the trace record is per CPU); *cpu is that CPU. */
int live_pin_cpu(int *cpu);

/* Runs req's program on req->pkt in trace mode. 0; -ENOTSUP when the program did not enter
 * trace mode (a datapath older than trace mode); -errno. */
int live_hook_run(const struct polctl_live *lv, const struct live_hook_req *req,
		  struct live_hook_run *out);

/* ---- the hooks a traced packet crosses (live_hooks.c) ---- */
/* A list decision the programs recorded, and on which view of the packet. */
struct live_ran_list {
	struct pal_trace_list l;
	bool pre_dnat;
};

#define LIVE_MAX_PROGS 5 /* at most five hook runs per trace (raw OUTPUT's three, tc egress twice) */
#define LIVE_MAX_RAN (LIVE_MAX_PROGS * PAL_TRACE_MAX_LISTS)

/* A program run: its pin name and return code. */
struct live_prog_run {
	char name[48];
	int retval;
};

struct live_ran {
	struct live_ran_list lists[LIVE_MAX_RAN];
	size_t n;
	struct live_prog_run progs[LIVE_MAX_PROGS]; /* in the order they ran */
	size_t n_progs;
	const char *dropped_by; /* the program that dropped the packet, NULL: none did */
	uint32_t drop_reason;   /* what it recorded (enum pal_drop_reason) */
};

struct live_path {
	enum pal_trace_dir dir;
	uint32_t in_ifindex, out_ifindex; /* out: PAL_TRACE_FORWARD only */
	const struct live_pkt *pre, *post; /* the packet before and after DNAT */
	bool has_dnat;
};

/* Runs the pinned program of each hook the packet crosses on path, in order, in trace mode, and
 * collects what their classifier decided into out. 0, or POLCTL_USAGE after printing an error. */
int live_hooks_run(const struct polctl_globals *g, const struct polctl_live *lv,
		   const struct live_path *path, struct live_ran *out);

/* ---- trace (live_trace.c) ---- */
/* Fills v as pal_evaluate does, from the live maps and metadata. v's strings point into lv->meta
 * (or static text): valid while lv is open. 0, or POLCTL_USAGE after printing an error. */
int live_trace(const struct polctl_globals *g, const struct polctl_live *lv,
	       enum pal_trace_dir dir, const char *in_iface, const char *out_iface,
	       const struct pal_packet *pkt, struct pal_verdict *v, struct live_ran *ran);

#endif
