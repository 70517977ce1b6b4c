/* The live-frames traffic generator's program (tests/bench/livegen.c runs it with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES): each run gets one copy of a pre-built 64-byte UDP frame, gives it
 * its flow (source port, and for new flows the low bits of the source address), patches the
 * checksums incrementally and redirects it out of the generator's veth, whose peer is the
 * device under test. Frames stay in the kernel's page pool between runs, so every field the
 * program varies is written on every run, from the pristine values in the read-only data. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Mirrors struct gen_cfg in livegen.c; set before load. */
struct gen_cfg {
	__u32 out_ifindex;
	__u32 nflows;     /* flows cycle through nflows source ports */
	__u32 base_src;   /* the pristine last 32 bits of the source address (network order) */
	__u16 base_sport; /* host order */
	__u16 l3_csum;    /* the pristine IPv4 header checksum (as in the frame) */
	__u16 l4_csum;    /* the pristine UDP checksum (as in the frame) */
	__u8 new_flows;   /* 1: every frame a new 5-tuple (source address and port) */
	__u8 ipv6;
};

const volatile struct gen_cfg cfg;

__u64 seq; /* frames generated; one CPU runs the program */

#define ETH_HLEN_ 14

/* RFC 1624: a 16-bit one's complement checksum after one 16-bit word changes from o to n. */
static __always_inline __u16 csum_fix16(__u16 sum, __u16 o, __u16 n)
{
	__u32 s = (__u16)~sum + (__u16)~o + (__u32)n;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline __u16 csum_fix32(__u16 sum, __u32 o, __u32 n)
{
	sum = csum_fix16(sum, (__u16)o, (__u16)n);
	return csum_fix16(sum, (__u16)(o >> 16), (__u16)(n >> 16));
}

SEC("xdp")
int livegen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 l3 = cfg.ipv6 ? 40 : 20, n = seq++;
	__u32 *src;
	__u16 *sport, *ucsum, *ipcsum;
	__u32 nsrc = cfg.base_src;
	__u16 nport;

	if (data + ETH_HLEN_ + l3 + 8 > end)
		return XDP_ABORTED;
	/* source address: last 4 bytes of it */
	src = data + ETH_HLEN_ + (cfg.ipv6 ? 8 + 12 : 12);
	sport = data + ETH_HLEN_ + l3;
	ucsum = data + ETH_HLEN_ + l3 + 6;
	ipcsum = data + ETH_HLEN_ + 10;
	if (cfg.new_flows) {
		nport = (__u16)(cfg.base_sport + (n & 0x3fff));
		/* up to 2^15 more source addresses (the script's prefix is a /17 or wider) */
		nsrc = bpf_htonl(bpf_ntohl(cfg.base_src) + ((n >> 14) & 0x7fff));
	} else {
		nport = (__u16)(cfg.base_sport + (cfg.nflows ? n % cfg.nflows : 0));
	}
	*sport = bpf_htons(nport);
	*src = nsrc;
	if (!cfg.ipv6)
		*ipcsum = csum_fix32(cfg.l3_csum, cfg.base_src, nsrc);
	if (cfg.l4_csum) {
		__u16 c = csum_fix16(cfg.l4_csum, bpf_htons(cfg.base_sport), bpf_htons(nport));

		c = csum_fix32(c, cfg.base_src, nsrc);
		*ucsum = c ? c : 0xffff;
	}
	return bpf_redirect(cfg.out_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
