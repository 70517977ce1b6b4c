/* Attaching and detaching: XDP (native on veth, generic, auto) and tc clsact filters, replace on
 * re-attach, and detach leaves other programs alone. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "bpft.h"

BT_BARE_SUITE(bpf_attach);

Test(bpf_attach, xdp_modes)
{
	int ifx = T.ifindex[BT_ETH0];
	enum pal_xdp_mode got, q;
	uint32_t id;

	cr_assert_eq(pal_dp_attach_xdp(T.dp, ifx, PAL_XDP_GENERIC, &got), 0, "%s",
		     pal_dp_error(T.dp));
	cr_assert_eq(got, PAL_XDP_GENERIC);
	cr_assert_eq(pal_dp_xdp_query(ifx, &q, &id), 0);
	cr_assert_eq(q, PAL_XDP_GENERIC);
	cr_assert_gt(id, 0);
	cr_assert_eq(pal_dp_detach_xdp(ifx), 0);
	cr_assert_eq(pal_dp_xdp_query(ifx, &q, &id), 0);
	cr_assert_eq(q, PAL_XDP_OFF);

	/* veth has native XDP: auto picks it */
	cr_assert_eq(pal_dp_attach_xdp(T.dp, ifx, PAL_XDP_AUTO, &got), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(got, PAL_XDP_NATIVE);
	cr_assert_eq(pal_dp_attach_xdp(T.dp, ifx, PAL_XDP_AUTO, &got), 0, "re-attach replaces");
	cr_assert_eq(pal_dp_detach_xdp(ifx), 0);
	cr_assert_eq(pal_dp_xdp_query(ifx, &q, &id), 0);
	cr_assert_eq(q, PAL_XDP_OFF);
	cr_assert_eq(pal_dp_detach_xdp(ifx), 0, "detaching nothing is fine");
}

Test(bpf_attach, tc_filters)
{
	int ifx = T.ifindex[BT_ETH1];
	uint32_t in, out;

	cr_assert_eq(pal_dp_attach_tc(T.dp, ifx), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_attach_tc(T.dp, ifx), 0, "re-attach replaces: %s", pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_tc_query(ifx, &in, &out), 0);
	cr_assert_gt(in, 0);
	cr_assert_gt(out, 0);
	cr_assert_neq(in, out);
	/* someone else's filter on the same hook (another handle and priority) survives */
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifx, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, other, .handle = 7, .priority = 7,
			    .prog_fd = pal_dp_prog_fd(T.dp, PAL_PROG_TC_INGRESS));

		cr_assert_eq(bpf_tc_attach(&hook, &other), 0);
		cr_assert_eq(pal_dp_detach_tc(ifx), 0);
		cr_assert_eq(pal_dp_tc_query(ifx, &in, &out), 0);
		cr_assert_eq(in, 0);
		cr_assert_eq(out, 0);
		other.prog_fd = 0;
		other.prog_id = 0;
		other.flags = 0;
		cr_assert_eq(bpf_tc_query(&hook, &other), 0, "the other filter is gone");
	}
	cr_assert_eq(pal_dp_detach_tc(ifx), 0, "detaching nothing is fine");
}

/* Ownership is by the program's name AND its use of this datapath's pal_ifaces: programs named
 * like palisade's but reading another pal_ifaces (another build's copy under another bpffs
 * directory, or a look-alike) are not ours, and the workload guard must not take them as
 * palisade policing the device. */
Test(bpf_attach, tc_is_ours_needs_our_pal_ifaces)
{
	int ifx = T.ifindex[BT_ETH1];
	char dir[sizeof(T.pin_dir) + 8], err[256];
	struct pal_datapath *other = NULL;
	bool adopted;

	cr_assert_eq(pal_dp_tc_is_ours(T.dp, ifx), 0, "nothing attached yet");
	snprintf(dir, sizeof(dir), "%s-other", T.pin_dir);
	pal_dp_unpin_all(dir);
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir, .sizes.max_flows = 4096 }, &other,
				 &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_assert_eq(pal_dp_attach_tc(other, ifx), 0, "%s", pal_dp_error(other));
	cr_expect_eq(pal_dp_tc_is_ours(other, ifx), 1, "the attaching datapath's own programs");
	cr_expect_eq(pal_dp_tc_is_ours(T.dp, ifx), 0,
		     "same names, another pal_ifaces: taken for this datapath's programs");
	cr_assert_eq(pal_dp_detach_tc(ifx), 0);
	pal_dp_close(other);
	pal_dp_unpin_all(dir);
	cr_assert_eq(pal_dp_attach_tc(T.dp, ifx), 0, "%s", pal_dp_error(T.dp));
	cr_expect_eq(pal_dp_tc_is_ours(T.dp, ifx), 1);
	cr_assert_eq(pal_dp_detach_tc(ifx), 0);
}
