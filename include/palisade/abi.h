/* The datapath ABI: everything the BPF programs (bpf/) and userspace (agent/dataplane, polctl)
 * must agree on. One copy, included by both sides.
 *
 * Rules for this file:
 *   - fixed-width types only, explicit padding, a _Static_assert on every size and on the offsets
 *     that matter (so a change that moves a field fails the build on both sides);
 *   - any change to a map key or value layout bumps PAL_LAYOUT_VERSION: the loader refuses to adopt
 *     pins made with another version (see agent/dataplane/datapath.c);
 *   - BPF map names are limited to 15 characters by the kernel.
 */
#ifndef PALISADE_ABI_H
#define PALISADE_ABI_H

#if defined(__bpf__) || defined(__BPF__)
/* BPF side: types come from vmlinux.h, which the program includes first. */
#else
#include <linux/types.h>
#include <stddef.h>
#endif

/* offsetof that is a constant expression on both sides (libbpf's bpf_helpers.h redefines
 * offsetof with a cast clang rejects in _Static_assert). */
#define PAL_OFFSETOF(type, member) __builtin_offsetof(type, member)

#define PAL_LAYOUT_VERSION 20u
#define PAL_PIN_DIR_DEFAULT "/sys/fs/bpf/palisade"

/* ---- classifier dimensions ------------------------------------------------------------------ */

/* The classifier runs the per-packet algorithm of agent/classifier/flatten.h over tables copied
 * from struct pal_cls_tables (maps_sync.c). A rule list holds at most PAL_MAX_ENTRIES entries:
 * PAL_MAX_WORDS 64-bit words of entry bits, summarised by up to PAL_SUMMARY_WORDS words (bit j of
 * a summary = word j is non-zero). These equal flatten.h's PAL_CLS_MAX_* (checked in
 * maps_sync.c). */
#define PAL_SUMMARY_WORDS 32u
#define PAL_MAX_WORDS (PAL_SUMMARY_WORDS * 64u)
#define PAL_MAX_ENTRIES (PAL_MAX_WORDS * 64u)
/* Steps (candidate words visited + entries hit) per packet and list; beyond: overflow, deny. */
#define PAL_MAX_CLASSIFY_STEPS 65536u
/* Log entries reported (event + counter) per packet and list. */
#define PAL_MAX_LOGS 32u

/* Default sizes; the loader may raise them before load (bpf_map__set_max_entries). */
#define PAL_DEF_WORDS (1u << 21)       /* pal_words: 16 MiB of bitmap words */
#define PAL_DEF_CLASSES (1u << 22)     /* pal_classes LPM entries (allocated on use) */
#define PAL_DEF_ENTRIES (1u << 19)     /* pal_entries */
/* Endpoints the datapath can program (palisaded --max-endpoints); the interface maps are sized from
 * it by the loader (PAL_*_FOR below), these are the defaults the objects are built with. */
#define PAL_DEF_MAX_ENDPOINTS 1024u
/* Sizes derived from the endpoint limit n: a slot per programmed endpoint plus the reserved ones;
 * pal_ifaces keys for as many interfaces again that are attached but unprogrammed (they point at a
 * reserved slot) plus watched ones; up to PAL_SLOT_COUNT lists per endpoint, twice during a flip;
 * counters for every interface palisade's programs run on, per hook. The last PAL_LINK_SLOTS
 * slots count the verdicts of attached interfaces without an endpoint (abi.h "pal_if_index"). */
#define PAL_IF_SLOTS_FOR(n) ((n) + PAL_IFSLOT_FIRST + PAL_LINK_SLOTS)
#define PAL_IF_KEYS_FOR(n) (2u * (n) + 64u)
#define PAL_LISTS_FOR(n) (2u * PAL_SLOT_COUNT * (n))
/* pal_small's slots: an array reserves them all (~2.8 KiB each), and endpoints mostly share their
 * short lists (one list per distinct content), so two per endpoint; a short list finding none
 * free keeps only its bitmap form. At most the list limit. */
#define PAL_SMALL_SLOTS_FOR(n) (2u * (n))
/* pal_long's slots: one per list pal_lists can hold, so that a long list finds a free slot
 * whenever pal_lists has room (~270 bytes each, reserved). */
#define PAL_LONG_SLOTS_FOR(n) PAL_LISTS_FOR(n)
#define PAL_IF_CTRS_FOR(n) (PAL_IF_KEYS_FOR(n) * PAL_HOOK_COUNT)
#define PAL_SLOT_CTRS_FOR(n) (PAL_IF_SLOTS_FOR(n) * PAL_HOOK_COUNT)
#define PAL_DEF_RULE_IDS (1u << 18)    /* pal_rule_ctrs */
#define PAL_DEF_FLOWS (1u << 18)       /* pal_flows (LRU) */
#define PAL_DEF_EVENTS_BYTES (1u << 20) /* pal_events ring buffer */

/* ---- enums ------------------------------------------------------------------------------------ */

/* Where a program runs. */
enum pal_hook {
	PAL_HOOK_XDP = 0,        /* xdp_hep_ingress */
	PAL_HOOK_TC_INGRESS = 1, /* tc_ingress */
	PAL_HOOK_TC_EGRESS = 2,  /* tc_egress */
	PAL_HOOK_RAW_OUTPUT = 3, /* sf_untracked_out_* via xt_bpf in raw OUTPUT */
	PAL_HOOK_INPUT = 4,      /* sf_input_deny via xt_bpf in filter INPUT */
	PAL_HOOK_COUNT = 5
};

/* The outcome a hook recorded for a packet (per-interface verdict counters). */
enum pal_dp_verdict {
	PAL_VERDICT_ALLOW = 0,       /* a policy or profile allowed it (flow entered when tracked) */
	PAL_VERDICT_DENY = 1,        /* dropped; the drop reason says why */
	PAL_VERDICT_PASS = 2,        /* no decision at this hook: passed on (non-IP, no policy here) */
	PAL_VERDICT_UNTRACKED = 3,   /* allowed by an untracked (doNotTrack) policy */
	PAL_VERDICT_ESTABLISHED = 4, /* part of a flow allowed earlier */
	PAL_VERDICT_FAILSAFE = 5,    /* matched a failsafe port */
	PAL_VERDICT_COUNT = 6
};

/* Why a packet was dropped. Names (pal_drop_reason_names) are polctl's and the metrics' labels. */
enum pal_drop_reason {
	PAL_DROP_NONE = 0,
	PAL_DROP_POLICY = 1,       /* a Deny rule matched */
	PAL_DROP_TIER_END = 2,     /* a tier applied and no rule acted: its defaultAction Deny */
	PAL_DROP_NO_PROFILE = 3,   /* after the tiers, no profile allowed it: default deny */
	PAL_DROP_EP_TO_HOST = 4,   /* workload to host with --endpoint-to-host-action drop */
	PAL_DROP_TRUNC_L2 = 5,     /* shorter than its Ethernet/VLAN header */
	PAL_DROP_TRUNC_L3 = 6,     /* IPv4/IPv6 header (or an extension header) cut short */
	PAL_DROP_TRUNC_L4 = 7,     /* TCP/UDP/SCTP/ICMP header cut short (first fragment) */
	PAL_DROP_BAD_IP = 8,       /* IPv4 IHL < 5, wrong version nibble, total length < header,
				    * an IPv4-mapped IPv6 address */
	PAL_DROP_IPV6_EXT = 9,     /* more IPv6 extension headers than PAL_MAX_IPV6_EXT */
	PAL_DROP_INTERNAL = 10,    /* a list or map entry the tables promise is missing */
	PAL_DROP_OVERFLOW = 11,    /* classifier step limit (PAL_MAX_CLASSIFY_STEPS) exceeded */
	PAL_DROP_SPOOF = 12,       /* a workload sent from an address that is not its own */
	PAL_DROP_UNPROGRAMMED = 13, /* palisade polices the interface but could not program it */
	PAL_DROP_BUSY = 14,        /* classifier scratch in use (process context preempted) */
	PAL_DROP_VLAN_DEPTH = 15,  /* more VLAN tags than PAL_MAX_VLAN_TAGS */
	PAL_DROP_COUNT = 16
};

/* Stages, same numbering as enum pal_stage of agent/core/ir.h (checked in
 * agent/dataplane/abi_mirror.c). */
enum pal_dp_stage {
	PAL_DP_STAGE_FAILSAFE = 0,
	PAL_DP_STAGE_UNTRACKED = 1,
	PAL_DP_STAGE_PREDNAT = 2,
	PAL_DP_STAGE_FORWARD = 3,
	PAL_DP_STAGE_NORMAL = 4,
	PAL_DP_STAGE_WORKLOAD = 5,
	PAL_DP_STAGE_PROFILE = 6,
	PAL_DP_STAGE_DEFAULT = 7,
	PAL_DP_STAGE_SOURCE = 8, /* source address check of a workload interface (anti-spoofing) */
	PAL_DP_STAGE_NONE = 255
};

/* The rule lists of an interface, one slot per (stage, direction). List id 0 = none: the stage
 * does not apply to this interface (untracked/preDNAT: pass on; forward: allow). */
enum pal_slot {
	PAL_SLOT_UNTRACKED_IN = 0,
	PAL_SLOT_UNTRACKED_OUT = 1,
	PAL_SLOT_PREDNAT_IN = 2,
	PAL_SLOT_FORWARD_IN = 3,
	PAL_SLOT_FORWARD_OUT = 4,
	PAL_SLOT_NORMAL_IN = 5,  /* host: normal tiers + profiles; workload: workload ingress list */
	PAL_SLOT_NORMAL_OUT = 6, /* host: normal tiers + profiles; workload: workload egress list */
	PAL_SLOT_COUNT = 7
};

/* Entry actions, the values of flatten.h's enum pal_cls_action. */
enum pal_entry_action {
	PAL_ACT_ALLOW = 0,
	PAL_ACT_DENY = 1,
	PAL_ACT_LOG = 2,  /* count, emit an event, continue at `next` */
	PAL_ACT_PASS = 3, /* continue at entry `next` (first entry of the next tier/profile) */
	PAL_ACT_SKIP = 4, /* not-named-port exclusion: continue at `next`, not counted */
};

/* Entry kinds, the values of flatten.h's enum pal_cls_kind. */
enum pal_entry_kind {
	PAL_KIND_RULE = 0,         /* a policy rule in a tier */
	PAL_KIND_PROFILE_RULE = 1, /* a profile rule */
	PAL_KIND_TIER_END = 2,     /* catch-all at the end of a tier with defaultAction Deny */
	PAL_KIND_DEFAULT = 3,      /* catch-all after the profiles: default deny */
};

/* ---- marks and metadata ----------------------------------------------------------------------- */

/* skb->mark bits palisade owns (kube-proxy uses 0x4000/0x8000, Calico 0xffff0000 by default). */
#define PAL_MARK_MASK 0x0ff00000u
#define PAL_MARK_UNTRACKED 0x00100000u /* untracked allow: raw table does CT --notrack */
#define PAL_MARK_FAILSAFE 0x00200000u  /* failsafe matched: later hooks accept (local traffic) */
#define PAL_MARK_PREDNAT 0x00400000u   /* preDNAT allowed: normal host policy skipped */
#define PAL_MARK_SEEN 0x00800000u      /* tc ingress of a host endpoint evaluated it */
/* Failsafe ports protect the host, not forwarded traffic: when failsafe-in let a packet through,
 * tc ingress still evaluates untracked and preDNAT ingress (on the pre-DNAT destination) and
 * leaves what they would have decided here, for tc egress to apply if the packet is forwarded. */
#define PAL_MARK_FWD_DENY 0x01000000u
#define PAL_MARK_FWD_UNTRACKED 0x02000000u
#define PAL_MARK_FWD_PREDNAT 0x04000000u
/* A failsafe reply (stages.h) that untracked ingress would allow if forwarded, but that preDNAT
 * ingress denies as the host's: tc ingress lets it on, INPUT drops it. */
#define PAL_MARK_HOST_DENY 0x08000000u

/* XDP -> tc: 8 bytes of XDP metadata in front of the packet, only where the kernel lets XDP
 * write metadata (pal_xdp_meta_ok). Any XDP program can write metadata, so tc ingress believes
 * the flags only when both hold (bpf/xdp_meta.h):
 *   - the interface's pal_if_bank element names this very ifindex in xdp_ifindex: the agent
 *     verified, by program id, that this datapath's own XDP program is attached there;
 *   - cookie is this load's random pal_xdp_meta_cookie (rodata, from getrandom) mixed with the
 *     receiving ifindex: a word another program wrote, an older load of palisade's, or
 *     palisade's XDP on another interface never matches. */
#define PAL_XDP_META_UNTRACKED 0x1u
#define PAL_XDP_META_FAILSAFE 0x2u
#define PAL_XDP_META_EVALUATED 0x4u /* XDP ran failsafe and untracked: tc need not */
struct pal_xdp_meta {
	__u32 cookie; /* pal_xdp_meta_cookie ^ the receiving ifindex */
	__u32 flags;  /* PAL_XDP_META_* */
};
_Static_assert(sizeof(struct pal_xdp_meta) == 8, "pal_xdp_meta size");

/* hook_memo: PERCPU_ARRAY of struct pal_hook_memo, private to each object (not pinned), PAL_MEMO_SLOTS
 * per kind, direct-mapped by a hash of the packet's headers: a verdict one hook made on a packet,
 * for a later hook of the same packet on the same CPU, so the later hook does not decide it again
 * (bpf/memo.h; docs/datapath.md "Memos between hooks"). Valid only while every input of the
 * verdict is unchanged: the header fields, the interface, the policy generation, the list judged
 * and the interface's flags, and the tick (jiffies). */
#define PAL_MEMO_SLOT_BITS 8u
#define PAL_MEMO_SLOTS (1u << PAL_MEMO_SLOT_BITS)
#define PAL_MEMO_HDR_WORDS 12u /* struct pal_pkt's header fields, src through tcp_flags */
#define PAL_MEMO_EMPTY 0u
#define PAL_MEMO_PRE_IN 1u      /* XDP: failsafe-in / untracked ingress outcome, for tc ingress */
#define PAL_MEMO_ESTABLISHED 2u /* tc ingress: the packet's own flow entry was established */
#define PAL_MEMO_KINDS 2u
struct pal_hook_memo {
	__u32 hdr[PAL_MEMO_HDR_WORDS];
	__u64 jiffies;    /* the tick it was made in */
	__u32 ifindex;    /* the interface the packet arrived on */
	__u32 generation; /* pal_config's, read before the verdict was made */
	__u32 list_id;    /* PRE_IN: the untracked-ingress list judged (0: none); else 0 */
	__u32 if_flags;   /* the interface's pal_iface flags */
	__u32 rule_id;    /* PRE_IN: the rule that decided (PAL_RULE_ID_NONE: none) */
	__u8 kind;        /* PAL_MEMO_*; EMPTY: no verdict */
	__u8 what;        /* PRE_IN: the outcome (bpf/stages.h PAL_O_NONE or PAL_O_UNTRACKED) */
	__u8 pad[2];
};
_Static_assert(sizeof(struct pal_hook_memo) == 80, "pal_hook_memo size");

/* cls_vcache: PERCPU_ARRAY of struct pal_vcache_line, private to each object (not pinned),
 * PAL_VCACHE_LINES per hook, direct-mapped by a hash of the key: the verdict cache of the bitmap
 * form (bpf/classify.h "Verdict cache"; docs/datapath.md "The verdict cache"). Steps 2 and 3 of a
 * classification are a pure function of the list's contents and the six classes step 1 found;
 * a line holds that answer for one (list stamp, six classes) when it was a first-entry ALLOW or
 * DENY (no Log, no walk), or NOMATCH because no summary word can hold a candidate (the AND of the
 * classes' top is 0: nothing logged either). The key is compared whole: a line of another key is
 * a miss. A class is named, per field: for a field with a direct key table (pal_list.direct) by
 * its class id in that table (ids are unique in the field's table, and name the class's values
 * at key_classes[f] + id * PAL_CLASS_WORDS, so the classifier reads those values only on a
 * miss); for any other field by its pal_class.summary, a pal_words index no other class of the
 * list has (every class has its own n_summary >= 1 summary words: maps_sync.c image_build).
 * Whether a field is direct is fixed by the list's contents, which its stamp names. */
#define PAL_VCACHE_LINE_BITS 8u
#define PAL_VCACHE_LINES (1u << PAL_VCACHE_LINE_BITS)
struct pal_vcache_line {
	__u64 stamp;   /* the list's pal_list.stamp; 0: empty or invalidated */
	__u32 cls[6];  /* per field (enum pal_field), the class's name (above) */
	__u32 busy;    /* 1 while a writer is inside the line: a reader misses, a writer leaves it */
	__u32 entry;   /* the deciding entry's index */
	__u32 rule_id; /* its rule */
	__u8 action;   /* PAL_ACT_ALLOW, PAL_ACT_DENY or PAL_VCACHE_NOMATCH */
	__u8 kind;
	__u8 pad[2];
};
/* pal_vcache_line.action of a NOMATCH answer (no PAL_ACT_* value) */
#define PAL_VCACHE_NOMATCH 0x80u
_Static_assert(sizeof(struct pal_vcache_line) == 48, "pal_vcache_line size");

/* event_clock: PERCPU_ARRAY[PAL_HOOK_COUNT] of struct pal_event_clock, private to each object
 * (not pinned): the event rate limiter's clock reading per hook, taken once per tick
 * (bpf/counters.h pal_event_now). */
struct pal_event_clock {
	__u64 jiffies; /* the tick the reading was taken in */
	__u64 ns;      /* bpf_ktime_get_coarse_ns then */
};
_Static_assert(sizeof(struct pal_event_clock) == 16, "pal_event_clock size");

/* ---- maps: keys and values -------------------------------------------------------------------- */

/* pal_version: ARRAY[1] of struct pal_version, written once when the maps are created. */
#define PAL_VERSION_MAGIC 0x50414c49u /* "PALI" */
struct pal_version {
	__u32 magic;
	__u32 layout;
	__u32 summary_words; /* PAL_SUMMARY_WORDS the programs were built with */
	__u32 pad;
};
_Static_assert(sizeof(struct pal_version) == 16, "pal_version size");

/* The pinned maps (DIR/maps/<name>), the one list of their names: the loader pins them, polctl
 * and the agent's pin readers open them (agent/dataplane/pins.h turns it into an index enum and
 * a name table). The BPF side declares each in bpf/maps.h under the same name; the loader fails
 * when one is missing from the object. Order matters: readers may open a prefix of the list
 * (polctl opens up to pal_srcaddrs), so a map added later goes at the end, where older pins of
 * the same layout may lack it. */
#define PAL_PINNED_MAPS(X) \
	X(pal_version) X(pal_config) X(pal_ifaces) X(pal_if_bank) X(pal_if_cfg) X(pal_lists) \
	X(pal_entries) X(pal_classes) X(pal_words) X(pal_failsafe) X(pal_flows) X(pal_flows4) X(pal_rule_ctrs) \
	X(pal_if_ctrs) X(pal_events) X(pal_srcaddrs) X(pal_flow_cfg) X(pal_flow_stats) X(pal_frags) \
	X(pal_fs_ports) X(pal_slot_ctrs) X(pal_trace) X(pal_if_index) X(pal_small) X(pal_if_live) X(pal_hosts) \
	X(pal_long)

/* pal_config: ARRAY[1] (BPF_F_MMAPABLE) of struct pal_config, read by every packet's flow check.
 * An array lookup with a constant key is inlined by the verifier (a hash lookup per packet cost
 * ~40 ns). The agent writes it through its mapping, each field with one atomic 32-bit store and
 * the generation last (agent/dataplane/config_word.c), so a packet never reads a torn value and
 * never the new generation with an older field. */
#define PAL_CFG_EP_TO_HOST_ACCEPT 0x1u
struct pal_config {
	__u32 flags; /* PAL_CFG_* */
	__u32 generation;
	/* Deny and Log events: at most one per event_interval_ns on average, in bursts of up to
	 * event_burst, per interface, hook and CPU (bpf/counters.h pal_event_admit); the rest are
	 * counted in pal_if_ctr.events_suppressed. 0 = the PAL_EVENT_*_DEF default. */
	__u32 event_interval_ns;
	__u32 event_burst;
};
_Static_assert(sizeof(struct pal_config) == 16, "pal_config size");
#define PAL_EVENT_RATE_DEF 1000u /* events per second per interface, hook and CPU */
#define PAL_EVENT_INTERVAL_DEF_NS (1000000000u / PAL_EVENT_RATE_DEF)
#define PAL_EVENT_BURST_DEF 100u

/* An interface's configuration is read in three steps, so that a value is never rewritten while a
 * packet may be reading it (see docs/datapath.md "Atomic updates"):
 *
 * pal_ifaces: HASH (BPF_F_NO_PREALLOC: a replaced or deleted element is freed after an RCU grace
 * period, never recycled under a reader), key = ifindex (__u32) -> struct pal_if_slot. Written
 * when the interface is bound, deleted when it is unbound; a bound interface's slot changes only
 * from a reserved slot to a slot of its own once it could be programmed.
 * pal_if_bank: ARRAY (BPF_F_MMAPABLE), index = slot -> struct pal_if_bank, the slot's active bank.
 * The agent flips it with one atomic 4-byte store through its mapping. Below PAL_IF_INDEX_DIRECT
 * the programs read the active bank from pal_if_index instead (its cfg_plus1, stored by the same
 * flip), so there these three steps are two.
 * pal_if_cfg: ARRAY, index = slot * 2 + bank -> struct pal_iface. The inactive bank is rewritten
 * only after an RCU grace period since the slot's last flip (the later of its two stores, bank
 * word and pal_if_index word: no reader left on it).
 *
 * Slots below PAL_IFSLOT_FIRST are reserved, written once at load and never changed: an interface
 * palisade attached to but could not program (capacity, a map full) points at one of them and
 * every packet there is denied (PAL_DROP_UNPROGRAMMED), failsafe ports excepted on a host. */
#define PAL_IFSLOT_UNPROGRAMMED_WORKLOAD 0u
#define PAL_IFSLOT_UNPROGRAMMED_HOST 1u
#define PAL_IFSLOT_FIRST 2u
/* Counter-only slots at the end of the slot range, for links palisade's tc programs run on that
 * no endpoint claims (the forward watch's, docs/datapath.md): their verdicts count in pal_slot_ctrs
 * by an array read instead of a pal_if_ctrs hash lookup per packet (~15-19 ns a forwarded packet
 * at tc egress). Never bound in pal_ifaces, so no program reads their pal_if_bank or pal_if_cfg
 * values; pal_if_index.link_plus1 names them. Links beyond these count by ifindex as before. */
#define PAL_LINK_SLOTS 64u
struct pal_if_slot {
	__u32 slot;
	__u32 pad;
};
_Static_assert(sizeof(struct pal_if_slot) == 8, "pal_if_slot size");

struct pal_if_bank {
	__u32 bank; /* 0 or 1 */
	/* The ifindex on which the agent last verified, by program id, that this datapath's own
	 * XDP program is attached (0: none): tc ingress reads XDP metadata only where it equals
	 * the packet's ifindex. One atomic store through the mapping; 0 when a slot is bound or
	 * freed, and before palisade's XDP is detached. */
	__u32 xdp_ifindex;
};
_Static_assert(sizeof(struct pal_if_bank) == 8, "pal_if_bank size (= the array's element stride)");

/* pal_if_index: ARRAY (BPF_F_MMAPABLE), index = ifindex -> struct pal_if_index, for ifindexes
 * below PAL_IF_INDEX_DIRECT: pal_ifaces' answer and the slot's active bank as one array read the
 * verifier inlines, so that a packet finds its interface's configuration with two lookups
 * (pal_if_index, pal_if_cfg) instead of a hash lookup or three array lookups. Below the bound the
 * programs read only this array, above it only pal_ifaces and pal_if_bank; userspace reads
 * pal_ifaces and pal_if_bank, the record. The agent writes them together
 * (agent/dataplane/iface_slots.c), the element with one atomic 4-byte store through its mapping,
 * so a packet reads the old or the new configuration index, never a mix.
 *
 * cfg_plus1 is the index of the configuration in force in pal_if_cfg plus one: slot * 2 + the
 * slot's active bank + 1 (the slot is (cfg_plus1 - 1) / 2). A flip stores it with the bank word
 * (pal_if_bank.bank stays the record and the answer above the bound), and the grace period before
 * the other bank is rewritten counts from after both stores, the last that could lead a packet to
 * it. The rule that keeps a stale word from giving another interface's policy is pal_ifaces' own:
 * an unbound interface's element is cleared before its slot is marked free, and a freed slot is
 * handed on only after a grace period, so a packet that read the old element still finds the
 * removed interface's last value. At every load the agent makes the array equal to pal_ifaces and
 * pal_if_bank again, element by element (an element that is already right is not written: packets
 * keep finding their interface), and waits a grace period from there before it rewrites a bank. */
#define PAL_IF_INDEX_DIRECT 65536u
#define PAL_IF_INDEX_NONE 0u /* no pal_ifaces entry: not palisade's interface */
struct pal_if_index {
	/* slot * 2 + the slot's active bank + 1 (pal_if_cfg's index + 1), or PAL_IF_INDEX_NONE;
	 * one atomic store */
	__u32 cfg_plus1;
	/* An attached interface without a pal_ifaces entry (a watched link): its counter slot + 1
	 * (one of the last PAL_LINK_SLOTS slots), or 0: it counts in pal_slot_ctrs there, read in
	 * the same line as cfg_plus1. Read only while cfg_plus1 is PAL_IF_INDEX_NONE; it is no
	 * configuration (the programs read it for counting alone), and it is written with one atomic
	 * store, cleared before its slot is marked free, and the slot is reused only after a grace
	 * period and with zeroed counters (agent/dataplane/iface_slots.c pal_dp_link_slots_sync). */
	__u32 link_plus1;
};
_Static_assert(sizeof(struct pal_if_index) == 8, "pal_if_index size (= the array's element stride)");

/* pal_if_live: DEVMAP_HASH, key = ifindex (__u32) -> struct pal_if_live (the same ifindex), sized
 * PAL_IF_KEYS_FOR(n). The workload guard's witness that this very device carries palisade's tc
 * programs: the agent adds the element only after both tc programs are attached and seen there,
 * and deletes it before it detaches them. A devmap holds the device itself, not only its number:
 * the kernel deletes the element when the device is unregistered (deleted, or moved to another
 * network namespace), also while no agent runs, so a new device that gets the same ifindex is
 * never witnessed. The guard passes a device only with a pal_ifaces entry and this element. */
struct pal_if_live {
	__u32 ifindex; /* struct bpf_devmap_val's first field (no XDP program) */
};
_Static_assert(sizeof(struct pal_if_live) == 4, "pal_if_live size (a devmap value of ifindex only)");

#define PAL_IF_HOST 0x1u     /* a host endpoint binds this interface */
#define PAL_IF_WORKLOAD 0x2u /* a workload endpoint's host-side interface */
/* The device has no link-layer header (tun, WireGuard, ipip, sit, GRE, PPP: netlink's link type
 * is not Ethernet): XDP and tc parse from the IP header at offset 0 (protocol from skb->protocol
 * in tc, from the IP version nibble in XDP). */
#define PAL_IF_L3 0x4u
#define PAL_IF_UNPROGRAMMED 0x100u /* attached but not programmed: deny (reserved slots only) */
struct pal_iface {
	__u32 flags; /* PAL_IF_* */
	__u32 generation;
	__u32 lists[PAL_SLOT_COUNT];
	__u32 endpoint_id; /* userspace index for reporting; PAL_IF_NO_ENDPOINT in reserved slots */
};
#define PAL_IF_NO_ENDPOINT 0xffffffffu
_Static_assert(sizeof(struct pal_iface) == 40, "pal_iface size");
_Static_assert(PAL_OFFSETOF(struct pal_iface, lists) == 8, "pal_iface.lists offset");

/* A class's bitmap over the list's entries, as indexes into pal_words (flatten.h BITMAPS):
 *   summary[k]  = pal_words[summary + k], k < n_summary
 *   anchor[k]   = pal_words[anchor + k]: words holding entries anchored on this field that this
 *                 class satisfies (flatten.h ANCHORS; the candidate words are
 *                 AND(summaries) & (always | OR(anchors)))
 *   ovr mask[k] = pal_words[ovr_mask + k]: bit j = word j of this class is an override
 *   ovr rank[k] = pal_words[ovr_rank + k]: override words of this class in summary words < k
 *   word(j)     = ovr bit j ? pal_words[ovr_base + (ovr bits set below j)] : pal_words[base + j]
 *   top         bit k = summary[k] != 0: the classifier visits only summary words whose bit is
 *                 set in every field's class (any other candidate word is 0), and the rank words
 *                 let it start at any of them
 * (base = the field's base words, shared by the field's classes). */
struct pal_class {
	__u32 summary;
	__u32 ovr_mask;
	__u32 ovr_base;
	__u32 base;
	__u32 anchor;
	__u32 ovr_rank;
	__u32 top;
};
_Static_assert(sizeof(struct pal_class) == 28, "pal_class size");
_Static_assert(PAL_SUMMARY_WORDS <= 32, "pal_class.top has a bit per summary word");

/* A list id with this bit is a list of more than PAL_SMALL_ENTRIES entries: it has no linear form
 * (pal_small), and its struct pal_list is in pal_long at slot id & ~PAL_LIST_ID_LONG as well as
 * in pal_lists. The classifier reads it there (an inlined array load, where the pal_lists hash
 * lookup cost ~20-30 ns per new flow at 10,000 rules), and only when the slot's list_id is the
 * id: a slot emptied or written for another id is never read as this list (the packet then
 * finds no list: INTERNAL, a drop). The agent hands out such ids only for free slots (the id is
 * free while pal_lists has no entry for it), writes the slot before the pal_lists entry, and
 * empties it before that entry goes (maps_sync.c), never rewriting it while the id is taken. */
#define PAL_LIST_ID_LONG 0x80000000u
/* A list id with this bit has a linear form, in pal_small at slot id & ~PAL_LIST_ID_SMALL: the
 * classifier finds it by an array index (an inlined load), not a hash lookup. The agent hands out
 * such ids only for free slots (the id is free while pal_lists has no entry for it, which stays
 * until no packet can still read the list: maps_sync.c free_list_id), writes the slot before the
 * list becomes reachable, and never rewrites it while the id is taken. A list id with neither bit
 * has only its bitmap form (its linear form did not fit, or no slot was free). */
#define PAL_LIST_ID_SMALL 0x40000000u

/* pal_lists: HASH, key = list id (__u32, never 0) -> struct pal_list; pal_long: ARRAY, key = slot
 * (id & ~PAL_LIST_ID_LONG) -> the same struct pal_list, for long lists. A list's entries and
 * words live in regions of the pal_entries and pal_words arrays that userspace allocates and never
 * rewrites while a list uses them. */
struct pal_list {
	__u32 n_entries;
	__u32 n_words;   /* ceil(n_entries / 64) */
	__u32 n_summary; /* ceil(n_words / 64), <= PAL_SUMMARY_WORDS */
	__u32 generation;
	__u32 entry_base; /* entry i is pal_entries[entry_base + i] */
	__u32 entry_count;
	__u32 word_base; /* the list's region of pal_words */
	__u32 word_count;
	__u32 always;    /* n_summary words in pal_words: words holding entries without an anchor */
	/* Bit f (enum pal_field): the list has one class for field f, which every key of the field
	 * maps to; it is one_class[f], and the classifier takes it from here instead of looking the
	 * packet's key up in pal_classes (no policy constrains source ports or ICMP types, most
	 * constrain only one address: half the LPM lookups of a new flow). */
	__u32 single_class;
	struct pal_class one_class[6 /* PAL_FIELD_COUNT */];
	/* Bit f: field f's class comes from its direct key table in the list's pal_words region
	 * (below) instead of an LPM lookup in pal_classes; never set for a single-class field. */
	__u32 direct;
	/* Bit f: field f's one class (single_class) holds every entry, in no word as an override and
	 * as no entry's anchor: the candidate words and the walk's words need not read it. */
	__u32 neutral;
	__u32 key_table[6];   /* pal_words index of field f's direct key table */
	__u32 key_classes[6]; /* pal_words index of its class values (PAL_CLASS_WORDS each); they end
			       * where the table begins, so a class id past them is a broken table */
	/* The list's id: a pal_long slot answers only for the id written in it (0: empty). */
	__u32 list_id;
	__u32 pad_id;
	/* Names this list's contents for the verdict cache (cls_vcache, below): the agent gives every
	 * list it writes a stamp no list written before it in this boot had (strictly increasing
	 * CLOCK_BOOTTIME ns, and past every pinned list's: maps_sync.c list_stamp; the pins die with
	 * the boot), so a list id, a
	 * pal_long slot or a pal_words region used again later never brings back an older list's
	 * cached answers. 0: never cached. */
	__u64 stamp;
};
_Static_assert(sizeof(struct pal_list) == 40 + 6 * sizeof(struct pal_class) + 8 + 2 * 6 * 4 + 16,
	       "pal_list size");
_Static_assert(PAL_OFFSETOF(struct pal_list, stamp) == 272, "pal_list.stamp offset");
_Static_assert(PAL_OFFSETOF(struct pal_list, list_id) == 264, "pal_list.list_id offset");
_Static_assert(PAL_OFFSETOF(struct pal_list, one_class) == 40, "pal_list.one_class offset");
_Static_assert(PAL_OFFSETOF(struct pal_list, key_table) == 216, "pal_list.key_table offset");

/* Direct key tables: the bitmap form's protocol, port and ICMP classes by array indexing in
 * pal_words instead of an LPM lookup (agent/dataplane/key_tables.c writes them, for lists over
 * PAL_SMALL_ENTRIES entries). Class ids are 16-bit, four to a word, id i in bits 16 * (i % 4):
 *   class values  PAL_CLASS_WORDS words per class id: summary | ovr_mask << 32,
 *                 ovr_base | base << 32, anchor | ovr_rank << 32, top
 *   PROTO         PAL_KEYTAB_PROTO_IDS ids: [family == 6][IP protocol]
 *   SPORT/DPORT/ICMP  a top level of PAL_KEYTAB_TOP_IDS ids, one per block of 256 keys (key >> 8)
 *                 and the no-key class at PAL_KEYTAB_NONE; a top id with PAL_KEYTAB_LEAF set is
 *                 the class of the whole block, else the word offset (from the table) of the
 *                 block's 256 class ids, by key & 0xff
 * A field gets a table only when its class ids fit in 15 bits and at most PAL_KEYTAB_MAX_BLOCKS
 * blocks hold more than one class (a host table: below, PAL_HOST_CLASSES_MAX); otherwise it keeps
 * its LPM lookup. */
#define PAL_CLASS_WORDS 4u
#define PAL_KEYTAB_PROTO_IDS 512u
#define PAL_KEYTAB_NONE 256u
#define PAL_KEYTAB_TOP_IDS 260u /* 256 blocks, the no-key class, padding to a whole word */
#define PAL_KEYTAB_BLOCK_IDS 256u
#define PAL_KEYTAB_LEAF 0x8000u
#define PAL_KEYTAB_MAX_BLOCKS 16u

/* Host tables: an address field whose prefixes are all host addresses (/32, /128) but the /0 of
 * each family (pods' addresses, the common case) takes its class id from pal_hosts, a hash of
 * the hosts, instead of an LPM lookup: its pal_list.key_table word holds the /0s' class ids
 * (IPv4 at id 0, IPv6 at id 1) for the addresses not in it; its class values are as above. */
#define PAL_HOSTS_MAX (1u << 17) /* pal_hosts entries (allocated on use); a list whose hosts do
				  * not fit keeps the LPM lookup */
/* A host table's class ids: pal_hosts values are 32-bit, so an address field of more than 32,767
 * classes (100,000 rules from 100,000 hosts) keeps its host table up to this many; only the two
 * /0s' ids sit in the 16-bit table word and must fit in 15 bits. */
#define PAL_HOST_CLASSES_MAX (1u << 24)
/* A host table's filter, in the words after its table word (whose 16-bit id PAL_HOST_FILTER_ID
 * holds log2 of its bits, 0 for no filter): the agent sets the bit pal_host_filter_bit gives for
 * every host of the table. An address whose bit is clear is none of the hosts, so it takes its
 * family's /0 without the pal_hosts lookup (most packets of a flood from sources no rule names);
 * a set bit only means "look it up". */
#define PAL_HOST_FILTER_ID 2
#define PAL_HOST_FILTER_LOG_MIN 6  /* one word */
#define PAL_HOST_FILTER_LOG_MAX 21 /* 32,768 words: 16 bits per host of PAL_HOSTS_MAX */
#define PAL_HOST_FILTER_BITS_PER_HOST 16u
/* The filter bit of an address in a filter of 2^log bits: x, its four 32-bit words as they lie
 * in memory (network order; an IPv4 address is w0 alone) folded as w0 ^ w1 * PAL_HOST_FOLD1 ^
 * w2 * PAL_HOST_FOLD2 ^ w3 * PAL_HOST_FOLD3, mixed, the top log bits. Inline on both sides: the
 * agent and the classifier must compute the same bit. */
#define PAL_HOST_FOLD1 0x9e3779b1u
#define PAL_HOST_FOLD2 0x85ebca6bu
#define PAL_HOST_FOLD3 0xc2b2ae35u
static inline __attribute__((always_inline)) __u32 pal_host_filter_bit(__u32 x, __u32 log)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x >> (32 - log);
}

/* A host table's IPv4 slots, after its filter's words (or after its table word when it has no
 * filter; the table word's 16-bit id PAL_HOST_SLOTS_ID holds log2 of their buckets, 0 for none):
 * 2^log buckets of two words, an IPv4 host at bucket pal_host_filter_bit(w0, log) (w0: the
 * address's 32-bit word as it lies in memory), in the first of the two words that is empty, as
 * w0 << 32 | (its class id + 1); a bucket that more than two hosts hash to has
 * PAL_HOST_SLOT_MORE in its second word's low half (those hosts are only in pal_hosts). So an
 * IPv4 address takes its host's class id from the bucket, or its /0's when neither word holds
 * it and the bucket has no PAL_HOST_SLOT_MORE (it is none of the hosts), without the pal_hosts
 * lookup (a hash of a 24-byte key: ~15-20 ns); only a bucket's third host and later pay it. An
 * empty word is 0 (class id + 1 is never 0). IPv6 hosts keep the filter and pal_hosts. */
#define PAL_HOST_SLOTS_ID 3
#define PAL_HOST_SLOTS_LOG_MIN 1
#define PAL_HOST_SLOTS_LOG_MAX 16 /* 131,072 words (1 MiB) for 65,536 hosts or more */
#define PAL_HOST_SLOT_MORE 0xffffffffu

struct pal_host_key {
	__u32 list_id;
	__u8 field;  /* PAL_FIELD_SRC_ADDR or PAL_FIELD_DST_ADDR */
	__u8 family; /* 4 or 6 */
	__u8 pad[2];
	__u8 addr[16]; /* network order; an IPv4 address in the first 4 bytes, the rest 0 */
};
_Static_assert(sizeof(struct pal_host_key) == 24, "pal_host_key size");
_Static_assert(PAL_KEYTAB_TOP_IDS % 4 == 0 && PAL_KEYTAB_PROTO_IDS % 4 == 0,
	       "key tables are whole words");

/* pal_entries: ARRAY of struct pal_entry (flatten.h's struct pal_cls_entry, minus reporting). */
struct pal_entry {
	__u8 action; /* enum pal_entry_action */
	__u8 kind;   /* enum pal_entry_kind */
	__u8 pad[2];
	__u32 next;    /* LOG, PASS, SKIP: where evaluation continues */
	__u32 rule_id; /* IR rule id (counters); PAL_RULE_ID_NONE for synthetic entries */
	__u32 tier;    /* tier index (reporting) */
};
_Static_assert(sizeof(struct pal_entry) == 16, "pal_entry size");
#define PAL_RULE_ID_NONE 0xffffffffu

/* pal_small: ARRAY, key = slot (list id & ~PAL_LIST_ID_SMALL) -> struct pal_small_list: the same
 * list in a short list's linear form, written beside its bitmap form when it fits and a slot is
 * free (maps_sync.c, small_list.c). The classifier prefers it: per field it scans a few key ranges or prefixes for
 * the packet's entry bits instead of an LPM lookup (none for a field every entry still possible
 * ignores: any_bits), ANDs the six, and walks the set bits; no
 * summary words, no scratch slot. Every table is the flattener's own (flatten.h FIELDS and
 * BITMAPS: a range or prefix carries word 0 of its class), so both forms give the same answer. */
#define PAL_SMALL_ENTRIES 32u  /* entries of a list in linear form (one 32-bit word) */
#define PAL_SMALL_RANGES 32u   /* key ranges per 16-bit field */
#define PAL_SMALL_PREFIXES 16u /* address prefixes per address field and family */
/* PROTO's key in the linear form: the IP protocol, + PAL_SMALL_PROTO_V6 for IPv6 */
#define PAL_SMALL_PROTO_V6 256u

/* keys first .. last (sorted, disjoint, covering 0 ..: the first range whose last >= key holds it) */
struct pal_small_range {
	__u16 first;
	__u16 last;
	__u32 bits; /* entries every key of the range satisfies */
};
_Static_assert(sizeof(struct pal_small_range) == 8, "pal_small_range size");

struct pal_small_keys {
	__u32 n;         /* ranges used */
	__u32 none_bits; /* the packet has no such key (no ports, not ICMP); unused for PROTO */
	/* The entries every key satisfies (the AND of every range's bits, and of none_bits where a
	 * packet can lack the key; 0 when n is 0): while all the entries a packet can still match
	 * are among them, the field's scan could remove none, and the classifier skips it. */
	__u32 any_bits;
	__u32 pad;
	struct pal_small_range r[PAL_SMALL_RANGES];
};
_Static_assert(sizeof(struct pal_small_keys) == 16 + 8 * PAL_SMALL_RANGES, "pal_small_keys size");

/* addr & mask == net, in network order; the longest such prefix of the packet's family decides.
 * One table per family, so an IPv4 address compares one word and scans only IPv4 prefixes. */
struct pal_small_prefix4 {
	__u32 net;
	__u32 mask;
	__u32 bits;
};
_Static_assert(sizeof(struct pal_small_prefix4) == 12, "pal_small_prefix4 size");

struct pal_small_prefix6 {
	__u32 net[4];
	__u32 mask[4];
	__u32 bits;
};
_Static_assert(sizeof(struct pal_small_prefix6) == 36, "pal_small_prefix6 size");

struct pal_small_addrs {
	__u32 n4; /* prefixes used in p4, p6 */
	__u32 n6;
	/* per family, as pal_small_keys.any_bits: the AND of the family's prefixes' bits (0 when it
	 * has no /0), the entries every address of the family satisfies */
	__u32 any4;
	__u32 any6;
	struct pal_small_prefix4 p4[PAL_SMALL_PREFIXES];
	struct pal_small_prefix6 p6[PAL_SMALL_PREFIXES];
};
_Static_assert(sizeof(struct pal_small_addrs) == 16 + (12 + 36) * PAL_SMALL_PREFIXES,
	       "pal_small_addrs size");

struct pal_small_entry {
	__u8 action; /* enum pal_entry_action */
	__u8 kind;   /* enum pal_entry_kind */
	__u8 next;   /* LOG, PASS, SKIP: where evaluation continues (<= n_entries) */
	__u8 pad;
	__u32 rule_id;
};
_Static_assert(sizeof(struct pal_small_entry) == 8, "pal_small_entry size");

/* the key fields of a linear-form list, in pal_small_list.keys */
#define PAL_SMALL_K_PROTO 0
#define PAL_SMALL_K_SPORT 1
#define PAL_SMALL_K_DPORT 2
#define PAL_SMALL_K_ICMP 3
#define PAL_SMALL_K_COUNT 4

struct pal_small_list {
	__u32 n_entries; /* <= PAL_SMALL_ENTRIES */
	__u32 list_id;   /* the list whose form this slot holds (0: none); read only for that id */
	struct pal_small_entry e[PAL_SMALL_ENTRIES];
	struct pal_small_addrs addr[2];                   /* source, destination */
	struct pal_small_keys keys[PAL_SMALL_K_COUNT];    /* PAL_SMALL_K_* */
};
_Static_assert(sizeof(struct pal_small_list) ==
		       8 + 8 * PAL_SMALL_ENTRIES + 2 * sizeof(struct pal_small_addrs) +
			       PAL_SMALL_K_COUNT * sizeof(struct pal_small_keys),
	       "pal_small_list size");
_Static_assert(PAL_SMALL_ENTRIES <= 32, "pal_small_range.bits holds every entry");

/* What the classifier answered for one list (bpf/classify.h pal_classify). */
#define PAL_CLS_STATUS_VERDICT 0  /* entry decided: action ALLOW or DENY */
#define PAL_CLS_STATUS_NOMATCH 1  /* fell off the end of the list */
#define PAL_CLS_STATUS_INTERNAL 2 /* a map entry the tables promise is missing */
#define PAL_CLS_STATUS_OVERFLOW 3 /* PAL_MAX_CLASSIFY_STEPS exceeded */
#define PAL_CLS_STATUS_BUSY 4     /* the scratch slot is in use by an interrupted classification */

/* pal_trace: PERCPU_ARRAY, one entry (key 0) of struct pal_trace. `polctl trace` runs the pinned
 * programs with BPF_PROG_TEST_RUN in trace mode and reads here what their classifier decided.
 * Trace mode is on only for a packet whose skb->cb[0], cb[1] carry this CPU's non-zero `nonce`
 * (low word, high word): polctl (root, bpf(2)) writes a fresh random nonce, runs, and clears it;
 * only a test run sets cb[] from userspace, and no sender can guess the nonce. In trace mode the
 * programs write no counters, events, flow or fragment entries and skip the established check
 * (the trace answers for a new flow); each list they run appends a struct pal_trace_list. */
#define PAL_TRACE_MAX_LISTS 8u
struct pal_trace_list {
	__u32 list_id;
	__u32 rule_id; /* deciding entry's, PAL_RULE_ID_NONE when none */
	__u32 entry;   /* deciding entry's index in the list (status VERDICT) */
	__u8 hook;     /* enum pal_hook */
	__u8 stage;    /* enum pal_dp_stage the hook ran the list as */
	__u8 status;   /* PAL_CLS_STATUS_* */
	__u8 action;   /* enum pal_entry_action of the deciding entry */
	__u8 kind;     /* enum pal_entry_kind of the deciding entry */
	__u8 n_logged;
	__u8 pad[2];
	__u32 logged[PAL_MAX_LOGS]; /* rule ids of the Log entries hit, in order */
};
_Static_assert(sizeof(struct pal_trace_list) == 20 + 4 * PAL_MAX_LOGS, "pal_trace_list size");

struct pal_trace {
	__u64 nonce;   /* 0: trace mode off */
	__u32 n_lists;
	__u32 entered; /* set by a program that entered trace mode (polctl checks it did) */
	/* enum pal_drop_reason the program dropped the packet for (what it would have counted),
	 * PAL_DROP_NONE when it let it through: polctl checks it against the program's return code
	 * and the lists' decisions. */
	__u32 drop_reason;
	__u32 pad;
	struct pal_trace_list lists[PAL_TRACE_MAX_LISTS];
};
_Static_assert(sizeof(struct pal_trace) == 24 + PAL_TRACE_MAX_LISTS * sizeof(struct pal_trace_list),
	       "pal_trace size");
_Static_assert(PAL_OFFSETOF(struct pal_trace, lists) == 24, "pal_trace.lists offset");

/* pal_classes: LPM_TRIE, key struct pal_class_key -> struct pal_class.
 * One trie serves every list and field: the fixed part (list id, field, sub) is matched in full
 * and the remaining `data` bits are the field's key, so a prefix of the key is a range:
 *   SRC_ADDR/DST_ADDR  sub = 4 or 6, data = address (network order), prefix = CIDR length
 *   PROTO              sub = 4 or 6 (the family), data[0] = IP protocol, always 8 bits
 *   SPORT/DPORT/ICMP   sub = 1, data[0..1] = the 16-bit key big endian (port, or type << 8 |
 *                      code), a key range written as its covering prefixes;
 *                      sub = 0 (0 bits): the packet has no such key (PAL_CLS_KEY_NONE)
 * Every field of a list covers its whole key space, so a failed lookup is PAL_DROP_INTERNAL. */
enum pal_field {
	PAL_FIELD_SRC_ADDR = 0,
	PAL_FIELD_DST_ADDR = 1,
	PAL_FIELD_PROTO = 2,
	PAL_FIELD_SPORT = 3,
	PAL_FIELD_DPORT = 4,
	PAL_FIELD_ICMP = 5,
	PAL_FIELD_COUNT = 6
};
_Static_assert(PAL_FIELD_COUNT * sizeof(struct pal_class) == sizeof(((struct pal_list *)0)->one_class),
	       "pal_list.one_class has one class per field");
_Static_assert(PAL_FIELD_COUNT * sizeof(__u32) == sizeof(((struct pal_vcache_line *)0)->cls),
	       "pal_vcache_line.cls has one class per field");

struct pal_class_key {
	__u32 prefixlen; /* bits after this member: PAL_CLASS_FIXED_BITS + key bits */
	__u32 list_id;
	__u8 field;
	__u8 sub;
	__u8 pad[2];
	__u8 data[16];
};
_Static_assert(sizeof(struct pal_class_key) == 28, "pal_class_key size");
_Static_assert(PAL_OFFSETOF(struct pal_class_key, data) == 12, "pal_class_key.data offset");
#define PAL_CLASS_FIXED_BITS 64u

/* pal_words: ARRAY of __u64: summaries, override masks, base and override words of every list. */

/* pal_failsafe: LPM_TRIE, key struct pal_failsafe_key -> __u32 (unused, 1). The fixed part (dir,
 * protocol, port, family) is matched in full, then the address: the source for inbound failsafes,
 * the destination for outbound ones. A failsafe without a net is a prefix-0 entry per family. */
#define PAL_FAILSAFE_IN 0
#define PAL_FAILSAFE_OUT 1
struct pal_failsafe_key {
	__u32 prefixlen; /* PAL_FAILSAFE_FIXED_BITS + address prefix length */
	__u8 dir;        /* PAL_FAILSAFE_IN / PAL_FAILSAFE_OUT */
	__u8 proto;
	__u16 port; /* host order */
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct pal_failsafe_key) == 28, "pal_failsafe_key size");
_Static_assert(PAL_OFFSETOF(struct pal_failsafe_key, addr) == 12, "pal_failsafe_key.addr offset");
#define PAL_FAILSAFE_FIXED_BITS 64u

/* pal_fs_ports: ARRAY (BPF_F_MMAPABLE) of __u64, a bitmap of the (direction, protocol, port)
 * triples that have a pal_failsafe entry: bit PAL_FS_PORT_BIT(dir, udp, port). The programs test
 * it before the LPM lookup, which most packets then skip. A superset is harmless (the trie
 * decides); the agent sets a port's bit before its trie entries appear and clears it only after
 * they are gone (agent/dataplane/failsafe_ports.c). */
#define PAL_FS_PORT_BIT(dir, udp, port) ((((__u32)(dir) & 1u) * 2u + ((udp) ? 1u : 0u)) * 65536u + \
					 (__u32)(port))
#define PAL_FS_PORT_WORDS (4u * 65536u / 64u)

/* pal_srcaddrs: LPM_TRIE, key struct pal_src_key -> __u32 (unused, 1). The source prefixes a
 * workload interface may send from: its endpoint's addresses (ipNetworks) and its
 * allowSpoofedSourcePrefixes. The fixed part (ifindex, family) is matched in full, then the
 * source address. tc ingress of a workload interface drops any other source (PAL_DROP_SPOOF),
 * apart from the unconfigured sources the kernel's rpfilter also accepts (bpf/srccheck.h). */
struct pal_src_key {
	__u32 prefixlen; /* PAL_SRC_FIXED_BITS + address prefix length */
	__u32 ifindex;
	__u8 family;     /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct pal_src_key) == 28, "pal_src_key size");
_Static_assert(PAL_OFFSETOF(struct pal_src_key, addr) == 12, "pal_src_key.addr offset");
#define PAL_SRC_FIXED_BITS 64u
#define PAL_DEF_SRC_PREFIXES 65536u /* pal_srcaddrs entries */

/* pal_flows: LRU_HASH, key struct pal_flow_key -> struct pal_flow: the IPv6 flows (IPv4 flows are
 * in pal_flows4, below, under a 16-byte key). One entry per allowed tracked flow for both
 * directions (and, under NAT, one for the other tuple of its conntrack entry): the
 * key is canonical, its `src` endpoint (address, port) the one that sorts first
 * (pal_flow_endpoint_after), and PAL_FLOW_REVERSED in the value says which endpoint opened the
 * flow. ICMP echo uses the identifier as both ports. Every entry of a flow carries the flow's
 * lifecycle and its admission context (docs/datapath.md "Flow state"). Aligned to 4 so both sides
 * copy and compare it by words. */
struct pal_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; /* host order */
	__u16 dport;
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 pad[2];
} __attribute__((aligned(4)));
_Static_assert(sizeof(struct pal_flow_key) == 40, "pal_flow_key size");

/* The order of a canonical key's endpoints: 1 when endpoint (a, ap) sorts after (b, bp), i.e.
 * the address as a big-endian number, then the port. Both sides use this one definition (the
 * agent's tests and tools look entries up by key). addr: 16 bytes, 4-aligned. */
static inline __attribute__((always_inline)) __u32 pal_flow_addr_word(const __u8 *addr, int i)
{
	const __u8 *a = (const __u8 *)__builtin_assume_aligned(addr, 4); /* word loads, not bytes */
	__u32 w;

	__builtin_memcpy(&w, a + 4 * i, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

static inline __attribute__((always_inline)) int pal_flow_endpoint_after(const __u8 *a, __u16 ap,
									 const __u8 *b, __u16 bp)
{
	for (int i = 0; i < 4; i++) {
		__u32 x = pal_flow_addr_word(a, i), y = pal_flow_addr_word(b, i);

		if (x != y)
			return x > y;
	}
	return ap > bp;
}

/* Puts tuple k (src -> dst) in canonical order; returns 1 when it swapped the endpoints (the
 * tuple travels from the key's dst to its src). */
static inline __attribute__((always_inline)) int pal_flow_key_canonical(struct pal_flow_key *k)
{
	__u8 a[16];
	__u16 port;

	if (!pal_flow_endpoint_after(k->src, k->sport, k->dst, k->dport))
		return 0;
	__builtin_memcpy(a, k->src, 16);
	__builtin_memcpy(k->src, k->dst, 16);
	__builtin_memcpy(k->dst, a, 16);
	port = k->sport;
	k->sport = k->dport;
	k->dport = port;
	return 1;
}

/* pal_flows4: LRU_HASH, key struct pal_flow_key4 -> struct pal_flow: the IPv4 flows, the same
 * canonical key as pal_flow_key's without the unused address bytes and the family: the kernel's
 * hash runs over 16 bytes instead of 40 and the compare is two words, on every established
 * packet (docs/datapath.md "Per-packet cost"). Sized with pal_flows (--max-flows, per family). */
struct pal_flow_key4 {
	__u8 src[4];
	__u8 dst[4];
	__u16 sport; /* host order */
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
} __attribute__((aligned(4)));
_Static_assert(sizeof(struct pal_flow_key4) == 16, "pal_flow_key4 size");

/* The pal_flows4 key of IPv4 key k (family 4), and back. */
static inline __attribute__((always_inline)) void pal_flow_key4_of(const struct pal_flow_key *k,
								    struct pal_flow_key4 *k4)
{
	__builtin_memcpy(k4->src, k->src, 4);
	__builtin_memcpy(k4->dst, k->dst, 4);
	k4->sport = k->sport;
	k4->dport = k->dport;
	k4->proto = k->proto;
	k4->pad[0] = k4->pad[1] = k4->pad[2] = 0;
}

static inline __attribute__((always_inline)) void pal_flow_key_of4(const struct pal_flow_key4 *k4,
								    struct pal_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->src, k4->src, 4);
	__builtin_memcpy(k->dst, k4->dst, 4);
	k->sport = k4->sport;
	k->dport = k4->dport;
	k->family = 4;
	k->proto = k4->proto;
}

#define PAL_FLOW_REVERSED 0x1u /* the flow opened from the key's dst endpoint to its src */
#define PAL_FLOW_NAT 0x2u      /* entered from the other side of a conntrack NAT mapping */
#define PAL_FLOW_FAILSAFE 0x4u /* admitted by a failsafe port: never re-judged */
#define PAL_FLOW_ALWAYS 0x8u   /* admitted without policy (host to its own workload): never re-judged */
#define PAL_FLOW_PREDNAT 0x10u /* preDNAT ingress allowed it (forward/normal ingress skipped) */
#define PAL_FLOW_DENIED 0x20u  /* tombstone: a re-judge denied it; every packet drops until expiry */
#define PAL_FLOW_FIN_ORIG 0x40u  /* TCP: FIN seen in the original direction */
#define PAL_FLOW_FIN_REPLY 0x80u /* TCP: FIN seen in the reply direction */
#define PAL_FLOW_POLICED_IN 0x100u  /* PAL_FCTX_FORWARD: `iif` was a policed interface */
#define PAL_FLOW_POLICED_OUT 0x200u /* PAL_FCTX_FORWARD: `ifindex` was a policed interface */
#define PAL_FLOW_SEQ_ORIG 0x400u  /* TCP: seq_mark[0] holds a sequence number of the original direction */
#define PAL_FLOW_SEQ_REPLY 0x800u /* TCP: seq_mark[1] holds one of the reply direction */
/* TCP: the flow's last packet was a SYN in the original direction that found the entry
 * established or half-closed and kept it (bpf/flow.h pal_flow_syn_keeps), its number in syn_seq
 * and its data length in syn_len: a SYN-ACK acknowledging it next re-syncs the entry to the new
 * connection (conntrack does too) */
#define PAL_FLOW_SYN_KEPT 0x1000u
/* TCP, syn_sent: the entry was written on a SYN, its number in syn_seq and the data it carried
 * (TCP Fast Open) in syn_len: only a SYN-ACK that acknowledges the SYN
 * answers it (bpf/flow.h pal_flow_synack_acks), as conntrack checks; a forged one set the reply's
 * sequence mark to the forger's number (the server's own RST and FIN then taken as blind) */
#define PAL_FLOW_SYN_SEQ 0x2000u
/* A failsafe flow an apply's sweep made ordinary (its failsafe set no longer admitted any tuple
 * of the flow's entries). The sweep sees only the tuples entered so far: INPUT writes a redirected
 * flow's entry after DNAT, and the pre-DNAT tuple the failsafe check admitted is entered only by
 * the flow's next packet through a tc hook. So a tc re-judge of such a flow asks conntrack for
 * the connection's original tuple first and keeps the flow while the failsafe set admits that
 * (bpf/flow_judge.h pal_flow_failsafe_pre_nat) */
#define PAL_FLOW_FAILSAFE_SWEPT 0x4000u

/* Lifecycle states (struct pal_flow.state), each with its idle timeout (enum pal_flow_tmo). The
 * TCP set is the kernel's, simplified where its distinctions do not change a verdict:
 * close_wait and last_ack fold into fin_wait (one FIN seen) and time_wait (both seen). */
enum pal_flow_state {
	PAL_FST_OTHER = 0,      /* SCTP and anything else with ports */
	PAL_FST_TCP_SYN_SENT = 1,
	PAL_FST_TCP_SYN_RECV = 2,
	PAL_FST_TCP_ESTABLISHED = 3,
	PAL_FST_TCP_FIN_WAIT = 4,
	PAL_FST_TCP_TIME_WAIT = 5,
	PAL_FST_TCP_CLOSE = 6,  /* RST seen */
	PAL_FST_UDP_UNREPLIED = 7,
	PAL_FST_UDP_REPLIED = 8,
	PAL_FST_ICMP = 9,
	PAL_FST_COUNT = 10
};

/* The admission context a re-judge replays (struct pal_flow.ctx). */
enum pal_flow_ctx {
	PAL_FCTX_NONE = 0,    /* unknown (entered through conntrack from an older entry) */
	PAL_FCTX_LOCAL_OUT = 1, /* tc egress, locally generated: normal egress of `ifindex` */
	PAL_FCTX_FORWARD = 2, /* tc egress, forwarded from `iif` to `ifindex` */
	PAL_FCTX_INPUT = 3,   /* filter INPUT, arrived on `ifindex` */
};

struct pal_flow {
	__u64 created_ns;
	__u64 last_ns;     /* last packet (refreshed at most once a second) */
	__u32 ifindex;     /* where it was allowed */
	__u32 flags;       /* PAL_FLOW_* */
	__u32 rule_id;     /* the rule that allowed it */
	__u32 generation;  /* pal_config.generation it was admitted or last re-judged under */
	__u32 iif;         /* PAL_FCTX_FORWARD: the interface it arrived on */
	__u8 hook;
	__u8 stage;
	__u8 state;        /* enum pal_flow_state */
	__u8 ctx;          /* enum pal_flow_ctx */
	/* TCP: per direction ([0] original, [1] reply), a high-water mark of the sequence numbers
	 * the direction's packets carried (host order), valid when PAL_FLOW_SEQ_ORIG / _REPLY is
	 * set. Written only when a packet's sequence number is more than PAL_FLOW_SEQ_STEP ahead of
	 * it and at most PAL_FLOW_RST_ABOVE (not on every packet: the established path does not
	 * write the entry; not where a forger chose), so it lags the direction's highest sequence
	 * number by at most that. An RST (or FIN) in ESTABLISHED or FIN_WAIT moves the flow on only
	 * when its sequence number is near its direction's mark (bpf/flow.h
	 * pal_flow_rst_in_window): a blind RST with a guessed sequence number does not. Next to the
	 * other fields every established packet reads (last_ns .. ctx), not after the 40-byte tuple:
	 * what the plain hit reads spans 40 bytes of the value, not 84 (fewer cache lines). */
	__u32 seq_mark[2];
	struct pal_flow_key orig; /* the original-direction tuple as the admitting hook classified it */
	__u8 orig_icmp_type; /* ICMP echo: the request's type, for a re-judge */
	__u8 pad2;
	__u16 syn_len; /* TCP, PAL_FLOW_SYN_SEQ or _SYN_KEPT: the bytes of data the SYN carried (Fast Open) */
	__u32 syn_seq; /* TCP, PAL_FLOW_SYN_KEPT or PAL_FLOW_SYN_SEQ: the SYN's sequence number */
};
_Static_assert(sizeof(struct pal_flow) == 96, "pal_flow size");
_Static_assert(PAL_OFFSETOF(struct pal_flow, seq_mark) == 40, "pal_flow.seq_mark offset");
_Static_assert(PAL_OFFSETOF(struct pal_flow, orig) == 48, "pal_flow.orig offset");
_Static_assert(PAL_OFFSETOF(struct pal_flow, syn_len) == 90, "pal_flow.syn_len offset");
_Static_assert(PAL_OFFSETOF(struct pal_flow, syn_seq) == 92, "pal_flow.syn_seq offset");

/* pal_flow_cfg: ARRAY[1] of struct pal_flow_cfg, written by the agent. A timeout of 0 means the
 * default (PAL_FLOW_TMO_DEF_*, the kernel's nf_conntrack defaults). */
enum pal_flow_tmo {
	PAL_FLOW_TMO_TCP_SYN_SENT = 0,
	PAL_FLOW_TMO_TCP_SYN_RECV = 1,
	PAL_FLOW_TMO_TCP_ESTABLISHED = 2,
	PAL_FLOW_TMO_TCP_FIN_WAIT = 3,
	PAL_FLOW_TMO_TCP_TIME_WAIT = 4,
	PAL_FLOW_TMO_TCP_CLOSE = 5,
	PAL_FLOW_TMO_UDP = 6,         /* unreplied */
	PAL_FLOW_TMO_UDP_REPLIED = 7, /* replied (the kernel's "stream") */
	PAL_FLOW_TMO_ICMP = 8,
	PAL_FLOW_TMO_OTHER = 9,
	PAL_FLOW_TMO_COUNT = 10
};
#define PAL_FLOW_TMO_DEF_TCP_SYN_SENT 120u
#define PAL_FLOW_TMO_DEF_TCP_SYN_RECV 60u
#define PAL_FLOW_TMO_DEF_TCP_ESTABLISHED 432000u
#define PAL_FLOW_TMO_DEF_TCP_FIN_WAIT 120u
#define PAL_FLOW_TMO_DEF_TCP_TIME_WAIT 120u
#define PAL_FLOW_TMO_DEF_TCP_CLOSE 10u
#define PAL_FLOW_TMO_DEF_UDP 30u
#define PAL_FLOW_TMO_DEF_UDP_REPLIED 120u
#define PAL_FLOW_TMO_DEF_ICMP 30u
#define PAL_FLOW_TMO_DEF_OTHER 600u
#define PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE 0x1u /* Calico's behaviour: never re-judge flows */
struct pal_flow_cfg {
	__u32 timeout_s[PAL_FLOW_TMO_COUNT]; /* seconds, indexed by enum pal_flow_tmo; 0 = default */
	__u32 flags;                         /* PAL_FLOW_CFG_* */
	__u32 pad;
};
_Static_assert(sizeof(struct pal_flow_cfg) == 48, "pal_flow_cfg size");

/* pal_flow_stats: PERCPU_ARRAY[1] of struct pal_flow_stats: table pressure and lifecycle events. */
struct pal_flow_stats {
	__u64 inserted;        /* entries written for admitted flows */
	__u64 insert_failed;   /* an entry could not be written (the flow meets policy again) */
	__u64 expired;         /* lookups that found an entry past its idle timeout */
	__u64 rejudged;        /* stale entries classified again after a policy change */
	__u64 rejudge_denied;  /* ... that the new policy denied (flow cut) */
	__u64 syn_new;         /* SYNs on an existing entry, sent to policy as new flows */
	__u64 rst_ignored;     /* RSTs (and FINs) of established or fin_wait flows too far from
				* their direction's sequence numbers to close them (a blind RST):
				* passed, flow kept */
};
_Static_assert(sizeof(struct pal_flow_stats) == 56, "pal_flow_stats size");

/* pal_frags: LRU_HASH, key struct pal_frag_key -> struct pal_frag. The verdict of a first fragment
 * at a hook, so that the later fragments of the same datagram (no L4 header) follow it, as the
 * kernel's reassembly would. */
struct pal_frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id; /* IPv4 identification or IPv6 fragment identification, host order */
	__u8 family;
	__u8 proto;
	__u8 hook;  /* enum pal_hook */
	__u8 pad;
	__u32 ifindex;
};
_Static_assert(sizeof(struct pal_frag_key) == 44, "pal_frag_key size");

struct pal_frag {
	__u64 ns;   /* when the first fragment passed */
	__u32 mark; /* tc ingress: the PAL_MARK_* bits the first fragment left */
	__u32 pad;
};
_Static_assert(sizeof(struct pal_frag) == 16, "pal_frag size");
#define PAL_FRAG_TIMEOUT_NS (30ull * 1000000000ull) /* the kernel's ipfrag_time */
#define PAL_DEF_FRAGS 8192u

/* pal_rule_ctrs: PERCPU_ARRAY indexed by IR rule id. */
struct pal_rule_ctr {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct pal_rule_ctr) == 16, "pal_rule_ctr size");

/* An interface's counters per hook live in one of two maps, and readers add both:
 * pal_slot_ctrs: PERCPU_ARRAY, index = slot * PAL_HOOK_COUNT + hook -> struct pal_if_ctr, for an
 * interface with a slot of its own (>= PAL_IFSLOT_FIRST; found through pal_ifaces). The agent
 * zeroes a slot's counters before it hands the slot to another interface (a grace period after
 * the last packet could have found it).
 * An attached interface without a pal_ifaces entry counts in pal_slot_ctrs too, at the link
 * slot pal_if_index names (link_plus1), when it has one.
 * pal_if_ctrs: PERCPU_HASH, key struct pal_ifctr_key -> struct pal_if_ctr, by ifindex: counts of
 * an interface without a slot of its own (a reserved slot, shared by unprogrammed interfaces, or
 * no pal_ifaces entry and no link slot), kept after it gets one. */
struct pal_ifctr_key {
	__u32 ifindex;
	__u8 hook; /* enum pal_hook */
	__u8 pad[3];
};
_Static_assert(sizeof(struct pal_ifctr_key) == 8, "pal_ifctr_key size");

struct pal_if_ctr {
	__u64 verdict[PAL_VERDICT_COUNT];
	__u64 drop[PAL_DROP_COUNT];
	/* The bytes of those drops (the packet's length as the hook saw it: the frame at XDP, the
	 * skb at tc and netfilter), counted on the deny path only. */
	__u64 drop_bytes[PAL_DROP_COUNT];
	/* Deny and Log events not emitted because this interface and hook were over the event rate
	 * limit (pal_config.event_interval_ns / event_burst), and events lost because the ring
	 * buffer was full. Every drop is still in drop[]. */
	__u64 events_suppressed;
	__u64 events_lost;
	/* The rate limiter's state on this CPU (GCRA: the time at which the full burst is
	 * available again); not a counter: readers do not sum it. */
	__u64 event_tat_ns;
	/* The limiter's state too: the tick (jiffies) in which it last held an event back while
	 * reading the tick clock; the rest of that tick is held back without another look at the
	 * bucket (bpf/counters.h pal_event_admit). */
	__u64 event_quiet_jiffies;
};
_Static_assert(sizeof(struct pal_if_ctr) == 8 * (PAL_VERDICT_COUNT + 2 * PAL_DROP_COUNT + 4),
	       "pal_if_ctr size");
_Static_assert(PAL_OFFSETOF(struct pal_if_ctr, drop_bytes) == 8 * (PAL_VERDICT_COUNT + PAL_DROP_COUNT),
	       "pal_if_ctr.drop_bytes offset");
_Static_assert(PAL_OFFSETOF(struct pal_if_ctr, events_suppressed) ==
		       8 * (PAL_VERDICT_COUNT + 2 * PAL_DROP_COUNT),
	       "pal_if_ctr.events_suppressed offset");

/* pal_events: RINGBUF of struct pal_event (denies and Log rules), rate-limited per interface,
 * hook and CPU (pal_config.event_interval_ns; pal_if_ctr.events_suppressed counts the rest). */
#define PAL_EVENT_DENY 1
#define PAL_EVENT_LOG 2
struct pal_event {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 rule_id;
	__u8 type;   /* PAL_EVENT_* */
	__u8 hook;   /* enum pal_hook */
	__u8 reason; /* enum pal_drop_reason */
	__u8 stage;  /* enum pal_dp_stage */
	__u8 family;
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u8 icmp_type;
	__u8 icmp_code;
	__u32 len;
	__u8 src[16];
	__u8 dst[16];
};
_Static_assert(sizeof(struct pal_event) == 64, "pal_event size");
_Static_assert(PAL_OFFSETOF(struct pal_event, src) == 32, "pal_event.src offset");

/* ---- names ------------------------------------------------------------------------------------ */

#if !defined(__bpf__) && !defined(__BPF__)
static const char *const pal_drop_reason_names[PAL_DROP_COUNT] = {
	[PAL_DROP_NONE] = "none",
	[PAL_DROP_POLICY] = "policy-deny",
	[PAL_DROP_TIER_END] = "tier-default-deny",
	[PAL_DROP_NO_PROFILE] = "no-profile-default-deny",
	[PAL_DROP_EP_TO_HOST] = "endpoint-to-host",
	[PAL_DROP_TRUNC_L2] = "truncated-l2",
	[PAL_DROP_TRUNC_L3] = "truncated-l3",
	[PAL_DROP_TRUNC_L4] = "truncated-l4",
	[PAL_DROP_BAD_IP] = "malformed-ip",
	[PAL_DROP_IPV6_EXT] = "ipv6-ext-limit",
	[PAL_DROP_INTERNAL] = "internal-error",
	[PAL_DROP_OVERFLOW] = "classifier-overflow",
	[PAL_DROP_SPOOF] = "spoofed-source",
	[PAL_DROP_UNPROGRAMMED] = "endpoint-unprogrammed",
	[PAL_DROP_BUSY] = "classifier-busy",
	[PAL_DROP_VLAN_DEPTH] = "vlan-tag-limit",
};
static const char *const pal_verdict_names[PAL_VERDICT_COUNT] = {
	[PAL_VERDICT_ALLOW] = "allow",       [PAL_VERDICT_DENY] = "deny",
	[PAL_VERDICT_PASS] = "pass",         [PAL_VERDICT_UNTRACKED] = "untracked",
	[PAL_VERDICT_ESTABLISHED] = "established", [PAL_VERDICT_FAILSAFE] = "failsafe",
};
static const char *const pal_hook_names[PAL_HOOK_COUNT] = {
	[PAL_HOOK_XDP] = "xdp",
	[PAL_HOOK_TC_INGRESS] = "tc-ingress",
	[PAL_HOOK_TC_EGRESS] = "tc-egress",
	[PAL_HOOK_RAW_OUTPUT] = "raw-output",
	[PAL_HOOK_INPUT] = "input",
};
#endif

#define PAL_MAX_IPV6_EXT 8 /* extension headers walked before PAL_DROP_IPV6_EXT */
#define PAL_MAX_VLAN_TAGS 2 /* VLAN tags walked before PAL_DROP_VLAN_DEPTH */

#endif
