/* The agent's event loop: one epoll set, one callback per file descriptor.
 *
 * Everything the agent waits for (signals via signalfd, inotify, netlink, the debounce timerfd,
 * HTTP sockets) is a pald_watcher here, so there is exactly one place that blocks and no threads.
 */
#ifndef PALD_LOOP_H
#define PALD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct pald_watcher;
typedef void (*pald_watch_cb)(struct pald_watcher *w, uint32_t events);

struct pald_watcher {
	int fd;
	pald_watch_cb cb;
	void *data;
};

struct pald_loop {
	int epfd;
	bool stop;
};

int pald_loop_init(struct pald_loop *l);
/* events: EPOLLIN / EPOLLOUT ...; the watcher must stay valid until removed. 0 or -errno. */
int pald_loop_add(struct pald_loop *l, struct pald_watcher *w, uint32_t events);
int pald_loop_mod(struct pald_loop *l, struct pald_watcher *w, uint32_t events);
void pald_loop_del(struct pald_loop *l, struct pald_watcher *w);
/* Waits up to timeout_ms (-1 = forever) and dispatches ready watchers. 0 or -errno. */
int pald_loop_run_once(struct pald_loop *l, int timeout_ms);
void pald_loop_close(struct pald_loop *l);
/* CLOCK_MONOTONIC in ns and ms. */
uint64_t pald_now_ns(void);
uint64_t pald_now_ms(void);
/* CLOCK_REALTIME in seconds (timestamps for metrics). */
double pald_now_unix(void);

#endif
