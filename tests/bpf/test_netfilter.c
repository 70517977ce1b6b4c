/* palisade's netfilter chains in the test's network namespace: installed with the pinned xt_bpf
 * programs, idempotent, and removed without touching rules that are not palisade's. */
#include <criterion/criterion.h>
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

static void teardown(void)
{
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

Test(bpf_netfilter, install_and_remove)
{
	struct pal_nf_hep hep = { .ifname = "eth0", .ifindex = (unsigned)T.ifindex[BT_ETH0] };
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
