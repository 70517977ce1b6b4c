/* Which programs are palisade's: by name and by the pal_ifaces map they read (prog_owner.c). */
#ifndef PAL_PROG_OWNER_H
#define PAL_PROG_OWNER_H

#include <stdint.h>

struct pal_datapath;

/* The id of this datapath's pal_ifaces map (every program of palisade's reads it), 0 when unknown. */
uint32_t pal_dp_ifaces_map_id(struct pal_datapath *dp);
/* 1 when program id is named `name` and reads pal_ifaces map map_id (0: the name only), 0 when it
 * is not (or is gone), -errno when that cannot be told. */
int pal_dp_prog_is_ours(uint32_t id, const char *name, uint32_t map_id);
/* Program ids of palisade's filters (0 = none); -errno when the kernel could not say (the ids it
 * could tell are still set). */
int pal_dp_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id);
/* 1: both of palisade's filters are on the device and run programs named as palisade's (any
 * build) that read this datapath's pal_ifaces; 0: they are not; -errno: unknown (a query failed),
 * which proves neither. */
int pal_dp_tc_is_ours(struct pal_datapath *dp, int ifindex);

#endif
