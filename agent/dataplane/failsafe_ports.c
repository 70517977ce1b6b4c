/* pal_fs_ports: the bitmap of (direction, protocol, port) triples that have a failsafe entry in
 * the pal_failsafe trie. Every TCP/UDP packet at XDP, tc ingress and raw OUTPUT asks the trie
 * twice (failsafe, failsafe reply); the bitmap lets the programs skip both LPM lookups for ports
 * that have no failsafe, which is nearly every packet.
 *
 * The bitmap may say more than the trie (the trie decides), never less: a clear bit for a port
 * with a trie entry would make that failsafe miss (policy would judge the packet; a lockout, not
 * a hole, but a failsafe must not miss). So pal_dp_failsafe_sync widens it (OR in the new ports)
 * before it adds trie entries, and makes it exact only after it deleted the old ones. Each word
 * is written with one atomic store through a shared mapping: a packet reads the word before or
 * after, never a mix. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "datapath_internal.h"
#include "model.h"

int pal_dp_fs_ports_load(struct pal_datapath *dp)
{
	int err = 0;

	if (dp->read_only)
		return 0;
	dp->fs_ports = pal_dp_map_rw(dp, MFD(dp, pal_fs_ports), PAL_FS_PORT_WORDS * sizeof(uint64_t),
				     "pal_fs_ports", &dp->fs_ports_len, &err);
	return err;
}

void pal_dp_fs_ports_unload(struct pal_datapath *dp)
{
	if (dp->fs_ports)
		munmap(dp->fs_ports, dp->fs_ports_len);
	dp->fs_ports = NULL;
}

/* The bitmap of the n trie keys in want; NULL when out of memory. */
static uint64_t *ports_of(const struct pal_failsafe_key *want, size_t n)
{
	uint64_t *bm = calloc(PAL_FS_PORT_WORDS, sizeof(*bm));

	if (!bm)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t bit = PAL_FS_PORT_BIT(want[i].dir, want[i].proto == PAL_PROTO_UDP, want[i].port);

		if (want[i].proto == PAL_PROTO_TCP || want[i].proto == PAL_PROTO_UDP) /* as the programs */
			bm[bit / 64] |= 1ull << (bit % 64);
	}
	return bm;
}

static int fs_ports_write(struct pal_datapath *dp, const struct pal_failsafe_key *want, size_t n,
			  bool exact)
{
	uint64_t *bm;

	if (!dp->fs_ports) {
		pal_dp_set_error(dp, "pal_fs_ports: the datapath is open read-only");
		return -EPERM;
	}
	bm = ports_of(want, n);
	if (!bm)
		return -ENOMEM;
	for (uint32_t w = 0; w < PAL_FS_PORT_WORDS; w++) {
		if (exact)
			__atomic_store_n(&dp->fs_ports[w], bm[w], __ATOMIC_RELEASE);
		else if (bm[w])
			__atomic_fetch_or(&dp->fs_ports[w], bm[w], __ATOMIC_RELEASE);
	}
	free(bm);
	return 0;
}

int pal_dp_fs_ports_widen(struct pal_datapath *dp, const struct pal_failsafe_key *want, size_t n)
{
	return fs_ports_write(dp, want, n, false);
}

int pal_dp_fs_ports_exact(struct pal_datapath *dp, const struct pal_failsafe_key *want, size_t n)
{
	return fs_ports_write(dp, want, n, true);
}
