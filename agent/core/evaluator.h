/* The reference evaluator: the verdict of the policy in the IR for one packet, with the stage, tier,
 * policy and rule that decided and the path it took. It is the oracle for datapath tests and the
 * engine behind `polctl trace`, so it favours being obviously right over being fast: it walks the
 * IR the way docs/semantics.md reads, rule by rule.
 *
 * Directions are the host's view of the packet:
 *   PAL_TRACE_INGRESS  arrives on in_iface, for a local process (or, on a workload interface, for
 *                      the host: workload egress policy then --endpoint-to-host-action)
 *   PAL_TRACE_EGRESS   sent by a local process out of in_iface (to a workload interface: always
 *                      allowed)
 *   PAL_TRACE_FORWARD  arrives on in_iface, routed out of out_iface
 * A packet that is DNATed (kube-proxy NodePort) has has_dnat set: preDNAT policy sees dst/dport,
 * every later stage sees dnat_dst/dnat_dport.
 */
#ifndef PALISADE_EVALUATOR_H
#define PALISADE_EVALUATOR_H

#include <stdbool.h>
#include <stdint.h>
#include "ir.h"

enum pal_trace_dir { PAL_TRACE_INGRESS, PAL_TRACE_EGRESS, PAL_TRACE_FORWARD };

struct pal_packet {
	uint8_t protocol;
	struct pal_addr src, dst; /* same family */
	uint16_t sport, dport;    /* TCP/UDP/SCTP only */
	uint8_t icmp_type, icmp_code; /* ICMP/ICMPv6 only */
	bool has_dnat;
	struct pal_addr dnat_dst;
	uint16_t dnat_dport;
};

/* One stage the packet went through. */
struct pal_trace_step {
	enum pal_stage stage;
	const char *endpoint; /* endpoint name, NULL for failsafe/default */
	enum pal_dir dir;
	/* What the stage decided: DENY ended evaluation; ALLOW means a rule (or failsafe, or an
	 * end-of-stage action) of this stage allowed it (on the forward path the other side's stages
	 * still follow); PASS means it let the packet go on to the next stage without deciding (no
	 * rule acted, no policy for that stage, or an untracked/preDNAT tier ended). */
	enum pal_action outcome;
	const char *tier, *policy; /* the deciding tier/policy, NULL when none */
	int rule;                  /* deciding rule index, -1 when none */
	char note[160];            /* human explanation */
};

#define PAL_TRACE_MAX_STEPS 16
#define PAL_TRACE_MAX_LOGS 32

struct pal_verdict {
	bool allow;
	bool untracked;       /* allowed by an untracked (doNotTrack) policy: not conntracked */
	enum pal_stage stage; /* the stage that decided */
	const char *tier;     /* NULL when no tier decided (failsafe, profile, default) */
	const char *policy;   /* policy or profile name; NULL when none */
	int rule;             /* rule index in that policy's list; -1 = none (end of tier, default) */
	uint32_t rule_id;     /* IR rule id of the deciding rule, UINT32_MAX when none */
	enum pal_action action;
	char reason[200]; /* why, in words */
	struct pal_trace_step steps[PAL_TRACE_MAX_STEPS];
	size_t n_steps;
	uint32_t logged_rule_ids[PAL_TRACE_MAX_LOGS]; /* Log rules that matched on the way */
	size_t n_logged;
};

/* Returns 0, or -EINVAL when the arguments make no sense (unknown direction, FORWARD without
 * out_iface, families of src and dst differ). Unknown interfaces are not an error: they have no
 * policy. */
int pal_evaluate(const struct pal_ir *ir, enum pal_trace_dir dir, const char *in_iface,
		 const char *out_iface, const struct pal_packet *pkt, struct pal_verdict *out);

/* Does a single rule match (exposed for tests and for the datapath's differential test)?
 * `addr_src`/`addr_dst`/ports are the values the stage sees. */
bool pal_ir_rule_matches(const struct pal_ir *ir, const struct pal_ir_rule *rule,
			 const struct pal_packet *pkt, const struct pal_addr *dst, uint16_t dport);

#endif
