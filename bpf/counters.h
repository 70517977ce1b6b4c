/* Counters and events: per-CPU rule counters by IR rule id, per-interface verdict and drop-reason
 * counters per hook, and the ring buffer of deny/log events. Per-CPU values need no atomics;
 * userspace sums over CPUs. */
#ifndef PAL_BPF_COUNTERS_H
#define PAL_BPF_COUNTERS_H

#include "maps.h"
#include "parse.h"

/* The hook a program runs as, on which interface (stages.h fills it). */
struct pal_hookctx {
	__u32 ifindex; /* interface the hook counts on */
	__u8 hook;
	__u8 quiet; /* do not count rules or emit Log events (second xt_bpf evaluation) */
	__u8 trace; /* trace mode (trace.h): quiet, record the lists, change nothing */
	__u8 pad;
	__u32 slot; /* where the interface counts (pal_iface_get_slot: its slot or link slot); 0: by ifindex */
};

static __always_inline void pal_count_rule(__u32 rule_id, __u32 len)
{
	struct pal_rule_ctr *c;

	if (rule_id == PAL_RULE_ID_NONE)
		return;
	c = bpf_map_lookup_elem(&pal_rule_ctrs, &rule_id);
	if (!c)
		return;
	c->packets++;
	c->bytes += len;
}

/* A new counter's value, in .rodata: on the stack it would take ~240 bytes of frames that the
 * classifier's need (a Log event creates counters from inside its bpf_loop callback). */
static const struct pal_if_ctr pal_if_ctr_zero;

/* This CPU's counters of (interface, hook). An interface with a slot of its own, or an attached
 * interface without an entry that has a link slot (abi.h PAL_LINK_SLOTS), counts in pal_slot_ctrs
 * at that slot: an array read (the verifier inlines it) instead of a hash lookup on every packet.
 * Everything else counts in pal_if_ctrs by ifindex, created on first use: the reserved slots,
 * which unprogrammed interfaces share, and interfaces without an entry or a link slot. Readers
 * add the two (abi.h "pal_slot_ctrs"). */
static __always_inline struct pal_if_ctr *pal_if_ctr_get(__u32 slot, __u32 ifindex, __u8 hook)
{
	struct pal_ifctr_key key;
	struct pal_if_ctr *c;

	if (slot >= PAL_IFSLOT_FIRST && hook < PAL_HOOK_COUNT) {
		__u32 idx = slot * PAL_HOOK_COUNT + hook;

		c = bpf_map_lookup_elem(&pal_slot_ctrs, &idx);
		if (c)
			return c;
	}
	/* the hash key only here: built before the slot's lookup, it cost every packet its stores */
	key = (struct pal_ifctr_key){ .ifindex = ifindex, .hook = hook };
	c = bpf_map_lookup_elem(&pal_if_ctrs, &key);
	if (!c) {
		bpf_map_update_elem(&pal_if_ctrs, &key, &pal_if_ctr_zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&pal_if_ctrs, &key);
	}
	return c;
}

/* Counts a verdict (and a drop reason) on (interface, hook); returns the counters (NULL when the
 * map is full) for the event rate limiter. */
static __always_inline struct pal_if_ctr *pal_count_if(const struct pal_hookctx *h, __u32 verdict,
							__u32 reason)
{
	struct pal_if_ctr *c = pal_if_ctr_get(h->slot, h->ifindex, h->hook);

	if (!c)
		return 0;
	if (verdict < PAL_VERDICT_COUNT)
		c->verdict[verdict]++;
	if (reason != PAL_DROP_NONE && reason < PAL_DROP_COUNT)
		c->drop[reason]++;
	return c;
}

/* Counts a drop of len bytes for reason on (interface, hook): pal_count_if plus the bytes, which
 * only the deny path pays for. Returns the counters as pal_count_if does. */
static __always_inline struct pal_if_ctr *pal_count_drop(const struct pal_hookctx *h, __u32 reason,
							  __u32 len)
{
	struct pal_if_ctr *c = pal_count_if(h, PAL_VERDICT_DENY, reason);

	if (c && reason != PAL_DROP_NONE && reason < PAL_DROP_COUNT)
		c->drop_bytes[reason] += len;
	return c;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_HOOK_COUNT);
	__type(key, __u32);
	__type(value, struct pal_event_clock);
} event_clock SEC(".maps");

/* The event rate limiter's clock on this CPU: the coarse monotonic clock, read once per tick and
 * hook. A flood pays the limiter's check on every dropped packet, and the clock helper was most
 * of it (~35-50 ns per packet in this VM's BPF_PROG_TEST_RUN, the coarse clock's helper call as
 * well as the fine one's); bpf_jiffies64 is one inlined load (Linux 5.5). The coarse clock moves
 * only when the tick updates the timekeeper, right after jiffies: a reading taken in between is a
 * tick old and used for that tick, so an event may wait one tick more. Raw OUTPUT runs
 * preemptible and two tasks may interleave on its slot: a torn pair is a reading up to a tick
 * old, again. What depends on it is which events are sent, never a verdict. */
static __always_inline __u64 pal_event_now(__u8 hook, __u64 j)
{
	__u32 k = hook;
	struct pal_event_clock *t = bpf_map_lookup_elem(&event_clock, &k);

	if (!t)
		return bpf_ktime_get_coarse_ns();
	if (t->jiffies != j || !t->ns) {
		t->ns = bpf_ktime_get_coarse_ns();
		t->jiffies = j;
	}
	return t->ns;
}

/* A bucket that holds less time than this (burst x interval) reads the fine clock instead: a
 * reading that moves once per tick refills a tick's worth of events at once, and the bucket would
 * cap that at its burst. 20 ms: two ticks at HZ=100, the slowest tick, as a reading may be a tick
 * old. The defaults hold 100 ms. */
#define PAL_EVENT_TICK_CLOCK_MIN_NS (20ull * 1000 * 1000)

/* An event the limiter holds back: counted; with the tick clock, the rest of tick j is held back
 * too, without reading the configuration, the clock or the bucket again (pal_event_admit). */
static __always_inline int pal_event_hold(struct pal_if_ctr *c, int tick_clock, __u64 j)
{
	c->events_suppressed++;
	if (tick_clock)
		c->event_quiet_jiffies = j;
	return 0;
}

/* The event rate limiter: may (interface, hook) emit one more event on this CPU now? A DDoS must
 * not pay for its own logging (a ring buffer reservation, the event, the consumer's wakeup per
 * dropped packet), and the ring buffer must keep room for other interfaces' events. GCRA, a token
 * bucket kept as one timestamp (event_tat_ns: when the full burst is available again): each
 * admitted event moves it one interval later, and an event is admitted while it stays within
 * `burst` intervals of now. So at most `burst` events at once, then one per interval. Per CPU,
 * so no atomics: the limit is per CPU too (docs/datapath.md "Events"). What is not admitted is
 * counted exactly in events_suppressed; with no counters (map full) nothing is emitted.
 * The clock moves once per tick (pal_event_now) unless the bucket is short
 * (PAL_EVENT_TICK_CLOCK_MIN_NS): within a tick the bucket sees no refill, so the events of a
 * flood come in a bunch at the start of each tick; over time the rate and the burst are the
 * same. So once the bucket holds an event back in a tick, it would hold back every later one of
 * that tick: those cost a compare with the tick (event_quiet_jiffies), not the configuration,
 * clock and bucket reads (~10 ns per dropped packet of a flood at XDP). A new rate or burst
 * applies from the next tick. */
static __always_inline int pal_event_admit(struct pal_if_ctr *c, __u8 hook)
{
	__u32 zero = 0;
	struct pal_config *cfg;
	__u64 interval = PAL_EVENT_INTERVAL_DEF_NS, burst = PAL_EVENT_BURST_DEF, now, tat;
	__u64 j = bpf_jiffies64();
	int tick_clock;

	if (!c)
		return 0;
	if (c->event_quiet_jiffies == j) {
		c->events_suppressed++;
		return 0;
	}
	cfg = bpf_map_lookup_elem(&pal_config, &zero);
	if (cfg && cfg->event_interval_ns)
		interval = cfg->event_interval_ns;
	if (cfg && cfg->event_burst)
		burst = cfg->event_burst;
	tick_clock = burst * interval >= PAL_EVENT_TICK_CLOCK_MIN_NS;
	now = tick_clock ? pal_event_now(hook, j) : bpf_ktime_get_ns();
	tat = c->event_tat_ns > now ? c->event_tat_ns : now;
	if (tat - now + interval > burst * interval)
		return pal_event_hold(c, tick_clock, j);
	c->event_tat_ns = tat + interval;
	return 1;
}

static __always_inline void pal_fill_event(struct pal_event *ev, const struct pal_pkt *p,
					   __u32 ifindex, __u8 hook, __u8 stage, __u8 type,
					   __u8 reason, __u32 rule_id)
{
	/* One assignment writes every byte of the record: a field added to pal_event and not
	 * named here reaches userspace as 0, not as whatever the ring buffer held before. */
	*ev = (struct pal_event){
		.ts_ns = bpf_ktime_get_ns(),
		.ifindex = ifindex,
		.rule_id = rule_id,
		.type = type,
		.hook = hook,
		.reason = reason,
		.stage = stage,
		.family = p->family,
		.proto = p->proto,
		.sport = p->has_ports ? p->sport : 0,
		.dport = p->has_ports ? p->dport : 0,
		.icmp_type = p->icmp_type,
		.icmp_code = p->icmp_code,
		.len = p->len,
	};
	__builtin_memcpy(ev->src, p->src, 16);
	__builtin_memcpy(ev->dst, p->dst, 16);
}

/* A ring buffer record for an event of (interface, hook) counted on c, within the rate limit;
 * NULL when the limiter holds it back (counted) or the ring buffer is full (counted). */
static __always_inline struct pal_event *pal_event_reserve(struct pal_if_ctr *c, __u8 hook)
{
	struct pal_event *ev;

	if (!pal_event_admit(c, hook))
		return 0;
	ev = bpf_ringbuf_reserve(&pal_events, sizeof(*ev), 0);
	if (!ev)
		c->events_lost++;
	return ev;
}

/* Emits a deny event for a packet counted on c (pal_count_if), within the rate limit. */
static __always_inline void pal_emit_deny(struct pal_if_ctr *c, const struct pal_pkt *p,
					  __u32 ifindex, __u8 hook, __u8 stage, __u8 reason,
					  __u32 rule_id)
{
	struct pal_event *ev = pal_event_reserve(c, hook);

	if (!ev)
		return;
	pal_fill_event(ev, p, ifindex, hook, stage, PAL_EVENT_DENY, reason, rule_id);
	bpf_ringbuf_submit(ev, 0);
}

#endif
