/* `make verifier-stats`: loads every BPF program with the verifier's statistics log
 * (BPF_LOG_STATS) and prints, per program, the instructions the verifier processed (the figure
 * the kernel's 1,000,000 limit applies to) and the translated program size. The tables do not
 * change what the verifier sees, so the figures hold whatever the rule count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "palisade.skel.h"
#include "sf_out.skel.h"
#include "wl_guard.skel.h"

#define LOG_SZ (1 << 20)
#define VERIFIER_LIMIT 1000000L

static int silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static int report(struct bpf_object *obj, char **logs, int *worst)
{
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		const char *s = strstr(logs[i], "processed ");
		long insns = s ? strtol(s + 10, NULL, 10) : -1;

		bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
		printf("%-24s %10ld %9.1f%% %10u\n", bpf_program__name(p), insns,
		       100.0 * (double)insns / VERIFIER_LIMIT, info.xlated_prog_len / 8);
		if (insns < 0 || insns > *worst)
			*worst = insns < 0 ? VERIFIER_LIMIT : (int)insns;
		i++;
	}
	return 0;
}

static char **alloc_logs(struct bpf_object *obj)
{
	struct bpf_program *p;
	char **logs = calloc(16, sizeof(*logs));
	int i = 0;

	bpf_object__for_each_program(p, obj) {
		logs[i] = calloc(1, LOG_SZ);
		bpf_program__set_log_buf(p, logs[i], LOG_SZ);
		bpf_program__set_log_level(p, 4); /* BPF_LOG_STATS */
		i++;
	}
	return logs;
}

static void free_logs(char **logs)
{
	for (int i = 0; i < 16; i++)
		free(logs[i]);
	free(logs);
}

int main(void)
{
	struct pal_palisade *a;
	struct pal_sf_out *b;
	struct pal_wl_guard *g;
	char **la, **lb, **lg;
	int worst = 0, err;

	libbpf_set_print(silent);
	printf("%-24s %10s %10s %10s\n", "program", "verified", "of limit", "xlated");
	a = pal_palisade__open();
	if (!a)
		return 2;
	/* the loader sets it from the kernel's BTF; any size the kernel takes verifies the same */
	a->rodata->pal_ct_opts_size = 16;
	/* some kernels refuse bpf_xdp_adjust_meta (docs/datapath.md); without it XDP verifies a few
	 * instructions fewer, nothing else changes */
	a->rodata->pal_xdp_meta_ok = 0;
	la = alloc_logs(a->obj);
	err = pal_palisade__load(a);
	if (err) {
		for (int i = 0; la[i]; i++)
			if (la[i][0])
				fprintf(stderr, "%s\n", la[i]);
		fprintf(stderr, "load failed: %s\n", strerror(-err));
		return 1;
	}
	report(a->obj, la, &worst);
	b = pal_sf_out__open();
	if (!b)
		return 2;
	b->rodata->pal_out_ifindex = 1; /* non-zero: the whole program is verified */
	lb = alloc_logs(b->obj);
	err = pal_sf_out__load(b);
	if (err) {
		fprintf(stderr, "load failed: %s\n", strerror(-err));
		return 1;
	}
	report(b->obj, lb, &worst);
	g = pal_wl_guard__open();
	if (!g)
		return 2;
	lg = alloc_logs(g->obj);
	err = pal_wl_guard__load(g);
	if (err) {
		fprintf(stderr, "load failed: %s\n", strerror(-err));
		return 1;
	}
	report(g->obj, lg, &worst);
	printf("largest: %d verified instructions (%.1f%% of the kernel's %ld); the count does not "
	       "depend on the number of rules\n", worst, 100.0 * worst / VERIFIER_LIMIT,
	       VERIFIER_LIMIT);
	pal_wl_guard__destroy(g);
	pal_sf_out__destroy(b);
	pal_palisade__destroy(a);
	free_logs(la);
	free_logs(lb);
	free_logs(lg);
	return worst < VERIFIER_LIMIT / 2 ? 0 : 1;
}
