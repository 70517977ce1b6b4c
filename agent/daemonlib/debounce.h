/* Debounce of file-change events: re-apply once the files have been quiet for `quiet` ns, but
 * never later than `max` ns after the first change of a burst, so a stream of writes cannot
 * postpone enforcement forever. The main loop arms a timerfd at pald_debounce_deadline().
 * Pure: times are passed in (unit-tested).
 */
#ifndef PALD_DEBOUNCE_H
#define PALD_DEBOUNCE_H

#include <stdbool.h>
#include <stdint.h>

/* Chosen for the 100 ms change-to-enforcement target: an editor's rename-write or a ConfigMap
 * swap is a burst of events within a few ms; compile and apply take well under 50 ms. */
#define PALD_DEBOUNCE_QUIET_NS (15ull * 1000000)
#define PALD_DEBOUNCE_MAX_NS (50ull * 1000000)
/* Kubernetes watch events arrive whole (a burst is read in one pass of the loop, a relist is
 * applied at once): the quiet only has to gather what the loop reads back to back, and every ms
 * of it counts against the 100 ms from watch event to enforcement. A steady stream of events still
 * batches: the events that come during a reload are all taken by the next one. */
#define PALD_DEBOUNCE_K8S_QUIET_NS (2ull * 1000000)

struct pald_debounce {
	uint64_t quiet_ns, max_ns;
	uint64_t first_ns, last_ns;
	bool pending;
};

void pald_debounce_init(struct pald_debounce *d, uint64_t quiet_ns, uint64_t max_ns);
/* A change was seen at now. */
void pald_debounce_event(struct pald_debounce *d, uint64_t now_ns);
/* When to act: 0 when nothing is pending. */
uint64_t pald_debounce_deadline(const struct pald_debounce *d);
/* True (and the burst is consumed) when a pending burst is due at now. */
bool pald_debounce_fire(struct pald_debounce *d, uint64_t now_ns);

#endif
