/* polctl sets: the address sets the live generation resolved selectors and nets into, and where
 * each came from. The maps hold these only as classifier classes (prefix -> bitmap), so the list
 * comes from the agent's metadata for that generation (agent/dataplane/meta.h); without metadata
 * this is an error naming the directory. */
#include <stdio.h>

#include "live.h"

static void print_table(json_t *sets, json_t *named)
{
	json_t *s, *c;
	size_t i, j;

	printf("%-5s %-48s %s\n", "ID", "ORIGIN", "MEMBERS");
	json_array_foreach(sets, i, s) {
		printf("%-5lld %-48s", json_integer_value(json_object_get(s, "id")),
		       json_string_value(json_object_get(s, "origin")) ?: "-");
		if (!json_array_size(json_object_get(s, "cidrs")))
			printf(" (empty)");
		json_array_foreach(json_object_get(s, "cidrs"), j, c)
			printf(" %s", json_string_value(c));
		printf("\n");
	}
	if (!json_array_size(named))
		return;
	printf("\n%-5s %-48s %s\n", "NP-ID", "NAMED PORT ORIGIN", "MEMBERS");
	json_array_foreach(named, i, s) {
		printf("%-5lld %-48s", json_integer_value(json_object_get(s, "id")),
		       json_string_value(json_object_get(s, "origin")) ?: "-");
		json_array_foreach(json_object_get(s, "members"), j, c)
			printf(" %s", json_string_value(c));
		printf("\n");
	}
}

int cmd_sets(const struct polctl_globals *g, int argc, char **argv)
{
	struct polctl_live lv;
	int rc;

	(void)argv;
	if ((rc = polctl_live_open_noargs(g, "sets", argc, &lv)))
		return rc;
	if (!lv.meta) {
		rc = polctl_fail(g, "sets: no metadata is pinned at %s (the agent writes it at "
				    "every apply); the maps alone do not name address sets", lv.dir);
		polctl_live_close(&lv);
		return rc;
	}
	live_warn_meta(&lv); /* another generation's sets */
	json_t *sets = json_object_get(lv.meta, "sets");
	json_t *named = json_object_get(lv.meta, "named_port_sets");

	if (g->output == POLCTL_OUT_JSON)
		polctl_print_json(json_pack("{s:O, s:O, s:O}", "generation",
					    json_object_get(lv.meta, "generation"), "sets", sets,
					    "named_port_sets", named));
	else
		print_table(sets, named);
	polctl_live_close(&lv);
	return POLCTL_OK;
}
