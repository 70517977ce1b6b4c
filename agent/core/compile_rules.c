/* Rule -> pal_ir_match: Calico's rule fields become address sets, port ranges, named-port sets and
 * a family prefilter. How each field of a side composes (all AND'd):
 *   nets              -> one in_set          notNets      -> one not_in_set
 *                        (both also limit the rule to their address families: see rule_families)
 *   selector          -> one in_set of the candidates in the side's scope that match
 *   namespaceSelector -> sets the scope; without a selector, one in_set of everything in scope
 *   notSelector       -> one not_in_set, unscoped (all namespaces); in a scoped side without a
 *                        selector it also adds the in_set of everything in scope, as Calico does
 *   serviceAccounts   -> joins the selector's in_set (or is one of its own in scope): the
 *                        candidates must also match it, as Calico ANDs it into the selector
 *   ports / notPorts  -> numeric items to (not_)port_ranges, named items to (not_)named_port_sets
 *                        of the endpoints the side's positive set selects (all when it has none)
 *   services          -> source: one in_set of the Service's endpoint addresses; destination: the
 *                        one named_port_set of its (address, protocol, port)s (compile_services.c)
 * Scope of a side: namespaceSelector global() = non-namespaced things only; another
 * namespaceSelector = things in namespaces whose labels match; else, for a namespaced policy, its
 * own namespace; else everything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile_internal.h"

static const char *const not_supported = "is not supported by palisade's datapath";

/* A Service reference outside a namespace: Calico looks for "/<name>" and matches nothing. */
static void check_service(struct pal_cc *cc, const struct pal_entity *e, const char *ns,
			    const char *what, size_t i, const char *side, struct pal_pos pos)
{
	char path[160];

	if (e->has_services && !e->service_namespace && !ns) {
		snprintf(path, sizeof(path), "%s[%zu].%s.services", what, i, side);
		pal_warn(cc->diags, pos, path, "services without a namespace outside a namespaced "
			 "policy matches no Service (as in Calico); set services.namespace");
	}
}

static uint8_t nets_families(const struct pal_cidr *v, size_t n)
{
	uint8_t f = 0;

	for (size_t i = 0; i < n; i++)
		f |= v[i].addr.family == PAL_AF_INET6 ? PAL_FAMILY_V6 : PAL_FAMILY_V4;
	return f;
}

/* The family prefilter of a rule: the families a packet may have and still match. ipVersion,
 * protocol ICMP / ICMPv6 and the families of each side's nets and, with not_nets, notNets. Felix
 * renders a rule once per IP version and skips it for a version when nets or notNets of a side
 * hold no CIDR of that version (felix/rules FilterRuleToIPVersion, also used by the BPF policy
 * programs), so an IPv4-only notNets never matches an IPv6 packet: the loader forbids mixing the
 * families in one rule, so that is every rule whose notNets are of the other family. */
static uint8_t rule_families(const struct pal_rule *r, bool not_nets)
{
	const struct pal_entity *sides[] = { &r->src, &r->dst };
	uint8_t f = PAL_FAMILY_V4 | PAL_FAMILY_V6;

	if (r->ip_version == 4)
		f &= PAL_FAMILY_V4;
	else if (r->ip_version == 6)
		f &= PAL_FAMILY_V6;
	if (r->protocol.set && r->protocol.num == PAL_PROTO_ICMP)
		f &= PAL_FAMILY_V4;
	else if (r->protocol.set && r->protocol.num == PAL_PROTO_ICMPV6)
		f &= PAL_FAMILY_V6;
	for (size_t i = 0; i < 2; i++) {
		if (sides[i]->n_nets)
			f &= nets_families(sides[i]->nets, sides[i]->n_nets);
		if (not_nets && sides[i]->n_not_nets)
			f &= nets_families(sides[i]->not_nets, sides[i]->n_not_nets);
	}
	return f;
}

size_t pal_cc_check_rules(struct pal_cc *cc, const struct pal_rules *rules, const char *what,
			  const char *ns, struct pal_pos doc_pos)
{
	char path[160];
	size_t n = 0;

	for (size_t i = 0; i < rules->n; i++) {
		const struct pal_rule *r = &rules->v[i];
		struct pal_pos pos = r->pos.file ? r->pos : doc_pos;

		/* Calico's rule, easy to misread: say so when only notNets drops a family (the
		 * loader keeps one family per rule, so the notNets are all IPv4 or all IPv6). */
		if (rule_families(r, true) != rule_families(r, false)) {
			uint8_t nf = nets_families(r->src.not_nets, r->src.n_not_nets) |
				     nets_families(r->dst.not_nets, r->dst.n_not_nets);
			int v = nf == PAL_FAMILY_V4 ? 4 : 6, other = v == 4 ? 6 : 4;

			snprintf(path, sizeof(path), "%s[%zu]", what, i);
			pal_warn(cc->diags, pos, path,
				 "notNets holds only IPv%d CIDRs, so this rule never matches IPv%d "
				 "packets (as in Calico); set ipVersion: %d to say so, or add a rule "
				 "for IPv%d",
				 v, other, v, other);
		}
		if (r->has_http) {
			snprintf(path, sizeof(path), "%s[%zu].http", what, i);
			pal_error(cc->diags, pos, path,
				  "HTTP match %s (it matches packets, not requests); remove it or use "
				  "an application-layer proxy", not_supported);
			n++;
		}
		check_service(cc, &r->src, ns, what, i, "source", pos);
		check_service(cc, &r->dst, ns, what, i, "destination", pos);
	}
	return n;
}

static int push_u32(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

static int push_range(struct pal_port_range **v, size_t *n, uint16_t first, uint16_t last)
{
	struct pal_port_range *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = (struct pal_port_range){ .first = first, .last = last };
	*v = nv;
	return 0;
}

/* Numeric items to ranges, named items to named-port sets resolved in the side's scope. */
static int compile_ports(struct pal_cc *cc, const struct pal_port *ports, size_t n,
			 const struct pal_cc_scope *scope, const struct pal_selector *sel,
			 struct pal_port_range **ranges, size_t *n_ranges, uint32_t **named,
			 size_t *n_named)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		uint32_t idx;

		if (ports[i].name) {
			err = pal_cc_named_port_set(cc, scope, sel, ports[i].name, &idx);
			if (!err)
				err = push_u32(named, n_named, idx);
		} else {
			err = push_range(ranges, n_ranges, ports[i].first, ports[i].last);
		}
	}
	return err;
}

/* The service match of a side (see compile_services.c); after the side's ports are compiled. */
static int compile_service(struct pal_cc *cc, const struct pal_entity *e, const char *ns, bool dst,
			   struct pal_ir_side *side)
{
	const char *svc_ns = e->service_namespace ? e->service_namespace : ns ? ns : "";
	uint32_t idx;
	int err;

	if (!dst) {
		err = pal_cc_service_addr_set(cc, svc_ns, e->service_name, &idx);
		return err ? err : push_u32(&side->in_sets, &side->n_in_sets, idx);
	}
	/* The loader allows no destination ports beside a destination Service. */
	if ((err = pal_cc_service_port_set(cc, svc_ns, e->service_name, &idx)))
		return err;
	side->has_ports = true;
	return push_u32(&side->named_port_sets, &side->n_named_port_sets, idx);
}

static int compile_side(struct pal_cc *cc, const struct pal_entity *e, const char *ns, bool dst,
			struct pal_ir_side *side)
{
	struct pal_cc_scope scope = { .kind = PAL_SCOPE_ALL };
	const struct pal_cc_scope all = { .kind = PAL_SCOPE_ALL };
	const struct pal_service_accounts *sa = e->has_service_accounts ? &e->service_accounts
									 : NULL;
	const struct pal_cc_scope *np_scope;
	bool positive;
	uint32_t idx;
	int err;

	if (e->namespace_selector) {
		if (pal_selector_is_global(e->namespace_selector))
			scope.kind = PAL_SCOPE_GLOBAL;
		else
			scope = (struct pal_cc_scope){ .kind = PAL_SCOPE_NS_SELECTOR,
						       .ns_sel = e->namespace_selector };
	} else if (ns) {
		scope = (struct pal_cc_scope){ .kind = PAL_SCOPE_NAMESPACE, .ns = ns };
	}

	if (e->n_nets) {
		if ((err = pal_cc_nets_set(cc, e->nets, e->n_nets, &idx)) ||
		    (err = push_u32(&side->in_sets, &side->n_in_sets, idx)))
			return err;
	}
	if (e->n_not_nets) {
		if ((err = pal_cc_nets_set(cc, e->not_nets, e->n_not_nets, &idx)) ||
		    (err = push_u32(&side->not_in_sets, &side->n_not_in_sets, idx)))
			return err;
	}
	/* The positive set: the selector in scope; without a selector, the scope itself whenever
	 * the side has a namespaceSelector or a notSelector and is scoped (Calico's
	 * RuleAPIV2ToBackend: "namespace the rule's selector when a Selector, NotSelector or
	 * NamespaceSelector is provided"). An unscoped side without selector has no positive set. */
	positive = e->selector ||
		   (scope.kind != PAL_SCOPE_ALL && (e->namespace_selector || e->not_selector));
	/* serviceAccounts is part of the same set: Calico ANDs it into the positive selector, so
	 * one endpoint must match both. Two sets would only AND addresses, and a network set
	 * without a service account covering a selected pod's address would let that pod in. */
	if (positive || sa) {
		if ((err = pal_cc_selector_set(cc, &scope, e->selector, sa, &idx)) ||
		    (err = push_u32(&side->in_sets, &side->n_in_sets, idx)))
			return err;
	}
	if (e->not_selector) {
		if ((err = pal_cc_selector_set(cc, &all, e->not_selector, NULL, &idx)) ||
		    (err = push_u32(&side->not_in_sets, &side->n_not_in_sets, idx)))
			return err;
	}
	/* Named ports resolve on the side's positive selector, or on every endpoint when the side
	 * has none (felix's namedPortsToIPSets: AllSelector), even in a namespaced policy. */
	np_scope = positive ? &scope : &all;
	side->has_ports = e->n_ports > 0;
	err = compile_ports(cc, e->ports, e->n_ports, np_scope, e->selector, &side->port_ranges,
			    &side->n_port_ranges, &side->named_port_sets, &side->n_named_port_sets);
	if (!err && e->has_services)
		err = compile_service(cc, e, ns, dst, side);
	if (err)
		return err;
	return compile_ports(cc, e->not_ports, e->n_not_ports, np_scope, e->selector,
			     &side->not_port_ranges, &side->n_not_port_ranges,
			     &side->not_named_port_sets, &side->n_not_named_port_sets);
}

int pal_cc_compile_rule(struct pal_cc *cc, const struct pal_rule *r, const char *ns, uint32_t index,
			struct pal_ir_rule *out)
{
	struct pal_ir_match *m = &out->match;
	int err;

	memset(out, 0, sizeof(*out));
	out->action = r->action;
	out->index = index;
	m->l4 = r->l4;

	m->families = rule_families(r, true);
	err = compile_side(cc, &r->src, ns, false, &m->src);
	if (!err)
		err = compile_side(cc, &r->dst, ns, true, &m->dst);
	if (err)
		pal_ir_match_free(m);
	return err;
}
