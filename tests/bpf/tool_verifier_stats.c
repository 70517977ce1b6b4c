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
#define VERBOSE_LOG_SZ ((size_t)1 << 29) /* 6.1 takes at most 2^30 - 1 */
#define VERIFIER_LIMIT 1000000L

/* libbpf's warnings only: they name what failed before the verifier ran (a map, BTF, a kfunc) */
static int warnings_only(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

static int report(struct bpf_object *obj, char **logs, int *worst)
{
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		const char *s = strstr(logs[i], "processed ");
		const char *st = strstr(logs[i], "stack depth ");
		long insns = s ? strtol(s + 10, NULL, 10) : -1;
		int st_len = st ? (int)strcspn(st + 12, "\n") : 1;

		bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
		/* the stack: the program's frame, then each subprogram's ("+"); the kernel refuses
		 * a call chain whose frames (rounded up) exceed 512 bytes */
		printf("%-24s %10ld %9.1f%% %10u  %.*s\n", bpf_program__name(p), insns,
		       100.0 * (double)insns / VERIFIER_LIMIT, info.xlated_prog_len / 8, st_len,
		       st ? st + 12 : "?");
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

	const char *verbose = getenv("PAL_VERIFIER_LOG");

	bpf_object__for_each_program(p, obj) {
		/* PAL_VERIFIER_LOG=PROGRAM: that program's whole log (level 1), for a load that
		 * fails; the kernel refuses a load whose log does not fit, hence the size */
		int whole = verbose && !strcmp(verbose, bpf_program__name(p));
		size_t sz = whole ? VERBOSE_LOG_SZ : LOG_SZ;

		logs[i] = calloc(1, sz);
		bpf_program__set_log_buf(p, logs[i], sz);
		bpf_program__set_log_level(p, whole ? 1 | 4 : 4); /* 4: BPF_LOG_STATS */
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

/* The last 200 lines of a verifier log: where it failed, not the whole walk. */
static const char *log_tail(const char *log)
{
	const char *p = log + strlen(log);
	int lines = 0;

	while (p > log && lines <= 200)
		if (*--p == '\n')
			lines++;
	return p == log ? p : p + 1;
}

/* PAL_VERIFIER_LOG's whole log, to PAL_VERIFIER_LOG_DIR/verifier-PROGRAM.log (default: the
 * working directory). */
static void save_verbose_log(struct bpf_object *obj, char **logs)
{
	const char *verbose = getenv("PAL_VERIFIER_LOG");
	struct bpf_program *p;
	char path[256];
	FILE *f;
	int i = 0;

	bpf_object__for_each_program(p, obj) {
		if (verbose && !strcmp(verbose, bpf_program__name(p)) && logs[i][0]) {
			snprintf(path, sizeof(path), "%s/verifier-%s.log",
				 getenv("PAL_VERIFIER_LOG_DIR") ?: ".", verbose);
			f = fopen(path, "w");
			if (f) {
				fputs(logs[i], f);
				fclose(f);
				fprintf(stderr, "the whole log: %s\n", path);
			}
		}
		i++;
	}
}

/* After a skeleton's load (its return value err): the verifier's logs on failure, else a row per
 * program. Returns non-zero when the load failed. */
static int loaded(int err, struct bpf_object *obj, char **logs, int *worst)
{
	if (err) {
		struct bpf_program *p;
		int i = 0;

		bpf_object__for_each_program(p, obj) {
			if (logs[i][0])
				fprintf(stderr, "---- %s\n%s\n", bpf_program__name(p),
					log_tail(logs[i]));
			i++;
		}
		save_verbose_log(obj, logs);
		fprintf(stderr, "load failed: %s\n", strerror(-err));
		return 1;
	}
	report(obj, logs, worst);
	return 0;
}

/* In main: opens the skeleton `type` into var, runs tune (its rodata, before the load), loads it
 * with the verifier's logs in logs and reports it; returns 2 when it cannot open, 1 when the load
 * fails. */
#define LOAD_SKEL(var, type, logs, tune)                                                         \
	do {                                                                                     \
		var = type##__open();                                                            \
		if (!var)                                                                        \
			return 2;                                                                \
		tune;                                                                            \
		logs = alloc_logs(var->obj);                                                     \
		if (loaded(type##__load(var), var->obj, logs, &worst))                           \
			return 1;                                                                \
	} while (0)

int main(void)
{
	struct pal_palisade *a;
	struct pal_sf_out *b;
	struct pal_wl_guard *g;
	char **la, **lb, **lg;
	int worst = 0;

	libbpf_set_print(warnings_only);
	printf("%-24s %10s %10s %10s  %s\n", "program", "verified", "of limit", "xlated", "stack (program+subprograms)");
	/* the loader sets it from the kernel's BTF; any size the kernel takes verifies the same.
	 * Some kernels refuse bpf_xdp_adjust_meta (docs/datapath.md); without it XDP verifies a few
	 * instructions fewer, nothing else changes */
	LOAD_SKEL(a, pal_palisade, la,
		  (a->rodata->pal_ct_opts_size = 16, a->rodata->pal_xdp_meta_ok = 0));
	/* non-zero: the whole program is verified */
	LOAD_SKEL(b, pal_sf_out, lb, b->rodata->pal_out_ifindex = 1);
	LOAD_SKEL(g, pal_wl_guard, lg, (void)0);
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
