/* The Kubernetes datastore's state file: writing it atomically, reading it back (see k8s_state.h). */
#include "k8s_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read_all.h"

/* v as one compact line with its newline (takes the reference). NULL on -ENOMEM. */
static char *json_line(json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	char *line = NULL;

	json_decref(v);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

char *pal_k8s_state_record(const char *id, const char *uid, const char *rv, const char *documents,
			   bool isolation)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "object", id, "uid", uid ? uid : "",
			      "resourceVersion", rv ? rv : "", "documents", documents);

	/* Only when true: a file without the member (an older agent's) reads as no isolation. */
	if (r && isolation && json_object_set_new(r, "isolation", json_true())) {
		json_decref(r);
		r = NULL;
	}
	return json_line(r);
}

/* A directory another user may write to lets that user replace the file between our checks and
 * our use, or plant names in it that make every write fail: refused, even sticky (/tmp). Not a
 * symbolic link either: the directory is the one its path names. */
static bool dir_is_ours(const char *dir)
{
	struct stat st;

	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* PATH's directory is the agent's own: 0; -ENOENT when it does not exist (create: made 0700);
 * -EPERM when it is not the agent's own or others may write to it. */
static int check_dir(const char *path, bool create, char *err, size_t errlen)
{
	char *copy = strdup(path);
	const char *dir;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (create && mkdir(dir, 0700) && errno == ENOENT) { /* the run directory too */
		char *parent = strdup(dir);

		if (parent)
			mkdir(dirname(parent), 0700);
		free(parent);
		mkdir(dir, 0700);
	}
	if (access(dir, F_OK)) {
		rc = -errno;
		if (create || rc != -ENOENT) /* to read, no directory is no file: nothing to say */
			snprintf(err, errlen, "%s: %s its directory %s: %s", path,
				 create ? "cannot create" : "cannot reach", dir, strerror(-rc));
	} else if (!dir_is_ours(dir)) {
		rc = -EPERM;
		snprintf(err, errlen, "%s: its directory %s is not the agent's own (a directory of "
				      "the agent's user that no one else may write to, not a link)",
			 path, dir);
	}
	free(copy);
	return rc;
}

/* Temporary files of an agent killed while writing (PATH.tmp.XXXXXX; the directory is the
 * agent's own, so every such name is one of ours). */
static void remove_stale_temporaries(const char *path)
{
	const char *base = strrchr(path, '/');
	char *copy = strdup(path);
	struct dirent *de;
	size_t blen;
	DIR *d;

	base = base ? base + 1 : path;
	blen = strlen(base);
	if (!copy || !(d = opendir(dirname(copy)))) {
		free(copy);
		return;
	}
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, base, blen) && !strncmp(de->d_name + blen, ".tmp.", 5))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	free(copy);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pal_k8s_state_begin(struct pal_k8s_state_out *o, const char *path, const char *bpffs,
			size_t max, char *err, size_t errlen)
{
	char *header = NULL;
	int rc;

	*o = (struct pal_k8s_state_out){ .fd = -1, .max = max };
	if ((rc = check_dir(path, true, err, errlen)))
		return rc;
	if (!(o->buf = malloc(PAL_K8S_STATE_BUF)) || !(o->path = strdup(path)) ||
	    asprintf(&o->tmp, "%s.tmp.XXXXXX", path) < 0) {
		o->tmp = NULL;
		pal_k8s_state_abort(o);
		return -ENOMEM;
	}
	remove_stale_temporaries(path);
	/* A new random name, created exclusively (mode 0600; O_EXCL never follows a link): no name
	 * fixed in advance that something could be put at. */
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", o->tmp, strerror(-rc));
		free(o->tmp);
		o->tmp = NULL; /* nothing created: nothing for abort to remove */
		pal_k8s_state_abort(o);
		return rc;
	}
	header = json_line(json_pack("{s:s, s:i, s:s}", "palisade", PAL_K8S_STATE_FORMAT,
				     "version", PAL_K8S_STATE_VERSION, "bpffs", bpffs));
	rc = header ? pal_k8s_state_add(o, header, err, errlen) : -ENOMEM;
	free(header);
	if (rc)
		pal_k8s_state_abort(o);
	return rc;
}

/* Writes the buffered lines out. */
static int flush(struct pal_k8s_state_out *o, char *err, size_t errlen)
{
	int rc = write_all(o->fd, o->buf, o->used);

	if (rc)
		snprintf(err, errlen, "%s: %s", o->tmp, strerror(-rc));
	o->used = 0;
	return rc;
}

int pal_k8s_state_add(struct pal_k8s_state_out *o, const char *line, char *err, size_t errlen)
{
	size_t n = strlen(line);
	int rc;

	if (o->bytes + n > o->max) {
		snprintf(err, errlen, "%s: the state of the objects exceeds %zu bytes", o->path,
			 o->max);
		return -EFBIG;
	}
	if (o->used + n > PAL_K8S_STATE_BUF && (rc = flush(o, err, errlen)))
		return rc;
	if (n > PAL_K8S_STATE_BUF) { /* a line larger than the buffer goes out on its own */
		if ((rc = write_all(o->fd, line, n))) {
			snprintf(err, errlen, "%s: %s", o->tmp, strerror(-rc));
			return rc;
		}
	} else {
		memcpy(o->buf + o->used, line, n);
		o->used += n;
	}
	o->bytes += n;
	return 0;
}

/* The directory's entry of the rename is on disk too (a no-op on tmpfs, /run). */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int pal_k8s_state_finish(struct pal_k8s_state_out *o, char *err, size_t errlen)
{
	int rc = flush(o, err, errlen);

	if (rc)
		goto out; /* flush said why */
	rc = fsync(o->fd) ? -errno : 0;
	if (close(o->fd) && !rc)
		rc = -errno;
	o->fd = -1;
	if (rc) {
		snprintf(err, errlen, "%s: %s", o->tmp, strerror(-rc));
	} else if (rename(o->tmp, o->path)) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot replace %s: %s", o->tmp, o->path, strerror(-rc));
	} else {
		sync_dir(o->path);
		free(o->tmp);
		o->tmp = NULL; /* renamed: nothing for abort to remove */
	}
out:
	pal_k8s_state_abort(o);
	return rc;
}

void pal_k8s_state_abort(struct pal_k8s_state_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o->buf);
	*o = (struct pal_k8s_state_out){ .fd = -1 };
}

/* Opens PATH for reading as the agent's own file: no symlink, a regular file of the agent's user
 * that nobody else may read or write (it was written 0600). fd, or -errno with a message. */
static int open_own(const char *path, size_t max, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), rc;
	struct stat st;

	if (fd < 0) {
		rc = errno == ELOOP ? -EPERM : -errno;
		if (rc != -ENOENT)
			snprintf(err, errlen, "%s: %s", path,
				 rc == -EPERM ? "a symbolic link, not the agent's file" : strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	} else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		rc = -EPERM;
		snprintf(err, errlen, "%s: not the agent's own file (owner uid %u, mode %04o; want a "
				      "regular file of uid %u, mode 0600)",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
	} else if ((size_t)st.st_size > max) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: %lld bytes, more than the %zu a state file may have", path,
			 (long long)st.st_size, max);
	} else {
		return fd;
	}
	close(fd);
	return rc;
}

/* The header line: our format and version, for the pin directory bpffs. */
static int check_header(const char *path, const json_t *h, const char *bpffs, char *err,
			size_t errlen)
{
	const char *fmt = json_string_value(json_object_get(h, "palisade"));
	const char *dir = json_string_value(json_object_get(h, "bpffs"));
	json_t *ver = json_object_get(h, "version");

	if (!fmt || strcmp(fmt, PAL_K8S_STATE_FORMAT) || !json_is_integer(ver)) {
		snprintf(err, errlen, "%s:1: not a palisade state file (want {\"palisade\":\"%s\", "
				      "\"version\":%d, ...})",
			 path, PAL_K8S_STATE_FORMAT, PAL_K8S_STATE_VERSION);
		return -EINVAL;
	}
	if (json_integer_value(ver) != PAL_K8S_STATE_VERSION) {
		snprintf(err, errlen, "%s:1: version: %lld, this agent reads version %d", path,
			 (long long)json_integer_value(ver), PAL_K8S_STATE_VERSION);
		return -EINVAL;
	}
	if (!dir || strcmp(dir, bpffs)) {
		snprintf(err, errlen, "%s:1: bpffs: written for the datapath pinned at %s, not %s",
			 path, dir ? dir : "(none)", bpffs);
		return -ESTALE;
	}
	return 0;
}

/* One record line into out (id -> {uid, resourceVersion, documents[, isolation]}). */
static int add_record(const char *path, size_t lineno, json_t *r, json_t *out, char *err,
		      size_t errlen)
{
	static const char *const fields[] = { "object", "uid", "resourceVersion", "documents" };
	const char *id = json_string_value(json_object_get(r, "object"));

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!json_is_string(json_object_get(r, fields[i]))) {
			snprintf(err, errlen, "%s:%zu: %s: missing or not a string", path, lineno,
				 fields[i]);
			return -EINVAL;
		}
	if (json_object_get(r, "isolation") && !json_is_boolean(json_object_get(r, "isolation"))) {
		snprintf(err, errlen, "%s:%zu: isolation: not true or false", path, lineno);
		return -EINVAL;
	}
	if (json_object_get(out, id)) {
		snprintf(err, errlen, "%s:%zu: object: %s appears twice", path, lineno, id);
		return -EINVAL;
	}
	/* The key is copied before "object" (which id points into) leaves the record. */
	if (json_object_set(out, id, r))
		return -ENOMEM;
	json_object_del(r, "object");
	return 0;
}

/* Every line of text (len bytes) into out: the header first, then records. */
static int parse_lines(const char *path, const char *text, size_t len, const char *bpffs,
		       json_t *out, char *err, size_t errlen)
{
	size_t lineno = 0;

	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t je;
		json_t *v;
		int rc;

		lineno++;
		if (!nl) {
			snprintf(err, errlen, "%s:%zu: truncated (the last line has no newline)", path,
				 lineno);
			return -EINVAL;
		}
		if (!(v = json_loadb(p, (size_t)(nl - p), 0, &je)) || !json_is_object(v)) {
			snprintf(err, errlen, "%s:%zu:%d: %s", path, lineno, v ? 1 : je.column,
				 v ? "not a JSON object" : je.text);
			json_decref(v);
			return -EINVAL;
		}
		rc = lineno == 1 ? check_header(path, v, bpffs, err, errlen)
				 : add_record(path, lineno, v, out, err, errlen);
		json_decref(v);
		if (rc)
			return rc;
		p = nl + 1;
	}
	if (!lineno) {
		snprintf(err, errlen, "%s: empty (no header line)", path);
		return -EINVAL;
	}
	return 0;
}

int pal_k8s_state_load(const char *path, const char *bpffs, size_t max, json_t **out, char *err,
		       size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int fd, rc;
	FILE *f;

	*out = NULL;
	/* Read only from a directory no one else can write to: what is in it was written by us. */
	if ((rc = check_dir(path, false, err, errlen)))
		return rc;
	if ((fd = open_own(path, max, err, errlen)) < 0)
		return fd;
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return -ENOMEM;
	}
	rc = pal_read_all(f, max, &text, &len);
	fclose(f);
	if (rc) {
		if (rc != -ENOMEM)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (!(*out = json_object())) {
		free(text);
		return -ENOMEM;
	}
	rc = parse_lines(path, text, len, bpffs, *out, err, errlen);
	free(text);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

const json_t *pal_k8s_state_find(const json_t *seed, const char *id, const char *uid,
				 const char **other_uid)
{
	const json_t *r = json_object_get(seed, id);
	const char *was = json_string_value(json_object_get(r, "uid"));

	if (other_uid)
		*other_uid = NULL;
	if (!r || !uid || !*uid || (was && !strcmp(uid, was)))
		return r;
	if (other_uid)
		*other_uid = was ? was : "";
	return NULL;
}
