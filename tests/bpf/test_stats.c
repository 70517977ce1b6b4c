/* Readers for polctl and metrics, on a read-only second handle: counters per interface, flows
 * (and flush), map fill, the event stream. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "bpft.h"
#include "stats.h"
#include "test_compiler_util.h"

BT_TABLE_SUITE(bpf_stats);

struct seen {
	int ifctrs, flows, denies;
	uint64_t xdp_drops;
	uint32_t eth0;
};

static int on_ifctr(uint32_t ifindex, enum pal_hook hook, const struct pal_if_ctr *c, void *ctx)
{
	struct seen *s = ctx;

	s->ifctrs++;
	if (ifindex == s->eth0 && hook == PAL_HOOK_XDP)
		s->xdp_drops += c->drop[PAL_DROP_POLICY];
	return 0;
}

static int on_flow(const struct pal_flow_key *k, const struct pal_flow *f, void *ctx)
{
	(void)k;
	(void)f;
	((struct seen *)ctx)->flows++;
	return 0;
}

static int on_event(const struct pal_event *e, void *ctx)
{
	((struct seen *)ctx)->denies += e->type == PAL_EVENT_DENY;
	return 0;
}

Test(bpf_stats, read_only_readers)
{
	struct pal_datapath *ro = NULL;
	struct pal_dp_events *ev;
	struct pal_dp_fill fill[PAL_DP_FILL_N];
	struct seen s = { .eth0 = (uint32_t)T.ifindex[BT_ETH0] };
	char err[512] = "";
	struct pal_packet deny = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 40000, "198.18.0.1", 9001);
	struct pal_packet allow = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 40000, "198.18.0.1", 80);

	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .read_only = true },
				 &ro, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_lt(pal_dp_prog_fd(ro, PAL_PROG_TC_INGRESS), 0, "read-only has no programs");
	ev = pal_dp_events_open(ro, on_event, &s);
	cr_assert_not_null(ev);
	bt_flush_flows(&T);
	cr_assert_not(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &deny, NULL).allow);
	cr_assert(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &allow, NULL).allow);

	cr_assert_eq(pal_dp_foreach_if_counter(ro, on_ifctr, &s), 0);
	cr_assert_gt(s.ifctrs, 0);
	cr_assert_eq(s.xdp_drops, 1);
	cr_assert_eq(pal_dp_foreach_flow(ro, on_flow, &s), 0);
	cr_assert_eq(s.flows, 1, "one entry for both directions of the allowed flow");
	cr_assert_geq(pal_dp_events_poll(ev, 0), 1);
	cr_assert_eq(s.denies, 1);
	cr_assert_eq(pal_dp_fill(ro, fill), 0);
	cr_assert_str_eq(fill[0].map, "pal_words");
	cr_assert_gt(fill[0].used, 0);
	cr_assert_eq(fill[0].max, 1u << 22);
	cr_assert_eq(fill[4].used, 3, "eth0, eth1, cali1 are bound");
	cr_assert_str_eq(fill[6].map, "pal_flows4");
	cr_assert_eq(fill[6].used, 1, "pal_flows4: one entry per IPv4 flow");
	cr_assert_eq(fill[5].used, 0, "pal_flows: IPv6 only");
	cr_assert_eq(pal_dp_flush_flows(ro), 1);
	s.flows = 0;
	pal_dp_foreach_flow(ro, on_flow, &s);
	cr_assert_eq(s.flows, 0);
	pal_dp_events_close(ev);
	pal_dp_close(ro);
}

Test(bpf_stats, read_only_refuses_missing_datapath)
{
	struct pal_datapath *ro = NULL;
	char err[512] = "";

	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = "/sys/fs/bpf/palisade-none",
							.read_only = true },
				 &ro, NULL, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no datapath pinned"), "%s", err);
}

static int count_event(const struct pal_event *e, void *ctx)
{
	(void)e;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* At the highest --event-rate nearly every deny is sent; with nobody reading, the ring buffer
 * fills, and the events that do not fit are counted lost (pal_if_ctr.events_lost), so that drops =
 * events read + over the rate limit + lost, exactly: the accounting the agent's metrics and the
 * flood test (tests/e2e/test_agent_event_flood.sh) rely on. */
static void setup_fast_events(void)
{
	bt_event_rate = 1000000;
	bt_setup_table(&T, &C);
}

static void teardown_fast_events(void)
{
	bt_teardown_table(&T, &C);
	bt_event_rate = 0;
}

TestSuite(bpf_events_ring, .init = setup_fast_events, .fini = teardown_fast_events);

Test(bpf_events_ring, events_lost_when_the_ring_is_full)
{
	struct pal_packet deny = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 40000, "198.18.0.1", 9001);
	const uint64_t n = PAL_DEF_EVENTS_BYTES / sizeof(struct pal_event) + 1000;
	int eth0 = T.ifindex[BT_ETH0];
	struct pal_if_ctr c0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP), c1;
	uint64_t got = 0, lost;
	struct pal_dp_events *ev = pal_dp_events_open(T.dp, count_event, &got);

	cr_assert_not_null(ev);
	for (uint64_t i = 0; i < n; i++)
		cr_assert_not(bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &deny, NULL).allow);
	while (pal_dp_events_poll(ev, 0) > 0)
		;
	c1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	lost = c1.events_lost - c0.events_lost;
	cr_assert_eq(c1.drop[PAL_DROP_POLICY] - c0.drop[PAL_DROP_POLICY], n);
	cr_assert_gt(lost, 0, "the ring never filled");
	cr_assert_eq(got + (c1.events_suppressed - c0.events_suppressed) + lost, n,
		     "read %llu + suppressed %llu + lost %llu != denied %llu", (unsigned long long)got,
		     (unsigned long long)(c1.events_suppressed - c0.events_suppressed),
		     (unsigned long long)lost, (unsigned long long)n);
	pal_dp_events_close(ev);
}
