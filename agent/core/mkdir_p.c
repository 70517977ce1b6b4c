/* mkdir -p (mkdir_p.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "mkdir_p.h"

static int mkdir_private(const char *path)
{
	return mkdir(path, 0700) && errno != EEXIST ? -errno : 0;
}

int pal_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	int err;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* each parent in turn: cut the path at its next '/', create, put the '/' back */
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		err = mkdir_private(tmp);
		*p = '/';
		if (err)
			return err;
	}
	return mkdir_private(tmp);
}
