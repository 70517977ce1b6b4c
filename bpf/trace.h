/* Trace mode: `polctl trace` runs the pinned programs with BPF_PROG_TEST_RUN on a crafted packet
 * and reads back, from the per-CPU pal_trace map (palisade/abi.h struct pal_trace), which lists the
 * programs ran and what their classifier decided in each. In trace mode a program changes nothing
 * else: no counters, events, flow, fragment or conntrack entries (palisade.bpf.c).
 *
 * WHO CAN TURN IT ON. A packet is traced only when skb->cb[0] and cb[1] hold the 64-bit nonce
 * that polctl (root, through bpf(2) on the pinned map) wrote into this CPU's pal_trace just before
 * the run; it is random per run and cleared afterwards. A test run is the only way userspace sets
 * cb[] on a packet, and a sender on the wire cannot read the map to learn the nonce, so real
 * traffic never skips its counters, events or flow entries this way. Not a flag in the map alone:
 * a real packet handled on that CPU during the run would see it; not the mark: senders choose
 * marks (SO_MARK). */
#ifndef PAL_BPF_TRACE_H
#define PAL_BPF_TRACE_H

/* only what pal_trace needs (not maps.h): tests/live/trace_liar.bpf.c includes this too */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_trace);
} pal_trace SEC(".maps");

/* This CPU's trace record, or NULL. */
static __always_inline struct pal_trace *pal_trace_rec(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pal_trace, &zero);
}

/* 1 when skb is a trace run's packet (see above); starts an empty record then. */
static __always_inline __u8 pal_trace_begin(struct __sk_buff *skb)
{
	struct pal_trace *t;

	/* a nonce is never 0, so a packet whose cb[0] and cb[1] are both 0 is no trace run's: the
	 * map is not looked up for it (the same answer, without the lookup) */
	if (!(skb->cb[0] | skb->cb[1]))
		return 0;
	t = pal_trace_rec();
	if (!t || !t->nonce || skb->cb[0] != (__u32)t->nonce ||
	    skb->cb[1] != (__u32)(t->nonce >> 32))
		return 0;
	t->n_lists = 0;
	t->drop_reason = PAL_DROP_NONE;
	t->entered = 1;
	return 1;
}

/* The traced packet is dropped for reason (pal_drop, which counts nothing in trace mode). */
static __always_inline void pal_trace_drop(__u32 reason)
{
	struct pal_trace *t = pal_trace_rec();

	if (t)
		t->drop_reason = reason;
}

/* The record of the list being classified now (the next free one), or NULL when full. */
static __always_inline struct pal_trace_list *pal_trace_cur(struct pal_trace *t)
{
	__u32 i = t->n_lists;

	if (i >= PAL_TRACE_MAX_LISTS)
		return 0;
	return &t->lists[i];
}

/* A classification starts: no Log hits yet. */
static __always_inline void pal_trace_list_start(void)
{
	struct pal_trace *t = pal_trace_rec();
	struct pal_trace_list *l = t ? pal_trace_cur(t) : 0;

	if (l)
		l->n_logged = 0;
}

/* A Log entry hit during the classification. */
static __always_inline void pal_trace_log(__u32 rule_id)
{
	struct pal_trace *t = pal_trace_rec();
	struct pal_trace_list *l = t ? pal_trace_cur(t) : 0;
	__u32 n;

	if (!l)
		return;
	n = l->n_logged;
	if (n >= PAL_MAX_LOGS)
		return;
	l->logged[n & (PAL_MAX_LOGS - 1)] = rule_id;
	l->n_logged = n + 1;
}

/* The classification ended: records what decided. */
static __always_inline void pal_trace_list_end(__u32 list_id, __u8 hook, __u8 stage, __u8 status,
					       __u8 action, __u8 kind, __u32 entry, __u32 rule_id)
{
	struct pal_trace *t = pal_trace_rec();
	struct pal_trace_list *l = t ? pal_trace_cur(t) : 0;

	if (!l)
		return;
	l->list_id = list_id;
	l->hook = hook;
	l->stage = stage;
	l->status = status;
	l->action = action;
	l->kind = kind;
	l->entry = entry;
	l->rule_id = rule_id;
	t->n_lists++;
}

#endif
