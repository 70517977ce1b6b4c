/* Creating a directory with its missing parents, as `mkdir -p`: the agent's pin directories. */
#ifndef PALISADE_MKDIR_P_H
#define PALISADE_MKDIR_P_H

/* Creates path and every missing directory above it, each mode 0700 (pins and the instance
 * lock are root's alone); directories that exist are left as they are. Returns 0, -ENAMETOOLONG
 * (longer than PATH_MAX) or mkdir's -errno. */
int pal_mkdir_p(const char *path);

#endif
