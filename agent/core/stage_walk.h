/* The stage walk of docs/semantics.md section 7, once, over whatever holds the rule lists.
 *
 * Three places walk the stages for one packet: the reference evaluator over the IR
 * (evaluator.c, the oracle), the live `polctl trace` over the decisions the pinned programs
 * recorded in trace mode (tools/polctl/live_trace.c) and the differential test over flattened
 * lists (tests/unit/
 * test_differential_emul.c). They differ only in how one endpoint's list for one stage is
 * evaluated and how failsafe ports are looked up; the order of the stages, what ends the walk and
 * how the verdict and its steps are written is this file. (The kernel's own walk, bpf/stages.h, is
 * kernel code and is checked against the evaluator by the BPF differential tests.)
 *
 * A caller resolves the interfaces to sides and supplies struct pal_walk_ops.
 */
#ifndef PALISADE_STAGE_WALK_H
#define PALISADE_STAGE_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evaluator.h"

/* One end of the packet's path. */
struct pal_walk_side {
	const void *ep;   /* the caller's endpoint handle; NULL: no endpoint, not policed */
	bool workload;    /* a workload endpoint (else a host endpoint) */
	const char *name; /* endpoint name for steps and reasons */
};

/* The rule lists of one endpoint. */
enum pal_walk_list {
	PAL_WALK_UNTRACKED, /* untracked tiers of a host endpoint */
	PAL_WALK_PREDNAT,   /* preDNAT tiers of a host endpoint (ingress only) */
	PAL_WALK_FORWARD,   /* forward tiers of a host endpoint */
	PAL_WALK_NORMAL,    /* tiers, then profiles, then default deny (host normal, workload) */
};

/* Where in an endpoint (NORMAL) list the decision was taken. */
enum pal_walk_at { PAL_WALK_AT_TIER, PAL_WALK_AT_PROFILE, PAL_WALK_AT_DEFAULT };

/* What one list decided. */
struct pal_walk_result {
	bool present;            /* the list exists (a missing list gives no verdict) */
	enum pal_action outcome; /* ALLOW, DENY, or PASS = no verdict */
	enum pal_walk_at at;     /* NORMAL lists: tier, profile or the default deny */
	const char *tier, *policy;
	int rule;         /* rule index in its policy/profile, -1 when none */
	uint32_t rule_id; /* UINT32_MAX when none */
	/* NORMAL lists, for the step notes only: how many tiers and profiles the endpoint has, -1
	 * when the list does not say (a flattened list keeps no count). */
	int n_tiers, n_profiles;
};

struct pal_walk_ops {
	/* Evaluates `list` of side s for direction dir on pkt, seeing the destination before DNAT
	 * when pre_dnat (else dnat_dst/dnat_dport when the packet has them). Appends the Log rules
	 * hit to v with pal_verdict_log. A NORMAL list that is present always decides. */
	void (*run_list)(void *ctx, const struct pal_walk_side *s, enum pal_walk_list list,
			 enum pal_dir dir, const struct pal_packet *pkt, bool pre_dnat,
			 struct pal_verdict *v, struct pal_walk_result *r);
	/* Is pkt allowed by a failsafe port of direction dir (peer: src inbound, dst outbound)?
	 * When it is, writes how it matched ("tcp:22", "tcp:10.0.0.0/8:22") into what. */
	bool (*failsafe)(void *ctx, enum pal_dir dir, const struct pal_packet *pkt, char *what,
			 size_t len);
	/* May the workload of side s send from pkt->src (one of its addresses or
	 * allowSpoofedSourcePrefixes)? Asked for packets a workload sends, before its policy. */
	bool (*source_ok)(void *ctx, const struct pal_walk_side *s, const struct pal_packet *pkt);
	/* --endpoint-to-host-action is drop. */
	bool endpoint_to_host_drop;
};

/* Walks the stages for dir (in: the arriving or sending interface's side; out: the outgoing
 * side, FORWARD only) and writes v from scratch. Arguments are not checked (pal_evaluate does). */
void pal_walk_stages(const struct pal_walk_ops *ops, void *ctx, enum pal_trace_dir dir,
		     const struct pal_walk_side *in, const struct pal_walk_side *out,
		     const struct pal_packet *pkt, struct pal_verdict *v);

/* Records a Log rule hit on the way (drops it when the verdict's array is full). */
void pal_verdict_log(struct pal_verdict *v, uint32_t rule_id);

#endif
