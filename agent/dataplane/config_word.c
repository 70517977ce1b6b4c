/* pal_config, the datapath's global settings (policy generation, endpoint-to-host action),
 * written through a shared mapping of the ARRAY map.
 *
 * Every packet's flow check reads pal_config; an ARRAY lookup with a constant key is inlined by
 * the verifier, where a HASH lookup (the former layout) cost ~40 ns per packet. An array value is
 * updated in place, though, so a packet may read it while it changes. The writer therefore never
 * lets a packet see a half-written field or a new generation with an older setting:
 *   - each field is one aligned 32-bit word, written with one atomic store;
 *   - the settings are written first, the generation last (release), so a packet that reads the
 *     new generation also reads the settings that go with it; one that reads the old generation
 *     and a new setting records its flow under the old generation and re-judges it (as a packet
 *     that started before the change does).
 * Read-only openers (polctl) read it with bpf_map_lookup_elem. */
#include <errno.h>
#include <sys/mman.h>
#include "datapath_internal.h"

int pal_dp_config_load(struct pal_datapath *dp)
{
	int err = 0;

	if (dp->read_only)
		return 0;
	dp->config = pal_dp_map_rw(dp, MFD(dp, pal_config), sizeof(struct pal_config), "pal_config",
				   &dp->config_len, &err);
	return err;
}

void pal_dp_config_unload(struct pal_datapath *dp)
{
	if (dp->config)
		munmap(dp->config, dp->config_len);
	dp->config = NULL;
}

int pal_dp_config_store(struct pal_datapath *dp, const struct pal_config *c)
{
	struct pal_config *m = dp->config;

	if (!m) {
		pal_dp_set_error(dp, "pal_config: the datapath is open read-only");
		return -EPERM;
	}
	__atomic_store_n(&m->flags, c->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&m->event_interval_ns, c->event_interval_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&m->event_burst, c->event_burst, __ATOMIC_RELAXED);
	__atomic_store_n(&m->generation, c->generation, __ATOMIC_RELEASE);
	return 0;
}
