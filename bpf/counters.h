/* Counters and events: per-CPU rule counters by IR rule id, per-interface verdict and drop-reason
 * counters per hook, and the ring buffer of deny/log events. Per-CPU values need no atomics;
 * userspace sums over CPUs. */
#ifndef PAL_BPF_COUNTERS_H
#define PAL_BPF_COUNTERS_H

#include "maps.h"
#include "parse.h"

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

static __always_inline void pal_count_if(__u32 ifindex, __u8 hook, __u32 verdict, __u32 reason)
{
	struct pal_ifctr_key key = { .ifindex = ifindex, .hook = hook };
	struct pal_if_ctr *c = bpf_map_lookup_elem(&pal_if_ctrs, &key);

	if (!c) {
		struct pal_if_ctr zero = {};

		bpf_map_update_elem(&pal_if_ctrs, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&pal_if_ctrs, &key);
		if (!c)
			return;
	}
	if (verdict < PAL_VERDICT_COUNT)
		c->verdict[verdict]++;
	if (reason != PAL_DROP_NONE && reason < PAL_DROP_COUNT)
		c->drop[reason]++;
}

static __always_inline void pal_fill_event(struct pal_event *ev, const struct pal_pkt *p,
					   __u32 ifindex, __u8 hook, __u8 stage, __u8 type,
					   __u8 reason, __u32 rule_id)
{
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ifindex = ifindex;
	ev->rule_id = rule_id;
	ev->type = type;
	ev->hook = hook;
	ev->reason = reason;
	ev->stage = stage;
	ev->family = p->family;
	ev->proto = p->proto;
	ev->sport = p->has_ports ? p->sport : 0;
	ev->dport = p->has_ports ? p->dport : 0;
	ev->icmp_type = p->icmp_type;
	ev->icmp_code = p->icmp_code;
	ev->len = p->len;
	__builtin_memcpy(ev->src, p->src, 16);
	__builtin_memcpy(ev->dst, p->dst, 16);
}

/* pal_events was full: count the event lost (userspace reports sent = received + lost). */
static __always_inline void pal_event_lost(__u8 type)
{
	__u32 zero = 0;
	struct pal_event_stats *st = bpf_map_lookup_elem(&pal_event_stats, &zero);

	if (!st)
		return;
	if (type == PAL_EVENT_LOG)
		st->lost_log++;
	else
		st->lost_deny++;
}

static __always_inline void pal_emit_deny(const struct pal_pkt *p, __u32 ifindex, __u8 hook,
					  __u8 stage, __u8 reason, __u32 rule_id)
{
	struct pal_event *ev = bpf_ringbuf_reserve(&pal_events, sizeof(*ev), 0);

	if (!ev) {
		pal_event_lost(PAL_EVENT_DENY);
		return;
	}
	pal_fill_event(ev, p, ifindex, hook, stage, PAL_EVENT_DENY, reason, rule_id);
	bpf_ringbuf_submit(ev, 0);
}

#endif
