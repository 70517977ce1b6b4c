/* networking.k8s.io/v1 NetworkPolicy, translated at load time as Calico's converter does
 * (libcalico-go lib/backend/k8s/conversion K8sNetworkPolicyToCalico):
 *  - name "knp.default.<name>", tier default, order 1000, every rule Allow, namespaced;
 *  - podSelector -> `projectcalico.org/orchestrator == 'k8s' && k == 'v' && ...` (matchLabels
 *    sorted by key, then matchExpressions in order: In/NotIn/Exists/DoesNotExist);
 *  - a peer's namespaceSelector {} -> all(), absent -> no namespace selector;
 *  - ipBlock -> nets [cidr], except -> notNets;
 *  - ports: protocol defaults to TCP; port number, named port, or port..endPort range; the ports
 *    of one k8s rule are grouped by protocol (sorted by name) and simplified into ranges;
 *  - one Calico rule per (protocol group, peer); no peers = one rule without peer constraints;
 *  - policyTypes: absent or [] -> Kubernetes' API defaulting (Ingress, plus Egress when egress
 *    rules exist); Calico then keeps the listed types.
 */
#include "decode.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const spec_fields[] = { "podSelector", "policyTypes", "ingress", "egress",
					   NULL };
static const char *const ingress_fields[] = { "from", "ports", NULL };
static const char *const egress_fields[] = { "to", "ports", NULL };
static const char *const peer_fields[] = { "podSelector", "namespaceSelector", "ipBlock", NULL };
static const char *const ipblock_fields[] = { "cidr", "except", NULL };
static const char *const port_fields[] = { "protocol", "port", "endPort", NULL };
static const char *const lsel_fields[] = { "matchLabels", "matchExpressions", NULL };
static const char *const req_fields[] = { "key", "operator", "values", NULL };

/* Appends one clause to the selector b, after " && " when it is not the first. */
static void sb_add(struct pal_strbuf *b, const char *fmt, const char *a, const char *v)
{
	if (b->len)
		pal_strbuf_puts(b, " && ");
	pal_strbuf_printf(b, fmt, a, v);
}

/* One item of matchExpressions ({key, operator, values}) appended to the selector arg (a
 * pal_strbuf) as Calico writes it. */
static int match_expression(struct dctx *c, const struct yt_node *it, void *arg)
{
	struct pal_strbuf *b = arg;
	char *k = NULL, *op = NULL, **vals = NULL;
	size_t nv = 0;
	const char *why;
	bool has_vals;
	int r = 1;

	if (!check_fields(c, it, req_fields, NULL) || get_str(c, it, "key", &k) < 0 ||
	    get_str(c, it, "operator", &op) < 0 || get_str_list(c, it, "values", &vals, &nv) < 0) {
		r = -1;
		goto out;
	}
	if (!k) {
		derr(c, it, "missing required field \"key\"");
		r = -1;
		goto out;
	}
	if (!is_qualified_name(k, &why)) {
		derr_field(c, it, "key", "invalid label key \"%s\": %s", k, why);
		r = -1;
		goto out;
	}
	for (size_t j = 0; j < nv; j++) {
		if (!is_label_value(vals[j], &why)) {
			derr_field(c, it, "values", "invalid value \"%s\": %s", vals[j], why);
			r = -1;
			goto out;
		}
	}
	has_vals = nv > 0;
	if (op && (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0)) {
		struct pal_strbuf list = { 0 };
		char *joined;

		if (!has_vals) {
			derr_field(c, it, "values", "operator %s needs at least one value", op);
			r = -1;
			goto out;
		}
		for (size_t j = 0; j < nv; j++)
			pal_strbuf_printf(&list, "%s%s", j ? "', '" : "", vals[j]);
		joined = pal_strbuf_take_or_unwind(&list);
		sb_add(b, strcmp(op, "In") == 0 ? "%s in { '%s' }" : "%s not in { '%s' }", k, joined);
		free(joined);
	} else if (op && (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0)) {
		if (has_vals) {
			derr_field(c, it, "values", "operator %s takes no values", op);
			r = -1;
			goto out;
		}
		sb_add(b, strcmp(op, "Exists") == 0 ? "has(%s)%s" : "! has(%s)%s", k, "");
	} else {
		derr_field(c, it, "operator",
			   "invalid operator \"%s\"; must be In, NotIn, Exists or DoesNotExist",
			   op ? op : "");
		r = -1;
	}
out:
	free(k);
	free(op);
	free_str_list(vals, nv);
	return r;
}

/* Decodes a k8s LabelSelector at map[key] into a Calico selector string. pod: prefix the
 * orchestrator clause (Calico does this for pod selectors only). Returns 1 with *out set
 * (also when the selector is absent and pod is true), 0 when absent (namespace selectors),
 * -1 on error. */
static int label_selector(struct dctx *c, const struct yt_node *map, const char *key, bool pod,
			  char **out)
{
	const struct yt_node *n = yt_map_get(map, key), *ml, *me;
	struct pal_strbuf b = { 0 };
	size_t old;
	int r = 1;

	if (pod)
		sb_add(&b, "%s == '%s'", PAL_LABEL_ORCHESTRATOR, "k8s");
	if (yt_is_null(n)) {
		if (!pod)
			return 0;
		*out = pal_strbuf_take_or_unwind(&b);
		return 1;
	}
	old = path_push(c, key);
	if (!check_fields(c, n, lsel_fields, NULL)) {
		r = -1;
		goto out;
	}
	ml = yt_map_get(n, "matchLabels");
	me = yt_map_get(n, "matchExpressions");
	if (!pod && (yt_is_null(ml) || (ml->kind == YT_MAP && ml->n_pairs == 0)) &&
	    (yt_is_null(me) || (me->kind == YT_SEQ && me->n_items == 0))) {
		/* namespaceSelector: {} selects every namespace. */
		pal_strbuf_free(&b);
		*out = xstrdup("all()");
		path_pop(c, old);
		return 1;
	}
	{
		struct pal_labels labels = { 0 };

		/* pal_labels is sorted by key, which gives Calico's sorted matchLabels order. */
		if (get_labels(c, n, "matchLabels", &labels, LABELS_LABELS) < 0)
			r = -1;
		for (size_t i = 0; i < labels.n; i++)
			sb_add(&b, "%s == '%s'", labels.v[i].key, labels.v[i].value);
		pal_labels_free(&labels);
	}
	if (for_each_item(c, n, "matchExpressions", match_expression, &b) < 0)
		r = -1;
out:
	path_pop(c, old);
	if (r < 0) {
		pal_strbuf_free(&b);
		return -1;
	}
	*out = pal_strbuf_take_or_unwind(&b);
	return 1;
}

struct peer {
	char *sel, *ns_sel; /* NULL when absent */
	bool has_net;
	struct pal_cidr net;
	struct pal_cidr *except;
	size_t n_except;
	const struct yt_node *node;
};

static void peer_free(struct peer *p)
{
	free(p->sel);
	free(p->ns_sel);
	free(p->except);
}

static int decode_peer(struct dctx *c, const struct yt_node *n, struct peer *p)
{
	const struct yt_node *ib;
	int r = 1;

	p->node = n;
	if (!check_fields(c, n, peer_fields, NULL))
		return -1;
	ib = yt_map_get(n, "ipBlock");
	if (!yt_is_null(ib)) {
		size_t old = path_push(c, "ipBlock");
		char *cidr = NULL;

		if (yt_map_get(n, "podSelector") || yt_map_get(n, "namespaceSelector")) {
			derr(c, ib, "ipBlock may not be combined with podSelector or "
				    "namespaceSelector in one peer");
			r = -1;
		} else if (!check_fields(c, ib, ipblock_fields, NULL)) {
			r = -1;
		} else if (get_str(c, ib, "cidr", &cidr) <= 0) {
			if (!cidr && yt_is_null(yt_map_get(ib, "cidr")))
				derr(c, ib, "missing required field \"cidr\"");
			r = -1;
		} else if (!strchr(cidr, '/') || !pal_cidr_parse(cidr, &p->net, NULL)) {
			derr_field(c, ib, "cidr", "invalid CIDR \"%s\"; expected a prefix such as "
						  "10.0.0.0/8",
				   cidr);
			r = -1;
		} else {
			p->has_net = true;
			if (get_cidr_list(c, ib, "except", &p->except, &p->n_except, PAL_MAX_NETS) <
			    0)
				r = -1;
			/* Kubernetes: every except must be strictly inside cidr. */
			for (size_t i = 0; r > 0 && i < p->n_except; i++) {
				if (!pal_cidr_covers(&p->net, &p->except[i]) ||
				    p->except[i].prefix_len <= p->net.prefix_len) {
					size_t o2 = path_push(c, "except");

					path_push_index(c, i);
					derr(c, yt_map_get(ib, "except")->items[i],
					     "must be a strict subset of cidr %s", cidr);
					path_pop(c, o2);
					r = -1;
				}
			}
		}
		free(cidr);
		path_pop(c, old);
		return r;
	}
	if (!yt_map_get(n, "podSelector") && !yt_map_get(n, "namespaceSelector")) {
		derr(c, n, "a peer needs podSelector, namespaceSelector or ipBlock");
		return -1;
	}
	if (label_selector(c, n, "podSelector", true, &p->sel) < 0)
		r = -1;
	if (label_selector(c, n, "namespaceSelector", false, &p->ns_sel) < 0)
		r = -1;
	return r;
}

/* get_seq's item decoder: a peer that fails holds nothing afterwards. */
static int peer_item(struct dctx *c, const struct yt_node *n, void *item, void *unused)
{
	int r = decode_peer(c, n, item);

	(void)unused;
	if (r <= 0) {
		peer_free(item);
		memset(item, 0, sizeof(struct peer));
	}
	return r;
}

static void peer_clear(void *item)
{
	peer_free(item);
}

static const struct seq_items peer_items = { SIZE_MAX, "peers", sizeof(struct peer), peer_item,
					     peer_clear };

/* Ports of one k8s rule, grouped by protocol. Index order = Calico's sorted protocol names. */
enum { G_SCTP, G_TCP, G_UDP, N_GROUPS };
static const uint8_t group_proto[N_GROUPS] = { PAL_PROTO_SCTP, PAL_PROTO_TCP, PAL_PROTO_UDP };

struct port_group {
	bool present;
	bool all_ports; /* a port entry with only a protocol: every port */
	struct pal_port *v;
	size_t n, cap;
};

static void groups_free(struct port_group *g)
{
	for (int i = 0; i < N_GROUPS; i++) {
		for (size_t j = 0; j < g[i].n; j++)
			free(g[i].v[j].name);
		free(g[i].v);
	}
}

/* One item of a rule's ports, added to its protocol's group in groups_arg (port_group[N_GROUPS]). */
static int decode_k8s_port(struct dctx *c, const struct yt_node *n, void *groups_arg)
{
	struct port_group *groups = groups_arg;
	const struct yt_node *pn;
	struct pal_port port = { 0 };
	char *proto = NULL;
	int gi = G_TCP, r = 1;
	long long num = 0, end;

	if (!check_fields(c, n, port_fields, NULL))
		return -1;
	if (get_str(c, n, "protocol", &proto) > 0) {
		if (strcmp(proto, "TCP") == 0)
			gi = G_TCP;
		else if (strcmp(proto, "UDP") == 0)
			gi = G_UDP;
		else if (strcmp(proto, "SCTP") == 0)
			gi = G_SCTP;
		else {
			derr_field(c, n, "protocol", "invalid protocol \"%s\"; must be TCP, UDP or "
						     "SCTP",
				   proto);
			r = -1;
		}
	} else if (yt_map_get(n, "protocol") && !yt_is_null(yt_map_get(n, "protocol"))) {
		r = -1;
	}
	free(proto);
	port.pos = node_pos(c, n);
	pn = yt_map_get(n, "port");
	if (!yt_is_null(pn)) {
		size_t old = path_push(c, "port");

		/* IntOrString: a YAML number is a port number, a string a port name. A plain 0x50,
		 * 010 or 1e3 is a number to kubectl (80, 8, 1000): not a name, nor port 10, here. */
		if (refuse_nondecimal_int(c, pn, "port", true)) {
			r = -1;
		} else if (scalar_int(pn, &num)) {
			if (num < 1 || num > 65535) {
				derr(c, pn, "port %lld is out of range; must be between 1 and 65535",
				     num);
				r = -1;
			}
			port.first = port.last = (uint16_t)num;
		} else if (pn->kind == YT_SCALAR && is_port_name(pn->text)) {
			port.name = xstrdup(pn->text);
		} else {
			derr(c, pn, "invalid port \"%s\": expected a number 1-65535 or a port name "
				    "(at most 15 lower case letters, digits and '-')",
			     pn->kind == YT_SCALAR ? pn->text : "");
			r = -1;
		}
		path_pop(c, old);
	}
	switch (get_int(c, n, "endPort", 1, 65535, &end)) {
	case 1:
		if (yt_is_null(pn) || port.name) {
			derr_field(c, n, "endPort", "endPort needs a numeric port");
			r = -1;
		} else if (end < num) {
			derr_field(c, n, "endPort", "endPort %lld must be greater than or equal to "
						    "port %lld",
				   end, num);
			r = -1;
		} else {
			port.last = (uint16_t)end;
		}
		break;
	case -1:
		r = -1;
	}
	if (r < 0) {
		free(port.name);
		return -1;
	}
	groups[gi].present = true;
	if (yt_is_null(pn)) {
		groups[gi].all_ports = true;
		return 1;
	}
	VEC_PUSH(groups[gi], port);
	return 1;
}

/* Calico's SimplifyPorts: named ports first (in order), then the numeric ports merged into
 * ascending ranges; left as is when there is at most one numeric port. */
static void simplify_ports(struct port_group *g)
{
	uint8_t bits[65536 / 8];
	size_t numeric = 0, n_ranges = 0, k = 0;
	struct pal_port *out;

	if (g->n <= 1)
		return;
	memset(bits, 0, sizeof(bits));
	for (size_t i = 0; i < g->n; i++) {
		if (g->v[i].name)
			continue;
		for (unsigned p = g->v[i].first; p <= g->v[i].last; p++) {
			bits[p / 8] |= (uint8_t)(1u << (p % 8));
			numeric++;
		}
	}
	if (numeric <= 1)
		return;
#define PORT_SET(p) ((p) < 65536 && (bits[(p) / 8] & (1u << ((p) % 8))))
	for (unsigned p = 1; p < 65536; p++)
		if (PORT_SET(p) && !PORT_SET(p - 1))
			n_ranges++;
	out = xcalloc(g->n + n_ranges, sizeof(*out));
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].name)
			out[k++] = g->v[i];
	for (unsigned p = 1; p < 65536; p++) {
		if (!PORT_SET(p))
			continue;
		out[k].first = (uint16_t)p;
		while (PORT_SET(p + 1))
			p++;
		out[k].last = (uint16_t)p;
		out[k].pos = g->v[0].pos;
		k++;
	}
#undef PORT_SET
	free(g->v);
	g->v = out;
	g->n = k;
	g->cap = g->n + n_ranges;
}

static struct pal_port *copy_ports(const struct port_group *g)
{
	struct pal_port *v = xcalloc(g->n, sizeof(*v));

	for (size_t i = 0; i < g->n; i++) {
		v[i] = g->v[i];
		if (g->v[i].name)
			v[i].name = xstrdup(g->v[i].name);
	}
	return v;
}

/* Fills the peer side of a translated rule. */
static int fill_peer(struct dctx *c, const struct peer *p, struct pal_entity *e)
{
	if (!p)
		return 1;
	if (p->has_net) {
		e->nets = xcalloc(1, sizeof(*e->nets));
		e->nets[0] = p->net;
		e->n_nets = 1;
		if (p->n_except) {
			e->not_nets = xcalloc(p->n_except, sizeof(*e->not_nets));
			memcpy(e->not_nets, p->except, p->n_except * sizeof(*e->not_nets));
			e->n_not_nets = p->n_except;
		}
		return 1;
	}
	if (p->sel) {
		e->selector_text = xstrdup(p->sel);
		if (parse_selector_at(c, p->node, e->selector_text, &e->selector) < 0)
			return -1;
	}
	if (p->ns_sel) {
		e->namespace_selector_text = xstrdup(p->ns_sel);
		if (parse_selector_at(c, p->node, e->namespace_selector_text,
				      &e->namespace_selector) < 0)
			return -1;
	}
	return 1;
}

/* One k8s ingress/egress rule -> Calico rules appended to out. */
static int translate_rule(struct dctx *c, const struct yt_node *n, bool ingress,
			  struct pal_rules *out, size_t *cap)
{
	const char *peers_key = ingress ? "from" : "to";
	struct port_group groups[N_GROUPS];
	struct peer *peers = NULL;
	size_t n_peers = 0;
	void *v = NULL;
	bool any_ports;
	int r = 1;

	memset(groups, 0, sizeof(groups));
	if (!check_fields(c, n, ingress ? ingress_fields : egress_fields, NULL))
		return -1;
	if (get_seq(c, n, peers_key, &peer_items, NULL, &v, &n_peers) < 0)
		r = -1;
	peers = v;
	if (for_each_item(c, n, "ports", decode_k8s_port, groups) < 0)
		r = -1;
	if (r < 0)
		goto out;
	any_ports = groups[G_SCTP].present || groups[G_TCP].present || groups[G_UDP].present;
	/* Rules: for each protocol group (or one protocol-less group), for each peer (or none). */
	for (int gi = any_ports ? 0 : -1; gi < (any_ports ? N_GROUPS : 0); gi++) {
		if (gi >= 0 && !groups[gi].present)
			continue;
		if (gi >= 0 && !groups[gi].all_ports)
			simplify_ports(&groups[gi]);
		for (size_t pi = 0; pi < (n_peers ? n_peers : 1); pi++) {
			struct pal_rule rule;
			struct pal_entity *peer_side, *dst;

			memset(&rule, 0, sizeof(rule));
			rule.action = PAL_ACTION_ALLOW;
			rule.pos = node_pos(c, n);
			peer_side = ingress ? &rule.src : &rule.dst;
			dst = &rule.dst;
			if (gi >= 0) {
				rule.protocol.set = true;
				rule.protocol.num = group_proto[gi];
				if (!groups[gi].all_ports && groups[gi].n) {
					dst->ports = copy_ports(&groups[gi]);
					dst->n_ports = groups[gi].n;
				}
			}
			if (fill_peer(c, n_peers ? &peers[pi] : NULL, peer_side) < 0) {
				pal_rule_clear(&rule);
				r = -1;
				goto out;
			}
			if (out->n >= PAL_MAX_RULES_PER_DIR) {
				derr(c, n, "translation gives more than %d rules in one direction",
				     PAL_MAX_RULES_PER_DIR);
				pal_rule_clear(&rule);
				r = -1;
				goto out;
			}
			vec_reserve((void **)&out->v, cap, out->n + 1, sizeof(*out->v));
			out->v[out->n++] = rule;
		}
	}
out:
	for (size_t i = 0; i < n_peers; i++)
		peer_free(&peers[i]);
	free(peers);
	groups_free(groups);
	return r;
}

/* The rules of one direction being translated: for_each_item's arg. */
struct k8s_rules {
	bool ingress;
	struct pal_rules *out;
	size_t cap;
	size_t n_k8s_rules; /* as written; out gets one Calico rule per peer and protocol */
};

static int translate_rule_item(struct dctx *c, const struct yt_node *n, void *arg)
{
	struct k8s_rules *x = arg;

	x->n_k8s_rules++;
	return translate_rule(c, n, x->ingress, x->out, &x->cap);
}

static int translate_rules(struct dctx *c, const struct yt_node *spec, bool ingress,
			   struct pal_rules *out, size_t *n_k8s_rules)
{
	struct k8s_rules x = { .ingress = ingress, .out = out };
	int r = for_each_item(c, spec, ingress ? "ingress" : "egress", translate_rule_item, &x);

	*n_k8s_rules = x.n_k8s_rules;
	return r;
}

/* spec.policyTypes as the API server validates it: Ingress or Egress, a type may repeat (Calico's
 * converter reads the list as a set), at most two entries. Returns get_direction_list's 0/1/-1. */
static int k8s_policy_types(struct dctx *c, const struct yt_node *spec, bool *in, bool *eg)
{
	const struct yt_node *n = yt_map_get(spec, "policyTypes");

	if (n && n->kind == YT_SEQ && n->n_items > 2) {
		derr_field(c, spec, "policyTypes", "may not specify more than two policyTypes");
		return -1;
	}
	return get_direction_list(c, spec, "policyTypes", in, eg, true);
}

void decode_k8s_policy(struct dctx *c, struct resource_head *h)
{
	size_t errors = c->d->n_errors, old, n_in = 0, n_eg = 0;
	const struct yt_node *spec = h->spec;
	struct pal_policy p;
	bool in = false, eg = false;
	int types;

	memset(&p, 0, sizeof(p));
	p.kind = PAL_POLICY_K8S;
	p.pos = node_pos(c, h->root);
	if (!is_dns_subdomain(h->name))
		derr_name(c, h, "invalid name \"%s\": must be lower case "
						   "alphanumeric characters, '-' or '.'",
			   h->name);
	if (asprintf(&p.name, "knp.default.%s", h->name) < 0)
		pal_out_of_memory();
	p.namespace = h->namespace;
	h->namespace = NULL;
	p.tier = xstrdup(PAL_DEFAULT_TIER);
	p.has_order = true;
	p.order = PAL_K8S_POLICY_ORDER;
	old = path_push(c, "spec");
	if (spec && !check_fields(c, spec, spec_fields, NULL))
		goto pop;
	if (label_selector(c, spec, "podSelector", true, &p.selector_text) < 0)
		goto pop;
	translate_rules(c, spec, true, &p.ingress, &n_in);
	translate_rules(c, spec, false, &p.egress, &n_eg);
	types = k8s_policy_types(c, spec, &in, &eg);
	if (types == 0 || (types > 0 && !in && !eg)) {
		/* Kubernetes API defaulting of an absent or empty policyTypes. */
		in = true;
		eg = n_eg > 0;
	}
	/* Calico: the listed types; none at all means Ingress. */
	p.types_ingress = in || !eg;
	p.types_egress = eg;
	if (c->d->n_errors == errors)
		parse_selector_at(c, yt_map_get(spec, "podSelector"), p.selector_text, &p.selector);
pop:
	path_pop(c, old);
	(void)n_in;
	DECODE_CLOSE(c, errors, c->m->policies, p, pal_policy_clear);
}
