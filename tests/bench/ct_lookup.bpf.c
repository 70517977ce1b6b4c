/* The alternative to palisade's own flow table on the established path (docs/datapath.md "Flow
 * state"): one bpf_skb_ct_lookup per packet, the price of asking the kernel's conntrack whether a
 * packet belongs to a known connection. bench-classify runs it on the same packets as palisade's
 * established path, with a conntrack entry present for each. IPv4/TCP at fixed offsets (the
 * benchmark's packets); returns 1 when conntrack knows the connection. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define BPF_F_CURRENT_NETNS (-1)

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

SEC("tc")
int ct_lookup(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = 6 };
	struct nf_conn *ct;

	if (bpf_skb_load_bytes(skb, 26, &t.ipv4.saddr, 8) ||
	    bpf_skb_load_bytes(skb, 34, &t.ipv4.sport, 4))
		return 0;
	ct = bpf_skb_ct_lookup(skb, &t, sizeof(t.ipv4), &opts, sizeof(opts));
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
