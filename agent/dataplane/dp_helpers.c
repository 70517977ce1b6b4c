/* The small helpers every file of the loader uses: the error text, writable mappings of
 * mmapable maps, and grace periods. They call into no other file of the library, so the files
 * that use them (datapath.c, maps_sync.c, iface_slots.c, config_word.c, failsafe_ports.c) do not
 * call back into each other through them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>

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

void pal_dp_grace_period(void)
{
	/* MEMBARRIER_CMD_GLOBAL is synchronize_rcu(): every BPF program running when it was called
	 * has returned. Without it, wait far longer than any program runs. */
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		usleep(50 * 1000);
	__atomic_add_fetch(&pal_dp_grace_periods, 1, __ATOMIC_RELEASE);
}
