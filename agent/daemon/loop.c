/* epoll event loop (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int pald_loop_init(struct pald_loop *l)
{
	l->stop = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

static int ctl(struct pald_loop *l, int op, struct pald_watcher *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, op, w->fd, &ev) ? -errno : 0;
}

int pald_loop_add(struct pald_loop *l, struct pald_watcher *w, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, w, events);
}

int pald_loop_mod(struct pald_loop *l, struct pald_watcher *w, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, w, events);
}

void pald_loop_del(struct pald_loop *l, struct pald_watcher *w)
{
	if (w->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int pald_loop_run_once(struct pald_loop *l, int timeout_ms)
{
	/* One event per call to the callbacks at a time: a callback may close and free another
	 * watcher (an HTTP connection evicted by a new one), so events are not batched. */
	struct epoll_event ev;
	int n = epoll_wait(l->epfd, &ev, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 1) {
		struct pald_watcher *w = ev.data.ptr;

		w->cb(w, ev.events);
	}
	return 0;
}

void pald_loop_close(struct pald_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

uint64_t pald_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t pald_now_ms(void)
{
	return pald_now_ns() / 1000000ull;
}

double pald_now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
