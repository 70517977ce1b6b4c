/* The benchmarks' bare drop baselines (xdp_drop.bpf.c, tc_drop.bpf.c): one per-CPU counter that
 * each dropped packet bumps, and nothing else, so they cost the least a drop at their hook can. */
#ifndef BENCH_DROP_COUNT_H
#define BENCH_DROP_COUNT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(void)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&drops, &k);

	if (c)
		*c += 1;
}

char LICENSE[] SEC("license") = "GPL";

#endif
