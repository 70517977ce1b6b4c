/* Datapath events (denies and Log rule hits) as the agent reports them.
 *
 *   - pald_event_json: one JSON object per event, the line format of the event socket (what
 *     `polctl monitor -o json` prints) and the fields of the agent's log line;
 *   - pald_log_event: writes such an object to the log (every field a key=value);
 *   - pald_rate: the token bucket that limits how many denies reach the log (a flood must not
 *     flood the journal; the rest is counted as suppressed).
 * Pure: libc and jansson (unit-tested).
 */
#ifndef PALD_LOG_EVENT_H
#define PALD_LOG_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "palisade/abi.h"

/* ifname: the interface's name (NULL: "ifINDEX"); endpoint: "workload/NS/NAME" or "host//NAME"
 * or NULL; rule: the rule's metadata (kind, tier, policy, namespace, dir, index, action) or NULL;
 * wall_ns: the event's time on CLOCK_REALTIME. NULL when out of memory. */
json_t *pald_event_json(const struct pal_event *e, const char *ifname, const char *endpoint,
			json_t *rule, int64_t wall_ns);
/* "2026-11-29T00:12:03.123Z" into buf (size >= 32). */
const char *pald_event_time(int64_t wall_ns, char *buf, size_t size);
/* One log line: msg and every member of o as a field (strings, integers, reals; null skipped). */
void pald_log_event(enum pald_log_level lvl, const char *msg, json_t *o);

/* Token bucket: `rate` tokens a second, at most `burst` saved up. */
struct pald_rate {
	double rate, burst, tokens;
	uint64_t last_ns;
};
void pald_rate_init(struct pald_rate *r, double rate, double burst, uint64_t now_ns);
/* Takes a token if there is one. */
bool pald_rate_take(struct pald_rate *r, uint64_t now_ns);

#endif
