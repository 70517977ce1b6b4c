/* Every map of the datapath. Included by each BPF object (palisade.bpf.c, sf_out.bpf.c): objects
 * that define the same map share it through the pins under the bpffs directory (the loader points
 * each map's pin path there before load, so libbpf reuses the pinned map). Keys and values are the
 * ABI structs of include/palisade/abi.h. */
#ifndef PAL_BPF_MAPS_H
#define PAL_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_version);
} pal_version SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pal_config);
} pal_config SEC(".maps");

/* Interface -> slot -> active bank -> configuration (abi.h, "pal_ifaces"). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PAL_IF_KEYS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pal_if_slot);
} pal_ifaces SEC(".maps");

/* The same interface -> slot, by ifindex below PAL_IF_INDEX_DIRECT (abi.h, "pal_if_index"). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_IF_INDEX_DIRECT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pal_if_index);
} pal_if_index SEC(".maps");

/* The devices that carry palisade's tc programs, for the workload guard (abi.h, "pal_if_live"). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, PAL_IF_KEYS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, __u32);
	__type(value, struct pal_if_live);
} pal_if_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_IF_SLOTS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pal_if_bank);
} pal_if_bank SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PAL_IF_SLOTS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, __u32);
	__type(value, struct pal_iface);
} pal_if_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PAL_LISTS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, __u32);
	__type(value, struct pal_list);
} pal_lists SEC(".maps");

/* Long lists' struct pal_list by the slot their id names (abi.h PAL_LIST_ID_LONG): what the
 * classifier reads, by an inlined array load, instead of pal_lists. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_LONG_SLOTS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, __u32);
	__type(value, struct pal_list);
} pal_long SEC(".maps");

/* Short lists in linear form (abi.h struct pal_small_list), beside their bitmap form, by the slot
 * their id names (abi.h PAL_LIST_ID_SMALL). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_SMALL_SLOTS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, __u32);
	__type(value, struct pal_small_list);
} pal_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_DEF_ENTRIES);
	__type(key, __u32);
	__type(value, struct pal_entry);
} pal_entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PAL_DEF_CLASSES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pal_class_key);
	__type(value, struct pal_class);
} pal_classes SEC(".maps");

/* Host addresses -> class id of lists with host tables (abi.h struct pal_host_key). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PAL_HOSTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pal_host_key);
	__type(value, __u32);
} pal_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_DEF_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} pal_words SEC(".maps");

/* Failsafe ports (struct pal_failsafe_key in abi.h): one LPM lookup per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pal_failsafe_key);
	__type(value, __u32);
} pal_failsafe SEC(".maps");

/* Which (direction, protocol, port) has a failsafe entry at all (abi.h PAL_FS_PORT_BIT). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_FS_PORT_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} pal_fs_ports SEC(".maps");

/* Source prefixes per workload interface (struct pal_src_key in abi.h): anti-spoofing. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PAL_DEF_SRC_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pal_src_key);
	__type(value, __u32);
} pal_srcaddrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PAL_DEF_FLOWS);
	__type(key, struct pal_flow_key);
	__type(value, struct pal_flow);
} pal_flows SEC(".maps"); /* IPv6 */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PAL_DEF_FLOWS);
	__type(key, struct pal_flow_key4);
	__type(value, struct pal_flow);
} pal_flows4 SEC(".maps"); /* IPv4: a 16-byte key (abi.h) */

/* Flow lifecycle settings (timeouts, re-judging) and table pressure; see flow.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_flow_cfg);
} pal_flow_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_flow_stats);
} pal_flow_stats SEC(".maps");

/* First-fragment verdicts (frag.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PAL_DEF_FRAGS);
	__type(key, struct pal_frag_key);
	__type(value, struct pal_frag);
} pal_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_DEF_RULE_IDS);
	__type(key, __u32);
	__type(value, struct pal_rule_ctr);
} pal_rule_ctrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PAL_IF_CTRS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, struct pal_ifctr_key);
	__type(value, struct pal_if_ctr);
} pal_if_ctrs SEC(".maps");

/* Counters of interfaces with a slot of their own, by slot and hook (abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_SLOT_CTRS_FOR(PAL_DEF_MAX_ENDPOINTS));
	__type(key, __u32);
	__type(value, struct pal_if_ctr);
} pal_slot_ctrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PAL_DEF_EVENTS_BYTES);
} pal_events SEC(".maps");

#endif
