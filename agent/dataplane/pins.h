/* The pinned maps by index, and opening them: one function for the loader's read-only open
 * (datapath.c) and polctl's live commands (tools/polctl/live.c), so both refuse pins of another
 * layout the same way. Needs libbpf's bpf(2) wrappers only, no BPF object: polctl links it. */
#ifndef PALISADE_PINS_H
#define PALISADE_PINS_H

#include <stddef.h>
#include "palisade/abi.h"

/* PAL_M_pal_version, ...: index of a pinned map in abi.h's PAL_PINNED_MAPS order. */
#define PAL_MAP_ENUM(n) PAL_M_##n,
enum pal_map_idx { PAL_PINNED_MAPS(PAL_MAP_ENUM) PAL_M_COUNT };
#undef PAL_MAP_ENUM
extern const char *const pal_map_names[PAL_M_COUNT];

/* Reads DIR/maps/pal_version. 0, or -errno (-ENOENT: nothing pinned there). */
int pal_pins_read_layout(const char *dir, struct pal_version *out);

/* Checks the pinned layout against this build's (magic, PAL_LAYOUT_VERSION, PAL_SUMMARY_WORDS).
 * 0 when they match; -ENOENT when no pal_version is pinned; -EPROTO when it differs or cannot be
 * read, -errno otherwise, with a message in msg saying what was found (callers add their advice). */
int pal_pins_check_layout(const char *dir, char *msg, size_t len);

/* Checks the layout, then opens the first n pinned maps (fds[i]: pal_map_names[i]). On error every
 * fd is -1 and msg names the pin; -ENOENT when the datapath (or one of the n maps) is not pinned,
 * -EPROTO for another layout, -errno otherwise (-EPERM, -EACCES: not root). */
int pal_pins_open(const char *dir, int *fds, int n, char *msg, size_t len);
void pal_pins_close(int *fds, int n);

#endif
