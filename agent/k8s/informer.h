/* An informer: the current state of one Kubernetes resource, kept by list + watch.
 *
 * Lists page by page (limit/continue), then watches from the list's resourceVersion with
 * allowWatchBookmarks. A watch that ends normally (the server's timeoutSeconds) is resumed from the
 * last resourceVersion at once (unless it ended within a second with no event: a refused watch);
 * a dropped or refused one after an exponential backoff with jitter (250 ms doubling to 30 s),
 * never sooner than a 429's or 5xx's Retry-After; the backoff after a request that got no answer
 * at all ends early once the server answers another informer (pal_k8s_informer_retry_soon: after
 * an outage the informers come back together, not one by one over 30 s). 410 Gone (an ERROR event or the status) means
 * the history is compacted: the informer lists again while its store keeps the last state and
 * hands the owner only the difference: each page's new and changed objects as the page arrives (a
 * list never holds a whole resource's objects), the removed ones once the list is complete, so
 * nothing is ever seen to vanish because of a relist and nothing is removed when a list fails (a
 * 410 the watch got at once relists after a backoff, so lists never follow each other in a tight
 * loop). While the watch works nothing is listed again, as client-go's reflector: the watch and
 * its bookmarks keep the store true. An owner may opt into a periodic safety relist
 * (resync_period_ns), jittered per relist and asked with resourceVersionMatch=NotOlderThan the
 * last resourceVersion seen (see start_list). Another ERROR event, or a watch answered with an
 * error status other than 429, lists again after the backoff (the resourceVersion may be what is
 * wrong). An optional resource the server does not serve (404: Calico's CRDs not
 * installed) and never served is reported as absent, counts as synced with no objects, and is
 * looked for again every minute. One that was served and answers 404 keeps its store (the last
 * state stays in force) and retries with backoff; its owner is told (not_found), so discovery can
 * move it to the group that serves it now.
 */
#ifndef PAL_K8S_INFORMER_H
#define PAL_K8S_INFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "k8s_http.h"

struct pal_k8s_informer;

struct pal_k8s_informer_ops {
	/* obj (with apiVersion and kind) is new or changed; key is "namespace/name" or "name". */
	void (*upsert)(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj);
	/* The object of key is gone; last is what the store kept (see keep_objects). */
	void (*remove)(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj);
	/* A list completed (the first one: the resource is synced) or the resource is absent. */
	void (*synced)(void *ctx, struct pal_k8s_informer *inf);
	/* Optional: a list or watch got 404 (the resource may have moved: discovery again). Called
	 * from inside the informer: it may schedule work, never free or replace inf. */
	void (*not_found)(void *ctx, struct pal_k8s_informer *inf);
	/* Optional: the server answered this informer after its last request had no answer at all
	 * (connection refused, reset, timed out): the server is reachable again, so the owner can
	 * wake the informers still waiting out a backoff for the same reason
	 * (pal_k8s_informer_retry_soon). Called from inside the informer, as not_found. */
	void (*server_back)(void *ctx, struct pal_k8s_informer *inf);
};

struct pal_k8s_resource {
	const char *api_version; /* "v1", "networking.k8s.io/v1" */
	const char *kind;        /* "Pod" */
	const char *plural;      /* "pods" */
	bool optional;           /* 404 is "not installed", not an error */
	const char *field_selector; /* e.g. "spec.nodeName=node-a"; NULL for none */
	/* Keep every object (for pal_k8s_informer owners that revisit them); else only their
	 * resourceVersions are kept, and remove() gets the resourceVersion (a JSON string). */
	bool keep_objects;
};

enum pal_k8s_inf_state { PAL_K8S_INF_IDLE, PAL_K8S_INF_LISTING, PAL_K8S_INF_WATCHING,
			 PAL_K8S_INF_WAITING };

struct pal_k8s_informer {
	struct pal_k8s_resource res;
	char *path; /* "/api/v1/pods" */
	struct pal_k8s_http *http;
	const struct pal_k8s_informer_ops *ops;
	void *ctx;

	enum pal_k8s_inf_state state;
	struct pal_k8s_req *req;
	json_t *store;   /* key -> object (or its resourceVersion): what the owner has been told */
	json_t *listing; /* key -> null: the objects the list in progress has named so far */
	char *cont;      /* continue token of the list in progress */
	/* Continue tokens that expired (410) in a row in the list in progress; at the second the
	 * list is asked once without pages (unpaged), as client-go's pager does: a server whose
	 * tokens never hold would otherwise be listed again at once forever. */
	uint8_t expired_continues;
	bool unpaged;
	char rv[64];     /* the last resourceVersion seen; "" before the first list */
	bool gone;       /* the watch got 410: list again */
	bool error_event; /* the watch got an ERROR event other than 410 (last_error says which) */
	bool connected;  /* a watch stream is established (200 received) */
	bool failing;    /* the last request failed (logged once it works again) */
	/* The last request failed without any answer from the server (no HTTP status): the wait
	 * that follows may be cut short once another informer reaches the server (server_back). */
	bool unreachable;
	uint64_t retry_floor_ns; /* a Retry-After's end: no retry sooner, not even a kicked one */
	char *line;      /* a watch event not yet complete */
	size_t line_len, line_cap;
	uint64_t wake_ns;       /* WAITING: when to try again */
	uint64_t resync_ns;     /* when the next periodic relist is due (0: none) */
	uint64_t resync_period_ns; /* the periodic safety relist, +-PAL_K8S_RESYNC_JITTER_PCT per
				    * relist; 0 (the default): none while the watch works */
	bool resync_listing;    /* the list in progress is a periodic one (not older than rv) */
	uint32_t backoff_ms;
	uint32_t gone_backoff_ms; /* between relists for 410s a watch got at once (0: the minimum) */
	uint64_t watch_start_ns; /* when the current watch was sent */
	uint64_t watch_events;   /* events (bookmarks included) the current watch delivered */

	/* State for polctl status and /readyz. */
	bool synced;            /* a list completed (or the resource is absent) */
	bool absent;            /* optional and not served (404) */
	/* A list completed here, or the owner handed this informer the state of a served resource
	 * (see pal_k8s_informer_init's callers): a 404 then means the resource stopped being served
	 * (Calico's API server gone), not that it never was, and the store stays as it is. */
	bool served;
	uint64_t last_ok_ns;    /* the last moment the state was known current (monotonic) */
	int64_t last_event_wall;/* unix time of the last watch event or list; 0 = none */
	uint64_t errors;        /* failed requests and error events */
	uint64_t relists;       /* lists after the first (410, resync) */
	char last_error[256];
};

/* How far each periodic relist may fall from its period, either way, so nodes started together
 * do not list in step. */
#define PAL_K8S_RESYNC_JITTER_PCT 15

int pal_k8s_informer_init(struct pal_k8s_informer *inf, const struct pal_k8s_resource *res,
			  struct pal_k8s_http *http, const struct pal_k8s_informer_ops *ops, void *ctx);
void pal_k8s_informer_start(struct pal_k8s_informer *inf);
/* Runs due timers (backoff, resync); returns the next time it needs (0 = none). */
uint64_t pal_k8s_informer_tick(struct pal_k8s_informer *inf, uint64_t now_ns);
/* The server answered another informer after an outage: if this one waits out a backoff
 * because its own last request got no answer at all, it tries again within BACKOFF_MIN_MS
 * (jittered, never before a Retry-After's end) instead of up to 30 s later. Returns true when its
 * wait was shortened. Only the wait is moved; the next tick starts the request. */
bool pal_k8s_informer_retry_soon(struct pal_k8s_informer *inf, uint64_t now_ns);
/* Seconds the state may be behind the server: 0 while a watch is established, else since the
 * last moment it was current (from start when never synced). */
double pal_k8s_informer_staleness(const struct pal_k8s_informer *inf, uint64_t now_ns);
void pal_k8s_informer_free(struct pal_k8s_informer *inf);
const char *pal_k8s_informer_state_name(const struct pal_k8s_informer *inf);

#endif
