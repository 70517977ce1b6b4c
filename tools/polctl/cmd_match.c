/* polctl match SELECTOR [KEY=VALUE ...]: does the selector match these labels?
 * Exit 0 match, 1 no match, 2 malformed selector (with the column of the error). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polctl.h"
#include "selector.h"

int cmd_match(const struct polctl_globals *g, int argc, char **argv)
{
	struct pal_selector_error err;
	struct pal_selector *sel = NULL;
	struct pal_labels labels = { 0 };
	int rc;

	if (argc < 2)
		return polctl_fail(g, "match: needs a SELECTOR");
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			pal_labels_free(&labels);
			return polctl_fail(g, "match: label \"%s\" is not KEY=VALUE", argv[i]);
		}
		*eq = '\0';
		pal_labels_set(&labels, argv[i], eq + 1);
		*eq = '=';
	}
	if (pal_selector_parse(argv[1], &sel, &err) != 0) {
		pal_labels_free(&labels);
		if (g->output == POLCTL_OUT_TABLE)
			fprintf(stderr, "  %s\n  %*s^\n", argv[1], err.col > 0 ? err.col - 1 : 0, "");
		return polctl_fail(g, "match: malformed selector at column %d: %s", err.col,
				   err.message);
	}

	bool matched = pal_selector_match(sel, &labels);
	char *canonical = pal_selector_string(sel);

	if (g->output == POLCTL_OUT_JSON)
		polctl_print_json(json_pack("{s:b, s:s}", "match", matched, "selector",
					    canonical ? canonical : ""));
	else
		printf("%s: %s\n", matched ? "match" : "no match", canonical ? canonical : "");
	rc = matched ? POLCTL_OK : POLCTL_NEGATIVE;
	free(canonical);
	pal_selector_free(sel);
	pal_labels_free(&labels);
	return rc;
}
