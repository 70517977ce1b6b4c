/* The non-blocking HTTP/1.0 server behind /livez, /readyz and /metrics (see http.h). */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

struct pald_http_conn {
	struct pald_watcher w;
	struct pald_http_server *srv;
	int slot;
	uint64_t opened_ms;
	char req[PALD_HTTP_REQ_MAX + 1];
	size_t req_len;
	struct pal_strbuf out; /* the response, once the request is complete */
	size_t out_off;
};

static void conn_free(struct pald_http_conn *c)
{
	pald_loop_del(c->srv->loop, &c->w);
	close(c->w.fd);
	c->srv->conns[c->slot] = NULL;
	pal_strbuf_free(&c->out);
	free(c);
}

static void respond(struct pald_http_conn *c, int status, const char *ctype,
		    struct pal_strbuf *body, bool head_only)
{
	pald_http_format_response(&c->out, status, ctype, body->p ? body->p : "", body->len);
	if (head_only) /* HEAD: the GET answer's headers, Content-Length included, no body */
		c->out.len -= body->len;
	if (c->out.oom) {
		conn_free(c);
		return;
	}
	pald_loop_mod(c->srv->loop, &c->w, EPOLLOUT);
}

/* Returns false when the request is still incomplete. */
static bool handle_request(struct pald_http_conn *c)
{
	struct pald_http_req req;
	struct pal_strbuf body = { 0 };
	const char *ctype = "text/plain; charset=utf-8";
	int status, rc = pald_http_parse(c->req, c->req_len, &req);

	if (rc == -EAGAIN)
		return false;
	if (rc == -E2BIG) {
		status = 413;
		pal_strbuf_puts(&body, "request too large\n");
	} else if (rc) {
		status = 400;
		pal_strbuf_puts(&body, "bad request\n");
	} else if (strcmp(req.method, "GET") != 0 && strcmp(req.method, "HEAD") != 0) {
		status = 405;
		pal_strbuf_puts(&body, "only GET\n");
	} else {
		status = 404;
		c->srv->handler(c->srv->ctx, &req, &status, &ctype, &body);
	}
	respond(c, status, ctype, &body, rc == 0 && strcmp(req.method, "HEAD") == 0);
	pal_strbuf_free(&body);
	return true;
}

static void conn_cb(struct pald_watcher *w, uint32_t events)
{
	struct pald_http_conn *c = w->data;

	if (c->out.len) { /* writing the response */
		while (c->out_off < c->out.len) {
			ssize_t n = send(w->fd, c->out.p + c->out_off, c->out.len - c->out_off,
					 MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return;
			if (n <= 0)
				break;
			c->out_off += (size_t)n;
		}
		conn_free(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		conn_free(c);
		return;
	}
	bool eof = false;

	for (;;) {
		ssize_t n = recv(w->fd, c->req + c->req_len, PALD_HTTP_REQ_MAX - c->req_len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			conn_free(c);
			return;
		}
		if (n == 0) { /* the client may half-close after sending its request */
			eof = true;
			break;
		}
		c->req_len += (size_t)n;
		if (c->req_len >= PALD_HTTP_REQ_MAX)
			break;
	}
	if (!handle_request(c) && eof)
		conn_free(c); /* closed before a full request */
}

static void accept_cb(struct pald_watcher *w, uint32_t events)
{
	struct pald_http_server *s = w->data;
	(void)events;

	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int slot = -1;
		uint64_t oldest = UINT64_MAX;

		if (fd < 0)
			return; /* EAGAIN, or a transient error: the listener stays armed */
		for (int i = 0; i < PALD_HTTP_MAX_CONNS; i++) {
			if (!s->conns[i]) {
				slot = i;
				break;
			}
			if (s->conns[i]->opened_ms < oldest) {
				oldest = s->conns[i]->opened_ms;
				slot = i;
			}
		}
		if (s->conns[slot])
			conn_free(s->conns[slot]); /* full: the oldest connection gives way */

		struct pald_http_conn *c = calloc(1, sizeof(*c));

		if (!c) {
			close(fd);
			continue;
		}
		c->w = (struct pald_watcher){ .fd = fd, .cb = conn_cb, .data = c };
		c->srv = s;
		c->slot = slot;
		c->opened_ms = pald_now_ms();
		if (pald_loop_add(s->loop, &c->w, EPOLLIN | EPOLLRDHUP)) {
			close(fd);
			free(c);
			continue;
		}
		s->conns[slot] = c;
	}
}

int pald_http_open(struct pald_http_server *s, struct pald_loop *loop, const char *name,
		   const void *addr, unsigned len, pald_http_handler handler, void *ctx)
{
	const struct sockaddr *sa = addr;
	int one = 1, fd, rc;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->handler = handler;
	s->ctx = ctx;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->listener.fd = -1;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) || listen(fd, 64)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	s->listener = (struct pald_watcher){ .fd = fd, .cb = accept_cb, .data = s };
	if ((rc = pald_loop_add(loop, &s->listener, EPOLLIN))) {
		close(fd);
		s->listener.fd = -1;
		return rc;
	}
	return 0;
}

void pald_http_expire(struct pald_http_server *s, uint64_t now_ms)
{
	for (int i = 0; i < PALD_HTTP_MAX_CONNS; i++)
		if (s->conns[i] && now_ms - s->conns[i]->opened_ms > PALD_HTTP_IDLE_MS)
			conn_free(s->conns[i]);
}

void pald_http_close(struct pald_http_server *s)
{
	for (int i = 0; i < PALD_HTTP_MAX_CONNS; i++)
		if (s->conns[i])
			conn_free(s->conns[i]);
	if (s->listener.fd >= 0) {
		pald_loop_del(s->loop, &s->listener);
		close(s->listener.fd);
		s->listener.fd = -1;
	}
}
