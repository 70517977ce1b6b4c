/* Internal to the loader: the decoding context and the field helpers every per-kind decoder uses.
 *
 * A decoder walks one yt_node tree. It keeps the current field path (spec.ingress[2].action) in
 * the context, so every helper can report an error with file, line, column and path without the
 * caller spelling them out. Helpers return 1 when the field was present and decoded, 0 when it
 * was absent (or YAML null, which Kubernetes treats as absent), -1 after reporting an error.
 * Out of memory does not return NULL to the decoders: the x* helpers and vec_reserve unwind to
 * the loader's entry, which returns -ENOMEM (oom.h). This keeps the hundreds of allocations in
 * the decoders free of error paths: their errors are diagnostics, not codes.
 */
#ifndef PALISADE_DECODE_H
#define PALISADE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "diag.h"
#include "model.h"
#include "oom.h"
#include "vec.h"
#include "yaml_tree.h"

/* Library symbols: the short names below are for this code only; every program that links the
 * core library shares one namespace of globals, so the library exports them prefixed. */
#define check_fields             pal_dec_check_fields
#define check_subdomain_name     pal_dec_check_subdomain_name
#define closest_name             pal_dec_closest_name
#define decode_checked_map       pal_dec_decode_checked_map
#define decode_endpoint_slice    pal_dec_decode_endpoint_slice
#define decode_host_endpoint     pal_dec_decode_host_endpoint
#define decode_k8s_policy        pal_dec_decode_k8s_policy
#define decode_metadata          pal_dec_decode_metadata
#define decode_namespace         pal_dec_decode_namespace
#define decode_open              pal_dec_decode_open
#define decode_network_set       pal_dec_decode_network_set
#define decode_policy            pal_dec_decode_policy
#define decode_profile           pal_dec_decode_profile
#define decode_rules             pal_dec_decode_rules
#define decode_service           pal_dec_decode_service
#define decode_tier              pal_dec_decode_tier
#define decode_workload_endpoint pal_dec_decode_workload_endpoint
#define derr                     pal_dec_derr
#define derr_choice              pal_dec_derr_choice
#define derr_field               pal_dec_derr_field
#define derr_name                pal_dec_derr_name
#define enter_field              pal_dec_enter_field
#define expect_map               pal_dec_expect_map
#define expect_seq               pal_dec_expect_seq
#define for_each_item            pal_dec_for_each_item
#define free_str_list            pal_dec_free_str_list
#define get_bool                 pal_dec_get_bool
#define get_cidr_list            pal_dec_get_cidr_list
#define get_direction_list       pal_dec_get_direction_list
#define get_exact_cidr_list      pal_dec_get_exact_cidr_list
#define get_field                pal_dec_get_field
#define get_int                  pal_dec_get_int
#define get_labels               pal_dec_get_labels
#define get_number               pal_dec_get_number
#define get_ports                pal_dec_get_ports
#define get_protocol             pal_dec_get_protocol
#define get_selector             pal_dec_get_selector
#define get_seq                  pal_dec_get_seq
#define get_opt_str              pal_dec_get_opt_str
#define get_str                  pal_dec_get_str
#define get_str_list             pal_dec_get_str_list
#define is_dns_label             pal_dec_is_dns_label
#define is_dns_subdomain         pal_dec_is_dns_subdomain
#define is_label_value           pal_dec_is_label_value
#define is_port_name             pal_dec_is_port_name
#define is_qualified_name        pal_dec_is_qualified_name
#define node_pos                 pal_dec_node_pos
#define parse_selector_at        pal_dec_parse_selector_at
#define path_pop                 pal_dec_path_pop
#define path_push                pal_dec_path_push
#define path_push_index          pal_dec_path_push_index
#define protocol_supports_ports  pal_dec_protocol_supports_ports
#define push_field               pal_dec_push_field
#define refuse_nondecimal_int    pal_dec_refuse_nondecimal_int
#define resource_head_free       pal_dec_resource_head_free
#define scalar_int               pal_dec_scalar_int
#define scalar_nondecimal_int    pal_dec_scalar_nondecimal_int
#define xcalloc                  pal_dec_xcalloc
#define xmalloc                  pal_dec_xmalloc
#define xstrdup                  pal_dec_xstrdup

struct dctx {
	struct pal_model *m;
	struct pal_diags *d;
	const char *file; /* interned in m->files */
	const char *buf;  /* the input, to map selector error columns back into the file */
	size_t len;
	char path[512];
	size_t path_len;
};

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

/* Path handling: push returns the previous length to pass to path_pop. */
size_t path_push(struct dctx *c, const char *field);
size_t path_push_index(struct dctx *c, size_t i);
void path_pop(struct dctx *c, size_t old_len);

struct pal_pos node_pos(const struct dctx *c, const struct yt_node *n);
__attribute__((format(printf, 3, 4))) void derr(struct dctx *c, const struct yt_node *n,
						 const char *fmt, ...);
/* Error about field `field` of map (path = current path + field, position = the value node when
 * present, else the map). */
__attribute__((format(printf, 4, 5))) void derr_field(struct dctx *c, const struct yt_node *map,
						       const char *field, const char *fmt, ...);

/* The entry of known[] (NULL-terminated) closest to word, or NULL when none is close. */
const char *closest_name(const char *word, const char *const *known);
/* Error about field `field` of map holding word, which is none of known[]:
 * `<what> "<word>"; did you mean "<closest>"?`, or `<what> "<word>"; <otherwise>` when none is
 * close. */
void derr_choice(struct dctx *c, const struct yt_node *map, const char *field, const char *what,
		 const char *word, const char *const *known, const char *otherwise);

/* Checks that n is a mapping, that every key is in known (or in ignored, which are accepted and
 * skipped) and that no key repeats. Returns false (after reporting) when n is not a mapping;
 * unknown or repeated fields are reported but do not stop decoding of the rest. */
bool check_fields(struct dctx *c, const struct yt_node *n, const char *const *known,
		  const char *const *ignored);
bool expect_map(struct dctx *c, const struct yt_node *n);
int get_direction_list(struct dctx *c, const struct yt_node *map, const char *key, bool *in,
		       bool *eg, bool repeats_ok);
bool expect_seq(struct dctx *c, const struct yt_node *n);
/* map[key], with key pushed on the path (the caller pops *old); NULL, with nothing pushed, when
 * the field is absent or null. */
const struct yt_node *push_field(struct dctx *c, const struct yt_node *map, const char *key,
				size_t *old);
/* Enters the optional field key whose value is n (YT_SEQ or YT_MAP expected): 0 when it is absent
 * or null, -1 after an error when it has another kind, 1 with key pushed on the path (the caller
 * pops *old). */
int enter_field(struct dctx *c, const struct yt_node *n, const char *key, enum yt_kind kind,
		size_t *old);
/* Calls item(c, node, arg) on each item of the optional sequence map[key], with the item's index
 * on the path. 0 when the field is absent or null, -1 after an error (not a sequence, or item
 * returned < 0: every item is still decoded, so that all errors are reported), else 1. */
int for_each_item(struct dctx *c, const struct yt_node *map, const char *key,
		  int (*item)(struct dctx *c, const struct yt_node *n, void *arg), void *arg);
/* How get_seq decodes a sequence into an array: at most max items (else "too many WHAT"), each of
 * size bytes, filled by decode (1, or -1 after reporting); clear (may be NULL) frees what a
 * decoded item holds when the whole sequence is refused. */
struct seq_items {
	size_t max;
	const char *what;
	size_t size;
	int (*decode)(struct dctx *c, const struct yt_node *n, void *item, void *arg);
	void (*clear)(void *item);
};
/* Decodes the optional sequence map[key] into *out, a new array of *n_out items (arg is handed
 * to d->decode): 0 when the field is absent or null, -1 after an error (every item is still
 * decoded, so that all errors are reported; nothing is returned then), else 1. */
int get_seq(struct dctx *c, const struct yt_node *map, const char *key, const struct seq_items *d,
	    void *arg, void **out, size_t *n_out);
/* Decodes the optional mapping map[key] with body(c, n, arg) (1, or -1 after reporting) while key
 * is on the path, once its fields are checked against known (check_fields): 0 when it is absent
 * or null, -1 after an error, else body's result. */
int decode_checked_map(struct dctx *c, const struct yt_node *map, const char *key,
		       const char *const *known,
		       int (*body)(struct dctx *c, const struct yt_node *n, void *arg), void *arg);

/* Scalar typing, YAML 1.1 as Kubernetes' YAML reader sees it. */
bool scalar_int(const struct yt_node *n, long long *out); /* plain decimal integer */
/* A plain scalar YAML 1.1 readers (kubectl, calicoctl) take for an integer written other than in
 * decimal: 010 (octal 8), 0x50, 0o120, 0b101, 8_0, and with exponent 1e3 (1000); *value is what
 * they read (ULLONG_MAX when no whole number that fits). palisade reads none of these forms:
 * refuse_nondecimal_int reports such a scalar ("<what> 010 is not written in decimal...") and
 * returns true. */
bool scalar_nondecimal_int(const struct yt_node *n, bool exponent, unsigned long long *value);
bool refuse_nondecimal_int(struct dctx *c, const struct yt_node *n, const char *what,
			   bool exponent);

/* Field helpers: look up map[key], push key on the path, decode. */
/* Decodes map[key] with decode (1, or -1 after reporting) while key is on the path; 0 when the
 * field is absent or null. */
int get_field(struct dctx *c, const struct yt_node *map, const char *key, void *out,
	      int (*decode)(struct dctx *c, const struct yt_node *n, void *out));
int get_str(struct dctx *c, const struct yt_node *map, const char *key, char **out);
/* get_str for Calico's optional string fields (Go strings with omitempty): "" is absent (0). */
int get_opt_str(struct dctx *c, const struct yt_node *map, const char *key, char **out);
int get_int(struct dctx *c, const struct yt_node *map, const char *key, long long min,
	    long long max, long long *out);
int get_bool(struct dctx *c, const struct yt_node *map, const char *key, bool *out);
int get_number(struct dctx *c, const struct yt_node *map, const char *key, double *out);
int get_str_list(struct dctx *c, const struct yt_node *map, const char *key, char ***out,
		 size_t *n);
/* A string->string map. check_k8s: validate keys (qualified names) and values as label values;
 * annotations pass check_k8s=false and get the annotation key check instead. */
enum label_check { LABELS_LABELS, LABELS_ANNOTATIONS };
int get_labels(struct dctx *c, const struct yt_node *map, const char *key, struct pal_labels *out,
	       enum label_check check);
/* Parses a selector with pal_selector_parse; errors are mapped to the column inside the file.
 * An empty string is an absent field (returns 0), as Calico's Go strings are. */
int get_selector(struct dctx *c, const struct yt_node *map, const char *key, char **text,
		 struct pal_selector **sel);
/* Reports the selector error for text located at node n (n may be NULL: no column mapping). */
int parse_selector_at(struct dctx *c, const struct yt_node *n, const char *text,
		      struct pal_selector **sel);
/* A list of CIDRs (or bare addresses), at most max entries. Host bits are cleared
 * ("10.1.2.3/8" is 10.0.0.0/8), as Calico's network sets and endpoints accept them. */
int get_cidr_list(struct dctx *c, const struct yt_node *map, const char *key,
		  struct pal_cidr **out, size_t *n, size_t max);
/* The same, but host bits are an error naming the intended prefix: Calico rejects them in rule
 * nets/notNets, where "1.2.3.4/16" is more likely a typo for a /32 than a wish for 1.2.0.0/16. */
int get_exact_cidr_list(struct dctx *c, const struct yt_node *map, const char *key,
			struct pal_cidr **out, size_t *n, size_t max);
/* Frees a char* array. */
void free_str_list(char **v, size_t n);

/* Name syntaxes (Calico's validator regexes). */
bool is_dns_label(const char *s);     /* [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63 */
bool is_dns_subdomain(const char *s); /* parts as above of any length, joined by '.', <= 253 */
/* k8s IsQualifiedName / IsValidLabelValue; on failure *why says what is wrong. */
bool is_qualified_name(const char *s, const char **why);
bool is_label_value(const char *s, const char **why);
/* k8s IsValidPortName: <= 15 chars, [a-z0-9-], a letter, no leading/trailing/double '-'. */
bool is_port_name(const char *s);

/* Protocol by Calico name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite; exact case) or number 1-255. */
int get_protocol(struct dctx *c, const struct yt_node *map, const char *key,
		 struct pal_protocol *out);
bool protocol_supports_ports(uint8_t num);
/* A port list (numbers, "first:last" ranges, names), at most PAL_MAX_PORTS. */
int get_ports(struct dctx *c, const struct yt_node *map, const char *key, struct pal_port **out,
	      size_t *n);

/* Per-kind decoders. Each receives the resource's root mapping, decodes it into m, reports
 * problems, and adds nothing when the resource had errors. */
struct resource_head {
	const struct yt_node *root, *metadata, *spec;
	const struct yt_node *kind_node;
	char *name;      /* metadata.name (required), owned by the head until taken */
	char *namespace; /* metadata.namespace or NULL */
	bool namespaced; /* the kind is namespaced (NetworkPolicy, not GlobalNetworkPolicy) */
	struct pal_labels labels;
	struct pal_labels annotations;
};
/* Decodes metadata (name, namespace, labels, annotations; server-set fields ignored); records
 * namespaced in h. */
bool decode_metadata(struct dctx *c, struct resource_head *h, bool namespaced);
void resource_head_free(struct resource_head *h);
/* The opening every resource decoder shares: the resource's position into *pos, and
 * metadata.name, and the namespace and labels when asked for (non-NULL), moved from the head into
 * the model object being decoded. Returns the error count so far, for DECODE_CLOSE. */
size_t decode_open(struct dctx *c, struct resource_head *h, struct pal_pos *pos, char **name,
		 char **namespace, struct pal_labels *labels);
/* The closing every resource decoder shares: the decoded resource x joins vec when no error was
 * reported since the count was `errors`; else clear(&x) frees what it holds. */
#define DECODE_CLOSE(c, errors, vec, x, clear)                                                \
	do {                                                                                  \
		if ((c)->d->n_errors != (errors))                                             \
			clear(&(x));                                                          \
		else                                                                          \
			VEC_PUSH(vec, x);                                                     \
	} while (0)
/* The error "invalid <what> "<name>": must be lower case alphanumeric characters, '-' or '.'"
 * unless name is a DNS subdomain. */
void check_subdomain_name(struct dctx *c, const struct resource_head *h, const char *what,
			  const char *name);
/* Error about metadata.name (path "metadata.name", position of the name's value). */
__attribute__((format(printf, 3, 4))) void derr_name(struct dctx *c, const struct resource_head *h,
						      const char *fmt, ...);

/* GlobalNetworkPolicy or (h->namespaced) NetworkPolicy. */
void decode_policy(struct dctx *c, struct resource_head *h);
void decode_k8s_policy(struct dctx *c, struct resource_head *h);
void decode_tier(struct dctx *c, struct resource_head *h);
void decode_profile(struct dctx *c, struct resource_head *h);
void decode_network_set(struct dctx *c, struct resource_head *h);
void decode_namespace(struct dctx *c, struct resource_head *h);
void decode_host_endpoint(struct dctx *c, struct resource_head *h);
void decode_workload_endpoint(struct dctx *c, struct resource_head *h);
void decode_service(struct dctx *c, struct resource_head *h);
void decode_endpoint_slice(struct dctx *c, struct resource_head *h);
/* Rule lists (shared by policies and profiles). dir_ingress selects Calico's direction checks. */
int decode_rules(struct dctx *c, const struct yt_node *spec, const char *key, bool ingress,
		 struct pal_rules *out);

#endif
