/* The compiler's output: the intermediate representation (IR) that the datapath loader programs
 * into BPF maps and that the reference evaluator (evaluator.h) interprets.
 *
 * It keeps the structure of Calico's semantics (endpoint -> stage list -> tiers -> policies ->
 * rules, then profiles) so that the evaluator can stay simple and obviously right. Everything that
 * needs the rest of the model is already resolved: selectors became address sets, named ports
 * became (address, protocol, port) sets, tiers and policies are sorted, only policies that select
 * the endpoint and have the direction in `types` are present, and the tier lists are filled per
 * semantics.md 6-7 (untracked / preDNAT / forward / normal for host endpoints, workload tiers for
 * workload endpoints).
 *
 * Matching a rule (all fields AND):
 *   - families: bit PAL_FAMILY_V4 / PAL_FAMILY_V6 set when the rule is for that family (from
 *     ipVersion, nets, notNets as felix reads them, ICMP vs ICMPv6). A rule with families == 0
 *     can never match.
 *   - protocol / not_protocol, icmp / not_icmp as in Calico.
 *   - each side (src, dst): the address is in every set of in_sets (each set is an OR of CIDRs;
 *     nets, selector, namespaceSelector and serviceAccounts each contribute one set), and in no set
 *     of not_in_sets (notNets, notSelector); when has_ports the port is in one of port_ranges or
 *     (address, protocol, port) is in one of named_port_sets; the port is in none of not_port_ranges
 *     and (address, protocol, port) in none of not_named_port_sets. Ports only constrain
 *     TCP/UDP/SCTP packets; a rule with ports never matches other protocols (Calico requires the
 *     protocol to be set when numeric ports are used).
 */
#ifndef PALISADE_IR_H
#define PALISADE_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "model.h"
#include "net.h"

#define PAL_FAMILY_V4 0x1
#define PAL_FAMILY_V6 0x2

/* Stages, in the order packets meet them. Names (pal_stage_name) are polctl's JSON values. */
enum pal_stage {
	PAL_STAGE_FAILSAFE,
	PAL_STAGE_UNTRACKED,
	PAL_STAGE_PREDNAT,
	PAL_STAGE_FORWARD,
	PAL_STAGE_NORMAL,
	PAL_STAGE_WORKLOAD,
	PAL_STAGE_PROFILE,
	PAL_STAGE_DEFAULT,
	PAL_STAGE_SOURCE, /* a workload sent from an address that is not its own (anti-spoofing) */
	PAL_STAGE_COUNT
};

enum pal_dir { PAL_DIR_INGRESS = 0, PAL_DIR_EGRESS = 1, PAL_DIR_COUNT = 2 };

struct pal_ir_set {
	char *origin; /* what it came from, e.g. `selector app == "db"` or `nets of rule` */
	struct pal_cidr *cidrs; /* sorted, deduplicated */
	size_t n;
};

struct pal_ir_named_port {
	struct pal_addr addr;
	uint8_t protocol;
	uint16_t port;
};

struct pal_ir_named_port_set {
	char *origin; /* e.g. `named port "http" of selector app == "web"` */
	struct pal_ir_named_port *v;
	size_t n;
};

struct pal_port_range {
	uint16_t first, last;
};

struct pal_ir_side {
	uint32_t *in_sets; /* indexes into pal_ir.sets */
	size_t n_in_sets;
	uint32_t *not_in_sets;
	size_t n_not_in_sets;
	bool has_ports;
	struct pal_port_range *port_ranges;
	size_t n_port_ranges;
	uint32_t *named_port_sets; /* indexes into pal_ir.named_port_sets */
	size_t n_named_port_sets;
	struct pal_port_range *not_port_ranges;
	size_t n_not_port_ranges;
	uint32_t *not_named_port_sets;
	size_t n_not_named_port_sets;
};

struct pal_ir_match {
	uint8_t families;
	PAL_L4_MATCH_MEMBERS;
	struct pal_ir_side src, dst;
};

struct pal_ir_rule {
	enum pal_action action;
	struct pal_ir_match match;
	uint32_t index; /* position in the policy's (or profile's) ingress/egress list */
	uint32_t id;    /* unique across the IR; the datapath counts packets and bytes per id */
};

struct pal_ir_policy {
	char *name;      /* display name without a tier prefix */
	char *namespace; /* NULL for global */
	struct pal_ir_rule *rules;
	size_t n_rules;
	/* The compiler sets this: `rules` points into pal_ir.rule_blocks, shared by every endpoint
	 * list that holds the policy, and is freed with those blocks. When false (IR built by hand,
	 * e.g. in tests) the policy owns its rules. */
	bool rules_shared;
};

struct pal_ir_tier {
	char *name;
	enum pal_action end_action; /* DENY or PASS: what happens when no rule of the tier acted */
	struct pal_ir_policy *policies;
	size_t n_policies;
};

struct pal_ir_tierlist {
	struct pal_ir_tier *tiers;
	size_t n_tiers;
};

enum pal_ir_endpoint_kind { PAL_EP_HOST, PAL_EP_WORKLOAD };

struct pal_ir_endpoint {
	enum pal_ir_endpoint_kind kind;
	char *name;
	char *namespace;      /* workloads only */
	char *iface;          /* interfaceName; NULL (HEP by expectedIPs) or "*" (all interfaces) */
	struct pal_addr *addrs; /* expectedIPs or ipNetworks' addresses */
	size_t n_addrs;
	/* Workloads: allowSpoofedSourcePrefixes. Packets the workload sends from a source that is
	 * neither one of addrs nor inside one of these are dropped (anti-spoofing). */
	struct pal_cidr *spoof_ok;
	size_t n_spoof_ok;
	/* The labels selectors saw for this endpoint: its own, its profiles' labelsToApply, the
	 * projectcalico.org/ labels and pcns. namespace labels (what polctl endpoints shows). */
	struct pal_labels labels;
	/* Host endpoints: untracked[in/out], prednat[in] (egress unused), forward[in/out],
	 * normal[in/out]. Workload endpoints: only normal[in/out], the workload tiers. */
	struct pal_ir_tierlist untracked[PAL_DIR_COUNT];
	struct pal_ir_tierlist prednat[PAL_DIR_COUNT];
	struct pal_ir_tierlist forward[PAL_DIR_COUNT];
	struct pal_ir_tierlist normal[PAL_DIR_COUNT];
	uint32_t *profiles; /* indexes into pal_ir.profiles, in the endpoint's order */
	size_t n_profiles;
};

struct pal_ir_profile {
	char *name;
	struct pal_ir_rule *rules[PAL_DIR_COUNT];
	size_t n_rules[PAL_DIR_COUNT];
	bool missing; /* no such profile: a deny-all stand-in (docs/semantics.md 15) */
};

struct pal_failsafe {
	uint8_t protocol; /* PAL_PROTO_TCP or PAL_PROTO_UDP */
	uint16_t port;
	bool has_net;
	struct pal_cidr net; /* inbound: source must be inside; outbound: destination must be */
};

enum pal_endpoint_to_host_action { PAL_EP_TO_HOST_DROP, PAL_EP_TO_HOST_ACCEPT };

struct pal_ir {
	struct pal_ir_endpoint *endpoints;
	size_t n_endpoints;
	struct pal_ir_set *sets;
	size_t n_sets;
	struct pal_ir_named_port_set *named_port_sets;
	size_t n_named_port_sets;
	struct pal_ir_profile *profiles;
	size_t n_profiles;
	struct pal_failsafe *failsafe_in, *failsafe_out;
	size_t n_failsafe_in, n_failsafe_out;
	enum pal_endpoint_to_host_action endpoint_to_host;
	/* Rule ids are below n_rule_ids; with stable ids (rule_ids.h) some may be unused: the
	 * number of rules is pal_ir_n_rules. */
	uint32_t n_rule_ids;
	/* Storage of shared policy rules (see pal_ir_policy.rules_shared): one block per
	 * (policy, direction), owned by the IR. */
	struct pal_ir_rule_block {
		struct pal_ir_rule *rules;
		size_t n;
	} *rule_blocks;
	size_t n_rule_blocks;
};

void pal_ir_free(struct pal_ir *ir);
/* The rules that have an id: every policy rule (rule_blocks) and every profile rule. */
size_t pal_ir_n_rules(const struct pal_ir *ir);
const char *pal_stage_name(enum pal_stage s); /* "failsafe", "untracked", ... */
const char *pal_dir_name(enum pal_dir d);     /* "ingress", "egress" */

/* The endpoint policing traffic on interface `ifname`: the workload or host endpoint whose
 * interfaceName is ifname, else one whose name is ifname (lets offline traces name a host endpoint
 * that is bound by expectedIPs), else the `*` host endpoint, else NULL (no policy). */
const struct pal_ir_endpoint *pal_ir_endpoint_for_iface(const struct pal_ir *ir, const char *ifname);

/* May workload endpoint ep send from src: one of its addresses, or inside one of its
 * allowSpoofedSourcePrefixes? (The unconfigured sources every workload may use are the stage
 * walk's business: stage_walk.c.) */
bool pal_ir_source_allowed(const struct pal_ir_endpoint *ep, const struct pal_addr *src);

/* Can the tier list drop a packet: a Deny rule in any of its policies, or a tier that denies at
 * its end. An untracked ingress list that cannot is evaluated at tc ingress alone: XDP would only
 * drop earlier what the list denies (docs/datapath.md "Per-packet cost"). */
bool pal_ir_tierlist_may_deny(const struct pal_ir_tierlist *tl);

/* Helpers for code that builds or copies IR pieces (the compiler, tests). */
void pal_ir_match_free(struct pal_ir_match *m);
void pal_ir_rules_free(struct pal_ir_rule *rules, size_t n);
void pal_ir_tierlist_free(struct pal_ir_tierlist *tl);

#endif
