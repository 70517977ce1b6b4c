/* palisaded's HTTP request parsing and response formatting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../../agent/daemonlib/http.h"

static int parse(const char *s, struct pald_http_req *r)
{
	return pald_http_parse(s, strlen(s), r);
}

Test(daemon_http, complete_requests)
{
	struct pald_http_req r;

	cr_assert_eq(parse("GET /readyz HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-probe/1.29\r\n\r\n", &r), 0);
	cr_expect_str_eq(r.method, "GET");
	cr_expect_str_eq(r.path, "/readyz");
	cr_assert_eq(parse("HEAD /metrics?name[]=x HTTP/1.0\r\n\r\n", &r), 0);
	cr_expect_str_eq(r.method, "HEAD");
	cr_expect_str_eq(r.path, "/metrics", "the query string is dropped");
	cr_assert_eq(parse("GET /livez HTTP/1.0\n\n", &r), 0, "bare LF line ends");
	cr_expect_str_eq(r.path, "/livez");
}

Test(daemon_http, incomplete_requests_wait)
{
	struct pald_http_req r;

	cr_expect_eq(parse("", &r), -EAGAIN);
	cr_expect_eq(parse("GET /livez HTTP/1.0\r\n", &r), -EAGAIN);
	cr_expect_eq(parse("GET /livez HTTP/1.0\r\nHost: x\r\n\r", &r), -EAGAIN);
}

Test(daemon_http, malformed_requests)
{
	static const char *bad[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET /x\r\n\r\n",
		"get /x HTTP/1.0\r\n\r\n",
		"GET x HTTP/1.0\r\n\r\n",
		"GET http://h/x HTTP/1.0\r\n\r\n",
		"GET /x FTP/1.0\r\n\r\n",
		" /x HTTP/1.0\r\n\r\n",
		"GET  HTTP/1.0\r\n\r\n",
		"VERYLONGMETHODNAME /x HTTP/1.0\r\n\r\n",
		"GET /a\x01 HTTP/1.0\r\n\r\n",
	};
	struct pald_http_req r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(bad[i], &r), -EINVAL, "accepted: %s", bad[i]);
}

Test(daemon_http, oversized_requests)
{
	static char big[PALD_HTTP_REQ_MAX + 64];
	struct pald_http_req r;

	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "GET /x HTTP/1.0\r\nX: ", 20);
	cr_expect_eq(parse(big, &r), -E2BIG, "no end of head within the limit");
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 4);
	cr_expect_eq(parse(big, &r), -E2BIG, "a head longer than the limit");

	char path[400] = "GET /";
	memset(path + 5, 'p', 300);
	strcpy(path + 305, " HTTP/1.0\r\n\r\n");
	cr_expect_eq(parse(path, &r), -E2BIG, "path longer than the buffer");
}

Test(daemon_http, response_format)
{
	struct pal_strbuf b = { 0 };

	pald_http_format_response(&b, 503, "text/plain", "degraded\n", 9);
	cr_expect_str_eq(b.p, "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
			      "Content-Length: 9\r\nConnection: close\r\n\r\ndegraded\n");
	pal_strbuf_free(&b);
	pald_http_format_response(&b, 200, "text/plain", "", 0);
	cr_expect(strstr(b.p, "Content-Length: 0\r\n") != NULL);
	cr_expect_eq(strcmp(b.p + b.len - 4, "\r\n\r\n"), 0);
	pal_strbuf_free(&b);
}
