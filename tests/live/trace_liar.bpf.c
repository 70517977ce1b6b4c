/* TEST ONLY (tests/live/test_trace_disagree.sh): a stand-in for the pinned INPUT program that
 * lies in trace mode. It enters trace mode with bpf/trace.h's pal_trace_begin (the run's nonce
 * in cb[0..1]) and records no drop, yet returns 1, which drops the packet in the INPUT rule: a
 * record and a return code that disagree, as a datapath bug would make them. polctl trace must
 * refuse to answer rather than print either story. Never built into the product. */
#include "trace.h"

SEC("socket")
int sf_input_deny(struct __sk_buff *skb)
{
	pal_trace_begin(skb);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
