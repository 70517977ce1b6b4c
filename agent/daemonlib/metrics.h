/* The agent's own Prometheus metrics (control plane). Datapath counters (rule hits, drops by
 * reason, map fill) are appended by the backend's render_metrics callback (backend.h).
 * Pure: rendering into a pal_strbuf (unit-tested).
 */
#ifndef PALD_METRICS_H
#define PALD_METRICS_H

#include <stdint.h>

#include "http.h"

/* Bucket upper bounds of palisade_policy_apply_seconds, in seconds. */
#define PALD_APPLY_BUCKETS { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
#define PALD_N_APPLY_BUCKETS 13

struct pald_metrics {
	uint64_t generation;      /* of the policy in force; 0 = none yet */
	uint64_t policy_errors;   /* errors in the files at the last reload; 0 after a good one */
	uint64_t reloads_ok, reloads_failed;
	double apply_last_seconds; /* the last successful reload: read, compile, program */
	uint64_t apply_bucket[PALD_N_APPLY_BUCKETS]; /* non-cumulative counts; rendered cumulative */
	uint64_t apply_count;
	double apply_sum;
	uint64_t interfaces_desired, interfaces_attached;
	int degraded; /* 1 when the last reload failed and an older generation is enforced */
	/* Wall-clock times (Unix seconds, 0 = never): the last successful apply, the last good read
	 * of the datastore (the policy files), and now (set just before rendering: staleness). */
	double last_apply_unix, last_load_unix, now_unix;
	/* Datapath events the agent read (event_hub.h), by type; denies written to the log and
	 * not written because of the log's rate limit; clients of the event socket and the events
	 * they missed (their queue was full). Events the datapath did not send are its metrics. */
	uint64_t events_deny, events_log, deny_log_lines, deny_log_suppressed;
	uint64_t events_clients, events_client_dropped;
};

void pald_metrics_observe_apply(struct pald_metrics *m, double seconds);
/* Prometheus text exposition format 0.0.4. */
void pald_metrics_render(const struct pald_metrics *m, struct pal_strbuf *out);

#endif
