/* The running agent: every component and the glue between them.
 *
 *   signalfd ─ SIGHUP: reload now; SIGTERM/SIGINT: stop (the datapath keeps enforcing)
 *   inotify  ─ debounce (timerfd) ─► reload ─► backend.apply ─► sync interfaces
 *   netlink  ─ link/address events ─────────────────────────► sync interfaces
 *   HTTP     ─ /livez /readyz /metrics (state read from here)
 *   events   ─ the datapath's ring buffer ─► log, event socket (polctl monitor)
 */
#ifndef PALD_AGENT_H
#define PALD_AGENT_H

#include <stdbool.h>

#include "backend.h"
#include "datastore.h"
#include "cfg.h"
#include "debounce.h"
#include "event_hub.h"
#include "httpd.h"
#include "links.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "policy_source.h"
#include "watch.h"

struct pald_agent {
	struct pald_config *cfg;
	struct pald_backend be;
	struct pald_policy pol;
	struct pald_metrics metrics;
	struct pald_loop loop;
	struct pald_watch watch;
	struct pald_watcher watch_w;
	struct pald_links links;
	bool links_open;
	struct pald_watcher links_w;
	struct pald_watcher sig_w;
	struct pald_watcher timer_w;
	struct pald_debounce debounce;
	struct pald_http_server health, metrics_srv;
	bool health_on, metrics_on;
	/* The interface set last given to the backend and how many it attached. */
	struct pald_iface *ifaces;
	size_t n_ifaces;
	int n_attached;
	uint64_t ifaces_generation; /* policy generation of that sync */
	/* when to check the attached interfaces' programs / retry the unattached ones (agent.c) */
	uint64_t next_attach_verify_ms, next_attach_retry_ms;
	struct pald_watcher tc_w; /* tc qdisc/filter deletions (tc_watch.h): check at once */
	struct pald_notify notify;  /* systemd: READY=1 after the first apply */
	/* --datastore kubernetes (agent_k8s.c) */
	struct pal_k8s_datastore k8s;
	bool k8s_on;
	uint64_t k8s_status_written_ns;
	uint64_t k8s_loaded_change_ns; /* the oldest watch event the last load included */
	struct pald_event_hub events; /* datapath events: log lines, polctl monitor clients */
	bool events_on;
};

/* Modes; each returns the process exit code. The bpffs lock is held by the caller. */
int pald_run_once(struct pald_agent *a);
int pald_run_uninstall(struct pald_agent *a);
int pald_run_daemon(struct pald_agent *a);

/* Recomputes the interface set and hands it to the backend when it changed (or force). */
void pald_agent_sync_interfaces(struct pald_agent *a, bool force);

/* The Kubernetes datastore (agent_k8s.c): opens it (policy then comes from it; on_change(a) is
 * called for every change, so agent_k8s.c never calls back into agent.c), the readiness verdict
 * for it, its status for polctl. */
int pald_agent_k8s_open(struct pald_agent *a, void (*on_change)(void *a));
bool pald_agent_k8s_ready(const struct pald_agent *a, char *reason, size_t len);
void pald_agent_k8s_publish(struct pald_agent *a, bool force);
/* A reload applied: logs how long after its oldest watch event (and publishes the status). */
void pald_agent_k8s_applied(struct pald_agent *a);
/* After a reload that returned rc: true when another reload should run at once (narrowing down
 * the objects that do not fit the datapath, pal_k8s_datastore_no_room). */
bool pald_agent_k8s_reload_again(struct pald_agent *a, int rc);
void pald_agent_k8s_render_metrics(const struct pald_agent *a, struct pal_strbuf *b);
void pald_agent_k8s_close(struct pald_agent *a);
/* --uninstall: removes the state file (k8s_state.h) when it describes the datapath just removed. */
void pald_agent_k8s_uninstall(const struct pald_config *c);

/* The HTTP routes (health.c): /livez, /readyz, /metrics. */
void pald_health_handler(void *ctx, const struct pald_http_req *req, int *status,
			 const char **content_type, struct pal_strbuf *body);
/* The /readyz verdict: true when ready; reason gets a one-line explanation either way. */
bool pald_agent_ready(const struct pald_agent *a, char *reason, size_t len);

#endif
