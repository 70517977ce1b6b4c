/* `make bench` figure 5 (in-process part): control-plane cost at N policies.
 *
 *   compile   parse + validate + compile N GlobalNetworkPolicies (each one ingress rule, "allow
 *             tcp from one /32 to one port", all selecting one host endpoint) into the IR, from
 *             YAML text in memory: the agent's path minus the file reads
 *   apply     pal_dp_apply of that IR to the endpoint: flatten, write the maps, flip
 *   max RSS   the process's peak resident set after ROUNDS compiles and applies (getrusage)
 *
 * Compile and apply are timed ROUNDS times each, alternating (every apply is a real update to a
 * new generation); the figures are medians. Runs as root in a private network namespace with its
 * own pin directory. usage: bench-ctl POLICIES [ROUNDS]
 * prints: "ctl POLICIES COMPILE_MS APPLY_MS MAXRSS_KB" */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "bench_setup.h"
#include "compiler.h"
#include "datapath.h"
#include "maps_sync.h"
#include "model.h"

#define MAX_ROUNDS 15

static char *policies_yaml(int n)
{
	char *y = malloc(4096 + (size_t)n * 320), *p = y;

	if (!y)
		bench_die("out of memory");
	p += sprintf(p, "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
			"metadata: {name: h, labels: {role: h}}\n"
			"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n");
	for (int i = 0; i < n; i++)
		p += sprintf(p, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
				"metadata: {name: p%d}\nspec:\n  order: %d\n  selector: role == 'h'\n"
				"  types: [Ingress]\n  ingress:\n"
				"  - {action: Allow, protocol: TCP, source: {nets: [198.19.%d.%d/32]}, "
				"destination: {ports: [%d]}}\n",
			     i, i, (i / 250) % 256, 1 + i % 250, 1000 + i % 50);
	return y;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, rounds = argc > 2 ? atoi(argv[2]) : 5;
	double compile_ms[MAX_ROUNDS], apply_ms[MAX_ROUNDS];
	struct pal_datapath *dp;
	struct rusage ru;
	char dir[64], err[512], *yaml;
	int ifx;

	if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench-ctl POLICIES [ROUNDS 1..%d]\n", MAX_ROUNDS);
		return 2;
	}
	bench_enter_netns("bench-ctl");
	ifx = (int)if_nametoindex("eth0");
	bench_pin_dir(dir, sizeof(dir), "ctl");
	if (pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir }, &dp, NULL, err, sizeof(err))) {
		fprintf(stderr, "bench-ctl: FAIL: %s\n", err);
		return 2;
	}
	yaml = policies_yaml(n);
	for (int r = 0; r < rounds; r++) {
		struct pal_model m;
		struct pal_diags d = { 0 };
		struct pal_compile_opts o = { .node = "node1" };
		struct pal_ir ir = { 0 };
		struct pal_dp_binding b = { .ifindex = (uint32_t)ifx };
		double t0 = now_ms();
		int rc;

		pal_model_init(&m);
		pal_model_load_buffer(&m, "bench.yaml", yaml, strlen(yaml), &d);
		pal_model_validate(&m, &d);
		rc = d.n_errors ? -EINVAL : pal_compile(&m, &o, &ir, &d);
		compile_ms[r] = now_ms() - t0;
		if (rc) {
			pal_diags_print(stderr, &d);
			bench_die("compile");
		}
		b.ep = pal_ir_endpoint_for_iface(&ir, "eth0");
		t0 = now_ms();
		if (pal_dp_apply(dp, &ir, &b, 1, (uint32_t)r + 1)) {
			fprintf(stderr, "bench-ctl: FAIL: apply: %s\n", pal_dp_error(dp));
			return 2;
		}
		apply_ms[r] = now_ms() - t0;
		pal_ir_free(&ir);
		pal_diags_free(&d);
		pal_model_free(&m);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("ctl %d %.1f %.1f %ld\n", n, bench_median(compile_ms, rounds), bench_median(apply_ms, rounds),
	       ru.ru_maxrss);
	free(yaml);
	pal_dp_close(dp);
	pal_dp_unpin_all(dir);
	return 0;
}
