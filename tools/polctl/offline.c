/* The offline pipeline: exactly the agent's loader, validator and compiler, so that what polctl
 * validates and traces is what palisaded would program. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "polctl.h"
#include "read_all.h"

/* Validates the loaded model and compiles it for g->node. */
static int validate_and_compile(const struct polctl_globals *g, struct polctl_offline *o)
{
	struct pal_failsafe *fin = NULL, *fout = NULL;
	size_t n_in = 0, n_out = 0;
	char err[256];

	if (pal_model_validate(&o->model, &o->diags) || pal_diags_has_errors(&o->diags))
		return -1;

	/* The agent's defaults; the failsafe lists are part of what a trace answers. */
	if (pal_failsafe_parse(PAL_FAILSAFE_IN_DEFAULT, &fin, &n_in, err, sizeof(err)) ||
	    pal_failsafe_parse(PAL_FAILSAFE_OUT_DEFAULT, &fout, &n_out, err, sizeof(err))) {
		free(fin);
		free(fout);
		return -1;
	}
	struct pal_compile_opts opts = {
		.node = g->node,
		.failsafe_in = fin, .n_failsafe_in = n_in,
		.failsafe_out = fout, .n_failsafe_out = n_out,
		.endpoint_to_host = PAL_EP_TO_HOST_DROP,
	};
	int rc = pal_compile(&o->model, &opts, &o->ir, &o->diags);

	free(fin);
	free(fout);
	o->compiled = rc == 0;
	return rc == 0 && !pal_diags_has_errors(&o->diags) ? 0 : -1;
}

int polctl_offline_load(const struct polctl_globals *g, char **dirs, size_t n_dirs,
			struct polctl_offline *o)
{
	memset(o, 0, sizeof(*o));
	pal_model_init(&o->model);
	for (size_t i = 0; i < n_dirs; i++)
		pal_model_load_dir(&o->model, dirs[i], &o->diags);
	return validate_and_compile(g, o);
}

/* Standard input as one policy file named POLCTL_STDIN_NAME (bounded like a file). */
static void load_stdin(struct polctl_offline *o)
{
	struct pal_pos pos = { .file = POLCTL_STDIN_NAME };
	char *buf;
	size_t len;
	int r = pal_read_all(stdin, POLCTL_STDIN_MAX, &buf, &len);

	if (r == -EFBIG)
		pal_error(&o->diags, pos, NULL, "input too large (more than %u bytes)",
			  POLCTL_STDIN_MAX);
	else if (r == -ENOMEM)
		pal_error(&o->diags, pos, NULL, "out of memory reading standard input");
	else if (r)
		pal_error(&o->diags, pos, NULL, "read error: %s", strerror(-r));
	else
		pal_model_load_buffer(&o->model, POLCTL_STDIN_NAME, buf, len, &o->diags);
	free(buf);
}

int polctl_offline_load_paths(const struct polctl_globals *g, char **paths, size_t n_paths,
			      struct polctl_offline *o)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	pal_model_init(&o->model);
	for (size_t i = 0; i < n_paths; i++) {
		if (strcmp(paths[i], "-") == 0)
			load_stdin(o);
		else if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			pal_model_load_dir(&o->model, paths[i], &o->diags);
		else /* reports a missing or unreadable file with its name */
			pal_model_load_file(&o->model, paths[i], &o->diags);
	}
	return validate_and_compile(g, o);
}

void polctl_offline_free(struct polctl_offline *o)
{
	if (o->compiled)
		pal_ir_free(&o->ir);
	pal_model_free(&o->model);
	pal_diags_free(&o->diags);
}
