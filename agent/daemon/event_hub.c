/* Datapath events: log lines and the event socket (see event_hub.h). */
#include "event_hub.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct pald_event_client {
	struct pald_watcher w;
	struct pald_event_hub *hub;
	char *buf;
	size_t off, len; /* unsent bytes: buf[off, len) */
	uint64_t dropped, dropped_told;
	struct pald_event_client *next;
};

static void client_close(struct pald_event_client *c)
{
	struct pald_event_hub *h = c->hub;

	for (struct pald_event_client **p = &h->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	pald_loop_del(h->loop, &c->w);
	close(c->w.fd);
	free(c->buf);
	free(c);
	h->metrics->events_clients--;
}

/* Appends a line if it fits in the client's queue. */
static bool client_queue(struct pald_event_client *c, const char *line, size_t n)
{
	if (c->len - c->off + n > PALD_EVENT_CLIENT_QUEUE)
		return false;
	if (c->off && c->len + n > PALD_EVENT_CLIENT_QUEUE) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	memcpy(c->buf + c->len, line, n);
	c->len += n;
	return true;
}

static void client_want_write(struct pald_event_client *c, bool on)
{
	pald_loop_mod(c->hub->loop, &c->w, EPOLLIN | (on ? EPOLLOUT : 0));
}

static void client_send(struct pald_event_client *c, const char *line, size_t n)
{
	bool was_empty = c->off == c->len;

	if (c->dropped > c->dropped_told) {
		char note[64];
		int k = snprintf(note, sizeof(note), "{\"type\":\"dropped\",\"count\":%llu}\n",
				 (unsigned long long)c->dropped);

		if (!client_queue(c, note, (size_t)k)) {
			c->dropped++;
			c->hub->metrics->events_client_dropped++;
			return;
		}
		c->dropped_told = c->dropped;
	}
	if (!client_queue(c, line, n)) {
		c->dropped++;
		c->hub->metrics->events_client_dropped++;
		return;
	}
	if (was_empty)
		client_want_write(c, true);
}

static void on_client(struct pald_watcher *w, uint32_t events)
{
	struct pald_event_client *c = w->data;
	char junk[256];

	if (events & (EPOLLHUP | EPOLLERR)) {
		client_close(c);
		return;
	}
	if (events & EPOLLIN) {
		ssize_t r = read(w->fd, junk, sizeof(junk)); /* clients send nothing; EOF = gone */

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
	}
	if ((events & EPOLLOUT) && c->off < c->len) {
		ssize_t r = send(w->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			client_close(c);
			return;
		}
		if (r > 0)
			c->off += (size_t)r;
		if (c->off == c->len) {
			c->off = c->len = 0;
			client_want_write(c, false);
		}
	}
}

static void on_listen(struct pald_watcher *w, uint32_t events)
{
	struct pald_event_hub *h = w->data;
	struct pald_event_client *c;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	(void)events;

	if (fd < 0)
		return;
	if (h->metrics->events_clients >= PALD_EVENT_MAX_CLIENTS) {
		pald_log(PALD_LOG_WARN, "too many event clients: refused one",
			 PALD_I("max", PALD_EVENT_MAX_CLIENTS));
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->buf = malloc(PALD_EVENT_CLIENT_QUEUE))) {
		free(c);
		close(fd);
		return;
	}
	c->w = (struct pald_watcher){ fd, on_client, c };
	c->hub = h;
	if (pald_loop_add(h->loop, &c->w, EPOLLIN)) {
		free(c->buf);
		free(c);
		close(fd);
		return;
	}
	c->next = h->clients;
	h->clients = c;
	h->metrics->events_clients++;
}

static const char *ifname_of(struct pald_event_hub *h, uint32_t ifindex)
{
	size_t slot = ifindex % (sizeof(h->ifname_cache) / sizeof(h->ifname_cache[0]));

	if (h->ifname_cache[slot].ifindex != ifindex || !h->ifname_cache[slot].name[0]) {
		h->ifname_cache[slot].ifindex = ifindex;
		if (!if_indextoname(ifindex, h->ifname_cache[slot].name))
			h->ifname_cache[slot].name[0] = '\0';
	}
	return h->ifname_cache[slot].name[0] ? h->ifname_cache[slot].name : NULL;
}

/* One event from the datapath: counted; logged (Log hits always, denies within the rate);
 * sent to every client. The JSON object is built only when someone reads it. */
static void on_event(void *arg, const struct pal_event *e, const char *endpoint, json_t *rule)
{
	struct pald_event_hub *h = arg;
	bool is_log = e->type == PAL_EVENT_LOG;
	bool to_log = is_log || pald_rate_take(&h->deny_rate, pald_now_ns());
	json_t *o = NULL;
	char *line;

	if (is_log)
		h->metrics->events_log++;
	else
		h->metrics->events_deny++;
	if (!is_log && to_log)
		h->metrics->deny_log_lines++;
	else if (!is_log)
		h->metrics->deny_log_suppressed++;
	if (!to_log && !h->clients)
		return;
	o = pald_event_json(e, ifname_of(h, e->ifindex), endpoint, rule,
			    (int64_t)e->ts_ns + h->wall_minus_mono);
	if (!o)
		return;
	if (to_log)
		pald_log_event(PALD_LOG_INFO, is_log ? "log rule hit" : "packet denied", o);
	if (h->clients && (line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		size_t n = strlen(line);

		line[n] = '\n'; /* json_dumps's NUL: the line's end (n + 1 bytes sent) */
		for (struct pald_event_client *c = h->clients, *next; c; c = next) {
			next = c->next;
			client_send(c, line, n + 1);
		}
		free(line);
	}
	json_decref(o);
}

static void on_ring(struct pald_watcher *w, uint32_t events)
{
	struct pald_event_hub *h = w->data;
	int rc = h->be->ops->events_read(h->be->ctx, PALD_EVENT_BATCH);
	(void)events;

	if (rc < 0 && rc != -EINTR)
		pald_log(PALD_LOG_ERROR, "reading datapath events", PALD_S("error", strerror(-rc)));
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Does some process accept connections on the socket at sa (another palisaded, on another pin
 * directory but the same socket path)? */
static bool socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;

	if (fd >= 0)
		close(fd);
	return used;
}

/* Bind the socket with its final mode already (the umask around bind) and give it to the group
 * with lchown, which does not follow a symlink: a chmod or chown by path after bind would follow
 * one that a local user renamed over the new socket, and hand the file it points at (say
 * /etc/shadow) to the group. Who may connect: root (0600), or the members of group gid too
 * (0660, owned by it). */
static int bind_granted(int fd, const struct sockaddr_un *sa, long gid)
{
	mode_t was = umask(gid < 0 ? 0177 : 0117);
	int rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));

	umask(was);
	if (rc || gid < 0)
		return rc;
	return lchown(sa->sun_path, (uid_t)-1, (gid_t)gid);
}

/* A directory another user may write to (not ours, or group/other-writable without the sticky
 * bit) lets that user swap the socket for something else between our unlink and bind: refuse. */
static bool dir_is_ours(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && st.st_uid == geteuid() &&
	       (!(st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_mode & S_ISVTX));
}

/* The socket's directory (0755, created if missing), a stale socket removed, its mode set by
 * bind_granted; a directory other users may write to refused. */
static int listen_unix(const char *path, long gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[sizeof(sa.sun_path)];
	const char *dir;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(buf, path);
	dir = dirname(buf);
	/* A directory it creates is 0755 whatever the umask (the unit's is 0077): a group given the
	 * socket must reach it. One that exists is left as it is. */
	if (mkdir(dir, 0755) == 0) {
		if (chmod(dir, 0755))
			return -errno;
	} else if (errno != EEXIST) {
		return -errno;
	}
	if (!dir_is_ours(dir))
		return -EPERM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket file nobody accepts on is a dead agent's; a live one is another agent's (on
	 * another pin directory): never take it over. */
	if (socket_in_use(&sa)) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind_granted(fd, &sa, gid) ||
	    listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int pald_event_hub_open(struct pald_event_hub *h, struct pald_loop *loop, struct pald_backend *be,
			struct pald_metrics *m, const char *path, long gid)
{
	int fd;

	h->loop = loop;
	h->be = be;
	h->metrics = m;
	h->ring_w.fd = h->listen_w.fd = -1;
	h->wall_minus_mono = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	pald_rate_init(&h->deny_rate, PALD_DENY_LOG_RATE, PALD_DENY_LOG_BURST, pald_now_ns());
	if (be->ops->events_open) {
		fd = be->ops->events_open(be->ctx, on_event, h);
		if (fd < 0) {
			pald_log(PALD_LOG_ERROR, "cannot read the datapath's events",
				 PALD_S("error", strerror(-fd)));
			return fd;
		}
		h->ring_w = (struct pald_watcher){ fd, on_ring, h };
		if (pald_loop_add(loop, &h->ring_w, EPOLLIN))
			return -errno;
	}
	if (!path)
		return 0;
	fd = listen_unix(path, gid);
	if (fd < 0) {
		pald_log(PALD_LOG_ERROR, "cannot listen on the event socket", PALD_S("path", path),
			 PALD_S("error", fd == -EADDRINUSE ? "another palisaded listens there (give "
							     "each agent its own --events-socket)" :
					 fd == -EPERM ? "its directory is not the agent's own or other "
							"users may write to it: choose one only the agent "
							"can write" :
							strerror(-fd)));
		return fd;
	}
	h->listen_w = (struct pald_watcher){ fd, on_listen, h };
	if (!(h->path = strdup(path)) || pald_loop_add(loop, &h->listen_w, EPOLLIN)) {
		close(fd);
		h->listen_w.fd = -1;
		return -ENOMEM;
	}
	pald_log(PALD_LOG_INFO, "event socket listening", PALD_S("path", path),
		 PALD_S("mode", gid < 0 ? "0600 (root only)" : "0660 (its group too)"));
	return 0;
}

void pald_event_hub_tick(struct pald_event_hub *h)
{
	uint64_t s = h->metrics->deny_log_suppressed;

	if (s > h->suppressed_logged) {
		pald_log(PALD_LOG_WARN, "deny events suppressed by the log rate limit",
			 PALD_I("suppressed", s - h->suppressed_logged), PALD_I("total", s),
			 PALD_F("rate_per_second", PALD_DENY_LOG_RATE));
		h->suppressed_logged = s;
	}
	memset(h->ifname_cache, 0, sizeof(h->ifname_cache));
}

void pald_event_hub_close(struct pald_event_hub *h)
{
	while (h->clients)
		client_close(h->clients);
	if (h->listen_w.fd >= 0) {
		pald_loop_del(h->loop, &h->listen_w);
		close(h->listen_w.fd);
		h->listen_w.fd = -1;
		unlink(h->path);
	}
	if (h->ring_w.fd >= 0)
		pald_loop_del(h->loop, &h->ring_w); /* the fd is the backend's */
	h->ring_w.fd = -1;
	free(h->path);
	h->path = NULL;
}
