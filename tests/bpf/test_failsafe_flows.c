/* Flows a failsafe port admitted, when the failsafe lists change (s15 adversary round).
 *
 * Failsafe flows are never re-judged on a policy change: a policy change must not cut the
 * administrator's SSH session. But when a port stops being failsafe, nothing vouches for its
 * flows any more: they were re-judged by nothing, so an SSH session opened through the failsafe
 * port outlived the port's removal for as long as it kept talking (5 days idle in established)
 * under a host policy that denies it, where "a deny means now" for every other flow. Now the apply
 * that removes the port makes its flows ordinary ones, re-judged on their next packet against
 * the host policy (docs/semantics.md "Failsafe ports").
 *
 * Host endpoint h0 on eth0 (198.18.0.1) whose normal ingress policy allows TCP 8080 only;
 * failsafe-in tcp:22 and tcp:2222, then tcp:22 alone. */
#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h0, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: web}\n"
	"spec:\n  selector: role == 'h'\n  types: [Ingress, Egress]\n  ingress:\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [8080]}}\n"
	"  egress:\n  - {action: Allow, protocol: UDP}\n";

static struct bpft T;

TestSuite(bpf_failsafe_flows, .init = NULL, .fini = NULL);

static struct bt_result in(uint16_t sport, uint16_t dport, const struct bt_pkt_opts *o)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.200.1", sport, "198.18.0.1", dport);

	return bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, o);
}

/* the server's answer (the host's own packet out of eth0) */
static struct bt_result out(uint16_t sport, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.0.1", sport, "198.18.200.1", dport);

	return bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &p, &bt_ack);
}

Test(bpf_failsafe_flows, a_removed_failsafe_port_no_longer_vouches_for_its_flows)
{
	struct ctest a, b;

	bt_setup(&T);
	ct_compile_ex(&a, yaml, "tcp:22,tcp:2222", "udp:53", PAL_EP_TO_HOST_DROP);
	ct_compile_ex(&b, yaml, "tcp:22", "udp:53", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(b.rc, 0);
	bt_apply(&T, &a.ir, 1);

	/* three sessions: failsafe 2222 (client speaks next), failsafe 2222 (server speaks
	 * next), failsafe 22 (stays failsafe; server speaks next) */
	cr_assert(in(40001, 2222, NULL).allow, "failsafe 2222 SYN");
	cr_assert(in(40002, 2222, NULL).allow, "failsafe 2222 SYN (2)");
	cr_assert(in(40003, 22, NULL).allow, "failsafe 22 SYN");
	cr_assert(in(40001, 2222, &bt_ack).allow);
	cr_assert(out(2222, 40002).allow);
	cr_assert(out(22, 40003).allow);
	cr_assert_not(in(40005, 9999, NULL).allow || in(40005, 9999, &bt_ack).allow,
		      "control: what is no failsafe meets the policy's deny");

	/* an unrelated policy change (same failsafes): nothing is cut */
	bt_apply(&T, &a.ir, 2);
	cr_expect(in(40001, 2222, &bt_ack).allow, "failsafe flow cut by an unrelated change");
	cr_expect(out(2222, 40002).allow, "failsafe flow's server cut by an unrelated change");

	/* 2222 stops being failsafe: its flows meet the host policy, which denies them, in
	 * either direction; 22's flow, still failsafe, goes on (its server speaking first) */
	bt_apply(&T, &b.ir, 3);
	cr_expect_not(in(40001, 2222, &bt_ack).allow,
		      "a flow of a removed failsafe port still passes the host's deny");
	cr_expect_not(out(2222, 40002).allow,
		      "the server of a removed failsafe port's flow still reaches its client");
	cr_expect_not(in(40002, 2222, &bt_ack).allow, "its client after the server's drop");
	cr_expect(out(22, 40003).allow, "a flow of a port that stays failsafe was cut");
	cr_expect(in(40003, 22, &bt_ack).allow, "a flow of a port that stays failsafe was cut (2)");

	ct_free(&a);
	ct_free(&b);
	bt_teardown(&T);
}

/* The host's own connection out through failsafe-out tcp:198.18.200.0/24:6443 (an API server),
 * IPv4 and IPv6; the failsafe's net narrows to another /24 (and /64): the connection meets the
 * host endpoint's egress policy (UDP only), from the server's side too. */
Test(bpf_failsafe_flows, a_narrowed_failsafe_out_net_no_longer_vouches_for_its_flows)
{
	static const char *addrs[2][2] = { { "198.18.0.1", "198.18.200.1" },
					   { "2001:db8::1", "2001:db8:200::1" } };
	struct ctest a, b;

	bt_setup(&T);
	ct_compile_ex(&a, yaml, "tcp:22",
		      "udp:53,tcp:198.18.200.0/24:6443,tcp:[2001:db8:200::/64]:6443",
		      PAL_EP_TO_HOST_DROP);
	ct_compile_ex(&b, yaml, "tcp:22",
		      "udp:53,tcp:198.18.201.0/24:6443,tcp:[2001:db8:201::/64]:6443",
		      PAL_EP_TO_HOST_DROP);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(b.rc, 0);
	bt_apply(&T, &a.ir, 1);
	for (int i = 0; i < 2; i++) {
		struct pal_packet o = ct_pkt(PAL_PROTO_TCP, addrs[i][0], 40010, addrs[i][1], 6443);
		struct pal_packet r = ct_pkt(PAL_PROTO_TCP, addrs[i][1], 6443, addrs[i][0], 40010);

		cr_assert(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &o, NULL).allow,
			  "failsafe-out SYN (%d)", i);
		cr_assert(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &r, &bt_ack).allow,
			  "failsafe-out reply (%d)", i);
	}
	bt_apply(&T, &b.ir, 2);
	for (int i = 0; i < 2; i++) {
		struct pal_packet o = ct_pkt(PAL_PROTO_TCP, addrs[i][0], 40010, addrs[i][1], 6443);
		struct pal_packet r = ct_pkt(PAL_PROTO_TCP, addrs[i][1], 6443, addrs[i][0], 40010);

		cr_expect_not(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &r, &bt_ack).allow,
			      "the server's reply on a flow its failsafe-out net no longer covers (%d)", i);
		cr_expect_not(bt_path(&T, PAL_TRACE_EGRESS, "eth0", NULL, &o, &bt_ack).allow,
			      "the host's packet on a flow its failsafe-out net no longer covers (%d)", i);
	}
	ct_free(&a);
	ct_free(&b);
	bt_teardown(&T);
}

/* An apply that changes the failsafe set and then fails before any interface flips (s16
 * adversary round). failsafe_sync runs before the flips; a failure after it left the new set in
 * place under the old lists and generation, with no sweep: a port the failed configuration drops
 * from failsafe was no longer failsafe (new connections to it met the old lists' deny) while the
 * flows it had admitted kept their failsafe mark, also after the retry, which found the set
 * already changed and swept nothing. Now the failed apply restores the last good set: the
 * endpoints keep their lists, the failsafe ports theirs, and the retry removes the port and
 * re-judges its flows. The failure: h1 (eth1, bound first) cannot get its pal_ifaces entry. */
static const char *yaml2 =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h1, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth1, expectedIPs: [198.18.1.1]}\n---\n";

/* pal_dp_apply of ir (h1 on eth1 and h0 on eth0, in that order) with pal_ifaces full: eth1, new,
 * gets no entry, so the apply fails and eth0, after it, never flips. */
static void fail_apply(const struct pal_ir *ir, uint32_t gen)
{
	const uint32_t junk = 0x7fff0000u;
	int fd = pal_dp_map_fd(T.dp, "pal_ifaces"), n = 0, rc;
	uint8_t zero[512] = { 0 };
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	struct pal_dp_binding bind[2];
	struct pal_iface v, v0;

	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)T.ifindex[BT_ETH0], &v0), 0);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	cr_assert_leq(info.value_size, sizeof(zero));
	for (uint32_t id = junk; id < junk + info.max_entries; id++, n++)
		if (bpf_map_update_elem(fd, &id, zero, BPF_NOEXIST))
			break;
	bind[0] = (struct pal_dp_binding){ .ifindex = (uint32_t)T.ifindex[BT_ETH1],
					   .ep = pal_ir_endpoint_for_iface(ir, "eth1") };
	bind[1] = (struct pal_dp_binding){ .ifindex = (uint32_t)T.ifindex[BT_ETH0],
					   .ep = pal_ir_endpoint_for_iface(ir, "eth0") };
	cr_assert(bind[0].ep && bind[1].ep);
	rc = pal_dp_apply(T.dp, ir, bind, 2, gen);
	for (uint32_t id = junk; id < junk + (uint32_t)n; id++)
		bpf_map_delete_elem(fd, &id);
	cr_assert_neq(rc, 0, "the test wants the apply to fail");
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)T.ifindex[BT_ETH0], &v), 0);
	cr_assert_eq(v.generation, v0.generation, "the test wants eth0 not flipped (generation %u)",
		     v.generation);
}

Test(bpf_failsafe_flows, a_failed_apply_keeps_the_failsafe_set_and_its_flows_in_step)
{
	struct ctest a, b;
	char *y2;

	bt_setup(&T);
	cr_assert(asprintf(&y2, "%s%s", yaml2, yaml) > 0);
	ct_compile_ex(&a, yaml, "tcp:22,tcp:2222", "udp:53", PAL_EP_TO_HOST_DROP);
	ct_compile_ex(&b, y2, "tcp:22", "udp:53", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(b.rc, 0);
	bt_apply(&T, &a.ir, 1);
	cr_assert(in(40001, 2222, NULL).allow, "failsafe 2222 SYN");
	cr_assert(in(40001, 2222, &bt_ack).allow);
	cr_assert(out(2222, 40001).allow);

	fail_apply(&b.ir, 2);

	/* the last good configuration, failsafe set included */
	cr_expect(in(40002, 2222, NULL).allow,
		  "a failed apply took port 2222 out of failsafe under the last good lists");
	cr_expect(in(40001, 2222, &bt_ack).allow, "a failsafe flow cut by a failed apply");

	/* the retry removes 2222: its flows meet the host policy's deny */
	bt_apply(&T, &b.ir, 3);
	cr_expect_not(in(40001, 2222, &bt_ack).allow,
		      "a flow of a failsafe port removed by a retried apply still passes the deny");
	cr_expect_not(out(2222, 40001).allow,
		      "its server still reaches the client after the retried apply");
	cr_expect(in(40003, 22, NULL).allow, "port 22 stays failsafe");
	free(y2);
	ct_free(&a);
	ct_free(&b);
	bt_teardown(&T);
}

/* An agent killed after it wrote a new failsafe set and before its apply's sweep (the set is
 * written before the flips, the sweep runs after the generation moved): the next agent finds the
 * set already without the removed port, so its applies removed nothing and swept nothing, and the
 * port's flows kept their failsafe mark for good. Now the first apply of a process sweeps
 * whatever the set no longer admits. The kill: pal_dp_failsafe_sync (the set alone), then a new
 * datapath adopting the pins. */
Test(bpf_failsafe_flows, an_agent_killed_before_its_sweep_leaves_no_failsafe_flow_behind)
{
	struct pal_dp_opts opts;
	struct pal_datapath *dp2 = NULL;
	char err[512] = "";
	bool adopted = false;
	struct ctest a, b;

	bt_setup(&T);
	ct_compile_ex(&a, yaml, "tcp:22,tcp:2222", "udp:53", PAL_EP_TO_HOST_DROP);
	ct_compile_ex(&b, yaml, "tcp:22", "udp:53", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(b.rc, 0);
	bt_apply(&T, &a.ir, 1);
	cr_assert(in(40001, 2222, NULL).allow, "failsafe 2222 SYN");
	cr_assert(in(40001, 2222, &bt_ack).allow);
	cr_assert(in(40003, 22, NULL).allow, "failsafe 22 SYN");

	cr_assert_eq(pal_dp_failsafe_sync(T.dp, &b.ir), 0, "%s", pal_dp_error(T.dp));
	opts = bt_dp_opts(T.pin_dir);
	pal_dp_close(T.dp);
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&opts, &dp2, &adopted, err, sizeof(err)), 0, "%s", err);
	cr_assert(adopted);
	T.dp = dp2;
	bt_apply(&T, &b.ir, 2);
	cr_expect_not(in(40001, 2222, &bt_ack).allow,
		      "a flow of a failsafe port a killed agent removed still passes the deny");
	cr_expect_not(out(2222, 40001).allow, "its server still reaches the client");
	cr_expect(out(22, 40003).allow, "a flow of a port that stays failsafe was cut");
	ct_free(&a);
	ct_free(&b);
	bt_teardown(&T);
}

/* The same from an empty failsafe set: the failed apply's new port (2222) goes again, so it
 * admits nothing under the last good lists (the restore once skipped an empty set). */
Test(bpf_failsafe_flows, a_failed_apply_adds_no_failsafe_port)
{
	struct ctest a, b;
	char *y2;

	bt_setup(&T);
	cr_assert(asprintf(&y2, "%s%s", yaml2, yaml) > 0);
	ct_compile_ex(&a, yaml, NULL, NULL, PAL_EP_TO_HOST_DROP);
	ct_compile_ex(&b, y2, "tcp:2222", NULL, PAL_EP_TO_HOST_DROP);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(b.rc, 0);
	bt_apply(&T, &a.ir, 1);
	cr_assert_not(in(40001, 2222, NULL).allow, "control: 2222 is denied");
	fail_apply(&b.ir, 2);
	cr_expect_not(in(40002, 2222, NULL).allow,
		      "a failed apply left its new failsafe port open under the last good lists");
	free(y2);
	ct_free(&a);
	ct_free(&b);
	bt_teardown(&T);
}
