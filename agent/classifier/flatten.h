/* The classifier's tables: one IR rule list (a tier list, optionally followed by the endpoint's
 * profiles) flattened into an ordered array of entries plus, per packet field, a map from field
 * values to equivalence classes and from classes to bitmaps over the entries. The datapath loader
 * copies these plain C arrays into BPF maps; pal_cls_classify() (classify_emul.c) runs the exact
 * per-packet algorithm the BPF programs run, so it is both the userspace model for the
 * differential test and the specification of the BPF code. Stage walking (failsafe, untracked,
 * preDNAT, forward, normal, workload, defaults) is the caller's job: a list only answers "which
 * entry decides, and which Log entries were hit on the way".
 *
 * ENTRIES. Entry i (0 <= i < n_entries) is one matchable thing, in evaluation order:
 *   for each tier of the list:
 *     for each policy, for each rule:
 *       [SKIP entries of the rule]  one per (address, protocol, port) tuple of its
 *                                   not_named_port_sets: when the tuple matches, the rule cannot
 *                                   match, so evaluation continues at `next` (after the rule)
 *       [rule entries]              one per combination of the rule's positive port alternatives:
 *                                   "numeric ports" (port_ranges) and every named-port tuple of
 *                                   each side (src x dst cross product); one entry when the rule
 *                                   has no positive ports. All carry the same action and
 *                                   reporting fields. Combinations that cannot match (tuple
 *                                   protocol differs from the rule's protocol or the other side's
 *                                   tuple, family excluded, families == 0) are dropped, so a
 *                                   rule may have no entry at all.
 *     END_OF_TIER entry (action DENY, every field wildcard) when the tier's end_action is DENY;
 *     none when it is PASS (evaluation just falls into the next tier).
 *   for each profile (normal/workload lists only), its rules of the list's direction, as above;
 *     a profile ends with PASS (falls into the next profile).
 *   DEFAULT_DENY entry (action DENY, every field wildcard) when end == PAL_CLS_END_DENY.
 * Falling off the end (only possible with PAL_CLS_END_NONE) = no verdict. As the reference
 * evaluator reads docs/semantics.md section 7, lists are flattened per stage as:
 *   untracked in/out, preDNAT in    no profiles, END_NONE (no verdict: on to the next stage);
 *                                   destination before DNAT
 *   forward in/out                  no profiles, END_DENY (forward policy that applies and decides
 *                                   nothing denies); only when the endpoint has forward tiers (no
 *                                   list = allow for that side)
 *   normal in/out, workload in/out  the endpoint's profiles, END_DENY
 *
 * `next` of an entry: LOG -> first entry after the rule's entries (a Log rule logs once even when
 * several of its sub-entries match); SKIP -> first entry after the rule's entries; PASS -> first
 * entry of the next tier (tiers) or of the next profile (profiles), which may be the
 * DEFAULT_DENY entry or n_entries. ALLOW/DENY: unused (= index + 1).
 *
 * FIELDS and their keys (what the datapath extracts from the packet for this list's stage; the
 * destination is the pre-DNAT one for preDNAT lists and the post-DNAT one otherwise):
 *   PAL_CLS_F_SRC, PAL_CLS_F_DST  the address. Table: prefixes (both families, sorted by
 *       pal_cidr_cmp), longest-prefix match; both families' /0 are always present, so every
 *       address has a class. Prefixes are nested or disjoint, never partially overlapping, so the
 *       longest match is exact (every address of a prefix's region, i.e. the prefix minus its
 *       longer prefixes, satisfies the same rules).
 *   PAL_CLS_F_PROTO  key (family, IP protocol): proto_class[fam][proto], fam 0 = IPv4, 1 = IPv6.
 *       The rule's `families` is checked here (and only here).
 *   PAL_CLS_F_SPORT, PAL_CLS_F_DPORT  key = the port for TCP, UDP and SCTP (6, 17, 132), else
 *       PAL_CLS_KEY_NONE. Table: none_class for NONE, and disjoint prefixes over 16 bits covering
 *       0..65535 (value, len: matches ports whose top `len` bits equal value's) for the rest;
 *       the disjoint ranges they came from are kept too (ranges[]).
 *   PAL_CLS_F_ICMP  key = type << 8 | code for ICMP and ICMPv6 packets (protocol 1 or 58), else
 *       PAL_CLS_KEY_NONE. Same table shape as the ports.
 *   Class ids are dense per field: 0 .. n_classes - 1.
 *
 * BITMAPS (two-level, sparse). n_words = ceil(n_entries / 64) words of 64 bits; bit b of word j
 * (value >> b & 1) is entry j * 64 + b. n_summary = ceil(n_words / 64). For field f and class c:
 *   word(f, c, j) = the override (c, j) when class c has one, else base[j]
 *   summary(f, c)[k] bit b  <=>  word(f, c, k * 64 + b) != 0
 *   anchor(f, c)[k] bit b   <=>  word(f, c, k * 64 + b) has an entry whose anchor is f
 *   always[k] bit b         <=>  word k * 64 + b has an entry with no anchor
 * (Override words are never 0, so summary(f, c) = {j : base[j] != 0} | {j : class c overrides
 * word j}: a loader may store just each class's override mask and the base's non-zero mask.)
 * base[j] has the entries that have no constraint on the field (satisfied by every key), so a
 * class only stores the words in which it has more. Entry i's bit is set in word(f, c, ...) iff
 * every key of class c satisfies entry i's constraint on field f. A packet matches entry i iff
 * bit i is set in all six words (the fields are independent: the couplings of named ports were
 * expanded into entries above).
 * ANCHORS. Every entry has an anchor (entry.anchor): the field on which its constraint is the most
 * selective (an address set of /32s beats a port, which beats a protocol; negations are weakest),
 * or PAL_CLS_ANCHOR_NONE when it constrains no field (END_OF_TIER, DEFAULT_DENY, match-all
 * rules). A matching entry is set in its anchor field's class, so the words that can hold a match
 * are those in always | OR over f of anchor(f, c_f). This bounds the candidate words by the
 * entries that pass their most selective field, where the AND of the summaries alone can be fooled
 * by entries scattered through the list that are wildcards on one field and excluded by another
 * (e.g. "UDP from anywhere" rules every 50 entries make every word a candidate for a TCP packet).
 * Both filters are supersets of the words holding matches, so using either, both or neither gives
 * the same verdicts; only the number of words visited differs.
 *
 * PER-PACKET ALGORITHM (pal_cls_classify is the reference; the BPF code must do the same):
 *   1. keys -> class c_f for each of the 6 fields (one lookup each).
 *   2. cand[k] = (AND over f of summary(f, c_f)[k]) & (always[k] | OR over f of anchor(f, c_f)[k]),
 *      for k < n_summary.
 *   3. cursor = 0. For each set bit j of cand in ascending order (skip j < cursor / 64):
 *        w = AND over f of word(f, c_f, j); clear bits below cursor when j == cursor / 64;
 *        while w != 0:
 *          i = j * 64 + ctz(w); e = entries[i]; one "step" is spent
 *          ALLOW / DENY: verdict = e, stop.
 *          LOG: record i (first PAL_CLS_MAX_LOGS only), cursor = e.next
 *          PASS, SKIP: cursor = e.next
 *          if cursor / 64 != j: go to the next candidate word (>= cursor / 64)
 *          w &= ~0 << (cursor % 64)
 *      One step is also spent per candidate word visited. When steps would exceed
 *      PAL_CLS_MAX_STEPS the result is `overflow` (the datapath denies and counts it).
 *   4. No verdict after the last candidate word: PAL_CLS_NO_MATCH.
 * Cost: 6 class lookups + 6 summary and anchor lookups + (6 word lookups) per candidate word,
 * independent of how many rules the list has as long as candidate words stay few (the anchors keep
 * them near the number of entries that pass their most selective field).
 * The datapath takes two exact shortcuts (docs/datapath.md "Classifier"): step 2 only for the
 * summary words k where every summary(f, c_f)[k] != 0 (cand[k] is 0 elsewhere), and for a list of
 * at most 32 entries a linear form: per field the class's word 0 found by scanning these tables'
 * ranges and prefixes, then step 3 over that one word.
 */
#ifndef PALISADE_FLATTEN_H
#define PALISADE_FLATTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evaluator.h"
#include "ir.h"

/* Design limits shared with the BPF side. */
#define PAL_CLS_MAX_ENTRIES 131072u /* n_entries; flatten fails with -E2BIG above */
#define PAL_CLS_MAX_WORDS (PAL_CLS_MAX_ENTRIES / 64)  /* 2048 */
#define PAL_CLS_MAX_SUMMARY (PAL_CLS_MAX_WORDS / 64)  /* 32 summary words per class */
#define PAL_CLS_MAX_LOGS 32u        /* Log entries reported per packet (more are not recorded) */
#define PAL_CLS_MAX_STEPS 65536u    /* candidate words visited + entries hit, per packet */
#define PAL_CLS_KEY_NONE 0x10000u   /* port / ICMP key of a packet that has none */
#define PAL_CLS_NO_MATCH UINT32_MAX /* result.entry when the list gave no verdict */
#define PAL_CLS_NO_RULE UINT32_MAX  /* entry.rule_id / rule of synthetic entries */
#define PAL_CLS_ANCHOR_NONE 0xff    /* entry.anchor of an entry that constrains no field */

enum pal_cls_field {
	PAL_CLS_F_SRC,
	PAL_CLS_F_DST,
	PAL_CLS_F_PROTO,
	PAL_CLS_F_SPORT,
	PAL_CLS_F_DPORT,
	PAL_CLS_F_ICMP,
	PAL_CLS_N_FIELDS
};

/* Entry actions. 0..3 have the values of enum pal_action. */
enum pal_cls_action {
	PAL_CLS_ALLOW = 0,
	PAL_CLS_DENY = 1,
	PAL_CLS_LOG = 2,
	PAL_CLS_PASS = 3,
	PAL_CLS_SKIP = 4, /* internal: a not-named-port exclusion; not counted, not reported */
};

/* What an entry stands for, for counters and reporting. */
enum pal_cls_kind {
	PAL_CLS_K_RULE = 0,         /* a policy rule: tier, policy, rule */
	PAL_CLS_K_PROFILE_RULE = 1, /* a profile rule: tier = position in the endpoint's profile list,
				     * policy = index into pal_ir.profiles, rule */
	PAL_CLS_K_END_OF_TIER = 2,  /* tier = the tier index; policy and rule unused */
	PAL_CLS_K_DEFAULT_DENY = 3, /* end of the list; tier, policy, rule unused */
};

struct pal_cls_entry {
	uint8_t action; /* enum pal_cls_action */
	uint8_t kind;   /* enum pal_cls_kind */
	uint8_t anchor; /* enum pal_cls_field, or PAL_CLS_ANCHOR_NONE (see ANCHORS) */
	uint8_t pad;
	uint32_t next;    /* see ENTRIES above */
	uint32_t rule_id; /* IR rule id (per-rule counters); PAL_CLS_NO_RULE for synthetic entries */
	uint32_t tier;    /* index in the tier list, or in the endpoint's profile list */
	uint32_t policy;  /* index in the tier's policies, or in pal_ir.profiles */
	uint32_t rule;    /* pal_ir_rule.index; PAL_CLS_NO_RULE for synthetic entries */
};

/* Address prefix -> class. */
struct pal_cls_prefix {
	struct pal_cidr cidr;
	uint32_t cls;
};

/* Disjoint range of 16-bit keys -> class. */
struct pal_cls_range {
	uint16_t first, last;
	uint32_t cls;
};

/* 16-bit key prefix -> class: keys k with (k >> (16 - len)) == (value >> (16 - len)); len 0..16,
 * the low 16 - len bits of value are zero. */
struct pal_cls_kprefix {
	uint16_t value;
	uint8_t len;
	uint8_t pad;
	uint32_t cls;
};

/* Bitmaps of one field (see BITMAPS above). */
struct pal_cls_bitmaps {
	uint32_t n_classes;
	uint64_t *base;     /* n_words */
	uint64_t *summary;  /* n_classes * n_summary; class c's words start at c * n_summary */
	uint64_t *anchor;   /* n_classes * n_summary, same layout (see ANCHORS) */
	uint32_t *ovr_start; /* n_classes + 1: class c's overrides are [ovr_start[c], ovr_start[c+1]) */
	uint32_t *ovr_word;  /* word index j, ascending within a class */
	uint64_t *ovr_bits;  /* the full word (base bits included) */
	size_t n_ovr;
};

/* The lookup table of a 16-bit field (ports, ICMP). */
struct pal_cls_keytable {
	uint32_t none_class; /* class of PAL_CLS_KEY_NONE */
	struct pal_cls_range *ranges; /* sorted, disjoint, covering 0..65535, adjacent ones differ */
	size_t n_ranges;
	struct pal_cls_kprefix *prefixes; /* the ranges as prefixes, sorted by value */
	size_t n_prefixes;
};

struct pal_cls_tables {
	struct pal_cls_entry *entries;
	uint32_t n_entries;
	uint32_t n_words;   /* ceil(n_entries / 64) */
	uint32_t n_summary; /* ceil(n_words / 64) */
	uint64_t *always;   /* n_summary words: words holding entries without an anchor */
	struct pal_cls_bitmaps bm[PAL_CLS_N_FIELDS];
	struct pal_cls_prefix *addr[2]; /* [0] = source (F_SRC), [1] = destination (F_DST) */
	size_t n_addr[2];
	uint32_t proto_class[2][256]; /* [0] IPv4, [1] IPv6 */
	struct pal_cls_keytable sport, dport, icmp;
};

/* How a list ends when no entry decided. */
enum pal_cls_list_end {
	PAL_CLS_END_NONE, /* untracked, preDNAT, forward: no verdict (PAL_CLS_NO_MATCH) */
	PAL_CLS_END_DENY, /* normal, workload: DEFAULT_DENY entry after the profiles */
};

struct pal_cls_input {
	const struct pal_ir *ir;
	const struct pal_ir_tierlist *tiers; /* may be NULL or empty */
	const uint32_t *profiles; /* indexes into ir->profiles, in the endpoint's order (may be NULL) */
	size_t n_profiles;
	enum pal_dir dir; /* which rule list of each profile */
	enum pal_cls_list_end end;
};

/* Builds the tables. Returns 0, -ENOMEM, -EINVAL (bad indexes in the IR) or -E2BIG (more than
 * PAL_CLS_MAX_ENTRIES entries). *out is freed with pal_cls_tables_free. */
int pal_cls_flatten(const struct pal_cls_input *in, struct pal_cls_tables **out);
void pal_cls_tables_free(struct pal_cls_tables *t);

/* The field keys of one packet as a list's stage sees it. */
struct pal_cls_keys {
	struct pal_addr src, dst; /* same family */
	uint8_t protocol;
	uint32_t sport, dport; /* 0..65535 or PAL_CLS_KEY_NONE */
	uint32_t icmp;         /* type << 8 | code, or PAL_CLS_KEY_NONE */
};

/* Keys of pkt with destination dst:dport (pre- or post-DNAT, the caller's choice). */
void pal_cls_keys_from_packet(const struct pal_packet *pkt, const struct pal_addr *dst,
			      uint16_t dport, struct pal_cls_keys *k);

struct pal_cls_result {
	uint32_t entry; /* deciding entry (ALLOW or DENY), or PAL_CLS_NO_MATCH */
	bool overflow;  /* PAL_CLS_MAX_STEPS exceeded: no verdict computed */
	uint32_t steps;
	uint32_t logged[PAL_CLS_MAX_LOGS]; /* LOG entries hit, in order */
	uint32_t n_logged;
};

/* Step 1 of the algorithm, per field (exposed for tests and the loader's self-check). */
uint32_t pal_cls_class_of(const struct pal_cls_tables *t, enum pal_cls_field f,
			  const struct pal_cls_keys *k);
/* word(f, c, j) of BITMAPS above. */
uint64_t pal_cls_word(const struct pal_cls_tables *t, enum pal_cls_field f, uint32_t cls,
		      uint32_t j);
/* The whole per-packet algorithm. */
void pal_cls_classify(const struct pal_cls_tables *t, const struct pal_cls_keys *k,
		      struct pal_cls_result *res);

/* Expands the inclusive range [first, last] of 16-bit keys into the minimal list of aligned
 * prefixes (at most 30), calling fn for each in ascending order. Returns how many. */
size_t pal_cls_range_to_prefixes(uint16_t first, uint16_t last,
				 void (*fn)(uint16_t value, uint8_t len, void *arg), void *arg);

#endif
