/* The datapath handle, shared by datapath.c, maps_sync.c and attach.c. Not part of the API. */
#ifndef PALISADE_DATAPATH_INTERNAL_H
#define PALISADE_DATAPATH_INTERNAL_H

#include <limits.h>
#include "datapath.h"
#include "region.h"

struct pal_palisade;
struct bpf_program;

struct pal_datapath {
	char dir[PATH_MAX - 1024]; /* room for the suffixes in PATH_MAX buffers */
	char err[512];
	struct pal_palisade *skel;
	struct bpf_program *prog[PAL_PROG_COUNT];
	/* userspace view of the pinned tables (rebuilt from pal_lists on adopt) */
	struct pal_region_alloc words, entries;
	uint32_t next_list_id;
};

/* maps_sync.c: rebuild the allocators from the pinned pal_lists / free them. */
int pal_dp_regions_load(struct pal_datapath *dp);
void pal_dp_regions_free(struct pal_datapath *dp);

#endif
