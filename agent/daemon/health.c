/* HTTP routes: liveness, readiness, metrics.
 *
 * /readyz is 200 only when the current policy is programmed on every interface it should be on.
 * After a bad policy write the agent keeps enforcing the last good generation but reports 503
 * "degraded: N policy errors, last good generation G still enforced; first: FILE:LINE:COL: ..."
 * so a rollout of broken policy stalls visibly instead of silently (docs/operations.md).
 * Every listener (--health, --metrics) answers all three paths.
 */
#include <string.h>

#include "agent.h"

bool pald_agent_ready(const struct pald_agent *a, char *reason, size_t len)
{
	const struct pald_policy *p = &a->pol;

	if (!pald_agent_k8s_ready(a, reason, len))
		return false;
	if (p->degraded && p->generation > 0) {
		snprintf(reason, len, "degraded: %zu policy errors, last good generation %llu still enforced; first: %s",
			 p->n_errors, (unsigned long long)p->generation, p->first_error);
		return false;
	}
	if (p->degraded) {
		snprintf(reason, len, "degraded: %zu policy errors, no policy applied yet; first: %s",
			 p->n_errors, p->first_error);
		return false;
	}
	if (!p->have_ir) {
		snprintf(reason, len, "not ready: no policy applied yet");
		return false;
	}
	if (a->be.ops && a->be.ops->unprogrammed) {
		char first[512] = "";
		size_t n = a->be.ops->unprogrammed(a->be.ctx, first, sizeof(first));

		if (n) {
			snprintf(reason, len, "not ready: %zu endpoint%s could not be programmed; first: %s",
				 n, n == 1 ? "" : "s", first);
			return false;
		}
	}
	if (a->ifaces_generation != p->generation || a->n_attached < 0 ||
	    (size_t)a->n_attached < a->n_ifaces) {
		const char *why = a->be.ops && a->be.ops->attach_error ?
					  a->be.ops->attach_error(a->be.ctx) : "";

		snprintf(reason, len, "not ready: generation %llu attached to %d of %zu interfaces%s%s",
			 (unsigned long long)p->generation, a->n_attached < 0 ? 0 : a->n_attached,
			 a->n_ifaces, why[0] ? "; last error: " : "", why);
		return false;
	}
	snprintf(reason, len, "ready: generation %llu on %zu interfaces",
		 (unsigned long long)p->generation, a->n_ifaces);
	if (a->k8s_on) {
		size_t n = strlen(reason);

		snprintf(reason + n, len - n, "; kubernetes datastore synced, %.0f s stale",
			 pal_k8s_datastore_staleness(&a->k8s, pald_now_ns()));
	}
	return true;
}

void pald_health_handler(void *ctx, const struct pald_http_req *req, int *status,
			 const char **content_type, struct pal_strbuf *body)
{
	struct pald_agent *a = ctx;

	if (strcmp(req->path, "/livez") == 0) {
		*status = 200;
		pal_strbuf_puts(body, "ok\n");
	} else if (strcmp(req->path, "/readyz") == 0) {
		char reason[768];

		*status = pald_agent_ready(a, reason, sizeof(reason)) ? 200 : 503;
		pal_strbuf_printf(body, "%s\n", reason);
	} else if (strcmp(req->path, "/metrics") == 0) {
		*status = 200;
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		a->metrics.now_unix = pald_now_unix();
		pald_metrics_render(&a->metrics, body);
		if (a->be.ops->render_metrics)
			a->be.ops->render_metrics(a->be.ctx, body);
		pald_agent_k8s_render_metrics(a, body);
		if (body->oom) {
			*status = 500;
			body->len = 0;
		}
	} else {
		*status = 404;
		pal_strbuf_puts(body, "not found: /livez, /readyz, /metrics\n");
	}
}
