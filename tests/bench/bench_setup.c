/* The in-process benchmarks' setup (bench_setup.h). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_setup.h"
#include "datapath.h"

static const char *bench_name = "bench";
/* The pin directory, removed at any exit (the network namespace goes with the process). */
static char pin_dir[64];

void bench_die(const char *what)
{
	fprintf(stderr, "%s: FAIL: %s\n", bench_name, what);
	exit(2);
}

void bench_enter_netns(const char *name)
{
	bench_name = name;
	if (unshare(CLONE_NEWNET) || system("ip link add eth0 type veth peer name p-eth0 && "
					    "ip link set eth0 up && ip link set p-eth0 up"))
		bench_die("needs root (network namespace, veth)");
}

int bench_yaml_host_endpoint(char *p, const char *name, const char *role, const char *node,
			     const char *ip)
{
	return sprintf(p, "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
			  "metadata: {name: %s, labels: {role: %s}}\n"
			  "spec: {node: %s, interfaceName: eth0, expectedIPs: [%s]}\n",
		       name, role, node, ip);
}

int bench_yaml_policy_head(char *p, const char *name, int order, const char *role,
			   const char *spec)
{
	return sprintf(p, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
			  "metadata: {name: %s}\nspec:\n  order: %d\n  selector: role == '%s'\n"
			  "%s  types: [Ingress]\n  ingress:\n",
		       name, order, role, spec);
}

static void unpin_at_exit(void)
{
	if (pin_dir[0])
		pal_dp_unpin_all(pin_dir);
}

void bench_pin_dir(char *dir, size_t len, const char *tag)
{
	pal_dp_unpin_orphans("palbench-"); /* a run killed by its timeout cleans up nothing */
	snprintf(dir, len, "/sys/fs/bpf/palbench-%s-%d", tag, (int)getpid());
	pal_dp_unpin_all(dir);
	snprintf(pin_dir, sizeof(pin_dir), "%s", dir);
	atexit(unpin_at_exit);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
