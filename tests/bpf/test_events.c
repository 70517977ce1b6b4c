/* Deny events under a flood: rate-limited per interface and hook, and every drop accounted for.
 *
 * Two host endpoints, eth0 and eth1, with an untracked (doNotTrack) deny of TCP port 9001: XDP
 * drops it. The datapath runs at --event-rate 1 (one event per second after a burst of
 * PAL_EVENT_BURST_DEF). A flood of FLOOD packets on eth0 must then emit at most the burst plus
 * what the elapsed time refills, count every other one in events_suppressed (emitted +
 * suppressed + lost = dropped, exactly), and leave eth1's events alone: its first deny still
 * emits. Without the limiter every dropped packet emitted an event (FLOOD events).
 *
 * Within a tick the limiter holds back every event after the first it held back (counters.h
 * pal_event_admit: it reads the tick clock, so the bucket sees no refill before the next tick);
 * the refill test shows that a tick later it looks again. A bucket shorter than the tick clock's
 * minimum reads the fine clock instead, and refills within a tick: suite bpf_events_fine (10,000
 * events/s, a bucket of 10 ms) sends an event a few intervals after a flood spent its burst, in
 * the same tick (4 ms at HZ=250) far more often than not. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define FLOOD 2000

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h0, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h1, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth1, expectedIPs: [198.18.1.1]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: raw}\n"
	"spec:\n  selector: role == 'h'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [9001]}}\n";

static struct bpft T;
static struct ctest C;
static struct ring_buffer *rb;
static int n_events[2]; /* per interface: eth0, eth1 */
static struct pal_event last_deny; /* the record of the last deny event, as userspace reads it */

static int on_event(void *ctx, void *data, size_t len)
{
	const struct pal_event *ev = data;

	(void)ctx;
	if (len < sizeof(*ev) || ev->type != PAL_EVENT_DENY)
		return 0;
	memcpy(&last_deny, ev, sizeof(last_deny));
	if (ev->ifindex == (uint32_t)T.ifindex[BT_ETH0])
		n_events[0]++;
	else if (ev->ifindex == (uint32_t)T.ifindex[BT_ETH1])
		n_events[1]++;
	return 0;
}

static void setup(void)
{
	bt_event_rate = 1;
	bt_setup_compiled(&T, &C, yaml);
	rb = bt_events_open(&T, on_event);
}

static void teardown(void)
{
	ring_buffer__free(rb);
	bt_teardown_table(&T, &C);
	bt_event_rate = 0;
}

TestSuite(bpf_events, .init = setup, .fini = teardown);

/* One denied packet at XDP of interface i (eth0 or eth1), source port sport. */
static void deny_one(int i, uint16_t sport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.200.1", sport,
				     i ? "198.18.1.1" : "198.18.0.1", 9001);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);
	int ifx = T.ifindex[i ? BT_ETH1 : BT_ETH0];

	cr_assert_eq(bt_run_xdp(&T, ifx, buf, len, NULL), 1 /* XDP_DROP */, "not dropped at XDP");
}

Test(bpf_events, a_flood_pays_for_at_most_the_burst_and_counts_the_rest)
{
	int eth0 = T.ifindex[BT_ETH0], eth1 = T.ifindex[BT_ETH1];
	struct pal_if_ctr c0, c1;
	uint64_t t0 = bt_now_ns(), secs, emitted;

	for (int k = 0; k < FLOOD; k++)
		deny_one(0, (uint16_t)(10000 + k));
	secs = (bt_now_ns() - t0) / 1000000000ull + 1; /* what the refill may have added */
	deny_one(1, 10000);
	ring_buffer__consume(rb);
	c0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	c1 = bt_ifctr(&T, eth1, PAL_HOOK_XDP);

	cr_assert_eq(c0.drop[PAL_DROP_POLICY], FLOOD, "every packet is counted as a drop");
	emitted = (uint64_t)n_events[0];
	cr_assert_geq(emitted, PAL_EVENT_BURST_DEF, "the burst is emitted: %llu events",
		      (unsigned long long)emitted);
	/* one CPU ran the flood (a test run stays on its CPU), but allow each CPU its burst */
	cr_assert_leq(emitted, (uint64_t)libbpf_num_possible_cpus() * (PAL_EVENT_BURST_DEF + secs),
		      "%llu events for %d drops at 1 event/s", (unsigned long long)emitted, FLOOD);
	cr_assert_eq(emitted + c0.events_suppressed + c0.events_lost, FLOOD,
		     "emitted %llu + suppressed %llu + lost %llu != %d dropped",
		     (unsigned long long)emitted, (unsigned long long)c0.events_suppressed,
		     (unsigned long long)c0.events_lost, FLOOD);
	cr_assert_eq(c0.events_lost, 0, "the ring buffer had room");
	/* the other interface has its own bucket */
	cr_assert_eq(n_events[1], 1, "eth1's deny was not reported");
	cr_assert_eq(c1.events_suppressed, 0);
}

/* The limiter's clock moves: once a flood has spent the burst, the time that passes refills the
 * bucket (one event per second here), so the next deny after a second is emitted again. The
 * limiter reads the coarse clock once per tick (counters.h pal_event_now); a reading that was
 * never taken again would keep the interface silent for good. */
Test(bpf_events, the_bucket_refills_as_time_passes)
{
	int eth0 = T.ifindex[BT_ETH0];
	struct pal_if_ctr c0, c1;
	int before;

	for (int k = 0; k < 2 * (int)PAL_EVENT_BURST_DEF; k++)
		deny_one(0, (uint16_t)(10000 + k));
	ring_buffer__consume(rb);
	c0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	cr_assert_gt(c0.events_suppressed, 0, "the flood spent the burst");
	before = n_events[0];
	usleep(1100 * 1000); /* more than one interval at 1 event/s, and more than a tick */
	deny_one(0, 20000);
	ring_buffer__consume(rb);
	c1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	cr_assert_eq(n_events[0] - before, 1, "no event after a second: %d (suppressed %llu -> %llu)",
		     n_events[0] - before, (unsigned long long)c0.events_suppressed,
		     (unsigned long long)c1.events_suppressed);
	cr_assert_eq(c1.events_suppressed, c0.events_suppressed);
}

/* Every byte of a deny event's record as userspace reads it: the packet's tuple, length,
 * interface, hook, stage, reason and the deciding rule, and zeros where the packet has nothing
 * (ICMP fields of TCP, the rest of an IPv4 address); only the timestamp is the kernel's. */
Test(bpf_events, the_deny_record_byte_for_byte)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.200.1", 40123, "198.18.0.1", 9001);
	struct pal_verdict v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
	struct pal_event want;
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	cr_assert_not(v.allow, "the evaluator denies: %s", v.reason);
	cr_assert_neq(v.rule_id, UINT32_MAX, "a rule decides");
	cr_assert_eq(bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, NULL), 1 /* XDP_DROP */);
	ring_buffer__consume(rb);
	cr_assert_eq(n_events[0], 1, "one deny event");

	memset(&want, 0, sizeof(want));
	want.ts_ns = last_deny.ts_ns;
	want.ifindex = (uint32_t)T.ifindex[BT_ETH0];
	want.rule_id = v.rule_id;
	want.type = PAL_EVENT_DENY;
	want.hook = PAL_HOOK_XDP;
	want.reason = PAL_DROP_POLICY;
	want.stage = PAL_DP_STAGE_UNTRACKED;
	want.family = 4;
	want.proto = PAL_PROTO_TCP;
	want.sport = 40123;
	want.dport = 9001;
	want.len = (uint32_t)len;
	memcpy(want.src, (uint8_t[]){ 198, 18, 200, 1 }, 4);
	memcpy(want.dst, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	cr_assert_gt(last_deny.ts_ns, 0, "no timestamp");
	cr_assert_lt(last_deny.ts_ns, bt_now_ns() + 1, "a timestamp from the future");
	cr_assert_arr_eq(&last_deny, &want, sizeof(want),
			 "record: ifindex %u rule %u type %u hook %u reason %u stage %u family %u "
			 "proto %u ports %u>%u icmp %u/%u len %u",
			 last_deny.ifindex, last_deny.rule_id, last_deny.type, last_deny.hook,
			 last_deny.reason, last_deny.stage, last_deny.family, last_deny.proto,
			 last_deny.sport, last_deny.dport, last_deny.icmp_type, last_deny.icmp_code,
			 last_deny.len);
}

/* ---- a bucket shorter than the tick clock's minimum: the fine clock ---- */

static void setup_fine(void)
{
	bt_event_rate = 10000; /* an interval of 100 us: a bucket of 10 ms, read with the fine clock */
	bt_setup_compiled(&T, &C, yaml);
	rb = bt_events_open(&T, on_event);
}

TestSuite(bpf_events_fine, .init = setup_fine, .fini = teardown);

/* Spins for us microseconds (a sleep could cross a tick, hiding a limiter that waits for one). */
static void spin_us(uint64_t us)
{
	uint64_t t0 = bt_now_ns();

	while (bt_now_ns() - t0 < us * 1000)
		;
}

Test(bpf_events_fine, a_short_bucket_refills_within_a_tick)
{
	int eth0 = T.ifindex[BT_ETH0];
	struct pal_if_ctr c0, c1;
	int before;

	for (int k = 0; k < 4 * (int)PAL_EVENT_BURST_DEF; k++)
		deny_one(0, (uint16_t)(10000 + k));
	ring_buffer__consume(rb);
	c0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	cr_assert_gt(c0.events_suppressed, 0, "the flood spent the burst");
	before = n_events[0];
	spin_us(500); /* five intervals: the bucket holds an event again */
	deny_one(0, 20000);
	ring_buffer__consume(rb);
	c1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
	cr_assert_eq(n_events[0] - before, 1,
		     "no event 500 us after the flood at 10,000 events/s: %d (suppressed %llu -> %llu)",
		     n_events[0] - before, (unsigned long long)c0.events_suppressed,
		     (unsigned long long)c1.events_suppressed);
}
