/* The offline pipeline: exactly the agent's loader, validator and compiler, so that what polctl
 * validates and traces is what palisaded would program. */
#include <stdlib.h>
#include <string.h>

#include "polctl.h"

int polctl_offline_load(const struct polctl_globals *g, char **dirs, size_t n_dirs,
			struct polctl_offline *o)
{
	struct pal_failsafe *fin = NULL, *fout = NULL;
	size_t n_in = 0, n_out = 0;
	char err[256];

	memset(o, 0, sizeof(*o));
	pal_model_init(&o->model);
	for (size_t i = 0; i < n_dirs; i++)
		pal_model_load_dir(&o->model, dirs[i], &o->diags);
	pal_model_validate(&o->model, &o->diags);
	if (pal_diags_has_errors(&o->diags))
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

void polctl_offline_free(struct polctl_offline *o)
{
	if (o->compiled)
		pal_ir_free(&o->ir);
	pal_model_free(&o->model);
	pal_diags_free(&o->diags);
}
