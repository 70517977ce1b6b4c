/* `make bench` figure 1: new-flow classification cost per packet against a linear scan of the same
 * rules, and the established-flow cost, at 10 .. 100,000 rules, with BPF_PROG_TEST_RUN.
 *
 *   palisade     xdp_hep_ingress with an untracked ingress list of N rules ("deny tcp from one
 *                /32 to one port"): XDP keeps no state, so every run is a new flow.
 *   linear scan  tests/bench/linear_scan.bpf.c: the same N rules as an array walked one by one.
 *   established  tc_ingress on the same host endpoint with the N rules as a normal (tracked)
 *                list, for packets (TCP ACKs) whose flow is already in pal_flows, current,
 *                admitted at INPUT (a flow to the host, as that list admits it).
 *   ct lookup    tests/bench/ct_lookup.bpf.c (next to LINEAR_SCAN.bpf.o): one bpf_skb_ct_lookup
 *                per packet on the same packets, each with a conntrack entry: the cost of using
 *                the kernel's conntrack instead of pal_flows on the established path. One line,
 *                "ctlookup PACKETS NS", after the table.
 *
 * The same P distinct packets go to every program: half hit a random rule (so the scan stops on
 * average halfway), half hit none (the scan walks every rule; palisade's bitmaps rule out every
 * candidate). For each packet palisade and the scan run back to back, so machine noise hits both
 * columns alike; a round is the mean over the packets, the figure is the median of the rounds.
 * The verdicts of palisade and the scan are compared on every packet: a disagreement means the
 * two are not classifying the same rules and the run fails (exit 2) rather than print a number.
 *
 *   thrash       xdp_hep_ingress on THRASH_PKTS packets of as many deny rules, each run once in
 *                turn: every new flow a class combination the verdict cache does not hold
 *                (bench_thrash). One line "thrash N NS" per rule count.
 *   untracked-tc tc_ingress of the host endpoint right after XDP passed the packet (the half that
 *                no rule matches): where XDP leaves no metadata, tc ingress decides the untracked
 *                list again, or takes XDP's outcome from a memo (bpf/memo.h).
 *   forwarded    the established packet forwarded: tc_ingress of the host endpoint once, then
 *                tc_egress of another interface (ingress_ifindex = the endpoint), which decides
 *                a forwarded packet's flow after tc ingress did (bpf/memo.h); the same
 *                entries, admitted as forwarded flows.
 *   newflow      a new forwarded flow through normal applyOnForward policy (the N rules, then
 *                allow): the packets no rule matches, each a TCP SYN (a SYN always meets policy,
 *                so every repeat of the test run is a new flow: the flow check's miss, the
 *                forward list's classification, the flow's entry written). tc_ingress alone, and
 *                tc_egress of another interface right after tc_ingress (as forwarded); then
 *                tc_ingress alone on the same packets as UDP (a flow's first datagram: tc ingress
 *                enters nothing, so every repeat is a new flow there too).
 *
 *   manyflows    the forwarded row's two hooks over FLOWS distinct established flows
 *                (BENCH_CLASSIFY_FLOWS, default 16,384: the live bench's BENCH_LIVE_FLOWS), one
 *                test run per packet (repeat 1) in turn, so a flow's entry is not in the caches
 *                warmed by 200 runs of one packet (the rows above) but wherever the other flows'
 *                runs left it, as in the live bench; on each packet tc_drop.bpf.o (next to
 *                LINEAR_SCAN.bpf.o, a bare cls_bpf program) first, whose run is the test run's
 *                floor (the kernel's clock reads, the skb): "manyflows N FLOWS BARE_NS
 *                TC_INGRESS_NS TC_EGRESS_NS INGRESS_ADDED_NS EGRESS_ADDED_NS", the medians over
 *                the rounds of the means over the flows; ADDED = the hook's run minus the bare
 *                one's on the same packet. BENCH_CLASSIFY_FLOWS=0 skips it.
 *
 * BENCH_CLASSIFY_SHUFFLE=1: manyflows runs its flows in an order unrelated to their insertion (an
 * odd stride; FLOWS a power of two): in insertion order the table's preallocated elements are
 * read in address order, which the hardware prefetches (docs/benchmarks.md, s16/fcache).
 *
 * BENCH_CLASSIFY_MAX_FLOWS: pal_flows4's size (default: the datapath's, PAL_DEF_FLOWS), to see
 * whether the table's size (its bucket array, its preallocated entries) moves manyflows.
 *
 * Output: one line per rule count, "classify N pal_ns linear_ns established_ns apply_ms", for
 * tests/bench/run.sh's table, then "untracked-tc N tc_ingress_ns", "forwarded N tc_egress_ns"
 * and "newflow N tc_ingress_ns tc_egress_ns tc_ingress_udp_ns" (not in the table). Runs as root in a private network namespace with its own pin
 * directory. Usage: bench-classify LINEAR_SCAN.bpf.o [ROUNDS] [PACKETS] */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_setup.h"
#include "compiler.h"
#include "datapath.h"
#include "maps_sync.h"
#include "model.h"

#define MAX_PKTS 1024
#define MAX_ROUNDS 15
#define PAL_REPEAT 200

struct pkt {
	uint8_t buf[64];
	uint32_t len;
	struct pal_flow_key fk;
};

/* Mirrors struct ls_rule in linear_scan.bpf.c. */
struct ls_rule {
	uint32_t src, src_mask, dst, dst_mask;
	uint8_t proto, action;
	uint16_t dport_lo, dport_hi, pad;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static const uint8_t DST[4] = { 198, 18, 0, 1 };

static void build(struct pkt *p, const uint8_t src[4], uint16_t sport, uint16_t dport)
{
	uint8_t *b = p->buf;

	memset(p, 0, sizeof(*p));
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	b[14] = 0x45;
	put16(b + 16, 40);
	b[22] = 64;
	b[23] = 6;
	memcpy(b + 26, src, 4);
	memcpy(b + 30, DST, 4);
	put16(b + 34, sport);
	put16(b + 36, dport);
	b[46] = 5 << 4;
	b[47] = 0x02; /* SYN */
	p->len = 54;
	memcpy(p->fk.src, src, 4);
	memcpy(p->fk.dst, DST, 4);
	p->fk.sport = sport;
	p->fk.dport = dport;
	p->fk.family = 4;
	p->fk.proto = 6;
}

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

/* Rule i: deny tcp from 198.19.A.B/32 (64,000 distinct sources) to port rule_port(i). All rules
 * are distinct (source, port) pairs. Packets that match nothing come from 198.18.64.0/18. */
static void rule_src(int i, uint8_t out[4])
{
	out[0] = 198;
	out[1] = 19;
	out[2] = (uint8_t)((i / 250) % 256);
	out[3] = (uint8_t)(1 + i % 250);
}

static uint16_t rule_port(int i)
{
	return (uint16_t)(1000 + (i / 64000) * 50 + i % 50);
}

/* The lists the N rules go to. */
enum bench_policy {
	BENCH_UNTRACKED, /* doNotTrack, applyOnForward: untracked ingress (XDP) */
	BENCH_NORMAL,	 /* normal ingress of the host endpoint */
	BENCH_FORWARD,	 /* normal applyOnForward, then an allow: forward ingress */
};

/* N rules split over policies of at most 1000 rules (Calico's per-direction limit). */
static char *policy_yaml(int n, enum bench_policy kind)
{
	bool untracked = kind == BENCH_UNTRACKED;
	const char *head = untracked ? "  doNotTrack: true\n  applyOnForward: true\n" :
			   kind == BENCH_FORWARD ? "  applyOnForward: true\n" : "";
	size_t cap = 4096 + (size_t)n * 200;
	char *y = malloc(cap), *p = y;

	if (!y)
		return NULL;
	p += bench_yaml_host_endpoint(p, "h", "h", "node1", "198.18.0.1");
	for (int i = 0; i < n; i++) {
		uint8_t s[4];

		if (i % 1000 == 0) {
			char name[32];

			snprintf(name, sizeof(name), "bench-%d", i / 1000);
			p += bench_yaml_policy_head(p, name, i / 1000, "h", head);
		}
		rule_src(i, s);
		p += sprintf(p, "  - {action: Deny, protocol: TCP, source: {nets: [%u.%u.%u.%u/32]}, "
				"destination: {ports: [%u]}}\n", s[0], s[1], s[2], s[3], rule_port(i));
	}
	if (kind == BENCH_FORWARD) {
		p += bench_yaml_policy_head(p, "bench-allow", 100000, "h", head);
		p += sprintf(p, "  - {action: Allow}\n");
	}
	return y;
}

static int compile(const char *yaml, struct pal_ir *ir)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_compile_opts o = { .node = "node1" };
	int rc;

	pal_model_init(&m);
	pal_model_load_buffer(&m, "bench.yaml", yaml, strlen(yaml), &d);
	pal_model_validate(&m, &d);
	rc = d.n_errors ? -EINVAL : pal_compile(&m, &o, ir, &d);
	if (rc)
		pal_diags_print(stderr, &d);
	pal_diags_free(&d);
	pal_model_free(&m);
	return rc;
}

/* One test run of pk, repeat times; returns the kernel's mean ns per run, *ret the verdict. */
static double run1(int prog_fd, bool xdp, int ifindex, const struct pkt *pk, int repeat,
		   uint32_t *ret)
{
	struct xdp_md xctx = { .data_end = pk->len, .ingress_ifindex = (uint32_t)ifindex };
	struct __sk_buff sctx = { .ifindex = (uint32_t)ifindex,
				  .ingress_ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk->buf, .data_size_in = pk->len,
		    .repeat = repeat);

	if (xdp) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		perror("bench-classify: BPF_PROG_TEST_RUN");
		exit(2);
	}
	if (ret)
		*ret = o.retval;
	return o.duration;
}

/* tc egress of pk leaving by ifindex, forwarded from iif: the kernel's mean ns per run. */
static double run_egress(int prog_fd, int ifindex, int iif, const struct pkt *pk, int repeat)
{
	struct __sk_buff sctx = { .ifindex = (uint32_t)ifindex, .ingress_ifindex = (uint32_t)iif };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk->buf, .data_size_in = pk->len,
		    .ctx_in = &sctx, .ctx_size_in = sizeof(sctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		perror("bench-classify: BPF_PROG_TEST_RUN");
		exit(2);
	}
	return o.duration;
}

/* pk as a UDP datagram of the same addresses and ports (the TCP header's first 8 bytes become
 * the UDP header: length 20, no checksum). */
static void as_udp(const struct pkt *pk, struct pkt *u)
{
	*u = *pk;
	u->buf[23] = 17;
	put16(u->buf + 38, 20);
	put16(u->buf + 40, 0);
}

/* Empties pal_flows4 and pal_flows: newflow's SYNs must find no entry the earlier phases left
 * established (an allowed SYN leaves a live established flow as it is, bpf/flow.h
 * pal_flow_syn_keeps: the figure would be that cheaper path, not a new flow's entry written). */
static void flush_flows(struct pal_datapath *dp)
{
	static const char *const maps[] = { "pal_flows4", "pal_flows" };
	uint8_t key[64];

	for (int m = 0; m < 2; m++) {
		int fd = pal_dp_map_fd(dp, maps[m]);

		while (!bpf_map_get_next_key(fd, NULL, key))
			if (bpf_map_delete_elem(fd, key))
				bench_die("flush the flow tables");
	}
}

/* newflow: the packets no rule matches (the odd ones) as SYNs, each a new forwarded flow under
 * the forward policy in force; medians over the rounds of tc_ingress and of tc_egress (the
 * loopback, no endpoint) after it, and of tc_ingress on them as UDP, ns per packet. */
static void bench_newflow(int in_fd, int eg_fd, int ifx, struct pkt *pk, int npk, int rounds,
			  double out[3])
{
	double r_ns[3][MAX_ROUNDS];
	uint32_t ret;
	struct pkt u;

	for (int r = 0; r < rounds; r++) {
		double ns[3] = { 0 };

		for (int i = 1; i < npk; i += 2) {
			pk[i].buf[47] = 0x02;
			ns[0] += run1(in_fd, false, ifx, &pk[i], PAL_REPEAT, &ret);
			if (ret != 0)
				bench_die("newflow: tc_ingress dropped a packet the policy allows");
			run1(in_fd, false, ifx, &pk[i], 1, NULL);
			ns[1] += run_egress(eg_fd, 1, ifx, &pk[i], PAL_REPEAT);
			as_udp(&pk[i], &u);
			ns[2] += run1(in_fd, false, ifx, &u, PAL_REPEAT, NULL);
		}
		for (int c = 0; c < 3; c++)
			r_ns[c][r] = ns[c] / (npk / 2);
	}
	for (int c = 0; c < 3; c++)
		out[c] = bench_median(r_ns[c], rounds);
}

/* thrash: the verdict cache's worst case (bpf/classify.h): THRASH_PKTS packets, each matching its
 * own rule (its own source class, so its own class combination), more than the cache's lines of
 * a hook, each one test run (repeat 1) in turn, so every packet's line holds another's key when
 * it comes back: a miss and an insert every time. The median over the rounds of the mean ns per
 * packet (a run's duration includes the kernel's clock reads, as bench-xdp-deny's do). */
#define THRASH_PKTS 1024
static double bench_thrash(int xdp_fd, int ifx, int n, int rounds)
{
	static struct pkt tp[THRASH_PKTS];
	double r_ns[MAX_ROUNDS];

	for (int i = 0; i < THRASH_PKTS; i++) {
		uint8_t s[4];
		int r = (int)(((uint64_t)i * (uint64_t)n) / THRASH_PKTS); /* distinct when n >= 1024 */

		rule_src(r, s);
		build(&tp[i], s, (uint16_t)(20000 + i), rule_port(r));
	}
	for (int r = 0; r < rounds; r++) {
		double ns = 0;

		for (int i = 0; i < THRASH_PKTS; i++) {
			uint32_t v;

			ns += run1(xdp_fd, true, ifx, &tp[i], 1, &v);
			if (v != XDP_DROP)
				bench_die("thrash: a packet of a deny rule was not dropped");
		}
		r_ns[r] = ns / THRASH_PKTS;
	}
	return bench_median(r_ns, rounds);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Each packet's flow as a live established entry of generation gen admitted in context ctx
 * (enum pal_flow_ctx); the packets become ACKs (a SYN never rides an entry). */
static void put_flows(struct pal_datapath *dp, struct pkt *pk, int npk, uint32_t gen, uint8_t ctx)
{
	for (int i = 0; i < npk; i++) {
		struct pal_flow f = { .last_ns = mono_ns(), .state = PAL_FST_TCP_ESTABLISHED,
				      .generation = gen, .ctx = ctx };
		struct pal_flow_key fk = pk[i].fk; /* canonical, as the datapath keys it */
		struct pal_flow_key4 fk4;

		if (pal_flow_key_canonical(&fk))
			f.flags |= PAL_FLOW_REVERSED;
		pk[i].buf[47] = 0x10;
		pal_flow_key4_of(&fk, &fk4);
		if (bpf_map_update_elem(pal_dp_map_fd(dp, "pal_flows4"), &fk4, &f, 0))
			bench_die("pal_flows update");
	}
}

/* manyflows (see the top): nf established forwarded flows, each packet one test run of the bare
 * tc program, of tc_ingress and of tc_egress after it, in turn over the flows. */
static void bench_many_flows(struct pal_datapath *dp, const char *ls_path, int ifx, int n, int nf,
			     uint32_t gen, int rounds)
{
	char path[512];
	const char *slash = strrchr(ls_path, '/');
	static struct bpf_object *bare_obj;
	static int bare_fd = -1;
	struct pkt *fp = calloc((size_t)nf, sizeof(*fp));
	double r_ns[5][MAX_ROUNDS], out[5];
	int in_fd = pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS), eg_fd = pal_dp_prog_fd(dp, PAL_PROG_TC_EGRESS);
	const char *sh = getenv("BENCH_CLASSIFY_SHUFFLE");
	int shuffle = sh && *sh && *sh != '0' && nf > 0 && !(nf & (nf - 1));

	if (!fp)
		bench_die("manyflows: out of memory");
	if (bare_fd < 0) {
		snprintf(path, sizeof(path), "%.*stc_drop.bpf.o",
			 slash ? (int)(slash - ls_path + 1) : 0, ls_path);
		bare_obj = bpf_object__open_file(path, NULL);
		if (!bare_obj || libbpf_get_error(bare_obj) || bpf_object__load(bare_obj))
			bench_die("load tc_drop.bpf.o (next to the linear scan's object)");
		bare_fd = bpf_program__fd(bpf_object__next_program(bare_obj, NULL));
	}
	for (int i = 0; i < nf; i++) { /* 198.18.64-127.x (no rule's source), 64 flows a port */
		uint8_t s4[4] = { 198, 18, (uint8_t)(64 + ((i >> 8) & 63)), (uint8_t)(i & 255) };

		build(&fp[i], s4, (uint16_t)(30000 + (i >> 14)), 80);
	}
	put_flows(dp, fp, nf, gen, PAL_FCTX_FORWARD);
	for (int r = 0; r < rounds; r++) {
		double t[5] = { 0 };

		for (int j = 0; j < nf; j++) {
			uint32_t ret;
			/* BENCH_CLASSIFY_SHUFFLE: the flows in an order unrelated to their insertion
			 * (an odd stride, nf a power of two), so the table's elements, laid out in
			 * insertion order, are not read in address order (no prefetch) */
			int i = shuffle ? (int)(((unsigned)j * 7919u) & (unsigned)(nf - 1)) : j;
			double b = run1(bare_fd, false, ifx, &fp[i], 1, NULL);
			double in = run1(in_fd, false, ifx, &fp[i], 1, &ret);
			double eg = run_egress(eg_fd, 1, ifx, &fp[i], 1);

			if (ret == 2) /* TC_ACT_SHOT */
				bench_die("manyflows: tc_ingress dropped an established flow's packet");
			t[0] += b;
			t[1] += in;
			t[2] += eg;
			t[3] += in - b;
			t[4] += eg - b;
		}
		for (int c = 0; c < 5; c++)
			r_ns[c][r] = t[c] / nf;
	}
	for (int c = 0; c < 5; c++)
		out[c] = bench_median(r_ns[c], rounds);
	printf("manyflows %d %d %.1f %.1f %.1f %.1f %.1f\n", n, nf, out[0], out[1], out[2], out[3],
	       out[4]);
	for (int i = 0; i < nf; i++) { /* the table to its earlier state for the rows after */
		struct pal_flow_key4 fk4;
		struct pal_flow_key fk = fp[i].fk;

		pal_flow_key_canonical(&fk);
		pal_flow_key4_of(&fk, &fk4);
		bpf_map_delete_elem(pal_dp_map_fd(dp, "pal_flows4"), &fk4);
	}
	free(fp);
}

/* One bpf_skb_ct_lookup per packet (ct_lookup.bpf.o next to the linear scan's object), with a
 * conntrack entry inserted for every packet's connection. */
static void bench_ct_lookup(const char *ls_path, int ifx, struct pkt *pk, int npk, int rounds)
{
	char path[512], cmd[512];
	const char *slash = strrchr(ls_path, '/');
	struct bpf_object *obj;
	struct bpf_program *prog;
	double r_ns[MAX_ROUNDS];
	int found = 0;

	snprintf(path, sizeof(path), "%.*sct_lookup.bpf.o", slash ? (int)(slash - ls_path + 1) : 0,
		 ls_path);
	obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj))
		bench_die("load ct_lookup.bpf.o");
	prog = bpf_object__find_program_by_name(obj, "ct_lookup");
	for (int i = 0; i < npk; i++) {
		snprintf(cmd, sizeof(cmd),
			 "conntrack -I -p tcp -s %u.%u.%u.%u -d %u.%u.%u.%u --sport %u --dport %u "
			 "--state ESTABLISHED -t 600 -u ASSURED >/dev/null 2>&1",
			 pk[i].fk.src[0], pk[i].fk.src[1], pk[i].fk.src[2], pk[i].fk.src[3],
			 pk[i].fk.dst[0], pk[i].fk.dst[1], pk[i].fk.dst[2], pk[i].fk.dst[3],
			 pk[i].fk.sport, pk[i].fk.dport);
		if (system(cmd))
			bench_die("conntrack -I (the conntrack tool is needed)");
		pk[i].buf[47] = 0x10;
	}
	for (int r = 0; r < rounds; r++) {
		double ns = 0;

		for (int i = 0; i < npk; i++) {
			uint32_t ret;

			ns += run1(bpf_program__fd(prog), false, ifx, &pk[i], PAL_REPEAT, &ret);
			found += r == 0 && ret == 1;
		}
		r_ns[r] = ns / npk;
	}
	if (found != npk) {
		fprintf(stderr, "bench-classify: FAIL: conntrack knew %d of %d connections\n", found,
			npk);
		exit(2);
	}
	printf("ctlookup %d %.1f\n", npk, bench_median(r_ns, rounds));
	bpf_object__close(obj);
}

/* Loads the linear scan program; its fd and the rules map's fd. */
static struct bpf_object *load_linear(const char *path, int *prog_fd, int *rules_fd, int *count_fd)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;

	if (!obj || libbpf_get_error(obj) || bpf_object__load(obj))
		bench_die("cannot load the linear scan program");
	prog = bpf_object__find_program_by_name(obj, "xdp_linear_scan");
	if (!prog)
		bench_die("linear scan program not found");
	*prog_fd = bpf_program__fd(prog);
	*rules_fd = bpf_object__find_map_fd_by_name(obj, "ls_rules");
	*count_fd = bpf_object__find_map_fd_by_name(obj, "ls_count");
	if (*prog_fd < 0 || *rules_fd < 0 || *count_fd < 0)
		bench_die("linear scan maps not found");
	return obj;
}

static void fill_linear(int rules_fd, int count_fd, int n)
{
	uint32_t k0 = 0, cnt = (uint32_t)n;

	for (int i = 0; i < n; i++) {
		uint8_t s[4];
		uint32_t key = (uint32_t)i;
		struct ls_rule r = { .src_mask = 0xffffffffu, .proto = 6, .action = XDP_DROP };

		rule_src(i, s);
		memcpy(&r.src, s, 4);
		r.dport_lo = r.dport_hi = rule_port(i);
		if (bpf_map_update_elem(rules_fd, &key, &r, 0))
			bench_die("linear scan rule update");
	}
	if (bpf_map_update_elem(count_fd, &k0, &cnt, 0))
		bench_die("linear scan count update");
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* BENCH_CLASSIFY_RULES: the rule counts to measure ("10 10000"), for the cost model's quick
 * runs; exits on a bad list rather than measure something else. */
static int parse_sizes(const char *s, int *sizes, int max)
{
	int n = 0;
	char *end;

	while (*s) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > 100000 || n == max) {
			fprintf(stderr, "bench-classify: FAIL: BENCH_CLASSIFY_RULES \"%s\": want up to %d "
				"rule counts 1..100000\n", s, max);
			exit(2);
		}
		sizes[n++] = (int)v;
		s = end + strspn(end, " ,");
	}
	if (!n) {
		fprintf(stderr, "bench-classify: FAIL: BENCH_CLASSIFY_RULES is empty\n");
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	int sizes[8] = { 10, 100, 1000, 10000, 100000 }, nsizes = 5;
	static struct pkt pk[MAX_PKTS];
	int rounds = argc > 2 ? atoi(argv[2]) : 5, npk = argc > 3 ? atoi(argv[3]) : 200;
	int ls_prog, ls_rules, ls_count, ifx, nflows = 16384;
	struct bpf_object *ls_obj;
	struct pal_datapath *dp;
	uint64_t seed = 42;
	char dir[64], err[512];

	if (argc < 2 || rounds < 1 || rounds > MAX_ROUNDS || npk < 2 || npk > MAX_PKTS) {
		fprintf(stderr, "usage: bench-classify LINEAR_SCAN.bpf.o [ROUNDS 1..%d] [PACKETS 2..%d]\n",
			MAX_ROUNDS, MAX_PKTS);
		return 2;
	}
	bench_enter_netns("bench-classify");
	if (getenv("BENCH_CLASSIFY_FLOWS"))
		nflows = atoi(getenv("BENCH_CLASSIFY_FLOWS"));
	if (nflows < 0 || nflows > 65536)
		bench_die("BENCH_CLASSIFY_FLOWS: 0..65536");
	if (getenv("BENCH_CLASSIFY_RULES"))
		nsizes = parse_sizes(getenv("BENCH_CLASSIFY_RULES"), sizes, 8);
	ifx = (int)if_nametoindex("eth0");
	ls_obj = load_linear(argv[1], &ls_prog, &ls_rules, &ls_count);
	/* A test run with repeat > 1 puts the program into the kernel's XDP dispatcher and takes it
	 * out again, each a synchronize_rcu (milliseconds per call). Attached programs stay in the
	 * dispatcher, so both are attached (native XDP, no traffic flows here): test runs are then
	 * cheap and call the programs exactly as an attached program is called. */
	if (bpf_xdp_attach((int)if_nametoindex("p-eth0"), ls_prog, XDP_FLAGS_DRV_MODE, NULL))
		bench_die("native XDP attach of the linear scan on a veth");
	bench_pin_dir(dir, sizeof(dir), "cls");
	/* 100,000 rules: the flattener's limit is 131,072 entries per list; raise the maps (the words
	 * of 100,000 rules: ~6M with the direct key tables, up to three lists while old and new
	 * generations coexist during an apply). */
	if (pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir,
					       .sizes = { .max_words = 1u << 25, .max_classes = 1u << 19,
							  .max_entries = 1u << 19,
							  .max_flows = getenv("BENCH_CLASSIFY_MAX_FLOWS") ?
								(uint32_t)atoi(getenv("BENCH_CLASSIFY_MAX_FLOWS")) : 0 } },
			&dp, NULL, err, sizeof(err))) {
		fprintf(stderr, "bench-classify: FAIL: %s\n", err);
		return 2;
	}
	/* the rows' tc egress runs on the loopback, an interface without an endpoint: a link slot
	 * for it, as the agent gives a watched link (pal_dp_link_slots_sync) */
	if (pal_dp_link_slots_sync(dp, (int[]){ 1 }, 1) != 1)
		bench_die("a link slot for the loopback");
	if (bpf_xdp_attach(ifx, pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS), XDP_FLAGS_DRV_MODE,
			   NULL))
		bench_die("native XDP attach of xdp_hep_ingress on a veth");
	printf("# classify RULES PALISADE_NS LINEAR_NS ESTABLISHED_NS APPLY_MS (%d packets, %d rounds)\n",
	       npk, rounds);
	for (int k = 0; k < nsizes; k++) {
		int n = sizes[k], ls_repeat = n >= 10000 ? 1 : n >= 1000 ? 20 : 200;
		double pal_r[MAX_ROUNDS], ls_r[MAX_ROUNDS], est_r[MAX_ROUNDS], fwd_r[MAX_ROUNDS];
		double untr_r[MAX_ROUNDS];
		double apply_ms;
		struct pal_ir ir[3] = { 0 };
		struct pal_dp_binding b = { .ifindex = (uint32_t)ifx };
		struct timespec t0;

		double newflow[3], thrash_ns;

		for (int u = 0; u < 3; u++) {
			char *y = policy_yaml(n, (enum bench_policy)u);

			if (!y || compile(y, &ir[u]))
				bench_die("compile");
			free(y);
		}
		for (int i = 0; i < npk; i++) {
			uint8_t s[4];
			int r = (int)(rnd(&seed) % (uint32_t)n);

			rule_src(r, s);
			if (i % 2) { /* no rule has this source */
				s[1] = 18;
				s[2] = (uint8_t)(64 + s[2] % 64);
			}
			build(&pk[i], s, (uint16_t)(20000 + i), rule_port(r));
		}
		fill_linear(ls_rules, ls_count, n);
		b.ep = pal_ir_endpoint_for_iface(&ir[0], "eth0");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (pal_dp_apply(dp, &ir[0], &b, 1, (uint32_t)k * 3 + 1)) {
			fprintf(stderr, "bench-classify: FAIL: apply %d rules: %s\n", n, pal_dp_error(dp));
			return 2;
		}
		apply_ms = ms_since(&t0);
		for (int r = 0; r < rounds; r++) {
			double pal = 0, ls = 0;

			for (int i = 0; i < npk; i++) {
				uint32_t v_pal, v_ls;

				pal += run1(pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS), true, ifx,
					    &pk[i], PAL_REPEAT, &v_pal);
				ls += run1(ls_prog, true, ifx, &pk[i], ls_repeat, &v_ls);
				if (v_pal != v_ls || (i % 2 == 0 && v_pal != XDP_DROP)) {
					fprintf(stderr, "bench-classify: FAIL: %d rules, packet %d: "
						"palisade %u, linear scan %u (want %s)\n", n, i, v_pal,
						v_ls, i % 2 ? "the same" : "drop");
					return 2;
				}
			}
			pal_r[r] = pal / npk;
			ls_r[r] = ls / npk;
		}
		thrash_ns = bench_thrash(pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS), ifx, n, rounds);
		/* untracked-tc: the packets XDP passes, at tc ingress right after it */
		for (int r = 0; r < rounds; r++) {
			double t = 0;

			for (int i = 1; i < npk; i += 2) {
				run1(pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS), true, ifx, &pk[i], 1,
				     NULL);
				t += run1(pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS), false, ifx, &pk[i],
					  PAL_REPEAT, NULL);
			}
			untr_r[r] = t / (npk / 2);
		}
		/* established: the normal list, every packet's flow present */
		b.ep = pal_ir_endpoint_for_iface(&ir[1], "eth0");
		if (pal_dp_apply(dp, &ir[1], &b, 1, (uint32_t)k * 3 + 2)) {
			fprintf(stderr, "bench-classify: FAIL: apply: %s\n", pal_dp_error(dp));
			return 2;
		}
		/* the host's own flows (admitted at INPUT), as a host endpoint's normal ingress
		 * list admits them */
		put_flows(dp, pk, npk, (uint32_t)k * 3 + 2, PAL_FCTX_INPUT);
		for (int r = 0; r < rounds; r++) {
			double est = 0;

			for (int i = 0; i < npk; i++)
				est += run1(pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS), false, ifx, &pk[i],
					    PAL_REPEAT, NULL);
			est_r[r] = est / npk;
		}
		/* forwarded: tc ingress once, then tc egress of the loopback (no endpoint); the
		 * flows as forwarded ones */
		put_flows(dp, pk, npk, (uint32_t)k * 3 + 2, PAL_FCTX_FORWARD);
		for (int r = 0; r < rounds; r++) {
			double fwd = 0;

			for (int i = 0; i < npk; i++) {
				run1(pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS), false, ifx, &pk[i], 1,
				     NULL);
				fwd += run_egress(pal_dp_prog_fd(dp, PAL_PROG_TC_EGRESS), 1, ifx,
						  &pk[i], PAL_REPEAT);
			}
			fwd_r[r] = fwd / npk;
		}
		if (nflows)
			bench_many_flows(dp, argv[1], ifx, n, nflows, (uint32_t)k * 3 + 2, rounds);
		/* newflow: the forward policy */
		b.ep = pal_ir_endpoint_for_iface(&ir[2], "eth0");
		if (pal_dp_apply(dp, &ir[2], &b, 1, (uint32_t)k * 3 + 3)) {
			fprintf(stderr, "bench-classify: FAIL: apply: %s\n", pal_dp_error(dp));
			return 2;
		}
		flush_flows(dp);
		bench_newflow(pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS),
			      pal_dp_prog_fd(dp, PAL_PROG_TC_EGRESS), ifx, pk, npk, rounds, newflow);
		printf("classify %d %.1f %.1f %.1f %.1f\n", n, bench_median(pal_r, rounds),
		       bench_median(ls_r, rounds), bench_median(est_r, rounds), apply_ms);
		printf("untracked-tc %d %.1f\n", n, bench_median(untr_r, rounds));
		printf("forwarded %d %.1f\n", n, bench_median(fwd_r, rounds));
		printf("newflow %d %.1f %.1f %.1f\n", n, newflow[0], newflow[1], newflow[2]);
		printf("thrash %d %.1f\n", n, thrash_ns);
		fflush(stdout);
		for (int u = 0; u < 3; u++)
			pal_ir_free(&ir[u]);
		for (int i = 0; i < npk; i++)
			pk[i].buf[47] = 0x02; /* SYN again for the next rule count's new flows */
	}
	bench_ct_lookup(argv[1], ifx, pk, npk, rounds);
	pal_dp_close(dp);
	pal_dp_unpin_all(dir);
	bpf_object__close(ls_obj);
	return 0;
}
