/* polctl validate --policy-dir DIR...: the agent's loader, validator and compiler, offline.
 * Exit 0 when the policy would be accepted, 1 when it has errors (each printed with file:line). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "polctl.h"

int cmd_validate(const struct polctl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy-dir", required_argument, NULL, 'p' },
		{ 0 },
	};
	char **dirs = calloc((size_t)argc, sizeof(char *));
	size_t n_dirs = 0;
	int c;

	if (!dirs)
		return POLCTL_USAGE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'p') {
			free(dirs);
			return polctl_fail(g, "validate: unknown option %s", argv[optind - 1]);
		}
		dirs[n_dirs++] = optarg;
	}
	for (; optind < argc; optind++) /* bare arguments are directories too */
		dirs[n_dirs++] = argv[optind];
	if (n_dirs == 0) {
		free(dirs);
		return polctl_fail(g, "validate: needs --policy-dir DIR");
	}

	struct polctl_offline o;
	int rc = polctl_offline_load(g, dirs, n_dirs, &o);
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
	free(dirs);
	return ok ? POLCTL_OK : POLCTL_NEGATIVE;
}
