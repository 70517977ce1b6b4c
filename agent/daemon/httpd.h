/* The health and metrics endpoint: a minimal HTTP/1.0 server for GET requests.
 *
 * Single-threaded and non-blocking: every socket lives in the agent's epoll loop (loop.h), a
 * request is at most PALD_HTTP_REQ_MAX bytes, at most PALD_HTTP_MAX_CONNS connections are open
 * at once (the oldest is dropped for a new one) and an idle connection is closed after
 * PALD_HTTP_IDLE_MS, so a slow or hostile client can never stall policy updates.
 * Every response closes the connection (HTTP/1.0 semantics).
 *
 * The parser and the growable buffer (agent/daemonlib/http.h) are pure and unit-tested; the
 * server (httpd.c) needs sockets and the loop.
 */
#ifndef PALD_HTTPD_H
#define PALD_HTTPD_H

#include <stdint.h>

#include "http.h"
#include "loop.h"

#define PALD_HTTP_MAX_CONNS 16
#define PALD_HTTP_IDLE_MS 5000

/* The application's answer for one request: fill status, content type and body. */
typedef void (*pald_http_handler)(void *ctx, const struct pald_http_req *req, int *status,
				  const char **content_type, struct pal_strbuf *body);

struct pald_http_conn;

struct pald_http_server {
	struct pald_loop *loop;
	struct pald_watcher listener;
	pald_http_handler handler;
	void *ctx;
	char name[16]; /* "health" or "metrics", for logs */
	struct pald_http_conn *conns[PALD_HTTP_MAX_CONNS];
};

/* Binds and listens on addr (a struct sockaddr of len bytes); the socket joins loop. */
int pald_http_open(struct pald_http_server *s, struct pald_loop *loop, const char *name,
		   const void *addr, unsigned len, pald_http_handler handler, void *ctx);
/* Closes idle connections; call periodically (the loop's tick). */
void pald_http_expire(struct pald_http_server *s, uint64_t now_ms);
void pald_http_close(struct pald_http_server *s);

#endif
