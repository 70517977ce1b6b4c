/* libcurl multi socket API in the agent's epoll loop (see k8s_http.h). */
#include "k8s_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "vec.h"

/* A list page of 500 objects is a few MB; far more is a broken or hostile server. */
#define PAL_K8S_MAX_BODY (256u << 20)

struct pal_k8s_req {
	CURL *easy;
	struct pal_k8s_http *h;
	struct pal_k8s_req_ops ops;
	void *ctx;
	bool stream;
	char *body;
	size_t len, cap;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	struct pal_k8s_req *next; /* every live request, for close */
};

struct sock_watch {
	struct pald_watcher w;
	struct pal_k8s_http *h;
};

struct pal_k8s_http {
	CURLM *multi;
	struct pald_loop *loop;
	const struct pal_k8s_conn *conn;
	struct pald_watcher timer_w;
	uint64_t curl_deadline_ns, tick_deadline_ns; /* 0 = none */
	void (*tick)(void *ctx, uint64_t now_ns);
	void *tick_ctx;
	struct pal_k8s_req *reqs;
	/* The bearer token and the state of the file it came from. */
	char *token;
	struct timespec token_mtime;
	ino_t token_ino;
	off_t token_size;
};

static void arm(struct pal_k8s_http *h)
{
	uint64_t when = h->curl_deadline_ns;
	struct itimerspec its = { 0 };

	if (h->tick_deadline_ns && (!when || h->tick_deadline_ns < when))
		when = h->tick_deadline_ns;
	if (when) {
		its.it_value.tv_sec = (time_t)(when / 1000000000ull);
		its.it_value.tv_nsec = (long)(when % 1000000000ull);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(h->timer_w.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void pal_k8s_http_wake_at(struct pal_k8s_http *h, uint64_t when_ns)
{
	h->tick_deadline_ns = when_ns;
	arm(h);
}

void pal_k8s_http_wake_before(struct pal_k8s_http *h, uint64_t when_ns)
{
	if (when_ns && (!h->tick_deadline_ns || when_ns < h->tick_deadline_ns))
		pal_k8s_http_wake_at(h, when_ns);
}

void pal_k8s_http_set_tick(struct pal_k8s_http *h, void (*tick)(void *, uint64_t), void *ctx)
{
	h->tick = tick;
	h->tick_ctx = ctx;
}

static void unlink_req(struct pal_k8s_http *h, struct pal_k8s_req *r)
{
	for (struct pal_k8s_req **p = &h->reqs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
}

static void free_req(struct pal_k8s_http *h, struct pal_k8s_req *r)
{
	unlink_req(h, r);
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r);
}

/* Finished transfers: report and free them. */
static void reap(struct pal_k8s_http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct pal_k8s_req *r = NULL;
		long status = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		CURLcode res = m->data.result;
		const char *err = res == CURLE_OK ? NULL : r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);

		unlink_req(h, r); /* done may start new requests; r stays valid until freed below */
		r->ops.done(r->ctx, status, err, r->stream ? NULL : r->body ? r->body : "",
			    r->stream ? 0 : r->len);
		free_req(h, r);
	}
}

static void on_sock(struct pald_watcher *w, uint32_t events)
{
	struct sock_watch *sw = (struct sock_watch *)w;
	struct pal_k8s_http *h = sw->h;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, w->fd, flags, &running); /* may free sw */
	reap(h);
}

static void on_timer(struct pald_watcher *w, uint32_t events)
{
	struct pal_k8s_http *h = w->data;
	uint64_t exp, now = pald_now_ns();
	int running;
	(void)events;

	if (read(w->fd, &exp, sizeof(exp)) < 0) { /* EAGAIN: nothing to do */
	}
	if (h->curl_deadline_ns && h->curl_deadline_ns <= now) {
		h->curl_deadline_ns = 0;
		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		reap(h);
	}
	if (h->tick_deadline_ns && h->tick_deadline_ns <= now) {
		h->tick_deadline_ns = 0;
		if (h->tick)
			h->tick(h->tick_ctx, now); /* may set a new deadline */
	}
	arm(h);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct pal_k8s_http *h = userp;
	struct sock_watch *sw = socketp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	(void)easy;

	if (what == CURL_POLL_REMOVE) {
		if (sw) {
			pald_loop_del(h->loop, &sw->w);
			free(sw);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	if (!sw) {
		sw = calloc(1, sizeof(*sw));
		if (!sw)
			return -1;
		sw->w = (struct pald_watcher){ s, on_sock, sw };
		sw->h = h;
		if (pald_loop_add(h->loop, &sw->w, ev)) {
			free(sw);
			return -1;
		}
		curl_multi_assign(h->multi, s, sw);
		return 0;
	}
	return pald_loop_mod(h->loop, &sw->w, ev) ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct pal_k8s_http *h = userp;
	(void)multi;

	h->curl_deadline_ns = timeout_ms < 0 ? 0 : pald_now_ns() + (uint64_t)timeout_ms * 1000000ull + 1;
	arm(h);
	return 0;
}

int pal_k8s_http_open(struct pal_k8s_http **out, struct pald_loop *loop,
		      const struct pal_k8s_conn *conn)
{
	struct pal_k8s_http *h = calloc(1, sizeof(*h));
	int rc;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(h);
		return -ENOMEM;
	}
	h->loop = loop;
	h->conn = conn;
	h->timer_w = (struct pald_watcher){ timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
					    on_timer, h };
	if (h->timer_w.fd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = pald_loop_add(loop, &h->timer_w, EPOLLIN)))
		goto fail;
	if (!(h->multi = curl_multi_init())) {
		rc = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*out = h;
	return 0;
fail:
	pal_k8s_http_close(h);
	return rc;
}

/* The token to send: the file's content when a token file is configured (read again when the file
 * changed: size, mtime or inode, as a rotated projected token is a new file), else the static one. */
static const char *current_token(struct pal_k8s_http *h)
{
	const struct pal_k8s_conn *c = h->conn;
	struct stat st;

	if (!c->token_file)
		return c->token;
	if (stat(c->token_file, &st)) {
		if (!h->token)
			pald_log(PALD_LOG_WARN, "kubernetes: cannot read the token file",
				 PALD_S("file", c->token_file), PALD_S("error", strerror(errno)));
		return h->token ? h->token : c->token;
	}
	if (h->token && st.st_ino == h->token_ino && st.st_size == h->token_size &&
	    st.st_mtim.tv_sec == h->token_mtime.tv_sec && st.st_mtim.tv_nsec == h->token_mtime.tv_nsec)
		return h->token;

	FILE *f = fopen(c->token_file, "re");
	char buf[16384];
	size_t n;

	if (!f)
		return h->token ? h->token : c->token;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	char *tok = strdup(buf);

	if (!tok)
		return h->token ? h->token : c->token;
	if (h->token)
		pald_log(PALD_LOG_INFO, "kubernetes: token file changed, using the new token",
			 PALD_S("file", c->token_file));
	free(h->token);
	h->token = tok;
	h->token_ino = st.st_ino;
	h->token_size = st.st_size;
	h->token_mtime = st.st_mtim;
	return h->token;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct pal_k8s_req *r = userdata;
	size_t n = size * nmemb;

	if (r->stream)
		return r->ops.data(r->ctx, ptr, n) ? n : 0;
	if (r->len + n > PAL_K8S_MAX_BODY)
		return 0; /* curl fails the request ("write error"): a list page cannot be this big */
	if (vec_grow((void **)&r->body, &r->cap, r->len + n + 1, 1))
		return 0; /* curl reports a write error: the request fails, nothing crashes */
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct pal_k8s_req *r = userdata;
	size_t n = size * nitems;

	if (n <= 2 && (buf[0] == '\r' || buf[0] == '\n') && r->ops.headers) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		r->ops.headers(r->ctx, status);
	}
	return n;
}

uint32_t pal_k8s_http_retry_after(struct pal_k8s_req *r)
{
	curl_off_t wait_s = 0;
	long status = 0;

	if (!r)
		return 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 429 && status < 500)
		return 0;
	/* libcurl parses the header: a number of seconds or an HTTP date */
	if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &wait_s) != CURLE_OK || wait_s <= 0)
		return 0;
	return wait_s > UINT32_MAX ? UINT32_MAX : (uint32_t)wait_s;
}

static void set_blob(CURL *e, CURLoption opt, const struct pal_k8s_blob *b)
{
	struct curl_blob blob = { .data = b->data, .len = b->len, .flags = CURL_BLOB_COPY };

	curl_easy_setopt(e, opt, &blob);
}

static void set_tls(CURL *e, const struct pal_k8s_conn *c)
{
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_data.data)
		set_blob(e, CURLOPT_CAINFO_BLOB, &c->ca_data);
	if (c->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	if (c->cert_data.data)
		set_blob(e, CURLOPT_SSLCERT_BLOB, &c->cert_data);
	if (c->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	if (c->key_data.data)
		set_blob(e, CURLOPT_SSLKEY_BLOB, &c->key_data);
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

struct pal_k8s_req *pal_k8s_http_get(struct pal_k8s_http *h, const char *path, long timeout_ms,
				     bool stream, const struct pal_k8s_req_ops *ops, void *ctx)
{
	struct pal_k8s_req *r = calloc(1, sizeof(*r));
	const char *token = current_token(h);
	char *url = NULL, *auth = NULL;

	if (!r || !(r->easy = curl_easy_init()))
		goto fail;
	r->h = h;
	r->ops = *ops;
	r->ctx = ctx;
	r->stream = stream;
	if (asprintf(&url, "%s%s", h->conn->server, path) < 0) {
		url = NULL;
		goto fail;
	}
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (!r->hdrs)
		goto fail;
	if (token && *token) {
		struct curl_slist *l;

		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
			auth = NULL;
			goto fail;
		}
		if (!(l = curl_slist_append(r->hdrs, auth)))
			goto fail;
		r->hdrs = l;
	}
	CURL *e = r->easy;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "palisaded");
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	/* A silent dead peer (a node's route to the API server gone) is found by keepalives. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 15L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	set_tls(e, h->conn);
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
		goto fail;
	r->next = h->reqs;
	h->reqs = r;
	free(url);
	free(auth);
	return r;
fail:
	free(url);
	free(auth);
	if (r) {
		if (r->easy)
			curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->hdrs);
		free(r);
	}
	return NULL;
}

void pal_k8s_http_cancel(struct pal_k8s_http *h, struct pal_k8s_req *r)
{
	if (r)
		free_req(h, r);
}

void pal_k8s_http_close(struct pal_k8s_http *h)
{
	if (!h)
		return;
	while (h->reqs)
		free_req(h, h->reqs);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->timer_w.fd >= 0) {
		pald_loop_del(h->loop, &h->timer_w);
		close(h->timer_w.fd);
	}
	free(h->token);
	free(h);
	curl_global_cleanup();
}
