/* XDP's view of an interface's configuration as it changes: whatever XDP reads to find an
 * interface's untracked ingress list and flags (pal_if_index, the slot's bank, its value, or any
 * copy kept for XDP), the answer must follow every change at once and never come from another
 * interface's or an older binding's configuration:
 *   - an endpoint moved from eth0 to eth1 (eth0 unbound): eth0 passes unpoliced, eth1 denies;
 *   - eth0 re-bound to an allowing endpoint, then back to the denying one;
 *   - eth0 unbound and its slot given to eth1 (a denying endpoint): eth0 must not read it;
 *   - after a restart of the datapath (adopted pins): the same answers, then a change followed;
 *   - an ifindex beyond pal_if_index's direct range.
 * Host endpoint "deny" takes an untracked deny of all TCP, "allow" an untracked allow of it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define XDP_DROP_RC 1
#define XDP_PASS_RC 2

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: deny, labels: {role: d}}\n"
	"spec: {node: node1, interfaceName: eth0}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: allow, labels: {role: a}}\n"
	"spec: {node: node1, interfaceName: eth1}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: rawdeny}\n"
	"spec:\n  selector: role == 'd'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n  - {action: Deny, protocol: TCP}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: rawallow}\n"
	"spec:\n  selector: role == 'a'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n  - {action: Allow, protocol: TCP}\n";

static struct bpft T;
static struct ctest C;
static uint32_t gen;

static void setup(void)
{
	bt_setup(&T);
	ct_compile_ex(&C, yaml, NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(C.rc, 0);
	gen = 0;
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_xdp_iface, .init = setup, .fini = teardown);

/* Binds the endpoints named (NULL: none) to eth0 and eth1, plus `extra` (ifindex, endpoint). */
static void bind(const char *e0, const char *e1, int extra, const char *ex)
{
	struct pal_dp_binding b[3];
	size_t n = 0;

	if (e0)
		b[n++] = (struct pal_dp_binding){ (uint32_t)T.ifindex[BT_ETH0], ct_ep(&C.ir, e0) };
	if (e1)
		b[n++] = (struct pal_dp_binding){ (uint32_t)T.ifindex[BT_ETH1], ct_ep(&C.ir, e1) };
	if (extra)
		b[n++] = (struct pal_dp_binding){ (uint32_t)extra, ct_ep(&C.ir, ex) };
	cr_assert_eq(pal_dp_apply(T.dp, &C.ir, b, n, ++gen), 0, "%s", pal_dp_error(T.dp));
}

/* XDP on ifindex for a TCP SYN: 'D' dropped, 'U' untracked allow, 'P' passed without a verdict
 * (not policed or no decision), '?' anything else. */
static char xdp(int ifindex)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, "198.18.0.1", 80);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);
	struct pal_if_ctr a = bt_ifctr(&T, ifindex, PAL_HOOK_XDP), b;
	int rc = bt_run_xdp(&T, ifindex, buf, len, NULL);

	b = bt_ifctr(&T, ifindex, PAL_HOOK_XDP);
	if (rc == XDP_DROP_RC)
		return 'D';
	if (rc != XDP_PASS_RC)
		return '?';
	if (b.verdict[PAL_VERDICT_UNTRACKED] != a.verdict[PAL_VERDICT_UNTRACKED])
		return 'U';
	return 'P';
}

#define E0 T.ifindex[BT_ETH0]
#define E1 T.ifindex[BT_ETH1]

Test(bpf_xdp_iface, xdp_follows_every_binding_change)
{
	bind("deny", "allow", 0, NULL);
	cr_assert_eq(xdp(E0), 'D');
	cr_assert_eq(xdp(E1), 'U');
	bind(NULL, "deny", 0, NULL); /* moved: eth0 unbound */
	cr_expect_eq(xdp(E0), 'P', "eth0 unbound");
	cr_expect_eq(xdp(E1), 'D', "eth1 took the denying endpoint");
	bind("allow", "deny", 0, NULL);
	cr_expect_eq(xdp(E0), 'U', "eth0 re-bound to the allowing endpoint");
	bind("deny", "deny", 0, NULL);
	cr_expect_eq(xdp(E0), 'D', "eth0 back to the denying endpoint");
	cr_expect_eq(xdp(E1), 'D');
	bind("allow", "allow", 0, NULL);
	cr_expect_eq(xdp(E0), 'U');
	cr_expect_eq(xdp(E1), 'U');
}

Test(bpf_xdp_iface, an_unbound_interface_never_reads_its_slot_s_next_owner)
{
	for (int round = 0; round < 4; round++) {
		bind("allow", NULL, 0, NULL);
		cr_assert_eq(xdp(E0), 'U');
		bind(NULL, NULL, 0, NULL);
		pal_dp_grace_period();
		cr_expect_eq(xdp(E0), 'P', "round %d: eth0 unbound", round);
		bind(NULL, "deny", 0, NULL); /* eth1 may take eth0's freed slot */
		cr_expect_eq(xdp(E1), 'D', "round %d", round);
		cr_expect_eq(xdp(E0), 'P', "round %d: unbound eth0 read another interface's slot",
			     round);
		bind(NULL, NULL, 0, NULL);
		pal_dp_grace_period();
	}
}

Test(bpf_xdp_iface, a_restarted_datapath_keeps_and_follows)
{
	char err[512] = "";
	bool adopted = false;
	struct pal_dp_opts o = bt_dp_opts(T.pin_dir);

	bind("deny", "allow", 0, NULL);
	pal_dp_close(T.dp);
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&o, &T.dp, &adopted, err, sizeof(err)), 0, "%s", err);
	cr_assert(adopted);
	cr_expect_eq(xdp(E0), 'D', "after the restart");
	cr_expect_eq(xdp(E1), 'U', "after the restart");
	bind("allow", "deny", 0, NULL);
	cr_expect_eq(xdp(E0), 'U', "a change after the restart");
	cr_expect_eq(xdp(E1), 'D', "a change after the restart");
	bind(NULL, "deny", 0, NULL);
	cr_expect_eq(xdp(E0), 'P', "unbound after the restart");
}

Test(bpf_xdp_iface, an_ifindex_beyond_the_direct_array)
{
	uint32_t big = PAL_IF_INDEX_DIRECT + 11;
	int ifi = bt_veth_add("xdpbig", big);

	bind(NULL, NULL, ifi, "deny");
	cr_expect_eq(xdp(ifi), 'D', "ifindex %u bound to the denying endpoint", big);
	bind(NULL, NULL, ifi, "allow");
	cr_expect_eq(xdp(ifi), 'U', "ifindex %u re-bound", big);
	bind(NULL, NULL, 0, NULL);
	cr_expect_eq(xdp(ifi), 'P', "ifindex %u unbound", big);
}
