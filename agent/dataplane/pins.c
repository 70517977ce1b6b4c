/* Opening the pinned maps and checking their layout (pins.h). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "pins.h"

#define PAL_MAP_NAME(n) #n,
const char *const pal_map_names[PAL_M_COUNT] = { PAL_PINNED_MAPS(PAL_MAP_NAME) };
#undef PAL_MAP_NAME

int pal_pins_read_layout(const char *dir, struct pal_version *out)
{
	char path[PATH_MAX];
	uint32_t zero = 0;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/maps/%s", dir, pal_map_names[PAL_M_pal_version]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &zero, out))
		err = -errno;
	close(fd);
	return err;
}

int pal_pins_check_layout(const char *dir, char *msg, size_t len)
{
	struct pal_version v;
	int err = pal_pins_read_layout(dir, &v);

	if (err == -ENOENT) {
		snprintf(msg, len, "no datapath pinned in %s", dir);
		return err;
	}
	if (err) {
		snprintf(msg, len, "%s/maps/%s: cannot read the layout version: %s", dir,
			 pal_map_names[PAL_M_pal_version], strerror(-err));
		return err == -EPERM || err == -EACCES ? err : -EPROTO;
	}
	if (v.magic != PAL_VERSION_MAGIC || v.layout != PAL_LAYOUT_VERSION ||
	    v.summary_words != PAL_SUMMARY_WORDS) {
		snprintf(msg, len,
			 "pinned datapath in %s has layout %u (magic %#x, %u summary words); this "
			 "build uses layout %u (%u summary words)",
			 dir, v.layout, v.magic, v.summary_words, PAL_LAYOUT_VERSION,
			 PAL_SUMMARY_WORDS);
		return -EPROTO;
	}
	return 0;
}

void pal_pins_close(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

int pal_pins_open(const char *dir, int *fds, int n, char *msg, size_t len)
{
	int err;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	err = pal_pins_check_layout(dir, msg, len);
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/maps/%s", dir, pal_map_names[i]);
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0) {
			err = -errno;
			snprintf(msg, len, "%s: %s", path, strerror(-err));
			pal_pins_close(fds, n);
			return err;
		}
	}
	return 0;
}
