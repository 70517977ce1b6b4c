/* The policy model: each resource kind palisade reads (docs/semantics.md), validated, as C structs.
 *
 * Flow: files -> yaml_tree (libyaml, with positions) -> model_load (one decoder per kind, Calico's
 * validation) -> struct pal_model -> compiler. Every string is owned by the model (freed by
 * pal_model_free); every element remembers where it came from so later stages can still point at
 * the file and line.
 *
 * k8s NetworkPolicy is translated at load time into a namespaced pal_policy in tier "default" with
 * order 1000 and Allow rules, exactly as Calico converts it (kind PAL_POLICY_K8S records the origin).
 */
#ifndef PALISADE_MODEL_H
#define PALISADE_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "diag.h"
#include "labels.h"
#include "net.h"
#include "selector.h"

/* Calico's limits (docs/semantics.md section 3). */
#define PAL_MAX_RULES_PER_DIR 1024
#define PAL_MAX_NETS 256
#define PAL_MAX_PORTS 50

#define PAL_DEFAULT_TIER "default"
#define PAL_DEFAULT_TIER_ORDER 1000000.0
#define PAL_K8S_POLICY_ORDER 1000.0
#define PAL_PROFILE_DEFAULT_ALLOW "projectcalico-default-allow"

/* Labels Calico adds to endpoints, used by selectors and namespace scoping. */
#define PAL_LABEL_NAMESPACE "projectcalico.org/namespace"
#define PAL_LABEL_ORCHESTRATOR "projectcalico.org/orchestrator"
#define PAL_LABEL_SERVICE_ACCOUNT "projectcalico.org/serviceaccount"
/* Set by the Kubernetes API server on every namespace, to the namespace's name. */
#define PAL_LABEL_K8S_NAMESPACE_NAME "kubernetes.io/metadata.name"
#define PAL_NS_LABEL_PREFIX "pcns."
#define PAL_SA_LABEL_PREFIX "pcsa."

enum pal_action { PAL_ACTION_ALLOW, PAL_ACTION_DENY, PAL_ACTION_LOG, PAL_ACTION_PASS };

/* IP protocol numbers used by name in Calico. */
#define PAL_PROTO_ICMP 1
#define PAL_PROTO_TCP 6
#define PAL_PROTO_UDP 17
#define PAL_PROTO_ICMPV6 58
#define PAL_PROTO_SCTP 132
#define PAL_PROTO_UDPLITE 136

struct pal_protocol {
	bool set;
	uint8_t num; /* IP protocol number; names are converted at load time */
};

/* A port item of a rule: a number, a range "first:last", or a named port. */
struct pal_port {
	char *name; /* non-NULL for a named port; first/last unused then */
	uint16_t first, last;
	struct pal_pos pos;
};

struct pal_icmp_match {
	bool has_type;
	uint8_t type;
	bool has_code;
	uint8_t code;
};

/* A rule's protocol and ICMP match, the same in the model, the IR and the flattener's constraints.
 * Each of those structs embeds it with PAL_L4_MATCH_MEMBERS: one assignment (x->l4 = y->l4)
 * copies the whole match, and the fields stay reachable by their own names (x->protocol), as
 * with the Linux kernel's struct_group(). */
#define PAL_L4_MATCH_FIELDS                         \
	struct pal_protocol protocol, not_protocol; \
	bool has_icmp, has_not_icmp;                \
	struct pal_icmp_match icmp, not_icmp

struct pal_l4_match {
	PAL_L4_MATCH_FIELDS;
};

#define PAL_L4_MATCH_MEMBERS              \
	union {                           \
		struct pal_l4_match l4;   \
		struct {                  \
			PAL_L4_MATCH_FIELDS; \
		};                        \
	}

struct pal_service_accounts {
	char **names;
	size_t n_names;
	char *selector_text; /* NULL when absent */
	struct pal_selector *selector;
};

/* source: or destination: of a rule. Absent list = no constraint. */
struct pal_entity {
	struct pal_cidr *nets;
	size_t n_nets;
	struct pal_cidr *not_nets;
	size_t n_not_nets;
	char *selector_text; /* NULL when absent */
	struct pal_selector *selector;
	char *not_selector_text;
	struct pal_selector *not_selector;
	char *namespace_selector_text;
	struct pal_selector *namespace_selector;
	struct pal_port *ports;
	size_t n_ports;
	struct pal_port *not_ports;
	size_t n_not_ports;
	bool has_service_accounts;
	struct pal_service_accounts service_accounts;
	bool has_services; /* Kubernetes Service reference, resolved through its EndpointSlices */
	char *service_name, *service_namespace;
};

struct pal_rule {
	enum pal_action action;
	PAL_L4_MATCH_MEMBERS;
	uint8_t ip_version; /* 0 = any, 4 or 6 */
	struct pal_entity src, dst;
	bool has_http; /* application-layer match: parsed, rejected by the compiler */
	struct pal_labels annotations; /* rule metadata.annotations */
	struct pal_pos pos;
};

struct pal_rules {
	struct pal_rule *v;
	size_t n;
};

enum pal_policy_kind {
	PAL_POLICY_GLOBAL,     /* projectcalico.org/v3 GlobalNetworkPolicy */
	PAL_POLICY_NAMESPACED, /* projectcalico.org/v3 NetworkPolicy */
	PAL_POLICY_K8S,        /* networking.k8s.io/v1 NetworkPolicy, translated */
};

struct pal_policy {
	enum pal_policy_kind kind;
	char *name;      /* as written in metadata.name (may carry the "tier." prefix) */
	char *namespace; /* NULL for global policies */
	char *tier;      /* spec.tier, "default" when absent */
	bool has_order;
	double order;
	char *selector_text; /* "" when absent (= all()) */
	struct pal_selector *selector;
	char *namespace_selector_text; /* GNP only; NULL when absent */
	struct pal_selector *namespace_selector;
	char *service_account_selector_text; /* NULL when absent */
	struct pal_selector *service_account_selector;
	bool types_ingress, types_egress; /* after Calico's defaulting */
	struct pal_rules ingress, egress;
	bool do_not_track, pre_dnat, apply_on_forward;
	struct pal_pos pos; /* the document's start */
	struct pal_pos tier_pos; /* spec.tier's value; file NULL when the tier was not written */
};

struct pal_tier {
	char *name;
	bool has_order;
	double order;
	enum pal_action default_action; /* PAL_ACTION_DENY (default) or PAL_ACTION_PASS */
	struct pal_pos pos;
};

/* A tier Calico creates itself (libcalico-go's client init, when the tier is absent): default, and
 * the tiers of Kubernetes admin and baseline admin network policies under both names Calico has
 * used (adminnetworkpolicy / baselineadminnetworkpolicy, then kube-admin / kube-baseline), so
 * manifests written for either release load. Calico's validator fixes each one's order. */
struct pal_builtin_tier {
	const char *name;
	double order;
	enum pal_action default_action; /* when no Tier resource of this name is given */
	/* A Tier resource of this name must say defaultAction Pass: Calico's Tier CRD rules for
	 * kube-admin / kube-baseline (absent is defaulted to Deny, so refused too). */
	bool must_pass;
};

extern const struct pal_builtin_tier pal_builtin_tiers[];
extern const size_t pal_n_builtin_tiers;
/* The built-in tier of that name, or NULL. */
const struct pal_builtin_tier *pal_builtin_tier(const char *name);

/* A named port of an endpoint (spec.ports). */
struct pal_endpoint_port {
	char *name;
	uint8_t protocol;
	uint16_t port;
};

struct pal_host_endpoint {
	char *name;
	struct pal_labels labels;
	char *node;
	char *interface_name; /* NULL when absent; "*" for all interfaces */
	struct pal_addr *expected_ips;
	size_t n_expected_ips;
	char **profiles;
	size_t n_profiles;
	struct pal_endpoint_port *ports;
	size_t n_ports;
	struct pal_pos pos;
};

struct pal_workload_endpoint {
	char *name;
	char *namespace;
	struct pal_labels labels;
	char *node;
	char *orchestrator, *workload, *pod, *endpoint, *container_id;
	char *service_account;
	char *interface_name;
	struct pal_cidr *ip_networks;
	size_t n_ip_networks;
	/* allowSpoofedSourcePrefixes: other sources the workload may send from */
	struct pal_cidr *allow_spoofed;
	size_t n_allow_spoofed;
	char **profiles;
	size_t n_profiles;
	struct pal_endpoint_port *ports;
	size_t n_ports;
	struct pal_pos pos;
};

struct pal_profile {
	char *name;
	struct pal_labels labels;         /* metadata.labels */
	struct pal_labels labels_to_apply; /* given to endpoints that list the profile */
	struct pal_rules ingress, egress;
	struct pal_pos pos;
};

struct pal_network_set {
	char *name;
	char *namespace; /* NULL for GlobalNetworkSet */
	struct pal_labels labels;
	struct pal_cidr *nets;
	size_t n_nets;
	struct pal_pos pos;
};

struct pal_namespace {
	char *name;
	struct pal_labels labels;
	struct pal_pos pos;
};

/* A v1 Service. Only its name matters: Calico's `services:` match resolves a Service through the
 * EndpointSlices that name it, never through its cluster IP. */
struct pal_service {
	char *name;
	char *namespace;
	struct pal_pos pos;
};

/* A discovery.k8s.io/v1 EndpointSlice: the addresses and ports of (part of) a Service. */
struct pal_endpoint_slice_port {
	uint8_t protocol; /* TCP (the default), UDP or SCTP */
	uint16_t port;    /* 0: unset, "all ports"; gives no (address, port) member */
};

struct pal_endpoint_slice {
	char *name;
	char *namespace;
	char *service_name; /* label kubernetes.io/service-name; NULL when absent */
	struct pal_addr *addrs; /* every endpoint's addresses (FQDN slices have none) */
	size_t n_addrs, cap_addrs;
	struct pal_endpoint_slice_port *ports;
	size_t n_ports, cap_ports;
	struct pal_pos pos;
};

#define PAL_VEC(T)            \
	struct {              \
		T *v;         \
		size_t n, cap; \
	}

struct pal_model {
	PAL_VEC(struct pal_policy) policies;
	PAL_VEC(struct pal_tier) tiers;
	PAL_VEC(struct pal_host_endpoint) host_endpoints;
	PAL_VEC(struct pal_workload_endpoint) workload_endpoints;
	PAL_VEC(struct pal_profile) profiles;
	PAL_VEC(struct pal_network_set) network_sets;
	PAL_VEC(struct pal_namespace) namespaces;
	PAL_VEC(struct pal_service) services;
	PAL_VEC(struct pal_endpoint_slice) endpoint_slices;
	PAL_VEC(char *) files; /* interned file names that pal_pos.file points into */
	bool borrowed; /* the resources belong to other models (pal_model_borrow) */
	/* Every namespace is a Namespace resource here (the Kubernetes datastore, which watches
	 * them all): an endpoint or network set of a namespace without one (deleted while its pods
	 * still exist, their DELETED events yet to come) has no namespace labels, as Calico's missing
	 * kns.<ns> profile gives none. False (policy files, where namespaces are often not declared):
	 * such a namespace gets its name labels (compile_sets.c add_namespace). */
	bool namespaces_complete;
};

/* Every resource array of struct pal_model (not files) with its element's clear function, in
 * declaration order, for the code that treats them all alike (freeing, borrowing, shrinking,
 * keeping): X(field, clear) for each. A new resource kind is added here once. */
#define PAL_MODEL_RESOURCES(X)                             \
	X(policies, pal_policy_clear)                      \
	X(tiers, pal_tier_clear)                           \
	X(host_endpoints, pal_host_endpoint_clear)         \
	X(workload_endpoints, pal_workload_endpoint_clear) \
	X(profiles, pal_profile_clear)                     \
	X(network_sets, pal_network_set_clear)             \
	X(namespaces, pal_namespace_clear)                 \
	X(services, pal_service_clear)                     \
	X(endpoint_slices, pal_endpoint_slice_clear)

void pal_model_init(struct pal_model *m);
void pal_model_free(struct pal_model *m);
/* Appends shallow copies of src's resources to dst, which then only borrows them: freeing dst
 * frees its arrays, not the resources, and src (which keeps owning them and the file names their
 * positions point to) must outlive dst. dst must hold only borrowed resources. Lets a caller that
 * keeps many small decoded models (the Kubernetes datastore, one per object) build the whole
 * model without decoding anything again. 0 or -ENOMEM (dst may then hold part of src). */
int pal_model_borrow(struct pal_model *dst, const struct pal_model *src);
/* Gives back the spare capacity of m's arrays, of its rule lists and of its label sets (for models
 * kept long, such as those). */
void pal_model_shrink(struct pal_model *m);

/* A model kept long in a compact form (model_kept.c): only its non-empty arrays, exactly sized.
 * The Kubernetes datastore keeps one per object version (12,000 at 10,000 pods), mostly one
 * resource each, where a whole struct pal_model would take 248 bytes of mostly empty arrays. */
struct pal_model_kept;
/* Moves m's resources (shrunk) into a kept model; m is left empty. NULL on -ENOMEM (m intact). */
struct pal_model_kept *pal_model_keep(struct pal_model *m);
/* Frees the kept model and everything it owns (NULL is fine). */
void pal_model_kept_free(struct pal_model_kept *k);
/* pal_model_borrow of every src[i], dst's arrays sized once for all of them: no doubling (up to
 * twice the room) and no trail of outgrown arrays left in the heap at every reload. 0 or -ENOMEM
 * (dst may then hold part of them). */
int pal_model_borrow_kept(struct pal_model *dst, const struct pal_model_kept *const *src, size_t n);

/* Loading. Each adds the resources it finds to m and the problems to diags; on errors in a
 * document that document is skipped, the others are kept, so every error is reported in one run.
 * Callers treat any error as "reject the whole input".
 *   - pal_model_load_buffer: `name` is the file name used in messages.
 *   - pal_model_load_file: one YAML or JSON file, one or many documents, or kind: List.
 *   - pal_model_load_dir: every *.yaml, *.yml and *.json below dir (recursively, sorted by path,
 *     skipping names that start with '.' except that Kubernetes ConfigMap mounts work: "..data"
 *     links are followed, "..<timestamp>" directories are not read twice).
 * Return 0, or -errno for I/O errors and -ENOMEM when memory ran out (both also added to diags). */
int pal_model_load_buffer(struct pal_model *m, const char *name, const char *buf, size_t len,
			  struct pal_diags *diags);
int pal_model_load_file(struct pal_model *m, const char *path, struct pal_diags *diags);
int pal_model_load_dir(struct pal_model *m, const char *dir, struct pal_diags *diags);

/* Cross-resource checks run after all files are loaded: duplicate names, policies naming a tier
 * that does not exist, tier-prefixed names that disagree with spec.tier. 0 (the findings are in
 * diags), or -ENOMEM: the checks did not finish, so the model must not be trusted. */
int pal_model_validate(const struct pal_model *m, struct pal_diags *diags);

const char *pal_action_name(enum pal_action a); /* "Allow", "Deny", "Log", "Pass" */

/* Free what one element owns and zero it (pal_model_free uses these; so does the loader to drop
 * a resource that had errors). */
void pal_rule_clear(struct pal_rule *r);
void pal_rules_clear(struct pal_rules *r);
void pal_policy_clear(struct pal_policy *p);
void pal_tier_clear(struct pal_tier *t);
void pal_host_endpoint_clear(struct pal_host_endpoint *h);
void pal_workload_endpoint_clear(struct pal_workload_endpoint *w);
void pal_profile_clear(struct pal_profile *p);
void pal_network_set_clear(struct pal_network_set *s);
void pal_namespace_clear(struct pal_namespace *n);
void pal_service_clear(struct pal_service *s);
void pal_endpoint_slice_clear(struct pal_endpoint_slice *s);

#endif
