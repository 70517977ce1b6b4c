/* HTTP request-head parsing and response formatting (see http.h). Only what a health probe and a
 * Prometheus scraper send is needed: the request line; headers are skipped. */
#include "http.h"

#include <errno.h>
#include <string.h>

int pald_http_parse(const char *buf, size_t len, struct pald_http_req *req)
{
	const char *end = NULL, *eol, *sp1, *sp2, *q;
	size_t n;

	memset(req, 0, sizeof(*req));
	/* The head ends at the first empty line; accept bare LF too (curl never sends it, netcat
	 * users do). */
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			end = buf + i + 2;
			break;
		}
		if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 4;
			break;
		}
	}
	if (!end)
		return len >= PALD_HTTP_REQ_MAX ? -E2BIG : -EAGAIN;
	if ((size_t)(end - buf) > PALD_HTTP_REQ_MAX)
		return -E2BIG;

	eol = memchr(buf, '\n', (size_t)(end - buf));
	if (eol > buf && eol[-1] == '\r')
		eol--;
	/* METHOD SP TARGET SP HTTP/x.y */
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof(req->method))
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1 || (size_t)(eol - sp2 - 1) < 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0)
		return -EINVAL;
	for (const char *c = buf; c < sp1; c++)
		if (*c < 'A' || *c > 'Z')
			return -EINVAL;
	if (sp1[1] != '/')
		return -EINVAL; /* origin-form only: no proxies, no absolute URIs */
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	n = (size_t)((q ? q : sp2) - (sp1 + 1));
	if (n >= sizeof(req->path))
		return -E2BIG;
	for (const char *c = sp1 + 1; c < sp1 + 1 + n; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return -EINVAL;
	memcpy(req->method, buf, (size_t)(sp1 - buf));
	memcpy(req->path, sp1 + 1, n);
	return 0;
}

const char *pald_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

void pald_http_format_response(struct pal_strbuf *out, int status, const char *content_type,
			         const char *body, size_t body_len)
{
	pal_strbuf_printf(out,
			  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  status, pald_http_reason(status), content_type, body_len);
	pal_strbuf_append(out, body, body_len);
}
