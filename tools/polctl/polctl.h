/* polctl: shows and explains what palisade enforces. One file per command; this header is what
 * they share (global options, output helpers, the offline loader). */
#ifndef POLCTL_H
#define POLCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include "compiler.h"
#include "diag.h"
#include "model.h"

/* Exit codes (docs/polctl.md). */
#define POLCTL_OK 0
#define POLCTL_NEGATIVE 1 /* validate found errors, match did not match */
#define POLCTL_USAGE 2    /* usage or system error */

enum polctl_output { POLCTL_OUT_TABLE, POLCTL_OUT_JSON };

struct polctl_globals {
	enum polctl_output output;
	const char *bpffs;
	const char *node;
};

struct polctl_command {
	const char *name;
	const char *args;    /* one-line synopsis of the arguments */
	const char *summary; /* one line for `polctl --help` */
	int (*run)(const struct polctl_globals *g, int argc, char **argv);
};

int cmd_validate(const struct polctl_globals *g, int argc, char **argv);
int cmd_match(const struct polctl_globals *g, int argc, char **argv);
int cmd_trace(const struct polctl_globals *g, int argc, char **argv);
/* Live commands (read the pinned datapath under g->bpffs; live.h). */
int cmd_status(const struct polctl_globals *g, int argc, char **argv);
int cmd_endpoints(const struct polctl_globals *g, int argc, char **argv);
int cmd_rules(const struct polctl_globals *g, int argc, char **argv);
int cmd_sets(const struct polctl_globals *g, int argc, char **argv);
int cmd_flows(const struct polctl_globals *g, int argc, char **argv);
int cmd_counters(const struct polctl_globals *g, int argc, char **argv);
int cmd_monitor(const struct polctl_globals *g, int argc, char **argv);
/* Versions: polctl's, and live the agent's and the pinned layout's (agent_info.h). */
int cmd_version(const struct polctl_globals *g, int argc, char **argv);

/* Errors go to stderr; with -o json as {"error": "..."} on stdout so a machine reader never has to
 * parse prose (bpftool's convention). Returns POLCTL_USAGE for convenience. */
__attribute__((format(printf, 2, 3))) int polctl_fail(const struct polctl_globals *g, const char *fmt,
							 ...);
/* Prints a JSON value to stdout (indented; YAML after polctl_set_yaml) and releases it. */
void polctl_print_json(json_t *v);
/* With -o json (or yaml) polctl_print_json(v), else print_table(v) for people; releases v. */
void polctl_print_output(const struct polctl_globals *g, json_t *v, void (*print_table)(json_t *));
/* One JSON object on one line (a YAML document with -o yaml), for streams; v is kept. */
void polctl_print_line(json_t *v);
/* -o yaml: every command's structured (-o json) output is printed as YAML instead. */
void polctl_set_yaml(bool on);
int polctl_yaml_dump(json_t *v, FILE *out);
json_t *polctl_diag_json(const struct pal_diag *d);

/* Offline pipeline shared by validate and trace: load every policy directory, validate, compile
 * for g->node. Diagnostics land in *diags. Returns 0 when there are no errors. */
struct polctl_offline {
	struct pal_model model;
	struct pal_ir ir;
	struct pal_diags diags;
	bool compiled;
};
int polctl_offline_load(const struct polctl_globals *g, char **dirs, size_t n_dirs,
			struct polctl_offline *out);
/* The same over paths as `validate` takes them: a directory (read as --policy-dir reads it), a
 * file, or "-" for standard input (diagnostics name it POLCTL_STDIN_NAME). */
#define POLCTL_STDIN_NAME "<stdin>"
#define POLCTL_STDIN_MAX (64u << 20) /* as the loader's limit for one file */
int polctl_offline_load_paths(const struct polctl_globals *g, char **paths, size_t n_paths,
			      struct polctl_offline *out);
void polctl_offline_free(struct polctl_offline *o);

#endif
