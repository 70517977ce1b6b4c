/* TEST ONLY (tests/live/test_trace_disagree.sh): a stand-in for the pinned INPUT program that
 * lies in trace mode. It enters trace mode as bpf/trace.h does (the run's nonce in cb[0..1]) and
 * records no drop, yet returns 1, which drops the packet in the INPUT rule: a record and a
 * return code that disagree, as a datapath bug would make them. polctl trace must refuse to
 * answer rather than print either story. Never built into the product. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "palisade/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_trace);
} pal_trace SEC(".maps");

SEC("socket")
int sf_input_deny(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct pal_trace *t = bpf_map_lookup_elem(&pal_trace, &zero);

	if (t && t->nonce && skb->cb[0] == (__u32)t->nonce && skb->cb[1] == (__u32)(t->nonce >> 32)) {
		t->n_lists = 0;
		t->drop_reason = PAL_DROP_NONE;
		t->entered = 1;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
