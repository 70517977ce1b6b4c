/* Keeping the attached set equal to the desired one, and --uninstall. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bpft.h"
#include "node.h"

BT_BARE_SUITE(bpf_node);

static bool tc_attached(int ifx)
{
	uint32_t in, out;

	pal_dp_tc_query(ifx, &in, &out);
	return in && out;
}

/* Syncs the two ports and expects each port's XDP mode (want0, want1) as the sync reports it. */
static void sync_two(const struct pal_dp_port *ports, enum pal_xdp_mode want0,
		     enum pal_xdp_mode want1)
{
	enum pal_xdp_mode modes[2];

	cr_assert_eq(pal_dp_sync_ports(T.dp, ports, 2, PAL_XDP_AUTO, modes), 2, "%s",
		     pal_dp_error(T.dp));
	cr_assert_eq(modes[0], want0, "%s: XDP mode %d, want %d", ports[0].name, modes[0], want0);
	cr_assert_eq(modes[1], want1, "%s: XDP mode %d, want %d", ports[1].name, modes[1], want1);
}

/* The XDP mode the kernel reports on ifx. */
static enum pal_xdp_mode xdp_on(int ifx)
{
	enum pal_xdp_mode q;
	uint32_t id;

	pal_dp_xdp_query(ifx, &q, &id);
	return q;
}

Test(bpf_node, sync_then_uninstall)
{
	struct pal_dp_port ports[] = {
		{ "eth0", T.ifindex[BT_ETH0], true, true, true },
		{ "cali0", T.ifindex[BT_CALI0], false, false, false },
	};
	struct stat st;

	sync_two(ports, PAL_XDP_NATIVE, PAL_XDP_OFF);
	cr_assert(tc_attached(T.ifindex[BT_ETH0]) && tc_attached(T.ifindex[BT_CALI0]));
	cr_assert_not(tc_attached(T.ifindex[BT_ETH1]));
	cr_assert_eq(system("iptables -w -t raw -S PALISADE-RAW-OUT | grep -q 'o eth0'"), 0);

	/* eth0 goes away from the set: detached, its rules gone, cali0 untouched */
	cr_assert_eq(pal_dp_sync_ports(T.dp, &ports[1], 1, PAL_XDP_AUTO, NULL), 1);
	cr_assert_not(tc_attached(T.ifindex[BT_ETH0]));
	cr_assert_eq(xdp_on(T.ifindex[BT_ETH0]), PAL_XDP_OFF);
	cr_assert(tc_attached(T.ifindex[BT_CALI0]));
	cr_assert_neq(system("iptables -w -t raw -S PALISADE-RAW-OUT | grep -q 'o eth0'"), 0);

	cr_assert_eq(pal_dp_uninstall(T.pin_dir), 0);
	cr_assert_not(tc_attached(T.ifindex[BT_CALI0]));
	cr_assert_neq(system("iptables -w -t raw -S 2>/dev/null | grep -q PALISADE"), 0);
	cr_assert_neq(stat(T.pin_dir, &st), 0, "pin dir removed");
}

/* XDP only where it is wanted (a host endpoint whose untracked ingress list can deny): a host
 * port without it gets tc and its raw OUTPUT filters but no XDP, also when it has untracked
 * ingress rules that only allow (eth0 here: tc ingress evaluates them), and loses palisade's XDP
 * when it stops wanting it (a policy change took its untracked ingress Deny rules away). */
Test(bpf_node, xdp_only_on_ports_that_want_it)
{
	struct pal_dp_port ports[] = {
		{ "eth0", T.ifindex[BT_ETH0], true, true, false },
		{ "eth1", T.ifindex[BT_ETH1], true, true, true },
	};

	sync_two(ports, PAL_XDP_OFF, PAL_XDP_NATIVE);
	cr_assert_eq(xdp_on(T.ifindex[BT_ETH0]), PAL_XDP_OFF,
		     "no XDP on a host port whose untracked ingress cannot deny");
	cr_assert(tc_attached(T.ifindex[BT_ETH0]) && tc_attached(T.ifindex[BT_ETH1]));
	cr_assert_eq(system("iptables -w -t raw -S PALISADE-RAW-OUT | grep -q 'o eth0'"), 0);

	ports[1].xdp = false; /* eth1's untracked ingress Deny rules went */
	sync_two(ports, PAL_XDP_OFF, PAL_XDP_OFF);
	cr_assert_eq(xdp_on(T.ifindex[BT_ETH1]), PAL_XDP_OFF,
		     "palisade's XDP removed when no longer wanted");
	cr_assert(tc_attached(T.ifindex[BT_ETH1]));
	cr_assert_eq(pal_dp_uninstall(T.pin_dir), 0);
}
