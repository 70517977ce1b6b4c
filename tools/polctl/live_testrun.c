/* Running one pinned program of the datapath on a crafted packet with BPF_PROG_TEST_RUN, in trace
 * mode (bpf/trace.h): the program reports in the per-CPU pal_trace map which lists it ran and what
 * its classifier decided, and writes nothing else (no counters, events, flows, conntrack).
 *
 * Trace mode needs a nonce in this CPU's pal_trace entry and the same nonce in the packet's
 * cb[0..1], which only a test run can set: polctl arms every CPU's entry with a fresh random nonce,
 * runs on the CPU it is pinned to (live_pin_cpu), reads that CPU's record and disarms. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "live.h"
#include "palisade/frame_bytes.h"

#define ETH_LEN 14
#define FRAME_MAX 128

/* The transport header (and a little payload) of p at l4; returns its length. A SYN for TCP: the
 * trace answers for the first packet of a flow. */
static size_t put_l4(const struct live_pkt *p, uint8_t *l4)
{
	if (p->has_ports) {
		pal_put16(l4, p->sport);
		pal_put16(l4 + 2, p->dport);
	}
	switch (p->proto) {
	case PAL_PROTO_TCP:
		l4[12] = 5 << 4; /* data offset: 20 bytes */
		l4[13] = 0x02;   /* SYN */
		pal_put16(l4 + 14, 65535);
		return 20;
	case PAL_PROTO_UDP:
		pal_put16(l4 + 4, 8);
		return 8;
	case PAL_PROTO_ICMP:
	case PAL_PROTO_ICMPV6:
		l4[0] = p->icmp_type;
		l4[1] = p->icmp_code;
		return 24; /* room for a neighbour discovery target */
	default:
		return 12; /* SCTP's common header; 12 bytes of payload otherwise */
	}
}

/* An Ethernet frame carrying p; returns its length. */
static size_t live_frame(const struct live_pkt *p, uint8_t *f)
{
	uint8_t *ip = f + ETH_LEN;
	size_t iplen, l4len;

	memset(f, 0, FRAME_MAX);
	if (p->family == 4) {
		pal_put16(f + 12, 0x0800);
		l4len = put_l4(p, ip + 20);
		iplen = 20 + l4len;
		pal_put_ipv4(ip, (uint16_t)iplen, p->proto, p->src, p->dst);
	} else {
		pal_put16(f + 12, 0x86dd);
		l4len = put_l4(p, ip + 40);
		iplen = 40 + l4len;
		ip[0] = 0x60;
		pal_put16(ip + 4, (uint16_t)l4len);
		ip[6] = p->proto;
		/* neighbour discovery as its senders send it: the datapath judges any other hop
		 * limit as ordinary ICMPv6 (bpf/parse.h, pal_ipv6_checked) */
		ip[7] = p->is_icmp && p->icmp_type >= 133 && p->icmp_type <= 137 ? 255 : 64;
		memcpy(ip + 8, p->src, 16);
		memcpy(ip + 24, p->dst, 16);
	}
	return ETH_LEN + iplen;
}

int live_pin_cpu(int *cpu)
{
	cpu_set_t set;

	*cpu = sched_getcpu();
	if (*cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(*cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Writes nonce (0: disarm, which also clears the records) into every CPU's pal_trace entry. */
static int trace_arm(const struct polctl_live *lv, int trace_fd, uint64_t nonce)
{
	struct pal_trace *all = calloc((size_t)lv->ncpus, sizeof(*all));
	uint32_t zero = 0;
	int err = 0;

	if (!all)
		return -ENOMEM;
	for (int i = 0; i < lv->ncpus; i++)
		all[i].nonce = nonce;
	if (bpf_map_update_elem(trace_fd, &zero, all, BPF_ANY))
		err = -errno;
	free(all);
	return err;
}

/* This CPU's record. */
static int trace_read(const struct polctl_live *lv, int trace_fd, int cpu, struct pal_trace *out)
{
	struct pal_trace *all = calloc((size_t)lv->ncpus, sizeof(*all));
	uint32_t zero = 0;
	int err = 0;

	if (!all)
		return -ENOMEM;
	if (bpf_map_lookup_elem(trace_fd, &zero, all))
		err = -errno;
	else
		*out = all[cpu];
	free(all);
	return err;
}

int live_hook_run(const struct polctl_live *lv, const struct live_hook_req *req,
		  struct live_hook_run *out)
{
	uint8_t frame[FRAME_MAX];
	struct __sk_buff ctx_in, ctx_out;
	uint64_t nonce = 0;
	int err, derr;

	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);

	memset(out, 0, sizeof(*out));
	memset(&ctx_in, 0, sizeof(ctx_in));
	o.data_size_in = (uint32_t)live_frame(req->pkt, frame);
	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		return -errno;
	nonce |= 1; /* never 0, which means off */
	ctx_in.cb[0] = (uint32_t)nonce;
	ctx_in.cb[1] = (uint32_t)(nonce >> 32);
	ctx_in.ifindex = req->ifindex;
	ctx_in.ingress_ifindex = req->ingress_ifindex;
	ctx_in.mark = req->mark;
	err = trace_arm(lv, req->trace_fd, nonce);
	if (!err && bpf_prog_test_run_opts(req->prog_fd, &o))
		err = -errno;
	if (!err)
		err = trace_read(lv, req->trace_fd, req->cpu, &out->rec);
	derr = trace_arm(lv, req->trace_fd, 0);
	if (err || derr)
		return err ? err : derr;
	if (out->rec.nonce != nonce || !out->rec.entered) /* not this run's, or not traced */
		return -ENOTSUP;
	if (out->rec.n_lists > PAL_TRACE_MAX_LISTS)
		out->rec.n_lists = PAL_TRACE_MAX_LISTS;
	out->retval = o.retval;
	out->mark = ctx_out.mark;
	return 0;
}
