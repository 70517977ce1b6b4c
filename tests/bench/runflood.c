/* runflood: run a pinned XDP, tc or socket filter (xt_bpf) program on one UDP/IPv4 frame with BPF_PROG_TEST_RUN, in
 * batches of REPEAT, for SECONDS, as if the frame arrived on IFNAME: the deny flood of
 * tests/e2e/test_agent_event_flood.sh. Live frames (BPF_F_TEST_XDP_LIVE_FRAMES) are refused by
 * some kernels and a veth pair reaches only tens of thousands of frames per second on a small VM;
 * a plain test run reaches millions, and with the test-run context's interface set to the policed
 * one (xdp_md.ingress_ifindex; __sk_buff.ifindex and ingress_ifindex) the program counts,
 * rate-limits and reports the packet as it would a real one.
 *
 * Run it in the interface's network namespace (the kernel resolves the ifindex there), with
 * bpffs visible (nsenter --net, not ip netns exec). Every run must drop (XDP_DROP, TC_ACT_SHOT,
 * 1 for a socket filter: xt_bpf matches and the rule drops):
 * the frame is meant to be one the policy denies, and a run that passes is not a deny flood.
 * A batch the kernel interrupts (EINTR) fails the tool: how many of its runs happened is unknown,
 * and the test's accounting must be exact.
 *
 * THREADS threads (default: one per online CPU, each pinned to its own) run at once: the datapath
 * keeps its event rate limit per CPU, as real traffic spread over receive queues meets it.
 *
 * usage: runflood PROG_PIN IFNAME SRC_IP DST_IP DPORT SECONDS [THREADS [REPEAT]]
 * prints: "ran PACKETS SECONDS CPU_SECONDS" (runs completed by all threads, wall time, the CPU time
 * the threads had: on a busy machine the rate is bounded by the CPU it gets). Exit 2 on errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "palisade/frame_bytes.h"

#define FRAME 60 /* Ethernet minimum without FCS: 14 + 20 + 8 + 18 bytes of payload */
#define REPEAT_DEF 65536u
#define THREADS_MAX 64

/* A minimum-size UDP/IPv4 frame src:40000 -> dst:dport (the UDP checksum 0: none). */
static void udp_frame(uint8_t *f, struct in_addr src, struct in_addr dst, uint16_t dport)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	memset(f, 0, FRAME);
	memset(f, 0x02, 6);     /* a locally administered destination MAC */
	memset(f + 6, 0x06, 6); /* and source */
	pal_put16(f + 12, 0x0800);
	pal_put_ipv4(ip, FRAME - 14, 17, &src, &dst);
	pal_put16(udp, 40000);
	pal_put16(udp + 2, dport);
	pal_put16(udp + 4, FRAME - 14 - 20);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The test-run context that puts the frame on ifindex, for the program's type, and the verdict
 * that means "dropped" there. */
struct flood_ctx {
	struct xdp_md xdp;
	struct __sk_buff skb;
};

static int flood_ctx_set(int fd, unsigned int ifindex, struct flood_ctx *c,
			 struct bpf_test_run_opts *o, unsigned int *drop)
{
	struct bpf_prog_info info = { 0 };
	unsigned int len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	memset(c, 0, sizeof(*c));
	switch (info.type) {
	case BPF_PROG_TYPE_XDP:
		c->xdp.ingress_ifindex = ifindex;
		o->ctx_in = &c->xdp;
		o->ctx_size_in = sizeof(c->xdp);
		*drop = XDP_DROP;
		return 0;
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SOCKET_FILTER: /* sees the packet from its IP header, as in INPUT */
		c->skb.ifindex = ifindex;
		c->skb.ingress_ifindex = ifindex;
		o->ctx_in = &c->skb;
		o->ctx_size_in = sizeof(c->skb);
		*drop = info.type == BPF_PROG_TYPE_SCHED_CLS ? TC_ACT_SHOT : 1;
		return 0;
	default:
		return -EPROTOTYPE;
	}
}

static double cpu_seconds(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* One thread's flood: the shared, read-only setup and its own count and error. */
struct flood {
	int prog_fd;
	unsigned int ifindex, repeat;
	const uint8_t *frame;
	double t0, secs;
};

struct flood_thread {
	const struct flood *f;
	pthread_t tid;
	int cpu;
	unsigned long long ran;
	char err[160];
};

static void *flood_run(void *arg)
{
	struct flood_thread *th = arg;
	const struct flood *f = th->f;
	struct flood_ctx ctx;
	unsigned int drop = 0;
	cpu_set_t set;
	int err;

	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->frame, .data_size_in = FRAME,
		    .repeat = f->repeat);
	CPU_ZERO(&set);
	CPU_SET(th->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* best effort: a hint */
	err = flood_ctx_set(f->prog_fd, f->ifindex, &ctx, &o, &drop);
	if (err) {
		snprintf(th->err, sizeof(th->err), "%s",
			 err == -EPROTOTYPE ? "not an XDP, tc or socket filter program" : strerror(-err));
		return NULL;
	}
	do {
		if (bpf_prog_test_run_opts(f->prog_fd, &o)) {
			snprintf(th->err, sizeof(th->err), "BPF_PROG_TEST_RUN after %llu runs: %s",
				 th->ran, strerror(errno));
			return NULL;
		}
		if (o.retval != drop) {
			snprintf(th->err, sizeof(th->err),
				 "the program returned %u, not %u (drop): not a deny", o.retval, drop);
			return NULL;
		}
		th->ran += f->repeat;
	} while (now() - f->t0 < f->secs);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct flood_thread th[THREADS_MAX];
	uint8_t frame[FRAME];
	struct flood f = { .frame = frame };
	struct in_addr src, dst;
	unsigned long long ran = 0;
	unsigned long dport, repeat;
	long threads;
	int failed = 0;

	if (argc < 7 || argc > 9 || !inet_aton(argv[3], &src) || !inet_aton(argv[4], &dst)) {
		fprintf(stderr, "usage: runflood PROG_PIN IFNAME SRC_IP DST_IP DPORT SECONDS "
				"[THREADS [REPEAT]]\n");
		return 2;
	}
	dport = strtoul(argv[5], NULL, 10);
	f.secs = atof(argv[6]);
	threads = argc > 7 ? strtol(argv[7], NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	repeat = argc > 8 ? strtoul(argv[8], NULL, 10) : REPEAT_DEF;
	if (dport < 1 || dport > 65535 || f.secs <= 0 || f.secs > 60 || threads < 1 ||
	    threads > THREADS_MAX || repeat < 1 || repeat > 1u << 24) {
		fprintf(stderr, "runflood: DPORT 1..65535, SECONDS (0, 60], THREADS 1..%d, "
				"REPEAT 1..16777216\n", THREADS_MAX);
		return 2;
	}
	f.repeat = (unsigned int)repeat;
	f.ifindex = if_nametoindex(argv[2]);
	if (!f.ifindex) {
		fprintf(stderr, "runflood: interface %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	f.prog_fd = bpf_obj_get(argv[1]);
	if (f.prog_fd < 0) {
		fprintf(stderr, "runflood: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	udp_frame(frame, src, dst, (uint16_t)dport);
	f.t0 = now();
	for (long i = 0; i < threads; i++) {
		th[i].f = &f;
		th[i].cpu = (int)(i % sysconf(_SC_NPROCESSORS_ONLN));
		if (pthread_create(&th[i].tid, NULL, flood_run, &th[i])) {
			fprintf(stderr, "runflood: cannot start thread %ld\n", i);
			return 2;
		}
	}
	for (long i = 0; i < threads; i++) {
		pthread_join(th[i].tid, NULL);
		ran += th[i].ran;
		if (th[i].err[0]) {
			fprintf(stderr, "runflood: %s: %s\n", argv[1], th[i].err);
			failed = 1;
		}
	}
	if (failed)
		return 2;
	printf("ran %llu %.3f %.3f\n", ran, now() - f.t0, cpu_seconds());
	return 0;
}
