/* `make bench-bpf`: new-flow classification and established-flow cost per packet, measured with
 * BPF_PROG_TEST_RUN (the kernel times `repeat` runs of the program), at 10, 100, 1,000 and
 * 10,000 rules, over many distinct packets.
 *
 *   new flow     xdp_hep_ingress classifying against an untracked ingress list of N rules (each
 *                "allow tcp from one /32 to one port"; XDP keeps no state, so every run is a new
 *                flow); packets hit random rules or none (then every entry is a candidate that
 *                the bitmaps rule out).
 *   established  tc_ingress on a host endpoint with N normal rules, for packets whose flow is in
 *                pal_flows: parsing, the failsafe lookup and the flow lookup.
 *
 * Runs as root in a private network namespace with its own pin directory. Prints a table and the
 * 10,000/10 ratio; exits 1 when the ratio is above 2 (the design target). */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "compiler.h"
#include "datapath.h"
#include "maps_sync.h"
#include "model.h"

#define N_PKTS 512
#define REPEAT 200

struct pkt {
	uint8_t buf[128];
	size_t len;
	struct pal_flow_key fk;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void build(struct pkt *p, const uint8_t src[4], uint16_t sport, uint16_t dport)
{
	static const uint8_t dst[4] = { 198, 18, 0, 1 };
	uint8_t *b = p->buf;

	memset(p, 0, sizeof(*p));
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	b[14] = 0x45;
	put16(b + 16, 40);
	b[22] = 64;
	b[23] = 6;
	memcpy(b + 26, src, 4);
	memcpy(b + 30, dst, 4);
	put16(b + 34, sport);
	put16(b + 36, dport);
	b[46] = 5 << 4;
	b[47] = 0x02;
	p->len = 54;
	memcpy(p->fk.src, src, 4);
	memcpy(p->fk.dst, dst, 4);
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

static void rule_src(int i, uint8_t out[4])
{
	out[0] = 198;
	out[1] = 19;
	out[2] = (uint8_t)(i / 250);
	out[3] = (uint8_t)(1 + i % 250);
}

/* N rules split over policies of at most 1000 (Calico's per-direction limit). */
static char *policy_yaml(int n, bool untracked)
{
	size_t cap = 4096 + (size_t)n * 160;
	char *y = malloc(cap), *p = y;

	p += sprintf(p, "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
			"metadata: {name: h, labels: {role: h}}\n"
			"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n");
	for (int i = 0; i < n; i++) {
		uint8_t s[4];

		if (i % 1000 == 0)
			p += sprintf(p, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
					"metadata: {name: bench-%d}\nspec:\n  order: %d\n"
					"  selector: role == 'h'\n%s  types: [Ingress]\n  ingress:\n",
				     i / 1000, i / 1000,
				     untracked ? "  doNotTrack: true\n  applyOnForward: true\n" : "");
		rule_src(i, s);
		p += sprintf(p, "  - {action: Allow, protocol: TCP, source: {nets: [%u.%u.%u.%u/32]}, "
				"destination: {ports: [%d]}}\n", s[0], s[1], s[2], s[3], 1000 + i % 50);
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

/* Average ns per run over the packets. */
static double measure(int prog_fd, bool xdp, int ifindex, struct pkt *pk, int n)
{
	double total = 0;

	for (int i = 0; i < n; i++) {
		struct xdp_md xctx = { .data_end = (uint32_t)pk[i].len,
				       .ingress_ifindex = (uint32_t)ifindex };
		struct __sk_buff sctx = { .ifindex = (uint32_t)ifindex,
					  .ingress_ifindex = (uint32_t)ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk[i].buf,
			    .data_size_in = (uint32_t)pk[i].len, .repeat = REPEAT);

		if (xdp) {
			o.ctx_in = &xctx;
			o.ctx_size_in = sizeof(xctx);
		} else {
			o.ctx_in = &sctx;
			o.ctx_size_in = sizeof(sctx);
		}
		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			perror("test run");
			exit(2);
		}
		total += o.duration;
	}
	return total / n;
}

int main(void)
{
	static const int sizes[] = { 10, 100, 1000, 10000 };
	static struct pkt pk[N_PKTS];
	double newflow[4], est[4], apply_ms[4];
	char dir[64], err[512];
	struct pal_datapath *dp;
	uint64_t seed = 42;
	int ifx;

	if (unshare(CLONE_NEWNET) || system("ip link add eth0 type veth peer name p-eth0 && "
					    "ip link set eth0 up && ip link set p-eth0 up")) {
		fprintf(stderr, "bench-bpf: needs root (netns, veth)\n");
		return 2;
	}
	ifx = (int)if_nametoindex("eth0");
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/palbench-%d", (int)getpid());
	pal_dp_unpin_all(dir);
	if (pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir, .max_words = 1u << 22,
					       .max_classes = 1u << 19, .max_entries = 1u << 18 },
			&dp, NULL, err, sizeof(err))) {
		fprintf(stderr, "bench-bpf: %s\n", err);
		return 2;
	}
	for (int k = 0; k < 4; k++) {
		int n = sizes[k];
		struct pal_ir ir[2] = { 0 };
		struct pal_dp_binding b = { .ifindex = (uint32_t)ifx };

		for (int u = 0; u < 2; u++) {
			char *y = policy_yaml(n, u == 0);

			if (compile(y, &ir[u]))
				return 2;
			free(y);
		}
		/* packets: half hit a random rule, half miss every rule */
		for (int i = 0; i < N_PKTS; i++) {
			uint8_t s[4];
			int r = (int)(rnd(&seed) % (uint32_t)n);

			rule_src(r, s);
			if (i % 2)
				s[1] = 20; /* no rule has this source */
			build(&pk[i], s, (uint16_t)(20000 + i), (uint16_t)(1000 + r % 50));
		}
		/* new flows: untracked list at XDP */
		b.ep = pal_ir_endpoint_for_iface(&ir[0], "eth0");
		{
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			if (pal_dp_apply(dp, &ir[0], &b, 1, (uint32_t)k * 2 + 1)) {
				fprintf(stderr, "bench-bpf: apply: %s\n", pal_dp_error(dp));
				return 2;
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			apply_ms[k] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		}
		newflow[k] = measure(pal_dp_prog_fd(dp, PAL_PROG_XDP_HEP_INGRESS), true, ifx, pk,
				     N_PKTS);
		/* established: normal list, flows present */
		b.ep = pal_ir_endpoint_for_iface(&ir[1], "eth0");
		if (pal_dp_apply(dp, &ir[1], &b, 1, (uint32_t)k * 2 + 2)) {
			fprintf(stderr, "bench-bpf: apply: %s\n", pal_dp_error(dp));
			return 2;
		}
		for (int i = 0; i < N_PKTS; i++) {
			struct pal_flow f = { .flags = 0 };

			bpf_map_update_elem(pal_dp_map_fd(dp, "pal_flows"), &pk[i].fk, &f, 0);
		}
		est[k] = measure(pal_dp_prog_fd(dp, PAL_PROG_TC_INGRESS), false, ifx, pk, N_PKTS);
		pal_ir_free(&ir[0]);
		pal_ir_free(&ir[1]);
	}
	printf("| rules | new flow ns/packet (XDP, untracked list) | established ns/packet (tc ingress) "
	       "| apply ms (flatten + maps + flip) |\n");
	printf("|------:|------:|------:|------:|\n");
	for (int k = 0; k < 4; k++)
		printf("| %d | %.0f | %.0f | %.1f |\n", sizes[k], newflow[k], est[k], apply_ms[k]);
	printf("\n%d distinct packets x %d runs each per figure; new flow at 10,000 rules / 10 rules "
	       "= %.2f (target <= 2)\n", N_PKTS, REPEAT, newflow[3] / newflow[0]);
	pal_dp_close(dp);
	pal_dp_unpin_all(dir);
	return newflow[3] / newflow[0] <= 2.0 ? 0 : 1;
}
