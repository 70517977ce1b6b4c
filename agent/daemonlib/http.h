/* The pure half of the health and metrics endpoint (the server is agent/daemon/httpd.h): a
 * growable text buffer, the HTTP/1.0 request-head parser and the response formatter. libc only,
 * in the core library, unit-tested.
 */
#ifndef PALD_HTTP_H
#define PALD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PALD_HTTP_REQ_MAX 2048

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

#endif
