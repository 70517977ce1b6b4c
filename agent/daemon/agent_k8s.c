/* palisaded with --datastore kubernetes: the datastore's place in the agent (see agent.h).
 *
 * Changes from the API arrive through the datastore's on_change and go through the same debounce
 * as file changes, with a 2 ms quiet instead of 15 (debounce.h): a policy change is enforced
 * within the quiet (at most the 50 ms cap in a stream of events) plus the apply.
 * /readyz is 503 until every resource was listed once, while an object is rejected, and while the
 * API server has been out of reach for longer than PALD_K8S_STALE_S (the last state stays
 * enforced all along). The status (resources, bad objects, staleness) is published for polctl
 * beside the pins.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "agent.h"
#include "capacity.h"
#include "k8s_state.h"
#include "log.h"
#include "meta.h"

#define PALD_K8S_STALE_S 30.0
#define PALD_K8S_STATUS_EVERY_NS (1000ull * 1000000ull)

static int load(void *ctx, struct pal_model *m, struct pal_diags *diags)
{
	struct pald_agent *a = ctx;

	a->pol.have_match_key = true;
	return pal_k8s_datastore_load(&a->k8s, m, diags, &a->k8s_loaded_change_ns,
				      a->pol.match_key);
}

/* The compiler rejected the model: set aside the objects it names, if any, and load again. */
static bool set_aside(void *ctx, const struct pal_diags *diags)
{
	struct pald_agent *a = ctx;

	return pal_k8s_datastore_set_aside(&a->k8s, diags) > 0;
}

void pald_agent_k8s_applied(struct pald_agent *a)
{
	if (!a->k8s_on)
		return;
	pal_k8s_datastore_commit(&a->k8s);
	if (!a->k8s_loaded_change_ns)
		return;
	pald_log(PALD_LOG_INFO, "kubernetes: changes enforced", PALD_I("generation", a->pol.generation),
		 PALD_F("seconds_since_event",
			(double)(pald_now_ns() - a->k8s_loaded_change_ns) / 1e9));
	a->k8s_loaded_change_ns = 0;
	pald_agent_k8s_publish(a, true);
	/* A reload builds and frees a model of every object: hand the freed heap back, or the
	 * agent's RSS keeps the peak of the largest reload. */
	malloc_trim(0);
}

/* An apply that failed for want of room: a map full (its message names it) or memory. */
static bool failed_for_room(const struct pald_agent *a, int rc)
{
	return rc < 0 && (rc == -ENOSPC || rc == -E2BIG || rc == -ENOMEM ||
			  pald_capacity_in_message(a->pol.first_error));
}

bool pald_agent_k8s_reload_again(struct pald_agent *a, int rc)
{
	char why[256];

	if (!a->k8s_on || rc == PALD_RELOAD_APPLIED) /* an applied try was committed (applied) */
		return a->k8s_on && pal_k8s_datastore_narrowing(&a->k8s);
	if (!failed_for_room(a, rc)) {
		pal_k8s_datastore_narrow_stop(&a->k8s);
		return false;
	}
	pald_capacity_what_did_not_fit(a->pol.first_error, why, sizeof(why));
	return pal_k8s_datastore_no_room(&a->k8s, why);
}

static int iface_for_addr(void *ctx, const char *addr, char *out, size_t outlen)
{
	struct pald_agent *a = ctx;

	return a->links_open ? pald_links_route_iface(&a->links, addr, out, outlen) : -ENOENT;
}

/* The pin directory as one spelling: "//", "." and ".." resolved and no trailing "/" (lexically:
 * --uninstall asks after the directory is gone), so that every spelling of one directory finds
 * one state file. */
static void canonical_dir(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = in; *p;) {
		size_t seg = strcspn(p, "/");

		if (seg == 2 && !strncmp(p, "..", 2)) {
			while (n && out[n - 1] != '/')
				n--;
			if (n)
				n--; /* the "/" before the dropped component */
		} else if (seg && !(seg == 1 && *p == '.') && n + 1 + seg < len) {
			out[n++] = '/';
			memcpy(out + n, p, seg);
			n += seg;
		}
		p += seg + (p[seg] == '/');
	}
	if (!n && len > 1)
		out[n++] = '/';
	out[n < len ? n : len - 1] = '\0';
}

/* The state file lives in a directory of its own (PAL_K8S_STATE_DIR, made 0700 by the agent: no
 * one else can put a name in it) in the agent's run directory, that of its event socket (default
 * /run/palisade, a tmpfs that lasts as long as the pinned datapath: until reboot). Its name holds
 * a digest of the pin directory (bpffs, canonical_dir's spelling, also the file's header), so two
 * agents of one run directory (always so with --events-socket none) each keep their own. */
static void state_file_path(const struct pald_config *c, char *out, size_t len, char *bpffs,
			    size_t bpffs_len)
{
	const char *sock = c->events_socket ? c->events_socket : PALD_DEFAULT_EVENTS_SOCKET;
	const char *slash = strrchr(sock, '/');
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[PAL_K8S_STATE_TAG_LEN + 1];
	struct sha256_ctx h;

	canonical_dir(c->bpffs, bpffs, bpffs_len);
	sha256_init(&h);
	sha256_update(&h, strlen(bpffs), (const uint8_t *)bpffs);
	sha256_digest(&h, sizeof(digest), digest);
	for (size_t i = 0; i < PAL_K8S_STATE_TAG_LEN / 2; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	snprintf(out, len, "%.*s/%s/" PAL_K8S_STATE_FILE_FMT, slash ? (int)(slash - sock) : 1,
		 slash ? sock : ".", PAL_K8S_STATE_DIR, hex);
}

int pald_agent_k8s_open(struct pald_agent *a, void (*on_change)(void *a))
{
	const struct pald_config *c = a->cfg;
	struct pal_k8s_datastore_cfg dc = {
		.kubeconfig = c->kubeconfig,
		.node = c->node,
		.iface_by_route = c->k8s_iface_by_route,
		.auto_host_endpoints = c->auto_host_endpoints,
		.iface_for_addr = iface_for_addr,
		.iface_ctx = a,
	};
	const char *resync = getenv("PALISADED_K8S_RESYNC_MS"); /* test-only, operations.md */
	char err[512] = "", state[4096], bpffs[4096];
	int rc;

	state_file_path(c, state, sizeof(state), bpffs, sizeof(bpffs));
	dc.state_file = state;
	dc.bpffs = bpffs;
	dc.resync_ms = resync ? strtoull(resync, NULL, 10) : (uint64_t)c->k8s_relist_s * 1000;
	dc.discovery_ms = (uint64_t)c->k8s_discovery_s * 1000;
	rc = pal_k8s_datastore_open(&a->k8s, &dc, &a->loop, on_change, a, err, sizeof(err));

	if (rc) {
		pald_log(PALD_LOG_ERROR, "kubernetes datastore", PALD_S("error", err));
		return rc;
	}
	a->k8s_on = true;
	a->pol.load = load;
	a->pol.set_aside = set_aside;
	a->pol.load_ctx = a;
	a->pol.load_validates = true; /* pal_k8s_datastore_load validates what it loads */
	return 0;
}

bool pald_agent_k8s_ready(const struct pald_agent *a, char *reason, size_t len)
{
	double stale;
	char first[400];
	size_t bad;

	if (!a->k8s_on)
		return true;
	if (!pal_k8s_datastore_synced(&a->k8s)) {
		snprintf(reason, len, "not ready: kubernetes datastore not synced yet (%.0f s); "
				      "nothing applied from it",
			 pal_k8s_datastore_staleness(&a->k8s, pald_now_ns()));
		return false;
	}
	stale = pal_k8s_datastore_staleness(&a->k8s, pald_now_ns());
	if (stale > PALD_K8S_STALE_S) {
		snprintf(reason, len, "stale: kubernetes API server out of reach for %.0f s; the last "
				      "state stays enforced",
			 stale);
		return false;
	}
	bad = pal_k8s_datastore_first_bad(&a->k8s, first, sizeof(first));
	if (bad) {
		snprintf(reason, len, "degraded: %zu kubernetes object%s rejected, last good versions "
				      "enforced; first: %s",
			 bad, bad == 1 ? "" : "s", first);
		return false;
	}
	return true;
}

/* The status document for polctl: written when asked (force) or once a second. */
void pald_agent_k8s_publish(struct pald_agent *a, bool force)
{
	uint64_t now = pald_now_ns();
	json_t *st;
	char *text;
	int rc;

	if (!a->k8s_on || (!force && now - a->k8s_status_written_ns < PALD_K8S_STATUS_EVERY_NS))
		return;
	a->k8s_status_written_ns = now;
	st = pal_k8s_datastore_status(&a->k8s, now);
	if (!st)
		return;
	json_object_set_new(st, "written_at", json_integer((json_int_t)time(NULL)));
	text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(st);
	if (!text)
		return;
	if (strcmp(a->cfg->backend, "bpf") == 0 &&
	    (rc = pal_meta_store_named(a->cfg->bpffs, PAL_DATASTORE_MAP_NAME, text, strlen(text))))
		pald_log(PALD_LOG_WARN, "cannot publish the datastore status",
			 PALD_S("error", strerror(-rc)));
	free(text);
}

void pald_agent_k8s_render_metrics(const struct pald_agent *a, struct pal_strbuf *b)
{
	const struct pal_k8s_datastore *ds = &a->k8s;

	if (!a->k8s_on)
		return;
	pal_strbuf_printf(b,
			  "# HELP palisade_k8s_synced 1 once every watched resource has been listed.\n"
			  "# TYPE palisade_k8s_synced gauge\npalisade_k8s_synced %d\n"
			  "# HELP palisade_k8s_staleness_seconds How far the state may be behind the API "
			  "server (0 while every watch is established).\n"
			  "# TYPE palisade_k8s_staleness_seconds gauge\npalisade_k8s_staleness_seconds %g\n"
			  "# HELP palisade_k8s_objects_rejected Objects whose latest version does not "
			  "convert or load (their last good version is in force).\n"
			  "# TYPE palisade_k8s_objects_rejected gauge\npalisade_k8s_objects_rejected %llu\n"
			  "# HELP palisade_k8s_conversions_failed_total Object versions rejected.\n"
			  "# TYPE palisade_k8s_conversions_failed_total counter\n"
			  "palisade_k8s_conversions_failed_total %llu\n",
			  pal_k8s_datastore_synced(ds) ? 1 : 0,
			  pal_k8s_datastore_staleness(ds, pald_now_ns()), (unsigned long long)ds->n_bad,
			  (unsigned long long)ds->conversions_failed);
	if (ds->state_file)
		pal_strbuf_printf(b,
				  "# HELP palisade_k8s_state_file_write_failures_total Writes of the state "
				  "file (the last good versions kept across restarts) that failed.\n"
				  "# TYPE palisade_k8s_state_file_write_failures_total counter\n"
				  "palisade_k8s_state_file_write_failures_total %llu\n"
				  "# HELP palisade_k8s_state_file_last_write_timestamp_seconds When the state "
				  "file was last written (0: not yet).\n"
				  "# TYPE palisade_k8s_state_file_last_write_timestamp_seconds gauge\n"
				  "palisade_k8s_state_file_last_write_timestamp_seconds %lld\n",
				  (unsigned long long)ds->state_write_failures,
				  (long long)ds->state_written_at);
	pal_strbuf_puts(b, "# HELP palisade_k8s_watch_errors_total Failed list/watch requests and "
			   "error events, by resource.\n# TYPE palisade_k8s_watch_errors_total counter\n");
	for (size_t i = 0; i < ds->n_inf; i++)
		pal_strbuf_printf(b, "palisade_k8s_watch_errors_total{resource=\"%s\"} %llu\n",
				  ds->inf[i].path, (unsigned long long)ds->inf[i].errors);
	pal_strbuf_puts(b, "# HELP palisade_k8s_relists_total Lists after the first (410 Gone, "
			   "resync), by resource.\n# TYPE palisade_k8s_relists_total counter\n");
	for (size_t i = 0; i < ds->n_inf; i++)
		pal_strbuf_printf(b, "palisade_k8s_relists_total{resource=\"%s\"} %llu\n",
				  ds->inf[i].path, (unsigned long long)ds->inf[i].relists);
}

void pald_agent_k8s_uninstall(const struct pald_config *c)
{
	char state[4096], bpffs[4096], err[600];
	json_t *seed = NULL;
	char *dir;

	state_file_path(c, state, sizeof(state), bpffs, sizeof(bpffs));
	/* Only a file describing this pin directory's datapath (another agent's stays). */
	if (pal_k8s_state_load(state, bpffs, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err)))
		return;
	json_decref(seed);
	if (unlink(state))
		pald_log(PALD_LOG_WARN, "cannot remove the kubernetes state file",
			 PALD_S("file", state), PALD_S("error", strerror(errno)));
	dir = strrchr(state, '/');
	*dir = '\0';
	rmdir(state); /* the state directory, once no other agent's file is in it */
}

void pald_agent_k8s_close(struct pald_agent *a)
{
	if (!a->k8s_on)
		return;
	pal_k8s_datastore_close(&a->k8s);
	a->k8s_on = false;
	a->pol.load = NULL;
	a->pol.load_validates = false;
	a->pol.set_aside = NULL;
}
