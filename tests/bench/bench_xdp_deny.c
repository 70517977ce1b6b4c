/* The XDP deny row of issue 8 with BPF_PROG_TEST_RUN: what palisade's untracked Deny at XDP adds
 * to a bare XDP_DROP (xdp_drop.bpf.o, the live bench's xdp-bare) on the same veth, per packet.
 *
 * The policy is the live bench's drop group (tests/bench/live.sh "policy deny"): N-1 UDP deny
 * rules from one 198.19.x.y/32 each to one port (lib.sh bench_deny_policies), then "Deny UDP",
 * doNotTrack + applyOnForward on the host endpoint eth0. 10 rules take the list's linear form, 10,000
 * its bitmap form with the source address in pal_hosts.
 *
 * The packets are the live bench's too, 64-byte UDP to port 9, FLOWS of them: every one has its
 * own source port, and the source address cycles over 64 addresses (198.18.128.1-64,
 * 2001:db8:80::1-64), so pal_hosts and the words see several keys as well. Each packet is one
 * test run (repeat 1), the bare drop and palisade alternately on the same packet, so neither
 * program finds the caches warmed by 200 runs of one packet (bench-classify's figure 1 does
 * that) and machine noise hits both columns alike. A run's duration includes the kernel's two
 * clock reads around the program; the difference of the two columns does not.
 *
 * Every palisade verdict must be XDP_DROP (else exit 2: it would not be measuring the deny).
 * Output per (family, rule count): "xdpdeny FAMILY RULES BARE_NS PALISADE_NS ADDED_NS
 * ADDED_MEDIAN_NS", the medians over ROUNDS rounds of: the means over the FLOWS packets, and the
 * median of the packets' differences (palisade - bare on the same packet), which the other
 * tenants of a shared machine disturb less than the mean.
 * Usage: bench-xdp-deny XDP_DROP.bpf.o [ROUNDS] [FLOWS]  (BENCH_XDP_DENY_RULES, default
 * "10 10000"; BENCH_XDP_DENY_FAMILIES, default "4 6"; BENCH_XDP_DENY_REPEAT, runs of each packet
 * per test run, default 1: see `repeat`) */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_setup.h"
#include "compiler.h"
#include "datapath.h"
#include "maps_sync.h"
#include "model.h"

#define MAX_FLOWS 65536
#define MAX_ROUNDS 15
#define SOURCES 64

struct frame {
	uint8_t buf[64];
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Flow i: a 64-byte UDP frame from the (i % SOURCES)th source address, source port 1024 + i, to
 * port 9. */
static void build(struct frame *f, int family, int i)
{
	uint8_t *b = f->buf, *l4;

	memset(f, 0, sizeof(*f));
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	if (family == 4) {
		put16(b + 12, 0x0800);
		b[14] = 0x45;
		put16(b + 16, 50);
		b[22] = 64;
		b[23] = 17;
		memcpy(b + 26, "\xc6\x12\x80", 3); /* 198.18.128.x */
		b[29] = (uint8_t)(1 + i % SOURCES);
		memcpy(b + 30, "\xc6\x12\x01\x01", 4); /* 198.18.1.1 */
		l4 = b + 34;
	} else {
		put16(b + 12, 0x86dd);
		b[14] = 0x60;
		put16(b + 18, 10);
		b[20] = 17;
		b[21] = 64;
		memcpy(b + 22, "\x20\x01\x0d\xb8\x00\x80", 6); /* 2001:db8:80::x */
		b[37] = (uint8_t)(1 + i % SOURCES);
		memcpy(b + 38, "\x20\x01\x0d\xb8\x00\x01", 6); /* 2001:db8:1::1 */
		b[53] = 1;
		l4 = b + 54;
	}
	put16(l4, (uint16_t)(1024 + i));
	put16(l4 + 2, 9);
	put16(l4 + 4, family == 4 ? 30 : 10);
	f->len = 64;
}

/* live.sh's deny policy of n rules (lib.sh bench_deny_policies, then the last rule). */
static char *policy_yaml(int n)
{
	char *y = malloc(4096 + (size_t)n * 160), *p = y;

	if (!y)
		return NULL;
	p += bench_yaml_host_endpoint(p, "dut", "bench", "bench", "198.18.1.1");
	for (int i = 0; i < n; i++) {
		bool last = i == n - 1;

		if (i % 1000 == 0 || last) {
			char name[32];

			snprintf(name, sizeof(name), "%s-%d", last ? "last" : "r", i / 1000);
			p += bench_yaml_policy_head(p, name, last ? 100000 : i / 1000, "bench",
						    "  doNotTrack: true\n  applyOnForward: true\n");
		}
		if (last)
			p += sprintf(p, "  - {action: Deny, protocol: UDP}\n");
		else
			p += sprintf(p, "  - {action: Deny, protocol: UDP, source: {nets: "
					"[198.19.%d.%d/32]}, destination: {ports: [%d]}}\n",
				     i / 250 % 256, 1 + i % 250, 1000 + i % 50);
	}
	return y;
}

static void compile_apply(struct pal_datapath *dp, int ifx, int n, uint32_t gen)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_compile_opts o = { .node = "bench" };
	struct pal_ir ir = { 0 };
	struct pal_dp_binding b = { .ifindex = (uint32_t)ifx };
	char *y = policy_yaml(n);
	int rc;

	if (!y)
		bench_die("out of memory");
	pal_model_init(&m);
	pal_model_load_buffer(&m, "bench.yaml", y, strlen(y), &d);
	pal_model_validate(&m, &d);
	rc = d.n_errors ? -EINVAL : pal_compile(&m, &o, &ir, &d);
	if (rc)
		pal_diags_print(stderr, &d);
	pal_diags_free(&d);
	pal_model_free(&m);
	free(y);
	if (rc)
		bench_die("compile");
	b.ep = pal_ir_endpoint_for_iface(&ir, "eth0");
	if (pal_dp_apply(dp, &ir, &b, 1, gen)) {
		fprintf(stderr, "bench-xdp-deny: FAIL: apply %d rules: %s\n", n, pal_dp_error(dp));
		exit(2);
	}
	pal_ir_free(&ir);
}

/* Runs per test run (BENCH_XDP_DENY_REPEAT, default 1). 1 is the row's figure: every packet
 * meets caches the kernel's own work between two test runs left. More runs of the same packet
 * keep code and data warm: the instructions' cost alone, with less noise, an instrument for a
 * cut of a few instructions rather than the row itself (docs/benchmarks.md "... s16/xdp"). */
static int repeat = 1;

/* One test run of f on ifindex: the kernel's ns for it (the mean over its repeat runs); *ret the
 * verdict. */
static double run_once(int prog_fd, int ifindex, const struct frame *f, uint32_t *ret)
{
	struct xdp_md ctx = { .data_end = f->len, .ingress_ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->buf, .data_size_in = f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		bench_die("BPF_PROG_TEST_RUN");
	*ret = o.retval;
	return o.duration;
}

static int parse_list(const char *env, const char *def, int *v, int max, int lo, int hi)
{
	const char *s = getenv(env) ? getenv(env) : def;
	int n = 0;
	char *end;

	while (*s) {
		long x = strtol(s, &end, 10);

		if (end == s || x < lo || x > hi || n == max) {
			fprintf(stderr, "bench-xdp-deny: FAIL: %s \"%s\": want up to %d values %d..%d\n",
				env, s, max, lo, hi);
			exit(2);
		}
		v[n++] = (int)x;
		s = end + strspn(end, " ,");
	}
	if (!n) {
		fprintf(stderr, "bench-xdp-deny: FAIL: %s is empty\n", env);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 5, nflows = argc > 3 ? atoi(argv[3]) : 16384;
	int sizes[4], fams[2], nsizes, nfams, bare_fd, pal_fd, ifx;
	static struct frame fr[MAX_FLOWS];
	static double diff[MAX_FLOWS];
	struct bpf_object *bare;
	struct pal_datapath *dp;
	char dir[64], err[512];
	uint32_t gen = 0;

	if (argc < 2 || rounds < 1 || rounds > MAX_ROUNDS || nflows < 1 || nflows > MAX_FLOWS) {
		fprintf(stderr, "usage: bench-xdp-deny XDP_DROP.bpf.o [ROUNDS 1..%d] [FLOWS 1..%d]\n",
			MAX_ROUNDS, MAX_FLOWS);
		return 2;
	}
	nsizes = parse_list("BENCH_XDP_DENY_RULES", "10 10000", sizes, 4, 2, 100000);
	nfams = parse_list("BENCH_XDP_DENY_FAMILIES", "4 6", fams, 2, 4, 6);
	if (getenv("BENCH_XDP_DENY_REPEAT")) {
		repeat = atoi(getenv("BENCH_XDP_DENY_REPEAT"));
		if (repeat < 1 || repeat > 1000000)
			bench_die("BENCH_XDP_DENY_REPEAT: 1 to 1000000");
	}
	bench_enter_netns("bench-xdp-deny");
	ifx = (int)if_nametoindex("eth0");
	bare = bpf_object__open_file(argv[1], NULL);
	if (!bare || bpf_object__load(bare))
		bench_die("load the bare XDP_DROP program");
	bare_fd = bpf_program__fd(bpf_object__next_program(bare, NULL));
	bench_pin_dir(dir, sizeof(dir), "xdpdeny");
	if (pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir }, &dp, NULL, err, sizeof(err))) {
		fprintf(stderr, "bench-xdp-deny: FAIL: %s\n", err);
		return 2;
	}
	pal_fd = pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS);
	/* attached, both sit in the kernel's XDP dispatcher and are called as on live traffic */
	if (bpf_xdp_attach(ifx, pal_fd, XDP_FLAGS_DRV_MODE, NULL) ||
	    bpf_xdp_attach((int)if_nametoindex("p-eth0"), bare_fd, XDP_FLAGS_DRV_MODE, NULL))
		bench_die("native XDP attach on the veth pair");
	printf("# xdpdeny FAMILY RULES BARE_NS PALISADE_NS ADDED_NS ADDED_MEDIAN_NS (%d flows, %d rounds)\n", nflows,
	       rounds);
	for (int k = 0; k < nsizes; k++) {
		compile_apply(dp, ifx, sizes[k], ++gen);
		for (int fi = 0; fi < nfams; fi++) {
			double bare_r[MAX_ROUNDS], pal_r[MAX_ROUNDS], add_r[MAX_ROUNDS], med_r[MAX_ROUNDS];

			if (fams[fi] != 4 && fams[fi] != 6)
				bench_die("BENCH_XDP_DENY_FAMILIES: 4 or 6");
			for (int i = 0; i < nflows; i++)
				build(&fr[i], fams[fi], i);
			for (int r = 0; r < rounds; r++) {
				double tb = 0, tp = 0;

				for (int i = 0; i < nflows; i++) {
					uint32_t vb, vp;
					double b = run_once(bare_fd, ifx, &fr[i], &vb);
					double q = run_once(pal_fd, ifx, &fr[i], &vp);

					tb += b;
					tp += q;
					diff[i] = q - b;
					if (vp != XDP_DROP || vb != XDP_DROP) {
						fprintf(stderr, "bench-xdp-deny: FAIL: IPv%d, %d rules, "
							"flow %d: palisade %u, bare %u (want %u)\n",
							fams[fi], sizes[k], i, vp, vb, XDP_DROP);
						return 2;
					}
				}
				bare_r[r] = tb / nflows;
				pal_r[r] = tp / nflows;
				add_r[r] = (tp - tb) / nflows;
				med_r[r] = bench_median(diff, nflows);
			}
			printf("xdpdeny %d %d %.1f %.1f %.1f %.1f\n", fams[fi], sizes[k],
			       bench_median(bare_r, rounds), bench_median(pal_r, rounds),
			       bench_median(add_r, rounds), bench_median(med_r, rounds));
			fflush(stdout);
		}
	}
	pal_dp_close(dp);
	bpf_object__close(bare);
	return 0;
}
