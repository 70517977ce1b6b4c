/* The baseline of the XDP deny benchmark: drop every packet and count it per CPU. Nothing else,
 * so palisade's deny path is compared against the cheapest possible XDP drop on the same veth. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&drops, &k);

	(void)ctx;
	if (c)
		*c += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
