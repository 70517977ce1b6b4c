/* Direct key tables of a list's bitmap form (abi.h "Direct key tables"): the protocol, port and
 * ICMP classes by array indexing in the list's pal_words region, so a new flow's step 1 makes no
 * LPM lookup for those fields. maps_sync.c lays them out in the list's image. */
#ifndef PALISADE_KEY_TABLES_H
#define PALISADE_KEY_TABLES_H

#include <stdint.h>
#include <palisade/abi.h>
#include "flatten.h"

/* One field's table image: its class values' words (filled once the class values are final),
 * then the table (class ids). */
struct pal_key_table {
	uint64_t *words; /* NULL: the field keeps its LPM lookup */
	uint32_t n_words;
	uint32_t n_classes;
};

struct pal_key_tables {
	struct pal_key_table f[PAL_FIELD_COUNT];
};

/* Builds the tables of t's protocol, port and ICMP fields that get one: lists over
 * PAL_SMALL_ENTRIES entries (a shorter one is classified by its linear form), fields with more
 * than one class, within abi.h's limits. Returns 0 or -ENOMEM. */
int pal_key_tables_build(const struct pal_cls_tables *t, struct pal_key_tables *kt);
void pal_key_tables_free(struct pal_key_tables *kt);

/* Words of field f's table image, 0 when it has none. */
static inline uint32_t pal_key_table_words(const struct pal_key_tables *kt, int f)
{
	return kt->f[f].words ? kt->f[f].n_words : 0;
}

/* Writes class values cv (n_classes of them, final word indexes) at the start of the image. */
void pal_key_table_put_classes(struct pal_key_table *k, const struct pal_class *cv);

/* Writes the pal_hosts entries (map fd) of list id's address fields with a host table. Returns
 * the fields written (bit f); a field whose hosts did not all fit (pal_hosts full) has its
 * entries removed again and must keep its LPM lookup. */
uint32_t pal_key_hosts_write(int fd, const struct pal_cls_tables *t, const struct pal_key_tables *kt,
			     uint32_t id);

/* Deletes every pal_hosts entry of the given lists (one scan of the map). Returns 0 or -errno. */
int pal_key_hosts_delete(int fd, const uint32_t *ids, size_t n);

#endif
