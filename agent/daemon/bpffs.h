/* The pin directory: mounted, created and locked before anything else touches it.
 *
 * One instance per bpffs directory: flock(LOCK_EX|LOCK_NB) on an fd of the directory itself
 * (bpffs cannot hold a regular lock file; flock on a directory fd works there, checked on kernel
 * 6.18). The kernel drops the lock when the process dies, even on kill -9, so a stale lock
 * cannot block a restart.
 */
#ifndef PALD_BPFFS_H
#define PALD_BPFFS_H

/* Mounts bpffs at /sys/fs/bpf when dir is below it and it is not bpffs yet, then creates dir
 * (mode 0700, parents too). 0 or -errno (logged). */
int pald_bpffs_prepare(const char *dir);
/* Takes the instance lock on dir: the locked fd (keep it open for the process lifetime), or
 * -EWOULDBLOCK when another process holds it, or another -errno. */
int pald_bpffs_lock(const char *dir);

#endif
