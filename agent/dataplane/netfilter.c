/* palisade's netfilter chains (netfilter.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "netfilter.h"
#include "netfilter_internal.h"

#define CH_RAW_PRE "PALISADE-RAW-PRE"
#define CH_RAW_OUT "PALISADE-RAW-OUT"
#define CH_UNTRACK "PALISADE-UNTRACK"
#define CH_INPUT "PALISADE-INPUT"

static enum pal_nf_variant nf_variant = PAL_NF_PATH;
/* The raw PREROUTING jump is wanted (pal_nf_install: a host endpoint has untracked ingress). */
static bool nf_pre_wanted = true;

void pal_nf_use(enum pal_nf_variant v)
{
	nf_variant = v;
}

enum pal_nf_variant pal_nf_in_use(void)
{
	return nf_variant;
}

/* "iptables", "ip6tables-legacy-restore", ... for family f (0: IPv4, 1: IPv6) and suffix ("" or
 * "-restore") in the variant in use. Four static slots: callers hold at most two at once. */
static const char *nf_bin(int f, const char *suffix)
{
	static char names[4][48];
	static unsigned next;
	char *b = names[next++ % 4];

	snprintf(b, sizeof(names[0]), "%s%s%s%s", f ? "ip6tables" : "iptables",
		 nf_variant == PAL_NF_PATH ? "" : "-", nf_variant == PAL_NF_PATH ? "" :
		 pal_nf_variant_name(nf_variant), suffix);
	return b;
}

int pal_nf_render(struct pal_datapath *dp, int family, const struct pal_nf_hep *heps, size_t n,
		  struct pal_strbuf *b)
{
	char path[PATH_MAX];

	(void)family; /* same rules for both families; the programs parse either */
	pal_strbuf_printf(b, "*raw\n:%s - [0:0]\n:%s - [0:0]\n:%s - [0:0]\n", CH_RAW_PRE, CH_RAW_OUT,
		  CH_UNTRACK);
	/* Every locally generated packet, first: palisade's bits are not the sender's to set
	 * (SO_MARK). tc egress believes what the rules below set. */
	pal_strbuf_printf(b, "-A %s -j MARK --and-mark %#x\n", CH_RAW_OUT, ~PAL_MARK_MASK);
	pal_strbuf_printf(b, "-A %s -m mark --mark %#x/%#x -j CT --notrack\n", CH_RAW_PRE,
		  PAL_MARK_UNTRACKED, PAL_MARK_UNTRACKED);
	pal_strbuf_printf(b, "-A %s -j MARK --or-mark %#x\n-A %s -j CT --notrack\n", CH_UNTRACK,
		  PAL_MARK_UNTRACKED, CH_UNTRACK);
	for (size_t i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "sf_out_deny_%u", heps[i].ifindex);
		pal_dp_prog_pin_path(dp, name, path, sizeof(path));
		pal_strbuf_printf(b, "-A %s -o %s -m bpf --object-pinned %s -j DROP\n", CH_RAW_OUT,
			  heps[i].ifname, path);
		snprintf(name, sizeof(name), "sf_out_failsafe_%u", heps[i].ifindex);
		pal_dp_prog_pin_path(dp, name, path, sizeof(path));
		pal_strbuf_printf(b, "-A %s -o %s -m bpf --object-pinned %s -j MARK --or-mark %#x\n",
			  CH_RAW_OUT, heps[i].ifname, path, PAL_MARK_FAILSAFE);
		snprintf(name, sizeof(name), "sf_out_allow_%u", heps[i].ifindex);
		pal_dp_prog_pin_path(dp, name, path, sizeof(path));
		pal_strbuf_printf(b, "-A %s -o %s -m bpf --object-pinned %s -j %s\n", CH_RAW_OUT,
			  heps[i].ifname, path, CH_UNTRACK);
	}
	pal_strbuf_printf(b, "COMMIT\n*filter\n:%s - [0:0]\n", CH_INPUT);
	pal_dp_prog_pin_path(dp, "sf_input_deny", path, sizeof(path));
	pal_strbuf_printf(b, "-A %s -m bpf --object-pinned %s -j DROP\nCOMMIT\n", CH_INPUT, path);
	return b->oom ? -ENOMEM : 0;
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

/* Runs argv and reads its standard output into buf (NUL-terminated, truncated to len - 1);
 * 0 when it exited 0. */
static int run_output(char *const argv[], char *buf, size_t len)
{
	int out[2], status;
	size_t n = 0;
	pid_t pid;

	if (pipe(out))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(out[0]);
		close(out[1]);
		return e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		if (null >= 0) {
			dup2(null, 0);
			if (!getenv("PALISADE_NF_DEBUG"))
				dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	for (;;) {
		ssize_t r = read(out[0], buf + n, n + 1 < len ? len - 1 - n : 0);

		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && n + 1 >= len) { /* full: drain the rest */
			char sink[512];

			while (read(out[0], sink, sizeof(sink)) > 0)
				;
		}
		break;
	}
	buf[len ? (n < len ? n : len - 1) : 0] = 0;
	close(out[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The 1-based positions of the plain jump "-A from -j to" among the rules of built-in chain
 * `from`, up to max of them, into pos; returns how many (or -errno). */
static int jump_positions(const char *bin, const char *table, const char *from, const char *to,
			  int *pos, int max)
{
	char *list[] = { (char *)bin, "-w", "-t", (char *)table, "-S", (char *)from, NULL };
	char want[128], prefix[64];
	static char out[65536];
	const char *line, *nl;
	int err, rule = 0, n = 0;

	snprintf(want, sizeof(want), "-A %s -j %s", from, to);
	snprintf(prefix, sizeof(prefix), "-A %s ", from);
	err = run_output(list, out, sizeof(out));
	if (err)
		return err;
	/* `-S CHAIN` prints "-P CHAIN POLICY" first, then one "-A CHAIN ..." line per rule */
	for (line = out; *line; line = nl + 1) {
		size_t len;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		len = (size_t)(nl - line);
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		rule++;
		if (len == strlen(want) && strncmp(line, want, len) == 0 && n < max)
			pos[n++] = rule;
	}
	return n;
}

/* One `<bin>-restore --noflush` transaction on table: deletes `copies` copies of the plain jump
 * "-j to" from built-in chain `from` BY RULE TEXT (a delete matches only a rule that is exactly
 * that jump, never another tool's rule, wherever the rules moved since they were listed), then,
 * when `insert_first`, inserts the jump at 1. One transaction, so no moment without the jump
 * (iptables-nft: one batch checked against the ruleset's generation; iptables-legacy: one table
 * replace under the xtables lock). It fails whole, changing nothing, when fewer copies are left
 * than it deletes (someone removed one since the listing). Returns 0 or -errno. */
static int rewrite_jumps(const char *bin, const char *table, const char *from, const char *to,
			 int copies, bool insert_first)
{
	char restore[64];
	char *argv[] = { restore, "-w", "--noflush", NULL };
	struct pal_strbuf tx = { 0 };
	int err;

	snprintf(restore, sizeof(restore), "%s-restore", bin);
	pal_strbuf_printf(&tx, "*%s\n", table);
	for (int i = 0; i < copies; i++)
		pal_strbuf_printf(&tx, "-D %s -j %s\n", from, to);
	if (insert_first)
		pal_strbuf_printf(&tx, "-I %s 1 -j %s\n", from, to);
	pal_strbuf_printf(&tx, "COMMIT\n");
	err = tx.oom ? -ENOMEM : run(argv, tx.p);
	pal_strbuf_free(&tx);
	return err;
}

/* The listing and the transaction are two commands: when the transaction fails because the
 * copies changed in between, list again, this many times. */
#define JUMP_REWRITE_TRIES 4

/* Whether bin (iptables, ip6tables-nft, ...) is the nf_tables variant: its rules are nftables
 * rules, which iptables-nft lists lossily (below). */
static bool nf_bin_is_nft(const char *bin)
{
	static int path_is_nft[2] = { -1, -1 }; /* the PATH's iptables, ip6tables: asked once */
	char *ver[] = { (char *)bin, "--version", NULL };
	int *known = &path_is_nft[strncmp(bin, "ip6", 3) == 0];
	char out[128];

	if (nf_variant != PAL_NF_PATH)
		return nf_variant == PAL_NF_NFT;
	if (*known < 0 && run_output(ver, out, sizeof(out)) == 0)
		*known = strstr(out, "nf_tables") != NULL;
	return *known == 1;
}

/* iptables-nft lists a native nftables rule lossily: `ip saddr 198.18.0.0/15 ip saddr 0.0.0.0/0
 * jump X` (the last saddr wins, a /0 prints nothing) lists as "-A CHAIN -j X" yet jumps for
 * 198.18.0.0/15 only. So the rule it lists first as the plain jump is checked with nft itself:
 * 1 when it is exactly the jump (a counter aside), 0 when it is more, -errno when nft cannot
 * tell (not installed: the listing's word is taken). */
static int nft_first_rule_is_plain_jump(const char *bin, const char *table, const char *from,
					const char *to)
{
	char *list[] = { "nft", "list", "chain", strncmp(bin, "ip6", 3) ? "ip" : "ip6",
			 (char *)table, (char *)from, NULL };
	static char out[4096];
	char want[96];
	const char *line, *rule = NULL;
	long long pk, by;
	int used = 0, err = run_output(list, out, sizeof(out));

	if (err)
		return err;
	for (line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		line += strspn(line, " \t");
		if (!strncmp(line, "type ", 5)) {
			rule = strchr(line, '\n');
			break;
		}
	}
	if (!rule)
		return -EIO;
	rule += 1 + strspn(rule + 1, " \t");
	snprintf(want, sizeof(want), "jump %s\n", to);
	if (sscanf(rule, "counter packets %lld bytes %lld %n", &pk, &by, &used) == 2 && used > 0)
		rule += used;
	return strncmp(rule, want, strlen(want)) == 0;
}

/* One jump from a built-in chain to ours, and it is the chain's first rule and only copy: a rule
 * inserted above it (an ACCEPT) would decide before palisade sees the packet. Otherwise every copy
 * is deleted and the jump inserted at 1 in one transaction (rewrite_jumps). Returns 1 when it had
 * to repair, 0 when all was in place, -errno. */
static int ensure_jump_first(const char *bin, const char *table, const char *from,
			     const char *to)
{
	int pos[16], err = 0;

	for (int try = 0; try < JUMP_REWRITE_TRIES; try++) {
		int n = jump_positions(bin, table, from, to, pos, 16);

		if (n < 0)
			return n;
		if (n == 1 && pos[0] == 1 &&
		    (!nf_bin_is_nft(bin) ||
		     nft_first_rule_is_plain_jump(bin, table, from, to) != 0))
			return try ? 1 : 0;
		if (!(err = rewrite_jumps(bin, table, from, to, n, true)))
			return 1;
	}
	return err;
}

/* No jump from built-in chain `from` to `to` (every copy deleted by rule text); then, when
 * `from` is left with no rule and policy ACCEPT, the built-in chain itself is deleted: iptables-nft
 * creates built-in chains on first use and unregisters the hook with the chain (iptables-legacy
 * refuses, which is fine: its tables hook everything anyway). Returns 0 or -errno. */
static int ensure_no_jump(const char *bin, const char *table, const char *from, const char *to)
{
	char *list[] = { (char *)bin, "-w", "-t", (char *)table, "-S", (char *)from, NULL };
	char *xdel[] = { (char *)bin, "-w", "-t", (char *)table, "-X", (char *)from, NULL };
	char want[64], out[128];
	int pos[16], n = 0, err = 0;

	for (int try = 0; try < JUMP_REWRITE_TRIES; try++) {
		n = jump_positions(bin, table, from, to, pos, 16);
		if (n <= 0 || !(err = rewrite_jumps(bin, table, from, to, n, false)))
			break;
	}
	if (n < 0 || err)
		return n < 0 ? n : err;
	snprintf(want, sizeof(want), "-P %s ACCEPT\n", from);
	if (run_output(list, out, sizeof(out)) == 0 && strcmp(out, want) == 0)
		run(xdel, NULL); /* a rule or a policy added meanwhile: the kernel refuses, kept */
	return 0;
}

/* The jumps palisade keeps first in the built-in chains (`optional`: only while nf_pre_wanted). */
static const struct pal_nf_chain_ref nf_jumps[] = {
	{ "raw", "PREROUTING", CH_RAW_PRE, .optional = true },
	{ "raw", "OUTPUT", CH_RAW_OUT },
	{ "filter", "INPUT", CH_INPUT },
};

int pal_nf_check_jump_list(const struct pal_nf_chain_ref *jumps, size_t n, bool optional_wanted,
			   char *err, size_t errlen)
{
	int repaired = 0, first_err = 0;

	for (int f = 0; f < 2; f++) {
		for (size_t j = 0; j < n; j++) {
			const struct pal_nf_chain_ref *jp = &jumps[j];
			const char *bin = nf_bin(f, "");
			bool unwanted = jp->optional && !optional_wanted;
			int rc = unwanted ? ensure_no_jump(bin, jp->table, jp->from, jp->chain) :
					    ensure_jump_first(bin, jp->table, jp->from, jp->chain);

			if (rc < 0) { /* the other chains are checked all the same */
				if (!first_err && err && errlen)
					snprintf(err, errlen, "%s -t %s: cannot %s the jump to %s %s %s",
						 bin, jp->table, unwanted ? "remove" : "put", jp->chain,
						 unwanted ? "from" : "first in", jp->from);
				if (!first_err)
					first_err = rc;
				continue;
			}
			repaired += rc;
		}
	}
	return first_err ? first_err : repaired;
}

int pal_nf_check_jumps(char *err, size_t errlen)
{
	return pal_nf_check_jump_list(nf_jumps, sizeof(nf_jumps) / sizeof(nf_jumps[0]),
				      nf_pre_wanted, err, errlen);
}

int pal_nf_want_prerouting(char *err, size_t errlen)
{
	if (nf_pre_wanted) /* in place, or put back by every check while wanted */
		return 0;
	nf_pre_wanted = true;
	for (int f = 0; f < 2; f++) {
		const char *bin = nf_bin(f, "");
		int rc = ensure_jump_first(bin, "raw", "PREROUTING", CH_RAW_PRE);

		if (rc < 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s -t raw: cannot put the jump to %s first in "
					 "PREROUTING", bin, CH_RAW_PRE);
			return rc;
		}
	}
	return 0;
}

int pal_nf_install(struct pal_datapath *dp, const struct pal_nf_hep *heps, size_t n)
{
	int err = 0;

	nf_pre_wanted = false;
	for (size_t i = 0; i < n; i++)
		nf_pre_wanted |= heps[i].untracked_in;

	for (int f = 0; f < 2 && !err; f++) {
		const char *restore = nf_bin(f, "-restore");
		char *argv[] = { (char *)restore, "-w", "--noflush", NULL };
		struct pal_strbuf rules = { 0 };

		err = pal_nf_render(dp, f ? 6 : 4, heps, n, &rules);
		if (!err && (err = run(argv, rules.p)))
			pal_dp_set_error(dp, "%s failed installing palisade's chains", restore);
		pal_strbuf_free(&rules);
	}
	if (!err) {
		char msg[160];
		int rc = pal_nf_check_jumps(msg, sizeof(msg));

		if (rc < 0) {
			pal_dp_set_error(dp, "%s", msg);
			err = rc;
		}
	}
	return err;
}

void pal_nf_remove_chains(const struct pal_nf_chain_ref *jumps, size_t n)
{
	const char *bin[2] = { nf_bin(0, ""), nf_bin(1, "") };

	for (int f = 0; f < 2; f++) {
		for (size_t j = 0; j < n; j++) {
			char *del[] = { (char *)bin[f], "-w", "-t", (char *)jumps[j].table, "-D",
					(char *)jumps[j].from, "-j", (char *)jumps[j].chain, NULL };
			char *flush[] = { (char *)bin[f], "-w", "-t", (char *)jumps[j].table, "-F",
					  (char *)jumps[j].chain, NULL };

			/* a jump inserted twice (by hand) is removed too */
			for (int k = 0; jumps[j].from && k < 8 && run(del, NULL) == 0; k++)
				;
			run(flush, NULL);
		}
		for (size_t j = 0; j < n; j++) {
			char *xdel[] = { (char *)bin[f], "-w", "-t", (char *)jumps[j].table, "-X",
					 (char *)jumps[j].chain, NULL };

			run(xdel, NULL);
		}
	}
}

int pal_nf_remove(void)
{
	static const struct pal_nf_chain_ref jumps[] = {
		{ "raw", "PREROUTING", CH_RAW_PRE },
		{ "raw", "OUTPUT", CH_RAW_OUT },
		{ "filter", "INPUT", CH_INPUT },
		{ "raw", NULL, CH_UNTRACK },
		{ "mangle", "PREROUTING", PAL_NF_CH_WL_PRE },
		{ "mangle", "POSTROUTING", PAL_NF_CH_WL_POST },
	};

	pal_nf_remove_chains(jumps, sizeof(jumps) / sizeof(jumps[0]));
	return 0;
}

/* Removing from the other variants (netfilter_variant.c takes their census): here, beside
 * pal_nf_remove, so the variant detection never calls back into this file. */
void pal_nf_remove_except(enum pal_nf_variant keep)
{
	static const enum pal_nf_variant both[] = { PAL_NF_LEGACY, PAL_NF_NFT };
	enum pal_nf_variant was = pal_nf_in_use();
	bool any_usable = false;

	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		struct pal_nf_census c;

		if (both[i] == keep || pal_nf_census_take(both[i], &c) != 0)
			continue;
		any_usable = true;
		/* a variant without palisade's chains is left alone: even a look with
		 * iptables-legacy would create its tables */
		if (c.palisade_chains == 0)
			continue;
		pal_nf_use(both[i]);
		pal_nf_remove();
	}
	if (keep == PAL_NF_PATH && !any_usable) { /* no -legacy/-nft commands: the PATH's */
		pal_nf_use(PAL_NF_PATH);
		pal_nf_remove();
	}
	pal_nf_use(was);
}

void pal_nf_remove_everywhere(void)
{
	pal_nf_remove_except(PAL_NF_PATH);
}

/* For netfilter_guard.c (netfilter_internal.h). */
int pal_nf_run(char *const argv[], const char *input)
{
	return run(argv, input);
}

const char *pal_nf_bin(int family, const char *suffix)
{
	return nf_bin(family, suffix);
}
