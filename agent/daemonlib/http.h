/* The pure half of the health and metrics endpoint (the server is agent/daemon/httpd.h): the
 * HTTP/1.0 request-head parser and the response formatter, into a pal_strbuf (strbuf.h). libc
 * only, in the core library, unit-tested.
 */
#ifndef PALD_HTTP_H
#define PALD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define PALD_HTTP_REQ_MAX 2048

struct pald_http_req {
	char method[16];
	char path[256]; /* without the query string */
};

/* Parses the request head in buf[0..len): 0 when complete (through the blank line), -EAGAIN when
 * more bytes are needed, -EINVAL when malformed, -E2BIG when longer than PALD_HTTP_REQ_MAX. */
int pald_http_parse(const char *buf, size_t len, struct pald_http_req *req);

/* Formats a full response (status line, Content-Type, Content-Length, Connection: close) into
 * out. */
void pald_http_format_response(struct pal_strbuf *out, int status, const char *content_type,
			       const char *body, size_t body_len);
const char *pald_http_reason(int status);

#endif
