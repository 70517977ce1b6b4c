/* Rules (spec.ingress / spec.egress of policies and profiles) with Calico's rule validation:
 * libcalico-go validator v3 validateRule, validateEntityRule, validateICMPFields, validatePort. */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

static const char *const rule_fields[] = { "action",   "protocol", "notProtocol", "icmp",
					   "notICMP",  "ipVersion", "source",     "destination",
					   "http",     "metadata", NULL };
static const char *const entity_fields[] = { "nets",     "notNets",  "selector",
					     "notSelector", "namespaceSelector", "ports",
					     "notPorts", "serviceAccounts", "services", "domains", NULL };
static const char *const icmp_fields[] = { "type", "code", NULL };
static const char *const sa_fields[] = { "names", "selector", NULL };
static const char *const svc_fields[] = { "name", "namespace", NULL };
static const char *const http_fields[] = { "methods", "paths", NULL };
static const char *const http_path_fields[] = { "exact", "prefix", NULL };
static const char *const rule_meta_fields[] = { "annotations", NULL };

static int decode_action(struct dctx *c, const struct yt_node *rule, enum pal_action *out)
{
	static const char *const names[] = { "Allow", "Deny", "Log", "Pass", NULL };
	const struct yt_node *n = yt_map_get(rule, "action");
	char *s = NULL;
	int r;

	if (yt_is_null(n)) {
		derr_field(c, rule, "action", "missing required field \"action\" (Allow, Deny, Log "
					      "or Pass)");
		return -1;
	}
	r = get_str(c, rule, "action", &s);
	if (r <= 0)
		return -1;
	for (int i = 0; names[i]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum pal_action)i;
			free(s);
			return 1;
		}
	}
	derr_choice(c, rule, "action", "invalid action", s, names,
		    "must be Allow, Deny, Log or Pass");
	free(s);
	return -1;
}

/* An optional number from 0 to max (at most 255) into *out, *has set when present: 1, 0 when
 * absent, -1 after an error. */
static int get_optional_u8(struct dctx *c, const struct yt_node *n, const char *key, long long max,
			   bool *has, uint8_t *out)
{
	long long v;
	int r = get_int(c, n, key, 0, max, &v);

	if (r == 1) {
		*has = true;
		*out = (uint8_t)v;
	}
	return r;
}

/* icmp / notICMP: {type: 0-254, code: 0-255}; code needs type (a kernel limitation Calico
 * enforces). */
static int decode_icmp(struct dctx *c, const struct yt_node *n, void *arg)
{
	struct pal_icmp_match *out = arg;
	int r = 1;

	if (!check_fields(c, n, icmp_fields, NULL))
		return -1;
	if (get_optional_u8(c, n, "type", 254, &out->has_type, &out->type) < 0)
		r = -1;
	if (get_optional_u8(c, n, "code", 255, &out->has_code, &out->code) < 0)
		r = -1;
	if (out->has_code && !yt_map_get(n, "type")) {
		derr_field(c, n, "code", "ICMP code specified without an ICMP type; set \"type\" "
					 "too");
		r = -1;
	}
	return r;
}

static int entity_selector(struct dctx *c, const struct yt_node *ent, const char *key,
			   char **text, struct pal_selector **sel, bool is_ns);

/* decode_checked_map's body for an entity's serviceAccounts (arg: the pal_entity). */
static int decode_service_accounts(struct dctx *c, const struct yt_node *n, void *arg)
{
	struct pal_entity *e = arg;
	int r = 1;

	e->has_service_accounts = true;
	if (get_str_list(c, n, "names", &e->service_accounts.names,
			 &e->service_accounts.n_names) < 0)
		r = -1;
	if (entity_selector(c, n, "selector", &e->service_accounts.selector_text,
			    &e->service_accounts.selector, false) < 0)
		r = -1;
	/* Neither names nor selector: Calico's match (parseServiceAccounts) is an empty selector,
	 * which restricts nothing, so the side matches as if serviceAccounts were left out. */
	if (r > 0 && e->service_accounts.n_names == 0 && !e->service_accounts.selector)
		e->has_service_accounts = false;
	return r;
}

/* decode_checked_map's body for an entity's services (arg: the pal_entity). */
static int decode_services(struct dctx *c, const struct yt_node *n, void *arg)
{
	struct pal_entity *e = arg;
	int r = 1;

	e->has_services = true;
	if (get_opt_str(c, n, "name", &e->service_name) < 0 ||
	    get_opt_str(c, n, "namespace", &e->service_namespace) < 0)
		r = -1;
	else if (!e->service_name) {
		derr(c, n, "must specify a service name");
		r = -1;
	}
	return r;
}

/* A selector field of an entity; global() is only allowed as the whole namespaceSelector. */
static int entity_selector(struct dctx *c, const struct yt_node *ent, const char *key,
			   char **text, struct pal_selector **sel, bool is_ns)
{
	int r = get_selector(c, ent, key, text, sel);

	if (r <= 0)
		return r;
	if (is_ns) {
		/* Calico's validateEntityRule: a namespaceSelector using global() must be that one
		 * token, so `(global())` or `!!global()` are refused too. */
		if (pal_selector_uses_global(*sel) && !pal_selector_text_is_global(*text)) {
			derr_field(c, ent, key, "global() cannot be combined with other selectors; "
						"use namespaceSelector: global() on its own");
			return -1;
		}
	} else if (pal_selector_uses_global(*sel)) {
		derr_field(c, ent, key, "global() can only be used in an EntityRule "
					"namespaceSelector");
		return -1;
	}
	return 1;
}

static bool is_match_all(const struct pal_cidr *n)
{
	return n->prefix_len == 0;
}

/* decode_checked_map's body for a rule's source or destination (arg: the pal_entity). */
static int decode_entity(struct dctx *c, const struct yt_node *n, void *arg)
{
	struct pal_entity *e = arg;
	int r = 1;

	/* Calico Enterprise's DNS policy. palisade resolves no names: a rule that matched nothing
	 * would let a Deny's domains through, so it is refused by name, not as a misspelt field. */
	if (yt_map_get(n, "domains")) {
		derr_field(c, n, "domains", "domains (Calico Enterprise's DNS policy) is not "
					    "supported by palisade: it cannot match by domain name; "
					    "use nets or a (Global)NetworkSet of the addresses");
		r = -1;
	}
	if (get_exact_cidr_list(c, n, "nets", &e->nets, &e->n_nets, PAL_MAX_NETS) < 0)
		r = -1;
	if (get_exact_cidr_list(c, n, "notNets", &e->not_nets, &e->n_not_nets, PAL_MAX_NETS) < 0)
		r = -1;
	/* notNets 0.0.0.0/0 or ::/0 would exclude everything: the rule could never match. */
	for (size_t i = 0; i < e->n_not_nets; i++) {
		if (is_match_all(&e->not_nets[i])) {
			const struct yt_node *list = yt_map_get(n, "notNets");
			size_t o2 = path_push(c, "notNets");
			size_t o3 = path_push_index(c, i);

			derr(c, list->items[i], "%s is not allowed in notNets: it excludes every "
						"address, so the rule could never match",
			     e->not_nets[i].addr.family == PAL_AF_INET4 ? "0.0.0.0/0" : "::/0");
			path_pop(c, o3);
			path_pop(c, o2);
			r = -1;
		}
	}
	if (entity_selector(c, n, "selector", &e->selector_text, &e->selector, false) < 0)
		r = -1;
	if (entity_selector(c, n, "notSelector", &e->not_selector_text, &e->not_selector, false) <
	    0)
		r = -1;
	if (entity_selector(c, n, "namespaceSelector", &e->namespace_selector_text,
			    &e->namespace_selector, true) < 0)
		r = -1;
	if (get_ports(c, n, "ports", &e->ports, &e->n_ports) < 0)
		r = -1;
	if (get_ports(c, n, "notPorts", &e->not_ports, &e->n_not_ports) < 0)
		r = -1;
	if (decode_checked_map(c, n, "serviceAccounts", sa_fields, decode_service_accounts, e) < 0)
		r = -1;
	if (decode_checked_map(c, n, "services", svc_fields, decode_services, e) < 0)
		r = -1;
	if (r > 0 && e->has_services) {
		const char *bad = NULL;

		if (e->namespace_selector_text)
			bad = "cannot specify namespaceSelector and services on the same rule";
		else if (e->selector_text || e->not_selector_text)
			bad = "cannot specify selector/notSelector and services on the same rule";
		else if (!yt_is_null(yt_map_get(n, "serviceAccounts")))
			bad = "cannot specify serviceAccounts and services on the same rule";
		else if (yt_map_get(n, "nets") || yt_map_get(n, "notNets"))
			bad = "cannot specify nets/notNets and services on the same rule";
		if (bad) {
			derr_field(c, n, "services", "%s", bad);
			r = -1;
		}
	}
	return r;
}

/* One item of http.paths: exactly one of exact or prefix, a path as Calico's validator wants it. */
static int decode_http_path(struct dctx *c, const struct yt_node *p, void *unused)
{
	char *ex = NULL, *pre = NULL;
	int r = 1;

	(void)unused;
	if (!check_fields(c, p, http_path_fields, NULL) || get_str(c, p, "exact", &ex) < 0 ||
	    get_str(c, p, "prefix", &pre) < 0) {
		r = -1;
	} else if ((ex != NULL) == (pre != NULL)) {
		derr(c, p, "exactly one of \"exact\" or \"prefix\" must be set");
		r = -1;
	} else if ((ex ? ex : pre)[0] != '/' || strpbrk(ex ? ex : pre, "? #")) {
		derr(c, p, "invalid path \"%s\": must start with '/' and not contain '?', '#' or "
			   "spaces",
		     ex ? ex : pre);
		r = -1;
	}
	free(ex);
	free(pre);
	return r;
}

/* http: {methods: [...], paths: [{exact|prefix}]}; parsed for validation only. */
static int decode_http(struct dctx *c, const struct yt_node *n, void *unused)
{
	char **methods = NULL;
	size_t n_methods = 0;
	int r = 1;

	(void)unused;
	if (get_str_list(c, n, "methods", &methods, &n_methods) < 0)
		r = -1;
	for (size_t i = 0; i < n_methods; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(methods[i], methods[j]) == 0 && r > 0) {
				derr_field(c, n, "methods", "invalid methods (duplicate \"%s\")",
					   methods[i]);
				r = -1;
			}
	free_str_list(methods, n_methods);
	if (for_each_item(c, n, "paths", decode_http_path, NULL) < 0)
		r = -1;
	return r;
}

/* decode_checked_map's body for a rule's metadata (arg: the pal_rule). */
static int decode_rule_metadata(struct dctx *c, const struct yt_node *n, void *arg)
{
	struct pal_rule *out = arg;
	int r = 1;

	if (get_labels(c, n, "annotations", &out->annotations, LABELS_ANNOTATIONS) < 0)
		r = -1;
	return r;
}

/* Reports "ports need TCP/UDP/SCTP" at the ports lists of one side. Calico applies this to named
 * ports too (validateRule checks len(Ports) > 0 whatever the port kind). */
/* Numeric ports need protocol TCP, UDP or SCTP (Calico's rule). Named ports are the exception
 * semantics.md 3.2 makes: without a protocol they are allowed, and match whatever protocol the
 * endpoint declares for that name (the named-port sets carry it). A protocol that has no ports
 * (ICMP, say) rejects named ports too. */
static bool check_ports_protocol(struct dctx *c, const struct yt_node *rule, const char *side,
				 const struct pal_entity *e, bool protocol_set)
{
	static const char *const lists[] = { "ports", "notPorts" };
	const struct yt_node *ent = yt_map_get(rule, side);
	const struct pal_port *items[] = { e->ports, e->not_ports };
	size_t counts[] = { e->n_ports, e->n_not_ports };
	bool ok = true;

	if (!ent || ent->kind != YT_MAP)
		return true;
	for (int i = 0; i < 2; i++) {
		const struct yt_node *l = yt_map_get(ent, lists[i]);
		bool numeric = false;

		for (size_t k = 0; k < counts[i]; k++)
			numeric |= items[i][k].name == NULL;
		if (l && l->kind == YT_SEQ && l->n_items > 0 && (protocol_set || numeric)) {
			size_t old = path_push(c, side);

			derr_field(c, ent, lists[i], protocol_set ?
				   "rules that specify ports must set protocol to TCP, UDP or SCTP" :
				   "numeric ports need protocol TCP, UDP or SCTP (only named ports may "
				   "go without a protocol)");
			path_pop(c, old);
			ok = false;
		}
	}
	return ok;
}

/* Calico's scanNets: every nets list must agree with ipVersion, and one rule cannot mix IPv4 and
 * IPv6 CIDRs across its nets fields. */
static bool check_nets(struct dctx *c, const struct yt_node *rule, const struct pal_rule *out)
{
	struct {
		const char *side, *field;
		const struct pal_cidr *v;
		size_t n;
	} lists[] = {
		{ "source", "nets", out->src.nets, out->src.n_nets },
		{ "source", "notNets", out->src.not_nets, out->src.n_not_nets },
		{ "destination", "nets", out->dst.nets, out->dst.n_nets },
		{ "destination", "notNets", out->dst.not_nets, out->dst.n_not_nets },
	};
	bool seen4 = false, seen6 = false, ok = true;

	for (size_t i = 0; i < 4; i++) {
		bool v4 = false, v6 = false;
		const struct yt_node *ent = yt_map_get(rule, lists[i].side);
		size_t old;

		for (size_t j = 0; j < lists[i].n; j++) {
			v4 |= lists[i].v[j].addr.family == PAL_AF_INET4;
			v6 |= lists[i].v[j].addr.family == PAL_AF_INET6;
		}
		if (!v4 && !v6)
			continue;
		old = path_push(c, lists[i].side);
		if (out->ip_version && ((v4 && out->ip_version != 4) || (v6 && out->ip_version != 6))) {
			derr_field(c, ent, lists[i].field,
				   "rule IP version doesn't match CIDR version: ipVersion is %u but "
				   "%s holds IPv%d CIDRs",
				   out->ip_version, lists[i].field, v4 ? 4 : 6);
			ok = false;
		} else if ((v4 && seen6) || (v6 && seen4) || (v4 && v6)) {
			derr_field(c, ent, lists[i].field,
				   "rule contains both IPv4 and IPv6 CIDRs; split it into one rule "
				   "per IP version");
			ok = false;
		}
		path_pop(c, old);
		seen4 |= v4;
		seen6 |= v6;
	}
	return ok;
}

/* Calico's validateRule compares the protocol with the names "ICMP" and "ICMPv6", so icmp fields
 * need the protocol written by name: `protocol: 1` (or "58") with `icmp` is rejected there. */
static bool protocol_named_icmp(const struct yt_node *proto)
{
	return proto && proto->kind == YT_SCALAR &&
	       (strcmp(proto->text, "ICMP") == 0 || strcmp(proto->text, "ICMPv6") == 0);
}

/* Cross-field checks of one decoded rule (validateRule). */
static bool check_rule(struct dctx *c, const struct yt_node *rule, const struct pal_rule *out,
		       bool ingress)
{
	bool ok = true;
	bool proto_ports = out->protocol.set && protocol_supports_ports(out->protocol.num);
	bool has_icmp_proto = protocol_named_icmp(yt_map_get(rule, "protocol"));

	if (!proto_ports) {
		ok &= check_ports_protocol(c, rule, "source", &out->src, out->protocol.set);
		ok &= check_ports_protocol(c, rule, "destination", &out->dst, out->protocol.set);
	}
	if (out->has_icmp && !has_icmp_proto) {
		derr_field(c, rule, "icmp", "rules that specify ICMP fields must set protocol to "
					    "ICMP or ICMPv6 (by name, not number)");
		ok = false;
	}
	if (out->ip_version) {
		bool icmp4 = (out->protocol.set && out->protocol.num == PAL_PROTO_ICMP) ||
			     (out->not_protocol.set && out->not_protocol.num == PAL_PROTO_ICMP);
		bool icmp6 = (out->protocol.set && out->protocol.num == PAL_PROTO_ICMPV6) ||
			     (out->not_protocol.set && out->not_protocol.num == PAL_PROTO_ICMPV6);

		if (icmp4 && out->ip_version != 4) {
			derr_field(c, rule, "ipVersion", "must set ipVersion to 4 with protocol ICMP");
			ok = false;
		}
		if (icmp6 && out->ip_version != 6) {
			derr_field(c, rule, "ipVersion", "must set ipVersion to 6 with protocol "
							 "ICMPv6");
			ok = false;
		}
	}
	ok &= check_nets(c, rule, out);
	if (out->has_http) {
		if (out->action != PAL_ACTION_ALLOW) {
			derr_field(c, rule, "http", "HTTP match is only valid for Allow rules");
			ok = false;
		} else if (!ingress) {
			derr_field(c, rule, "http", "HTTP match is not allowed in egress rules");
			ok = false;
		} else if (out->protocol.set && out->protocol.num != PAL_PROTO_TCP) {
			derr_field(c, rule, "protocol", "rules that specify HTTP fields must set "
							"protocol to TCP or leave it empty");
			ok = false;
		}
	}
	if (out->dst.has_services && (out->dst.n_ports || out->dst.n_not_ports)) {
		size_t old = path_push(c, "destination");

		derr_field(c, yt_map_get(rule, "destination"), out->dst.n_ports ? "ports" : "notPorts",
			   "cannot specify ports with a service selector");
		path_pop(c, old);
		ok = false;
	}
	if (ingress && out->dst.has_services) {
		size_t old = path_push(c, "destination");

		derr_field(c, yt_map_get(rule, "destination"), "services",
			   "services are not allowed in an ingress rule's destination");
		path_pop(c, old);
		ok = false;
	}
	if (!ingress && out->src.has_services) {
		size_t old = path_push(c, "source");

		derr_field(c, yt_map_get(rule, "source"), "services",
			   "services are not allowed in an egress rule's source");
		path_pop(c, old);
		ok = false;
	}
	return ok;
}

/* A rule's icmp or notICMP into *m, *has set when present: 1, 0 when absent, -1 after an error. */
static int get_icmp(struct dctx *c, const struct yt_node *rule, const char *key,
		    struct pal_icmp_match *m, bool *has)
{
	int r = get_field(c, rule, key, m, decode_icmp);

	if (r == 1)
		*has = true;
	return r;
}

static int decode_rule(struct dctx *c, const struct yt_node *n, bool ingress, struct pal_rule *out)
{
	long long v;
	int r = 1;

	out->pos = node_pos(c, n);
	if (!check_fields(c, n, rule_fields, NULL))
		return -1;
	if (decode_action(c, n, &out->action) < 0)
		r = -1;
	if (get_protocol(c, n, "protocol", &out->protocol) < 0)
		r = -1;
	if (get_protocol(c, n, "notProtocol", &out->not_protocol) < 0)
		r = -1;
	if (get_icmp(c, n, "icmp", &out->icmp, &out->has_icmp) < 0)
		r = -1;
	if (get_icmp(c, n, "notICMP", &out->not_icmp, &out->has_not_icmp) < 0)
		r = -1;
	switch (get_int(c, n, "ipVersion", 4, 6, &v)) {
	case 1:
		if (v == 5) {
			derr_field(c, n, "ipVersion", "ipVersion must be 4 or 6");
			r = -1;
		}
		out->ip_version = (uint8_t)v;
		break;
	case -1:
		r = -1;
	}
	if (decode_checked_map(c, n, "source", entity_fields, decode_entity, &out->src) < 0)
		r = -1;
	if (decode_checked_map(c, n, "destination", entity_fields, decode_entity, &out->dst) < 0)
		r = -1;
	switch (decode_checked_map(c, n, "http", http_fields, decode_http, NULL)) {
	case 1:
		out->has_http = true;
		break;
	case -1:
		r = -1;
	}
	if (decode_checked_map(c, n, "metadata", rule_meta_fields, decode_rule_metadata, out) < 0)
		r = -1;
	/* Cross-field checks only make sense when every field decoded. */
	if (r > 0 && !check_rule(c, n, out, ingress))
		r = -1;
	return r;
}

int decode_rules(struct dctx *c, const struct yt_node *spec, const char *key, bool ingress,
		 struct pal_rules *out)
{
	const struct yt_node *n = yt_map_get(spec, key);
	size_t old;
	int r = 1;

	if ((r = enter_field(c, n, key, YT_SEQ, &old)) <= 0)
		return r;
	if (n->n_items > PAL_MAX_RULES_PER_DIR) {
		derr(c, n, "too many rules: %zu, at most %d are allowed per direction", n->n_items,
		     PAL_MAX_RULES_PER_DIR);
		path_pop(c, old);
		return -1;
	}
	out->v = xcalloc(n->n_items, sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < n->n_items; i++) {
		size_t o2 = path_push_index(c, i);
		struct pal_rule rule;

		memset(&rule, 0, sizeof(rule));
		if (decode_rule(c, n->items[i], ingress, &rule) > 0) {
			out->v[out->n++] = rule;
		} else {
			pal_rule_clear(&rule);
			r = -1;
		}
		path_pop(c, o2);
	}
	path_pop(c, old);
	return r;
}
