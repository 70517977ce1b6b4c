/* The agent's consumer of the datapath's events (the pal_events ring buffer, through the
 * backend's events_* ops) and their fan-out.
 *
 *   ring buffer ─► event_hub ─┬─► log: every Log rule hit; denies through a token bucket
 *                             │        (PALD_DENY_LOG_RATE a second), the rest counted as suppressed
 *                             │        (the datapath's own rate limit, --event-rate, comes first:
 *                             │        what it does not send it counts, per interface)
 *                             └─► event socket (unix, 0600): every event to every connected
 *                                  `polctl monitor`, one JSON object per line
 *
 * Each client has its own bounded queue (PALD_EVENT_CLIENT_QUEUE bytes): a client that reads too
 * slowly loses events (counted, and told with a {"type":"dropped","count":N} line as soon as
 * there is room), never the agent's time or another client's events. Reads from the ring buffer
 * are bounded per loop turn (PALD_EVENT_BATCH), so a flood cannot starve signals, reloads or HTTP.
 */
#ifndef PALD_EVENT_HUB_H
#define PALD_EVENT_HUB_H

#include <stdint.h>

#include "backend.h"
#include "log_event.h"
#include "loop.h"
#include "metrics.h"

#define PALD_DENY_LOG_RATE 20.0   /* deny log lines a second, on average */
#define PALD_DENY_LOG_BURST 100.0 /* ... and at most this many at once */
#define PALD_EVENT_CLIENT_QUEUE (1u << 20)
#define PALD_EVENT_MAX_CLIENTS 64
#define PALD_EVENT_BATCH 1024

struct pald_event_client;

struct pald_event_hub {
	struct pald_loop *loop;
	struct pald_backend *be;
	struct pald_metrics *metrics; /* events_* fields kept current */
	struct pald_watcher ring_w, listen_w;
	char *path; /* the socket, NULL when off */
	struct pald_event_client *clients;
	struct pald_rate deny_rate;
	int64_t wall_minus_mono; /* event timestamps are CLOCK_MONOTONIC */
	uint64_t suppressed_logged; /* suppressed count at the last summary line */
	struct {
		uint32_t ifindex;
		char name[16];
	} ifname_cache[32];
};

/* Starts reading events (when the backend has them) and listening on path (NULL: no socket),
 * root only (0600), or for group gid too (0660, owned by it) when gid >= 0. 0 or -errno
 * (logged). */
int pald_event_hub_open(struct pald_event_hub *h, struct pald_loop *loop, struct pald_backend *be,
			struct pald_metrics *m, const char *path, long gid);
/* About once a second: a summary line for denies suppressed since the last one, a fresh
 * interface-name cache. */
void pald_event_hub_tick(struct pald_event_hub *h);
void pald_event_hub_close(struct pald_event_hub *h);

#endif
