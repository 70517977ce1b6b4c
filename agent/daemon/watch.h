/* Watching the policy directories with inotify.
 *
 * Covered: writes (IN_CLOSE_WRITE), editors' rename-writes (IN_MOVED_TO), deletions, new and
 * removed subdirectories, a policy directory deleted and recreated (its nearest existing ancestor
 * is watched for the directory's name), and Kubernetes ConfigMap updates (a new "..<timestamp>"
 * directory, then a "..data" symlink renamed over the old one: IN_MOVED_TO "..data").
 * Names that cannot matter (editor swap files, other extensions) are ignored.
 *
 * Whenever the directory structure may have changed, the watch set is rebuilt from the roots
 * before the reload that follows reads the files, so no change between the two can be missed.
 */
#ifndef PALD_WATCH_H
#define PALD_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct pald_watch_root {
	char *path;
	int anchor_wd;     /* the watched ancestor when the root is missing, or its parent */
	char *anchor_name; /* the child of the anchor that leads to the root */
};

struct pald_watch {
	int fd;
	struct pald_watch_root *roots;
	size_t n_roots;
	int *wds; /* every watch: directories inside the roots and the anchors */
	size_t n_wds, cap_wds;
	int *tree; /* the watches on directories inside a root */
	size_t n_tree;
	bool rescan; /* the structure changed: rebuild before the next reload */
};

int pald_watch_open(struct pald_watch *w, char *const *dirs, size_t n);
/* Drains the inotify fd. Returns 1 when a policy reload is warranted, 0 when nothing relevant
 * happened, -errno on a read error. */
int pald_watch_handle(struct pald_watch *w);
/* Rebuilds the watch set if needed (call right before reloading). */
void pald_watch_refresh(struct pald_watch *w);
void pald_watch_close(struct pald_watch *w);

/* Whether a file name can hold policy or signals a ConfigMap swap (pure helper). */
bool pald_watch_name_relevant(const char *name);

#endif
