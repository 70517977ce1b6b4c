/* The linear-scan baseline of the classification benchmark: the same rules as palisade's, as an
 * array of simple structs walked one by one (first match wins), over the same packets. This is
 * what "classification must not scan rules" (docs/datapath.md) avoids: its cost grows with the
 * number of rules a packet passes before it matches (every rule for a packet that matches none).
 *
 * IPv4 only, TCP/UDP ports: enough for the benchmark's packets. bpf_loop bounds the walk (up to
 * the map size), so the verifier sees one iteration, not 131,072. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define LS_MAX_RULES 131072
#define ETH_P_IP 0x0800

struct ls_rule {
	__u32 src, src_mask; /* network byte order */
	__u32 dst, dst_mask;
	__u8 proto;          /* 0 = any */
	__u8 action;         /* XDP_DROP or XDP_PASS */
	__u16 dport_lo, dport_hi; /* host byte order; 0..65535 = any */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LS_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ls_rule);
} ls_rules SEC(".maps");

/* ls_count[0]: the number of rules in use. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ls_count SEC(".maps");

struct ls_pkt {
	__u32 src, dst;
	__u16 dport;
	__u8 proto;
	int verdict; /* -1 until a rule matched */
};

static long ls_step(__u32 i, void *data)
{
	struct ls_pkt *p = data;
	struct ls_rule *r = bpf_map_lookup_elem(&ls_rules, &i);

	if (!r)
		return 1;
	if ((p->src & r->src_mask) != r->src || (p->dst & r->dst_mask) != r->dst)
		return 0;
	if (r->proto && r->proto != p->proto)
		return 0;
	if (p->dport < r->dport_lo || p->dport > r->dport_hi)
		return 0;
	p->verdict = r->action;
	return 1;
}

SEC("xdp")
int xdp_linear_scan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct ls_pkt p = { .verdict = -1 };
	__u32 k = 0, *n;
	__u16 *ports;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	p.src = ip->saddr;
	p.dst = ip->daddr;
	p.proto = ip->protocol;
	if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) {
		ports = (void *)ip + ip->ihl * 4;
		if ((void *)(ports + 2) > end)
			return XDP_PASS;
		p.dport = bpf_ntohs(ports[1]);
	}
	n = bpf_map_lookup_elem(&ls_count, &k);
	if (!n)
		return XDP_PASS;
	bpf_loop(*n < LS_MAX_RULES ? *n : LS_MAX_RULES, ls_step, &p, 0);
	return p.verdict < 0 ? XDP_PASS : p.verdict;
}

char LICENSE[] SEC("license") = "GPL";
