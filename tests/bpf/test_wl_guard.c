/* The workload guard (bpf/wl_guard.bpf.c), run as xt_bpf runs it (a socket filter on an skb whose
 * device is the interface): it lets through (0) exactly the packets of an interface with a
 * pal_ifaces entry AND palisade's tc programs witnessed on that very device (pal_if_live), the
 * deny-everything slot included (tc drops those); it matches (1: the rule drops) one never bound,
 * one bound but not (or no longer, or not fully) attached, one unbound again, and a new device
 * that got the ifindex of a deleted one (the kernel drops the witness with the device). A load
 * makes the witness true again. Also its cost per packet. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "bpft.h"
#include "node.h"
#include "netfilter.h"
#include "test_compiler_util.h"

static struct bpft T;
static int guard = -1;

static void setup(void)
{
	char path[PATH_MAX];

	bt_setup(&T);
	cr_assert_eq(pal_dp_load_wl_guard(T.dp, path, sizeof(path)), 0, "%s", pal_dp_error(T.dp));
	guard = bpf_obj_get(path);
	cr_assert_geq(guard, 0, "bpf_obj_get %s", path);
}

static void teardown(void)
{
	if (guard >= 0)
		close(guard);
	guard = -1;
	bt_teardown(&T);
}

TestSuite(bpf_wl_guard, .init = setup, .fini = teardown);

/* The guard's verdict on a forwarded TCP ACK whose skb->dev is ifindex; *ns (when not NULL):
 * the kernel's mean run time over `repeat` runs. */
static int run_guard(int ifindex, uint32_t repeat, uint32_t *ns)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, "198.19.5.10", 8080);
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, &bt_ack);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	cr_assert_eq(bpf_prog_test_run_opts(guard, &o), 0, "guard test run on ifindex %d", ifindex);
	if (ns)
		*ns = o.duration;
	return (int)o.retval;
}

static void bind_iface(int ifindex)
{
	struct pal_iface v = { .flags = PAL_IF_WORKLOAD, .endpoint_id = PAL_IF_NO_ENDPOINT };

	cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)ifindex, &v, NULL, NULL), 0, "%s",
		     pal_dp_error(T.dp));
}

/* As the agent takes an interface over: its entry, then its tc programs. */
static void take_over(int ifindex)
{
	bind_iface(ifindex);
	cr_assert_eq(pal_dp_attach_tc(T.dp, ifindex), 0, "%s", pal_dp_error(T.dp));
}

static void sh(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(bpf_wl_guard, passes_only_interfaces_with_an_entry_and_palisade_s_programs)
{
	int a = T.ifindex[BT_CALI0], b = T.ifindex[BT_CALI1];
	bool kept;

	cr_expect_eq(run_guard(a, 1, NULL), 1, "a never bound interface passes the guard");
	bind_iface(a);
	cr_expect_eq(run_guard(a, 1, NULL), 1, "an interface with an entry but no tc program yet "
		     "passes the guard (the moment between the agent's two writes)");
	cr_assert_eq(pal_dp_attach_tc(T.dp, a), 0, "%s", pal_dp_error(T.dp));
	cr_expect_eq(run_guard(a, 1, NULL), 0, "a bound and attached interface is dropped by the guard");
	cr_expect_eq(run_guard(b, 1, NULL), 1, "taking cali0 over opened cali1");
	cr_assert_eq(pal_dp_iface_unprogrammed(T.dp, (uint32_t)b, false, &kept), 0);
	cr_expect_eq(run_guard(b, 1, NULL), 1, "an unattached interface on the deny-everything slot "
		     "passes the guard");
	cr_assert_eq(pal_dp_attach_tc(T.dp, b), 0, "%s", pal_dp_error(T.dp));
	cr_expect_eq(run_guard(b, 1, NULL), 0, "an attached interface on the deny-everything slot is "
		     "dropped by the guard (tc drops it, with a count)");
	cr_assert_eq(pal_dp_detach_port(T.dp, b), 0);
	cr_expect_eq(run_guard(b, 1, NULL), 1, "a detached interface passes the guard");
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)a, NULL, NULL), 0);
	cr_expect_eq(run_guard(a, 1, NULL), 1, "an unbound interface (a deleted pod) passes the guard");
}

/* A real attach failure: another tool's filter (another protocol) already holds palisade's egress
 * priority, so tc_ingress goes on and tc_egress does not. The entry is there (denying or programmed), the
 * programs are not all there: the guard drops, both ways. */
Test(bpf_wl_guard, a_failed_tc_attach_leaves_the_interface_dropped)
{
	int a = T.ifindex[BT_CALI0];
	char cmd[160];
	uint32_t in = 0, out = 0;

	snprintf(cmd, sizeof(cmd), "tc qdisc add dev cali0 clsact && tc filter add dev cali0 egress "
		 "pref %u protocol ip bpf bytecode '1,6 0 0 0,'", PAL_TC_PRIORITY);
	sh(cmd);
	bind_iface(a);
	cr_assert_neq(pal_dp_attach_tc(T.dp, a), 0, "the conflicting filter did not make the attach fail");
	pal_dp_tc_query(a, &in, &out);
	cr_assert(in && !out, "the test wants tc_ingress on and tc_egress off (ids %u, %u)", in, out);
	cr_expect_eq(run_guard(a, 1, NULL), 1, "an interface whose tc attach failed passes the guard");
	snprintf(cmd, sizeof(cmd), "tc filter del dev cali0 egress pref %u", PAL_TC_PRIORITY);
	sh(cmd);
	cr_assert_eq(pal_dp_attach_tc(T.dp, a), 0, "%s", pal_dp_error(T.dp));
	cr_expect_eq(run_guard(a, 1, NULL), 0, "attached at the retry, still dropped by the guard");
}

/* No agent involved: the pod's veth goes, a new one gets its ifindex (a CNI moving the host end
 * in keeps the index when it is free). The entry is still there; the kernel took the witness
 * with the old device. */
Test(bpf_wl_guard, a_new_device_on_a_deleted_one_s_ifindex_is_dropped)
{
	int a = T.ifindex[BT_CALI0];
	char cmd[160];

	take_over(a);
	cr_assert_eq(run_guard(a, 1, NULL), 0);
	snprintf(cmd, sizeof(cmd), "ip link del cali0 && ip link add cali0 index %d type veth peer "
		 "name p-cali0 && ip link set cali0 up", a);
	sh(cmd);
	cr_assert_eq((int)if_nametoindex("cali0"), a, "the new veth did not get ifindex %d", a);
	cr_expect_eq(run_guard(a, 1, NULL), 1, "a new device with a deleted pod's ifindex passes the "
		     "guard on the old one's entry");
	take_over(a);
	cr_expect_eq(run_guard(a, 1, NULL), 0, "taken over again, still dropped by the guard");
}

/* At a load the witness is made true again: programs removed while no agent ran (here by tc
 * itself) lose it; an attached interface without one (pins of a build before the witness) gets
 * it. */
Test(bpf_wl_guard, a_load_makes_the_witness_true)
{
	int a = T.ifindex[BT_CALI0], b = T.ifindex[BT_CALI1];
	int live = pal_dp_map_fd(T.dp, "pal_if_live");
	uint32_t kb = (uint32_t)b;
	char cmd[160], err[512] = "";
	bool adopted = false;

	take_over(a);
	take_over(b);
	snprintf(cmd, sizeof(cmd), "tc filter del dev cali0 ingress pref %u", PAL_TC_PRIORITY);
	sh(cmd);
	cr_assert_eq(bpf_map_delete_elem(live, &kb), 0);
	cr_assert_eq(run_guard(a, 1, NULL), 0, "the test wants a stale witness on cali0");
	cr_assert_eq(run_guard(b, 1, NULL), 1, "the test wants cali1 attached and unwitnessed");
	close(guard);
	guard = -1;
	pal_dp_close(T.dp);
	T.dp = NULL;
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .sizes.max_flows = 4096 },
				 &T.dp, &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_assert(adopted);
	cr_assert_eq(pal_dp_prog_pin_path(T.dp, PAL_WL_GUARD_PIN, cmd, sizeof(cmd)), 0);
	guard = bpf_obj_get(cmd);
	cr_assert_geq(guard, 0, "bpf_obj_get %s", cmd);
	cr_expect_eq(run_guard(a, 1, NULL), 1, "cali0 lost its tc_ingress while no agent ran and "
		     "still passes the guard after a load");
	cr_expect_eq(run_guard(b, 1, NULL), 0, "cali1 is attached and bound, yet dropped after a load");
}

Test(bpf_wl_guard, an_ifindex_beyond_the_array)
{
	uint32_t big = PAL_IF_INDEX_DIRECT + 9;
	int ifi = bt_veth_add("gdbig", big);

	cr_expect_eq(run_guard(ifi, 1, NULL), 1, "an unbound ifindex %u passes the guard", big);
	bind_iface(ifi);
	cr_expect_eq(run_guard(ifi, 1, NULL), 1, "a bound, unattached ifindex %u passes the guard", big);
	cr_assert_eq(pal_dp_attach_tc(T.dp, ifi), 0, "%s", pal_dp_error(T.dp));
	cr_expect_eq(run_guard(ifi, 1, NULL), 0, "a bound ifindex %u is dropped by the guard", big);
}

/* What the guard adds to each packet of pod traffic, as the kernel times the program alone (the
 * xt_bpf rule around it is measured in docs/benchmarks.md). A bound interface is the common case. */
Test(bpf_wl_guard, cost_per_packet)
{
	uint32_t ns = 0, best = UINT32_MAX;

	take_over(T.ifindex[BT_CALI0]);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(run_guard(T.ifindex[BT_CALI0], 200000, &ns), 0);
		best = ns < best ? ns : best;
	}
	printf("MEASURE: workload guard: %u ns per packet (PROG_TEST_RUN, bound interface, best of "
	       "5 x 200000)\n", best);
	cr_expect_lt(best, 200, "the guard costs %u ns per packet: it must stay a single lookup", best);
}

/* The rules as iptables-restore reads them, and a prefix or pin path that would split a rule
 * (a space starts another option: "cali -j ACCEPT") refused with the option named. */
Test(bpf_wl_guard, rules_and_refused_words)
{
	static const char *const bad_prefix[] = { "", "cali -j ACCEPT", "cali\n-A", "c\"x",
						  "abcdefghijklmno" /* 15: no room for '+' */ };
	struct pal_strbuf b = { 0 };
	char err[256];

	cr_assert_eq(pal_nf_guard_render("cali", "/sys/fs/bpf/p/progs/wl_guard", &b, err,
					 sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(b.p, "*mangle\n:PALISADE-WL-PRE - [0:0]\n:PALISADE-WL-POST - [0:0]\n"
		"-A PALISADE-WL-PRE -i cali+ -m bpf --object-pinned /sys/fs/bpf/p/progs/wl_guard -j DROP\n"
		"-A PALISADE-WL-POST -o cali+ -m bpf --object-pinned /sys/fs/bpf/p/progs/wl_guard -j DROP\n"
		"COMMIT\n");
	pal_strbuf_free(&b);
	for (size_t i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++) {
		struct pal_strbuf o = { 0 };

		cr_expect_eq(pal_nf_guard_render(bad_prefix[i], "/x/wl_guard", &o, err, sizeof(err)),
			     -EINVAL, "prefix \"%s\" accepted", bad_prefix[i]);
		cr_expect(strstr(err, "--workload-interface-prefix"), "error names no option: %s", err);
		pal_strbuf_free(&o);
	}
	cr_expect_eq(pal_nf_guard_render("cali", "/sys/fs/bpf/a b/wl_guard", &b, err, sizeof(err)),
		     -EINVAL, "a pin path with a space accepted");
	cr_expect(strstr(err, "--bpffs"), "error names no option: %s", err);
	pal_strbuf_free(&b);
}
