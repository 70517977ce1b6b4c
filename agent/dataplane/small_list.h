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

/* Writes list id's linear form when t fits it, else makes sure id has none (a leftover entry of
 * an earlier list with the same id would answer for this one). Returns 0 or -errno. */
int pal_small_list_write(struct pal_datapath *dp, const struct pal_cls_tables *t, uint32_t id);

/* Removes list id's linear form, if any. Returns 0 or -errno. */
int pal_small_list_delete(struct pal_datapath *dp, uint32_t id);

#endif
