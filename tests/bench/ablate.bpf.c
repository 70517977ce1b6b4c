// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The cost model's ablation variants of the datapath (docs/benchmarks.md "Cost model"): this
 * file compiles bpf/palisade.bpf.c unchanged, with one or more steps short-circuited by macros,
 * so the datapath's sources carry no benchmark switches. mk/bench.mk builds one object per
 * variant (-DPAL_ABLATE_<STEP>), a skeleton of it, and a bench-classify linked against that
 * skeleton; the difference between a variant's figures and the unablated build's, measured in
 * the same run, is what the step costs.
 *
 *   PAL_ABLATE_EVENTS    no ring-buffer event: bpf_ringbuf_reserve always fails, as when the
 *                        ring is full (every caller already handles that)
 *   PAL_ABLATE_COUNTERS  per-interface and per-rule counters go to one per-CPU array slot
 *                        instead of their per-CPU hash maps (the increments stay, the hash
 *                        lookups go: the "array slot per interface" idea, measured)
 *   PAL_ABLATE_FAILSAFE  the failsafe LPM lookup is not made (answers "no failsafe port"; the
 *                        benchmark's packets match none, so verdicts do not change)
 *   PAL_ABLATE_FLOWINS   no flow entry is written to pal_flows4/pal_flows (the update answers success):
 *                        only meaningful where every packet is a new flow anyway (live.sh's
 *                        ablate group); an established flow would never be found
 *   PAL_ABLATE_CT        the conntrack kfunc is not called: bpf_skb_ct_lookup answers "no such
 *                        connection", as it does anyway where conntrack is not active (the
 *                        live benchmark's namespaces with palisade alone)
 * The established packet's flow check, step by step (BPF_PROG_TEST_RUN's established path only):
 *   PAL_ABLATE_FLOWHASH  flow table lookups answer one global entry instead of hashing the key
 *                        (an established TCP flow, never re-judged, never idle): what the LRU
 *                        hash lookup costs
 *   PAL_ABLATE_CLOCK     the flow clock reads a constant instead of bpf_ktime_get_coarse_ns
 *   PAL_ABLATE_LIFECYCLE an entry found is established: no SYN, idle-timeout, tombstone or
 *                        generation check (pal_flow_plain_hit and pal_flow_classify_entry
 *                        answer PAL_FLOW_HIT)
 *   PAL_ABLATE_FLOWCHECK the whole flow check answers "established" (no key, lookup, lifecycle)
 *   PAL_ABLATE_MEMO      no established memo (bpf/memo.h): tc ingress writes none, tc egress
 *                        finds none and looks the flow up itself (what the memo costs tc ingress
 *                        and saves tc egress: the established and forwarded rows)
 *
 * A new forwarded flow's steps (tc egress and tc ingress; live.sh's ablate group, bench-classify's
 * newflow line):
 *   PAL_ABLATE_FWDCLASS  the forward lists (applyOnForward) are not classified: their stage
 *                        answers allow (what classifying a new flow's forward policy costs)
 *   PAL_ABLATE_CTMISS    the flow check's miss asks conntrack nothing: pal_flow_find_ct answers
 *                        "no other tuple known" without the kfunc (tc ingress and tc egress)
 *   PAL_ABLATE_CTSNAT    tc egress asks conntrack nothing for the source before SNAT: "not
 *                        source-NATed" without the kfunc
 *   PAL_ABLATE_CTINS     the flow's entry is written under the packet's own tuple only: no
 *                        conntrack lookup for the NAT tuples (pal_flow_insert_ct)
 *   PAL_ABLATE_INSERT    no flow entry at all: no value built, no update, no conntrack lookup
 *                        (compare PAL_ABLATE_FLOWINS: the map update alone)
 *
 * The XDP deny's fixed part (bench-xdp-deny; docs/benchmarks.md "The XDP deny's fixed part"):
 *   PAL_ABLATE_XDPPRE    the host endpoint's pre-stages are not run: every parsed IP packet of
 *                        a host endpoint is denied (PAL_DROP_POLICY) without the failsafe checks
 *                        or the classifier; with PAL_ABLATE_XDPDROP, what remains is the
 *                        interface lookup, the parse and the program's own branches
 *   PAL_ABLATE_XDPCLS    the untracked list is not classified: its stage answers Deny (the
 *                        failsafe checks, counters and event check stay)
 *   PAL_ABLATE_XDPFS     no failsafe check: no port bitmap read, no LPM lookup
 *   PAL_ABLATE_XDPDROP   a drop is neither counted nor checked for an event (pal_drop does
 *                        nothing)
 *   PAL_ABLATE_XDPIFC    no interface lookup: every interface is a host endpoint (a constant
 *                        configuration, no list; counted by ifindex): with XDPPRE, XDPDROP and
 *                        XDPPARSE, what remains is the program's own floor
 *   PAL_ABLATE_XDPIFX    as PAL_ABLATE_XDPIFC, but ctx->ingress_ifindex is still read (the
 *                        kernel's rewrite: three dependent loads) and kept live: the difference
 *                        to XDPIFC is that read, to the full lookup the three map lookups
 *   PAL_ABLATE_XDPPARSE  no parse: every frame is taken for a well-formed IPv4 packet without
 *                        ports (with XDPPRE and XDPDROP, what remains is the interface lookup)
 *
 * A variant is for measuring only: it loses counts, events, failsafe ports, NAT tuples or policy. */

/* A variant's short-circuit leaves the real function unused. */
#pragma clang diagnostic ignored "-Wunused-function"

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade/abi.h"

/* The helpers as numbered in the kernel's UAPI (the names are taken by the macros below). */
#define ABL_REAL_LOOKUP ((void *(*)(void *, const void *))BPF_FUNC_map_lookup_elem)

#ifdef PAL_ABLATE_COUNTERS
/* One per-CPU array slot each: the verifier inlines an array lookup into a few instructions, so
 * what remains is the increments. (A plain global here made clang emit code the verifier
 * refused.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_if_ctr);
} abl_if_ctr SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_rule_ctr);
} abl_rule_ctr SEC(".maps");
#define ABL_COUNTER_MAP(m)                                                                         \
	((void *)(m) == (void *)&pal_if_ctrs	 ? (void *)&abl_if_ctr :                           \
	 (void *)(m) == (void *)&pal_rule_ctrs ? (void *)&abl_rule_ctr :                           \
						 (void *)(m))
#define ABL_KEY(m, k)                                                                              \
	((void *)(m) == (void *)&pal_if_ctrs || (void *)(m) == (void *)&pal_rule_ctrs ?            \
		 (const void *)&(__u32){ 0 } :                                                     \
		 (const void *)(k))
#else
#define ABL_COUNTER_MAP(m) ((void *)(m))
#define ABL_KEY(m, k) ((const void *)(k))
#endif

#ifdef PAL_ABLATE_FAILSAFE
#define ABL_SKIPPED(m) ((void *)(m) == (void *)&pal_failsafe)
#else
#define ABL_SKIPPED(m) 0
#endif

/* The flow tables (IPv4, IPv6). */
#define ABL_FLOW_MAP(m) ((void *)(m) == (void *)&pal_flows4 || (void *)(m) == (void *)&pal_flows)

/* Every map argument in the datapath is the address of a named map, so clang folds these
 * comparisons away: each lookup compiles to the real helper call, the stub, or nothing. */
#define bpf_map_lookup_elem(m, k)                                                                  \
	(ABL_SKIPPED(m) ? (void *)0 : ABL_REAL_LOOKUP(ABL_COUNTER_MAP(m), ABL_KEY(m, k)))

#ifdef PAL_ABLATE_FLOWINS
#define ABL_REAL_UPDATE ((long (*)(void *, const void *, const void *, __u64))BPF_FUNC_map_update_elem)
#define bpf_map_update_elem(m, k, v, f)                                                            \
	(ABL_FLOW_MAP(m) ? 0 : ABL_REAL_UPDATE((void *)(m), (k), (v), (f)))
#endif

#ifdef PAL_ABLATE_EVENTS
#define bpf_ringbuf_reserve(m, s, f) ((void *)0)
#endif

#ifdef PAL_ABLATE_CT
/* conntrack.h first, so that its declaration of the kfunc is not the macro's */
#define PAL_WITH_CT 1
#include "conntrack.h"
#define bpf_skb_ct_lookup(skb, tuple, tuple_sz, opts, opts_sz)                                     \
	((opts)->error = -PAL_ENOENT, (struct nf_conn *)0)
#endif

#ifdef PAL_ABLATE_FLOWHASH
/* Never idle (last_ns ahead of the clock), never re-judged (ALWAYS); the first packet's refresh
 * writes the current generation into it, after which no packet writes it. */
static struct pal_flow abl_flow = { .last_ns = ~0ULL, .state = PAL_FST_TCP_ESTABLISHED,
				    .flags = PAL_FLOW_ALWAYS };
#undef bpf_map_lookup_elem
#define bpf_map_lookup_elem(m, k)                                                                  \
	(ABL_FLOW_MAP(m) ?                                                                         \
		 (void *)&abl_flow :                                                               \
		 (ABL_SKIPPED(m) ? (void *)0 : ABL_REAL_LOOKUP(ABL_COUNTER_MAP(m), ABL_KEY(m, k))))
#endif

#ifdef PAL_ABLATE_CLOCK
#define bpf_ktime_get_coarse_ns() ((__u64)1)
#endif

/* The flow headers first, compiled as they are; the macros below then replace what
 * palisade.bpf.c calls (their include guards keep them from being read again). */
#ifdef PAL_ABLATE_LIFECYCLE
#define PAL_WITH_CT 1
#include "flow.h"
#define pal_flow_classify_entry(f, p, reply, c, gen, now) ((void)(c), (void)(reply), PAL_FLOW_HIT)
#define pal_flow_plain_hit(f, p, reply, gen, now) ((void)(reply), (void)(gen), (void)(now), 1)
#endif
#ifdef PAL_ABLATE_FLOWCHECK
#define PAL_WITH_CT 1
#include "flow_judge.h"
#define pal_flow_check(skb, h, p, o) PAL_EST_YES
#define pal_flow_check_gen(skb, h, p, o, gen) ((void)(gen), PAL_EST_YES)
#endif

#ifdef PAL_ABLATE_MEMO
#define PAL_WITH_CT 1
#include "memo.h"
#define pal_memo_put_established(h, ifc, p, est, gen)                                              \
	((void)(h), (void)(ifc), (void)(p), (void)(est), (void)(gen))
#define pal_memo_established(iif, in_ep, p) ((void)(iif), (void)(in_ep), (void)(p), 0)
#endif

#ifdef PAL_ABLATE_FWDCLASS
#include "stages.h"
static __always_inline void abl_run_list(const struct pal_hookctx *h, __u32 list_id, __u8 stage,
					 struct pal_pkt *p, struct pal_outcome *o)
{
	if (stage != PAL_DP_STAGE_FORWARD || !list_id) {
		pal_run_list(h, list_id, stage, p, o);
		return;
	}
	o->what = PAL_O_ALLOW;
	o->reason = PAL_DROP_NONE;
	o->stage = stage;
	o->rule_id = PAL_RULE_ID_NONE;
	o->logged = 0;
}
#define pal_run_list abl_run_list
#endif
#if defined(PAL_ABLATE_CTMISS) || defined(PAL_ABLATE_CTINS) || defined(PAL_ABLATE_INSERT) ||      \
	defined(PAL_ABLATE_CTSNAT)
#define PAL_WITH_CT 1
#include "flow.h"
#endif
#ifdef PAL_ABLATE_CTMISS
#define pal_flow_find_ct(skb, p, s, hook) 0
#endif
#ifdef PAL_ABLATE_CTSNAT
#define pal_flow_pre_snat_source(skb, p) 0
#endif
#ifdef PAL_ABLATE_CTINS
#define pal_flow_insert_ct(skb, p, a) pal_flow_insert(p, a)
#endif
#ifdef PAL_ABLATE_INSERT
#define pal_flow_insert_ct(skb, p, a) ((void)(skb), (void)(p), (void)(a))
#endif

#if defined(PAL_ABLATE_XDPPRE) || defined(PAL_ABLATE_XDPCLS) || defined(PAL_ABLATE_XDPFS) ||      \
	defined(PAL_ABLATE_XDPDROP) || defined(PAL_ABLATE_XDPPARSE) || defined(PAL_ABLATE_XDPIFC) ||  \
	defined(PAL_ABLATE_XDPIFX)
#include "stages.h"
#endif
#ifdef PAL_ABLATE_XDPPRE
#define pal_hep_pre_in(h, ifc, p, o)                                                               \
	((void)(h), (void)(ifc), (void)(p), (o)->what = PAL_O_DENY, (o)->reason = PAL_DROP_POLICY)
#endif
/* stages.h's pal_hep_pre calls pal_run_list and the failsafe checks itself, so these variants
 * replace the hook's call, pal_hep_pre_in, with a copy without the step. */
#ifdef PAL_ABLATE_XDPCLS
static __always_inline void abl_hep_pre_in(const struct pal_hookctx *h, struct pal_iface *ifc,
					   struct pal_pkt *p, struct pal_outcome *o)
{
	(void)h;
	(void)ifc;
	if ((p->family && p->always_pass) || pal_failsafe_match(p, PAL_FAILSAFE_IN)) {
		pal_outcome_failsafe(o, PAL_O_FAILSAFE);
		return;
	}
	if (pal_failsafe_reply_match(p, PAL_FAILSAFE_IN)) {
		pal_outcome_failsafe(o, PAL_O_FAILSAFE_REPLY);
		return;
	}
	o->what = PAL_O_DENY;
	o->reason = PAL_DROP_POLICY;
	o->stage = PAL_DP_STAGE_UNTRACKED;
	o->rule_id = PAL_RULE_ID_NONE;
	o->logged = 0;
}
#define pal_hep_pre_in abl_hep_pre_in
#endif
#ifdef PAL_ABLATE_XDPFS
static __always_inline void abl_hep_pre_in(const struct pal_hookctx *h, struct pal_iface *ifc,
					   struct pal_pkt *p, struct pal_outcome *o)
{
	pal_run_list(h, ifc->lists[PAL_SLOT_UNTRACKED_IN], PAL_DP_STAGE_UNTRACKED, p, o);
	if (o->what == PAL_O_ALLOW)
		o->what = PAL_O_UNTRACKED;
}
#define pal_hep_pre_in abl_hep_pre_in
#endif
/* XDPIFC and XDPIFX replace the lookup at XDP only (every caller in palisade.bpf.c has its hook
 * context h, a constant per program): in the other programs a constant interface left tc_ingress
 * without its re-judge tail call, and the loader refused the variant ("no flow_tc_jmp"). */
#ifdef PAL_ABLATE_XDPIFC
static struct pal_iface abl_ifc = { .flags = PAL_IF_HOST };
#define pal_iface_get_slot(ifindex, slot)                                                          \
	(h.hook == PAL_HOOK_XDP ? ((void)(ifindex), *(slot) = 0, &abl_ifc) :                        \
				  pal_iface_get_slot(ifindex, slot))
#endif
#ifdef PAL_ABLATE_XDPIFX
static struct pal_iface abl_ifc = { .flags = PAL_IF_HOST };
static __always_inline struct pal_iface *abl_ifx(__u32 ifindex, __u32 *slot)
{
	asm volatile("" : : "r"(ifindex)); /* the ifindex is read, whatever else uses it */
	*slot = 0;
	return &abl_ifc;
}
#define pal_iface_get_slot(ifindex, slot)                                                          \
	(h.hook == PAL_HOOK_XDP ? abl_ifx(ifindex, slot) : pal_iface_get_slot(ifindex, slot))
#endif
#ifdef PAL_ABLATE_XDPPARSE
#include "parse.h"
#define pal_parse_frame(ctx, kind, l3, proto, p) ((void)(ctx), (void)(l3), (p)->family = 4, 0)
#endif
#ifdef PAL_ABLATE_XDPDROP
#define pal_drop(h, p, stage, reason, rule_id) ((void)0)
#endif

#include "palisade.bpf.c"
