/* The "bpf" backend: palisaded's glue to the BPF datapath library (agent/dataplane/).
 *
 * What lives where:
 *   - pal_dp_open() loads the programs and adopts the pinned maps under --bpffs (a restart keeps
 *     enforcing: nothing is detached on exit, the pinned pal_ifaces entries stay in force).
 *   - apply() binds the new IR's endpoints to interfaces and calls pal_dp_apply(): every new rule
 *     list is written beside the old ones, then each interface flips with one map update, so a
 *     packet sees the old or the new policy and a failure while writing changes nothing. The
 *     reporting metadata (meta.h: pal_meta_build, kept for the metrics' and events' labels) is
 *     built before; it is stored for polctl (pal_meta_store) by finish_apply(), after the change
 *     is enforced and logged, so that enforcing does not wait for the serialization of every set
 *     (polctl meanwhile reads the previous generation's, which it says); finish_apply() also
 *     deletes the rule lists the flips made unreachable (pal_dp_lists_sweep). Rule counters whose
 *     id now belongs to another rule are zeroed first (reset_moved_rule_counters).
 *   - sync_interfaces() keeps pal_ifaces and the attachments equal to the agent's desired set:
 *     a new interface first gets its rule lists and pal_ifaces entry, then its programs (so its
 *     first packets are policed), an interface that went away loses its programs, then its entry.
 *
 * Binding endpoints to interfaces at apply() time. apply() gets the IR but not the interface set
 * (the agent computes that afterwards, from the same IR, and calls sync_interfaces()). pal_dp_apply
 * removes every pal_ifaces entry it is not given, so apply() must already know every interface
 * in force, or it would open a gap until the following sync. It therefore keeps `bound`: which
 * interface is bound to which endpoint (by identity: kind, namespace, name). The new IR's endpoint
 * with the same identity takes the interface over; endpoints naming an existing interface that is
 * not bound yet are bound by name. On a restart `bound` is rebuilt from the pinned pal_ifaces
 * (ifindex -> endpoint_id) and the pinned metadata (endpoint_id -> identity), so even host
 * endpoints bound by expectedIPs or "*" keep enforcing across the first apply.
 *
 * Endpoints that cannot be programmed (no free interface slot: --max-endpoints; a map full) are
 * never left open: the interface keeps its last good value, or points at the reserved
 * deny-everything slot (failsafe ports still answer on a host endpoint), before programs are
 * attached. They are logged, counted (palisade_endpoint_program_failures_total, and the gauge
 * palisade_endpoints_unprogrammed), make /readyz answer 503 with the reason (unprogrammed()),
 * show in `polctl status` (the entry's PAL_IF_UNPROGRAMMED flag) and are retried at every sync.
 *
 * The IR: the endpoints handed to sync_interfaces() point into the IR of the last apply (the agent
 * keeps it, see backend.h), and pal_dp_endpoint_write() needs that IR; we keep a shallow copy of
 * the struct (the arrays are the agent's, valid until the next successful apply, after which our
 * copy is replaced). It is never freed here.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include "attach.h"
#include "backend.h"
#include "capacity.h"
#include "cfg.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "maps_sync.h"
#include "meta.h"
#include "netfilter.h"
#include "node.h"
#include "srcaddrs.h"
#include "stats.h"
#include "vec.h"

/* An endpoint that could not be programmed on its interface. */
struct unprogrammed {
	uint32_t ifindex;
	char *key;    /* endpoint identity */
	char *reason; /* the datapath's error */
	bool kept;    /* it keeps its last good value (else: denies everything) */
};

/* An interface with a pal_ifaces entry, and the endpoint it polices. */
struct bound {
	uint32_t ifindex;
	char *key; /* endpoint identity: "host//name" or "workload/namespace/name" */
};

struct bpf_ctx {
	struct pal_datapath *dp; /* NULL for --uninstall (nothing is loaded then) */
	char *dir;
	enum pal_xdp_mode xdp_mode;
	uint64_t adopted_generation;
	struct pal_ir ir; /* shallow copy of the last applied IR (see above) */
	bool have_ir;
	uint64_t generation;
	json_t *meta; /* the live generation's metadata document: metric labels */
	bool meta_unwritten; /* meta is not stored for polctl yet (finish_apply) */
	struct bound *b;
	size_t nb, cap_b;
	/* Interfaces palisade's programs are attached to (after the last sync), and whether a full
	 * pal_dp_sync_ports ran in this process (see attach_ports) */
	struct attached_port {
		int ifindex;
		bool host;
		bool untracked_in; /* pal_dp_port.untracked_in: raw PREROUTING's jump */
		bool xdp;          /* pal_dp_port.xdp: it was given XDP */
	} *att;
	size_t n_att;
	bool synced_once;
	bool guard_on; /* the workload guard is installed (workload_guard) */
	uint64_t next_jump_check_ms; /* tick: when to check the netfilter jumps again */
	/* XDP mode each host interface got at the last sync, to log changes only */
	struct {
		int ifindex;
		enum pal_xdp_mode mode;
	} *xdp_seen;
	size_t n_xdp_seen, cap_xdp_seen;
	struct unprogrammed *unprog;
	size_t n_unprog, cap_unprog;
	uint64_t program_failures; /* endpoints that became unprogrammed, since start */
	uint64_t tc_lost; /* attached interfaces found without palisade's tc programs, since start */
	char attach_error[512];    /* the last sync's attach error, "" when all attached (/readyz) */
	/* The event stream (events_open): reader, consumer, and the budget of the current read */
	struct pal_dp_events *events;
	pald_event_fn event_fn;
	void *event_arg;
	int event_budget;
	/* The iptables variant palisade's rules go into, and why (logged, in the metadata) */
	enum pal_nf_variant nf_variant;
	char nf_reason[256];
};

static enum pal_xdp_mode xdp_mode_of(enum pald_xdp_mode m)
{
	switch (m) {
	case PALD_XDP_NATIVE: return PAL_XDP_NATIVE;
	case PALD_XDP_GENERIC: return PAL_XDP_GENERIC;
	case PALD_XDP_OFF: return PAL_XDP_OFF;
	default: return PAL_XDP_AUTO;
	}
}

static char *ep_key_parts(bool workload, const char *ns, const char *name)
{
	char *k = NULL;

	if (asprintf(&k, "%s/%s/%s", workload ? "workload" : "host", ns && workload ? ns : "",
		     name ? name : "") < 0)
		return NULL;
	return k;
}

static char *ep_key(const struct pal_ir_endpoint *ep)
{
	return ep_key_parts(ep->kind == PAL_EP_WORKLOAD, ep->namespace, ep->name);
}

static void bound_free(struct bound *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].key);
	free(b);
}

static struct bound *bound_find(struct bpf_ctx *c, uint32_t ifindex)
{
	for (size_t i = 0; i < c->nb; i++)
		if (c->b[i].ifindex == ifindex)
			return &c->b[i];
	return NULL;
}

static int bound_set(struct bpf_ctx *c, uint32_t ifindex, const char *key)
{
	struct bound *x = bound_find(c, ifindex);
	char *k = strdup(key);

	if (!k)
		return -ENOMEM;
	if (x) {
		free(x->key);
		x->key = k;
		return 0;
	}
	if (vec_grow((void **)&c->b, &c->cap_b, c->nb + 1, sizeof(*c->b))) {
		free(k);
		return -ENOMEM;
	}
	c->b[c->nb++] = (struct bound){ .ifindex = ifindex, .key = k };
	return 0;
}

static void bound_drop(struct bpf_ctx *c, uint32_t ifindex)
{
	for (size_t i = 0; i < c->nb; i++)
		if (c->b[i].ifindex == ifindex) {
			free(c->b[i].key);
			c->b[i] = c->b[--c->nb];
			return;
		}
}

/* --- unprogrammed endpoints ------------------------------------------------------------------ */

static struct unprogrammed *unprog_find(struct bpf_ctx *c, uint32_t ifindex)
{
	for (size_t i = 0; i < c->n_unprog; i++)
		if (c->unprog[i].ifindex == ifindex)
			return &c->unprog[i];
	return NULL;
}

static void unprog_clear(struct bpf_ctx *c, uint32_t ifindex)
{
	struct unprogrammed *u = unprog_find(c, ifindex);

	if (!u)
		return;
	pald_log(PALD_LOG_INFO, "endpoint programmed after all", PALD_I("ifindex", ifindex),
		 PALD_S("endpoint", u->key));
	free(u->key);
	free(u->reason);
	*u = c->unprog[--c->n_unprog];
}

/* Records (and logs, once) that the endpoint `key` on ifindex could not be programmed. */
static void unprog_set(struct bpf_ctx *c, uint32_t ifindex, const char *key, const char *reason,
		       bool kept)
{
	struct unprogrammed *u = unprog_find(c, ifindex);
	char name[IF_NAMESIZE] = "";

	if (u && !strcmp(u->key, key) && !strcmp(u->reason, reason) && u->kept == kept)
		return; /* known; retried in vain */
	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "if%u", ifindex);
	pald_log(PALD_LOG_ERROR,
		 kept ? "cannot program the endpoint: its last good policy stays in force" :
			"cannot program the endpoint: everything on its interface is denied",
		 PALD_S("iface", name), PALD_S("endpoint", key), PALD_S("error", reason));
	if (!u) {
		if (vec_grow((void **)&c->unprog, &c->cap_unprog, c->n_unprog + 1, sizeof(*u)))
			return;
		u = &c->unprog[c->n_unprog++];
		*u = (struct unprogrammed){ .ifindex = ifindex };
		c->program_failures++;
	}
	free(u->key);
	free(u->reason);
	u->key = strdup(key);
	u->reason = strdup(reason);
	u->kept = kept;
	if (!u->key || !u->reason) { /* out of memory: drop the record, the entry denies anyway */
		free(u->key);
		free(u->reason);
		*u = c->unprog[--c->n_unprog];
	}
}

static const char *bpf_attach_error(void *ctx)
{
	return ((struct bpf_ctx *)ctx)->attach_error;
}

static size_t bpf_unprogrammed(void *ctx, char *first, size_t len)
{
	struct bpf_ctx *c = ctx;
	char name[IF_NAMESIZE] = "";

	if (!c->n_unprog)
		return 0;
	if (!if_indextoname(c->unprog[0].ifindex, name))
		snprintf(name, sizeof(name), "if%u", c->unprog[0].ifindex);
	snprintf(first, len, "%s on %s (%s): %s", c->unprog[0].key, name,
		 c->unprog[0].kept ? "last good policy kept" : "all traffic denied",
		 c->unprog[0].reason);
	return c->n_unprog;
}

/* What the agent reads again of a stored document: its rules (metric labels, counters of moved
 * rules, rule ids). The rest (every set's members: 10,000 pods' addresses) is dropped once written,
 * or the agent would hold a second copy of the cluster between applies. */
static void keep_meta_rules(json_t *doc)
{
	static const char *const unread[] = { "endpoints", "sets", "named_port_sets", "profiles" };

	for (size_t i = 0; i < sizeof(unread) / sizeof(unread[0]); i++)
		json_object_del(doc, unread[i]);
}

/* Restart: which endpoint each pinned pal_ifaces entry belongs to, from the pinned metadata. */
static void bound_load_pinned(struct bpf_ctx *c)
{
	int fd = pal_dp_map_fd(c->dp, "pal_ifaces");
	json_t *doc = NULL, *eps;
	uint32_t key, next, *prev = NULL;

	if (fd < 0 || pal_meta_read(c->dir, &doc) != 0)
		return; /* no document: apply binds by interface name only */
	eps = json_object_get(doc, "endpoints");
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pal_iface v;
		json_t *ep;

		key = next;
		prev = &key;
		if (pal_dp_iface_read(c->dp, key, &v) || (v.flags & PAL_IF_UNPROGRAMMED))
			continue; /* unprogrammed ones are bound again by name */
		ep = json_array_get(eps, v.endpoint_id);
		if (!ep)
			continue;
		char *k = ep_key_parts(!strcmp(json_string_value(json_object_get(ep, "kind")) ?: "",
					       "workload"),
				       json_string_value(json_object_get(ep, "namespace")),
				       json_string_value(json_object_get(ep, "name")));
		if (k && bound_set(c, key, k) == 0)
			pald_log(PALD_LOG_DEBUG, "adopted interface binding", PALD_I("ifindex", key),
				 PALD_S("endpoint", k));
		free(k);
	}
	keep_meta_rules(doc);
	c->meta = doc;
}

/* --- apply ----------------------------------------------------------------------------------- */

/* The interface has a value of its own (its last good policy), not the reserved deny value. */
static bool unprog_kept(struct bpf_ctx *c, uint32_t ifindex)
{
	struct pal_iface v;

	return pal_dp_iface_read(c->dp, ifindex, &v) == 0 && !(v.flags & PAL_IF_UNPROGRAMMED);
}

static bool binding_has(const struct pal_dp_binding *v, size_t n, uint32_t ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].ifindex == ifindex)
			return true;
	return false;
}

/* The bindings for ir: interfaces bound now keep their endpoint (by identity) when the new IR
 * still has it; endpoints naming an existing, unbound interface are bound to it (workloads first,
 * as links.c orders them). */
static int make_bindings(struct bpf_ctx *c, const struct pal_ir *ir, struct pal_dp_binding **out,
			 size_t *n_out)
{
	struct pal_dp_binding *v = calloc(c->nb + ir->n_endpoints + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->nb; i++)
		for (size_t e = 0; e < ir->n_endpoints; e++) {
			char *k = ep_key(&ir->endpoints[e]);
			bool same = k && !strcmp(k, c->b[i].key);

			free(k);
			if (same) {
				v[n++] = (struct pal_dp_binding){ c->b[i].ifindex, &ir->endpoints[e] };
				break;
			}
		}
	for (int pass = 0; pass < 2; pass++)
		for (size_t e = 0; e < ir->n_endpoints; e++) {
			const struct pal_ir_endpoint *ep = &ir->endpoints[e];
			unsigned int idx;

			if ((pass == 0) != (ep->kind == PAL_EP_WORKLOAD) || !ep->iface ||
			    !strcmp(ep->iface, "*"))
				continue;
			idx = if_nametoindex(ep->iface);
			if (idx && !binding_has(v, n, idx))
				v[n++] = (struct pal_dp_binding){ idx, ep };
		}
	*out = v;
	*n_out = n;
	return 0;
}

/* Rule counters are indexed by IR rule id, and ids are handed out afresh by every compile: when a
 * policy change gives an id to another rule (another tier, policy, index, direction or action),
 * that id's counter is zeroed, so a rule does not show the hits of the rule that had its id
 * before. An id whose rule is unchanged keeps counting (restarts, re-applies of the same policy).
 * Without the previous document (first start) nothing is known to be stale.
 *
 * When: just before the flip. Zeroing after it would drop the first hits of the new rules (a new
 * flow's first packet is often its only classified one); before it, the old rule holding the id
 * may still count for the few milliseconds the apply takes. The latter is the smaller error. A
 * failed apply has then zeroed counters of rules that stay in force (rare: a full map). */
static void reset_moved_rule_counters(struct bpf_ctx *c, json_t *old_doc, json_t *new_doc)
{
	json_t *old_rules = json_object_get(old_doc, "rules");
	json_t *new_rules = json_object_get(new_doc, "rules");
	int fd = pal_dp_map_fd(c->dp, "pal_rule_ctrs");
	struct pal_rule_ctr *zero;
	size_t n = 0;

	if (!old_doc || fd < 0 || !json_is_array(new_rules))
		return;
	zero = calloc((size_t)pal_dp_ncpus(), sizeof(*zero));
	if (!zero)
		return;
	for (size_t id = 0; id < json_array_size(new_rules); id++) {
		json_t *was = json_array_get(old_rules, id);
		uint32_t key = (uint32_t)id;

		if (was && json_equal(was, json_array_get(new_rules, id)))
			continue;
		if (bpf_map_update_elem(fd, &key, zero, BPF_ANY) == 0)
			n++;
	}
	free(zero);
	if (n)
		pald_log(PALD_LOG_DEBUG, "rule counters reset for ids given to other rules",
			 PALD_I("rules", n));
}

/* The new generation's document becomes the live one; stored for polctl by write_meta. */
static void keep_meta(struct bpf_ctx *c, json_t *doc)
{
	/* polctl status shows which iptables variant holds palisade's rules, and why */
	if (doc)
		json_object_set_new(doc, "iptables",
				    json_pack("{s:s, s:s}", "backend",
					      pal_nf_variant_name(c->nf_variant), "reason",
					      c->nf_reason));
	if (!doc) { /* out of memory: polctl keeps the previous generation's names */
		pald_log(PALD_LOG_WARN, "cannot write the reporting metadata for polctl",
			 PALD_S("dir", c->dir), PALD_S("error", strerror(ENOMEM)));
		return;
	}
	json_decref(c->meta);
	c->meta = doc;
	c->meta_unwritten = true;
}

static void write_meta(struct bpf_ctx *c)
{
	if (!c->meta_unwritten)
		return;
	c->meta_unwritten = false;
	char *text = json_dumps(c->meta, JSON_COMPACT);
	int err = text ? pal_meta_store(c->dir, text, strlen(text)) : -ENOMEM;

	/* The maps are programmed already: a failure here only leaves polctl with the previous
	 * generation's names, so it is logged, not returned (meta.h). */
	if (err)
		pald_log(PALD_LOG_WARN, "cannot write the reporting metadata for polctl",
			 PALD_S("dir", c->dir), PALD_S("error", strerror(-err)));
	free(text);
	keep_meta_rules(c->meta); /* written: only its rules are read again */
}

static void bpf_finish_apply(void *ctx)
{
	struct bpf_ctx *c = ctx;
	int err;

	write_meta(c);
	/* and the lists the apply made unreachable (a scan of every class: not before enforcing) */
	if ((err = pal_dp_lists_sweep(c->dp)) < 0)
		pald_log(PALD_LOG_WARN, "deleting the previous generation's rule lists",
			 PALD_S("error", strerror(-err)));
}

/* An untracked allow is notracked by raw PREROUTING's jump, which palisade keeps only while a
 * host endpoint has untracked ingress rules (netfilter.h): when this apply brings the first
 * ones, the jump goes in before the lists do, so no untracked packet is ever tracked. A failure
 * is logged; the interface sync after the apply tries again. */
static void want_prerouting_before(struct bpf_ctx *c, const struct pal_dp_binding *v, size_t n)
{
	char why[256] = "";

	if (!c->synced_once)
		return; /* nothing installed yet: the first full sync puts every jump in */
	for (size_t i = 0; i < n; i++)
		if (v[i].ep && v[i].ep->kind == PAL_EP_HOST &&
		    v[i].ep->untracked[PAL_DIR_INGRESS].n_tiers > 0) {
			if (pal_nf_want_prerouting(why, sizeof(why)) < 0)
				pald_log(PALD_LOG_WARN, "untracked ingress before its notrack jump",
					 PALD_S("error", why));
			return;
		}
}

static int bpf_apply(void *ctx, const struct pal_ir *ir, uint64_t generation,
		     struct pal_diags *diags)
{
	struct bpf_ctx *c = ctx;
	struct pal_dp_binding *v = NULL;
	json_t *doc;
	size_t n = 0;
	int err;

	if (generation > UINT32_MAX) {
		pal_error(diags, ((struct pal_pos){ 0 }), NULL, "policy generation %llu overflows",
			  (unsigned long long)generation);
		return -EOVERFLOW;
	}
	write_meta(c); /* the previous generation's, if nobody asked yet */
	err = make_bindings(c, ir, &v, &n);
	if (err)
		return err;
	doc = pal_meta_build(ir, generation); /* NULL (out of memory): polctl keeps the old */
	reset_moved_rule_counters(c, c->meta, doc);
	want_prerouting_before(c, v, n);
	err = pal_dp_apply(c->dp, ir, v, n, (uint32_t)generation);
	if (err) {
		char why[768];

		/* a full map names the setting that sizes it: the apply changed nothing */
		pald_capacity_explain(pal_dp_error(c->dp)[0] ? pal_dp_error(c->dp) : strerror(-err),
				      why, sizeof(why));
		pal_error(diags, ((struct pal_pos){ 0 }), NULL, "datapath: %s", why);
		json_decref(doc);
		free(v);
		return err;
	}
	/* pal_dp_apply removed every entry not in v: `bound` is exactly v now */
	bound_free(c->b, c->nb);
	c->b = NULL;
	c->nb = c->cap_b = 0;
	for (size_t i = c->n_unprog; i-- > 0;)
		if (!binding_has(v, n, c->unprog[i].ifindex))
			unprog_clear(c, c->unprog[i].ifindex);
	for (size_t i = 0; i < n && !err; i++) {
		char *k = ep_key(v[i].ep);

		err = k ? bound_set(c, v[i].ifindex, k) : -ENOMEM;
		if (k && v[i].err)
			unprog_set(c, v[i].ifindex, k, pal_dp_error(c->dp), unprog_kept(c, v[i].ifindex));
		else if (k)
			unprog_clear(c, v[i].ifindex);
		free(k);
	}
	free(v);
	c->ir = *ir;
	c->have_ir = true;
	c->generation = generation;
	keep_meta(c, doc);
	/* out of memory while recording the bindings: the datapath is programmed, the next apply
	 * rebinds what is missing (and sync_interfaces binds the interfaces it is given) */
	return err;
}

/* --- interfaces ------------------------------------------------------------------------------ */

/* A host endpoint with an untracked ingress list (pal_dp_port.untracked_in: raw PREROUTING's
 * notrack jump is only for these). Its lists, once applied, are the endpoint's:
 * pal_dp_endpoint_write writes an untracked list exactly when there are tiers. */
static bool has_untracked_in(const struct pald_iface *f)
{
	return f->role == PALD_IFACE_HOST && f->ep &&
	       f->ep->untracked[PAL_DIR_INGRESS].n_tiers > 0;
}

/* One whose untracked ingress list can deny (pal_dp_port.xdp: only these get XDP). */
static bool wants_xdp(const struct pald_iface *f)
{
	return has_untracked_in(f) && pal_ir_tierlist_may_deny(&f->ep->untracked[PAL_DIR_INGRESS]);
}

static void log_xdp_mode(struct bpf_ctx *c, const struct pald_iface *f, enum pal_xdp_mode got)
{
	bool unwanted = !wants_xdp(f);

	for (size_t i = 0; i < c->n_xdp_seen; i++)
		if (c->xdp_seen[i].ifindex == f->ifindex) {
			if (c->xdp_seen[i].mode == got)
				return;
			c->xdp_seen[i].mode = got;
			goto log;
		}
	if (vec_grow((void **)&c->xdp_seen, &c->cap_xdp_seen, c->n_xdp_seen + 1,
		     sizeof(*c->xdp_seen)))
		return;
	c->xdp_seen[c->n_xdp_seen].ifindex = f->ifindex;
	c->xdp_seen[c->n_xdp_seen++].mode = got;
log:
	if (unwanted)
		pald_log(PALD_LOG_INFO, "XDP", PALD_S("iface", f->name),
			 PALD_S("mode", pal_xdp_mode_name(got)),
			 PALD_S("why", "no untracked ingress Deny rule: tc ingress decides"));
	else
		pald_log(got == PAL_XDP_OFF && c->xdp_mode != PAL_XDP_OFF ? PALD_LOG_WARN :
									    PALD_LOG_INFO,
			 "XDP", PALD_S("iface", f->name), PALD_S("mode", pal_xdp_mode_name(got)));
}

/* Writes the endpoint's lists and flips the interface to them; old lists go to *stale. */
static int program_iface(struct bpf_ctx *c, const struct pald_iface *f,
			 struct pal_dp_list_ids *stale)
{
	struct pal_dp_binding me = { (uint32_t)f->ifindex, f->ep };
	struct pal_src_txn src = { 0 };
	struct pal_iface v, old;
	bool had = false;
	int err;

	if (!pal_dp_slots_available(c->dp) && !unprog_kept(c, (uint32_t)f->ifindex)) {
		pal_dp_set_error(c->dp, "no free interface slot: %u endpoints are programmed "
			"(--max-endpoints)", pal_dp_max_endpoints(c->dp));
		return -ENOSPC; /* no slot for it: do not write lists it cannot use */
	}
	err = pal_dp_endpoint_write(c->dp, &c->ir, f->ep, (uint32_t)c->generation, &v);
	/* a map full: the last apply's old lists may hold the room until finish_apply sweeps them */
	if (err && pal_dp_lists_sweep(c->dp) > 0)
		err = pal_dp_endpoint_write(c->dp, &c->ir, f->ep, (uint32_t)c->generation, &v);
	if (err)
		return err;
	/* its source prefixes before the flip, the ones it no longer has after (srcaddrs.h) */
	if (!(err = pal_dp_src_begin(c->dp, &src)) &&
	    !(err = pal_dp_src_allow(c->dp, &src, me.ifindex, f->ep)))
		err = pal_dp_iface_flip(c->dp, (uint32_t)f->ifindex, &v, &old, &had);
	if (err) {
		pal_dp_src_undo(c->dp, &src, NULL, 0);
		pal_dp_iface_lists_delete(c->dp, &v); /* never reachable: delete them at once */
	} else {
		err = pal_dp_src_trim(c->dp, &me, 1, false);
	}
	pal_dp_src_end(&src);
	if (had) /* flipped: its old lists go after a grace period, whatever the trim did */
		pal_dp_list_ids_retire(c->dp, stale, &old);
	return err;
}

/* Gives a (new, re-bound or unprogrammed) interface its endpoint's lists; when that fails, the
 * interface keeps its last good value or denies everything. Returns 0 when the interface has an
 * entry (programmed or denying), -errno when it has none (it must not be attached then). */
static int bind_iface(struct bpf_ctx *c, const struct pald_iface *f, const char *key,
		      struct pal_dp_list_ids *stale)
{
	char why[512];
	bool kept = false;
	int err = program_iface(c, f, stale);

	if (!err) {
		unprog_clear(c, (uint32_t)f->ifindex);
		return bound_set(c, (uint32_t)f->ifindex, key);
	}
	pald_capacity_explain(pal_dp_error(c->dp)[0] ? pal_dp_error(c->dp) : strerror(-err), why,
			      sizeof(why));
	err = pal_dp_iface_unprogrammed(c->dp, (uint32_t)f->ifindex, f->role == PALD_IFACE_HOST,
					&kept);
	if (err) {
		pald_log(PALD_LOG_ERROR, "cannot police the interface at all: not attaching palisade's "
			 "programs", PALD_S("iface", f->name), PALD_S("endpoint", key),
			 PALD_S("error", pal_dp_error(c->dp)));
		return err;
	}
	unprog_set(c, (uint32_t)f->ifindex, key, why, kept);
	bound_set(c, (uint32_t)f->ifindex, key);
	return 0;
}

/* The bound key of a pod's veth that no endpoint names yet. */
#define UNKNOWN_WORKLOAD_KEY "(workload interface without an endpoint)"

/* A pod's veth before its endpoint is known: an entry that denies everything on it (or, for a
 * veth whose endpoint went away, keeps its last good lists), so it is never open. 0, or -errno
 * when it has no entry (it must not be attached then). */
static int deny_unknown_workload(struct bpf_ctx *c, const struct pald_iface *f)
{
	struct bound *b = bound_find(c, (uint32_t)f->ifindex);
	bool kept = false;
	int err;

	if (b && strcmp(b->key, UNKNOWN_WORKLOAD_KEY) == 0)
		return 0;
	err = pal_dp_iface_unprogrammed(c->dp, (uint32_t)f->ifindex, false, &kept);
	if (err) {
		pald_log(PALD_LOG_ERROR, "cannot deny a workload interface: not attaching palisade's "
			 "programs", PALD_S("iface", f->name), PALD_S("error", pal_dp_error(c->dp)));
		return err;
	}
	pald_log(PALD_LOG_INFO, kept ? "workload interface without an endpoint: its last good "
				       "policy stays until the endpoint returns or the link goes" :
				       "workload interface without an endpoint yet: everything on it "
				       "is denied",
		 PALD_S("iface", f->name));
	unprog_clear(c, (uint32_t)f->ifindex);
	return bound_set(c, (uint32_t)f->ifindex, UNKNOWN_WORKLOAD_KEY);
}

static bool att_has(const struct bpf_ctx *c, const struct pal_dp_port *p)
{
	for (size_t i = 0; i < c->n_att; i++)
		if (c->att[i].ifindex == p->ifindex && c->att[i].host == p->host &&
		    c->att[i].untracked_in == p->untracked_in && c->att[i].xdp == p->xdp)
			return true;
	return false;
}

static struct attached_port attached_as(const struct pal_dp_port *p)
{
	return (struct attached_port){ p->ifindex, p->host, p->untracked_in, p->xdp };
}

/* The host endpoints, or which of them have an untracked ingress list (raw PREROUTING's jump)
 * or one that can deny (XDP): a policy change gave one its first untracked ingress rules or Deny
 * rule, or took its last away; changed since the last sync. */
static bool host_set_changed(const struct bpf_ctx *c, const struct pal_dp_port *p, size_t n)
{
	size_t hosts = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i].host && (hosts++, !att_has(c, &p[i])))
			return true;
	for (size_t i = 0; i < c->n_att; i++)
		hosts -= c->att[i].host;
	return hosts != 0;
}

/* Attaches the ports, detaches what palisade had attached elsewhere; returns how many are attached
 * (or -errno when the netfilter rules could not be installed) and records them in c->att.
 *
 * Host endpoints carry raw OUTPUT filters (three programs loaded per interface) and netfilter
 * rules naming them: pal_dp_sync_ports rebuilds all of that, a few hundred milliseconds. It runs
 * when the set of host endpoint interfaces changes (or which of them want XDP or the notrack jump:
 * a policy change that gives an endpoint its first untracked ingress rules or Deny rule, or takes
 * its last away), and once per
 * process (a restart re-asserts everything). Workload and --interfaces ports only need tc, so pod churn takes the fast path:
 * tc on the new ones, palisade's programs off the ones that went, nothing else touched. */
static int attach_ports(struct bpf_ctx *c, const struct pal_dp_port *p, size_t n,
			enum pal_xdp_mode *modes, bool *full)
{
	struct attached_port *now = calloc(n ? n : 1, sizeof(*now));
	size_t k = 0;
	int attached = 0;

	if (!now)
		return -ENOMEM;
	*full = !c->synced_once || host_set_changed(c, p, n);
	if (*full) {
		attached = pal_dp_sync_ports(c->dp, p, n, c->xdp_mode, modes);
		if (attached >= 0)
			c->synced_once = true;
		for (size_t i = 0; attached >= 0 && i < n; i++) {
			uint32_t in = 0, out = 0;

			pal_dp_tc_query(p[i].ifindex, &in, &out);
			/* a host port whose XDP was refused (a foreign program) is not attached: the
			 * next sync (the agent retries) takes the full path again, and says so */
			if (in && out && !(p[i].xdp && c->xdp_mode != PAL_XDP_OFF &&
					   modes[i] == PAL_XDP_OFF))
				now[k++] = attached_as(&p[i]);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			/* attached but unwitnessed (its entry came back): attach again, so the guard
			 * lets it on */
			if ((!att_has(c, &p[i]) ||
			     pal_dp_iface_unwitnessed(c->dp, p[i].ifindex)) &&
			    pal_dp_attach_tc(c->dp, p[i].ifindex)) {
				pald_log(PALD_LOG_ERROR, "cannot attach palisade's tc programs",
					 PALD_S("iface", p[i].name), PALD_S("error", pal_dp_error(c->dp)));
				continue;
			}
			now[k++] = attached_as(&p[i]);
			attached++;
		}
		for (size_t i = 0; i < c->n_att; i++) {
			bool keep = false;

			for (size_t j = 0; j < n && !keep; j++)
				keep = p[j].ifindex == c->att[i].ifindex;
			if (!keep)
				pal_dp_detach_port(c->dp, c->att[i].ifindex);
		}
	}
	free(c->att);
	c->att = now;
	c->n_att = k;
	return attached;
}

/* The ports' ifindexes, for the datapath calls that take a list of them (NULL when out of
 * memory). */
static int *port_ifindexes(const struct pal_dp_port *p, size_t n)
{
	int *ifx = calloc(n ? n : 1, sizeof(*ifx));

	for (size_t i = 0; ifx && i < n; i++)
		ifx[i] = p[i].ifindex;
	return ifx;
}

/* Counter slots for the ports without an endpoint (watched links), freed from the others: a
 * verdict counted by an array read, not a pal_if_ctrs hash lookup (iface_slots.c). */
static void link_slots(struct bpf_ctx *c, const struct pal_dp_port *p, size_t n)
{
	int *ifx = port_ifindexes(p, n);

	if (!ifx)
		return;
	if (pal_dp_link_slots_sync(c->dp, ifx, n) < 0)
		pald_log(PALD_LOG_WARN, "cannot give watched links counter slots (they count by "
			 "ifindex)", PALD_S("error", pal_dp_error(c->dp)));
	free(ifx);
}

/* Counters of interfaces palisade no longer runs on go (pod churn would fill pal_if_ctrs). */
static void prune_counters(struct bpf_ctx *c, const struct pal_dp_port *p, size_t n)
{
	int *keep = port_ifindexes(p, n);
	int gone;

	if (!keep)
		return;
	gone = pal_dp_prune_if_counters(c->dp, keep, n);
	if (gone > 0)
		pald_log(PALD_LOG_DEBUG, "counters of interfaces gone removed", PALD_I("keys", gone));
	free(keep);
}

/* An attached port found without palisade's tc programs: the guard's witness goes first (its
 * traffic is dropped from now), then it is forgotten as attached, so the next sync attaches it
 * again (a host port: the full path, which re-asserts its XDP and raw OUTPUT filters too). */
static void forget_lost_port(struct bpf_ctx *c, int ifindex, const char *name)
{
	int err = pal_dp_iface_live_clear(c->dp, ifindex);

	c->tc_lost++;
	pald_log(PALD_LOG_WARN, "palisade's tc programs are gone from the interface (removed by "
		 "another tool?): it is dropped until they are attached again", PALD_S("iface", name),
		 PALD_I("ifindex", ifindex),
		 PALD_S("witness", err ? pal_dp_error(c->dp) : "cleared"));
}

/* A port given XDP: checks (by program id) that its XDP program is still this datapath's own and
 * marks it so; when it is no longer (detached or replaced by another tool) the mark goes, tc
 * ingress believes no XDP metadata there and evaluates failsafe and untracked ingress itself, so
 * the policy holds; logged once, when the mark goes. The next full sync attaches XDP again. */
static void recheck_xdp(struct bpf_ctx *c, const struct attached_port *a)
{
	char name[IF_NAMESIZE] = "?";
	bool was = pal_dp_iface_xdp_marked(c->dp, (uint32_t)a->ifindex) != 0;

	if (!a->xdp || c->xdp_mode == PAL_XDP_OFF ||
	    pal_dp_xdp_verify(c->dp, a->ifindex) != 0 || !was)
		return; /* ours; not ours before either; or unknown (unmarked, asked again) */
	if_indextoname((unsigned int)a->ifindex, name);
	pald_log(PALD_LOG_WARN, "palisade's XDP program is gone from the interface (detached or "
		 "replaced by another tool): tc ingress evaluates its untracked ingress policy itself",
		 PALD_S("iface", name), PALD_I("ifindex", a->ifindex));
}

static int bpf_verify_attached(void *ctx)
{
	struct bpf_ctx *c = ctx;
	size_t k = 0;
	int again = 0;

	for (size_t i = 0; c->dp && i < c->n_att; i++) {
		int ifindex = c->att[i].ifindex, ours = pal_dp_tc_is_ours(c->dp, ifindex);
		char name[IF_NAMESIZE];

		if (ours == 1)
			recheck_xdp(c, &c->att[i]);
		/* a device gone: the link event's sync detaches it (keep it listed for that) */
		if (ours == 1 || !if_indextoname((unsigned int)ifindex, name)) {
			again += ours == 1 && pal_dp_iface_unwitnessed(c->dp, ifindex);
			c->att[k++] = c->att[i];
			continue;
		}
		if (ours < 0) { /* unknown: neither proven gone nor there; asked again next time */
			pald_log(PALD_LOG_WARN, "cannot check palisade's tc programs on the interface",
				 PALD_S("iface", name), PALD_S("error", strerror(-ours)));
			c->att[k++] = c->att[i];
			continue;
		}
		forget_lost_port(c, ifindex, name);
		again++;
	}
	if (c->dp)
		c->n_att = k;
	return again;
}

static bool bpf_unwitnessed(void *ctx, int ifindex)
{
	struct bpf_ctx *c = ctx;

	return c->dp && pal_dp_iface_unwitnessed(c->dp, ifindex);
}

/* Programs the unprogrammed endpoints among ifaces that can be now; returns how many. */
static size_t retry_unprogrammed(struct bpf_ctx *c, const struct pald_iface *ifaces, size_t n,
				 struct pal_dp_list_ids *stale)
{
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		const struct pald_iface *f = &ifaces[i];
		char *k;

		if (!f->ep || !unprog_find(c, (uint32_t)f->ifindex) || !pal_dp_slots_available(c->dp))
			continue;
		k = ep_key(f->ep);
		if (k && bind_iface(c, f, k, stale) == 0 &&
		    !unprog_find(c, (uint32_t)f->ifindex))
			done++;
		free(k);
	}
	return done;
}

static int bpf_sync_interfaces(void *ctx, const struct pald_iface *ifaces, size_t n)
{
	struct bpf_ctx *c = ctx;
	struct pal_dp_port *ports = calloc(n ? n : 1, sizeof(*ports));
	enum pal_xdp_mode *modes = calloc(n ? n : 1, sizeof(*modes));
	struct pal_dp_list_ids stale = { 0 };
	uint32_t *gone = NULL;
	size_t n_gone = 0, n_ports = 0;
	uint64_t t0 = pald_now_ns(), t_rules;
	int attached = -ENOMEM;
	bool full = false;

	if (!ports || !modes)
		goto out;
	/* 1. rules first: an interface is policed from its first packet after the attach; one that
	 * could not even get a deny entry is not attached (and counted as not attached) */
	for (size_t i = 0; i < n; i++) {
		const struct pald_iface *f = &ifaces[i];
		struct bound *b = bound_find(c, (uint32_t)f->ifindex);
		bool attach = true;
		char *k;

		if (f->ep && c->have_ir) {
			k = ep_key(f->ep);
			if (k && (!b || strcmp(b->key, k) || unprog_find(c, (uint32_t)f->ifindex)))
				attach = bind_iface(c, f, k, &stale) == 0;
			free(k);
		} else if (f->role == PALD_IFACE_WORKLOAD && !f->ep) {
			attach = deny_unknown_workload(c, f) == 0;
		}
		if (attach)
			ports[n_ports++] = (struct pal_dp_port){ f->name, f->ifindex,
								 f->role == PALD_IFACE_HOST,
								 has_untracked_in(f), wants_xdp(f) };
	}
	/* 2. programs: attach the set, detach everything else palisade had attached; an interface
	 * without an endpoint (a watched link) counts in a link slot from its first packet */
	link_slots(c, ports, n_ports);
	t_rules = pald_now_ns();
	attached = attach_ports(c, ports, n_ports, modes, &full);
	if (attached < 0 || (size_t)attached < n_ports) /* e.g. a foreign XDP program (attach.c) */
		snprintf(c->attach_error, sizeof(c->attach_error), "%s", pal_dp_error(c->dp));
	else
		c->attach_error[0] = '\0';
	pald_log(PALD_LOG_DEBUG, "interfaces synced", PALD_I("interfaces", n),
		 PALD_I("attached", attached), PALD_S("path", full ? "full" : "tc only"),
		 PALD_F("rules_seconds", (double)(t_rules - t0) / 1e9),
		 PALD_F("attach_seconds", (double)(pald_now_ns() - t_rules) / 1e9));
	if (attached < 0)
		pald_log(PALD_LOG_ERROR, "cannot install palisade's netfilter rules",
			 PALD_S("error", pal_dp_error(c->dp)));
	else if ((size_t)attached < n)
		pald_log(PALD_LOG_ERROR, "attaching palisade's programs failed",
			 PALD_I("attached", attached), PALD_I("wanted", n),
			 PALD_S("last_error", pal_dp_error(c->dp)));
	for (size_t i = 0, j = 0; full && attached >= 0 && i < n && j < n_ports; i++)
		if (ifaces[i].ifindex == ports[j].ifindex && ifaces[i].role == PALD_IFACE_HOST)
			log_xdp_mode(c, &ifaces[i], modes[j++]);
		else if (ifaces[i].ifindex == ports[j].ifindex)
			j++;
	/* 3. entries of interfaces no longer policed by an endpoint */
	gone = calloc(c->nb + 1, sizeof(*gone));
	for (size_t i = 0; gone && i < c->nb; i++) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++)
			keep = (ifaces[j].ep || ifaces[j].role == PALD_IFACE_WORKLOAD) &&
			       (uint32_t)ifaces[j].ifindex == c->b[i].ifindex;
		if (!keep)
			gone[n_gone++] = c->b[i].ifindex;
	}
	for (size_t i = 0; i < n_gone; i++) {
		struct pal_iface old;
		bool had = false;

		if (pal_dp_iface_remove(c->dp, gone[i], &old, &had) == 0 && had)
			pal_dp_list_ids_retire(c->dp, &stale, &old);
		/* no endpoint: none of its source prefixes stays (an ifindex may come back) */
		pal_dp_src_trim(c->dp, &(struct pal_dp_binding){ gone[i], NULL }, 1, false);
		bound_drop(c, gone[i]);
		unprog_clear(c, gone[i]);
	}
	/* 4. old lists once no program can be reading them */
	if (stale.n) {
		pal_dp_grace_period();
		pal_dp_lists_delete(c->dp, stale.v, stale.n);
		stale.n = 0;
	}
	/* 5. slots freed above: the endpoints waiting for one get it now */
	if (n_gone && c->n_unprog && retry_unprogrammed(c, ifaces, n, &stale) && stale.n) {
		pal_dp_grace_period();
		pal_dp_lists_delete(c->dp, stale.v, stale.n);
	}
	prune_counters(c, ports, n_ports);
out:
	free(gone);
	free(stale.v);
	free(modes);
	free(ports);
	return attached;
}

/* --- metrics --------------------------------------------------------------------------------- */

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(struct pal_strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			pal_strbuf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			pal_strbuf_puts(out, "\\n");
		else
			pal_strbuf_append(out, s, 1);
	}
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void render_rules(struct bpf_ctx *c, struct pal_strbuf *out)
{
	json_t *rules = json_object_get(c->meta, "rules");
	static const char *const what[2] = { "packets", "bytes" };

	for (int w = 0; w < 2; w++) {
		pal_strbuf_printf(out, "# HELP palisade_rule_%s_total %s matched by each rule of the "
				       "policy in force (by tier, policy, direction and rule index)."
				       "\n# TYPE palisade_rule_%s_total counter\n",
				  what[w], w ? "Bytes" : "Packets", what[w]);
		for (size_t id = 0; id < json_array_size(rules); id++) {
			json_t *r = json_array_get(rules, id);
			struct pal_rule_ctr ctr;

			if (!json_is_object(r) || pal_dp_rule_counter(c->dp, (uint32_t)id, &ctr))
				continue;
			pal_strbuf_printf(out, "palisade_rule_%s_total{kind=\"", what[w]);
			label(out, jstr(r, "kind"));
			pal_strbuf_puts(out, "\",tier=\"");
			label(out, jstr(r, "tier"));
			pal_strbuf_puts(out, "\",policy=\"");
			label(out, jstr(r, "policy"));
			pal_strbuf_puts(out, "\",namespace=\"");
			label(out, jstr(r, "namespace"));
			pal_strbuf_printf(out, "\",direction=\"%s\",index=\"%lld\",action=\"",
					  jstr(r, "dir"), json_integer_value(json_object_get(r, "index")));
			label(out, jstr(r, "action"));
			pal_strbuf_printf(out, "\"} %llu\n",
					  (unsigned long long)(w ? ctr.bytes : ctr.packets));
		}
	}
}

struct ifctr_walk {
	struct pal_strbuf *out;
	bool drops; /* pass 1: verdicts, pass 2: drops by reason */
	bool drop_bytes; /* with drops: their bytes by reason */
	bool events; /* pass 3: events not emitted */
};

/* One per-interface counter series, left out while its count is 0. */
static void ifctr_series(struct pal_strbuf *out, const char *metric, const char *iface,
			 enum pal_hook hook, const char *label, const char *value, uint64_t n)
{
	if (n)
		pal_strbuf_printf(out, "%s{interface=\"%s\",hook=\"%s\",%s=\"%s\"} %llu\n", metric,
				  iface, pal_hook_names[hook], label, value, (unsigned long long)n);
}

static int render_ifctr(uint32_t ifindex, enum pal_hook hook, const struct pal_if_ctr *ctr,
			void *arg)
{
	struct ifctr_walk *w = arg;
	char name[IF_NAMESIZE] = "";

	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "if%u", ifindex);
	if (w->events) {
		ifctr_series(w->out, "palisade_events_unsent_total", name, hook, "cause", "rate-limit",
			     ctr->events_suppressed);
		ifctr_series(w->out, "palisade_events_unsent_total", name, hook, "cause", "ring-full",
			     ctr->events_lost);
	} else if (!w->drops) {
		for (int v = 0; v < PAL_VERDICT_COUNT; v++)
			ifctr_series(w->out, "palisade_interface_packets_total", name, hook, "verdict",
				     pal_verdict_names[v], ctr->verdict[v]);
	} else {
		for (int d = 0; d < PAL_DROP_COUNT; d++)
			ifctr_series(w->out, w->drop_bytes ? "palisade_dropped_bytes_total"
							   : "palisade_dropped_packets_total",
				     name, hook, "reason", pal_drop_reason_names[d],
				     w->drop_bytes ? ctr->drop_bytes[d] : ctr->drop[d]);
	}
	return 0;
}

/* Flow table pressure: failed inserts mean flows meet policy again on every packet; evictions
 * show as inserts with the table at capacity (palisade_map_entries{map="pal_flows4"}, IPv4, and {map="pal_flows"}, IPv6). */
static void render_flow_stats(struct bpf_ctx *c, struct pal_strbuf *out)
{
	struct pal_flow_stats st;
	static const char *const names[] = { "inserted",  "insert_failed",  "expired",
					     "rejudged",  "rejudge_denied", "syn_new",
					     "rst_ignored" };
	uint64_t v[7];

	if (pal_dp_flow_stats(c->dp, &st))
		return;
	v[0] = st.inserted, v[1] = st.insert_failed, v[2] = st.expired;
	v[3] = st.rejudged, v[4] = st.rejudge_denied, v[5] = st.syn_new, v[6] = st.rst_ignored;
	pal_strbuf_puts(out, "# HELP palisade_flow_events_total Flow table events: entries inserted, "
			     "inserts that failed, expired entries found, stale flows re-judged after a "
			     "policy change and those denied, SYNs on an existing entry sent to policy, "
			     "RSTs and FINs too far from their flow's sequence numbers to end it.\n"
			     "# TYPE palisade_flow_events_total counter\n");
	for (int i = 0; i < 7; i++)
		pal_strbuf_printf(out, "palisade_flow_events_total{event=\"%s\"} %llu\n", names[i],
				  (unsigned long long)v[i]);
}

static void bpf_render_metrics(void *ctx, struct pal_strbuf *out)
{
	struct bpf_ctx *c = ctx;
	struct pal_dp_fill fill[PAL_DP_FILL_N];
	struct ifctr_walk w = { out, false };

	if (!c->dp)
		return;
	render_rules(c, out);
	pal_strbuf_puts(out, "# HELP palisade_interface_packets_total Packets seen by palisade's "
			     "programs, by interface, hook and verdict.\n"
			     "# TYPE palisade_interface_packets_total counter\n");
	pal_dp_foreach_if_counter(c->dp, render_ifctr, &w);
	pal_strbuf_puts(out, "# HELP palisade_dropped_packets_total Packets palisade dropped, by "
			     "interface, hook and reason.\n"
			     "# TYPE palisade_dropped_packets_total counter\n");
	w.drops = true;
	pal_dp_foreach_if_counter(c->dp, render_ifctr, &w);
	pal_strbuf_puts(out, "# HELP palisade_dropped_bytes_total Bytes of the packets palisade "
			     "dropped, by interface, hook and reason.\n"
			     "# TYPE palisade_dropped_bytes_total counter\n");
	w.drop_bytes = true;
	pal_dp_foreach_if_counter(c->dp, render_ifctr, &w);
	w.drop_bytes = false;
	pal_strbuf_puts(out, "# HELP palisade_events_unsent_total Deny and Log events not sent, by "
			     "interface, hook and cause (rate-limit: over --event-rate; ring-full: no "
			     "room in the ring buffer). The drops themselves are all counted.\n"
			     "# TYPE palisade_events_unsent_total counter\n");
	w.drops = false;
	w.events = true;
	pal_dp_foreach_if_counter(c->dp, render_ifctr, &w);
	pal_strbuf_printf(out, "# HELP palisade_endpoints_unprogrammed Endpoints palisade could not "
			       "program (their interface denies everything or keeps its last good "
			       "policy).\n# TYPE palisade_endpoints_unprogrammed gauge\n"
			       "palisade_endpoints_unprogrammed %zu\n"
			       "# HELP palisade_endpoint_program_failures_total Times an endpoint could not "
			       "be programmed.\n# TYPE palisade_endpoint_program_failures_total counter\n"
			       "palisade_endpoint_program_failures_total %llu\n",
			  c->n_unprog, (unsigned long long)c->program_failures);
	pal_strbuf_printf(out, "# HELP palisade_tc_programs_lost_total Times an attached interface "
			       "was found without palisade's tc programs (removed by another tool); "
			       "each was dropped, then attached again.\n"
			       "# TYPE palisade_tc_programs_lost_total counter\n"
			       "palisade_tc_programs_lost_total %llu\n",
			  (unsigned long long)c->tc_lost);
	render_flow_stats(c, out);
	if (pal_dp_fill(c->dp, fill) == 0) {
		pal_strbuf_puts(out, "# HELP palisade_map_entries Entries in use in each datapath map.\n"
				     "# TYPE palisade_map_entries gauge\n");
		for (int i = 0; i < PAL_DP_FILL_N; i++)
			pal_strbuf_printf(out, "palisade_map_entries{map=\"%s\"} %llu\n", fill[i].map,
					  (unsigned long long)fill[i].used);
		pal_strbuf_puts(out, "# HELP palisade_map_capacity Capacity of each datapath map.\n"
				     "# TYPE palisade_map_capacity gauge\n");
		for (int i = 0; i < PAL_DP_FILL_N; i++)
			pal_strbuf_printf(out, "palisade_map_capacity{map=\"%s\"} %llu\n", fill[i].map,
					  (unsigned long long)fill[i].max);
	}
}

/* --- rule ids -------------------------------------------------------------------------------- */

/* The adopted generation's rules (its metadata) keep their ids: the counters in pal_rule_ctrs
 * go on across the restart (rule_ids.h). */
static void bpf_seed_rule_ids(void *ctx, struct pal_rule_ids *ids)
{
	struct bpf_ctx *c = ctx;
	json_t *rules = json_object_get(c->meta, "rules"), *r;
	char identity[PAL_RULE_IDENTITY_MAX];
	size_t id, n = 0;

	json_array_foreach(rules, id, r) {
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *name = json_string_value(json_object_get(r, "policy"));
		const char *dir = json_string_value(json_object_get(r, "dir"));
		json_t *index = json_object_get(r, "index");

		if (!kind || !name || !dir || !json_is_integer(index))
			continue;
		pal_rule_identity(identity, sizeof(identity), kind,
				  json_string_value(json_object_get(r, "tier")),
				  json_string_value(json_object_get(r, "namespace")), name, dir,
				  (uint32_t)json_integer_value(index));
		n += pal_rule_ids_seed(ids, identity, (uint32_t)id) == 0;
	}
	if (pal_rule_ids_seed_done(ids) == 0 && n)
		pald_log(PALD_LOG_DEBUG, "rule ids kept from the pinned datapath", PALD_I("rules", n));
}

/* --- events ---------------------------------------------------------------------------------- */

/* Resolves the event's interface and rule through the live generation's bindings and metadata.
 * Stops the ring buffer walk once the read's budget is spent (the event is consumed). */
static int on_dp_event(const struct pal_event *e, void *ctx)
{
	struct bpf_ctx *c = ctx;
	struct bound *b = bound_find(c, e->ifindex);
	json_t *rule = e->rule_id == PAL_RULE_ID_NONE ? NULL :
			json_array_get(json_object_get(c->meta, "rules"), e->rule_id);

	c->event_fn(c->event_arg, e, b ? b->key : NULL, json_is_object(rule) ? rule : NULL);
	return --c->event_budget > 0 ? 0 : -EAGAIN;
}

static int bpf_events_open(void *ctx, pald_event_fn fn, void *arg)
{
	struct bpf_ctx *c = ctx;

	if (!c->dp)
		return -ENODEV;
	c->event_fn = fn;
	c->event_arg = arg;
	c->events = pal_dp_events_open(c->dp, on_dp_event, c);
	return c->events ? pal_dp_events_fd(c->events) : (errno ? -errno : -ENOMEM);
}

static int bpf_events_read(void *ctx, int max)
{
	struct bpf_ctx *c = ctx;
	int rc;

	if (!c->events || max <= 0)
		return 0;
	c->event_budget = max;
	rc = pal_dp_events_poll(c->events, 0);
	return rc == -EAGAIN ? max : rc;
}

/* --- lifecycle ------------------------------------------------------------------------------- */

static uint64_t bpf_adopted_generation(void *ctx)
{
	return ((struct bpf_ctx *)ctx)->adopted_generation;
}

static int bpf_uninstall(void *ctx)
{
	struct bpf_ctx *c = ctx;

	/* The loaded copy (if any) is closed first: nothing of ours may hold the pins. */
	pal_dp_close(c->dp);
	c->dp = NULL;
	return pal_dp_uninstall(c->dir);
}

static void bpf_close(void *ctx)
{
	struct bpf_ctx *c = ctx;

	if (c->dp)
		bpf_finish_apply(c);
	pal_dp_events_close(c->events);
	pal_dp_close(c->dp); /* file descriptors only: the pinned datapath keeps enforcing */
	bound_free(c->b, c->nb);
	for (size_t i = 0; i < c->n_unprog; i++) {
		free(c->unprog[i].key);
		free(c->unprog[i].reason);
	}
	free(c->unprog);
	json_decref(c->meta);
	free(c->att);
	free(c->xdp_seen);
	free(c->dir);
	free(c);
}

/* palisade's jumps must stay the first rule of raw PREROUTING/OUTPUT and filter INPUT: an
 * ACCEPT inserted above one (by an admin, another agent, a package's firewall script) would let
 * packets past palisade's raw OUTPUT and INPUT filters. Put back and logged when moved. */
static void check_jumps(struct bpf_ctx *c, const char *when)
{
	char err[160];
	int rc;

	if (!c->dp || !c->synced_once)
		return; /* not installed yet: the first full sync installs them */
	rc = pal_nf_check_jumps(err, sizeof(err));
	if (c->guard_on) { /* checked even when a chain above could not be */
		char gerr[160];
		int g = pal_nf_guard_check_jumps(gerr, sizeof(gerr));

		if (g < 0 && rc >= 0)
			snprintf(err, sizeof(err), "%s", gerr);
		rc = rc < 0 ? rc : g < 0 ? g : rc + g;
	}
	if (rc < 0)
		pald_log(PALD_LOG_ERROR, "netfilter jumps", PALD_S("error", err));
	else if (rc > 0)
		pald_log(PALD_LOG_WARN, "a netfilter jump to palisade's chains was not first: put back",
			 PALD_S("when", when), PALD_I("repaired", rc));
}

#define JUMP_CHECK_INTERVAL_MS 10000

static void bpf_tick(void *ctx, uint64_t now_ms)
{
	struct bpf_ctx *c = ctx;

	if (now_ms < c->next_jump_check_ms)
		return;
	c->next_jump_check_ms = now_ms + JUMP_CHECK_INTERVAL_MS;
	check_jumps(c, "periodic");
}

static const struct pald_backend_ops bpf_ops = {
	.name = "bpf",
	.adopted_generation = bpf_adopted_generation,
	.apply = bpf_apply,
	.sync_interfaces = bpf_sync_interfaces,
	.render_metrics = bpf_render_metrics,
	.unprogrammed = bpf_unprogrammed,
	.attach_error = bpf_attach_error,
	.tick = bpf_tick,
	.verify_attached = bpf_verify_attached,
	.unwitnessed = bpf_unwitnessed,
	.seed_rule_ids = bpf_seed_rule_ids,
	.events_open = bpf_events_open,
	.events_read = bpf_events_read,
	.uninstall = bpf_uninstall,
	.close = bpf_close,
	.finish_apply = bpf_finish_apply,
};

/* The iptables variant for palisade's rules: detected (netfilter_variant.c) or as configured;
 * palisade's chains left in the other variant by an earlier choice are removed. */
static int choose_iptables(struct bpf_ctx *c, const struct pald_config *cfg)
{
	if (strcmp(cfg->iptables_backend, "auto") != 0) {
		c->nf_variant = strcmp(cfg->iptables_backend, "legacy") == 0 ? PAL_NF_LEGACY :
									       PAL_NF_NFT;
		snprintf(c->nf_reason, sizeof(c->nf_reason),
			 "set by --iptables-backend (iptablesBackend)");
	} else if (pal_nf_detect(c->nf_reason, sizeof(c->nf_reason), &c->nf_variant)) {
		pald_log(PALD_LOG_ERROR, "cannot choose an iptables variant",
			 PALD_S("error", c->nf_reason));
		return -ENOENT;
	}
	pal_nf_use(c->nf_variant);
	pald_log(PALD_LOG_INFO, "iptables backend", PALD_S("backend",
		 pal_nf_variant_name(c->nf_variant)), PALD_S("reason", c->nf_reason));
	pal_nf_remove_except(c->nf_variant);
	return 0;
}

/* Flow timeouts and re-judging into pal_flow_cfg (on every start: the config may have changed
 * while the pinned datapath kept running). */
static int write_flow_cfg(struct bpf_ctx *c, const struct pald_config *cfg)
{
	struct pal_flow_cfg fc = { 0 };
	int rc;

	for (int i = 0; i < PAL_FLOW_TMO_COUNT; i++)
		fc.timeout_s[i] = cfg->flow_timeout_s[i];
	if (!cfg->reevaluate_flows)
		fc.flags |= PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE;
	rc = pal_dp_flow_cfg_set(c->dp, &fc);
	if (rc)
		pald_log(PALD_LOG_ERROR, "cannot write the flow settings", PALD_S("bpffs", c->dir),
			 PALD_S("error", pal_dp_error(c->dp)));
	return rc;
}

/* A pinned map keeps the size it was created with: a configured capacity that differs is logged
 * with both sizes and how to apply it. */
static void warn_pinned_sizes(const struct bpf_ctx *c, const struct pald_config *cfg)
{
	for (size_t i = 0; i < pald_n_capacities; i++) {
		const struct pald_capacity *cap = &pald_capacities[i];
		uint32_t want = pald_capacity_get(cfg, cap), len;
		struct bpf_map_info info;
		int fd = pal_dp_map_fd(c->dp, cap->map);
		char flag[64];

		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!want || fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.max_entries == want)
			continue;
		snprintf(flag, sizeof(flag), "--%s", cap->flag);
		pald_log(PALD_LOG_WARN, "a pinned map keeps the size it was created with; the "
			 "configured size applies after `palisaded --uninstall` and a start",
			 PALD_S("map", cap->map), PALD_I("pinned", info.max_entries),
			 PALD_I("configured", want), PALD_S("option", flag));
	}
}

/* The workload guard (bpf/wl_guard.bpf.c, netfilter_guard.c) where pods' interfaces are known by
 * their prefix (the Kubernetes datastore): their traffic is dropped until palisade has taken the
 * interface over, also while no agent runs. Without a prefix, a guard an earlier run left (its pin
 * is there) is removed; otherwise nothing is touched. Not installable: the agent does not start
 * (pods would be open whenever it is down). */
static int workload_guard(struct bpf_ctx *c, const struct pald_config *cfg)
{
	const char *prefix = pald_config_workload_prefix(cfg);
	char path[PATH_MAX], err[512] = "";
	int rc;

	if (!prefix) {
		pal_dp_prog_pin_path(c->dp, PAL_WL_GUARD_PIN, path, sizeof(path));
		if (access(path, F_OK) == 0) {
			pal_nf_guard_remove();
			pal_dp_unpin_wl_guard(c->dp);
			pald_log(PALD_LOG_INFO, "workload guard removed (no workload interface prefix)");
		}
		return 0;
	}
	rc = pal_dp_load_wl_guard(c->dp, path, sizeof(path));
	if (rc)
		snprintf(err, sizeof(err), "%s", pal_dp_error(c->dp));
	else
		rc = pal_nf_guard_install(prefix, path, err, sizeof(err));
	if (rc) {
		pald_log(PALD_LOG_ERROR, "cannot install the workload guard", PALD_S("error", err));
		return rc;
	}
	c->guard_on = true;
	pald_log(PALD_LOG_INFO, "workload guard installed: traffic of pods' interfaces palisade has "
		 "not taken over is dropped", PALD_S("prefix", prefix), PALD_S("filter", path));
	return 0;
}

int pald_backend_bpf_open(const struct pald_config *cfg, struct pald_backend *be)
{
	struct bpf_ctx *c = calloc(1, sizeof(*c));
	char err[512] = "";
	bool adopted = false;
	int rc;

	if (!c || !(c->dir = strdup(cfg->bpffs))) {
		free(c);
		return -ENOMEM;
	}
	c->xdp_mode = xdp_mode_of(cfg->xdp_mode);
	be->ops = &bpf_ops;
	be->ctx = c;
	if (cfg->uninstall)
		return 0; /* loading programs only to remove them would be wasted work */
	rc = pal_dp_open(&(struct pal_dp_opts){ .pin_dir = c->dir, .sizes = cfg->dp_sizes },
			 &c->dp, &adopted, err, sizeof(err));
	if (rc) {
		pald_log(PALD_LOG_ERROR, "cannot open the BPF datapath", PALD_S("bpffs", c->dir),
			 PALD_S("error", err));
		bpf_close(c);
		be->ops = NULL;
		be->ctx = NULL;
		return rc;
	}
	if ((rc = choose_iptables(c, cfg)) || (rc = write_flow_cfg(c, cfg)) ||
	    (rc = workload_guard(c, cfg))) {
		bpf_close(c);
		be->ops = NULL;
		be->ctx = NULL;
		return rc;
	}
	if (adopted) {
		c->adopted_generation = pal_dp_generation(c->dp);
		bound_load_pinned(c);
		if (pal_dp_lists_swept_at_load(c->dp))
			pald_log(PALD_LOG_WARN, "deleted rule lists no interface uses (an agent exited "
				 "before deleting them, or died during an apply)",
				 PALD_I("lists", pal_dp_lists_swept_at_load(c->dp)));
	}
	if (pal_dp_iface_live_unknown_at_load(c->dp))
		pald_log(PALD_LOG_WARN, "palisade's tc programs could not be checked on some policed "
			 "interfaces: they stay witnessed until the periodic check can tell",
			 PALD_I("interfaces", pal_dp_iface_live_unknown_at_load(c->dp)));
	pald_log(PALD_LOG_INFO, adopted ? "adopted the pinned BPF datapath" : "loaded the BPF datapath",
		 PALD_S("bpffs", c->dir), PALD_I("generation", c->adopted_generation),
		 PALD_I("interfaces_bound", c->nb), PALD_I("max_endpoints", pal_dp_max_endpoints(c->dp)));
	if (adopted && cfg->dp_sizes.max_endpoints &&
	    cfg->dp_sizes.max_endpoints != pal_dp_max_endpoints(c->dp))
		pald_log(PALD_LOG_WARN, "the pinned datapath keeps the size it was created with; "
			 "--max-endpoints applies after `palisaded --uninstall`",
			 PALD_I("pinned", pal_dp_max_endpoints(c->dp)),
			 PALD_I("configured", cfg->dp_sizes.max_endpoints));
	if (adopted)
		warn_pinned_sizes(c, cfg);
	return 0;
}
