/* bpffs mount, pin directory creation, instance lock (see bpffs.h). */
#include "bpffs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "mkdir_p.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static bool below(const char *dir, const char *root)
{
	size_t n = strlen(root);

	return strncmp(dir, root, n) == 0 && (dir[n] == '/' || dir[n] == '\0');
}

int pald_bpffs_prepare(const char *dir)
{
	struct statfs fs;
	int rc;

	if (below(dir, PALD_BPFFS_ROOT) &&
	    (statfs(PALD_BPFFS_ROOT, &fs) || fs.f_type != (typeof(fs.f_type))BPF_FS_MAGIC)) {
		if (mount("bpf", PALD_BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			rc = -errno;
			pald_log(PALD_LOG_ERROR, "cannot mount bpffs", PALD_S("dir", PALD_BPFFS_ROOT),
				 PALD_S("error", strerror(-rc)));
			return rc;
		}
		pald_log(PALD_LOG_INFO, "mounted bpffs", PALD_S("dir", PALD_BPFFS_ROOT));
	}
	if ((rc = pal_mkdir_p(dir))) {
		pald_log(PALD_LOG_ERROR, "cannot create the bpffs directory", PALD_S("dir", dir),
			 PALD_S("error", strerror(-rc)));
		return rc;
	}
	if (statfs(dir, &fs) == 0 && fs.f_type != (typeof(fs.f_type))BPF_FS_MAGIC)
		pald_log(PALD_LOG_WARN, "the pin directory is not on a bpffs", PALD_S("dir", dir));
	return 0;
}

int pald_bpffs_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return rc;
	}
	return fd;
}
