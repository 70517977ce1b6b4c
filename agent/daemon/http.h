/* The health and metrics endpoint: a minimal HTTP/1.0 server for GET requests.
 *
 * Single-threaded and non-blocking: every socket lives in the agent's epoll loop (loop.h), a
 * request is at most PALD_HTTP_REQ_MAX bytes, at most PALD_HTTP_MAX_CONNS connections are open
 * at once (the oldest is dropped for a new one) and an idle connection is closed after
 * PALD_HTTP_IDLE_MS, so a slow or hostile client can never stall policy updates.
 * Every response closes the connection (HTTP/1.0 semantics).
 *
 * The parser and the growable buffer (http_*.c) are pure and unit-tested; the server (httpd.c)
 * needs sockets and the loop.
 */
#ifndef PALD_HTTP_H
#define PALD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define PALD_HTTP_REQ_MAX 2048
#define PALD_HTTP_MAX_CONNS 16
#define PALD_HTTP_IDLE_MS 5000

/* A growable text buffer (response bodies, metrics). */
struct pald_buf {
	char *p;
	size_t len, cap;
	bool oom; /* an append failed; the content is incomplete */
};

__attribute__((format(printf, 2, 3))) void pald_buf_printf(struct pald_buf *b, const char *fmt, ...);
void pald_buf_puts(struct pald_buf *b, const char *s);
void pald_buf_append(struct pald_buf *b, const void *data, size_t n);
void pald_buf_free(struct pald_buf *b);

struct pald_http_req {
	char method[16];
	char path[256]; /* without the query string */
};

/* Parses the request head in buf[0..len): 0 when complete (through the blank line), -EAGAIN when
 * more bytes are needed, -EINVAL when malformed, -E2BIG when longer than PALD_HTTP_REQ_MAX. */
int pald_http_parse(const char *buf, size_t len, struct pald_http_req *req);

/* Formats a full response (status line, Content-Type, Content-Length, Connection: close) into
 * out. */
void pald_http_format_response(struct pald_buf *out, int status, const char *content_type,
			       const char *body, size_t body_len);
const char *pald_http_reason(int status);

/* The application's answer for one request: fill status, content type and body. */
typedef void (*pald_http_handler)(void *ctx, const struct pald_http_req *req, int *status,
				  const char **content_type, struct pald_buf *body);

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
