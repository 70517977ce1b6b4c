/* The Kubernetes datastore's state file (agent/k8s/k8s_state.h): written and read back whole, a
 * corrupt or foreign file refused with its file and line, a record of another uid not used, the
 * size bound on both sides, and only the agent's own file read. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/k8s/k8s_state.h"

#define BPFFS "/sys/fs/bpf/palisade-test"
#define GNP "GlobalNetworkPolicy.projectcalico.org/default.deny"
#define DOCS "---\n{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"GlobalNetworkPolicy\"}\n"

static char dir[64], path[128];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pal-k8s-state-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k8s-objects-test.json", dir);
}

static void remove_dir(void)
{
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	unlink(path);
	rmdir(dir);
}

TestSuite(k8s_state, .init = make_dir, .fini = remove_dir);

/* Writes the records (NULL-terminated lines) with bound max; returns what finish (or the first
 * failing add) returned. */
static int write_state(size_t max, const char *const *lines, char *err, size_t errlen)
{
	struct pal_k8s_state_out o;
	int rc = pal_k8s_state_begin(&o, path, BPFFS, max, err, errlen);

	cr_assert_eq(rc, 0, "%s", err);
	for (; *lines; lines++)
		if ((rc = pal_k8s_state_add(&o, *lines, err, errlen))) {
			pal_k8s_state_abort(&o);
			return rc;
		}
	return pal_k8s_state_finish(&o, err, errlen);
}

static void write_raw(const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0600), 0);
}

#define HEADER "{\"palisade\":\"k8s-objects\",\"version\":1,\"bpffs\":\"" BPFFS "\"}\n"

Test(k8s_state, round_trip)
{
	char *a = pal_k8s_state_record(GNP, "u-1", "42", DOCS, false);
	char *b = pal_k8s_state_record("Pod/shop/web", NULL, NULL, "---\n{\"x\":\"\\n\\\"\"}\n",
					 false);
	const char *lines[] = { a, b, NULL };
	char err[512] = "";
	struct stat st;
	json_t *seed;

	cr_assert(a && b);
	cr_assert_eq(write_state(PAL_K8S_STATE_MAX_BYTES, lines, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect_neq(access(strcat(strcpy(err, path), ".tmp"), F_OK), 0, "the temporary file stays");
	cr_assert_eq(pal_k8s_state_load(path, BPFFS, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(json_object_size(seed), 2);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(seed, GNP), "uid")), "u-1");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(seed, GNP),
							   "resourceVersion")), "42");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(seed, GNP), "documents")),
			 DOCS);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(seed, "Pod/shop/web"),
							   "documents")),
			 "---\n{\"x\":\"\\n\\\"\"}\n");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(seed, "Pod/shop/web"),
							   "uid")), "");
	json_decref(seed);
	free(a);
	free(b);
}

/* A rejected policy's isolation keeps its mark across the file, so a restarted agent does not take
 * it for a last good version; a record without the member (an older agent's file) is none. */
Test(k8s_state, isolation_round_trip)
{
	char *iso = pal_k8s_state_record(GNP, "u-1", "7", DOCS, true);
	char *good = pal_k8s_state_record("Pod/shop/web", "u-2", "8", DOCS, false);
	const char *lines[] = { iso, good, NULL };
	char err[512] = "";
	json_t *seed;

	cr_assert(iso && good);
	cr_expect(strstr(good, "isolation") == NULL, "a good version's record: %s", good);
	cr_assert_eq(write_state(PAL_K8S_STATE_MAX_BYTES, lines, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pal_k8s_state_load(path, BPFFS, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err)),
		     0, "%s", err);
	cr_expect(json_is_true(json_object_get(json_object_get(seed, GNP), "isolation")));
	cr_expect_null(json_object_get(json_object_get(seed, "Pod/shop/web"), "isolation"));
	json_decref(seed);
	free(iso);
	free(good);
}

/* Writing again replaces the file whole: a record left out is gone. */
Test(k8s_state, rewrite_replaces)
{
	char *a = pal_k8s_state_record(GNP, "u-1", "1", DOCS, false);
	const char *both[] = { a, NULL }, *none[] = { NULL };
	char err[512] = "";
	json_t *seed;

	cr_assert_eq(write_state(PAL_K8S_STATE_MAX_BYTES, both, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(write_state(PAL_K8S_STATE_MAX_BYTES, none, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pal_k8s_state_load(path, BPFFS, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(json_object_size(seed), 0);
	json_decref(seed);
	free(a);
}

static void expect_refused(int want, const char *want_msg)
{
	char err[512] = "";
	json_t *seed = (json_t *)1;
	int rc = pal_k8s_state_load(path, BPFFS, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err));

	cr_expect_eq(rc, want, "rc %d (%s)", rc, err);
	cr_expect_null(seed);
	cr_expect(strstr(err, want_msg) != NULL, "error \"%s\" lacks \"%s\"", err, want_msg);
}

Test(k8s_state, corrupt_line_names_file_and_line)
{
	char want[200];

	write_raw(HEADER "{\"object\":\"a\",\"uid\":\"\",\"resourceVersion\":\"1\",\"documents\":\"\"}\n"
			 "{\"object\": garbage}\n");
	snprintf(want, sizeof(want), "%s:3:", path);
	expect_refused(-EINVAL, want);
}

Test(k8s_state, truncated_last_line)
{
	char want[200];

	write_raw(HEADER "{\"object\":\"a\",\"uid\":\"\",\"resourceVersion\":\"1\",\"documents\":\"\"}");
	snprintf(want, sizeof(want), "%s:2: truncated", path);
	expect_refused(-EINVAL, want);
}

Test(k8s_state, record_fields)
{
	write_raw(HEADER "{\"object\":\"a\",\"uid\":\"\",\"resourceVersion\":\"1\"}\n");
	expect_refused(-EINVAL, ":2: documents: missing or not a string");
	write_raw(HEADER "{\"object\":\"a\",\"uid\":\"\",\"resourceVersion\":\"1\",\"documents\":\"\"}\n"
			 "{\"object\":\"a\",\"uid\":\"\",\"resourceVersion\":\"2\",\"documents\":\"\"}\n");
	expect_refused(-EINVAL, ":3: object: a appears twice");
}

Test(k8s_state, isolation_must_be_boolean)
{
	write_raw(HEADER "{\"object\":\"a\",\"uid\":\"\",\"resourceVersion\":\"1\",\"documents\":\"\","
			 "\"isolation\":\"yes\"}\n");
	expect_refused(-EINVAL, ":2: isolation: not true or false");
}

Test(k8s_state, header)
{
	write_raw("");
	expect_refused(-EINVAL, "empty");
	write_raw("{\"palisade\":\"something-else\",\"version\":1}\n");
	expect_refused(-EINVAL, ":1: not a palisade state file");
	write_raw("{\"palisade\":\"k8s-objects\",\"version\":2,\"bpffs\":\"" BPFFS "\"}\n");
	expect_refused(-EINVAL, ":1: version: 2");
	write_raw("{\"palisade\":\"k8s-objects\",\"version\":1,\"bpffs\":\"/sys/fs/bpf/other\"}\n");
	expect_refused(-ESTALE, "/sys/fs/bpf/other");
}

Test(k8s_state, missing_file_says_nothing)
{
	char err[64] = "";
	json_t *seed;

	cr_expect_eq(pal_k8s_state_load(path, BPFFS, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err)),
		     -ENOENT);
	cr_expect_str_eq(err, "");
}

/* Only the agent's own file: no symlink (to a file it could read otherwise), no file others may
 * read or write. */
Test(k8s_state, only_the_agents_own_file)
{
	char target[160];

	write_raw(HEADER);
	cr_assert_eq(chmod(path, 0644), 0);
	expect_refused(-EPERM, "mode 0644");
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(target, sizeof(target), "%s.real", path);
	cr_assert_eq(rename(path, target), 0);
	cr_assert_eq(symlink(target, path), 0);
	expect_refused(-EPERM, "symbolic link");
	unlink(target);
}

/* A directory others may write to is not the agent's: nothing is written there. */
Test(k8s_state, writable_directory_refused)
{
	struct pal_k8s_state_out o;
	char err[512] = "";

	cr_assert_eq(chmod(dir, 0777), 0);
	cr_expect_eq(pal_k8s_state_begin(&o, path, BPFFS, PAL_K8S_STATE_MAX_BYTES, err, sizeof(err)),
		     -EPERM);
	cr_expect(strstr(err, "not the agent's own") != NULL, "%s", err);
	cr_assert_eq(chmod(dir, 0700), 0);
}

/* Review (s5/review-persist): a sticky world-writable directory (/tmp, the event socket's rule
 * accepts it) is taken as the agent's own, yet another user may create names in it. A directory
 * planted at PATH.tmp (unlink(2) cannot remove it, O_EXCL then fails) makes every write fail, and
 * save_state then deletes the state file: persistence is switched off by any local user. Either
 * the write works or the directory is refused as not the agent's (-EPERM); never -EEXIST. */
Test(k8s_state, sticky_directory_planted_temporary)
{
	struct pal_k8s_state_out o;
	char err[512] = "", tmp[160];
	int rc;

	cr_assert_eq(chmod(dir, 01777), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(mkdir(tmp, 0755), 0); /* another user's, in a real /tmp */
	if (geteuid() == 0)
		cr_assert_eq(chown(tmp, 65534, 65534), 0);
	rc = pal_k8s_state_begin(&o, path, BPFFS, PAL_K8S_STATE_MAX_BYTES, err, sizeof(err));
	if (rc == 0)
		rc = pal_k8s_state_finish(&o, err, sizeof(err));
	rmdir(tmp);
	cr_assert_eq(chmod(dir, 0700), 0);
	cr_expect(rc == 0 || rc == -EPERM, "a file planted by another user made the write fail: %d %s",
		  rc, err);
}

/* Reading checks the directory as writing does: a file in a directory others may write to (sticky
 * or not) may be theirs, and is not read. */
Test(k8s_state, read_from_shared_directory_refused)
{
	write_raw(HEADER);
	cr_assert_eq(chmod(dir, 01777), 0);
	expect_refused(-EPERM, "not the agent's own");
	cr_assert_eq(chmod(dir, 0700), 0);
}

/* A directory of another user (created before the agent's in a shared run directory) is refused. */
Test(k8s_state, directory_of_another_user_refused)
{
	struct pal_k8s_state_out o;
	char err[512] = "";

	cr_assert_eq(chown(dir, 65534, 65534), 0);
	cr_expect_eq(pal_k8s_state_begin(&o, path, BPFFS, PAL_K8S_STATE_MAX_BYTES, err, sizeof(err)),
		     -EPERM);
	cr_expect(strstr(err, "not the agent's own") != NULL, "%s", err);
	cr_assert_eq(chown(dir, 0, 0), 0);
}

/* The temporary file has a random name and is gone after the write; one a killed agent left is
 * removed by the next write, and nothing else of the directory is touched. */
Test(k8s_state, temporaries)
{
	const char *none[] = { NULL };
	char err[512] = "", stale[200], other[200];
	struct dirent *de;
	int n = 0, fd;
	DIR *d;

	snprintf(stale, sizeof(stale), "%s.tmp.AbC123", path);
	snprintf(other, sizeof(other), "%s/k8s-objects-other.json.tmp.AbC123", dir);
	cr_assert((fd = open(stale, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	cr_assert((fd = open(other, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	cr_assert_eq(write_state(PAL_K8S_STATE_MAX_BYTES, none, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(access(stale, F_OK), 0, "a killed agent's temporary file stays");
	cr_expect_eq(access(other, F_OK), 0, "another file's temporary file was removed");
	unlink(other);
	cr_assert_not_null(d = opendir(dir));
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	cr_expect_eq(n, 1, "%d entries: the temporary file stays", n);
}

/* The bound: a write past it fails and leaves the previous file; a file over it is not read. */
Test(k8s_state, size_bound)
{
	char *a = pal_k8s_state_record(GNP, "u-1", "1", DOCS, false);
	const char *one[] = { a, NULL }, *two[] = { a, a, NULL };
	size_t max = strlen(HEADER) + strlen(a) + 10;
	char err[512] = "";
	json_t *seed;

	cr_assert_eq(write_state(max, one, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(write_state(max, two, err, sizeof(err)), -EFBIG);
	cr_expect(strstr(err, "exceeds") != NULL, "%s", err);
	cr_assert_eq(pal_k8s_state_load(path, BPFFS, max, &seed, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(json_object_size(seed), 1, "the previous file is gone");
	json_decref(seed);
	cr_expect_eq(pal_k8s_state_load(path, BPFFS, max - 20, &seed, err, sizeof(err)), -EFBIG);
	cr_expect(strstr(err, "more than") != NULL, "%s", err);
	free(a);
}

/* A version is of the same object when the uids match; an API object without a uid takes it. */
Test(k8s_state, uid_must_match)
{
	json_t *seed = json_pack("{s:{s:s, s:s, s:s}}", GNP, "uid", "u-1", "resourceVersion", "1",
				 "documents", DOCS);
	const char *other = "x";

	cr_expect_not_null(pal_k8s_state_find(seed, GNP, "u-1", &other));
	cr_expect_null(other);
	cr_expect_null(pal_k8s_state_find(seed, GNP, "u-2", &other), "another uid was used");
	cr_expect_str_eq(other, "u-1");
	cr_expect_not_null(pal_k8s_state_find(seed, GNP, NULL, &other));
	cr_expect_not_null(pal_k8s_state_find(seed, GNP, "", NULL));
	cr_expect_null(pal_k8s_state_find(seed, "Pod/shop/web", "u-1", &other));
	cr_expect_null(other);
	json_decref(seed);
}

/* Past the write buffer: many lines (several writes) and one line larger than the buffer. */
Test(k8s_state, larger_than_the_write_buffer)
{
	size_t big_len = PAL_K8S_STATE_BUF + 1000, n = 1000;
	char *big = malloc(big_len + 1), *lines[1002] = { 0 }, id[64], err[512] = "";
	json_t *seed;

	cr_assert_not_null(big);
	memset(big, 'x', big_len);
	big[big_len] = '\0';
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "Pod/shop/p%zu", i);
		cr_assert_not_null(lines[i] = pal_k8s_state_record(id, "u", "1", big + big_len - 900, false));
	}
	cr_assert_not_null(lines[n] = pal_k8s_state_record(GNP, "u-1", "1", big, false));
	cr_assert_eq(write_state(PAL_K8S_STATE_MAX_BYTES, (const char *const *)lines, err,
				 sizeof(err)), 0, "%s", err);
	cr_assert_eq(pal_k8s_state_load(path, BPFFS, PAL_K8S_STATE_MAX_BYTES, &seed, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(json_object_size(seed), n + 1);
	cr_expect_eq(strlen(json_string_value(json_object_get(json_object_get(seed, GNP),
							      "documents"))), big_len);
	cr_expect_eq(strlen(json_string_value(json_object_get(json_object_get(seed, "Pod/shop/p999"),
							      "documents"))), 900);
	json_decref(seed);
	for (size_t i = 0; i <= n; i++)
		free(lines[i]);
	free(big);
}
