/* Output helpers shared by every command. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "polctl.h"

int polctl_fail(const struct polctl_globals *g, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "polctl: %s\n", msg);
	if (g && g->output == POLCTL_OUT_JSON)
		polctl_print_json(json_pack("{s:s}", "error", msg));
	return POLCTL_USAGE;
}

static bool yaml_output;

void polctl_set_yaml(bool on)
{
	yaml_output = on;
}

void polctl_print_json(json_t *v)
{
	if (!v)
		return;
	if (yaml_output)
		polctl_yaml_dump(v, stdout);
	else {
		json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	json_decref(v);
}

void polctl_print_output(const struct polctl_globals *g, json_t *v, void (*print_table)(json_t *))
{
	if (g->output == POLCTL_OUT_JSON) {
		polctl_print_json(v);
		return;
	}
	print_table(v);
	json_decref(v);
}

void polctl_print_line(json_t *v)
{
	if (yaml_output) {
		polctl_yaml_dump(v, stdout); /* one document each, "---" between them */
		return;
	}
	json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

json_t *polctl_diag_json(const struct pal_diag *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "severity", json_string(d->severity == PAL_SEV_ERROR ? "error" : "warning"));
	json_object_set_new(o, "file", d->file ? json_string(d->file) : json_null());
	json_object_set_new(o, "line", json_integer(d->line));
	json_object_set_new(o, "column", json_integer(d->col));
	json_object_set_new(o, "path", d->path ? json_string(d->path) : json_null());
	json_object_set_new(o, "message", json_string(d->message ? d->message : ""));
	return o;
}
