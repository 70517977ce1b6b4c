/* The Kubernetes datastore (--datastore kubernetes): every watched API object, converted into
 * palisade resources, kept for the policy pipeline.
 *
 * One informer per resource (informer.h) feeds one table of objects. Each object is converted
 * (pal_k8s_convert) and its documents are loaded on their own as soon as it arrives; one that does
 * not convert or load is reported (a log line with kind, namespace/name and the field path, a
 * counter, the list of bad objects for /readyz and polctl status) and its LAST GOOD documents stay
 * in the table, so every other object keeps updating. A deleted object leaves the table. The
 * agent reloads (debounced) whenever the table changed, and not at all until every required
 * resource has been listed once, so a restart never enforces a partial view. After each apply the
 * versions in force go to a state file (k8s_state.h), which a restarted agent reads so that an
 * object broken while no agent ran keeps its last good version.
 */
#ifndef PAL_K8S_DATASTORE_H
#define PAL_K8S_DATASTORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "convert.h"
#include "informer.h"
#include "kubeconfig.h"
#include "match_cache.h"
#include "model.h"
#include "narrow.h"

#define PAL_K8S_MAX_RESOURCES 16
/* How often API discovery runs again (Calico's API server installed or removed later). */
#define PAL_K8S_DISCOVERY_NS (5ull * 60 * 1000000000ull)

struct pal_k8s_datastore {
	struct pal_k8s_conn conn;
	struct pal_k8s_http *http;
	struct pal_k8s_informer inf[PAL_K8S_MAX_RESOURCES];
	size_t n_inf;
	struct pal_k8s_convert_cfg convert;
	/* Discovery of projectcalico.org/v3 (Calico's API server), in flight: Calico's resources are
	 * watched once it answered, from v3 where it is served, else from the CRDs. It runs again
	 * every discovery_period_ns and soon after a Calico resource answers 404; a resource whose
	 * group changed is watched from the other one (only the difference reaches the table). */
	struct pal_k8s_req *discovery;
	bool calico_started;        /* the first discovery answered: Calico's informers run */
	uint64_t discovery_due_ns;  /* the next discovery (CLOCK_MONOTONIC); 0 while one runs */
	uint64_t discovery_last_ns; /* when the last one started (404s run it at most so often) */
	uint64_t discovery_period_ns;
	/* "Kind.group/namespace/name" (object_id in datastore.c) -> the address of its entry (struct
	 * k8s_entry in datastore.c: the latest version good on its own, the version in force at the
	 * last apply, both decoded once; why the latest is not in force; whether the whole model
	 * rejected it). */
	json_t *objects;
	/* Ids whose "latest" may differ from "applied": all a commit has to look at (a table of
	 * thousands of objects, of which a change touches one). */
	json_t *uncommitted;
	size_t n_held;             /* objects held since the last load cleared them (an upper bound) */
	unsigned loads;            /* models built (load_all): tells which one an error came from */
	uint64_t n_bad;            /* objects whose latest version is not in force */
	uint64_t conversions_failed; /* counter: every rejected version */
	bool changed;              /* the table changed since the last load */
	bool synced_once;          /* every resource has been listed once */
	bool reloading_again;      /* set_aside held objects: the next load keeps those holds */
	uint64_t first_change_ns;  /* the first change not yet loaded (CLOCK_MONOTONIC), to measure
				    * event-to-enforcement */
	bool committed_once;       /* an apply took place: there are versions in force to go back to */
	/* An apply that did not fit (no_room): the objects changed since the last apply, narrowed
	 * down one full load, compile and apply per try (narrow.h); narrow_ids[i] is object i. */
	struct pal_narrow narrow;
	char **narrow_ids;
	char narrow_why[256];      /* what did not fit, for the objects found */
	uint64_t narrow_started_ns;
	/* The state file (k8s_state.h; NULL: none): every applied version, written after each
	 * commit. Until the first commit, seed holds what it said when the agent started (id ->
	 * record): the last good versions of the previous agent, for objects the API still lists. */
	char *state_file;
	char *bpffs;
	size_t state_max;
	json_t *seed;
	bool state_failing;        /* the last write failed (logged once) */
	uint64_t state_write_failures; /* counter: writes that failed */
	int64_t state_written_at;  /* wall clock of the last good write (0: none yet) */
	char state_error[600];     /* why the last write failed ("" when it worked) */
	void (*on_change)(void *ctx);
	void *ctx;
};

struct pal_k8s_datastore_cfg {
	const char *kubeconfig; /* NULL: in-cluster */
	const char *node;
	bool iface_by_route;
	bool auto_host_endpoints; /* watch v1 Node: "<node>-auto-hep" host endpoints */
	int (*iface_for_addr)(void *ctx, const char *addr, char *out, size_t outlen);
	void *iface_ctx;
	uint64_t resync_ms; /* periodic safety relist; 0: none while the watch works */
	uint64_t discovery_ms; /* 0: PAL_K8S_DISCOVERY_NS */
	const char *state_file; /* the state file (k8s_state.h); NULL: none */
	const char *bpffs;      /* the pin directory whose datapath the state file describes */
	size_t state_max;       /* 0: PAL_K8S_STATE_MAX_BYTES */
};

/* Reads the configuration and starts every informer in loop. on_change(ctx) is called (from the
 * loop) whenever the table changed. 0; -EINVAL with a message in err; -ENOMEM. */
int pal_k8s_datastore_open(struct pal_k8s_datastore *ds, const struct pal_k8s_datastore_cfg *cfg,
			   struct pald_loop *loop, void (*on_change)(void *ctx), void *ctx,
			   char *err, size_t errlen);
/* True once every required resource has been listed (absent optional ones count). */
bool pal_k8s_datastore_synced(const struct pal_k8s_datastore *ds);
/* Loads every object's last good documents into m (names "k8s:Kind.group/namespace/name"). When the
 * whole model rejects objects that are fine on their own (two of one name, a policy in a tier that
 * does not exist), those go back to their version of the last apply (out, when they had none) and
 * are reported, and the rest loads again (up to 3 rounds). m comes back validated
 * (pal_model_validate's diagnostics are in diags): the caller need not validate it again.
 * *since_ns (may be NULL) gets the time of the oldest change this load includes (0: none).
 * match_key (may be NULL) gets the key of the compiler's match cache (match_cache.h): a SHA-256
 * over the id and document digest of every loaded object that feeds the selector candidates
 * (all but policies and tiers), so it changes whenever any of them does.
 * Returns 0, or -ENOMEM when loading, validating or reporting ran out of memory (its error is in
 * diags when it fit): m must not be compiled then. */
int pal_k8s_datastore_load(struct pal_k8s_datastore *ds, struct pal_model *m,
			   struct pal_diags *diags, uint64_t *since_ns,
			   uint8_t match_key[PAL_MATCH_CACHE_KEY_LEN]);
/* The compiler rejected the last load: every object its errors name (by position) goes back to
 * its version of the last apply (out, when it had none) and is reported as load's culprits are;
 * the next load keeps them set aside. Returns how many were set aside (0: load again is useless).
 */
size_t pal_k8s_datastore_set_aside(struct pal_k8s_datastore *ds, const struct pal_diags *d);
/* The last load was applied: its versions are now the ones in force, and the state file says so.
 * While narrowing (below), also the result of the try: the next one is configured, or the
 * narrowing ends. */
void pal_k8s_datastore_commit(struct pal_k8s_datastore *ds);
/* The last apply failed for want of room (a map full, out of memory: an error that names no
 * object); why says what did not fit ("pal_classes (--max-classes)"). The objects changed since
 * the last successful apply are narrowed down: each try loads some of them at their last good
 * versions (held, as set_aside does) and the caller reloads at once while
 * pal_k8s_datastore_narrowing says so. At the end every object whose new version does not fit
 * is reported ("does not fit: <why>") and stays at its last good version until a new version of
 * it arrives; objects the budget left untried are loaded again at the next change, which this
 * marks. Returns true when a try is configured; false when nothing can be narrowed (nothing
 * applied yet in this agent's life, nothing changed, the baseline itself does not fit). */
bool pal_k8s_datastore_no_room(struct pal_k8s_datastore *ds, const char *why);
/* A narrowing try is configured: reload now. */
bool pal_k8s_datastore_narrowing(const struct pal_k8s_datastore *ds);
/* A try failed for another reason than room: the narrowing ends with what it found. */
void pal_k8s_datastore_narrow_stop(struct pal_k8s_datastore *ds);
/* Converts every pod again (a route changed: its interface may have appeared). Only with
 * iface_by_route, where the pod informer keeps its objects. */
void pal_k8s_datastore_reconvert(struct pal_k8s_datastore *ds);
/* Seconds the state may be behind the API server (the worst resource). */
double pal_k8s_datastore_staleness(const struct pal_k8s_datastore *ds, uint64_t now_ns);
/* {datastore, staleness_seconds, bad_objects: [{object, error}], resources: [{resource, state,
 * synced, resourceVersion, objects, last_event, errors, relists, last_error}]} */
json_t *pal_k8s_datastore_status(const struct pal_k8s_datastore *ds, uint64_t now_ns);
/* The first bad object's "Kind ns/name: error" into buf; returns the number of bad objects. */
size_t pal_k8s_datastore_first_bad(const struct pal_k8s_datastore *ds, char *buf, size_t len);
void pal_k8s_datastore_close(struct pal_k8s_datastore *ds);

#endif
