/* Rule lists by content: a list whose words, entries and classes would be exactly those of a
 * live list this process wrote is not written again; the new interface value points at the live
 * one. An apply then writes (and later deletes) only the lists that changed, instead of every
 * endpoint's lists; endpoints with identical lists share one.
 *
 * Each pal_dp_list_write() hands its caller one reference to the list (new or reused), which
 * pal_dp_lists_delete() gives back; the list is deleted when its last reference goes. Lists this
 * process did not write (adopted from the pins on a restart) are counted too, one reference per
 * interface slot naming them (an earlier agent may have shared one between interfaces), but
 * never reused: their content is not known.
 *
 * Invalidation rule: the digest is a SHA-256 over everything written for the list except its
 * position (the words, the entries, every class key and value relative to the list's region, the
 * list's counts), so a list is reused only when writing it again would write the same bytes.
 */
#ifndef PAL_DP_LIST_REUSE_H
#define PAL_DP_LIST_REUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAL_DP_LIST_DIGEST_LEN 32

struct pal_dp_live_list {
	uint8_t digest[PAL_DP_LIST_DIGEST_LEN];
	uint32_t id;
	uint32_t refs;
	bool adopted; /* from the pins: digest unknown, never reused */
};

struct pal_dp_live_lists {
	struct pal_dp_live_list *v;
	size_t n, cap;
};

/* The live list with this digest, with one more reference (*id set): true; false when none. */
bool pal_dp_live_take(struct pal_dp_live_lists *t, const uint8_t *digest, uint32_t *id);
/* A list just written, with its one reference. Out of memory: not recorded (it is then never
 * reused and deleted on its first release, as before). */
void pal_dp_live_add(struct pal_dp_live_lists *t, const uint8_t *digest, uint32_t id);
/* A restart: one more reference to the pinned list id (an interface slot names it). */
void pal_dp_live_adopt(struct pal_dp_live_lists *t, uint32_t id);
/* Gives back one reference to id: true while other references hold it (do not delete it);
 * false when it is to be deleted (its last reference, or a list not in the table). */
bool pal_dp_live_release(struct pal_dp_live_lists *t, uint32_t id);
void pal_dp_live_free(struct pal_dp_live_lists *t);

#endif
