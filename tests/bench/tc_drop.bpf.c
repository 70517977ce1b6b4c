/* The tc baseline of the live-frames drop rows: cls_bpf (direct action) dropping every packet at
 * tc ingress, counting it in one per-CPU counter, so the tc hook's fixed cost is measured next to
 * a bare XDP_DROP and palisade's XDP deny. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

SEC("tc")
int tc_drop_count(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&drops, &k);

	(void)skb;
	if (c)
		*c += 1;
	return 2; /* TC_ACT_SHOT */
}

char LICENSE[] SEC("license") = "GPL";
