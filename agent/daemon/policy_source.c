/* The policy pipeline (see policy_source.h). */
#include "policy_source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "log.h"
#include "loop.h"
#include "model.h"

#define PALD_MAX_LOAD_RETRIES 3

/* Remembers the error count and the first error for /readyz, logs every diagnostic. */
static void record_failure(struct pald_policy *p, const struct pal_diags *d, struct pald_metrics *m)
{
	p->degraded = true;
	p->n_errors = d->n_errors ? d->n_errors : 1;
	p->first_error[0] = '\0';
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == PAL_SEV_ERROR) {
			pald_diag_text(&d->v[i], p->first_error, sizeof(p->first_error));
			break;
		}
	m->policy_errors = p->n_errors;
	m->reloads_failed++;
	m->degraded = 1;
}

static void compile_opts(const struct pald_config *cfg, struct pald_policy *p,
			 struct pal_compile_opts *o)
{
	*o = (struct pal_compile_opts){
		.node = cfg->node,
		.failsafe_in = cfg->failsafe_in,
		.n_failsafe_in = cfg->n_failsafe_in,
		.failsafe_out = cfg->failsafe_out,
		.n_failsafe_out = cfg->n_failsafe_out,
		.endpoint_to_host = cfg->endpoint_to_host,
		.rule_ids = &p->rule_ids,
		.match_cache = &p->match_cache,
		.match_key = p->have_match_key ? p->match_key : NULL,
	};
}

/* The agent's own CPU time: on a shared machine a reload's wall time says more about the others'
 * load than about the reload. */
static double cpu_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pald_policy_reload(struct pald_policy *p, const struct pald_config *cfg,
		       struct pald_backend *be, struct pald_metrics *m)
{
	uint64_t t0 = pald_now_ns();
	double cpu0 = cpu_seconds();
	struct pal_model model;
	struct pal_diags diags = { 0 };
	struct pal_compile_opts opts;
	struct pal_ir ir = { 0 };
	bool have_ir = false, validated = false;
	int rc, load_rc, retries = 0;

retry:
	validated = false;
	load_rc = 0;
	pal_model_init(&model);
	p->have_match_key = false;
	if (p->load)
		load_rc = p->load(p->load_ctx, &model, &diags);
	else
		for (size_t i = 0; i < cfg->policy_dirs.n; i++)
			pal_model_load_dir(&model, cfg->policy_dirs.v[i], &diags); /* I/O errors land in diags */
	if (!pal_diags_has_errors(&diags)) {
		if (p->load && p->load_validates)
			validated = load_rc == 0; /* -ENOMEM: its validation did not finish */
		else
			validated = pal_model_validate(&model, &diags) == 0;
	}
	if (validated && !pal_diags_has_errors(&diags)) {
		compile_opts(cfg, p, &opts);
		rc = pal_compile(&model, &opts, &ir, &diags);
		have_ir = rc == 0 && !pal_diags_has_errors(&diags);
		if (!have_ir)
			pal_ir_free(&ir); /* the compiler leaves it empty; freeing empty is safe */
	}
	if (!have_ir && p->set_aside && retries++ < PALD_MAX_LOAD_RETRIES &&
	    p->set_aside(p->load_ctx, &diags)) {
		/* The loader reported the objects it set aside; the next round logs its own. */
		pal_diags_free(&diags);
		pal_model_free(&model);
		goto retry;
	}
	pald_log_diags(&diags); /* warnings too, each with file:line */
	if (!have_ir) {
		record_failure(p, &diags, m);
		pald_log(PALD_LOG_ERROR, "policy rejected, last good policy stays in force",
			 PALD_I("errors", p->n_errors), PALD_I("generation", p->generation));
		rc = PALD_RELOAD_POLICY_ERRORS;
		goto out;
	}

	/* Backend problems (a map full, a rule the datapath cannot hold) are reported like policy
	 * errors, but return -errno so --once can tell them apart. */
	struct pal_diags apply_diags = { 0 };

	rc = be->ops->apply(be->ctx, &ir, p->generation + 1, &apply_diags);
	pald_log_diags(&apply_diags);
	if (rc) {
		if (!pal_diags_has_errors(&apply_diags))
			pal_error(&apply_diags, ((struct pal_pos){ 0 }), NULL,
				  "datapath rejected the policy: %s", strerror(-rc));
		record_failure(p, &apply_diags, m);
		pald_log(PALD_LOG_ERROR, "datapath update failed, last good policy stays in force",
			 PALD_S("error", strerror(rc < 0 ? -rc : rc)), PALD_I("generation", p->generation));
		pal_diags_free(&apply_diags);
		pal_ir_free(&ir);
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	pal_diags_free(&apply_diags);

	if (p->have_ir)
		pal_ir_free(&p->ir);
	p->ir = ir;
	p->have_ir = true;
	p->generation++;
	p->degraded = false;
	p->n_errors = 0;
	p->first_error[0] = '\0';

	double secs = (double)(pald_now_ns() - t0) / 1e9;

	pald_metrics_observe_apply(m, secs);
	m->last_apply_unix = m->last_load_unix = pald_now_unix();
	m->generation = p->generation;
	m->policy_errors = 0;
	m->degraded = 0;
	m->reloads_ok++;
	pald_log(PALD_LOG_INFO, "policy applied", PALD_I("generation", p->generation),
		 PALD_I("endpoints", ir.n_endpoints), PALD_I("rules", pal_ir_n_rules(&ir)),
		 PALD_I("warnings", diags.n - diags.n_errors), PALD_F("seconds", secs),
		 PALD_F("cpu_seconds", cpu_seconds() - cpu0));
	rc = PALD_RELOAD_APPLIED;
out:
	pal_diags_free(&diags);
	pal_model_free(&model);
	return rc;
}

void pald_policy_init(struct pald_policy *p, uint64_t adopted_generation)
{
	memset(p, 0, sizeof(*p));
	p->generation = adopted_generation;
}

void pald_policy_free(struct pald_policy *p)
{
	if (p->have_ir)
		pal_ir_free(&p->ir);
	pal_rule_ids_free(&p->rule_ids);
	pal_match_cache_free(&p->match_cache);
	memset(p, 0, sizeof(*p));
}
