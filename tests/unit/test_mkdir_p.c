/* mkdir -p (mkdir_p.h): parents created 0700, existing ones kept, errors returned. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkdir_p.h"

static char root[] = "/tmp/pal-mkdir-p-XXXXXX";

static void make_root(void)
{
	cr_assert(mkdtemp(root));
}

static void remove_root(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert(S_ISDIR(st.st_mode), "%s is not a directory", path);
	return st.st_mode & 07777;
}

TestSuite(mkdir_p, .init = make_root, .fini = remove_root);

Test(mkdir_p, creates_every_missing_parent_private)
{
	char path[PATH_MAX], mid[PATH_MAX];

	snprintf(path, sizeof(path), "%s/a/b/c", root);
	snprintf(mid, sizeof(mid), "%s/a/b", root);
	cr_assert_eq(pal_mkdir_p(path), 0);
	cr_assert_eq(mode_of(path) & ~0700u, 0u);
	cr_assert_eq(mode_of(mid) & ~0700u, 0u);
}

Test(mkdir_p, existing_directories_are_fine_and_kept)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/x", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(chmod(path, 0755), 0); /* whatever the umask */
	snprintf(path, sizeof(path), "%s/x/y/", root); /* a trailing slash too */
	cr_assert_eq(pal_mkdir_p(path), 0);
	cr_assert_eq(pal_mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/x", root);
	cr_assert_eq(mode_of(path), 0755u); /* not made private after the fact */
}

Test(mkdir_p, a_file_in_the_way_is_an_error)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/file", root);
	f = fopen(path, "w");
	cr_assert(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/file/sub", root);
	cr_assert_eq(pal_mkdir_p(path), -ENOTDIR);
}

Test(mkdir_p, a_path_longer_than_path_max_is_refused)
{
	char *path = malloc(PATH_MAX + 2);

	cr_assert(path);
	memset(path, 'a', PATH_MAX + 1);
	path[0] = '/';
	path[PATH_MAX + 1] = '\0';
	cr_assert_eq(pal_mkdir_p(path), -ENAMETOOLONG);
	free(path);
}
