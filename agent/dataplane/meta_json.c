/* Builds the reporting metadata document of meta.h from the IR (names, endpoints with the labels
 * selectors saw, tier lists). Pure computation: no maps here. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meta.h"
#include "net.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *failsafe_json(const struct pal_failsafe *f, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char s[PAL_CIDR_STRLEN + 40], c[PAL_CIDR_STRLEN], p[8];
		int off = snprintf(s, sizeof(s), "%s:%u", pal_proto_name(f[i].protocol, p, sizeof(p)),
				   f[i].port);

		if (f[i].has_net)
			snprintf(s + off, sizeof(s) - (size_t)off, " %s", pal_cidr_str(&f[i].net, c));
		json_array_append_new(a, json_string(s));
	}
	return a;
}

static json_t *tierlist_json(const struct pal_ir_tierlist *tl)
{
	json_t *a = json_array();

	for (size_t t = 0; t < tl->n_tiers; t++) {
		const struct pal_ir_tier *tier = &tl->tiers[t];
		json_t *pols = json_array();

		for (size_t p = 0; p < tier->n_policies; p++) {
			const struct pal_ir_policy *pol = &tier->policies[p];
			char name[512];

			if (pol->namespace)
				snprintf(name, sizeof(name), "%s/%s", pol->namespace, pol->name);
			else
				snprintf(name, sizeof(name), "%s", pol->name);
			json_array_append_new(pols, json_string(name));
		}
		json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "tier", tier->name,
						   "end_action", pal_action_name(tier->end_action),
						   "policies", pols));
	}
	return a;
}

static json_t *stage_json(const struct pal_ir_tierlist tl[PAL_DIR_COUNT])
{
	return json_pack("{s:o, s:o}", "ingress", tierlist_json(&tl[PAL_DIR_INGRESS]), "egress",
			 tierlist_json(&tl[PAL_DIR_EGRESS]));
}

static json_t *endpoint_json(const struct pal_ir *ir, const struct pal_ir_endpoint *ep)
{
	const struct pal_labels *labels = &ep->labels;
	json_t *addrs = json_array(), *profiles = json_array(), *stages, *o;

	for (size_t i = 0; i < ep->n_addrs; i++) {
		char buf[PAL_CIDR_STRLEN];

		json_array_append_new(addrs, json_string(pal_addr_str(&ep->addrs[i], buf)));
	}
	for (size_t i = 0; i < ep->n_profiles; i++)
		if (ep->profiles[i] < ir->n_profiles)
			json_array_append_new(profiles,
					      json_string(ir->profiles[ep->profiles[i]].name));
	if (ep->kind == PAL_EP_HOST)
		stages = json_pack("{s:o, s:o, s:o, s:o}", "untracked", stage_json(ep->untracked),
				   "prednat", stage_json(ep->prednat), "forward",
				   stage_json(ep->forward), "normal", stage_json(ep->normal));
	else
		stages = json_pack("{s:o}", "workload", stage_json(ep->normal));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "name", ep->name, "kind",
		      ep->kind == PAL_EP_HOST ? "host" : "workload", "namespace",
		      str_or_null(ep->namespace), "interface", str_or_null(ep->iface), "addrs", addrs);
	{
		json_t *l = json_object();

		for (size_t i = 0; i < labels->n; i++)
			json_object_set_new(l, labels->v[i].key, json_string(labels->v[i].value));
		json_object_set_new(o, "labels", l);
	}
	json_object_set_new(o, "profiles", profiles);
	json_object_set_new(o, "stages", stages);
	return o;
}

static void put_rule(json_t *rules, const struct pal_ir_rule *r, const char *kind,
		     const char *tier, const char *policy, const char *ns, enum pal_dir dir)
{
	if (r->id >= json_array_size(rules) || !json_is_null(json_array_get(rules, r->id)))
		return; /* shared rules appear once per endpoint list: first wins (all equal) */
	json_array_set_new(rules, r->id,
			   json_pack("{s:I, s:s, s:o, s:s, s:o, s:s, s:I, s:s}", "id",
				     (json_int_t)r->id, "kind", kind, "tier", str_or_null(tier),
				     "policy", policy, "namespace", str_or_null(ns), "dir",
				     pal_dir_name(dir), "index", (json_int_t)r->index, "action",
				     pal_action_name(r->action)));
}

static void put_tierlist_rules(json_t *rules, const struct pal_ir_tierlist *tl, enum pal_dir dir)
{
	for (size_t t = 0; t < tl->n_tiers; t++)
		for (size_t p = 0; p < tl->tiers[t].n_policies; p++) {
			const struct pal_ir_policy *pol = &tl->tiers[t].policies[p];

			for (size_t r = 0; r < pol->n_rules; r++)
				put_rule(rules, &pol->rules[r], "policy", tl->tiers[t].name,
					 pol->name, pol->namespace, dir);
		}
}

static json_t *rules_json(const struct pal_ir *ir)
{
	json_t *rules = json_array();

	for (uint32_t i = 0; i < ir->n_rule_ids; i++)
		json_array_append_new(rules, json_null());
	for (size_t e = 0; e < ir->n_endpoints; e++) {
		const struct pal_ir_endpoint *ep = &ir->endpoints[e];

		for (int d = 0; d < PAL_DIR_COUNT; d++) {
			put_tierlist_rules(rules, &ep->untracked[d], (enum pal_dir)d);
			put_tierlist_rules(rules, &ep->prednat[d], (enum pal_dir)d);
			put_tierlist_rules(rules, &ep->forward[d], (enum pal_dir)d);
			put_tierlist_rules(rules, &ep->normal[d], (enum pal_dir)d);
		}
	}
	for (size_t p = 0; p < ir->n_profiles; p++)
		for (int d = 0; d < PAL_DIR_COUNT; d++)
			for (size_t r = 0; r < ir->profiles[p].n_rules[d]; r++)
				put_rule(rules, &ir->profiles[p].rules[d][r], "profile", NULL,
					 ir->profiles[p].name, NULL, (enum pal_dir)d);
	return rules;
}

static json_t *sets_json(const struct pal_ir *ir)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ir->n_sets; i++) {
		json_t *cidrs = json_array();

		for (size_t c = 0; c < ir->sets[i].n; c++) {
			char buf[PAL_CIDR_STRLEN];

			json_array_append_new(cidrs, json_string(pal_cidr_str(&ir->sets[i].cidrs[c], buf)));
		}
		json_array_append_new(a, json_pack("{s:I, s:o, s:o}", "id", (json_int_t)i, "origin",
						   str_or_null(ir->sets[i].origin), "cidrs", cidrs));
	}
	return a;
}

static json_t *named_port_sets_json(const struct pal_ir *ir)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ir->n_named_port_sets; i++) {
		const struct pal_ir_named_port_set *s = &ir->named_port_sets[i];
		json_t *m = json_array();

		for (size_t k = 0; k < s->n; k++) {
			char addr[PAL_CIDR_STRLEN], p[8], buf[PAL_CIDR_STRLEN + 24];

			snprintf(buf, sizeof(buf), "%s %s/%u", pal_addr_str(&s->v[k].addr, addr),
				 pal_proto_name(s->v[k].protocol, p, sizeof(p)), s->v[k].port);
			json_array_append_new(m, json_string(buf));
		}
		json_array_append_new(a, json_pack("{s:I, s:o, s:o}", "id", (json_int_t)i, "origin",
						   str_or_null(s->origin), "members", m));
	}
	return a;
}

json_t *pal_meta_build(const struct pal_ir *ir, uint64_t generation)
{
	json_t *profiles = json_array(), *endpoints = json_array();

	for (size_t i = 0; i < ir->n_profiles; i++)
		json_array_append_new(profiles, json_string(ir->profiles[i].name));
	for (size_t i = 0; i < ir->n_endpoints; i++)
		json_array_append_new(endpoints, endpoint_json(ir, &ir->endpoints[i]));
	return json_pack("{s:i, s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "version",
			 (int)PAL_META_VERSION, "generation", (json_int_t)generation, "written_at",
			 (json_int_t)time(NULL), "endpoint_to_host",
			 ir->endpoint_to_host == PAL_EP_TO_HOST_ACCEPT ? "accept" : "drop",
			 "failsafe_in", failsafe_json(ir->failsafe_in, ir->n_failsafe_in),
			 "failsafe_out", failsafe_json(ir->failsafe_out, ir->n_failsafe_out),
			 "profiles", profiles, "endpoints", endpoints, "rules", rules_json(ir),
			 "sets", sets_json(ir), "named_port_sets", named_port_sets_json(ir));
}
