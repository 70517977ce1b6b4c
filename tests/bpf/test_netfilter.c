/* palisade's netfilter chains in the test's network namespace: installed with the pinned xt_bpf
 * programs, idempotent, and removed without touching rules that are not palisade's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bpft.h"
#include "netfilter.h"

static struct bpft T;

static void setup(void)
{
	bt_setup(&T);
}

/* The racing wrapper's directory (racing_iptables), removed even when a test fails midway. */
static char race_dir[64];

static void teardown(void)
{
	char cmd[96];

	if (race_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", race_dir);
		system(cmd);
	}
	pal_nf_remove();
	bt_teardown(&T);
}

TestSuite(bpf_netfilter, .init = setup, .fini = teardown);

/* The output of a shell command, into buf. */
static void capture(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	pclose(f);
}

/* eth0 as a host endpoint (with an untracked ingress list or not): its raw OUTPUT filter
 * loaded and palisade's chains installed. */
static struct pal_nf_hep install_eth0(bool untracked_in)
{
	struct pal_nf_hep hep = { .ifname = "eth0", .ifindex = (unsigned)T.ifindex[BT_ETH0],
				  .untracked_in = untracked_in };

	cr_assert_eq(pal_dp_load_sf_out(T.dp, hep.ifindex, NULL, NULL, NULL), 0);
	cr_assert_eq(pal_nf_install(T.dp, &hep, 1), 0, "%s", pal_dp_error(T.dp));
	return hep;
}

Test(bpf_netfilter, install_and_remove)
{
	struct pal_nf_hep hep = { .ifname = "eth0", .ifindex = (unsigned)T.ifindex[BT_ETH0],
				  .untracked_in = true };
	static char out[16384];

	cr_assert_eq(system("iptables -w -A INPUT -p tcp --dport 1 -j ACCEPT"), 0);
	cr_assert_eq(system("ip6tables -w -t raw -A OUTPUT -p udp --dport 2 -j ACCEPT"), 0);
	cr_assert_eq(pal_dp_load_sf_out(T.dp, hep.ifindex, NULL, NULL, NULL), 0);
	cr_assert_eq(pal_nf_install(T.dp, &hep, 1), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_nf_install(T.dp, &hep, 1), 0, "second install: %s", pal_dp_error(T.dp));

	capture("iptables -w -t raw -S 2>&1", out, sizeof(out));
	cr_assert(strstr(out, "-A PREROUTING -j PALISADE-RAW-PRE"), "%s", out);
	cr_assert(strstr(out, "-A OUTPUT -j PALISADE-RAW-OUT"), "%s", out);
	cr_assert(strstr(out, "--notrack"), "%s", out);
	cr_assert(strstr(out, "sf_out_deny_"), "%s", out);
	cr_assert(strstr(out, "sf_out_allow_"), "%s", out);
	/* installed twice: one jump */
	cr_assert_null(strstr(strstr(out, "-A PREROUTING -j PALISADE-RAW-PRE") + 1,
			      "-A PREROUTING -j PALISADE-RAW-PRE"), "%s", out);
	capture("ip6tables -w -S INPUT 2>&1", out, sizeof(out));
	cr_assert(strstr(out, "-A INPUT -j PALISADE-INPUT"), "%s", out);

	cr_assert_eq(pal_nf_remove(), 0);
	capture("iptables -w -t raw -S 2>&1; iptables -w -S 2>&1; ip6tables -w -t raw -S 2>&1", out,
		sizeof(out));
	cr_assert_null(strstr(out, "PALISADE"), "%s", out);
	cr_assert(strstr(out, "-A INPUT -p tcp -m tcp --dport 1 -j ACCEPT"), "%s", out);
	cr_assert(strstr(out, "-A OUTPUT -p udp -m udp --dport 2 -j ACCEPT"), "%s", out);
}

/* The first "-A CHAIN" line of `cmd`'s output (iptables -S CHAIN) is `want`. */
static void assert_first_rule(const char *cmd, const char *want)
{
	static char out[16384];
	char *a, *nl;

	capture(cmd, out, sizeof(out));
	a = strstr(out, "\n-A ");
	cr_assert_not_null(a, "%s: no rule: %s", cmd, out);
	a++;
	nl = strchr(a, '\n');
	if (nl)
		*nl = 0;
	cr_assert_str_eq(a, want, "%s: first rule", cmd);
}

/* `cmd`'s output (iptables -S CHAIN) holds `rule` exactly once; the output into out. */
static void assert_one_copy(const char *cmd, const char *rule, char *out, size_t len)
{
	const char *at;

	capture(cmd, out, len);
	at = strstr(out, rule);
	cr_assert_not_null(at, "%s: no '%s': %s", cmd, rule, out);
	cr_assert_null(strstr(at + 1, rule), "%s: more than one '%s': %s", cmd, rule, out);
}

/* An ACCEPT inserted above palisade's jumps would decide before palisade sees the packet: the
 * check puts each jump back in first place (without removing the other rule) and leaves one
 * copy; with everything in place it changes nothing. */
Test(bpf_netfilter, jumps_are_put_back_first)
{
	static char out[16384];
	char err[160];

	install_eth0(true);
	cr_assert_eq(pal_nf_check_jumps(err, sizeof(err)), 0, "in place after install: %s", err);

	cr_assert_eq(system("iptables -w -t raw -I OUTPUT 1 -j ACCEPT"), 0);
	cr_assert_eq(system("iptables -w -I INPUT 1 -p tcp -j ACCEPT"), 0);
	cr_assert_eq(system("ip6tables -w -t raw -I PREROUTING 1 -j ACCEPT"), 0);
	cr_assert_eq(system("iptables -w -t raw -A OUTPUT -j PALISADE-RAW-OUT"), 0); /* a copy */
	cr_assert_eq(pal_nf_check_jumps(err, sizeof(err)), 3, "%s", err);

	assert_first_rule("iptables -w -t raw -S OUTPUT", "-A OUTPUT -j PALISADE-RAW-OUT");
	assert_first_rule("iptables -w -S INPUT", "-A INPUT -j PALISADE-INPUT");
	assert_first_rule("ip6tables -w -t raw -S PREROUTING", "-A PREROUTING -j PALISADE-RAW-PRE");
	assert_one_copy("iptables -w -t raw -S OUTPUT", "-A OUTPUT -j PALISADE-RAW-OUT", out,
			sizeof(out));
	cr_assert(strstr(out, "-A OUTPUT -j ACCEPT"), "the other rule stays: %s", out);
	cr_assert_eq(pal_nf_check_jumps(err, sizeof(err)), 0, "%s", err);
	system("iptables -w -t raw -D OUTPUT -j ACCEPT; iptables -w -D INPUT -p tcp -j ACCEPT; "
	       "ip6tables -w -t raw -D PREROUTING -j ACCEPT");
}

/* A sender's SO_MARK must not reach the raw OUTPUT filters or tc egress with palisade's bits:
 * the first rule of palisade's raw OUTPUT chain clears them, for every packet, both families. */
Test(bpf_netfilter, raw_output_clears_palisade_mark_bits_first)
{
	char want[128];

	install_eth0(false);
	/* iptables prints --and-mark M as --set-xmark 0x0/~M */
	snprintf(want, sizeof(want), "-A PALISADE-RAW-OUT -j MARK --set-xmark 0x0/%#x", PAL_MARK_MASK);
	assert_first_rule("iptables -w -t raw -S PALISADE-RAW-OUT", want);
	assert_first_rule("ip6tables -w -t raw -S PALISADE-RAW-OUT", want);
}

/* raw PREROUTING's jump only while a host endpoint has untracked ingress rules (nothing else can
 * mark a packet for its notrack rule): without one the jump goes, with its built-in chain when
 * that is left empty and accepting (iptables-nft unregisters the hook with it), and the periodic
 * check does not put it back; another tool's rule there keeps the chain. */
Test(bpf_netfilter, raw_prerouting_jump_only_with_untracked_ingress)
{
	struct pal_nf_hep hep = install_eth0(true);
	static char out[16384];
	char err[160];

	capture("iptables -w -t raw -S PREROUTING 2>&1; ip6tables -w -t raw -S PREROUTING 2>&1", out,
		sizeof(out));
	cr_assert(strstr(out, "-A PREROUTING -j PALISADE-RAW-PRE"), "%s", out);

	hep.untracked_in = false;
	cr_assert_eq(pal_nf_install(T.dp, &hep, 1), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_nf_check_jumps(err, sizeof(err)), 0, "%s", err);
	capture("iptables -w -t raw -S 2>&1; ip6tables -w -t raw -S 2>&1", out, sizeof(out));
	cr_assert_null(strstr(out, "-j PALISADE-RAW-PRE"), "%s", out);
	cr_assert(strstr(out, "-A OUTPUT -j PALISADE-RAW-OUT"), "raw OUTPUT keeps its jump: %s", out);
	if (system("iptables -V | grep -q nf_tables") == 0) /* the hook itself is gone */
		cr_assert_neq(system("nft list chain ip raw PREROUTING >/dev/null 2>&1"), 0,
			      "an empty raw PREROUTING base chain is left");

	/* another tool's rule there: palisade's jump goes, the rule and its chain stay */
	hep.untracked_in = true;
	cr_assert_eq(pal_nf_install(T.dp, &hep, 1), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(system("iptables -w -t raw -A PREROUTING -p udp --dport 3 -j ACCEPT"), 0);
	hep.untracked_in = false;
	cr_assert_eq(pal_nf_install(T.dp, &hep, 1), 0, "%s", pal_dp_error(T.dp));
	capture("iptables -w -t raw -S PREROUTING 2>&1", out, sizeof(out));
	cr_assert_null(strstr(out, "PALISADE-RAW-PRE"), "%s", out);
	cr_assert(strstr(out, "-A PREROUTING -p udp -m udp --dport 3 -j ACCEPT"), "%s", out);
	system("iptables -w -t raw -D PREROUTING -p udp --dport 3 -j ACCEPT");
}

/* ---- another tool writing the same built-in chains while palisade repairs its jumps ---- */

/* A stand-in for `iptables-VARIANT` first on PATH: it runs the real command, and after every
 * listing of a built-in chain (`-S CHAIN`, what palisade reads before it repairs) it inserts one
 * more foreign ACCEPT at the top of that chain (tcp dport 1001, 1002, ...), the way kube-proxy or
 * Docker may between palisade's listing and its next command. A rule deleted by a stale number
 * would be one of these or one of the rules below them. Returns the wrapper's directory. */
static const char *racing_iptables(const char *variant)
{
	char *dir = race_dir;
	char path[128];
	FILE *f;

	snprintf(race_dir, sizeof(race_dir), "/tmp/paltest-nfrace-%d", (int)getpid());
	cr_assert(mkdir(dir, 0700) == 0 || errno == EEXIST, "%s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/iptables-%s", dir, variant);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fprintf(f, "#!/bin/sh\nreal=/usr/sbin/iptables-%s t=filter c= prev=\n"
		   "for a; do case $prev in -t) t=$a ;; -S) c=$a ;; esac; prev=$a; done\n"
		   "\"$real\" \"$@\"; rc=$?\n"
		   "if [ -n \"$c\" ] && [ -e %s/armed ]; then\n"
		   "  n=$(( $(cat %s/count 2>/dev/null || echo 0) + 1 )); echo $n > %s/count\n"
		   "  \"$real\" -w -t $t -I $c 1 -p tcp --dport $((1000 + n)) -j ACCEPT || exit 99\n"
		   "fi\nexit $rc\n", variant, dir, dir, dir);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
	return dir;
}

/* How many lines of `iptables-V -t TABLE -S CHAIN` contain `needle`. */
static int count_rules(const char *variant, const char *table, const char *chain,
		       const char *needle)
{
	static char out[16384];
	char cmd[160];
	int n = 0;

	snprintf(cmd, sizeof(cmd), "/usr/sbin/iptables-%s -w -t %s -S %s 2>&1", variant, table,
		 chain);
	capture(cmd, out, sizeof(out));
	for (const char *p = out; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Foreign rules above, between and below two copies of the INPUT jump, and another tool
 * inserting a rule after every listing: the repair deletes no rule but palisade's own copies,
 * and ends with one jump, first. */
static void repair_while_another_tool_inserts(enum pal_nf_variant v)
{
	const char *variant = pal_nf_variant_name(v);
	char cmd[512], err[160], count[32], armed[96], *path = getenv("PATH");
	static char oldpath[4096], newpath[4200];
	const char *dir;
	int listings;

	pal_nf_use(v);
	install_eth0(true);
	snprintf(cmd, sizeof(cmd), "ipt=/usr/sbin/iptables-%s; $ipt -w -I INPUT 1 -p udp --dport 1 "
		 "-j ACCEPT && $ipt -w -A INPUT -p udp --dport 2 -j ACCEPT && $ipt -w -A INPUT -j "
		 "PALISADE-INPUT && $ipt -w -A INPUT -p udp --dport 3 -j ACCEPT", variant);
	cr_assert_eq(system(cmd), 0); /* udp 1, jump, udp 2, jump, udp 3 */

	dir = racing_iptables(variant);
	snprintf(armed, sizeof(armed), "%s/armed", dir);
	snprintf(oldpath, sizeof(oldpath), "%s", path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	snprintf(newpath, sizeof(newpath), "%s:%s", dir, oldpath);
	setenv("PATH", newpath, 1);
	cr_assert_eq(close(open(armed, O_CREAT | O_WRONLY, 0600)), 0, "%s", armed);
	cr_assert_geq(pal_nf_check_jumps(err, sizeof(err)), 1, "%s", err);
	unlink(armed);
	setenv("PATH", oldpath, 1);
	snprintf(cmd, sizeof(cmd), "cat %s/count", dir);
	capture(cmd, count, sizeof(count));
	listings = atoi(count);
	cr_assert_geq(listings, 3, "the wrapper saw %d listings", listings);

	cr_assert_eq(count_rules(variant, "filter", "INPUT", "-p udp -m udp --dport "), 3,
		     "the rules around the copies survive (%s)", variant);
	cr_assert_eq(count_rules(variant, "filter", "INPUT", "-p tcp -m tcp --dport 10") +
			     count_rules(variant, "raw", "PREROUTING", "-p tcp -m tcp --dport 10") +
			     count_rules(variant, "raw", "OUTPUT", "-p tcp -m tcp --dport 10"),
		     listings, "every rule the other tool inserted survives (%s)", variant);
	cr_assert_eq(count_rules(variant, "filter", "INPUT", "-j PALISADE-INPUT"), 1, "%s", variant);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/iptables-%s -w -S INPUT", variant);
	assert_first_rule(cmd, "-A INPUT -j PALISADE-INPUT");
}

Test(bpf_netfilter, repair_deletes_no_foreign_rule_nft)
{
	repair_while_another_tool_inserts(PAL_NF_NFT);
}

Test(bpf_netfilter, repair_deletes_no_foreign_rule_legacy)
{
	repair_while_another_tool_inserts(PAL_NF_LEGACY);
}

/* iptables-nft renders a native nftables rule lossily: `ip saddr 198.18.0.0/15 ip saddr 0.0.0.0/0
 * jump PALISADE-INPUT` lists as "-A INPUT -j PALISADE-INPUT" (the last saddr wins, /0 prints
 * nothing), yet jumps only for 198.18.0.0/15. Put first in place of palisade's jump, it passes the
 * check as "the jump, first, one copy", and every other source skips palisade's INPUT chain
 * (sf_input_deny). The check must not take such a rule for its jump. */
Test(bpf_netfilter, nft_rule_listed_as_the_jump_but_narrower_is_not_taken_for_it)
{
	static char out[16384];
	char err[160];

	pal_nf_use(PAL_NF_NFT);
	install_eth0(true);
	cr_assert_eq(system("iptables-nft -w -D INPUT -j PALISADE-INPUT && nft insert rule ip "
			    "filter INPUT ip saddr 198.18.0.0/15 ip saddr 0.0.0.0/0 jump "
			    "PALISADE-INPUT"), 0);
	capture("iptables-nft -w -S INPUT 2>&1", out, sizeof(out));
	cr_assert(strstr(out, "-A INPUT -j PALISADE-INPUT"), "listed as the plain jump: %s", out);

	pal_nf_check_jumps(err, sizeof(err));
	capture("nft list chain ip filter INPUT 2>&1", out, sizeof(out));
	cr_assert_null(strstr(out, "ip saddr 198.18.0.0/15"),
		       "the narrower rule is still taken for palisade's jump:\n%s", out);

	/* IPv6 alike */
	cr_assert_eq(system("ip6tables-nft -w -D INPUT -j PALISADE-INPUT && nft insert rule ip6 "
			    "filter INPUT ip6 saddr 2001:db8::/32 ip6 saddr ::/0 jump "
			    "PALISADE-INPUT"), 0);
	capture("ip6tables-nft -w -S INPUT 2>&1", out, sizeof(out));
	cr_assert(strstr(out, "-A INPUT -j PALISADE-INPUT"), "listed as the plain jump: %s", out);
	cr_assert_geq(pal_nf_check_jumps(err, sizeof(err)), 1, "%s", err);
	capture("nft list chain ip6 filter INPUT 2>&1", out, sizeof(out));
	cr_assert_null(strstr(out, "ip6 saddr 2001:db8::/32"), "IPv6:\n%s", out);
	cr_assert(strstr(out, "jump PALISADE-INPUT"), "IPv6 jump back:\n%s", out);
	cr_assert_eq(pal_nf_check_jumps(err, sizeof(err)), 0, "then in place: %s", err);
}

/* A rule iptables-nft cannot list (a native nftables expression such as `ip dscp`) in raw
 * PREROUTING makes that chain's check fail every time; the other chains must still be checked
 * and repaired: an ACCEPT put above the INPUT jump is moved below it all the same. */
Test(bpf_netfilter, one_unlistable_chain_does_not_stop_the_other_repairs)
{
	char err[160];

	pal_nf_use(PAL_NF_NFT);
	install_eth0(true);
	cr_assert_eq(system("nft add rule ip raw PREROUTING ip dscp 1 accept"), 0);
	cr_assert_eq(system("iptables-nft -w -I INPUT 1 -p tcp -j ACCEPT"), 0);
	cr_assert_lt(pal_nf_check_jumps(err, sizeof(err)), 0, "raw PREROUTING cannot be listed");
	assert_first_rule("iptables-nft -w -S INPUT", "-A INPUT -j PALISADE-INPUT");
	system("nft flush chain ip raw PREROUTING; iptables-nft -w -D INPUT -p tcp -j ACCEPT");
}

/* ---- the workload guard's jumps (netfilter_guard.c), checked by the same loop ---- */

/* The guard installed in the test's namespace, its filter pinned by the test's datapath. */
static void install_guard(void)
{
	char path[PATH_MAX], err[160];

	cr_assert_eq(pal_dp_load_wl_guard(T.dp, path, sizeof(path)), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_nf_guard_install("cali", path, err, sizeof(err)), 0, "%s", err);
}

/* An ACCEPT above a guard jump would let a pod's packets past the guard: the guard's check puts
 * each jump back first (mangle PREROUTING and POSTROUTING, both families), leaves one copy, and
 * then finds nothing to do. */
Test(bpf_netfilter, guard_jumps_are_put_back_first)
{
	static char out[16384];
	char err[160];

	install_guard();
	cr_assert_eq(pal_nf_guard_check_jumps(err, sizeof(err)), 0, "in place after install: %s",
		     err);
	cr_assert_eq(system("iptables -w -t mangle -I PREROUTING 1 -j ACCEPT"), 0);
	cr_assert_eq(system("ip6tables -w -t mangle -I POSTROUTING 1 -j ACCEPT"), 0);
	cr_assert_eq(system("iptables -w -t mangle -A POSTROUTING -j PALISADE-WL-POST"), 0);
	cr_assert_eq(pal_nf_guard_check_jumps(err, sizeof(err)), 3, "%s", err);

	assert_first_rule("iptables -w -t mangle -S PREROUTING", "-A PREROUTING -j PALISADE-WL-PRE");
	assert_first_rule("ip6tables -w -t mangle -S POSTROUTING", "-A POSTROUTING -j PALISADE-WL-POST");
	assert_one_copy("iptables -w -t mangle -S POSTROUTING", "-A POSTROUTING -j PALISADE-WL-POST",
			out, sizeof(out));
	cr_assert_eq(pal_nf_guard_check_jumps(err, sizeof(err)), 0, "%s", err);
	system("iptables -w -t mangle -D PREROUTING -j ACCEPT; "
	       "ip6tables -w -t mangle -D POSTROUTING -j ACCEPT");
}

/* A guard chain that cannot be listed fails the check with the chain named, and the other guard
 * jump is repaired all the same. */
Test(bpf_netfilter, guard_check_names_the_unlistable_chain_and_repairs_the_other)
{
	char err[160];

	pal_nf_use(PAL_NF_NFT);
	install_guard();
	cr_assert_eq(system("nft add rule ip mangle PREROUTING ip dscp 1 accept"), 0);
	cr_assert_eq(system("iptables-nft -w -t mangle -I POSTROUTING 1 -j ACCEPT"), 0);
	cr_assert_lt(pal_nf_guard_check_jumps(err, sizeof(err)), 0, "mangle PREROUTING is listed");
	cr_assert_str_eq(err, "iptables-nft -t mangle: cannot put the jump to PALISADE-WL-PRE first "
			 "in PREROUTING");
	assert_first_rule("iptables-nft -w -t mangle -S POSTROUTING", "-A POSTROUTING -j PALISADE-WL-POST");
	system("nft flush chain ip mangle PREROUTING; "
	       "iptables-nft -w -t mangle -D POSTROUTING -j ACCEPT");
}
