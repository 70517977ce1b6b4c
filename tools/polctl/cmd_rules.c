/* polctl rules: the rule lists the datapath is using, read from the pinned maps (pal_ifaces ->
 * pal_lists -> pal_entries) in evaluation order, named from the metadata, with the per-CPU rule
 * counters summed. One row per rule: a rule the flattener split into several entries (port
 * alternatives) is shown once, SKIP entries (not-named-port exclusions) are not shown. Rule
 * counters are per IR rule id, so a policy rule shared by several interfaces shows the same
 * totals on each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "live.h"

static const char *action_name(uint8_t a)
{
	switch (a) {
	case PAL_ACT_ALLOW: return "Allow";
	case PAL_ACT_DENY: return "Deny";
	case PAL_ACT_LOG: return "Log";
	case PAL_ACT_PASS: return "Pass";
	default: return "Skip";
	}
}

static const char *kind_name(uint8_t k)
{
	switch (k) {
	case PAL_KIND_RULE: return "rule";
	case PAL_KIND_PROFILE_RULE: return "profile-rule";
	case PAL_KIND_TIER_END: return "end-of-tier";
	default: return "default-deny";
	}
}

static json_t *list_rules(const struct polctl_live *lv, const struct pal_iface *ifv,
			  enum pal_slot slot, uint32_t list_id)
{
	json_t *rows = json_array();
	struct pal_list l;
	uint32_t last_rule = PAL_RULE_ID_NONE;
	int last_kind = -1;

	if (bpf_map_lookup_elem(lv->fd[LM_LISTS], &list_id, &l))
		return rows;
	for (uint32_t i = 0; i < l.n_entries; i++) {
		uint32_t idx = l.entry_base + i;
		struct pal_entry e;
		struct pal_rule_ctr c = { 0 };
		json_t *r, *meta;
		const char *tier = NULL;

		if (bpf_map_lookup_elem(lv->fd[LM_ENTRIES], &idx, &e) || e.action == PAL_ACT_SKIP)
			continue;
		if (e.rule_id != PAL_RULE_ID_NONE && e.rule_id == last_rule && e.kind == last_kind)
			continue; /* another entry of the same rule */
		last_rule = e.rule_id;
		last_kind = e.kind;
		meta = live_meta_rule(lv, e.rule_id);
		if (e.kind == PAL_KIND_RULE || e.kind == PAL_KIND_TIER_END)
			tier = live_meta_tier(lv, ifv->endpoint_id, ifv->flags, slot, e.tier);
		if (e.rule_id != PAL_RULE_ID_NONE)
			pal_map_rule_counter(lv->fd[LM_RULE_CTRS], e.rule_id, &c);
		r = json_pack("{s:I, s:s, s:o, s:O?, s:O?, s:O?, s:s, s:o, s:o, s:o}", "position",
			      (json_int_t)json_array_size(rows), "kind", kind_name(e.kind), "tier",
			      tier ? json_string(tier) : json_null(), "policy",
			      json_object_get(meta, "policy"), "namespace",
			      json_object_get(meta, "namespace"), "index",
			      json_object_get(meta, "index"), "action",
			      action_name(e.action), "rule_id",
			      e.rule_id == PAL_RULE_ID_NONE ? json_null() : json_integer(e.rule_id),
			      "packets",
			      e.rule_id == PAL_RULE_ID_NONE ? json_null() : json_integer((json_int_t)c.packets),
			      "bytes",
			      e.rule_id == PAL_RULE_ID_NONE ? json_null() : json_integer((json_int_t)c.bytes));
		json_array_append_new(rows, r);
	}
	return rows;
}

static void print_table(json_t *lists)
{
	json_t *l, *r;
	size_t i, j;

	printf("%-14s %-10s %-8s %4s %-14s %-28s %5s %-7s %12s %14s\n", "INTERFACE", "STAGE",
	       "DIR", "#", "TIER", "POLICY", "INDEX", "ACTION", "PACKETS", "BYTES");
	json_array_foreach(lists, i, l) {
		json_array_foreach(json_object_get(l, "rules"), j, r) {
			const char *tier = json_string_value(json_object_get(r, "tier"));
			const char *pol = json_string_value(json_object_get(r, "policy"));
			const char *ns = json_string_value(json_object_get(r, "namespace"));
			const char *kind = json_string_value(json_object_get(r, "kind"));
			char polbuf[256], idx[16] = "-", pk[24] = "-", by[24] = "-";

			if (pol && ns)
				snprintf(polbuf, sizeof(polbuf), "%s/%s", ns, pol);
			else
				snprintf(polbuf, sizeof(polbuf), "%s",
					 pol ? pol : strcmp(kind, "end-of-tier") == 0 ? "(end of tier)" :
						     strcmp(kind, "default-deny") == 0 ? "(default deny)" :
											 "?");
			if (strcmp(kind, "profile-rule") == 0)
				tier = "(profile)";
			if (json_is_integer(json_object_get(r, "index")))
				snprintf(idx, sizeof(idx), "%lld",
					 json_integer_value(json_object_get(r, "index")));
			if (json_is_integer(json_object_get(r, "packets"))) {
				snprintf(pk, sizeof(pk), "%lld",
					 json_integer_value(json_object_get(r, "packets")));
				snprintf(by, sizeof(by), "%lld",
					 json_integer_value(json_object_get(r, "bytes")));
			}
			printf("%-14s %-10s %-8s %4zu %-14s %-28s %5s %-7s %12s %14s\n",
			       json_string_value(json_object_get(l, "interface")),
			       json_string_value(json_object_get(l, "stage")),
			       json_string_value(json_object_get(l, "dir")), j, tier ? tier : "-",
			       polbuf, idx, json_string_value(json_object_get(r, "action")), pk, by);
		}
	}
}

int cmd_rules(const struct polctl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "dir", required_argument, NULL, 'd' },
		{ 0 },
	};
	const char *endpoint = NULL;
	int want_dir = -1, c, rc;
	struct polctl_live lv;
	uint32_t *keys;
	size_t n;
	bool found = false;
	json_t *out;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': endpoint = optarg; break;
		case 'd':
			if (strcmp(optarg, "ingress") == 0)
				want_dir = PAL_DIR_INGRESS;
			else if (strcmp(optarg, "egress") == 0)
				want_dir = PAL_DIR_EGRESS;
			else
				return polctl_fail(g, "rules: --dir takes ingress or egress, not \"%s\"",
						   optarg);
			break;
		default:
			return polctl_fail(g, "rules: unknown option or missing value: %s",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return polctl_fail(g, "rules: unexpected argument \"%s\"", argv[optind]);
	if ((rc = polctl_live_open(g, &lv)))
		return rc;
	live_warn_meta(&lv);
	keys = live_iface_keys(&lv, &n);
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		char ifname[IF_NAMESIZE + 8];
		struct pal_iface v;
		json_t *ep;
		const char *epname;

		if (live_iface_read(&lv, keys[i], &v))
			continue;
		live_ifname(keys[i], ifname);
		ep = live_meta_endpoint(&lv, v.endpoint_id);
		epname = json_string_value(json_object_get(ep, "name"));
		if (endpoint && strcmp(endpoint, ifname) != 0 &&
		    !(epname && strcmp(endpoint, epname) == 0))
			continue;
		found = true;
		for (int s = 0; s < PAL_SLOT_COUNT; s++) {
			if (!v.lists[s] ||
			    (want_dir >= 0 && live_slot_dir((enum pal_slot)s) != (enum pal_dir)want_dir))
				continue;
			json_array_append_new(
				out, json_pack("{s:s, s:I, s:o, s:s, s:s, s:I, s:o}", "interface", ifname,
					       "ifindex", (json_int_t)keys[i], "endpoint",
					       epname ? json_string(epname) : json_null(), "stage",
					       live_slot_stage((enum pal_slot)s, v.flags), "dir",
					       pal_dir_name(live_slot_dir((enum pal_slot)s)), "list_id",
					       (json_int_t)v.lists[s],
					       "rules", list_rules(&lv, &v, (enum pal_slot)s, v.lists[s])));
		}
	}
	free(keys);
	if (endpoint && !found) {
		json_decref(out);
		rc = polctl_fail(g, "rules: no policed interface or endpoint named \"%s\" in the "
				    "datapath at %s", endpoint, lv.dir);
		polctl_live_close(&lv);
		return rc;
	}
	polctl_print_output(g, out, print_table);
	polctl_live_close(&lv);
	return POLCTL_OK;
}
