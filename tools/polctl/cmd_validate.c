/* polctl validate [--policy-dir DIR]... [-f FILE|DIR|-]... [FILE|DIR|-]...: the agent's loader,
 * validator and compiler, offline, over every input together (a policy in one file may use a
 * tier another defines). "-" is standard input, named "<stdin>" in errors.
 * Exit 0 when the policy would be accepted, 1 when it has errors (each printed with file:line). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polctl.h"

int cmd_validate(const struct polctl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy-dir", required_argument, NULL, 'p' },
		{ "filename", required_argument, NULL, 'f' },
		{ 0 },
	};
	char **paths = calloc((size_t)argc, sizeof(char *));
	size_t n_paths = 0, n_stdin = 0;
	int c;

	if (!paths)
		return POLCTL_USAGE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (c != 'p' && c != 'f') {
			free(paths);
			if (c == ':' || (c == '?' && optopt))
				return polctl_fail(g, "validate: option -%c needs a value", optopt);
			return polctl_fail(g, "validate: unknown option %s", argv[optind - 1]);
		}
		paths[n_paths++] = optarg;
	}
	for (; optind < argc; optind++) /* bare arguments: files, directories, "-" */
		paths[n_paths++] = argv[optind];
	for (size_t i = 0; i < n_paths; i++)
		n_stdin += strcmp(paths[i], "-") == 0;
	if (n_paths == 0 || n_stdin > 1) {
		free(paths);
		return polctl_fail(g, n_stdin > 1 ? "validate: standard input (-) given twice" :
						    "validate: needs FILE, DIR, -f - or --policy-dir DIR");
	}

	struct polctl_offline o;
	int rc = polctl_offline_load_paths(g, paths, n_paths, &o);
	bool ok = rc == 0;
	size_t n_warn = o.diags.n - o.diags.n_errors;

	if (g->output == POLCTL_OUT_JSON) {
		json_t *errs = json_array(), *warns = json_array();

		for (size_t i = 0; i < o.diags.n; i++)
			json_array_append_new(o.diags.v[i].severity == PAL_SEV_ERROR ? errs : warns,
					      polctl_diag_json(&o.diags.v[i]));
		polctl_print_json(json_pack(
			"{s:b, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}}", "valid", ok, "errors", errs,
			"warnings", warns, "resources", "policies", (json_int_t)o.model.policies.n,
			"tiers", (json_int_t)o.model.tiers.n, "host_endpoints",
			(json_int_t)o.model.host_endpoints.n, "workload_endpoints",
			(json_int_t)o.model.workload_endpoints.n, "network_sets",
			(json_int_t)o.model.network_sets.n));
	} else {
		/* Compiler-style lines on stderr, a one-line summary on stdout. */
		pal_diags_print(stderr, &o.diags);
		if (ok)
			printf("valid: %zu policies, %zu tiers, %zu host endpoints, %zu workload "
			       "endpoints, %zu network sets (%zu warnings)\n",
			       o.model.policies.n, o.model.tiers.n, o.model.host_endpoints.n,
			       o.model.workload_endpoints.n, o.model.network_sets.n, n_warn);
		else
			printf("invalid: %zu errors, %zu warnings\n", o.diags.n_errors, n_warn);
	}
	polctl_offline_free(&o);
	free(paths);
	return ok ? POLCTL_OK : POLCTL_NEGATIVE;
}
