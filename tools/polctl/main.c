/* polctl entry point: global options (anywhere on the line), then a command from the table.
 * Commands are matched by unique prefix, as bpftool does ("polctl tr" = "polctl trace"). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "polctl.h"
#include "palisade/version.h"

static const struct polctl_command commands[] = {
	{ "validate", "[--policy-dir DIR]... [-f FILE|DIR|-]... [FILE|DIR|-]...",
	  "parse and compile policies offline; every error with file:line (- = stdin)",
	  cmd_validate },
	{ "match", "SELECTOR [KEY=VALUE ...]", "whether a selector matches those labels", cmd_match },
	{ "status", "", "agent and datapath: generation, interfaces with XDP mode and tc hooks, map fill",
	  cmd_status },
	{ "endpoints", "", "endpoints on this node's interfaces: ifindex, labels, policies per stage",
	  cmd_endpoints },
	{ "rules", "[--endpoint IF|NAME] [--dir ingress|egress]",
	  "compiled rules in evaluation order with tier, policy, index, action, packets, bytes",
	  cmd_rules },
	{ "sets", "", "resolved address sets and what they came from", cmd_sets },
	{ "flows", "[--flush]", "tracked flows (--flush empties the flow table)", cmd_flows },
	{ "counters", "", "per interface and hook: verdicts and drops by reason", cmd_counters },
	{ "monitor", "[--count N] [--timeout SEC] [--socket PATH] [--verdict deny|log] [--iface NAME] "
		     "[--policy [NS/]NAME] [--src CIDR] [--dst CIDR] [--proto P] [--port N]",
	  "streams deny and log events until interrupted", cmd_monitor },
	{ "trace",
	  "[--policy-dir DIR] --iface IF --dir ingress|egress|forward [--out-iface IF] --proto P\n"
	  "        --src IP [--sport N] --dst IP [--dport N] [--icmp-type T --icmp-code C]\n"
	  "        [--dnat IP[:PORT]] [--from-pod NS/NAME] [--to-pod NS/NAME] (pods: with --policy-dir)",
	  "the verdict for one packet: the stage and rule that decided, and why", cmd_trace },
	{ "version", "", "polctl's version; the running agent's and the pinned layout's",
	  cmd_version },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: polctl [-o table|json|yaml] [--bpffs DIR] [--node NAME] COMMAND [ARGS]\n"
		   "       polctl --version\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
		if (commands[i].args[0])
			fprintf(f, "            %s\n", commands[i].args);
	}
	fprintf(f, "\nglobal options may also follow the command.\n"
		   "exit: 0 success, 1 negative answer (validation errors, no match), 2 usage or "
		   "system error\n");
}

/* Takes the value of a global option given as "--opt VALUE" or "--opt=VALUE". Returns the number
 * of argv slots consumed (0 when argv[i] is not this option, -1 when the value is missing). */
static int take_option(char **argv, int argc, int i, const char *shortname, const char *longname,
		       const char **value)
{
	const char *a = argv[i];
	size_t ll = strlen(longname);

	if ((shortname && strcmp(a, shortname) == 0) || strcmp(a, longname) == 0) {
		if (i + 1 >= argc)
			return -1;
		*value = argv[i + 1];
		return 2;
	}
	if (strncmp(a, longname, ll) == 0 && a[ll] == '=') {
		*value = a + ll + 1;
		return 1;
	}
	if (shortname && strncmp(a, shortname, 2) == 0 && a[2] != '\0' && strlen(shortname) == 2) {
		*value = a + 2; /* -ojson */
		return 1;
	}
	return 0;
}

static const struct polctl_command *find_command(const char *name, bool *ambiguous)
{
	const struct polctl_command *found = NULL;
	size_t n = strlen(name);

	*ambiguous = false;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
		if (strncmp(commands[i].name, name, n) == 0) {
			if (found)
				*ambiguous = true;
			found = &commands[i];
		}
	}
	return *ambiguous ? NULL : found;
}

int main(int argc, char **argv)
{
	static char hostname[HOST_NAME_MAX + 1];
	struct polctl_globals g = { .output = POLCTL_OUT_TABLE, .bpffs = "/sys/fs/bpf/palisade" };
	const char *output = NULL;
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int n_rest = 0;
	bool help = false;

	if (!rest)
		return POLCTL_USAGE;
	/* Pull the global options out wherever they are; everything else keeps its order. After a
	 * bare "--" nothing is taken. */
	for (int i = 1; i < argc; i++) {
		int used;

		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				rest[n_rest++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			help = true;
			continue;
		}
		if (strcmp(argv[i], "--version") == 0) { /* the client only; `version` asks the agent */
			printf("polctl %s\n", PALISADE_VERSION);
			free(rest);
			return POLCTL_OK;
		}
		if ((used = take_option(argv, argc, i, "-o", "--output", &output)) ||
		    (used = take_option(argv, argc, i, NULL, "--bpffs", &g.bpffs)) ||
		    (used = take_option(argv, argc, i, NULL, "--node", &g.node))) {
			if (used < 0) {
				fprintf(stderr, "polctl: %s needs a value\n", argv[i]);
				free(rest);
				return POLCTL_USAGE;
			}
			i += used - 1;
			continue;
		}
		rest[n_rest++] = argv[i];
	}
	if (output) {
		if (strcmp(output, "json") == 0 || strcmp(output, "yaml") == 0) {
			g.output = POLCTL_OUT_JSON; /* the same documents, printed as YAML */
			polctl_set_yaml(output[0] == 'y');
		} else if (strcmp(output, "table") != 0) {
			fprintf(stderr, "polctl: -o takes table, json or yaml, not \"%s\"\n", output);
			free(rest);
			return POLCTL_USAGE;
		}
	}
	if (!g.node) {
		if (gethostname(hostname, sizeof(hostname) - 1) != 0)
			strcpy(hostname, "localhost");
		g.node = hostname;
	}
	if (help || n_rest == 0) {
		usage(help ? stdout : stderr);
		free(rest);
		return help ? POLCTL_OK : POLCTL_USAGE;
	}

	bool ambiguous;
	const struct polctl_command *cmd = find_command(rest[0], &ambiguous);
	int rc;

	if (!cmd) {
		rc = polctl_fail(&g, "%s command \"%s\"; try polctl --help",
				 ambiguous ? "ambiguous" : "unknown", rest[0]);
	} else {
		rc = cmd->run(&g, n_rest, rest);
	}
	free(rest);
	return rc;
}
