/* Private to the compiler (compiler.c, compile_sets.c, compile_cand_digest.c, compile_rules.c,
 * compile_tiers.c): the working state of one pal_compile() run.
 *
 * The compiler turns every endpoint and network set of the model (all nodes) into a
 * "candidate": the labels selectors see, its namespace, its addresses and its named ports. Rule
 * selectors are resolved against the candidates (compile_sets.c; built on the first selector the
 * match cache does not hold); policies are selected against the candidates that are endpoints of
 * this node (cc->local, always built; compile_tiers.c).
 */
#ifndef PALISADE_COMPILE_INTERNAL_H
#define PALISADE_COMPILE_INTERNAL_H

#include "compiler.h"

enum pal_cc_kind { PAL_CC_WEP, PAL_CC_HEP, PAL_CC_NETSET };

/* Labels of a namespace as namespaceSelector sees them (without the pcns. prefix). */
struct pal_cc_namespace {
	const char *name;
	struct pal_labels labels;
	struct pal_labels pcns; /* "pcns.<key>" for each of labels: what its endpoints inherit */
};

struct pal_cc_cand {
	enum pal_cc_kind kind;
	const char *name;
	const char *ns;           /* NULL for host endpoints and GlobalNetworkSets */
	struct pal_labels labels; /* what a selector sees (own, profiles, projectcalico.org/ labels, pcns. labels) */
	const struct pal_labels *ns_labels; /* namespace's labels, NULL when not namespaced */
	const char *service_account; /* workloads only, may be NULL */
	struct pal_cidr *cidrs;      /* owned: ipNetworks / expectedIPs / nets */
	size_t n_cidrs;
	const struct pal_endpoint_port *ports;
	size_t n_ports;
	const void *src; /* the model resource */
	uint64_t ident;  /* pal_cc_cand_ident: the match cache's name for it */
};

/* Where a rule side's selector looks (see compile_rules.c for how a side picks its scope). */
enum pal_cc_scope_kind {
	PAL_SCOPE_ALL,         /* every endpoint and network set, namespaced or not */
	PAL_SCOPE_NAMESPACE,   /* things in one namespace (namespaced policy, no namespaceSelector) */
	PAL_SCOPE_NS_SELECTOR, /* things in namespaces whose labels match a namespaceSelector */
	PAL_SCOPE_GLOBAL,      /* namespaceSelector global(): host endpoints and GlobalNetworkSets */
};

struct pal_cc_scope {
	enum pal_cc_scope_kind kind;
	const char *ns;
	const struct pal_selector *ns_sel;
};

struct pal_cc_tier {
	const char *name;
	double order; /* +inf when missing */
	enum pal_action default_action;
	size_t *policies; /* indexes into model->policies, sorted by (order, name) */
	size_t n_policies;
};

/* A policy's rules compiled once per direction (with their ids), stored in ir->rule_blocks and
 * pointed at by every endpoint list the policy appears in. */
struct pal_cc_polrules {
	bool done;
	struct pal_ir_rule *rules;
	size_t n;
};

/* origin string -> index, open addressing. A set's origin names exactly what it contains (the
 * canonical selector and scope, or the sorted nets), so equal origins mean equal sets and the
 * compiler can reuse a set without resolving its selector again. */
struct pal_cc_index {
	uint32_t *slots; /* index + 1, 0 = empty */
	size_t cap, n;
};

struct pal_cc {
	const struct pal_model *m;
	const struct pal_compile_opts *opts;
	struct pal_diags *diags;
	struct pal_ir *ir;
	size_t cap_sets, cap_nps, cap_profiles;
	struct pal_cc_namespace *nss; /* sorted by name (looked up for every endpoint) */
	size_t n_nss;
	const struct pal_profile **profiles_by_name; /* the model's profiles, sorted by name */
	struct pal_cc_cand *cands; /* every one, built on first need (pal_cc_all_candidates) */
	size_t n_cands;
	bool all_cands;
	int all_cands_err; /* what building them returned */
	struct pal_cc_cand *local; /* this node's endpoints, in build_endpoints' order */
	size_t n_local;
	/* The namespaced candidates' indices sorted by namespace: a namespace scope looks only at its
	 * own range instead of comparing every candidate's namespace (thousands of pods times every
	 * namespaced rule). */
	uint32_t *by_ns;
	size_t n_by_ns;
	/* The candidates the match cache reports changed since its entries (built only for them:
	 * cached sets match these again instead of every candidate; compile_cand_digest.c). */
	struct pal_cc_cand *changed;
	size_t n_changed;
	struct pal_cc_tier *tiers;
	size_t n_tiers;
	struct pal_cc_polrules (*polrules)[PAL_DIR_COUNT]; /* one per model policy */
	struct pal_cc_index set_index, nps_index;
	uint32_t next_rule_id;
};

/* compile_sets.c */
/* Namespaces, profiles and this node's endpoints' candidates (cc->local). */
int pal_cc_build_candidates(struct pal_cc *cc);
/* Every candidate (cc->cands, cc->by_ns), once per compile: the selector sets need them. */
int pal_cc_all_candidates(struct pal_cc *cc);
/* The profile named name (the model's first of that name), or NULL. */
const struct pal_profile *pal_cc_profile(const struct pal_cc *cc, const char *name);
/* Is node this compile's node? */
bool pal_cc_is_local(const struct pal_cc *cc, const char *node);
void pal_cc_free_candidates(struct pal_cc *cc);
const struct pal_labels *pal_cc_namespace_labels(const struct pal_cc *cc, const char *ns);
bool pal_cc_in_scope(const struct pal_cc_cand *c, const struct pal_cc_scope *scope);
/* A namespaceSelector (serviceAccountSelector) part for a candidate without a namespace (service
 * account), as felix folds it into a selector: its keys prefixed (prefix: pcns., pcsa.), so it
 * sees the candidate's prefixed labels, which such a candidate has only from its profiles, and
 * every all() read as has(all_key). A negative part (`projectcalico.org/name != 'kube-system'`)
 * therefore matches it. */
bool pal_cc_folded_part_matches(const struct pal_selector *part, const char *prefix,
				const char *all_key, const struct pal_cc_cand *c);
/* The candidates a scope can hold: *list gets n indices into cc->cands, or NULL for all of them
 * (then n is cc->n_cands). The caller still checks pal_cc_in_scope. */
size_t pal_cc_scope_cands(const struct pal_cc *cc, const struct pal_cc_scope *scope,
			  const uint32_t **list);
/* Service-account matches of a workload candidate (its service account and pcsa. labels). */
bool pal_cc_sa_matches(const struct pal_service_accounts *sa, const struct pal_cc_cand *c);
bool pal_cc_sa_selector_matches(const struct pal_selector *sel, const struct pal_cc_cand *c);
/* Set of the addresses of candidates in scope that match sel (NULL = any) and sa (NULL = any). */
int pal_cc_selector_set(struct pal_cc *cc, const struct pal_cc_scope *scope,
			const struct pal_selector *sel, const struct pal_service_accounts *sa,
			uint32_t *idx);
int pal_cc_nets_set(struct pal_cc *cc, const struct pal_cidr *nets, size_t n, uint32_t *idx);
/* (addr, proto, port) of endpoints in scope matching sel (NULL = any) with a port named name. */
int pal_cc_named_port_set(struct pal_cc *cc, const struct pal_cc_scope *scope,
			  const struct pal_selector *sel, const char *name, uint32_t *idx);

/* Sets named by an origin the caller built (taking ownership of origin and the members, which
 * need not be sorted): the existing set of that origin, or a new one. */
int pal_cc_origin_set(struct pal_cc *cc, char *origin, struct pal_cidr *cidrs, size_t n,
		      uint32_t *idx);
int pal_cc_origin_port_set(struct pal_cc *cc, char *origin, struct pal_ir_named_port *v, size_t n,
			   uint32_t *idx);

/* The candidate's name for the match cache: kind, namespace (NULL: none) and name, hashed. */
uint64_t pal_cc_cand_ident(enum pal_cc_kind kind, const char *ns, const char *name);
/* The candidates the match cache reports changed, built into cc->changed (refs number the
 * model's host endpoints, then its workload endpoints, then its network sets); each change's ref
 * becomes its index in cc->changed. 0 or -ENOMEM. */
int pal_cc_changed_candidates(struct pal_cc *cc, struct pal_match_change *ch, size_t n);

/* compile_cand_digest.c: when the match cache's entries may be older than this compile's
 * candidates, tells it every candidate's ident and input digest and builds the changed ones
 * (match_cache.h). Call after pal_cc_build_candidates, before any set. 0 or -ENOMEM. */
int pal_cc_match_cache_diff(struct pal_cc *cc);

/* compile_services.c: Calico's `services:` match, through the Service's EndpointSlices. */
/* Source: the set of the addresses of the Service's endpoints. */
int pal_cc_service_addr_set(struct pal_cc *cc, const char *ns, const char *name, uint32_t *idx);
/* Destination: the (address, protocol, port) set of its endpoints and ports. */
int pal_cc_service_port_set(struct pal_cc *cc, const char *ns, const char *name, uint32_t *idx);

/* compile_rules.c */
/* Errors for what the datapath cannot enforce (HTTP matches); warnings for Service references
 * that can match nothing. `what` is a path prefix such as "spec.ingress"; ns the namespace of the
 * policy (NULL: global policy or profile). Returns the number of errors added. */
size_t pal_cc_check_rules(struct pal_cc *cc, const struct pal_rules *rules, const char *what,
			  const char *ns, struct pal_pos doc_pos);
/* Compiles one rule; ns is the policy's namespace (NULL for global policies and profiles). */
/* compile_rule_id.c: the id of rule `index` of a policy or profile, by its identity when the caller keeps
 * a rule id table (stable across compiles), else the next number. 0 or -ENOMEM. */
int pal_cc_rule_id(struct pal_cc *cc, const char *kind, const char *tier, const char *ns,
		   const char *name, enum pal_dir dir, uint32_t index, uint32_t *id);
int pal_cc_compile_rule(struct pal_cc *cc, const struct pal_rule *r, const char *ns, uint32_t index,
			struct pal_ir_rule *out);

/* compile_tiers.c */
int pal_cc_sort_tiers(struct pal_cc *cc);
void pal_cc_free_tiers(struct pal_cc *cc);
/* Which list of a host endpoint a policy feeds (workload endpoints only use NORMAL). */
enum pal_cc_list { PAL_LIST_UNTRACKED, PAL_LIST_PREDNAT, PAL_LIST_FORWARD, PAL_LIST_NORMAL };
int pal_cc_build_tierlist(struct pal_cc *cc, const struct pal_cc_cand *ep, enum pal_cc_list list,
			  enum pal_dir dir, struct pal_ir_tierlist *out);
bool pal_cc_policy_selects(const struct pal_policy *p, const struct pal_cc_cand *c);
/* The name reports use: metadata.name, with the "<tier>." prefix of a non-default tier added
 * when the file omitted it (Calico names the policy so); malloc'd. */
char *pal_cc_policy_display_name(const struct pal_policy *p);

#endif
