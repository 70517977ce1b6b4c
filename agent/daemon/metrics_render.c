/* Prometheus rendering of the control-plane metrics (see metrics.h). */
#include "metrics.h"

static const double bounds[PALD_N_APPLY_BUCKETS] = PALD_APPLY_BUCKETS;

void pald_metrics_observe_apply(struct pald_metrics *m, double seconds)
{
	m->apply_last_seconds = seconds;
	m->apply_count++;
	m->apply_sum += seconds;
	for (int i = 0; i < PALD_N_APPLY_BUCKETS; i++)
		if (seconds <= bounds[i]) {
			m->apply_bucket[i]++;
			break;
		}
}

static void gauge(struct pald_buf *b, const char *name, const char *help, const char *type,
		  unsigned long long v)
{
	pald_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

void pald_metrics_render(const struct pald_metrics *m, struct pald_buf *b)
{
	uint64_t cum = 0;

	gauge(b, "palisade_policy_generation",
	      "Generation of the policy in force; increments on every successful apply.", "gauge",
	      (unsigned long long)m->generation);
	gauge(b, "palisade_policy_errors",
	      "Errors found in the policy files at the last reload (0 after a good reload).",
	      "gauge", (unsigned long long)m->policy_errors);
	gauge(b, "palisade_policy_degraded",
	      "1 when the last reload failed and the last good generation is still enforced.",
	      "gauge", (unsigned long long)m->degraded);
	pald_buf_printf(b,
			"# HELP palisade_policy_reloads_total Policy reloads by result.\n"
			"# TYPE palisade_policy_reloads_total counter\n"
			"palisade_policy_reloads_total{result=\"ok\"} %llu\n"
			"palisade_policy_reloads_total{result=\"error\"} %llu\n",
			(unsigned long long)m->reloads_ok, (unsigned long long)m->reloads_failed);
	pald_buf_printf(b,
			"# HELP palisade_policy_apply_last_seconds Duration of the last successful "
			"reload (read, compile, program).\n"
			"# TYPE palisade_policy_apply_last_seconds gauge\n"
			"palisade_policy_apply_last_seconds %.6f\n",
			m->apply_last_seconds);
	pald_buf_puts(b, "# HELP palisade_policy_apply_seconds Duration of successful reloads (read, "
			 "compile, program).\n# TYPE palisade_policy_apply_seconds histogram\n");
	for (int i = 0; i < PALD_N_APPLY_BUCKETS; i++) {
		cum += m->apply_bucket[i];
		pald_buf_printf(b, "palisade_policy_apply_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
				(unsigned long long)cum);
	}
	pald_buf_printf(b,
			"palisade_policy_apply_seconds_bucket{le=\"+Inf\"} %llu\n"
			"palisade_policy_apply_seconds_sum %.6f\n"
			"palisade_policy_apply_seconds_count %llu\n",
			(unsigned long long)m->apply_count, m->apply_sum,
			(unsigned long long)m->apply_count);
	gauge(b, "palisade_interfaces_desired",
	      "Interfaces that should carry palisade's programs (endpoints and --interfaces).",
	      "gauge", (unsigned long long)m->interfaces_desired);
	gauge(b, "palisade_interfaces_attached", "Interfaces palisade's programs are attached to.",
	      "gauge", (unsigned long long)m->interfaces_attached);
}
