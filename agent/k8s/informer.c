/* list + watch of one resource (see informer.h). */
#include "informer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vec.h"

#define LIST_PAGE 500
#define LIST_TIMEOUT_MS 60000L
#define BACKOFF_MIN_MS 250u
#define BACKOFF_MAX_MS 30000u
#define ABSENT_RETRY_NS (60ull * 1000000000ull)
/* A Retry-After longer than this is a broken header: the state must not go stale for hours. */
#define RETRY_AFTER_MAX_S 60u
/* A watch that ends normally sooner than this without a single event is a server or proxy
 * refusing watches: backoff, not an immediate new watch (client-go's "very short watch"). */
#define SHORT_WATCH_NS (1000ull * NS_PER_MS)
#define NS_PER_MS 1000000ull
/* One watch event: the API server stores objects of at most ~1.5 MB; anything far larger is a
 * broken or hostile stream, ended before it can exhaust memory. */
#define MAX_EVENT_BYTES (16u << 20)

static void start_list(struct pal_k8s_informer *inf);
static void start_watch(struct pal_k8s_informer *inf);

const char *pal_k8s_informer_state_name(const struct pal_k8s_informer *inf)
{
	if (inf->absent)
		return "absent";
	switch (inf->state) {
	case PAL_K8S_INF_LISTING:
		return "listing";
	case PAL_K8S_INF_WATCHING:
		return inf->connected ? "watching" : "connecting";
	case PAL_K8S_INF_WAITING:
		return "backoff";
	default:
		return "idle";
	}
}

/* Query values: the continue token (base64) and field selectors need escaping. */
static void url_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *in && n + 4 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

static void object_key(const json_t *obj, char *key, size_t len)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));

	if (ns && *ns)
		snprintf(key, len, "%s/%s", ns, name ? name : "");
	else
		snprintf(key, len, "%s", name ? name : "");
}

/* The resourceVersion of an object, or of a store entry (the object, or only its
 * resourceVersion when the informer does not keep objects). */
static const char *object_rv(const json_t *obj)
{
	if (json_is_string(obj))
		return json_string_value(obj);
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

/* What the store keeps of obj: the object itself, or (keep_objects false) its resourceVersion,
 * enough to tell a relist's changes and a fraction of the memory. New reference or NULL. */
static json_t *store_entry(const struct pal_k8s_informer *inf, json_t *obj)
{
	if (inf->res.keep_objects)
		return json_incref(obj);
	return json_string(object_rv(obj) ? object_rv(obj) : "");
}

static void set_rv(struct pal_k8s_informer *inf, const char *rv)
{
	if (rv && *rv)
		snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
}

static void mark_current(struct pal_k8s_informer *inf)
{
	inf->last_ok_ns = pald_now_ns();
	inf->last_event_wall = (int64_t)time(NULL);
	inf->backoff_ms = BACKOFF_MIN_MS;
}

/* The message of a Status body, or the HTTP status alone. */
static void record_error(struct pal_k8s_informer *inf, const char *what, long status,
			 const char *error, const char *body, size_t len)
{
	const char *msg = NULL;
	json_t *st = NULL;

	if (body && len) {
		st = json_loadb(body, len, 0, NULL);
		msg = json_string_value(json_object_get(st, "message"));
	}
	if (error)
		snprintf(inf->last_error, sizeof(inf->last_error), "%s: %s", what, error);
	else
		snprintf(inf->last_error, sizeof(inf->last_error), "%s: HTTP %ld%s%s", what, status,
			 msg ? ": " : "", msg ? msg : "");
	json_decref(st);
	inf->errors++;
	inf->failing = true;
	inf->unreachable = error && status == 0; /* no HTTP answer at all */
	if (!error && status == 404 && inf->ops->not_found)
		inf->ops->not_found(inf->ctx, inf);
	pald_log(PALD_LOG_WARN, "kubernetes: request failed", PALD_S("resource", inf->path),
		 PALD_S("error", inf->last_error));
}

static void wait_then(struct pal_k8s_informer *inf, uint64_t delay_ns)
{
	inf->state = PAL_K8S_INF_WAITING;
	inf->wake_ns = pald_now_ns() + delay_ns;
	pal_k8s_http_wake_before(inf->http, inf->wake_ns);
}

/* An HTTP answer (any status) reached this informer. When its last request got none, the server
 * is reachable again: the owner may wake the others (server_back). */
static void heard_from_server(struct pal_k8s_informer *inf)
{
	if (!inf->unreachable)
		return;
	inf->unreachable = false;
	if (inf->ops->server_back)
		inf->ops->server_back(inf->ctx, inf);
}

/* Exponential backoff with jitter: half the current step plus a random part of the other half. */
static void backoff(struct pal_k8s_informer *inf)
{
	uint32_t step = inf->backoff_ms, wait = step / 2 + (uint32_t)(random() % (step / 2 + 1));

	inf->backoff_ms = step * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : step * 2;
	wait_then(inf, (uint64_t)wait * NS_PER_MS);
}

/* The backoff, but never shorter than what the server asked for (Retry-After of a 429 or 5xx,
 * as client-go waits): retrying sooner only adds to the load the server is shedding. */
static void backoff_retry_after(struct pal_k8s_informer *inf, uint32_t retry_after_s)
{
	uint64_t until;

	backoff(inf);
	if (retry_after_s > RETRY_AFTER_MAX_S)
		retry_after_s = RETRY_AFTER_MAX_S;
	until = pald_now_ns() + (uint64_t)retry_after_s * 1000 * NS_PER_MS;
	inf->retry_floor_ns = retry_after_s ? until : 0;
	if (until > inf->wake_ns) {
		inf->wake_ns = until;
		pal_k8s_http_wake_before(inf->http, inf->wake_ns);
	}
}

/* One object of a list page: the owner hears of it at once when it is new or changed, so a list
 * never holds the whole resource's objects (10,000 pods as JSON trees are several times the size
 * of what the owner keeps of them). Only its key is remembered, for the removals at the end. */
static int list_item(struct pal_k8s_informer *inf, const char *key, json_t *obj)
{
	json_t *old = json_object_get(inf->store, key), *entry;
	const char *a = old ? object_rv(old) : NULL, *b = object_rv(obj);

	if (json_object_set_new(inf->listing, key, json_null()))
		return -ENOMEM;
	if (old && a && b && !strcmp(a, b))
		return 0;
	if (!(entry = store_entry(inf, obj)) || json_object_set_new(inf->store, key, entry))
		return -ENOMEM;
	inf->ops->upsert(inf->ctx, inf, key, obj);
	return 0;
}

/* A complete list: what the store has and the list did not name is gone. */
static void remove_unlisted(struct pal_k8s_informer *inf)
{
	const char *key;
	json_t *obj;
	void *tmp;

	json_object_foreach_safe(inf->store, tmp, key, obj) {
		if (json_object_get(inf->listing, key))
			continue;
		/* the store owns key: json_object_del frees it, so remove() gets a copy */
		char *gone = strdup(key);

		if (!gone)
			continue; /* kept until the next complete list: stale, never lost */
		json_incref(obj);
		json_object_del(inf->store, gone);
		inf->ops->remove(inf->ctx, inf, gone, obj);
		json_decref(obj);
		free(gone);
	}
	json_decref(inf->listing);
	inf->listing = NULL;
}

/* The next periodic relist: the period, moved by up to PAL_K8S_RESYNC_JITTER_PCT either way at
 * random, so agents started together (a DaemonSet rollout) spread their lists out instead of
 * hitting the API server in step every period. None when the period is 0. */
static void schedule_resync(struct pal_k8s_informer *inf)
{
	uint64_t period = inf->resync_period_ns, spread = period / 100 * PAL_K8S_RESYNC_JITTER_PCT;

	inf->resync_ns = 0;
	if (!period)
		return;
	inf->resync_ns = pald_now_ns() + period - spread +
			 ((uint64_t)random() << 31 ^ (uint64_t)random()) % (2 * spread + 1);
	pal_k8s_http_wake_before(inf->http, inf->resync_ns);
}

/* The list in progress is over (complete or failed): the next one is paged again. */
static void list_over(struct pal_k8s_informer *inf)
{
	inf->expired_continues = 0;
	inf->unpaged = false;
}

static void list_finished(struct pal_k8s_informer *inf, const char *rv)
{
	list_over(inf);
	if (inf->synced)
		inf->relists++;
	remove_unlisted(inf);
	/* The watch goes on from the list's resourceVersion. A list without one (no kube-apiserver
	 * answers so; a proxy or replay may) leaves "": the watch then starts from the current state,
	 * as client-go's does, never from an older resourceVersion (after a 410: the compacted one,
	 * which would get 410 again and again). */
	snprintf(inf->rv, sizeof(inf->rv), "%s", rv ? rv : "");
	inf->served = true;
	inf->absent = false;
	inf->synced = true;
	inf->resync_listing = false;
	mark_current(inf);
	schedule_resync(inf);
	inf->ops->synced(inf->ctx, inf);
	start_watch(inf);
}

static void list_absent(struct pal_k8s_informer *inf)
{
	if (!inf->absent)
		pald_log(PALD_LOG_WARN, "kubernetes: optional resource not served, checking again "
					"every minute",
			 PALD_S("resource", inf->path));
	json_object_clear(inf->listing);
	remove_unlisted(inf); /* CRDs removed: their objects are gone too */
	inf->absent = true;
	inf->synced = true;
	inf->rv[0] = '\0';
	mark_current(inf);
	inf->ops->synced(inf->ctx, inf);
	if (inf->ops->not_found)
		inf->ops->not_found(inf->ctx, inf);
	wait_then(inf, ABSENT_RETRY_NS);
}

static void on_list_done(void *ctx, long status, const char *error, const char *body, size_t len)
{
	struct pal_k8s_informer *inf = ctx;
	json_t *doc = NULL, *items, *item;
	const char *cont, *rv;
	uint32_t retry_after_s = pal_k8s_http_retry_after(inf->req);
	size_t i;

	inf->req = NULL;
	if (status > 0)
		heard_from_server(inf);
	if (!error && status == 404 && inf->res.optional && !inf->served)
		return list_absent(inf);
	if (!error && status == 404 && inf->served) /* then as any failed list: the store stays */
		pald_log(PALD_LOG_WARN, "kubernetes: resource no longer served, its last state stays "
					"in force until discovery moves it",
			 PALD_S("resource", inf->path));
	/* The continue token expired (compacted between two pages): a fresh list at once. Twice in a
	 * row, the list is asked once without pages, as client-go's pager falls back to a full list
	 * (FullListIfExpired): a server, proxy or replay whose tokens never hold must not be listed
	 * again at once forever, never synced. That one list holds the whole resource at once (what
	 * the pages avoid), so it is kept for this case; a third expiry (a server that pages it
	 * anyway) is a failure. A 410 to a first page has no such cause (the list names no
	 * resourceVersion): a failure like any other, after the backoff. */
	if (!error && status == 410 && inf->cont && inf->expired_continues < 2) {
		json_object_clear(inf->listing);
		free(inf->cont);
		inf->cont = NULL;
		if (++inf->expired_continues >= 2) {
			inf->unpaged = true;
			pald_log(PALD_LOG_WARN, "kubernetes: continue token expired again, list again "
						"without pages",
				 PALD_S("resource", inf->path));
		}
		return start_list(inf);
	}
	if (error || status != 200)
		goto fail;
	doc = json_loadb(body, len, 0, NULL);
	items = json_object_get(doc, "items");
	if (!doc || !(json_is_array(items) || json_is_null(items))) {
		error = "the list is not a JSON object with items";
		goto fail;
	}
	json_array_foreach(items, i, item) {
		char key[512];

		if (!json_is_object(item))
			continue;
		/* Built-in kinds' list items come without apiVersion and kind. */
		json_object_set_new(item, "apiVersion", json_string(inf->res.api_version));
		json_object_set_new(item, "kind", json_string(inf->res.kind));
		object_key(item, key, sizeof(key));
		if (list_item(inf, key, item)) {
			error = "out of memory";
			goto fail;
		}
	}
	cont = json_string_value(json_object_get(json_object_get(doc, "metadata"), "continue"));
	rv = json_string_value(json_object_get(json_object_get(doc, "metadata"), "resourceVersion"));
	free(inf->cont);
	inf->cont = cont && *cont ? strdup(cont) : NULL;
	if (cont && *cont && !inf->cont) {
		error = "out of memory";
		goto fail;
	}
	if (inf->cont)
		start_list(inf); /* the next page */
	else
		list_finished(inf, rv);
	json_decref(doc);
	return;
fail:
	record_error(inf, "list", status, error, body, len);
	json_decref(doc);
	list_over(inf);
	json_object_clear(inf->listing);
	free(inf->cont);
	inf->cont = NULL;
	/* e.g. 504 "Too large resource version" (etcd restored): the retry asks for the newest */
	inf->resync_listing = false;
	inf->gone = true; /* after the backoff: the list again */
	backoff_retry_after(inf, retry_after_s);
}

static const struct pal_k8s_req_ops list_ops = { .done = on_list_done };

/* printf at *n of buf (len bytes); *n stays within buf when the text is cut. */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t len, size_t *n,
							 const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n >= len - 1)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w < len ? *n + (size_t)w : len - 1;
}

static void start_list(struct pal_k8s_informer *inf)
{
	char path[4096], esc[2048];
	size_t n = 0;

	inf->gone = false;
	if (!inf->listing && !(inf->listing = json_object()))
		goto nomem;
	append(path, sizeof(path), &n, "%s?", inf->path);
	if (!inf->unpaged)
		append(path, sizeof(path), &n, "limit=%d&", LIST_PAGE);
	if (inf->res.field_selector) {
		url_escape(inf->res.field_selector, esc, sizeof(esc));
		append(path, sizeof(path), &n, "fieldSelector=%s&", esc);
	}
	if (inf->cont) {
		url_escape(inf->cont, esc, sizeof(esc));
		append(path, sizeof(path), &n, "continue=%s&", esc);
	} else if (inf->resync_listing && inf->rv[0]) {
		/* A periodic relist needs no quorum read from etcd: anything not older than what the
		 * watch delivered will do, which newer API servers serve from their watch cache (older
		 * ones read a list with a limit from etcd, page by page as before). Not
		 * resourceVersion=0: that may go back in time and, before 1.31, ignores limit (every
		 * object in one response, not the pages this informer's memory is sized for). */
		url_escape(inf->rv, esc, sizeof(esc));
		append(path, sizeof(path), &n, "resourceVersion=%s&resourceVersionMatch=NotOlderThan&",
		       esc);
	}
	path[n - 1] = '\0'; /* the last '&' (or the '?' of a bare list) */
	inf->state = PAL_K8S_INF_LISTING;
	inf->req = pal_k8s_http_get(inf->http, path, LIST_TIMEOUT_MS, false, &list_ops, inf);
	if (inf->req)
		return;
nomem:
	snprintf(inf->last_error, sizeof(inf->last_error), "list: out of memory");
	inf->errors++;
	inf->gone = true;
	backoff(inf);
}

/* One complete watch event. Returns false to end the stream. */
static bool handle_event(struct pal_k8s_informer *inf, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	char key[512];
	bool ok = true;

	if (!type || !json_is_object(obj)) {
		snprintf(inf->last_error, sizeof(inf->last_error), "watch: an event that is not "
								   "{type, object}");
		inf->errors++;
		json_decref(ev);
		return false;
	}
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		object_key(obj, key, sizeof(key));
		if (!json_object_get(obj, "apiVersion"))
			json_object_set_new(obj, "apiVersion", json_string(inf->res.api_version));
		if (!json_object_get(obj, "kind"))
			json_object_set_new(obj, "kind", json_string(inf->res.kind));
		json_object_set_new(inf->store, key, store_entry(inf, obj));
		inf->ops->upsert(inf->ctx, inf, key, obj);
		set_rv(inf, object_rv(obj));
	} else if (!strcmp(type, "DELETED")) {
		object_key(obj, key, sizeof(key));
		json_t *last = json_object_get(inf->store, key);

		if (last) {
			json_incref(last);
			json_object_del(inf->store, key);
			inf->ops->remove(inf->ctx, inf, key, last);
			json_decref(last);
		}
		set_rv(inf, object_rv(obj));
	} else if (!strcmp(type, "BOOKMARK")) {
		set_rv(inf, object_rv(obj));
	} else if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));

		if (code == 410) {
			inf->gone = true;
			pald_log(PALD_LOG_INFO, "kubernetes: watch history compacted, listing again",
				 PALD_S("resource", inf->path), PALD_S("message", msg));
		} else { /* e.g. 504 "Too large resource version" (etcd restored): list again */
			snprintf(inf->last_error, sizeof(inf->last_error), "ERROR %lld: %s",
				 (long long)code, msg ? msg : "");
			inf->error_event = true;
		}
		ok = false;
	}
	if (ok) {
		mark_current(inf);
		inf->watch_events++;
	}
	json_decref(ev);
	return ok;
}

static bool on_watch_data(void *ctx, const char *buf, size_t len)
{
	struct pal_k8s_informer *inf = ctx;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n') {
			if (inf->line_len >= MAX_EVENT_BYTES) {
				snprintf(inf->last_error, sizeof(inf->last_error),
					 "watch: an event larger than %u bytes", MAX_EVENT_BYTES);
				inf->errors++;
				return false;
			}
			if (vec_grow((void **)&inf->line, &inf->line_cap, inf->line_len + 2, 1))
				return false;
			inf->line[inf->line_len++] = buf[i];
			continue;
		}
		size_t n = inf->line_len;

		inf->line_len = 0;
		if (n && !handle_event(inf, inf->line, n))
			return false;
	}
	return true;
}

static void on_watch_headers(void *ctx, long status)
{
	struct pal_k8s_informer *inf = ctx;

	if (status > 0)
		heard_from_server(inf);
	if (status == 200) {
		if (inf->failing)
			pald_log(PALD_LOG_INFO, "kubernetes: watching again", PALD_S("resource", inf->path),
				 PALD_S("resourceVersion", inf->rv));
		uint32_t backoff_ms = inf->backoff_ms;

		inf->failing = false;
		inf->connected = true;
		mark_current(inf);
		/* an event or a second open resets the backoff: a watch ended at once must not */
		inf->backoff_ms = backoff_ms;
	}
}

static bool very_short_watch(const struct pal_k8s_informer *inf)
{
	return !inf->watch_events && pald_now_ns() - inf->watch_start_ns < SHORT_WATCH_NS;
}

/* 410 on a watch: list again, at once, unless the watch got it at once from the resourceVersion
 * a list just gave (an API server whose watch cache is behind the one that listed): then lists
 * and 410s would follow each other in a tight loop of whole-resource lists, so each such relist
 * waits a backoff of its own, which a list's success does not reset (client-go's reflector also
 * backs off between its list-and-watch rounds). */
static void relist_after_gone(struct pal_k8s_informer *inf)
{
	uint32_t backoff_ms = inf->backoff_ms;

	if (!very_short_watch(inf))
		return start_list(inf);
	inf->backoff_ms = inf->gone_backoff_ms ? inf->gone_backoff_ms : BACKOFF_MIN_MS;
	backoff(inf);
	inf->gone_backoff_ms = inf->backoff_ms;
	inf->backoff_ms = backoff_ms;
}

static void on_watch_done(void *ctx, long status, const char *error, const char *body, size_t len)
{
	struct pal_k8s_informer *inf = ctx;
	bool was_connected = inf->connected;
	uint32_t retry_after_s = pal_k8s_http_retry_after(inf->req);
	char event_error[sizeof(inf->last_error)];

	inf->req = NULL;
	inf->connected = false;
	inf->line_len = 0;
	if (was_connected)
		inf->last_ok_ns = pald_now_ns(); /* current until this moment */
	if (was_connected && !very_short_watch(inf)) { /* it worked a while: a failure now is new */
		inf->backoff_ms = BACKOFF_MIN_MS;
		inf->gone_backoff_ms = BACKOFF_MIN_MS;
	}
	if (inf->gone || status == 410) {
		inf->gone = true;
		return relist_after_gone(inf);
	}
	if (!error && status == 200 && !very_short_watch(inf))
		return start_watch(inf); /* the server ended the watch (timeoutSeconds): resume */
	if (!error && status == 200)
		error = "the server ended the watch at once, with no event";
	if (inf->error_event) { /* its Status, not the abort it caused, is the error */
		snprintf(event_error, sizeof(event_error), "%s", inf->last_error);
		error = event_error;
	}
	record_error(inf, "watch", status, error, body, len);
	/* As client-go: only a refused connection or a 429 is worth the same watch again; after an
	 * ERROR event or another error status the resourceVersion may be the problem (too large
	 * after an etcd restore, 500s from a broken watch cache): list again after the backoff. */
	if (inf->error_event || (!error && status >= 400 && status != 429))
		inf->gone = true;
	inf->error_event = false;
	backoff_retry_after(inf, retry_after_s); /* then watch again from inf->rv, or list */
}

static const struct pal_k8s_req_ops watch_ops = {
	.headers = on_watch_headers,
	.data = on_watch_data,
	.done = on_watch_done,
};

static void start_watch(struct pal_k8s_informer *inf)
{
	char path[4096], esc[1024];
	/* Like client-go: a random server-side timeout so watches do not all renew at once. */
	long timeout_s = 300 + random() % 300;
	int n;

	n = snprintf(path, sizeof(path), "%s?watch=true&allowWatchBookmarks=true&resourceVersion=%s"
					 "&timeoutSeconds=%ld",
		     inf->path, inf->rv, timeout_s);
	if (inf->res.field_selector) {
		url_escape(inf->res.field_selector, esc, sizeof(esc));
		snprintf(path + n, sizeof(path) - (size_t)n, "&fieldSelector=%s", esc);
	}
	inf->state = PAL_K8S_INF_WATCHING;
	inf->watch_start_ns = pald_now_ns();
	inf->watch_events = 0;
	inf->error_event = false;
	inf->req = pal_k8s_http_get(inf->http, path, (timeout_s + 30) * 1000, true, &watch_ops, inf);
	if (!inf->req) {
		snprintf(inf->last_error, sizeof(inf->last_error), "watch: out of memory");
		inf->errors++;
		backoff(inf);
	}
}

/* random() starts from the same seed in every process: unseeded, every node's agent would draw
 * the same "random" backoffs, watch timeouts and relist times, and stay in step. */
static void seed_random_once(void)
{
	static bool seeded;
	unsigned int seed;

	if (seeded)
		return;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (unsigned int)time(NULL) ^ (unsigned int)getpid() << 16;
	srandom(seed);
	seeded = true;
}

int pal_k8s_informer_init(struct pal_k8s_informer *inf, const struct pal_k8s_resource *res,
			  struct pal_k8s_http *http, const struct pal_k8s_informer_ops *ops, void *ctx)
{
	const char *slash = strchr(res->api_version, '/');
	int n;

	seed_random_once();
	memset(inf, 0, sizeof(*inf));
	inf->res = *res;
	inf->http = http;
	inf->ops = ops;
	inf->ctx = ctx;
	inf->backoff_ms = BACKOFF_MIN_MS;
	n = slash ? asprintf(&inf->path, "/apis/%s/%s", res->api_version, res->plural)
		  : asprintf(&inf->path, "/api/%s/%s", res->api_version, res->plural);
	if (n < 0) {
		inf->path = NULL;
		return -ENOMEM;
	}
	if (!(inf->store = json_object())) {
		free(inf->path);
		inf->path = NULL;
		return -ENOMEM;
	}
	return 0;
}

void pal_k8s_informer_start(struct pal_k8s_informer *inf)
{
	inf->last_ok_ns = pald_now_ns(); /* staleness counts from the start until the first sync */
	start_list(inf);
}

uint64_t pal_k8s_informer_tick(struct pal_k8s_informer *inf, uint64_t now_ns)
{
	if (inf->state == PAL_K8S_INF_WAITING && inf->wake_ns <= now_ns) {
		if (inf->gone || !inf->rv[0])
			start_list(inf);
		else
			start_watch(inf);
	} else if (inf->state == PAL_K8S_INF_WATCHING && inf->resync_ns && inf->resync_ns <= now_ns) {
		pal_k8s_http_cancel(inf->http, inf->req); /* a periodic relist, then watch again */
		inf->req = NULL;
		inf->connected = false;
		inf->line_len = 0;
		inf->resync_listing = true;
		start_list(inf);
	}
	if (inf->state == PAL_K8S_INF_WAITING)
		return inf->wake_ns;
	if (inf->state == PAL_K8S_INF_WATCHING)
		return inf->resync_ns;
	return 0;
}

bool pal_k8s_informer_retry_soon(struct pal_k8s_informer *inf, uint64_t now_ns)
{
	/* jittered, so the informers of one agent (and the agents of many nodes, which saw the same
	 * server come back) do not all send at once */
	uint64_t at = now_ns + (uint64_t)(random() % BACKOFF_MIN_MS) * NS_PER_MS;

	if (inf->state != PAL_K8S_INF_WAITING || !inf->unreachable)
		return false; /* working, or waiting on an answer it got (a 429, a 404, a 5xx) */
	if (at < inf->retry_floor_ns)
		at = inf->retry_floor_ns;
	if (at >= inf->wake_ns)
		return false;
	inf->wake_ns = at;
	pal_k8s_http_wake_before(inf->http, at);
	return true;
}

double pal_k8s_informer_staleness(const struct pal_k8s_informer *inf, uint64_t now_ns)
{
	if ((inf->state == PAL_K8S_INF_WATCHING && inf->connected) || inf->absent)
		return 0;
	return now_ns > inf->last_ok_ns ? (double)(now_ns - inf->last_ok_ns) / 1e9 : 0;
}

void pal_k8s_informer_free(struct pal_k8s_informer *inf)
{
	if (inf->req)
		pal_k8s_http_cancel(inf->http, inf->req);
	json_decref(inf->store);
	json_decref(inf->listing);
	free(inf->cont);
	free(inf->line);
	free(inf->path);
	memset(inf, 0, sizeof(*inf));
}
