/* Prometheus rendering of the control-plane metrics (see metrics.h). */
#include "metrics.h"

#include "palisade/version.h"

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

static void gauge(struct pal_strbuf *b, const char *name, const char *help, const char *type,
		    unsigned long long v)
{
	pal_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

static void gauge_f(struct pal_strbuf *b, const char *name, const char *help, double v)
{
	pal_strbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.3f\n", name, help, name, name, v);
}

/* A counter family with one label and two series. */
static void counter2(struct pal_strbuf *b, const char *name, const char *help, const char *label,
		       const char *v1, unsigned long long n1, const char *v2, unsigned long long n2)
{
	pal_strbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s{%s=\"%s\"} %llu\n%s{%s=\"%s\"} %llu\n",
			  name, help, name, name, label, v1, n1, name, label, v2, n2);
}

static void render_events(const struct pald_metrics *m, struct pal_strbuf *b)
{
	counter2(b, "palisade_events_total",
		 "Datapath events (denies, Log rule hits) the agent read, by type.", "type", "deny",
		 m->events_deny, "log", m->events_log);
	gauge(b, "palisade_deny_log_lines_total", "Deny events written to the agent's log.",
	      "counter", m->deny_log_lines);
	gauge(b, "palisade_deny_log_lines_suppressed_total",
	      "Deny events read but not written to the log because of its rate limit.", "counter",
	      m->deny_log_suppressed);
	gauge(b, "palisade_event_clients", "polctl monitor clients connected to the event socket.",
	      "gauge", m->events_clients);
	gauge(b, "palisade_event_client_dropped_total",
	      "Events not sent to an event socket client whose queue was full.", "counter",
	      m->events_client_dropped);
}

void pald_metrics_render(const struct pald_metrics *m, struct pal_strbuf *b)
{
	uint64_t cum = 0;

	pal_strbuf_printf(b, "# HELP palisade_build_info The agent's version.\n"
			     "# TYPE palisade_build_info gauge\n"
			     "palisade_build_info{version=\"%s\"} 1\n", PALISADE_VERSION);
	gauge_f(b, "palisade_last_apply_success_timestamp_seconds",
		"When the last policy apply succeeded (Unix time; 0 = never).", m->last_apply_unix);
	gauge_f(b, "palisade_datastore_staleness_seconds",
		"Seconds since the datastore (the policy files) was last read successfully (0 = "
		"never read).",
		m->last_load_unix > 0 && m->now_unix > m->last_load_unix ?
			m->now_unix - m->last_load_unix : 0);
	gauge(b, "palisade_policy_generation",
	      "Generation of the policy in force; increments on every successful apply.", "gauge",
	      (unsigned long long)m->generation);
	gauge(b, "palisade_policy_errors",
	      "Errors found in the policy files at the last reload (0 after a good reload).",
	      "gauge", (unsigned long long)m->policy_errors);
	gauge(b, "palisade_policy_degraded",
	      "1 when the last reload failed and the last good generation is still enforced.",
	      "gauge", (unsigned long long)m->degraded);
	pal_strbuf_printf(b,
			  "# HELP palisade_policy_reloads_total Policy reloads by result.\n"
			  "# TYPE palisade_policy_reloads_total counter\n"
			  "palisade_policy_reloads_total{result=\"ok\"} %llu\n"
			  "palisade_policy_reloads_total{result=\"error\"} %llu\n",
			  (unsigned long long)m->reloads_ok, (unsigned long long)m->reloads_failed);
	pal_strbuf_printf(b,
			  "# HELP palisade_policy_apply_last_seconds Duration of the last successful "
			  "reload (read, compile, program).\n"
			  "# TYPE palisade_policy_apply_last_seconds gauge\n"
			  "palisade_policy_apply_last_seconds %.6f\n",
			  m->apply_last_seconds);
	pal_strbuf_puts(b, "# HELP palisade_policy_apply_seconds Duration of successful reloads (read, "
			   "compile, program).\n# TYPE palisade_policy_apply_seconds histogram\n");
	for (int i = 0; i < PALD_N_APPLY_BUCKETS; i++) {
		cum += m->apply_bucket[i];
		pal_strbuf_printf(b, "palisade_policy_apply_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
				  (unsigned long long)cum);
	}
	pal_strbuf_printf(b,
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
	render_events(m, b);
}
