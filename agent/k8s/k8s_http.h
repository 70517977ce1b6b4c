/* HTTP requests to the Kubernetes API server inside the agent's event loop.
 *
 * libcurl's multi socket API: curl tells us which sockets to wait for and when its next timeout
 * is; the sockets and one timerfd are ordinary pald_watchers, so requests (including long watch
 * streams) progress without threads and without blocking the loop. TLS, the CA, client
 * certificates and their in-memory (-data) forms are libcurl's. The bearer token is read again
 * from its file before a request whenever the file changed (kubelet rotation).
 */
#ifndef PAL_K8S_HTTP_H
#define PAL_K8S_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kubeconfig.h"
#include "loop.h"

struct pal_k8s_http;
struct pal_k8s_req;

struct pal_k8s_req_ops {
	/* Response headers complete; status is the HTTP status code. Optional. */
	void (*headers)(void *ctx, long status);
	/* A piece of the body as it arrives (stream requests only). Return false to abort. */
	bool (*data)(void *ctx, const char *buf, size_t len);
	/* The request ended. status: the HTTP status (0 when none arrived); error: NULL on a
	 * complete transfer, else what went wrong (connection, TLS, timeout, partial stream);
	 * body/len: the whole body (non-stream requests), else NULL. The request is freed after
	 * this returns. */
	void (*done)(void *ctx, long status, const char *error, const char *body, size_t len);
};

int pal_k8s_http_open(struct pal_k8s_http **out, struct pald_loop *loop,
		      const struct pal_k8s_conn *conn);
/* GET server+path (path includes the query). timeout_ms bounds the whole request (0: none);
 * stream: the body goes to ops->data instead of being collected. NULL on -ENOMEM. */
struct pal_k8s_req *pal_k8s_http_get(struct pal_k8s_http *h, const char *path, long timeout_ms,
				     bool stream, const struct pal_k8s_req_ops *ops, void *ctx);
/* Seconds the server's Retry-After asks to wait before the next request, when the answer is 429
 * or 5xx (as client-go's checkWait); 0 when none. Valid inside done, before r is freed. */
uint32_t pal_k8s_http_retry_after(struct pal_k8s_req *r);
/* Ends a request without calling done. */
void pal_k8s_http_cancel(struct pal_k8s_http *h, struct pal_k8s_req *r);
/* Extra deadline for the owner (informer timers): the loop's timer fires at the earliest of
 * curl's timeout and this (CLOCK_MONOTONIC ns; 0 = none), then calls tick(tick_ctx, now). */
void pal_k8s_http_set_tick(struct pal_k8s_http *h, void (*tick)(void *ctx, uint64_t now_ns),
			   void *tick_ctx);
void pal_k8s_http_wake_at(struct pal_k8s_http *h, uint64_t when_ns);
/* The same, unless an earlier tick is already due. */
void pal_k8s_http_wake_before(struct pal_k8s_http *h, uint64_t when_ns);
/* Ends every request (without done) and frees h. */
void pal_k8s_http_close(struct pal_k8s_http *h);

#endif
