/* The state file of the Kubernetes datastore: the version of every object in force at the last
 * apply, kept across agent restarts.
 *
 * The pinned datapath outlives the agent; the agent's memory of which version of each object it
 * enforced does not. Without it, an object that fails to decode (or that the compiler sets aside)
 * after a restart has no last good version and is left out: a Deny policy broken while no agent
 * ran would stop being enforced at the first apply. So after each apply the datastore writes
 * every applied version here (atomically: a temporary file, fsync, rename), and a starting agent
 * reads it back as the "last good" seed of objects the API still lists.
 *
 * Format: JSON lines. The first is a header
 *   {"palisade":"k8s-objects","version":1,"bpffs":"/sys/fs/bpf/palisade"}
 * (a file written for another pin directory describes another datapath and is not used), then
 * one line per object:
 *   {"object":"Kind.group/ns/name","uid":"...","resourceVersion":"...","documents":"---\n{...}\n"}
 * where documents is the converted object exactly as the agent decoded it (palisade resources,
 * one JSON document each: the policy files' format), so it is decoded again by the same decoder.
 * A policy enforced as its isolation (rejected with no good version: pal_k8s_convert_isolation)
 * has "isolation":true as well, so a restarted agent does not take it for a last good version.
 * The member is optional (absent: not an isolation), so files of either form read both ways and
 * the version stays 1.
 *
 * The file is the agent's own: mode 0600 in a directory only it can write (not even a sticky one
 * such as /tmp, where another user could plant names), opened without following symlinks;
 * anything else is refused, for writing and for reading, with a message naming the file (and
 * line).
 */
#ifndef PAL_K8S_STATE_H
#define PAL_K8S_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PAL_K8S_STATE_FORMAT "k8s-objects"
#define PAL_K8S_STATE_VERSION 1
/* RUNDIR/k8s-state/k8s-objects-TAG.json: TAG is the first PAL_K8S_STATE_TAG_LEN hex digits of
 * the SHA-256 of the pin directory's path (one file per datapath; agent_k8s.c). */
#define PAL_K8S_STATE_DIR "k8s-state"
#define PAL_K8S_STATE_FILE_FMT "k8s-objects-%s.json"
#define PAL_K8S_STATE_TAG_LEN 16
/* Far above 10,000 pods and 2,000 policies (~8 MiB); /run is a small tmpfs. */
#define PAL_K8S_STATE_MAX_BYTES (64u << 20)

/* One record line (with its newline) for an object's version; isolation: the version is a
 * rejected policy's isolation, not a good version. NULL on -ENOMEM. */
char *pal_k8s_state_record(const char *id, const char *uid, const char *rv, const char *documents,
			   bool isolation);

/* A state file being written: records go to PATH.tmp.XXXXXX (a random name), which replaces PATH
 * on finish. */
struct pal_k8s_state_out {
	int fd;
	size_t bytes, max;
	char *path, *tmp;
	char *buf; /* lines not written yet: one write(2) per PAL_K8S_STATE_BUF bytes, not per line */
	size_t used;
};
#define PAL_K8S_STATE_BUF (256u << 10)

/* Creates PATH.tmp.XXXXXX (mode 0600, O_EXCL: never through a symlink) after checking PATH's
 * directory (created 0700 if missing; -EPERM unless it is the agent's own, not a symlink, and no
 * one else may write to it, sticky or not), removes temporary files a killed agent left, and
 * writes the header. 0; -errno with a message in err (naming the file). */
int pal_k8s_state_begin(struct pal_k8s_state_out *o, const char *path, const char *bpffs,
			size_t max, char *err, size_t errlen);
/* Appends one record line. 0; -EFBIG past max bytes; -errno. */
int pal_k8s_state_add(struct pal_k8s_state_out *o, const char *line, char *err, size_t errlen);
/* fsync, rename over PATH, fsync the directory. 0; -errno (the temporary file is removed). */
int pal_k8s_state_finish(struct pal_k8s_state_out *o, char *err, size_t errlen);
/* Drops the temporary file; PATH stays as it was. */
void pal_k8s_state_abort(struct pal_k8s_state_out *o);

/* Reads PATH into *out: {object id: {"uid": S, "resourceVersion": S, "documents": S}}, with
 * "isolation": true or false when the record has it (any other value: -EINVAL).
 * 0; -ENOENT when there is no file (nothing to say); -EINVAL (not our format, a bad line),
 * -EPERM (a symlink, not a regular file, not the agent's own, open to others, or in a directory
 * that is not the agent's own as pal_k8s_state_begin requires it), -ESTALE (another
 * pin directory's), -EFBIG (over max) or a read error, with a message in err naming the file and
 * line; -ENOMEM. *out is NULL unless 0 is returned. */
int pal_k8s_state_load(const char *path, const char *bpffs, size_t max, json_t **out, char *err,
		       size_t errlen);

/* The record of id in seed (pal_k8s_state_load's) when it is a version of the same object: the
 * API object's uid (NULL or "": it has none) is the record's. NULL otherwise, with *other_uid
 * (may be NULL) set to the record's uid when a record of that name is another object's (deleted
 * and created again while no agent ran). */
const json_t *pal_k8s_state_find(const json_t *seed, const char *id, const char *uid,
				 const char **other_uid);

#endif
