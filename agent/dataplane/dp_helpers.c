/* The small helpers every file of the loader uses: the error text, writable mappings of
 * mmapable maps, and grace periods. They call into no other file of the library, so the files
 * that use them (datapath.c, maps_sync.c, iface_slots.c, config_word.c, failsafe_ports.c) do not
 * call back into each other through them. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>

#include "datapath_internal.h"

void pal_dp_set_error(struct pal_datapath *dp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dp->err, sizeof(dp->err), fmt, ap);
	va_end(ap);
}

const char *pal_dp_error(const struct pal_datapath *dp)
{
	return dp->err;
}

void *pal_dp_map_rw(struct pal_datapath *dp, int fd, size_t bytes, const char *name, size_t *len,
		    int *err)
{
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	*len = (bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		*err = -errno;
		pal_dp_set_error(dp, "cannot map %s: %s", name, strerror(errno));
		return NULL;
	}
	return m;
}

uint64_t pal_dp_grace_periods;
uint64_t pal_dp_grace_fallbacks;

/* An ARRAY_OF_MAPS of one slot and the map it holds, made once on the first grace period and kept
 * for the process's life (two small maps nothing else reads); -1 when they could not be made. */
static int grace_outer_fd = -1;
static int grace_inner_fd = -1;
static pthread_once_t grace_maps_once = PTHREAD_ONCE_INIT;

static void grace_maps_make(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int inner, outer;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pal_grace_in", sizeof(uint32_t),
			       sizeof(uint32_t), 1, NULL);
	if (inner < 0)
		return;
	opts.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pal_grace", sizeof(uint32_t),
			       sizeof(uint32_t), 1, &opts);
	if (outer < 0) {
		close(inner);
		return;
	}
	grace_inner_fd = inner;
	grace_outer_fd = outer;
}

/* Returns once every BPF program that was running when it was called has returned (an RCU grace
 * period): what may be freed or rewritten after a flip or a delete.
 *
 * An update of an ARRAY_OF_MAPS from userspace returns only after synchronize_rcu() (the kernel's
 * kernel/bpf/syscall.c waits so that userspace knows no program still uses the old inner map; the
 * kernel's own selftests use it to wait for running programs), on every kernel palisade supports.
 * membarrier(MEMBARRIER_CMD_GLOBAL), used before, is not always a grace period: with one online
 * CPU it returns at once, though a program preempted inside rcu_read_lock() (PREEMPT_RCU: raw
 * OUTPUT runs in process context) is still running, and under nohz_full it fails. It stays as the
 * fallback should the maps be refused, then a sleep far longer than any program runs. */
void pal_dp_grace_period(void)
{
	uint32_t key = 0;

	pthread_once(&grace_maps_once, grace_maps_make);
	if (grace_outer_fd >= 0 &&
	    bpf_map_update_elem(grace_outer_fd, &key, &grace_inner_fd, BPF_ANY) == 0)
		goto done;
	__atomic_add_fetch(&pal_dp_grace_fallbacks, 1, __ATOMIC_RELAXED);
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		usleep(50 * 1000);
done:
	__atomic_add_fetch(&pal_dp_grace_periods, 1, __ATOMIC_RELEASE);
}
