/* The linear form of a short rule list (abi.h struct pal_small_list, map pal_small): built from
 * the flattener's tables, written beside the list's bitmap form when it fits. */
#ifndef PALISADE_SMALL_LIST_H
#define PALISADE_SMALL_LIST_H

#include <palisade/abi.h>
#include "flatten.h"

struct pal_datapath;

/* Fills *sl from t. Returns 0, or -E2BIG when the list does not fit the linear form (too many
 * entries, key ranges or prefixes): it then has only its bitmap form. */
int pal_small_list_build(const struct pal_cls_tables *t, struct pal_small_list *sl);

/* The linear form of t in *out (allocated; free() it), or *out = NULL when t has none: too many
 * entries, key ranges or prefixes. Returns 0, -ENOMEM, or -EINVAL for tables that break
 * flatten.h's promises. */
int pal_small_list_new(const struct pal_cls_tables *t, struct pal_small_list **out);

/* The pal_small slot of a list id with PAL_LIST_ID_SMALL (abi.h). */
uint32_t pal_small_list_slot(uint32_t id);

/* Writes sl as list id's linear form, into the slot id names (id has PAL_LIST_ID_SMALL, and no
 * packet reads the slot: the id is not yet reachable). Stamps sl with id. Returns 0 or -errno. */
int pal_small_list_write(struct pal_datapath *dp, uint32_t id, struct pal_small_list *sl);

/* Empties list id's slot, if it has one (once no packet reads the list). Returns 0 or -errno. */
int pal_small_list_delete(struct pal_datapath *dp, uint32_t id);

/* Reads list id's linear form from pal_small (fd) into *sl: 0, or -ENOENT when it has none. */
int pal_small_list_read(int fd, uint32_t id, struct pal_small_list *sl);

#endif
