/* polctl version: this polctl's version and the layout it reads; live, the version of the agent
 * holding the pin directory and the layout version of the pinned datapath. Works without a
 * datapath (the live parts are then reported as absent) and with one of another layout, which
 * is when the answer matters most (the other commands refuse to read it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_info.h"
#include "pins.h"
#include "polctl.h"
#include "palisade/version.h"

/* {pinned, layout_version, compatible} or {pinned: false}, or {error} when unreadable. */
static json_t *datapath_json(const char *dir)
{
	struct pal_version v;
	int rc = pal_pins_read_layout(dir, &v);

	if (rc == -ENOENT)
		return json_pack("{s:s, s:b}", "bpffs", dir, "pinned", false);
	if (rc)
		return json_pack("{s:s, s:b, s:s}", "bpffs", dir, "pinned", false, "error",
				 strerror(-rc));
	return json_pack("{s:s, s:b, s:i, s:b}", "bpffs", dir, "pinned", true, "layout_version",
			 (int)v.layout, "compatible",
			 v.magic == PAL_VERSION_MAGIC && v.layout == PAL_LAYOUT_VERSION &&
				 v.summary_words == PAL_SUMMARY_WORDS);
}

static void print_table(json_t *v)
{
	json_t *client = json_object_get(v, "client"), *agent = json_object_get(v, "agent"),
	       *dp = json_object_get(v, "datapath");
	const char *err = json_string_value(json_object_get(dp, "error"));

	printf("polctl     %s (reads layout %lld)\n",
	       json_string_value(json_object_get(client, "version")),
	       json_integer_value(json_object_get(client, "layout_version")));
	if (!json_is_true(json_object_get(agent, "running")))
		printf("palisaded  not running\n");
	else if (json_is_string(json_object_get(agent, "version")))
		printf("palisaded  %s (pid %lld)\n",
		       json_string_value(json_object_get(agent, "version")),
		       json_integer_value(json_object_get(agent, "pid")));
	else
		printf("palisaded  unknown version (pid %lld)\n",
		       json_integer_value(json_object_get(agent, "pid")));
	if (json_is_true(json_object_get(dp, "pinned")))
		printf("datapath   layout %lld at %s%s\n",
		       json_integer_value(json_object_get(dp, "layout_version")),
		       json_string_value(json_object_get(dp, "bpffs")),
		       json_is_true(json_object_get(dp, "compatible")) ?
			       "" : " (not the layout this polctl reads)");
	else
		printf("datapath   %s at %s\n", err ? err : "nothing pinned",
		       json_string_value(json_object_get(dp, "bpffs")));
}

int cmd_version(const struct polctl_globals *g, int argc, char **argv)
{
	json_t *v;

	(void)argv;
	if (argc > 1)
		return polctl_fail(g, "version: takes no arguments");
	v = json_pack("{s:{s:s, s:i}, s:o, s:o}", "client", "version", PALISADE_VERSION,
		      "layout_version", (int)PAL_LAYOUT_VERSION, "agent", polctl_agent_json(g->bpffs),
		      "datapath", datapath_json(g->bpffs));
	if (g->output == POLCTL_OUT_JSON) {
		polctl_print_json(v);
	} else {
		print_table(v);
		json_decref(v);
	}
	return POLCTL_OK;
}
