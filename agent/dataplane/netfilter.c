/* palisade's netfilter chains (netfilter.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "netfilter.h"

#define CH_RAW_PRE "PALISADE-RAW-PRE"
#define CH_RAW_OUT "PALISADE-RAW-OUT"
#define CH_UNTRACK "PALISADE-UNTRACK"
#define CH_INPUT "PALISADE-INPUT"

struct sbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static __attribute__((format(printf, 2, 3))) void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

int pal_nf_render(struct pal_datapath *dp, int family, const struct pal_nf_hep *heps, size_t n,
		  char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .cap = len };
	char path[PATH_MAX];

	(void)family; /* same rules for both families; the programs parse either */
	sb_printf(&b, "*raw\n:%s - [0:0]\n:%s - [0:0]\n:%s - [0:0]\n", CH_RAW_PRE, CH_RAW_OUT,
		  CH_UNTRACK);
	sb_printf(&b, "-A %s -m mark --mark %#x/%#x -j CT --notrack\n", CH_RAW_PRE,
		  PAL_MARK_UNTRACKED, PAL_MARK_UNTRACKED);
	sb_printf(&b, "-A %s -j MARK --or-mark %#x\n-A %s -j CT --notrack\n", CH_UNTRACK,
		  PAL_MARK_UNTRACKED, CH_UNTRACK);
	for (size_t i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "sf_out_deny_%u", heps[i].ifindex);
		pal_dp_prog_pin_path(dp, name, path, sizeof(path));
		sb_printf(&b, "-A %s -o %s -m bpf --object-pinned %s -j DROP\n", CH_RAW_OUT,
			  heps[i].ifname, path);
		snprintf(name, sizeof(name), "sf_out_failsafe_%u", heps[i].ifindex);
		pal_dp_prog_pin_path(dp, name, path, sizeof(path));
		sb_printf(&b, "-A %s -o %s -m bpf --object-pinned %s -j MARK --or-mark %#x\n",
			  CH_RAW_OUT, heps[i].ifname, path, PAL_MARK_FAILSAFE);
		snprintf(name, sizeof(name), "sf_out_allow_%u", heps[i].ifindex);
		pal_dp_prog_pin_path(dp, name, path, sizeof(path));
		sb_printf(&b, "-A %s -o %s -m bpf --object-pinned %s -j %s\n", CH_RAW_OUT,
			  heps[i].ifname, path, CH_UNTRACK);
	}
	sb_printf(&b, "COMMIT\n*filter\n:%s - [0:0]\n", CH_INPUT);
	pal_dp_prog_pin_path(dp, "sf_input_deny", path, sizeof(path));
	sb_printf(&b, "-A %s -m bpf --object-pinned %s -j DROP\nCOMMIT\n", CH_INPUT, path);
	return b.overflow ? -ENOSPC : (int)b.len;
}

/* Runs argv with stdin from `input` (may be NULL); 0 when it exited 0. Output discarded unless
 * PALISADE_NF_DEBUG is set. */
static int run(char *const argv[], const char *input)
{
	int in[2] = { -1, -1 }, status;
	pid_t pid;

	if (input && pipe(in))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		if (input) {
			close(in[0]);
			close(in[1]);
		}
		return e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (input) {
			dup2(in[0], 0);
			close(in[0]);
			close(in[1]);
		} else if (null >= 0) {
			dup2(null, 0);
		}
		if (null >= 0 && !getenv("PALISADE_NF_DEBUG")) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (input) {
		size_t left = strlen(input);
		const char *p = input;

		close(in[0]);
		while (left) {
			ssize_t w = write(in[1], p, left);

			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
		close(in[1]);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* One jump from a built-in chain to ours, inserted first, unless it is there. */
static int ensure_jump(const char *bin, const char *table, const char *from, const char *to)
{
	char *check[] = { (char *)bin, "-w", "-t", (char *)table, "-C", (char *)from, "-j",
			  (char *)to, NULL };
	char *ins[] = { (char *)bin, "-w", "-t", (char *)table, "-I", (char *)from, "1", "-j",
			(char *)to, NULL };

	if (run(check, NULL) == 0)
		return 0;
	return run(ins, NULL);
}

int pal_nf_install(struct pal_datapath *dp, const struct pal_nf_hep *heps, size_t n)
{
	static const char *const restore[2] = { "iptables-restore", "ip6tables-restore" };
	static const char *const bin[2] = { "iptables", "ip6tables" };
	size_t cap = 4096 + n * 3 * (PATH_MAX + 128);
	char *buf = malloc(cap);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (int f = 0; f < 2 && !err; f++) {
		char *argv[] = { (char *)restore[f], "-w", "--noflush", NULL };
		int len = pal_nf_render(dp, f ? 6 : 4, heps, n, buf, cap);

		if (len < 0) {
			err = len;
			break;
		}
		err = run(argv, buf);
		if (err) {
			pal_dp_set_error(dp, "%s failed installing palisade's chains", restore[f]);
			break;
		}
		err = ensure_jump(bin[f], "raw", "PREROUTING", CH_RAW_PRE);
		if (!err)
			err = ensure_jump(bin[f], "raw", "OUTPUT", CH_RAW_OUT);
		if (!err)
			err = ensure_jump(bin[f], "filter", "INPUT", CH_INPUT);
		if (err)
			pal_dp_set_error(dp, "%s: cannot add the jumps to palisade's chains", bin[f]);
	}
	free(buf);
	return err;
}

int pal_nf_remove(void)
{
	static const char *const bin[2] = { "iptables", "ip6tables" };
	static const struct {
		const char *table, *from, *chain;
	} jumps[] = {
		{ "raw", "PREROUTING", CH_RAW_PRE },
		{ "raw", "OUTPUT", CH_RAW_OUT },
		{ "filter", "INPUT", CH_INPUT },
		{ "raw", NULL, CH_UNTRACK },
	};

	for (int f = 0; f < 2; f++) {
		for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
			char *del[] = { (char *)bin[f], "-w", "-t", (char *)jumps[j].table, "-D",
					(char *)jumps[j].from, "-j", (char *)jumps[j].chain, NULL };
			char *flush[] = { (char *)bin[f], "-w", "-t", (char *)jumps[j].table, "-F",
					  (char *)jumps[j].chain, NULL };

			/* a jump inserted twice (by hand) is removed too */
			for (int k = 0; jumps[j].from && k < 8 && run(del, NULL) == 0; k++)
				;
			run(flush, NULL);
		}
		for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
			char *xdel[] = { (char *)bin[f], "-w", "-t", (char *)jumps[j].table, "-X",
					 (char *)jumps[j].chain, NULL };

			run(xdel, NULL);
		}
	}
	return 0;
}
