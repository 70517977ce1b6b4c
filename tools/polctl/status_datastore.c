/* The datastore section of polctl status (see status_datastore.h). */
#include "status_datastore.h"

#include <stdio.h>
#include <time.h>

#include "meta.h"

json_t *polctl_datastore_json(const char *dir)
{
	json_t *doc = NULL;
	json_int_t written;

	if (pal_meta_read_named(dir, PAL_DATASTORE_MAP_NAME, &doc) || !json_is_object(doc)) {
		json_decref(doc);
		return json_pack("{s:s}", "datastore", "files");
	}
	written = json_integer_value(json_object_get(doc, "written_at"));
	json_object_set_new(doc, "age_seconds",
			    json_integer(written ? (json_int_t)time(NULL) - written : -1));
	return doc;
}

static const char *when(json_int_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!t || !gmtime_r(&tt, &tm))
		return "never";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* The state file of the last good versions (docs/kubernetes-datastore.md, "Across restarts"). */
static void print_state_file(const json_t *sf)
{
	const char *err = json_string_value(json_object_get(sf, "error"));
	char t[32];

	if (!sf)
		return;
	if (err)
		printf("             state file not written: last good versions will not survive a "
		       "restart (%s)\n", err);
	else
		printf("             state file %s, written %s\n",
		       json_string_value(json_object_get(sf, "path")),
		       when(json_integer_value(json_object_get(sf, "written_at")), t, sizeof(t)));
}

void polctl_datastore_print(const json_t *ds)
{
	const char *kind = json_string_value(json_object_get(ds, "datastore"));
	size_t i;
	json_t *v;
	char t[32];

	if (!kind || !json_object_get(ds, "resources")) {
		printf("datastore    %s\n", kind ? kind : "files");
		return;
	}
	printf("datastore    %s %s, %s, %.0f s stale (status written %lld s ago)\n", kind,
	       json_string_value(json_object_get(ds, "server")),
	       json_is_true(json_object_get(ds, "synced")) ? "synced" : "NOT SYNCED (nothing applied)",
	       json_real_value(json_object_get(ds, "staleness_seconds")),
	       json_integer_value(json_object_get(ds, "age_seconds")));
	printf("             %lld objects, %zu rejected (their last good version in force unless "
	       "the line says otherwise), %lld conversions failed\n",
	       json_integer_value(json_object_get(ds, "objects")),
	       json_array_size(json_object_get(ds, "bad_objects")),
	       json_integer_value(json_object_get(ds, "conversions_failed")));
	print_state_file(json_object_get(ds, "state_file"));
	json_array_foreach(json_object_get(ds, "bad_objects"), i, v)
		printf("  rejected   %s: %s\n", json_string_value(json_object_get(v, "object")),
		       json_string_value(json_object_get(v, "error")));
	printf("\n%-52s %-10s %-6s %-10s %-7s %-20s %-6s %s\n", "RESOURCE", "STATE", "SYNCED",
	       "RV", "OBJECTS", "LAST EVENT", "ERRORS", "LAST ERROR");
	json_array_foreach(json_object_get(ds, "resources"), i, v) {
		const char *err = json_string_value(json_object_get(v, "last_error"));

		printf("%-52s %-10s %-6s %-10s %-7lld %-20s %-6lld %s\n",
		       json_string_value(json_object_get(v, "resource")),
		       json_string_value(json_object_get(v, "state")),
		       json_is_true(json_object_get(v, "synced")) ? "yes" : "no",
		       json_string_value(json_object_get(v, "resourceVersion")),
		       json_integer_value(json_object_get(v, "objects")),
		       when(json_integer_value(json_object_get(v, "last_event")), t, sizeof(t)),
		       json_integer_value(json_object_get(v, "errors")), err ? err : "-");
	}
	printf("\n");
}
