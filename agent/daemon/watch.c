/* inotify watching of the policy directories (see watch.h). */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "vec.h"

/* One mask for every watch: inotify keeps one mask per inode and fd, and a directory can be both
 * inside a root and the anchor of another. */
#define DIR_MASK                                                                              \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_ONLYDIR)
#define MAX_DEPTH 32

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

bool pald_watch_name_relevant(const char *name)
{
	if (strcmp(name, "..data") == 0)
		return true; /* ConfigMap: the symlink swap is the moment the new content is live */
	if (name[0] == '.')
		return false; /* the loader skips hidden names; editors' swap files live here */
	return has_suffix(name, ".yaml") || has_suffix(name, ".yml") || has_suffix(name, ".json");
}

static int wds_add(int **v, size_t *n, size_t *cap, int wd)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == wd)
			return 0;
	if (vec_grow((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = wd;
	return 0;
}

static bool wds_has(const int *v, size_t n, int wd)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == wd)
			return true;
	return false;
}

static void wds_del(int *v, size_t *n, int wd)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == wd) {
			v[i] = v[--*n];
			return;
		}
}

struct wdset {
	int *v;
	size_t n, cap;
};

static void add_tree(struct pald_watch *w, struct wdset *set, const char *path, int depth)
{
	int wd = inotify_add_watch(w->fd, path, DIR_MASK);
	DIR *d;
	struct dirent *e;

	if (wd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			pald_log(PALD_LOG_WARN, "cannot watch directory", PALD_S("dir", path),
				 PALD_S("error", strerror(errno)));
		return;
	}
	wds_add(&set->v, &set->n, &set->cap, wd);
	if (depth >= MAX_DEPTH || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;

		/* Hidden directories are not read by the loader; ConfigMap "..<timestamp>"
		 * directories are reached through "..data", whose swap we see in the root. */
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub))
			continue;
		if (e->d_type == DT_UNKNOWN && (lstat(sub, &st) || !S_ISDIR(st.st_mode)))
			continue;
		add_tree(w, set, sub, depth + 1);
	}
	closedir(d);
}

/* The anchor of a root: its parent when it exists, else the nearest existing ancestor; the
 * anchor's child on the way to the root is what we wait for. */
static void add_anchor(struct pald_watch *w, struct wdset *set, struct pald_watch_root *r)
{
	char path[PATH_MAX];
	struct stat st;
	char *slash;

	r->anchor_wd = -1;
	free(r->anchor_name);
	r->anchor_name = NULL;
	snprintf(path, sizeof(path), "%s", r->path);
	for (;;) {
		size_t n = strlen(path);

		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
		slash = strrchr(path, '/');
		if (!slash)
			return; /* relative single component: anchored at "." below */
		free(r->anchor_name);
		r->anchor_name = strdup(slash + 1);
		if (slash == path)
			slash[1] = '\0'; /* parent is "/" */
		else
			*slash = '\0';
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			break;
		if (strcmp(path, "/") == 0)
			return;
	}
	r->anchor_wd = inotify_add_watch(w->fd, path, DIR_MASK);
	if (r->anchor_wd >= 0)
		wds_add(&set->v, &set->n, &set->cap, r->anchor_wd);
}

static void rebuild(struct pald_watch *w)
{
	struct wdset set = { 0 }, tree = { 0 };

	for (size_t i = 0; i < w->n_roots; i++) {
		struct pald_watch_root *r = &w->roots[i];
		char path[PATH_MAX];

		/* A relative root "p" is anchored at "./p" so the same code finds its parent. */
		snprintf(path, sizeof(path), "%s%s", r->path[0] == '/' ? "" : "./", r->path);
		free(r->path);
		r->path = strdup(path);
		if (!r->path)
			continue;
		add_tree(w, &tree, r->path, 0);
		add_anchor(w, &set, r);
	}
	for (size_t i = 0; i < tree.n; i++)
		wds_add(&set.v, &set.n, &set.cap, tree.v[i]);
	for (size_t i = 0; i < w->n_wds; i++)
		if (!wds_has(set.v, set.n, w->wds[i]))
			inotify_rm_watch(w->fd, w->wds[i]);
	free(w->wds);
	w->wds = set.v;
	w->n_wds = set.n;
	w->cap_wds = set.cap;
	free(w->tree);
	w->tree = tree.v;
	w->n_tree = tree.n;
	w->rescan = false;
	pald_log(PALD_LOG_DEBUG, "watching policy directories", PALD_I("watches", w->n_wds));
}

int pald_watch_open(struct pald_watch *w, char *const *dirs, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->roots = calloc(n ? n : 1, sizeof(*w->roots));
	if (!w->roots) {
		close(w->fd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		w->roots[i].path = strdup(dirs[i]);
		w->roots[i].anchor_wd = -1;
		w->n_roots++;
		if (!w->roots[i].path) {
			pald_watch_close(w);
			return -ENOMEM;
		}
	}
	rebuild(w);
	return 0;
}

void pald_watch_refresh(struct pald_watch *w)
{
	if (w->rescan)
		rebuild(w);
}

/* What one event means: 0 nothing, 1 reload. Sets w->rescan when the tree may have changed. */
static int classify(struct pald_watch *w, const struct inotify_event *ev)
{
	const char *name = ev->len ? ev->name : "";
	int reload = 0;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->rescan = true;
		return 1; /* events were lost: assume everything changed */
	}
	if (ev->mask & IN_IGNORED) {
		/* The kernel dropped a watch (its directory is gone; DELETE_SELF said so) or we
		 * removed it in rebuild(). Forget it either way. */
		wds_del(w->wds, &w->n_wds, ev->wd);
		wds_del(w->tree, &w->n_tree, ev->wd);
		return 0;
	}
	for (size_t i = 0; i < w->n_roots; i++)
		if (w->roots[i].anchor_wd == ev->wd && w->roots[i].anchor_name &&
		    strcmp(w->roots[i].anchor_name, name) == 0) {
			w->rescan = true; /* a root (or the way to it) appeared, went, or was swapped */
			reload = 1;
		}
	if (!wds_has(w->tree, w->n_tree, ev->wd))
		return reload; /* an anchor only: other names in it do not concern us */
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		w->rescan = true;
		return 1;
	}
	if (ev->mask & IN_ISDIR) {
		if (name[0] != '.') {
			w->rescan = true; /* a subdirectory came or went: its files did too */
			reload = 1;
		}
		return reload;
	}
	if (ev->len && pald_watch_name_relevant(name)) {
		if (strcmp(name, "..data") == 0)
			w->rescan = true;
		reload = 1;
	}
	return reload;
}

int pald_watch_handle(struct pald_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int reload = 0;

	for (;;) {
		ssize_t len = read(w->fd, buf, sizeof(buf));

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN)
			break;
		if (len <= 0)
			return len < 0 ? -errno : reload;
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (classify(w, ev)) {
				reload = 1;
				pald_log(PALD_LOG_DEBUG, "policy change",
					 PALD_S("name", ev->len ? ev->name : ""),
					 PALD_I("mask", ev->mask));
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	return reload;
}

void pald_watch_close(struct pald_watch *w)
{
	for (size_t i = 0; i < w->n_roots; i++) {
		free(w->roots[i].path);
		free(w->roots[i].anchor_name);
	}
	free(w->roots);
	free(w->wds);
	free(w->tree);
	if (w->fd >= 0)
		close(w->fd);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}
