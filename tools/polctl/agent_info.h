/* What polctl can learn about the agent and the pinned datapath without asking the agent and
 * without the pinned layout matching its own: which process holds the pin directory, which
 * version that process runs, and which layout version is pinned. `status` and `version` use it. */
#ifndef POLCTL_AGENT_INFO_H
#define POLCTL_AGENT_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "palisade/abi.h"

/* The pid holding palisaded's lock on the pin directory dir, 0 when none. */
long polctl_agent_pid(const char *dir);

/* The version embedded in the running executable of pid (the PALISADE_VERSION_SECTION section of
 * /proc/PID/exe). 0, or -errno (-ENOENT when the executable has no such section: not palisaded,
 * or a build from before the version was embedded). */
int polctl_agent_version(long pid, char *buf, size_t len);

/* {running, pid, version} of the agent holding dir; pid and version are null when unknown. */
json_t *polctl_agent_json(const char *dir);

#endif
