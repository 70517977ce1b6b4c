/* The agent's modes and the event loop wiring (see agent.h). */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "tc_watch.h"

static bool same_ifaces(const struct pald_iface *a, size_t na, const struct pald_iface *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || a[i].ifindex != b[i].ifindex ||
		    a[i].role != b[i].role || a[i].ep != b[i].ep)
			return false;
	return true;
}

static bool contains(const struct pald_iface *v, size_t n, const struct pald_iface *x)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, x->name) == 0 && v[i].ifindex == x->ifindex)
			return true;
	return false;
}

/* Some desired interface has its policy but not the workload guard's witness: its traffic is
 * dropped until a sync attaches it again, so the sync must run even for an unchanged set. */
static bool any_unwitnessed(const struct pald_agent *a, const struct pald_iface *v, size_t n)
{
	for (size_t i = 0; a->be.ops->unwitnessed && i < n; i++)
		if (a->be.ops->unwitnessed(a->be.ctx, v[i].ifindex))
			return true;
	return false;
}

static const char *role_name(enum pald_iface_role r)
{
	return r == PALD_IFACE_HOST ? "host" : r == PALD_IFACE_WORKLOAD ? "workload" : "forward";
}

void pald_agent_sync_interfaces(struct pald_agent *a, bool force)
{
	struct pald_iface *v = NULL;
	size_t n = 0;
	int attached;

	if (!a->pol.have_ir || !a->links_open)
		return; /* nothing to attach before the first good policy */
	if (pald_links_desired(&a->links, &a->pol.ir, &a->cfg->iface_globs, &v, &n)) {
		pald_log(PALD_LOG_ERROR, "out of memory computing interfaces");
		return;
	}
	if (!force && same_ifaces(v, n, a->ifaces, a->n_ifaces) && !any_unwitnessed(a, v, n)) {
		free(v);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!contains(a->ifaces, a->n_ifaces, &v[i]))
			pald_log(PALD_LOG_INFO, "interface to police", PALD_S("iface", v[i].name),
				 PALD_I("ifindex", v[i].ifindex), PALD_S("role", role_name(v[i].role)),
				 PALD_S("endpoint", v[i].ep ? v[i].ep->name : NULL));
	for (size_t i = 0; i < a->n_ifaces; i++)
		if (!contains(v, n, &a->ifaces[i]))
			pald_log(PALD_LOG_INFO, "interface no longer policed",
				 PALD_S("iface", a->ifaces[i].name), PALD_I("ifindex", a->ifaces[i].ifindex));
	attached = a->be.ops->sync_interfaces(a->be.ctx, v, n);
	if (attached < 0 || (size_t)attached < n)
		pald_log(PALD_LOG_ERROR, "not every interface could be attached",
			 PALD_I("attached", attached < 0 ? 0 : attached), PALD_I("wanted", n));
	free(a->ifaces);
	a->ifaces = v;
	a->n_ifaces = n;
	a->n_attached = attached;
	a->ifaces_generation = a->pol.generation;
	a->metrics.interfaces_desired = n;
	a->metrics.interfaces_attached = attached < 0 ? 0 : (uint64_t)attached;
}

static int reload_once(struct pald_agent *a)
{
	int rc;

	if (a->watch.fd > 0)
		pald_watch_refresh(&a->watch); /* before reading: see watch.h */
	rc = pald_policy_reload(&a->pol, a->cfg, &a->be, &a->metrics);
	if (rc == PALD_RELOAD_APPLIED) {
		pald_agent_sync_interfaces(a, true);
		pald_agent_k8s_applied(a);
		/* Enforced (and logged): now what only reports read. */
		if (a->be.ops->finish_apply)
			a->be.ops->finish_apply(a->be.ctx);
		pald_notify_applied(&a->notify, a->pol.generation,
				    a->n_attached < 0 ? 0 : (size_t)a->n_attached, a->n_ifaces);
	} else {
		pald_notify_degraded(&a->notify, a->pol.n_errors, a->pol.generation);
	}
	return rc;
}

static int reload(struct pald_agent *a)
{
	int rc;

	if (a->k8s_on && !pal_k8s_datastore_synced(&a->k8s))
		return PALD_RELOAD_POLICY_ERRORS; /* nothing until every resource was listed once */
	do
		rc = reload_once(a);
	while (pald_agent_k8s_reload_again(a, rc));
	return rc;
}

static bool open_links(struct pald_agent *a)
{
	if (pald_links_open(&a->links))
		return false;
	a->links_open = true;
	return true;
}

static void close_common(struct pald_agent *a)
{
	if (a->links_open)
		pald_links_close(&a->links);
	a->links_open = false;
	free(a->ifaces);
	a->ifaces = NULL;
	pald_policy_free(&a->pol);
	pald_backend_close(&a->be);
}

int pald_run_once(struct pald_agent *a)
{
	int rc, code = 0;

	if (!open_links(a)) {
		close_common(a);
		return 2;
	}
	rc = reload(a);
	if (rc != PALD_RELOAD_APPLIED) {
		pald_log(PALD_LOG_ERROR, "nothing changed", PALD_I("errors", a->pol.n_errors));
		code = 1;
	} else if (a->n_attached < 0 || (size_t)a->n_attached < a->n_ifaces) {
		code = 1;
	}
	close_common(a);
	return code;
}

int pald_run_uninstall(struct pald_agent *a)
{
	int rc = a->be.ops->uninstall(a->be.ctx);

	if (rc)
		pald_log(PALD_LOG_ERROR, "uninstall failed", PALD_S("error", strerror(-rc)));
	else
		pald_log(PALD_LOG_INFO, "uninstalled: programs detached, pins and rules removed",
			 PALD_S("bpffs", a->cfg->bpffs));
	if (!rc)
		pald_agent_k8s_uninstall(a->cfg);
	close_common(a);
	return rc ? 1 : 0;
}

/* --- the event loop ------------------------------------------------------------------------ */

static void arm_timer(struct pald_agent *a)
{
	uint64_t when = pald_debounce_deadline(&a->debounce);
	struct itimerspec its = { 0 };

	if (when) {
		its.it_value.tv_sec = (time_t)(when / 1000000000ull);
		its.it_value.tv_nsec = (long)(when % 1000000000ull);
	}
	timerfd_settime(a->timer_w.fd, TFD_TIMER_ABSTIME, &its, NULL); /* zero disarms */
}

/* A change arrived: reload after the debounce. */
static void schedule_reload(struct pald_agent *a)
{
	pald_debounce_event(&a->debounce, pald_now_ns());
	arm_timer(a);
}

static void on_watch(struct pald_watcher *w, uint32_t events)
{
	struct pald_agent *a = w->data;
	int rc = pald_watch_handle(&a->watch);
	(void)events;

	if (rc < 0) {
		pald_log(PALD_LOG_ERROR, "inotify read failed", PALD_S("error", strerror(-rc)));
		return;
	}
	if (rc > 0)
		schedule_reload(a);
}

static void on_k8s_change(void *a)
{
	schedule_reload(a);
}

static void on_timer(struct pald_watcher *w, uint32_t events)
{
	struct pald_agent *a = w->data;
	uint64_t expirations;
	(void)events;

	if (read(w->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	if (pald_debounce_fire(&a->debounce, pald_now_ns()))
		reload(a);
	arm_timer(a);
}

/* A link deleted since the last look was one the agent polices: it may be back already (moved
 * to another namespace and back: same name and ifindex) without palisade's programs. */
static bool tracked_link_deleted(struct pald_agent *a)
{
	bool hit = false;

	for (size_t i = 0; i < a->links.n_deleted && !hit; i++)
		for (size_t j = 0; j < a->n_ifaces && !hit; j++)
			hit = a->ifaces[j].ifindex == a->links.deleted[i];
	a->links.n_deleted = 0;
	return hit;
}

static void on_links(struct pald_watcher *w, uint32_t events)
{
	struct pald_agent *a = w->data;
	bool deleted;
	(void)events;

	pald_links_handle(&a->links);
	deleted = tracked_link_deleted(a);
	/* A pod's interface found by its route: a new veth or route may name one now. */
	if (a->links.changed && a->k8s_on && a->cfg->k8s_iface_by_route)
		pal_k8s_datastore_reconvert(&a->k8s);
	/* what the sync counts as attached must be true first */
	if (deleted && a->be.ops->verify_attached)
		a->be.ops->verify_attached(a->be.ctx);
	if (a->links.changed || deleted)
		pald_agent_sync_interfaces(a, deleted);
}

/* Another tool may remove palisade's programs from a live device, and a failed attach is not
 * retried by any event: both are looked for here. */
#define ATTACH_VERIFY_INTERVAL_MS 2000
#define ATTACH_RETRY_INTERVAL_MS 10000

static void on_tc_change(struct pald_watcher *w, uint32_t events)
{
	struct pald_agent *a = w->data;
	(void)events;

	if (pald_tc_watch_read(w->fd))
		a->next_attach_verify_ms = 0; /* checked in this loop iteration (check_attachments) */
}

static void check_attachments(struct pald_agent *a, uint64_t now_ms)
{
	bool again = false;

	if (!a->pol.have_ir || !a->links_open)
		return;
	if (a->be.ops->verify_attached && now_ms >= a->next_attach_verify_ms) {
		a->next_attach_verify_ms = now_ms + ATTACH_VERIFY_INTERVAL_MS;
		again = a->be.ops->verify_attached(a->be.ctx) > 0;
	}
	if (now_ms >= a->next_attach_retry_ms) {
		a->next_attach_retry_ms = now_ms + ATTACH_RETRY_INTERVAL_MS;
		if (a->n_attached < 0 || (size_t)a->n_attached < a->n_ifaces) {
			pald_log(PALD_LOG_DEBUG, "retrying the interfaces not attached",
				 PALD_I("attached", a->n_attached < 0 ? 0 : a->n_attached),
				 PALD_I("wanted", a->n_ifaces));
			again = true;
		}
	}
	if (again)
		pald_agent_sync_interfaces(a, true);
}

static void on_signal(struct pald_watcher *w, uint32_t events)
{
	struct pald_agent *a = w->data;
	struct signalfd_siginfo si;
	(void)events;

	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			pald_log(PALD_LOG_INFO, "SIGHUP: re-reading policy");
			a->watch.rescan = true;
			reload(a);
		} else {
			pald_log(PALD_LOG_INFO, "stopping; the datapath keeps enforcing",
				 PALD_S("signal", strsignal((int)si.ssi_signo)),
				 PALD_I("generation", a->pol.generation));
			pald_notify_stopping(&a->notify);
			a->loop.stop = true;
		}
	}
}

/* Opens the HTTP listener `name` (health or metrics) on addr; *on says it is open. */
static int listen_http(struct pald_agent *a, struct pald_http_server *srv, const char *name,
		       const struct pald_listen_addr *addr, bool *on)
{
	int rc = pald_http_open(srv, &a->loop, name, &addr->sa, addr->len, pald_health_handler, a);

	if (rc) {
		pald_log(PALD_LOG_ERROR, "cannot listen", PALD_S(name, addr->text),
			 PALD_S("error", strerror(-rc)));
		return rc;
	}
	*on = true;
	return 0;
}

static int open_http(struct pald_agent *a)
{
	const struct pald_listen_addr *h = &a->cfg->health, *m = &a->cfg->metrics;
	int rc;

	if (h->set && (rc = listen_http(a, &a->health, "health", h, &a->health_on)))
		return rc;
	/* The same address for both: one listener serves every path. */
	if (m->set && !(h->set && h->len == m->len && memcmp(&h->sa, &m->sa, h->len) == 0))
		return listen_http(a, &a->metrics_srv, "metrics", m, &a->metrics_on);
	return 0;
}

int pald_run_daemon(struct pald_agent *a)
{
	sigset_t mask;
	int rc, code = 2;
	uint64_t next_event_tick_ms = 0;

	a->sig_w.fd = a->timer_w.fd = a->watch.fd = a->tc_w.fd = -1;
	pald_debounce_init(&a->debounce,
			   a->cfg->datastore == PALD_DATASTORE_KUBERNETES ? PALD_DEBOUNCE_K8S_QUIET_NS :
									    PALD_DEBOUNCE_QUIET_NS,
			   PALD_DEBOUNCE_MAX_NS);
	if ((rc = pald_loop_init(&a->loop))) {
		pald_log(PALD_LOG_ERROR, "epoll", PALD_S("error", strerror(-rc)));
		goto out;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sig_w = (struct pald_watcher){ signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC), on_signal, a };
	a->timer_w = (struct pald_watcher){ timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
					    on_timer, a };
	if (a->sig_w.fd < 0 || a->timer_w.fd < 0 || pald_loop_add(&a->loop, &a->sig_w, EPOLLIN) ||
	    pald_loop_add(&a->loop, &a->timer_w, EPOLLIN)) {
		pald_log(PALD_LOG_ERROR, "signalfd/timerfd", PALD_S("error", strerror(errno)));
		goto out;
	}

	/* Watch before the first read, so a change during startup is not missed. */
	if (a->cfg->datastore == PALD_DATASTORE_KUBERNETES) {
		if (pald_agent_k8s_open(a, on_k8s_change))
			goto out;
	} else {
		if ((rc = pald_watch_open(&a->watch, a->cfg->policy_dirs.v, a->cfg->policy_dirs.n))) {
			pald_log(PALD_LOG_ERROR, "inotify", PALD_S("error", strerror(-rc)));
			goto out;
		}
		a->watch_w = (struct pald_watcher){ a->watch.fd, on_watch, a };
		if (pald_loop_add(&a->loop, &a->watch_w, EPOLLIN))
			goto out;
	}

	if (!open_links(a))
		goto out;
	/* A cali* veth (Calico's naming), or one with the CNI's prefix (route naming: its pod's
	 * route may come after it), is a pod's even before its pod is known (links.h). */
	if (a->k8s_on)
		a->links.workload_prefix = pald_config_workload_prefix(a->cfg);
	a->links_w = (struct pald_watcher){ pald_links_fd(&a->links), on_links, a };
	if (pald_loop_add(&a->loop, &a->links_w, EPOLLIN))
		goto out;
	/* without it the periodic check still finds removed programs, only later */
	a->tc_w = (struct pald_watcher){ pald_tc_watch_open(), on_tc_change, a };
	if (a->tc_w.fd < 0 || pald_loop_add(&a->loop, &a->tc_w, EPOLLIN))
		pald_log(PALD_LOG_WARN, "cannot watch tc changes: removed programs are found by the "
			 "periodic check only", PALD_S("error", strerror(a->tc_w.fd < 0 ? -a->tc_w.fd : errno)));

	if (open_http(a))
		goto out;
	if (pald_event_hub_open(&a->events, &a->loop, &a->be, &a->metrics, a->cfg->events_socket,
				a->cfg->events_socket_gid))
		goto out;
	a->events_on = true;

	reload(a); /* a bad initial policy: run degraded and wait for a fix */
	pald_log(PALD_LOG_INFO, "running", PALD_I("generation", a->pol.generation),
		 PALD_I("interfaces", a->n_ifaces));

	while (!a->loop.stop) {
		if ((rc = pald_loop_run_once(&a->loop, 1000))) {
			pald_log(PALD_LOG_ERROR, "event loop", PALD_S("error", strerror(-rc)));
			goto out;
		}
		uint64_t now = pald_now_ms();

		if (now >= next_event_tick_ms) {
			pald_event_hub_tick(&a->events);
			next_event_tick_ms = now + 1000;
		}
		if (a->be.ops->tick)
			a->be.ops->tick(a->be.ctx, now);
		check_attachments(a, now);
		if (a->health_on)
			pald_http_expire(&a->health, now);
		if (a->metrics_on)
			pald_http_expire(&a->metrics_srv, now);
		if (a->k8s_on)
			pald_agent_k8s_publish(a, false);
	}
	code = 0;
out:
	if (a->events_on) {
		pald_event_hub_tick(&a->events); /* the last suppressed count */
		pald_event_hub_close(&a->events);
	}
	if (a->health_on)
		pald_http_close(&a->health);
	if (a->metrics_on)
		pald_http_close(&a->metrics_srv);
	if (a->watch.fd >= 0)
		pald_watch_close(&a->watch);
	pald_agent_k8s_close(a);
	if (a->sig_w.fd >= 0)
		close(a->sig_w.fd);
	if (a->timer_w.fd >= 0)
		close(a->timer_w.fd);
	if (a->tc_w.fd >= 0)
		close(a->tc_w.fd);
	close_common(a);
	pald_loop_close(&a->loop);
	return code;
}
