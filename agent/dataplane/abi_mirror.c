/* The enums and limits that the compiler layers mirror from the datapath ABI, checked against
 * it in one place at build time (this file has no code).
 *
 * Why mirrors and not one enum: agent/core (ir.h, model.h) and the classifier compiler
 * (agent/classifier/flatten.h) are pure libraries that the evaluator, the fuzzers and the unit
 * tests use without the datapath; their enums also carry values the maps never hold
 * (PAL_STAGE_COUNT, PAL_CLS_N_FIELDS). include/palisade/abi.h stays the one definition of what
 * the programs read; the compiler's numbering must equal it where values cross into the maps,
 * which the loader (maps_sync.c, datapath.c) relies on when it copies them without translation. */
#include "palisade/abi.h"
#include "flatten.h"
#include "ir.h"
#include "model.h"

_Static_assert(PAL_SUMMARY_WORDS == PAL_CLS_MAX_SUMMARY, "ABI summary size = flatten.h's");
_Static_assert(PAL_MAX_CLASSIFY_STEPS == PAL_CLS_MAX_STEPS, "ABI step limit = flatten.h's");
_Static_assert(PAL_MAX_LOGS == PAL_CLS_MAX_LOGS, "ABI log limit = flatten.h's");
_Static_assert((int)PAL_ACT_ALLOW == (int)PAL_CLS_ALLOW && (int)PAL_ACT_DENY == (int)PAL_CLS_DENY &&
		       (int)PAL_ACT_LOG == (int)PAL_CLS_LOG && (int)PAL_ACT_PASS == (int)PAL_CLS_PASS &&
		       (int)PAL_ACT_SKIP == (int)PAL_CLS_SKIP,
	       "entry actions = flatten.h's");
_Static_assert((int)PAL_KIND_RULE == (int)PAL_CLS_K_RULE &&
		       (int)PAL_KIND_PROFILE_RULE == (int)PAL_CLS_K_PROFILE_RULE &&
		       (int)PAL_KIND_TIER_END == (int)PAL_CLS_K_END_OF_TIER &&
		       (int)PAL_KIND_DEFAULT == (int)PAL_CLS_K_DEFAULT_DENY,
	       "entry kinds = flatten.h's");
_Static_assert((int)PAL_FIELD_SRC_ADDR == (int)PAL_CLS_F_SRC &&
		       (int)PAL_FIELD_DST_ADDR == (int)PAL_CLS_F_DST &&
		       (int)PAL_FIELD_PROTO == (int)PAL_CLS_F_PROTO &&
		       (int)PAL_FIELD_SPORT == (int)PAL_CLS_F_SPORT &&
		       (int)PAL_FIELD_DPORT == (int)PAL_CLS_F_DPORT &&
		       (int)PAL_FIELD_ICMP == (int)PAL_CLS_F_ICMP && (int)PAL_FIELD_COUNT == (int)PAL_CLS_N_FIELDS,
	       "fields = flatten.h's");
_Static_assert((int)PAL_DP_STAGE_FAILSAFE == (int)PAL_STAGE_FAILSAFE &&
		       (int)PAL_DP_STAGE_UNTRACKED == (int)PAL_STAGE_UNTRACKED &&
		       (int)PAL_DP_STAGE_PREDNAT == (int)PAL_STAGE_PREDNAT &&
		       (int)PAL_DP_STAGE_FORWARD == (int)PAL_STAGE_FORWARD &&
		       (int)PAL_DP_STAGE_NORMAL == (int)PAL_STAGE_NORMAL &&
		       (int)PAL_DP_STAGE_WORKLOAD == (int)PAL_STAGE_WORKLOAD &&
		       (int)PAL_DP_STAGE_PROFILE == (int)PAL_STAGE_PROFILE &&
		       (int)PAL_DP_STAGE_DEFAULT == (int)PAL_STAGE_DEFAULT &&
		       (int)PAL_DP_STAGE_SOURCE == (int)PAL_STAGE_SOURCE,
	       "ABI stage numbers follow enum pal_stage");
_Static_assert((int)PAL_ACTION_ALLOW == (int)PAL_CLS_ALLOW &&
		       (int)PAL_ACTION_DENY == (int)PAL_CLS_DENY &&
		       (int)PAL_ACTION_LOG == (int)PAL_CLS_LOG && (int)PAL_ACTION_PASS == (int)PAL_CLS_PASS,
	       "flatten.h's entry actions 0..3 = model.h's rule actions");
