/* polctl endpoints: every interface with a pal_ifaces entry (the endpoint bound to it, its rule
 * lists, generation) joined with the metadata (name, labels, addresses, profiles, policies per
 * stage), plus the endpoints of the metadata that no interface is bound to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "live.h"

static json_t *endpoint_row(json_t *meta_ep, const uint32_t *ifindex, const struct pal_iface *v)
{
	json_t *o = json_object(), *lists = json_object();
	char name[IF_NAMESIZE + 8];

	json_object_set_new(o, "name", json_incref(json_object_get(meta_ep, "name")) ?: json_null());
	json_object_set_new(o, "kind", json_string(v ? ((v->flags & PAL_IF_WORKLOAD) ? "workload" : "host") :
					     json_string_value(json_object_get(meta_ep, "kind"))));
	json_object_set_new(o, "namespace",
			    json_incref(json_object_get(meta_ep, "namespace")) ?: json_null());
	json_object_set_new(o, "interface", ifindex ? json_string(live_ifname(*ifindex, name)) :
						      json_null());
	json_object_set_new(o, "ifindex", ifindex ? json_integer(*ifindex) : json_null());
	json_object_set_new(o, "generation", v ? json_integer(v->generation) : json_null());
	json_object_set_new(o, "labels", json_incref(json_object_get(meta_ep, "labels")) ?: json_null());
	json_object_set_new(o, "addrs", json_incref(json_object_get(meta_ep, "addrs")) ?: json_array());
	json_object_set_new(o, "profiles",
			    json_incref(json_object_get(meta_ep, "profiles")) ?: json_array());
	for (int s = 0; v && s < PAL_SLOT_COUNT; s++)
		if (v->lists[s])
			json_object_set_new(lists, live_slot_name((enum pal_slot)s),
					    json_integer(v->lists[s]));
	json_object_set_new(o, "lists", lists);
	json_object_set_new(o, "stages", json_incref(json_object_get(meta_ep, "stages")) ?: json_object());
	return o;
}

static void print_row(json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *ifn = json_string_value(json_object_get(r, "interface"));
	const char *ns = json_string_value(json_object_get(r, "namespace"));
	json_t *labels = json_object_get(r, "labels"), *stages = json_object_get(r, "stages"), *v;
	const char *k, *sk;
	char ifx[24] = "-", lab[512] = "";
	size_t off = 0, i;

	if (json_is_integer(json_object_get(r, "ifindex")))
		snprintf(ifx, sizeof(ifx), "%lld", json_integer_value(json_object_get(r, "ifindex")));
	json_object_foreach(labels, k, v)
		if (off < sizeof(lab))
			off += (size_t)snprintf(lab + off, sizeof(lab) - off, "%s%s=%s", off ? "," : "",
						k, json_string_value(v));
	printf("%-28s %-9s %-16s %-7s %s\n",
	       name ? name : "(no metadata)", json_string_value(json_object_get(r, "kind")),
	       ifn ? ifn : "-", ifx, off ? lab : (json_is_object(labels) ? "-" : "(labels unknown)"));
	if (ns)
		printf("    namespace  %s\n", ns);
	json_object_foreach(stages, sk, v) {
		const char *dk;
		json_t *tiers;

		json_object_foreach(v, dk, tiers) {
			json_t *t;

			if (!json_array_size(tiers))
				continue;
			printf("    %-9s %-8s", sk, dk);
			json_array_foreach(tiers, i, t) {
				size_t p;
				json_t *pol;

				printf(" [%s:", json_string_value(json_object_get(t, "tier")));
				json_array_foreach(json_object_get(t, "policies"), p, pol)
					printf(" %s", json_string_value(pol));
				printf("]");
			}
			printf("\n");
		}
	}
	if (json_array_size(json_object_get(r, "profiles"))) {
		printf("    profiles ");
		json_array_foreach(json_object_get(r, "profiles"), i, v)
			printf(" %s", json_string_value(v));
		printf("\n");
	}
}

int cmd_endpoints(const struct polctl_globals *g, int argc, char **argv)
{
	struct polctl_live lv;
	json_t *rows = json_array(), *meta_eps, *r;
	size_t n = 0, i;
	uint32_t *keys;
	bool *bound;
	int rc;

	(void)argv;
	if (argc > 1) {
		json_decref(rows);
		return polctl_fail(g, "endpoints: takes no arguments");
	}
	if ((rc = polctl_live_open(g, &lv))) {
		json_decref(rows);
		return rc;
	}
	live_warn_meta(&lv);
	meta_eps = json_object_get(lv.meta, "endpoints");
	bound = calloc(json_array_size(meta_eps) + 1, sizeof(*bound));
	keys = live_iface_keys(&lv, &n);
	for (i = 0; i < n; i++) {
		struct pal_iface v;

		if (live_iface_read(&lv, keys[i], &v))
			continue; /* removed meanwhile */
		if (bound && v.endpoint_id < json_array_size(meta_eps))
			bound[v.endpoint_id] = true;
		json_array_append_new(rows, endpoint_row(live_meta_endpoint(&lv, v.endpoint_id),
							 &keys[i], &v));
	}
	json_array_foreach(meta_eps, i, r)
		if (bound && !bound[i])
			json_array_append_new(rows, endpoint_row(r, NULL, NULL));
	if (g->output == POLCTL_OUT_JSON) {
		polctl_print_json(rows);
	} else {
		printf("%-28s %-9s %-16s %-7s %s\n", "ENDPOINT", "KIND", "INTERFACE", "IFINDEX",
		       "LABELS");
		json_array_foreach(rows, i, r)
			print_row(r);
		json_decref(rows);
	}
	free(keys);
	free(bound);
	polctl_live_close(&lv);
	return POLCTL_OK;
}
