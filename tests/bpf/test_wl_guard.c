/* The workload guard (bpf/wl_guard.bpf.c), run as xt_bpf runs it (a socket filter on an skb whose
 * device is the interface): it matches (1: the rule drops) exactly the packets of an interface
 * without a pal_ifaces entry: one never bound, one unbound again (a deleted pod: its ifindex may
 * come back), one beyond the pal_if_index array; it lets through (0) a bound interface and one on
 * the reserved deny-everything slot (tc drops those). Also its cost per packet. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "bpft.h"
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

Test(bpf_wl_guard, drops_only_interfaces_palisade_has_not_taken_over)
{
	int a = T.ifindex[BT_CALI0], b = T.ifindex[BT_CALI1];
	bool kept;

	cr_expect_eq(run_guard(a, 1, NULL), 1, "a never bound interface passes the guard");
	bind_iface(a);
	cr_expect_eq(run_guard(a, 1, NULL), 0, "a bound interface is dropped by the guard");
	cr_expect_eq(run_guard(b, 1, NULL), 1, "binding cali0 opened cali1");
	cr_assert_eq(pal_dp_iface_unprogrammed(T.dp, (uint32_t)b, false, &kept), 0);
	cr_expect_eq(run_guard(b, 1, NULL), 0, "an interface on the deny-everything slot is dropped "
		     "by the guard (tc drops it, with a count)");
	cr_assert_eq(pal_dp_iface_remove(T.dp, (uint32_t)a, NULL, NULL), 0);
	cr_expect_eq(run_guard(a, 1, NULL), 1, "an unbound interface (a deleted pod) passes the guard");
}

Test(bpf_wl_guard, an_ifindex_beyond_the_array)
{
	uint32_t big = PAL_IF_INDEX_DIRECT + 9;
	int ifi = bt_veth_add("gdbig", big);

	cr_expect_eq(run_guard(ifi, 1, NULL), 1, "an unbound ifindex %u passes the guard", big);
	bind_iface(ifi);
	cr_expect_eq(run_guard(ifi, 1, NULL), 0, "a bound ifindex %u is dropped by the guard", big);
}

/* What the guard adds to each packet of pod traffic, as the kernel times the program alone (the
 * xt_bpf rule around it is measured in docs/benchmarks.md). A bound interface is the common case. */
Test(bpf_wl_guard, cost_per_packet)
{
	uint32_t ns = 0, best = UINT32_MAX;

	bind_iface(T.ifindex[BT_CALI0]);
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
