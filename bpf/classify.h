/* The classifier: the per-packet algorithm of agent/classifier/flatten.h ("PER-PACKET ALGORITHM",
 * pal_cls_classify() is the reference) over the maps written by agent/dataplane/maps_sync.c.
 *
 * A short list has a linear form (pal_small, agent/dataplane/small_list.c), used when present
 * (a list id with PAL_LIST_ID_SMALL has one, in the pal_small slot the id names):
 * per field a scan of the list's key ranges or prefixes gives the entry bits of the packet's
 * class (skipped when every entry still possible ignores the field), the AND of the six is walked
 * as step 3 walks one word. Otherwise the bitmap form, from the list's struct pal_list (a long
 * list's from the pal_long slot its id names, pal_list_get; any other's from pal_lists):
 *
 *   1. six LPM lookups in pal_classes give the packet's class per field (a field with one class
 *      in the list takes it from pal_list.one_class, no lookup; the protocol, ports and ICMP of
 *      a list with direct key tables, pal_list.direct, take it by index from pal_words, and an
 *      address field of only host addresses from the pal_hosts hash);
 *   2. the candidate summary is the AND of the six classes' summary words (n_summary <= 32),
 *      restricted by the anchors (flatten.h ANCHORS), read only for the summary words set in
 *      every class's top (any other is 0 in some field);
 *   3. candidate words are visited in ascending order from the cursor; each visit ANDs the six
 *      classes' word j (an override word found by rank in the class's override mask, else the
 *      field's base word); set bits are entries in evaluation order: ALLOW/DENY decide, LOG
 *      records and jumps to `next`, PASS/SKIP jump to `next`.
 * Steps 2 and 3 first try the common case without their loops (pal_cls_first_entry): nothing
 * can match, or the first matching entry is an ALLOW or DENY; anything else runs them in full.
 * An ALLOW or DENY found so (or NOMATCH: no candidate) is kept per CPU and hook under (the list's
 * stamp, the six classes),
 * and a later packet with the same key takes it without steps 2 and 3 (the verdict cache, below).
 * The work for a new flow is bounded by the list's summary size (at most 32 words) plus the
 * candidate words actually visited; it does not depend on the number of rules otherwise.
 *
 * pal_classify() is a global function so the verifier checks it once, not per call site; step 3
 * runs under bpf_loop with its state in a per-CPU scratch map (the state is larger than the
 * 512-byte stack). Scratch slots are per hook: a softirq hook can interrupt a process-context
 * one (raw OUTPUT) on the same CPU, but never itself.
 *
 * The raw OUTPUT filters run in process context under rcu_read_lock only: on a preemptible
 * kernel two tasks can interleave on one CPU's RAW_OUTPUT slot (and a task can even migrate
 * while it holds a pointer to the slot), and a softirq sending a packet (a TCP timer) can
 * interrupt a task inside it. So a slot has an owner word, taken with an atomic compare-and-swap
 * before the slot is touched and released at the end; whoever finds it taken does not wait (a
 * BPF program cannot) and does not share: PAL_CLS_STATUS_BUSY, which the stage walk turns into a
 * drop with reason PAL_DROP_BUSY (fail closed; TCP retransmits, and the window is a few
 * microseconds of preemption inside one classification). polctl's trace runs (test runs, process
 * context) take their slot the same way, and so does filter INPUT (under iptables-nft a packet
 * an NFQUEUE rule queued before it comes back through nf_reinject, in process context with bottom
 * halves on). XDP and tc run in softirq or with bottom halves off, where no other classification
 * of their hook can start on the CPU before they return: they only check that no trace run holds the slot, without the two locked instructions
 * (pal_cls_may_be_interrupted). Every classification also bumps the slot's use count at its start
 * and its end, and answers BUSY when it changed in between (an interleaving the owner word did not
 * exclude: a plain test run on Linux 6.1, which keeps bottom halves on). The walk reaches the
 * slot through the pointer taken once, never by a second per-CPU lookup that could land on
 * another CPU's slot.
 */
#ifndef PAL_BPF_CLASSIFY_H
#define PAL_BPF_CLASSIFY_H

#include "maps.h"
#include "parse.h"
#include "counters.h"
#include "trace.h"

/* Walk state (pal_cls_scratch.have_w): looking for a candidate word, word j found but not yet
 * ANDed, entry bits of word j in w. */
#define PAL_W_NONE 0
#define PAL_W_PENDING 2
#define PAL_W_BITS 1

/* PAL_CLS_STATUS_*: palisade/abi.h (the trace record reports them) */
#define PAL_CLS_QUIET_TRACE 2 /* pal_cls_req.quiet in trace mode */

struct pal_cls_req {
	/* in */
	__u32 list_id;
	__u32 ifindex;
	__u32 slot; /* the interface's slot: where its counters are (counters.h) */
	__u8 hook;
	__u8 stage;
	__u8 quiet; /* no rule counters, no Log events; PAL_CLS_QUIET_TRACE: and record (trace.h) */
	__u8 pad;
	/* out */
	__u32 entry; /* deciding entry index */
	__u32 rule_id;
	__u8 status; /* PAL_CLS_STATUS_* */
	__u8 action; /* PAL_ACT_ALLOW or PAL_ACT_DENY when status == VERDICT */
	__u8 kind;
	__u8 logged; /* a Log rule matched (its counter and event went unless quiet) */
};

struct pal_cls_scratch {
	__u64 owner; /* PAL_SCRATCH_FREE / _TAKEN (64-bit: clang 14's BPF atomics without
		      * -mcpu=v3); first: tests set it from userspace */
	__u64 cand[PAL_SUMMARY_WORDS];
	__u32 rank[PAL_SUMMARY_WORDS][PAL_FIELD_COUNT]; /* by word, then field */
	__u32 top;      /* summary words that can hold a candidate (AND of the classes' top) */
	__u32 top_left; /* step 2: those not yet visited */
	__u32 cand_nz;  /* bit k: cand[k] != 0 (step 2 writes cand[k] only for k in top) */
	__u32 uses;     /* +1 at the start and at the end of every classification on the slot */
	__u32 always;                    /* the list's pal_list.always */
	__u32 words_err;                 /* step 2 met a missing word */
	__u32 neutral;                   /* the list's pal_list.neutral: fields steps 2, 3 skip */
	__u32 pad_neutral;
	struct pal_class cls[PAL_FIELD_COUNT];
	/* per field the class's name in the verdict cache's key (abi.h struct pal_vcache_line): a
	 * direct field's class id, 0 for a single-class field, any other's pal_class.summary */
	__u32 vkey[PAL_FIELD_COUNT];
	__u64 w;        /* current word's remaining entry bits */
	__u64 vc_stamp; /* the list's stamp, for pal_vcache_put */
	__u32 j;        /* current word index */
	__u32 have_w;   /* PAL_W_* */
	__u32 cursor;
	__u32 steps;
	__u32 n_logged;
	__u32 list_id;
	__u32 n_entries;
	__u32 n_summary;
	__u32 entry_base;
	__u32 done;
	__u32 status;
	__u32 entry;
	struct pal_entry e; /* deciding entry */
	struct pal_pkt pkt; /* for Log events */
	struct pal_class_key key; /* lookup key (here, not on the stack: the stack is tight) */
	struct pal_host_key host_key; /* and for pal_hosts */
	__u32 word_key;           /* the same for the direct key tables' pal_words lookups */
	__u32 line_key;           /* and for the verdict cache's line (cls_vcache) */
	__u32 uses_start;         /* uses as this classification's start left it */
	__u32 vc_ok;              /* pal_vcache_get missed a line the answer may go to */
	__u32 ifindex;
	__u32 slot;
	__u8 hook;
	__u8 stage;
	__u8 quiet;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_HOOK_COUNT);
	__type(key, __u32);
	__type(value, struct pal_cls_scratch);
} pal_scratch SEC(".maps");

#define PAL_SCRATCH_FREE 0ull
#define PAL_SCRATCH_TAKEN 1ull

/* bpf_loop's context: the slot this classification owns. */
struct pal_cls_loop {
	struct pal_cls_scratch *s;
};

/* Count trailing zeros of x != 0 without branches (de Bruijn): a branchy binary search would make
 * the verifier walk every outcome separately. */
static const volatile __u8 pal_debruijn64[64] = {
	0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28,
	62, 5,  39, 46, 44, 42, 22, 9,  24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};

static __always_inline __u32 pal_ctz64(__u64 x)
{
	__u64 low = x & (~x + 1);

	return pal_debruijn64[(low * 0x022fdd63cc95386dULL) >> 58];
}

static __always_inline __u32 pal_popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (__u32)((x * 0x0101010101010101ULL) >> 56);
}

static __always_inline __u64 pal_word_at(__u32 idx, int *err)
{
	__u64 *w = bpf_map_lookup_elem(&pal_words, &idx);

	if (!w) {
		*err = 1;
		return 0;
	}
	return *w;
}

/* word(f, c_f, j) of flatten.h BITMAPS. Branch-free choice between the override and the base
 * word, so the verifier sees one path per field, not two. */
static __always_inline __u64 pal_field_word(struct pal_cls_scratch *s, __u32 f, __u32 j, int *err)
{
	struct pal_class *c = &s->cls[f];
	__u32 k = (j >> 6) & (PAL_SUMMARY_WORDS - 1);
	__u32 b = j & 63;
	__u64 mask = pal_word_at(c->ovr_mask + k, err);
	__u32 sel = (mask >> b) & 1;
	__u32 r = s->rank[k][f] + pal_popcount64(mask & ((1ULL << b) - 1));
	__u32 idx = sel * (c->ovr_base + r) + (1 - sel) * (c->base + j);

	return pal_word_at(idx, err);
}

/* Word j of the entries the packet matches: the AND of every field's word j but those of
 * pal_list.neutral (all ones). *err is set when a word is missing. */
static __always_inline __u64 pal_cls_matched_word(struct pal_cls_scratch *s, __u32 j, int *err)
{
	__u64 w = ~0ULL;
	__u32 f;

	for (f = 0; f < PAL_FIELD_COUNT; f++) {
		/* j opaque per field: what pal_field_word derives from it is recomputed, not kept
		 * in stack slots across the lookups (this frame is the deepest of tc_egress's) */
		asm volatile("" : "+r"(j));
		if (!(s->neutral & (1u << f)))
			w &= pal_field_word(s, f, j, err);
	}
	return w;
}

/* Entry i of the list, NULL when i is past its entries or the entry is missing. */
static __always_inline struct pal_entry *pal_cls_entry(struct pal_cls_scratch *s, __u32 i)
{
	__u32 idx = s->entry_base + i;

	if (i >= s->n_entries)
		return NULL;
	return bpf_map_lookup_elem(&pal_entries, &idx);
}

/* A Log rule's event, within the interface's event rate limit (counters.h pal_event_admit). */
static __always_inline void pal_emit_log_req(const struct pal_cls_req *req, struct pal_pkt *pkt,
					     __u32 rule_id)
{
	struct pal_event *ev =
		pal_event_reserve(pal_if_ctr_get(req->slot, req->ifindex, req->hook), req->hook);

	if (!ev)
		return;
	pal_fill_event(ev, pkt, req->ifindex, req->hook, req->stage, PAL_EVENT_LOG, PAL_DROP_NONE,
		       rule_id);
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void pal_emit_log(struct pal_cls_scratch *s, __u32 rule_id)
{
	struct pal_event *ev = pal_event_reserve(pal_if_ctr_get(s->slot, s->ifindex, s->hook), s->hook);

	if (!ev)
		return;
	pal_fill_event(ev, &s->pkt, s->ifindex, s->hook, s->stage, PAL_EVENT_LOG, PAL_DROP_NONE,
		       rule_id);
	bpf_ringbuf_submit(ev, 0);
}

/* One step of the walk (bpf_loop callback). Returns 1 to stop. */
static long pal_cls_step(__u32 iter, void *ctx)
{
	struct pal_cls_scratch *s = ((struct pal_cls_loop *)ctx)->s;
	struct pal_entry *e;
	__u32 i;
	int err = 0;

	if (!s)
		return 1;
	if (s->have_w == PAL_W_NONE) {
		/* next candidate word j >= cursor / 64: in the first summary word k >= cursor / 4096
		 * with candidates (cand_nz), past the cursor when k is the cursor's own; if that
		 * leaves none, the next such word has candidates throughout */
		__u32 start = s->cursor >> 6, k0 = start >> 6, k, u, j = 0, found = 0;
		__u32 m = k0 < 32 ? s->cand_nz & (~0u << k0) : 0;

		for (u = 0; u < 2 && m && !found; u++) {
			__u64 bits;

			k = pal_ctz64(m) & (PAL_SUMMARY_WORDS - 1);
			m &= m - 1;
			bits = s->cand[k];
			if (k == k0)
				bits &= ~0ULL << (start & 63);
			if (bits) {
				j = k * 64 + pal_ctz64(bits);
				found = 1;
			}
		}
		if (!found) {
			s->status = PAL_CLS_STATUS_NOMATCH;
			return 1;
		}
		if (++s->steps > PAL_MAX_CLASSIFY_STEPS) {
			s->status = PAL_CLS_STATUS_OVERFLOW;
			return 1;
		}
		/* The word itself is computed in the next iteration: j then comes back from the
		 * scratch map as one unknown value, so the verifier checks that code once instead of
		 * once per summary word the search above can stop at. */
		s->j = j;
		s->have_w = PAL_W_PENDING;
		return 0;
	}
	if (s->have_w == PAL_W_PENDING) {
		__u32 j = s->j & (PAL_MAX_WORDS - 1);
		__u64 w = pal_cls_matched_word(s, j, &err);

		if (err) {
			s->status = PAL_CLS_STATUS_INTERNAL;
			return 1;
		}
		if (j == (s->cursor >> 6))
			w &= ~0ULL << (s->cursor & 63);
		s->w = w;
		s->have_w = w ? PAL_W_BITS : PAL_W_NONE;
		if (!w)
			s->cursor = (j + 1) * 64;
		return 0;
	}

	i = s->j * 64 + pal_ctz64(s->w);
	if (++s->steps > PAL_MAX_CLASSIFY_STEPS) {
		s->status = PAL_CLS_STATUS_OVERFLOW;
		return 1;
	}
	e = pal_cls_entry(s, i);
	if (!e) {
		s->status = PAL_CLS_STATUS_INTERNAL;
		return 1;
	}
	switch (e->action) {
	case PAL_ACT_ALLOW:
	case PAL_ACT_DENY:
		s->status = PAL_CLS_STATUS_VERDICT;
		s->entry = i;
		s->e = *e;
		return 1;
	case PAL_ACT_LOG:
		if (s->n_logged < PAL_MAX_LOGS) {
			s->n_logged++;
			if (!s->quiet) {
				pal_count_rule(e->rule_id, s->pkt.len);
				pal_emit_log(s, e->rule_id);
			} else if (s->quiet == PAL_CLS_QUIET_TRACE) {
				pal_trace_log(e->rule_id);
			}
		}
		break;
	default: /* PASS, SKIP */
		break;
	}
	if (e->next <= i) { /* tables promise next > i; never loop */
		s->status = PAL_CLS_STATUS_INTERNAL;
		return 1;
	}
	s->cursor = e->next;
	if ((s->cursor >> 6) != s->j) {
		s->have_w = PAL_W_NONE;
		return 0;
	}
	s->w &= ~0ULL << (s->cursor & 63);
	s->have_w = s->w ? PAL_W_BITS : PAL_W_NONE;
	if (!s->w)
		s->cursor = (s->j + 1) * 64;
	return 0;
}

/* Step 2 for summary word k: candidate word k = AND of the classes' summaries, restricted to the
 * words that hold an unanchored entry or one anchored on a field the class satisfies; and each
 * field's override rank before word k. Returns non-zero when a word is missing. */
static __always_inline int pal_cls_cand_word(struct pal_cls_scratch *s, __u32 k)
{
	/* the missing-word flag in the slot, not in a stack slot of the deepest frames */
	int *err = (int *)&s->words_err;
	__u64 cand = ~0ULL, anch;
	__u32 f, *rank;

	/* masked where clang cannot fold the mask back into a reload of k: every index below is
	 * visibly < PAL_SUMMARY_WORDS to the verifier */
	asm volatile("%[k] &= %[m]" : [k] "+r"(k) : [m] "i"(PAL_SUMMARY_WORDS - 1));
	rank = s->rank[k];
	anch = pal_word_at(s->always + k, err);
	for (f = 0; f < PAL_FIELD_COUNT; f++) {
		if (s->neutral & (1u << f))
			continue; /* every entry, no override, no anchor: nothing to AND or OR */
		cand &= pal_word_at(s->cls[f].summary + k, err);
		anch |= pal_word_at(s->cls[f].anchor + k, err);
		rank[f] = (__u32)pal_word_at(s->cls[f].ovr_rank + k, err);
	}
	s->cand[k] = cand & anch;
	if (s->cand[k])
		s->cand_nz |= 1u << k;
	return *err;
}

/* Summary words per step-2 iteration: the verifier checks the unrolled body once per word in it
 * (the whole 32-word loop unrolled was most of every program's verification time), and each
 * bpf_loop iteration costs an indirect call (one per word made 100,000 rules ~10% slower). */
#define PAL_CAND_WORDS_PER_STEP 4

/* Step 2 over the next PAL_CAND_WORDS_PER_STEP summary words of top (bpf_loop callback): a
 * summary word outside top is 0 in some field, so its candidates are none. */
static long pal_cls_cand_step(__u32 i, void *ctx)
{
	struct pal_cls_scratch *s = ((struct pal_cls_loop *)ctx)->s;
	__u32 u, k;

	if (!s)
		return 1;
	for (u = 0; u < PAL_CAND_WORDS_PER_STEP; u++) {
		if (!s->top_left)
			return 1;
		k = pal_ctz64(s->top_left);
		s->top_left &= s->top_left - 1;
		if (k >= s->n_summary || k >= PAL_SUMMARY_WORDS)
			return 1;
		if (pal_cls_cand_word(s, k)) {
			s->words_err = 1;
			return 1;
		}
	}
	return 0;
}

/* Step 2 for the lowest summary word in top, the first that can hold a candidate: the first
 * candidate word (its lowest bit), or -1 when it has none or a word is missing. A subprogram,
 * as is the next: inline, their registers would spill into pal_classify's frame, which
 * tc_egress's 512-byte stack has no room for; apart, each frame is no deeper than a walk
 * callback's. */
static __noinline int pal_cls_first_word(struct pal_cls_scratch *s)
{
	__u32 k;

	if (!s || !s->top)
		return -1;
	k = pal_ctz64(s->top);
	if (k >= s->n_summary || k >= PAL_SUMMARY_WORDS || pal_cls_cand_word(s, k) || !s->cand[k])
		return -1;
	return (int)((k * 64 + pal_ctz64(s->cand[k])) & (PAL_MAX_WORDS - 1));
}

/* Whether word j's first matched entry decides (ALLOW or DENY); it is then in s->status,
 * s->entry and s->e. */
static __noinline int pal_cls_word_decides(struct pal_cls_scratch *s, __u32 j)
{
	struct pal_entry *e;
	int err = 0;
	__u64 w;
	__u32 i;

	if (!s)
		return 0;
	j &= PAL_MAX_WORDS - 1;
	w = pal_cls_matched_word(s, j, &err);
	if (err || !w)
		return 0; /* a missing word: the walk answers INTERNAL; no entry here: the next word */
	i = j * 64 + pal_ctz64(w);
	e = pal_cls_entry(s, i);
	if (!e || (e->action != PAL_ACT_ALLOW && e->action != PAL_ACT_DENY))
		return 0; /* LOG, PASS, SKIP go on: the walk */
	s->status = PAL_CLS_STATUS_VERDICT;
	s->entry = i;
	s->e = *e;
	return 1;
}

/* Steps 2 and 3 for the common new flow, without their bpf_loops: no summary word can hold a
 * candidate (NOMATCH), or the first candidate word's first entry (in evaluation order, the first
 * entry the packet matches) is an ALLOW or DENY, which decides as the walk's first step would.
 * Returns 1 when it answered (s->status, and for a verdict s->entry and s->e), 0 when the walk
 * must run: it starts again from the beginning, which is right because nothing here counts, logs
 * or moves the walk's state (cand[k], cand_nz and rank[k] are what step 2 writes again). */
static __always_inline int pal_cls_first_entry(struct pal_cls_scratch *s)
{
	int j;

	if (!s->top) {
		s->status = PAL_CLS_STATUS_NOMATCH;
		return 1;
	}
	j = pal_cls_first_word(s);
	return j >= 0 && pal_cls_word_decides(s, (__u32)j);
}

/* ---- the verdict cache (abi.h struct pal_vcache_line) ----
 *
 * Steps 2 and 3 read nothing but the list's immutable words and entries and the six classes of
 * step 1, so their answer is a function of (the list's contents, the six classes). Per CPU and
 * hook, a direct-mapped line remembers that answer for one such key when pal_cls_first_entry
 * gave it as an ALLOW or DENY first entry; a packet with the same key takes it from the line and
 * skips steps 2 and 3 (~17 pal_words reads and an entry at 10,000 rules). What it still does is
 * everything else: step 1, the rule counter (pal_classify_owned counts the deciding rule on a hit
 * as on a miss), the flow entry, the events of the hook.
 *   - the key: the list's stamp (abi.h pal_list.stamp: never the same for two contents in a boot,
 *     so a reused list id, pal_long slot or pal_words region never answers with an older list's
 *     line; the map is private to the loaded object, which a restart of the same build keeps:
 *     the agent stamps after every line's stamp, maps_sync.c adopt_cached_stamps) and each field's
 *     class by s->vkey[f]: a direct field's class id (it names the class's values), 0 for a
 *     single-class field, any other's pal_class.summary (unique within the list); compared
 *     whole, so two keys that hash to one line never take each other's answer. Step 1 reads no
 *     class value of a direct or single-class field before the line: a hit needs none;
 *   - only first-entry answers go in: an ALLOW/DENY first matched entry, or NOMATCH of an empty
 *     candidate set (top == 0); nothing logged on the way (a Log first entry, a Pass or a Skip
 *     takes the walk, which is never cached), so a hit skips no Log event or counter;
 *   - never in a trace run (polctl's trace records each step) nor at raw OUTPUT or filter INPUT,
 *     which run in process context (pal_cls_may_be_interrupted): only XDP and tc, where no other
 *     classification of the hook starts on the CPU before this one returns; except a test run on
 *     Linux 6.1 (bottom halves on) that a packet of its hook interrupts, which the slot's uses
 *     count turns into BUSY (pal_classify_on_slot). The line is read and written inside that
 *     count's section; a writer marks the line busy (a reader then misses, another writer leaves
 *     it), writes it whole, and unless the uses count moved meanwhile (its answer may have been
 *     made from a slot another classification overwrote) it leaves the key valid, else zero; so
 *     no reader, interrupted or not, ever takes a line half written or made from a torn slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_HOOK_COUNT * PAL_VCACHE_LINES);
	__type(key, __u32);
	__type(value, struct pal_vcache_line);
} cls_vcache SEC(".maps");

/* The line of key (stamp, classes) in the slot's hook: each field's name times its own odd
 * constant, summed, then mixed: the six products are independent (a chain of six multiplies,
 * each waiting on the last, was on the way to the line's address), and no division (hook %
 * PAL_HOOK_COUNT compiled to a BPF div, tens of cycles; pal_classify checked the hook already,
 * the clamp only keeps a bad one in the map). */
static __always_inline __u32 pal_vcache_index(const struct pal_cls_scratch *s, __u64 stamp)
{
	static const __u32 mul[PAL_FIELD_COUNT] = { 0x9e3779b1u, 0x85ebca6bu, 0xc2b2ae35u,
						    0x27d4eb2fu, 0x165667b1u, 0xd3a2646du };
	__u32 x = (__u32)stamp ^ (__u32)(stamp >> 32), f, hook = s->hook;

#pragma clang loop unroll(full)
	for (f = 0; f < PAL_FIELD_COUNT; f++)
		x += s->vkey[f] * mul[f];
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	if (hook >= PAL_HOOK_COUNT)
		hook = 0;
	return hook * PAL_VCACHE_LINES + (x >> (32 - PAL_VCACHE_LINE_BITS));
}

/* Steps 2 and 3 from the cache: 1 when the line of this key holds its answer (then in s->status,
 * s->entry and s->e as pal_cls_first_entry leaves them). On a miss s->vc_ok says whether the
 * answer may go to the line (pal_vcache_put). Inline in pal_cls_step1, a subprogram: its
 * registers stay out of pal_classify's frame. */
static __always_inline int pal_vcache_get(struct pal_cls_scratch *s, const struct pal_list *l)
{
	volatile struct pal_vcache_line *v;
	__u64 stamp, x;
	__u32 f, d;

	if (!s || !l)
		return 0;
	s->vc_ok = 0;
	stamp = l->stamp;
	/* no line for: a list without a stamp, a process-context hook or a trace run */
	if (!stamp || s->hook == PAL_HOOK_RAW_OUTPUT || s->hook == PAL_HOOK_INPUT ||
	    s->quiet == PAL_CLS_QUIET_TRACE)
		return 0;
	s->line_key = pal_vcache_index(s, stamp);
	v = bpf_map_lookup_elem(&cls_vcache, &s->line_key);
	if (!v)
		return 0;
	s->vc_ok = 1;
	s->vc_stamp = stamp;
	x = v->stamp ^ stamp;
	d = v->busy | (__u32)x | (__u32)(x >> 32);
#pragma clang loop unroll(full)
	for (f = 0; f < PAL_FIELD_COUNT; f++)
		d |= v->cls[f] ^ s->vkey[f];
	if (d || (v->action != PAL_ACT_ALLOW && v->action != PAL_ACT_DENY &&
		  v->action != PAL_VCACHE_NOMATCH))
		return 0;
	s->vc_ok = 0;
	if (v->action == PAL_VCACHE_NOMATCH) {
		s->status = PAL_CLS_STATUS_NOMATCH;
		return 1;
	}
	s->status = PAL_CLS_STATUS_VERDICT;
	s->entry = v->entry;
	s->e.action = v->action;
	s->e.kind = v->kind;
	s->e.rule_id = v->rule_id;
	s->e.next = 0;
	return 1;
}

/* The first-entry answer just made (pal_cls_first_entry) to the line pal_vcache_get missed. */
static __noinline void pal_vcache_put(struct pal_cls_scratch *s)
{
	volatile struct pal_vcache_line *v;
	__u32 f;

	if (!s || !s->vc_ok ||
	    (s->status != PAL_CLS_STATUS_VERDICT && s->status != PAL_CLS_STATUS_NOMATCH))
		return;
	v = bpf_map_lookup_elem(&cls_vcache, &s->line_key);
	if (!v || v->busy)
		return; /* a writer this one interrupted is inside the line: leave it to it */
	v->busy = 1;
	v->stamp = s->vc_stamp;
#pragma clang loop unroll(full)
	for (f = 0; f < PAL_FIELD_COUNT; f++)
		v->cls[f] = s->vkey[f];
	if (s->status == PAL_CLS_STATUS_NOMATCH) {
		v->entry = 0;
		v->rule_id = PAL_RULE_ID_NONE;
		v->action = PAL_VCACHE_NOMATCH;
		v->kind = 0;
	} else {
		v->entry = s->entry;
		v->rule_id = s->e.rule_id;
		v->action = s->e.action;
		v->kind = s->e.kind;
	}
	/* another classification of the hook ran since this one started: the answer may be made
	 * from its scratch (this one answers BUSY); the line then holds no key */
	if (*(volatile __u32 *)&s->uses != *(volatile __u32 *)&s->uses_start)
		v->stamp = 0;
	v->busy = 0;
}

/* ---- direct key tables (abi.h): a field's class without an LPM lookup ---- */

/* Word at of pal_words, its key in the scratch slot: tc_egress, pal_classify and the walk's
 * callback use all of the 512-byte stack already, so step 1 may not add a byte to it. */
static __always_inline __u64 *pal_word_ptr(struct pal_cls_scratch *s, __u32 at)
{
	s->word_key = at;
	return bpf_map_lookup_elem(&pal_words, &s->word_key);
}

/* Class id i of the 16-bit ids from pal_words index base; -1 when the word is missing. */
static __always_inline __s32 pal_keytab_id(struct pal_cls_scratch *s, __u32 base, __u32 i)
{
	__u64 *w = pal_word_ptr(s, base + i / 4);

	return w ? (__s32)((*w >> (16 * (i % 4))) & 0xffff) : -1;
}

/* Whether address a (4-byte aligned, pal_pkt.src or dst) can be a host of the table whose word
 * at tab is ids (abi.h PAL_HOST_FILTER_ID): 1 when its filter bit is set or the table has no
 * filter, 0 when it is none of them, -1 when the filter is broken or a word missing. */
static __always_inline int pal_host_maybe(struct pal_cls_scratch *s, __u32 tab, __u64 ids,
					  const __u8 *a, __u8 family)
{
	const __u32 *w = (const __u32 *)a;
	__u32 log = (ids >> (16 * PAL_HOST_FILTER_ID)) & 0xffff, x = w[0];
	__u64 *fw;

	if (!log)
		return 1;
	if (log < PAL_HOST_FILTER_LOG_MIN || log > PAL_HOST_FILTER_LOG_MAX)
		return -1;
	if (family == 6) /* one word at a time: few registers live, no spill into the frame */
		x ^= w[1] * PAL_HOST_FOLD1 ^ w[2] * PAL_HOST_FOLD2 ^ w[3] * PAL_HOST_FOLD3;
	x = pal_host_filter_bit(x, log);
	fw = pal_word_ptr(s, tab + 1 + x / 64);
	if (!fw)
		return -1;
	return (*fw >> (x & 63)) & 1;
}

/* The class id of IPv4 address a (its 32-bit word as it lies in memory) from the IPv4 slots of
 * the host table whose word at tab is ids (abi.h PAL_HOST_SLOTS_ID): its host's, or the IPv4 /0's
 * when its bucket neither holds it nor has more hosts than fit; -2 when it has (ask pal_hosts),
 * -1 when a word is missing or the table broken. Two words of one bucket (one cache line) where
 * the pal_hosts lookup hashed a 24-byte key (docs/benchmarks.md "IPv4 hosts by slot, ..."). */
static __always_inline __s32 pal_host_slot(struct pal_cls_scratch *s, __u32 tab, __u64 ids,
					   __u32 a, __u32 slog)
{
	__u32 flog = (ids >> (16 * PAL_HOST_FILTER_ID)) & 0xffff, at, lo;
	__u64 *w, x;

	if (slog > PAL_HOST_SLOTS_LOG_MAX ||
	    (flog && (flog < PAL_HOST_FILTER_LOG_MIN || flog > PAL_HOST_FILTER_LOG_MAX)))
		return -1;
	at = tab + 1 + (flog ? 1u << (flog - PAL_HOST_FILTER_LOG_MIN) : 0) +
	     2 * pal_host_filter_bit(a, slog);
	if (!(w = pal_word_ptr(s, at)))
		return -1;
	x = *w;
	lo = (__u32)x - 1; /* the class id; an empty word (0) wraps past every id */
	if ((__u32)(x >> 32) == a && lo < PAL_HOST_CLASSES_MAX)
		return (__s32)lo;
	if (!(__u32)x) /* an empty bucket (the agent fills the first word first): no host */
		return (__s32)(ids & 0xffff);
	if (!(w = pal_word_ptr(s, at + 1)))
		return -1;
	x = *w;
	lo = (__u32)x - 1;
	if ((__u32)(x >> 32) == a && lo < PAL_HOST_CLASSES_MAX)
		return (__s32)lo;
	if ((__u32)x == PAL_HOST_SLOT_MORE)
		return -2;
	return (__s32)(ids & 0xffff); /* none of the hosts: the IPv4 /0 (id 0) */
}

/* The class id of the packet's address in field f's host table: an IPv4 address's from the
 * table's slots when it has them (pal_host_slot), else its entry in pal_hosts, else the /0 of its
 * family (IPv4 id 0, IPv6 id 1 of the table word at tab); an address the table's filter rules
 * out takes the /0 without the pal_hosts lookup. */
static __always_inline __s32 pal_host_class(struct pal_cls_scratch *s, __u32 tab, __u32 f,
					    const struct pal_pkt *pkt)
{
	struct pal_host_key *k = &s->host_key;
	const __u8 *a = f == PAL_FIELD_SRC_ADDR ? pkt->src : pkt->dst;
	__u64 *t = pal_word_ptr(s, tab);
	__u64 ids;
	__u32 *id, slog;
	int maybe;

	if (!t)
		return -1;
	ids = *t;
	slog = (ids >> (16 * PAL_HOST_SLOTS_ID)) & 0xffff;
	if (pkt->family == 4 && slog) {
		__s32 id = pal_host_slot(s, tab, ids, *(const __u32 *)a, slog);

		if (id != -2)
			return id;
		maybe = 1; /* a bucket of more hosts than fit: pal_hosts */
	} else {
		maybe = pal_host_maybe(s, tab, ids, a, pkt->family);
	}
	if (maybe < 0)
		return -1;
	/* the family's /0 is id 0 or 1 of the table word, read already (pal_keytab_id's word) */
	if (!maybe)
		return (__s32)((ids >> (16 * (pkt->family == 6))) & 0xffff);
	__builtin_memset(k, 0, sizeof(*k));
	k->list_id = s->list_id;
	k->field = f;
	k->family = pkt->family;
	if (pkt->family == 6)
		__builtin_memcpy(k->addr, a, 16);
	else
		__builtin_memcpy(k->addr, a, 4);
	id = bpf_map_lookup_elem(&pal_hosts, k);
	if (id)
		return *id < PAL_HOST_CLASSES_MAX ? (__s32)*id : -1;
	return (__s32)((ids >> (16 * (pkt->family == 6))) & 0xffff);
}

/* The packet's class id in field f's table at tab, -1 when a word is missing. */
static __always_inline __s32 pal_keytab_class(struct pal_cls_scratch *s, __u32 tab, __u32 f,
					       const struct pal_pkt *pkt)
{
	__u32 present, key;
	__s32 top;

	if (f == PAL_FIELD_PROTO)
		return pal_keytab_id(s, tab, (pkt->family == 6 ? 256 : 0) + pkt->proto);
	if (f == PAL_FIELD_SRC_ADDR || f == PAL_FIELD_DST_ADDR)
		return pal_host_class(s, tab, f, pkt);
	if (f == PAL_FIELD_ICMP) {
		present = pkt->is_icmp;
		key = ((__u32)pkt->icmp_type << 8) | pkt->icmp_code;
	} else {
		present = pkt->has_ports;
		key = f == PAL_FIELD_SPORT ? pkt->sport : pkt->dport;
	}
	if (!present)
		return pal_keytab_id(s, tab, PAL_KEYTAB_NONE);
	top = pal_keytab_id(s, tab, (key >> 8) & 0xff);
	if (top < 0 || (top & PAL_KEYTAB_LEAF))
		return top < 0 ? -1 : top & ~PAL_KEYTAB_LEAF;
	return pal_keytab_id(s, tab + top, key & 0xff);
}

/* Field f's class id from its direct table (f a constant after unrolling), checked against the
 * table's class values (which end where the table begins: an id past them is a broken table,
 * never another list's words); -1 when the table has no answer. */
static __always_inline __s32 pal_keytab_lookup(struct pal_cls_scratch *s, const struct pal_list *l,
					       __u32 f, const struct pal_pkt *pkt)
{
	__s32 id = pal_keytab_class(s, l->key_table[f], f, pkt);

	/* id < PAL_HOST_CLASSES_MAX (2^24): id * PAL_CLASS_WORDS cannot wrap, nor can at past the
	 * table's start go unseen (ids past the class values are a broken table) */
	if (id < 0 || (__u32)id * PAL_CLASS_WORDS >= l->key_table[f] - l->key_classes[f] ||
	    l->key_table[f] < l->key_classes[f])
		return -1;
	return id;
}

/* Step 1 for every field with a direct table (pal_list.direct): its class id in s->vkey[f], the
 * verdict cache's key for the field (pal_cls_values reads the class's values only when the cache
 * misses). One subprogram for all of them, not one call per field (each call cost ~10 ns in the
 * XDP deny; docs/benchmarks.md "Step 1 by class id"); inline in the subprogram pal_cls_step1,
 * not in pal_classify: there its registers spilled into pal_classify's frame, past the 512-byte
 * stack of tc_egress + pal_classify + a walk callback; pal_cls_step1's frame is no deeper than
 * pal_cls_word_decides's (its keys are in the scratch slot). */
static __always_inline int pal_cls_direct_ids(struct pal_cls_scratch *s, const struct pal_list *l,
					      const struct pal_pkt *pkt)
{
	__u32 direct;
	__s32 id;

	if (pkt->family != 4 && pkt->family != 6)
		return -1; /* as the trie: no class for a packet of no family (fail closed) */
	direct = l->direct;
#pragma clang loop unroll(full)
	for (__u32 f = 0; f < PAL_FIELD_COUNT; f++) {
		if (!(direct & (1u << f)))
			continue;
		id = pal_keytab_lookup(s, l, f, pkt);
		if (id < 0)
			return -1;
		s->vkey[f] = (__u32)id;
	}
	return 0;
}

/* The rest of step 1 and the verdict cache's line in one subprogram (one call where there were
 * two: docs/benchmarks.md "Step 1 and the line in one call"): the direct fields' class ids when
 * the list has direct fields (pal_cls_direct_ids), then the line of the key (pal_vcache_get).
 * -1 when a direct table has no answer (INTERNAL), 1 when the line holds the answer of steps 2
 * and 3, 0 when they are to be made. */
static __noinline int pal_cls_step1(struct pal_cls_scratch *s, const struct pal_list *l,
				    const struct pal_pkt *pkt)
{
	__u32 single;

	if (!s || !l || !pkt)
		return -1;
	/* a single-class field: every key has its one class, named by 0 (its values after the
	 * verdict cache: pal_cls_values) */
	single = l->single_class;
#pragma clang loop unroll(full)
	for (__u32 f = 0; f < PAL_FIELD_COUNT; f++)
		if (single & (1u << f))
			s->vkey[f] = 0;
	if (l->direct && pal_cls_direct_ids(s, l, pkt))
		return -1;
	return pal_vcache_get(s, l);
}

/* The classes' values that step 1 left for after the verdict cache, which steps 2 and 3 read and
 * a hit does not: a single-class field's (pal_list.one_class) and a direct field's (its id in
 * s->vkey[f], checked by pal_cls_direct_ids: PAL_CLASS_WORDS words). A subprogram, like
 * pal_cls_step1. */
static __noinline int pal_cls_values(struct pal_cls_scratch *s, const struct pal_list *l)
{
	__u32 f, at;
	__u64 *w;

	if (!s || !l)
		return -1;
	for (f = 0; f < PAL_FIELD_COUNT; f++) {
		struct pal_class *c = &s->cls[f];

		if (l->single_class & (1u << f)) {
			*c = l->one_class[f];
			continue;
		}
		if (!(l->direct & (1u << f)))
			continue;
		at = l->key_classes[f] + s->vkey[f] * PAL_CLASS_WORDS;
		if (!(w = pal_word_ptr(s, at)))
			return -1;
		c->summary = (__u32)*w;
		c->ovr_mask = (__u32)(*w >> 32);
		if (!(w = pal_word_ptr(s, ++at)))
			return -1;
		c->ovr_base = (__u32)*w;
		c->base = (__u32)(*w >> 32);
		if (!(w = pal_word_ptr(s, ++at)))
			return -1;
		c->anchor = (__u32)*w;
		c->ovr_rank = (__u32)(*w >> 32);
		if (!(w = pal_word_ptr(s, ++at)))
			return -1;
		c->top = (__u32)*w;
	}
	return 0;
}

static __always_inline void pal_class_key_set(struct pal_class_key *k, __u32 list_id, __u8 field,
					      __u8 sub)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->list_id = list_id;
	k->field = field;
	k->sub = sub;
}

static __always_inline void pal_key16(struct pal_class_key *k, __u32 present, __u16 v)
{
	if (present) {
		k->sub = 1;
		k->data[0] = v >> 8;
		k->data[1] = v & 0xff;
	}
	k->prefixlen = PAL_CLASS_FIXED_BITS + 16;
}

/* Classifies pkt against list l with the slot s this classification owns. */
static __always_inline void pal_classify_owned(struct pal_cls_req *req, struct pal_pkt *pkt,
					       struct pal_cls_scratch *s, struct pal_list *l)
{
	struct pal_cls_loop loop = { .s = s };
	struct pal_class_key *key;
	__u32 f, trie;
	int hit;

	/* what step 1 and the verdict cache read (the rest after a miss of the cache, below) */
	s->list_id = req->list_id;
	s->n_logged = 0;
	s->status = PAL_CLS_STATUS_INTERNAL;
	s->hook = req->hook;
	s->quiet = req->quiet;
	key = &s->key;

	/* 1. classes: by the class trie for a field that has neither one class (pal_cls_step1
	 * names it by 0; its values after the verdict cache) nor a direct table (pal_cls_step1, by
	 * index or host slot); no loop at all when every field has one or the other (a long list's
	 * usual case: the loop's two tests per field were ~100 instructions per new flow) */
	trie = ~(l->single_class | l->direct) & ((1u << PAL_FIELD_COUNT) - 1);
	for (f = 0; f < PAL_FIELD_COUNT && (trie >> f); f++) {
		struct pal_class *c;

		if (!(trie & (1u << f)))
			continue;
		switch (f) {
		case PAL_FIELD_SRC_ADDR:
		case PAL_FIELD_DST_ADDR:
			pal_class_key_set(key, req->list_id, f, pkt->family);
			__builtin_memcpy(key->data, f == PAL_FIELD_SRC_ADDR ? pkt->src : pkt->dst, 16);
			key->prefixlen = PAL_CLASS_FIXED_BITS + (pkt->family == 4 ? 32 : 128);
			break;
		case PAL_FIELD_PROTO:
			pal_class_key_set(key, req->list_id, f, pkt->family);
			key->data[0] = pkt->proto;
			key->prefixlen = PAL_CLASS_FIXED_BITS + 8;
			break;
		case PAL_FIELD_SPORT:
			pal_class_key_set(key, req->list_id, f, 0);
			pal_key16(key, pkt->has_ports, pkt->sport);
			break;
		case PAL_FIELD_DPORT:
			pal_class_key_set(key, req->list_id, f, 0);
			pal_key16(key, pkt->has_ports, pkt->dport);
			break;
		default:
			pal_class_key_set(key, req->list_id, f, 0);
			pal_key16(key, pkt->is_icmp,
				  ((__u16)pkt->icmp_type << 8) | pkt->icmp_code);
			break;
		}
		c = bpf_map_lookup_elem(&pal_classes, key);
		if (!c)
			return; /* req->status stays INTERNAL */
		s->cls[f] = *c;
		s->vkey[f] = s->cls[f].summary;
	}

	/* the direct fields' class ids (the single-class fields' 0), and the answer of steps 2
	 * and 3 for this list and these classes when it was made before: one call for all */
	hit = pal_cls_step1(s, l, pkt);
	if (hit < 0)
		return; /* req->status stays INTERNAL */
	if (hit)
		goto answered;
	/* what only steps 2 and 3 read: not written on a hit of the cache */
	s->n_entries = l->n_entries;
	s->n_summary = l->n_summary;
	s->entry_base = l->entry_base;
	s->cursor = 0;
	s->steps = 0;
	s->have_w = PAL_W_NONE;
	s->ifindex = req->ifindex;
	s->slot = req->slot;
	s->stage = req->stage;
	/* the class values step 1 left for now, which steps 2 and 3 read */
	if ((l->direct | l->single_class) && pal_cls_values(s, l))
		return; /* req->status stays INTERNAL */

	/* 2. candidate words: AND of the summaries, restricted to words that hold an entry without
	 * an anchor or one anchored on a field this packet's class satisfies; and the rank of each
	 * override mask word (pal_cls_cand_step, one bpf_loop iteration per few summary words) */
	s->always = l->always;
	s->neutral = l->neutral;
	s->words_err = 0;
	s->top = s->n_summary >= 32 ? ~0u : (1u << s->n_summary) - 1;
	for (f = 0; f < PAL_FIELD_COUNT; f++)
		s->top &= s->cls[f].top;
	s->top_left = s->top;
	s->cand_nz = 0;
	if (pal_cls_first_entry(s)) {
		pal_vcache_put(s);
	} else {
		s->pkt = *pkt; /* for the walk's Log events */
		s->cand_nz = 0;
		s->words_err = 0;
		bpf_loop((pal_popcount64(s->top) + PAL_CAND_WORDS_PER_STEP - 1) /
				 PAL_CAND_WORDS_PER_STEP,
			 pal_cls_cand_step, &loop, 0);
		if (s->words_err)
			return;

		/* 3. the walk; one bpf_loop iteration per step */
		/* a step can take two iterations (find a word, then AND it) */
		bpf_loop(2 * PAL_MAX_CLASSIFY_STEPS + 2, pal_cls_step, &loop, 0);
	}

answered:
	req->status = s->status;
	if (s->status == PAL_CLS_STATUS_VERDICT) {
		req->entry = s->entry;
		req->action = s->e.action;
		req->kind = s->e.kind;
		req->rule_id = s->e.rule_id;
		if (!req->quiet)
			pal_count_rule(s->e.rule_id, pkt->len);
	}
}

/* ---- the linear form of a short list (abi.h struct pal_small_list) ---- */

/* The scans' loops stop at the table's n; the constant bound is for the verifier. */

/* The entry bits of a 16-bit key: the first range whose last >= key (the ranges are sorted and
 * cover the key space from 0 without a gap, which small_list.c checks, so that range holds the
 * key). -1 when none does: the tables are broken, never "no entry". */
static __always_inline __s64 pal_small_key_bits(const struct pal_small_keys *k, __u32 present,
						__u32 key)
{
	__u32 i;

	if (!k)
		return -1;
	if (!present)
		return k->none_bits;
	for (i = 0; i < PAL_SMALL_RANGES; i++) {
		if (i >= k->n)
			break;
		if (key <= k->r[i].last)
			return k->r[i].bits;
	}
	return -1;
}

/* The entry bits of an IPv4 address (network order): its longest prefix, the first that
 * contains it (the prefixes are sorted longest first). -1 when none does (every family has a /0:
 * the tables are broken). */
static __always_inline __s64 pal_small_addr4_bits(const struct pal_small_addrs *a, __u32 addr)
{
	__u32 i;

	for (i = 0; i < PAL_SMALL_PREFIXES; i++) {
		if (i >= a->n4)
			break;
		if ((addr & a->p4[i].mask) == a->p4[i].net)
			return a->p4[i].bits;
	}
	return -1;
}

/* The same for an IPv6 address. */
static __always_inline __s64 pal_small_addr6_bits(const struct pal_small_addrs *a,
						  const __u8 *addr)
{
	__u32 w[4], i;

	__builtin_memcpy(w, addr, 16);
	for (i = 0; i < PAL_SMALL_PREFIXES; i++) {
		const struct pal_small_prefix6 *p = &a->p6[i];

		if (i >= a->n6)
			break;
		if ((((w[0] & p->mask[0]) ^ p->net[0]) | ((w[1] & p->mask[1]) ^ p->net[1]) |
		     ((w[2] & p->mask[2]) ^ p->net[2]) | ((w[3] & p->mask[3]) ^ p->net[3])) == 0)
			return p->bits;
	}
	return -1;
}

/* The entry bits of the packet's address addr (pal_pkt.src or dst) in its family's table. */
static __always_inline __s64 pal_small_addr_bits(const struct pal_small_addrs *a, __u32 family,
						 const __u8 *addr)
{
	__u32 v4;

	if (family == 6)
		return pal_small_addr6_bits(a, addr);
	__builtin_memcpy(&v4, addr, 4);
	return pal_small_addr4_bits(a, v4);
}

/* Whether a field's scan can change bits, the entries the packet can still match: not when each
 * of them is one every key of the field satisfies (any, abi.h pal_small_keys.any_bits), as the
 * AND with the field's bits would keep them all. Nor when bits is already 0. */
static __always_inline int pal_small_narrows(__u32 bits, __u32 any)
{
	return (bits & ~any) != 0;
}

/* *bits &= key field k's bits for the packet, unless that cannot change it. -1 when the table has
 * no answer. */
static __always_inline int pal_small_and_key(const struct pal_small_keys *k, __u32 present,
					     __u32 key, __u32 *bits)
{
	__s64 f;

	if (!pal_small_narrows(*bits, k->any_bits))
		return 0;
	f = pal_small_key_bits(k, present, key);
	if (f < 0)
		return -1;
	*bits &= (__u32)f;
	return 0;
}

/* The same for an address field. */
static __always_inline int pal_small_and_addr(const struct pal_small_addrs *a, __u32 family,
					      const __u8 *addr, __u32 *bits)
{
	__s64 f;

	if (!pal_small_narrows(*bits, family == 6 ? a->any6 : a->any4))
		return 0;
	f = pal_small_addr_bits(a, family, addr);
	if (f < 0)
		return -1;
	*bits &= (__u32)f;
	return 0;
}

/* The entries pkt matches: the AND of its six fields' bits (step 1 and word 0 of step 3 of the
 * bitmap form). -1 when a table has no answer. The cheap fields first, the addresses (a scan of
 * up to 16 prefixes, four words each for IPv6) last: a field is scanned only while it can still
 * remove an entry the packet might match, so a packet that the ports or the protocol have left
 * with only entries of any address (a list's catch-all) scans no prefix. */
static __always_inline __s64 pal_small_match(const struct pal_small_list *sl,
					     const struct pal_pkt *pkt)
{
	__u32 proto_key = pkt->proto + (pkt->family == 6 ? PAL_SMALL_PROTO_V6 : 0);
	__u32 icmp_key = ((__u32)pkt->icmp_type << 8) | pkt->icmp_code;
	__u32 bits = ~0u;

	/* each field's failure ends here, so the verifier's paths do not multiply across fields */
	if (pkt->family != 4 && pkt->family != 6)
		return -1;
	if (pal_small_and_key(&sl->keys[PAL_SMALL_K_DPORT], pkt->has_ports, pkt->dport, &bits))
		return -1;
	if (pal_small_and_key(&sl->keys[PAL_SMALL_K_PROTO], 1, proto_key, &bits))
		return -1;
	if (pal_small_and_key(&sl->keys[PAL_SMALL_K_SPORT], pkt->has_ports, pkt->sport, &bits))
		return -1;
	if (pal_small_and_key(&sl->keys[PAL_SMALL_K_ICMP], pkt->is_icmp, icmp_key, &bits))
		return -1;
	if (pal_small_and_addr(&sl->addr[1], pkt->family, pkt->dst, &bits))
		return -1;
	if (pal_small_and_addr(&sl->addr[0], pkt->family, pkt->src, &bits))
		return -1;
	return bits;
}

/* The walk's state (bpf_loop context: the verifier checks one step once, not once per entry). */
struct pal_small_walk {
	struct pal_cls_req *req;
	struct pal_pkt *pkt;
	const struct pal_small_list *sl;
	__u64 w; /* entries matched at or after the cursor */
	__u32 n_logged;
	__u32 done;
};

/* Entry i (ALLOW or DENY) decides. */
static __always_inline void pal_small_verdict(struct pal_cls_req *req, const struct pal_pkt *pkt,
					      __u32 i, const struct pal_small_entry *e)
{
	req->status = PAL_CLS_STATUS_VERDICT;
	req->entry = i;
	req->action = e->action;
	req->kind = e->kind;
	req->rule_id = e->rule_id;
	if (!req->quiet)
		pal_count_rule(e->rule_id, pkt->len);
}

/* One step of the bitmap form's step 3 over one word (bpf_loop callback): the next matched
 * entry; ALLOW/DENY decide, LOG records and jumps to `next`, PASS/SKIP jump to `next`. Returns
 * 1 to stop; done says the walk ended where the tables say it may. */
static long pal_small_step(__u32 iter, void *ctx)
{
	struct pal_small_walk *k = ctx;
	struct pal_cls_req *req = k->req;
	const struct pal_small_entry *e;
	__u32 i;

	if (!k->w) {
		k->done = 1; /* fell off the end: NOMATCH */
		return 1;
	}
	i = pal_ctz64(k->w) & (PAL_SMALL_ENTRIES - 1);
	if (i >= k->sl->n_entries)
		return 1; /* INTERNAL */
	e = &k->sl->e[i];
	switch (e->action) {
	case PAL_ACT_ALLOW:
	case PAL_ACT_DENY:
		pal_small_verdict(req, k->pkt, i, e);
		return 1;
	case PAL_ACT_LOG:
		if (k->n_logged < PAL_MAX_LOGS) {
			k->n_logged++;
			if (!req->quiet) {
				pal_count_rule(e->rule_id, k->pkt->len);
				pal_emit_log_req(req, k->pkt, e->rule_id);
			} else if (req->quiet == PAL_CLS_QUIET_TRACE) {
				pal_trace_log(e->rule_id);
			}
		}
		break;
	default: /* PASS, SKIP */
		break;
	}
	if (e->next <= i || e->next > PAL_SMALL_ENTRIES) /* tables promise i < next <= n */
		return 1; /* INTERNAL */
	k->w &= ~0ULL << e->next;
	return 0;
}

/* Classifies pkt with the list's linear form. Each step moves past at least one entry, so
 * PAL_SMALL_ENTRIES + 1 steps finish any list. When no entry matches, or the first matched
 * entry is an ALLOW or DENY (the common case), that is the walk's answer and no walk runs: its
 * bpf_loop costs a call per step. */
static __always_inline void pal_classify_small(struct pal_cls_req *req, struct pal_pkt *pkt,
					       const struct pal_small_list *sl)
{
	struct pal_small_walk k = { .req = req, .pkt = pkt, .sl = sl };
	__s64 match = pal_small_match(sl, pkt);
	const struct pal_small_entry *e;
	__u32 i;

	if (match < 0 || sl->n_entries > PAL_SMALL_ENTRIES)
		return; /* req->status stays INTERNAL */
	req->logged = 0;
	if (!match) {
		req->status = PAL_CLS_STATUS_NOMATCH;
		return;
	}
	i = pal_ctz64((__u32)match) & (PAL_SMALL_ENTRIES - 1);
	e = &sl->e[i];
	if (i < sl->n_entries && (e->action == PAL_ACT_ALLOW || e->action == PAL_ACT_DENY)) {
		pal_small_verdict(req, pkt, i, e);
		return;
	}
	k.w = (__u32)match;
	bpf_loop(PAL_SMALL_ENTRIES + 1, pal_small_step, &k, 0);
	if (k.done)
		req->status = PAL_CLS_STATUS_NOMATCH;
	req->logged = k.n_logged != 0;
}

/* Whether another classification of the same hook can run on this CPU while this one is inside
 * its slot: raw OUTPUT runs in process context (a softirq that sends, or another task, can come
 * in between), and a trace run is polctl's test run, in process context too. XDP and tc run in
 * softirq or with bottom halves off: nothing of their hook runs on the CPU until they return, so
 * they need no atomic owner word (two locked instructions per new flow). Read from req
 * each time (volatile), so that no register carries the answer through the classification: the
 * verifier then checks the classification once, not once per answer. */
static __always_inline int pal_cls_may_be_interrupted(const struct pal_cls_req *req)
{
	__u8 hook = *(const volatile __u8 *)&req->hook;

	/* filter INPUT too: under iptables-nft (nft_compat runs xt_bpf without turning bottom
	 * halves off) a packet NFQUEUE'd before it comes back through nf_reinject, whose hooks
	 * after the queue run in the verdict's process context, bottom halves on and preemptible */
	return hook == PAL_HOOK_RAW_OUTPUT || hook == PAL_HOOK_INPUT ||
	       *(const volatile __u8 *)&req->quiet == PAL_CLS_QUIET_TRACE;
}

/* Takes slot s for this classification: atomically where it can be interrupted, else by checking
 * that no trace run (which this packet interrupted) holds it. 0 when it is taken. */
static __always_inline int pal_cls_slot_take(const struct pal_cls_req *req,
					     struct pal_cls_scratch *s)
{
	if (pal_cls_may_be_interrupted(req))
		return __sync_val_compare_and_swap(&s->owner, PAL_SCRATCH_FREE, PAL_SCRATCH_TAKEN) ==
		       PAL_SCRATCH_FREE;
	return *(volatile __u64 *)&s->owner == PAL_SCRATCH_FREE;
}

static __always_inline void pal_cls_slot_give(const struct pal_cls_req *req,
					      struct pal_cls_scratch *s)
{
	if (pal_cls_may_be_interrupted(req))
		__sync_lock_test_and_set(&s->owner, PAL_SCRATCH_FREE); /* release, a full barrier */
}

/* Classifies on slot s, and answers BUSY instead when another classification used the slot
 * meanwhile (every one bumps uses at its start and its end; on one CPU an interrupting one runs
 * to its end before this one goes on, so it cannot go unseen): a test run that was not a trace
 * run, interrupted or preempted on Linux 6.1, whose test runs keep bottom halves on. */
static __always_inline void pal_classify_on_slot(struct pal_cls_req *req, struct pal_pkt *pkt,
						 struct pal_cls_scratch *s, struct pal_list *l)
{
	volatile __u32 *uses = &s->uses;
	__u32 mine = *uses + 1;

	*uses = mine;
	s->uses_start = mine; /* for the verdict cache's writer (pal_vcache_put) */
	pal_classify_owned(req, pkt, s, l);
	req->logged = s->n_logged != 0;
	if (*uses != mine)
		req->status = PAL_CLS_STATUS_BUSY;
	/* the count as it is now, not mine + 1: a classification that started after this one and
	 * is still to end must see the count move (with mine + 1 it could find its own value back) */
	*uses = *uses + 1;
}

/* List *list_id's bitmap form, or NULL: a long list's from the pal_long slot its id names (an
 * inlined array load instead of a hash lookup), and only when that slot says it holds this list
 * (a slot the agent emptied, or one written for another id, is never read as this list: NULL,
 * the caller's INTERNAL, a drop); any other list's from pal_lists. list_id points to the stack
 * (6.1 takes no other pointer as a map key). */
static __always_inline struct pal_list *pal_list_get(__u32 *list_id)
{
	__u32 slot = *list_id & ~PAL_LIST_ID_LONG;
	struct pal_list *l;

	if (!(*list_id & PAL_LIST_ID_LONG))
		return bpf_map_lookup_elem(&pal_lists, list_id);
	l = bpf_map_lookup_elem(&pal_long, &slot);
	if (!l || *(volatile __u32 *)&l->list_id != *list_id)
		return 0;
	return l;
}

/* Classifies pkt with the list's bitmap form and a scratch slot of the hook. */
static __always_inline void pal_classify_bitmaps(struct pal_cls_req *req, struct pal_pkt *pkt,
						 __u32 hook)
{
	/* on the stack: req is pal_classify's argument, a pointer 6.1's verifier does not take
	 * as a map key (docs/datapath.md "Debian 12 constraints") */
	__u32 list_id = req->list_id;
	struct pal_cls_scratch *s;
	struct pal_list *l;

	s = bpf_map_lookup_elem(&pal_scratch, &hook);
	l = pal_list_get(&list_id);
	if (!s || !l || l->n_summary > PAL_SUMMARY_WORDS)
		return; /* req->status stays INTERNAL */
	if (!pal_cls_slot_take(req, s)) {
		req->status = PAL_CLS_STATUS_BUSY;
		return;
	}
	pal_classify_on_slot(req, pkt, s, l);
	pal_cls_slot_give(req, s);
}

/* List list_id's linear form, or NULL: only an id with PAL_LIST_ID_SMALL has one, in the slot
 * its id names (an inlined array load, where a hash lookup by id cost ~20 ns per packet), and
 * only when that slot says it holds this list's form (a slot the agent emptied, or one written
 * for another id, is never read as this list). */
static __always_inline struct pal_small_list *pal_small_get(__u32 list_id)
{
	__u32 slot = list_id & ~PAL_LIST_ID_SMALL;
	struct pal_small_list *sl;

	if (!(list_id & PAL_LIST_ID_SMALL))
		return 0;
	sl = bpf_map_lookup_elem(&pal_small, &slot);
	if (!sl || *(volatile __u32 *)&sl->list_id != list_id)
		return 0;
	return sl;
}

/* Classifies pkt against list req->list_id: its linear form when it has one (pal_small_get),
 * else its bitmap form. Fills req's out fields; returns req->status. */
__noinline int pal_classify(struct pal_cls_req *req, struct pal_pkt *pkt)
{
	struct pal_small_list *sl;
	__u32 hook;

	if (!req || !pkt)
		return PAL_CLS_STATUS_INTERNAL;
	req->status = PAL_CLS_STATUS_INTERNAL;
	req->rule_id = PAL_RULE_ID_NONE;
	hook = req->hook;
	if (hook >= PAL_HOOK_COUNT)
		return PAL_CLS_STATUS_INTERNAL;
	if (req->quiet == PAL_CLS_QUIET_TRACE)
		pal_trace_list_start();
	sl = pal_small_get(req->list_id);
	if (sl)
		pal_classify_small(req, pkt, sl);
	else
		pal_classify_bitmaps(req, pkt, hook);
	if (req->quiet == PAL_CLS_QUIET_TRACE)
		pal_trace_list_end(req->list_id, req->hook, req->stage, req->status, req->action,
				   req->kind, req->entry, req->rule_id);
	return req->status;
}

#endif
